// SPDX-License-Identifier: Apache-2.0
#include "rpc/gss/gss_server.h"

#include <fmt/format.h>
#include <gssapi/gssapi.h>
#include <sys/random.h>

#include <atomic>

#include "base/log.h"
#include "base/mutex.h"
#include "rpc/gss/context_cache.h"

namespace dittofs::rpc::gss {

namespace {

using Clock = std::chrono::steady_clock;

std::string Be32(uint32_t v) {
  std::string s(4, '\0');
  StoreBe32(reinterpret_cast<std::byte*>(s.data()), v);
  return s;
}

// One security context and what the calls under it share.
struct Context {
  Mutex mu;  // the GSS context is not safe for concurrent per-message calls
  dittofs::gss::Context sec GUARDED_BY(mu);
  bool established GUARDED_BY(mu) = false;
  std::optional<SeqWindow> window GUARDED_BY(mu);
  // Set once when established, read-only after.
  std::string principal;
  GssIdentity identity;
  Clock::time_point expiry = Clock::time_point::max();  // the ticket's end
  std::atomic<bool> destroyed{false};                   // by the client (RPCSEC_GSS_DESTROY)
};

bool Mic(Context& context, ByteView message, std::vector<std::byte>* token)
    EXCLUSIVE_LOCKS_REQUIRED(context.mu) {
  Result<std::vector<std::byte>> mic = context.sec.GetMic(message);
  if (!mic.ok()) {
    LOG_WARN("rpcsec_gss: {}", mic.status().message());
    return false;
  }
  *token = std::move(mic).value();
  return true;
}

// RFC 2203 §5.3.2: `body` (arguments or results) as `service` protects it, after the
// sequence number for integrity and privacy. False when the context cannot protect it.
bool ProtectBody(Context& context, RpcGssService service, uint32_t seq_num, ByteView body,
                 xdr::XdrEncoder* out) EXCLUSIVE_LOCKS_REQUIRED(context.mu) {
  if (service == RpcGssService::kNone) {
    out->FixedOpaque(body);
    return true;
  }
  std::string databody = Be32(seq_num);
  databody.append(AsChars(body));
  if (service == RpcGssService::kIntegrity) {
    // §5.3.2.2: rpc_gss_integ_data of the sequence number and the body.
    std::vector<std::byte> checksum;
    if (!Mic(context, AsBytes(databody), &checksum)) return false;
    out->VarOpaque(AsBytes(databody));
    out->VarOpaque(checksum);
    return true;
  }
  // §5.3.2.3: rpc_gss_priv_data, the wrap token of the same.
  gss_buffer_desc in = dittofs::gss::In(AsBytes(databody));
  dittofs::gss::Buffer wrapped;
  int conf = 0;
  OM_uint32 minor = 0;
  OM_uint32 major =
      gss_wrap(&minor, context.sec.get(), 1, GSS_C_QOP_DEFAULT, &in, &conf, &wrapped.buf);
  if (GSS_ERROR(major) || conf == 0) {
    LOG_WARN("rpcsec_gss: wrap: {}", dittofs::gss::ErrorText(major, minor));
    return false;
  }
  out->VarOpaque(wrapped.view());
  return true;
}

// The inverse: the body inside `protected_body`, checked against `seq_num`. It views
// `protected_body` (integrity) or *unwrapped (privacy). False when its checksum or unwrapping
// fails, it is malformed, or the sequence number inside is another.
bool UnprotectBody(Context& context, RpcGssService service, uint32_t seq_num,
                   ByteView protected_body, ByteView* body, std::string* unwrapped) {
  uint32_t inner_seq = 0;
  switch (service) {
    case RpcGssService::kNone:
      *body = protected_body;
      return true;
    case RpcGssService::kIntegrity: {
      RpcGssIntegData data;
      if (!DecodeRpcGssIntegData(protected_body, &data)) return false;
      uint32_t minor = 0, major;
      {
        MutexLock lock(&context.mu);
        major = context.sec.VerifyMic(data.databody, data.checksum, &minor);
      }
      if (GSS_ERROR(major)) return false;
      return SplitRpcGssDatabody(data.databody, &inner_seq, body) && inner_seq == seq_num;
    }
    case RpcGssService::kPrivacy: {
      ByteView wrapped;
      if (!DecodeRpcGssPrivData(protected_body, &wrapped)) return false;
      gss_buffer_desc in = dittofs::gss::In(wrapped);
      dittofs::gss::Buffer out;
      int conf = 0;
      OM_uint32 minor = 0, major;
      {
        MutexLock lock(&context.mu);
        major = gss_unwrap(&minor, context.sec.get(), &in, &out.buf, &conf, nullptr);
      }
      if (GSS_ERROR(major) || conf == 0) return false;
      unwrapped->assign(AsChars(out.view()));
      return SplitRpcGssDatabody(AsBytes(*unwrapped), &inner_seq, body) && inner_seq == seq_num;
    }
  }
  return false;
}

// Calls this server makes under a client's context (RFC 8881 §2.10.8.3): the same GSS context
// as the client's calls, a handle the client chose, and sequence numbers of their own.
class BackchannelSecurityImpl final : public CallSecurity {
 public:
  BackchannelSecurityImpl(std::shared_ptr<Context> context, std::string client_handle,
                          RpcGssService service)
      : context_(std::move(context)), client_handle_(std::move(client_handle)), service_(service) {}

  Result<uint32_t> Protect(xdr::XdrEncoder& record, xdr::XdrEncoder args) override {
    if (Clock::now() >= context_->expiry || context_->destroyed.load()) {
      return Status(Errc::kAccess, "the client's RPCSEC_GSS context has ended");
    }
    const uint32_t seq = next_seq_.fetch_add(1);
    if (seq >= kRpcGssMaxSeq) {
      return Status(Errc::kAccess, "the client's RPCSEC_GSS context ran out of sequence numbers");
    }
    RpcGssCred cred;
    cred.gss_proc = RpcGssProc::kData;
    cred.seq_num = seq;
    cred.service = service_;
    cred.handle = AsBytes(client_handle_);
    xdr::XdrEncoder body;
    EncodeRpcGssCred(body, cred);
    record.U32(static_cast<uint32_t>(AuthFlavor::kGss));
    record.VarOpaque(AsBytes(body.ToString()));
    // RFC 2203 §5.3.1: the verifier is the checksum of the header through the credential.
    const std::string header = record.ToString();
    MutexLock lock(&context_->mu);
    std::vector<std::byte> verifier;
    if (!Mic(*context_, AsBytes(header), &verifier)) {
      return Status(Errc::kAccess, "the call's header cannot be signed");
    }
    record.U32(static_cast<uint32_t>(AuthFlavor::kGss));
    record.VarOpaque(verifier);
    if (service_ == RpcGssService::kNone) {
      record.Append(std::move(args));
      return seq;
    }
    if (!ProtectBody(*context_, service_, seq, AsBytes(args.ToString()), &record)) {
      return Status(Errc::kAccess, "the call's arguments cannot be protected");
    }
    return seq;
  }

  Result<Reply> CheckReply(uint32_t seq, uint32_t verf_flavor, ByteView verf_body,
                           Reply reply) override {
    // §5.3.3.2: the reply's verifier is the checksum of the call's sequence number.
    if (verf_flavor != static_cast<uint32_t>(AuthFlavor::kGss)) {
      return Status(Errc::kAccess, "the reply's verifier is not RPCSEC_GSS");
    }
    const std::string seq_bytes = Be32(seq);
    uint32_t minor = 0, major;
    {
      MutexLock lock(&context_->mu);
      major = context_->sec.VerifyMic(AsBytes(seq_bytes), verf_body, &minor);
    }
    if (GSS_ERROR(major)) {
      return Status(Errc::kAccess, "the reply's verifier does not check: " +
                                       dittofs::gss::ErrorText(major, minor));
    }
    ByteView results;
    std::string unwrapped;
    if (!UnprotectBody(*context_, service_, seq, reply.results, &results, &unwrapped)) {
      return Status(Errc::kAccess, "the reply's results do not check");
    }
    if (service_ != RpcGssService::kPrivacy) {
      reply.results = results;  // a view into the same record
      return reply;
    }
    Buffer owned = Buffer::Copy(results);
    ByteView view = owned.view();
    return Reply{std::move(owned), view};
  }

 private:
  const std::shared_ptr<Context> context_;
  const std::string client_handle_;
  const RpcGssService service_;
  std::atomic<uint32_t> next_seq_{1};
};

class GssServerImpl final : public GssServer {
 public:
  GssServerImpl(dittofs::gss::Keytab& keytab, GssServerOptions options, PrincipalMapper mapper)
      : keytab_(keytab),
        options_(std::move(options)),
        mapper_(std::move(mapper)),
        contexts_(options_.max_contexts) {}

  size_t context_count() const override { return contexts_.size(); }

  GssVerdict Accept(const CallHeader& h, ByteView signed_header, ByteView args, Credential* cred,
                    GssCall* call, xdr::XdrEncoder* reply) override {
    RpcGssCred gc;
    if (DecodeRpcGssCred(h.cred_body, &gc) != GssCredOutcome::kOk) {
      return Deny(call, AuthStat::kBadCred);  // RFC 2203 §5.1: other versions too
    }
    switch (gc.gss_proc) {
      case RpcGssProc::kInit:
      case RpcGssProc::kContinueInit:
        return CreateContext(h, gc, args, call, reply);
      case RpcGssProc::kData:
      case RpcGssProc::kDestroy:
        break;
    }
    // RFC 2203 §5.3.1: the verifier is the checksum of the header through the credential.
    if (h.verf_flavor != static_cast<uint32_t>(AuthFlavor::kGss)) {
      return Deny(call, AuthStat::kBadVerf);
    }
    bool expired = false;
    std::shared_ptr<Context> context =
        contexts_.Get(std::string(AsChars(gc.handle)), Clock::now(), &expired);
    // §5.3.3.3: an unknown handle is a credential problem, an expired context a context one.
    if (context == nullptr) {
      return Deny(call, expired ? AuthStat::kGssCtxProblem : AuthStat::kGssCredProblem);
    }
    if (gc.seq_num >= kRpcGssMaxSeq) return Deny(call, AuthStat::kGssCtxProblem);
    {
      MutexLock lock(&context->mu);
      if (!context->established) return Deny(call, AuthStat::kGssCredProblem);
      uint32_t minor = 0;
      uint32_t major = context->sec.VerifyMic(signed_header, h.verf_body, &minor);
      if (GSS_ERROR(major)) {
        LOG_DEBUG("rpcsec_gss: xid {:#x}: header checksum: {}", h.xid,
                  dittofs::gss::ErrorText(major, minor));
        return Deny(call, GSS_ROUTINE_ERROR(major) == GSS_S_CONTEXT_EXPIRED
                              ? AuthStat::kGssCtxProblem
                              : AuthStat::kGssCredProblem);
      }
      // §5.3.3.1: a replay, or a number below the window, is dropped without a reply.
      if (!context->window->Accept(gc.seq_num)) {
        LOG_DEBUG("rpcsec_gss: xid {:#x}: seq_num {} replayed or below the window", h.xid,
                  gc.seq_num);
        return GssVerdict::kDrop;
      }
    }
    call->seq_num = gc.seq_num;
    call->service = gc.service;
    call->context = context;
    if (gc.gss_proc == RpcGssProc::kDestroy) {
      // §5.4: answered like any call (its verifier proves the server), then the context goes.
      if (h.proc != 0) return Deny(call, AuthStat::kBadCred);
      xdr::XdrEncoder none;
      if (!EncodeReply(*call, h.xid, AcceptStat::kSuccess, none, reply)) return GssVerdict::kDrop;
      context->destroyed.store(true);
      contexts_.Erase(std::string(AsChars(gc.handle)));
      return GssVerdict::kAnswered;
    }
    if (!UnprotectArgs(*context, gc, args, call)) return GssVerdict::kGarbage;
    cred->flavor = AuthFlavor::kGss;
    cred->uid = context->identity.uid;
    cred->gid = context->identity.gid;
    cred->gids = context->identity.gids;
    cred->gss_principal = context->principal;
    cred->gss_service = static_cast<uint32_t>(gc.service);
    cred->user_name = context->identity.user_name;
    cred->gss_anonymous = context->identity.anonymous;
    return GssVerdict::kProceed;
  }

  bool EncodeReply(const GssCall& call, uint32_t xid, AcceptStat stat,
                   const xdr::XdrEncoder& results, xdr::XdrEncoder* reply) override {
    auto* context = static_cast<Context*>(call.context.get());
    MutexLock lock(&context->mu);
    // §5.3.3.2: the reply's verifier is the checksum of the call's sequence number.
    std::string seq = Be32(call.seq_num);
    std::vector<std::byte> verifier;
    if (!Mic(*context, AsBytes(seq), &verifier)) return false;
    EncodeAcceptedReply(*reply, xid, static_cast<uint32_t>(AuthFlavor::kGss), verifier, stat);
    if (stat == AcceptStat::kProgMismatch) {
      reply->FixedOpaque(AsBytes(results.ToString()));
      return true;
    }
    if (stat != AcceptStat::kSuccess) return true;
    if (!ProtectBody(*context, call.service, call.seq_num, AsBytes(results.ToString()), reply)) {
      LOG_WARN("rpcsec_gss: xid {:#x}: the reply cannot be protected", xid);
      return false;
    }
    return true;
  }

  std::shared_ptr<CallSecurity> BackchannelSecurity(ByteView server_handle, ByteView client_handle,
                                                    RpcGssService service) override {
    std::shared_ptr<Context> context =
        contexts_.Get(std::string(AsChars(server_handle)), Clock::now());
    if (context == nullptr || context->destroyed.load()) return nullptr;
    {
      MutexLock lock(&context->mu);
      if (!context->established) return nullptr;
    }
    return std::make_shared<BackchannelSecurityImpl>(std::move(context),
                                                     std::string(AsChars(client_handle)), service);
  }

 private:
  static GssVerdict Deny(GssCall* call, AuthStat stat) {
    call->denied = stat;
    return GssVerdict::kDenied;
  }

  // §5.3.2: the arguments as the service protects them; false answers GARBAGE_ARGS
  // (§5.3.3.4.2, §5.3.3.4.3), as does a sequence number inside that is not the credential's.
  static bool UnprotectArgs(Context& context, const RpcGssCred& gc, ByteView args, GssCall* call) {
    return UnprotectBody(context, gc.service, gc.seq_num, args, &call->args, &call->unwrapped);
  }

  // §5.2: INIT and CONTINUE_INIT, calls of the NULL procedure carrying GSS tokens.
  GssVerdict CreateContext(const CallHeader& h, const RpcGssCred& gc, ByteView args, GssCall* call,
                           xdr::XdrEncoder* reply) {
    if (h.proc != 0) return Deny(call, AuthStat::kBadCred);
    ByteView token;
    if (!DecodeRpcGssInitArg(args, &token)) return GssVerdict::kGarbage;
    std::shared_ptr<Context> context;
    std::string handle;
    if (gc.gss_proc == RpcGssProc::kInit) {
      context = std::make_shared<Context>();
      handle = NewHandle();
    } else {
      handle.assign(AsChars(gc.handle));
      context = contexts_.Get(handle, Clock::now());
      if (context == nullptr) return Deny(call, AuthStat::kGssCredProblem);
    }
    std::shared_ptr<const dittofs::gss::Credential> acceptor = keytab_.Current();
    MutexLock lock(&context->mu);
    if (context->established) return Deny(call, AuthStat::kGssCredProblem);
    dittofs::gss::Context::Step step = context->sec.Accept(*acceptor, token);
    RpcGssInitRes res;
    res.gss_major = step.major;
    res.gss_minor = step.minor;
    res.gss_token.assign(AsChars(ByteView(step.output)));
    if (GSS_ERROR(step.major)) {
      // §5.2.3.2: the failure is told in the result; no context remains.
      LOG_INFO("rpcsec_gss: context from xid {:#x} refused: {}", h.xid,
               dittofs::gss::ErrorText(step.major, step.minor));
      if (gc.gss_proc == RpcGssProc::kContinueInit) contexts_.Erase(handle);
      EncodeAcceptedReply(*reply, h.xid, AcceptStat::kSuccess);
      EncodeRpcGssInitRes(*reply, res);
      return GssVerdict::kAnswered;
    }
    res.handle = handle;
    if (!step.complete) {
      contexts_.Put(handle, context, Clock::now() + std::chrono::seconds(60));
      EncodeAcceptedReply(*reply, h.xid, AcceptStat::kSuccess);
      EncodeRpcGssInitRes(*reply, res);
      return GssVerdict::kAnswered;
    }
    // Complete: who is it, and may it come in?
    context->principal = std::move(step.principal);
    const uint32_t lifetime = step.lifetime;
    std::optional<GssIdentity> identity = mapper_(context->principal);
    if (!identity) {
      LOG_INFO("rpcsec_gss: principal {} maps to no user: refused", context->principal);
      if (gc.gss_proc == RpcGssProc::kContinueInit) contexts_.Erase(handle);
      return Deny(call, AuthStat::kBadCred);
    }
    context->identity = std::move(*identity);
    context->window.emplace(options_.seq_window);
    context->established = true;
    res.seq_window = options_.seq_window;
    // §5.2.3.1: the verifier is the checksum of the window size.
    std::string window = Be32(options_.seq_window);
    std::vector<std::byte> verifier;
    if (!Mic(*context, AsBytes(window), &verifier)) return GssVerdict::kDrop;
    context->expiry = lifetime == GSS_C_INDEFINITE ? Clock::time_point::max()
                                                   : Clock::now() + std::chrono::seconds(lifetime);
    contexts_.Put(handle, context, context->expiry);
    LOG_DEBUG("rpcsec_gss: context for {} established ({}s)", context->principal, lifetime);
    EncodeAcceptedReply(*reply, h.xid, static_cast<uint32_t>(AuthFlavor::kGss), verifier,
                        AcceptStat::kSuccess);
    EncodeRpcGssInitRes(*reply, res);
    return GssVerdict::kAnswered;
  }

  static std::string NewHandle() {
    std::string handle(16, '\0');
    size_t done = 0;
    while (done < handle.size()) {
      ssize_t n = getrandom(handle.data() + done, handle.size() - done, 0);
      CHECK(n > 0) << "getrandom failed";
      done += static_cast<size_t>(n);
    }
    return handle;
  }

  dittofs::gss::Keytab& keytab_;
  const GssServerOptions options_;
  const PrincipalMapper mapper_;
  ContextCache<Context> contexts_;
};

}  // namespace

Result<std::unique_ptr<GssServer>> GssServer::Create(dittofs::gss::Keytab& keytab,
                                                     GssServerOptions options,
                                                     PrincipalMapper mapper) {
  if (options.max_contexts == 0) return Status(Errc::kInvalid, "kerberos: max_contexts is 0");
  if (options.seq_window == 0 || options.seq_window > SeqWindow::kMaxSize) {
    return Status(Errc::kInvalid,
                  fmt::format("kerberos: seq_window must be 1..{}", SeqWindow::kMaxSize));
  }
  return std::unique_ptr<GssServer>(
      new GssServerImpl(keytab, std::move(options), std::move(mapper)));
}

}  // namespace dittofs::rpc::gss

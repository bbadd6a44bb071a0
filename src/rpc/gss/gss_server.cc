// SPDX-License-Identifier: Apache-2.0
#include "rpc/gss/gss_server.h"

#include <fmt/format.h>
#include <gssapi/gssapi.h>
#include <gssapi/gssapi_ext.h>
#include <gssapi/gssapi_krb5.h>
#include <sys/random.h>

#include <atomic>

#include "base/log.h"
#include "base/mutex.h"
#include "base/posix_io.h"
#include "rpc/gss/context_cache.h"

namespace dittofs::rpc::gss {

std::string GssErrorText(uint32_t major, uint32_t minor) {
  std::string text;
  auto append = [&](uint32_t code, int type) {
    OM_uint32 ctx = 0, min = 0;
    do {
      gss_buffer_desc msg = GSS_C_EMPTY_BUFFER;
      if (gss_display_status(&min, code, type, GSS_C_NO_OID, &ctx, &msg) != GSS_S_COMPLETE) break;
      if (!text.empty()) text += ": ";
      text.append(static_cast<const char*>(msg.value), msg.length);
      gss_release_buffer(&min, &msg);
    } while (ctx != 0);
  };
  append(major, GSS_C_GSS_CODE);
  if (minor != 0) append(minor, GSS_C_MECH_CODE);
  return text;
}

namespace {

using Clock = std::chrono::steady_clock;

// Owns a buffer the GSS library allocated.
struct GssBuffer {
  gss_buffer_desc buf = GSS_C_EMPTY_BUFFER;
  GssBuffer() = default;
  GssBuffer(const GssBuffer&) = delete;
  GssBuffer& operator=(const GssBuffer&) = delete;
  ~GssBuffer() {
    OM_uint32 minor = 0;
    if (buf.value != nullptr) gss_release_buffer(&minor, &buf);
  }
  ByteView view() const { return {static_cast<const std::byte*>(buf.value), buf.length}; }
};

gss_buffer_desc In(ByteView bytes) { return {bytes.size(), const_cast<std::byte*>(bytes.data())}; }

std::string Be32(uint32_t v) {
  std::string s(4, '\0');
  StoreBe32(reinterpret_cast<std::byte*>(s.data()), v);
  return s;
}

// The acceptor's credential, from the keytab; reacquired when the keytab changes.
class AcceptorCred {
 public:
  ~AcceptorCred() {
    OM_uint32 minor = 0;
    if (cred_ != GSS_C_NO_CREDENTIAL) gss_release_cred(&minor, &cred_);
  }
  // Acquires a credential from `options.keytab`.
  static Result<gss_cred_id_t> Acquire(const GssServerOptions& options) {
    OM_uint32 major, minor = 0;
    gss_name_t name = GSS_C_NO_NAME;
    if (!options.service_principal.empty()) {
      gss_buffer_desc n = In(AsBytes(options.service_principal));
      major = gss_import_name(&minor, &n, GSS_KRB5_NT_PRINCIPAL_NAME, &name);
      if (GSS_ERROR(major)) {
        return Status(Errc::kInvalid,
                      fmt::format("kerberos: service principal {}: {}", options.service_principal,
                                  GssErrorText(major, minor)));
      }
    }
    gss_key_value_element_desc element{"keytab", options.keytab.c_str()};
    gss_key_value_set_desc store{1, &element};
    gss_cred_id_t cred = GSS_C_NO_CREDENTIAL;
    major = gss_acquire_cred_from(&minor, name, GSS_C_INDEFINITE, GSS_C_NO_OID_SET, GSS_C_ACCEPT,
                                  &store, &cred, nullptr, nullptr);
    OM_uint32 ignored = 0;
    if (name != GSS_C_NO_NAME) gss_release_name(&ignored, &name);
    if (GSS_ERROR(major)) {
      return Status(Errc::kInvalid, fmt::format("kerberos: keytab {}: {}", options.keytab,
                                                GssErrorText(major, minor)));
    }
    return cred;
  }
  gss_cred_id_t cred_ = GSS_C_NO_CREDENTIAL;
};

// One security context and what the calls under it share.
struct Context {
  Mutex mu;  // the GSS context is not safe for concurrent per-message calls
  gss_ctx_id_t ctx GUARDED_BY(mu) = GSS_C_NO_CONTEXT;
  bool established GUARDED_BY(mu) = false;
  std::optional<SeqWindow> window GUARDED_BY(mu);
  // Set once when established, read-only after.
  std::string principal;
  GssIdentity identity;

  ~Context() {
    OM_uint32 minor = 0;
    if (ctx != GSS_C_NO_CONTEXT) gss_delete_sec_context(&minor, &ctx, GSS_C_NO_BUFFER);
  }
};

class GssServerImpl final : public GssServer {
 public:
  GssServerImpl(GssServerOptions options, PrincipalMapper mapper, gss_cred_id_t cred,
                FileStamp keytab_stamp)
      : options_(std::move(options)),
        mapper_(std::move(mapper)),
        contexts_(options_.max_contexts),
        keytab_stamp_(keytab_stamp) {
    cred_ = std::make_shared<AcceptorCred>();
    cred_->cred_ = cred;
  }

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
      gss_buffer_desc message = In(signed_header);
      gss_buffer_desc token = In(h.verf_body);
      OM_uint32 minor = 0;
      OM_uint32 major = gss_verify_mic(&minor, context->ctx, &message, &token, nullptr);
      if (GSS_ERROR(major)) {
        LOG_DEBUG("rpcsec_gss: xid {:#x}: header checksum: {}", h.xid, GssErrorText(major, minor));
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
    GssBuffer verifier;
    if (!Mic(*context, AsBytes(seq), &verifier)) return false;
    EncodeAcceptedReply(*reply, xid, static_cast<uint32_t>(AuthFlavor::kGss), verifier.view(),
                        stat);
    if (stat == AcceptStat::kProgMismatch) {
      reply->FixedOpaque(AsBytes(results.ToString()));
      return true;
    }
    if (stat != AcceptStat::kSuccess) return true;
    std::string body = results.ToString();
    switch (call.service) {
      case RpcGssService::kNone:
        reply->FixedOpaque(AsBytes(body));
        return true;
      case RpcGssService::kIntegrity: {
        // §5.3.2.2: rpc_gss_integ_data of the sequence number and the results.
        std::string databody = seq + body;
        GssBuffer checksum;
        if (!Mic(*context, AsBytes(databody), &checksum)) return false;
        reply->VarOpaque(AsBytes(databody));
        reply->VarOpaque(checksum.view());
        return true;
      }
      case RpcGssService::kPrivacy: {
        std::string databody = seq + body;
        gss_buffer_desc in = In(AsBytes(databody));
        GssBuffer out;
        int conf = 0;
        OM_uint32 minor = 0;
        OM_uint32 major =
            gss_wrap(&minor, context->ctx, 1, GSS_C_QOP_DEFAULT, &in, &conf, &out.buf);
        if (GSS_ERROR(major) || conf == 0) {
          LOG_WARN("rpcsec_gss: xid {:#x}: wrap: {}", xid, GssErrorText(major, minor));
          return false;
        }
        reply->VarOpaque(out.view());
        return true;
      }
    }
    return false;
  }

 private:
  static GssVerdict Deny(GssCall* call, AuthStat stat) {
    call->denied = stat;
    return GssVerdict::kDenied;
  }

  bool Mic(Context& context, ByteView message, GssBuffer* token)
      EXCLUSIVE_LOCKS_REQUIRED(context.mu) {
    gss_buffer_desc in = In(message);
    OM_uint32 minor = 0;
    OM_uint32 major = gss_get_mic(&minor, context.ctx, GSS_C_QOP_DEFAULT, &in, &token->buf);
    if (GSS_ERROR(major)) {
      LOG_WARN("rpcsec_gss: get_mic: {}", GssErrorText(major, minor));
      return false;
    }
    return true;
  }

  // §5.3.2: the arguments as the service protects them; false answers GARBAGE_ARGS
  // (§5.3.3.4.2, §5.3.3.4.3), as does a sequence number inside that is not the credential's.
  bool UnprotectArgs(Context& context, const RpcGssCred& gc, ByteView args, GssCall* call) {
    uint32_t inner_seq = 0;
    switch (gc.service) {
      case RpcGssService::kNone:
        call->args = args;
        return true;
      case RpcGssService::kIntegrity: {
        RpcGssIntegData data;
        if (!DecodeRpcGssIntegData(args, &data)) return false;
        gss_buffer_desc message = In(data.databody);
        gss_buffer_desc token = In(data.checksum);
        OM_uint32 minor = 0, major;
        {
          MutexLock lock(&context.mu);
          major = gss_verify_mic(&minor, context.ctx, &message, &token, nullptr);
        }
        if (GSS_ERROR(major)) return false;
        return SplitRpcGssDatabody(data.databody, &inner_seq, &call->args) &&
               inner_seq == gc.seq_num;
      }
      case RpcGssService::kPrivacy: {
        ByteView wrapped;
        if (!DecodeRpcGssPrivData(args, &wrapped)) return false;
        gss_buffer_desc in = In(wrapped);
        GssBuffer out;
        int conf = 0;
        OM_uint32 minor = 0, major;
        {
          MutexLock lock(&context.mu);
          major = gss_unwrap(&minor, context.ctx, &in, &out.buf, &conf, nullptr);
        }
        if (GSS_ERROR(major) || conf == 0) return false;
        call->unwrapped.assign(AsChars(out.view()));
        ByteView rest;
        if (!SplitRpcGssDatabody(AsBytes(call->unwrapped), &inner_seq, &rest)) return false;
        call->args = rest;
        return inner_seq == gc.seq_num;
      }
    }
    return false;
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
    std::shared_ptr<AcceptorCred> acceptor = CurrentCred();
    MutexLock lock(&context->mu);
    if (context->established) return Deny(call, AuthStat::kGssCredProblem);
    gss_buffer_desc in = In(token);
    GssBuffer out;
    gss_name_t client = GSS_C_NO_NAME;
    OM_uint32 lifetime = 0, minor = 0;
    OM_uint32 major = gss_accept_sec_context(&minor, &context->ctx, acceptor->cred_, &in,
                                             GSS_C_NO_CHANNEL_BINDINGS, &client, nullptr, &out.buf,
                                             nullptr, &lifetime, nullptr);
    RpcGssInitRes res;
    res.gss_major = major;
    res.gss_minor = minor;
    res.gss_token.assign(AsChars(out.view()));
    if (GSS_ERROR(major)) {
      // §5.2.3.2: the failure is told in the result; no context remains.
      LOG_INFO("rpcsec_gss: context from xid {:#x} refused: {}", h.xid, GssErrorText(major, minor));
      OM_uint32 ignored = 0;
      if (client != GSS_C_NO_NAME) gss_release_name(&ignored, &client);
      if (gc.gss_proc == RpcGssProc::kContinueInit) contexts_.Erase(handle);
      EncodeAcceptedReply(*reply, h.xid, AcceptStat::kSuccess);
      EncodeRpcGssInitRes(*reply, res);
      return GssVerdict::kAnswered;
    }
    res.handle = handle;
    if (major & GSS_S_CONTINUE_NEEDED) {
      if (client != GSS_C_NO_NAME) {
        OM_uint32 ignored = 0;
        gss_release_name(&ignored, &client);
      }
      contexts_.Put(handle, context, Clock::now() + std::chrono::seconds(60));
      EncodeAcceptedReply(*reply, h.xid, AcceptStat::kSuccess);
      EncodeRpcGssInitRes(*reply, res);
      return GssVerdict::kAnswered;
    }
    // Complete: who is it, and may it come in?
    GssBuffer name;
    OM_uint32 ignored = 0;
    gss_display_name(&ignored, client, &name.buf, nullptr);
    gss_release_name(&ignored, &client);
    context->principal.assign(AsChars(name.view()));
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
    GssBuffer verifier;
    if (!Mic(*context, AsBytes(window), &verifier)) return GssVerdict::kDrop;
    Clock::time_point expiry = lifetime == GSS_C_INDEFINITE
                                   ? Clock::time_point::max()
                                   : Clock::now() + std::chrono::seconds(lifetime);
    contexts_.Put(handle, context, expiry);
    LOG_DEBUG("rpcsec_gss: context for {} established ({}s)", context->principal, lifetime);
    EncodeAcceptedReply(*reply, h.xid, static_cast<uint32_t>(AuthFlavor::kGss), verifier.view(),
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

  // The acceptor credential, reacquired first when the keytab changed (looked at no more often
  // than options_.keytab_check_interval). A bad new keytab keeps the old credential.
  std::shared_ptr<AcceptorCred> CurrentCred() {
    Clock::time_point now = Clock::now();
    MutexLock lock(&cred_mu_);
    if (now - last_check_ >= options_.keytab_check_interval) {
      last_check_ = now;
      const FileStamp stamp = StampOf(options_.keytab);
      if (stamp != FileStamp{} && stamp != keytab_stamp_) {
        Result<gss_cred_id_t> fresh = AcceptorCred::Acquire(options_);
        if (fresh.ok()) {
          auto next = std::make_shared<AcceptorCred>();
          next->cred_ = *fresh;
          cred_ = std::move(next);
          keytab_stamp_ = stamp;
          LOG_INFO("kerberos: keytab {} reloaded", options_.keytab);
        } else {
          LOG_WARN("{} (keeping the keys read before)", fresh.status().message());
        }
      }
    }
    return cred_;
  }

  const GssServerOptions options_;
  const PrincipalMapper mapper_;
  ContextCache<Context> contexts_;
  Mutex cred_mu_;
  // Shared with the calls accepting a context with it while a reload replaces it.
  std::shared_ptr<AcceptorCred> cred_ GUARDED_BY(cred_mu_);
  FileStamp keytab_stamp_ GUARDED_BY(cred_mu_);  // of the keytab cred_ was acquired from
  Clock::time_point last_check_ GUARDED_BY(cred_mu_) = Clock::now();
};

}  // namespace

Result<std::unique_ptr<GssServer>> GssServer::Create(GssServerOptions options,
                                                     PrincipalMapper mapper) {
  if (options.max_contexts == 0) return Status(Errc::kInvalid, "kerberos: max_contexts is 0");
  if (options.seq_window == 0 || options.seq_window > SeqWindow::kMaxSize) {
    return Status(Errc::kInvalid,
                  fmt::format("kerberos: seq_window must be 1..{}", SeqWindow::kMaxSize));
  }
  const FileStamp stamp = StampOf(options.keytab);
  if (stamp == FileStamp{}) {
    return Status(Errc::kNotFound, fmt::format("kerberos: keytab {} not found", options.keytab));
  }
  ASSIGN_OR_RETURN(gss_cred_id_t cred, AcceptorCred::Acquire(options));
  return std::unique_ptr<GssServer>(
      new GssServerImpl(std::move(options), std::move(mapper), cred, stamp));
}

}  // namespace dittofs::rpc::gss

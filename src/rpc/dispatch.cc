// SPDX-License-Identifier: Apache-2.0
#include "rpc/dispatch.h"

#include <algorithm>
#include <chrono>
#include <functional>

#include "base/log.h"

namespace dittofs::rpc {

Dispatcher::Dispatcher(size_t reply_cache_entries) : cache_(reply_cache_entries) {}

namespace {

// The program's name in metrics' labels.
std::string ProgramName(uint32_t prog) {
  switch (prog) {
    case 100000:
      return "portmapper";
    case 100003:
      return "nfs";
    case 100005:
      return "mount";
    case 100021:
      return "nlm";
    case 100024:
      return "nsm";
    default:
      return std::to_string(prog);
  }
}

}  // namespace

void Dispatcher::Add(ProgramVersion program) {
  uint32_t prog = program.prog, vers = program.vers;
  metrics::Registry& registry = metrics::Default();
  for (size_t i = 0; i < program.procedures.size(); ++i) {
    Procedure& p = program.procedures[i];
    if (!p.handler) continue;
    const metrics::Labels labels = {{"program", ProgramName(prog)},
                                    {"version", std::to_string(vers)},
                                    {"procedure", *p.name ? p.name : std::to_string(i)}};
    p.calls = registry.GetCounter("dittofs_rpc_requests_total",
                                  "RPC calls run, by program, version and procedure.", labels);
    p.errors = registry.GetCounter(
        "dittofs_rpc_errors_total",
        "RPC calls answered other than SUCCESS (GARBAGE_ARGS, SYSTEM_ERR, denied).", labels);
    p.duration = registry.GetHistogram("dittofs_rpc_request_duration_seconds",
                                       "How long RPC procedures took to run.", labels);
    p.span_name = fmt::format("{}.v{}.{}", ProgramName(prog), vers, labels[2].second);
  }
  programs_[prog][vers] = std::move(program);
}

bool Dispatcher::SetEnabled(uint32_t prog, uint32_t vers, bool enabled) {
  auto p = programs_.find(prog);
  if (p == programs_.end()) return false;
  auto v = p->second.find(vers);
  if (v == p->second.end()) return false;
  v->second.enabled->store(enabled, std::memory_order_relaxed);
  return true;
}

void Dispatcher::AddAuthFlavor(AuthFlavor flavor, AuthHandler handler) {
  auto number = static_cast<uint32_t>(flavor);
  for (auto& [registered, h] : flavors_) {
    if (registered == number) {
      h = std::move(handler);
      return;
    }
  }
  flavors_.emplace_back(number, std::move(handler));
}

std::vector<uint32_t> Dispatcher::Flavors() const {
  std::vector<uint32_t> flavors;
  for (const auto& [number, handler] : flavors_) flavors.push_back(number);
  std::sort(flavors.begin(), flavors.end(), std::greater<>());
  return flavors;
}

const AuthHandler* Dispatcher::FlavorHandler(uint32_t flavor) const {
  for (const auto& [registered, handler] : flavors_) {
    if (registered == flavor) return &handler;
  }
  return nullptr;
}

bool Dispatcher::IsFast(ByteView record) const {
  // xid, msg_type, rpcvers, prog, vers, proc: the first six words of a call.
  if (record.size() < 24) return false;
  if (LoadBe32(record.data() + 4) != static_cast<uint32_t>(MsgType::kCall)) return false;
  auto prog = programs_.find(LoadBe32(record.data() + 12));
  if (prog == programs_.end()) return false;
  auto vers = prog->second.find(LoadBe32(record.data() + 16));
  if (vers == prog->second.end() || !vers->second.enabled->load(std::memory_order_relaxed)) {
    return false;
  }
  uint32_t proc = LoadBe32(record.data() + 20);
  return proc < vers->second.procedures.size() && vers->second.procedures[proc].fast;
}

bool Dispatcher::Handle(const ConnectionInfo& conn, ByteView record, xdr::XdrEncoder* reply) {
  xdr::XdrDecoder d(record);
  CallHeader h;
  switch (DecodeCallHeader(d, &h)) {
    case HeaderOutcome::kOk:
      break;
    case HeaderOutcome::kNotACall:
      return false;
    case HeaderOutcome::kMalformed:
      EncodeAcceptedReply(*reply, h.xid, AcceptStat::kGarbageArgs);
      return true;
    case HeaderOutcome::kRpcMismatch:
      EncodeRpcMismatchReply(*reply, h.xid);
      return true;
  }

  CallContext ctx;
  ctx.xid = h.xid;
  ctx.prog = h.prog;
  ctx.vers = h.vers;
  ctx.proc = h.proc;
  ctx.client_address = conn.peer_address;
  ctx.client_port = conn.peer_port;
  ctx.server_address = conn.local_address;
  ctx.channel = conn.channel;
  ctx.tls = conn.tls;
  ctx.tls_peer_subject = conn.tls_peer_subject;
  // RPCSEC_GSS: the authenticator checks the call and may answer it itself (context calls),
  // drop it (replays), or hand back the arguments it checked or unwrapped.
  GssCall gss_call;
  const bool gss = gss_ != nullptr && h.cred_flavor == static_cast<uint32_t>(AuthFlavor::kGss);
  if (gss) {
    switch (gss_->Accept(h, record.first(h.cred_end), d.rest(), &ctx.cred, &gss_call, reply)) {
      case GssVerdict::kProceed:
        break;
      case GssVerdict::kAnswered:
        return true;
      case GssVerdict::kDrop:
        return false;
      case GssVerdict::kDenied:
        EncodeAuthErrorReply(*reply, h.xid, gss_call.denied);
        return true;
      case GssVerdict::kGarbage:
        EncodeAcceptedReply(*reply, h.xid, AcceptStat::kGarbageArgs);
        return true;
    }
    return HandleProgram(ctx, h, conn, xdr::XdrDecoder(gss_call.args), &gss_call, reply);
  }
  const AuthHandler* auth = FlavorHandler(h.cred_flavor);
  // RFC 5531 §9: a flavor the server does not accept is refused as too weak. AUTH_TLS only
  // asks for TLS, which the transport answers (rpc/tls_probe.h); one that gets here cannot be
  // honoured (UDP, no certificate, TLS already, not a NULL call), and RFC 9289 §4.1 has the
  // client go on without TLS on any answer but STARTTLS: it is refused as a bad credential,
  // as a server that knows no AUTH_TLS would.
  AuthStat auth_stat = h.cred_flavor == static_cast<uint32_t>(AuthFlavor::kTls) ? AuthStat::kBadCred
                       : auth == nullptr                                        ? AuthStat::kTooWeak
                                         : (*auth)(h, &ctx.cred);
  if (auth_stat != AuthStat::kOk) {
    EncodeAuthErrorReply(*reply, h.xid, auth_stat);
    return true;
  }
  return HandleProgram(ctx, h, conn, d, nullptr, reply);
}

bool Dispatcher::HandleProgram(CallContext& ctx, const CallHeader& h, const ConnectionInfo& conn,
                               xdr::XdrDecoder d, const GssCall* gss, xdr::XdrEncoder* reply) {
  // The reply of an RPCSEC_GSS call carries its verifier, and a protected one its results.
  auto accepted = [&](AcceptStat stat, xdr::XdrEncoder&& results) {
    if (gss != nullptr) return gss_->EncodeReply(*gss, h.xid, stat, results, reply);
    EncodeAcceptedReply(*reply, h.xid, stat);
    if (stat == AcceptStat::kSuccess) reply->Append(std::move(results));
    return true;
  };

  auto prog_it = programs_.find(h.prog);
  if (prog_it == programs_.end()) {
    return accepted(AcceptStat::kProgUnavail, {});
  }
  auto vers_it = prog_it->second.find(h.vers);
  if (vers_it == prog_it->second.end() ||
      !vers_it->second.enabled->load(std::memory_order_relaxed)) {
    // The versions served now: their lowest and highest (none: as if not registered).
    uint32_t low = UINT32_MAX, high = 0;
    for (const auto& [v, table] : prog_it->second) {
      if (!table.enabled->load(std::memory_order_relaxed)) continue;
      low = std::min(low, v);
      high = std::max(high, v);
    }
    if (high == 0 && low == UINT32_MAX) return accepted(AcceptStat::kProgUnavail, {});
    if (gss != nullptr) {
      xdr::XdrEncoder versions;
      versions.U32(low);
      versions.U32(high);
      return gss_->EncodeReply(*gss, h.xid, AcceptStat::kProgMismatch, versions, reply);
    }
    EncodeProgMismatchReply(*reply, h.xid, low, high);
    return true;
  }
  const ProgramVersion& table = vers_it->second;
  if (h.proc >= table.procedures.size() || !table.procedures[h.proc].handler) {
    return accepted(AcceptStat::kProcUnavail, {});
  }
  const Procedure& proc = table.procedures[h.proc];

  ReplyCache::Key key;
  // RPCSEC_GSS calls bypass the cache: a client retransmits them with a new sequence number,
  // so a retransmission never matches, and a cached reply's verifier would be for another.
  const bool lookup = gss == nullptr && (proc.cached || (proc.cache_if && proc.cache_if(d.rest())));
  if (lookup) {
    // The credential is part of the call's identity: two users on one host may pick the same
    // xid, and a retransmission always carries the credential of the original. So is the
    // client's port: two client programs on one host may count xids alike (pynfs starts each
    // run at 1) and send the same call, and a client retransmits from its port (Linux keeps
    // it across reconnections for this).
    ByteView args = d.rest();
    uint64_t checksum = Checksum(args.data(), std::min<size_t>(args.size(), 512)) ^
                        (Checksum(h.cred_body.data(), h.cred_body.size()) * 31 + h.cred_flavor);
    key = {conn.peer_address + ':' + std::to_string(conn.peer_port),
           h.xid,
           h.prog,
           h.vers,
           h.proc,
           checksum};
    std::string cached;
    switch (cache_.Begin(key, &cached)) {
      case ReplyCache::State::kNew:
        break;
      case ReplyCache::State::kInProgress:
        return false;
      case ReplyCache::State::kDone:
        LOG_DEBUG("rpc: xid {:#x} {} answered from the reply cache", h.xid, proc.name);
        reply->FixedOpaque(AsBytes(cached));
        return true;
    }
  }

  bool keep = proc.cached;
  if (lookup && !proc.cached) ctx.keep_reply = &keep;
  xdr::XdrEncoder results;
  AuthStat denied = AuthStat::kOk;
  ctx.denied = &denied;
  const auto started = std::chrono::steady_clock::now();
  // A span per call (docs/tracing.md): nothing but a relaxed load unless tracing is on.
  trace::Span span = trace::Span::Root(proc.span_name);
  if (span.recording()) {
    span.SetAttribute("rpc.system", "onc_rpc");
    span.SetAttribute("rpc.service", ProgramName(h.prog));
    span.SetAttribute("rpc.version", h.vers);
    span.SetAttribute("rpc.method", proc.name);
    span.SetAttribute("rpc.xid", h.xid);
    span.SetAttribute("client.address", ctx.client_address);
  }
  ctx.span = &span;
  AcceptStat stat = proc.handler(ctx, d, results);
  ctx.span = nullptr;
  if (span.recording()) {
    span.SetAttribute("rpc.accept_stat", static_cast<int64_t>(stat));
    if (stat != AcceptStat::kSuccess) span.SetError("the call was not accepted");
    if (denied != AuthStat::kOk) span.SetError("the call was denied");
  }
  if (proc.calls != nullptr) {
    proc.calls->Inc();
    proc.duration->Observe(std::chrono::steady_clock::now() - started);
    if (stat != AcceptStat::kSuccess || denied != AuthStat::kOk) proc.errors->Inc();
  }
  if (denied != AuthStat::kOk) {
    if (lookup) cache_.Abandon(key);
    EncodeAuthErrorReply(*reply, h.xid, denied);
    return true;
  }
  if (!accepted(stat, std::move(results))) return false;
  if (lookup) {
    if (stat == AcceptStat::kSuccess && keep) {
      cache_.Finish(key, reply->ToString());
    } else {
      cache_.Abandon(key);
    }
  }
  return true;
}

}  // namespace dittofs::rpc

// SPDX-License-Identifier: Apache-2.0
#include "rpc/message.h"

#include <fmt/format.h>

namespace dittofs::rpc {

HeaderOutcome DecodeCallHeader(xdr::XdrDecoder& d, CallHeader* h) {
  h->xid = d.U32();
  uint32_t type = d.U32();
  if (!d.ok() || type != static_cast<uint32_t>(MsgType::kCall)) return HeaderOutcome::kNotACall;
  h->rpcvers = d.U32();
  if (!d.ok()) return HeaderOutcome::kMalformed;
  // RFC 5531 §9: a server must reject calls of another RPC version with RPC_MISMATCH.
  if (h->rpcvers != kRpcVersion) return HeaderOutcome::kRpcMismatch;
  h->prog = d.U32();
  h->vers = d.U32();
  h->proc = d.U32();
  h->cred_flavor = d.U32();
  h->cred_body = d.VarOpaque(kMaxAuthBytes);
  h->cred_end = d.position();
  h->verf_flavor = d.U32();
  h->verf_body = d.VarOpaque(kMaxAuthBytes);
  return d.ok() ? HeaderOutcome::kOk : HeaderOutcome::kMalformed;
}

bool DecodeAuthSys(ByteView body, Credential* cred) {
  xdr::XdrDecoder d(body);
  d.U32();  // stamp
  std::string_view machine = d.String(255);
  uint32_t uid = d.U32();
  uint32_t gid = d.U32();
  uint32_t n = d.ArrayLength(kMaxAuthSysGids);
  if (!d.ok()) return false;
  cred->gids.clear();
  cred->gids.reserve(n);
  for (uint32_t i = 0; i < n; ++i) cred->gids.push_back(d.U32());
  if (!d.ok() || d.remaining() != 0) return false;
  cred->flavor = AuthFlavor::kSys;
  cred->machine_name.assign(machine);
  cred->uid = uid;
  cred->gid = gid;
  return true;
}

namespace {
void ReplyPrefix(xdr::XdrEncoder& e, uint32_t xid, uint32_t reply_stat) {
  e.U32(xid);
  e.U32(static_cast<uint32_t>(MsgType::kReply));
  e.U32(reply_stat);
}
void NullVerifier(xdr::XdrEncoder& e) {
  e.U32(static_cast<uint32_t>(AuthFlavor::kNone));
  e.U32(0);
}
}  // namespace

void EncodeAcceptedReply(xdr::XdrEncoder& e, uint32_t xid, AcceptStat stat) {
  ReplyPrefix(e, xid, 0);  // MSG_ACCEPTED
  NullVerifier(e);
  e.U32(static_cast<uint32_t>(stat));
}

void EncodeAcceptedReply(xdr::XdrEncoder& e, uint32_t xid, uint32_t verf_flavor, ByteView verf_body,
                         AcceptStat stat) {
  ReplyPrefix(e, xid, 0);  // MSG_ACCEPTED
  e.U32(verf_flavor);
  e.VarOpaque(verf_body);
  e.U32(static_cast<uint32_t>(stat));
}

void EncodeProgMismatchReply(xdr::XdrEncoder& e, uint32_t xid, uint32_t low, uint32_t high) {
  EncodeAcceptedReply(e, xid, AcceptStat::kProgMismatch);
  e.U32(low);
  e.U32(high);
}

void EncodeRpcMismatchReply(xdr::XdrEncoder& e, uint32_t xid) {
  ReplyPrefix(e, xid, 1);  // MSG_DENIED
  e.U32(0);                // RPC_MISMATCH
  e.U32(kRpcVersion);
  e.U32(kRpcVersion);
}

void EncodeAuthErrorReply(xdr::XdrEncoder& e, uint32_t xid, AuthStat stat) {
  ReplyPrefix(e, xid, 1);  // MSG_DENIED
  e.U32(1);                // AUTH_ERROR
  e.U32(static_cast<uint32_t>(stat));
}

void EncodeCallPrefix(xdr::XdrEncoder& e, uint32_t xid, uint32_t prog, uint32_t vers,
                      uint32_t proc) {
  e.U32(xid);
  e.U32(static_cast<uint32_t>(MsgType::kCall));
  e.U32(kRpcVersion);
  e.U32(prog);
  e.U32(vers);
  e.U32(proc);
}

void EncodeCallHeader(xdr::XdrEncoder& e, uint32_t xid, uint32_t prog, uint32_t vers, uint32_t proc,
                      const Credential& cred) {
  EncodeCallPrefix(e, xid, prog, vers, proc);
  e.U32(static_cast<uint32_t>(cred.flavor));
  if (cred.flavor == AuthFlavor::kSys) {
    xdr::XdrEncoder body;
    body.U32(0);
    body.String(cred.machine_name);
    body.U32(cred.uid);
    body.U32(cred.gid);
    body.U32(static_cast<uint32_t>(cred.gids.size()));
    for (uint32_t g : cred.gids) body.U32(g);
    e.String(body.ToString());
  } else {
    e.U32(0);
  }
  NullVerifier(e);
}

bool DecodeReplyHeader(xdr::XdrDecoder& d, ReplyHeader* h) {
  h->xid = d.U32();
  uint32_t type = d.U32();
  uint32_t reply_stat = d.U32();
  if (!d.ok() || type != static_cast<uint32_t>(MsgType::kReply)) return false;
  if (reply_stat == 0) {  // MSG_ACCEPTED
    h->accepted = true;
    h->verf_flavor = d.U32();
    h->verf_body = d.VarOpaque(kMaxAuthBytes);
    uint32_t stat = d.U32();
    if (!d.ok() || stat > static_cast<uint32_t>(AcceptStat::kSystemErr)) return false;
    h->accept_stat = static_cast<AcceptStat>(stat);
    if (h->accept_stat == AcceptStat::kProgMismatch) {
      h->mismatch_low = d.U32();
      h->mismatch_high = d.U32();
    }
    return d.ok();
  }
  if (reply_stat != 1) return false;  // neither MSG_ACCEPTED nor MSG_DENIED
  h->accepted = false;
  uint32_t reject_stat = d.U32();
  if (!d.ok()) return false;
  if (reject_stat == 0) {  // RPC_MISMATCH
    h->rpc_mismatch = true;
    h->mismatch_low = d.U32();
    h->mismatch_high = d.U32();
    return d.ok();
  }
  if (reject_stat != 1) return false;  // neither RPC_MISMATCH nor AUTH_ERROR
  uint32_t auth_stat = d.U32();
  // auth_stat values beyond AUTH_TOOWEAK exist (RFC 5531 §9, RPCSEC_GSS); keep the number.
  h->auth_stat = static_cast<AuthStat>(auth_stat);
  return d.ok();
}

Status ReplyStatus(const ReplyHeader& h, std::string_view what) {
  if (!h.accepted) {
    if (h.rpc_mismatch) {
      return Status(Errc::kAccess,
                    fmt::format("{}: denied: RPC version mismatch (peer takes {}..{})", what,
                                h.mismatch_low, h.mismatch_high));
    }
    return Status(Errc::kAccess, fmt::format("{}: denied: auth_stat {}", what,
                                             static_cast<uint32_t>(h.auth_stat)));
  }
  switch (h.accept_stat) {
    case AcceptStat::kSuccess:
      return Status::Ok();
    case AcceptStat::kProgUnavail:
      return Status(Errc::kNotFound, fmt::format("{}: program unavailable", what));
    case AcceptStat::kProgMismatch:
      return Status(Errc::kNotSupported,
                    fmt::format("{}: program version mismatch (peer serves {}..{})", what,
                                h.mismatch_low, h.mismatch_high));
    case AcceptStat::kProcUnavail:
      return Status(Errc::kInvalid, fmt::format("{}: procedure unavailable", what));
    case AcceptStat::kGarbageArgs:
      return Status(Errc::kInternal,
                    fmt::format("{}: the peer could not decode the arguments", what));
    case AcceptStat::kSystemErr:
      return Status(Errc::kIo, fmt::format("{}: system error at the peer", what));
  }
  return Status(Errc::kInternal, fmt::format("{}: unknown accept_stat", what));
}

}  // namespace dittofs::rpc

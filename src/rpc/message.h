// SPDX-License-Identifier: Apache-2.0
#pragma once

// RFC 5531 ONC RPC v2 messages: the call header a server decodes and the replies it encodes.

#include <cstdint>
#include <string>
#include <vector>

#include "base/bytes.h"
#include "base/status.h"
#include "xdr/xdr.h"

namespace dittofs::rpc {

constexpr uint32_t kRpcVersion = 2;
constexpr uint32_t kMaxAuthBytes = 400;  // RFC 5531 §8.2: opaque_auth body<400>
constexpr uint32_t kMaxAuthSysGids = 16;

enum class MsgType : uint32_t { kCall = 0, kReply = 1 };
// kTls: RFC 9289's AUTH_TLS, which only ever asks for TLS (rpc/tls_probe.h).
enum class AuthFlavor : uint32_t { kNone = 0, kSys = 1, kShort = 2, kDh = 3, kGss = 6, kTls = 7 };
enum class AcceptStat : uint32_t {
  kSuccess = 0,
  kProgUnavail = 1,
  kProgMismatch = 2,
  kProcUnavail = 3,
  kGarbageArgs = 4,
  kSystemErr = 5,
};
enum class AuthStat : uint32_t {
  kOk = 0,
  kBadCred = 1,
  kRejectedCred = 2,
  kBadVerf = 3,
  kRejectedVerf = 4,
  kTooWeak = 5,
  // RFC 2203 §4: RPCSEC_GSS's. No credential for the context handle (unknown, evicted,
  // destroyed) or a verifier that does not check; the context's own problem (expired, its
  // sequence numbers used up). Either way the client establishes a new context.
  kGssCredProblem = 13,
  kGssCtxProblem = 14,
};

// The caller's identity as its credential states it. AUTH_NONE callers are anonymous.
struct Credential {
  AuthFlavor flavor = AuthFlavor::kNone;
  uint32_t uid = 65534;
  uint32_t gid = 65534;
  std::vector<uint32_t> gids;
  std::string machine_name;
  // RPCSEC_GSS (flavor kGss): the Kerberos principal the context was established by
  // ("alice@REALM"), the security service (1 none, 2 integrity, 3 privacy; RFC 2203), the
  // control-plane user it maps to (empty for a machine principal, which runs anonymous), and
  // whether it runs as the share's anonymous identity.
  std::string gss_principal;
  uint32_t gss_service = 0;
  std::string user_name;
  bool gss_anonymous = false;
};

// A decoded call header. Views point into the record.
struct CallHeader {
  uint32_t xid = 0;
  uint32_t rpcvers = 0;
  uint32_t prog = 0;
  uint32_t vers = 0;
  uint32_t proc = 0;
  uint32_t cred_flavor = 0;
  ByteView cred_body;
  uint32_t verf_flavor = 0;
  ByteView verf_body;
  // The length of the header from the xid through the credential: what an RPCSEC_GSS
  // verifier signs (RFC 2203 §5.3.1).
  size_t cred_end = 0;
};

enum class HeaderOutcome {
  kOk,           // a call with rpcvers 2; arguments follow
  kNotACall,     // not a CALL message (or too short to hold an xid): drop it
  kMalformed,    // a CALL whose header is truncated or malformed: GARBAGE_ARGS
  kRpcMismatch,  // rpcvers != 2: MSG_DENIED / RPC_MISMATCH
};

// Decodes the call header; on kOk the decoder is positioned at the procedure arguments.
HeaderOutcome DecodeCallHeader(xdr::XdrDecoder& d, CallHeader* header);

// Decodes an AUTH_SYS (RFC 5531 Appendix A) credential body. Returns false when malformed
// (over 16 gids, machine name over 255 bytes, truncated, trailing bytes).
bool DecodeAuthSys(ByteView body, Credential* cred);

// Reply headers. Each encodes the whole reply header; a SUCCESS reply's results follow.
void EncodeAcceptedReply(xdr::XdrEncoder& e, uint32_t xid, AcceptStat stat);
// The same with a verifier other than AUTH_NONE (RPCSEC_GSS's checksums).
void EncodeAcceptedReply(xdr::XdrEncoder& e, uint32_t xid, uint32_t verf_flavor, ByteView verf_body,
                         AcceptStat stat);
void EncodeProgMismatchReply(xdr::XdrEncoder& e, uint32_t xid, uint32_t low, uint32_t high);
void EncodeRpcMismatchReply(xdr::XdrEncoder& e, uint32_t xid);
void EncodeAuthErrorReply(xdr::XdrEncoder& e, uint32_t xid, AuthStat stat);

// Encodes a call header from the xid through the procedure number; the credential follows.
void EncodeCallPrefix(xdr::XdrEncoder& e, uint32_t xid, uint32_t prog, uint32_t vers,
                      uint32_t proc);
// Encodes a call header: AUTH_NONE, or AUTH_SYS with `cred`'s ids and machine name, and an
// AUTH_NONE verifier. The procedure's arguments follow.
void EncodeCallHeader(xdr::XdrEncoder& e, uint32_t xid, uint32_t prog, uint32_t vers, uint32_t proc,
                      const Credential& cred);

// A decoded reply header (RFC 5531 §9, the reply_body of an rpc_msg).
struct ReplyHeader {
  uint32_t xid = 0;
  bool accepted = false;  // MSG_ACCEPTED; else MSG_DENIED
  // MSG_ACCEPTED: the verifier and the outcome; for kProgMismatch, the versions served.
  uint32_t verf_flavor = 0;
  ByteView verf_body;
  AcceptStat accept_stat = AcceptStat::kSuccess;
  uint32_t mismatch_low = 0;
  uint32_t mismatch_high = 0;
  // MSG_DENIED: RPC_MISMATCH (with the versions above) or AUTH_ERROR with its auth_stat.
  bool rpc_mismatch = false;
  AuthStat auth_stat = AuthStat::kOk;
};

// Whether `record` is a REPLY (its second word is 1): records a server receives are calls
// unless it made calls itself over the connection. Looks at 8 bytes only.
inline bool IsReplyRecord(ByteView record) {
  return record.size() >= 8 &&
         LoadBe32(record.data() + 4) == static_cast<uint32_t>(MsgType::kReply);
}

// Decodes a reply header. Returns false when the bytes are not a well-formed reply header
// (truncated, not a REPLY, an unknown reply_stat, accept_stat or reject_stat); on true with
// MSG_ACCEPTED SUCCESS, the decoder is positioned at the procedure's results.
bool DecodeReplyHeader(xdr::XdrDecoder& d, ReplyHeader* header);

// The outcome of a reply as a Status: ok for MSG_ACCEPTED SUCCESS, else a distinct code with a
// message saying what the peer refused: PROG_UNAVAIL kNotFound, PROG_MISMATCH kNotSupported,
// PROC_UNAVAIL kInvalid, GARBAGE_ARGS kInternal (we encoded arguments it could not decode),
// SYSTEM_ERR kIo, MSG_DENIED (RPC_MISMATCH or AUTH_ERROR) kAccess. `what` names the call
// ("prog 100021 vers 4 proc 5").
Status ReplyStatus(const ReplyHeader& header, std::string_view what);

}  // namespace dittofs::rpc

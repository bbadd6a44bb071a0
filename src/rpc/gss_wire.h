// SPDX-License-Identifier: Apache-2.0
#pragma once

// RPCSEC_GSS (RFC 2203) on the wire: the credential, the context creation result, the
// integrity and privacy bodies, and the sequence window. Pure codecs and bookkeeping, with no
// GSS-API library: rpc/gss holds the server that drives MIT Kerberos with them.

#include <bitset>
#include <cstdint>
#include <optional>
#include <string>

#include "base/bytes.h"
#include "rpc/message.h"
#include "xdr/xdr.h"

namespace dittofs::rpc {

constexpr uint32_t kRpcGssVersion1 = 1;
// RFC 2203 §5.3.3.1: sequence numbers at or above MAXSEQ end the context.
constexpr uint32_t kRpcGssMaxSeq = 0x80000000u;
// The longest context handle a credential may carry; ours are 16 bytes.
constexpr uint32_t kRpcGssMaxHandle = 64;
// The longest context creation token and wrapped body accepted: Kerberos AP-REQs with a PAC
// reach tens of KiB; nothing legitimate comes near this.
constexpr uint32_t kRpcGssMaxToken = 64 * 1024;
// RFC 2203 §4: the auth_stat values RPCSEC_GSS adds.
constexpr uint32_t kAuthStatGssCredProblem = 13;
constexpr uint32_t kAuthStatGssCtxProblem = 14;

enum class RpcGssProc : uint32_t { kData = 0, kInit = 1, kContinueInit = 2, kDestroy = 3 };
enum class RpcGssService : uint32_t { kNone = 1, kIntegrity = 2, kPrivacy = 3 };

// rpc_gss_cred_t, version 1 (RFC 2203 §5). `handle` views the credential body.
struct RpcGssCred {
  RpcGssProc gss_proc = RpcGssProc::kData;
  uint32_t seq_num = 0;
  RpcGssService service = RpcGssService::kNone;
  ByteView handle;
};

enum class GssCredOutcome {
  kOk,
  kBadCred,     // malformed, truncated, trailing bytes, unknown proc or service: AUTH_BADCRED
  kBadVersion,  // a version other than 1 (RFC 2203 §5.1): AUTH_BADCRED too
};

// Decodes a credential body (the opaque_auth body of flavor 6).
GssCredOutcome DecodeRpcGssCred(ByteView body, RpcGssCred* cred);
void EncodeRpcGssCred(xdr::XdrEncoder& e, const RpcGssCred& cred);

// rpc_gss_init_res (RFC 2203 §5.2.3.1).
struct RpcGssInitRes {
  std::string handle;
  uint32_t gss_major = 0;
  uint32_t gss_minor = 0;
  uint32_t seq_window = 0;
  std::string gss_token;
};
void EncodeRpcGssInitRes(xdr::XdrEncoder& e, const RpcGssInitRes& res);
bool DecodeRpcGssInitRes(ByteView body, RpcGssInitRes* res);

// rpc_gss_init_arg: the GSS token of an INIT or CONTINUE_INIT call. False when malformed or
// longer than kRpcGssMaxToken (GARBAGE_ARGS).
bool DecodeRpcGssInitArg(ByteView args, ByteView* token);

// rpc_gss_integ_data (RFC 2203 §5.3.2.2): databody_integ (seq_num and the arguments, as the
// client encoded them) and its MIC. Views into `body`. False when malformed.
struct RpcGssIntegData {
  ByteView databody;
  ByteView checksum;
};
bool DecodeRpcGssIntegData(ByteView body, RpcGssIntegData* data);
// rpc_gss_priv_data (RFC 2203 §5.3.2.3): the wrap token of seq_num and the arguments.
bool DecodeRpcGssPrivData(ByteView body, ByteView* databody);

// Splits an unwrapped or integrity-checked databody into its seq_num and what follows.
bool SplitRpcGssDatabody(ByteView databody, uint32_t* seq_num, ByteView* rest);

// The sequence window of one context (RFC 2203 §5.3.3.1): remembers which of the last `size`
// sequence numbers were seen. A number above the highest seen slides the window; one inside
// it that was not seen is accepted once; a replay or one below the window is refused (and the
// call silently dropped). Not thread-safe: the context's lock guards it.
class SeqWindow {
 public:
  static constexpr uint32_t kMaxSize = 1024;
  // REQUIRES: 0 < size <= kMaxSize.
  explicit SeqWindow(uint32_t size);
  uint32_t size() const { return size_; }
  // Accepts `seq` (and records it) or refuses it.
  bool Accept(uint32_t seq);

 private:
  uint32_t size_;
  bool any_ = false;
  uint32_t highest_ = 0;
  // bit i: highest_ - i was seen
  std::bitset<kMaxSize> seen_;
};

}  // namespace dittofs::rpc

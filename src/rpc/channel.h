// SPDX-License-Identifier: Apache-2.0
#pragma once

// Calls this server makes to its clients: NLM GRANTED, NSM NOTIFY, NFSv4.0 callbacks over a
// connection of their own (RpcClient), and NFSv4.1 callbacks over the client's own connection
// (the backchannel; rpc/tcp_server.cc).

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>

#include "base/bytes.h"
#include "base/result.h"
#include "rpc/message.h"
#include "xdr/xdr.h"

namespace dittofs::rpc {

// The answer to a call that the peer accepted and ran (MSG_ACCEPTED, SUCCESS).
struct Reply {
  Buffer record;     // the whole reply record (or the unwrapped results), which owns the bytes
  ByteView results;  // the procedure's results: a view into `record`
};

// A security context that calls are sent under and their replies checked with: RPCSEC_GSS on
// the NFSv4.1 backchannel (RFC 8881 §2.10.8.3; GssAuthenticator::BackchannelSecurity). Safe to
// call from any thread.
class CallSecurity {
 public:
  virtual ~CallSecurity() = default;
  // Appends the credential, the verifier and the protected `args` to `record`, which holds the
  // call's header from its xid through its procedure number (EncodeCallPrefix). Returns the
  // sequence number the call carries, for CheckReply; an error when the context can no longer
  // protect calls (it ended).
  virtual Result<uint32_t> Protect(xdr::XdrEncoder& record, xdr::XdrEncoder args) = 0;
  // Checks the verifier of the reply to the call sent with `seq` (`verf_flavor`, `verf_body`)
  // and takes its results out of their protection. Errc::kAccess when they do not check out.
  virtual Result<Reply> CheckReply(uint32_t seq, uint32_t verf_flavor, ByteView verf_body,
                                   Reply reply) = 0;
};

// What to call and how long to wait for the answer.
struct OutgoingCall {
  uint32_t prog = 0;
  uint32_t vers = 0;
  uint32_t proc = 0;
  Credential cred;  // AUTH_NONE unless its flavor is AuthFlavor::kSys
  std::chrono::milliseconds timeout{std::chrono::seconds(30)};
  // When set, the call goes under this context instead of `cred`.
  std::shared_ptr<CallSecurity> security;
};

// Runs exactly once per call, with the reply or why there is none.
using ReplyCallback = std::function<void(Result<Reply>)>;

// A connection over which this server sends calls and receives their replies, matched by xid.
// Thread-safe. Hold one as std::shared_ptr (or weak_ptr) from shared_from_this(): a channel
// lives as long as its connection or its holders, whichever is longer, and a call on a channel
// whose connection has closed fails at once.
class Channel : public std::enable_shared_from_this<Channel> {
 public:
  virtual ~Channel() = default;
  // Sends `args` as procedure call.proc of call.prog / call.vers. `done` gets the reply's
  // results, or an error: Errc::kTimedOut when no reply came within call.timeout,
  // Errc::kUnavailable when the connection closed or could not be made, else the peer's
  // refusal (ReplyStatus: PROG_UNAVAIL is kNotFound, ...). Never blocks. `done` runs on an I/O
  // thread, or on the thread that closes the channel, or (when the channel is closed already)
  // on this one before Call returns: it must be quick and must not block (post work elsewhere).
  virtual void Call(const OutgoingCall& call, xdr::XdrEncoder args, ReplyCallback done) = 0;
};

}  // namespace dittofs::rpc

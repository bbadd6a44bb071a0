// SPDX-License-Identifier: Apache-2.0
#pragma once

// RPC authentication flavors (RFC 5531 §8 and §9): the handlers that turn a call's credential
// and verifier into the identity the call runs as. A server registers the flavors it accepts
// with its Dispatcher (Dispatcher::AddAuthFlavor); RPCSEC_GSS (RFC 2203) is one more handler.

#include <functional>
#include <memory>
#include <string>

#include "base/bytes.h"
#include "rpc/channel.h"
#include "rpc/gss_wire.h"
#include "rpc/message.h"
#include "xdr/xdr.h"

namespace dittofs::rpc {

// Checks one call's credential and verifier (`header.cred_body` and `header.verf_body`, views
// into the record) and, when they are good, fills `cred` with the caller's identity. Returns
// AuthStat::kOk to let the call through, else the auth_stat it is denied with (MSG_DENIED,
// AUTH_ERROR; RFC 5531 §9): kBadCred for a credential that does not decode, kBadVerf for a
// verifier that does not, kRejectedCred or kRejectedVerf when the client must establish its
// identity afresh (an expired context, a replayed verifier), kTooWeak when the flavor is not
// enough for what the call asks. Called concurrently from any thread.
using AuthHandler = std::function<AuthStat(const CallHeader& header, Credential* cred)>;

// AUTH_NONE: an anonymous caller. Neither body is looked at.
AuthStat AuthNone(const CallHeader& header, Credential* cred);

// AUTH_SYS (RFC 5531 Appendix A): the ids the client states, believed as stated; kBadCred when
// the body does not decode as an authsys_parms (DecodeAuthSys). The verifier is not looked at:
// clients send AUTH_NONE there, and nothing in it could vouch for the ids.
AuthStat AuthSys(const CallHeader& header, Credential* cred);

// What RPCSEC_GSS decided about one call (GssAuthenticator::Accept).
enum class GssVerdict {
  kProceed,   // a DATA call: run the procedure on GssCall::args, answer through EncodeReply
  kAnswered,  // a context call (INIT, CONTINUE_INIT, DESTROY): the reply is encoded already
  kDrop,      // send nothing: a replay, a sequence number below the window (RFC 2203 §5.3.3.1)
  kDenied,    // MSG_DENIED, AUTH_ERROR with GssCall::denied
  kGarbage,   // MSG_ACCEPTED, GARBAGE_ARGS: a body whose checksum or unwrapping failed
};

// One RPCSEC_GSS call as the authenticator leaves it for the dispatcher.
struct GssCall {
  ByteView args;          // the procedure's arguments, integrity-checked or unwrapped
  std::string unwrapped;  // owns `args` when they were unwrapped (privacy)
  AuthStat denied = AuthStat::kOk;
  uint32_t seq_num = 0;
  RpcGssService service = RpcGssService::kNone;
  // The security context the call came under, for protecting its reply. Shared with the
  // authenticator's cache: a context destroyed or evicted during the call still answers it.
  std::shared_ptr<void> context;
};

// RPCSEC_GSS (RFC 2203) on the server: context creation and destruction, and each DATA call's
// verifier, sequence number and body. rpc/gss implements it with MIT Kerberos; the dispatcher
// hands it every call of flavor 6 (Dispatcher::SetGss). Safe to call from any thread.
class GssAuthenticator {
 public:
  virtual ~GssAuthenticator() = default;
  // Checks the call whose header is `header` (`signed_header`: its bytes from the xid through
  // the credential) and whose arguments are `args`. For kProceed, fills `cred` and `call`;
  // for kAnswered, `reply` holds the whole reply.
  virtual GssVerdict Accept(const CallHeader& header, ByteView signed_header, ByteView args,
                            Credential* cred, GssCall* call, xdr::XdrEncoder* reply) = 0;
  // Encodes the reply of a kProceed call: its verifier (the checksum of the sequence number),
  // `stat`, and for kSuccess the results protected as the call was. False when the reply
  // cannot be protected: nothing is then sent (RFC 2203 §5.3.3.4.1).
  virtual bool EncodeReply(const GssCall& call, uint32_t xid, AcceptStat stat,
                           const xdr::XdrEncoder& results, xdr::XdrEncoder* reply) = 0;
  // The security of the calls this server makes to a client over the NFSv4.1 backchannel
  // (RFC 8881 §2.10.8.3, gss_cb_handles4): under the established context this server gave
  // the client the handle `server_handle` for, named `client_handle` in the calls'
  // credentials, protected as `service` says, with sequence numbers of their own. Null when
  // no such context is established (or it ended).
  virtual std::shared_ptr<CallSecurity> BackchannelSecurity(ByteView server_handle,
                                                            ByteView client_handle,
                                                            RpcGssService service) = 0;
};

}  // namespace dittofs::rpc

// SPDX-License-Identifier: Apache-2.0
#pragma once

// RPC authentication flavors (RFC 5531 §8 and §9): the handlers that turn a call's credential
// and verifier into the identity the call runs as. A server registers the flavors it accepts
// with its Dispatcher (Dispatcher::AddAuthFlavor); RPCSEC_GSS (RFC 2203) is one more handler.

#include <functional>

#include "rpc/message.h"

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

}  // namespace dittofs::rpc

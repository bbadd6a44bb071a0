// SPDX-License-Identifier: Apache-2.0
#pragma once

// RPC-with-TLS (RFC 9289 §4.1): a client asks whether the server does TLS with a NULL call
// whose credential is AUTH_TLS (flavor 7, empty body) and whose verifier is AUTH_NONE. A server
// that does answers MSG_ACCEPTED with an AUTH_NONE verifier holding the 8 bytes "STARTTLS";
// the client then starts a TLS handshake on the same connection. The transport (tcp_server.cc)
// looks for the probe before dispatching; a probe the transport cannot honour (UDP, no
// certificate, a connection already under TLS) reaches the Dispatcher, which refuses AUTH_TLS
// as a credential it does not accept.

#include <cstdint>

#include "base/bytes.h"
#include "xdr/xdr.h"

namespace dittofs::rpc {

// Whether `record` is the probe: a well-formed CALL (RPC version 2) of procedure 0 of any
// program and version, with an AUTH_TLS credential whose body is empty and an AUTH_NONE
// verifier. Sets *xid when it is. Looks at the header only; never fails on short or hostile
// input.
bool IsTlsProbe(ByteView record, uint32_t* xid);

// The reply to a probe the server accepts: MSG_ACCEPTED, verifier AUTH_NONE with the body
// "STARTTLS", SUCCESS (NULL has no results).
void EncodeStartTlsReply(xdr::XdrEncoder& e, uint32_t xid);

}  // namespace dittofs::rpc

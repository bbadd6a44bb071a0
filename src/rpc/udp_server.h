// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <memory>

#include "base/result.h"
#include "net/datagram/datagram_server.h"
#include "rpc/dispatch.h"

namespace dittofs::rpc {

// Serves ONC RPC over UDP (RFC 5531 §10: one call or reply per datagram, no record marking):
// each datagram goes through `dispatcher` like a TCP record, and its reply returns to the
// sender as one datagram. Retransmitted calls meet the dispatcher's duplicate request cache,
// as over TCP. `dispatcher` must outlive the server.
Result<std::unique_ptr<net::DatagramServer>> StartRpcUdpServer(
    const net::DatagramServerOptions& options, Dispatcher& dispatcher);

}  // namespace dittofs::rpc

// SPDX-License-Identifier: Apache-2.0
#include "rpc/udp_server.h"

#include <vector>

#include "base/log.h"

namespace dittofs::rpc {

Result<std::unique_ptr<net::DatagramServer>> StartRpcUdpServer(
    const net::DatagramServerOptions& options, Dispatcher& dispatcher) {
  return net::StartDatagramServer(
      options,
      [&dispatcher](net::DatagramServer& server, const net::DatagramPeer& peer, ByteView datagram) {
        ConnectionInfo conn{peer.address, peer.port};
        xdr::XdrEncoder reply;
        if (!dispatcher.Handle(conn, datagram, &reply)) return;
        std::vector<ByteView> pieces = reply.Segments();
        Status s = server.SendTo(peer, pieces);
        // A reply too large for a datagram (a READ beyond the UDP rsize a client asked for)
        // cannot be sent; the client times out, as with a lost datagram.
        if (!s.ok()) LOG_DEBUG("rpc: udp reply to {}: {}", peer.address, s.ToString());
      });
}

}  // namespace dittofs::rpc

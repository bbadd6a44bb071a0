// SPDX-License-Identifier: Apache-2.0
#pragma once

// Datagram (UDP) serving, for the protocols that still run over it (ONC RPC: NFSv3, MOUNT,
// NLM, NSM). Each datagram is one whole message: there is no framing, no connection and no
// backpressure beyond the socket's receive buffer; a message that does not fit one datagram
// cannot be sent. One thread receives; the handler runs on a worker pool and answers through
// SendTo, from any thread.

#include <array>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>

#include "base/bytes.h"
#include "base/result.h"

namespace dittofs::net {

struct DatagramServerOptions {
  std::string bind_address = "0.0.0.0";
  uint16_t port = 0;  // 0 picks a free port; see DatagramServer::port()
  // Datagrams longer than this are dropped (the largest UDP payload is 65,507 bytes).
  size_t max_datagram = 65507;
  size_t worker_threads = 4;
  // Datagrams received and not yet handled; more are dropped (the client retransmits).
  size_t max_queued = 1024;
};

// Where a datagram came from, and where its answer goes.
struct DatagramPeer {
  std::string address;
  uint16_t port = 0;
  // The socket address, as received (sockaddr_in or sockaddr_in6).
  std::array<std::byte, 28> sockaddr{};
  uint32_t sockaddr_len = 0;
};

class DatagramServer {
 public:
  virtual ~DatagramServer() = default;
  virtual uint16_t port() const = 0;
  // Sends `pieces`, concatenated, as one datagram to `peer`. Errc::kTooBig when they exceed
  // max_datagram; a send the network drops is not an error (UDP promises nothing).
  virtual Status SendTo(const DatagramPeer& peer, std::span<const ByteView> pieces) = 0;
  // Stops receiving, lets queued datagrams be handled, and joins the threads. Idempotent; the
  // destructor calls it.
  virtual void Shutdown() = 0;
  // Datagrams dropped so far (too long, or over max_queued).
  virtual uint64_t dropped() const = 0;
};

// Called on a worker thread for each datagram received.
using DatagramHandler =
    std::function<void(DatagramServer& server, const DatagramPeer& peer, ByteView datagram)>;

// Binds and starts serving. `handler` is called until Shutdown returns.
Result<std::unique_ptr<DatagramServer>> StartDatagramServer(const DatagramServerOptions& options,
                                                            DatagramHandler handler);

}  // namespace dittofs::net

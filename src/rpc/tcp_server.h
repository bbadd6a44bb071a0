// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "base/result.h"
#include "net/stream/stream_server.h"
#include "rpc/dispatch.h"

namespace dittofs::rpc {

struct TcpServerOptions {
  // Connections, their limits and timeouts, reading with backpressure, the I/O threads and
  // workers: net/stream's (see StreamServerOptions). For RPC a message is a record: its
  // message_timeout bounds how long a record may take to arrive whole, and its
  // partial_message_budget (the memory for records still being received, shared by all
  // connections) is raised to max_record_size when smaller. Its `name` is set to "rpc".
  net::StreamServerOptions stream;
  size_t max_record_size = 4u << 20;  // a 1 MiB WRITE fits with room to spare
  // Run procedures marked `fast` on the I/O thread that received them (lower latency).
  bool inline_fast_calls = true;
  // RPC-with-TLS (RFC 9289): makes the TLS of a connection whose client sent the AUTH_TLS probe
  // (rpc/tls_probe.h), which is then answered STARTTLS; the handshake must end within
  // stream.handshake_timeout. Empty, or returning null (no certificate): the probe is refused
  // (the Dispatcher answers AUTH_ERROR) and the connection stays plain. Any thread.
  std::function<std::unique_ptr<net::StreamTransform>()> start_tls;
};

// Serves ONC RPC over TCP: accepts connections, reassembles records, runs each call on a worker
// thread, and sends replies as they complete (so replies may overtake one another). A
// connection that breaks the framing rules or the limits is closed; others are unaffected.
// The connections, limits, threads and writing are net/stream's (the StreamServer returned);
// this adds record marking (RecordAssembler is the framer), dispatch, and the backchannel.
// Binds, listens and starts serving. `dispatcher` must outlive the server.
Result<std::unique_ptr<net::StreamServer>> StartRpcTcpServer(const TcpServerOptions& options,
                                                             Dispatcher& dispatcher);

}  // namespace dittofs::rpc

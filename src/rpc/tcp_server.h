// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include "base/result.h"
#include "rpc/dispatch.h"

namespace dittofs::rpc {

struct TcpServerOptions {
  std::string bind_address = "0.0.0.0";
  uint16_t port = 0;  // 0 picks a free port; see RpcTcpServer::port()
  // Connections open at once. When a new client arrives at the limit, the connection that has
  // been idle longest (see idle_timeout) is closed to make room; only when none is idle is the
  // newcomer refused. So sockets left idle, however many, never lock new clients out.
  size_t max_connections = 1024;
  // Connections from one client address at once; the next one from it is refused.
  size_t max_connections_per_client = 64;
  // A connection with nothing in flight (no call running, no reply being sent, no record
  // partly received) is closed after this long without traffic. 0: never.
  std::chrono::milliseconds idle_timeout{std::chrono::minutes(5)};
  // A record must arrive whole within this long of its first byte, or the connection is closed
  // (a client that sends part of a record and stalls). Time while the server does not read
  // (max_outstanding reached) does not count; time waiting for partial_record_budget does, and
  // the clock restarts when the budget lets the record grow.
  std::chrono::milliseconds record_timeout{std::chrono::seconds(60)};
  // Memory for records still being received, shared by all connections (beyond the first
  // net::MessageBudget::kUnbudgetedMessageBytes of each record). A record that needs more
  // waits for others to complete. Raised to max_record_size when smaller.
  size_t partial_record_budget = 256u << 20;
  size_t max_record_size = 4u << 20;            // a 1 MiB WRITE fits with room to spare
  size_t max_outstanding_per_connection = 128;  // reading pauses while this many are in flight
  // ... or while the calls in flight hold this many bytes of records. A client with many large
  // WRITEs outstanding then waits in TCP (backpressure) instead of in the worker queue: a
  // record read far ahead of its turn has left the CPU caches by the time a worker copies it.
  // Measured on 2 cores, 1 MiB WRITEs at depth 64: 128 records read ahead ran at ~1,600 MB/s
  // and cost 30 % more server CPU than 8 MiB (~3,000 MB/s).
  size_t max_outstanding_bytes_per_connection = 8u << 20;
  size_t io_threads = 1;
  size_t worker_threads = 8;
  // How many workers run calls at once (0: all of them; measured on 2 cores with 8 workers, a
  // limit of one per core cost about 10 % of sequential write throughput).
  // The other workers stand in for those blocked on disk or network (see BlockingRegion).
  size_t running_workers = 0;
  // Run procedures marked `fast` on the I/O thread that received them (lower latency).
  bool inline_fast_calls = true;
  // After the I/O thread handled something, it keeps polling its sockets (yielding the CPU to
  // any other runnable thread in between) for this long before it goes to sleep, as long as no
  // call is running on a worker. A client's next call then finds it awake: on a VM, waking a
  // sleeping thread costs tens of microseconds, more than the call itself. 0 turns this off.
  std::chrono::microseconds poll_window{50};
};

// Serves ONC RPC over TCP: accepts connections, reassembles records, runs each call on a worker
// thread, and sends replies as they complete (so replies may overtake one another). A
// connection that breaks the framing rules or the limits is closed; others are unaffected.
// The connections, limits, threads and writing are net/stream's (net::StreamServer); this
// adds record marking (RecordAssembler is the framer), dispatch, and the backchannel.
class RpcTcpServer {
 public:
  virtual ~RpcTcpServer() = default;
  // The port actually bound.
  virtual uint16_t port() const = 0;
  // Stops accepting, lets calls in flight finish (up to `drain`), then closes every connection.
  // Idempotent. The destructor calls it with a short drain.
  virtual void Shutdown(std::chrono::milliseconds drain) = 0;
  virtual size_t connection_count() const = 0;
  // Bytes of partly received records counted against partial_record_budget (for monitoring).
  virtual size_t partial_record_bytes() const = 0;
};

// Binds, listens and starts serving. `dispatcher` must outlive the server.
Result<std::unique_ptr<RpcTcpServer>> StartRpcTcpServer(const TcpServerOptions& options,
                                                        Dispatcher& dispatcher);

}  // namespace dittofs::rpc

// SPDX-License-Identifier: Apache-2.0
#pragma once

// Stream (TCP) serving, for the protocols that run over a connection: ONC RPC with record
// marking (rpc/tcp_server.h), and SMB2 direct TCP. This layer accepts and limits connections,
// times them out, reads with backpressure, runs the protocol's work on I/O threads or a worker
// pool, and writes what the protocol sends; the protocol plugs in through a StreamFramer (its
// framing) and a StreamHandler (what to do with each message) per connection.
//
// The data path of one message: a read lands in a staging buffer (or, for a large body, right
// in the message's buffer: StreamFramer::DirectTarget); the framer cuts it into messages; the
// handler gets each one on the I/O thread (one virtual call) and either answers at once or
// hands it to a worker (StreamConnection::RunOnWorker); the answer goes out through
// StreamConnection::Send, straight from the calling thread when the socket takes it.

#include <array>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "base/bytes.h"
#include "base/result.h"
#include "base/thread_pool.h"
#include "net/stream/message_budget.h"
#include "net/stream/stream_framer.h"
#include "net/stream/stream_transform.h"

namespace dittofs::net {

struct StreamServerOptions {
  std::string bind_address = "0.0.0.0";
  uint16_t port = 0;  // 0 picks a free port; see StreamServer::port()
  // Connections open at once. When a new client arrives at the limit, the connection that has
  // been idle longest (see idle_timeout) is closed to make room; only when none is idle is the
  // newcomer refused. So sockets left idle, however many, never lock new clients out.
  size_t max_connections = 1024;
  // Connections from one client address at once; the next one from it is refused.
  size_t max_connections_per_client = 64;
  // A connection with nothing in flight (no message being handled, nothing being sent, no
  // message partly received, nothing awaited from the peer: StreamHandler::AwaitsPeer) is
  // closed after this long without traffic. 0: never.
  std::chrono::milliseconds idle_timeout{std::chrono::minutes(5)};
  // A message must arrive whole within this long of its first byte, or the connection is
  // closed (a client that sends part of a message and stalls). Time while the server does not
  // read (max_outstanding reached) does not count; time waiting for partial_message_budget
  // does, and the clock restarts when the budget lets the message grow.
  std::chrono::milliseconds message_timeout{std::chrono::seconds(60)};
  // A connection that started a transform (StreamConnection::StartTransform: a TLS handshake)
  // must establish it within this long, or it is closed: a peer that sends nothing, or half a
  // ClientHello, holds no connection longer.
  std::chrono::milliseconds handshake_timeout{std::chrono::seconds(10)};
  // The MessageBudget: memory for messages still being received, shared by all connections.
  // REQUIRES: no framer asks it for more at once (at least the protocol's largest message).
  size_t partial_message_budget = 256u << 20;
  // Reading pauses while this many messages of a connection are in flight (InFlight) ...
  size_t max_outstanding_per_connection = 128;
  // ... or while they hold this many bytes. A client with many large messages outstanding then
  // waits in TCP (backpressure) instead of in the worker queue.
  size_t max_outstanding_bytes_per_connection = 8u << 20;
  size_t io_threads = 1;
  size_t worker_threads = 8;
  // How many workers run at once (0: all of them); see ThreadPool.
  size_t running_workers = 0;
  // After an I/O thread handled something, it keeps polling its sockets (yielding the CPU to
  // any other runnable thread in between) for this long before it goes to sleep, as long as no
  // message is in flight. A client's next message then finds it awake: on a VM, waking a
  // sleeping thread costs tens of microseconds, more than a quick call itself. 0: off.
  std::chrono::microseconds poll_window{50};
  // Names the protocol in log lines ("rpc: closing ...") and the workers ("dfs-rpc");
  // at most 11 characters.
  std::string name = "stream";
};

// A message to send. A protocol derives from it to own the bytes (an encoder, a buffer) and
// sets `pieces` to views of them, in order; its framing goes in `header`, sent first (a
// length prefix, kept here so that it needs no allocation of its own). The stream layer
// writes them as they are, and frees the message once they are written or the connection
// closed. REQUIRES: unchanged once sent.
class OutgoingMessage {
 public:
  virtual ~OutgoingMessage() = default;
  std::array<std::byte, 8> header{};
  size_t header_size = 0;
  std::vector<ByteView> pieces;
};

// One client connection, as its protocol sees it. Thread-safe. The server owns it; a protocol
// that keeps one past the message at hand (to send the client calls of its own) keeps a
// std::weak_ptr from weak_from_this(): a closed connection goes away with its last message.
class StreamConnection : public std::enable_shared_from_this<StreamConnection> {
 public:
  virtual ~StreamConnection() = default;
  virtual const std::string& peer_address() const = 0;
  virtual uint16_t peer_port() const = 0;
  // The server's own address on this connection (where the client reached it); empty when
  // unknown.
  virtual const std::string& local_address() const {
    static const std::string unknown;
    return unknown;
  }
  // Queues `message` to go out after the messages sent before it. When nothing is queued and
  // the socket takes it, it is written at once from the calling thread. Dropped when the
  // connection is closed. Any thread.
  virtual void Send(std::unique_ptr<OutgoingMessage> message) = 0;
  // Runs `work` on the server's worker pool; for handling that takes more than a moment, so
  // that the I/O thread goes on reading. Any thread.
  virtual void RunOnWorker(Task work) = 0;
  // Makes StreamHandler::OnWake run on the connection's I/O strand at `deadline` (or soon
  // after), unless it is set to run earlier already. Nothing runs once the connection closed.
  // Any thread.
  virtual void WakeBy(std::chrono::steady_clock::time_point deadline) = 0;
  // Closes the socket; the handler's OnClose follows. Any thread; idempotent.
  virtual void Close() = 0;
  // Puts `transform` between the socket and the framer: the bytes received from now on go
  // through it, and so do the messages sent from now on (those sent before, queued or not, go
  // out as they are). Messages sent before it is established wait for it. A peer that sent
  // more bytes behind the message being handled (they were framed as plain already) broke the
  // exchange: the connection is closed. REQUIRES: on the I/O strand, from
  // StreamHandler::OnMessage; no transform started before.
  virtual void StartTransform(std::unique_ptr<StreamTransform> transform) = 0;
  // What the transform established; not secured when there is none (yet). Any thread.
  virtual TransportSecurity security() const = 0;
};

class StreamConnectionInternals;  // stream_server.cc

// A message that a handler is working on, from its arrival to its answer. Until it is
// destroyed, the message counts against its connection's max_outstanding limits (reading
// pauses at them), the connection is not idle, and the I/O threads do not poll (poll_window).
// Destroy it once the answer is sent (so that the limits hold answers not yet written, too),
// or at once for a message without one. Move-only; may be destroyed on any thread.
class InFlight {
 public:
  InFlight(InFlight&& other) noexcept
      : connection_(std::move(other.connection_)), bytes_(other.bytes_) {}
  InFlight& operator=(InFlight&&) = delete;
  ~InFlight();

 private:
  friend class StreamConnectionInternals;
  InFlight(std::shared_ptr<StreamConnection> connection, size_t bytes)
      : connection_(std::move(connection)), bytes_(bytes) {}

  std::shared_ptr<StreamConnection> connection_;  // keeps the connection until the answer
  size_t bytes_;
};

// The protocol's side of one connection: what to do with its messages. Made by
// StreamProtocol::NewHandler and owned by the connection.
class StreamHandler {
 public:
  virtual ~StreamHandler() = default;
  // Each complete message, in the order received, on the connection's I/O strand (so one at a
  // time per connection). It runs on an I/O thread: what takes more than a moment goes to
  // StreamConnection::RunOnWorker, together with `in_flight`. `alone`: no other message
  // arrived with this one, so handling it right here delays no other.
  virtual void OnMessage(Buffer message, InFlight in_flight, bool alone) = 0;
  // The connection closed: no more messages come and Sends are dropped. Runs once, on any
  // thread, possibly while a message is still being handled; on the thread that called
  // StreamConnection::Close, from within it (a handler that closes its own connection in
  // OnMessage gets OnClose before Close returns: it must not hold a lock OnClose takes).
  virtual void OnClose() {}
  // The time given to StreamConnection::WakeBy came; on the connection's I/O strand.
  virtual void OnWake() {}
  // Whether the protocol awaits something from the client with no message in flight (a reply
  // to a call it sent the client): the connection is then not idle. Any thread.
  virtual bool AwaitsPeer() const { return false; }
};

// A protocol served over a stream: makes the framer and the handler of each connection.
// Called on an I/O thread, for each connection admitted, before its first byte is read.
class StreamProtocol {
 public:
  virtual ~StreamProtocol() = default;
  // `budget` (the server's; it outlives the framer) is for the memory of partial messages.
  virtual std::unique_ptr<StreamFramer> NewFramer(MessageBudget& budget) = 0;
  // `connection` outlives the handler (it owns it).
  virtual std::unique_ptr<StreamHandler> NewHandler(StreamConnection& connection) = 0;
};

// Accepts connections and serves a protocol on them. A connection that breaks the framing or
// the limits is closed; others are unaffected.
class StreamServer {
 public:
  virtual ~StreamServer() = default;
  // The port actually bound.
  virtual uint16_t port() const = 0;
  // Stops accepting, lets messages in flight finish (up to `drain`), then closes every
  // connection. Idempotent. The destructor calls it with a short drain.
  virtual void Shutdown(std::chrono::milliseconds drain) = 0;
  virtual size_t connection_count() const = 0;
  // Bytes of partly received messages counted against partial_message_budget (monitoring).
  virtual size_t partial_message_bytes() const = 0;
};

// Binds, listens and starts serving `protocol`, which the server keeps as long as it lives.
Result<std::unique_ptr<StreamServer>> StartStreamServer(const StreamServerOptions& options,
                                                        std::shared_ptr<StreamProtocol> protocol);

}  // namespace dittofs::net

// SPDX-License-Identifier: Apache-2.0
#include "net/stream/stream_server.h"

#include <sched.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include <algorithm>
#include <asio.hpp>
#include <atomic>
#include <cerrno>
#include <deque>
#include <map>
#include <optional>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "base/check.h"
#include "base/log.h"
#include "base/mutex.h"

namespace dittofs::net {

using asio::ip::tcp;

namespace {

class Server;

// The server whose I/O loop runs on this thread, if any: a message finished elsewhere (on a
// worker) may have to wake that loop.
thread_local const Server* tls_io_server = nullptr;

// Why the sweeper closes a connection.
enum class Expiry { kNone, kIdle, kStalledMessage, kStalledHandshake };

// Bytes the stream layer sends on its own (a transform's handshake, protected messages).
struct OwnedBytes final : OutgoingMessage {
  explicit OwnedBytes(std::vector<std::byte> b) : bytes(std::move(b)) {
    pieces.emplace_back(bytes.data(), bytes.size());
  }
  std::vector<std::byte> bytes;
};

// One client connection. Owned jointly by the pending asio operations and the InFlight of its
// messages: whichever finishes last frees it, which is why it is a shared_ptr. Nothing else
// owns it, so it never outlives the server's io_context: protocols keep it weakly.
class Connection final : public StreamConnection {
 public:
  Connection(Server& server, tcp::socket socket, std::string peer_address, uint16_t peer_port,
             std::string local_address);

  // Makes the framer and the handler. REQUIRES: owned by a shared_ptr already.
  void Open();
  // Starts reading.
  void Start();

  const std::string& peer_address() const override { return peer_address_; }
  uint16_t peer_port() const override { return peer_port_; }
  const std::string& local_address() const override { return local_address_; }
  void Send(std::unique_ptr<OutgoingMessage> message) override;
  void RunOnWorker(Task work) override;
  void WakeBy(std::chrono::steady_clock::time_point deadline) override;
  // Closes the socket (from any thread); the pending read then ends the connection.
  void Close() override;
  void StartTransform(std::unique_ptr<StreamTransform> transform) override;
  TransportSecurity security() const override;

  // Whether the sweeper should close this connection at `now` (Server::Now() time).
  // Reads only atomics (and the handler's AwaitsPeer), so any thread may ask.
  Expiry Expired(int64_t now) const;
  // When the connection had nothing in flight and fell silent; false if it is not idle.
  bool IdleSince(int64_t* since) const;
  // An InFlight of this connection ended; `bytes`: the size of its message.
  void Finished(size_t bytes);

 private:
  std::shared_ptr<Connection> self() {
    return std::static_pointer_cast<Connection>(shared_from_this());
  }
  struct Outgoing {
    std::unique_ptr<OutgoingMessage> message;
    size_t size = 0;  // of all its pieces
    size_t sent = 0;  // bytes already written by a direct send
  };
  // Calls fn(data, size) for each piece of the message's bytes not yet sent, in order, until
  // it returns false.
  template <typename Fn>
  static void ForEachUnsent(const Outgoing& o, Fn fn);
  // Tries to send `o` at once from the calling thread without blocking; returns true when all
  // of it went out. REQUIRES: nothing else is being written.
  bool SendNowLocked(Outgoing& o) EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Queues `message` as it is (sending it at once when the socket takes it).
  void SendRawLocked(std::unique_ptr<OutgoingMessage> message) EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Passes `message` through the transform and queues what it makes. False when the transform
  // failed (the connection is then to be closed).
  bool SendProtectedLocked(const OutgoingMessage& message) EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Runs the bytes just read through the transform into plain_; false when it failed (the
  // connection is then closed).
  bool Untransform(ByteView wire);
  void ReadMore();
  void OnRead(const asio::error_code& ec, size_t n, bool direct);
  // Feeds the framer what is left in staged_; false when the connection broke the rules
  // (it is then closed).
  bool FeedStaged(std::vector<Buffer>* messages);
  // After input: hands completed messages over, then reads on or waits for the budget.
  void Continue(std::vector<Buffer> messages);
  // Keeps partial_since_ in step with the framer; `completed`: a message ended just now.
  void NoteMessageProgress(bool completed);
  void WaitForBudget();
  void OnBudgetGranted();
  void Deliver(std::vector<Buffer> messages);
  void WriteNextLocked() EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Whether the messages in flight are at a limit of StreamServerOptions (reading then
  // pauses).
  bool AtLimit() const;
  void ArmTimer(std::chrono::steady_clock::time_point deadline);

  Server& server_;
  tcp::socket socket_;
  asio::strand<asio::io_context::executor_type> strand_;
  const std::string peer_address_;
  const std::string local_address_;
  const uint16_t peer_port_;
  // Set by Open, before the connection is shared with other threads.
  std::unique_ptr<StreamFramer> framer_;  // touched on strand_ only
  std::unique_ptr<StreamHandler> handler_;
  std::vector<std::byte> staging_;
  // The part of staging_ (or of plain_, under a transform) not yet fed to the framer; strand_
  // only.
  ByteView staged_;
  // Whether a transform was started (strand_ only; the transform itself is under mu_), and
  // the bytes it gave back for the framer.
  bool transformed_ = false;
  std::vector<std::byte> plain_;
  // Set by StartTransform while Deliver hands over messages: the ones after it are refused.
  bool transform_started_now_ = false;

  mutable Mutex mu_;
  std::deque<Outgoing> out_queue_ GUARDED_BY(mu_);
  bool writing_ GUARDED_BY(mu_) = false;
  bool closed_ GUARDED_BY(mu_) = false;
  // The MessageBudget request the framer waits on; 0 when none.
  uint64_t budget_ticket_ GUARDED_BY(mu_) = 0;
  std::unique_ptr<StreamTransform> transform_ GUARDED_BY(mu_);
  // Messages sent while the transform is not established yet, in order.
  std::vector<std::unique_ptr<OutgoingMessage>> held_ GUARDED_BY(mu_);
  std::atomic<size_t> outstanding_{0};
  std::atomic<size_t> outstanding_bytes_{0};

  // For the sweeper, which reads them from another thread (Server::Now() times, relaxed: they
  // only need to be roughly current).
  std::atomic<bool> reading_paused_{false};  // max_outstanding reached; set on strand_ only
  std::atomic<bool> output_pending_{false};  // mirrors writing_
  std::atomic<int64_t> last_activity_;       // last bytes received or message sent
  std::atomic<int64_t> partial_since_{0};    // when the partial message began; 0: none
  std::atomic<int64_t> handshake_since_{0};  // when a transform began establishing; 0: none

  // WakeBy's timer, made by its first use (few connections need one); strand_ only.
  std::unique_ptr<asio::steady_timer> wake_timer_;
  std::optional<std::chrono::steady_clock::time_point> wake_armed_;
};

}  // namespace

// Makes InFlight, whose constructor is private to keep the accounting here.
class StreamConnectionInternals {
 public:
  static InFlight Make(std::shared_ptr<StreamConnection> connection, size_t bytes) {
    return InFlight(std::move(connection), bytes);
  }
};

InFlight::~InFlight() {
  // Every StreamConnection is a Connection: the class is abstract only to keep the layer's
  // machinery out of the protocols' sight.
  if (connection_) static_cast<Connection*>(connection_.get())->Finished(bytes_);
}

namespace {

class Server final : public StreamServer {
 public:
  Server(const StreamServerOptions& options, std::shared_ptr<StreamProtocol> protocol)
      : options_(options),
        worker_name_(("dfs-" + options.name).substr(0, 15)),
        protocol_(std::move(protocol)),
        budget_(options.partial_message_budget),
        acceptor_(io_),
        sweep_timer_(io_),
        workers_(options.worker_threads, options.running_workers, worker_name_.c_str()),
        work_guard_(asio::make_work_guard(io_)) {}
  ~Server() override { Shutdown(std::chrono::milliseconds(2000)); }

  Status Listen();
  uint16_t port() const override { return port_; }
  void Shutdown(std::chrono::milliseconds drain) override;
  size_t connection_count() const override {
    MutexLock lock(&mu_);
    return connections_.size();
  }
  size_t partial_message_bytes() const override { return budget_.used(); }

  const StreamServerOptions& options() const { return options_; }
  const char* name() const { return options_.name.c_str(); }
  StreamProtocol& protocol() { return *protocol_; }
  ThreadPool& workers() { return workers_; }
  asio::io_context& io() { return io_; }
  MessageBudget& budget() { return budget_; }
  // Milliseconds on a steady clock (never 0), as of the last sweep or accept: the data path
  // stamps connections with it instead of reading the clock for every read.
  int64_t Now() const { return now_.load(std::memory_order_relaxed); }
  void Forget(Connection* c) {
    MutexLock lock(&mu_);
    auto it = connections_.find(c);
    if (it != connections_.end()) EraseLocked(it);
  }
  // Messages of all connections in flight (InFlight alive).
  std::atomic<size_t> in_flight{0};

 private:
  struct Tracked {
    // Weak so that a connection's lifetime is only its pending operations'.
    std::weak_ptr<Connection> conn;
    std::string address;
    uint64_t admitted;  // order of admission
  };
  using ConnectionMap = std::map<Connection*, Tracked>;

  void Accept();
  // Admits `conn` if the limits allow, closing the oldest idle connection at the global cap.
  void Admit(std::shared_ptr<Connection> conn);
  ConnectionMap::iterator EraseLocked(ConnectionMap::iterator it) EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Removes and returns the connection idle longest, or null when none is idle.
  std::shared_ptr<Connection> TakeOldestIdleLocked(int64_t now) EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Reads the clock into now_.
  int64_t UpdateNow();
  // Closes idle connections and stalled messages, then re-arms itself.
  void Sweep();
  void ArmSweep();
  // The I/O thread's loop: io_.run(), with the polling of StreamServerOptions::poll_window.
  void RunIo();

  const StreamServerOptions options_;
  const std::string worker_name_;
  const std::shared_ptr<StreamProtocol> protocol_;
  // Before io_: handlers still queued there when it is destroyed may own connections, whose
  // framers return their reservations here.
  MessageBudget budget_;
  const std::chrono::steady_clock::time_point start_ = std::chrono::steady_clock::now();
  std::atomic<int64_t> now_{1};
  asio::io_context io_;
  tcp::acceptor acceptor_;
  asio::steady_timer sweep_timer_;  // touched by io_ handlers only
  ThreadPool workers_;
  asio::executor_work_guard<asio::io_context::executor_type> work_guard_;
  std::vector<std::thread> io_threads_;
  uint16_t port_ = 0;
  std::atomic<bool> shut_down_{false};

  mutable Mutex mu_;
  ConnectionMap connections_ GUARDED_BY(mu_);
  std::unordered_map<std::string, size_t> per_client_ GUARDED_BY(mu_);  // open, by address
  uint64_t admitted_ GUARDED_BY(mu_) = 0;
};

Connection::Connection(Server& server, tcp::socket socket, std::string peer_address,
                       uint16_t peer_port, std::string local_address)
    : server_(server),
      socket_(std::move(socket)),
      strand_(asio::make_strand(server.io())),
      peer_address_(std::move(peer_address)),
      local_address_(std::move(local_address)),
      peer_port_(peer_port),
      staging_(64 * 1024),
      last_activity_(server.Now()) {}

void Connection::Open() {
  framer_ = server_.protocol().NewFramer(server_.budget());
  handler_ = server_.protocol().NewHandler(*this);
}

void Connection::Start() { ReadMore(); }

void Connection::Close() {
  uint64_t ticket;
  {
    MutexLock lock(&mu_);
    if (closed_) return;
    closed_ = true;
    ticket = std::exchange(budget_ticket_, 0);
  }
  // At once, not on the strand: a queued request holds this connection alive.
  if (ticket != 0) server_.budget().Cancel(ticket);
  // At once too: what the protocol waits for from the client (replies to its calls) cannot
  // come now.
  if (handler_) handler_->OnClose();
  asio::post(strand_, [self = self()] {
    asio::error_code ignored;
    self->socket_.shutdown(tcp::socket::shutdown_both, ignored);
    self->socket_.close(ignored);
    if (self->wake_timer_) self->wake_timer_->cancel();
  });
}

void Connection::RunOnWorker(Task work) { server_.workers().Submit(std::move(work)); }

void Connection::WakeBy(std::chrono::steady_clock::time_point deadline) {
  asio::post(strand_, [self = self(), deadline] { self->ArmTimer(deadline); });
}

void Connection::ArmTimer(std::chrono::steady_clock::time_point deadline) {
  if (wake_armed_ && *wake_armed_ <= deadline) return;
  {
    MutexLock lock(&mu_);
    // Once closed, no timer: it would hold the connection alive until it fires.
    if (closed_) return;
  }
  if (!wake_timer_) wake_timer_ = std::make_unique<asio::steady_timer>(strand_);
  wake_armed_ = deadline;
  wake_timer_->expires_at(deadline);  // cancels the earlier wait
  wake_timer_->async_wait([self = self()](const asio::error_code& ec) {
    if (ec) return;  // re-armed or closed
    self->wake_armed_.reset();
    self->handler_->OnWake();
  });
}

bool Connection::IdleSince(int64_t* since) const {
  if (outstanding_.load() != 0 || partial_since_.load(std::memory_order_relaxed) != 0 ||
      output_pending_.load(std::memory_order_relaxed)) {
    return false;
  }
  // The protocol awaits the client (the sweeper asks; the data path does not).
  if (handler_ && handler_->AwaitsPeer()) return false;
  *since = last_activity_.load(std::memory_order_relaxed);
  return true;
}

Expiry Connection::Expired(int64_t now) const {
  const StreamServerOptions& o = server_.options();
  int64_t handshake = handshake_since_.load(std::memory_order_relaxed);
  if (handshake != 0 && now - handshake >= o.handshake_timeout.count()) {
    return Expiry::kStalledHandshake;
  }
  int64_t partial = partial_since_.load(std::memory_order_relaxed);
  if (partial != 0 && !reading_paused_.load(std::memory_order_relaxed) &&
      now - partial >= o.message_timeout.count()) {
    return Expiry::kStalledMessage;
  }
  int64_t since;
  if (o.idle_timeout.count() > 0 && IdleSince(&since) && now - since >= o.idle_timeout.count()) {
    return Expiry::kIdle;
  }
  return Expiry::kNone;
}

bool Connection::AtLimit() const {
  return outstanding_.load() >= server_.options().max_outstanding_per_connection ||
         outstanding_bytes_.load() >= server_.options().max_outstanding_bytes_per_connection;
}

void Connection::ReadMore() {
  if (AtLimit()) {
    reading_paused_.store(true, std::memory_order_relaxed);  // resumed by Finished
    return;
  }
  MutableByteView direct = framer_->DirectTarget();
  auto self = this->self();
  // Large message bodies are read straight into the message; everything else (headers, small
  // messages, several messages at once) through the staging buffer.
  if (direct.size() >= 16 * 1024 && !transformed_) {
    socket_.async_read_some(
        asio::buffer(direct.data(), direct.size()),
        asio::bind_executor(
            strand_, [self](const asio::error_code& ec, size_t n) { self->OnRead(ec, n, true); }));
  } else {
    socket_.async_read_some(
        asio::buffer(staging_.data(), staging_.size()),
        asio::bind_executor(
            strand_, [self](const asio::error_code& ec, size_t n) { self->OnRead(ec, n, false); }));
  }
}

void Connection::OnRead(const asio::error_code& ec, size_t n, bool direct) {
  if (ec) {
    if (ec != asio::error::eof && ec != asio::error::operation_aborted) {
      LOG_DEBUG("{}: connection from {}: read failed: {}", server_.name(), peer_address_,
                ec.message());
    }
    Close();
    server_.Forget(this);
    return;
  }
  last_activity_.store(server_.Now(), std::memory_order_relaxed);
  std::vector<Buffer> messages;
  if (direct) {
    framer_->CommitDirect(n, &messages);
  } else if (transformed_) {
    if (!Untransform(ByteView(staging_.data(), n))) return;
    staged_ = ByteView(plain_.data(), plain_.size());
    if (!FeedStaged(&messages)) return;
  } else {
    staged_ = ByteView(staging_.data(), n);
    if (!FeedStaged(&messages)) return;
  }
  Continue(std::move(messages));
}

bool Connection::Untransform(ByteView wire) {
  plain_.clear();  // the framer took all of it before this read (reads wait for the budget)
  std::vector<std::byte> to_peer;
  Status s;
  {
    MutexLock lock(&mu_);
    if (closed_ || !transform_) return false;
    const bool was_established = transform_->established();
    s = transform_->Receive(wire, &plain_, &to_peer);
    if (!to_peer.empty()) SendRawLocked(std::make_unique<OwnedBytes>(std::move(to_peer)));
    if (s.ok() && !was_established && transform_->established()) {
      handshake_since_.store(0, std::memory_order_relaxed);
      std::vector<std::unique_ptr<OutgoingMessage>> held = std::move(held_);
      for (const auto& m : held) {
        if (!SendProtectedLocked(*m)) {
          s = Status(Errc::kIo, "protecting a message failed");
          break;
        }
      }
    }
  }
  if (!s.ok()) {
    LOG_INFO("{}: closing connection from {}:{}: {}", server_.name(), peer_address_, peer_port_,
             s.ToString());
    Close();
    server_.Forget(this);
    return false;
  }
  return true;
}

void Connection::StartTransform(std::unique_ptr<StreamTransform> transform) {
  CHECK(!transformed_) << "a second transform on one connection";
  transformed_ = true;
  transform_started_now_ = true;
  {
    MutexLock lock(&mu_);
    transform_ = std::move(transform);
  }
  handshake_since_.store(server_.Now(), std::memory_order_relaxed);
  // Bytes behind the message at hand were read as plain: the peer did not wait for the answer.
  if (framer_->mid_message() || !staged_.empty()) {
    LOG_INFO("{}: closing connection from {}:{}: it sent more before the transform started",
             server_.name(), peer_address_, peer_port_);
    Close();
  }
}

TransportSecurity Connection::security() const {
  MutexLock lock(&mu_);
  if (!transform_ || !transform_->established()) return {};
  return transform_->security();
}

bool Connection::FeedStaged(std::vector<Buffer>* messages) {
  size_t consumed = 0;
  Status s = framer_->Feed(staged_, messages, &consumed);
  staged_ = staged_.subspan(consumed);
  if (!s.ok()) {
    LOG_WARN("{}: closing connection from {}:{}: {}", server_.name(), peer_address_, peer_port_,
             s.ToString());
    Close();
    server_.Forget(this);
    return false;
  }
  return true;
}

void Connection::Continue(std::vector<Buffer> messages) {
  NoteMessageProgress(!messages.empty());
  if (!messages.empty()) Deliver(std::move(messages));
  if (framer_->budget_wanted() > 0) {
    WaitForBudget();  // reading resumes in OnBudgetGranted
  } else {
    ReadMore();
  }
}

void Connection::NoteMessageProgress(bool completed) {
  if (!framer_->mid_message()) {
    partial_since_.store(0, std::memory_order_relaxed);
  } else if (completed || partial_since_.load(std::memory_order_relaxed) == 0) {
    // The partial message began in this read (after any that completed in it).
    partial_since_.store(server_.Now(), std::memory_order_relaxed);
  }
}

// The budget is full: stop reading (so this connection holds no more memory) until it lets the
// message grow. Waiting, rather than closing at once, lets a client through as soon as stalled
// messages give their bytes back (at the latest after message_timeout), while the queue keeps
// the order fair; a client that waits longer than message_timeout is closed by the sweeper.
void Connection::WaitForBudget() {
  auto self = this->self();
  uint64_t ticket = server_.budget().ReserveWhenAvailable(framer_->budget_wanted(), [self] {
    asio::post(self->strand_, [self] { self->OnBudgetGranted(); });
  });
  bool closed;
  {
    MutexLock lock(&mu_);
    closed = closed_;
    if (!closed) budget_ticket_ = ticket;
  }
  if (closed) server_.budget().Cancel(ticket);
}

void Connection::OnBudgetGranted() {
  {
    MutexLock lock(&mu_);
    budget_ticket_ = 0;
  }
  framer_->BudgetGranted();
  partial_since_.store(server_.Now(), std::memory_order_relaxed);  // the wait was not the client's
  std::vector<Buffer> messages;
  if (!FeedStaged(&messages)) return;
  Continue(std::move(messages));
}

void Connection::Deliver(std::vector<Buffer> messages) {
  const bool alone = messages.size() == 1;
  for (Buffer& message : messages) {
    if (transform_started_now_) {
      // Messages behind the one that started a transform came in plain after it.
      LOG_INFO("{}: closing connection from {}:{}: it sent more before the transform started",
               server_.name(), peer_address_, peer_port_);
      Close();
      break;
    }
    const size_t bytes = message.size();
    outstanding_.fetch_add(1);
    outstanding_bytes_.fetch_add(bytes);
    server_.in_flight.fetch_add(1);
    handler_->OnMessage(std::move(message),
                        StreamConnectionInternals::Make(shared_from_this(), bytes), alone);
  }
  transform_started_now_ = false;
}

void Connection::Finished(size_t bytes) {
  if (server_.in_flight.fetch_sub(1) == 1 && tls_io_server != &server_ &&
      server_.options().poll_window.count() > 0) {
    // The server went idle while its I/O thread sleeps (it does not poll while messages are in
    // flight). Wake it now, while the client is still busy with this answer, so that it polls
    // for the client's next message instead of being woken by it.
    asio::post(server_.io(), [] {});
  }
  last_activity_.store(server_.Now(), std::memory_order_relaxed);
  const StreamServerOptions& o = server_.options();
  size_t before = outstanding_.fetch_sub(1);
  size_t bytes_before = outstanding_bytes_.fetch_sub(bytes);
  // Only a message that takes the connection below a limit may have to resume reading; the
  // check runs on the strand, after any ReadMore that paused.
  if (before == o.max_outstanding_per_connection ||
      (bytes_before >= o.max_outstanding_bytes_per_connection &&
       bytes_before - bytes < o.max_outstanding_bytes_per_connection)) {
    asio::post(strand_, [self = self()] {
      if (self->reading_paused_.load(std::memory_order_relaxed) && !self->AtLimit()) {
        self->reading_paused_.store(false, std::memory_order_relaxed);
        // The time the server did not read does not count against a partial message.
        if (self->framer_->mid_message()) {
          self->partial_since_.store(self->server_.Now(), std::memory_order_relaxed);
        }
        self->ReadMore();
      }
    });
  }
}

template <typename Fn>
void Connection::ForEachUnsent(const Outgoing& o, Fn fn) {
  size_t skip = o.sent;
  auto piece = [&](const std::byte* data, size_t size) {
    if (skip >= size) {
      skip -= size;
      return true;
    }
    const std::byte* from = data + skip;
    skip = 0;
    return fn(from, size - static_cast<size_t>(from - data));
  };
  if (!piece(o.message->header.data(), o.message->header_size)) return;
  for (ByteView p : o.message->pieces) {
    if (!piece(p.data(), p.size())) return;
  }
}

bool Connection::SendNowLocked(Outgoing& o) {
  int fd = socket_.native_handle();
  while (o.sent < o.size) {
    iovec iov[64];
    size_t n = 0;
    ForEachUnsent(o, [&](const std::byte* data, size_t size) {
      iov[n++] = {const_cast<std::byte*>(data), size};
      return n < 64;
    });
    msghdr msg{};
    msg.msg_iov = iov;
    msg.msg_iovlen = n;
    ssize_t w = ::sendmsg(fd, &msg, MSG_DONTWAIT | MSG_NOSIGNAL);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return false;  // would block (or failed: the reader will see the close)
    o.sent += static_cast<size_t>(w);
  }
  return true;
}

void Connection::Send(std::unique_ptr<OutgoingMessage> message) {
  Outgoing out;
  out.size = message->header_size;
  for (ByteView piece : message->pieces) out.size += piece.size();
  out.message = std::move(message);
  MutexLock lock(&mu_);
  if (closed_) return;
  if (transform_) {
    if (!transform_->established()) {
      held_.push_back(std::move(out.message));
    } else if (!SendProtectedLocked(*out.message)) {
      LOG_WARN("{}: connection from {}: protecting a message failed", server_.name(),
               peer_address_);
    }
    return;
  }
  // Fast path: nothing queued, so write from this thread straight to the socket, and hand only
  // what the socket would not take to the I/O thread.
  if (!writing_ && out_queue_.empty() && SendNowLocked(out)) return;
  out_queue_.push_back(std::move(out));
  if (!writing_) WriteNextLocked();
}

void Connection::SendRawLocked(std::unique_ptr<OutgoingMessage> message) {
  Outgoing out;
  out.size = message->header_size;
  for (ByteView piece : message->pieces) out.size += piece.size();
  out.message = std::move(message);
  if (!writing_ && out_queue_.empty() && SendNowLocked(out)) return;
  out_queue_.push_back(std::move(out));
  if (!writing_) WriteNextLocked();
}

bool Connection::SendProtectedLocked(const OutgoingMessage& message) {
  // One buffer, so that a small header does not become a record of its own.
  std::vector<std::byte> plain;
  size_t size = message.header_size;
  for (ByteView piece : message.pieces) size += piece.size();
  plain.reserve(size);
  plain.insert(plain.end(), message.header.begin(), message.header.begin() + message.header_size);
  for (ByteView piece : message.pieces) plain.insert(plain.end(), piece.begin(), piece.end());
  std::vector<std::byte> wire;
  if (!transform_->Protect(ByteView(plain.data(), plain.size()), &wire).ok()) return false;
  SendRawLocked(std::make_unique<OwnedBytes>(std::move(wire)));
  return true;
}

void Connection::WriteNextLocked() {
  if (out_queue_.empty()) {
    writing_ = false;
    output_pending_.store(false, std::memory_order_relaxed);
    last_activity_.store(server_.Now(), std::memory_order_relaxed);
    return;
  }
  writing_ = true;
  output_pending_.store(true, std::memory_order_relaxed);
  // Gather several queued messages into one write.
  auto batch = std::make_shared<std::vector<Outgoing>>();
  std::vector<asio::const_buffer> buffers;
  size_t bytes = 0;
  while (!out_queue_.empty() && buffers.size() < 64 && bytes < (4u << 20)) {
    Outgoing o = std::move(out_queue_.front());
    out_queue_.pop_front();
    ForEachUnsent(o, [&](const std::byte* data, size_t size) {
      buffers.emplace_back(data, size);
      return true;
    });
    bytes += o.size - o.sent;
    batch->push_back(std::move(o));
  }
  auto self = this->self();
  asio::post(strand_, [self, batch, buffers = std::move(buffers)]() mutable {
    asio::async_write(
        self->socket_, buffers,
        asio::bind_executor(self->strand_, [self, batch](const asio::error_code& ec, size_t) {
          MutexLock lock(&self->mu_);
          if (ec) {
            self->out_queue_.clear();
            self->writing_ = false;
            self->output_pending_.store(false, std::memory_order_relaxed);
            return;
          }
          self->WriteNextLocked();
        }));
  });
}

Status Server::Listen() {
  asio::error_code ec;
  asio::ip::address addr = asio::ip::make_address(options_.bind_address, ec);
  if (ec) return Status(Errc::kInvalid, "bad bind address " + options_.bind_address);
  tcp::endpoint ep(addr, options_.port);
  acceptor_.open(ep.protocol(), ec);
  if (!ec) acceptor_.set_option(tcp::acceptor::reuse_address(true), ec);
  if (!ec) acceptor_.bind(ep, ec);
  if (!ec) acceptor_.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    return Status(Errc::kUnavailable, "listen on " + options_.bind_address + ":" +
                                          std::to_string(options_.port) + ": " + ec.message());
  }
  port_ = acceptor_.local_endpoint().port();
  UpdateNow();
  Accept();
  ArmSweep();
  for (size_t i = 0; i < std::max<size_t>(1, options_.io_threads); ++i) {
    io_threads_.emplace_back([this] { RunIo(); });
  }
  return Status::Ok();
}

void Server::RunIo() {
  NameThisThread("dfs-net");
  tls_io_server = this;
  const std::chrono::microseconds window = options_.poll_window;
  if (window.count() <= 0) {
    io_.run();
    return;
  }
  using Clock = std::chrono::steady_clock;
  for (;;) {
    // Poll while handlers keep coming, until `window` passes without one, or a message is in
    // flight (on a worker: its answer does not need this thread, and the worker needs the CPU
    // more; the worker wakes this thread again when it is done, see Connection::Finished).
    Clock::time_point until = Clock::now() + window;
    while (!io_.stopped()) {
      if (io_.poll() > 0) {
        until = Clock::now() + window;
        continue;
      }
      if (in_flight.load(std::memory_order_relaxed) > 0 || Clock::now() >= until) break;
      sched_yield();
    }
    // Sleep until the next handler; returns 0 once the context is stopped or out of work.
    if (io_.run_one() == 0) return;
  }
}

void Server::Accept() {
  acceptor_.async_accept([this](const asio::error_code& ec, tcp::socket socket) {
    if (ec) {
      if (ec == asio::error::operation_aborted) return;
      LOG_WARN("{}: accept failed: {}", name(), ec.message());
      Accept();
      return;
    }
    asio::error_code ignored;
    socket.set_option(tcp::no_delay(true), ignored);
    tcp::endpoint peer = socket.remote_endpoint(ignored);
    tcp::endpoint local = socket.local_endpoint(ignored);
    UpdateNow();  // the new connection's first activity
    Admit(std::make_shared<Connection>(*this, std::move(socket), peer.address().to_string(),
                                       peer.port(), local.address().to_string()));
    Accept();
  });
}

void Server::Admit(std::shared_ptr<Connection> conn) {
  // Before the connection is tracked, where the sweeper may ask its handler.
  conn->Open();
  int64_t now = Now();
  const std::string& address = conn->peer_address();
  std::shared_ptr<Connection> evicted;
  std::string refusal;
  {
    MutexLock lock(&mu_);
    auto peer = per_client_.find(address);
    if (peer != per_client_.end() && peer->second >= options_.max_connections_per_client) {
      refusal = fmt::format("{} connections from this address", peer->second);
    } else if (connections_.size() >= options_.max_connections) {
      evicted = TakeOldestIdleLocked(now);
      if (!evicted) refusal = fmt::format("{} connections open, none idle", connections_.size());
    }
    if (refusal.empty()) {
      connections_[conn.get()] = Tracked{conn, address, ++admitted_};
      ++per_client_[address];
    }
  }
  if (evicted) {
    LOG_INFO("{}: closing the connection from {} idle longest, to admit one from {}", name(),
             evicted->peer_address(), address);
    evicted->Close();
  }
  if (!refusal.empty()) {
    LOG_WARN("{}: refusing connection from {}: {}", name(), address, refusal);
    return;  // the socket closes with `conn`
  }
  conn->Start();
}

Server::ConnectionMap::iterator Server::EraseLocked(ConnectionMap::iterator it) {
  auto peer = per_client_.find(it->second.address);
  if (peer != per_client_.end() && --peer->second == 0) per_client_.erase(peer);
  return connections_.erase(it);
}

std::shared_ptr<Connection> Server::TakeOldestIdleLocked(int64_t now) {
  auto oldest = connections_.end();
  std::shared_ptr<Connection> chosen;
  // Now() moves in coarse steps, so ties are common: the connection admitted first wins them.
  std::pair<int64_t, uint64_t> oldest_key{now + 1, 0};
  for (auto it = connections_.begin(); it != connections_.end(); ++it) {
    std::shared_ptr<Connection> c = it->second.conn.lock();
    int64_t since;
    if (!c || !c->IdleSince(&since)) continue;
    std::pair<int64_t, uint64_t> key{since, it->second.admitted};
    if (key < oldest_key) {
      oldest = it;
      oldest_key = key;
      chosen = std::move(c);
    }
  }
  if (chosen) EraseLocked(oldest);
  return chosen;
}

int64_t Server::UpdateNow() {
  int64_t now = std::chrono::duration_cast<std::chrono::milliseconds>(
                    std::chrono::steady_clock::now() - start_)
                    .count() +
                1;
  now_.store(now, std::memory_order_relaxed);
  return now;
}

void Server::ArmSweep() {
  // Often enough that a timeout is late by at most an eighth of itself (and by at most a
  // second); a sweep walks the connections, so not more often than needed.
  auto shortest = options_.message_timeout;
  if (options_.idle_timeout.count() > 0) shortest = std::min(shortest, options_.idle_timeout);
  shortest = std::min(shortest, options_.handshake_timeout);
  auto period = std::clamp<std::chrono::milliseconds>(shortest / 8, std::chrono::milliseconds(5),
                                                      std::chrono::milliseconds(1000));
  sweep_timer_.expires_after(period);
  sweep_timer_.async_wait([this](const asio::error_code& ec) {
    if (!ec && !shut_down_.load()) Sweep();
  });
}

void Server::Sweep() {
  int64_t now = UpdateNow();
  std::vector<std::pair<std::shared_ptr<Connection>, Expiry>> expired;
  {
    MutexLock lock(&mu_);
    for (auto it = connections_.begin(); it != connections_.end();) {
      std::shared_ptr<Connection> c = it->second.conn.lock();
      Expiry why = c ? c->Expired(now) : Expiry::kNone;
      if (why == Expiry::kNone) {
        ++it;
        continue;
      }
      expired.emplace_back(std::move(c), why);
      it = EraseLocked(it);
    }
  }
  for (auto& [c, why] : expired) {
    if (why == Expiry::kIdle) {
      LOG_DEBUG("{}: closing idle connection from {}", name(), c->peer_address());
    } else if (why == Expiry::kStalledHandshake) {
      LOG_WARN("{}: closing connection from {}: its handshake did not finish within {} ms", name(),
               c->peer_address(), options_.handshake_timeout.count());
    } else {
      LOG_WARN("{}: closing connection from {}: a message was not received whole within {} ms",
               name(), c->peer_address(), options_.message_timeout.count());
    }
    c->Close();
  }
  ArmSweep();
}

void Server::Shutdown(std::chrono::milliseconds drain) {
  if (shut_down_.exchange(true)) return;
  asio::post(io_, [this] {
    asio::error_code ignored;
    acceptor_.close(ignored);
  });
  auto deadline = std::chrono::steady_clock::now() + drain;
  while (in_flight.load() > 0 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  std::vector<std::shared_ptr<Connection>> open;
  {
    MutexLock lock(&mu_);
    for (auto& [ptr, tracked] : connections_) {
      if (auto c = tracked.conn.lock()) open.push_back(std::move(c));
    }
    connections_.clear();
    per_client_.clear();
  }
  for (auto& c : open) c->Close();
  open.clear();
  work_guard_.reset();
  // Give the closes a moment to run, then stop the loop.
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  io_.stop();
  for (std::thread& t : io_threads_) t.join();
  io_threads_.clear();
}

}  // namespace

Result<std::unique_ptr<StreamServer>> StartStreamServer(const StreamServerOptions& options,
                                                        std::shared_ptr<StreamProtocol> protocol) {
  auto server = std::make_unique<Server>(options, std::move(protocol));
  RETURN_IF_ERROR(server->Listen());
  return std::unique_ptr<StreamServer>(std::move(server));
}

}  // namespace dittofs::net

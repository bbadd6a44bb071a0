// SPDX-License-Identifier: Apache-2.0
#include "rpc/tcp_server.h"

#include <sched.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include <algorithm>
#include <asio.hpp>
#include <atomic>
#include <cerrno>
#include <deque>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "base/log.h"
#include "base/mutex.h"
#include "base/thread_pool.h"
#include "net/stream/message_budget.h"
#include "rpc/call_table.h"
#include "rpc/record.h"

namespace dittofs::rpc {
namespace {

using asio::ip::tcp;

class Server;

// Why the sweeper closes a connection.
enum class Expiry { kNone, kIdle, kStalledRecord };

class ConnectionChannel;

// One client connection. Owned jointly by the pending asio operations and the worker tasks
// that will send its replies: whichever finishes last frees it, which is why it is a
// shared_ptr (enable_shared_from_this). Nothing else owns it, so it never outlives the
// server's io_context: handlers that keep its channel hold a ConnectionChannel, which holds
// the connection weakly.
class Connection final : public std::enable_shared_from_this<Connection> {
 public:
  Connection(Server& server, tcp::socket socket, ConnectionInfo info);
  ~Connection();
  void Start();
  // Closes the socket (from any thread); the pending read then ends the connection.
  void Close();
  // Queues a record (a reply, or a call of the backchannel) for sending; called from worker
  // threads.
  void SendReply(xdr::XdrEncoder reply);
  // The backchannel: a call to the client over this connection (see Channel::Call).
  void Call(const OutgoingCall& call, xdr::XdrEncoder args, ReplyCallback done);

  const std::string& peer_address() const { return info_.peer_address; }
  // Whether the sweeper should close this connection at `now` (Server::Now() time).
  // Reads only atomics, so any thread may ask.
  Expiry Expired(int64_t now) const;
  // When the connection had nothing in flight and fell silent; false if it is not idle.
  bool IdleSince(int64_t* since) const;

 private:
  // Makes (once) and returns the table of backchannel calls, or null once the connection is
  // closed.
  CallTable* Calls();
  // Sets the backchannel's timer to its earliest deadline; on strand_.
  void ArmCallTimer();

  struct Outgoing {
    std::byte mark[4];
    xdr::XdrEncoder body;
    size_t sent = 0;  // bytes already written by a direct send
  };
  // The reply's bytes not yet sent, as (pointer, length) pieces.
  static void Pieces(const Outgoing& o, std::vector<ByteView>* out);
  // Tries to send `o` at once from the calling thread without blocking; returns true when all
  // of it went out. REQUIRES: nothing else is being written.
  bool SendNowLocked(Outgoing& o) EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void ReadMore();
  void OnRead(const asio::error_code& ec, size_t n, bool direct);
  // Feeds the assembler what is left in staged_; false when the connection broke the rules
  // (it is then closed).
  bool FeedStaged(std::vector<Buffer>* records);
  // After input: dispatches completed records, then reads on or waits for the record budget.
  void Continue(std::vector<Buffer> records);
  // Keeps partial_since_ in step with the assembler; `completed`: a record ended just now.
  void NoteRecordProgress(bool completed);
  void WaitForBudget();
  void OnBudgetGranted();
  void Dispatch(std::vector<Buffer> records);
  void WriteNextLocked() EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Bookkeeping once a call's reply is on its way; `on_worker`: it ran on a worker thread;
  // `bytes`: the size of its record.
  void CallDone(bool on_worker, size_t bytes);
  // Whether the calls in flight are at a limit of TcpServerOptions (reading then pauses).
  bool AtLimit() const;

  Server& server_;
  tcp::socket socket_;
  asio::strand<asio::io_context::executor_type> strand_;
  ConnectionInfo info_;
  RecordAssembler assembler_;  // touched on strand_ only
  std::vector<std::byte> staging_;
  ByteView staged_;  // the part of staging_ not yet fed to the assembler; strand_ only

  Mutex mu_;
  std::deque<std::unique_ptr<Outgoing>> out_queue_ GUARDED_BY(mu_);
  bool writing_ GUARDED_BY(mu_) = false;
  bool closed_ GUARDED_BY(mu_) = false;
  // The MessageBudget request the assembler waits on; 0 when none.
  uint64_t budget_ticket_ GUARDED_BY(mu_) = 0;
  std::atomic<size_t> outstanding_{0};
  std::atomic<size_t> outstanding_bytes_{0};

  // For the sweeper, which reads them from another thread (Server::Now() times, relaxed: they
  // only need to be roughly current).
  std::atomic<bool> reading_paused_{false};  // max_outstanding reached; set on strand_ only
  std::atomic<bool> output_pending_{false};  // mirrors writing_
  std::atomic<int64_t> last_activity_;       // last bytes received or reply queued
  std::atomic<int64_t> partial_since_{0};    // when the partial record began; 0: none

  // The channel handlers see (info_.channel). Shared: handlers may keep it past the
  // connection's life, when its calls fail at once.
  std::shared_ptr<ConnectionChannel> channel_;
  // The backchannel, made by the first call the server sends over this connection, so that
  // connections that never carry one pay nothing for it (the read path loads one pointer).
  std::unique_ptr<CallTable> calls_ GUARDED_BY(mu_);
  std::atomic<CallTable*> calls_ptr_{nullptr};      // calls_.get(), for reading without mu_
  std::unique_ptr<asio::steady_timer> call_timer_;  // strand_ only
  std::optional<CallTable::Clock::time_point> call_timer_armed_;  // strand_ only
};

class Server final : public RpcTcpServer {
 public:
  Server(const TcpServerOptions& options, Dispatcher& dispatcher)
      : options_(options),
        dispatcher_(dispatcher),
        budget_(std::max(options.partial_record_budget, options.max_record_size)),
        acceptor_(io_),
        sweep_timer_(io_),
        workers_(options.worker_threads, options.running_workers, "dfs-rpc"),
        work_guard_(asio::make_work_guard(io_)) {}
  ~Server() override { Shutdown(std::chrono::milliseconds(2000)); }

  Status Listen();
  uint16_t port() const override { return port_; }
  void Shutdown(std::chrono::milliseconds drain) override;
  size_t connection_count() const override {
    MutexLock lock(&mu_);
    return connections_.size();
  }
  size_t partial_record_bytes() const override { return budget_.used(); }

  const TcpServerOptions& options() const { return options_; }
  Dispatcher& dispatcher() { return dispatcher_; }
  ThreadPool& workers() { return workers_; }
  asio::io_context& io() { return io_; }
  net::MessageBudget& budget() { return budget_; }
  // Milliseconds on a steady clock (never 0), as of the last sweep or accept: the data path
  // stamps connections with it instead of reading the clock for every read.
  int64_t Now() const { return now_.load(std::memory_order_relaxed); }
  void Forget(Connection* c) {
    MutexLock lock(&mu_);
    auto it = connections_.find(c);
    if (it != connections_.end()) EraseLocked(it);
  }
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
  // Closes idle connections and stalled records, then re-arms itself.
  void Sweep();
  void ArmSweep();
  // The I/O thread's loop: io_.run(), with the polling of TcpServerOptions::poll_window.
  void RunIo();

  TcpServerOptions options_;
  Dispatcher& dispatcher_;
  // Before io_: handlers still queued there when it is destroyed may own connections, whose
  // assemblers return their reservations here.
  net::MessageBudget budget_;
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

Connection::Connection(Server& server, tcp::socket socket, ConnectionInfo info)
    : server_(server),
      socket_(std::move(socket)),
      strand_(asio::make_strand(server.io())),
      info_(std::move(info)),
      assembler_(server.options().max_record_size, &server.budget()),
      staging_(64 * 1024),
      last_activity_(server.Now()) {}

// The Channel of a connection, as handlers see it and may keep it.
class ConnectionChannel final : public Channel {
 public:
  explicit ConnectionChannel(std::weak_ptr<Connection> connection)
      : connection_(std::move(connection)) {}
  void Call(const OutgoingCall& call, xdr::XdrEncoder args, ReplyCallback done) override {
    if (std::shared_ptr<Connection> c = connection_.lock()) {
      c->Call(call, std::move(args), std::move(done));
      return;
    }
    done(Status(Errc::kUnavailable, CallName(call) + ": the connection to the client closed"));
  }

 private:
  std::weak_ptr<Connection> connection_;
};

void Connection::Start() {
  // Before the first read, so every call sees it.
  channel_ = std::make_shared<ConnectionChannel>(weak_from_this());
  info_.channel = channel_.get();
  ReadMore();
}

Connection::~Connection() {
  // Calls still pending (none have a timer: it would hold the connection) fail now.
  if (CallTable* calls = calls_ptr_.load()) {
    calls->Close(Status(Errc::kUnavailable, "the connection to the client closed"));
  }
}

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
  // Backchannel calls can get no reply now. (calls_ is set under mu_ only before closed_.)
  if (CallTable* calls = calls_ptr_.load()) {
    calls->Close(Status(Errc::kUnavailable, "the connection to the client closed"));
  }
  asio::post(strand_, [self = shared_from_this()] {
    asio::error_code ignored;
    self->socket_.shutdown(tcp::socket::shutdown_both, ignored);
    self->socket_.close(ignored);
    if (self->call_timer_) self->call_timer_->cancel();
  });
}

CallTable* Connection::Calls() {
  if (CallTable* calls = calls_ptr_.load(std::memory_order_acquire)) return calls;
  MutexLock lock(&mu_);
  if (closed_) return nullptr;
  if (!calls_) {
    calls_ = std::make_unique<CallTable>();
    calls_ptr_.store(calls_.get(), std::memory_order_release);
  }
  return calls_.get();
}

void Connection::Call(const OutgoingCall& call, xdr::XdrEncoder args, ReplyCallback done) {
  CallTable* calls = Calls();
  if (calls == nullptr) {
    done(Status(Errc::kUnavailable, CallName(call) + ": the connection to the client closed"));
    return;
  }
  std::optional<xdr::XdrEncoder> record =
      calls->Start(call, std::move(args), CallTable::Clock::now() + call.timeout, std::move(done));
  if (!record) return;            // closed meanwhile: `done` has run
  SendReply(std::move(*record));  // dropped if the connection closes; Close fails the call
  asio::post(strand_, [self = shared_from_this()] { self->ArmCallTimer(); });
}

void Connection::ArmCallTimer() {
  CallTable* calls = calls_ptr_.load(std::memory_order_acquire);
  std::optional<CallTable::Clock::time_point> next = calls->NextDeadline();
  if (!next || (call_timer_armed_ && *call_timer_armed_ <= *next)) return;
  {
    MutexLock lock(&mu_);
    // Once closed, no timer: it would hold the connection alive until it fires.
    if (closed_) return;
  }
  if (!call_timer_) call_timer_ = std::make_unique<asio::steady_timer>(strand_);
  call_timer_armed_ = next;
  call_timer_->expires_at(*next);  // cancels the earlier wait
  call_timer_->async_wait([self = shared_from_this()](const asio::error_code& ec) {
    if (ec) return;  // re-armed or closed
    self->call_timer_armed_.reset();
    self->calls_ptr_.load(std::memory_order_acquire)->Expire(CallTable::Clock::now());
    self->ArmCallTimer();
  });
}

bool Connection::IdleSince(int64_t* since) const {
  if (outstanding_.load() != 0 || partial_since_.load(std::memory_order_relaxed) != 0 ||
      output_pending_.load(std::memory_order_relaxed)) {
    return false;
  }
  // A backchannel call awaits the client's reply (the sweeper asks; the data path does not).
  if (CallTable* calls = calls_ptr_.load(std::memory_order_acquire);
      calls != nullptr && calls->pending() > 0) {
    return false;
  }
  *since = last_activity_.load(std::memory_order_relaxed);
  return true;
}

Expiry Connection::Expired(int64_t now) const {
  const TcpServerOptions& o = server_.options();
  int64_t partial = partial_since_.load(std::memory_order_relaxed);
  if (partial != 0 && !reading_paused_.load(std::memory_order_relaxed) &&
      now - partial >= o.record_timeout.count()) {
    return Expiry::kStalledRecord;
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
    reading_paused_.store(true, std::memory_order_relaxed);  // resumed by CallDone
    return;
  }
  MutableByteView direct = assembler_.DirectTarget();
  auto self = shared_from_this();
  // Large fragment bodies are read straight into the record; everything else (headers, small
  // calls, several calls at once) through the staging buffer.
  if (direct.size() >= 16 * 1024) {
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
      LOG_DEBUG("rpc: connection from {}: read failed: {}", info_.peer_address, ec.message());
    }
    Close();
    server_.Forget(this);
    return;
  }
  last_activity_.store(server_.Now(), std::memory_order_relaxed);
  std::vector<Buffer> records;
  if (direct) {
    assembler_.CommitDirect(n, &records);
  } else {
    staged_ = ByteView(staging_.data(), n);
    if (!FeedStaged(&records)) return;
  }
  Continue(std::move(records));
}

bool Connection::FeedStaged(std::vector<Buffer>* records) {
  size_t consumed = 0;
  Status s = assembler_.Feed(staged_, records, &consumed);
  staged_ = staged_.subspan(consumed);
  if (!s.ok()) {
    LOG_WARN("rpc: closing connection from {}:{}: {}", info_.peer_address, info_.peer_port,
             s.ToString());
    Close();
    server_.Forget(this);
    return false;
  }
  return true;
}

void Connection::Continue(std::vector<Buffer> records) {
  NoteRecordProgress(!records.empty());
  if (!records.empty()) Dispatch(std::move(records));
  if (assembler_.budget_wanted() > 0) {
    WaitForBudget();  // reading resumes in OnBudgetGranted
  } else {
    ReadMore();
  }
}

void Connection::NoteRecordProgress(bool completed) {
  if (!assembler_.mid_message()) {
    partial_since_.store(0, std::memory_order_relaxed);
  } else if (completed || partial_since_.load(std::memory_order_relaxed) == 0) {
    // The partial record began in this read (after any that completed in it).
    partial_since_.store(server_.Now(), std::memory_order_relaxed);
  }
}

// The budget is full: stop reading (so this connection holds no more memory) until it lets the
// record grow. Waiting, rather than closing at once, lets a client through as soon as stalled
// records give their bytes back (at the latest after record_timeout), while the queue keeps
// the order fair; a client that waits longer than record_timeout is closed by the sweeper.
void Connection::WaitForBudget() {
  auto self = shared_from_this();
  uint64_t ticket = server_.budget().ReserveWhenAvailable(assembler_.budget_wanted(), [self] {
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
  assembler_.BudgetGranted();
  partial_since_.store(server_.Now(), std::memory_order_relaxed);  // the wait was not the client's
  std::vector<Buffer> records;
  if (!FeedStaged(&records)) return;
  Continue(std::move(records));
}

void Connection::Dispatch(std::vector<Buffer> records) {
  for (Buffer& record : records) {
    // A reply to a call of the backchannel: its completion runs here, on the I/O thread.
    // (Without a backchannel, replies go to the dispatcher, which drops them.)
    if (CallTable* calls = calls_ptr_.load(std::memory_order_acquire);
        calls != nullptr && IsReplyRecord(record.view())) {
      if (!calls->Complete(std::move(record))) {
        LOG_DEBUG("rpc: connection from {}: dropped a reply that matches no call",
                  info_.peer_address);
      }
      continue;
    }
    const size_t bytes = record.size();
    outstanding_.fetch_add(1);
    outstanding_bytes_.fetch_add(bytes);
    server_.in_flight.fetch_add(1);
    auto self = shared_from_this();
    if (server_.options().inline_fast_calls && records.size() == 1 &&
        server_.dispatcher().IsFast(record.view())) {
      // A quick metadata read: answer it here rather than wake a worker for it.
      xdr::XdrEncoder reply;
      if (server_.dispatcher().Handle(info_, record.view(), &reply)) {
        reply.Retain(std::move(record));
        SendReply(std::move(reply));
      }
      CallDone(false, bytes);
      continue;
    }
    server_.workers().Submit([self, bytes, record = std::move(record)]() mutable {
      xdr::XdrEncoder reply;
      if (self->server_.dispatcher().Handle(self->info_, record.view(), &reply)) {
        // The reply may borrow from the record (it never does today, but the contract
        // allows it), so the record travels with it.
        reply.Retain(std::move(record));
        self->SendReply(std::move(reply));
      }
      self->CallDone(true, bytes);
    });
  }
}

void Connection::CallDone(bool on_worker, size_t bytes) {
  if (server_.in_flight.fetch_sub(1) == 1 && on_worker &&
      server_.options().poll_window.count() > 0) {
    // The server went idle while its I/O thread sleeps (it does not poll while workers run
    // calls). Wake it now, while the client is still busy with this reply, so that it polls
    // for the client's next call instead of being woken by it.
    asio::post(server_.io(), [] {});
  }
  last_activity_.store(server_.Now(), std::memory_order_relaxed);
  const TcpServerOptions& o = server_.options();
  size_t before = outstanding_.fetch_sub(1);
  size_t bytes_before = outstanding_bytes_.fetch_sub(bytes);
  // Only a call that takes the connection below a limit may have to resume reading; the
  // check runs on the strand, after any ReadMore that paused.
  if (before == o.max_outstanding_per_connection ||
      (bytes_before >= o.max_outstanding_bytes_per_connection &&
       bytes_before - bytes < o.max_outstanding_bytes_per_connection)) {
    asio::post(strand_, [self = shared_from_this()] {
      if (self->reading_paused_.load(std::memory_order_relaxed) && !self->AtLimit()) {
        self->reading_paused_.store(false, std::memory_order_relaxed);
        // The time the server did not read does not count against a partial record.
        if (self->assembler_.mid_message()) {
          self->partial_since_.store(self->server_.Now(), std::memory_order_relaxed);
        }
        self->ReadMore();
      }
    });
  }
}

void Connection::Pieces(const Outgoing& o, std::vector<ByteView>* out) {
  size_t skip = o.sent;
  auto add = [&](ByteView v) {
    if (skip >= v.size()) {
      skip -= v.size();
      return;
    }
    out->push_back(v.subspan(skip));
    skip = 0;
  };
  add(ByteView(o.mark, 4));
  for (ByteView seg : o.body.Segments()) add(seg);
}

bool Connection::SendNowLocked(Outgoing& o) {
  std::vector<ByteView> pieces;
  Pieces(o, &pieces);
  size_t total = 4 + o.body.size();
  int fd = socket_.native_handle();
  while (o.sent < total) {
    iovec iov[64];
    size_t n = 0;
    for (; n < pieces.size() && n < 64; ++n) {
      iov[n].iov_base = const_cast<std::byte*>(pieces[n].data());
      iov[n].iov_len = pieces[n].size();
    }
    msghdr msg{};
    msg.msg_iov = iov;
    msg.msg_iovlen = n;
    ssize_t w = ::sendmsg(fd, &msg, MSG_DONTWAIT | MSG_NOSIGNAL);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return false;  // would block (or failed: the reader will see the close)
    o.sent += static_cast<size_t>(w);
    pieces.clear();
    Pieces(o, &pieces);
  }
  return true;
}

void Connection::SendReply(xdr::XdrEncoder reply) {
  auto out = std::make_unique<Outgoing>();
  EncodeRecordMark(static_cast<uint32_t>(reply.size()), out->mark);
  out->body = std::move(reply);
  MutexLock lock(&mu_);
  if (closed_) return;
  // Fast path: nothing queued, so write from this worker thread straight to the socket, and
  // hand only what the socket would not take to the I/O thread.
  if (!writing_ && out_queue_.empty() && SendNowLocked(*out)) return;
  out_queue_.push_back(std::move(out));
  if (!writing_) WriteNextLocked();
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
  // Gather several queued replies into one write.
  auto batch = std::make_shared<std::vector<std::unique_ptr<Outgoing>>>();
  std::vector<asio::const_buffer> buffers;
  size_t bytes = 0;
  while (!out_queue_.empty() && buffers.size() < 64 && bytes < (4u << 20)) {
    std::unique_ptr<Outgoing> o = std::move(out_queue_.front());
    out_queue_.pop_front();
    std::vector<ByteView> pieces;
    Pieces(*o, &pieces);
    for (ByteView p : pieces) buffers.emplace_back(p.data(), p.size());
    bytes += 4 + o->body.size() - o->sent;
    batch->push_back(std::move(o));
  }
  auto self = shared_from_this();
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
  const std::chrono::microseconds window = options_.poll_window;
  if (window.count() <= 0) {
    io_.run();
    return;
  }
  using Clock = std::chrono::steady_clock;
  for (;;) {
    // Poll while handlers keep coming, until `window` passes without one, or a call goes to a
    // worker (its reply does not need this thread, and the worker needs the CPU more; the
    // worker wakes this thread again when it is done, see CallDone).
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
      LOG_WARN("rpc: accept failed: {}", ec.message());
      Accept();
      return;
    }
    asio::error_code ignored;
    socket.set_option(tcp::no_delay(true), ignored);
    ConnectionInfo info;
    tcp::endpoint peer = socket.remote_endpoint(ignored);
    info.peer_address = peer.address().to_string();
    info.peer_port = peer.port();
    UpdateNow();  // the new connection's first activity
    Admit(std::make_shared<Connection>(*this, std::move(socket), std::move(info)));
    Accept();
  });
}

void Server::Admit(std::shared_ptr<Connection> conn) {
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
    LOG_INFO("rpc: closing the connection from {} idle longest, to admit one from {}",
             evicted->peer_address(), address);
    evicted->Close();
  }
  if (!refusal.empty()) {
    LOG_WARN("rpc: refusing connection from {}: {}", address, refusal);
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
  auto shortest = options_.record_timeout;
  if (options_.idle_timeout.count() > 0) shortest = std::min(shortest, options_.idle_timeout);
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
      LOG_DEBUG("rpc: closing idle connection from {}", c->peer_address());
    } else {
      LOG_WARN("rpc: closing connection from {}: a record was not received whole within {} ms",
               c->peer_address(), options_.record_timeout.count());
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

Result<std::unique_ptr<RpcTcpServer>> StartRpcTcpServer(const TcpServerOptions& options,
                                                        Dispatcher& dispatcher) {
  auto server = std::make_unique<Server>(options, dispatcher);
  RETURN_IF_ERROR(server->Listen());
  return std::unique_ptr<RpcTcpServer>(std::move(server));
}

}  // namespace dittofs::rpc

// SPDX-License-Identifier: Apache-2.0
#include "rpc/tcp_server.h"

#include <sched.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include <asio.hpp>
#include <atomic>
#include <cerrno>
#include <deque>
#include <thread>
#include <vector>

#include "base/log.h"
#include "base/mutex.h"
#include "base/thread_pool.h"
#include "rpc/record.h"

namespace dittofs::rpc {
namespace {

using asio::ip::tcp;

class Server;

// One client connection. Owned jointly by the pending asio operations and the worker tasks
// that will send its replies: whichever finishes last frees it, which is why it is a
// shared_ptr (enable_shared_from_this).
class Connection final : public std::enable_shared_from_this<Connection> {
 public:
  Connection(Server& server, tcp::socket socket, ConnectionInfo info);
  void Start() { ReadMore(); }
  void Close();
  // Queues a reply for sending; called from worker threads.
  void SendReply(xdr::XdrEncoder reply);

 private:
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
  RecordAssembler assembler_;
  std::vector<std::byte> staging_;
  bool reading_paused_ = false;  // touched on strand_ only

  Mutex mu_;
  std::deque<std::unique_ptr<Outgoing>> out_queue_ GUARDED_BY(mu_);
  bool writing_ GUARDED_BY(mu_) = false;
  bool closed_ GUARDED_BY(mu_) = false;
  std::atomic<size_t> outstanding_{0};
  std::atomic<size_t> outstanding_bytes_{0};
};

class Server final : public RpcTcpServer {
 public:
  Server(const TcpServerOptions& options, Dispatcher& dispatcher)
      : options_(options),
        dispatcher_(dispatcher),
        acceptor_(io_),
        workers_(options.worker_threads, options.running_workers, "dfs-rpc"),
        work_guard_(asio::make_work_guard(io_)) {}
  ~Server() override { Shutdown(std::chrono::milliseconds(2000)); }

  Status Listen();
  uint16_t port() const override { return port_; }
  void Shutdown(std::chrono::milliseconds drain) override;
  size_t connection_count() const override {
    MutexLock lock(const_cast<Mutex*>(&mu_));
    return connections_.size();
  }

  const TcpServerOptions& options() const { return options_; }
  Dispatcher& dispatcher() { return dispatcher_; }
  ThreadPool& workers() { return workers_; }
  asio::io_context& io() { return io_; }
  void Forget(Connection* c) {
    MutexLock lock(&mu_);
    connections_.erase(c);
  }
  std::atomic<size_t> in_flight{0};

 private:
  void Accept();
  // The I/O thread's loop: io_.run(), with the polling of TcpServerOptions::poll_window.
  void RunIo();

  TcpServerOptions options_;
  Dispatcher& dispatcher_;
  asio::io_context io_;
  tcp::acceptor acceptor_;
  ThreadPool workers_;
  asio::executor_work_guard<asio::io_context::executor_type> work_guard_;
  std::vector<std::thread> io_threads_;
  uint16_t port_ = 0;
  bool shut_down_ = false;

  Mutex mu_;
  // Weak so that a connection's lifetime is only its pending operations'.
  std::map<Connection*, std::weak_ptr<Connection>> connections_ GUARDED_BY(mu_);
};

Connection::Connection(Server& server, tcp::socket socket, ConnectionInfo info)
    : server_(server),
      socket_(std::move(socket)),
      strand_(asio::make_strand(server.io())),
      info_(std::move(info)),
      assembler_(server.options().max_record_size),
      staging_(64 * 1024) {}

void Connection::Close() {
  {
    MutexLock lock(&mu_);
    if (closed_) return;
    closed_ = true;
  }
  asio::post(strand_, [self = shared_from_this()] {
    asio::error_code ignored;
    self->socket_.shutdown(tcp::socket::shutdown_both, ignored);
    self->socket_.close(ignored);
  });
}

bool Connection::AtLimit() const {
  return outstanding_.load() >= server_.options().max_outstanding_per_connection ||
         outstanding_bytes_.load() >= server_.options().max_outstanding_bytes_per_connection;
}

void Connection::ReadMore() {
  if (AtLimit()) {
    reading_paused_ = true;  // resumed by CallDone
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
  std::vector<Buffer> records;
  if (direct) {
    assembler_.CommitDirect(n, &records);
  } else {
    Status s = assembler_.Feed(ByteView(staging_.data(), n), &records);
    if (!s.ok()) {
      LOG_WARN("rpc: closing connection from {}:{}: {}", info_.peer_address, info_.peer_port,
               s.ToString());
      Close();
      server_.Forget(this);
      return;
    }
  }
  if (!records.empty()) Dispatch(std::move(records));
  ReadMore();
}

void Connection::Dispatch(std::vector<Buffer> records) {
  for (Buffer& record : records) {
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
  const TcpServerOptions& o = server_.options();
  size_t before = outstanding_.fetch_sub(1);
  size_t bytes_before = outstanding_bytes_.fetch_sub(bytes);
  // Only a call that takes the connection below a limit may have to resume reading; the
  // check runs on the strand, after any ReadMore that paused.
  if (before == o.max_outstanding_per_connection ||
      (bytes_before >= o.max_outstanding_bytes_per_connection &&
       bytes_before - bytes < o.max_outstanding_bytes_per_connection)) {
    asio::post(strand_, [self = shared_from_this()] {
      if (self->reading_paused_ && !self->AtLimit()) {
        self->reading_paused_ = false;
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
    return;
  }
  writing_ = true;
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
  Accept();
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
    {
      MutexLock lock(&mu_);
      if (connections_.size() >= options_.max_connections) {
        LOG_WARN("rpc: refusing connection from {}: {} connections open", info.peer_address,
                 connections_.size());
        socket.close(ignored);
        Accept();
        return;
      }
    }
    auto conn = std::make_shared<Connection>(*this, std::move(socket), std::move(info));
    {
      MutexLock lock(&mu_);
      connections_[conn.get()] = conn;
    }
    conn->Start();
    Accept();
  });
}

void Server::Shutdown(std::chrono::milliseconds drain) {
  if (shut_down_) return;
  shut_down_ = true;
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
    for (auto& [ptr, weak] : connections_) {
      if (auto c = weak.lock()) open.push_back(std::move(c));
    }
    connections_.clear();
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

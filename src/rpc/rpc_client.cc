// SPDX-License-Identifier: Apache-2.0
#include "rpc/rpc_client.h"

#include <asio.hpp>
#include <deque>
#include <thread>
#include <vector>

#include "base/log.h"
#include "base/thread_pool.h"
#include "rpc/record.h"

namespace dittofs::rpc {

using asio::ip::tcp;
using Clock = CallTable::Clock;

struct ClientIo::State {
  asio::io_context io;
  asio::executor_work_guard<asio::io_context::executor_type> guard = asio::make_work_guard(io);
  std::thread thread;
};

ClientIo::ClientIo() : state_(std::make_shared<State>()) {
  state_->thread = std::thread([s = state_] {
    NameThisThread("dfs-rpc-client");
    s->io.run();
  });
}

ClientIo::~ClientIo() {
  // The clients are closed: their sockets and timers are, so what is pending ends at once, and
  // run() returns when nothing is left.
  state_->guard.reset();
  if (std::this_thread::get_id() == state_->thread.get_id()) {
    state_->thread.detach();  // the thread frees the state once run() returns
  } else {
    state_->thread.join();
  }
}

// The client's state. Everything but the table is touched on the I/O thread only (a ClientIo
// runs one thread, so its handlers never run concurrently).
struct RpcClient::Impl : std::enable_shared_from_this<RpcClient::Impl> {
  enum class State { kIdle, kConnecting, kConnected, kClosed };
  struct Outgoing {
    uint32_t xid;
    std::byte mark[4];
    xdr::XdrEncoder body;
  };

  Impl(const RpcClientOptions& o, asio::io_context& io)
      : options(o),
        io(io),
        socket(io),
        resolver(io),
        connect_timer(io),
        deadline_timer(io),
        staging(64 * 1024) {}

  void Enqueue(std::unique_ptr<Outgoing> out, Clock::time_point deadline);
  void Connect();
  void OnConnected();
  // The connection failed or closed: every pending call fails with `why`.
  void Disconnect(const Status& why);
  // A connect failed: as Disconnect, and the next connect waits (RpcClientOptions).
  void ConnectFailed(const Status& why);
  void ReadMore();
  void WriteNext();
  void ArmDeadline(Clock::time_point deadline);
  void OnDeadline();
  void CloseOnIo();
  std::string Peer() const { return options.host + ":" + std::to_string(options.port); }

  const RpcClientOptions options;
  CallTable table;
  asio::io_context& io;
  tcp::socket socket;
  tcp::resolver resolver;
  asio::steady_timer connect_timer;
  asio::steady_timer deadline_timer;
  std::optional<Clock::time_point> armed;  // deadline_timer's expiry, when it waits
  State state = State::kIdle;
  uint64_t generation = 0;  // of the connection: handlers of an earlier one do nothing
  std::unique_ptr<RecordAssembler> assembler;
  std::vector<std::byte> staging;
  std::deque<std::unique_ptr<Outgoing>> queue;  // front() is being written when `writing`
  bool writing = false;
  // After failed connects: the current wait, and when the next connect may start.
  std::chrono::milliseconds reconnect_wait{0};
  Clock::time_point reconnect_at{};
};

std::shared_ptr<RpcClient> RpcClient::Create(const RpcClientOptions& options, ClientIo* io) {
  std::unique_ptr<ClientIo> own;
  if (io == nullptr) {
    own = std::make_unique<ClientIo>();
    io = own.get();
  }
  auto impl = std::make_shared<Impl>(options, io->state().io);
  return std::make_shared<RpcClient>(std::move(own), std::move(impl));
}

RpcClient::RpcClient(std::unique_ptr<ClientIo> own_io, std::shared_ptr<Impl> impl)
    : own_io_(std::move(own_io)), impl_(std::move(impl)) {}

RpcClient::~RpcClient() { Close(); }

void RpcClient::Call(const OutgoingCall& call, xdr::XdrEncoder args, ReplyCallback done) {
  // Approximate under races (two calls may both pass), which is all a bound needs.
  if (impl_->table.pending() >= impl_->options.max_pending) {
    done(Status(Errc::kBusy,
                fmt::format("{}: {} calls already wait for replies from {}", CallName(call),
                            impl_->options.max_pending, impl_->Peer())));
    return;
  }
  Clock::time_point deadline = Clock::now() + call.timeout;
  std::optional<xdr::XdrEncoder> record =
      impl_->table.Start(call, std::move(args), deadline, std::move(done));
  if (!record) return;  // closed: `done` has run
  auto out = std::make_unique<Impl::Outgoing>();
  out->xid = LoadBe32(record->Segments().front().data());
  EncodeRecordMark(static_cast<uint32_t>(record->size()), out->mark);
  out->body = std::move(*record);
  asio::post(impl_->io, [impl = impl_, out = std::move(out), deadline]() mutable {
    impl->Enqueue(std::move(out), deadline);
  });
}

void RpcClient::Close() {
  impl_->table.Close(Status(Errc::kUnavailable, "the client is closed"));
  asio::post(impl_->io, [impl = impl_] { impl->CloseOnIo(); });
}

void RpcClient::Impl::CloseOnIo() {
  if (state == State::kClosed) return;
  state = State::kClosed;
  ++generation;
  asio::error_code ignored;
  resolver.cancel();
  socket.close(ignored);
  connect_timer.cancel();
  deadline_timer.cancel();
  queue.clear();
}

void RpcClient::Impl::Enqueue(std::unique_ptr<Outgoing> out, Clock::time_point deadline) {
  // A call failed before it got here (a connection failed, or the client closed) is not sent.
  if (state == State::kClosed || !table.IsPending(out->xid)) return;
  if (state == State::kIdle && Clock::now() < reconnect_at) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(reconnect_at - Clock::now());
    table.Fail(out->xid, Status(Errc::kUnavailable,
                                fmt::format("{} is unreachable; the next connect is in {} ms",
                                            Peer(), left.count())));
    return;
  }
  ArmDeadline(deadline);
  queue.push_back(std::move(out));
  if (state == State::kIdle) {
    Connect();
  } else if (state == State::kConnected && !writing) {
    WriteNext();
  }
}

void RpcClient::Impl::Connect() {
  state = State::kConnecting;
  uint64_t gen = ++generation;
  auto self = shared_from_this();
  connect_timer.expires_after(options.connect_timeout);
  connect_timer.async_wait([self, gen](const asio::error_code& ec) {
    if (ec || gen != self->generation || self->state != State::kConnecting) return;
    self->ConnectFailed(
        Status(Errc::kUnavailable, fmt::format("connect to {} timed out after {} ms", self->Peer(),
                                               self->options.connect_timeout.count())));
  });
  resolver.async_resolve(
      options.host, std::to_string(options.port),
      [self, gen](const asio::error_code& ec, tcp::resolver::results_type endpoints) {
        if (gen != self->generation) return;
        if (ec) {
          self->ConnectFailed(Status(Errc::kUnavailable,
                                     fmt::format("resolve {}: {}", self->Peer(), ec.message())));
          return;
        }
        asio::async_connect(
            self->socket, endpoints, [self, gen](const asio::error_code& ec, const tcp::endpoint&) {
              if (gen != self->generation) return;
              if (ec) {
                self->ConnectFailed(
                    Status(Errc::kUnavailable,
                           fmt::format("connect to {}: {}", self->Peer(), ec.message())));
                return;
              }
              self->OnConnected();
            });
      });
}

void RpcClient::Impl::OnConnected() {
  connect_timer.cancel();
  state = State::kConnected;
  reconnect_wait = std::chrono::milliseconds(0);
  reconnect_at = {};
  asio::error_code ignored;
  socket.set_option(tcp::no_delay(true), ignored);
  assembler = std::make_unique<RecordAssembler>(options.max_record_size);
  ReadMore();
  if (!writing) WriteNext();
}

void RpcClient::Impl::Disconnect(const Status& why) {
  if (state == State::kClosed) return;
  LOG_DEBUG("rpc client: {}", why.ToString());
  state = State::kIdle;
  ++generation;  // the handlers still pending on the old socket end without effect
  asio::error_code ignored;
  resolver.cancel();
  socket.close(ignored);
  connect_timer.cancel();
  queue.clear();
  writing = false;
  // The next call connects afresh.
  table.FailAll(why);
}

void RpcClient::Impl::ConnectFailed(const Status& why) {
  reconnect_wait = reconnect_wait.count() == 0
                       ? options.reconnect_initial
                       : std::min(reconnect_wait * 2, options.reconnect_max);
  reconnect_at = Clock::now() + reconnect_wait;
  Disconnect(why);
}

void RpcClient::Impl::ReadMore() {
  auto self = shared_from_this();
  uint64_t gen = generation;
  socket.async_read_some(
      asio::buffer(staging.data(), staging.size()),
      [self, gen](const asio::error_code& ec, size_t n) {
        if (gen != self->generation) return;
        if (ec) {
          self->Disconnect(Status(Errc::kUnavailable, fmt::format("connection to {} closed: {}",
                                                                  self->Peer(), ec.message())));
          return;
        }
        std::vector<Buffer> records;
        Status s = self->assembler->Feed(ByteView(self->staging.data(), n), &records);
        // Replies that came whole before a framing error are still delivered.
        for (Buffer& record : records) {
          if (!self->table.Complete(std::move(record))) {
            LOG_DEBUG("rpc client: {}: dropped a reply that matches no pending call", self->Peer());
          }
        }
        if (gen != self->generation) return;  // a completion closed the client
        if (!s.ok()) {
          self->Disconnect(Status(Errc::kUnavailable,
                                  fmt::format("reply from {}: {}", self->Peer(), s.ToString())));
          return;
        }
        self->ReadMore();
      });
}

void RpcClient::Impl::WriteNext() {
  if (queue.empty()) {
    writing = false;
    return;
  }
  writing = true;
  Outgoing& out = *queue.front();
  std::vector<asio::const_buffer> buffers;
  buffers.emplace_back(out.mark, 4);
  for (ByteView seg : out.body.Segments()) buffers.emplace_back(seg.data(), seg.size());
  auto self = shared_from_this();
  uint64_t gen = generation;
  asio::async_write(socket, buffers, [self, gen](const asio::error_code& ec, size_t) {
    if (gen != self->generation) return;
    if (ec) {
      self->Disconnect(
          Status(Errc::kUnavailable, fmt::format("send to {}: {}", self->Peer(), ec.message())));
      return;
    }
    self->queue.pop_front();
    self->WriteNext();
  });
}

void RpcClient::Impl::ArmDeadline(Clock::time_point deadline) {
  if (armed && *armed <= deadline) return;
  armed = deadline;
  deadline_timer.expires_at(deadline);  // cancels the earlier wait
  deadline_timer.async_wait([self = shared_from_this()](const asio::error_code& ec) {
    if (ec) return;  // re-armed or closed
    self->OnDeadline();
  });
}

void RpcClient::Impl::OnDeadline() {
  armed.reset();
  if (state == State::kClosed) return;
  table.Expire(Clock::now());
  if (std::optional<Clock::time_point> next = table.NextDeadline()) ArmDeadline(*next);
}

}  // namespace dittofs::rpc

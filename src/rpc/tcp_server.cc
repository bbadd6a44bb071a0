// SPDX-License-Identifier: Apache-2.0
#include "rpc/tcp_server.h"

#include <algorithm>
#include <atomic>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "base/log.h"
#include "base/mutex.h"
#include "net/stream/stream_server.h"
#include "rpc/call_table.h"
#include "rpc/record.h"
#include "rpc/tls_probe.h"

namespace dittofs::rpc {
namespace {

// A record to send (a reply, or a call of the backchannel) with its record mark.
struct OutgoingRecord final : net::OutgoingMessage {
  explicit OutgoingRecord(xdr::XdrEncoder record) : body(std::move(record)) {
    EncodeRecordMark(static_cast<uint32_t>(body.size()), header.data());
    header_size = 4;
    pieces = body.Segments();
  }
  xdr::XdrEncoder body;
};

class Session;

// The Channel of a connection, as handlers see it and may keep it.
class ConnectionChannel final : public Channel {
 public:
  ConnectionChannel(std::weak_ptr<net::StreamConnection> connection, Session& session)
      : connection_(std::move(connection)), session_(session) {}
  void Call(const OutgoingCall& call, xdr::XdrEncoder args, ReplyCallback done) override;

 private:
  std::weak_ptr<net::StreamConnection> connection_;
  Session& session_;  // the connection's handler: valid while connection_ can be locked
};

// ONC RPC on one connection: dispatches its calls and routes the replies to the calls the
// server sent over it (the backchannel).
class Session final : public net::StreamHandler {
 public:
  Session(net::StreamConnection& connection, Dispatcher& dispatcher, bool inline_fast_calls,
          const std::function<std::unique_ptr<net::StreamTransform>()>& start_tls)
      : connection_(connection),
        dispatcher_(dispatcher),
        inline_fast_calls_(inline_fast_calls),
        start_tls_(start_tls) {
    info_.peer_address = connection.peer_address();
    info_.peer_port = connection.peer_port();
    info_.local_address = connection.local_address();
    // Before the first call, so every call sees it.
    channel_ = std::make_shared<ConnectionChannel>(connection.weak_from_this(), *this);
    info_.channel = channel_.get();
  }
  ~Session() override {
    // Calls still pending (none have a timer: it would hold the connection) fail now.
    if (CallTable* calls = calls_ptr_.load()) {
      calls->Close(Status(Errc::kUnavailable, "the connection to the client closed"));
    }
  }

  void OnMessage(Buffer record, net::InFlight in_flight, bool alone) override;
  void OnClose() override {
    {
      MutexLock lock(&mu_);
      closed_ = true;
    }
    // Backchannel calls can get no reply now. (calls_ is set under mu_ only before closed_.)
    if (CallTable* calls = calls_ptr_.load()) {
      calls->Close(Status(Errc::kUnavailable, "the connection to the client closed"));
    }
  }
  void OnWake() override;
  bool AwaitsPeer() const override {
    CallTable* calls = calls_ptr_.load(std::memory_order_acquire);
    return calls != nullptr && calls->pending() > 0;
  }

  // The backchannel: a call to the client over this connection (see Channel::Call).
  void Call(const OutgoingCall& call, xdr::XdrEncoder args, ReplyCallback done);

 private:
  void Send(xdr::XdrEncoder record) {
    connection_.Send(std::make_unique<OutgoingRecord>(std::move(record)));
  }
  // Makes (once) and returns the table of backchannel calls, or null once the connection is
  // closed.
  CallTable* Calls();
  // Answers the RFC 9289 probe and starts TLS when `record` is one and TLS is offered.
  bool StartedTls(const Buffer& record);
  // What calls over TLS see; made on the I/O strand by the first of them (the handshake is done
  // by then), never changed after.
  const ConnectionInfo& TlsInfo();

  net::StreamConnection& connection_;
  Dispatcher& dispatcher_;
  const bool inline_fast_calls_;
  const std::function<std::unique_ptr<net::StreamTransform>()>& start_tls_;  // the Protocol's
  ConnectionInfo info_;
  bool tls_started_ = false;  // I/O strand only
  std::unique_ptr<ConnectionInfo> tls_info_;
  // The channel handlers see (info_.channel). Shared: handlers may keep it past the
  // connection's life, when its calls fail at once.
  std::shared_ptr<ConnectionChannel> channel_;

  Mutex mu_;
  bool closed_ GUARDED_BY(mu_) = false;
  // The backchannel, made by the first call the server sends over this connection, so that
  // connections that never carry one pay nothing for it (the read path loads one pointer).
  std::unique_ptr<CallTable> calls_ GUARDED_BY(mu_);
  std::atomic<CallTable*> calls_ptr_{nullptr};  // calls_.get(), for reading without mu_
};

void ConnectionChannel::Call(const OutgoingCall& call, xdr::XdrEncoder args, ReplyCallback done) {
  if (std::shared_ptr<net::StreamConnection> c = connection_.lock()) {
    session_.Call(call, std::move(args), std::move(done));
    return;
  }
  done(Status(Errc::kUnavailable, CallName(call) + ": the connection to the client closed"));
}

bool Session::StartedTls(const Buffer& record) {
  uint32_t xid;
  if (tls_started_ || !start_tls_ || !IsTlsProbe(record.view(), &xid)) return false;
  std::unique_ptr<net::StreamTransform> tls = start_tls_();
  if (!tls) return false;  // no certificate: the dispatcher refuses the probe
  xdr::XdrEncoder reply;
  EncodeStartTlsReply(reply, xid);
  Send(std::move(reply));  // in plain: the transform starts with what comes after
  tls_started_ = true;
  connection_.StartTransform(std::move(tls));
  LOG_DEBUG("rpc: connection from {}: STARTTLS", info_.peer_address);
  return true;
}

const ConnectionInfo& Session::TlsInfo() {
  if (!tls_info_) {
    net::TransportSecurity security = connection_.security();
    tls_info_ = std::make_unique<ConnectionInfo>(info_);
    tls_info_->tls = security.secured;
    tls_info_->tls_peer_subject = std::move(security.peer_subject);
  }
  return *tls_info_;
}

void Session::OnMessage(Buffer record, net::InFlight in_flight, bool alone) {
  // A reply to a call of the backchannel: its completion runs here, on the I/O thread.
  // (Without a backchannel, replies go to the dispatcher, which drops them.)
  if (CallTable* calls = calls_ptr_.load(std::memory_order_acquire);
      calls != nullptr && IsReplyRecord(record.view())) {
    if (!calls->Complete(std::move(record))) {
      LOG_DEBUG("rpc: connection from {}: dropped a reply that matches no call",
                info_.peer_address);
    }
    return;
  }
  if (StartedTls(record)) return;
  const ConnectionInfo* info = tls_started_ ? &TlsInfo() : &info_;
  if (inline_fast_calls_ && alone && dispatcher_.IsFast(record.view())) {
    // A quick metadata read: answer it here rather than wake a worker for it.
    xdr::XdrEncoder reply;
    if (dispatcher_.Handle(*info, record.view(), &reply)) {
      reply.Retain(std::move(record));
      Send(std::move(reply));
    }
    return;  // `in_flight` ends after the reply is on its way
  }
  // `in_flight` keeps the connection, and so this session, alive until the task ends.
  connection_.RunOnWorker(
      [this, info, in_flight = std::move(in_flight), record = std::move(record)]() mutable {
        net::InFlight done = std::move(in_flight);  // ends with this body, after the reply
        xdr::XdrEncoder reply;
        if (dispatcher_.Handle(*info, record.view(), &reply)) {
          // The reply may borrow from the record (it never does today, but the contract
          // allows it), so the record travels with it.
          reply.Retain(std::move(record));
          Send(std::move(reply));
        }
      });
}

CallTable* Session::Calls() {
  if (CallTable* calls = calls_ptr_.load(std::memory_order_acquire)) return calls;
  MutexLock lock(&mu_);
  if (closed_) return nullptr;
  if (!calls_) {
    calls_ = std::make_unique<CallTable>();
    calls_ptr_.store(calls_.get(), std::memory_order_release);
  }
  return calls_.get();
}

void Session::Call(const OutgoingCall& call, xdr::XdrEncoder args, ReplyCallback done) {
  CallTable* calls = Calls();
  if (calls == nullptr) {
    done(Status(Errc::kUnavailable, CallName(call) + ": the connection to the client closed"));
    return;
  }
  const CallTable::Clock::time_point deadline = CallTable::Clock::now() + call.timeout;
  std::optional<xdr::XdrEncoder> record =
      calls->Start(call, std::move(args), deadline, std::move(done));
  if (!record) return;       // closed meanwhile: `done` has run
  Send(std::move(*record));  // dropped if the connection closes; OnClose fails the call
  connection_.WakeBy(deadline);
}

void Session::OnWake() {
  CallTable* calls = calls_ptr_.load(std::memory_order_acquire);
  calls->Expire(CallTable::Clock::now());
  if (std::optional<CallTable::Clock::time_point> next = calls->NextDeadline()) {
    connection_.WakeBy(*next);
  }
}

class Protocol final : public net::StreamProtocol {
 public:
  Protocol(const TcpServerOptions& options, Dispatcher& dispatcher)
      : max_record_size_(options.max_record_size),
        inline_fast_calls_(options.inline_fast_calls),
        start_tls_(options.start_tls),
        dispatcher_(dispatcher) {}
  std::unique_ptr<net::StreamFramer> NewFramer(net::MessageBudget& budget) override {
    return std::make_unique<RecordAssembler>(max_record_size_, &budget);
  }
  std::unique_ptr<net::StreamHandler> NewHandler(net::StreamConnection& connection) override {
    return std::make_unique<Session>(connection, dispatcher_, inline_fast_calls_, start_tls_);
  }

 private:
  const size_t max_record_size_;
  const bool inline_fast_calls_;
  const std::function<std::unique_ptr<net::StreamTransform>()> start_tls_;
  Dispatcher& dispatcher_;
};

}  // namespace

Result<std::unique_ptr<net::StreamServer>> StartRpcTcpServer(const TcpServerOptions& options,
                                                             Dispatcher& dispatcher) {
  net::StreamServerOptions s = options.stream;
  // A record as large as allowed must be able to wait for its bytes.
  s.partial_message_budget = std::max(s.partial_message_budget, options.max_record_size);
  s.name = "rpc";
  return net::StartStreamServer(s, std::make_shared<Protocol>(options, dispatcher));
}

}  // namespace dittofs::rpc

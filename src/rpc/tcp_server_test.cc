// SPDX-License-Identifier: Apache-2.0
#include "rpc/tcp_server.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <ctime>
#include <mutex>
#include <thread>

#include "rpc/blocking_client.h"
#include "rpc/record.h"
#include "testing/status_matchers.h"

namespace dittofs::rpc {
namespace {

constexpr uint32_t kProg = 200001;

// Test calls: program kProg, AUTH_NONE, one u32 argument.
std::string Call(uint32_t xid, uint32_t proc, uint32_t arg) {
  xdr::XdrEncoder e;
  Credential c;
  EncodeCallHeader(e, xid, kProg, 1, proc, c);
  e.U32(arg);
  return e.ToString();
}

BlockingClient Connect(uint16_t port) {
  auto c = BlockingClient::Connect(port);
  CHECK(c.ok()) << c.status().ToString();
  return std::move(c).value();
}

uint32_t Xid(const Result<std::string>& reply) {
  if (!reply.ok() || reply->size() < 4) return 0xffffffff;
  return LoadBe32(reinterpret_cast<const std::byte*>(reply->data()));
}

// Program kProg version 1: proc 0 is NULL (marked fast, so it runs on the I/O thread); proc 1
// sleeps for its argument's milliseconds, then echoes it.
void AddTestProgram(Dispatcher& dispatcher) {
  ProgramVersion v{kProg, 1, {}};
  v.procedures.resize(2);
  v.procedures[0] = {
      "NULL",
      [](const CallContext&, xdr::XdrDecoder&, xdr::XdrEncoder&) { return AcceptStat::kSuccess; },
      /*cached=*/false,
      /*fast=*/true};  // runs on the I/O thread
  // proc 1: sleeps for arg milliseconds, then echoes the argument.
  v.procedures[1] = {"SLEEP", [](const CallContext&, xdr::XdrDecoder& a, xdr::XdrEncoder& r) {
                       uint32_t ms = a.U32();
                       if (!a.ok()) return AcceptStat::kGarbageArgs;
                       std::this_thread::sleep_for(std::chrono::milliseconds(ms));
                       r.U32(ms);
                       return AcceptStat::kSuccess;
                     }};
  dispatcher.Add(v);
  dispatcher.AddAuthFlavor(AuthFlavor::kNone, AuthNone);
}

// Every test runs with the I/O thread sleeping at once, and with it polling for a while first.
class TcpServerTest : public ::testing::TestWithParam<std::chrono::microseconds> {
 protected:
  void SetUp() override {
    AddTestProgram(dispatcher_);
    TcpServerOptions o;
    o.stream.bind_address = "127.0.0.1";
    o.stream.port = 0;
    o.max_record_size = 64 * 1024;
    o.stream.max_connections = 4;
    o.stream.worker_threads = 4;
    o.stream.poll_window = GetParam();
    auto s = StartRpcTcpServer(o, dispatcher_);
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    server_ = std::move(s).value();
  }

  Dispatcher dispatcher_;
  std::unique_ptr<net::StreamServer> server_;
};

TEST_P(TcpServerTest, RepliesAsCallsCompleteNotInOrder) {
  BlockingClient c = Connect(server_->port());
  ASSERT_OK(c.SendRaw(BlockingClient::Fragment(Call(1, 1, 300), true) +
                      BlockingClient::Fragment(Call(2, 1, 0), true)));
  EXPECT_EQ(Xid(c.ReadRecord()), 2u);  // the fast call overtakes the slow one
  EXPECT_EQ(Xid(c.ReadRecord()), 1u);
}

TEST_P(TcpServerTest, ReassemblesMultiFragmentCalls) {
  BlockingClient c = Connect(server_->port());
  std::string call = Call(9, 1, 0);
  ASSERT_OK(c.SendRaw(BlockingClient::Fragment(call.substr(0, 10), false) +
                      BlockingClient::Fragment(call.substr(10, 7), false) +
                      BlockingClient::Fragment(call.substr(17), true)));
  EXPECT_EQ(Xid(c.ReadRecord()), 9u);
}

TEST_P(TcpServerTest, HostileFramingClosesOnlyThatConnection) {
  BlockingClient good = Connect(server_->port());
  BlockingClient bad = Connect(server_->port());
  std::byte m[4];
  StoreBe32(m, 0x7fffffff | kLastFragment);  // 2 GiB fragment
  ASSERT_OK(bad.SendRaw(std::string(AsChars(ByteView(m, 4)))));
  EXPECT_TRUE(bad.SeesEof());
  // Garbage that is not a call is dropped without a reply; the connection stays usable.
  ASSERT_OK(
      good.SendRaw(BlockingClient::Fragment("\x00\x00\x00\x01\x00\x00\x00\x07garbage!", true)));
  ASSERT_OK(good.SendRaw(BlockingClient::Fragment(Call(5, 0, 0), true)));
  EXPECT_EQ(Xid(good.ReadRecord()), 5u);
}

TEST_P(TcpServerTest, RefusesConnectionsOverTheLimitWhenNoneIsIdle) {
  std::vector<std::unique_ptr<BlockingClient>> clients;
  for (uint32_t i = 0; i < 4; ++i) {
    clients.push_back(std::make_unique<BlockingClient>(Connect(server_->port())));
    ASSERT_OK(clients.back()->SendRaw(BlockingClient::Fragment(Call(i, 0, 0), true)));
    ASSERT_TRUE(clients.back()->ReadRecord().ok());
    // A call in flight: the connection is not idle, so it cannot make room for another.
    ASSERT_OK(clients.back()->SendRaw(BlockingClient::Fragment(Call(10 + i, 1, 800), true)));
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(100));  // the calls have arrived
  BlockingClient extra = Connect(server_->port());
  EXPECT_TRUE(extra.SeesEof());
  for (uint32_t i = 0; i < 4; ++i) EXPECT_EQ(Xid(clients[i]->ReadRecord()), 10 + i);
  clients.clear();
  // Once others leave, new connections are served again.
  for (int attempt = 0; attempt < 100 && server_->connection_count() > 0; ++attempt) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  BlockingClient later = Connect(server_->port());
  ASSERT_OK(later.SendRaw(BlockingClient::Fragment(Call(77, 0, 0), true)));
  EXPECT_EQ(Xid(later.ReadRecord()), 77u);
}

TEST_P(TcpServerTest, ShutdownFinishesCallsInFlight) {
  BlockingClient c = Connect(server_->port());
  ASSERT_OK(c.SendRaw(BlockingClient::Fragment(Call(11, 1, 200), true)));
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  std::thread stopper([&] { server_->Shutdown(std::chrono::milliseconds(5000)); });
  Result<std::string> reply = c.ReadRecord();
  stopper.join();
  EXPECT_EQ(Xid(reply), 11u);
}

TEST_P(TcpServerTest, AnIdleServerUsesNoCpu) {
  BlockingClient c = Connect(server_->port());
  for (uint32_t xid = 1; xid <= 200; ++xid) {  // a burst, on the I/O thread and on workers,
    ASSERT_OK(c.SendRaw(BlockingClient::Fragment(Call(xid, xid % 2, 0), true)));
    ASSERT_EQ(Xid(c.ReadRecord()), xid);
  }  // then silence
  auto cpu = [] {
    timespec ts{};
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return double(ts.tv_sec) + double(ts.tv_nsec) / 1e9;
  };
  std::this_thread::sleep_for(std::chrono::milliseconds(5));  // any polling ends long before
  double before = cpu();
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  EXPECT_LT(cpu() - before, 0.03) << "the I/O thread kept polling with nothing to do";
  // And it still answers.
  ASSERT_OK(c.SendRaw(BlockingClient::Fragment(Call(500, 0, 0), true)));
  EXPECT_EQ(Xid(c.ReadRecord()), 500u);
}

// Reading pauses while the calls in flight hold max_outstanding_bytes_per_connection bytes of
// records: the client's further calls wait in TCP, not in the server's memory and queue.
TEST(TcpServerBackpressureTest, ReadingPausesAtTheOutstandingByteBudget) {
  std::atomic<int> started{0};
  std::mutex mu;
  std::condition_variable cv;
  bool open = false;
  Dispatcher dispatcher(64);
  ProgramVersion v{kProg, 1, {}};
  v.procedures.resize(1);
  v.procedures[0] = {"HOLD", [&](const CallContext&, xdr::XdrDecoder&, xdr::XdrEncoder&) {
                       started.fetch_add(1);
                       std::unique_lock<std::mutex> lock(mu);
                       cv.wait(lock, [&] { return open; });
                       return AcceptStat::kSuccess;
                     }};
  dispatcher.Add(v);
  dispatcher.AddAuthFlavor(AuthFlavor::kNone, AuthNone);
  TcpServerOptions o;
  o.stream.bind_address = "127.0.0.1";
  o.stream.port = 0;
  o.max_record_size = 64 * 1024;
  o.stream.worker_threads = 32;  // enough to start every call at once, were they all read
  o.stream.max_outstanding_bytes_per_connection = 4 * 32 * 1024;
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<net::StreamServer> server, StartRpcTcpServer(o, dispatcher));
  BlockingClient c = Connect(server->port());
  std::string calls;
  for (uint32_t xid = 1; xid <= 20; ++xid) {
    std::string call = Call(xid, 0, 0);
    calls += BlockingClient::Fragment(call + std::string(32 * 1024 - call.size(), '\0'), true);
  }
  ASSERT_OK(c.SendRaw(calls));
  for (int i = 0; i < 200 && started.load() < 4; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(200));  // time to read more, were it to
  // 4 records reach the budget; one read may bring in a record or two more.
  EXPECT_GE(started.load(), 4);
  EXPECT_LE(started.load(), 6);
  {
    std::lock_guard<std::mutex> lock(mu);
    open = true;
  }
  cv.notify_all();
  for (int i = 0; i < 20; ++i) EXPECT_TRUE(c.ReadRecord().ok()) << "reply " << i;
  EXPECT_EQ(started.load(), 20);
}

// The limits on connections and on records, with their timeouts shortened.
class TcpServerLimitsTest : public ::testing::Test {
 protected:
  void SetUp() override { AddTestProgram(dispatcher_); }

  void Start(TcpServerOptions o) {
    o.stream.bind_address = "127.0.0.1";
    o.stream.port = 0;
    o.stream.worker_threads = 4;
    auto s = StartRpcTcpServer(o, dispatcher_);
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    server_ = std::move(s).value();
  }

  // A new connection that has had one call answered, so the server has surely admitted it.
  std::unique_ptr<BlockingClient> Served(uint32_t xid) {
    auto c = std::make_unique<BlockingClient>(Connect(server_->port()));
    EXPECT_OK(c->SendRecord(Call(xid, 0, 0)));
    EXPECT_EQ(Xid(c->ReadRecord()), xid);
    return c;
  }

  void WaitForConnectionCount(size_t n) {
    for (int i = 0; i < 300 && server_->connection_count() != n; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    ASSERT_EQ(server_->connection_count(), n);
  }

  Dispatcher dispatcher_;
  std::unique_ptr<net::StreamServer> server_;
};

using Clock = std::chrono::steady_clock;

double SecondsSince(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

TEST_F(TcpServerLimitsTest, IdleConnectionIsClosedAfterTheIdleTimeout) {
  TcpServerOptions o;
  o.stream.idle_timeout = std::chrono::milliseconds(300);
  Start(o);
  auto start = Clock::now();
  std::unique_ptr<BlockingClient> idle = Served(1);
  // A connection whose call runs past the timeout has something in flight: it stays open.
  std::unique_ptr<BlockingClient> busy = Served(2);
  ASSERT_OK(busy->SendRecord(Call(3, 1, 700)));
  EXPECT_TRUE(idle->SeesEof(3000));
  EXPECT_GE(SecondsSince(start), 0.2);
  EXPECT_EQ(Xid(busy->ReadRecord()), 3u);
}

TEST_F(TcpServerLimitsTest, PerClientCapRefusesTheNextConnection) {
  TcpServerOptions o;
  o.stream.max_connections = 16;
  o.stream.max_connections_per_client = 3;
  Start(o);
  std::vector<std::unique_ptr<BlockingClient>> clients;
  for (uint32_t i = 0; i < 3; ++i) clients.push_back(Served(i));
  BlockingClient extra = Connect(server_->port());
  EXPECT_TRUE(extra.SeesEof(3000));
  for (uint32_t i = 0; i < 3; ++i) {  // the others are untouched
    ASSERT_OK(clients[i]->SendRecord(Call(20 + i, 0, 0)));
    EXPECT_EQ(Xid(clients[i]->ReadRecord()), 20 + i);
  }
  // When one leaves, the address may connect again.
  clients.pop_back();
  WaitForConnectionCount(2);
  Served(30);
}

TEST_F(TcpServerLimitsTest, AtTheGlobalCapTheOldestIdleConnectionMakesRoom) {
  TcpServerOptions o;
  o.stream.max_connections = 3;
  Start(o);
  // The oldest connection is busy; of the idle ones, `b` is the older.
  std::unique_ptr<BlockingClient> busy = Served(1);
  ASSERT_OK(busy->SendRecord(Call(2, 1, 800)));
  std::unique_ptr<BlockingClient> b = Served(3);
  std::unique_ptr<BlockingClient> c = Served(4);
  std::this_thread::sleep_for(std::chrono::milliseconds(50));  // the slow call has arrived
  std::unique_ptr<BlockingClient> newcomer = Served(5);
  EXPECT_TRUE(b->SeesEof(3000));
  EXPECT_EQ(Xid(busy->ReadRecord()), 2u);
  ASSERT_OK(c->SendRecord(Call(6, 0, 0)));
  EXPECT_EQ(Xid(c->ReadRecord()), 6u);
  EXPECT_EQ(server_->connection_count(), 3u);
}

TEST_F(TcpServerLimitsTest, StalledHalfRecordIsDroppedAfterTheRecordTimeout) {
  TcpServerOptions o;
  o.stream.message_timeout = std::chrono::milliseconds(300);
  Start(o);
  auto start = Clock::now();
  BlockingClient stalled = Connect(server_->port());
  std::byte mark[4];
  StoreBe32(mark, 100 | kLastFragment);
  ASSERT_OK(stalled.SendRaw(std::string(AsChars(ByteView(mark, 4))) + "0123456789"));
  EXPECT_TRUE(stalled.SeesEof(3000));
  EXPECT_GE(SecondsSince(start), 0.2);

  // A client that keeps sending is never cut, even when every read ends inside a record: each
  // record has the whole timeout to itself.
  std::unique_ptr<BlockingClient> steady = Served(1);
  std::string pending;
  for (uint32_t xid = 10; xid < 20; ++xid) {
    std::string call = BlockingClient::Fragment(Call(xid, 0, 0), true);
    ASSERT_OK(steady->SendRaw(pending + call.substr(0, 10)));
    pending = call.substr(10);
    std::this_thread::sleep_for(std::chrono::milliseconds(60));
    if (xid > 10) {
      EXPECT_EQ(Xid(steady->ReadRecord()), xid - 1);
    }
  }
  ASSERT_OK(steady->SendRaw(pending));
  EXPECT_EQ(Xid(steady->ReadRecord()), 19u);
}

TEST_F(TcpServerLimitsTest, PartialRecordsStayWithinTheGlobalBudget) {
  constexpr size_t kBudget = 1 << 20;
  constexpr size_t kRecord = 900 * 1024;  // two of them need more than the budget
  TcpServerOptions o;
  o.max_record_size = 1 << 20;
  o.stream.partial_message_budget = kBudget;
  Start(o);
  // `hog` announces a large record, sends a little of it, and stalls.
  BlockingClient hog = Connect(server_->port());
  std::byte mark[4];
  StoreBe32(mark, kRecord | kLastFragment);
  ASSERT_OK(hog.SendRaw(std::string(AsChars(ByteView(mark, 4))) + std::string(1000, 'h')));
  for (int i = 0; i < 300 && server_->partial_message_bytes() == 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ASSERT_GT(server_->partial_message_bytes(), 0u);

  // `writer` sends a whole large record; it must wait for the budget.
  BlockingClient writer = Connect(server_->port());
  std::string call = Call(7, 0, 0);
  call.resize(kRecord, 'w');  // NULL ignores what follows its arguments
  std::thread sender([&] { EXPECT_OK(writer.SendRaw(BlockingClient::Fragment(call, true))); });
  EXPECT_EQ(writer.ReadRecord(500).status().code(), Errc::kBusy) << "no reply while waiting";
  EXPECT_LE(server_->partial_message_bytes(), kBudget);

  // The stalled record goes; the waiting one gets its bytes and its reply.
  { BlockingClient gone = std::move(hog); }
  EXPECT_EQ(Xid(writer.ReadRecord(5000)), 7u);
  sender.join();
  EXPECT_LE(server_->partial_message_bytes(), kBudget);
  for (int i = 0; i < 300 && server_->partial_message_bytes() != 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_EQ(server_->partial_message_bytes(), 0u);
}

INSTANTIATE_TEST_SUITE_P(PollWindow, TcpServerTest,
                         ::testing::Values(std::chrono::microseconds(0),
                                           std::chrono::microseconds(50)),
                         [](const auto& info) {
                           return info.param.count() == 0 ? std::string("NoPolling")
                                                          : std::string("Polling");
                         });

}  // namespace
}  // namespace dittofs::rpc

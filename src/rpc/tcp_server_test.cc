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

// Every test runs with the I/O thread sleeping at once, and with it polling for a while first.
class TcpServerTest : public ::testing::TestWithParam<std::chrono::microseconds> {
 protected:
  void SetUp() override {
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
    dispatcher_.Add(v);
    TcpServerOptions o;
    o.bind_address = "127.0.0.1";
    o.port = 0;
    o.max_record_size = 64 * 1024;
    o.max_connections = 4;
    o.worker_threads = 4;
    o.poll_window = GetParam();
    auto s = StartRpcTcpServer(o, dispatcher_);
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    server_ = std::move(s).value();
  }

  Dispatcher dispatcher_;
  std::unique_ptr<RpcTcpServer> server_;
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

TEST_P(TcpServerTest, RefusesConnectionsOverTheLimit) {
  std::vector<std::unique_ptr<BlockingClient>> clients;
  for (int i = 0; i < 4; ++i) {
    clients.push_back(std::make_unique<BlockingClient>(Connect(server_->port())));
    ASSERT_OK(clients.back()->SendRaw(BlockingClient::Fragment(Call(i, 0, 0), true)));
    ASSERT_TRUE(clients.back()->ReadRecord().ok());
  }
  BlockingClient extra = Connect(server_->port());
  EXPECT_TRUE(extra.SeesEof());
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
TEST(TcpServerLimitsTest, ReadingPausesAtTheOutstandingByteBudget) {
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
  TcpServerOptions o;
  o.bind_address = "127.0.0.1";
  o.port = 0;
  o.max_record_size = 64 * 1024;
  o.worker_threads = 32;  // enough to start every call at once, were they all read
  o.max_outstanding_bytes_per_connection = 4 * 32 * 1024;
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<RpcTcpServer> server, StartRpcTcpServer(o, dispatcher));
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

INSTANTIATE_TEST_SUITE_P(PollWindow, TcpServerTest,
                         ::testing::Values(std::chrono::microseconds(0),
                                           std::chrono::microseconds(50)),
                         [](const auto& info) {
                           return info.param.count() == 0 ? std::string("NoPolling")
                                                          : std::string("Polling");
                         });

}  // namespace
}  // namespace dittofs::rpc

// SPDX-License-Identifier: Apache-2.0
#include "rpc/udp_server.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <string>

#include "rpc/message.h"
#include "testing/status_matchers.h"

namespace dittofs::rpc {
namespace {

constexpr uint32_t kProg = 200001;

class RpcUdpServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ProgramVersion v1{kProg, 1, {}};
    v1.procedures.resize(2);
    v1.procedures[0] = {"NULL", [](const CallContext&, xdr::XdrDecoder&, xdr::XdrEncoder&) {
                          return AcceptStat::kSuccess;
                        }};
    // A non-idempotent counter: a retransmission must get the cached reply.
    v1.procedures[1] = {"BUMP",
                        [this](const CallContext& c, xdr::XdrDecoder&, xdr::XdrEncoder& r) {
                          r.U32(++bumps_);
                          r.U32(c.cred.uid);
                          return AcceptStat::kSuccess;
                        },
                        true};
    dispatcher_.Add(v1);
    dispatcher_.AddAuthFlavor(AuthFlavor::kNone, AuthNone);
    dispatcher_.AddAuthFlavor(AuthFlavor::kSys, AuthSys);
    net::DatagramServerOptions o;
    o.bind_address = "127.0.0.1";
    auto server = StartRpcUdpServer(o, dispatcher_);
    ASSERT_TRUE(server.ok()) << server.status().ToString();
    server_ = std::move(server).value();
    fd_ = socket(AF_INET, SOCK_DGRAM, 0);
    to_.sin_family = AF_INET;
    to_.sin_port = htons(server_->port());
    to_.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  }
  void TearDown() override { close(fd_); }

  void Send(const std::string& datagram) {
    ASSERT_EQ(sendto(fd_, datagram.data(), datagram.size(), 0, reinterpret_cast<sockaddr*>(&to_),
                     sizeof(to_)),
              ssize_t(datagram.size()));
  }
  // The reply's 32-bit words, or none after `timeout_ms`.
  std::vector<uint32_t> Receive(int timeout_ms = 5000) {
    pollfd p{fd_, POLLIN, 0};
    if (poll(&p, 1, timeout_ms) <= 0) return {};
    char buf[70000];
    ssize_t n = recv(fd_, buf, sizeof(buf), 0);
    std::vector<uint32_t> words;
    for (ssize_t i = 0; i + 4 <= n; i += 4) {
      words.push_back(LoadBe32(reinterpret_cast<const std::byte*>(buf + i)));
    }
    return words;
  }
  static std::string CallBytes(uint32_t xid, uint32_t proc, uint32_t uid) {
    Credential c;
    c.flavor = AuthFlavor::kSys;
    c.uid = uid;
    c.machine_name = "client";
    xdr::XdrEncoder e;
    EncodeCallHeader(e, xid, kProg, 1, proc, c);
    return e.ToString();
  }

  Dispatcher dispatcher_;
  std::atomic<uint32_t> bumps_{0};
  std::unique_ptr<net::DatagramServer> server_;
  int fd_ = -1;
  sockaddr_in to_{};
};

// Accepted reply words: xid, REPLY, MSG_ACCEPTED, verf flavor, verf length, accept_stat, body.
TEST_F(RpcUdpServerTest, CallsAreAnsweredOneDatagramEach) {
  Send(CallBytes(41, 0, 7));
  std::vector<uint32_t> r = Receive();
  ASSERT_EQ(r.size(), 6u);
  EXPECT_EQ(r[0], 41u);
  EXPECT_EQ(r[1], 1u);
  EXPECT_EQ(r[5], 0u);  // SUCCESS
  Send(CallBytes(42, 1, 1234));
  r = Receive();
  ASSERT_EQ(r.size(), 8u);
  EXPECT_EQ(r[6], 1u);
  EXPECT_EQ(r[7], 1234u);
}

TEST_F(RpcUdpServerTest, ARetransmissionGetsTheCachedReply) {
  Send(CallBytes(77, 1, 5));
  std::vector<uint32_t> first = Receive();
  Send(CallBytes(77, 1, 5));  // the same xid again: the client timed out and resent
  std::vector<uint32_t> again = Receive();
  ASSERT_EQ(first.size(), 8u);
  EXPECT_EQ(again, first);
  EXPECT_EQ(bumps_.load(), 1u);
}

TEST_F(RpcUdpServerTest, GarbageIsAnsweredOrDroppedNeverFatal) {
  Send("");
  Send(std::string("\x00\x00\x00\x01", 4));  // a bare xid
  Send(std::string(3, '\xff'));              // not even a word
  Send(CallBytes(5, 0, 1).substr(0, 20));    // a truncated header
  Send(CallBytes(6, 9, 1));                  // no such procedure
  std::vector<uint32_t> r;
  for (int i = 0; i < 5; ++i) {
    std::vector<uint32_t> w = Receive(300);
    if (!w.empty() && w[0] == 6) r = w;
  }
  ASSERT_GE(r.size(), 6u);
  EXPECT_EQ(r[5], 3u);  // PROC_UNAVAIL
  // Still serving.
  Send(CallBytes(8, 0, 1));
  std::vector<uint32_t> ok = Receive();
  ASSERT_FALSE(ok.empty());
  EXPECT_EQ(ok[0], 8u);
}

}  // namespace
}  // namespace dittofs::rpc

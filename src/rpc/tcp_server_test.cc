// SPDX-License-Identifier: Apache-2.0
#include "rpc/tcp_server.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <thread>

#include "rpc/record.h"

namespace dittofs::rpc {
namespace {

constexpr uint32_t kProg = 200001;

// A blocking test client speaking record marking over a real socket.
class Client {
 public:
  explicit Client(uint16_t port) {
    fd_ = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    connected_ = connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0;
  }
  ~Client() { close(fd_); }
  bool connected() const { return connected_; }

  void SendRaw(const std::string& bytes) {
    size_t off = 0;
    while (off < bytes.size()) {
      ssize_t n = write(fd_, bytes.data() + off, bytes.size() - off);
      if (n <= 0) return;
      off += n;
    }
  }
  static std::string Frag(const std::string& body, bool last) {
    std::byte m[4];
    StoreBe32(m, static_cast<uint32_t>(body.size()) | (last ? kLastFragment : 0));
    return std::string(AsChars(ByteView(m, 4))) + body;
  }
  static std::string Call(uint32_t xid, uint32_t proc, uint32_t arg) {
    xdr::XdrEncoder e;
    Credential c;
    EncodeCallHeader(e, xid, kProg, 1, proc, c);
    e.U32(arg);
    return e.ToString();
  }
  // Reads one record; empty on EOF or after `timeout_ms`.
  std::string ReadRecord(int timeout_ms = 5000) {
    std::string record;
    for (;;) {
      std::string mark = ReadN(4, timeout_ms);
      if (mark.size() < 4) return "";
      uint32_t h = LoadBe32(reinterpret_cast<const std::byte*>(mark.data()));
      record += ReadN(h & ~kLastFragment, timeout_ms);
      if (h & kLastFragment) return record;
    }
  }
  // True when the server closed the connection.
  bool SeesEof(int timeout_ms = 5000) {
    pollfd p{fd_, POLLIN, 0};
    if (poll(&p, 1, timeout_ms) <= 0) return false;
    char c;
    return read(fd_, &c, 1) == 0;
  }

 private:
  std::string ReadN(size_t n, int timeout_ms) {
    std::string out;
    while (out.size() < n) {
      pollfd p{fd_, POLLIN, 0};
      if (poll(&p, 1, timeout_ms) <= 0) return out;
      char buf[65536];
      ssize_t r = read(fd_, buf, std::min(sizeof(buf), n - out.size()));
      if (r <= 0) return out;
      out.append(buf, r);
    }
    return out;
  }
  int fd_;
  bool connected_ = false;
};

uint32_t Xid(const std::string& reply) {
  return LoadBe32(reinterpret_cast<const std::byte*>(reply.data()));
}

class TcpServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ProgramVersion v{kProg, 1, {}};
    v.procedures.resize(2);
    v.procedures[0] = {"NULL", [](const CallContext&, xdr::XdrDecoder&, xdr::XdrEncoder&) {
                          return AcceptStat::kSuccess;
                        }};
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
    auto s = StartRpcTcpServer(o, dispatcher_);
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    server_ = std::move(s).value();
  }

  Dispatcher dispatcher_;
  std::unique_ptr<RpcTcpServer> server_;
};

TEST_F(TcpServerTest, RepliesAsCallsCompleteNotInOrder) {
  Client c(server_->port());
  ASSERT_TRUE(c.connected());
  c.SendRaw(Client::Frag(Client::Call(1, 1, 300), true) + Client::Frag(Client::Call(2, 1, 0), true));
  EXPECT_EQ(Xid(c.ReadRecord()), 2u);  // the fast call overtakes the slow one
  EXPECT_EQ(Xid(c.ReadRecord()), 1u);
}

TEST_F(TcpServerTest, ReassemblesMultiFragmentCalls) {
  Client c(server_->port());
  std::string call = Client::Call(9, 1, 0);
  c.SendRaw(Client::Frag(call.substr(0, 10), false) + Client::Frag(call.substr(10, 7), false) +
            Client::Frag(call.substr(17), true));
  std::string reply = c.ReadRecord();
  ASSERT_GE(reply.size(), 4u);
  EXPECT_EQ(Xid(reply), 9u);
}

TEST_F(TcpServerTest, HostileFramingClosesOnlyThatConnection) {
  Client good(server_->port());
  Client bad(server_->port());
  std::byte m[4];
  StoreBe32(m, 0x7fffffff | kLastFragment);  // 2 GiB fragment
  bad.SendRaw(std::string(AsChars(ByteView(m, 4))));
  EXPECT_TRUE(bad.SeesEof());
  // Garbage that is not a call is dropped without a reply; the connection stays usable.
  good.SendRaw(Client::Frag("\x00\x00\x00\x01\x00\x00\x00\x07garbage!", true));
  good.SendRaw(Client::Frag(Client::Call(5, 0, 0), true));
  EXPECT_EQ(Xid(good.ReadRecord()), 5u);
}

TEST_F(TcpServerTest, RefusesConnectionsOverTheLimit) {
  std::vector<std::unique_ptr<Client>> clients;
  for (int i = 0; i < 4; ++i) {
    clients.push_back(std::make_unique<Client>(server_->port()));
    clients.back()->SendRaw(Client::Frag(Client::Call(i, 0, 0), true));
    ASSERT_FALSE(clients.back()->ReadRecord().empty());
  }
  Client extra(server_->port());
  EXPECT_TRUE(extra.SeesEof());
  clients.clear();
  // Once others leave, new connections are served again.
  for (int attempt = 0; attempt < 100 && server_->connection_count() > 0; ++attempt) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  Client later(server_->port());
  later.SendRaw(Client::Frag(Client::Call(77, 0, 0), true));
  EXPECT_EQ(Xid(later.ReadRecord()), 77u);
}

TEST_F(TcpServerTest, ShutdownFinishesCallsInFlight) {
  Client c(server_->port());
  c.SendRaw(Client::Frag(Client::Call(11, 1, 200), true));
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  std::thread stopper([&] { server_->Shutdown(std::chrono::milliseconds(5000)); });
  std::string reply = c.ReadRecord();
  stopper.join();
  ASSERT_FALSE(reply.empty());
  EXPECT_EQ(Xid(reply), 11u);
}

}  // namespace
}  // namespace dittofs::rpc

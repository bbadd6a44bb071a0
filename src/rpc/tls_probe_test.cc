// SPDX-License-Identifier: Apache-2.0
// RFC 9289's probe: its detection and reply, the Dispatcher's answer to an AUTH_TLS it cannot
// honour, and the switch of a TCP connection to a transform after STARTTLS (with a toy transform:
// the TLS itself is net/tls's, tested there and in tests/integration/nfs_tls_test.cc).
#include "rpc/tls_probe.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <thread>

#include "rpc/blocking_client.h"
#include "rpc/dispatch.h"
#include "rpc/record.h"
#include "rpc/tcp_server.h"
#include "testing/status_matchers.h"

namespace dittofs::rpc {
namespace {

constexpr uint32_t kProg = 100003;

std::string Bytes(std::initializer_list<uint32_t> words) {
  std::string s;
  for (uint32_t w : words) {
    std::byte b[4];
    StoreBe32(b, w);
    s.append(reinterpret_cast<const char*>(b), 4);
  }
  return s;
}

// The probe as RFC 9289 §4.1 has a client send it: NULL of NFS v3, AUTH_TLS with an empty
// body, AUTH_NONE verifier.
std::string Probe(uint32_t xid) { return Bytes({xid, 0, 2, kProg, 3, 0, 7, 0, 0, 0}); }

ByteView View(const std::string& s) { return AsBytes(s); }

TEST(TlsProbeTest, RecognisesTheProbe) {
  uint32_t xid = 0;
  EXPECT_TRUE(IsTlsProbe(View(Probe(0x1234)), &xid));
  EXPECT_EQ(xid, 0x1234u);
  // Any program's NULL: MOUNT's too.
  EXPECT_TRUE(IsTlsProbe(View(Bytes({5, 0, 2, 100005, 3, 0, 7, 0, 0, 0})), &xid));
}

TEST(TlsProbeTest, RefusesLookAlikes) {
  uint32_t xid = 0;
  // Not NULL; AUTH_SYS; a credential body; a verifier other than AUTH_NONE; a REPLY; RPC v3.
  EXPECT_FALSE(IsTlsProbe(View(Bytes({1, 0, 2, kProg, 3, 1, 7, 0, 0, 0})), &xid));
  EXPECT_FALSE(IsTlsProbe(View(Bytes({1, 0, 2, kProg, 3, 0, 1, 0, 0, 0})), &xid));
  EXPECT_FALSE(IsTlsProbe(View(Bytes({1, 0, 2, kProg, 3, 0, 7, 4, 0xabcd, 0, 0})), &xid));
  EXPECT_FALSE(IsTlsProbe(View(Bytes({1, 0, 2, kProg, 3, 0, 7, 0, 6, 0})), &xid));
  EXPECT_FALSE(IsTlsProbe(View(Bytes({1, 1, 2, kProg, 3, 0, 7, 0, 0, 0})), &xid));
  EXPECT_FALSE(IsTlsProbe(View(Bytes({1, 0, 3, kProg, 3, 0, 7, 0, 0, 0})), &xid));
}

TEST(TlsProbeTest, TruncatedAndHostileInputsAreNoProbe) {
  std::string probe = Probe(9);
  uint32_t xid = 0;
  for (size_t n = 0; n < probe.size(); ++n) {
    EXPECT_FALSE(IsTlsProbe(View(probe.substr(0, n)), &xid)) << n;
  }
  // A verifier length that runs past the end.
  EXPECT_FALSE(IsTlsProbe(View(Bytes({1, 0, 2, kProg, 3, 0, 7, 0, 0, 0xffffffff})), &xid));
  std::string noise(40, '\xff');
  EXPECT_FALSE(IsTlsProbe(View(noise), &xid));
}

TEST(TlsProbeTest, StartTlsReplyBytes) {
  xdr::XdrEncoder e;
  EncodeStartTlsReply(e, 0x1234);
  // xid, REPLY, MSG_ACCEPTED, AUTH_NONE, opaque<8> "STARTTLS", SUCCESS.
  EXPECT_EQ(e.ToString(), Bytes({0x1234, 1, 0, 0, 8}) + "STARTTLS" + Bytes({0}));
}

// A Dispatcher with NFS v3's NULL and a procedure 1 whose handler refuses as too weak.
class DispatcherTlsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ProgramVersion v{kProg, 3, {}};
    v.procedures.resize(2);
    v.procedures[0] = {"NULL", [](const CallContext&, xdr::XdrDecoder&, xdr::XdrEncoder&) {
                         return AcceptStat::kSuccess;
                       }};
    v.procedures[1] = {"NEEDS_TLS",
                       [](const CallContext& call, xdr::XdrDecoder&, xdr::XdrEncoder& r) {
                         if (!call.tls) *call.denied = AuthStat::kTooWeak;
                         r.U32(42);
                         return AcceptStat::kSuccess;
                       }};
    dispatcher_.Add(v);
    dispatcher_.AddAuthFlavor(AuthFlavor::kNone, AuthNone);
    dispatcher_.AddAuthFlavor(AuthFlavor::kSys, AuthSys);
  }
  ReplyHeader Handle(const ConnectionInfo& conn, const std::string& record,
                     uint32_t* result = nullptr) {
    xdr::XdrEncoder reply;
    EXPECT_TRUE(dispatcher_.Handle(conn, View(record), &reply));
    reply_ = reply.ToString();
    xdr::XdrDecoder d(View(reply_));
    ReplyHeader h;
    EXPECT_TRUE(DecodeReplyHeader(d, &h));
    if (result != nullptr && h.accepted) *result = d.U32();
    return h;
  }
  Dispatcher dispatcher_;
  std::string reply_;
};

TEST_F(DispatcherTlsTest, AProbeTheTransportDidNotTakeIsABadCredential) {
  ReplyHeader h = Handle(ConnectionInfo{}, Probe(3));
  EXPECT_FALSE(h.accepted);
  EXPECT_EQ(h.auth_stat, AuthStat::kBadCred);
}

TEST_F(DispatcherTlsTest, AHandlerMayRefuseACallAsTooWeak) {
  std::string call = Bytes({4, 0, 2, kProg, 3, 1, 0, 0, 0, 0});
  ReplyHeader plain = Handle(ConnectionInfo{}, call);
  EXPECT_FALSE(plain.accepted);
  EXPECT_EQ(plain.auth_stat, AuthStat::kTooWeak);
  ConnectionInfo tls;
  tls.tls = true;
  uint32_t result = 0;
  ReplyHeader secured = Handle(tls, call, &result);
  EXPECT_TRUE(secured.accepted);
  EXPECT_EQ(result, 42u);
}

// A toy transform: the handshake is the byte 'H' (answered 'K'); then every byte is XORed with
// 0x5a both ways. Anything else first is a refused handshake.
class XorTransform final : public net::StreamTransform {
 public:
  Status Receive(ByteView wire, std::vector<std::byte>* plain,
                 std::vector<std::byte>* to_peer) override {
    for (std::byte b : wire) {
      if (!established_) {
        if (b != std::byte{'H'}) return Status(Errc::kAccess, "not a handshake");
        established_ = true;
        to_peer->push_back(std::byte{'K'});
        continue;
      }
      plain->push_back(b ^ std::byte{0x5a});
    }
    return Status::Ok();
  }
  Status Protect(ByteView plain, std::vector<std::byte>* wire) override {
    for (std::byte b : plain) wire->push_back(b ^ std::byte{0x5a});
    return Status::Ok();
  }
  bool established() const override { return established_; }
  net::TransportSecurity security() const override { return {true, "CN=toy"}; }

 private:
  bool established_ = false;
};

std::string Xor(std::string s) {
  for (char& c : s) c = static_cast<char>(c ^ 0x5a);
  return s;
}

class TcpStartTlsTest : public ::testing::Test {
 protected:
  void Start(bool offer_tls) {
    ProgramVersion v{kProg, 3, {}};
    v.procedures.resize(2);
    v.procedures[0] = {"NULL", [](const CallContext&, xdr::XdrDecoder&, xdr::XdrEncoder&) {
                         return AcceptStat::kSuccess;
                       }};
    // Answers whether the call came over the transform, and the peer it named.
    v.procedures[1] = {"WHO", [](const CallContext& call, xdr::XdrDecoder&, xdr::XdrEncoder& r) {
                         r.U32(call.tls ? 1 : 0);
                         r.String(call.tls_peer_subject);
                         return AcceptStat::kSuccess;
                       }};
    dispatcher_.Add(v);
    dispatcher_.AddAuthFlavor(AuthFlavor::kNone, AuthNone);
    TcpServerOptions o;
    o.stream.bind_address = "127.0.0.1";
    o.stream.handshake_timeout = std::chrono::milliseconds(300);
    if (offer_tls) o.start_tls = [] { return std::make_unique<XorTransform>(); };
    auto s = StartRpcTcpServer(o, dispatcher_);
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    server_ = std::move(s).value();
  }
  BlockingClient Connect() {
    auto c = BlockingClient::Connect(server_->port());
    CHECK(c.ok()) << c.status().ToString();
    return std::move(c).value();
  }
  // Sends the probe and checks the STARTTLS answer.
  void ProbeAccepted(BlockingClient& c) {
    ASSERT_OK(c.SendRecord(Probe(7)));
    Result<std::string> reply = c.ReadRecord();
    ASSERT_OK(reply.status());
    xdr::XdrEncoder want;
    EncodeStartTlsReply(want, 7);
    EXPECT_EQ(*reply, want.ToString());
  }
  Dispatcher dispatcher_;
  std::unique_ptr<net::StreamServer> server_;
};

std::string Who(uint32_t xid) { return Bytes({xid, 0, 2, kProg, 3, 1, 0, 0, 0, 0}); }

// Reads exactly `n` bytes from `fd` (waiting 2 s at most for each piece), or fewer at EOF or
// timeout.
std::string ReadExactly(int fd, size_t n) {
  std::string out;
  while (out.size() < n) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 2000) <= 0) break;
    char buf[4096];
    ssize_t got = ::recv(fd, buf, std::min(sizeof buf, n - out.size()), 0);
    if (got <= 0) break;
    out.append(buf, static_cast<size_t>(got));
  }
  return out;
}

TEST_F(TcpStartTlsTest, AfterStartTlsEveryRecordGoesThroughTheTransform) {
  Start(true);
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(server_->port());
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  std::string probe = BlockingClient::Fragment(Probe(7), true);
  ASSERT_EQ(::send(fd, probe.data(), probe.size(), 0), static_cast<ssize_t>(probe.size()));
  xdr::XdrEncoder starttls;
  EncodeStartTlsReply(starttls, 7);
  EXPECT_EQ(ReadExactly(fd, 4 + starttls.size()),
            BlockingClient::Fragment(starttls.ToString(), true));
  std::string hello = "H" + Xor(BlockingClient::Fragment(Who(8), true));
  ASSERT_EQ(::send(fd, hello.data(), hello.size(), 0), static_cast<ssize_t>(hello.size()));
  // 'K', then the reply through the transform: xid, REPLY, MSG_ACCEPTED, AUTH_NONE verifier,
  // SUCCESS, then WHO's results: over the transform, as "CN=toy".
  std::string want =
      "K" + Xor(BlockingClient::Fragment(
                Bytes({8, 1, 0, 0, 0, 0, 1, 6}) + "CN=toy" + std::string(2, '\0'), true));
  EXPECT_EQ(ReadExactly(fd, want.size()), want);
  ::close(fd);
}

TEST_F(TcpStartTlsTest, WithoutTlsTheProbeIsRefusedAndTheConnectionStaysPlain) {
  Start(false);
  BlockingClient c = Connect();
  ASSERT_OK(c.SendRecord(Probe(7)));
  Result<std::string> reply = c.ReadRecord();
  ASSERT_OK(reply.status());
  xdr::XdrDecoder d(View(*reply));
  ReplyHeader h;
  ASSERT_TRUE(DecodeReplyHeader(d, &h));
  EXPECT_FALSE(h.accepted);
  EXPECT_EQ(h.auth_stat, AuthStat::kBadCred);
  ASSERT_OK(c.SendRecord(Who(8)));
  reply = c.ReadRecord();
  ASSERT_OK(reply.status());
  xdr::XdrDecoder d2(View(*reply));
  ASSERT_TRUE(DecodeReplyHeader(d2, &h));
  EXPECT_TRUE(h.accepted);
  EXPECT_EQ(d2.U32(), 0u);  // not secured
}

TEST_F(TcpStartTlsTest, GarbageInsteadOfAHandshakeClosesTheConnection) {
  Start(true);
  BlockingClient c = Connect();
  ProbeAccepted(c);
  ASSERT_OK(c.SendRaw("GET / HTTP/1.0\r\n\r\n"));
  EXPECT_TRUE(c.SeesEof(2000));
}

TEST_F(TcpStartTlsTest, AStalledHandshakeIsClosedAtTheHandshakeTimeout) {
  Start(true);
  BlockingClient c = Connect();
  auto start = std::chrono::steady_clock::now();
  ProbeAccepted(c);
  EXPECT_TRUE(c.SeesEof(3000));
  double waited = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  EXPECT_GE(waited, 0.25);
  EXPECT_LT(waited, 2.5);
  for (int i = 0; i < 100 && server_->connection_count() != 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_EQ(server_->connection_count(), 0u);
}

TEST_F(TcpStartTlsTest, PlainBytesPipelinedBehindTheProbeCloseTheConnection) {
  Start(true);
  BlockingClient c = Connect();
  // The probe and a plain call in one write: the call was not sent under the transform.
  ASSERT_OK(
      c.SendRaw(BlockingClient::Fragment(Probe(7), true) + BlockingClient::Fragment(Who(8), true)));
  Result<std::string> reply = c.ReadRecord();  // the STARTTLS answer went out first
  ASSERT_OK(reply.status());
  EXPECT_TRUE(c.SeesEof(2000));
}

}  // namespace
}  // namespace dittofs::rpc

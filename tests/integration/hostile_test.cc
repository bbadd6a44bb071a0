// SPDX-License-Identifier: Apache-2.0
// Hostile input over the wire: malformed records and calls sent to a real dfs process must each
// get the right RPC or NFS error, or a clean close of that connection, and the server must keep
// serving everyone else.

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <string>
#include <thread>
#include <vector>

#include "base/bytes.h"
#include "dfs_process.h"
#include "rpc/blocking_client.h"
#include "rpc/message.h"
#include "xdr/xdr.h"

namespace dittofs::integration {
namespace {

using rpc::BlockingClient;

constexpr uint32_t kNfsProg = 100003;
constexpr uint32_t kMountProg = 100005;

std::vector<uint32_t> Words(const std::string& s) {
  std::vector<uint32_t> w;
  for (size_t i = 0; i + 4 <= s.size(); i += 4) {
    w.push_back(LoadBe32(reinterpret_cast<const std::byte*>(s.data() + i)));
  }
  return w;
}

rpc::Credential Sys() {
  rpc::Credential c;
  c.flavor = rpc::AuthFlavor::kSys;
  c.uid = 0;
  c.gid = 0;
  c.machine_name = "hostile";
  return c;
}

std::string Call(uint32_t xid, uint32_t prog, uint32_t vers, uint32_t proc,
                 const std::string& args = "", const rpc::Credential& cred = Sys()) {
  xdr::XdrEncoder e;
  rpc::EncodeCallHeader(e, xid, prog, vers, proc, cred);
  return e.ToString() + args;
}

class HostileTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto p = DfsProcess::Start(DFS_BINARY, DfsOptions{});
    ASSERT_TRUE(p.ok()) << p.status().ToString();
    server_ = std::move(p).value().release();
  }
  static void TearDownTestSuite() {
    if (server_ == nullptr) return;  // start failed; SetUpTestSuite reported it
    Result<int> rc = server_->Stop();
    EXPECT_TRUE(rc.ok() && *rc == 0) << "dfs did not exit cleanly: " << server_->Log();
    delete server_;
    server_ = nullptr;
  }

  BlockingClient Connect() {
    auto c = BlockingClient::Connect(server_->port());
    EXPECT_TRUE(c.ok()) << c.status().ToString();
    return std::move(c).value();
  }
  // Sends one call on a fresh connection and returns the reply's words.
  std::vector<uint32_t> Roundtrip(const std::string& record) {
    BlockingClient c = Connect();
    EXPECT_TRUE(c.SendRecord(record).ok());
    Result<std::string> reply = c.ReadRecord();
    EXPECT_TRUE(reply.ok()) << reply.status().ToString();
    return reply.ok() ? Words(*reply) : std::vector<uint32_t>{};
  }
  // The server still answers a NULL call on a new connection.
  void ExpectStillServing() {
    auto w = Roundtrip(Call(777, kNfsProg, 3, 0));
    ASSERT_GE(w.size(), 6u);
    EXPECT_EQ(w[0], 777u);
    EXPECT_EQ(w[5], 0u);  // SUCCESS
  }

  static DfsProcess* server_;
};
DfsProcess* HostileTest::server_ = nullptr;

// Reply words: xid, REPLY(1), reply_stat, then for MSG_ACCEPTED: verf flavor, verf length,
// accept_stat, ...; for MSG_DENIED: reject_stat, ...
constexpr size_t kAcceptStat = 5;

// The embedded port mapper (RFC 1833) names the NFS adapter's port for NFS and MOUNT, over
// TCP and UDP, in PMAP v2 and RPCBIND v3/v4; forwarding calls and bad arguments are refused.
TEST_F(HostileTest, PortMapperNamesTheNfsPort) {
  const uint16_t pm = server_->portmap_port();
  ASSERT_NE(pm, 0) << server_->Log();
  const auto call = [&](const std::string& record) {
    Result<BlockingClient> c = BlockingClient::Connect(pm);
    EXPECT_TRUE(c.ok()) << c.status().ToString();
    if (!c.ok()) return std::vector<uint32_t>{};
    EXPECT_TRUE(c->SendRecord(record).ok());
    Result<std::string> reply = c->ReadRecord();
    EXPECT_TRUE(reply.ok()) << reply.status().ToString();
    return reply.ok() ? Words(*reply) : std::vector<uint32_t>{};
  };
  const auto pmap = [](uint32_t prog, uint32_t vers, uint32_t prot) {
    xdr::XdrEncoder e;
    e.U32(prog);
    e.U32(vers);
    e.U32(prot);
    e.U32(0);
    return e.ToString();
  };
  constexpr uint32_t kPortmap = 100000, kGetport = 3, kTcp = 6, kUdp = 17;
  std::vector<uint32_t> r = call(Call(1, kPortmap, 2, kGetport, pmap(kNfsProg, 3, kTcp)));
  ASSERT_EQ(r.size(), 7u);
  EXPECT_EQ(r[kAcceptStat], 0u);
  EXPECT_EQ(r[6], server_->port());
  r = call(Call(2, kPortmap, 2, kGetport, pmap(kMountProg, 3, kUdp)));
  ASSERT_EQ(r.size(), 7u);
  EXPECT_EQ(r[6], server_->port());
  r = call(Call(3, kPortmap, 2, kGetport, pmap(100021, 4, kTcp)));  // NLM
  ASSERT_EQ(r.size(), 7u);
  EXPECT_EQ(r[6], server_->port());
  r = call(Call(3, kPortmap, 2, kGetport, pmap(100099, 1, kTcp)));  // nothing
  ASSERT_EQ(r.size(), 7u);
  EXPECT_EQ(r[6], 0u);

  // RPCBIND v4 GETADDR: the universal address the client reached, with the NFS port.
  xdr::XdrEncoder rpcb;
  rpcb.U32(kNfsProg);
  rpcb.U32(3);
  rpcb.String("tcp");
  rpcb.String("");
  rpcb.String("");
  Result<BlockingClient> c = BlockingClient::Connect(pm);
  ASSERT_TRUE(c.ok());
  ASSERT_TRUE(c->SendRecord(Call(4, kPortmap, 4, 3, rpcb.ToString())).ok());
  Result<std::string> reply = c->ReadRecord();
  ASSERT_TRUE(reply.ok());
  xdr::XdrDecoder d(AsBytes(*reply));
  rpc::ReplyHeader h;
  ASSERT_TRUE(rpc::DecodeReplyHeader(d, &h));
  EXPECT_EQ(d.String(64), "127.0.0.1." + std::to_string(server_->port() >> 8) + "." +
                              std::to_string(server_->port() & 0xFF));

  // Over UDP too.
  const int fd = socket(AF_INET, SOCK_DGRAM, 0);
  ASSERT_GE(fd, 0);
  sockaddr_in to{};
  to.sin_family = AF_INET;
  to.sin_port = htons(pm);
  to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  timeval tv{5, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  const std::string udp = Call(5, kPortmap, 2, kGetport, pmap(kNfsProg, 3, kUdp));
  ASSERT_EQ(sendto(fd, udp.data(), udp.size(), 0, reinterpret_cast<sockaddr*>(&to), sizeof to),
            static_cast<ssize_t>(udp.size()));
  char buf[512];
  const ssize_t n = recv(fd, buf, sizeof buf, 0);
  close(fd);
  ASSERT_EQ(n, 28);
  EXPECT_EQ(Words(std::string(buf, 28))[6], server_->port());

  // CALLIT (a call forwarded to another program) is not served; short arguments are garbage;
  // a SET from this (local) caller works and shows in GETPORT.
  EXPECT_EQ(call(Call(6, kPortmap, 2, 5, pmap(kNfsProg, 3, kTcp)))[kAcceptStat], 3u);
  EXPECT_EQ(call(Call(7, kPortmap, 2, kGetport, std::string("\0\0\0\1", 4)))[kAcceptStat], 4u);
  xdr::XdrEncoder set;
  set.U32(300123);
  set.U32(1);
  set.U32(kTcp);
  set.U32(4242);
  EXPECT_EQ(call(Call(8, kPortmap, 2, 1, set.ToString()))[6], 1u);
  EXPECT_EQ(call(Call(9, kPortmap, 2, kGetport, pmap(300123, 1, kTcp)))[6], 4242u);
  ExpectStillServing();
}

TEST_F(HostileTest, UnknownProgramVersionAndProcedure) {
  EXPECT_EQ(Roundtrip(Call(1, 400000, 1, 0))[kAcceptStat], 1u);  // PROG_UNAVAIL
  // NFS versions 3 and 4 are served; 5 is not.
  auto v5 = Roundtrip(Call(2, kNfsProg, 5, 0));
  ASSERT_EQ(v5.size(), 8u);
  EXPECT_EQ(v5[kAcceptStat], 2u);  // PROG_MISMATCH
  EXPECT_EQ(v5[6], 3u);
  EXPECT_EQ(v5[7], 4u);
  auto m1 = Roundtrip(Call(3, kMountProg, 1, 0));
  ASSERT_EQ(m1.size(), 8u);
  EXPECT_EQ(m1[kAcceptStat], 2u);
  EXPECT_EQ(Roundtrip(Call(4, kNfsProg, 3, 99))[kAcceptStat], 3u);  // PROC_UNAVAIL
  EXPECT_EQ(Roundtrip(Call(5, kMountProg, 3, 6))[kAcceptStat], 3u);
  ExpectStillServing();
}

TEST_F(HostileTest, BadCredentialsAndRpcVersion) {
  // AUTH_SYS whose body is 3 bytes of junk.
  xdr::XdrEncoder e;
  e.U32(6);
  e.U32(0);
  e.U32(2);
  e.U32(kNfsProg);
  e.U32(3);
  e.U32(0);
  e.U32(1);         // AUTH_SYS
  e.String("abc");  // not an authsys_parms
  e.U32(0);
  e.U32(0);
  auto bad = Roundtrip(e.ToString());
  ASSERT_EQ(bad.size(), 5u);
  EXPECT_EQ(bad[2], 1u);  // MSG_DENIED
  EXPECT_EQ(bad[3], 1u);  // AUTH_ERROR
  EXPECT_EQ(bad[4], 1u);  // AUTH_BADCRED
  rpc::Credential gss;
  gss.flavor = rpc::AuthFlavor::kGss;
  auto weak = Roundtrip(Call(7, kNfsProg, 3, 1, "", gss));
  ASSERT_EQ(weak.size(), 5u);
  EXPECT_EQ(weak[4], 5u);  // AUTH_TOOWEAK
  xdr::XdrEncoder v;
  v.U32(8);
  v.U32(0);
  v.U32(3);  // rpcvers 3
  auto mismatch = Roundtrip(v.ToString());
  ASSERT_EQ(mismatch.size(), 6u);
  EXPECT_EQ(mismatch[3], 0u);  // RPC_MISMATCH
  EXPECT_EQ(mismatch[4], 2u);
  ExpectStillServing();
}

TEST_F(HostileTest, MalformedArgumentsGetGarbageArgsOrNfsErrors) {
  // GETATTR whose handle claims 1000 bytes.
  xdr::XdrEncoder lying;
  lying.U32(1000);
  lying.U32(0);
  EXPECT_EQ(Roundtrip(Call(10, kNfsProg, 3, 1, lying.ToString()))[kAcceptStat], 4u);
  // A 65-byte handle: over NFS3_FHSIZE.
  xdr::XdrEncoder big;
  big.VarOpaque(AsBytes(std::string(65, 'h')));
  EXPECT_EQ(Roundtrip(Call(11, kNfsProg, 3, 1, big.ToString()))[kAcceptStat], 4u);
  // WRITE with a count far beyond the data, and data length beyond the record.
  xdr::XdrEncoder w;
  w.VarOpaque(AsBytes(std::string(20, 'h')));
  w.U64(0);
  w.U32(0x7fffffff);
  w.U32(0);
  w.U32(0x7ffffff0);
  EXPECT_EQ(Roundtrip(Call(12, kNfsProg, 3, 7, w.ToString()))[kAcceptStat], 4u);
  // A well-formed garbage handle: the NFS layer answers BADHANDLE.
  xdr::XdrEncoder junk;
  junk.VarOpaque(AsBytes(std::string("1234567")));
  auto r = Roundtrip(Call(13, kNfsProg, 3, 1, junk.ToString()));
  ASSERT_GE(r.size(), 7u);
  EXPECT_EQ(r[kAcceptStat], 0u);
  EXPECT_EQ(r[6], 10001u);  // NFS3ERR_BADHANDLE
  // MNT with a path longer than MNTPATHLEN.
  xdr::XdrEncoder path;
  path.String(std::string(2000, '/'));
  EXPECT_EQ(Roundtrip(Call(14, kMountProg, 3, 1, path.ToString()))[kAcceptStat], 4u);
  // An empty record.
  EXPECT_EQ(Roundtrip(Call(15, kNfsProg, 3, 1, ""))[kAcceptStat], 4u);
  ExpectStillServing();
}

TEST_F(HostileTest, BrokenFramingClosesOnlyThatConnection) {
  BlockingClient bystander = Connect();
  // A 2 GiB fragment header.
  {
    BlockingClient c = Connect();
    std::byte mark[4];
    StoreBe32(mark, 0xffffffff);
    ASSERT_TRUE(c.SendRaw(AsChars(ByteView(mark, 4))).ok());
    EXPECT_TRUE(c.SeesEof());
  }
  // A truncated record, then the client goes away.
  {
    BlockingClient c = Connect();
    std::byte mark[4];
    StoreBe32(mark, 0x80000000u | 100);
    ASSERT_TRUE(c.SendRaw(std::string(AsChars(ByteView(mark, 4))) + "only ten b").ok());
  }
  // Fragments that never end, each small, past the fragment-count limit.
  {
    BlockingClient c = Connect();
    std::string many;
    for (int i = 0; i < 1100; ++i) many += BlockingClient::Fragment("x", false);
    (void)c.SendRaw(many);
    EXPECT_TRUE(c.SeesEof());
  }
  // A reply, not a call: dropped without an answer; the connection stays usable.
  {
    BlockingClient c = Connect();
    xdr::XdrEncoder reply;
    reply.U32(20);
    reply.U32(1);
    ASSERT_TRUE(c.SendRecord(reply.ToString()).ok());
    ASSERT_TRUE(c.SendRecord(Call(21, kNfsProg, 3, 0)).ok());
    Result<std::string> r = c.ReadRecord();
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(Words(*r)[0], 21u);
  }
  // The bystander connection was never disturbed.
  ASSERT_TRUE(bystander.SendRecord(Call(30, kNfsProg, 3, 0)).ok());
  Result<std::string> r = bystander.ReadRecord();
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(Words(*r)[0], 30u);
  ExpectStillServing();
}

TEST_F(HostileTest, RandomGarbageNeverStopsTheServer) {
  uint64_t x = 0x9e3779b97f4a7c15ull;
  auto next = [&] {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return x;
  };
  for (int i = 0; i < 200; ++i) {
    BlockingClient c = Connect();
    std::string junk(next() % 512, '\0');
    for (char& ch : junk) ch = static_cast<char>(next());
    if (i % 2 == 0) junk = BlockingClient::Fragment(junk, true);
    (void)c.SendRaw(junk);
  }
  ExpectStillServing();
}

}  // namespace
}  // namespace dittofs::integration

// SPDX-License-Identifier: Apache-2.0
#include "rpc/portmap/portmap.h"

#include <gtest/gtest.h>

#include "rpc/message.h"

namespace dittofs::rpc {
namespace {

constexpr uint32_t kNfs = 100003, kMount = 100005, kNlm = 100021;

class PortmapTest : public ::testing::Test {
 protected:
  void SetUp() override {
    pm_.Register(kNfs, 3, "tcp", 12049);
    pm_.Register(kNfs, 3, "udp", 12049);
    pm_.Register(kMount, 3, "tcp", 12049);
    for (ProgramVersion& p : pm_.Programs()) dispatcher_.Add(std::move(p));
    dispatcher_.AddAuthFlavor(AuthFlavor::kNone, AuthNone);
  }

  // Calls `proc` of version `vers` from `peer` (reached at `local`, empty for UDP); returns
  // the results' decoder input, or nullopt when the call was not a success.
  std::optional<std::string> Call(uint32_t vers, uint32_t proc, const xdr::XdrEncoder& args,
                                  std::string peer = "127.0.0.1", std::string local = "10.1.2.3") {
    xdr::XdrEncoder e;
    EncodeCallHeader(e, ++xid_, kPortmapProgram, vers, proc, Credential{});
    const std::string a = args.ToString();
    e.FixedOpaque(AsBytes(a));
    const std::string record = e.ToString();
    xdr::XdrEncoder reply;
    ConnectionInfo conn{std::move(peer), 700, std::move(local)};
    if (!dispatcher_.Handle(conn, AsBytes(record), &reply)) return std::nullopt;
    const std::string flat = reply.ToString();
    xdr::XdrDecoder d(AsBytes(flat));
    ReplyHeader h;
    if (!DecodeReplyHeader(d, &h) || !h.accepted || h.accept_stat != AcceptStat::kSuccess) {
      return std::nullopt;
    }
    return std::string(AsChars(d.rest()));
  }

  static xdr::XdrEncoder Pmap(uint32_t prog, uint32_t vers, uint32_t prot, uint32_t port) {
    xdr::XdrEncoder e;
    e.U32(prog);
    e.U32(vers);
    e.U32(prot);
    e.U32(port);
    return e;
  }
  static xdr::XdrEncoder Rpcb(uint32_t prog, uint32_t vers, std::string_view netid,
                              std::string_view addr = "", std::string_view owner = "") {
    xdr::XdrEncoder e;
    e.U32(prog);
    e.U32(vers);
    e.String(netid);
    e.String(addr);
    e.String(owner);
    return e;
  }
  static uint32_t Word(const std::optional<std::string>& r) {
    EXPECT_TRUE(r.has_value());
    if (!r || r->size() < 4) return 0xFFFFFFFF;
    return LoadBe32(reinterpret_cast<const std::byte*>(r->data()));
  }
  static std::string Str(const std::optional<std::string>& r) {
    EXPECT_TRUE(r.has_value());
    if (!r) return "<none>";
    xdr::XdrDecoder d(AsBytes(*r));
    return std::string(d.String(1024));
  }

  PortmapService pm_;
  Dispatcher dispatcher_;
  uint32_t xid_ = 0;
};

TEST_F(PortmapTest, GetportFindsWhatWasRegistered) {
  EXPECT_EQ(Word(Call(2, 3, Pmap(kNfs, 3, 6, 0))), 12049u);
  EXPECT_EQ(Word(Call(2, 3, Pmap(kNfs, 3, 17, 0))), 12049u);
  EXPECT_EQ(Word(Call(2, 3, Pmap(kMount, 3, 17, 0))), 0u);  // MOUNT is not on UDP
  EXPECT_EQ(Word(Call(2, 3, Pmap(kNlm, 4, 6, 0))), 0u);
  // Another version of a program that is there: its port, for the call to get PROG_MISMATCH.
  EXPECT_EQ(Word(Call(2, 3, Pmap(kMount, 1, 6, 0))), 12049u);
  EXPECT_EQ(Word(Call(2, 3, Pmap(kNfs, 3, 99, 0))), 0u);  // no such protocol
}

TEST_F(PortmapTest, GetaddrGivesTheAddressTheCallerReached) {
  EXPECT_EQ(Str(Call(3, 3, Rpcb(kNfs, 3, "tcp"))), "10.1.2.3.47.17");
  EXPECT_EQ(Str(Call(4, 3, Rpcb(kNfs, 3, "tcp"), "127.0.0.1", "::ffff:127.0.0.1")),
            "127.0.0.1.47.17");
  EXPECT_EQ(Str(Call(4, 3, Rpcb(kNfs, 3, "udp"), "127.0.0.1", "")), "0.0.0.0.47.17");
  EXPECT_EQ(Str(Call(3, 3, Rpcb(kNlm, 4, "tcp"))), "");
  // GETVERSADDR wants the very version; GETADDR takes another.
  EXPECT_EQ(Str(Call(4, 9, Rpcb(kMount, 1, "tcp"))), "");
  EXPECT_EQ(Str(Call(4, 3, Rpcb(kMount, 1, "tcp"))), "10.1.2.3.47.17");
}

TEST_F(PortmapTest, DumpListsEveryMapping) {
  std::optional<std::string> r = Call(2, 4, xdr::XdrEncoder());
  ASSERT_TRUE(r);
  xdr::XdrDecoder d(AsBytes(*r));
  int entries = 0;
  while (d.Bool()) {
    const uint32_t prog = d.U32(), vers = d.U32(), prot = d.U32(), port = d.U32();
    EXPECT_TRUE(prog == kNfs || prog == kMount) << prog;
    EXPECT_EQ(vers, 3u);
    EXPECT_TRUE(prot == 6 || prot == 17);
    EXPECT_EQ(port, 12049u);
    ++entries;
  }
  EXPECT_TRUE(d.ok());
  EXPECT_EQ(entries, 3);

  r = Call(4, 4, xdr::XdrEncoder());
  ASSERT_TRUE(r);
  xdr::XdrDecoder d4(AsBytes(*r));
  entries = 0;
  while (d4.Bool()) {
    d4.U32();
    d4.U32();
    const std::string_view netid = d4.String(64);
    EXPECT_TRUE(netid == "tcp" || netid == "udp");
    EXPECT_EQ(d4.String(64), "10.1.2.3.47.17");
    EXPECT_EQ(d4.String(64), "superuser");
    ++entries;
  }
  EXPECT_TRUE(d4.ok());
  EXPECT_EQ(entries, 3);
}

// Local processes may register themselves; others may not change the map.
TEST_F(PortmapTest, OnlyLocalCallersSetAndUnset) {
  EXPECT_EQ(Word(Call(2, 1, Pmap(kNlm, 4, 6, 4045), "192.0.2.7")), 0u);
  EXPECT_EQ(Word(Call(2, 3, Pmap(kNlm, 4, 6, 0))), 0u);
  EXPECT_EQ(Word(Call(2, 1, Pmap(kNlm, 4, 6, 4045))), 1u);
  EXPECT_EQ(Word(Call(2, 3, Pmap(kNlm, 4, 6, 0))), 4045u);
  // A second SET of the same version and transport to another port fails.
  EXPECT_EQ(Word(Call(2, 1, Pmap(kNlm, 4, 6, 4046))), 0u);
  EXPECT_EQ(Word(Call(3, 1, Rpcb(kNlm, 4, "udp", "0.0.0.0.15.206", "statd"))), 1u);
  EXPECT_EQ(Word(Call(2, 3, Pmap(kNlm, 4, 17, 0))), 4046u);
  EXPECT_EQ(Word(Call(3, 1, Rpcb(kNlm, 4, "udp", "no-port"))), 0u);
  // UNSET: not from afar; then every transport of the version.
  EXPECT_EQ(Word(Call(2, 2, Pmap(kNlm, 4, 0, 0), "192.0.2.7")), 0u);
  EXPECT_EQ(Word(Call(2, 2, Pmap(kNlm, 4, 0, 0), "::1")), 1u);
  EXPECT_EQ(Word(Call(2, 3, Pmap(kNlm, 4, 6, 0))), 0u);
  EXPECT_EQ(Word(Call(2, 3, Pmap(kNlm, 4, 17, 0))), 0u);
  // The server's own mappings stay: a local process cannot move NFS elsewhere.
  EXPECT_EQ(Word(Call(2, 2, Pmap(kNfs, 3, 0, 0))), 0u);
  EXPECT_EQ(Word(Call(3, 2, Rpcb(kNfs, 3, "tcp"))), 0u);
  EXPECT_EQ(Word(Call(2, 1, Pmap(kNfs, 3, 6, 4047))), 0u);
  EXPECT_EQ(Word(Call(2, 3, Pmap(kNfs, 3, 6, 0))), 12049u);
}

TEST_F(PortmapTest, ForwardingAndBadArgumentsAreRefused) {
  // CALLIT (v2 and v3), BCAST and INDIRECT (v4): not served.
  EXPECT_FALSE(Call(2, 5, Pmap(kNfs, 3, 0, 0)));
  EXPECT_FALSE(Call(4, 10, Rpcb(kNfs, 3, "tcp")));
  // Truncated arguments, and a netid longer than any.
  xdr::XdrEncoder shortargs;
  shortargs.U32(kNfs);
  EXPECT_FALSE(Call(2, 3, shortargs));
  EXPECT_FALSE(Call(3, 3, Rpcb(kNfs, 3, std::string(1000, 't'))));
  // GETTIME answers.
  EXPECT_GT(Word(Call(3, 6, xdr::XdrEncoder())), 1700000000u);
}

TEST(UniversalAddress, BothWays) {
  EXPECT_EQ(UniversalAddress("127.0.0.1", 111), "127.0.0.1.0.111");
  EXPECT_EQ(UniversalAddress("::1", 2049), "::1.8.1");
  EXPECT_EQ(PortOfUniversalAddress("10.0.0.1.8.1"), 2049);
  EXPECT_EQ(PortOfUniversalAddress("::1.0.111"), 111);
  EXPECT_FALSE(PortOfUniversalAddress("10.0.0.1"));
  EXPECT_FALSE(PortOfUniversalAddress("10.0.0.1.256.1"));
  EXPECT_FALSE(PortOfUniversalAddress("a.b"));
}

}  // namespace
}  // namespace dittofs::rpc

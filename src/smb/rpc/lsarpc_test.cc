// SPDX-License-Identifier: Apache-2.0
//
// LsarpcPipe against PDUs and stubs built by hand from C706 chapters 12 and 14, MS-LSAD and
// MS-LSAT (not with the library's NDR writer). Referent ids are checked to be nonzero, not for
// their values.

#include "smb/rpc/lsarpc.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "smb/rpc/lsa_test_accounts.h"
#include "smb/rpc/rpc_test_util.h"
#include "smb/security/sid.h"

namespace dittofs::smb::rpc {
namespace {

using Bytes = std::vector<std::byte>;

// An NDR20 stub, each value aligned to its size from the stub's start.
struct Stub {
  Bytes b;
  std::vector<size_t> referents;  // where nonzero referent ids are (any value)

  Stub& Align(size_t n) {
    while (b.size() % n != 0) b.push_back(std::byte{0});
    return *this;
  }
  Stub& Byte(uint8_t v) {
    b.push_back(std::byte{v});
    return *this;
  }
  Stub& Short(uint16_t v) {
    Align(2);
    return Byte(v & 0xFF).Byte(v >> 8);
  }
  Stub& Long(uint32_t v) {
    Align(4);
    return Short(v & 0xFFFF).Short(v >> 16);
  }
  Stub& Referent() {
    Align(4);
    referents.push_back(b.size());
    return Long(0x00020000 + 4 * uint32_t(referents.size()));
  }
  Stub& Raw(const Bytes& raw) {
    b.insert(b.end(), raw.begin(), raw.end());
    return *this;
  }
  // RPC_UNICODE_STRING's fields (ASCII `s`), and its buffer. The structure holds a pointer:
  // it starts at a multiple of 4 (also after a 16-bit SID_NAME_USE or union discriminant;
  // Samba's rpcclient refuses it otherwise).
  Stub& Ustr(const std::string& s) {
    Align(4);
    return Short(uint16_t(2 * s.size())).Short(uint16_t(2 * s.size())).Referent();
  }
  Stub& UstrBuffer(const std::string& s) {
    Long(uint32_t(s.size())).Long(0).Long(uint32_t(s.size()));
    for (char c : s) Short(uint8_t(c));
    return *this;
  }
  // An RPC_SID referent of the SID written as text.
  Stub& SidBody(std::string_view text) {
    security::Sid sid = *security::ParseSid(text);
    Long(uint32_t(sid.sub.size())).Byte(1).Byte(uint8_t(sid.sub.size()));
    for (int i = 5; i >= 0; --i) Byte(uint8_t(sid.authority >> (8 * i)));
    for (uint32_t s : sid.sub) Long(s);
    return *this;
  }
};

// A PDU: the common header (C706 12.6.3.1) and `body`, frag_length set.
Bytes Pdu(uint8_t type, uint8_t flags, uint32_t call_id, const Bytes& body) {
  Stub p;
  p.Byte(5).Byte(0).Byte(type).Byte(flags).Long(0x10).Short(0).Short(0).Long(call_id).Raw(body);
  p.b[8] = std::byte(p.b.size() & 0xFF);
  p.b[9] = std::byte(p.b.size() >> 8);
  return p.b;
}

// The LSA interface 12345778-1234-ABCD-EF00-0123456789AB v0.0, and NDR v2.
const Bytes kLsaSyntax = Stub()
                             .Long(0x12345778)
                             .Short(0x1234)
                             .Short(0xABCD)
                             .Byte(0xEF)
                             .Byte(0x00)
                             .Byte(0x01)
                             .Byte(0x23)
                             .Byte(0x45)
                             .Byte(0x67)
                             .Byte(0x89)
                             .Byte(0xAB)
                             .Long(0)
                             .b;
const Bytes kNdrSyntax = Stub()
                             .Long(0x8A885D04)
                             .Short(0x1CEB)
                             .Short(0x11C9)
                             .Byte(0x9F)
                             .Byte(0xE8)
                             .Byte(0x08)
                             .Byte(0x00)
                             .Byte(0x2B)
                             .Byte(0x10)
                             .Byte(0x48)
                             .Byte(0x60)
                             .Long(2)
                             .b;

Bytes BindPdu() {
  Stub body;
  body.Short(4280).Short(4280).Long(0).Byte(1).Byte(0).Short(0);
  body.Short(0).Byte(1).Byte(0).Raw(kLsaSyntax).Raw(kNdrSyntax);
  return Pdu(11, 3, 1, body.b);
}

Bytes RequestPdu(uint32_t call_id, uint16_t opnum, const Bytes& stub, uint8_t flags = 3) {
  Stub body;
  body.Long(uint32_t(stub.size())).Short(0).Short(opnum).Raw(stub);
  return Pdu(0, flags, call_id, body.b);
}

// LsarOpenPolicy2's [in] stub: SystemName NULL, ObjectAttributes all zero but Length,
// DesiredAccess MAXIMUM_ALLOWED.
Bytes OpenPolicy2Stub() {
  return Stub().Long(0).Long(24).Long(0).Long(0).Long(0).Long(0).Long(0).Long(0x02000000).b;
}

// LsarLookupSids/2's [in] stub for `sids`.
Bytes LookupSidsStub(const Bytes& handle, const std::vector<std::string>& sids, bool v2) {
  Stub s;
  s.Raw(handle).Long(uint32_t(sids.size())).Referent().Long(uint32_t(sids.size()));
  for (size_t i = 0; i < sids.size(); ++i) s.Referent();
  for (const std::string& sid : sids) s.SidBody(sid);
  s.Long(0).Long(0);   // TranslatedNames: empty
  s.Short(1).Long(0);  // LookupLevel LsapLookupWksta, MappedCount
  if (v2) s.Long(0).Long(2);
  return s.b;
}

// LsarLookupNames/3's [in] stub for `names`.
Bytes LookupNamesStub(const Bytes& handle, const std::vector<std::string>& names, bool v3) {
  Stub s;
  s.Raw(handle).Long(uint32_t(names.size())).Long(uint32_t(names.size()));
  for (const std::string& name : names) s.Ustr(name);
  for (const std::string& name : names) s.UstrBuffer(name);
  s.Long(0).Long(0);  // TranslatedSids: empty
  s.Short(1).Long(0);
  if (v3) s.Long(0).Long(2);
  return s.b;
}

class LsarpcTest : public ::testing::Test {
 protected:
  LsarpcTest() : pipe_(TestAccounts(), "alice") {}

  // Every answer to `pdu`, as PDUs.
  std::vector<Bytes> Exchange(const Bytes& pdu) {
    EXPECT_TRUE(pipe_.Write(pdu).ok());
    Bytes all;
    while (pipe_.has_output()) {
      bool more = false;
      Bytes part = pipe_.Read(1000, &more);
      all.insert(all.end(), part.begin(), part.end());
    }
    std::vector<Bytes> out;
    for (size_t at = 0; at + 16 <= all.size();) {
      const size_t n = Le16(all, at + 8);
      if (n < 16 || at + n > all.size()) break;
      out.emplace_back(all.begin() + at, all.begin() + at + n);
      at += n;
    }
    return out;
  }
  // The response stub of a call (its fragments joined), or empty for a fault.
  Bytes Call(uint16_t opnum, const Bytes& stub) {
    Bytes joined;
    for (const Bytes& pdu : Exchange(RequestPdu(++call_id_, opnum, stub))) {
      last_type_ = uint8_t(pdu[2]);
      if (last_type_ != 2) return {};
      joined.insert(joined.end(), pdu.begin() + 24, pdu.end());
    }
    return joined;
  }
  uint32_t FaultOf(uint16_t opnum, const Bytes& stub) {
    auto out = Exchange(RequestPdu(++call_id_, opnum, stub));
    if (out.size() != 1 || uint8_t(out[0][2]) != 3) return 0;
    return Le32(out[0], 24);
  }
  void SetUp() override {
    auto ack = Exchange(BindPdu());
    ASSERT_EQ(ack.size(), 1u);
    ASSERT_EQ(uint8_t(ack[0][2]), 12);
    handle_ = OpenPolicy();
  }
  Bytes OpenPolicy() {
    Bytes out = Call(44, OpenPolicy2Stub());
    EXPECT_EQ(out.size(), 24u);
    EXPECT_EQ(Le32(out, 20), 0u);
    return Bytes(out.begin(), out.begin() + 20);
  }

  LsarpcPipe pipe_;
  Bytes handle_;
  uint32_t call_id_ = 1;
  uint8_t last_type_ = 0;
};

TEST_F(LsarpcTest, BindAckNamesTheLsassPipe) {
  LsarpcPipe pipe(TestAccounts(), "alice");
  ASSERT_TRUE(pipe.Write(BindPdu()).ok());
  bool more = false;
  Bytes ack = pipe.Read(4096, &more);
  ASSERT_GE(ack.size(), 68u);
  EXPECT_EQ(Le16(ack, 24), 12);
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(ack.data() + 26), 11), "\\PIPE\\lsass");
  EXPECT_EQ(Le16(ack, 44), 0);  // accepted
}

TEST_F(LsarpcTest, OpenPolicyGivesDistinctHandles) {
  EXPECT_NE(handle_, Bytes(20, std::byte{0}));
  Bytes other = OpenPolicy();
  EXPECT_NE(handle_, other);
  // LsarOpenPolicy: SystemName is a [unique] wchar_t*: one character.
  Bytes v1 = Call(6, Stub()
                         .Referent()
                         .Short('\\')
                         .Long(24)
                         .Long(0)
                         .Long(0)
                         .Long(0)
                         .Long(0)
                         .Long(0)
                         .Long(0x02000000)
                         .b);
  ASSERT_EQ(v1.size(), 24u);
  EXPECT_EQ(Le32(v1, 20), 0u);
}

TEST_F(LsarpcTest, LookupSidsGolden) {
  Bytes got =
      Call(15, LookupSidsStub(
                   handle_, {"S-1-5-21-1-2-3-3000", "S-1-5-21-1-2-3-500", "S-1-5-32-544"}, false));
  Stub want;
  // ReferencedDomains: -> {Entries 2, -> Domains, MaxEntries}, the array, its referents.
  want.Referent().Long(2).Referent().Long(2).Long(2);
  want.Ustr("DITTOFS").Referent().Ustr("BUILTIN").Referent();
  want.UstrBuffer("DITTOFS").SidBody("S-1-5-21-1-2-3");
  want.UstrBuffer("BUILTIN").SidBody("S-1-5-32");
  // TranslatedNames: {Entries 3, -> Names}, {Use, Name, DomainIndex} each, the names.
  want.Long(3).Referent().Long(3);
  want.Short(1).Ustr("alice").Long(0);
  want.Short(8).Ustr("S-1-5-21-1-2-3-500").Long(0);
  want.Short(4).Ustr("Administrators").Long(1);
  want.UstrBuffer("alice").UstrBuffer("S-1-5-21-1-2-3-500").UstrBuffer("Administrators");
  want.Long(2);           // MappedCount
  want.Long(0x00000107);  // STATUS_SOME_NOT_MAPPED
  EXPECT_TRUE(Matches(got, want));
}

TEST_F(LsarpcTest, LookupSids2CarriesFlagsAndStatuses) {
  Bytes got = Call(57, LookupSidsStub(handle_, {"S-1-1-0"}, true));
  Stub want;
  want.Referent().Long(1).Referent().Long(1).Long(1);
  want.Ustr("").Referent().UstrBuffer("").SidBody("S-1-1");
  want.Long(1).Referent().Long(1).Short(5).Ustr("Everyone").Long(0).Long(0);
  want.UstrBuffer("Everyone").Long(1).Long(0);
  EXPECT_TRUE(Matches(got, want));

  got = Call(57, LookupSidsStub(handle_, {"S-1-5-21-7-7-7-1000", "S-1-16-0"}, true));
  ASSERT_GE(got.size(), 8u);
  EXPECT_EQ(Le32(got, got.size() - 8), 0u);          // MappedCount
  EXPECT_EQ(Le32(got, got.size() - 4), 0xC0000073);  // STATUS_NONE_MAPPED
  // LsarLookupSids3 is LookupSids2 without the handle.
  Bytes v2 = LookupSidsStub(handle_, {"S-1-5-18"}, true);
  Bytes v3(v2.begin() + 20, v2.end());
  got = Call(76, v3);
  ASSERT_GE(got.size(), 4u);
  EXPECT_EQ(Le32(got, got.size() - 4), 0u);
}

TEST_F(LsarpcTest, LookupNames3Golden) {
  Bytes got = Call(68, LookupNamesStub(handle_, {"dittofs\\alice", "nobody"}, true));
  Stub want;
  want.Referent().Long(1).Referent().Long(1).Long(1);
  want.Ustr("DITTOFS").Referent().UstrBuffer("DITTOFS").SidBody("S-1-5-21-1-2-3");
  // TranslatedSids: {Use, -> Sid, DomainIndex, Flags} each, then the SIDs.
  want.Long(2).Referent().Long(2);
  want.Short(1).Referent().Long(0).Long(0);
  want.Short(8).Long(0).Long(0xFFFFFFFF).Long(0);
  want.SidBody("S-1-5-21-1-2-3-3000");
  want.Long(1).Long(0x00000107);
  EXPECT_TRUE(Matches(got, want));
}

TEST_F(LsarpcTest, LookupNamesGivesRids) {
  Bytes got = Call(14, LookupNamesStub(handle_, {"BUILTIN\\Administrators"}, false));
  Stub want;
  want.Referent().Long(1).Referent().Long(1).Long(1);
  want.Ustr("BUILTIN").Referent().UstrBuffer("BUILTIN").SidBody("S-1-5-32");
  want.Long(1).Referent().Long(1).Short(4).Long(544).Long(0);  // {Use, RelativeId, DomainIndex}
  want.Long(1).Long(0);
  EXPECT_TRUE(Matches(got, want));
  // LsarLookupNames2: the same with Flags; LsarLookupNames4: 3 without the handle.
  got = Call(58, LookupNamesStub(handle_, {"staff"}, true));
  ASSERT_GE(got.size(), 4u);
  EXPECT_EQ(Le32(got, got.size() - 4), 0u);
  Bytes v3 = LookupNamesStub(handle_, {"nobody"}, true);
  got = Call(77, Bytes(v3.begin() + 20, v3.end()));
  ASSERT_GE(got.size(), 4u);
  EXPECT_EQ(Le32(got, got.size() - 4), 0xC0000073);
}

TEST_F(LsarpcTest, QueryInformationPolicy) {
  Bytes got = Call(46, Stub().Raw(handle_).Short(5).b);
  Stub want;
  want.Referent().Short(5).Ustr("DITTOFS").Referent();
  want.UstrBuffer("DITTOFS").SidBody("S-1-5-21-1-2-3").Long(0);
  EXPECT_TRUE(Matches(got, want));

  got = Call(7, Stub().Raw(handle_).Short(3).b);
  Stub primary;
  primary.Referent().Short(3).Ustr("WORKGROUP").Long(0).UstrBuffer("WORKGROUP").Long(0);
  EXPECT_TRUE(Matches(got, primary));

  got = Call(46, Stub().Raw(handle_).Short(12).b);
  Stub dns;
  dns.Referent().Short(12).Ustr("WORKGROUP").Ustr("").Ustr("");
  for (int i = 0; i < 4; ++i) dns.Long(0);  // DomainGuid
  dns.Long(0);                              // Sid
  dns.UstrBuffer("WORKGROUP").UstrBuffer("").UstrBuffer("").Long(0);
  EXPECT_TRUE(Matches(got, dns));

  got = Call(7, Stub().Raw(handle_).Short(2).b);
  EXPECT_TRUE(Matches(got, Stub().Long(0).Long(0xC000000D)));  // STATUS_INVALID_PARAMETER
}

TEST_F(LsarpcTest, GetUserName) {
  // SystemName NULL, *UserName NULL, DomainName -> NULL.
  Bytes got = Call(45, Stub().Long(0).Long(0).Referent().Long(0).b);
  Stub want;
  want.Referent().Ustr("alice").UstrBuffer("alice");
  want.Referent().Referent().Ustr("DITTOFS").UstrBuffer("DITTOFS");
  want.Long(0);
  EXPECT_TRUE(Matches(got, want));
  got = Call(45, Stub().Long(0).Long(0).Long(0).b);  // no DomainName wanted
  Stub without;
  without.Referent().Ustr("alice").UstrBuffer("alice").Long(0).Long(0);
  EXPECT_TRUE(Matches(got, without));
}

TEST_F(LsarpcTest, CloseAndUnknownHandles) {
  Bytes closed = Call(0, handle_);
  EXPECT_TRUE(Matches(closed, Stub().Raw(Bytes(20, std::byte{0})).Long(0)));
  // The handle is gone: every use of it is STATUS_INVALID_HANDLE.
  EXPECT_TRUE(Matches(Call(0, handle_), Stub().Raw(Bytes(20, std::byte{0})).Long(0xC0000008)));
  EXPECT_TRUE(Matches(Call(7, Stub().Raw(handle_).Short(5).b), Stub().Long(0).Long(0xC0000008)));
  EXPECT_TRUE(Matches(Call(15, LookupSidsStub(handle_, {"S-1-1-0"}, false)),
                      Stub().Long(0).Long(0).Long(0).Long(0).Long(0xC0000008)));
  EXPECT_TRUE(Matches(Call(68, LookupNamesStub(Bytes(20, std::byte{7}), {"alice"}, true)),
                      Stub().Long(0).Long(0).Long(0).Long(0).Long(0xC0000008)));
}

TEST_F(LsarpcTest, HandlesAreBounded) {
  int refused = 0;
  for (int i = 0; i < 70; ++i) {
    Bytes out = Call(44, OpenPolicy2Stub());
    ASSERT_EQ(out.size(), 24u);
    if (Le32(out, 20) == 0xC000009A) ++refused;  // STATUS_INSUFFICIENT_RESOURCES
  }
  EXPECT_EQ(refused, 70 - 63);  // 64 in all, with the fixture's
  Call(0, handle_);
  EXPECT_EQ(Le32(Call(44, OpenPolicy2Stub()), 20), 0u);
}

TEST_F(LsarpcTest, UnservedOperationsFault) {
  EXPECT_EQ(FaultOf(1, {}), 0x1C010002u);  // LsarDelete: nca_s_op_rng_error
  EXPECT_EQ(FaultOf(78, {}), 0x1C010002u);
}

TEST_F(LsarpcTest, TruncatedStubsFault) {
  const std::vector<std::pair<uint16_t, Bytes>> calls = {
      {0, handle_},
      {6, Stub().Referent().Short('\\').Long(24).Long(0).Long(0).Long(0).Long(0).Long(0).b},
      {7, Stub().Raw(handle_).Short(5).b},
      {14, LookupNamesStub(handle_, {"alice", "staff"}, false)},
      {15, LookupSidsStub(handle_, {"S-1-1-0", "S-1-5-21-1-2-3-3000"}, false)},
      {44, OpenPolicy2Stub()},
      {45, Stub().Long(0).Long(0).Referent().Long(0).b},
      {46, Stub().Raw(handle_).Short(5).b},
      {57, LookupSidsStub(handle_, {"S-1-1-0"}, true)},
      {58, LookupNamesStub(handle_, {"alice"}, true)},
      {68, LookupNamesStub(handle_, {"alice"}, true)},
  };
  for (const auto& [opnum, stub] : calls) {
    // Every proper prefix that ends before the last field the call reads is a fault.
    const size_t needed = opnum == 44 || opnum == 6 ? stub.size() - 4 : stub.size();
    for (size_t n = 0; n < needed; ++n) {
      SCOPED_TRACE(::testing::Message() << "opnum " << opnum << " cut at " << n);
      EXPECT_EQ(FaultOf(opnum, Bytes(stub.begin(), stub.begin() + n)), 0x1C01000Bu);
    }
  }
}

TEST_F(LsarpcTest, HostileCountsFault) {
  // 20481 SIDs, more than [range(0, 20480)] allows.
  EXPECT_EQ(FaultOf(15, Stub().Raw(handle_).Long(20481).Referent().Long(20481).b), 0x1C01000Bu);
  // A conformance that is not Entries.
  EXPECT_EQ(FaultOf(15, Stub().Raw(handle_).Long(1).Referent().Long(2).b), 0x1C01000Bu);
  // Entries with a null array.
  EXPECT_EQ(FaultOf(15, Stub().Raw(handle_).Long(3).Long(0).b), 0x1C01000Bu);
  // 1001 names.
  EXPECT_EQ(FaultOf(14, Stub().Raw(handle_).Long(1001).Long(1001).b), 0x1C01000Bu);
  // A SID of 16 sub-authorities; one whose count is not its conformance.
  Stub sid16;
  sid16.Raw(handle_).Long(1).Referent().Long(1).Referent().Long(16).Byte(1).Byte(16);
  for (int i = 0; i < 6 + 64; ++i) sid16.Byte(0);
  EXPECT_EQ(FaultOf(15, sid16.Long(0).Long(0).Short(1).Long(0).b), 0x1C01000Bu);
  Stub mismatch;
  mismatch.Raw(handle_).Long(1).Referent().Long(1).Referent().Long(2).Byte(1).Byte(1);
  for (int i = 0; i < 6 + 8; ++i) mismatch.Byte(0);
  EXPECT_EQ(FaultOf(15, mismatch.Long(0).Long(0).Short(1).Long(0).b), 0x1C01000Bu);
  // A name whose Length is odd, one longer than its MaximumLength, one that is not UTF-16.
  EXPECT_EQ(FaultOf(14, Stub().Raw(handle_).Long(1).Long(1).Short(3).Short(4).Referent().b),
            0x1C01000Bu);
  EXPECT_EQ(FaultOf(14, Stub().Raw(handle_).Long(1).Long(1).Short(4).Short(2).Referent().b),
            0x1C01000Bu);
  Stub lone;
  lone.Raw(handle_).Long(1).Long(1).Short(2).Short(2).Referent().Long(1).Long(0).Long(1);
  lone.Short(0xD800).Long(0).Long(0).Short(1).Long(0);  // a lone surrogate
  EXPECT_EQ(FaultOf(14, lone.b), 0x1C01000Bu);
  // The pipe still answers.
  Bytes ok = Call(15, LookupSidsStub(handle_, {"S-1-1-0"}, false));
  ASSERT_GE(ok.size(), 4u);
  EXPECT_EQ(Le32(ok, ok.size() - 4), 0u);
}

TEST_F(LsarpcTest, FragmentedRequestAndFragmentedAnswer) {
  std::vector<std::string> sids;
  for (int i = 0; i < 300; ++i) sids.push_back("S-1-22-1-" + std::to_string(i % 2 ? 1000 : 5));
  const Bytes stub = LookupSidsStub(handle_, sids, false);
  // The request in three fragments: first, middle, last.
  const size_t third = stub.size() / 3;
  ASSERT_TRUE(pipe_.Write(RequestPdu(50, 15, Bytes(stub.begin(), stub.begin() + third), 1)).ok());
  ASSERT_TRUE(
      pipe_.Write(RequestPdu(50, 15, Bytes(stub.begin() + third, stub.begin() + 2 * third), 0))
          .ok());
  EXPECT_FALSE(pipe_.has_output());
  const std::vector<Bytes> answer =
      Exchange(RequestPdu(50, 15, Bytes(stub.begin() + 2 * third, stub.end()), 2));
  ASSERT_GT(answer.size(), 1u);  // over 4280 bytes: several fragments
  Bytes joined;
  for (const Bytes& pdu : answer) {
    EXPECT_EQ(uint8_t(pdu[2]), 2);
    EXPECT_LE(pdu.size(), 4280u);
    joined.insert(joined.end(), pdu.begin() + 24, pdu.end());
  }
  EXPECT_EQ(Le32(joined, joined.size() - 8), 150u);  // MappedCount: alice's 150
  EXPECT_EQ(Le32(joined, joined.size() - 4), 0x107u);
}

// Writes `stub` as a request cut into fragments that fit a PDU, and returns the answer's stub.
Bytes CallInFragments(LsarpcPipe& pipe, uint16_t opnum, const Bytes& stub) {
  constexpr size_t kPiece = 60000;
  for (size_t at = 0; at < stub.size(); at += kPiece) {
    const size_t end = std::min(stub.size(), at + kPiece);
    const uint8_t flags = (at == 0 ? 1 : 0) | (end == stub.size() ? 2 : 0);
    EXPECT_TRUE(
        pipe.Write(RequestPdu(9, opnum, Bytes(stub.begin() + at, stub.begin() + end), flags)).ok());
  }
  Bytes joined;
  while (pipe.has_output()) {
    bool more = false;
    Bytes pdu = pipe.Read(4280, &more);
    // Whole PDUs: all but the last are of the bind's max_recv_frag, 4280 bytes.
    joined.insert(joined.end(), pdu.begin() + 24, pdu.end());
  }
  return joined;
}

TEST(Lsarpc, TheLargestLookupIsAnsweredAndOversizedAnswersAreRefused) {
  std::vector<std::string> sids;
  for (uint32_t i = 0; i < 20480; ++i) sids.push_back("S-1-22-1-" + std::to_string(i));
  const Bytes v3 = LookupSidsStub({}, sids, true);  // LsarLookupSids3: no handle

  LsaAccounts accounts = TestAccounts();
  accounts.user_name_of = [](uint32_t uid) -> std::optional<std::string> {
    return "user" + std::to_string(uid);
  };
  LsarpcPipe pipe(accounts, "alice");
  ASSERT_TRUE(pipe.Write(BindPdu()).ok());
  (void)pipe.Read(4096, nullptr);
  Bytes answer = CallInFragments(pipe, 76, v3);
  ASSERT_GE(answer.size(), 8u);
  EXPECT_EQ(Le32(answer, answer.size() - 8), 20480u);
  EXPECT_EQ(Le32(answer, answer.size() - 4), 0u);

  // Names of 200 characters: 20480 of them do not fit an answer.
  accounts.user_name_of = [](uint32_t) -> std::optional<std::string> {
    return std::string(200, 'n');
  };
  LsarpcPipe long_names(accounts, "alice");
  ASSERT_TRUE(long_names.Write(BindPdu()).ok());
  (void)long_names.Read(4096, nullptr);
  answer = CallInFragments(long_names, 76, v3);
  EXPECT_TRUE(Matches(answer, Stub().Long(0).Long(0).Long(0).Long(0).Long(0xC000009A)));
}

TEST_F(LsarpcTest, GarbageAfterBindBreaksOnlyTheStream) {
  EXPECT_FALSE(pipe_.Write(Bytes(32, std::byte{0x41})).ok());
  EXPECT_FALSE(pipe_.Write(BindPdu()).ok());
  LsarpcPipe fresh(TestAccounts(), "alice");
  EXPECT_TRUE(fresh.Write(BindPdu()).ok());
}

}  // namespace
}  // namespace dittofs::smb::rpc

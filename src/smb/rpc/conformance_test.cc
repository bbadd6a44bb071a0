// SPDX-License-Identifier: Apache-2.0
//
// SrvsvcPipe checked against PDUs built by hand, field by field, from C706 chapter 12,
// MS-RPCE 2.2.2 and MS-SRVS (not with the library's writer). Referent ids are checked to be
// nonzero, not for their values; answers are split into PDUs by their frag_length, so the
// tests hold whether Read returns one PDU or a byte stream.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstring>
#include <string>
#include <vector>

#include "smb/rpc/rpc_test_util.h"
#include "smb/rpc/srvsvc.h"
#include "testing/status_matchers.h"

namespace dittofs::smb::rpc {
namespace {

using ::dittofs::testing::StatusIs;
using Bytes = std::vector<std::byte>;

struct Builder {
  Bytes b;
  std::vector<size_t> referents;  // where referent ids go
  Builder& U8(int v) {
    b.push_back(std::byte(v));
    return *this;
  }
  Builder& U16(int v) { return U8(v & 0xFF).U8((v >> 8) & 0xFF); }
  Builder& U32(uint32_t v) { return U16(v & 0xFFFF).U16(v >> 16); }
  Builder& Ref() {
    referents.push_back(b.size());
    return U32(0);
  }
  Builder& Raw(const Bytes& r) {
    b.insert(b.end(), r.begin(), r.end());
    return *this;
  }
  Builder& Uuid(const uint8_t (&u)[16]) {
    for (uint8_t x : u) U8(x);
    return *this;
  }
  Builder& Pad4() {
    while (b.size() % 4) U8(0);
    return *this;
  }
  Builder& WStr(const std::string& s) {  // a [string] wchar_t* pointee of ASCII `s`
    Pad4();
    U32(uint32_t(s.size() + 1)).U32(0).U32(uint32_t(s.size() + 1));
    for (char c : s) U16(uint8_t(c));
    return U16(0);
  }
};

constexpr uint8_t kSrvsvc[16] = {0xC8, 0x4F, 0x32, 0x4B, 0x70, 0x16, 0xD3, 0x01,
                                 0x12, 0x78, 0x5A, 0x47, 0xBF, 0x6E, 0xE1, 0x88};
constexpr uint8_t kNdr[16] = {0x04, 0x5D, 0x88, 0x8A, 0xEB, 0x1C, 0xC9, 0x11,
                              0x9F, 0xE8, 0x08, 0x00, 0x2B, 0x10, 0x48, 0x60};
constexpr uint8_t kNdr64[16] = {0x33, 0x05, 0x71, 0x71, 0xBA, 0xBE, 0x37, 0x49,
                                0x83, 0x19, 0xB5, 0xDB, 0xEF, 0x9C, 0xCC, 0x36};
constexpr uint8_t kFeatures[16] = {0x2C, 0x1C, 0xB7, 0x6C, 0x12, 0x98, 0x40, 0x45,
                                   0x03, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00};
constexpr uint8_t kSamr[16] = {0x78, 0x57, 0x34, 0x12, 0x34, 0x12, 0xCD, 0xAB,
                               0xEF, 0x00, 0x01, 0x23, 0x45, 0x67, 0x89, 0xAC};

Builder Header(int type, int flags, uint32_t call_id, int auth_length = 0) {
  Builder b;
  b.U8(5).U8(0).U8(type).U8(flags).U8(0x10).U8(0).U8(0).U8(0).U16(0).U16(auth_length);
  b.U32(call_id);
  return b;
}
Bytes Done(Builder b) {
  b.b[8] = std::byte(b.b.size() & 0xFF);
  b.b[9] = std::byte(b.b.size() >> 8);
  return b.b;
}

struct Ctx {
  int id;
  const uint8_t (*abstract)[16];
  uint32_t abstract_version;
  std::vector<std::pair<const uint8_t (*)[16], uint32_t>> transfer;
};

Bytes Bind(uint32_t call_id, const std::vector<Ctx>& contexts, int max_xmit = 4280,
           int max_recv = 4280, int type = 11) {
  Builder b = Header(type, 3, call_id);
  b.U16(max_xmit).U16(max_recv).U32(0).U8(int(contexts.size())).U8(0).U16(0);
  for (const Ctx& c : contexts) {
    b.U16(c.id).U8(int(c.transfer.size())).U8(0).Uuid(*c.abstract).U32(c.abstract_version);
    for (auto [uuid, version] : c.transfer) b.Uuid(*uuid).U32(version);
  }
  return Done(b);
}
Bytes SrvsvcBind(uint32_t call_id = 1) { return Bind(call_id, {{0, &kSrvsvc, 3, {{&kNdr, 2}}}}); }

Bytes Request(uint32_t call_id, int opnum, const Bytes& stub, int flags = 3, int context = 0) {
  Builder b = Header(0, flags, call_id);
  b.U32(uint32_t(stub.size())).U16(context).U16(opnum).Raw(stub);
  return Done(b);
}

// NetrShareEnum's [in] stub: ServerName, InfoStruct (Level, union tag, container with no
// entries), PreferedMaximumLength, ResumeHandle.
Bytes EnumStub(uint32_t level, bool resume = true) {
  Builder s;
  s.U32(0x1000).WStr("\\\\DITTOFS").Pad4();
  s.U32(level).U32(level).U32(0x2000).U32(0).U32(0);
  s.U32(0xFFFFFFFF);
  if (resume) {
    s.U32(0x3000).U32(0);
  } else {
    s.U32(0);
  }
  return s.b;
}

Bytes GetInfoStub(const std::string& name, uint32_t level) {
  Builder s;
  s.U32(0);  // ServerName NULL
  s.WStr(name).Pad4().U32(level);
  return s.b;
}

std::vector<ShareInfo> TwoShares() {
  return {{"export", 0, "the export", "C:\\export", 0xFFFFFFFF, 2},
          {"IPC$", 0x80000003, "Remote IPC", "", 0xFFFFFFFF, 0}};
}

class Conformance : public ::testing::Test {
 protected:
  Conformance() : pipe_([this] { return shares_; }, "DITTOFS") {}

  std::vector<Bytes> Exchange(const Bytes& pdu) {
    EXPECT_OK(pipe_.Write(pdu));
    return Drain(pipe_);
  }
  // Every queued answer, split into PDUs by frag_length.
  static std::vector<Bytes> Drain(SrvsvcPipe& pipe) {
    Bytes all;
    while (pipe.has_output()) {
      bool more = false;
      Bytes b = pipe.Read(1 << 20, &more);
      all.insert(all.end(), b.begin(), b.end());
    }
    std::vector<Bytes> out;
    size_t pos = 0;
    while (all.size() - pos >= 16) {
      size_t n = Le16(all, pos + 8);
      if (n < 16 || n > all.size() - pos) break;
      out.emplace_back(all.begin() + ptrdiff_t(pos), all.begin() + ptrdiff_t(pos + n));
      pos += n;
    }
    EXPECT_EQ(pos, all.size()) << "answers that are not whole PDUs";
    return out;
  }
  Bytes Call(uint32_t call_id, int opnum, const Bytes& stub) {
    auto out = Exchange(Request(call_id, opnum, stub));
    EXPECT_EQ(out.size(), 1u);
    if (out.empty()) return {};
    EXPECT_EQ(uint8_t(out[0][2]), 2) << "a response PDU";
    return Bytes(out[0].begin() + 24, out[0].end());
  }
  void Bound() { ASSERT_EQ(Exchange(SrvsvcBind()).size(), 1u); }
  static uint32_t FaultOf(const Bytes& pdu) {
    EXPECT_EQ(uint8_t(pdu[2]), 3) << "a fault PDU";
    EXPECT_GE(pdu.size(), 28u);
    return pdu.size() >= 28 ? Le32(pdu, 24) : 0;
  }

  std::vector<ShareInfo> shares_ = TwoShares();
  SrvsvcPipe pipe_;
};

TEST_F(Conformance, BindAckFieldByField) {
  auto out = Exchange(SrvsvcBind(7));
  ASSERT_EQ(out.size(), 1u);
  const Bytes& a = out[0];
  ASSERT_EQ(a.size(), 68u);  // 16 + 8 + 2 + 13 (+1 pad) + 4 + 24
  EXPECT_EQ(uint8_t(a[0]), 5);
  EXPECT_EQ(uint8_t(a[1]), 0);
  EXPECT_EQ(uint8_t(a[2]), 12);  // bind_ack
  EXPECT_EQ(uint8_t(a[3]) & 3, 3);
  EXPECT_EQ(uint8_t(a[4]), 0x10);
  EXPECT_EQ(Le16(a, 10), 0);
  EXPECT_EQ(Le32(a, 12), 7u);
  EXPECT_EQ(Le16(a, 16), 4280);  // max_xmit_frag
  EXPECT_EQ(Le16(a, 18), 4280);  // max_recv_frag
  EXPECT_NE(Le32(a, 20), 0u);    // assoc_group_id
  EXPECT_EQ(Le16(a, 24), 13);    // sec_addr length, with the NUL
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(a.data() + 26), 13),
            std::string("\\PIPE\\srvsvc\0", 13));
  EXPECT_EQ(uint8_t(a[40]), 1);  // n_results
  EXPECT_EQ(Le16(a, 44), 0);     // acceptance
  EXPECT_EQ(Le16(a, 46), 0);
  EXPECT_EQ(0, std::memcmp(a.data() + 48, kNdr, 16));
  EXPECT_EQ(Le32(a, 64), 2u);
}

TEST_F(Conformance, BindResultsPerContext) {
  auto out = Exchange(Bind(1, {{0, &kSrvsvc, 3, {{&kNdr64, 1}}},
                               {1, &kSrvsvc, 3, {{&kNdr64, 1}, {&kNdr, 2}}},
                               {2, &kSrvsvc, 3, {{&kFeatures, 1}}},
                               {3, &kSamr, 1, {{&kNdr, 2}}},
                               {4, &kSrvsvc, 2, {{&kNdr, 2}}}}));
  ASSERT_EQ(out.size(), 1u);
  const Bytes& a = out[0];
  ASSERT_EQ(a.size(), 44u + 5 * 24);
  EXPECT_EQ(uint8_t(a[40]), 5);
  auto result = [&](int i) { return Le16(a, 44 + 24 * i); };
  auto reason = [&](int i) { return Le16(a, 46 + 24 * i); };
  EXPECT_EQ(result(0), 2);  // NDR64 only: provider rejection,
  EXPECT_EQ(reason(0), 2);  // proposed transfer syntaxes not supported
  EXPECT_EQ(result(1), 0);  // NDR among others: accepted
  EXPECT_EQ(Le32(a, 44 + 24 + 20), 2u);
  EXPECT_EQ(result(2), 3);  // negotiate_ack
  EXPECT_EQ(result(3), 2);  // unknown interface: provider rejection,
  EXPECT_EQ(reason(3), 1);  // abstract syntax not supported
  EXPECT_EQ(result(4), 2);  // srvsvc v2.0 is not the interface we serve
  // Context 1 carries calls.
  EXPECT_EQ(uint8_t(Exchange(Request(3, 15, EnumStub(1), 3, 1))[0][2]), 2);
}

TEST_F(Conformance, CallsOnARejectedContextFault) {
  Exchange(Bind(1, {{0, &kSrvsvc, 3, {{&kNdr64, 1}}}, {1, &kSrvsvc, 3, {{&kNdr, 2}}}}));
  auto out = Exchange(Request(2, 15, EnumStub(1), 3, 0));
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(uint8_t(out[0][2]), 3);
}

TEST_F(Conformance, FragmentSizesAreNegotiated) {
  auto a = Exchange(Bind(1, {{0, &kSrvsvc, 3, {{&kNdr, 2}}}}, 2048, 3000))[0];
  EXPECT_LE(Le16(a, 16), 3000);  // we send at most what the client receives
}

TEST_F(Conformance, ShareEnumLevel1Golden) {
  shares_ = {{"a", 0, "", "", 0xFFFFFFFF, 0}};
  Bound();
  Bytes stub = Call(2, 15, EnumStub(1));
  Builder want;
  want.U32(1).U32(1);              // Level, union discriminant
  want.Ref();                      // -> SHARE_INFO_1_CONTAINER
  want.U32(1).Ref();               // EntriesRead, -> Buffer
  want.U32(1);                     // conformant array: max count
  want.Ref().U32(0).Ref();         // shi1_netname, shi1_type, shi1_remark
  want.WStr("a").WStr("").Pad4();  // the deferred strings
  want.U32(1);                     // TotalEntries
  want.Ref().U32(0);               // ResumeHandle
  want.U32(0);                     // NERR_Success
  EXPECT_TRUE(Matches(stub, want));
}

TEST_F(Conformance, ShareEnumEveryLevel) {
  Bound();
  for (uint32_t level : {0u, 1u, 2u, 501u, 502u}) {
    Bytes stub = Call(2, 15, EnumStub(level, /*resume=*/false));
    ASSERT_GE(stub.size(), 24u);
    EXPECT_EQ(Le32(stub, 0), level);
    EXPECT_EQ(Le32(stub, 4), level);
    EXPECT_EQ(Le32(stub, 12), 2u) << "EntriesRead at level " << level;
    // TotalEntries, then ResumeHandle: a [in, out, unique] pointer may come back non-NULL.
    const bool resume = Le32(stub, stub.size() - 12) != 2;
    EXPECT_EQ(Le32(stub, stub.size() - (resume ? 16 : 12)), 2u) << "TotalEntries";
    EXPECT_EQ(Le32(stub, stub.size() - 4), 0u);
  }
  Bytes bad = Call(3, 15, EnumStub(7));
  ASSERT_GE(bad.size(), 4u);
  EXPECT_EQ(Le32(bad, bad.size() - 4), 124u);  // ERROR_INVALID_LEVEL
}

TEST_F(Conformance, ShareGetInfoLevel1Golden) {
  Bound();
  Bytes stub = Call(2, 16, GetInfoStub("EXPORT", 1));  // share names are case-insensitive
  Builder want;
  want.U32(1).Ref();  // union discriminant, -> SHARE_INFO_1
  want.Ref().U32(0).Ref();
  want.WStr("export").WStr("the export").Pad4();
  want.U32(0);
  EXPECT_TRUE(Matches(stub, want));
}

TEST_F(Conformance, ShareGetInfoErrors) {
  Bound();
  EXPECT_TRUE(Matches(Call(2, 16, GetInfoStub("nope", 1)), Builder().U32(1).U32(0).U32(2310)));
  EXPECT_TRUE(Matches(Call(3, 16, GetInfoStub("export", 3)), Builder().U32(3).U32(0).U32(124)));
  EXPECT_TRUE(
      Matches(Call(4, 16, GetInfoStub("export", 1005)), Builder().U32(1005).Ref().U32(0).U32(0)));
}

TEST_F(Conformance, ServerGetInfo100Golden) {
  Bound();
  Bytes stub = Call(2, 21, Builder().U32(0).U32(100).b);
  Builder want;
  want.U32(100).Ref();
  want.U32(500).Ref();  // PLATFORM_ID_NT, -> sv100_name
  want.WStr("DITTOFS").Pad4();
  want.U32(0);
  EXPECT_TRUE(Matches(stub, want));
}

TEST_F(Conformance, UnknownOpnumFaults) {
  Bound();
  auto out = Exchange(Request(9, 40, {}));
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(FaultOf(out[0]), 0x1C010002u);  // nca_s_op_rng_error
  EXPECT_EQ(Le32(out[0], 12), 9u);
}

TEST_F(Conformance, UndecodableStubFaults) {
  Bound();
  auto out = Exchange(Request(2, 16, Builder().U32(0).U32(1).b));
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(uint8_t(out[0][2]), 3);
}

TEST_F(Conformance, RequestBeforeBindIsRefused) {
  Status s = pipe_.Write(Request(1, 15, EnumStub(1)));
  if (s.ok()) {
    auto out = Drain(pipe_);
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(uint8_t(out[0][2]), 3);
  }
}

TEST_F(Conformance, AuthVerifiersAreRefused) {
  Builder b = Header(11, 3, 1, /*auth_length=*/16);
  Bytes body = SrvsvcBind();
  b.Raw(Bytes(body.begin() + 16, body.end())).U8(10).U8(2).U8(0).U8(0).U32(0);
  for (int i = 0; i < 16; ++i) b.U8(0);
  Status s = pipe_.Write(Done(b));
  if (s.ok()) {
    auto out = Drain(pipe_);
    ASSERT_EQ(out.size(), 1u);
    EXPECT_THAT(uint8_t(out[0][2]), ::testing::AnyOf(13, 3));  // bind_nak, or a fault
  }
}

TEST_F(Conformance, AlterContextAnswers) {
  Bound();
  auto alter = Exchange(Bind(3, {{5, &kSrvsvc, 3, {{&kNdr, 2}}}}, 4280, 4280, 14));
  ASSERT_EQ(alter.size(), 1u);
  EXPECT_EQ(uint8_t(alter[0][2]), 15);
  EXPECT_EQ(uint8_t(Exchange(Request(4, 15, EnumStub(1), 3, 5))[0][2]), 2);
}

TEST_F(Conformance, FragmentedRequestIsReassembled) {
  Bound();
  Bytes whole = Call(2, 16, GetInfoStub("export", 2));
  Bytes stub = GetInfoStub("export", 2);
  Bytes p1(stub.begin(), stub.begin() + 8), p2(stub.begin() + 8, stub.begin() + 21),
      p3(stub.begin() + 21, stub.end());
  ASSERT_OK(pipe_.Write(Request(3, 16, p1, 1)));
  ASSERT_OK(pipe_.Write(Request(3, 16, p2, 0)));
  EXPECT_FALSE(pipe_.has_output());
  auto out = Exchange(Request(3, 16, p3, 2));
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(Bytes(out[0].begin() + 24, out[0].end()), whole);
}

TEST_F(Conformance, ByteAtATimeWritesGiveTheSameAnswers) {
  Bytes stream = SrvsvcBind();
  Bytes req = Request(2, 15, EnumStub(2));
  stream.insert(stream.end(), req.begin(), req.end());
  SrvsvcPipe whole([] { return TwoShares(); }, "D");
  ASSERT_OK(whole.Write(stream));
  for (std::byte b : stream) ASSERT_OK(pipe_.Write(ByteView(&b, 1)));
  auto a = Drain(pipe_);
  auto b = Drain(whole);
  ASSERT_EQ(a.size(), 2u);
  ASSERT_EQ(b.size(), 2u);
  EXPECT_EQ(Bytes(a[1].begin() + 24, a[1].end()), Bytes(b[1].begin() + 24, b[1].end()));
}

TEST_F(Conformance, LargeResponsesAreFragmentedToMaxXmitFrag) {
  shares_.clear();
  for (int i = 0; i < 300; ++i) shares_.push_back({"share" + std::to_string(i), 0, "c", "", 1, 0});
  ASSERT_OK(pipe_.Write(Bind(1, {{0, &kSrvsvc, 3, {{&kNdr, 2}}}}, 4280, 2000)));
  Drain(pipe_);
  auto out = Exchange(Request(2, 15, EnumStub(1)));
  ASSERT_GT(out.size(), 2u);
  Bytes stub;
  for (size_t i = 0; i < out.size(); ++i) {
    const Bytes& f = out[i];
    EXPECT_LE(f.size(), 2000u);
    EXPECT_EQ(uint8_t(f[3]) & 3, (i == 0 ? 1 : 0) | (i + 1 == out.size() ? 2 : 0));
    stub.insert(stub.end(), f.begin() + 24, f.end());
  }
  EXPECT_EQ(Le32(stub, 12), 300u);  // EntriesRead
}

TEST_F(Conformance, GarbageBreaksTheStream) {
  Bytes big_endian = SrvsvcBind();
  big_endian[4] = std::byte{0x00};
  Status s = pipe_.Write(big_endian);
  if (s.ok()) {  // the brief allows a fault instead
    auto out = Drain(pipe_);
    for (const Bytes& p : out) EXPECT_NE(uint8_t(p[2]), 12) << "a big-endian bind was accepted";
  } else {
    EXPECT_THAT(s, StatusIs(Errc::kInvalid));
  }
  SrvsvcPipe v4([] { return TwoShares(); }, "D");
  Bytes old = SrvsvcBind();
  old[0] = std::byte{4};
  EXPECT_THAT(v4.Write(old), StatusIs(Errc::kInvalid));
  SrvsvcPipe short_frag([] { return TwoShares(); }, "D");
  Bytes lying = SrvsvcBind();
  lying[8] = std::byte{4};
  lying[9] = std::byte{0};
  EXPECT_THAT(short_frag.Write(lying), StatusIs(Errc::kInvalid));
}

TEST_F(Conformance, ZeroLengthAndPartialWritesAreKept) {
  ASSERT_OK(pipe_.Write({}));
  Bytes bind = SrvsvcBind();
  ASSERT_OK(pipe_.Write(ByteView(bind).first(20)));
  EXPECT_FALSE(pipe_.has_output());
  ASSERT_OK(pipe_.Write(ByteView(bind).subspan(20)));
  EXPECT_TRUE(pipe_.has_output());
}

TEST_F(Conformance, OversizedRequestIsRefusedWithBoundedMemory) {
  Bound();
  Bytes chunk(4000, std::byte{0});
  Status s = pipe_.Write(Request(2, 15, chunk, 1));
  for (int i = 0; i < 300 && s.ok(); ++i) s = pipe_.Write(Request(2, 15, chunk, 0));
  if (s.ok()) s = pipe_.Write(Request(2, 15, chunk, 2));
  if (s.ok()) {
    auto out = Drain(pipe_);
    ASSERT_FALSE(out.empty());
    EXPECT_EQ(uint8_t(out.back()[2]), 3);
  }
}

TEST_F(Conformance, UnreadAnswersAreBounded) {
  Bound();
  Bytes req = Request(2, 15, EnumStub(2));
  Status s;
  for (int i = 0; i < 100000 && s.ok(); ++i) s = pipe_.Write(req);
  EXPECT_FALSE(s.ok()) << "2e5 answers queued and never read";
}

}  // namespace
}  // namespace dittofs::smb::rpc

// SPDX-License-Identifier: Apache-2.0
#include "xdr/xdr.h"

#include <gtest/gtest.h>

namespace dittofs::xdr {
namespace {

std::string Hex(const std::string& s) {
  static const char* k = "0123456789abcdef";
  std::string out;
  for (unsigned char c : s) {
    out += k[c >> 4];
    out += k[c & 15];
  }
  return out;
}

TEST(XdrTest, EncodesRfc4506Layouts) {
  XdrEncoder e;
  e.U32(1);
  e.I32(-2);
  e.U64(0x0102030405060708ull);
  e.Bool(true);
  e.String("abcde");  // length 5, then 3 bytes of padding
  EXPECT_EQ(Hex(e.ToString()),
            "00000001"
            "fffffffe"
            "0102030405060708"
            "00000001"
            "00000005"
            "6162636465000000");
  EXPECT_EQ(e.size(), 32u);
}

TEST(XdrTest, RoundTripsAndBorrowsPayload) {
  std::string payload(4000, 'x');
  XdrEncoder e;
  e.U32(7);
  e.VarOpaqueView(AsBytes(payload));
  e.U32(9);
  std::vector<ByteView> segs = e.Segments();
  ASSERT_EQ(segs.size(), 3u);
  EXPECT_EQ(segs[1].data(), AsBytes(payload).data());  // not copied
  std::string flat = e.ToString();
  XdrDecoder d(AsBytes(flat));
  EXPECT_EQ(d.U32(), 7u);
  ByteView got = d.VarOpaque(8192);
  EXPECT_EQ(AsChars(got), payload);
  EXPECT_EQ(d.U32(), 9u);
  EXPECT_TRUE(d.ok());
  EXPECT_EQ(d.remaining(), 0u);
}

TEST(XdrTest, RejectsTruncatedAndOversizedInput) {
  XdrEncoder e;
  e.U32(100);  // claims 100 bytes that are not there
  std::string flat = e.ToString();
  XdrDecoder d(AsBytes(flat));
  d.VarOpaque(1000);
  EXPECT_FALSE(d.ok());
  EXPECT_EQ(d.U32(), 0u);  // sticky

  XdrEncoder e2;
  e2.String("toolong");
  std::string flat2 = e2.ToString();
  XdrDecoder d2(AsBytes(flat2));
  d2.String(3);
  EXPECT_FALSE(d2.ok());

  XdrEncoder e3;
  e3.U32(0xffffffff);
  std::string flat3 = e3.ToString();
  XdrDecoder d3(AsBytes(flat3));
  d3.ArrayLength(1u << 30);
  EXPECT_FALSE(d3.ok());  // cannot fit in the input

  XdrEncoder e4;
  e4.U32(2);
  std::string flat4 = e4.ToString();
  XdrDecoder d4(AsBytes(flat4));
  d4.Bool();
  EXPECT_FALSE(d4.ok());
}

TEST(XdrTest, PatchesReservedWords) {
  XdrEncoder e;
  size_t at = e.Reserve32();
  e.U32(5);
  e.Patch32(at, 42);
  std::string s = e.ToString();
  XdrDecoder d2(AsBytes(s));
  EXPECT_EQ(d2.U32(), 42u);
  EXPECT_EQ(d2.U32(), 5u);
}

std::string Be32(uint32_t v) {
  return std::string{char(v >> 24), char(v >> 16), char(v >> 8), char(v)};
}

TEST(XdrTest, LongOutputsSpanChunksAndKeepEveryByteInOrder) {
  // Enough words, opaques and borrowed views to cross several chunk boundaries at odd places.
  XdrEncoder e;
  std::string expected;
  std::string big(70 * 1024, 'b');  // larger than the largest chunk
  std::vector<size_t> patches;
  for (uint32_t i = 0; i < 5000; ++i) {
    if (i % 97 == 0) {
      patches.push_back(e.Reserve32());
      expected += Be32(0);
    }
    e.U32(i);
    expected += Be32(i);
    if (i % 7 == 0) {
      std::string name(i % 13, char('a' + i % 26));
      e.String(name);
      expected += Be32(uint32_t(name.size())) + name + std::string((4 - name.size() % 4) % 4, '\0');
    }
    if (i % 1000 == 500) {
      e.VarOpaqueView(AsBytes(big));  // borrowed: seals the open chunk
      expected += Be32(uint32_t(big.size())) + big;
    }
    if (i == 4000) {
      e.FixedOpaque(AsBytes(big));  // copied: a chunk of its own size
      expected += big;
    }
  }
  for (size_t k = 0; k < patches.size(); ++k) {
    e.Patch32(patches[k], uint32_t(k + 1));
    expected.replace(patches[k], 4, Be32(uint32_t(k + 1)));
  }
  EXPECT_EQ(e.size(), expected.size());
  EXPECT_EQ(e.ToString(), expected);
  size_t borrowed = 0;
  for (ByteView v : e.Segments()) borrowed += v.data() == AsBytes(big).data();
  EXPECT_EQ(borrowed, 5u);
}

TEST(XdrTest, AppendAndMoveKeepTheBytesAndLeaveTheSourceEmpty) {
  XdrEncoder a;
  a.U32(1);
  XdrEncoder b;
  b.U32(2);
  b.String("xyz");
  a.Append(std::move(b));
  EXPECT_EQ(b.size(), 0u);
  EXPECT_EQ(b.ToString(), "");
  a.U32(3);  // after an append, writing goes on at the end
  std::string want = Be32(1) + Be32(2) + Be32(3) + "xyz" + std::string(1, '\0') + Be32(3);
  EXPECT_EQ(a.ToString(), want);

  XdrEncoder moved(std::move(a));
  EXPECT_EQ(a.size(), 0u);  // NOLINT(bugprone-use-after-move): documented to be empty
  a.U32(9);                 // a moved-from encoder is usable and shares nothing
  EXPECT_EQ(a.ToString(), Be32(9));
  moved.U64(0x0102030405060708ull);
  EXPECT_EQ(moved.ToString(), want + "\1\2\3\4\5\6\7\x08");
  moved.Clear();
  EXPECT_EQ(moved.size(), 0u);
  moved.U32(7);
  EXPECT_EQ(moved.ToString(), Be32(7));
}

}  // namespace
}  // namespace dittofs::xdr

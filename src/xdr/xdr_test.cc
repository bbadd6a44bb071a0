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

}  // namespace
}  // namespace dittofs::xdr

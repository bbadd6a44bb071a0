// SPDX-License-Identifier: Apache-2.0
#include "rpc/record.h"

#include <gtest/gtest.h>

#include <string>

namespace dittofs::rpc {
namespace {

std::string Fragment(std::string_view body, bool last) {
  std::byte mark[4];
  StoreBe32(mark, static_cast<uint32_t>(body.size()) | (last ? kLastFragment : 0));
  return std::string(AsChars(ByteView(mark, 4))) + std::string(body);
}

TEST(RecordAssemblerTest, JoinsFragmentsAndSplitsRecords) {
  std::string stream = Fragment("hello ", false) + Fragment("world", true) + Fragment("x", true);
  // Feed one byte at a time: framing must not depend on how the stream is cut.
  RecordAssembler a(1024);
  std::vector<Buffer> out;
  for (char c : stream) ASSERT_TRUE(a.Feed(AsBytes(std::string_view(&c, 1)), &out).ok());
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(AsChars(out[0].view()), "hello world");
  EXPECT_EQ(AsChars(out[1].view()), "x");
  EXPECT_FALSE(a.mid_record());
}

TEST(RecordAssemblerTest, RejectsOversizedRecordBeforeAllocating) {
  RecordAssembler a(1 << 20);
  std::vector<Buffer> out;
  std::byte mark[4];
  StoreBe32(mark, 0x7fffffff | kLastFragment);  // a 2 GiB fragment
  EXPECT_EQ(a.Feed(ByteView(mark, 4), &out).code(), Errc::kTooBig);

  RecordAssembler b(10);
  std::string s = Fragment("123456", false) + Fragment("123456", true);
  EXPECT_EQ(b.Feed(AsBytes(s), &out).code(), Errc::kTooBig);
}

TEST(RecordAssemblerTest, DirectTargetReceivesBodyInPlace) {
  RecordAssembler a(1024);
  std::vector<Buffer> out;
  std::byte mark[4];
  StoreBe32(mark, 5 | kLastFragment);
  ASSERT_TRUE(a.Feed(ByteView(mark, 4), &out).ok());
  MutableByteView t = a.DirectTarget();
  ASSERT_EQ(t.size(), 5u);
  std::memcpy(t.data(), "abcde", 5);
  a.CommitDirect(5, &out);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(AsChars(out[0].view()), "abcde");
}

TEST(RecordAssemblerTest, EmptyFragmentsAreAllowedButBounded) {
  RecordAssembler a(1024);
  std::vector<Buffer> out;
  std::string s;
  for (int i = 0; i < 2000; ++i) s += Fragment("", false);
  EXPECT_EQ(a.Feed(AsBytes(s), &out).code(), Errc::kInvalid);
}

}  // namespace
}  // namespace dittofs::rpc

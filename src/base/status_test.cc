// SPDX-License-Identifier: Apache-2.0
#include <gtest/gtest.h>

#include "base/bytes.h"
#include "base/result.h"

namespace dittofs {
namespace {

Result<int> Half(int x) {
  if (x % 2 != 0) return Status(Errc::kInvalid, "odd");
  return x / 2;
}

Result<int> Quarter(int x) {
  ASSIGN_OR_RETURN(int h, Half(x));
  return Half(h);
}

Status CheckQuarter(int x) {
  RETURN_IF_ERROR(Quarter(x));
  return Status::Ok();
}

TEST(ResultTest, PropagatesErrorsAndValues) {
  EXPECT_EQ(*Quarter(8), 2);
  EXPECT_EQ(Quarter(6).status().code(), Errc::kInvalid);
  EXPECT_TRUE(CheckQuarter(4).ok());
  EXPECT_EQ(CheckQuarter(2).code(), Errc::kInvalid);
  EXPECT_EQ(Status(Errc::kNotFound, "x").ToString(), "not found: x");
}

TEST(BytesTest, BigEndianRoundTrip) {
  std::byte b[8];
  StoreBe64(b, 0x0102030405060708ull);
  EXPECT_EQ(std::to_integer<int>(b[0]), 1);
  EXPECT_EQ(LoadBe64(b), 0x0102030405060708ull);
  StoreBe32(b, 0xdeadbeef);
  EXPECT_EQ(LoadBe32(b), 0xdeadbeefu);
}

}  // namespace
}  // namespace dittofs

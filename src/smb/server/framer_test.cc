// SPDX-License-Identifier: Apache-2.0
#include "smb/server/framer.h"

#include <gtest/gtest.h>

namespace dittofs::smb {
namespace {

std::vector<std::byte> Frame(size_t length, std::byte fill) {
  std::vector<std::byte> f = {std::byte{0}, std::byte(length >> 16), std::byte(length >> 8),
                              std::byte(length)};
  f.resize(4 + length, fill);
  return f;
}

TEST(DirectTcpFramer, CutsMessagesFedByteByByte) {
  net::MessageBudget budget(1 << 20);
  DirectTcpFramer framer(1 << 20, &budget);
  std::vector<std::byte> stream = Frame(100, std::byte{1});
  const std::vector<std::byte> keepalive = Frame(0, std::byte{0});
  stream.insert(stream.end(), keepalive.begin(), keepalive.end());
  const std::vector<std::byte> second = Frame(70000, std::byte{2});
  stream.insert(stream.end(), second.begin(), second.end());
  std::vector<Buffer> out;
  for (std::byte b : stream) {
    size_t consumed = 0;
    ASSERT_TRUE(framer.Feed(ByteView(&b, 1), &out, &consumed).ok());
    ASSERT_EQ(consumed, 1u);
  }
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0].size(), 100u);
  EXPECT_EQ(out[1].size(), 70000u);
  EXPECT_EQ(out[1].data()[69999], std::byte{2});
  EXPECT_FALSE(framer.mid_message());
  EXPECT_EQ(budget.used(), 0u);  // released once whole
}

TEST(DirectTcpFramer, RefusesOversizedAndNonSessionMessages) {
  DirectTcpFramer framer(1 << 20, nullptr);
  std::vector<Buffer> out;
  size_t consumed = 0;
  // A NetBIOS length of 16 MiB - 1 over a 1 MiB limit.
  const std::byte huge[] = {std::byte{0}, std::byte{0xFF}, std::byte{0xFF}, std::byte{0xFF}};
  EXPECT_FALSE(framer.Feed(huge, &out, &consumed).ok());
  DirectTcpFramer other(1 << 20, nullptr);
  const std::byte request[] = {std::byte{0x81}, std::byte{0}, std::byte{0}, std::byte{4}};
  EXPECT_FALSE(other.Feed(request, &out, &consumed).ok());
  EXPECT_TRUE(out.empty());
}

TEST(DirectTcpFramer, LargeBodiesAreReadInPlace) {
  DirectTcpFramer framer(1 << 20, nullptr);
  std::vector<Buffer> out;
  size_t consumed = 0;
  const std::vector<std::byte> f = Frame(1000, std::byte{7});
  ASSERT_TRUE(framer.Feed(ByteView(f).first(10), &out, &consumed).ok());
  MutableByteView target = framer.DirectTarget();
  ASSERT_EQ(target.size(), 994u);
  std::fill(target.begin(), target.end(), std::byte{7});
  framer.CommitDirect(994, &out);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].size(), 1000u);
}

}  // namespace
}  // namespace dittofs::smb

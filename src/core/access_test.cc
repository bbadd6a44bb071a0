// SPDX-License-Identifier: Apache-2.0
#include "core/access.h"

#include <gtest/gtest.h>

namespace dittofs::core {
namespace {

TEST(CidrTest, ParsesAndMatchesIpv4AndIpv6) {
  auto net = Cidr::Parse("10.1.2.3/8");
  ASSERT_TRUE(net.ok());
  EXPECT_TRUE(net->Contains("10.200.0.1"));
  EXPECT_TRUE(net->Contains("::ffff:10.9.9.9"));  // IPv4-mapped
  EXPECT_FALSE(net->Contains("11.0.0.1"));
  EXPECT_FALSE(net->Contains("garbage"));
  auto host = Cidr::Parse("192.168.1.7");
  ASSERT_TRUE(host.ok());
  EXPECT_TRUE(host->Contains("192.168.1.7"));
  EXPECT_FALSE(host->Contains("192.168.1.8"));
  auto v6 = Cidr::Parse("2001:db8::/33");
  ASSERT_TRUE(v6.ok());
  EXPECT_TRUE(v6->Contains("2001:db8:7fff::1"));
  EXPECT_FALSE(v6->Contains("2001:db8:8000::1"));
  auto all = Cidr::Parse("0.0.0.0/0");
  ASSERT_TRUE(all.ok());
  EXPECT_TRUE(all->Contains("8.8.8.8"));
  EXPECT_FALSE(all->Contains("2001:db8::1"));
  for (const char* bad : {"", "10.0.0.0/33", "10.0.0.0/-1", "10.0.0.0/x", "300.1.1.1", "::/129"}) {
    EXPECT_FALSE(Cidr::Parse(bad).ok()) << bad;
  }
}

TEST(SharePolicyTest, DeniedWinsAndEmptyAllowsEveryone) {
  SharePolicy p;
  EXPECT_TRUE(p.ClientAllowed("1.2.3.4"));
  p.allowed_clients.push_back(*Cidr::Parse("127.0.0.0/8"));
  p.denied_clients.push_back(*Cidr::Parse("127.0.0.2"));
  EXPECT_TRUE(p.ClientAllowed("127.0.0.1"));
  EXPECT_FALSE(p.ClientAllowed("127.0.0.2"));
  EXPECT_FALSE(p.ClientAllowed("10.0.0.1"));
  p.default_permission = Permission::kRead;
  p.by_uid[1000] = Permission::kNone;
  EXPECT_EQ(p.PermissionOf(1000), Permission::kNone);
  EXPECT_EQ(p.PermissionOf(1001), Permission::kRead);
}

}  // namespace
}  // namespace dittofs::core

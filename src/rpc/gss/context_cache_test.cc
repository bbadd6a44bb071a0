// SPDX-License-Identifier: Apache-2.0
#include "rpc/gss/context_cache.h"

#include <gtest/gtest.h>

namespace dittofs::rpc::gss {
namespace {

using namespace std::chrono_literals;
const auto kNow = std::chrono::steady_clock::time_point{} + 1000s;

TEST(ContextCache, EvictsTheLeastRecentlyUsed) {
  ContextCache<int> cache(2);
  cache.Put("a", std::make_shared<int>(1), kNow + 60s);
  cache.Put("b", std::make_shared<int>(2), kNow + 60s);
  ASSERT_NE(cache.Get("a", kNow), nullptr);  // b is now the least recently used
  cache.Put("c", std::make_shared<int>(3), kNow + 60s);
  EXPECT_EQ(cache.size(), 2u);
  EXPECT_EQ(cache.Get("b", kNow), nullptr);
  EXPECT_EQ(*cache.Get("a", kNow), 1);
  EXPECT_EQ(*cache.Get("c", kNow), 3);
}

TEST(ContextCache, DropsExpiredEntries) {
  ContextCache<int> cache(4);
  cache.Put("a", std::make_shared<int>(1), kNow + 10s);
  EXPECT_NE(cache.Get("a", kNow + 9s), nullptr);
  bool expired = false;
  EXPECT_EQ(cache.Get("a", kNow + 10s, &expired), nullptr);
  EXPECT_TRUE(expired);
  EXPECT_EQ(cache.size(), 0u);
}

TEST(ContextCache, AnEntryInUseOutlivesItsEviction) {
  ContextCache<int> cache(1);
  cache.Put("a", std::make_shared<int>(1), kNow + 60s);
  std::shared_ptr<int> held = cache.Get("a", kNow);
  cache.Put("b", std::make_shared<int>(2), kNow + 60s);
  EXPECT_EQ(cache.Get("a", kNow), nullptr);
  EXPECT_EQ(*held, 1);
  EXPECT_TRUE(cache.Erase("b"));
  EXPECT_FALSE(cache.Erase("b"));
}

}  // namespace
}  // namespace dittofs::rpc::gss

// SPDX-License-Identifier: Apache-2.0
#include "core/shares.h"

#include <gtest/gtest.h>

#include <thread>

#include "stores/block/memory/memory_block_store.h"
#include "stores/metadata/memory/memory_metadata_store.h"
#include "testing/status_matchers.h"

namespace dittofs::core {
namespace {

TEST(ShareTableTest, LookupsSeeChangesFromAnyThread) {
  auto a =
      Share::Open(1, "/a", stores::NewMemoryMetadataStore(), stores::NewMemoryBlockStore(), {});
  ASSERT_TRUE(a.ok());
  ShareTable table;
  EXPECT_EQ(table.ById(1), nullptr);  // primes this thread's cache with the empty table
  table.Add(std::move(a).value());
  ASSERT_NE(table.ById(1), nullptr);
  EXPECT_EQ(table.ByName("/a")->id(), 1u);
  ASSERT_OK_AND_ASSIGN(ShareUse use, table.UseByName("/a"));
  EXPECT_EQ(use->id(), 1u);
  use = {};
  std::thread([&] { EXPECT_NE(table.ByName("/a"), nullptr); }).join();
  table.Remove(1);
  EXPECT_EQ(table.ById(1), nullptr);
  EXPECT_EQ(table.ByName("/a"), nullptr);
  EXPECT_THAT(table.Use(1), testing::StatusIs(Errc::kStale));
  EXPECT_THAT(table.UseByName("/a"), testing::StatusIs(Errc::kNotFound));
  // A second table is not confused with the first in the per-thread cache.
  ShareTable other;
  EXPECT_TRUE(other.All().empty());
}

}  // namespace
}  // namespace dittofs::core

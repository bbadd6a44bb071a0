// SPDX-License-Identifier: Apache-2.0
#include "core/shares.h"

#include <gtest/gtest.h>

#include <thread>

#include "stores/block/memory/memory_block_store.h"
#include "stores/metadata/memory/memory_metadata_store.h"

namespace dittofs::core {
namespace {

TEST(ShareTableTest, LookupsSeeChangesFromAnyThread) {
  auto metadata = stores::NewMemoryMetadataStore();
  auto blocks = stores::NewMemoryBlockStore();
  auto a = Vfs::Open(1, "/a", *metadata, *blocks, {});
  ASSERT_TRUE(a.ok());
  ShareTable table;
  EXPECT_EQ(table.ById(1), nullptr);  // primes this thread's cache with the empty table
  table.Add(std::shared_ptr<Vfs>(std::move(a).value()));
  ASSERT_NE(table.ById(1), nullptr);
  EXPECT_EQ(table.ByName("/a")->id(), 1u);
  std::thread([&] { EXPECT_NE(table.ByName("/a"), nullptr); }).join();
  table.Remove(1);
  EXPECT_EQ(table.ById(1), nullptr);
  EXPECT_EQ(table.ByName("/a"), nullptr);
  // A second table is not confused with the first in the per-thread cache.
  ShareTable other;
  EXPECT_TRUE(other.All().empty());
}

}  // namespace
}  // namespace dittofs::core

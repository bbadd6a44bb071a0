// SPDX-License-Identifier: Apache-2.0
#include "core/shares.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
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

// A paused share (here by RunQuiesced, as a snapshot pauses it): Use refuses at once, UseWaiting
// waits for the pause to end, up to its bound.
TEST(ShareTableTest, UseWaitingWaitsOutAPause) {
  auto a =
      Share::Open(1, "/a", stores::NewMemoryMetadataStore(), stores::NewMemoryBlockStore(), {});
  ASSERT_TRUE(a.ok());
  std::shared_ptr<Share> share = *a;
  ShareTable table;
  table.Add(share);
  std::atomic<bool> paused{false}, resume{false};
  std::thread pauser([&] {
    EXPECT_OK(share->RunQuiesced(std::chrono::seconds(1), [&] {
      paused = true;
      while (!resume) std::this_thread::sleep_for(std::chrono::milliseconds(1));
      return Status::Ok();
    }));
  });
  while (!paused) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  EXPECT_THAT(table.Use(1), testing::StatusIs(Errc::kUnavailable));
  const auto start = std::chrono::steady_clock::now();
  EXPECT_THAT(table.UseWaiting(1, std::chrono::milliseconds(100)),
              testing::StatusIs(Errc::kUnavailable));
  EXPECT_GE(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(100));
  std::thread resumer([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    resume = true;
  });
  Result<ShareUse> use = table.UseWaiting(1, std::chrono::seconds(30));
  EXPECT_OK(use.status());
  resumer.join();
  pauser.join();
  use = Status(Errc::kStale, "released");  // before the share goes
  EXPECT_OK(share->Retire(std::chrono::seconds(1)));
  // A retired share is not waited for.
  EXPECT_THAT(table.UseWaiting(1, std::chrono::seconds(30)), testing::StatusIs(Errc::kStale));
}

}  // namespace
}  // namespace dittofs::core

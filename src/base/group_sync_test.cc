// SPDX-License-Identifier: Apache-2.0
#include "base/group_sync.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <thread>
#include <vector>

namespace dittofs {
namespace {

TEST(GroupSyncTest, FlushesOnlyWhatIsNotYetCovered) {
  GroupSync sync;
  uint64_t written = 5;
  int calls = 0;
  auto flush = [&]() -> Result<uint64_t> {
    ++calls;
    return written;
  };
  ASSERT_TRUE(sync.SyncThrough(3, flush).ok());
  EXPECT_EQ(calls, 1);
  ASSERT_TRUE(sync.SyncThrough(5, flush).ok());  // the first flush covered 5 already
  EXPECT_EQ(calls, 1);
  written = 9;
  ASSERT_TRUE(sync.SyncThrough(6, flush).ok());
  EXPECT_EQ(calls, 2);
  EXPECT_EQ(sync.flushes(), 2u);
}

TEST(GroupSyncTest, AFailedFlushIsReturnedAndCoversNothing) {
  GroupSync sync;
  bool fail = true;
  auto flush = [&]() -> Result<uint64_t> {
    if (fail) return Status(Errc::kIo, "disk gone");
    return uint64_t{10};
  };
  EXPECT_EQ(sync.SyncThrough(1, flush).code(), Errc::kIo);
  EXPECT_EQ(sync.flushes(), 0u);
  fail = false;
  EXPECT_TRUE(sync.SyncThrough(1, flush).ok());  // the next caller flushes again
  EXPECT_EQ(sync.flushes(), 1u);
}

TEST(GroupSyncTest, ConcurrentCallersShareFlushesAndAllGetCovered) {
  GroupSync sync;
  std::atomic<uint64_t> written{0};
  std::atomic<int> running{0};
  std::atomic<bool> overlapped{false};
  auto flush = [&]() -> Result<uint64_t> {
    if (running.fetch_add(1) != 0) overlapped = true;
    uint64_t covered = written.load();
    std::this_thread::sleep_for(std::chrono::milliseconds(2));  // a slow disk
    running.fetch_sub(1);
    return covered;
  };
  constexpr int kThreads = 8;
  constexpr int kEach = 20;
  std::atomic<int> uncovered{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < kEach; ++i) {
        uint64_t mine = written.fetch_add(1) + 1;  // "write", then wait for durability
        if (!sync.SyncThrough(mine, flush).ok()) uncovered.fetch_add(1);
      }
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(uncovered.load(), 0);
  EXPECT_FALSE(overlapped.load()) << "two flushes ran at once";
  EXPECT_GE(sync.flushes(), 1u);
  EXPECT_LE(sync.flushes(), uint64_t(kThreads * kEach));
}

}  // namespace
}  // namespace dittofs

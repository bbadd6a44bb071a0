// SPDX-License-Identifier: Apache-2.0
#include "base/thread_pool.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <future>
#include <thread>

namespace dittofs {
namespace {

TEST(ThreadPoolTest, RunsEveryTaskBeforeDestruction) {
  std::atomic<int> count{0};
  {
    ThreadPool pool(4);
    for (int i = 0; i < 1000; ++i) pool.Submit([&] { count.fetch_add(1); });
  }
  EXPECT_EQ(count.load(), 1000);
}

TEST(ThreadPoolTest, RunsAtMostMaxRunningTasksAtOnce) {
  std::atomic<int> now{0}, peak{0}, done{0};
  {
    ThreadPool pool(8, 2);
    for (int i = 0; i < 64; ++i) {
      pool.Submit([&] {
        int n = now.fetch_add(1) + 1;
        int p = peak.load();
        while (n > p && !peak.compare_exchange_weak(p, n)) {
        }
        std::this_thread::sleep_for(std::chrono::microseconds(200));
        now.fetch_sub(1);
        done.fetch_add(1);
      });
    }
  }
  EXPECT_EQ(done.load(), 64);
  EXPECT_LE(peak.load(), 2);
  EXPECT_GE(peak.load(), 1);
}

TEST(ThreadPoolTest, BlockingRegionLetsAnotherTaskRun) {
  // One running worker at a time: the first task waits (in a blocking region) for the second,
  // which can only run because the region frees the running slot. Without it: deadlock.
  std::promise<void> second_ran;
  std::future<void> waited = second_ran.get_future();
  std::atomic<bool> first_done{false};
  {
    ThreadPool pool(2, 1);
    pool.Submit([&] {
      BlockingRegion blocking;
      ASSERT_EQ(waited.wait_for(std::chrono::seconds(10)), std::future_status::ready);
      first_done = true;
    });
    pool.Submit([&] { second_ran.set_value(); });
  }
  EXPECT_TRUE(first_done.load());
}

TEST(ThreadPoolTest, BlockingRegionOutsideAPoolIsHarmless) {
  BlockingRegion blocking;
  BlockingRegion nested;
  SUCCEED();
}

}  // namespace
}  // namespace dittofs

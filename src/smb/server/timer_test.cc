// SPDX-License-Identifier: Apache-2.0
#include "smb/server/timer.h"

#include <gtest/gtest.h>

#include <atomic>
#include <future>
#include <mutex>
#include <thread>
#include <vector>

namespace dittofs::smb {
namespace {

using std::chrono::milliseconds;
using std::chrono::steady_clock;

TEST(TimerTest, RunsCallbacksInDueOrderAfterTheirDelay) {
  Timer timer;
  std::mutex mu;
  std::vector<int> order;
  std::promise<void> done;
  const auto start = steady_clock::now();
  timer.After(milliseconds(120), [&] {
    std::lock_guard<std::mutex> lock(mu);
    order.push_back(2);
    done.set_value();
  });
  timer.After(milliseconds(40), [&] {
    std::lock_guard<std::mutex> lock(mu);
    order.push_back(1);
  });
  ASSERT_EQ(done.get_future().wait_for(std::chrono::seconds(5)), std::future_status::ready);
  EXPECT_GE(steady_clock::now() - start, milliseconds(120));
  std::lock_guard<std::mutex> lock(mu);
  EXPECT_EQ(order, (std::vector<int>{1, 2}));
}

TEST(TimerTest, CancelledCallbacksNeverRun) {
  Timer timer;
  std::atomic<int> ran{0};
  std::promise<void> done;
  const Timer::Id id = timer.After(milliseconds(30), [&] { ++ran; });
  EXPECT_TRUE(timer.Cancel(id));
  EXPECT_FALSE(timer.Cancel(id));
  timer.After(milliseconds(80), [&] { done.set_value(); });
  ASSERT_EQ(done.get_future().wait_for(std::chrono::seconds(5)), std::future_status::ready);
  EXPECT_EQ(ran.load(), 0);
}

TEST(TimerTest, CancelAfterTheCallbackRanIsFalse) {
  Timer timer;
  std::promise<void> done;
  const Timer::Id id = timer.After(milliseconds(1), [&] { done.set_value(); });
  ASSERT_EQ(done.get_future().wait_for(std::chrono::seconds(5)), std::future_status::ready);
  EXPECT_FALSE(timer.Cancel(id));
}

// The timer's thread waits for the earliest entry's deadline; cancelling that entry while it
// waits must leave the wait on a copy, not on the freed entry (ASan found the durable-handle
// scavenger doing this when a client reconnected).
TEST(TimerTest, CancellingTheEntryBeingWaitedForIsSafe) {
  Timer timer;
  std::promise<void> done;
  for (int i = 0; i < 20; ++i) {
    const Timer::Id id = timer.After(milliseconds(200), [] {});
    std::this_thread::sleep_for(milliseconds(2));  // the thread now waits on it
    EXPECT_TRUE(timer.Cancel(id));
  }
  timer.After(milliseconds(5), [&] { done.set_value(); });
  ASSERT_EQ(done.get_future().wait_for(std::chrono::seconds(5)), std::future_status::ready);
}

TEST(TimerTest, DestroyingDropsWhatIsStillWaiting) {
  std::atomic<int> ran{0};
  {
    Timer timer;
    timer.After(std::chrono::hours(1), [&] { ++ran; });
  }
  EXPECT_EQ(ran.load(), 0);
}

}  // namespace
}  // namespace dittofs::smb

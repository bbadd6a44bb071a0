// SPDX-License-Identifier: Apache-2.0
#include "core/login_throttle.h"

#include <gtest/gtest.h>

#include <string>
#include <thread>
#include <vector>

#include "testing/status_matchers.h"

namespace dittofs::core {
namespace {

using ::dittofs::testing::StatusIs;
using ::testing::HasSubstr;

constexpr int64_t kT0 = 1'000'000;

void Fail(LoginThrottle& throttle, const std::string& user, const std::string& addr, int times,
          int64_t now) {
  for (int i = 0; i < times; ++i) throttle.RecordFailure(user, addr, now);
}

TEST(LoginThrottleTest, LocksUserAfterFiveFailuresFromOneAddress) {
  LoginThrottle throttle;
  Fail(throttle, "alice", "10.0.0.1", 4, kT0);
  EXPECT_OK(throttle.Check("alice", "10.0.0.1", kT0));
  throttle.RecordFailure("alice", "10.0.0.1", kT0);
  Status status = throttle.Check("alice", "10.0.0.1", kT0);
  EXPECT_THAT(status, StatusIs(Errc::kBusy));
  EXPECT_THAT(status.message(), HasSubstr("retry after 30 s"));
  // Issue 11: whoever guessed at alice from 10.0.0.1 did not lock her out from elsewhere.
  EXPECT_OK(throttle.Check("alice", "10.0.0.2", kT0));
  EXPECT_THAT(throttle.Check("alice", "10.0.0.1", kT0 + 20).message(),
              HasSubstr("retry after 10 s"));
  EXPECT_OK(throttle.Check("bob", "10.0.0.1", kT0));  // the address is still under its limit
  EXPECT_OK(throttle.Check("alice", "10.0.0.1", kT0 + 30));
}

TEST(LoginThrottleTest, RecentFailuresCountsThePairInTheWindow) {
  LoginThrottle throttle(LoginThrottleOptions{.window_seconds = 100});
  EXPECT_EQ(throttle.RecentFailures("alice", "10.0.0.1", kT0), 0);
  Fail(throttle, "alice", "10.0.0.1", 2, kT0);
  Fail(throttle, "alice", "10.0.0.1", 1, kT0 + 50);
  EXPECT_EQ(throttle.RecentFailures("alice", "10.0.0.1", kT0 + 50), 3);
  EXPECT_EQ(throttle.RecentFailures("alice", "10.0.0.2", kT0 + 50), 0);
  EXPECT_EQ(throttle.RecentFailures("bob", "10.0.0.1", kT0 + 50), 0);
  EXPECT_EQ(throttle.RecentFailures("alice", "10.0.0.1", kT0 + 100), 1);  // two aged out
  throttle.RecordSuccess("alice", "10.0.0.1", kT0 + 100);
  EXPECT_EQ(throttle.RecentFailures("alice", "10.0.0.1", kT0 + 100), 0);
  EXPECT_EQ(throttle.RecentFailures("", "10.0.0.1", kT0 + 100), 0);
}

TEST(LoginThrottleTest, BackoffDoublesAndIsCapped) {
  // A day-long window, so that every failure below still counts.
  LoginThrottle throttle(LoginThrottleOptions{.window_seconds = 24 * 3600});
  Fail(throttle, "alice", "", 5, kT0);
  int64_t now = kT0;
  const int64_t expected[] = {30, 60, 120, 240, 480, 900, 900};
  for (int64_t backoff : expected) {
    EXPECT_THAT(throttle.Check("alice", "", now).message(),
                HasSubstr("retry after " + std::to_string(backoff) + " s"));
    now += backoff;
    EXPECT_OK(throttle.Check("alice", "", now));
    throttle.RecordFailure("alice", "", now);
  }
}

TEST(LoginThrottleTest, FailuresOutsideTheWindowDoNotCount) {
  LoginThrottle throttle;
  Fail(throttle, "alice", "", 4, kT0);
  throttle.RecordFailure("alice", "", kT0 + 15 * 60);  // the first four have slid out
  EXPECT_OK(throttle.Check("alice", "", kT0 + 15 * 60));
  Fail(throttle, "alice", "", 3, kT0 + 15 * 60 + 1);
  EXPECT_OK(throttle.Check("alice", "", kT0 + 15 * 60 + 1));
  throttle.RecordFailure("alice", "", kT0 + 15 * 60 + 2);
  EXPECT_THAT(throttle.Check("alice", "", kT0 + 15 * 60 + 2), StatusIs(Errc::kBusy));
}

TEST(LoginThrottleTest, BackoffStartsOverAfterAQuietWindow) {
  LoginThrottle throttle;
  Fail(throttle, "alice", "", 5, kT0);
  throttle.RecordFailure("alice", "", kT0 + 30);  // second lockout: 60 s
  EXPECT_THAT(throttle.Check("alice", "", kT0 + 30).message(), HasSubstr("retry after 60 s"));
  const int64_t later = kT0 + 30 + 15 * 60;
  Fail(throttle, "alice", "", 5, later);
  EXPECT_THAT(throttle.Check("alice", "", later).message(), HasSubstr("retry after 30 s"));
}

TEST(LoginThrottleTest, SuccessClearsTheUserButNotTheAddress) {
  LoginThrottle throttle;
  Fail(throttle, "alice", "10.0.0.1", 4, kT0);
  throttle.RecordSuccess("alice", "10.0.0.1", kT0);
  Fail(throttle, "alice", "10.0.0.1", 4, kT0);
  EXPECT_OK(throttle.Check("alice", "10.0.0.1", kT0));

  // 20 failures from one address across many names lock the address.
  LoginThrottle by_address;
  for (int i = 0; i < 20; ++i) {
    by_address.RecordFailure("user" + std::to_string(i), "10.9.9.9", kT0);
    by_address.RecordSuccess("user" + std::to_string(i), "10.9.9.9", kT0);
  }
  EXPECT_THAT(by_address.Check("newcomer", "10.9.9.9", kT0), StatusIs(Errc::kBusy));
  EXPECT_OK(by_address.Check("newcomer", "10.9.9.8", kT0));
}

TEST(LoginThrottleTest, MemoryIsBounded) {
  LoginThrottle throttle(LoginThrottleOptions{.max_entries = 100});
  for (int i = 0; i < 1000; ++i) {
    throttle.RecordFailure("user" + std::to_string(i), "addr" + std::to_string(i), kT0);
  }
  EXPECT_LE(throttle.TrackedEntries(), 200u);
  // A locked user survives a flood only while it stays among the recently touched...
  Fail(throttle, "victim", "", 5, kT0);
  EXPECT_THAT(throttle.Check("victim", "", kT0), StatusIs(Errc::kBusy));
  // ...and stale entries are dropped once their window passes.
  throttle.RecordFailure("late", "", kT0 + 16 * 60);
  EXPECT_LE(throttle.TrackedEntries(), 100u + 1u);
  EXPECT_GE(throttle.TrackedEntries(), 1u);
}

TEST(LoginThrottleTest, StaleEntriesAreEvicted) {
  LoginThrottle throttle;
  for (int i = 0; i < 50; ++i) throttle.RecordFailure("user" + std::to_string(i), "", kT0);
  EXPECT_EQ(throttle.TrackedEntries(), 50u);
  throttle.RecordFailure("late", "", kT0 + 16 * 60);
  EXPECT_EQ(throttle.TrackedEntries(), 1u);
}

TEST(LoginThrottleTest, LongNamesAreTruncated) {
  LoginThrottle throttle;
  const std::string prefix(300, 'a');
  for (int i = 0; i < 5; ++i) throttle.RecordFailure(prefix + std::to_string(i), "", kT0);
  EXPECT_EQ(throttle.TrackedEntries(), 1u);
  EXPECT_THAT(throttle.Check(prefix + "x", "", kT0), StatusIs(Errc::kBusy));
}

TEST(LoginThrottleTest, EmptyKeysAreNotTracked) {
  LoginThrottle throttle(LoginThrottleOptions{.global_failure_burst = 1000});
  Fail(throttle, "", "", 100, kT0);
  EXPECT_EQ(throttle.TrackedEntries(), 0u);
  EXPECT_OK(throttle.Check("", "", kT0));
}

// Issue 11: guesses from many addresses together are held to the global rate, which
// delays everyone by a refill at most and locks no one out.
TEST(LoginThrottleTest, GlobalRateBoundsGuessesFromManyAddresses) {
  LoginThrottle throttle(
      LoginThrottleOptions{.global_failures_per_second = 5, .global_failure_burst = 100});
  for (int i = 0; i < 100; ++i) {
    const std::string address = "10.1.0." + std::to_string(i);
    ASSERT_TRUE(throttle.Check("admin", address, kT0).ok()) << i;
    throttle.RecordFailure("admin", address, kT0);
  }
  Status spent = throttle.Check("admin", "10.2.0.1", kT0);
  EXPECT_THAT(spent, StatusIs(Errc::kBusy));
  EXPECT_THAT(spent.message(), HasSubstr("retry after 1 s"));
  // A second later five more guesses may come; the admin's own login is one of them.
  EXPECT_OK(throttle.Check("admin", "192.168.1.10", kT0 + 1));
  Fail(throttle, "admin", "10.3.0.1", 5, kT0 + 1);
  EXPECT_THAT(throttle.Check("admin", "192.168.1.10", kT0 + 1), StatusIs(Errc::kBusy));
  EXPECT_OK(throttle.Check("admin", "192.168.1.10", kT0 + 2));
}

TEST(LoginThrottleTest, ConcurrentUse) {
  LoginThrottle throttle(LoginThrottleOptions{.max_entries = 64});
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&throttle, t] {
      for (int i = 0; i < 2000; ++i) {
        const std::string user = "u" + std::to_string((i * 7 + t) % 100);
        const std::string addr = "a" + std::to_string(i % 50);
        (void)throttle.Check(user, addr, kT0 + i);
        if (i % 3 == 0) {
          throttle.RecordSuccess(user, addr, kT0 + i);
        } else {
          throttle.RecordFailure(user, addr, kT0 + i);
        }
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  EXPECT_LE(throttle.TrackedEntries(), 128u);
}

}  // namespace
}  // namespace dittofs::core

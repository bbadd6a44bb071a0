// SPDX-License-Identifier: Apache-2.0
#include "core/snapshot_schedule.h"

#include <gtest/gtest.h>

#include "stores/metadata/memory/memory_metadata_store.h"
#include "testing/status_matchers.h"

namespace dittofs::core {
namespace {

using ::dittofs::testing::StatusIs;

// 2026-12-07T10:15:30Z, a Monday.
constexpr int64_t kMonday = 1796638530;

int64_t Next(std::string_view cron, int64_t after) {
  Result<CronSchedule> c = CronSchedule::Parse(cron);
  EXPECT_TRUE(c.ok()) << cron << ": " << c.status().ToString();
  if (!c.ok()) return -1;
  return c->Next(after).value_or(-1);
}

TEST(CronScheduleTest, NextMatchesWhatCronWouldRun) {
  // Every minute: the next whole minute.
  EXPECT_EQ(Next("* * * * *", kMonday), kMonday - 30 + 60);
  // Hourly at :00 -> 11:00 the same day.
  EXPECT_EQ(Next("0 * * * *", kMonday), 1796641200);
  // Every 15 minutes -> 10:30.
  EXPECT_EQ(Next("*/15 * * * *", kMonday), 1796639400);
  // Daily at 02:30 -> the next day (Tuesday 2026-12-08T02:30:00Z).
  EXPECT_EQ(Next("30 2 * * *", kMonday), 1796697000);
  // Sundays at 03:00 -> 2026-12-13T03:00:00Z; 7 is Sunday too.
  EXPECT_EQ(Next("0 3 * * 0", kMonday), 1797130800);
  EXPECT_EQ(Next("0 3 * * 7", kMonday), 1797130800);
  // Weekdays 1-5 at 09:00 -> Tuesday 09:00.
  EXPECT_EQ(Next("0 9 * * 1-5", kMonday), 1796720400);
  // The 1st of each month at midnight -> 2027-01-01T00:00:00Z.
  EXPECT_EQ(Next("0 0 1 * *", kMonday), 1798761600);
  // Lists, and a day of month or of week (either matches): the 25th, or a Wednesday.
  EXPECT_EQ(Next("0,30 12 25 * 3", kMonday), 1796817600);  // Wednesday 2026-12-09T12:00Z
  // A date that never comes.
  EXPECT_EQ(Next("0 0 30 2 *", kMonday), -1);
}

TEST(CronScheduleTest, RefusesWhatDoesNotParse) {
  for (std::string_view bad :
       {"", "* * * *", "* * * * * *", "60 * * * *", "* 24 * * *", "* * 0 * *", "* * * 13 *",
        "* * * * 8", "*/0 * * * *", "a * * * *", "5-1 * * * *", "1,,2 * * * *"}) {
    EXPECT_THAT(CronSchedule::Parse(bad), StatusIs(Errc::kInvalid)) << bad;
  }
}

SnapshotInfo Snap(std::string name, int64_t created) {
  SnapshotInfo s;
  s.name = std::move(name);
  s.state = SnapshotState::kReady;
  s.created = {created, 0};
  return s;
}

TEST(SnapshotPolicyTest, IntervalTakesWhenDueAndExpiresByCountAndAge) {
  SnapshotPolicy p;
  p.interval_s = 3600;
  p.keep_last = 2;
  p.since = kMonday - 7200;
  // Nothing scheduled yet, set two hours ago: due now.
  ScheduleWork w = DueSnapshotWork(p, {}, kMonday);
  ASSERT_TRUE(w.take.has_value());
  EXPECT_EQ(*w.take, "auto-20261207T101530Z");
  EXPECT_TRUE(w.expire.empty());
  // The newest scheduled one is 30 minutes old: not due. Three scheduled, keep 2: the oldest
  // goes; a snapshot taken by hand is never touched.
  std::vector<SnapshotInfo> all = {Snap("auto-a", kMonday - 9000), Snap("auto-b", kMonday - 5400),
                                   Snap("auto-c", kMonday - 1800), Snap("mine", kMonday - 99999)};
  w = DueSnapshotWork(p, all, kMonday);
  EXPECT_FALSE(w.take.has_value());
  EXPECT_EQ(w.expire, std::vector<std::string>{"auto-a"});
  // A time to live of two hours: auto-a (2.5 h old) goes for that reason too, and only once.
  p.ttl_s = 7200;
  p.keep_last = 0;
  w = DueSnapshotWork(p, all, kMonday);
  EXPECT_EQ(w.expire, std::vector<std::string>{"auto-a"});
  // Thirty minutes later the interval is over.
  w = DueSnapshotWork(p, all, kMonday + 1800);
  EXPECT_TRUE(w.take.has_value());
}

TEST(SnapshotPolicyTest, CronTakesAtItsTimes) {
  SnapshotPolicy p;
  p.cron = "0 * * * *";
  p.since = kMonday;                                                    // 10:15:30
  EXPECT_FALSE(DueSnapshotWork(p, {}, kMonday + 60).take.has_value());  // 10:16:30
  EXPECT_TRUE(DueSnapshotWork(p, {}, 1796641200).take.has_value());     // 11:00:00
  // Taken at 11:00: the next is at 12:00.
  std::vector<SnapshotInfo> all = {Snap("auto-x", 1796641200)};
  EXPECT_FALSE(DueSnapshotWork(p, all, 1796641200 + 1800).take.has_value());
  EXPECT_TRUE(DueSnapshotWork(p, all, 1796641200 + 3600).take.has_value());
}

TEST(SnapshotPolicyTest, IsKeptInTheShareAndChecked) {
  std::unique_ptr<stores::MetadataStore> store = stores::NewMemoryMetadataStore();
  ASSERT_OK_AND_ASSIGN(SnapshotPolicy none, GetSnapshotPolicy(*store));
  EXPECT_FALSE(none.enabled());
  SnapshotPolicy p;
  p.cron = "30 2 * * *";
  p.keep_last = 7;
  p.ttl_s = 30 * 86400;
  ASSERT_OK(SetSnapshotPolicy(*store, p, kMonday));
  ASSERT_OK_AND_ASSIGN(SnapshotPolicy stored, GetSnapshotPolicy(*store));
  p.since = kMonday;
  EXPECT_EQ(stored, p);
  SnapshotPolicy both = p;
  both.interval_s = 3600;
  EXPECT_THAT(SetSnapshotPolicy(*store, both, kMonday), StatusIs(Errc::kInvalid));
  SnapshotPolicy fast;
  fast.interval_s = 10;
  EXPECT_THAT(SetSnapshotPolicy(*store, fast, kMonday), StatusIs(Errc::kInvalid));
  SnapshotPolicy bad;
  bad.cron = "every day";
  EXPECT_THAT(SetSnapshotPolicy(*store, bad, kMonday), StatusIs(Errc::kInvalid));
  ASSERT_OK(SetSnapshotPolicy(*store, SnapshotPolicy{}, kMonday));  // removes it
  ASSERT_OK_AND_ASSIGN(SnapshotPolicy removed, GetSnapshotPolicy(*store));
  EXPECT_EQ(removed, SnapshotPolicy{});
}

}  // namespace
}  // namespace dittofs::core

// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "core/snapshot.h"
#include "stores/metadata/metadata_store.h"

namespace dittofs::core {

// A five-field cron expression (minute hour day-of-month month day-of-week), in UTC: each
// field `*`, a number, a range `a-b`, a step `*/n` or `a-b/n`, or a comma list of those; day
// of week 0-7 (0 and 7 are Sunday). As in cron, when both day fields are restricted a day
// matches either.
class CronSchedule {
 public:
  static Result<CronSchedule> Parse(std::string_view text);
  // The first whole minute strictly after `after` (unix seconds) that matches; nullopt when
  // none does within eight years (a 30 February).
  std::optional<int64_t> Next(int64_t after) const;

 private:
  std::array<bool, 60> minutes_{};
  std::array<bool, 24> hours_{};
  std::array<bool, 32> days_{};     // 1-31
  std::array<bool, 13> months_{};   // 1-12
  std::array<bool, 7> weekdays_{};  // 0 (Sunday) - 6
  bool any_day_ = true, any_weekday_ = true;
};

// A share's schedule of snapshots, kept in its metadata store (RecordTable::kSnapshots, key
// 'p') so that it moves with the share: the server takes a snapshot named
// kScheduledPrefix + its UTC time (auto-20261207T100000Z) when one is due, and deletes
// scheduled snapshots beyond `keep_last` or older than `ttl_s`. Snapshots taken by hand are
// never deleted by it.
struct SnapshotPolicy {
  uint64_t interval_s = 0;  // every so often (0: not by interval); at least 60
  std::string cron;         // or at the times of a cron expression (CronSchedule)
  uint32_t keep_last = 0;   // scheduled snapshots kept (0: no limit)
  uint64_t ttl_s = 0;       // scheduled snapshots older than this go (0: no limit)
  int64_t since = 0;        // when it was set (unix seconds); kept by SetSnapshotPolicy
  bool enabled() const { return interval_s != 0 || !cron.empty(); }
  friend bool operator==(const SnapshotPolicy&, const SnapshotPolicy&) = default;
};
inline constexpr std::string_view kScheduledPrefix = "auto-";

// Errc::kInvalid for both an interval and a cron, an interval under 60 s, or a cron that does
// not parse.
Status CheckSnapshotPolicy(const SnapshotPolicy& policy);
// The share's policy; a default one (nothing scheduled) when none was set.
Result<SnapshotPolicy> GetSnapshotPolicy(stores::MetadataStore& metadata);
// Sets the policy (`since` becomes `now`); one not enabled and keeping nothing removes it.
Status SetSnapshotPolicy(stores::MetadataStore& metadata, SnapshotPolicy policy, int64_t now);

// What a policy asks for at `now`, given the share's snapshots: a scheduled snapshot to take
// (its name; none when not due), and the scheduled ones to delete, oldest first.
struct ScheduleWork {
  std::optional<std::string> take;
  std::vector<std::string> expire;
};
ScheduleWork DueSnapshotWork(const SnapshotPolicy& policy,
                             const std::vector<SnapshotInfo>& snapshots, int64_t now);

}  // namespace dittofs::core

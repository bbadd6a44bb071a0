// SPDX-License-Identifier: Apache-2.0
#include "core/snapshot_schedule.h"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <tuple>

#include "base/clock.h"
#include "base/record_codec.h"
#include "base/time_text.h"

namespace dittofs::core {
namespace {

using stores::MetadataTxn;
using stores::RecordTable;

const std::string kPolicyKey = "p";
constexpr uint8_t kPolicyEncoding = 1;
constexpr int64_t kDay = 86400;

std::optional<int> Number(std::string_view text) {
  int n = 0;
  auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), n);
  if (text.empty() || error != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return n;
}

// One field: marks the values it names in `out` (indexes lo..hi). `star` tells whether the
// field was a bare '*'.
template <size_t N>
Status ParseField(std::string_view field, int lo, int hi, std::string_view what,
                  std::array<bool, N>* out, bool* star) {
  *star = field == "*";
  auto bad = [&] {
    return Status(Errc::kInvalid, fmt::format("cron {} field '{}': each item is *, N, A-B, */S or "
                                              "A-B/S with values {} to {}",
                                              what, field, lo, hi));
  };
  if (field.empty()) return bad();
  for (size_t at = 0; at <= field.size();) {
    size_t comma = field.find(',', at);
    if (comma == std::string_view::npos) comma = field.size();
    std::string_view item = field.substr(at, comma - at);
    int step = 1;
    if (size_t slash = item.find('/'); slash != std::string_view::npos) {
      std::optional<int> s = Number(item.substr(slash + 1));
      if (!s || *s < 1) return bad();
      step = *s;
      item = item.substr(0, slash);
    }
    int first = lo, last = hi;
    if (item != "*") {
      size_t dash = item.find('-');
      std::optional<int> a = Number(item.substr(0, dash));
      if (!a) return bad();
      first = *a;
      if (dash != std::string_view::npos) {
        std::optional<int> b = Number(item.substr(dash + 1));
        if (!b) return bad();
        last = *b;
      } else {
        last = step > 1 ? hi : first;
      }
    }
    if (first < lo || last > hi || first > last) return bad();
    for (int v = first; v <= last; v += step) (*out)[static_cast<size_t>(v)] = true;
    at = comma + 1;
  }
  return Status::Ok();
}

// The civil date of a day counted from 1970-01-01 (proleptic Gregorian).
void CivilFromDays(int64_t z, int* year, int* month, int* day) {
  z += 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const int64_t doe = z - era * 146097;
  const int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const int64_t mp = (5 * doy + 2) / 153;
  *day = static_cast<int>(doy - (153 * mp + 2) / 5 + 1);
  *month = static_cast<int>(mp < 10 ? mp + 3 : mp - 9);
  *year = static_cast<int>(yoe + era * 400 + (*month <= 2 ? 1 : 0));
}

int64_t FloorDiv(int64_t a, int64_t b) { return a / b - ((a % b != 0) && ((a < 0) != (b < 0))); }

std::string EncodePolicy(const SnapshotPolicy& p) {
  std::string out;
  AppendU8(&out, kPolicyEncoding);
  AppendLe64(&out, p.interval_s);
  AppendLe32(&out, p.keep_last);
  AppendLe64(&out, p.ttl_s);
  AppendLe64(&out, static_cast<uint64_t>(p.since));
  AppendLe32(&out, static_cast<uint32_t>(p.cron.size()));
  out.append(p.cron);
  return out;
}

Result<SnapshotPolicy> DecodePolicy(std::string_view value) {
  FieldReader d(value);
  SnapshotPolicy p;
  const uint8_t encoding = d.U8();
  p.interval_s = d.Le64();
  p.keep_last = d.Le32();
  p.ttl_s = d.Le64();
  p.since = static_cast<int64_t>(d.Le64());
  p.cron = std::string(d.Take(d.Le32()));
  if (!d.done() || encoding != kPolicyEncoding) {
    return Status(Errc::kIo, "the snapshot policy record is corrupt");
  }
  return p;
}

}  // namespace

Result<CronSchedule> CronSchedule::Parse(std::string_view text) {
  std::vector<std::string_view> fields;
  for (size_t at = 0; at < text.size();) {
    at = text.find_first_not_of(" \t", at);
    if (at == std::string_view::npos) break;
    size_t end = text.find_first_of(" \t", at);
    if (end == std::string_view::npos) end = text.size();
    fields.push_back(text.substr(at, end - at));
    at = end;
  }
  if (fields.size() != 5) {
    return Status(Errc::kInvalid,
                  "a cron expression has five fields: minute hour "
                  "day-of-month month day-of-week");
  }
  CronSchedule c;
  bool star = false;
  RETURN_IF_ERROR(ParseField(fields[0], 0, 59, "minute", &c.minutes_, &star));
  RETURN_IF_ERROR(ParseField(fields[1], 0, 23, "hour", &c.hours_, &star));
  RETURN_IF_ERROR(ParseField(fields[2], 1, 31, "day-of-month", &c.days_, &c.any_day_));
  RETURN_IF_ERROR(ParseField(fields[3], 1, 12, "month", &c.months_, &star));
  std::array<bool, 8> weekdays{};
  RETURN_IF_ERROR(ParseField(fields[4], 0, 7, "day-of-week", &weekdays, &c.any_weekday_));
  for (size_t i = 0; i < 7; ++i) c.weekdays_[i] = weekdays[i];
  if (weekdays[7]) c.weekdays_[0] = true;
  return c;
}

std::optional<int64_t> CronSchedule::Next(int64_t after) const {
  const int64_t start = (FloorDiv(after, 60) + 1) * 60;
  int64_t day = FloorDiv(start, kDay);
  int64_t first_minute = (start - day * kDay) / 60;
  for (int i = 0; i <= 8 * 366; ++i, ++day, first_minute = 0) {
    int year = 0, month = 0, mday = 0;
    CivilFromDays(day, &year, &month, &mday);
    if (!months_[static_cast<size_t>(month)]) continue;
    const size_t weekday = static_cast<size_t>(((day % 7) + 11) % 7);  // 1970-01-01: Thursday
    const bool dom = days_[static_cast<size_t>(mday)];
    const bool dow = weekdays_[weekday];
    bool match;
    if (any_day_ && any_weekday_) {
      match = true;
    } else if (any_day_) {
      match = dow;
    } else if (any_weekday_) {
      match = dom;
    } else {
      match = dom || dow;
    }
    if (!match) continue;
    for (int64_t m = first_minute; m < 24 * 60; ++m) {
      if (hours_[static_cast<size_t>(m / 60)] && minutes_[static_cast<size_t>(m % 60)]) {
        return day * kDay + m * 60;
      }
    }
  }
  return std::nullopt;
}

Status CheckSnapshotPolicy(const SnapshotPolicy& policy) {
  if (policy.interval_s != 0 && !policy.cron.empty()) {
    return Status(Errc::kInvalid, "a snapshot schedule is an interval or a cron, not both");
  }
  if (policy.interval_s != 0 && policy.interval_s < 60) {
    return Status(Errc::kInvalid, "a snapshot interval is at least 60 seconds");
  }
  if (!policy.cron.empty()) RETURN_IF_ERROR(CronSchedule::Parse(policy.cron).status());
  return Status::Ok();
}

Result<SnapshotPolicy> GetSnapshotPolicy(stores::MetadataStore& metadata) {
  std::unique_ptr<MetadataTxn> txn = metadata.Begin();
  Result<std::string> value = txn->GetRecord(RecordTable::kSnapshots, kPolicyKey);
  if (!value.ok()) {
    if (value.status().code() == Errc::kNotFound) return SnapshotPolicy{};
    return value.status();
  }
  return DecodePolicy(*value);
}

Status SetSnapshotPolicy(stores::MetadataStore& metadata, SnapshotPolicy policy, int64_t now) {
  RETURN_IF_ERROR(CheckSnapshotPolicy(policy));
  policy.since = now;
  const bool remove = !policy.enabled() && policy.keep_last == 0 && policy.ttl_s == 0;
  return stores::RunTransaction(metadata, [&](MetadataTxn& txn) -> Status {
    if (remove) {
      txn.DeleteRecord(RecordTable::kSnapshots, kPolicyKey);
    } else {
      txn.PutRecord(RecordTable::kSnapshots, kPolicyKey, EncodePolicy(policy));
    }
    return Status::Ok();
  });
}

ScheduleWork DueSnapshotWork(const SnapshotPolicy& policy,
                             const std::vector<SnapshotInfo>& snapshots, int64_t now) {
  ScheduleWork work;
  std::vector<const SnapshotInfo*> scheduled;
  for (const SnapshotInfo& s : snapshots) {
    if (s.name.starts_with(kScheduledPrefix) && s.state == SnapshotState::kReady) {
      scheduled.push_back(&s);
    }
  }
  std::sort(scheduled.begin(), scheduled.end(), [](const SnapshotInfo* a, const SnapshotInfo* b) {
    return std::tie(a->created, a->name) < std::tie(b->created, b->name);
  });
  if (policy.enabled()) {
    int64_t last = policy.since;
    if (!scheduled.empty()) last = std::max(last, scheduled.back()->created.sec);
    bool due = false;
    if (policy.interval_s != 0) {
      due = now >= last + static_cast<int64_t>(policy.interval_s);
    } else if (Result<CronSchedule> cron = CronSchedule::Parse(policy.cron); cron.ok()) {
      std::optional<int64_t> next = cron->Next(last);
      due = next && *next <= now;
    }
    std::string name = std::string(kScheduledPrefix) + FormatUtc(now, "%Y%m%dT%H%M%SZ");
    bool taken = std::any_of(snapshots.begin(), snapshots.end(),
                             [&](const SnapshotInfo& s) { return s.name == name; });
    if (due && !taken) work.take = std::move(name);
  }
  const size_t excess = policy.keep_last != 0 && scheduled.size() > policy.keep_last
                            ? scheduled.size() - policy.keep_last
                            : 0;
  for (size_t i = 0; i < scheduled.size(); ++i) {
    const bool expired =
        policy.ttl_s != 0 && scheduled[i]->created.sec + static_cast<int64_t>(policy.ttl_s) <= now;
    if (i < excess || expired) work.expire.push_back(scheduled[i]->name);
  }
  return work;
}

}  // namespace dittofs::core

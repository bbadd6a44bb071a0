// SPDX-License-Identifier: Apache-2.0
#include "core/login_throttle.h"

#include <algorithm>
#include <cmath>
#include <deque>
#include <list>
#include <string>
#include <unordered_map>

#include "base/check.h"

namespace dittofs::core {
namespace {

// Keys longer than this are cut: a client may send a megabyte "username", and we must not
// keep it. Distinct names sharing such a prefix share a count, which only makes us stricter.
constexpr size_t kMaxKeyBytes = 256;

std::string_view Truncate(std::string_view key) { return key.substr(0, kMaxKeyBytes); }

// The key of a (username, address) pair: each part cut on its own, so that a long name cannot
// push the address out, joined by a byte neither holds.
std::string PairKey(std::string_view user, std::string_view address) {
  std::string key(user.substr(0, kMaxKeyBytes / 2));
  key += '\0';
  key += address.substr(0, kMaxKeyBytes / 2 - 1);
  return key;
}

}  // namespace

// The failure history of one kind of key (usernames or addresses), with a least recently
// used list that bounds its size. Not thread-safe; LoginThrottle's mutex guards it.
class LoginThrottle::Table {
 public:
  Table(int max_failures, const LoginThrottleOptions& options)
      : max_failures_(static_cast<size_t>(max_failures)), options_(options) {}

  // Seconds until `key` may try again; 0 when it may try now.
  int64_t RetryAfter(std::string_view key, int64_t now) {
    auto it = index_.find(Truncate(key));
    if (it == index_.end()) return 0;
    return std::max<int64_t>(0, it->second->blocked_until - now);
  }

  void RecordFailure(std::string_view key, int64_t now) {
    EvictStale(now);
    Entry& entry = Touch(Truncate(key));
    while (!entry.failures.empty() && entry.failures.front() <= now - options_.window_seconds) {
      entry.failures.pop_front();
    }
    if (entry.failures.empty() && entry.blocked_until <= now) entry.lockouts = 0;
    entry.failures.push_back(now);
    // Only whether the window holds max_failures_ failures matters, so the most recent
    // max_failures_ times are all we keep.
    if (entry.failures.size() > max_failures_) entry.failures.pop_front();
    if (entry.failures.size() < max_failures_) return;
    ++entry.lockouts;
    int64_t backoff = options_.base_backoff_seconds;
    for (int i = 1; i < entry.lockouts && backoff < options_.max_backoff_seconds; ++i) {
      backoff =
          backoff > options_.max_backoff_seconds / 2 ? options_.max_backoff_seconds : backoff * 2;
    }
    entry.blocked_until = std::max(entry.blocked_until, now + backoff);
  }

  // Failures of `key` within the window.
  int Failures(std::string_view key, int64_t now) const {
    auto it = index_.find(Truncate(key));
    if (it == index_.end()) return 0;
    return static_cast<int>(
        std::count_if(it->second->failures.begin(), it->second->failures.end(),
                      [&](int64_t at) { return at > now - options_.window_seconds; }));
  }

  void Forget(std::string_view key) {
    auto it = index_.find(Truncate(key));
    if (it == index_.end()) return;
    auto entry = it->second;
    index_.erase(it);
    lru_.erase(entry);
  }

  size_t size() const { return index_.size(); }

 private:
  struct Entry {
    std::string key;
    std::deque<int64_t> failures;  // oldest first, at most max_failures_
    int lockouts = 0;              // lockouts since the window last emptied
    int64_t blocked_until = 0;
  };

  bool IsStale(const Entry& entry, int64_t now) const {
    const bool any_in_window =
        !entry.failures.empty() && entry.failures.back() > now - options_.window_seconds;
    return !any_in_window && entry.blocked_until <= now;
  }

  // Drops entries that no longer hold anything, oldest-touched first.
  void EvictStale(int64_t now) {
    while (!lru_.empty() && IsStale(lru_.back(), now)) {
      index_.erase(lru_.back().key);
      lru_.pop_back();
    }
  }

  // Returns `key`'s entry, created if needed, moved to the front of the LRU list.
  Entry& Touch(std::string_view key) {
    auto it = index_.find(key);
    if (it != index_.end()) {
      lru_.splice(lru_.begin(), lru_, it->second);
      return lru_.front();
    }
    if (index_.size() >= options_.max_entries) {
      index_.erase(lru_.back().key);
      lru_.pop_back();
    }
    lru_.push_front(Entry{.key = std::string(key)});
    index_.emplace(lru_.front().key, lru_.begin());
    return lru_.front();
  }

  const size_t max_failures_;
  const LoginThrottleOptions options_;
  std::list<Entry> lru_;  // most recently touched first
  // Keys view Entry::key inside lru_, whose nodes never move.
  std::unordered_map<std::string_view, std::list<Entry>::iterator> index_;
};

LoginThrottle::LoginThrottle(LoginThrottleOptions options)
    : global_rate_(options.global_failures_per_second),
      global_burst_(options.global_failure_burst) {
  CHECK(options.max_failures_per_user > 0 && options.max_failures_per_address > 0)
      << "login throttle: failure limits must be positive";
  CHECK(global_rate_ > 0 && global_burst_ >= 1)
      << "login throttle: the global rate must be positive";
  CHECK(options.window_seconds > 0) << "login throttle: window must be positive";
  CHECK(options.base_backoff_seconds > 0 &&
        options.max_backoff_seconds >= options.base_backoff_seconds)
      << "login throttle: backoff must be positive and its cap at least the base";
  CHECK(options.max_entries > 0) << "login throttle: must track at least one entry";
  MutexLock lock(&mu_);
  pairs_ = std::make_unique<Table>(options.max_failures_per_user, options);
  addresses_ = std::make_unique<Table>(options.max_failures_per_address, options);
  global_tokens_ = global_burst_;
}

void LoginThrottle::RefillLocked(int64_t now) {
  if (now > global_refilled_at_) {
    global_tokens_ =
        std::min(global_burst_,
                 global_tokens_ + static_cast<double>(now - global_refilled_at_) * global_rate_);
    global_refilled_at_ = now;
  }
}

LoginThrottle::~LoginThrottle() = default;

Status LoginThrottle::Check(std::string_view user, std::string_view address, int64_t now) {
  int64_t retry_after = 0;
  {
    MutexLock lock(&mu_);
    if (!user.empty()) retry_after = pairs_->RetryAfter(PairKey(user, address), now);
    if (!address.empty()) retry_after = std::max(retry_after, addresses_->RetryAfter(address, now));
    RefillLocked(now);
    if (global_tokens_ < 1) {
      retry_after = std::max<int64_t>(
          retry_after, static_cast<int64_t>(std::ceil((1 - global_tokens_) / global_rate_)));
    }
  }
  if (retry_after == 0) return Status::Ok();
  return Status(Errc::kBusy,
                "too many failed logins: retry after " + std::to_string(retry_after) + " s");
}

void LoginThrottle::RecordFailure(std::string_view user, std::string_view address, int64_t now) {
  MutexLock lock(&mu_);
  if (!user.empty()) pairs_->RecordFailure(PairKey(user, address), now);
  if (!address.empty()) addresses_->RecordFailure(address, now);
  RefillLocked(now);
  global_tokens_ = std::max(0.0, global_tokens_ - 1);
}

void LoginThrottle::RecordSuccess(std::string_view user, std::string_view address, int64_t now) {
  MutexLock lock(&mu_);
  if (!user.empty()) pairs_->Forget(PairKey(user, address));
}

int LoginThrottle::RecentFailures(std::string_view user, std::string_view address, int64_t now) {
  MutexLock lock(&mu_);
  return user.empty() ? 0 : pairs_->Failures(PairKey(user, address), now);
}

size_t LoginThrottle::TrackedEntries() {
  MutexLock lock(&mu_);
  return pairs_->size() + addresses_->size();
}

}  // namespace dittofs::core

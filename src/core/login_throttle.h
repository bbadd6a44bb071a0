// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string_view>

#include "base/mutex.h"
#include "base/status.h"

namespace dittofs::core {

struct LoginThrottleOptions {
  // Failures within `window_seconds` that lock a username out from one client address, or a
  // client address out altogether.
  int max_failures_per_user = 5;
  int max_failures_per_address = 20;
  // All failures together, from every address: a token bucket of `global_failure_burst` that
  // refills at `global_failures_per_second`. It bounds how fast guesses can come from many
  // addresses at once, without locking anyone out for longer than a refill.
  double global_failures_per_second = 5;
  int global_failure_burst = 100;
  int64_t window_seconds = 15 * 60;
  // The first lockout lasts base_backoff_seconds; each further failure while the count is
  // still at the limit doubles it, up to max_backoff_seconds.
  int64_t base_backoff_seconds = 30;
  int64_t max_backoff_seconds = 15 * 60;
  // Most usernames, and most addresses, tracked at once. Past that the least recently
  // touched entry is forgotten, which bounds memory under a flood of invented names at the
  // price of possibly releasing an old lockout early.
  size_t max_entries = 10000;
};

// Slows online password guessing. Failed logins are counted per (username, client address)
// pair and per client address in a sliding window; when either count reaches its limit,
// further attempts for that username from that address, or from that address for anyone, are
// refused until an exponentially growing, capped backoff passes. A username is never locked
// out everywhere: an attacker who guesses at `admin` locks only its own addresses out, and the
// admin logs in from elsewhere. Failures from everywhere together are rate-limited as well
// (global_failures_per_second). Times are seconds on any clock the caller chooses, passed in so
// tests need no sleep.
//
// One LoginThrottle serves every way in that takes a password (the REST API's login, SMB's
// SESSION_SETUP), so that guesses through one count against the others.
//
// A login handler calls Check before looking at the password, and when it refuses, answers
// without verifying (and without calling RecordFailure). After verifying, it calls
// RecordFailure or RecordSuccess. An empty username or address is not tracked.
// All methods are safe to call concurrently from any thread.
class LoginThrottle {
 public:
  explicit LoginThrottle(LoginThrottleOptions options = {});
  ~LoginThrottle();
  LoginThrottle(const LoginThrottle&) = delete;
  LoginThrottle& operator=(const LoginThrottle&) = delete;

  // Returns Errc::kBusy, with "retry after N s" in the message, while `user` is locked out
  // from `address`, `address` is locked out, or the global rate is spent; ok otherwise.
  Status Check(std::string_view user, std::string_view address, int64_t now);
  void RecordFailure(std::string_view user, std::string_view address, int64_t now);
  // Forgets the failures and lockout of `user` from `address`. The address keeps its count:
  // one account an attacker controls must not reset the guessing budget of everything behind
  // that address.
  void RecordSuccess(std::string_view user, std::string_view address, int64_t now);

  // The failures of `user` from `address` within the window (at most max_failures_per_user):
  // for a handler that slows its answers down as they mount up.
  int RecentFailures(std::string_view user, std::string_view address, int64_t now);

  // Entries currently tracked, users plus addresses; for tests and metrics.
  size_t TrackedEntries();

 private:
  class Table;  // failure history for one kind of key; defined in throttle.cc

  // Refills the global bucket up to `now`.
  void RefillLocked(int64_t now) EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const double global_rate_;
  const double global_burst_;
  Mutex mu_;
  std::unique_ptr<Table> pairs_ GUARDED_BY(mu_);  // keyed by (username, address)
  std::unique_ptr<Table> addresses_ GUARDED_BY(mu_);
  double global_tokens_ GUARDED_BY(mu_);
  int64_t global_refilled_at_ GUARDED_BY(mu_) = 0;
};

}  // namespace dittofs::core

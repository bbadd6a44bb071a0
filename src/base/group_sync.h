// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>

#include "base/mutex.h"
#include "base/result.h"

namespace dittofs {

// Group commit: many threads wait for durability up to a position (a log sequence number)
// while one flush runs at a time. A thread that finds a flush running waits for it; when that
// flush did not reach the waiter's position, one of the waiters runs the next flush, which
// covers all of them. Safe to call from any thread.
class GroupSync {
 public:
  // Makes everything written so far durable and returns the position it covers (at least every
  // position published before the call). Runs without GroupSync's lock, one at a time; marks
  // its own BlockingRegion.
  using Flush = std::function<Result<uint64_t>()>;

  // Returns once a flush has covered `target`, or the error of the flush this call ran. Waiting
  // for another thread's flush is a BlockingRegion.
  Status SyncThrough(uint64_t target, const Flush& flush);
  // Flushes that succeeded so far.
  uint64_t flushes() const { return flushes_.load(std::memory_order_relaxed); }

 private:
  Mutex mu_;
  std::condition_variable cv_;  // a flush finished
  bool flushing_ GUARDED_BY(mu_) = false;
  uint64_t synced_ GUARDED_BY(mu_) = 0;  // durable up to here
  std::atomic<uint64_t> flushes_{0};
};

}  // namespace dittofs

// SPDX-License-Identifier: Apache-2.0
#include "base/group_sync.h"

#include <algorithm>
#include <mutex>

#include "base/thread_pool.h"

namespace dittofs {

Status GroupSync::SyncThrough(uint64_t target, const Flush& flush) {
  MutexLock lock(&mu_);
  while (synced_ < target) {
    if (flushing_) {
      BlockingRegion blocking;  // waiting for another thread's flush
      std::unique_lock<std::mutex> wait(mu_.native(), std::adopt_lock);
      cv_.wait(wait, [&]() NO_THREAD_SAFETY_ANALYSIS { return !flushing_ || synced_ >= target; });
      wait.release();  // `lock` still owns the mutex
      continue;
    }
    flushing_ = true;
    mu_.Unlock();
    Result<uint64_t> covered = flush();
    mu_.Lock();
    flushing_ = false;
    if (covered.ok()) {
      synced_ = std::max(synced_, *covered);
      flushes_.fetch_add(1, std::memory_order_relaxed);
    }
    cv_.notify_all();
    RETURN_IF_ERROR(covered.status());
  }
  return Status::Ok();
}

}  // namespace dittofs

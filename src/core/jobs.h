// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "base/clock.h"
#include "base/mutex.h"
#include "base/result.h"

namespace dittofs::core {

// Long administrative jobs (docs/jobs.md): uploading a share's data, garbage collection,
// reconcile, a quota recount. Each runs on a thread of its own and reports how far it got, so
// that the REST API can answer at once with a job and clients can follow it.

enum class JobState { kRunning, kSucceeded, kFailed, kCanceled };
std::string_view JobStateName(JobState state);  // "running", "succeeded", "failed", "canceled"

// What a job tells of itself while it runs. Thread-safe: the job's thread writes, readers read.
class JobProgress {
 public:
  // How much there is to do (0: not known yet), in `unit` ("bytes", "files").
  void SetTotal(uint64_t total) { total_.store(total, std::memory_order_relaxed); }
  void SetDone(uint64_t done) { done_.store(done, std::memory_order_relaxed); }
  void AddDone(uint64_t n) { done_.fetch_add(n, std::memory_order_relaxed); }
  uint64_t total() const { return total_.load(std::memory_order_relaxed); }
  uint64_t done() const { return done_.load(std::memory_order_relaxed); }
  // Whether the job was asked to stop (JobTable::Cancel); the work checks it now and then and
  // returns Errc::kCanceled-like early (any status; the job is then canceled).
  bool canceled() const { return canceled_.load(std::memory_order_relaxed); }

 private:
  friend class JobTable;
  std::atomic<uint64_t> total_{0};
  std::atomic<uint64_t> done_{0};
  std::atomic<bool> canceled_{false};
};

// A job as JobTable::Get reports it.
struct JobInfo {
  uint64_t id = 0;
  std::string kind;   // "sync", "gc", "reconcile", "quota-recount"
  std::string share;  // the share it works on ("/export")
  JobState state = JobState::kRunning;
  // How far it got, 0 to 100; nullopt while the total is not known (it runs, but cannot tell
  // how far: a GC pass). 100 once succeeded.
  std::optional<double> percent;
  uint64_t done = 0, total = 0;
  std::string unit;   // what done and total count
  std::string error;  // why it failed (kFailed)
  bool cancellable = false;
  Timespec started, finished;  // finished: zero while running
};

// The server's jobs. Finished jobs stay listed for kKeepFinished, at most kMaxFinished of them.
// Thread-safe. Destruction asks running jobs to stop and waits up to kStopWait for them; a job
// still running then (a sync waiting for an unreachable remote) is left to end on its own: its
// thread touches nothing of the table.
class JobTable {
 public:
  // The work of a job: returns when done, reporting through `progress`.
  using Work = std::function<Status(JobProgress& progress)>;
  // Polled when the job is read, to update its progress from outside the work (a store's
  // counters); may be empty.
  using Probe = std::function<void(JobProgress& progress)>;

  // `stop_wait`: how long destruction waits for running jobs.
  explicit JobTable(std::chrono::milliseconds stop_wait = kStopWait) : stop_wait_(stop_wait) {}
  ~JobTable();
  JobTable(const JobTable&) = delete;
  JobTable& operator=(const JobTable&) = delete;

  // Starts `work` as a job of `kind` on `share`, counting in `unit`, and returns it. When a job
  // of the same kind on the same share is running already, returns that one instead (a second
  // sync would only wait for the first).
  // `cancellable`: whether the work checks JobProgress::canceled (Cancel refuses otherwise).
  JobInfo Start(std::string kind, std::string share, std::string unit, bool cancellable, Work work,
                Probe probe = {});
  // Errc::kNotFound for an id never given or forgotten.
  Result<JobInfo> Get(uint64_t id);
  // Running jobs first, then finished ones, newest first.
  std::vector<JobInfo> List();
  // Asks a running job to stop; it ends as kCanceled when its work returns. A finished job is
  // left as it is (canceling is idempotent). Errc::kNotSupported for a running job whose work
  // cannot stop half-way (Start's `cancellable`).
  Result<JobInfo> Cancel(uint64_t id);

  // Asks every running job that can stop half-way to stop (a server stopping).
  void CancelAll();

  static constexpr int64_t kKeepFinished = 3600;  // seconds
  static constexpr size_t kMaxFinished = 100;
  static constexpr std::chrono::seconds kStopWait{30};

 private:
  struct Job;
  static JobInfo InfoOf(Job& job);
  void Forget() EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const std::chrono::milliseconds stop_wait_;
  Mutex mu_;
  uint64_t next_id_ GUARDED_BY(mu_) = 1;
  std::vector<std::shared_ptr<Job>> jobs_ GUARDED_BY(mu_);  // oldest first
};

}  // namespace dittofs::core

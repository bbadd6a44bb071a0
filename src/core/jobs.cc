// SPDX-License-Identifier: Apache-2.0
#include "core/jobs.h"

#include <algorithm>

#include "base/log.h"

namespace dittofs::core {

std::string_view JobStateName(JobState state) {
  switch (state) {
    case JobState::kRunning:
      return "running";
    case JobState::kSucceeded:
      return "succeeded";
    case JobState::kFailed:
      return "failed";
    case JobState::kCanceled:
      return "canceled";
  }
  return "running";
}

struct JobTable::Job {
  uint64_t id = 0;
  std::string kind, share, unit;
  bool cancellable = false;
  JobProgress progress;
  std::thread thread;  // joined by the table once the job ended (Forget, the destructor)
  // The job's own lock: its thread takes no other, so that it may outlive the table.
  Mutex mu;
  Probe probe GUARDED_BY(mu);  // dropped when the work ends (it may hold the share)
  JobState state GUARDED_BY(mu) = JobState::kRunning;
  std::string error GUARDED_BY(mu);
  Timespec started, finished GUARDED_BY(mu);

  bool running() {
    MutexLock lock(&mu);
    return state == JobState::kRunning;
  }
};

void JobTable::CancelAll() {
  MutexLock lock(&mu_);
  for (const std::shared_ptr<Job>& job : jobs_) {
    if (job->cancellable) job->progress.canceled_.store(true, std::memory_order_relaxed);
  }
}

JobTable::~JobTable() {
  CancelAll();
  std::vector<std::shared_ptr<Job>> jobs;
  {
    MutexLock lock(&mu_);
    jobs = jobs_;
  }
  const auto deadline = std::chrono::steady_clock::now() + stop_wait_;
  for (const std::shared_ptr<Job>& job : jobs) {
    while (job->running() && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    if (!job->thread.joinable()) continue;
    if (job->running()) {
      LOG_WARN("job {}: {} of share {} still runs; left to end on its own", job->id, job->kind,
               job->share);
      job->thread.detach();  // it holds its Job; it touches nothing of the table
    } else {
      job->thread.join();
    }
  }
}

JobInfo JobTable::InfoOf(Job& job) {
  MutexLock lock(&job.mu);
  if (job.state == JobState::kRunning && job.probe) job.probe(job.progress);
  JobInfo info;
  info.id = job.id;
  info.kind = job.kind;
  info.share = job.share;
  info.state = job.state;
  info.unit = job.unit;
  info.error = job.error;
  info.cancellable = job.cancellable;
  info.started = job.started;
  info.finished = job.finished;
  info.total = job.progress.total();
  info.done = std::min(job.progress.done(), info.total == 0 ? job.progress.done() : info.total);
  if (job.state == JobState::kSucceeded) {
    info.percent = 100.0;
  } else if (info.total > 0) {
    info.percent = 100.0 * static_cast<double>(info.done) / static_cast<double>(info.total);
  }
  return info;
}

void JobTable::Forget() {
  const int64_t now = Now().sec;
  std::vector<std::pair<std::shared_ptr<Job>, JobInfo>> all;
  size_t finished = 0;
  for (const std::shared_ptr<Job>& job : jobs_) {
    all.emplace_back(job, InfoOf(*job));
    finished += all.back().second.state != JobState::kRunning;
  }
  std::vector<std::shared_ptr<Job>> kept;
  for (auto& [job, info] : all) {  // oldest first
    const bool done = info.state != JobState::kRunning;
    if (done && (finished > kMaxFinished || info.finished.sec + kKeepFinished < now)) {
      --finished;
      // Its thread set the state last and needs nothing more: the join is at once.
      if (job->thread.joinable()) job->thread.join();
      continue;
    }
    kept.push_back(job);
  }
  jobs_ = std::move(kept);
}

JobInfo JobTable::Start(std::string kind, std::string share, std::string unit, bool cancellable,
                        Work work, Probe probe) {
  MutexLock lock(&mu_);
  Forget();
  for (const std::shared_ptr<Job>& job : jobs_) {
    if (job->kind == kind && job->share == share && job->running()) return InfoOf(*job);
  }
  auto job = std::make_shared<Job>();
  job->id = next_id_++;
  job->kind = std::move(kind);
  job->share = std::move(share);
  job->unit = std::move(unit);
  job->cancellable = cancellable;
  {
    MutexLock job_lock(&job->mu);
    job->probe = std::move(probe);
    job->started = Now();
  }
  jobs_.push_back(job);
  LOG_INFO("job {}: {} of share {} started", job->id, job->kind, job->share);
  // The thread holds the job and touches nothing of the table, which it may outlive.
  job->thread = std::thread([job, work = std::move(work)] {
    Status s = work(job->progress);
    MutexLock lock(&job->mu);
    job->probe = {};
    job->finished = Now();
    if (job->cancellable && job->progress.canceled()) {
      job->state = JobState::kCanceled;
    } else if (s.ok()) {
      job->state = JobState::kSucceeded;
    } else {
      job->state = JobState::kFailed;
      job->error = s.ToString();
    }
    if (job->state == JobState::kFailed) {
      LOG_WARN("job {}: {} of share {} failed: {}", job->id, job->kind, job->share, job->error);
    } else {
      LOG_INFO("job {}: {} of share {} {} after {} s", job->id, job->kind, job->share,
               JobStateName(job->state), job->finished.sec - job->started.sec);
    }
  });
  return InfoOf(*job);
}

Result<JobInfo> JobTable::Get(uint64_t id) {
  MutexLock lock(&mu_);
  for (const std::shared_ptr<Job>& job : jobs_) {
    if (job->id == id) return InfoOf(*job);
  }
  return Status(Errc::kNotFound, "no job " + std::to_string(id));
}

std::vector<JobInfo> JobTable::List() {
  MutexLock lock(&mu_);
  Forget();
  std::vector<JobInfo> out;
  for (const std::shared_ptr<Job>& job : jobs_) out.push_back(InfoOf(*job));
  std::stable_sort(out.begin(), out.end(), [](const JobInfo& a, const JobInfo& b) {
    const bool ra = a.state == JobState::kRunning, rb = b.state == JobState::kRunning;
    if (ra != rb) return ra;
    return a.id > b.id;
  });
  return out;
}

Result<JobInfo> JobTable::Cancel(uint64_t id) {
  MutexLock lock(&mu_);
  for (const std::shared_ptr<Job>& job : jobs_) {
    if (job->id != id) continue;
    if (job->running()) {
      if (!job->cancellable) {
        return Status(Errc::kNotSupported,
                      fmt::format("job {} ({}) cannot be stopped once started", id, job->kind));
      }
      job->progress.canceled_.store(true, std::memory_order_relaxed);
      LOG_INFO("job {}: {} of share {}: asked to stop", job->id, job->kind, job->share);
    }
    return InfoOf(*job);
  }
  return Status(Errc::kNotFound, "no job " + std::to_string(id));
}

}  // namespace dittofs::core

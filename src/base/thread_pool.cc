// SPDX-License-Identifier: Apache-2.0
#include "base/thread_pool.h"

#include <pthread.h>
#include <sched.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <string>

namespace dittofs {
namespace {
// The pool whose worker this thread is (null elsewhere, and inside a BlockingRegion).
thread_local ThreadPool* tls_pool = nullptr;
}  // namespace

ThreadPool::ThreadPool(size_t threads, size_t max_running, const char* name) {
  if (threads == 0) threads = 1;
  max_running_ = max_running == 0 || max_running > threads ? threads : max_running;
  threads_.reserve(threads);
  for (size_t i = 0; i < threads; ++i) {
    threads_.emplace_back([this, name] {
      if (name != nullptr) NameThisThread(name);
      Run();
    });
  }
}

ThreadPool::~ThreadPool() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  for (std::thread& t : threads_) t.join();
}

void ThreadPool::Submit(Task task) {
  bool wake;
  {
    std::lock_guard lock(mu_);
    tasks_.push_back(std::move(task));
    // When max_running_ workers are busy, one of them takes the task when it finishes.
    wake = running_ < max_running_;
  }
  if (wake) cv_.notify_one();
}

void ThreadPool::Run() {
  tls_pool = this;
  std::unique_lock lock(mu_);
  for (;;) {
    cv_.wait(lock, [this] {
      return (!tasks_.empty() && running_ < max_running_) || (stopping_ && tasks_.empty());
    });
    if (tasks_.empty()) {  // stopping and drained
      // Workers that slept through the destructor's wake-up (all slots were busy then) must
      // see the drained queue too.
      lock.unlock();
      cv_.notify_all();
      return;
    }
    Task task = std::move(tasks_.front());
    tasks_.pop_front();
    ++running_;
    lock.unlock();
    task();
    task = Task();  // destroy the task's state outside the lock
    lock.lock();
    --running_;
    // Loop: this worker takes the next queued task itself, if any.
  }
}

void ThreadPool::EnterBlocking() {
  bool wake;
  {
    std::lock_guard lock(mu_);
    --running_;
    wake = !tasks_.empty();
  }
  if (wake) cv_.notify_one();
}

void ThreadPool::LeaveBlocking() {
  std::lock_guard lock(mu_);
  ++running_;  // may exceed max_running_ for a moment; no new task starts until it drops
}

BlockingRegion::BlockingRegion() : pool_(tls_pool) {
  if (pool_ == nullptr) return;
  tls_pool = nullptr;  // a nested region is a no-op
  pool_->EnterBlocking();
}

BlockingRegion::~BlockingRegion() {
  if (pool_ == nullptr) return;
  pool_->LeaveBlocking();
  tls_pool = pool_;
}

void RunInBackground() {
  // Linux scheduling attributes belong to the thread named by its id, not to the process.
  // SCHED_IDLE runs only on CPU time nothing else wants, and any other thread that wakes up
  // takes the CPU from it at once; nice 10 is the fallback, and also what it returns to if
  // it ever leaves SCHED_IDLE.
  constexpr int kBackgroundNice = 10;
  const pid_t tid = gettid();
  setpriority(PRIO_PROCESS, static_cast<id_t>(tid), kBackgroundNice);
  sched_param param{};
  sched_setscheduler(tid, SCHED_IDLE, &param);
}

void NameThisThread(const char* name) {
  constexpr size_t kMaxName = 15;  // TASK_COMM_LEN less the terminating zero
  std::string cut(name, std::min(kMaxName, std::char_traits<char>::length(name)));
  pthread_setname_np(pthread_self(), cut.c_str());
}

}  // namespace dittofs

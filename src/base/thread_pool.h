// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

namespace dittofs {

// A move-only callable (std::function needs copyable targets; tasks often own buffers).
class Task {
 public:
  Task() = default;
  template <typename F>
  Task(F f) : impl_(std::make_unique<Impl<F>>(std::move(f))) {}  // NOLINT: implicit by design
  void operator()() { impl_->Run(); }
  explicit operator bool() const { return impl_ != nullptr; }

 private:
  struct Base {
    virtual ~Base() = default;
    virtual void Run() = 0;
  };
  template <typename F>
  struct Impl final : Base {
    explicit Impl(F f) : fn(std::move(f)) {}
    void Run() override { fn(); }
    F fn;
  };
  std::unique_ptr<Base> impl_;
};

// A fixed set of worker threads running submitted tasks in FIFO order.
// Submit is safe from any thread. The destructor runs every queued task, then joins.
//
// At most `max_running` workers run tasks at once (0: all of them), so that CPU-bound tasks do
// not oversubscribe the cores: a burst of calls is worked off by the running workers one after
// the other instead of waking every thread to fight over the CPUs. A task that blocks (an
// fsync, a network round trip) declares it with a BlockingRegion, which lets another worker
// run meanwhile; that is what the rest of the threads are for.
class ThreadPool {
 public:
  // `name` (at most 15 characters) names the workers, as `top -H` and `perf` show them.
  explicit ThreadPool(size_t threads, size_t max_running = 0, const char* name = nullptr);
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  void Submit(Task task);
  size_t size() const { return threads_.size(); }
  size_t max_running() const { return max_running_; }

 private:
  friend class BlockingRegion;
  void Run();
  void EnterBlocking();
  void LeaveBlocking();

  size_t max_running_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Task> tasks_;  // guarded by mu_
  size_t running_ = 0;      // guarded by mu_: workers in a task, outside blocking regions
  bool stopping_ = false;   // guarded by mu_
  std::vector<std::thread> threads_;
};

// Marks the enclosing scope as waiting on something other than the CPU (disk flush, network),
// so that the pool running this thread may start another task meanwhile. A no-op on threads
// that are not pool workers. Not nestable on purpose: mark the innermost blocking call.
class BlockingRegion {
 public:
  BlockingRegion();
  ~BlockingRegion();
  BlockingRegion(const BlockingRegion&) = delete;
  BlockingRegion& operator=(const BlockingRegion&) = delete;

 private:
  ThreadPool* pool_;
};

// Marks the calling thread as background work (Linux SCHED_IDLE, else nice 10; threads it
// starts later inherit that): it runs on CPU time the clients' work leaves over, at full speed
// when the CPUs are idle, and yields at once to any other thread that wakes. Work that must
// finish anyway gets its time when the clients wait for it (a full journal stalls writers).
// Locks it shares with client threads must be held only briefly. Best effort: without the
// right to change its priority the thread just runs as before.
void RunInBackground();

// Names the calling thread (cut to 15 characters, the kernel's limit), as `top -H`, `ps -L` and
// `perf` show it. Best effort.
void NameThisThread(const char* name);

}  // namespace dittofs

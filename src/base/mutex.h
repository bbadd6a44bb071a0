// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <condition_variable>
#include <mutex>
#include <shared_mutex>

// Clang thread-safety annotations; no-ops under other compilers.
#if defined(__clang__)
#define DFS_TSA(x) __attribute__((x))
#else
#define DFS_TSA(x)
#endif
#define CAPABILITY(x) DFS_TSA(capability(x))
#define SCOPED_CAPABILITY DFS_TSA(scoped_lockable)
#define GUARDED_BY(x) DFS_TSA(guarded_by(x))
#define PT_GUARDED_BY(x) DFS_TSA(pt_guarded_by(x))
#define EXCLUSIVE_LOCKS_REQUIRED(...) DFS_TSA(exclusive_locks_required(__VA_ARGS__))
#define SHARED_LOCKS_REQUIRED(...) DFS_TSA(shared_locks_required(__VA_ARGS__))
#define ACQUIRE(...) DFS_TSA(acquire_capability(__VA_ARGS__))
#define ACQUIRE_SHARED(...) DFS_TSA(acquire_shared_capability(__VA_ARGS__))
#define RELEASE(...) DFS_TSA(release_capability(__VA_ARGS__))
#define RELEASE_SHARED(...) DFS_TSA(release_shared_capability(__VA_ARGS__))
#define NO_THREAD_SAFETY_ANALYSIS DFS_TSA(no_thread_safety_analysis)

namespace dittofs {

// A std::mutex the thread-safety analysis understands.
class CAPABILITY("mutex") Mutex {
 public:
  void Lock() ACQUIRE() { mu_.lock(); }
  void Unlock() RELEASE() { mu_.unlock(); }
  std::mutex& native() { return mu_; }

 private:
  std::mutex mu_;
};

class SCOPED_CAPABILITY MutexLock {
 public:
  explicit MutexLock(Mutex* mu) ACQUIRE(mu) : mu_(mu) { mu_->Lock(); }
  ~MutexLock() RELEASE() { mu_->Unlock(); }
  MutexLock(const MutexLock&) = delete;
  MutexLock& operator=(const MutexLock&) = delete;

 private:
  Mutex* mu_;
};

// A reader/writer lock.
class CAPABILITY("mutex") SharedMutex {
 public:
  void Lock() ACQUIRE() { mu_.lock(); }
  void Unlock() RELEASE() { mu_.unlock(); }
  void LockShared() ACQUIRE_SHARED() { mu_.lock_shared(); }
  void UnlockShared() RELEASE_SHARED() { mu_.unlock_shared(); }

 private:
  std::shared_mutex mu_;
};

class SCOPED_CAPABILITY WriterLock {
 public:
  explicit WriterLock(SharedMutex* mu) ACQUIRE(mu) : mu_(mu) { mu_->Lock(); }
  ~WriterLock() RELEASE() { mu_->Unlock(); }

 private:
  SharedMutex* mu_;
};

class SCOPED_CAPABILITY ReaderLock {
 public:
  explicit ReaderLock(SharedMutex* mu) ACQUIRE_SHARED(mu) : mu_(mu) { mu_->LockShared(); }
  ~ReaderLock() RELEASE() { mu_->UnlockShared(); }

 private:
  SharedMutex* mu_;
};

}  // namespace dittofs

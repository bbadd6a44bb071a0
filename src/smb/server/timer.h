// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <thread>
#include <utility>

namespace dittofs::smb {

// Runs callbacks once their time has come, on a thread of its own: what an answer that must
// wait (a throttled SESSION_SETUP's STATUS_LOGON_FAILURE) waits on without holding a worker or an
// I/O thread. Callbacks run one at a time and must be short (they hand work to a worker).
// Callbacks still waiting when the timer is destroyed never run. The thread starts with the
// first callback, so a server that never delays anything runs none. Thread-safe.
class Timer {
 public:
  using Id = uint64_t;
  Timer() = default;
  ~Timer();
  Timer(const Timer&) = delete;
  Timer& operator=(const Timer&) = delete;

  // Runs `callback` once `delay` has passed. Never 0.
  Id After(std::chrono::milliseconds delay, std::function<void()> callback);
  // Forgets a callback that has not run yet; false when it ran (or runs now) or never was.
  bool Cancel(Id id);

 private:
  void Run();

  std::mutex mu_;
  std::condition_variable cv_;
  // By due time, then id: the next one due first.
  std::map<std::pair<std::chrono::steady_clock::time_point, Id>, std::function<void()>> due_;
  std::map<Id, std::chrono::steady_clock::time_point> when_;  // the due time of each id
  Id next_id_ = 1;
  bool stopping_ = false;
  std::thread thread_;  // started by the first After, under mu_
};

}  // namespace dittofs::smb

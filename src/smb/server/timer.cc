// SPDX-License-Identifier: Apache-2.0
#include "smb/server/timer.h"

namespace dittofs::smb {

Timer::~Timer() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

Timer::Id Timer::After(std::chrono::milliseconds delay, std::function<void()> callback) {
  const auto at = std::chrono::steady_clock::now() + delay;
  Id id;
  {
    std::lock_guard<std::mutex> lock(mu_);
    id = next_id_++;
    due_.emplace(std::make_pair(at, id), std::move(callback));
    when_.emplace(id, at);
    if (!thread_.joinable()) thread_ = std::thread([this] { Run(); });
  }
  cv_.notify_all();
  return id;
}

bool Timer::Cancel(Id id) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = when_.find(id);
  if (it == when_.end()) return false;
  due_.erase({it->second, id});
  when_.erase(it);
  return true;
}

void Timer::Run() {
  std::unique_lock<std::mutex> lock(mu_);
  while (!stopping_) {
    if (due_.empty()) {
      cv_.wait(lock);
      continue;
    }
    auto first = due_.begin();
    if (first->first.first > std::chrono::steady_clock::now()) {
      // A copy: a Cancel while this waits frees the entry (the wait reads its deadline).
      const std::chrono::steady_clock::time_point until = first->first.first;
      cv_.wait_until(lock, until);
      continue;
    }
    std::function<void()> callback = std::move(first->second);
    when_.erase(first->first.second);
    due_.erase(first);
    lock.unlock();
    callback();  // not under mu_: it may schedule or cancel
    lock.lock();
  }
}

}  // namespace dittofs::smb

// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <chrono>
#include <list>
#include <memory>
#include <string>
#include <unordered_map>
#include <utility>

#include "base/mutex.h"

namespace dittofs::rpc::gss {

// The security contexts a server holds, by handle: at most `max_entries`, the least recently
// used one evicted to make room, and each dropped at its expiry (the ticket's end). Entries are
// shared: a call that found one keeps it alive while the cache may drop it.
// All methods are safe to call concurrently from any thread.
template <typename T>
class ContextCache {
 public:
  using TimePoint = std::chrono::steady_clock::time_point;
  // REQUIRES: max_entries > 0.
  explicit ContextCache(size_t max_entries) : max_entries_(max_entries) {}

  // Adds (or replaces) the entry of `handle`, expiring at `expiry`; evicts the least recently
  // used entry when full.
  void Put(const std::string& handle, std::shared_ptr<T> value, TimePoint expiry) {
    std::shared_ptr<T> evicted;  // destroyed after the lock is released
    MutexLock lock(&mu_);
    if (auto it = index_.find(handle); it != index_.end()) {
      evicted = std::move(it->second->value);
      lru_.erase(it->second);
      index_.erase(it);
    }
    if (index_.size() >= max_entries_) {
      evicted = std::move(lru_.back().value);
      index_.erase(lru_.back().handle);
      lru_.pop_back();
    }
    lru_.push_front(Entry{handle, std::move(value), expiry});
    index_[handle] = lru_.begin();
  }

  // The entry of `handle`, made the most recently used; null when there is none or it expired
  // by `now` (it is then dropped, and *expired set when not null).
  std::shared_ptr<T> Get(const std::string& handle, TimePoint now, bool* expired = nullptr) {
    std::shared_ptr<T> dropped;
    MutexLock lock(&mu_);
    auto it = index_.find(handle);
    if (it == index_.end()) return nullptr;
    if (it->second->expiry <= now) {
      dropped = std::move(it->second->value);
      lru_.erase(it->second);
      index_.erase(it);
      if (expired != nullptr) *expired = true;
      return nullptr;
    }
    lru_.splice(lru_.begin(), lru_, it->second);
    return it->second->value;
  }

  // Drops the entry of `handle`; false when there was none.
  bool Erase(const std::string& handle) {
    std::shared_ptr<T> dropped;
    MutexLock lock(&mu_);
    auto it = index_.find(handle);
    if (it == index_.end()) return false;
    dropped = std::move(it->second->value);
    lru_.erase(it->second);
    index_.erase(it);
    return true;
  }

  size_t size() const {
    MutexLock lock(&mu_);
    return index_.size();
  }

 private:
  struct Entry {
    std::string handle;
    std::shared_ptr<T> value;
    TimePoint expiry;
  };
  const size_t max_entries_;
  mutable Mutex mu_;
  std::list<Entry> lru_ GUARDED_BY(mu_);  // most recently used first
  std::unordered_map<std::string, typename std::list<Entry>::iterator> index_ GUARDED_BY(mu_);
};

}  // namespace dittofs::rpc::gss

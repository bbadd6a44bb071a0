// SPDX-License-Identifier: Apache-2.0
#include "core/shares.h"

#include <algorithm>
#include <thread>

#include "base/thread_pool.h"

namespace dittofs::core {

namespace {
std::atomic<uint64_t> next_instance{1};
}  // namespace

ShareTable::ShareTable() : instance_(next_instance.fetch_add(1)) {}

std::shared_ptr<const ShareTable::Snapshot> ShareTable::Load() const {
  struct Cached {
    uint64_t instance = 0;
    uint64_t generation = 0;
    std::shared_ptr<const Snapshot> snapshot;
  };
  thread_local Cached cached;
  uint64_t generation = generation_.load(std::memory_order_acquire);
  if (cached.instance != instance_ || cached.generation != generation || !cached.snapshot) {
    MutexLock lock(&mu_);
    cached = {instance_, generation_.load(std::memory_order_relaxed), snapshot_};
  }
  return cached.snapshot;
}

void ShareTable::Publish(std::shared_ptr<const Snapshot> next) {
  snapshot_ = std::move(next);
  generation_.fetch_add(1, std::memory_order_release);
}

void ShareTable::Add(std::shared_ptr<Share> share) {
  auto entry = std::make_shared<const ShareEntry>(ShareEntry{share, share->vfs()});
  MutexLock lock(&mu_);
  auto next = std::make_shared<Snapshot>(*snapshot_);
  if (auto old = next->by_id.find(share->id()); old != next->by_id.end()) {
    next->by_name.erase(old->second->share->name());
  }
  next->by_name[share->name()] = entry;
  next->by_id[share->id()] = std::move(entry);
  Publish(std::move(next));
}

void ShareTable::Remove(ShareId id) {
  MutexLock lock(&mu_);
  auto next = std::make_shared<Snapshot>(*snapshot_);
  if (auto it = next->by_id.find(id); it != next->by_id.end()) {
    next->by_name.erase(it->second->share->name());
    next->by_id.erase(it);
  }
  Publish(std::move(next));
}

Result<ShareUse> ShareTable::Use(ShareId id) const {
  auto s = Load();
  auto it = s->by_id.find(id);
  if (it == s->by_id.end()) return Errc::kStale;  // a share that is gone
  return it->second->share->Use(it->second);
}

Result<ShareUse> ShareTable::UseWaiting(ShareId id, std::chrono::milliseconds max_wait) const {
  Result<ShareUse> use = Use(id);
  if (use.ok() || use.status().code() != Errc::kUnavailable || max_wait.count() <= 0) return use;
  // Paused: look again, 1 ms after the first try and less often after, until the deadline.
  BlockingRegion blocking;
  const auto deadline = std::chrono::steady_clock::now() + max_wait;
  std::chrono::milliseconds pause(1);
  for (;;) {
    const auto now = std::chrono::steady_clock::now();
    if (now >= deadline) return use;
    std::this_thread::sleep_for(
        std::min<std::chrono::steady_clock::duration>(pause, deadline - now));
    pause = std::min(pause * 2, std::chrono::milliseconds(50));
    use = Use(id);
    if (use.ok() || use.status().code() != Errc::kUnavailable) return use;
  }
}

Result<ShareUse> ShareTable::UseByName(std::string_view name) const {
  auto s = Load();
  auto it = s->by_name.find(name);
  if (it == s->by_name.end()) return Errc::kNotFound;
  return it->second->share->Use(it->second);
}

std::shared_ptr<Share> ShareTable::ById(ShareId id) const {
  auto s = Load();
  auto it = s->by_id.find(id);
  return it == s->by_id.end() ? nullptr : it->second->share;
}

std::shared_ptr<Share> ShareTable::ByName(std::string_view name) const {
  auto s = Load();
  auto it = s->by_name.find(name);
  return it == s->by_name.end() ? nullptr : it->second->share;
}

std::vector<std::shared_ptr<Share>> ShareTable::All() const {
  auto s = Load();
  std::vector<std::shared_ptr<Share>> out;
  for (auto& [id, entry] : s->by_id) out.push_back(entry->share);
  return out;
}

}  // namespace dittofs::core

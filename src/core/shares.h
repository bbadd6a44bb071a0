// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <atomic>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "base/mutex.h"
#include "core/vfs.h"

namespace dittofs::core {

// The shares a server exports, by id and by name. Changes publish a new immutable snapshot
// (copy-on-write). Lookups take no lock: each thread keeps the snapshot it last used and checks
// one atomic generation number to see whether it is still current, so the data path never
// waits for a share being added or removed, nor for other threads' lookups.
class ShareTable {
 public:
  // Adds a share; replaces one with the same id.
  ShareTable();
  void Add(std::shared_ptr<Vfs> share);
  void Remove(ShareId id);
  // Null when there is no such share. The returned pointer keeps the share alive (shares can
  // be removed while calls on them are in flight, hence shared ownership).
  std::shared_ptr<Vfs> ById(ShareId id) const;
  std::shared_ptr<Vfs> ByName(std::string_view name) const;
  std::vector<std::shared_ptr<Vfs>> All() const;

 private:
  struct Snapshot {
    std::map<ShareId, std::shared_ptr<Vfs>> by_id;
    std::map<std::string, std::shared_ptr<Vfs>, std::less<>> by_name;
  };
  std::shared_ptr<const Snapshot> Load() const;

  void Publish(std::shared_ptr<const Snapshot> next) EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const uint64_t instance_;  // tells tables apart in the per-thread cache
  mutable Mutex mu_;
  std::shared_ptr<const Snapshot> snapshot_ GUARDED_BY(mu_) = std::make_shared<Snapshot>();
  std::atomic<uint64_t> generation_{0};  // bumped after each new snapshot is published
};

}  // namespace dittofs::core

// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "base/mutex.h"
#include "core/vfs.h"

namespace dittofs::core {

// The shares a server exports, by id and by name. Lookups take no lock: they read an immutable
// snapshot that changes are published as (copy-on-write), so the data path never waits for a
// share being added or removed.
class ShareTable {
 public:
  // Adds a share; replaces one with the same id.
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

  Mutex write_mu_;  // serializes writers; readers use the atomic snapshot only
  std::shared_ptr<const Snapshot> snapshot_ = std::make_shared<Snapshot>();
};

}  // namespace dittofs::core

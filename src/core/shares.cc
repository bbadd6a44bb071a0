// SPDX-License-Identifier: Apache-2.0
#include "core/shares.h"

#include <atomic>

namespace dittofs::core {

std::shared_ptr<const ShareTable::Snapshot> ShareTable::Load() const {
  return std::atomic_load(&snapshot_);
}

void ShareTable::Add(std::shared_ptr<Vfs> share) {
  MutexLock lock(&write_mu_);
  auto next = std::make_shared<Snapshot>(*Load());
  if (auto old = next->by_id.find(share->id()); old != next->by_id.end()) {
    next->by_name.erase(old->second->name());
  }
  next->by_name[share->name()] = share;
  next->by_id[share->id()] = std::move(share);
  std::atomic_store(&snapshot_, std::shared_ptr<const Snapshot>(std::move(next)));
}

void ShareTable::Remove(ShareId id) {
  MutexLock lock(&write_mu_);
  auto next = std::make_shared<Snapshot>(*Load());
  if (auto it = next->by_id.find(id); it != next->by_id.end()) {
    next->by_name.erase(it->second->name());
    next->by_id.erase(it);
  }
  std::atomic_store(&snapshot_, std::shared_ptr<const Snapshot>(std::move(next)));
}

std::shared_ptr<Vfs> ShareTable::ById(ShareId id) const {
  auto s = Load();
  auto it = s->by_id.find(id);
  return it == s->by_id.end() ? nullptr : it->second;
}

std::shared_ptr<Vfs> ShareTable::ByName(std::string_view name) const {
  auto s = Load();
  auto it = s->by_name.find(name);
  return it == s->by_name.end() ? nullptr : it->second;
}

std::vector<std::shared_ptr<Vfs>> ShareTable::All() const {
  auto s = Load();
  std::vector<std::shared_ptr<Vfs>> out;
  for (auto& [id, v] : s->by_id) out.push_back(v);
  return out;
}

}  // namespace dittofs::core

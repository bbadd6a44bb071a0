// SPDX-License-Identifier: Apache-2.0
#include "core/state/change_feed.h"

#include <vector>

namespace dittofs::core {

ChangeFeed::WatchId ChangeFeed::Watch(uint64_t dir, bool tree, uint32_t filter, Sink sink) {
  MutexLock lock(&mu_);
  const WatchId id = next_id_++;
  by_id_[id] = Entry{dir, tree, filter, std::make_shared<const Sink>(std::move(sink))};
  by_dir_.emplace(dir, id);
  watches_.fetch_add(1, std::memory_order_release);
  if (tree) tree_watches_.fetch_add(1, std::memory_order_release);
  {
    MutexLock names_lock(&names_mu_);
    names_.clear();  // a directory more to look in
  }
  return id;
}

void ChangeFeed::Unwatch(WatchId id) {
  MutexLock lock(&mu_);
  auto it = by_id_.find(id);
  if (it == by_id_.end()) return;
  auto [first, last] = by_dir_.equal_range(it->second.dir);
  for (auto d = first; d != last; ++d) {
    if (d->second == id) {
      by_dir_.erase(d);
      break;
    }
  }
  watches_.fetch_sub(1, std::memory_order_release);
  if (it->second.tree) tree_watches_.fetch_sub(1, std::memory_order_release);
  by_id_.erase(it);
}

void ChangeFeed::Publish(uint64_t dir, ChangeAction action, uint32_t what, std::string_view name) {
  if (!Watched()) return;
  if (action != ChangeAction::kModified) {
    MutexLock lock(&names_mu_);
    names_.clear();  // a name came, went or moved: files are looked for anew
  }
  Deliver(dir, false, Change{action, what, std::string(name)});
}

std::vector<uint64_t> ChangeFeed::WatchedDirs(size_t max) const {
  std::vector<uint64_t> out;
  MutexLock lock(&mu_);
  for (auto it = by_dir_.begin(); it != by_dir_.end() && out.size() < max;
       it = by_dir_.upper_bound(it->first)) {
    out.push_back(it->first);
  }
  return out;
}

bool ChangeFeed::CachedNames(uint64_t inode, int64_t now_nanos, Names* names) const {
  MutexLock lock(&names_mu_);
  auto it = names_.find(inode);
  if (it == names_.end() || now_nanos - it->second.first > kNamesFor) return false;
  *names = it->second.second;
  return true;
}

void ChangeFeed::CacheNames(uint64_t inode, int64_t now_nanos, Names names) {
  MutexLock lock(&names_mu_);
  if (names_.size() >= kMaxCachedFiles) names_.clear();
  names_[inode] = {now_nanos, std::move(names)};
}

void ChangeFeed::PublishBelow(uint64_t ancestor, ChangeAction action, uint32_t what,
                              std::string_view path) {
  if (!TreeWatched()) return;
  Deliver(ancestor, true, Change{action, what, std::string(path)});
}

void ChangeFeed::Gone(uint64_t dir) {
  if (!Watched()) return;
  Change change{ChangeAction::kRemoved, 0, ""};
  change.gone = true;
  Deliver(dir, false, change);
}

void ChangeFeed::Deliver(uint64_t dir, bool only_tree, const Change& change) {
  std::vector<std::shared_ptr<const Sink>> sinks;
  {
    MutexLock lock(&mu_);
    auto [first, last] = by_dir_.equal_range(dir);
    for (auto d = first; d != last; ++d) {
      const Entry& e = by_id_.at(d->second);
      if (((e.filter & change.what) == 0 && !change.gone) || (only_tree && !e.tree)) continue;
      sinks.push_back(e.sink);
    }
  }
  for (const auto& sink : sinks) (*sink)(change);
}

}  // namespace dittofs::core

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
  Deliver(dir, false, Change{action, what, std::string(name)});
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

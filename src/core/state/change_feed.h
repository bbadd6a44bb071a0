// SPDX-License-Identifier: Apache-2.0
#pragma once

// Directory change notification: what the runtime tells watchers of a directory when a name in
// it (or, for a tree watch, anywhere below it) is added, removed, renamed or changed, whichever
// protocol made the change (docs/state.md, "Change notification").

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/mutex.h"

namespace dittofs::core {

// What a change did. The values are MS-FSCC 2.7.1's FILE_NOTIFY_INFORMATION actions.
enum class ChangeAction : uint32_t {
  kAdded = 1,
  kRemoved = 2,
  kModified = 3,
  kRenamedOldName = 4,
  kRenamedNewName = 5,
  kAddedStream = 6,
  kRemovedStream = 7,
  kModifiedStream = 8,
};

// What changed, as bits a watch filters on. The values are MS-SMB2 2.2.35's CompletionFilter.
namespace changed {
inline constexpr uint32_t kFileName = 0x001;  // a non-directory's name came or went
inline constexpr uint32_t kDirName = 0x002;   // a directory's name came or went
inline constexpr uint32_t kAttributes = 0x004;
inline constexpr uint32_t kSize = 0x008;
inline constexpr uint32_t kLastWrite = 0x010;
inline constexpr uint32_t kLastAccess = 0x020;
inline constexpr uint32_t kCreation = 0x040;
inline constexpr uint32_t kEa = 0x080;
inline constexpr uint32_t kSecurity = 0x100;
inline constexpr uint32_t kStreamName = 0x200;
inline constexpr uint32_t kStreamSize = 0x400;
inline constexpr uint32_t kStreamWrite = 0x800;
inline constexpr uint32_t kAll = 0xfff;
}  // namespace changed

// One change as a watch sees it.
struct Change {
  ChangeAction action = ChangeAction::kModified;
  uint32_t what = 0;  // changed:: bits
  // The name changed, relative to the watched directory: a name in it, or for a tree watch a
  // '/'-separated path below it.
  std::string name;
  // The watched directory itself is to be deleted (delete pending while opens remain; `name`
  // empty): delivered whatever the filter.
  bool gone = false;
};

// The watches of one share's directories, and the changes published to them. Publishing costs
// one atomic load while nothing is watched. Sinks run on the publishing thread, after the
// change committed, with no lock of the feed held; a sink must not block (it queues the change
// and wakes whoever waits for it). A sink may still run once after its Unwatch returned, when
// a publication copied it just before; its owner must tolerate that.
// Safe to call from any thread.
class ChangeFeed {
 public:
  using WatchId = uint64_t;
  using Sink = std::function<void(const Change&)>;

  // Watches directory `dir` (an inode number) for changes whose `what` meets `filter`: the
  // changes of its own names, and with `tree` those of every directory below it.
  WatchId Watch(uint64_t dir, bool tree, uint32_t filter, Sink sink);
  void Unwatch(WatchId id);

  // Whether any watch exists, and whether any of them is a tree watch: publishers skip their
  // work (a tree watch needs the path from each ancestor) when not.
  bool Watched() const { return watches_.load(std::memory_order_acquire) > 0; }
  bool TreeWatched() const { return tree_watches_.load(std::memory_order_acquire) > 0; }

  // A change of `name` in directory `dir`: to `dir`'s watches, tree watches included.
  void Publish(uint64_t dir, ChangeAction action, uint32_t what, std::string_view name);
  // A change `path` below directory `ancestor` (not in it): to `ancestor`'s tree watches only.
  void PublishBelow(uint64_t ancestor, ChangeAction action, uint32_t what, std::string_view path);
  // Directory `dir` is to be deleted once its opens close: its watches are told (Change::gone).
  void Gone(uint64_t dir);

  // The directories watched now, at most `max`, each once (Vfs::NoteFileChanged looks for a
  // changed file's names in them).
  std::vector<uint64_t> WatchedDirs(size_t max) const;
  // Where file `inode` was found among the watched directories, as (directory, name) pairs,
  // remembered for kNamesFor so that a stream of writes looks once. Publishing a change of a
  // name (not kModified) forgets every file's, as does a new watch.
  static constexpr int64_t kNamesFor = 2'000'000'000;  // nanoseconds
  using Names = std::vector<std::pair<uint64_t, std::string>>;
  bool CachedNames(uint64_t inode, int64_t now_nanos, Names* names) const;
  void CacheNames(uint64_t inode, int64_t now_nanos, Names names);

 private:
  struct Entry {
    uint64_t dir = 0;
    bool tree = false;
    uint32_t filter = 0;
    std::shared_ptr<const Sink> sink;
  };
  void Deliver(uint64_t dir, bool only_tree, const Change& change);

  std::atomic<int> watches_{0};
  std::atomic<int> tree_watches_{0};
  mutable Mutex mu_;
  WatchId next_id_ GUARDED_BY(mu_) = 1;
  std::map<WatchId, Entry> by_id_ GUARDED_BY(mu_);
  std::multimap<uint64_t, WatchId> by_dir_ GUARDED_BY(mu_);
  static constexpr size_t kMaxCachedFiles = 4096;
  mutable Mutex names_mu_;
  std::map<uint64_t, std::pair<int64_t, Names>> names_ GUARDED_BY(names_mu_);
};

}  // namespace dittofs::core

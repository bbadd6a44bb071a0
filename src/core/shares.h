// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <atomic>
#include <chrono>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "base/mutex.h"
#include "base/result.h"
#include "core/share.h"

namespace dittofs::core {

// The shares a server exports, by id and by name, each with the policy (Vfs) it is served
// under. Changes publish a new immutable snapshot (copy-on-write). Lookups take no lock: each
// thread keeps the snapshot it last used and checks one atomic generation number to see
// whether it is still current, so the data path never waits for a share being added or
// removed, nor for other threads' lookups.
//
// A snapshot a thread keeps may outlive a share's removal: it keeps the Share object (not its
// stores, which Share::Retire closes) until that thread's next lookup.
class ShareTable {
 public:
  ShareTable();
  // Publishes `share` with its current policy (Share::vfs()); replaces one with the same id.
  // Publish again after Share::SetOptions or Share::ReplaceBlocks, so that the data path finds
  // the new policy without asking the share.
  void Add(std::shared_ptr<Share> share);
  void Remove(ShareId id);

  // Starts an operation on share `id` (a ShareUse): Errc::kStale when there is no such share
  // or it is retired, Errc::kUnavailable while its block store is being replaced.
  Result<ShareUse> Use(ShareId id) const;
  // As Use, but while the share is paused (a snapshot being taken, a block store replaced:
  // Errc::kUnavailable) waits up to `max_wait` for it to be served again, on this thread. For
  // protocols whose clients take a refusal as a failure (SMB), where NFS's retry later
  // (JUKEBOX) has no equivalent.
  Result<ShareUse> UseWaiting(ShareId id, std::chrono::milliseconds max_wait) const;
  // As Use, by name; Errc::kNotFound when there is no such share.
  Result<ShareUse> UseByName(std::string_view name) const;
  // The share itself (for control and for in-process adapters); null when there is none.
  std::shared_ptr<Share> ById(ShareId id) const;
  std::shared_ptr<Share> ByName(std::string_view name) const;
  std::vector<std::shared_ptr<Share>> All() const;

 private:
  struct Snapshot {
    std::map<ShareId, std::shared_ptr<const ShareEntry>> by_id;
    std::map<std::string, std::shared_ptr<const ShareEntry>, std::less<>> by_name;
  };
  std::shared_ptr<const Snapshot> Load() const;

  void Publish(std::shared_ptr<const Snapshot> next) EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const uint64_t instance_;  // tells tables apart in the per-thread cache
  mutable Mutex mu_;
  std::shared_ptr<const Snapshot> snapshot_ GUARDED_BY(mu_) = std::make_shared<Snapshot>();
  std::atomic<uint64_t> generation_{0};  // bumped after each new snapshot is published
};

}  // namespace dittofs::core

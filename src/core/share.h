// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "base/mutex.h"
#include "base/result.h"
#include "core/jobs.h"
#include "core/quota.h"
#include "core/snapshot.h"
#include "core/snapshot_schedule.h"
#include "core/state/share_state.h"
#include "core/types.h"
#include "core/vfs.h"
#include "stores/block/block_store.h"
#include "stores/metadata/metadata_store.h"

namespace dittofs::core {

class Share;

// A share with the Vfs (the policy view) it is served under: what a ShareTable publishes.
struct ShareEntry {
  std::shared_ptr<Share> share;
  std::shared_ptr<Vfs> vfs;
};

// One operation's hold on a share. While it lives, the share's stores stay open and are not
// switched: a block-store change and a retirement wait for every hold to go. Holds are for
// the length of one operation (one NFS call), never for the life of a client's open.
// Move-only.
class ShareUse {
 public:
  ShareUse() = default;
  ShareUse(ShareUse&& other) noexcept { *this = std::move(other); }
  ShareUse& operator=(ShareUse&& other) noexcept;
  ~ShareUse() { Release(); }

  Vfs* operator->() const { return entry_->vfs.get(); }
  Vfs& vfs() const { return *entry_->vfs; }
  Share& share() const { return *entry_->share; }

 private:
  friend class Share;
  ShareUse(std::shared_ptr<const ShareEntry> entry, size_t slot)
      : entry_(std::move(entry)), slot_(slot) {}
  void Release();

  std::shared_ptr<const ShareEntry> entry_;  // null once moved from
  size_t slot_ = 0;
};

// One share, for as long as the server serves it: it owns the share's stores, the state its
// clients hold (opens, byte-range locks, caching grants) and its current policy (squash,
// permissions, read-only, ...: ShareOptions, served by a Vfs over the stores and the state).
//
// Lifetimes (docs/state.md, "A share's lifetime"):
// * a policy change (SetOptions) builds a new Vfs over the same stores and state; operations
//   already running finish under the old policy, new ones get the new;
// * a block-store change (ReplaceBlocks) stops new operations (Errc::kUnavailable, NFSv3
//   JUKEBOX: clients retry), waits for running ones, copies every file's data to the new store,
//   and resumes on it; the metadata store and the state stay as they are;
// * retirement (Retire) stops new operations for good (Errc::kStale), waits for running ones,
//   and closes the stores on the calling thread.
// Thread-safe. Use is lock-free (one counter per thread slot); the control operations
// (SetOptions, ReplaceBlocks, Retire) take a mutex and run one at a time.
class Share : public std::enable_shared_from_this<Share> {
 public:
  // Opens a share over its stores: finishes the file-data cuts and deletes the orphans that a
  // crash or stop left (Vfs::FinishPendingCuts, Vfs::DeleteOrphans), creates the root
  // directory on first use. The share owns the stores from here on.
  static Result<std::shared_ptr<Share>> Open(ShareId id, std::string name,
                                             std::unique_ptr<stores::MetadataStore> metadata,
                                             std::unique_ptr<stores::BlockStore> blocks,
                                             ShareOptions options);
  ~Share();
  Share(const Share&) = delete;
  Share& operator=(const Share&) = delete;

  ShareId id() const { return id_; }
  const std::string& name() const { return name_; }
  // The share's opens, locks and grants: one set for every protocol, kept across policy and
  // block-store changes.
  ShareState& state() { return state_; }
  // REQUIRES: the share is not retired. For opening a block store over it (a tiered store
  // keeps its chunk index there); the share keeps it open until Retire.
  stores::MetadataStore& metadata() { return *metadata_; }
  // The Vfs of the current policy and block store.
  std::shared_ptr<Vfs> vfs() const;

  // Starts an operation on the share. Errc::kStale once the share is retired;
  // Errc::kUnavailable while its block store is being replaced.
  Result<ShareUse> Use();
  // As Use(), serving `entry` (a table's published view of this share) when it is still the
  // current policy, so that the data path copies no Vfs pointer of its own.
  Result<ShareUse> Use(const std::shared_ptr<const ShareEntry>& entry);

  // Serves the share under `options` from now on.
  void SetOptions(ShareOptions options);

  // What the caller of ReplaceBlocks does at its two turning points (both optional).
  struct ReplaceHooks {
    // Runs once every file is copied to the new store and synced, still under the drain,
    // before the share switches: the move goes on only when it returns ok (else it fails as
    // on any other error). Where the caller records that the data now lives in the new store.
    std::function<Status()> commit;
    // Runs on the old store after its copy of each file was removed, before it is closed:
    // where the caller deletes what else the old store keeps of the share.
    std::function<void(stores::BlockStore& old)> retire;
  };
  // Moves every file's data (orphans' included) from the current block store to `blocks`,
  // durably, and serves from `blocks`; the old store's copy is then removed and the old store
  // closed. New operations meanwhile get Errc::kUnavailable. Errc::kBusy when operations still
  // run after `drain`; then, as on any failure, the share goes on with its old store
  // unchanged and `blocks` is dropped.
  Status ReplaceBlocks(std::unique_ptr<stores::BlockStore> blocks, std::chrono::milliseconds drain,
                       const ReplaceHooks& hooks = {});

  // Runs `fn` with the share paused: new operations get Errc::kUnavailable (NFS clients retry)
  // as while its block store is replaced, and `fn` starts once the running ones are done.
  // Errc::kBusy (and `fn` not run) when operations still run after `drain`. For work that needs
  // the share to stand still, such as a quota recount.
  Status RunQuiesced(std::chrono::milliseconds drain, const std::function<Status()>& fn);

  // The share's snapshots (core/snapshot.h). Each runs under the control mutex, so one at a
  // time and never beside a block-store change. CreateSnapshot pauses the share while it
  // copies the namespace (as RunQuiesced: Errc::kBusy when operations still run after
  // `drain`); `progress` (may be null) counts the objects copied. DeleteSnapshot runs while
  // the share is served. RestoreSnapshot pauses the share, takes snapshot `safety` of it as it
  // is first (none when empty), brings it back to snapshot `name` and recounts its quotas.
  Result<SnapshotInfo> CreateSnapshot(std::string_view name, std::chrono::milliseconds drain,
                                      JobProgress* progress);
  Status DeleteSnapshot(std::string_view name, JobProgress* progress);
  Status RestoreSnapshot(std::string_view name, std::string_view safety,
                         std::chrono::milliseconds drain, JobProgress* progress);
  Result<std::vector<SnapshotInfo>> ListSnapshots();
  Result<SnapshotInfo> GetSnapshot(std::string_view name);
  // The share's snapshot schedule (core/snapshot_schedule.h), kept in its metadata store.
  Result<SnapshotPolicy> GetSnapshotPolicy();
  Status SetSnapshotPolicy(const SnapshotPolicy& policy);

  // Stops serving the share: new operations get Errc::kStale at once. Waits up to `drain` for
  // the running ones, then closes the stores on this thread, so that on return they are
  // released (a RocksDB directory can be opened again at once). When operations outlast the
  // drain it returns Errc::kBusy and the last of them closes the stores. Idempotent.
  Status Retire(std::chrono::milliseconds drain);
  // Whether the stores are closed.
  bool closed() const;

 private:
  friend class ShareUse;
  enum Gate : uint32_t { kOpen, kSwitching, kRetired };
  static constexpr size_t kSlots = 16;
  struct alignas(64) Slot {
    std::atomic<int64_t> holds{0};
  };

  Share(ShareId id, std::string name) : id_(id), name_(std::move(name)) {}
  // Takes a hold in this thread's slot; fails when the gate is not open.
  Result<size_t> Hold();
  void Release(size_t slot);
  int64_t Holds() const;
  // Waits until no hold is left, or until `drain` has passed (false).
  bool WaitDrained(std::chrono::milliseconds drain);
  // About how many objects the root holds (a snapshot job's total), from the quota count.
  uint64_t ObjectsUnderRoot() const;
  // Closes the stores (blocks first: a tiered block store uses the metadata store).
  void CloseStores();

  const ShareId id_;
  const std::string name_;
  ShareState state_;
  std::array<Slot, kSlots> slots_;
  std::atomic<uint32_t> gate_{kOpen};

  Mutex control_mu_;  // one SetOptions, ReplaceBlocks or Retire at a time
  mutable Mutex mu_;
  std::condition_variable drained_;  // with mu_: the last hold went while the gate was shut
  ShareOptions options_ GUARDED_BY(mu_);
  std::shared_ptr<Vfs> vfs_ GUARDED_BY(mu_);
  std::atomic<const Vfs*> current_{nullptr};  // vfs_, for Use's check without mu_
  bool close_on_last_release_ GUARDED_BY(mu_) = false;
  bool closed_ GUARDED_BY(mu_) = false;
  // Replaced and closed under mu_, and only while no operation holds the share; read without
  // it by the control operations (under control_mu_) and through the Vfs.
  std::unique_ptr<stores::MetadataStore> metadata_;
  std::unique_ptr<stores::BlockStore> blocks_;
  // The quota table and the counting store over metadata_ that every Vfs generation changes
  // the share through; closed with the stores.
  std::unique_ptr<ShareQuotas> quotas_;
};

}  // namespace dittofs::core

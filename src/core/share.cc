// SPDX-License-Identifier: Apache-2.0
#include "core/share.h"

#include <algorithm>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_set>
#include <vector>

#include "base/bytes.h"
#include "base/check.h"
#include "base/clock.h"
#include "base/log.h"
#include "base/thread_pool.h"

namespace dittofs::core {
namespace {

using stores::Inode;
using stores::InodeId;

// Each thread takes its holds in one slot, so threads on different cores rarely share a
// counter's cache line.
size_t ThreadSlot(size_t slots) {
  static std::atomic<size_t> next{0};
  thread_local size_t slot = next.fetch_add(1, std::memory_order_relaxed);
  return slot % slots;
}

constexpr size_t kCopyBytes = 1 << 20;
constexpr size_t kListBatch = 1024;

// Copies the data of every regular file of the namespace rooted at `metadata.root()`, of its
// snapshots, and of every orphan, from `from` to `to`, syncing each file. Never-written ranges
// (read as zeros) are not written. `copied` gets the files copied.
// REQUIRES: nothing changes the share meanwhile.
Status CopyFileData(stores::MetadataStore& metadata, stores::BlockStore& from,
                    stores::BlockStore& to, std::vector<InodeId>* copied) {
  std::vector<std::byte> buffer(kCopyBytes);
  auto visit = [&](const Inode& inode) -> Status {
    if (inode.type != stores::FileType::kRegular) return Status::Ok();
    const InodeId id = inode.id;
    for (uint64_t offset = 0; offset < inode.size;) {
      size_t n = static_cast<size_t>(std::min<uint64_t>(kCopyBytes, inode.size - offset));
      MutableByteView piece(buffer.data(), n);
      RETURN_IF_ERROR(from.Read(id, offset, piece));
      bool zeros =
          std::all_of(piece.begin(), piece.end(), [](std::byte b) { return b == std::byte{0}; });
      if (!zeros) RETURN_IF_ERROR(to.Write(id, offset, piece));
      offset += n;
    }
    RETURN_IF_ERROR(to.Sync(id));
    copied->push_back(id);
    return Status::Ok();
  };
  RETURN_IF_ERROR(WalkTree(metadata, metadata.root(), visit));
  {
    std::unique_ptr<stores::MetadataTxn> txn = metadata.Begin();
    ASSIGN_OR_RETURN(InodeId snapshots, SnapshotDir(*txn));
    if (snapshots != stores::kInvalidInode) RETURN_IF_ERROR(WalkTree(metadata, snapshots, visit));
  }
  // Orphans: files without a name that opens still use (key: the inode, big-endian).
  for (std::string from_key;;) {
    std::unique_ptr<stores::MetadataTxn> txn = metadata.Begin();
    ASSIGN_OR_RETURN(std::vector<stores::Record> orphans,
                     txn->ScanRecords(stores::RecordTable::kOrphans, from_key, "", kListBatch));
    for (const stores::Record& o : orphans) {
      if (o.key.size() != 8) continue;
      ASSIGN_OR_RETURN(
          Inode orphan,
          metadata.GetInode(LoadBe64(reinterpret_cast<const std::byte*>(o.key.data()))));
      RETURN_IF_ERROR(visit(orphan));
    }
    if (orphans.size() < kListBatch) break;
    from_key = orphans.back().key + '\0';
  }
  return Status::Ok();
}

}  // namespace

ShareUse& ShareUse::operator=(ShareUse&& other) noexcept {
  if (this != &other) {
    Release();
    entry_ = std::move(other.entry_);
    slot_ = other.slot_;
  }
  return *this;
}

void ShareUse::Release() {
  if (!entry_) return;
  entry_->share->Release(slot_);
  entry_.reset();
}

Result<std::shared_ptr<Share>> Share::Open(ShareId id, std::string name,
                                           std::unique_ptr<stores::MetadataStore> metadata,
                                           std::unique_ptr<stores::BlockStore> blocks,
                                           ShareOptions options) {
  // Newly opened stores: finish what a crash interrupted before anything is served.
  RETURN_IF_ERROR(Vfs::FinishPendingCuts(name, *metadata, *blocks));
  // A snapshot restore stopped halfway is done again, whole (docs/snapshots.md).
  ASSIGN_OR_RETURN(std::optional<std::string> restoring, PendingRestore(*metadata));
  if (restoring) {
    LOG_WARN("share {}: finishing the restore of snapshot {}, which was stopped halfway", name,
             *restoring);
    if (Status s = core::RestoreSnapshot(*metadata, *blocks, *restoring, nullptr);
        s.code() == Errc::kNotFound) {
      // Nothing to finish it from: the share is served as it is (its safety snapshot, if one
      // was taken, holds what it was).
      LOG_ERROR("share {}: snapshot {} is gone; the restore cannot be finished", name, *restoring);
    } else if (!s.ok()) {
      return s;
    }
  }
  // Quotas count every change from here on, the orphans' deletion included.
  ASSIGN_OR_RETURN(ShareQuotas quotas, ShareQuotas::Open(*metadata));
  if (restoring) {
    RETURN_IF_ERROR(quotas.table->Recount(nullptr));
    RETURN_IF_ERROR(EndRestore(*metadata));
  }
  RETURN_IF_ERROR(Vfs::DeleteOrphans(name, *quotas.counting, *blocks));
  std::shared_ptr<Share> share(new Share(id, std::move(name)));
  share->quotas_ = std::make_unique<ShareQuotas>(std::move(quotas));
  ASSIGN_OR_RETURN(std::unique_ptr<Vfs> vfs,
                   Vfs::Open(id, share->name_, *metadata, *blocks, options, &share->state_,
                             share->quotas_.get()));
  share->metadata_ = std::move(metadata);
  share->blocks_ = std::move(blocks);
  MutexLock lock(&share->mu_);
  share->options_ = std::move(options);
  share->vfs_ = std::move(vfs);
  share->current_.store(share->vfs_.get(), std::memory_order_release);
  return share;
}

Share::~Share() {
  // Nothing can hold the share now (a hold keeps it alive): close what Retire did not.
  CloseStores();
}

std::shared_ptr<Vfs> Share::vfs() const {
  MutexLock lock(&mu_);
  return vfs_;
}

Result<size_t> Share::Hold() {
  size_t slot = ThreadSlot(kSlots);
  // Pairs with the gate's store in ReplaceBlocks and Retire (both seq_cst): either this hold
  // is counted by their drain, or this load sees the gate shut.
  slots_[slot].holds.fetch_add(1, std::memory_order_seq_cst);
  uint32_t gate = gate_.load(std::memory_order_seq_cst);
  if (gate == kOpen) return slot;
  Release(slot);
  if (gate == kRetired) return Status(Errc::kStale, "share " + name_ + " is no longer served");
  return Status(Errc::kUnavailable,
                "share " + name_ + " is paused (a block-store move or a quota recount)");
}

void Share::Release(size_t slot) {
  slots_[slot].holds.fetch_sub(1, std::memory_order_seq_cst);
  if (gate_.load(std::memory_order_seq_cst) == kOpen) return;
  // A drain may be waiting for this hold.
  bool close = false;
  {
    MutexLock lock(&mu_);
    close = close_on_last_release_ && Holds() == 0;
    drained_.notify_all();
  }
  if (close) CloseStores();
}

int64_t Share::Holds() const {
  int64_t total = 0;
  for (const Slot& s : slots_) total += s.holds.load(std::memory_order_seq_cst);
  return total;
}

bool Share::WaitDrained(std::chrono::milliseconds drain) {
  BlockingRegion blocking;  // waiting for other threads' operations
  MutexLock lock(&mu_);
  std::unique_lock<std::mutex> wait(mu_.native(), std::adopt_lock);
  bool drained =
      drained_.wait_for(wait, drain, [&]() NO_THREAD_SAFETY_ANALYSIS { return Holds() == 0; });
  wait.release();  // `lock` still owns the mutex
  return drained;
}

Result<ShareUse> Share::Use() {
  ASSIGN_OR_RETURN(size_t slot, Hold());
  auto entry = std::make_shared<ShareEntry>(ShareEntry{shared_from_this(), vfs()});
  return ShareUse(std::move(entry), slot);
}

Result<ShareUse> Share::Use(const std::shared_ptr<const ShareEntry>& entry) {
  ASSIGN_OR_RETURN(size_t slot, Hold());
  if (entry->vfs.get() == current_.load(std::memory_order_acquire)) return ShareUse(entry, slot);
  // The policy or the block store changed since `entry` was published.
  auto fresh = std::make_shared<ShareEntry>(ShareEntry{entry->share, vfs()});
  return ShareUse(std::move(fresh), slot);
}

void Share::SetOptions(ShareOptions options) {
  MutexLock control(&control_mu_);
  if (closed()) return;
  Result<std::unique_ptr<Vfs>> vfs =
      Vfs::Open(id_, name_, *metadata_, *blocks_, options, &state_, quotas_.get());
  CHECK(vfs.ok()) << "share " << name_ << ": a Vfs over open stores: " << vfs.status().ToString();
  MutexLock lock(&mu_);
  options_ = std::move(options);
  vfs_ = std::move(vfs).value();
  current_.store(vfs_.get(), std::memory_order_release);
}

Status Share::RunQuiesced(std::chrono::milliseconds drain, const std::function<Status()>& fn) {
  MutexLock control(&control_mu_);
  if (gate_.load() == kRetired) return Status(Errc::kStale, "share " + name_ + " is retired");
  gate_.store(kSwitching, std::memory_order_seq_cst);
  if (!WaitDrained(drain)) {
    gate_.store(kOpen, std::memory_order_seq_cst);
    return Status(Errc::kBusy,
                  fmt::format("share {}: operations still ran after {} ms", name_, drain.count()));
  }
  Status s = fn();
  gate_.store(kOpen, std::memory_order_seq_cst);
  return s;
}

uint64_t Share::ObjectsUnderRoot() const {
  // The share's quota count holds every object, the root included (and orphans, rarely).
  const uint64_t objects = quotas_->table->Get(QuotaKind::kShare, 0).used_files;
  return objects > 0 ? objects - 1 : 0;
}

Result<SnapshotInfo> Share::CreateSnapshot(std::string_view name, std::chrono::milliseconds drain,
                                           JobProgress* progress) {
  RETURN_IF_ERROR(CheckSnapshotName(name));
  SnapshotInfo made;
  RETURN_IF_ERROR(RunQuiesced(drain, [&]() -> Status {
    ASSIGN_OR_RETURN(
        made, core::CreateSnapshot(*metadata_, *blocks_, name, ObjectsUnderRoot(), progress));
    return Status::Ok();
  }));
  return made;
}

Status Share::DeleteSnapshot(std::string_view name, JobProgress* progress) {
  MutexLock control(&control_mu_);
  if (gate_.load() == kRetired) return Status(Errc::kStale, "share " + name_ + " is retired");
  return core::DeleteSnapshot(*metadata_, *blocks_, name, progress);
}

Status Share::RestoreSnapshot(std::string_view name, std::string_view safety,
                              std::chrono::milliseconds drain, JobProgress* progress) {
  return RunQuiesced(drain, [&]() -> Status {
    ASSIGN_OR_RETURN(SnapshotInfo target, core::GetSnapshot(*metadata_, name));
    if (target.state != SnapshotState::kReady) {
      return Status(Errc::kBusy, fmt::format("snapshot {} is {}, not ready", name,
                                             SnapshotStateName(target.state)));
    }
    if (!safety.empty()) {
      RETURN_IF_ERROR(
          core::CreateSnapshot(*metadata_, *blocks_, safety, ObjectsUnderRoot(), nullptr).status());
    }
    Status restored = core::RestoreSnapshot(*metadata_, *blocks_, name, progress);
    // Canceled halfway, the share goes back to what it held, from the safety snapshot. Without
    // one nothing else is whole, so the restore runs to its end after all.
    const bool rolled_back =
        !restored.ok() && progress != nullptr && progress->canceled() && !safety.empty();
    if (!restored.ok() && progress != nullptr && progress->canceled()) {
      restored = core::RestoreSnapshot(*metadata_, *blocks_, rolled_back ? safety : name, nullptr);
    }
    if (!restored.ok()) {
      // The record of the restore stays: the share's next open does it again, whole.
      LOG_ERROR(
          "share {}: the restore of snapshot {} stopped halfway ({}); it is finished when "
          "the share is next opened",
          name_, name, restored.ToString());
      return restored;
    }
    RETURN_IF_ERROR(quotas_->table->Recount(nullptr));
    RETURN_IF_ERROR(core::EndRestore(*metadata_));
    if (rolled_back) {
      return Status(Errc::kUnavailable,
                    fmt::format("restore canceled: the share holds what it held before "
                                "(snapshot {})",
                                safety));
    }
    LOG_INFO("share {}: restored snapshot {}{}", name_, name,
             safety.empty() ? "" : fmt::format(" (what it held before is snapshot {})", safety));
    return Status::Ok();
  });
}

// Read under mu_ rather than a hold, so that they answer while a create pauses the share.
Result<std::vector<SnapshotInfo>> Share::ListSnapshots() {
  MutexLock lock(&mu_);
  if (closed_) return Status(Errc::kStale, "share " + name_ + " is retired");
  return core::ListSnapshots(*metadata_);
}

Result<SnapshotInfo> Share::GetSnapshot(std::string_view name) {
  MutexLock lock(&mu_);
  if (closed_) return Status(Errc::kStale, "share " + name_ + " is retired");
  return core::GetSnapshot(*metadata_, name);
}

Result<SnapshotPolicy> Share::GetSnapshotPolicy() {
  MutexLock lock(&mu_);
  if (closed_) return Status(Errc::kStale, "share " + name_ + " is retired");
  return core::GetSnapshotPolicy(*metadata_);
}

Status Share::SetSnapshotPolicy(const SnapshotPolicy& policy) {
  MutexLock lock(&mu_);
  if (closed_) return Status(Errc::kStale, "share " + name_ + " is retired");
  return core::SetSnapshotPolicy(*metadata_, policy, Now().sec);
}

Status Share::ReplaceBlocks(std::unique_ptr<stores::BlockStore> blocks,
                            std::chrono::milliseconds drain, const ReplaceHooks& hooks) {
  MutexLock control(&control_mu_);
  if (gate_.load() == kRetired) return Status(Errc::kStale, "share " + name_ + " is retired");
  gate_.store(kSwitching, std::memory_order_seq_cst);
  auto reopen = [&] { gate_.store(kOpen, std::memory_order_seq_cst); };
  if (!WaitDrained(drain)) {
    reopen();
    return Status(Errc::kBusy,
                  fmt::format("share {}: operations still ran after {} ms; its block store was "
                              "not changed",
                              name_, drain.count()));
  }
  std::vector<InodeId> copied;
  if (Status s = CopyFileData(*metadata_, *blocks_, *blocks, &copied); !s.ok()) {
    reopen();
    return Status(s.code(), fmt::format("share {}: copying its data to the new block store: {}",
                                        name_, s.message()));
  }
  ShareOptions options;
  {
    MutexLock lock(&mu_);
    options = options_;
  }
  Result<std::unique_ptr<Vfs>> vfs =
      Vfs::Open(id_, name_, *metadata_, *blocks, options, &state_, quotas_.get());
  if (!vfs.ok()) {
    reopen();
    return vfs.status();
  }
  if (hooks.commit) {
    if (Status s = hooks.commit(); !s.ok()) {
      reopen();
      return Status(s.code(), fmt::format("share {}: its data was copied to the new block store, "
                                          "but the move could not be recorded: {}",
                                          name_, s.message()));
    }
  }
  std::unique_ptr<stores::BlockStore> old;
  {
    MutexLock lock(&mu_);
    old = std::move(blocks_);
    blocks_ = std::move(blocks);
    vfs_ = std::move(vfs).value();
    current_.store(vfs_.get(), std::memory_order_release);
  }
  reopen();
  // The data is safe in the new store: the old store's copy goes (a directory's files, a
  // tiered store's chunk references in the metadata store).
  for (InodeId file : copied) {
    if (Status s = old->Remove(file); !s.ok()) {
      LOG_WARN("share {}: removing file {} from the old block store: {}", name_, file,
               s.ToString());
    }
  }
  if (hooks.retire) hooks.retire(*old);
  old.reset();
  LOG_INFO("share {}: block store replaced ({} files copied)", name_, copied.size());
  return Status::Ok();
}

Status Share::Retire(std::chrono::milliseconds drain) {
  MutexLock control(&control_mu_);
  gate_.store(kRetired, std::memory_order_seq_cst);
  if (!WaitDrained(drain)) {
    MutexLock lock(&mu_);
    if (Holds() != 0) {
      close_on_last_release_ = true;
      return Status(Errc::kBusy, fmt::format("share {}: operations still ran after {} ms; the "
                                             "last of them closes its stores",
                                             name_, drain.count()));
    }
  }
  CloseStores();
  return Status::Ok();
}

bool Share::closed() const {
  MutexLock lock(&mu_);
  return closed_;
}

void Share::CloseStores() {
  std::unique_ptr<stores::MetadataStore> metadata;
  std::unique_ptr<stores::BlockStore> blocks;
  std::unique_ptr<ShareQuotas> quotas;
  {
    MutexLock lock(&mu_);
    if (closed_) return;
    closed_ = true;
    close_on_last_release_ = false;
    metadata = std::move(metadata_);
    blocks = std::move(blocks_);
    quotas = std::move(quotas_);
  }
  blocks.reset();  // first: a tiered block store uses the metadata store until it is gone
  quotas.reset();  // counted over the metadata store
  metadata.reset();
}

}  // namespace dittofs::core

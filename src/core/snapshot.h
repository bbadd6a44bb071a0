// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/clock.h"
#include "base/result.h"
#include "core/jobs.h"
#include "stores/block/block_store.h"
#include "stores/metadata/metadata_store.h"

namespace dittofs::core {

// Snapshots of a share (docs/snapshots.md): read-only copies of its namespace as it was at one
// moment, made by reference. Each object of the share gets a copy in the share's own metadata
// store, marked stores::kInodeInSnapshot (read-only for every caller, root included), and each
// file's data is cloned in the block store (BlockStore::Clone): a tiered store shares the
// chunks, taking a reference on each, so garbage collection keeps every chunk a snapshot holds
// and no byte of data is copied. The copies hang under a hidden directory, `.snapshot` at the
// share's root, which lookups find but listings of the root do not show:
// `.snapshot/<name>/...` browses a snapshot over any protocol.
//
// In RecordTable::kSnapshots:
//   'd'          -> be64 inode, le32 generation: the `.snapshot` directory (made with the first)
//   's' + name   -> the snapshot (EncodeSnapshot)
// The functions here work on a share's raw stores; core::Share pauses the share around those
// that need it to stand still.

inline constexpr std::string_view kSnapshotDirName = ".snapshot";
inline constexpr size_t kMaxSnapshotName = 64;

enum class SnapshotState : uint8_t { kCreating = 1, kReady = 2, kDeleting = 3 };
std::string_view SnapshotStateName(SnapshotState state);  // "creating", "ready", "deleting"

struct SnapshotInfo {
  std::string name;
  SnapshotState state = SnapshotState::kCreating;
  Timespec created;
  stores::InodeId root = stores::kInvalidInode;  // its copy of the share's root
  uint32_t root_generation = 0;
  uint64_t files = 0;  // objects it holds, directories included (its root not)
  uint64_t bytes = 0;  // the sizes of its regular files (each file once)
  friend bool operator==(const SnapshotInfo&, const SnapshotInfo&) = default;
};

// Errc::kInvalid unless `name` is 1 to kMaxSnapshotName characters of [A-Za-z0-9._-], not
// starting with '.' or '-'.
Status CheckSnapshotName(std::string_view name);

// The `.snapshot` directory of the store; kInvalidInode while the share never had a snapshot.
Result<stores::InodeId> SnapshotDir(stores::MetadataTxn& txn);

// Every snapshot of the share, by name.
Result<std::vector<SnapshotInfo>> ListSnapshots(stores::MetadataStore& metadata);
// Errc::kNotFound when there is none of that name.
Result<SnapshotInfo> GetSnapshot(stores::MetadataStore& metadata, std::string_view name);

// Takes snapshot `name` of the namespace under `metadata.root()`. `progress` (may be null)
// counts the objects copied, of `expected_objects` (0: unknown); when it is canceled the copy
// stops and what was made is removed. Errc::kExists when the name is taken. A crash halfway
// leaves the snapshot in state kCreating, never shown under `.snapshot`; DeleteSnapshot
// removes it. REQUIRES: nothing changes the share meanwhile (Share::RunQuiesced).
Result<SnapshotInfo> CreateSnapshot(stores::MetadataStore& metadata, stores::BlockStore& blocks,
                                    std::string_view name, uint64_t expected_objects,
                                    JobProgress* progress);

// Removes snapshot `name`: it leaves `.snapshot` first, then its objects go, each file's data
// released in the block store (chunks no other file holds become garbage). Resumes a delete
// a crash interrupted. Safe while the share is served: nothing but this changes a snapshot.
Status DeleteSnapshot(stores::MetadataStore& metadata, stores::BlockStore& blocks,
                      std::string_view name, JobProgress* progress);

// Brings the share's namespace back to snapshot `name`: everything under the root is removed
// (each file's data released) and the snapshot's objects are copied back, by reference as
// CreateSnapshot copies, as writable objects; the root takes the snapshot root's attributes.
// The recycle bin's index is emptied (the files it named are gone). Objects get new ids, so
// handles to the share's objects go stale. Errc::kNotFound for no such snapshot, Errc::kBusy
// for one not ready. `progress` (may be null) counts the objects copied; when it is canceled
// the copy stops halfway.
// Before it changes anything it records, durably, that a restore of `name` is under way, and
// the record stays until EndRestore: a restore that a crash (or a failure) stops halfway is
// done again from the start by the share's next open (PendingRestore), so that the share comes
// back either as it was or as the snapshot, never in between. REQUIRES: nothing changes the
// share meanwhile (Share::RunQuiesced); the caller recounts quotas, then calls EndRestore.
Status RestoreSnapshot(stores::MetadataStore& metadata, stores::BlockStore& blocks,
                       std::string_view name, JobProgress* progress);
// The snapshot a restore that has not ended is bringing back; nullopt when none is under way.
Result<std::optional<std::string>> PendingRestore(stores::MetadataStore& metadata);
// Ends the restore under way: its record goes.
Status EndRestore(stores::MetadataStore& metadata);

// Calls `visit(id)` once for every object of the tree under `root` (`root` itself first; an
// object with several names once), reading in transactions of its own. A non-ok status from
// `visit` stops the walk and is returned. REQUIRES: nothing changes the tree meanwhile.
Status WalkTree(stores::MetadataStore& metadata, stores::InodeId root,
                const std::function<Status(const stores::Inode&)>& visit);

}  // namespace dittofs::core

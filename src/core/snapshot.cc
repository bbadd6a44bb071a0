// SPDX-License-Identifier: Apache-2.0
#include "core/snapshot.h"

#include <fmt/format.h>

#include <atomic>
#include <functional>
#include <thread>
#include <tuple>
#include <unordered_map>
#include <unordered_set>

#include "base/log.h"
#include "base/mutex.h"
#include "base/record_codec.h"
#include "core/vfs.h"
#include "core/vfs_internal.h"

namespace dittofs::core {
namespace {

using internal::DeleteXattrs;
using internal::DropInode;
using internal::InodeKey;
using stores::DirEntry;
using stores::FileType;
using stores::Inode;
using stores::InodeId;
using stores::MetadataStore;
using stores::MetadataTxn;
using stores::RecordTable;

constexpr size_t kBatch = 256;  // entries per transaction
constexpr uint8_t kSnapshotEncoding = 1;
const std::string kDirKey = "d";
const std::string kRestoringKey = "r";  // -> the name of the snapshot a restore brings back

std::string SnapshotKey(std::string_view name) { return "s" + std::string(name); }

std::string EncodeSnapshot(const SnapshotInfo& s) {
  std::string out;
  AppendU8(&out, kSnapshotEncoding);
  AppendU8(&out, static_cast<uint8_t>(s.state));
  AppendLe64(&out, static_cast<uint64_t>(s.created.sec));
  AppendLe32(&out, s.created.nsec);
  AppendLe64(&out, s.root);
  AppendLe32(&out, s.root_generation);
  AppendLe64(&out, s.files);
  AppendLe64(&out, s.bytes);
  return out;
}

Result<SnapshotInfo> DecodeSnapshot(std::string_view name, std::string_view value) {
  FieldReader d(value);
  SnapshotInfo s;
  s.name = std::string(name);
  uint8_t encoding = d.U8();
  uint8_t state = d.U8();
  s.created.sec = static_cast<int64_t>(d.Le64());
  s.created.nsec = d.Le32();
  s.root = d.Le64();
  s.root_generation = d.Le32();
  s.files = d.Le64();
  s.bytes = d.Le64();
  if (!d.done() || encoding != kSnapshotEncoding || state < 1 || state > 3) {
    return Status(Errc::kIo, "snapshot " + std::string(name) + ": its record is corrupt");
  }
  s.state = static_cast<SnapshotState>(state);
  return s;
}

Result<SnapshotInfo> ReadSnapshot(MetadataTxn& txn, std::string_view name) {
  ASSIGN_OR_RETURN(std::string value, txn.GetRecord(RecordTable::kSnapshots, SnapshotKey(name)));
  return DecodeSnapshot(name, value);
}

// Copies the extended attributes of `from` to `to` (kXattrs keys: be64 inode, then the name).
Status CopyXattrs(MetadataTxn& txn, InodeId from, InodeId to) {
  ASSIGN_OR_RETURN(
      std::vector<stores::Record> xattrs,
      txn.ScanRecords(RecordTable::kXattrs, InodeKey(from), InodeKey(from + 1), kMaxXattrs + 1));
  for (const stores::Record& x : xattrs) {
    txn.PutRecord(RecordTable::kXattrs, InodeKey(to) + x.key.substr(8), x.value);
  }
  return Status::Ok();
}

// `source` as a new object `id` under `parent`, with `flags`.
Inode CopyOf(const Inode& source, InodeId id, uint32_t generation, InodeId parent, uint32_t flags) {
  Inode copy = source;
  copy.id = id;
  copy.generation = generation;
  copy.parent = source.is_directory() ? parent : stores::kInvalidInode;
  copy.flags = flags;
  copy.version = 0;
  return copy;
}

using Clones = std::vector<std::tuple<InodeId, InodeId, uint64_t>>;  // source, copy, size

// Clones each file's data (BlockStore::Clone), up to kCloneThreads at once: a clone waits for
// a durable metadata commit and a journal sync (and on a tiered store, for the source's dirty
// data to be carved), which concurrent clones share (group commits) instead of taking turns.
constexpr size_t kCloneThreads = 8;
Status CloneAll(stores::BlockStore& blocks, const Clones& clones) {
  std::atomic<size_t> next{0};
  Mutex mu;
  Status first;
  auto work = [&] {
    for (size_t i; (i = next.fetch_add(1)) < clones.size();) {
      const auto& [from, to, size] = clones[i];
      if (Status s = blocks.Clone(from, 0, to, 0, size); !s.ok()) {
        MutexLock lock(&mu);
        if (first.ok()) first = s;
        return;
      }
    }
  };
  {
    std::vector<std::jthread> helpers;
    for (size_t t = 1; t < std::min(kCloneThreads, clones.size()); ++t) helpers.emplace_back(work);
    work();
  }
  return first;
}

struct CopyCounts {
  uint64_t files = 0;
  uint64_t bytes = 0;
};

// Copies every object under directory `src_root` into directory `dst_root` (which has no
// entries), giving the copies `flags`, and gives `dst_root` the attributes and extended
// attributes of `src_root` (its id, generation and parent stay). File data is cloned.
Status CopyTree(MetadataStore& metadata, stores::BlockStore& blocks, InodeId src_root,
                InodeId dst_root, uint32_t flags, JobProgress* progress, CopyCounts* counts) {
  RETURN_IF_ERROR(stores::RunTransaction(metadata, [&](MetadataTxn& txn) -> Status {
    ASSIGN_OR_RETURN(Inode src, txn.GetInode(src_root));
    ASSIGN_OR_RETURN(Inode dst, txn.GetInode(dst_root));
    txn.PutInode(CopyOf(src, dst.id, dst.generation, dst.parent, flags));
    RETURN_IF_ERROR(DeleteXattrs(txn, dst.id));
    return CopyXattrs(txn, src.id, dst.id);
  }));
  // Files with more than one name, by their source id: the copy of the first name seen.
  std::unordered_map<InodeId, InodeId> links;
  std::vector<std::pair<InodeId, InodeId>> dirs = {{src_root, dst_root}};
  while (!dirs.empty()) {
    // (Not a structured binding: the transaction's lambda below captures them.)
    const InodeId src_dir = dirs.back().first;
    const InodeId dst_dir = dirs.back().second;
    dirs.pop_back();
    for (uint64_t cookie = 0;;) {
      if (progress != nullptr && progress->canceled()) {
        return Status(Errc::kUnavailable, "snapshot copy canceled");
      }
      std::vector<DirEntry> entries;
      {
        std::unique_ptr<MetadataTxn> txn = metadata.Begin();
        ASSIGN_OR_RETURN(entries, txn->List(src_dir, cookie, kBatch));
      }
      // What one batch made, applied once its transaction committed (a retried transaction
      // starts over).
      std::vector<std::pair<InodeId, InodeId>> new_dirs;
      std::vector<std::pair<InodeId, InodeId>> new_links;
      Clones clones;
      CopyCounts batch;
      RETURN_IF_ERROR(stores::RunTransaction(metadata, [&](MetadataTxn& txn) -> Status {
        new_dirs.clear();
        new_links.clear();
        clones.clear();
        batch = {};
        for (const DirEntry& e : entries) {
          ASSIGN_OR_RETURN(Inode child, txn.GetInode(e.child));
          InodeId copy_id = stores::kInvalidInode;
          if (!child.is_directory() && child.nlink > 1) {
            if (auto it = links.find(child.id); it != links.end()) copy_id = it->second;
            for (const auto& [from, to] : new_links) {
              if (from == child.id) copy_id = to;
            }
          }
          if (copy_id == stores::kInvalidInode) {
            ASSIGN_OR_RETURN(copy_id, metadata.AllocateInodeId());
            txn.PutInode(CopyOf(child, copy_id, metadata.NextGeneration(copy_id), dst_dir, flags));
            RETURN_IF_ERROR(CopyXattrs(txn, child.id, copy_id));
            ++batch.files;
            if (child.is_directory()) {
              new_dirs.emplace_back(child.id, copy_id);
            } else if (child.type == FileType::kRegular) {
              batch.bytes += child.size;
              if (child.size > 0) clones.emplace_back(child.id, copy_id, child.size);
            }
            if (!child.is_directory() && child.nlink > 1) new_links.emplace_back(child.id, copy_id);
          }
          txn.PutEntry(dst_dir, DirEntry{e.name, copy_id, e.cookie});
        }
        return Status::Ok();
      }));
      RETURN_IF_ERROR(CloneAll(blocks, clones));
      for (const auto& [from, to] : new_links) links.emplace(from, to);
      for (const auto& d : new_dirs) dirs.push_back(d);
      counts->files += batch.files;
      counts->bytes += batch.bytes;
      if (progress != nullptr) progress->AddDone(batch.files);
      if (entries.size() < kBatch) break;
      cookie = entries.back().cookie;
    }
  }
  return Status::Ok();
}

// Removes every object under directory `root`, and `root` too when `remove_root`, releasing
// each file's data. `progress` (may be null) counts the objects removed.
Status RemoveTree(MetadataStore& metadata, stores::BlockStore& blocks, InodeId root,
                  bool remove_root, JobProgress* progress) {
  // Every directory, parents before children; emptied in the reverse order.
  std::vector<InodeId> dirs;
  RETURN_IF_ERROR(WalkTree(metadata, root, [&](const Inode& inode) {
    if (inode.is_directory()) dirs.push_back(inode.id);
    return Status::Ok();
  }));
  for (auto it = dirs.rbegin(); it != dirs.rend(); ++it) {
    const InodeId dir = *it;
    for (;;) {
      if (progress != nullptr && progress->canceled()) {
        return Status(Errc::kUnavailable, "canceled; deleting it again goes on from here");
      }
      std::vector<DirEntry> entries;
      {
        std::unique_ptr<MetadataTxn> txn = metadata.Begin();
        ASSIGN_OR_RETURN(entries, txn->List(dir, 0, kBatch));
      }
      if (entries.empty()) break;
      std::vector<InodeId> released;
      RETURN_IF_ERROR(stores::RunTransaction(metadata, [&](MetadataTxn& txn) -> Status {
        released.clear();
        std::unordered_map<InodeId, uint32_t> links_left;  // within this batch
        for (const DirEntry& e : entries) {
          txn.DeleteEntry(dir, e.name);
          ASSIGN_OR_RETURN(Inode child, txn.GetInode(e.child));
          if (!child.is_directory()) {
            auto [at, fresh] = links_left.try_emplace(child.id, child.nlink);
            if (at->second > 1) {
              --at->second;
              child.nlink = at->second;
              txn.PutInode(child);
              continue;
            }
            at->second = 0;
          }
          RETURN_IF_ERROR(DropInode(txn, child.id));
          if (child.type == FileType::kRegular) released.push_back(child.id);
        }
        return Status::Ok();
      }));
      for (InodeId file : released) {
        if (Status s = blocks.Remove(file); !s.ok()) {
          // The data is unreachable now; the tiered store's reconcile releases what is left.
          LOG_WARN("snapshot: releasing the data of file {}: {}", file, s.ToString());
        }
      }
      if (progress != nullptr) progress->AddDone(entries.size());
    }
  }
  if (!remove_root) return Status::Ok();
  return stores::RunTransaction(metadata,
                                [&](MetadataTxn& txn) -> Status { return DropInode(txn, root); });
}

}  // namespace

std::string_view SnapshotStateName(SnapshotState state) {
  switch (state) {
    case SnapshotState::kCreating:
      return "creating";
    case SnapshotState::kReady:
      return "ready";
    case SnapshotState::kDeleting:
      return "deleting";
  }
  return "unknown";
}

Status CheckSnapshotName(std::string_view name) {
  if (name.empty() || name.size() > kMaxSnapshotName) {
    return Status(Errc::kInvalid,
                  fmt::format("a snapshot name has 1 to {} characters", kMaxSnapshotName));
  }
  if (name.front() == '.' || name.front() == '-') {
    return Status(Errc::kInvalid, "a snapshot name does not start with '.' or '-'");
  }
  for (char c : name) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == '-';
    if (!ok) {
      return Status(Errc::kInvalid, "a snapshot name has only letters, digits, '.', '_' and '-': " +
                                        std::string(name));
    }
  }
  return Status::Ok();
}

Result<InodeId> SnapshotDir(MetadataTxn& txn) {
  Result<std::string> value = txn.GetRecord(RecordTable::kSnapshots, kDirKey);
  if (!value.ok()) {
    if (value.status().code() == Errc::kNotFound) return stores::kInvalidInode;
    return value.status();
  }
  if (value->size() != 12) return Status(Errc::kIo, "the .snapshot record is corrupt");
  return LoadBe64(*value);
}

namespace {
// Every snapshot record `txn` sees, in name order.
Result<std::vector<SnapshotInfo>> ScanSnapshots(MetadataTxn& txn) {
  std::vector<SnapshotInfo> out;
  for (std::string from = "s";;) {
    ASSIGN_OR_RETURN(std::vector<stores::Record> records,
                     txn.ScanRecords(RecordTable::kSnapshots, from, "t", kBatch));
    for (const stores::Record& r : records) {
      ASSIGN_OR_RETURN(SnapshotInfo s, DecodeSnapshot(std::string_view(r.key).substr(1), r.value));
      out.push_back(std::move(s));
    }
    if (records.size() < kBatch) break;
    from = records.back().key + '\0';
  }
  return out;
}
}  // namespace

Result<std::vector<SnapshotInfo>> ListSnapshots(MetadataStore& metadata) {
  std::unique_ptr<MetadataTxn> txn = metadata.Begin();
  return ScanSnapshots(*txn);
}

Result<SnapshotInfo> GetSnapshot(MetadataStore& metadata, std::string_view name) {
  std::unique_ptr<MetadataTxn> txn = metadata.Begin();
  Result<SnapshotInfo> s = ReadSnapshot(*txn, name);
  if (!s.ok() && s.status().code() == Errc::kNotFound) {
    return Status(Errc::kNotFound, "no snapshot " + std::string(name));
  }
  return s;
}

Result<SnapshotInfo> CreateSnapshot(MetadataStore& metadata, stores::BlockStore& blocks,
                                    std::string_view name, uint64_t expected_objects,
                                    JobProgress* progress) {
  RETURN_IF_ERROR(CheckSnapshotName(name));
  SnapshotInfo info;
  info.name = std::string(name);
  RETURN_IF_ERROR(stores::RunTransaction(metadata, [&](MetadataTxn& txn) -> Status {
    if (Result<std::string> taken = txn.GetRecord(RecordTable::kSnapshots, SnapshotKey(name));
        taken.ok()) {
      return Status(Errc::kExists, "snapshot " + std::string(name) + " exists");
    } else if (taken.status().code() != Errc::kNotFound) {
      return taken.status();
    }
    const Timespec now = Now();
    ASSIGN_OR_RETURN(InodeId dir_id, SnapshotDir(txn));
    if (dir_id == stores::kInvalidInode) {
      // The `.snapshot` directory: root's, read-only, made with the first snapshot.
      Inode dir;
      ASSIGN_OR_RETURN(dir.id, metadata.AllocateInodeId());
      dir.generation = metadata.NextGeneration(dir.id);
      dir.type = FileType::kDirectory;
      dir.mode = 0555;
      dir.nlink = 2;
      dir.atime = dir.mtime = dir.ctime = dir.btime = now;
      dir.parent = metadata.root();
      dir.next_cookie = internal::kFirstCookie;
      dir.flags = stores::kInodeInSnapshot;
      txn.PutInode(dir);
      std::string value;
      AppendBe64(&value, dir.id);
      AppendLe32(&value, dir.generation);
      txn.PutRecord(RecordTable::kSnapshots, kDirKey, value);
      dir_id = dir.id;
    }
    ASSIGN_OR_RETURN(Inode root, txn.GetInode(metadata.root()));
    // Each snapshot has a second of its own: SMB clients name previous versions by their
    // @GMT second. One taken within the second of another is dated the next free second.
    ASSIGN_OR_RETURN(std::vector<SnapshotInfo> others, ScanSnapshots(txn));
    info.created = now;
    for (bool taken = true; taken;) {
      taken = false;
      for (const SnapshotInfo& other : others) {
        if (other.created.sec == info.created.sec) {
          info.created = Timespec{info.created.sec + 1, 0};
          taken = true;
        }
      }
    }
    info.state = SnapshotState::kCreating;
    ASSIGN_OR_RETURN(info.root, metadata.AllocateInodeId());
    info.root_generation = metadata.NextGeneration(info.root);
    txn.PutInode(CopyOf(root, info.root, info.root_generation, dir_id, stores::kInodeInSnapshot));
    txn.PutRecord(RecordTable::kSnapshots, SnapshotKey(name), EncodeSnapshot(info));
    return Status::Ok();
  }));
  if (progress != nullptr) progress->SetTotal(expected_objects);
  CopyCounts counts;
  Status copied = CopyTree(metadata, blocks, metadata.root(), info.root, stores::kInodeInSnapshot,
                           progress, &counts);
  if (copied.ok()) {
    info.state = SnapshotState::kReady;
    info.files = counts.files;
    info.bytes = counts.bytes;
    copied = stores::RunTransaction(metadata, [&](MetadataTxn& txn) -> Status {
      ASSIGN_OR_RETURN(InodeId dir_id, SnapshotDir(txn));
      ASSIGN_OR_RETURN(Inode dir, txn.GetInode(dir_id));
      txn.PutEntry(dir.id, DirEntry{info.name, info.root, dir.next_cookie});
      dir.next_cookie++;
      dir.nlink++;
      dir.mtime = dir.ctime = Now();
      txn.PutInode(dir);
      txn.PutRecord(RecordTable::kSnapshots, SnapshotKey(name), EncodeSnapshot(info));
      return Status::Ok();
    });
  }
  if (!copied.ok()) {
    // What was made goes; the snapshot record with it.
    if (Status s = DeleteSnapshot(metadata, blocks, name, nullptr); !s.ok()) {
      LOG_WARN("snapshot {}: removing what a failed create made: {}", name, s.ToString());
    }
    return copied;
  }
  if (progress != nullptr) progress->SetTotal(progress->done());  // the estimate, made exact
  return info;
}

Status DeleteSnapshot(MetadataStore& metadata, stores::BlockStore& blocks, std::string_view name,
                      JobProgress* progress) {
  SnapshotInfo info;
  RETURN_IF_ERROR(stores::RunTransaction(metadata, [&](MetadataTxn& txn) -> Status {
    Result<SnapshotInfo> s = ReadSnapshot(txn, name);
    if (!s.ok() && s.status().code() == Errc::kNotFound) {
      return Status(Errc::kNotFound, "no snapshot " + std::string(name));
    }
    ASSIGN_OR_RETURN(info, std::move(s));
    const bool listed = info.state == SnapshotState::kReady;
    info.state = SnapshotState::kDeleting;
    txn.PutRecord(RecordTable::kSnapshots, SnapshotKey(name), EncodeSnapshot(info));
    if (listed) {
      ASSIGN_OR_RETURN(InodeId dir_id, SnapshotDir(txn));
      ASSIGN_OR_RETURN(Inode dir, txn.GetInode(dir_id));
      txn.DeleteEntry(dir.id, name);
      dir.nlink--;
      dir.mtime = dir.ctime = Now();
      txn.PutInode(dir);
    }
    return Status::Ok();
  }));
  if (progress != nullptr) progress->SetTotal(info.files);
  // A create that failed before making its root leaves no root.
  Result<Inode> root = metadata.GetInode(info.root);
  if (root.ok()) {
    RETURN_IF_ERROR(RemoveTree(metadata, blocks, info.root, true, progress));
  } else if (root.status().code() != Errc::kNotFound) {
    return root.status();
  }
  return stores::RunTransaction(metadata, [&](MetadataTxn& txn) -> Status {
    txn.DeleteRecord(RecordTable::kSnapshots, SnapshotKey(name));
    return Status::Ok();
  });
}

Status RestoreSnapshot(MetadataStore& metadata, stores::BlockStore& blocks, std::string_view name,
                       JobProgress* progress) {
  ASSIGN_OR_RETURN(SnapshotInfo info, GetSnapshot(metadata, name));
  if (info.state != SnapshotState::kReady) {
    return Status(Errc::kBusy,
                  fmt::format("snapshot {} is {}, not ready", name, SnapshotStateName(info.state)));
  }
  if (progress != nullptr) progress->SetTotal(info.files);
  RETURN_IF_ERROR(stores::RunTransaction(metadata, [&](MetadataTxn& txn) -> Status {
    txn.PutRecord(RecordTable::kSnapshots, kRestoringKey, std::string(name));
    return Status::Ok();
  }));
  RETURN_IF_ERROR(RemoveTree(metadata, blocks, metadata.root(), false, nullptr));
  // The recycle bin's index (core/recycle.cc) named files that are gone now.
  for (;;) {
    std::vector<stores::Record> index;
    {
      std::unique_ptr<MetadataTxn> txn = metadata.Begin();
      ASSIGN_OR_RETURN(index, txn->ScanRecords(RecordTable::kTrash, "", "", kBatch));
    }
    if (index.empty()) break;
    RETURN_IF_ERROR(stores::RunTransaction(metadata, [&](MetadataTxn& txn) -> Status {
      for (const stores::Record& r : index) txn.DeleteRecord(RecordTable::kTrash, r.key);
      return Status::Ok();
    }));
  }
  CopyCounts counts;
  return CopyTree(metadata, blocks, info.root, metadata.root(), 0, progress, &counts);
}

Result<std::optional<std::string>> PendingRestore(MetadataStore& metadata) {
  std::unique_ptr<MetadataTxn> txn = metadata.Begin();
  Result<std::string> name = txn->GetRecord(RecordTable::kSnapshots, kRestoringKey);
  if (!name.ok() && name.status().code() == Errc::kNotFound) return std::optional<std::string>();
  ASSIGN_OR_RETURN(std::string n, std::move(name));
  return std::optional<std::string>(std::move(n));
}

Status EndRestore(MetadataStore& metadata) {
  return stores::RunTransaction(metadata, [&](MetadataTxn& txn) -> Status {
    txn.DeleteRecord(RecordTable::kSnapshots, kRestoringKey);
    return Status::Ok();
  });
}

Status WalkTree(MetadataStore& metadata, InodeId root,
                const std::function<Status(const Inode&)>& visit) {
  std::vector<InodeId> dirs;
  std::unordered_set<InodeId> seen;
  auto see = [&](InodeId id) -> Status {
    if (!seen.insert(id).second) return Status::Ok();  // a hard link seen before
    ASSIGN_OR_RETURN(Inode inode, metadata.GetInode(id));
    if (inode.is_directory()) dirs.push_back(id);
    return visit(inode);
  };
  RETURN_IF_ERROR(see(root));
  while (!dirs.empty()) {
    InodeId dir = dirs.back();
    dirs.pop_back();
    for (uint64_t cookie = 0;;) {
      std::unique_ptr<MetadataTxn> txn = metadata.Begin();
      ASSIGN_OR_RETURN(std::vector<DirEntry> entries, txn->List(dir, cookie, 1024));
      for (const DirEntry& e : entries) RETURN_IF_ERROR(see(e.child));
      if (entries.size() < 1024) break;
      cookie = entries.back().cookie;
    }
  }
  return Status::Ok();
}

}  // namespace dittofs::core

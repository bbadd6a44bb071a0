// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "base/clock.h"
#include "base/result.h"
#include "trace/trace.h"

namespace dittofs::stores {

using InodeId = uint64_t;
constexpr InodeId kInvalidInode = 0;

enum class FileType : uint8_t {
  kRegular = 1,
  kDirectory = 2,
  kBlockDevice = 3,
  kCharDevice = 4,
  kSymlink = 5,
  kSocket = 6,
  kFifo = 7,
};

// The largest ACL an inode holds (Inode::acl).
inline constexpr size_t kMaxAclSize = 64 << 10;

// Inode::flags: the object belongs to a snapshot of the share (core/snapshot.h) and is
// read-only for every caller.
inline constexpr uint32_t kInodeInSnapshot = 1;

// One file system object as the metadata store keeps it. `mode` holds the permission bits
// and the suid (04000), sgid (02000) and sticky (01000) bits; the type lives in `type`.
// The store keeps every field as given, interpreting none but `version`.
struct Inode {
  InodeId id = kInvalidInode;
  uint32_t generation = 0;  // distinguishes reuses of an id; part of every file handle
  FileType type = FileType::kRegular;
  uint32_t mode = 0;
  uint32_t uid = 0;
  uint32_t gid = 0;
  uint32_t nlink = 0;
  uint64_t size = 0;
  Timespec atime, mtime, ctime, btime;  // btime: birth (creation) time
  uint32_t rdev_major = 0;
  uint32_t rdev_minor = 0;
  std::string symlink_target;      // kSymlink only
  uint64_t create_verifier = 0;    // set by an exclusive create; 0 when none
  InodeId parent = kInvalidInode;  // kDirectory only: the directory holding it ("..")
  uint64_t next_cookie = 0;        // kDirectory only: the cookie the next new entry gets
  // The change counter, kept by the store (callers never set it): a new inode gets 1, and every
  // committed transaction that changes the inode or (a directory) its entries sets it to the
  // value that transaction read plus one, except one whose every write of it was a
  // PutInode(..., Counted::kNo). Persisted with the inode in the same commit, so it never goes
  // back after a crash that keeps the commit. The NFSv4 change attribute.
  uint64_t version = 0;
  // DOS attributes (MS-FSCC 2.6 FILE_ATTRIBUTE_* bits), kept for the protocols that have them.
  uint32_t dos_attributes = 0;
  // An access control list, opaque to the store; at most kMaxAclSize bytes. Empty: none.
  std::string acl;
  // kInode* bits the runtime keeps with the object (kInodeInSnapshot).
  uint32_t flags = 0;

  bool is_directory() const { return type == FileType::kDirectory; }
  friend bool operator==(const Inode&, const Inode&) = default;
};

// A directory entry. `cookie` is a position in the directory that stays valid while other
// entries come and go: entries are listed in increasing cookie order, and a new entry always
// gets a cookie larger than every existing one.
struct DirEntry {
  std::string name;
  InodeId child = kInvalidInode;
  uint64_t cookie = 0;
  friend bool operator==(const DirEntry&, const DirEntry&) = default;
};

// Records are small values under byte-string keys, in tables kept beside the namespace for the
// layers built on it (the chunk index of a tiered block store). They commit in the same
// transactions as inodes and entries, so a file's chunk map and the chunks' reference counts
// change together. The numbers are stored; never renumber them.
enum class RecordTable : uint8_t {
  kChunkMap = 1,  // a file's extents -> the chunks holding them
  kChunks = 2,    // chunk hash -> where the chunk is stored, reference count
  kObjects = 3,   // remote object -> its chunks, live chunk count
  kGcQueue = 4,   // objects with no live chunk, by the time they died
  // Files whose block store data may reach past their size: a shrinking size was committed
  // and its cut of the data is not known to be durable yet (core/vfs.cc).
  kPendingCuts = 5,
  // Where the share's data lives outside this store, as the server chose it at the first open
  // (server/share_layout.h): the name of its place on a tiered store's remote.
  kShareLayout = 6,
  // Files removed while opens still used them (orphans): their inode (nlink 0) and data stay
  // until the last open closes, or until the share's stores open next (core/vfs.cc).
  kOrphans = 7,
  // Extended attributes: the inode (8 bytes, big-endian), then the name -> the value.
  kXattrs = 8,
  // The share's recycle bin (core/recycle.cc): what it holds, by the time it was removed, with
  // an index by inode and the bin's size.
  kTrash = 9,
  // Quotas (core/quota.h): limits, usage, and the usage deltas of commits not yet folded in.
  kQuota = 10,
  // Snapshots (core/snapshot.h): each one's name, state and root, and the hidden directory
  // holding their roots.
  kSnapshots = 11,
};
inline constexpr size_t kMaxRecordKeySize = 1024;
inline constexpr size_t kMaxRecordValueSize = 1 << 20;

struct Record {
  std::string key;
  std::string value;
  friend bool operator==(const Record&, const Record&) = default;
};

// Whether a write of an inode counts as a change of it (MetadataTxn::PutInode).
enum class Counted : bool { kNo, kYes };

// Reads see committed data as of the read (read-committed) and are recorded; Commit applies
// every write atomically, or returns Errc::kConflict (and applies nothing) when anything read
// or written was changed by another commit since this transaction read it. A conflicting
// transaction is simply retried (see RunTransaction). Entries of a directory count as part of
// the directory inode for conflict detection. Not thread-safe: one transaction, one thread.
class MetadataTxn {
 public:
  virtual ~MetadataTxn() = default;

  // Errc::kNotFound when absent. Sees this transaction's own writes.
  virtual Result<Inode> GetInode(InodeId id) = 0;
  // Errc::kNotFound when `dir` has no entry `name`.
  virtual Result<DirEntry> Lookup(InodeId dir, std::string_view name) = 0;
  // Every entry of `dir` whose name equals `name` under Unicode simple case folding
  // (base/casefold.h), `name` itself included, in byte order of their names; empty when none.
  // Names stay as they were created: the stores keep an index of folded names beside them.
  // Sees this transaction's own writes, and makes Commit conflict like Lookup.
  virtual Result<std::vector<DirEntry>> LookupFolded(InodeId dir, std::string_view name) = 0;
  // Up to `max` entries of `dir` whose cookie is greater than `after_cookie`, in cookie order.
  // Does not see this transaction's own uncommitted entry writes.
  virtual Result<std::vector<DirEntry>> List(InodeId dir, uint64_t after_cookie, size_t max) = 0;
  // Whether `dir` has at least one entry (committed state plus this transaction's writes).
  virtual Result<bool> HasEntries(InodeId dir) = 0;

  // The record under `key` in `table`; Errc::kNotFound when absent. Sees this transaction's own
  // writes. Like GetInode, the read makes Commit conflict if another commit changes the record.
  virtual Result<std::string> GetRecord(RecordTable table, std::string_view key) = 0;
  // Up to `max` committed records of `table` with `from` <= key < `to` (an empty `to`: no upper
  // bound), in byte order of their keys (bytes compare unsigned). Does not see this
  // transaction's own uncommitted writes, and does not by itself make Commit conflict with
  // changes in the range: GetRecord the keys whose state the transaction relies on.
  virtual Result<std::vector<Record>> ScanRecords(RecordTable table, std::string_view from,
                                                  std::string_view to, size_t max) = 0;

  // Writes are buffered until Commit.
  // REQUIRES: key.size() <= kMaxRecordKeySize, value.size() <= kMaxRecordValueSize. Like
  // PutInode, a write conflicts with a commit that changed the record after this transaction
  // first read or wrote it.
  virtual void PutRecord(RecordTable table, std::string_view key, std::string_view value) = 0;
  virtual void DeleteRecord(RecordTable table, std::string_view key) = 0;
  // As PutRecord, for a key that is new and unique to this write: no commit has written it and
  // no other transaction will (a log entry under a key made of a sequence, say). Nothing can
  // conflict on it, so stores where tracking a key costs a round trip skip that.
  // REQUIRES: as PutRecord; the key is used by this transaction alone.
  virtual void PutNewRecord(RecordTable table, std::string_view key, std::string_view value) {
    PutRecord(table, key, value);
  }
  // `counted` kNo: the write does not count as a change of the inode (its version stays), for
  // changes no change attribute shows (an access time). Any counted write of the inode, or
  // of its entries, in the same transaction makes it count. Conflict detection is the same
  // either way. REQUIRES: inode.acl.size() <= kMaxAclSize.
  virtual void PutInode(const Inode& inode, Counted counted) = 0;
  void PutInode(const Inode& inode) { PutInode(inode, Counted::kYes); }
  virtual void DeleteInode(InodeId id) = 0;
  virtual void PutEntry(InodeId dir, const DirEntry& entry) = 0;
  virtual void DeleteEntry(InodeId dir, std::string_view name) = 0;

  // Errc::kConflict when another commit got in first; nothing is applied then.
  // A commit is durable on return (in stores that are durable at all), unless the transaction
  // is lazy: then it survives a crash of the server process but may be lost with the machine
  // until the next MetadataStore::Sync or durable commit. NFS asks no more of the size and
  // times an UNSTABLE write changes; they become durable at COMMIT.
  virtual Status Commit() = 0;

  void set_lazy(bool lazy) { lazy_ = lazy; }
  bool lazy() const { return lazy_; }

 private:
  bool lazy_ = false;
};

struct StoreStats {
  uint64_t total_bytes = 0;
  uint64_t free_bytes = 0;
  uint64_t total_files = 0;
  uint64_t free_files = 0;
  // Flushes to stable storage done for commits so far. Concurrent durable commits may share
  // one (group commit), so this can be lower than their count.
  uint64_t syncs = 0;
};

// The namespace and attributes of one share: inodes and directory entries.
// All methods are safe to call concurrently from any thread.
class MetadataStore {
 public:
  virtual ~MetadataStore() = default;

  virtual std::unique_ptr<MetadataTxn> Begin() = 0;
  // A committed inode, read outside any transaction (the fast path for GETATTR).
  virtual Result<Inode> GetInode(InodeId id) = 0;
  // Several committed inodes at once (a listing's attributes): one result per id, in order,
  // each as GetInode would give it. Backends where a read is a round trip read them in one.
  virtual std::vector<Result<Inode>> GetInodes(const std::vector<InodeId>& ids) {
    std::vector<Result<Inode>> out;
    out.reserve(ids.size());
    for (InodeId id : ids) out.push_back(GetInode(id));
    return out;
  }
  // A fresh inode id that no other caller gets; never kInvalidInode. Ids may be reused after
  // their inode is deleted, but then with a different generation (see NextGeneration).
  virtual Result<InodeId> AllocateInodeId() = 0;
  // The generation to give a new inode with id `id`.
  virtual uint32_t NextGeneration(InodeId id) = 0;
  // The root directory's id, kInvalidInode until one has been created.
  virtual InodeId root() const = 0;
  // Records `id` as the root. Done once, when the share is first created.
  virtual Status SetRoot(InodeId id) = 0;
  virtual StoreStats Stats() = 0;
  // Makes every commit so far durable, lazy ones included. Stores that are never durable
  // (memory) have nothing to do.
  virtual Status Sync() { return Status::Ok(); }
};

enum class Durability { kDurable, kLazy };

// Counts a transaction RunTransaction ran (Prometheus: how long it took, all attempts
// included, by durability; and the attempts beyond the first, lost to a conflict).
void CountTransaction(std::chrono::nanoseconds took, int attempts, Durability durability);

// Runs `fn(txn)` in a fresh transaction and commits it, retrying on Errc::kConflict.
// `fn` returns Status; a non-ok Status aborts without committing and is returned.
// `durability` kLazy makes the commit lazy (see MetadataTxn::Commit).
template <typename Fn>
Status RunTransaction(MetadataStore& store, Fn&& fn, Durability durability = Durability::kDurable) {
  // A child span of a traced request (docs/tracing.md); a thread-local load otherwise.
  trace::Span span = trace::Span::Child("metadata.txn");
  const auto started = std::chrono::steady_clock::now();
  for (int attempt = 0;; ++attempt) {
    std::unique_ptr<MetadataTxn> txn = store.Begin();
    txn->set_lazy(durability == Durability::kLazy);
    Status s = fn(*txn);
    if (s.ok()) s = txn->Commit();
    if (s.code() == Errc::kConflict && attempt < 1000) continue;
    CountTransaction(std::chrono::steady_clock::now() - started, attempt + 1, durability);
    if (span.recording()) {
      span.SetAttribute("dittofs.attempts", attempt + 1);
      span.SetAttribute("dittofs.lazy", durability == Durability::kLazy);
      if (!s.ok()) span.SetAttribute("dittofs.status", s.ToString());
      // What the caller refused (kNotFound, kExists, ...) is an answer; a store failing is not.
      if (s.code() == Errc::kIo || s.code() == Errc::kUnavailable || s.code() == Errc::kConflict) {
        span.SetError(s.ToString());
      }
    }
    return s;
  }
}

}  // namespace dittofs::stores

// SPDX-License-Identifier: Apache-2.0
#include "stores/metadata/rocksdb/rocksdb_metadata_store.h"

#include <rocksdb/cache.h>
#include <rocksdb/db.h>
#include <rocksdb/filter_policy.h>
#include <rocksdb/iterator.h>
#include <rocksdb/merge_operator.h>
#include <rocksdb/options.h>
#include <rocksdb/table.h>
#include <rocksdb/utilities/optimistic_transaction_db.h>
#include <rocksdb/utilities/transaction.h>
#include <rocksdb/write_batch.h>
#include <sys/stat.h>
#include <sys/statvfs.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

#include "base/casefold.h"
#include "base/check.h"
#include "base/group_sync.h"
#include "base/log.h"
#include "base/mutex.h"
#include "base/posix_io.h"
#include "base/record_codec.h"
#include "base/thread_pool.h"
#include "stores/metadata/inode_codec.h"

namespace dittofs::stores {
namespace {

// The layout below is specified in docs/formats/rocksdb-metadata.md; change both together.
// 2: the F family (folded names), and inodes in encoding 2; encoding 1 is still read.
constexpr uint64_t kFormatVersion = 2;
constexpr uint8_t kEntryEncoding = 1;

// Key families: the first byte of every key.
constexpr char kInodeFamily = 'I';   // 'I' be64(id) -> inode
constexpr char kEntryFamily = 'E';   // 'E' be64(dir) name -> (child, cookie), for Lookup
constexpr char kCookieFamily = 'C';  // 'C' be64(dir) be64(cookie) -> (child, name), for List
constexpr char kRecordFamily = 'R';  // 'R' u8(table) key -> the record's value, as given
// 'F' be64(dir) be32(size) folded-name name -> (child, cookie), for LookupFolded
constexpr char kFoldFamily = 'F';
// 'M' name -> le64: store-wide values.
constexpr std::string_view kFormatVersionKey = "Mformat_version";
constexpr std::string_view kRootKey = "Mroot";
constexpr std::string_view kNextInodeIdKey = "Mnext_inode_id";
constexpr std::string_view kNextGenerationKey = "Mnext_generation";
constexpr std::string_view kInodeCountKey = "Minode_count";  // merged with UInt64AddOperator
// The change epoch: bumped at each open after a run that did not close the store, since such
// a run may have lost commits whose versions somebody saw. Versions given in epoch E are at
// least E << kEpochShift, so no version is ever given twice (see "Transactions and versions"
// in docs/formats/rocksdb-metadata.md).
constexpr std::string_view kChangeEpochKey = "Mchange_epoch";
// 1 while a run has the store open; 0 once it closed it (all commits synced).
constexpr std::string_view kOpenKey = "Mopen";
constexpr int kEpochShift = 40;

// Ids and generations are handed out from ranges whose end is persisted (one synced write per
// range), so that nothing handed out before a crash is handed out again after it.
constexpr uint64_t kIdRange = 1024;
constexpr uint64_t kGenerationRange = 1024;
// The file count Stats() claims: disk space, not a table size, is the real limit.
constexpr uint64_t kTotalFiles = uint64_t{1} << 40;
// Commit validation reads recent writes from the memtables; keep this much history so that a
// transaction rarely fails only because a flush dropped what it needed to check.
constexpr int64_t kConflictHistoryBytes = 64 << 20;
// Validation locks striped by key hash; RocksDB's default (2^20 mutexes) costs ~64 MiB.
constexpr uint32_t kValidationLockBuckets = 1 << 14;

// ---- Encodings ----

std::string Le64(uint64_t v) {
  std::string out;
  AppendLe64(&out, v);
  return out;
}

std::optional<uint64_t> DecodeLe64(std::string_view value) {
  FieldReader d(value);
  uint64_t v = d.Le64();
  if (!d.done()) return std::nullopt;
  return v;
}

std::string InodeKey(InodeId id) {
  std::string key(1, kInodeFamily);
  AppendBe64(&key, id);
  return key;
}

// 'E' be64(dir): every entry key of `dir` starts with this.
std::string EntryPrefix(InodeId dir) {
  std::string key(1, kEntryFamily);
  AppendBe64(&key, dir);
  return key;
}

std::string EntryKey(InodeId dir, std::string_view name) {
  std::string key = EntryPrefix(dir);
  key.append(name);
  return key;
}

std::string CookiePrefix(InodeId dir) {
  std::string key(1, kCookieFamily);
  AppendBe64(&key, dir);
  return key;
}

std::string CookieKey(InodeId dir, uint64_t cookie) {
  std::string key = CookiePrefix(dir);
  AppendBe64(&key, cookie);
  return key;
}

// 'F' be64(dir) be32(size) folded: the keys of every name of `dir` that folds to `folded`
// start with this (the size keeps one folded name's keys apart from a longer one's).
std::string FoldPrefix(InodeId dir, std::string_view folded) {
  std::string key(1, kFoldFamily);
  AppendBe64(&key, dir);
  AppendBe32(&key, static_cast<uint32_t>(folded.size()));
  key.append(folded);
  return key;
}

std::string FoldKey(InodeId dir, std::string_view name) {
  std::string key = FoldPrefix(dir, FoldCase(name));
  key.append(name);
  return key;
}

// 'R' u8(table): every record key of `table` starts with this.
std::string RecordPrefix(RecordTable table) {
  std::string key(1, kRecordFamily);
  AppendU8(&key, static_cast<uint8_t>(table));
  return key;
}

std::string RecordKey(RecordTable table, std::string_view key) {
  std::string out = RecordPrefix(table);
  out.append(key);
  return out;
}

// The first key after every key of `table`: the next table's prefix ("S" after table 255).
std::string RecordTableEnd(RecordTable table) {
  auto next = static_cast<uint8_t>(table);
  if (next == UINT8_MAX) return std::string(1, static_cast<char>(kRecordFamily + 1));
  return RecordPrefix(static_cast<RecordTable>(next + 1));
}

// A key above every key that starts with `prefix` (an iterate_upper_bound). The prefixes here
// are 9 bytes and the longest name is far below the 4 KiB of 0xff appended.
std::string PrefixEnd(const std::string& prefix) { return prefix + std::string(4096, '\xff'); }

// 'E' value, encoding 1: u8 encoding, le64 child, le64 cookie.
std::string EncodeEntryValue(const DirEntry& entry) {
  std::string out;
  AppendU8(&out, kEntryEncoding);
  AppendLe64(&out, entry.child);
  AppendLe64(&out, entry.cookie);
  return out;
}

Result<DirEntry> DecodeEntryValue(InodeId dir, std::string_view name, std::string_view value) {
  FieldReader d(value);
  uint8_t encoding = d.U8();
  DirEntry entry{std::string(name), d.Le64(), d.Le64()};
  if (encoding != kEntryEncoding || !d.done()) {
    return Status(Errc::kIo, "metadata store: entry \"" + std::string(name) + "\" of directory " +
                                 std::to_string(dir) + " is corrupt");
  }
  return entry;
}

// 'C' value, encoding 1: u8 encoding, le64 child, then the name (the rest of the value).
std::string EncodeCookieValue(const DirEntry& entry) {
  std::string out;
  AppendU8(&out, kEntryEncoding);
  AppendLe64(&out, entry.child);
  out.append(entry.name);
  return out;
}

Result<DirEntry> DecodeCookieValue(InodeId dir, uint64_t cookie, std::string_view value) {
  FieldReader d(value);
  uint8_t encoding = d.U8();
  InodeId child = d.Le64();
  std::string_view name = d.Rest();
  if (encoding != kEntryEncoding || !d.ok()) {
    return Status(Errc::kIo, "metadata store: cookie " + std::to_string(cookie) + " of directory " +
                                 std::to_string(dir) + " is corrupt");
  }
  return DirEntry{std::string(name), child, cookie};
}

// Adds little-endian uint64 operands (wrapping, so a negative delta is its two's complement).
class UInt64AddOperator final : public rocksdb::AssociativeMergeOperator {
 public:
  bool Merge(const rocksdb::Slice& key, const rocksdb::Slice* existing_value,
             const rocksdb::Slice& value, std::string* new_value,
             rocksdb::Logger* logger) const override {
    std::optional<uint64_t> base =
        existing_value == nullptr ? 0 : DecodeLe64(existing_value->ToStringView());
    std::optional<uint64_t> delta = DecodeLe64(value.ToStringView());
    if (!base || !delta) return false;
    *new_value = Le64(*base + *delta);
    return true;
  }
  const char* Name() const override { return "dittofs.UInt64Add"; }
};

Status IoError(std::string_view what, const rocksdb::Status& s) {
  return Status(Errc::kIo, std::string(what) + ": " + s.ToString());
}

class RocksDbMetadataStore final : public MetadataStore {
 public:
  RocksDbMetadataStore(RocksDbMetadataStoreOptions options, rocksdb::OptimisticTransactionDB* db,
                       rocksdb::ColumnFamilyHandle* default_family)
      : options_(std::move(options)), db_(db), default_family_(default_family) {
    sync_write_.sync = true;
  }
  ~RocksDbMetadataStore() override {
    // A synced write syncs the WAL, lazy commits before it included: nothing of this run can
    // be lost now, so the next open needs no new change epoch.
    if (loaded_) {
      Status closed = PutMetaSynced(kOpenKey, 0);
      if (!closed.ok()) LOG_WARN("metadata store at {}: {}", options_.path, closed.ToString());
    }
    rocksdb::Status s = db_->DestroyColumnFamilyHandle(default_family_);
    if (!s.ok()) LOG_WARN("metadata store at {}: {}", options_.path, s.ToString());
    s = db_->Close();
    if (!s.ok()) LOG_WARN("metadata store at {}: close: {}", options_.path, s.ToString());
  }

  // Checks the format version (writing it to a new database) and loads the store-wide values.
  Status Load();
  Status UpgradeFromVersion1();
  // Marks the store open, first starting a new change epoch if the last run did not close it.
  Status OpenChangeEpoch();

  std::unique_ptr<MetadataTxn> Begin() override;
  Result<Inode> GetInode(InodeId id) override;
  Result<InodeId> AllocateInodeId() override;
  uint32_t NextGeneration(InodeId id) override;
  InodeId root() const override { return root_.load(); }
  Status SetRoot(InodeId id) override;
  StoreStats Stats() override;
  Status Sync() override;

  // For transactions.
  rocksdb::OptimisticTransactionDB& db() { return *db_; }
  bool sync_commits() const { return options_.sync_commits; }
  // Makes every write up to sequence number `seq` durable, with WAL syncs shared by the
  // commits that wait at the same time (GroupSync).
  Status SyncThrough(rocksdb::SequenceNumber seq);
  // The committed inode `id`, or nullopt when there is none.
  Result<std::optional<Inode>> ReadInode(InodeId id);
  // The least version a change may be given in this run (the change epoch's first).
  uint64_t version_floor() const { return version_floor_; }

 private:
  // Reads an 'M' value; nullopt when absent.
  Result<std::optional<uint64_t>> ReadMeta(std::string_view key);
  // Writes an 'M' value, synced whatever sync_commits says: ranges and the root must never go
  // back after a crash.
  Status PutMetaSynced(std::string_view key, uint64_t value);

  const RocksDbMetadataStoreOptions options_;
  std::unique_ptr<rocksdb::OptimisticTransactionDB> db_;
  rocksdb::ColumnFamilyHandle* default_family_;  // owned; destroyed before db_
  rocksdb::WriteOptions sync_write_;

  GroupSync group_sync_;  // WAL syncs shared by concurrent durable commits

  Mutex id_mu_;
  InodeId next_id_ GUARDED_BY(id_mu_) = 1;
  InodeId id_limit_ GUARDED_BY(id_mu_) = 1;  // persisted: ids below it may be in use
  Mutex generation_mu_;
  uint64_t next_generation_ GUARDED_BY(generation_mu_) = 1;
  uint64_t generation_limit_ GUARDED_BY(generation_mu_) = 1;  // persisted
  Mutex root_mu_;                                             // serializes SetRoot
  std::atomic<InodeId> root_{kInvalidInode};
  uint64_t version_floor_ = 0;  // set by Load, before any transaction
  bool loaded_ = false;         // Load marked the store open
};

// Optimistic, on rocksdb::OptimisticTransaction. The first read or write of an id tracks the
// key 'I'+id (GetForUpdate), which records the sequence number of that moment; RocksDB fails
// the commit when any tracked key was written after it. Every commit that changes a
// directory's entries also writes the directory's 'I' key (the version bump, or a tombstone
// when there is no inode), and every read of entries tracks that key, so entries count as part
// of their directory. Writes are buffered here and turned into a batch at Commit; the 'E' and
// 'C' keys go in untracked, as their directory's 'I' key covers them. A record's 'R' key is
// tracked the same way as an inode's key, at its first read or write.
class RocksDbTxn final : public MetadataTxn {
 public:
  // `store` must outlive this transaction.
  explicit RocksDbTxn(RocksDbMetadataStore& store)
      : store_(store), txn_(store.db().BeginTransaction(rocksdb::WriteOptions())) {}

  Result<Inode> GetInode(InodeId id) override;
  Result<DirEntry> Lookup(InodeId dir, std::string_view name) override;
  Result<std::vector<DirEntry>> LookupFolded(InodeId dir, std::string_view name) override;
  Result<std::vector<DirEntry>> List(InodeId dir, uint64_t after_cookie, size_t max) override;
  Result<bool> HasEntries(InodeId dir) override;
  Result<std::string> GetRecord(RecordTable table, std::string_view key) override;
  Result<std::vector<Record>> ScanRecords(RecordTable table, std::string_view from,
                                          std::string_view to, size_t max) override;

  void PutRecord(RecordTable table, std::string_view key, std::string_view value) override;
  void DeleteRecord(RecordTable table, std::string_view key) override;
  using MetadataTxn::PutInode;
  void PutInode(const Inode& inode, Counted counted) override;
  void DeleteInode(InodeId id) override;
  void PutEntry(InodeId dir, const DirEntry& entry) override;
  void DeleteEntry(InodeId dir, std::string_view name) override;

  Status Commit() override;

 private:
  // A directory's buffered entry writes by name; nullopt deletes the name.
  using EntryWrites = std::map<std::string, std::optional<DirEntry>, std::less<>>;

  // Reads the committed value of 'I'+id and tracks the key. NotFound leaves `value` empty.
  Result<bool> ReadTracked(InodeId id, std::string* value);
  // Tracks 'I'+id unless this transaction already did.
  Status Track(InodeId id);
  // Records that the write of `id` happened: a failure to track fails the Commit.
  void TrackBeforeWrite(InodeId id);
  // Reads the committed value of the 'R' key `key` and tracks it. NotFound leaves `value` empty.
  Result<bool> ReadRecordTracked(const std::string& key, std::string* value);
  // Tracks the 'R' key `key` before its write unless this transaction already did; a failure to
  // track fails the Commit.
  void TrackRecordBeforeWrite(const std::string& key);
  // Turns the buffered writes into the RocksDB transaction's batch.
  Status StageWrites();
  Status StageEntryWrites(InodeId dir, const EntryWrites& writes);
  // Makes the transaction empty and usable again.
  void Reset();

  RocksDbMetadataStore& store_;
  std::unique_ptr<rocksdb::Transaction> txn_;
  std::unordered_set<InodeId> tracked_;
  std::unordered_set<std::string> tracked_records_;  // 'R' keys
  Status deferred_error_;  // a failed tracking read of a write, reported by Commit
  struct InodeWrite {
    std::optional<Inode> inode;  // nullopt deletes the inode
    bool counted = true;         // see MetadataTxn::PutInode
  };
  std::unordered_map<InodeId, InodeWrite> inode_writes_;
  std::unordered_map<InodeId, EntryWrites> entry_writes_;
  // Buffered record writes by 'R' key; nullopt deletes the record.
  std::map<std::string, std::optional<std::string>> record_writes_;
};

Result<bool> RocksDbTxn::ReadTracked(InodeId id, std::string* value) {
  rocksdb::Status s = txn_->GetForUpdate(rocksdb::ReadOptions(), InodeKey(id), value);
  if (!s.ok() && !s.IsNotFound()) return IoError("metadata read of inode " + std::to_string(id), s);
  tracked_.insert(id);
  return s.ok();
}

Status RocksDbTxn::Track(InodeId id) {
  if (tracked_.contains(id)) return Status::Ok();
  std::string ignored;
  return ToStatus(ReadTracked(id, &ignored));
}

void RocksDbTxn::TrackBeforeWrite(InodeId id) {
  Status s = Track(id);
  if (!s.ok() && deferred_error_.ok()) deferred_error_ = s;
}

Result<Inode> RocksDbTxn::GetInode(InodeId id) {
  if (auto it = inode_writes_.find(id); it != inode_writes_.end()) {
    if (!it->second.inode) return Errc::kNotFound;
    return *it->second.inode;
  }
  std::string value;
  ASSIGN_OR_RETURN(bool found, ReadTracked(id, &value));
  if (!found) return Errc::kNotFound;
  return DecodeInode(id, value);
}

Result<DirEntry> RocksDbTxn::Lookup(InodeId dir, std::string_view name) {
  if (auto writes = entry_writes_.find(dir); writes != entry_writes_.end()) {
    if (auto it = writes->second.find(name); it != writes->second.end()) {
      if (!it->second) return Errc::kNotFound;
      return *it->second;
    }
  }
  RETURN_IF_ERROR(Track(dir));
  std::string value;
  rocksdb::Status s = store_.db().Get(rocksdb::ReadOptions(), EntryKey(dir, name), &value);
  if (s.IsNotFound()) return Errc::kNotFound;
  if (!s.ok()) return IoError("metadata lookup in directory " + std::to_string(dir), s);
  return DecodeEntryValue(dir, name, value);
}

Result<std::vector<DirEntry>> RocksDbTxn::LookupFolded(InodeId dir, std::string_view name) {
  const EntryWrites* writes = nullptr;
  if (auto it = entry_writes_.find(dir); it != entry_writes_.end()) writes = &it->second;
  RETURN_IF_ERROR(Track(dir));
  std::vector<DirEntry> out;
  const std::string prefix = FoldPrefix(dir, FoldCase(name));
  const std::string end = PrefixEnd(prefix);
  rocksdb::Slice upper_bound(end);
  rocksdb::ReadOptions read_options;
  read_options.iterate_upper_bound = &upper_bound;
  std::unique_ptr<rocksdb::Iterator> it(store_.db().NewIterator(read_options));
  for (it->Seek(prefix); it->Valid() && it->key().starts_with(prefix); it->Next()) {
    std::string_view entry_name = it->key().ToStringView().substr(prefix.size());
    if (writes != nullptr && writes->contains(entry_name)) continue;
    ASSIGN_OR_RETURN(DirEntry entry, DecodeEntryValue(dir, entry_name, it->value().ToStringView()));
    out.push_back(std::move(entry));
  }
  if (!it->status().ok()) {
    return IoError("metadata folded lookup in directory " + std::to_string(dir), it->status());
  }
  if (writes != nullptr) {
    for (const auto& [n, write] : *writes) {
      if (write && EqualFolded(n, name)) out.push_back(*write);
    }
    std::sort(out.begin(), out.end(),
              [](const DirEntry& a, const DirEntry& b) { return a.name < b.name; });
  }
  return out;
}

Result<std::vector<DirEntry>> RocksDbTxn::List(InodeId dir, uint64_t after_cookie, size_t max) {
  std::vector<DirEntry> out;
  RETURN_IF_ERROR(Track(dir));
  if (max == 0 || after_cookie == UINT64_MAX) return out;
  const std::string prefix = CookiePrefix(dir);
  const std::string end = PrefixEnd(prefix);
  rocksdb::Slice upper_bound(end);
  rocksdb::ReadOptions read_options;
  read_options.iterate_upper_bound = &upper_bound;
  std::unique_ptr<rocksdb::Iterator> it(store_.db().NewIterator(read_options));
  for (it->Seek(CookieKey(dir, after_cookie + 1)); it->Valid() && out.size() < max; it->Next()) {
    std::string_view key = it->key().ToStringView();
    if (key.size() != prefix.size() + 8 || !key.starts_with(prefix)) {
      return Status(Errc::kIo,
                    "metadata list of directory " + std::to_string(dir) + ": malformed cookie key");
    }
    uint64_t cookie = LoadBe64(key.substr(prefix.size()));
    ASSIGN_OR_RETURN(DirEntry entry, DecodeCookieValue(dir, cookie, it->value().ToStringView()));
    out.push_back(std::move(entry));
  }
  if (!it->status().ok()) {
    return IoError("metadata list of directory " + std::to_string(dir), it->status());
  }
  return out;
}

Result<bool> RocksDbTxn::HasEntries(InodeId dir) {
  RETURN_IF_ERROR(Track(dir));
  const EntryWrites* writes = nullptr;
  if (auto it = entry_writes_.find(dir); it != entry_writes_.end()) writes = &it->second;
  if (writes != nullptr) {
    for (const auto& [name, write] : *writes) {
      if (write) return true;  // the name exists once this transaction commits
    }
  }
  // Only deletes are buffered: look for a committed name that none of them removes. The scan
  // stops at the first such name, so it reads at most one entry more than there are deletes.
  const std::string prefix = EntryPrefix(dir);
  const std::string end = PrefixEnd(prefix);
  rocksdb::Slice upper_bound(end);
  rocksdb::ReadOptions read_options;
  read_options.iterate_upper_bound = &upper_bound;
  std::unique_ptr<rocksdb::Iterator> it(store_.db().NewIterator(read_options));
  for (it->Seek(prefix); it->Valid(); it->Next()) {
    std::string_view name = it->key().ToStringView().substr(prefix.size());
    if (writes == nullptr || !writes->contains(name)) return true;
  }
  if (!it->status().ok()) {
    return IoError("metadata scan of directory " + std::to_string(dir), it->status());
  }
  return false;
}

Result<bool> RocksDbTxn::ReadRecordTracked(const std::string& key, std::string* value) {
  rocksdb::Status s = txn_->GetForUpdate(rocksdb::ReadOptions(), key, value);
  if (!s.ok() && !s.IsNotFound()) return IoError("metadata read of a record", s);
  tracked_records_.insert(key);
  return s.ok();
}

void RocksDbTxn::TrackRecordBeforeWrite(const std::string& key) {
  if (tracked_records_.contains(key)) return;
  std::string ignored;
  Status s = ToStatus(ReadRecordTracked(key, &ignored));
  if (!s.ok() && deferred_error_.ok()) deferred_error_ = s;
}

Result<std::string> RocksDbTxn::GetRecord(RecordTable table, std::string_view key) {
  std::string record_key = RecordKey(table, key);
  if (auto it = record_writes_.find(record_key); it != record_writes_.end()) {
    if (!it->second) return Errc::kNotFound;
    return *it->second;
  }
  std::string value;
  ASSIGN_OR_RETURN(bool found, ReadRecordTracked(record_key, &value));
  if (!found) return Errc::kNotFound;
  return value;
}

Result<std::vector<Record>> RocksDbTxn::ScanRecords(RecordTable table, std::string_view from,
                                                    std::string_view to, size_t max) {
  std::vector<Record> out;
  if (max == 0 || (!to.empty() && to <= from)) return out;
  const std::string prefix = RecordPrefix(table);
  const std::string end = to.empty() ? RecordTableEnd(table) : RecordKey(table, to);
  rocksdb::Slice upper_bound(end);
  rocksdb::ReadOptions read_options;
  read_options.iterate_upper_bound = &upper_bound;
  std::unique_ptr<rocksdb::Iterator> it(store_.db().NewIterator(read_options));
  for (it->Seek(RecordKey(table, from)); it->Valid() && out.size() < max; it->Next()) {
    std::string_view key = it->key().ToStringView();
    if (!key.starts_with(prefix)) {
      return Status(Errc::kIo, "metadata scan of records: a key outside the table");
    }
    key.remove_prefix(prefix.size());
    out.push_back(Record{std::string(key), it->value().ToString()});
  }
  if (!it->status().ok()) return IoError("metadata scan of records", it->status());
  return out;
}

void RocksDbTxn::PutRecord(RecordTable table, std::string_view key, std::string_view value) {
  CHECK(key.size() <= kMaxRecordKeySize) << "PutRecord: a key of " << key.size() << " bytes";
  CHECK(value.size() <= kMaxRecordValueSize)
      << "PutRecord: a value of " << value.size() << " bytes";
  std::string record_key = RecordKey(table, key);
  TrackRecordBeforeWrite(record_key);
  record_writes_.insert_or_assign(std::move(record_key), std::string(value));
}

void RocksDbTxn::DeleteRecord(RecordTable table, std::string_view key) {
  CHECK(key.size() <= kMaxRecordKeySize) << "DeleteRecord: a key of " << key.size() << " bytes";
  std::string record_key = RecordKey(table, key);
  TrackRecordBeforeWrite(record_key);
  record_writes_.insert_or_assign(std::move(record_key), std::nullopt);
}

void RocksDbTxn::PutInode(const Inode& inode, Counted counted) {
  CHECK(inode.id != kInvalidInode) << "PutInode: an inode without an id";
  CHECK(inode.acl.size() <= kMaxAclSize) << "PutInode: an ACL of " << inode.acl.size() << " bytes";
  TrackBeforeWrite(inode.id);
  auto [it, fresh] = inode_writes_.try_emplace(inode.id);
  it->second.counted = (!fresh && it->second.counted) || counted == Counted::kYes;
  it->second.inode = inode;
}

void RocksDbTxn::DeleteInode(InodeId id) {
  TrackBeforeWrite(id);
  inode_writes_.insert_or_assign(id, InodeWrite{std::nullopt, true});
}

void RocksDbTxn::PutEntry(InodeId dir, const DirEntry& entry) {
  TrackBeforeWrite(dir);
  entry_writes_[dir].insert_or_assign(entry.name, entry);
}

void RocksDbTxn::DeleteEntry(InodeId dir, std::string_view name) {
  TrackBeforeWrite(dir);
  entry_writes_[dir].insert_or_assign(std::string(name), std::nullopt);
}

// The values read here are the latest committed ones, possibly newer than what this
// transaction tracked; but then the tracked 'I' key was written since, and the commit fails.
Status RocksDbTxn::StageWrites() {
  int64_t added_inodes = 0;
  // Each changed id gets one new version, however many of its parts changed, unless none of
  // them counted; a new inode starts at 1. (Its 'I' key is written either way, which is what
  // conflict detection sees.)
  // Never below the run's floor: a crash before this run may have lost versions that were seen.
  auto put_inode = [&](Inode inode, const std::optional<Inode>& current, bool counted) {
    if (!current) {
      inode.version = std::max<uint64_t>(1, store_.version_floor());
    } else if (counted) {
      inode.version = std::max(current->version + 1, store_.version_floor());
    } else {
      inode.version = current->version;
    }
    return txn_->Put(InodeKey(inode.id), EncodeInode(inode));
  };
  for (const auto& [id, write] : inode_writes_) {
    ASSIGN_OR_RETURN(std::optional<Inode> current, store_.ReadInode(id));
    added_inodes += int64_t{write.inode.has_value()} - int64_t{current.has_value()};
    const bool counted = write.counted || entry_writes_.contains(id);
    rocksdb::Status s =
        write.inode ? put_inode(*write.inode, current, counted) : txn_->Delete(InodeKey(id));
    if (!s.ok()) return IoError("metadata commit", s);
  }
  for (const auto& [dir, writes] : entry_writes_) {
    RETURN_IF_ERROR(StageEntryWrites(dir, writes));
    if (inode_writes_.contains(dir)) continue;  // already bumped
    ASSIGN_OR_RETURN(std::optional<Inode> current, store_.ReadInode(dir));
    // Without an inode, a tombstone still makes the change visible to conflict detection.
    rocksdb::Status s = current ? put_inode(*current, current, true) : txn_->Delete(InodeKey(dir));
    if (!s.ok()) return IoError("metadata commit", s);
  }
  // Tracked writes, but each key was tracked at its first read or write already, and tracking
  // keeps the earliest sequence number: a commit in between still conflicts.
  for (const auto& [key, write] : record_writes_) {
    rocksdb::Status s = write ? txn_->Put(key, *write) : txn_->Delete(key);
    if (!s.ok()) return IoError("metadata commit", s);
  }
  if (added_inodes != 0) {
    rocksdb::Status s =
        txn_->MergeUntracked(kInodeCountKey, Le64(static_cast<uint64_t>(added_inodes)));
    if (!s.ok()) return IoError("metadata commit", s);
  }
  return Status::Ok();
}

// Removes every written name first and only then inserts, so one transaction may pass a cookie
// from one name to another (the batch applies in order).
Status RocksDbTxn::StageEntryWrites(InodeId dir, const EntryWrites& writes) {
  for (const auto& [name, write] : writes) {
    std::string value;
    std::string key = EntryKey(dir, name);
    rocksdb::Status s = store_.db().Get(rocksdb::ReadOptions(), key, &value);
    if (s.IsNotFound()) continue;
    if (!s.ok()) return IoError("metadata commit", s);
    ASSIGN_OR_RETURN(DirEntry old, DecodeEntryValue(dir, name, value));
    s = txn_->DeleteUntracked(key);
    if (s.ok()) s = txn_->DeleteUntracked(CookieKey(dir, old.cookie));
    if (s.ok()) s = txn_->DeleteUntracked(FoldKey(dir, name));
    if (!s.ok()) return IoError("metadata commit", s);
  }
  for (const auto& [name, write] : writes) {
    if (!write) continue;
    std::string value = EncodeEntryValue(*write);
    rocksdb::Status s = txn_->PutUntracked(EntryKey(dir, name), value);
    if (s.ok()) s = txn_->PutUntracked(FoldKey(dir, name), value);
    if (s.ok()) s = txn_->PutUntracked(CookieKey(dir, write->cookie), EncodeCookieValue(*write));
    if (!s.ok()) return IoError("metadata commit", s);
  }
  return Status::Ok();
}

Status RocksDbTxn::Commit() {
  bool writes = !inode_writes_.empty() || !entry_writes_.empty() || !record_writes_.empty();
  Status status = deferred_error_;
  if (status.ok() && writes) status = StageWrites();
  if (status.ok() && (writes || !tracked_.empty() || !tracked_records_.empty())) {
    // The commit itself never syncs: RocksDB holds the validation locks of every key the
    // transaction used (its directory's inode, say) until the write returns, and a sync there
    // would make every create in one directory wait for the previous one's. A durable commit
    // syncs the WAL after it instead, sharing the sync with concurrent commits
    // (SyncThrough); the reply waits for it either way. A read-only commit only validates,
    // and a lazy one goes to the WAL without a sync: it survives the process, and the next
    // Sync (or durable commit) makes it durable.
    txn_->SetWriteOptions(rocksdb::WriteOptions());
    rocksdb::Status s = txn_->Commit();
    if (s.IsBusy() || s.IsTryAgain()) {
      status =
          Status(Errc::kConflict, "metadata commit: an object this transaction used has changed (" +
                                      s.ToString() + ")");
    } else if (!s.ok()) {
      status = IoError("metadata commit", s);
    } else if (writes && !lazy() && store_.sync_commits()) {
      // Published commits have their sequence numbers; ours is at most the latest.
      status = store_.SyncThrough(store_.db().GetLatestSequenceNumber());
    }
  }
  Reset();
  return status;
}

void RocksDbTxn::Reset() {
  // Rolls back whatever the failed or finished transaction holds and starts afresh in place.
  txn_.reset(store_.db().BeginTransaction(rocksdb::WriteOptions(),
                                          rocksdb::OptimisticTransactionOptions(), txn_.release()));
  tracked_.clear();
  tracked_records_.clear();
  deferred_error_ = Status::Ok();
  inode_writes_.clear();
  entry_writes_.clear();
  record_writes_.clear();
}

Status RocksDbMetadataStore::Load() {
  const std::string& path = options_.path;
  ASSIGN_OR_RETURN(std::optional<uint64_t> version, ReadMeta(kFormatVersionKey));
  if (!version) {
    std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions()));
    it->SeekToFirst();
    if (!it->status().ok()) return IoError("metadata store at " + path, it->status());
    if (it->Valid()) {
      return Status(Errc::kInvalid, "metadata store at " + path +
                                        " holds data but no format version: it is not a dfs "
                                        "metadata store, or a damaged one");
    }
    // A new store.
    rocksdb::WriteBatch batch;
    rocksdb::Status s = batch.Put(kFormatVersionKey, Le64(kFormatVersion));
    // Ids and generations start at 1, with empty ranges: the first of each persists a range.
    if (s.ok()) s = batch.Put(kNextInodeIdKey, Le64(1));
    if (s.ok()) s = batch.Put(kNextGenerationKey, Le64(1));
    if (s.ok()) s = db_->Write(sync_write_, &batch);
    if (!s.ok()) return IoError("metadata store at " + path + ": initialize", s);
    return OpenChangeEpoch();
  }
  if (*version > kFormatVersion) {
    return Status(Errc::kNotSupported, "metadata store at " + path + " has format version " +
                                           std::to_string(*version) +
                                           "; this dfs reads versions up to " +
                                           std::to_string(kFormatVersion) + " (upgrade dfs)");
  }
  if (*version == 0) {
    return Status(Errc::kInvalid, "metadata store at " + path + " has format version 0");
  }
  if (*version == 1) RETURN_IF_ERROR(UpgradeFromVersion1());
  ASSIGN_OR_RETURN(std::optional<uint64_t> root, ReadMeta(kRootKey));
  ASSIGN_OR_RETURN(std::optional<uint64_t> next_id, ReadMeta(kNextInodeIdKey));
  ASSIGN_OR_RETURN(std::optional<uint64_t> next_generation, ReadMeta(kNextGenerationKey));
  if (!next_id || !next_generation || *next_id == kInvalidInode) {
    return Status(Errc::kIo, "metadata store at " + path + " lacks its id or generation range");
  }
  root_.store(root.value_or(kInvalidInode));
  {
    MutexLock id_lock(&id_mu_);
    next_id_ = id_limit_ = *next_id;
  }
  {
    MutexLock generation_lock(&generation_mu_);
    next_generation_ = generation_limit_ = *next_generation;
  }
  return OpenChangeEpoch();
}

Status RocksDbMetadataStore::OpenChangeEpoch() {
  ASSIGN_OR_RETURN(std::optional<uint64_t> epoch, ReadMeta(kChangeEpochKey));
  ASSIGN_OR_RETURN(std::optional<uint64_t> open, ReadMeta(kOpenKey));
  uint64_t e = epoch.value_or(0);
  // A run that did not close the store (killed, or the machine went down) may have lost
  // commits, lazy ones or ones seen before their sync: their versions may have been seen.
  // Stores written before the epoch existed have neither key and start at epoch 0.
  if (open.value_or(0) != 0) {
    ++e;
    RETURN_IF_ERROR(PutMetaSynced(kChangeEpochKey, e));
    LOG_INFO("metadata store at {} was not closed: change counters continue from epoch {}",
             options_.path, e);
  }
  if (e >= (uint64_t{1} << (64 - kEpochShift))) {
    return Status(Errc::kIo, "metadata store at " + options_.path + ": change epoch " +
                                 std::to_string(e) + " out of range");
  }
  version_floor_ = e << kEpochShift;
  RETURN_IF_ERROR(PutMetaSynced(kOpenKey, 1));
  loaded_ = true;
  return Status::Ok();
}

// Version 2 added the F family and inode encoding 2. Encoding 1 inodes are still read (and
// rewritten in encoding 2 as they change), so the upgrade indexes every entry by its folded
// name, then records version 2, which older builds refuse.
// The index keys go in batches; the version only in the last, so a crash part-way leaves a
// version 1 store whose next open starts over (rewriting a key is harmless).
Status RocksDbMetadataStore::UpgradeFromVersion1() {
  const std::string prefix(1, kEntryFamily);
  const std::string end(1, static_cast<char>(kEntryFamily + 1));
  rocksdb::Slice upper_bound(end);
  rocksdb::ReadOptions read_options;
  read_options.iterate_upper_bound = &upper_bound;
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(read_options));
  rocksdb::WriteBatch batch;
  uint64_t indexed = 0;
  for (it->Seek(prefix); it->Valid(); it->Next()) {
    std::string_view key = it->key().ToStringView();
    if (key.size() < 9) {
      return Status(Errc::kIo, "metadata store at " + options_.path + ": malformed entry key");
    }
    InodeId dir = LoadBe64(key.substr(1, 8));
    rocksdb::Status s = batch.Put(FoldKey(dir, key.substr(9)), it->value());
    if (!s.ok()) return IoError("metadata store at " + options_.path + ": upgrade", s);
    if (++indexed % 10000 == 0) {
      s = db_->Write(rocksdb::WriteOptions(), &batch);
      if (!s.ok()) return IoError("metadata store at " + options_.path + ": upgrade", s);
      batch.Clear();
    }
  }
  if (!it->status().ok()) return IoError("metadata store at " + options_.path, it->status());
  rocksdb::Status s = batch.Put(kFormatVersionKey, Le64(2));
  if (s.ok()) s = db_->Write(sync_write_, &batch);
  if (!s.ok()) return IoError("metadata store at " + options_.path + ": upgrade", s);
  LOG_INFO("metadata store at {}: upgraded to format version 2 ({} names indexed by folded name)",
           options_.path, indexed);
  return Status::Ok();
}

Result<std::optional<uint64_t>> RocksDbMetadataStore::ReadMeta(std::string_view key) {
  std::string value;
  rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), key, &value);
  if (s.IsNotFound()) return std::optional<uint64_t>();
  if (!s.ok()) return IoError("metadata store at " + options_.path, s);
  std::optional<uint64_t> decoded = DecodeLe64(value);
  if (!decoded) {
    return Status(Errc::kIo, "metadata store at " + options_.path + ": malformed value of " +
                                 std::string(key));
  }
  return decoded;
}

Status RocksDbMetadataStore::Sync() { return SyncThrough(db_->GetLatestSequenceNumber()); }

Status RocksDbMetadataStore::SyncThrough(rocksdb::SequenceNumber seq) {
  return group_sync_.SyncThrough(seq, [this]() -> Result<uint64_t> {
    // Every write published so far is in the WAL file (RocksDB writes the WAL before it
    // publishes a sequence number), so the sync covers all of them.
    rocksdb::SequenceNumber covered = db_->GetLatestSequenceNumber();
    rocksdb::Status s;
    {
      BlockingRegion blocking;
      s = db_->SyncWAL();
    }
    if (!s.ok()) return IoError("metadata sync", s);
    return uint64_t{covered};
  });
}

Status RocksDbMetadataStore::PutMetaSynced(std::string_view key, uint64_t value) {
  rocksdb::Status s;
  {
    BlockingRegion blocking;
    s = db_->Put(sync_write_, key, Le64(value));
  }
  if (!s.ok()) return IoError("metadata store at " + options_.path + ": write", s);
  return Status::Ok();
}

std::unique_ptr<MetadataTxn> RocksDbMetadataStore::Begin() {
  return std::make_unique<RocksDbTxn>(*this);
}

Result<std::optional<Inode>> RocksDbMetadataStore::ReadInode(InodeId id) {
  rocksdb::PinnableSlice value;
  rocksdb::Status s =
      db_->Get(rocksdb::ReadOptions(), db_->DefaultColumnFamily(), InodeKey(id), &value);
  if (s.IsNotFound()) return std::optional<Inode>();
  if (!s.ok()) return IoError("metadata read of inode " + std::to_string(id), s);
  ASSIGN_OR_RETURN(Inode inode, DecodeInode(id, value.ToStringView()));
  return std::optional<Inode>(std::move(inode));
}

Result<Inode> RocksDbMetadataStore::GetInode(InodeId id) {
  ASSIGN_OR_RETURN(std::optional<Inode> inode, ReadInode(id));
  if (!inode) return Errc::kNotFound;
  return std::move(*inode);
}

Result<InodeId> RocksDbMetadataStore::AllocateInodeId() {
  MutexLock lock(&id_mu_);
  if (next_id_ == id_limit_) {
    RETURN_IF_ERROR(PutMetaSynced(kNextInodeIdKey, id_limit_ + kIdRange));
    id_limit_ += kIdRange;
  }
  return next_id_++;
}

uint32_t RocksDbMetadataStore::NextGeneration(InodeId id) {
  MutexLock lock(&generation_mu_);
  for (;;) {
    if (next_generation_ == generation_limit_) {
      // No way to report a failure here. Ids are never reused, so a generation handed out
      // again after a crash would still not make an old handle match a new inode.
      Status s = PutMetaSynced(kNextGenerationKey, generation_limit_ + kGenerationRange);
      if (!s.ok()) LOG_ERROR("{}", s.ToString());
      generation_limit_ += kGenerationRange;
    }
    // Every call gets a different generation; 0 is skipped after wrapping around.
    auto generation = static_cast<uint32_t>(next_generation_++);
    if (generation != 0) return generation;
  }
}

Status RocksDbMetadataStore::SetRoot(InodeId id) {
  if (id == kInvalidInode) return Status(Errc::kInvalid, "set root: invalid inode id");
  MutexLock lock(&root_mu_);
  InodeId current = root_.load();
  if (current == id) return Status::Ok();
  if (current != kInvalidInode) {
    return Status(Errc::kExists, "set root " + std::to_string(id) + ": the root is already " +
                                     std::to_string(current));
  }
  RETURN_IF_ERROR(PutMetaSynced(kRootKey, id));
  root_.store(id);
  return Status::Ok();
}

StoreStats RocksDbMetadataStore::Stats() {
  StoreStats stats;
  struct statvfs fs;
  if (statvfs(options_.path.c_str(), &fs) == 0) {
    stats.total_bytes = static_cast<uint64_t>(fs.f_blocks) * fs.f_frsize;
    stats.free_bytes =
        std::min(stats.total_bytes, static_cast<uint64_t>(fs.f_bavail) * fs.f_frsize);
  }
  Result<std::optional<uint64_t>> used = ReadMeta(kInodeCountKey);
  uint64_t count = used.ok() ? used->value_or(0) : 0;
  stats.total_files = kTotalFiles;
  stats.free_files = count < kTotalFiles ? kTotalFiles - count : 0;
  stats.syncs = group_sync_.flushes();
  return stats;
}

rocksdb::Options DbOptions(const RocksDbMetadataStoreOptions& options) {
  rocksdb::Options db_options;
  db_options.create_if_missing = true;
  db_options.max_background_jobs = 2;
  db_options.keep_log_file_num = 4;
  db_options.compression = rocksdb::kLZ4Compression;
  db_options.level_compaction_dynamic_level_bytes = true;
  db_options.max_write_buffer_size_to_maintain = kConflictHistoryBytes;
  db_options.merge_operator = std::make_shared<UInt64AddOperator>();
  rocksdb::BlockBasedTableOptions table;
  table.block_cache = rocksdb::NewLRUCache(options.block_cache_bytes);
  table.filter_policy.reset(rocksdb::NewBloomFilterPolicy(10));
  table.cache_index_and_filter_blocks = true;
  table.pin_l0_filter_and_index_blocks_in_cache = true;
  db_options.table_factory.reset(rocksdb::NewBlockBasedTableFactory(table));
  return db_options;
}

}  // namespace

Result<std::unique_ptr<MetadataStore>> OpenRocksDbMetadataStore(
    const RocksDbMetadataStoreOptions& options) {
  if (options.path.empty()) return Status(Errc::kInvalid, "metadata store: no path given");
  // RocksDB makes only the last level, and with the umask's mode: the store is private.
  RETURN_IF_ERROR(MakeDirs(options.path, "metadata store"));
  rocksdb::Options db_options = DbOptions(options);
  rocksdb::OptimisticTransactionDBOptions occ_options;
  occ_options.occ_lock_buckets = kValidationLockBuckets;
  std::vector<rocksdb::ColumnFamilyDescriptor> families = {
      {rocksdb::kDefaultColumnFamilyName, rocksdb::ColumnFamilyOptions(db_options)}};
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  rocksdb::OptimisticTransactionDB* db = nullptr;
  rocksdb::Status s = rocksdb::OptimisticTransactionDB::Open(
      rocksdb::DBOptions(db_options), occ_options, options.path, families, &handles, &db);
  if (!s.ok()) {
    // RocksDB's LOCK file: "lock hold by current process" or "While lock file: ...".
    if (s.IsIOError() && (s.ToString().find("lock hold") != std::string::npos ||
                          s.ToString().find("While lock file") != std::string::npos)) {
      return Status(Errc::kBusy, "metadata store at " + options.path +
                                     " is in use: another process (or this one) has it open (" +
                                     s.ToString() + ")");
    }
    return IoError("open metadata store at " + options.path, s);
  }
  CHECK(handles.size() == 1) << "metadata store at " << options.path << ": " << handles.size()
                             << " column family handles for one family";
  auto store = std::make_unique<RocksDbMetadataStore>(options, db, handles[0]);
  // Like the rest of the state dir: the directory 0700 and its files 0600, including those of
  // a store made before this rule (RocksDB creates files with the process's umask).
  RETURN_IF_ERROR(MakePrivate(options.path, "metadata store"));
  RETURN_IF_ERROR(store->Load());
  return std::unique_ptr<MetadataStore>(std::move(store));
}

}  // namespace dittofs::stores

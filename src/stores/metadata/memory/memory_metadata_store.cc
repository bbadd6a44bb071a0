// SPDX-License-Identifier: Apache-2.0
#include "stores/metadata/memory/memory_metadata_store.h"

#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "base/casefold.h"
#include "base/check.h"
#include "base/mutex.h"

namespace dittofs::stores {
namespace {

// Enough shards that commits on unrelated inodes rarely meet on a lock.
constexpr size_t kShardCount = 64;
// The file count Stats() claims: memory, not a table size, is the real limit.
constexpr uint64_t kTotalFiles = uint64_t{1} << 40;

struct NameHash {
  using is_transparent = void;
  size_t operator()(std::string_view name) const { return std::hash<std::string_view>{}(name); }
};

// Everything the store keeps under one id: the inode and, for a directory, its entries.
//
// `version` is the node's version for conflict detection: it covers the inode and the entries,
// so conflict detection compares a single number per id. (It is not the inode's change counter,
// Inode::version, which an uncounted write leaves alone.) A node with neither inode nor entries is
// erased, and an absent node counts as version 0. Versions come from one store-wide counter, so no
// two changes ever get the same version: a node that was deleted and recreated never looks
// unchanged to a transaction that read its earlier life.
struct Node {
  Node() = default;
  Node(const Node&) = delete;  // would copy `by_cookie` pointers into the original
  Node& operator=(const Node&) = delete;

  bool empty() const { return !inode && entries.empty(); }

  std::optional<Inode> inode;
  uint64_t version = 0;
  std::unordered_map<std::string, DirEntry, NameHash, std::equal_to<>> entries;
  // The same entries in cookie order, for List. Points into `entries`, whose elements stay put.
  std::map<uint64_t, const DirEntry*> by_cookie;
  // The same entries by folded name, for LookupFolded: built at a directory's first folded
  // lookup (case-sensitive protocols never pay for it), then kept with the entries. A cache
  // under the shard's lock, so a lookup through a const Node may build it.
  mutable std::unique_ptr<std::unordered_multimap<std::string, const DirEntry*>> by_folded;
};

// A directory's entries live in the directory's shard, so one lock covers an inode and its
// entries.
struct Shard {
  Mutex mu;
  std::unordered_map<InodeId, Node> nodes GUARDED_BY(mu);
};

const Node* FindLocked(Shard& shard, InodeId id) EXCLUSIVE_LOCKS_REQUIRED(shard.mu) {
  auto it = shard.nodes.find(id);
  return it == shard.nodes.end() ? nullptr : &it->second;
}

// A record and the version of its last change. Like nodes, an absent record counts as version
// 0 and is erased, and versions come from the store-wide counter, so a record that was deleted
// and written again never looks unchanged.
struct RecordSlot {
  std::string value;
  uint64_t version = 0;
};

// One table's records in key order; std::string compares its bytes as unsigned char.
using RecordMap = std::map<std::string, RecordSlot, std::less<>>;

// Every table's records, under one lock: scans need one order over a whole table, and the
// records' share of a commit is short. Lock order: a commit takes its shard locks first and
// `mu` last; nothing takes a shard lock while holding `mu`.
struct RecordArea {
  Mutex mu;
  std::map<RecordTable, RecordMap> tables GUARDED_BY(mu);
};

const RecordSlot* FindRecordLocked(RecordArea& area, RecordTable table, std::string_view key)
    EXCLUSIVE_LOCKS_REQUIRED(area.mu) {
  auto records = area.tables.find(table);
  if (records == area.tables.end()) return nullptr;
  auto it = records->second.find(key);
  return it == records->second.end() ? nullptr : &it->second;
}

class MemoryMetadataStore final : public MetadataStore {
 public:
  std::unique_ptr<MetadataTxn> Begin() override;
  Result<Inode> GetInode(InodeId id) override;
  Result<InodeId> AllocateInodeId() override { return next_id_.fetch_add(1); }
  uint32_t NextGeneration(InodeId id) override;
  InodeId root() const override { return root_.load(); }
  Status SetRoot(InodeId id) override;
  StoreStats Stats() override;

  // For transactions.
  static size_t ShardIndex(InodeId id) { return id % kShardCount; }
  Shard& shard(size_t index) { return shards_[index]; }
  Shard& ShardOf(InodeId id) { return shards_[ShardIndex(id)]; }
  RecordArea& records() { return records_; }
  uint64_t NewVersion() { return last_version_.fetch_add(1) + 1; }
  // `delta` may be negative; unsigned wrap-around makes the sum come out right.
  void AddInodes(int64_t delta) { inode_count_.fetch_add(static_cast<uint64_t>(delta)); }

 private:
  std::array<Shard, kShardCount> shards_;
  RecordArea records_;
  std::atomic<InodeId> next_id_{1};  // ids are never reused
  std::atomic<uint32_t> next_generation_{1};
  std::atomic<uint64_t> last_version_{0};
  std::atomic<uint64_t> inode_count_{0};
  std::atomic<InodeId> root_{kInvalidInode};
};

// Optimistic: reads take one shard lock and record the version they saw; writes are buffered
// (recording the version at the first write of an id not read before). Commit locks the shards
// of every recorded id in ascending order, so concurrent commits cannot deadlock, checks that
// no recorded version moved, and applies. Records work the same way under the records lock,
// which Commit takes after the shard locks.
class MemoryTxn final : public MetadataTxn {
 public:
  // `store` must outlive this transaction.
  explicit MemoryTxn(MemoryMetadataStore& store) : store_(store) {}

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
  using RecordKey = std::pair<RecordTable, std::string>;

  // Remembers the version of `id` the first time this transaction sees it.
  // REQUIRES: the shard of `id` is locked and `node` is its node for `id` (or null).
  void RecordLocked(InodeId id, const Node* node) {
    read_versions_.try_emplace(id, node == nullptr ? 0 : node->version);
  }
  // Records the current version of `id` unless one is recorded already; before a write.
  void RecordBeforeWrite(InodeId id);
  // Likewise for a record, before its write.
  void RecordBeforeWrite(const RecordKey& key);

  // The analysis cannot follow the set of shard locks Commit holds, so these are unchecked.
  // REQUIRES: the shards of every id in read_versions_ are locked.
  bool ValidateLocked() NO_THREAD_SAFETY_ANALYSIS;
  void ApplyLocked() NO_THREAD_SAFETY_ANALYSIS;
  static void ApplyEntryWritesLocked(InodeId dir, Node& node, EntryWrites& writes);
  // Gives a changed node its new version and its inode the change counter `change`; erases the
  // node once it holds nothing.
  void FinishLocked(InodeId id, Node& node, uint64_t change) NO_THREAD_SAFETY_ANALYSIS;
  bool ValidateRecordsLocked(RecordArea& area) EXCLUSIVE_LOCKS_REQUIRED(area.mu);
  void ApplyRecordsLocked(RecordArea& area) EXCLUSIVE_LOCKS_REQUIRED(area.mu);

  MemoryMetadataStore& store_;
  // Every id this transaction read or wrote -> the version it first saw (0: absent). Written
  // ids are always here, so Commit's locks cover every write.
  std::unordered_map<InodeId, uint64_t> read_versions_;
  struct InodeWrite {
    std::optional<Inode> inode;  // nullopt deletes the inode
    bool counted = true;         // see MetadataTxn::PutInode
  };
  std::unordered_map<InodeId, InodeWrite> inode_writes_;
  std::unordered_map<InodeId, EntryWrites> entry_writes_;
  // Every record this transaction read or wrote -> the version it first saw (0: absent).
  std::map<RecordKey, uint64_t> record_versions_;
  std::map<RecordKey, std::optional<std::string>> record_writes_;  // nullopt deletes the record
};

Result<Inode> MemoryTxn::GetInode(InodeId id) {
  if (auto it = inode_writes_.find(id); it != inode_writes_.end()) {
    if (!it->second.inode) return Errc::kNotFound;
    return *it->second.inode;
  }
  Shard& shard = store_.ShardOf(id);
  MutexLock lock(&shard.mu);
  const Node* node = FindLocked(shard, id);
  RecordLocked(id, node);
  if (node == nullptr || !node->inode) return Errc::kNotFound;
  return *node->inode;
}

Result<DirEntry> MemoryTxn::Lookup(InodeId dir, std::string_view name) {
  if (auto writes = entry_writes_.find(dir); writes != entry_writes_.end()) {
    if (auto it = writes->second.find(name); it != writes->second.end()) {
      if (!it->second) return Errc::kNotFound;
      return *it->second;
    }
  }
  Shard& shard = store_.ShardOf(dir);
  MutexLock lock(&shard.mu);
  const Node* node = FindLocked(shard, dir);
  RecordLocked(dir, node);
  if (node == nullptr) return Errc::kNotFound;
  auto it = node->entries.find(name);
  if (it == node->entries.end()) return Errc::kNotFound;
  return it->second;
}

Result<std::vector<DirEntry>> MemoryTxn::LookupFolded(InodeId dir, std::string_view name) {
  std::string folded = FoldCase(name);
  const EntryWrites* writes = nullptr;
  if (auto it = entry_writes_.find(dir); it != entry_writes_.end()) writes = &it->second;
  std::vector<DirEntry> out;
  {
    Shard& shard = store_.ShardOf(dir);
    MutexLock lock(&shard.mu);
    const Node* node = FindLocked(shard, dir);
    RecordLocked(dir, node);
    if (node != nullptr && !node->entries.empty()) {
      if (!node->by_folded) {
        node->by_folded = std::make_unique<std::unordered_multimap<std::string, const DirEntry*>>();
        for (const auto& [n, e] : node->entries) node->by_folded->emplace(FoldCase(n), &e);
      }
      auto [first, last] = node->by_folded->equal_range(folded);
      for (auto it = first; it != last; ++it) {
        if (writes == nullptr || !writes->contains(it->second->name)) out.push_back(*it->second);
      }
    }
  }
  if (writes != nullptr) {
    for (const auto& [n, write] : *writes) {
      if (write && EqualFolded(n, name)) out.push_back(*write);
    }
  }
  std::sort(out.begin(), out.end(),
            [](const DirEntry& a, const DirEntry& b) { return a.name < b.name; });
  return out;
}

Result<std::vector<DirEntry>> MemoryTxn::List(InodeId dir, uint64_t after_cookie, size_t max) {
  std::vector<DirEntry> out;
  Shard& shard = store_.ShardOf(dir);
  MutexLock lock(&shard.mu);
  const Node* node = FindLocked(shard, dir);
  RecordLocked(dir, node);
  if (node == nullptr) return out;
  for (auto it = node->by_cookie.upper_bound(after_cookie);
       it != node->by_cookie.end() && out.size() < max; ++it) {
    out.push_back(*it->second);
  }
  return out;
}

Result<bool> MemoryTxn::HasEntries(InodeId dir) {
  auto writes = entry_writes_.find(dir);
  Shard& shard = store_.ShardOf(dir);
  MutexLock lock(&shard.mu);
  const Node* node = FindLocked(shard, dir);
  RecordLocked(dir, node);
  size_t count = node == nullptr ? 0 : node->entries.size();
  if (writes == entry_writes_.end()) return count > 0;
  for (const auto& [name, write] : writes->second) {
    bool committed = node != nullptr && node->entries.contains(name);
    if (write && !committed) ++count;
    if (!write && committed) --count;  // each committed name is deleted at most once
  }
  return count > 0;
}

Result<std::string> MemoryTxn::GetRecord(RecordTable table, std::string_view key) {
  RecordKey id(table, std::string(key));
  if (auto it = record_writes_.find(id); it != record_writes_.end()) {
    if (!it->second) return Errc::kNotFound;
    return *it->second;
  }
  RecordArea& area = store_.records();
  MutexLock lock(&area.mu);
  const RecordSlot* slot = FindRecordLocked(area, table, key);
  record_versions_.try_emplace(std::move(id), slot == nullptr ? 0 : slot->version);
  if (slot == nullptr) return Errc::kNotFound;
  return slot->value;
}

Result<std::vector<Record>> MemoryTxn::ScanRecords(RecordTable table, std::string_view from,
                                                   std::string_view to, size_t max) {
  std::vector<Record> out;
  RecordArea& area = store_.records();
  MutexLock lock(&area.mu);
  auto records = area.tables.find(table);
  if (records == area.tables.end()) return out;
  for (auto it = records->second.lower_bound(from); it != records->second.end() && out.size() < max;
       ++it) {
    if (!to.empty() && it->first >= to) break;
    out.push_back(Record{it->first, it->second.value});
  }
  return out;
}

void MemoryTxn::RecordBeforeWrite(const RecordKey& key) {
  if (record_versions_.contains(key)) return;
  RecordArea& area = store_.records();
  MutexLock lock(&area.mu);
  const RecordSlot* slot = FindRecordLocked(area, key.first, key.second);
  record_versions_.try_emplace(key, slot == nullptr ? 0 : slot->version);
}

void MemoryTxn::PutRecord(RecordTable table, std::string_view key, std::string_view value) {
  CHECK(key.size() <= kMaxRecordKeySize) << "PutRecord: a key of " << key.size() << " bytes";
  CHECK(value.size() <= kMaxRecordValueSize)
      << "PutRecord: a value of " << value.size() << " bytes";
  RecordKey id(table, std::string(key));
  RecordBeforeWrite(id);
  record_writes_.insert_or_assign(std::move(id), std::string(value));
}

void MemoryTxn::DeleteRecord(RecordTable table, std::string_view key) {
  CHECK(key.size() <= kMaxRecordKeySize) << "DeleteRecord: a key of " << key.size() << " bytes";
  RecordKey id(table, std::string(key));
  RecordBeforeWrite(id);
  record_writes_.insert_or_assign(std::move(id), std::nullopt);
}

void MemoryTxn::RecordBeforeWrite(InodeId id) {
  if (read_versions_.contains(id)) return;
  Shard& shard = store_.ShardOf(id);
  MutexLock lock(&shard.mu);
  RecordLocked(id, FindLocked(shard, id));
}

void MemoryTxn::PutInode(const Inode& inode, Counted counted) {
  CHECK(inode.id != kInvalidInode) << "PutInode: an inode without an id";
  CHECK(inode.acl.size() <= kMaxAclSize) << "PutInode: an ACL of " << inode.acl.size() << " bytes";
  RecordBeforeWrite(inode.id);
  auto [it, fresh] = inode_writes_.try_emplace(inode.id);
  it->second.counted = (!fresh && it->second.counted) || counted == Counted::kYes;
  it->second.inode = inode;
}

void MemoryTxn::DeleteInode(InodeId id) {
  RecordBeforeWrite(id);
  inode_writes_.insert_or_assign(id, InodeWrite{std::nullopt, true});
}

void MemoryTxn::PutEntry(InodeId dir, const DirEntry& entry) {
  RecordBeforeWrite(dir);
  entry_writes_[dir].insert_or_assign(entry.name, entry);
}

void MemoryTxn::DeleteEntry(InodeId dir, std::string_view name) {
  RecordBeforeWrite(dir);
  entry_writes_[dir].insert_or_assign(std::string(name), std::nullopt);
}

Status MemoryTxn::Commit() NO_THREAD_SAFETY_ANALYSIS {
  std::vector<size_t> shards;
  shards.reserve(read_versions_.size());
  for (const auto& [id, version] : read_versions_) {
    shards.push_back(MemoryMetadataStore::ShardIndex(id));
  }
  std::sort(shards.begin(), shards.end());
  shards.erase(std::unique(shards.begin(), shards.end()), shards.end());

  // Every written record has a recorded version, so this also says whether any was written.
  const bool records = !record_versions_.empty();
  RecordArea& area = store_.records();
  for (size_t s : shards) store_.shard(s).mu.Lock();
  if (records) area.mu.Lock();  // last: see RecordArea
  bool valid = ValidateLocked() && (!records || ValidateRecordsLocked(area));
  if (valid) {
    ApplyLocked();
    if (records) ApplyRecordsLocked(area);
  }
  if (records) area.mu.Unlock();
  for (size_t s : shards) store_.shard(s).mu.Unlock();

  // Freed outside the locks; the transaction is empty afterwards.
  read_versions_.clear();
  inode_writes_.clear();
  entry_writes_.clear();
  record_versions_.clear();
  record_writes_.clear();
  if (!valid) {
    return Status(Errc::kConflict, "metadata commit: an object this transaction used has changed");
  }
  return Status::Ok();
}

bool MemoryTxn::ValidateLocked() {
  for (const auto& [id, version] : read_versions_) {
    const Node* node = FindLocked(store_.ShardOf(id), id);
    if ((node == nullptr ? 0 : node->version) != version) return false;
  }
  return true;
}

void MemoryTxn::ApplyLocked() {
  int64_t added_inodes = 0;
  for (auto& [id, write] : inode_writes_) {
    Node& node = store_.ShardOf(id).nodes[id];
    added_inodes += int64_t{write.inode.has_value()} - int64_t{node.inode.has_value()};
    // The change counter: the committed one (validation made it the one this transaction
    // read), plus one unless nothing counted; a new inode starts at 1.
    const uint64_t change = node.inode ? node.inode->version : 0;
    bool counted = write.counted || !node.inode;
    node.inode = std::move(write.inode);
    auto entries = entry_writes_.find(id);
    if (entries != entry_writes_.end()) {
      ApplyEntryWritesLocked(id, node, entries->second);
      entry_writes_.erase(entries);
      counted = true;
    }
    FinishLocked(id, node, counted ? change + 1 : change);
  }
  for (auto& [dir, writes] : entry_writes_) {
    Node& node = store_.ShardOf(dir).nodes[dir];
    ApplyEntryWritesLocked(dir, node, writes);
    FinishLocked(dir, node, node.inode ? node.inode->version + 1 : 0);
  }
  store_.AddInodes(added_inodes);
}

bool MemoryTxn::ValidateRecordsLocked(RecordArea& area) {
  for (const auto& [key, version] : record_versions_) {
    const RecordSlot* slot = FindRecordLocked(area, key.first, key.second);
    if ((slot == nullptr ? 0 : slot->version) != version) return false;
  }
  return true;
}

void MemoryTxn::ApplyRecordsLocked(RecordArea& area) {
  for (auto& [key, write] : record_writes_) {
    RecordMap& records = area.tables[key.first];
    if (!write) {
      records.erase(key.second);
      continue;
    }
    RecordSlot& slot = records[key.second];
    slot.value = std::move(*write);
    slot.version = store_.NewVersion();
  }
}

// Each changed id gets one new version, however many of its parts changed.
void MemoryTxn::FinishLocked(InodeId id, Node& node, uint64_t change) {
  node.version = store_.NewVersion();
  if (node.inode) node.inode->version = change;
  if (node.empty()) store_.ShardOf(id).nodes.erase(id);
}

// Removes every written name first and only then inserts, so one transaction may pass a cookie
// from one name to another.
void MemoryTxn::ApplyEntryWritesLocked(InodeId dir, Node& node, EntryWrites& writes) {
  for (const auto& [name, write] : writes) {
    auto it = node.entries.find(name);
    if (it == node.entries.end()) continue;
    node.by_cookie.erase(it->second.cookie);
    if (node.by_folded) {
      auto [first, last] = node.by_folded->equal_range(FoldCase(name));
      for (auto f = first; f != last; ++f) {
        if (f->second == &it->second) {
          node.by_folded->erase(f);
          break;
        }
      }
    }
    node.entries.erase(it);
  }
  for (auto& [name, write] : writes) {
    if (!write) continue;
    auto [it, inserted] = node.entries.emplace(name, std::move(*write));
    if (node.by_folded) node.by_folded->emplace(FoldCase(name), &it->second);
    bool fresh_cookie = node.by_cookie.emplace(it->second.cookie, &it->second).second;
    CHECK(fresh_cookie) << "directory " << dir << ": entry \"" << name << "\" reuses cookie "
                        << it->second.cookie << " of another entry";
  }
}

std::unique_ptr<MetadataTxn> MemoryMetadataStore::Begin() {
  return std::make_unique<MemoryTxn>(*this);
}

Result<Inode> MemoryMetadataStore::GetInode(InodeId id) {
  Shard& shard = ShardOf(id);
  MutexLock lock(&shard.mu);
  const Node* node = FindLocked(shard, id);
  if (node == nullptr || !node->inode) return Errc::kNotFound;
  return *node->inode;
}

uint32_t MemoryMetadataStore::NextGeneration(InodeId id) {
  // Every call gets a different generation, so a reused id (which this store never hands out)
  // would too. 0 is skipped after wrapping around.
  uint32_t generation = next_generation_.fetch_add(1);
  return generation != 0 ? generation : next_generation_.fetch_add(1);
}

Status MemoryMetadataStore::SetRoot(InodeId id) {
  if (id == kInvalidInode) return Status(Errc::kInvalid, "set root: invalid inode id");
  InodeId current = kInvalidInode;
  if (root_.compare_exchange_strong(current, id) || current == id) return Status::Ok();
  return Status(Errc::kExists, "set root " + std::to_string(id) + ": the root is already " +
                                   std::to_string(current));
}

StoreStats MemoryMetadataStore::Stats() {
  StoreStats stats;
  // The inodes and entries live in memory, so physical memory bounds them.
  long page = sysconf(_SC_PAGESIZE);
  long pages = sysconf(_SC_PHYS_PAGES);
  long available = sysconf(_SC_AVPHYS_PAGES);
  if (page > 0 && pages > 0) {
    stats.total_bytes = static_cast<uint64_t>(pages) * static_cast<uint64_t>(page);
    if (available > 0) {
      stats.free_bytes = std::min(stats.total_bytes,
                                  static_cast<uint64_t>(available) * static_cast<uint64_t>(page));
    }
  }
  uint64_t used = inode_count_.load();
  stats.total_files = kTotalFiles;
  stats.free_files = used < kTotalFiles ? kTotalFiles - used : 0;
  return stats;
}

}  // namespace

std::unique_ptr<MetadataStore> NewMemoryMetadataStore() {
  return std::make_unique<MemoryMetadataStore>();
}

}  // namespace dittofs::stores

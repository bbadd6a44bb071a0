// SPDX-License-Identifier: Apache-2.0
#include "stores/metadata/postgres/postgres_metadata_store.h"

#include <fmt/format.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_set>
#include <utility>
#include <vector>

#include "base/casefold.h"
#include "base/check.h"
#include "base/group_sync.h"
#include "base/log.h"
#include "base/mutex.h"
#include "base/thread_pool.h"
#include "stores/metadata/inode_codec.h"
#include "stores/pg/pg_client.h"

namespace dittofs::stores {
namespace {

using pg::Bytes;
using pg::Connection;
using pg::Int;
using pg::Pool;
using pg::Rows;
using pg::Statement;
using pg::WithConnection;

// The layout below is specified in docs/formats/postgres-metadata.md; change both together.
constexpr int64_t kFormatVersion = 1;
// The file count Stats() claims: the database's disk, not a table size, is the real limit.
constexpr uint64_t kTotalFiles = uint64_t{1} << 40;

class PostgresMetadataStore;

// Optimistic: every key a transaction reads or writes is "seen" at its first use, with its
// stamp then (0 when absent). A key is an inode id (its row in `stamps`, which every commit
// that writes the inode or the entries of that directory restamps) or a record (its `stamp`
// column). Commit checks in a SERIALIZABLE transaction that every seen key still has the
// stamp seen, then writes with a new stamp from the store's sequence: stamps are never given
// twice, so a key that changed and changed back still differs. PostgreSQL's serializable
// isolation catches two commits racing on the same keys, absent ones included.
class PostgresTxn final : public MetadataTxn {
 public:
  explicit PostgresTxn(PostgresMetadataStore& store) : store_(store) {}
  ~PostgresTxn() override;

  Result<Inode> GetInode(InodeId id) override;
  Result<DirEntry> Lookup(InodeId dir, std::string_view name) override;
  Result<std::vector<DirEntry>> LookupFolded(InodeId dir, std::string_view name) override;
  Result<std::vector<DirEntry>> List(InodeId dir, uint64_t after_cookie, size_t max) override;
  Result<bool> HasEntries(InodeId dir) override;
  Result<std::string> GetRecord(RecordTable table, std::string_view key) override;
  Result<std::vector<Record>> ScanRecords(RecordTable table, std::string_view from,
                                          std::string_view to, size_t max) override;
  void PutRecord(RecordTable table, std::string_view key, std::string_view value) override;
  void PutNewRecord(RecordTable table, std::string_view key, std::string_view value) override;
  void DeleteRecord(RecordTable table, std::string_view key) override;
  void PutInode(const Inode& inode, Counted counted) override;
  void DeleteInode(InodeId id) override;
  void PutEntry(InodeId dir, const DirEntry& entry) override;
  void DeleteEntry(InodeId dir, std::string_view name) override;
  Status Commit() override;

 private:
  struct SeenInode {
    int64_t stamp = 0;
    std::optional<Inode> inode;  // committed, when it existed
  };
  struct InodeWrite {
    std::optional<Inode> inode;  // nullopt: deleted
    bool counted = false;
    bool entries_changed = false;
  };
  using RecordKey = std::pair<uint8_t, std::string>;
  using EntryKey = std::pair<InodeId, std::string>;

  // Sees inode `id` (and, a directory, its entries) if not seen yet.
  Status SeeInode(InodeId id);
  Status SeeRecord(RecordTable table, std::string_view key,
                   std::optional<std::string>* value = nullptr);
  // Keeps the first failure of a write's SeeInode/SeeRecord for Commit.
  void Keep(Status s) {
    if (!s.ok() && error_.ok()) error_ = std::move(s);
  }

  PostgresMetadataStore& store_;
  Status error_;
  // Fresh ids this transaction took (PostgresMetadataStore::TakeFresh), given back unless it
  // committed, or may have: a transaction that lost or never committed wrote none of them.
  std::vector<InodeId> took_fresh_;
  bool may_have_committed_ = false;
  std::map<InodeId, SeenInode> seen_inodes_;
  std::map<RecordKey, std::pair<int64_t, std::optional<std::string>>> seen_records_;
  std::map<InodeId, InodeWrite> inode_writes_;
  std::map<EntryKey, std::optional<DirEntry>> entry_writes_;  // nullopt: deleted
  std::map<RecordKey, std::optional<std::string>> record_writes_;
};

class PostgresMetadataStore final : public MetadataStore {
 public:
  PostgresMetadataStore(const PostgresMetadataStoreOptions& options)
      : schema_(options.schema), pool_(options.dsn, options.idle_connections, "metadata store") {}

  Status Open() {
    const std::string& s = schema_;
    // One opener at a time makes the tables (others wait on the lock, then find them).
    const std::string setup = fmt::format(
        "CREATE SCHEMA IF NOT EXISTS {0};"
        "CREATE TABLE IF NOT EXISTS {0}.meta (name text PRIMARY KEY, value bigint NOT NULL);"
        "CREATE TABLE IF NOT EXISTS {0}.inodes (id bigint PRIMARY KEY, data bytea NOT NULL, "
        "  version bigint NOT NULL);"
        "CREATE TABLE IF NOT EXISTS {0}.stamps (id bigint PRIMARY KEY, stamp bigint NOT NULL);"
        "CREATE TABLE IF NOT EXISTS {0}.entries (dir bigint NOT NULL, name bytea NOT NULL, "
        "  child bigint NOT NULL, cookie bigint NOT NULL, folded bytea NOT NULL, "
        "  PRIMARY KEY (dir, name));"
        "CREATE INDEX IF NOT EXISTS entries_by_cookie ON {0}.entries (dir, cookie);"
        "CREATE INDEX IF NOT EXISTS entries_by_folded ON {0}.entries (dir, folded);"
        "CREATE TABLE IF NOT EXISTS {0}.records (tbl bigint NOT NULL, key bytea NOT NULL, "
        "  value bytea NOT NULL, stamp bigint NOT NULL, PRIMARY KEY (tbl, key));"
        "CREATE SEQUENCE IF NOT EXISTS {0}.ids;"
        "CREATE SEQUENCE IF NOT EXISTS {0}.stamp_seq;"
        "CREATE SEQUENCE IF NOT EXISTS {0}.generations;"
        "INSERT INTO {0}.meta VALUES ('format', {1}) ON CONFLICT (name) DO NOTHING;",
        s, kFormatVersion);
    return WithConnection(pool_, [&](Connection& c) -> Status {
      RETURN_IF_ERROR(pg::SetUpSchema(c, s, setup));
      ASSIGN_OR_RETURN(Rows meta, c.Exec(fmt::format("SELECT name, value FROM {}.meta", s)));
      for (int i = 0; i < meta.size(); ++i) {
        if (meta.Bytes(i, 0) == "format" && meta.Int(i, 1) > kFormatVersion) {
          return Status(Errc::kNotSupported,
                        fmt::format("metadata store: schema {} has layout {}; this build reads "
                                    "up to {}",
                                    s, meta.Int(i, 1), kFormatVersion));
        }
        if (meta.Bytes(i, 0) == "root") root_.store(static_cast<InodeId>(meta.Int(i, 1)));
      }
      ASSIGN_OR_RETURN(Rows gen, c.Exec(fmt::format("SELECT nextval('{}.generations')", s)));
      next_generation_.store(static_cast<uint32_t>(static_cast<uint64_t>(gen.Int(0, 0)) << 16));
      return Status::Ok();
    });
  }

  std::unique_ptr<MetadataTxn> Begin() override { return std::make_unique<PostgresTxn>(*this); }

  Result<Inode> GetInode(InodeId id) override {
    return WithConnection(pool_, [&](Connection& c) -> Result<Inode> {
      ASSIGN_OR_RETURN(Rows r, c.Exec(T("SELECT data, version FROM {}.inodes WHERE id = $1"),
                                      {Int(static_cast<int64_t>(id))}));
      if (r.size() == 0) return Status(Errc::kNotFound, fmt::format("no inode {}", id));
      ASSIGN_OR_RETURN(Inode inode, DecodeInode(id, r.Bytes(0, 0)));
      inode.version = static_cast<uint64_t>(r.Int(0, 1));
      return inode;
    });
  }

  std::vector<Result<Inode>> GetInodes(const std::vector<InodeId>& ids) override {
    std::vector<Result<Inode>> out;
    if (ids.empty()) return out;
    std::string array = "{";
    for (size_t i = 0; i < ids.size(); ++i) {
      array += (i ? "," : "") + std::to_string(static_cast<int64_t>(ids[i]));
    }
    array += "}";
    Status s = WithConnection(pool_, [&](Connection& c) -> Status {
      // One round trip for them all.
      ASSIGN_OR_RETURN(Rows r, c.Exec(T("SELECT id, data, version FROM {}.inodes WHERE id = "
                                        "ANY($1::bigint[])"),
                                      {pg::Text(array)}));
      std::map<InodeId, int> row_of;
      for (int i = 0; i < r.size(); ++i) row_of[static_cast<InodeId>(r.Int(i, 0))] = i;
      out.reserve(ids.size());
      for (InodeId id : ids) {
        auto it = row_of.find(id);
        if (it == row_of.end()) {
          out.push_back(Status(Errc::kNotFound, fmt::format("no inode {}", id)));
          continue;
        }
        Result<Inode> inode = DecodeInode(id, r.Bytes(it->second, 1));
        if (inode.ok()) inode->version = static_cast<uint64_t>(r.Int(it->second, 2));
        out.push_back(std::move(inode));
      }
      return Status::Ok();
    });
    if (!s.ok()) out.assign(ids.size(), s);
    return out;
  }

  Result<InodeId> AllocateInodeId() override {
    {
      MutexLock lock(&ids_mu_);
      if (!spare_ids_.empty()) return Handed(spare_ids_.back());
    }
    // A batch in one round trip; what this node does not use is a gap in the sequence.
    ASSIGN_OR_RETURN(std::vector<InodeId> batch,
                     WithConnection(pool_, [&](Connection& c) -> Result<std::vector<InodeId>> {
                       ASSIGN_OR_RETURN(Rows r, c.Exec(T("SELECT nextval('{}.ids') FROM "
                                                         "generate_series(1, $1)"),
                                                       {Int(kIdBatch)}));
                       std::vector<InodeId> ids;
                       for (int i = 0; i < r.size(); ++i) {
                         ids.push_back(static_cast<InodeId>(r.Int(i, 0)));
                       }
                       return ids;
                     }));
    if (batch.empty()) return Status(Errc::kIo, "metadata store: no inode id from the sequence");
    MutexLock lock(&ids_mu_);
    spare_ids_.insert(spare_ids_.end(), batch.begin(), batch.end());
    return Handed(spare_ids_.back());
  }

  // Whether `id` was handed out by AllocateInodeId and no transaction has used it since: an
  // id the sequence gave once has no inode and no stamp, so its first use needs no read.
  // True once per id.
  // Ids below every fresh one (nearly every inode a transaction reads, since the sequence only
  // grows) are answered without the lock.
  bool TakeFresh(InodeId id) {
    if (id < fresh_floor_.load(std::memory_order_acquire)) return false;
    MutexLock lock(&ids_mu_);
    const bool fresh = fresh_ids_.erase(id) != 0;
    if (fresh_ids_.empty()) fresh_floor_.store(kNoFresh, std::memory_order_release);
    return fresh;
  }
  // Ids a transaction took fresh and did not use after all (it lost, or never committed).
  void GiveBackFresh(const std::vector<InodeId>& ids) {
    MutexLock lock(&ids_mu_);
    for (InodeId id : ids) {
      if (fresh_ids_.size() < kMaxFresh) AddFresh(id);
    }
  }

  uint32_t NextGeneration(InodeId) override {
    // Every call a different one (0 is skipped), from a range no earlier open used.
    uint32_t g = next_generation_.fetch_add(1);
    return g != 0 ? g : next_generation_.fetch_add(1);
  }

  InodeId root() const override { return root_.load(); }

  Status SetRoot(InodeId id) override {
    RETURN_IF_ERROR(WithConnection(pool_, [&](Connection& c) -> Status {
      return c
          .Exec(T("INSERT INTO {}.meta VALUES ('root', $1) ON CONFLICT (name) DO UPDATE SET "
                  "value = EXCLUDED.value"),
                {Int(static_cast<int64_t>(id))})
          .status();
    }));
    root_.store(id);
    return Status::Ok();
  }

  StoreStats Stats() override {
    StoreStats stats;
    stats.total_files = kTotalFiles;
    stats.free_files = kTotalFiles;
    stats.syncs = syncs_.load();
    (void)WithConnection(pool_, [&](Connection& c) -> Status {
      // The planner's estimate: counting the rows would read the whole table.
      ASSIGN_OR_RETURN(Rows r, c.Exec(T("SELECT GREATEST(reltuples, 0)::bigint FROM pg_class "
                                        "WHERE oid = '{}.inodes'::regclass")));
      if (r.size() == 1) stats.free_files = kTotalFiles - static_cast<uint64_t>(r.Int(0, 0));
      return Status::Ok();
    });
    return stats;
  }

  Status Sync() override {
    // A synchronous commit flushes the WAL through its own record, so through every
    // asynchronous (lazy) commit before it. Only a transaction that wrote WAL waits for that
    // flush (PostgreSQL commits one that merely holds an xid asynchronously), so this one
    // writes a row: the count of syncs in `meta`. One round trip.
    const std::vector<Statement> sync = {
        {"BEGIN", {}},
        {T("INSERT INTO {0}.meta VALUES ('syncs', 1) ON CONFLICT (name) DO UPDATE SET value = "
           "{0}.meta.value + 1"),
         {}},
        {"COMMIT", {}}};
    RETURN_IF_ERROR(WithConnection(pool_, [&](Connection& c) { return c.Pipeline(sync); }));
    syncs_.fetch_add(1);
    return Status::Ok();
  }

  // Makes a commit that just returned (an asynchronous one) durable, with the commits that
  // returned before it: one Sync for every commit that returned while the previous Sync ran
  // (group commit). The commit itself never waits for the disk, so the rows it wrote are
  // free for the next transaction while the WAL is flushed, as RocksDB's commits are.
  Status SyncCommitted() {
    // Positions are the commits in the order they returned.
    const uint64_t mine = committed_.fetch_add(1) + 1;
    return group_sync_.SyncThrough(mine, [this]() -> Result<uint64_t> {
      // Every commit counted by now returned before this Sync starts: it covers them.
      const uint64_t covered = committed_.load();
      BlockingRegion blocking;
      RETURN_IF_ERROR(Sync());
      return covered;
    });
  }

  // For transactions.
  Pool& pool() { return pool_; }
  const std::string& schema() const { return schema_; }
  // `sql` with the schema in place of "{}".
  std::string T(std::string_view sql) const { return fmt::format(fmt::runtime(sql), schema_); }

 private:
  static constexpr int64_t kIdBatch = 64;
  // At most this many ids handed out and not yet used are remembered as fresh (an id given to
  // a create that then found the name taken is never used).
  static constexpr size_t kMaxFresh = 4096;

  static constexpr InodeId kNoFresh = ~InodeId{0};

  InodeId Handed(InodeId id) EXCLUSIVE_LOCKS_REQUIRED(ids_mu_) {
    spare_ids_.pop_back();
    if (fresh_ids_.size() >= kMaxFresh) {  // they are read, then
      fresh_ids_.clear();
      fresh_floor_.store(kNoFresh, std::memory_order_release);
    }
    AddFresh(id);
    return id;
  }
  void AddFresh(InodeId id) EXCLUSIVE_LOCKS_REQUIRED(ids_mu_) {
    fresh_ids_.insert(id);
    if (id < fresh_floor_.load(std::memory_order_relaxed)) {
      fresh_floor_.store(id, std::memory_order_release);
    }
  }

  const std::string schema_;
  Pool pool_;
  Mutex ids_mu_;
  std::vector<InodeId> spare_ids_ GUARDED_BY(ids_mu_);
  std::unordered_set<InodeId> fresh_ids_ GUARDED_BY(ids_mu_);
  std::atomic<InodeId> fresh_floor_{kNoFresh};  // no fresh id is below it; written under ids_mu_
  std::atomic<uint64_t> committed_{0};          // durable commits that returned, for group_sync_
  GroupSync group_sync_;
  std::atomic<InodeId> root_{kInvalidInode};
  std::atomic<uint32_t> next_generation_{1};
  std::atomic<uint64_t> syncs_{0};
};

Status PostgresTxn::SeeInode(InodeId id) {
  if (seen_inodes_.contains(id)) return Status::Ok();
  if (store_.TakeFresh(id)) {
    seen_inodes_.emplace(id, SeenInode{});  // never stamped, never written
    took_fresh_.push_back(id);
    return Status::Ok();
  }
  return WithConnection(store_.pool(), [&](Connection& c) -> Status {
    // One statement: one snapshot for the stamp and the inode.
    ASSIGN_OR_RETURN(Rows r, c.Exec(store_.T("SELECT s.stamp, i.data, i.version FROM "
                                             "(SELECT $1::bigint AS id) q "
                                             "LEFT JOIN {0}.stamps s ON s.id = q.id "
                                             "LEFT JOIN {0}.inodes i ON i.id = q.id"),
                                    {Int(static_cast<int64_t>(id))}));
    SeenInode seen;
    seen.stamp = r.Int(0, 0);
    if (!r.null(0, 1)) {
      ASSIGN_OR_RETURN(Inode inode, DecodeInode(id, r.Bytes(0, 1)));
      inode.version = static_cast<uint64_t>(r.Int(0, 2));
      seen.inode = std::move(inode);
    }
    seen_inodes_.emplace(id, std::move(seen));
    return Status::Ok();
  });
}

Status PostgresTxn::SeeRecord(RecordTable table, std::string_view key,
                              std::optional<std::string>* value) {
  RecordKey k{static_cast<uint8_t>(table), std::string(key)};
  if (auto it = seen_records_.find(k); it != seen_records_.end()) {
    if (value != nullptr) *value = it->second.second;
    return Status::Ok();
  }
  return WithConnection(store_.pool(), [&](Connection& c) -> Status {
    ASSIGN_OR_RETURN(Rows r,
                     c.Exec(store_.T("SELECT stamp, value FROM {}.records WHERE tbl = $1 AND "
                                     "key = $2"),
                            {Int(static_cast<uint8_t>(table)), Bytes(key)}));
    std::pair<int64_t, std::optional<std::string>> seen{0, std::nullopt};
    if (r.size() == 1) seen = {r.Int(0, 0), std::string(r.Bytes(0, 1))};
    if (value != nullptr) *value = seen.second;
    seen_records_.emplace(std::move(k), std::move(seen));
    return Status::Ok();
  });
}

Result<Inode> PostgresTxn::GetInode(InodeId id) {
  if (auto it = inode_writes_.find(id); it != inode_writes_.end()) {
    if (!it->second.inode) return Status(Errc::kNotFound, fmt::format("no inode {}", id));
    return *it->second.inode;
  }
  RETURN_IF_ERROR(SeeInode(id));
  const SeenInode& seen = seen_inodes_.at(id);
  if (!seen.inode) return Status(Errc::kNotFound, fmt::format("no inode {}", id));
  return *seen.inode;
}

Result<DirEntry> PostgresTxn::Lookup(InodeId dir, std::string_view name) {
  RETURN_IF_ERROR(SeeInode(dir));
  if (auto it = entry_writes_.find({dir, std::string(name)}); it != entry_writes_.end()) {
    if (!it->second) return Status(Errc::kNotFound, "no entry");
    return *it->second;
  }
  return WithConnection(store_.pool(), [&](Connection& c) -> Result<DirEntry> {
    ASSIGN_OR_RETURN(Rows r, c.Exec(store_.T("SELECT child, cookie FROM {}.entries WHERE dir = $1 "
                                             "AND name = $2"),
                                    {Int(static_cast<int64_t>(dir)), Bytes(name)}));
    if (r.size() == 0) return Status(Errc::kNotFound, "no entry");
    return DirEntry{std::string(name), static_cast<InodeId>(r.Int(0, 0)),
                    static_cast<uint64_t>(r.Int(0, 1))};
  });
}

Result<std::vector<DirEntry>> PostgresTxn::LookupFolded(InodeId dir, std::string_view name) {
  RETURN_IF_ERROR(SeeInode(dir));
  const std::string folded = FoldCase(name);
  std::map<std::string, DirEntry> found;
  RETURN_IF_ERROR(WithConnection(store_.pool(), [&](Connection& c) -> Status {
    ASSIGN_OR_RETURN(Rows r, c.Exec(store_.T("SELECT name, child, cookie FROM {}.entries WHERE "
                                             "dir = $1 AND folded = $2"),
                                    {Int(static_cast<int64_t>(dir)), Bytes(folded)}));
    for (int i = 0; i < r.size(); ++i) {
      std::string n(r.Bytes(i, 0));
      found[n] = DirEntry{n, static_cast<InodeId>(r.Int(i, 1)), static_cast<uint64_t>(r.Int(i, 2))};
    }
    return Status::Ok();
  }));
  for (auto it = entry_writes_.lower_bound({dir, ""});
       it != entry_writes_.end() && it->first.first == dir; ++it) {
    if (!EqualFolded(it->first.second, name)) continue;
    if (it->second) {
      found[it->first.second] = *it->second;
    } else {
      found.erase(it->first.second);
    }
  }
  std::vector<DirEntry> out;
  for (auto& [n, e] : found) out.push_back(std::move(e));  // std::map: byte order of names
  return out;
}

Result<std::vector<DirEntry>> PostgresTxn::List(InodeId dir, uint64_t after_cookie, size_t max) {
  RETURN_IF_ERROR(SeeInode(dir));
  return WithConnection(store_.pool(), [&](Connection& c) -> Result<std::vector<DirEntry>> {
    ASSIGN_OR_RETURN(
        Rows r, c.Exec(store_.T("SELECT name, child, cookie FROM {}.entries WHERE "
                                "dir = $1 AND cookie > $2 ORDER BY cookie LIMIT $3"),
                       {Int(static_cast<int64_t>(dir)), Int(static_cast<int64_t>(after_cookie)),
                        Int(static_cast<int64_t>(std::min<size_t>(max, INT64_MAX)))}));
    std::vector<DirEntry> out;
    out.reserve(static_cast<size_t>(r.size()));
    for (int i = 0; i < r.size(); ++i) {
      out.push_back(DirEntry{std::string(r.Bytes(i, 0)), static_cast<InodeId>(r.Int(i, 1)),
                             static_cast<uint64_t>(r.Int(i, 2))});
    }
    return out;
  });
}

Result<bool> PostgresTxn::HasEntries(InodeId dir) {
  RETURN_IF_ERROR(SeeInode(dir));
  std::vector<std::string> deleted;
  for (auto it = entry_writes_.lower_bound({dir, ""});
       it != entry_writes_.end() && it->first.first == dir; ++it) {
    if (it->second) return true;
    deleted.push_back(it->first.second);
  }
  // Committed entries that this transaction did not delete: one more than it deleted is enough.
  return WithConnection(store_.pool(), [&](Connection& c) -> Result<bool> {
    ASSIGN_OR_RETURN(Rows r, c.Exec(store_.T("SELECT name FROM {}.entries WHERE dir = $1 LIMIT $2"),
                                    {Int(static_cast<int64_t>(dir)),
                                     Int(static_cast<int64_t>(deleted.size() + 1))}));
    for (int i = 0; i < r.size(); ++i) {
      if (std::find(deleted.begin(), deleted.end(), r.Bytes(i, 0)) == deleted.end()) return true;
    }
    return false;
  });
}

Result<std::string> PostgresTxn::GetRecord(RecordTable table, std::string_view key) {
  if (auto it = record_writes_.find({static_cast<uint8_t>(table), std::string(key)});
      it != record_writes_.end()) {
    if (!it->second) return Status(Errc::kNotFound, "no record");
    return *it->second;
  }
  std::optional<std::string> value;
  RETURN_IF_ERROR(SeeRecord(table, key, &value));
  if (!value) return Status(Errc::kNotFound, "no record");
  return *value;
}

Result<std::vector<Record>> PostgresTxn::ScanRecords(RecordTable table, std::string_view from,
                                                     std::string_view to, size_t max) {
  return WithConnection(store_.pool(), [&](Connection& c) -> Result<std::vector<Record>> {
    std::vector<pg::Param> params = {Int(static_cast<uint8_t>(table)), Bytes(from),
                                     Int(static_cast<int64_t>(std::min<size_t>(max, INT64_MAX)))};
    std::string sql = "SELECT key, value FROM {}.records WHERE tbl = $1 AND key >= $2";
    if (!to.empty()) {
      sql += " AND key < $4";
      params.push_back(Bytes(to));
    }
    sql += " ORDER BY key LIMIT $3";
    ASSIGN_OR_RETURN(Rows r, c.Exec(store_.T(sql), params));
    std::vector<Record> out;
    out.reserve(static_cast<size_t>(r.size()));
    for (int i = 0; i < r.size(); ++i) {
      out.push_back(Record{std::string(r.Bytes(i, 0)), std::string(r.Bytes(i, 1))});
    }
    return out;
  });
}

void PostgresTxn::PutRecord(RecordTable table, std::string_view key, std::string_view value) {
  CHECK(key.size() <= kMaxRecordKeySize && value.size() <= kMaxRecordValueSize) << "record";
  Keep(SeeRecord(table, key));
  record_writes_[{static_cast<uint8_t>(table), std::string(key)}] = std::string(value);
}

void PostgresTxn::PutNewRecord(RecordTable table, std::string_view key, std::string_view value) {
  CHECK(key.size() <= kMaxRecordKeySize && value.size() <= kMaxRecordValueSize) << "record";
  // Not seen: nothing to check at commit. Its row is written with the commit's stamp.
  record_writes_[{static_cast<uint8_t>(table), std::string(key)}] = std::string(value);
}

void PostgresTxn::DeleteRecord(RecordTable table, std::string_view key) {
  Keep(SeeRecord(table, key));
  record_writes_[{static_cast<uint8_t>(table), std::string(key)}] = std::nullopt;
}

void PostgresTxn::PutInode(const Inode& inode, Counted counted) {
  CHECK(inode.acl.size() <= kMaxAclSize) << "inode " << inode.id;
  Keep(SeeInode(inode.id));
  InodeWrite& w = inode_writes_[inode.id];
  w.inode = inode;
  w.counted = w.counted || counted == Counted::kYes;
}

void PostgresTxn::DeleteInode(InodeId id) {
  Keep(SeeInode(id));
  inode_writes_[id].inode = std::nullopt;
}

void PostgresTxn::PutEntry(InodeId dir, const DirEntry& entry) {
  Keep(SeeInode(dir));
  entry_writes_[{dir, entry.name}] = entry;
}

void PostgresTxn::DeleteEntry(InodeId dir, std::string_view name) {
  Keep(SeeInode(dir));
  entry_writes_[{dir, std::string(name)}] = std::nullopt;
}

PostgresTxn::~PostgresTxn() {
  if (!may_have_committed_ && !took_fresh_.empty()) store_.GiveBackFresh(took_fresh_);
}

Status PostgresTxn::Commit() {
  RETURN_IF_ERROR(error_);
  const bool writes = !inode_writes_.empty() || !entry_writes_.empty() || !record_writes_.empty();
  std::map<InodeId, bool> entries_changed;  // directories whose entries this commit changes
  for (const auto& [key, entry] : entry_writes_) entries_changed[key.first] = true;
  if (seen_inodes_.empty() && seen_records_.empty() && !writes) return Status::Ok();
  PostgresMetadataStore& s = store_;
  // The whole commit goes in one round trip (a pipeline). A stamp that is not the one seen
  // divides by zero: the error (SQLSTATE 22012) aborts the rest, and is the conflict.
  std::vector<Statement> batch;
  batch.push_back({"BEGIN ISOLATION LEVEL SERIALIZABLE", {}});
  // Durable commits too: they are made durable after, together (SyncCommitted).
  batch.push_back({"SET LOCAL synchronous_commit = off", {}});
  for (const auto& [id, seen] : seen_inodes_) {
    batch.push_back({s.T("SELECT 1 / (CASE WHEN COALESCE((SELECT stamp FROM {}.stamps WHERE id = "
                         "$1), 0) = $2 THEN 1 ELSE 0 END)"),
                     {Int(static_cast<int64_t>(id)), Int(seen.stamp)}});
  }
  for (const auto& [key, seen] : seen_records_) {
    batch.push_back({s.T("SELECT 1 / (CASE WHEN COALESCE((SELECT stamp FROM {}.records WHERE tbl "
                         "= $1 AND key = $2), 0) = $3 THEN 1 ELSE 0 END)"),
                     {Int(key.first), Bytes(key.second), Int(seen.first)}});
  }
  if (writes) {
    // The new stamp: nextval once, currval after.
    batch.push_back({s.T("SELECT nextval('{}.stamp_seq')"), {}});
    const std::string stamp = s.T("currval('{}.stamp_seq')");
    std::map<InodeId, bool> restamp;  // id -> whether its stamp row goes (deleted, no entries)
    for (const auto& [id, w] : inode_writes_) {
      const SeenInode& seen = seen_inodes_.at(id);
      restamp[id] = !w.inode && !entries_changed.contains(id);
      if (!w.inode) {
        batch.push_back(
            {s.T("DELETE FROM {}.inodes WHERE id = $1"), {Int(static_cast<int64_t>(id))}});
        continue;
      }
      // The change counter: what this transaction read, plus one when the write counts.
      uint64_t version = seen.inode ? seen.inode->version : 0;
      if (w.counted || entries_changed.contains(id) || !seen.inode) ++version;
      Inode inode = *w.inode;
      inode.version = version;
      batch.push_back({s.T("INSERT INTO {}.inodes VALUES ($1, $2, $3) ON CONFLICT (id) DO UPDATE "
                           "SET data = EXCLUDED.data, version = EXCLUDED.version"),
                       {Int(static_cast<int64_t>(id)), Bytes(EncodeInode(inode)),
                        Int(static_cast<int64_t>(version))}});
    }
    for (const auto& [dir, changed] : entries_changed) {
      restamp.emplace(dir, false);
      if (inode_writes_.contains(dir)) continue;
      // A directory whose entries changed changes too (its version) without being written.
      batch.push_back({s.T("UPDATE {}.inodes SET version = version + 1 WHERE id = $1"),
                       {Int(static_cast<int64_t>(dir))}});
    }
    for (const auto& [key, entry] : entry_writes_) {
      if (!entry) {
        batch.push_back({s.T("DELETE FROM {}.entries WHERE dir = $1 AND name = $2"),
                         {Int(static_cast<int64_t>(key.first)), Bytes(key.second)}});
        continue;
      }
      batch.push_back({s.T("INSERT INTO {}.entries VALUES ($1, $2, $3, $4, $5) ON CONFLICT (dir, "
                           "name) DO UPDATE SET child = EXCLUDED.child, cookie = EXCLUDED.cookie, "
                           "folded = EXCLUDED.folded"),
                       {Int(static_cast<int64_t>(key.first)), Bytes(key.second),
                        Int(static_cast<int64_t>(entry->child)),
                        Int(static_cast<int64_t>(entry->cookie)), Bytes(FoldCase(key.second))}});
    }
    for (const auto& [id, drop] : restamp) {
      if (drop) {
        batch.push_back(
            {s.T("DELETE FROM {}.stamps WHERE id = $1"), {Int(static_cast<int64_t>(id))}});
      } else {
        batch.push_back({fmt::format("INSERT INTO {}.stamps VALUES ($1, {}) ON CONFLICT (id) DO "
                                     "UPDATE SET stamp = EXCLUDED.stamp",
                                     s.schema(), stamp),
                         {Int(static_cast<int64_t>(id))}});
      }
    }
    for (const auto& [key, value] : record_writes_) {
      if (!value) {
        batch.push_back({s.T("DELETE FROM {}.records WHERE tbl = $1 AND key = $2"),
                         {Int(key.first), Bytes(key.second)}});
        continue;
      }
      batch.push_back({fmt::format("INSERT INTO {}.records VALUES ($1, $2, $3, {}) ON CONFLICT "
                                   "(tbl, key) DO UPDATE SET value = EXCLUDED.value, stamp = "
                                   "EXCLUDED.stamp",
                                   s.schema(), stamp),
                       {Int(key.first), Bytes(key.second), Bytes(*value)}});
    }
  }
  batch.push_back({"COMMIT", {}});
  Status status = WithConnection(s.pool(), [&](Connection& c) { return c.Pipeline(batch); });
  // A conflict rolled the transaction back; anything else (a lost connection) may not have.
  may_have_committed_ = status.code() != Errc::kConflict;
  RETURN_IF_ERROR(status);
  // Committed and visible. A durable commit returns once the WAL holds it on disk; if that
  // fails (the server went away), the commit may or may not survive, as when a connection is
  // lost during a COMMIT.
  if (writes && !lazy()) return s.SyncCommitted();
  return Status::Ok();
}

}  // namespace

Result<std::unique_ptr<MetadataStore>> OpenPostgresMetadataStore(
    const PostgresMetadataStoreOptions& options) {
  RETURN_IF_ERROR(pg::CheckSchema("metadata store", options.schema));
  auto store = std::make_unique<PostgresMetadataStore>(options);
  RETURN_IF_ERROR(store->Open());
  return std::unique_ptr<MetadataStore>(std::move(store));
}

}  // namespace dittofs::stores

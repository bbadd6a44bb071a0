// SPDX-License-Identifier: Apache-2.0
// Quotas (docs/quotas.md): usage counted in memory and in the share's metadata store, limits
// checked in O(1). The record format is in core/quota.h.
#include "core/quota.h"

#include <algorithm>
#include <functional>
#include <limits>
#include <unordered_set>

#include "base/log.h"
#include "base/random.h"
#include "base/record_codec.h"

namespace dittofs::core {

// One share, user or group: its usage, what writers hold of it, and its limits. Every field is
// an atomic of its own, read and changed without the table's lock.
struct QuotaCounter {
  QuotaKind kind = QuotaKind::kShare;
  uint32_t id = 0;
  std::atomic<int64_t> bytes{0};
  std::atomic<int64_t> files{0};
  std::atomic<int64_t> pending{0};  // bytes held by reservations
  std::atomic<uint64_t> hard_bytes{0}, soft_bytes{0}, hard_files{0}, soft_files{0};
  std::atomic<uint64_t> grace{0};
  std::atomic<int64_t> over_soft_since{0};

  QuotaLimits limits() const {
    QuotaLimits l;
    l.hard_bytes = hard_bytes.load(std::memory_order_relaxed);
    l.soft_bytes = soft_bytes.load(std::memory_order_relaxed);
    l.hard_files = hard_files.load(std::memory_order_relaxed);
    l.soft_files = soft_files.load(std::memory_order_relaxed);
    l.grace_seconds = grace.load(std::memory_order_relaxed);
    return l;
  }
  void set_limits(const QuotaLimits& l) {
    hard_bytes.store(l.hard_bytes, std::memory_order_relaxed);
    soft_bytes.store(l.soft_bytes, std::memory_order_relaxed);
    hard_files.store(l.hard_files, std::memory_order_relaxed);
    soft_files.store(l.soft_files, std::memory_order_relaxed);
    grace.store(l.grace_seconds, std::memory_order_relaxed);
  }
  uint64_t grace_seconds() const {
    uint64_t g = grace.load(std::memory_order_relaxed);
    return g == 0 ? kDefaultGraceSeconds : g;
  }
  uint64_t used_bytes() const {
    return static_cast<uint64_t>(std::max<int64_t>(0, bytes.load(std::memory_order_relaxed)));
  }
  uint64_t used_files() const {
    return static_cast<uint64_t>(std::max<int64_t>(0, files.load(std::memory_order_relaxed)));
  }
  bool over_soft() const {
    const uint64_t sb = soft_bytes.load(std::memory_order_relaxed);
    const uint64_t sf = soft_files.load(std::memory_order_relaxed);
    return (sb != 0 && used_bytes() > sb) || (sf != 0 && used_files() > sf);
  }
};

namespace {

using stores::Inode;
using stores::InodeId;
using stores::MetadataTxn;
using stores::RecordTable;

constexpr uint32_t kFormatVersion = 1;
constexpr size_t kScanBatch = 1024;

uint64_t Slot(QuotaKind kind, uint32_t id) { return (uint64_t(kind) << 32) | id; }

std::string KeyOf(char type, QuotaKind kind, uint32_t id) {
  std::string key(1, type);
  AppendU8(&key, static_cast<uint8_t>(kind));
  AppendBe32(&key, id);
  return key;
}

// Decodes the kind and id of a 'u', 'l' or 'o' key.
bool ParseKey(std::string_view key, QuotaKind* kind, uint32_t* id) {
  if (key.size() != 6 || static_cast<uint8_t>(key[1]) > 2) return false;
  *kind = static_cast<QuotaKind>(key[1]);
  *id = 0;
  for (size_t i = 2; i < 6; ++i) *id = (*id << 8) | static_cast<uint8_t>(key[i]);
  return true;
}

std::string EncodeLimits(const QuotaLimits& l) {
  std::string out;
  AppendLe64(&out, l.hard_bytes);
  AppendLe64(&out, l.soft_bytes);
  AppendLe64(&out, l.hard_files);
  AppendLe64(&out, l.soft_files);
  AppendLe64(&out, l.grace_seconds);
  return out;
}

std::optional<QuotaLimits> DecodeLimits(std::string_view in) {
  FieldReader r(in);
  QuotaLimits l;
  l.hard_bytes = r.Le64();
  l.soft_bytes = r.Le64();
  l.hard_files = r.Le64();
  l.soft_files = r.Le64();
  l.grace_seconds = r.Le64();
  if (!r.ok()) return std::nullopt;
  return l;
}

std::string EncodeDeltas(const std::vector<QuotaDelta>& deltas) {
  std::string out;
  for (const QuotaDelta& d : deltas) {
    AppendU8(&out, static_cast<uint8_t>(d.kind));
    AppendLe32(&out, d.id);
    AppendLe64(&out, static_cast<uint64_t>(d.bytes));
    AppendLe64(&out, static_cast<uint64_t>(d.files));
  }
  return out;
}

// The deltas of a 'd' record; records that do not decode are skipped (and logged by the caller).
bool DecodeDeltas(std::string_view in, std::vector<QuotaDelta>* out) {
  FieldReader r(in);
  while (r.ok() && !r.done()) {
    QuotaDelta d;
    const uint8_t kind = r.U8();
    d.id = r.Le32();
    d.bytes = static_cast<int64_t>(r.Le64());
    d.files = static_cast<int64_t>(r.Le64());
    if (!r.ok() || kind > 2) return false;
    d.kind = static_cast<QuotaKind>(kind);
    out->push_back(d);
  }
  return r.ok();
}

std::string EncodeUsage(int64_t bytes, int64_t files) {
  std::string out;
  AppendLe64(&out, static_cast<uint64_t>(bytes));
  AppendLe64(&out, static_cast<uint64_t>(files));
  return out;
}

// A delta record's key: unique to its commit without a shared counter (the wall clock in
// nanoseconds and a number of this process's), so that commits never conflict over it.
std::string DeltaKey() {
  // From a random start, so that two processes writing one store (nodes sharing a schema)
  // never make the same key at the same nanosecond.
  static std::atomic<uint64_t> seq{RandomU64()};
  std::string key = "d";
  const Timespec now = Now();
  AppendBe64(&key, uint64_t(now.sec) * 1000000000u + now.nsec);
  AppendBe64(&key, seq.fetch_add(1, std::memory_order_relaxed));
  return key;
}

int64_t UnixNow() { return Now().sec; }

// The quota-relevant part of an inode: whether it exists, and who it counts against.
struct Footprint {
  bool exists = false;
  uint32_t uid = 0, gid = 0;
  uint64_t bytes = 0;
};

Footprint FootprintOf(const std::optional<Inode>& inode) {
  Footprint f;
  if (!inode) return f;
  f.exists = true;
  f.uid = inode->uid;
  f.gid = inode->gid;
  f.bytes = inode->type == stores::FileType::kRegular ? inode->size : 0;
  return f;
}

void Add(std::vector<QuotaDelta>* out, QuotaKind kind, uint32_t id, int64_t bytes, int64_t files) {
  if (bytes == 0 && files == 0) return;
  for (QuotaDelta& d : *out) {
    if (d.kind == kind && d.id == id) {
      d.bytes += bytes;
      d.files += files;
      return;
    }
  }
  out->push_back(QuotaDelta{kind, id, bytes, files});
}

void AddFootprints(const Footprint& before, const Footprint& after, std::vector<QuotaDelta>* out) {
  auto count = [&](const Footprint& f, int64_t sign) {
    if (!f.exists) return;
    const int64_t bytes = sign * static_cast<int64_t>(f.bytes);
    Add(out, QuotaKind::kShare, 0, bytes, sign);
    Add(out, QuotaKind::kUser, f.uid, bytes, sign);
    Add(out, QuotaKind::kGroup, f.gid, bytes, sign);
  };
  count(before, -1);
  count(after, +1);
  std::erase_if(*out, [](const QuotaDelta& d) { return d.bytes == 0 && d.files == 0; });
}

// A transaction that notes what it does to inodes and commits the quota deltas with it.
class CountingTxn final : public MetadataTxn {
 public:
  CountingTxn(std::unique_ptr<MetadataTxn> inner, stores::MetadataStore& store, QuotaTable* table)
      : inner_(std::move(inner)), store_(store), table_(table) {}

  Result<Inode> GetInode(InodeId id) override {
    Result<Inode> r = inner_->GetInode(id);
    // The first read is the state before this transaction, unless it wrote the inode first
    // (then the read sees its own write).
    if (!after_.contains(id) && !before_.contains(id)) {
      if (r.ok()) {
        before_.emplace(id, FootprintOf(*r));
      } else if (r.status().code() == Errc::kNotFound) {
        before_.emplace(id, Footprint{});
      }
    }
    return r;
  }
  Result<stores::DirEntry> Lookup(InodeId dir, std::string_view name) override {
    return inner_->Lookup(dir, name);
  }
  Result<std::vector<stores::DirEntry>> LookupFolded(InodeId dir, std::string_view name) override {
    return inner_->LookupFolded(dir, name);
  }
  Result<std::vector<stores::DirEntry>> List(InodeId dir, uint64_t after_cookie,
                                             size_t max) override {
    return inner_->List(dir, after_cookie, max);
  }
  Result<bool> HasEntries(InodeId dir) override { return inner_->HasEntries(dir); }
  Result<std::string> GetRecord(RecordTable table, std::string_view key) override {
    return inner_->GetRecord(table, key);
  }
  Result<std::vector<stores::Record>> ScanRecords(RecordTable table, std::string_view from,
                                                  std::string_view to, size_t max) override {
    return inner_->ScanRecords(table, from, to, max);
  }
  void PutRecord(RecordTable table, std::string_view key, std::string_view value) override {
    inner_->PutRecord(table, key, value);
  }
  void PutNewRecord(RecordTable table, std::string_view key, std::string_view value) override {
    inner_->PutNewRecord(table, key, value);
  }
  void DeleteRecord(RecordTable table, std::string_view key) override {
    inner_->DeleteRecord(table, key);
  }
  void PutInode(const Inode& inode, stores::Counted counted) override {
    inner_->PutInode(inode, counted);
    // An inode the store never gave out has version 0 (the store numbers every one it keeps
    // from 1): a new one, which counted nothing before.
    if (inode.version == 0 && !before_.contains(inode.id) && !after_.contains(inode.id)) {
      before_.emplace(inode.id, Footprint{});
    }
    after_.insert_or_assign(inode.id, FootprintOf(inode));
  }
  void DeleteInode(InodeId id) override {
    inner_->DeleteInode(id);
    after_.insert_or_assign(id, Footprint{});
  }
  void PutEntry(InodeId dir, const stores::DirEntry& entry) override {
    inner_->PutEntry(dir, entry);
  }
  void DeleteEntry(InodeId dir, std::string_view name) override { inner_->DeleteEntry(dir, name); }

  Status Commit() override {
    std::vector<QuotaDelta> deltas;
    for (const auto& [id, after] : after_) {
      Footprint before;
      if (auto it = before_.find(id); it != before_.end()) {
        before = it->second;
      } else {
        // Written without being read first: a new inode, or one read outside the transaction.
        Result<Inode> committed = store_.GetInode(id);
        if (committed.ok()) {
          before = FootprintOf(*committed);
        } else if (committed.status().code() != Errc::kNotFound) {
          return committed.status();
        }
      }
      AddFootprints(before, after, &deltas);
    }
    // A delta's key is made once (DeltaKey: the time and a sequence): no one else writes it.
    if (!deltas.empty()) {
      inner_->PutNewRecord(RecordTable::kQuota, DeltaKey(), EncodeDeltas(deltas));
    }
    inner_->set_lazy(lazy());
    RETURN_IF_ERROR(inner_->Commit());
    if (table_ != nullptr && !deltas.empty()) table_->Apply(deltas);
    return Status::Ok();
  }

 private:
  std::unique_ptr<MetadataTxn> inner_;
  stores::MetadataStore& store_;
  QuotaTable* table_;
  std::unordered_map<InodeId, Footprint> before_;
  std::unordered_map<InodeId, Footprint> after_;
};

class CountingStoreImpl final : public stores::MetadataStore {
 public:
  CountingStoreImpl(stores::MetadataStore& inner, QuotaTable* table)
      : inner_(inner), table_(table) {}
  std::unique_ptr<MetadataTxn> Begin() override {
    return std::make_unique<CountingTxn>(inner_.Begin(), inner_, table_);
  }
  Result<Inode> GetInode(InodeId id) override { return inner_.GetInode(id); }
  std::vector<Result<Inode>> GetInodes(const std::vector<InodeId>& ids) override {
    return inner_.GetInodes(ids);
  }
  Result<InodeId> AllocateInodeId() override { return inner_.AllocateInodeId(); }
  uint32_t NextGeneration(InodeId id) override { return inner_.NextGeneration(id); }
  InodeId root() const override { return inner_.root(); }
  Status SetRoot(InodeId id) override { return inner_.SetRoot(id); }
  stores::StoreStats Stats() override { return inner_.Stats(); }
  Status Sync() override { return inner_.Sync(); }

 private:
  stores::MetadataStore& inner_;
  QuotaTable* table_;
};

}  // namespace

std::string_view QuotaKindName(QuotaKind kind) {
  switch (kind) {
    case QuotaKind::kShare:
      return "share";
    case QuotaKind::kUser:
      return "user";
    case QuotaKind::kGroup:
      return "group";
  }
  return "share";
}

std::optional<QuotaKind> ParseQuotaKind(std::string_view name) {
  if (name == "share") return QuotaKind::kShare;
  if (name == "user") return QuotaKind::kUser;
  if (name == "group") return QuotaKind::kGroup;
  return std::nullopt;
}

void AddDeltas(const std::optional<Inode>& before, const std::optional<Inode>& after,
               std::vector<QuotaDelta>* out) {
  AddFootprints(FootprintOf(before), FootprintOf(after), out);
}

std::unique_ptr<stores::MetadataStore> CountingStore(stores::MetadataStore& inner,
                                                     QuotaTable* table) {
  return std::make_unique<CountingStoreImpl>(inner, table);
}

// --- QuotaTable::Reservation --------------------------------------------------------------------

QuotaTable::Reservation& QuotaTable::Reservation::operator=(Reservation&& other) noexcept {
  if (this != &other) {
    Release();
    std::copy(std::begin(other.held_), std::end(other.held_), std::begin(held_));
    bytes_ = other.bytes_;
    std::fill(std::begin(other.held_), std::end(other.held_), nullptr);
    other.bytes_ = 0;
  }
  return *this;
}

void QuotaTable::Reservation::Release() {
  for (QuotaCounter*& c : held_) {
    if (c != nullptr) c->pending.fetch_sub(static_cast<int64_t>(bytes_), std::memory_order_relaxed);
    c = nullptr;
  }
  bytes_ = 0;
}

// --- QuotaTable ---------------------------------------------------------------------------------

QuotaTable::QuotaTable(stores::MetadataStore& metadata) : metadata_(metadata) {}
QuotaTable::~QuotaTable() = default;

Result<ShareQuotas> ShareQuotas::Open(stores::MetadataStore& metadata) {
  ShareQuotas q;
  ASSIGN_OR_RETURN(q.table, QuotaTable::Open(metadata));
  q.counting = CountingStore(metadata, q.table.get());
  return q;
}

Result<std::unique_ptr<QuotaTable>> QuotaTable::Open(stores::MetadataStore& metadata) {
  std::unique_ptr<QuotaTable> table(new QuotaTable(metadata));
  table->At(QuotaKind::kShare, 0);
  RETURN_IF_ERROR(table->Load());
  return table;
}

QuotaCounter* QuotaTable::Find(QuotaKind kind, uint32_t id) const {
  mu_.LockShared();
  auto it = counters_.find(Slot(kind, id));
  QuotaCounter* c = it == counters_.end() ? nullptr : it->second.get();
  mu_.UnlockShared();
  return c;
}

QuotaCounter& QuotaTable::At(QuotaKind kind, uint32_t id) const {
  if (QuotaCounter* c = Find(kind, id)) return *c;
  mu_.Lock();
  std::unique_ptr<QuotaCounter>& slot = counters_[Slot(kind, id)];
  if (!slot) {
    slot = std::make_unique<QuotaCounter>();
    slot->kind = kind;
    slot->id = id;
  }
  QuotaCounter* c = slot.get();
  mu_.Unlock();
  return *c;
}

Status QuotaTable::Load() {
  auto scan = [&](char type, const std::function<void(const stores::Record&)>& each) -> Status {
    const std::string end(1, static_cast<char>(type + 1));
    for (std::string from(1, type);;) {
      std::unique_ptr<MetadataTxn> txn = metadata_.Begin();
      ASSIGN_OR_RETURN(std::vector<stores::Record> records,
                       txn->ScanRecords(RecordTable::kQuota, from, end, kScanBatch));
      for (const stores::Record& r : records) each(r);
      if (records.size() < kScanBatch) return Status::Ok();
      from = records.back().key + '\0';
    }
  };
  QuotaKind kind;
  uint32_t id = 0;
  RETURN_IF_ERROR(scan('l', [&](const stores::Record& r) {
    std::optional<QuotaLimits> limits = DecodeLimits(r.value);
    if (limits && ParseKey(r.key, &kind, &id)) At(kind, id).set_limits(*limits);
  }));
  RETURN_IF_ERROR(scan('o', [&](const stores::Record& r) {
    FieldReader in(r.value);
    const int64_t since = static_cast<int64_t>(in.Le64());
    if (in.ok() && ParseKey(r.key, &kind, &id)) At(kind, id).over_soft_since.store(since);
  }));
  // Never counted (a share from before quotas, or a new one): count the namespace as it stands.
  {
    std::unique_ptr<MetadataTxn> txn = metadata_.Begin();
    Result<std::string> version = txn->GetRecord(RecordTable::kQuota, "v");
    if (!version.ok()) {
      if (version.status().code() != Errc::kNotFound) return version.status();
      return Recount();
    }
  }
  RETURN_IF_ERROR(scan('u', [&](const stores::Record& r) {
    FieldReader in(r.value);
    const int64_t bytes = static_cast<int64_t>(in.Le64());
    const int64_t files = static_cast<int64_t>(in.Le64());
    if (!in.ok() || !ParseKey(r.key, &kind, &id)) return;
    QuotaCounter& c = At(kind, id);
    c.bytes.store(bytes);
    c.files.store(files);
  }));
  uint64_t deltas = 0;
  RETURN_IF_ERROR(scan('d', [&](const stores::Record& r) {
    std::vector<QuotaDelta> d;
    if (!DecodeDeltas(r.value, &d)) {
      LOG_WARN("quota: a usage delta record that does not decode ({} bytes) is skipped",
               r.value.size());
      return;
    }
    for (const QuotaDelta& one : d) {
      QuotaCounter& c = At(one.kind, one.id);
      c.bytes.fetch_add(one.bytes);
      c.files.fetch_add(one.files);
    }
    ++deltas;
  }));
  unfolded_.store(deltas);
  while (unfolded_.load() > 0) {
    ASSIGN_OR_RETURN(size_t folded, Fold());
    if (folded == 0) break;
  }
  return Status::Ok();
}

Status QuotaTable::Recount(JobProgress* progress) {
  MutexLock fold(&fold_mu_);
  if (progress != nullptr) {
    if (const QuotaCounter* share = Find(QuotaKind::kShare, 0)) {
      progress->SetTotal(share->used_files());
    }
  }
  std::unordered_map<uint64_t, std::pair<int64_t, int64_t>> usage;
  usage[Slot(QuotaKind::kShare, 0)];
  std::unordered_set<InodeId> seen;
  std::vector<InodeId> dirs;
  auto visit = [&](InodeId id) -> Status {
    if (!seen.insert(id).second) return Status::Ok();  // a hard link seen before
    if (progress != nullptr) {
      if (progress->canceled()) return Status(Errc::kUnavailable, "the count was canceled");
      progress->AddDone(1);
    }
    Result<Inode> inode = metadata_.GetInode(id);
    if (!inode.ok()) {
      if (inode.status().code() == Errc::kNotFound) return Status::Ok();  // gone meanwhile
      return inode.status();
    }
    std::vector<QuotaDelta> d;
    AddDeltas(std::nullopt, *inode, &d);
    for (const QuotaDelta& one : d) {
      auto& [bytes, files] = usage[Slot(one.kind, one.id)];
      bytes += one.bytes;
      files += one.files;
    }
    if (inode->is_directory()) dirs.push_back(id);
    return Status::Ok();
  };
  if (metadata_.root() != stores::kInvalidInode) RETURN_IF_ERROR(visit(metadata_.root()));
  while (!dirs.empty()) {
    const InodeId dir = dirs.back();
    dirs.pop_back();
    for (uint64_t cookie = 0;;) {
      std::unique_ptr<MetadataTxn> txn = metadata_.Begin();
      ASSIGN_OR_RETURN(std::vector<stores::DirEntry> entries, txn->List(dir, cookie, kScanBatch));
      for (const stores::DirEntry& e : entries) RETURN_IF_ERROR(visit(e.child));
      if (entries.size() < kScanBatch) break;
      cookie = entries.back().cookie;
    }
  }
  // Orphans: files without a name that opens still use (key: the inode, big-endian).
  for (std::string from;;) {
    std::unique_ptr<MetadataTxn> txn = metadata_.Begin();
    ASSIGN_OR_RETURN(std::vector<stores::Record> orphans,
                     txn->ScanRecords(RecordTable::kOrphans, from, "", kScanBatch));
    for (const stores::Record& o : orphans) {
      if (o.key.size() == 8) RETURN_IF_ERROR(visit(LoadBe64(o.key)));
    }
    if (orphans.size() < kScanBatch) break;
    from = orphans.back().key + '\0';
  }
  // Replace the usage records and the deltas (which the count includes) in batches; the
  // version record goes last, so a count a crash cut short is done again at the next open.
  for (char type : {'u', 'd'}) {
    const std::string end(1, static_cast<char>(type + 1));
    for (;;) {
      std::unique_ptr<MetadataTxn> scan = metadata_.Begin();
      ASSIGN_OR_RETURN(
          std::vector<stores::Record> old,
          scan->ScanRecords(RecordTable::kQuota, std::string(1, type), end, kScanBatch));
      if (old.empty()) break;
      RETURN_IF_ERROR(stores::RunTransaction(metadata_, [&](MetadataTxn& txn) {
        for (const stores::Record& r : old) txn.DeleteRecord(RecordTable::kQuota, r.key);
        return Status::Ok();
      }));
    }
  }
  std::vector<std::pair<uint64_t, std::pair<int64_t, int64_t>>> rows(usage.begin(), usage.end());
  for (size_t at = 0; at < rows.size(); at += kScanBatch) {
    RETURN_IF_ERROR(stores::RunTransaction(metadata_, [&](MetadataTxn& txn) {
      for (size_t i = at; i < std::min(rows.size(), at + kScanBatch); ++i) {
        const auto& [slot, use] = rows[i];
        txn.PutRecord(RecordTable::kQuota,
                      KeyOf('u', static_cast<QuotaKind>(slot >> 32), uint32_t(slot)),
                      EncodeUsage(use.first, use.second));
      }
      return Status::Ok();
    }));
  }
  RETURN_IF_ERROR(stores::RunTransaction(metadata_, [&](MetadataTxn& txn) {
    std::string v;
    AppendLe32(&v, kFormatVersion);
    txn.PutRecord(RecordTable::kQuota, "v", v);
    return Status::Ok();
  }));
  {
    mu_.LockShared();
    for (auto& [slot, c] : counters_) {
      auto it = usage.find(slot);
      c->bytes.store(it == usage.end() ? 0 : it->second.first);
      c->files.store(it == usage.end() ? 0 : it->second.second);
    }
    mu_.UnlockShared();
  }
  for (const auto& [slot, use] : rows) {
    QuotaCounter& c = At(static_cast<QuotaKind>(slot >> 32), uint32_t(slot));
    c.bytes.store(use.first);
    c.files.store(use.second);
  }
  unfolded_.store(0);
  const auto [bytes, files] = usage[Slot(QuotaKind::kShare, 0)];
  if (files > 0) LOG_INFO("quota: counted {} objects holding {} bytes", files, bytes);
  return Status::Ok();
}

Result<size_t> QuotaTable::Fold(size_t max) {
  MutexLock fold(&fold_mu_);
  size_t folded = 0;
  RETURN_IF_ERROR(stores::RunTransaction(metadata_, [&](MetadataTxn& txn) -> Status {
    folded = 0;
    ASSIGN_OR_RETURN(std::vector<stores::Record> deltas,
                     txn.ScanRecords(RecordTable::kQuota, "d", "e", max));
    if (deltas.empty()) return Status::Ok();
    std::vector<QuotaDelta> sum;
    for (const stores::Record& r : deltas) {
      std::vector<QuotaDelta> d;
      if (DecodeDeltas(r.value, &d)) {
        for (const QuotaDelta& one : d) Add(&sum, one.kind, one.id, one.bytes, one.files);
      }
      txn.DeleteRecord(RecordTable::kQuota, r.key);
    }
    for (const QuotaDelta& d : sum) {
      const std::string key = KeyOf('u', d.kind, d.id);
      int64_t bytes = 0, files = 0;
      Result<std::string> old = txn.GetRecord(RecordTable::kQuota, key);
      if (old.ok()) {
        FieldReader in(*old);
        bytes = static_cast<int64_t>(in.Le64());
        files = static_cast<int64_t>(in.Le64());
      } else if (old.status().code() != Errc::kNotFound) {
        return old.status();
      }
      txn.PutRecord(RecordTable::kQuota, key, EncodeUsage(bytes + d.bytes, files + d.files));
    }
    folded = deltas.size();
    return Status::Ok();
  }));
  // Saturating: deltas another node committed are folded here too.
  uint64_t left = unfolded_.load();
  while (!unfolded_.compare_exchange_weak(left, left > folded ? left - folded : 0)) {
  }
  return folded;
}

Status QuotaTable::CheckCounter(const QuotaCounter& c, uint64_t bytes, uint64_t files,
                                int64_t now) const {
  auto refuse = [&](std::string_view what, uint64_t limit) {
    return Status(Errc::kQuota, fmt::format("the {} {}'s {} limit of {} would be passed",
                                            QuotaKindName(c.kind), c.id, what, limit));
  };
  const int64_t since = c.over_soft_since.load(std::memory_order_relaxed);
  const bool expired = since != 0 && now >= since + static_cast<int64_t>(c.grace_seconds());
  if (bytes > 0) {
    const uint64_t used = c.used_bytes() + static_cast<uint64_t>(std::max<int64_t>(
                                               0, c.pending.load(std::memory_order_relaxed)));
    const uint64_t hard = c.hard_bytes.load(std::memory_order_relaxed);
    if (hard != 0 && used + bytes > hard) return refuse("hard byte", hard);
    const uint64_t soft = c.soft_bytes.load(std::memory_order_relaxed);
    if (soft != 0 && expired && used + bytes > soft) return refuse("soft byte", soft);
  }
  if (files > 0) {
    const uint64_t used = c.used_files();
    const uint64_t hard = c.hard_files.load(std::memory_order_relaxed);
    if (hard != 0 && used + files > hard) return refuse("hard file", hard);
    const uint64_t soft = c.soft_files.load(std::memory_order_relaxed);
    if (soft != 0 && expired && used + files > soft) return refuse("soft file", soft);
  }
  return Status::Ok();
}

Status QuotaTable::Check(uint32_t uid, uint32_t gid, uint64_t bytes, uint64_t files) const {
  if (bytes == 0 && files == 0) return Status::Ok();
  const int64_t now = UnixNow();
  for (auto [kind, id] : {std::pair{QuotaKind::kShare, 0u}, std::pair{QuotaKind::kUser, uid},
                          std::pair{QuotaKind::kGroup, gid}}) {
    // No counter: nothing used and no limit set.
    if (const QuotaCounter* c = Find(kind, id))
      RETURN_IF_ERROR(CheckCounter(*c, bytes, files, now));
  }
  return Status::Ok();
}

Status QuotaTable::CheckOne(QuotaKind kind, uint32_t id, uint64_t bytes, uint64_t files) const {
  const QuotaCounter* c = Find(kind, id);
  if (c == nullptr || (bytes == 0 && files == 0)) return Status::Ok();
  return CheckCounter(*c, bytes, files, UnixNow());
}

Result<QuotaTable::Reservation> QuotaTable::Reserve(uint32_t uid, uint32_t gid, uint64_t bytes) {
  Reservation r;
  if (bytes == 0) return r;
  r.bytes_ = bytes;
  int n = 0;
  for (auto [kind, id] : {std::pair{QuotaKind::kShare, 0u}, std::pair{QuotaKind::kUser, uid},
                          std::pair{QuotaKind::kGroup, gid}}) {
    QuotaCounter* c = Find(kind, id);
    if (c == nullptr) continue;
    // Held first, then checked with what others hold: two writers that would pass a limit
    // together both see the other's bytes.
    c->pending.fetch_add(static_cast<int64_t>(bytes), std::memory_order_relaxed);
    r.held_[n++] = c;
  }
  const int64_t now = UnixNow();
  for (int i = 0; i < n; ++i) {
    QuotaCounter& c = *r.held_[i];
    c.pending.fetch_sub(static_cast<int64_t>(bytes), std::memory_order_relaxed);
    Status s = CheckCounter(c, bytes, 0, now);
    c.pending.fetch_add(static_cast<int64_t>(bytes), std::memory_order_relaxed);
    if (!s.ok()) return s;  // `r` gives back what it held
  }
  return r;
}

void QuotaTable::Apply(const std::vector<QuotaDelta>& deltas) {
  unfolded_.fetch_add(1, std::memory_order_relaxed);
  const int64_t now = UnixNow();
  for (const QuotaDelta& d : deltas) {
    QuotaCounter& c = At(d.kind, d.id);
    c.bytes.fetch_add(d.bytes, std::memory_order_relaxed);
    c.files.fetch_add(d.files, std::memory_order_relaxed);
    NoteSoft(c, now);
  }
}

void QuotaTable::NoteSoft(QuotaCounter& c, int64_t now) {
  const bool over = c.over_soft();
  int64_t since = c.over_soft_since.load(std::memory_order_relaxed);
  if (over == (since != 0)) return;
  const int64_t want = over ? now : 0;
  if (!c.over_soft_since.compare_exchange_strong(since, want)) return;  // another thread did
  // When the grace started survives a restart; a lost write only restarts the grace.
  const std::string key = KeyOf('o', c.kind, c.id);
  Status s = stores::RunTransaction(
      metadata_,
      [&](MetadataTxn& txn) {
        if (over) {
          std::string value;
          AppendLe64(&value, static_cast<uint64_t>(want));
          txn.PutRecord(RecordTable::kQuota, key, value);
        } else {
          txn.DeleteRecord(RecordTable::kQuota, key);
        }
        return Status::Ok();
      },
      stores::Durability::kLazy);
  if (!s.ok())
    LOG_WARN("quota: noting the grace of {} {}: {}", QuotaKindName(c.kind), c.id, s.ToString());
}

Status QuotaTable::SetLimits(QuotaKind kind, uint32_t id, const QuotaLimits& limits) {
  if (kind == QuotaKind::kShare && id != 0)
    return Status(Errc::kInvalid, "a share's quota has id 0");
  if (limits.soft_bytes != 0 && limits.hard_bytes != 0 && limits.soft_bytes > limits.hard_bytes) {
    return Status(Errc::kInvalid, "the soft byte limit is over the hard one");
  }
  if (limits.soft_files != 0 && limits.hard_files != 0 && limits.soft_files > limits.hard_files) {
    return Status(Errc::kInvalid, "the soft file limit is over the hard one");
  }
  const std::string key = KeyOf('l', kind, id);
  RETURN_IF_ERROR(stores::RunTransaction(metadata_, [&](MetadataTxn& txn) {
    if (limits.none()) {
      txn.DeleteRecord(RecordTable::kQuota, key);
    } else {
      txn.PutRecord(RecordTable::kQuota, key, EncodeLimits(limits));
    }
    return Status::Ok();
  }));
  QuotaCounter& c = At(kind, id);
  c.set_limits(limits.none() ? QuotaLimits{} : limits);
  NoteSoft(c, UnixNow());
  return Status::Ok();
}

namespace {
QuotaEntry EntryOf(const QuotaCounter& c) {
  QuotaEntry e;
  e.kind = c.kind;
  e.id = c.id;
  e.limits = c.limits();
  e.used_bytes = c.used_bytes();
  e.used_files = c.used_files();
  e.over_soft_since = c.over_soft_since.load(std::memory_order_relaxed);
  if (e.over_soft_since != 0) {
    e.grace_expires = e.over_soft_since + static_cast<int64_t>(c.grace_seconds());
  }
  const bool hard = (e.limits.hard_bytes != 0 && e.used_bytes >= e.limits.hard_bytes) ||
                    (e.limits.hard_files != 0 && e.used_files >= e.limits.hard_files);
  if (hard) {
    e.state = "hard";
  } else if (e.over_soft_since != 0) {
    e.state = UnixNow() >= e.grace_expires ? "expired" : "soft";
  }
  return e;
}
}  // namespace

std::vector<QuotaEntry> QuotaTable::Report() const {
  std::vector<QuotaEntry> out;
  mu_.LockShared();
  for (const auto& [slot, c] : counters_) {
    QuotaEntry e = EntryOf(*c);
    if (e.kind != QuotaKind::kShare && e.used_bytes == 0 && e.used_files == 0 && e.limits.none()) {
      continue;
    }
    out.push_back(e);
  }
  mu_.UnlockShared();
  std::sort(out.begin(), out.end(), [](const QuotaEntry& a, const QuotaEntry& b) {
    return std::pair(a.kind, a.id) < std::pair(b.kind, b.id);
  });
  return out;
}

QuotaEntry QuotaTable::Get(QuotaKind kind, uint32_t id) const {
  if (const QuotaCounter* c = Find(kind, id)) return EntryOf(*c);
  QuotaEntry e;
  e.kind = kind;
  e.id = id;
  return e;
}

QuotaTable::Room QuotaTable::RoomFor(uint32_t uid, uint32_t gid) const {
  Room room;
  room.limit_bytes = room.avail_bytes = std::numeric_limits<uint64_t>::max();
  room.limit_files = room.avail_files = std::numeric_limits<uint64_t>::max();
  room.avail_soft_bytes = std::numeric_limits<uint64_t>::max();
  const int64_t now = UnixNow();
  for (auto [kind, id] : {std::pair{QuotaKind::kShare, 0u}, std::pair{QuotaKind::kUser, uid},
                          std::pair{QuotaKind::kGroup, gid}}) {
    const QuotaCounter* c = Find(kind, id);
    if (c == nullptr) continue;
    if (kind == QuotaKind::kUser) room.used_bytes = c->used_bytes();
    const int64_t since = c->over_soft_since.load(std::memory_order_relaxed);
    const bool expired = since != 0 && now >= since + static_cast<int64_t>(c->grace_seconds());
    auto tighten = [](uint64_t hard, uint64_t soft, bool expired, uint64_t used, uint64_t* limit,
                      uint64_t* avail) {
      uint64_t l = hard;
      if (expired && soft != 0 && (l == 0 || soft < l)) l = soft;
      if (l == 0) return;
      const uint64_t a = used >= l ? 0 : l - used;
      if (a < *avail) {
        *avail = a;
        *limit = l;
      }
    };
    tighten(c->hard_bytes.load(), c->soft_bytes.load(), expired, c->used_bytes(), &room.limit_bytes,
            &room.avail_bytes);
    if (const uint64_t soft = c->soft_bytes.load(); soft != 0) {
      const uint64_t used = c->used_bytes();
      room.avail_soft_bytes = std::min(room.avail_soft_bytes, used >= soft ? 0 : soft - used);
    }
    tighten(c->hard_files.load(), c->soft_files.load(), expired, c->used_files(), &room.limit_files,
            &room.avail_files);
  }
  return room;
}

}  // namespace dittofs::core

// SPDX-License-Identifier: Apache-2.0
// The share's recycle bin (docs/recycle.md): Remove moves files to kRecycleDir, under the path
// they had, and the bin's index (RecordTable::kTrash) keeps what it holds, oldest first.
//
// The index, in the kTrash table:
//   'e' + be64(removed, ns) + be64(inode) -> the item (EncodeItem)
//   'i' + be64(inode)                     -> its 'e' key
//   't'                                   -> le64: the bin's size, the sum of the items' sizes
// A file leaves the index when it leaves the bin (a rename out of it, a remove in it, a
// rename over it) in the transaction that makes it leave.
#include <fnmatch.h>

#include <algorithm>

#include "base/clock.h"
#include "base/log.h"
#include "base/record_codec.h"
#include "core/vfs.h"
#include "core/vfs_internal.h"

namespace dittofs::core {
namespace {

using stores::Inode;
using stores::MetadataTxn;
using stores::RecordTable;

constexpr std::string_view kTotalKey = "t";
// A name in the bin taken by another file: "name (2).ext" and so on, up to this many tries.
constexpr int kMaxNameTries = 1000;
// Remove purges the bin on its account at most this often (the retention), nanoseconds.
constexpr int64_t kPurgeEvery = int64_t{60} * 1000 * 1000 * 1000;
constexpr size_t kPurgeBatch = 64;
constexpr size_t kMaxDirNames = 4096;  // the directory name cache's bound

uint64_t Nanos(Timespec t) { return uint64_t(t.sec) * 1000000000u + t.nsec; }

std::string ItemKey(Timespec removed, InodeId id) {
  std::string key = "e";
  AppendBe64(&key, Nanos(removed));
  AppendBe64(&key, id);
  return key;
}
std::string IndexKey(InodeId id) {
  std::string key = "i";
  AppendBe64(&key, id);
  return key;
}

struct Item {
  uint64_t size = 0;
  uint32_t uid = 0;
  InodeId bin_dir = stores::kInvalidInode;
  std::string bin_name;
  Timespec removed;
  std::string path;  // from the share's root, without the leading '/'
};

std::string EncodeItem(const Item& item) {
  std::string out;
  AppendLe64(&out, item.size);
  AppendLe32(&out, item.uid);
  AppendLe64(&out, item.bin_dir);
  AppendLe16(&out, static_cast<uint16_t>(item.bin_name.size()));
  out.append(item.bin_name);
  AppendLe64(&out, static_cast<uint64_t>(item.removed.sec));
  AppendLe32(&out, item.removed.nsec);
  out.append(item.path);
  return out;
}

Result<Item> DecodeItem(std::string_view in) {
  FieldReader r(in);
  Item item;
  item.size = r.Le64();
  item.uid = r.Le32();
  item.bin_dir = r.Le64();
  item.bin_name = std::string(r.Take(r.Le16()));
  item.removed.sec = static_cast<int64_t>(r.Le64());
  item.removed.nsec = r.Le32();
  item.path = std::string(r.Rest());
  if (!r.ok()) return Status(Errc::kIo, "recycle bin: a damaged index record");
  return item;
}

Result<uint64_t> ReadTotal(MetadataTxn& txn) {
  Result<std::string> total = txn.GetRecord(RecordTable::kTrash, kTotalKey);
  if (!total.ok()) {
    if (total.status().code() == Errc::kNotFound) return uint64_t{0};
    return total.status();
  }
  FieldReader r(*total);
  uint64_t v = r.Le64();
  if (!r.ok()) return Status(Errc::kIo, "recycle bin: a damaged size record");
  return v;
}
void WriteTotal(MetadataTxn& txn, uint64_t total) {
  std::string v;
  AppendLe64(&v, total);
  txn.PutRecord(RecordTable::kTrash, kTotalKey, v);
}

// Whether an exclude glob matches the file `name` at `path` (from the share's root).
bool Excluded(const std::vector<std::string>& globs, const std::string& name,
              const std::string& path) {
  for (const std::string& g : globs) {
    if (fnmatch(g.c_str(), name.c_str(), 0) == 0) return true;
    if (fnmatch(g.c_str(), path.c_str(), 0) == 0) return true;
  }
  return false;
}

// "name (n).ext": the number before the last extension, as file managers number copies.
std::string Numbered(std::string_view name, int n) {
  size_t dot = name.rfind('.');
  if (dot == 0 || dot == std::string_view::npos) dot = name.size();
  return fmt::format("{} ({}){}", name.substr(0, dot), n, name.substr(dot));
}

std::vector<std::string> SplitPath(std::string_view path) {
  std::vector<std::string> parts;
  size_t at = 0;
  while (at < path.size()) {
    size_t slash = path.find('/', at);
    if (slash == std::string_view::npos) slash = path.size();
    if (slash > at) parts.emplace_back(path.substr(at, slash - at));
    at = slash + 1;
  }
  return parts;
}

}  // namespace

using namespace internal;  // NOLINT: the constants both halves of the Vfs share

Result<InodeId> Vfs::BinDir(MetadataTxn& txn) {
  Result<stores::DirEntry> bin = txn.Lookup(root_.inode, kRecycleDir);
  if (bin.ok()) return bin->child;
  if (bin.status().code() == Errc::kNotFound) return stores::kInvalidInode;
  return bin.status();
}

Result<bool> Vfs::InBin(MetadataTxn& txn, const Inode& dir) {
  ASSIGN_OR_RETURN(InodeId bin, BinDir(txn));
  if (bin == stores::kInvalidInode) return false;
  Inode walk = dir;
  for (uint64_t steps = 0; steps < kMaxAncestorWalk; ++steps) {
    if (walk.id == bin) return true;
    if (walk.id == root_.inode || walk.parent == walk.id || walk.parent == stores::kInvalidInode) {
      return false;
    }
    ASSIGN_OR_RETURN(walk, txn.GetInode(walk.parent));
  }
  return Status(Errc::kIo, fmt::format("recycle bin: directory {} is not below the root", dir.id));
}

Result<std::string> Vfs::DirName(MetadataTxn& txn, InodeId parent, InodeId child) {
  std::optional<std::string> cached;
  {
    MutexLock lock(&dir_names_mu_);
    auto it = dir_names_.find(child);
    if (it != dir_names_.end() && it->second.first == parent) cached = it->second.second;
  }
  if (cached) {
    Result<stores::DirEntry> e = txn.Lookup(parent, *cached);
    if (e.ok() && e->child == child) return *cached;
  }
  // Not cached (or renamed since): a scan of the parent's entries (NameIn), then the lookup
  // that makes the transaction conflict with a rename of the directory meanwhile.
  Result<std::string> name = NameIn(parent, child);
  if (!name.ok()) {
    if (name.status().code() != Errc::kNotFound) return name.status();
    return Status(Errc::kIo, fmt::format("recycle bin: directory {} has no name", child));
  }
  ASSIGN_OR_RETURN(stores::DirEntry e, txn.Lookup(parent, *name));
  if (e.child != child) return Status(Errc::kConflict, "recycle bin: a directory moved meanwhile");
  MutexLock lock(&dir_names_mu_);
  if (dir_names_.size() >= kMaxDirNames) dir_names_.clear();
  dir_names_[child] = {parent, *name};
  return *name;
}

Result<Inode> Vfs::MakeDirIn(MetadataTxn& txn, Inode& parent, std::string_view name,
                             const Inode& like, Timespec now) {
  if (parent.nlink >= kMaxLinks) return Errc::kTooManyLinks;
  ASSIGN_OR_RETURN(InodeId id, metadata_.AllocateInodeId());
  Inode n;
  n.id = id;
  n.generation = metadata_.NextGeneration(id);
  n.type = stores::FileType::kDirectory;
  n.mode = like.mode & kModeMask;
  n.uid = like.uid;
  n.gid = like.gid;
  n.acl = like.acl;
  n.nlink = 2;
  n.atime = n.mtime = n.ctime = n.btime = now;
  n.parent = parent.id;
  n.next_cookie = kFirstCookie;
  txn.PutInode(n);
  txn.PutEntry(parent.id, {std::string(name), n.id, parent.next_cookie});
  parent.next_cookie += 1;
  parent.nlink += 1;
  parent.mtime = parent.ctime = now;
  return n;
}

Result<std::optional<Vfs::Recycled>> Vfs::RecycleIn(MetadataTxn& txn, Inode& d,
                                                    const stores::DirEntry& e, Inode& victim,
                                                    Timespec now) {
  const RecycleOptions& opts = options_.recycle;
  if (opts.max_bytes != 0 && victim.size > opts.max_bytes) return std::optional<Recycled>();
  ASSIGN_OR_RETURN(InodeId bin_id, BinDir(txn));
  // The directories from the root down to `d`, by name, unless `d` lies in the bin.
  std::vector<std::pair<std::string, InodeId>> chain;
  for (InodeId walk = d.id;;) {
    if (walk == root_.inode) break;
    if (walk == bin_id) return std::optional<Recycled>();
    if (chain.size() > kMaxAncestorWalk) {
      return Status(Errc::kIo,
                    fmt::format("recycle bin: directory {} is not below the root", d.id));
    }
    Inode w = d;
    if (walk != d.id) {
      ASSIGN_OR_RETURN(w, txn.GetInode(walk));
    }
    ASSIGN_OR_RETURN(std::string name, DirName(txn, w.parent, walk));
    chain.emplace_back(std::move(name), walk);
    walk = w.parent;
  }
  std::reverse(chain.begin(), chain.end());
  std::string path;
  for (const auto& [name, id] : chain) path += name + "/";
  path += e.name;
  if (Excluded(opts.exclude, e.name, path)) return std::optional<Recycled>();

  // The root may be `d` itself: then its changes are made to `d`, which the caller writes.
  Inode root_copy;
  Inode* root = &d;
  if (d.id != root_.inode) {
    ASSIGN_OR_RETURN(root_copy, txn.GetInode(root_.inode));
    root = &root_copy;
  }
  Inode dir;
  if (bin_id == stores::kInvalidInode) {
    Inode like;  // the bin: everyone's, sticky (each removes only their own), as /tmp
    like.mode = 01777;
    ASSIGN_OR_RETURN(dir, MakeDirIn(txn, *root, kRecycleDir, like, now));
    txn.PutInode(*root);
  } else {
    ASSIGN_OR_RETURN(dir, txn.GetInode(bin_id));
  }
  for (const auto& [name, original_id] : chain) {
    // A name the bin holds as another file gets a number, as a file would.
    std::string want = name;
    std::optional<Inode> next;
    for (int n = 2; !next; ++n) {
      Result<stores::DirEntry> x = txn.Lookup(dir.id, want);
      if (x.ok()) {
        ASSIGN_OR_RETURN(Inode found, txn.GetInode(x->child));
        if (found.is_directory()) {
          next = std::move(found);
          break;
        }
      } else if (x.status().code() != Errc::kNotFound) {
        return x.status();
      } else {
        Inode original = d;
        if (original_id != d.id) {
          ASSIGN_OR_RETURN(original, txn.GetInode(original_id));
        }
        ASSIGN_OR_RETURN(Inode made, MakeDirIn(txn, dir, want, original, now));
        txn.PutInode(dir);
        next = std::move(made);
        break;
      }
      if (n > kMaxNameTries) return Status(Errc::kExists, "recycle bin: no free directory name");
      want = Numbered(name, n);
    }
    dir = std::move(*next);
  }
  std::string target = e.name;
  for (int n = 2;; ++n) {
    Result<stores::DirEntry> x = FindEntry(txn, dir.id, target);
    if (!x.ok() && x.status().code() == Errc::kNotFound) break;
    if (!x.ok()) return x.status();
    if (n > kMaxNameTries) {
      target = fmt::format("{}.{}", e.name, victim.id);
      break;
    }
    target = Numbered(e.name, n);
  }
  if (CheckName(target, options_.names).code() == Errc::kNameTooLong) {
    target = fmt::format("{}", victim.id);
  }

  txn.DeleteEntry(d.id, e.name);
  txn.PutEntry(dir.id, {target, victim.id, dir.next_cookie});
  dir.next_cookie += 1;
  dir.mtime = dir.ctime = now;
  txn.PutInode(dir);
  victim.ctime = now;
  txn.PutInode(victim);

  ASSIGN_OR_RETURN(uint64_t total, ReadTotal(txn));
  total += victim.size;
  WriteTotal(txn, total);
  Item item{victim.size, victim.uid, dir.id, target, now, path};
  const std::string key = ItemKey(now, victim.id);
  txn.PutRecord(RecordTable::kTrash, key, EncodeItem(item));
  txn.PutRecord(RecordTable::kTrash, IndexKey(victim.id), key);
  return std::optional<Recycled>(Recycled{dir.id, target, total});
}

Status Vfs::ForgetTrash(MetadataTxn& txn, InodeId file) {
  Result<std::string> key = txn.GetRecord(RecordTable::kTrash, IndexKey(file));
  if (!key.ok()) return key.status().code() == Errc::kNotFound ? Status::Ok() : key.status();
  Result<std::string> value = txn.GetRecord(RecordTable::kTrash, *key);
  if (value.ok()) {
    Result<Item> item = DecodeItem(*value);
    ASSIGN_OR_RETURN(uint64_t total, ReadTotal(txn));
    if (item.ok()) WriteTotal(txn, total - std::min(total, item->size));
    txn.DeleteRecord(RecordTable::kTrash, *key);
  } else if (value.status().code() != Errc::kNotFound) {
    return value.status();
  }
  txn.DeleteRecord(RecordTable::kTrash, IndexKey(file));
  return Status::Ok();
}

Status Vfs::TrashRenamed(MetadataTxn& txn, InodeId file, const Inode& dir, std::string_view name) {
  Result<std::string> key = txn.GetRecord(RecordTable::kTrash, IndexKey(file));
  if (!key.ok()) return key.status().code() == Errc::kNotFound ? Status::Ok() : key.status();
  ASSIGN_OR_RETURN(bool in_bin, InBin(txn, dir));
  if (!in_bin) return ForgetTrash(txn, file);
  ASSIGN_OR_RETURN(std::string value, txn.GetRecord(RecordTable::kTrash, *key));
  ASSIGN_OR_RETURN(Item item, DecodeItem(value));
  item.bin_dir = dir.id;
  item.bin_name = std::string(name);
  txn.PutRecord(RecordTable::kTrash, *key, EncodeItem(item));
  return Status::Ok();
}

namespace {
// The path of a bin item from the share's root, as far as it is known: the names up to the
// bin's directory.
Result<std::string> BinPathOf(MetadataTxn& txn, InodeId root, InodeId dir,
                              const std::function<Result<std::string>(InodeId, InodeId)>& name_of,
                              std::string_view leaf) {
  std::vector<std::string> names{std::string(leaf)};
  InodeId walk = dir;
  for (uint64_t steps = 0; walk != root; ++steps) {
    if (steps > 4096) return Status(Errc::kIo, "recycle bin: too deep");
    ASSIGN_OR_RETURN(Inode w, txn.GetInode(walk));
    ASSIGN_OR_RETURN(std::string name, name_of(w.parent, walk));
    names.push_back(std::move(name));
    walk = w.parent;
  }
  std::string path;
  for (auto it = names.rbegin(); it != names.rend(); ++it) path += "/" + *it;
  return path;
}
}  // namespace

Result<bool> Vfs::StillInBin(MetadataTxn& txn, InodeId id, InodeId bin_dir,
                             std::string_view bin_name) {
  Result<stores::DirEntry> e = txn.Lookup(bin_dir, bin_name);
  if (!e.ok()) {
    if (e.status().code() == Errc::kNotFound) return false;
    return e.status();
  }
  if (e->child != id) return false;
  // Its directory may have left the bin (a folder restored by hand, whole).
  ASSIGN_OR_RETURN(Inode dir, txn.GetInode(bin_dir));
  return InBin(txn, dir);
}

Result<std::vector<Vfs::TrashItem>> Vfs::ListTrash(size_t max) {
  std::vector<TrashItem> out;
  std::unique_ptr<MetadataTxn> txn = metadata_.Begin();
  auto name_of = [&](InodeId parent, InodeId child) { return DirName(*txn, parent, child); };
  std::string from = "e";
  while (out.size() < max) {
    ASSIGN_OR_RETURN(std::vector<stores::Record> page,
                     txn->ScanRecords(RecordTable::kTrash, from, "f", kPurgeBatch));
    for (const stores::Record& r : page) {
      if (r.key.size() != 17) continue;
      Result<Item> item = DecodeItem(r.value);
      if (!item.ok()) continue;
      const InodeId id = LoadBe64(std::string_view(r.key).substr(9));
      // Only what is still where the index says (a stale entry goes at the next purge).
      Result<bool> there = StillInBin(*txn, id, item->bin_dir, item->bin_name);
      if (!there.ok() || !*there) continue;
      Result<std::string> bin_path =
          BinPathOf(*txn, root_.inode, item->bin_dir, name_of, item->bin_name);
      if (!bin_path.ok()) continue;
      out.push_back({id, "/" + item->path, *bin_path, item->size, item->removed, item->uid});
      if (out.size() >= max) break;
    }
    if (page.size() < kPurgeBatch) break;
    from = page.back().key;
    from.push_back('\0');
  }
  return out;
}

Result<uint64_t> Vfs::TrashBytes() {
  std::unique_ptr<MetadataTxn> txn = metadata_.Begin();
  return ReadTotal(*txn);
}

Result<bool> Vfs::DropTrash(uint64_t id) {
  std::optional<Item> item;
  Status s = stores::RunTransaction(metadata_, [&](MetadataTxn& txn) -> Status {
    item.reset();
    Result<std::string> key = txn.GetRecord(RecordTable::kTrash, IndexKey(id));
    if (!key.ok()) return key.status();
    ASSIGN_OR_RETURN(std::string value, txn.GetRecord(RecordTable::kTrash, *key));
    ASSIGN_OR_RETURN(item, DecodeItem(value));
    ASSIGN_OR_RETURN(bool there, StillInBin(txn, id, item->bin_dir, item->bin_name));
    if (there) {
      // There: removed below, whatever its DOS read-only attribute says.
      ASSIGN_OR_RETURN(Inode file, txn.GetInode(id));
      if (file.dos_attributes & kDosReadOnly) {
        file.dos_attributes &= ~kDosReadOnly;
        txn.PutInode(file);
      }
      return Status::Ok();
    }
    item.reset();  // not where the index says (or no longer in the bin): forget it
    return ForgetTrash(txn, id);
  });
  if (s.code() == Errc::kNotFound) return false;
  RETURN_IF_ERROR(s);
  if (!item) return false;
  ASSIGN_OR_RETURN(Inode dir, metadata_.GetInode(item->bin_dir));
  Caller root;
  root.uid = 0;
  root.gid = 0;
  Status removed =
      RemoveAs(root, {dir.id, dir.generation}, item->bin_name, nullptr, nullptr, false);
  if (removed.code() == Errc::kNotFound) return false;
  RETURN_IF_ERROR(removed);
  // RemoveAs forgets it when the bin is on; when not, it is forgotten here.
  RETURN_IF_ERROR(stores::RunTransaction(
      metadata_, [&](MetadataTxn& txn) -> Status { return ForgetTrash(txn, id); }));
  return true;
}

Result<uint64_t> Vfs::PurgeTrash() {
  const RecycleOptions& opts = options_.recycle;
  const Timespec now = Now();
  const uint64_t retention_ns = uint64_t{opts.retention_days} * 86400 * 1000000000;
  uint64_t dropped = 0;
  std::string from = "e";
  for (;;) {
    std::unique_ptr<MetadataTxn> txn = metadata_.Begin();
    ASSIGN_OR_RETURN(uint64_t total, ReadTotal(*txn));
    ASSIGN_OR_RETURN(std::vector<stores::Record> page,
                     txn->ScanRecords(RecordTable::kTrash, from, "f", kPurgeBatch));
    if (page.empty()) return dropped;
    for (const stores::Record& r : page) {
      if (r.key.size() != 17) continue;
      const uint64_t removed = LoadBe64(std::string_view(r.key).substr(1));
      const bool expired = opts.retention_days != 0 && removed + retention_ns < Nanos(now);
      const bool over = opts.max_bytes != 0 && total > opts.max_bytes;
      if (!expired && !over) return dropped;
      const InodeId id = LoadBe64(std::string_view(r.key).substr(9));
      Result<Item> item = DecodeItem(r.value);
      Result<bool> gone = DropTrash(id);
      if (!gone.ok()) {
        // An open that refuses deletion, say: it stays for the next purge.
        LOG_WARN("share {}: recycle bin: file {} not purged: {}", name_, id,
                 gone.status().ToString());
        continue;
      }
      if (*gone) dropped += 1;
      if (item.ok()) total -= std::min(total, item->size);
    }
    if (page.size() < kPurgeBatch) return dropped;
    from = page.back().key;
    from.push_back('\0');
  }
}

Result<uint64_t> Vfs::EmptyTrash() {
  uint64_t dropped = 0;
  Status first_failure;
  std::string from = "e";
  for (;;) {
    std::unique_ptr<MetadataTxn> txn = metadata_.Begin();
    ASSIGN_OR_RETURN(std::vector<stores::Record> page,
                     txn->ScanRecords(RecordTable::kTrash, from, "f", kPurgeBatch));
    for (const stores::Record& r : page) {
      Result<bool> gone = r.key.size() == 17 && DecodeItem(r.value).ok()
                              ? DropTrash(LoadBe64(std::string_view(r.key).substr(9)))
                              : Result<bool>(false);
      if (!gone.ok()) {
        if (first_failure.ok()) first_failure = gone.status();
        continue;
      }
      if (*gone) dropped += 1;
      // What DropTrash could not follow (a damaged entry) goes too.
      RETURN_IF_ERROR(stores::RunTransaction(metadata_, [&](MetadataTxn& t) -> Status {
        t.DeleteRecord(RecordTable::kTrash, r.key);
        return Status::Ok();
      }));
    }
    if (page.size() < kPurgeBatch) break;
    from = page.back().key;
    from.push_back('\0');
  }
  if (!first_failure.ok()) {
    return Status(first_failure.code(), fmt::format("recycle bin: {} files removed, others not: {}",
                                                    dropped, first_failure.ToString()));
  }
  // Nothing is indexed any more: the bin's size is none.
  RETURN_IF_ERROR(stores::RunTransaction(metadata_, [&](MetadataTxn& t) -> Status {
    WriteTotal(t, 0);
    return Status::Ok();
  }));
  return dropped;
}

void Vfs::MaybePurge(uint64_t bin_bytes) {
  const RecycleOptions& opts = options_.recycle;
  const bool over = opts.max_bytes != 0 && bin_bytes > opts.max_bytes;
  const int64_t now = MonotonicNanos();
  int64_t last = last_purge_.load(std::memory_order_relaxed);
  const bool due = opts.retention_days != 0 && now - last >= kPurgeEvery;
  if (!over && !due) return;
  if (!over && !last_purge_.compare_exchange_strong(last, now)) return;  // another one runs it
  last_purge_.store(now, std::memory_order_relaxed);
  Result<uint64_t> purged = PurgeTrash();
  if (!purged.ok()) {
    LOG_WARN("share {}: recycle bin purge failed: {}", name_, purged.status().ToString());
  }
}

Result<std::string> Vfs::RestoreTrash(uint64_t id, std::string_view to) {
  std::string where;
  Caller root;
  root.uid = 0;
  root.gid = 0;
  InodeId to_dir = stores::kInvalidInode, from_dir = stores::kInvalidInode;
  std::string to_name, from_name;
  Status s = stores::RunTransaction(metadata_, [&](MetadataTxn& txn) -> Status {
    Result<std::string> key = txn.GetRecord(RecordTable::kTrash, IndexKey(id));
    if (!key.ok()) {
      if (key.status().code() == Errc::kNotFound) {
        return Status(Errc::kNotFound, fmt::format("the recycle bin holds no file {}", id));
      }
      return key.status();
    }
    ASSIGN_OR_RETURN(std::string value, txn.GetRecord(RecordTable::kTrash, *key));
    ASSIGN_OR_RETURN(Item item, DecodeItem(value));
    ASSIGN_OR_RETURN(bool there, StillInBin(txn, id, item.bin_dir, item.bin_name));
    if (!there) {
      return Status(Errc::kNotFound, fmt::format("file {} is no longer in the recycle bin", id));
    }
    std::vector<std::string> parts = SplitPath(to.empty() ? std::string_view(item.path) : to);
    if (parts.empty()) return Status(Errc::kInvalid, "restore: no file name to restore to");
    if (parts.front() == kRecycleDir) {
      return Status(Errc::kInvalid, "restore: the target lies in the recycle bin");
    }
    for (const std::string& p : parts) {
      if (p == "." || p == "..") return Status(Errc::kInvalid, "restore: '.' or '..' in the path");
      RETURN_IF_ERROR(CheckName(p, options_.names));
    }
    const Timespec now = Now();
    // Down from the root, making the directories that are gone, like their copies in the bin
    // (or like the bin's own directory when it has none).
    ASSIGN_OR_RETURN(Inode dir, txn.GetInode(root_.inode));
    ASSIGN_OR_RETURN(Inode bin_walk_dir, txn.GetInode(item.bin_dir));
    std::vector<Inode> bin_chain;  // the bin's directories of the item, from the top down
    for (Inode w = bin_walk_dir; w.id != root_.inode && bin_chain.size() < 4096;) {
      bin_chain.push_back(w);
      ASSIGN_OR_RETURN(w, txn.GetInode(w.parent));
    }
    std::reverse(bin_chain.begin(), bin_chain.end());  // [#recycle, a, b, ...]
    for (size_t i = 0; i + 1 < parts.size(); ++i) {
      Result<stores::DirEntry> x = FindEntry(txn, dir.id, parts[i]);
      if (x.ok()) {
        ASSIGN_OR_RETURN(Inode next, txn.GetInode(x->child));
        if (!next.is_directory()) {
          return Status(Errc::kNotDir, fmt::format("restore: {} is not a directory", parts[i]));
        }
        dir = std::move(next);
        continue;
      }
      if (x.status().code() != Errc::kNotFound) return x.status();
      const Inode& like = i + 1 < bin_chain.size() ? bin_chain[i + 1] : bin_chain.back();
      ASSIGN_OR_RETURN(Inode made, MakeDirIn(txn, dir, parts[i], like, now));
      txn.PutInode(dir);
      dir = std::move(made);
    }
    Result<stores::DirEntry> taken = FindEntry(txn, dir.id, parts.back());
    if (taken.ok()) {
      return Status(Errc::kExists, fmt::format("restore: {} exists", parts.back()));
    }
    if (taken.status().code() != Errc::kNotFound) return taken.status();
    ASSIGN_OR_RETURN(Inode file, txn.GetInode(id));
    // The bin's directory may be one just read as `dir` only if the target is in the bin,
    // which is refused above.
    ASSIGN_OR_RETURN(Inode bin_dir, txn.GetInode(item.bin_dir));
    txn.DeleteEntry(bin_dir.id, item.bin_name);
    bin_dir.mtime = bin_dir.ctime = now;
    txn.PutInode(bin_dir);
    txn.PutEntry(dir.id, {parts.back(), id, dir.next_cookie});
    dir.next_cookie += 1;
    dir.mtime = dir.ctime = now;
    txn.PutInode(dir);
    file.ctime = now;
    txn.PutInode(file);
    RETURN_IF_ERROR(ForgetTrash(txn, id));
    where.clear();
    for (const std::string& p : parts) where += "/" + p;
    to_dir = dir.id;
    to_name = parts.back();
    from_dir = bin_dir.id;
    from_name = item.bin_name;
    return Status::Ok();
  });
  RETURN_IF_ERROR(s);
  state_->DirectoryChanged(from_dir, kAnonymousOwner);
  state_->DirectoryChanged(to_dir, kAnonymousOwner);
  Publish(from_dir, ChangeAction::kRemoved, changed::kFileName, from_name);
  Publish(to_dir, ChangeAction::kAdded, changed::kFileName, to_name);
  return where;
}

}  // namespace dittofs::core

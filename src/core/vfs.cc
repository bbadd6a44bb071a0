// SPDX-License-Identifier: Apache-2.0
#include "core/vfs.h"

#include <algorithm>
#include <chrono>
#include <functional>

#include "base/clock.h"
#include "base/log.h"
#include "core/acl/acl.h"
#include "core/snapshot.h"
#include "core/vfs_internal.h"
#include "metrics/metrics.h"
#include "trace/trace.h"

namespace dittofs::core {
namespace {

using namespace internal;  // NOLINT: the constants both halves of the Vfs share

using stores::Inode;
using stores::MetadataTxn;

constexpr uint32_t kSuid = 04000;
constexpr uint32_t kSgid = 02000;
constexpr uint32_t kSticky = 01000;
constexpr uint64_t kMaxFileSize = (uint64_t{1} << 63) - 1;
constexpr size_t kMaxSymlinkTarget = 4096;

PreAttr Pre(const Inode& inode) { return {inode.size, inode.mtime, inode.ctime}; }

bool IsDotOrDotDot(std::string_view name) { return name == "." || name == ".."; }

// MS-FSA: an object with FILE_ATTRIBUTE_READONLY may be neither written nor deleted, whoever
// asks (the attribute must be cleared first); the rule holds for every protocol.
bool DosReadOnly(const Inode& inode) { return (inode.dos_attributes & kDosReadOnly) != 0; }
Status ReadOnlyRefusal(std::string_view what) {
  return Status(Errc::kAccess, fmt::format("{}: the object has the read-only DOS attribute", what));
}

// Objects of a snapshot (core/snapshot.h) change for no one.
bool InSnapshot(const Inode& inode) { return (inode.flags & stores::kInodeInSnapshot) != 0; }
Status SnapshotRefusal() { return Status(Errc::kReadOnly, "snapshots are read-only"); }

// Whether `object` (and `other`, when given) may change at all: not on a read-only share, and
// not when it belongs to a snapshot, whoever asks. Errc::kReadOnly otherwise.
Status Changeable(const ShareOptions& options, const Inode& object, const Inode* other = nullptr) {
  if (options.read_only) return Errc::kReadOnly;
  if (InSnapshot(object) || (other != nullptr && InSnapshot(*other))) return SnapshotRefusal();
  return Status::Ok();
}

// The change info of a directory whose change counter was `before` when a transaction that
// changed it read it: the store makes it exactly one more at the commit (Inode::version).
ChangeInfo ChangedFrom(uint64_t before) { return {before, before + 1, true}; }

// The sticky-directory rule: in a sticky directory only the owner of the entry, the owner of the
// directory, or root may remove or rename it.
bool StickyAllows(const Caller& caller, const Inode& dir, const Inode& victim) {
  if (!(dir.mode & kSticky) || caller.is_root()) return true;
  return caller.uid == dir.uid || caller.uid == victim.uid;
}

}  // namespace

namespace {

AclSubject SubjectOf(const Caller& caller) {
  AclSubject subject{caller.uid, caller.gid, caller.groups};
  subject.authenticated = !caller.anonymous();
  return subject;
}

// The access bits that stand for the rwx bits `want` asks of `inode` when no finer bits were
// given: r is READ_DATA (LIST_DIRECTORY), w WRITE_DATA (ADD_FILE), x EXECUTE.
uint32_t AclMaskOf(uint32_t want) {
  return ((want & 4) ? kAceReadData : 0) | ((want & 2) ? kAceWriteData : 0) |
         ((want & 1) ? kAceExecute : 0);
}

// Whether `caller` has the ACL bits `mask` on `inode`, which has an ACL. Evaluated on the
// stored bytes in place; a damaged stored ACL allows no more than the implied bits.
uint32_t AclAllowedBits(const Caller& caller, const Inode& inode, uint32_t mask) {
  return StoredAclAllowed(inode.acl, SubjectOf(caller), AclOwner{inode.uid, inode.gid}, mask);
}
bool AclAllows(const Caller& caller, const Inode& inode, uint32_t mask) {
  return AclAllowedBits(caller, inode, mask) == mask;
}

}  // namespace

// Whether `caller` may do what the rwx bits `want` stand for on `inode`: by its ACL when it has
// one (the bits `acl_mask`, or those `want` stands for when 0), else by its mode bits. Root
// may do anything but execute what nothing makes executable.
bool MayAccess(const Caller& caller, const Inode& inode, uint32_t want, uint32_t acl_mask) {
  if (caller.is_root()) {
    if (!(want & 1)) return true;
    return inode.is_directory() || (inode.mode & 0111) != 0 || !inode.acl.empty();
  }
  if (!inode.acl.empty())
    return AclAllows(caller, inode, acl_mask != 0 ? acl_mask : AclMaskOf(want));
  uint32_t bits;
  if (caller.uid == inode.uid) {
    bits = (inode.mode >> 6) & 7;
  } else if (caller.InGroup(inode.gid)) {
    bits = (inode.mode >> 3) & 7;
  } else {
    bits = inode.mode & 7;
  }
  return (bits & want) == want;
}

namespace {

// RFC 8881 §6.2.1.3.2: whether `caller` may remove `victim` from `dir`: it may search `dir`,
// and either `dir` allows removing its entries (DELETE_CHILD; w by mode bits) or `victim`'s own
// ACL allows deleting it (DELETE).
bool MayRemove(const Caller& caller, const Inode& dir, const Inode& victim) {
  if (!MayAccess(caller, dir, 1)) return false;
  if (MayAccess(caller, dir, 2, kAceDeleteChild)) return true;
  return !caller.is_root() && !victim.acl.empty() && AclAllows(caller, victim, kAceDelete);
}

// The bits an entry of type `type` takes to add to a directory with an ACL.
uint32_t AddMask(FileType type) {
  return kAceExecute | (type == FileType::kDirectory ? kAceAppendData : kAceWriteData);
}

// Whether `caller` may open `inode` for `access` (OpenAccessBits). An ACL decides every bit
// asked for but DELETE, which the removal decides (the directory's DELETE_CHILD may allow it
// where the file's ACL does not). Without one the mode bits decide reading, writing and
// executing, and the owner may always open its file (a local open survives a chmod, too).
bool MayOpenFor(const Caller& caller, const Inode& inode, uint32_t access) {
  if (!inode.acl.empty() && !caller.is_root()) {
    const uint32_t asked = access & kAceAllAccess & ~kDeleteAccess;
    return asked == 0 || AclAllows(caller, inode, asked);
  }
  const uint32_t want = ((access & (kReadData | kReadEa)) != 0 ? 4 : 0) |
                        ((access & (kWriteData | kAppendData)) != 0 ? 2 : 0) |
                        ((access & kExecute) != 0 ? 1 : 0);
  return want == 0 || caller.uid == inode.uid || MayAccess(caller, inode, want);
}

}  // namespace

Status CheckName(std::string_view name, const NameRules& rules) {
  if (name.empty()) return Status(Errc::kInvalid, "empty name");
  if (name.size() > rules.max_bytes) return Errc::kNameTooLong;
  for (char c : name) {
    if (c == '/' || c == '\0') return Status(Errc::kInvalid, "name holds '/' or NUL");
    if (rules.refuse_control_chars && static_cast<uint8_t>(c) < 0x20) {
      return Status(Errc::kInvalid, "name holds a control character");
    }
    if (rules.refused_chars.find(c) != std::string_view::npos) {
      return Status(Errc::kInvalid, fmt::format("name holds '{}', which the share refuses", c));
    }
  }
  return Status::Ok();
}

Vfs::Vfs(ShareId id, std::string name, stores::MetadataStore& metadata, stores::BlockStore& blocks,
         ShareOptions options)
    : id_(id),
      name_(std::move(name)),
      // Per share: one series each, made once, that every Vfs generation of the share shares.
      block_read_(metrics::Default().GetHistogram("dittofs_block_read_duration_seconds",
                                                  "How long block stores took to read file data.",
                                                  {{"share", name_}})),
      block_write_(metrics::Default().GetHistogram("dittofs_block_write_duration_seconds",
                                                   "How long block stores took to write file data.",
                                                   {{"share", name_}})),
      metadata_(metadata),
      blocks_(blocks),
      options_(std::move(options)) {}

Result<std::unique_ptr<Vfs>> Vfs::Open(ShareId id, std::string name, stores::MetadataStore& store,
                                       stores::BlockStore& blocks, ShareOptions options,
                                       ShareState* state, ShareQuotas* quotas) {
  ShareQuotas own_quotas;
  if (quotas == nullptr) {
    ASSIGN_OR_RETURN(own_quotas, ShareQuotas::Open(store));
    quotas = &own_quotas;
  }
  std::unique_ptr<Vfs> vfs(new Vfs(id, std::move(name), *quotas->counting, blocks, options));
  vfs->quotas_ = quotas->table.get();
  if (own_quotas.table) vfs->own_quotas_ = std::make_unique<ShareQuotas>(std::move(own_quotas));
  if (state == nullptr) {
    vfs->own_state_ = std::make_unique<ShareState>();
    state = vfs->own_state_.get();
  }
  vfs->state_ = state;
  stores::MetadataStore& metadata = vfs->metadata_;  // counted from here on
  InodeId root = metadata.root();
  if (root == stores::kInvalidInode) {
    ASSIGN_OR_RETURN(root, metadata.AllocateInodeId());
    Inode r;
    r.id = root;
    r.generation = metadata.NextGeneration(root);
    r.type = FileType::kDirectory;
    r.mode = options.root_mode & kModeMask;
    r.uid = options.root_uid;
    r.gid = options.root_gid;
    r.nlink = 2;
    r.atime = r.mtime = r.ctime = r.btime = Now();
    r.parent = root;
    r.next_cookie = kFirstCookie;
    RETURN_IF_ERROR(stores::RunTransaction(metadata, [&](MetadataTxn& txn) {
      txn.PutInode(r);
      return Status::Ok();
    }));
    RETURN_IF_ERROR(metadata.SetRoot(root));
  }
  ASSIGN_OR_RETURN(Inode r, metadata.GetInode(root));
  vfs->root_ = {r.id, r.generation};
  return vfs;
}

namespace {
// A pending cut's record key (RecordTable::kPendingCuts): the file's inode, then a number that
// tells this cut from the file's other cuts, both big-endian. The value is empty: the cut to
// finish is always at the file's size of the moment.
std::string PendingCutKey(InodeId inode, uint64_t cut) {
  std::string key(16, '\0');
  StoreBe64(reinterpret_cast<std::byte*>(key.data()), inode);
  StoreBe64(reinterpret_cast<std::byte*>(key.data()) + 8, cut);
  return key;
}
}  // namespace

namespace {
// Takes `table`'s records in batches of up to 1000 and hands each batch to `handle`, which
// must delete them. Returns how many records it handled.
Result<size_t> DrainRecords(
    stores::MetadataStore& metadata, stores::RecordTable table,
    const std::function<Status(const std::vector<stores::Record>&)>& handle) {
  size_t handled = 0;
  for (;;) {
    std::vector<stores::Record> batch;
    {
      std::unique_ptr<MetadataTxn> txn = metadata.Begin();
      ASSIGN_OR_RETURN(batch, txn->ScanRecords(table, "", "", 1000));
    }
    if (batch.empty()) return handled;
    RETURN_IF_ERROR(handle(batch));
    handled += batch.size();
  }
}
}  // namespace

Status Vfs::FinishPendingCuts(std::string_view share, stores::MetadataStore& metadata,
                              stores::BlockStore& blocks) {
  // A shrinking SETATTR commits the new size, then cuts the data and makes the cut durable.
  // A crash in between leaves bytes past the end of the file, which a later extension would
  // show (and a tiered store may have cut its remote copy but not its journal's). Cutting at
  // the size the file has now is right whether or not the cut was made, and even if the file
  // grew again after it: nothing past the end of a file is ever kept.
  auto finish = [&](const std::vector<stores::Record>& cuts) -> Status {
    for (const stores::Record& cut : cuts) {
      if (cut.key.size() < 8) continue;  // not a cut; dropped below
      const InodeId inode = LoadBe64(reinterpret_cast<const std::byte*>(cut.key.data()));
      Result<Inode> file = metadata.GetInode(inode);
      if (file.ok()) {
        RETURN_IF_ERROR(blocks.Truncate(inode, file->size));
      } else if (file.status().code() == Errc::kNotFound) {
        RETURN_IF_ERROR(blocks.Remove(inode));  // removed since: its data goes too
      } else {
        return file.status();
      }
      RETURN_IF_ERROR(blocks.Sync(inode));
    }
    return stores::RunTransaction(metadata, [&](MetadataTxn& txn) {
      for (const stores::Record& cut : cuts) {
        txn.DeleteRecord(stores::RecordTable::kPendingCuts, cut.key);
      }
      return Status::Ok();
    });
  };
  ASSIGN_OR_RETURN(size_t finished,
                   DrainRecords(metadata, stores::RecordTable::kPendingCuts, finish));
  if (finished > 0) {
    LOG_INFO("share {}: finished {} cuts of file data that a crash had interrupted", share,
             finished);
  }
  // A write stores its data, then commits the file's new size: a crash in between leaves bytes
  // past the end, never acknowledged, which a later extension would show. The block store lists
  // the files it holds lately written data of; those that reach past their size are cut.
  ASSIGN_OR_RETURN(std::vector<stores::BlockStore::DataEnd> ends, blocks.RecentDataEnds());
  size_t cut = 0;
  for (const stores::BlockStore::DataEnd& data : ends) {
    Result<Inode> file = metadata.GetInode(data.file);
    if (file.ok()) {
      if (data.end <= file->size) continue;
      RETURN_IF_ERROR(blocks.Truncate(data.file, file->size));
    } else if (file.status().code() == Errc::kNotFound) {
      RETURN_IF_ERROR(blocks.Remove(data.file));  // removed, but its data stayed
    } else {
      return file.status();
    }
    RETURN_IF_ERROR(blocks.Sync(data.file));
    ++cut;
  }
  if (cut > 0) {
    LOG_INFO("share {}: cut the data past the end of {} files (writes whose size a crash lost)",
             share, cut);
  }
  return Status::Ok();
}

Caller Vfs::Effective(const Caller& caller) const {
  Caller c;
  c.client_address = caller.client_address;
  // A caller without an identity is the share's anonymous one, under every squash mode but
  // all_to_admin.
  if (caller.anonymous() && options_.squash != Squash::kAllToAdmin) {
    c.uid = options_.anon_uid;
    c.gid = options_.anon_gid;
    return c;
  }
  switch (options_.squash) {
    case Squash::kNone:
    case Squash::kRootToAdmin:
      return caller;
    case Squash::kRootToGuest: {
      // As knfsd's root_squash: uid 0 and gid 0, primary or supplementary, become the
      // anonymous ids; every other id stays.
      auto squash_gid = [&](uint32_t gid) { return gid == 0 ? options_.anon_gid : gid; };
      c.uid = caller.uid == 0 ? options_.anon_uid : caller.uid;
      c.gid = squash_gid(caller.gid);
      c.groups.reserve(caller.groups.size());
      for (uint32_t g : caller.groups) c.groups.push_back(squash_gid(g));
      return c;
    }
    case Squash::kAllToGuest:
      // Everyone is the anonymous identity, without supplementary groups.
      c.uid = options_.anon_uid;
      c.gid = options_.anon_gid;
      return c;
    case Squash::kAllToAdmin:
      c.uid = 0;
      c.gid = 0;
      return c;
  }
  return c;
}

Status Vfs::Admit(const Caller& caller, bool mutating) const {
  const SharePolicy& p = options_.policy;
  if (!p.ClientAllowed(caller.client_address)) {
    return Status(Errc::kAccess, "client " + caller.client_address + " may not use " + name_);
  }
  // Users are known by the uid they present (before squashing).
  Permission level = p.PermissionOf(caller.uid);
  if (level == Permission::kNone) return Status(Errc::kAccess, "no permission on " + name_);
  if (mutating && level < Permission::kReadWrite) {
    return Status(Errc::kAccess, "read-only permission on " + name_);
  }
  return Status::Ok();
}

Result<Inode> Vfs::Load(FileId file) {
  Result<Inode> inode = metadata_.GetInode(file.inode);
  if (!inode.ok()) {
    if (inode.status().code() == Errc::kNotFound) return Errc::kStale;
    return inode.status();
  }
  if (inode->generation != file.generation) return Errc::kStale;
  // A file without a name is gone, unless opens still hold it (an orphan): then it serves
  // them, and, as knfsd does for an unlinked file still open, handles to it.
  if (inode->nlink == 0 && state_->opens.open_count(file.inode) == 0) return Errc::kStale;
  return inode;
}

Result<Inode> Vfs::LoadIn(MetadataTxn& txn, FileId file) {
  Result<Inode> inode = txn.GetInode(file.inode);
  if (!inode.ok()) {
    if (inode.status().code() == Errc::kNotFound) return Errc::kStale;
    return inode.status();
  }
  if (inode->generation != file.generation) return Errc::kStale;
  return inode;
}

Attr Vfs::ToAttr(const Inode& i) const {
  Attr a;
  a.id = {i.id, i.generation};
  a.share = id_;
  a.type = i.type;
  a.mode = i.mode & kModeMask;
  a.nlink = i.nlink;
  a.uid = i.uid;
  a.gid = i.gid;
  switch (i.type) {
    case FileType::kRegular:
      a.size = i.size;
      break;
    case FileType::kDirectory:
      a.size = 4096;
      break;
    case FileType::kSymlink:
      a.size = i.symlink_target.size();
      break;
    default:
      a.size = 0;
  }
  a.used = (a.size + 4095) & ~uint64_t{4095};
  if (i.type == FileType::kRegular && (i.dos_attributes & kDosSparse) && i.size > 0) {
    // A sparse file (punched, or marked so over SMB) counts the data it holds, as du expects;
    // past kMaxUsedExtents extents the rest counts as full.
    constexpr size_t kMaxUsedExtents = 4096;
    Result<std::vector<stores::BlockStore::Extent>> extents =
        blocks_.DataExtents(i.id, 0, i.size, kMaxUsedExtents);
    if (extents.ok()) {
      uint64_t used = 0;
      for (const auto& e : *extents) {
        used += ((e.offset + e.length + 4095) & ~uint64_t{4095}) - (e.offset & ~uint64_t{4095});
      }
      if (extents->size() == kMaxUsedExtents)
        used += i.size - (extents->back().offset + extents->back().length);
      a.used = std::min(used, a.used);
    }
  }
  a.rdev_major = i.rdev_major;
  a.rdev_minor = i.rdev_minor;
  a.atime = i.atime;
  a.mtime = i.mtime;
  a.ctime = i.ctime;
  a.btime = i.btime;
  a.change = i.version;
  a.dos_attributes = i.dos_attributes;
  return a;
}

void Vfs::FillWcc(FileId file, const std::optional<PreAttr>& before, Wcc* wcc) {
  if (!wcc) return;
  wcc->before = before;
  Result<Inode> after = metadata_.GetInode(file.inode);
  if (after.ok() && after->generation == file.generation) wcc->after = ToAttr(*after);
}

Result<Attr> Vfs::Resolve(FileId file) {
  ASSIGN_OR_RETURN(Inode inode, Load(file));
  return ToAttr(inode);
}

Result<Attr> Vfs::GetAttr(const Caller& caller, FileId file) {
  RETURN_IF_ERROR(Admit(caller, false));
  return Resolve(file);
}

Status Vfs::SetAttr(const Caller& raw_caller, FileId file, const SetAttrs& attrs,
                    const Timespec* guard_ctime, Wcc* wcc, const OpenContext* via) {
  RETURN_IF_ERROR(Admit(raw_caller, true));
  Caller caller = Effective(raw_caller);
  std::optional<PreAttr> before;
  bool truncate = false;
  bool shrink = false;
  uint64_t new_size = 0;
  const std::string cut_key = PendingCutKey(file.inode, next_cut_.fetch_add(1));
  Status s = stores::RunTransaction(metadata_, [&](MetadataTxn& txn) -> Status {
    ASSIGN_OR_RETURN(Inode inode, LoadIn(txn, file));
    before = Pre(inode);
    if (guard_ctime && inode.ctime != *guard_ctime) return Errc::kNotSync;
    RETURN_IF_ERROR(Changeable(options_, inode));
    bool owner = caller.is_root() || caller.uid == inode.uid;
    Timespec now = Now();
    bool changed = false;

    truncate = shrink = false;  // (a retried transaction starts over)
    if (attrs.has(kSetSize)) {
      if (inode.type == FileType::kDirectory) return Errc::kIsDir;
      if (inode.type != FileType::kRegular) return Errc::kInvalid;
      if (DosReadOnly(inode)) return ReadOnlyRefusal("set size");
      // Owners may truncate their own files whatever the mode (as a local open did).
      if (!owner && !MayAccess(caller, inode, 2)) return Errc::kAccess;
      if (attrs.size > kMaxFileSize) return Errc::kTooBig;
      RETURN_IF_ERROR(state_->Check(inode.id, kWriteData, CacheOp::kSetSize, 0, 0, via));
      if (attrs.size > inode.size) {
        RETURN_IF_ERROR(quotas_->Check(inode.uid, inode.gid, attrs.size - inode.size, 0));
      }
      if (attrs.size != inode.size) {
        truncate = true;
        shrink = attrs.size < inode.size;
        new_size = attrs.size;
        // Committed with the size: should the cut below not become durable, the next open
        // makes it (FinishPendingCuts).
        if (shrink) txn.PutRecord(stores::RecordTable::kPendingCuts, cut_key, "");
        inode.size = attrs.size;
        inode.mtime = now;
        inode.dos_attributes |= kDosArchive;  // MS-FSA: a modified file is marked for backup
        if (!caller.is_root()) inode.mode &= ~kSuid;
      }
      changed = true;
    }
    if (attrs.has(kSetUid | kSetGid)) {
      const bool set_uid = attrs.has(kSetUid);
      const bool set_gid = attrs.has(kSetGid);
      bool uid_change = set_uid && attrs.uid != inode.uid;
      bool gid_change = set_gid && attrs.gid != inode.gid;
      // POSIX chown: only root gives a file away; the owner may "change" the owner to itself,
      // and the group to its current one or one of the owner's own groups. Anyone else gets
      // EPERM even for a change that changes nothing (as Linux does: pjdfstest chown/07).
      if (set_uid && !caller.is_root() && (uid_change || !owner)) return Errc::kPerm;
      if (set_gid && !caller.is_root() && (!owner || (gid_change && !caller.InGroup(attrs.gid)))) {
        return Errc::kPerm;
      }
      // The new owner and group take the file on within their quotas; root may give it over
      // them (as a restore must).
      const uint64_t bytes = inode.type == FileType::kRegular ? inode.size : 0;
      if (uid_change && !caller.is_root()) {
        RETURN_IF_ERROR(quotas_->CheckOne(QuotaKind::kUser, attrs.uid, bytes, 1));
      }
      if (gid_change && !caller.is_root()) {
        RETURN_IF_ERROR(quotas_->CheckOne(QuotaKind::kGroup, attrs.gid, bytes, 1));
      }
      if (set_uid) inode.uid = attrs.uid;
      if (set_gid) inode.gid = attrs.gid;
      if ((uid_change || gid_change) && !caller.is_root() && !inode.is_directory()) {
        inode.mode &= ~(kSuid | kSgid);
      }
      changed = true;
    }
    if (attrs.has(kSetMode)) {
      // The owner may chmod; so may whoever the file's ACL lets change it (WRITE_ACL).
      if (!owner && (inode.acl.empty() || !AclAllows(caller, inode, kAceWriteAcl))) {
        return Errc::kPerm;
      }
      uint32_t mode = attrs.mode & kModeMask;
      // A non-root owner who is not in the file's group cannot set its setgid bit.
      if (!caller.is_root() && !inode.is_directory() && !caller.InGroup(inode.gid)) {
        mode &= ~kSgid;
      }
      inode.mode = mode;
      if (!inode.acl.empty()) {
        // RFC 8881 §6.4.1.1: the ACL is rewritten to say the new mode (docs/acl.md).
        ASSIGN_OR_RETURN(Acl acl, DecodeAcl(inode.acl));
        const Acl now_acl = AclWithMode(acl, mode, inode.is_directory());
        inode.acl = AclIsMode(now_acl, inode.is_directory()) ? std::string() : EncodeAcl(now_acl);
      }
      changed = true;
    }
    for (int which = 0; which < 2; ++which) {
      const bool to_now = attrs.has(which == 0 ? kSetAtimeNow : kSetMtimeNow);
      if (!to_now && !attrs.has(which == 0 ? kSetAtime : kSetMtime)) continue;
      // Setting a time to "now" needs ownership or write permission; any other time, ownership.
      if (!owner && (!to_now || !MayAccess(caller, inode, 2, kAceWriteAttributes))) {
        return to_now ? Errc::kAccess : Errc::kPerm;
      }
      Timespec t = to_now ? now : (which == 0 ? attrs.atime : attrs.mtime);
      (which == 0 ? inode.atime : inode.mtime) = t;
      changed = true;
    }
    // The birth and change times, which only SMB sets, are the owner's to set (as other
    // explicit times are).
    if (attrs.has(kSetBtime | kSetCtime) && !owner) return Errc::kPerm;
    if (attrs.has(kSetBtime)) {
      inode.btime = attrs.btime;
      changed = true;
    }
    if (attrs.has(kSetDosAttributes)) {
      // As FILE_WRITE_ATTRIBUTES: the owner, or whoever may write the object.
      if (!owner && !MayAccess(caller, inode, 2, kAceWriteAttributes)) return Errc::kAccess;
      // MS-FSA 2.1.5.14.2: the directory bit is not for files; the bits not kept are dropped.
      if ((attrs.dos_attributes & kDosDirectory) && !inode.is_directory()) {
        return Status(Errc::kInvalid, "set attributes: the directory bit on a non-directory");
      }
      inode.dos_attributes = attrs.dos_attributes & kDosKept;
      changed = true;
    }
    if (changed || attrs.has(kSetCtime)) {
      inode.ctime = attrs.has(kSetCtime) ? attrs.ctime : now;
      txn.PutInode(inode);
    }
    return Status::Ok();
  });
  if (s.ok() && truncate) s = blocks_.Truncate(file.inode, new_size);
  // The new size is durable (the transaction), so the cut must be too: otherwise a crash could
  // bring the cut bytes back, to show through when the file grows again.
  if (s.ok() && shrink) s = blocks_.Sync(file.inode);
  if (s.ok() && shrink) {
    // Done: the pending cut can go. Lazily: a lost deletion only makes the next open cut the
    // file at its size again, which changes nothing.
    Status forget = stores::RunTransaction(
        metadata_,
        [&](MetadataTxn& txn) {
          txn.DeleteRecord(stores::RecordTable::kPendingCuts, cut_key);
          return Status::Ok();
        },
        stores::Durability::kLazy);
    if (!forget.ok()) {
      LOG_WARN("share {}: forgetting a finished cut of file {}: {}", name_, file.inode,
               forget.ToString());
    }
  }
  FillWcc(file, before, wcc);
  return s;
}

Result<stores::DirEntry> Vfs::FindEntry(MetadataTxn& txn, InodeId dir,
                                        std::string_view name) const {
  return FindEntry(txn, dir, name, options_.names.case_insensitive);
}

Result<stores::DirEntry> Vfs::FindEntry(MetadataTxn& txn, InodeId dir, std::string_view name,
                                        bool any_case) const {
  Result<stores::DirEntry> e = txn.Lookup(dir, name);
  if (e.ok() || e.status().code() != Errc::kNotFound || !any_case) return e;
  ASSIGN_OR_RETURN(std::vector<stores::DirEntry> folded, txn.LookupFolded(dir, name));
  if (folded.empty()) return Errc::kNotFound;
  return std::move(folded.front());
}

Result<Attr> Vfs::Lookup(const Caller& raw_caller, FileId dir, std::string_view name,
                         std::optional<Attr>* dir_attr) {
  RETURN_IF_ERROR(Admit(raw_caller, false));
  Caller caller = Effective(raw_caller);
  ASSIGN_OR_RETURN(Inode d, Load(dir));
  if (dir_attr) *dir_attr = ToAttr(d);
  if (!d.is_directory()) return Errc::kNotDir;
  if (!MayAccess(caller, d, 1)) return Errc::kAccess;
  if (name == ".") return ToAttr(d);
  if (name == "..") {
    ASSIGN_OR_RETURN(Inode p, metadata_.GetInode(d.parent));
    return ToAttr(p);
  }
  RETURN_IF_ERROR(CheckName(name, options_.names));
  std::unique_ptr<MetadataTxn> txn = metadata_.Begin();
  if (d.id == metadata_.root() && name == kSnapshotDirName) return SnapshotDirAttr(*txn);
  ASSIGN_OR_RETURN(stores::DirEntry e, FindEntry(*txn, d.id, name));
  Result<Inode> child = metadata_.GetInode(e.child);
  if (!child.ok()) {
    // Removed between the two reads: as if the entry were already gone.
    return child.status().code() == Errc::kNotFound ? Status(Errc::kNotFound) : child.status();
  }
  return ToAttr(*child);
}

Result<std::vector<Vfs::SnapshotView>> Vfs::Snapshots(const Caller& caller) {
  RETURN_IF_ERROR(Admit(caller, false));
  ASSIGN_OR_RETURN(std::vector<SnapshotInfo> all, ListSnapshots(metadata_));
  std::vector<SnapshotView> ready;
  for (const SnapshotInfo& s : all) {
    if (s.state == SnapshotState::kReady) {
      ready.push_back({s.name, s.created, FileId{s.root, s.root_generation}});
    }
  }
  std::sort(ready.begin(), ready.end(),
            [](const SnapshotView& a, const SnapshotView& b) { return a.created < b.created; });
  return ready;
}

Result<Attr> Vfs::SnapshotDirAttr(MetadataTxn& txn) {
  ASSIGN_OR_RETURN(InodeId id, SnapshotDir(txn));
  if (id == stores::kInvalidInode) return Errc::kNotFound;  // the share never had a snapshot
  ASSIGN_OR_RETURN(Inode dir, metadata_.GetInode(id));
  return ToAttr(dir);
}

Result<Attr> Vfs::LookupAnyCase(const Caller& raw_caller, FileId dir, std::string_view name,
                                std::string* entry_name) {
  RETURN_IF_ERROR(Admit(raw_caller, false));
  Caller caller = Effective(raw_caller);
  ASSIGN_OR_RETURN(Inode d, Load(dir));
  if (!d.is_directory()) return Errc::kNotDir;
  if (!MayAccess(caller, d, 1)) return Errc::kAccess;
  if (name == "." || name == "..") return Errc::kInvalid;
  RETURN_IF_ERROR(CheckName(name, options_.names));
  std::unique_ptr<MetadataTxn> txn = metadata_.Begin();
  if (d.id == metadata_.root() && name == kSnapshotDirName) {
    if (entry_name != nullptr) *entry_name = std::string(kSnapshotDirName);
    return SnapshotDirAttr(*txn);
  }
  ASSIGN_OR_RETURN(stores::DirEntry e, FindEntry(*txn, d.id, name, true));
  Result<Inode> child = metadata_.GetInode(e.child);
  if (!child.ok()) {
    return child.status().code() == Errc::kNotFound ? Status(Errc::kNotFound) : child.status();
  }
  if (entry_name != nullptr) *entry_name = e.name;
  return ToAttr(*child);
}

Result<uint32_t> Vfs::Access(const Caller& raw_caller, FileId file, uint32_t requested,
                             Attr* attr) {
  RETURN_IF_ERROR(Admit(raw_caller, false));
  Caller caller = Effective(raw_caller);
  ASSIGN_OR_RETURN(Inode inode, Load(file));
  if (attr) *attr = ToAttr(inode);
  uint32_t granted = 0;
  if (MayAccess(caller, inode, 4)) granted |= kAccessRead;
  bool may_change = !options_.read_only && !InSnapshot(inode) &&
                    options_.policy.PermissionOf(raw_caller.uid) >= Permission::kReadWrite;
  if (MayAccess(caller, inode, 2) && may_change) {
    granted |= kAccessModify | kAccessExtend;
    if (inode.is_directory()) granted |= kAccessDelete;
  }
  if (MayAccess(caller, inode, 1)) {
    granted |= inode.is_directory() ? kAccessLookup : kAccessExecute;
  }
  return granted & requested;
}

Result<std::string> Vfs::ReadLink(const Caller& caller, FileId file, Attr* attr) {
  RETURN_IF_ERROR(Admit(caller, false));
  ASSIGN_OR_RETURN(Inode inode, Load(file));
  if (attr) *attr = ToAttr(inode);
  if (inode.type != FileType::kSymlink) return Errc::kInvalid;
  return inode.symlink_target;
}

Result<ReadResult> Vfs::Read(const Caller& raw_caller, FileId file, uint64_t offset, uint32_t count,
                             const OpenContext* via) {
  RETURN_IF_ERROR(Admit(raw_caller, false));
  Caller caller = Effective(raw_caller);
  ASSIGN_OR_RETURN(Inode inode, Load(file));
  if (inode.is_directory()) return Errc::kIsDir;
  if (inode.type != FileType::kRegular) return Errc::kInvalid;
  // The owner may read their file whatever its mode: a local process that opened it before a
  // chmod keeps reading, and NFS has no opens to remember that.
  if (caller.uid != inode.uid && !MayAccess(caller, inode, 4)) return Errc::kAccess;
  RETURN_IF_ERROR(state_->Check(file.inode, kReadData, CacheOp::kRead, offset, count, via));
  ReadResult r;
  uint64_t n = 0;
  if (offset < inode.size) {
    n = std::min<uint64_t>(count, inode.size - offset);
    trace::Span span = trace::Span::Child("block.read");
    span.SetAttribute("dittofs.inode", file.inode);
    span.SetAttribute("dittofs.offset", offset);
    span.SetAttribute("dittofs.length", n);
    const auto started = std::chrono::steady_clock::now();
    Result<stores::BlockRead> read = blocks_.ReadRange(file.inode, offset, n);
    block_read_->Observe(std::chrono::steady_clock::now() - started);
    if (!read.ok()) span.SetError(read.status().ToString());
    ASSIGN_OR_RETURN(r.data, std::move(read));
  }
  r.eof = offset + n >= inode.size;
  // relatime: atime moves only when it is older than the last change, or a day old.
  Timespec now = Now();
  if (!options_.read_only && !InSnapshot(inode) &&
      (inode.atime <= inode.mtime || inode.atime.sec + 86400 < now.sec)) {
    Status s = stores::RunTransaction(
        metadata_,
        [&](MetadataTxn& txn) -> Status {
          ASSIGN_OR_RETURN(Inode cur, LoadIn(txn, file));
          cur.atime = now;
          txn.PutInode(cur, stores::Counted::kNo);  // an access time is no change
          inode = cur;
          return Status::Ok();
        },
        stores::Durability::kLazy);  // an atime is not worth a disk flush per read
    if (!s.ok()) LOG_DEBUG("read: atime update of inode {} failed: {}", file.inode, s.ToString());
  }
  r.attr = ToAttr(inode);
  return r;
}

Result<WriteResult> Vfs::Write(const Caller& raw_caller, FileId file, uint64_t offset,
                               ByteView data, Stability stability, Wcc* wcc,
                               const OpenContext* via) {
  RETURN_IF_ERROR(Admit(raw_caller, true));
  Caller caller = Effective(raw_caller);
  std::optional<PreAttr> before;
  ASSIGN_OR_RETURN(Inode inode, Load(file));
  before = Pre(inode);
  Status s = MayWriteRange(caller, inode, offset, data.size(), via, "write");
  if (!s.ok()) {
    FillWcc(file, before, wcc);
    return s;
  }
  if (data.empty()) {
    // RFC 1813 §3.3.7, RFC 7530 §16.36.4, MS-FSA §2.1.5.3: a write of no bytes succeeds once
    // the checks pass, and changes nothing (not even the times).
    FillWcc(file, before, wcc);
    return WriteResult{0, Stability::kFileSync};
  }
  // What the write adds to the file is held against its owner's, group's and the share's
  // quotas before a byte is stored: a write refused for quota changes nothing.
  QuotaTable::Reservation held;
  if (const uint64_t end = offset + data.size(); end > inode.size) {
    Result<QuotaTable::Reservation> r = quotas_->Reserve(inode.uid, inode.gid, end - inode.size);
    if (!r.ok()) {
      FillWcc(file, before, wcc);
      return r.status();
    }
    held = std::move(r).value();
  }
  {
    trace::Span span = trace::Span::Child("block.write");
    span.SetAttribute("dittofs.inode", file.inode);
    span.SetAttribute("dittofs.offset", offset);
    span.SetAttribute("dittofs.length", data.size());
    const auto started = std::chrono::steady_clock::now();
    Status written = blocks_.Write(file.inode, offset, data);
    block_write_->Observe(std::chrono::steady_clock::now() - started);
    if (!written.ok()) {
      span.SetError(written.ToString());
      return written;
    }
  }
  uint64_t end = offset + data.size();
  Timespec now = Now();
  s = stores::RunTransaction(
      metadata_,
      [&](MetadataTxn& txn) -> Status {
        ASSIGN_OR_RETURN(Inode cur, LoadIn(txn, file));
        before = Pre(cur);
        if (end > cur.size) cur.size = end;
        cur.mtime = cur.ctime = now;
        cur.dos_attributes |= kDosArchive;  // MS-FSA: a modified file is marked for backup
        // A write by anyone but root drops setuid, and setgid when group-execute makes it one.
        if (!caller.is_root() && (cur.mode & (kSuid | kSgid))) {
          cur.mode &= ~kSuid;
          if (cur.mode & 0010) cur.mode &= ~kSgid;
        }
        txn.PutInode(cur);
        return Status::Ok();
      },
      stability == Stability::kUnstable ? stores::Durability::kLazy : stores::Durability::kDurable);
  FillWcc(file, before, wcc);
  if (!s.ok()) return s;
  WriteResult w;
  w.count = static_cast<uint32_t>(data.size());
  w.committed = stability;
  if (stability != Stability::kUnstable) {
    RETURN_IF_ERROR(blocks_.Sync(file.inode));
    w.committed = Stability::kFileSync;
  }
  return w;
}

Status Vfs::Commit(const Caller& caller, FileId file, Wcc* wcc) {
  RETURN_IF_ERROR(Admit(caller, false));
  ASSIGN_OR_RETURN(Inode inode, Load(file));
  std::optional<PreAttr> before = Pre(inode);
  Status s = Status::Ok();
  if (inode.type == FileType::kRegular) {
    // The data, then the sizes and times of the UNSTABLE writes that carried it.
    s = blocks_.Sync(file.inode);
    if (s.ok()) s = metadata_.Sync();
  } else if (inode.is_directory())
    s = Errc::kIsDir;
  else
    s = Errc::kInvalid;
  FillWcc(file, before, wcc);
  return s;
}

Status Vfs::MayWriteRange(const Caller& caller, const Inode& inode, uint64_t offset,
                          uint64_t length, const OpenContext* via, std::string_view what) {
  RETURN_IF_ERROR(Changeable(options_, inode));
  if (inode.is_directory()) return Errc::kIsDir;
  if (inode.type != FileType::kRegular) return Errc::kInvalid;
  if (DosReadOnly(inode)) return ReadOnlyRefusal(what);
  if (caller.uid != inode.uid && !MayAccess(caller, inode, 2)) return Errc::kAccess;
  if (offset > kMaxFileSize || length > kMaxFileSize - offset) return Errc::kTooBig;
  return state_->Check(inode.id, kWriteData, CacheOp::kWrite, offset, length, via);
}

Status Vfs::Allocate(const Caller& raw_caller, FileId file, uint64_t offset, uint64_t length,
                     Wcc* wcc, const OpenContext* via) {
  RETURN_IF_ERROR(Admit(raw_caller, true));
  Caller caller = Effective(raw_caller);
  ASSIGN_OR_RETURN(Inode inode, Load(file));
  std::optional<PreAttr> before = Pre(inode);
  Status s = length == 0 ? Status(Errc::kInvalid, "allocate: no bytes")
                         : MayWriteRange(caller, inode, offset, length, via, "allocate");
  if (!s.ok()) {
    FillWcc(file, before, wcc);
    return s;
  }
  // What the range would take that it does not hold yet: its bytes less its data extents (a
  // range with more extents than are counted is taken as full).
  const uint64_t end = offset + length;
  uint64_t held = 0;
  Result<std::vector<stores::BlockStore::Extent>> extents =
      blocks_.DataExtents(file.inode, offset, end, 4096);
  if (extents.ok() && extents->size() < 4096) {
    for (const auto& e : *extents) held += e.length;
  } else {
    held = length;
  }
  if (length - held > blocks_.GetCapacity().avail_bytes) {
    FillWcc(file, before, wcc);
    return Status(Errc::kNoSpace, "allocate: the storage has less space free than the range needs");
  }
  const Timespec now = Now();
  s = stores::RunTransaction(metadata_, [&](MetadataTxn& txn) -> Status {
    ASSIGN_OR_RETURN(Inode cur, LoadIn(txn, file));
    before = Pre(cur);
    if (end <= cur.size) return Status::Ok();  // nothing visible changes (fallocate(2) alike)
    RETURN_IF_ERROR(quotas_->Check(cur.uid, cur.gid, end - cur.size, 0));
    cur.size = end;
    cur.mtime = cur.ctime = now;
    cur.dos_attributes |= kDosArchive;
    txn.PutInode(cur);
    return Status::Ok();
  });
  FillWcc(file, before, wcc);
  return s;
}

Status Vfs::Deallocate(const Caller& raw_caller, FileId file, uint64_t offset, uint64_t length,
                       Wcc* wcc, const OpenContext* via) {
  RETURN_IF_ERROR(Admit(raw_caller, true));
  Caller caller = Effective(raw_caller);
  ASSIGN_OR_RETURN(Inode inode, Load(file));
  std::optional<PreAttr> before = Pre(inode);
  Status s = MayWriteRange(caller, inode, offset, length, via, "deallocate");
  if (!s.ok() || length == 0 || offset >= inode.size) {
    FillWcc(file, before, wcc);
    return s;
  }
  // Past the size nothing is held (a crash's leftovers are cut at open), so the punch stops there.
  const uint64_t n = std::min(length, inode.size - offset);
  s = blocks_.Deallocate(file.inode, offset, n);
  if (s.ok()) s = blocks_.Sync(file.inode);
  const Timespec now = Now();
  if (s.ok()) {
    s = stores::RunTransaction(metadata_, [&](MetadataTxn& txn) -> Status {
      ASSIGN_OR_RETURN(Inode cur, LoadIn(txn, file));
      before = Pre(cur);
      cur.mtime = cur.ctime = now;
      cur.dos_attributes |= kDosArchive | kDosSparse;
      txn.PutInode(cur);
      return Status::Ok();
    });
  }
  FillWcc(file, before, wcc);
  return s;
}

Result<std::vector<stores::BlockStore::Extent>> Vfs::DataExtents(const Caller& raw_caller,
                                                                 FileId file, uint64_t offset,
                                                                 uint64_t length, size_t max,
                                                                 Attr* attr,
                                                                 const OpenContext* via) {
  RETURN_IF_ERROR(Admit(raw_caller, false));
  Caller caller = Effective(raw_caller);
  ASSIGN_OR_RETURN(Inode inode, Load(file));
  if (attr != nullptr) *attr = ToAttr(inode);
  if (inode.is_directory()) return Errc::kIsDir;
  if (inode.type != FileType::kRegular) return Errc::kInvalid;
  if (caller.uid != inode.uid && !MayAccess(caller, inode, 4)) return Errc::kAccess;
  // Where data is says nothing of what it is: byte-range locks do not stand in the way (as on
  // Windows, smb2.ioctl.sparse_lock), and the data itself is read through Read, which checks.
  (void)via;
  if (offset >= inode.size || length == 0 || max == 0) {
    return std::vector<stores::BlockStore::Extent>{};
  }
  const uint64_t end = offset + std::min(length, inode.size - offset);
  return blocks_.DataExtents(file.inode, offset, end, max);
}

Result<uint64_t> Vfs::CopyRange(const Caller& raw_caller, FileId src, uint64_t src_offset,
                                FileId dst, uint64_t dst_offset, uint64_t length, Wcc* dst_wcc,
                                const OpenContext* src_via, const OpenContext* dst_via) {
  RETURN_IF_ERROR(Admit(raw_caller, true));
  Caller caller = Effective(raw_caller);
  ASSIGN_OR_RETURN(Inode from, Load(src));
  ASSIGN_OR_RETURN(Inode to, Load(dst));
  std::optional<PreAttr> before = Pre(to);
  uint64_t n = length;
  Status s = [&]() -> Status {
    RETURN_IF_ERROR(Changeable(options_, to));
    if (from.is_directory() || to.is_directory()) return Errc::kIsDir;
    if (from.type != FileType::kRegular || to.type != FileType::kRegular) return Errc::kInvalid;
    if (caller.uid != from.uid && !MayAccess(caller, from, 4)) return Errc::kAccess;
    if (DosReadOnly(to)) return ReadOnlyRefusal("copy into");
    if (caller.uid != to.uid && !MayAccess(caller, to, 2)) return Errc::kAccess;
    if (src_offset > from.size) return Status(Errc::kInvalid, "copy from past the source's end");
    if (n == 0) n = from.size - src_offset;
    if (n > from.size - src_offset) return Status(Errc::kInvalid, "copy past the source's end");
    if (dst_offset > kMaxFileSize || n > kMaxFileSize - dst_offset) return Errc::kTooBig;
    if (src.inode == dst.inode && src_offset < dst_offset + n && dst_offset < src_offset + n) {
      return Status(Errc::kInvalid, "copy onto an overlapping range of the same file");
    }
    RETURN_IF_ERROR(state_->Check(src.inode, kReadData, CacheOp::kRead, src_offset, n, src_via));
    RETURN_IF_ERROR(state_->Check(dst.inode, kWriteData, CacheOp::kWrite, dst_offset, n, dst_via));
    // Checked before anything is copied: a copy refused for quota changes nothing.
    if (dst_offset + n > to.size) {
      RETURN_IF_ERROR(quotas_->Check(to.uid, to.gid, dst_offset + n - to.size, 0));
    }
    return Status::Ok();
  }();
  if (!s.ok() || n == 0) {
    FillWcc(dst, before, dst_wcc);
    if (!s.ok()) return s;
    return uint64_t{0};
  }
  s = blocks_.Clone(src.inode, src_offset, dst.inode, dst_offset, n);
  const Timespec now = Now();
  if (s.ok()) {
    s = stores::RunTransaction(metadata_, [&](MetadataTxn& txn) -> Status {
      ASSIGN_OR_RETURN(Inode cur, LoadIn(txn, dst));
      before = Pre(cur);
      if (dst_offset + n > cur.size) cur.size = dst_offset + n;
      cur.mtime = cur.ctime = now;
      cur.dos_attributes |= kDosArchive;
      if (!caller.is_root() && (cur.mode & (kSuid | kSgid))) {
        cur.mode &= ~kSuid;
        if (cur.mode & 0010) cur.mode &= ~kSgid;
      }
      txn.PutInode(cur);
      return Status::Ok();
    });
  }
  FillWcc(dst, before, dst_wcc);
  if (!s.ok()) return s;
  return n;
}

Result<Attr> Vfs::MakeNode(const Caller& raw_caller, FileId dir, std::string_view name,
                           FileType type, const SetAttrs& attrs, std::string_view target,
                           uint32_t major, uint32_t minor, Wcc* dir_wcc, const OpenContext* via,
                           uint64_t create_verifier) {
  RETURN_IF_ERROR(Admit(raw_caller, true));
  Caller caller = Effective(raw_caller);
  std::optional<PreAttr> before;
  uint64_t dir_change = 0;
  ASSIGN_OR_RETURN(InodeId id, metadata_.AllocateInodeId());
  uint32_t generation = metadata_.NextGeneration(id);
  Status s = stores::RunTransaction(metadata_, [&](MetadataTxn& txn) -> Status {
    ASSIGN_OR_RETURN(Inode d, LoadIn(txn, dir));
    before = Pre(d);
    dir_change = d.version;
    if (!d.is_directory()) return Errc::kNotDir;
    if (IsDotOrDotDot(name)) return Errc::kExists;
    RETURN_IF_ERROR(CheckName(name, options_.names));
    RETURN_IF_ERROR(Changeable(options_, d));
    if (d.id == metadata_.root() && name == kSnapshotDirName) {
      return Status(Errc::kExists, "the root's .snapshot is the share's snapshots");
    }
    if (!MayAccess(caller, d, 3, AddMask(type))) return Errc::kAccess;
    Result<stores::DirEntry> existing = FindEntry(txn, d.id, name);
    if (existing.ok()) return Errc::kExists;
    if (existing.status().code() != Errc::kNotFound) return existing.status();
    if (type == FileType::kDirectory && d.nlink >= kMaxLinks) return Errc::kTooManyLinks;

    Timespec now = Now();
    Inode n;
    n.id = id;
    n.generation = generation;
    n.type = type;
    uint32_t default_mode =
        type == FileType::kDirectory ? 0755 : (type == FileType::kSymlink ? 0777 : 0644);
    n.mode = (attrs.has(kSetMode) ? attrs.mode : default_mode) & kModeMask;
    n.uid = caller.uid;
    n.gid = caller.gid;
    // setgid directories pass their group on, and to subdirectories the setgid bit too.
    if (d.mode & kSgid) {
      n.gid = d.gid;
      if (type == FileType::kDirectory) n.mode |= kSgid;
    }
    // Ownership given in the request is honoured as far as chown would allow it.
    if (attrs.has(kSetUid) && attrs.uid != n.uid) {
      if (!caller.is_root()) return Errc::kPerm;
      n.uid = attrs.uid;
    }
    if (attrs.has(kSetGid) && attrs.gid != n.gid) {
      if (!caller.is_root() && !caller.InGroup(attrs.gid)) return Errc::kPerm;
      n.gid = attrs.gid;
    }
    if (!caller.is_root() && type != FileType::kDirectory && !caller.InGroup(n.gid)) {
      n.mode &= ~kSgid;
    }
    // RFC 8881 §6.4.3: what the directory's ACL passes on. An inherited ACL decides, and
    // the mode reflects it; the mode asked for does not rewrite it (as Windows and a
    // "passthrough" ACL inheritance do: a Linux client's umasked 0644 does not take away a
    // group's inherited write). Symlinks take no ACL (their permissions are never checked).
    if (!d.acl.empty() && type != FileType::kSymlink) {
      Result<Acl> parent = DecodeAcl(d.acl);
      if (parent.ok()) {
        const Acl inherited = InheritedAcl(*parent, type == FileType::kDirectory);
        if (!inherited.empty()) {
          n.mode = (n.mode & ~0777u) | ModeOfAcl(inherited, type == FileType::kDirectory);
          if (!AclIsMode(inherited, type == FileType::kDirectory)) n.acl = EncodeAcl(inherited);
        }
      }
    }
    n.nlink = type == FileType::kDirectory ? 2 : 1;
    n.size = 0;
    RETURN_IF_ERROR(quotas_->Check(n.uid, n.gid, 0, 1));
    n.atime = n.mtime = n.ctime = n.btime = now;
    // Times asked for are the creator's to give, as the owner's on SetAttr.
    if (attrs.has(kSetAtime) && !attrs.has(kSetAtimeNow)) n.atime = attrs.atime;
    if (attrs.has(kSetMtime) && !attrs.has(kSetMtimeNow)) n.mtime = attrs.mtime;
    if (attrs.has(kSetCtime)) n.ctime = attrs.ctime;
    if (attrs.has(kSetBtime)) n.btime = attrs.btime;
    // MS-FSA 2.1.5.1.1: a new file is marked for backup.
    if (type == FileType::kRegular) n.dos_attributes = kDosArchive;
    if (attrs.has(kSetDosAttributes)) {
      if ((attrs.dos_attributes & kDosDirectory) && type != FileType::kDirectory) {
        return Status(Errc::kInvalid, "create: the directory bit on a non-directory");
      }
      n.dos_attributes = attrs.dos_attributes & kDosKept;
    }
    n.rdev_major = major;
    n.rdev_minor = minor;
    n.create_verifier = create_verifier;
    n.symlink_target = std::string(target);
    if (type == FileType::kDirectory) {
      n.parent = d.id;
      n.next_cookie = kFirstCookie;
      d.nlink += 1;
    }
    txn.PutInode(n);
    txn.PutEntry(d.id, {std::string(name), n.id, d.next_cookie});
    d.next_cookie += 1;
    d.mtime = d.ctime = now;
    txn.PutInode(d);
    return Status::Ok();
  });
  FillWcc(dir, before, dir_wcc);
  if (!s.ok()) return s;
  state_->DirectoryChanged(dir.inode, ParentHolder(via));
  Publish(dir.inode, ChangeAction::kAdded,
          type == FileType::kDirectory ? changed::kDirName : changed::kFileName, name);
  if (dir_wcc) dir_wcc->change = ChangedFrom(dir_change);
  return Resolve({id, generation});  // re-read: the commit set its version
}

Result<Attr> Vfs::Create(const Caller& raw_caller, FileId dir, std::string_view name,
                         CreateMode how, const SetAttrs& attrs, uint64_t verifier, Wcc* dir_wcc,
                         const OpenContext* via) {
  RETURN_IF_ERROR(Admit(raw_caller, true));
  if (how != CreateMode::kGuarded) {
    // An existing file satisfies UNCHECKED (truncated when asked) and a repeated
    // EXCLUSIVE create (same verifier).
    std::optional<Attr> dir_attr;
    Result<Attr> existing = Lookup(raw_caller, dir, name, &dir_attr);
    if (existing.ok()) {
      Wcc ignored;
      if (how == CreateMode::kExclusive) {
        Result<Inode> inode = metadata_.GetInode(existing->id.inode);
        if (inode.ok() && inode->create_verifier == verifier && verifier != 0) {
          FillWcc(dir, std::nullopt, dir_wcc);
          return existing;
        }
        FillWcc(dir, std::nullopt, dir_wcc);
        return Errc::kExists;
      }
      if (existing->type != FileType::kRegular) {
        FillWcc(dir, std::nullopt, dir_wcc);
        return Errc::kExists;
      }
      // Of the attributes only a size of 0 applies to a file that exists: UNCHECKED then
      // truncates it (RFC 8881 §18.16.3).
      if (attrs.has(kSetSize) && attrs.size == 0) {
        RETURN_IF_ERROR(
            SetAttr(raw_caller, existing->id, SetAttrs().set_size(0), nullptr, &ignored));
      }
      FillWcc(dir, std::nullopt, dir_wcc);
      return Resolve(existing->id);
    }
  }
  SetAttrs effective = attrs;
  if (how == CreateMode::kExclusive) effective = SetAttrs{};  // RFC 1813: no attributes
  // An exclusive create keeps its verifier in the new inode, in the create's own transaction:
  // one durable commit, and no moment where the file exists without it.
  ASSIGN_OR_RETURN(Attr created,
                   MakeNode(raw_caller, dir, name, FileType::kRegular, effective, "", 0, 0, dir_wcc,
                            via, how == CreateMode::kExclusive ? verifier : 0));
  if (how == CreateMode::kExclusive) return created;
  if (attrs.has(kSetSize) && attrs.size != 0) {
    Wcc ignored;
    RETURN_IF_ERROR(
        SetAttr(raw_caller, created.id, SetAttrs().set_size(attrs.size), nullptr, &ignored));
    return Resolve(created.id);
  }
  return created;
}

Result<Attr> Vfs::Mkdir(const Caller& caller, FileId dir, std::string_view name,
                        const SetAttrs& attrs, Wcc* dir_wcc, const OpenContext* via) {
  return MakeNode(caller, dir, name, FileType::kDirectory, attrs, "", 0, 0, dir_wcc, via);
}

Result<Attr> Vfs::Symlink(const Caller& caller, FileId dir, std::string_view name,
                          std::string_view target, const SetAttrs& attrs, Wcc* dir_wcc) {
  if (target.empty() || target.size() > kMaxSymlinkTarget) {
    FillWcc(dir, std::nullopt, dir_wcc);
    return target.empty() ? Errc::kInvalid : Errc::kNameTooLong;
  }
  SetAttrs a = attrs;
  a.set_mode(0777);  // symlink permissions are not used; report them as Linux does
  return MakeNode(caller, dir, name, FileType::kSymlink, a, target, 0, 0, dir_wcc);
}

Status Vfs::MayChangeInPlace(const Caller& caller, const Inode& inode, std::string_view what,
                             const OpenContext* via) {
  RETURN_IF_ERROR(Changeable(options_, inode));
  if (caller.uid != inode.uid && !caller.is_root() && !MayAccess(caller, inode, 2)) {
    return Errc::kAccess;
  }
  if (DosReadOnly(inode)) return ReadOnlyRefusal(what);
  return state_->Check(inode.id, kWriteData, CacheOp::kSetSize, 0, 0, via);
}

Status Vfs::MakeSymlinkInPlace(const Caller& raw_caller, FileId file, std::string_view target,
                               const OpenContext* via) {
  RETURN_IF_ERROR(Admit(raw_caller, true));
  if (target.empty()) return Errc::kInvalid;
  if (target.size() > kMaxSymlinkTarget) return Errc::kNameTooLong;
  Caller caller = Effective(raw_caller);
  return stores::RunTransaction(metadata_, [&](MetadataTxn& txn) -> Status {
    ASSIGN_OR_RETURN(Inode inode, LoadIn(txn, file));
    RETURN_IF_ERROR(MayChangeInPlace(caller, inode, "make a symlink", via));
    switch (inode.type) {
      case FileType::kSymlink:
        break;
      case FileType::kRegular:
        if (inode.size != 0) return Status(Errc::kNotEmpty, "make a symlink: the file has data");
        break;
      case FileType::kDirectory: {
        ASSIGN_OR_RETURN(bool has_entries, txn.HasEntries(inode.id));
        if (has_entries) return Errc::kNotEmpty;
        if (inode.id == root_.inode) return Errc::kInvalid;
        // No longer a subdirectory: its parent loses the link ".." gave it.
        ASSIGN_OR_RETURN(Inode parent, txn.GetInode(inode.parent));
        parent.nlink -= 1;
        txn.PutInode(parent);
        inode.nlink -= 1;
        inode.parent = stores::kInvalidInode;
        inode.next_cookie = 0;
        break;
      }
      default:
        return Errc::kInvalid;
    }
    inode.type = FileType::kSymlink;
    inode.symlink_target = std::string(target);
    inode.size = target.size();
    inode.mode = 0777;  // as Symlink makes them
    inode.dos_attributes &= ~kDosSparse;
    inode.ctime = Now();
    txn.PutInode(inode);
    return Status::Ok();
  });
}

Status Vfs::RemoveSymlinkInPlace(const Caller& raw_caller, FileId file, const OpenContext* via) {
  RETURN_IF_ERROR(Admit(raw_caller, true));
  Caller caller = Effective(raw_caller);
  return stores::RunTransaction(metadata_, [&](MetadataTxn& txn) -> Status {
    ASSIGN_OR_RETURN(Inode inode, LoadIn(txn, file));
    RETURN_IF_ERROR(Changeable(options_, inode));
    if (inode.type != FileType::kSymlink) return Errc::kInvalid;
    if (caller.uid != inode.uid && !caller.is_root()) return Errc::kAccess;
    RETURN_IF_ERROR(state_->Check(inode.id, kWriteData, CacheOp::kSetSize, 0, 0, via));
    inode.type = FileType::kRegular;
    inode.symlink_target.clear();
    inode.size = 0;
    inode.mode = 0644;
    inode.ctime = inode.mtime = Now();
    txn.PutInode(inode);
    return Status::Ok();
  });
}

Status Vfs::MakeSpecialInPlace(const Caller& raw_caller, FileId file, FileType type, uint32_t major,
                               uint32_t minor, const OpenContext* via) {
  RETURN_IF_ERROR(Admit(raw_caller, true));
  Caller caller = Effective(raw_caller);
  switch (type) {
    case FileType::kCharDevice:
    case FileType::kBlockDevice:
      if (!caller.is_root()) return Errc::kPerm;  // as Mknod
      break;
    case FileType::kFifo:
    case FileType::kSocket:
      major = minor = 0;
      break;
    default:
      return Errc::kBadType;
  }
  return stores::RunTransaction(metadata_, [&](MetadataTxn& txn) -> Status {
    ASSIGN_OR_RETURN(Inode inode, LoadIn(txn, file));
    RETURN_IF_ERROR(MayChangeInPlace(caller, inode, "make a special file", via));
    if (inode.type != FileType::kRegular) return Errc::kInvalid;
    if (inode.size != 0) return Status(Errc::kNotEmpty, "make a special file: the file has data");
    inode.type = type;
    inode.rdev_major = major;
    inode.rdev_minor = minor;
    inode.dos_attributes &= ~kDosSparse;
    inode.ctime = Now();
    txn.PutInode(inode);
    return Status::Ok();
  });
}

Result<Attr> Vfs::Mknod(const Caller& caller, FileId dir, std::string_view name, FileType type,
                        const SetAttrs& attrs, uint32_t major, uint32_t minor, Wcc* dir_wcc) {
  switch (type) {
    case FileType::kCharDevice:
    case FileType::kBlockDevice:
      // Device nodes, as locally, are root's to make.
      if (!Effective(caller).is_root()) {
        FillWcc(dir, std::nullopt, dir_wcc);
        return Errc::kPerm;
      }
      break;
    case FileType::kFifo:
    case FileType::kSocket:
      major = minor = 0;
      break;
    default:
      FillWcc(dir, std::nullopt, dir_wcc);
      return Errc::kBadType;
  }
  return MakeNode(caller, dir, name, type, attrs, "", major, minor, dir_wcc);
}

Status Vfs::Link(const Caller& raw_caller, FileId file, FileId dir, std::string_view name,
                 std::optional<Attr>* file_attr, Wcc* dir_wcc, const OpenContext* via) {
  RETURN_IF_ERROR(Admit(raw_caller, true));
  Caller caller = Effective(raw_caller);
  std::optional<PreAttr> before;
  uint64_t dir_change = 0;
  Status s = stores::RunTransaction(metadata_, [&](MetadataTxn& txn) -> Status {
    ASSIGN_OR_RETURN(Inode d, LoadIn(txn, dir));
    before = Pre(d);
    dir_change = d.version;
    ASSIGN_OR_RETURN(Inode f, LoadIn(txn, file));
    if (!d.is_directory()) return Errc::kNotDir;
    if (f.is_directory()) return Errc::kPerm;  // no hard links to directories, as in POSIX
    if (IsDotOrDotDot(name)) return Errc::kExists;
    RETURN_IF_ERROR(CheckName(name, options_.names));
    RETURN_IF_ERROR(Changeable(options_, d, &f));
    if (d.id == metadata_.root() && name == kSnapshotDirName) {
      return Status(Errc::kExists, "the root's .snapshot is the share's snapshots");
    }
    if (!MayAccess(caller, d, 3)) return Errc::kAccess;
    if (f.nlink >= kMaxLinks) return Errc::kTooManyLinks;
    if (f.nlink == 0) return Errc::kStale;
    Result<stores::DirEntry> existing = FindEntry(txn, d.id, name);
    if (existing.ok()) return Errc::kExists;
    if (existing.status().code() != Errc::kNotFound) return existing.status();
    Timespec now = Now();
    f.nlink += 1;
    f.ctime = now;
    txn.PutInode(f);
    txn.PutEntry(d.id, {std::string(name), f.id, d.next_cookie});
    d.next_cookie += 1;
    d.mtime = d.ctime = now;
    txn.PutInode(d);
    return Status::Ok();
  });
  FillWcc(dir, before, dir_wcc);
  if (s.ok()) {
    state_->DirectoryChanged(dir.inode, ParentHolder(via));
    Publish(dir.inode, ChangeAction::kAdded, changed::kFileName, name);
  }
  if (s.ok() && dir_wcc) dir_wcc->change = ChangedFrom(dir_change);
  if (file_attr) {
    Result<Attr> a = Resolve(file);
    if (a.ok()) *file_attr = *a;
  }
  return s;
}

namespace internal {

std::string InodeKey(InodeId inode) {
  std::string key(8, '\0');
  StoreBe64(reinterpret_cast<std::byte*>(key.data()), inode);
  return key;
}

Status DeleteXattrs(MetadataTxn& txn, InodeId id) {
  // SetXattr keeps a file at kMaxXattrs attributes, so one scan finds them all.
  ASSIGN_OR_RETURN(
      std::vector<stores::Record> xattrs,
      txn.ScanRecords(stores::RecordTable::kXattrs, InodeKey(id), InodeKey(id + 1), kMaxXattrs));
  for (const stores::Record& x : xattrs) txn.DeleteRecord(stores::RecordTable::kXattrs, x.key);
  return Status::Ok();
}

Status DropInode(MetadataTxn& txn, InodeId id) {
  RETURN_IF_ERROR(DeleteXattrs(txn, id));
  txn.DeleteInode(id);
  return Status::Ok();
}

}  // namespace internal

// Decides, inside a transaction that takes a file's last name, whether the file is deleted or
// kept as an orphan for the opens that still use it; no new open can start meanwhile.
class Vfs::RemoveGuard {
 public:
  explicit RemoveGuard(OpenTable& opens) : opens_(opens) {}
  ~RemoveGuard() {
    for (InodeId id : guarded_) opens_.EndRemove(id);
  }
  // With opens: keeps `file` (its nlink now 0) as an orphan and returns true. Without: new
  // opens of it fail until this guard is gone, and the caller deletes it.
  bool Orphan(MetadataTxn& txn, Inode& file, Timespec now) {
    if (file.type != FileType::kRegular) return false;
    if (opens_.BeginRemove(file.id) == 0) {
      guarded_.push_back(file.id);
      return false;
    }
    file.ctime = now;
    txn.PutInode(file);
    txn.PutRecord(stores::RecordTable::kOrphans, InodeKey(file.id), "");
    return true;
  }

 private:
  OpenTable& opens_;
  std::vector<InodeId> guarded_;
};

namespace {
Status CheckXattrName(std::string_view name) {
  if (name.empty()) return Status(Errc::kInvalid, "empty attribute name");
  if (name.size() > kMaxXattrName) return Errc::kNameTooLong;
  if (name.find('\0') != std::string_view::npos) return Status(Errc::kInvalid, "NUL in name");
  return Status::Ok();
}
std::string XattrKey(InodeId inode, std::string_view name) {
  std::string key = InodeKey(inode);
  key.append(name);
  return key;
}
}  // namespace

Result<Acl> Vfs::GetAcl(const Caller& raw_caller, FileId file) {
  RETURN_IF_ERROR(Admit(raw_caller, false));
  Caller caller = Effective(raw_caller);
  ASSIGN_OR_RETURN(Inode inode, Load(file));
  if (inode.acl.empty()) return Acl{};
  if (!caller.is_root() && !AclAllows(caller, inode, kAceReadAcl)) return Errc::kAccess;
  return DecodeAcl(inode.acl);
}

Result<std::optional<uint32_t>> Vfs::AclAccess(const Caller& raw_caller, FileId file) {
  RETURN_IF_ERROR(Admit(raw_caller, false));
  Caller caller = Effective(raw_caller);
  ASSIGN_OR_RETURN(Inode inode, Load(file));
  if (inode.acl.empty()) return std::optional<uint32_t>();
  if (caller.is_root()) return std::optional<uint32_t>(kAceAllAccess);
  return std::optional<uint32_t>(AclAllowedBits(caller, inode, kAceAllAccess));
}

Status Vfs::SetAcl(const Caller& raw_caller, FileId file, const Acl& acl, Wcc* wcc) {
  RETURN_IF_ERROR(Admit(raw_caller, true));
  Caller caller = Effective(raw_caller);
  RETURN_IF_ERROR(ValidateAcl(acl));
  std::optional<PreAttr> before;
  Status s = stores::RunTransaction(metadata_, [&](MetadataTxn& txn) -> Status {
    ASSIGN_OR_RETURN(Inode inode, LoadIn(txn, file));
    before = Pre(inode);
    RETURN_IF_ERROR(Changeable(options_, inode));
    if (inode.type == FileType::kSymlink) return Status(Errc::kNotSupported, "a symlink's ACL");
    const bool owner = caller.is_root() || caller.uid == inode.uid;
    if (!owner && (inode.acl.empty() || !AclAllows(caller, inode, kAceWriteAcl))) {
      return Errc::kPerm;
    }
    const bool directory = inode.is_directory();
    if (!acl.empty()) inode.mode = (inode.mode & ~0777u) | ModeOfAcl(acl, directory);
    // An ACL that says no more than the mode is kept as the mode alone.
    inode.acl = acl.empty() || AclIsMode(acl, directory) ? std::string() : EncodeAcl(acl);
    inode.ctime = Now();
    txn.PutInode(inode);
    return Status::Ok();
  });
  FillWcc(file, before, wcc);
  return s;
}

Result<std::string> Vfs::GetXattr(const Caller& raw_caller, FileId file, std::string_view name) {
  RETURN_IF_ERROR(Admit(raw_caller, false));
  Caller caller = Effective(raw_caller);
  RETURN_IF_ERROR(CheckXattrName(name));
  ASSIGN_OR_RETURN(Inode inode, Load(file));
  if (caller.uid != inode.uid && !MayAccess(caller, inode, 4, kAceReadNamedAttrs))
    return Errc::kAccess;
  std::unique_ptr<MetadataTxn> txn = metadata_.Begin();
  return txn->GetRecord(stores::RecordTable::kXattrs, XattrKey(file.inode, name));
}

Result<std::vector<std::string>> Vfs::ListXattrs(const Caller& raw_caller, FileId file) {
  RETURN_IF_ERROR(Admit(raw_caller, false));
  Caller caller = Effective(raw_caller);
  ASSIGN_OR_RETURN(Inode inode, Load(file));
  if (caller.uid != inode.uid && !MayAccess(caller, inode, 4, kAceReadNamedAttrs))
    return Errc::kAccess;
  std::unique_ptr<MetadataTxn> txn = metadata_.Begin();
  ASSIGN_OR_RETURN(std::vector<stores::Record> xattrs,
                   txn->ScanRecords(stores::RecordTable::kXattrs, InodeKey(file.inode),
                                    InodeKey(file.inode + 1), kMaxXattrs));
  std::vector<std::string> names;
  names.reserve(xattrs.size());
  for (const stores::Record& x : xattrs) names.push_back(x.key.substr(8));
  return names;
}

Status Vfs::SetXattr(const Caller& raw_caller, FileId file, std::string_view name,
                     std::string_view value, XattrSet how) {
  RETURN_IF_ERROR(Admit(raw_caller, true));
  Caller caller = Effective(raw_caller);
  RETURN_IF_ERROR(CheckXattrName(name));
  if (value.size() > kMaxXattrValue) return Status(Errc::kTooBig, "attribute value over 64 KiB");
  if (options_.read_only) return Errc::kReadOnly;
  const std::string key = XattrKey(file.inode, name);
  return stores::RunTransaction(metadata_, [&](MetadataTxn& txn) -> Status {
    ASSIGN_OR_RETURN(Inode inode, LoadIn(txn, file));
    RETURN_IF_ERROR(Changeable(options_, inode));
    if (caller.uid != inode.uid && !caller.is_root() &&
        !MayAccess(caller, inode, 2, kAceWriteNamedAttrs)) {
      return Errc::kAccess;
    }
    Result<std::string> old = txn.GetRecord(stores::RecordTable::kXattrs, key);
    if (!old.ok() && old.status().code() != Errc::kNotFound) return old.status();
    if (old.ok() && how == XattrSet::kCreate) return Errc::kExists;
    if (!old.ok() && how == XattrSet::kReplace) return Errc::kNotFound;
    if (!old.ok()) {
      ASSIGN_OR_RETURN(std::vector<stores::Record> present,
                       txn.ScanRecords(stores::RecordTable::kXattrs, InodeKey(file.inode),
                                       InodeKey(file.inode + 1), kMaxXattrs));
      if (present.size() >= kMaxXattrs) {
        return Status(Errc::kNoSpace, "1024 extended attributes already");
      }
    }
    txn.PutRecord(stores::RecordTable::kXattrs, key, value);
    inode.ctime = Now();
    txn.PutInode(inode);
    return Status::Ok();
  });
}

Status Vfs::RemoveXattr(const Caller& raw_caller, FileId file, std::string_view name) {
  RETURN_IF_ERROR(Admit(raw_caller, true));
  Caller caller = Effective(raw_caller);
  RETURN_IF_ERROR(CheckXattrName(name));
  if (options_.read_only) return Errc::kReadOnly;
  const std::string key = XattrKey(file.inode, name);
  return stores::RunTransaction(metadata_, [&](MetadataTxn& txn) -> Status {
    ASSIGN_OR_RETURN(Inode inode, LoadIn(txn, file));
    RETURN_IF_ERROR(Changeable(options_, inode));
    if (caller.uid != inode.uid && !caller.is_root() &&
        !MayAccess(caller, inode, 2, kAceWriteNamedAttrs)) {
      return Errc::kAccess;
    }
    RETURN_IF_ERROR(txn.GetRecord(stores::RecordTable::kXattrs, key).status());
    txn.DeleteRecord(stores::RecordTable::kXattrs, key);
    inode.ctime = Now();
    txn.PutInode(inode);
    return Status::Ok();
  });
}

Result<OpenTable::OpenId> Vfs::OpenFile(const Caller& raw_caller, FileId file, uint32_t access,
                                        uint32_t share, bool delete_on_close, bool created) {
  const bool writes = (access & (kWriteData | kAppendData | kWriteEa | kWriteAttributes)) != 0;
  RETURN_IF_ERROR(Admit(raw_caller, writes));
  Caller caller = Effective(raw_caller);
  ASSIGN_OR_RETURN(Inode inode, Load(file));
  if (inode.nlink == 0) return Status(Errc::kStale, "the file was removed");
  if (!created && !MayOpenFor(caller, inode, access)) return Errc::kAccess;
  if (writes && options_.read_only) return Errc::kReadOnly;
  if (InSnapshot(inode) &&
      (access & (kWriteData | kAppendData | kWriteEa | kWriteAttributes | kDeleteAccess)) != 0) {
    return SnapshotRefusal();
  }
  // MS-FSA 2.1.5.1.2.1: no opening a read-only file to write its data or to delete it.
  if ((access & (kWriteData | kAppendData | kDeleteAccess)) != 0 && DosReadOnly(inode)) {
    return ReadOnlyRefusal("open for writing or deleting");
  }
  Result<OpenTable::OpenId> opened =
      state_->opens.Open({file.inode, access, share, delete_on_close});
  if (!opened.ok() && opened.status().code() == Errc::kShareViolation &&
      state_->ReleaseExpired(file.inode)) {
    opened = state_->opens.Open({file.inode, access, share, delete_on_close});
  }
  ASSIGN_OR_RETURN(OpenTable::OpenId id, std::move(opened));
  // Removed between the load and the open: the open must not outlive the file.
  Result<Inode> again = Load(file);
  if (!again.ok() || again->nlink == 0) {
    RETURN_IF_ERROR(CloseFile(id));
    return Status(Errc::kStale, "the file was removed");
  }
  return id;
}

Status Vfs::ChangeOpen(const Caller& raw_caller, FileId file, OpenTable::OpenId id, uint32_t access,
                       uint32_t share, uint32_t old_access) {
  const uint32_t added = access & ~old_access;
  if (added != 0) {
    const bool writes = (added & (kWriteData | kAppendData | kWriteEa | kWriteAttributes)) != 0;
    RETURN_IF_ERROR(Admit(raw_caller, writes));
    Caller caller = Effective(raw_caller);
    ASSIGN_OR_RETURN(Inode inode, Load(file));
    if (!MayOpenFor(caller, inode, added)) return Errc::kAccess;
    if (writes && options_.read_only) return Errc::kReadOnly;
    if (InSnapshot(inode) &&
        (added & (kWriteData | kAppendData | kWriteEa | kWriteAttributes | kDeleteAccess)) != 0) {
      return SnapshotRefusal();
    }
    if ((added & (kWriteData | kAppendData | kDeleteAccess)) != 0 && DosReadOnly(inode)) {
      return ReadOnlyRefusal("open for writing or deleting");
    }
  }
  Status s = state_->opens.Change(id, access, share);
  if (s.code() == Errc::kShareViolation && state_->ReleaseExpired(file.inode)) {
    s = state_->opens.Change(id, access, share);
  }
  return s;
}

Status Vfs::CloseFile(OpenTable::OpenId id, const NamedAt* at) {
  ASSIGN_OR_RETURN(CloseResult closed, state_->opens.Close(id));
  if (!closed.last) {
    // Marked for deletion, the file waits for its other opens: watches of it (a directory)
    // learn that it goes.
    if (state_->opens.delete_pending(closed.file)) state_->changes.Gone(closed.file);
    return Status::Ok();
  }
  if (closed.delete_file && at != nullptr && at->caller != nullptr) {
    // The name may have gone (removed, renamed over) since: only the name that still leads to
    // this file goes.
    Result<Attr> named = Lookup(*at->caller, at->dir, at->name, nullptr);
    if (named.ok() && named->id.inode == closed.file) {
      OpenContext via;
      via.holder = at->holder;
      via.parent_holder = at->parent_holder;
      Status removed = named->type == FileType::kDirectory
                           ? Rmdir(*at->caller, at->dir, at->name, nullptr, &via)
                           : Remove(*at->caller, at->dir, at->name, nullptr, &via);
      if (!removed.ok()) {
        LOG_INFO("close: deleting {} on close failed: {}", at->name, removed.ToString());
        return removed;
      }
    }
  }
  bool deleted = false;
  RETURN_IF_ERROR(stores::RunTransaction(metadata_, [&](MetadataTxn& txn) -> Status {
    deleted = false;
    Result<Inode> inode = txn.GetInode(closed.file);
    if (!inode.ok() || inode->nlink != 0) return Status::Ok();  // not an orphan
    RETURN_IF_ERROR(DropInode(txn, inode->id));
    txn.DeleteRecord(stores::RecordTable::kOrphans, InodeKey(inode->id));
    deleted = true;
    return Status::Ok();
  }));
  if (deleted) {
    Status r = blocks_.Remove(closed.file);
    if (!r.ok()) LOG_WARN("close: data of orphan {} not freed: {}", closed.file, r.ToString());
  }
  return Status::Ok();
}

Status Vfs::DeleteOrphans(std::string_view share, stores::MetadataStore& metadata,
                          stores::BlockStore& blocks) {
  auto drop = [&](const std::vector<stores::Record>& orphans) -> Status {
    RETURN_IF_ERROR(stores::RunTransaction(metadata, [&](MetadataTxn& txn) -> Status {
      for (const stores::Record& o : orphans) {
        txn.DeleteRecord(stores::RecordTable::kOrphans, o.key);
        if (o.key.size() != 8) continue;
        InodeId id = LoadBe64(reinterpret_cast<const std::byte*>(o.key.data()));
        Result<Inode> inode = txn.GetInode(id);
        if (inode.ok() && inode->nlink == 0) RETURN_IF_ERROR(DropInode(txn, id));
      }
      return Status::Ok();
    }));
    for (const stores::Record& o : orphans) {
      if (o.key.size() != 8) continue;
      RETURN_IF_ERROR(blocks.Remove(LoadBe64(reinterpret_cast<const std::byte*>(o.key.data()))));
    }
    return Status::Ok();
  };
  ASSIGN_OR_RETURN(size_t deleted, DrainRecords(metadata, stores::RecordTable::kOrphans, drop));
  if (deleted > 0) {
    LOG_INFO("share {}: deleted {} files removed while open before the last stop", share, deleted);
  }
  return Status::Ok();
}

Status Vfs::Remove(const Caller& raw_caller, FileId dir, std::string_view name, Wcc* dir_wcc,
                   const OpenContext* via) {
  RETURN_IF_ERROR(Admit(raw_caller, true));
  return RemoveAs(Effective(raw_caller), dir, name, dir_wcc, via, options_.recycle.enabled);
}

Status Vfs::RemoveAs(const Caller& caller, FileId dir, std::string_view name, Wcc* dir_wcc,
                     const OpenContext* via, bool recycle) {
  std::optional<PreAttr> before;
  uint64_t dir_change = 0;
  InodeId freed = stores::kInvalidInode;
  std::optional<Recycled> recycled;
  RemoveGuard guard(state_->opens);
  Status s = stores::RunTransaction(metadata_, [&](MetadataTxn& txn) -> Status {
    freed = stores::kInvalidInode;
    recycled.reset();
    ASSIGN_OR_RETURN(Inode d, LoadIn(txn, dir));
    before = Pre(d);
    dir_change = d.version;
    if (!d.is_directory()) return Errc::kNotDir;
    if (name == ".") return Errc::kInvalid;
    if (name == "..") return Errc::kNotEmpty;
    RETURN_IF_ERROR(CheckName(name, options_.names));
    ASSIGN_OR_RETURN(stores::DirEntry e, FindEntry(txn, d.id, name));
    ASSIGN_OR_RETURN(Inode victim, txn.GetInode(e.child));
    if (victim.is_directory()) return Errc::kIsDir;
    RETURN_IF_ERROR(Changeable(options_, d));
    if (!MayRemove(caller, d, victim)) return Errc::kAccess;
    if (!StickyAllows(caller, d, victim)) return Errc::kAccess;
    if (DosReadOnly(victim)) return ReadOnlyRefusal("remove");
    RETURN_IF_ERROR(state_->Check(victim.id, kDeleteAccess, CacheOp::kRemove, 0, 0, via));
    Timespec now = Now();
    if (recycle && victim.type == FileType::kRegular && victim.nlink == 1) {
      ASSIGN_OR_RETURN(recycled, RecycleIn(txn, d, e, victim, now));
      if (recycled) {
        d.mtime = d.ctime = now;
        txn.PutInode(d);
        return Status::Ok();
      }
    }
    if (options_.recycle.enabled && victim.type == FileType::kRegular && victim.nlink == 1) {
      RETURN_IF_ERROR(ForgetTrash(txn, victim.id));
    }
    txn.DeleteEntry(d.id, e.name);
    victim.nlink -= 1;
    if (victim.nlink == 0 && !guard.Orphan(txn, victim, now)) {
      RETURN_IF_ERROR(DropInode(txn, victim.id));
      if (victim.type == FileType::kRegular) freed = victim.id;
    } else if (victim.nlink != 0) {
      victim.ctime = now;
      txn.PutInode(victim);
    }
    d.mtime = d.ctime = now;
    txn.PutInode(d);
    return Status::Ok();
  });
  if (s.ok() && freed != stores::kInvalidInode) {
    Status r = blocks_.Remove(freed);
    if (!r.ok()) LOG_WARN("remove: data of inode {} not freed: {}", freed, r.ToString());
  }
  if (s.ok()) {
    state_->DirectoryChanged(dir.inode, ParentHolder(via));
    Publish(dir.inode, ChangeAction::kRemoved, changed::kFileName, name);
    if (recycled) {
      state_->DirectoryChanged(recycled->bin_dir, kAnonymousOwner);
      Publish(recycled->bin_dir, ChangeAction::kAdded, changed::kFileName, recycled->name);
    }
  }
  FillWcc(dir, before, dir_wcc);
  if (s.ok() && dir_wcc) dir_wcc->change = ChangedFrom(dir_change);
  if (s.ok() && recycled) MaybePurge(recycled->bin_bytes);
  return s;
}

Status Vfs::Rmdir(const Caller& raw_caller, FileId dir, std::string_view name, Wcc* dir_wcc,
                  const OpenContext* via) {
  RETURN_IF_ERROR(Admit(raw_caller, true));
  Caller caller = Effective(raw_caller);
  std::optional<PreAttr> before;
  uint64_t dir_change = 0;
  Status s = stores::RunTransaction(metadata_, [&](MetadataTxn& txn) -> Status {
    ASSIGN_OR_RETURN(Inode d, LoadIn(txn, dir));
    before = Pre(d);
    dir_change = d.version;
    if (!d.is_directory()) return Errc::kNotDir;
    if (name == ".") return Errc::kInvalid;
    if (name == "..") return Errc::kNotEmpty;
    RETURN_IF_ERROR(CheckName(name, options_.names));
    ASSIGN_OR_RETURN(stores::DirEntry e, FindEntry(txn, d.id, name));
    ASSIGN_OR_RETURN(Inode victim, txn.GetInode(e.child));
    if (!victim.is_directory()) return Errc::kNotDir;
    RETURN_IF_ERROR(Changeable(options_, d));
    if (!MayRemove(caller, d, victim)) return Errc::kAccess;
    if (!StickyAllows(caller, d, victim)) return Errc::kAccess;
    if (DosReadOnly(victim)) return ReadOnlyRefusal("rmdir");
    RETURN_IF_ERROR(state_->Check(victim.id, kDeleteAccess, CacheOp::kRemove, 0, 0, via));
    ASSIGN_OR_RETURN(bool has_entries, txn.HasEntries(victim.id));
    if (has_entries) return Errc::kNotEmpty;
    txn.DeleteEntry(d.id, e.name);
    RETURN_IF_ERROR(DropInode(txn, victim.id));
    Timespec now = Now();
    d.nlink -= 1;
    d.mtime = d.ctime = now;
    txn.PutInode(d);
    return Status::Ok();
  });
  if (s.ok()) {
    state_->DirectoryChanged(dir.inode, ParentHolder(via));
    Publish(dir.inode, ChangeAction::kRemoved, changed::kDirName, name);
  }
  FillWcc(dir, before, dir_wcc);
  if (s.ok() && dir_wcc) dir_wcc->change = ChangedFrom(dir_change);
  return s;
}

Status Vfs::Rename(const Caller& raw_caller, FileId from_dir, std::string_view from_name,
                   FileId to_dir, std::string_view to_name, Wcc* from_wcc, Wcc* to_wcc,
                   const OpenContext* via, bool no_replace) {
  RETURN_IF_ERROR(Admit(raw_caller, true));
  Caller caller = Effective(raw_caller);
  std::optional<PreAttr> from_before, to_before;
  std::optional<ChangeInfo> from_change, to_change;  // set when the rename changes them
  InodeId freed = stores::kInvalidInode;
  bool moved_dir = false;        // what moved is a directory
  std::optional<bool> replaced;  // set when a name was replaced: whether a directory's
  std::string from_entry_name, to_entry_name;  // as they were and are stored
  std::optional<Recycled> recycled;            // the replaced file, moved to the bin
  RemoveGuard guard(state_->opens);
  Status s = stores::RunTransaction(metadata_, [&](MetadataTxn& txn) -> Status {
    freed = stores::kInvalidInode;
    replaced.reset();
    recycled.reset();
    from_change.reset();
    to_change.reset();
    ASSIGN_OR_RETURN(Inode fd, LoadIn(txn, from_dir));
    from_before = Pre(fd);
    ASSIGN_OR_RETURN(Inode td, LoadIn(txn, to_dir));
    to_before = Pre(td);
    if (!fd.is_directory() || !td.is_directory()) return Errc::kNotDir;
    if (IsDotOrDotDot(from_name) || IsDotOrDotDot(to_name)) return Errc::kInvalid;
    RETURN_IF_ERROR(CheckName(from_name, options_.names));
    RETURN_IF_ERROR(CheckName(to_name, options_.names));
    ASSIGN_OR_RETURN(stores::DirEntry src_entry, FindEntry(txn, fd.id, from_name));
    ASSIGN_OR_RETURN(Inode src, txn.GetInode(src_entry.child));
    moved_dir = src.is_directory();
    from_entry_name = src_entry.name;
    RETURN_IF_ERROR(Changeable(options_, fd, &td));
    if (td.id == metadata_.root() && to_name == kSnapshotDirName) {
      return Status(Errc::kExists, "the root's .snapshot is the share's snapshots");
    }
    if (!MayRemove(caller, fd, src) || !MayAccess(caller, td, 3, AddMask(src.type))) {
      return Errc::kAccess;
    }
    if (!StickyAllows(caller, fd, src)) return Errc::kAccess;
    RETURN_IF_ERROR(state_->Check(src.id, kDeleteAccess, CacheOp::kRename, 0, 0, via));
    if (via != nullptr && via->open != 0) {
      // A rename through an open (Windows semantics, MS-FSA 2.1.5.15.11) also opens the
      // source's directory for DELETE sharing read and write: an open of the directory that
      // has DELETE access, or does not share DELETE, stands in the way.
      RETURN_IF_ERROR(state_->opens.CheckAccess(fd.id, kDeleteAccess, 0, kShareRead | kShareWrite));
    }
    bool same_dir = fd.id == td.id;
    if (src.is_directory() && !same_dir) {
      // Moving a directory rewrites its "..", which needs write permission on it.
      if (!MayAccess(caller, src, 2)) return Errc::kAccess;
      // A directory cannot move into its own subtree, however deep: walk from the target up
      // to the root. (A walk that never ends would mean the tree already holds a cycle; it is
      // refused rather than allowed to make another.)
      InodeId walk = td.id;
      for (uint64_t steps = 0;; ++steps) {
        if (walk == src.id) return Errc::kInvalid;
        if (steps > kMaxAncestorWalk) {
          return Status(Errc::kIo,
                        fmt::format("rename: directory {} is not below the root", td.id));
        }
        ASSIGN_OR_RETURN(Inode w, txn.GetInode(walk));
        if (w.parent == walk || w.parent == stores::kInvalidInode) break;
        walk = w.parent;
      }
    }

    Result<stores::DirEntry> dst_entry = FindEntry(txn, td.id, to_name);
    if (!dst_entry.ok() && dst_entry.status().code() != Errc::kNotFound) return dst_entry.status();
    Timespec now = Now();
    // In a case-insensitive share, a new spelling of the same entry ("readme" to "README")
    // renames it; the same object under another name is otherwise left alone, as POSIX says.
    bool respelled = dst_entry.ok() && same_dir && dst_entry->name == src_entry.name &&
                     to_name != src_entry.name;
    if (respelled) {
      dst_entry = Status(Errc::kNotFound);
    } else if (dst_entry.ok()) {
      if (dst_entry->child == src.id) return Status::Ok();  // same object: POSIX says no-op
      if (no_replace) return Errc::kExists;
      ASSIGN_OR_RETURN(Inode dst, txn.GetInode(dst_entry->child));
      if (!StickyAllows(caller, td, dst)) return Errc::kAccess;
      if (!td.acl.empty() && !MayRemove(caller, td, dst)) return Errc::kAccess;
      if (DosReadOnly(dst)) return ReadOnlyRefusal("rename over an object");
      RETURN_IF_ERROR(state_->CheckAnonymous(dst.id, kDeleteAccess, CacheOp::kRemove));
      replaced = dst.is_directory();
      to_entry_name = dst_entry->name;
      if (src.is_directory()) {
        if (!dst.is_directory()) return Errc::kNotDir;
        ASSIGN_OR_RETURN(bool has_entries, txn.HasEntries(dst.id));
        if (has_entries) return Errc::kExists;  // RFC 1813 RENAME: EXIST or NOTEMPTY
        RETURN_IF_ERROR(DropInode(txn, dst.id));
        td.nlink -= 1;
      } else {
        if (dst.is_directory()) return Errc::kIsDir;
        // The replaced file is removed: with a recycle bin, it goes there as a removed one
        // would (docs/recycle.md), unless the bin refuses it (too large, excluded, in the bin).
        if (options_.recycle.enabled && dst.type == FileType::kRegular && dst.nlink == 1) {
          ASSIGN_OR_RETURN(recycled, RecycleIn(txn, td, *dst_entry, dst, now));
          if (recycled && same_dir) {
            fd = td;  // one inode: the bin may have been made in it
          } else if (recycled) {
            ASSIGN_OR_RETURN(fd, txn.GetInode(fd.id));  // the root, if the bin was made there
          }
        }
        if (!recycled) {
          dst.nlink -= 1;
          if (dst.nlink == 0 && options_.recycle.enabled) {
            RETURN_IF_ERROR(ForgetTrash(txn, dst.id));
          }
          if (dst.nlink == 0 && guard.Orphan(txn, dst, now)) {
            // kept for its opens
          } else if (dst.nlink == 0) {
            RETURN_IF_ERROR(DropInode(txn, dst.id));
            if (dst.type == FileType::kRegular) freed = dst.id;
          } else {
            dst.ctime = now;
            txn.PutInode(dst);
          }
        }
      }
      txn.DeleteEntry(td.id, dst_entry->name);
    }
    if (options_.recycle.enabled && src.type == FileType::kRegular) {
      RETURN_IF_ERROR(TrashRenamed(txn, src.id, td, to_name));
    }
    txn.DeleteEntry(fd.id, src_entry.name);
    // Re-read the target directory in case it is the source directory (one inode).
    if (same_dir) td.next_cookie = std::max(td.next_cookie, fd.next_cookie);
    txn.PutEntry(td.id, {std::string(to_name), src.id, td.next_cookie});
    td.next_cookie += 1;
    if (src.is_directory() && !same_dir) {
      src.parent = td.id;
      fd.nlink -= 1;
      td.nlink += 1;
    }
    src.ctime = now;
    txn.PutInode(src);
    fd.mtime = fd.ctime = now;
    td.mtime = td.ctime = now;
    from_change = ChangedFrom(fd.version);
    to_change = ChangedFrom(td.version);
    if (same_dir) {
      td.nlink = std::min(td.nlink, fd.nlink);  // same inode: one set of changes
      txn.PutInode(td);
    } else {
      txn.PutInode(fd);
      txn.PutInode(td);
    }
    return Status::Ok();
  });
  if (s.ok() && freed != stores::kInvalidInode) {
    Status r = blocks_.Remove(freed);
    if (!r.ok()) LOG_WARN("rename: data of inode {} not freed: {}", freed, r.ToString());
  }
  // A no-op rename (the same object under both names) changes no directory.
  if (s.ok() && from_change) {
    state_->DirectoryChanged(from_dir.inode, ParentHolder(via));
    if (to_dir.inode != from_dir.inode) state_->DirectoryChanged(to_dir.inode, ParentHolder(via));
    // As Windows reports them: a replaced name is removed first; a move within a directory is
    // the old and the new name, a move between directories a removal and an addition.
    const uint32_t what = moved_dir ? changed::kDirName : changed::kFileName;
    if (replaced) {
      Publish(to_dir.inode, ChangeAction::kRemoved,
              *replaced ? changed::kDirName : changed::kFileName, to_entry_name);
    }
    if (to_dir.inode == from_dir.inode) {
      Publish(from_dir.inode, ChangeAction::kRenamedOldName, what, from_entry_name);
      Publish(to_dir.inode, ChangeAction::kRenamedNewName, what, to_name);
    } else {
      Publish(from_dir.inode, ChangeAction::kRemoved, what, from_entry_name);
      Publish(to_dir.inode, ChangeAction::kAdded, what, to_name);
    }
    if (recycled) {
      state_->DirectoryChanged(recycled->bin_dir, kAnonymousOwner);
      Publish(recycled->bin_dir, ChangeAction::kAdded, changed::kFileName, recycled->name);
    }
  }
  if (s.ok() && recycled) MaybePurge(recycled->bin_bytes);
  FillWcc(from_dir, from_before, from_wcc);
  FillWcc(to_dir, to_before, to_wcc);
  if (s.ok() && from_wcc) from_wcc->change = from_change;
  if (s.ok() && to_wcc) to_wcc->change = to_change;
  return s;
}

void Vfs::NoteChanged(FileId dir, std::string_view name, ChangeAction action, uint32_t what) {
  Publish(dir.inode, action, what, name);
}

uint32_t Vfs::ChangesOf(const SetAttrs& attrs) {
  uint32_t what = 0;
  if (attrs.has(kSetMode | kSetUid | kSetGid)) what |= changed::kSecurity | changed::kAttributes;
  if (attrs.has(kSetSize)) what |= changed::kSize | changed::kLastWrite;
  if (attrs.has(kSetAtime | kSetAtimeNow)) what |= changed::kLastAccess;
  if (attrs.has(kSetMtime | kSetMtimeNow)) what |= changed::kLastWrite;
  if (attrs.has(kSetBtime)) what |= changed::kCreation;
  if (attrs.has(kSetCtime | kSetDosAttributes)) what |= changed::kAttributes;
  return what;
}

void Vfs::NoteFileChanged(FileId file, uint32_t what) {
  ChangeFeed& feed = state_->changes;
  if (!feed.Watched()) return;
  const int64_t now = MonotonicNanos();
  ChangeFeed::Names names;
  if (!feed.CachedNames(file.inode, now, &names)) {
    for (uint64_t dir : feed.WatchedDirs(kMaxScannedDirs)) {
      if (Result<std::string> name = NameIn(dir, file.inode); name.ok()) {
        names.emplace_back(dir, *std::move(name));
      }
    }
    feed.CacheNames(file.inode, now, names);
  }
  for (const auto& [dir, name] : names) Publish(dir, ChangeAction::kModified, what, name);
}

void Vfs::Publish(InodeId dir, ChangeAction action, uint32_t what, std::string_view name) {
  ChangeFeed& feed = state_->changes;
  if (!feed.Watched()) return;
  feed.Publish(dir, action, what, name);
  if (!feed.TreeWatched()) return;
  // Tree watches above: the path from each ancestor, built upwards. Directories know their
  // parent; their names are found in it.
  std::string path(name);
  InodeId at = dir;
  for (uint64_t steps = 0; at != root_.inode && steps <= kMaxAncestorWalk; ++steps) {
    Result<Inode> inode = metadata_.GetInode(at);
    if (!inode.ok() || inode->parent == stores::kInvalidInode || inode->parent == at) return;
    Result<std::string> leaf = NameIn(inode->parent, at);
    if (!leaf.ok()) return;  // moved or removed meanwhile: its changes are no longer below
    path = *leaf + "/" + path;
    at = inode->parent;
    feed.PublishBelow(at, action, what, path);
  }
}

Result<std::string> Vfs::NameIn(InodeId dir, InodeId child) {
  constexpr size_t kPage = 512;
  std::unique_ptr<MetadataTxn> txn = metadata_.Begin();
  uint64_t after = 0;
  for (;;) {
    ASSIGN_OR_RETURN(std::vector<stores::DirEntry> page, txn->List(dir, after, kPage));
    for (const stores::DirEntry& e : page) {
      if (e.child == child) return e.name;
    }
    if (page.size() < kPage) return Errc::kNotFound;
    after = page.back().cookie;
  }
}

Result<DirListing> Vfs::ReadDir(const Caller& raw_caller, FileId dir, uint64_t cookie,
                                size_t max_entries, bool with_attrs) {
  RETURN_IF_ERROR(Admit(raw_caller, false));
  Caller caller = Effective(raw_caller);
  ASSIGN_OR_RETURN(Inode d, Load(dir));
  if (!d.is_directory()) return Errc::kNotDir;
  if (!MayAccess(caller, d, 4)) return Errc::kAccess;
  if (cookie >= d.next_cookie && cookie >= kFirstCookie) return Errc::kBadCookie;
  DirListing out;
  out.dir_attr = ToAttr(d);
  std::unique_ptr<MetadataTxn> txn = metadata_.Begin();
  // Ask for one more than wanted to learn whether the listing ends here.
  ASSIGN_OR_RETURN(std::vector<stores::DirEntry> entries,
                   txn->List(d.id, std::max<uint64_t>(cookie, kFirstCookie - 1), max_entries + 1));
  out.eof = entries.size() <= max_entries;
  if (!out.eof) entries.resize(max_entries);
  out.entries.reserve(entries.size());
  std::vector<Result<Inode>> children;
  if (with_attrs) {
    std::vector<InodeId> ids;
    ids.reserve(entries.size());
    for (const stores::DirEntry& e : entries) ids.push_back(e.child);
    children = metadata_.GetInodes(ids);  // one read where a read is a round trip
  }
  for (size_t i = 0; i < entries.size(); ++i) {
    DirListEntry le;
    le.name = std::move(entries[i].name);
    le.inode = entries[i].child;
    le.cookie = entries[i].cookie;
    if (i < children.size() && children[i].ok()) le.attr = ToAttr(*children[i]);
    out.entries.push_back(std::move(le));
  }
  return out;
}

Result<Attr> Vfs::Parent(const Caller& caller, FileId dir) {
  RETURN_IF_ERROR(Admit(caller, false));
  ASSIGN_OR_RETURN(Inode d, Load(dir));
  if (!d.is_directory()) return Errc::kNotDir;
  ASSIGN_OR_RETURN(Inode p, metadata_.GetInode(d.parent));
  return ToAttr(p);
}

Result<FsStats> Vfs::StatFs(const Caller& caller, FileId file) {
  RETURN_IF_ERROR(Admit(caller, false));
  ASSIGN_OR_RETURN(Inode inode, Load(file));
  (void)inode;
  stores::StoreStats st = metadata_.Stats();
  stores::BlockStore::Capacity cap = blocks_.GetCapacity();
  FsStats fs;
  fs.total_bytes = cap.total_bytes;
  fs.free_bytes = cap.free_bytes;
  fs.avail_bytes = cap.avail_bytes;
  fs.total_files = st.total_files;
  fs.free_files = st.free_files;
  fs.avail_files = st.free_files;
  // What the caller may still take (docs/quotas.md): the tightest of its own, its group's and
  // the share's limits, when tighter than the storage, is the file system it sees (df shows
  // the quota, as on a kernel server with quotas).
  const Caller effective = Effective(caller);
  const QuotaTable::Room room = quotas_->RoomFor(effective.uid, effective.gid);
  if (room.avail_bytes < fs.avail_bytes) {
    fs.total_bytes = std::min(fs.total_bytes, room.limit_bytes);
    fs.free_bytes = fs.avail_bytes = room.avail_bytes;
  }
  fs.quota_used = room.used_bytes;
  fs.quota_avail_hard = std::min(fs.avail_bytes, room.avail_bytes);
  fs.quota_avail_soft = std::min(fs.quota_avail_hard, room.avail_soft_bytes);
  if (room.avail_files < fs.avail_files) {
    fs.total_files = std::min(fs.total_files, room.limit_files);
    fs.free_files = fs.avail_files = room.avail_files;
  }
  return fs;
}

}  // namespace dittofs::core

// SPDX-License-Identifier: Apache-2.0
// NFSv4 attributes (RFC 8881 §5): what the runtime's Attr and FsStats become, owner strings,
// GETATTR, VERIFY and NVERIFY.
#include "nfs/v4/attrs.h"

#include <charconv>

#include "base/casefold.h"
#include "nfs/v4/compound.h"
#include "nfs/v4/errors.h"

namespace dittofs::nfs {

namespace {

bitmap4 Bits(std::initializer_list<uint32_t> bits) {
  bitmap4 b;
  for (uint32_t bit : bits) b.set(bit);
  return b;
}

nfstime4 ToTime4(const Timespec& t) { return {t.sec, t.nsec}; }

}  // namespace

const bitmap4& SupportedAttrs(uint32_t minor) {
  static const bitmap4 v0 = Bits({FATTR4_SUPPORTED_ATTRS,
                                  FATTR4_TYPE,
                                  FATTR4_FH_EXPIRE_TYPE,
                                  FATTR4_CHANGE,
                                  FATTR4_SIZE,
                                  FATTR4_LINK_SUPPORT,
                                  FATTR4_SYMLINK_SUPPORT,
                                  FATTR4_NAMED_ATTR,
                                  FATTR4_FSID,
                                  FATTR4_UNIQUE_HANDLES,
                                  FATTR4_LEASE_TIME,
                                  FATTR4_RDATTR_ERROR,
                                  FATTR4_ACL,
                                  FATTR4_ACLSUPPORT,
                                  FATTR4_ARCHIVE,
                                  FATTR4_CANSETTIME,
                                  FATTR4_CASE_INSENSITIVE,
                                  FATTR4_CASE_PRESERVING,
                                  FATTR4_CHOWN_RESTRICTED,
                                  FATTR4_FILEHANDLE,
                                  FATTR4_FILEID,
                                  FATTR4_FILES_AVAIL,
                                  FATTR4_FILES_FREE,
                                  FATTR4_FILES_TOTAL,
                                  FATTR4_HIDDEN,
                                  FATTR4_HOMOGENEOUS,
                                  FATTR4_MAXFILESIZE,
                                  FATTR4_MAXLINK,
                                  FATTR4_MAXNAME,
                                  FATTR4_MAXREAD,
                                  FATTR4_MAXWRITE,
                                  FATTR4_MODE,
                                  FATTR4_NO_TRUNC,
                                  FATTR4_NUMLINKS,
                                  FATTR4_OWNER,
                                  FATTR4_OWNER_GROUP,
                                  FATTR4_QUOTA_AVAIL_HARD,
                                  FATTR4_QUOTA_AVAIL_SOFT,
                                  FATTR4_QUOTA_USED,
                                  FATTR4_RAWDEV,
                                  FATTR4_SPACE_AVAIL,
                                  FATTR4_SPACE_FREE,
                                  FATTR4_SPACE_TOTAL,
                                  FATTR4_SPACE_USED,
                                  FATTR4_SYSTEM,
                                  FATTR4_TIME_ACCESS,
                                  FATTR4_TIME_ACCESS_SET,
                                  FATTR4_TIME_CREATE,
                                  FATTR4_TIME_DELTA,
                                  FATTR4_TIME_METADATA,
                                  FATTR4_TIME_MODIFY,
                                  FATTR4_TIME_MODIFY_SET,
                                  FATTR4_MOUNTED_ON_FILEID});
  static const bitmap4 v1 = [] {
    bitmap4 b = v0;
    b.set(FATTR4_DACL);
    b.set(FATTR4_SACL);
    b.set(FATTR4_MODE_SET_MASKED);
    b.set(FATTR4_SUPPATTR_EXCLCREAT);
    return b;
  }();
  static const bitmap4 v2 = [] {
    bitmap4 b = v1;
    b.set(FATTR4_XATTR_SUPPORT);
    return b;
  }();
  return minor == 0 ? v0 : minor == 1 ? v1 : v2;
}

const bitmap4& SettableAttrs() {
  static const bitmap4 b =
      Bits({FATTR4_SIZE, FATTR4_ACL, FATTR4_DACL, FATTR4_SACL, FATTR4_ARCHIVE, FATTR4_HIDDEN,
            FATTR4_MODE, FATTR4_OWNER, FATTR4_OWNER_GROUP, FATTR4_SYSTEM, FATTR4_TIME_ACCESS_SET,
            FATTR4_TIME_CREATE, FATTR4_TIME_MODIFY_SET, FATTR4_MODE_SET_MASKED});
  return b;
}

// What EXCLUSIVE4_1 may set with its verifier (RFC 8881 §5.8.3.1): all settable attributes;
// the verifier is kept apart from the times.
const bitmap4& ExclusiveCreateAttrs() { return SettableAttrs(); }

bool WantsFsStats(const bitmap4& want) {
  for (uint32_t bit : {FATTR4_FILES_AVAIL, FATTR4_FILES_FREE, FATTR4_FILES_TOTAL,
                       FATTR4_SPACE_AVAIL, FATTR4_SPACE_FREE, FATTR4_SPACE_TOTAL,
                       FATTR4_QUOTA_AVAIL_HARD, FATTR4_QUOTA_AVAIL_SOFT, FATTR4_QUOTA_USED}) {
    if (want.test(bit)) return true;
  }
  return false;
}

void FillFromAttr(const AttrSource& src, const bitmap4& want, Fattr4* out) {
  Fattr4& f = *out;
  const core::Attr& a = *src.attr;
  f.mask = want;
  f.supported_attrs = SupportedAttrs(src.minor);
  f.type = Ftype4Of(a.type);
  f.fh_expire_type = FH4_PERSISTENT;
  f.change = a.change;
  f.size = a.size;
  f.link_support = true;
  f.symlink_support = true;
  f.named_attr = false;
  f.fsid = src.fsid;
  f.unique_handles = true;
  f.lease_time = src.lease_seconds;
  f.rdattr_error = nfsstat4::NFS4_OK;
  f.acl = src.acl;
  f.dacl = src.dacl;
  f.dacl_flag = src.dacl_flag;
  f.sacl = src.sacl;
  f.sacl_flag = src.sacl_flag;
  f.aclsupport = ACL4_SUPPORT_ALLOW_ACL | ACL4_SUPPORT_DENY_ACL | ACL4_SUPPORT_AUDIT_ACL |
                 ACL4_SUPPORT_ALARM_ACL;
  f.archive = (a.dos_attributes & core::kDosArchive) != 0;
  f.hidden = (a.dos_attributes & core::kDosHidden) != 0;
  f.system = (a.dos_attributes & core::kDosSystem) != 0;
  f.cansettime = true;
  f.case_insensitive = src.case_insensitive;
  f.case_preserving = true;
  f.chown_restricted = true;
  f.filehandle = src.handle;
  f.fileid = src.fileid;
  if (src.fs != nullptr) {
    f.files_avail = src.fs->avail_files;
    f.files_free = src.fs->free_files;
    f.files_total = src.fs->total_files;
    f.space_avail = src.fs->avail_bytes;
    f.space_free = src.fs->free_bytes;
    f.space_total = src.fs->total_bytes;
    // RFC 7530 §5.8.2.28-30: what the caller's quota leaves it, and what its files hold.
    f.quota_avail_hard = src.fs->quota_avail_hard;
    f.quota_avail_soft = src.fs->quota_avail_soft;
    f.quota_used = src.fs->quota_used;
  }
  f.homogeneous = true;
  f.maxfilesize = static_cast<uint64_t>(INT64_MAX);
  f.maxlink = 65535;
  f.maxname = src.max_name;
  f.maxread = src.max_io;
  f.maxwrite = src.max_io;
  f.mode = a.mode & 07777;
  f.no_trunc = true;
  f.numlinks = a.nlink;
  f.owner = src.owner;
  f.owner_group = src.owner_group;
  f.rawdev = {a.rdev_major, a.rdev_minor};
  f.space_used = a.used;
  f.time_access = ToTime4(a.atime);
  f.time_create = ToTime4(a.btime);
  f.time_delta = {0, 1};
  f.time_metadata = ToTime4(a.ctime);
  f.time_modify = ToTime4(a.mtime);
  f.mounted_on_fileid = src.mounted_on_fileid;
  f.suppattr_exclcreat = ExclusiveCreateAttrs();
  f.xattr_support = src.xattrs;
  // Only what is both wanted and supported is sent.
  bitmap4 mask;
  const bitmap4& supported = SupportedAttrs(src.minor);
  for (size_t w = 0; w < want.words.size() && w < supported.words.size(); ++w) {
    mask.words.push_back(want.words[w] & supported.words[w]);
  }
  if (src.fs == nullptr) {
    for (uint32_t bit : {FATTR4_FILES_AVAIL, FATTR4_FILES_FREE, FATTR4_FILES_TOTAL,
                         FATTR4_SPACE_AVAIL, FATTR4_SPACE_FREE, FATTR4_SPACE_TOTAL,
                         FATTR4_QUOTA_AVAIL_HARD, FATTR4_QUOTA_AVAIL_SOFT, FATTR4_QUOTA_USED}) {
      if (mask.test(bit)) mask.words[bit / 32] &= ~(1u << (bit % 32));
    }
  }
  mask.Trim();
  f.mask = std::move(mask);
}

std::string Nfs4Service::OwnerString(uint32_t id, bool group) const {
  if (!options_.numeric_ids && users_ != nullptr) {
    if (group) {
      Result<core::GroupRecord> g = users_->FindGroupByGid(id);
      if (g.ok()) return g->name + "@" + options_.idmap_domain;
    } else {
      Result<core::UserRecord> u = users_->FindUserByUid(id);
      if (u.ok()) return u->name + "@" + options_.idmap_domain;
    }
  }
  return std::to_string(id);
}

nfsstat4 Nfs4Service::ParseOwner(std::string_view s, bool group, uint32_t* id) const {
  if (s.empty()) return nfsstat4::NFS4ERR_BADOWNER;
  // A number: what Linux sends with AUTH_SYS (RFC 8881 §5.9 allows it).
  uint32_t n = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), n);
  if (ec == std::errc() && end == s.data() + s.size()) {
    *id = n;
    return nfsstat4::NFS4_OK;
  }
  if (users_ == nullptr) return nfsstat4::NFS4ERR_BADOWNER;
  std::string_view name = s;
  size_t at = s.rfind('@');
  if (at != std::string_view::npos) {
    std::string_view domain = s.substr(at + 1);
    if (!EqualFolded(domain, options_.idmap_domain)) return nfsstat4::NFS4ERR_BADOWNER;
    name = s.substr(0, at);
  }
  if (group) {
    Result<core::GroupRecord> g = users_->FindGroup(name);
    if (!g.ok()) return nfsstat4::NFS4ERR_BADOWNER;
    *id = g->gid;
  } else {
    Result<core::UserRecord> u = users_->FindUser(name);
    if (!u.ok()) return nfsstat4::NFS4ERR_BADOWNER;
    *id = u->uid;
  }
  return nfsstat4::NFS4_OK;
}

namespace {
constexpr std::string_view kOwnerWho = "OWNER@";
constexpr std::string_view kGroupWho = "GROUP@";
constexpr std::string_view kEveryoneWho = "EVERYONE@";
constexpr std::string_view kAuthenticatedWho = "AUTHENTICATED@";
}  // namespace

std::vector<nfsace4> Nfs4Service::AclToWire(const core::Acl& acl) const {
  std::vector<nfsace4> out;
  out.reserve(acl.aces.size());
  for (const core::Ace& ace : acl.aces) {
    nfsace4 w;
    w.type = static_cast<uint32_t>(ace.type);
    w.flag = ace.flags;
    w.access_mask = ace.mask;
    switch (ace.who) {
      case core::AceWho::kOwner:
        w.who = kOwnerWho;
        break;
      case core::AceWho::kGroup:
        w.who = kGroupWho;
        w.flag |= ACE4_IDENTIFIER_GROUP;  // RFC 8881 §6.2.1.5: GROUP@ carries the flag
        break;
      case core::AceWho::kEveryone:
        w.who = kEveryoneWho;
        break;
      case core::AceWho::kAuthenticated:
        w.who = kAuthenticatedWho;
        break;
      case core::AceWho::kUser:
        w.who = OwnerString(ace.id, false);
        break;
      case core::AceWho::kGroupId:
        w.who = OwnerString(ace.id, true);
        w.flag |= ACE4_IDENTIFIER_GROUP;
        break;
    }
    out.push_back(std::move(w));
  }
  return out;
}

nfsstat4 Nfs4Service::AclFromWire(const std::vector<nfsace4>& wire, core::Acl* out) const {
  core::Acl acl;
  acl.aces.reserve(wire.size());
  for (const nfsace4& w : wire) {
    if (w.type > ACE4_SYSTEM_ALARM_ACE_TYPE) return nfsstat4::NFS4ERR_INVAL;
    core::Ace ace;
    ace.type = static_cast<core::AceType>(w.type);
    ace.flags = w.flag & ~ACE4_IDENTIFIER_GROUP;
    ace.mask = w.access_mask;
    const bool group = (w.flag & ACE4_IDENTIFIER_GROUP) != 0;
    if (w.who == kOwnerWho) {
      ace.who = core::AceWho::kOwner;
    } else if (w.who == kGroupWho) {
      ace.who = core::AceWho::kGroup;
    } else if (w.who == kEveryoneWho) {
      ace.who = core::AceWho::kEveryone;
    } else if (w.who == kAuthenticatedWho) {
      ace.who = core::AceWho::kAuthenticated;
    } else if (!w.who.empty() && w.who.back() == '@') {
      return nfsstat4::NFS4ERR_BADOWNER;  // INTERACTIVE@, NETWORK@ and the like: not kept
    } else {
      nfsstat4 s = ParseOwner(w.who, group, &ace.id);
      if (s != nfsstat4::NFS4_OK) return s;
      ace.who = group ? core::AceWho::kGroupId : core::AceWho::kUser;
    }
    acl.aces.push_back(ace);
  }
  Status valid = core::ValidateAcl(acl);
  if (!valid.ok()) return nfsstat4::NFS4ERR_INVAL;
  *out = std::move(acl);
  return nfsstat4::NFS4_OK;
}

bool Nfs4Service::WantsAcl(const bitmap4& want) {
  return want.test(FATTR4_ACL) || want.test(FATTR4_DACL) || want.test(FATTR4_SACL);
}

void Nfs4Service::SetAclAttrs(const core::Acl& acl, const bitmap4& want, AttrSource* src) const {
  if (want.test(FATTR4_ACL)) src->acl = AclToWire(acl);
  if (!want.test(FATTR4_DACL) && !want.test(FATTR4_SACL)) return;
  core::Acl dacl, sacl;
  for (const core::Ace& ace : acl.aces) {
    const bool allow_deny = core::IsAccessAceType(ace.type);
    (allow_deny ? dacl : sacl).aces.push_back(ace);
  }
  src->dacl = AclToWire(dacl);
  src->sacl = AclToWire(sacl);
  src->dacl_flag = acl.flags & core::kAclDaclFlags;
  src->sacl_flag = (acl.flags & core::kAclSaclFlags) >> core::kAclSaclShift;
}

nfsstat4 Nfs4Service::FillAttrs(Ctx& c, const bitmap4& want, Fattr4* out) {
  if (c.current.none()) return nfsstat4::NFS4ERR_NOFILEHANDLE;
  return FillAttrsOf(c, c.current, nullptr, want, out);
}

nfsstat4 Nfs4Service::FillAttrsOf(Ctx& c, const Nfs4Fh& fh, const core::Attr* known,
                                  const bitmap4& want, Fattr4* out, const core::FsStats* fs) {
  AttrSource src;
  src.minor = c.minor;
  src.lease_seconds = lease_seconds();
  src.max_io = options_.max_io;
  FileHandleCodec::Handle bytes = fh.is_pseudo() ? handles_.Encode(0, core::FileId{fh.pseudo, 0})
                                                 : handles_.Encode(fh.share, fh.file);
  src.handle = nfs_fh4_owned::CopyFrom(ByteView(bytes.data(), bytes.size()));
  core::Attr attr;
  core::FsStats stats;
  if (fh.is_pseudo()) {
    // A pseudo directory: read-only, root's, in a file system of its own (fsid 0,0), so that
    // clients see the crossing into a share as a mount point.
    attr.type = core::FileType::kDirectory;
    attr.mode = 0555;
    attr.nlink = 2;
    attr.size = 4096;
    attr.used = 4096;
    attr.change = 1;
    src.fileid = fh.pseudo;
    src.mounted_on_fileid = fh.pseudo;
    src.fsid = {0, 0};
    src.max_name = 255;
    src.attr = &attr;
    src.owner = OwnerString(0, false);
    src.owner_group = OwnerString(0, true);
    if (WantsAcl(want)) SetAclAttrs(core::AclWithMode({}, attr.mode, true), want, &src);
    if (WantsFsStats(want)) src.fs = &stats;
    FillFromAttr(src, want, out);
    return nfsstat4::NFS4_OK;
  }
  Result<core::ShareUse> use = UseShare(shares_, fh);
  if (!use.ok()) return ToNfs4(use.status());
  if (known != nullptr) {
    attr = *known;
  } else {
    Result<core::Attr> a = use->vfs().GetAttr(c.caller, fh.file);
    if (!a.ok()) return ToNfs4(a.status());
    attr = *a;
  }
  if (WantsFsStats(want)) {
    if (fs != nullptr) {
      stats = *fs;
    } else {
      Result<core::FsStats> st = use->vfs().StatFs(c.caller, fh.file);
      if (!st.ok()) return ToNfs4(st.status());
      stats = *st;
    }
    src.fs = &stats;
  }
  src.attr = &attr;
  src.fileid = attr.id.inode;
  src.mounted_on_fileid = attr.id.inode;
  if (attr.id == use->vfs().root()) {
    // The share's root covers its name in the pseudo fs: readdir there reports this.
    src.mounted_on_fileid = PseudoFs::IdOf(use->vfs().name());
  }
  src.fsid = {fh.share, 0};
  src.max_name = static_cast<uint32_t>(use->vfs().options().names.max_bytes);
  src.case_insensitive = use->vfs().options().names.case_insensitive;
  src.xattrs = true;
  if (want.test(FATTR4_OWNER)) src.owner = OwnerString(attr.uid, false);
  if (want.test(FATTR4_OWNER_GROUP)) src.owner_group = OwnerString(attr.gid, true);
  if (WantsAcl(want)) {
    // A file without an ACL shows the ACL its mode stands for (docs/acl.md).
    Result<core::Acl> acl = use->vfs().GetAcl(c.caller, fh.file);
    if (!acl.ok()) return ToNfs4(acl.status());
    const bool directory = attr.type == core::FileType::kDirectory;
    SetAclAttrs(acl->empty() ? core::AclWithMode({}, attr.mode, directory) : *acl, want, &src);
  }
  FillFromAttr(src, want, out);
  return nfsstat4::NFS4_OK;
}

GETATTR4res Nfs4Service::GetAttr(Ctx& c, const GETATTR4args& a) {
  GETATTR4res r;
  // The write-only attributes cannot be read (RFC 7530 §5.5, RFC 8881 §5.6).
  if (a.attr_request.test(FATTR4_TIME_ACCESS_SET) || a.attr_request.test(FATTR4_TIME_MODIFY_SET) ||
      a.attr_request.test(FATTR4_MODE_SET_MASKED)) {
    r.status = nfsstat4::NFS4ERR_INVAL;
    return r;
  }
  Fattr4 f;
  r.status = FillAttrs(c, a.attr_request, &f);
  if (r.status != nfsstat4::NFS4_OK) return r;
  EncodeAttrs(a.attr_request, f, &r.obj_attributes);
  return r;
}

nfsstat4 Nfs4Service::Verify(Ctx& c, const fattr4& attrs, bool want_same) {
  if (c.current.none()) return nfsstat4::NFS4ERR_NOFILEHANDLE;
  Fattr4 given;
  nfsstat4 s = DecodeAttrs(attrs, &given);
  if (s != nfsstat4::NFS4_OK) return s;
  // RFC 8881 §18.31.3: rdattr_error and the write-only attributes cannot be compared.
  if (given.mask.test(FATTR4_RDATTR_ERROR) || given.mask.test(FATTR4_TIME_ACCESS_SET) ||
      given.mask.test(FATTR4_TIME_MODIFY_SET) || given.mask.test(FATTR4_MODE_SET_MASKED)) {
    return nfsstat4::NFS4ERR_INVAL;
  }
  const bitmap4& supported = SupportedAttrs(c.minor);
  for (size_t w = 0; w < given.mask.words.size(); ++w) {
    uint32_t extra = given.mask.words[w] & ~(w < supported.words.size() ? supported.words[w] : 0);
    if (extra != 0) return nfsstat4::NFS4ERR_ATTRNOTSUPP;
  }
  Fattr4 mine;
  s = FillAttrs(c, given.mask, &mine);
  if (s != nfsstat4::NFS4_OK) return s;
  // Compared as the bytes each side encodes (RFC 8881 §18.31.3 compares the values).
  fattr4 a, b;
  EncodeAttrs(given.mask, given, &a);
  EncodeAttrs(given.mask, mine, &b);
  const bool same = a.attrmask == b.attrmask && a.owned_vals == b.owned_vals;
  if (want_same) return same ? nfsstat4::NFS4_OK : nfsstat4::NFS4ERR_NOT_SAME;
  return same ? nfsstat4::NFS4ERR_SAME : nfsstat4::NFS4_OK;
}

}  // namespace dittofs::nfs

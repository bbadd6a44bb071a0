// SPDX-License-Identifier: Apache-2.0
// NFSv4 namespace, attribute and data operations over the shares' Vfs and the pseudo fs.
#include <algorithm>

#include "base/utf8.h"
#include "nfs/common/caller.h"
#include "nfs/v4/attrs.h"
#include "nfs/v4/compound.h"
#include "nfs/v4/errors.h"

namespace dittofs::nfs {

namespace {

// RFC 8881 §14.2: component names are UTF-8, neither empty nor "." nor "..".
nfsstat4 CheckName(std::string_view name) {
  if (name.empty()) return nfsstat4::NFS4ERR_INVAL;
  if (name == "." || name == "..") return nfsstat4::NFS4ERR_BADNAME;
  if (name.size() > 255) return nfsstat4::NFS4ERR_NAMETOOLONG;
  for (size_t pos = 0; pos < name.size();) {
    if (DecodeUtf8(name, &pos) == kNotUtf8) return nfsstat4::NFS4ERR_INVAL;
  }
  if (name.find('/') != std::string_view::npos || name.find('\0') != std::string_view::npos) {
    return nfsstat4::NFS4ERR_BADNAME;
  }
  return nfsstat4::NFS4_OK;
}

change_info4 ToCinfo(const core::Wcc& w) {
  change_info4 c;
  if (w.change) {
    c.atomic = w.change->atomic;
    c.before = w.change->before;
    c.after = w.change->after;
  }
  return c;
}

Timespec FromTime4(const nfstime4& t) { return {t.seconds, t.nseconds}; }

// Cookies 1 and 2 are never given (RFC 8881 §18.23.3 reserves them); the runtime numbers its
// entries from 3.
constexpr uint64_t kFirstCookie = 3;

verifier4 CookieVerifier(const core::Attr& dir) {
  verifier4 v{};
  StoreBe64(v.data(), (uint64_t{dir.id.generation} << 32) | 0x0d170f5u);
  return v;
}

bool IsZero(const verifier4& v) {
  return std::all_of(v.begin(), v.end(), [](std::byte b) { return b == std::byte{0}; });
}

}  // namespace

nfsstat4 NeedShareFile(const Nfs4Fh& fh, nfsstat4 pseudo_status) {
  if (fh.none()) return nfsstat4::NFS4ERR_NOFILEHANDLE;
  if (fh.is_pseudo()) return pseudo_status;
  return nfsstat4::NFS4_OK;
}

nfsstat4 Nfs4Service::ToSetAttrs(Ctx& c, const fattr4& in, const core::Attr* current,
                                 core::SetAttrs* out, bitmap4* attrset,
                                 std::optional<core::Acl>* acl) {
  Fattr4 f;
  nfsstat4 s = DecodeAttrs(in, &f);
  if (s != nfsstat4::NFS4_OK) return s;
  const bitmap4& supported = SupportedAttrs(c.minor);
  const bitmap4& settable = SettableAttrs();
  for (size_t w = 0; w < f.mask.words.size(); ++w) {
    uint32_t bits = f.mask.words[w];
    uint32_t sup = w < supported.words.size() ? supported.words[w] : 0;
    uint32_t set = w < settable.words.size() ? settable.words[w] : 0;
    if ((bits & ~sup) != 0) return nfsstat4::NFS4ERR_ATTRNOTSUPP;
    if ((bits & ~set) != 0) return nfsstat4::NFS4ERR_INVAL;  // read-only attributes
  }
  core::SetAttrs& a = *out;
  if (f.mask.test(FATTR4_ACL)) {
    // acl and dacl/sacl say the same thing two ways: one at a time.
    if (f.mask.test(FATTR4_DACL) || f.mask.test(FATTR4_SACL)) return nfsstat4::NFS4ERR_INVAL;
    core::Acl given;
    s = AclFromWire(f.acl, &given);
    if (s != nfsstat4::NFS4_OK) return s;
    *acl = std::move(given);
  } else if (f.mask.test(FATTR4_DACL) || f.mask.test(FATTR4_SACL)) {
    // RFC 8881 §6.2.2: the dacl replaces the allow/deny ACEs, the sacl the audit/alarm ones,
    // each with its flags; the other part of an existing file's ACL stays.
    core::Acl now;
    if (current != nullptr) {
      Result<core::ShareUse> use = UseShare(shares_, c.current);
      if (!use.ok()) return ToNfs4(use.status());
      Result<core::Acl> kept = use->vfs().GetAcl(c.caller, c.current.file);
      if (!kept.ok()) return ToNfs4(kept.status());
      now = kept->empty()
                ? core::AclWithMode({}, current->mode, current->type == core::FileType::kDirectory)
                : std::move(*kept);
    }
    nfsstat4 bad = nfsstat4::NFS4_OK;
    const auto part = [&](bool dacl_part, const std::vector<nfsace4>& wire, uint32_t flag,
                          core::Acl* merged) {
      if (!(dacl_part ? f.mask.test(FATTR4_DACL) : f.mask.test(FATTR4_SACL))) {
        for (const core::Ace& ace : now.aces) {
          const bool allow_deny = core::IsAccessAceType(ace.type);
          if (allow_deny == dacl_part) merged->aces.push_back(ace);
        }
        merged->flags |= now.flags & (dacl_part ? core::kAclDaclFlags : core::kAclSaclFlags);
        return;
      }
      core::Acl given;
      if ((flag & ~(ACL4_AUTO_INHERIT | ACL4_PROTECTED | ACL4_DEFAULTED)) != 0) {
        bad = nfsstat4::NFS4ERR_INVAL;
        return;
      }
      nfsstat4 st = AclFromWire(wire, &given);
      if (st != nfsstat4::NFS4_OK) {
        bad = st;
        return;
      }
      for (const core::Ace& ace : given.aces) {
        const bool allow_deny = core::IsAccessAceType(ace.type);
        if (allow_deny != dacl_part) bad = nfsstat4::NFS4ERR_INVAL;  // an ACE of the other list
        merged->aces.push_back(ace);
      }
      merged->flags |= dacl_part ? flag : flag << core::kAclSaclShift;
    };
    core::Acl merged;
    part(true, f.dacl, f.dacl_flag, &merged);
    part(false, f.sacl, f.sacl_flag, &merged);
    if (bad != nfsstat4::NFS4_OK) return bad;
    if (merged.aces.size() > core::kMaxAces) return nfsstat4::NFS4ERR_INVAL;
    if (merged.aces.empty()) merged.flags = 0;
    *acl = std::move(merged);
  }
  if (f.mask.test(FATTR4_SIZE)) a.set_size(f.size);
  if (f.mask.test(FATTR4_MODE)) a.set_mode(f.mode);
  if (f.mask.test(FATTR4_MODE_SET_MASKED)) {
    // RFC 8881 §6.2.4: the bits under the mask are set, the others kept. Not with mode too.
    if (f.mask.test(FATTR4_MODE)) return nfsstat4::NFS4ERR_INVAL;
    const uint32_t base = current != nullptr ? current->mode & 07777 : 0;
    a.set_mode((base & ~f.mode_set_mask) | (f.mode_set_masked & f.mode_set_mask));
  }
  // An empty owner or group is no name at all: INVAL (RFC 7530 §5.9), not BADOWNER.
  if ((f.mask.test(FATTR4_OWNER) && f.owner.empty()) ||
      (f.mask.test(FATTR4_OWNER_GROUP) && f.owner_group.empty())) {
    return nfsstat4::NFS4ERR_INVAL;
  }
  if (f.mask.test(FATTR4_OWNER)) {
    uint32_t uid;
    s = ParseOwner(f.owner, false, &uid);
    if (s != nfsstat4::NFS4_OK) return s;
    a.set_uid(uid);
  }
  if (f.mask.test(FATTR4_OWNER_GROUP)) {
    uint32_t gid;
    s = ParseOwner(f.owner_group, true, &gid);
    if (s != nfsstat4::NFS4_OK) return s;
    a.set_gid(gid);
  }
  if (f.mask.test(FATTR4_TIME_ACCESS_SET)) {
    if (f.time_access_set.set_it == time_how4::SET_TO_SERVER_TIME4) {
      a.mask |= core::kSetAtimeNow;
    } else {
      a.set_atime(FromTime4(f.time_access_set.time));
    }
  }
  if (f.mask.test(FATTR4_TIME_MODIFY_SET)) {
    if (f.time_modify_set.set_it == time_how4::SET_TO_SERVER_TIME4) {
      a.mask |= core::kSetMtimeNow;
    } else {
      a.set_mtime(FromTime4(f.time_modify_set.time));
    }
  }
  if (f.mask.test(FATTR4_TIME_CREATE)) a.set_btime(FromTime4(f.time_create));
  if (f.mask.test(FATTR4_ARCHIVE) || f.mask.test(FATTR4_HIDDEN) || f.mask.test(FATTR4_SYSTEM)) {
    uint32_t dos = current != nullptr ? current->dos_attributes : 0;
    auto put = [&](uint32_t bit, bool on) { dos = on ? (dos | bit) : (dos & ~bit); };
    if (f.mask.test(FATTR4_ARCHIVE)) put(core::kDosArchive, f.archive);
    if (f.mask.test(FATTR4_HIDDEN)) put(core::kDosHidden, f.hidden);
    if (f.mask.test(FATTR4_SYSTEM)) put(core::kDosSystem, f.system);
    a.set_dos_attributes(dos & core::kDosKept);
  }
  *attrset = f.mask;
  attrset->Trim();
  return nfsstat4::NFS4_OK;
}

nfsstat4 Nfs4Service::Lookup(Ctx& c, const LOOKUP4args& a) {
  if (c.current.none()) return nfsstat4::NFS4ERR_NOFILEHANDLE;
  nfsstat4 s = CheckName(a.objname);
  if (s != nfsstat4::NFS4_OK) return s;
  if (c.current.is_pseudo()) {
    const PseudoFs& fs = c.Pseudo(shares_);
    const PseudoFs::Node* dir = fs.Find(c.current.pseudo);
    if (dir == nullptr) return nfsstat4::NFS4ERR_STALE;
    const PseudoFs::Entry* e = fs.Lookup(*dir, a.objname);
    if (e == nullptr) return nfsstat4::NFS4ERR_NOENT;
    Nfs4Fh fh;
    if (e->share == 0) {
      fh.kind = Nfs4Fh::Kind::kPseudo;
      fh.pseudo = e->pseudo;
    } else {
      // Crossing into the share: its access policy decides (RFC 8881 §7.4).
      Result<core::ShareUse> use = shares_.Use(e->share);
      if (!use.ok()) return ToNfs4(use.status());
      Status admitted = use->vfs().CheckMount(c.caller);
      if (!admitted.ok()) return nfsstat4::NFS4ERR_ACCESS;
      // RFC 9289: a share that requires TLS is entered over TLS only (RFC 8881 §2.6.3.1).
      // RFC 8881 §2.6.3.1: and so does a flavor the share does not accept; SECINFO itself
      // looks across (c.secinfo).
      if (!c.secinfo && WrongSecurity(c.call, use->vfs().options())) {
        return nfsstat4::NFS4ERR_WRONGSEC;
      }
      fh.kind = Nfs4Fh::Kind::kShare;
      fh.share = e->share;
      fh.file = use->vfs().root();
    }
    c.SetCurrent(fh);
    return nfsstat4::NFS4_OK;
  }
  Result<core::ShareUse> use = UseShare(shares_, c.current);
  if (!use.ok()) return ToNfs4(use.status());
  Result<core::Attr> found = use->vfs().Lookup(c.caller, c.current.file, a.objname, nullptr);
  if (!found.ok()) {
    if (found.status().code() == Errc::kNotDir) {
      // RFC 8881 §18.15.3: LOOKUP in a symbolic link is NFS4ERR_SYMLINK.
      Result<core::Attr> self = use->vfs().GetAttr(c.caller, c.current.file);
      if (self.ok() && self->type == core::FileType::kSymlink) return nfsstat4::NFS4ERR_SYMLINK;
    }
    return ToNfs4(found.status());
  }
  Nfs4Fh fh = c.current;
  fh.file = found->id;
  c.SetCurrent(fh);
  return nfsstat4::NFS4_OK;
}

nfsstat4 Nfs4Service::Lookupp(Ctx& c) {
  if (c.current.none()) return nfsstat4::NFS4ERR_NOFILEHANDLE;
  const PseudoFs& fs = c.Pseudo(shares_);
  Nfs4Fh fh;
  if (c.current.is_pseudo()) {
    if (c.current.pseudo == kPseudoRootId) return nfsstat4::NFS4ERR_NOENT;
    const PseudoFs::Node* n = fs.Find(c.current.pseudo);
    if (n == nullptr) return nfsstat4::NFS4ERR_STALE;
    fh.kind = Nfs4Fh::Kind::kPseudo;
    fh.pseudo = n->parent;
    c.SetCurrent(fh);
    return nfsstat4::NFS4_OK;
  }
  Result<core::ShareUse> use = UseShare(shares_, c.current);
  if (!use.ok()) return ToNfs4(use.status());
  if (c.current.file == use->vfs().root()) {
    auto mount = fs.MountPoint(c.current.share);
    if (!mount) return nfsstat4::NFS4ERR_NOENT;
    fh.kind = Nfs4Fh::Kind::kPseudo;
    fh.pseudo = mount->first;
    c.SetCurrent(fh);
    return nfsstat4::NFS4_OK;
  }
  Result<core::Attr> parent = use->vfs().Parent(c.caller, c.current.file);
  if (!parent.ok()) {
    // RFC 8881 §18.14.3: from a symbolic link, NFS4ERR_SYMLINK rather than NOTDIR.
    if (parent.status().code() == Errc::kNotDir) {
      Result<core::Attr> self = use->vfs().GetAttr(c.caller, c.current.file);
      if (self.ok() && self->type == core::FileType::kSymlink) return nfsstat4::NFS4ERR_SYMLINK;
    }
    return ToNfs4(parent.status());
  }
  fh = c.current;
  fh.file = parent->id;
  c.SetCurrent(fh);
  return nfsstat4::NFS4_OK;
}

ACCESS4res Nfs4Service::Access(Ctx& c, const ACCESS4args& a) {
  ACCESS4res r;
  if (c.current.none()) {
    r.status = nfsstat4::NFS4ERR_NOFILEHANDLE;
    return r;
  }
  // 4.2 adds the extended attribute bits (RFC 8276 §8.3).
  constexpr uint32_t kXattrBits = ACCESS4_XAREAD | ACCESS4_XAWRITE | ACCESS4_XALIST;
  if (a.access & ~(c.minor >= 2 ? uint32_t{0x3f} | kXattrBits : uint32_t{0x3f})) {
    r.status = nfsstat4::NFS4ERR_INVAL;
    return r;
  }
  r.supported = a.access;
  if (c.current.is_pseudo()) {
    r.supported = a.access & ~kXattrBits;  // pseudo directories take no xattrs
    r.access = a.access & (ACCESS4_READ | ACCESS4_LOOKUP | ACCESS4_EXECUTE);
    return r;
  }
  Result<core::ShareUse> use = UseShare(shares_, c.current);
  if (!use.ok()) {
    r.status = ToNfs4(use.status());
    return r;
  }
  core::Attr attr;
  // Reading and listing xattrs take read permission, changing them write permission or
  // ownership (Vfs::GetXattr, SetXattr).
  const uint32_t asked = (a.access & ~kXattrBits) |
                         (a.access & (ACCESS4_XAREAD | ACCESS4_XALIST) ? ACCESS4_READ : 0) |
                         (a.access & ACCESS4_XAWRITE ? ACCESS4_MODIFY : 0);
  Result<uint32_t> granted = use->vfs().Access(c.caller, c.current.file, asked, &attr);
  if (!granted.ok()) {
    r.status = ToNfs4(granted.status());
    return r;
  }
  uint32_t xattr_granted = 0;
  if (*granted & ACCESS4_READ) xattr_granted |= ACCESS4_XAREAD | ACCESS4_XALIST;
  if (*granted & ACCESS4_MODIFY ||
      (c.caller.uid == attr.uid && use->vfs().CheckChange(c.caller).ok())) {
    xattr_granted |= ACCESS4_XAWRITE;
  }
  // Only the bits that mean something for the object's type (RFC 8881 §18.1.3): LOOKUP and
  // DELETE (of entries) for directories, EXECUTE for the rest.
  r.supported = a.access & (attr.type == core::FileType::kDirectory
                                ? ~uint32_t{ACCESS4_EXECUTE}
                                : ~uint32_t{ACCESS4_LOOKUP | ACCESS4_DELETE});
  r.access = ((*granted & ~kXattrBits) | (xattr_granted & a.access)) & r.supported;
  return r;
}

READLINK4res Nfs4Service::ReadLink(Ctx& c) {
  READLINK4res r;
  r.status = NeedShareFile(c, nfsstat4::NFS4ERR_INVAL);
  if (r.status != nfsstat4::NFS4_OK) return r;
  Result<core::ShareUse> use = UseShare(shares_, c.current);
  if (!use.ok()) {
    r.status = ToNfs4(use.status());
    return r;
  }
  Result<std::string> target = use->vfs().ReadLink(c.caller, c.current.file, nullptr);
  if (!target.ok()) {
    r.status = target.status().code() == Errc::kInvalid ? nfsstat4::NFS4ERR_INVAL
                                                        : ToNfs4(target.status());
    return r;
  }
  r.link = std::move(*target);
  return r;
}

READDIR4res Nfs4Service::ReadDir(Ctx& c, const READDIR4args& a) {
  READDIR4res r;
  if (c.current.none()) {
    r.status = nfsstat4::NFS4ERR_NOFILEHANDLE;
    return r;
  }
  if (a.cookie == 1 || a.cookie == 2) {
    r.status = nfsstat4::NFS4ERR_BAD_COOKIE;
    return r;
  }
  if (a.attr_request.test(FATTR4_TIME_ACCESS_SET) || a.attr_request.test(FATTR4_TIME_MODIFY_SET) ||
      a.attr_request.test(FATTR4_MODE_SET_MASKED)) {
    r.status = nfsstat4::NFS4ERR_INVAL;  // write-only attributes
    return r;
  }
  // The reply's fixed part: the verifier, the list's end marker and eof. An empty directory
  // fits in it; otherwise TOOSMALL comes when not even one entry fits.
  constexpr size_t kFixed = 8 + 4 + 4;
  if (a.maxcount < kFixed) {
    r.status = nfsstat4::NFS4ERR_TOOSMALL;
    return r;
  }
  const size_t budget = std::min<size_t>(a.maxcount, options_.max_io) - kFixed;
  const bool want_error = a.attr_request.test(FATTR4_RDATTR_ERROR);
  size_t used = 0;
  bool full = false;
  // Adds one entry if it fits; false once the reply is full.
  auto add = [&](entry4 e) {
    size_t size = EncodedSize(e);
    if (used + size > budget) {
      full = true;
      return false;
    }
    used += size;
    r.entries.push_back(std::move(e));
    return true;
  };

  if (c.current.is_pseudo()) {
    const PseudoFs& fs = c.Pseudo(shares_);
    const PseudoFs::Node* dir = fs.Find(c.current.pseudo);
    if (dir == nullptr) {
      r.status = nfsstat4::NFS4ERR_STALE;
      return r;
    }
    StoreBe64(r.cookieverf.data(), 0x70736575646f0000ull);
    for (size_t i = 0; i < dir->entries.size(); ++i) {
      uint64_t cookie = kFirstCookie + i;
      if (a.cookie != 0 && cookie <= a.cookie) continue;
      const PseudoFs::Entry& pe = dir->entries[i];
      entry4 e;
      e.cookie = cookie;
      e.name = pe.name;
      Nfs4Fh fh;
      if (pe.share == 0) {
        fh.kind = Nfs4Fh::Kind::kPseudo;
        fh.pseudo = pe.pseudo;
      } else {
        fh.kind = Nfs4Fh::Kind::kShare;
        fh.share = pe.share;
        Result<core::ShareUse> use = shares_.Use(pe.share);
        if (use.ok()) fh.file = use->vfs().root();
      }
      Fattr4 f;
      nfsstat4 s = FillAttrsOf(c, fh, nullptr, a.attr_request, &f);
      if (s != nfsstat4::NFS4_OK) {
        if (!want_error) continue;  // a share this caller may not see: left out
        f = Fattr4{};
        f.mask.set(FATTR4_RDATTR_ERROR);
        f.rdattr_error = s;
      }
      EncodeAttrs(a.attr_request, f, &e.attrs);
      if (!add(std::move(e))) break;
    }
    r.eof = !full;
    if (r.entries.empty() && full) r.status = nfsstat4::NFS4ERR_TOOSMALL;
    return r;
  }

  Result<core::ShareUse> use = UseShare(shares_, c.current);
  if (!use.ok()) {
    r.status = ToNfs4(use.status());
    return r;
  }
  core::Vfs& vfs = use->vfs();
  std::optional<core::FsStats> fs;
  uint64_t cookie = a.cookie;
  bool first = true;
  while (!full) {
    // Entries of at least 28 bytes: ask for no more than could fit.
    size_t batch = std::clamp<size_t>((budget - used) / 28 + 1, 1, 1024);
    Result<core::DirListing> list = vfs.ReadDir(c.caller, c.current.file, cookie, batch, true);
    if (!list.ok()) {
      r.status = list.status().code() == Errc::kBadCookie ? nfsstat4::NFS4ERR_BAD_COOKIE
                                                          : ToNfs4(list.status());
      return r;
    }
    if (first) {
      r.cookieverf = CookieVerifier(list->dir_attr);
      if (a.cookie != 0 && !IsZero(a.cookieverf) && a.cookieverf != r.cookieverf) {
        r.status = nfsstat4::NFS4ERR_NOT_SAME;
        return r;
      }
      if (WantsFsStats(a.attr_request)) {
        Result<core::FsStats> st = vfs.StatFs(c.caller, c.current.file);
        if (st.ok()) fs = *st;
      }
      first = false;
    }
    for (core::DirListEntry& de : list->entries) {
      entry4 e;
      e.cookie = de.cookie;
      e.name = std::move(de.name);
      Nfs4Fh fh = c.current;
      Fattr4 f;
      nfsstat4 s = nfsstat4::NFS4_OK;
      if (de.attr) {
        fh.file = de.attr->id;
        s = FillAttrsOf(c, fh, &*de.attr, a.attr_request, &f, fs ? &*fs : nullptr);
      } else {
        s = nfsstat4::NFS4ERR_STALE;  // removed while listed
      }
      if (s != nfsstat4::NFS4_OK) {
        if (!want_error) {
          r.status = s;
          return r;
        }
        f = Fattr4{};
        f.mask.set(FATTR4_RDATTR_ERROR);
        f.rdattr_error = s;
      }
      EncodeAttrs(a.attr_request, f, &e.attrs);
      if (!add(std::move(e))) break;
      cookie = r.entries.back().cookie;
    }
    if (full) break;
    if (list->eof) {
      r.eof = true;
      break;
    }
  }
  if (r.entries.empty() && full) r.status = nfsstat4::NFS4ERR_TOOSMALL;
  return r;
}

CREATE4res Nfs4Service::Create(Ctx& c, const CREATE4args& a) {
  CREATE4res r;
  r.status = NeedShareFile(c, nfsstat4::NFS4ERR_ROFS);
  if (r.status != nfsstat4::NFS4_OK) return r;
  if (a.objtype == nfs_ftype4::NF4REG || a.objtype == nfs_ftype4::NF4ATTRDIR ||
      a.objtype == nfs_ftype4::NF4NAMEDATTR) {
    r.status = nfsstat4::NFS4ERR_BADTYPE;
    return r;
  }
  r.status = CheckName(a.objname);
  if (r.status != nfsstat4::NFS4_OK) return r;
  core::SetAttrs attrs;
  std::optional<core::Acl> acl;
  r.status = ToSetAttrs(c, a.createattrs, nullptr, &attrs, &r.attrset, &acl);
  if (r.status != nfsstat4::NFS4_OK) return r;
  Result<core::ShareUse> use = UseShare(shares_, c.current);
  if (!use.ok()) {
    r.status = ToNfs4(use.status());
    return r;
  }
  core::Vfs& vfs = use->vfs();
  core::Wcc wcc;
  Result<core::Attr> made = Status(Errc::kInternal);
  switch (a.objtype) {
    case nfs_ftype4::NF4DIR:
      made = vfs.Mkdir(c.caller, c.current.file, a.objname, attrs, &wcc);
      break;
    case nfs_ftype4::NF4LNK:
      if (a.linkdata.empty()) {
        r.status = nfsstat4::NFS4ERR_INVAL;
        return r;
      }
      made = vfs.Symlink(c.caller, c.current.file, a.objname, a.linkdata, attrs, &wcc);
      break;
    default:
      made = vfs.Mknod(c.caller, c.current.file, a.objname, FileTypeOf(a.objtype), attrs,
                       a.devdata.specdata1, a.devdata.specdata2, &wcc);
      break;
  }
  if (!made.ok()) {
    r.status = ToNfs4(made.status());
    r.attrset = {};
    return r;
  }
  if (acl && a.objtype != nfs_ftype4::NF4LNK) {
    // The ACL asked for replaces what the new object inherited (RFC 8881 §6.4.3).
    Status set = vfs.SetAcl(c.caller, made->id, *acl);
    if (!set.ok()) r.attrset.words.clear();  // made, but without it: say so in attrset
  }
  r.cinfo = ToCinfo(wcc);
  Nfs4Fh fh = c.current;
  fh.file = made->id;
  c.SetCurrent(fh);
  return r;
}

REMOVE4res Nfs4Service::Remove(Ctx& c, const REMOVE4args& a) {
  REMOVE4res r;
  r.status = NeedShareFile(c, nfsstat4::NFS4ERR_ROFS);
  if (r.status != nfsstat4::NFS4_OK) return r;
  r.status = CheckName(a.target);
  if (r.status != nfsstat4::NFS4_OK) return r;
  Result<core::ShareUse> use = UseShare(shares_, c.current);
  if (!use.ok()) {
    r.status = ToNfs4(use.status());
    return r;
  }
  core::Wcc wcc;
  Status s = use->vfs().Remove(c.caller, c.current.file, a.target, &wcc);
  if (s.code() == Errc::kIsDir) {
    wcc = {};
    s = use->vfs().Rmdir(c.caller, c.current.file, a.target, &wcc);
  }
  if (!s.ok()) {
    // The file's name cannot go while another protocol's open denies deletion or a grant is
    // being broken: the client retries.
    r.status = s.code() == Errc::kLocked           ? nfsstat4::NFS4ERR_DELAY
               : s.code() == Errc::kShareViolation ? nfsstat4::NFS4ERR_FILE_OPEN
                                                   : ToNfs4(s);
    return r;
  }
  r.cinfo = ToCinfo(wcc);
  return r;
}

RENAME4res Nfs4Service::Rename(Ctx& c, const RENAME4args& a) {
  RENAME4res r;
  if (c.current.none() || c.saved.none()) {
    r.status = nfsstat4::NFS4ERR_NOFILEHANDLE;
    return r;
  }
  if (c.current.is_pseudo() || c.saved.is_pseudo()) {
    r.status = nfsstat4::NFS4ERR_ROFS;
    return r;
  }
  if (c.current.share != c.saved.share) {
    r.status = nfsstat4::NFS4ERR_XDEV;
    return r;
  }
  r.status = CheckName(a.oldname);
  if (r.status == nfsstat4::NFS4_OK) r.status = CheckName(a.newname);
  if (r.status != nfsstat4::NFS4_OK) return r;
  Result<core::ShareUse> use = UseShare(shares_, c.current);
  if (!use.ok()) {
    r.status = ToNfs4(use.status());
    return r;
  }
  core::Wcc from, to;
  Status s =
      use->vfs().Rename(c.caller, c.saved.file, a.oldname, c.current.file, a.newname, &from, &to);
  if (!s.ok()) {
    r.status = s.code() == Errc::kLocked           ? nfsstat4::NFS4ERR_DELAY
               : s.code() == Errc::kShareViolation ? nfsstat4::NFS4ERR_FILE_OPEN
                                                   : ToNfs4(s);
    return r;
  }
  r.source_cinfo = ToCinfo(from);
  r.target_cinfo = ToCinfo(to);
  return r;
}

LINK4res Nfs4Service::Link(Ctx& c, const LINK4args& a) {
  LINK4res r;
  if (c.current.none() || c.saved.none()) {
    r.status = nfsstat4::NFS4ERR_NOFILEHANDLE;
    return r;
  }
  if (c.current.is_pseudo() || c.saved.is_pseudo()) {
    r.status = c.saved.is_pseudo() ? nfsstat4::NFS4ERR_ISDIR : nfsstat4::NFS4ERR_ROFS;
    return r;
  }
  if (c.current.share != c.saved.share) {
    r.status = nfsstat4::NFS4ERR_XDEV;
    return r;
  }
  r.status = CheckName(a.newname);
  if (r.status != nfsstat4::NFS4_OK) return r;
  Result<core::ShareUse> use = UseShare(shares_, c.current);
  if (!use.ok()) {
    r.status = ToNfs4(use.status());
    return r;
  }
  core::Wcc wcc;
  Status s = use->vfs().Link(c.caller, c.saved.file, c.current.file, a.newname, nullptr, &wcc);
  if (!s.ok()) {
    r.status = ToNfs4(s);
    // A hard link to a directory is ISDIR (RFC 8881 §18.9.3), not a permission matter.
    if (Result<core::Attr> src = use->vfs().GetAttr(c.caller, c.saved.file);
        src.ok() && src->type == core::FileType::kDirectory) {
      r.status = nfsstat4::NFS4ERR_ISDIR;
    }
    return r;
  }
  r.cinfo = ToCinfo(wcc);
  return r;
}

SECINFO4res Nfs4Service::SecInfo(Ctx& c, bool parent, std::string_view name) {
  SECINFO4res r;
  if (c.current.none()) {
    r.status = nfsstat4::NFS4ERR_NOFILEHANDLE;
    return r;
  }
  // SECINFO names an entry of the current directory; SECINFO_NO_NAME the current object or
  // its parent. Either must exist.
  Nfs4Fh keep = c.current;
  Nfs4Fh target = c.current;
  if (!name.empty()) {
    r.status = CheckName(name);
    if (r.status != nfsstat4::NFS4_OK) return r;
    c.secinfo = true;
    r.status = Lookup(c, LOOKUP4args{name});
    c.secinfo = false;
    target = c.current;
    c.current = keep;
    if (r.status != nfsstat4::NFS4_OK) return r;
  } else if (parent) {
    r.status = Lookupp(c);
    target = c.current;
    c.current = keep;
    if (r.status != nfsstat4::NFS4_OK) return r;
  }
  // The flavors of the share the object is in (the pseudo file system takes every flavor):
  // RPCSEC_GSS with the Kerberos V5 mechanism at each service, then AUTH_SYS.
  core::NfsSecurity sec;
  sec.krb5 = sec.krb5i = sec.krb5p = target.kind == Nfs4Fh::Kind::kPseudo;
  if (target.kind != Nfs4Fh::Kind::kPseudo) {
    Result<core::ShareUse> use = UseShare(shares_, target);
    if (!use.ok()) {
      r.status = ToNfs4(use.status());
      return r;
    }
    sec = use->vfs().options().security;
  }
  // RFC 8881 §2.6.3.1.1.1 / RFC 1964: the Kerberos V5 mechanism, OID 1.2.840.113554.1.2.2.
  static const std::string kKrb5Oid("\x2a\x86\x48\x86\xf7\x12\x01\x02\x02", 9);
  if (sec.krb5p) r.flavors.push_back(secinfo4{6, kKrb5Oid, 0, 3});
  if (sec.krb5i) r.flavors.push_back(secinfo4{6, kKrb5Oid, 0, 2});
  if (sec.krb5) r.flavors.push_back(secinfo4{6, kKrb5Oid, 0, 1});
  if (sec.sys) r.flavors.push_back(secinfo4{1, {}, 0, 0});
  // RFC 8881 §2.6.3.1.1.8: SECINFO and SECINFO_NO_NAME consume the current file handle.
  if (c.minor >= 1) c.SetCurrent(Nfs4Fh{});
  return r;
}

SETATTR4res Nfs4Service::SetAttr(Ctx& c, const SETATTR4args& a) {
  SETATTR4res r;
  r.status = NeedShareFile(c, nfsstat4::NFS4ERR_ROFS);
  if (r.status != nfsstat4::NFS4_OK) return r;
  Result<core::ShareUse> use = UseShare(shares_, c.current);
  if (!use.ok()) {
    r.status = ToNfs4(use.status());
    return r;
  }
  Result<core::Attr> before = use->vfs().GetAttr(c.caller, c.current.file);
  if (!before.ok()) {
    r.status = ToNfs4(before.status());
    return r;
  }
  core::SetAttrs attrs;
  bitmap4 attrset;
  std::optional<core::Acl> acl;
  r.status = ToSetAttrs(c, a.obj_attributes, &*before, &attrs, &attrset, &acl);
  if (r.status != nfsstat4::NFS4_OK) return r;
  core::OpenContext via;
  const core::OpenContext* through = nullptr;
  if (attrs.has(core::kSetSize)) {
    // RFC 8881 §18.30.3: a size change comes with a stateid that may write the file.
    if (before->type == core::FileType::kDirectory) {
      r.status = nfsstat4::NFS4ERR_ISDIR;
      return r;
    }
    if (before->type != core::FileType::kRegular) {
      r.status = nfsstat4::NFS4ERR_INVAL;
      return r;
    }
    r.status = StateForIo(c, a.stateid, true, &via, &through);
    if (r.status != nfsstat4::NFS4_OK) return r;
  }
  core::Wcc wcc;
  if (acl) {
    // The ACL first: a mode set with it then rewrites it (RFC 8881 §6.4.1.3).
    Status s = use->vfs().SetAcl(c.caller, c.current.file, *acl, &wcc);
    if (!s.ok()) {
      r.status = ToNfs4(s);
      return r;
    }
  }
  if (attrs.mask != 0 || !acl) {
    Status s = use->vfs().SetAttr(c.caller, c.current.file, attrs, nullptr, &wcc, through);
    if (!s.ok()) {
      r.status = s.code() == Errc::kLocked ? nfsstat4::NFS4ERR_DELAY : ToNfs4(s);
      return r;
    }
  }
  // To SMB CHANGE_NOTIFY: what the SETATTR changed, under the file's watched names.
  use->vfs().NoteFileChanged(c.current.file,
                             core::Vfs::ChangesOf(attrs) | (acl ? core::changed::kSecurity : 0));
  r.attrsset = attrset;
  return r;
}

READ4res Nfs4Service::Read(Ctx& c, const READ4args& a) {
  READ4res r;
  r.status = NeedShareFile(c, nfsstat4::NFS4ERR_ISDIR);
  if (r.status != nfsstat4::NFS4_OK) return r;
  core::OpenContext via;
  const core::OpenContext* through = nullptr;
  r.status = StateForIo(c, a.stateid, false, &via, &through);
  if (r.status != nfsstat4::NFS4_OK) return r;
  Result<core::ShareUse> use = UseShare(shares_, c.current);
  if (!use.ok()) {
    r.status = ToNfs4(use.status());
    return r;
  }
  uint32_t count = std::min(a.count, options_.max_io);
  if (c.reply_limit != SIZE_MAX && c.reply_limit > 512) {
    count = static_cast<uint32_t>(std::min<size_t>(count, c.reply_limit - 512));
  }
  Result<core::ReadResult> got =
      use->vfs().Read(c.caller, c.current.file, a.offset, count, through);
  if (!got.ok()) {
    if (got.status().code() == Errc::kIsDir) {
      r.status = nfsstat4::NFS4ERR_ISDIR;
    } else if (got.status().code() == Errc::kInvalid) {
      r.status = nfsstat4::NFS4ERR_INVAL;
    } else {
      r.status = IoStatus(use->vfs(), c.current.file, via, a.offset, count, false, got.status());
    }
    return r;
  }
  r.eof = got->eof;
  r.data = std::move(got->data.pieces);
  r.holds = std::move(got->data.holds);
  return r;
}

WRITE4res Nfs4Service::Write(Ctx& c, const WRITE4args& a) {
  WRITE4res r;
  r.status = NeedShareFile(c, nfsstat4::NFS4ERR_ISDIR);
  if (r.status != nfsstat4::NFS4_OK) return r;
  if (a.data.size() > options_.max_io) {
    r.status = nfsstat4::NFS4ERR_INVAL;
    return r;
  }
  core::OpenContext via;
  const core::OpenContext* through = nullptr;
  r.status = StateForIo(c, a.stateid, true, &via, &through);
  if (r.status != nfsstat4::NFS4_OK) return r;
  Result<core::ShareUse> use = UseShare(shares_, c.current);
  if (!use.ok()) {
    r.status = ToNfs4(use.status());
    return r;
  }
  core::Wcc wcc;
  Result<core::WriteResult> w =
      use->vfs().Write(c.caller, c.current.file, a.offset, a.data,
                       static_cast<core::Stability>(a.stable), &wcc, through);
  if (!w.ok()) {
    r.status =
        w.status().code() == Errc::kInvalid
            ? nfsstat4::NFS4ERR_INVAL
            : IoStatus(use->vfs(), c.current.file, via, a.offset, a.data.size(), true, w.status());
    return r;
  }
  use->vfs().NoteFileChanged(c.current.file, core::changed::kLastWrite | core::changed::kSize);
  r.count = w->count;
  r.committed = static_cast<stable_how4>(w->committed);
  r.writeverf = write_verifier_;
  return r;
}

COMMIT4res Nfs4Service::Commit(Ctx& c, const COMMIT4args& a) {
  COMMIT4res r;
  r.status = NeedShareFile(c, nfsstat4::NFS4ERR_ISDIR);
  if (r.status != nfsstat4::NFS4_OK) return r;
  if (a.count != 0 && a.offset + a.count < a.offset) {
    r.status = nfsstat4::NFS4ERR_INVAL;
    return r;
  }
  Result<core::ShareUse> use = UseShare(shares_, c.current);
  if (!use.ok()) {
    r.status = ToNfs4(use.status());
    return r;
  }
  core::Wcc wcc;
  Status s = use->vfs().Commit(c.caller, c.current.file, &wcc);
  if (!s.ok()) {
    r.status = ToNfs4(s);
    return r;
  }
  r.writeverf = write_verifier_;
  return r;
}

nfsstat4 Nfs4Service::IoStatus(core::Vfs& vfs, core::FileId file, const core::OpenContext& via,
                               uint64_t offset, uint64_t length, bool write, const Status& s) {
  // I/O against another open's share reservation (its deny bits): NFS4ERR_LOCKED (RFC 7530
  // §9.9, RFC 8881 §9.7), as against a mandatory lock.
  if (s.code() == Errc::kShareViolation) return nfsstat4::NFS4ERR_LOCKED;
  if (s.code() != Errc::kLocked) return ToNfs4(s);
  // Either a Windows byte-range lock covers the range (NFS4ERR_LOCKED, RFC 8881 §9.1.4), or a
  // cached grant of another client is being broken (DELAY: the client retries).
  Status locked = vfs.state().locks.CheckIo(file.inode, via.lock_owner, offset, length, write);
  return locked.ok() ? nfsstat4::NFS4ERR_DELAY : nfsstat4::NFS4ERR_LOCKED;
}

}  // namespace dittofs::nfs

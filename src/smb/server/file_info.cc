// SPDX-License-Identifier: Apache-2.0
#include "smb/server/file_info.h"

#include <algorithm>

#include "base/casefold.h"
#include "base/utf8.h"
#include "smb/security/sid.h"
#include "smb/server/aapl.h"
#include "smb/wire/le.h"
#include "smb/wire/smb2.h"
#include "smb/wire/utf16.h"

namespace dittofs::smb {

uint32_t DosAttributesOf(const core::Attr& a) {
  uint32_t d = a.dos_attributes & (core::kDosReadOnly | core::kDosHidden | core::kDosSystem |
                                   core::kDosArchive | core::kDosSparse);
  if (a.type == core::FileType::kDirectory) d |= 0x10;
  if (a.type == core::FileType::kSymlink) d |= wire::kFileAttributeReparsePoint;
  return d == 0 ? 0x80 : d;
}

uint32_t ReparseTagOf(const core::Attr& a) {
  return a.type == core::FileType::kSymlink ? wire::kIoReparseTagSymlink : 0;
}

wire::SymlinkReparse SymlinkReparseOf(std::string_view target) {
  wire::SymlinkReparse link;
  link.relative = !target.starts_with('/');
  link.substitute_name = std::string(target);
  std::replace(link.substitute_name.begin(), link.substitute_name.end(), '/', '\\');
  link.print_name = link.substitute_name;
  return link;
}

std::string SymlinkTargetOf(const wire::SymlinkReparse& link) {
  std::string target = link.substitute_name.empty() ? link.print_name : link.substitute_name;
  // An NT path ("\??\C:\dir"): the object manager's prefix means nothing here.
  if (target.starts_with("\\??\\")) target.erase(0, 4);
  std::replace(target.begin(), target.end(), '\\', '/');
  if (target.empty()) return target;
  if (!link.relative && !target.starts_with('/')) target.insert(0, 1, '/');
  return target;
}

wire::FileTimes TimesOf(const core::Attr& a) {
  wire::FileTimes t;
  const Timespec& birth = a.btime.sec != 0 || a.btime.nsec != 0 ? a.btime : a.mtime;
  t.creation = wire::ToFiletime(birth.sec, birth.nsec);
  t.last_access = wire::ToFiletime(a.atime.sec, a.atime.nsec);
  t.last_write = wire::ToFiletime(a.mtime.sec, a.mtime.nsec);
  t.change = wire::ToFiletime(a.ctime.sec, a.ctime.nsec);
  return t;
}

uint64_t AllocationOf(const core::Attr& a) {
  if (a.type == core::FileType::kDirectory) return 0;
  return (a.size + 4095) & ~uint64_t{4095};
}

std::string ShortNameOf(std::string_view name) {
  const size_t dot = name.find('.');
  const std::string_view base = name.substr(0, dot);
  const std::string_view ext = dot == std::string_view::npos ? "" : name.substr(dot + 1);
  if (base.empty() || base.size() > 8 || ext.size() > 3 ||
      ext.find('.') != std::string_view::npos || (dot != std::string_view::npos && ext.empty())) {
    return {};
  }
  std::string out;
  for (char c : name) {
    const auto u = static_cast<unsigned char>(c);
    if (u >= 0x80 || c == ' ' || std::string_view("+,;=[]").find(c) != std::string_view::npos) {
      return {};
    }
    out.push_back(c >= 'a' && c <= 'z' ? static_cast<char>(c - 'a' + 'A') : c);
  }
  return out;
}

std::string_view PosixCreateContextTag() {
  static constexpr char kTag[] = {'\x93', '\xAD', '\x25', '\x50', '\x9C', '\xB4', '\x11', '\xE7',
                                  '\xB4', '\x23', '\x83', '\xDE', '\x96', '\x8B', '\xCD', '\x7C'};
  return std::string_view(kTag, sizeof kTag);
}

uint32_t PosixModeOf(const core::Attr& a) {
  uint32_t type = 0;
  switch (a.type) {
    case core::FileType::kSymlink:
      type = 2;
      break;
    case core::FileType::kCharDevice:
      type = 3;
      break;
    case core::FileType::kBlockDevice:
      type = 4;
      break;
    case core::FileType::kFifo:
      type = 5;
      break;
    case core::FileType::kSocket:
      type = 6;
      break;
    default:
      break;
  }
  return (a.mode & 07777) | (type << 12);
}

uint32_t PosixReparseTagOf(const core::Attr& a) {
  switch (a.type) {
    case core::FileType::kRegular:
    case core::FileType::kDirectory:
      return 0;
    case core::FileType::kSymlink:
      return wire::kIoReparseTagSymlink;
    default:
      return kReparseTagNfs;  // devices, FIFOs, sockets: as the NFS reparse point names them
  }
}

void AppendUnixSid(uint32_t kind, uint32_t id, std::vector<std::byte>& out) {
  security::AppendSid(
      kind == 2 ? security::SidMap::UnixGroupSid(id) : security::SidMap::UnixUserSid(id), out);
}

void AppendPosixCreateResponse(const core::Attr& a, std::vector<std::byte>& out) {
  wire::LeWriter w(out);
  w.U32(a.nlink);
  w.U32(PosixReparseTagOf(a));
  w.U32(PosixModeOf(a));
  AppendUnixSid(1, a.uid, out);
  AppendUnixSid(2, a.gid, out);
}

namespace {
// The part FILE_POSIX_INFORMATION and the POSIX directory entry share, up to the create
// context's response.
void AppendPosixCommon(const core::Attr& a, wire::LeWriter& w) {
  const Timespec& birth = a.btime.sec != 0 || a.btime.nsec != 0 ? a.btime : a.mtime;
  w.U64(wire::ToFiletime(birth.sec, birth.nsec));
  w.U64(wire::ToFiletime(a.atime.sec, a.atime.nsec));
  w.U64(wire::ToFiletime(a.mtime.sec, a.mtime.nsec));
  w.U64(wire::ToFiletime(a.ctime.sec, a.ctime.nsec));
  w.U64(a.type == core::FileType::kDirectory ? 0 : a.size);
  w.U64(AllocationOf(a));
  uint32_t dos = DosAttributesOf(a);
  if (PosixReparseTagOf(a) != 0) dos = (dos & ~uint32_t{0x80}) | wire::kFileAttributeReparsePoint;
  w.U32(dos);
  w.U64(a.id.inode);
  // DeviceId: a device's number (major in the high half), else 0.
  const bool device =
      a.type == core::FileType::kCharDevice || a.type == core::FileType::kBlockDevice;
  w.U32(device ? (a.rdev_major << 16) | (a.rdev_minor & 0xFFFF) : 0);
  w.U32(0);  // Zero
}
}  // namespace

void AppendPosixInformation(const core::Attr& a, std::vector<std::byte>& out) {
  wire::LeWriter w(out);
  AppendPosixCommon(a, w);
  AppendPosixCreateResponse(a, out);
}

namespace {

using security::ReadSid;
using security::Sid;

// The Unix id a SID names for `kind` (1 user, 2 group, 3 mode): S-1-22-kind-id (Samba's
// "Unix" authority) or S-1-5-88-kind-id (the NFS-style SIDs of the Linux client's
// idsfromsid and modefromsid).
std::optional<uint32_t> UnixIdOf(const Sid& s, uint32_t kind) {
  if (s.authority == 22 && s.sub.size() == 2 && s.sub[0] == kind && kind != 3) return s.sub[1];
  if (s.authority == 5 && s.sub.size() == 3 && s.sub[0] == 88 && s.sub[1] == kind) {
    return s.sub[2];
  }
  return std::nullopt;
}

}  // namespace

Result<PosixOwnership> PosixOwnershipOf(std::span<const std::byte> sd, uint32_t sections,
                                        int* bad_sid) {
  constexpr uint32_t kOwner = 1, kGroup = 2, kDacl = 4;
  if (sd.size() < 20 || static_cast<uint8_t>(sd[0]) != 1) return Errc::kInvalid;
  const uint16_t control = wire::LoadLe16(sd.data() + 2);
  // size_t: the offsets' sums below cannot wrap.
  const size_t owner_at = wire::LoadLe32(sd.data() + 4), group_at = wire::LoadLe32(sd.data() + 8);
  const size_t dacl_at = wire::LoadLe32(sd.data() + 16);
  PosixOwnership out;
  std::optional<Sid> owner, group;
  if (owner_at != 0) {
    owner = ReadSid(sd, owner_at);
    if (!owner) return Errc::kInvalid;
  }
  if (group_at != 0) {
    group = ReadSid(sd, group_at);
    if (!group) return Errc::kInvalid;
  }
  if ((sections & kOwner) && owner) {
    out.uid = UnixIdOf(*owner, 1);
    if (!out.uid) {
      *bad_sid = 1;
      return Errc::kNotFound;
    }
  }
  if ((sections & kGroup) && group) {
    out.gid = UnixIdOf(*group, 2);
    if (!out.gid) {
      *bad_sid = 2;
      return Errc::kNotFound;
    }
  }
  // SE_DACL_PRESENT with no DACL is a NULL DACL (everyone everything): no mode to take.
  if (!(sections & kDacl) || !(control & 0x0004) || dacl_at == 0) return out;
  if (dacl_at + 8 > sd.size()) return Errc::kInvalid;
  const size_t acl_size = wire::LoadLe16(sd.data() + dacl_at + 2);
  const uint16_t count = wire::LoadLe16(sd.data() + dacl_at + 4);
  if (acl_size < 8 || dacl_at + acl_size > sd.size()) return Errc::kInvalid;
  const Sid everyone{1, {0}};
  uint32_t allow[3] = {0, 0, 0}, deny[3] = {0, 0, 0};
  bool matched = false;
  size_t at = dacl_at + 8;
  for (uint16_t i = 0; i < count; ++i) {
    if (at + 8 > dacl_at + acl_size) return Errc::kInvalid;
    const auto type = static_cast<uint8_t>(sd[at]);
    const size_t size = wire::LoadLe16(sd.data() + at + 2);
    if (size < 8 || at + size > dacl_at + acl_size) return Errc::kInvalid;
    const uint32_t mask = wire::LoadLe32(sd.data() + at + 4);
    std::optional<Sid> sid = ReadSid(sd.subspan(0, at + size), at + 8);
    at += size;
    if (!sid || type > 1) continue;  // only ACCESS_ALLOWED (0) and ACCESS_DENIED (1) ACEs
    if (std::optional<uint32_t> m = UnixIdOf(*sid, 3)) {
      out.mode = *m & 07777;  // authoritative, as the client that sent it meant
      return out;
    }
    int role = -1;
    if ((owner && *sid == *owner) || UnixIdOf(*sid, 1)) {
      role = 0;
    } else if ((group && *sid == *group) || UnixIdOf(*sid, 2)) {
      role = 1;
    } else if (*sid == everyone) {
      role = 2;
    }
    if (role < 0) continue;
    matched = true;
    uint32_t bits = 0;
    // MS-DTYP 2.4.3: FILE_READ_DATA, FILE_WRITE_DATA, FILE_EXECUTE and the generic rights.
    if (mask & (0x1u | 0x80000000u | 0x10000000u)) bits |= 4;
    if (mask & (0x2u | 0x40000000u | 0x10000000u)) bits |= 2;
    if (mask & (0x20u | 0x20000000u | 0x10000000u)) bits |= 1;
    (type == 0 ? allow : deny)[role] |= bits;
  }
  if (matched) {
    uint32_t mode = 0;
    for (int r = 0; r < 3; ++r) mode |= (allow[r] & ~deny[r]) << (3 * (2 - r));
    out.mode = mode;
  }
  return out;
}

namespace {

// MS-FSCC 2.1.2.6: NFS_SPECFILE_* types of the NFS reparse point.
constexpr uint64_t kNfsLnk = 0x00000000014B4E4C, kNfsChr = 0x0000000000524843,
                   kNfsBlk = 0x00000000004B4C42, kNfsFifo = 0x000000004F464946,
                   kNfsSock = 0x000000004B434F53;
// WSL's reparse tags (MS-FSCC 2.1.2.1).
constexpr uint32_t kTagLxSymlink = 0xA000001D, kTagAfUnix = 0x80000023, kTagLxFifo = 0x80000024;

}  // namespace

bool AppendSpecialReparseData(const core::Attr& a, std::vector<std::byte>& out) {
  if (PosixReparseTagOf(a) != kReparseTagNfs) return false;
  wire::LeWriter w(out);
  const size_t start = out.size();
  w.U32(kReparseTagNfs);
  const size_t length_at = out.size();
  w.U16(0);  // ReparseDataLength, set below
  w.U16(0);
  switch (a.type) {
    case core::FileType::kCharDevice:
    case core::FileType::kBlockDevice:
      w.U64(a.type == core::FileType::kCharDevice ? kNfsChr : kNfsBlk);
      w.U32(a.rdev_major);
      w.U32(a.rdev_minor);
      break;
    case core::FileType::kFifo:
      w.U64(kNfsFifo);
      break;
    default:
      w.U64(kNfsSock);
      break;
  }
  wire::StoreLe16(out.data() + length_at, static_cast<uint16_t>(out.size() - start - 8));
  return true;
}

Result<ReparseObject> ParseReparseData(std::span<const std::byte> data) {
  if (data.size() < 8) return Errc::kInvalid;
  const uint32_t tag = wire::LoadLe32(data.data());
  const size_t length = wire::LoadLe16(data.data() + 4);
  if (8 + length > data.size()) return Errc::kInvalid;
  const std::span<const std::byte> body = data.subspan(8, length);
  ReparseObject o;
  const auto utf16 = [&](std::span<const std::byte> s) -> Result<std::string> {
    ASSIGN_OR_RETURN(std::string t, wire::Utf16ToUtf8(s));
    if (t.empty()) return Errc::kInvalid;
    return t;
  };
  switch (tag) {
    case kReparseTagNfs: {
      if (body.size() < 8) return Errc::kInvalid;
      const uint64_t type = wire::LoadLe64(body.data());
      const std::span<const std::byte> rest = body.subspan(8);
      switch (type) {
        case kNfsLnk: {
          ASSIGN_OR_RETURN(o.target, utf16(rest));
          o.type = core::FileType::kSymlink;
          return o;
        }
        case kNfsChr:
        case kNfsBlk:
          if (rest.size() < 8) return Errc::kInvalid;
          o.type = type == kNfsChr ? core::FileType::kCharDevice : core::FileType::kBlockDevice;
          o.major = wire::LoadLe32(rest.data());
          o.minor = wire::LoadLe32(rest.data() + 4);
          return o;
        case kNfsFifo:
          o.type = core::FileType::kFifo;
          return o;
        case kNfsSock:
          o.type = core::FileType::kSocket;
          return o;
        default:
          return Errc::kInvalid;
      }
    }
    case kTagLxSymlink:
      // Version 2, then the target in UTF-8.
      if (body.size() < 5 || wire::LoadLe32(body.data()) != 2) return Errc::kInvalid;
      o.target.assign(reinterpret_cast<const char*>(body.data() + 4), body.size() - 4);
      o.type = core::FileType::kSymlink;
      return o;
    case kTagLxFifo:
      o.type = core::FileType::kFifo;
      return o;
    case kTagAfUnix:
      o.type = core::FileType::kSocket;
      return o;
    default:
      return Errc::kInvalid;
  }
}

bool IsDirectoryInfoClass(uint8_t c, bool posix) {
  if (c == kFilePosixInformation) return posix;
  switch (c) {
    case wire::kFileDirectoryInformation:
    case wire::kFileFullDirectoryInformation:
    case wire::kFileBothDirectoryInformation:
    case wire::kFileNamesInformation:
    case wire::kFileIdBothDirectoryInformation:
    case wire::kFileIdFullDirectoryInformation:
    case wire::kFileIdExtdDirectoryInformation:
      return true;
    default:
      return false;
  }
}

bool AppendDirectoryEntry(uint8_t c, std::string_view name, const core::Attr& a, size_t limit,
                          std::vector<std::byte>& out, size_t* entry_start,
                          const AppleEntryFields* apple) {
  const size_t start = (out.size() + 7) & ~size_t{7};
  const size_t name_bytes = wire::Utf16Size(name);
  size_t fixed = 0;
  switch (c) {
    case wire::kFileDirectoryInformation:
      fixed = 64;
      break;
    case wire::kFileFullDirectoryInformation:
      fixed = 68;
      break;
    case wire::kFileIdFullDirectoryInformation:
      fixed = 80;
      break;
    case wire::kFileBothDirectoryInformation:
      fixed = 94;
      break;
    case wire::kFileIdBothDirectoryInformation:
      fixed = 104;
      break;
    case wire::kFileNamesInformation:
      fixed = 12;
      break;
    case wire::kFileIdExtdDirectoryInformation:
      fixed = 88;
      break;
    case kFilePosixInformation:
      // NextEntryOffset, FileIndex, the common part (68), the create context's response
      // (12 + two 16-byte SIDs), FileNameLength.
      fixed = 8 + 68 + 44 + 4;
      break;
    default:
      return false;
  }
  if (start + fixed + name_bytes > limit) return false;
  out.resize(start, std::byte{0});
  *entry_start = start;
  wire::LeWriter w(out);
  w.U32(0);  // NextEntryOffset
  w.U32(0);  // FileIndex
  const uint32_t name_len = static_cast<uint32_t>(name_bytes);
  if (c == kFilePosixInformation) {
    // SMB2_FIND_POSIX_INFORMATION: the information of class 100, then the name.
    AppendPosixCommon(a, w);
    AppendPosixCreateResponse(a, out);
    w.U32(name_len);
    wire::AppendUtf16(name, out);
    return true;
  }
  if (c == wire::kFileNamesInformation) {
    w.U32(name_len);
    wire::AppendUtf16(name, out);
    return true;
  }
  const Timespec& birth = a.btime.sec != 0 || a.btime.nsec != 0 ? a.btime : a.mtime;
  w.U64(wire::ToFiletime(birth.sec, birth.nsec));
  w.U64(wire::ToFiletime(a.atime.sec, a.atime.nsec));
  w.U64(wire::ToFiletime(a.mtime.sec, a.mtime.nsec));
  w.U64(wire::ToFiletime(a.ctime.sec, a.ctime.nsec));
  const bool dir = a.type == core::FileType::kDirectory;
  w.U64(dir ? 0 : a.size);
  w.U64(AllocationOf(a));
  w.U32(DosAttributesOf(a));
  w.U32(name_len);
  // MS-FSCC 2.4.17 and the like: a reparse point's EaSize field holds its reparse tag.
  const uint32_t ea_size = ReparseTagOf(a);
  switch (c) {
    case wire::kFileDirectoryInformation:
      break;
    case wire::kFileFullDirectoryInformation:
      w.U32(ea_size);
      break;
    case wire::kFileIdFullDirectoryInformation:
      w.U32(ea_size);
      w.U32(0);
      w.U64(a.id.inode);
      break;
    case wire::kFileBothDirectoryInformation:
      w.U32(ea_size);
      w.U8(0);  // ShortNameLength: no 8.3 names
      w.U8(0);
      w.Zeros(24);
      break;
    case wire::kFileIdBothDirectoryInformation:
      // Apple's directory attributes: the caller's maximal access (a reparse point keeps its
      // tag), no resource fork or Finder info (zeros), and the Unix mode.
      w.U32(apple != nullptr && ea_size == 0 ? apple->max_access : ea_size);
      w.U8(0);
      w.U8(0);
      w.Zeros(24);
      w.U16(apple != nullptr && apple->unix_mode ? UnixModeOf(a) : 0);
      w.U64(a.id.inode);
      break;
    case wire::kFileIdExtdDirectoryInformation:
      w.U32(0);  // EaSize
      w.U32(ReparseTagOf(a));
      w.U64(a.id.inode);
      w.U64(0);
      break;
  }
  wire::AppendUtf16(name, out);
  return true;
}

namespace {

// The name's code points (raw bytes where it is not UTF-8), folded so that matching ignores
// case as lookups over SMB do, unless `fold` is false (a POSIX tree's names).
std::u32string CodePoints(std::string_view s, bool fold) {
  std::u32string out;
  for (size_t i = 0; i < s.size();) {
    if (fold) {
      out.push_back(NextFolded(s, &i));
      continue;
    }
    const size_t at = i;
    const char32_t c = DecodeUtf8(s, &i);
    out.push_back(c == kNotUtf8 ? kRawByte + static_cast<uint8_t>(s[at]) : c);
  }
  return out;
}

// MS-FSA 2.1.4.4: '*' any run; '?' one character; '<' (DOS_STAR) any run up to the name's
// last '.'; '>' (DOS_QM) one character, or none at a '.' or the end; '"' (DOS_DOT) a '.', or
// nothing at the end. Memoized: every (pattern, name) position is tried once, so no pattern
// takes more than |pattern| x |name| steps.
class Matcher {
 public:
  Matcher(const std::u32string& p, const std::u32string& n)
      : p_(p), n_(n), last_dot_(n.rfind(U'.')), seen_((p.size() + 1) * (n.size() + 1), 0) {}
  bool Run() { return Match(0, 0); }

 private:
  bool Match(size_t pi, size_t ni) {
    uint8_t& memo = seen_[pi * (n_.size() + 1) + ni];
    if (memo != 0) return memo == 2;
    const bool r = Compute(pi, ni);
    memo = r ? 2 : 1;
    return r;
  }
  bool Compute(size_t pi, size_t ni) {
    if (pi == p_.size()) return ni == n_.size();
    const char32_t c = p_[pi];
    const bool at_end = ni == n_.size();
    switch (c) {
      case U'*':
        return Match(pi + 1, ni) || (!at_end && Match(pi, ni + 1));
      case U'<':
        // Zero characters, or one more that is not the name's last dot.
        return Match(pi + 1, ni) ||
               (!at_end && !(n_[ni] == U'.' && ni == last_dot_) && Match(pi, ni + 1));
      case U'>':
        if (at_end || n_[ni] == U'.') return Match(pi + 1, ni);
        return Match(pi + 1, ni + 1);
      case U'"':
        if (at_end) return Match(pi + 1, ni);
        return n_[ni] == U'.' && Match(pi + 1, ni + 1);
      case U'?':
        return !at_end && Match(pi + 1, ni + 1);
      default:
        return !at_end && c == n_[ni] && Match(pi + 1, ni + 1);
    }
  }

  const std::u32string& p_;
  const std::u32string& n_;
  const size_t last_dot_;
  std::vector<uint8_t> seen_;
};

}  // namespace

bool HasWildcards(std::string_view p) {
  return p.find_first_of("*?<>\"") != std::string_view::npos;
}

bool MatchesPattern(std::string_view pattern, std::string_view name, bool case_sensitive) {
  if (pattern.empty() || pattern == "*") return true;
  const std::u32string p = CodePoints(pattern, !case_sensitive);
  const std::u32string n = CodePoints(name, !case_sensitive);
  return Matcher(p, n).Run();
}

}  // namespace dittofs::smb

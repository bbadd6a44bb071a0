// SPDX-License-Identifier: Apache-2.0
#include "smb/server/file_info.h"

#include <algorithm>

#include "base/casefold.h"
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

bool IsDirectoryInfoClass(uint8_t c) {
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
                          std::vector<std::byte>& out, size_t* entry_start) {
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
      w.U32(ea_size);
      w.U8(0);
      w.U8(0);
      w.Zeros(24);
      w.U16(0);
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

// The name's folded code points (raw bytes where it is not UTF-8), so that matching ignores
// case as lookups over SMB do.
std::u32string CodePoints(std::string_view s) {
  std::u32string out;
  for (size_t i = 0; i < s.size();) out.push_back(NextFolded(s, &i));
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

bool MatchesPattern(std::string_view pattern, std::string_view name) {
  if (pattern.empty() || pattern == "*") return true;
  const std::u32string p = CodePoints(pattern), n = CodePoints(name);
  return Matcher(p, n).Run();
}

}  // namespace dittofs::smb

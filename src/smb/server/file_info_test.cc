// SPDX-License-Identifier: Apache-2.0
#include "smb/server/file_info.h"

#include <gtest/gtest.h>

#include "smb/wire/le.h"
#include "smb/wire/smb2.h"

namespace dittofs::smb {
namespace {

// MS-FSA 2.1.4.4's wildcards, compared without regard to case.
TEST(MatchesPattern, WindowsWildcards) {
  EXPECT_TRUE(MatchesPattern("*", "anything.txt"));
  EXPECT_TRUE(MatchesPattern("*.txt", "Notes.TXT"));
  EXPECT_FALSE(MatchesPattern("*.txt", "notes.txt.bak"));
  EXPECT_TRUE(MatchesPattern("a?c", "abc"));
  EXPECT_FALSE(MatchesPattern("a?c", "ac"));
  EXPECT_TRUE(MatchesPattern("README", "readme"));
  // DOS_STAR: any characters up to the last dot.
  EXPECT_TRUE(MatchesPattern("<.txt", "a.b.txt"));
  EXPECT_TRUE(MatchesPattern("<", "noext"));
  // DOS_QM: one character, or none at a dot or the end ("????????.???" in 8.3 form).
  EXPECT_TRUE(MatchesPattern(">>>>\">>>", "ab.c"));
  EXPECT_TRUE(MatchesPattern("ab>", "ab"));
  EXPECT_FALSE(MatchesPattern("a>", "abc"));
  // DOS_DOT: a dot, or nothing at the end.
  EXPECT_TRUE(MatchesPattern("ab\"", "ab"));
  EXPECT_TRUE(MatchesPattern("ab\"c", "ab.c"));
  EXPECT_TRUE(MatchesPattern("*É*", "caféé"));  // Unicode case folding
  // On a POSIX tree, exactly.
  EXPECT_FALSE(MatchesPattern("*.txt", "Notes.TXT", /*case_sensitive=*/true));
  EXPECT_TRUE(MatchesPattern("N*.TXT", "Notes.TXT", /*case_sensitive=*/true));
  EXPECT_TRUE(HasWildcards("a*"));
  EXPECT_FALSE(HasWildcards("plain.txt"));
  // Many stars do not take exponential time (bounded recursion).
  EXPECT_FALSE(MatchesPattern("*a*a*a*a*a*a*a*a*a*a*a*b", std::string(40, 'a')));
}

TEST(DirectoryEntries, LayoutAndAlignment) {
  core::Attr a;
  a.id.inode = 42;
  a.type = core::FileType::kRegular;
  a.size = 1000;
  a.used = 4096;
  a.mtime = {1700000000, 0};
  std::vector<std::byte> out;
  size_t start = 0;
  ASSERT_TRUE(
      AppendDirectoryEntry(wire::kFileIdBothDirectoryInformation, "x.txt", a, 4096, out, &start));
  EXPECT_EQ(start, 0u);
  EXPECT_EQ(out.size(), 104u + 10u);
  EXPECT_EQ(wire::LoadLe64(out.data() + 40), 1000u);  // EndOfFile
  EXPECT_EQ(wire::LoadLe64(out.data() + 48), 4096u);  // AllocationSize
  EXPECT_EQ(wire::LoadLe32(out.data() + 56), 0x80u);  // FILE_ATTRIBUTE_NORMAL
  EXPECT_EQ(wire::LoadLe32(out.data() + 60), 10u);    // FileNameLength
  EXPECT_EQ(wire::LoadLe64(out.data() + 96), 42u);    // FileId
  ASSERT_TRUE(AppendDirectoryEntry(wire::kFileNamesInformation, "y", a, 4096, out, &start));
  EXPECT_EQ(start, 120u);  // 8-aligned
  // One that does not fit is not written.
  const size_t before = out.size();
  EXPECT_FALSE(
      AppendDirectoryEntry(wire::kFileDirectoryInformation, "z", a, before + 10, out, &start));
  EXPECT_EQ(out.size(), before);
}

std::vector<std::byte> Hex(std::string_view hex) {
  std::vector<std::byte> out;
  for (size_t i = 0; i + 1 < hex.size();) {
    if (hex[i] == ' ') {
      ++i;
      continue;
    }
    out.push_back(static_cast<std::byte>(std::stoi(std::string(hex.substr(i, 2)), nullptr, 16)));
    i += 2;
  }
  return out;
}

core::Attr PosixFile() {
  core::Attr a;
  a.id.inode = 0x1234;
  a.type = core::FileType::kRegular;
  a.mode = 0640;
  a.nlink = 2;
  a.uid = 1000;
  a.gid = 100;
  a.size = 5;
  a.mtime = {1700000000, 0};
  return a;
}

// S-1-22-1-1000 and S-1-22-2-100: revision 1, two sub-authorities, authority 22 (big-endian).
TEST(Posix, UnixSids) {
  std::vector<std::byte> out;
  AppendUnixSid(1, 1000, out);
  AppendUnixSid(2, 100, out);
  EXPECT_EQ(out, Hex("0102000000000016 01000000 e8030000 0102000000000016 02000000 64000000"));
}

TEST(Posix, CreateContextResponse) {
  std::vector<std::byte> out;
  AppendPosixCreateResponse(PosixFile(), out);
  EXPECT_EQ(out, Hex("02000000 00000000 a0010000"
                     "0102000000000016 01000000 e8030000 0102000000000016 02000000 64000000"));
  EXPECT_EQ(
      PosixCreateContextTag(),
      std::string_view("\x93\xAD\x25\x50\x9C\xB4\x11\xE7\xB4\x23\x83\xDE\x96\x8B\xCD\x7C", 16));
}

// FILE_POSIX_INFORMATION: 4 times, EndOfFile, AllocationSize, attributes, inode, device, a
// zero, links, reparse tag, mode, owner, group.
TEST(Posix, InformationLayout) {
  std::vector<std::byte> out;
  AppendPosixInformation(PosixFile(), out);
  ASSERT_EQ(out.size(), 112u);
  EXPECT_EQ(wire::LoadLe64(out.data() + 16), wire::ToFiletime(1700000000, 0));  // LastWrite
  EXPECT_EQ(wire::LoadLe64(out.data() + 32), 5u);
  EXPECT_EQ(wire::LoadLe64(out.data() + 40), 4096u);
  EXPECT_EQ(wire::LoadLe32(out.data() + 48), 0x80u);
  EXPECT_EQ(wire::LoadLe64(out.data() + 52), 0x1234u);
  EXPECT_EQ(wire::LoadLe32(out.data() + 68), 2u);     // links
  EXPECT_EQ(wire::LoadLe32(out.data() + 72), 0u);     // no reparse tag
  EXPECT_EQ(wire::LoadLe32(out.data() + 76), 0640u);  // mode, type 0 (regular)
  EXPECT_EQ(wire::LoadLe32(out.data() + 92), 1000u);  // owner's last sub-authority
  EXPECT_EQ(wire::LoadLe32(out.data() + 108), 100u);  // group's
}

TEST(Posix, ModeCarriesSpecialTypes) {
  core::Attr a = PosixFile();
  a.type = core::FileType::kDirectory;
  a.mode = 01777;
  EXPECT_EQ(PosixModeOf(a), 01777u);  // type 0: the directory bit comes from the attributes
  a.type = core::FileType::kFifo;
  a.mode = 0600;
  EXPECT_EQ(PosixModeOf(a), 0600u | (5u << 12));
  EXPECT_EQ(PosixReparseTagOf(a), kReparseTagNfs);
  a.type = core::FileType::kSymlink;
  EXPECT_EQ(PosixModeOf(a) >> 12, 2u);
  EXPECT_EQ(PosixReparseTagOf(a), wire::kIoReparseTagSymlink);
  std::vector<std::byte> out;
  AppendPosixInformation(a, out);
  EXPECT_EQ(wire::LoadLe32(out.data() + 48), wire::kFileAttributeReparsePoint);
}

TEST(Posix, DirectoryEntry) {
  std::vector<std::byte> out;
  size_t start = 0;
  EXPECT_FALSE(IsDirectoryInfoClass(kFilePosixInformation));
  EXPECT_TRUE(IsDirectoryInfoClass(kFilePosixInformation, /*posix=*/true));
  ASSERT_TRUE(AppendDirectoryEntry(kFilePosixInformation, "Ab", PosixFile(), 4096, out, &start));
  // NextEntryOffset, FileIndex, then FILE_POSIX_INFORMATION (112), FileNameLength, the name.
  ASSERT_EQ(out.size(), 8u + 112u + 4u + 4u);
  EXPECT_EQ(wire::LoadLe64(out.data() + 8 + 52), 0x1234u);
  EXPECT_EQ(wire::LoadLe32(out.data() + 8 + 76), 0640u);
  EXPECT_EQ(wire::LoadLe32(out.data() + 120), 4u);
  EXPECT_EQ(out[124], std::byte{'A'});
}

// A self-relative descriptor: header, owner, group, then the DACL with `aces`.
std::vector<std::byte> Descriptor(const std::vector<std::byte>& owner,
                                  const std::vector<std::byte>& group,
                                  const std::vector<std::vector<std::byte>>& aces) {
  std::vector<std::byte> sd;
  wire::LeWriter w(sd);
  w.U8(1);
  w.U8(0);
  w.U16(0x8004);  // self-relative, DACL present
  w.U32(20);
  w.U32(static_cast<uint32_t>(20 + owner.size()));
  w.U32(0);
  w.U32(static_cast<uint32_t>(20 + owner.size() + group.size()));
  w.Bytes(owner);
  w.Bytes(group);
  size_t size = 8;
  for (const auto& a : aces) size += a.size();
  w.U8(2);
  w.U8(0);
  w.U16(static_cast<uint16_t>(size));
  w.U16(static_cast<uint16_t>(aces.size()));
  w.U16(0);
  return sd;
}

std::vector<std::byte> Ace(uint8_t type, uint32_t mask, const std::vector<std::byte>& sid) {
  std::vector<std::byte> out;
  wire::LeWriter o(out);
  o.U8(type);
  o.U8(0);
  o.U16(static_cast<uint16_t>(8 + sid.size()));
  o.U32(mask);
  o.Bytes(sid);
  return out;
}

std::vector<std::byte> WithAces(std::vector<std::byte> sd,
                                const std::vector<std::vector<std::byte>>& aces) {
  for (const auto& a : aces) sd.insert(sd.end(), a.begin(), a.end());
  return sd;
}

TEST(Posix, OwnershipFromCifsaclDescriptor) {
  std::vector<std::byte> owner, group, everyone = Hex("010100000000000100000000");
  AppendUnixSid(1, 1000, owner);
  AppendUnixSid(2, 100, group);
  // As the Linux client's cifsacl makes 0754: owner all, group read+execute, Everyone read.
  const std::vector<std::vector<std::byte>> aces = {
      Ace(0, 0x1F01FF, owner), Ace(0, 0x1200A9, group), Ace(0, 0x120089, everyone)};
  std::vector<std::byte> sd = WithAces(Descriptor(owner, group, aces), aces);
  int bad = 0;
  Result<PosixOwnership> own = PosixOwnershipOf(sd, 1 | 2 | 4, &bad);
  ASSERT_TRUE(own.ok()) << own.status().ToString();
  EXPECT_EQ(own->uid, 1000u);
  EXPECT_EQ(own->gid, 100u);
  EXPECT_EQ(own->mode, 0754u);
  // Only the sections asked for count.
  own = PosixOwnershipOf(sd, 4, &bad);
  ASSERT_TRUE(own.ok());
  EXPECT_FALSE(own->uid.has_value());
  EXPECT_EQ(own->mode, 0754u);
  // A deny ACE takes bits away.
  const std::vector<std::vector<std::byte>> denied = {Ace(1, 0x2, owner), Ace(0, 0x1F01FF, owner)};
  own = PosixOwnershipOf(WithAces(Descriptor(owner, group, denied), denied), 4, &bad);
  ASSERT_TRUE(own.ok());
  EXPECT_EQ(own->mode, 0500u);
}

TEST(Posix, OwnershipFromNfsStyleSids) {
  // modefromsid / idsfromsid: S-1-5-88-1-uid, S-1-5-88-2-gid, an ACE for S-1-5-88-3-mode.
  const auto nfs_sid = [](uint32_t kind, uint32_t id) {
    std::vector<std::byte> s = Hex("0103000000000005 58000000");
    wire::LeWriter w(s);
    w.U32(kind);
    w.U32(id);
    return s;
  };
  const std::vector<std::vector<std::byte>> aces = {Ace(0, 0, nfs_sid(3, 04711))};
  std::vector<std::byte> sd = WithAces(Descriptor(nfs_sid(1, 7), nfs_sid(2, 8), aces), aces);
  int bad = 0;
  Result<PosixOwnership> own = PosixOwnershipOf(sd, 1 | 2 | 4, &bad);
  ASSERT_TRUE(own.ok()) << own.status().ToString();
  EXPECT_EQ(own->uid, 7u);
  EXPECT_EQ(own->gid, 8u);
  EXPECT_EQ(own->mode, 04711u);
}

TEST(Posix, OwnershipRefusesWindowsSidsAndGarbage) {
  // S-1-5-21-1-2-3-500: a domain account, no Unix identity.
  std::vector<std::byte> windows =
      Hex("0105000000000005 15000000 01000000 02000000 03000000 f4010000");
  std::vector<std::byte> group;
  AppendUnixSid(2, 1, group);
  std::vector<std::byte> sd = Descriptor(windows, group, {});
  int bad = 0;
  EXPECT_FALSE(PosixOwnershipOf(sd, 1, &bad).ok());
  EXPECT_EQ(bad, 1);
  bad = 0;
  EXPECT_TRUE(PosixOwnershipOf(sd, 2, &bad).ok());  // the owner is not asked for
  sd.resize(30);
  EXPECT_FALSE(PosixOwnershipOf(sd, 1, &bad).ok());
  EXPECT_FALSE(PosixOwnershipOf(Hex("0100"), 1, &bad).ok());
}

TEST(Posix, ReparseDataOfSpecialFiles) {
  core::Attr a = PosixFile();
  std::vector<std::byte> out;
  EXPECT_FALSE(AppendSpecialReparseData(a, out));  // a regular file has none
  a.type = core::FileType::kSymlink;
  EXPECT_FALSE(AppendSpecialReparseData(a, out));  // a symlink's is the wire codec's
  EXPECT_TRUE(out.empty());
  Result<ReparseObject> back =
      ParseReparseData(Hex("0c0000a0 2400 0000 0000 0c00 0c00 0c00 01000000"
                           "2e002e005c0074005c007800 2e002e005c0074005c007800"));
  EXPECT_FALSE(back.ok());  // IO_REPARSE_TAG_SYMLINK: decoded by wire::DecodeSymlinkReparse

  out.clear();
  a.type = core::FileType::kCharDevice;
  a.rdev_major = 1;
  a.rdev_minor = 3;
  ASSERT_TRUE(AppendSpecialReparseData(a, out));
  // MS-FSCC 2.1.2.6: IO_REPARSE_TAG_NFS, NFS_SPECFILE_CHR, major, minor.
  EXPECT_EQ(out, Hex("14000080 1000 0000 4348520000000000 01000000 03000000"));
  back = ParseReparseData(out);
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back->type, core::FileType::kCharDevice);
  EXPECT_EQ(back->major, 1u);
  EXPECT_EQ(back->minor, 3u);

  out.clear();
  a.type = core::FileType::kFifo;
  ASSERT_TRUE(AppendSpecialReparseData(a, out));
  EXPECT_EQ(ParseReparseData(out)->type, core::FileType::kFifo);

  // The NFS symlink form and WSL's.
  back = ParseReparseData(Hex("14000080 0c00 0000 4c4e4b0100000000 61002f00"));
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back->type, core::FileType::kSymlink);
  EXPECT_EQ(back->target, "a/");
  back = ParseReparseData(Hex("1d0000a0 0600 0000 02000000 2f78"));
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back->target, "/x");
  EXPECT_EQ(ParseReparseData(Hex("240000800000 0000"))->type, core::FileType::kFifo);
  // Truncated, unknown, empty targets.
  EXPECT_FALSE(ParseReparseData(Hex("14000080 1000 0000 43485200")).ok());
  EXPECT_FALSE(ParseReparseData(Hex("01000000 0000 0000")).ok());
  EXPECT_FALSE(ParseReparseData(Hex("14000080 0800 0000 4c4e4b0100000000")).ok());
}

// Every prefix of a valid descriptor or reparse buffer, and every one-byte change, is answered
// without reading past the end (the sanitizer builds check that).
TEST(Posix, DecodersTakeTruncatedAndCorruptInput) {
  std::vector<std::byte> owner, group;
  AppendUnixSid(1, 1000, owner);
  AppendUnixSid(2, 100, group);
  const std::vector<std::vector<std::byte>> aces = {Ace(0, 0x1F01FF, owner), Ace(1, 0x2, group)};
  const std::vector<std::byte> sd = WithAces(Descriptor(owner, group, aces), aces);
  core::Attr device = PosixFile();
  device.type = core::FileType::kBlockDevice;
  std::vector<std::byte> reparse;
  ASSERT_TRUE(AppendSpecialReparseData(device, reparse));
  const std::vector<std::byte> nfs_link = Hex("14000080 0c00 0000 4c4e4b0100000000 61002f00");
  int bad = 0;
  for (const auto& valid : {sd, reparse, nfs_link}) {
    for (size_t n = 0; n < valid.size(); ++n) {
      std::span<const std::byte> prefix(valid.data(), n);
      (void)PosixOwnershipOf(prefix, 7, &bad);
      (void)ParseReparseData(prefix);
    }
    for (size_t i = 0; i < valid.size(); ++i) {
      std::vector<std::byte> changed = valid;
      changed[i] = std::byte{0xFF};
      (void)PosixOwnershipOf(changed, 7, &bad);
      (void)ParseReparseData(changed);
    }
  }
  EXPECT_FALSE(
      PosixOwnershipOf(std::span<const std::byte>(sd.data(), sd.size() - 1), 7, &bad).ok());
  // Offsets near 2^32 do not wrap around to the start.
  std::vector<std::byte> far = sd;
  wire::StoreLe32(far.data() + 16, 0xFFFFFFF9u);
  EXPECT_FALSE(PosixOwnershipOf(far, 4, &bad).ok());
  wire::StoreLe32(far.data() + 4, 0xFFFFFFF9u);
  EXPECT_FALSE(PosixOwnershipOf(far, 1, &bad).ok());
}

TEST(DosAttributes, FromTheRuntime) {
  core::Attr a;
  a.type = core::FileType::kDirectory;
  EXPECT_EQ(DosAttributesOf(a), 0x10u);
  a.type = core::FileType::kRegular;
  EXPECT_EQ(DosAttributesOf(a), 0x80u);
  a.dos_attributes = core::kDosHidden | core::kDosArchive;
  EXPECT_EQ(DosAttributesOf(a), 0x22u);
}

// Symlink targets as Windows symbolic links' names and back (MS-FSCC 2.1.2.4).
TEST(SymlinkReparse, MapsSeparatorsAndRelativity) {
  wire::SymlinkReparse rel = SymlinkReparseOf("../a/b");
  EXPECT_EQ(rel.substitute_name, "..\\a\\b");
  EXPECT_EQ(rel.print_name, "..\\a\\b");
  EXPECT_TRUE(rel.relative);
  EXPECT_EQ(SymlinkTargetOf(rel), "../a/b");
  wire::SymlinkReparse abs = SymlinkReparseOf("/srv/x");
  EXPECT_FALSE(abs.relative);
  EXPECT_EQ(abs.substitute_name, "\\srv\\x");
  EXPECT_EQ(SymlinkTargetOf(abs), "/srv/x");
  EXPECT_EQ(SymlinkTargetOf({.substitute_name = "\\??\\C:\\dir", .print_name = "C:\\dir"}),
            "/C:/dir");
  EXPECT_EQ(SymlinkTargetOf({.substitute_name = "", .print_name = "p", .relative = true}), "p");
  EXPECT_EQ(SymlinkTargetOf({}), "");
  core::Attr link;
  link.type = core::FileType::kSymlink;
  EXPECT_EQ(DosAttributesOf(link), wire::kFileAttributeReparsePoint);
  EXPECT_EQ(ReparseTagOf(link), wire::kIoReparseTagSymlink);
  link.type = core::FileType::kRegular;
  EXPECT_EQ(ReparseTagOf(link), 0u);
}

// MS-FSCC 2.4.17, 2.4.19 and 2.4.x: a listed reparse point carries REPARSE_POINT in its
// attributes and its tag in the EaSize field (FileIdExtdDirectoryInformation: ReparsePointTag).
TEST(AppendDirectoryEntry, SymlinksCarryTheirReparseTag) {
  core::Attr link;
  link.type = core::FileType::kSymlink;
  for (uint8_t c : {wire::kFileFullDirectoryInformation, wire::kFileIdBothDirectoryInformation,
                    wire::kFileIdExtdDirectoryInformation}) {
    SCOPED_TRACE(static_cast<int>(c));
    std::vector<std::byte> out;
    size_t start = 0;
    ASSERT_TRUE(AppendDirectoryEntry(c, "l", link, 4096, out, &start));
    wire::LeReader r(out);
    r.Skip(56);
    EXPECT_EQ(r.U32(), wire::kFileAttributeReparsePoint);
    r.U32();  // FileNameLength
    const uint32_t ea_size = r.U32();
    if (c == wire::kFileIdExtdDirectoryInformation) {
      EXPECT_EQ(ea_size, 0u);
      EXPECT_EQ(r.U32(), wire::kIoReparseTagSymlink);
    } else {
      EXPECT_EQ(ea_size, wire::kIoReparseTagSymlink);
    }
  }
  core::Attr file;
  std::vector<std::byte> out;
  size_t start = 0;
  ASSERT_TRUE(
      AppendDirectoryEntry(wire::kFileFullDirectoryInformation, "f", file, 4096, out, &start));
  wire::LeReader r(out);
  r.Skip(64);
  EXPECT_EQ(r.U32(), 0u);
}

}  // namespace
}  // namespace dittofs::smb

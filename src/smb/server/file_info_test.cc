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

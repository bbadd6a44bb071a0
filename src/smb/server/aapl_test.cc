// SPDX-License-Identifier: Apache-2.0
#include "smb/server/aapl.h"

#include <gtest/gtest.h>

#include "smb/server/file_info.h"
#include "smb/wire/le.h"
#include "smb/wire/smb2.h"

namespace dittofs::smb {
namespace {

std::vector<std::byte> Query(uint32_t command, uint64_t bitmap, uint64_t caps, size_t size = 24) {
  std::vector<std::byte> d;
  wire::LeWriter w(d);
  w.U32(command);
  w.U32(0);
  w.U64(bitmap);
  w.U64(caps);
  d.resize(size);
  return d;
}

// The server query as macOS sends it: every bit of the request bitmap, directory attributes.
TEST(Aapl, ServerQueryAndItsReply) {
  Result<AaplQuery> q = ParseAaplQuery(Query(1, 7, kAaplSupportsReadDirAttr | kAaplUnixBased));
  ASSERT_TRUE(q.ok());
  EXPECT_EQ(q->request_bitmap, 7u);
  const uint64_t caps = AaplServerCapsFor(q->client_caps);
  EXPECT_EQ(caps, kAaplSupportsReadDirAttr | kAaplUnixBased);
  const std::vector<std::byte> r = EncodeAaplReply(*q, caps, kAaplSupportsFullSync, "DittoFS");
  // command, reserved, bitmap, server caps, volume caps, Pad2, length, "DittoFS" in UTF-16
  // (14 bytes), padded to 8 bytes.
  ASSERT_EQ(r.size(), 4u + 4 + 8 + 8 + 8 + 4 + 4 + 16);
  EXPECT_EQ(wire::LoadLe32(r.data()), 1u);
  EXPECT_EQ(wire::LoadLe64(r.data() + 8), 7u);
  EXPECT_EQ(wire::LoadLe64(r.data() + 16), caps);
  EXPECT_EQ(wire::LoadLe64(r.data() + 24), kAaplSupportsFullSync);
  EXPECT_EQ(wire::LoadLe32(r.data() + 32), 0u);
  EXPECT_EQ(wire::LoadLe32(r.data() + 36), 14u);
  EXPECT_EQ(static_cast<char>(r[40]), 'D');
  EXPECT_EQ(static_cast<char>(r[52]), 'S');
  EXPECT_EQ(wire::LoadLe16(r.data() + 54), 0u);
}

// Only what was asked for comes back, in bitmap order; unknown bits are dropped.
TEST(Aapl, ReplyCarriesOnlyWhatWasAsked) {
  AaplQuery q;
  q.request_bitmap = kAaplVolumeCaps | 0x100;
  const std::vector<std::byte> r = EncodeAaplReply(q, kAaplUnixBased, kAaplSupportsFullSync, "x");
  ASSERT_EQ(r.size(), 24u);
  EXPECT_EQ(wire::LoadLe64(r.data() + 8), kAaplVolumeCaps);
  EXPECT_EQ(wire::LoadLe64(r.data() + 16), kAaplSupportsFullSync);
  // A client without directory attributes is not given them.
  EXPECT_EQ(AaplServerCapsFor(0), kAaplUnixBased);
}

TEST(Aapl, MalformedQueriesAreRefused) {
  EXPECT_FALSE(ParseAaplQuery(Query(1, 7, 0, 16)).ok());
  EXPECT_FALSE(ParseAaplQuery(Query(1, 7, 0, 32)).ok());
  EXPECT_FALSE(ParseAaplQuery(Query(2, 7, 0)).ok());  // kAAPL_RESOLVE_ID: not offered
  EXPECT_FALSE(ParseAaplQuery({}).ok());
}

// FILE_ID_BOTH_DIR_INFORMATION with directory attributes: maximal access in EaSize, the
// resource fork length and Finder info (zeros) in the short name, the mode in Reserved2.
TEST(Aapl, DirectoryAttributesInIdBothEntries) {
  core::Attr a;
  a.id.inode = 7;
  a.type = core::FileType::kRegular;
  a.mode = 0640;
  AppleEntryFields fields{0x001F01FF, true};
  std::vector<std::byte> out;
  size_t start = 0;
  ASSERT_TRUE(AppendDirectoryEntry(wire::kFileIdBothDirectoryInformation, "f", a, 4096, out, &start,
                                   &fields));
  EXPECT_EQ(wire::LoadLe32(out.data() + 64), 0x001F01FFu);  // EaSize
  EXPECT_EQ(static_cast<uint8_t>(out[68]), 0u);             // ShortNameLength
  for (size_t i = 70; i < 94; ++i) EXPECT_EQ(static_cast<uint8_t>(out[i]), 0u) << i;
  EXPECT_EQ(wire::LoadLe16(out.data() + 94), 0100640u);  // Reserved2: the mode
  EXPECT_EQ(wire::LoadLe64(out.data() + 96), 7u);
  // A directory's type bits; a symlink keeps its reparse tag in EaSize.
  a.type = core::FileType::kDirectory;
  a.mode = 0755;
  EXPECT_EQ(UnixModeOf(a), 040755u);
  a.type = core::FileType::kSymlink;
  out.clear();
  ASSERT_TRUE(AppendDirectoryEntry(wire::kFileIdBothDirectoryInformation, "l", a, 4096, out, &start,
                                   &fields));
  EXPECT_EQ(wire::LoadLe32(out.data() + 64), ReparseTagOf(a));
  EXPECT_EQ(wire::LoadLe16(out.data() + 94), 0120755u);
  // Without them, neither.
  out.clear();
  a.type = core::FileType::kRegular;
  ASSERT_TRUE(
      AppendDirectoryEntry(wire::kFileIdBothDirectoryInformation, "g", a, 4096, out, &start));
  EXPECT_EQ(wire::LoadLe32(out.data() + 64), 0u);
  EXPECT_EQ(wire::LoadLe16(out.data() + 94), 0u);
}

}  // namespace
}  // namespace dittofs::smb

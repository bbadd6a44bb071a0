// SPDX-License-Identifier: Apache-2.0
#include "config/store_layout.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <set>
#include <string>
#include <vector>

#include "testing/scratch_dir.h"
#include "testing/status_matchers.h"

namespace dittofs::config {
namespace {

using ::dittofs::testing::StatusIs;
using ::testing::HasSubstr;

// Decodes a ShareDirName, to show that the encoding loses nothing.
std::string Decode(const std::string& dir_name) {
  if (dir_name == ".2F") return "/";
  std::string out = "/";
  for (size_t i = 0; i < dir_name.size(); ++i) {
    if (dir_name[i] == '.') {
      out += static_cast<char>(std::stoi(dir_name.substr(i + 1, 2), nullptr, 16));
      i += 2;
    } else {
      out += dir_name[i];
    }
  }
  return out;
}

TEST(ShareDirNameTest, KeepsLettersDigitsAndHyphensAndEncodesEverythingElse) {
  EXPECT_EQ(ShareDirName("/export"), "export");
  EXPECT_EQ(ShareDirName("/Team-2"), "Team-2");
  EXPECT_EQ(ShareDirName("/team_a"), "team.5Fa");
  EXPECT_EQ(ShareDirName("/team.a"), "team.2Ea");
  EXPECT_EQ(ShareDirName("/team_2Ea"), "team.5F2Ea");
  EXPECT_EQ(ShareDirName("/a/b"), "a.2Fb");
  EXPECT_EQ(ShareDirName("/.."), ".2E.2E");
  EXPECT_EQ(ShareDirName("/caf\xc3\xa9"), "caf.C3.A9");
  EXPECT_EQ(ShareDirName("/"), ".2F");
}

// The bug of issue 11: names that differ only in folded bytes got one directory.
TEST(ShareDirNameTest, IsInjective) {
  std::vector<std::string> names = {"/team_a", "/team.a",   "/team_2Ea", "/team 2Ea", "/team-a",
                                    "/team/a", "/team_5Fa", "/team.5Fa", "/",         "/.2F",
                                    "/_",      "/.",        "/a",        "/A",        "/a.2F"};
  std::set<std::string> dirs;
  for (const std::string& name : names) {
    std::string dir = ShareDirName(name);
    EXPECT_TRUE(dirs.insert(dir).second) << name << " -> " << dir << " is taken";
    EXPECT_EQ(Decode(dir), name);
  }
  // Every byte value round-trips.
  for (int c = 1; c < 256; ++c) {
    std::string name = std::string("/x") + static_cast<char>(c);
    EXPECT_EQ(Decode(ShareDirName(name)), name) << c;
  }
}

TEST(ShareDirNameTest, NeverAnOldRuleNameNorASpecialDirectory) {
  for (const char* name : {"/export", "/team_a", "/.", "/..", "/_x", "/-", "/2Eab", "/.ab"}) {
    std::string dir = ShareDirName(name);
    EXPECT_EQ(dir.find('_'), std::string::npos) << dir;  // every old-rule name starts with '_'
    EXPECT_NE(dir, ".");
    EXPECT_NE(dir, "..");
    EXPECT_NE(dir.back(), '.');
  }
  EXPECT_EQ(LegacyShareDirName("/team_a"), "_team_a");
  EXPECT_EQ(LegacyShareDirName("/team.a"), "_team_a");  // the collision
  EXPECT_EQ(LegacyShareDirName("/export"), "_export");
}

// A share's PostgreSQL schema: the prefix, then the name with what is not a lowercase letter or
// digit encoded (so no two shares share one), and a hash past PostgreSQL's 63 bytes.
TEST(PostgresSchemaForTest, EncodesTheNameAndHashesLongOnes) {
  EXPECT_EQ(PostgresSchemaFor("dittofs", "/export"), "dittofs_export");
  EXPECT_EQ(PostgresSchemaFor("dittofs", "/Data-1"), "dittofs__44ata_2d1");
  EXPECT_EQ(PostgresSchemaFor("p", "/"), "p__2f");
  EXPECT_NE(PostgresSchemaFor("p", "/team_a"), PostgresSchemaFor("p", "/team.a"));
  const std::string a = PostgresSchemaFor("dittofs", "/" + std::string(80, 'a'));
  const std::string b = PostgresSchemaFor("dittofs", "/" + std::string(81, 'a'));
  EXPECT_LE(a.size(), 63u);
  EXPECT_EQ(a.rfind("dittofs_h", 0), 0u);
  EXPECT_NE(a, b);
  EXPECT_OK(ValidMetadataSchemaPrefix("dittofs"));
  EXPECT_OK(ValidMetadataSchemaPrefix("_x9"));
  EXPECT_THAT(ValidMetadataSchemaPrefix(""), StatusIs(Errc::kInvalid));
  EXPECT_THAT(ValidMetadataSchemaPrefix("9x"), StatusIs(Errc::kInvalid));
  EXPECT_THAT(ValidMetadataSchemaPrefix("Bad"), StatusIs(Errc::kInvalid));
  EXPECT_THAT(ValidMetadataSchemaPrefix(std::string(31, 'a')), StatusIs(Errc::kInvalid));
}

TEST(StoreLocationsTest, DefaultsAndConfiguredPlaces) {
  ASSERT_OK_AND_ASSIGN(auto none, MetadataStoreLocations("memory", "{}", "/st"));
  EXPECT_TRUE(none.empty());
  ASSERT_OK_AND_ASSIGN(auto rocks, MetadataStoreLocations("rocksdb", R"({"path":"/m"})", "/st"));
  ASSERT_EQ(rocks.size(), 1u);
  EXPECT_EQ(rocks[0].dir, "/m");
  EXPECT_EQ(rocks[0].role, StoreRole::kMetadata);
  EXPECT_FALSE(rocks[0].defaulted);
  ASSERT_OK_AND_ASSIGN(auto seeded, MetadataStoreLocations("rocksdb", "{}", "/st"));
  EXPECT_EQ(seeded[0].dir, "/st/metadata");
  EXPECT_TRUE(seeded[0].defaulted);
  EXPECT_THAT(MetadataStoreLocations("leveldb", "{}", "/st"), StatusIs(Errc::kInvalid));

  ASSERT_OK_AND_ASSIGN(auto tiered, BlockStoreLocations("tiered", "{}", "/st"));
  ASSERT_EQ(tiered.size(), 2u);
  EXPECT_EQ(tiered[0].dir, "/st/blocks");
  EXPECT_EQ(tiered[0].role, StoreRole::kBlocks);
  EXPECT_EQ(tiered[1].dir, "/st/remote");
  EXPECT_EQ(tiered[1].role, StoreRole::kRemote);
  ASSERT_OK_AND_ASSIGN(
      auto s3, BlockStoreLocations("tiered",
                                   R"({"dir":"/j","remote":{"type":"s3","endpoint":"http://h:9",)"
                                   R"("bucket":"b","prefix":"p"}})",
                                   "/st"));
  ASSERT_EQ(s3.size(), 2u);
  EXPECT_EQ(s3[0].dir, "/j");
  EXPECT_TRUE(s3[1].is_s3());
  EXPECT_EQ(s3[1].prefix, "p/");
  EXPECT_EQ(ShareLocation(s3[1], "team.5Fa").prefix, "p/team.5Fa/");
  EXPECT_EQ(DescribeLocation(ShareLocation(s3[1], "x")), "s3://b/p/x/");
  EXPECT_EQ(ShareLocation(s3[0], "team.5Fa").dir, "/j/team.5Fa");
  ASSERT_OK_AND_ASSIGN(auto mem,
                       BlockStoreLocations("tiered", R"({"remote":{"type":"memory"}})", "/st"));
  EXPECT_EQ(mem.size(), 1u);
}

TEST(RelateTest, LocalDirectories) {
  EXPECT_EQ(RelatePaths("/srv/a", "/srv/a/"), Overlap::kSame);
  EXPECT_EQ(RelatePaths("/srv/a/../b", "/srv/b"), Overlap::kSame);
  EXPECT_EQ(RelatePaths("/srv/a/b", "/srv/a"), Overlap::kInside);
  EXPECT_EQ(RelatePaths("/srv", "/srv/a"), Overlap::kContains);
  EXPECT_EQ(RelatePaths("/srv/ab", "/srv/a"), Overlap::kNone);
  EXPECT_EQ(RelatePaths("/x", "/"), Overlap::kInside);
}

TEST(RelateTest, SymbolicLinksAreResolved) {
  dittofs::testing::ScratchDir scratch("dfs-layout");
  const std::string& dir = scratch.path();
  ASSERT_FALSE(dir.empty());
  std::filesystem::create_directories(dir + "/real/inner");
  std::filesystem::create_directory_symlink(dir + "/real", dir + "/link");
  EXPECT_EQ(RelatePaths(dir + "/link", dir + "/real"), Overlap::kSame);
  EXPECT_EQ(RelatePaths(dir + "/link/inner/new", dir + "/real"), Overlap::kInside);
}

TEST(RelateTest, S3Prefixes) {
  StoreLocation a{.role = StoreRole::kRemote, .endpoint = "http://h", .bucket = "b", .prefix = ""};
  StoreLocation b = a;
  b.prefix = "team/";
  StoreLocation c = a;
  c.prefix = "teams/";
  StoreLocation other = a;
  other.bucket = "b2";
  StoreLocation local{.role = StoreRole::kRemote, .dir = "/srv"};
  EXPECT_EQ(Relate(a, a), Overlap::kSame);
  EXPECT_EQ(Relate(b, a), Overlap::kInside);
  EXPECT_EQ(Relate(a, b), Overlap::kContains);
  EXPECT_EQ(Relate(b, c), Overlap::kNone);
  EXPECT_EQ(Relate(a, other), Overlap::kNone);
  EXPECT_EQ(Relate(a, local), Overlap::kNone);
  StoreLocation elsewhere = b;
  elsewhere.endpoint = "https://other";  // one bucket may be reached through several endpoints
  EXPECT_EQ(Relate(b, elsewhere), Overlap::kSame);
}

TEST(CheckNotSystemPathTest, RefusesSystemDirectoriesAndRelativePaths) {
  for (const char* path :
       {"/", "/etc", "/etc/dittofs", "/proc/1", "/sys", "/dev/shm", "/boot", "/bin", "/sbin/x",
        "/lib", "/lib64/x", "/libx32", "/usr", "/usr/local/dfs", "/run/dfs", "/var/run",
        "/var/run/dfs", "/srv/../etc", "//etc"}) {
    EXPECT_THAT(CheckNotSystemPath(path), StatusIs(Errc::kInvalid)) << path;
  }
  EXPECT_THAT(CheckNotSystemPath("relative/dir"), StatusIs(Errc::kInvalid));
  EXPECT_THAT(CheckNotSystemPath("/etc").message(), HasSubstr("system directory"));
  for (const char* path : {"/srv/dfs", "/var/lib/dittofs", "/home/u/dfs", "/tmp/x", "/data",
                           "/variable", "/etcetera"}) {
    EXPECT_TRUE(CheckNotSystemPath(path).ok()) << path;
  }
}

}  // namespace
}  // namespace dittofs::config

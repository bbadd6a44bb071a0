// SPDX-License-Identifier: Apache-2.0
#include "server/share_layout.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "config/store_layout.h"
#include "stores/metadata/memory/memory_metadata_store.h"
#include "testing/scratch_dir.h"
#include "testing/status_matchers.h"

namespace dittofs::server {
namespace {

namespace fs = std::filesystem;
using ::dittofs::testing::StatusIs;

void WriteFile(const std::string& path, const std::string& text) {
  fs::create_directories(fs::path(path).parent_path());
  std::ofstream(path) << text;
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// A share's claim on its directory under `base`.
LegacyDirClaim Claim(int64_t id, const std::string& share, const std::string& base) {
  return {id, share, base + "/" + config::LegacyShareDirName(share),
          base + "/" + config::ShareDirName(share)};
}

class MigrateLegacyDirsTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_FALSE(base_.empty()); }

  testing::ScratchDir scratch_{"dfs-migrate"};
  const std::string base_ = scratch_.path();
};

TEST_F(MigrateLegacyDirsTest, TheOnlyClaimantGetsItsOldDirectory) {
  WriteFile(base_ + "/_export/data", "export's");
  ASSERT_OK(MigrateLegacyDirs({Claim(1, "/export", base_)}));
  EXPECT_FALSE(fs::exists(base_ + "/_export"));
  EXPECT_EQ(ReadFile(base_ + "/export/data"), "export's");
  // Done once: a second start finds the new directory and changes nothing.
  ASSERT_OK(MigrateLegacyDirs({Claim(1, "/export", base_)}));
  EXPECT_EQ(ReadFile(base_ + "/export/data"), "export's");
}

TEST_F(MigrateLegacyDirsTest, WhenNamesCollidedTheOldestShareGetsTheDirectory) {
  WriteFile(base_ + "/_team_a/data", "mixed");
  // Listed newest first: the owner is chosen by id, not by order.
  ASSERT_OK(MigrateLegacyDirs({Claim(7, "/team.a", base_), Claim(3, "/team_a", base_)}));
  EXPECT_FALSE(fs::exists(base_ + "/_team_a"));
  EXPECT_EQ(ReadFile(base_ + "/team.5Fa/data"), "mixed");  // /team_a, id 3
  EXPECT_FALSE(fs::exists(base_ + "/team.2Ea"));           // /team.a starts empty
}

TEST_F(MigrateLegacyDirsTest, AnExistingNewDirectoryWinsAndTheOldOneIsLeftAlone) {
  WriteFile(base_ + "/_export/data", "old");
  WriteFile(base_ + "/export/data", "new");
  ASSERT_OK(MigrateLegacyDirs({Claim(1, "/export", base_)}));
  EXPECT_EQ(ReadFile(base_ + "/export/data"), "new");
  EXPECT_EQ(ReadFile(base_ + "/_export/data"), "old");
}

TEST_F(MigrateLegacyDirsTest, EachBaseOnItsOwnAndNothingToMoveIsFine) {
  WriteFile(base_ + "/m/_team_a/data", "metadata of /team_a");
  WriteFile(base_ + "/b/_team_a/data", "blocks of /team.a");
  // /team_a keeps metadata in m; /team.a its blocks in b: no collision in either.
  ASSERT_OK(MigrateLegacyDirs({Claim(1, "/team_a", base_ + "/m"), Claim(2, "/team.a", base_ + "/b"),
                               Claim(3, "/fresh", base_ + "/m")}));
  EXPECT_EQ(ReadFile(base_ + "/m/team.5Fa/data"), "metadata of /team_a");
  EXPECT_EQ(ReadFile(base_ + "/b/team.2Ea/data"), "blocks of /team.a");
  EXPECT_FALSE(fs::exists(base_ + "/m/fresh"));
}

TEST_F(MigrateLegacyDirsTest, AFailedRenameStopsTheStart) {
  WriteFile(base_ + "/_export/data", "export's");
  LegacyDirClaim claim = Claim(1, "/export", base_);
  claim.dir = base_ + "/missing/parent/export";
  EXPECT_THAT(MigrateLegacyDirs({claim}), StatusIs(Errc::kIo));
}

// The name, or the error as text.
std::string Name(const Result<std::string>& name) {
  return name.ok() ? *name : name.status().ToString();
}

class RemoteDirNameTest : public ::testing::Test {
 protected:
  // Makes the store refer to an object, as one that uploaded under the old rule does.
  void AddObject() {
    ASSERT_OK(stores::RunTransaction(*metadata_, [](stores::MetadataTxn& txn) {
      txn.PutRecord(stores::RecordTable::kObjects, "object-1", "chunks");
      return Status::Ok();
    }));
  }

  std::unique_ptr<stores::MetadataStore> metadata_ = stores::NewMemoryMetadataStore();
};

TEST_F(RemoteDirNameTest, ANewShareGetsTheNewNameAndKeepsIt) {
  ASSERT_OK_AND_ASSIGN(std::string name,
                       RemoteDirName(*metadata_, "/team_a", "/srv/remote", {.owner = true}));
  EXPECT_EQ(name, "team.5Fa");
  AddObject();
  // Recorded: objects uploaded since do not make it take the old name.
  EXPECT_EQ(Name(RemoteDirName(*metadata_, "/team_a", "/srv/remote", {.owner = true})), "team.5Fa");
}

TEST_F(RemoteDirNameTest, AShareWithOldObjectsKeepsItsOldNameWhenItOwnsIt) {
  AddObject();
  EXPECT_EQ(Name(RemoteDirName(*metadata_, "/team_a", "/srv/remote", {.owner = true})), "_team_a");
  // Recorded: it stays, even once the share is no longer known as the owner (after start).
  EXPECT_EQ(Name(RemoteDirName(*metadata_, "/team_a", "/srv/remote", {})), "_team_a");
}

TEST_F(RemoteDirNameTest, AShareThatDoesNotOwnTheOldNameMovesToItsNewOne) {
  AddObject();
  EXPECT_EQ(Name(RemoteDirName(*metadata_, "/team.a", "/srv/remote", {})), "team.2Ea");
}

TEST_F(RemoteDirNameTest, AnotherRemoteGetsTheNewName) {
  AddObject();
  ASSERT_EQ(Name(RemoteDirName(*metadata_, "/team_a", "/srv/remote", {.owner = true})), "_team_a");
  EXPECT_EQ(Name(RemoteDirName(*metadata_, "/team_a", "s3://other/", {.owner = true})), "team.5Fa");
}

}  // namespace
}  // namespace dittofs::server

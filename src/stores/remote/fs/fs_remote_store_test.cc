// SPDX-License-Identifier: Apache-2.0
#include "stores/remote/fs/fs_remote_store.h"

#include <stdlib.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <utility>

#include "stores/remote/conformance.h"
#include "testing/scratch_dir.h"
#include "testing/status_matchers.h"

namespace dittofs::stores {
namespace {

using ::dittofs::testing::ScratchDir;
using ::dittofs::testing::StatusIs;

// A store that owns the scratch directory it lives in, so the directory goes with it.
class ScratchRemoteStore final : public RemoteStore {
 public:
  ScratchRemoteStore(std::unique_ptr<ScratchDir> dir, std::unique_ptr<RemoteStore> store)
      : dir_(std::move(dir)), store_(std::move(store)) {}

  Status Put(std::string_view key, ByteView data) override { return store_->Put(key, data); }
  Result<Buffer> Get(std::string_view key, uint64_t offset,
                     std::optional<uint64_t> length) override {
    return store_->Get(key, offset, length);
  }
  Status Delete(std::string_view key) override { return store_->Delete(key); }
  Result<std::vector<ObjectInfo>> List(std::string_view prefix) override {
    return store_->List(prefix);
  }

 private:
  std::unique_ptr<ScratchDir> dir_;
  std::unique_ptr<RemoteStore> store_;  // declared last: closed before the directory goes
};

std::unique_ptr<RemoteStore> OpenScratchStore() {
  auto dir = std::make_unique<ScratchDir>("dittofs-remote-fs");
  if (dir->path().empty()) {
    ADD_FAILURE() << "mkdtemp failed";
    return nullptr;
  }
  // A root below the scratch directory also checks that missing parents are created.
  Result<std::unique_ptr<RemoteStore>> store =
      OpenFsRemoteStore({.root = dir->path() + "/remote/root"});
  if (!store.ok()) {
    ADD_FAILURE() << store.status().ToString();
    return nullptr;
  }
  return std::make_unique<ScratchRemoteStore>(std::move(dir), std::move(store).value());
}

INSTANTIATE_TEST_SUITE_P(Fs, RemoteStoreConformance,
                         ::testing::Values(RemoteStoreFactory{"Fs", OpenScratchStore}),
                         RemoteStoreFactoryName);

std::vector<std::string> FilesUnder(const std::string& dir) {
  std::vector<std::string> files;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(dir)) {
    if (entry.is_regular_file()) {
      files.push_back(std::filesystem::relative(entry.path(), dir).string());
    }
  }
  std::sort(files.begin(), files.end());
  return files;
}

TEST(FsRemoteStoreTest, ObjectsSurviveReopeningAndLayoutIsAsDocumented) {
  ScratchDir dir{"dittofs-remote-fs"};
  ASSERT_FALSE(dir.path().empty());
  {
    ASSERT_OK_AND_ASSIGN(std::unique_ptr<RemoteStore> store, OpenFsRemoteStore({dir.path()}));
    ASSERT_OK(store->Put("chunks/ab/abcdef", AsBytes("chunk")));
    ASSERT_OK(store->Put("chunks", AsBytes("a key that is also a directory")));
    ASSERT_OK(store->Put("gone", AsBytes("x")));
    ASSERT_OK(store->Delete("gone"));
  }
  EXPECT_EQ(FilesUnder(dir.path()),
            (std::vector<std::string>{"objects/d-chunks/d-ab/o-abcdef", "objects/o-chunks"}));
  struct stat st;
  ASSERT_EQ(stat((dir.path() + "/objects/d-chunks/d-ab/o-abcdef").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 077, 0u);
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<RemoteStore> store, OpenFsRemoteStore({dir.path()}));
  ASSERT_OK_AND_ASSIGN(Buffer chunk, store->Get("chunks/ab/abcdef"));
  EXPECT_EQ(AsChars(chunk.view()), "chunk");
  ASSERT_OK_AND_ASSIGN(std::vector<ObjectInfo> list, store->List(""));
  EXPECT_EQ(list, (std::vector<ObjectInfo>{{"chunks", 30}, {"chunks/ab/abcdef", 5}}));
}

// A Put that died before its rename left only a file in tmp/: never listed, removed on open.
TEST(FsRemoteStoreTest, InterruptedPutsAreNeverListedAndAreCleanedOnOpen) {
  ScratchDir dir{"dittofs-remote-fs"};
  ASSERT_FALSE(dir.path().empty());
  {
    ASSERT_OK_AND_ASSIGN(std::unique_ptr<RemoteStore> store, OpenFsRemoteStore({dir.path()}));
    ASSERT_OK(store->Put("kept", AsBytes("kept")));
  }
  std::ofstream(dir.path() + "/tmp/7-00000000deadbeef") << "half a chunk";
  ASSERT_EQ(FilesUnder(dir.path() + "/tmp").size(), 1u);
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<RemoteStore> store, OpenFsRemoteStore({dir.path()}));
  EXPECT_TRUE(FilesUnder(dir.path() + "/tmp").empty());
  ASSERT_OK_AND_ASSIGN(std::vector<ObjectInfo> list, store->List(""));
  EXPECT_EQ(list, (std::vector<ObjectInfo>{{"kept", 4}}));
  // Stray files in the object tree that are not ours are ignored too.
  std::ofstream(dir.path() + "/objects/stray") << "x";
  ASSERT_OK_AND_ASSIGN(std::vector<ObjectInfo> again, store->List(""));
  EXPECT_EQ(again, (std::vector<ObjectInfo>{{"kept", 4}}));
}

TEST(FsRemoteStoreTest, TempFilesAreGoneAfterPuts) {
  ScratchDir dir{"dittofs-remote-fs"};
  ASSERT_FALSE(dir.path().empty());
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<RemoteStore> store, OpenFsRemoteStore({dir.path()}));
  for (int i = 0; i < 20; ++i) ASSERT_OK(store->Put("k/" + std::to_string(i), AsBytes("v")));
  EXPECT_TRUE(FilesUnder(dir.path() + "/tmp").empty());
  // A failing Put (its key's directory is a file) leaves no temp file either.
  std::ofstream(dir.path() + "/objects/d-blocked") << "x";
  EXPECT_FALSE(store->Put("blocked/key", AsBytes("v")).ok());
  EXPECT_TRUE(FilesUnder(dir.path() + "/tmp").empty());
}

TEST(FsRemoteStoreTest, RejectsUnusableOptionsAndOverlongComponents) {
  EXPECT_THAT(OpenFsRemoteStore({""}), StatusIs(Errc::kInvalid));
  ScratchDir dir{"dittofs-remote-fs"};
  ASSERT_FALSE(dir.path().empty());
  std::ofstream(dir.path() + "/file") << "x";
  EXPECT_THAT(OpenFsRemoteStore({dir.path() + "/file"}), StatusIs(Errc::kNotDir));
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<RemoteStore> store, OpenFsRemoteStore({dir.path()}));
  EXPECT_OK(store->Put(std::string(253, 'c'), AsBytes("x")));
  EXPECT_THAT(store->Put(std::string(254, 'c'), AsBytes("x")), StatusIs(Errc::kInvalid));
}

}  // namespace
}  // namespace dittofs::stores

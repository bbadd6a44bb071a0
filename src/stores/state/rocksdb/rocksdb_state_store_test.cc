// SPDX-License-Identifier: Apache-2.0
#include "stores/state/rocksdb/rocksdb_state_store.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <rocksdb/db.h>
#include <sys/stat.h>

#include <filesystem>

#include "stores/state/conformance.h"
#include "testing/scratch_dir.h"
#include "testing/status_matchers.h"

namespace dittofs::stores {
namespace {

using ::dittofs::testing::ScratchDir;
using ::dittofs::testing::StatusIs;
using ::testing::HasSubstr;

// Keeps the scratch directory alive as long as the store in it.
class ScratchDirStore final : public StateStore {
 public:
  ScratchDirStore(std::unique_ptr<ScratchDir> dir, std::unique_ptr<StateStore> store)
      : dir_(std::move(dir)), store_(std::move(store)) {}
  Status Put(StateTable t, std::string_view k, std::string_view v) override {
    return store_->Put(t, k, v);
  }
  Status Delete(StateTable t, std::string_view k) override { return store_->Delete(t, k); }
  Result<std::string> Get(StateTable t, std::string_view k) override { return store_->Get(t, k); }
  Result<std::vector<StateEntry>> List(StateTable t) override { return store_->List(t); }
  Result<uint64_t> NextEpoch() override { return store_->NextEpoch(); }

 private:
  std::unique_ptr<ScratchDir> dir_;
  std::unique_ptr<StateStore> store_;  // destroyed before dir_
};

std::unique_ptr<StateStore> NewTempRocksDbStore() {
  auto dir = std::make_unique<ScratchDir>("dfs-rocksdb-state");
  Result<std::unique_ptr<StateStore>> store = OpenRocksDbStateStore(dir->path() + "/state");
  if (!store.ok()) {
    ADD_FAILURE() << store.status().ToString();
    return nullptr;
  }
  return std::make_unique<ScratchDirStore>(std::move(dir), std::move(*store));
}

INSTANTIATE_TEST_SUITE_P(RocksDb, StateStoreConformance,
                         ::testing::Values(StateStoreFactory{"RocksDb", NewTempRocksDbStore}),
                         StateStoreFactoryName);

class RocksDbStateStoreTest : public ::testing::Test {
 protected:
  std::string path() const { return dir_.path() + "/state"; }
  Result<std::unique_ptr<StateStore>> Open() { return OpenRocksDbStateStore(path()); }

 private:
  ScratchDir dir_{"dfs-rocksdb-state"};
};

TEST_F(RocksDbStateStoreTest, ReopenKeepsEntriesAndEpochsKeepGrowing) {
  ExpectReopenKeepsEntriesAndEpochsGrow([&] { return Open(); });
}

// What a write returned is on disk, whatever happens to the process next; and an epoch handed
// out before a kill -9 is never handed out again.
TEST_F(RocksDbStateStoreTest, WritesAndEpochsSurviveKillDashNine) {
  ASSERT_OK_AND_ASSIGN(uint64_t child_epoch, RunWriterKilledBySigkill([&] { return Open(); }));
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<StateStore> store, Open());
  ExpectWhatTheKilledWriterWrote(*store, child_epoch);
}

TEST_F(RocksDbStateStoreTest, APrivateDirectoryAndASecondOpenRefused) {
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<StateStore> store, Open());
  struct stat st;
  ASSERT_EQ(stat(path().c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0700u);
  for (const auto& entry : std::filesystem::directory_iterator(path())) {
    if (!entry.is_regular_file()) continue;
    ASSERT_EQ(stat(entry.path().c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 07777, 0600u) << entry.path();
  }
  EXPECT_THAT(Open(), StatusIs(Errc::kBusy));
}

TEST_F(RocksDbStateStoreTest, NewerFormatsAndForeignDatabasesAreRefused) {
  { ASSERT_OK(Open()); }
  {
    rocksdb::DB* raw = nullptr;
    ASSERT_TRUE(rocksdb::DB::Open(rocksdb::Options(), path(), &raw).ok());
    std::unique_ptr<rocksdb::DB> db(raw);
    ASSERT_TRUE(
        db->Put(rocksdb::WriteOptions(), "Mformat_version", std::string("\x09\0\0\0\0\0\0\0", 8))
            .ok());
  }
  Result<std::unique_ptr<StateStore>> newer = Open();
  EXPECT_THAT(newer, StatusIs(Errc::kNotSupported));
  EXPECT_THAT(newer.status().message(), HasSubstr("format version 9"));

  const std::string other = path() + "-other";
  {
    rocksdb::Options options;
    options.create_if_missing = true;
    rocksdb::DB* raw = nullptr;
    ASSERT_TRUE(rocksdb::DB::Open(options, other, &raw).ok());
    std::unique_ptr<rocksdb::DB> db(raw);
    ASSERT_TRUE(db->Put(rocksdb::WriteOptions(), "some key", "some value").ok());
  }
  EXPECT_THAT(OpenRocksDbStateStore(other), StatusIs(Errc::kInvalid));
}

}  // namespace
}  // namespace dittofs::stores

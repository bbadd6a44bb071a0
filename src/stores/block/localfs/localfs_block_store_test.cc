// SPDX-License-Identifier: Apache-2.0
#include "stores/block/localfs/localfs_block_store.h"

#include <stdlib.h>
#include <sys/stat.h>

#include <filesystem>
#include <string>
#include <utility>

#include "stores/block/conformance.h"
#include "testing/scratch_dir.h"
#include "testing/status_matchers.h"

namespace dittofs::stores {
namespace {

using ::dittofs::testing::ScratchDir;
using ::dittofs::testing::StatusIs;

// A store that owns the scratch directory it lives in, so the directory goes with it.
class ScratchBlockStore final : public BlockStore {
 public:
  ScratchBlockStore(std::unique_ptr<ScratchDir> dir, std::unique_ptr<BlockStore> store)
      : dir_(std::move(dir)), store_(std::move(store)) {}

  Status Write(uint64_t file, uint64_t offset, ByteView data) override {
    return store_->Write(file, offset, data);
  }
  Status Read(uint64_t file, uint64_t offset, MutableByteView out) override {
    return store_->Read(file, offset, out);
  }
  Status Truncate(uint64_t file, uint64_t size) override { return store_->Truncate(file, size); }
  Status Remove(uint64_t file) override { return store_->Remove(file); }
  Status Deallocate(uint64_t file, uint64_t offset, uint64_t length) override {
    return store_->Deallocate(file, offset, length);
  }
  Result<std::vector<Extent>> DataExtents(uint64_t file, uint64_t offset, uint64_t end,
                                          size_t max) override {
    return store_->DataExtents(file, offset, end, max);
  }
  Status Clone(uint64_t src, uint64_t src_offset, uint64_t dst, uint64_t dst_offset,
               uint64_t length) override {
    return store_->Clone(src, src_offset, dst, dst_offset, length);
  }
  bool ClonesByReference() const override { return store_->ClonesByReference(); }
  Status Sync(uint64_t file) override { return store_->Sync(file); }
  Result<std::vector<DataEnd>> RecentDataEnds() override { return store_->RecentDataEnds(); }
  uint64_t UsedBytes() override { return store_->UsedBytes(); }
  Capacity GetCapacity() override { return store_->GetCapacity(); }

 private:
  std::unique_ptr<ScratchDir> dir_;
  std::unique_ptr<BlockStore> store_;  // declared last: closed before the directory goes
};

std::unique_ptr<BlockStore> OpenScratchStore(size_t max_open_files) {
  auto dir = std::make_unique<ScratchDir>("dittofs-localfs-test");
  if (dir->path().empty()) {
    ADD_FAILURE() << "mkdtemp failed";
    return nullptr;
  }
  // A root below the scratch directory also checks that missing parents are created.
  Result<std::unique_ptr<BlockStore>> store = OpenLocalFsBlockStore(
      {.root = dir->path() + "/share/blocks", .max_open_files = max_open_files});
  if (!store.ok()) {
    ADD_FAILURE() << store.status().ToString();
    return nullptr;
  }
  return std::make_unique<ScratchBlockStore>(std::move(dir), std::move(store).value());
}

// The second configuration keeps just two descriptors open, so most operations evict one,
// some while another thread still uses it.
INSTANTIATE_TEST_SUITE_P(
    LocalFs, BlockStoreConformance,
    ::testing::Values(BlockStoreFactory{"LocalFs", [] { return OpenScratchStore(512); }},
                      BlockStoreFactory{"LocalFsTwoOpenFiles", [] { return OpenScratchStore(2); }}),
    BlockStoreFactoryName);

std::string ReadString(BlockStore& store, uint64_t file, uint64_t offset, size_t size) {
  std::string out(size, '\xAA');
  Status s = store.Read(file, offset, {reinterpret_cast<std::byte*>(out.data()), out.size()});
  EXPECT_TRUE(s.ok()) << s.ToString();
  return out;
}

TEST(LocalFsBlockStoreTest, DataSurvivesReopening) {
  ScratchDir dir{"dittofs-localfs-test"};
  ASSERT_FALSE(dir.path().empty());
  const std::string first(100'000, 'a');
  const std::string second = "second file";
  {
    ASSERT_OK_AND_ASSIGN(std::unique_ptr<BlockStore> store,
                         OpenLocalFsBlockStore({.root = dir.path()}));
    ASSERT_OK(store->Write(1, 0, AsBytes(first)));
    ASSERT_OK(store->Write(0x1234, 5'000'000, AsBytes(second)));
    ASSERT_OK(store->Write(2, 0, AsBytes(second)));
    ASSERT_OK(store->Remove(2));
    ASSERT_OK(store->Sync(1));
    ASSERT_OK(store->Sync(0x1234));
  }
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<BlockStore> store,
                       OpenLocalFsBlockStore({.root = dir.path()}));
  EXPECT_EQ(ReadString(*store, 1, 0, first.size()), first);
  EXPECT_EQ(ReadString(*store, 0x1234, 5'000'000, second.size()), second);
  EXPECT_EQ(ReadString(*store, 0x1234, 0, 10), std::string(10, '\0'));
  EXPECT_EQ(ReadString(*store, 2, 0, second.size()), std::string(second.size(), '\0'));
  EXPECT_GE(store->UsedBytes(), first.size()) << "measured again on open";
}

TEST(LocalFsBlockStoreTest, BackingFilesAreOwnerOnly) {
  ScratchDir dir{"dittofs-localfs-test"};
  ASSERT_FALSE(dir.path().empty());
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<BlockStore> store,
                       OpenLocalFsBlockStore({.root = dir.path()}));
  ASSERT_OK(store->Write(0xab, 0, AsBytes("x")));
  int files = 0;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(dir.path())) {
    struct stat st;
    ASSERT_EQ(stat(entry.path().c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 077, 0u) << entry.path();
    files += entry.is_regular_file() ? 1 : 0;
  }
  EXPECT_EQ(files, 1);
}

TEST(LocalFsBlockStoreTest, RejectsUnusableOptions) {
  EXPECT_THAT(OpenLocalFsBlockStore({.root = ""}), StatusIs(Errc::kInvalid));
  ScratchDir dir{"dittofs-localfs-test"};
  ASSERT_FALSE(dir.path().empty());
  EXPECT_THAT(OpenLocalFsBlockStore({.root = dir.path(), .max_open_files = 0}),
              StatusIs(Errc::kInvalid));
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<BlockStore> store,
                       OpenLocalFsBlockStore({.root = dir.path()}));
  ASSERT_OK(store->Write(1, 0, AsBytes("x")));
  // A root that is a regular file.
  EXPECT_FALSE(OpenLocalFsBlockStore({.root = dir.path() + "/01/0000000000000001"}).ok());
}

}  // namespace
}  // namespace dittofs::stores

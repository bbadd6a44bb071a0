// SPDX-License-Identifier: Apache-2.0
#include "core/share.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <thread>

#include "base/check.h"
#include "core/shares.h"
#include "stores/block/memory/memory_block_store.h"
#include "stores/metadata/memory/memory_metadata_store.h"
#include "stores/metadata/rocksdb/rocksdb_metadata_store.h"
#include "testing/scratch_dir.h"
#include "testing/status_matchers.h"

namespace dittofs::core {
namespace {

using ::dittofs::testing::StatusIs;
using namespace std::chrono_literals;

// A block store that forwards to one the test keeps, so the test can look at it after the
// share let go of (and closed) its forwarder.
class SharedBlockStore final : public stores::BlockStore {
 public:
  explicit SharedBlockStore(std::shared_ptr<stores::BlockStore> inner) : inner_(std::move(inner)) {}
  Status Write(uint64_t file, uint64_t offset, ByteView data) override {
    return inner_->Write(file, offset, data);
  }
  Status Read(uint64_t file, uint64_t offset, MutableByteView out) override {
    return inner_->Read(file, offset, out);
  }
  Status Truncate(uint64_t file, uint64_t size) override { return inner_->Truncate(file, size); }
  Status Remove(uint64_t file) override { return inner_->Remove(file); }
  Status Deallocate(uint64_t file, uint64_t offset, uint64_t length) override {
    return inner_->Deallocate(file, offset, length);
  }
  Result<std::vector<Extent>> DataExtents(uint64_t file, uint64_t offset, uint64_t end,
                                          size_t max) override {
    return inner_->DataExtents(file, offset, end, max);
  }
  Status Clone(uint64_t src, uint64_t src_offset, uint64_t dst, uint64_t dst_offset,
               uint64_t length) override {
    return inner_->Clone(src, src_offset, dst, dst_offset, length);
  }
  bool ClonesByReference() const override { return inner_->ClonesByReference(); }
  Status Sync(uint64_t file) override { return inner_->Sync(file); }
  Result<std::vector<DataEnd>> RecentDataEnds() override { return inner_->RecentDataEnds(); }
  uint64_t UsedBytes() override { return inner_->UsedBytes(); }
  Capacity GetCapacity() override { return inner_->GetCapacity(); }

 private:
  std::shared_ptr<stores::BlockStore> inner_;
};

const Caller kRoot = [] {
  Caller c;
  c.uid = 0;
  c.gid = 0;
  return c;
}();

ShareOptions Options(bool read_only = false) {
  ShareOptions o;
  o.squash = Squash::kNone;
  o.read_only = read_only;
  return o;
}

std::shared_ptr<Share> MustOpen(std::unique_ptr<stores::MetadataStore> metadata,
                                std::unique_ptr<stores::BlockStore> blocks) {
  Result<std::shared_ptr<Share>> share =
      Share::Open(7, "/s", std::move(metadata), std::move(blocks), Options());
  CHECK(share.ok()) << share.status().ToString();
  return *share;
}

Attr MustCreate(Vfs& vfs, std::string_view name, std::string_view data) {
  Wcc w;
  Result<Attr> a = vfs.Create(kRoot, vfs.root(), name, CreateMode::kUnchecked, SetAttrs{}, 0, &w);
  CHECK(a.ok()) << a.status().ToString();
  CHECK(vfs.Write(kRoot, a->id, 0, AsBytes(data), Stability::kFileSync, &w).ok()) << name;
  return *a;
}

std::string ReadAll(Vfs& vfs, FileId file) {
  std::string out;
  for (;;) {
    Result<ReadResult> r = vfs.Read(kRoot, file, out.size(), 1 << 20);
    if (!r.ok()) return "<" + r.status().ToString() + ">";
    for (ByteView piece : r->data.pieces) out.append(AsChars(piece));
    if (r->eof) return out;
  }
}

TEST(ShareTest, PolicyChangeKeepsStoresAndState) {
  auto share = MustOpen(stores::NewMemoryMetadataStore(), stores::NewMemoryBlockStore());
  ShareTable table;
  table.Add(share);
  ASSERT_OK_AND_ASSIGN(ShareUse use, table.Use(7));
  Attr f = MustCreate(use.vfs(), "f", "hello");
  ASSERT_OK_AND_ASSIGN(OpenTable::OpenId open,
                       use->OpenFile(kRoot, f.id, kReadData, kShareRead | kShareWrite));
  stores::MetadataStore* metadata = &share->metadata();
  share->SetOptions(Options(/*read_only=*/true));
  // The operation that started before the change finishes under the old policy.
  Wcc w;
  EXPECT_OK(use->Write(kRoot, f.id, 0, AsBytes(std::string_view("H")), Stability::kFileSync, &w)
                .status());
  use = {};
  // The table's published view is stale; Use serves the new policy all the same.
  ASSERT_OK_AND_ASSIGN(ShareUse after, table.Use(7));
  EXPECT_TRUE(after->options().read_only);
  EXPECT_EQ(after->Write(kRoot, f.id, 0, AsBytes(std::string_view("x")), Stability::kFileSync, &w)
                .status()
                .code(),
            Errc::kReadOnly);
  EXPECT_EQ(ReadAll(after.vfs(), f.id), "Hello");
  // Same stores, same state: the open made before the change still refuses an open that
  // would deny it reading.
  EXPECT_EQ(&after.share().metadata(), metadata);
  EXPECT_THAT(after->OpenFile(kRoot, f.id, kReadData, kShareWrite | kShareDelete),
              StatusIs(Errc::kShareViolation));
  ASSERT_OK(after->CloseFile(open));
}

TEST(ShareTest, RetireWaitsForRunningOperationsThenClosesTheStores) {
  auto share = MustOpen(stores::NewMemoryMetadataStore(), stores::NewMemoryBlockStore());
  ASSERT_OK_AND_ASSIGN(ShareUse running, share->Use());
  std::atomic<bool> released{false};
  std::thread op([&] {
    std::this_thread::sleep_for(100ms);
    released = true;
    running = {};
  });
  ASSERT_OK(share->Retire(10s));
  EXPECT_TRUE(released.load()) << "Retire returned while an operation still ran";
  EXPECT_TRUE(share->closed());
  op.join();
  EXPECT_THAT(share->Use(), StatusIs(Errc::kStale));
  ASSERT_OK(share->Retire(10s));  // idempotent
}

TEST(ShareTest, AnOperationOutlastingTheDrainClosesTheStoresWhenItEnds) {
  auto share = MustOpen(stores::NewMemoryMetadataStore(), stores::NewMemoryBlockStore());
  ASSERT_OK_AND_ASSIGN(ShareUse running, share->Use());
  EXPECT_THAT(share->Retire(20ms), StatusIs(Errc::kBusy));
  EXPECT_FALSE(share->closed());
  EXPECT_THAT(share->Use(), StatusIs(Errc::kStale));
  running = {};
  EXPECT_TRUE(share->closed());
}

// Retiring a share releases its RocksDB directory at once, though a thread that looked the
// share up earlier (and idles since) still has the table's old snapshot.
TEST(ShareTest, RetiredRocksDbShareCanBeReopenedAtOnce) {
  testing::ScratchDir dir("share-rocksdb");
  stores::RocksDbMetadataStoreOptions o;
  o.path = dir.path() + "/metadata";
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<stores::MetadataStore> metadata,
                       stores::OpenRocksDbMetadataStore(o));
  auto share = MustOpen(std::move(metadata), stores::NewMemoryBlockStore());
  ShareTable table;
  table.Add(share);
  std::atomic<bool> looked{false}, done{false};
  std::thread idle([&] {
    EXPECT_NE(table.ById(7), nullptr);  // caches the snapshot holding the share
    looked = true;
    while (!done) std::this_thread::sleep_for(1ms);
  });
  while (!looked) std::this_thread::sleep_for(1ms);
  EXPECT_FALSE(stores::OpenRocksDbMetadataStore(o).ok()) << "the share holds the directory";
  table.Remove(7);
  ASSERT_OK(share->Retire(10s));
  share.reset();
  EXPECT_OK(stores::OpenRocksDbMetadataStore(o).status());
  done = true;
  idle.join();
}

TEST(ShareTest, ReplaceBlocksMovesEveryFileAndKeepsOpens) {
  auto old_blocks = std::shared_ptr<stores::BlockStore>(stores::NewMemoryBlockStore());
  auto new_blocks = std::shared_ptr<stores::BlockStore>(stores::NewMemoryBlockStore());
  auto share =
      MustOpen(stores::NewMemoryMetadataStore(), std::make_unique<SharedBlockStore>(old_blocks));
  Attr a, b, orphan, sparse;
  OpenTable::OpenId open;
  {
    ASSERT_OK_AND_ASSIGN(ShareUse use, share->Use());
    Vfs& vfs = use.vfs();
    a = MustCreate(vfs, "a", "alpha");
    Wcc w;
    ASSERT_OK_AND_ASSIGN(Attr sub, vfs.Mkdir(kRoot, vfs.root(), "sub", SetAttrs{}, &w));
    ASSERT_OK_AND_ASSIGN(b,
                         vfs.Create(kRoot, sub.id, "b", CreateMode::kUnchecked, SetAttrs{}, 0, &w));
    std::string big(3 << 20, 'b');  // more than one copy piece
    ASSERT_OK(vfs.Write(kRoot, b.id, 0, AsBytes(big), Stability::kFileSync, &w).status());
    std::optional<Attr> linked;
    ASSERT_OK(vfs.Link(kRoot, b.id, vfs.root(), "b-link", &linked, &w));
    orphan = MustCreate(vfs, "orphan", "still open");
    ASSERT_OK_AND_ASSIGN(open, vfs.OpenFile(kRoot, orphan.id, kReadData, kShareAll));
    ASSERT_OK(vfs.Remove(kRoot, vfs.root(), "orphan", &w));
    sparse = MustCreate(vfs, "sparse", "");
    ASSERT_OK(vfs.Write(kRoot, sparse.id, 5 << 20, AsBytes(std::string_view("end")),
                        Stability::kFileSync, &w)
                  .status());
  }
  ASSERT_OK(share->ReplaceBlocks(std::make_unique<SharedBlockStore>(new_blocks), 10s));
  EXPECT_EQ(old_blocks->UsedBytes(), 0u) << "the old store's copy is removed";
  EXPECT_GT(new_blocks->UsedBytes(), 3u << 20);
  EXPECT_LT(new_blocks->UsedBytes(), 5u << 20) << "never-written ranges are not copied";
  ASSERT_OK_AND_ASSIGN(ShareUse use, share->Use());
  EXPECT_EQ(ReadAll(use.vfs(), a.id), "alpha");
  EXPECT_TRUE(ReadAll(use.vfs(), b.id) == std::string(3 << 20, 'b'));
  EXPECT_EQ(ReadAll(use.vfs(), orphan.id), "still open");
  ASSERT_OK_AND_ASSIGN(ReadResult tail, use->Read(kRoot, sparse.id, (5 << 20) - 2, 5));
  std::string t;
  for (ByteView p : tail.data.pieces) t.append(AsChars(p));
  EXPECT_EQ(t, std::string("\0\0end", 5));
  // The open survived the switch, and its last close deletes the orphan from the new store.
  ASSERT_OK(use->CloseFile(open));
  EXPECT_THAT(use->GetAttr(kRoot, orphan.id), StatusIs(Errc::kStale));
}

TEST(ShareTest, ReplaceBlocksWaitsForRunningOperationsAndTurnsNewOnesAway) {
  auto share = MustOpen(stores::NewMemoryMetadataStore(), stores::NewMemoryBlockStore());
  ASSERT_OK_AND_ASSIGN(ShareUse running, share->Use());
  Attr f = MustCreate(running.vfs(), "f", "data");
  Status switched = Status(Errc::kInternal, "not run");
  std::thread control([&] { switched = share->ReplaceBlocks(stores::NewMemoryBlockStore(), 10s); });
  // Until the running operation ends, new ones are told to come back later.
  bool turned_away = false;
  for (int i = 0; i < 5000 && !turned_away; ++i) {
    Result<ShareUse> use = share->Use();  // released at once: the drain waits for holds
    if (!use.ok()) {
      EXPECT_THAT(use, StatusIs(Errc::kUnavailable));
      turned_away = true;
    }
    std::this_thread::sleep_for(1ms);
  }
  EXPECT_TRUE(turned_away);
  EXPECT_EQ(ReadAll(running.vfs(), f.id), "data");  // the running one still works
  running = {};
  control.join();
  ASSERT_OK(switched);
  ASSERT_OK_AND_ASSIGN(ShareUse use, share->Use());
  EXPECT_EQ(ReadAll(use.vfs(), f.id), "data");
}

TEST(ShareTest, ReplaceBlocksGivesUpAfterTheDrainAndKeepsTheOldStore) {
  auto share = MustOpen(stores::NewMemoryMetadataStore(), stores::NewMemoryBlockStore());
  ASSERT_OK_AND_ASSIGN(ShareUse running, share->Use());
  Attr f = MustCreate(running.vfs(), "f", "data");
  EXPECT_THAT(share->ReplaceBlocks(stores::NewMemoryBlockStore(), 20ms), StatusIs(Errc::kBusy));
  running = {};
  ASSERT_OK_AND_ASSIGN(ShareUse use, share->Use());
  EXPECT_EQ(ReadAll(use.vfs(), f.id), "data");
}

}  // namespace
}  // namespace dittofs::core

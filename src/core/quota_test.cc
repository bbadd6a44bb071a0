// SPDX-License-Identifier: Apache-2.0
// Quotas (core/quota.h, docs/quotas.md): counting as files change, limits, grace, persistence.
#include "core/quota.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "base/record_codec.h"
#include "core/test_callers.h"
#include "core/vfs.h"
#include "stores/block/memory/memory_block_store.h"
#include "stores/metadata/memory/memory_metadata_store.h"
#include "stores/metadata/rocksdb/rocksdb_metadata_store.h"
#include "testing/scratch_dir.h"
#include "testing/status_matchers.h"

namespace dittofs::core {
namespace {

using ::dittofs::testing::StatusIs;
using test::Mode;
using test::User;

std::string Bytes(size_t n, char c = 'q') { return std::string(n, c); }

class QuotaTest : public ::testing::Test {
 protected:
  void SetUp() override {
    metadata_ = stores::NewMemoryMetadataStore();
    blocks_ = stores::NewMemoryBlockStore();
    Open();
  }
  void Open() {
    vfs_.reset();
    auto v = Vfs::Open(1, "/export", *metadata_, *blocks_, ShareOptions{.squash = Squash::kNone});
    ASSERT_TRUE(v.ok()) << v.status().ToString();
    vfs_ = std::move(v).value();
    root_ = vfs_->root();
    // A directory every user may write in.
    auto d = vfs_->Mkdir(root, root_, "pub", Mode(01777), nullptr);
    if (d.ok()) {
      pub_ = d->id;
    } else {
      auto l = vfs_->Lookup(root, root_, "pub", nullptr);
      ASSERT_TRUE(l.ok());
      pub_ = l->id;
    }
  }
  Result<FileId> Put(const Caller& who, const std::string& name, std::string_view data) {
    ASSIGN_OR_RETURN(Attr a,
                     vfs_->Create(who, pub_, name, CreateMode::kGuarded, Mode(0644), 0, nullptr));
    if (!data.empty()) {
      RETURN_IF_ERROR(
          vfs_->Write(who, a.id, 0, AsBytes(data), Stability::kFileSync, nullptr).status());
    }
    return a.id;
  }
  QuotaEntry Entry(QuotaKind kind, uint32_t id) { return vfs_->quotas().Get(kind, id); }

  const Caller root = User(0, 0);
  const Caller alice_ = User(1000, 100);
  const Caller bob_ = User(1001, 100);
  std::unique_ptr<stores::MetadataStore> metadata_;
  std::unique_ptr<stores::BlockStore> blocks_;
  std::unique_ptr<Vfs> vfs_;
  FileId root_, pub_;
};

TEST_F(QuotaTest, UsageFollowsEveryChangeForTheOwnerTheGroupAndTheShare) {
  ASSERT_OK_AND_ASSIGN(FileId a, Put(alice_, "a", Bytes(1000)));
  ASSERT_OK_AND_ASSIGN(FileId b, Put(bob_, "b", Bytes(300)));
  EXPECT_EQ(Entry(QuotaKind::kUser, 1000).used_bytes, 1000u);
  EXPECT_EQ(Entry(QuotaKind::kUser, 1000).used_files, 1u);
  EXPECT_EQ(Entry(QuotaKind::kUser, 1001).used_bytes, 300u);
  EXPECT_EQ(Entry(QuotaKind::kGroup, 100).used_bytes, 1300u);
  EXPECT_EQ(Entry(QuotaKind::kGroup, 100).used_files, 2u);
  // The share counts everything: the root, pub, a and b.
  EXPECT_EQ(Entry(QuotaKind::kShare, 0).used_bytes, 1300u);
  EXPECT_EQ(Entry(QuotaKind::kShare, 0).used_files, 4u);

  // Growing within, and by a write past the end.
  ASSERT_OK(
      vfs_->Write(alice_, a, 500, AsBytes(Bytes(100)), Stability::kUnstable, nullptr).status());
  EXPECT_EQ(Entry(QuotaKind::kUser, 1000).used_bytes, 1000u);
  ASSERT_OK(
      vfs_->Write(alice_, a, 2000, AsBytes(Bytes(48)), Stability::kUnstable, nullptr).status());
  EXPECT_EQ(Entry(QuotaKind::kUser, 1000).used_bytes, 2048u);
  // Truncation both ways.
  ASSERT_OK(vfs_->SetAttr(alice_, a, SetAttrs().set_size(10), nullptr, nullptr));
  EXPECT_EQ(Entry(QuotaKind::kUser, 1000).used_bytes, 10u);
  ASSERT_OK(vfs_->SetAttr(alice_, a, SetAttrs().set_size(4096), nullptr, nullptr));
  EXPECT_EQ(Entry(QuotaKind::kUser, 1000).used_bytes, 4096u);
  // A chown moves the file between users; a chgrp between groups.
  ASSERT_OK(vfs_->SetAttr(root, a, SetAttrs().set_uid(1001), nullptr, nullptr));
  EXPECT_EQ(Entry(QuotaKind::kUser, 1000).used_bytes, 0u);
  EXPECT_EQ(Entry(QuotaKind::kUser, 1000).used_files, 0u);
  EXPECT_EQ(Entry(QuotaKind::kUser, 1001).used_bytes, 4396u);
  EXPECT_EQ(Entry(QuotaKind::kUser, 1001).used_files, 2u);
  ASSERT_OK(vfs_->SetAttr(root, b, SetAttrs().set_gid(200), nullptr, nullptr));
  EXPECT_EQ(Entry(QuotaKind::kGroup, 200).used_bytes, 300u);
  EXPECT_EQ(Entry(QuotaKind::kGroup, 100).used_bytes, 4096u);
  // A hard link is the same file: nothing more. Its last name going takes it away.
  ASSERT_OK(vfs_->Link(root, b, pub_, "b2", nullptr, nullptr));
  EXPECT_EQ(Entry(QuotaKind::kShare, 0).used_files, 4u);
  ASSERT_OK(vfs_->Remove(root, pub_, "b", nullptr));
  EXPECT_EQ(Entry(QuotaKind::kUser, 1001).used_bytes, 4396u);
  ASSERT_OK(vfs_->Remove(root, pub_, "b2", nullptr));
  EXPECT_EQ(Entry(QuotaKind::kUser, 1001).used_bytes, 4096u);
  EXPECT_EQ(Entry(QuotaKind::kUser, 1001).used_files, 1u);
  // Directories and symlinks count as files.
  ASSERT_OK(vfs_->Mkdir(alice_, pub_, "d", Mode(0755), nullptr).status());
  ASSERT_OK(vfs_->Symlink(alice_, pub_, "l", "d", Mode(0777), nullptr).status());
  EXPECT_EQ(Entry(QuotaKind::kUser, 1000).used_files, 2u);
  ASSERT_OK(vfs_->Rmdir(alice_, pub_, "d", nullptr));
  EXPECT_EQ(Entry(QuotaKind::kUser, 1000).used_files, 1u);
  // A rename over a file takes the replaced one away.
  ASSERT_OK(Put(alice_, "c", Bytes(77)).status());
  ASSERT_OK(vfs_->Rename(root, pub_, "c", pub_, "a", nullptr, nullptr));
  EXPECT_EQ(Entry(QuotaKind::kUser, 1001).used_bytes, 0u);
  EXPECT_EQ(Entry(QuotaKind::kUser, 1000).used_bytes, 77u);
}

TEST_F(QuotaTest, AWritePastAHardLimitFailsAndChangesNothing) {
  ASSERT_OK(vfs_->quotas().SetLimits(QuotaKind::kUser, 1000, {.hard_bytes = 10000}));
  ASSERT_OK_AND_ASSIGN(FileId a, Put(alice_, "a", Bytes(6000, 'a')));
  // The write that would pass the limit is refused whole, with nothing of it stored.
  Result<WriteResult> w =
      vfs_->Write(alice_, a, 6000, AsBytes(Bytes(4001, 'b')), Stability::kFileSync, nullptr);
  EXPECT_THAT(w.status(), StatusIs(Errc::kQuota));
  ASSERT_OK_AND_ASSIGN(Attr attr, vfs_->GetAttr(alice_, a));
  EXPECT_EQ(attr.size, 6000u);
  ASSERT_OK_AND_ASSIGN(ReadResult r, vfs_->Read(alice_, a, 0, 20000));
  std::string got;
  for (ByteView p : r.data.pieces) got.append(AsChars(p));
  EXPECT_EQ(got, Bytes(6000, 'a'));
  // Up to the limit exactly is allowed; overwriting what the file holds always is.
  ASSERT_OK(vfs_->Write(alice_, a, 6000, AsBytes(Bytes(4000, 'c')), Stability::kFileSync, nullptr)
                .status());
  ASSERT_OK(vfs_->Write(alice_, a, 0, AsBytes(Bytes(10000, 'd')), Stability::kFileSync, nullptr)
                .status());
  EXPECT_THAT(vfs_->Write(alice_, a, 10000, AsBytes("x"), Stability::kFileSync, nullptr).status(),
              StatusIs(Errc::kQuota));
  // Growing by a truncate, an allocation or a new file's size is refused the same way.
  EXPECT_THAT(vfs_->SetAttr(alice_, a, SetAttrs().set_size(10001), nullptr, nullptr),
              StatusIs(Errc::kQuota));
  EXPECT_THAT(vfs_->Allocate(alice_, a, 0, 10001, nullptr), StatusIs(Errc::kQuota));
  // Another user is not held by alice's limit; after a shrink alice may write again.
  ASSERT_OK(Put(bob_, "b", Bytes(20000)).status());
  ASSERT_OK(vfs_->SetAttr(alice_, a, SetAttrs().set_size(5000), nullptr, nullptr));
  ASSERT_OK(
      vfs_->Write(alice_, a, 5000, AsBytes(Bytes(5000)), Stability::kFileSync, nullptr).status());
  // Giving a file to a user over quota is refused, but root may.
  ASSERT_OK_AND_ASSIGN(Attr c,
                       vfs_->Create(bob_, pub_, "c", CreateMode::kGuarded, Mode(0644), 0, nullptr));
  ASSERT_OK(vfs_->Write(bob_, c.id, 0, AsBytes("1"), Stability::kFileSync, nullptr).status());
  ASSERT_OK(vfs_->SetAttr(root, c.id, SetAttrs().set_uid(1000), nullptr, nullptr));
  EXPECT_EQ(Entry(QuotaKind::kUser, 1000).state, "hard");
  EXPECT_EQ(Entry(QuotaKind::kUser, 1000).used_bytes, 10001u);
}

TEST_F(QuotaTest, GroupShareAndFileLimits) {
  ASSERT_OK(vfs_->quotas().SetLimits(QuotaKind::kGroup, 100, {.hard_bytes = 5000}));
  ASSERT_OK(Put(alice_, "a", Bytes(3000)).status());
  EXPECT_THAT(Put(bob_, "b", Bytes(2001)).status(), StatusIs(Errc::kQuota));
  // The refused write left bob an empty file (its create had succeeded).
  ASSERT_OK_AND_ASSIGN(Attr b, vfs_->Lookup(bob_, pub_, "b", nullptr));
  EXPECT_EQ(b.size, 0u);
  ASSERT_OK(vfs_->quotas().SetLimits(QuotaKind::kGroup, 100, {}));
  ASSERT_OK(vfs_->quotas().SetLimits(QuotaKind::kShare, 0, {.hard_bytes = 8000}));
  EXPECT_THAT(Put(root, "r", Bytes(5001)).status(), StatusIs(Errc::kQuota));
  ASSERT_OK(vfs_->Remove(root, pub_, "r", nullptr));
  ASSERT_OK(vfs_->quotas().SetLimits(QuotaKind::kShare, 0, {}));
  // Files: alice has a; two more make three.
  ASSERT_OK(vfs_->quotas().SetLimits(QuotaKind::kUser, 1000, {.hard_files = 3}));
  ASSERT_OK(Put(alice_, "a2", "").status());
  ASSERT_OK(vfs_->Mkdir(alice_, pub_, "d", Mode(0755), nullptr).status());
  EXPECT_THAT(Put(alice_, "a3", "").status(), StatusIs(Errc::kQuota));
  EXPECT_THAT(vfs_->Symlink(alice_, pub_, "l", "a", Mode(0777), nullptr).status(),
              StatusIs(Errc::kQuota));
  ASSERT_OK(Put(bob_, "b3", "").status());
  EXPECT_EQ(Entry(QuotaKind::kUser, 1000).used_files, 3u);
  EXPECT_EQ(Entry(QuotaKind::kUser, 1000).state, "hard");
  // Limits are checked: soft over hard is refused, and a share's id is 0.
  EXPECT_THAT(vfs_->quotas().SetLimits(QuotaKind::kUser, 7, {.hard_bytes = 5, .soft_bytes = 6}),
              StatusIs(Errc::kInvalid));
  EXPECT_THAT(vfs_->quotas().SetLimits(QuotaKind::kShare, 7, {.hard_bytes = 5}),
              StatusIs(Errc::kInvalid));
}

TEST_F(QuotaTest, ASoftLimitHoldsOnceItsGraceIsOver) {
  ASSERT_OK(vfs_->quotas().SetLimits(
      QuotaKind::kUser, 1000, {.hard_bytes = 100000, .soft_bytes = 1000, .grace_seconds = 1}));
  ASSERT_OK_AND_ASSIGN(FileId a, Put(alice_, "a", Bytes(1500)));
  QuotaEntry e = Entry(QuotaKind::kUser, 1000);
  EXPECT_EQ(e.state, "soft");
  EXPECT_NE(e.over_soft_since, 0);
  EXPECT_EQ(e.grace_expires, e.over_soft_since + 1);
  // Within the grace, more may be written.
  ASSERT_OK(
      vfs_->Write(alice_, a, 1500, AsBytes(Bytes(500)), Stability::kFileSync, nullptr).status());
  std::this_thread::sleep_for(std::chrono::milliseconds(2100));
  EXPECT_EQ(Entry(QuotaKind::kUser, 1000).state, "expired");
  EXPECT_THAT(vfs_->Write(alice_, a, 2000, AsBytes("x"), Stability::kFileSync, nullptr).status(),
              StatusIs(Errc::kQuota));
  // Back under the soft limit, the grace is forgotten.
  ASSERT_OK(vfs_->SetAttr(alice_, a, SetAttrs().set_size(100), nullptr, nullptr));
  EXPECT_EQ(Entry(QuotaKind::kUser, 1000).state, "ok");
  EXPECT_EQ(Entry(QuotaKind::kUser, 1000).over_soft_since, 0);
  ASSERT_OK(vfs_->Write(alice_, a, 100, AsBytes("x"), Stability::kFileSync, nullptr).status());
}

TEST_F(QuotaTest, StatFsShowsWhatTheCallerMayStillUse) {
  ASSERT_OK(
      vfs_->quotas().SetLimits(QuotaKind::kUser, 1000, {.hard_bytes = 1 << 20, .hard_files = 50}));
  ASSERT_OK(Put(alice_, "a", Bytes(1 << 18)).status());
  ASSERT_OK_AND_ASSIGN(FsStats mine, vfs_->StatFs(alice_, root_));
  EXPECT_EQ(mine.total_bytes, 1u << 20);
  EXPECT_EQ(mine.avail_bytes, (1u << 20) - (1u << 18));
  EXPECT_EQ(mine.free_bytes, mine.avail_bytes);
  EXPECT_EQ(mine.total_files, 50u);
  EXPECT_EQ(mine.avail_files, 49u);
  // Bob has no limit: he sees the storage.
  ASSERT_OK_AND_ASSIGN(FsStats bobs, vfs_->StatFs(bob_, root_));
  EXPECT_GT(bobs.avail_bytes, uint64_t{1} << 20);
  // The share's limit is everyone's.
  ASSERT_OK(vfs_->quotas().SetLimits(QuotaKind::kShare, 0, {.hard_bytes = 1 << 19}));
  ASSERT_OK_AND_ASSIGN(bobs, vfs_->StatFs(bob_, root_));
  EXPECT_EQ(bobs.total_bytes, 1u << 19);
  EXPECT_EQ(bobs.avail_bytes, (1u << 19) - (1u << 18));
}

TEST_F(QuotaTest, ConcurrentWritersCannotPassALimitTogether) {
  constexpr uint64_t kLimit = 1 << 20;
  ASSERT_OK(vfs_->quotas().SetLimits(QuotaKind::kUser, 1000, {.hard_bytes = kLimit}));
  std::vector<FileId> files;
  for (int i = 0; i < 8; ++i) {
    ASSERT_OK_AND_ASSIGN(FileId f, Put(alice_, "f" + std::to_string(i), ""));
    files.push_back(f);
  }
  std::vector<std::thread> writers;
  const std::string chunk = Bytes(8192);
  for (FileId f : files) {
    writers.emplace_back([&, f] {
      for (uint64_t off = 0;; off += chunk.size()) {
        if (!vfs_->Write(alice_, f, off, AsBytes(chunk), Stability::kUnstable, nullptr).ok()) break;
      }
    });
  }
  for (std::thread& t : writers) t.join();
  uint64_t total = 0;
  for (FileId f : files) {
    ASSERT_OK_AND_ASSIGN(Attr a, vfs_->GetAttr(alice_, f));
    total += a.size;
  }
  EXPECT_LE(total, kLimit);
  EXPECT_GT(total, kLimit - 8 * chunk.size());
  EXPECT_EQ(Entry(QuotaKind::kUser, 1000).used_bytes, total);
}

TEST_F(QuotaTest, TheRecycleBinKeepsCountingWhatItHolds) {
  vfs_.reset();
  ShareOptions options{.squash = Squash::kNone};
  options.recycle.enabled = true;
  ASSERT_OK_AND_ASSIGN(vfs_, Vfs::Open(1, "/export", *metadata_, *blocks_, options));
  ASSERT_OK(Put(alice_, "gone", Bytes(700)).status());
  ASSERT_OK(vfs_->Remove(alice_, pub_, "gone", nullptr));
  EXPECT_EQ(Entry(QuotaKind::kUser, 1000).used_bytes, 700u);
  ASSERT_OK(vfs_->EmptyTrash().status());
  EXPECT_EQ(Entry(QuotaKind::kUser, 1000).used_bytes, 0u);
  EXPECT_EQ(Entry(QuotaKind::kUser, 1000).used_files, 0u);
}

// Counts survive a restart (folded or not), and a store never counted is counted at open.
TEST(QuotaStoreTest, CountsAndLimitsSurviveAReopenAndAnOldShareIsCounted) {
  testing::ScratchDir dir("quota");
  std::unique_ptr<stores::BlockStore> blocks = stores::NewMemoryBlockStore();
  stores::RocksDbMetadataStoreOptions o;
  o.path = dir.path() + "/metadata";
  const Caller alice = User(1000, 100);
  {
    ASSERT_OK_AND_ASSIGN(std::unique_ptr<stores::MetadataStore> metadata,
                         stores::OpenRocksDbMetadataStore(o));
    ASSERT_OK_AND_ASSIGN(std::unique_ptr<Vfs> vfs,
                         Vfs::Open(1, "/export", *metadata, *blocks, {.squash = Squash::kNone}));
    ASSERT_OK(
        vfs->quotas().SetLimits(QuotaKind::kUser, 1000, {.hard_bytes = 5000, .soft_bytes = 10}));
    ASSERT_OK(vfs->SetAttr(User(0, 0), vfs->root(), Mode(0777), nullptr, nullptr));
    for (int i = 0; i < 20; ++i) {
      ASSERT_OK_AND_ASSIGN(Attr f, vfs->Create(alice, vfs->root(), "f" + std::to_string(i),
                                               CreateMode::kGuarded, Mode(0644), 0, nullptr));
      ASSERT_OK(
          vfs->Write(alice, f.id, 0, AsBytes(Bytes(100)), Stability::kFileSync, nullptr).status());
      if (i == 9) ASSERT_OK(vfs->quotas().Fold().status());  // half folded, half in deltas
    }
    EXPECT_GT(vfs->quotas().unfolded(), 0u);
  }
  int64_t since = 0;
  {
    ASSERT_OK_AND_ASSIGN(std::unique_ptr<stores::MetadataStore> metadata,
                         stores::OpenRocksDbMetadataStore(o));
    ASSERT_OK_AND_ASSIGN(std::unique_ptr<Vfs> vfs,
                         Vfs::Open(1, "/export", *metadata, *blocks, {.squash = Squash::kNone}));
    QuotaEntry e = vfs->quotas().Get(QuotaKind::kUser, 1000);
    EXPECT_EQ(e.used_bytes, 2000u);
    EXPECT_EQ(e.used_files, 20u);
    EXPECT_EQ(e.limits.hard_bytes, 5000u);
    EXPECT_EQ(e.state, "soft");
    since = e.over_soft_since;
    EXPECT_NE(since, 0);
    EXPECT_EQ(vfs->quotas().unfolded(), 0u);  // Open folded them
    // Forget the count, as a share from before quotas has none.
    ASSERT_OK(stores::RunTransaction(*metadata, [&](stores::MetadataTxn& txn) -> Status {
      ASSIGN_OR_RETURN(std::vector<stores::Record> all,
                       txn.ScanRecords(stores::RecordTable::kQuota, "", "", 1000));
      for (const stores::Record& r : all) {
        if (r.key[0] != 'l' && r.key[0] != 'o')
          txn.DeleteRecord(stores::RecordTable::kQuota, r.key);
      }
      return Status::Ok();
    }));
  }
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<stores::MetadataStore> metadata,
                       stores::OpenRocksDbMetadataStore(o));
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<Vfs> vfs,
                       Vfs::Open(1, "/export", *metadata, *blocks, {.squash = Squash::kNone}));
  QuotaEntry e = vfs->quotas().Get(QuotaKind::kUser, 1000);
  EXPECT_EQ(e.used_bytes, 2000u);
  EXPECT_EQ(e.used_files, 20u);
  EXPECT_EQ(e.over_soft_since, since);
  EXPECT_EQ(vfs->quotas().Get(QuotaKind::kShare, 0).used_files, 21u);  // and the root
}

// A store that counts its single and batched inode reads (a backend where each read is a
// round trip, as PostgreSQL's).
class ReadCountingStore final : public stores::MetadataStore {
 public:
  explicit ReadCountingStore(stores::MetadataStore& inner) : inner_(inner) {}
  std::unique_ptr<stores::MetadataTxn> Begin() override { return inner_.Begin(); }
  Result<stores::Inode> GetInode(stores::InodeId id) override {
    ++single;
    return inner_.GetInode(id);
  }
  std::vector<Result<stores::Inode>> GetInodes(const std::vector<stores::InodeId>& ids) override {
    ++batched;
    return inner_.GetInodes(ids);
  }
  Result<stores::InodeId> AllocateInodeId() override { return inner_.AllocateInodeId(); }
  uint32_t NextGeneration(stores::InodeId id) override { return inner_.NextGeneration(id); }
  stores::InodeId root() const override { return inner_.root(); }
  Status SetRoot(stores::InodeId id) override { return inner_.SetRoot(id); }
  stores::StoreStats Stats() override { return inner_.Stats(); }
  std::atomic<int> single{0}, batched{0};

 private:
  stores::MetadataStore& inner_;
};

// The counting store the Vfs puts over the share's store passes a listing's batched read
// through: a READDIRPLUS page is one read of the backend, not one per entry.
TEST(QuotaStoreTest, AListingsInodesAreOneReadThroughTheCountingStore) {
  std::unique_ptr<stores::MetadataStore> memory = stores::NewMemoryMetadataStore();
  ReadCountingStore metadata(*memory);
  std::unique_ptr<stores::BlockStore> blocks = stores::NewMemoryBlockStore();
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<Vfs> vfs,
                       Vfs::Open(1, "/export", metadata, *blocks, {.squash = Squash::kNone}));
  for (int i = 0; i < 50; ++i) {
    ASSERT_OK(vfs->Create(User(0, 0), vfs->root(), "f" + std::to_string(i), CreateMode::kGuarded,
                          Mode(0644), 0, nullptr)
                  .status());
  }
  const int single = metadata.single.load(), batched = metadata.batched.load();
  ASSERT_OK_AND_ASSIGN(DirListing listing, vfs->ReadDir(User(0, 0), vfs->root(), 0, 100, true));
  ASSERT_EQ(listing.entries.size(), 50u);
  for (const DirListEntry& e : listing.entries) EXPECT_TRUE(e.attr.has_value()) << e.name;
  EXPECT_EQ(metadata.batched.load() - batched, 1);
  EXPECT_LT(metadata.single.load() - single, 5);  // the directory's own, not one per entry
}

TEST(QuotaDeltaTest, AnInodeCountsAgainstItsShareOwnerAndGroup) {
  stores::Inode before;
  before.type = stores::FileType::kRegular;
  before.uid = 1;
  before.gid = 2;
  before.size = 10;
  stores::Inode after = before;
  after.size = 25;
  std::vector<QuotaDelta> d;
  AddDeltas(before, after, &d);
  ASSERT_EQ(d.size(), 3u);
  for (const QuotaDelta& one : d) {
    EXPECT_EQ(one.bytes, 15);
    EXPECT_EQ(one.files, 0);
  }
  d.clear();
  after.uid = 3;
  AddDeltas(before, after, &d);  // the share and group: +15 bytes; user 1: -10, -1; user 3
  ASSERT_EQ(d.size(), 4u);
  d.clear();
  AddDeltas(std::nullopt, before, &d);
  AddDeltas(before, std::nullopt, &d);
  EXPECT_TRUE(d.empty());
}

}  // namespace
}  // namespace dittofs::core

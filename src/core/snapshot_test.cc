// SPDX-License-Identifier: Apache-2.0
// Snapshots (core/snapshot.h, docs/snapshots.md) through core::Share and its Vfs.
#include "core/snapshot.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <optional>
#include <string>
#include <thread>

#include "core/share.h"
#include "core/test_callers.h"
#include "stores/block/localfs/localfs_block_store.h"
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
using namespace std::chrono_literals;

class SnapshotTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto blocks = stores::NewMemoryBlockStore();
    blocks_ = blocks.get();
    ShareOptions options;
    options.squash = Squash::kNone;
    Result<std::shared_ptr<Share>> share =
        Share::Open(3, "/snap", stores::NewMemoryMetadataStore(), std::move(blocks), options);
    ASSERT_TRUE(share.ok()) << share.status().ToString();
    share_ = *share;
    root_ = vfs().root();
  }
  void TearDown() override {
    if (share_) EXPECT_OK(share_->Retire(1s));
  }
  Vfs& vfs() { return *share_->vfs(); }

  FileId Mkdir(FileId dir, const std::string& name) {
    auto a = vfs().Mkdir(alice_, dir, name, Mode(0755), nullptr);
    EXPECT_TRUE(a.ok()) << name << ": " << a.status().ToString();
    return a.ok() ? a->id : FileId{};
  }
  FileId Put(FileId dir, const std::string& name, std::string_view data) {
    auto a = vfs().Create(alice_, dir, name, CreateMode::kUnchecked, Mode(0640), 0, nullptr);
    EXPECT_TRUE(a.ok()) << name << ": " << a.status().ToString();
    if (!a.ok()) return {};
    SetAttrs size;
    size.set_size(0);
    EXPECT_OK(vfs().SetAttr(alice_, a->id, size, nullptr, nullptr));
    auto w = vfs().Write(alice_, a->id, 0, AsBytes(data), Stability::kFileSync, nullptr);
    EXPECT_TRUE(w.ok()) << w.status().ToString();
    return a->id;
  }
  Result<Attr> At(std::string_view path) {
    FileId dir = root_;
    Result<Attr> a = vfs().GetAttr(alice_, root_);
    size_t at = 0;
    while (at < path.size()) {
      size_t slash = path.find('/', at);
      if (slash == std::string_view::npos) slash = path.size();
      a = vfs().Lookup(alice_, dir, path.substr(at, slash - at), nullptr);
      if (!a.ok()) return a;
      dir = a->id;
      at = slash + 1;
    }
    return a;
  }
  std::string Read(std::string_view path) {
    Result<Attr> a = At(path);
    if (!a.ok()) return "ERR:" + a.status().ToString();
    auto r = vfs().Read(alice_, a->id, 0, 1 << 20);
    if (!r.ok()) return "ERR:" + r.status().ToString();
    std::string out;
    for (ByteView p : r->data.pieces) out.append(AsChars(p));
    return out;
  }
  std::vector<std::string> Names(std::string_view path) {
    Result<Attr> dir = At(path);
    EXPECT_TRUE(dir.ok()) << path;
    if (!dir.ok()) return {};
    auto listing = vfs().ReadDir(alice_, dir->id, 0, 1000, false);
    EXPECT_TRUE(listing.ok()) << listing.status().ToString();
    std::vector<std::string> names;
    if (listing.ok()) {
      for (const DirListEntry& e : listing->entries) names.push_back(e.name);
    }
    std::sort(names.begin(), names.end());
    return names;
  }

  // docs/a "alpha" and b "bravo", snapshot "before", then docs/a "changed", c "charlie" added
  // and b removed.
  void SnapshotThenChange() {
    FileId docs = Mkdir(root_, "docs");
    Put(docs, "a", "alpha");
    Put(root_, "b", "bravo");
    ASSERT_OK(share_->CreateSnapshot("before", 1s, nullptr).status());
    Put(docs, "a", "changed");
    Put(root_, "c", "charlie");
    ASSERT_OK(vfs().Remove(alice_, root_, "b", nullptr));
  }

  Caller alice_ = User(1000, 1000);
  std::shared_ptr<Share> share_;
  stores::BlockStore* blocks_ = nullptr;
  FileId root_;
};

TEST_F(SnapshotTest, HoldsTheTreeAsItWasAndIsReadOnly) {
  FileId docs = Mkdir(root_, "docs");
  FileId x = Put(docs, "x.txt", "version one");
  Put(root_, "top", "top data");
  ASSERT_OK(vfs().Link(alice_, x, root_, "x-link", nullptr, nullptr));
  ASSERT_OK(vfs().Symlink(alice_, docs, "sym", "x.txt", Mode(0777), nullptr).status());
  ASSERT_OK(vfs().SetXattr(alice_, x, "user.tag", "blue", XattrSet::kAny));

  EXPECT_THAT(vfs().Lookup(alice_, root_, ".snapshot", nullptr), StatusIs(Errc::kNotFound));
  JobProgress progress;
  ASSERT_OK_AND_ASSIGN(SnapshotInfo s1, share_->CreateSnapshot("s1", 1s, &progress));
  EXPECT_EQ(s1.state, SnapshotState::kReady);
  EXPECT_EQ(s1.files, 4u);  // docs, x.txt (x-link is its second name, not an object), top, sym
  EXPECT_EQ(s1.bytes, 11u + 8u);
  EXPECT_EQ(progress.done(), 4u);

  // The live share moves on.
  Put(docs, "x.txt", "version two, longer");
  ASSERT_OK(vfs().Remove(alice_, root_, "top", nullptr));
  Put(root_, "new", "made after");

  EXPECT_EQ(Read(".snapshot/s1/docs/x.txt"), "version one");
  EXPECT_EQ(Read(".snapshot/s1/x-link"), "version one");
  EXPECT_EQ(Read(".snapshot/s1/top"), "top data");
  EXPECT_EQ(Read("docs/x.txt"), "version two, longer");
  EXPECT_EQ(Names(".snapshot/s1"), (std::vector<std::string>{"docs", "top", "x-link"}));
  EXPECT_EQ(Names(".snapshot"), (std::vector<std::string>{"s1"}));
  // The root's listing does not show .snapshot.
  EXPECT_EQ(Names(""), (std::vector<std::string>{"docs", "new", "x-link"}));
  ASSERT_OK_AND_ASSIGN(Attr copy, At(".snapshot/s1/docs/x.txt"));
  EXPECT_EQ(copy.nlink, 2u);
  EXPECT_EQ(copy.uid, 1000u);
  EXPECT_EQ(copy.mode, 0640u);
  ASSERT_OK_AND_ASSIGN(std::string tag, vfs().GetXattr(alice_, copy.id, "user.tag"));
  EXPECT_EQ(tag, "blue");
  ASSERT_OK_AND_ASSIGN(Attr sym, At(".snapshot/s1/docs/sym"));
  ASSERT_OK_AND_ASSIGN(std::string target, vfs().ReadLink(alice_, sym.id, nullptr));
  EXPECT_EQ(target, "x.txt");
  // ".." climbs out: snapshot root -> .snapshot -> the share's root.
  ASSERT_OK_AND_ASSIGN(Attr s1_root, At(".snapshot/s1"));
  ASSERT_OK_AND_ASSIGN(Attr up, vfs().Lookup(alice_, s1_root.id, "..", nullptr));
  ASSERT_OK_AND_ASSIGN(Attr snapdir, At(".snapshot"));
  EXPECT_EQ(up.id, snapdir.id);
  ASSERT_OK_AND_ASSIGN(Attr upper, vfs().Lookup(alice_, snapdir.id, "..", nullptr));
  EXPECT_EQ(upper.id, root_);

  // Read-only for everyone, root included.
  Caller root_caller = User(0, 0);
  ASSERT_OK_AND_ASSIGN(Attr snap_docs, At(".snapshot/s1/docs"));
  EXPECT_THAT(vfs().Write(root_caller, copy.id, 0, AsBytes("x"), Stability::kFileSync, nullptr),
              StatusIs(Errc::kReadOnly));
  SetAttrs truncate;
  truncate.set_size(0);
  EXPECT_THAT(vfs().SetAttr(root_caller, copy.id, truncate, nullptr, nullptr),
              StatusIs(Errc::kReadOnly));
  EXPECT_THAT(
      vfs().Create(root_caller, snap_docs.id, "n", CreateMode::kUnchecked, Mode(0644), 0, nullptr),
      StatusIs(Errc::kReadOnly));
  EXPECT_THAT(vfs().Remove(root_caller, snap_docs.id, "x.txt", nullptr), StatusIs(Errc::kReadOnly));
  EXPECT_THAT(vfs().Rename(root_caller, snap_docs.id, "x.txt", root_, "stolen", nullptr, nullptr),
              StatusIs(Errc::kReadOnly));
  EXPECT_THAT(vfs().Rmdir(root_caller, snapdir.id, "s1", nullptr), StatusIs(Errc::kReadOnly));
  EXPECT_THAT(vfs().SetXattr(root_caller, copy.id, "user.tag", "red", XattrSet::kAny),
              StatusIs(Errc::kReadOnly));
  EXPECT_THAT(vfs().OpenFile(root_caller, copy.id, kWriteData, 0, false, false),
              StatusIs(Errc::kReadOnly));
  ASSERT_OK_AND_ASSIGN(uint32_t granted, vfs().Access(alice_, copy.id, kAccessModify, nullptr));
  EXPECT_EQ(granted, 0u);
  // The name is the snapshots' at the root.
  EXPECT_THAT(vfs().Mkdir(alice_, root_, ".snapshot", Mode(0755), nullptr),
              StatusIs(Errc::kExists));
}

TEST_F(SnapshotTest, RestoreBringsTheShareBackAndKeepsASafetySnapshot) {
  ASSERT_NO_FATAL_FAILURE(SnapshotThenChange());
  SetAttrs mode = Mode(0775);
  ASSERT_OK(vfs().SetAttr(User(0, 0), root_, mode, nullptr, nullptr));

  JobProgress progress;
  ASSERT_OK(share_->RestoreSnapshot("before", "safety", 1s, &progress));
  EXPECT_EQ(Read("docs/a"), "alpha");
  EXPECT_EQ(Read("b"), "bravo");
  EXPECT_THAT(At("c"), StatusIs(Errc::kNotFound));
  EXPECT_EQ(Names(""), (std::vector<std::string>{"b", "docs"}));
  ASSERT_OK_AND_ASSIGN(Attr root_attr, vfs().GetAttr(alice_, root_));
  EXPECT_NE(root_attr.mode, 0775u);
  // Restored objects are writable again.
  ASSERT_OK_AND_ASSIGN(Attr a, At("docs/a"));
  ASSERT_OK(vfs().Write(alice_, a.id, 0, AsBytes("ALPHA"), Stability::kFileSync, nullptr));
  EXPECT_EQ(Read("docs/a"), "ALPHA");
  // The safety snapshot holds what the share held before the restore.
  EXPECT_EQ(Read(".snapshot/safety/docs/a"), "changed");
  EXPECT_EQ(Read(".snapshot/safety/c"), "charlie");
  EXPECT_EQ(Read(".snapshot/before/docs/a"), "alpha");
  ASSERT_OK_AND_ASSIGN(std::vector<SnapshotInfo> all, share_->ListSnapshots());
  EXPECT_EQ(all.size(), 2u);
  EXPECT_THAT(share_->RestoreSnapshot("nope", "", 1s, nullptr), StatusIs(Errc::kNotFound));
}

// A restore is all or nothing across a crash: a share that opens while its record of a restore
// is there (the server stopped after part of the work) does the restore again, whole, and
// recounts its quotas, before it serves.
TEST_F(SnapshotTest, ARestoreStoppedHalfwayIsFinishedWhenTheShareOpensAgain) {
  ::dittofs::testing::ScratchDir dir("snapshot-restore");
  ASSERT_FALSE(dir.path().empty());
  const auto open = [&]() -> std::shared_ptr<Share> {
    auto metadata = stores::OpenRocksDbMetadataStore({.path = dir.path() + "/metadata"});
    auto blocks = stores::OpenLocalFsBlockStore({.root = dir.path() + "/blocks"});
    EXPECT_TRUE(metadata.ok() && blocks.ok());
    if (!metadata.ok() || !blocks.ok()) return nullptr;
    blocks_ = blocks->get();
    ShareOptions options;
    options.squash = Squash::kNone;
    Result<std::shared_ptr<Share>> share =
        Share::Open(4, "/durable", std::move(*metadata), std::move(*blocks), options);
    EXPECT_TRUE(share.ok()) << share.status().ToString();
    return share.ok() ? *share : nullptr;
  };
  ASSERT_OK(share_->Retire(1s));
  share_ = open();
  ASSERT_NE(share_, nullptr);
  root_ = vfs().root();
  ASSERT_NO_FATAL_FAILURE(SnapshotThenChange());

  // The restore's work, then a stop before it ended (no recount, its record still there),
  // and more changes that a crash in the middle of the copy could have left.
  ASSERT_OK(core::RestoreSnapshot(share_->metadata(), *blocks_, "before", nullptr));
  ASSERT_OK_AND_ASSIGN(std::optional<std::string> pending, PendingRestore(share_->metadata()));
  EXPECT_EQ(pending, "before");
  Put(root_, "stray", "half");
  ASSERT_OK(share_->Retire(1s));
  share_.reset();

  share_ = open();
  ASSERT_NE(share_, nullptr);
  root_ = vfs().root();
  EXPECT_EQ(Read("docs/a"), "alpha");
  EXPECT_EQ(Read("b"), "bravo");
  EXPECT_THAT(At("c"), StatusIs(Errc::kNotFound));
  EXPECT_THAT(At("stray"), StatusIs(Errc::kNotFound));
  ASSERT_OK_AND_ASSIGN(pending, PendingRestore(share_->metadata()));
  EXPECT_EQ(pending, std::nullopt);
  // Quotas were counted again: a recount from scratch finds what they hold.
  QuotaTable& quotas = vfs().quotas();
  const QuotaEntry counted = quotas.Get(QuotaKind::kShare, 0);
  ASSERT_OK(quotas.Recount(nullptr));
  EXPECT_EQ(quotas.Get(QuotaKind::kShare, 0).used_files, counted.used_files);
  EXPECT_EQ(quotas.Get(QuotaKind::kShare, 0).used_bytes, counted.used_bytes);
  EXPECT_EQ(counted.used_bytes, 10u);  // alpha, bravo
}

// A restore canceled halfway brings the share back to what it held (its safety snapshot).
TEST_F(SnapshotTest, ACanceledRestoreLeavesTheShareAsItWas) {
  Put(root_, "a", "alpha");
  ASSERT_OK(share_->CreateSnapshot("before", 1s, nullptr).status());
  Put(root_, "a", "changed");
  Put(root_, "c", "charlie");
  JobTable jobs;
  std::atomic<bool> canceled{false};
  JobInfo job = jobs.Start("snapshot-restore", "/snap", "objects", true,
                           [&](JobProgress& progress) -> Status {
                             while (!canceled.load()) std::this_thread::sleep_for(1ms);
                             return share_->RestoreSnapshot("before", "safety", 1s, &progress);
                           });
  ASSERT_OK(jobs.Cancel(job.id).status());
  canceled = true;
  for (int i = 0; i < 500 && jobs.Get(job.id)->state == JobState::kRunning; ++i) {
    std::this_thread::sleep_for(10ms);
  }
  EXPECT_EQ(jobs.Get(job.id)->state, JobState::kCanceled);
  EXPECT_EQ(Read("a"), "changed");
  EXPECT_EQ(Read("c"), "charlie");
  ASSERT_OK_AND_ASSIGN(std::optional<std::string> pending, PendingRestore(share_->metadata()));
  EXPECT_EQ(pending, std::nullopt);
  EXPECT_EQ(Read(".snapshot/before/a"), "alpha");
}

TEST_F(SnapshotTest, DeleteReleasesItsDataAndNamesAreChecked) {
  Put(root_, "big", std::string(100000, 'z'));
  ASSERT_OK(share_->CreateSnapshot("s1", 1s, nullptr).status());
  EXPECT_THAT(share_->CreateSnapshot("s1", 1s, nullptr), StatusIs(Errc::kExists));
  for (const std::string& bad :
       std::vector<std::string>{"", ".hidden", "-x", "a/b", "a b", std::string(65, 'n')}) {
    EXPECT_THAT(share_->CreateSnapshot(bad, 1s, nullptr), StatusIs(Errc::kInvalid)) << bad;
  }
  ASSERT_OK(vfs().Remove(alice_, root_, "big", nullptr));
  const uint64_t held = blocks_->UsedBytes();
  EXPECT_GE(held, 100000u);  // the snapshot's copy keeps the data
  EXPECT_EQ(Read(".snapshot/s1/big"), std::string(100000, 'z'));

  ASSERT_OK(share_->DeleteSnapshot("s1", nullptr));
  EXPECT_LT(blocks_->UsedBytes(), held);
  EXPECT_THAT(share_->GetSnapshot("s1"), StatusIs(Errc::kNotFound));
  EXPECT_THAT(At(".snapshot/s1"), StatusIs(Errc::kNotFound));
  EXPECT_EQ(Names(".snapshot"), std::vector<std::string>{});
  EXPECT_THAT(share_->DeleteSnapshot("s1", nullptr), StatusIs(Errc::kNotFound));
}

// SMB names previous versions by their second (@GMT tokens): snapshots taken within one
// second get seconds of their own, in the order they were taken.
TEST_F(SnapshotTest, SnapshotsTakenInOneSecondEachHaveASecondOfTheirOwn) {
  Put(root_, "f", "v1");
  std::vector<int64_t> seconds;
  for (const char* name : {"a", "b", "c"}) {
    ASSERT_OK_AND_ASSIGN(SnapshotInfo s, share_->CreateSnapshot(name, 1s, nullptr));
    seconds.push_back(s.created.sec);
  }
  EXPECT_LT(seconds[0], seconds[1]);
  EXPECT_LT(seconds[1], seconds[2]);
  EXPECT_LE(seconds[2] - seconds[0], 3);  // moved on by a second at a time, not more
  ASSERT_OK_AND_ASSIGN(SnapshotInfo b, share_->GetSnapshot("b"));
  EXPECT_EQ(b.created.sec, seconds[1]);  // as recorded
  // A second freed by a deletion is taken again.
  ASSERT_OK(share_->DeleteSnapshot("c", nullptr));
  ASSERT_OK_AND_ASSIGN(SnapshotInfo d, share_->CreateSnapshot("d", 1s, nullptr));
  EXPECT_GT(d.created.sec, seconds[1]);
}

TEST_F(SnapshotTest, ACanceledCreateLeavesNothing) {
  FileId d = Mkdir(root_, "d");
  for (int i = 0; i < 600; ++i) Put(d, "f" + std::to_string(i), "data");
  // Canceled as a job is: JobTable sets the flag the copy checks.
  JobTable jobs;
  JobInfo job = jobs.Start("snapshot-create", "/snap", "objects", true, [&](JobProgress& p) {
    while (!p.canceled()) std::this_thread::sleep_for(1ms);
    return share_->CreateSnapshot("gone", 1s, &p).status();
  });
  ASSERT_OK(jobs.Cancel(job.id).status());
  for (int i = 0; i < 2000; ++i) {
    if (jobs.Get(job.id)->state != JobState::kRunning) break;
    std::this_thread::sleep_for(1ms);
  }
  EXPECT_EQ(jobs.Get(job.id)->state, JobState::kCanceled);
  EXPECT_THAT(share_->GetSnapshot("gone"), StatusIs(Errc::kNotFound));
  EXPECT_THAT(At(".snapshot/gone"), StatusIs(Errc::kNotFound));
}

}  // namespace
}  // namespace dittofs::core

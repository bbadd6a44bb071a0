// SPDX-License-Identifier: Apache-2.0
// The recycle bin (core/recycle.cc, docs/recycle.md).
#include <gtest/gtest.h>

#include <set>

#include "base/record_codec.h"
#include "core/test_callers.h"
#include "core/vfs.h"
#include "stores/block/memory/memory_block_store.h"
#include "stores/metadata/memory/memory_metadata_store.h"
#include "testing/status_matchers.h"

namespace dittofs::core {
namespace {

using ::dittofs::testing::StatusIs;
using test::Mode;
using test::User;

class RecycleTest : public ::testing::Test {
 protected:
  void SetUp() override { Open({.enabled = true}); }
  void Open(RecycleOptions recycle) {
    vfs_.reset();
    metadata_ = stores::NewMemoryMetadataStore();
    blocks_ = stores::NewMemoryBlockStore();
    ShareOptions options{.squash = Squash::kNone};
    options.recycle = std::move(recycle);
    auto v = Vfs::Open(1, "/export", *metadata_, *blocks_, options);
    ASSERT_TRUE(v.ok()) << v.status().ToString();
    vfs_ = std::move(v).value();
    root_ = vfs_->root();
  }
  FileId Mkdir(FileId dir, const std::string& name, uint32_t mode = 0755) {
    auto a = vfs_->Mkdir(alice_, dir, name, Mode(mode), nullptr);
    EXPECT_TRUE(a.ok()) << name << ": " << a.status().ToString();
    return a.ok() ? a->id : FileId{};
  }
  FileId Put(FileId dir, const std::string& name, std::string_view data) {
    auto a = vfs_->Create(alice_, dir, name, CreateMode::kUnchecked, Mode(0640), 0, nullptr);
    EXPECT_TRUE(a.ok()) << name << ": " << a.status().ToString();
    if (!a.ok()) return {};
    auto w = vfs_->Write(alice_, a->id, 0, AsBytes(data), Stability::kFileSync, nullptr);
    EXPECT_TRUE(w.ok()) << w.status().ToString();
    return a->id;
  }
  // The object at `path` ("a/b/c"), or the lookup's status.
  Result<Attr> At(std::string_view path) {
    FileId dir = root_;
    Result<Attr> a = vfs_->GetAttr(root, root_);
    size_t at = 0;
    while (at < path.size()) {
      size_t slash = path.find('/', at);
      if (slash == std::string_view::npos) slash = path.size();
      a = vfs_->Lookup(root, dir, path.substr(at, slash - at), nullptr);
      if (!a.ok()) return a;
      dir = a->id;
      at = slash + 1;
    }
    return a;
  }
  std::string Read(std::string_view path) {
    Result<Attr> a = At(path);
    if (!a.ok()) return "ERR:" + a.status().ToString();
    auto r = vfs_->Read(root, a->id, 0, 1 << 20);
    if (!r.ok()) return "ERR:" + r.status().ToString();
    std::string out;
    for (ByteView p : r->data.pieces) out.append(AsChars(p));
    return out;
  }
  std::vector<std::string> BinPaths() {
    auto items = vfs_->ListTrash();
    EXPECT_TRUE(items.ok()) << items.status().ToString();
    std::vector<std::string> out;
    if (items.ok()) {
      for (const Vfs::TrashItem& i : *items) out.push_back(i.bin_path);
    }
    return out;
  }
  uint64_t BinBytes() {
    auto b = vfs_->TrashBytes();
    EXPECT_TRUE(b.ok());
    return b.ok() ? *b : ~uint64_t{0};
  }
  // Makes every item of the bin look removed `days` days earlier than it was (the index's keys
  // hold the time: docs/recycle.md).
  void AgeBin(int days) {
    auto txn = metadata_->Begin();
    auto records = txn->ScanRecords(stores::RecordTable::kTrash, "e", "f", 1000);
    ASSERT_TRUE(records.ok());
    for (const stores::Record& r : *records) {
      uint64_t ns = LoadBe64(std::string_view(r.key).substr(1));
      std::string key = "e";
      AppendBe64(&key, ns - uint64_t(days) * 86400 * 1000000000);
      key.append(r.key.substr(9));
      txn->DeleteRecord(stores::RecordTable::kTrash, r.key);
      txn->PutRecord(stores::RecordTable::kTrash, key, r.value);
      txn->PutRecord(stores::RecordTable::kTrash, "i" + r.key.substr(9), key);
    }
    ASSERT_TRUE(txn->Commit().ok());
  }

  Caller root = User(0, 0);
  Caller alice_ = User(1000, 1000);
  Caller bob_ = User(1001, 1001);
  std::unique_ptr<stores::MetadataStore> metadata_;
  std::unique_ptr<stores::BlockStore> blocks_;
  std::unique_ptr<Vfs> vfs_;
  FileId root_;
};

TEST_F(RecycleTest, ARemovedFileKeepsItsPathInTheBinAndComesBackWhole) {
  FileId a = Mkdir(root_, "a");
  FileId b = Mkdir(a, "b", 0750);
  Put(b, "f.txt", "hello, bin");
  ASSERT_TRUE(vfs_->Remove(alice_, b, "f.txt", nullptr).ok());
  EXPECT_THAT(vfs_->Lookup(alice_, b, "f.txt", nullptr).status(), StatusIs(Errc::kNotFound));

  EXPECT_EQ(Read("#recycle/a/b/f.txt"), "hello, bin");
  // The bin is everyone's and sticky; its directories are like the originals.
  auto bin = At("#recycle");
  ASSERT_TRUE(bin.ok());
  EXPECT_EQ(bin->mode & 07777, 01777u);
  EXPECT_EQ(bin->uid, 0u);
  auto bin_b = At("#recycle/a/b");
  ASSERT_TRUE(bin_b.ok());
  EXPECT_EQ(bin_b->mode & 07777, 0750u);
  EXPECT_EQ(bin_b->uid, 1000u);

  auto items = vfs_->ListTrash();
  ASSERT_TRUE(items.ok());
  ASSERT_EQ(items->size(), 1u);
  EXPECT_EQ((*items)[0].path, "/a/b/f.txt");
  EXPECT_EQ((*items)[0].bin_path, "/#recycle/a/b/f.txt");
  EXPECT_EQ((*items)[0].size, 10u);
  EXPECT_EQ((*items)[0].uid, 1000u);
  EXPECT_EQ(BinBytes(), 10u);

  auto restored = vfs_->RestoreTrash((*items)[0].id);
  ASSERT_TRUE(restored.ok()) << restored.status().ToString();
  EXPECT_EQ(*restored, "/a/b/f.txt");
  EXPECT_EQ(Read("a/b/f.txt"), "hello, bin");
  EXPECT_THAT(At("#recycle/a/b/f.txt").status(), StatusIs(Errc::kNotFound));
  EXPECT_TRUE(BinPaths().empty());
  EXPECT_EQ(BinBytes(), 0u);
  EXPECT_THAT(vfs_->RestoreTrash((*items)[0].id).status(), StatusIs(Errc::kNotFound));
}

// A rename over a file removes that file: it goes to the bin as a removed one does, whole,
// whichever directories the rename joins, the bin made by the rename itself included.
TEST_F(RecycleTest, AFileReplacedByARenameGoesToTheBin) {
  // Within the root, the bin not made yet: the root gains it in the rename's transaction.
  Put(root_, "doc.txt", "version 1");
  Put(root_, "doc.txt.new", "version 2");
  ASSERT_OK(vfs_->Rename(alice_, root_, "doc.txt.new", root_, "doc.txt", nullptr, nullptr));
  EXPECT_EQ(Read("doc.txt"), "version 2");
  EXPECT_EQ(Read("#recycle/doc.txt"), "version 1");
  ASSERT_OK_AND_ASSIGN(DirListing listing, vfs_->ReadDir(root, root_, 0, 100, false));
  std::set<std::string> names;
  std::set<uint64_t> cookies;
  for (const DirListEntry& e : listing.entries) {
    names.insert(e.name);
    cookies.insert(e.cookie);
  }
  EXPECT_EQ(names, (std::set<std::string>{"#recycle", "doc.txt"}));
  EXPECT_EQ(cookies.size(), listing.entries.size()) << "every entry keeps a cookie of its own";
  EXPECT_EQ(listing.dir_attr.nlink, 3u) << "the bin is a subdirectory of the root";

  // From the root into a folder, on a fresh share: the bin is made in the root, which the
  // rename also changes as the source.
  Open({.enabled = true});
  FileId docs = Mkdir(root_, "docs");
  Put(docs, "a.txt", "old a");
  Put(root_, "upload", "new a");
  ASSERT_OK(vfs_->Rename(alice_, root_, "upload", docs, "a.txt", nullptr, nullptr));
  EXPECT_EQ(Read("docs/a.txt"), "new a");
  EXPECT_EQ(Read("#recycle/docs/a.txt"), "old a");
  ASSERT_OK_AND_ASSIGN(listing, vfs_->ReadDir(root, root_, 0, 100, false));
  ASSERT_EQ(listing.entries.size(), 2u);  // docs and #recycle; upload moved
  EXPECT_NE(listing.entries[0].cookie, listing.entries[1].cookie);
  EXPECT_EQ(listing.dir_attr.nlink, 4u);

  // Indexed as a removal: listed, restorable over a now free name, counted in the bin's size.
  auto items = vfs_->ListTrash();
  ASSERT_TRUE(items.ok());
  ASSERT_EQ(items->size(), 1u);
  EXPECT_EQ((*items)[0].path, "/docs/a.txt");
  EXPECT_EQ(BinBytes(), 5u);
  ASSERT_OK(vfs_->Remove(alice_, docs, "a.txt", nullptr));  // "new a" joins the bin
  ASSERT_OK(vfs_->RestoreTrash((*items)[0].id).status());
  EXPECT_EQ(Read("docs/a.txt"), "old a");

  // What the bin refuses (a file under an exclude glob) is replaced for good, as before.
  Open({.enabled = true, .exclude = {"*.tmp"}});
  Put(root_, "x.tmp", "scratch");
  Put(root_, "y", "y");
  ASSERT_OK(vfs_->Rename(alice_, root_, "y", root_, "x.tmp", nullptr, nullptr));
  EXPECT_THAT(At("#recycle").status(), StatusIs(Errc::kNotFound));
  EXPECT_EQ(Read("x.tmp"), "y");
}

TEST_F(RecycleTest, ATakenNameInTheBinGetsANumberBeforeTheExtension) {
  for (std::string_view data : {"one", "two", "three"}) {
    Put(root_, "r.txt", data);
    ASSERT_TRUE(vfs_->Remove(alice_, root_, "r.txt", nullptr).ok());
  }
  Put(root_, "README", "x");
  ASSERT_TRUE(vfs_->Remove(alice_, root_, "README", nullptr).ok());
  Put(root_, "README", "y");
  ASSERT_TRUE(vfs_->Remove(alice_, root_, "README", nullptr).ok());
  EXPECT_EQ(Read("#recycle/r.txt"), "one");
  EXPECT_EQ(Read("#recycle/r (2).txt"), "two");
  EXPECT_EQ(Read("#recycle/r (3).txt"), "three");
  EXPECT_EQ(Read("#recycle/README (2)"), "y");
  // Oldest first.
  EXPECT_EQ(BinPaths(), (std::vector<std::string>{"/#recycle/r.txt", "/#recycle/r (2).txt",
                                                  "/#recycle/r (3).txt", "/#recycle/README",
                                                  "/#recycle/README (2)"}));
}

TEST_F(RecycleTest, RestoreRemakesGoneDirectoriesAndRefusesATakenName) {
  FileId d = Mkdir(root_, "docs", 0700);
  Put(d, "plan.txt", "v1");
  ASSERT_TRUE(vfs_->Remove(alice_, d, "plan.txt", nullptr).ok());
  ASSERT_TRUE(vfs_->Rmdir(alice_, root_, "docs", nullptr).ok());
  auto items = vfs_->ListTrash();
  ASSERT_TRUE(items.ok());
  ASSERT_EQ(items->size(), 1u);
  const uint64_t id = (*items)[0].id;

  // Another file has the name: refused, and elsewhere on request.
  FileId d2 = Mkdir(root_, "docs");
  Put(d2, "plan.txt", "v2");
  EXPECT_THAT(vfs_->RestoreTrash(id).status(), StatusIs(Errc::kExists));
  EXPECT_THAT(vfs_->RestoreTrash(id, "/#recycle/x").status(), StatusIs(Errc::kInvalid));
  EXPECT_THAT(vfs_->RestoreTrash(id, "/a/../b").status(), StatusIs(Errc::kInvalid));
  ASSERT_TRUE(vfs_->Remove(alice_, d2, "plan.txt", nullptr).ok());
  ASSERT_TRUE(vfs_->Rmdir(alice_, root_, "docs", nullptr).ok());

  auto where = vfs_->RestoreTrash(id);
  ASSERT_TRUE(where.ok()) << where.status().ToString();
  EXPECT_EQ(Read("docs/plan.txt"), "v1");
  auto docs = At("docs");
  ASSERT_TRUE(docs.ok());
  EXPECT_EQ(docs->mode & 07777, 0700u);  // as the bin's copy of it
  EXPECT_EQ(docs->uid, 1000u);

  auto restored = vfs_->RestoreTrash(BinPaths().size() == 1 ? vfs_->ListTrash()->at(0).id : 0,
                                     "/elsewhere/new.txt");
  ASSERT_TRUE(restored.ok()) << restored.status().ToString();
  EXPECT_EQ(Read("elsewhere/new.txt"), "v2");
}

TEST_F(RecycleTest, WhatLeavesTheBinThroughTheMountLeavesTheIndex) {
  Put(root_, "a.txt", "aaaa");
  Put(root_, "b.txt", "bbbbbb");
  Put(root_, "c.txt", "cc");
  for (const char* n : {"a.txt", "b.txt", "c.txt"}) {
    ASSERT_TRUE(vfs_->Remove(alice_, root_, n, nullptr).ok());
  }
  EXPECT_EQ(BinBytes(), 12u);
  auto bin = At("#recycle");
  ASSERT_TRUE(bin.ok());
  // A restore by hand: a rename out of the bin.
  ASSERT_TRUE(vfs_->Rename(alice_, bin->id, "a.txt", root_, "a.txt", nullptr, nullptr).ok());
  EXPECT_EQ(Read("a.txt"), "aaaa");
  // A rename within the bin is followed.
  FileId sub = Mkdir(bin->id, "keep");
  ASSERT_TRUE(vfs_->Rename(alice_, bin->id, "b.txt", sub, "b2.txt", nullptr, nullptr).ok());
  // A remove in the bin is for good.
  ASSERT_TRUE(vfs_->Remove(alice_, bin->id, "c.txt", nullptr).ok());
  EXPECT_THAT(At("#recycle/c.txt").status(), StatusIs(Errc::kNotFound));
  EXPECT_EQ(BinPaths(), std::vector<std::string>{"/#recycle/keep/b2.txt"});
  EXPECT_EQ(BinBytes(), 6u);
  // A file renamed over one in the bin takes it out of the index.
  Put(bin->id, "over", "zz");
  ASSERT_TRUE(vfs_->Rename(alice_, bin->id, "over", sub, "b2.txt", nullptr, nullptr).ok());
  EXPECT_TRUE(BinPaths().empty());
  EXPECT_EQ(BinBytes(), 0u);
}

TEST_F(RecycleTest, AFolderMovedOutOfTheBinWholeTakesItsFilesOutOfTheIndex) {
  FileId docs = Mkdir(root_, "docs");
  Put(docs, "a.txt", "aaaa");
  ASSERT_TRUE(vfs_->Remove(alice_, docs, "a.txt", nullptr).ok());
  ASSERT_TRUE(vfs_->Rmdir(alice_, root_, "docs", nullptr).ok());
  auto id = vfs_->ListTrash()->at(0).id;
  auto bin = At("#recycle");
  ASSERT_TRUE(bin.ok());
  // The whole folder back by hand: its file is the user's again, not the bin's to purge.
  ASSERT_TRUE(vfs_->Rename(alice_, bin->id, "docs", root_, "docs", nullptr, nullptr).ok());
  EXPECT_TRUE(BinPaths().empty());
  EXPECT_THAT(vfs_->RestoreTrash(id).status(), StatusIs(Errc::kNotFound));
  auto emptied = vfs_->EmptyTrash();
  ASSERT_TRUE(emptied.ok());
  EXPECT_EQ(*emptied, 0u);
  EXPECT_EQ(Read("docs/a.txt"), "aaaa");
  EXPECT_EQ(BinBytes(), 0u);
}

TEST_F(RecycleTest, TheSizeCapEvictsTheOldestAndABiggerFileGoesForGood) {
  Open({.enabled = true, .max_bytes = 10});
  for (const char* n : {"1", "2", "3"}) {
    Put(root_, n, "four");
    ASSERT_TRUE(vfs_->Remove(alice_, root_, n, nullptr).ok());
  }
  EXPECT_EQ(BinPaths(), (std::vector<std::string>{"/#recycle/2", "/#recycle/3"}));
  EXPECT_EQ(BinBytes(), 8u);
  EXPECT_THAT(At("#recycle/1").status(), StatusIs(Errc::kNotFound));
  const uint64_t used = blocks_->UsedBytes();
  Put(root_, "big", "eleven bytes");
  ASSERT_TRUE(vfs_->Remove(alice_, root_, "big", nullptr).ok());
  EXPECT_THAT(At("#recycle/big").status(), StatusIs(Errc::kNotFound));
  EXPECT_EQ(blocks_->UsedBytes(), used);  // its data went
  EXPECT_EQ(BinBytes(), 8u);
}

TEST_F(RecycleTest, TheRetentionPurgesWhatIsOlder) {
  Open({.enabled = true, .retention_days = 7});
  Put(root_, "old", "o");
  ASSERT_TRUE(vfs_->Remove(alice_, root_, "old", nullptr).ok());
  AgeBin(8);
  Put(root_, "new", "n");
  ASSERT_TRUE(vfs_->Remove(alice_, root_, "new", nullptr).ok());
  auto purged = vfs_->PurgeTrash();
  ASSERT_TRUE(purged.ok()) << purged.status().ToString();
  EXPECT_EQ(*purged, 1u);
  EXPECT_EQ(BinPaths(), std::vector<std::string>{"/#recycle/new"});
  EXPECT_THAT(At("#recycle/old").status(), StatusIs(Errc::kNotFound));
}

TEST_F(RecycleTest, ExcludedLinkedAndBinFilesAreRemovedForGood) {
  Open({.enabled = true, .exclude = {"*.tmp", "cache/*"}});
  FileId cache = Mkdir(root_, "cache");
  Put(root_, "x.tmp", "t");
  Put(cache, "blob", "b");
  FileId linked = Put(root_, "linked", "l");
  ASSERT_TRUE(vfs_->Link(alice_, linked, root_, "other", nullptr, nullptr).ok());
  ASSERT_TRUE(vfs_->Remove(alice_, root_, "x.tmp", nullptr).ok());
  ASSERT_TRUE(vfs_->Remove(alice_, cache, "blob", nullptr).ok());
  ASSERT_TRUE(vfs_->Remove(alice_, root_, "linked", nullptr).ok());  // "other" keeps it
  EXPECT_TRUE(BinPaths().empty());
  EXPECT_THAT(At("#recycle").status(), StatusIs(Errc::kNotFound));
  EXPECT_EQ(Read("other"), "l");
}

TEST_F(RecycleTest, EmptyRemovesEverythingAndAnOpenFileServesItsOpenInTheBin) {
  FileId f = Put(root_, "open.txt", "still here");
  auto open = vfs_->OpenFile(alice_, f, kReadData, kShareAll);
  ASSERT_TRUE(open.ok()) << open.status().ToString();
  ASSERT_TRUE(vfs_->Remove(alice_, root_, "open.txt", nullptr).ok());
  auto r = vfs_->Read(alice_, f, 0, 100);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(Read("#recycle/open.txt"), "still here");
  Put(root_, "other.txt", "x");
  ASSERT_TRUE(vfs_->Remove(alice_, root_, "other.txt", nullptr).ok());
  ASSERT_TRUE(vfs_->CloseFile(*open).ok());
  auto emptied = vfs_->EmptyTrash();
  ASSERT_TRUE(emptied.ok()) << emptied.status().ToString();
  EXPECT_EQ(*emptied, 2u);
  EXPECT_TRUE(BinPaths().empty());
  EXPECT_EQ(BinBytes(), 0u);
  EXPECT_THAT(At("#recycle/open.txt").status(), StatusIs(Errc::kNotFound));
  EXPECT_EQ(blocks_->UsedBytes(), 0u);
}

TEST_F(RecycleTest, ASecondUserCannotTakeAnothersFileOutOfTheBin) {
  FileId shared = Mkdir(root_, "shared", 0777);
  Put(shared, "mine", "m");
  ASSERT_TRUE(vfs_->Remove(alice_, shared, "mine", nullptr).ok());
  auto bin_shared = At("#recycle/shared");
  ASSERT_TRUE(bin_shared.ok());
  auto bin = At("#recycle");
  ASSERT_TRUE(bin.ok());
  // The bin is sticky: bob cannot take alice's copy of "shared" away, nor rename it.
  EXPECT_THAT(vfs_->Rename(bob_, bin->id, "shared", root_, "stolen", nullptr, nullptr),
              StatusIs(Errc::kAccess));
}

TEST_F(RecycleTest, OffTheBinIsAnOrdinaryFolder) {
  Open(RecycleOptions{});
  Put(root_, "gone", "g");
  ASSERT_TRUE(vfs_->Remove(alice_, root_, "gone", nullptr).ok());
  EXPECT_THAT(At("#recycle").status(), StatusIs(Errc::kNotFound));
  EXPECT_TRUE(BinPaths().empty());
}

}  // namespace
}  // namespace dittofs::core

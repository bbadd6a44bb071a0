// SPDX-License-Identifier: Apache-2.0
#include "stores/metadata/conformance.h"

#include <gmock/gmock.h>

#include <algorithm>
#include <atomic>
#include <limits>
#include <ostream>
#include <set>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "testing/status_matchers.h"

namespace dittofs::stores {

void PrintTo(const MetadataStoreFactory& factory, std::ostream* os) { *os << factory.name; }

std::string MetadataStoreFactoryName(const ::testing::TestParamInfo<MetadataStoreFactory>& info) {
  return info.param.name;
}

void MetadataStoreConformance::SetUp() {
  store_ = GetParam().make();
  ASSERT_NE(store_, nullptr) << GetParam().name << ": the factory made no store";
}

Result<DirEntry> AddEntry(MetadataStore& store, InodeId dir, const std::string& name,
                          InodeId child) {
  DirEntry entry;
  RETURN_IF_ERROR(RunTransaction(store, [&](MetadataTxn& txn) -> Status {
    ASSIGN_OR_RETURN(Inode parent, txn.GetInode(dir));
    entry = DirEntry{name, child, parent.next_cookie};
    ++parent.next_cookie;
    txn.PutInode(parent);
    txn.PutEntry(dir, entry);
    return Status::Ok();
  }));
  return entry;
}

namespace {

using ::dittofs::testing::StatusIs;
using ::testing::ElementsAre;
using ::testing::IsEmpty;
using namespace std::string_literals;

constexpr size_t kAll = std::numeric_limits<size_t>::max();

// Matches an ok Result whose value matches `matcher`.
MATCHER_P(IsOkAndHolds, matcher, "") {
  if (!arg.ok()) {
    *result_listener << "status is " << arg.status().ToString();
    return false;
  }
  return ::testing::ExplainMatchResult(matcher, *arg, result_listener);
}

// A new inode as the Vfs would make one: a fresh id and generation, plausible attributes. Not
// yet stored.
Result<Inode> MakeInode(MetadataStore& store, FileType type) {
  ASSIGN_OR_RETURN(InodeId id, store.AllocateInodeId());
  Inode inode;
  inode.id = id;
  inode.generation = store.NextGeneration(id);
  inode.type = type;
  inode.mode = type == FileType::kDirectory ? 0755 : 0644;
  inode.nlink = type == FileType::kDirectory ? 2 : 1;
  inode.next_cookie = type == FileType::kDirectory ? 1 : 0;
  return inode;
}

// Makes and commits a new inode; returns it as stored (with the store's version).
Result<Inode> CreateInode(MetadataStore& store, FileType type) {
  ASSIGN_OR_RETURN(Inode inode, MakeInode(store, type));
  RETURN_IF_ERROR(RunTransaction(store, [&](MetadataTxn& txn) {
    txn.PutInode(inode);
    return Status::Ok();
  }));
  return store.GetInode(inode.id);
}

Status RemoveEntry(MetadataStore& store, InodeId dir, const std::string& name) {
  return RunTransaction(store, [&](MetadataTxn& txn) {
    txn.DeleteEntry(dir, name);
    return Status::Ok();
  });
}

// Every committed entry of `dir`, in one List call.
Result<std::vector<DirEntry>> ListAll(MetadataStore& store, InodeId dir) {
  std::unique_ptr<MetadataTxn> txn = store.Begin();
  return txn->List(dir, 0, kAll);
}

std::vector<std::string> Names(const std::vector<DirEntry>& entries) {
  std::vector<std::string> names;
  for (const DirEntry& e : entries) names.push_back(e.name);
  return names;
}

// Callers never set versions, so compare inodes without them.
Inode WithoutVersion(Inode inode) {
  inode.version = 0;
  return inode;
}

// ---- Inodes ----

TEST_P(MetadataStoreConformance, AbsentInodeIsNotFound) {
  ASSERT_OK_AND_ASSIGN(InodeId id, store().AllocateInodeId());
  EXPECT_THAT(store().GetInode(id), StatusIs(Errc::kNotFound));
  std::unique_ptr<MetadataTxn> txn = store().Begin();
  EXPECT_THAT(txn->GetInode(id), StatusIs(Errc::kNotFound));
}

TEST_P(MetadataStoreConformance, GetInodesReadsSeveralInOrderAbsentOnesNotFound) {
  ASSERT_OK_AND_ASSIGN(Inode a, CreateInode(store(), FileType::kRegular));
  ASSERT_OK_AND_ASSIGN(Inode b, CreateInode(store(), FileType::kDirectory));
  ASSERT_OK_AND_ASSIGN(InodeId absent, store().AllocateInodeId());
  std::vector<Result<Inode>> got = store().GetInodes({b.id, absent, a.id, b.id});
  ASSERT_EQ(got.size(), 4u);
  ASSERT_OK(got[0].status());
  EXPECT_EQ(*got[0], b);
  EXPECT_THAT(got[1], StatusIs(Errc::kNotFound));
  ASSERT_OK(got[2].status());
  EXPECT_EQ(*got[2], a);
  ASSERT_OK(got[3].status());
  EXPECT_EQ(*got[3], b);
  EXPECT_TRUE(store().GetInodes({}).empty());
}

TEST_P(MetadataStoreConformance, PutGetDeleteInodeKeepsEveryField) {
  ASSERT_OK_AND_ASSIGN(Inode inode, MakeInode(store(), FileType::kSymlink));
  inode.mode = 04777;
  inode.uid = 1000;
  inode.gid = 100;
  inode.nlink = 3;
  inode.size = (uint64_t{1} << 50) + 7;
  inode.atime = {1'700'000'000, 1};
  inode.mtime = {1'700'000'001, 999'999'999};
  inode.ctime = {-5, 2};
  inode.btime = {1, 3};
  inode.rdev_major = 8;
  inode.rdev_minor = 17;
  inode.symlink_target = std::string("../some/target\0with nul", 23);
  inode.create_verifier = 0xfeedfacecafebeef;
  inode.parent = 42;
  inode.next_cookie = 9;
  inode.dos_attributes = 0x00000227;  // read-only, hidden, system, archive, sparse
  inode.acl = std::string("\x01\0ace", 5);
  inode.flags = kInodeInSnapshot;
  ASSERT_OK(RunTransaction(store(), [&](MetadataTxn& txn) {
    txn.PutInode(inode);
    return Status::Ok();
  }));

  ASSERT_OK_AND_ASSIGN(Inode stored, store().GetInode(inode.id));
  EXPECT_EQ(WithoutVersion(stored), WithoutVersion(inode));
  std::unique_ptr<MetadataTxn> reader = store().Begin();
  ASSERT_OK_AND_ASSIGN(Inode in_txn, reader->GetInode(inode.id));
  EXPECT_EQ(in_txn, stored);

  ASSERT_OK(RunTransaction(store(), [&](MetadataTxn& txn) {
    txn.DeleteInode(inode.id);
    return Status::Ok();
  }));
  EXPECT_THAT(store().GetInode(inode.id), StatusIs(Errc::kNotFound));
}

TEST_P(MetadataStoreConformance, LazyCommitIsVisibleAndSyncSucceeds) {
  ASSERT_OK_AND_ASSIGN(Inode inode, MakeInode(store(), FileType::kRegular));
  inode.size = 12345;
  ASSERT_OK(RunTransaction(
      store(),
      [&](MetadataTxn& txn) {
        txn.PutInode(inode);
        return Status::Ok();
      },
      Durability::kLazy));
  ASSERT_OK_AND_ASSIGN(Inode got, store().GetInode(inode.id));
  EXPECT_EQ(got.size, 12345u);
  EXPECT_OK(store().Sync());
}

TEST_P(MetadataStoreConformance, PutInodeReplacesIt) {
  ASSERT_OK_AND_ASSIGN(Inode inode, CreateInode(store(), FileType::kRegular));
  inode.size = 4096;
  inode.mode = 0600;
  ASSERT_OK(RunTransaction(store(), [&](MetadataTxn& txn) {
    txn.PutInode(inode);
    return Status::Ok();
  }));
  ASSERT_OK_AND_ASSIGN(Inode stored, store().GetInode(inode.id));
  EXPECT_EQ(stored.size, 4096u);
  EXPECT_EQ(stored.mode, 0600u);
}

// ---- Entries ----

TEST_P(MetadataStoreConformance, EntriesPutLookupDelete) {
  ASSERT_OK_AND_ASSIGN(Inode dir, CreateInode(store(), FileType::kDirectory));
  ASSERT_OK_AND_ASSIGN(Inode file, CreateInode(store(), FileType::kRegular));
  ASSERT_OK_AND_ASSIGN(DirEntry added, AddEntry(store(), dir.id, "notes.txt", file.id));

  {
    std::unique_ptr<MetadataTxn> txn = store().Begin();
    ASSERT_OK_AND_ASSIGN(DirEntry found, txn->Lookup(dir.id, "notes.txt"));
    EXPECT_EQ(found, added);
    EXPECT_EQ(found.child, file.id);
    EXPECT_THAT(txn->Lookup(dir.id, "notes.TXT"), StatusIs(Errc::kNotFound));
    EXPECT_THAT(txn->Lookup(file.id, "notes.txt"), StatusIs(Errc::kNotFound));
  }

  ASSERT_OK(RemoveEntry(store(), dir.id, "notes.txt"));
  std::unique_ptr<MetadataTxn> txn = store().Begin();
  EXPECT_THAT(txn->Lookup(dir.id, "notes.txt"), StatusIs(Errc::kNotFound));
  ASSERT_OK_AND_ASSIGN(bool has_entries, txn->HasEntries(dir.id));
  EXPECT_FALSE(has_entries);
  // The entry went, the inode it named did not.
  EXPECT_OK(store().GetInode(file.id));
}

TEST_P(MetadataStoreConformance, LookupFoldedFindsEveryNameThatFoldsEqual) {
  ASSERT_OK_AND_ASSIGN(Inode dir, CreateInode(store(), FileType::kDirectory));
  ASSERT_OK_AND_ASSIGN(DirEntry upper, AddEntry(store(), dir.id, "README.txt", 11));
  ASSERT_OK_AND_ASSIGN(DirEntry lower, AddEntry(store(), dir.id, "readme.TXT", 12));
  ASSERT_OK_AND_ASSIGN(DirEntry greek, AddEntry(store(), dir.id, "ΣΊΣΥΦΟΣ", 13));
  ASSERT_OK(AddEntry(store(), dir.id, "readme.txt.bak", 14));
  ASSERT_OK(AddEntry(store(), dir.id, "Straße", 15));
  {
    std::unique_ptr<MetadataTxn> txn = store().Begin();
    // Case is kept; every spelling finds both names, in byte order.
    EXPECT_THAT(txn->LookupFolded(dir.id, "ReadMe.Txt"), IsOkAndHolds(ElementsAre(upper, lower)));
    EXPECT_THAT(txn->LookupFolded(dir.id, "σίσυφος"), IsOkAndHolds(ElementsAre(greek)));
    EXPECT_THAT(txn->LookupFolded(dir.id, "STRASSE"), IsOkAndHolds(IsEmpty()));
    EXPECT_THAT(txn->LookupFolded(dir.id, "readme"), IsOkAndHolds(IsEmpty()));
    EXPECT_THAT(txn->LookupFolded(dir.id + 1000, "readme.txt"), IsOkAndHolds(IsEmpty()));
    EXPECT_THAT(txn->Lookup(dir.id, "ReadMe.Txt"), StatusIs(Errc::kNotFound));
  }
  // The index follows removals, renames (a cookie passed on) and replacements.
  ASSERT_OK(RemoveEntry(store(), dir.id, "README.txt"));
  ASSERT_OK(RunTransaction(store(), [&](MetadataTxn& txn) -> Status {
    txn.DeleteEntry(dir.id, "ΣΊΣΥΦΟΣ");
    txn.PutEntry(dir.id, DirEntry{"Sisyphus", 13, greek.cookie});
    return Status::Ok();
  }));
  ASSERT_OK_AND_ASSIGN(DirEntry replaced, AddEntry(store(), dir.id, "readme.TXT", 16));
  std::unique_ptr<MetadataTxn> txn = store().Begin();
  EXPECT_THAT(txn->LookupFolded(dir.id, "README.TXT"), IsOkAndHolds(ElementsAre(replaced)));
  EXPECT_THAT(txn->LookupFolded(dir.id, "σίσυφος"), IsOkAndHolds(IsEmpty()));
  EXPECT_THAT(txn->LookupFolded(dir.id, "SISYPHUS"),
              IsOkAndHolds(ElementsAre(DirEntry{"Sisyphus", 13, greek.cookie})));
}

TEST_P(MetadataStoreConformance, LookupFoldedSeesOwnWritesAndConflicts) {
  ASSERT_OK_AND_ASSIGN(Inode dir, CreateInode(store(), FileType::kDirectory));
  ASSERT_OK_AND_ASSIGN(DirEntry a, AddEntry(store(), dir.id, "Alpha", 21));
  ASSERT_OK_AND_ASSIGN(Inode unrelated, MakeInode(store(), FileType::kRegular));
  {
    std::unique_ptr<MetadataTxn> txn = store().Begin();
    txn->DeleteEntry(dir.id, "Alpha");
    txn->PutEntry(dir.id, DirEntry{"ALPHA", 22, 100});
    EXPECT_THAT(txn->LookupFolded(dir.id, "alpha"),
                IsOkAndHolds(ElementsAre(DirEntry{"ALPHA", 22, 100})));
    // Abandoned: nothing of it shows.
  }
  std::unique_ptr<MetadataTxn> txn = store().Begin();
  EXPECT_THAT(txn->LookupFolded(dir.id, "alpha"), IsOkAndHolds(ElementsAre(a)));
  // Another commit adding a name that folds equal makes this transaction conflict.
  ASSERT_OK(AddEntry(store(), dir.id, "aLPHA", 23));
  txn->PutInode(unrelated);
  EXPECT_THAT(txn->Commit(), StatusIs(Errc::kConflict));
}

TEST_P(MetadataStoreConformance, PutEntryOverAnExistingNameReplacesIt) {
  ASSERT_OK_AND_ASSIGN(Inode dir, CreateInode(store(), FileType::kDirectory));
  ASSERT_OK_AND_ASSIGN(Inode first, CreateInode(store(), FileType::kRegular));
  ASSERT_OK_AND_ASSIGN(Inode second, CreateInode(store(), FileType::kRegular));
  ASSERT_OK(AddEntry(store(), dir.id, "a", first.id));
  ASSERT_OK_AND_ASSIGN(DirEntry replacement, AddEntry(store(), dir.id, "a", second.id));

  std::unique_ptr<MetadataTxn> txn = store().Begin();
  ASSERT_OK_AND_ASSIGN(DirEntry found, txn->Lookup(dir.id, "a"));
  EXPECT_EQ(found, replacement);
  EXPECT_THAT(txn->List(dir.id, 0, kAll), IsOkAndHolds(ElementsAre(replacement)))
      << "the replaced entry must not be listed twice";
}

TEST_P(MetadataStoreConformance, ListIsInCookieOrderAndResumes) {
  ASSERT_OK_AND_ASSIGN(Inode dir, CreateInode(store(), FileType::kDirectory));
  // Cookies are the caller's; give them out of both name and insertion order.
  const std::vector<DirEntry> entries = {
      {"delta", 101, 40},   {"alpha", 102, 10}, {"echo", 103, 50},
      {"charlie", 104, 30}, {"bravo", 105, 20},
  };
  ASSERT_OK(RunTransaction(store(), [&](MetadataTxn& txn) {
    for (const DirEntry& e : entries) txn.PutEntry(dir.id, e);
    return Status::Ok();
  }));

  std::unique_ptr<MetadataTxn> txn = store().Begin();
  ASSERT_OK_AND_ASSIGN(std::vector<DirEntry> all, txn->List(dir.id, 0, kAll));
  EXPECT_THAT(Names(all), ElementsAre("alpha", "bravo", "charlie", "delta", "echo"));
  EXPECT_EQ(all[0], (DirEntry{"alpha", 102, 10}));

  ASSERT_OK_AND_ASSIGN(std::vector<DirEntry> page, txn->List(dir.id, 0, 2));
  EXPECT_THAT(Names(page), ElementsAre("alpha", "bravo"));
  ASSERT_OK_AND_ASSIGN(page, txn->List(dir.id, page.back().cookie, 2));
  EXPECT_THAT(Names(page), ElementsAre("charlie", "delta"));
  ASSERT_OK_AND_ASSIGN(page, txn->List(dir.id, page.back().cookie, 2));
  EXPECT_THAT(Names(page), ElementsAre("echo"));
  ASSERT_OK_AND_ASSIGN(page, txn->List(dir.id, page.back().cookie, 2));
  EXPECT_THAT(page, IsEmpty());
  // A cookie between two entries resumes at the next one.
  ASSERT_OK_AND_ASSIGN(page, txn->List(dir.id, 25, kAll));
  EXPECT_THAT(Names(page), ElementsAre("charlie", "delta", "echo"));
  ASSERT_OK_AND_ASSIGN(page, txn->List(dir.id, 0, 0));
  EXPECT_THAT(page, IsEmpty());
}

TEST_P(MetadataStoreConformance, EmptyDirectoryListsNothing) {
  ASSERT_OK_AND_ASSIGN(Inode dir, CreateInode(store(), FileType::kDirectory));
  std::unique_ptr<MetadataTxn> txn = store().Begin();
  EXPECT_THAT(txn->List(dir.id, 0, kAll), IsOkAndHolds(IsEmpty()));
  EXPECT_THAT(txn->HasEntries(dir.id), IsOkAndHolds(false));
}

TEST_P(MetadataStoreConformance, CookiesSurviveOtherEntriesComingAndGoing) {
  ASSERT_OK_AND_ASSIGN(Inode dir, CreateInode(store(), FileType::kDirectory));
  std::vector<DirEntry> added;
  for (const char* name : {"a", "b", "c", "d", "e", "f"}) {
    ASSERT_OK_AND_ASSIGN(DirEntry e, AddEntry(store(), dir.id, name, 1000 + added.size()));
    added.push_back(e);
  }
  ASSERT_OK(RemoveEntry(store(), dir.id, "b"));
  ASSERT_OK(RemoveEntry(store(), dir.id, "d"));
  ASSERT_OK_AND_ASSIGN(DirEntry g, AddEntry(store(), dir.id, "g", 2000));
  ASSERT_OK_AND_ASSIGN(DirEntry h, AddEntry(store(), dir.id, "h", 2001));

  ASSERT_OK_AND_ASSIGN(std::vector<DirEntry> all, ListAll(store(), dir.id));
  EXPECT_THAT(all, ElementsAre(added[0], added[2], added[4], added[5], g, h));
  EXPECT_GT(g.cookie, added[5].cookie);

  // A client holding the cookie of an entry deleted since resumes right after it.
  std::unique_ptr<MetadataTxn> txn = store().Begin();
  ASSERT_OK_AND_ASSIGN(std::vector<DirEntry> rest, txn->List(dir.id, added[1].cookie, kAll));
  EXPECT_THAT(rest, ElementsAre(added[2], added[4], added[5], g, h));
  ASSERT_OK_AND_ASSIGN(rest, txn->List(dir.id, added[3].cookie, 2));
  EXPECT_THAT(rest, ElementsAre(added[4], added[5]));
}

TEST_P(MetadataStoreConformance, HasEntriesCountsCommittedAndOwnWrites) {
  ASSERT_OK_AND_ASSIGN(Inode empty, CreateInode(store(), FileType::kDirectory));
  ASSERT_OK_AND_ASSIGN(Inode one, CreateInode(store(), FileType::kDirectory));
  ASSERT_OK(AddEntry(store(), one.id, "only", 77));

  std::unique_ptr<MetadataTxn> txn = store().Begin();
  EXPECT_THAT(txn->HasEntries(empty.id), IsOkAndHolds(false));
  EXPECT_THAT(txn->HasEntries(one.id), IsOkAndHolds(true));

  txn->PutEntry(empty.id, {"new", 78, 1});
  EXPECT_THAT(txn->HasEntries(empty.id), IsOkAndHolds(true));
  txn->DeleteEntry(empty.id, "new");
  EXPECT_THAT(txn->HasEntries(empty.id), IsOkAndHolds(false));

  txn->DeleteEntry(one.id, "only");
  EXPECT_THAT(txn->HasEntries(one.id), IsOkAndHolds(false));
  txn->PutEntry(one.id, {"other", 79, 2});
  EXPECT_THAT(txn->HasEntries(one.id), IsOkAndHolds(true));
  txn->DeleteEntry(one.id, "never-existed");
  EXPECT_THAT(txn->HasEntries(one.id), IsOkAndHolds(true));

  // None of that is visible to others.
  std::unique_ptr<MetadataTxn> other = store().Begin();
  EXPECT_THAT(other->HasEntries(empty.id), IsOkAndHolds(false));
  EXPECT_THAT(other->HasEntries(one.id), IsOkAndHolds(true));
}

// ---- Transactions ----

TEST_P(MetadataStoreConformance, ReadsSeeOwnWrites) {
  ASSERT_OK_AND_ASSIGN(Inode dir, CreateInode(store(), FileType::kDirectory));
  ASSERT_OK_AND_ASSIGN(Inode file, CreateInode(store(), FileType::kRegular));
  ASSERT_OK_AND_ASSIGN(Inode doomed, CreateInode(store(), FileType::kRegular));
  ASSERT_OK_AND_ASSIGN(DirEntry old_entry, AddEntry(store(), dir.id, "old", doomed.id));

  std::unique_ptr<MetadataTxn> txn = store().Begin();
  Inode changed = file;
  changed.size = 123;
  txn->PutInode(changed);
  ASSERT_OK_AND_ASSIGN(Inode seen, txn->GetInode(file.id));
  EXPECT_EQ(WithoutVersion(seen), WithoutVersion(changed));
  txn->DeleteInode(doomed.id);
  EXPECT_THAT(txn->GetInode(doomed.id), StatusIs(Errc::kNotFound));
  ASSERT_OK_AND_ASSIGN(Inode fresh, MakeInode(store(), FileType::kRegular));
  txn->PutInode(fresh);
  EXPECT_OK(txn->GetInode(fresh.id));

  const DirEntry new_entry{"new", fresh.id, 1000};
  txn->PutEntry(dir.id, new_entry);
  EXPECT_THAT(txn->Lookup(dir.id, "new"), IsOkAndHolds(new_entry));
  txn->DeleteEntry(dir.id, "old");
  EXPECT_THAT(txn->Lookup(dir.id, "old"), StatusIs(Errc::kNotFound));
  // List shows committed entries only, as its contract says.
  EXPECT_THAT(txn->List(dir.id, 0, kAll), IsOkAndHolds(ElementsAre(old_entry)));

  // The store itself still has the committed state.
  ASSERT_OK_AND_ASSIGN(Inode committed, store().GetInode(file.id));
  EXPECT_EQ(committed.size, 0u);
  EXPECT_OK(store().GetInode(doomed.id));
}

TEST_P(MetadataStoreConformance, NothingIsVisibleBeforeCommit) {
  ASSERT_OK_AND_ASSIGN(Inode dir, CreateInode(store(), FileType::kDirectory));
  ASSERT_OK_AND_ASSIGN(Inode file, MakeInode(store(), FileType::kRegular));

  std::unique_ptr<MetadataTxn> writer = store().Begin();
  writer->PutInode(file);
  writer->PutEntry(dir.id, {"f", file.id, 1});

  EXPECT_THAT(store().GetInode(file.id), StatusIs(Errc::kNotFound));
  {
    std::unique_ptr<MetadataTxn> reader = store().Begin();
    EXPECT_THAT(reader->GetInode(file.id), StatusIs(Errc::kNotFound));
    EXPECT_THAT(reader->Lookup(dir.id, "f"), StatusIs(Errc::kNotFound));
    EXPECT_THAT(reader->List(dir.id, 0, kAll), IsOkAndHolds(IsEmpty()));
    EXPECT_THAT(reader->HasEntries(dir.id), IsOkAndHolds(false));
  }

  ASSERT_OK(writer->Commit());
  EXPECT_OK(store().GetInode(file.id));
  std::unique_ptr<MetadataTxn> reader = store().Begin();
  EXPECT_OK(reader->Lookup(dir.id, "f"));
}

TEST_P(MetadataStoreConformance, AbandonedTransactionAppliesNothing) {
  ASSERT_OK_AND_ASSIGN(Inode dir, CreateInode(store(), FileType::kDirectory));
  ASSERT_OK_AND_ASSIGN(Inode file, MakeInode(store(), FileType::kRegular));
  {
    std::unique_ptr<MetadataTxn> txn = store().Begin();
    txn->PutInode(file);
    txn->PutEntry(dir.id, {"f", file.id, 1});
    txn->DeleteInode(dir.id);
  }
  EXPECT_THAT(store().GetInode(file.id), StatusIs(Errc::kNotFound));
  EXPECT_OK(store().GetInode(dir.id));
  EXPECT_THAT(ListAll(store(), dir.id), IsOkAndHolds(IsEmpty()));
}

TEST_P(MetadataStoreConformance, RunTransactionReturnsErrorsWithoutCommitting) {
  ASSERT_OK_AND_ASSIGN(Inode file, MakeInode(store(), FileType::kRegular));
  Status s = RunTransaction(store(), [&](MetadataTxn& txn) {
    txn.PutInode(file);
    return Status(Errc::kNoSpace, "made up");
  });
  EXPECT_THAT(s, StatusIs(Errc::kNoSpace));
  EXPECT_THAT(store().GetInode(file.id), StatusIs(Errc::kNotFound));
}

TEST_P(MetadataStoreConformance, CommitAppliesEveryWrite) {
  ASSERT_OK_AND_ASSIGN(Inode dir, CreateInode(store(), FileType::kDirectory));
  ASSERT_OK_AND_ASSIGN(Inode gone, CreateInode(store(), FileType::kRegular));
  ASSERT_OK(AddEntry(store(), dir.id, "gone", gone.id));
  std::vector<Inode> files;
  for (int i = 0; i < 3; ++i) {
    ASSERT_OK_AND_ASSIGN(Inode f, MakeInode(store(), FileType::kRegular));
    files.push_back(f);
  }

  ASSERT_OK(RunTransaction(store(), [&](MetadataTxn& txn) -> Status {
    ASSIGN_OR_RETURN(Inode parent, txn.GetInode(dir.id));
    for (const Inode& f : files) {
      txn.PutInode(f);
      txn.PutEntry(dir.id, {"f" + std::to_string(f.id), f.id, parent.next_cookie++});
    }
    txn.DeleteEntry(dir.id, "gone");
    txn.DeleteInode(gone.id);
    parent.mtime = {5, 5};
    txn.PutInode(parent);
    return Status::Ok();
  }));

  for (const Inode& f : files) EXPECT_OK(store().GetInode(f.id));
  EXPECT_THAT(store().GetInode(gone.id), StatusIs(Errc::kNotFound));
  ASSERT_OK_AND_ASSIGN(std::vector<DirEntry> all, ListAll(store(), dir.id));
  EXPECT_EQ(all.size(), 3u);
  ASSERT_OK_AND_ASSIGN(Inode parent, store().GetInode(dir.id));
  EXPECT_EQ(parent.mtime, (Timespec{5, 5}));
  EXPECT_EQ(parent.next_cookie, dir.next_cookie + 4);
}

TEST_P(MetadataStoreConformance, SecondWriterOfAnInodeConflictsAndAppliesNothing) {
  ASSERT_OK_AND_ASSIGN(Inode dir, CreateInode(store(), FileType::kDirectory));
  ASSERT_OK_AND_ASSIGN(Inode shared, CreateInode(store(), FileType::kRegular));
  ASSERT_OK_AND_ASSIGN(Inode extra, MakeInode(store(), FileType::kRegular));

  std::unique_ptr<MetadataTxn> first = store().Begin();
  std::unique_ptr<MetadataTxn> second = store().Begin();
  ASSERT_OK_AND_ASSIGN(Inode a, first->GetInode(shared.id));
  ASSERT_OK_AND_ASSIGN(Inode b, second->GetInode(shared.id));
  a.size = 1;
  b.size = 2;
  first->PutInode(a);
  second->PutInode(b);
  // The loser also writes elsewhere; none of it may land.
  second->PutInode(extra);
  second->PutEntry(dir.id, {"extra", extra.id, 1});

  ASSERT_OK(first->Commit());
  EXPECT_THAT(second->Commit(), StatusIs(Errc::kConflict));

  ASSERT_OK_AND_ASSIGN(Inode stored, store().GetInode(shared.id));
  EXPECT_EQ(stored.size, 1u);
  EXPECT_THAT(store().GetInode(extra.id), StatusIs(Errc::kNotFound));
  EXPECT_THAT(ListAll(store(), dir.id), IsOkAndHolds(IsEmpty()));
  ASSERT_OK_AND_ASSIGN(Inode dir_now, store().GetInode(dir.id));
  EXPECT_EQ(dir_now.version, dir.version) << "a failed commit must not bump versions";
}

TEST_P(MetadataStoreConformance, ReadOfAnAbsentInodeConflictsWithItsCreation) {
  ASSERT_OK_AND_ASSIGN(Inode file, MakeInode(store(), FileType::kRegular));
  std::unique_ptr<MetadataTxn> txn = store().Begin();
  ASSERT_THAT(txn->GetInode(file.id), StatusIs(Errc::kNotFound));
  ASSERT_OK(RunTransaction(store(), [&](MetadataTxn& other) {
    other.PutInode(file);
    return Status::Ok();
  }));
  Inode mine = file;
  mine.size = 99;
  txn->PutInode(mine);
  EXPECT_THAT(txn->Commit(), StatusIs(Errc::kConflict));
  ASSERT_OK_AND_ASSIGN(Inode stored, store().GetInode(file.id));
  EXPECT_EQ(stored.size, 0u);
}

TEST_P(MetadataStoreConformance, ReadOfADeletedInodeConflicts) {
  ASSERT_OK_AND_ASSIGN(Inode file, CreateInode(store(), FileType::kRegular));
  ASSERT_OK_AND_ASSIGN(Inode other_file, MakeInode(store(), FileType::kRegular));
  std::unique_ptr<MetadataTxn> txn = store().Begin();
  ASSERT_OK(txn->GetInode(file.id));
  ASSERT_OK(RunTransaction(store(), [&](MetadataTxn& other) {
    other.DeleteInode(file.id);
    return Status::Ok();
  }));
  txn->PutInode(other_file);
  EXPECT_THAT(txn->Commit(), StatusIs(Errc::kConflict));
  EXPECT_THAT(store().GetInode(other_file.id), StatusIs(Errc::kNotFound));
}

// What another transaction does to the directory between our read and our commit.
enum class EntryChange { kAddLookedUpName, kRemoveLookedUpName, kAddOtherName, kRemoveOtherName };

TEST_P(MetadataStoreConformance, LookupConflictsWithAnyEntryChangeOfItsDirectory) {
  for (EntryChange change : {EntryChange::kAddLookedUpName, EntryChange::kRemoveLookedUpName,
                             EntryChange::kAddOtherName, EntryChange::kRemoveOtherName}) {
    SCOPED_TRACE(static_cast<int>(change));
    ASSERT_OK_AND_ASSIGN(Inode dir, CreateInode(store(), FileType::kDirectory));
    ASSERT_OK_AND_ASSIGN(Inode unrelated, MakeInode(store(), FileType::kRegular));
    if (change == EntryChange::kRemoveLookedUpName) ASSERT_OK(AddEntry(store(), dir.id, "x", 5));
    if (change == EntryChange::kRemoveOtherName) ASSERT_OK(AddEntry(store(), dir.id, "y", 6));

    std::unique_ptr<MetadataTxn> txn = store().Begin();
    (void)txn->Lookup(dir.id, "x");
    switch (change) {
      case EntryChange::kAddLookedUpName:
        ASSERT_OK(AddEntry(store(), dir.id, "x", 7));
        break;
      case EntryChange::kRemoveLookedUpName:
        ASSERT_OK(RemoveEntry(store(), dir.id, "x"));
        break;
      case EntryChange::kAddOtherName:
        ASSERT_OK(AddEntry(store(), dir.id, "y", 8));
        break;
      case EntryChange::kRemoveOtherName:
        ASSERT_OK(RemoveEntry(store(), dir.id, "y"));
        break;
    }
    txn->PutInode(unrelated);
    EXPECT_THAT(txn->Commit(), StatusIs(Errc::kConflict));
    EXPECT_THAT(store().GetInode(unrelated.id), StatusIs(Errc::kNotFound));
  }
}

TEST_P(MetadataStoreConformance, EntriesConflictEvenWithoutADirectoryInode) {
  // Entries count as part of their directory even before (or after) it has an inode.
  ASSERT_OK_AND_ASSIGN(InodeId dir, store().AllocateInodeId());
  ASSERT_OK_AND_ASSIGN(Inode unrelated, MakeInode(store(), FileType::kRegular));
  std::unique_ptr<MetadataTxn> txn = store().Begin();
  ASSERT_THAT(txn->HasEntries(dir), IsOkAndHolds(false));
  ASSERT_OK(RunTransaction(store(), [&](MetadataTxn& other) {
    other.PutEntry(dir, {"x", unrelated.id, 1});
    return Status::Ok();
  }));
  txn->PutInode(unrelated);
  EXPECT_THAT(txn->Commit(), StatusIs(Errc::kConflict));
  EXPECT_THAT(store().GetInode(unrelated.id), StatusIs(Errc::kNotFound));
  EXPECT_THAT(store().GetInode(dir), StatusIs(Errc::kNotFound)) << "no inode appeared";
}

TEST_P(MetadataStoreConformance, HasEntriesConflictsWithAnEntryAdded) {
  // The rmdir race: "empty" must not remain true once someone else created an entry.
  ASSERT_OK_AND_ASSIGN(Inode dir, CreateInode(store(), FileType::kDirectory));
  std::unique_ptr<MetadataTxn> rmdir = store().Begin();
  ASSERT_THAT(rmdir->HasEntries(dir.id), IsOkAndHolds(false));
  ASSERT_OK(AddEntry(store(), dir.id, "late", 9));
  rmdir->DeleteInode(dir.id);
  EXPECT_THAT(rmdir->Commit(), StatusIs(Errc::kConflict));
  EXPECT_OK(store().GetInode(dir.id));
}

TEST_P(MetadataStoreConformance, ListConflictsWithAnEntryRemoved) {
  ASSERT_OK_AND_ASSIGN(Inode dir, CreateInode(store(), FileType::kDirectory));
  ASSERT_OK_AND_ASSIGN(Inode unrelated, MakeInode(store(), FileType::kRegular));
  ASSERT_OK(AddEntry(store(), dir.id, "a", 10));
  std::unique_ptr<MetadataTxn> txn = store().Begin();
  ASSERT_OK(txn->List(dir.id, 0, kAll));
  ASSERT_OK(RemoveEntry(store(), dir.id, "a"));
  txn->PutInode(unrelated);
  EXPECT_THAT(txn->Commit(), StatusIs(Errc::kConflict));
}

TEST_P(MetadataStoreConformance, ReadOnlyTransactionConflictsWhenItsReadsWentStale) {
  ASSERT_OK_AND_ASSIGN(Inode a, CreateInode(store(), FileType::kRegular));
  ASSERT_OK_AND_ASSIGN(Inode b, CreateInode(store(), FileType::kRegular));
  std::unique_ptr<MetadataTxn> reader = store().Begin();
  ASSERT_OK(reader->GetInode(a.id));
  ASSERT_OK(RunTransaction(store(), [&](MetadataTxn& txn) {
    a.size = b.size = 1;
    txn.PutInode(a);
    txn.PutInode(b);
    return Status::Ok();
  }));
  ASSERT_OK(reader->GetInode(b.id));
  // It saw a from before that commit and b from after it: not a consistent view.
  EXPECT_THAT(reader->Commit(), StatusIs(Errc::kConflict));

  std::unique_ptr<MetadataTxn> clean = store().Begin();
  ASSERT_OK(clean->GetInode(a.id));
  ASSERT_OK(clean->GetInode(b.id));
  EXPECT_OK(clean->Commit());
  EXPECT_OK(store().Begin()->Commit());  // an empty transaction
}

TEST_P(MetadataStoreConformance, TransactionsOnDisjointObjectsBothCommit) {
  ASSERT_OK_AND_ASSIGN(Inode dir1, CreateInode(store(), FileType::kDirectory));
  ASSERT_OK_AND_ASSIGN(Inode dir2, CreateInode(store(), FileType::kDirectory));
  ASSERT_OK_AND_ASSIGN(Inode f1, CreateInode(store(), FileType::kRegular));
  ASSERT_OK_AND_ASSIGN(Inode f2, CreateInode(store(), FileType::kRegular));

  std::unique_ptr<MetadataTxn> t1 = store().Begin();
  std::unique_ptr<MetadataTxn> t2 = store().Begin();
  ASSERT_OK_AND_ASSIGN(Inode a, t1->GetInode(f1.id));
  ASSERT_OK_AND_ASSIGN(Inode b, t2->GetInode(f2.id));
  (void)t1->Lookup(dir1.id, "x");
  (void)t2->Lookup(dir2.id, "x");
  a.size = 10;
  b.size = 20;
  t1->PutInode(a);
  t2->PutInode(b);
  t1->PutEntry(dir1.id, {"x", f1.id, 1});
  t2->PutEntry(dir2.id, {"x", f2.id, 1});
  EXPECT_OK(t1->Commit());
  EXPECT_OK(t2->Commit());
  EXPECT_THAT(store().GetInode(f1.id), IsOkAndHolds(::testing::Field(&Inode::size, 10u)));
  EXPECT_THAT(store().GetInode(f2.id), IsOkAndHolds(::testing::Field(&Inode::size, 20u)));
}

// ---- Versions ----

TEST_P(MetadataStoreConformance, VersionIsBumpedOnEveryInodeChange) {
  ASSERT_OK_AND_ASSIGN(Inode file, CreateInode(store(), FileType::kRegular));
  uint64_t last = file.version;
  for (int i = 0; i < 3; ++i) {
    // Rewriting the same attributes, even with a stale or zero version, is still a change.
    Inode rewrite = file;
    rewrite.version = i == 0 ? 0 : file.version;
    ASSERT_OK(RunTransaction(store(), [&](MetadataTxn& txn) {
      txn.PutInode(rewrite);
      return Status::Ok();
    }));
    ASSERT_OK_AND_ASSIGN(Inode stored, store().GetInode(file.id));
    EXPECT_GT(stored.version, last);
    last = stored.version;
    std::unique_ptr<MetadataTxn> txn = store().Begin();
    EXPECT_THAT(txn->GetInode(file.id), IsOkAndHolds(::testing::Field(&Inode::version, last)));
  }
}

TEST_P(MetadataStoreConformance, AclAtTheSizeLimitRoundTrips) {
  ASSERT_OK_AND_ASSIGN(Inode inode, MakeInode(store(), FileType::kDirectory));
  inode.acl = std::string(kMaxAclSize, '\xa5');
  ASSERT_OK(RunTransaction(store(), [&](MetadataTxn& txn) {
    txn.PutInode(inode);
    return Status::Ok();
  }));
  ASSERT_OK_AND_ASSIGN(Inode stored, store().GetInode(inode.id));
  EXPECT_EQ(stored.acl, inode.acl);
}

// The change counter: a committed change sets it to the version the transaction read plus one,
// so a caller knows the value its own change made (atomic change info).
TEST_P(MetadataStoreConformance, VersionOfACommittedChangeIsTheReadVersionPlusOne) {
  ASSERT_OK_AND_ASSIGN(Inode dir, CreateInode(store(), FileType::kDirectory));
  EXPECT_EQ(dir.version, 1u) << "a new inode starts at 1";
  ASSERT_OK_AND_ASSIGN(Inode file, CreateInode(store(), FileType::kRegular));
  uint64_t dir_read = 0, file_read = 0;
  // A create as the Vfs makes one: the directory's entry and inode, plus the child.
  ASSERT_OK(RunTransaction(store(), [&](MetadataTxn& txn) -> Status {
    ASSIGN_OR_RETURN(Inode d, txn.GetInode(dir.id));
    ASSIGN_OR_RETURN(Inode f, txn.GetInode(file.id));
    dir_read = d.version;
    file_read = f.version;
    txn.PutEntry(d.id, {"f", f.id, d.next_cookie++});
    txn.PutInode(d);
    f.nlink = 2;
    txn.PutInode(f);
    txn.PutInode(f);  // twice in one transaction: still one change
    return Status::Ok();
  }));
  EXPECT_THAT(store().GetInode(dir.id),
              IsOkAndHolds(::testing::Field(&Inode::version, dir_read + 1)));
  EXPECT_THAT(store().GetInode(file.id),
              IsOkAndHolds(::testing::Field(&Inode::version, file_read + 1)));
  // Entries alone count too.
  ASSERT_OK(RemoveEntry(store(), dir.id, "f"));
  EXPECT_THAT(store().GetInode(dir.id),
              IsOkAndHolds(::testing::Field(&Inode::version, dir_read + 2)));
}

// An access time is no change: a write marked Counted::kNo keeps the version, but is still
// applied and still conflicts like any write; a counted write or entry change with it counts.
TEST_P(MetadataStoreConformance, UncountedWritesKeepTheVersion) {
  ASSERT_OK_AND_ASSIGN(Inode file, CreateInode(store(), FileType::kRegular));
  auto put = [&](Inode inode, Counted counted) {
    return RunTransaction(store(), [&](MetadataTxn& txn) {
      txn.PutInode(inode, counted);
      return Status::Ok();
    });
  };
  file.atime = {1'700'000'000, 7};
  ASSERT_OK(put(file, Counted::kNo));
  ASSERT_OK_AND_ASSIGN(Inode stored, store().GetInode(file.id));
  EXPECT_EQ(stored.atime, file.atime);
  EXPECT_EQ(stored.version, file.version);

  file.mtime = {1'700'000'001, 0};
  ASSERT_OK(put(file, Counted::kYes));
  ASSERT_OK_AND_ASSIGN(stored, store().GetInode(file.id));
  EXPECT_EQ(stored.version, file.version + 1);
  file = stored;

  // Uncounted, then counted, in one transaction: counted.
  ASSERT_OK(RunTransaction(store(), [&](MetadataTxn& txn) {
    txn.PutInode(file, Counted::kNo);
    txn.PutInode(file, Counted::kYes);
    return Status::Ok();
  }));
  ASSERT_OK_AND_ASSIGN(stored, store().GetInode(file.id));
  EXPECT_EQ(stored.version, file.version + 1);
  file = stored;
  // Counted, then uncounted: still counted.
  ASSERT_OK(RunTransaction(store(), [&](MetadataTxn& txn) {
    txn.PutInode(file, Counted::kYes);
    txn.PutInode(file, Counted::kNo);
    return Status::Ok();
  }));
  ASSERT_OK_AND_ASSIGN(stored, store().GetInode(file.id));
  EXPECT_EQ(stored.version, file.version + 1);
  file = stored;

  // A directory's uncounted write with an entry change: counted.
  ASSERT_OK_AND_ASSIGN(Inode dir, CreateInode(store(), FileType::kDirectory));
  ASSERT_OK(RunTransaction(store(), [&](MetadataTxn& txn) {
    txn.PutInode(dir, Counted::kNo);
    txn.PutEntry(dir.id, {"x", file.id, 1});
    return Status::Ok();
  }));
  EXPECT_THAT(store().GetInode(dir.id),
              IsOkAndHolds(::testing::Field(&Inode::version, dir.version + 1)));

  // A new inode written uncounted still starts at 1.
  ASSERT_OK_AND_ASSIGN(Inode fresh, MakeInode(store(), FileType::kRegular));
  ASSERT_OK(put(fresh, Counted::kNo));
  EXPECT_THAT(store().GetInode(fresh.id), IsOkAndHolds(::testing::Field(&Inode::version, 1u)));

  // Conflicts: a transaction that read the file loses to an uncounted write committed since.
  std::unique_ptr<MetadataTxn> reader = store().Begin();
  ASSERT_OK_AND_ASSIGN(Inode seen, reader->GetInode(file.id));
  file.atime = {1'700'000'002, 0};
  ASSERT_OK(put(file, Counted::kNo));
  seen.size = 1;
  reader->PutInode(seen);
  EXPECT_THAT(reader->Commit(), StatusIs(Errc::kConflict));
  ASSERT_OK_AND_ASSIGN(stored, store().GetInode(file.id));
  EXPECT_EQ(stored.atime, file.atime);
  EXPECT_EQ(stored.size, 0u);
}

TEST_P(MetadataStoreConformance, EntryChangesBumpTheDirectoryVersion) {
  ASSERT_OK_AND_ASSIGN(Inode dir, CreateInode(store(), FileType::kDirectory));
  ASSERT_OK_AND_ASSIGN(Inode untouched, CreateInode(store(), FileType::kRegular));
  uint64_t last = dir.version;
  auto expect_bumped = [&](const char* what) {
    Result<Inode> now = store().GetInode(dir.id);
    ASSERT_OK(now);
    EXPECT_GT(now->version, last) << what;
    last = now->version;
  };
  // Entry-only transactions: the directory inode itself is not rewritten.
  ASSERT_OK(RunTransaction(store(), [&](MetadataTxn& txn) {
    txn.PutEntry(dir.id, {"a", untouched.id, 1});
    return Status::Ok();
  }));
  expect_bumped("add");
  ASSERT_OK(RunTransaction(store(), [&](MetadataTxn& txn) {
    txn.PutEntry(dir.id, {"a", untouched.id + 1, 2});
    return Status::Ok();
  }));
  expect_bumped("replace");
  ASSERT_OK(RemoveEntry(store(), dir.id, "a"));
  expect_bumped("remove");
  ASSERT_OK_AND_ASSIGN(Inode child, store().GetInode(untouched.id));
  EXPECT_EQ(child.version, untouched.version) << "the child inode did not change";
}

// ---- Ids, generations, root, stats ----

TEST_P(MetadataStoreConformance, AllocatedIdsAreUniqueAcrossThreads) {
  constexpr int kThreads = 8;
  constexpr int kPerThread = 1000;
  std::vector<std::vector<InodeId>> ids(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        Result<InodeId> id = store().AllocateInodeId();
        ids[t].push_back(id.ok() ? *id : kInvalidInode);
      }
    });
  }
  for (std::thread& t : threads) t.join();
  std::set<InodeId> unique;
  for (const std::vector<InodeId>& v : ids) unique.insert(v.begin(), v.end());
  EXPECT_EQ(unique.size(), size_t{kThreads * kPerThread});
  EXPECT_FALSE(unique.contains(kInvalidInode));
}

TEST_P(MetadataStoreConformance, NextGenerationDiffersForAReusedId) {
  ASSERT_OK_AND_ASSIGN(Inode file, CreateInode(store(), FileType::kRegular));
  ASSERT_OK(RunTransaction(store(), [&](MetadataTxn& txn) {
    txn.DeleteInode(file.id);
    return Status::Ok();
  }));
  uint32_t reused = store().NextGeneration(file.id);
  EXPECT_NE(reused, file.generation);
}

TEST_P(MetadataStoreConformance, RootIsUnsetUntilSet) {
  EXPECT_EQ(store().root(), kInvalidInode);
  ASSERT_OK_AND_ASSIGN(Inode dir, CreateInode(store(), FileType::kDirectory));
  ASSERT_OK(store().SetRoot(dir.id));
  EXPECT_EQ(store().root(), dir.id);
}

TEST_P(MetadataStoreConformance, StatsAreConsistent) {
  StoreStats before = store().Stats();
  EXPECT_GT(before.total_files, 0u);
  EXPECT_LE(before.free_files, before.total_files);
  EXPECT_LE(before.free_bytes, before.total_bytes);
  ASSERT_OK(CreateInode(store(), FileType::kRegular));
  StoreStats after = store().Stats();
  EXPECT_LE(after.free_files, before.free_files);
  EXPECT_LE(after.free_files, after.total_files);
}

// ---- Records ----

Status PutRecord(MetadataStore& store, RecordTable table, std::string_view key,
                 std::string_view value) {
  return RunTransaction(store, [&](MetadataTxn& txn) {
    txn.PutRecord(table, key, value);
    return Status::Ok();
  });
}

Status DeleteRecord(MetadataStore& store, RecordTable table, std::string_view key) {
  return RunTransaction(store, [&](MetadataTxn& txn) {
    txn.DeleteRecord(table, key);
    return Status::Ok();
  });
}

// The committed record, read in a transaction of its own.
Result<std::string> ReadRecord(MetadataStore& store, RecordTable table, std::string_view key) {
  std::unique_ptr<MetadataTxn> txn = store.Begin();
  return txn->GetRecord(table, key);
}

Result<std::vector<Record>> Scan(MetadataStore& store, RecordTable table, std::string_view from,
                                 std::string_view to, size_t max = kAll) {
  std::unique_ptr<MetadataTxn> txn = store.Begin();
  return txn->ScanRecords(table, from, to, max);
}

std::vector<std::string> Keys(const std::vector<Record>& records) {
  std::vector<std::string> keys;
  for (const Record& r : records) keys.push_back(r.key);
  return keys;
}

TEST_P(MetadataStoreConformance, AbsentRecordIsNotFound) {
  EXPECT_THAT(ReadRecord(store(), RecordTable::kChunks, "nothing"), StatusIs(Errc::kNotFound));
  // Deleting an absent record is no error.
  ASSERT_OK(DeleteRecord(store(), RecordTable::kChunks, "nothing"));
  EXPECT_THAT(ReadRecord(store(), RecordTable::kChunks, "nothing"), StatusIs(Errc::kNotFound));
  EXPECT_THAT(Scan(store(), RecordTable::kChunks, "", ""), IsOkAndHolds(IsEmpty()));
}

TEST_P(MetadataStoreConformance, RecordsPutGetReplaceDelete) {
  const std::string key = "\0k\xff"s;
  const std::string value = "v\0\x80\xff"s;
  ASSERT_OK(PutRecord(store(), RecordTable::kChunks, key, value));
  EXPECT_THAT(ReadRecord(store(), RecordTable::kChunks, key), IsOkAndHolds(value));

  ASSERT_OK(PutRecord(store(), RecordTable::kChunks, key, "replaced"));
  EXPECT_THAT(ReadRecord(store(), RecordTable::kChunks, key), IsOkAndHolds("replaced"));

  // An empty value is a record like any other.
  ASSERT_OK(PutRecord(store(), RecordTable::kChunks, key, ""));
  EXPECT_THAT(ReadRecord(store(), RecordTable::kChunks, key), IsOkAndHolds(""));

  ASSERT_OK(DeleteRecord(store(), RecordTable::kChunks, key));
  EXPECT_THAT(ReadRecord(store(), RecordTable::kChunks, key), StatusIs(Errc::kNotFound));
  EXPECT_THAT(Scan(store(), RecordTable::kChunks, "", ""), IsOkAndHolds(IsEmpty()));
}

TEST_P(MetadataStoreConformance, RecordsAtTheSizeLimitsRoundTrip) {
  const std::string empty_key;
  const std::string long_key(kMaxRecordKeySize, '\xff');
  std::string big_value(kMaxRecordValueSize, '\0');
  for (size_t i = 0; i < big_value.size(); ++i) big_value[i] = static_cast<char>(i * 7);
  ASSERT_OK(RunTransaction(store(), [&](MetadataTxn& txn) {
    txn.PutRecord(RecordTable::kObjects, empty_key, "empty key");
    txn.PutRecord(RecordTable::kObjects, long_key, big_value);
    return Status::Ok();
  }));
  EXPECT_THAT(ReadRecord(store(), RecordTable::kObjects, empty_key), IsOkAndHolds("empty key"));
  EXPECT_THAT(ReadRecord(store(), RecordTable::kObjects, long_key), IsOkAndHolds(big_value));
  ASSERT_OK_AND_ASSIGN(std::vector<Record> all, Scan(store(), RecordTable::kObjects, "", ""));
  EXPECT_THAT(Keys(all), ElementsAre(empty_key, long_key));
}

TEST_P(MetadataStoreConformance, GetRecordSeesOwnWritesAndOthersDoNot) {
  ASSERT_OK(PutRecord(store(), RecordTable::kChunkMap, "old", "committed"));
  std::unique_ptr<MetadataTxn> txn = store().Begin();
  txn->PutRecord(RecordTable::kChunkMap, "new", "mine");
  txn->DeleteRecord(RecordTable::kChunkMap, "old");
  EXPECT_THAT(txn->GetRecord(RecordTable::kChunkMap, "new"), IsOkAndHolds("mine"));
  EXPECT_THAT(txn->GetRecord(RecordTable::kChunkMap, "old"), StatusIs(Errc::kNotFound));
  // A later write of the same key replaces the buffered one.
  txn->PutRecord(RecordTable::kChunkMap, "new", "mine again");
  EXPECT_THAT(txn->GetRecord(RecordTable::kChunkMap, "new"), IsOkAndHolds("mine again"));

  EXPECT_THAT(ReadRecord(store(), RecordTable::kChunkMap, "new"), StatusIs(Errc::kNotFound));
  EXPECT_THAT(ReadRecord(store(), RecordTable::kChunkMap, "old"), IsOkAndHolds("committed"));

  ASSERT_OK(txn->Commit());
  EXPECT_THAT(ReadRecord(store(), RecordTable::kChunkMap, "new"), IsOkAndHolds("mine again"));
  EXPECT_THAT(ReadRecord(store(), RecordTable::kChunkMap, "old"), StatusIs(Errc::kNotFound));
}

TEST_P(MetadataStoreConformance, AbandonedTransactionAppliesNoRecord) {
  {
    std::unique_ptr<MetadataTxn> txn = store().Begin();
    txn->PutRecord(RecordTable::kChunks, "k", "v");
  }
  EXPECT_THAT(ReadRecord(store(), RecordTable::kChunks, "k"), StatusIs(Errc::kNotFound));
}

TEST_P(MetadataStoreConformance, RecordTablesAreSeparate) {
  ASSERT_OK(RunTransaction(store(), [&](MetadataTxn& txn) {
    txn.PutRecord(RecordTable::kChunkMap, "same", "chunk map");
    txn.PutRecord(RecordTable::kChunks, "same", "chunks");
    // Keys of 0xff bytes in a lower table must not leak into the next table's scan, and the
    // next table's keys not into this one's.
    txn.PutRecord(RecordTable::kChunks, "\xff\xff", "last of chunks");
    txn.PutRecord(RecordTable::kObjects, "", "first of objects");
    return Status::Ok();
  }));
  EXPECT_THAT(ReadRecord(store(), RecordTable::kChunkMap, "same"), IsOkAndHolds("chunk map"));
  EXPECT_THAT(ReadRecord(store(), RecordTable::kChunks, "same"), IsOkAndHolds("chunks"));
  EXPECT_THAT(ReadRecord(store(), RecordTable::kGcQueue, "same"), StatusIs(Errc::kNotFound));

  ASSERT_OK(DeleteRecord(store(), RecordTable::kChunkMap, "same"));
  EXPECT_THAT(ReadRecord(store(), RecordTable::kChunkMap, "same"), StatusIs(Errc::kNotFound));
  EXPECT_THAT(ReadRecord(store(), RecordTable::kChunks, "same"), IsOkAndHolds("chunks"));

  EXPECT_THAT(Scan(store(), RecordTable::kChunkMap, "", ""), IsOkAndHolds(IsEmpty()));
  EXPECT_THAT(
      Scan(store(), RecordTable::kChunks, "", ""),
      IsOkAndHolds(ElementsAre(Record{"same", "chunks"}, Record{"\xff\xff", "last of chunks"})));
  EXPECT_THAT(Scan(store(), RecordTable::kObjects, "", ""),
              IsOkAndHolds(ElementsAre(Record{"", "first of objects"})));
  EXPECT_THAT(Scan(store(), RecordTable::kGcQueue, "", ""), IsOkAndHolds(IsEmpty()));
}

TEST_P(MetadataStoreConformance, ScanRecordsIsInUnsignedByteOrder) {
  // Written out of order; bytes >= 0x80 sort after every ASCII byte, and a prefix first.
  const std::vector<std::string> sorted = {"\0"s,  "\0\0"s,   "\0\x01"s, "a",       "ab",
                                           "b",    "\x7f",    "\x80",    "\x80\0"s, "\xfe",
                                           "\xff", "\xff\0"s, "\xff\xff"};
  ASSERT_OK(RunTransaction(store(), [&](MetadataTxn& txn) {
    for (size_t i = sorted.size(); i > 0; --i) {
      const std::string& key = sorted[(i * 5) % sorted.size()];
      txn.PutRecord(RecordTable::kGcQueue, key, "value of " + key);
    }
    return Status::Ok();
  }));
  ASSERT_OK_AND_ASSIGN(std::vector<Record> all, Scan(store(), RecordTable::kGcQueue, "", ""));
  EXPECT_EQ(Keys(all), sorted);
  for (const Record& r : all) EXPECT_EQ(r.value, "value of " + r.key);
}

TEST_P(MetadataStoreConformance, ScanRecordsBoundsAndMax) {
  const std::vector<std::string> keys = {"a", "b", "b\0"s, "c", "\x80", "\xff"};
  ASSERT_OK(RunTransaction(store(), [&](MetadataTxn& txn) {
    for (const std::string& key : keys) txn.PutRecord(RecordTable::kChunks, key, key);
    return Status::Ok();
  }));
  auto keys_of = [&](std::string_view from, std::string_view to, size_t max = kAll) {
    Result<std::vector<Record>> records = Scan(store(), RecordTable::kChunks, from, to, max);
    EXPECT_OK(records.status());
    return records.ok() ? Keys(*records) : std::vector<std::string>{"<error>"};
  };
  // `from` is inclusive, `to` exclusive, an empty `to` unbounded.
  EXPECT_THAT(keys_of("b", "c"), ElementsAre("b", "b\0"s));
  EXPECT_THAT(keys_of("b\0"s, ""), ElementsAre("b\0"s, "c", "\x80", "\xff"));
  EXPECT_THAT(keys_of("bb", "\xff"), ElementsAre("c", "\x80"));
  EXPECT_THAT(keys_of("\x80", "\xff\0"s), ElementsAre("\x80", "\xff"));
  EXPECT_THAT(keys_of("", "b"), ElementsAre("a"));
  EXPECT_THAT(keys_of("\xff\0"s, ""), IsEmpty());
  // An empty or inverted range holds nothing.
  EXPECT_THAT(keys_of("b", "b"), IsEmpty());
  EXPECT_THAT(keys_of("c", "b"), IsEmpty());
  // `max` stops the scan early; resuming from just past the last key continues it.
  EXPECT_THAT(keys_of("", "", 0), IsEmpty());
  EXPECT_THAT(keys_of("", "", 2), ElementsAre("a", "b"));
  EXPECT_THAT(keys_of("b\0"s, "", 2), ElementsAre("b\0"s, "c"));
  EXPECT_THAT(keys_of("a", "c", 10), ElementsAre("a", "b", "b\0"s));
}

TEST_P(MetadataStoreConformance, ScanRecordsDoesNotSeeUncommittedWrites) {
  ASSERT_OK(PutRecord(store(), RecordTable::kChunks, "committed", "1"));
  ASSERT_OK(PutRecord(store(), RecordTable::kChunks, "doomed", "2"));
  std::unique_ptr<MetadataTxn> txn = store().Begin();
  txn->PutRecord(RecordTable::kChunks, "added", "3");
  txn->PutRecord(RecordTable::kChunks, "committed", "changed");
  txn->DeleteRecord(RecordTable::kChunks, "doomed");
  EXPECT_THAT(txn->ScanRecords(RecordTable::kChunks, "", "", kAll),
              IsOkAndHolds(ElementsAre(Record{"committed", "1"}, Record{"doomed", "2"})));
  ASSERT_OK(txn->Commit());
  EXPECT_THAT(Scan(store(), RecordTable::kChunks, "", ""),
              IsOkAndHolds(ElementsAre(Record{"added", "3"}, Record{"committed", "changed"})));
}

TEST_P(MetadataStoreConformance, SecondWriterOfARecordConflictsAndAppliesNothing) {
  ASSERT_OK(PutRecord(store(), RecordTable::kChunks, "refcount", "1"));
  ASSERT_OK_AND_ASSIGN(Inode file, CreateInode(store(), FileType::kRegular));
  ASSERT_OK_AND_ASSIGN(Inode extra, MakeInode(store(), FileType::kRegular));

  std::unique_ptr<MetadataTxn> first = store().Begin();
  std::unique_ptr<MetadataTxn> second = store().Begin();
  ASSERT_THAT(first->GetRecord(RecordTable::kChunks, "refcount"), IsOkAndHolds("1"));
  ASSERT_THAT(second->GetRecord(RecordTable::kChunks, "refcount"), IsOkAndHolds("1"));
  first->PutRecord(RecordTable::kChunks, "refcount", "2");
  second->PutRecord(RecordTable::kChunks, "refcount", "3");
  // The loser also writes other records and inodes; none of it may land.
  second->PutRecord(RecordTable::kChunkMap, "map", "m");
  second->DeleteRecord(RecordTable::kChunks, "refcount-other");
  Inode changed = file;
  changed.size = 77;
  second->PutInode(changed);
  second->PutInode(extra);

  ASSERT_OK(first->Commit());
  EXPECT_THAT(second->Commit(), StatusIs(Errc::kConflict));

  EXPECT_THAT(ReadRecord(store(), RecordTable::kChunks, "refcount"), IsOkAndHolds("2"));
  EXPECT_THAT(ReadRecord(store(), RecordTable::kChunkMap, "map"), StatusIs(Errc::kNotFound));
  ASSERT_OK_AND_ASSIGN(Inode stored, store().GetInode(file.id));
  EXPECT_EQ(stored, file) << "a failed commit must not change or bump an inode";
  EXPECT_THAT(store().GetInode(extra.id), StatusIs(Errc::kNotFound));
}

TEST_P(MetadataStoreConformance, RecordReadConflictsWithACommittedChange) {
  ASSERT_OK(PutRecord(store(), RecordTable::kObjects, "object", "live"));
  std::unique_ptr<MetadataTxn> writer = store().Begin();
  std::unique_ptr<MetadataTxn> reader = store().Begin();
  ASSERT_THAT(writer->GetRecord(RecordTable::kObjects, "object"), IsOkAndHolds("live"));
  ASSERT_THAT(reader->GetRecord(RecordTable::kObjects, "object"), IsOkAndHolds("live"));
  // The writer relies on the record but changes only another one.
  writer->PutRecord(RecordTable::kGcQueue, "object", "queued");
  ASSERT_OK(PutRecord(store(), RecordTable::kObjects, "object", "dead"));
  EXPECT_THAT(writer->Commit(), StatusIs(Errc::kConflict));
  EXPECT_THAT(ReadRecord(store(), RecordTable::kGcQueue, "object"), StatusIs(Errc::kNotFound));
  // A read-only transaction's stale read conflicts too.
  EXPECT_THAT(reader->Commit(), StatusIs(Errc::kConflict));
}

TEST_P(MetadataStoreConformance, ReadOfAnAbsentRecordConflictsWithItsCreation) {
  std::unique_ptr<MetadataTxn> txn = store().Begin();
  ASSERT_THAT(txn->GetRecord(RecordTable::kChunks, "chunk"), StatusIs(Errc::kNotFound));
  ASSERT_OK(PutRecord(store(), RecordTable::kChunks, "chunk", "theirs"));
  txn->PutRecord(RecordTable::kChunks, "chunk", "mine");
  EXPECT_THAT(txn->Commit(), StatusIs(Errc::kConflict));
  EXPECT_THAT(ReadRecord(store(), RecordTable::kChunks, "chunk"), IsOkAndHolds("theirs"));
}

TEST_P(MetadataStoreConformance, RecordDeletedAndRecreatedSinceTheReadConflicts) {
  ASSERT_OK(PutRecord(store(), RecordTable::kChunks, "chunk", "same"));
  std::unique_ptr<MetadataTxn> txn = store().Begin();
  ASSERT_THAT(txn->GetRecord(RecordTable::kChunks, "chunk"), IsOkAndHolds("same"));
  // Back to the very value the transaction read: it still changed in between.
  ASSERT_OK(DeleteRecord(store(), RecordTable::kChunks, "chunk"));
  ASSERT_OK(PutRecord(store(), RecordTable::kChunks, "chunk", "same"));
  txn->PutRecord(RecordTable::kChunkMap, "elsewhere", "x");
  EXPECT_THAT(txn->Commit(), StatusIs(Errc::kConflict));
  EXPECT_THAT(ReadRecord(store(), RecordTable::kChunkMap, "elsewhere"), StatusIs(Errc::kNotFound));
}

TEST_P(MetadataStoreConformance, BlindRecordWriteConflictsWithALaterCommit) {
  ASSERT_OK(PutRecord(store(), RecordTable::kChunks, "chunk", "0"));
  std::unique_ptr<MetadataTxn> txn = store().Begin();
  txn->DeleteRecord(RecordTable::kChunks, "chunk");  // never read: the write itself counts
  ASSERT_OK(PutRecord(store(), RecordTable::kChunks, "chunk", "1"));
  EXPECT_THAT(txn->Commit(), StatusIs(Errc::kConflict));
  EXPECT_THAT(ReadRecord(store(), RecordTable::kChunks, "chunk"), IsOkAndHolds("1"));
}

TEST_P(MetadataStoreConformance, RecordsWithDifferentKeysDoNotConflict) {
  ASSERT_OK(RunTransaction(store(), [&](MetadataTxn& txn) {
    txn.PutRecord(RecordTable::kChunks, "a", "0");
    txn.PutRecord(RecordTable::kChunks, "b", "0");
    return Status::Ok();
  }));
  std::unique_ptr<MetadataTxn> first = store().Begin();
  std::unique_ptr<MetadataTxn> second = store().Begin();
  ASSERT_OK(first->GetRecord(RecordTable::kChunks, "a"));
  ASSERT_OK(second->GetRecord(RecordTable::kChunks, "b"));
  // Same key, another table: a different record.
  ASSERT_THAT(second->GetRecord(RecordTable::kObjects, "a"), StatusIs(Errc::kNotFound));
  first->PutRecord(RecordTable::kChunks, "a", "1");
  second->PutRecord(RecordTable::kChunks, "b", "2");
  second->PutRecord(RecordTable::kObjects, "a", "3");
  // A scan of the range holding both keys does not make either conflict.
  ASSERT_OK(first->ScanRecords(RecordTable::kChunks, "", "", kAll));
  ASSERT_OK(first->Commit());
  ASSERT_OK(second->Commit());
  EXPECT_THAT(Scan(store(), RecordTable::kChunks, "", ""),
              IsOkAndHolds(ElementsAre(Record{"a", "1"}, Record{"b", "2"})));
  EXPECT_THAT(ReadRecord(store(), RecordTable::kObjects, "a"), IsOkAndHolds("3"));
}

// New, unique keys (a log's): concurrent writers never conflict on them, a transaction reads
// its own, and they land with its other writes or not at all.
TEST_P(MetadataStoreConformance, NewRecordsLandWithTheirCommitAndNeverConflict) {
  ASSERT_OK_AND_ASSIGN(Inode file, CreateInode(store(), FileType::kRegular));
  std::unique_ptr<MetadataTxn> first = store().Begin();
  std::unique_ptr<MetadataTxn> second = store().Begin();
  first->PutNewRecord(RecordTable::kQuota, "d1", "one");
  second->PutNewRecord(RecordTable::kQuota, "d2", "two");
  EXPECT_THAT(first->GetRecord(RecordTable::kQuota, "d1"), IsOkAndHolds("one"));
  EXPECT_THAT(second->GetRecord(RecordTable::kQuota, "d1"), StatusIs(Errc::kNotFound));
  ASSERT_OK(second->Commit());
  ASSERT_OK(first->Commit());
  EXPECT_THAT(Scan(store(), RecordTable::kQuota, "d", "e"),
              IsOkAndHolds(ElementsAre(Record{"d1", "one"}, Record{"d2", "two"})));

  // A transaction that loses on an inode leaves its new record out too.
  std::unique_ptr<MetadataTxn> loser = store().Begin();
  ASSERT_OK_AND_ASSIGN(Inode read, loser->GetInode(file.id));
  read.size = 5;
  loser->PutInode(read);
  loser->PutNewRecord(RecordTable::kQuota, "d3", "three");
  ASSERT_OK(RunTransaction(store(), [&](MetadataTxn& txn) -> Status {
    ASSIGN_OR_RETURN(Inode inode, txn.GetInode(file.id));
    inode.size = 9;
    txn.PutInode(inode);
    return Status::Ok();
  }));
  EXPECT_THAT(loser->Commit(), StatusIs(Errc::kConflict));
  EXPECT_THAT(ReadRecord(store(), RecordTable::kQuota, "d3"), StatusIs(Errc::kNotFound));
}

// Ids handed out and never used stay unique, and each one's first use sees no inode.
TEST_P(MetadataStoreConformance, AllocatedIdsStartAbsentAndConflictWithTheirCreation) {
  ASSERT_OK_AND_ASSIGN(InodeId unused, store().AllocateInodeId());
  ASSERT_OK_AND_ASSIGN(InodeId id, store().AllocateInodeId());
  EXPECT_NE(unused, id);
  std::unique_ptr<MetadataTxn> txn = store().Begin();
  EXPECT_THAT(txn->GetInode(id), StatusIs(Errc::kNotFound));
  // Someone else creates it first (an id given out twice would do this): the read conflicts.
  ASSERT_OK(RunTransaction(store(), [&](MetadataTxn& other) -> Status {
    Inode inode;
    inode.id = id;
    inode.type = FileType::kRegular;
    other.PutInode(inode);
    return Status::Ok();
  }));
  Inode mine;
  mine.id = id;
  mine.type = FileType::kDirectory;
  txn->PutInode(mine);
  EXPECT_THAT(txn->Commit(), StatusIs(Errc::kConflict));
  ASSERT_OK_AND_ASSIGN(Inode stored, store().GetInode(id));
  EXPECT_EQ(stored.type, FileType::kRegular);
}

TEST_P(MetadataStoreConformance, RecordAndInodeWritesCommitAtomically) {
  ASSERT_OK_AND_ASSIGN(Inode file, CreateInode(store(), FileType::kRegular));
  // Both land together.
  ASSERT_OK(RunTransaction(store(), [&](MetadataTxn& txn) -> Status {
    ASSIGN_OR_RETURN(Inode inode, txn.GetInode(file.id));
    inode.size = 100;
    txn.PutInode(inode);
    txn.PutRecord(RecordTable::kChunkMap, "file", "extent 0..100");
    return Status::Ok();
  }));
  ASSERT_OK_AND_ASSIGN(Inode stored, store().GetInode(file.id));
  EXPECT_EQ(stored.size, 100u);
  EXPECT_THAT(ReadRecord(store(), RecordTable::kChunkMap, "file"), IsOkAndHolds("extent 0..100"));

  // A conflict on the inode side applies no record write.
  std::unique_ptr<MetadataTxn> txn = store().Begin();
  ASSERT_OK_AND_ASSIGN(Inode mine, txn->GetInode(file.id));
  mine.size = 200;
  txn->PutInode(mine);
  txn->PutRecord(RecordTable::kChunkMap, "file", "extent 0..200");
  txn->PutRecord(RecordTable::kChunks, "new chunk", "refcount 1");
  ASSERT_OK(RunTransaction(store(), [&](MetadataTxn& other) -> Status {
    ASSIGN_OR_RETURN(Inode inode, other.GetInode(file.id));
    inode.mode = 0600;
    other.PutInode(inode);
    return Status::Ok();
  }));
  EXPECT_THAT(txn->Commit(), StatusIs(Errc::kConflict));
  EXPECT_THAT(ReadRecord(store(), RecordTable::kChunkMap, "file"), IsOkAndHolds("extent 0..100"));
  EXPECT_THAT(ReadRecord(store(), RecordTable::kChunks, "new chunk"), StatusIs(Errc::kNotFound));
  ASSERT_OK_AND_ASSIGN(stored, store().GetInode(file.id));
  EXPECT_EQ(stored.size, 100u);
  EXPECT_EQ(stored.mode, 0600u);
}

TEST_P(MetadataStoreConformance, LazyCommitWithRecordsIsVisibleAndSyncSucceeds) {
  ASSERT_OK_AND_ASSIGN(Inode file, CreateInode(store(), FileType::kRegular));
  ASSERT_OK(RunTransaction(
      store(),
      [&](MetadataTxn& txn) -> Status {
        ASSIGN_OR_RETURN(Inode inode, txn.GetInode(file.id));
        inode.size = 4096;
        txn.PutInode(inode);
        txn.PutRecord(RecordTable::kChunkMap, "file", "lazy");
        txn.DeleteRecord(RecordTable::kChunkMap, "absent");
        return Status::Ok();
      },
      Durability::kLazy));
  EXPECT_THAT(ReadRecord(store(), RecordTable::kChunkMap, "file"), IsOkAndHolds("lazy"));
  ASSERT_OK_AND_ASSIGN(Inode stored, store().GetInode(file.id));
  EXPECT_EQ(stored.size, 4096u);
  EXPECT_OK(store().Sync());
  EXPECT_THAT(ReadRecord(store(), RecordTable::kChunkMap, "file"), IsOkAndHolds("lazy"));
}

// ---- Concurrency ----

TEST_P(MetadataStoreConformance, RunTransactionRetriesUnderContention) {
  ASSERT_OK_AND_ASSIGN(Inode counter, CreateInode(store(), FileType::kRegular));
  constexpr int kThreads = 8;
  constexpr int kIncrements = 500;
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < kIncrements; ++i) {
        Status s = RunTransaction(store(), [&](MetadataTxn& txn) -> Status {
          ASSIGN_OR_RETURN(Inode inode, txn.GetInode(counter.id));
          ++inode.size;
          txn.PutInode(inode);
          return Status::Ok();
        });
        if (!s.ok()) failures.fetch_add(1);
      }
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(failures.load(), 0);
  ASSERT_OK_AND_ASSIGN(Inode done, store().GetInode(counter.id));
  EXPECT_EQ(done.size, uint64_t{kThreads * kIncrements});
}

TEST_P(MetadataStoreConformance, ConcurrentTransfersBetweenInodesKeepTheTotal) {
  // Each transaction moves one unit between two of a few inodes, touched in varying order, so
  // commits lock overlapping sets of objects; any lost or torn update breaks the total.
  constexpr int kInodes = 8;
  constexpr int kThreads = 4;
  constexpr int kTransfers = 300;
  constexpr uint64_t kStart = 1000;
  std::vector<InodeId> ids;
  for (int i = 0; i < kInodes; ++i) {
    ASSERT_OK_AND_ASSIGN(Inode inode, MakeInode(store(), FileType::kRegular));
    inode.size = kStart;
    ASSERT_OK(RunTransaction(store(), [&](MetadataTxn& txn) {
      txn.PutInode(inode);
      return Status::Ok();
    }));
    ids.push_back(inode.id);
  }
  std::atomic<int> failures{0};
  std::atomic<bool> writers_done{false};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kTransfers; ++i) {
        InodeId from = ids[(t + i) % kInodes];
        InodeId to = ids[(3 * t + 5 * i + 1) % kInodes];
        if (from == to) continue;
        Status s = RunTransaction(store(), [&](MetadataTxn& txn) -> Status {
          ASSIGN_OR_RETURN(Inode a, txn.GetInode(from));
          ASSIGN_OR_RETURN(Inode b, txn.GetInode(to));
          --a.size;
          ++b.size;
          txn.PutInode(a);
          txn.PutInode(b);
          return Status::Ok();
        });
        if (!s.ok()) failures.fetch_add(1);
      }
    });
  }
  // A reader whose snapshot commits must have seen a consistent total.
  std::thread auditor([&] {
    while (!writers_done.load()) {
      std::unique_ptr<MetadataTxn> txn = store().Begin();
      uint64_t total = 0;
      bool read_all = true;
      for (InodeId id : ids) {
        Result<Inode> inode = txn->GetInode(id);
        read_all = read_all && inode.ok();
        if (inode.ok()) total += inode->size;
      }
      if (read_all && txn->Commit().ok() && total != kStart * kInodes) failures.fetch_add(1);
    }
  });
  for (std::thread& t : threads) t.join();
  writers_done.store(true);
  auditor.join();
  EXPECT_EQ(failures.load(), 0);
  uint64_t total = 0;
  for (InodeId id : ids) {
    ASSERT_OK_AND_ASSIGN(Inode inode, store().GetInode(id));
    total += inode.size;
  }
  EXPECT_EQ(total, kStart * kInodes);
}

TEST_P(MetadataStoreConformance, ConcurrentRecordAndInodeCountersStayInStep) {
  // Each transaction bumps a record counter and, every other time, an inode's size too, so
  // commits take the inode and record sides together in varying combinations; a scanner runs
  // alongside. A lost or torn update breaks the counts.
  ASSERT_OK_AND_ASSIGN(Inode file, CreateInode(store(), FileType::kRegular));
  ASSERT_OK(PutRecord(store(), RecordTable::kChunks, "count", "0"));
  constexpr int kThreads = 4;
  constexpr int kIncrements = 150;
  std::atomic<int> failures{0};
  std::atomic<bool> writers_done{false};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kIncrements; ++i) {
        const bool with_inode = (t + i) % 2 == 0;
        Status s = RunTransaction(store(), [&](MetadataTxn& txn) -> Status {
          ASSIGN_OR_RETURN(std::string count, txn.GetRecord(RecordTable::kChunks, "count"));
          txn.PutRecord(RecordTable::kChunks, "count", std::to_string(std::stoi(count) + 1));
          txn.PutRecord(RecordTable::kChunkMap, std::to_string(t), std::to_string(i));
          if (with_inode) {
            ASSIGN_OR_RETURN(Inode inode, txn.GetInode(file.id));
            ++inode.size;
            txn.PutInode(inode);
          }
          return Status::Ok();
        });
        if (!s.ok()) failures.fetch_add(1);
      }
    });
  }
  std::thread scanner([&] {
    while (!writers_done.load()) {
      std::unique_ptr<MetadataTxn> txn = store().Begin();
      Result<std::vector<Record>> records = txn->ScanRecords(RecordTable::kChunkMap, "", "", kAll);
      if (!records.ok() || records->size() > kThreads) failures.fetch_add(1);
    }
  });
  for (std::thread& t : threads) t.join();
  writers_done.store(true);
  scanner.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_THAT(ReadRecord(store(), RecordTable::kChunks, "count"),
              IsOkAndHolds(std::to_string(kThreads * kIncrements)));
  ASSERT_OK_AND_ASSIGN(Inode stored, store().GetInode(file.id));
  EXPECT_EQ(stored.size, uint64_t{kThreads * kIncrements / 2});
}

}  // namespace
}  // namespace dittofs::stores

// SPDX-License-Identifier: Apache-2.0
#include "stores/metadata/rocksdb/rocksdb_metadata_store.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <rocksdb/db.h>
#include <rocksdb/merge_operator.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <limits>
#include <memory>
#include <set>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "base/check.h"
#include "stores/metadata/conformance.h"
#include "testing/scratch_dir.h"
#include "testing/status_matchers.h"

namespace dittofs::stores {
namespace {

using ::dittofs::testing::ScratchDir;
using ::dittofs::testing::StatusIs;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

// Owns a store and its temporary directory, so the conformance suite (which only destroys the
// store) leaves nothing behind: the store closes first, then the directory goes.
class ScratchDirStore final : public MetadataStore {
 public:
  ScratchDirStore(std::unique_ptr<ScratchDir> dir, std::unique_ptr<MetadataStore> store)
      : dir_(std::move(dir)), store_(std::move(store)) {}

  std::unique_ptr<MetadataTxn> Begin() override { return store_->Begin(); }
  Result<Inode> GetInode(InodeId id) override { return store_->GetInode(id); }
  Result<InodeId> AllocateInodeId() override { return store_->AllocateInodeId(); }
  uint32_t NextGeneration(InodeId id) override { return store_->NextGeneration(id); }
  InodeId root() const override { return store_->root(); }
  Status SetRoot(InodeId id) override { return store_->SetRoot(id); }
  StoreStats Stats() override { return store_->Stats(); }

 private:
  std::unique_ptr<ScratchDir> dir_;  // declared first: destroyed after the store closes
  std::unique_ptr<MetadataStore> store_;
};

std::unique_ptr<MetadataStore> NewTempRocksDbStore() {
  auto dir = std::make_unique<ScratchDir>("dfs-rocksdb-metadata");
  RocksDbMetadataStoreOptions options;
  options.path = dir->path() + "/db";
  Result<std::unique_ptr<MetadataStore>> store = OpenRocksDbMetadataStore(options);
  if (!store.ok()) {
    ADD_FAILURE() << store.status().ToString();
    return nullptr;
  }
  return std::make_unique<ScratchDirStore>(std::move(dir), std::move(*store));
}

INSTANTIATE_TEST_SUITE_P(RocksDb, MetadataStoreConformance,
                         ::testing::Values(MetadataStoreFactory{"RocksDb", NewTempRocksDbStore}),
                         MetadataStoreFactoryName);

// ---- RocksDB-specific behaviour: reopening, format versions, locking ----

// The merge operator docs/formats/rocksdb-metadata.md specifies for Minode_count (le64 operands
// added, wrapping), for tests that open the database themselves and write to it.
class AddLe64Operands final : public rocksdb::AssociativeMergeOperator {
 public:
  bool Merge(const rocksdb::Slice&, const rocksdb::Slice* existing, const rocksdb::Slice& value,
             std::string* new_value, rocksdb::Logger*) const override {
    auto le64 = [](const rocksdb::Slice& s) {
      uint64_t v = 0;
      for (size_t i = s.size(); i > 0; --i) v = (v << 8) | static_cast<uint8_t>(s[i - 1]);
      return v;
    };
    if (value.size() != 8 || (existing != nullptr && existing->size() != 8)) return false;
    uint64_t sum = (existing == nullptr ? 0 : le64(*existing)) + le64(value);
    new_value->clear();
    for (int i = 0; i < 8; ++i) new_value->push_back(static_cast<char>(sum >> (8 * i)));
    return true;
  }
  const char* Name() const override { return "dittofs.UInt64Add"; }
};

class RocksDbMetadataStoreTest : public ::testing::Test {
 protected:
  std::string path() const { return dir_.path() + "/db"; }

  Result<std::unique_ptr<MetadataStore>> Open() {
    RocksDbMetadataStoreOptions options;
    options.path = path();
    return OpenRocksDbMetadataStore(options);
  }

  // Writes `key` = `value` straight into the database, as another program (or version) would.
  void PutRaw(const std::string& key, const std::string& value) {
    rocksdb::Options options;
    options.create_if_missing = true;
    options.merge_operator = std::make_shared<AddLe64Operands>();
    rocksdb::DB* raw = nullptr;
    ASSERT_TRUE(rocksdb::DB::Open(options, path(), &raw).ok());
    std::unique_ptr<rocksdb::DB> db(raw);
    ASSERT_TRUE(db->Put(rocksdb::WriteOptions(), key, value).ok());
  }

  // The value of `key` straight from the database (closed), or "<status>".
  std::string GetRaw(const std::string& key);

 private:
  ScratchDir dir_{"dfs-rocksdb-metadata"};
};

Status PutInode(MetadataStore& store, const Inode& inode) {
  return RunTransaction(store, [&](MetadataTxn& txn) {
    txn.PutInode(inode);
    return Status::Ok();
  });
}

Result<Inode> NewInode(MetadataStore& store, FileType type) {
  ASSIGN_OR_RETURN(InodeId id, store.AllocateInodeId());
  Inode inode;
  inode.id = id;
  inode.generation = store.NextGeneration(id);
  inode.type = type;
  inode.mode = 0755;
  inode.next_cookie = type == FileType::kDirectory ? 1 : 0;
  return inode;
}

// Bytes from hex digits; spaces are ignored.
std::string Unhex(std::string_view hex) {
  std::string out;
  int high = -1;
  for (char c : hex) {
    if (c == ' ') continue;
    int digit = c <= '9' ? c - '0' : c - 'a' + 10;
    if (high < 0) {
      high = digit;
    } else {
      out.push_back(static_cast<char>(high * 16 + digit));
      high = -1;
    }
  }
  return out;
}

class KeepLastOperand final : public rocksdb::AssociativeMergeOperator {
 public:
  bool Merge(const rocksdb::Slice&, const rocksdb::Slice*, const rocksdb::Slice& value,
             std::string* new_value, rocksdb::Logger*) const override {
    *new_value = value.ToString();
    return true;
  }
  const char* Name() const override { return "KeepLastOperand"; }
};

std::string RocksDbMetadataStoreTest::GetRaw(const std::string& key) {
  rocksdb::Options options;
  options.merge_operator = std::make_shared<AddLe64Operands>();
  rocksdb::DB* raw = nullptr;
  rocksdb::Status s = rocksdb::DB::OpenForReadOnly(options, path(), &raw);
  if (!s.ok()) return "<" + s.ToString() + ">";
  std::unique_ptr<rocksdb::DB> db(raw);
  std::string value;
  s = db->Get(rocksdb::ReadOptions(), key, &value);
  return s.ok() ? value : "<" + s.ToString() + ">";
}

MATCHER_P(IsOkAndHolds, expected, "") {
  if (!arg.ok()) {
    *result_listener << "status is " << arg.status().ToString();
    return false;
  }
  return *arg == expected;
}

// Golden bytes of docs/formats/rocksdb-metadata.md: a change here is a format change.
TEST_F(RocksDbMetadataStoreTest, KeysAndValuesMatchTheDocumentedFormat) {
  {
    ASSERT_OK_AND_ASSIGN(std::unique_ptr<MetadataStore> store, Open());
    ASSERT_OK_AND_ASSIGN(InodeId id, store->AllocateInodeId());
    ASSERT_EQ(id, 1u);
    Inode inode;
    inode.id = id;
    inode.generation = store->NextGeneration(id);
    ASSERT_EQ(inode.generation, 1u);
    inode.type = FileType::kSymlink;
    inode.mode = 0777;
    inode.uid = 1000;
    inode.gid = 100;
    inode.nlink = 1;
    inode.size = 1;
    inode.atime = {1, 2};
    inode.mtime = {3, 4};
    inode.ctime = {-1, 5};
    inode.create_verifier = 0x0102030405060708;
    inode.symlink_target = "t";
    inode.dos_attributes = 0x21;  // read-only, archive
    inode.acl = "A";
    ASSERT_OK(RunTransaction(*store, [&](MetadataTxn& txn) {
      txn.PutInode(inode);
      txn.PutEntry(2, {"n", 1, 3});
      txn.PutRecord(RecordTable::kChunks, std::string("k\xff", 2), std::string("v\0", 2));
      return Status::Ok();
    }));
    ASSERT_OK(store->SetRoot(1));
  }
  // Replaying the log needs a merge operator for Minode_count's operands; any will do here.
  rocksdb::Options options;
  options.merge_operator = std::make_shared<KeepLastOperand>();
  rocksdb::DB* raw = nullptr;
  ASSERT_TRUE(rocksdb::DB::OpenForReadOnly(options, path(), &raw).ok());
  std::unique_ptr<rocksdb::DB> db(raw);
  auto get = [&](const std::string& key) {
    std::string value;
    rocksdb::Status s = db->Get(rocksdb::ReadOptions(), key, &value);
    return s.ok() ? value : "<" + s.ToString() + ">";
  };
  EXPECT_EQ(get("Mformat_version"), Unhex("0200000000000000"));
  EXPECT_EQ(get("Mroot"), Unhex("0100000000000000"));
  EXPECT_EQ(get("Mnext_inode_id"), Unhex("0104000000000000"));  // 1 + 1024
  EXPECT_EQ(get("Mnext_generation"), Unhex("0104000000000000"));
  EXPECT_EQ(get(Unhex("49 0000000000000001")),
            Unhex("02"                          // encoding
                  "01000000"                    // generation
                  "05"                          // type: symlink
                  "ff010000"                    // mode 0777
                  "e8030000 64000000 01000000"  // uid, gid, nlink
                  "0100000000000000"            // size
                  "0100000000000000 02000000"   // atime
                  "0300000000000000 04000000"   // mtime
                  "ffffffffffffffff 05000000"   // ctime
                  "0000000000000000 00000000"   // btime
                  "00000000 00000000"           // rdev
                  "0807060504030201"            // create_verifier
                  "0000000000000000"            // parent
                  "0000000000000000"            // next_cookie
                  "0100000000000000"            // version: set by the store
                  "21000000"                    // DOS attributes
                  "01000000 74"                 // symlink target "t"
                  "01000000 41"));              // ACL "A"
  EXPECT_EQ(get(Unhex("45 0000000000000002 6e")), Unhex("01 0100000000000000 0300000000000000"));
  EXPECT_EQ(get(Unhex("43 0000000000000002 0000000000000003")), Unhex("01 0100000000000000 6e"));
  // 'F': the directory, the folded name's size and bytes, the name; the entry's value.
  EXPECT_EQ(get(Unhex("46 0000000000000002 00000001 6e 6e")),
            Unhex("01 0100000000000000 0300000000000000"));
  // Entry changes of a directory without an inode leave a tombstone for conflict detection.
  EXPECT_EQ(get(Unhex("49 0000000000000002")), "<NotFound: >");
  // Records: 'R', the table, the key; the value as given.
  EXPECT_EQ(get(Unhex("52 02 6bff")), Unhex("7600"));
}

// An inode in encoding 1, as format version 1 stored it (the golden bytes of that format).
const std::string kEncoding1Inode = Unhex(
    "01"                          // encoding
    "07000000"                    // generation
    "01"                          // type: regular
    "a4010000"                    // mode 0644
    "e8030000 64000000 02000000"  // uid, gid, nlink
    "0010000000000000"            // size 4096
    "0100000000000000 02000000"   // atime
    "0300000000000000 04000000"   // mtime
    "ffffffffffffffff 05000000"   // ctime
    "0600000000000000 07000000"   // btime
    "00000000 00000000"           // rdev
    "0807060504030201"            // create_verifier
    "0000000000000000"            // parent
    "0000000000000000"            // next_cookie
    "2a00000000000000"            // version 42
    "00000000");                  // no symlink target

// A store of format version 1 opens: its inodes (encoding 1) read as they were, the store is
// marked version 2, and an inode rewritten is in encoding 2 and keeps counting from its version.
TEST_F(RocksDbMetadataStoreTest, Encoding2StoreReadsEncoding1Inodes) {
  { ASSERT_OK(Open()); }
  PutRaw("Mformat_version", Unhex("0100000000000000"));
  PutRaw(Unhex("49 0000000000000005"), kEncoding1Inode);
  Inode expected;
  expected.id = 5;
  expected.generation = 7;
  expected.type = FileType::kRegular;
  expected.mode = 0644;
  expected.uid = 1000;
  expected.gid = 100;
  expected.nlink = 2;
  expected.size = 4096;
  expected.atime = {1, 2};
  expected.mtime = {3, 4};
  expected.ctime = {-1, 5};
  expected.btime = {6, 7};
  expected.create_verifier = 0x0102030405060708;
  expected.version = 42;
  {
    ASSERT_OK_AND_ASSIGN(std::unique_ptr<MetadataStore> store, Open());
    ASSERT_OK_AND_ASSIGN(Inode inode, store->GetInode(5));
    EXPECT_EQ(inode, expected);
    std::unique_ptr<MetadataTxn> txn = store->Begin();
    ASSERT_OK_AND_ASSIGN(Inode in_txn, txn->GetInode(5));
    EXPECT_EQ(in_txn, expected);
    // An access time alone: rewritten (in encoding 2), not counted.
    inode.atime = {100, 0};
    ASSERT_OK(RunTransaction(*store, [&](MetadataTxn& txn) {
      txn.PutInode(inode, Counted::kNo);
      return Status::Ok();
    }));
    ASSERT_OK_AND_ASSIGN(Inode after, store->GetInode(5));
    EXPECT_EQ(after.version, 42u);
    inode.dos_attributes = 0x2;
    inode.acl = std::string(kMaxAclSize, 'x');
    ASSERT_OK(PutInode(*store, inode));
  }
  EXPECT_EQ(GetRaw("Mformat_version"), Unhex("0200000000000000"));
  EXPECT_EQ(GetRaw(Unhex("49 0000000000000005")).substr(0, 1), Unhex("02"));
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<MetadataStore> store, Open());
  ASSERT_OK_AND_ASSIGN(Inode again, store->GetInode(5));
  expected.atime = {100, 0};
  expected.version = 43;
  expected.dos_attributes = 0x2;
  expected.acl = std::string(kMaxAclSize, 'x');
  EXPECT_EQ(again, expected);
}

// Encoding 2 ends in extension fields (tag, length, bytes) that a reader skips when it does not
// know them; truncated ones, or an ACL over the limit, make the inode corrupt.
TEST_F(RocksDbMetadataStoreTest, Encoding2SkipsUnknownExtensionsAndRefusesCorruption) {
  Inode inode;
  {
    ASSERT_OK_AND_ASSIGN(std::unique_ptr<MetadataStore> store, Open());
    ASSERT_OK_AND_ASSIGN(inode, NewInode(*store, FileType::kRegular));
    inode.acl = "acl";
    ASSERT_OK(PutInode(*store, inode));
    ASSERT_OK_AND_ASSIGN(inode, store->GetInode(inode.id));
  }
  std::string key = Unhex("49");
  for (int shift = 56; shift >= 0; shift -= 8) key.push_back(static_cast<char>(inode.id >> shift));
  const std::string stored = GetRaw(key);
  ASSERT_EQ(stored.substr(0, 1), Unhex("02"));
  PutRaw(key, stored + Unhex("ee 03000000 616263") + Unhex("01 00000000"));
  {
    ASSERT_OK_AND_ASSIGN(std::unique_ptr<MetadataStore> store, Open());
    EXPECT_THAT(store->GetInode(inode.id), IsOkAndHolds(inode));
  }
  PutRaw(key, stored + Unhex("ee 03000000 6162"));  // one byte short
  {
    ASSERT_OK_AND_ASSIGN(std::unique_ptr<MetadataStore> store, Open());
    EXPECT_THAT(store->GetInode(inode.id), StatusIs(Errc::kIo));
  }
  // The ACL's length is the last 4 bytes before the ACL's 3: make it one over the limit.
  std::string too_big = stored.substr(0, stored.size() - 7) + Unhex("01000100") + "acl";
  PutRaw(key, too_big);
  {
    ASSERT_OK_AND_ASSIGN(std::unique_ptr<MetadataStore> store, Open());
    EXPECT_THAT(store->GetInode(inode.id), StatusIs(Errc::kIo));
  }
  PutRaw(key, Unhex("03") + stored.substr(1));  // an encoding from the future
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<MetadataStore> store, Open());
  EXPECT_THAT(store->GetInode(inode.id), StatusIs(Errc::kIo));
}

// Issue 11: the store's directory and files are private like the rest of the state dir, and a
// store made before (with the umask's modes) is tightened when it opens.
TEST_F(RocksDbMetadataStoreTest, DirectoryAndFilesArePrivate) {
  auto mode_of = [](const std::string& path) {
    struct stat st;
    return stat(path.c_str(), &st) == 0 ? st.st_mode & 07777 : 0u;
  };
  const std::string parent = path() + "-private";
  const std::string dir = parent + "/metadata";
  RocksDbMetadataStoreOptions options;
  options.path = dir;
  { ASSERT_OK_AND_ASSIGN(auto store, OpenRocksDbMetadataStore(options)); }
  // What an older server left: world-readable files in a world-readable directory.
  ASSERT_EQ(chmod(dir.c_str(), 0755), 0);
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    ASSERT_EQ(chmod(entry.path().c_str(), 0644), 0);
  }
  ASSERT_OK_AND_ASSIGN(auto store, OpenRocksDbMetadataStore(options));
  EXPECT_EQ(mode_of(parent), 0700u);
  EXPECT_EQ(mode_of(dir), 0700u);
  size_t files = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    if (!entry.is_regular_file()) continue;
    ++files;
    EXPECT_EQ(mode_of(entry.path().string()), 0600u) << entry.path();
  }
  EXPECT_GT(files, 2u);
}

TEST_F(RocksDbMetadataStoreTest, ReopenKeepsRootInodesEntriesAndCookies) {
  Inode dir, file;
  DirEntry a, b;
  {
    ASSERT_OK_AND_ASSIGN(std::unique_ptr<MetadataStore> store, Open());
    ASSERT_OK_AND_ASSIGN(dir, NewInode(*store, FileType::kDirectory));
    ASSERT_OK_AND_ASSIGN(file, NewInode(*store, FileType::kSymlink));
    file.symlink_target = "elsewhere";
    file.mtime = {1'700'000'000, 5};
    a = DirEntry{"a", file.id, 7};
    b = DirEntry{"b", file.id, 3};
    ASSERT_OK(RunTransaction(*store, [&](MetadataTxn& txn) {
      txn.PutInode(dir);
      txn.PutInode(file);
      txn.PutEntry(dir.id, a);
      txn.PutEntry(dir.id, b);
      return Status::Ok();
    }));
    ASSERT_OK(store->SetRoot(dir.id));
    ASSERT_OK_AND_ASSIGN(dir, store->GetInode(dir.id));
    ASSERT_OK_AND_ASSIGN(file, store->GetInode(file.id));
  }
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<MetadataStore> store, Open());
  EXPECT_EQ(store->root(), dir.id);
  ASSERT_OK_AND_ASSIGN(Inode dir_again, store->GetInode(dir.id));
  EXPECT_EQ(dir_again, dir);
  ASSERT_OK_AND_ASSIGN(Inode file_again, store->GetInode(file.id));
  EXPECT_EQ(file_again, file);
  std::unique_ptr<MetadataTxn> txn = store->Begin();
  ASSERT_OK_AND_ASSIGN(DirEntry found, txn->Lookup(dir.id, "a"));
  EXPECT_EQ(found, a);
  ASSERT_OK_AND_ASSIGN(std::vector<DirEntry> all,
                       txn->List(dir.id, 0, std::numeric_limits<size_t>::max()));
  EXPECT_THAT(all, ElementsAre(b, a));
  // Versions keep growing across the reopen.
  ASSERT_OK(PutInode(*store, dir_again));
  ASSERT_OK_AND_ASSIGN(Inode bumped, store->GetInode(dir.id));
  EXPECT_GT(bumped.version, dir.version);
}

TEST_F(RocksDbMetadataStoreTest, ReopenKeepsRecords) {
  const std::string binary_key("\0\x80\xff", 3);
  {
    ASSERT_OK_AND_ASSIGN(std::unique_ptr<MetadataStore> store, Open());
    ASSERT_OK(RunTransaction(*store, [&](MetadataTxn& txn) {
      txn.PutRecord(RecordTable::kChunkMap, "file", "extents");
      txn.PutRecord(RecordTable::kChunks, binary_key, "chunk");
      txn.PutRecord(RecordTable::kChunks, "gone", "soon");
      return Status::Ok();
    }));
    ASSERT_OK(RunTransaction(*store, [&](MetadataTxn& txn) {
      txn.DeleteRecord(RecordTable::kChunks, "gone");
      return Status::Ok();
    }));
    // A lazy commit survives a clean close too.
    ASSERT_OK(RunTransaction(
        *store,
        [&](MetadataTxn& txn) {
          txn.PutRecord(RecordTable::kGcQueue, "lazy", "queued");
          return Status::Ok();
        },
        Durability::kLazy));
  }
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<MetadataStore> store, Open());
  std::unique_ptr<MetadataTxn> txn = store->Begin();
  ASSERT_OK_AND_ASSIGN(std::string file, txn->GetRecord(RecordTable::kChunkMap, "file"));
  EXPECT_EQ(file, "extents");
  EXPECT_THAT(txn->GetRecord(RecordTable::kChunks, "gone"), StatusIs(Errc::kNotFound));
  ASSERT_OK_AND_ASSIGN(std::string lazy, txn->GetRecord(RecordTable::kGcQueue, "lazy"));
  EXPECT_EQ(lazy, "queued");
  ASSERT_OK_AND_ASSIGN(std::vector<Record> chunks,
                       txn->ScanRecords(RecordTable::kChunks, "", "", 10));
  EXPECT_THAT(chunks, ElementsAre(Record{binary_key, "chunk"}));
  // And conflict detection keeps working on them.
  std::unique_ptr<MetadataTxn> other = store->Begin();
  ASSERT_OK(other->GetRecord(RecordTable::kChunkMap, "file"));
  txn->PutRecord(RecordTable::kChunkMap, "file", "mine");
  other->PutRecord(RecordTable::kChunkMap, "file", "theirs");
  ASSERT_OK(other->Commit());
  EXPECT_THAT(txn->Commit(), StatusIs(Errc::kConflict));
}

TEST_F(RocksDbMetadataStoreTest, CommitSurvivesKillDashNine) {
  pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    // No destructor runs: the process dies right after the commit returned.
    Result<std::unique_ptr<MetadataStore>> store = Open();
    if (!store.ok()) _exit(1);
    Inode inode;
    inode.id = 77;
    inode.size = 4242;
    if (!PutInode(**store, inode).ok() || !(*store)->SetRoot(77).ok()) _exit(2);
    raise(SIGKILL);
    _exit(3);
  }
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL) << "child status " << status;
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<MetadataStore> store, Open());
  EXPECT_EQ(store->root(), 77u);
  ASSERT_OK_AND_ASSIGN(Inode inode, store->GetInode(77));
  EXPECT_EQ(inode.size, 4242u);
}

// The change counter never goes back across a kill: a child commits changes (durable and lazy,
// counted and access-time-only) and reports each committed version through a pipe until it is
// killed mid-stream; the reopened store's counter is at least every version reported, and
// counts on from there.
TEST_F(RocksDbMetadataStoreTest, ChangeCounterNeverGoesBackAcrossSigkill) {
  InodeId id = kInvalidInode;
  {
    ASSERT_OK_AND_ASSIGN(std::unique_ptr<MetadataStore> store, Open());
    ASSERT_OK_AND_ASSIGN(Inode inode, NewInode(*store, FileType::kRegular));
    ASSERT_OK(PutInode(*store, inode));
    id = inode.id;
  }
  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    close(fds[0]);
    Result<std::unique_ptr<MetadataStore>> store = Open();
    if (!store.ok()) _exit(1);
    for (uint64_t i = 0;; ++i) {
      const Counted counted = i % 3 == 2 ? Counted::kNo : Counted::kYes;
      Status s = RunTransaction(
          **store,
          [&](MetadataTxn& txn) -> Status {
            ASSIGN_OR_RETURN(Inode inode, txn.GetInode(id));
            inode.size = i;
            inode.atime = {static_cast<int64_t>(i), 0};
            txn.PutInode(inode, counted);
            return Status::Ok();
          },
          i % 2 == 0 ? Durability::kLazy : Durability::kDurable);
      if (!s.ok()) _exit(2);
      Result<Inode> now = (*store)->GetInode(id);
      if (!now.ok()) _exit(3);
      uint64_t version = now->version;
      if (write(fds[1], &version, sizeof version) != sizeof version) _exit(4);
    }
  }
  close(fds[1]);
  std::vector<uint64_t> reported;
  auto read_one = [&]() {
    uint64_t version = 0;
    size_t got = 0;
    while (got < sizeof version) {
      ssize_t n = read(fds[0], reinterpret_cast<char*>(&version) + got, sizeof version - got);
      if (n <= 0) return false;
      got += static_cast<size_t>(n);
    }
    reported.push_back(version);
    return true;
  };
  while (reported.size() < 300 && read_one()) {
  }
  ASSERT_EQ(reported.size(), 300u) << "the child stopped early";
  ASSERT_EQ(kill(child, SIGKILL), 0);
  while (read_one()) {
  }
  close(fds[0]);
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL) << "child status " << status;
  // Counted commits count, access-time-only ones do not: two of every three steps count.
  for (size_t i = 1; i < reported.size(); ++i) {
    EXPECT_EQ(reported[i], reported[i - 1] + (i % 3 == 2 ? 0 : 1)) << "step " << i;
  }
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<MetadataStore> store, Open());
  ASSERT_OK_AND_ASSIGN(Inode inode, store->GetInode(id));
  EXPECT_GE(inode.version, reported.back());
  EXPECT_LE(inode.version, reported.back() + 1);  // at most one commit was not yet reported
  ASSERT_OK(PutInode(*store, inode));
  ASSERT_OK_AND_ASSIGN(Inode next, store->GetInode(id));
  // The killed run did not close the store: it may have lost commits whose versions were seen
  // (lazy ones, with the machine), so changes after it start a new epoch, above anything the
  // killed run could have given.
  EXPECT_GE(next.version, uint64_t{1} << 40);
  ASSERT_OK(PutInode(*store, next));
  ASSERT_OK_AND_ASSIGN(Inode after, store->GetInode(id));
  EXPECT_EQ(after.version, next.version + 1);
}

TEST_F(RocksDbMetadataStoreTest, AfterACleanCloseVersionsCountOnWithoutAJump) {
  InodeId id = kInvalidInode;
  uint64_t version = 0;
  {
    ASSERT_OK_AND_ASSIGN(std::unique_ptr<MetadataStore> store, Open());
    ASSERT_OK_AND_ASSIGN(Inode inode, NewInode(*store, FileType::kRegular));
    ASSERT_OK(PutInode(*store, inode));
    ASSERT_OK_AND_ASSIGN(inode, store->GetInode(inode.id));
    // A lazy commit: a clean close makes it durable like the others.
    ASSERT_OK(RunTransaction(
        *store,
        [&](MetadataTxn& txn) {
          inode.size = 7;
          txn.PutInode(inode);
          return Status::Ok();
        },
        Durability::kLazy));
    ASSERT_OK_AND_ASSIGN(inode, store->GetInode(inode.id));
    id = inode.id;
    version = inode.version;
  }
  for (int reopen = 0; reopen < 3; ++reopen) {
    ASSERT_OK_AND_ASSIGN(std::unique_ptr<MetadataStore> store, Open());
    ASSERT_OK_AND_ASSIGN(Inode inode, store->GetInode(id));
    EXPECT_EQ(inode.version, version);
    EXPECT_EQ(inode.size, 7u);
    ASSERT_OK(PutInode(*store, inode));
    ASSERT_OK_AND_ASSIGN(inode, store->GetInode(id));
    EXPECT_EQ(inode.version, version + 1) << "reopen " << reopen;
    version = inode.version;
  }
}

TEST_F(RocksDbMetadataStoreTest, ReopenNeverHandsOutAnIdOrGenerationAgain) {
  std::set<InodeId> ids;
  std::set<uint32_t> generations;
  for (int round = 0; round < 3; ++round) {
    ASSERT_OK_AND_ASSIGN(std::unique_ptr<MetadataStore> store, Open());
    for (int i = 0; i < 1500; ++i) {
      ASSERT_OK_AND_ASSIGN(InodeId id, store->AllocateInodeId());
      EXPECT_NE(id, kInvalidInode);
      EXPECT_TRUE(ids.insert(id).second) << "id " << id << " handed out twice";
      uint32_t generation = store->NextGeneration(id);
      EXPECT_NE(generation, 0u);
      EXPECT_TRUE(generations.insert(generation).second) << "generation " << generation;
    }
  }
}

TEST_F(RocksDbMetadataStoreTest, ReusedIdGetsANewGenerationAfterReopen) {
  Inode file;
  {
    ASSERT_OK_AND_ASSIGN(std::unique_ptr<MetadataStore> store, Open());
    ASSERT_OK_AND_ASSIGN(file, NewInode(*store, FileType::kRegular));
    ASSERT_OK(PutInode(*store, file));
    ASSERT_OK(RunTransaction(*store, [&](MetadataTxn& txn) {
      txn.DeleteInode(file.id);
      return Status::Ok();
    }));
  }
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<MetadataStore> store, Open());
  EXPECT_THAT(store->GetInode(file.id), StatusIs(Errc::kNotFound));
  EXPECT_NE(store->NextGeneration(file.id), file.generation);
}

TEST_F(RocksDbMetadataStoreTest, StatsCountInodesAcrossReopen) {
  uint64_t free_before = 0;
  {
    ASSERT_OK_AND_ASSIGN(std::unique_ptr<MetadataStore> store, Open());
    free_before = store->Stats().free_files;
    for (int i = 0; i < 3; ++i) {
      ASSERT_OK_AND_ASSIGN(Inode inode, NewInode(*store, FileType::kRegular));
      ASSERT_OK(PutInode(*store, inode));
      ASSERT_OK(PutInode(*store, inode));  // a rewrite adds nothing
    }
    EXPECT_EQ(store->Stats().free_files, free_before - 3);
  }
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<MetadataStore> store, Open());
  StoreStats stats = store->Stats();
  EXPECT_EQ(stats.free_files, free_before - 3);
  EXPECT_GT(stats.total_bytes, 0u);
  EXPECT_LE(stats.free_bytes, stats.total_bytes);
}

TEST_F(RocksDbMetadataStoreTest, NewerFormatVersionIsRefused) {
  { ASSERT_OK(Open()); }
  PutRaw("Mformat_version", std::string("\x07\0\0\0\0\0\0\0", 8));
  Result<std::unique_ptr<MetadataStore>> store = Open();
  EXPECT_THAT(store, StatusIs(Errc::kNotSupported));
  EXPECT_THAT(store.status().message(),
              HasSubstr("metadata store at " + path() +
                        " has format version 7; this dfs reads versions up to 2 (upgrade dfs)"));
}

// A store of format version 1 has no index of folded names: the first open builds it from
// the entries and records version 2.
TEST_F(RocksDbMetadataStoreTest, VersionOneStoresGainTheFoldedNameIndexWhenOpened) {
  {
    ASSERT_OK_AND_ASSIGN(std::unique_ptr<MetadataStore> store, Open());
    ASSERT_OK(RunTransaction(*store, [&](MetadataTxn& txn) {
      txn.PutEntry(2, {"Alpha", 10, 1});
      txn.PutEntry(2, {"ALPHA", 11, 2});
      txn.PutEntry(3, {"Ωmega", 12, 1});
      return Status::Ok();
    }));
  }
  {
    // What a version 1 build left: no 'F' keys, version 1.
    rocksdb::Options options;
    options.merge_operator = std::make_shared<KeepLastOperand>();
    rocksdb::DB* raw = nullptr;
    ASSERT_TRUE(rocksdb::DB::Open(options, path(), &raw).ok());
    std::unique_ptr<rocksdb::DB> db(raw);
    std::unique_ptr<rocksdb::Iterator> it(db->NewIterator(rocksdb::ReadOptions()));
    int removed = 0;
    for (it->Seek("F"); it->Valid() && it->key().starts_with("F"); it->Next()) {
      ASSERT_TRUE(db->Delete(rocksdb::WriteOptions(), it->key()).ok());
      ++removed;
    }
    EXPECT_EQ(removed, 3);
    ASSERT_TRUE(
        db->Put(rocksdb::WriteOptions(), "Mformat_version", Unhex("0100000000000000")).ok());
  }
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<MetadataStore> store, Open());
  std::unique_ptr<MetadataTxn> txn = store->Begin();
  ASSERT_OK_AND_ASSIGN(std::vector<DirEntry> alpha, txn->LookupFolded(2, "alpha"));
  EXPECT_THAT(alpha, ElementsAre(DirEntry{"ALPHA", 11, 2}, DirEntry{"Alpha", 10, 1}));
  ASSERT_OK_AND_ASSIGN(std::vector<DirEntry> omega, txn->LookupFolded(3, "ωMEGA"));
  EXPECT_THAT(omega, ElementsAre(DirEntry{"Ωmega", 12, 1}));
  txn.reset();
  store.reset();
  rocksdb::Options options;
  options.merge_operator = std::make_shared<KeepLastOperand>();
  rocksdb::DB* raw = nullptr;
  ASSERT_TRUE(rocksdb::DB::OpenForReadOnly(options, path(), &raw).ok());
  std::unique_ptr<rocksdb::DB> db(raw);
  std::string version;
  ASSERT_TRUE(db->Get(rocksdb::ReadOptions(), "Mformat_version", &version).ok());
  EXPECT_EQ(version, Unhex("0200000000000000"));
}

TEST_F(RocksDbMetadataStoreTest, DatabaseWithoutFormatVersionIsRefused) {
  PutRaw("some key", "some value");
  Result<std::unique_ptr<MetadataStore>> store = Open();
  EXPECT_THAT(store, StatusIs(Errc::kInvalid));
  EXPECT_THAT(store.status().message(), HasSubstr("no format version"));
}

TEST_F(RocksDbMetadataStoreTest, SecondOpenWhileOpenFailsCleanly) {
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<MetadataStore> first, Open());
  Result<std::unique_ptr<MetadataStore>> second = Open();
  EXPECT_THAT(second, StatusIs(Errc::kBusy));
  EXPECT_THAT(second.status().message(), HasSubstr("in use"));
  // The first is unharmed.
  ASSERT_OK_AND_ASSIGN(Inode inode, NewInode(*first, FileType::kRegular));
  EXPECT_OK(PutInode(*first, inode));
}

TEST_F(RocksDbMetadataStoreTest, SecondCommitOfAConcurrentChangeConflicts) {
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<MetadataStore> store, Open());
  ASSERT_OK_AND_ASSIGN(Inode dir, NewInode(*store, FileType::kDirectory));
  ASSERT_OK(PutInode(*store, dir));

  // Two creates in one directory, both taking the same next_cookie.
  std::unique_ptr<MetadataTxn> first = store->Begin();
  std::unique_ptr<MetadataTxn> second = store->Begin();
  for (auto* txn : {first.get(), second.get()}) {
    ASSERT_OK_AND_ASSIGN(Inode parent, txn->GetInode(dir.id));
    ASSERT_THAT(txn->Lookup(dir.id, txn == first.get() ? "one" : "two"), StatusIs(Errc::kNotFound));
    txn->PutEntry(dir.id, {txn == first.get() ? "one" : "two", 100, parent.next_cookie});
    ++parent.next_cookie;
    txn->PutInode(parent);
  }
  ASSERT_OK(first->Commit());
  EXPECT_THAT(second->Commit(), StatusIs(Errc::kConflict));
  std::unique_ptr<MetadataTxn> reader = store->Begin();
  EXPECT_THAT(reader->Lookup(dir.id, "two"), StatusIs(Errc::kNotFound));
  ASSERT_OK_AND_ASSIGN(Inode now, store->GetInode(dir.id));
  EXPECT_EQ(now.next_cookie, dir.next_cookie + 1);

  // The loser, retried, lands after the winner.
  ASSERT_OK(RunTransaction(*store, [&](MetadataTxn& txn) -> Status {
    ASSIGN_OR_RETURN(Inode parent, txn.GetInode(dir.id));
    txn.PutEntry(dir.id, {"two", 101, parent.next_cookie++});
    txn.PutInode(parent);
    return Status::Ok();
  }));
  std::unique_ptr<MetadataTxn> lister = store->Begin();
  ASSERT_OK_AND_ASSIGN(std::vector<DirEntry> all, lister->List(dir.id, 0, 10));
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(all[0].name, "one");
  EXPECT_EQ(all[1].name, "two");
}

TEST_F(RocksDbMetadataStoreTest, DurableCommitsSyncAndConcurrentOnesMayShareASync) {
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<MetadataStore> store, Open());
  ASSERT_OK_AND_ASSIGN(Inode dir, NewInode(*store, FileType::kDirectory));
  ASSERT_OK(PutInode(*store, dir));

  // One at a time, each durable commit that writes needs a sync of its own.
  uint64_t before = store->Stats().syncs;
  for (uint32_t mode = 0700; mode < 0705; ++mode) {
    dir.mode = mode;
    ASSERT_OK(PutInode(*store, dir));
  }
  EXPECT_EQ(store->Stats().syncs - before, 5u);
  // Lazy and read-only commits do not sync; Sync then flushes what the lazy one wrote, once.
  before = store->Stats().syncs;
  dir.mode = 0755;
  ASSERT_OK(RunTransaction(
      *store,
      [&](MetadataTxn& txn) {
        txn.PutInode(dir);
        return Status::Ok();
      },
      Durability::kLazy));
  std::unique_ptr<MetadataTxn> reader = store->Begin();
  ASSERT_OK(reader->GetInode(dir.id).status());
  ASSERT_OK(reader->Commit());
  EXPECT_EQ(store->Stats().syncs, before);
  ASSERT_OK(store->Sync());
  ASSERT_OK(store->Sync());  // nothing new to flush
  EXPECT_EQ(store->Stats().syncs - before, 1u);

  // Creates in one directory from many threads: every one commits (conflicts are retried), and
  // none takes more than one sync.
  constexpr int kThreads = 8;
  constexpr int kPerThread = 40;
  before = store->Stats().syncs;
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        std::string name = "f" + std::to_string(t) + "-" + std::to_string(i);
        if (!AddEntry(*store, dir.id, name, uint64_t(1000 + t * kPerThread + i)).ok()) {
          failures.fetch_add(1);
        }
      }
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(failures.load(), 0);
  uint64_t syncs = store->Stats().syncs - before;
  EXPECT_GE(syncs, 1u);
  EXPECT_LE(syncs, uint64_t(kThreads * kPerThread));
  std::cout << "[          ] " << kThreads * kPerThread << " concurrent durable commits took "
            << syncs << " WAL syncs\n";

  store.reset();
  ASSERT_OK_AND_ASSIGN(store, Open());
  std::unique_ptr<MetadataTxn> lister = store->Begin();
  ASSERT_OK_AND_ASSIGN(std::vector<DirEntry> all, lister->List(dir.id, 0, 1000));
  EXPECT_EQ(all.size(), size_t(kThreads * kPerThread));
}

}  // namespace
}  // namespace dittofs::stores

// SPDX-License-Identifier: Apache-2.0
#include "core/vfs.h"

#include <gtest/gtest.h>

#include <cstring>
#include <set>
#include <thread>

#include "core/test_callers.h"
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

// The memory block store, counting the calls to Sync.
class CountingBlockStore final : public stores::BlockStore {
 public:
  Status Write(uint64_t file, uint64_t offset, ByteView data) override {
    return inner_->Write(file, offset, data);
  }
  Status Read(uint64_t file, uint64_t offset, MutableByteView out) override {
    return inner_->Read(file, offset, out);
  }
  Result<stores::BlockRead> ReadRange(uint64_t file, uint64_t offset, size_t length) override {
    return inner_->ReadRange(file, offset, length);
  }
  Status Truncate(uint64_t file, uint64_t size) override {
    if (crash_before_cuts) return Status(Errc::kIo, "the server died before the cut");
    return inner_->Truncate(file, size);
  }
  Status Remove(uint64_t file) override {
    ++removes_;
    return inner_->Remove(file);
  }
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
  Status Sync(uint64_t file) override {
    ++syncs;
    return inner_->Sync(file);
  }
  Result<std::vector<DataEnd>> RecentDataEnds() override { return inner_->RecentDataEnds(); }
  uint64_t UsedBytes() override { return inner_->UsedBytes(); }
  Capacity GetCapacity() override { return inner_->GetCapacity(); }

  int syncs = 0;
  bool crash_before_cuts = false;  // Truncate fails, as if the server died before it
  size_t removes() const { return removes_; }

 private:
  size_t removes_ = 0;
  std::unique_ptr<stores::BlockStore> inner_ = stores::NewMemoryBlockStore();
};

class VfsTest : public ::testing::Test {
 protected:
  void SetUp() override { Open(ShareOptions{.squash = Squash::kNone}); }
  void Open(ShareOptions options) {
    metadata_ = stores::NewMemoryMetadataStore();
    auto blocks = std::make_unique<CountingBlockStore>();
    counting_blocks_ = blocks.get();
    blocks_ = std::move(blocks);
    auto v = Vfs::Open(1, "/export", *metadata_, *blocks_, options);
    ASSERT_TRUE(v.ok()) << v.status().ToString();
    vfs_ = std::move(v).value();
    root_ = vfs_->root();
  }
  Attr MustCreate(const Caller& c, FileId dir, const std::string& name, uint32_t mode = 0644) {
    Wcc w;
    auto a = vfs_->Create(c, dir, name, CreateMode::kGuarded, Mode(mode), 0, &w);
    EXPECT_TRUE(a.ok()) << name << ": " << a.status().ToString();
    return a.ok() ? *a : Attr{};
  }
  Attr MustMkdir(const Caller& c, FileId dir, const std::string& name, uint32_t mode = 0755) {
    Wcc w;
    auto a = vfs_->Mkdir(c, dir, name, Mode(mode), &w);
    EXPECT_TRUE(a.ok()) << name << ": " << a.status().ToString();
    return a.ok() ? *a : Attr{};
  }
  Status WriteStr(const Caller& c, FileId f, uint64_t off, std::string_view s) {
    Wcc w;
    auto r = vfs_->Write(c, f, off, AsBytes(s), Stability::kUnstable, &w);
    return r.status();
  }
  std::string ReadStr(const Caller& c, FileId f, uint64_t off, uint32_t n) {
    auto r = vfs_->Read(c, f, off, n);
    if (!r.ok()) return "ERR:" + r.status().ToString();
    std::string out;
    for (ByteView p : r->data.pieces) out.append(AsChars(p));
    return out;
  }

  Caller root_caller_ = User(0, 0);
  std::unique_ptr<stores::MetadataStore> metadata_;
  std::unique_ptr<stores::BlockStore> blocks_;
  CountingBlockStore* counting_blocks_ = nullptr;  // blocks_
  std::unique_ptr<Vfs> vfs_;
  FileId root_;
};

// SETATTR commits the new size at once, so a cut of the file's bytes must be durable on return
// too (a crash must not bring them back to show through a later extension). Growing cuts
// nothing and waits for nothing.
// --- ACLs (docs/acl.md) ---

Ace AllowAce(AceWho who, uint32_t mask, uint32_t id = 0, uint32_t flags = 0) {
  return Ace{AceType::kAllow, flags, mask, who, id};
}
Ace DenyAce(AceWho who, uint32_t mask, uint32_t id = 0, uint32_t flags = 0) {
  return Ace{AceType::kDeny, flags, mask, who, id};
}

TEST_F(VfsTest, AnAclDecidesOverTheModeForEveryOperation) {
  Caller owner = User(1000, 1000), alice = User(2000, 2000), bob = User(3000, 3000);
  Attr dir = MustMkdir(owner, root_, "shared", 0777);
  Attr f = MustCreate(owner, dir.id, "doc", 0666);
  ASSERT_TRUE(WriteStr(owner, f.id, 0, "hello").ok());
  // Bob is refused the data; everyone else reads and writes it.
  const uint32_t rw = kAceReadData | kAceWriteData | kAceAppendData;
  Acl acl{{DenyAce(AceWho::kUser, rw | kAceReadAcl, 3000),
           AllowAce(AceWho::kEveryone, rw | kAceReadAcl)}};
  ASSERT_TRUE(vfs_->SetAcl(owner, f.id, acl).ok());
  EXPECT_EQ(ReadStr(alice, f.id, 0, 5), "hello");
  EXPECT_EQ(ReadStr(bob, f.id, 0, 5).substr(0, 4), "ERR:");
  EXPECT_EQ(WriteStr(bob, f.id, 0, "x").code(), Errc::kAccess);
  EXPECT_EQ(vfs_->OpenFile(bob, f.id, kReadData, kShareAll).status().code(), Errc::kAccess);
  ASSERT_TRUE(vfs_->OpenFile(alice, f.id, kReadData | kWriteData, kShareAll).ok());
  // The mode reflects the ACL: everyone rw- (named entries do not show).
  ASSERT_TRUE(vfs_->GetAttr(owner, f.id).ok());
  EXPECT_EQ(vfs_->GetAttr(owner, f.id)->mode & 0777, 0666u);
  // The ACL reads back as set; only the owner (and READ_ACL holders) may read it.
  Result<Acl> back = vfs_->GetAcl(alice, f.id);
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(*back, acl);
  EXPECT_EQ(vfs_->GetAcl(bob, f.id).status().code(), Errc::kAccess);  // denied rw, no READ_ACL
  // Only the owner (or WRITE_ACL holders) may change it.
  EXPECT_EQ(vfs_->SetAcl(alice, f.id, Acl{}).code(), Errc::kPerm);
  // What each may open with (MAXIMUM_ALLOWED): the ACL's answer, implied bits included.
  EXPECT_EQ(**vfs_->AclAccess(alice, f.id),
            rw | kAceReadAcl | kAceReadAttributes | kAceSynchronize);
  EXPECT_EQ(**vfs_->AclAccess(bob, f.id), kAceReadAttributes | kAceSynchronize);
  EXPECT_EQ(**vfs_->AclAccess(root_caller_, f.id), kAceAllAccess);
  Attr plain = MustCreate(owner, dir.id, "plain", 0644);
  EXPECT_FALSE(vfs_->AclAccess(alice, plain.id)->has_value());
}

TEST_F(VfsTest, RemovingTakesTheDirectorysDeleteChildOrTheFilesDelete) {
  Caller owner = User(1000, 1000), alice = User(2000, 2000);
  Attr dir = MustMkdir(owner, root_, "d", 0777);
  MustCreate(owner, dir.id, "a", 0644);
  Attr b = MustCreate(owner, dir.id, "b", 0644);
  // The directory lets Alice add and search but not remove entries.
  ASSERT_TRUE(
      vfs_->SetAcl(owner, dir.id,
                   Acl{{AllowAce(AceWho::kEveryone, kAceReadData | kAceWriteData | kAceExecute)}})
          .ok());
  Wcc w;
  EXPECT_EQ(vfs_->Remove(alice, dir.id, "a", &w).code(), Errc::kAccess);
  // File b's own ACL gives her DELETE: that is enough.
  ASSERT_TRUE(
      vfs_->SetAcl(owner, b.id, Acl{{AllowAce(AceWho::kUser, kAceDelete | kAceReadData, 2000)}})
          .ok());
  EXPECT_TRUE(vfs_->Remove(alice, dir.id, "b", &w).ok());
  // She may create a file (ADD_FILE) but not a directory (no ADD_SUBDIRECTORY).
  EXPECT_TRUE(vfs_->Create(alice, dir.id, "c", CreateMode::kGuarded, Mode(0644), 0, &w).ok());
  EXPECT_EQ(vfs_->Mkdir(alice, dir.id, "sub", Mode(0755), &w).status().code(), Errc::kAccess);
  // DELETE_CHILD on the directory lets her remove anything in it.
  ASSERT_TRUE(vfs_->SetAcl(owner, dir.id,
                           Acl{{AllowAce(AceWho::kEveryone, kAceReadData | kAceWriteData |
                                                                kAceExecute | kAceDeleteChild)}})
                  .ok());
  EXPECT_TRUE(vfs_->Remove(alice, dir.id, "a", &w).ok());
}

TEST_F(VfsTest, NewFilesAndDirectoriesInheritTheParentsAcl) {
  Caller owner = User(1000, 1000), alice = User(2000, 2000), bob = User(3000, 3000);
  Attr dir = MustMkdir(owner, root_, "project", 0755);
  const uint32_t rw = kAceReadData | kAceWriteData | kAceAppendData;
  Acl acl{{AllowAce(AceWho::kOwner, kAceAllAccess, 0, kAceFileInherit | kAceDirectoryInherit),
           AllowAce(AceWho::kUser, rw | kAceExecute, 2000, kAceFileInherit | kAceDirectoryInherit),
           AllowAce(AceWho::kEveryone, kAceReadData | kAceExecute)}};
  ASSERT_TRUE(vfs_->SetAcl(owner, dir.id, acl).ok());
  // Alice creates a file with a umasked 0644: the inherited ACL still lets her and the owner
  // write it, and gives Bob (everyone, not inherited) nothing.
  Wcc w;
  Result<Attr> f = vfs_->Create(alice, dir.id, "plan", CreateMode::kGuarded, Mode(0644), 0, &w);
  ASSERT_TRUE(f.ok()) << f.status().ToString();
  ASSERT_TRUE(WriteStr(alice, f->id, 0, "v1").ok());
  Result<Acl> got = vfs_->GetAcl(alice, f->id);
  ASSERT_TRUE(got.ok());
  ASSERT_EQ(got->aces.size(), 2u);
  EXPECT_EQ(got->aces[1], AllowAce(AceWho::kUser, rw | kAceExecute, 2000, kAceInherited));
  EXPECT_EQ(ReadStr(bob, f->id, 0, 2).substr(0, 4), "ERR:");
  // The owner@ ACE now means Alice, the new file's owner: she has every bit.
  EXPECT_TRUE(vfs_->OpenFile(alice, f->id, kReadData | kWriteDac, kShareAll).ok());
  // A subdirectory passes the same ACEs on to its own files.
  Result<Attr> sub = vfs_->Mkdir(alice, dir.id, "sub", Mode(0755), &w);
  ASSERT_TRUE(sub.ok());
  // (The directory's OWNER@ ACE now means Alice: the project's owner has no say there.)
  Result<Attr> denied =
      vfs_->Create(owner, sub->id, "nope", CreateMode::kGuarded, Mode(0600), 0, &w);
  EXPECT_EQ(denied.status().code(), Errc::kAccess);
  Result<Attr> deep = vfs_->Create(alice, sub->id, "deep", CreateMode::kGuarded, Mode(0600), 0, &w);
  ASSERT_TRUE(deep.ok()) << deep.status().ToString();
  Result<Acl> deep_acl = vfs_->GetAcl(alice, deep->id);
  ASSERT_TRUE(deep_acl.ok());
  ASSERT_EQ(deep_acl->aces.size(), 2u);
  EXPECT_EQ(deep_acl->aces[1], AllowAce(AceWho::kUser, rw | kAceExecute, 2000, kAceInherited));
  EXPECT_EQ(ReadStr(bob, deep->id, 0, 1).substr(0, 4), "ERR:");
  // A directory with no inheritable ACE passes nothing on: the mode decides there.
  Attr plain = MustMkdir(owner, root_, "plain", 0755);
  Attr p = MustCreate(owner, plain.id, "p", 0600);
  EXPECT_TRUE(vfs_->GetAcl(owner, p.id)->empty());
}

// The open that creates a file gets what it asks for, whatever the ACL the file inherited
// says (as open(O_CREAT) of a 0000 file and a Windows create do); a later open is checked.
TEST_F(VfsTest, TheCreatingOpenGetsWhatItAsksFor) {
  Caller owner = User(1000, 1000), alice = User(2000, 2000);
  Attr dir = MustMkdir(owner, root_, "dropbox", 0755);
  Acl acl{{AllowAce(AceWho::kEveryone, kAceWriteData | kAceAppendData | kAceExecute),
           AllowAce(AceWho::kOwner, kAceWriteData, 0, kAceFileInherit | kAceInheritOnly)}};
  ASSERT_TRUE(vfs_->SetAcl(owner, dir.id, acl).ok());
  Wcc w;
  Result<Attr> f = vfs_->Create(alice, dir.id, "drop", CreateMode::kGuarded, Mode(0644), 0, &w);
  ASSERT_TRUE(f.ok()) << f.status().ToString();
  const uint32_t rw = kReadData | kWriteData;
  EXPECT_TRUE(vfs_->OpenFile(alice, f->id, rw, kShareAll, false, /*created=*/true).ok());
  EXPECT_EQ(vfs_->OpenFile(alice, f->id, rw, kShareAll).status().code(), Errc::kAccess);
  EXPECT_TRUE(vfs_->OpenFile(alice, f->id, kWriteData, kShareAll).ok());
}

TEST_F(VfsTest, AChmodRewritesTheAclAndSettingAModeAclDropsIt) {
  Caller owner = User(1000, 1000), alice = User(2000, 2000);
  Attr f = MustCreate(owner, root_, "f", 0644);
  const uint32_t rw = kAceReadData | kAceWriteData | kAceAppendData;
  ASSERT_TRUE(vfs_->SetAcl(owner, f.id,
                           Acl{{AllowAce(AceWho::kUser, rw, 2000), AllowAce(AceWho::kOwner, rw),
                                AllowAce(AceWho::kGroup, rw)}})
                  .ok());
  EXPECT_TRUE(WriteStr(alice, f.id, 0, "a").ok());
  // chmod 640: the group class keeps r, so Alice's named entry keeps only r (a mask).
  Wcc w;
  ASSERT_TRUE(vfs_->SetAttr(owner, f.id, Mode(0640), nullptr, &w).ok());
  EXPECT_EQ(vfs_->GetAttr(owner, f.id)->mode & 0777, 0640u);
  EXPECT_EQ(WriteStr(alice, f.id, 0, "b").code(), Errc::kAccess);
  EXPECT_EQ(ReadStr(alice, f.id, 0, 1), "a");
  // An ACL that says only what a mode says is kept as the mode: no ACL afterwards.
  ASSERT_TRUE(vfs_->SetAcl(owner, f.id, AclWithMode(Acl{}, 0600, false)).ok());
  EXPECT_TRUE(vfs_->GetAcl(owner, f.id)->empty());
  EXPECT_EQ(vfs_->GetAttr(owner, f.id)->mode & 0777, 0600u);
  // Refused ACLs change nothing.
  Acl bad{{AllowAce(AceWho::kOwner, rw, 7)}};
  EXPECT_EQ(vfs_->SetAcl(owner, f.id, bad).code(), Errc::kInvalid);
}

TEST_F(VfsTest, AclsSurviveAReopenOfTheStores) {
  Caller owner = User(1000, 1000);
  Attr f = MustCreate(owner, root_, "kept", 0644);
  Acl acl{
      {AllowAce(AceWho::kGroupId, kAceReadData, 4242), AllowAce(AceWho::kOwner, kAceAllAccess)}};
  ASSERT_TRUE(vfs_->SetAcl(owner, f.id, acl).ok());
  auto again = Vfs::Open(1, "/export", *metadata_, *blocks_, ShareOptions{.squash = Squash::kNone});
  ASSERT_TRUE(again.ok());
  Result<Acl> back = (*again)->GetAcl(owner, f.id);
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(*back, acl);
}

TEST_F(VfsTest, ShrinkingSetAttrMakesTheCutDurable) {
  Attr f = MustCreate(root_caller_, root_, "f");
  ASSERT_TRUE(WriteStr(root_caller_, f.id, 0, "0123456789").ok());
  const int before = counting_blocks_->syncs;
  SetAttrs grow;
  grow.set_size(100);
  Wcc w;
  ASSERT_TRUE(vfs_->SetAttr(root_caller_, f.id, grow, nullptr, &w).ok());
  EXPECT_EQ(counting_blocks_->syncs, before);
  SetAttrs shrink;
  shrink.set_size(4);
  ASSERT_TRUE(vfs_->SetAttr(root_caller_, f.id, shrink, nullptr, &w).ok());
  EXPECT_EQ(counting_blocks_->syncs, before + 1);
  EXPECT_EQ(ReadStr(root_caller_, f.id, 0, 10), "0123");
}

// Issue 18: a shrinking SETATTR commits the size before it cuts the data. A crash in between
// must not leave the cut bytes to show through a later extension: the next open finishes the
// cut. A finished cut leaves nothing behind.
TEST_F(VfsTest, ACutThatACrashInterruptedIsFinishedAtTheNextOpen) {
  auto pending_cuts = [&] {
    auto txn = metadata_->Begin();
    auto cuts = txn->ScanRecords(stores::RecordTable::kPendingCuts, "", "", 100);
    return cuts.ok() ? cuts->size() : size_t{1000};
  };
  Attr f = MustCreate(root_caller_, root_, "f");
  Attr g = MustCreate(root_caller_, root_, "g");
  ASSERT_OK(WriteStr(root_caller_, f.id, 0, std::string(8192, 'a')));
  ASSERT_OK(WriteStr(root_caller_, g.id, 0, std::string(8192, 'b')));
  SetAttrs shrink;
  shrink.set_size(100);
  Wcc w;
  ASSERT_OK(vfs_->SetAttr(root_caller_, g.id, shrink, nullptr, &w));
  EXPECT_EQ(pending_cuts(), 0u) << "a finished cut is forgotten";

  counting_blocks_->crash_before_cuts = true;
  EXPECT_THAT(vfs_->SetAttr(root_caller_, f.id, shrink, nullptr, &w), StatusIs(Errc::kIo));
  EXPECT_EQ(pending_cuts(), 1u);
  // The server starts again on the same stores.
  counting_blocks_->crash_before_cuts = false;
  ASSERT_OK(Vfs::FinishPendingCuts("/export", *metadata_, *blocks_));
  auto reopened =
      Vfs::Open(1, "/export", *metadata_, *blocks_, ShareOptions{.squash = Squash::kNone});
  ASSERT_OK(reopened.status());
  vfs_ = std::move(reopened).value();
  EXPECT_EQ(pending_cuts(), 0u);
  SetAttrs grow;
  grow.set_size(8192);
  ASSERT_OK(vfs_->SetAttr(root_caller_, f.id, grow, nullptr, &w));
  EXPECT_EQ(ReadStr(root_caller_, f.id, 0, 8192), std::string(100, 'a') + std::string(8092, '\0'))
      << "the bytes cut by the interrupted SETATTR came back";
}

TEST_F(VfsTest, AWriteWhoseSizeACrashLostIsCutAtTheNextOpen) {
  // A write stores its data before it commits the file's new size. A crash in between leaves
  // the data past the end of the file: here, as the block store would hold it after such a
  // crash, behind a file of 4096 bytes. A file the crash left without its inode goes too.
  Attr f = MustCreate(root_caller_, root_, "f");
  ASSERT_OK(WriteStr(root_caller_, f.id, 0, std::string(4096, 'a')));
  ASSERT_OK(blocks_->Write(f.id.inode, 32768, AsBytes(std::string(4096, 'x'))));
  const uint64_t gone = f.id.inode + 1000;
  ASSERT_OK(blocks_->Write(gone, 0, AsBytes(std::string(100, 'y'))));
  // The server starts again on the same stores.
  ASSERT_OK(Vfs::FinishPendingCuts("/export", *metadata_, *blocks_));
  auto reopened =
      Vfs::Open(1, "/export", *metadata_, *blocks_, ShareOptions{.squash = Squash::kNone});
  ASSERT_OK(reopened.status());
  vfs_ = std::move(reopened).value();
  SetAttrs grow;
  grow.set_size(65536);
  Wcc w;
  ASSERT_OK(vfs_->SetAttr(root_caller_, f.id, grow, nullptr, &w));
  EXPECT_EQ(ReadStr(root_caller_, f.id, 0, 65536),
            std::string(4096, 'a') + std::string(61440, '\0'))
      << "the bytes of the write whose size was lost came back";
  ASSERT_OK_AND_ASSIGN(std::vector<stores::BlockStore::DataEnd> ends, blocks_->RecentDataEnds());
  for (const stores::BlockStore::DataEnd& e : ends) EXPECT_NE(e.file, gone);
}

// Issue 12: operations without an open (NFSv3's) go through the share's state as short
// anonymous opens: another protocol's share modes, Windows byte-range locks and caching grants
// hold against them.
TEST_F(VfsTest, StatelessOperationsHonourOpensLocksAndGrants) {
  Caller u = User(1000, 1000);
  Attr f = MustCreate(u, root_, "f");
  ASSERT_OK(WriteStr(u, f.id, 0, "original"));
  ShareState& state = vfs_->state();

  // An SMB open that shares read only: writes, truncation and removal are refused.
  ASSERT_OK_AND_ASSIGN(OpenTable::OpenId open,
                       state.opens.Open({f.id.inode, kReadData | kWriteData, kShareRead}));
  EXPECT_EQ(WriteStr(u, f.id, 0, "x").code(), Errc::kShareViolation);
  SetAttrs truncate;
  truncate.set_size(0);
  Wcc w;
  EXPECT_EQ(vfs_->SetAttr(u, f.id, truncate, nullptr, &w).code(), Errc::kShareViolation);
  EXPECT_EQ(vfs_->Remove(u, root_, "f", &w).code(), Errc::kShareViolation);
  EXPECT_EQ(vfs_->Rename(u, root_, "f", root_, "g", &w, &w).code(), Errc::kShareViolation);
  EXPECT_EQ(ReadStr(u, f.id, 0, 100), "original");  // reading is shared
  ASSERT_OK(state.opens.Close(open).status());

  // A Windows exclusive lock on bytes 2..3: reads and writes there are refused, not elsewhere.
  const LockOwner smb{77, LockFlavor::kWindows};
  ASSERT_OK(state.locks.Lock({f.id.inode, smb, 2, 2, true}));
  EXPECT_EQ(WriteStr(u, f.id, 3, "x").code(), Errc::kLocked);
  EXPECT_EQ(ReadStr(u, f.id, 0, 100), "ERR:range locked");
  ASSERT_OK(WriteStr(u, f.id, 4, "INAL"));
  ASSERT_OK(state.locks.Unlock({f.id.inode, smb, 2, 2, true}));
  EXPECT_EQ(ReadStr(u, f.id, 0, 100), "origINAL");
  // POSIX locks are advisory: they stop no read or write.
  ASSERT_OK(state.locks.Lock({f.id.inode, LockOwner{5, LockFlavor::kPosix}, 0, 0, true}));
  ASSERT_OK(WriteStr(u, f.id, 0, "O"));

  // A write lease: a write breaks it before it is applied, and is refused until the holder
  // acknowledges (NFSv3 answers JUKEBOX; the client retries).
  std::vector<uint8_t> breaks;
  ASSERT_OK_AND_ASSIGN(LeaseTable::Granted lease,
                       state.leases.Request(f.id.inode, /*holder=*/42, GrantKind::kLease,
                                            kCacheRead | kCacheHandle | kCacheWrite,
                                            [&](auto, uint8_t to, auto) { breaks.push_back(to); }));
  ASSERT_EQ(lease.state, kCacheRead | kCacheHandle | kCacheWrite);
  EXPECT_EQ(WriteStr(u, f.id, 0, "NEW").code(), Errc::kLocked);
  EXPECT_EQ(breaks, std::vector<uint8_t>{kCacheHandle});
  // Reads wait for the break too: the holder may still have writes cached.
  EXPECT_EQ(ReadStr(u, f.id, 0, 100),
            "ERR:range locked: a cached grant of the file is being broken");
  ASSERT_OK(state.leases.Acknowledge(lease.id, kCacheHandle));
  EXPECT_EQ(ReadStr(u, f.id, 0, 100), "OrigINAL") << "the write went through before the break";
  ASSERT_OK(WriteStr(u, f.id, 0, "NEW"));
  EXPECT_EQ(ReadStr(u, f.id, 0, 100), "NEWgINAL");
  // Removing breaks handle caching.
  EXPECT_EQ(vfs_->Remove(u, root_, "f", &w).code(), Errc::kLocked);
  ASSERT_OK(state.leases.Acknowledge(lease.id, 0));
  ASSERT_OK(vfs_->Remove(u, root_, "f", &w));
}

// A file opened delete-on-close under a handle-caching lease goes on its last close: the
// closing open's own lease does not hold up its delete, while another holder's does.
TEST_F(VfsTest, DeleteOnCloseIsNotHeldUpByTheClosingOpensOwnLease) {
  Caller u = User(1000, 1000);
  ShareState& state = vfs_->state();
  for (const uint64_t other_holder : {uint64_t{0}, uint64_t{43}}) {
    Attr f = MustCreate(u, root_, "doc");
    ASSERT_OK_AND_ASSIGN(OpenTable::OpenId open,
                         vfs_->OpenFile(u, f.id, kReadData | kDeleteAccess, kShareAll,
                                        /*delete_on_close=*/true));
    ASSERT_OK_AND_ASSIGN(LeaseTable::Granted lease,
                         state.leases.Request(f.id.inode, /*holder=*/42, GrantKind::kLease,
                                              kCacheRead | kCacheHandle, [](auto, auto, auto) {}));
    std::optional<LeaseTable::Granted> other;
    if (other_holder != 0) {
      ASSERT_OK_AND_ASSIGN(
          other, state.leases.Request(f.id.inode, other_holder, GrantKind::kLease,
                                      kCacheRead | kCacheHandle, [](auto, auto, auto) {}));
    }
    Vfs::NamedAt at{.caller = &u, .dir = root_, .name = "doc", .holder = 42};
    if (other_holder == 0) {
      ASSERT_OK(vfs_->CloseFile(open, &at));
      EXPECT_EQ(vfs_->Lookup(u, root_, "doc", nullptr).status().code(), Errc::kNotFound);
    } else {
      EXPECT_EQ(vfs_->CloseFile(open, &at).code(), Errc::kLocked);
      state.leases.Release(lease.id);
      ASSERT_OK(state.leases.Acknowledge(other->id, 0));
      ASSERT_OK(vfs_->Remove(u, root_, "doc", nullptr));
      continue;
    }
    state.leases.Release(lease.id);
  }
}

// A rename through an open checks the source's directory as a DELETE open sharing read and
// write would (Windows): a handle on the directory with DELETE access stands in the way; one
// without it, or a rename with no open (NFS), does not.
TEST_F(VfsTest, RenameThroughAnOpenChecksTheSourceDirectorysOpens) {
  Caller u = User(1000, 1000);
  ShareState& state = vfs_->state();
  ASSERT_OK_AND_ASSIGN(Attr dir, vfs_->Mkdir(u, root_, "d", SetAttrs{}, nullptr));
  Attr f = MustCreate(u, dir.id, "a");
  ASSERT_OK_AND_ASSIGN(OpenTable::OpenId file_open,
                       vfs_->OpenFile(u, f.id, kReadData | kDeleteAccess, kShareAll));
  OpenContext via;
  via.open = file_open;
  ASSERT_OK_AND_ASSIGN(OpenTable::OpenId dir_open,
                       vfs_->OpenFile(u, dir.id, kDeleteAccess, kShareAll));
  EXPECT_EQ(vfs_->Rename(u, dir.id, "a", dir.id, "b", nullptr, nullptr, &via).code(),
            Errc::kShareViolation);
  ASSERT_OK(vfs_->Rename(u, dir.id, "a", dir.id, "b", nullptr, nullptr));  // no open: NFS
  ASSERT_OK(state.opens.Close(dir_open).status());
  ASSERT_OK_AND_ASSIGN(dir_open, vfs_->OpenFile(u, dir.id, kReadData, kShareAll));
  ASSERT_OK(vfs_->Rename(u, dir.id, "b", dir.id, "c", nullptr, nullptr, &via));
  ASSERT_OK(state.opens.Close(dir_open).status());
  ASSERT_OK(vfs_->CloseFile(file_open));
}

// Directory leases (MS-SMB2 3.3.1.4): every change of a directory's names breaks the grants
// cached on the directory, whichever protocol makes it, except those of the holder the change
// names as its parent's (SMB's ParentLeaseKey). The change does not wait for the break.
TEST_F(VfsTest, ChangingADirectorysNamesBreaksItsGrantsButTheParentHolders) {
  Caller u = User(1000, 1000);
  ShareState& state = vfs_->state();
  ASSERT_OK_AND_ASSIGN(Attr dir, vfs_->Mkdir(u, root_, "d", SetAttrs{}, nullptr));
  ASSERT_OK_AND_ASSIGN(Attr other, vfs_->Mkdir(u, root_, "e", SetAttrs{}, nullptr));
  constexpr uint64_t kDirHolder = 42;
  std::vector<uint8_t> breaks;
  LeaseTable::GrantId grant = 0;
  // (Re)grants RH on `dir` to kDirHolder.
  auto lease_dir = [&] {
    if (grant != 0) state.leases.Release(grant);
    Result<LeaseTable::Granted> g =
        state.leases.Request(dir.id.inode, kDirHolder, GrantKind::kLease, kCacheRead | kCacheHandle,
                             [&](auto, uint8_t to, auto) { breaks.push_back(to); });
    ASSERT_OK(g.status());
    ASSERT_EQ(g->state, kCacheRead | kCacheHandle);
    grant = g->id;
    breaks.clear();
  };
  OpenContext mine;  // the directory lease's own client, naming it as the parent's
  mine.parent_holder = kDirHolder;
  OpenContext someone;  // an SMB open of another holder
  someone.parent_holder = 7;
  const std::vector<uint8_t> broken{0};

  // Changes without an open (NFSv3) break it, and are not held up.
  lease_dir();
  Attr a = MustCreate(u, dir.id, "a");
  EXPECT_EQ(breaks, broken) << "create";
  lease_dir();
  ASSERT_OK(vfs_->Mkdir(u, dir.id, "sub", SetAttrs{}, nullptr).status());
  EXPECT_EQ(breaks, broken) << "mkdir";
  lease_dir();
  ASSERT_OK(vfs_->Symlink(u, dir.id, "ln", "a", SetAttrs{}, nullptr).status());
  EXPECT_EQ(breaks, broken) << "symlink";
  lease_dir();
  ASSERT_OK(vfs_->Link(u, a.id, dir.id, "hard", nullptr, nullptr));
  EXPECT_EQ(breaks, broken) << "link";
  lease_dir();
  ASSERT_OK(vfs_->Remove(u, dir.id, "hard", nullptr));
  EXPECT_EQ(breaks, broken) << "remove";
  lease_dir();
  ASSERT_OK(vfs_->Rmdir(u, dir.id, "sub", nullptr));
  EXPECT_EQ(breaks, broken) << "rmdir";
  lease_dir();
  ASSERT_OK(vfs_->Rename(u, dir.id, "ln", other.id, "ln", nullptr, nullptr));
  EXPECT_EQ(breaks, broken) << "rename out";
  lease_dir();
  ASSERT_OK(vfs_->Rename(u, other.id, "ln", dir.id, "ln2", nullptr, nullptr));
  EXPECT_EQ(breaks, broken) << "rename in";
  // A change elsewhere, a failed change and a rename onto itself leave it alone.
  ASSERT_OK(vfs_->Link(u, a.id, dir.id, "same", nullptr, nullptr));
  lease_dir();
  MustCreate(u, other.id, "elsewhere");
  EXPECT_EQ(vfs_->Mkdir(u, dir.id, "a", SetAttrs{}, nullptr).status().code(), Errc::kExists);
  ASSERT_OK(vfs_->Rename(u, dir.id, "a", dir.id, "same", nullptr, nullptr));
  EXPECT_TRUE(breaks.empty());

  // Through an open of another holder: broken, the same.
  ASSERT_OK(vfs_->Create(u, dir.id, "b", CreateMode::kGuarded, SetAttrs{}, 0, nullptr, &someone)
                .status());
  EXPECT_EQ(breaks, broken) << "create of another holder";
  // The directory lease's own holder, named as the parent's, keeps it: create, mkdir, link,
  // rename, remove, and the delete of a file on its last close.
  lease_dir();
  ASSERT_OK(
      vfs_->Create(u, dir.id, "c", CreateMode::kGuarded, SetAttrs{}, 0, nullptr, &mine).status());
  ASSERT_OK(vfs_->Mkdir(u, dir.id, "sub2", SetAttrs{}, nullptr, &mine).status());
  ASSERT_OK(vfs_->Link(u, a.id, dir.id, "hard2", nullptr, nullptr, &mine));
  ASSERT_OK(vfs_->Rename(u, dir.id, "c", dir.id, "c2", nullptr, nullptr, &mine));
  ASSERT_OK(vfs_->Remove(u, dir.id, "hard2", nullptr, &mine));
  ASSERT_OK_AND_ASSIGN(Attr c2, vfs_->Lookup(u, dir.id, "c2", nullptr));
  ASSERT_OK_AND_ASSIGN(OpenTable::OpenId open,
                       vfs_->OpenFile(u, c2.id, kReadData | kDeleteAccess, kShareAll,
                                      /*delete_on_close=*/true));
  Vfs::NamedAt at{.caller = &u, .dir = dir.id, .name = "c2", .parent_holder = kDirHolder};
  ASSERT_OK(vfs_->CloseFile(open, &at));
  EXPECT_EQ(vfs_->Lookup(u, dir.id, "c2", nullptr).status().code(), Errc::kNotFound);
  EXPECT_TRUE(breaks.empty()) << "the parent holder's own changes";
  // The delete on close of another holder breaks it.
  Attr d = MustCreate(u, dir.id, "doomed");
  lease_dir();
  ASSERT_OK_AND_ASSIGN(open, vfs_->OpenFile(u, d.id, kReadData | kDeleteAccess, kShareAll,
                                            /*delete_on_close=*/true));
  at.name = "doomed";
  at.parent_holder = 7;
  ASSERT_OK(vfs_->CloseFile(open, &at));
  EXPECT_EQ(breaks, broken) << "delete on close";
  // The break waits for an acknowledgement (it takes H): meanwhile no new grant is given, and
  // the next change sends no second break.
  MustCreate(u, dir.id, "more");
  EXPECT_EQ(breaks, broken);
  ASSERT_OK(state.leases.Acknowledge(grant, 0));
  state.leases.Release(grant);
}

// Issue 12: a file removed while open stays readable and writable through its opens until the
// last closes; then, or at the next start after a crash, it is deleted with its data.
// Every change of a name reaches the watches of its directory, and the tree watches above it
// with the path from there, whoever made it (docs/state.md, "Change notification").
TEST_F(VfsTest, NameChangesArePublishedToTheirDirectorysAndTheTreesWatches) {
  Caller u = User(1000, 1000);
  ASSERT_OK_AND_ASSIGN(Attr top, vfs_->Mkdir(u, root_, "top", SetAttrs{}, nullptr));
  ASSERT_OK_AND_ASSIGN(Attr mid, vfs_->Mkdir(u, top.id, "mid", SetAttrs{}, nullptr));
  ChangeFeed& feed = vfs_->state().changes;
  std::vector<std::string> flat, tree;
  auto sink = [](std::vector<std::string>* out) {
    return [out](const Change& c) {
      out->push_back(std::to_string(static_cast<uint32_t>(c.action)) + ":" + c.name);
    };
  };
  ChangeFeed::WatchId a = feed.Watch(mid.id.inode, false, changed::kFileName, sink(&flat));
  ChangeFeed::WatchId b =
      feed.Watch(root_.inode, true, changed::kFileName | changed::kDirName, sink(&tree));
  Attr f = MustCreate(u, mid.id, "f");
  ASSERT_OK(vfs_->Rename(u, mid.id, "f", mid.id, "g", nullptr, nullptr));
  ASSERT_OK(vfs_->Link(u, f.id, top.id, "h", nullptr, nullptr));
  ASSERT_OK(vfs_->Remove(u, top.id, "h", nullptr));
  MustCreate(u, top.id, "h");
  ASSERT_OK(vfs_->Rename(u, top.id, "h", mid.id, "g", nullptr, nullptr));  // replaces g
  ASSERT_OK(vfs_->Mkdir(u, mid.id, "sub", SetAttrs{}, nullptr).status());
  ASSERT_OK(vfs_->Rmdir(u, mid.id, "sub", nullptr));
  ASSERT_OK(vfs_->Remove(u, mid.id, "g", nullptr));
  vfs_->NoteChanged(mid.id, "x", ChangeAction::kModified, changed::kAttributes);
  EXPECT_EQ(flat, (std::vector<std::string>{"1:f", "4:f", "5:g", "2:g", "1:g", "2:g"}));
  EXPECT_EQ(tree,
            (std::vector<std::string>{"1:top/mid/f", "4:top/mid/f", "5:top/mid/g", "1:top/h",
                                      "2:top/h", "1:top/h", "2:top/mid/g", "2:top/h", "1:top/mid/g",
                                      "1:top/mid/sub", "2:top/mid/sub", "2:top/mid/g"}));
  feed.Unwatch(a);
  feed.Unwatch(b);
}

TEST_F(VfsTest, AFileRemovedWhileOpenLivesUntilItsLastClose) {
  Caller u = User(1000, 1000);
  Attr f = MustCreate(u, root_, "open");
  ASSERT_OK(WriteStr(u, f.id, 0, "still here"));
  ASSERT_OK_AND_ASSIGN(OpenTable::OpenId a,
                       vfs_->OpenFile(u, f.id, kReadData | kWriteData, kShareAll));
  ASSERT_OK_AND_ASSIGN(OpenTable::OpenId b, vfs_->OpenFile(u, f.id, kReadData, kShareAll));
  Wcc w;
  ASSERT_OK(vfs_->Remove(u, root_, "open", &w));
  EXPECT_EQ(vfs_->Lookup(u, root_, "open", nullptr).status().code(), Errc::kNotFound);
  EXPECT_EQ(ReadStr(u, f.id, 0, 100), "still here");
  ASSERT_OK(WriteStr(u, f.id, 0, "STILL"));
  ASSERT_OK_AND_ASSIGN(Attr orphan, vfs_->GetAttr(u, f.id));
  EXPECT_EQ(orphan.nlink, 0u);
  // No new open of a file without a name.
  EXPECT_EQ(vfs_->OpenFile(u, f.id, kReadData, kShareAll).status().code(), Errc::kStale);
  ASSERT_OK(vfs_->CloseFile(a));
  EXPECT_EQ(ReadStr(u, f.id, 0, 100), "STILL here");
  ASSERT_OK(vfs_->CloseFile(b));
  EXPECT_EQ(vfs_->GetAttr(u, f.id).status().code(), Errc::kStale);
  EXPECT_EQ(counting_blocks_->removes(), 1u);
  // A rename over an open file orphans it the same way.
  Attr g = MustCreate(u, root_, "g");
  Attr h = MustCreate(u, root_, "h");
  ASSERT_OK(WriteStr(u, h.id, 0, "old h"));
  ASSERT_OK_AND_ASSIGN(OpenTable::OpenId c, vfs_->OpenFile(u, h.id, kReadData, kShareAll));
  ASSERT_OK(vfs_->Rename(u, root_, "g", root_, "h", &w, &w));
  EXPECT_EQ(ReadStr(u, h.id, 0, 100), "old h");
  ASSERT_OK(vfs_->CloseFile(c));
  EXPECT_EQ(vfs_->GetAttr(u, h.id).status().code(), Errc::kStale);
  EXPECT_OK(vfs_->GetAttr(u, g.id).status());
}

TEST_F(VfsTest, OrphansACrashLeftAreDeletedAtTheNextOpen) {
  Caller u = User(1000, 1000);
  Attr f = MustCreate(u, root_, "open");
  ASSERT_OK(WriteStr(u, f.id, 0, "data"));
  ASSERT_OK(vfs_->OpenFile(u, f.id, kReadData, kShareAll).status());
  Wcc w;
  ASSERT_OK(vfs_->Remove(u, root_, "open", &w));
  EXPECT_EQ(counting_blocks_->removes(), 0u);
  // The process dies with its opens: the stores open again, with no state.
  vfs_.reset();
  ASSERT_OK(Vfs::DeleteOrphans("/export", *metadata_, *blocks_));
  EXPECT_EQ(counting_blocks_->removes(), 1u);
  EXPECT_EQ(metadata_->GetInode(f.id.inode).status().code(), Errc::kNotFound);
  ASSERT_OK(Vfs::DeleteOrphans("/export", *metadata_, *blocks_));  // nothing left to do
  EXPECT_EQ(counting_blocks_->removes(), 1u);
}

// Issue 12: extended attributes, in both metadata stores.
void ExerciseXattrs(stores::MetadataStore& metadata, stores::BlockStore& blocks) {
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<Vfs> vfs, Vfs::Open(1, "/export", metadata, blocks,
                                                           ShareOptions{.squash = Squash::kNone}));
  Caller owner = User(1000, 1000), other = User(2000, 2000);
  Wcc w;
  ASSERT_OK_AND_ASSIGN(
      Attr f, vfs->Create(owner, vfs->root(), "x", CreateMode::kGuarded, Mode(0644), 0, &w));
  ASSERT_OK(vfs->SetXattr(owner, f.id, "user.a", "1", XattrSet::kAny));
  ASSERT_OK(
      vfs->SetXattr(owner, f.id, "user.b", std::string(kMaxXattrValue, 'v'), XattrSet::kCreate));
  EXPECT_EQ(vfs->SetXattr(owner, f.id, "user.a", "2", XattrSet::kCreate).code(), Errc::kExists);
  EXPECT_EQ(vfs->SetXattr(owner, f.id, "user.c", "2", XattrSet::kReplace).code(), Errc::kNotFound);
  ASSERT_OK(vfs->SetXattr(owner, f.id, "user.a", "2", XattrSet::kReplace));
  EXPECT_EQ(
      vfs->SetXattr(owner, f.id, "user.big", std::string(kMaxXattrValue + 1, 'v'), XattrSet::kAny)
          .code(),
      Errc::kTooBig);
  EXPECT_EQ(vfs->SetXattr(owner, f.id, std::string(256, 'n'), "", XattrSet::kAny).code(),
            Errc::kNameTooLong);
  EXPECT_EQ(vfs->SetXattr(owner, f.id, "", "", XattrSet::kAny).code(), Errc::kInvalid);
  // Others read (mode 0644) but may not change.
  ASSERT_OK_AND_ASSIGN(std::string a, vfs->GetXattr(other, f.id, "user.a"));
  EXPECT_EQ(a, "2");
  EXPECT_EQ(vfs->SetXattr(other, f.id, "user.a", "3", XattrSet::kAny).code(), Errc::kAccess);
  EXPECT_EQ(vfs->RemoveXattr(other, f.id, "user.a").code(), Errc::kAccess);
  EXPECT_EQ(vfs->GetXattr(owner, f.id, "user.none").status().code(), Errc::kNotFound);
  ASSERT_OK_AND_ASSIGN(std::vector<std::string> names, vfs->ListXattrs(owner, f.id));
  EXPECT_EQ(names, (std::vector<std::string>{"user.a", "user.b"}));
  ASSERT_OK(vfs->RemoveXattr(owner, f.id, "user.b"));
  EXPECT_EQ(vfs->RemoveXattr(owner, f.id, "user.b").code(), Errc::kNotFound);
  // At most kMaxXattrs per file.
  for (size_t i = 1; i < kMaxXattrs; ++i) {
    ASSERT_OK(vfs->SetXattr(owner, f.id, "user.n" + std::to_string(i), "", XattrSet::kAny));
  }
  EXPECT_EQ(vfs->SetXattr(owner, f.id, "user.one-more", "", XattrSet::kAny).code(), Errc::kNoSpace);
  ASSERT_OK(vfs->SetXattr(owner, f.id, "user.a", "replacing is fine", XattrSet::kAny));
  // Removing the file removes its attributes.
  ASSERT_OK(vfs->Remove(owner, vfs->root(), "x", &w));
  std::unique_ptr<stores::MetadataTxn> txn = metadata.Begin();
  ASSERT_OK_AND_ASSIGN(std::vector<stores::Record> left,
                       txn->ScanRecords(stores::RecordTable::kXattrs, "", "", 10));
  EXPECT_TRUE(left.empty());
}

TEST(VfsXattrTest, MemoryStore) {
  std::unique_ptr<stores::MetadataStore> metadata = stores::NewMemoryMetadataStore();
  std::unique_ptr<stores::BlockStore> blocks = stores::NewMemoryBlockStore();
  ExerciseXattrs(*metadata, *blocks);
}

TEST(VfsXattrTest, RocksDbStoreAndAcrossAReopen) {
  testing::ScratchDir dir("vfs-xattr");
  std::unique_ptr<stores::BlockStore> blocks = stores::NewMemoryBlockStore();
  stores::RocksDbMetadataStoreOptions o;
  o.path = dir.path() + "/metadata";
  {
    ASSERT_OK_AND_ASSIGN(std::unique_ptr<stores::MetadataStore> metadata,
                         stores::OpenRocksDbMetadataStore(o));
    ExerciseXattrs(*metadata, *blocks);
    ASSERT_OK_AND_ASSIGN(
        std::unique_ptr<Vfs> vfs,
        Vfs::Open(1, "/export", *metadata, *blocks, ShareOptions{.squash = Squash::kNone}));
    Wcc w;
    ASSERT_OK_AND_ASSIGN(Attr f, vfs->Create(User(0, 0), vfs->root(), "kept", CreateMode::kGuarded,
                                             Mode(0644), 0, &w));
    ASSERT_OK(vfs->SetXattr(User(0, 0), f.id, "user.kept", "value", XattrSet::kAny));
  }
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<stores::MetadataStore> metadata,
                       stores::OpenRocksDbMetadataStore(o));
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<Vfs> vfs, Vfs::Open(1, "/export", *metadata, *blocks,
                                                           ShareOptions{.squash = Squash::kNone}));
  ASSERT_OK_AND_ASSIGN(Attr f, vfs->Lookup(User(0, 0), vfs->root(), "kept", nullptr));
  ASSERT_OK_AND_ASSIGN(std::string v, vfs->GetXattr(User(0, 0), f.id, "user.kept"));
  EXPECT_EQ(v, "value");
}

// The attribute model (issue 12, item 3) on one store: the change counter, change info of
// directory operations, settable ctime and btime, DOS attributes and the read-only rule.
void ExerciseAttributeModel(stores::MetadataStore& metadata, stores::BlockStore& blocks) {
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<Vfs> vfs, Vfs::Open(1, "/export", metadata, blocks,
                                                           ShareOptions{.squash = Squash::kNone}));
  const Caller owner = User(1000, 1000);
  const Caller other = User(2000, 2000);
  const FileId root = vfs->root();
  auto change_of = [&](FileId f) {
    Result<Attr> a = vfs->GetAttr(owner, f);
    EXPECT_OK(a);
    return a.ok() ? a->change : 0;
  };
  // Checks a directory's change info against its counter before and after.
  auto expect_changed = [&](const Wcc& w, uint64_t before, FileId dir, const char* what) {
    ASSERT_TRUE(w.change.has_value()) << what;
    EXPECT_EQ(*w.change, (ChangeInfo{before, before + 1, true})) << what;
    EXPECT_EQ(change_of(dir), before + 1) << what;
  };

  Wcc w;
  uint64_t before = change_of(root);
  ASSERT_OK_AND_ASSIGN(Attr dir, vfs->Mkdir(owner, root, "d", Mode(0755), &w));
  expect_changed(w, before, root, "mkdir");
  before = change_of(dir.id);
  w = {};
  ASSERT_OK_AND_ASSIGN(Attr f,
                       vfs->Create(owner, dir.id, "f", CreateMode::kGuarded, Mode(0644), 0, &w));
  expect_changed(w, before, dir.id, "create");
  EXPECT_EQ(f.dos_attributes, kDosArchive) << "a new file is marked for backup";
  EXPECT_EQ(dir.dos_attributes, 0u);
  before = change_of(dir.id);
  w = {};
  ASSERT_OK(vfs->Symlink(owner, dir.id, "s", "f", SetAttrs(), &w).status());
  expect_changed(w, before, dir.id, "symlink");
  before = change_of(dir.id);
  w = {};
  ASSERT_OK(vfs->Link(owner, f.id, dir.id, "g", nullptr, &w));
  expect_changed(w, before, dir.id, "link");
  before = change_of(dir.id);
  w = {};
  ASSERT_OK(vfs->Remove(owner, dir.id, "g", &w));
  expect_changed(w, before, dir.id, "remove");
  // A rename within one directory changes it once; across two, each once.
  before = change_of(dir.id);
  Wcc from, to;
  ASSERT_OK(vfs->Rename(owner, dir.id, "s", dir.id, "s2", &from, &to));
  expect_changed(from, before, dir.id, "rename, source");
  expect_changed(to, before, dir.id, "rename, target");
  const uint64_t from_before = change_of(dir.id);
  const uint64_t to_before = change_of(root);
  from = to = {};
  ASSERT_OK(vfs->Rename(owner, dir.id, "s2", root, "s3", &from, &to));
  expect_changed(from, from_before, dir.id, "rename across, source");
  expect_changed(to, to_before, root, "rename across, target");
  ASSERT_OK(vfs->Mkdir(owner, dir.id, "sub", Mode(0755), &w).status());
  before = change_of(dir.id);
  w = {};
  ASSERT_OK(vfs->Rmdir(owner, dir.id, "sub", &w));
  expect_changed(w, before, dir.id, "rmdir");
  // A failed operation changed nothing and reports no change info.
  w = {};
  EXPECT_EQ(vfs->Remove(owner, dir.id, "absent", &w).code(), Errc::kNotFound);
  EXPECT_FALSE(w.change.has_value());

  // The change counter grows with data and metadata changes, not with an access time alone.
  uint64_t change = change_of(f.id);
  ASSERT_OK(vfs->Write(owner, f.id, 0, AsBytes(std::string_view("hello")), Stability::kFileSync, &w)
                .status());
  EXPECT_EQ(change_of(f.id), change + 1) << "write";
  change = change_of(f.id);
  ASSERT_OK(vfs->SetAttr(owner, f.id, SetAttrs().set_atime({1000, 0}), nullptr, &w));
  EXPECT_EQ(change_of(f.id), change + 1) << "setattr of atime (ctime moves too)";
  change = change_of(f.id);
  ASSERT_OK_AND_ASSIGN(ReadResult r, vfs->Read(owner, f.id, 0, 5));
  EXPECT_GT(r.attr.atime.sec, 1000) << "the read moved the access time";
  ASSERT_OK_AND_ASSIGN(Attr after_read, vfs->GetAttr(owner, f.id));
  EXPECT_GT(after_read.atime.sec, 1000);
  EXPECT_EQ(after_read.change, change) << "an access time is no change";
  ASSERT_OK(vfs->SetXattr(owner, f.id, "user.x", "1", XattrSet::kAny));
  EXPECT_EQ(change_of(f.id), change + 1) << "xattr";

  // ctime and btime are the owner's to set; the other times and the mask as before.
  const Timespec birth{1'500'000'000, 123};
  const Timespec changed{1'600'000'000, 456};
  ASSERT_OK(vfs->SetAttr(owner, f.id, SetAttrs().set_btime(birth).set_ctime(changed), nullptr, &w));
  ASSERT_OK_AND_ASSIGN(Attr a, vfs->GetAttr(owner, f.id));
  EXPECT_EQ(a.btime, birth);
  EXPECT_EQ(a.ctime, changed);
  EXPECT_EQ(a.mode, 0644u) << "fields outside the mask stay";
  EXPECT_EQ(vfs->SetAttr(other, f.id, SetAttrs().set_btime(birth), nullptr, &w).code(),
            Errc::kPerm);
  EXPECT_EQ(vfs->SetAttr(other, f.id, SetAttrs().set_ctime(birth), nullptr, &w).code(),
            Errc::kPerm);
  SetAttrs now;
  now.mask = kSetMtimeNow | kSetMtime;  // "now" wins
  now.mtime = {1, 0};
  ASSERT_OK(vfs->SetAttr(owner, f.id, now, nullptr, &w));
  ASSERT_OK_AND_ASSIGN(a, vfs->GetAttr(owner, f.id));
  EXPECT_GT(a.mtime.sec, 1);
  EXPECT_GT(a.ctime.sec, changed.sec) << "a change without an explicit ctime sets it to now";
  // At creation too.
  ASSERT_OK_AND_ASSIGN(
      Attr born, vfs->Create(owner, dir.id, "born", CreateMode::kGuarded,
                             Mode(0600).set_btime(birth).set_dos_attributes(kDosHidden), 0, &w));
  EXPECT_EQ(born.btime, birth);
  EXPECT_EQ(born.dos_attributes, kDosHidden);

  // DOS attributes: the kept bits, set by the owner or a writer.
  ASSERT_OK(vfs->SetAttr(owner, f.id,
                         SetAttrs().set_dos_attributes(kDosHidden | kDosSystem | kDosNormal |
                                                       0x100 /* temporary: not kept */),
                         nullptr, &w));
  ASSERT_OK_AND_ASSIGN(a, vfs->GetAttr(owner, f.id));
  EXPECT_EQ(a.dos_attributes, kDosHidden | kDosSystem);
  EXPECT_EQ(
      vfs->SetAttr(owner, f.id, SetAttrs().set_dos_attributes(kDosDirectory), nullptr, &w).code(),
      Errc::kInvalid);
  EXPECT_EQ(vfs->SetAttr(other, f.id, SetAttrs().set_dos_attributes(0), nullptr, &w).code(),
            Errc::kAccess);
  ASSERT_OK(vfs->SetAttr(owner, dir.id, SetAttrs().set_dos_attributes(kDosDirectory | kDosSparse),
                         nullptr, &w));
  ASSERT_OK_AND_ASSIGN(a, vfs->GetAttr(owner, dir.id));
  EXPECT_EQ(a.dos_attributes, kDosSparse);

  // Read-only (MS-FSA): no writing, truncating, removing or replacing it, whoever asks; reading
  // and renaming it are fine.
  const Caller root_caller = User(0, 0);
  ASSERT_OK(vfs->SetAttr(owner, f.id, SetAttrs().set_dos_attributes(kDosReadOnly), nullptr, &w));
  change = change_of(f.id);
  for (const Caller& c : {owner, root_caller}) {
    EXPECT_EQ(vfs->Write(c, f.id, 0, AsBytes(std::string_view("x")), Stability::kFileSync, &w)
                  .status()
                  .code(),
              Errc::kAccess);
    EXPECT_EQ(vfs->SetAttr(c, f.id, SetAttrs().set_size(0), nullptr, &w).code(), Errc::kAccess);
    EXPECT_EQ(vfs->Remove(c, dir.id, "f", &w).code(), Errc::kAccess);
    EXPECT_EQ(vfs->Rename(c, dir.id, "born", dir.id, "f", &from, &to).code(), Errc::kAccess);
    EXPECT_EQ(vfs->OpenFile(c, f.id, kReadData | kWriteData, kShareAll).status().code(),
              Errc::kAccess);
    EXPECT_EQ(vfs->OpenFile(c, f.id, kDeleteAccess, kShareAll).status().code(), Errc::kAccess);
  }
  EXPECT_EQ(change_of(f.id), change) << "the refusals changed nothing";
  ASSERT_OK_AND_ASSIGN(r, vfs->Read(owner, f.id, 0, 5));
  ASSERT_OK_AND_ASSIGN(OpenTable::OpenId reader, vfs->OpenFile(owner, f.id, kReadData, kShareAll));
  ASSERT_OK(vfs->CloseFile(reader));
  ASSERT_OK(vfs->Rename(owner, dir.id, "f", dir.id, "f2", &from, &to));
  ASSERT_OK(vfs->SetAttr(owner, dir.id, SetAttrs().set_dos_attributes(kDosReadOnly), nullptr, &w));
  ASSERT_OK(vfs->Mkdir(owner, dir.id, "ro", Mode(0755), &w).status());
  ASSERT_OK_AND_ASSIGN(Attr ro, vfs->Lookup(owner, dir.id, "ro", nullptr));
  ASSERT_OK(vfs->SetAttr(owner, ro.id, SetAttrs().set_dos_attributes(kDosReadOnly), nullptr, &w));
  EXPECT_EQ(vfs->Rmdir(owner, dir.id, "ro", &w).code(), Errc::kAccess);
  // Cleared, it is writable again, and the write marks it for backup.
  ASSERT_OK(vfs->SetAttr(owner, f.id, SetAttrs().set_dos_attributes(0), nullptr, &w));
  ASSERT_OK(vfs->Write(owner, f.id, 5, AsBytes(std::string_view("!")), Stability::kFileSync, &w)
                .status());
  ASSERT_OK_AND_ASSIGN(a, vfs->GetAttr(owner, f.id));
  EXPECT_EQ(a.dos_attributes, kDosArchive);
  EXPECT_EQ(a.size, 6u);
}

TEST(VfsAttributeModelTest, MemoryStore) {
  std::unique_ptr<stores::MetadataStore> metadata = stores::NewMemoryMetadataStore();
  std::unique_ptr<stores::BlockStore> blocks = stores::NewMemoryBlockStore();
  ExerciseAttributeModel(*metadata, *blocks);
}

TEST(VfsAttributeModelTest, RocksDbStoreAndAcrossAReopen) {
  testing::ScratchDir dir("vfs-attributes");
  std::unique_ptr<stores::BlockStore> blocks = stores::NewMemoryBlockStore();
  stores::RocksDbMetadataStoreOptions o;
  o.path = dir.path() + "/metadata";
  Attr kept;
  {
    ASSERT_OK_AND_ASSIGN(std::unique_ptr<stores::MetadataStore> metadata,
                         stores::OpenRocksDbMetadataStore(o));
    ExerciseAttributeModel(*metadata, *blocks);
    ASSERT_OK_AND_ASSIGN(
        std::unique_ptr<Vfs> vfs,
        Vfs::Open(1, "/export", *metadata, *blocks, ShareOptions{.squash = Squash::kNone}));
    ASSERT_OK_AND_ASSIGN(Attr d, vfs->Lookup(User(0, 0), vfs->root(), "d", nullptr));
    ASSERT_OK_AND_ASSIGN(kept, vfs->Lookup(User(0, 0), d.id, "f2", nullptr));
  }
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<stores::MetadataStore> metadata,
                       stores::OpenRocksDbMetadataStore(o));
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<Vfs> vfs, Vfs::Open(1, "/export", *metadata, *blocks,
                                                           ShareOptions{.squash = Squash::kNone}));
  ASSERT_OK_AND_ASSIGN(Attr again, vfs->GetAttr(User(0, 0), kept.id));
  EXPECT_EQ(again.btime, kept.btime);
  EXPECT_EQ(again.ctime, kept.ctime);
  EXPECT_EQ(again.dos_attributes, kept.dos_attributes);
  EXPECT_EQ(again.change, kept.change);
}

// The server keeps a share's state across Vfs generations (a policy change opens a new Vfs over
// the same stores and state).
TEST_F(VfsTest, StateGivenToOpenOutlivesTheVfs) {
  ShareState state;
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<Vfs> a,
                       Vfs::Open(1, "/export", *metadata_, *blocks_, ShareOptions{}, &state));
  Attr f = MustCreate(User(1000, 1000), root_, "kept");
  ASSERT_OK(a->state().locks.Lock({f.id.inode, LockOwner{1, LockFlavor::kWindows}, 0, 10, true}));
  a.reset();
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<Vfs> b,
                       Vfs::Open(1, "/export", *metadata_, *blocks_, ShareOptions{}, &state));
  EXPECT_EQ(&b->state(), &state);
  Wcc w;
  EXPECT_EQ(
      b->Write(User(1000, 1000), f.id, 0, AsBytes(std::string_view("x")), Stability::kUnstable, &w)
          .status()
          .code(),
      Errc::kLocked);
}

TEST_F(VfsTest, RootIsWorldWritableStickyDirectory) {
  ASSERT_OK_AND_ASSIGN(Attr a, vfs_->GetAttr(root_caller_, root_));
  EXPECT_EQ(a.type, FileType::kDirectory);
  EXPECT_EQ(a.mode, 01777u);
  EXPECT_EQ(a.nlink, 2u);
}

TEST_F(VfsTest, WriteReadTruncateExtendAndHoles) {
  Caller u = User(1000, 1000);
  Attr f = MustCreate(u, root_, "f");
  ASSERT_OK(WriteStr(u, f.id, 0, "hello world"));
  EXPECT_EQ(ReadStr(u, f.id, 0, 100), "hello world");
  // A write far past the end leaves a hole that reads as zeros.
  ASSERT_OK(WriteStr(u, f.id, 100, "x"));
  std::string hole = ReadStr(u, f.id, 11, 89);
  EXPECT_EQ(hole, std::string(89, '\0'));
  ASSERT_OK_AND_ASSIGN(Attr a, vfs_->GetAttr(u, f.id));
  EXPECT_EQ(a.size, 101u);
  // Shrink, then extend: the cut bytes read as zeros.
  SetAttrs shrink;
  shrink.set_size(5);
  Wcc w;
  ASSERT_OK(vfs_->SetAttr(u, f.id, shrink, nullptr, &w));
  ASSERT_TRUE(w.before && w.after);
  EXPECT_EQ(w.before->size, 101u);
  EXPECT_EQ(w.after->size, 5u);
  SetAttrs extend;
  extend.set_size(20);
  ASSERT_OK(vfs_->SetAttr(u, f.id, extend, nullptr, &w));
  EXPECT_EQ(ReadStr(u, f.id, 0, 100), std::string("hello") + std::string(15, '\0'));
  auto r = vfs_->Read(u, f.id, 15, 100);
  ASSERT_OK(r.status());
  EXPECT_TRUE(r->eof);
  EXPECT_EQ(ReadStr(u, f.id, 1000, 10), "");
  // 64-bit offsets.
  ASSERT_OK(WriteStr(u, f.id, uint64_t{1} << 40, "far"));
  EXPECT_EQ(ReadStr(u, f.id, uint64_t{1} << 40, 3), "far");
}

TEST_F(VfsTest, PermissionsOwnerGroupOtherAndSupplementaryGroups) {
  Caller owner = User(1000, 100);
  Attr f = MustCreate(owner, root_, "f", 0640);
  ASSERT_OK(WriteStr(owner, f.id, 0, "data"));
  EXPECT_EQ(ReadStr(User(2000, 100), f.id, 0, 4), "data");       // group
  EXPECT_EQ(ReadStr(User(2000, 7, {100}), f.id, 0, 4), "data");  // supplementary group
  EXPECT_THAT(vfs_->Read(User(2000, 7), f.id, 0, 4), StatusIs(Errc::kAccess));  // other
  EXPECT_THAT(WriteStr(User(2000, 100), f.id, 0, "x"), StatusIs(Errc::kAccess));
  // Root reads and writes anything.
  EXPECT_EQ(ReadStr(root_caller_, f.id, 0, 4), "data");
  ASSERT_OK_AND_ASSIGN(uint32_t granted,
                       vfs_->Access(User(2000, 100), f.id, kAccessRead | kAccessModify, nullptr));
  EXPECT_EQ(granted, uint32_t{kAccessRead});
  // Only the owner may chmod; only root may chown.
  Wcc w;
  EXPECT_THAT(vfs_->SetAttr(User(2000, 100), f.id, Mode(0777), nullptr, &w), StatusIs(Errc::kPerm));
  SetAttrs chown;
  chown.set_uid(2000);
  EXPECT_THAT(vfs_->SetAttr(owner, f.id, chown, nullptr, &w), StatusIs(Errc::kPerm));
  ASSERT_OK(vfs_->SetAttr(root_caller_, f.id, chown, nullptr, &w));
  EXPECT_EQ(w.after->uid, 2000u);
  // A non-owner cannot create in a directory without write permission.
  Attr d = MustMkdir(owner, root_, "private", 0755);
  Wcc dw;
  EXPECT_THAT(vfs_->Create(User(2000, 100), d.id, "x", CreateMode::kGuarded, {}, 0, &dw),
              StatusIs(Errc::kAccess));
  ASSERT_TRUE(dw.after.has_value());  // wcc on failure too
}

TEST_F(VfsTest, StickyDirectoryProtectsOthersEntries) {
  Caller alice = User(1001, 100), bob = User(1002, 100);
  Attr f = MustCreate(alice, root_, "alice.txt", 0666);
  Wcc w;
  EXPECT_THAT(vfs_->Remove(bob, root_, "alice.txt", &w), StatusIs(Errc::kAccess));
  EXPECT_THAT(vfs_->Rename(bob, root_, "alice.txt", root_, "mine", &w, &w),
              StatusIs(Errc::kAccess));
  ASSERT_OK(vfs_->Remove(alice, root_, "alice.txt", &w));
  (void)f;
}

TEST_F(VfsTest, RootSquashMapsRootToGuest) {
  Open(ShareOptions{});  // default: root_to_guest
  Attr f = MustCreate(root_caller_, root_, "squashed");
  EXPECT_EQ(f.uid, 65534u);
  EXPECT_EQ(f.gid, 65534u);
  Attr g = MustCreate(User(1000, 1000), root_, "user");
  Attr priv = MustMkdir(User(1000, 1000), root_, "d", 0700);
  EXPECT_THAT(vfs_->Lookup(root_caller_, priv.id, "x", nullptr), StatusIs(Errc::kAccess));
  (void)g;
}

// Issue 11: AUTH_NONE callers are the share's anonymous identity; root_to_guest squashes gid
// 0 too, primary and supplementary, whoever the caller is (as knfsd's root_squash);
// all_to_guest leaves no supplementary group.
TEST_F(VfsTest, SquashRules) {
  auto owner_of = [&](const Caller& c, const std::string& name) {
    Wcc w;
    auto a = vfs_->Create(c, root_, name, CreateMode::kGuarded, Mode(0644), 0, &w);
    return a.ok() ? std::make_pair(a->uid, a->gid) : std::make_pair(~0u, ~0u);
  };
  // Another Vfs over the same stores, as a policy change makes.
  auto reopen = [&](Squash squash) {
    auto v = Vfs::Open(1, "/export", *metadata_, *blocks_,
                       ShareOptions{.squash = squash, .anon_uid = 4000, .anon_gid = 4001});
    ASSERT_OK(v.status());
    vfs_ = std::move(v).value();
  };
  Caller anonymous = User(1000, 1000);
  anonymous.auth = AuthMethod::kNone;
  for (Squash squash : {Squash::kNone, Squash::kRootToGuest, Squash::kAllToGuest}) {
    reopen(squash);
    EXPECT_EQ(owner_of(anonymous, "anon" + std::to_string(int(squash))),
              std::make_pair(4000u, 4001u));
  }

  reopen(Squash::kRootToGuest);
  EXPECT_EQ(owner_of(User(1000, 0), "gid0"), std::make_pair(1000u, 4001u));
  EXPECT_EQ(owner_of(User(0, 0), "root"), std::make_pair(4000u, 4001u));
  EXPECT_EQ(owner_of(User(1000, 1000, {0, 7}), "user"), std::make_pair(1000u, 1000u));

  // Files only their group may read: group 0, and group 50.
  reopen(Squash::kNone);
  Wcc w;
  Attr zero = MustCreate(root_caller_, root_, "group0-only", 0040);
  Attr fifty = MustCreate(root_caller_, root_, "group50-only", 0040);
  SetAttrs to_50;
  to_50.set_gid(50);
  ASSERT_OK(vfs_->SetAttr(root_caller_, fifty.id, to_50, nullptr, &w));
  const Caller member = User(1000, 1000, {0, 50});
  ASSERT_OK(vfs_->Read(member, zero.id, 0, 1).status());
  ASSERT_OK(vfs_->Read(member, fifty.id, 0, 1).status());
  reopen(Squash::kRootToGuest);
  EXPECT_THAT(vfs_->Read(member, zero.id, 0, 1).status(), StatusIs(Errc::kAccess))
      << "supplementary group 0 is squashed";
  EXPECT_OK(vfs_->Read(member, fifty.id, 0, 1).status());
  reopen(Squash::kAllToGuest);
  EXPECT_THAT(vfs_->Read(member, fifty.id, 0, 1).status(), StatusIs(Errc::kAccess))
      << "all_to_guest keeps no supplementary group";
}

// Issue 11 (pjdfstest chown/07): a chown by someone who is neither root nor the owner fails
// with EPERM even when it names the current owner or group; the owner may name its own.
TEST_F(VfsTest, ChownToTheCurrentOwnerNeedsOwnershipToo) {
  Attr f = MustCreate(User(1000, 1000), root_, "f");
  Wcc w;
  SetAttrs same_uid;
  same_uid.set_uid(1000);
  SetAttrs same_gid;
  same_gid.set_gid(1000);
  EXPECT_THAT(vfs_->SetAttr(User(2000, 1000), f.id, same_uid, nullptr, &w), StatusIs(Errc::kPerm));
  EXPECT_THAT(vfs_->SetAttr(User(2000, 1000), f.id, same_gid, nullptr, &w), StatusIs(Errc::kPerm));
  EXPECT_OK(vfs_->SetAttr(User(1000, 1000), f.id, same_uid, nullptr, &w));
  EXPECT_OK(vfs_->SetAttr(User(1000, 1000), f.id, same_gid, nullptr, &w));
  // The owner may not give the file away, nor pick a group it is not in.
  SetAttrs other_uid;
  other_uid.set_uid(2000);
  SetAttrs other_gid;
  other_gid.set_gid(3000);
  EXPECT_THAT(vfs_->SetAttr(User(1000, 1000), f.id, other_uid, nullptr, &w), StatusIs(Errc::kPerm));
  EXPECT_THAT(vfs_->SetAttr(User(1000, 1000), f.id, other_gid, nullptr, &w), StatusIs(Errc::kPerm));
  EXPECT_OK(vfs_->SetAttr(User(1000, 1000, {3000}), f.id, other_gid, nullptr, &w));
}

// Issue 11: the ancestor walk that keeps a directory out of its own subtree has no depth limit
// (it once stopped at 4,096 levels, and the rename then cut a cycle loose from the tree).
TEST_F(VfsTest, RenameIntoItsOwnSubtreeIsRefusedAtAnyDepth) {
  Attr top = MustMkdir(root_caller_, root_, "top");
  FileId deepest = top.id;
  for (int depth = 0; depth < 5000; ++depth) deepest = MustMkdir(root_caller_, deepest, "d").id;
  Wcc w;
  EXPECT_THAT(vfs_->Rename(root_caller_, root_, "top", deepest, "inside", &w, &w),
              StatusIs(Errc::kInvalid));
  EXPECT_OK(vfs_->Lookup(root_caller_, root_, "top", nullptr).status());
}

TEST_F(VfsTest, SetgidDirectoryPassesGroupAndBitOn) {
  Attr d = MustMkdir(root_caller_, root_, "shared", 02775);
  Wcc w;
  SetAttrs grp;
  grp.set_gid(500);
  ASSERT_OK(vfs_->SetAttr(root_caller_, d.id, grp, nullptr, &w));
  Caller u = User(1000, 1000, {500});
  Attr f = MustCreate(u, d.id, "f");
  EXPECT_EQ(f.gid, 500u);
  Attr sub = MustMkdir(u, d.id, "sub");
  EXPECT_EQ(sub.gid, 500u);
  EXPECT_TRUE(sub.mode & 02000);
}

TEST_F(VfsTest, WriteAndChownBySomeoneElseClearSetuid) {
  Caller u = User(1000, 1000);
  Attr f = MustCreate(u, root_, "prog", 06777);
  ASSERT_OK_AND_ASSIGN(Attr before, vfs_->GetAttr(u, f.id));
  EXPECT_EQ(before.mode & 06000, 06000u);
  ASSERT_OK(WriteStr(User(2000, 2000), f.id, 0, "x"));
  ASSERT_OK_AND_ASSIGN(Attr after, vfs_->GetAttr(u, f.id));
  EXPECT_EQ(after.mode & 06000, 0u);
  Wcc w;
  ASSERT_OK(vfs_->SetAttr(u, f.id, Mode(06755), nullptr, &w));
  SetAttrs chgrp;
  chgrp.set_gid(1000);
  chgrp.set_uid(1000);
  ASSERT_OK(vfs_->SetAttr(u, f.id, chgrp, nullptr, &w));  // no-op chown by owner
  SetAttrs chgrp2;
  chgrp2.set_gid(77);
  ASSERT_OK(vfs_->SetAttr(User(1000, 1000, {77}), f.id, chgrp2, nullptr, &w));
  EXPECT_EQ(w.after->mode & 06000, 0u);
}

TEST_F(VfsTest, LinkCountsAcrossLinkUnlinkAndMkdir) {
  Caller u = User(1000, 1000);
  Attr f = MustCreate(u, root_, "a");
  Wcc w;
  std::optional<Attr> fa;
  ASSERT_OK(vfs_->Link(u, f.id, root_, "b", &fa, &w));
  EXPECT_EQ(fa->nlink, 2u);
  EXPECT_THAT(vfs_->Link(u, f.id, root_, "b", &fa, &w), StatusIs(Errc::kExists));
  ASSERT_OK(vfs_->Remove(u, root_, "a", &w));
  ASSERT_OK_AND_ASSIGN(Attr still, vfs_->GetAttr(u, f.id));
  EXPECT_EQ(still.nlink, 1u);
  ASSERT_OK(vfs_->Remove(u, root_, "b", &w));
  EXPECT_THAT(vfs_->GetAttr(u, f.id), StatusIs(Errc::kStale));
  // Directories: parent's nlink counts subdirectories.
  Attr d = MustMkdir(u, root_, "d");
  EXPECT_EQ(d.nlink, 2u);
  ASSERT_OK_AND_ASSIGN(Attr r1, vfs_->GetAttr(u, root_));
  EXPECT_EQ(r1.nlink, 3u);
  EXPECT_THAT(vfs_->Link(u, d.id, root_, "dlink", &fa, &w), StatusIs(Errc::kPerm));
  ASSERT_OK(vfs_->Rmdir(u, root_, "d", &w));
  ASSERT_OK_AND_ASSIGN(Attr r2, vfs_->GetAttr(u, root_));
  EXPECT_EQ(r2.nlink, 2u);
}

TEST_F(VfsTest, RenameCases) {
  Caller u = User(1000, 1000);
  Wcc a, b;
  Attr d1 = MustMkdir(u, root_, "d1");
  Attr d2 = MustMkdir(u, root_, "d2");
  Attr f = MustCreate(u, d1.id, "f");
  ASSERT_OK(WriteStr(u, f.id, 0, "one"));
  Attr g = MustCreate(u, d2.id, "g");
  // File over file across directories: the target is replaced and freed.
  ASSERT_OK(vfs_->Rename(u, d1.id, "f", d2.id, "g", &a, &b));
  EXPECT_THAT(vfs_->Lookup(u, d1.id, "f", nullptr), StatusIs(Errc::kNotFound));
  ASSERT_OK_AND_ASSIGN(Attr moved, vfs_->Lookup(u, d2.id, "g", nullptr));
  EXPECT_EQ(moved.id, f.id);
  EXPECT_THAT(vfs_->GetAttr(u, g.id), StatusIs(Errc::kStale));
  ASSERT_TRUE(a.before && a.after && b.before && b.after);
  // Within a directory.
  ASSERT_OK(vfs_->Rename(u, d2.id, "g", d2.id, "h", &a, &b));
  EXPECT_EQ(ReadStr(u, f.id, 0, 10), "one");
  // Onto itself (another name for the same file): nothing happens.
  std::optional<Attr> fa;
  ASSERT_OK(vfs_->Link(u, f.id, d2.id, "h2", &fa, &a));
  ASSERT_OK(vfs_->Rename(u, d2.id, "h", d2.id, "h2", &a, &b));
  ASSERT_OK(vfs_->Lookup(u, d2.id, "h", nullptr).status());
  // Directory over empty directory, across parents; nlink of parents follows.
  Attr sub = MustMkdir(u, d1.id, "sub");
  MustMkdir(u, d2.id, "empty");
  ASSERT_OK(vfs_->Rename(u, d1.id, "sub", d2.id, "empty", &a, &b));
  ASSERT_OK_AND_ASSIGN(Attr d1a, vfs_->GetAttr(u, d1.id));
  ASSERT_OK_AND_ASSIGN(Attr d2a, vfs_->GetAttr(u, d2.id));
  EXPECT_EQ(d1a.nlink, 2u);
  EXPECT_EQ(d2a.nlink, 3u);
  ASSERT_OK_AND_ASSIGN(Attr parent, vfs_->Parent(u, sub.id));
  EXPECT_EQ(parent.id, d2.id);
  // Directory over non-empty directory, file over directory, directory over file.
  Attr full = MustMkdir(u, d1.id, "full");
  MustCreate(u, full.id, "x");
  MustMkdir(u, d1.id, "dir2");
  EXPECT_THAT(vfs_->Rename(u, d1.id, "dir2", d1.id, "full", &a, &b), StatusIs(Errc::kExists));
  MustCreate(u, d1.id, "file");
  EXPECT_THAT(vfs_->Rename(u, d1.id, "file", d1.id, "full", &a, &b), StatusIs(Errc::kIsDir));
  EXPECT_THAT(vfs_->Rename(u, d1.id, "full", d1.id, "file", &a, &b), StatusIs(Errc::kNotDir));
  // Into its own subtree.
  EXPECT_THAT(vfs_->Rename(u, root_, "d1", full.id, "loop", &a, &b), StatusIs(Errc::kInvalid));
  // Missing source.
  EXPECT_THAT(vfs_->Rename(u, d1.id, "nope", d1.id, "x", &a, &b), StatusIs(Errc::kNotFound));
  EXPECT_THAT(vfs_->Rename(u, d1.id, ".", d1.id, "x", &a, &b), StatusIs(Errc::kInvalid));
}

TEST_F(VfsTest, RmdirAndRemoveErrors) {
  Caller u = User(1000, 1000);
  Wcc w;
  Attr d = MustMkdir(u, root_, "d");
  MustCreate(u, d.id, "f");
  EXPECT_THAT(vfs_->Rmdir(u, root_, "d", &w), StatusIs(Errc::kNotEmpty));
  EXPECT_THAT(vfs_->Remove(u, root_, "d", &w), StatusIs(Errc::kIsDir));
  EXPECT_THAT(vfs_->Rmdir(u, d.id, "f", &w), StatusIs(Errc::kNotDir));
  EXPECT_THAT(vfs_->Remove(u, root_, "missing", &w), StatusIs(Errc::kNotFound));
  EXPECT_THAT(vfs_->Lookup(u, d.id, std::string(256, 'a'), nullptr), StatusIs(Errc::kNameTooLong));
  Wcc cw;
  EXPECT_THAT(vfs_->Create(u, root_, "a/b", CreateMode::kGuarded, {}, 0, &cw),
              StatusIs(Errc::kInvalid));
  EXPECT_THAT(vfs_->Create(u, root_, "d", CreateMode::kGuarded, {}, 0, &cw),
              StatusIs(Errc::kExists));
  Attr f = MustCreate(u, root_, "plain");
  EXPECT_THAT(vfs_->Lookup(u, f.id, "x", nullptr), StatusIs(Errc::kNotDir));
  EXPECT_THAT(vfs_->Read(u, d.id, 0, 1), StatusIs(Errc::kIsDir));
}

// The default (POSIX) rules: any byte but '/' and NUL, and case matters.
TEST_F(VfsTest, PosixNamesAreCaseSensitive) {
  Caller u = User(1000, 1000);
  Attr upper = MustCreate(u, root_, "README");
  Attr lower = MustCreate(u, root_, "readme");
  EXPECT_NE(upper.id, lower.id);
  MustCreate(u, root_, "a:b*c?\\x\x01");
  EXPECT_THAT(vfs_->Lookup(u, root_, "ReadMe", nullptr), StatusIs(Errc::kNotFound));
}

// Windows rules (for SMB shares): names found whatever their case, kept as created; a name
// that folds equal to an existing one is taken; Windows' reserved characters are refused.
TEST_F(VfsTest, WindowsNamesAreFoundWhateverTheirCaseAndKeepIt) {
  Open(ShareOptions{.squash = Squash::kNone, .names = NameRules::Windows()});
  Caller u = User(1000, 1000);
  Wcc w, w2;
  Attr f = MustCreate(u, root_, "Straße Ωmega.TXT");
  ASSERT_OK_AND_ASSIGN(Attr found, vfs_->Lookup(u, root_, "STRAßE ωMEGA.txt", nullptr));
  EXPECT_EQ(found.id, f.id);
  EXPECT_THAT(vfs_->Create(u, root_, "straße ωmega.txt", CreateMode::kGuarded, {}, 0, &w),
              StatusIs(Errc::kExists));
  EXPECT_THAT(vfs_->Mkdir(u, root_, "STRAßE ΩMEGA.TXT", {}, &w), StatusIs(Errc::kExists));
  for (std::string bad : {"a:b", "a*", "a?", "a\"b", "a<", "a>", "a|", "a\\b", "a\x01"}) {
    EXPECT_THAT(vfs_->Create(u, root_, bad, CreateMode::kGuarded, {}, 0, &w),
                StatusIs(Errc::kInvalid))
        << bad;
  }
  // A new spelling renames the entry; the listing shows the name as last given.
  ASSERT_OK(vfs_->Rename(u, root_, "straße ωmega.txt", root_, "STRASSE", &w, &w2));
  ASSERT_OK(vfs_->Rename(u, root_, "strasse", root_, "Strasse", &w, &w2));
  ASSERT_OK_AND_ASSIGN(DirListing listing, vfs_->ReadDir(u, root_, 0, 100, false));
  ASSERT_EQ(listing.entries.size(), 1u);
  EXPECT_EQ(listing.entries[0].name, "Strasse");
  // A rename onto another file's name in another case replaces that file.
  Attr g = MustCreate(u, root_, "Other");
  ASSERT_OK(vfs_->Rename(u, root_, "OTHER", root_, "STRASSE", &w, &w2));
  ASSERT_OK_AND_ASSIGN(listing, vfs_->ReadDir(u, root_, 0, 100, false));
  ASSERT_EQ(listing.entries.size(), 1u);
  EXPECT_EQ(listing.entries[0].name, "STRASSE");
  EXPECT_EQ(listing.entries[0].inode, g.id.inode);
  // Remove and rmdir find their name whatever its case too.
  ASSERT_OK(vfs_->Remove(u, root_, "strasse", &w));
  MustMkdir(u, root_, "Dir");
  ASSERT_OK(vfs_->Rmdir(u, root_, "dIR", &w));
  ASSERT_OK_AND_ASSIGN(listing, vfs_->ReadDir(u, root_, 0, 100, false));
  EXPECT_TRUE(listing.entries.empty());
}

TEST_F(VfsTest, ExclusiveCreateIsIdempotentPerVerifier) {
  Caller u = User(1000, 1000);
  Wcc w;
  ASSERT_OK_AND_ASSIGN(Attr a, vfs_->Create(u, root_, "x", CreateMode::kExclusive, {}, 42, &w));
  ASSERT_OK_AND_ASSIGN(Attr again, vfs_->Create(u, root_, "x", CreateMode::kExclusive, {}, 42, &w));
  EXPECT_EQ(a.id, again.id);
  EXPECT_THAT(vfs_->Create(u, root_, "x", CreateMode::kExclusive, {}, 43, &w),
              StatusIs(Errc::kExists));
  // UNCHECKED over an existing file truncates when asked.
  ASSERT_OK(WriteStr(u, a.id, 0, "abc"));
  SetAttrs zero;
  zero.set_size(0);
  ASSERT_OK_AND_ASSIGN(Attr u2, vfs_->Create(u, root_, "x", CreateMode::kUnchecked, zero, 0, &w));
  EXPECT_EQ(u2.size, 0u);
  // Any other size, or another attribute, is for a file being made: an existing one keeps its
  // own (RFC 8881 §18.16.3).
  ASSERT_OK(WriteStr(u, a.id, 0, "abcdef"));
  SetAttrs other;
  other.set_size(2);
  ASSERT_OK_AND_ASSIGN(Attr u3, vfs_->Create(u, root_, "x", CreateMode::kUnchecked, other, 0, &w));
  EXPECT_EQ(u3.size, 6u);
}

TEST_F(VfsTest, AWriteOfNoBytesChangesNothing) {
  Caller u = User(1000, 1000);
  Attr f = MustCreate(u, root_, "f");
  ASSERT_OK(WriteStr(u, f.id, 0, "abc"));
  ASSERT_OK_AND_ASSIGN(Attr before, vfs_->GetAttr(u, f.id));
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  Wcc w;
  ASSERT_OK_AND_ASSIGN(WriteResult r,
                       vfs_->Write(u, f.id, 100, ByteView{}, Stability::kUnstable, &w));
  EXPECT_EQ(r.count, 0u);
  ASSERT_OK_AND_ASSIGN(Attr after, vfs_->GetAttr(u, f.id));
  EXPECT_EQ(after.size, 3u);
  EXPECT_EQ(after.mtime, before.mtime);
  EXPECT_EQ(after.change, before.change);
  // The checks still apply: a stranger without write permission is refused.
  ASSERT_OK(vfs_->SetAttr(u, f.id, SetAttrs().set_mode(0444), nullptr, &w));
  EXPECT_THAT(vfs_->Write(User(2000, 2000), f.id, 0, ByteView{}, Stability::kUnstable, &w),
              StatusIs(Errc::kAccess));
}

TEST_F(VfsTest, ReadDirCookiesSurviveChanges) {
  Caller u = User(1000, 1000);
  Attr d = MustMkdir(u, root_, "d");
  for (int i = 0; i < 100; ++i) MustCreate(u, d.id, "f" + std::to_string(i));
  ASSERT_OK_AND_ASSIGN(DirListing first, vfs_->ReadDir(u, d.id, 0, 30, false));
  ASSERT_EQ(first.entries.size(), 30u);
  EXPECT_FALSE(first.eof);
  // Remove some listed and unlisted entries, add new ones; resume from the last cookie.
  Wcc w;
  ASSERT_OK(vfs_->Remove(u, d.id, "f0", &w));
  ASSERT_OK(vfs_->Remove(u, d.id, "f50", &w));
  MustCreate(u, d.id, "new");
  std::set<std::string> seen;
  for (auto& e : first.entries) seen.insert(e.name);
  uint64_t cookie = first.entries.back().cookie;
  for (;;) {
    ASSERT_OK_AND_ASSIGN(DirListing next, vfs_->ReadDir(u, d.id, cookie, 30, true));
    for (auto& e : next.entries) {
      EXPECT_TRUE(seen.insert(e.name).second) << "listed twice: " << e.name;
      ASSERT_TRUE(e.attr.has_value());
      cookie = e.cookie;
    }
    if (next.eof) break;
  }
  EXPECT_EQ(seen.count("new"), 1u);
  EXPECT_EQ(seen.count("f50"), 0u);
  EXPECT_EQ(seen.size(), 100u);  // 100 - f50 + new (f0 was listed before its removal)
  EXPECT_THAT(vfs_->ReadDir(u, d.id, 1u << 30, 10, false), StatusIs(Errc::kBadCookie));
}

// SMB's FSCTL_SET_REPARSE_POINT turns an empty file or directory into a symlink where it is:
// same id, same name, and its parent's link count follows; DELETE_REPARSE_POINT turns it back
// into an empty file. A file with data, or a directory with entries, stays as it is.
TEST_F(VfsTest, EmptyFilesAndDirectoriesBecomeSymlinksInPlace) {
  Caller u = User(1000, 1000);
  Attr file = MustCreate(u, root_, "f");
  ASSERT_OK(vfs_->MakeSymlinkInPlace(u, file.id, "../target"));
  std::optional<Attr> dir_attr;
  ASSERT_OK_AND_ASSIGN(Attr looked, vfs_->Lookup(u, root_, "f", &dir_attr));
  EXPECT_EQ(looked.id, file.id);
  EXPECT_EQ(looked.type, FileType::kSymlink);
  ASSERT_OK_AND_ASSIGN(std::string t, vfs_->ReadLink(u, file.id, nullptr));
  EXPECT_EQ(t, "../target");
  EXPECT_EQ(looked.size, 9u);
  ASSERT_OK(vfs_->RemoveSymlinkInPlace(u, file.id));
  ASSERT_OK_AND_ASSIGN(looked, vfs_->GetAttr(u, file.id));
  EXPECT_EQ(looked.type, FileType::kRegular);
  EXPECT_EQ(looked.size, 0u);
  EXPECT_THAT(vfs_->RemoveSymlinkInPlace(u, file.id), StatusIs(Errc::kInvalid));

  ASSERT_OK(WriteStr(u, file.id, 0, "data"));
  EXPECT_THAT(vfs_->MakeSymlinkInPlace(u, file.id, "t"), StatusIs(Errc::kNotEmpty));
  EXPECT_THAT(vfs_->MakeSymlinkInPlace(User(2000, 2000), file.id, "t"), StatusIs(Errc::kAccess));

  ASSERT_OK_AND_ASSIGN(Attr root_before, vfs_->GetAttr(u, root_));
  Attr dir = MustMkdir(u, root_, "d");
  Attr inner = MustCreate(u, dir.id, "inner");
  EXPECT_THAT(vfs_->MakeSymlinkInPlace(u, dir.id, "/abs"), StatusIs(Errc::kNotEmpty));
  Wcc w;
  ASSERT_OK(vfs_->Remove(u, dir.id, "inner", &w));
  ASSERT_OK(vfs_->MakeSymlinkInPlace(u, dir.id, "/abs"));
  ASSERT_OK_AND_ASSIGN(Attr root_after, vfs_->GetAttr(u, root_));
  EXPECT_EQ(root_after.nlink, root_before.nlink);
  ASSERT_OK_AND_ASSIGN(looked, vfs_->GetAttr(u, dir.id));
  EXPECT_EQ(looked.type, FileType::kSymlink);
  EXPECT_EQ(looked.nlink, 1u);
  // Now a symlink, it goes as one (Remove, not Rmdir).
  ASSERT_OK(vfs_->Remove(u, root_, "d", &w));
  EXPECT_THAT(vfs_->MakeSymlinkInPlace(u, root_, "x"), StatusIs(Errc::kNotEmpty));
  (void)inner;
}

// A POSIX SMB client's FSCTL_SET_REPARSE_POINT with an NFS tag turns an empty file into a FIFO,
// socket or (root only) device where it is: same id, same name, same permission bits.
TEST_F(VfsTest, EmptyFilesBecomeSpecialFilesInPlace) {
  Caller u = User(1000, 1000);
  Attr fifo = MustCreate(u, root_, "p");
  ASSERT_OK(vfs_->MakeSpecialInPlace(u, fifo.id, FileType::kFifo, 7, 7));
  std::optional<Attr> dir_attr;
  ASSERT_OK_AND_ASSIGN(Attr looked, vfs_->Lookup(u, root_, "p", &dir_attr));
  EXPECT_EQ(looked.id, fifo.id);
  EXPECT_EQ(looked.type, FileType::kFifo);
  EXPECT_EQ(looked.mode & 07777, fifo.mode & 07777);
  EXPECT_EQ(looked.rdev_major, 0u);
  // Not a regular file any more.
  EXPECT_THAT(vfs_->MakeSpecialInPlace(u, fifo.id, FileType::kSocket, 0, 0),
              StatusIs(Errc::kInvalid));

  Attr dev = MustCreate(u, root_, "c");
  EXPECT_THAT(vfs_->MakeSpecialInPlace(u, dev.id, FileType::kCharDevice, 1, 3),
              StatusIs(Errc::kPerm));
  EXPECT_THAT(vfs_->MakeSpecialInPlace(u, dev.id, FileType::kDirectory, 0, 0),
              StatusIs(Errc::kBadType));
  ASSERT_OK(vfs_->MakeSpecialInPlace(User(0, 0), dev.id, FileType::kCharDevice, 1, 3));
  ASSERT_OK_AND_ASSIGN(looked, vfs_->GetAttr(u, dev.id));
  EXPECT_EQ(looked.type, FileType::kCharDevice);
  EXPECT_EQ(looked.rdev_major, 1u);
  EXPECT_EQ(looked.rdev_minor, 3u);

  Attr full = MustCreate(u, root_, "s");
  ASSERT_OK(WriteStr(u, full.id, 0, "data"));
  EXPECT_THAT(vfs_->MakeSpecialInPlace(u, full.id, FileType::kSocket, 0, 0),
              StatusIs(Errc::kNotEmpty));
  EXPECT_THAT(vfs_->MakeSpecialInPlace(User(2000, 2000), full.id, FileType::kSocket, 0, 0),
              StatusIs(Errc::kAccess));
}

TEST_F(VfsTest, SymlinksDevicesAndGuardedSetattr) {
  Caller u = User(1000, 1000);
  Wcc w;
  ASSERT_OK_AND_ASSIGN(Attr l, vfs_->Symlink(u, root_, "link", "target/path", {}, &w));
  EXPECT_EQ(l.type, FileType::kSymlink);
  ASSERT_OK_AND_ASSIGN(std::string t, vfs_->ReadLink(u, l.id, nullptr));
  EXPECT_EQ(t, "target/path");
  ASSERT_OK_AND_ASSIGN(Attr fifo, vfs_->Mknod(u, root_, "fifo", FileType::kFifo, {}, 0, 0, &w));
  EXPECT_EQ(fifo.type, FileType::kFifo);
  EXPECT_THAT(vfs_->Mknod(u, root_, "dev", FileType::kCharDevice, {}, 1, 3, &w),
              StatusIs(Errc::kPerm));
  ASSERT_OK_AND_ASSIGN(
      Attr dev, vfs_->Mknod(root_caller_, root_, "dev", FileType::kCharDevice, {}, 1, 3, &w));
  EXPECT_EQ(dev.rdev_major, 1u);
  EXPECT_EQ(dev.rdev_minor, 3u);
  Timespec wrong{1, 2};
  EXPECT_THAT(vfs_->SetAttr(u, fifo.id, Mode(0600), &wrong, &w), StatusIs(Errc::kNotSync));
  ASSERT_OK(vfs_->SetAttr(u, fifo.id, Mode(0600), &fifo.ctime, &w));
}

TEST_F(VfsTest, SharePolicyGatesClientsAndPermissionLevels) {
  ShareOptions o{.squash = Squash::kNone};
  o.policy.allowed_clients.push_back(*Cidr::Parse("10.0.0.0/8"));
  o.policy.default_permission = Permission::kRead;
  o.policy.by_uid[1000] = Permission::kReadWrite;
  o.policy.by_uid[1001] = Permission::kNone;
  Open(o);
  Caller writer = User(1000, 1000);
  writer.client_address = "10.1.1.1";
  Caller reader = User(2000, 2000);
  reader.client_address = "10.1.1.2";
  Caller banned = User(1001, 1001);
  banned.client_address = "10.1.1.3";
  Caller outsider = User(1000, 1000);
  outsider.client_address = "192.168.0.1";

  EXPECT_OK(vfs_->CheckMount(writer));
  EXPECT_OK(vfs_->CheckMount(reader));
  EXPECT_THAT(vfs_->CheckMount(banned), StatusIs(Errc::kAccess));
  EXPECT_THAT(vfs_->CheckMount(outsider), StatusIs(Errc::kAccess));
  EXPECT_THAT(vfs_->GetAttr(outsider, root_), StatusIs(Errc::kAccess));
  EXPECT_THAT(vfs_->GetAttr(banned, root_), StatusIs(Errc::kAccess));

  Attr f = MustCreate(writer, root_, "f", 0666);
  ASSERT_OK(WriteStr(writer, f.id, 0, "data"));
  EXPECT_EQ(ReadStr(reader, f.id, 0, 4), "data");
  EXPECT_THAT(WriteStr(reader, f.id, 0, "x"),
              StatusIs(Errc::kAccess));  // mode 0666, but read level
  Wcc w;
  EXPECT_THAT(vfs_->Create(reader, root_, "g", CreateMode::kGuarded, {}, 0, &w),
              StatusIs(Errc::kAccess));
  EXPECT_THAT(vfs_->Remove(reader, root_, "f", &w), StatusIs(Errc::kAccess));
  ASSERT_OK_AND_ASSIGN(uint32_t granted,
                       vfs_->Access(reader, f.id, kAccessRead | kAccessModify, nullptr));
  EXPECT_EQ(granted, uint32_t{kAccessRead});
}

TEST_F(VfsTest, AdminSquashModes) {
  Open(ShareOptions{.squash = Squash::kAllToAdmin});
  Attr f = MustCreate(User(1000, 1000), root_, "f");
  EXPECT_EQ(f.uid, 0u);
  EXPECT_EQ(f.gid, 0u);
  Open(ShareOptions{.squash = Squash::kRootToAdmin});
  Attr g = MustCreate(root_caller_, root_, "g");
  EXPECT_EQ(g.uid, 0u);
  Attr h = MustCreate(User(1000, 1000), root_, "h");
  EXPECT_EQ(h.uid, 1000u);
  Open(ShareOptions{.squash = Squash::kAllToGuest});
  Attr i = MustCreate(User(1000, 1000), root_, "i");
  EXPECT_EQ(i.uid, 65534u);
}

// Issue 12 item 5: a user logged on by name (NTLM, Kerberos) is the same user as the AUTH_SYS
// caller with its ids: ownership, group access, squashing and the share's per-uid levels depend
// on the ids alone, never on the principal's name or method.
TEST_F(VfsTest, PrincipalsActByTheirIdsWhateverTheirMethod) {
  auto as = [](Caller c, AuthMethod how, std::string name) {
    c.auth = how;
    c.user_name = std::move(name);
    return c;
  };
  Wcc w;
  Attr team = MustMkdir(root_caller_, root_, "team", 0770);  // root's, group 50
  ASSERT_OK(vfs_->SetAttr(root_caller_, team.id, SetAttrs().set_gid(50), nullptr, &w));
  Attr pub = MustMkdir(root_caller_, root_, "pub", 0777);
  // The same stores under root_to_guest, uid 1000 and root may write, everyone else only read.
  ShareOptions o{.squash = Squash::kRootToGuest, .anon_uid = 4000, .anon_gid = 4001};
  o.policy.default_permission = Permission::kRead;
  o.policy.by_uid[1000] = Permission::kReadWrite;
  o.policy.by_uid[0] = Permission::kReadWrite;
  ASSERT_OK_AND_ASSIGN(vfs_, Vfs::Open(1, "/export", *metadata_, *blocks_, o));

  const Caller sys = User(1000, 1000, {50});
  for (AuthMethod how : {AuthMethod::kSys, AuthMethod::kNtlm, AuthMethod::kKerberos}) {
    SCOPED_TRACE(std::string(AuthMethodName(how)));
    std::string tag(AuthMethodName(how));
    const Caller alice = as(sys, how, "alice");
    EXPECT_FALSE(alice.anonymous());
    // Into the directory through group 50; the new file is uid 1000's.
    Attr f = MustCreate(alice, team.id, "f-" + tag);
    EXPECT_EQ(std::make_pair(f.uid, f.gid), std::make_pair(1000u, 1000u));
    ASSERT_OK(WriteStr(alice, f.id, 0, "x"));
    // Without group 50 the same user is an outsider, whatever its name says.
    const Caller lone = as(User(1000, 1000), how, "alice");
    EXPECT_THAT(vfs_->Lookup(lone, team.id, "f-" + tag, nullptr), StatusIs(Errc::kAccess));
    // Another uid under the same name is another user: the share's default (read) level.
    const Caller impostor = as(User(2000, 2000, {50}), how, "alice");
    EXPECT_THAT(vfs_->Create(impostor, pub.id, "g-" + tag, CreateMode::kGuarded, {}, 0, &w),
                StatusIs(Errc::kAccess));
    // Root is squashed to the guest however it logged on.
    Attr r = MustCreate(as(root_caller_, how, "admin"), pub.id, "root-" + tag);
    EXPECT_EQ(std::make_pair(r.uid, r.gid), std::make_pair(4000u, 4001u));
  }
  // No identity at all: the share's anonymous one (no group 50), even with a name attached.
  const Caller none = as(sys, AuthMethod::kNone, "alice");
  EXPECT_TRUE(none.anonymous());
  EXPECT_THAT(vfs_->Lookup(none, team.id, "f-sys", nullptr), StatusIs(Errc::kAccess));
  Attr a = MustCreate(none, pub.id, "anon");
  EXPECT_EQ(std::make_pair(a.uid, a.gid), std::make_pair(4000u, 4001u));
}

TEST_F(VfsTest, ReadOnlyShareRefusesChanges) {
  Open(ShareOptions{.read_only = true, .squash = Squash::kNone});
  Wcc w;
  EXPECT_THAT(vfs_->Create(root_caller_, root_, "x", CreateMode::kGuarded, {}, 0, &w),
              StatusIs(Errc::kReadOnly));
  EXPECT_THAT(vfs_->Mkdir(root_caller_, root_, "x", {}, &w), StatusIs(Errc::kReadOnly));
}

TEST_F(VfsTest, ConcurrentCreatesInOneDirectoryAllLand) {
  Attr d = MustMkdir(root_caller_, root_, "busy", 0777);
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      Caller c = User(1000 + t, 1000);
      for (int i = 0; i < 100; ++i) {
        Wcc w;
        auto r = vfs_->Create(c, d.id, "t" + std::to_string(t) + "_" + std::to_string(i),
                              CreateMode::kGuarded, {}, 0, &w);
        EXPECT_TRUE(r.ok()) << r.status().ToString();
      }
    });
  }
  for (auto& t : threads) t.join();
  ASSERT_OK_AND_ASSIGN(DirListing all, vfs_->ReadDir(root_caller_, d.id, 0, 10000, false));
  EXPECT_EQ(all.entries.size(), 800u);
  EXPECT_TRUE(all.eof);
}

}  // namespace
}  // namespace dittofs::core

// SPDX-License-Identifier: Apache-2.0
#include "stores/metadata/postgres/postgres_metadata_store.h"

#include <fmt/format.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "stores/metadata/conformance.h"
#include "testing/postgres_server.h"
#include "testing/status_matchers.h"

namespace dittofs::stores {
namespace {

using ::dittofs::testing::PostgresServer;
using ::dittofs::testing::StatusIs;
using ::testing::HasSubstr;
using ::testing::Not;

// Synchronous commits and fsync on: the crash test below relies on them.
PostgresServer* const server =
    static_cast<PostgresServer*>(::testing::AddGlobalTestEnvironment(new PostgresServer(true)));

// A schema no other store of this binary uses.
std::string FreshSchema() { return PostgresServer::FreshSchema("t"); }

Result<std::unique_ptr<MetadataStore>> Open(const std::string& schema) {
  if (server->dsn().empty()) {
    return Status(Errc::kUnavailable,
                  "the test PostgreSQL server is not running: " + server->error());
  }
  return OpenPostgresMetadataStore({.dsn = server->dsn(), .schema = schema});
}

std::unique_ptr<MetadataStore> NewStore() {
  Result<std::unique_ptr<MetadataStore>> store = Open(FreshSchema());
  CHECK(store.ok()) << store.status().ToString();
  return std::move(store).value();
}

INSTANTIATE_TEST_SUITE_P(Postgres, MetadataStoreConformance,
                         ::testing::Values(MetadataStoreFactory{"Postgres", NewStore}),
                         MetadataStoreFactoryName);

Inode Dir(InodeId id) {
  Inode inode;
  inode.id = id;
  inode.type = FileType::kDirectory;
  inode.mode = 0755;
  inode.nlink = 2;
  inode.next_cookie = 1;  // cookie 0 is the start of a listing
  return inode;
}

// What one open of a schema committed, the next open of it finds: the root, inodes, entries,
// records; ids are not handed out twice.
TEST(PostgresMetadataStoreTest, ReopenFindsWhatWasCommitted) {
  const std::string schema = FreshSchema();
  InodeId root = 0, child = 0;
  {
    ASSERT_OK_AND_ASSIGN(std::unique_ptr<MetadataStore> store, Open(schema));
    ASSERT_OK_AND_ASSIGN(root, store->AllocateInodeId());
    ASSERT_OK(RunTransaction(*store, [&](MetadataTxn& txn) {
      txn.PutInode(Dir(root));
      txn.PutRecord(RecordTable::kChunks, "k", "v");
      return Status::Ok();
    }));
    ASSERT_OK(store->SetRoot(root));
    ASSERT_OK_AND_ASSIGN(child, store->AllocateInodeId());
    ASSERT_OK(RunTransaction(*store, [&](MetadataTxn& txn) {
      txn.PutInode(Dir(child));
      return Status::Ok();
    }));
    ASSERT_OK(AddEntry(*store, root, "sub", child).status());
  }
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<MetadataStore> store, Open(schema));
  EXPECT_EQ(store->root(), root);
  ASSERT_OK_AND_ASSIGN(Inode back, store->GetInode(child));
  EXPECT_EQ(back.type, FileType::kDirectory);
  std::unique_ptr<MetadataTxn> txn = store->Begin();
  ASSERT_OK_AND_ASSIGN(DirEntry entry, txn->Lookup(root, "sub"));
  EXPECT_EQ(entry.child, child);
  ASSERT_OK_AND_ASSIGN(std::string value, txn->GetRecord(RecordTable::kChunks, "k"));
  EXPECT_EQ(value, "v");
  ASSERT_OK_AND_ASSIGN(InodeId next, store->AllocateInodeId());
  EXPECT_GT(next, child);
}

// Two stores in one database keep apart: each in its schema.
TEST(PostgresMetadataStoreTest, SchemasKeepStoresApart) {
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<MetadataStore> a, Open(FreshSchema()));
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<MetadataStore> b, Open(FreshSchema()));
  ASSERT_OK_AND_ASSIGN(InodeId id, a->AllocateInodeId());
  ASSERT_OK(RunTransaction(*a, [&](MetadataTxn& txn) {
    txn.PutInode(Dir(id));
    return Status::Ok();
  }));
  EXPECT_OK(a->GetInode(id).status());
  EXPECT_THAT(b->GetInode(id), StatusIs(Errc::kNotFound));
  EXPECT_THAT(OpenPostgresMetadataStore({.dsn = server->dsn(), .schema = "Bad-Name"}),
              StatusIs(Errc::kInvalid));
  EXPECT_THAT(OpenPostgresMetadataStore({.dsn = server->dsn(), .schema = "public; drop"}),
              StatusIs(Errc::kInvalid));
}

TEST(PostgresMetadataStoreTest, UnreachableServerIsUnavailableWithoutSecrets) {
  const int port = ::dittofs::testing::FreeLoopbackPort();
  ASSERT_GT(port, 0);
  Result<std::unique_ptr<MetadataStore>> store = OpenPostgresMetadataStore(
      {.dsn = fmt::format("host=127.0.0.1 port={} user=dfs password=hunter2 dbname=x "
                          "connect_timeout=5",
                          port),
       .schema = "s"});
  EXPECT_THAT(store, StatusIs(Errc::kUnavailable));
  EXPECT_THAT(store.status().message(), Not(HasSubstr("hunter2")));
}

// PostgreSQL killed mid-write (SIGKILL, as a crash): calls fail with kUnavailable while it is
// down (nothing stale is served from a cache), and once it is back the store serves again on
// new connections, with every commit that returned ok there and nothing half-applied.
TEST(PostgresMetadataStoreTest, ServerCrashFailsCleanlyAndTheStoreRecovers) {
  ASSERT_FALSE(server->dsn().empty()) << server->error();
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<MetadataStore> store, Open(FreshSchema()));
  ASSERT_OK_AND_ASSIGN(InodeId dir, store->AllocateInodeId());
  ASSERT_OK(RunTransaction(*store, [&](MetadataTxn& txn) {
    txn.PutInode(Dir(dir));
    return Status::Ok();
  }));
  // A writer links files until it fails; every link it was told committed must survive.
  std::atomic<int> committed{0};
  std::atomic<bool> stop{false};
  Status writer_error;
  std::thread writer([&] {
    for (int i = 0; !stop.load(); ++i) {
      Status s = AddEntry(*store, dir, fmt::format("f{}", i), 1000 + i).status();
      if (!s.ok()) {
        writer_error = s;
        return;
      }
      committed.store(i + 1);
    }
  });
  while (committed.load() < 20 && writer_error.ok())
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  server->Kill();
  writer.join();
  EXPECT_THAT(writer_error, StatusIs(Errc::kUnavailable)) << writer_error.ToString();
  EXPECT_THAT(store->GetInode(dir), StatusIs(Errc::kUnavailable));
  ASSERT_OK(server->Restart());
  // Back: the same store object serves again.
  Result<Inode> back = store->GetInode(dir);
  for (int i = 0; i < 50 && !back.ok(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    back = store->GetInode(dir);
  }
  ASSERT_OK(back.status());
  std::unique_ptr<MetadataTxn> txn = store->Begin();
  ASSERT_OK_AND_ASSIGN(std::vector<DirEntry> entries, txn->List(dir, 0, 1 << 20));
  EXPECT_GE(entries.size(), static_cast<size_t>(committed.load()));
  EXPECT_LE(entries.size(), static_cast<size_t>(committed.load()) + 1);  // one may be in doubt
  for (int i = 0; i < committed.load(); ++i) {
    EXPECT_TRUE(txn->Lookup(dir, fmt::format("f{}", i)).ok()) << i;
  }
  stop.store(true);
}

// Lazy commits (an UNSTABLE write's size and times) that a Sync (NFS COMMIT) covered survive
// the server's crash: the Sync waits for the WAL to be on disk through all of them, which a
// transaction that writes no row would not (PostgreSQL commits those asynchronously).
TEST(PostgresMetadataStoreTest, LazyCommitsASyncCoveredSurviveACrash) {
  ASSERT_FALSE(server->dsn().empty()) << server->error();
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<MetadataStore> store, Open(FreshSchema()));
  std::vector<InodeId> ids;
  for (int i = 0; i < 50; ++i) {
    ASSERT_OK_AND_ASSIGN(InodeId id, store->AllocateInodeId());
    ids.push_back(id);
    ASSERT_OK(RunTransaction(
        *store,
        [&](MetadataTxn& txn) {
          Inode inode = Dir(id);
          inode.size = 1000 + static_cast<uint64_t>(i);
          txn.PutInode(inode);
          return Status::Ok();
        },
        Durability::kLazy));
  }
  const uint64_t syncs = store->Stats().syncs;
  ASSERT_OK(store->Sync());
  EXPECT_EQ(store->Stats().syncs, syncs + 1);
  server->Kill();
  ASSERT_OK(server->Restart());
  Result<Inode> back = store->GetInode(ids.back());
  for (int i = 0; i < 50 && back.status().code() == Errc::kUnavailable; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    back = store->GetInode(ids.back());
  }
  for (size_t i = 0; i < ids.size(); ++i) {
    Result<Inode> inode = store->GetInode(ids[i]);
    ASSERT_TRUE(inode.ok()) << i << ": " << inode.status().ToString();
    EXPECT_EQ(inode->size, 1000 + i);
  }
}

}  // namespace
}  // namespace dittofs::stores

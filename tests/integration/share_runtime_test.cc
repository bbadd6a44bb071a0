// SPDX-License-Identifier: Apache-2.0
// The per-share runtime (core::Share) under the real NFSv3 server, in this process: the test
// plays a second, stateful adapter beside NFSv3 (opens, a lease) on the very ShareState the
// NFS server uses, and changes shares through the REST API while NFS clients work on them.

#include <gtest/gtest.h>
#include <httplib.h>
#include <stdlib.h>

#include <atomic>
#include <cstdio>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <thread>

#include "config/config.h"
#include "config/store_layout.h"
#include "core/share.h"
#include "core/shares.h"
#include "core/state/lease_table.h"
#include "core/state/open_table.h"
#include "nfs_client.h"
#include "server/server.h"
#include "stores/metadata/rocksdb/rocksdb_metadata_store.h"
#include "testing/scratch_dir.h"
#include "testing/status_matchers.h"

namespace dittofs::integration {
namespace {

using json = nlohmann::json;
using namespace std::chrono_literals;

constexpr uint32_t kUid = 1000;
constexpr char kAdminPassword[] = "share-runtime-admin-password";

// The i-th record of a log: 9 bytes.
std::string Record(int i) {
  char text[16];
  std::snprintf(text, sizeof(text), "%08d\n", i);
  return text;
}

core::Caller TestCaller() {
  core::Caller c;
  c.uid = kUid;
  c.gid = kUid;
  return c;
}

class ShareRuntimeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_FALSE(dir_.path().empty());
    setenv("DITTOFS_ADMIN_INITIAL_PASSWORD", kAdminPassword, 1);
    // /export: RocksDB metadata (which a second open of its directory refuses) and localfs
    // blocks.
    std::string yaml =
        "logging: {level: warn}\n"
        "server: {state_dir: " +
        state_dir() +
        ", shutdown_timeout_s: 10}\n"
        "nfs: {bind: 127.0.0.1, port: 0}\n"
        "smb: {bind: 127.0.0.1, port: 0}\n"
        "api: {bind: 127.0.0.1, port: 0}\n"
        "shares:\n"
        "  - {name: /export, metadata: rocksdb, block: localfs}\n";
    ASSERT_OK_AND_ASSIGN(
        config::Config config,
        config::ParseConfig(yaml, [](const char*, std::string*) { return false; }));
    ASSERT_OK_AND_ASSIGN(server_, server::StartServer(config));
    http_ = std::make_unique<httplib::Client>("127.0.0.1", server_->api_port());
    auto [status, body] =
        Call("POST", "/api/v1/auth/login", {{"username", "admin"}, {"password", kAdminPassword}});
    ASSERT_EQ(status, 200) << body.dump();
    token_ = body["access_token"].get<std::string>();
    ASSERT_OK_AND_ASSIGN(client_, RawNfsClient::Connect(server_->nfs_port(), kUid, kUid));
    ASSERT_OK_AND_ASSIGN(MntReply mnt, client_->Mnt("/export"));
    ASSERT_EQ(mnt.status, MNT3_OK);
    root_ = mnt.fh;
  }
  void TearDown() override {
    client_.reset();
    if (server_) server_->Stop();
  }

  std::string state_dir() const { return dir_.path() + "/state"; }

  std::pair<int, json> Call(const std::string& method, const std::string& path,
                            const json& body = nullptr) {
    httplib::Headers auth = {{"Authorization", "Bearer " + token_}};
    std::string text = body.is_null() ? "" : body.dump();
    httplib::Result r = method == "POST"     ? http_->Post(path, auth, text, "application/json")
                        : method == "PATCH"  ? http_->Patch(path, auth, text, "application/json")
                        : method == "DELETE" ? http_->Delete(path, auth)
                                             : http_->Get(path, auth);
    if (!r) return {0, nullptr};
    return {r->status, r->body.empty() ? json(nullptr) : json::parse(r->body, nullptr, false)};
  }

  // The share the NFS server serves, as an in-process adapter reaches it.
  std::shared_ptr<core::Share> Export() { return server_->shares().ByName("/export"); }

  FileHandle MustCreate(const std::string& name, std::string_view data) {
    Result<CreatedReply> created = client_->Create(root_, name, GUARDED, ModeAttrs(0644));
    EXPECT_TRUE(created.ok() && created->status == NFS3_OK && created->has_fh);
    if (!created.ok()) return {};
    Result<WRITE3res> written = client_->Write(created->fh, 0, data, FILE_SYNC);
    EXPECT_TRUE(written.ok() && written->status == NFS3_OK);
    return created->fh;
  }

  std::string NfsRead(const FileHandle& fh) {
    Result<ReadReply> r = client_->Read(fh, 0, 1 << 20);
    if (!r.ok()) return "<" + r.status().ToString() + ">";
    if (r->status != NFS3_OK) return "<nfsstat3 " + std::to_string(r->status) + ">";
    return r->data;
  }

  testing::ScratchDir dir_{"share-runtime"};
  std::unique_ptr<server::Server> server_;
  std::unique_ptr<httplib::Client> http_;
  std::string token_;
  std::unique_ptr<RawNfsClient> client_;
  FileHandle root_;
};

// Issue 12: a file a state-manager open holds survives an NFSv3 REMOVE (readable and writable
// through the open and through its handle) and is freed after the last close.
TEST_F(ShareRuntimeTest, FileOpenedThroughTheRuntimeSurvivesNfsRemoveUntilItsLastClose) {
  FileHandle fh = MustCreate("kept", "kept open");
  std::shared_ptr<core::Share> share = Export();
  ASSERT_NE(share, nullptr);
  core::FileId file;
  core::OpenTable::OpenId open;
  {
    ASSERT_OK_AND_ASSIGN(core::ShareUse use, share->Use());
    ASSERT_OK_AND_ASSIGN(core::Attr attr, use->Lookup(TestCaller(), use->root(), "kept", nullptr));
    file = attr.id;
    ASSERT_OK_AND_ASSIGN(open, use->OpenFile(TestCaller(), file, core::kReadData | core::kWriteData,
                                             core::kShareAll));
  }
  ASSERT_OK_AND_ASSIGN(REMOVE3res removed, client_->Remove(root_, "kept"));
  ASSERT_EQ(removed.status, NFS3_OK);
  ASSERT_OK_AND_ASSIGN(LookupReply gone, client_->Lookup(root_, "kept"));
  EXPECT_EQ(gone.status, NFS3ERR_NOENT);
  // Through its handle: still readable and writable.
  EXPECT_EQ(NfsRead(fh), "kept open");
  ASSERT_OK_AND_ASSIGN(WRITE3res written, client_->Write(fh, 0, "KEPT", FILE_SYNC));
  EXPECT_EQ(written.status, NFS3_OK);
  {
    // Through the open: the adapter reads what NFS wrote, and writes in its turn.
    ASSERT_OK_AND_ASSIGN(core::ShareUse use, share->Use());
    ASSERT_OK_AND_ASSIGN(core::ReadResult read, use->Read(TestCaller(), file, 0, 100));
    std::string text;
    for (ByteView piece : read.data.pieces) text.append(AsChars(piece));
    EXPECT_EQ(text, "KEPT open");
    core::Wcc wcc;
    ASSERT_OK(use->Write(TestCaller(), file, 5, AsBytes(std::string_view("OPEN")),
                         core::Stability::kFileSync, &wcc)
                  .status());
  }
  EXPECT_EQ(NfsRead(fh), "KEPT OPEN");
  ASSERT_OK_AND_ASSIGN(GETATTR3res orphan, client_->Getattr(fh));
  ASSERT_EQ(orphan.status, NFS3_OK);
  EXPECT_EQ(orphan.GETATTR3res_u.resok.obj_attributes.nlink, 0u);
  {
    ASSERT_OK_AND_ASSIGN(core::ShareUse use, share->Use());
    ASSERT_OK(use->CloseFile(open));
  }
  ASSERT_OK_AND_ASSIGN(GETATTR3res freed, client_->Getattr(fh));
  EXPECT_EQ(freed.status, NFS3ERR_STALE);
}

// Issue 12: a lease a test adapter holds is broken by an NFSv3 WRITE before the write is
// applied: JUKEBOX first, the break reaches the holder, the file is unchanged; once the holder
// acknowledges, the retried WRITE goes through.
TEST_F(ShareRuntimeTest, NfsWriteBreaksATestAdaptersLeaseBeforeItIsApplied) {
  FileHandle fh = MustCreate("leased", "cached by a lease");
  std::shared_ptr<core::Share> share = Export();
  ASSERT_NE(share, nullptr);
  core::FileId file;
  {
    ASSERT_OK_AND_ASSIGN(core::ShareUse use, share->Use());
    ASSERT_OK_AND_ASSIGN(core::Attr attr,
                         use->Lookup(TestCaller(), use->root(), "leased", nullptr));
    file = attr.id;
  }
  constexpr uint64_t kHolder = 42;
  std::atomic<int> breaks{0};
  std::atomic<uint8_t> broken_to{0xff};
  core::LeaseTable& leases = share->state().leases;
  ASSERT_OK_AND_ASSIGN(core::LeaseTable::Granted grant,
                       leases.Request(file.inode, kHolder, core::GrantKind::kLease,
                                      core::kCacheRead | core::kCacheHandle,
                                      [&](core::LeaseTable::GrantId, uint8_t to, uint16_t) {
                                        broken_to = to;
                                        ++breaks;
                                      }));
  ASSERT_EQ(grant.state, core::kCacheRead | core::kCacheHandle);

  ASSERT_OK_AND_ASSIGN(WRITE3res first, client_->Write(fh, 0, "WRITTEN", FILE_SYNC));
  EXPECT_EQ(first.status, NFS3ERR_JUKEBOX);
  EXPECT_EQ(breaks.load(), 1);
  EXPECT_EQ(broken_to.load(), core::kCacheHandle);  // a write breaks R, the handle stays
  EXPECT_EQ(NfsRead(fh), "cached by a lease") << "the write was applied before the break";
  // Until the holder answers, retries wait too.
  ASSERT_OK_AND_ASSIGN(WRITE3res again, client_->Write(fh, 0, "WRITTEN", FILE_SYNC));
  EXPECT_EQ(again.status, NFS3ERR_JUKEBOX);
  EXPECT_EQ(NfsRead(fh), "cached by a lease");

  ASSERT_OK(leases.Acknowledge(grant.id, core::kCacheHandle));
  ASSERT_OK_AND_ASSIGN(WRITE3res retried, client_->Write(fh, 0, "WRITTEN", FILE_SYNC));
  EXPECT_EQ(retried.status, NFS3_OK);
  EXPECT_EQ(NfsRead(fh), "WRITTENby a lease");
  EXPECT_EQ(breaks.load(), 1);
}

// Issue 12: changing a share's block store while clients write no longer fails (it reopened
// the share's RocksDB while the old handle was open); what was written is all there, on the
// new store, and the writers were only asked to retry meanwhile.
TEST_F(ShareRuntimeTest, ChangingTheBlockStoreWhileClientsWriteLosesNothing) {
  std::string other = dir_.path() + "/other-blocks";
  auto [made, made_body] =
      Call("POST", "/api/v1/stores/block",
           {{"name", "other"}, {"type", "localfs"}, {"config", {{"path", other}}}});
  ASSERT_EQ(made, 201) << made_body.dump();
  FileHandle fh = MustCreate("log", "");
  std::atomic<bool> stop{false};
  std::atomic<int> written{0}, jukebox{0}, failures{0};
  std::thread writer([&] {
    Result<std::unique_ptr<RawNfsClient>> c =
        RawNfsClient::Connect(server_->nfs_port(), kUid, kUid);
    if (!c.ok()) {
      ++failures;
      return;
    }
    for (int i = 0; !stop || i < 50; ++i) {
      std::string record = Record(i);
      for (;;) {
        Result<WRITE3res> w = (*c)->Write(fh, uint64_t{9} * i, record, FILE_SYNC);
        if (w.ok() && w->status == NFS3ERR_JUKEBOX) {
          ++jukebox;
          std::this_thread::sleep_for(5ms);
          continue;
        }
        if (!w.ok() || w->status != NFS3_OK) ++failures;
        break;
      }
      written = i + 1;
    }
  });
  while (written < 20) std::this_thread::sleep_for(1ms);
  auto [patched, body] = Call("PATCH", "/api/v1/shares/%2Fexport", {{"block_store", "other"}});
  EXPECT_EQ(patched, 200) << body.dump();
  stop = true;
  writer.join();
  EXPECT_EQ(failures.load(), 0);
  std::string expected;
  for (int i = 0; i < written; ++i) expected += Record(i);
  EXPECT_EQ(NfsRead(fh), expected);
  auto [got, status] = Call("GET", "/api/v1/shares/%2Fexport/status");
  ASSERT_EQ(got, 200);
  EXPECT_EQ(status["block_store"], "localfs");
  EXPECT_GT(status["used_bytes"].get<uint64_t>(), 0u);
  // The data is in the new store's directory of the share.
  std::string share_dir = other + "/" + config::ShareDirName("/export");
  ASSERT_TRUE(std::filesystem::exists(share_dir));
  EXPECT_FALSE(std::filesystem::is_empty(share_dir));
  // The share is still served, under the handles it gave before.
  ASSERT_OK_AND_ASSIGN(GETATTR3res attr, client_->Getattr(root_));
  EXPECT_EQ(attr.status, NFS3_OK);
}

// Issue 12: a share deleted through the API is drained and its stores closed before the call
// returns: its RocksDB directory opens again at once.
TEST_F(ShareRuntimeTest, DeletingAShareClosesItsStoresBeforeTheCallReturns) {
  FileHandle fh = MustCreate("f", "data");
  std::string metadata_dir = state_dir() + "/metadata/" + config::ShareDirName("/export");
  stores::RocksDbMetadataStoreOptions o;
  o.path = metadata_dir;
  EXPECT_FALSE(stores::OpenRocksDbMetadataStore(o).ok()) << "the running share holds it";
  auto [status, body] = Call("DELETE", "/api/v1/shares/%2Fexport");
  ASSERT_EQ(status, 204) << body.dump();
  EXPECT_OK(stores::OpenRocksDbMetadataStore(o).status());
  ASSERT_OK_AND_ASSIGN(GETATTR3res gone, client_->Getattr(fh));
  EXPECT_EQ(gone.status, NFS3ERR_STALE);
}

}  // namespace
}  // namespace dittofs::integration

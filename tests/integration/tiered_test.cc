// SPDX-License-Identifier: Apache-2.0
// The durable (tiered) share end to end: a real dfs process, NFS clients writing, the REST API
// syncing to the filesystem remote, and the remote's objects inspected and damaged on disk.

#include <gtest/gtest.h>
#include <httplib.h>

#include <atomic>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <unordered_set>
#include <vector>

#include "dfs_process.h"
#include "nfs_client.h"
#include "testing/random_bytes.h"
#include "testing/status_matchers.h"

namespace dittofs::integration {
namespace {

using json = nlohmann::json;
namespace fs = std::filesystem;

constexpr size_t kMiB = 1 << 20;

using ::dittofs::testing::RandomString;

std::string ReadFile(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

class TieredShareTest : public ::testing::Test {
 protected:
  // Starts dfs with one tiered share; `tiered` is the share's `tiered:` map.
  void StartServer(const std::string& tiered, std::vector<std::string> env = {}) {
    DfsOptions options;
    options.shares[0].metadata = "rocksdb";
    options.shares[0].block = "tiered";
    options.shares[0].tiered = tiered;
    options.env = std::move(env);
    ASSERT_OK_AND_ASSIGN(server_, DfsProcess::Start(DFS_BINARY, options));
    http_ = std::make_unique<httplib::Client>("127.0.0.1", server_->api_port());
    http_->set_read_timeout(300, 0);  // a sync lasts as long as the uploads (slow under ASan)
    // The first login must replace the generated password.
    Login(server_->admin_password());
    ASSERT_EQ(Call("POST", "/api/v1/auth/password",
                   {{"current_password", server_->admin_password()},
                    {"new_password", "a-new-admin-password"}})
                  .first,
              204);
    Login("a-new-admin-password");
  }
  void TearDown() override {
    if (server_ == nullptr) return;
    Result<int> rc = server_->Stop();
    EXPECT_TRUE(rc.ok() && *rc == 0) << server_->Log();
  }
  Status Restart() {
    RETURN_IF_ERROR(server_->StartAgain());
    http_ = std::make_unique<httplib::Client>("127.0.0.1", server_->api_port());
    http_->set_read_timeout(300, 0);
    Login("a-new-admin-password");
    return Status::Ok();
  }

  std::pair<int, json> Call(const std::string& method, const std::string& path,
                            const json& body = nullptr) {
    httplib::Headers auth = {{"Authorization", "Bearer " + token_}};
    std::string text = body.is_null() ? "" : body.dump();
    httplib::Result r = method == "POST"    ? http_->Post(path, auth, text, "application/json")
                        : method == "PATCH" ? http_->Patch(path, auth, text, "application/json")
                                            : http_->Get(path, auth);
    if (!r) return {0, nullptr};
    return {r->status, r->body.empty() ? json(nullptr) : json::parse(r->body, nullptr, false)};
  }
  void Login(const std::string& password) {
    auto [status, body] =
        Call("POST", "/api/v1/auth/login", {{"username", "admin"}, {"password", password}});
    ASSERT_EQ(status, 200) << body.dump();
    token_ = body["access_token"].get<std::string>();
  }
  // Uploads everything the share holds; returns its storage status afterwards.
  json Sync() {
    auto [status, body] = Call("POST", "/api/v1/shares/%2Fexport/sync");
    EXPECT_EQ(status, 204) << body.dump();
    auto [s2, st] = Call("GET", "/api/v1/shares/%2Fexport/status");
    EXPECT_EQ(s2, 200) << st.dump();
    return st;
  }

  fs::path State() const { return fs::path(server_->dir()) / "state"; }
  fs::path Journal() const { return State() / "blocks" / "export"; }
  fs::path Remote() const { return State() / "remote" / "export"; }
  // Every object file of the filesystem remote (of the share's place `remote`).
  std::vector<fs::path> Objects(const fs::path& remote) const {
    std::vector<fs::path> out;
    if (!fs::exists(remote)) return out;
    for (const auto& e : fs::recursive_directory_iterator(remote)) {
      if (e.is_regular_file()) out.push_back(e.path());
    }
    return out;
  }
  std::vector<fs::path> Objects() const { return Objects(Remote() / "objects"); }
  uint64_t RemoteBytes() const {
    uint64_t n = 0;
    for (const fs::path& p : Objects()) n += fs::file_size(p);
    return n;
  }

  // Writes `data` as a new file `name` (FILE_SYNC, 1 MiB at a time).
  void WriteFile(RawNfsClient& client, const FileHandle& root, const std::string& name,
                 const std::string& data) {
    ASSERT_OK_AND_ASSIGN(CreatedReply c, client.Create(root, name, GUARDED, ModeAttrs(0644)));
    ASSERT_EQ(c.status, NFS3_OK);
    for (size_t at = 0; at < data.size(); at += kMiB) {
      ASSERT_OK_AND_ASSIGN(
          WRITE3res w, client.Write(c.fh, at, std::string_view(data).substr(at, kMiB), FILE_SYNC));
      ASSERT_EQ(w.status, NFS3_OK);
    }
  }
  // Reads `size` bytes of `name`; the NFS status of the first failing read, or the bytes.
  std::pair<nfsstat3, std::string> ReadBack(const std::string& name, size_t size) {
    auto client = RawNfsClient::Connect(server_->port(), 0, 0);
    EXPECT_OK(client.status());
    if (!client.ok()) return {NFS3ERR_SERVERFAULT, ""};
    Result<MntReply> mnt = (*client)->Mnt("/export");
    EXPECT_TRUE(mnt.ok() && mnt->status == MNT3_OK);
    Result<LookupReply> l = (*client)->Lookup(mnt->fh, name);
    EXPECT_TRUE(l.ok() && l->status == NFS3_OK);
    std::string out;
    while (out.size() < size) {
      Result<ReadReply> r = (*client)->Read(l->fh, out.size(), kMiB);
      EXPECT_OK(r.status());
      if (!r.ok()) return {NFS3ERR_SERVERFAULT, out};
      if (r->status != NFS3_OK) return {r->status, out};
      if (r->data.empty()) break;
      out += r->data;
    }
    return {NFS3_OK, out};
  }

  std::unique_ptr<DfsProcess> server_;
  std::unique_ptr<httplib::Client> http_;
  std::string token_;
};

TEST_F(TieredShareTest, UploadedDataReadsBackWithoutTheJournalAndDamageIsAnIoError) {
  StartServer("{compression: zstd, chunk_min: 16KiB, chunk_avg: 64KiB, chunk_max: 256KiB}");
  std::string data = RandomString(3 * kMiB + 777, 1);
  {
    ASSERT_OK_AND_ASSIGN(auto client, RawNfsClient::Connect(server_->port(), 0, 0));
    ASSERT_OK_AND_ASSIGN(MntReply mnt, client->Mnt("/export"));
    WriteFile(*client, mnt.fh, "f", data);
  }
  json st = Sync();
  EXPECT_EQ(st["journal"]["dirty_bytes"], 0) << st.dump();
  EXPECT_GT(st["objects_uploaded"].get<uint64_t>(), 0u) << st.dump();

  // The local journal lost (everything was uploaded): reads come from the remote.
  ASSERT_OK_AND_ASSIGN(int code, server_->Stop());
  ASSERT_EQ(code, 0);
  fs::remove_all(Journal());
  ASSERT_OK(Restart());
  auto [status, got] = ReadBack("f", data.size());
  EXPECT_EQ(status, NFS3_OK);
  EXPECT_TRUE(got == data);

  // One flipped byte in every object: the read fails with EIO and is counted, never wrong bytes.
  ASSERT_OK_AND_ASSIGN(code, server_->Stop());
  ASSERT_EQ(code, 0);
  for (const fs::path& p : Objects()) {
    std::string bytes = ReadFile(p);
    bytes[bytes.size() / 3] ^= 0x20;
    std::ofstream(p, std::ios::binary | std::ios::trunc) << bytes;
  }
  ASSERT_OK(Restart());
  auto [bad_status, partial] = ReadBack("f", data.size());
  EXPECT_EQ(bad_status, NFS3ERR_IO);
  auto [s, after] = Call("GET", "/api/v1/shares/%2Fexport/status");
  ASSERT_EQ(s, 200);
  EXPECT_GE(after["corruption_events"].get<uint64_t>(), 1u) << after.dump();
}

TEST_F(TieredShareTest, EncryptedRemoteHoldsNoPlaintextAndAWrongPassphraseStopsTheStart) {
  StartServer("{encryption: aes-256-gcm, compression: none}",
              {"DITTOFS_KEY_PASSPHRASE=correct horse battery staple"});
  std::string data = RandomString(2 * kMiB, 2);
  {
    ASSERT_OK_AND_ASSIGN(auto client, RawNfsClient::Connect(server_->port(), 0, 0));
    ASSERT_OK_AND_ASSIGN(MntReply mnt, client->Mnt("/export"));
    WriteFile(*client, mnt.fh, "secret", data);
  }
  Sync();
  // No 64-byte run of the file in any object: every such run would contain a whole 32-byte
  // block of the file at a multiple of 32.
  std::unordered_set<std::string> blocks;
  for (size_t i = 0; i + 32 <= data.size(); i += 32) blocks.insert(data.substr(i, 32));
  std::vector<fs::path> objects = Objects();
  ASSERT_FALSE(objects.empty());
  for (const fs::path& p : objects) {
    std::string bytes = ReadFile(p);
    for (size_t i = 0; i + 32 <= bytes.size(); ++i) {
      ASSERT_FALSE(blocks.contains(bytes.substr(i, 32))) << p << " holds plaintext at " << i;
    }
  }
  EXPECT_TRUE(fs::exists(State() / "keys" / "export.key"));

  ASSERT_OK_AND_ASSIGN(int code, server_->Stop());
  ASSERT_EQ(code, 0);
  server_->set_env({"DITTOFS_KEY_PASSPHRASE=wrong"});
  EXPECT_FALSE(server_->StartAgain().ok());
  EXPECT_NE(server_->Log().find("wrong passphrase"), std::string::npos) << server_->Log();
  server_->set_env({});
  EXPECT_FALSE(server_->StartAgain().ok());
  EXPECT_NE(server_->Log().find("DITTOFS_KEY_PASSPHRASE"), std::string::npos) << server_->Log();

  server_->set_env({"DITTOFS_KEY_PASSPHRASE=correct horse battery staple"});
  fs::remove_all(Journal());  // read from the remote, decrypting
  ASSERT_OK(Restart());
  auto [status, got] = ReadBack("secret", data.size());
  EXPECT_EQ(status, NFS3_OK);
  EXPECT_TRUE(got == data);
}

TEST_F(TieredShareTest, TheSameDataUnderTenNamesIsStoredOnce) {
  StartServer("{compression: lz4}");
  const size_t size = 16 * kMiB;
  std::string data = RandomString(size, 3);
  {
    ASSERT_OK_AND_ASSIGN(auto client, RawNfsClient::Connect(server_->port(), 0, 0));
    ASSERT_OK_AND_ASSIGN(MntReply mnt, client->Mnt("/export"));
    for (int i = 0; i < 10; ++i) WriteFile(*client, mnt.fh, "copy" + std::to_string(i), data);
  }
  json st = Sync();
  uint64_t stored = RemoteBytes();
  EXPECT_GE(stored, size);
  EXPECT_LE(stored, size + size / 20) << st.dump();
  EXPECT_GE(st["deduplicated_bytes"].get<uint64_t>(), 9 * size - size / 20) << st.dump();
}

// The i-th record of a log: 9 bytes.
std::string Record(int i) {
  char text[16];
  std::snprintf(text, sizeof(text), "%08d\n", i);
  return text;
}

// A share moves from one tiered store to another (each with its own filesystem remote) while a
// client writes: the new store gets its own chunk index namespace in the share's metadata
// store, every byte reads back, the old store's objects are deleted, and after a restart the
// data reads back from the new store's remote alone.
TEST_F(TieredShareTest, MovingToAnotherTieredStoreWhileAClientWritesKeepsEveryByte) {
  StartServer("{chunk_min: 16KiB, chunk_avg: 64KiB, chunk_max: 256KiB}");
  const std::string data = RandomString(3 * kMiB + 777, 7);
  FileHandle log;
  {
    ASSERT_OK_AND_ASSIGN(auto client, RawNfsClient::Connect(server_->port(), 0, 0));
    ASSERT_OK_AND_ASSIGN(MntReply mnt, client->Mnt("/export"));
    WriteFile(*client, mnt.fh, "before", data);
    ASSERT_OK_AND_ASSIGN(CreatedReply c, client->Create(mnt.fh, "log", GUARDED, ModeAttrs(0644)));
    ASSERT_EQ(c.status, NFS3_OK);
    log = c.fh;
  }
  json st = Sync();
  ASSERT_GT(st["objects_uploaded"].get<uint64_t>(), 0u) << st.dump();
  ASSERT_FALSE(Objects().empty());

  const fs::path other = fs::path(server_->dir()) / "other";
  auto [made, made_body] =
      Call("POST", "/api/v1/stores/block",
           {{"name", "other"},
            {"type", "tiered"},
            {"config",
             {{"dir", (other / "journal").string()},
              {"cache_size", "64MiB"},
              {"segment_size", "1MiB"},
              {"remote", {{"type", "fs"}, {"path", (other / "remote").string()}}}}}});
  ASSERT_EQ(made, 201) << made_body.dump();

  std::atomic<bool> stop{false};
  std::atomic<int> written{0}, failures{0};
  std::thread writer([&] {
    Result<std::unique_ptr<RawNfsClient>> c = RawNfsClient::Connect(server_->port(), 0, 0);
    if (!c.ok()) {
      ++failures;
      return;
    }
    for (int i = 0; !stop || i < 50; ++i) {
      std::string record = Record(i);
      for (;;) {
        Result<WRITE3res> w = (*c)->Write(log, uint64_t{9} * i, record, FILE_SYNC);
        if (w.ok() && w->status == NFS3ERR_JUKEBOX) {  // the share is being moved
          std::this_thread::sleep_for(std::chrono::milliseconds(5));
          continue;
        }
        if (!w.ok() || w->status != NFS3_OK) ++failures;
        break;
      }
      written = i + 1;
    }
  });
  while (written < 20 && failures == 0) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  http_->set_write_timeout(300, 0);
  auto [patched, body] = Call("PATCH", "/api/v1/shares/%2Fexport", {{"block_store", "other"}});
  stop = true;
  writer.join();
  ASSERT_EQ(patched, 200) << body.dump() << server_->Log();
  EXPECT_EQ(failures.load(), 0);
  std::string expected;
  for (int i = 0; i < written; ++i) expected += Record(i);

  auto check = [&](const char* when) {
    auto [status, got] = ReadBack("before", data.size());
    EXPECT_EQ(status, NFS3_OK) << when;
    EXPECT_TRUE(got == data) << when;
    auto [log_status, log_got] = ReadBack("log", expected.size());
    EXPECT_EQ(log_status, NFS3_OK) << when;
    EXPECT_EQ(log_got, expected) << when;
  };
  check("after the move");
  EXPECT_TRUE(Objects().empty()) << "the old store's objects are deleted";
  st = Sync();
  EXPECT_GT(st["objects_uploaded"].get<uint64_t>(), 0u) << st.dump();
  const fs::path other_remote = other / "remote" / "export";
  EXPECT_FALSE(Objects(other_remote).empty());

  // Only the new remote is left to read from: the journals go, and the old remote is gone.
  ASSERT_OK_AND_ASSIGN(int code, server_->Stop());
  ASSERT_EQ(code, 0);
  fs::remove_all(Journal());
  fs::remove_all(other / "journal");
  fs::remove_all(Remote());
  ASSERT_OK(Restart());
  check("after a restart");
  EXPECT_TRUE(Objects().empty());
  auto [s2, status] = Call("GET", "/api/v1/shares/%2Fexport/status");
  ASSERT_EQ(s2, 200);
  EXPECT_GT(status["chunks_fetched"].get<uint64_t>(), 0u) << status.dump();
}

// Bytes of the regular files under `dir` (0 when it does not exist).
uint64_t BytesUnder(const fs::path& dir) {
  uint64_t n = 0;
  std::error_code ec;
  for (fs::recursive_directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    std::error_code size_ec;
    if (it->is_regular_file(size_ec)) n += it->file_size(size_ec);
  }
  return n;
}

// The server dies while a share's data is being copied to another tiered store: the move was
// not committed, so the next start serves the share from the old store, intact, and moves it
// again. Every byte reads back, from the new store.
TEST_F(TieredShareTest, AMoveCutShortByACrashIsDoneAgainAtTheNextStart) {
  StartServer("{chunk_min: 16KiB, chunk_avg: 64KiB, chunk_max: 256KiB}");
  std::vector<std::string> data;
  {
    ASSERT_OK_AND_ASSIGN(auto client, RawNfsClient::Connect(server_->port(), 0, 0));
    ASSERT_OK_AND_ASSIGN(MntReply mnt, client->Mnt("/export"));
    for (int i = 0; i < 4; ++i) {
      data.push_back(RandomString(8 * kMiB + 13 * i, 20 + i));
      WriteFile(*client, mnt.fh, "f" + std::to_string(i), data.back());
    }
  }
  Sync();
  const fs::path other = fs::path(server_->dir()) / "other";
  auto [made, made_body] =
      Call("POST", "/api/v1/stores/block",
           {{"name", "other"},
            {"type", "tiered"},
            {"config",
             {{"dir", (other / "journal").string()},
              {"cache_size", "256MiB"},
              {"remote", {{"type", "fs"}, {"path", (other / "remote").string()}}}}}});
  ASSERT_EQ(made, 201) << made_body.dump();

  std::atomic<bool> answered{false};
  std::thread patch([&] {
    // 0: the crash cut the call short.
    answered = Call("PATCH", "/api/v1/shares/%2Fexport", {{"block_store", "other"}}).first != 0;
  });
  // Killed once part of the data is in the new store's journal.
  while (!answered && BytesUnder(other / "journal") < 6 * kMiB) {
    std::this_thread::sleep_for(std::chrono::microseconds(200));
  }
  ASSERT_OK(server_->Kill());
  patch.join();
  // Before its commit for sure: not all of the data had reached the new journal.
  const bool cut_short = BytesUnder(other / "journal") < 4 * 8 * kMiB;

  ASSERT_OK(Restart());
  if (cut_short) {
    EXPECT_NE(server_->Log().find("did not finish"), std::string::npos) << server_->Log();
  }
  for (int i = 0; i < 4; ++i) {
    auto [status, got] = ReadBack("f" + std::to_string(i), data[i].size());
    EXPECT_EQ(status, NFS3_OK) << i;
    EXPECT_TRUE(got == data[i]) << i;
  }
  // On the new store now: its sync uploads to the new remote, and the old objects are gone.
  Sync();
  EXPECT_FALSE(Objects(other / "remote" / "export").empty());
  // (A crash after the commit, before the old store's deletion, would leave them behind.)
  if (cut_short) {
    EXPECT_TRUE(Objects().empty());
  }
  ASSERT_OK_AND_ASSIGN(int code, server_->Stop());
  ASSERT_EQ(code, 0);
  fs::remove_all(Journal());
  fs::remove_all(other / "journal");
  ASSERT_OK(Restart());
  for (int i = 0; i < 4; ++i) {
    auto [status, got] = ReadBack("f" + std::to_string(i), data[i].size());
    EXPECT_EQ(status, NFS3_OK) << i;
    EXPECT_TRUE(got == data[i]) << i;
  }
}

}  // namespace
}  // namespace dittofs::integration

// SPDX-License-Identifier: Apache-2.0
// Shares on disk, end to end (issue 11): a real dfs process, shares made over the REST API, and
// NFS clients checking that each share sees only its own files. The naming rule before
// config::ShareDirName folded every byte but [A-Za-z0-9-] to '_', so "/team_a" and "/team.a"
// shared their directories: each saw and overwrote the other's files, and on one RocksDB store
// the second could not even open.

#include <gtest/gtest.h>
#include <httplib.h>

#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "dfs_process.h"
#include "nfs_client.h"
#include "testing/status_matchers.h"

namespace dittofs::integration {
namespace {

using json = nlohmann::json;
namespace fs = std::filesystem;

class ShareIsolationTest : public ::testing::Test {
 protected:
  void StartServer(const DfsOptions& options) {
    ASSERT_OK_AND_ASSIGN(server_, DfsProcess::Start(DFS_BINARY, options));
    ASSERT_NO_FATAL_FAILURE(Connect());
    // The first login must replace the generated password.
    ASSERT_NO_FATAL_FAILURE(Login(server_->admin_password()));
    ASSERT_EQ(Call("POST", "/api/v1/auth/password",
                   {{"current_password", server_->admin_password()},
                    {"new_password", "a-new-admin-password"}})
                  .first,
              204);
    ASSERT_NO_FATAL_FAILURE(Login("a-new-admin-password"));
  }
  void TearDown() override {
    if (server_ == nullptr) return;
    Result<int> rc = server_->Stop();
    EXPECT_TRUE(rc.ok() && *rc == 0) << server_->Log();
  }
  void Connect() {
    http_ = std::make_unique<httplib::Client>("127.0.0.1", server_->api_port());
    http_->set_read_timeout(300, 0);  // a sync lasts as long as its uploads
  }
  void Login(const std::string& password) {
    auto [status, body] =
        Call("POST", "/api/v1/auth/login", {{"username", "admin"}, {"password", password}});
    ASSERT_EQ(status, 200) << body.dump();
    token_ = body["access_token"].get<std::string>();
  }

  std::pair<int, json> Call(const std::string& method, const std::string& path,
                            const json& body = nullptr) {
    httplib::Headers auth = {{"Authorization", "Bearer " + token_}};
    std::string text = body.is_null() ? "" : body.dump();
    httplib::Result r = method == "POST" ? http_->Post(path, auth, text, "application/json")
                                         : http_->Get(path, auth);
    if (!r) return {0, nullptr};
    return {r->status, r->body.empty() ? json(nullptr) : json::parse(r->body, nullptr, false)};
  }
  // `share` ("/team_a") as a path segment of the API.
  static std::string Segment(const std::string& share) { return "%2F" + share.substr(1); }

  void CreateShare(const std::string& share, const std::string& metadata,
                   const std::string& blocks) {
    auto [status, body] = Call("POST", "/api/v1/shares",
                               {{"name", share},
                                {"metadata_store", metadata},
                                {"block_store", blocks},
                                {"default_permission", "read-write"},
                                {"root_mode", "1777"}});
    ASSERT_EQ(status, 201) << share << ": " << body.dump() << "\n" << server_->Log();
  }

  // Writes `data` to a new file `name` at the root of `share`, durably.
  void WriteFile(const std::string& share, const std::string& name, const std::string& data) {
    ASSERT_OK_AND_ASSIGN(std::unique_ptr<RawNfsClient> client,
                         RawNfsClient::Connect(server_->port(), 1000, 1000));
    ASSERT_OK_AND_ASSIGN(MntReply mnt, client->Mnt(share));
    ASSERT_EQ(mnt.status, MNT3_OK) << share;
    ASSERT_OK_AND_ASSIGN(CreatedReply created,
                         client->Create(mnt.fh, name, GUARDED, ModeAttrs(0644)));
    ASSERT_EQ(created.status, NFS3_OK) << share << " " << name;
    ASSERT_OK_AND_ASSIGN(WRITE3res written, client->Write(created.fh, 0, data, FILE_SYNC));
    ASSERT_EQ(written.status, NFS3_OK);
  }

  // Every file at the root of `share`, with its contents.
  std::map<std::string, std::string> Files(const std::string& share) {
    std::map<std::string, std::string> out;
    Result<std::unique_ptr<RawNfsClient>> client =
        RawNfsClient::Connect(server_->port(), 1000, 1000);
    EXPECT_OK(client.status());
    if (!client.ok()) return out;
    Result<MntReply> mnt = (*client)->Mnt(share);
    EXPECT_TRUE(mnt.ok() && mnt->status == MNT3_OK) << share;
    if (!mnt.ok() || mnt->status != MNT3_OK) return out;
    Result<ReaddirReply> list = (*client)->Readdir(mnt->fh, 0, CookieVerf{}, 65536);
    EXPECT_TRUE(list.ok() && list->status == NFS3_OK && list->eof) << share;
    if (!list.ok()) return out;
    for (const DirEntry& entry : list->entries) {
      if (entry.name == "." || entry.name == "..") continue;
      Result<LookupReply> found = (*client)->Lookup(mnt->fh, entry.name);
      EXPECT_TRUE(found.ok() && found->status == NFS3_OK) << share << " " << entry.name;
      if (!found.ok() || found->status != NFS3_OK) continue;
      Result<ReadReply> read = (*client)->Read(found->fh, 0, 65536);
      EXPECT_TRUE(read.ok() && read->status == NFS3_OK) << share << " " << entry.name;
      out[entry.name] = read.ok() ? read->data : "";
    }
    return out;
  }

  std::unique_ptr<DfsProcess> server_;
  std::unique_ptr<httplib::Client> http_;
  std::string token_;
};

TEST_F(ShareIsolationTest, SharesWhoseNamesFoldedTogetherKeepTheirOwnFiles) {
  ASSERT_NO_FATAL_FAILURE(StartServer(DfsOptions{}));
  std::string base = server_->dir() + "/stores";
  ASSERT_EQ(Call("POST", "/api/v1/stores/metadata",
                 {{"name", "meta"}, {"type", "rocksdb"}, {"config", {{"path", base + "/meta"}}}})
                .first,
            201);
  ASSERT_EQ(
      Call("POST", "/api/v1/stores/block",
           {{"name", "blocks"}, {"type", "localfs"}, {"config", {{"path", base + "/blocks"}}}})
          .first,
      201);
  ASSERT_EQ(Call("POST", "/api/v1/stores/block",
                 {{"name", "tiered"},
                  {"type", "tiered"},
                  {"config",
                   {{"dir", base + "/journal"},
                    {"cache_size", "64MiB"},
                    {"segment_size", "1MiB"},
                    {"remote", {{"type", "fs"}, {"path", base + "/remote"}}}}}})
                .first,
            201);
  // With the metadata in memory, the old rule let each share read and overwrite the other's data.
  ASSERT_EQ(Call("POST", "/api/v1/stores/metadata", {{"name", "mem"}, {"type", "memory"}}).first,
            201);
  for (const char* share : {"/mem_a", "/mem.a"}) {
    ASSERT_NO_FATAL_FAILURE(CreateShare(share, "mem", "blocks"));
  }
  for (const char* share : {"/mem_a", "/mem.a"}) {
    ASSERT_NO_FATAL_FAILURE(WriteFile(share, "file.txt", std::string("the data of ") + share));
  }
  for (const char* share : {"/mem_a", "/mem.a"}) {
    EXPECT_EQ(
        Files(share),
        (std::map<std::string, std::string>{{"file.txt", std::string("the data of ") + share}}))
        << share;
  }

  // Two pairs of names the old rule folded to one ("_team_a", "_tier_a"), and a name that looks
  // like the new rule's encoding of another ("/team_2Ea" beside "/team.a").
  const std::map<std::string, std::string> localfs_shares = {
      {"/team_a", "underscore.txt"}, {"/team.a", "dot.txt"}, {"/team_2Ea", "escaped.txt"}};
  const std::map<std::string, std::string> tiered_shares = {{"/tier_a", "underscore.txt"},
                                                            {"/tier.a", "dot.txt"}};
  for (const auto& [share, file] : localfs_shares) {
    ASSERT_NO_FATAL_FAILURE(CreateShare(share, "meta", "blocks"));
  }
  for (const auto& [share, file] : tiered_shares) {
    ASSERT_NO_FATAL_FAILURE(CreateShare(share, "meta", "tiered"));
  }
  std::map<std::string, std::string> all = localfs_shares;
  all.insert(tiered_shares.begin(), tiered_shares.end());
  for (const auto& [share, file] : all) {
    ASSERT_NO_FATAL_FAILURE(WriteFile(share, file, "the data of " + share));
  }
  auto check = [&] {
    for (const auto& [share, file] : all) {
      std::map<std::string, std::string> expected = {{file, "the data of " + share}};
      EXPECT_EQ(Files(share), expected) << share;
    }
  };
  check();

  // Uploaded, each tiered share's objects are under its own name on the remote.
  for (const auto& [share, file] : tiered_shares) {
    auto [status, body] = Call("POST", "/api/v1/shares/" + Segment(share) + "/sync");
    ASSERT_EQ(status, 204) << body.dump();
  }
  EXPECT_TRUE(fs::exists(base + "/remote/tier.5Fa/objects"));
  EXPECT_TRUE(fs::exists(base + "/remote/tier.2Ea/objects"));
  EXPECT_FALSE(fs::exists(base + "/remote/_tier_a"));
  EXPECT_TRUE(fs::exists(base + "/meta/team.5Fa"));
  EXPECT_TRUE(fs::exists(base + "/meta/team.2Ea"));
  EXPECT_TRUE(fs::exists(base + "/meta/team.5F2Ea"));

  // And after a restart, with the journals gone (the tiered shares read from the remote).
  ASSERT_OK(server_->Stop().status());
  fs::remove_all(base + "/journal");
  ASSERT_OK(server_->StartAgain());
  ASSERT_NO_FATAL_FAILURE(Connect());
  check();
}

TEST_F(ShareIsolationTest, DirectoriesOfTheOldNamingRuleMoveToTheirShareAtStart) {
  DfsOptions options;
  options.shares.clear();
  for (const char* name : {"/export", "/team_a", "/team.a"}) {
    options.shares.push_back({.name = name, .metadata = "rocksdb", .block = "localfs"});
  }
  ASSERT_NO_FATAL_FAILURE(StartServer(options));
  ASSERT_NO_FATAL_FAILURE(WriteFile("/export", "a.txt", "export's"));
  ASSERT_NO_FATAL_FAILURE(WriteFile("/team_a", "b.txt", "team_a's"));
  ASSERT_OK(server_->Stop().status());

  // Make the state directory look as the old rule left it: "/export" in "_export", and
  // "/team_a" in "_team_a", the directory "/team.a" would have shared with it.
  fs::path state = fs::path(server_->dir()) / "state";
  for (const char* dir : {"metadata", "blocks"}) {
    fs::rename(state / dir / "export", state / dir / "_export");
    fs::rename(state / dir / "team.5Fa", state / dir / "_team_a");
    fs::remove_all(state / dir / "team.2Ea");
  }
  ASSERT_OK(server_->StartAgain());
  ASSERT_NO_FATAL_FAILURE(Connect());
  EXPECT_EQ(Files("/export"), (std::map<std::string, std::string>{{"a.txt", "export's"}}));
  // The oldest of the shares the old directory served gets it; the other starts empty.
  EXPECT_EQ(Files("/team_a"), (std::map<std::string, std::string>{{"b.txt", "team_a's"}}));
  EXPECT_TRUE(Files("/team.a").empty());
  for (const char* dir : {"metadata", "blocks"}) {
    EXPECT_TRUE(fs::exists(state / dir / "export"));
    EXPECT_FALSE(fs::exists(state / dir / "_export"));
    EXPECT_FALSE(fs::exists(state / dir / "_team_a"));
  }
  EXPECT_NE(server_->Log().find("together with share /team_a"), std::string::npos)
      << server_->Log();
}

}  // namespace
}  // namespace dittofs::integration

// SPDX-License-Identifier: Apache-2.0
// The control plane end to end: a real dfs process, its REST API over HTTP, and NFS clients
// (libnfs) whose access follows what the API configured — without a restart.

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <httplib.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "dfs_process.h"
#include "nfs_client.h"
#include "testing/postgres_server.h"
#include "testing/status_matchers.h"

namespace dittofs::integration {
namespace {

using json = nlohmann::json;

class ControlPlaneTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto p = DfsProcess::Start(DFS_BINARY, DfsOptions{});
    ASSERT_TRUE(p.ok()) << p.status().ToString();
    server_ = std::move(p).value();
    ASSERT_FALSE(server_->admin_password().empty()) << server_->Log();
    http_ = std::make_unique<httplib::Client>("127.0.0.1", server_->api_port());
  }
  void TearDown() override {
    Result<int> rc = server_->Stop();
    EXPECT_TRUE(rc.ok() && *rc == 0) << server_->Log();
  }

  httplib::Headers Auth() const { return {{"Authorization", "Bearer " + token_}}; }
  // Sends a JSON request; returns (status, parsed body or null).
  std::pair<int, json> Call(const std::string& method, const std::string& path,
                            const json& body = nullptr) {
    std::string text = body.is_null() ? "" : body.dump();
    auto send = [&]() {
      if (method == "POST") return http_->Post(path, Auth(), text, "application/json");
      if (method == "PUT") return http_->Put(path, Auth(), text, "application/json");
      if (method == "PATCH") return http_->Patch(path, Auth(), text, "application/json");
      if (method == "DELETE") return http_->Delete(path, Auth());
      return http_->Get(path, Auth());
    };
    httplib::Result r = send();
    if (!r) return {0, nullptr};
    return {r->status, r->body.empty() ? json(nullptr) : json::parse(r->body, nullptr, false)};
  }
  void Login(const std::string& user, const std::string& password) {
    auto [status, body] =
        Call("POST", "/api/v1/auth/login", {{"username", user}, {"password", password}});
    ASSERT_EQ(status, 200) << body.dump();
    token_ = body["access_token"].get<std::string>();
  }

  // Logs in as admin and replaces the generated password, as the first login must.
  void LoginAsAdmin() {
    Login("admin", server_->admin_password());
    ASSERT_EQ(Call("POST", "/api/v1/auth/password",
                   {{"current_password", server_->admin_password()},
                    {"new_password", "a-new-admin-password"}})
                  .first,
              204);
    Login("admin", "a-new-admin-password");
  }

  std::unique_ptr<DfsProcess> server_;
  std::unique_ptr<httplib::Client> http_;
  std::string token_;
};

TEST_F(ControlPlaneTest, QuickstartGrantsNfsAccessLive) {
  // First login must change the generated password before anything else.
  Login("admin", server_->admin_password());
  EXPECT_EQ(Call("GET", "/api/v1/users").first, 403);
  ASSERT_EQ(Call("POST", "/api/v1/auth/password",
                 {{"current_password", server_->admin_password()},
                  {"new_password", "a-new-admin-password"}})
                .first,
            204);
  Login("admin", "a-new-admin-password");

  ASSERT_EQ(Call("POST", "/api/v1/users",
                 {{"username", "alice"},
                  {"password", "alice-password"},
                  {"uid", 1000},
                  {"gid", 1000},
                  {"role", "user"}})
                .first,
            201);
  ASSERT_EQ(Call("POST", "/api/v1/stores/metadata",
                 {{"name", "team-meta"}, {"type", "memory"}, {"config", json::object()}})
                .first,
            201);
  ASSERT_EQ(Call("POST", "/api/v1/stores/block",
                 {{"name", "team-blocks"}, {"type", "memory"}, {"config", json::object()}})
                .first,
            201);
  ASSERT_EQ(Call("POST", "/api/v1/shares",
                 {{"name", "/team"},
                  {"metadata_store", "team-meta"},
                  {"block_store", "team-blocks"},
                  {"default_permission", "none"},
                  {"root_mode", "1777"}})
                .first,
            201);
  ASSERT_EQ(Call("PUT", "/api/v1/shares/%2Fteam/permissions",
                 {{"kind", "user"}, {"name", "alice"}, {"level", "read-write"}})
                .first,
            200);

  // alice (uid 1000) may write; uid 2000, with no grant and no default, may not even mount.
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<RawNfsClient> alice,
                       RawNfsClient::Connect(server_->port(), 1000, 1000));
  ASSERT_OK_AND_ASSIGN(MntReply mnt, alice->Mnt("/team"));
  ASSERT_EQ(mnt.status, MNT3_OK);
  ASSERT_OK_AND_ASSIGN(CreatedReply created,
                       alice->Create(mnt.fh, "hello.txt", GUARDED, ModeAttrs(0644)));
  ASSERT_EQ(created.status, NFS3_OK);
  ASSERT_OK_AND_ASSIGN(WRITE3res written, alice->Write(created.fh, 0, "hello", FILE_SYNC));
  EXPECT_EQ(written.status, NFS3_OK);
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<RawNfsClient> other,
                       RawNfsClient::Connect(server_->port(), 2000, 2000));
  ASSERT_OK_AND_ASSIGN(MntReply refused, other->Mnt("/team"));
  EXPECT_EQ(refused.status, MNT3ERR_ACCES);
  // Issue 11: with alice's handles, uid 2000 still gets only errors: no attributes at all,
  // neither from FSINFO or PATHCONF nor in the failure arms of other replies.
  {
    ASSERT_OK_AND_ASSIGN(FSINFO3res fsinfo, other->Fsinfo(mnt.fh));
    EXPECT_EQ(fsinfo.status, NFS3ERR_ACCES);
    EXPECT_FALSE(fsinfo.FSINFO3res_u.resfail.obj_attributes.attributes_follow);
    ASSERT_OK_AND_ASSIGN(PATHCONF3res pathconf, other->Pathconf(created.fh));
    EXPECT_EQ(pathconf.status, NFS3ERR_ACCES);
    EXPECT_FALSE(pathconf.PATHCONF3res_u.resfail.obj_attributes.attributes_follow);
    ASSERT_OK_AND_ASSIGN(FSSTAT3res fsstat, other->Fsstat(mnt.fh));
    EXPECT_EQ(fsstat.status, NFS3ERR_ACCES);
    EXPECT_FALSE(fsstat.FSSTAT3res_u.resfail.obj_attributes.attributes_follow);
    ASSERT_OK_AND_ASSIGN(ReadReply read, other->Read(created.fh, 0, 5));
    EXPECT_EQ(read.status, NFS3ERR_ACCES);
    EXPECT_FALSE(read.file_attributes.attributes_follow);
    ASSERT_OK_AND_ASSIGN(ACCESS3res access, other->Access(created.fh, ACCESS3_READ));
    EXPECT_EQ(access.status, NFS3ERR_ACCES);
    EXPECT_FALSE(access.ACCESS3res_u.resfail.obj_attributes.attributes_follow);
    ASSERT_OK_AND_ASSIGN(WRITE3res write, other->Write(created.fh, 0, "x", FILE_SYNC));
    EXPECT_EQ(write.status, NFS3ERR_ACCES);
    EXPECT_FALSE(write.WRITE3res_u.resfail.file_wcc.after.attributes_follow);
    ASSERT_OK_AND_ASSIGN(LookupReply lookup, other->Lookup(mnt.fh, "hello.txt"));
    EXPECT_EQ(lookup.status, NFS3ERR_ACCES);
    EXPECT_FALSE(lookup.dir_attributes.attributes_follow);
    ASSERT_OK_AND_ASSIGN(GETATTR3res getattr, other->Getattr(created.fh));
    EXPECT_EQ(getattr.status, NFS3ERR_ACCES);
  }

  // Access through a group: bob (uid 2000) gets in once he joins a group with a grant.
  ASSERT_EQ(Call("POST", "/api/v1/users",
                 {{"username", "bob"}, {"password", "bob-password"}, {"uid", 2000}, {"gid", 2000}})
                .first,
            201);
  ASSERT_EQ(Call("POST", "/api/v1/groups", {{"name", "writers"}, {"gid", 500}}).first, 201);
  ASSERT_EQ(Call("PUT", "/api/v1/shares/%2Fteam/permissions",
                 {{"kind", "group"}, {"name", "writers"}, {"level", "read-write"}})
                .first,
            200);
  ASSERT_OK_AND_ASSIGN(MntReply still_refused, other->Mnt("/team"));
  EXPECT_EQ(still_refused.status, MNT3ERR_ACCES);
  ASSERT_EQ(Call("PUT", "/api/v1/groups/writers/members/bob").first, 204);
  ASSERT_OK_AND_ASSIGN(MntReply admitted, other->Mnt("/team"));
  EXPECT_EQ(admitted.status, MNT3_OK);

  // Lowering alice to read takes effect at once, on the handle she already holds.
  ASSERT_EQ(Call("PUT", "/api/v1/shares/%2Fteam/permissions",
                 {{"kind", "user"}, {"name", "alice"}, {"level", "read"}})
                .first,
            200);
  ASSERT_OK_AND_ASSIGN(WRITE3res denied, alice->Write(created.fh, 0, "bye", FILE_SYNC));
  EXPECT_EQ(denied.status, NFS3ERR_ACCES);

  // A store in use cannot be deleted.
  EXPECT_EQ(Call("DELETE", "/api/v1/stores/block/team-blocks").first, 409);
  // Deleting the share removes it from the running server.
  ASSERT_EQ(Call("DELETE", "/api/v1/shares/%2Fteam").first, 204);
  ASSERT_OK_AND_ASSIGN(GETATTR3res gone, alice->Getattr(mnt.fh));
  EXPECT_EQ(gone.status, NFS3ERR_STALE);
}

TEST_F(ControlPlaneTest, AShareSwitchedToWindowsNamesFindsNamesWhateverTheirCase) {
  LoginAsAdmin();
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<RawNfsClient> client,
                       RawNfsClient::Connect(server_->port(), 0, 0));
  ASSERT_OK_AND_ASSIGN(MntReply mnt, client->Mnt("/export"));
  ASSERT_EQ(mnt.status, MNT3_OK);
  ASSERT_OK_AND_ASSIGN(CreatedReply created,
                       client->Create(mnt.fh, "Report.TXT", GUARDED, ModeAttrs(0644)));
  ASSERT_EQ(created.status, NFS3_OK);
  // POSIX names (the default): case matters, and a colon is an ordinary character.
  ASSERT_OK_AND_ASSIGN(LookupReply posix, client->Lookup(mnt.fh, "report.txt"));
  EXPECT_EQ(posix.status, NFS3ERR_NOENT);
  ASSERT_OK_AND_ASSIGN(CreatedReply colon, client->Create(mnt.fh, "a:b", GUARDED, ModeAttrs(0644)));
  EXPECT_EQ(colon.status, NFS3_OK);

  auto [status, body] = Call("PATCH", "/api/v1/shares/%2Fexport", {{"names", "windows"}});
  ASSERT_EQ(status, 200) << body.dump();
  EXPECT_EQ(body["names"], "windows");
  // At once, on the handles the client holds: found whatever the case, kept as created,
  // another spelling of a taken name is taken, and Windows' reserved characters are refused.
  ASSERT_OK_AND_ASSIGN(LookupReply windows, client->Lookup(mnt.fh, "report.txt"));
  ASSERT_EQ(windows.status, NFS3_OK);
  EXPECT_EQ(windows.fh, created.fh);
  ASSERT_OK_AND_ASSIGN(CreatedReply again,
                       client->Create(mnt.fh, "REPORT.txt", GUARDED, ModeAttrs(0644)));
  EXPECT_EQ(again.status, NFS3ERR_EXIST);
  ASSERT_OK_AND_ASSIGN(CreatedReply refused,
                       client->Create(mnt.fh, "c:d", GUARDED, ModeAttrs(0644)));
  EXPECT_NE(refused.status, NFS3_OK);
}

TEST_F(ControlPlaneTest, EverythingSurvivesARestartAndHandlesStillWork) {
  ASSERT_NO_FATAL_FAILURE(LoginAsAdmin());
  ASSERT_EQ(
      Call("POST", "/api/v1/users",
           {{"username", "carol"}, {"password", "carol-password"}, {"uid", 1500}, {"gid", 1500}})
          .first,
      201);
  ASSERT_EQ(Call("POST", "/api/v1/groups", {{"name", "staff"}, {"gid", 600}}).first, 201);
  ASSERT_EQ(Call("PUT", "/api/v1/groups/staff/members/carol").first, 204);
  ASSERT_EQ(Call("PUT", "/api/v1/shares/%2Fexport/permissions",
                 {{"kind", "group"}, {"name", "staff"}, {"level", "read"}})
                .first,
            200);
  ASSERT_EQ(Call("PUT", "/api/v1/settings/logging.level", {{"value", "debug"}}).first, 200);
  auto snapshot = [&] {
    json all;
    for (const char* path :
         {"/api/v1/users", "/api/v1/groups", "/api/v1/shares", "/api/v1/stores/metadata",
          "/api/v1/stores/block", "/api/v1/adapters", "/api/v1/settings",
          "/api/v1/shares/%2Fexport/permissions", "/api/v1/groups/staff/members"}) {
      all[path] = Call("GET", path).second;
    }
    // Ports set to 0 are picked anew at each start; timestamps are not compared.
    for (json& a : all["/api/v1/adapters"]) a.erase("port");
    for (json& u : all["/api/v1/users"]) u.erase("updated_at");
    for (json& u : all["/api/v1/groups/staff/members"]) u.erase("updated_at");
    return all;
  };
  json before = snapshot();
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<RawNfsClient> root,
                       RawNfsClient::Connect(server_->port(), 0, 0));
  ASSERT_OK_AND_ASSIGN(MntReply mnt, root->Mnt("/export"));
  ASSERT_EQ(mnt.status, MNT3_OK);
  root.reset();

  ASSERT_OK(server_->Restart());
  http_ = std::make_unique<httplib::Client>("127.0.0.1", server_->api_port());
  Login("admin", "a-new-admin-password");
  EXPECT_EQ(snapshot(), before);
  // The share's root handle, taken before the restart, still names the same directory.
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<RawNfsClient> again,
                       RawNfsClient::Connect(server_->port(), 1500, 1500));
  ASSERT_OK_AND_ASSIGN(GETATTR3res attr, again->Getattr(mnt.fh));
  EXPECT_EQ(attr.status, NFS3_OK);
  // Handles are signed with a key derived from a secret only the server may read.
  struct stat st;
  ASSERT_EQ(stat((server_->dir() + "/state/handle_secret").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0600u);
  // carol's group grant (read) still applies.
  ASSERT_OK_AND_ASSIGN(CreatedReply create, again->Create(mnt.fh, "x", GUARDED, ModeAttrs(0644)));
  EXPECT_EQ(create.status, NFS3ERR_ACCES);
}

// Nodes sharing a PostgreSQL control plane sign NFS file handles with one secret, kept there
// and never shown by the API: a handle one node issued is good on the other, as a client
// failing over to a standby needs. A node with a control plane of its own (the same share's
// namespace, in the same PostgreSQL schema) refuses it as a handle it never issued.
TEST(SharedControlPlaneTest, NodesSharingAControlPlaneAcceptEachOthersHandles) {
  ::dittofs::testing::ScopedPostgresServer postgres;
  ASSERT_FALSE(postgres->dsn().empty()) << postgres->error();
  DfsOptions alone;
  alone.shares[0].metadata = "postgres";
  alone.shares[0].metadata_dsn = postgres->dsn();
  DfsOptions node = alone;
  node.env = {"DITTOFS_DATABASE_TYPE=postgres", "DITTOFS_DATABASE_DSN=" + postgres->dsn()};
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<DfsProcess> a, DfsProcess::Start(DFS_BINARY, node));
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<DfsProcess> b, DfsProcess::Start(DFS_BINARY, node));
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<DfsProcess> c, DfsProcess::Start(DFS_BINARY, alone));

  ASSERT_OK_AND_ASSIGN(std::unique_ptr<RawNfsClient> on_a, RawNfsClient::Connect(a->port(), 0, 0));
  ASSERT_OK_AND_ASSIGN(MntReply mnt, on_a->Mnt("/export"));
  ASSERT_EQ(mnt.status, MNT3_OK);
  ASSERT_OK_AND_ASSIGN(CreatedReply made, on_a->Create(mnt.fh, "f", GUARDED, ModeAttrs(0644)));
  ASSERT_EQ(made.status, NFS3_OK);
  a.reset();  // the node goes; its handles live on

  ASSERT_OK_AND_ASSIGN(std::unique_ptr<RawNfsClient> on_b, RawNfsClient::Connect(b->port(), 0, 0));
  ASSERT_OK_AND_ASSIGN(GETATTR3res root, on_b->Getattr(mnt.fh));
  EXPECT_EQ(root.status, NFS3_OK) << b->Log();
  ASSERT_OK_AND_ASSIGN(GETATTR3res file, on_b->Getattr(made.fh));
  EXPECT_EQ(file.status, NFS3_OK) << b->Log();
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<RawNfsClient> on_c, RawNfsClient::Connect(c->port(), 0, 0));
  ASSERT_OK_AND_ASSIGN(GETATTR3res refused, on_c->Getattr(mnt.fh));
  EXPECT_EQ(refused.status, NFS3ERR_BADHANDLE);

  // The secret is not the API's to show.
  httplib::Client http("127.0.0.1", c->api_port());
  auto login = [&](const std::string& password) {
    auto r =
        http.Post("/api/v1/auth/login", json{{"username", "admin"}, {"password", password}}.dump(),
                  "application/json");
    return r && r->status == 200 ? json::parse(r->body)["access_token"].get<std::string>()
                                 : std::string();
  };
  std::string token = login(c->admin_password());
  ASSERT_FALSE(token.empty()) << c->Log();
  auto changed = http.Post(
      "/api/v1/auth/password", {{"Authorization", "Bearer " + token}},
      json{{"current_password", c->admin_password()}, {"new_password", "a-new-admin-password"}}
          .dump(),
      "application/json");
  ASSERT_TRUE(changed && changed->status == 204);
  token = login("a-new-admin-password");
  const httplib::Headers auth = {{"Authorization", "Bearer " + token}};
  auto listed = http.Get("/api/v1/settings", auth);
  ASSERT_TRUE(listed && listed->status == 200);
  EXPECT_EQ(listed->body.find("handle_secret"), std::string::npos) << listed->body;
  auto one = http.Get("/api/v1/settings/nfs.handle_secret", auth);
  ASSERT_TRUE(one);
  EXPECT_EQ(one->status, 404) << one->body;
}

// An adapter's worker pool is its own: changing it restarts that adapter's listener, on the
// same port, and clients connect again.
TEST_F(ControlPlaneTest, ChangingAnAdaptersWorkerPoolRestartsItsListener) {
  ASSERT_NO_FATAL_FAILURE(LoginAsAdmin());
  // The test server's port was picked at start (0 in its config); a fixed one survives restarts.
  int probe = socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(probe, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(addr);
  ASSERT_EQ(bind(probe, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  ASSERT_EQ(getsockname(probe, reinterpret_cast<sockaddr*>(&addr), &len), 0);
  const uint16_t port = ntohs(addr.sin_port);
  close(probe);
  auto [moved, moved_body] = Call("PATCH", "/api/v1/adapters/nfs", {{"port", port}});
  ASSERT_EQ(moved, 200) << moved_body.dump();
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<RawNfsClient> before, RawNfsClient::Connect(port, 0, 0));
  ASSERT_OK(before->Null());

  auto [status, body] = Call("PATCH", "/api/v1/adapters/nfs", {{"workers", 2}, {"io_threads", 1}});
  ASSERT_EQ(status, 200) << body.dump();
  EXPECT_EQ(body["workers"], 2);
  // The old listener closed its connections; a new one serves the same port.
  EXPECT_FALSE(before->Null().ok());
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<RawNfsClient> after, RawNfsClient::Connect(port, 0, 0));
  EXPECT_OK(after->Null());
  EXPECT_NE(server_->Log().find("(2 workers, 1 I/O threads"), std::string::npos);
}

TEST_F(ControlPlaneTest, DisablingTheNfsAdapterClosesItsListener) {
  ASSERT_NO_FATAL_FAILURE(LoginAsAdmin());
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<RawNfsClient> before,
                       RawNfsClient::Connect(server_->port(), 0, 0));
  ASSERT_OK(before->Null());
  auto [status, body] = Call("PATCH", "/api/v1/adapters/nfs", {{"enabled", false}});
  ASSERT_EQ(status, 200) << body.dump();
  EXPECT_FALSE(RawNfsClient::Connect(server_->port(), 0, 0, {}, std::chrono::seconds(5)).ok());
}

}  // namespace
}  // namespace dittofs::integration

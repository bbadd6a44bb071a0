// SPDX-License-Identifier: Apache-2.0
// Drives the control-plane API over real HTTP on loopback: a SQLite ControlDb in a temporary
// directory, an HttpServer on port 0, and cpp-httplib's client.
#include "controlplane/api/api.h"

#include <arpa/inet.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <httplib.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <limits>
#include <memory>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "base/clock.h"
#include "base/log.h"
#include "base/mutex.h"
#include "controlplane/auth/jwt.h"
#include "controlplane/auth/password.h"
#include "controlplane/db/sqlite/sqlite_control_db.h"
#include "testing/status_matchers.h"

namespace dittofs::controlplane::api {
namespace {

using json = nlohmann::json;
using ::testing::HasSubstr;
using ::testing::Not;

constexpr std::string_view kSecret = "0123456789abcdef0123456789abcdef-test-secret";
constexpr std::string_view kPassword = "correct horse battery";

// Records every hook call; answers with `error` when it is set.
class FakeHooks final : public RuntimeHooks {
 public:
  Status SharesChanged() override {
    MutexLock lock(&mu_);
    ++shares_changed_;
    return error_;
  }
  Status UsersChanged() override {
    MutexLock lock(&mu_);
    ++users_changed_;
    return error_;
  }
  Status AdaptersChanged() override {
    MutexLock lock(&mu_);
    ++adapters_changed_;
    return error_;
  }
  Status SettingChanged(std::string_view key, std::string_view value) override {
    MutexLock lock(&mu_);
    settings_.push_back(std::string(key) + "=" + std::string(value));
    return error_;
  }
  bool Ready() override {
    MutexLock lock(&mu_);
    return ready_;
  }
  // Serves only /export, as a server whose other shares failed to open would.
  Result<std::string> ShareStatus(std::string_view share) override {
    if (share != "/export")
      return Status(Errc::kNotFound, "share " + std::string(share) + " is not served");
    return std::string(R"({"share":"/export","block_store":"tiered","dirty_bytes":42})");
  }
  Status SyncShare(std::string_view share) override {
    MutexLock lock(&mu_);
    synced_.push_back(std::string(share));
    if (share != "/export")
      return Status(Errc::kNotFound, "share " + std::string(share) + " is not served");
    return sync_error_;
  }

  Result<std::string> ShareLocks(std::string_view share) override {
    if (share != "/export")
      return Status(Errc::kNotFound, "share " + std::string(share) + " is not served");
    return std::string(R"([{"file":7,"offset":0,"length":10,"exclusive":true,)"
                       R"("flavor":"posix","owner":{"protocol":"nlm","host":"h","svid":3}}])");
  }
  Result<std::string> Clients() override {
    return std::string(R"([{"id":"nlm:10.0.0.7/h","protocol":"nlm","name":"h"}])");
  }
  Status EvictClient(std::string_view id) override {
    MutexLock lock(&mu_);
    if (id != "nlm:10.0.0.7/h") return Errc::kNotFound;
    evicted_.push_back(std::string(id));
    return Status::Ok();
  }
  std::vector<std::string> evicted() {
    MutexLock lock(&mu_);
    return evicted_;
  }
  // /export's bin holds file 12, once removed as /a/b.txt; /taken.txt exists.
  Result<std::string> Trash(std::string_view share) override {
    if (share != "/export")
      return Status(Errc::kNotFound, "share " + std::string(share) + " is not served");
    return std::string(R"({"bytes":30,"items":[{"id":12,"path":"/a/b.txt",)"
                       R"("bin_path":"/#recycle/a/b.txt","size":30,)"
                       R"("removed":"2024-05-01T10:00:00Z","uid":1000}]})");
  }
  Result<std::string> RestoreTrash(std::string_view share, uint64_t id,
                                   std::string_view to) override {
    MutexLock lock(&mu_);
    trash_calls_.push_back("restore " + std::string(share) + " " + std::to_string(id) + " " +
                           std::string(to));
    if (share != "/export")
      return Status(Errc::kNotFound, "share " + std::string(share) + " is not served");
    if (id != 12)
      return Status(Errc::kNotFound, "the recycle bin holds no file " + std::to_string(id));
    if (to == "/taken.txt") return Status(Errc::kExists, "/taken.txt exists");
    return std::string(to.empty() ? "/a/b.txt" : to);
  }
  Result<uint64_t> EmptyTrash(std::string_view share) override {
    MutexLock lock(&mu_);
    trash_calls_.push_back("empty " + std::string(share));
    if (share != "/export")
      return Status(Errc::kNotFound, "share " + std::string(share) + " is not served");
    return uint64_t{1};
  }
  std::vector<std::string> trash_calls() {
    MutexLock lock(&mu_);
    return trash_calls_;
  }
  // /export's quotas: the share holds 5 files; uid 1000 is past its soft byte limit, in grace;
  // gid 2000 has a file limit.
  Result<std::string> Quotas(std::string_view share) override {
    if (share != "/export")
      return Status(Errc::kNotFound, "share " + std::string(share) + " is not served");
    return std::string(
        R"({"share":{"kind":"share","id":0,"used_bytes":3000,"used_files":5,"hard_bytes":0,)"
        R"("soft_bytes":0,"hard_files":0,"soft_files":0,"grace_seconds":0,"grace_expires":null,)"
        R"("state":"ok"},"users":[{"kind":"user","id":1000,"used_bytes":3000,"used_files":4,)"
        R"("hard_bytes":4000,"soft_bytes":2000,"hard_files":0,"soft_files":0,)"
        R"("grace_seconds":3600,"grace_expires":"2024-05-01T11:00:00Z","state":"soft"}],)"
        R"("groups":[{"kind":"group","id":2000,"used_bytes":0,"used_files":0,"hard_bytes":0,)"
        R"("soft_bytes":0,"hard_files":10,"soft_files":0,"grace_seconds":0,)"
        R"("grace_expires":null,"state":"ok"}]})");
  }
  // Answers the entry as the server would: the limits set, no usage.
  Result<std::string> SetQuota(std::string_view share, core::QuotaKind kind, uint32_t id,
                               const core::QuotaLimits& limits) override {
    std::string_view kind_name = kind == core::QuotaKind::kShare  ? "share"
                                 : kind == core::QuotaKind::kUser ? "user"
                                                                  : "group";
    MutexLock lock(&mu_);
    quota_calls_.push_back(
        std::string(share) + " " + std::string(kind_name) + " " + std::to_string(id) + " " +
        std::to_string(limits.hard_bytes) + " " + std::to_string(limits.soft_bytes) + " " +
        std::to_string(limits.hard_files) + " " + std::to_string(limits.soft_files) + " " +
        std::to_string(limits.grace_seconds));
    if (share != "/export")
      return Status(Errc::kNotFound, "share " + std::string(share) + " is not served");
    return json{{"kind", kind_name},
                {"id", id},
                {"used_bytes", 0},
                {"used_files", 0},
                {"hard_bytes", limits.hard_bytes},
                {"soft_bytes", limits.soft_bytes},
                {"hard_files", limits.hard_files},
                {"soft_files", limits.soft_files},
                {"grace_seconds", limits.grace_seconds},
                {"grace_expires", nullptr},
                {"state", "ok"}}
        .dump();
  }
  std::vector<std::string> quota_calls() {
    MutexLock lock(&mu_);
    return quota_calls_;
  }
  // Jobs: every job started is 7, running on /export; job 8 failed. Only /export is served.
  Result<std::string> StartJob(std::string_view share, std::string_view kind) override {
    MutexLock lock(&mu_);
    job_calls_.push_back("start " + std::string(share) + " " + std::string(kind));
    if (share != "/export")
      return Status(Errc::kNotFound, "share " + std::string(share) + " is not served");
    RETURN_IF_ERROR(job_error_);
    return FakeJob(7, kind, "running").dump();
  }
  Result<std::string> Jobs() override {
    return json::array({FakeJob(7, "gc", "running"), FakeJob(8, "sync", "failed")}).dump();
  }
  Result<std::string> Job(uint64_t id) override {
    if (id != 7 && id != 8) return Status(Errc::kNotFound, "no job " + std::to_string(id));
    return (id == 7 ? FakeJob(7, "gc", "running") : FakeJob(8, "sync", "failed")).dump();
  }
  // Snapshots: /export has snapshot "daily" (ready); every job started is 9.
  static json FakeSnapshot(std::string_view name) {
    return {{"name", name},
            {"state", "ready"},
            {"created", "2026-12-07T10:00:00Z"},
            {"files", 3},
            {"bytes", 42}};
  }
  Result<std::string> Snapshots(std::string_view share) override {
    if (share != "/export") return Status(Errc::kNotFound, "not served");
    return json::array({FakeSnapshot("daily")}).dump();
  }
  Result<std::string> Snapshot(std::string_view share, std::string_view name) override {
    if (share != "/export" || name != "daily") return Status(Errc::kNotFound, "no snapshot");
    return FakeSnapshot(name).dump();
  }
  Result<std::string> StartSnapshotJob(std::string_view share, std::string_view kind,
                                       std::string_view name, std::string_view safety) override {
    MutexLock lock(&mu_);
    job_calls_.push_back(std::string(kind) + " " + std::string(share) + " " + std::string(name) +
                         " " + std::string(safety));
    if (share != "/export") return Status(Errc::kNotFound, "not served");
    if (kind == "snapshot-create" && name == "daily") return Status(Errc::kExists, "taken");
    if (kind != "snapshot-create" && name != "daily") return Status(Errc::kNotFound, "none");
    return FakeJob(9, kind, "running").dump();
  }
  Result<std::string> SnapshotPolicy(std::string_view share) override {
    MutexLock lock(&mu_);
    if (share != "/export") return Status(Errc::kNotFound, "not served");
    return PolicyJson(policy_).dump();
  }
  Result<std::string> SetSnapshotPolicy(std::string_view share,
                                        const core::SnapshotPolicy& policy) override {
    MutexLock lock(&mu_);
    if (share != "/export") return Status(Errc::kNotFound, "not served");
    policy_ = policy;
    return PolicyJson(policy_).dump();
  }
  static json PolicyJson(const core::SnapshotPolicy& p) {
    return {{"interval_seconds", p.interval_s},
            {"cron", p.cron},
            {"keep_last", p.keep_last},
            {"ttl_seconds", p.ttl_s},
            {"since", nullptr}};
  }
  Result<std::string> CancelJob(uint64_t id) override {
    MutexLock lock(&mu_);
    job_calls_.push_back("cancel " + std::to_string(id));
    if (id != 7) return Status(Errc::kNotFound, "no job " + std::to_string(id));
    return FakeJob(7, "gc", "running").dump();  // it stops when its work next looks
  }
  static json FakeJob(uint64_t id, std::string_view kind, std::string_view state) {
    const bool failed = state == "failed";
    return {{"id", id},
            {"kind", kind},
            {"share", "/export"},
            {"state", state},
            {"percent", failed ? json(nullptr) : json(45.5)},
            {"done", 455},
            {"total", failed ? 0 : 1000},
            {"unit", "bytes"},
            {"error", failed ? json("the remote is unreachable") : json(nullptr)},
            {"started", "2024-05-01T10:00:00Z"},
            {"finished", failed ? json("2024-05-01T10:01:30Z") : json(nullptr)}};
  }
  core::SnapshotPolicy policy_ GUARDED_BY(mu_);
  std::vector<std::string> job_calls() {
    MutexLock lock(&mu_);
    return job_calls_;
  }
  void set_job_error(Status error) {
    MutexLock lock(&mu_);
    job_error_ = std::move(error);
  }

  int shares_changed() {
    MutexLock lock(&mu_);
    return shares_changed_;
  }
  int users_changed() {
    MutexLock lock(&mu_);
    return users_changed_;
  }
  int adapters_changed() {
    MutexLock lock(&mu_);
    return adapters_changed_;
  }
  std::vector<std::string> settings() {
    MutexLock lock(&mu_);
    return settings_;
  }
  void set_ready(bool ready) {
    MutexLock lock(&mu_);
    ready_ = ready;
  }
  void set_error(Status error) {
    MutexLock lock(&mu_);
    error_ = std::move(error);
  }
  std::vector<std::string> synced() {
    MutexLock lock(&mu_);
    return synced_;
  }
  void set_sync_error(Status error) {
    MutexLock lock(&mu_);
    sync_error_ = std::move(error);
  }

 private:
  Mutex mu_;
  int shares_changed_ GUARDED_BY(mu_) = 0;
  int users_changed_ GUARDED_BY(mu_) = 0;
  int adapters_changed_ GUARDED_BY(mu_) = 0;
  std::vector<std::string> settings_ GUARDED_BY(mu_);
  bool ready_ GUARDED_BY(mu_) = false;
  Status error_ GUARDED_BY(mu_);
  std::vector<std::string> synced_ GUARDED_BY(mu_);
  std::vector<std::string> evicted_ GUARDED_BY(mu_);
  std::vector<std::string> trash_calls_ GUARDED_BY(mu_);
  std::vector<std::string> quota_calls_ GUARDED_BY(mu_);
  std::vector<std::string> job_calls_ GUARDED_BY(mu_);
  Status job_error_ GUARDED_BY(mu_);
  Status sync_error_ GUARDED_BY(mu_);
};

// Argon2id is slow on purpose; every seeded user shares one hash of kPassword.
const std::string& PasswordHash() {
  static const std::string* hash = new std::string(*auth::HashPassword(kPassword));
  return *hash;
}

json Body(const httplib::Result& result) {
  if (!result) return {};
  return json::parse(result->body, nullptr, /*allow_exceptions=*/false);
}

class ApiTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char dir[] = "/tmp/dfs-api-XXXXXX";
    CHECK(::mkdtemp(dir) != nullptr) << "mkdtemp failed";
    dir_ = dir;
    Result<std::unique_ptr<ControlDb>> db = OpenSqliteControlDb(dir_ + "/control.db");
    ASSERT_OK(db);
    db_ = std::move(*db);
    admin_ = Seed("admin", Role::kAdmin, 1000);
    operator_ = Seed("oper", Role::kOperator, 1001);
    alice_ = Seed("alice", Role::kUser, 1002);
    ASSERT_OK(db_->CreateAdapter({.name = "nfs", .port = 2049}));
    ASSERT_OK(db_->CreateAdapter({.name = "smb", .port = 445}));

    api_ = std::make_unique<Api>(
        *db_, hooks_,
        ApiOptions{.jwt_secret = std::string(kSecret),
                   .state_dir = dir_ + "/state",
                   .reserved_paths = {{dir_ + "/control.db", "the control database"},
                                      {dir_ + "/state/keys", "the key files' directory"}}});
    api_->Register(router_);
    Result<std::unique_ptr<net::HttpServer>> server = net::HttpServer::Start({}, router_);
    ASSERT_OK(server);
    server_ = std::move(*server);
    client_ = std::make_unique<httplib::Client>("127.0.0.1", server_->port());
  }

  void TearDown() override {
    if (server_) server_->Stop();
    std::filesystem::remove_all(dir_);
  }

  User Seed(const std::string& name, Role role, uint32_t uid) {
    User user{.username = name, .uid = uid, .gid = uid, .role = role};
    user.password_hash = PasswordHash();
    Result<User> created = db_->CreateUser(user);
    CHECK(created.ok()) << created.status().ToString();
    return *created;
  }

  // An access token for `user`, minted directly so tests need not pay for a login.
  std::string Token(const User& user, bool must_change_password = false, int64_t now = 0) {
    auth::TokenSigner signer{std::string(kSecret)};
    if (now == 0) now = Now().sec;
    return *signer.Sign(auth::NewAccessTokenClaims(
        user.username, user.id, std::string(RoleName(user.role)), must_change_password, now));
  }
  std::string AdminToken() { return Token(admin_); }

  httplib::Result Send(const std::string& method, const std::string& path, const std::string& token,
                       const std::string& body = "") {
    httplib::Request request;
    request.method = method;
    request.path = path;
    if (!token.empty()) request.headers.emplace("Authorization", "Bearer " + token);
    if (!body.empty()) {
      request.headers.emplace("Content-Type", "application/json");
      request.body = body;
    }
    return client_->send(request);
  }
  httplib::Result Get(const std::string& path, const std::string& token = "") {
    return Send("GET", path, token);
  }
  httplib::Result Post(const std::string& path, const json& body, const std::string& token = "") {
    return Send("POST", path, token, body.dump());
  }
  httplib::Result Put(const std::string& path, const json& body, const std::string& token) {
    return Send("PUT", path, token, body.dump());
  }
  httplib::Result Patch(const std::string& path, const json& body, const std::string& token) {
    return Send("PATCH", path, token, body.dump());
  }
  httplib::Result Delete(const std::string& path, const std::string& token) {
    return Send("DELETE", path, token);
  }

  // Creates the stores and share most share tests need.
  void CreateShareFixture() {
    std::string token = AdminToken();
    ASSERT_EQ(
        Post("/api/v1/stores/metadata", {{"name", "meta"}, {"type", "memory"}}, token)->status,
        201);
    ASSERT_EQ(Post("/api/v1/stores/block", {{"name", "blocks"}, {"type", "memory"}}, token)->status,
              201);
    auto created =
        Post("/api/v1/shares",
             {{"name", "/export"}, {"metadata_store", "meta"}, {"block_store", "blocks"}}, token);
    ASSERT_EQ(created->status, 201) << created->body;
  }

  std::string dir_;
  std::unique_ptr<ControlDb> db_;
  User admin_, operator_, alice_;
  FakeHooks hooks_;
  std::unique_ptr<Api> api_;
  net::Router router_;
  std::unique_ptr<net::HttpServer> server_;
  std::unique_ptr<httplib::Client> client_;
};

// Expects an RFC 7807 document with this status and returns it.
json ExpectProblem(const httplib::Result& result, int status) {
  EXPECT_TRUE(result);
  if (!result) return {};
  EXPECT_EQ(result->status, status) << result->body;
  EXPECT_EQ(result->get_header_value("Content-Type"), "application/problem+json");
  json doc = Body(result);
  EXPECT_EQ(doc.value("status", 0), status);
  return doc;
}

// --- health and the OpenAPI document ---

TEST_F(ApiTest, HealthNeedsNoToken) {
  auto result = Get("/health");
  ASSERT_TRUE(result);
  EXPECT_EQ(result->status, 200);
  EXPECT_EQ(Body(result), json({{"status", "ok"}}));
}

TEST_F(ApiTest, ReadyFollowsTheHook) {
  ExpectProblem(Get("/health/ready"), 503);
  hooks_.set_ready(true);
  EXPECT_EQ(Get("/health/ready")->status, 200);
}

TEST_F(ApiTest, OpenApiDescribesEveryRegisteredRoute) {
  auto result = Get("/api/v1/openapi.json");
  ASSERT_TRUE(result);
  ASSERT_EQ(result->status, 200);
  json doc = Body(result);
  EXPECT_EQ(doc["openapi"], "3.0.3");
  std::vector<RouteInfo> routes = api_->Routes();
  EXPECT_EQ(routes.size(), 69u);
  size_t operations = 0;
  for (const auto& [path, methods] : doc["paths"].items()) operations += methods.size();
  EXPECT_EQ(operations, routes.size());
  for (const RouteInfo& route : routes) {
    std::string method = route.method;
    for (char& c : method) c = static_cast<char>(std::tolower(c));
    ASSERT_TRUE(doc["paths"].contains(route.pattern)) << route.pattern;
    ASSERT_TRUE(doc["paths"][route.pattern].contains(method))
        << route.method << " " << route.pattern;
    const json& operation = doc["paths"][route.pattern][method];
    EXPECT_TRUE(operation.contains("responses"));
    if (route.pattern.find('{') != std::string::npos) {
      EXPECT_TRUE(operation.contains("parameters")) << route.pattern;
    }
    // Every route is served: without a token it is refused (or answered), never unrouted.
    std::string path;
    for (size_t i = 0; i < route.pattern.size(); ++i) {
      if (route.pattern[i] != '{') {
        path += route.pattern[i];
        continue;
      }
      path += 'x';
      i = route.pattern.find('}', i);
    }
    auto result = Send(route.method, path, "");
    ASSERT_TRUE(result);
    EXPECT_NE(result->status, 404) << route.method << " " << path;
    EXPECT_NE(result->status, 405) << route.method << " " << path;
  }
  const json& create = doc["paths"]["/api/v1/users"]["post"];
  EXPECT_EQ(
      create["requestBody"]["content"]["application/json"]["schema"]["properties"]["uid"]["type"],
      "integer");
  EXPECT_THAT(create["requestBody"]["content"]["application/json"]["schema"]["required"].dump(),
              HasSubstr("username"));
  const json& share = doc["paths"]["/api/v1/shares"]["post"]["requestBody"]["content"]
                         ["application/json"]["schema"]["properties"];
  EXPECT_EQ(share["recycle"]["type"], "boolean");
  EXPECT_EQ(share["recycle_max_bytes"]["type"], "integer");
  EXPECT_EQ(share["recycle_exclude"]["type"], "array");
  // The restore takes a body, but may go without one.
  const json& restore = doc["paths"]["/api/v1/shares/{name}/trash/{id}/restore"]["post"];
  EXPECT_EQ(restore["requestBody"]["required"], false);
  const json& quota = doc["paths"]["/api/v1/shares/{name}/quotas/{kind}/{id}"]["put"]["requestBody"]
                         ["content"]["application/json"]["schema"];
  EXPECT_EQ(quota["properties"]["hard_bytes"]["type"], "integer");
  EXPECT_EQ(quota["properties"]["grace_seconds"]["type"], "integer");
  EXPECT_EQ(quota["additionalProperties"], false);
  const json& job = doc["paths"]["/api/v1/shares/{name}/jobs"]["post"];
  EXPECT_EQ(
      job["requestBody"]["content"]["application/json"]["schema"]["properties"]["kind"]["type"],
      "string");
  EXPECT_THAT(job["requestBody"]["content"]["application/json"]["schema"]["required"].dump(),
              HasSubstr("kind"));
  EXPECT_TRUE(job["responses"].contains("202"));
  EXPECT_TRUE(doc["paths"]["/api/v1/jobs/{id}"]["delete"]["responses"].contains("202"));
}

// Clients that open connections and send their requests slowly (or not at all) must not keep
// anyone else from the API: the liveness probe and logins answer at once.
TEST_F(ApiTest, HealthAndLoginAnswerWhileSlowClientsHoldConnections) {
  std::vector<int> slow;
  for (int i = 0; i < 12; ++i) {
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(server_->port());
    inet_pton(AF_INET, "127.0.0.1", &addr.sin_addr);
    ASSERT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
    std::string_view partial =
        i % 2 ? "POST /api/v1/auth/login HTTP/1.1\r\nContent-Length: 100\r\n\r\n{\"us"
              : "GET /health HTTP/1.1\r\nHo";
    ASSERT_EQ(::send(fd, partial.data(), partial.size(), MSG_NOSIGNAL),
              static_cast<ssize_t>(partial.size()));
    slow.push_back(fd);
  }
  auto start = std::chrono::steady_clock::now();
  auto health = Get("/health");
  ASSERT_TRUE(health) << httplib::to_string(health.error());
  EXPECT_EQ(health->status, 200);
  auto login = Post("/api/v1/auth/login", {{"username", "admin"}, {"password", kPassword}});
  ASSERT_TRUE(login) << httplib::to_string(login.error());
  EXPECT_EQ(login->status, 200) << login->body;
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(2));
  for (int fd : slow) ::close(fd);
}

// --- authentication ---

TEST_F(ApiTest, LoginIssuesTokensThatWork) {
  auto result = Post("/api/v1/auth/login", {{"username", "admin"}, {"password", kPassword}});
  ASSERT_TRUE(result);
  ASSERT_EQ(result->status, 200) << result->body;
  json tokens = Body(result);
  EXPECT_EQ(tokens["token_type"], "Bearer");
  EXPECT_EQ(tokens["expires_in"], auth::kAccessTokenLifetimeSeconds);
  EXPECT_EQ(tokens["must_change_password"], false);
  ASSERT_TRUE(tokens["refresh_token"].is_string());

  auto me = Get("/api/v1/auth/me", tokens["access_token"].get<std::string>());
  ASSERT_EQ(me->status, 200);
  EXPECT_EQ(Body(me)["username"], "admin");
  EXPECT_EQ(Body(me)["role"], "admin");
  EXPECT_THAT(me->body, Not(HasSubstr("hash")));
  EXPECT_THAT(me->body, Not(HasSubstr("argon2")));
}

TEST_F(ApiTest, LoginFailuresLookAlike) {
  json wrong = ExpectProblem(
      Post("/api/v1/auth/login", {{"username", "admin"}, {"password", "wrong password"}}), 401);
  json unknown = ExpectProblem(
      Post("/api/v1/auth/login", {{"username", "nobody"}, {"password", "wrong password"}}), 401);
  EXPECT_EQ(wrong["detail"], unknown["detail"]);

  User disabled = alice_;
  disabled.enabled = false;
  ASSERT_OK(db_->UpdateUser(disabled));
  json refused = ExpectProblem(
      Post("/api/v1/auth/login", {{"username", "alice"}, {"password", kPassword}}), 401);
  EXPECT_EQ(refused["detail"], wrong["detail"]);
}

TEST_F(ApiTest, RepeatedLoginFailuresAreThrottled) {
  for (int i = 0; i < 5; ++i) {
    ExpectProblem(Post("/api/v1/auth/login", {{"username", "alice"}, {"password", "guess"}}), 401);
  }
  auto result = Post("/api/v1/auth/login", {{"username", "alice"}, {"password", kPassword}});
  ExpectProblem(result, 429);
  EXPECT_GT(std::stoi(result->get_header_value("Retry-After")), 0);
}

TEST_F(ApiTest, RefreshIssuesAccessTokensOnlyForRefreshTokens) {
  json tokens = Body(Post("/api/v1/auth/login", {{"username", "oper"}, {"password", kPassword}}));
  auto refreshed = Post("/api/v1/auth/refresh", {{"refresh_token", tokens["refresh_token"]}});
  ASSERT_EQ(refreshed->status, 200) << refreshed->body;
  json fresh = Body(refreshed);
  EXPECT_FALSE(fresh.contains("refresh_token"));
  EXPECT_EQ(Get("/api/v1/auth/me", fresh["access_token"].get<std::string>())->status, 200);

  ExpectProblem(Post("/api/v1/auth/refresh", {{"refresh_token", tokens["access_token"]}}), 401);
  ExpectProblem(Post("/api/v1/auth/refresh", {{"refresh_token", "not.a.token"}}), 401);
  // A refresh token is no bearer token.
  ExpectProblem(Get("/api/v1/auth/me", tokens["refresh_token"].get<std::string>()), 401);
}

TEST_F(ApiTest, MissingBadOrExpiredTokensAre401) {
  auto missing = Get("/api/v1/users");
  ExpectProblem(missing, 401);
  EXPECT_EQ(missing->get_header_value("WWW-Authenticate"), "Bearer");
  ExpectProblem(Get("/api/v1/users", "garbage"), 401);
  std::string token = AdminToken();
  token.back() = token.back() == 'A' ? 'B' : 'A';
  ExpectProblem(Get("/api/v1/users", token), 401);
  ExpectProblem(Get("/api/v1/users", Token(admin_, false, Now().sec - 3600)), 401);
  // A token for a user since deleted.
  std::string alice = Token(alice_);
  ASSERT_OK(db_->DeleteUser(alice_.id));
  ExpectProblem(Get("/api/v1/auth/me", alice), 401);
}

TEST_F(ApiTest, WrongRoleIs403) {
  ExpectProblem(Get("/api/v1/users", Token(alice_)), 403);
  ExpectProblem(Post("/api/v1/groups", {{"name", "g"}, {"gid", 5}}, Token(alice_)), 403);
  ExpectProblem(Get("/api/v1/shares", Token(alice_)), 403);
  ExpectProblem(Get("/api/v1/users", Token(operator_)), 403);
  ExpectProblem(Patch("/api/v1/adapters/nfs", {{"port", 2050}}, Token(operator_)), 403);
  EXPECT_EQ(Get("/api/v1/shares", Token(operator_))->status, 200);
}

TEST_F(ApiTest, MustChangePasswordTokenMayOnlyChangeIt) {
  User user = alice_;
  user.must_change_password = true;
  ASSERT_OK(db_->UpdateUser(user));
  std::string token = Token(alice_, /*must_change_password=*/true);
  json problem = ExpectProblem(Get("/api/v1/users/alice", token), 403);
  EXPECT_THAT(problem["detail"].get<std::string>(), HasSubstr("password"));
  ExpectProblem(Get("/api/v1/users", Token(admin_, true)), 403);
  EXPECT_EQ(Get("/api/v1/auth/me", token)->status, 200);

  ExpectProblem(
      Post("/api/v1/auth/password",
           {{"current_password", "wrong password"}, {"new_password", "new password 1"}}, token),
      403);
  const int users_changed = hooks_.users_changed();
  auto changed = Post("/api/v1/auth/password",
                      {{"current_password", kPassword}, {"new_password", "new password 1"}}, token);
  ASSERT_EQ(changed->status, 204) << changed->body;
  EXPECT_EQ(hooks_.users_changed(), users_changed + 1);  // SMB logons see the new hash
  ASSERT_OK_AND_ASSIGN(User after, db_->GetUser(alice_.id));
  EXPECT_FALSE(after.must_change_password);
  EXPECT_TRUE(auth::VerifyPassword("new password 1", after.password_hash));
  EXPECT_EQ(after.nt_hash, *auth::NtHash("new password 1"));

  json tokens =
      Body(Post("/api/v1/auth/login", {{"username", "alice"}, {"password", "new password 1"}}));
  EXPECT_EQ(tokens["must_change_password"], false);
  EXPECT_EQ(Get("/api/v1/users/alice", tokens["access_token"].get<std::string>())->status, 200);
}

// --- request bodies ---

TEST_F(ApiTest, BadBodiesAre400) {
  std::string token = AdminToken();
  json user = {{"username", "bob"}, {"password", "bob password"}, {"uid", 2000}, {"gid", 2000}};
  json wrong_type = user;
  wrong_type["uid"] = "2000";
  EXPECT_THAT(ExpectProblem(Post("/api/v1/users", wrong_type, token), 400)["detail"].dump(),
              HasSubstr("uid"));
  json unknown = user;
  unknown["password_hash"] = "x";
  EXPECT_THAT(ExpectProblem(Post("/api/v1/users", unknown, token), 400)["detail"].dump(),
              HasSubstr("unknown field"));
  json missing = user;
  missing.erase("uid");
  ExpectProblem(Post("/api/v1/users", missing, token), 400);
  json long_name = user;
  long_name["username"] = std::string(65, 'b');
  ExpectProblem(Post("/api/v1/users", long_name, token), 400);
  json long_password = user;
  long_password["password"] = std::string(auth::kMaxPasswordBytes + 1, 'p');
  ExpectProblem(Post("/api/v1/users", long_password, token), 400);
  ExpectProblem(Send("POST", "/api/v1/users", token, "{not json"), 400);
  ExpectProblem(Send("POST", "/api/v1/users", token, "[1, 2]"), 400);
  ExpectProblem(Send("POST", "/api/v1/users", token,
                     json({{"username", std::string(70 * 1024, 'x')}}).dump()),
                413);
  ExpectProblem(Post("/api/v1/auth/login", {{"username", 7}, {"password", "x"}}), 400);
  EXPECT_EQ(hooks_.shares_changed(), 0);
}

// --- users ---

TEST_F(ApiTest, UserLifecycle) {
  std::string token = AdminToken();
  ASSERT_EQ(Post("/api/v1/groups", {{"name", "staff"}, {"gid", 50}}, token)->status, 201);
  auto created = Post("/api/v1/users",
                      {{"username", "bob"},
                       {"password", "bob password"},
                       {"uid", 2000},
                       {"gid", 2000},
                       {"email", "bob@example.com"},
                       {"display_name", "Bob"},
                       {"role", "operator"},
                       {"enabled", true},
                       {"groups", {"staff"}}},
                      token);
  ASSERT_EQ(created->status, 201) << created->body;
  EXPECT_EQ(created->get_header_value("Location"), "/api/v1/users/bob");
  json bob = Body(created);
  EXPECT_EQ(bob["role"], "operator");
  EXPECT_EQ(bob["groups"], json({"staff"}));
  EXPECT_THAT(created->body, Not(HasSubstr("hash")));
  ASSERT_OK_AND_ASSIGN(User stored, db_->GetUserByName("bob"));
  EXPECT_TRUE(auth::VerifyPassword("bob password", stored.password_hash));
  EXPECT_FALSE(stored.nt_hash.empty());

  ExpectProblem(
      Post("/api/v1/users",
           {{"username", "bob"}, {"password", "bob password"}, {"uid", 2001}, {"gid", 1}}, token),
      409);
  ExpectProblem(Post("/api/v1/users",
                     {{"username", "carol"},
                      {"password", "carol password"},
                      {"uid", 2002},
                      {"gid", 1},
                      {"groups", {"nosuchgroup"}}},
                     token),
                400);

  auto list = Get("/api/v1/users", token);
  ASSERT_EQ(list->status, 200);
  EXPECT_EQ(Body(list).size(), 4u);
  EXPECT_THAT(list->body, Not(HasSubstr("hash")));

  EXPECT_EQ(Body(Get("/api/v1/users/bob", token))["email"], "bob@example.com");
  EXPECT_EQ(Get("/api/v1/users/alice", Token(alice_))->status, 200);
  ExpectProblem(Get("/api/v1/users/bob", Token(alice_)), 403);
  ExpectProblem(Get("/api/v1/users/nobody", token), 404);

  auto patched =
      Patch("/api/v1/users/bob",
            {{"display_name", "Robert"}, {"enabled", false}, {"groups", json::array()}}, token);
  ASSERT_EQ(patched->status, 200) << patched->body;
  EXPECT_EQ(Body(patched)["display_name"], "Robert");
  EXPECT_EQ(Body(patched)["enabled"], false);
  EXPECT_EQ(Body(patched)["groups"], json::array());
  ExpectProblem(Patch("/api/v1/users/bob", {{"role", "superuser"}}, token), 400);
  ExpectProblem(Patch("/api/v1/users/nobody", {{"enabled", true}}, token), 404);
  // The Kerberos principal bob logs on as: kept, shown, checked, one user's only.
  auto principal =
      Patch("/api/v1/users/bob", {{"kerberos_principal", "rsmith@EXAMPLE.COM"}}, token);
  ASSERT_EQ(principal->status, 200) << principal->body;
  EXPECT_EQ(Body(principal)["kerberos_principal"], "rsmith@EXAMPLE.COM");
  ExpectProblem(Patch("/api/v1/users/bob", {{"kerberos_principal", "rsmith"}}, token), 400);
  ExpectProblem(Patch("/api/v1/users/alice", {{"kerberos_principal", "rsmith@EXAMPLE.COM"}}, token),
                409);

  ASSERT_EQ(Post("/api/v1/users/bob/password", {{"password", "reset password"}}, token)->status,
            204);
  ASSERT_OK_AND_ASSIGN(stored, db_->GetUserByName("bob"));
  EXPECT_TRUE(stored.must_change_password);
  EXPECT_TRUE(auth::VerifyPassword("reset password", stored.password_hash));
  ASSERT_EQ(Post("/api/v1/users/bob/password",
                 {{"password", "final password"}, {"temporary", false}}, token)
                ->status,
            204);
  ASSERT_OK_AND_ASSIGN(stored, db_->GetUserByName("bob"));
  EXPECT_FALSE(stored.must_change_password);
  ExpectProblem(Post("/api/v1/users/bob/password", {{"password", "short"}}, token), 400);
  ExpectProblem(Post("/api/v1/users/bob/password", {{"password", "reset password"}}, Token(alice_)),
                403);

  EXPECT_EQ(Delete("/api/v1/users/bob", token)->status, 204);
  ExpectProblem(Get("/api/v1/users/bob", token), 404);
  ExpectProblem(Delete("/api/v1/users/bob", token), 404);
  // The server's user directory follows every change that succeeded: the group, bob's
  // creation, the two patches and the deletion (a password is no part of it).
  EXPECT_EQ(hooks_.users_changed(), 5);
  EXPECT_EQ(hooks_.shares_changed(), 0);
}

// --- groups ---

TEST_F(ApiTest, GroupsAndMembers) {
  std::string token = AdminToken();
  auto created = Post("/api/v1/groups", {{"name", "staff"}, {"gid", 50}}, token);
  ASSERT_EQ(created->status, 201) << created->body;
  EXPECT_EQ(Body(created)["gid"], 50);
  ExpectProblem(Post("/api/v1/groups", {{"name", "staff"}, {"gid", 51}}, token), 409);
  ExpectProblem(Post("/api/v1/groups", {{"name", "bad name"}, {"gid", 52}}, token), 400);
  EXPECT_EQ(Body(Get("/api/v1/groups", token)).size(), 1u);
  EXPECT_EQ(Body(Get("/api/v1/groups/staff", token))["name"], "staff");
  ExpectProblem(Get("/api/v1/groups/nobody", token), 404);

  EXPECT_EQ(Send("PUT", "/api/v1/groups/staff/members/alice", token)->status, 204);
  EXPECT_EQ(Send("PUT", "/api/v1/groups/staff/members/alice", token)->status, 204);
  ExpectProblem(Send("PUT", "/api/v1/groups/staff/members/nobody", token), 404);
  auto members = Get("/api/v1/groups/staff/members", token);
  ASSERT_EQ(members->status, 200);
  ASSERT_EQ(Body(members).size(), 1u);
  EXPECT_EQ(Body(members)[0]["username"], "alice");
  EXPECT_EQ(Body(Get("/api/v1/auth/me", Token(alice_)))["groups"], json({"staff"}));

  EXPECT_EQ(Delete("/api/v1/groups/staff/members/alice", token)->status, 204);
  ExpectProblem(Delete("/api/v1/groups/staff/members/alice", token), 404);
  EXPECT_EQ(Delete("/api/v1/groups/staff", token)->status, 204);
  ExpectProblem(Delete("/api/v1/groups/staff", token), 404);
  // Creating the group, adding alice (twice: PUT is idempotent), removing her, deleting it.
  EXPECT_EQ(hooks_.users_changed(), 5);
}

// --- stores ---

TEST_F(ApiTest, MetadataStores) {
  std::string token = AdminToken();
  auto created = Post("/api/v1/stores/metadata", {{"name", "meta"}, {"type", "memory"}}, token);
  ASSERT_EQ(created->status, 201) << created->body;
  EXPECT_EQ(Body(created)["config"], json::object());
  EXPECT_EQ(hooks_.shares_changed(), 1);
  ExpectProblem(Post("/api/v1/stores/metadata", {{"name", "meta"}, {"type", "memory"}}, token),
                409);
  ExpectProblem(Post("/api/v1/stores/metadata", {{"name", "m2"}, {"type", "leveldb"}}, token), 400);
  // postgres needs a connection string; its schema prefix, when given, must be one.
  ExpectProblem(Post("/api/v1/stores/metadata", {{"name", "m2"}, {"type", "postgres"}}, token),
                400);
  ExpectProblem(Post("/api/v1/stores/metadata",
                     {{"name", "m2"},
                      {"type", "postgres"},
                      {"config", {{"dsn", "host=db"}, {"schema", "Bad-Prefix"}}}},
                     token),
                400);
  ExpectProblem(
      Post("/api/v1/stores/metadata",
           {{"name", "m2"}, {"type", "postgres"}, {"config", {{"dsn", "host=db"}, {"x", "y"}}}},
           token),
      400);
  auto pg = Post("/api/v1/stores/metadata",
                 {{"name", "pg"},
                  {"type", "postgres"},
                  {"config", {{"dsn", "host=db dbname=d"}, {"schema", "team"}}}},
                 token);
  ASSERT_EQ(pg->status, 201) << pg->body;
  EXPECT_EQ(Body(pg)["config"]["schema"], "team");
  ASSERT_EQ(Delete("/api/v1/stores/metadata/pg", token)->status, 204);
  // rocksdb needs an absolute path and nothing else.
  ExpectProblem(Post("/api/v1/stores/metadata", {{"name", "m2"}, {"type", "rocksdb"}}, token), 400);
  ExpectProblem(
      Post("/api/v1/stores/metadata",
           {{"name", "m2"}, {"type", "rocksdb"}, {"config", {{"path", "rel/dir"}}}}, token),
      400);
  ExpectProblem(
      Post("/api/v1/stores/metadata",
           {{"name", "m2"}, {"type", "rocksdb"}, {"config", {{"path", "/srv/m"}, {"x", 1}}}},
           token),
      400);
  auto rocks =
      Post("/api/v1/stores/metadata",
           {{"name", "m3"}, {"type", "rocksdb"}, {"config", {{"path", "/srv/meta"}}}}, token);
  ASSERT_EQ(rocks->status, 201) << rocks->body;
  EXPECT_EQ(Body(rocks)["config"]["path"], "/srv/meta");
  ASSERT_EQ(Delete("/api/v1/stores/metadata/m3", token)->status, 204);
  ExpectProblem(Post("/api/v1/stores/metadata",
                     {{"name", "m2"}, {"type", "memory"}, {"config", {{"size", 1}}}}, token),
                400);
  ExpectProblem(
      Post("/api/v1/stores/metadata", {{"name", "m2"}, {"type", "memory"}, {"config", 1}}, token),
      400);

  EXPECT_EQ(Body(Get("/api/v1/stores/metadata", Token(operator_))).size(), 1u);
  EXPECT_EQ(Body(Get("/api/v1/stores/metadata/meta", Token(operator_)))["type"], "memory");
  ExpectProblem(Get("/api/v1/stores/metadata/nope", token), 404);
  auto patched = Patch("/api/v1/stores/metadata/meta", {{"config", json::object()}}, token);
  EXPECT_EQ(patched->status, 200) << patched->body;
  ExpectProblem(Patch("/api/v1/stores/metadata/meta", {{"type", "nope"}}, token), 400);
  EXPECT_EQ(Delete("/api/v1/stores/metadata/meta", token)->status, 204);
  ExpectProblem(Delete("/api/v1/stores/metadata/meta", token), 404);
  EXPECT_EQ(hooks_.shares_changed(), 7);
}

TEST_F(ApiTest, BlockStores) {
  std::string token = AdminToken();
  ASSERT_EQ(Post("/api/v1/stores/block", {{"name", "mem"}, {"type", "memory"}}, token)->status,
            201);
  auto local =
      Post("/api/v1/stores/block",
           {{"name", "disk"}, {"type", "localfs"}, {"config", {{"path", "/srv/blocks"}}}}, token);
  ASSERT_EQ(local->status, 201) << local->body;
  EXPECT_EQ(Body(local)["config"]["path"], "/srv/blocks");
  ExpectProblem(
      Post("/api/v1/stores/block",
           {{"name", "d2"}, {"type", "localfs"}, {"config", {{"path", "relative"}}}}, token),
      400);
  ExpectProblem(
      Post(
          "/api/v1/stores/block",
          {{"name", "d2"}, {"type", "localfs"}, {"config", {{"path", "/srv"}, {"compress", true}}}},
          token),
      400);
  ExpectProblem(Post("/api/v1/stores/block", {{"name", "d2"}, {"type", "localfs"}}, token), 400);
  ExpectProblem(Post("/api/v1/stores/block", {{"name", "d2"}, {"type", "s3"}}, token), 400);
  ExpectProblem(Post("/api/v1/stores/block", {{"name", "mem"}, {"type", "memory"}}, token), 409);

  EXPECT_EQ(Body(Get("/api/v1/stores/block", token)).size(), 2u);
  EXPECT_EQ(Body(Get("/api/v1/stores/block/disk", token))["type"], "localfs");
  auto patched = Patch("/api/v1/stores/block/disk", {{"config", {{"path", "/srv/other"}}}}, token);
  ASSERT_EQ(patched->status, 200) << patched->body;
  EXPECT_EQ(Body(Get("/api/v1/stores/block/disk", token))["config"]["path"], "/srv/other");
  ExpectProblem(Patch("/api/v1/stores/block/nope", {{"type", "memory"}}, token), 404);
  ExpectProblem(Post("/api/v1/stores/block", {{"name", "x"}, {"type", "memory"}}, Token(operator_)),
                403);
  EXPECT_EQ(Delete("/api/v1/stores/block/disk", token)->status, 204);
}

TEST_F(ApiTest, TieredBlockStoresAreValidatedByTheSharedParser) {
  std::string token = AdminToken();
  auto created =
      Post("/api/v1/stores/block",
           {{"name", "tiered"},
            {"type", "tiered"},
            {"config",
             {{"cache_size", "64MiB"},
              {"compression", "lz4"},
              {"remote",
               {{"type", "s3"}, {"endpoint", "http://127.0.0.1:9000"}, {"bucket", "dittofs"}}}}}},
           token);
  ASSERT_EQ(created->status, 201) << created->body;
  EXPECT_EQ(Body(created)["type"], "tiered");
  EXPECT_EQ(Body(created)["config"]["cache_size"], "64MiB");  // stored as given
  ASSERT_EQ(Post("/api/v1/stores/block", {{"name", "t2"}, {"type", "tiered"}}, token)->status,
            201);  // every key has a default
  json bad = ExpectProblem(
      Post("/api/v1/stores/block",
           {{"name", "t3"}, {"type", "tiered"}, {"config", {{"compression", "gzip"}}}}, token),
      400);
  EXPECT_EQ(bad["detail"], "tiered block store: 'compression' must be one of none, lz4, zstd");
  ExpectProblem(Post("/api/v1/stores/block",
                     {{"name", "t3"}, {"type", "tiered"}, {"config", {{"cache", 1}}}}, token),
                400);
  ExpectProblem(
      Post("/api/v1/stores/block",
           {{"name", "t3"}, {"type", "tiered"}, {"config", {{"remote", {{"type", "s3"}}}}}}, token),
      400);
  ExpectProblem(Patch("/api/v1/stores/block/tiered", {{"config", {{"zstd_level", 40}}}}, token),
                400);
  auto patched = Patch("/api/v1/stores/block/tiered", {{"config", {{"zstd_level", 19}}}}, token);
  ASSERT_EQ(patched->status, 200) << patched->body;
  EXPECT_EQ(Body(patched)["config"], json({{"zstd_level", 19}}));
  // A localfs store cannot become a tiered one with the localfs config it has.
  ASSERT_EQ(Post("/api/v1/stores/block",
                 {{"name", "disk"}, {"type", "localfs"}, {"config", {{"path", "/srv"}}}}, token)
                ->status,
            201);
  ExpectProblem(Patch("/api/v1/stores/block/disk", {{"type", "tiered"}}, token), 400);
}

TEST_F(ApiTest, ShareLocksAndClients) {
  CreateShareFixture();
  std::string admin = AdminToken();
  auto locks = Get("/api/v1/shares/%2Fexport/locks", Token(operator_));
  ASSERT_EQ(locks->status, 200) << locks->body;
  ASSERT_EQ(Body(locks)["locks"].size(), 1u);
  EXPECT_EQ(Body(locks)["locks"][0]["owner"]["svid"], 3);
  ExpectProblem(Get("/api/v1/shares/%2Fexport/locks", Token(alice_)), 403);
  ExpectProblem(Get("/api/v1/shares/%2Fnope/locks", admin), 404);

  auto clients = Get("/api/v1/clients", Token(operator_));
  ASSERT_EQ(clients->status, 200) << clients->body;
  EXPECT_EQ(Body(clients)["clients"][0]["id"], "nlm:10.0.0.7/h");
  auto one = Get("/api/v1/clients/nlm%3A10.0.0.7%2Fh", Token(operator_));
  ASSERT_EQ(one->status, 200) << one->body;
  EXPECT_EQ(Body(one)["name"], "h");
  ExpectProblem(Get("/api/v1/clients/nlm%3Anobody", admin), 404);
  ExpectProblem(Get("/api/v1/clients", Token(alice_)), 403);

  // Eviction is for admins.
  ExpectProblem(Send("DELETE", "/api/v1/clients/nlm%3A10.0.0.7%2Fh", Token(operator_)), 403);
  EXPECT_TRUE(hooks_.evicted().empty());
  ExpectProblem(Send("DELETE", "/api/v1/clients/nlm%3Anobody", admin), 404);
  auto evicted = Send("DELETE", "/api/v1/clients/nlm%3A10.0.0.7%2Fh", admin);
  ASSERT_TRUE(evicted);
  EXPECT_EQ(evicted->status, 204) << evicted->body;
  EXPECT_EQ(hooks_.evicted(), std::vector<std::string>{"nlm:10.0.0.7/h"});
}

TEST_F(ApiTest, ShareStatusAndSync) {
  CreateShareFixture();
  std::string admin = AdminToken();
  auto status = Get("/api/v1/shares/%2Fexport/status", Token(operator_));
  ASSERT_EQ(status->status, 200) << status->body;
  EXPECT_EQ(Body(status)["dirty_bytes"], 42);
  EXPECT_EQ(Get("/api/v1/shares/export/status", admin)->status, 200);
  ExpectProblem(Get("/api/v1/shares/%2Fexport/status", Token(alice_)), 403);
  ExpectProblem(Get("/api/v1/shares/%2Fexport/status", ""), 401);
  ExpectProblem(Get("/api/v1/shares/%2Fnope/status", admin), 404);

  ExpectProblem(Post("/api/v1/shares/%2Fexport/sync", json(nullptr), Token(operator_)), 403);
  ExpectProblem(Post("/api/v1/shares/%2Fexport/sync", json(nullptr), Token(alice_)), 403);
  ExpectProblem(Post("/api/v1/shares/%2Fnope/sync", json(nullptr), admin), 404);
  EXPECT_TRUE(hooks_.synced().empty());  // refused before reaching the server
  auto synced = Send("POST", "/api/v1/shares/%2Fexport/sync", admin);
  ASSERT_TRUE(synced);
  EXPECT_EQ(synced->status, 204) << synced->body;
  EXPECT_EQ(hooks_.synced(), std::vector<std::string>{"/export"});

  hooks_.set_sync_error(
      Status(Errc::kNotSupported, "share /export: block store memory has no remote"));
  json problem = ExpectProblem(Send("POST", "/api/v1/shares/export/sync", admin), 409);
  EXPECT_EQ(problem["detail"], "share /export: block store memory has no remote");
  hooks_.set_sync_error(Status(Errc::kUnavailable, "the remote is unreachable"));
  ExpectProblem(Send("POST", "/api/v1/shares/export/sync", admin), 503);

  // Defined in the database but not served: the hook's 404.
  auto created =
      Post("/api/v1/shares",
           {{"name", "/idle"}, {"metadata_store", "meta"}, {"block_store", "blocks"}}, admin);
  ASSERT_EQ(created->status, 201) << created->body;
  json missing = ExpectProblem(Get("/api/v1/shares/%2Fidle/status", admin), 404);
  EXPECT_EQ(missing["detail"], "share /idle is not served");
  ExpectProblem(Send("POST", "/api/v1/shares/%2Fidle/sync", admin), 404);
}

TEST_F(ApiTest, Trash) {
  CreateShareFixture();
  std::string admin = AdminToken();
  auto listed = Get("/api/v1/shares/%2Fexport/trash", admin);
  ASSERT_EQ(listed->status, 200) << listed->body;
  json trash = Body(listed);
  EXPECT_EQ(trash["bytes"], 30);
  ASSERT_EQ(trash["items"].size(), 1u);
  EXPECT_EQ(trash["items"][0]["id"], 12);
  EXPECT_EQ(trash["items"][0]["path"], "/a/b.txt");
  EXPECT_EQ(trash["items"][0]["removed"], "2024-05-01T10:00:00Z");
  EXPECT_EQ(Get("/api/v1/shares/export/trash", admin)->status, 200);
  // The bin shows every user's removed files: admins only.
  ExpectProblem(Get("/api/v1/shares/%2Fexport/trash", Token(operator_)), 403);
  ExpectProblem(Get("/api/v1/shares/%2Fexport/trash", Token(alice_)), 403);
  ExpectProblem(Get("/api/v1/shares/%2Fexport/trash", ""), 401);
  ExpectProblem(Get("/api/v1/shares/%2Fnope/trash", admin), 404);

  // Restore: where it was without a body (or with an empty one), elsewhere with "to".
  auto restored = Send("POST", "/api/v1/shares/%2Fexport/trash/12/restore", admin);
  ASSERT_TRUE(restored);
  ASSERT_EQ(restored->status, 200) << restored->body;
  EXPECT_EQ(Body(restored), json({{"path", "/a/b.txt"}}));
  restored = Post("/api/v1/shares/%2Fexport/trash/12/restore", json::object(), admin);
  ASSERT_EQ(restored->status, 200) << restored->body;
  restored = Post("/api/v1/shares/export/trash/12/restore", {{"to", "/c/d.txt"}}, admin);
  ASSERT_EQ(restored->status, 200) << restored->body;
  EXPECT_EQ(Body(restored)["path"], "/c/d.txt");
  ExpectProblem(Post("/api/v1/shares/%2Fexport/trash/12/restore", {{"to", "/taken.txt"}}, admin),
                409);
  ExpectProblem(Post("/api/v1/shares/%2Fexport/trash/13/restore", json::object(), admin), 404);
  ExpectProblem(Post("/api/v1/shares/%2Fnope/trash/12/restore", json::object(), admin), 404);
  EXPECT_EQ(hooks_.trash_calls(), (std::vector<std::string>{
                                      "restore /export 12 ",
                                      "restore /export 12 ",
                                      "restore /export 12 /c/d.txt",
                                      "restore /export 12 /taken.txt",
                                      "restore /export 13 ",
                                  }));
  // Refused before reaching the server.
  for (const char* id : {"x", "-1", "12x", "18446744073709551616"}) {
    ExpectProblem(
        Send("POST", std::string("/api/v1/shares/%2Fexport/trash/") + id + "/restore", admin), 404);
  }
  for (const json& bad :
       {json{{"to", "relative.txt"}}, json{{"to", ""}}, json{{"to", 5}}, json{{"path", "/x"}}}) {
    ExpectProblem(Post("/api/v1/shares/%2Fexport/trash/12/restore", bad, admin), 400);
  }
  ExpectProblem(Send("POST", "/api/v1/shares/%2Fexport/trash/12/restore", admin, "not json"), 400);
  ExpectProblem(Post("/api/v1/shares/%2Fexport/trash/12/restore", json::object(), Token(operator_)),
                403);
  EXPECT_EQ(hooks_.trash_calls().size(), 5u);

  ExpectProblem(Delete("/api/v1/shares/%2Fexport/trash", Token(operator_)), 403);
  auto emptied = Delete("/api/v1/shares/%2Fexport/trash", admin);
  ASSERT_TRUE(emptied);
  ASSERT_EQ(emptied->status, 200) << emptied->body;
  EXPECT_EQ(Body(emptied), json({{"removed", 1}}));
  ExpectProblem(Delete("/api/v1/shares/%2Fnope/trash", admin), 404);
  EXPECT_EQ(hooks_.trash_calls().back(), "empty /export");

  // Defined in the database but not served: the hook's 404.
  auto created =
      Post("/api/v1/shares",
           {{"name", "/idle"}, {"metadata_store", "meta"}, {"block_store", "blocks"}}, admin);
  ASSERT_EQ(created->status, 201) << created->body;
  json missing = ExpectProblem(Get("/api/v1/shares/%2Fidle/trash", admin), 404);
  EXPECT_EQ(missing["detail"], "share /idle is not served");
  ExpectProblem(Delete("/api/v1/shares/%2Fidle/trash", admin), 404);
}

TEST_F(ApiTest, Quotas) {
  CreateShareFixture();
  std::string admin = AdminToken();
  ASSERT_EQ(Post("/api/v1/groups", {{"name", "staff"}, {"gid", 2000}}, admin)->status, 201);

  // The whole list, as the server has it.
  auto listed = Get("/api/v1/shares/%2Fexport/quotas", admin);
  ASSERT_TRUE(listed);
  ASSERT_EQ(listed->status, 200) << listed->body;
  json quotas = Body(listed);
  EXPECT_EQ(quotas["share"]["used_files"], 5);
  ASSERT_EQ(quotas["users"].size(), 1u);
  EXPECT_EQ(quotas["users"][0]["id"], 1000);
  ASSERT_EQ(quotas["groups"].size(), 1u);
  EXPECT_EQ(Get("/api/v1/shares/export/quotas", admin)->status, 200);

  // One entry: a user by name (admin has uid 1000) or by uid, a group by name or gid.
  for (const char* id : {"admin", "1000"}) {
    auto got = Get(std::string("/api/v1/shares/%2Fexport/quotas/user/") + id, admin);
    ASSERT_EQ(got->status, 200) << got->body;
    json entry = Body(got);
    EXPECT_EQ(entry["kind"], "user");
    EXPECT_EQ(entry["id"], 1000);
    EXPECT_EQ(entry["soft_bytes"], 2000);
    EXPECT_EQ(entry["state"], "soft");
    EXPECT_EQ(entry["grace_expires"], "2024-05-01T11:00:00Z");
  }
  for (const char* id : {"staff", "2000"}) {
    auto got = Get(std::string("/api/v1/shares/%2Fexport/quotas/group/") + id, admin);
    ASSERT_EQ(got->status, 200) << got->body;
    EXPECT_EQ(Body(got)["hard_files"], 10);
  }
  for (const char* id : {"-", "0"}) {
    auto got = Get(std::string("/api/v1/shares/%2Fexport/quotas/share/") + id, admin);
    ASSERT_EQ(got->status, 200) << got->body;
    EXPECT_EQ(Body(got)["kind"], "share");
    EXPECT_EQ(Body(got)["used_bytes"], 3000);
  }
  // A user with neither usage nor limits (alice, uid 1002): all zeros.
  auto unused = Get("/api/v1/shares/%2Fexport/quotas/user/alice", admin);
  ASSERT_EQ(unused->status, 200) << unused->body;
  EXPECT_EQ(Body(unused), json({{"kind", "user"},
                                {"id", 1002},
                                {"used_bytes", 0},
                                {"used_files", 0},
                                {"hard_bytes", 0},
                                {"soft_bytes", 0},
                                {"hard_files", 0},
                                {"soft_files", 0},
                                {"grace_seconds", 0},
                                {"grace_expires", nullptr},
                                {"state", "ok"}}));
  json missing = ExpectProblem(Get("/api/v1/shares/%2Fexport/quotas/user/nobody", admin), 404);
  EXPECT_EQ(missing["detail"], "no user 'nobody'");
  ExpectProblem(Get("/api/v1/shares/%2Fexport/quotas/group/nobody", admin), 404);
  ExpectProblem(Get("/api/v1/shares/%2Fexport/quotas/user/4294967296", admin), 404);
  ExpectProblem(Get("/api/v1/shares/%2Fexport/quotas/user/-1", admin), 404);
  ExpectProblem(Get("/api/v1/shares/%2Fexport/quotas/share/1", admin), 404);
  ExpectProblem(Get("/api/v1/shares/%2Fexport/quotas/project/1", admin), 404);

  // Set: the limits given replace the quota's; the server's entry is the answer.
  auto set = Put("/api/v1/shares/%2Fexport/quotas/user/alice",
                 {{"hard_bytes", int64_t{10} << 30},
                  {"soft_bytes", int64_t{8} << 30},
                  {"grace_seconds", 3600}},
                 admin);
  ASSERT_EQ(set->status, 200) << set->body;
  EXPECT_EQ(Body(set)["kind"], "user");
  EXPECT_EQ(Body(set)["id"], 1002);
  EXPECT_EQ(Body(set)["hard_bytes"], int64_t{10} << 30);
  set = Put("/api/v1/shares/export/quotas/group/3000", {{"hard_files", 100}, {"soft_files", 100}},
            admin);
  ASSERT_EQ(set->status, 200) << set->body;
  set = Put("/api/v1/shares/%2Fexport/quotas/share/-", {{"soft_bytes", 5}}, admin);
  ASSERT_EQ(set->status, 200) << set->body;  // a soft limit needs no hard one
  ExpectProblem(Put("/api/v1/shares/%2Fexport/quotas/user/nobody", {{"hard_bytes", 1}}, admin),
                404);
  for (const json& bad :
       {json{{"hard_bytes", 10}, {"soft_bytes", 11}}, json{{"hard_files", 1}, {"soft_files", 2}},
        json{{"hard", 10}}, json{{"hard_bytes", -1}}, json{{"hard_bytes", 1.5}},
        json{{"hard_bytes", "10G"}}, json{{"soft_files", nullptr}},
        json{{"grace_seconds", int64_t{1} << 40}}, json::array()}) {
    ExpectProblem(Put("/api/v1/shares/%2Fexport/quotas/user/alice", bad, admin), 400);
  }
  ExpectProblem(Send("PUT", "/api/v1/shares/%2Fexport/quotas/user/alice", admin, "not json"), 400);

  // Remove: limits none, which the server takes as removing them.
  auto removed = Delete("/api/v1/shares/%2Fexport/quotas/user/alice", admin);
  ASSERT_TRUE(removed);
  EXPECT_EQ(removed->status, 204) << removed->body;
  ExpectProblem(Delete("/api/v1/shares/%2Fexport/quotas/user/nobody", admin), 404);
  EXPECT_EQ(hooks_.quota_calls(), (std::vector<std::string>{
                                      "/export user 1002 10737418240 8589934592 0 0 3600",
                                      "/export group 3000 0 0 100 100 0",
                                      "/export share 0 0 5 0 0 0",
                                      "/export user 1002 0 0 0 0 0",
                                  }));

  // Quotas show and limit every user's usage: admins only.
  for (const User* who : {&operator_, &alice_}) {
    std::string token = Token(*who);
    ExpectProblem(Get("/api/v1/shares/%2Fexport/quotas", token), 403);
    ExpectProblem(Get("/api/v1/shares/%2Fexport/quotas/user/alice", token), 403);
    ExpectProblem(Put("/api/v1/shares/%2Fexport/quotas/user/alice", {{"hard_bytes", 1}}, token),
                  403);
    ExpectProblem(Delete("/api/v1/shares/%2Fexport/quotas/user/alice", token), 403);
  }
  ExpectProblem(Get("/api/v1/shares/%2Fexport/quotas", ""), 401);
  EXPECT_EQ(hooks_.quota_calls().size(), 4u);

  // No such share, or one defined in the database but not served: 404.
  ExpectProblem(Get("/api/v1/shares/%2Fnope/quotas", admin), 404);
  ExpectProblem(Put("/api/v1/shares/%2Fnope/quotas/user/alice", {{"hard_bytes", 1}}, admin), 404);
  auto created =
      Post("/api/v1/shares",
           {{"name", "/idle"}, {"metadata_store", "meta"}, {"block_store", "blocks"}}, admin);
  ASSERT_EQ(created->status, 201) << created->body;
  json idle = ExpectProblem(Get("/api/v1/shares/%2Fidle/quotas", admin), 404);
  EXPECT_EQ(idle["detail"], "share /idle is not served");
  ExpectProblem(Get("/api/v1/shares/%2Fidle/quotas/user/alice", admin), 404);
  ExpectProblem(Put("/api/v1/shares/%2Fidle/quotas/user/alice", {{"hard_bytes", 1}}, admin), 404);
  ExpectProblem(Delete("/api/v1/shares/%2Fidle/quotas/user/alice", admin), 404);
}

TEST_F(ApiTest, Jobs) {
  CreateShareFixture();
  std::string admin = AdminToken();

  // Start: 202 with the job the server started, and where to follow it.
  auto started = Post("/api/v1/shares/%2Fexport/jobs", {{"kind", "gc"}}, admin);
  ASSERT_TRUE(started);
  ASSERT_EQ(started->status, 202) << started->body;
  EXPECT_EQ(started->get_header_value("Location"), "/api/v1/jobs/7");
  json job = Body(started);
  EXPECT_EQ(job["id"], 7);
  EXPECT_EQ(job["kind"], "gc");
  EXPECT_EQ(job["share"], "/export");
  EXPECT_EQ(job["state"], "running");
  EXPECT_EQ(job["percent"], 45.5);
  for (const char* kind : {"sync", "reconcile", "quota-recount"}) {
    auto again = Post("/api/v1/shares/export/jobs", {{"kind", kind}}, admin);
    ASSERT_EQ(again->status, 202) << kind << ": " << again->body;
  }
  // A kind the API does not know, a missing kind, or another field: refused before the server.
  json bad_kind =
      ExpectProblem(Post("/api/v1/shares/%2Fexport/jobs", {{"kind", "fsck"}}, admin), 400);
  EXPECT_THAT(bad_kind["detail"].get<std::string>(), HasSubstr("quota-recount"));
  for (const json& bad : {json::object(), json{{"kind", 1}}, json{{"kind", nullptr}},
                          json{{"kind", "gc"}, {"share", "/export"}}, json::array()}) {
    ExpectProblem(Post("/api/v1/shares/%2Fexport/jobs", bad, admin), 400);
  }
  ExpectProblem(Send("POST", "/api/v1/shares/%2Fexport/jobs", admin), 400);  // no body
  ExpectProblem(Send("POST", "/api/v1/shares/%2Fexport/jobs", admin, "not json"), 400);
  // A share whose block store has no remote: 409, as its sync is.
  hooks_.set_job_error(
      Status(Errc::kNotSupported, "share /export: block store memory has no remote"));
  json no_remote =
      ExpectProblem(Post("/api/v1/shares/%2Fexport/jobs", {{"kind", "gc"}}, admin), 409);
  EXPECT_EQ(no_remote["detail"], "share /export: block store memory has no remote");
  hooks_.set_job_error(Status::Ok());

  // List and get.
  auto listed = Get("/api/v1/jobs", admin);
  ASSERT_EQ(listed->status, 200) << listed->body;
  ASSERT_EQ(Body(listed)["jobs"].size(), 2u);
  EXPECT_EQ(Body(listed)["jobs"][1]["state"], "failed");
  auto got = Get("/api/v1/jobs/8", admin);
  ASSERT_EQ(got->status, 200) << got->body;
  EXPECT_EQ(Body(got)["error"], "the remote is unreachable");
  EXPECT_EQ(Body(got)["percent"], nullptr);
  json unknown = ExpectProblem(Get("/api/v1/jobs/9", admin), 404);
  EXPECT_EQ(unknown["detail"], "no job 9");
  for (const char* id : {"x", "-1", "7x", "18446744073709551616"}) {
    ExpectProblem(Get(std::string("/api/v1/jobs/") + id, admin), 404);
  }

  // Cancel: 202 with the job, which stops when its work next looks.
  auto canceled = Delete("/api/v1/jobs/7", admin);
  ASSERT_TRUE(canceled);
  ASSERT_EQ(canceled->status, 202) << canceled->body;
  EXPECT_EQ(Body(canceled)["id"], 7);
  EXPECT_EQ(canceled->get_header_value("Location"), "/api/v1/jobs/7");
  ExpectProblem(Delete("/api/v1/jobs/9", admin), 404);
  ExpectProblem(Delete("/api/v1/jobs/x", admin), 404);

  // Admins only.
  for (const User* who : {&operator_, &alice_}) {
    std::string token = Token(*who);
    ExpectProblem(Post("/api/v1/shares/%2Fexport/jobs", {{"kind", "gc"}}, token), 403);
    ExpectProblem(Get("/api/v1/jobs", token), 403);
    ExpectProblem(Get("/api/v1/jobs/7", token), 403);
    ExpectProblem(Delete("/api/v1/jobs/7", token), 403);
  }
  ExpectProblem(Get("/api/v1/jobs", ""), 401);

  // No such share, or one defined in the database but not served: 404.
  ExpectProblem(Post("/api/v1/shares/%2Fnope/jobs", {{"kind", "gc"}}, admin), 404);
  auto created =
      Post("/api/v1/shares",
           {{"name", "/idle"}, {"metadata_store", "meta"}, {"block_store", "blocks"}}, admin);
  ASSERT_EQ(created->status, 201) << created->body;
  json idle = ExpectProblem(Post("/api/v1/shares/%2Fidle/jobs", {{"kind", "gc"}}, admin), 404);
  EXPECT_EQ(idle["detail"], "share /idle is not served");

  EXPECT_EQ(hooks_.job_calls(), (std::vector<std::string>{
                                    "start /export gc",
                                    "start /export sync",
                                    "start /export reconcile",
                                    "start /export quota-recount",
                                    "start /export gc",
                                    "cancel 7",
                                    "cancel 9",
                                    "start /idle gc",
                                }));
}

TEST_F(ApiTest, Snapshots) {
  CreateShareFixture();
  std::string admin = AdminToken();
  // List and get: operators may read.
  std::string op = Token(operator_);
  auto listed = Get("/api/v1/shares/%2Fexport/snapshots", op);
  ASSERT_EQ(listed->status, 200) << listed->body;
  ASSERT_EQ(Body(listed).size(), 1u);
  EXPECT_EQ(Body(listed)[0]["name"], "daily");
  auto one = Get("/api/v1/shares/%2Fexport/snapshots/daily", op);
  ASSERT_EQ(one->status, 200) << one->body;
  EXPECT_EQ(Body(one)["bytes"], 42);
  ExpectProblem(Get("/api/v1/shares/%2Fexport/snapshots/weekly", op), 404);
  ExpectProblem(Get("/api/v1/shares/%2Fexport/snapshots", Token(alice_)), 403);

  // Create, delete and restore answer jobs at once.
  auto created = Post("/api/v1/shares/%2Fexport/snapshots", {{"name", "weekly"}}, admin);
  ASSERT_EQ(created->status, 202) << created->body;
  EXPECT_EQ(created->get_header_value("Location"), "/api/v1/jobs/9");
  EXPECT_EQ(Body(created)["kind"], "snapshot-create");
  ExpectProblem(Post("/api/v1/shares/%2Fexport/snapshots", {{"name", "daily"}}, admin), 409);
  for (const json& bad : {json{{"name", ".hidden"}}, json{{"name", "a/b"}}, json{{"name", ""}},
                          json::object(), json{{"name", "x"}, {"other", 1}}}) {
    ExpectProblem(Post("/api/v1/shares/%2Fexport/snapshots", bad, admin), 400);
  }
  ExpectProblem(Post("/api/v1/shares/%2Fexport/snapshots", {{"name", "w"}}, op), 403);
  auto deleted = Delete("/api/v1/shares/%2Fexport/snapshots/daily", admin);
  ASSERT_EQ(deleted->status, 202) << deleted->body;
  ExpectProblem(Delete("/api/v1/shares/%2Fexport/snapshots/none", admin), 404);
  auto restored = Post("/api/v1/shares/%2Fexport/snapshots/daily/restore",
                       {{"safety", "before-restore"}}, admin);
  ASSERT_EQ(restored->status, 202) << restored->body;
  auto defaulted = Send("POST", "/api/v1/shares/%2Fexport/snapshots/daily/restore", admin);
  ASSERT_EQ(defaulted->status, 202) << defaulted->body;
  ExpectProblem(
      Post("/api/v1/shares/%2Fexport/snapshots/daily/restore", {{"safety", "a b"}}, admin), 400);
  ExpectProblem(Post("/api/v1/shares/%2Fnope/snapshots", {{"name", "n"}}, admin), 404);

  // The schedule: read by operators, set by admins, checked before the server sees it.
  auto policy = Get("/api/v1/shares/%2Fexport/snapshot-policy", op);
  ASSERT_EQ(policy->status, 200) << policy->body;
  EXPECT_EQ(Body(policy)["cron"], "");
  auto set = Put("/api/v1/shares/%2Fexport/snapshot-policy",
                 {{"cron", "30 2 * * *"}, {"keep_last", 7}, {"ttl_seconds", 2592000}}, admin);
  ASSERT_EQ(set->status, 200) << set->body;
  EXPECT_EQ(Body(set)["keep_last"], 7);
  EXPECT_EQ(Body(Get("/api/v1/shares/%2Fexport/snapshot-policy", op))["cron"], "30 2 * * *");
  for (const json& bad : {json{{"cron", "every day"}}, json{{"interval_seconds", 5}},
                          json{{"interval_seconds", 3600}, {"cron", "0 * * * *"}},
                          json{{"keep_last", -1}}, json{{"when", 1}}}) {
    ExpectProblem(Put("/api/v1/shares/%2Fexport/snapshot-policy", bad, admin), 400);
  }
  ExpectProblem(Put("/api/v1/shares/%2Fexport/snapshot-policy", {{"cron", "0 * * * *"}}, op), 403);
  auto removed = Delete("/api/v1/shares/%2Fexport/snapshot-policy", admin);
  ASSERT_EQ(removed->status, 200) << removed->body;
  EXPECT_EQ(Body(removed)["cron"], "");

  std::vector<std::string> calls = hooks_.job_calls();
  ASSERT_EQ(calls.size(), 6u);
  EXPECT_EQ(calls[0], "snapshot-create /export weekly ");
  EXPECT_EQ(calls[1], "snapshot-create /export daily ");
  EXPECT_EQ(calls[2], "snapshot-delete /export daily ");
  EXPECT_EQ(calls[3], "snapshot-delete /export none ");
  EXPECT_EQ(calls[4], "snapshot-restore /export daily before-restore");
  EXPECT_THAT(calls[5], ::testing::StartsWith("snapshot-restore /export daily pre-restore-20"));
}

TEST_F(ApiTest, ShareRecycleBinFields) {
  CreateShareFixture();
  std::string token = AdminToken();
  json share = Body(Get("/api/v1/shares/%2Fexport", token));
  EXPECT_EQ(share["recycle"], false);  // off unless asked
  EXPECT_EQ(share["recycle_retention_days"], 0);
  EXPECT_EQ(share["recycle_max_bytes"], 0);
  EXPECT_EQ(share["recycle_exclude"], json::array());

  auto created = Post("/api/v1/shares",
                      {{"name", "/bin"},
                       {"metadata_store", "meta"},
                       {"block_store", "blocks"},
                       {"recycle", true},
                       {"recycle_retention_days", 30},
                       {"recycle_max_bytes", int64_t{10} << 30},
                       {"recycle_exclude", {"*.tmp", "~$*"}}},
                      token);
  ASSERT_EQ(created->status, 201) << created->body;
  json made = Body(created);
  EXPECT_EQ(made["recycle"], true);
  EXPECT_EQ(made["recycle_retention_days"], 30);
  EXPECT_EQ(made["recycle_max_bytes"], int64_t{10} << 30);
  EXPECT_EQ(made["recycle_exclude"], json({"*.tmp", "~$*"}));
  ASSERT_OK_AND_ASSIGN(Share stored, db_->GetShareByName("/bin"));
  EXPECT_TRUE(stored.recycle);
  EXPECT_EQ(stored.recycle_retention_days, 30u);
  EXPECT_EQ(stored.recycle_max_bytes, uint64_t{10} << 30);
  EXPECT_EQ(stored.recycle_exclude, (std::vector<std::string>{"*.tmp", "~$*"}));

  // A patch changes only what it names.
  auto patched = Patch("/api/v1/shares/%2Fbin", {{"recycle_retention_days", 7}}, token);
  ASSERT_EQ(patched->status, 200) << patched->body;
  EXPECT_EQ(Body(patched)["recycle_retention_days"], 7);
  EXPECT_EQ(Body(patched)["recycle"], true);
  patched = Patch(
      "/api/v1/shares/%2Fbin",
      {{"recycle", false}, {"recycle_max_bytes", 0}, {"recycle_exclude", json::array()}}, token);
  ASSERT_EQ(patched->status, 200) << patched->body;
  ASSERT_OK_AND_ASSIGN(stored, db_->GetShareByName("/bin"));
  EXPECT_FALSE(stored.recycle);
  EXPECT_EQ(stored.recycle_retention_days, 7u);
  EXPECT_EQ(stored.recycle_max_bytes, 0u);
  EXPECT_TRUE(stored.recycle_exclude.empty());
  patched = Patch("/api/v1/shares/%2Fbin",
                  {{"recycle_max_bytes", std::numeric_limits<int64_t>::max()}}, token);
  ASSERT_EQ(patched->status, 200) << patched->body;

  int changes = hooks_.shares_changed();
  json too_many = json::array();
  for (size_t i = 0; i <= 64; ++i) too_many.push_back("*." + std::to_string(i));
  for (const json& bad : {
           json{{"recycle", "yes"}},
           json{{"recycle", 1}},
           json{{"recycle_retention_days", -1}},
           json{{"recycle_retention_days", int64_t{1} << 32}},
           json{{"recycle_retention_days", "30"}},
           json{{"recycle_max_bytes", -1}},
           json{{"recycle_max_bytes", "10G"}},
           json{{"recycle_max_bytes", 1.5}},
           json{{"recycle_max_bytes", uint64_t{1} << 63}},
           json{{"recycle_exclude", "*.tmp"}},
           json{{"recycle_exclude", {""}}},
           json{{"recycle_exclude", {1}}},
           json{{"recycle_exclude", {std::string(256, 'x')}}},
           json{{"recycle_exclude", too_many}},
           json{{"recycle_excludes", {"*.tmp"}}},
       }) {
    SCOPED_TRACE(bad.dump());
    ExpectProblem(Patch("/api/v1/shares/%2Fbin", bad, token), 400);
  }
  EXPECT_EQ(hooks_.shares_changed(), changes);
  too_many.erase(too_many.begin());
  // At the bounds: 64 globs, 255 bytes.
  patched = Patch("/api/v1/shares/%2Fbin", {{"recycle_exclude", too_many}}, token);
  ASSERT_EQ(patched->status, 200) << patched->body;
  patched = Patch("/api/v1/shares/%2Fbin", {{"recycle_exclude", {std::string(255, 'x')}}}, token);
  ASSERT_EQ(patched->status, 200) << patched->body;
}

TEST_F(ApiTest, StoreUsedByAShareCannotBeDeleted) {
  CreateShareFixture();
  std::string token = AdminToken();
  ExpectProblem(Delete("/api/v1/stores/block/blocks", token), 409);
  ExpectProblem(Delete("/api/v1/stores/metadata/meta", token), 409);
  EXPECT_EQ(Delete("/api/v1/shares/%2Fexport", token)->status, 204);
  EXPECT_EQ(Delete("/api/v1/stores/block/blocks", token)->status, 204);
}

// --- where stores keep data (issue 11: shares must not share directories) ---

// A store definition's JSON body.
json StoreBody(const std::string& name, const std::string& type, const json& config) {
  return {{"name", name}, {"type", type}, {"config", config}};
}
json S3Remote(const std::string& bucket, const std::string& prefix) {
  return {{"type", "s3"},
          {"endpoint", "http://127.0.0.1:9000"},
          {"bucket", bucket},
          {"prefix", prefix}};
}

TEST_F(ApiTest, StoresInSystemDirectoriesAreRefused) {
  std::string token = AdminToken();
  for (const char* path : {"/", "/etc/dittofs", "/usr/local/dfs", "/proc/dfs", "/var/run/dfs",
                           "/lib64/dfs", "/srv/../boot/dfs"}) {
    json problem = ExpectProblem(
        Post("/api/v1/stores/metadata", StoreBody("m", "rocksdb", {{"path", path}}), token), 400);
    EXPECT_THAT(problem.value("detail", ""), HasSubstr("system directory")) << path;
    ExpectProblem(Post("/api/v1/stores/block", StoreBody("b", "localfs", {{"path", path}}), token),
                  400);
  }
  ExpectProblem(Post("/api/v1/stores/block", StoreBody("t", "tiered", {{"dir", "/sys/j"}}), token),
                400);
  ExpectProblem(
      Post("/api/v1/stores/block",
           StoreBody("t", "tiered", {{"remote", {{"type", "fs"}, {"path", "/dev/r"}}}}), token),
      400);
  ExpectProblem(
      Post("/api/v1/stores/block", StoreBody("t", "tiered", {{"key_file", "/etc/dfs.key"}}), token),
      400);
  ASSERT_EQ(Post("/api/v1/stores/block", StoreBody("b", "localfs", {{"path", "/srv/dfs/b"}}), token)
                ->status,
            201);
  ExpectProblem(Patch("/api/v1/stores/block/b", {{"config", {{"path", "/bin"}}}}, token), 400);
  EXPECT_EQ(Body(Get("/api/v1/stores/block/b", token))["config"]["path"], "/srv/dfs/b");
}

TEST_F(ApiTest, StoresWhosePlacesOverlapAreRefused) {
  std::string token = AdminToken();
  auto create = [&](const std::string& kind, const json& body) {
    return Post("/api/v1/stores/" + kind, body, token);
  };
  ASSERT_EQ(create("metadata", StoreBody("m1", "rocksdb", {{"path", "/srv/dfs/meta"}}))->status,
            201);
  // The same directory for the same role: each share keeps its own subdirectory there.
  ASSERT_EQ(create("metadata", StoreBody("m2", "rocksdb", {{"path", "/srv/dfs/meta/"}}))->status,
            201);
  // One directory for metadata and blocks: a share on both would keep both in one subdirectory.
  json same = ExpectProblem(
      create("block", StoreBody("b1", "localfs", {{"path", "/srv/dfs/./meta"}})), 409);
  EXPECT_THAT(same.value("detail", ""), HasSubstr("metadata store 'm1'"));
  EXPECT_THAT(same.value("detail", ""), HasSubstr("block store 'b1'"));
  // Inside another's directory, or holding it: a share's subdirectory could be the other store.
  json inside = ExpectProblem(
      create("metadata", StoreBody("m3", "rocksdb", {{"path", "/srv/dfs/meta/team"}})), 409);
  EXPECT_THAT(inside.value("detail", ""), HasSubstr("is inside"));
  ExpectProblem(create("block", StoreBody("b1", "localfs", {{"path", "/srv"}})), 409);
  ASSERT_EQ(create("block", StoreBody("b1", "localfs", {{"path", "/srv/dfs/blocks"}}))->status,
            201);
  // A tiered store's journal is block data too; its fs remote is a place of its own.
  ASSERT_EQ(create("block", StoreBody("t1", "tiered",
                                      {{"dir", "/srv/dfs/blocks"},
                                       {"remote", {{"type", "fs"}, {"path", "/srv/dfs/remote"}}}}))
                ->status,
            201);
  ExpectProblem(
      create("block", StoreBody("t2", "tiered",
                                {{"dir", "/srv/dfs/journal"},
                                 {"remote", {{"type", "fs"}, {"path", "/srv/dfs/meta"}}}})),
      409);
  // Its own places must not overlap either.
  ExpectProblem(
      create("block", StoreBody("t2", "tiered",
                                {{"dir", "/srv/dfs/j2"},
                                 {"remote", {{"type", "fs"}, {"path", "/srv/dfs/j2/r"}}}})),
      400);
  // S3 remotes: the same bucket and prefix is one place; a prefix of another's is an overlap.
  ASSERT_EQ(
      create("block", StoreBody("s1", "tiered",
                                {{"dir", "/srv/dfs/blocks"}, {"remote", S3Remote("b", "team")}}))
          ->status,
      201);
  ASSERT_EQ(
      create("block", StoreBody("s2", "tiered",
                                {{"dir", "/srv/dfs/blocks"}, {"remote", S3Remote("b", "team/")}}))
          ->status,
      201);
  json prefix = ExpectProblem(create("block", StoreBody("s3", "tiered",
                                                        {{"dir", "/srv/dfs/blocks"},
                                                         {"remote", S3Remote("b", "team/a/")}})),
                              409);
  EXPECT_THAT(prefix.value("detail", ""), HasSubstr("s3://b/team/"));
  ExpectProblem(
      create("block", StoreBody("s3", "tiered",
                                {{"dir", "/srv/dfs/blocks"}, {"remote", S3Remote("b", "")}})),
      409);
  ASSERT_EQ(create("block", StoreBody("s3", "tiered",
                                      {{"dir", "/srv/dfs/blocks"}, {"remote", S3Remote("c", "")}}))
                ->status,
            201);
  // A change is checked like a creation; a store does not overlap itself.
  json patched = ExpectProblem(
      Patch("/api/v1/stores/block/b1", {{"config", {{"path", "/srv/dfs/meta/x"}}}}, token), 409);
  EXPECT_THAT(patched.value("detail", ""), HasSubstr("metadata store 'm1'"));
  EXPECT_EQ(
      Patch("/api/v1/stores/block/b1", {{"config", {{"path", "/srv/dfs/blocks"}}}}, token)->status,
      200);
  ExpectProblem(
      Patch("/api/v1/stores/metadata/m2", {{"config", {{"path", "/srv/dfs/remote"}}}}, token), 409);
}

TEST_F(ApiTest, StoresMustKeepClearOfTheServersOwnFiles) {
  std::string token = AdminToken();
  std::string state = dir_ + "/state";
  json held = ExpectProblem(
      Post("/api/v1/stores/block", StoreBody("b", "localfs", {{"path", state}}), token), 409);
  EXPECT_THAT(held.value("detail", ""), HasSubstr("state directory"));
  ExpectProblem(Post("/api/v1/stores/block", StoreBody("b", "localfs", {{"path", dir_}}), token),
                409);
  json db = ExpectProblem(Post("/api/v1/stores/metadata",
                               StoreBody("m", "rocksdb", {{"path", dir_ + "/control.db"}}), token),
                          409);
  EXPECT_THAT(db.value("detail", ""), HasSubstr("the control database"));
  ExpectProblem(
      Post("/api/v1/stores/block", StoreBody("b", "localfs", {{"path", state + "/keys"}}), token),
      409);
  // A tiered store without a directory keeps its shares under the state directory's blocks/
  // and remote/, so those are taken for those roles.
  ASSERT_EQ(Post("/api/v1/stores/block", StoreBody("t", "tiered", json::object()), token)->status,
            201);
  ASSERT_EQ(Post("/api/v1/stores/block", StoreBody("t2", "tiered", json::object()), token)->status,
            201);
  json taken = ExpectProblem(Post("/api/v1/stores/metadata",
                                  StoreBody("m", "rocksdb", {{"path", state + "/blocks"}}), token),
                             409);
  EXPECT_THAT(taken.value("detail", ""), HasSubstr("block store 't'"));
  EXPECT_EQ(Post("/api/v1/stores/metadata",
                 StoreBody("m", "rocksdb", {{"path", state + "/metadata"}}), token)
                ->status,
            201);
}

TEST_F(ApiTest, SharesWhosePlacesOverlapAreRefused) {
  std::string token = AdminToken();
  // Definitions from a database older than the store checks, which let them overlap.
  ASSERT_OK(db_->CreateMetadataStore(
      {.name = "old-meta", .type = "rocksdb", .config_json = R"({"path":"/srv/old"})"}));
  ASSERT_OK(db_->CreateBlockStore(
      {.name = "old-blocks", .type = "localfs", .config_json = R"({"path":"/srv/old"})"}));
  ASSERT_OK(db_->CreateMetadataStore(
      {.name = "outer", .type = "rocksdb", .config_json = R"({"path":"/srv/outer"})"}));
  ASSERT_OK(db_->CreateMetadataStore(
      {.name = "inner", .type = "rocksdb", .config_json = R"({"path":"/srv/outer/team"})"}));
  ASSERT_OK(db_->CreateBlockStore({.name = "mem", .type = "memory"}));
  int hooks = hooks_.shares_changed();

  json both = ExpectProblem(
      Post("/api/v1/shares",
           {{"name", "/x"}, {"metadata_store", "old-meta"}, {"block_store", "old-blocks"}}, token),
      409);
  EXPECT_THAT(both.value("detail", ""), HasSubstr("/srv/old/x"));
  EXPECT_THAT(both.value("detail", ""), HasSubstr("metadata store 'old-meta'"));
  EXPECT_THAT(both.value("detail", ""), HasSubstr("block store 'old-blocks'"));

  ASSERT_EQ(Post("/api/v1/shares",
                 {{"name", "/team"}, {"metadata_store", "outer"}, {"block_store", "mem"}}, token)
                ->status,
            201);
  // /y's metadata would be in /srv/outer/team/y: inside /team's.
  json nested = ExpectProblem(
      Post("/api/v1/shares", {{"name", "/y"}, {"metadata_store", "inner"}, {"block_store", "mem"}},
           token),
      409);
  EXPECT_THAT(nested.value("detail", ""), HasSubstr("share /team"));
  ASSERT_EQ(Post("/api/v1/shares",
                 {{"name", "/z"}, {"metadata_store", "outer"}, {"block_store", "mem"}}, token)
                ->status,
            201);
  ExpectProblem(Patch("/api/v1/shares/%2Fz", {{"metadata_store", "inner"}}, token), 409);
  EXPECT_EQ(Body(Get("/api/v1/shares/%2Fz", token))["metadata_store"], "outer");
  // Names that folded together under the old rule are different shares with different places.
  ASSERT_EQ(Post("/api/v1/shares",
                 {{"name", "/team_a"}, {"metadata_store", "outer"}, {"block_store", "mem"}}, token)
                ->status,
            201);
  ASSERT_EQ(Post("/api/v1/shares",
                 {{"name", "/team.a"}, {"metadata_store", "outer"}, {"block_store", "mem"}}, token)
                ->status,
            201);
  EXPECT_EQ(hooks_.shares_changed(), hooks + 4);  // the refused ones reached no hook
}

TEST_F(ApiTest, ShareNamesMustFitADirectoryName) {
  CreateShareFixture();
  std::string token = AdminToken();
  EXPECT_EQ(Post("/api/v1/shares",
                 {{"name", "/" + std::string(250, 'a')},
                  {"metadata_store", "meta"},
                  {"block_store", "blocks"}},
                 token)
                ->status,
            201);
  json problem = ExpectProblem(Post("/api/v1/shares",
                                    {{"name", "/" + std::string(84, '.')},
                                     {"metadata_store", "meta"},
                                     {"block_store", "blocks"}},
                                    token),
                               400);
  EXPECT_THAT(problem.value("detail", ""), HasSubstr("too long"));
}

// --- shares ---

TEST_F(ApiTest, Shares) {
  CreateShareFixture();
  std::string token = AdminToken();
  EXPECT_EQ(hooks_.shares_changed(), 3);
  json share = Body(Get("/api/v1/shares/%2Fexport", Token(operator_)));
  EXPECT_EQ(share["name"], "/export");
  EXPECT_EQ(share["metadata_store"], "meta");
  EXPECT_EQ(share["block_store"], "blocks");
  EXPECT_EQ(share["squash"], "root_to_guest");
  EXPECT_EQ(share["default_permission"], "none");
  EXPECT_EQ(share["root_mode"], "0755");
  EXPECT_EQ(share["names"], "posix");
  EXPECT_EQ(share["smb_encrypt"], false);
  EXPECT_EQ(share["smb_require_signing"], false);
  EXPECT_EQ(share["guest_ok"], false);  // guests are a per-share opt-in
  EXPECT_EQ(Body(Get("/api/v1/shares/export", token))["name"], "/export");
  EXPECT_EQ(Body(Get("/api/v1/shares", token)).size(), 1u);
  ExpectProblem(Get("/api/v1/shares/%2Fnope", token), 404);
  ExpectProblem(
      Post("/api/v1/shares",
           {{"name", "/export"}, {"metadata_store", "meta"}, {"block_store", "blocks"}}, token),
      409);
  ExpectProblem(
      Post("/api/v1/shares",
           {{"name", "/other"}, {"metadata_store", "nope"}, {"block_store", "blocks"}}, token),
      400);

  auto patched = Patch("/api/v1/shares/%2Fexport",
                       {{"read_only", true},
                        {"squash", "all_to_admin"},
                        {"anon_uid", 99},
                        {"anon_gid", 98},
                        {"allowed_cidrs", {"10.0.0.0/8", "fd00::/8"}},
                        {"denied_cidrs", {"10.1.0.0/16"}},
                        {"default_permission", "read-write"},
                        {"root_mode", "0750"},
                        {"names", "windows"},
                        {"smb_encrypt", true},
                        {"guest_ok", true}},
                       token);
  ASSERT_EQ(patched->status, 200) << patched->body;
  json changed = Body(patched);
  EXPECT_EQ(changed["read_only"], true);
  EXPECT_EQ(changed["squash"], "all_to_admin");
  EXPECT_EQ(changed["default_permission"], "read-write");
  EXPECT_EQ(changed["root_mode"], "0750");
  EXPECT_EQ(changed["names"], "windows");
  EXPECT_EQ(changed["smb_encrypt"], true);
  EXPECT_EQ(changed["smb_require_signing"], false);
  EXPECT_EQ(changed["guest_ok"], true);
  EXPECT_EQ(changed["allowed_cidrs"], json({"10.0.0.0/8", "fd00::/8"}));
  ASSERT_OK_AND_ASSIGN(Share stored, db_->GetShareByName("/export"));
  EXPECT_EQ(stored.root_mode, 0750u);
  EXPECT_EQ(stored.names, NameRules::kWindows);
  EXPECT_TRUE(stored.smb_encrypt);
  EXPECT_FALSE(stored.smb_require_signing);
  EXPECT_TRUE(stored.guest_ok);
  EXPECT_EQ(stored.default_permission, PermissionLevel::kReadWrite);
  EXPECT_EQ(hooks_.shares_changed(), 4);
  // A patch changes only what it names.
  patched = Patch("/api/v1/shares/%2Fexport", {{"smb_require_signing", true}}, token);
  ASSERT_EQ(patched->status, 200) << patched->body;
  ASSERT_OK_AND_ASSIGN(stored, db_->GetShareByName("/export"));
  EXPECT_TRUE(stored.smb_encrypt);
  EXPECT_TRUE(stored.smb_require_signing);
  EXPECT_TRUE(stored.guest_ok);
  EXPECT_EQ(hooks_.shares_changed(), 5);

  for (const json& bad :
       {json{{"allowed_cidrs", {"10.0.0.0"}}}, json{{"denied_cidrs", {"10.0.0.0/33"}}},
        json{{"allowed_cidrs", {"fd00::/129"}}}, json{{"allowed_cidrs", {"x/8"}}},
        json{{"squash", "everyone"}}, json{{"default_permission", "read_write"}},
        json{{"root_mode", "0999"}}, json{{"root_mode", 755}}, json{{"name", "/renamed"}},
        json{{"names", "ntfs"}}, json{{"names", 1}}, json{{"guest_ok", "yes"}},
        json{{"smb_encrypt", 1}}, json{{"smb_signing", true}}}) {
    ExpectProblem(Patch("/api/v1/shares/%2Fexport", bad, token), 400);
  }
  EXPECT_EQ(hooks_.shares_changed(), 5);
  EXPECT_EQ(Delete("/api/v1/shares/export", token)->status, 204);
  ExpectProblem(Delete("/api/v1/shares/export", token), 404);
  EXPECT_EQ(hooks_.shares_changed(), 6);

  // Through the router itself: httplib's client percent-decodes a Location it receives.
  net::HttpRequest request;
  request.method = "POST";
  request.path = "/api/v1/shares";
  request.headers.Set("Authorization", "Bearer " + token);
  request.body =
      json({{"name", "nested/dir"}, {"metadata_store", "meta"}, {"block_store", "blocks"}}).dump();
  net::HttpResponse response = router_.Dispatch(request);
  EXPECT_EQ(response.status, 201) << response.body;
  EXPECT_EQ(response.headers.Get("Location"), "/api/v1/shares/%2Fnested%2Fdir");
  EXPECT_EQ(Body(Get("/api/v1/shares/%2Fnested%2Fdir", token))["name"], "/nested/dir");
}

TEST_F(ApiTest, SharePermissions) {
  CreateShareFixture();
  std::string token = AdminToken();
  ASSERT_EQ(Post("/api/v1/groups", {{"name", "staff"}, {"gid", 50}}, token)->status, 201);
  int before = hooks_.shares_changed();
  auto granted = Put("/api/v1/shares/%2Fexport/permissions",
                     {{"kind", "user"}, {"name", "alice"}, {"level", "read-write"}}, token);
  ASSERT_EQ(granted->status, 200) << granted->body;
  EXPECT_EQ(Body(granted), json({{"kind", "user"}, {"name", "alice"}, {"level", "read-write"}}));
  ASSERT_EQ(Put("/api/v1/shares/%2Fexport/permissions",
                {{"kind", "group"}, {"name", "staff"}, {"level", "read"}}, token)
                ->status,
            200);
  EXPECT_EQ(hooks_.shares_changed(), before + 2);
  ASSERT_OK_AND_ASSIGN(Share share, db_->GetShareByName("/export"));
  EXPECT_THAT(db_->ResolvePermission(share.id, alice_.id).value(), PermissionLevel::kReadWrite);

  auto list = Get("/api/v1/shares/%2Fexport/permissions", Token(operator_));
  ASSERT_EQ(list->status, 200);
  EXPECT_EQ(Body(list), json({{{"kind", "user"}, {"name", "alice"}, {"level", "read-write"}},
                              {{"kind", "group"}, {"name", "staff"}, {"level", "read"}}}));

  ExpectProblem(Put("/api/v1/shares/%2Fexport/permissions",
                    {{"kind", "robot"}, {"name", "alice"}, {"level", "read"}}, token),
                400);
  ExpectProblem(Put("/api/v1/shares/%2Fexport/permissions",
                    {{"kind", "user"}, {"name", "nobody"}, {"level", "read"}}, token),
                400);
  ExpectProblem(Put("/api/v1/shares/%2Fnope/permissions",
                    {{"kind", "user"}, {"name", "alice"}, {"level", "read"}}, token),
                404);

  EXPECT_EQ(Delete("/api/v1/shares/%2Fexport/permissions/user/alice", token)->status, 204);
  ExpectProblem(Delete("/api/v1/shares/%2Fexport/permissions/user/alice", token), 404);
  ExpectProblem(Delete("/api/v1/shares/%2Fexport/permissions/robot/alice", token), 404);
  EXPECT_EQ(Delete("/api/v1/shares/export/permissions/group/staff", token)->status, 204);
  EXPECT_EQ(Body(Get("/api/v1/shares/export/permissions", token)), json::array());
  EXPECT_EQ(hooks_.shares_changed(), before + 4);
}

// --- adapters ---

TEST_F(ApiTest, Adapters) {
  auto list = Get("/api/v1/adapters", Token(operator_));
  ASSERT_EQ(list->status, 200);
  EXPECT_EQ(Body(list).size(), 2u);
  ExpectProblem(Get("/api/v1/adapters", Token(alice_)), 403);
  EXPECT_EQ(Body(Get("/api/v1/adapters/nfs", Token(operator_)))["port"], 2049);
  ExpectProblem(Get("/api/v1/adapters/ftp", Token(operator_)), 404);

  std::string token = AdminToken();
  auto patched =
      Patch("/api/v1/adapters/nfs", {{"port", 12049}, {"bind_address", "127.0.0.1"}}, token);
  ASSERT_EQ(patched->status, 200) << patched->body;
  EXPECT_EQ(Body(patched)["port"], 12049);
  EXPECT_EQ(hooks_.adapters_changed(), 1);
  ASSERT_OK_AND_ASSIGN(Adapter stored, db_->GetAdapter("nfs"));
  EXPECT_EQ(stored.bind_address, "127.0.0.1");

  ExpectProblem(Patch("/api/v1/adapters/smb", {{"port", 12049}}, token), 409);
  EXPECT_EQ(Patch("/api/v1/adapters/smb", {{"port", 12049}, {"enabled", false}}, token)->status,
            200);
  ExpectProblem(Patch("/api/v1/adapters/nfs", {{"port", 70000}}, token), 400);
  ExpectProblem(Patch("/api/v1/adapters/nfs", {{"bind_address", "localhost"}}, token), 400);
  ExpectProblem(Patch("/api/v1/adapters/ftp", {{"enabled", true}}, token), 404);
  EXPECT_EQ(hooks_.adapters_changed(), 2);

  // Each adapter's worker pool: kept in its config, shown, bounded.
  EXPECT_FALSE(Body(Get("/api/v1/adapters/nfs", token)).contains("workers"));
  auto pool = Patch("/api/v1/adapters/nfs", {{"workers", 4}, {"io_threads", 2}}, token);
  ASSERT_EQ(pool->status, 200) << pool->body;
  EXPECT_EQ(Body(pool)["workers"], 4);
  EXPECT_EQ(Body(Get("/api/v1/adapters/nfs", token))["io_threads"], 2);
  ASSERT_OK_AND_ASSIGN(stored, db_->GetAdapter("nfs"));
  EXPECT_EQ(nlohmann::json::parse(stored.config_json),
            nlohmann::json({{"workers", 4}, {"io_threads", 2}}));
  EXPECT_EQ(hooks_.adapters_changed(), 3);
  ExpectProblem(Patch("/api/v1/adapters/nfs", {{"workers", 0}}, token), 400);
  ExpectProblem(Patch("/api/v1/adapters/nfs", {{"workers", 257}}, token), 400);
  ExpectProblem(Patch("/api/v1/adapters/nfs", {{"io_threads", 17}}, token), 400);
  ExpectProblem(Patch("/api/v1/adapters/nfs", {{"workers", "many"}}, token), 400);
  EXPECT_EQ(Body(Get("/api/v1/adapters/nfs", token))["workers"], 4);  // refusals changed nothing
}

// --- settings ---

TEST_F(ApiTest, Settings) {
  std::string token = AdminToken();
  ExpectProblem(Get("/api/v1/settings/logging.level", token), 404);
  auto set = Put("/api/v1/settings/logging.level", {{"value", "debug"}}, token);
  ASSERT_EQ(set->status, 200) << set->body;
  ASSERT_EQ(Put("/api/v1/settings/logging.format", {{"value", "json"}}, token)->status, 200);
  EXPECT_EQ(hooks_.settings(),
            std::vector<std::string>({"logging.level=debug", "logging.format=json"}));
  EXPECT_EQ(Body(Get("/api/v1/settings/logging.level", Token(operator_)))["value"], "debug");
  EXPECT_EQ(Body(Get("/api/v1/settings", Token(operator_))).size(), 2u);

  ExpectProblem(Put("/api/v1/settings/logging.level", {{"value", "loud"}}, token), 400);
  ExpectProblem(Put("/api/v1/settings/logging.level", {{"value", 3}}, token), 400);
  ExpectProblem(Put("/api/v1/settings/no.such.key", {{"value", "x"}}, token), 404);
  ExpectProblem(Put("/api/v1/settings/logging.level", {{"value", "info"}}, Token(operator_)), 403);
  EXPECT_EQ(hooks_.settings().size(), 2u);
}

TEST_F(ApiTest, HookErrorFailsTheRequestButTheChangeStays) {
  hooks_.set_error(Status(Errc::kUnavailable, "reconcile failed"));
  std::string token = AdminToken();
  ExpectProblem(Put("/api/v1/settings/logging.level", {{"value", "warn"}}, token), 503);
  ASSERT_OK_AND_ASSIGN(std::string value, db_->GetSetting("logging.level"));
  EXPECT_EQ(value, "warn");
  ExpectProblem(Post("/api/v1/stores/block", {{"name", "b"}, {"type", "memory"}}, token), 503);
  EXPECT_OK(db_->GetBlockStoreByName("b"));
  ExpectProblem(Patch("/api/v1/adapters/nfs", {{"enabled", false}}, token), 503);
  EXPECT_EQ(hooks_.adapters_changed(), 1);
}

// Issue 12: a block store change the server could not make (its data did not move) is undone,
// so that the database never names a store without the share's data.
TEST_F(ApiTest, BlockStoreChangeTheServerRefusedIsUndone) {
  CreateShareFixture();
  std::string token = AdminToken();
  ASSERT_EQ(Post("/api/v1/stores/block", {{"name", "other"}, {"type", "memory"}}, token)->status,
            201);
  hooks_.set_error(Status(Errc::kBusy, "operations still ran"));
  ExpectProblem(
      Patch("/api/v1/shares/%2Fexport", {{"block_store", "other"}, {"read_only", true}}, token),
      409);
  hooks_.set_error(Status::Ok());
  json share = Body(Get("/api/v1/shares/%2Fexport", token));
  EXPECT_EQ(share["block_store"], "blocks");
  EXPECT_EQ(share["read_only"], false);
  // Other changes that fail in the server stay, as before.
  hooks_.set_error(Status(Errc::kUnavailable, "reconcile failed"));
  ExpectProblem(Patch("/api/v1/shares/%2Fexport", {{"read_only", true}}, token), 503);
  hooks_.set_error(Status::Ok());
  EXPECT_EQ(Body(Get("/api/v1/shares/%2Fexport", token))["read_only"], true);
}

TEST_F(ApiTest, CredentialsNeverReachTheLog) {
  std::string log_path = dir_ + "/api.log";
  log::Init(log::Level::kDebug, log::Format::kText, log_path);
  Post("/api/v1/auth/login", {{"username", "hunter2-typed-here"}, {"password", "wrong password"}});
  Get("/api/v1/users", "bogus.token.value");
  json tokens = Body(Post("/api/v1/auth/login", {{"username", "admin"}, {"password", kPassword}}));
  std::string token = tokens["access_token"].get<std::string>();
  ASSERT_EQ(
      Post("/api/v1/users",
           {{"username", "bob"}, {"password", "bob password"}, {"uid", 2000}, {"gid", 2000}}, token)
          ->status,
      201);
  ASSERT_EQ(Post("/api/v1/auth/password",
                 {{"current_password", kPassword}, {"new_password", "new password 1"}}, token)
                ->status,
            204);
  log::Flush();
  log::Init(log::Level::kInfo, log::Format::kText);
  std::ifstream in(log_path);
  std::stringstream text;
  text << in.rdbuf();
  std::string log = text.str();
  EXPECT_THAT(log, HasSubstr("failed login"));
  for (const std::string& secret :
       {std::string(kPassword), std::string("wrong password"), std::string("hunter2"),
        std::string("bob password"), std::string("new password 1"), token,
        tokens["refresh_token"].get<std::string>(), std::string("bogus.token"),
        std::string("argon2")}) {
    EXPECT_THAT(log, Not(HasSubstr(secret)));
  }
}

}  // namespace
}  // namespace dittofs::controlplane::api

// SPDX-License-Identifier: Apache-2.0
#include "controlplane/db/sql_control_db.h"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <nlohmann/json.hpp>
#include <optional>
#include <utility>

#include "base/clock.h"
#include "base/mutex.h"

namespace dittofs::controlplane {
namespace {

using Json = nlohmann::json;

// ---------------------------------------------------------------------------------------------
// Schema. Each migration runs in its own transaction and is recorded in schema_migrations.
// "@ID@" stands for the dialect's auto-assigned, never-reused 64-bit primary key. Every column
// is NOT NULL so rows read back as plain text; booleans are 0/1, enums their names.

struct Migration {
  int version;
  std::string_view description;
  std::string_view sql;
};

constexpr Migration kMigrations[] = {
    {1, "users, groups, stores, shares, permissions, settings", R"sql(
CREATE TABLE users (
  id @ID@,
  username TEXT NOT NULL UNIQUE,
  uid BIGINT NOT NULL UNIQUE,
  gid BIGINT NOT NULL,
  email TEXT NOT NULL,
  display_name TEXT NOT NULL,
  role TEXT NOT NULL CHECK (role IN ('admin', 'operator', 'user')),
  enabled INTEGER NOT NULL,
  must_change_password INTEGER NOT NULL,
  password_hash TEXT NOT NULL,
  nt_hash TEXT NOT NULL,
  created_at BIGINT NOT NULL,
  updated_at BIGINT NOT NULL);
CREATE TABLE user_groups (
  id @ID@,
  name TEXT NOT NULL UNIQUE,
  gid BIGINT NOT NULL UNIQUE);
CREATE TABLE group_members (
  user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  group_id BIGINT NOT NULL REFERENCES user_groups (id) ON DELETE CASCADE,
  PRIMARY KEY (user_id, group_id));
CREATE TABLE metadata_stores (
  id @ID@,
  name TEXT NOT NULL UNIQUE,
  type TEXT NOT NULL,
  config_json TEXT NOT NULL);
CREATE TABLE block_stores (
  id @ID@,
  name TEXT NOT NULL UNIQUE,
  type TEXT NOT NULL,
  config_json TEXT NOT NULL);
CREATE TABLE shares (
  id @ID@,
  name TEXT NOT NULL UNIQUE,
  metadata_store_id BIGINT NOT NULL REFERENCES metadata_stores (id) ON DELETE RESTRICT,
  block_store_id BIGINT NOT NULL REFERENCES block_stores (id) ON DELETE RESTRICT,
  read_only INTEGER NOT NULL,
  squash TEXT NOT NULL,
  anon_uid BIGINT NOT NULL,
  anon_gid BIGINT NOT NULL,
  allowed_cidrs TEXT NOT NULL,
  denied_cidrs TEXT NOT NULL,
  default_permission TEXT NOT NULL,
  root_mode BIGINT NOT NULL);
CREATE TABLE share_permissions (
  share_id BIGINT NOT NULL REFERENCES shares (id) ON DELETE CASCADE,
  subject_kind TEXT NOT NULL CHECK (subject_kind IN ('user', 'group')),
  subject_id BIGINT NOT NULL,
  level TEXT NOT NULL,
  PRIMARY KEY (share_id, subject_kind, subject_id));
CREATE TABLE settings (
  name TEXT NOT NULL PRIMARY KEY,
  value TEXT NOT NULL);
)sql"},
    {2, "adapters; permission lookup by subject", R"sql(
CREATE TABLE adapters (
  name TEXT NOT NULL PRIMARY KEY,
  enabled INTEGER NOT NULL,
  port BIGINT NOT NULL,
  bind_address TEXT NOT NULL,
  config_json TEXT NOT NULL);
CREATE INDEX share_permissions_by_subject ON share_permissions (subject_kind, subject_id);
CREATE INDEX group_members_by_group ON group_members (group_id);
)sql"},
    {3, "per-share name rules", R"sql(
ALTER TABLE shares ADD COLUMN names TEXT NOT NULL DEFAULT 'posix';
)sql"},
    {4, "per-share SMB encryption, signing and guest access", R"sql(
ALTER TABLE shares ADD COLUMN smb_encrypt INTEGER NOT NULL DEFAULT 0;
ALTER TABLE shares ADD COLUMN smb_require_signing INTEGER NOT NULL DEFAULT 0;
ALTER TABLE shares ADD COLUMN guest_ok INTEGER NOT NULL DEFAULT 0;
)sql"},
    {5, "per-share SMB access-based enumeration", R"sql(
ALTER TABLE shares ADD COLUMN smb_access_based_enumeration INTEGER NOT NULL DEFAULT 0;
)sql"},
    {6, "per-share SMB continuous availability (persistent handles)", R"sql(
ALTER TABLE shares ADD COLUMN continuously_available INTEGER NOT NULL DEFAULT 0;
)sql"},
    {7, "per-share NFS over TLS (RFC 9289)", R"sql(
ALTER TABLE shares ADD COLUMN tls TEXT NOT NULL DEFAULT 'off';
)sql"},
    {8, "per-share NFS security flavors (AUTH_SYS, Kerberos V5)", R"sql(
ALTER TABLE shares ADD COLUMN security TEXT NOT NULL DEFAULT 'sys';
)sql"},
    {9, "a user's Kerberos principal", R"sql(
ALTER TABLE users ADD COLUMN kerberos_principal TEXT NOT NULL DEFAULT '';
CREATE UNIQUE INDEX users_by_kerberos_principal ON users (kerberos_principal)
  WHERE kerberos_principal <> '';
)sql"},
    {10, "per-share recycle bin", R"sql(
ALTER TABLE shares ADD COLUMN recycle INTEGER NOT NULL DEFAULT 0;
ALTER TABLE shares ADD COLUMN recycle_retention_days BIGINT NOT NULL DEFAULT 0;
ALTER TABLE shares ADD COLUMN recycle_max_bytes BIGINT NOT NULL DEFAULT 0;
ALTER TABLE shares ADD COLUMN recycle_exclude TEXT NOT NULL DEFAULT '[]';
)sql"},
};
static_assert(std::size(kMigrations) == kSchemaVersion, "one migration per schema version");

std::string MigrationSql(const Migration& migration, SqlDialect dialect) {
  std::string_view id = dialect == SqlDialect::kSqlite
                            ? "INTEGER PRIMARY KEY AUTOINCREMENT"
                            : "BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY";
  std::string sql(migration.sql);
  for (size_t at = sql.find("@ID@"); at != std::string::npos; at = sql.find("@ID@", at)) {
    sql.replace(at, 4, id);
  }
  return sql;
}

// The tables an import fills and ExportJson reads, parents before children.
constexpr std::string_view kTables[] = {
    "users",  "user_groups",       "group_members", "metadata_stores", "block_stores",
    "shares", "share_permissions", "adapters",      "settings"};
constexpr std::string_view kTablesWithIds[] = {"users", "user_groups", "metadata_stores",
                                               "block_stores", "shares"};

// ---------------------------------------------------------------------------------------------
// Reading rows and JSON. Both readers keep the first error and return defaults after it, so a
// whole object is read and then checked once.

class RowReader {
 public:
  explicit RowReader(const SqlRow& row) : row_(row) {}

  std::string Str() {
    if (next_ >= row_.size()) {
      Fail("missing column");
      return {};
    }
    return row_[next_++];
  }
  int64_t Int() {
    std::string text = Str();
    int64_t value = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (ec != std::errc() || end != text.data() + text.size()) Fail("not an integer: " + text);
    return value;
  }
  uint32_t U32() { return static_cast<uint32_t>(Int()); }
  uint64_t U64() {
    int64_t value = Int();
    if (value < 0) Fail("negative: " + std::to_string(value));
    return static_cast<uint64_t>(value);
  }
  bool Bool() { return Int() != 0; }
  template <typename E>
  E Enum(Result<E> (*parse)(std::string_view)) {
    Result<E> value = parse(Str());
    if (!value.ok()) {
      Fail(value.status().message());
      return E{};
    }
    return *value;
  }
  std::vector<std::string> StrList() {
    Json list = Json::parse(Str(), nullptr, /*allow_exceptions=*/false);
    std::vector<std::string> out;
    if (!list.is_array()) {
      Fail("not a JSON list");
      return out;
    }
    for (const Json& item : list) {
      if (item.is_string()) out.push_back(item.get<std::string>());
    }
    return out;
  }
  const Status& status() const { return status_; }

 private:
  void Fail(std::string message) {
    if (status_.ok()) status_ = Status(Errc::kInternal, "control db: corrupt row: " + message);
  }

  const SqlRow& row_;
  size_t next_ = 0;
  Status status_;
};

class JsonReader {
 public:
  JsonReader(const Json& object, std::string where) : object_(object), where_(std::move(where)) {
    if (!object_.is_object()) Fail("", "an object");
  }

  int64_t Int(const char* key) {
    const Json* value = Find(key);
    if (value == nullptr || !value->is_number_integer()) return Fail(key, "an integer"), 0;
    return value->get<int64_t>();
  }
  uint32_t U32(const char* key) {
    int64_t value = Int(key);
    if (value < 0 || value > UINT32_MAX) return Fail(key, "a 32-bit unsigned integer"), 0;
    return static_cast<uint32_t>(value);
  }
  bool Bool(const char* key) {
    const Json* value = Find(key);
    if (value == nullptr || !value->is_boolean()) return Fail(key, "a boolean"), false;
    return value->get<bool>();
  }
  // The same for a 32-bit unsigned integer.
  uint32_t U32Or(const char* key, uint32_t absent) {
    return Find(key) == nullptr ? absent : U32(key);
  }
  // A non-negative integer up to INT64_MAX (what a BIGINT column holds); `absent` when the key
  // is missing, as older exports do.
  uint64_t U64Or(const char* key, uint64_t absent) {
    if (Find(key) == nullptr) return absent;
    int64_t value = Int(key);
    if (value < 0) return Fail(key, "a non-negative integer"), 0;
    return static_cast<uint64_t>(value);
  }
  // A boolean that older exports do not have: `absent` when the key is missing.
  bool BoolOr(const char* key, bool absent) { return Find(key) == nullptr ? absent : Bool(key); }
  std::string Str(const char* key) {
    const Json* value = Find(key);
    if (value == nullptr || !value->is_string()) return Fail(key, "a string"), "";
    return value->get<std::string>();
  }
  // A string that older exports do not have: `absent` when the key is missing.
  std::string StrOr(const char* key, const char* absent) {
    return Find(key) == nullptr ? std::string(absent) : Str(key);
  }
  std::vector<std::string> StrList(const char* key) {
    const Json* value = Find(key);
    std::vector<std::string> out;
    if (value == nullptr || !value->is_array()) return Fail(key, "a list of strings"), out;
    for (const Json& item : *value) {
      if (!item.is_string()) return Fail(key, "a list of strings"), out;
      out.push_back(item.get<std::string>());
    }
    return out;
  }
  // A list that older exports do not have: empty when the key is missing.
  std::vector<std::string> StrListOr(const char* key) {
    return Find(key) == nullptr ? std::vector<std::string>{} : StrList(key);
  }
  template <typename E>
  E Enum(const char* key, Result<E> (*parse)(std::string_view)) {
    std::string name = Str(key);
    if (!status_.ok()) return E{};
    Result<E> value = parse(name);
    if (!value.ok()) return Fail(key, "a known name"), E{};
    return *value;
  }
  const Status& status() const { return status_; }

 private:
  const Json* Find(const char* key) {
    if (!object_.is_object()) return nullptr;
    auto it = object_.find(key);
    return it == object_.end() ? nullptr : &*it;
  }
  void Fail(std::string_view key, std::string_view expected) {
    if (status_.ok()) {
      status_ =
          Status(Errc::kInvalid, fmt::format("import: {} {}: expected {}", where_, key, expected));
    }
  }

  const Json& object_;
  std::string where_;
  Status status_;
};

std::string ToJsonList(const std::vector<std::string>& items) {
  return Json(items).dump(-1, ' ', false, Json::error_handler_t::replace);
}

// Adds what was being done to a failure: "create user \"alice\": ...".
Status Annotate(const Status& status, std::string_view what) {
  if (status.ok()) return status;
  return Status(status.code(), fmt::format("{}: {}", what, status.message()));
}

Status CheckName(std::string_view noun, std::string_view name) {
  if (name.empty()) return Status(Errc::kInvalid, fmt::format("{}: the name is empty", noun));
  return Status::Ok();
}

// What a share row can hold: a name, and a recycle_max_bytes a BIGINT keeps.
Status CheckShare(std::string_view what, const Share& share) {
  RETURN_IF_ERROR(CheckName(what, share.name));
  if (share.recycle_max_bytes > uint64_t{INT64_MAX}) {
    return Status(Errc::kInvalid, fmt::format("{}: recycle_max_bytes is over {}", what, INT64_MAX));
  }
  return Status::Ok();
}

Status CheckConfigJson(std::string_view what, const std::string& config_json) {
  if (!Json::accept(config_json)) {
    return Status(Errc::kInvalid, fmt::format("{}: config_json is not valid JSON", what));
  }
  return Status::Ok();
}

int64_t B(bool value) { return value ? 1 : 0; }
std::string S(std::string_view value) { return std::string(value); }

// The parts of the two store tables that differ.
struct StoreKind {
  std::string_view table;
  std::string_view noun;          // "metadata store"
  std::string_view share_column;  // the shares column that references it
};
constexpr StoreKind kMetadataStores{"metadata_stores", "metadata store", "metadata_store_id"};
constexpr StoreKind kBlockStores{"block_stores", "block store", "block_store_id"};

constexpr std::string_view kUserColumns =
    "id, username, uid, gid, email, display_name, role, enabled, must_change_password, "
    "password_hash, nt_hash, created_at, updated_at, kerberos_principal";
constexpr std::string_view kShareColumns =
    "id, name, metadata_store_id, block_store_id, read_only, squash, anon_uid, anon_gid, "
    "allowed_cidrs, denied_cidrs, default_permission, root_mode, names, smb_encrypt, "
    "smb_require_signing, guest_ok, smb_access_based_enumeration, continuously_available, tls, "
    "security, recycle, recycle_retention_days, recycle_max_bytes, recycle_exclude";

Result<User> UserFromRow(const SqlRow& row) {
  RowReader r(row);
  User u;
  u.id = r.Int();
  u.username = r.Str();
  u.uid = r.U32();
  u.gid = r.U32();
  u.email = r.Str();
  u.display_name = r.Str();
  u.role = r.Enum(ParseRole);
  u.enabled = r.Bool();
  u.must_change_password = r.Bool();
  u.password_hash = r.Str();
  u.nt_hash = r.Str();
  u.created_at = r.Int();
  u.updated_at = r.Int();
  u.kerberos_principal = r.Str();
  RETURN_IF_ERROR(r.status());
  return u;
}

Result<Group> GroupFromRow(const SqlRow& row) {
  RowReader r(row);
  Group g;
  g.id = r.Int();
  g.name = r.Str();
  g.gid = r.U32();
  RETURN_IF_ERROR(r.status());
  return g;
}

Result<StoreDef> StoreFromRow(const SqlRow& row) {
  RowReader r(row);
  StoreDef s;
  s.id = r.Int();
  s.name = r.Str();
  s.type = r.Str();
  s.config_json = r.Str();
  RETURN_IF_ERROR(r.status());
  return s;
}

Result<Share> ShareFromRow(const SqlRow& row) {
  RowReader r(row);
  Share s;
  s.id = r.Int();
  s.name = r.Str();
  s.metadata_store_id = r.Int();
  s.block_store_id = r.Int();
  s.read_only = r.Bool();
  s.squash = r.Enum(ParseSquash);
  s.anon_uid = r.U32();
  s.anon_gid = r.U32();
  s.allowed_cidrs = r.StrList();
  s.denied_cidrs = r.StrList();
  s.default_permission = r.Enum(ParsePermissionLevel);
  s.root_mode = r.U32();
  s.names = r.Enum(ParseNameRules);
  s.smb_encrypt = r.Bool();
  s.smb_require_signing = r.Bool();
  s.guest_ok = r.Bool();
  s.smb_access_based_enumeration = r.Bool();
  s.continuously_available = r.Bool();
  s.tls = r.Str();
  s.security = r.Str();
  s.recycle = r.Bool();
  s.recycle_retention_days = r.U32();
  s.recycle_max_bytes = r.U64();
  s.recycle_exclude = r.StrList();
  RETURN_IF_ERROR(r.status());
  return s;
}

Result<SharePermission> PermissionFromRow(const SqlRow& row) {
  RowReader r(row);
  SharePermission p;
  p.share_id = r.Int();
  p.subject_kind = r.Enum(ParseSubjectKind);
  p.subject_id = r.Int();
  p.level = r.Enum(ParsePermissionLevel);
  RETURN_IF_ERROR(r.status());
  return p;
}

Result<Adapter> AdapterFromRow(const SqlRow& row) {
  RowReader r(row);
  Adapter a;
  a.name = r.Str();
  a.enabled = r.Bool();
  a.port = r.U32();
  a.bind_address = r.Str();
  a.config_json = r.Str();
  RETURN_IF_ERROR(r.status());
  return a;
}

template <typename T>
Result<std::vector<T>> AllFromRows(const std::vector<SqlRow>& rows,
                                   Result<T> (*from_row)(const SqlRow&)) {
  std::vector<T> out;
  out.reserve(rows.size());
  for (const SqlRow& row : rows) {
    ASSIGN_OR_RETURN(T item, from_row(row));
    out.push_back(std::move(item));
  }
  return out;
}

template <typename T>
Result<T> OneFromRows(const std::vector<SqlRow>& rows, Result<T> (*from_row)(const SqlRow&),
                      std::string what) {
  if (rows.empty()) return Status(Errc::kNotFound, std::move(what) + ": not found");
  return from_row(rows.front());
}

std::vector<SqlParam> UserParams(const User& u) {
  return {S(u.username),          int64_t{u.uid},      int64_t{u.gid}, S(u.email),
          S(u.display_name),      S(RoleName(u.role)), B(u.enabled),   B(u.must_change_password),
          S(u.password_hash),     S(u.nt_hash),        u.created_at,   u.updated_at,
          S(u.kerberos_principal)};
}

std::vector<SqlParam> ShareParams(const Share& s) {
  return {S(s.name),
          s.metadata_store_id,
          s.block_store_id,
          B(s.read_only),
          S(SquashName(s.squash)),
          int64_t{s.anon_uid},
          int64_t{s.anon_gid},
          ToJsonList(s.allowed_cidrs),
          ToJsonList(s.denied_cidrs),
          S(PermissionLevelName(s.default_permission)),
          int64_t{s.root_mode},
          S(NameRulesName(s.names)),
          B(s.smb_encrypt),
          B(s.smb_require_signing),
          B(s.guest_ok),
          B(s.smb_access_based_enumeration),
          B(s.continuously_available),
          S(s.tls),
          S(s.security),
          B(s.recycle),
          int64_t{s.recycle_retention_days},
          static_cast<int64_t>(s.recycle_max_bytes),  // CheckShare kept it within a BIGINT
          ToJsonList(s.recycle_exclude)};
}

std::vector<SqlParam> AdapterParams(const Adapter& a) {
  return {S(a.name), B(a.enabled), int64_t{a.port}, S(a.bind_address), S(a.config_json)};
}

Status CheckUser(std::string_view what, const User& user) {
  RETURN_IF_ERROR(CheckName(what, user.username));
  // A principal as GSS-API displays it: name[/instance]@REALM, printable, no spaces.
  const std::string& p = user.kerberos_principal;
  if (p.empty()) return Status::Ok();
  const size_t at = p.rfind('@');
  const bool printable = std::all_of(p.begin(), p.end(), [](char c) { return c > ' ' && c < 127; });
  if (p.size() > 256 || !printable || at == 0 || at == std::string::npos || at + 1 == p.size()) {
    return Status(Errc::kInvalid,
                  fmt::format("{}: a Kerberos principal is name@REALM (printable, at most 256 "
                              "bytes), not \"{}\"",
                              what, p));
  }
  return Status::Ok();
}
Status CheckAdapter(std::string_view what, const Adapter& adapter) {
  RETURN_IF_ERROR(CheckName(what, adapter.name));
  if (adapter.port > 65535) return Status(Errc::kInvalid, fmt::format("{}: port > 65535", what));
  return CheckConfigJson(what, adapter.config_json);
}

// ---------------------------------------------------------------------------------------------

class SqlControlDb final : public ControlDb {
 public:
  explicit SqlControlDb(std::unique_ptr<SqlConnection> connection) : conn_(std::move(connection)) {}

  // --- users ---

  Result<User> CreateUser(const User& in) override {
    std::string what = fmt::format("create user \"{}\"", in.username);
    RETURN_IF_ERROR(CheckUser(what, in));
    User user = in;
    user.created_at = user.updated_at = Now().sec;
    MutexLock lock(&mu_);
    Result<std::vector<SqlRow>> rows = conn_->Query(
        "INSERT INTO users (username, uid, gid, email, display_name, role, enabled, "
        "must_change_password, password_hash, nt_hash, created_at, updated_at, "
        "kerberos_principal) "
        "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) RETURNING id",
        UserParams(user));
    if (rows.status() == Errc::kExists) {
      return Status(Errc::kExists,
                    what + ": the username, the uid or the Kerberos principal is taken");
    }
    RETURN_IF_ERROR(Annotate(rows.status(), what));
    ASSIGN_OR_RETURN(user.id, FirstIdOf(*rows));
    return user;
  }

  Result<User> GetUser(int64_t id) override {
    MutexLock lock(&mu_);
    return GetUserLocked(id);
  }

  Result<User> GetUserByName(std::string_view username) override {
    MutexLock lock(&mu_);
    ASSIGN_OR_RETURN(
        std::vector<SqlRow> rows,
        conn_->Query(fmt::format("SELECT {} FROM users WHERE username = $1", kUserColumns),
                     {S(username)}));
    return OneFromRows(rows, UserFromRow, fmt::format("user \"{}\"", username));
  }

  Result<std::vector<User>> ListUsers() override {
    MutexLock lock(&mu_);
    return ListUsersLocked();
  }

  Status UpdateUser(const User& in) override {
    std::string what = fmt::format("update user {}", in.id);
    RETURN_IF_ERROR(CheckUser(what, in));
    User user = in;
    user.updated_at = Now().sec;
    std::vector<SqlParam> params = UserParams(user);
    params.erase(params.begin() + 10);  // created_at never changes
    params.push_back(user.id);
    MutexLock lock(&mu_);
    return ExpectOneRow(
        conn_->Query("UPDATE users SET username = $1, uid = $2, gid = $3, email = $4, "
                     "display_name = $5, role = $6, enabled = $7, must_change_password = $8, "
                     "password_hash = $9, nt_hash = $10, updated_at = $11, "
                     "kerberos_principal = $12 WHERE id = $13 RETURNING id",
                     params),
        what, "the username, the uid or the Kerberos principal is taken");
  }

  Status DeleteUser(int64_t id) override {
    MutexLock lock(&mu_);
    return InTransactionLocked([&]() -> Status {
      ASSIGN_OR_RETURN(std::vector<SqlRow> ignored,
                       conn_->Query("DELETE FROM share_permissions WHERE subject_kind = 'user' "
                                    "AND subject_id = $1",
                                    {id}));
      return ExpectOneRow(conn_->Query("DELETE FROM users WHERE id = $1 RETURNING id", {id}),
                          fmt::format("delete user {}", id), "");
    });
  }

  // --- groups ---

  Result<Group> CreateGroup(const Group& in) override {
    std::string what = fmt::format("create group \"{}\"", in.name);
    RETURN_IF_ERROR(CheckName(what, in.name));
    Group group = in;
    MutexLock lock(&mu_);
    Result<std::vector<SqlRow>> rows =
        conn_->Query("INSERT INTO user_groups (name, gid) VALUES ($1, $2) RETURNING id",
                     {group.name, int64_t{group.gid}});
    if (rows.status() == Errc::kExists) {
      return Status(Errc::kExists, what + ": the name or the gid is taken");
    }
    RETURN_IF_ERROR(Annotate(rows.status(), what));
    ASSIGN_OR_RETURN(group.id, FirstIdOf(*rows));
    return group;
  }

  Result<Group> GetGroup(int64_t id) override {
    MutexLock lock(&mu_);
    return GetGroupLocked(id);
  }

  Result<Group> GetGroupByName(std::string_view name) override {
    MutexLock lock(&mu_);
    ASSIGN_OR_RETURN(
        std::vector<SqlRow> rows,
        conn_->Query("SELECT id, name, gid FROM user_groups WHERE name = $1", {S(name)}));
    return OneFromRows(rows, GroupFromRow, fmt::format("group \"{}\"", name));
  }

  Result<std::vector<Group>> ListGroups() override {
    MutexLock lock(&mu_);
    return ListGroupsLocked();
  }

  Status UpdateGroup(const Group& group) override {
    std::string what = fmt::format("update group {}", group.id);
    RETURN_IF_ERROR(CheckName(what, group.name));
    MutexLock lock(&mu_);
    return ExpectOneRow(
        conn_->Query("UPDATE user_groups SET name = $1, gid = $2 WHERE id = $3 RETURNING id",
                     {group.name, int64_t{group.gid}, group.id}),
        what, "the name or the gid is taken");
  }

  Status DeleteGroup(int64_t id) override {
    MutexLock lock(&mu_);
    return InTransactionLocked([&]() -> Status {
      ASSIGN_OR_RETURN(std::vector<SqlRow> ignored,
                       conn_->Query("DELETE FROM share_permissions WHERE subject_kind = 'group' "
                                    "AND subject_id = $1",
                                    {id}));
      return ExpectOneRow(conn_->Query("DELETE FROM user_groups WHERE id = $1 RETURNING id", {id}),
                          fmt::format("delete group {}", id), "");
    });
  }

  // --- memberships ---

  Status AddMember(int64_t user_id, int64_t group_id) override {
    std::string what = fmt::format("add user {} to group {}", user_id, group_id);
    MutexLock lock(&mu_);
    return InTransactionLocked([&]() -> Status {
      RETURN_IF_ERROR(Annotate(GetUserLocked(user_id).status(), what));
      RETURN_IF_ERROR(Annotate(GetGroupLocked(group_id).status(), what));
      Result<std::vector<SqlRow>> rows = conn_->Query(
          "INSERT INTO group_members (user_id, group_id) VALUES ($1, $2)", {user_id, group_id});
      if (rows.status() == Errc::kExists) {
        return Status(Errc::kExists, what + ": already a member");
      }
      return Annotate(rows.status(), what);
    });
  }

  Status RemoveMember(int64_t user_id, int64_t group_id) override {
    MutexLock lock(&mu_);
    return ExpectOneRow(conn_->Query("DELETE FROM group_members WHERE user_id = $1 AND "
                                     "group_id = $2 RETURNING user_id",
                                     {user_id, group_id}),
                        fmt::format("remove user {} from group {}", user_id, group_id), "");
  }

  Result<std::vector<User>> ListMembers(int64_t group_id) override {
    MutexLock lock(&mu_);
    RETURN_IF_ERROR(GetGroupLocked(group_id).status());
    ASSIGN_OR_RETURN(
        std::vector<SqlRow> rows,
        conn_->Query(fmt::format("SELECT {} FROM users WHERE id IN (SELECT user_id FROM "
                                 "group_members WHERE group_id = $1) ORDER BY id",
                                 kUserColumns),
                     {group_id}));
    return AllFromRows(rows, UserFromRow);
  }

  Result<std::vector<Group>> GroupsOfUser(int64_t user_id) override {
    MutexLock lock(&mu_);
    RETURN_IF_ERROR(GetUserLocked(user_id).status());
    ASSIGN_OR_RETURN(std::vector<SqlRow> rows,
                     conn_->Query("SELECT id, name, gid FROM user_groups WHERE id IN (SELECT "
                                  "group_id FROM group_members WHERE user_id = $1) ORDER BY id",
                                  {user_id}));
    return AllFromRows(rows, GroupFromRow);
  }

  // --- stores ---

  Result<MetadataStoreDef> CreateMetadataStore(const MetadataStoreDef& store) override {
    return CreateStore(kMetadataStores, store);
  }
  Result<MetadataStoreDef> GetMetadataStore(int64_t id) override {
    MutexLock lock(&mu_);
    return GetStoreLocked(kMetadataStores, id);
  }
  Result<MetadataStoreDef> GetMetadataStoreByName(std::string_view name) override {
    return GetStoreByName(kMetadataStores, name);
  }
  Result<std::vector<MetadataStoreDef>> ListMetadataStores() override {
    MutexLock lock(&mu_);
    return ListStoresLocked(kMetadataStores);
  }
  Status UpdateMetadataStore(const MetadataStoreDef& store) override {
    return UpdateStore(kMetadataStores, store);
  }
  Status DeleteMetadataStore(int64_t id) override { return DeleteStore(kMetadataStores, id); }

  Result<BlockStoreDef> CreateBlockStore(const BlockStoreDef& store) override {
    return CreateStore(kBlockStores, store);
  }
  Result<BlockStoreDef> GetBlockStore(int64_t id) override {
    MutexLock lock(&mu_);
    return GetStoreLocked(kBlockStores, id);
  }
  Result<BlockStoreDef> GetBlockStoreByName(std::string_view name) override {
    return GetStoreByName(kBlockStores, name);
  }
  Result<std::vector<BlockStoreDef>> ListBlockStores() override {
    MutexLock lock(&mu_);
    return ListStoresLocked(kBlockStores);
  }
  Status UpdateBlockStore(const BlockStoreDef& store) override {
    return UpdateStore(kBlockStores, store);
  }
  Status DeleteBlockStore(int64_t id) override { return DeleteStore(kBlockStores, id); }

  // --- shares ---

  Result<Share> CreateShare(const Share& in) override {
    std::string what = fmt::format("create share \"{}\"", in.name);
    RETURN_IF_ERROR(CheckShare(what, in));
    Share share = in;
    MutexLock lock(&mu_);
    RETURN_IF_ERROR(InTransactionLocked([&]() -> Status {
      RETURN_IF_ERROR(CheckStoresExistLocked(what, share));
      Result<std::vector<SqlRow>> rows = conn_->Query(
          "INSERT INTO shares (name, metadata_store_id, block_store_id, read_only, squash, "
          "anon_uid, anon_gid, allowed_cidrs, denied_cidrs, default_permission, root_mode, "
          "names, smb_encrypt, smb_require_signing, guest_ok, smb_access_based_enumeration, "
          "continuously_available, tls, security, recycle, recycle_retention_days, "
          "recycle_max_bytes, recycle_exclude) "
          "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, "
          "$18, $19, $20, $21, $22, $23) "
          "RETURNING id",
          ShareParams(share));
      if (rows.status() == Errc::kExists) {
        return Status(Errc::kExists, what + ": the name is taken");
      }
      RETURN_IF_ERROR(Annotate(rows.status(), what));
      ASSIGN_OR_RETURN(share.id, FirstIdOf(*rows));
      return Status::Ok();
    }));
    return share;
  }

  Result<Share> GetShare(int64_t id) override {
    MutexLock lock(&mu_);
    return GetShareLocked(id);
  }

  Result<Share> GetShareByName(std::string_view name) override {
    MutexLock lock(&mu_);
    ASSIGN_OR_RETURN(
        std::vector<SqlRow> rows,
        conn_->Query(fmt::format("SELECT {} FROM shares WHERE name = $1", kShareColumns),
                     {S(name)}));
    return OneFromRows(rows, ShareFromRow, fmt::format("share \"{}\"", name));
  }

  Result<std::vector<Share>> ListShares() override {
    MutexLock lock(&mu_);
    return ListSharesLocked();
  }

  Status UpdateShare(const Share& share) override {
    std::string what = fmt::format("update share {}", share.id);
    RETURN_IF_ERROR(CheckShare(what, share));
    std::vector<SqlParam> params = ShareParams(share);
    params.push_back(share.id);
    MutexLock lock(&mu_);
    return InTransactionLocked([&]() -> Status {
      RETURN_IF_ERROR(GetShareLocked(share.id).status());
      RETURN_IF_ERROR(CheckStoresExistLocked(what, share));
      return ExpectOneRow(
          conn_->Query(
              "UPDATE shares SET name = $1, metadata_store_id = $2, block_store_id = $3, "
              "read_only = $4, squash = $5, anon_uid = $6, anon_gid = $7, "
              "allowed_cidrs = $8, denied_cidrs = $9, default_permission = $10, "
              "root_mode = $11, names = $12, smb_encrypt = $13, smb_require_signing = $14, "
              "guest_ok = $15, smb_access_based_enumeration = $16, continuously_available = $17, "
              "tls = $18, security = $19, recycle = $20, recycle_retention_days = $21, "
              "recycle_max_bytes = $22, recycle_exclude = $23 WHERE id = $24 RETURNING id",
              params),
          what, "the name is taken");
    });
  }

  Status DeleteShare(int64_t id) override {
    MutexLock lock(&mu_);
    // share_permissions go with it (ON DELETE CASCADE).
    return ExpectOneRow(conn_->Query("DELETE FROM shares WHERE id = $1 RETURNING id", {id}),
                        fmt::format("delete share {}", id), "");
  }

  // --- permissions ---

  Status Grant(const SharePermission& p) override {
    std::string what = fmt::format("grant {} on share {} to {} {}", PermissionLevelName(p.level),
                                   p.share_id, SubjectKindName(p.subject_kind), p.subject_id);
    MutexLock lock(&mu_);
    return InTransactionLocked([&]() -> Status {
      RETURN_IF_ERROR(Annotate(GetShareLocked(p.share_id).status(), what));
      Status subject = p.subject_kind == SubjectKind::kUser ? GetUserLocked(p.subject_id).status()
                                                            : GetGroupLocked(p.subject_id).status();
      RETURN_IF_ERROR(Annotate(subject, what));
      return Annotate(
          conn_
              ->Query("INSERT INTO share_permissions (share_id, subject_kind, subject_id, level) "
                      "VALUES ($1, $2, $3, $4) ON CONFLICT (share_id, subject_kind, subject_id) "
                      "DO UPDATE SET level = excluded.level",
                      {p.share_id, S(SubjectKindName(p.subject_kind)), p.subject_id,
                       S(PermissionLevelName(p.level))})
              .status(),
          what);
    });
  }

  Status Revoke(int64_t share_id, SubjectKind kind, int64_t subject_id) override {
    MutexLock lock(&mu_);
    return ExpectOneRow(
        conn_->Query("DELETE FROM share_permissions WHERE share_id = $1 AND subject_kind = $2 "
                     "AND subject_id = $3 RETURNING share_id",
                     {share_id, S(SubjectKindName(kind)), subject_id}),
        fmt::format("revoke share {} from {} {}", share_id, SubjectKindName(kind), subject_id), "");
  }

  Result<std::vector<SharePermission>> ListPermissions(int64_t share_id) override {
    MutexLock lock(&mu_);
    RETURN_IF_ERROR(GetShareLocked(share_id).status());
    return ListPermissionsLocked(share_id);
  }

  Result<PermissionLevel> ResolvePermission(int64_t share_id, int64_t user_id) override {
    MutexLock lock(&mu_);
    PermissionLevel level = PermissionLevel::kNone;
    RETURN_IF_ERROR(InTransactionLocked([&]() -> Status {
      ASSIGN_OR_RETURN(Share share, GetShareLocked(share_id));
      ASSIGN_OR_RETURN(User user, GetUserLocked(user_id));
      if (!user.enabled) {
        level = PermissionLevel::kNone;
        return Status::Ok();
      }
      ASSIGN_OR_RETURN(std::vector<SqlRow> own,
                       conn_->Query("SELECT level FROM share_permissions WHERE share_id = $1 "
                                    "AND subject_kind = 'user' AND subject_id = $2",
                                    {share_id, user_id}));
      if (!own.empty()) {
        ASSIGN_OR_RETURN(level, ParsePermissionLevel(own.front().at(0)));
        return Status::Ok();
      }
      ASSIGN_OR_RETURN(std::vector<SqlRow> groups,
                       conn_->Query("SELECT p.level FROM share_permissions p JOIN group_members m "
                                    "ON m.group_id = p.subject_id WHERE p.share_id = $1 AND "
                                    "p.subject_kind = 'group' AND m.user_id = $2",
                                    {share_id, user_id}));
      if (groups.empty()) {
        level = share.default_permission;
        return Status::Ok();
      }
      for (const SqlRow& row : groups) {
        ASSIGN_OR_RETURN(PermissionLevel group_level, ParsePermissionLevel(row.at(0)));
        level = std::max(level, group_level);
      }
      return Status::Ok();
    }));
    return level;
  }

  // --- adapters ---

  Result<Adapter> CreateAdapter(const Adapter& adapter) override {
    std::string what = fmt::format("create adapter \"{}\"", adapter.name);
    RETURN_IF_ERROR(CheckAdapter(what, adapter));
    MutexLock lock(&mu_);
    Status status = conn_
                        ->Query(
                            "INSERT INTO adapters (name, enabled, port, bind_address, "
                            "config_json) VALUES ($1, $2, $3, $4, $5)",
                            AdapterParams(adapter))
                        .status();
    if (status == Errc::kExists) return Status(Errc::kExists, what + ": the name is taken");
    RETURN_IF_ERROR(Annotate(status, what));
    return adapter;
  }

  Result<Adapter> GetAdapter(std::string_view name) override {
    MutexLock lock(&mu_);
    ASSIGN_OR_RETURN(std::vector<SqlRow> rows,
                     conn_->Query("SELECT name, enabled, port, bind_address, config_json FROM "
                                  "adapters WHERE name = $1",
                                  {S(name)}));
    return OneFromRows(rows, AdapterFromRow, fmt::format("adapter \"{}\"", name));
  }

  Result<std::vector<Adapter>> ListAdapters() override {
    MutexLock lock(&mu_);
    return ListAdaptersLocked();
  }

  Status UpdateAdapter(const Adapter& adapter) override {
    std::string what = fmt::format("update adapter \"{}\"", adapter.name);
    RETURN_IF_ERROR(CheckAdapter(what, adapter));
    MutexLock lock(&mu_);
    return ExpectOneRow(conn_->Query("UPDATE adapters SET enabled = $2, port = $3, "
                                     "bind_address = $4, config_json = $5 WHERE name = $1 "
                                     "RETURNING name",
                                     AdapterParams(adapter)),
                        what, "");
  }

  Status DeleteAdapter(std::string_view name) override {
    MutexLock lock(&mu_);
    return ExpectOneRow(
        conn_->Query("DELETE FROM adapters WHERE name = $1 RETURNING name", {S(name)}),
        fmt::format("delete adapter \"{}\"", name), "");
  }

  // --- settings ---

  Result<std::string> GetSetting(std::string_view key) override {
    MutexLock lock(&mu_);
    ASSIGN_OR_RETURN(std::vector<SqlRow> rows,
                     conn_->Query("SELECT value FROM settings WHERE name = $1", {S(key)}));
    if (rows.empty()) {
      return Status(Errc::kNotFound, fmt::format("setting \"{}\": not found", key));
    }
    return rows.front().at(0);
  }

  Status SetSetting(std::string_view key, std::string_view value) override {
    std::string what = fmt::format("set setting \"{}\"", key);
    RETURN_IF_ERROR(CheckName(what, key));
    MutexLock lock(&mu_);
    return Annotate(conn_
                        ->Query("INSERT INTO settings (name, value) VALUES ($1, $2) "
                                "ON CONFLICT (name) DO UPDATE SET value = excluded.value",
                                {S(key), S(value)})
                        .status(),
                    what);
  }

  Result<std::vector<Setting>> ListSettings() override {
    MutexLock lock(&mu_);
    return ListSettingsLocked();
  }

  Status DeleteSetting(std::string_view key) override {
    MutexLock lock(&mu_);
    return ExpectOneRow(
        conn_->Query("DELETE FROM settings WHERE name = $1 RETURNING name", {S(key)}),
        fmt::format("delete setting \"{}\"", key), "");
  }

  // --- schema ---

  Result<int> SchemaVersion() override {
    MutexLock lock(&mu_);
    return SchemaVersionLocked();
  }

  Status Migrate() override {
    MutexLock lock(&mu_);
    RETURN_IF_ERROR(Annotate(conn_->ExecScript("CREATE TABLE IF NOT EXISTS schema_migrations ("
                                               "version INTEGER NOT NULL PRIMARY KEY, "
                                               "description TEXT NOT NULL, "
                                               "applied_at BIGINT NOT NULL)"),
                             "migrate"));
    ASSIGN_OR_RETURN(int current, SchemaVersionLocked());
    if (current > kSchemaVersion) {
      return Status(Errc::kNotSupported,
                    fmt::format("the control database is at schema version {}, newer than the "
                                "{} this dfs knows; upgrade dfs before opening it",
                                current, kSchemaVersion));
    }
    bool changed = false;
    for (const Migration& migration : kMigrations) {
      if (migration.version <= current) continue;
      RETURN_IF_ERROR(
          Annotate(InTransactionLocked([&]() -> Status {
                     RETURN_IF_ERROR(conn_->ExecScript(MigrationSql(migration, conn_->dialect())));
                     return conn_
                         ->Query(
                             "INSERT INTO schema_migrations (version, "
                             "description, applied_at) VALUES ($1, $2, $3)",
                             {int64_t{migration.version}, S(migration.description), Now().sec})
                         .status();
                   }),
                   fmt::format("migrate to schema version {}", migration.version)));
      changed = true;
    }
    if (changed) conn_->ForgetStatements();
    return Status::Ok();
  }

  // --- backup ---

  Result<std::string> ExportJson() override {
    MutexLock lock(&mu_);
    Json out = Json::object();
    RETURN_IF_ERROR(InTransactionLocked([&]() -> Status {
      ASSIGN_OR_RETURN(int version, SchemaVersionLocked());
      out["schema_version"] = version;
      ASSIGN_OR_RETURN(std::vector<User> users, ListUsersLocked());
      Json& users_json = out["users"] = Json::array();
      for (const User& u : users) {
        users_json.push_back({{"id", u.id},
                              {"username", u.username},
                              {"uid", u.uid},
                              {"gid", u.gid},
                              {"email", u.email},
                              {"display_name", u.display_name},
                              {"role", RoleName(u.role)},
                              {"enabled", u.enabled},
                              {"must_change_password", u.must_change_password},
                              {"password_hash", u.password_hash},
                              {"nt_hash", u.nt_hash},
                              {"created_at", u.created_at},
                              {"updated_at", u.updated_at},
                              {"kerberos_principal", u.kerberos_principal}});
      }
      ASSIGN_OR_RETURN(std::vector<Group> groups, ListGroupsLocked());
      Json& groups_json = out["groups"] = Json::array();
      for (const Group& g : groups) {
        groups_json.push_back({{"id", g.id}, {"name", g.name}, {"gid", g.gid}});
      }
      ASSIGN_OR_RETURN(std::vector<SqlRow> members,
                       conn_->Query("SELECT user_id, group_id FROM group_members "
                                    "ORDER BY user_id, group_id",
                                    {}));
      Json& members_json = out["memberships"] = Json::array();
      for (const SqlRow& row : members) {
        RowReader r(row);
        int64_t user_id = r.Int();
        int64_t group_id = r.Int();
        RETURN_IF_ERROR(r.status());
        members_json.push_back({{"user_id", user_id}, {"group_id", group_id}});
      }
      for (const StoreKind& kind : {kMetadataStores, kBlockStores}) {
        ASSIGN_OR_RETURN(std::vector<StoreDef> stores, ListStoresLocked(kind));
        Json& stores_json = out[std::string(kind.table)] = Json::array();
        for (const StoreDef& s : stores) {
          stores_json.push_back(
              {{"id", s.id}, {"name", s.name}, {"type", s.type}, {"config_json", s.config_json}});
        }
      }
      ASSIGN_OR_RETURN(std::vector<Share> shares, ListSharesLocked());
      Json& shares_json = out["shares"] = Json::array();
      Json& permissions_json = out["share_permissions"] = Json::array();
      for (const Share& s : shares) {
        shares_json.push_back({{"id", s.id},
                               {"name", s.name},
                               {"metadata_store_id", s.metadata_store_id},
                               {"block_store_id", s.block_store_id},
                               {"read_only", s.read_only},
                               {"squash", SquashName(s.squash)},
                               {"anon_uid", s.anon_uid},
                               {"anon_gid", s.anon_gid},
                               {"allowed_cidrs", s.allowed_cidrs},
                               {"denied_cidrs", s.denied_cidrs},
                               {"default_permission", PermissionLevelName(s.default_permission)},
                               {"root_mode", s.root_mode},
                               {"names", NameRulesName(s.names)},
                               {"smb_encrypt", s.smb_encrypt},
                               {"smb_require_signing", s.smb_require_signing},
                               {"guest_ok", s.guest_ok},
                               {"smb_access_based_enumeration", s.smb_access_based_enumeration},
                               {"continuously_available", s.continuously_available},
                               {"tls", s.tls},
                               {"security", s.security},
                               {"recycle", s.recycle},
                               {"recycle_retention_days", s.recycle_retention_days},
                               {"recycle_max_bytes", s.recycle_max_bytes},
                               {"recycle_exclude", s.recycle_exclude}});
        ASSIGN_OR_RETURN(std::vector<SharePermission> permissions, ListPermissionsLocked(s.id));
        for (const SharePermission& p : permissions) {
          permissions_json.push_back({{"share_id", p.share_id},
                                      {"subject_kind", SubjectKindName(p.subject_kind)},
                                      {"subject_id", p.subject_id},
                                      {"level", PermissionLevelName(p.level)}});
        }
      }
      ASSIGN_OR_RETURN(std::vector<Adapter> adapters, ListAdaptersLocked());
      Json& adapters_json = out["adapters"] = Json::array();
      for (const Adapter& a : adapters) {
        adapters_json.push_back({{"name", a.name},
                                 {"enabled", a.enabled},
                                 {"port", a.port},
                                 {"bind_address", a.bind_address},
                                 {"config_json", a.config_json}});
      }
      ASSIGN_OR_RETURN(std::vector<Setting> settings, ListSettingsLocked());
      Json& settings_json = out["settings"] = Json::array();
      for (const Setting& s : settings) {
        settings_json.push_back({{"key", s.key}, {"value", s.value}});
      }
      return Status::Ok();
    }));
    return out.dump(2, ' ', false, Json::error_handler_t::replace) + "\n";
  }

  Status ImportJson(std::string_view text) override {
    Json in = Json::parse(text, nullptr, /*allow_exceptions=*/false);
    if (in.is_discarded() || !in.is_object()) {
      return Status(Errc::kInvalid, "import: the backup is not a JSON object");
    }
    MutexLock lock(&mu_);
    ASSIGN_OR_RETURN(int ours, SchemaVersionLocked());
    JsonReader top(in, "backup");
    int64_t version = top.Int("schema_version");
    RETURN_IF_ERROR(top.status());
    if (version != ours) {
      return Status(Errc::kInvalid,
                    fmt::format("import: the backup is of schema version {}, the database of {}",
                                version, ours));
    }
    return InTransactionLocked([&]() -> Status {
      for (std::string_view table : kTables) {
        ASSIGN_OR_RETURN(std::vector<SqlRow> rows,
                         conn_->Query(fmt::format("SELECT COUNT(*) FROM {}", table), {}));
        if (rows.empty() || rows.front().at(0) != "0") {
          return Status(Errc::kInvalid,
                        fmt::format("import: the database is not empty (table {})", table));
        }
      }
      RETURN_IF_ERROR(ImportRowsLocked(in, "users", [&](JsonReader& r) -> Status {
        User u;
        u.id = r.Int("id");
        u.username = r.Str("username");
        u.uid = r.U32("uid");
        u.gid = r.U32("gid");
        u.email = r.Str("email");
        u.display_name = r.Str("display_name");
        u.role = r.Enum("role", ParseRole);
        u.enabled = r.Bool("enabled");
        u.must_change_password = r.Bool("must_change_password");
        u.password_hash = r.Str("password_hash");
        u.nt_hash = r.Str("nt_hash");
        u.created_at = r.Int("created_at");
        u.updated_at = r.Int("updated_at");
        // Absent from exports made before schema version 9: none.
        u.kerberos_principal = r.StrOr("kerberos_principal", "");
        RETURN_IF_ERROR(r.status());
        std::vector<SqlParam> params = UserParams(u);
        params.insert(params.begin(), u.id);
        return conn_
            ->Query(
                "INSERT INTO users (id, username, uid, gid, email, display_name, role, "
                "enabled, must_change_password, password_hash, nt_hash, created_at, "
                "updated_at, kerberos_principal) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, "
                "$10, $11, $12, $13, $14)",
                params)
            .status();
      }));
      RETURN_IF_ERROR(ImportRowsLocked(in, "groups", [&](JsonReader& r) -> Status {
        int64_t id = r.Int("id");
        std::string name = r.Str("name");
        int64_t gid = r.U32("gid");
        RETURN_IF_ERROR(r.status());
        return conn_
            ->Query("INSERT INTO user_groups (id, name, gid) VALUES ($1, $2, $3)", {id, name, gid})
            .status();
      }));
      RETURN_IF_ERROR(ImportRowsLocked(in, "memberships", [&](JsonReader& r) -> Status {
        int64_t user_id = r.Int("user_id");
        int64_t group_id = r.Int("group_id");
        RETURN_IF_ERROR(r.status());
        return conn_
            ->Query("INSERT INTO group_members (user_id, group_id) VALUES ($1, $2)",
                    {user_id, group_id})
            .status();
      }));
      for (const StoreKind& kind : {kMetadataStores, kBlockStores}) {
        RETURN_IF_ERROR(ImportRowsLocked(in, kind.table, [&](JsonReader& r) -> Status {
          StoreDef s;
          s.id = r.Int("id");
          s.name = r.Str("name");
          s.type = r.Str("type");
          s.config_json = r.Str("config_json");
          RETURN_IF_ERROR(r.status());
          return conn_
              ->Query(fmt::format("INSERT INTO {} (id, name, type, config_json) "
                                  "VALUES ($1, $2, $3, $4)",
                                  kind.table),
                      {s.id, s.name, s.type, s.config_json})
              .status();
        }));
      }
      RETURN_IF_ERROR(ImportRowsLocked(in, "shares", [&](JsonReader& r) -> Status {
        Share s;
        s.id = r.Int("id");
        s.name = r.Str("name");
        s.metadata_store_id = r.Int("metadata_store_id");
        s.block_store_id = r.Int("block_store_id");
        s.read_only = r.Bool("read_only");
        s.squash = r.Enum("squash", ParseSquash);
        s.anon_uid = r.U32("anon_uid");
        s.anon_gid = r.U32("anon_gid");
        s.allowed_cidrs = r.StrList("allowed_cidrs");
        s.denied_cidrs = r.StrList("denied_cidrs");
        s.default_permission = r.Enum("default_permission", ParsePermissionLevel);
        s.root_mode = r.U32("root_mode");
        s.names = r.Enum("names", ParseNameRules);
        s.smb_encrypt = r.Bool("smb_encrypt");
        s.smb_require_signing = r.Bool("smb_require_signing");
        s.guest_ok = r.Bool("guest_ok");
        // Absent from exports made before schema version 5: off, as those servers behaved.
        s.smb_access_based_enumeration = r.BoolOr("smb_access_based_enumeration", false);
        // Absent from exports made before schema version 6: off.
        s.continuously_available = r.BoolOr("continuously_available", false);
        // Absent from exports made before schema version 7: off.
        s.tls = r.StrOr("tls", "off");
        // Absent from exports made before schema version 8: AUTH_SYS.
        s.security = r.StrOr("security", "sys");
        // Absent from exports made before schema version 10: no recycle bin.
        s.recycle = r.BoolOr("recycle", false);
        s.recycle_retention_days = r.U32Or("recycle_retention_days", 0);
        s.recycle_max_bytes = r.U64Or("recycle_max_bytes", 0);
        s.recycle_exclude = r.StrListOr("recycle_exclude");
        RETURN_IF_ERROR(r.status());
        std::vector<SqlParam> params = ShareParams(s);
        params.insert(params.begin(), s.id);
        return conn_
            ->Query(
                "INSERT INTO shares (id, name, metadata_store_id, block_store_id, read_only, "
                "squash, anon_uid, anon_gid, allowed_cidrs, denied_cidrs, "
                "default_permission, root_mode, names, smb_encrypt, smb_require_signing, "
                "guest_ok, smb_access_based_enumeration, continuously_available, tls, security, "
                "recycle, recycle_retention_days, recycle_max_bytes, recycle_exclude) "
                "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, "
                "$17, $18, $19, $20, $21, $22, $23, $24)",
                params)
            .status();
      }));
      RETURN_IF_ERROR(ImportRowsLocked(in, "share_permissions", [&](JsonReader& r) -> Status {
        SharePermission p;
        p.share_id = r.Int("share_id");
        p.subject_kind = r.Enum("subject_kind", ParseSubjectKind);
        p.subject_id = r.Int("subject_id");
        p.level = r.Enum("level", ParsePermissionLevel);
        RETURN_IF_ERROR(r.status());
        return conn_
            ->Query(
                "INSERT INTO share_permissions (share_id, subject_kind, subject_id, level) "
                "VALUES ($1, $2, $3, $4)",
                {p.share_id, S(SubjectKindName(p.subject_kind)), p.subject_id,
                 S(PermissionLevelName(p.level))})
            .status();
      }));
      RETURN_IF_ERROR(ImportRowsLocked(in, "adapters", [&](JsonReader& r) -> Status {
        Adapter a;
        a.name = r.Str("name");
        a.enabled = r.Bool("enabled");
        a.port = r.U32("port");
        a.bind_address = r.Str("bind_address");
        a.config_json = r.Str("config_json");
        RETURN_IF_ERROR(r.status());
        return conn_
            ->Query(
                "INSERT INTO adapters (name, enabled, port, bind_address, config_json) "
                "VALUES ($1, $2, $3, $4, $5)",
                AdapterParams(a))
            .status();
      }));
      RETURN_IF_ERROR(ImportRowsLocked(in, "settings", [&](JsonReader& r) -> Status {
        std::string key = r.Str("key");
        std::string value = r.Str("value");
        RETURN_IF_ERROR(r.status());
        return conn_->Query("INSERT INTO settings (name, value) VALUES ($1, $2)", {key, value})
            .status();
      }));
      for (std::string_view table : kTablesWithIds) {
        RETURN_IF_ERROR(Annotate(conn_->ResetIdSequence(table), "import"));
      }
      return Status::Ok();
    });
  }

 private:
  // Runs `fn` in a transaction: commits when it succeeds, rolls back when it fails.
  template <typename Fn>
  Status InTransactionLocked(Fn&& fn) EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    RETURN_IF_ERROR(conn_->Begin());
    Status status = fn();
    if (status.ok()) status = conn_->Commit();
    if (!status.ok()) (void)conn_->Rollback();
    return status;
  }

  // Calls `insert` with a reader for each object of the list in[key] (absent = empty).
  template <typename Fn>
  Status ImportRowsLocked(const Json& in, std::string_view key, Fn&& insert)
      EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    auto it = in.find(std::string(key));
    if (it == in.end()) return Status::Ok();
    if (!it->is_array()) {
      return Status(Errc::kInvalid, fmt::format("import: {} is not a list", key));
    }
    for (size_t i = 0; i < it->size(); ++i) {
      JsonReader reader((*it)[i], fmt::format("{}[{}]", key, i));
      Status status = insert(reader);
      if (!status.ok() && status.code() != Errc::kInvalid) {
        status = Status(status.code(), fmt::format("import: {}[{}]: {}", key, i, status.message()));
      }
      RETURN_IF_ERROR(status);
    }
    return Status::Ok();
  }

  // The status of a statement that must touch exactly one row (it has RETURNING): kNotFound
  // when it touched none; `exists_message` explains a kExists.
  static Status ExpectOneRow(const Result<std::vector<SqlRow>>& rows, const std::string& what,
                             std::string_view exists_message) {
    if (rows.status() == Errc::kExists && !exists_message.empty()) {
      return Status(Errc::kExists, fmt::format("{}: {}", what, exists_message));
    }
    RETURN_IF_ERROR(Annotate(rows.status(), what));
    if (rows->empty()) return Status(Errc::kNotFound, what + ": not found");
    return Status::Ok();
  }

  static Result<int64_t> FirstIdOf(const std::vector<SqlRow>& rows) {
    if (rows.empty()) return Status(Errc::kInternal, "control db: INSERT returned no id");
    RowReader r(rows.front());
    int64_t id = r.Int();
    RETURN_IF_ERROR(r.status());
    return id;
  }

  Result<int> SchemaVersionLocked() EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    ASSIGN_OR_RETURN(std::vector<SqlRow> rows,
                     conn_->Query("SELECT COALESCE(MAX(version), 0) FROM schema_migrations", {}));
    if (rows.empty()) return 0;
    RowReader r(rows.front());
    int64_t version = r.Int();
    RETURN_IF_ERROR(r.status());
    return static_cast<int>(version);
  }

  Result<User> GetUserLocked(int64_t id) EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    ASSIGN_OR_RETURN(
        std::vector<SqlRow> rows,
        conn_->Query(fmt::format("SELECT {} FROM users WHERE id = $1", kUserColumns), {id}));
    return OneFromRows(rows, UserFromRow, fmt::format("user {}", id));
  }

  Result<std::vector<User>> ListUsersLocked() EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    ASSIGN_OR_RETURN(
        std::vector<SqlRow> rows,
        conn_->Query(fmt::format("SELECT {} FROM users ORDER BY id", kUserColumns), {}));
    return AllFromRows(rows, UserFromRow);
  }

  Result<Group> GetGroupLocked(int64_t id) EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    ASSIGN_OR_RETURN(std::vector<SqlRow> rows,
                     conn_->Query("SELECT id, name, gid FROM user_groups WHERE id = $1", {id}));
    return OneFromRows(rows, GroupFromRow, fmt::format("group {}", id));
  }

  Result<std::vector<Group>> ListGroupsLocked() EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    ASSIGN_OR_RETURN(std::vector<SqlRow> rows,
                     conn_->Query("SELECT id, name, gid FROM user_groups ORDER BY id", {}));
    return AllFromRows(rows, GroupFromRow);
  }

  Result<StoreDef> CreateStore(const StoreKind& kind, const StoreDef& in) {
    std::string what = fmt::format("create {} \"{}\"", kind.noun, in.name);
    RETURN_IF_ERROR(CheckName(what, in.name));
    RETURN_IF_ERROR(CheckConfigJson(what, in.config_json));
    StoreDef store = in;
    MutexLock lock(&mu_);
    Result<std::vector<SqlRow>> rows = conn_->Query(
        fmt::format("INSERT INTO {} (name, type, config_json) VALUES ($1, $2, $3) RETURNING id",
                    kind.table),
        {store.name, store.type, store.config_json});
    if (rows.status() == Errc::kExists) {
      return Status(Errc::kExists, what + ": the name is taken");
    }
    RETURN_IF_ERROR(Annotate(rows.status(), what));
    ASSIGN_OR_RETURN(store.id, FirstIdOf(*rows));
    return store;
  }

  Result<StoreDef> GetStoreLocked(const StoreKind& kind, int64_t id) EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    ASSIGN_OR_RETURN(
        std::vector<SqlRow> rows,
        conn_->Query(
            fmt::format("SELECT id, name, type, config_json FROM {} WHERE id = $1", kind.table),
            {id}));
    return OneFromRows(rows, StoreFromRow, fmt::format("{} {}", kind.noun, id));
  }

  Result<StoreDef> GetStoreByName(const StoreKind& kind, std::string_view name) {
    MutexLock lock(&mu_);
    ASSIGN_OR_RETURN(
        std::vector<SqlRow> rows,
        conn_->Query(
            fmt::format("SELECT id, name, type, config_json FROM {} WHERE name = $1", kind.table),
            {S(name)}));
    return OneFromRows(rows, StoreFromRow, fmt::format("{} \"{}\"", kind.noun, name));
  }

  Result<std::vector<StoreDef>> ListStoresLocked(const StoreKind& kind)
      EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    ASSIGN_OR_RETURN(
        std::vector<SqlRow> rows,
        conn_->Query(
            fmt::format("SELECT id, name, type, config_json FROM {} ORDER BY id", kind.table), {}));
    return AllFromRows(rows, StoreFromRow);
  }

  Status UpdateStore(const StoreKind& kind, const StoreDef& store) {
    std::string what = fmt::format("update {} {}", kind.noun, store.id);
    RETURN_IF_ERROR(CheckName(what, store.name));
    RETURN_IF_ERROR(CheckConfigJson(what, store.config_json));
    MutexLock lock(&mu_);
    return ExpectOneRow(
        conn_->Query(fmt::format("UPDATE {} SET name = $1, type = $2, config_json = $3 "
                                 "WHERE id = $4 RETURNING id",
                                 kind.table),
                     {store.name, store.type, store.config_json, store.id}),
        what, "the name is taken");
  }

  Status DeleteStore(const StoreKind& kind, int64_t id) {
    MutexLock lock(&mu_);
    return InTransactionLocked([&]() -> Status {
      ASSIGN_OR_RETURN(StoreDef store, GetStoreLocked(kind, id));
      std::string what = fmt::format("delete {} \"{}\"", kind.noun, store.name);
      ASSIGN_OR_RETURN(std::vector<SqlRow> users,
                       conn_->Query(fmt::format("SELECT name FROM shares WHERE {} = $1 ORDER BY id",
                                                kind.share_column),
                                    {id}));
      if (!users.empty()) {
        return Status(Errc::kBusy,
                      fmt::format("{}: share \"{}\" still uses it", what, users.front().at(0)));
      }
      return ExpectOneRow(
          conn_->Query(fmt::format("DELETE FROM {} WHERE id = $1 RETURNING id", kind.table), {id}),
          what, "");
    });
  }

  Status CheckStoresExistLocked(std::string_view what, const Share& share)
      EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    for (auto [kind, id] : {std::pair{kMetadataStores, share.metadata_store_id},
                            std::pair{kBlockStores, share.block_store_id}}) {
      Status status = GetStoreLocked(kind, id).status();
      if (status == Errc::kNotFound) {
        return Status(Errc::kInvalid, fmt::format("{}: there is no {} {}", what, kind.noun, id));
      }
      RETURN_IF_ERROR(Annotate(status, what));
    }
    return Status::Ok();
  }

  Result<Share> GetShareLocked(int64_t id) EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    ASSIGN_OR_RETURN(
        std::vector<SqlRow> rows,
        conn_->Query(fmt::format("SELECT {} FROM shares WHERE id = $1", kShareColumns), {id}));
    return OneFromRows(rows, ShareFromRow, fmt::format("share {}", id));
  }

  Result<std::vector<Share>> ListSharesLocked() EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    ASSIGN_OR_RETURN(
        std::vector<SqlRow> rows,
        conn_->Query(fmt::format("SELECT {} FROM shares ORDER BY id", kShareColumns), {}));
    return AllFromRows(rows, ShareFromRow);
  }

  Result<std::vector<SharePermission>> ListPermissionsLocked(int64_t share_id)
      EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    ASSIGN_OR_RETURN(std::vector<SqlRow> rows,
                     conn_->Query("SELECT share_id, subject_kind, subject_id, level FROM "
                                  "share_permissions WHERE share_id = $1",
                                  {share_id}));
    ASSIGN_OR_RETURN(std::vector<SharePermission> out, AllFromRows(rows, PermissionFromRow));
    // Sorted here, not by ORDER BY, so that text collation cannot differ between backends.
    std::sort(out.begin(), out.end(), [](const SharePermission& a, const SharePermission& b) {
      return std::pair(a.subject_kind, a.subject_id) < std::pair(b.subject_kind, b.subject_id);
    });
    return out;
  }

  Result<std::vector<Adapter>> ListAdaptersLocked() EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    ASSIGN_OR_RETURN(std::vector<SqlRow> rows,
                     conn_->Query("SELECT name, enabled, port, bind_address, config_json FROM "
                                  "adapters",
                                  {}));
    ASSIGN_OR_RETURN(std::vector<Adapter> out, AllFromRows(rows, AdapterFromRow));
    std::sort(out.begin(), out.end(),
              [](const Adapter& a, const Adapter& b) { return a.name < b.name; });
    return out;
  }

  Result<std::vector<Setting>> ListSettingsLocked() EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    ASSIGN_OR_RETURN(std::vector<SqlRow> rows,
                     conn_->Query("SELECT name, value FROM settings", {}));
    std::vector<Setting> out;
    for (const SqlRow& row : rows) out.push_back(Setting{row.at(0), row.at(1)});
    std::sort(out.begin(), out.end(),
              [](const Setting& a, const Setting& b) { return a.key < b.key; });
    return out;
  }

  Mutex mu_;
  std::unique_ptr<SqlConnection> conn_ GUARDED_BY(mu_);
};

}  // namespace

Result<std::unique_ptr<ControlDb>> OpenSqlControlDb(std::unique_ptr<SqlConnection> connection) {
  auto db = std::make_unique<SqlControlDb>(std::move(connection));
  RETURN_IF_ERROR(db->Migrate());
  return std::unique_ptr<ControlDb>(std::move(db));
}

}  // namespace dittofs::controlplane

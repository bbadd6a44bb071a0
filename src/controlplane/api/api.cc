// SPDX-License-Identifier: Apache-2.0
#include "controlplane/api/api.h"

#include <arpa/inet.h>
#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstdint>
#include <initializer_list>
#include <limits>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <utility>

#include "base/clock.h"
#include "base/log.h"
#include "base/mutex.h"
#include "base/time_text.h"
#include "config/block_store_config.h"
#include "config/config.h"
#include "config/store_layout.h"
#include "controlplane/auth/jwt.h"
#include "controlplane/auth/password.h"
#include "controlplane/auth/secret.h"
#include "net/http/json_body.h"
#include "net/http/problem.h"

namespace dittofs::controlplane::api {

using json = nlohmann::json;
using net::HttpRequest;
using net::HttpResponse;
using net::JsonObject;

namespace {

// Who may call a route.
enum class Access {
  kPublic,    // no token needed
  kAnyToken,  // any valid access token, even one whose password must be changed first
  kUser,      // any role
  kOperator,  // admin or operator
  kAdmin,
};

// Request bodies larger than this are refused before parsing; ours are a few hundred bytes.
constexpr size_t kMaxBodyBytes = 64 * 1024;
constexpr size_t kMaxNameBytes = 64;     // usernames and group names
constexpr size_t kMaxPathBytes = 4096;   // share names and localfs paths
constexpr size_t kMaxTextBytes = 1024;   // email, display name, bind address, setting values
constexpr size_t kMaxListEntries = 256;  // groups of a user, CIDRs of a share
constexpr size_t kMinPasswordBytes = 8;

// The fields each request body may hold; JsonObject refuses any other field. (The arrays behind
// namespace-scope initializer_lists live as long as the program.)
const std::initializer_list<std::string_view> kLoginBody = {"username", "password"};
const std::initializer_list<std::string_view> kRefreshBody = {"refresh_token"};
const std::initializer_list<std::string_view> kChangePasswordBody = {"current_password",
                                                                     "new_password"};
const std::initializer_list<std::string_view> kCreateUserBody = {
    "username",          "password", "uid",     "gid",    "email",
    "display_name",      "role",     "enabled", "groups", "must_change_password",
    "kerberos_principal"};
const std::initializer_list<std::string_view> kPatchUserBody = {
    "uid", "gid", "email", "display_name", "role", "enabled", "groups", "kerberos_principal"};
const std::initializer_list<std::string_view> kResetPasswordBody = {"password", "temporary"};
const std::initializer_list<std::string_view> kCreateGroupBody = {"name", "gid"};
const std::initializer_list<std::string_view> kCreateStoreBody = {"name", "type", "config"};
const std::initializer_list<std::string_view> kPatchStoreBody = {"type", "config"};
const std::initializer_list<std::string_view> kCreateShareBody = {"name",
                                                                  "metadata_store",
                                                                  "block_store",
                                                                  "read_only",
                                                                  "squash",
                                                                  "anon_uid",
                                                                  "anon_gid",
                                                                  "allowed_cidrs",
                                                                  "denied_cidrs",
                                                                  "default_permission",
                                                                  "root_mode",
                                                                  "names",
                                                                  "smb_encrypt",
                                                                  "smb_require_signing",
                                                                  "guest_ok",
                                                                  "smb_access_based_enumeration",
                                                                  "continuously_available",
                                                                  "tls",
                                                                  "security",
                                                                  "recycle",
                                                                  "recycle_retention_days",
                                                                  "recycle_max_bytes",
                                                                  "recycle_exclude"};
const std::initializer_list<std::string_view> kPatchShareBody = {"metadata_store",
                                                                 "block_store",
                                                                 "read_only",
                                                                 "squash",
                                                                 "anon_uid",
                                                                 "anon_gid",
                                                                 "allowed_cidrs",
                                                                 "denied_cidrs",
                                                                 "default_permission",
                                                                 "root_mode",
                                                                 "names",
                                                                 "smb_encrypt",
                                                                 "smb_require_signing",
                                                                 "guest_ok",
                                                                 "smb_access_based_enumeration",
                                                                 "continuously_available",
                                                                 "tls",
                                                                 "security",
                                                                 "recycle",
                                                                 "recycle_retention_days",
                                                                 "recycle_max_bytes",
                                                                 "recycle_exclude"};
const std::initializer_list<std::string_view> kGrantBody = {"kind", "name", "level"};
const std::initializer_list<std::string_view> kRestoreTrashBody = {"to"};
const std::initializer_list<std::string_view> kQuotaBody = {
    "hard_bytes", "soft_bytes", "hard_files", "soft_files", "grace_seconds"};
const std::initializer_list<std::string_view> kStartJobBody = {"kind"};
const std::initializer_list<std::string_view> kCreateSnapshotBody = {"name"};
const std::initializer_list<std::string_view> kRestoreSnapshotBody = {"safety"};
const std::initializer_list<std::string_view> kSnapshotPolicyBody = {"interval_seconds", "cron",
                                                                     "keep_last", "ttl_seconds"};
const std::initializer_list<std::string_view> kPatchAdapterBody = {
    "enabled", "port", "bind_address", "workers", "io_threads"};
const std::initializer_list<std::string_view> kSettingBody = {"value"};

// The JSON type of a body field; a field name means the same thing in every body.
std::string_view FieldType(std::string_view field) {
  for (std::string_view f : {"uid", "gid", "port", "anon_uid", "anon_gid", "workers", "io_threads",
                             "recycle_retention_days", "recycle_max_bytes", "hard_bytes",
                             "soft_bytes", "hard_files", "soft_files", "grace_seconds"}) {
    if (field == f) return "integer";
  }
  for (std::string_view f : {"enabled", "read_only", "temporary", "must_change_password",
                             "smb_encrypt", "smb_require_signing", "guest_ok",
                             "smb_access_based_enumeration", "continuously_available", "recycle"}) {
    if (field == f) return "boolean";
  }
  for (std::string_view f : {"groups", "allowed_cidrs", "denied_cidrs", "recycle_exclude"}) {
    if (field == f) return "array";
  }
  if (field == "config") return "object";
  return "string";
}

// One request as a handler sees it: authenticated and with its body parsed.
struct Call {
  const HttpRequest& http;
  User caller;                       // the token's user; empty on public routes
  const JsonObject* body = nullptr;  // null when the route takes no body

  const std::string& Param(const std::string& name) const { return http.path_params.at(name); }
};

using Handler = Result<HttpResponse> (ApiHandlers::*)(const Call&);

struct Route {
  std::string_view method;
  std::string_view pattern;
  Access access;
  std::string_view summary;
  const std::initializer_list<std::string_view>* body;  // null: the route takes no body
  std::vector<std::string_view> required;               // body fields that must be present
  int success;                                          // the status of a successful answer
  Handler handler;
  bool body_optional = false;  // an empty body is taken as {} (see OptionalBody)
};

// One row of the route table.
Route R(std::string_view method, std::string_view pattern, Access access, std::string_view summary,
        const std::initializer_list<std::string_view>* body, std::vector<std::string_view> required,
        int success, Handler handler) {
  return {method, pattern, access, summary, body, std::move(required), success, handler};
}

// `route`, whose body (all of its fields optional) may also be left out.
Route OptionalBody(Route route) {
  route.body_optional = true;
  return route;
}

Status Invalid(std::string message) { return Status(Errc::kInvalid, std::move(message)); }

HttpResponse Json(int status, const json& doc) {
  HttpResponse response;
  response.status = status;
  response.body = doc.dump();
  return response;
}

HttpResponse NoContent() {
  HttpResponse response;
  response.status = 204;
  return response;
}

HttpResponse Unauthorized(std::string_view detail) {
  HttpResponse response = net::Problem(401, net::ReasonPhrase(401), detail);
  response.headers.Set("WWW-Authenticate", "Bearer");
  return response;
}

HttpResponse Forbidden(std::string_view detail) {
  return net::Problem(403, net::ReasonPhrase(403), detail);
}

bool StartsWithIgnoreCase(std::string_view text, std::string_view prefix) {
  if (text.size() < prefix.size()) return false;
  for (size_t i = 0; i < prefix.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(text[i])) !=
        std::tolower(static_cast<unsigned char>(prefix[i]))) {
      return false;
    }
  }
  return true;
}

// Field readers: an absent field leaves *out unchanged.
Status ReadString(const JsonObject& body, std::string_view field, size_t max_bytes,
                  std::string* out) {
  if (!body.Has(field)) return Status::Ok();
  ASSIGN_OR_RETURN(std::string value, body.GetString(field));
  if (value.size() > max_bytes) {
    return Invalid(fmt::format("field '{}' is longer than {} bytes", field, max_bytes));
  }
  *out = std::move(value);
  return Status::Ok();
}

Status ReadBool(const JsonObject& body, std::string_view field, bool* out) {
  if (!body.Has(field)) return Status::Ok();
  ASSIGN_OR_RETURN(*out, body.GetBool(field));
  return Status::Ok();
}

Status ReadUint32(const JsonObject& body, std::string_view field, uint32_t* out) {
  if (!body.Has(field)) return Status::Ok();
  ASSIGN_OR_RETURN(int64_t value, body.GetInt(field));
  if (value < 0 || value > std::numeric_limits<uint32_t>::max()) {
    return Invalid(fmt::format("field '{}' must be between 0 and 4294967295", field));
  }
  *out = static_cast<uint32_t>(value);
  return Status::Ok();
}

// At most `max` (a JSON integer is at most INT64_MAX).
Status ReadUint64(const JsonObject& body, std::string_view field, uint64_t max, uint64_t* out) {
  if (!body.Has(field)) return Status::Ok();
  ASSIGN_OR_RETURN(int64_t value, body.GetInt(field));
  if (value < 0 || static_cast<uint64_t>(value) > max) {
    return Invalid(fmt::format("field '{}' must be between 0 and {}", field, max));
  }
  *out = static_cast<uint64_t>(value);
  return Status::Ok();
}

Status ReadStringList(const JsonObject& body, std::string_view field, size_t max_bytes,
                      std::vector<std::string>* out) {
  if (!body.Has(field)) return Status::Ok();
  ASSIGN_OR_RETURN(std::vector<std::string> values, body.GetStringList(field));
  if (values.size() > kMaxListEntries) {
    return Invalid(fmt::format("field '{}' has more than {} entries", field, kMaxListEntries));
  }
  for (const std::string& value : values) {
    if (value.size() > max_bytes) {
      return Invalid(fmt::format("an entry of '{}' is longer than {} bytes", field, max_bytes));
    }
  }
  *out = std::move(values);
  return Status::Ok();
}

// Usernames and group names: letters, digits, '.', '_' and '-', not starting with '-'.
Status ValidateName(std::string_view what, std::string_view name) {
  bool valid = !name.empty() && name.size() <= kMaxNameBytes && name.front() != '-';
  for (char c : name) {
    valid =
        valid && (std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '-');
  }
  if (!valid) {
    return Invalid(
        fmt::format("{} must be 1 to {} letters, digits, '.', '_' or '-', not starting with '-'",
                    what, kMaxNameBytes));
  }
  return Status::Ok();
}

Status ValidateNewPassword(std::string_view password) {
  if (password.size() < kMinPasswordBytes) {
    return Invalid(fmt::format("the password must be at least {} bytes", kMinPasswordBytes));
  }
  if (password.size() > auth::kMaxPasswordBytes) {
    return Invalid(fmt::format("the password must be at most {} bytes", auth::kMaxPasswordBytes));
  }
  return Status::Ok();
}

// Sets both of `user`'s password hashes from `password`.
Status SetPassword(std::string_view password, User* user) {
  RETURN_IF_ERROR(ValidateNewPassword(password));
  Result<std::string> nt_hash = auth::NtHash(password);
  if (!nt_hash.ok()) return Invalid("the password is not valid UTF-8");
  ASSIGN_OR_RETURN(user->password_hash, auth::HashPassword(password));
  user->nt_hash = std::move(*nt_hash);
  return Status::Ok();
}

bool IsIpAddress(const std::string& address) {
  unsigned char buffer[16];
  return inet_pton(AF_INET, address.c_str(), buffer) == 1 ||
         inet_pton(AF_INET6, address.c_str(), buffer) == 1;
}

// "address/prefix", IPv4 or IPv6.
Status ValidateCidr(const std::string& cidr) {
  size_t slash = cidr.find('/');
  Status invalid = Invalid(fmt::format("'{}' is not a CIDR block such as 10.0.0.0/8", cidr));
  if (slash == std::string::npos) return invalid;
  std::string address = cidr.substr(0, slash);
  std::string_view prefix = std::string_view(cidr).substr(slash + 1);
  unsigned char buffer[16];
  int max_prefix;
  if (inet_pton(AF_INET, address.c_str(), buffer) == 1) {
    max_prefix = 32;
  } else if (inet_pton(AF_INET6, address.c_str(), buffer) == 1) {
    max_prefix = 128;
  } else {
    return invalid;
  }
  int bits = -1;
  auto [end, error] = std::from_chars(prefix.data(), prefix.data() + prefix.size(), bits);
  if (prefix.empty() || prefix.size() > 3 || error != std::errc() ||
      end != prefix.data() + prefix.size() || bits < 0 || bits > max_prefix) {
    return invalid;
  }
  return Status::Ok();
}

// An octal mode such as "0755"; at most 07777.
Result<uint32_t> ParseMode(std::string_view text) {
  uint32_t mode = 0;
  bool valid = !text.empty() && text.size() <= 5;
  for (char c : text) {
    valid = valid && c >= '0' && c <= '7';
    if (valid) mode = mode * 8 + static_cast<uint32_t>(c - '0');
  }
  if (!valid || mode > 07777) {
    return Invalid("field 'root_mode' must be an octal mode string such as \"0755\"");
  }
  return mode;
}

// The API spells permission levels with a hyphen ("read-write"), the database with '_'.
std::string_view LevelName(PermissionLevel level) {
  return level == PermissionLevel::kReadWrite ? "read-write" : PermissionLevelName(level);
}

Result<PermissionLevel> ParseLevel(std::string_view field, std::string_view name) {
  for (PermissionLevel level : {PermissionLevel::kNone, PermissionLevel::kRead,
                                PermissionLevel::kReadWrite, PermissionLevel::kAdmin}) {
    if (LevelName(level) == name) return level;
  }
  return Invalid(fmt::format("field '{}' must be one of none, read, read-write, admin", field));
}

// A share's name from a path segment: "%2Fexport" arrives decoded as "/export"; "export" is
// accepted for convenience and means the same share.
std::string ShareName(std::string_view name) {
  std::string full(name);
  // (Not `"/" + std::string(name)`: GCC 12 at -O3 warns about that falsely, -Wrestrict.)
  if (full.empty() || full.front() != '/') full.insert(full.begin(), '/');
  return full;
}

Status ValidateShareName(std::string_view name) {
  bool valid = name.size() >= 2 && name.size() <= kMaxPathBytes && name.front() == '/' &&
               name.back() != '/' && name.find("//") == std::string_view::npos &&
               name.find('\0') == std::string_view::npos;
  if (!valid) return Invalid("a share name must be an absolute path such as /export");
  size_t dir_name = config::ShareDirName(name).size();
  if (dir_name > config::kMaxShareDirNameBytes) {
    return Invalid(fmt::format(
        "share name {} is too long: its directory name would be {} bytes, at most {} (bytes "
        "other than letters, digits and '-' take three)",
        name, dir_name, config::kMaxShareDirNameBytes));
  }
  return Status::Ok();
}

Status Conflict(std::string message) { return Status(Errc::kConflict, std::move(message)); }

// How a place lies relative to another, in a message: "/a is inside /".
std::string_view OverlapVerb(config::Overlap overlap) {
  switch (overlap) {
    case config::Overlap::kSame:
      return "is";
    case config::Overlap::kInside:
      return "is inside";
    case config::Overlap::kContains:
      return "contains";
    case config::Overlap::kNone:
      break;
  }
  return "overlaps";
}

// A place a store definition or a share keeps data in, and whose it is, for messages.
struct Place {
  config::StoreLocation location;
  std::string store;  // "block store 'b'"
};

// "block directory /srv/b".
std::string DescribePlace(const config::StoreLocation& location) {
  return fmt::format("{} {}", config::StoreRoleName(location.role),
                     config::DescribeLocation(location));
}

// Store configuration, by kind and type. `config` is an object.
// A required absolute "path" and no other field: the config of the stores that keep files.
Status ValidatePathConfig(std::string_view type, const json& config) {
  for (const auto& [key, value] : config.items()) {
    if (key != "path") return Invalid(fmt::format("unknown config field '{}'", key));
  }
  auto path = config.find("path");
  if (path == config.end() || !path->is_string()) {
    return Invalid(fmt::format("a {} store needs config field 'path', a string", type));
  }
  const std::string& text = path->get_ref<const std::string&>();
  if (text.empty() || text.front() != '/' || text.size() > kMaxPathBytes) {
    return Invalid("config field 'path' must be an absolute path");
  }
  return Status::Ok();
}

// postgres: {"dsn": a libpq connection string, "schema": the prefix of the shares' schemas}.
Status ValidatePostgresConfig(const json& config) {
  for (const auto& [key, value] : config.items()) {
    if (key != "dsn" && key != "schema") {
      return Invalid(fmt::format("unknown config field '{}'", key));
    }
    if (!value.is_string()) return Invalid(fmt::format("config field '{}' must be a string", key));
  }
  if (!config.contains("dsn") || config["dsn"].get<std::string>().empty()) {
    return Invalid(
        "a postgres metadata store needs config field 'dsn' (a libpq connection "
        "string)");
  }
  if (config.contains("schema")) {
    if (Status s = config::ValidMetadataSchemaPrefix(config["schema"].get<std::string>());
        !s.ok()) {
      return Invalid(s.message());
    }
  }
  return Status::Ok();
}

Status ValidateMetadataStore(std::string_view type, const json& config) {
  if (type == "rocksdb") return ValidatePathConfig(type, config);
  if (type == "postgres") return ValidatePostgresConfig(config);
  if (type != "memory") return Invalid(fmt::format("unknown metadata store type '{}'", type));
  if (!config.empty()) {
    return Invalid(fmt::format("unknown config field '{}'", config.begin().key()));
  }
  return Status::Ok();
}

Status ValidateBlockStore(std::string_view type, const json& config) {
  if (type == "memory") {
    if (!config.empty()) {
      return Invalid(fmt::format("unknown config field '{}'", config.begin().key()));
    }
    return Status::Ok();
  }
  if (type == "localfs") return ValidatePathConfig(type, config);
  if (type == "tiered") {
    // The server parses the stored config with the same function when it opens the store.
    return config::ParseTieredBlockConfig(config.dump()).status();
  }
  return Invalid(fmt::format("unknown block store type '{}'", type));
}

// The members of ControlDb that manage one kind of store; the two kinds share StoreDef.
struct StoreKind {
  std::string_view name;  // "metadata" or "block"
  Result<StoreDef> (ControlDb::*create)(const StoreDef&);
  Result<StoreDef> (ControlDb::*get_by_name)(std::string_view);
  Result<std::vector<StoreDef>> (ControlDb::*list)();
  Status (ControlDb::*update)(const StoreDef&);
  Status (ControlDb::*remove)(int64_t);
  Status (*validate)(std::string_view type, const json& config);
};

constexpr StoreKind kMetadataStores = {"metadata",
                                       &ControlDb::CreateMetadataStore,
                                       &ControlDb::GetMetadataStoreByName,
                                       &ControlDb::ListMetadataStores,
                                       &ControlDb::UpdateMetadataStore,
                                       &ControlDb::DeleteMetadataStore,
                                       &ValidateMetadataStore};
constexpr StoreKind kBlockStores = {"block",
                                    &ControlDb::CreateBlockStore,
                                    &ControlDb::GetBlockStoreByName,
                                    &ControlDb::ListBlockStores,
                                    &ControlDb::UpdateBlockStore,
                                    &ControlDb::DeleteBlockStore,
                                    &ValidateBlockStore};

json StoreJson(const StoreDef& store) {
  json config = json::parse(store.config_json, nullptr, /*allow_exceptions=*/false);
  if (!config.is_object()) config = json::object();
  return {{"id", store.id}, {"name", store.name}, {"type", store.type}, {"config", config}};
}

// The worker pool settings every adapter has, kept in the adapter's config_json; absent keys
// mean the server's defaults (the config file's).
constexpr std::string_view kPoolKeys[] = {"workers", "io_threads"};
constexpr int64_t kPoolMax[] = {256, 16};

json AdapterJson(const Adapter& adapter) {
  json out = {{"name", adapter.name},
              {"enabled", adapter.enabled},
              {"port", adapter.port},
              {"bind_address", adapter.bind_address}};
  json config = json::parse(adapter.config_json, nullptr, /*allow_exceptions=*/false);
  for (std::string_view key : kPoolKeys) {
    if (config.is_object() && config.contains(key) &&
        config[std::string(key)].is_number_integer()) {
      out[std::string(key)] = config[std::string(key)];
    }
  }
  return out;
}

// Settings the API may change, and their valid values: one of `values`, or, with none, what
// `what` describes and the server's hook checks (a number in range, a version list).
// Settings the server keeps for itself in the database, which the API never shows nor takes:
// the secret NFS file handles are signed with (nodes sharing the database share it).
bool HiddenSetting(std::string_view key) { return key == "nfs.handle_secret"; }

struct KnownSetting {
  std::string_view key;
  std::initializer_list<std::string_view> values;
  std::string_view what = {};
};
const KnownSetting kKnownSettings[] = {
    {"logging.level", {"debug", "info", "warn", "error"}},
    {"logging.format", {"text", "json"}},
    {"nfs.versions", {}, "a list of 3, 4.0, 4.1, 4.2 (\"3,4.1\")"},
    {"nfs.lease_s", {}, "seconds from 5 to 3600"},
    {"nfs.grace_s", {}, "seconds up to 3600"},
    {"nfs.delegations", {"true", "false"}},
    {"kerberos.keytab", {}, "a readable keytab with the service principals' keys, or \"\""},
    {"kerberos.service_principal", {}, "a principal the keytab holds, or \"\" (any)"},
    {"kerberos.smb_service_principal", {}, "a principal the keytab holds, or \"\" (any)"},
    {"kerberos.realms", {}, "realms, comma-separated (\"A.COM,B.COM\"), or \"\" (any)"},
    {"kerberos.max_contexts", {}, "a number from 1 to 1048576"},
    {"kerberos.seq_window", {}, "a number from 1 to 1024"},
    {"smb.ntlm", {}, "true or false (false needs kerberos.keytab)"},
    {"nfs.tls.cert_file", {}, "a PEM certificate matching nfs.tls.key_file, or \"\""},
    {"nfs.tls.key_file", {}, "the PEM private key of nfs.tls.cert_file"},
    {"nfs.tls.client_ca_file", {}, "a PEM CA certificate, or \"\""},
    {"nfs.tls.handshake_timeout_ms", {}, "milliseconds"},
    {"tracing.enabled", {"true", "false"}},
    {"tracing.endpoint", {}, "an http:// or https:// OTLP/HTTP traces URL"},
    {"tracing.sampling_ratio", {}, "a number from 0 to 1"},
};

const KnownSetting* FindSetting(std::string_view key) {
  for (const KnownSetting& setting : kKnownSettings) {
    if (setting.key == key) return &setting;
  }
  return nullptr;
}

// The seconds in LoginThrottle's "retry after N s" message; 1 when there is none.
std::string RetryAfter(const Status& status) {
  constexpr std::string_view kMarker = "retry after ";
  const std::string& message = status.message();
  size_t at = message.find(kMarker);
  if (at == std::string::npos) return "1";
  size_t start = at + kMarker.size();
  size_t end = start;
  while (end < message.size() && std::isdigit(static_cast<unsigned char>(message[end]))) ++end;
  return end > start ? message.substr(start, end - start) : "1";
}

std::string Lowercase(std::string_view text) {
  std::string lower(text);
  for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return lower;
}

// A decimal number that fits in 32 bits ("1000"); nullopt for anything else.
std::optional<uint32_t> ParseUint32(std::string_view text) {
  uint32_t value = 0;
  auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || error != std::errc() || end != text.data() + text.size()) {
    return std::nullopt;
  }
  return value;
}

// A decimal number that fits in 64 bits; nullopt for anything else.
std::optional<uint64_t> ParseUint64(std::string_view text) {
  uint64_t value = 0;
  auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || error != std::errc() || end != text.data() + text.size()) {
    return std::nullopt;
  }
  return value;
}

// The kinds of long job a share runs (RuntimeHooks::StartJob, docs/jobs.md).
constexpr std::string_view kJobKinds[] = {"sync", "gc", "reconcile", "quota-recount"};

// The share, user or group a quota route's path names (docs/quotas.md).
struct QuotaSubject {
  core::QuotaKind kind = core::QuotaKind::kShare;
  std::string_view kind_name;  // "share", "user" or "group", as paths and entries spell it
  uint32_t id = 0;             // uid or gid; 0 for the share
};

// Whom a quota limits, for the log: "uid 1000", "gid 100", "the whole share".
std::string QuotaSubjectName(const QuotaSubject& subject) {
  switch (subject.kind) {
    case core::QuotaKind::kUser:
      return fmt::format("uid {}", subject.id);
    case core::QuotaKind::kGroup:
      return fmt::format("gid {}", subject.id);
    case core::QuotaKind::kShare:
      break;
  }
  return "the whole share";
}

// The longest grace period a quota may have: ten years, far below where adding it to a time
// could overflow.
constexpr uint64_t kMaxQuotaGraceSeconds = uint64_t{3650} * 24 * 3600;

// A quota's limits from a PUT body: every field optional, 0 (no limit) when absent.
Result<core::QuotaLimits> ReadQuotaLimits(const JsonObject& body) {
  core::QuotaLimits limits;
  auto read = [&](std::string_view field, uint64_t max, uint64_t* out) {
    return ReadUint64(body, field, max, out);
  };
  constexpr uint64_t kMax = std::numeric_limits<int64_t>::max();
  RETURN_IF_ERROR(read("hard_bytes", kMax, &limits.hard_bytes));
  RETURN_IF_ERROR(read("soft_bytes", kMax, &limits.soft_bytes));
  RETURN_IF_ERROR(read("hard_files", kMax, &limits.hard_files));
  RETURN_IF_ERROR(read("soft_files", kMax, &limits.soft_files));
  RETURN_IF_ERROR(read("grace_seconds", kMaxQuotaGraceSeconds, &limits.grace_seconds));
  // A soft limit above its hard one could never be passed: the hard one stops usage first.
  if (limits.hard_bytes != 0 && limits.soft_bytes > limits.hard_bytes) {
    return Invalid("field 'soft_bytes' must not be over 'hard_bytes'");
  }
  if (limits.hard_files != 0 && limits.soft_files > limits.hard_files) {
    return Invalid("field 'soft_files' must not be over 'hard_files'");
  }
  return limits;
}

// Whether `entry` is an entry of the server's quotas with id `id`.
bool IsQuotaEntryOf(const json& entry, uint32_t id) {
  if (!entry.is_object()) return false;
  auto found = entry.find("id");
  return found != entry.end() && found->is_number_unsigned() && found->get<uint64_t>() == id;
}

// The entry of `subject` in the server's quotas `quotas` (an object whose "share" is an object
// and whose "users" and "groups" are arrays). One that has neither usage nor limits is not
// listed: its entry is all zeros.
json QuotaEntry(const json& quotas, const QuotaSubject& subject) {
  if (subject.kind == core::QuotaKind::kShare) return quotas["share"];
  for (const json& entry : quotas[subject.kind == core::QuotaKind::kUser ? "users" : "groups"]) {
    if (IsQuotaEntryOf(entry, subject.id)) return entry;
  }
  return {{"kind", subject.kind_name}, {"id", subject.id}, {"used_bytes", 0},
          {"used_files", 0},           {"hard_bytes", 0},  {"soft_bytes", 0},
          {"hard_files", 0},           {"soft_files", 0},  {"grace_seconds", 0},
          {"grace_expires", nullptr},  {"state", "ok"}};
}

}  // namespace

class ApiHandlers final {
 public:
  ApiHandlers(ControlDb& db, RuntimeHooks& hooks, ApiOptions options)
      : db_(db),
        hooks_(hooks),
        signer_(std::move(options.jwt_secret)),
        state_dir_(std::move(options.state_dir)),
        reserved_paths_(std::move(options.reserved_paths)),
        own_throttle_(options.throttle ? nullptr : std::make_unique<core::LoginThrottle>()),
        throttle_(options.throttle ? options.throttle : own_throttle_.get()),
        routes_(Table()) {
    openapi_ = OpenApi().dump();
  }

  void Register(net::Router& router) {
    for (const Route& route : routes_) {
      router.Add(route.method, route.pattern,
                 [this, &route](const HttpRequest& request) { return Serve(route, request); });
    }
  }

  std::vector<RouteInfo> Routes() const {
    std::vector<RouteInfo> routes;
    for (const Route& route : routes_) {
      routes.push_back({std::string(route.method), std::string(route.pattern)});
    }
    return routes;
  }

 private:
  // The route table: Register serves it and OpenApi describes it.
  std::vector<Route> Table() {
    using A = Access;
    using H = ApiHandlers;
    constexpr auto kNoBody = nullptr;
    return {
        R("GET", "/health", A::kPublic, "Liveness", kNoBody, {}, 200, &H::Health),
        R("GET", "/health/ready", A::kPublic, "Readiness (503 until the server is ready)", kNoBody,
          {}, 200, &H::Ready),
        R("GET", "/api/v1/openapi.json", A::kPublic, "This OpenAPI document", kNoBody, {}, 200,
          &H::GetOpenApi),
        R("POST", "/api/v1/auth/login", A::kPublic, "Log in; returns access and refresh tokens",
          &kLoginBody, {"username", "password"}, 200, &H::Login),
        R("POST", "/api/v1/auth/refresh", A::kPublic, "A new access token for a refresh token",
          &kRefreshBody, {"refresh_token"}, 200, &H::Refresh),
        R("GET", "/api/v1/auth/me", A::kAnyToken, "The caller's user", kNoBody, {}, 200, &H::Me),
        R("POST", "/api/v1/auth/password", A::kAnyToken, "Change the caller's password",
          &kChangePasswordBody, {"current_password", "new_password"}, 204, &H::ChangePassword),
        R("GET", "/api/v1/users", A::kAdmin, "List users", kNoBody, {}, 200, &H::ListUsers),
        R("POST", "/api/v1/users", A::kAdmin, "Create a user", &kCreateUserBody,
          {"username", "password", "uid", "gid"}, 201, &H::CreateUser),
        R("GET", "/api/v1/users/{username}", A::kUser, "A user (admin, or the user themself)",
          kNoBody, {}, 200, &H::GetUser),
        R("PATCH", "/api/v1/users/{username}", A::kAdmin, "Change a user", &kPatchUserBody, {}, 200,
          &H::PatchUser),
        R("DELETE", "/api/v1/users/{username}", A::kAdmin, "Delete a user", kNoBody, {}, 204,
          &H::DeleteUser),
        R("POST", "/api/v1/users/{username}/password", A::kAdmin, "Reset a user's password",
          &kResetPasswordBody, {"password"}, 204, &H::ResetPassword),
        R("GET", "/api/v1/groups", A::kAdmin, "List groups", kNoBody, {}, 200, &H::ListGroups),
        R("POST", "/api/v1/groups", A::kAdmin, "Create a group", &kCreateGroupBody, {"name", "gid"},
          201, &H::CreateGroup),
        R("GET", "/api/v1/groups/{name}", A::kAdmin, "A group", kNoBody, {}, 200, &H::GetGroup),
        R("DELETE", "/api/v1/groups/{name}", A::kAdmin, "Delete a group", kNoBody, {}, 204,
          &H::DeleteGroup),
        R("GET", "/api/v1/groups/{name}/members", A::kAdmin, "A group's members", kNoBody, {}, 200,
          &H::ListMembers),
        R("PUT", "/api/v1/groups/{name}/members/{username}", A::kAdmin, "Add a member", kNoBody, {},
          204, &H::AddMember),
        R("DELETE", "/api/v1/groups/{name}/members/{username}", A::kAdmin, "Remove a member",
          kNoBody, {}, 204, &H::RemoveMember),
        R("GET", "/api/v1/stores/metadata", A::kOperator, "List metadata stores", kNoBody, {}, 200,
          &H::ListMetadataStores),
        R("POST", "/api/v1/stores/metadata", A::kAdmin, "Create a metadata store",
          &kCreateStoreBody, {"name", "type"}, 201, &H::CreateMetadataStore),
        R("GET", "/api/v1/stores/metadata/{name}", A::kOperator, "A metadata store", kNoBody, {},
          200, &H::GetMetadataStore),
        R("PATCH", "/api/v1/stores/metadata/{name}", A::kAdmin, "Change a metadata store",
          &kPatchStoreBody, {}, 200, &H::PatchMetadataStore),
        R("DELETE", "/api/v1/stores/metadata/{name}", A::kAdmin,
          "Delete a metadata store (409 while a share uses it)", kNoBody, {}, 204,
          &H::DeleteMetadataStore),
        R("GET", "/api/v1/stores/block", A::kOperator, "List block stores", kNoBody, {}, 200,
          &H::ListBlockStores),
        R("POST", "/api/v1/stores/block", A::kAdmin, "Create a block store", &kCreateStoreBody,
          {"name", "type"}, 201, &H::CreateBlockStore),
        R("GET", "/api/v1/stores/block/{name}", A::kOperator, "A block store", kNoBody, {}, 200,
          &H::GetBlockStore),
        R("PATCH", "/api/v1/stores/block/{name}", A::kAdmin, "Change a block store",
          &kPatchStoreBody, {}, 200, &H::PatchBlockStore),
        R("DELETE", "/api/v1/stores/block/{name}", A::kAdmin,
          "Delete a block store (409 while a share uses it)", kNoBody, {}, 204,
          &H::DeleteBlockStore),
        R("GET", "/api/v1/shares", A::kOperator, "List shares", kNoBody, {}, 200, &H::ListShares),
        R("POST", "/api/v1/shares", A::kAdmin, "Create a share", &kCreateShareBody,
          {"name", "metadata_store", "block_store"}, 201, &H::CreateShare),
        R("GET", "/api/v1/shares/{name}", A::kOperator, "A share (name URL-encoded: %2Fexport)",
          kNoBody, {}, 200, &H::GetShare),
        R("PATCH", "/api/v1/shares/{name}", A::kAdmin, "Change a share", &kPatchShareBody, {}, 200,
          &H::PatchShare),
        R("DELETE", "/api/v1/shares/{name}", A::kAdmin, "Delete a share", kNoBody, {}, 204,
          &H::DeleteShare),
        R("GET", "/api/v1/shares/{name}/status", A::kOperator,
          "A served share's storage state (journal, uploads, remote)", kNoBody, {}, 200,
          &H::GetShareStatus),
        R("POST", "/api/v1/shares/{name}/sync", A::kAdmin,
          "Upload everything the share holds that its remote lacks; answers when done (409 "
          "when its block store has no remote)",
          kNoBody, {}, 204, &H::SyncShare),
        R("POST", "/api/v1/shares/{name}/jobs", A::kAdmin,
          "Start a long job on a served share (kind sync, gc, reconcile or quota-recount) and "
          "answer it at once; a job of that kind already running on the share is answered "
          "instead (409 when the share's block store has no remote for it)",
          &kStartJobBody, {"kind"}, 202, &H::StartJob),
        R("GET", "/api/v1/shares/{name}/snapshots", A::kOperator,
          "A served share's snapshots, by name", kNoBody, {}, 200, &H::ListSnapshots),
        R("POST", "/api/v1/shares/{name}/snapshots", A::kAdmin,
          "Take snapshot `name` of a served share: answers a job at once (the share pauses "
          "while its namespace is copied; data is shared, not copied); 409 when the name is "
          "taken or another snapshot job runs on the share",
          &kCreateSnapshotBody, {"name"}, 202, &H::CreateSnapshot),
        R("GET", "/api/v1/shares/{name}/snapshot-policy", A::kOperator,
          "A served share's snapshot schedule", kNoBody, {}, 200, &H::GetSnapshotPolicy),
        R("PUT", "/api/v1/shares/{name}/snapshot-policy", A::kAdmin,
          "Schedule a served share's snapshots: every `interval_seconds` or at the times of "
          "`cron` (UTC), keeping the last `keep_last` scheduled ones and none older than "
          "`ttl_seconds`",
          &kSnapshotPolicyBody, {}, 200, &H::PutSnapshotPolicy),
        R("DELETE", "/api/v1/shares/{name}/snapshot-policy", A::kAdmin,
          "Stop scheduling a served share's snapshots (those taken stay)", kNoBody, {}, 200,
          &H::DeleteSnapshotPolicy),
        R("GET", "/api/v1/shares/{name}/snapshots/{snapshot}", A::kOperator,
          "One snapshot of a served share", kNoBody, {}, 200, &H::GetSnapshot),
        R("DELETE", "/api/v1/shares/{name}/snapshots/{snapshot}", A::kAdmin,
          "Delete a snapshot: answers a job at once; chunks no other file holds become garbage",
          kNoBody, {}, 202, &H::DeleteSnapshot),
        OptionalBody(R("POST", "/api/v1/shares/{name}/snapshots/{snapshot}/restore", A::kAdmin,
                       "Bring a served share back to a snapshot: answers a job at once; the "
                       "share pauses meanwhile, and snapshot `safety` (by default "
                       "pre-restore-<time>) keeps what it held before",
                       &kRestoreSnapshotBody, {}, 202, &H::RestoreSnapshot)),
        R("GET", "/api/v1/shares/{name}/locks", A::kOperator,
          "The byte-range locks held on a served share, whichever protocol took them", kNoBody, {},
          200, &H::GetShareLocks),
        R("GET", "/api/v1/shares/{name}/trash", A::kAdmin,
          "What a served share's recycle bin holds, oldest first, and its size", kNoBody, {}, 200,
          &H::GetTrash),
        R("DELETE", "/api/v1/shares/{name}/trash", A::kAdmin,
          "Empty a served share's recycle bin: its files go for good", kNoBody, {}, 200,
          &H::EmptyTrash),
        OptionalBody(R("POST", "/api/v1/shares/{name}/trash/{id}/restore", A::kAdmin,
                       "Move a file of the recycle bin back where it was removed from, or to "
                       "`to` (409 when that name is taken)",
                       &kRestoreTrashBody, {}, 200, &H::RestoreTrash)),
        R("GET", "/api/v1/shares/{name}/quotas", A::kAdmin,
          "A served share's quotas: the share's own, and those of every user and group with "
          "usage or limits",
          kNoBody, {}, 200, &H::GetQuotas),
        R("GET", "/api/v1/shares/{name}/quotas/{kind}/{id}", A::kAdmin,
          "One quota of a served share: kind share (id -), user or group (id a name or a number)",
          kNoBody, {}, 200, &H::GetQuota),
        R("PUT", "/api/v1/shares/{name}/quotas/{kind}/{id}", A::kAdmin,
          "Set a quota's limits, replacing the ones it had (a field left out: no limit)",
          &kQuotaBody, {}, 200, &H::PutQuota),
        R("DELETE", "/api/v1/shares/{name}/quotas/{kind}/{id}", A::kAdmin,
          "Remove a quota's limits (its usage is still counted)", kNoBody, {}, 204,
          &H::DeleteQuota),
        R("GET", "/api/v1/jobs", A::kAdmin,
          "The server's long jobs: the running ones, then those finished in the last hour, "
          "newest first",
          kNoBody, {}, 200, &H::ListJobs),
        R("GET", "/api/v1/jobs/{id}", A::kAdmin, "A long job: its state and how far it got",
          kNoBody, {}, 200, &H::GetJob),
        R("DELETE", "/api/v1/jobs/{id}", A::kAdmin,
          "Ask a running job to stop (it ends canceled); answers the job, and leaves a finished "
          "one as it is",
          kNoBody, {}, 202, &H::CancelJob),
        R("GET", "/api/v1/clients", A::kOperator,
          "The clients holding state: NFSv3 lock clients (their locks, blocked requests and "
          "share reservations), NFSv4 clients (opens, locks, delegations) and SMB sessions "
          "(opens and their leases or oplocks)",
          kNoBody, {}, 200, &H::ListClients),
        R("GET", "/api/v1/clients/{id}", A::kOperator, "A client holding state (id URL-encoded)",
          kNoBody, {}, 200, &H::GetClient),
        R("DELETE", "/api/v1/clients/{id}", A::kAdmin,
          "Evict a client: its state goes (an SMB session's connection is closed)", kNoBody, {},
          204, &H::EvictClient),
        R("GET", "/api/v1/shares/{name}/permissions", A::kOperator, "A share's grants", kNoBody, {},
          200, &H::ListPermissions),
        R("PUT", "/api/v1/shares/{name}/permissions", A::kAdmin,
          "Grant a user or group a level on a share", &kGrantBody, {"kind", "name", "level"}, 200,
          &H::Grant),
        R("DELETE", "/api/v1/shares/{name}/permissions/{kind}/{subject}", A::kAdmin,
          "Revoke a grant", kNoBody, {}, 204, &H::Revoke),
        R("GET", "/api/v1/adapters", A::kOperator, "List protocol adapters", kNoBody, {}, 200,
          &H::ListAdapters),
        R("GET", "/api/v1/adapters/{name}", A::kOperator, "A protocol adapter", kNoBody, {}, 200,
          &H::GetAdapter),
        R("PATCH", "/api/v1/adapters/{name}", A::kAdmin, "Change a protocol adapter",
          &kPatchAdapterBody, {}, 200, &H::PatchAdapter),
        R("GET", "/api/v1/settings", A::kOperator, "List settings", kNoBody, {}, 200,
          &H::ListSettings),
        R("GET", "/api/v1/settings/{key}", A::kOperator, "A setting", kNoBody, {}, 200,
          &H::GetSetting),
        R("PUT", "/api/v1/settings/{key}", A::kAdmin,
          "Set a setting (logging.level: debug|info|warn|error; logging.format: text|json; "
          "nfs.versions: 3,4.0,4.1,4.2; nfs.lease_s, nfs.grace_s: seconds; nfs.delegations: "
          "true|false)",
          &kSettingBody, {"value"}, 200, &H::PutSetting),
    };
  }

  // Authenticates and authorizes the request as `route` says, parses its body, and runs the
  // route's handler.
  HttpResponse Serve(const Route& route, const HttpRequest& request) {
    Call call{request};
    if (route.access != Access::kPublic) {
      std::string_view header = request.header("Authorization");
      constexpr std::string_view kBearer = "Bearer ";
      if (header.empty()) return Unauthorized("a bearer token is required");
      if (!StartsWithIgnoreCase(header, kBearer)) {
        return Unauthorized("the Authorization header must carry a bearer token");
      }
      Result<auth::TokenClaims> claims = signer_.Verify(header.substr(kBearer.size()), Now().sec);
      if (!claims.ok()) {
        LOG_DEBUG("api: {} {} from {}: token refused: {}", request.method, route.pattern,
                  request.client_address, claims.status().message());
        return Unauthorized("the token is invalid or expired");
      }
      if (claims->kind != auth::kAccessTokenKind) return Unauthorized("not an access token");
      Result<User> user = db_.GetUser(claims->user_id);
      if (!user.ok() && user.status().code() != Errc::kNotFound) return Fail(user.status());
      if (!user.ok() || !user->enabled || user->username != claims->subject) {
        return Unauthorized("the token is invalid or expired");
      }
      if (claims->must_change_password && route.access != Access::kAnyToken) {
        return Forbidden("the password must be changed first (POST /api/v1/auth/password)");
      }
      if ((route.access == Access::kAdmin && user->role != Role::kAdmin) ||
          (route.access == Access::kOperator && user->role == Role::kUser)) {
        return Forbidden(fmt::format("role '{}' may not do this", RoleName(user->role)));
      }
      call.caller = std::move(*user);
    }
    std::optional<JsonObject> body;
    if (route.body != nullptr) {
      if (request.body.size() > kMaxBodyBytes) {
        return net::Problem(413, net::ReasonPhrase(413),
                            fmt::format("the request body exceeds {} bytes", kMaxBodyBytes));
      }
      std::string_view text = request.body;
      if (text.empty() && route.body_optional) text = "{}";
      Result<JsonObject> parsed = JsonObject::Parse(text, *route.body);
      if (!parsed.ok()) return Fail(parsed.status());
      for (std::string_view field : route.required) {
        if (!parsed->Has(field)) return Fail(Invalid(fmt::format("field '{}' is required", field)));
      }
      body.emplace(std::move(*parsed));
      call.body = &*body;
    }
    Result<HttpResponse> response = (this->*route.handler)(call);
    if (!response.ok()) return Fail(response.status());
    return std::move(*response);
  }

  static HttpResponse Fail(const Status& status) {
    if (net::HttpStatusFor(status.code()) == 500) {
      LOG_ERROR("api: request failed: {}", status.ToString());
    }
    return net::ProblemFor(status);
  }

  // --- health and documentation ---

  Result<HttpResponse> Health(const Call&) { return Json(200, {{"status", "ok"}}); }

  Result<HttpResponse> Ready(const Call&) {
    if (!hooks_.Ready()) {
      return net::Problem(503, net::ReasonPhrase(503), "the server is not ready yet");
    }
    return Json(200, {{"status", "ready"}});
  }

  Result<HttpResponse> GetOpenApi(const Call&) {
    HttpResponse response;
    response.body = openapi_;
    return response;
  }

  json OpenApi() const {
    json paths = json::object();
    for (const Route& route : routes_) {
      json operation = {{"summary", route.summary}};
      json parameters = json::array();
      std::string_view pattern = route.pattern;
      for (size_t open = pattern.find('{'); open != std::string_view::npos;
           open = pattern.find('{', open + 1)) {
        size_t close = pattern.find('}', open);
        parameters.push_back({{"name", pattern.substr(open + 1, close - open - 1)},
                              {"in", "path"},
                              {"required", true},
                              {"schema", {{"type", "string"}}}});
      }
      if (!parameters.empty()) operation["parameters"] = parameters;
      json responses = json::object();
      responses[std::to_string(route.success)] = {
          {"description", net::ReasonPhrase(route.success)}};
      auto problem = [&](int status) {
        responses[std::to_string(status)] = {
            {"description", net::ReasonPhrase(status)},
            {"content",
             {{net::kProblemContentType,
               {{"schema", {{"$ref", "#/components/schemas/Problem"}}}}}}}};
      };
      if (route.body != nullptr) {
        json properties = json::object();
        for (std::string_view field : *route.body) {
          properties[std::string(field)] = {{"type", FieldType(field)}};
          if (FieldType(field) == "array") {
            properties[std::string(field)]["items"] = {{"type", "string"}};
          }
        }
        json schema = {
            {"type", "object"}, {"additionalProperties", false}, {"properties", properties}};
        if (!route.required.empty()) schema["required"] = route.required;
        operation["requestBody"] = {{"required", !route.body_optional},
                                    {"content", {{"application/json", {{"schema", schema}}}}}};
        problem(400);
        problem(413);
      }
      if (route.access != Access::kPublic) {
        operation["security"] = json::array({{{"bearerAuth", json::array()}}});
        problem(401);
        problem(403);
      }
      if (route.pattern == "/api/v1/auth/login") problem(429);
      if (!parameters.empty()) problem(404);
      if (route.method != "GET" && route.pattern.starts_with("/api/v1/") &&
          !route.pattern.starts_with("/api/v1/auth/") &&
          !route.pattern.starts_with("/api/v1/settings/")) {
        problem(409);
      }
      if (route.pattern == "/health/ready") problem(503);
      operation["responses"] = responses;
      paths[std::string(route.pattern)][Lowercase(route.method)] = operation;
    }
    json problem_schema = {{"type", "object"},
                           {"properties",
                            {{"type", {{"type", "string"}}},
                             {"title", {{"type", "string"}}},
                             {"status", {{"type", "integer"}}},
                             {"detail", {{"type", "string"}}}}}};
    return {{"openapi", "3.0.3"},
            {"info", {{"title", "DittoFS control plane"}, {"version", "1"}}},
            {"paths", paths},
            {"components",
             {{"securitySchemes",
               {{"bearerAuth", {{"type", "http"}, {"scheme", "bearer"}, {"bearerFormat", "JWT"}}}}},
              {"schemas", {{"Problem", problem_schema}}}}}};
  }

  // --- authentication ---

  Result<HttpResponse> Login(const Call& call) {
    ASSIGN_OR_RETURN(std::string username, call.body->GetString("username"));
    ASSIGN_OR_RETURN(std::string password, call.body->GetString("password"));
    if (username.size() > kMaxNameBytes || password.size() > auth::kMaxPasswordBytes) {
      return Invalid("the username or password is too long");
    }
    const std::string& address = call.http.client_address;
    int64_t now = Now().sec;
    Status allowed = throttle_->Check(username, address, now);
    if (!allowed.ok()) {
      HttpResponse response =
          net::Problem(429, net::ReasonPhrase(429), "too many failed logins; try again later");
      response.headers.Set("Retry-After", RetryAfter(allowed));
      return response;
    }
    Result<User> user = db_.GetUserByName(username);
    if (!user.ok() && user.status().code() != Errc::kNotFound) return user.status();
    bool valid;
    if (user.ok()) {
      valid = auth::VerifyPassword(password, user->password_hash) && user->enabled;
    } else {
      // Spend the same time as for a real user, so timing does not tell who exists.
      auth::VerifyPassword(password, DummyHash());
      valid = false;
    }
    if (!valid) {
      throttle_->RecordFailure(username, address, now);
      // Never the username: people type their password into that field.
      LOG_INFO("api: failed login from {}", address);
      return Unauthorized("invalid username or password");
    }
    throttle_->RecordSuccess(username, address, now);
    if (auth::NeedsRehash(user->password_hash)) {
      Result<std::string> rehashed = auth::HashPassword(password);
      if (rehashed.ok()) {
        user->password_hash = std::move(*rehashed);
        Status updated = db_.UpdateUser(*user);
        if (!updated.ok()) LOG_WARN("api: re-hashing a password failed: {}", updated.ToString());
      }
    }
    ASSIGN_OR_RETURN(json tokens, AccessToken(*user, now));
    ASSIGN_OR_RETURN(tokens["refresh_token"],
                     signer_.Sign(auth::NewRefreshTokenClaims(user->username, user->id,
                                                              std::string(RoleName(user->role)),
                                                              user->must_change_password, now)));
    LOG_INFO("api: user {} logged in from {}", user->username, address);
    return Json(200, tokens);
  }

  Result<HttpResponse> Refresh(const Call& call) {
    ASSIGN_OR_RETURN(std::string token, call.body->GetString("refresh_token"));
    int64_t now = Now().sec;
    Result<auth::TokenClaims> claims = signer_.Verify(token, now);
    if (!claims.ok()) return Unauthorized("the refresh token is invalid or expired");
    if (claims->kind != auth::kRefreshTokenKind) return Unauthorized("not a refresh token");
    Result<User> user = db_.GetUser(claims->user_id);
    if (!user.ok() && user.status().code() != Errc::kNotFound) return user.status();
    if (!user.ok() || !user->enabled || user->username != claims->subject) {
      return Unauthorized("the refresh token is invalid or expired");
    }
    ASSIGN_OR_RETURN(json tokens, AccessToken(*user, now));
    return Json(200, tokens);
  }

  // The login and refresh answer, but for the refresh token. It carries the user's current
  // role and must_change_password flag.
  Result<json> AccessToken(const User& user, int64_t now) {
    ASSIGN_OR_RETURN(std::string access,
                     signer_.Sign(auth::NewAccessTokenClaims(user.username, user.id,
                                                             std::string(RoleName(user.role)),
                                                             user.must_change_password, now)));
    return json{{"access_token", access},
                {"token_type", "Bearer"},
                {"expires_in", auth::kAccessTokenLifetimeSeconds},
                {"must_change_password", user.must_change_password}};
  }

  Result<HttpResponse> Me(const Call& call) {
    ASSIGN_OR_RETURN(json user, UserJson(call.caller));
    return Json(200, user);
  }

  Result<HttpResponse> ChangePassword(const Call& call) {
    ASSIGN_OR_RETURN(std::string current, call.body->GetString("current_password"));
    ASSIGN_OR_RETURN(std::string replacement, call.body->GetString("new_password"));
    User user = call.caller;
    const std::string& address = call.http.client_address;
    int64_t now = Now().sec;
    // A stolen token must not become a way to guess the password without limit.
    Status allowed = throttle_->Check(user.username, address, now);
    if (!allowed.ok()) {
      HttpResponse response =
          net::Problem(429, net::ReasonPhrase(429), "too many failed attempts; try again later");
      response.headers.Set("Retry-After", RetryAfter(allowed));
      return response;
    }
    if (current.size() > auth::kMaxPasswordBytes ||
        !auth::VerifyPassword(current, user.password_hash)) {
      throttle_->RecordFailure(user.username, address, now);
      return Forbidden("the current password is wrong");
    }
    RETURN_IF_ERROR(SetPassword(replacement, &user));
    user.must_change_password = false;
    RETURN_IF_ERROR(db_.UpdateUser(user));
    // SMB logons check the NT hash the server holds: the new one, from now on.
    RETURN_IF_ERROR(hooks_.UsersChanged());
    LOG_INFO("api: user {} changed their password", user.username);
    return NoContent();
  }

  const std::string& DummyHash() {
    std::call_once(dummy_hash_once_, [this] {
      Result<std::string> hash = auth::HashPassword(auth::GenerateSecret(16));
      dummy_hash_ = hash.ok() ? *hash : "";
    });
    return dummy_hash_;
  }

  // --- users ---

  Result<json> UserJson(const User& user) {
    ASSIGN_OR_RETURN(std::vector<Group> groups, db_.GroupsOfUser(user.id));
    json names = json::array();
    for (const Group& group : groups) names.push_back(group.name);
    // Never the hashes.
    return json{{"id", user.id},
                {"username", user.username},
                {"uid", user.uid},
                {"gid", user.gid},
                {"email", user.email},
                {"display_name", user.display_name},
                {"role", RoleName(user.role)},
                {"enabled", user.enabled},
                {"must_change_password", user.must_change_password},
                {"groups", names},
                {"kerberos_principal", user.kerberos_principal},
                {"created_at", user.created_at},
                {"updated_at", user.updated_at}};
  }

  // The user the path names; kNotFound with a message when there is none.
  Result<User> PathUser(const Call& call) {
    const std::string& username = call.Param("username");
    Result<User> user = db_.GetUserByName(username);
    if (user.status().code() == Errc::kNotFound) {
      return Status(Errc::kNotFound, fmt::format("no user '{}'", username));
    }
    return user;
  }

  Result<Group> GroupNamed(std::string_view name, Errc absent) {
    Result<Group> group = db_.GetGroupByName(name);
    if (group.status().code() == Errc::kNotFound) {
      return Status(absent, fmt::format("no group '{}'", name));
    }
    return group;
  }

  // Reads the fields a create and a patch share into `user`.
  Status ReadUserFields(const JsonObject& body, User* user) {
    RETURN_IF_ERROR(ReadUint32(body, "uid", &user->uid));
    RETURN_IF_ERROR(ReadUint32(body, "gid", &user->gid));
    RETURN_IF_ERROR(ReadString(body, "email", kMaxTextBytes, &user->email));
    RETURN_IF_ERROR(ReadString(body, "display_name", kMaxTextBytes, &user->display_name));
    RETURN_IF_ERROR(
        ReadString(body, "kerberos_principal", kMaxTextBytes, &user->kerberos_principal));
    RETURN_IF_ERROR(ReadBool(body, "enabled", &user->enabled));
    if (body.Has("role")) {
      ASSIGN_OR_RETURN(std::string role, body.GetString("role"));
      Result<Role> parsed = ParseRole(role);
      if (!parsed.ok()) return Invalid("field 'role' must be one of admin, operator, user");
      user->role = *parsed;
    }
    return Status::Ok();
  }

  // The groups a body's "groups" names, each of which must exist.
  Result<std::vector<Group>> ReadGroups(const JsonObject& body) {
    std::vector<std::string> names;
    RETURN_IF_ERROR(ReadStringList(body, "groups", kMaxNameBytes, &names));
    std::vector<Group> groups;
    for (const std::string& name : names) {
      ASSIGN_OR_RETURN(Group group, GroupNamed(name, Errc::kInvalid));
      groups.push_back(std::move(group));
    }
    return groups;
  }

  Result<HttpResponse> ListUsers(const Call&) {
    ASSIGN_OR_RETURN(std::vector<User> users, db_.ListUsers());
    json list = json::array();
    for (const User& user : users) {
      ASSIGN_OR_RETURN(json entry, UserJson(user));
      list.push_back(std::move(entry));
    }
    return Json(200, list);
  }

  Result<HttpResponse> CreateUser(const Call& call) {
    const JsonObject& body = *call.body;
    User user;
    ASSIGN_OR_RETURN(user.username, body.GetString("username"));
    RETURN_IF_ERROR(ValidateName("a username", user.username));
    RETURN_IF_ERROR(ReadUserFields(body, &user));
    RETURN_IF_ERROR(ReadBool(body, "must_change_password", &user.must_change_password));
    ASSIGN_OR_RETURN(std::vector<Group> groups, ReadGroups(body));
    ASSIGN_OR_RETURN(std::string password, body.GetString("password"));
    RETURN_IF_ERROR(SetPassword(password, &user));
    ASSIGN_OR_RETURN(User created, db_.CreateUser(user));
    for (const Group& group : groups) RETURN_IF_ERROR(db_.AddMember(created.id, group.id));
    RETURN_IF_ERROR(hooks_.UsersChanged());
    LOG_INFO("api: {} created user {}", call.caller.username, created.username);
    ASSIGN_OR_RETURN(json doc, UserJson(created));
    HttpResponse response = Json(201, doc);
    response.headers.Set("Location", "/api/v1/users/" + created.username);
    return response;
  }

  Result<HttpResponse> GetUser(const Call& call) {
    if (call.caller.role != Role::kAdmin && call.caller.username != call.Param("username")) {
      return Forbidden("only an admin may read another user");
    }
    ASSIGN_OR_RETURN(User user, PathUser(call));
    ASSIGN_OR_RETURN(json doc, UserJson(user));
    return Json(200, doc);
  }

  Result<HttpResponse> PatchUser(const Call& call) {
    ASSIGN_OR_RETURN(User user, PathUser(call));
    RETURN_IF_ERROR(ReadUserFields(*call.body, &user));
    RETURN_IF_ERROR(db_.UpdateUser(user));
    if (call.body->Has("groups")) {
      ASSIGN_OR_RETURN(std::vector<Group> wanted, ReadGroups(*call.body));
      ASSIGN_OR_RETURN(std::vector<Group> current, db_.GroupsOfUser(user.id));
      auto contains = [](const std::vector<Group>& groups, const Group& group) {
        return std::find(groups.begin(), groups.end(), group) != groups.end();
      };
      for (const Group& group : current) {
        if (!contains(wanted, group)) RETURN_IF_ERROR(db_.RemoveMember(user.id, group.id));
      }
      for (const Group& group : wanted) {
        if (!contains(current, group)) RETURN_IF_ERROR(db_.AddMember(user.id, group.id));
      }
    }
    RETURN_IF_ERROR(hooks_.UsersChanged());
    ASSIGN_OR_RETURN(User updated, db_.GetUser(user.id));
    ASSIGN_OR_RETURN(json doc, UserJson(updated));
    return Json(200, doc);
  }

  Result<HttpResponse> DeleteUser(const Call& call) {
    ASSIGN_OR_RETURN(User user, PathUser(call));
    RETURN_IF_ERROR(db_.DeleteUser(user.id));
    RETURN_IF_ERROR(hooks_.UsersChanged());
    LOG_INFO("api: {} deleted user {}", call.caller.username, user.username);
    return NoContent();
  }

  Result<HttpResponse> ResetPassword(const Call& call) {
    ASSIGN_OR_RETURN(User user, PathUser(call));
    ASSIGN_OR_RETURN(std::string password, call.body->GetString("password"));
    bool temporary = true;
    RETURN_IF_ERROR(ReadBool(*call.body, "temporary", &temporary));
    RETURN_IF_ERROR(SetPassword(password, &user));
    user.must_change_password = temporary;
    RETURN_IF_ERROR(db_.UpdateUser(user));
    LOG_INFO("api: {} reset the password of {}", call.caller.username, user.username);
    return NoContent();
  }

  // --- groups ---

  static json GroupJson(const Group& group) {
    return {{"id", group.id}, {"name", group.name}, {"gid", group.gid}};
  }

  Result<HttpResponse> ListGroups(const Call&) {
    ASSIGN_OR_RETURN(std::vector<Group> groups, db_.ListGroups());
    json list = json::array();
    for (const Group& group : groups) list.push_back(GroupJson(group));
    return Json(200, list);
  }

  Result<HttpResponse> CreateGroup(const Call& call) {
    Group group;
    ASSIGN_OR_RETURN(group.name, call.body->GetString("name"));
    RETURN_IF_ERROR(ValidateName("a group name", group.name));
    RETURN_IF_ERROR(ReadUint32(*call.body, "gid", &group.gid));
    ASSIGN_OR_RETURN(Group created, db_.CreateGroup(group));
    RETURN_IF_ERROR(hooks_.UsersChanged());
    HttpResponse response = Json(201, GroupJson(created));
    response.headers.Set("Location", "/api/v1/groups/" + created.name);
    return response;
  }

  Result<HttpResponse> GetGroup(const Call& call) {
    ASSIGN_OR_RETURN(Group group, GroupNamed(call.Param("name"), Errc::kNotFound));
    return Json(200, GroupJson(group));
  }

  Result<HttpResponse> DeleteGroup(const Call& call) {
    ASSIGN_OR_RETURN(Group group, GroupNamed(call.Param("name"), Errc::kNotFound));
    RETURN_IF_ERROR(db_.DeleteGroup(group.id));
    RETURN_IF_ERROR(hooks_.UsersChanged());
    return NoContent();
  }

  Result<HttpResponse> ListMembers(const Call& call) {
    ASSIGN_OR_RETURN(Group group, GroupNamed(call.Param("name"), Errc::kNotFound));
    ASSIGN_OR_RETURN(std::vector<User> members, db_.ListMembers(group.id));
    json list = json::array();
    for (const User& user : members) {
      ASSIGN_OR_RETURN(json entry, UserJson(user));
      list.push_back(std::move(entry));
    }
    return Json(200, list);
  }

  Result<HttpResponse> AddMember(const Call& call) {
    ASSIGN_OR_RETURN(Group group, GroupNamed(call.Param("name"), Errc::kNotFound));
    ASSIGN_OR_RETURN(User user, PathUser(call));
    Status added = db_.AddMember(user.id, group.id);
    // PUT is idempotent: adding a member again is no error.
    if (!added.ok() && added.code() != Errc::kExists) return added;
    RETURN_IF_ERROR(hooks_.UsersChanged());
    return NoContent();
  }

  Result<HttpResponse> RemoveMember(const Call& call) {
    ASSIGN_OR_RETURN(Group group, GroupNamed(call.Param("name"), Errc::kNotFound));
    ASSIGN_OR_RETURN(User user, PathUser(call));
    Status removed = db_.RemoveMember(user.id, group.id);
    if (removed.code() == Errc::kNotFound) {
      return Status(Errc::kNotFound,
                    fmt::format("{} is not a member of {}", user.username, group.name));
    }
    RETURN_IF_ERROR(removed);
    RETURN_IF_ERROR(hooks_.UsersChanged());
    return NoContent();
  }

  // --- where stores and shares keep data (config/store_layout.h) ---

  // The places of a store definition of `kind` ("metadata" or "block"). Places under an
  // unknown state directory are left out.
  Result<std::vector<config::StoreLocation>> StorePlaces(std::string_view kind,
                                                         const StoreDef& store) {
    Result<std::vector<config::StoreLocation>> places =
        kind == "metadata"
            ? config::MetadataStoreLocations(store.type, store.config_json, state_dir_)
            : config::BlockStoreLocations(store.type, store.config_json, state_dir_);
    RETURN_IF_ERROR(places.status());
    if (state_dir_.empty()) {
      std::erase_if(*places, [](const config::StoreLocation& l) { return l.defaulted; });
    }
    return places;
  }

  // Refuses (409) a place that holds the server's state directory or overlaps one of the
  // server's own files. `whose` begins the message.
  Status CheckClearOfServer(const config::StoreLocation& place, std::string_view whose) {
    if (place.is_s3()) return Status::Ok();
    if (!state_dir_.empty()) {
      config::Overlap overlap = config::RelatePaths(place.dir, state_dir_);
      if (overlap == config::Overlap::kSame || overlap == config::Overlap::kContains) {
        return Conflict(fmt::format("{}: its {} {} the server's state directory {}", whose,
                                    DescribePlace(place), OverlapVerb(overlap), state_dir_));
      }
    }
    for (const ReservedPath& reserved : reserved_paths_) {
      config::Overlap overlap = config::RelatePaths(place.dir, reserved.path);
      if (overlap != config::Overlap::kNone) {
        return Conflict(fmt::format("{}: its {} {} {} {}", whose, DescribePlace(place),
                                    OverlapVerb(overlap), reserved.what, reserved.path));
      }
    }
    return Status::Ok();
  }

  // Refuses a store definition that would keep data in a system directory (400), whose own
  // places overlap (400), or whose places overlap the server's files (409) or another
  // definition's places (409). Two definitions may name the same directory for the same role:
  // each share keeps its data in its own subdirectory there. But a directory inside another's,
  // or one directory for two roles (a share's metadata and block stores use the same
  // subdirectory name), would mix the data of different shares or stores.
  Status CheckStorePlacement(const StoreKind& kind, const StoreDef& store)
      EXCLUSIVE_LOCKS_REQUIRED(placement_mu_) {
    std::string whose = fmt::format("{} store '{}'", kind.name, store.name);
    ASSIGN_OR_RETURN(std::vector<config::StoreLocation> mine, StorePlaces(kind.name, store));
    std::vector<std::string> configured_paths;
    for (const config::StoreLocation& place : mine) {
      if (!place.defaulted && !place.is_s3()) configured_paths.push_back(place.dir);
    }
    if (store.type == "tiered") {
      ASSIGN_OR_RETURN(config::TieredBlockConfig tc,
                       config::ParseTieredBlockConfig(store.config_json));
      if (!tc.key_file.empty()) configured_paths.push_back(tc.key_file);
    }
    for (const std::string& path : configured_paths) {
      Status checked = config::CheckNotSystemPath(path);
      if (!checked.ok()) return Invalid(fmt::format("{}: {}", whose, checked.message()));
    }
    for (size_t i = 0; i < mine.size(); ++i) {
      for (size_t j = i + 1; j < mine.size(); ++j) {
        config::Overlap overlap = config::Relate(mine[i], mine[j]);
        if (overlap != config::Overlap::kNone) {
          return Invalid(fmt::format("{}: its {} {} its {}", whose, DescribePlace(mine[i]),
                                     OverlapVerb(overlap), DescribePlace(mine[j])));
        }
      }
    }
    for (const config::StoreLocation& place : mine) {
      RETURN_IF_ERROR(CheckClearOfServer(place, whose));
    }
    for (const StoreKind* other_kind : {&kMetadataStores, &kBlockStores}) {
      ASSIGN_OR_RETURN(std::vector<StoreDef> others, (db_.*other_kind->list)());
      for (const StoreDef& other : others) {
        if (other_kind->name == kind.name && (other.id == store.id || other.name == store.name)) {
          continue;  // itself (a create with a taken name fails as such)
        }
        Result<std::vector<config::StoreLocation>> theirs = StorePlaces(other_kind->name, other);
        if (!theirs.ok()) continue;  // a malformed older definition holds nothing
        for (const config::StoreLocation& a : mine) {
          for (const config::StoreLocation& b : *theirs) {
            config::Overlap overlap = config::Relate(a, b);
            if (overlap == config::Overlap::kNone) continue;
            if (overlap == config::Overlap::kSame && a.role == b.role) continue;
            return Conflict(fmt::format("{}: its {} {} the {} of {} store '{}'", whose,
                                        DescribePlace(a), OverlapVerb(overlap), DescribePlace(b),
                                        other_kind->name, other.name));
          }
        }
      }
    }
    return Status::Ok();
  }

  // The places share `share` keeps data in: its subdirectory (or key prefix) in each place of
  // its stores.
  Result<std::vector<Place>> SharePlaces(const Share& share) {
    std::string dir_name = config::ShareDirName(share.name);
    std::vector<Place> out;
    for (const auto& [kind, id] : {std::pair{&kMetadataStores, share.metadata_store_id},
                                   std::pair{&kBlockStores, share.block_store_id}}) {
      ASSIGN_OR_RETURN(StoreDef store,
                       kind == &kMetadataStores ? db_.GetMetadataStore(id) : db_.GetBlockStore(id));
      ASSIGN_OR_RETURN(std::vector<config::StoreLocation> places, StorePlaces(kind->name, store));
      for (const config::StoreLocation& place : places) {
        out.push_back({config::ShareLocation(place, dir_name),
                       fmt::format("{} store '{}'", kind->name, store.name)});
      }
    }
    return out;
  }

  // Refuses (409) a share whose places overlap each other, the server's files, or another
  // share's places. Store definitions are checked when they are made, so this finds only
  // definitions from databases older than those checks.
  Status CheckSharePlacement(const Share& share) EXCLUSIVE_LOCKS_REQUIRED(placement_mu_) {
    std::string whose = fmt::format("share {}", share.name);
    ASSIGN_OR_RETURN(std::vector<Place> mine, SharePlaces(share));
    for (size_t i = 0; i < mine.size(); ++i) {
      for (size_t j = i + 1; j < mine.size(); ++j) {
        config::Overlap overlap = config::Relate(mine[i].location, mine[j].location);
        if (overlap != config::Overlap::kNone) {
          return Conflict(fmt::format(
              "{}: its {} (in {}) {} its {} (in {})", whose, DescribePlace(mine[i].location),
              mine[i].store, OverlapVerb(overlap), DescribePlace(mine[j].location), mine[j].store));
        }
      }
    }
    for (const Place& place : mine) RETURN_IF_ERROR(CheckClearOfServer(place.location, whose));
    ASSIGN_OR_RETURN(std::vector<Share> others, db_.ListShares());
    for (const Share& other : others) {
      if (other.id == share.id || other.name == share.name) continue;
      Result<std::vector<Place>> theirs = SharePlaces(other);
      if (!theirs.ok()) continue;
      for (const Place& a : mine) {
        for (const Place& b : *theirs) {
          config::Overlap overlap = config::Relate(a.location, b.location);
          if (overlap == config::Overlap::kNone) continue;
          return Conflict(fmt::format("{}: its {} (in {}) {} the {} of share {} (in {})", whose,
                                      DescribePlace(a.location), a.store, OverlapVerb(overlap),
                                      DescribePlace(b.location), other.name, b.store));
        }
      }
    }
    return Status::Ok();
  }

  // --- stores ---

  Result<StoreDef> PathStore(const StoreKind& kind, const Call& call) {
    const std::string& name = call.Param("name");
    Result<StoreDef> store = (db_.*kind.get_by_name)(name);
    if (store.status().code() == Errc::kNotFound) {
      return Status(Errc::kNotFound, fmt::format("no {} store '{}'", kind.name, name));
    }
    return store;
  }

  // The body's "config", an object; {} when absent.
  static Result<json> ReadConfig(const Call& call) {
    json body = json::parse(call.http.body, nullptr, /*allow_exceptions=*/false);
    auto config = body.find("config");
    if (config == body.end()) return json::object();
    if (!config->is_object()) return Invalid("field 'config' must be an object");
    return *config;
  }

  Result<HttpResponse> ListStores(const StoreKind& kind) {
    ASSIGN_OR_RETURN(std::vector<StoreDef> stores, (db_.*kind.list)());
    json list = json::array();
    for (const StoreDef& store : stores) list.push_back(StoreJson(store));
    return Json(200, list);
  }

  Result<HttpResponse> CreateStore(const StoreKind& kind, const Call& call) {
    StoreDef store;
    ASSIGN_OR_RETURN(store.name, call.body->GetString("name"));
    RETURN_IF_ERROR(ValidateName("a store name", store.name));
    ASSIGN_OR_RETURN(store.type, call.body->GetString("type"));
    ASSIGN_OR_RETURN(json config, ReadConfig(call));
    RETURN_IF_ERROR(kind.validate(store.type, config));
    store.config_json = config.dump();
    StoreDef created;
    {
      MutexLock lock(&placement_mu_);
      RETURN_IF_ERROR(CheckStorePlacement(kind, store));
      ASSIGN_OR_RETURN(created, (db_.*kind.create)(store));
    }
    RETURN_IF_ERROR(hooks_.SharesChanged());
    HttpResponse response = Json(201, StoreJson(created));
    response.headers.Set("Location", fmt::format("/api/v1/stores/{}/{}", kind.name, created.name));
    return response;
  }

  Result<HttpResponse> GetStore(const StoreKind& kind, const Call& call) {
    ASSIGN_OR_RETURN(StoreDef store, PathStore(kind, call));
    return Json(200, StoreJson(store));
  }

  Result<HttpResponse> PatchStore(const StoreKind& kind, const Call& call) {
    ASSIGN_OR_RETURN(StoreDef store, PathStore(kind, call));
    RETURN_IF_ERROR(ReadString(*call.body, "type", kMaxNameBytes, &store.type));
    json config = StoreJson(store)["config"];
    if (call.body->Has("config")) {
      ASSIGN_OR_RETURN(config, ReadConfig(call));
    }
    RETURN_IF_ERROR(kind.validate(store.type, config));
    store.config_json = config.dump();
    {
      MutexLock lock(&placement_mu_);
      RETURN_IF_ERROR(CheckStorePlacement(kind, store));
      RETURN_IF_ERROR((db_.*kind.update)(store));
    }
    RETURN_IF_ERROR(hooks_.SharesChanged());
    return Json(200, StoreJson(store));
  }

  Result<HttpResponse> DeleteStore(const StoreKind& kind, const Call& call) {
    ASSIGN_OR_RETURN(StoreDef store, PathStore(kind, call));
    Status deleted = (db_.*kind.remove)(store.id);
    if (deleted.code() == Errc::kBusy) {
      return Status(Errc::kBusy,
                    fmt::format("{} store '{}' is used by a share", kind.name, store.name));
    }
    RETURN_IF_ERROR(deleted);
    RETURN_IF_ERROR(hooks_.SharesChanged());
    return NoContent();
  }

  Result<HttpResponse> ListMetadataStores(const Call&) { return ListStores(kMetadataStores); }
  Result<HttpResponse> CreateMetadataStore(const Call& c) {
    return CreateStore(kMetadataStores, c);
  }
  Result<HttpResponse> GetMetadataStore(const Call& c) { return GetStore(kMetadataStores, c); }
  Result<HttpResponse> PatchMetadataStore(const Call& c) { return PatchStore(kMetadataStores, c); }
  Result<HttpResponse> DeleteMetadataStore(const Call& c) {
    return DeleteStore(kMetadataStores, c);
  }
  Result<HttpResponse> ListBlockStores(const Call&) { return ListStores(kBlockStores); }
  Result<HttpResponse> CreateBlockStore(const Call& c) { return CreateStore(kBlockStores, c); }
  Result<HttpResponse> GetBlockStore(const Call& c) { return GetStore(kBlockStores, c); }
  Result<HttpResponse> PatchBlockStore(const Call& c) { return PatchStore(kBlockStores, c); }
  Result<HttpResponse> DeleteBlockStore(const Call& c) { return DeleteStore(kBlockStores, c); }

  // --- shares ---

  Result<Share> PathShare(const Call& call) {
    std::string name = ShareName(call.Param("name"));
    Result<Share> share = db_.GetShareByName(name);
    if (share.status().code() == Errc::kNotFound) {
      return Status(Errc::kNotFound, fmt::format("no share '{}'", name));
    }
    return share;
  }

  Result<json> ShareJson(const Share& share) {
    ASSIGN_OR_RETURN(StoreDef metadata, db_.GetMetadataStore(share.metadata_store_id));
    ASSIGN_OR_RETURN(StoreDef block, db_.GetBlockStore(share.block_store_id));
    return json{{"id", share.id},
                {"name", share.name},
                {"metadata_store", metadata.name},
                {"block_store", block.name},
                {"read_only", share.read_only},
                {"squash", SquashName(share.squash)},
                {"anon_uid", share.anon_uid},
                {"anon_gid", share.anon_gid},
                {"allowed_cidrs", share.allowed_cidrs},
                {"denied_cidrs", share.denied_cidrs},
                {"default_permission", LevelName(share.default_permission)},
                {"root_mode", fmt::format("{:04o}", share.root_mode)},
                {"names", NameRulesName(share.names)},
                {"smb_encrypt", share.smb_encrypt},
                {"smb_require_signing", share.smb_require_signing},
                {"guest_ok", share.guest_ok},
                {"smb_access_based_enumeration", share.smb_access_based_enumeration},
                {"continuously_available", share.continuously_available},
                {"tls", share.tls},
                {"security", share.security},
                {"recycle", share.recycle},
                {"recycle_retention_days", share.recycle_retention_days},
                {"recycle_max_bytes", share.recycle_max_bytes},
                {"recycle_exclude", share.recycle_exclude}};
  }

  // Reads the fields a create and a patch share into `share`.
  Status ReadShareFields(const JsonObject& body, Share* share) {
    if (body.Has("metadata_store")) {
      ASSIGN_OR_RETURN(std::string name, body.GetString("metadata_store"));
      Result<StoreDef> store = db_.GetMetadataStoreByName(name);
      if (store.status().code() == Errc::kNotFound) {
        return Invalid(fmt::format("no metadata store '{}'", name));
      }
      RETURN_IF_ERROR(store);
      share->metadata_store_id = store->id;
    }
    if (body.Has("block_store")) {
      ASSIGN_OR_RETURN(std::string name, body.GetString("block_store"));
      Result<StoreDef> store = db_.GetBlockStoreByName(name);
      if (store.status().code() == Errc::kNotFound) {
        return Invalid(fmt::format("no block store '{}'", name));
      }
      RETURN_IF_ERROR(store);
      share->block_store_id = store->id;
    }
    RETURN_IF_ERROR(ReadBool(body, "read_only", &share->read_only));
    if (body.Has("squash")) {
      ASSIGN_OR_RETURN(std::string squash, body.GetString("squash"));
      Result<Squash> parsed = ParseSquash(squash);
      if (!parsed.ok()) {
        return Invalid(
            "field 'squash' must be one of none, root_to_guest, root_to_admin, all_to_guest, "
            "all_to_admin");
      }
      share->squash = *parsed;
    }
    RETURN_IF_ERROR(ReadUint32(body, "anon_uid", &share->anon_uid));
    RETURN_IF_ERROR(ReadUint32(body, "anon_gid", &share->anon_gid));
    RETURN_IF_ERROR(ReadStringList(body, "allowed_cidrs", kMaxNameBytes, &share->allowed_cidrs));
    RETURN_IF_ERROR(ReadStringList(body, "denied_cidrs", kMaxNameBytes, &share->denied_cidrs));
    for (const std::string& cidr : share->allowed_cidrs) RETURN_IF_ERROR(ValidateCidr(cidr));
    for (const std::string& cidr : share->denied_cidrs) RETURN_IF_ERROR(ValidateCidr(cidr));
    if (body.Has("default_permission")) {
      ASSIGN_OR_RETURN(std::string level, body.GetString("default_permission"));
      ASSIGN_OR_RETURN(share->default_permission, ParseLevel("default_permission", level));
    }
    if (body.Has("root_mode")) {
      ASSIGN_OR_RETURN(std::string mode, body.GetString("root_mode"));
      ASSIGN_OR_RETURN(share->root_mode, ParseMode(mode));
    }
    if (body.Has("names")) {
      ASSIGN_OR_RETURN(std::string names, body.GetString("names"));
      Result<NameRules> parsed = ParseNameRules(names);
      if (!parsed.ok()) return Invalid("field 'names' must be posix or windows");
      share->names = *parsed;
    }
    RETURN_IF_ERROR(ReadBool(body, "smb_encrypt", &share->smb_encrypt));
    RETURN_IF_ERROR(ReadBool(body, "smb_require_signing", &share->smb_require_signing));
    RETURN_IF_ERROR(ReadBool(body, "guest_ok", &share->guest_ok));
    RETURN_IF_ERROR(
        ReadBool(body, "smb_access_based_enumeration", &share->smb_access_based_enumeration));
    RETURN_IF_ERROR(ReadBool(body, "continuously_available", &share->continuously_available));
    if (body.Has("tls")) {
      ASSIGN_OR_RETURN(std::string tls, body.GetString("tls"));
      if (tls != "off" && tls != "opportunistic" && tls != "required") {
        return Invalid("field 'tls' must be off, opportunistic or required");
      }
      share->tls = tls;
    }
    if (body.Has("security")) {
      // Comma-separated NFS flavors, each once at most.
      ASSIGN_OR_RETURN(std::string security, body.GetString("security"));
      std::string_view rest = security;
      if (rest.empty()) return Invalid("field 'security' must name at least one flavor");
      while (!rest.empty()) {
        std::string_view flavor = rest.substr(0, rest.find(','));
        rest.remove_prefix(std::min(rest.size(), flavor.size() + 1));
        if (flavor != "sys" && flavor != "krb5" && flavor != "krb5i" && flavor != "krb5p") {
          return Invalid("field 'security' must list sys, krb5, krb5i or krb5p, comma-separated");
        }
      }
      share->security = security;
    }
    RETURN_IF_ERROR(ReadBool(body, "recycle", &share->recycle));
    RETURN_IF_ERROR(ReadUint32(body, "recycle_retention_days", &share->recycle_retention_days));
    if (body.Has("recycle_max_bytes")) {
      // Any int64_t but the negative ones: the database keeps it as a signed 64-bit integer.
      ASSIGN_OR_RETURN(int64_t max_bytes, body.GetInt("recycle_max_bytes"));
      if (max_bytes < 0) {
        return Invalid(fmt::format("field 'recycle_max_bytes' must be between 0 and {}",
                                   std::numeric_limits<int64_t>::max()));
      }
      share->recycle_max_bytes = static_cast<uint64_t>(max_bytes);
    }
    RETURN_IF_ERROR(ReadStringList(body, "recycle_exclude", config::kMaxRecycleExcludeBytes,
                                   &share->recycle_exclude));
    if (Status globs = config::ValidRecycleExclude(share->recycle_exclude); !globs.ok()) {
      return Invalid(fmt::format("field 'recycle_exclude': {}", globs.message()));
    }
    return Status::Ok();
  }

  Result<HttpResponse> ListShares(const Call&) {
    ASSIGN_OR_RETURN(std::vector<Share> shares, db_.ListShares());
    json list = json::array();
    for (const Share& share : shares) {
      ASSIGN_OR_RETURN(json entry, ShareJson(share));
      list.push_back(std::move(entry));
    }
    return Json(200, list);
  }

  Result<HttpResponse> CreateShare(const Call& call) {
    Share share;
    ASSIGN_OR_RETURN(std::string name, call.body->GetString("name"));
    share.name = ShareName(name);
    RETURN_IF_ERROR(ValidateShareName(share.name));
    RETURN_IF_ERROR(ReadShareFields(*call.body, &share));
    Share created;
    {
      MutexLock lock(&placement_mu_);
      RETURN_IF_ERROR(CheckSharePlacement(share));
      ASSIGN_OR_RETURN(created, db_.CreateShare(share));
    }
    LOG_INFO("api: {} created share {}", call.caller.username, created.name);
    RETURN_IF_ERROR(hooks_.SharesChanged());
    ASSIGN_OR_RETURN(json doc, ShareJson(created));
    HttpResponse response = Json(201, doc);
    std::string location = "/api/v1/shares/";
    for (char c : created.name) {
      if (c == '/') {
        location += "%2F";
      } else {
        location += c;
      }
    }
    response.headers.Set("Location", location);
    return response;
  }

  Result<HttpResponse> GetShare(const Call& call) {
    ASSIGN_OR_RETURN(Share share, PathShare(call));
    ASSIGN_OR_RETURN(json doc, ShareJson(share));
    return Json(200, doc);
  }

  Result<HttpResponse> PatchShare(const Call& call) {
    ASSIGN_OR_RETURN(Share share, PathShare(call));
    const Share before = share;
    RETURN_IF_ERROR(ReadShareFields(*call.body, &share));
    {
      MutexLock lock(&placement_mu_);
      RETURN_IF_ERROR(CheckSharePlacement(share));
      RETURN_IF_ERROR(db_.UpdateShare(share));
    }
    if (Status changed = hooks_.SharesChanged(); !changed.ok()) {
      if (share.block_store_id != before.block_store_id) {
        // The share's data did not move to the other block store: the database must not say
        // it did, or the next start would serve the share from a store without its data. The
        // share goes back to what it was, and the server is brought in line with that.
        {
          MutexLock lock(&placement_mu_);
          if (Status undone = db_.UpdateShare(before); !undone.ok()) {
            LOG_ERROR("api: share {}: undoing a failed block store change: {}", before.name,
                      undone.ToString());
          }
        }
        if (Status again = hooks_.SharesChanged(); !again.ok()) {
          LOG_WARN("api: share {}: after undoing a failed block store change: {}", before.name,
                   again.ToString());
        }
      }
      return changed;
    }
    ASSIGN_OR_RETURN(json doc, ShareJson(share));
    return Json(200, doc);
  }

  Result<HttpResponse> DeleteShare(const Call& call) {
    ASSIGN_OR_RETURN(Share share, PathShare(call));
    RETURN_IF_ERROR(db_.DeleteShare(share.id));
    LOG_INFO("api: {} deleted share {}", call.caller.username, share.name);
    RETURN_IF_ERROR(hooks_.SharesChanged());
    return NoContent();
  }

  // A share the database defines may still not be served (its stores failed to open); the
  // hooks answer kNotFound for those, which is a 404 with its own message.
  Result<HttpResponse> GetShareStatus(const Call& call) {
    ASSIGN_OR_RETURN(Share share, PathShare(call));
    ASSIGN_OR_RETURN(std::string text, hooks_.ShareStatus(share.name));
    json status = json::parse(text, nullptr, /*allow_exceptions=*/false);
    if (!status.is_object()) {
      return Status(Errc::kInternal,
                    fmt::format("share {}: the server's status is not a JSON object", share.name));
    }
    return Json(200, status);
  }

  Result<HttpResponse> GetShareLocks(const Call& call) {
    ASSIGN_OR_RETURN(Share share, PathShare(call));
    ASSIGN_OR_RETURN(std::string text, hooks_.ShareLocks(share.name));
    return JsonArrayFromServer(text, "locks");
  }

  Result<HttpResponse> ListClients(const Call&) {
    ASSIGN_OR_RETURN(std::string text, hooks_.Clients());
    return JsonArrayFromServer(text, "clients");
  }

  Result<HttpResponse> GetClient(const Call& call) {
    ASSIGN_OR_RETURN(std::string text, hooks_.Clients());
    json clients = json::parse(text, nullptr, /*allow_exceptions=*/false);
    const std::string id(call.Param("id"));
    if (clients.is_array()) {
      for (const json& c : clients) {
        if (c.is_object() && c.value("id", "") == id) return Json(200, c);
      }
    }
    return Status(Errc::kNotFound, fmt::format("no client '{}'", id));
  }

  Result<HttpResponse> EvictClient(const Call& call) {
    const std::string id(call.Param("id"));
    Status evicted = hooks_.EvictClient(id);
    if (evicted.code() == Errc::kNotFound) {
      return Status(Errc::kNotFound, fmt::format("no client '{}'", id));
    }
    RETURN_IF_ERROR(evicted);
    LOG_INFO("api: {} evicted client {}", call.caller.username, id);
    return NoContent();
  }

  // The recycle bin (ShareOptions::recycle). The hooks answer kNotFound for a share that is
  // not served, and for a file the bin does not hold.
  Result<HttpResponse> GetTrash(const Call& call) {
    ASSIGN_OR_RETURN(Share share, PathShare(call));
    ASSIGN_OR_RETURN(std::string text, hooks_.Trash(share.name));
    json trash = json::parse(text, nullptr, /*allow_exceptions=*/false);
    if (!trash.is_object() || !trash.contains("items") || !trash["items"].is_array() ||
        !trash.contains("bytes") || !trash["bytes"].is_number_unsigned()) {
      return Status(
          Errc::kInternal,
          fmt::format("share {}: the server's trash is not {{\"bytes\", \"items\"}}", share.name));
    }
    return Json(200, json{{"bytes", trash["bytes"]}, {"items", std::move(trash["items"])}});
  }

  Result<HttpResponse> RestoreTrash(const Call& call) {
    ASSIGN_OR_RETURN(Share share, PathShare(call));
    const std::string& id_text = call.Param("id");
    uint64_t id = 0;
    auto [end, error] = std::from_chars(id_text.data(), id_text.data() + id_text.size(), id);
    if (id_text.empty() || error != std::errc() || end != id_text.data() + id_text.size()) {
      return Status(Errc::kNotFound, fmt::format("share {}: the recycle bin holds no file '{}'",
                                                 share.name, id_text));
    }
    std::string to;
    RETURN_IF_ERROR(ReadString(*call.body, "to", kMaxPathBytes, &to));
    if (call.body->Has("to") &&
        (to.empty() || to.front() != '/' || to.find('\0') != std::string::npos)) {
      return Invalid("field 'to' must be a path from the share's root, such as /docs/a.txt");
    }
    ASSIGN_OR_RETURN(std::string path, hooks_.RestoreTrash(share.name, id, to));
    LOG_INFO("api: {} restored file {} of share {}'s recycle bin to {}", call.caller.username, id,
             share.name, path);
    return Json(200, json{{"path", path}});
  }

  Result<HttpResponse> EmptyTrash(const Call& call) {
    ASSIGN_OR_RETURN(Share share, PathShare(call));
    ASSIGN_OR_RETURN(uint64_t removed, hooks_.EmptyTrash(share.name));
    LOG_INFO("api: {} emptied share {}'s recycle bin ({} files)", call.caller.username, share.name,
             removed);
    return Json(200, json{{"removed", removed}});
  }

  // Quotas (docs/quotas.md). The hooks answer kNotFound for a share that is not served.

  // The server's quotas of `share`, checked to be {"share": {...}, "users": [...], "groups":
  // [...]}.
  Result<json> ServerQuotas(const Share& share) {
    ASSIGN_OR_RETURN(std::string text, hooks_.Quotas(share.name));
    json quotas = json::parse(text, nullptr, /*allow_exceptions=*/false);
    if (!quotas.is_object() || !quotas.contains("share") || !quotas["share"].is_object() ||
        !quotas.contains("users") || !quotas["users"].is_array() || !quotas.contains("groups") ||
        !quotas["groups"].is_array()) {
      return Status(Errc::kInternal,
                    fmt::format("share {}: the server's quotas are not {{\"share\", \"users\", "
                                "\"groups\"}}",
                                share.name));
    }
    return quotas;
  }

  // The quota the path's {kind} and {id} name. A user's or group's id is a name the database
  // knows, whose uid or gid it stands for, or else a number: a uid or gid without one. The
  // share's own quota has id "-" (or "0").
  Result<QuotaSubject> PathQuota(const Call& call) {
    const std::string& kind = call.Param("kind");
    const std::string& id = call.Param("id");
    if (kind == "share") {
      if (id != "-" && id != "0") {
        return Status(Errc::kNotFound, "a share's own quota has id - (or 0)");
      }
      return QuotaSubject{core::QuotaKind::kShare, "share", 0};
    }
    if (kind == "user") {
      Result<User> user = db_.GetUserByName(id);
      if (user.ok()) return QuotaSubject{core::QuotaKind::kUser, "user", user->uid};
      if (user.status().code() != Errc::kNotFound) return user.status();
    } else if (kind == "group") {
      Result<Group> group = db_.GetGroupByName(id);
      if (group.ok()) return QuotaSubject{core::QuotaKind::kGroup, "group", group->gid};
      if (group.status().code() != Errc::kNotFound) return group.status();
    } else {
      return Status(Errc::kNotFound, "the quota kind must be share, user or group");
    }
    std::optional<uint32_t> number = ParseUint32(id);
    if (!number) return Status(Errc::kNotFound, fmt::format("no {} '{}'", kind, id));
    return kind == "user" ? QuotaSubject{core::QuotaKind::kUser, "user", *number}
                          : QuotaSubject{core::QuotaKind::kGroup, "group", *number};
  }

  Result<HttpResponse> GetQuotas(const Call& call) {
    ASSIGN_OR_RETURN(Share share, PathShare(call));
    ASSIGN_OR_RETURN(json quotas, ServerQuotas(share));
    return Json(200, quotas);
  }

  Result<HttpResponse> GetQuota(const Call& call) {
    ASSIGN_OR_RETURN(Share share, PathShare(call));
    ASSIGN_OR_RETURN(QuotaSubject subject, PathQuota(call));
    ASSIGN_OR_RETURN(json quotas, ServerQuotas(share));
    return Json(200, QuotaEntry(quotas, subject));
  }

  Result<HttpResponse> PutQuota(const Call& call) {
    ASSIGN_OR_RETURN(Share share, PathShare(call));
    ASSIGN_OR_RETURN(QuotaSubject subject, PathQuota(call));
    ASSIGN_OR_RETURN(core::QuotaLimits limits, ReadQuotaLimits(*call.body));
    ASSIGN_OR_RETURN(std::string text,
                     hooks_.SetQuota(share.name, subject.kind, subject.id, limits));
    json entry = json::parse(text, nullptr, /*allow_exceptions=*/false);
    if (!entry.is_object()) {
      return Status(Errc::kInternal,
                    fmt::format("share {}: the server's quota is not a JSON object", share.name));
    }
    LOG_INFO(
        "api: {} set share {}'s quota for {}: bytes soft {} hard {}, files soft {} hard {}, "
        "grace {} s",
        call.caller.username, share.name, QuotaSubjectName(subject), limits.soft_bytes,
        limits.hard_bytes, limits.soft_files, limits.hard_files, limits.grace_seconds);
    return Json(200, entry);
  }

  Result<HttpResponse> DeleteQuota(const Call& call) {
    ASSIGN_OR_RETURN(Share share, PathShare(call));
    ASSIGN_OR_RETURN(QuotaSubject subject, PathQuota(call));
    RETURN_IF_ERROR(
        hooks_.SetQuota(share.name, subject.kind, subject.id, core::QuotaLimits{}).status());
    LOG_INFO("api: {} removed share {}'s quota for {}", call.caller.username, share.name,
             QuotaSubjectName(subject));
    return NoContent();
  }

  // The server's JSON array `text`, answered as {"<key>": [...]}.
  static Result<HttpResponse> JsonArrayFromServer(const std::string& text, const char* key) {
    json items = json::parse(text, nullptr, /*allow_exceptions=*/false);
    if (!items.is_array()) {
      return Status(Errc::kInternal, fmt::format("the server's {} are not a JSON array", key));
    }
    return Json(200, json{{key, std::move(items)}});
  }

  // A hook's Errc::kNotSupported for `share`: not the server failing (a 500) but a request
  // this share's stores cannot do, a 409.
  static HttpResponse NoRemote(const Share& share, const Status& status) {
    std::string detail = status.message().empty()
                             ? fmt::format("share {}: its block store has no remote", share.name)
                             : status.message();
    return net::Problem(409, net::ReasonPhrase(409), detail);
  }

  Result<HttpResponse> SyncShare(const Call& call) {
    ASSIGN_OR_RETURN(Share share, PathShare(call));
    Status synced = hooks_.SyncShare(share.name);
    if (synced.code() == Errc::kNotSupported) return NoRemote(share, synced);
    RETURN_IF_ERROR(synced);
    LOG_INFO("api: {} synced share {}", call.caller.username, share.name);
    return NoContent();
  }

  // Long jobs (docs/jobs.md). The server runs and keeps them; the hooks answer kNotFound for a
  // share that is not served and for a job id they do not know.

  // The server's job `text`, checked to be an object with an unsigned "id".
  static Result<json> JobFromServer(const std::string& text) {
    json job = json::parse(text, nullptr, /*allow_exceptions=*/false);
    if (!job.is_object() || !job.contains("id") || !job["id"].is_number_unsigned()) {
      return Status(Errc::kInternal, "the server's job is not a JSON object with an \"id\"");
    }
    return job;
  }

  // The job the path's {id} names; a path that is not a job id is one the server never gave.
  static Result<uint64_t> PathJobId(const Call& call) {
    const std::string& text = call.Param("id");
    std::optional<uint64_t> id = ParseUint64(text);
    if (!id) return Status(Errc::kNotFound, fmt::format("no job '{}'", text));
    return *id;
  }

  // 202 with the job, which goes on (or stops) after the answer.
  static HttpResponse Accepted(const json& job) {
    HttpResponse response = Json(202, job);
    response.headers.Set("Location", fmt::format("/api/v1/jobs/{}", job["id"].get<uint64_t>()));
    return response;
  }

  Result<HttpResponse> StartJob(const Call& call) {
    ASSIGN_OR_RETURN(Share share, PathShare(call));
    ASSIGN_OR_RETURN(std::string kind, call.body->GetString("kind"));
    if (std::find(std::begin(kJobKinds), std::end(kJobKinds), kind) == std::end(kJobKinds)) {
      return Invalid("field 'kind' must be one of sync, gc, reconcile, quota-recount");
    }
    Result<std::string> started = hooks_.StartJob(share.name, kind);
    if (started.status().code() == Errc::kNotSupported) return NoRemote(share, started.status());
    RETURN_IF_ERROR(started);
    ASSIGN_OR_RETURN(json job, JobFromServer(*started));
    LOG_INFO("api: {} started job {}: {} on share {}", call.caller.username,
             job["id"].get<uint64_t>(), kind, share.name);
    return Accepted(job);
  }

  Result<HttpResponse> ListJobs(const Call&) {
    ASSIGN_OR_RETURN(std::string text, hooks_.Jobs());
    return JsonArrayFromServer(text, "jobs");
  }

  Result<HttpResponse> GetJob(const Call& call) {
    ASSIGN_OR_RETURN(uint64_t id, PathJobId(call));
    ASSIGN_OR_RETURN(std::string text, hooks_.Job(id));
    ASSIGN_OR_RETURN(json job, JobFromServer(text));
    return Json(200, job);
  }

  Result<HttpResponse> CancelJob(const Call& call) {
    ASSIGN_OR_RETURN(uint64_t id, PathJobId(call));
    Result<std::string> text = hooks_.CancelJob(id);
    // A job whose work cannot stop half-way (a sync, a GC pass): a conflict with its state.
    if (text.status().code() == Errc::kNotSupported) {
      return net::Problem(409, net::ReasonPhrase(409), text.status().message());
    }
    RETURN_IF_ERROR(text.status());
    ASSIGN_OR_RETURN(json job, JobFromServer(*text));
    LOG_INFO("api: {} asked job {} to stop", call.caller.username, id);
    return Accepted(job);
  }

  // Snapshots (docs/snapshots.md). The hooks answer kNotFound for a share that is not served.
  static Status CheckSnapshot(const json& snapshot) {
    if (!snapshot.is_object() || !snapshot.contains("name") || !snapshot["name"].is_string() ||
        !snapshot.contains("state") || !snapshot["state"].is_string()) {
      return Status(Errc::kInternal, "the server's snapshot is not a JSON object with a name");
    }
    return Status::Ok();
  }

  Result<HttpResponse> ListSnapshots(const Call& call) {
    ASSIGN_OR_RETURN(Share share, PathShare(call));
    ASSIGN_OR_RETURN(std::string text, hooks_.Snapshots(share.name));
    json snapshots = json::parse(text, nullptr, /*allow_exceptions=*/false);
    if (!snapshots.is_array()) {
      return Status(Errc::kInternal, "the server's snapshots are not a JSON array");
    }
    for (const json& s : snapshots) RETURN_IF_ERROR(CheckSnapshot(s));
    return Json(200, snapshots);
  }

  Result<HttpResponse> GetSnapshot(const Call& call) {
    ASSIGN_OR_RETURN(Share share, PathShare(call));
    ASSIGN_OR_RETURN(std::string text, hooks_.Snapshot(share.name, call.Param("snapshot")));
    json snapshot = json::parse(text, nullptr, /*allow_exceptions=*/false);
    RETURN_IF_ERROR(CheckSnapshot(snapshot));
    return Json(200, snapshot);
  }

  Result<HttpResponse> SnapshotJob(const Call& call, const Share& share, std::string_view kind,
                                   const std::string& name, const std::string& safety) {
    ASSIGN_OR_RETURN(std::string text, hooks_.StartSnapshotJob(share.name, kind, name, safety));
    ASSIGN_OR_RETURN(json job, JobFromServer(text));
    LOG_INFO("api: {} started job {}: {} {} on share {}", call.caller.username,
             job["id"].get<uint64_t>(), kind, name, share.name);
    return Accepted(job);
  }

  Result<HttpResponse> PolicyReply(Result<std::string> text) {
    RETURN_IF_ERROR(text.status());
    json policy = json::parse(*text, nullptr, /*allow_exceptions=*/false);
    if (!policy.is_object() || !policy.contains("cron")) {
      return Status(Errc::kInternal, "the server's snapshot policy is not a JSON object");
    }
    return Json(200, policy);
  }

  Result<HttpResponse> GetSnapshotPolicy(const Call& call) {
    ASSIGN_OR_RETURN(Share share, PathShare(call));
    return PolicyReply(hooks_.SnapshotPolicy(share.name));
  }

  Result<HttpResponse> PutSnapshotPolicy(const Call& call) {
    ASSIGN_OR_RETURN(Share share, PathShare(call));
    core::SnapshotPolicy policy;
    const JsonObject& body = *call.body;
    constexpr uint64_t kMaxSeconds = uint64_t{3650} * 24 * 3600;
    RETURN_IF_ERROR(ReadUint64(body, "interval_seconds", kMaxSeconds, &policy.interval_s));
    RETURN_IF_ERROR(ReadString(body, "cron", 256, &policy.cron));
    RETURN_IF_ERROR(ReadUint32(body, "keep_last", &policy.keep_last));
    RETURN_IF_ERROR(ReadUint64(body, "ttl_seconds", kMaxSeconds, &policy.ttl_s));
    if (Status s = core::CheckSnapshotPolicy(policy); !s.ok()) return Invalid(s.message());
    Result<std::string> set = hooks_.SetSnapshotPolicy(share.name, policy);
    if (set.ok()) {
      LOG_INFO("api: {} set share {}'s snapshot schedule", call.caller.username, share.name);
    }
    return PolicyReply(std::move(set));
  }

  Result<HttpResponse> DeleteSnapshotPolicy(const Call& call) {
    ASSIGN_OR_RETURN(Share share, PathShare(call));
    Result<std::string> set = hooks_.SetSnapshotPolicy(share.name, core::SnapshotPolicy{});
    if (set.ok()) {
      LOG_INFO("api: {} removed share {}'s snapshot schedule", call.caller.username, share.name);
    }
    return PolicyReply(std::move(set));
  }

  Result<HttpResponse> CreateSnapshot(const Call& call) {
    ASSIGN_OR_RETURN(Share share, PathShare(call));
    ASSIGN_OR_RETURN(std::string name, call.body->GetString("name"));
    if (Status s = core::CheckSnapshotName(name); !s.ok()) return Invalid(s.message());
    return SnapshotJob(call, share, "snapshot-create", name, "");
  }

  Result<HttpResponse> DeleteSnapshot(const Call& call) {
    ASSIGN_OR_RETURN(Share share, PathShare(call));
    return SnapshotJob(call, share, "snapshot-delete", call.Param("snapshot"), "");
  }

  Result<HttpResponse> RestoreSnapshot(const Call& call) {
    ASSIGN_OR_RETURN(Share share, PathShare(call));
    std::string safety;
    RETURN_IF_ERROR(ReadString(*call.body, "safety", core::kMaxSnapshotName, &safety));
    if (!call.body->Has("safety")) {
      safety = FormatUtc(Now().sec, "pre-restore-%Y%m%dT%H%M%SZ");
    }
    if (Status s = core::CheckSnapshotName(safety); !s.ok()) {
      return Invalid("field 'safety': " + s.message());
    }
    return SnapshotJob(call, share, "snapshot-restore", call.Param("snapshot"), safety);
  }

  // The id of the user or group `name`; `absent` when there is none.
  Result<int64_t> SubjectId(SubjectKind kind, const std::string& name, Errc absent) {
    if (kind == SubjectKind::kUser) {
      Result<User> user = db_.GetUserByName(name);
      if (user.status().code() == Errc::kNotFound) {
        return Status(absent, fmt::format("no user '{}'", name));
      }
      RETURN_IF_ERROR(user);
      return user->id;
    }
    ASSIGN_OR_RETURN(Group group, GroupNamed(name, absent));
    return group.id;
  }

  Result<json> PermissionJson(const SharePermission& permission) {
    std::string name;
    if (permission.subject_kind == SubjectKind::kUser) {
      ASSIGN_OR_RETURN(User user, db_.GetUser(permission.subject_id));
      name = user.username;
    } else {
      ASSIGN_OR_RETURN(Group group, db_.GetGroup(permission.subject_id));
      name = group.name;
    }
    return json{{"kind", SubjectKindName(permission.subject_kind)},
                {"name", name},
                {"level", LevelName(permission.level)}};
  }

  Result<HttpResponse> ListPermissions(const Call& call) {
    ASSIGN_OR_RETURN(Share share, PathShare(call));
    ASSIGN_OR_RETURN(std::vector<SharePermission> permissions, db_.ListPermissions(share.id));
    json list = json::array();
    for (const SharePermission& permission : permissions) {
      ASSIGN_OR_RETURN(json entry, PermissionJson(permission));
      list.push_back(std::move(entry));
    }
    return Json(200, list);
  }

  Result<HttpResponse> Grant(const Call& call) {
    ASSIGN_OR_RETURN(Share share, PathShare(call));
    ASSIGN_OR_RETURN(std::string kind_name, call.body->GetString("kind"));
    Result<SubjectKind> kind = ParseSubjectKind(kind_name);
    if (!kind.ok()) return Invalid("field 'kind' must be user or group");
    ASSIGN_OR_RETURN(std::string name, call.body->GetString("name"));
    ASSIGN_OR_RETURN(std::string level_name, call.body->GetString("level"));
    SharePermission permission{.share_id = share.id, .subject_kind = *kind};
    ASSIGN_OR_RETURN(permission.level, ParseLevel("level", level_name));
    ASSIGN_OR_RETURN(permission.subject_id, SubjectId(*kind, name, Errc::kInvalid));
    RETURN_IF_ERROR(db_.Grant(permission));
    RETURN_IF_ERROR(hooks_.SharesChanged());
    ASSIGN_OR_RETURN(json doc, PermissionJson(permission));
    return Json(200, doc);
  }

  Result<HttpResponse> Revoke(const Call& call) {
    ASSIGN_OR_RETURN(Share share, PathShare(call));
    Result<SubjectKind> kind = ParseSubjectKind(call.Param("kind"));
    if (!kind.ok()) return Status(Errc::kNotFound, "the subject kind must be user or group");
    ASSIGN_OR_RETURN(int64_t subject, SubjectId(*kind, call.Param("subject"), Errc::kNotFound));
    Status revoked = db_.Revoke(share.id, *kind, subject);
    if (revoked.code() == Errc::kNotFound) {
      return Status(Errc::kNotFound, fmt::format("{} {} has no grant on {}",
                                                 *kind == SubjectKind::kUser ? "user" : "group",
                                                 call.Param("subject"), share.name));
    }
    RETURN_IF_ERROR(revoked);
    RETURN_IF_ERROR(hooks_.SharesChanged());
    return NoContent();
  }

  // --- adapters ---

  Result<Adapter> PathAdapter(const Call& call) {
    const std::string& name = call.Param("name");
    Result<Adapter> adapter = db_.GetAdapter(name);
    if (adapter.status().code() == Errc::kNotFound) {
      return Status(Errc::kNotFound, fmt::format("no adapter '{}'", name));
    }
    return adapter;
  }

  Result<HttpResponse> ListAdapters(const Call&) {
    ASSIGN_OR_RETURN(std::vector<Adapter> adapters, db_.ListAdapters());
    json list = json::array();
    for (const Adapter& adapter : adapters) list.push_back(AdapterJson(adapter));
    return Json(200, list);
  }

  Result<HttpResponse> GetAdapter(const Call& call) {
    ASSIGN_OR_RETURN(Adapter adapter, PathAdapter(call));
    return Json(200, AdapterJson(adapter));
  }

  Result<HttpResponse> PatchAdapter(const Call& call) {
    ASSIGN_OR_RETURN(Adapter adapter, PathAdapter(call));
    RETURN_IF_ERROR(ReadBool(*call.body, "enabled", &adapter.enabled));
    if (call.body->Has("port")) {
      ASSIGN_OR_RETURN(int64_t port, call.body->GetInt("port"));
      if (port < 1 || port > 65535) return Invalid("field 'port' must be between 1 and 65535");
      adapter.port = static_cast<uint32_t>(port);
    }
    RETURN_IF_ERROR(ReadString(*call.body, "bind_address", kMaxTextBytes, &adapter.bind_address));
    if (!IsIpAddress(adapter.bind_address)) {
      return Invalid("field 'bind_address' must be an IPv4 or IPv6 address");
    }
    json config = json::parse(adapter.config_json, nullptr, /*allow_exceptions=*/false);
    if (!config.is_object()) config = json::object();
    for (size_t i = 0; i < std::size(kPoolKeys); ++i) {
      const std::string key(kPoolKeys[i]);
      if (!call.body->Has(key)) continue;
      ASSIGN_OR_RETURN(int64_t n, call.body->GetInt(key));
      if (n < 1 || n > kPoolMax[i]) {
        return Invalid(fmt::format("field '{}' must be between 1 and {}", key, kPoolMax[i]));
      }
      config[key] = n;
    }
    adapter.config_json = config.dump();
    // Two enabled adapters cannot listen on one port of overlapping addresses.
    ASSIGN_OR_RETURN(std::vector<Adapter> adapters, db_.ListAdapters());
    auto wildcard = [](const std::string& address) {
      return address == "0.0.0.0" || address == "::";
    };
    for (const Adapter& other : adapters) {
      if (other.name == adapter.name || !other.enabled || !adapter.enabled) continue;
      if (other.port == adapter.port &&
          (other.bind_address == adapter.bind_address || wildcard(other.bind_address) ||
           wildcard(adapter.bind_address))) {
        return Status(Errc::kConflict, fmt::format("adapter '{}' already listens on port {}",
                                                   other.name, other.port));
      }
    }
    RETURN_IF_ERROR(db_.UpdateAdapter(adapter));
    LOG_INFO("api: {} changed adapter {}", call.caller.username, adapter.name);
    RETURN_IF_ERROR(hooks_.AdaptersChanged());
    return Json(200, AdapterJson(adapter));
  }

  // --- settings ---

  Result<HttpResponse> ListSettings(const Call&) {
    ASSIGN_OR_RETURN(std::vector<Setting> settings, db_.ListSettings());
    json list = json::array();
    for (const Setting& setting : settings) {
      if (HiddenSetting(setting.key)) continue;
      list.push_back({{"key", setting.key}, {"value", setting.value}});
    }
    return Json(200, list);
  }

  Result<HttpResponse> GetSetting(const Call& call) {
    const std::string& key = call.Param("key");
    Result<std::string> value =
        HiddenSetting(key) ? Status(Errc::kNotFound, "hidden") : db_.GetSetting(key);
    if (value.status().code() == Errc::kNotFound) {
      return Status(Errc::kNotFound, fmt::format("setting '{}' is not set", key));
    }
    RETURN_IF_ERROR(value);
    return Json(200, {{"key", key}, {"value", *value}});
  }

  Result<HttpResponse> PutSetting(const Call& call) {
    const std::string& key = call.Param("key");
    const KnownSetting* known = FindSetting(key);
    if (known == nullptr) return Status(Errc::kNotFound, fmt::format("no setting '{}'", key));
    ASSIGN_OR_RETURN(std::string value, call.body->GetString("value"));
    if (known->values.size() == 0) {
      // Checked by the server before it is stored: a value it refuses is never kept.
      if (Status s = hooks_.SettingChanged(key, value); !s.ok()) {
        return Invalid(fmt::format("setting '{}' must be {} ({})", key, known->what, s.message()));
      }
      RETURN_IF_ERROR(db_.SetSetting(key, value));
      LOG_INFO("api: {} set {} to {}", call.caller.username, key, value);
      return Json(200, {{"key", key}, {"value", value}});
    }
    if (std::find(known->values.begin(), known->values.end(), value) == known->values.end()) {
      std::string allowed;
      for (std::string_view v : known->values)
        allowed += (allowed.empty() ? "" : ", ") + std::string(v);
      return Invalid(fmt::format("setting '{}' must be one of {}", key, allowed));
    }
    RETURN_IF_ERROR(db_.SetSetting(key, value));
    LOG_INFO("api: {} set {} to {}", call.caller.username, key, value);
    RETURN_IF_ERROR(hooks_.SettingChanged(key, value));
    return Json(200, {{"key", key}, {"value", value}});
  }

  ControlDb& db_;
  RuntimeHooks& hooks_;
  const auth::TokenSigner signer_;
  const std::string state_dir_;
  const std::vector<ReservedPath> reserved_paths_;
  // Held from checking where a store or share keeps data to writing it to the database, so two
  // requests cannot both pass the check with places that overlap each other. Never held while
  // calling a hook.
  Mutex placement_mu_;
  std::unique_ptr<core::LoginThrottle> own_throttle_;  // when ApiOptions gave none
  core::LoginThrottle* throttle_;
  const std::vector<Route> routes_;  // Register's handlers point into it
  std::string openapi_;
  std::once_flag dummy_hash_once_;
  std::string dummy_hash_;  // a hash no password is known for; set once by DummyHash
};

Api::Api(ControlDb& db, RuntimeHooks& hooks, ApiOptions options) {
  CHECK(options.jwt_secret.size() >= auth::kMinJwtSecretBytes)
      << "api: the JWT secret must be at least " << auth::kMinJwtSecretBytes << " bytes";
  handlers_ = std::make_unique<ApiHandlers>(db, hooks, std::move(options));
}

Api::~Api() = default;

void Api::Register(net::Router& router) { handlers_->Register(router); }

std::vector<RouteInfo> Api::Routes() const { return handlers_->Routes(); }

}  // namespace dittofs::controlplane::api

// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"

namespace dittofs::controlplane {

// The control-plane database: the server's users, groups, share permissions, named stores,
// shares, protocol adapters and settings. Backends (SQLite, PostgreSQL) behave identically;
// the conformance suite in conformance.h holds them to it.
//
// Ids are assigned by the database on Create, start at 1 and are never reused. Names are
// compared byte for byte. Lists are ordered by id (settings: by key, permissions: by subject).
// All methods are safe to call concurrently from any thread.

enum class Role { kAdmin, kOperator, kUser };

struct User {
  int64_t id = 0;
  std::string username;
  uint32_t uid = 0;
  uint32_t gid = 0;
  std::string email;
  std::string display_name;
  Role role = Role::kUser;
  bool enabled = true;
  bool must_change_password = false;
  std::string password_hash;
  std::string nt_hash;  // hex; empty when the user has no SMB password
  // The Kerberos principal that logs on as this user ("asmith@EXAMPLE.COM"), each user's
  // different; empty: "<username>@<a realm taken>" does.
  std::string kerberos_principal;
  int64_t created_at = 0;  // unix seconds; set by Create
  int64_t updated_at = 0;  // unix seconds; set by Create and Update
  friend bool operator==(const User&, const User&) = default;
};

struct Group {
  int64_t id = 0;
  std::string name;
  uint32_t gid = 0;
  friend bool operator==(const Group&, const Group&) = default;
};

struct Membership {
  int64_t user_id = 0;
  int64_t group_id = 0;
  friend bool operator==(const Membership&, const Membership&) = default;
};

// Ordered: a higher level grants everything a lower one does.
enum class PermissionLevel { kNone, kRead, kReadWrite, kAdmin };

enum class SubjectKind { kUser, kGroup };

struct SharePermission {
  int64_t share_id = 0;
  SubjectKind subject_kind = SubjectKind::kUser;
  int64_t subject_id = 0;  // a user id or a group id, as subject_kind says
  PermissionLevel level = PermissionLevel::kNone;
  friend bool operator==(const SharePermission&, const SharePermission&) = default;
};

// A named metadata or block store: `type` picks the backend, `config_json` configures it.
struct StoreDef {
  int64_t id = 0;
  std::string name;
  std::string type;
  std::string config_json = "{}";
  friend bool operator==(const StoreDef&, const StoreDef&) = default;
};
using MetadataStoreDef = StoreDef;
using BlockStoreDef = StoreDef;

enum class Squash { kNone, kRootToGuest, kRootToAdmin, kAllToGuest, kAllToAdmin };
// Which names a share's files may have, and how they are matched (core::NameRules): "posix"
// (any bytes but '/' and NUL, case-sensitive) or "windows" (no \ / : * ? " < > | nor control
// characters, found whatever their case and kept as created).
enum class NameRules { kPosix, kWindows };

struct Share {
  int64_t id = 0;
  std::string name;  // the export path, e.g. "/export"
  int64_t metadata_store_id = 0;
  int64_t block_store_id = 0;
  bool read_only = false;
  Squash squash = Squash::kRootToGuest;
  uint32_t anon_uid = 65534;
  uint32_t anon_gid = 65534;
  std::vector<std::string> allowed_cidrs;
  std::vector<std::string> denied_cidrs;
  PermissionLevel default_permission = PermissionLevel::kNone;
  uint32_t root_mode = 0755;
  NameRules names = NameRules::kPosix;
  // SMB (MS-SMB2 3.3.5.7): tree connects of 3.x sessions encrypt every message (Share.
  // EncryptData); 2.x sessions are refused. Sessions that connect sign every message.
  bool smb_encrypt = false;
  bool smb_require_signing = false;
  // Guest and anonymous SMB sessions may connect, as anon_uid/anon_gid.
  bool guest_ok = false;
  bool smb_access_based_enumeration = false;  // SMB listings show only what the caller may open
  // SMB continuous availability (SMB2_SHARE_CAP_CONTINUOUS_AVAILABILITY): opens may be
  // persistent handles, whose state outlives a restart of the server.
  bool continuously_available = false;
  // NFS over TLS (RFC 9289): "off", "opportunistic" or "required" (NFS calls that do not come
  // over TLS are refused).
  std::string tls = "off";
  // The NFS security flavors the share takes, comma-separated: sys, krb5, krb5i, krb5p.
  std::string security = "sys";
  // The recycle bin (core::RecycleOptions): removed files move to the share's #recycle
  // instead of going, kept recycle_retention_days (0: no limit) while the bin holds at most
  // recycle_max_bytes (0: no cap; at most INT64_MAX); what one of the recycle_exclude globs
  // matches goes for good.
  bool recycle = false;
  uint32_t recycle_retention_days = 0;
  uint64_t recycle_max_bytes = 0;
  std::vector<std::string> recycle_exclude;
  friend bool operator==(const Share&, const Share&) = default;
};

// A protocol adapter, keyed by name ("nfs", "smb").
struct Adapter {
  std::string name;
  bool enabled = true;
  uint32_t port = 0;
  std::string bind_address = "0.0.0.0";
  std::string config_json = "{}";
  friend bool operator==(const Adapter&, const Adapter&) = default;
};

struct Setting {
  std::string key;
  std::string value;
  friend bool operator==(const Setting&, const Setting&) = default;
};

// Names for logs and for the JSON backup ("admin", "read_write", "root_to_guest", ...).
std::string_view RoleName(Role role);
std::string_view PermissionLevelName(PermissionLevel level);
std::string_view SubjectKindName(SubjectKind kind);
std::string_view SquashName(Squash squash);
std::string_view NameRulesName(NameRules rules);
// The inverses; kInvalid for an unknown name.
Result<Role> ParseRole(std::string_view name);
Result<PermissionLevel> ParsePermissionLevel(std::string_view name);
Result<SubjectKind> ParseSubjectKind(std::string_view name);
Result<Squash> ParseSquash(std::string_view name);
Result<NameRules> ParseNameRules(std::string_view name);

class ControlDb {
 public:
  virtual ~ControlDb() = default;

  // Users. Create fails with kExists when the username or the uid is taken; Delete also
  // removes the user's memberships and share permissions.
  virtual Result<User> CreateUser(const User& user) = 0;
  virtual Result<User> GetUser(int64_t id) = 0;
  virtual Result<User> GetUserByName(std::string_view username) = 0;
  virtual Result<std::vector<User>> ListUsers() = 0;
  // Replaces every field of the user `user.id` but created_at; kNotFound when it is absent.
  virtual Status UpdateUser(const User& user) = 0;
  virtual Status DeleteUser(int64_t id) = 0;

  // Groups. Create fails with kExists when the name or the gid is taken; Delete also removes
  // the group's memberships and share permissions.
  virtual Result<Group> CreateGroup(const Group& group) = 0;
  virtual Result<Group> GetGroup(int64_t id) = 0;
  virtual Result<Group> GetGroupByName(std::string_view name) = 0;
  virtual Result<std::vector<Group>> ListGroups() = 0;
  virtual Status UpdateGroup(const Group& group) = 0;
  virtual Status DeleteGroup(int64_t id) = 0;

  // Memberships. kNotFound when the user or group is absent (or, for RemoveMember, when the
  // user is not a member); AddMember of a member is kExists.
  virtual Status AddMember(int64_t user_id, int64_t group_id) = 0;
  virtual Status RemoveMember(int64_t user_id, int64_t group_id) = 0;
  virtual Result<std::vector<User>> ListMembers(int64_t group_id) = 0;
  virtual Result<std::vector<Group>> GroupsOfUser(int64_t user_id) = 0;

  // Named stores. Create fails with kExists on a taken name; Delete of a store a share still
  // uses fails with kBusy.
  virtual Result<MetadataStoreDef> CreateMetadataStore(const MetadataStoreDef& store) = 0;
  virtual Result<MetadataStoreDef> GetMetadataStore(int64_t id) = 0;
  virtual Result<MetadataStoreDef> GetMetadataStoreByName(std::string_view name) = 0;
  virtual Result<std::vector<MetadataStoreDef>> ListMetadataStores() = 0;
  virtual Status UpdateMetadataStore(const MetadataStoreDef& store) = 0;
  virtual Status DeleteMetadataStore(int64_t id) = 0;

  virtual Result<BlockStoreDef> CreateBlockStore(const BlockStoreDef& store) = 0;
  virtual Result<BlockStoreDef> GetBlockStore(int64_t id) = 0;
  virtual Result<BlockStoreDef> GetBlockStoreByName(std::string_view name) = 0;
  virtual Result<std::vector<BlockStoreDef>> ListBlockStores() = 0;
  virtual Status UpdateBlockStore(const BlockStoreDef& store) = 0;
  virtual Status DeleteBlockStore(int64_t id) = 0;

  // Shares. Create fails with kExists on a taken name and with kInvalid when a store it names
  // does not exist; Delete also removes the share's permissions.
  virtual Result<Share> CreateShare(const Share& share) = 0;
  virtual Result<Share> GetShare(int64_t id) = 0;
  virtual Result<Share> GetShareByName(std::string_view name) = 0;
  virtual Result<std::vector<Share>> ListShares() = 0;
  virtual Status UpdateShare(const Share& share) = 0;
  virtual Status DeleteShare(int64_t id) = 0;

  // Share permissions. Grant sets (or replaces) the subject's level on the share; kNotFound
  // when the share or the subject is absent. Revoke of an absent grant is kNotFound.
  virtual Status Grant(const SharePermission& permission) = 0;
  virtual Status Revoke(int64_t share_id, SubjectKind kind, int64_t subject_id) = 0;
  // The share's grants, users first, then groups, each by subject id.
  virtual Result<std::vector<SharePermission>> ListPermissions(int64_t share_id) = 0;
  // The level `user_id` has on `share_id`: the user's own grant if there is one (even kNone,
  // which denies); else the highest grant among the user's groups; else the share's default.
  // A disabled user gets kNone. kNotFound when the share or the user is absent.
  virtual Result<PermissionLevel> ResolvePermission(int64_t share_id, int64_t user_id) = 0;

  // Adapters, keyed by name. Create fails with kExists on a taken name.
  virtual Result<Adapter> CreateAdapter(const Adapter& adapter) = 0;
  virtual Result<Adapter> GetAdapter(std::string_view name) = 0;
  virtual Result<std::vector<Adapter>> ListAdapters() = 0;
  virtual Status UpdateAdapter(const Adapter& adapter) = 0;
  virtual Status DeleteAdapter(std::string_view name) = 0;

  // Settings: a key/value map. Set creates or replaces.
  virtual Result<std::string> GetSetting(std::string_view key) = 0;
  virtual Status SetSetting(std::string_view key, std::string_view value) = 0;
  virtual Result<std::vector<Setting>> ListSettings() = 0;
  virtual Status DeleteSetting(std::string_view key) = 0;

  // The schema version the database is at. Opening applies every pending migration, so this
  // is kSchemaVersion for an open database.
  virtual Result<int> SchemaVersion() = 0;
  // Applies pending schema migrations in order, each in its own transaction; does nothing when
  // there are none. Fails with kNotSupported when the database is newer than this code.
  virtual Status Migrate() = 0;

  // A backup of every table as JSON, in a stable order: two databases with the same contents
  // export the same text, whatever their backend.
  virtual Result<std::string> ExportJson() = 0;
  // Restores an ExportJson backup, ids included, in one transaction. Fails with kInvalid when
  // the database is not empty, the text is malformed, or its schema version is not ours.
  virtual Status ImportJson(std::string_view json) = 0;
};

// The schema version this code creates and understands.
inline constexpr int kSchemaVersion = 10;

}  // namespace dittofs::controlplane

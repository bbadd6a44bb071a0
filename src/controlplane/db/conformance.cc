// SPDX-License-Identifier: Apache-2.0
#include "controlplane/db/conformance.h"

#include <gmock/gmock.h>

#include <cstdint>
#include <nlohmann/json.hpp>
#include <ostream>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "testing/status_matchers.h"

namespace dittofs::controlplane {

void PrintTo(const ControlDbFactory& factory, std::ostream* os) { *os << factory.name; }

std::string ControlDbFactoryName(const ::testing::TestParamInfo<ControlDbFactory>& info) {
  return info.param.name;
}

void ControlDbConformance::SetUp() {
  database_ = GetParam().make();
  ASSERT_NE(database_, nullptr) << GetParam().name << ": the factory made no database";
  Result<std::unique_ptr<ControlDb>> db = database_->Open();
  ASSERT_TRUE(db.ok()) << GetParam().name << ": open: " << db.status().ToString();
  db_ = std::move(db).value();
}

void ControlDbConformance::TearDown() {
  db_.reset();  // before the database goes away
  database_.reset();
}

void ControlDbConformance::ForgetVersionsFrom9() {
  ForgetVersion10();
  ASSERT_OK(database().ExecForTest("DROP INDEX users_by_kerberos_principal"));
  ASSERT_OK(database().ExecForTest("ALTER TABLE users DROP COLUMN kerberos_principal"));
}

void ControlDbConformance::ForgetVersion10() {
  for (const char* column :
       {"recycle", "recycle_retention_days", "recycle_max_bytes", "recycle_exclude"}) {
    ASSERT_OK(database().ExecForTest(std::string("ALTER TABLE shares DROP COLUMN ") + column));
  }
}

Status ControlDbConformance::Reopen() {
  db_.reset();
  ASSIGN_OR_RETURN(db_, database_->Open());
  return Status::Ok();
}

namespace {

User MakeUser(std::string name, uint32_t uid) {
  User user;
  user.username = std::move(name);
  user.uid = uid;
  user.gid = uid;
  user.email = user.username + "@example.com";
  user.display_name = "User " + user.username;
  user.password_hash = "$argon2id$v=19$" + user.username;
  user.nt_hash = "8846f7eaee8fb117ad06bdd830b7586c";
  return user;
}

StoreDef MakeStore(std::string name, std::string type = "memory") {
  StoreDef store;
  store.name = std::move(name);
  store.type = std::move(type);
  store.config_json = R"({"size":"1GiB"})";
  return store;
}

Share MakeShare(std::string name, int64_t metadata_store_id, int64_t block_store_id) {
  Share share;
  share.name = std::move(name);
  share.metadata_store_id = metadata_store_id;
  share.block_store_id = block_store_id;
  return share;
}

}  // namespace

Status PopulateForTest(ControlDb& db) {
  ASSIGN_OR_RETURN(User alice, db.CreateUser(MakeUser("alice", 1000)));
  User bob_in = MakeUser("bob", 1001);
  bob_in.role = Role::kOperator;
  bob_in.must_change_password = true;
  bob_in.display_name = "Bob \"the builder\" Müller";
  ASSIGN_OR_RETURN(User bob, db.CreateUser(bob_in));
  User carol_in = MakeUser("carol", 1002);
  carol_in.role = Role::kAdmin;
  carol_in.enabled = false;
  carol_in.kerberos_principal = "csmith@EXAMPLE.COM";
  ASSIGN_OR_RETURN(User carol, db.CreateUser(carol_in));
  ASSIGN_OR_RETURN(Group staff, db.CreateGroup(Group{0, "staff", 2000}));
  ASSIGN_OR_RETURN(Group ops, db.CreateGroup(Group{0, "ops", 2001}));
  RETURN_IF_ERROR(db.AddMember(alice.id, staff.id));
  RETURN_IF_ERROR(db.AddMember(bob.id, staff.id));
  RETURN_IF_ERROR(db.AddMember(bob.id, ops.id));
  ASSIGN_OR_RETURN(StoreDef meta, db.CreateMetadataStore(MakeStore("fast-meta")));
  ASSIGN_OR_RETURN(StoreDef blocks, db.CreateBlockStore(MakeStore("s3-blocks", "s3")));
  Share export_in = MakeShare("/export", meta.id, blocks.id);
  export_in.allowed_cidrs = {"10.0.0.0/8", "192.168.1.0/24"};
  export_in.denied_cidrs = {"10.9.0.0/16"};
  export_in.squash = Squash::kAllToAdmin;
  export_in.default_permission = PermissionLevel::kRead;
  export_in.root_mode = 01777;
  export_in.smb_encrypt = true;
  export_in.guest_ok = true;
  export_in.smb_access_based_enumeration = true;
  export_in.continuously_available = true;
  export_in.tls = "required";
  export_in.recycle = true;
  export_in.recycle_retention_days = 30;
  export_in.recycle_max_bytes = uint64_t{INT64_MAX};
  export_in.recycle_exclude = {"*.tmp", "~$*", "caf\u00e9/\"x\"*"};
  ASSIGN_OR_RETURN(Share export_share, db.CreateShare(export_in));
  ASSIGN_OR_RETURN(Share archive, db.CreateShare(MakeShare("/archive", meta.id, blocks.id)));
  RETURN_IF_ERROR(
      db.Grant({export_share.id, SubjectKind::kUser, alice.id, PermissionLevel::kReadWrite}));
  RETURN_IF_ERROR(
      db.Grant({export_share.id, SubjectKind::kGroup, ops.id, PermissionLevel::kAdmin}));
  RETURN_IF_ERROR(db.Grant({archive.id, SubjectKind::kUser, carol.id, PermissionLevel::kNone}));
  RETURN_IF_ERROR(db.Grant({archive.id, SubjectKind::kGroup, staff.id, PermissionLevel::kRead}));
  RETURN_IF_ERROR(db.CreateAdapter(Adapter{"nfs", true, 12049, "127.0.0.1", "{}"}).status());
  RETURN_IF_ERROR(
      db.CreateAdapter(Adapter{"smb", false, 445, "0.0.0.0", R"({"signing":true})"}).status());
  RETURN_IF_ERROR(db.SetSetting("zeta", "last"));
  RETURN_IF_ERROR(db.SetSetting("Alpha", "capital"));
  RETURN_IF_ERROR(db.SetSetting("alpha", "small"));
  return Status::Ok();
}

namespace {

using ::dittofs::testing::StatusIs;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

std::vector<std::string> Usernames(const std::vector<User>& users) {
  std::vector<std::string> out;
  for (const User& u : users) out.push_back(u.username);
  return out;
}

std::vector<std::string> GroupNames(const std::vector<Group>& groups) {
  std::vector<std::string> out;
  for (const Group& g : groups) out.push_back(g.name);
  return out;
}

// --- users ---

TEST_P(ControlDbConformance, CreateGetListUpdateDeleteUser) {
  ASSERT_OK_AND_ASSIGN(User alice, db().CreateUser(MakeUser("alice", 1000)));
  EXPECT_GT(alice.id, 0);
  EXPECT_GT(alice.created_at, 0);
  EXPECT_EQ(alice.updated_at, alice.created_at);
  ASSERT_OK_AND_ASSIGN(User bob, db().CreateUser(MakeUser("bob", 1001)));
  EXPECT_NE(bob.id, alice.id);

  ASSERT_OK_AND_ASSIGN(User got, db().GetUser(alice.id));
  EXPECT_EQ(got, alice);
  ASSERT_OK_AND_ASSIGN(got, db().GetUserByName("bob"));
  EXPECT_EQ(got, bob);
  ASSERT_OK_AND_ASSIGN(std::vector<User> users, db().ListUsers());
  EXPECT_THAT(users, ElementsAre(alice, bob));

  User changed = alice;
  changed.username = "alice2";
  changed.role = Role::kAdmin;
  changed.enabled = false;
  changed.must_change_password = true;
  changed.email = "new@example.com";
  changed.nt_hash = "";
  changed.created_at = 1;  // ignored
  ASSERT_OK(db().UpdateUser(changed));
  ASSERT_OK_AND_ASSIGN(got, db().GetUser(alice.id));
  EXPECT_EQ(got.username, "alice2");
  EXPECT_EQ(got.role, Role::kAdmin);
  EXPECT_FALSE(got.enabled);
  EXPECT_TRUE(got.must_change_password);
  EXPECT_EQ(got.email, "new@example.com");
  EXPECT_EQ(got.nt_hash, "");
  EXPECT_EQ(got.created_at, alice.created_at);
  EXPECT_GE(got.updated_at, alice.updated_at);
  EXPECT_THAT(db().GetUserByName("alice"), StatusIs(Errc::kNotFound));

  ASSERT_OK(db().DeleteUser(alice.id));
  EXPECT_THAT(db().GetUser(alice.id), StatusIs(Errc::kNotFound));
  ASSERT_OK_AND_ASSIGN(users, db().ListUsers());
  EXPECT_THAT(users, ElementsAre(bob));
}

TEST_P(ControlDbConformance, DuplicateUsernameOrUidIsExists) {
  ASSERT_OK_AND_ASSIGN(User alice, db().CreateUser(MakeUser("alice", 1000)));
  EXPECT_THAT(db().CreateUser(MakeUser("alice", 1005)), StatusIs(Errc::kExists));
  EXPECT_THAT(db().CreateUser(MakeUser("other", 1000)), StatusIs(Errc::kExists));
  ASSERT_OK_AND_ASSIGN(User bob, db().CreateUser(MakeUser("bob", 1001)));
  bob.username = "alice";
  EXPECT_THAT(db().UpdateUser(bob), StatusIs(Errc::kExists));
  // Names compare byte for byte.
  EXPECT_OK(db().CreateUser(MakeUser("Alice", 1002)));
  ASSERT_OK_AND_ASSIGN(std::vector<User> users, db().ListUsers());
  EXPECT_THAT(Usernames(users), ElementsAre("alice", "bob", "Alice"));
}

// A Kerberos principal is kept, one user's only (empty ones do not clash), and must look like
// one.
TEST_P(ControlDbConformance, KerberosPrincipalIsKeptUniqueAndChecked) {
  User alice = MakeUser("alice", 1000);
  alice.kerberos_principal = "asmith@EXAMPLE.COM";
  ASSERT_OK_AND_ASSIGN(alice, db().CreateUser(alice));
  ASSERT_OK_AND_ASSIGN(User got, db().GetUserByName("alice"));
  EXPECT_EQ(got.kerberos_principal, "asmith@EXAMPLE.COM");
  ASSERT_OK_AND_ASSIGN(User bob, db().CreateUser(MakeUser("bob", 1001)));
  ASSERT_OK(db().CreateUser(MakeUser("carol", 1002)).status());  // two empty principals
  bob.kerberos_principal = "asmith@EXAMPLE.COM";
  EXPECT_THAT(db().UpdateUser(bob), StatusIs(Errc::kExists));
  User dave = MakeUser("dave", 1003);
  dave.kerberos_principal = "asmith@EXAMPLE.COM";
  EXPECT_THAT(db().CreateUser(dave), StatusIs(Errc::kExists));
  for (const char* bad : {"asmith", "@EXAMPLE.COM", "asmith@", "a smith@EXAMPLE.COM"}) {
    bob.kerberos_principal = bad;
    EXPECT_THAT(db().UpdateUser(bob), StatusIs(Errc::kInvalid)) << bad;
  }
  bob.kerberos_principal = "bob/admin@EXAMPLE.COM";
  ASSERT_OK(db().UpdateUser(bob));
  ASSERT_OK_AND_ASSIGN(got, db().GetUser(bob.id));
  EXPECT_EQ(got.kerberos_principal, "bob/admin@EXAMPLE.COM");
  alice.kerberos_principal = "";
  ASSERT_OK(db().UpdateUser(alice));
  ASSERT_OK_AND_ASSIGN(got, db().GetUser(alice.id));
  EXPECT_EQ(got.kerberos_principal, "");
}

TEST_P(ControlDbConformance, MissingUserIsNotFound) {
  EXPECT_THAT(db().GetUser(42), StatusIs(Errc::kNotFound));
  EXPECT_THAT(db().GetUserByName("nobody"), StatusIs(Errc::kNotFound));
  User ghost = MakeUser("ghost", 7);
  ghost.id = 42;
  EXPECT_THAT(db().UpdateUser(ghost), StatusIs(Errc::kNotFound));
  EXPECT_THAT(db().DeleteUser(42), StatusIs(Errc::kNotFound));
  EXPECT_THAT(db().CreateUser(MakeUser("", 7)), StatusIs(Errc::kInvalid));
}

TEST_P(ControlDbConformance, IdsAreNeverReused) {
  ASSERT_OK_AND_ASSIGN(User a, db().CreateUser(MakeUser("a", 1)));
  ASSERT_OK(db().DeleteUser(a.id));
  ASSERT_OK_AND_ASSIGN(User b, db().CreateUser(MakeUser("b", 2)));
  EXPECT_GT(b.id, a.id);
}

// --- groups and memberships ---

TEST_P(ControlDbConformance, GroupCrudAndDuplicates) {
  ASSERT_OK_AND_ASSIGN(Group staff, db().CreateGroup(Group{0, "staff", 100}));
  EXPECT_GT(staff.id, 0);
  EXPECT_THAT(db().CreateGroup(Group{0, "staff", 101}), StatusIs(Errc::kExists));
  EXPECT_THAT(db().CreateGroup(Group{0, "other", 100}), StatusIs(Errc::kExists));
  ASSERT_OK_AND_ASSIGN(Group ops, db().CreateGroup(Group{0, "ops", 101}));
  EXPECT_THAT(db().GetGroup(staff.id), ::testing::Property(&Result<Group>::value, staff));
  ASSERT_OK_AND_ASSIGN(Group got, db().GetGroupByName("ops"));
  EXPECT_EQ(got, ops);
  ASSERT_OK_AND_ASSIGN(std::vector<Group> groups, db().ListGroups());
  EXPECT_THAT(groups, ElementsAre(staff, ops));

  ops.name = "operators";
  ops.gid = 202;
  ASSERT_OK(db().UpdateGroup(ops));
  ASSERT_OK_AND_ASSIGN(got, db().GetGroup(ops.id));
  EXPECT_EQ(got, ops);
  ops.name = "staff";
  EXPECT_THAT(db().UpdateGroup(ops), StatusIs(Errc::kExists));
  EXPECT_THAT(db().UpdateGroup(Group{99, "x", 5}), StatusIs(Errc::kNotFound));

  ASSERT_OK(db().DeleteGroup(staff.id));
  EXPECT_THAT(db().GetGroup(staff.id), StatusIs(Errc::kNotFound));
  EXPECT_THAT(db().GetGroupByName("staff"), StatusIs(Errc::kNotFound));
  EXPECT_THAT(db().DeleteGroup(staff.id), StatusIs(Errc::kNotFound));
}

TEST_P(ControlDbConformance, Memberships) {
  ASSERT_OK_AND_ASSIGN(User alice, db().CreateUser(MakeUser("alice", 1000)));
  ASSERT_OK_AND_ASSIGN(User bob, db().CreateUser(MakeUser("bob", 1001)));
  ASSERT_OK_AND_ASSIGN(Group staff, db().CreateGroup(Group{0, "staff", 100}));
  ASSERT_OK_AND_ASSIGN(Group ops, db().CreateGroup(Group{0, "ops", 101}));

  ASSERT_OK(db().AddMember(bob.id, staff.id));
  ASSERT_OK(db().AddMember(alice.id, staff.id));
  ASSERT_OK(db().AddMember(alice.id, ops.id));
  EXPECT_THAT(db().AddMember(alice.id, ops.id), StatusIs(Errc::kExists));
  EXPECT_THAT(db().AddMember(99, ops.id), StatusIs(Errc::kNotFound));
  EXPECT_THAT(db().AddMember(alice.id, 99), StatusIs(Errc::kNotFound));

  ASSERT_OK_AND_ASSIGN(std::vector<User> members, db().ListMembers(staff.id));
  EXPECT_THAT(Usernames(members), ElementsAre("alice", "bob"));
  ASSERT_OK_AND_ASSIGN(std::vector<Group> groups, db().GroupsOfUser(alice.id));
  EXPECT_THAT(GroupNames(groups), ElementsAre("staff", "ops"));
  EXPECT_THAT(db().ListMembers(99), StatusIs(Errc::kNotFound));
  EXPECT_THAT(db().GroupsOfUser(99), StatusIs(Errc::kNotFound));

  ASSERT_OK(db().RemoveMember(alice.id, staff.id));
  EXPECT_THAT(db().RemoveMember(alice.id, staff.id), StatusIs(Errc::kNotFound));
  ASSERT_OK_AND_ASSIGN(groups, db().GroupsOfUser(alice.id));
  EXPECT_THAT(GroupNames(groups), ElementsAre("ops"));
}

TEST_P(ControlDbConformance, DeletingUserOrGroupRemovesMembershipsAndGrants) {
  ASSERT_OK_AND_ASSIGN(User alice, db().CreateUser(MakeUser("alice", 1000)));
  ASSERT_OK_AND_ASSIGN(User bob, db().CreateUser(MakeUser("bob", 1001)));
  ASSERT_OK_AND_ASSIGN(Group staff, db().CreateGroup(Group{0, "staff", 100}));
  ASSERT_OK_AND_ASSIGN(Group ops, db().CreateGroup(Group{0, "ops", 101}));
  ASSERT_OK_AND_ASSIGN(StoreDef meta, db().CreateMetadataStore(MakeStore("m")));
  ASSERT_OK_AND_ASSIGN(StoreDef blocks, db().CreateBlockStore(MakeStore("b")));
  ASSERT_OK_AND_ASSIGN(Share share, db().CreateShare(MakeShare("/s", meta.id, blocks.id)));
  ASSERT_OK(db().AddMember(alice.id, staff.id));
  ASSERT_OK(db().AddMember(bob.id, staff.id));
  ASSERT_OK(db().AddMember(bob.id, ops.id));
  ASSERT_OK(db().Grant({share.id, SubjectKind::kUser, alice.id, PermissionLevel::kRead}));
  ASSERT_OK(db().Grant({share.id, SubjectKind::kUser, bob.id, PermissionLevel::kRead}));
  ASSERT_OK(db().Grant({share.id, SubjectKind::kGroup, staff.id, PermissionLevel::kRead}));
  ASSERT_OK(db().Grant({share.id, SubjectKind::kGroup, ops.id, PermissionLevel::kRead}));

  ASSERT_OK(db().DeleteUser(alice.id));
  ASSERT_OK(db().DeleteGroup(ops.id));
  ASSERT_OK_AND_ASSIGN(std::vector<User> members, db().ListMembers(staff.id));
  EXPECT_THAT(Usernames(members), ElementsAre("bob"));
  ASSERT_OK_AND_ASSIGN(std::vector<Group> groups, db().GroupsOfUser(bob.id));
  EXPECT_THAT(GroupNames(groups), ElementsAre("staff"));
  ASSERT_OK_AND_ASSIGN(std::vector<SharePermission> grants, db().ListPermissions(share.id));
  EXPECT_THAT(
      grants,
      ElementsAre(
          SharePermission{share.id, SubjectKind::kUser, bob.id, PermissionLevel::kRead},
          SharePermission{share.id, SubjectKind::kGroup, staff.id, PermissionLevel::kRead}));
  // A new user that happens to reuse nothing sees no stale grant either.
  ASSERT_OK_AND_ASSIGN(User dave, db().CreateUser(MakeUser("dave", 1003)));
  EXPECT_THAT(db().ResolvePermission(share.id, dave.id),
              ::testing::Property(&Result<PermissionLevel>::value, PermissionLevel::kNone));
}

// --- stores ---

TEST_P(ControlDbConformance, StoreCrud) {
  for (bool metadata : {true, false}) {
    SCOPED_TRACE(metadata ? "metadata" : "block");
    auto create = [&](const StoreDef& s) {
      return metadata ? db().CreateMetadataStore(s) : db().CreateBlockStore(s);
    };
    auto get = [&](int64_t id) {
      return metadata ? db().GetMetadataStore(id) : db().GetBlockStore(id);
    };
    auto get_by_name = [&](std::string_view name) {
      return metadata ? db().GetMetadataStoreByName(name) : db().GetBlockStoreByName(name);
    };
    auto list = [&] { return metadata ? db().ListMetadataStores() : db().ListBlockStores(); };
    auto update = [&](const StoreDef& s) {
      return metadata ? db().UpdateMetadataStore(s) : db().UpdateBlockStore(s);
    };
    auto remove = [&](int64_t id) {
      return metadata ? db().DeleteMetadataStore(id) : db().DeleteBlockStore(id);
    };

    ASSERT_OK_AND_ASSIGN(StoreDef one, create(MakeStore("one")));
    ASSERT_OK_AND_ASSIGN(StoreDef two, create(MakeStore("two", "badger")));
    EXPECT_THAT(create(MakeStore("one")), StatusIs(Errc::kExists));
    StoreDef bad = MakeStore("bad");
    bad.config_json = "{not json";
    EXPECT_THAT(create(bad), StatusIs(Errc::kInvalid));
    ASSERT_OK_AND_ASSIGN(StoreDef got, get(one.id));
    EXPECT_EQ(got, one);
    ASSERT_OK_AND_ASSIGN(got, get_by_name("two"));
    EXPECT_EQ(got, two);
    ASSERT_OK_AND_ASSIGN(std::vector<StoreDef> stores, list());
    EXPECT_THAT(stores, ElementsAre(one, two));

    two.config_json = R"({"path":"/var/lib/dfs"})";
    two.type = "localfs";
    ASSERT_OK(update(two));
    ASSERT_OK_AND_ASSIGN(got, get(two.id));
    EXPECT_EQ(got, two);
    two.name = "one";
    EXPECT_THAT(update(two), StatusIs(Errc::kExists));
    StoreDef ghost = MakeStore("ghost");
    ghost.id = 999;
    EXPECT_THAT(update(ghost), StatusIs(Errc::kNotFound));

    ASSERT_OK(remove(one.id));
    EXPECT_THAT(remove(one.id), StatusIs(Errc::kNotFound));
    EXPECT_THAT(get(one.id), StatusIs(Errc::kNotFound));
    EXPECT_THAT(get_by_name("one"), StatusIs(Errc::kNotFound));
  }
}

TEST_P(ControlDbConformance, MetadataAndBlockStoreNamesAreSeparate) {
  EXPECT_OK(db().CreateMetadataStore(MakeStore("same")));
  EXPECT_OK(db().CreateBlockStore(MakeStore("same")));
}

TEST_P(ControlDbConformance, DeletingStoreInUseIsBusy) {
  ASSERT_OK_AND_ASSIGN(StoreDef meta, db().CreateMetadataStore(MakeStore("m")));
  ASSERT_OK_AND_ASSIGN(StoreDef blocks, db().CreateBlockStore(MakeStore("b")));
  ASSERT_OK_AND_ASSIGN(Share share, db().CreateShare(MakeShare("/export", meta.id, blocks.id)));
  Status status = db().DeleteMetadataStore(meta.id);
  EXPECT_THAT(status, StatusIs(Errc::kBusy));
  EXPECT_THAT(status.message(), HasSubstr("/export"));
  EXPECT_THAT(db().DeleteBlockStore(blocks.id), StatusIs(Errc::kBusy));
  EXPECT_OK(db().GetMetadataStore(meta.id));

  ASSERT_OK(db().DeleteShare(share.id));
  EXPECT_OK(db().DeleteMetadataStore(meta.id));
  EXPECT_OK(db().DeleteBlockStore(blocks.id));
}

// --- shares ---

TEST_P(ControlDbConformance, ShareCrudKeepsEveryField) {
  ASSERT_OK_AND_ASSIGN(StoreDef meta, db().CreateMetadataStore(MakeStore("m")));
  ASSERT_OK_AND_ASSIGN(StoreDef meta2, db().CreateMetadataStore(MakeStore("m2")));
  ASSERT_OK_AND_ASSIGN(StoreDef blocks, db().CreateBlockStore(MakeStore("b")));
  Share in = MakeShare("/export", meta.id, blocks.id);
  in.read_only = true;
  in.squash = Squash::kAllToGuest;
  in.anon_uid = 4242;
  in.anon_gid = 4343;
  in.allowed_cidrs = {"10.0.0.0/8", "::1/128"};
  in.denied_cidrs = {"10.1.0.0/16"};
  in.default_permission = PermissionLevel::kReadWrite;
  in.root_mode = 02775;
  in.names = NameRules::kWindows;
  in.smb_encrypt = true;
  in.smb_require_signing = true;
  in.guest_ok = true;
  in.smb_access_based_enumeration = true;
  in.continuously_available = true;
  in.tls = "opportunistic";
  in.recycle = true;
  in.recycle_retention_days = 4000000000u;
  in.recycle_max_bytes = uint64_t{10} << 40;
  in.recycle_exclude = {"*.tmp", "build/*", "a,b"};
  ASSERT_OK_AND_ASSIGN(Share share, db().CreateShare(in));
  EXPECT_GT(share.id, 0);
  in.id = share.id;
  EXPECT_EQ(share, in);
  ASSERT_OK_AND_ASSIGN(Share got, db().GetShare(share.id));
  EXPECT_EQ(got, in);
  ASSERT_OK_AND_ASSIGN(got, db().GetShareByName("/export"));
  EXPECT_EQ(got, in);

  EXPECT_THAT(db().CreateShare(MakeShare("/export", meta.id, blocks.id)), StatusIs(Errc::kExists));
  EXPECT_THAT(db().CreateShare(MakeShare("/x", 999, blocks.id)), StatusIs(Errc::kInvalid));
  EXPECT_THAT(db().CreateShare(MakeShare("/x", meta.id, 999)), StatusIs(Errc::kInvalid));
  ASSERT_OK_AND_ASSIGN(Share other, db().CreateShare(MakeShare("/other", meta.id, blocks.id)));
  ASSERT_OK_AND_ASSIGN(std::vector<Share> shares, db().ListShares());
  EXPECT_THAT(shares, ElementsAre(in, other));

  Share changed = in;
  changed.name = "/renamed";
  changed.metadata_store_id = meta2.id;
  changed.allowed_cidrs.clear();
  changed.squash = Squash::kNone;
  changed.smb_encrypt = false;
  changed.guest_ok = false;
  changed.smb_access_based_enumeration = false;
  changed.continuously_available = false;
  changed.tls = "required";
  changed.recycle = false;
  changed.recycle_retention_days = 7;
  changed.recycle_max_bytes = 0;
  changed.recycle_exclude = {"~$*"};
  ASSERT_OK(db().UpdateShare(changed));
  ASSERT_OK_AND_ASSIGN(got, db().GetShare(share.id));
  EXPECT_EQ(got, changed);
  changed.smb_require_signing = false;
  changed.smb_encrypt = true;
  ASSERT_OK(db().UpdateShare(changed));
  ASSERT_OK_AND_ASSIGN(got, db().GetShare(share.id));
  EXPECT_EQ(got, changed);
  changed.recycle_exclude.clear();
  ASSERT_OK(db().UpdateShare(changed));
  ASSERT_OK_AND_ASSIGN(got, db().GetShare(share.id));
  EXPECT_EQ(got, changed);
  // recycle_max_bytes is kept in a signed 64-bit column.
  changed.recycle_max_bytes = uint64_t{INT64_MAX} + 1;
  EXPECT_THAT(db().UpdateShare(changed), StatusIs(Errc::kInvalid));
  Share too_big = MakeShare("/big", meta.id, blocks.id);
  too_big.recycle_max_bytes = UINT64_MAX;
  EXPECT_THAT(db().CreateShare(too_big), StatusIs(Errc::kInvalid));
  changed.recycle_max_bytes = uint64_t{INT64_MAX};
  ASSERT_OK(db().UpdateShare(changed));
  ASSERT_OK_AND_ASSIGN(got, db().GetShare(share.id));
  EXPECT_EQ(got, changed);
  changed.name = "/other";
  EXPECT_THAT(db().UpdateShare(changed), StatusIs(Errc::kExists));
  changed.name = "/renamed";
  changed.block_store_id = 999;
  EXPECT_THAT(db().UpdateShare(changed), StatusIs(Errc::kInvalid));
  changed.id = 999;
  EXPECT_THAT(db().UpdateShare(changed), StatusIs(Errc::kNotFound));

  ASSERT_OK(db().DeleteShare(share.id));
  EXPECT_THAT(db().DeleteShare(share.id), StatusIs(Errc::kNotFound));
  EXPECT_THAT(db().GetShare(share.id), StatusIs(Errc::kNotFound));
  EXPECT_THAT(db().GetShareByName("/renamed"), StatusIs(Errc::kNotFound));
}

// --- permissions ---

class Fixture {
 public:
  static Status Make(ControlDb& db, Fixture* f) {
    ASSIGN_OR_RETURN(f->alice, db.CreateUser(MakeUser("alice", 1000)));
    ASSIGN_OR_RETURN(f->staff, db.CreateGroup(Group{0, "staff", 100}));
    ASSIGN_OR_RETURN(f->ops, db.CreateGroup(Group{0, "ops", 101}));
    ASSIGN_OR_RETURN(StoreDef meta, db.CreateMetadataStore(MakeStore("m")));
    ASSIGN_OR_RETURN(StoreDef blocks, db.CreateBlockStore(MakeStore("b")));
    Share share = MakeShare("/export", meta.id, blocks.id);
    share.default_permission = PermissionLevel::kRead;
    ASSIGN_OR_RETURN(f->share, db.CreateShare(share));
    return Status::Ok();
  }
  User alice;
  Group staff;
  Group ops;
  Share share;
};

TEST_P(ControlDbConformance, GrantRevokeAndList) {
  Fixture f;
  ASSERT_OK(Fixture::Make(db(), &f));
  ASSERT_OK_AND_ASSIGN(std::vector<SharePermission> grants, db().ListPermissions(f.share.id));
  EXPECT_THAT(grants, IsEmpty());

  ASSERT_OK(db().Grant({f.share.id, SubjectKind::kGroup, f.ops.id, PermissionLevel::kAdmin}));
  ASSERT_OK(db().Grant({f.share.id, SubjectKind::kUser, f.alice.id, PermissionLevel::kRead}));
  ASSERT_OK(db().Grant({f.share.id, SubjectKind::kGroup, f.staff.id, PermissionLevel::kRead}));
  // Granting again replaces the level.
  ASSERT_OK(db().Grant({f.share.id, SubjectKind::kUser, f.alice.id, PermissionLevel::kReadWrite}));
  ASSERT_OK_AND_ASSIGN(grants, db().ListPermissions(f.share.id));
  EXPECT_THAT(
      grants,
      ElementsAre(
          SharePermission{f.share.id, SubjectKind::kUser, f.alice.id, PermissionLevel::kReadWrite},
          SharePermission{f.share.id, SubjectKind::kGroup, f.staff.id, PermissionLevel::kRead},
          SharePermission{f.share.id, SubjectKind::kGroup, f.ops.id, PermissionLevel::kAdmin}));

  EXPECT_THAT(db().Grant({999, SubjectKind::kUser, f.alice.id, PermissionLevel::kRead}),
              StatusIs(Errc::kNotFound));
  EXPECT_THAT(db().Grant({f.share.id, SubjectKind::kUser, 999, PermissionLevel::kRead}),
              StatusIs(Errc::kNotFound));
  EXPECT_THAT(db().Grant({f.share.id, SubjectKind::kGroup, 999, PermissionLevel::kRead}),
              StatusIs(Errc::kNotFound));
  EXPECT_THAT(db().ListPermissions(999), StatusIs(Errc::kNotFound));

  ASSERT_OK(db().Revoke(f.share.id, SubjectKind::kGroup, f.staff.id));
  EXPECT_THAT(db().Revoke(f.share.id, SubjectKind::kGroup, f.staff.id), StatusIs(Errc::kNotFound));
  // A user and a group with the same id are different subjects.
  EXPECT_THAT(db().Revoke(f.share.id, SubjectKind::kGroup, f.alice.id), StatusIs(Errc::kNotFound));
  ASSERT_OK_AND_ASSIGN(grants, db().ListPermissions(f.share.id));
  EXPECT_EQ(grants.size(), 2u);

  // Deleting the share deletes its grants.
  ASSERT_OK(db().DeleteShare(f.share.id));
  ASSERT_OK_AND_ASSIGN(StoreDef meta, db().GetMetadataStoreByName("m"));
  ASSERT_OK_AND_ASSIGN(StoreDef blocks, db().GetBlockStoreByName("b"));
  ASSERT_OK_AND_ASSIGN(Share again, db().CreateShare(MakeShare("/export", meta.id, blocks.id)));
  ASSERT_OK_AND_ASSIGN(grants, db().ListPermissions(again.id));
  EXPECT_THAT(grants, IsEmpty());
}

TEST_P(ControlDbConformance, ResolvePermissionOrder) {
  Fixture f;
  ASSERT_OK(Fixture::Make(db(), &f));
  auto resolve = [&] { return db().ResolvePermission(f.share.id, f.alice.id); };
  auto level = [](PermissionLevel l) {
    return ::testing::Property(&Result<PermissionLevel>::value, l);
  };
  // No grants: the share's default.
  EXPECT_THAT(resolve(), level(PermissionLevel::kRead));
  // A group grant applies only to members.
  ASSERT_OK(db().Grant({f.share.id, SubjectKind::kGroup, f.ops.id, PermissionLevel::kAdmin}));
  EXPECT_THAT(resolve(), level(PermissionLevel::kRead));
  // The highest of the user's groups wins, even over a more generous default.
  ASSERT_OK(db().Grant({f.share.id, SubjectKind::kGroup, f.staff.id, PermissionLevel::kNone}));
  ASSERT_OK(db().AddMember(f.alice.id, f.staff.id));
  EXPECT_THAT(resolve(), level(PermissionLevel::kNone));
  ASSERT_OK(db().AddMember(f.alice.id, f.ops.id));
  EXPECT_THAT(resolve(), level(PermissionLevel::kAdmin));
  // The user's own grant beats the groups, even when it is lower (kNone denies).
  ASSERT_OK(db().Grant({f.share.id, SubjectKind::kUser, f.alice.id, PermissionLevel::kNone}));
  EXPECT_THAT(resolve(), level(PermissionLevel::kNone));
  ASSERT_OK(db().Grant({f.share.id, SubjectKind::kUser, f.alice.id, PermissionLevel::kReadWrite}));
  EXPECT_THAT(resolve(), level(PermissionLevel::kReadWrite));
  // A disabled user has no access at all.
  User disabled = f.alice;
  disabled.enabled = false;
  ASSERT_OK(db().UpdateUser(disabled));
  EXPECT_THAT(resolve(), level(PermissionLevel::kNone));

  EXPECT_THAT(db().ResolvePermission(999, f.alice.id), StatusIs(Errc::kNotFound));
  EXPECT_THAT(db().ResolvePermission(f.share.id, 999), StatusIs(Errc::kNotFound));
}

// --- adapters and settings ---

TEST_P(ControlDbConformance, AdapterCrud) {
  Adapter nfs{"nfs", true, 2049, "0.0.0.0", R"({"threads":8})"};
  Adapter smb{"smb", false, 445, "::", "{}"};
  ASSERT_OK_AND_ASSIGN(Adapter created, db().CreateAdapter(smb));
  EXPECT_EQ(created, smb);
  ASSERT_OK(db().CreateAdapter(nfs).status());
  EXPECT_THAT(db().CreateAdapter(nfs), StatusIs(Errc::kExists));
  EXPECT_THAT(db().CreateAdapter(Adapter{"x", true, 70000, "", "{}"}), StatusIs(Errc::kInvalid));
  ASSERT_OK_AND_ASSIGN(Adapter got, db().GetAdapter("nfs"));
  EXPECT_EQ(got, nfs);
  ASSERT_OK_AND_ASSIGN(std::vector<Adapter> adapters, db().ListAdapters());
  EXPECT_THAT(adapters, ElementsAre(nfs, smb));

  nfs.enabled = false;
  nfs.port = 12049;
  nfs.bind_address = "127.0.0.1";
  ASSERT_OK(db().UpdateAdapter(nfs));
  ASSERT_OK_AND_ASSIGN(got, db().GetAdapter("nfs"));
  EXPECT_EQ(got, nfs);
  EXPECT_THAT(db().UpdateAdapter(Adapter{"ftp", true, 21, "", "{}"}), StatusIs(Errc::kNotFound));

  ASSERT_OK(db().DeleteAdapter("nfs"));
  EXPECT_THAT(db().DeleteAdapter("nfs"), StatusIs(Errc::kNotFound));
  EXPECT_THAT(db().GetAdapter("nfs"), StatusIs(Errc::kNotFound));
}

TEST_P(ControlDbConformance, Settings) {
  EXPECT_THAT(db().GetSetting("missing"), StatusIs(Errc::kNotFound));
  ASSERT_OK(db().SetSetting("b", "2"));
  ASSERT_OK(db().SetSetting("a", "1"));
  ASSERT_OK(db().SetSetting("B", "upper"));
  ASSERT_OK(db().SetSetting("a", "one"));
  ASSERT_OK(db().SetSetting("empty", ""));
  EXPECT_THAT(db().GetSetting("a"), ::testing::Property(&Result<std::string>::value, "one"));
  EXPECT_THAT(db().GetSetting("empty"), ::testing::Property(&Result<std::string>::value, ""));
  ASSERT_OK_AND_ASSIGN(std::vector<Setting> settings, db().ListSettings());
  EXPECT_THAT(settings, ElementsAre(Setting{"B", "upper"}, Setting{"a", "one"}, Setting{"b", "2"},
                                    Setting{"empty", ""}));
  ASSERT_OK(db().DeleteSetting("a"));
  EXPECT_THAT(db().DeleteSetting("a"), StatusIs(Errc::kNotFound));
  EXPECT_THAT(db().GetSetting("a"), StatusIs(Errc::kNotFound));
  EXPECT_THAT(db().SetSetting("", "x"), StatusIs(Errc::kInvalid));
}

// --- schema ---

TEST_P(ControlDbConformance, MigrationsAreIdempotentAndSurviveReopen) {
  EXPECT_THAT(db().SchemaVersion(), ::testing::Property(&Result<int>::value, kSchemaVersion));
  ASSERT_OK(db().Migrate());
  ASSERT_OK(db().Migrate());
  ASSERT_OK(db().SetSetting("kept", "yes"));
  ASSERT_OK(Reopen());
  EXPECT_THAT(db().SchemaVersion(), ::testing::Property(&Result<int>::value, kSchemaVersion));
  EXPECT_THAT(db().GetSetting("kept"), ::testing::Property(&Result<std::string>::value, "yes"));
}

TEST_P(ControlDbConformance, MigrationToVersion9GivesUsersNoKerberosPrincipal) {
  ASSERT_OK_AND_ASSIGN(User alice, db().CreateUser(MakeUser("alice", 1000)));
  ForgetVersionsFrom9();
  ASSERT_OK(database().ExecForTest("DELETE FROM schema_migrations WHERE version >= 9"));
  ASSERT_OK(Reopen());
  EXPECT_THAT(db().SchemaVersion(), ::testing::Property(&Result<int>::value, kSchemaVersion));
  ASSERT_OK_AND_ASSIGN(User migrated, db().GetUser(alice.id));
  EXPECT_EQ(migrated.kerberos_principal, "");
  EXPECT_EQ(migrated.nt_hash, alice.nt_hash);
  migrated.kerberos_principal = "alice@EXAMPLE.COM";
  ASSERT_OK(db().UpdateUser(migrated));
  User bob = MakeUser("bob", 1001);
  bob.kerberos_principal = "alice@EXAMPLE.COM";
  EXPECT_THAT(db().CreateUser(bob), StatusIs(Errc::kExists));  // the index is back too
}

TEST_P(ControlDbConformance, MigrationToVersion3KeepsSharesAndGivesThemPosixNames) {
  ASSERT_OK_AND_ASSIGN(StoreDef meta, db().CreateMetadataStore(MakeStore("m")));
  ASSERT_OK_AND_ASSIGN(StoreDef blocks, db().CreateBlockStore(MakeStore("b")));
  Share in = MakeShare("/export", meta.id, blocks.id);
  in.read_only = true;
  ASSERT_OK_AND_ASSIGN(Share share, db().CreateShare(in));
  // Back to schema version 2, as a database written before name rules were: no column, and
  // no record of migration 3 (nor of the later ones).
  for (const char* column :
       {"names", "smb_encrypt", "smb_require_signing", "guest_ok", "smb_access_based_enumeration",
        "continuously_available", "tls", "security"}) {
    ASSERT_OK(database().ExecForTest(std::string("ALTER TABLE shares DROP COLUMN ") + column));
  }
  ForgetVersionsFrom9();
  ASSERT_OK(database().ExecForTest("DELETE FROM schema_migrations WHERE version >= 3"));
  ASSERT_OK(Reopen());
  EXPECT_THAT(db().SchemaVersion(), ::testing::Property(&Result<int>::value, kSchemaVersion));
  ASSERT_OK_AND_ASSIGN(Share got, db().GetShare(share.id));
  EXPECT_EQ(got.names, NameRules::kPosix);
  EXPECT_TRUE(got.read_only);
  EXPECT_EQ(got.name, "/export");
}

TEST_P(ControlDbConformance, MigrationToVersion4KeepsSharesAndGivesThemNoSmbOptions) {
  ASSERT_OK_AND_ASSIGN(StoreDef meta, db().CreateMetadataStore(MakeStore("m")));
  ASSERT_OK_AND_ASSIGN(StoreDef blocks, db().CreateBlockStore(MakeStore("b")));
  Share in = MakeShare("/export", meta.id, blocks.id);
  in.names = NameRules::kWindows;
  in.anon_uid = 4242;
  ASSERT_OK_AND_ASSIGN(Share share, db().CreateShare(in));
  // Back to schema version 3, as a database written before the per-share SMB options were.
  for (const char* column :
       {"smb_encrypt", "smb_require_signing", "guest_ok", "smb_access_based_enumeration",
        "continuously_available", "tls", "security"}) {
    ASSERT_OK(database().ExecForTest(std::string("ALTER TABLE shares DROP COLUMN ") + column));
  }
  ForgetVersionsFrom9();
  ASSERT_OK(database().ExecForTest("DELETE FROM schema_migrations WHERE version >= 4"));
  ASSERT_OK(Reopen());
  EXPECT_THAT(db().SchemaVersion(), ::testing::Property(&Result<int>::value, kSchemaVersion));
  ASSERT_OK_AND_ASSIGN(Share got, db().GetShare(share.id));
  // Off, as the server behaved before: no share encrypts, requires signing or admits guests.
  EXPECT_FALSE(got.smb_encrypt);
  EXPECT_FALSE(got.smb_require_signing);
  EXPECT_FALSE(got.guest_ok);
  EXPECT_EQ(got.names, NameRules::kWindows);
  EXPECT_EQ(got.anon_uid, 4242u);
  got.guest_ok = true;
  ASSERT_OK(db().UpdateShare(got));
  ASSERT_OK_AND_ASSIGN(Share again, db().GetShare(share.id));
  EXPECT_TRUE(again.guest_ok);
  EXPECT_FALSE(again.smb_access_based_enumeration);
  again.smb_access_based_enumeration = true;
  ASSERT_OK(db().UpdateShare(again));
  ASSERT_OK_AND_ASSIGN(Share abe, db().GetShare(share.id));
  EXPECT_TRUE(abe.smb_access_based_enumeration);
  EXPECT_FALSE(abe.continuously_available);
  abe.continuously_available = true;
  ASSERT_OK(db().UpdateShare(abe));
  ASSERT_OK_AND_ASSIGN(Share ca, db().GetShare(share.id));
  EXPECT_TRUE(ca.continuously_available);
  EXPECT_EQ(ca.tls, "off");
}

TEST_P(ControlDbConformance, MigrationToVersion7GivesSharesNoTls) {
  ASSERT_OK_AND_ASSIGN(StoreDef meta, db().CreateMetadataStore(MakeStore("m")));
  ASSERT_OK_AND_ASSIGN(StoreDef blocks, db().CreateBlockStore(MakeStore("b")));
  Share in = MakeShare("/export", meta.id, blocks.id);
  in.continuously_available = true;
  ASSERT_OK_AND_ASSIGN(Share share, db().CreateShare(in));
  // Back to schema version 6, as a database written before NFS over TLS was.
  for (const char* column : {"tls", "security"}) {
    ASSERT_OK(database().ExecForTest(std::string("ALTER TABLE shares DROP COLUMN ") + column));
  }
  ForgetVersionsFrom9();
  ASSERT_OK(database().ExecForTest("DELETE FROM schema_migrations WHERE version >= 7"));
  ASSERT_OK(Reopen());
  ASSERT_OK_AND_ASSIGN(Share migrated, db().GetShare(share.id));
  EXPECT_TRUE(migrated.continuously_available);
  EXPECT_EQ(migrated.tls, "off");
  migrated.tls = "required";
  ASSERT_OK(db().UpdateShare(migrated));
  ASSERT_OK_AND_ASSIGN(Share required, db().GetShare(share.id));
  EXPECT_EQ(required.tls, "required");
}

TEST_P(ControlDbConformance, MigrationToVersion8GivesSharesAuthSys) {
  ASSERT_OK_AND_ASSIGN(StoreDef meta, db().CreateMetadataStore(MakeStore("m")));
  ASSERT_OK_AND_ASSIGN(StoreDef blocks, db().CreateBlockStore(MakeStore("b")));
  Share in = MakeShare("/export", meta.id, blocks.id);
  in.tls = "required";
  ASSERT_OK_AND_ASSIGN(Share share, db().CreateShare(in));
  // Back to schema version 7, as a database written before the NFS security flavors were.
  ASSERT_OK(database().ExecForTest("ALTER TABLE shares DROP COLUMN security"));
  ForgetVersionsFrom9();
  ASSERT_OK(database().ExecForTest("DELETE FROM schema_migrations WHERE version >= 8"));
  ASSERT_OK(Reopen());
  ASSERT_OK_AND_ASSIGN(Share migrated, db().GetShare(share.id));
  EXPECT_EQ(migrated.tls, "required");
  EXPECT_EQ(migrated.security, "sys");
  migrated.security = "krb5i,krb5p";
  ASSERT_OK(db().UpdateShare(migrated));
  ASSERT_OK_AND_ASSIGN(Share kerberos, db().GetShare(share.id));
  EXPECT_EQ(kerberos.security, "krb5i,krb5p");
}

TEST_P(ControlDbConformance, MigrationToVersion10GivesSharesNoRecycleBin) {
  ASSERT_OK_AND_ASSIGN(StoreDef meta, db().CreateMetadataStore(MakeStore("m")));
  ASSERT_OK_AND_ASSIGN(StoreDef blocks, db().CreateBlockStore(MakeStore("b")));
  Share in = MakeShare("/export", meta.id, blocks.id);
  in.security = "krb5p";
  ASSERT_OK_AND_ASSIGN(Share share, db().CreateShare(in));
  // Back to schema version 9, as a database written before the recycle bin was.
  ForgetVersion10();
  ASSERT_OK(database().ExecForTest("DELETE FROM schema_migrations WHERE version >= 10"));
  ASSERT_OK(Reopen());
  EXPECT_THAT(db().SchemaVersion(), ::testing::Property(&Result<int>::value, kSchemaVersion));
  ASSERT_OK_AND_ASSIGN(Share migrated, db().GetShare(share.id));
  EXPECT_EQ(migrated.security, "krb5p");
  EXPECT_FALSE(migrated.recycle);
  EXPECT_EQ(migrated.recycle_retention_days, 0u);
  EXPECT_EQ(migrated.recycle_max_bytes, 0u);
  EXPECT_THAT(migrated.recycle_exclude, IsEmpty());
  migrated.recycle = true;
  migrated.recycle_retention_days = 14;
  migrated.recycle_max_bytes = uint64_t{1} << 30;
  migrated.recycle_exclude = {"*.tmp"};
  ASSERT_OK(db().UpdateShare(migrated));
  ASSERT_OK_AND_ASSIGN(Share recycling, db().GetShare(share.id));
  EXPECT_EQ(recycling, migrated);
}

TEST_P(ControlDbConformance, NewerSchemaRefusesToOpen) {
  ASSERT_OK(
      database().ExecForTest("INSERT INTO schema_migrations (version, description, applied_at) "
                             "VALUES (999, 'from the future', 0)"));
  EXPECT_THAT(db().Migrate(), StatusIs(Errc::kNotSupported));
  Result<std::unique_ptr<ControlDb>> again = database().Open();
  EXPECT_THAT(again, StatusIs(Errc::kNotSupported));
  EXPECT_THAT(again.status().message(), HasSubstr("999"));
}

// --- backup ---

TEST_P(ControlDbConformance, ExportImportRoundTrip) {
  ASSERT_OK(PopulateForTest(db()));
  // Holes in the id sequences must survive the trip.
  ASSERT_OK_AND_ASSIGN(User temp, db().CreateUser(MakeUser("temp", 5000)));
  ASSERT_OK(db().DeleteUser(temp.id));
  ASSERT_OK_AND_ASSIGN(std::string exported, db().ExportJson());
  ASSERT_OK_AND_ASSIGN(std::string again, db().ExportJson());
  EXPECT_EQ(exported, again);

  std::unique_ptr<ControlDbDatabase> other_database = GetParam().make();
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<ControlDb> other, other_database->Open());
  ASSERT_OK(other->ImportJson(exported));
  ASSERT_OK_AND_ASSIGN(std::string reexported, other->ExportJson());
  EXPECT_EQ(reexported, exported);
  ASSERT_OK_AND_ASSIGN(User bob, db().GetUserByName("bob"));
  EXPECT_THAT(other->GetUser(bob.id), ::testing::Property(&Result<User>::value, bob));
  // New ids continue after the imported ones.
  ASSERT_OK_AND_ASSIGN(User fresh, other->CreateUser(MakeUser("fresh", 6000)));
  EXPECT_GT(fresh.id, bob.id);
  ASSERT_OK_AND_ASSIGN(Share fresh_share, other->CreateShare(MakeShare("/fresh", 1, 1)));
  EXPECT_GT(fresh_share.id, 2);

  // Only into an empty database.
  EXPECT_THAT(db().ImportJson(exported), StatusIs(Errc::kInvalid));
}

TEST_P(ControlDbConformance, ImportTakesSharesWithoutRecycleFields) {
  ASSERT_OK(PopulateForTest(db()));
  ASSERT_OK_AND_ASSIGN(std::string exported, db().ExportJson());
  nlohmann::json backup = nlohmann::json::parse(exported);
  for (nlohmann::json& share : backup["shares"]) {
    for (const char* key :
         {"recycle", "recycle_retention_days", "recycle_max_bytes", "recycle_exclude"}) {
      ASSERT_EQ(share.erase(key), 1u) << key;
    }
  }
  std::unique_ptr<ControlDbDatabase> other_database = GetParam().make();
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<ControlDb> other, other_database->Open());
  ASSERT_OK(other->ImportJson(backup.dump()));
  ASSERT_OK_AND_ASSIGN(Share imported, other->GetShareByName("/export"));
  EXPECT_FALSE(imported.recycle);
  EXPECT_EQ(imported.recycle_retention_days, 0u);
  EXPECT_EQ(imported.recycle_max_bytes, 0u);
  EXPECT_THAT(imported.recycle_exclude, IsEmpty());
  EXPECT_TRUE(imported.smb_access_based_enumeration);  // the rest came through

  // Present but malformed, they are refused.
  backup["shares"][0]["recycle_max_bytes"] = -1;
  std::unique_ptr<ControlDbDatabase> third_database = GetParam().make();
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<ControlDb> third, third_database->Open());
  EXPECT_THAT(third->ImportJson(backup.dump()), StatusIs(Errc::kInvalid));
}

TEST_P(ControlDbConformance, ImportRejectsBadInputAtomically) {
  EXPECT_THAT(db().ImportJson("not json"), StatusIs(Errc::kInvalid));
  EXPECT_THAT(db().ImportJson("[]"), StatusIs(Errc::kInvalid));
  EXPECT_THAT(db().ImportJson(R"({"schema_version": 999})"), StatusIs(Errc::kInvalid));
  std::string version = std::to_string(kSchemaVersion);
  EXPECT_THAT(db().ImportJson(R"({"schema_version": )" + version +
                              R"(, "users": [{"id": 1, "username": 5}]})"),
              StatusIs(Errc::kInvalid));
  // A good row, then one whose group does not exist: nothing is kept.
  ASSERT_OK(PopulateForTest(db()));
  ASSERT_OK_AND_ASSIGN(std::string exported, db().ExportJson());
  std::string broken = exported;
  size_t at = broken.find("\"memberships\"");
  ASSERT_NE(at, std::string::npos);
  broken.insert(broken.find('[', at) + 1, R"({"user_id": 1, "group_id": 777},)");
  std::unique_ptr<ControlDbDatabase> other_database = GetParam().make();
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<ControlDb> other, other_database->Open());
  EXPECT_FALSE(other->ImportJson(broken).ok());
  ASSERT_OK_AND_ASSIGN(std::vector<User> users, other->ListUsers());
  EXPECT_THAT(users, IsEmpty());
  ASSERT_OK(other->ImportJson(exported));
}

// --- concurrency ---

TEST_P(ControlDbConformance, ConcurrentWritersAllSucceed) {
  constexpr int kThreads = 4;
  constexpr int kUsersPerThread = 10;
  std::vector<std::thread> threads;
  std::vector<Status> failures(kThreads);
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kUsersPerThread; ++i) {
        uint32_t uid = static_cast<uint32_t>(10000 + t * 100 + i);
        Result<User> user = db().CreateUser(MakeUser("u" + std::to_string(uid), uid));
        Status status =
            user.ok() ? db().SetSetting("last" + std::to_string(t), "x") : user.status();
        if (!status.ok()) failures[t] = status;
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  for (const Status& status : failures) EXPECT_OK(status);
  ASSERT_OK_AND_ASSIGN(std::vector<User> users, db().ListUsers());
  EXPECT_EQ(users.size(), static_cast<size_t>(kThreads * kUsersPerThread));
}

}  // namespace
}  // namespace dittofs::controlplane

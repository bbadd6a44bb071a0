// SPDX-License-Identifier: Apache-2.0
#include "server/user_directory.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "controlplane/db/sqlite/sqlite_control_db.h"
#include "testing/scratch_dir.h"
#include "testing/status_matchers.h"

namespace dittofs::server {
namespace {

namespace cp = controlplane;
using ::dittofs::testing::StatusIs;

// A control database with alice (uid 1000, gid 1000, in staff and dev), bob (uid 1001, in
// staff) and the groups staff (gid 50), dev (gid 60) and empty (gid 70), read into a directory.
class UserDirectoryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_FALSE(dir_.path().empty());
    ASSERT_OK_AND_ASSIGN(db_, cp::OpenSqliteControlDb(dir_.path() + "/control.db"));
    ASSERT_OK_AND_ASSIGN(staff_, db_->CreateGroup({0, "staff", 50}));
    ASSERT_OK_AND_ASSIGN(cp::Group dev, db_->CreateGroup({0, "dev", 60}));
    ASSERT_OK(db_->CreateGroup({0, "empty", 70}).status());
    ASSERT_OK_AND_ASSIGN(alice_, AddUser("alice", 1000, 1000));
    ASSERT_OK_AND_ASSIGN(cp::User bob, AddUser("bob", 1001, 1001));
    ASSERT_OK(db_->AddMember(alice_.id, dev.id));
    ASSERT_OK(db_->AddMember(alice_.id, staff_.id));
    ASSERT_OK(db_->AddMember(bob.id, staff_.id));
    ASSERT_OK(users_.Refresh(*db_));
  }

  Result<cp::User> AddUser(std::string name, uint32_t uid, uint32_t gid) {
    cp::User u;
    u.username = std::move(name);
    u.uid = uid;
    u.gid = gid;
    return db_->CreateUser(u);
  }

  dittofs::testing::ScratchDir dir_{"user-directory-test"};
  std::unique_ptr<cp::ControlDb> db_;
  cp::Group staff_;
  cp::User alice_;
  ControlPlaneUserDirectory users_;
};

// The user an NTLM or Kerberos logon finds by name is the one AUTH_SYS calls know by uid.
TEST_F(UserDirectoryTest, NamesLeadToTheAuthSysUser) {
  ASSERT_OK_AND_ASSIGN(core::UserRecord by_name, users_.FindUser("alice"));
  EXPECT_EQ(by_name.name, "alice");
  EXPECT_EQ(by_name.uid, 1000u);
  EXPECT_EQ(by_name.gid, 1000u);
  EXPECT_EQ(by_name.groups, (std::vector<uint32_t>{50, 60}));  // ascending
  EXPECT_TRUE(by_name.enabled);
  ASSERT_OK_AND_ASSIGN(core::UserRecord by_uid, users_.FindUserByUid(1000));
  EXPECT_EQ(by_uid.name, "alice");
  EXPECT_EQ(by_uid.groups, by_name.groups);
  ASSERT_OK_AND_ASSIGN(core::UserRecord bob, users_.FindUserByUid(1001));
  EXPECT_EQ(bob.name, "bob");
  EXPECT_EQ(bob.groups, (std::vector<uint32_t>{50}));

  // The principal of a logon carries the ids, the name and the method.
  ASSERT_OK_AND_ASSIGN(core::Principal p, by_name.LogOn(core::AuthMethod::kNtlm));
  EXPECT_EQ(p.uid, 1000u);
  EXPECT_EQ(p.gid, 1000u);
  EXPECT_EQ(p.groups, (std::vector<uint32_t>{50, 60}));
  EXPECT_EQ(p.user_name, "alice");
  EXPECT_EQ(p.auth, core::AuthMethod::kNtlm);
  EXPECT_TRUE(p.InGroup(60));
  EXPECT_FALSE(p.anonymous());

  ASSERT_OK_AND_ASSIGN(core::GroupRecord staff, users_.FindGroup("staff"));
  EXPECT_EQ(staff.gid, 50u);
  ASSERT_OK_AND_ASSIGN(core::GroupRecord empty, users_.FindGroupByGid(70));
  EXPECT_EQ(empty.name, "empty");
}

TEST_F(UserDirectoryTest, UnknownNamesAndIdsAreNotFound) {
  EXPECT_THAT(users_.FindUser("carol"), StatusIs(Errc::kNotFound));
  EXPECT_THAT(users_.FindUser("Alice"), StatusIs(Errc::kNotFound)) << "byte for byte";
  EXPECT_THAT(users_.FindUser(""), StatusIs(Errc::kNotFound));
  EXPECT_THAT(users_.FindWindowsUser("carol"), StatusIs(Errc::kNotFound));
  EXPECT_THAT(users_.FindKerberosUser("carol@EXAMPLE.COM"), StatusIs(Errc::kNotFound));
  EXPECT_THAT(users_.FindUserByUid(4242), StatusIs(Errc::kNotFound));
  EXPECT_THAT(users_.FindGroup("nogroup"), StatusIs(Errc::kNotFound));
  EXPECT_THAT(users_.FindGroupByGid(4242), StatusIs(Errc::kNotFound));
}

// Windows account names compare without regard to ASCII case; an exact match wins, and names
// that differ only in case leave a folded lookup ambiguous rather than picking one.
TEST_F(UserDirectoryTest, WindowsNamesIgnoreCase) {
  for (const char* name : {"alice", "ALICE", "Alice", "aLiCe"}) {
    ASSERT_OK_AND_ASSIGN(core::UserRecord u, users_.FindWindowsUser(name));
    EXPECT_EQ(u.uid, 1000u) << name;
  }
  EXPECT_THAT(users_.FindWindowsUser("alice "), StatusIs(Errc::kNotFound));

  ASSERT_OK(AddUser("Bob", 1002, 1002).status());  // the control plane allows it
  ASSERT_OK(users_.Refresh(*db_));
  ASSERT_OK_AND_ASSIGN(core::UserRecord exact_lower, users_.FindWindowsUser("bob"));
  EXPECT_EQ(exact_lower.uid, 1001u);
  ASSERT_OK_AND_ASSIGN(core::UserRecord exact_upper, users_.FindWindowsUser("Bob"));
  EXPECT_EQ(exact_upper.uid, 1002u);
  EXPECT_THAT(users_.FindWindowsUser("BOB"), StatusIs(Errc::kNotFound));

  // Beyond ASCII too (Unicode simple case folding).
  ASSERT_OK(AddUser("Ölaf", 1003, 1003).status());
  ASSERT_OK(users_.Refresh(*db_));
  for (const char* name : {"Ölaf", "ölaf", "ÖLAF"}) {
    ASSERT_OK_AND_ASSIGN(core::UserRecord u, users_.FindWindowsUser(name));
    EXPECT_EQ(u.uid, 1003u) << name;
  }
}

// "alice@REALM" and "alice" are alice; principals with an instance are nobody; realms are
// checked when the directory is told which to accept.
TEST_F(UserDirectoryTest, KerberosPrincipals) {
  for (const char* principal : {"alice", "alice@EXAMPLE.COM", "alice@OTHER.ORG"}) {
    ASSERT_OK_AND_ASSIGN(core::UserRecord u, users_.FindKerberosUser(principal));
    EXPECT_EQ(u.uid, 1000u) << principal;
  }
  for (const char* principal : {"alice/admin@EXAMPLE.COM", "nfs/host.example.com@EXAMPLE.COM",
                                "ALICE@EXAMPLE.COM", "@EXAMPLE.COM", "alice\\@x@EXAMPLE.COM"}) {
    EXPECT_THAT(users_.FindKerberosUser(principal), StatusIs(Errc::kNotFound)) << principal;
  }

  ControlPlaneUserDirectory realm({.kerberos_realms = {"EXAMPLE.COM"}});
  ASSERT_OK(realm.Refresh(*db_));
  ASSERT_OK_AND_ASSIGN(core::UserRecord u, realm.FindKerberosUser("alice@EXAMPLE.COM"));
  EXPECT_EQ(u.uid, 1000u);
  ASSERT_OK_AND_ASSIGN(u, realm.FindKerberosUser("alice"));
  EXPECT_EQ(u.uid, 1000u);
  EXPECT_THAT(realm.FindKerberosUser("alice@OTHER.ORG"), StatusIs(Errc::kNotFound));
  EXPECT_THAT(realm.FindKerberosUser("alice@example.com"), StatusIs(Errc::kNotFound));
}

// A user's own principal names it, whatever its realm or instance; its username@REALM then
// names nobody (that principal may be another person's).
TEST_F(UserDirectoryTest, AUsersOwnKerberosPrincipal) {
  alice_.kerberos_principal = "asmith/admin@CORP.EXAMPLE";
  ASSERT_OK(db_->UpdateUser(alice_));
  ControlPlaneUserDirectory realm({.kerberos_realms = {"EXAMPLE.COM"}});
  ASSERT_OK(realm.Refresh(*db_));
  ASSERT_OK_AND_ASSIGN(core::UserRecord u, realm.FindKerberosUser("asmith/admin@CORP.EXAMPLE"));
  EXPECT_EQ(u.uid, 1000u);
  EXPECT_THAT(realm.FindKerberosUser("alice@EXAMPLE.COM"), StatusIs(Errc::kNotFound));
  EXPECT_THAT(realm.FindKerberosUser("asmith@CORP.EXAMPLE"), StatusIs(Errc::kNotFound));
}

// A disabled user is still found (its files keep an owner) but may not log on.
TEST_F(UserDirectoryTest, DisabledUsersMayNotLogOn) {
  alice_.enabled = false;
  ASSERT_OK(db_->UpdateUser(alice_));
  ASSERT_OK(users_.Refresh(*db_));
  ASSERT_OK_AND_ASSIGN(core::UserRecord u, users_.FindWindowsUser("alice"));
  EXPECT_FALSE(u.enabled);
  EXPECT_THAT(u.LogOn(core::AuthMethod::kKerberos), StatusIs(Errc::kAccess));
  ASSERT_OK_AND_ASSIGN(core::UserRecord by_uid, users_.FindUserByUid(1000));
  EXPECT_EQ(by_uid.name, "alice");
}

// Lookups see the database as of the last Refresh, and every change after one.
TEST_F(UserDirectoryTest, RefreshFollowsTheControlPlane) {
  ASSERT_OK_AND_ASSIGN(cp::User carol, AddUser("carol", 1003, 1003));
  EXPECT_THAT(users_.FindUser("carol"), StatusIs(Errc::kNotFound)) << "not yet refreshed";
  ASSERT_OK(db_->AddMember(carol.id, staff_.id));
  ASSERT_OK(db_->RemoveMember(alice_.id, staff_.id));
  alice_.uid = 2000;
  ASSERT_OK(db_->UpdateUser(alice_));
  ASSERT_OK(users_.Refresh(*db_));

  ASSERT_OK_AND_ASSIGN(core::UserRecord c, users_.FindUser("carol"));
  EXPECT_EQ(c.groups, (std::vector<uint32_t>{50}));
  ASSERT_OK_AND_ASSIGN(core::UserRecord a, users_.FindUser("alice"));
  EXPECT_EQ(a.uid, 2000u);
  EXPECT_EQ(a.groups, (std::vector<uint32_t>{60}));
  EXPECT_THAT(users_.FindUserByUid(1000), StatusIs(Errc::kNotFound));
  ASSERT_OK_AND_ASSIGN(core::UserRecord by_uid, users_.FindUserByUid(2000));
  EXPECT_EQ(by_uid.name, "alice");

  ASSERT_OK(db_->DeleteUser(carol.id));
  ASSERT_OK(db_->DeleteGroup(staff_.id));
  ASSERT_OK(users_.Refresh(*db_));
  EXPECT_THAT(users_.FindUser("carol"), StatusIs(Errc::kNotFound));
  EXPECT_THAT(users_.FindGroup("staff"), StatusIs(Errc::kNotFound));
  ASSERT_OK_AND_ASSIGN(core::UserRecord bob, users_.FindUser("bob"));
  EXPECT_TRUE(bob.groups.empty());
}

// Readers never see a half-built directory while refreshes publish new ones.
TEST_F(UserDirectoryTest, LookupsDuringRefreshesSeeWholeSnapshots) {
  std::atomic<bool> stop{false};
  std::atomic<int> bad{0};
  std::atomic<int> lookups{0};
  std::vector<std::thread> readers;
  for (int t = 0; t < 2; ++t) {
    readers.emplace_back([&] {
      while (!stop.load()) {
        Result<core::UserRecord> a = users_.FindWindowsUser("ALICE");
        Result<core::UserRecord> b = users_.FindUserByUid(1001);
        if (!a.ok() || a->uid != 1000 || !b.ok() || b->name != "bob") ++bad;
        ++lookups;
      }
    });
  }
  for (int i = 0; i < 50; ++i) EXPECT_OK(users_.Refresh(*db_));
  while (lookups.load() < 1000) std::this_thread::yield();
  stop = true;
  for (std::thread& t : readers) t.join();
  EXPECT_EQ(bad.load(), 0);
}

}  // namespace
}  // namespace dittofs::server

// SPDX-License-Identifier: Apache-2.0
#include "controlplane/db/sqlite/sqlite_control_db.h"

#include <sqlite3.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <string>

#include "controlplane/db/conformance.h"
#include "testing/status_matchers.h"

namespace dittofs::controlplane {
namespace {

// A database file in a fresh temporary directory, removed with it.
class SqliteDatabase final : public ControlDbDatabase {
 public:
  SqliteDatabase() {
    char dir[] = "/tmp/dfs-controldb-XXXXXX";
    CHECK(::mkdtemp(dir) != nullptr) << "mkdtemp failed";
    dir_ = dir;
    path_ = dir_ + "/control.db";
  }
  ~SqliteDatabase() override { std::filesystem::remove_all(dir_); }

  Result<std::unique_ptr<ControlDb>> Open() override { return OpenSqliteControlDb(path_); }

  Status ExecForTest(const std::string& sql) override {
    sqlite3* db = nullptr;
    int rc = sqlite3_open(path_.c_str(), &db);
    if (rc == SQLITE_OK) rc = sqlite3_exec(db, sql.c_str(), nullptr, nullptr, nullptr);
    Status status = rc == SQLITE_OK ? Status::Ok() : Status(Errc::kInternal, sqlite3_errmsg(db));
    sqlite3_close(db);
    return status;
  }

  const std::string& path() const { return path_; }

 private:
  std::string dir_;
  std::string path_;
};

INSTANTIATE_TEST_SUITE_P(Sqlite, ControlDbConformance,
                         ::testing::Values(ControlDbFactory{
                             "Sqlite", [] { return std::make_unique<SqliteDatabase>(); }}),
                         ControlDbFactoryName);

TEST(SqliteControlDbTest, FileIsPrivateAndInWalMode) {
  SqliteDatabase database;
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<ControlDb> db, database.Open());
  ASSERT_OK(db->SetSetting("k", "v"));
  struct stat st {};
  ASSERT_EQ(::stat(database.path().c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  EXPECT_TRUE(std::filesystem::exists(database.path() + "-wal"));
}

TEST(SqliteControlDbTest, UnopenablePathIsUnavailable) {
  EXPECT_THAT(OpenSqliteControlDb("/nonexistent-dir/control.db"),
              testing::StatusIs(Errc::kUnavailable));
}

}  // namespace
}  // namespace dittofs::controlplane

// SPDX-License-Identifier: Apache-2.0
#include "controlplane/db/postgres/postgres_control_db.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <glob.h>
#include <grp.h>
#include <libpq-fe.h>
#include <netinet/in.h>
#include <pwd.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <string>
#include <vector>

#include "controlplane/db/conformance.h"
#include "controlplane/db/sqlite/sqlite_control_db.h"
#include "testing/postgres_server.h"
#include "testing/status_matchers.h"

namespace dittofs::controlplane {
namespace {

// Runs `sql` on a new connection to `dsn`.
Status Exec(const std::string& dsn, const std::string& sql) {
  PGconn* conn = PQconnectdb(dsn.c_str());
  Status status;
  if (PQstatus(conn) != CONNECTION_OK) {
    status = Status(Errc::kUnavailable, PQerrorMessage(conn));
  } else {
    PQsetNoticeProcessor(
        conn, [](void*, const char*) {}, nullptr);  // "drop cascades to ..."
    PGresult* result = PQexec(conn, sql.c_str());
    if (PQresultStatus(result) != PGRES_COMMAND_OK && PQresultStatus(result) != PGRES_TUPLES_OK) {
      status = Status(Errc::kInternal, PQresultErrorMessage(result));
    }
    PQclear(result);
  }
  PQfinish(conn);
  return status;
}

using ::dittofs::testing::FreeLoopbackPort;
using ::dittofs::testing::PostgresServer;

// GoogleTest owns environments; this is the one way to hand it one from a test file.
PostgresServer* const server =
    static_cast<PostgresServer*>(::testing::AddGlobalTestEnvironment(new PostgresServer));

// One empty database: a schema of its own in the test database, dropped with it.
class PostgresDatabase final : public ControlDbDatabase {
 public:
  PostgresDatabase() {
    static std::atomic<int> next{0};
    schema_ = fmt::format("t{}", next++);
    if (server->dsn().empty()) return;
    Status status = Exec(server->dsn(), fmt::format("CREATE SCHEMA {}", schema_));
    if (status.ok()) dsn_ = fmt::format("{} options='-c search_path={}'", server->dsn(), schema_);
  }
  ~PostgresDatabase() override {
    if (!dsn_.empty()) (void)Exec(server->dsn(), fmt::format("DROP SCHEMA {} CASCADE", schema_));
  }

  Result<std::unique_ptr<ControlDb>> Open() override {
    if (dsn_.empty()) {
      return Status(Errc::kUnavailable,
                    "the test PostgreSQL server is not running: " + server->error());
    }
    return OpenPostgresControlDb(dsn_);
  }

  Status ExecForTest(const std::string& sql) override { return Exec(dsn_, sql); }

 private:
  std::string schema_;
  std::string dsn_;
};

INSTANTIATE_TEST_SUITE_P(Postgres, ControlDbConformance,
                         ::testing::Values(ControlDbFactory{
                             "Postgres", [] { return std::make_unique<PostgresDatabase>(); }}),
                         ControlDbFactoryName);

using ::dittofs::testing::StatusIs;
using ::testing::HasSubstr;
using ::testing::Not;

TEST(PostgresControlDbTest, SqliteToPostgresRoundTripIsExact) {
  char dir[] = "/tmp/dfs-controldb-XXXXXX";
  ASSERT_NE(::mkdtemp(dir), nullptr);
  std::string exported;
  {
    ASSERT_OK_AND_ASSIGN(std::unique_ptr<ControlDb> sqlite,
                         OpenSqliteControlDb(std::string(dir) + "/control.db"));
    ASSERT_OK(PopulateForTest(*sqlite));
    ASSERT_OK_AND_ASSIGN(exported, sqlite->ExportJson());
  }
  std::filesystem::remove_all(dir);

  PostgresDatabase database;
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<ControlDb> postgres, database.Open());
  ASSERT_OK(postgres->ImportJson(exported));
  ASSERT_OK_AND_ASSIGN(std::string reexported, postgres->ExportJson());
  EXPECT_EQ(reexported, exported);
}

TEST(PostgresControlDbTest, UnreachableServerIsUnavailableWithoutSecrets) {
  int port = FreeLoopbackPort();
  ASSERT_GT(port, 0);
  Result<std::unique_ptr<ControlDb>> db = OpenPostgresControlDb(fmt::format(
      "host=127.0.0.1 port={} user=dfs password=hunter2 dbname=x connect_timeout=5", port));
  EXPECT_THAT(db, StatusIs(Errc::kUnavailable));
  EXPECT_THAT(db.status().message(), Not(HasSubstr("hunter2")));
}

TEST(PostgresControlDbTest, MissingDatabaseIsUnavailableWithTheServersReason) {
  ASSERT_FALSE(server->dsn().empty()) << server->error();
  Result<std::unique_ptr<ControlDb>> db =
      OpenPostgresControlDb(server->dsn() + " dbname=no_such_db password=hunter2");
  EXPECT_THAT(db, StatusIs(Errc::kUnavailable));
  EXPECT_THAT(db.status().message(), HasSubstr("no_such_db"));
  EXPECT_THAT(db.status().message(), Not(HasSubstr("hunter2")));
}

}  // namespace
}  // namespace dittofs::controlplane

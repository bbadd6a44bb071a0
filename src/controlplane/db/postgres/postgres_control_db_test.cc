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
#include "testing/status_matchers.h"

namespace dittofs::controlplane {
namespace {

// Runs `argv` to completion with stdout and stderr appended to `log`, as the `postgres` user
// when we are root (PostgreSQL refuses to run as root). Returns the exit code, or -1.
int Run(const std::vector<std::string>& argv, const std::string& log) {
  std::vector<char*> args;
  for (const std::string& arg : argv) args.push_back(const_cast<char*>(arg.c_str()));
  args.push_back(nullptr);
  const passwd* pw = ::geteuid() == 0 ? ::getpwnam("postgres") : nullptr;
  if (::geteuid() == 0 && pw == nullptr) return -1;
  uid_t uid = pw ? pw->pw_uid : 0;
  gid_t gid = pw ? pw->pw_gid : 0;
  pid_t pid = ::fork();
  if (pid < 0) return -1;
  if (pid == 0) {
    int in = ::open("/dev/null", O_RDONLY);
    int out = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    if (in < 0 || out < 0) ::_exit(126);
    ::dup2(in, 0);
    ::dup2(out, 1);
    ::dup2(out, 2);
    if (pw != nullptr &&
        (::setgroups(0, nullptr) != 0 || ::setgid(gid) != 0 || ::setuid(uid) != 0)) {
      ::_exit(126);
    }
    ::execv(args[0], args.data());
    ::_exit(127);
  }
  int status = 0;
  if (::waitpid(pid, &status, 0) != pid) return -1;
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

// A free TCP port on 127.0.0.1 (free now; the server takes it a moment later).
int FreePort() {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(addr);
  int port = -1;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0 &&
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0) {
    port = ntohs(addr.sin_port);
  }
  ::close(fd);
  return port;
}

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

// A throwaway PostgreSQL server for this test binary: initdb in a temporary directory, listening
// only on 127.0.0.1 (and a unix socket in that directory). Stopped and removed in TearDown,
// whatever the tests did; should the process die first, a watchdog child does it instead.
class PostgresServer final : public ::testing::Environment {
 public:
  void SetUp() override {
    Status status = Start();
    if (!status.ok()) {
      error_ = status.message();
      ADD_FAILURE() << "cannot start the test PostgreSQL server: " << error_;
    }
  }

  void TearDown() override {
    if (!data_.empty()) {
      Run({pg_ctl_, "stop", "-D", data_, "-m", "fast", "-w"}, dir_ + "/pg_ctl.log");
    }
    if (!dir_.empty()) std::filesystem::remove_all(dir_);
    if (watchdog_fd_ >= 0) {
      char done = 1;
      (void)!::write(watchdog_fd_, &done, 1);  // all cleaned up: the watchdog need not act
      ::close(watchdog_fd_);
      ::waitpid(watchdog_pid_, nullptr, 0);
    }
  }

  // The libpq connection string of the test database, or empty when the server is not up.
  const std::string& dsn() const { return dsn_; }
  const std::string& error() const { return error_; }

 private:
  Status Start() {
    glob_t found{};
    ::glob("/usr/lib/postgresql/*/bin/initdb", 0, nullptr, &found);
    std::vector<std::string> initdbs(found.gl_pathv, found.gl_pathv + found.gl_pathc);
    ::globfree(&found);
    if (initdbs.empty()) {
      return Status(Errc::kNotFound,
                    "no /usr/lib/postgresql/*/bin/initdb: run scripts/install-deps.sh");
    }
    std::filesystem::path bin = std::filesystem::path(initdbs.back()).parent_path();
    std::string initdb = bin / "initdb";
    pg_ctl_ = bin / "pg_ctl";

    char dir[] = "/tmp/dfs-pg-XXXXXX";
    if (::mkdtemp(dir) == nullptr) return Status(Errc::kIo, "mkdtemp failed");
    dir_ = dir;
    if (::geteuid() == 0) {
      const passwd* pw = ::getpwnam("postgres");
      if (pw == nullptr) return Status(Errc::kNotFound, "no `postgres` user to run the server");
      if (::chown(dir, pw->pw_uid, pw->pw_gid) != 0) return Status(Errc::kIo, "chown failed");
    }
    StartWatchdog();
    std::string log = dir_ + "/setup.log";
    std::string data = dir_ + "/data";
    if (Run({initdb, "-D", data, "-U", "dfs", "-A", "trust", "--no-locale", "-E", "UTF8",
             "--no-sync"},
            log) != 0) {
      return Status(Errc::kInternal, "initdb failed; see " + log);
    }
    data_ = data;
    int port = FreePort();
    if (port < 0) return Status(Errc::kUnavailable, "no free port");
    std::string options = fmt::format(
        "-c listen_addresses=127.0.0.1 -p {} -c unix_socket_directories={} -c fsync=off "
        "-c synchronous_commit=off -c full_page_writes=off",
        port, dir_);
    if (Run({pg_ctl_, "start", "-D", data_, "-w", "-t", "30", "-l", dir_ + "/server.log", "-o",
             options},
            log) != 0) {
      return Status(Errc::kUnavailable, "pg_ctl start failed; see " + log);
    }
    std::string server = fmt::format("host=127.0.0.1 port={} user=dfs connect_timeout=10", port);
    RETURN_IF_ERROR(Exec(server + " dbname=postgres", "CREATE DATABASE dittofs_test"));
    dsn_ = server + " dbname=dittofs_test";
    return Status::Ok();
  }

  // Forks a child that waits on a pipe: a byte means TearDown cleaned up; end-of-file means
  // this process died without it, so the child stops the server and removes the directory.
  void StartWatchdog() {
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0) return;
    std::vector<std::string> stop = {pg_ctl_, "stop", "-D", dir_ + "/data", "-m", "immediate"};
    std::string log = "/dev/null";
    std::string dir = dir_;
    pid_t pid = ::fork();
    if (pid == 0) {
      ::close(fds[1]);
      char byte;
      ssize_t n;
      do {
        n = ::read(fds[0], &byte, 1);
      } while (n < 0 && errno == EINTR);
      if (n == 0) {
        Run(stop, log);
        std::error_code ignored;
        std::filesystem::remove_all(dir, ignored);
      }
      ::_exit(0);
    }
    ::close(fds[0]);
    if (pid > 0) {
      watchdog_fd_ = fds[1];
      watchdog_pid_ = pid;
    } else {
      ::close(fds[1]);
    }
  }

  std::string pg_ctl_;
  std::string dir_;
  std::string data_;
  std::string dsn_;
  std::string error_;
  int watchdog_fd_ = -1;
  pid_t watchdog_pid_ = -1;
};

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
  int port = FreePort();
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

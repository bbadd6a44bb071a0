// SPDX-License-Identifier: Apache-2.0
#pragma once

// A throwaway PostgreSQL server for a test binary (Debian's postgresql package): initdb in a
// temporary directory, listening only on 127.0.0.1 on a free port (and a unix socket in that
// directory), with an empty database `dittofs_test`. Stopped and removed when the environment
// tears down, whatever the tests did; should the process die first, a watchdog child does it.
// Register it once per binary:
//   PostgresServer* const server = static_cast<PostgresServer*>(
//       ::testing::AddGlobalTestEnvironment(new PostgresServer));

#include <fcntl.h>
#include <fmt/format.h>
#include <glob.h>
#include <grp.h>
#include <gtest/gtest.h>
#include <pwd.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "testing/loopback.h"

namespace dittofs::testing {

// Runs `argv` to completion with stdout and stderr appended to `log`, as the `postgres` user
// when we are root (PostgreSQL refuses to run as root). Returns the exit code, or -1.
inline int RunAsPostgres(const std::vector<std::string>& argv, const std::string& log) {
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

class PostgresServer final : public ::testing::Environment {
 public:
  // `durable`: fsync and synchronous commits on, for crash tests (slower); else both off.
  explicit PostgresServer(bool durable = false) : durable_(durable) {}

  void SetUp() override {
    Status status = Start();
    if (!status.ok()) {
      error_ = status.message();
      ADD_FAILURE() << "cannot start the test PostgreSQL server: " << error_;
    }
  }

  void TearDown() override {
    if (!data_.empty()) {
      RunAsPostgres({pg_ctl_, "stop", "-D", data_, "-m", "fast", "-w"}, dir_ + "/pg_ctl.log");
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
  int port() const { return port_; }
  // A schema name no other caller in this process gets: `prefix` and a number.
  static std::string FreshSchema(std::string_view prefix) {
    static std::atomic<int> next{0};
    return fmt::format("{}{}", prefix, next++);
  }

  // Kills the server at once (SIGKILL to the postmaster: no checkpoint, connections cut), as a
  // crash would; Restart brings it back on the same port and data.
  void Kill() {
    std::ifstream pid_file(data_ + "/postmaster.pid");
    pid_t pid = 0;
    if (pid_file >> pid && pid > 0) ::kill(pid, SIGKILL);
    for (int i = 0; i < 100 && pid > 0 && ::kill(pid, 0) == 0; ++i) ::usleep(50'000);
    // Its children notice the postmaster is gone and exit; wait until the port is free.
    for (int i = 0; i < 100 && LoopbackAnswers(port_); ++i) ::usleep(50'000);
  }
  Status Restart() {
    std::filesystem::remove(data_ + "/postmaster.pid");
    if (RunAsPostgres({pg_ctl_, "start", "-D", data_, "-w", "-t", "30", "-l", dir_ + "/server.log",
                       "-o", options_},
                      dir_ + "/setup.log") != 0) {
      return Status(Errc::kUnavailable, "pg_ctl start failed; see " + dir_ + "/setup.log");
    }
    return Status::Ok();
  }

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
    std::string createdb = bin / "createdb";
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
    if (RunAsPostgres({initdb, "-D", data, "-U", "dfs", "-A", "trust", "--no-locale", "-E", "UTF8",
                       "--no-sync"},
                      log) != 0) {
      return Status(Errc::kInternal, "initdb failed; see " + log);
    }
    data_ = data;
    port_ = FreeLoopbackPort();
    if (port_ < 0) return Status(Errc::kUnavailable, "no free port");
    options_ = fmt::format("-c listen_addresses=127.0.0.1 -p {} -c unix_socket_directories={}",
                           port_, dir_);
    if (!durable_) options_ += " -c fsync=off -c synchronous_commit=off -c full_page_writes=off";
    RETURN_IF_ERROR(Restart());
    if (RunAsPostgres(
            {createdb, "-h", "127.0.0.1", "-p", std::to_string(port_), "-U", "dfs", "dittofs_test"},
            log) != 0) {
      return Status(Errc::kInternal, "createdb failed; see " + log);
    }
    dsn_ = fmt::format("host=127.0.0.1 port={} user=dfs connect_timeout=10 dbname=dittofs_test",
                       port_);
    return Status::Ok();
  }

  // Forks a child that waits on a pipe: a byte means TearDown cleaned up; end-of-file means
  // this process died without it, so the child stops the server and removes the directory.
  void StartWatchdog() {
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0) return;
    std::vector<std::string> stop = {pg_ctl_, "stop", "-D", dir_ + "/data", "-m", "immediate"};
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
        RunAsPostgres(stop, "/dev/null");
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

  const bool durable_;
  std::string pg_ctl_;
  std::string dir_;
  std::string data_;
  std::string options_;
  std::string dsn_;
  std::string error_;
  int port_ = -1;
  int watchdog_fd_ = -1;
  pid_t watchdog_pid_ = -1;
};

// A PostgresServer for one test rather than the whole binary: started when made, stopped and
// removed when it goes out of scope. For the few tests of a binary that need one.
class ScopedPostgresServer {
 public:
  explicit ScopedPostgresServer(bool durable = false) : server_(durable) { server_.SetUp(); }
  ~ScopedPostgresServer() { server_.TearDown(); }
  ScopedPostgresServer(const ScopedPostgresServer&) = delete;
  ScopedPostgresServer& operator=(const ScopedPostgresServer&) = delete;
  PostgresServer* operator->() { return &server_; }

 private:
  PostgresServer server_;
};

}  // namespace dittofs::testing

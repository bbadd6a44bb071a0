// SPDX-License-Identifier: Apache-2.0
// The `dfs` command line, run as a user would: init, start (as a daemon), status, logs, backup,
// stop, restore, migrate, config, completion.

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <regex>
#include <string>

#include "shell.h"

namespace dittofs::integration {
namespace {

using CliRun = ShellRun;

class DfsCliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/dfs_cli_test.XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override {
    Dfs("stop --force");
    std::filesystem::remove_all(dir_);
  }
  // Runs dfs with XDG dirs under the test's folder (and no DITTOFS_* overrides from outside).
  CliRun Dfs(const std::string& args) {
    std::string cmd = "env -u DITTOFS_NFS_PORT -u DITTOFS_LOGGING_LEVEL XDG_CONFIG_HOME=" + dir_ +
                      "/cfg XDG_STATE_HOME=" + dir_ + "/state " + DFS_BINARY + " " + args;
    return Shell(cmd);
  }
  std::string ConfigPath() const { return dir_ + "/cfg/dittofs/config.yaml"; }
  // Points the generated config at loopback and free ports.
  void UseLoopback() {
    std::ifstream in(ConfigPath());
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    text = std::regex_replace(text, std::regex("port: (12049|12445|8080)"), "port: 0");
    text = std::regex_replace(text, std::regex("bind: \"0\\.0\\.0\\.0\""), "bind: \"127.0.0.1\"");
    std::ofstream(ConfigPath()) << text;
  }

  std::string dir_;
};

TEST_F(DfsCliTest, DaemonLifecycleBackupAndRestore) {
  CliRun init = Dfs("init");
  ASSERT_EQ(init.exit_code, 0) << init.output;
  struct stat st;
  ASSERT_EQ(stat(ConfigPath().c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u) << "the config holds the token secret";
  EXPECT_NE(Dfs("init").exit_code, 0) << "init must not overwrite without --force";
  EXPECT_EQ(Dfs("init --force").exit_code, 0);
  UseLoopback();
  CliRun valid = Dfs("config validate");
  EXPECT_EQ(valid.exit_code, 0) << valid.output;
  CliRun shown = Dfs("config show");
  EXPECT_EQ(shown.exit_code, 0);
  EXPECT_NE(shown.output.find("jwt_secret: \"***\""), std::string::npos) << shown.output;
  EXPECT_NE(Dfs("config schema").output.find("\"$schema\""), std::string::npos);

  CliRun start = Dfs("start");
  ASSERT_EQ(start.exit_code, 0) << start.output;
  EXPECT_NE(start.output.find("dfs started (pid"), std::string::npos) << start.output;
  EXPECT_NE(Dfs("start").exit_code, 0) << "a second start must refuse";
  CliRun status = Dfs("status -o json");
  EXPECT_EQ(status.exit_code, 0) << status.output;
  EXPECT_NE(status.output.find("\"running\": true"), std::string::npos) << status.output;
  CliRun logs = Dfs("logs -n 50");
  EXPECT_NE(logs.output.find("initial password"), std::string::npos) << logs.output;

  CliRun backup = Dfs("backup controlplane --output " + dir_ + "/cp.json");
  ASSERT_EQ(backup.exit_code, 0) << backup.output;
  ASSERT_EQ(stat((dir_ + "/cp.json").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);

  CliRun stop = Dfs("stop");
  EXPECT_EQ(stop.exit_code, 0) << stop.output;
  EXPECT_EQ(Dfs("status").exit_code, 3);

  // Into an empty database (a config with another state dir): everything comes back; a second
  // restore into the now non-empty database is refused.
  std::string other = dir_ + "/other.yaml";
  {
    std::ifstream in(ConfigPath());
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    std::ofstream(other) << std::regex_replace(text, std::regex("/state/dittofs"),
                                               "/state2/dittofs");
  }
  CliRun restore = Dfs("restore controlplane --config " + other + " --input " + dir_ + "/cp.json");
  EXPECT_EQ(restore.exit_code, 0) << restore.output;
  CliRun again = Dfs("restore controlplane --config " + other + " --input " + dir_ + "/cp.json");
  EXPECT_NE(again.exit_code, 0);
  CliRun migrate = Dfs("migrate --config " + other);
  EXPECT_EQ(migrate.exit_code, 0) << migrate.output;
  CliRun backup2 = Dfs("backup controlplane --config " + other + " --output " + dir_ + "/cp2.json");
  ASSERT_EQ(backup2.exit_code, 0);
  std::ifstream a(dir_ + "/cp.json"), b(dir_ + "/cp2.json");
  std::string ja((std::istreambuf_iterator<char>(a)), std::istreambuf_iterator<char>());
  std::string jb((std::istreambuf_iterator<char>(b)), std::istreambuf_iterator<char>());
  EXPECT_EQ(ja, jb);

  for (const char* shell : {"bash", "zsh", "fish"}) {
    CliRun c = Dfs(std::string("completion ") + shell);
    EXPECT_EQ(c.exit_code, 0);
    EXPECT_NE(c.output.find("start"), std::string::npos) << shell;
  }
  EXPECT_NE(Dfs("completion tcsh").exit_code, 0);
}

}  // namespace
}  // namespace dittofs::integration

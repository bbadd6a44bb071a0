// SPDX-License-Identifier: Apache-2.0
#include "config/config.h"

#include <gtest/gtest.h>

#include <map>

#include "testing/status_matchers.h"

namespace dittofs::config {
namespace {

EnvLookup Env(std::map<std::string, std::string> vars) {
  return [vars](const char* name, std::string* value) {
    auto it = vars.find(name);
    if (it == vars.end()) return false;
    *value = it->second;
    return true;
  };
}

TEST(ConfigTest, DefaultsFollowXdg) {
  auto env = Env({{"HOME", "/home/u"}, {"XDG_STATE_HOME", "/s"}});
  EXPECT_EQ(DefaultConfigPath(env), "/home/u/.config/dittofs/config.yaml");
  EXPECT_EQ(DefaultStateDir(env), "/s/dittofs");
  ASSERT_OK_AND_ASSIGN(Config c, ParseConfig("", env));
  ASSERT_EQ(c.shares.size(), 1u);
  EXPECT_EQ(c.shares[0].name, "/export");
  EXPECT_EQ(c.shares[0].root_mode, 01777u);
  EXPECT_EQ(c.shares[0].squash, "root_to_guest");
  EXPECT_EQ(c.nfs.port, 12049);
}

TEST(ConfigTest, RenderedConfigParsesBackIdentically) {
  auto env = Env({{"HOME", "/h"}});
  Config c = Defaults(env);
  c.nfs.port = 2049;
  c.shares[0].read_only = true;
  c.shares[0].root_mode = 0755;
  c.nfs.inline_fast_calls = false;
  c.shares[0].squash = "all_to_admin";
  c.shares[0].default_permission = "read";
  c.shares[0].allowed_clients = {"10.0.0.0/8", "::1"};
  c.shares[0].denied_clients = {"10.9.0.0/16"};
  ASSERT_OK_AND_ASSIGN(Config back, ParseConfig(RenderConfig(c), env));
  EXPECT_FALSE(back.nfs.inline_fast_calls);
  EXPECT_EQ(back.shares[0].squash, "all_to_admin");
  EXPECT_EQ(back.shares[0].default_permission, "read");
  EXPECT_EQ(back.shares[0].allowed_clients, c.shares[0].allowed_clients);
  EXPECT_EQ(back.shares[0].denied_clients, c.shares[0].denied_clients);
  EXPECT_EQ(back.nfs.port, 2049);
  EXPECT_TRUE(back.shares[0].read_only);
  EXPECT_EQ(back.shares[0].root_mode, 0755u);
}

TEST(ConfigTest, EnvironmentOverridesFile) {
  auto env =
      Env({{"HOME", "/h"}, {"DITTOFS_NFS_PORT", "3049"}, {"DITTOFS_LOGGING_LEVEL", "debug"}});
  ASSERT_OK_AND_ASSIGN(Config c, ParseConfig("nfs:\n  port: 1000\n", env));
  EXPECT_EQ(c.nfs.port, 3049);
  EXPECT_EQ(c.logging.level, "debug");
}

TEST(ConfigTest, RejectsTyposAndBadValues) {
  auto env = Env({{"HOME", "/h"}});
  EXPECT_THAT(ParseConfig("nfs:\n  prot: 1\n", env), testing::StatusIs(Errc::kInvalid));
  EXPECT_THAT(ParseConfig("nfs:\n  port: 70000\n", env), testing::StatusIs(Errc::kInvalid));
  EXPECT_THAT(ParseConfig("logging:\n  level: loud\n", env), testing::StatusIs(Errc::kInvalid));
  EXPECT_THAT(ParseConfig("shares:\n  - name: x\n", env), testing::StatusIs(Errc::kInvalid));
  EXPECT_THAT(ParseConfig("shares: [\n", env), testing::StatusIs(Errc::kInvalid));
  EXPECT_THAT(ParseConfig("x", env), testing::StatusIs(Errc::kInvalid));
  auto bad_env = Env({{"HOME", "/h"}, {"DITTOFS_NFS_PORT", "abc"}});
  EXPECT_THAT(ParseConfig("", bad_env), testing::StatusIs(Errc::kInvalid));
}

}  // namespace
}  // namespace dittofs::config

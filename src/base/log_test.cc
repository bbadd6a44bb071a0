// SPDX-License-Identifier: Apache-2.0
#include "base/log.h"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <sstream>
#include <string>

namespace dittofs::log {
namespace {

TEST(LogTest, EscapeControlsLeavesTextAndEscapesEveryControlCharacter) {
  EXPECT_EQ(EscapeControls("plain /export/ünï"), "plain /export/ünï");
  EXPECT_EQ(EscapeControls("a\nb\rc\td"), "a\\nb\\rc\\td");
  EXPECT_EQ(EscapeControls(std::string("\x1b[31m\x7f\0z", 8)), "\\x1b[31m\\x7f\\x00z");
}

// Issue 11: a name a client chose cannot forge log lines.
TEST(LogTest, AMessageIsOneLineWhateverItCarries) {
  char path[] = "/tmp/dittofs-log-test-XXXXXX";
  int fd = mkstemp(path);
  ASSERT_GE(fd, 0);
  close(fd);
  Init(Level::kInfo, Format::kText, path);
  LOG_INFO("mount: asked for {}", "/export\n2026-01-01T00:00:00.000 error forged line");
  Flush();
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  unlink(path);
  const std::string log = text.str();
  EXPECT_EQ(std::count(log.begin(), log.end(), '\n'), 1) << log;
  EXPECT_NE(log.find("/export\\n2026-01-01"), std::string::npos) << log;
  Init(Level::kInfo, Format::kText);
}

}  // namespace
}  // namespace dittofs::log

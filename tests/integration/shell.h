// SPDX-License-Identifier: Apache-2.0
#pragma once

// Running command lines from tests: the real clients (smbclient, python3 with impacket, the
// dfs binary itself) are driven through the shell.

#include <string>

namespace dittofs::integration {

struct ShellRun {
  int exit_code = -1;  // -1 when the command could not run or did not exit normally
  std::string output;  // stdout and stderr, interleaved
};

// Runs `command` with /bin/sh; returns its exit code and everything it printed.
ShellRun Shell(const std::string& command);

// `s` quoted for the shell, as one word.
std::string Quote(const std::string& s);

}  // namespace dittofs::integration

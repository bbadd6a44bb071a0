// SPDX-License-Identifier: Apache-2.0
#pragma once

// Running command lines from tests: the real clients (smbclient, python3 with impacket, the
// dfs binary itself) are driven through the shell.

#include <cstdint>
#include <map>
#include <string>

namespace dittofs::integration {

struct ShellRun {
  int exit_code = -1;  // -1 when the command could not run or did not exit normally
  std::string output;  // stdout and stderr, interleaved
};

// Runs `command` with /bin/sh; returns its exit code and everything it printed.
ShellRun Shell(const std::string& command);

// The "key=value" lines of `text` (what the test clients print), by key.
std::map<std::string, std::string> KeyValues(const std::string& text);

// `s` quoted for the shell, as one word.
std::string Quote(const std::string& s);

// An admin's bearer token from the REST API of the dfs listening on `api_port` (the first login
// must change the generated password: it is changed, and changed back). Empty, with the reason
// in `*error`, when it could not get one.
std::string AdminTokenViaApi(uint16_t api_port, const std::string& admin_password,
                             std::string* error);

// Creates the user `name` (uid and gid `uid`, password `password`) through the REST API of the
// dfs listening on `api_port`, with read-write on /export, as admin. False, with the reason in
// `*error`, when it could not.
bool CreateUserViaApi(uint16_t api_port, const std::string& admin_password, const std::string& name,
                      const std::string& password, uint32_t uid, std::string* error);

// PUTs setting `key` to `value` with `token`; the HTTP status ("200").
std::string PutSettingViaApi(uint16_t api_port, const std::string& token, const std::string& key,
                             const std::string& value);

}  // namespace dittofs::integration

// SPDX-License-Identifier: Apache-2.0
#pragma once

// dfsctl's saved contexts: which server to talk to, as whom, and the tokens of the last login.
// They live in $XDG_CONFIG_HOME/dfsctl/config.json (or ~/.config/dfsctl/config.json), a file
// of mode 0600 in a directory of mode 0700, since it holds bearer tokens.

#include <map>
#include <string>

#include "base/result.h"

namespace dittofs::dfsctl {

struct Context {
  std::string server;  // base URL, e.g. http://localhost:8080
  std::string username;
  std::string access_token;   // empty when logged out
  std::string refresh_token;  // empty when logged out
};

struct Contexts {
  std::string current;  // name of the context commands use; empty when there is none
  std::map<std::string, Context> by_name;
};

// The path of the config file, from $XDG_CONFIG_HOME or $HOME.
Result<std::string> ContextsPath();

// Reads the config file; a missing file is an empty Contexts.
Result<Contexts> LoadContexts();

// Writes the config file atomically (temporary file + rename), creating its directory.
Status SaveContexts(const Contexts& contexts);

}  // namespace dittofs::dfsctl

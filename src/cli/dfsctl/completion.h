// SPDX-License-Identifier: Apache-2.0
#pragma once

// Shell completion scripts generated from dfsctl's own command tree (CLI11 has no generator),
// so they always offer exactly the commands and options the binary parses.

#include <CLI/CLI.hpp>
#include <string>

#include "base/result.h"

namespace dittofs::dfsctl {

// The completion script for `shell` (bash, zsh or fish) for the commands under `root`.
Result<std::string> CompletionScript(CLI::App& root, const std::string& shell);

}  // namespace dittofs::dfsctl

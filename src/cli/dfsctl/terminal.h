// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <string>

#include "base/result.h"

namespace dittofs::dfsctl {

// True when standard input is a terminal.
bool StdinIsTerminal();

// Reads one line from standard input, without its line ending. When stdin is a terminal it
// first writes `prompt` to stderr and turns echo off while the line is typed. Fails at end of
// input.
Result<std::string> ReadSecret(const std::string& prompt);

// Like ReadSecret, but echoes what is typed.
Result<std::string> ReadLine(const std::string& prompt);

}  // namespace dittofs::dfsctl

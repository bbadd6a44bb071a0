// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstddef>
#include <string>

#include "base/result.h"

namespace dittofs::dfsctl {

// True when standard input is a terminal.
bool StdinIsTerminal();

// True when standard output is a terminal.
bool StdoutIsTerminal();

// The width of the terminal standard output goes to, in columns; 80 when it is not known.
size_t TerminalWidth();

// Reads one line from standard input, without its line ending. When stdin is a terminal it
// first writes `prompt` to stderr and turns echo off while the line is typed. Fails at end of
// input.
Result<std::string> ReadSecret(const std::string& prompt);

// Like ReadSecret, but echoes what is typed.
Result<std::string> ReadLine(const std::string& prompt);

}  // namespace dittofs::dfsctl

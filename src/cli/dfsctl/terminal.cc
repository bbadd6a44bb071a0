// SPDX-License-Identifier: Apache-2.0
#include "cli/dfsctl/terminal.h"

#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>

#include <iostream>

namespace dittofs::dfsctl {
namespace {

Result<std::string> ReadOneLine() {
  std::string line;
  if (!std::getline(std::cin, line)) return Status(Errc::kInvalid, "no input on stdin");
  if (!line.empty() && line.back() == '\r') line.pop_back();
  return line;
}

}  // namespace

bool StdinIsTerminal() { return isatty(STDIN_FILENO) == 1; }

bool StdoutIsTerminal() { return isatty(STDOUT_FILENO) == 1; }

size_t TerminalWidth() {
  winsize size{};
  if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &size) != 0 || size.ws_col == 0) return 80;
  return size.ws_col;
}

Result<std::string> ReadLine(const std::string& prompt) {
  if (StdinIsTerminal()) std::cerr << prompt << std::flush;
  return ReadOneLine();
}

Result<std::string> ReadSecret(const std::string& prompt) {
  if (!StdinIsTerminal()) return ReadOneLine();
  std::cerr << prompt << std::flush;
  termios saved{};
  bool restore = tcgetattr(STDIN_FILENO, &saved) == 0;
  if (restore) {
    termios quiet = saved;
    quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO);
    tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet);
  }
  Result<std::string> line = ReadOneLine();
  if (restore) tcsetattr(STDIN_FILENO, TCSAFLUSH, &saved);
  std::cerr << "\n";
  return line;
}

}  // namespace dittofs::dfsctl

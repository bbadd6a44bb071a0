// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <fmt/format.h>

#include <string>
#include <string_view>

namespace dittofs::log {

enum class Level { kDebug, kInfo, kWarn, kError };
enum class Format { kText, kJson };

// Configures the process-wide logger; safe to call again to change level or format.
// `file` empty means standard error.
void Init(Level level, Format format, const std::string& file = "");
bool ParseLevel(std::string_view name, Level* out);
// Change the level or format of the running logger (settings applied live).
void SetLevel(Level level);
void SetFormat(Format format);
bool Enabled(Level level);
void Write(Level level, std::string_view message);
void Flush();
// `text` with every control character (newlines, escapes, DEL) written as \n, \r, \t or \xNN,
// so that one message is one line and shows as it is: messages carry names and paths that
// clients chose. Write applies it to every text-format message.
std::string EscapeControls(std::string_view text);

}  // namespace dittofs::log

#define DFS_LOG(level, ...)                                                          \
  do {                                                                               \
    if (::dittofs::log::Enabled(::dittofs::log::Level::level))                       \
      ::dittofs::log::Write(::dittofs::log::Level::level, fmt::format(__VA_ARGS__)); \
  } while (0)
#define LOG_DEBUG(...) DFS_LOG(kDebug, __VA_ARGS__)
#define LOG_INFO(...) DFS_LOG(kInfo, __VA_ARGS__)
#define LOG_WARN(...) DFS_LOG(kWarn, __VA_ARGS__)
#define LOG_ERROR(...) DFS_LOG(kError, __VA_ARGS__)

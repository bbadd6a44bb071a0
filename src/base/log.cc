// SPDX-License-Identifier: Apache-2.0
#include "base/log.h"

#include <spdlog/sinks/basic_file_sink.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <atomic>

namespace dittofs::log {
namespace {

std::atomic<int> g_level{static_cast<int>(Level::kInfo)};
std::atomic<bool> g_json{false};

spdlog::level::level_enum ToSpd(Level level) {
  switch (level) {
    case Level::kDebug:
      return spdlog::level::debug;
    case Level::kInfo:
      return spdlog::level::info;
    case Level::kWarn:
      return spdlog::level::warn;
    case Level::kError:
      return spdlog::level::err;
  }
  return spdlog::level::info;
}

// Escapes a message for a JSON string literal.
std::string JsonEscape(std::string_view in) {
  std::string out;
  out.reserve(in.size() + 8);
  for (unsigned char c : in) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (c < 0x20 || c == 0x7f) {
          out += fmt::format("\\u{:04x}", c);
        } else {
          out += static_cast<char>(c);
        }
    }
  }
  return out;
}

void ApplyPattern(spdlog::logger& logger, Format format) {
  if (format == Format::kJson) {
    logger.set_pattern(R"({"time":"%Y-%m-%dT%H:%M:%S.%fZ","level":"%l",%v})",
                       spdlog::pattern_time_type::utc);
  } else {
    logger.set_pattern("%Y-%m-%dT%H:%M:%S.%e %^%-5l%$ %v");
  }
}

}  // namespace

void SetLevel(Level level) { g_level = static_cast<int>(level); }

void SetFormat(Format format) {
  ApplyPattern(*spdlog::default_logger(), format);
  g_json = format == Format::kJson;
}

void Init(Level level, Format format, const std::string& file) {
  // spdlog keeps loggers in a registry by name; each Init makes a fresh one.
  static std::atomic<int> generation{0};
  std::string name = "dittofs-" + std::to_string(generation.fetch_add(1));
  std::shared_ptr<spdlog::logger> logger =
      file.empty() ? spdlog::stderr_logger_mt(name) : spdlog::basic_logger_mt(name, file);
  ApplyPattern(*logger, format);
  logger->set_level(spdlog::level::trace);
  logger->flush_on(spdlog::level::warn);
  spdlog::set_default_logger(logger);
  g_level = static_cast<int>(level);
  g_json = format == Format::kJson;
}

bool ParseLevel(std::string_view name, Level* out) {
  if (name == "debug" || name == "DEBUG")
    *out = Level::kDebug;
  else if (name == "info" || name == "INFO")
    *out = Level::kInfo;
  else if (name == "warn" || name == "WARN" || name == "warning")
    *out = Level::kWarn;
  else if (name == "error" || name == "ERROR")
    *out = Level::kError;
  else
    return false;
  return true;
}

bool Enabled(Level level) {
  return static_cast<int>(level) >= g_level.load(std::memory_order_relaxed);
}

std::string EscapeControls(std::string_view text) {
  std::string out;
  out.reserve(text.size() + 8);
  for (unsigned char c : text) {
    if (c >= 0x20 && c != 0x7f) {
      out += static_cast<char>(c);
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '\r') {
      out += "\\r";
    } else if (c == '\t') {
      out += "\\t";
    } else {
      out += fmt::format("\\x{:02x}", c);
    }
  }
  return out;
}

void Write(Level level, std::string_view message) {
  if (g_json.load(std::memory_order_relaxed)) {
    spdlog::log(ToSpd(level), "\"msg\":\"{}\"", JsonEscape(message));
    return;
  }
  // Names and paths in messages come from clients: a newline in one must not forge a line.
  const bool plain = std::none_of(message.begin(), message.end(), [](char c) {
    return static_cast<unsigned char>(c) < 0x20 || c == 0x7f;
  });
  spdlog::log(ToSpd(level), "{}", plain ? std::string(message) : EscapeControls(message));
}

void Flush() { spdlog::default_logger()->flush(); }

}  // namespace dittofs::log

// SPDX-License-Identifier: Apache-2.0
#include "cli/dfsctl/units.h"

#include <cctype>
#include <charconv>
#include <cmath>
#include <ctime>
#include <iterator>
#include <limits>
#include <optional>

namespace dittofs::dfsctl {
namespace {

constexpr uint64_t kMax = std::numeric_limits<int64_t>::max();

// Lowercase ASCII, for comparing units.
std::string Lower(std::string_view text) {
  std::string lower(text);
  for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return lower;
}

// The digits at the start of `*text`, taken off it; empty when there are none.
std::string_view TakeDigits(std::string_view* text) {
  size_t n = 0;
  while (n < text->size() && std::isdigit(static_cast<unsigned char>((*text)[n]))) ++n;
  std::string_view digits = text->substr(0, n);
  text->remove_prefix(n);
  return digits;
}

// `digits` (only digits) as a number; nullopt when it does not fit in 64 bits.
std::optional<uint64_t> ToNumber(std::string_view digits) {
  uint64_t value = 0;
  auto [end, error] = std::from_chars(digits.data(), digits.data() + digits.size(), value);
  if (digits.empty() || error != std::errc() || end != digits.data() + digits.size()) {
    return std::nullopt;
  }
  return value;
}

// What one of a size's units stands for; 0 for no unit we know.
uint64_t SizeMultiplier(std::string_view unit) {
  const std::string lower = Lower(unit);
  if (lower.empty() || lower == "b") return 1;
  constexpr std::string_view kPrefixes = "kmgtp";
  size_t power = kPrefixes.find(lower[0]);
  if (power == std::string_view::npos) return 0;
  std::string_view rest = std::string_view(lower).substr(1);
  uint64_t base;
  if (rest.empty() || rest == "ib") {
    base = 1024;
  } else if (rest == "b") {
    base = 1000;
  } else {
    return 0;
  }
  uint64_t multiplier = 1;
  for (size_t i = 0; i <= power; ++i) multiplier *= base;
  return multiplier;
}

// What one of a duration's units stands for, in seconds; 0 for no unit we know.
uint64_t DurationMultiplier(char unit) {
  switch (unit) {
    case 'w':
      return 7 * 24 * 3600;
    case 'd':
      return 24 * 3600;
    case 'h':
      return 3600;
    case 'm':
      return 60;
    case 's':
      return 1;
    default:
      return 0;
  }
}

}  // namespace

Result<uint64_t> ParseSize(std::string_view text) {
  Status invalid(Errc::kInvalid, "'" + std::string(text) +
                                     "' is not a size: write bytes, or a number with a unit "
                                     "such as 512M, 10G, 1.5T or 10GiB");
  std::string_view rest = text;
  std::optional<uint64_t> whole = ToNumber(TakeDigits(&rest));
  std::string_view fraction;
  if (!rest.empty() && rest.front() == '.') {
    rest.remove_prefix(1);
    fraction = TakeDigits(&rest);
    if (fraction.empty()) return invalid;
  }
  if (!whole) return invalid;
  uint64_t multiplier = SizeMultiplier(rest);
  // A fraction of a byte means nothing: a fraction needs a unit above bytes.
  if (multiplier == 0 || (!fraction.empty() && multiplier == 1)) return invalid;
  Status too_big(Errc::kInvalid,
                 "size '" + std::string(text) + "' is over " + std::to_string(kMax) + " bytes");
  if (*whole > kMax / multiplier) return too_big;
  uint64_t bytes = *whole * multiplier;
  // The fraction's bytes, rounded down. Its digits past the 18th are left out: with units up
  // to P (2^50) they are worth less than a hundredth of a byte.
  uint64_t numerator = 0, denominator = 1;
  for (char c : fraction.substr(0, 18)) {
    numerator = numerator * 10 + static_cast<uint64_t>(c - '0');
    denominator *= 10;
  }
  // Below 2^50 * 10^18 < 2^110: exact in 128 bits.
  uint64_t extra_bytes =
      static_cast<uint64_t>(static_cast<unsigned __int128>(multiplier) * numerator / denominator);
  if (extra_bytes > kMax - bytes) return too_big;
  return bytes + extra_bytes;
}

Result<uint64_t> ParseDuration(std::string_view text) {
  Status invalid(Errc::kInvalid, "'" + std::string(text) +
                                     "' is not a duration: write seconds, or numbers with units "
                                     "w, d, h, m, s such as 7d, 12h, 1d12h or 90s");
  Status too_long(Errc::kInvalid, "duration '" + std::string(text) + "' is too long");
  std::string_view rest = text;
  std::optional<uint64_t> number = ToNumber(TakeDigits(&rest));
  if (!number) return invalid;
  if (rest.empty()) {
    if (*number > kMax) return too_long;
    return *number;
  }
  uint64_t seconds = 0;
  while (true) {
    if (rest.empty()) return invalid;  // a number without its unit
    uint64_t multiplier = DurationMultiplier(rest.front());
    if (multiplier == 0) return invalid;
    rest.remove_prefix(1);
    if (*number > kMax / multiplier || *number * multiplier > kMax - seconds) return too_long;
    seconds += *number * multiplier;
    if (rest.empty()) return seconds;
    number = ToNumber(TakeDigits(&rest));
    if (!number) return invalid;
  }
}

std::string FormatSize(uint64_t bytes) {
  constexpr const char* kUnits[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
  if (bytes < 1024) return std::to_string(bytes) + " B";
  size_t unit = 0;
  long double value = static_cast<long double>(bytes);
  while (value >= 1024 && unit + 1 < std::size(kUnits)) {
    value /= 1024;
    ++unit;
  }
  // One decimal, rounded; 1023.96 KiB reads better as 1 MiB than as 1024.0 KiB.
  long double tenths = std::round(value * 10);
  if (tenths >= 10240 && unit + 1 < std::size(kUnits)) {
    tenths = std::round(tenths / 1024);
    ++unit;
  }
  uint64_t whole = static_cast<uint64_t>(tenths) / 10;
  uint64_t decimal = static_cast<uint64_t>(tenths) % 10;
  std::string text = std::to_string(whole);
  if (decimal != 0) text += "." + std::to_string(decimal);
  return text + " " + kUnits[unit];
}

std::string FormatDuration(uint64_t seconds, int max_units) {
  constexpr struct {
    uint64_t seconds;
    char name;
  } kUnits[] = {{24 * 3600, 'd'}, {3600, 'h'}, {60, 'm'}, {1, 's'}};
  std::string text;
  int units = 0;
  for (const auto& unit : kUnits) {
    // Units count from the largest one written, zeros included: with max_units 2, 1d0h5m
    // is written 1d.
    if (units > 0) ++units;
    uint64_t n = seconds / unit.seconds;
    seconds %= unit.seconds;
    if (units == 0 && n != 0) units = 1;
    if (units > max_units) break;
    if (n != 0) text += std::to_string(n) + unit.name;
  }
  return text.empty() ? "0s" : text;
}

Result<int64_t> ParseUtcTime(std::string_view text) {
  Status invalid(Errc::kInvalid, "'" + std::string(text) +
                                     "' is not an RFC 3339 time in UTC (2024-05-01T10:00:00Z)");
  // YYYY-MM-DDTHH:MM:SS, a fraction of a second (ignored), then Z or +00:00.
  if (text.size() < 20) return invalid;
  constexpr std::string_view kShape = "dddd-dd-ddTdd:dd:dd";
  for (size_t i = 0; i < kShape.size(); ++i) {
    bool digit = std::isdigit(static_cast<unsigned char>(text[i]));
    if (kShape[i] == 'd' ? !digit
                         : std::toupper(static_cast<unsigned char>(text[i])) != kShape[i]) {
      return invalid;
    }
  }
  std::string_view zone = text.substr(kShape.size());
  if (!zone.empty() && zone.front() == '.') {
    zone.remove_prefix(1);
    if (TakeDigits(&zone).empty()) return invalid;
  }
  if (zone != "Z" && zone != "z" && zone != "+00:00") return invalid;
  auto field = [&](size_t at, size_t n) { return static_cast<int>(*ToNumber(text.substr(at, n))); };
  std::tm tm{};
  tm.tm_year = field(0, 4) - 1900;
  tm.tm_mon = field(5, 2) - 1;
  tm.tm_mday = field(8, 2);
  tm.tm_hour = field(11, 2);
  tm.tm_min = field(14, 2);
  tm.tm_sec = field(17, 2);
  if (tm.tm_mon > 11 || tm.tm_mday < 1 || tm.tm_mday > 31 || tm.tm_hour > 23 || tm.tm_min > 59 ||
      tm.tm_sec > 60) {
    return invalid;
  }
  return static_cast<int64_t>(timegm(&tm));
}

}  // namespace dittofs::dfsctl

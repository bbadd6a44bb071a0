// SPDX-License-Identifier: Apache-2.0
#pragma once

// Sizes, durations and times as people type and read them on dfsctl's command line: "10G",
// "1.5 GiB", "7d", "2024-05-01T10:00:00Z".

#include <cstdint>
#include <string>
#include <string_view>

#include "base/result.h"

namespace dittofs::dfsctl {

// A size in bytes: a whole number ("4096"), or a number with a unit, case-insensitive: K, M,
// G, T or P alone or followed by "iB" for powers of 1024 ("10G", "512MiB", "1.5T"), followed
// by "B" for powers of 1000 ("1GB"), or "B" alone for bytes. A number with a unit may have a
// fraction ("1.5G"), which is rounded down to whole bytes. Errc::kInvalid for anything else,
// and for sizes over 2^63 − 1 bytes.
Result<uint64_t> ParseSize(std::string_view text);

// A duration in seconds: a whole number of seconds ("90"), or whole numbers each with a unit,
// w(eeks), d(ays), h(ours), m(inutes) or s(econds), written together ("7d", "12h", "1d12h",
// "90s"). Errc::kInvalid for anything else, and for durations over 2^63 − 1 seconds.
Result<uint64_t> ParseDuration(std::string_view text);

// "512 B", "1 KiB", "1.5 GiB": the largest power of 1024 the size reaches, with one decimal
// unless it is 0.
std::string FormatSize(uint64_t bytes);

// "0s", "90s" as "1m30s", "7d", "1d12h": days, hours, minutes and seconds, at most
// `max_units` of them from the largest (the rest are left out, rounding down).
std::string FormatDuration(uint64_t seconds, int max_units = 4);

// The unix time of an RFC 3339 time in UTC, as the API writes them ("2024-05-01T10:00:00Z").
// Errc::kInvalid for anything else.
Result<int64_t> ParseUtcTime(std::string_view text);

}  // namespace dittofs::dfsctl

// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstdint>
#include <string>

namespace dittofs {

// `unix_seconds` as UTC text in a strftime(3) `format` ("%Y-%m-%dT%H:%M:%SZ"); "" for a time
// struct tm cannot hold, or a text over 63 bytes.
std::string FormatUtc(int64_t unix_seconds, const char* format);

}  // namespace dittofs

// SPDX-License-Identifier: Apache-2.0
#pragma once

// UTF-8 (RFC 3629), one code point at a time: the runtime keeps names in UTF-8, and every
// place that needs code points (case folding, UTF-16 for SMB, wildcard matching) steps
// through them here.

#include <string>
#include <string_view>

namespace dittofs {

// What DecodeUtf8 returns for bytes that are not well-formed UTF-8.
inline constexpr char32_t kNotUtf8 = 0xFFFFFFFF;

// The code point at s[*pos], advancing *pos past it; or kNotUtf8, advancing one byte, where
// the bytes are not a well-formed sequence (overlong forms, surrogates and values past
// U+10FFFF included). REQUIRES: *pos < s.size().
char32_t DecodeUtf8(std::string_view s, size_t* pos);

// Appends the UTF-8 form of `c`. REQUIRES: c <= U+10FFFF.
void AppendUtf8(char32_t c, std::string* out);

}  // namespace dittofs

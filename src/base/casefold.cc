// SPDX-License-Identifier: Apache-2.0
#include "base/casefold.h"

#include <algorithm>
#include <iterator>

namespace dittofs {
namespace {

struct Folding {
  char32_t code;
  char32_t folded;
};

constexpr Folding kFoldings[] = {
#include "base/casefold_table.inc"
};

// One step of UTF-8 decoding (RFC 3629): the code point at name[*pos], advancing *pos, or
// kNotUtf8 (advancing one byte) where the bytes are not a well-formed sequence (overlong forms,
// surrogates and values past U+10FFFF included).
constexpr char32_t kNotUtf8 = 0xFFFFFFFF;

char32_t Decode(std::string_view name, size_t* pos) {
  const auto byte = [&](size_t i) { return static_cast<uint8_t>(name[i]); };
  uint8_t b0 = byte(*pos);
  if (b0 < 0x80) {
    ++*pos;
    return b0;
  }
  size_t len = b0 >= 0xF0 ? 4 : b0 >= 0xE0 ? 3 : b0 >= 0xC0 ? 2 : 0;
  if (len == 0 || b0 > 0xF4 || *pos + len > name.size()) {
    ++*pos;
    return kNotUtf8;
  }
  char32_t c = b0 & (0x7F >> len);
  for (size_t i = 1; i < len; ++i) {
    uint8_t b = byte(*pos + i);
    if ((b & 0xC0) != 0x80) {
      ++*pos;
      return kNotUtf8;
    }
    c = (c << 6) | (b & 0x3F);
  }
  constexpr char32_t kMin[] = {0, 0, 0x80, 0x800, 0x10000};
  if (c < kMin[len] || c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF)) {
    ++*pos;
    return kNotUtf8;
  }
  *pos += len;
  return c;
}

void Encode(char32_t c, std::string* out) {
  if (c < 0x80) {
    out->push_back(static_cast<char>(c));
  } else if (c < 0x800) {
    out->push_back(static_cast<char>(0xC0 | (c >> 6)));
    out->push_back(static_cast<char>(0x80 | (c & 0x3F)));
  } else if (c < 0x10000) {
    out->push_back(static_cast<char>(0xE0 | (c >> 12)));
    out->push_back(static_cast<char>(0x80 | ((c >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (c & 0x3F)));
  } else {
    out->push_back(static_cast<char>(0xF0 | (c >> 18)));
    out->push_back(static_cast<char>(0x80 | ((c >> 12) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | ((c >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (c & 0x3F)));
  }
}

bool IsAscii(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](char c) { return static_cast<uint8_t>(c) < 0x80; });
}

char FoldAscii(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c + 32) : c; }

// The next unit of a folded name: a folded code point, or a raw byte (as kRawBase + byte)
// where the name is not UTF-8, so raw bytes never equal code points.
constexpr char32_t kRawBase = 0x110000;

char32_t NextFolded(std::string_view name, size_t* pos) {
  size_t at = *pos;
  char32_t c = Decode(name, pos);
  if (c == kNotUtf8) return kRawBase + static_cast<uint8_t>(name[at]);
  return FoldCodePoint(c);
}

}  // namespace

char32_t FoldCodePoint(char32_t c) {
  if (c < 0x80) return static_cast<char32_t>(FoldAscii(static_cast<char>(c)));
  const Folding* it = std::lower_bound(std::begin(kFoldings), std::end(kFoldings), c,
                                       [](const Folding& f, char32_t v) { return f.code < v; });
  return it != std::end(kFoldings) && it->code == c ? it->folded : c;
}

std::string FoldCase(std::string_view name) {
  std::string out;
  out.reserve(name.size());
  if (IsAscii(name)) {
    for (char c : name) out.push_back(FoldAscii(c));
    return out;
  }
  for (size_t pos = 0; pos < name.size();) {
    size_t at = pos;
    char32_t c = Decode(name, &pos);
    if (c == kNotUtf8) {
      out.push_back(name[at]);
    } else {
      Encode(FoldCodePoint(c), &out);
    }
  }
  return out;
}

bool EqualFolded(std::string_view a, std::string_view b) {
  size_t i = 0, j = 0;
  while (i < a.size() && j < b.size()) {
    if (NextFolded(a, &i) != NextFolded(b, &j)) return false;
  }
  return i == a.size() && j == b.size();
}

}  // namespace dittofs

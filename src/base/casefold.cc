// SPDX-License-Identifier: Apache-2.0
#include "base/casefold.h"

#include <algorithm>
#include <iterator>

#include "base/utf8.h"

namespace dittofs {
namespace {

struct Folding {
  char32_t code;
  char32_t folded;
};

constexpr Folding kFoldings[] = {
#include "base/casefold_table.inc"
};

bool IsAscii(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](char c) { return static_cast<uint8_t>(c) < 0x80; });
}

char FoldAscii(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c + 32) : c; }

}  // namespace

char32_t NextFolded(std::string_view name, size_t* pos) {
  size_t at = *pos;
  char32_t c = DecodeUtf8(name, pos);
  if (c == kNotUtf8) return kRawByte + static_cast<uint8_t>(name[at]);
  return FoldCodePoint(c);
}

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
    char32_t c = DecodeUtf8(name, &pos);
    if (c == kNotUtf8) {
      out.push_back(name[at]);
    } else {
      AppendUtf8(FoldCodePoint(c), &out);
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

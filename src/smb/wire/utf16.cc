// SPDX-License-Identifier: Apache-2.0
#include "smb/wire/utf16.h"

#include "base/utf8.h"

namespace dittofs::smb::wire {
namespace {

// The code point at s[*i], advancing *i; U+FFFD for bytes that are not UTF-8 (one byte is
// consumed then).
char32_t NextCodePoint(std::string_view s, size_t* i) {
  const char32_t c = DecodeUtf8(s, i);
  return c == kNotUtf8 ? 0xFFFD : c;
}

void Put16(std::vector<std::byte>& out, uint32_t u) {
  out.push_back(std::byte(u & 0xFF));
  out.push_back(std::byte(u >> 8));
}

}  // namespace

Result<std::string> Utf16ToUtf8(ByteView in) {
  if (in.size() % 2 != 0) return Status(Errc::kInvalid, "odd UTF-16 length");
  std::string out;
  out.reserve(in.size());
  for (size_t i = 0; i < in.size(); i += 2) {
    char32_t c = uint32_t(in[i]) | uint32_t(in[i + 1]) << 8;
    if (c >= 0xD800 && c <= 0xDBFF) {
      if (i + 3 >= in.size()) return Status(Errc::kInvalid, "unpaired surrogate");
      const char32_t lo = uint32_t(in[i + 2]) | uint32_t(in[i + 3]) << 8;
      if (lo < 0xDC00 || lo > 0xDFFF) return Status(Errc::kInvalid, "unpaired surrogate");
      c = 0x10000 + ((c - 0xD800) << 10) + (lo - 0xDC00);
      i += 2;
    } else if (c >= 0xDC00 && c <= 0xDFFF) {
      return Status(Errc::kInvalid, "unpaired surrogate");
    }
    AppendUtf8(c, &out);
  }
  return out;
}

void AppendUtf16(std::string_view s, std::vector<std::byte>& out) {
  for (size_t i = 0; i < s.size();) {
    const char32_t c = NextCodePoint(s, &i);
    if (c >= 0x10000) {
      Put16(out, 0xD800 + ((c - 0x10000) >> 10));
      Put16(out, 0xDC00 + ((c - 0x10000) & 0x3FF));
    } else {
      Put16(out, c);
    }
  }
}

std::vector<std::byte> ToUtf16(std::string_view utf8) {
  std::vector<std::byte> out;
  out.reserve(utf8.size() * 2);
  AppendUtf16(utf8, out);
  return out;
}

size_t Utf16Size(std::string_view s) {
  size_t n = 0;
  for (size_t i = 0; i < s.size();) n += NextCodePoint(s, &i) >= 0x10000 ? 4 : 2;
  return n;
}

}  // namespace dittofs::smb::wire

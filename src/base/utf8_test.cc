// SPDX-License-Identifier: Apache-2.0
#include "base/utf8.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace dittofs {
namespace {

std::vector<char32_t> Decode(std::string_view s) {
  std::vector<char32_t> out;
  for (size_t i = 0; i < s.size();) out.push_back(DecodeUtf8(s, &i));
  return out;
}

TEST(Utf8, DecodesEachLength) {
  EXPECT_EQ(Decode("a\xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80"),
            (std::vector<char32_t>{U'a', 0xE9, 0x20AC, 0x1F600}));
}

TEST(Utf8, MalformedBytesAdvanceOneAtATime) {
  // A lone continuation byte, an overlong '/', a surrogate, a value past U+10FFFF, and a
  // truncated sequence at the end.
  EXPECT_EQ(Decode("\x80"), (std::vector<char32_t>{kNotUtf8}));
  EXPECT_EQ(Decode("\xC0\xAF"), (std::vector<char32_t>{kNotUtf8, kNotUtf8}));
  EXPECT_EQ(Decode("\xED\xA0\x80").front(), kNotUtf8);
  EXPECT_EQ(Decode("\xF4\x90\x80\x80").front(), kNotUtf8);
  EXPECT_EQ(Decode("x\xE2\x82"), (std::vector<char32_t>{U'x', kNotUtf8, kNotUtf8}));
}

TEST(Utf8, EncodeRoundTrips) {
  for (char32_t c : {char32_t{0}, char32_t{0x7F}, char32_t{0x80}, char32_t{0x7FF}, char32_t{0x800},
                     char32_t{0xFFFF}, char32_t{0x10000}, char32_t{0x10FFFF}}) {
    std::string s;
    AppendUtf8(c, &s);
    size_t pos = 0;
    EXPECT_EQ(DecodeUtf8(s, &pos), c);
    EXPECT_EQ(pos, s.size());
  }
}

}  // namespace
}  // namespace dittofs

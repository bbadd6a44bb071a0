// SPDX-License-Identifier: Apache-2.0
#include "base/casefold.h"

#include <gtest/gtest.h>

#include <fstream>
#include <random>
#include <sstream>
#include <string>

namespace dittofs {
namespace {

TEST(CaseFoldTest, FoldsNamesByUnicodeSimpleCaseFolding) {
  EXPECT_EQ(FoldCase("README.Txt"), "readme.txt");
  EXPECT_EQ(FoldCase("ÀÉÎÕÜ"), "àéîõü");
  EXPECT_EQ(FoldCase("ΣΊΣΥΦΟΣ"), "σίσυφοσ");
  EXPECT_EQ(FoldCase("σίσυφος"), "σίσυφοσ");  // final sigma folds to sigma
  EXPECT_EQ(FoldCase("ПРИВЕТ"), "привет");
  EXPECT_EQ(FoldCase("Straße"), "straße");          // ß has only a full folding (ss): kept
  EXPECT_EQ(FoldCase("İ"), "İ");                    // only Turkic (T) and full (F) foldings: kept
  EXPECT_EQ(FoldCase("\u212A"), "k");               // KELVIN SIGN
  EXPECT_EQ(FoldCase("\U00010400"), "\U00010428");  // DESERET, four UTF-8 bytes
  EXPECT_EQ(FoldCase("日本語"), "日本語");
  EXPECT_TRUE(EqualFolded("Ab\u00C9", "aB\u00E9"));
  EXPECT_FALSE(EqualFolded("Straße", "STRASSE"));
  EXPECT_FALSE(EqualFolded("a", "ab"));
}

TEST(CaseFoldTest, BytesThatAreNotUtf8PassUnchanged) {
  // A lone continuation byte, a truncated sequence, an overlong '/', a surrogate, past U+10FFFF.
  for (std::string raw : {std::string("\x80"), std::string("\xC3"), std::string("\xC0\xAF"),
                          std::string("\xED\xA0\x80"), std::string("\xF4\x90\x80\x80")}) {
    EXPECT_EQ(FoldCase(raw + "AB"), raw + "ab");
    EXPECT_TRUE(EqualFolded(raw + "AB", raw + "ab"));
    EXPECT_FALSE(EqualFolded(raw, ""));
  }
  // A raw byte never equals a code point, even one whose value it has.
  EXPECT_FALSE(EqualFolded("\xC9", "\u00C9"));
  EXPECT_FALSE(EqualFolded("\xC9", "\u00E9"));
}

// EqualFolded agrees with comparing FoldCase's results, on random short byte strings drawn
// mostly from bytes that form (or break) multi-byte sequences.
TEST(CaseFoldTest, EqualFoldedAgreesWithFoldCase) {
  std::mt19937 rng(7);
  const std::string alphabet = "aAzZ\xC3\x89\xA9\xCE\xA3\xC2\xE2\x84\xAA\xF0\x90\x80\x81";
  std::uniform_int_distribution<size_t> pick(0, alphabet.size() - 1), len(0, 6);
  int equal = 0;
  for (int n = 0; n < 200000; ++n) {
    std::string a, b;
    for (size_t i = len(rng); i > 0; --i) a.push_back(alphabet[pick(rng)]);
    for (size_t i = len(rng); i > 0; --i) b.push_back(alphabet[pick(rng)]);
    if (n % 3 == 0 && !a.empty()) {
      b = a;
      b[0] ^= 0x20;  // 'a' <-> 'A', or a byte that breaks or changes a sequence
    }
    bool same = FoldCase(a) == FoldCase(b);
    ASSERT_EQ(EqualFolded(a, b), same) << '"' << a << "\" vs \"" << b << '"';
    equal += same;
  }
  EXPECT_GT(equal, 1000);  // the comparison saw both outcomes
}

// Every mapping of CaseFolding.txt (Debian's unicode-data), and every code point not in it
// maps to itself. The table in the build was generated from this file by tools/gen_casefold.py.
TEST(CaseFoldTest, MatchesTheUnicodeCharacterDatabase) {
  std::ifstream in("/usr/share/unicode/CaseFolding.txt");
  if (!in)
    GTEST_SKIP() << "/usr/share/unicode/CaseFolding.txt missing (apt-get install unicode-data)";
  std::string line;
  std::vector<char32_t> expected(0x110000);
  for (char32_t c = 0; c < expected.size(); ++c) expected[c] = c;
  size_t mappings = 0;
  while (std::getline(in, line)) {
    line = line.substr(0, line.find('#'));
    std::istringstream fields(line);
    std::string code, status, mapping;
    if (!std::getline(fields, code, ';') || !std::getline(fields, status, ';') ||
        !std::getline(fields, mapping, ';')) {
      continue;
    }
    if (status.find_first_of("CS") == std::string::npos) continue;
    expected[std::stoul(code, nullptr, 16)] =
        static_cast<char32_t>(std::stoul(mapping, nullptr, 16));
    ++mappings;
  }
  EXPECT_GT(mappings, 1400u);
  for (char32_t c = 0; c < expected.size(); ++c) {
    ASSERT_EQ(FoldCodePoint(c), expected[c]) << std::hex << "U+" << uint32_t(c);
  }
}

}  // namespace
}  // namespace dittofs

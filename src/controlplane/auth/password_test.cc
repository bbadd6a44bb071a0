// SPDX-License-Identifier: Apache-2.0
#include "controlplane/auth/password.h"

#include <gtest/gtest.h>
#include <nettle/md4.h>
#include <sodium.h>

#include <cstdint>
#include <string>
#include <vector>

#include "testing/status_matchers.h"

namespace dittofs::controlplane::auth {
namespace {

using ::dittofs::testing::StatusIs;
using ::testing::HasSubstr;
using ::testing::StartsWith;

std::string Md4Hex(const std::vector<uint8_t>& bytes) {
  md4_ctx ctx;
  md4_init(&ctx);
  md4_update(&ctx, bytes.size(), bytes.data());
  uint8_t digest[MD4_DIGEST_SIZE];
  md4_digest(&ctx, sizeof(digest), digest);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string hex;
  for (uint8_t b : digest) {
    hex.push_back(kHex[b >> 4]);
    hex.push_back(kHex[b & 0xF]);
  }
  return hex;
}

TEST(PasswordTest, HashVerifiesAndUsesArgon2id) {
  ASSERT_OK_AND_ASSIGN(std::string hash, HashPassword("correct horse battery staple"));
  EXPECT_THAT(hash, StartsWith("$argon2id$v=19$m=65536,t=3,p=1$"));
  EXPECT_TRUE(VerifyPassword("correct horse battery staple", hash));
  EXPECT_FALSE(VerifyPassword("correct horse battery stapler", hash));
  EXPECT_FALSE(VerifyPassword("", hash));
  EXPECT_FALSE(NeedsRehash(hash));
}

TEST(PasswordTest, SaltsDiffer) {
  ASSERT_OK_AND_ASSIGN(std::string a, HashPassword("same"));
  ASSERT_OK_AND_ASSIGN(std::string b, HashPassword("same"));
  EXPECT_NE(a, b);
  EXPECT_TRUE(VerifyPassword("same", a));
  EXPECT_TRUE(VerifyPassword("same", b));
}

TEST(PasswordTest, NulBytesArePartOfThePassword) {
  ASSERT_OK_AND_ASSIGN(std::string hash, HashPassword(std::string_view("a\0b", 3)));
  EXPECT_TRUE(VerifyPassword(std::string_view("a\0b", 3), hash));
  EXPECT_FALSE(VerifyPassword("a", hash));  // the NUL does not truncate the password
}

TEST(PasswordTest, RejectsOverlongPassword) {
  const std::string huge(kMaxPasswordBytes + 1, 'x');
  EXPECT_THAT(HashPassword(huge), StatusIs(Errc::kInvalid));
  EXPECT_FALSE(VerifyPassword(huge, "$argon2id$v=19$m=65536,t=3,p=1$c2FsdA$aGFzaA"));
}

TEST(PasswordTest, MalformedHashesNeverVerify) {
  EXPECT_FALSE(VerifyPassword("x", ""));
  EXPECT_FALSE(VerifyPassword("x", "not a hash"));
  EXPECT_FALSE(VerifyPassword("x", "8846f7eaee8fb117ad06bdd830b7586c"));
  EXPECT_FALSE(VerifyPassword("x", std::string(500, '$')));
  EXPECT_FALSE(VerifyPassword("x", std::string_view("$argon2id\0$", 11)));
}

TEST(PasswordTest, NeedsRehashForOtherParametersOrGarbage) {
  char weaker[crypto_pwhash_STRBYTES];
  ASSERT_EQ(crypto_pwhash_str(weaker, "pw", 2, crypto_pwhash_OPSLIMIT_INTERACTIVE,
                              crypto_pwhash_MEMLIMIT_INTERACTIVE),
            0);
  EXPECT_TRUE(VerifyPassword("pw", weaker));  // old hashes still verify...
  EXPECT_TRUE(NeedsRehash(weaker));           // ...and are flagged for upgrade
  EXPECT_TRUE(NeedsRehash(""));
  EXPECT_TRUE(NeedsRehash("garbage"));
}

TEST(NtHashTest, KnownVectors) {
  EXPECT_EQ(*NtHash("password"), "8846f7eaee8fb117ad06bdd830b7586c");
  EXPECT_EQ(*NtHash(""), "31d6cfe0d16ae931b73c59d7e0c089c0");
  // MS-NLMP §4.2.2.1.2: NTOWFv1("Password").
  EXPECT_EQ(*NtHash("Password"), "a4f49c406510bdcab6824ee7c30fd852");
}

TEST(NtHashTest, NonAsciiMatchesHandBuiltUtf16le) {
  // "pä€𝄞": U+0070, U+00E4 (2-byte UTF-8), U+20AC (3-byte), U+1D11E (4-byte, a surrogate pair
  // D834 DD1E in UTF-16).
  const std::string utf8 = "p\xC3\xA4\xE2\x82\xAC\xF0\x9D\x84\x9E";
  const std::vector<uint8_t> utf16le = {0x70, 0x00, 0xE4, 0x00, 0xAC, 0x20, 0x34, 0xD8, 0x1E, 0xDD};
  ASSERT_OK_AND_ASSIGN(std::string hash, NtHash(utf8));
  EXPECT_EQ(hash, Md4Hex(utf16le));
  EXPECT_NE(hash, *NtHash("pa"));
}

TEST(NtHashTest, RejectsInvalidUtf8) {
  const char* invalid[] = {
      "\x80",              // stray continuation byte
      "\xC3",              // truncated 2-byte sequence
      "\xE2\x82",          // truncated 3-byte sequence
      "\xC0\xAF",          // overlong '/'
      "\xE0\x80\xAF",      // overlong '/'
      "\xED\xA0\x80",      // UTF-16 surrogate U+D800
      "\xF4\x90\x80\x80",  // U+110000
      "\xFF",              // never valid
      "ok\xC3(",           // bad continuation
  };
  for (const char* text : invalid) {
    Result<std::string> hash = NtHash(text);
    EXPECT_THAT(hash, StatusIs(Errc::kInvalid)) << text;
    if (!hash.ok()) {
      EXPECT_THAT(hash.status().message(), HasSubstr("UTF-8"));
    }
  }
  EXPECT_THAT(NtHash(std::string(kMaxPasswordBytes + 1, 'a')), StatusIs(Errc::kInvalid));
}

}  // namespace
}  // namespace dittofs::controlplane::auth

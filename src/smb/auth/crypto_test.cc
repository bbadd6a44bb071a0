// SPDX-License-Identifier: Apache-2.0
//
// The NTLMv2 example of MS-NLMP section 4.2.4, with the common values of 4.2.1: user "User",
// domain "Domain", password "Password", ServerChallenge 0123456789abcdef, ClientChallenge
// aa*8, Time 0, RandomSessionKey 55*16, and AV pairs NbDomainName "Domain", NbComputerName
// "Server".

#include "smb/auth/crypto.h"

#include <gtest/gtest.h>
#include <nettle/md4.h>

#include <string>
#include <vector>

#include "smb/auth/ntlm.h"

namespace dittofs::smb::auth {
namespace {

std::vector<std::byte> Hex(std::string_view hex) {
  std::vector<std::byte> out;
  std::string digits;
  for (char c : hex) {
    if (c != ' ') digits.push_back(c);
  }
  for (size_t k = 0; k + 1 < digits.size(); k += 2) {
    out.push_back(std::byte(std::stoi(digits.substr(k, 2), nullptr, 16)));
  }
  return out;
}

std::vector<std::byte> Bytes(ByteView b) { return {b.begin(), b.end()}; }

Key16 NtOwfV1(std::string_view password) {
  std::vector<std::byte> utf16 = Utf8ToUtf16(password);
  md4_ctx ctx;
  md4_init(&ctx);
  md4_update(&ctx, utf16.size(), reinterpret_cast<const uint8_t*>(utf16.data()));
  Key16 out;
  md4_digest(&ctx, out.size(), reinterpret_cast<uint8_t*>(out.data()));
  return out;
}

const std::vector<std::byte> kServerChallenge = Hex("0123456789abcdef");
const std::vector<std::byte> kRandomSessionKey(16, std::byte{0x55});
// 4.2.4.1.3 temp: header, Time 0, ClientChallenge, reserved, the AV pairs, and Z(4).
const std::vector<std::byte> kTemp =
    Hex("01010000 00000000 00000000 00000000 aaaaaaaa aaaaaaaa 00000000"
        "02000c00 44006f006d00610069006e00 01000c00 530065007200760065007200"
        "00000000 00000000");
// 4.2.4: the CHALLENGE_MESSAGE's flags, 0xe28a8233.
constexpr uint32_t kFlags = 0xe28a8233;

TEST(NtlmCrypto, NtOwfV1OfPassword) {  // MS-NLMP 4.2.2.1.2
  EXPECT_EQ(Bytes(NtOwfV1("Password")), Hex("a4f49c406510bdcab6824ee7c30fd852"));
}

TEST(NtlmCrypto, Ntlmv2ResponseKeyProofAndSessionKeys) {  // MS-NLMP 4.2.4.1 and 4.2.4.2
  Key16 nt_hash = NtOwfV1("Password");
  Key16 response_key = ResponseKeyNt(nt_hash, Utf8ToUtf16("User"), Utf8ToUtf16("Domain"));
  EXPECT_EQ(Bytes(response_key), Hex("0c868a403bfd7a93a3001ef22ef02e3f"));
  Key16 proof = HmacMd5(response_key, kServerChallenge, kTemp);
  EXPECT_EQ(Bytes(proof), Hex("68cd0ab851e51c96aabc927bebef6a1c"));
  Key16 session_base_key = HmacMd5(response_key, proof);
  EXPECT_EQ(Bytes(session_base_key), Hex("8de40ccadbc14a82f15cb0ad0de95ca3"));
  std::vector<std::byte> encrypted = kRandomSessionKey;
  Rc4(session_base_key).Crypt(encrypted);
  EXPECT_EQ(encrypted, Hex("c5dad2544fc9799094ce1ce90bc9d03e"));
  // And back, as the server does.
  Rc4(session_base_key).Crypt(encrypted);
  EXPECT_EQ(encrypted, kRandomSessionKey);
}

TEST(NtlmCrypto, UppercasesUserOnly) {
  EXPECT_EQ(ResponseKeyNt(NtOwfV1("Password"), Utf8ToUtf16("uSeR"), Utf8ToUtf16("Domain")),
            ResponseKeyNt(NtOwfV1("Password"), Utf8ToUtf16("USER"), Utf8ToUtf16("Domain")));
  EXPECT_NE(ResponseKeyNt(NtOwfV1("Password"), Utf8ToUtf16("User"), Utf8ToUtf16("DOMAIN")),
            ResponseKeyNt(NtOwfV1("Password"), Utf8ToUtf16("User"), Utf8ToUtf16("Domain")));
  EXPECT_EQ(UpperUtf16(Utf8ToUtf16("größe-ÿ-ā-я")), Utf8ToUtf16("GRÖßE-Ÿ-Ā-Я"));
}

TEST(NtlmCrypto, SigningAndSealingKeysAndSignature) {  // MS-NLMP 4.2.4.4
  Key16 random_session_key;
  std::copy(kRandomSessionKey.begin(), kRandomSessionKey.end(), random_session_key.begin());
  Key16 seal_key = SealKey(random_session_key, kFlags, Direction::kClientToServer);
  Key16 sign_key = SignKey(random_session_key, Direction::kClientToServer);
  EXPECT_EQ(Bytes(seal_key), Hex("59f600973cc4960a25480a7c196e4c58"));
  EXPECT_EQ(Bytes(sign_key), Hex("4788dc861b4782f35d43fd98fe1a2d39"));

  std::vector<std::byte> plaintext = Utf8ToUtf16("Plaintext");
  std::byte seq[4] = {};
  Key16 checksum = HmacMd5(sign_key, seq, plaintext);
  EXPECT_EQ(Bytes(ByteView(checksum).first(8)), Hex("70352851f2564309"));

  // SEAL (3.4.3): the data, then the checksum, through one RC4 handle.
  Rc4 handle(seal_key);
  std::vector<std::byte> sealed = plaintext;
  handle.Crypt(sealed);
  EXPECT_EQ(sealed, Hex("54e50165bf1936dc996020c1811b0f06fb5f"));
  auto signature = MessageSignature(sign_key, &handle, 0, plaintext);
  EXPECT_EQ(Bytes(signature), Hex("01000000 7fb38ec5c55d4976 00000000"));
}

TEST(NtlmCrypto, ConstantTimeEqual) {
  EXPECT_TRUE(ConstantTimeEqual(Hex("0102"), Hex("0102")));
  EXPECT_FALSE(ConstantTimeEqual(Hex("0102"), Hex("0103")));
  EXPECT_FALSE(ConstantTimeEqual(Hex("0102"), Hex("01")));
}

}  // namespace
}  // namespace dittofs::smb::auth

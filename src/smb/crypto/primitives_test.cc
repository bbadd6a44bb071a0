// SPDX-License-Identifier: Apache-2.0
// The OpenSSL primitives against their published known answers.
#include "smb/crypto/primitives.h"

#include <gtest/gtest.h>

#include <vector>

#include "smb/crypto/test_hex.h"

namespace dittofs::smb::crypto::internal {
namespace {

using testing::Hex;
using testing::ToHex;

// RFC 4231 section 4.2 and 4.3 (test cases 1 and 2), HMAC-SHA-256.
TEST(HmacSha256, Rfc4231) {
  EXPECT_EQ(
      ToHex(HmacSha256(Hex("0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b"), {AsBytes("Hi There")})),
      "B0344C61D8DB38535CA8AFCEAF0BF12B881DC200C9833DA726E9376C2E32CFF7");
  EXPECT_EQ(
      ToHex(HmacSha256(AsBytes("Jefe"), {AsBytes("what do ya "), AsBytes("want for nothing?")})),
      "5BDCC146BF60754E6A042426089575C75A003F089D2739839DEC58B964EC3843");
}

// RFC 4493 section 4 (the NIST SP 800-38B AES-128 examples).
TEST(AesCmac, Rfc4493) {
  std::vector<std::byte> key = Hex("2b7e151628aed2a6abf7158809cf4f3c");
  std::vector<std::byte> m =
      Hex("6bc1bee22e409f96e93d7e117393172aae2d8a571e03ac9c9eb76fac45af8e51"
          "30c81c46a35ce411e5fbc1191a0a52eff69f2445df4f9b17ad2b417be66c3710");
  ByteView all(m);
  EXPECT_EQ(ToHex(AesCmac(key, {})), "BB1D6929E95937287FA37D129B756746");
  EXPECT_EQ(ToHex(AesCmac(key, {all.first(16)})), "070A16B46B4D4144F79BDD9DD04A287C");
  EXPECT_EQ(ToHex(AesCmac(key, {all.first(40)})), "DFA66747DE9AE63030CA32611497C827");
  EXPECT_EQ(ToHex(AesCmac(key, {all})), "51F0BEBF7E3B9D92FC49741779363CFE");
  // Split input, as Sign and Verify feed it.
  EXPECT_EQ(ToHex(AesCmac(key, {all.first(7), all.subspan(7, 30), all.subspan(37)})),
            "51F0BEBF7E3B9D92FC49741779363CFE");
  // The context is reused per thread: the same answer again, and after another key.
  EXPECT_EQ(ToHex(AesCmac(Hex("00000000000000000000000000000000"), {all})),
            ToHex(AesCmac(Hex("00000000000000000000000000000000"), {all})));
  EXPECT_EQ(ToHex(AesCmac(key, {all.first(16)})), "070A16B46B4D4144F79BDD9DD04A287C");
}

// McGrew and Viega, "The Galois/Counter Mode of Operation", appendix B, test cases 1 and 2:
// with no plaintext the tag is the GMAC of no data.
TEST(AesGmac, GcmTestCase1) {
  std::vector<std::byte> zeros = Hex("00000000000000000000000000000000");
  std::vector<std::byte> iv = Hex("000000000000000000000000");
  EXPECT_EQ(ToHex(AesGmac(zeros, iv, {})), "58E2FCCEFA7E3061367F1D57A4E7455A");
  EXPECT_EQ(ToHex(AesGmac(zeros, iv, {})), "58E2FCCEFA7E3061367F1D57A4E7455A");
}

TEST(Aead, GcmTestCases) {
  std::vector<std::byte> iv = Hex("000000000000000000000000");
  std::vector<std::byte> zero16(16);
  struct Case {
    size_t key_size;
    std::string_view ciphertext;  // of 16 zero bytes (test cases 2 and 14)
    std::string_view tag_empty;   // of no plaintext (test cases 1 and 13)
    std::string_view tag;
  };
  for (const Case& c : {
           Case{16, "0388DACE60B6A392F328C2B971B2FE78", "58E2FCCEFA7E3061367F1D57A4E7455A",
                "AB6E47D42CEC13BDF53A67B21257BDDF"},
           Case{32, "CEA7403D4D606B6E074EC5D3BAF39D18", "530F8AFBC74536B9A963B4F1C4CB738B",
                "D0D1C8A799996BF0265B98B5D48AB919"},
       }) {
    std::vector<std::byte> key(c.key_size);
    std::vector<std::byte> out(16);
    std::vector<std::byte> tag(16);
    ASSERT_TRUE(AeadSeal(AeadMode::kGcm, key, iv, {}, zero16, out, tag));
    EXPECT_EQ(ToHex(out), c.ciphertext);
    EXPECT_EQ(ToHex(tag), c.tag);
    ASSERT_TRUE(AeadSeal(AeadMode::kGcm, key, iv, {}, {}, {}, tag));
    EXPECT_EQ(ToHex(tag), c.tag_empty);

    std::vector<std::byte> back(16);
    ASSERT_TRUE(AeadOpen(AeadMode::kGcm, key, iv, {}, Hex(c.ciphertext), Hex(c.tag), back));
    EXPECT_EQ(back, zero16);
    std::vector<std::byte> bad_tag = Hex(c.tag);
    bad_tag[15] ^= std::byte{1};
    EXPECT_FALSE(AeadOpen(AeadMode::kGcm, key, iv, {}, Hex(c.ciphertext), bad_tag, back));
  }
}

// RFC 3610 section 8, packet vector #1 (13-byte nonce, 8-byte tag).
TEST(Aead, CcmRfc3610PacketVector1) {
  std::vector<std::byte> key = Hex("C0C1C2C3C4C5C6C7C8C9CACBCCCDCECF");
  std::vector<std::byte> nonce = Hex("00000003020100A0A1A2A3A4A5");
  std::vector<std::byte> aad = Hex("0001020304050607");
  std::vector<std::byte> plaintext = Hex("08090A0B0C0D0E0F101112131415161718191A1B1C1D1E");
  std::vector<std::byte> out(plaintext.size());
  std::vector<std::byte> tag(8);
  ASSERT_TRUE(AeadSeal(AeadMode::kCcm, key, nonce, aad, plaintext, out, tag));
  EXPECT_EQ(ToHex(out) + ToHex(tag),
            "588C979A61C663D2F066D0C2C0F989806D5F6B61DAC38417E8D12CFDF926E0");

  std::vector<std::byte> back(plaintext.size());
  ASSERT_TRUE(AeadOpen(AeadMode::kCcm, key, nonce, aad, out, tag, back));
  EXPECT_EQ(back, plaintext);
  aad[0] ^= std::byte{0x80};
  EXPECT_FALSE(AeadOpen(AeadMode::kCcm, key, nonce, aad, out, tag, back));
}

TEST(Aead, RefusesBadParameters) {
  std::vector<std::byte> out(4), tag(16), data(4), short_out(3);
  EXPECT_FALSE(
      AeadSeal(AeadMode::kGcm, Hex("0011"), Hex("000000000000000000000000"), {}, data, out, tag));
  EXPECT_FALSE(AeadSeal(AeadMode::kCcm, std::vector<std::byte>(16), Hex("00"), {}, data, out, tag));
  EXPECT_FALSE(AeadOpen(AeadMode::kGcm, std::vector<std::byte>(16), Hex("000000000000000000000000"),
                        {}, data, tag, short_out));
}

TEST(Sha512, Abc) {
  // FIPS 180-2 appendix C.1: SHA-512("abc").
  EXPECT_EQ(ToHex(Sha512({AsBytes("a"), AsBytes("bc")})),
            "DDAF35A193617ABACC417349AE20413112E6FA4E89A97EA20A9EEEE64B55D39A"
            "2192992A274FC1A836BA3C23A3FEEBBD454D4423643CE80E2A9AC94FA54CA49F");
}

}  // namespace
}  // namespace dittofs::smb::crypto::internal

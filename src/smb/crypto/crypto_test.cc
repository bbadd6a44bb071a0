// SPDX-License-Identifier: Apache-2.0
// SMB key derivation, signing, preauth integrity and encryption against Microsoft's published
// test vectors, round trips and tampering, and python3-impacket as an independent peer.
//
// Vector sources (hex copied from the posts):
//  [311] "SMB 3.1.1 Encryption in Windows 10", Microsoft Open Specifications blog, 2015-09-09,
//        appendix A.1 (AES-128-GCM) and A.2 (AES-128-CCM): the whole preauth integrity chain,
//        the session keys, the signed final SESSION_SETUP response, WRITE encrypted by the client
//        and its response encrypted by the server.
//  [300] "SMB 2 and SMB 3 security in Windows 10: the anatomy of signing and cryptographic
//        keys", same blog, appendix "Key derivation example for SMB 3.0 multichannel".
//  [30e] "Encryption in SMB 3.0: A protocol perspective", same blog, 2012-10-05, "Test vector":
//        keys, WRITE encrypted by a Windows 8 client and its response by Windows Server 2012
//        (whose Nonce fields carry nonzero bytes past the 11 that CCM uses).
// The posts name keys from the client's side: their EncryptionKey is our `decrypt`.
#include "smb/crypto/crypto.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <mutex>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "smb/crypto/test_hex.h"
#include "testing/random_bytes.h"
#include "testing/status_matchers.h"

namespace dittofs::smb::crypto {
namespace {

using ::dittofs::testing::RandomBytes;
using ::dittofs::testing::StatusIs;
using testing::Hex;
using testing::ToHex;

// ---- [311] A.1, AES-128-GCM ----
constexpr std::string_view kGcmNegotiateRequest =
    "FE534D4240000100000000000000010000000000000000000000000000000000FFFE000000000000"
    "0000000000000000000000000000000000000000000000002400050001000000660000004F0D7FA0"
    "09F5B246B2EF62551D7D7C0970000000020000000202100200030203110300000100260000000000"
    "010020000100D1709D7196E1BD0B6EBF95213D76553435763514392649FD6F216ED8BF269CD80000"
    "0200060000000000020002000100";
constexpr std::string_view kGcmHashAfterNegotiateRequest =
    "550442DAF311412870AD9E58E602B0312D61328D6B1AC28F22AF46D6EA581F23A9BFABE0CC041197"
    "6BF3F9DA23D3433352CB48CF00B8659BC1A3695E1B1A52A8";
constexpr std::string_view kGcmNegotiateResponse =
    "FE534D4240000100000000000000010001000000000000000000000000000000FFFE000000000000"
    "000000000000000000000000000000000000000000000000410001001103020039CBCAF329714942"
    "BDCE5D60F09AB3FB27000000000080000000800000008000D1168E69CDAED00109094AB095AED001"
    "80004001C00100006082013C06062B0601050502A08201303082012CA01A3018060A2B0601040182"
    "3702021E060A2B06010401823702020AA282010C048201084E45474F455854530100000000000000"
    "6000000070000000807CC0FD06D6362D02DDE1CF343BFE29C16AA4EA4741FB0EF645DC5C5D3C3E6A"
    "8DE5D0BAEF7A06DC070076174356EDA0000000000000000060000000010000000000000000000000"
    "5C33530DEAF90D4DB2EC4AE3786EC3084E45474F4558545303000000010000004000000098000000"
    "807CC0FD06D6362D02DDE1CF343BFE295C33530DEAF90D4DB2EC4AE3786EC3084000000058000000"
    "3056A05430523027802530233121301F06035504031318546F6B656E205369676E696E6720507562"
    "6C6963204B65793027802530233121301F06035504031318546F6B656E205369676E696E67205075"
    "626C6963204B65790100260000000000010020000100B51C002C28941192737A08344B05CE90786E"
    "EC146D99CDB60AE44E5A86127D270000020004000000000001000200";
constexpr std::string_view kGcmHashAfterNegotiate =
    "ABE4DA6E875F6FB05033AF04DCC38C92888B4E13D1EAB7AA05CADE142064974CB3EAB0782600549B"
    "A27207AA213B0D190B9950FA36D45BE32A888BFEE8389B74";
constexpr std::string_view kGcmSessionSetupRequest1 =
    "FE534D4240000100000000000100800000000000000000000100000000000000FFFE000000000000"
    "00000000000000000000000000000000000000000000000019000001010000000000000058004A00"
    "0000000000000000604806062B0601050502A03E303CA00E300C060A2B06010401823702020AA22A"
    "04284E544C4D5353500001000000978208E200000000000000000000000000000000060380250000"
    "000F";
constexpr std::string_view kGcmHashAfterRequest1 =
    "A5E8AB87E2ADB8FA5F4545D20F1FD2019D66CCD0F4DFD1F762F1DFC8DCB15B98D0BD1F1450F6A0AF"
    "C70F80B353C2D959217681949CF22DF35F31257A281C6A80";
constexpr std::string_view kGcmSessionSetupResponse1 =
    "FE534D4240000100160000C00100010001000000000000000100000000000000FFFE000000000000"
    "250000000010000000000000000000000000000000000000090000004800B300A181B03081ADA003"
    "0A0101A10C060A2B06010401823702020AA281970481944E544C4D53535000020000000C000C0038"
    "00000015828AE25FC0CB7F886E93D6000000000000000050005000440000000A0092270000000F53"
    "005500540033003100310002000C0053005500540033003100310001000C00530055005400330031"
    "00310004000C0053005500540033003100310003000C005300550054003300310031000700080024"
    "8D5C6CCDAED00100000000";
constexpr std::string_view kGcmHashAfterResponse1 =
    "9A095455244172898902B0FBDF5FEFAFD8435BB66A47EB55CB7542732A423F58B12B3ED698BEF387"
    "8D8A346FD9F5CC882DA37AAF2A939290E98B935FC72B3944";
constexpr std::string_view kGcmSessionSetupRequest2 =
    "FE534D4240000100000000000100800000000000000000000200000000000000FFFE000000000000"
    "2500000000100000000000000000000000000000000000001900000101000000000000005800CF01"
    "0000000000000000A18201CB308201C7A0030A0101A28201AA048201A64E544C4D53535000030000"
    "001800180090000000EE00EE00A80000000C000C00580000001A001A0064000000120012007E0000"
    "001000100096010000158288E2060380250000000FA5E34268EF143BE5816251D02C564E9B530055"
    "005400330031003100610064006D0069006E006900730074007200610074006F0072004400520049"
    "005600450052003300310031000000000000000000000000000000000000000000000000002C263D"
    "A5C2D54785E8EDA0552472D3A30101000000000000248D5C6CCDAED001BEA7A53E2DC098EB000000"
    "0002000C0053005500540033003100310001000C0053005500540033003100310004000C00530055"
    "00540033003100310003000C0053005500540033003100310007000800248D5C6CCDAED001060004"
    "00020000000800300030000000000000000000000000300000B61FEFCAA857EA57BF1EDCEBF8974B"
    "8E0EBA5A6DFD9D07A31D11B548F8C9D0CC0A00100000000000000000000000000000000000090016"
    "0063006900660073002F00530055005400330031003100000000000000000000000000133FA6EA15"
    "4880BB44576C6E2490BDE7A31204100100000067890BD408F5680D00000000";
constexpr std::string_view kGcmPreauthHash =
    "B23F3CBFD69487D9832B79B1594A367CDD950909B774C3A4C412B4FCEA9EDDDBA7DB256BA2EA30E9"
    "77F11F9B113247578E0E915C6D2A513B8F2FCA5707DC8770";
constexpr std::string_view kGcmSessionKey = "419FDDF34C1E001909D362AE7FB6AF79";
// The final SESSION_SETUP response, signed (AES-CMAC) with the signing key below.
constexpr std::string_view kGcmSignedResponse =
    "FE534D4240000100000000000100800009000000000000000200000000000000FFFE000000000000"
    "25000000001000006B85A4519A0F3EEA35BA946DD3AFE6B80900000048001D00A11B3019A0030A01"
    "00A3120410010000003932A87523AB660100000000";
constexpr std::string_view kGcmSignature = "6B85A4519A0F3EEA35BA946DD3AFE6B8";
constexpr std::string_view kGcmSigningKey = "8765949DFEAEE105CE9118B45BE988F0";
constexpr std::string_view kGcmClientToServerKey = "A2F5E80E5D59103034F32E52F698E5EC";
constexpr std::string_view kGcmServerToClientKey = "748C50868C90F302962A5C35F5F9A8BF";
constexpr std::string_view kGcmApplicationKey = "099D610789FBE82055B313601C3E8CC4";
constexpr uint64_t kGcmSessionId = 0x100000000025;
constexpr std::string_view kGcmWriteRequest =
    "FE534D4240000100000000000900010008000000000000000500000000000000FFFE000001000000"
    "25000000001000000000000000000000000000000000000031007000170000000000000000000000"
    "0600000004000000010000000400000000000000000000007000000000000000536D623320656E63"
    "72797074696F6E2074657374696E67";
constexpr std::string_view kGcmWriteRequestTransformed =
    "FD534D42BD73D97D2BC9001BCAFAC0FDFF5FEEBCC7D6822D269CAF48904C664C0000000087000000"
    "0000010025000000001000006ECDD2A7AFC7B47763057A041B8FD4DAFFE990B70C9E09D36C084E02"
    "D14EF247F8BDE38ACF6256F8B1D3B56F77FBDEB312FEA5E92CBCC1ED8FB2EBBFAA75E49A4A394BB4"
    "4576545567C24D4C014D47C9FBDFDAFD2C4F9B72F8D256452620A299F48E29E53D6B61D1C13A19E9"
    "1AF013F00D17E3ABC2FC3D36C8C1B6B93973253852DBD442E46EE8";
constexpr std::string_view kGcmWriteResponseNonce = "E06831DD2E8EB7B40000000000000000";
constexpr std::string_view kGcmWriteResponse =
    "FE534D4240000100000000000900010001000000000000000500000000000000FFFE000001000000"
    "25000000001000000000000000000000000000000000000011000000170000000000000000000000";
constexpr std::string_view kGcmWriteResponseTransformed =
    "FD534D42ACBE1CB7ED343ADF1725EF144D90D4B0E06831DD2E8EB7B4000000000000000050000000"
    "00000100250000000010000026BBBF949983A6C1C796559D0F2C510CB651D1F7B6AC8DED32A2A0B8"
    "F2D793A815C6F6B848D69767A215841A42D400AE6DDB5F0B44173A014973321FDD7950DA6179159B"
    "82E03C9E18A050FF0EA1C967";

// ---- [311] A.2, AES-128-CCM ----
constexpr std::string_view kCcmPreauthHash =
    "DECF98A420718718F22090D3580FCC5E484BD310FA1268210C6E86335A8891E767F5BCD99FA5A785"
    "9D665AD07A73EA94E1BCDB7CFA69A6962A28A244138340B1";
constexpr std::string_view kCcmSessionKey = "07B7F69C1E2581662DF6987E88F9E891";
constexpr std::string_view kCcmSigningKey = "3DCC82C5795AE27F383242761078C59B";
constexpr std::string_view kCcmClientToServerKey = "DFAAA31AAE40A2485D47AC4DF09FDA1D";
constexpr std::string_view kCcmServerToClientKey = "95C544AEF6072680DA1CE49A68A97FA6";
constexpr std::string_view kCcmApplicationKey = "7A2F0F73EC2D530879B2913BBFCE242F";
constexpr std::string_view kCcmSignedResponse =
    "FE534D4240000100000000000100800009000000000000000200000000000000FFFE000000000000"
    "21000000001000003676196AEE8CA17E5D50A53642EF2BE40900000048001D00A11B3019A0030A01"
    "00A3120410010000000F57444342A2717E00000000";
constexpr std::string_view kCcmSignature = "3676196AEE8CA17E5D50A53642EF2BE4";
constexpr uint64_t kCcmSessionId = 0x100000000021;
constexpr std::string_view kCcmWriteRequest =
    "FE534D4240000100000000000900010008000000000000000500000000000000FFFE000001000000"
    "21000000001000000000000000000000000000000000000031007000170000000000000000000000"
    "0500000004000000010000000400000000000000000000007000000000000000536D623320656E63"
    "72797074696F6E2074657374696E67";
constexpr std::string_view kCcmWriteRequestTransformed =
    "FD534D42E89551D666DAB8993488F5A97103116C9F6F1EAAD7E9F24AACD38F000000000087000000"
    "00000100210000000010000056A74778199A9D2B6E9C3A376FD88D27680694FED253A313BEB07381"
    "AE8689F973ACDB8D716E4477803BCE53A92E1B81FA3E965AD9AF2C89C08CE66A344664453B8FC881"
    "18EDC9814CF58E92AA465E6EFB09958A9FDAD96FBD55B36A710C30D5E7C64AD7B9449F9F17EDD024"
    "FE8BA79154F340A82740D1D5180C69B0A2DE6A4BA893BD55D3210E";
constexpr std::string_view kCcmWriteResponseNonce = "D96831DD2E8EB7B40000000000000000";
constexpr std::string_view kCcmWriteResponse =
    "FE534D4240000100000000000900010001000000000000000500000000000000FFFE000001000000"
    "21000000001000000000000000000000000000000000000011000000170000000000000000000000";
constexpr std::string_view kCcmWriteResponseTransformed =
    "FD534D42DD33EC41A927DD51476FE887C2D3C136D96831DD2E8EB7B4000000000000000050000000"
    "000001002100000000100000F783157E0F6F1C055D746753CA16D20C21088E2A67564E056C2F68A7"
    "F14F226C3BD809B7A2D52E5FE4ECF49821BC6001733430CF174E2764B3CCB213AAD8BB9FBAF6C15E"
    "13D9120965390E004A96A3F7";

std::array<std::byte, 16> Nonce16(std::string_view hex) {
  std::vector<std::byte> v = Hex(hex);
  std::array<std::byte, 16> out{};
  std::copy(v.begin(), v.end(), out.begin());
  return out;
}

TEST(PreauthHash, MicrosoftChain) {
  PreauthHash connection;
  EXPECT_EQ(ToHex(connection.value()), std::string(128, '0'));
  connection.Update(Hex(kGcmNegotiateRequest));
  EXPECT_EQ(ToHex(connection.value()), kGcmHashAfterNegotiateRequest);
  connection.Update(Hex(kGcmNegotiateResponse));
  EXPECT_EQ(ToHex(connection.value()), kGcmHashAfterNegotiate);

  PreauthHash session = connection;  // the session's hash starts from the connection's
  session.Update(Hex(kGcmSessionSetupRequest1));
  EXPECT_EQ(ToHex(session.value()), kGcmHashAfterRequest1);
  session.Update(Hex(kGcmSessionSetupResponse1));
  EXPECT_EQ(ToHex(session.value()), kGcmHashAfterResponse1);
  session.Update(Hex(kGcmSessionSetupRequest2));
  EXPECT_EQ(ToHex(session.value()), kGcmPreauthHash);
  EXPECT_EQ(ToHex(connection.value()), kGcmHashAfterNegotiate);  // the copy is independent
}

TEST(DeriveKeys, Smb311Gcm) {
  SessionKeys keys =
      DeriveKeys(kDialect311, Hex(kGcmSessionKey), Hex(kGcmPreauthHash), Cipher::kAes128Gcm);
  EXPECT_EQ(ToHex(keys.signing), kGcmSigningKey);
  EXPECT_EQ(ToHex(keys.encrypt), kGcmServerToClientKey);
  EXPECT_EQ(ToHex(keys.decrypt), kGcmClientToServerKey);
  EXPECT_EQ(ToHex(keys.application), kGcmApplicationKey);
}

TEST(DeriveKeys, Smb311Ccm) {
  SessionKeys keys =
      DeriveKeys(kDialect311, Hex(kCcmSessionKey), Hex(kCcmPreauthHash), Cipher::kAes128Ccm);
  EXPECT_EQ(ToHex(keys.signing), kCcmSigningKey);
  EXPECT_EQ(ToHex(keys.encrypt), kCcmServerToClientKey);
  EXPECT_EQ(ToHex(keys.decrypt), kCcmClientToServerKey);
  EXPECT_EQ(ToHex(keys.application), kCcmApplicationKey);
}

TEST(DeriveKeys, Smb300Multichannel) {
  for (uint16_t dialect : {kDialect300, kDialect302}) {
    SessionKeys keys =
        DeriveKeys(dialect, Hex("7CD451825D0450D235424E44BA6E78CC"), {}, Cipher::kNone);
    EXPECT_EQ(ToHex(keys.signing), "0B7E9C5CAC36C0F6EA9AB275298CEDCE");
    EXPECT_EQ(ToHex(keys.encrypt), "B0F0427F7CEB416D1D9DCC0CD4F99447");
    EXPECT_EQ(ToHex(keys.decrypt), "FAD27796665B313EBB578F388632B4F7");
    EXPECT_EQ(ToHex(keys.application), "BB23A4575AA26C721AF525AF15A87B4F");
    // The second channel's own session key gives its Channel.SigningKey.
    EXPECT_EQ(
        ToHex(DeriveKeys(dialect, Hex("4E01A2B313BCF660CC250BEF021AEDE6"), {}, Cipher::kAes128Ccm)
                  .signing),
        "BA1A17DBBFEC349BCA105563D598952F");
  }
}

TEST(DeriveKeys, Smb2UsesTheSessionKey) {
  for (uint16_t dialect : {kDialect202, kDialect210}) {
    SessionKeys keys =
        DeriveKeys(dialect, Hex("00112233445566778899AABBCCDDEEFF0102"), {}, Cipher::kNone);
    EXPECT_EQ(ToHex(keys.signing), "00112233445566778899AABBCCDDEEFF");
    EXPECT_TRUE(keys.encrypt.empty());
    EXPECT_TRUE(keys.decrypt.empty());
    EXPECT_TRUE(keys.application.empty());
  }
  // A short key is right-padded with zeros (MS-SMB2 3.3.1.8 Session.SessionKey).
  EXPECT_EQ(ToHex(DeriveKeys(kDialect210, Hex("0102"), {}, Cipher::kNone).signing),
            "01020000000000000000000000000000");
}

TEST(DeriveKeys, Aes256KeysAre32Bytes) {
  std::vector<std::byte> preauth(64, std::byte{7});
  for (Cipher c : {Cipher::kAes256Ccm, Cipher::kAes256Gcm}) {
    SessionKeys keys = DeriveKeys(kDialect311, Hex(kGcmSessionKey), preauth, c);
    EXPECT_EQ(keys.signing.size(), 16u);
    EXPECT_EQ(keys.application.size(), 16u);
    EXPECT_EQ(keys.encrypt.size(), 32u);
    EXPECT_EQ(keys.decrypt.size(), 32u);
    EXPECT_NE(keys.encrypt, keys.decrypt);
    // L is part of the KDF's input: a 256-bit key does not start with the 128-bit one.
    SessionKeys keys128 = DeriveKeys(kDialect311, Hex(kGcmSessionKey), preauth, Cipher::kAes128Gcm);
    EXPECT_NE(ToHex(ByteView(keys.encrypt).first(16)), ToHex(keys128.encrypt));
    EXPECT_EQ(keys.signing, keys128.signing);
  }
}

TEST(Kdf, MultipleBlocks) {
  std::vector<std::byte> key = Hex(kGcmSessionKey);
  std::vector<std::byte> long_key = Kdf(key, AsBytes("label"), AsBytes("context"), 80);
  ASSERT_EQ(long_key.size(), 80u);
  EXPECT_NE(Kdf(key, AsBytes("label"), AsBytes("context"), 32),
            std::vector<std::byte>(long_key.begin(), long_key.begin() + 32));  // L differs
}

TEST(SigningFor, Dialects) {
  EXPECT_EQ(SigningFor(kDialect202, std::nullopt), SigningAlgorithm::kHmacSha256);
  EXPECT_EQ(SigningFor(kDialect210, SigningAlgorithm::kAesGmac), SigningAlgorithm::kHmacSha256);
  EXPECT_EQ(SigningFor(kDialect300, std::nullopt), SigningAlgorithm::kAesCmac);
  EXPECT_EQ(SigningFor(kDialect302, SigningAlgorithm::kAesGmac), SigningAlgorithm::kAesCmac);
  EXPECT_EQ(SigningFor(kDialect311, std::nullopt), SigningAlgorithm::kAesCmac);
  EXPECT_EQ(SigningFor(kDialect311, SigningAlgorithm::kAesGmac), SigningAlgorithm::kAesGmac);
}

// Sign reproduces the server's signature; Verify accepts the message as sent.
TEST(Sign, MicrosoftSessionSetupResponses) {
  struct Case {
    std::string_view message, key, signature;
  };
  for (const Case& c : {Case{kGcmSignedResponse, kGcmSigningKey, kGcmSignature},
                        Case{kCcmSignedResponse, kCcmSigningKey, kCcmSignature}}) {
    std::vector<std::byte> sent = Hex(c.message);
    EXPECT_TRUE(Verify(SigningAlgorithm::kAesCmac, Hex(c.key), sent));
    std::vector<std::byte> message = sent;
    std::fill(message.begin() + 48, message.begin() + 64, std::byte{0});
    message[16] = std::byte{0x01};  // SERVER_TO_REDIR only: Sign must add SIGNED
    ASSERT_OK(Sign(SigningAlgorithm::kAesCmac, Hex(c.key), message));
    EXPECT_EQ(ToHex(ByteView(message).subspan(48, 16)), c.signature);
    EXPECT_EQ(message, sent);
  }
}

std::vector<std::byte> SampleMessage(size_t size, uint64_t seed, bool from_server) {
  std::vector<std::byte> m = RandomBytes(size, seed);
  m[0] = std::byte{0xFE};
  m[16] = from_server ? std::byte{0x01} : std::byte{0x00};
  return m;
}

TEST(Sign, RoundTripAndEveryFlippedByteFails) {
  for (SigningAlgorithm alg :
       {SigningAlgorithm::kHmacSha256, SigningAlgorithm::kAesCmac, SigningAlgorithm::kAesGmac}) {
    std::vector<std::byte> key = RandomBytes(16, 1);
    std::vector<std::byte> message = SampleMessage(64 + 37, 2, true);
    ASSERT_OK(Sign(alg, key, message));
    EXPECT_EQ(message[16] & std::byte{0x08}, std::byte{0x08});
    EXPECT_TRUE(Verify(alg, key, message));
    for (size_t i = 0; i < message.size(); ++i) {
      std::vector<std::byte> bad = message;
      bad[i] ^= std::byte{0x01};
      EXPECT_FALSE(Verify(alg, key, bad)) << "byte " << i;
    }
    std::vector<std::byte> other_key = key;
    other_key[3] ^= std::byte{0x40};
    EXPECT_FALSE(Verify(alg, other_key, message));
    EXPECT_FALSE(Verify(alg, key, ByteView(message).first(63)));
  }
}

TEST(Sign, GmacNonceTakesRoleAndCancel) {
  std::vector<std::byte> key = RandomBytes(16, 3);
  std::vector<std::byte> a = SampleMessage(80, 4, false);
  std::vector<std::byte> b = a;
  b[16] = std::byte{0x01};  // the same bytes but for the role bit... which is also signed data,
  ASSERT_OK(Sign(SigningAlgorithm::kAesGmac, key, a));
  ASSERT_OK(Sign(SigningAlgorithm::kAesGmac, key, b));
  EXPECT_NE(ToHex(ByteView(a).subspan(48, 16)), ToHex(ByteView(b).subspan(48, 16)));
  // (The exact nonce layout is checked against Python's AES-GCM in the impacket test.)
}

TEST(Sign, RejectsShortMessagesAndWrongKeys) {
  std::vector<std::byte> short_message(63);
  EXPECT_THAT(Sign(SigningAlgorithm::kAesCmac, RandomBytes(16, 1), short_message),
              StatusIs(Errc::kInvalid));
  std::vector<std::byte> message = SampleMessage(64, 5, true);
  EXPECT_THAT(Sign(SigningAlgorithm::kAesCmac, RandomBytes(15, 1), message),
              StatusIs(Errc::kInvalid));
  EXPECT_THAT(Sign(SigningAlgorithm::kAesGmac, RandomBytes(32, 1), message),
              StatusIs(Errc::kInvalid));
  EXPECT_FALSE(Verify(SigningAlgorithm::kAesCmac, RandomBytes(32, 1), message));
  // HMAC-SHA256 takes any key length; a 64-byte header alone signs.
  EXPECT_OK(Sign(SigningAlgorithm::kHmacSha256, RandomBytes(32, 1), message));
  EXPECT_TRUE(Verify(SigningAlgorithm::kHmacSha256, RandomBytes(32, 1), message));
}

TEST(Transform, MicrosoftGcmVectors) {
  SessionKeys keys =
      DeriveKeys(kDialect311, Hex(kGcmSessionKey), Hex(kGcmPreauthHash), Cipher::kAes128Gcm);
  std::vector<std::byte> request = Hex(kGcmWriteRequestTransformed);
  ASSERT_TRUE(IsTransform(request));
  EXPECT_EQ(TransformSessionId(request), kGcmSessionId);
  ASSERT_OK_AND_ASSIGN(std::vector<std::byte> plain,
                       Open(Cipher::kAes128Gcm, keys.decrypt, request));
  EXPECT_EQ(ToHex(plain), kGcmWriteRequest);

  ASSERT_OK_AND_ASSIGN(
      std::vector<std::byte> response,
      internal::SealWithNonce(Cipher::kAes128Gcm, keys.encrypt, Nonce16(kGcmWriteResponseNonce),
                              kGcmSessionId, Hex(kGcmWriteResponse)));
  EXPECT_EQ(ToHex(response), kGcmWriteResponseTransformed);
}

TEST(Transform, MicrosoftCcmVectors) {
  SessionKeys keys =
      DeriveKeys(kDialect311, Hex(kCcmSessionKey), Hex(kCcmPreauthHash), Cipher::kAes128Ccm);
  std::vector<std::byte> request = Hex(kCcmWriteRequestTransformed);
  EXPECT_EQ(TransformSessionId(request), kCcmSessionId);
  ASSERT_OK_AND_ASSIGN(std::vector<std::byte> plain,
                       Open(Cipher::kAes128Ccm, keys.decrypt, request));
  EXPECT_EQ(ToHex(plain), kCcmWriteRequest);

  ASSERT_OK_AND_ASSIGN(
      std::vector<std::byte> response,
      internal::SealWithNonce(Cipher::kAes128Ccm, keys.encrypt, Nonce16(kCcmWriteResponseNonce),
                              kCcmSessionId, Hex(kCcmWriteResponse)));
  EXPECT_EQ(ToHex(response), kCcmWriteResponseTransformed);
  // The server's own message does not open with the client-to-server key.
  EXPECT_THAT(Open(Cipher::kAes128Ccm, keys.decrypt, response), StatusIs(Errc::kAccess));
}

// [30e]: dialect 3.0, AES-128-CCM.
TEST(Transform, MicrosoftSmb30Vectors) {
  SessionKeys keys =
      DeriveKeys(kDialect300, Hex("B4546771B515F766A86735532DD6C4F0"), {}, Cipher::kAes128Ccm);
  EXPECT_EQ(ToHex(keys.signing), "F773CD23C18FD1E08EE510CADA7CF852");
  EXPECT_EQ(ToHex(keys.decrypt), "261B72350558F2E9DCF613070383EDBF");
  EXPECT_EQ(ToHex(keys.encrypt), "8FE2B57EC34D2DB5B1A9727F526BBDB5");
  EXPECT_EQ(ToHex(keys.application), "77432F808CE99156B5BC6A3676D730D1");

  std::vector<std::byte> request =
      Hex("FD534D4281A286535415445DAE393921E44FA42E66E69A111892584FB5ED524A"
          "744DA3EE87000000000001001100001400E4080025C8FEE16605A437832D1CD5"
          "2DA9F4645333482A175FE5384563F45FCDAFAEF38BC62BA4D5C62897996625A4"
          "4C29BE5658DE2E6117585779E7B59FFD971278D08580D7FA899E410E910EABF5"
          "AA1DB43050B33B49182637759AC15D84BFCDF5B6B238993C0F4CF4D6012023F6"
          "C627297075D84B7803912D0A9639634453595EF3E33FFE4E7AC2AB");
  EXPECT_EQ(TransformSessionId(request), 0x8e40014000011u);
  ASSERT_OK_AND_ASSIGN(std::vector<std::byte> plain,
                       Open(Cipher::kAes128Ccm, keys.decrypt, request));
  EXPECT_EQ(ToHex(plain),
            "FE534D4240000100000000000900400008000000000000000400000000000000"
            "FFFE0000010000001100001400E4080000000000000000000000000000000000"
            "3100700017000000000000000000000015010000390000020100000039020000"
            "00000000000000007000000000000000536D623320656E6372797074696F6E20"
            "74657374696E67");

  std::string response =
      "FD534D42A6015530A18F6D9AFFE22AFAE8E66484860000000000000011000014"
      "00E4080050000000000001001100001400E40800DBF46435C5F14169293CE079"
      "E344479BF670227E49873F458672C3098DAC467DD5809F369D67409166515787"
      "1483E01F7BECD02064EAC3E235F913668BBC2F097980D4B378F1993EFF6E60D1"
      "77309E5B";
  std::string response_plain =
      "FE534D4240000100000000000900210009000000000000000400000000000000"
      "FFFE0000010000001100001400E4080000000000000000000000000000000000"
      "11000000170000000000000000000000";
  ASSERT_OK_AND_ASSIGN(std::vector<std::byte> sealed,
                       internal::SealWithNonce(Cipher::kAes128Ccm, keys.encrypt,
                                               Nonce16("86000000000000001100001400E40800"),
                                               0x8e40014000011, Hex(response_plain)));
  EXPECT_EQ(ToHex(sealed), response);
  ASSERT_OK_AND_ASSIGN(std::vector<std::byte> opened,
                       Open(Cipher::kAes128Ccm, keys.encrypt, Hex(response)));
  EXPECT_EQ(ToHex(opened), response_plain);
}

constexpr Cipher kCiphers[] = {Cipher::kAes128Ccm, Cipher::kAes128Gcm, Cipher::kAes256Ccm,
                               Cipher::kAes256Gcm};

TEST(Transform, SealOpenRoundTripAllCiphers) {
  for (Cipher c : kCiphers) {
    std::vector<std::byte> key = RandomBytes(CipherKeySize(c), 10 + int(c));
    Encryptor encryptor(c, key);
    EXPECT_EQ(encryptor.cipher(), c);
    for (size_t size : {64, 65, 100, 4096, 70000}) {
      std::vector<std::byte> plaintext = SampleMessage(size, size, true);
      ASSERT_OK_AND_ASSIGN(std::vector<std::byte> sealed, encryptor.Seal(0xABCDEF0123, plaintext));
      ASSERT_EQ(sealed.size(), plaintext.size() + kTransformHeaderSize);
      EXPECT_TRUE(IsTransform(sealed));
      EXPECT_EQ(TransformSessionId(sealed), 0xABCDEF0123u);
      // The unused tail of the nonce field is zero.
      size_t nonce_size = (c == Cipher::kAes128Ccm || c == Cipher::kAes256Ccm) ? 11 : 12;
      for (size_t i = 20 + nonce_size; i < 36; ++i) EXPECT_EQ(sealed[i], std::byte{0});
      ASSERT_OK_AND_ASSIGN(std::vector<std::byte> opened, Open(c, key, sealed));
      EXPECT_EQ(opened, plaintext);
    }
  }
}

TEST(Transform, TamperingFailsAuthenticationAndMalformedIsInvalid) {
  for (Cipher c : kCiphers) {
    std::vector<std::byte> key = RandomBytes(CipherKeySize(c), 20 + int(c));
    Encryptor encryptor(c, key);
    ASSERT_OK_AND_ASSIGN(std::vector<std::byte> sealed,
                         encryptor.Seal(7, SampleMessage(90, 21, true)));
    for (size_t i = 0; i < sealed.size(); ++i) {
      std::vector<std::byte> bad = sealed;
      bad[i] ^= std::byte{0x04};
      Errc expected = Errc::kAccess;  // the tag, the nonce, Reserved, SessionId, the ciphertext
      if (i < 4 || (i >= 36 && i < 40) || (i >= 42 && i < 44)) expected = Errc::kInvalid;
      EXPECT_THAT(Open(c, key, bad), StatusIs(expected)) << "byte " << i;
    }
    for (size_t n = 0; n < sealed.size(); ++n) {
      EXPECT_THAT(Open(c, key, ByteView(sealed).first(n)), StatusIs(Errc::kInvalid)) << n;
    }
    std::vector<std::byte> longer = sealed;
    longer.push_back(std::byte{0});
    EXPECT_THAT(Open(c, key, longer), StatusIs(Errc::kInvalid));
    std::vector<std::byte> other_key = key;
    other_key[0] ^= std::byte{1};
    EXPECT_THAT(Open(c, other_key, sealed), StatusIs(Errc::kAccess));
    EXPECT_THAT(Open(c, ByteView(key).first(8), sealed), StatusIs(Errc::kInvalid));
    EXPECT_THAT(Open(Cipher::kNone, key, sealed), StatusIs(Errc::kInvalid));
  }
}

TEST(Transform, OriginalMessageSizeBelowAHeaderIsInvalid) {
  std::vector<std::byte> key = RandomBytes(16, 30);
  Encryptor encryptor(Cipher::kAes128Gcm, key);
  ASSERT_OK_AND_ASSIGN(std::vector<std::byte> sealed,
                       encryptor.Seal(1, SampleMessage(63, 31, true)));
  EXPECT_THAT(Open(Cipher::kAes128Gcm, key, sealed), StatusIs(Errc::kInvalid));
  EXPECT_THAT(encryptor.Seal(1, {}), StatusIs(Errc::kInvalid));
}

TEST(Transform, NoncesNeverRepeat) {
  for (Cipher c : {Cipher::kAes128Gcm, Cipher::kAes128Ccm}) {
    Encryptor encryptor(c, RandomBytes(16, 40));
    std::vector<std::byte> plaintext = SampleMessage(64, 41, true);
    std::set<std::string> nonces;
    std::mutex mu;
    auto seal_many = [&](int count) {
      std::vector<std::string> mine;
      for (int i = 0; i < count; ++i) {
        Result<std::vector<std::byte>> sealed = encryptor.Seal(1, plaintext);
        ASSERT_TRUE(sealed.ok());
        mine.push_back(ToHex(ByteView(*sealed).subspan(20, 16)));
      }
      std::lock_guard<std::mutex> lock(mu);
      nonces.insert(mine.begin(), mine.end());
    };
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t) threads.emplace_back(seal_many, 20000);
    for (std::thread& t : threads) t.join();
    EXPECT_EQ(nonces.size(), 80000u);
    // Two Encryptors for one key start at independent random points.
    Encryptor other(c, RandomBytes(16, 40));
    ASSERT_OK_AND_ASSIGN(std::vector<std::byte> sealed, other.Seal(1, plaintext));
    EXPECT_EQ(nonces.count(ToHex(ByteView(sealed).subspan(20, 16))), 0u);
  }
}

TEST(Transform, MovedEncryptorKeepsCounting) {
  Encryptor a(Cipher::kAes256Gcm, RandomBytes(32, 50));
  std::vector<std::byte> plaintext = SampleMessage(64, 51, true);
  ASSERT_OK_AND_ASSIGN(std::vector<std::byte> first, a.Seal(1, plaintext));
  Encryptor b(std::move(a));
  ASSERT_OK_AND_ASSIGN(std::vector<std::byte> second, b.Seal(1, plaintext));
  EXPECT_NE(ToHex(ByteView(first).subspan(20, 16)), ToHex(ByteView(second).subspan(20, 16)));
}

// ---- python3-impacket (and the pycryptodomex it depends on) as an independent peer ----

constexpr const char* kPeerScript = R"PY(
import sys, hmac, hashlib
from binascii import hexlify, unhexlify
from impacket import crypto
from Cryptodome.Cipher import AES
for line in open(sys.argv[1]):
    f = line.split()
    if not f: continue
    op, a = f[0], [unhexlify(x) if x != '-' else b'' for x in f[1:]]
    if op == 'kdf':
        out = crypto.KDF_CounterMode(a[0], a[1], a[2], int.from_bytes(a[3], 'big'))
    elif op == 'cmac':
        out = crypto.AES_CMAC(a[0], a[1], len(a[1]))
    elif op == 'hmac':
        out = hmac.new(a[0], a[1], hashlib.sha256).digest()[:16]
    elif op == 'gmac':
        c = AES.new(a[0], AES.MODE_GCM, nonce=a[1]); c.update(a[2]); out = c.digest()
    elif op in ('ccm', 'gcm'):
        mode = AES.MODE_CCM if op == 'ccm' else AES.MODE_GCM
        kw = {'mac_len': 16} if op == 'ccm' else {}
        c = AES.new(a[0], mode, nonce=a[1], **kw); c.update(a[2])
        ct, tag = c.encrypt_and_digest(a[3]); out = tag + ct
    print(hexlify(out).decode().upper())
)PY";

bool HavePeer() {
  return std::system("/usr/bin/python3 -c 'import impacket.crypto, Cryptodome' 2>/dev/null") == 0;
}

// Runs the peer on `requests` (one per line) and returns its answers, one per request.
std::vector<std::string> AskPeer(const std::vector<std::string>& requests) {
  std::string dir = ::testing::TempDir();
  std::string script = dir + "/smb_crypto_peer.py";
  std::string input = dir + "/smb_crypto_peer.in";
  std::ofstream(script) << kPeerScript;
  {
    std::ofstream in(input);
    for (const std::string& r : requests) in << r << "\n";
  }
  std::string command = "/usr/bin/python3 " + script + " " + input;
  std::vector<std::string> out;
  FILE* pipe = popen(command.c_str(), "r");
  if (pipe == nullptr) return out;
  char line[1 << 16];
  while (fgets(line, sizeof(line), pipe) != nullptr) {
    std::string s(line);
    while (!s.empty() && (s.back() == '\n' || s.back() == '\r')) s.pop_back();
    out.push_back(s);
  }
  pclose(pipe);
  return out;
}

std::string H(ByteView b) { return b.empty() ? "-" : ToHex(b); }

TEST(ImpacketPeer, KeysSignaturesAndCiphertextsAgree) {
  if (!HavePeer()) GTEST_SKIP() << "python3-impacket or pycryptodomex is not installed";
  std::vector<std::string> requests;
  std::vector<std::string> expected;
  for (uint64_t seed = 1; seed <= 6; ++seed) {
    // Key derivation: every label and context DeriveKeys uses, with random keys and hashes.
    std::vector<std::byte> session_key = RandomBytes(16, seed);
    std::vector<std::byte> preauth = RandomBytes(64, seed + 100);
    Cipher cipher = kCiphers[seed % 4];
    size_t n = CipherKeySize(cipher);
    SessionKeys k311 = DeriveKeys(kDialect311, session_key, preauth, cipher);
    SessionKeys k300 = DeriveKeys(kDialect300, session_key, {}, Cipher::kAes128Ccm);
    std::string L16 = "00000080", Ln = n == 32 ? "00000100" : "00000080";
    auto label = [](std::string_view s) { return ToHex(AsBytes(s)) + "00"; };
    auto kdf = [&](std::string_view l, const std::string& ctx, const std::string& len) {
      return "kdf " + ToHex(session_key) + " " + label(l) + " " + ctx + " " + len;
    };
    requests.push_back(kdf("SMBSigningKey", ToHex(preauth), L16));
    expected.push_back(ToHex(k311.signing));
    requests.push_back(kdf("SMBAppKey", ToHex(preauth), L16));
    expected.push_back(ToHex(k311.application));
    requests.push_back(kdf("SMBS2CCipherKey", ToHex(preauth), Ln));
    expected.push_back(ToHex(k311.encrypt));
    requests.push_back(kdf("SMBC2SCipherKey", ToHex(preauth), Ln));
    expected.push_back(ToHex(k311.decrypt));
    requests.push_back(kdf("SMB2AESCMAC", label("SmbSign"), L16));
    expected.push_back(ToHex(k300.signing));
    requests.push_back(kdf("SMB2AESCCM", label("ServerOut"), L16));
    expected.push_back(ToHex(k300.encrypt));
    requests.push_back(kdf("SMB2AESCCM", label("ServerIn "), L16));
    expected.push_back(ToHex(k300.decrypt));

    // Signatures: the peer MACs the message with its signature field zeroed.
    bool from_server = seed % 2 == 0;
    std::vector<std::byte> message = SampleMessage(64 + 8 * seed + 3, seed + 200, from_server);
    if (seed == 3) message[12] = std::byte{0x0C}, message[13] = std::byte{0};  // a CANCEL
    for (SigningAlgorithm alg :
         {SigningAlgorithm::kHmacSha256, SigningAlgorithm::kAesCmac, SigningAlgorithm::kAesGmac}) {
      std::vector<std::byte> signed_message = message;
      ASSERT_OK(Sign(alg, k311.signing, signed_message));
      std::vector<std::byte> zeroed = signed_message;
      std::fill(zeroed.begin() + 48, zeroed.begin() + 64, std::byte{0});
      expected.push_back(ToHex(ByteView(signed_message).subspan(48, 16)));
      if (alg == SigningAlgorithm::kHmacSha256) {
        requests.push_back("hmac " + ToHex(k311.signing) + " " + ToHex(zeroed));
      } else if (alg == SigningAlgorithm::kAesCmac) {
        requests.push_back("cmac " + ToHex(k311.signing) + " " + ToHex(zeroed));
      } else {
        // MS-SMB2 3.1.4.1: MessageId, then bit 0 = from the server, bit 1 = CANCEL request.
        std::vector<std::byte> nonce(zeroed.begin() + 24, zeroed.begin() + 32);
        uint8_t word = from_server ? 1 : (seed == 3 ? 2 : 0);
        for (uint8_t b : {word, uint8_t{0}, uint8_t{0}, uint8_t{0}}) nonce.push_back(std::byte{b});
        requests.push_back("gmac " + ToHex(k311.signing) + " " + ToHex(nonce) + " " +
                           ToHex(zeroed));
      }
    }

    // Encryption with every cipher: tag || ciphertext, AAD = transform header bytes 20..51.
    std::vector<std::byte> plaintext = SampleMessage(64 + 100 * seed, seed + 300, true);
    std::array<std::byte, 16> nonce{};
    std::vector<std::byte> random_nonce = RandomBytes(12, seed + 400);
    bool ccm = cipher == Cipher::kAes128Ccm || cipher == Cipher::kAes256Ccm;
    std::copy_n(random_nonce.begin(), ccm ? 11 : 12, nonce.begin());
    ASSERT_OK_AND_ASSIGN(std::vector<std::byte> sealed,
                         internal::SealWithNonce(cipher, k311.encrypt, nonce, seed, plaintext));
    expected.push_back(ToHex(ByteView(sealed).subspan(4, 16)) +
                       ToHex(ByteView(sealed).subspan(52)));
    requests.push_back(std::string(ccm ? "ccm " : "gcm ") + ToHex(k311.encrypt) + " " +
                       ToHex(ByteView(nonce).first(ccm ? 11 : 12)) + " " +
                       ToHex(ByteView(sealed).subspan(20, 32)) + " " + H(plaintext));
  }
  std::vector<std::string> answers = AskPeer(requests);
  ASSERT_EQ(answers.size(), requests.size()) << "the peer failed";
  for (size_t i = 0; i < requests.size(); ++i) {
    EXPECT_EQ(answers[i], expected[i]) << requests[i].substr(0, 60);
  }
}

}  // namespace
}  // namespace dittofs::smb::crypto

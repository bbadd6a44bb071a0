// SPDX-License-Identifier: Apache-2.0
#include "controlplane/auth/jwt.h"

#include <gtest/gtest.h>
#include <jwt.h>
#include <sodium.h>

#include <cstdlib>
#include <string>
#include <vector>

#include "testing/status_matchers.h"

namespace dittofs::controlplane::auth {
namespace {

using ::dittofs::testing::StatusIs;
using ::testing::HasSubstr;
using ::testing::Not;

constexpr char kSecret[] = "0123456789abcdef0123456789abcdef";
constexpr int64_t kNow = 1'700'000'000;

std::string B64Url(std::string_view bytes) {
  std::string out(sodium_base64_ENCODED_LEN(bytes.size(), sodium_base64_VARIANT_URLSAFE_NO_PADDING),
                  '\0');
  sodium_bin2base64(out.data(), out.size(), reinterpret_cast<const unsigned char*>(bytes.data()),
                    bytes.size(), sodium_base64_VARIANT_URLSAFE_NO_PADDING);
  out.resize(out.find('\0'));
  return out;
}

std::string B64UrlDecode(std::string_view text) {
  std::string out(text.size(), '\0');
  size_t length = 0;
  EXPECT_EQ(sodium_base642bin(reinterpret_cast<unsigned char*>(out.data()), out.size(), text.data(),
                              text.size(), nullptr, &length, nullptr,
                              sodium_base64_VARIANT_URLSAFE_NO_PADDING),
            0);
  out.resize(length);
  return out;
}

std::vector<std::string> Split(const std::string& token) {
  std::vector<std::string> parts;
  size_t start = 0;
  for (size_t dot; (dot = token.find('.', start)) != std::string::npos; start = dot + 1) {
    parts.push_back(token.substr(start, dot - start));
  }
  parts.push_back(token.substr(start));
  return parts;
}

TokenClaims AliceClaims() {
  TokenClaims claims = NewAccessTokenClaims("alice", 42, "admin", true, kNow);
  return claims;
}

// Signs `grants_json` with libjwt directly, so tests can make tokens TokenSigner never would.
std::string SignWithLibjwt(jwt_alg_t alg, const std::string& grants_json,
                           std::string_view key = kSecret) {
  jwt_t* jwt = nullptr;
  EXPECT_EQ(jwt_new(&jwt), 0);
  EXPECT_EQ(jwt_add_grants_json(jwt, grants_json.c_str()), 0);
  EXPECT_EQ(jwt_set_alg(jwt, alg, reinterpret_cast<const unsigned char*>(key.data()),
                        static_cast<int>(key.size())),
            0);
  char* encoded = jwt_encode_str(jwt);
  std::string token = encoded == nullptr ? "" : encoded;
  std::free(encoded);
  jwt_free(jwt);
  return token;
}

constexpr char kAliceJson[] =
    R"({"iss":"dittofs","sub":"alice","uid":42,"role":"admin","kind":"access",)"
    R"("must_change_password":false,"iat":1700000000,"exp":1700000900,"jti":"abc"})";

void ExpectRejected(const Result<TokenClaims>& result, std::string_view why,
                    const std::string& token) {
  ASSERT_THAT(result, StatusIs(Errc::kAccess));
  EXPECT_THAT(result.status().message(), HasSubstr(std::string(why)));
  if (!token.empty()) {
    EXPECT_THAT(result.status().message(), Not(HasSubstr(token)));
  }
}

TEST(JwtTest, SignThenVerifyRoundTrips) {
  TokenSigner signer(kSecret);
  const TokenClaims claims = AliceClaims();
  ASSERT_OK_AND_ASSIGN(std::string token, signer.Sign(claims));
  EXPECT_EQ(Split(token).size(), 3u);
  EXPECT_EQ(B64UrlDecode(Split(token)[0]), R"({"alg":"HS256","typ":"JWT"})");

  ASSERT_OK_AND_ASSIGN(TokenClaims got, signer.Verify(token, kNow + 1));
  EXPECT_EQ(got.subject, "alice");
  EXPECT_EQ(got.user_id, 42);
  EXPECT_EQ(got.role, "admin");
  EXPECT_EQ(got.kind, "access");
  EXPECT_TRUE(got.must_change_password);
  EXPECT_EQ(got.issued_at, kNow);
  EXPECT_EQ(got.expires_at, kNow + kAccessTokenLifetimeSeconds);
  EXPECT_EQ(got.token_id, claims.token_id);
}

TEST(JwtTest, AccessAndRefreshLifetimes) {
  const TokenClaims access = NewAccessTokenClaims("bob", 7, "user", false, kNow);
  const TokenClaims refresh = NewRefreshTokenClaims("bob", 7, "user", false, kNow);
  EXPECT_EQ(access.kind, "access");
  EXPECT_EQ(access.expires_at - access.issued_at, 15 * 60);
  EXPECT_EQ(refresh.kind, "refresh");
  EXPECT_EQ(refresh.expires_at - refresh.issued_at, 7 * 24 * 3600);
  EXPECT_NE(access.token_id, refresh.token_id);
  EXPECT_GE(access.token_id.size(), 32u);

  TokenSigner signer(kSecret);
  ASSERT_OK_AND_ASSIGN(std::string token, signer.Sign(refresh));
  EXPECT_OK(signer.Verify(token, kNow + kRefreshTokenLifetimeSeconds - 1));
  ExpectRejected(signer.Verify(token, kNow + kRefreshTokenLifetimeSeconds), "expired", token);
}

TEST(JwtTest, ExpiredAndNotYetValid) {
  TokenSigner signer(kSecret);
  ASSERT_OK_AND_ASSIGN(std::string token, signer.Sign(AliceClaims()));
  EXPECT_OK(signer.Verify(token, kNow + kAccessTokenLifetimeSeconds - 1));
  ExpectRejected(signer.Verify(token, kNow + kAccessTokenLifetimeSeconds), "expired", token);
  EXPECT_OK(signer.Verify(token, kNow - 60));  // small clock skew is tolerated
  ExpectRejected(signer.Verify(token, kNow - 3600), "not yet valid", token);
}

TEST(JwtTest, TamperedPayloadIsRejected) {
  TokenSigner signer(kSecret);
  ASSERT_OK_AND_ASSIGN(std::string token,
                       signer.Sign(NewAccessTokenClaims("mallory", 9, "user", false, kNow)));
  std::vector<std::string> parts = Split(token);
  std::string payload = B64UrlDecode(parts[1]);
  const size_t role = payload.find(R"("role":"user")");
  ASSERT_NE(role, std::string::npos) << payload;
  payload.replace(role, 13, R"("role":"admin")");
  const std::string forged = parts[0] + "." + B64Url(payload) + "." + parts[2];
  ExpectRejected(signer.Verify(forged, kNow), "bad signature", forged);
}

TEST(JwtTest, TamperedSignatureIsRejected) {
  TokenSigner signer(kSecret);
  ASSERT_OK_AND_ASSIGN(std::string token, signer.Sign(AliceClaims()));
  token.back() = token.back() == 'A' ? 'B' : 'A';
  ExpectRejected(signer.Verify(token, kNow), "bad signature", token);
  std::vector<std::string> parts = Split(token);
  ExpectRejected(signer.Verify(parts[0] + "." + parts[1] + ".", kNow), "bad signature", "");
}

TEST(JwtTest, WrongSecretIsRejected) {
  TokenSigner signer(kSecret);
  TokenSigner other("another secret of at least 32 bytes!");
  ASSERT_OK_AND_ASSIGN(std::string token, other.Sign(AliceClaims()));
  ExpectRejected(signer.Verify(token, kNow), "bad signature", token);
}

TEST(JwtTest, AlgNoneIsRejected) {
  TokenSigner signer(kSecret);
  const std::string header = B64Url(R"({"alg":"none","typ":"JWT"})");
  const std::string payload = B64Url(kAliceJson);
  ExpectRejected(signer.Verify(header + "." + payload + ".", kNow), "alg none", "");
  // Also with a signature that is valid for the same payload under HS256.
  ASSERT_OK_AND_ASSIGN(std::string real, signer.Sign(AliceClaims()));
  const std::string with_sig = header + "." + Split(real)[1] + "." + Split(real)[2];
  ExpectRejected(signer.Verify(with_sig, kNow), "alg none", with_sig);
  // Case games do not help.
  const std::string upper = B64Url(R"({"alg":"None"})") + "." + payload + ".";
  EXPECT_THAT(signer.Verify(upper, kNow), StatusIs(Errc::kAccess));
}

TEST(JwtTest, OtherAlgorithmsAreRejected) {
  TokenSigner signer(kSecret);
  const std::string hs512 =
      SignWithLibjwt(JWT_ALG_HS512, kAliceJson, std::string(kSecret) + kSecret);
  ASSERT_FALSE(hs512.empty());
  ExpectRejected(signer.Verify(hs512, kNow), "other than HS256", hs512);
  const std::string rs256 =
      B64Url(R"({"alg":"RS256","typ":"JWT"})") + "." + B64Url(kAliceJson) + ".c2ln";
  ExpectRejected(signer.Verify(rs256, kNow), "other than HS256", rs256);
}

TEST(JwtTest, MalformedTokensAreRejected) {
  TokenSigner signer(kSecret);
  for (const std::string& token :
       {std::string(""), std::string("abc"), std::string("a.b"), std::string("a.b.c.d"),
        std::string("!!!.???.###"), std::string("a.b.c"),
        B64Url(R"({"typ":"JWT"})") + "." + B64Url(kAliceJson) + ".c2ln",
        B64Url(R"({"alg":"HS256"})") + "." + B64Url("not json") + ".c2ln",
        std::string(kMaxTokenBytes + 1, 'a'), std::string("a.b\0.c", 6)}) {
    ExpectRejected(signer.Verify(token, kNow), "malformed", "");
  }
}

TEST(JwtTest, MissingOrWrongClaimsAreRejected) {
  TokenSigner signer(kSecret);
  const std::string no_uid = SignWithLibjwt(
      JWT_ALG_HS256,
      R"({"iss":"dittofs","sub":"alice","role":"admin","kind":"access",)"
      R"("must_change_password":false,"iat":1700000000,"exp":1700000900,"jti":"a"})");
  ExpectRejected(signer.Verify(no_uid, kNow), "missing claim uid", no_uid);

  const std::string string_uid = SignWithLibjwt(
      JWT_ALG_HS256,
      R"({"iss":"dittofs","sub":"alice","uid":"42","role":"admin","kind":"access",)"
      R"("must_change_password":false,"iat":1700000000,"exp":1700000900,"jti":"a"})");
  ExpectRejected(signer.Verify(string_uid, kNow), "uid is not an integer", string_uid);

  const std::string foreign = SignWithLibjwt(
      JWT_ALG_HS256,
      R"({"iss":"elsewhere","sub":"alice","uid":42,"role":"admin","kind":"access",)"
      R"("must_change_password":false,"iat":1700000000,"exp":1700000900,"jti":"a"})");
  ExpectRejected(signer.Verify(foreign, kNow), "another issuer", foreign);

  const std::string odd_kind = SignWithLibjwt(
      JWT_ALG_HS256,
      R"({"iss":"dittofs","sub":"alice","uid":42,"role":"admin","kind":"id",)"
      R"("must_change_password":false,"iat":1700000000,"exp":1700000900,"jti":"a"})");
  ExpectRejected(signer.Verify(odd_kind, kNow), "unknown token kind", odd_kind);

  const std::string numeric_sub = SignWithLibjwt(
      JWT_ALG_HS256,
      R"({"iss":"dittofs","sub":7,"uid":42,"role":"admin","kind":"access",)"
      R"("must_change_password":false,"iat":1700000000,"exp":1700000900,"jti":"a"})");
  ExpectRejected(signer.Verify(numeric_sub, kNow), "sub is missing or not a string", numeric_sub);

  const std::string int_flag = SignWithLibjwt(
      JWT_ALG_HS256, R"({"iss":"dittofs","sub":"alice","uid":42,"role":"admin","kind":"access",)"
                     R"("must_change_password":1,"iat":1700000000,"exp":1700000900,"jti":"a"})");
  ExpectRejected(signer.Verify(int_flag, kNow), "must_change_password is not a boolean", int_flag);

  const std::string float_exp = SignWithLibjwt(
      JWT_ALG_HS256, R"({"iss":"dittofs","sub":"alice","uid":42,"role":"admin","kind":"access",)"
                     R"("must_change_password":false,"iat":1700000000,"exp":1.7e9,"jti":"a"})");
  ExpectRejected(signer.Verify(float_exp, kNow), "exp is not an integer", float_exp);

  const std::string good = SignWithLibjwt(JWT_ALG_HS256, kAliceJson);
  EXPECT_OK(signer.Verify(good, kNow));
}

TEST(JwtTest, SignRejectsUnusableClaims) {
  TokenSigner signer(kSecret);
  TokenClaims claims = AliceClaims();
  claims.subject.clear();
  EXPECT_THAT(signer.Sign(claims), StatusIs(Errc::kInvalid));
  claims = AliceClaims();
  claims.kind = "id";
  EXPECT_THAT(signer.Sign(claims), StatusIs(Errc::kInvalid));
  claims = AliceClaims();
  claims.expires_at = claims.issued_at;
  EXPECT_THAT(signer.Sign(claims), StatusIs(Errc::kInvalid));
  claims = AliceClaims();
  claims.token_id.clear();
  EXPECT_THAT(signer.Sign(claims), StatusIs(Errc::kInvalid));
  claims = AliceClaims();
  claims.subject = std::string("admin\0alice", 11);
  EXPECT_THAT(signer.Sign(claims), StatusIs(Errc::kInvalid));
}

TEST(JwtDeathTest, ShortSecretIsABug) { EXPECT_DEATH(TokenSigner("too short"), "at least 32"); }

}  // namespace
}  // namespace dittofs::controlplane::auth

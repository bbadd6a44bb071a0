// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "base/result.h"

namespace dittofs::controlplane::auth {

inline constexpr int64_t kAccessTokenLifetimeSeconds = 15 * 60;
inline constexpr int64_t kRefreshTokenLifetimeSeconds = 7 * 24 * 60 * 60;
// HS256 keys shorter than the hash output weaken it (RFC 7518 §3.2); config validation should
// refuse shorter secrets before a TokenSigner is built.
inline constexpr size_t kMinJwtSecretBytes = 32;
// Tokens longer than this are refused unparsed; ours are a few hundred bytes.
inline constexpr size_t kMaxTokenBytes = 8192;

inline constexpr std::string_view kAccessTokenKind = "access";
inline constexpr std::string_view kRefreshTokenKind = "refresh";

// What a control-plane token asserts. Times are seconds since the Unix epoch.
struct TokenClaims {
  std::string subject;  // the username ("sub")
  int64_t user_id = 0;
  std::string role;
  std::string kind;  // kAccessTokenKind or kRefreshTokenKind
  bool must_change_password = false;
  int64_t issued_at = 0;   // "iat"
  int64_t expires_at = 0;  // "exp"
  std::string token_id;    // "jti", random, so one token can be revoked
};

// Claims for a new access token valid for kAccessTokenLifetimeSeconds from `now`, with a fresh
// random token_id.
TokenClaims NewAccessTokenClaims(std::string subject, int64_t user_id, std::string role,
                                 bool must_change_password, int64_t now);
// Likewise for a refresh token, valid for kRefreshTokenLifetimeSeconds.
TokenClaims NewRefreshTokenClaims(std::string subject, int64_t user_id, std::string role,
                                  bool must_change_password, int64_t now);

// Signs and verifies control-plane JWTs (RFC 7519) with HMAC-SHA256 (libjwt). Only HS256 is
// accepted: a token naming any other algorithm, "none" included, is refused before its
// signature is looked at, so a forged header cannot pick a weaker check.
// Immutable after construction; safe to use from any thread.
class TokenSigner {
 public:
  // REQUIRES: secret.size() >= kMinJwtSecretBytes.
  explicit TokenSigner(std::string secret);
  ~TokenSigner();
  TokenSigner(const TokenSigner&) = delete;
  TokenSigner& operator=(const TokenSigner&) = delete;

  // Returns the compact serialization "header.payload.signature". Returns Errc::kInvalid when
  // the claims are unusable: empty subject or token_id, unknown kind, or expires_at not after
  // issued_at.
  Result<std::string> Sign(const TokenClaims& claims) const;

  // Checks `token`'s algorithm, signature, issuer and lifetime at time `now` and returns its
  // claims. Every refusal is Errc::kAccess; the messages tell the cases apart for logs:
  // malformed token, algorithm "none", another algorithm, bad signature, missing or mistyped
  // claim, not yet valid, expired. Messages never contain the token.
  Result<TokenClaims> Verify(std::string_view token, int64_t now) const;

 private:
  std::string secret_;
};

}  // namespace dittofs::controlplane::auth

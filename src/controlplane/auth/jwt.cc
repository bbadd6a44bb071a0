// SPDX-License-Identifier: Apache-2.0
#include "controlplane/auth/jwt.h"

#include <jwt.h>
#include <sodium.h>

#include <algorithm>
#include <charconv>
#include <cstdlib>
#include <memory>
#include <utility>

#include "base/check.h"
#include "controlplane/auth/secret.h"

namespace dittofs::controlplane::auth {
namespace {

// libjwt 1.10 passes integer claims as `long`.
static_assert(sizeof(long) == sizeof(int64_t), "libjwt integer claims must hold an int64_t");

// Tokens we sign name us as issuer, so a token from another service sharing the secret by
// accident is not taken for one of ours.
constexpr char kIssuer[] = "dittofs";
// How far a token's issue time may lie in our future, for clocks that disagree a little.
constexpr int64_t kClockSkewSeconds = 60;
constexpr size_t kTokenIdBytes = 16;

struct JwtDeleter {
  void operator()(jwt_t* jwt) const { jwt_free(jwt); }
};
using JwtPtr = std::unique_ptr<jwt_t, JwtDeleter>;

// libjwt returns encoded tokens in malloc'd memory.
struct MallocDeleter {
  void operator()(char* p) const { std::free(p); }
};

Status Rejected(std::string message) { return Status(Errc::kAccess, std::move(message)); }

TokenClaims NewClaims(std::string_view kind, std::string subject, int64_t user_id, std::string role,
                      bool must_change_password, int64_t now, int64_t lifetime) {
  TokenClaims claims;
  claims.subject = std::move(subject);
  claims.user_id = user_id;
  claims.role = std::move(role);
  claims.kind = std::string(kind);
  claims.must_change_password = must_change_password;
  claims.issued_at = now;
  claims.expires_at = now + lifetime;
  claims.token_id = GenerateSecret(kTokenIdBytes);
  return claims;
}

Result<std::string> StringClaim(jwt_t* jwt, const char* name) {
  const char* value = jwt_get_grant(jwt, name);
  if (value == nullptr) {
    return Rejected(std::string("jwt: claim ") + name + " is missing or not a string");
  }
  return std::string(value);
}

// The claim's raw JSON text; libjwt's typed getters read a mistyped claim as 0 or false
// without saying so, so integers and booleans are parsed from this instead.
Result<std::string> JsonClaim(jwt_t* jwt, const char* name) {
  std::unique_ptr<char, MallocDeleter> json(jwt_get_grants_json(jwt, name));
  if (json == nullptr) return Rejected(std::string("jwt: missing claim ") + name);
  return std::string(json.get());
}

Result<int64_t> IntClaim(jwt_t* jwt, const char* name) {
  ASSIGN_OR_RETURN(std::string json, JsonClaim(jwt, name));
  int64_t value = 0;
  const auto [end, ec] = std::from_chars(json.data(), json.data() + json.size(), value);
  if (ec != std::errc() || end != json.data() + json.size()) {
    return Rejected(std::string("jwt: claim ") + name + " is not an integer");
  }
  return value;
}

Result<bool> BoolClaim(jwt_t* jwt, const char* name) {
  ASSIGN_OR_RETURN(std::string json, JsonClaim(jwt, name));
  if (json == "true") return true;
  if (json == "false") return false;
  return Rejected(std::string("jwt: claim ") + name + " is not a boolean");
}

bool IsKnownKind(std::string_view kind) {
  return kind == kAccessTokenKind || kind == kRefreshTokenKind;
}

}  // namespace

TokenClaims NewAccessTokenClaims(std::string subject, int64_t user_id, std::string role,
                                 bool must_change_password, int64_t now) {
  return NewClaims(kAccessTokenKind, std::move(subject), user_id, std::move(role),
                   must_change_password, now, kAccessTokenLifetimeSeconds);
}

TokenClaims NewRefreshTokenClaims(std::string subject, int64_t user_id, std::string role,
                                  bool must_change_password, int64_t now) {
  return NewClaims(kRefreshTokenKind, std::move(subject), user_id, std::move(role),
                   must_change_password, now, kRefreshTokenLifetimeSeconds);
}

TokenSigner::TokenSigner(std::string secret) : secret_(std::move(secret)) {
  CHECK(secret_.size() >= kMinJwtSecretBytes)
      << "jwt secret is " << secret_.size() << " bytes; at least " << kMinJwtSecretBytes
      << " are required";
}

TokenSigner::~TokenSigner() { sodium_memzero(secret_.data(), secret_.size()); }

Result<std::string> TokenSigner::Sign(const TokenClaims& claims) const {
  if (claims.subject.empty()) return Status(Errc::kInvalid, "jwt sign: empty subject");
  if (claims.token_id.empty()) return Status(Errc::kInvalid, "jwt sign: empty token id");
  if (!IsKnownKind(claims.kind)) {
    return Status(Errc::kInvalid, "jwt sign: unknown token kind " + claims.kind);
  }
  if (claims.expires_at <= claims.issued_at) {
    return Status(Errc::kInvalid, "jwt sign: token expires before it is issued");
  }
  for (const std::string* field : {&claims.subject, &claims.role, &claims.token_id}) {
    // libjwt takes C strings; a NUL would silently cut the claim short.
    if (field->find('\0') != std::string::npos) {
      return Status(Errc::kInvalid, "jwt sign: claim contains a NUL byte");
    }
  }

  jwt_t* raw = nullptr;
  if (jwt_new(&raw) != 0) return Status(Errc::kInternal, "jwt sign: out of memory");
  JwtPtr jwt(raw);
  int rc = 0;
  rc |= jwt_add_grant(jwt.get(), "iss", kIssuer);
  rc |= jwt_add_grant(jwt.get(), "sub", claims.subject.c_str());
  rc |= jwt_add_grant_int(jwt.get(), "uid", claims.user_id);
  rc |= jwt_add_grant(jwt.get(), "role", claims.role.c_str());
  rc |= jwt_add_grant(jwt.get(), "kind", claims.kind.c_str());
  rc |= jwt_add_grant_bool(jwt.get(), "must_change_password", claims.must_change_password);
  rc |= jwt_add_grant_int(jwt.get(), "iat", claims.issued_at);
  rc |= jwt_add_grant_int(jwt.get(), "exp", claims.expires_at);
  rc |= jwt_add_grant(jwt.get(), "jti", claims.token_id.c_str());
  if (rc != 0) return Status(Errc::kInternal, "jwt sign: cannot add claims");
  if (jwt_set_alg(jwt.get(), JWT_ALG_HS256, reinterpret_cast<const unsigned char*>(secret_.data()),
                  static_cast<int>(secret_.size())) != 0) {
    return Status(Errc::kInternal, "jwt sign: cannot set HS256 key");
  }
  std::unique_ptr<char, MallocDeleter> encoded(jwt_encode_str(jwt.get()));
  if (encoded == nullptr) return Status(Errc::kInternal, "jwt sign: encoding failed");
  return std::string(encoded.get());
}

Result<TokenClaims> TokenSigner::Verify(std::string_view token, int64_t now) const {
  if (token.empty() || token.size() > kMaxTokenBytes ||
      token.find('\0') != std::string_view::npos ||
      std::count(token.begin(), token.end(), '.') != 2) {
    return Rejected("jwt: malformed token");
  }
  const std::string terminated(token);

  // First read the header without a key, to refuse any algorithm but HS256 by name before
  // libjwt verifies anything: libjwt would otherwise verify with whatever the token asks for.
  jwt_t* raw = nullptr;
  if (jwt_decode(&raw, terminated.c_str(), nullptr, 0) != 0) {
    if (raw != nullptr) jwt_free(raw);
    return Rejected("jwt: malformed token");
  }
  JwtPtr unverified(raw);
  const char* alg = jwt_get_header(unverified.get(), "alg");
  if (alg == nullptr) return Rejected("jwt: malformed token (no alg)");
  const std::string_view alg_name(alg);
  if (alg_name == "none") return Rejected("jwt: unsigned token (alg none) refused");
  if (alg_name != "HS256") return Rejected("jwt: algorithm other than HS256 refused");
  unverified.reset();

  raw = nullptr;
  // libjwt compares the HMAC in constant time (Debian's fix for CVE-2024-25189).
  if (jwt_decode(&raw, terminated.c_str(), reinterpret_cast<const unsigned char*>(secret_.data()),
                 static_cast<int>(secret_.size())) != 0) {
    if (raw != nullptr) jwt_free(raw);
    return Rejected("jwt: bad signature");
  }
  JwtPtr jwt(raw);
  if (jwt_get_alg(jwt.get()) != JWT_ALG_HS256) return Rejected("jwt: bad signature");

  ASSIGN_OR_RETURN(std::string issuer, StringClaim(jwt.get(), "iss"));
  if (issuer != kIssuer) return Rejected("jwt: token from another issuer");
  TokenClaims claims;
  ASSIGN_OR_RETURN(claims.subject, StringClaim(jwt.get(), "sub"));
  ASSIGN_OR_RETURN(claims.user_id, IntClaim(jwt.get(), "uid"));
  ASSIGN_OR_RETURN(claims.role, StringClaim(jwt.get(), "role"));
  ASSIGN_OR_RETURN(claims.kind, StringClaim(jwt.get(), "kind"));
  ASSIGN_OR_RETURN(claims.must_change_password, BoolClaim(jwt.get(), "must_change_password"));
  ASSIGN_OR_RETURN(claims.issued_at, IntClaim(jwt.get(), "iat"));
  ASSIGN_OR_RETURN(claims.expires_at, IntClaim(jwt.get(), "exp"));
  ASSIGN_OR_RETURN(claims.token_id, StringClaim(jwt.get(), "jti"));
  if (claims.subject.empty()) return Rejected("jwt: empty subject");
  if (!IsKnownKind(claims.kind)) return Rejected("jwt: unknown token kind");
  if (claims.issued_at > now + kClockSkewSeconds) return Rejected("jwt: token not yet valid");
  if (now >= claims.expires_at) return Rejected("jwt: token expired");
  return claims;
}

}  // namespace dittofs::controlplane::auth

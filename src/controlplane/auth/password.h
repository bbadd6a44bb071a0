// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "base/result.h"

namespace dittofs::controlplane::auth {

// Longest password we accept, in bytes. Argon2 pre-hashes the password, so this bounds work
// and memory spent on hostile input rather than protecting the hash.
inline constexpr size_t kMaxPasswordBytes = 1024;

// Hashes `password` with Argon2id (libsodium crypto_pwhash_str) and a fresh random salt. The
// result is the standard encoded form, "$argon2id$v=19$m=65536,t=3,p=1$<salt>$<hash>", which
// carries its own parameters, so hashes made with older parameters still verify.
//
// Cost: three passes (OPSLIMIT_MODERATE) over 64 MiB (MEMLIMIT_INTERACTIVE), about 0.15 s on
// one core. This runs on every login and on a small server: MEMLIMIT_MODERATE (256 MiB per
// concurrent login) would let a handful of parallel logins exhaust memory, while the extra
// passes raise an offline attacker's cost at no memory price. It is well above OWASP's Argon2id
// floor (19 MiB, t=2), and core::LoginThrottle bounds online guessing.
// Returns Errc::kInvalid for a password longer than kMaxPasswordBytes.
// Thread-safe.
Result<std::string> HashPassword(std::string_view password);

// True when `password` matches `hash` (an encoded Argon2id string from HashPassword). The
// comparison is constant-time (libsodium). A malformed or foreign hash never matches.
bool VerifyPassword(std::string_view password, std::string_view hash);

// True when `hash` was made with parameters other than HashPassword's current ones (or is not
// an Argon2id hash at all), so the caller should re-hash the password after a successful login.
bool NeedsRehash(std::string_view hash);

// The NT hash SMB's NTLM authentication keys on: lowercase hex of MD4 over the UTF-16LE encoding
// of the password (MS-NLMP §3.3.1, NTOWFv1). `password` is UTF-8; characters beyond the BMP
// become surrogate pairs. Returns Errc::kInvalid for invalid UTF-8 (overlong forms, surrogates,
// code points past U+10FFFF, truncated sequences) or a password over kMaxPasswordBytes.
// MD4 is broken; this exists only because NTLM requires it, and the result is as sensitive as
// the password itself.
Result<std::string> NtHash(std::string_view password);

}  // namespace dittofs::controlplane::auth

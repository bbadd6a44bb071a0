// SPDX-License-Identifier: Apache-2.0
#include "controlplane/auth/password.h"

#include <nettle/md4.h>
#include <sodium.h>

#include <cstdint>
#include <string>
#include <vector>

#include "controlplane/auth/sodium_init.h"

namespace dittofs::controlplane::auth {
namespace {

constexpr unsigned long long kOpsLimit = crypto_pwhash_OPSLIMIT_MODERATE;
constexpr size_t kMemLimit = crypto_pwhash_MEMLIMIT_INTERACTIVE;

// Decodes one UTF-8 sequence starting at text[*pos], advancing *pos past it. Returns false on
// any sequence RFC 3629 forbids: stray continuation bytes, overlong forms, UTF-16 surrogates,
// code points beyond U+10FFFF, and sequences cut short.
bool DecodeUtf8(std::string_view text, size_t* pos, uint32_t* code_point) {
  const auto byte = [&](size_t i) { return static_cast<uint8_t>(text[i]); };
  const uint8_t lead = byte(*pos);
  size_t length;
  uint32_t value;
  uint32_t min_value;
  if (lead < 0x80) {
    *code_point = lead;
    *pos += 1;
    return true;
  } else if ((lead & 0xE0) == 0xC0) {
    length = 2;
    value = lead & 0x1F;
    min_value = 0x80;
  } else if ((lead & 0xF0) == 0xE0) {
    length = 3;
    value = lead & 0x0F;
    min_value = 0x800;
  } else if ((lead & 0xF8) == 0xF0) {
    length = 4;
    value = lead & 0x07;
    min_value = 0x10000;
  } else {
    return false;  // a continuation byte or 0xF8..0xFF where a sequence must start
  }
  if (text.size() - *pos < length) return false;
  for (size_t i = 1; i < length; ++i) {
    const uint8_t next = byte(*pos + i);
    if ((next & 0xC0) != 0x80) return false;
    value = (value << 6) | (next & 0x3F);
  }
  if (value < min_value || value > 0x10FFFF) return false;
  if (value >= 0xD800 && value <= 0xDFFF) return false;
  *code_point = value;
  *pos += length;
  return true;
}

void AppendUtf16Le(uint16_t unit, std::vector<uint8_t>* out) {
  out->push_back(static_cast<uint8_t>(unit & 0xFF));
  out->push_back(static_cast<uint8_t>(unit >> 8));
}

}  // namespace

Result<std::string> HashPassword(std::string_view password) {
  if (password.size() > kMaxPasswordBytes) {
    return Status(Errc::kInvalid, "hash password: longer than the maximum length");
  }
  RETURN_IF_ERROR(EnsureSodiumInitialized());
  char encoded[crypto_pwhash_STRBYTES];
  if (crypto_pwhash_str(encoded, password.data(), password.size(), kOpsLimit, kMemLimit) != 0) {
    // libsodium fails here only when it cannot allocate the Argon2 memory.
    return Status(Errc::kUnavailable, "hash password: out of memory for Argon2id");
  }
  return std::string(encoded);
}

bool VerifyPassword(std::string_view password, std::string_view hash) {
  if (password.size() > kMaxPasswordBytes) return false;
  if (hash.empty() || hash.size() >= crypto_pwhash_STRBYTES) return false;
  if (!EnsureSodiumInitialized().ok()) return false;
  // crypto_pwhash_str_verify wants a NUL-terminated string; a hash with an embedded NUL
  // would be truncated, so refuse it outright.
  if (hash.find('\0') != std::string_view::npos) return false;
  const std::string terminated(hash);
  return crypto_pwhash_str_verify(terminated.c_str(), password.data(), password.size()) == 0;
}

bool NeedsRehash(std::string_view hash) {
  if (hash.empty() || hash.size() >= crypto_pwhash_STRBYTES) return true;
  if (hash.find('\0') != std::string_view::npos) return true;
  if (!EnsureSodiumInitialized().ok()) return true;
  const std::string terminated(hash);
  // Returns 0 when the parameters match, 1 when they differ and -1 for a non-Argon2id string.
  return crypto_pwhash_str_needs_rehash(terminated.c_str(), kOpsLimit, kMemLimit) != 0;
}

Result<std::string> NtHash(std::string_view password) {
  if (password.size() > kMaxPasswordBytes) {
    return Status(Errc::kInvalid, "nt hash: password longer than the maximum length");
  }
  std::vector<uint8_t> utf16;
  utf16.reserve(password.size() * 2);
  size_t pos = 0;
  while (pos < password.size()) {
    uint32_t code_point;
    if (!DecodeUtf8(password, &pos, &code_point)) {
      return Status(Errc::kInvalid, "nt hash: password is not valid UTF-8");
    }
    if (code_point < 0x10000) {
      AppendUtf16Le(static_cast<uint16_t>(code_point), &utf16);
    } else {
      const uint32_t offset = code_point - 0x10000;
      AppendUtf16Le(static_cast<uint16_t>(0xD800 | (offset >> 10)), &utf16);
      AppendUtf16Le(static_cast<uint16_t>(0xDC00 | (offset & 0x3FF)), &utf16);
    }
  }

  md4_ctx ctx;
  md4_init(&ctx);
  md4_update(&ctx, utf16.size(), utf16.data());
  uint8_t digest[MD4_DIGEST_SIZE];
  md4_digest(&ctx, sizeof(digest), digest);
  sodium_memzero(utf16.data(), utf16.size());

  static constexpr char kHex[] = "0123456789abcdef";
  std::string hex;
  hex.reserve(2 * MD4_DIGEST_SIZE);
  for (uint8_t b : digest) {
    hex.push_back(kHex[b >> 4]);
    hex.push_back(kHex[b & 0xF]);
  }
  sodium_memzero(digest, sizeof(digest));
  return hex;
}

}  // namespace dittofs::controlplane::auth

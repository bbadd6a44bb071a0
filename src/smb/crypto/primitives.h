// SPDX-License-Identifier: Apache-2.0
#pragma once

// The OpenSSL 3 primitives under SMB's message protection. The algorithms are fetched once per
// process and the MAC and digest contexts kept per thread, since the server signs every message.
// Internal to smb/crypto (and its tests, which check them against their RFC vectors).

#include <array>
#include <cstddef>
#include <initializer_list>

#include "base/bytes.h"

namespace dittofs::smb::crypto::internal {

using Block = std::array<std::byte, 16>;

// HMAC-SHA256 (RFC 2104, FIPS 180-4) of the concatenation of `parts`.
std::array<std::byte, 32> HmacSha256(ByteView key, std::initializer_list<ByteView> parts);

// AES-128-CMAC (RFC 4493) of the concatenation of `parts`. REQUIRES: key.size() == 16.
Block AesCmac(ByteView key, std::initializer_list<ByteView> parts);

// AES-128-GMAC (RFC 4543): the GCM tag of an empty plaintext with `parts` as the additional
// authenticated data. REQUIRES: key.size() == 16, nonce.size() == 12.
Block AesGmac(ByteView key, ByteView nonce, std::initializer_list<ByteView> parts);

// SHA-512 of the concatenation of `parts`.
std::array<std::byte, 64> Sha512(std::initializer_list<ByteView> parts);

enum class AeadMode { kCcm, kGcm };

// AES-CCM (RFC 3610) or AES-GCM encryption with a 16- or 32-byte key. `out` receives the
// ciphertext (out.size() == plaintext.size()) and `tag` the tag (its size is the tag length:
// 16 for SMB; CCM also takes 4..14, even). CCM takes a 7..13-byte nonce, GCM any (SMB: 12).
// False when OpenSSL refuses the parameters.
bool AeadSeal(AeadMode mode, ByteView key, ByteView nonce, ByteView aad, ByteView plaintext,
              MutableByteView out, MutableByteView tag);

// The inverse of AeadSeal: false when the parameters are refused or the tag does not match
// (then `out` holds nothing meaningful).
bool AeadOpen(AeadMode mode, ByteView key, ByteView nonce, ByteView aad, ByteView ciphertext,
              ByteView tag, MutableByteView out);

}  // namespace dittofs::smb::crypto::internal

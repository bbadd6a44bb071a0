// SPDX-License-Identifier: Apache-2.0
// SMB2 message signing and verification (MS-SMB2 3.1.4.1, 3.1.5.1).
#include <openssl/crypto.h>

#include <algorithm>
#include <cstring>

#include "smb/crypto/crypto.h"
#include "smb/crypto/primitives.h"

namespace dittofs::smb::crypto {
namespace {

// SMB2 header fields used here (MS-SMB2 2.2.1): Command at 12 (2 bytes), Flags at 16 (4),
// MessageId at 24 (8), Signature at 48 (16); all little-endian.
constexpr size_t kCommandOffset = 12;
constexpr size_t kFlagsOffset = 16;
constexpr size_t kMessageIdOffset = 24;
constexpr uint16_t kSmb2Cancel = 0x000C;

uint32_t LoadLe32(const std::byte* p) {
  return uint32_t(p[0]) | (uint32_t(p[1]) << 8) | (uint32_t(p[2]) << 16) | (uint32_t(p[3]) << 24);
}
void StoreLe32(std::byte* p, uint32_t v) {
  for (int i = 0; i < 4; ++i) p[i] = std::byte(v >> (8 * i));
}

bool KeyFits(SigningAlgorithm alg, ByteView key) {
  switch (alg) {
    case SigningAlgorithm::kHmacSha256:
      return true;
    case SigningAlgorithm::kAesCmac:
    case SigningAlgorithm::kAesGmac:
      return key.size() == 16;
  }
  return false;
}

// The signature of `message` as if its Signature field were zero, without changing it.
// REQUIRES: message.size() >= kSmb2HeaderSize and KeyFits(alg, key).
internal::Block ComputeSignature(SigningAlgorithm alg, ByteView key, ByteView message) {
  static constexpr std::byte kZeroSignature[kSignatureSize] = {};
  ByteView before = message.first(kSignatureOffset);
  ByteView after = message.subspan(kSignatureOffset + kSignatureSize);
  switch (alg) {
    case SigningAlgorithm::kHmacSha256: {
      std::array<std::byte, 32> mac = internal::HmacSha256(key, {before, kZeroSignature, after});
      internal::Block out;
      std::copy_n(mac.begin(), out.size(), out.begin());
      return out;
    }
    case SigningAlgorithm::kAesCmac:
      return internal::AesCmac(key, {before, kZeroSignature, after});
    case SigningAlgorithm::kAesGmac: {
      // MS-SMB2 3.1.4.1: MessageId, then a 32-bit little-endian word whose bit 0 is the role
      // (1 from the server) and bit 1 marks an SMB2 CANCEL request.
      std::array<std::byte, 12> nonce{};
      std::memcpy(nonce.data(), message.data() + kMessageIdOffset, 8);
      uint32_t flags = LoadLe32(message.data() + kFlagsOffset);
      uint16_t command = uint16_t(uint16_t(message[kCommandOffset]) |
                                  (uint16_t(message[kCommandOffset + 1]) << 8));
      bool from_server = (flags & kSmb2FlagsServerToRedir) != 0;
      uint32_t word = from_server ? 1u : 0u;
      if (command == kSmb2Cancel && !from_server) word |= 2u;
      StoreLe32(nonce.data() + 8, word);
      return internal::AesGmac(key, nonce, {before, kZeroSignature, after});
    }
  }
  return {};
}

}  // namespace

Status Sign(SigningAlgorithm alg, ByteView key, std::span<std::byte> message) {
  if (message.size() < kSmb2HeaderSize) return Status(Errc::kInvalid, "sign: short SMB2 message");
  if (!KeyFits(alg, key)) return Status(Errc::kInvalid, "sign: wrong signing key size");
  std::byte* flags = message.data() + kFlagsOffset;
  StoreLe32(flags, LoadLe32(flags) | kSmb2FlagsSigned);
  internal::Block signature = ComputeSignature(alg, key, message);
  std::memcpy(message.data() + kSignatureOffset, signature.data(), signature.size());
  return Status();
}

bool Verify(SigningAlgorithm alg, ByteView key, ByteView message) {
  if (message.size() < kSmb2HeaderSize || !KeyFits(alg, key)) return false;
  internal::Block expected = ComputeSignature(alg, key, message);
  return CRYPTO_memcmp(expected.data(), message.data() + kSignatureOffset, kSignatureSize) == 0;
}

}  // namespace dittofs::smb::crypto

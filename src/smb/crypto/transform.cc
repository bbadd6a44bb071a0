// SPDX-License-Identifier: Apache-2.0
// SMB 3.x encryption: the SMB2 TRANSFORM_HEADER (MS-SMB2 2.2.41) and its AEAD (3.1.4.3, and the
// receiver's checks of 3.3.5.2.1.1).
#include <climits>
#include <cstring>
#include <utility>

#include "base/check.h"
#include "base/random.h"
#include "smb/crypto/crypto.h"
#include "smb/crypto/primitives.h"

namespace dittofs::smb::crypto {
namespace {

// TRANSFORM_HEADER, little-endian:
//    0  4  ProtocolId 0xFD 'S' 'M' 'B'       4 16  Signature (the AEAD tag)
//   20 16  Nonce (CCM: 11 bytes used, GCM: 12; the rest zero)
//   36  4  OriginalMessageSize              40  2  Reserved
//   42  2  Flags/EncryptionAlgorithm (0x0001: encrypted)
//   44  8  SessionId
// The AEAD's associated data is bytes 20..51: the header without ProtocolId and Signature.
constexpr std::byte kProtocolId[4] = {std::byte{0xFD}, std::byte{'S'}, std::byte{'M'},
                                      std::byte{'B'}};
constexpr size_t kTagOffset = 4;
constexpr size_t kTagSize = 16;
constexpr size_t kNonceOffset = 20;
constexpr size_t kNonceFieldSize = 16;
constexpr size_t kOriginalSizeOffset = 36;
constexpr size_t kFlagsOffset = 42;
constexpr size_t kSessionIdOffset = 44;
constexpr uint16_t kFlagEncrypted = 0x0001;

uint64_t LoadLe(const std::byte* p, int bytes) {
  uint64_t v = 0;
  for (int i = bytes - 1; i >= 0; --i) v = (v << 8) | uint64_t(p[i]);
  return v;
}
void StoreLe(std::byte* p, uint64_t v, int bytes) {
  for (int i = 0; i < bytes; ++i) p[i] = std::byte(v >> (8 * i));
}

bool IsCcm(Cipher cipher) { return cipher == Cipher::kAes128Ccm || cipher == Cipher::kAes256Ccm; }
size_t NonceSize(Cipher cipher) { return IsCcm(cipher) ? 11 : 12; }
internal::AeadMode Mode(Cipher cipher) {
  return IsCcm(cipher) ? internal::AeadMode::kCcm : internal::AeadMode::kGcm;
}

// Builds header and ciphertext; `nonce` is the whole Nonce field, of which the AEAD uses the
// first 11 (CCM) or 12 (GCM) bytes. REQUIRES: a usable cipher and key, and
// 0 < plaintext size <= INT_MAX.
Result<std::vector<std::byte>> SealMessage(Cipher cipher, ByteView key,
                                           std::span<const std::byte, kNonceFieldSize> nonce,
                                           uint64_t session_id, ByteView plaintext) {
  std::vector<std::byte> out(kTransformHeaderSize + plaintext.size());
  std::memcpy(out.data(), kProtocolId, sizeof(kProtocolId));
  size_t nonce_size = NonceSize(cipher);
  std::memcpy(out.data() + kNonceOffset, nonce.data(), nonce.size());
  StoreLe(out.data() + kOriginalSizeOffset, plaintext.size(), 4);
  StoreLe(out.data() + kFlagsOffset, kFlagEncrypted, 2);
  StoreLe(out.data() + kSessionIdOffset, session_id, 8);
  MutableByteView all(out);
  if (!internal::AeadSeal(Mode(cipher), key, all.subspan(kNonceOffset, nonce_size),
                          all.subspan(kNonceOffset, kTransformHeaderSize - kNonceOffset), plaintext,
                          all.subspan(kTransformHeaderSize), all.subspan(kTagOffset, kTagSize))) {
    return Status(Errc::kInternal, "smb encrypt: the AEAD failed");
  }
  return out;
}

Status CheckSealable(Cipher cipher, ByteView key, ByteView plaintext) {
  if (cipher == Cipher::kNone || key.size() != CipherKeySize(cipher)) {
    return Status(Errc::kInvalid, "smb encrypt: no cipher or a key of the wrong size");
  }
  if (plaintext.empty()) return Status(Errc::kInvalid, "smb encrypt: empty message");
  if (plaintext.size() > INT_MAX) return Status(Errc::kTooBig, "smb encrypt: message too big");
  return Status();
}

}  // namespace

Encryptor::Encryptor(Cipher cipher, std::vector<std::byte> key)
    : cipher_(cipher), key_(std::move(key)) {
  CHECK(cipher_ != Cipher::kNone && key_.size() == CipherKeySize(cipher_))
      << "Encryptor with cipher " << static_cast<int>(cipher_) << " and a " << key_.size()
      << "-byte key";
  first_counter_ = RandomU64();
  StoreLe(salt_.data(), RandomU64(), static_cast<int>(salt_.size()));
}

Encryptor::Encryptor(Encryptor&& other) noexcept
    : cipher_(other.cipher_),
      key_(std::move(other.key_)),
      salt_(other.salt_),
      first_counter_(other.first_counter_),
      sealed_(other.sealed_.load()) {}

Result<std::vector<std::byte>> Encryptor::Seal(uint64_t session_id, ByteView plaintext) {
  RETURN_IF_ERROR(CheckSealable(cipher_, key_, plaintext));
  // Claim the next nonce; the last of the 2^64 counter values is never handed out, so the
  // counter cannot wrap back to one already used.
  uint64_t n = sealed_.load(std::memory_order_relaxed);
  do {
    if (n == UINT64_MAX) return Status(Errc::kInternal, "smb encrypt: nonces exhausted");
  } while (!sealed_.compare_exchange_weak(n, n + 1, std::memory_order_relaxed));
  std::array<std::byte, kNonceFieldSize> nonce{};
  StoreLe(nonce.data(), first_counter_ + n, 8);
  std::memcpy(nonce.data() + 8, salt_.data(), NonceSize(cipher_) - 8);
  return SealMessage(cipher_, key_, nonce, session_id, plaintext);
}

bool IsTransform(ByteView message) {
  return message.size() >= sizeof(kProtocolId) &&
         std::memcmp(message.data(), kProtocolId, sizeof(kProtocolId)) == 0;
}

uint64_t TransformSessionId(ByteView message) {
  CHECK(message.size() >= kTransformHeaderSize) << "TransformSessionId of a short message";
  return LoadLe(message.data() + kSessionIdOffset, 8);
}

Result<std::vector<std::byte>> Open(Cipher cipher, ByteView key, ByteView message) {
  if (cipher == Cipher::kNone || key.size() != CipherKeySize(cipher)) {
    return Status(Errc::kInvalid, "smb decrypt: no cipher or a key of the wrong size");
  }
  if (message.size() <= kTransformHeaderSize || !IsTransform(message)) {
    return Status(Errc::kInvalid, "smb decrypt: not a transformed message");
  }
  if (LoadLe(message.data() + kFlagsOffset, 2) != kFlagEncrypted) {
    return Status(Errc::kInvalid, "smb decrypt: Flags/EncryptionAlgorithm is not 0x0001");
  }
  uint64_t original_size = LoadLe(message.data() + kOriginalSizeOffset, 4);
  ByteView ciphertext = message.subspan(kTransformHeaderSize);
  if (original_size != ciphertext.size() || original_size < kSmb2HeaderSize) {
    return Status(Errc::kInvalid, "smb decrypt: OriginalMessageSize does not match the message");
  }
  if (ciphertext.size() > INT_MAX) return Status(Errc::kInvalid, "smb decrypt: message too big");
  std::vector<std::byte> plaintext(ciphertext.size());
  if (!internal::AeadOpen(Mode(cipher), key, message.subspan(kNonceOffset, NonceSize(cipher)),
                          message.subspan(kNonceOffset, kTransformHeaderSize - kNonceOffset),
                          ciphertext, message.subspan(kTagOffset, kTagSize), plaintext)) {
    return Status(Errc::kAccess, "smb decrypt: the message does not authenticate");
  }
  return plaintext;
}

namespace internal {
Result<std::vector<std::byte>> SealWithNonce(Cipher cipher, ByteView key,
                                             std::span<const std::byte, 16> nonce,
                                             uint64_t session_id, ByteView plaintext) {
  RETURN_IF_ERROR(CheckSealable(cipher, key, plaintext));
  return SealMessage(cipher, key, nonce, session_id, plaintext);
}
}  // namespace internal

}  // namespace dittofs::smb::crypto

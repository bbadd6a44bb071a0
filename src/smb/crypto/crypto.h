// SPDX-License-Identifier: Apache-2.0
#pragma once

// SMB2/3 message protection (MS-SMB2): the SP800-108 key derivation and the session keys of
// each dialect, message signing (HMAC-SHA256, AES-CMAC, AES-GMAC), SMB 3.1.1 pre-authentication
// integrity, and the TRANSFORM_HEADER encryption (AES-128/256 in CCM or GCM mode).
//
// All functions are safe to call concurrently from any thread; an Encryptor may be shared too.

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "base/bytes.h"
#include "base/result.h"
#include "base/status.h"

namespace dittofs::smb::crypto {

// MS-SMB2 2.2.3.1.7 signing algorithm ids. HMAC-SHA256 (the only algorithm of SMB 2.x) has no
// id of its own here; it is never negotiated.
enum class SigningAlgorithm : uint16_t {
  kHmacSha256 = 0xFFFF,
  kAesCmac = 0x0001,
  kAesGmac = 0x0002,
};

// MS-SMB2 2.2.3.1.2 cipher ids; kNone means the connection encrypts nothing.
enum class Cipher : uint16_t {
  kNone = 0,
  kAes128Ccm = 1,
  kAes128Gcm = 2,
  kAes256Ccm = 3,
  kAes256Gcm = 4,
};

constexpr uint16_t kDialect202 = 0x0202;
constexpr uint16_t kDialect210 = 0x0210;
constexpr uint16_t kDialect300 = 0x0300;
constexpr uint16_t kDialect302 = 0x0302;
constexpr uint16_t kDialect311 = 0x0311;

constexpr size_t kSmb2HeaderSize = 64;
constexpr size_t kSignatureOffset = 48;
constexpr size_t kSignatureSize = 16;
constexpr uint32_t kSmb2FlagsServerToRedir = 0x00000001;
constexpr uint32_t kSmb2FlagsSigned = 0x00000008;

constexpr size_t kTransformHeaderSize = 52;
constexpr size_t kPreauthHashSize = 64;

// The key length of a cipher: 16 bytes for AES-128, 32 for AES-256, 0 for kNone.
size_t CipherKeySize(Cipher cipher);

// The SP800-108 KDF in counter mode with HMAC-SHA256 as the PRF, r = 32 and L = 8 * out_bytes
// (MS-SMB2 3.1.4.2): K(i) = HMAC(key, [i]_32 || label || 0x00 || context || [L]_32), big-endian.
// The 0x00 separator is added here; MS-SMB2's labels and constant contexts carry their own
// terminating NUL as well (DeriveKeys passes them so).
std::vector<std::byte> Kdf(ByteView key, ByteView label, ByteView context, size_t out_bytes);

// A session's keys as the server uses them.
struct SessionKeys {
  std::vector<std::byte> signing;      // for 2.x: the session key itself
  std::vector<std::byte> encrypt;      // server -> client (ServerOut / SMBS2CCipherKey)
  std::vector<std::byte> decrypt;      // client -> server (ServerIn / SMBC2SCipherKey)
  std::vector<std::byte> application;  // empty for 2.x
};

// The server's keys (MS-SMB2 3.3.5.5.3). 2.0.2 and 2.1 sign with the session key and have no
// other keys. 3.0 and 3.0.2 derive with the constant labels and contexts ("SMB2AESCMAC" /
// "SmbSign", "SMB2AESCCM" / "ServerIn " and "ServerOut", "SMB2APP" / "SmbRpc"); 3.1.1 with
// "SMBSigningKey", "SMBC2SCipherKey", "SMBS2CCipherKey" and "SMBAppKey" and the session's
// preauth integrity hash as context. The session key is used as Session.SessionKey: its first
// 16 bytes, right-padded with zeros. Signing and application keys are 16 bytes; the cipher keys
// are CipherKeySize(cipher) bytes (16 when cipher is kNone), and for AES-256 ciphers they are
// derived from the whole `session_key` (MS-SMB2's FullSessionKey).
// REQUIRES: for 3.1.1, preauth_hash.size() == 64 (ignored for the other dialects).
SessionKeys DeriveKeys(uint16_t dialect, ByteView session_key, ByteView preauth_hash,
                       Cipher cipher);

// The signing algorithm of a dialect: HMAC-SHA256 for 2.x, AES-CMAC for 3.0 and 3.0.2, and for
// 3.1.1 the one negotiated in SMB2_SIGNING_CAPABILITIES, AES-CMAC when none was.
SigningAlgorithm SigningFor(uint16_t dialect, std::optional<SigningAlgorithm> negotiated);

// Signs one SMB2 message in place (MS-SMB2 3.1.4.1): `message` is a 64-byte header and its body,
// one element of a compound chain with its padding. Sets SMB2_FLAGS_SIGNED, zeroes the
// signature field, computes the signature and writes it there. AES-GMAC's nonce is the message's
// MessageId, then the role bit (set when SMB2_FLAGS_SERVER_TO_REDIR is) and the CANCEL-request
// bit. Returns Errc::kInvalid for a message shorter than a header or a key of the wrong size
// (AES-CMAC and AES-GMAC take 16 bytes).
Status Sign(SigningAlgorithm alg, ByteView key, std::span<std::byte> message);

// Checks a received message's signature (MS-SMB2 3.1.5.1) in constant time, without changing or
// copying the message. False for a short message, a key of the wrong size or a mismatch.
bool Verify(SigningAlgorithm alg, ByteView key, ByteView message);

// SMB 3.1.1 pre-authentication integrity (MS-SMB2 3.3.5.4, 3.3.5.5):
// H(i) = SHA-512(H(i-1) || message), starting from 64 zero bytes. Copy it to fork the
// connection's hash into a session's.
class PreauthHash {
 public:
  void Update(ByteView message);
  const std::array<std::byte, kPreauthHashSize>& value() const { return value_; }

 private:
  std::array<std::byte, kPreauthHashSize> value_{};
};

// Encrypts messages for one session and direction (MS-SMB2 3.1.4.3). Nonces are a 64-bit
// counter (little-endian, from a random start) followed by random salt bytes fixed for this
// Encryptor (3 for CCM's 11-byte nonce, 4 for GCM's 12); a nonce is never used twice.
// Seal is safe to call concurrently.
class Encryptor {
 public:
  // REQUIRES: cipher != kNone and key.size() == CipherKeySize(cipher).
  Encryptor(Cipher cipher, std::vector<std::byte> key);
  Encryptor(Encryptor&& other) noexcept;
  Encryptor& operator=(Encryptor&&) = delete;
  Encryptor(const Encryptor&) = delete;

  Cipher cipher() const { return cipher_; }

  // Returns the TRANSFORM_HEADER followed by the ciphertext of `plaintext` (one SMB2 message or
  // a whole compound chain). Errc::kTooBig when the plaintext is over 2^31 - 1 bytes; kInvalid
  // for an empty one; kInternal once 2^64 nonces were used.
  Result<std::vector<std::byte>> Seal(uint64_t session_id, ByteView plaintext);

 private:
  Cipher cipher_;
  std::vector<std::byte> key_;
  std::array<std::byte, 4> salt_{};
  uint64_t first_counter_ = 0;
  std::atomic<uint64_t> sealed_{0};
};

// Whether `message` starts with a TRANSFORM_HEADER's ProtocolId (0xFD 'S' 'M' 'B').
bool IsTransform(ByteView message);

// The SessionId of a TRANSFORM_HEADER. REQUIRES: message.size() >= 52.
uint64_t TransformSessionId(ByteView message);

// Decrypts and authenticates one transformed message with the session's decryption key.
// Errc::kInvalid for a malformed one: shorter than a header, a wrong ProtocolId,
// Flags/EncryptionAlgorithm other than 0x0001, an OriginalMessageSize other than the size of the
// ciphertext or smaller than an SMB2 header, or a key or cipher that cannot be used.
// Errc::kAccess when the signature (the AEAD tag) does not authenticate it.
Result<std::vector<std::byte>> Open(Cipher cipher, ByteView key, ByteView transform_message);

namespace internal {
// Seal with a chosen Nonce field (the AEAD takes its first 11 bytes for CCM, 12 for GCM; all 16
// are sent and authenticated), for tests against published vectors. Production code uses
// Encryptor, which never repeats a nonce and zeroes the field's unused tail.
Result<std::vector<std::byte>> SealWithNonce(Cipher cipher, ByteView key,
                                             std::span<const std::byte, 16> nonce,
                                             uint64_t session_id, ByteView plaintext);
}  // namespace internal

}  // namespace dittofs::smb::crypto

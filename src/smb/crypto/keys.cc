// SPDX-License-Identifier: Apache-2.0
// Key derivation (MS-SMB2 3.1.4.2, 3.3.5.5.3), the signing algorithm of a dialect, and the
// pre-authentication integrity hash.
#include <algorithm>
#include <string_view>

#include "base/check.h"
#include "smb/crypto/crypto.h"
#include "smb/crypto/primitives.h"

namespace dittofs::smb::crypto {
namespace {

// MS-SMB2's labels and constant contexts include their terminating NUL; sizeof keeps it.
template <size_t N>
ByteView Label(const char (&s)[N]) {
  return AsBytes(std::string_view(s, N));
}

bool IsSmb3(uint16_t dialect) { return dialect >= kDialect300; }

}  // namespace

size_t CipherKeySize(Cipher cipher) {
  switch (cipher) {
    case Cipher::kAes128Ccm:
    case Cipher::kAes128Gcm:
      return 16;
    case Cipher::kAes256Ccm:
    case Cipher::kAes256Gcm:
      return 32;
    case Cipher::kNone:
      return 0;
  }
  return 0;
}

std::vector<std::byte> Kdf(ByteView key, ByteView label, ByteView context, size_t out_bytes) {
  std::vector<std::byte> out;
  out.reserve(out_bytes + 32);
  std::array<std::byte, 4> length;
  StoreBe32(length.data(), static_cast<uint32_t>(out_bytes * 8));
  static constexpr std::byte kSeparator[1] = {std::byte{0}};
  for (uint32_t i = 1; out.size() < out_bytes; ++i) {
    std::array<std::byte, 4> counter;
    StoreBe32(counter.data(), i);
    std::array<std::byte, 32> block =
        internal::HmacSha256(key, {counter, label, kSeparator, context, length});
    out.insert(out.end(), block.begin(), block.end());
  }
  out.resize(out_bytes);
  return out;
}

SessionKeys DeriveKeys(uint16_t dialect, ByteView session_key, ByteView preauth_hash,
                       Cipher cipher) {
  // Session.SessionKey: the first 16 bytes of the authentication's key, zero-padded.
  std::array<std::byte, 16> key16{};
  std::copy_n(session_key.begin(), std::min<size_t>(session_key.size(), 16), key16.begin());
  SessionKeys keys;
  if (!IsSmb3(dialect)) {
    keys.signing.assign(key16.begin(), key16.end());
    return keys;
  }
  size_t cipher_key_size = cipher == Cipher::kNone ? 16 : CipherKeySize(cipher);
  // MS-SMB2 3.3.5.5.3: AES-256 cipher keys come from Session.FullSessionKey.
  ByteView cipher_kdf_key = cipher_key_size == 32 ? session_key : ByteView(key16);
  if (dialect == kDialect311) {
    CHECK(preauth_hash.size() == kPreauthHashSize)
        << "3.1.1 key derivation with a " << preauth_hash.size() << "-byte preauth hash";
    keys.signing = Kdf(key16, Label("SMBSigningKey"), preauth_hash, 16);
    keys.application = Kdf(key16, Label("SMBAppKey"), preauth_hash, 16);
    keys.encrypt = Kdf(cipher_kdf_key, Label("SMBS2CCipherKey"), preauth_hash, cipher_key_size);
    keys.decrypt = Kdf(cipher_kdf_key, Label("SMBC2SCipherKey"), preauth_hash, cipher_key_size);
    return keys;
  }
  keys.signing = Kdf(key16, Label("SMB2AESCMAC"), Label("SmbSign"), 16);
  keys.application = Kdf(key16, Label("SMB2APP"), Label("SmbRpc"), 16);
  keys.encrypt = Kdf(cipher_kdf_key, Label("SMB2AESCCM"), Label("ServerOut"), cipher_key_size);
  keys.decrypt = Kdf(cipher_kdf_key, Label("SMB2AESCCM"), Label("ServerIn "), cipher_key_size);
  return keys;
}

SigningAlgorithm SigningFor(uint16_t dialect, std::optional<SigningAlgorithm> negotiated) {
  if (!IsSmb3(dialect)) return SigningAlgorithm::kHmacSha256;
  if (dialect == kDialect311 && negotiated.has_value()) return *negotiated;
  return SigningAlgorithm::kAesCmac;
}

void PreauthHash::Update(ByteView message) { value_ = internal::Sha512({value_, message}); }

}  // namespace dittofs::smb::crypto

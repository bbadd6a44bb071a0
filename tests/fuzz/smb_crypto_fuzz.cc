// SPDX-License-Identifier: Apache-2.0
//
// libFuzzer target for SMB's TRANSFORM_HEADER decoder: whatever a client sends before a session
// is known is hostile. The first input byte picks the cipher and how the rest is used:
//   - as a whole transformed message (exercises the header checks),
//   - as ciphertext behind a well-formed header (reaches the AEAD and its tag check), or
//   - as a plaintext to seal and open again (must round-trip exactly).
// Verify also runs over the raw bytes. Nothing may crash, leak or read out of bounds.

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "smb/crypto/crypto.h"

namespace {

using dittofs::ByteView;
namespace crypto = dittofs::smb::crypto;

constexpr crypto::Cipher kCiphers[] = {crypto::Cipher::kAes128Ccm, crypto::Cipher::kAes128Gcm,
                                       crypto::Cipher::kAes256Ccm, crypto::Cipher::kAes256Gcm};

std::vector<std::byte> FixedKey(size_t size) {
  std::vector<std::byte> key(size);
  for (size_t i = 0; i < size; ++i) key[i] = std::byte(0x40 + i);
  return key;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  uint8_t selector = data[0];
  ByteView input(reinterpret_cast<const std::byte*>(data + 1), size - 1);
  crypto::Cipher cipher = kCiphers[selector & 3];
  std::vector<std::byte> key = FixedKey(crypto::CipherKeySize(cipher));

  switch ((selector >> 2) % 3) {
    case 0: {
      auto opened = crypto::Open(cipher, key, input);
      if (crypto::IsTransform(input) && input.size() >= crypto::kTransformHeaderSize) {
        (void)crypto::TransformSessionId(input);
      }
      if (opened.ok()) std::abort();  // a forged tag would be a finding in itself
      break;
    }
    case 1: {
      // A well-formed header (nonce and session id from the input) around the rest.
      std::vector<std::byte> message(crypto::kTransformHeaderSize);
      const uint8_t kProtocolId[4] = {0xFD, 'S', 'M', 'B'};
      std::memcpy(message.data(), kProtocolId, 4);
      size_t head = input.size() < 36 ? input.size() : 36;
      std::memcpy(message.data() + 4, input.data(), head);  // signature, nonce, ...
      ByteView body = input.subspan(head);
      uint32_t n = static_cast<uint32_t>(body.size());
      for (int i = 0; i < 4; ++i) message[36 + i] = std::byte(n >> (8 * i));
      message[40] = message[41] = std::byte{0};
      message[42] = std::byte{1};
      message[43] = std::byte{0};
      message.insert(message.end(), body.begin(), body.end());
      auto opened = crypto::Open(cipher, key, message);
      if (opened.ok()) std::abort();
      break;
    }
    default: {
      crypto::Encryptor encryptor(cipher, key);
      auto sealed = encryptor.Seal(0x1122334455667788, input);
      if (!sealed.ok()) {
        if (!input.empty()) std::abort();
        break;
      }
      auto opened = crypto::Open(cipher, key, *sealed);
      if (input.size() >= crypto::kSmb2HeaderSize) {
        if (!opened.ok() || opened->size() != input.size() ||
            std::memcmp(opened->data(), input.data(), input.size()) != 0) {
          std::abort();
        }
      } else if (opened.ok()) {
        std::abort();  // shorter than an SMB2 header: Open refuses it
      }
      break;
    }
  }
  (void)crypto::Verify(crypto::SigningAlgorithm::kAesGmac, FixedKey(16), input);
  (void)crypto::Verify(crypto::SigningAlgorithm::kAesCmac, FixedKey(16), input);
  return 0;
}

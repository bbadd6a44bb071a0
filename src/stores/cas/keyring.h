// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "base/bytes.h"
#include "base/result.h"

namespace dittofs::stores::cas {

// A 256-bit symmetric key that is wiped (OPENSSL_cleanse) when destroyed. Movable (the source
// is wiped), not copyable, so a key has one owner and leaves no stray copies behind.
class SecretKey {
 public:
  static constexpr size_t kSize = 32;

  SecretKey() = default;
  ~SecretKey();
  SecretKey(SecretKey&& other) noexcept;
  SecretKey& operator=(SecretKey&& other) noexcept;
  SecretKey(const SecretKey&) = delete;
  SecretKey& operator=(const SecretKey&) = delete;

  // kSize bytes from the operating system's CSPRNG (RAND_bytes).
  static SecretKey Random();
  // REQUIRES: bytes.size() == kSize.
  static SecretKey FromBytes(ByteView bytes);

  ByteView view() const { return {bytes_.data(), bytes_.size()}; }
  const unsigned char* data() const {
    return reinterpret_cast<const unsigned char*>(bytes_.data());
  }

 private:
  std::array<std::byte, kSize> bytes_{};
};

// The AEADs a remote may encrypt with. The values are stored in objects; never renumber them.
enum class Cipher : uint8_t { kNone = 0, kAes256Gcm = 1, kChaCha20Poly1305 = 2 };
std::string_view CipherName(Cipher cipher);

inline constexpr size_t kAeadNonceSize = 12;
inline constexpr size_t kAeadTagSize = 16;

// Fills `out` from the CSPRNG (RAND_bytes). A CSPRNG failure is fatal (CHECK).
void RandomBytes(MutableByteView out);

// Encrypts `plaintext` into `ciphertext` (same size) and writes the tag to `tag` (kAeadTagSize).
// REQUIRES: cipher != kNone; nonce.size() == kAeadNonceSize.
void AeadSeal(Cipher cipher, const SecretKey& key, ByteView nonce, ByteView aad, ByteView plaintext,
              MutableByteView ciphertext, MutableByteView tag);
// Decrypts and authenticates. On a bad tag returns Errc::kIo and leaves nothing usable in
// `plaintext` (it is wiped). REQUIRES: as AeadSeal; plaintext.size() == ciphertext.size().
Status AeadOpen(Cipher cipher, const SecretKey& key, ByteView nonce, ByteView aad,
                ByteView ciphertext, ByteView tag, MutableByteView plaintext);

// scrypt parameters of a key file (RFC 7914). The cost is N = 2^log2_n; memory is 128 * r * N
// bytes (32 MiB for the defaults). Tests use tiny values to stay fast.
struct KdfParams {
  uint8_t log2_n = 15;
  uint32_t r = 8;
  uint32_t p = 1;
};

// The master key of an encrypted remote. It never leaves this process in the clear: it only
// wraps (AES-256-GCM) the per-object data keys, which are stored wrapped in object headers and
// in the chunk index. docs/formats/objects.md gives the byte layouts.
// Movable, not copyable; the key is wiped on destruction. Const methods are thread-safe.
class Keyring {
 public:
  // The size of WrapDataKey()'s output.
  static constexpr size_t kWrappedKeySize = 68;

  // A fresh random master key, held only in memory (CreateKeyFile stores one).
  static Keyring Generate();
  // REQUIRES: master_key.size() == SecretKey::kSize. For tests and tools.
  static Keyring FromMasterKey(ByteView master_key);

  Keyring(Keyring&&) noexcept = default;
  Keyring& operator=(Keyring&&) noexcept = default;

  // An 8-byte fingerprint of the master key (SHA-256 of a label and the key), as 16 hex digits.
  // Safe to log; it is recorded in every wrapped data key so that a key from another key file is
  // reported as such rather than as damage.
  std::string KeyId() const;

  // Wraps `data_key` under the master key with a fresh random nonce: kWrappedKeySize bytes.
  Buffer WrapDataKey(const SecretKey& data_key) const;
  // Errc::kAccess when `wrapped` was made under another master key; Errc::kIo ("corrupt ...")
  // when it is damaged.
  Result<SecretKey> UnwrapDataKey(ByteView wrapped) const;

 private:
  explicit Keyring(SecretKey master_key);
  friend Status WriteKeyFile(const std::string& path, const Keyring& keyring,
                             std::string_view passphrase, const KdfParams& params);

  SecretKey master_;
  std::array<std::byte, 8> key_id_{};
};

// Creates a key file at `path` holding a new random master key wrapped under `passphrase`.
// Errc::kExists if `path` exists: a master key is never overwritten, since losing it loses every
// object encrypted under it.
Result<Keyring> CreateKeyFile(const std::string& path, std::string_view passphrase,
                              const KdfParams& params = {});

// Reads the key file at `path`. Errc::kAccess for a wrong passphrase, Errc::kInvalid for a
// damaged or truncated file, Errc::kNotSupported for a newer format version, Errc::kNotFound
// when the file does not exist.
Result<Keyring> UnlockKeyFile(const std::string& path, std::string_view passphrase);

// UnlockKeyFile, or CreateKeyFile when `path` does not exist.
Result<Keyring> OpenOrCreateKeyFile(const std::string& path, std::string_view passphrase,
                                    const KdfParams& params = {});

// Atomically replaces (temp file, fsync, rename, fsync of the directory; mode 0600) the key file
// at `path` with one holding `keyring`'s master key under `passphrase`: changes the passphrase.
Status WriteKeyFile(const std::string& path, const Keyring& keyring, std::string_view passphrase,
                    const KdfParams& params = {});

// The passphrase held by the environment variable `variable` (the name comes from the config,
// e.g. DITTOFS_KEY_PASSPHRASE). Errc::kInvalid when it is unset or empty.
Result<std::string> PassphraseFromEnv(std::string_view variable);

}  // namespace dittofs::stores::cas

// SPDX-License-Identifier: Apache-2.0
#include "stores/cas/keyring.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/params.h>
#include <openssl/rand.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <memory>

#include "base/check.h"

namespace dittofs::stores::cas {

// ---- SecretKey ----

SecretKey::~SecretKey() { OPENSSL_cleanse(bytes_.data(), bytes_.size()); }

SecretKey::SecretKey(SecretKey&& other) noexcept : bytes_(other.bytes_) {
  OPENSSL_cleanse(other.bytes_.data(), other.bytes_.size());
}

SecretKey& SecretKey::operator=(SecretKey&& other) noexcept {
  if (this != &other) {
    bytes_ = other.bytes_;
    OPENSSL_cleanse(other.bytes_.data(), other.bytes_.size());
  }
  return *this;
}

SecretKey SecretKey::Random() {
  SecretKey key;
  RandomBytes(key.bytes_);
  return key;
}

SecretKey SecretKey::FromBytes(ByteView bytes) {
  CHECK(bytes.size() == kSize) << "a key is " << kSize << " bytes, not " << bytes.size();
  SecretKey key;
  std::memcpy(key.bytes_.data(), bytes.data(), kSize);
  return key;
}

// ---- AEAD ----

std::string_view CipherName(Cipher cipher) {
  switch (cipher) {
    case Cipher::kNone:
      return "none";
    case Cipher::kAes256Gcm:
      return "aes-256-gcm";
    case Cipher::kChaCha20Poly1305:
      return "chacha20-poly1305";
  }
  return "unknown";
}

void RandomBytes(MutableByteView out) {
  if (out.empty()) return;
  CHECK(RAND_bytes(reinterpret_cast<unsigned char*>(out.data()), static_cast<int>(out.size())) == 1)
      << "RAND_bytes failed";
}

namespace {

struct CipherCtxDeleter {
  void operator()(EVP_CIPHER_CTX* ctx) const { EVP_CIPHER_CTX_free(ctx); }
};
using CipherCtx = std::unique_ptr<EVP_CIPHER_CTX, CipherCtxDeleter>;

const EVP_CIPHER* EvpCipher(Cipher cipher) {
  switch (cipher) {
    case Cipher::kAes256Gcm:
      return EVP_aes_256_gcm();
    case Cipher::kChaCha20Poly1305:
      return EVP_chacha20_poly1305();
    case Cipher::kNone:
      break;
  }
  CHECK(false) << "no AEAD for cipher " << static_cast<int>(cipher);
  return nullptr;
}

const unsigned char* U8(ByteView v) { return reinterpret_cast<const unsigned char*>(v.data()); }
unsigned char* U8(MutableByteView v) { return reinterpret_cast<unsigned char*>(v.data()); }

// EVP's lengths are ints; chunks are far smaller, so feed large inputs in pieces anyway.
constexpr size_t kEvpStep = size_t{1} << 30;

}  // namespace

void AeadSeal(Cipher cipher, const SecretKey& key, ByteView nonce, ByteView aad, ByteView plaintext,
              MutableByteView ciphertext, MutableByteView tag) {
  CHECK(nonce.size() == kAeadNonceSize && tag.size() == kAeadTagSize &&
        ciphertext.size() == plaintext.size())
      << "AeadSeal: bad sizes";
  CipherCtx ctx(EVP_CIPHER_CTX_new());
  CHECK(ctx != nullptr) << "EVP_CIPHER_CTX_new failed";
  int len = 0;
  bool ok = EVP_EncryptInit_ex(ctx.get(), EvpCipher(cipher), nullptr, key.data(), U8(nonce)) == 1;
  if (ok && !aad.empty()) {
    ok = EVP_EncryptUpdate(ctx.get(), nullptr, &len, U8(aad), static_cast<int>(aad.size())) == 1;
  }
  for (size_t done = 0; ok && done < plaintext.size();) {
    size_t step = std::min(kEvpStep, plaintext.size() - done);
    ok = EVP_EncryptUpdate(ctx.get(), U8(ciphertext.subspan(done)), &len,
                           U8(plaintext.subspan(done)), static_cast<int>(step)) == 1 &&
         static_cast<size_t>(len) == step;
    done += step;
  }
  ok = ok && EVP_EncryptFinal_ex(ctx.get(), nullptr, &len) == 1 && len == 0;
  ok = ok && EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_AEAD_GET_TAG, kAeadTagSize, U8(tag)) == 1;
  CHECK(ok) << "AEAD encryption with " << CipherName(cipher) << " failed";
}

Status AeadOpen(Cipher cipher, const SecretKey& key, ByteView nonce, ByteView aad,
                ByteView ciphertext, ByteView tag, MutableByteView plaintext) {
  CHECK(nonce.size() == kAeadNonceSize && tag.size() == kAeadTagSize &&
        ciphertext.size() == plaintext.size())
      << "AeadOpen: bad sizes";
  CipherCtx ctx(EVP_CIPHER_CTX_new());
  CHECK(ctx != nullptr) << "EVP_CIPHER_CTX_new failed";
  int len = 0;
  bool ok = EVP_DecryptInit_ex(ctx.get(), EvpCipher(cipher), nullptr, key.data(), U8(nonce)) == 1;
  CHECK(ok) << "EVP_DecryptInit_ex failed";
  if (!aad.empty()) {
    ok = EVP_DecryptUpdate(ctx.get(), nullptr, &len, U8(aad), static_cast<int>(aad.size())) == 1;
  }
  for (size_t done = 0; ok && done < ciphertext.size();) {
    size_t step = std::min(kEvpStep, ciphertext.size() - done);
    ok = EVP_DecryptUpdate(ctx.get(), U8(plaintext.subspan(done)), &len,
                           U8(ciphertext.subspan(done)), static_cast<int>(step)) == 1 &&
         static_cast<size_t>(len) == step;
    done += step;
  }
  // EVP takes a non-const tag pointer but only reads it.
  ok = ok && EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_AEAD_SET_TAG, kAeadTagSize,
                                 const_cast<unsigned char*>(U8(tag))) == 1;
  ok = ok && EVP_DecryptFinal_ex(ctx.get(), nullptr, &len) == 1;
  if (!ok) {
    OPENSSL_cleanse(plaintext.data(), plaintext.size());
    return Status(Errc::kIo, fmt::format("{} authentication failed", CipherName(cipher)));
  }
  return Status::Ok();
}

// ---- Keyring ----

namespace {

// Wrapped data key: key id (8) | nonce (12) | encrypted key (32) | tag (16).
constexpr size_t kKeyIdSize = 8;
constexpr std::string_view kDataKeyAadLabel = "dittofs data key v1";

std::array<std::byte, kKeyIdSize> ComputeKeyId(const SecretKey& master) {
  constexpr std::string_view kLabel = "dittofs master key id v1";
  EVP_MD_CTX* md = EVP_MD_CTX_new();
  CHECK(md != nullptr) << "EVP_MD_CTX_new failed";
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int digest_len = 0;
  bool ok = EVP_DigestInit_ex(md, EVP_sha256(), nullptr) == 1 &&
            EVP_DigestUpdate(md, kLabel.data(), kLabel.size()) == 1 &&
            EVP_DigestUpdate(md, master.data(), SecretKey::kSize) == 1 &&
            EVP_DigestFinal_ex(md, digest, &digest_len) == 1;
  EVP_MD_CTX_free(md);
  CHECK(ok && digest_len >= kKeyIdSize) << "SHA-256 failed";
  std::array<std::byte, kKeyIdSize> id;
  std::memcpy(id.data(), digest, kKeyIdSize);
  return id;
}

std::string Hex(ByteView bytes) {
  std::string out;
  for (std::byte b : bytes) out += fmt::format("{:02x}", static_cast<unsigned>(b));
  return out;
}

std::array<std::byte, kDataKeyAadLabel.size() + kKeyIdSize> DataKeyAad(ByteView key_id) {
  std::array<std::byte, kDataKeyAadLabel.size() + kKeyIdSize> aad;
  std::memcpy(aad.data(), kDataKeyAadLabel.data(), kDataKeyAadLabel.size());
  std::memcpy(aad.data() + kDataKeyAadLabel.size(), key_id.data(), kKeyIdSize);
  return aad;
}

}  // namespace

Keyring::Keyring(SecretKey master_key)
    : master_(std::move(master_key)), key_id_(ComputeKeyId(master_)) {}

Keyring Keyring::Generate() { return Keyring(SecretKey::Random()); }

Keyring Keyring::FromMasterKey(ByteView master_key) {
  return Keyring(SecretKey::FromBytes(master_key));
}

std::string Keyring::KeyId() const { return Hex(key_id_); }

Buffer Keyring::WrapDataKey(const SecretKey& data_key) const {
  Buffer out(kWrappedKeySize);
  MutableByteView v = out.mutable_view();
  std::memcpy(v.data(), key_id_.data(), kKeyIdSize);
  MutableByteView nonce = v.subspan(kKeyIdSize, kAeadNonceSize);
  RandomBytes(nonce);
  auto aad = DataKeyAad(key_id_);
  AeadSeal(Cipher::kAes256Gcm, master_, nonce, aad, data_key.view(),
           v.subspan(kKeyIdSize + kAeadNonceSize, SecretKey::kSize),
           v.subspan(kKeyIdSize + kAeadNonceSize + SecretKey::kSize, kAeadTagSize));
  return out;
}

Result<SecretKey> Keyring::UnwrapDataKey(ByteView wrapped) const {
  if (wrapped.size() != kWrappedKeySize) {
    return Status(Errc::kIo, fmt::format("corrupt wrapped data key: {} bytes, expected {}",
                                         wrapped.size(), kWrappedKeySize));
  }
  ByteView id = wrapped.first(kKeyIdSize);
  if (std::memcmp(id.data(), key_id_.data(), kKeyIdSize) != 0) {
    return Status(Errc::kAccess,
                  fmt::format("data key was wrapped by master key {}, but the key file holds {}",
                              Hex(id), KeyId()));
  }
  std::array<std::byte, SecretKey::kSize> plain;
  Status s =
      AeadOpen(Cipher::kAes256Gcm, master_, wrapped.subspan(kKeyIdSize, kAeadNonceSize),
               DataKeyAad(id), wrapped.subspan(kKeyIdSize + kAeadNonceSize, SecretKey::kSize),
               wrapped.subspan(kKeyIdSize + kAeadNonceSize + SecretKey::kSize), plain);
  if (!s.ok()) return Status(Errc::kIo, "corrupt wrapped data key: " + s.message());
  SecretKey key = SecretKey::FromBytes(plain);
  OPENSSL_cleanse(plain.data(), plain.size());
  return key;
}

// ---- Key file ----

namespace {

// Key file layout (docs/formats/objects.md, "Key file"): 132 bytes, big-endian.
//   0  8  magic "DFSMKEY\0"      8  4  version (1)       12 1  KDF (1 = scrypt)
//  13  1  log2(N)               14  2  zero             16 4  r        20 4  p
//  24 16  salt                  40 12  nonce            52 32 wrapped master key
//  84 16  tag                  100 32  SHA-256 of bytes 0..99
// The AEAD's AAD is bytes 0..51, so the parameters cannot be altered unnoticed.
constexpr std::string_view kKeyFileMagic{"DFSMKEY\0", 8};
constexpr uint32_t kKeyFileVersion = 1;
constexpr uint8_t kKdfScrypt = 1;
constexpr size_t kSaltOffset = 24, kSaltSize = 16;
constexpr size_t kNonceOffset = 40;
constexpr size_t kWrappedOffset = 52;
constexpr size_t kTagOffset = 84;
constexpr size_t kDigestOffset = 100;
constexpr size_t kKeyFileSize = 132;

// Bounds on parameters read from a file, so a damaged one cannot ask for absurd memory or time.
constexpr uint8_t kMaxLog2N = 24;
constexpr uint32_t kMaxR = 64, kMaxP = 64;
constexpr uint64_t kMaxScryptMemory = uint64_t{2} << 30;

bool ParamsInRange(const KdfParams& p) {
  if (p.log2_n < 1 || p.log2_n > kMaxLog2N || p.r < 1 || p.r > kMaxR || p.p < 1 || p.p > kMaxP) {
    return false;
  }
  return uint64_t{128} * p.r * (uint64_t{1} << p.log2_n) <= kMaxScryptMemory;
}

std::array<unsigned char, 32> Sha256(ByteView data) {
  std::array<unsigned char, 32> out;
  unsigned int len = 0;
  CHECK(EVP_Digest(data.data(), data.size(), out.data(), &len, EVP_sha256(), nullptr) == 1 &&
        len == out.size())
      << "SHA-256 failed";
  return out;
}

// Fails (rather than aborting) when scrypt cannot get its memory.
Result<SecretKey> DeriveWrappingKey(std::string_view passphrase, ByteView salt,
                                    const KdfParams& params) {
  EVP_KDF* kdf = EVP_KDF_fetch(nullptr, "SCRYPT", nullptr);
  CHECK(kdf != nullptr) << "OpenSSL has no SCRYPT KDF";
  EVP_KDF_CTX* ctx = EVP_KDF_CTX_new(kdf);
  EVP_KDF_free(kdf);
  CHECK(ctx != nullptr) << "EVP_KDF_CTX_new failed";
  uint64_t n = uint64_t{1} << params.log2_n;
  uint32_t r = params.r, p = params.p;
  // scrypt needs 128*r*N bytes for V plus 128*r*p for B; leave room above OpenSSL's default cap.
  uint64_t maxmem = uint64_t{128} * r * (n + p + 2) + (uint64_t{1} << 20);
  OSSL_PARAM ossl_params[] = {
      OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_PASSWORD,
                                        const_cast<char*>(passphrase.data()), passphrase.size()),
      OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT, const_cast<std::byte*>(salt.data()),
                                        salt.size()),
      OSSL_PARAM_construct_uint64(OSSL_KDF_PARAM_SCRYPT_N, &n),
      OSSL_PARAM_construct_uint32(OSSL_KDF_PARAM_SCRYPT_R, &r),
      OSSL_PARAM_construct_uint32(OSSL_KDF_PARAM_SCRYPT_P, &p),
      OSSL_PARAM_construct_uint64(OSSL_KDF_PARAM_SCRYPT_MAXMEM, &maxmem),
      OSSL_PARAM_construct_end(),
  };
  std::array<std::byte, SecretKey::kSize> out;
  int rc =
      EVP_KDF_derive(ctx, reinterpret_cast<unsigned char*>(out.data()), out.size(), ossl_params);
  EVP_KDF_CTX_free(ctx);
  if (rc != 1) {
    return Status(Errc::kInternal,
                  fmt::format("scrypt failed (log2 N {}, r {}, p {})", params.log2_n, r, p));
  }
  SecretKey key = SecretKey::FromBytes(out);
  OPENSSL_cleanse(out.data(), out.size());
  return key;
}

Status ErrnoStatus(int err, std::string_view what, const std::string& path) {
  Errc code = err == ENOENT                     ? Errc::kNotFound
              : err == EEXIST                   ? Errc::kExists
              : (err == EACCES || err == EPERM) ? Errc::kAccess
              : err == ENOSPC                   ? Errc::kNoSpace
                                                : Errc::kIo;
  return Status(code, fmt::format("{} key file {}: {}", what, path, std::strerror(err)));
}

Result<Buffer> EncodeKeyFile(const SecretKey& master, std::string_view passphrase,
                             const KdfParams& params) {
  Buffer file(kKeyFileSize);
  std::byte* p = file.data();
  std::memset(p, 0, kKeyFileSize);
  std::memcpy(p, kKeyFileMagic.data(), kKeyFileMagic.size());
  StoreBe32(p + 8, kKeyFileVersion);
  p[12] = std::byte{kKdfScrypt};
  p[13] = std::byte{params.log2_n};
  StoreBe32(p + 16, params.r);
  StoreBe32(p + 20, params.p);
  MutableByteView v = file.mutable_view();
  RandomBytes(v.subspan(kSaltOffset, kSaltSize));
  RandomBytes(v.subspan(kNonceOffset, kAeadNonceSize));
  ASSIGN_OR_RETURN(SecretKey wrapping,
                   DeriveWrappingKey(passphrase, v.subspan(kSaltOffset, kSaltSize), params));
  AeadSeal(Cipher::kAes256Gcm, wrapping, v.subspan(kNonceOffset, kAeadNonceSize),
           v.first(kWrappedOffset), master.view(), v.subspan(kWrappedOffset, SecretKey::kSize),
           v.subspan(kTagOffset, kAeadTagSize));
  auto digest = Sha256(v.first(kDigestOffset));
  std::memcpy(p + kDigestOffset, digest.data(), digest.size());
  return file;
}

Result<Buffer> ReadWholeFile(const std::string& path) {
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return ErrnoStatus(errno, "open", path);
  // A key file is tiny; anything much larger is not one of ours.
  constexpr size_t kReadLimit = 4096;
  Buffer buf(kReadLimit);
  size_t got = 0;
  while (got < kReadLimit) {
    ssize_t n = read(fd, buf.data() + got, kReadLimit - got);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      int err = errno;
      close(fd);
      return ErrnoStatus(err, "read", path);
    }
    if (n == 0) break;
    got += static_cast<size_t>(n);
  }
  close(fd);
  buf.Shrink(got);
  return buf;
}

Status WriteAll(int fd, ByteView data) {
  while (!data.empty()) {
    ssize_t n = write(fd, data.data(), data.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Status(Errc::kIo, std::strerror(errno));
    data = data.subspan(static_cast<size_t>(n));
  }
  return Status::Ok();
}

Status FsyncDirOf(const std::string& path) {
  size_t slash = path.rfind('/');
  std::string dir = slash == std::string::npos ? "." : slash == 0 ? "/" : path.substr(0, slash);
  int fd = open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return ErrnoStatus(errno, "open directory of", path);
  int rc = fsync(fd);
  int err = errno;
  close(fd);
  if (rc != 0) return ErrnoStatus(err, "fsync directory of", path);
  return Status::Ok();
}

// Writes `contents` to a new temporary file beside `path` (mode 0600, fsynced), then moves it
// into place: with rename (replacing) or, when `replace` is false, with link (failing with
// kExists if `path` exists). Either way readers see the old file or the new one, never a part.
Status InstallFileAtomically(const std::string& path, ByteView contents, bool replace) {
  uint64_t tag;
  RandomBytes({reinterpret_cast<std::byte*>(&tag), sizeof tag});
  std::string tmp = fmt::format("{}.tmp-{:016x}", path, tag);
  int fd = open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) return ErrnoStatus(errno, "create temporary", path);
  // The umask may only remove bits; make sure nobody else can read the file either way.
  Status s = fchmod(fd, 0600) == 0 ? WriteAll(fd, contents) : Status(Errc::kIo, "fchmod failed");
  if (s.ok() && fsync(fd) != 0) s = Status(Errc::kIo, std::strerror(errno));
  if (close(fd) != 0 && s.ok()) s = Status(Errc::kIo, std::strerror(errno));
  if (!s.ok()) {
    unlink(tmp.c_str());
    return Status(s.code(), fmt::format("write key file {}: {}", path, s.message()));
  }
  if (replace) {
    if (rename(tmp.c_str(), path.c_str()) != 0) {
      int err = errno;
      unlink(tmp.c_str());
      return ErrnoStatus(err, "rename", path);
    }
  } else {
    int rc = link(tmp.c_str(), path.c_str());
    int err = errno;
    unlink(tmp.c_str());
    if (rc != 0) return ErrnoStatus(err, "create", path);
  }
  return FsyncDirOf(path);
}

}  // namespace

Status WriteKeyFile(const std::string& path, const Keyring& keyring, std::string_view passphrase,
                    const KdfParams& params) {
  if (!ParamsInRange(params)) return Status(Errc::kInvalid, "scrypt parameters out of range");
  if (passphrase.empty()) return Status(Errc::kInvalid, "empty passphrase for key file " + path);
  ASSIGN_OR_RETURN(Buffer file, EncodeKeyFile(keyring.master_, passphrase, params));
  return InstallFileAtomically(path, file.view(), /*replace=*/true);
}

Result<Keyring> CreateKeyFile(const std::string& path, std::string_view passphrase,
                              const KdfParams& params) {
  if (!ParamsInRange(params)) return Status(Errc::kInvalid, "scrypt parameters out of range");
  if (passphrase.empty()) return Status(Errc::kInvalid, "empty passphrase for key file " + path);
  SecretKey master = SecretKey::Random();
  ASSIGN_OR_RETURN(Buffer file, EncodeKeyFile(master, passphrase, params));
  RETURN_IF_ERROR(InstallFileAtomically(path, file.view(), /*replace=*/false));
  return Keyring::FromMasterKey(master.view());
}

Result<Keyring> UnlockKeyFile(const std::string& path, std::string_view passphrase) {
  ASSIGN_OR_RETURN(Buffer file, ReadWholeFile(path));
  const std::byte* p = file.data();
  auto damaged = [&](std::string_view why) {
    return Status(Errc::kInvalid, fmt::format("key file {} is damaged: {}", path, why));
  };
  if (file.size() < 12 || std::memcmp(p, kKeyFileMagic.data(), kKeyFileMagic.size()) != 0) {
    return Status(Errc::kInvalid, fmt::format("{} is not a dittofs key file", path));
  }
  uint32_t version = LoadBe32(p + 8);
  if (version != kKeyFileVersion) {
    return Status(Errc::kNotSupported,
                  fmt::format("key file {}: format version {} is not supported (this server "
                              "reads version {})",
                              path, version, kKeyFileVersion));
  }
  if (file.size() != kKeyFileSize) {
    return damaged(fmt::format("{} bytes, expected {}", file.size(), kKeyFileSize));
  }
  ByteView v = file.view();
  auto digest = Sha256(v.first(kDigestOffset));
  if (std::memcmp(digest.data(), p + kDigestOffset, digest.size()) != 0) {
    return damaged("checksum mismatch");
  }
  if (p[12] != std::byte{kKdfScrypt}) return damaged("unknown KDF");
  KdfParams params{
      .log2_n = static_cast<uint8_t>(p[13]), .r = LoadBe32(p + 16), .p = LoadBe32(p + 20)};
  if (!ParamsInRange(params)) return damaged("scrypt parameters out of range");
  ASSIGN_OR_RETURN(SecretKey wrapping,
                   DeriveWrappingKey(passphrase, v.subspan(kSaltOffset, kSaltSize), params));
  std::array<std::byte, SecretKey::kSize> plain;
  Status s = AeadOpen(Cipher::kAes256Gcm, wrapping, v.subspan(kNonceOffset, kAeadNonceSize),
                      v.first(kWrappedOffset), v.subspan(kWrappedOffset, SecretKey::kSize),
                      v.subspan(kTagOffset, kAeadTagSize), plain);
  // The checksum matched, so the file is intact: a failed tag means the passphrase is wrong.
  if (!s.ok()) return Status(Errc::kAccess, "wrong passphrase for key file " + path);
  Keyring keyring = Keyring::FromMasterKey(plain);
  OPENSSL_cleanse(plain.data(), plain.size());
  return keyring;
}

Result<Keyring> OpenOrCreateKeyFile(const std::string& path, std::string_view passphrase,
                                    const KdfParams& params) {
  Result<Keyring> keyring = UnlockKeyFile(path, passphrase);
  if (keyring.ok() || keyring.status().code() != Errc::kNotFound) return keyring;
  Result<Keyring> created = CreateKeyFile(path, passphrase, params);
  // Lost a race with another process creating it: use theirs.
  if (!created.ok() && created.status().code() == Errc::kExists) {
    return UnlockKeyFile(path, passphrase);
  }
  return created;
}

Result<std::string> PassphraseFromEnv(std::string_view variable) {
  std::string name(variable);
  const char* value = std::getenv(name.c_str());
  if (value == nullptr) {
    return Status(Errc::kInvalid,
                  fmt::format("environment variable {} is not set; it must hold the passphrase "
                              "of the remote's key file",
                              name));
  }
  if (*value == '\0') {
    return Status(Errc::kInvalid, fmt::format("environment variable {} is empty", name));
  }
  return std::string(value);
}

}  // namespace dittofs::stores::cas

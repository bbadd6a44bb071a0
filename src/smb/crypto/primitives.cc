// SPDX-License-Identifier: Apache-2.0
#include "smb/crypto/primitives.h"

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include <climits>
#include <memory>

#include "base/check.h"

namespace dittofs::smb::crypto::internal {
namespace {

const unsigned char* U8(ByteView b) { return reinterpret_cast<const unsigned char*>(b.data()); }
unsigned char* U8(MutableByteView b) { return reinterpret_cast<unsigned char*>(b.data()); }

// EVP_MAC_init with a null key keeps the previous key, so an empty key must still be a pointer.
const unsigned char* KeyPointer(ByteView key) {
  static const unsigned char kEmpty = 0;
  return key.empty() ? &kEmpty : U8(key);
}

struct MacCtxDeleter {
  void operator()(EVP_MAC_CTX* c) const { EVP_MAC_CTX_free(c); }
};
using MacCtx = std::unique_ptr<EVP_MAC_CTX, MacCtxDeleter>;
struct MdCtxDeleter {
  void operator()(EVP_MD_CTX* c) const { EVP_MD_CTX_free(c); }
};
struct CipherCtxDeleter {
  void operator()(EVP_CIPHER_CTX* c) const { EVP_CIPHER_CTX_free(c); }
};
using CipherCtx = std::unique_ptr<EVP_CIPHER_CTX, CipherCtxDeleter>;

// Fetched algorithms live for the whole process (never freed, so usable from any thread's exit).
EVP_MAC* FetchMac(const char* name) {
  EVP_MAC* mac = EVP_MAC_fetch(nullptr, name, nullptr);
  CHECK(mac != nullptr) << "OpenSSL has no " << name << " MAC";
  return mac;
}
EVP_CIPHER* FetchCipher(const char* name) {
  EVP_CIPHER* cipher = EVP_CIPHER_fetch(nullptr, name, nullptr);
  CHECK(cipher != nullptr) << "OpenSSL has no " << name << " cipher";
  return cipher;
}

// A MAC context configured with one parameter (its digest or cipher), made once per thread.
MacCtx NewMacCtx(EVP_MAC* mac, const char* param, const char* value) {
  MacCtx ctx(EVP_MAC_CTX_new(mac));
  CHECK(ctx != nullptr) << "EVP_MAC_CTX_new with " << value;
  OSSL_PARAM params[] = {
      OSSL_PARAM_construct_utf8_string(param, const_cast<char*>(value), 0),
      OSSL_PARAM_construct_end(),
  };
  CHECK(EVP_MAC_CTX_set_params(ctx.get(), params) == 1) << "MAC parameter " << value;
  return ctx;
}

EVP_MAC_CTX* HmacSha256Ctx() {
  static EVP_MAC* const hmac = FetchMac("HMAC");
  thread_local MacCtx ctx = NewMacCtx(hmac, OSSL_MAC_PARAM_DIGEST, "SHA256");
  return ctx.get();
}
EVP_MAC_CTX* CmacCtx() {
  static EVP_MAC* const cmac = FetchMac("CMAC");
  thread_local MacCtx ctx = NewMacCtx(cmac, OSSL_MAC_PARAM_CIPHER, "AES-128-CBC");
  return ctx.get();
}
EVP_MAC_CTX* GmacCtx() {
  static EVP_MAC* const gmac = FetchMac("GMAC");
  thread_local MacCtx ctx = NewMacCtx(gmac, OSSL_MAC_PARAM_CIPHER, "AES-128-GCM");
  return ctx.get();
}

template <size_t N>
std::array<std::byte, N> Finish(EVP_MAC_CTX* ctx, std::initializer_list<ByteView> parts) {
  for (ByteView part : parts) {
    if (!part.empty()) CHECK(EVP_MAC_update(ctx, U8(part), part.size()) == 1) << "EVP_MAC_update";
  }
  std::array<std::byte, N> out;
  size_t len = 0;
  CHECK(EVP_MAC_final(ctx, reinterpret_cast<unsigned char*>(out.data()), &len, out.size()) == 1 &&
        len == N)
      << "EVP_MAC_final";
  return out;
}

const EVP_CIPHER* AeadCipher(AeadMode mode, size_t key_size) {
  static EVP_CIPHER* const aes128_ccm = FetchCipher("AES-128-CCM");
  static EVP_CIPHER* const aes256_ccm = FetchCipher("AES-256-CCM");
  static EVP_CIPHER* const aes128_gcm = FetchCipher("AES-128-GCM");
  static EVP_CIPHER* const aes256_gcm = FetchCipher("AES-256-GCM");
  if (key_size == 16) return mode == AeadMode::kCcm ? aes128_ccm : aes128_gcm;
  if (key_size == 32) return mode == AeadMode::kCcm ? aes256_ccm : aes256_gcm;
  return nullptr;
}

// Sets cipher, nonce length, (for CCM) tag length and tag, then key and nonce.
bool AeadInit(EVP_CIPHER_CTX* ctx, bool encrypt, AeadMode mode, ByteView key, ByteView nonce,
              size_t tag_size, const unsigned char* expected_tag) {
  const EVP_CIPHER* cipher = AeadCipher(mode, key.size());
  if (cipher == nullptr || nonce.empty() || nonce.size() > 16 || tag_size == 0 || tag_size > 16) {
    return false;
  }
  if (EVP_CipherInit_ex2(ctx, cipher, nullptr, nullptr, encrypt ? 1 : 0, nullptr) != 1) {
    return false;
  }
  if (EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_IVLEN, static_cast<int>(nonce.size()), nullptr) !=
      1) {
    return false;
  }
  if (mode == AeadMode::kCcm &&
      EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_TAG, static_cast<int>(tag_size),
                          const_cast<unsigned char*>(expected_tag)) != 1) {
    return false;
  }
  return EVP_CipherInit_ex2(ctx, nullptr, U8(key), U8(nonce), encrypt ? 1 : 0, nullptr) == 1;
}

}  // namespace

std::array<std::byte, 32> HmacSha256(ByteView key, std::initializer_list<ByteView> parts) {
  EVP_MAC_CTX* ctx = HmacSha256Ctx();
  CHECK(EVP_MAC_init(ctx, KeyPointer(key), key.size(), nullptr) == 1) << "HMAC init";
  return Finish<32>(ctx, parts);
}

Block AesCmac(ByteView key, std::initializer_list<ByteView> parts) {
  CHECK(key.size() == 16) << "AES-128-CMAC with a " << key.size() << "-byte key";
  EVP_MAC_CTX* ctx = CmacCtx();
  CHECK(EVP_MAC_init(ctx, U8(key), key.size(), nullptr) == 1) << "CMAC init";
  return Finish<16>(ctx, parts);
}

Block AesGmac(ByteView key, ByteView nonce, std::initializer_list<ByteView> parts) {
  CHECK(key.size() == 16 && nonce.size() == 12) << "AES-128-GMAC key or nonce size";
  EVP_MAC_CTX* ctx = GmacCtx();
  OSSL_PARAM params[] = {
      OSSL_PARAM_construct_octet_string(OSSL_MAC_PARAM_IV, const_cast<std::byte*>(nonce.data()),
                                        nonce.size()),
      OSSL_PARAM_construct_end(),
  };
  CHECK(EVP_MAC_init(ctx, U8(key), key.size(), params) == 1) << "GMAC init";
  return Finish<16>(ctx, parts);
}

std::array<std::byte, 64> Sha512(std::initializer_list<ByteView> parts) {
  static EVP_MD* const sha512 = [] {
    EVP_MD* md = EVP_MD_fetch(nullptr, "SHA512", nullptr);
    CHECK(md != nullptr) << "OpenSSL has no SHA512";
    return md;
  }();
  thread_local std::unique_ptr<EVP_MD_CTX, MdCtxDeleter> ctx(EVP_MD_CTX_new());
  CHECK(ctx != nullptr) << "EVP_MD_CTX_new";
  CHECK(EVP_DigestInit_ex2(ctx.get(), sha512, nullptr) == 1) << "SHA512 init";
  for (ByteView part : parts) {
    if (!part.empty())
      CHECK(EVP_DigestUpdate(ctx.get(), part.data(), part.size()) == 1) << "SHA512 update";
  }
  std::array<std::byte, 64> out;
  unsigned int len = 0;
  CHECK(EVP_DigestFinal_ex(ctx.get(), reinterpret_cast<unsigned char*>(out.data()), &len) == 1 &&
        len == out.size())
      << "SHA512 final";
  return out;
}

bool AeadSeal(AeadMode mode, ByteView key, ByteView nonce, ByteView aad, ByteView plaintext,
              MutableByteView out, MutableByteView tag) {
  if (out.size() != plaintext.size() || plaintext.size() > INT_MAX || aad.size() > INT_MAX) {
    return false;
  }
  CipherCtx ctx(EVP_CIPHER_CTX_new());
  CHECK(ctx != nullptr) << "EVP_CIPHER_CTX_new";
  if (!AeadInit(ctx.get(), true, mode, key, nonce, tag.size(), nullptr)) return false;
  int len = 0;
  // CCM needs the message length before the associated data.
  if (mode == AeadMode::kCcm && EVP_EncryptUpdate(ctx.get(), nullptr, &len, nullptr,
                                                  static_cast<int>(plaintext.size())) != 1) {
    return false;
  }
  if (!aad.empty() &&
      EVP_EncryptUpdate(ctx.get(), nullptr, &len, U8(aad), static_cast<int>(aad.size())) != 1) {
    return false;
  }
  if (!plaintext.empty()) {
    if (EVP_EncryptUpdate(ctx.get(), U8(out), &len, U8(plaintext),
                          static_cast<int>(plaintext.size())) != 1 ||
        static_cast<size_t>(len) != plaintext.size()) {
      return false;
    }
  }
  unsigned char final_block[16];
  if (EVP_EncryptFinal_ex(ctx.get(), final_block, &len) != 1 || len != 0) return false;
  return EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_AEAD_GET_TAG, static_cast<int>(tag.size()),
                             U8(tag)) == 1;
}

bool AeadOpen(AeadMode mode, ByteView key, ByteView nonce, ByteView aad, ByteView ciphertext,
              ByteView tag, MutableByteView out) {
  if (out.size() != ciphertext.size() || ciphertext.size() > INT_MAX || aad.size() > INT_MAX) {
    return false;
  }
  CipherCtx ctx(EVP_CIPHER_CTX_new());
  CHECK(ctx != nullptr) << "EVP_CIPHER_CTX_new";
  if (!AeadInit(ctx.get(), false, mode, key, nonce, tag.size(), U8(tag))) return false;
  int len = 0;
  if (mode == AeadMode::kCcm) {
    // CCM: length, associated data, then one update that also checks the tag; no final.
    if (EVP_DecryptUpdate(ctx.get(), nullptr, &len, nullptr, static_cast<int>(ciphertext.size())) !=
        1) {
      return false;
    }
    if (!aad.empty() &&
        EVP_DecryptUpdate(ctx.get(), nullptr, &len, U8(aad), static_cast<int>(aad.size())) != 1) {
      return false;
    }
    unsigned char scratch;
    unsigned char* dst = out.empty() ? &scratch : U8(out);
    const unsigned char* src = ciphertext.empty() ? &scratch : U8(ciphertext);
    return EVP_DecryptUpdate(ctx.get(), dst, &len, src, static_cast<int>(ciphertext.size())) == 1;
  }
  if (!aad.empty() &&
      EVP_DecryptUpdate(ctx.get(), nullptr, &len, U8(aad), static_cast<int>(aad.size())) != 1) {
    return false;
  }
  if (!ciphertext.empty()) {
    if (EVP_DecryptUpdate(ctx.get(), U8(out), &len, U8(ciphertext),
                          static_cast<int>(ciphertext.size())) != 1 ||
        static_cast<size_t>(len) != ciphertext.size()) {
      return false;
    }
  }
  if (EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_AEAD_SET_TAG, static_cast<int>(tag.size()),
                          const_cast<unsigned char*>(U8(tag))) != 1) {
    return false;
  }
  unsigned char final_block[16];
  return EVP_DecryptFinal_ex(ctx.get(), final_block, &len) == 1;
}

}  // namespace dittofs::smb::crypto::internal

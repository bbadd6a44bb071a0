// SPDX-License-Identifier: Apache-2.0
#include "smb/auth/crypto.h"

#include <nettle/hmac.h>
#include <nettle/md5.h>

#include <cstring>
#include <string_view>

#include "base/check.h"

namespace dittofs::smb::auth {
namespace {

const uint8_t* U8(ByteView b) { return reinterpret_cast<const uint8_t*>(b.data()); }

// MS-NLMP 3.4.5.2 and 3.4.5.3: the constants are hashed with their terminating NUL.
constexpr std::string_view kClientSign =
    "session key to client-to-server signing key magic constant";
constexpr std::string_view kServerSign =
    "session key to server-to-client signing key magic constant";
constexpr std::string_view kClientSeal =
    "session key to client-to-server sealing key magic constant";
constexpr std::string_view kServerSeal =
    "session key to server-to-client sealing key magic constant";

ByteView WithNul(std::string_view s) { return AsBytes(std::string_view(s.data(), s.size() + 1)); }

uint16_t UpperUnit(uint16_t c) {
  if (c >= 'a' && c <= 'z') return c - 0x20;
  if (c < 0xB5) return c;
  if (c == 0xB5) return 0x39C;                               // micro sign
  if (c >= 0xE0 && c <= 0xFE && c != 0xF7) return c - 0x20;  // Latin-1
  if (c == 0xFF) return 0x178;
  if (c >= 0x100 && c <= 0x17F) {  // Latin Extended-A pairs
    bool even_upper = (c <= 0x137) || (c >= 0x14A && c <= 0x177);
    bool odd_upper = (c >= 0x139 && c <= 0x148) || (c >= 0x179 && c <= 0x17E);
    if (even_upper && (c & 1)) return c - 1;
    if (odd_upper && !(c & 1)) return c - 1;
    return c;
  }
  if (c >= 0x3B1 && c <= 0x3C9 && c != 0x3C2) return c - 0x20;  // Greek
  if (c == 0x3C2) return 0x3A3;                                 // final sigma
  if (c >= 0x430 && c <= 0x44F) return c - 0x20;                // Cyrillic
  if (c >= 0x450 && c <= 0x45F) return c - 0x50;
  return c;
}

}  // namespace

Key16 Md5(ByteView a, ByteView b) {
  md5_ctx ctx;
  md5_init(&ctx);
  md5_update(&ctx, a.size(), U8(a));
  md5_update(&ctx, b.size(), U8(b));
  Key16 out;
  md5_digest(&ctx, out.size(), reinterpret_cast<uint8_t*>(out.data()));
  return out;
}

Key16 HmacMd5(ByteView key, ByteView a, ByteView b) {
  hmac_md5_ctx ctx;
  hmac_md5_set_key(&ctx, key.size(), U8(key));
  hmac_md5_update(&ctx, a.size(), U8(a));
  hmac_md5_update(&ctx, b.size(), U8(b));
  Key16 out;
  hmac_md5_digest(&ctx, out.size(), reinterpret_cast<uint8_t*>(out.data()));
  return out;
}

Rc4::Rc4(ByteView key) {
  CHECK(!key.empty() && key.size() <= ARCFOUR_MAX_KEY_SIZE) << "rc4: key of " << key.size();
  arcfour_set_key(&ctx_, key.size(), U8(key));
}

void Rc4::Crypt(MutableByteView data) {
  auto* p = reinterpret_cast<uint8_t*>(data.data());
  arcfour_crypt(&ctx_, data.size(), p, p);
}

bool ConstantTimeEqual(ByteView a, ByteView b) {
  if (a.size() != b.size()) return false;
  uint8_t diff = 0;
  for (size_t k = 0; k < a.size(); ++k) diff |= static_cast<uint8_t>(a[k] ^ b[k]);
  return diff == 0;
}

std::vector<std::byte> UpperUtf16(ByteView text) {
  std::vector<std::byte> out(text.begin(), text.end());
  for (size_t k = 0; k + 1 < out.size(); k += 2) {
    uint16_t c = static_cast<uint16_t>(uint8_t(out[k]) | (uint8_t(out[k + 1]) << 8));
    c = UpperUnit(c);
    out[k] = std::byte(c & 0xFF);
    out[k + 1] = std::byte(c >> 8);
  }
  return out;
}

Key16 ResponseKeyNt(ByteView nt_hash, ByteView user_utf16, ByteView domain_utf16) {
  std::vector<std::byte> user = UpperUtf16(user_utf16);
  return HmacMd5(nt_hash, user, domain_utf16);
}

Key16 SignKey(const Key16& exported_session_key, Direction direction) {
  return Md5(exported_session_key,
             WithNul(direction == Direction::kClientToServer ? kClientSign : kServerSign));
}

Key16 SealKey(const Key16& exported_session_key, uint32_t flags, Direction direction) {
  constexpr uint32_t kNegotiate128 = 0x20000000, kNegotiate56 = 0x80000000;
  size_t strength = (flags & kNegotiate128) ? 16 : (flags & kNegotiate56) ? 7 : 5;
  return Md5(ByteView(exported_session_key).first(strength),
             WithNul(direction == Direction::kClientToServer ? kClientSeal : kServerSeal));
}

std::array<std::byte, 16> MessageSignature(const Key16& sign_key, Rc4* seal, uint32_t seq_num,
                                           ByteView message) {
  std::byte seq[4] = {std::byte(seq_num), std::byte(seq_num >> 8), std::byte(seq_num >> 16),
                      std::byte(seq_num >> 24)};
  Key16 mac = HmacMd5(sign_key, seq, message);
  std::array<std::byte, 16> sig{};
  sig[0] = std::byte{1};
  std::memcpy(sig.data() + 4, mac.data(), 8);
  if (seal != nullptr) seal->Crypt(MutableByteView(sig).subspan(4, 8));
  std::memcpy(sig.data() + 12, seq, 4);
  return sig;
}

}  // namespace dittofs::smb::auth

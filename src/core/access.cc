// SPDX-License-Identifier: Apache-2.0
#include "core/access.h"

#include <arpa/inet.h>

#include <charconv>
#include <cstring>

namespace dittofs::core {
namespace {

// Parses an address into its 16-byte IPv6 form (IPv4 as ::ffff:a.b.c.d); false when invalid.
bool ParseAddress(std::string_view text, std::array<uint8_t, 16>* out, bool* is_v4) {
  char buf[64];
  if (text.empty() || text.size() >= sizeof(buf)) return false;
  std::memcpy(buf, text.data(), text.size());
  buf[text.size()] = '\0';
  in_addr v4;
  if (inet_pton(AF_INET, buf, &v4) == 1) {
    *out = {};
    (*out)[10] = 0xff;
    (*out)[11] = 0xff;
    std::memcpy(out->data() + 12, &v4, 4);
    *is_v4 = true;
    return true;
  }
  in6_addr v6;
  if (inet_pton(AF_INET6, buf, &v6) == 1) {
    std::memcpy(out->data(), &v6, 16);
    *is_v4 = false;
    return true;
  }
  return false;
}

}  // namespace

Result<Cidr> Cidr::Parse(std::string_view text) {
  Cidr c;
  c.text_ = std::string(text);
  std::string_view address = text;
  int prefix = -1;
  if (size_t slash = text.find('/'); slash != std::string_view::npos) {
    address = text.substr(0, slash);
    std::string_view p = text.substr(slash + 1);
    auto [end, ec] = std::from_chars(p.data(), p.data() + p.size(), prefix);
    if (ec != std::errc() || end != p.data() + p.size() || prefix < 0) {
      return Status(Errc::kInvalid, "bad prefix length in '" + c.text_ + "'");
    }
  }
  bool is_v4 = false;
  if (!ParseAddress(address, &c.bytes_, &is_v4)) {
    return Status(Errc::kInvalid, "bad address in '" + c.text_ + "'");
  }
  int max = is_v4 ? 32 : 128;
  if (prefix > max) return Status(Errc::kInvalid, "prefix too long in '" + c.text_ + "'");
  if (prefix < 0) prefix = max;
  c.prefix_ = is_v4 ? prefix + 96 : prefix;
  // Clear host bits, so "10.1.2.3/8" means 10.0.0.0/8.
  for (int bit = c.prefix_; bit < 128; ++bit) c.bytes_[bit / 8] &= ~(0x80 >> (bit % 8));
  return c;
}

bool Cidr::Contains(std::string_view address) const {
  std::array<uint8_t, 16> a;
  bool is_v4 = false;
  if (!ParseAddress(address, &a, &is_v4)) return false;
  int full = prefix_ / 8;
  if (std::memcmp(a.data(), bytes_.data(), full) != 0) return false;
  int rest = prefix_ % 8;
  if (rest == 0) return true;
  uint8_t mask = static_cast<uint8_t>(0xff << (8 - rest));
  return (a[full] & mask) == bytes_[full];
}

bool SharePolicy::ClientAllowed(std::string_view address) const {
  for (const Cidr& c : denied_clients) {
    if (c.Contains(address)) return false;
  }
  if (allowed_clients.empty()) return true;
  for (const Cidr& c : allowed_clients) {
    if (c.Contains(address)) return true;
  }
  return false;
}

Permission SharePolicy::PermissionOf(uint32_t uid) const {
  auto it = by_uid.find(uid);
  return it == by_uid.end() ? default_permission : it->second;
}

}  // namespace dittofs::core

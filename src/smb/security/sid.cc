// SPDX-License-Identifier: Apache-2.0

#include "smb/security/sid.h"

#include <algorithm>
#include <charconv>

#include "base/random.h"

namespace dittofs::smb::security {

namespace {

constexpr uint64_t kWorldAuthority = 1, kCreatorAuthority = 3, kNtAuthority = 5,
                   kUnixAuthority = 22;
constexpr uint32_t kFirstRid = 1000;
// The largest id named by a RID (1001 + 2 * id must fit 32 bits).
constexpr uint32_t kMaxRidId = (0xFFFFFFFFu - 1001u) / 2;

Sid Make(uint64_t authority, std::initializer_list<uint32_t> sub) { return Sid{authority, sub}; }

}  // namespace

Sid EveryoneSid() { return Make(kWorldAuthority, {0}); }
Sid CreatorOwnerSid() { return Make(kCreatorAuthority, {0}); }
Sid CreatorGroupSid() { return Make(kCreatorAuthority, {1}); }
Sid AuthenticatedUsersSid() { return Make(kNtAuthority, {11}); }
Sid LocalSystemSid() { return Make(kNtAuthority, {18}); }
Sid AdministratorsSid() { return Make(kNtAuthority, {32, 544}); }

std::string FormatSid(const Sid& sid) {
  std::string out = "S-1-";
  // MS-DTYP 2.4.2.1: authorities of 2^32 and more are written in hex.
  if (sid.authority >= (uint64_t{1} << 32)) {
    char buf[16];
    auto [end, ec] = std::to_chars(buf, buf + sizeof buf, sid.authority, 16);
    out += "0x";
    for (char* p = buf; p != end; ++p) out += static_cast<char>(*p >= 'a' ? *p - 32 : *p);
  } else {
    out += std::to_string(sid.authority);
  }
  for (uint32_t s : sid.sub) {
    out += '-';
    out += std::to_string(s);
  }
  return out;
}

std::optional<Sid> ParseSid(std::string_view text) {
  if (text.size() < 4 || (text[0] != 'S' && text[0] != 's') || text.substr(1, 3) != "-1-") {
    return std::nullopt;
  }
  text.remove_prefix(4);
  auto number = [&](uint64_t max, uint64_t* out) {
    int base = 10;
    if (text.size() > 2 && text[0] == '0' && (text[1] == 'x' || text[1] == 'X')) {
      base = 16;
      text.remove_prefix(2);
    }
    uint64_t v = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v, base);
    if (ec != std::errc() || end == text.data() || v > max) return false;
    text.remove_prefix(static_cast<size_t>(end - text.data()));
    *out = v;
    return true;
  };
  Sid sid;
  if (!number((uint64_t{1} << 48) - 1, &sid.authority)) return std::nullopt;
  while (!text.empty()) {
    if (text[0] != '-' || sid.sub.size() == kMaxSubAuthorities) return std::nullopt;
    text.remove_prefix(1);
    uint64_t v = 0;
    if (!number(0xFFFFFFFFu, &v)) return std::nullopt;
    sid.sub.push_back(static_cast<uint32_t>(v));
  }
  return sid;
}

size_t SidSize(const Sid& sid) { return 8 + 4 * sid.sub.size(); }

void AppendSid(const Sid& sid, std::vector<std::byte>& out) {
  out.push_back(std::byte{1});
  out.push_back(static_cast<std::byte>(sid.sub.size()));
  for (int i = 5; i >= 0; --i)
    out.push_back(static_cast<std::byte>((sid.authority >> (8 * i)) & 0xFF));
  for (uint32_t s : sid.sub) {
    for (int i = 0; i < 4; ++i) out.push_back(static_cast<std::byte>((s >> (8 * i)) & 0xFF));
  }
}

std::optional<Sid> ReadSid(std::span<const std::byte> bytes, size_t at, size_t* size) {
  if (at > bytes.size() || bytes.size() - at < 8) return std::nullopt;
  const std::byte* p = bytes.data() + at;
  const auto count = static_cast<uint8_t>(p[1]);
  if (static_cast<uint8_t>(p[0]) != 1 || count > kMaxSubAuthorities) return std::nullopt;
  if (bytes.size() - at < 8 + size_t{4} * count) return std::nullopt;
  Sid sid;
  for (int i = 0; i < 6; ++i) sid.authority = (sid.authority << 8) | static_cast<uint8_t>(p[2 + i]);
  sid.sub.resize(count);
  for (size_t i = 0; i < count; ++i) {
    uint32_t v = 0;
    for (int b = 0; b < 4; ++b) v |= uint32_t{static_cast<uint8_t>(p[8 + 4 * i + b])} << (8 * b);
    sid.sub[i] = v;
  }
  if (size != nullptr) *size = 8 + size_t{4} * count;
  return sid;
}

SidMap::SidMap(Sid domain) : domain_(std::move(domain)) {}

Sid SidMap::NewMachineSid() {
  Sid sid{kNtAuthority, {21, 0, 0, 0}};
  for (size_t i = 1; i < 4; ++i) {
    // Sub-authorities of machine SIDs are large numbers; avoid the small, reserved-looking ones.
    uint32_t v = 0;
    while (v < 0x1000000u) v = static_cast<uint32_t>(RandomU64());
    sid.sub[i] = v;
  }
  return sid;
}

bool SidMap::IsMachineSid(const Sid& sid) {
  return sid.authority == kNtAuthority && sid.sub.size() == 4 && sid.sub[0] == 21;
}

Sid SidMap::UserSid(uint32_t uid) const {
  if (uid == 0) return LocalSystemSid();
  if (uid > kMaxRidId) return UnixUserSid(uid);
  Sid sid = domain_;
  sid.sub.push_back(kFirstRid + 2 * uid);
  return sid;
}

Sid SidMap::GroupSid(uint32_t gid) const {
  if (gid == 0) return AdministratorsSid();
  if (gid > kMaxRidId) return UnixGroupSid(gid);
  Sid sid = domain_;
  sid.sub.push_back(kFirstRid + 1 + 2 * gid);
  return sid;
}

Sid SidMap::UnixUserSid(uint32_t uid) { return Make(kUnixAuthority, {1, uid}); }
Sid SidMap::UnixGroupSid(uint32_t gid) { return Make(kUnixAuthority, {2, gid}); }

std::optional<UnixId> SidMap::UnixOf(const Sid& sid) const {
  if (sid.authority == kUnixAuthority && sid.sub.size() == 2 &&
      (sid.sub[0] == 1 || sid.sub[0] == 2)) {
    return UnixId{sid.sub[0] == 2, sid.sub[1]};
  }
  // S-1-5-88-1-uid and S-1-5-88-2-gid: the NFS-style SIDs of the Linux cifs client's
  // idsfromsid (S-1-5-88-3-mode, its mode, names no one).
  if (sid.authority == kNtAuthority && sid.sub.size() == 3 && sid.sub[0] == 88 &&
      (sid.sub[1] == 1 || sid.sub[1] == 2)) {
    return UnixId{sid.sub[1] == 2, sid.sub[2]};
  }
  if (sid == LocalSystemSid()) return UnixId{false, 0};
  if (sid == AdministratorsSid()) return UnixId{true, 0};
  if (sid.authority == domain_.authority && sid.sub.size() == domain_.sub.size() + 1 &&
      std::equal(domain_.sub.begin(), domain_.sub.end(), sid.sub.begin())) {
    const uint32_t rid = sid.sub.back();
    if (rid < kFirstRid) return std::nullopt;  // Windows' own RIDs (500, 513, ...)
    const uint32_t n = rid - kFirstRid;
    return UnixId{(n & 1) != 0, n / 2};
  }
  return std::nullopt;
}

}  // namespace dittofs::smb::security

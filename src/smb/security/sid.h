// SPDX-License-Identifier: Apache-2.0
#pragma once

// Windows security identifiers (MS-DTYP 2.4.2) and how the server's Unix identities are named
// by them.
//
// Every uid and gid has a SID in the server's own domain: the machine SID (S-1-5-21-a-b-c,
// generated once and kept in the control plane) with a relative id of 1000 + 2 * uid for a
// user and 1001 + 2 * gid for a group, so that a SID names one user or one group and stays the
// same across restarts and nodes with no table to keep. Ids too large for that are named by
// the Unix SIDs S-1-22-1-uid and S-1-22-2-gid, which are understood for every id too (the Linux
// cifs client and Samba send them), as are S-1-5-88-1-uid and S-1-5-88-2-gid (the Linux cifs
// client's idsfromsid). uid 0 is LocalSystem (S-1-5-18) and gid 0
// BUILTIN\Administrators (S-1-5-32-544), both ways, so that the ACEs Windows puts on every
// folder for them survive a round trip.
//
// Values and pure functions: thread-safe.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace dittofs::smb::security {

inline constexpr size_t kMaxSubAuthorities = 15;

struct Sid {
  uint64_t authority = 0;     // IdentifierAuthority, 48 bits
  std::vector<uint32_t> sub;  // SubAuthority, at most kMaxSubAuthorities
  friend bool operator==(const Sid&, const Sid&) = default;
};

// The well-known SIDs the server maps (MS-DTYP 2.4.2.4).
Sid EveryoneSid();            // S-1-1-0
Sid CreatorOwnerSid();        // S-1-3-0
Sid CreatorGroupSid();        // S-1-3-1
Sid AuthenticatedUsersSid();  // S-1-5-11
Sid LocalSystemSid();         // S-1-5-18
Sid AdministratorsSid();      // S-1-5-32-544

// "S-1-5-21-1-2-3".
std::string FormatSid(const Sid& sid);
// The string form back (revision 1, decimal or 0x-hex authority, at most 15 sub-authorities).
std::optional<Sid> ParseSid(std::string_view text);

// The size of the wire form: 8 + 4 per sub-authority.
size_t SidSize(const Sid& sid);
// The wire form: Revision 1, SubAuthorityCount, the authority big-endian, the sub-authorities
// little-endian.
void AppendSid(const Sid& sid, std::vector<std::byte>& out);
// The SID at `at` of `bytes`, when a whole one with revision 1 and at most 15 sub-authorities
// fits there; `*size` (may be null) gets its size.
std::optional<Sid> ReadSid(std::span<const std::byte> bytes, size_t at, size_t* size = nullptr);

// What a SID names on the server.
struct UnixId {
  bool group = false;
  uint32_t id = 0;
  friend bool operator==(const UnixId&, const UnixId&) = default;
};

// The SIDs of the server's uids and gids, in the domain of one machine SID.
class SidMap {
 public:
  // `domain`: the machine SID, S-1-5-21 with three sub-authorities.
  explicit SidMap(Sid domain);
  // A new machine SID: S-1-5-21 and three random sub-authorities.
  static Sid NewMachineSid();
  // Whether `sid` is a machine SID this map can be made of.
  static bool IsMachineSid(const Sid& sid);

  const Sid& domain() const { return domain_; }
  Sid UserSid(uint32_t uid) const;
  Sid GroupSid(uint32_t gid) const;
  // S-1-22-1-uid / S-1-22-2-gid, what the SMB3 POSIX extensions use.
  static Sid UnixUserSid(uint32_t uid);
  static Sid UnixGroupSid(uint32_t gid);
  // The uid or gid `sid` names: one of this domain's, a Unix SID, LocalSystem or
  // Administrators. Nullopt for every other SID.
  std::optional<UnixId> UnixOf(const Sid& sid) const;

 private:
  Sid domain_;
};

}  // namespace dittofs::smb::security

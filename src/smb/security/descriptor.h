// SPDX-License-Identifier: Apache-2.0
#pragma once

// Windows security descriptors (MS-DTYP 2.4.6, self-relative) of files, to and from the
// runtime's one ACL model (core/acl): what SMB's QUERY_INFO and SET_INFO of SECURITY carry.
//
// To the wire: OWNER@ and GROUP@ ACEs that apply to the file name its owner's and group's
// SIDs; inheritable ones are (also) written for CREATOR OWNER and CREATOR GROUP, inherit-only,
// as Windows writes them. EVERYONE@ is Everyone, AUTHENTICATED@ Authenticated Users, named
// users and groups their SidMap SIDs. Allow and deny ACEs make the DACL, audit and alarm ACEs
// the SACL; the ACL's flags are the descriptor's AUTO_INHERITED, PROTECTED and DEFAULTED bits.
// A file without an ACL shows the ACL its mode stands for.
//
// From the wire: the reverse. An ACE for the owner's (group's) SID that applies to the file
// becomes an OWNER@ (GROUP@) ACE, so that the mode reflects it; its inheritable part stays for
// that user (group), as Windows means it (a child created by someone else inherits it for
// that user, not for its own owner). CREATOR OWNER and CREATOR GROUP ACEs become inherit-only
// OWNER@ and GROUP@ ACEs. Generic rights become the file rights they stand for (MS-SMB2
// 3.3.5.9's mapping: FILE_GENERIC_READ, ...). A NULL DACL (or none) is Everyone allowed
// everything; an empty DACL allows no one anything (not even the owner, but the rights
// owners always have). An allow or audit ACE for a SID that
// names no one here is left out (it would grant no one anything); a deny ACE for one is
// refused (leaving it out would grant more than the client asked).
//
// Every offset and size of a descriptor from the wire is checked; pure functions.

#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "core/acl/acl.h"
#include "smb/security/sid.h"

namespace dittofs::smb::security {

// SECURITY_INFORMATION (MS-DTYP 2.4.7): the parts of a descriptor asked for or given.
inline constexpr uint32_t kOwnerSecurityInformation = 0x1;
inline constexpr uint32_t kGroupSecurityInformation = 0x2;
inline constexpr uint32_t kDaclSecurityInformation = 0x4;
inline constexpr uint32_t kSaclSecurityInformation = 0x8;

// A file's security as the runtime keeps it.
struct FileSecurity {
  uint32_t uid = 0;
  uint32_t gid = 0;
  uint32_t mode = 0;  // its permission bits; what shows when `acl` is empty
  bool directory = false;
  core::Acl acl;  // empty: the file goes by its mode
};

// How the SIDs of owners and groups are written: by the SidMap's domain SIDs, or (for a
// tree with the SMB3 POSIX extensions) by the Unix SIDs S-1-22-1-uid and S-1-22-2-gid.
struct SidStyle {
  const SidMap* map = nullptr;
  bool unix_sids = false;
};

// The self-relative descriptor of `file` with the parts `sections` asks for.
std::vector<std::byte> EncodeSecurityDescriptor(const FileSecurity& file, uint32_t sections,
                                                SidStyle style);

// What a SET of a descriptor changes.
struct SecurityChange {
  std::optional<uint32_t> uid;
  std::optional<uint32_t> gid;
  // The file's new ACL: the given DACL and/or SACL with the current other part. Set when
  // the DACL or the SACL is given. An empty DACL becomes one ACE that allows nothing (an
  // ACL without allow or deny ACEs would mean "go by the mode"); allow ACEs with no rights
  // are not written to the wire.
  std::optional<core::Acl> acl;
};

enum class DescriptorError {
  kMalformed,     // STATUS_INVALID_SECURITY_DESCR
  kInvalidOwner,  // the owner SID names no user here: STATUS_INVALID_OWNER
  kInvalidGroup,  // the group SID names no group here: STATUS_INVALID_PRIMARY_GROUP
  kInvalidSid,    // a deny ACE names no one here: STATUS_INVALID_SID
  kTooBig,        // more ACEs than an ACL holds: STATUS_INVALID_PARAMETER
};

struct DecodedChange {
  std::optional<SecurityChange> change;
  DescriptorError error = DescriptorError::kMalformed;  // when `change` is empty
};

// The change `sd` makes to `current` for the parts `sections` names.
DecodedChange DecodeSecurityDescriptor(std::span<const std::byte> sd, uint32_t sections,
                                       const FileSecurity& current, const SidMap& map);

// Whether `sd`'s DACL carries the SMB3 POSIX extensions' mode ACE (S-1-5-88-3-mode): a Linux
// client's chmod, which a POSIX tree takes as a mode.
bool CarriesPosixMode(std::span<const std::byte> sd);

}  // namespace dittofs::smb::security

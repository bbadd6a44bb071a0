// SPDX-License-Identifier: Apache-2.0

#include "smb/security/descriptor.h"

#include <algorithm>

#include "smb/wire/le.h"

namespace dittofs::smb::security {

namespace {

// SECURITY_DESCRIPTOR_CONTROL (MS-DTYP 2.4.6).
constexpr uint16_t kDaclPresent = 0x0004, kDaclDefaulted = 0x0008, kSaclPresent = 0x0010,
                   kSaclDefaulted = 0x0020, kDaclAutoInherited = 0x0400,
                   kSaclAutoInherited = 0x0800, kDaclProtected = 0x1000, kSaclProtected = 0x2000,
                   kSelfRelative = 0x8000;
// SECURITY_INFORMATION bits that set or clear the PROTECTED flags (MS-DTYP 2.4.7).
constexpr uint32_t kProtectedDacl = 0x80000000, kProtectedSacl = 0x40000000,
                   kUnprotectedDacl = 0x20000000, kUnprotectedSacl = 0x10000000;
// ACE_HEADER AceFlags (MS-DTYP 2.4.4.1).
constexpr uint8_t kObjectInherit = 0x01, kContainerInherit = 0x02, kNoPropagateInherit = 0x04,
                  kInheritOnly = 0x08, kInheritedAce = 0x10, kSuccessfulAccess = 0x40,
                  kFailedAccess = 0x80;
constexpr uint8_t kWireInheritance =
    kObjectInherit | kContainerInherit | kNoPropagateInherit | kInheritOnly;
// The generic rights and the file rights they stand for (MS-SMB2 3.3.5.9, MS-FSCC's
// FILE_GENERIC_*).
constexpr uint32_t kGenericRead = 0x80000000, kGenericWrite = 0x40000000,
                   kGenericExecute = 0x20000000, kGenericAll = 0x10000000;
constexpr uint32_t kFileGenericRead = 0x00120089, kFileGenericWrite = 0x00120116,
                   kFileGenericExecute = 0x001200A0, kFileAllAccess = 0x001F01FF;

constexpr size_t kHeaderSize = 20;
constexpr size_t kAclHeaderSize = 8;

struct WireAce {
  uint8_t type = 0;
  uint8_t flags = 0;
  uint32_t mask = 0;
  Sid sid;
};

uint8_t WireFlags(uint32_t f) {
  uint8_t out = 0;
  if (f & core::kAceFileInherit) out |= kObjectInherit;
  if (f & core::kAceDirectoryInherit) out |= kContainerInherit;
  if (f & core::kAceNoPropagateInherit) out |= kNoPropagateInherit;
  if (f & core::kAceInheritOnly) out |= kInheritOnly;
  if (f & core::kAceInherited) out |= kInheritedAce;
  if (f & core::kAceSuccessfulAccess) out |= kSuccessfulAccess;
  if (f & core::kAceFailedAccess) out |= kFailedAccess;
  return out;
}

uint32_t ModelFlags(uint8_t f) {
  uint32_t out = 0;
  if (f & kObjectInherit) out |= core::kAceFileInherit;
  if (f & kContainerInherit) out |= core::kAceDirectoryInherit;
  if (f & kNoPropagateInherit) out |= core::kAceNoPropagateInherit;
  if (f & kInheritOnly) out |= core::kAceInheritOnly;
  if (f & kInheritedAce) out |= core::kAceInherited;
  if (f & kSuccessfulAccess) out |= core::kAceSuccessfulAccess;
  if (f & kFailedAccess) out |= core::kAceFailedAccess;
  return out;
}

uint32_t FileRights(uint32_t mask) {
  uint32_t out = mask & core::kAceAllAccess;
  if (mask & kGenericRead) out |= kFileGenericRead;
  if (mask & kGenericWrite) out |= kFileGenericWrite;
  if (mask & kGenericExecute) out |= kFileGenericExecute;
  if (mask & kGenericAll) out |= kFileAllAccess;
  return out;
}

// The wire ACEs of one model ACE.
void ToWire(const core::Ace& ace, const FileSecurity& file, SidStyle style,
            std::vector<WireAce>& out) {
  const auto type = static_cast<uint8_t>(ace.type);
  const uint8_t flags = WireFlags(ace.flags);
  const auto user = [&](uint32_t uid) {
    return style.unix_sids ? SidMap::UnixUserSid(uid) : style.map->UserSid(uid);
  };
  const auto group = [&](uint32_t gid) {
    return style.unix_sids ? SidMap::UnixGroupSid(gid) : style.map->GroupSid(gid);
  };
  switch (ace.who) {
    case core::AceWho::kOwner:
    case core::AceWho::kGroup: {
      const bool owner = ace.who == core::AceWho::kOwner;
      Sid self = owner ? user(file.uid) : group(file.gid);
      Sid creator = owner ? CreatorOwnerSid() : CreatorGroupSid();
      if (flags & kInheritOnly) {
        out.push_back({type, flags, ace.mask, std::move(creator)});
      } else if (flags & (kObjectInherit | kContainerInherit)) {
        // Applies here (to the owner) and is inherited (by each child's own owner).
        out.push_back(
            {type, static_cast<uint8_t>(flags & ~kWireInheritance), ace.mask, std::move(self)});
        out.push_back(
            {type, static_cast<uint8_t>(flags | kInheritOnly), ace.mask, std::move(creator)});
      } else {
        out.push_back({type, flags, ace.mask, std::move(self)});
      }
      return;
    }
    case core::AceWho::kEveryone:
      out.push_back({type, flags, ace.mask, EveryoneSid()});
      return;
    case core::AceWho::kAuthenticated:
      out.push_back({type, flags, ace.mask, AuthenticatedUsersSid()});
      return;
    case core::AceWho::kUser:
      out.push_back({type, flags, ace.mask, user(ace.id)});
      return;
    case core::AceWho::kGroupId:
      out.push_back({type, flags, ace.mask, group(ace.id)});
      return;
  }
}

void AppendAcl(const std::vector<WireAce>& aces, std::vector<std::byte>& out) {
  size_t size = kAclHeaderSize;
  for (const WireAce& a : aces) size += 8 + SidSize(a.sid);
  wire::LeWriter w(out);
  w.U8(2);  // ACL_REVISION
  w.U8(0);
  w.U16(static_cast<uint16_t>(size));
  w.U16(static_cast<uint16_t>(aces.size()));
  w.U16(0);
  for (const WireAce& a : aces) {
    w.U8(a.type);
    w.U8(a.flags);
    w.U16(static_cast<uint16_t>(8 + SidSize(a.sid)));
    w.U32(a.mask);
    AppendSid(a.sid, out);
  }
}

uint16_t ControlOf(uint32_t acl_flags, bool sacl) {
  const uint32_t f = sacl ? acl_flags >> core::kAclSaclShift : acl_flags;
  uint16_t out = 0;
  if (f & core::kAclAutoInherit) out |= sacl ? kSaclAutoInherited : kDaclAutoInherited;
  if (f & core::kAclProtected) out |= sacl ? kSaclProtected : kDaclProtected;
  if (f & core::kAclDefaulted) out |= sacl ? kSaclDefaulted : kDaclDefaulted;
  return out;
}

uint32_t AclFlagsOf(uint16_t control, bool sacl) {
  uint32_t f = 0;
  if (control & (sacl ? kSaclAutoInherited : kDaclAutoInherited)) f |= core::kAclAutoInherit;
  if (control & (sacl ? kSaclProtected : kDaclProtected)) f |= core::kAclProtected;
  if (control & (sacl ? kSaclDefaulted : kDaclDefaulted)) f |= core::kAclDefaulted;
  return sacl ? f << core::kAclSaclShift : f;
}

// The ACEs of the ACL at `at` of `sd`: the basic ones (ACCESS_ALLOWED, ACCESS_DENIED,
// SYSTEM_AUDIT, SYSTEM_ALARM: type, flags, mask, SID) decoded; others kept with their type
// only. Nullopt when the ACL or an ACE does not fit or is not well-formed.
std::optional<std::vector<WireAce>> ReadAcl(std::span<const std::byte> sd, size_t at) {
  if (at < kHeaderSize || at > sd.size() || sd.size() - at < kAclHeaderSize) return std::nullopt;
  const std::byte* p = sd.data() + at;
  const auto revision = static_cast<uint8_t>(p[0]);
  const size_t size = wire::LoadLe16(p + 2);
  const size_t count = wire::LoadLe16(p + 4);
  if ((revision != 2 && revision != 4) || size < kAclHeaderSize || size > sd.size() - at) {
    return std::nullopt;
  }
  const std::span<const std::byte> acl = sd.subspan(at, size);
  std::vector<WireAce> out;
  out.reserve(std::min(count, size / 8));
  size_t pos = kAclHeaderSize;
  for (size_t i = 0; i < count; ++i) {
    if (acl.size() - pos < 4) return std::nullopt;
    WireAce ace;
    ace.type = static_cast<uint8_t>(acl[pos]);
    ace.flags = static_cast<uint8_t>(acl[pos + 1]);
    const size_t ace_size = wire::LoadLe16(acl.data() + pos + 2);
    if (ace_size < 8 || ace_size > acl.size() - pos) return std::nullopt;
    if (ace.type <= 3) {
      ace.mask = wire::LoadLe32(acl.data() + pos + 4);
      size_t sid_size = 0;
      std::optional<Sid> sid = ReadSid(acl.subspan(0, pos + ace_size), pos + 8, &sid_size);
      if (!sid) return std::nullopt;
      ace.sid = std::move(*sid);
    }
    out.push_back(std::move(ace));
    pos += ace_size;
  }
  return out;
}

}  // namespace

std::vector<std::byte> EncodeSecurityDescriptor(const FileSecurity& file, uint32_t sections,
                                                SidStyle style) {
  std::vector<std::byte> out(kHeaderSize, std::byte{0});
  out[0] = std::byte{1};  // Revision
  uint16_t control = kSelfRelative;
  const auto offset_at = [&](size_t field, size_t value) {
    wire::StoreLe32(out.data() + field, static_cast<uint32_t>(value));
  };
  if (sections & kOwnerSecurityInformation) {
    offset_at(4, out.size());
    AppendSid(style.unix_sids ? SidMap::UnixUserSid(file.uid) : style.map->UserSid(file.uid), out);
  }
  if (sections & kGroupSecurityInformation) {
    offset_at(8, out.size());
    AppendSid(style.unix_sids ? SidMap::UnixGroupSid(file.gid) : style.map->GroupSid(file.gid),
              out);
  }
  if (sections & (kDaclSecurityInformation | kSaclSecurityInformation)) {
    const core::Acl acl =
        file.acl.empty() ? core::AclWithMode({}, file.mode, file.directory) : file.acl;
    std::vector<WireAce> dacl, sacl;
    for (const core::Ace& ace : acl.aces) {
      if (ace.mask == 0 && ace.type == core::AceType::kAllow) continue;  // allows nothing
      ToWire(ace, file, style, core::IsAccessAceType(ace.type) ? dacl : sacl);
    }
    if ((sections & kSaclSecurityInformation) && !sacl.empty()) {
      control |= kSaclPresent | ControlOf(acl.flags, true);
      offset_at(12, out.size());
      AppendAcl(sacl, out);
    }
    if (sections & kDaclSecurityInformation) {
      control |= kDaclPresent | ControlOf(acl.flags, false);
      offset_at(16, out.size());
      AppendAcl(dacl, out);
    }
  }
  wire::StoreLe16(out.data() + 2, control);
  return out;
}

DecodedChange DecodeSecurityDescriptor(std::span<const std::byte> sd, uint32_t sections,
                                       const FileSecurity& current, const SidMap& map) {
  DecodedChange result;
  const auto fail = [&](DescriptorError e) {
    result.error = e;
    return result;
  };
  if (sd.size() < kHeaderSize || static_cast<uint8_t>(sd[0]) != 1) {
    return fail(DescriptorError::kMalformed);
  }
  const uint16_t control = wire::LoadLe16(sd.data() + 2);
  if (!(control & kSelfRelative)) return fail(DescriptorError::kMalformed);
  const size_t owner_at = wire::LoadLe32(sd.data() + 4), group_at = wire::LoadLe32(sd.data() + 8);
  const size_t sacl_at = wire::LoadLe32(sd.data() + 12), dacl_at = wire::LoadLe32(sd.data() + 16);
  SecurityChange change;

  if (sections & kOwnerSecurityInformation) {
    std::optional<Sid> sid = owner_at >= kHeaderSize ? ReadSid(sd, owner_at) : std::nullopt;
    if (!sid)
      return fail(owner_at == 0 ? DescriptorError::kInvalidOwner : DescriptorError::kMalformed);
    std::optional<UnixId> id = map.UnixOf(*sid);
    if (!id || id->group) return fail(DescriptorError::kInvalidOwner);
    change.uid = id->id;
  }
  if (sections & kGroupSecurityInformation) {
    std::optional<Sid> sid = group_at >= kHeaderSize ? ReadSid(sd, group_at) : std::nullopt;
    if (!sid)
      return fail(group_at == 0 ? DescriptorError::kInvalidGroup : DescriptorError::kMalformed);
    std::optional<UnixId> id = map.UnixOf(*sid);
    if (!id || !id->group) return fail(DescriptorError::kInvalidGroup);
    change.gid = id->id;
  }
  const bool set_dacl = (sections & kDaclSecurityInformation) != 0;
  const bool set_sacl = (sections & kSaclSecurityInformation) != 0;
  if (!set_dacl && !set_sacl) {
    result.change = std::move(change);
    return result;
  }

  // Whom OWNER@ and GROUP@ stand for once this change is made.
  const uint32_t owner_uid = change.uid.value_or(current.uid);
  const uint32_t owner_gid = change.gid.value_or(current.gid);
  const core::Acl now =
      current.acl.empty() ? core::AclWithMode({}, current.mode, current.directory) : current.acl;
  core::Acl acl;
  acl.flags = now.flags;
  bool bad_sid = false;
  // Appends the model ACEs of one wire ACE.
  const auto add = [&](const WireAce& w) {
    core::Ace ace;
    ace.type = static_cast<core::AceType>(w.type);
    ace.flags = ModelFlags(w.flags);
    ace.mask = FileRights(w.mask);
    const bool inheritable =
        (ace.flags & (core::kAceFileInherit | core::kAceDirectoryInherit)) != 0;
    const auto role = [&](core::AceWho who, std::optional<UnixId> named) {
      // An ACE for the owner (group) itself: OWNER@ (GROUP@) here, the named one inherited.
      if (!(ace.flags & core::kAceInheritOnly)) {
        core::Ace here = ace;
        here.who = who;
        here.flags &= ~core::kAceInheritanceFlags;
        acl.aces.push_back(here);
      }
      if (inheritable) {
        ace.who = named->group ? core::AceWho::kGroupId : core::AceWho::kUser;
        ace.id = named->id;
        ace.flags |= core::kAceInheritOnly;
        acl.aces.push_back(ace);
      }
    };
    if (w.sid == EveryoneSid()) {
      ace.who = core::AceWho::kEveryone;
    } else if (w.sid == AuthenticatedUsersSid()) {
      ace.who = core::AceWho::kAuthenticated;
    } else if (w.sid == CreatorOwnerSid() || w.sid == CreatorGroupSid()) {
      if (!inheritable) return;  // applies to nothing: CREATOR OWNER only means something inherited
      ace.who = w.sid == CreatorOwnerSid() ? core::AceWho::kOwner : core::AceWho::kGroup;
      ace.flags |= core::kAceInheritOnly;
    } else if (std::optional<UnixId> id = map.UnixOf(w.sid)) {
      if (!id->group && id->id == owner_uid) return role(core::AceWho::kOwner, id);
      if (id->group && id->id == owner_gid) return role(core::AceWho::kGroup, id);
      ace.who = id->group ? core::AceWho::kGroupId : core::AceWho::kUser;
      ace.id = id->id;
    } else {
      // No one here: an allow or audit ACE for it grants or watches no one; a deny cannot be
      // left out.
      if (ace.type == core::AceType::kDeny) bad_sid = true;
      return;
    }
    acl.aces.push_back(ace);
  };

  if (set_dacl) {
    acl.flags = (acl.flags & ~core::kAclDaclFlags) | AclFlagsOf(control, false);
    if (!(control & kDaclPresent) || dacl_at == 0) {
      // No DACL, or a NULL one: everyone may do everything.
      acl.aces.push_back(
          core::Ace{core::AceType::kAllow, 0, kFileAllAccess, core::AceWho::kEveryone, 0});
    } else {
      std::optional<std::vector<WireAce>> aces = ReadAcl(sd, dacl_at);
      if (!aces) return fail(DescriptorError::kMalformed);
      for (const WireAce& w : *aces) {
        if (w.type > 1) return fail(DescriptorError::kMalformed);  // only allow and deny here
        add(w);
      }
    }
    if (sections & kProtectedDacl) acl.flags |= core::kAclProtected;
    if (sections & kUnprotectedDacl) acl.flags &= ~core::kAclProtected;
  } else {
    for (const core::Ace& ace : now.aces) {
      if (core::IsAccessAceType(ace.type)) acl.aces.push_back(ace);
    }
  }
  if (set_sacl) {
    acl.flags = (acl.flags & ~core::kAclSaclFlags) | AclFlagsOf(control, true);
    if ((control & kSaclPresent) && sacl_at != 0) {
      std::optional<std::vector<WireAce>> aces = ReadAcl(sd, sacl_at);
      if (!aces) return fail(DescriptorError::kMalformed);
      for (const WireAce& w : *aces) {
        if (w.type == 2 || w.type == 3) add(w);  // labels and the like are not kept
      }
    }
    if (sections & kProtectedSacl) acl.flags |= core::kAclProtected << core::kAclSaclShift;
    if (sections & kUnprotectedSacl) acl.flags &= ~(core::kAclProtected << core::kAclSaclShift);
  } else {
    for (const core::Ace& ace : now.aces) {
      if (!core::IsAccessAceType(ace.type)) acl.aces.push_back(ace);
    }
  }
  if (bad_sid) return fail(DescriptorError::kInvalidSid);
  if (acl.aces.size() > core::kMaxAces) return fail(DescriptorError::kTooBig);
  if (std::none_of(acl.aces.begin(), acl.aces.end(),
                   [](const core::Ace& a) { return core::IsAccessAceType(a.type); })) {
    // An empty DACL allows no one anything; an ACL without allow or deny ACEs means "go by
    // the mode", so it keeps one ACE that allows nothing (never shown as a Windows ACE).
    acl.aces.insert(acl.aces.begin(),
                    core::Ace{core::AceType::kAllow, 0, 0, core::AceWho::kEveryone, 0});
  }
  change.acl = std::move(acl);
  result.change = std::move(change);
  return result;
}

bool CarriesPosixMode(std::span<const std::byte> sd) {
  if (sd.size() < kHeaderSize || static_cast<uint8_t>(sd[0]) != 1) return false;
  const uint16_t control = wire::LoadLe16(sd.data() + 2);
  const size_t dacl_at = wire::LoadLe32(sd.data() + 16);
  if (!(control & kDaclPresent) || dacl_at == 0) return false;
  std::optional<std::vector<WireAce>> aces = ReadAcl(sd, dacl_at);
  if (!aces) return false;
  for (const WireAce& a : *aces) {
    if (a.type <= 1 && a.sid.authority == 5 && a.sid.sub.size() == 3 && a.sid.sub[0] == 88 &&
        a.sid.sub[1] == 3) {
      return true;
    }
  }
  return false;
}

}  // namespace dittofs::smb::security

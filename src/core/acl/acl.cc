// SPDX-License-Identifier: Apache-2.0

#include "core/acl/acl.h"

#include <algorithm>
#include <optional>

namespace dittofs::core {

namespace {

// The stored form: a version byte, the ACE count (u32), in version 2 the ACL's flags (u32),
// then 14 bytes per ACE: type (u8), who (u8), flags (u32), mask (u32), id (u32); little-endian.
// Version 1 (no flags) is written for an ACL without flags, as it was before flags existed.
constexpr uint8_t kAclVersion = 1;
constexpr uint8_t kAclVersionFlags = 2;
constexpr size_t kHeaderBytes = 5;
constexpr size_t kFlagsHeaderBytes = 9;
constexpr size_t kAceBytes = 14;
constexpr uint32_t kKnownAclFlags = kAclDaclFlags | kAclSaclFlags;

void PutU32(std::string& out, uint32_t v) {
  for (int i = 0; i < 4; ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xFF));
}

uint32_t GetU32(std::string_view in, size_t at) {
  uint32_t v = 0;
  for (int i = 0; i < 4; ++i) v |= uint32_t{static_cast<uint8_t>(in[at + i])} << (8 * i);
  return v;
}

// The header of stored bytes: where the ACEs start and how many there are, or nullopt for
// bytes EncodeAcl did not make.
struct StoredHeader {
  size_t aces_at = 0;
  uint32_t count = 0;
  uint32_t flags = 0;
};
std::optional<StoredHeader> HeaderOf(std::string_view stored) {
  if (stored.size() < kHeaderBytes) return std::nullopt;
  StoredHeader h;
  const auto version = static_cast<uint8_t>(stored[0]);
  if (version == kAclVersion) {
    h.aces_at = kHeaderBytes;
  } else if (version == kAclVersionFlags && stored.size() >= kFlagsHeaderBytes) {
    h.aces_at = kFlagsHeaderBytes;
    h.flags = GetU32(stored, kHeaderBytes);
  } else {
    return std::nullopt;
  }
  h.count = GetU32(stored, 1);
  if (h.count > kMaxAces || stored.size() != h.aces_at + kAceBytes * size_t{h.count}) {
    return std::nullopt;
  }
  return h;
}

bool Decides(const Ace& ace) {
  return IsAccessAceType(ace.type) && (ace.flags & kAceInheritOnly) == 0;
}

bool Matches(const Ace& ace, const AclSubject& subject, const AclOwner& owner) {
  switch (ace.who) {
    case AceWho::kOwner:
      return subject.uid == owner.uid;
    case AceWho::kGroup:
      return subject.InGroup(owner.gid);
    case AceWho::kEveryone:
      return true;
    case AceWho::kUser:
      return subject.uid == ace.id;
    case AceWho::kGroupId:
      return subject.InGroup(ace.id);
    case AceWho::kAuthenticated:
      return subject.authenticated;
  }
  return false;
}

// The access bits that stand for the rwx bits `bits` (0-7).
uint32_t MaskOfBits(uint32_t bits, bool directory) {
  uint32_t mask = 0;
  if (bits & 4) mask |= kAceModeRead;
  if (bits & 2) mask |= kAceModeWrite | (directory ? kAceDeleteChild : 0);
  if (bits & 1) mask |= kAceModeExecute;
  return mask;
}

// RFC 8881 §6.3.2: the rwx bits a class gets from the ACEs `counts` selects, evaluated in
// order as for access.
template <typename Counts>
uint32_t ClassBits(const Acl& acl, Counts counts) {
  uint32_t allowed = 0, decided = 0;
  for (const Ace& ace : acl.aces) {
    if (!Decides(ace) || !counts(ace.who)) continue;
    const uint32_t bits = ace.mask & ~decided;
    if (ace.type == AceType::kAllow) allowed |= bits;
    decided |= bits;
  }
  uint32_t out = 0;
  if (allowed & kAceModeRead) out |= 4;
  if ((allowed & kAceModeWrite) == kAceModeWrite) out |= 2;
  if (allowed & kAceModeExecute) out |= 1;
  return out;
}

bool IsRole(AceWho who) {
  return who == AceWho::kOwner || who == AceWho::kGroup || who == AceWho::kEveryone;
}

}  // namespace

bool AclSubject::InGroup(uint32_t g) const {
  return gid == g || std::find(groups.begin(), groups.end(), g) != groups.end();
}

Status ValidateAcl(const Acl& acl) {
  if (acl.aces.size() > kMaxAces) return Status(Errc::kTooBig, "more ACEs than an ACL holds");
  if ((acl.flags & ~kKnownAclFlags) != 0) return Status(Errc::kInvalid, "unknown ACL flags");
  for (const Ace& ace : acl.aces) {
    if (static_cast<uint8_t>(ace.type) > static_cast<uint8_t>(AceType::kAlarm)) {
      return Status(Errc::kInvalid, "unknown ACE type");
    }
    if ((ace.flags & ~kAceKnownFlags) != 0 || (ace.flags & kAceIdentifierGroup) != 0) {
      return Status(Errc::kInvalid, "unknown ACE flags");
    }
    if ((ace.mask & ~kAceAllAccess) != 0) return Status(Errc::kInvalid, "unknown access bits");
    if (static_cast<uint8_t>(ace.who) > static_cast<uint8_t>(AceWho::kAuthenticated)) {
      return Status(Errc::kInvalid, "unknown ACE principal");
    }
    if (ace.who != AceWho::kUser && ace.who != AceWho::kGroupId && ace.id != 0) {
      return Status(Errc::kInvalid, "an id on an ACE for a special principal");
    }
  }
  return Status::Ok();
}

std::string EncodeAcl(const Acl& acl) {
  std::string out;
  if (acl.aces.empty()) return out;
  out.reserve(kFlagsHeaderBytes + kAceBytes * acl.aces.size());
  out.push_back(static_cast<char>(acl.flags != 0 ? kAclVersionFlags : kAclVersion));
  PutU32(out, static_cast<uint32_t>(acl.aces.size()));
  if (acl.flags != 0) PutU32(out, acl.flags);
  for (const Ace& ace : acl.aces) {
    out.push_back(static_cast<char>(ace.type));
    out.push_back(static_cast<char>(ace.who));
    PutU32(out, ace.flags);
    PutU32(out, ace.mask);
    PutU32(out, ace.id);
  }
  return out;
}

Result<Acl> DecodeAcl(std::string_view stored) {
  Acl acl;
  if (stored.empty()) return acl;
  const std::optional<StoredHeader> h = HeaderOf(stored);
  if (!h) return Status(Errc::kInvalid, "not a stored ACL, or one of the wrong size");
  acl.flags = h->flags;
  acl.aces.resize(h->count);
  for (uint32_t i = 0; i < h->count; ++i) {
    const size_t at = h->aces_at + kAceBytes * i;
    Ace& ace = acl.aces[i];
    ace.type = static_cast<AceType>(static_cast<uint8_t>(stored[at]));
    ace.who = static_cast<AceWho>(static_cast<uint8_t>(stored[at + 1]));
    ace.flags = GetU32(stored, at + 2);
    ace.mask = GetU32(stored, at + 6);
    ace.id = GetU32(stored, at + 10);
  }
  RETURN_IF_ERROR(ValidateAcl(acl));
  return acl;
}

namespace {

// RFC 8881 §6.2.1 over `count` ACEs that `ace_at(i)` gives, in order.
template <typename AceAt>
uint32_t Evaluate(size_t count, AceAt ace_at, const AclSubject& subject, const AclOwner& owner,
                  uint32_t wanted) {
  uint32_t always = kAceReadAttributes | kAceSynchronize;
  if (subject.uid == owner.uid) always |= kAceReadAcl | kAceWriteAcl;
  uint32_t allowed = wanted & always;
  uint32_t pending = wanted & ~always;
  for (size_t i = 0; i < count && pending != 0; ++i) {
    const Ace ace = ace_at(i);
    if (!Decides(ace) || !Matches(ace, subject, owner)) continue;
    const uint32_t bits = ace.mask & pending;
    if (bits == 0) continue;
    if (ace.type == AceType::kAllow) allowed |= bits;
    pending &= ~bits;  // allowed now, or denied for good
  }
  return allowed;
}

}  // namespace

uint32_t AclAllowed(const Acl& acl, const AclSubject& subject, const AclOwner& owner,
                    uint32_t wanted) {
  return Evaluate(
      acl.aces.size(), [&](size_t i) { return acl.aces[i]; }, subject, owner, wanted);
}

uint32_t StoredAclAllowed(std::string_view stored, const AclSubject& subject, const AclOwner& owner,
                          uint32_t wanted) {
  const std::optional<StoredHeader> h = HeaderOf(stored);
  const size_t count = h ? h->count : 0;
  const size_t aces_at = h ? h->aces_at : 0;
  // Fields read as stored; a type or principal out of range decides nothing (Matches and
  // Decides refuse it), so damaged bytes never allow more than the implied bits.
  return Evaluate(
      count,
      [&](size_t i) {
        const size_t at = aces_at + kAceBytes * i;
        Ace ace;
        ace.type = static_cast<AceType>(static_cast<uint8_t>(stored[at]));
        ace.who = static_cast<AceWho>(static_cast<uint8_t>(stored[at + 1]));
        ace.flags = GetU32(stored, at + 2);
        ace.mask = GetU32(stored, at + 6);
        ace.id = GetU32(stored, at + 10);
        return ace;
      },
      subject, owner, wanted);
}

uint32_t ModeOfAcl(const Acl& acl, bool directory) {
  (void)directory;  // the write bit needs WRITE_DATA and APPEND_DATA on either
  const uint32_t owner =
      ClassBits(acl, [](AceWho w) { return w == AceWho::kOwner || w == AceWho::kEveryone; });
  const uint32_t group =
      ClassBits(acl, [](AceWho w) { return w == AceWho::kGroup || w == AceWho::kEveryone; });
  const uint32_t other = ClassBits(acl, [](AceWho w) { return w == AceWho::kEveryone; });
  return (owner << 6) | (group << 3) | other;
}

Acl AclWithMode(const Acl& acl, uint32_t mode, bool directory) {
  const uint32_t mode_bits = MaskOfBits(7, directory);
  const uint32_t owner = MaskOfBits((mode >> 6) & 7, directory);
  const uint32_t group = MaskOfBits((mode >> 3) & 7, directory);
  const uint32_t other = MaskOfBits(mode & 7, directory);
  Acl out;
  out.flags = acl.flags;
  out.aces.reserve(acl.aces.size() + 5);
  for (Ace ace : acl.aces) {
    if (ace.flags & kAceInheritOnly) {
      out.aces.push_back(ace);  // for what is created below, not for this object
      continue;
    }
    if (ace.flags & (kAceFileInherit | kAceDirectoryInherit)) {
      // Applies here and is inherited: the inherited copy keeps what it says.
      Ace inherited = ace;
      inherited.flags |= kAceInheritOnly;
      out.aces.push_back(inherited);
      ace.flags &= ~kAceInheritanceFlags;
    }
    if (IsAccessAceType(ace.type)) {
      if (IsRole(ace.who)) {
        ace.mask &= ~mode_bits;  // the mode's ACEs below say these
      } else if (ace.type == AceType::kAllow) {
        ace.mask &= ~(mode_bits & ~group);  // the group bits bound named entries (a mask)
      }
      if (ace.mask == 0) continue;
    }
    out.aces.push_back(ace);
  }
  auto add = [&](AceType type, AceWho who, uint32_t mask) {
    if (mask != 0) out.aces.push_back(Ace{type, 0, mask, who, 0});
  };
  add(AceType::kAllow, AceWho::kOwner, owner);
  add(AceType::kDeny, AceWho::kOwner, (group | other) & ~owner);
  add(AceType::kAllow, AceWho::kGroup, group);
  add(AceType::kDeny, AceWho::kGroup, other & ~group);
  add(AceType::kAllow, AceWho::kEveryone, other);
  return out;
}

Acl InheritedAcl(const Acl& parent, bool directory) {
  Acl out;
  // An auto-inherited parent makes auto-inherited children (RFC 8881 §6.4.3.3).
  out.flags = parent.flags & (kAclAutoInherit | (kAclAutoInherit << kAclSaclShift));
  for (Ace ace : parent.aces) {
    const uint32_t f = ace.flags;
    if (!directory) {
      if (!(f & kAceFileInherit)) continue;
      ace.flags &= ~kAceInheritanceFlags;
    } else if (f & kAceDirectoryInherit) {
      // Applies to the new directory; passed further down unless NO_PROPAGATE.
      if (f & kAceNoPropagateInherit) {
        ace.flags &= ~kAceInheritanceFlags;
      } else {
        ace.flags &= ~kAceInheritOnly;
      }
    } else if ((f & kAceFileInherit) && !(f & kAceNoPropagateInherit)) {
      ace.flags |= kAceInheritOnly;  // only for the files created in the new directory
    } else {
      continue;
    }
    ace.flags |= kAceInherited;
    out.aces.push_back(ace);
  }
  if (out.aces.empty()) out.flags = 0;
  return out;
}

bool AclIsMode(const Acl& acl, bool directory) {
  if (acl.flags != 0) return false;
  for (const Ace& ace : acl.aces) {
    if (!IsRole(ace.who) || (ace.flags & kAceInheritanceFlags) != 0) return false;
  }
  return acl == AclWithMode(Acl{}, ModeOfAcl(acl, directory), directory);
}

}  // namespace dittofs::core

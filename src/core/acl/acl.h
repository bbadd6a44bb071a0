// SPDX-License-Identifier: Apache-2.0
#pragma once

// The runtime's one access control list model, shared by every protocol: NFSv4 ACLs (RFC 8881
// §6), which Windows security descriptors translate to and from. A file either has an ACL,
// and then every access check evaluates it, or has none, and then its mode bits decide.
//
// An ACE names who it is for by role (OWNER@, GROUP@, EVERYONE@: the file's owner and group,
// whoever they are now) or by a uid or gid. Evaluation, the mode an ACL reflects, the ACL a
// chmod leaves and inheritance on create follow RFC 8881 §6.2.1, §6.3.2, §6.4.1.1 and §6.4.3;
// docs/acl.md gives the rules with their examples.
//
// Pure functions over values: thread-safe.

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"

namespace dittofs::core {

// ACE types (RFC 8881 §6.2.1.1). Audit and alarm ACEs are kept and returned; they never
// change an access decision.
enum class AceType : uint8_t { kAllow = 0, kDeny = 1, kAudit = 2, kAlarm = 3 };

// Whether ACEs of type `t` decide access (ALLOW, DENY: a Windows DACL's, NFSv4.1's dacl) rather
// than audit (AUDIT, ALARM: a SACL's, NFSv4.1's sacl).
inline bool IsAccessAceType(AceType t) { return t == AceType::kAllow || t == AceType::kDeny; }

// ACE flags (RFC 8881 §6.2.1.4).
inline constexpr uint32_t kAceFileInherit = 0x01;
inline constexpr uint32_t kAceDirectoryInherit = 0x02;
inline constexpr uint32_t kAceNoPropagateInherit = 0x04;
inline constexpr uint32_t kAceInheritOnly = 0x08;
inline constexpr uint32_t kAceSuccessfulAccess = 0x10;
inline constexpr uint32_t kAceFailedAccess = 0x20;
inline constexpr uint32_t kAceIdentifierGroup = 0x40;  // on the wire: `who` names a group
inline constexpr uint32_t kAceInherited = 0x80;
inline constexpr uint32_t kAceInheritanceFlags =
    kAceFileInherit | kAceDirectoryInherit | kAceNoPropagateInherit | kAceInheritOnly;
inline constexpr uint32_t kAceKnownFlags = 0xFF;

// Access mask bits (RFC 8881 §6.2.1.3.1). On a directory READ_DATA is LIST_DIRECTORY,
// WRITE_DATA is ADD_FILE and APPEND_DATA is ADD_SUBDIRECTORY.
inline constexpr uint32_t kAceReadData = 0x00000001;
inline constexpr uint32_t kAceWriteData = 0x00000002;
inline constexpr uint32_t kAceAppendData = 0x00000004;
inline constexpr uint32_t kAceReadNamedAttrs = 0x00000008;
inline constexpr uint32_t kAceWriteNamedAttrs = 0x00000010;
inline constexpr uint32_t kAceExecute = 0x00000020;
inline constexpr uint32_t kAceDeleteChild = 0x00000040;
inline constexpr uint32_t kAceReadAttributes = 0x00000080;
inline constexpr uint32_t kAceWriteAttributes = 0x00000100;
inline constexpr uint32_t kAceWriteRetention = 0x00000200;
inline constexpr uint32_t kAceWriteRetentionHold = 0x00000400;
inline constexpr uint32_t kAceDelete = 0x00010000;
inline constexpr uint32_t kAceReadAcl = 0x00020000;
inline constexpr uint32_t kAceWriteAcl = 0x00040000;
inline constexpr uint32_t kAceWriteOwner = 0x00080000;
inline constexpr uint32_t kAceSynchronize = 0x00100000;
inline constexpr uint32_t kAceAllAccess = 0x001F07FF;

// What each mode bit stands for in an ACL (RFC 8881 §6.3.2): r, w (both WRITE_DATA and
// APPEND_DATA; on a directory DELETE_CHILD as well) and x.
inline constexpr uint32_t kAceModeRead = kAceReadData;
inline constexpr uint32_t kAceModeWrite = kAceWriteData | kAceAppendData;
inline constexpr uint32_t kAceModeExecute = kAceExecute;

// Whom an ACE is for.
enum class AceWho : uint8_t {
  kOwner = 0,     // OWNER@: the file's owner
  kGroup = 1,     // GROUP@: members of the file's group
  kEveryone = 2,  // EVERYONE@
  kUser = 3,      // the user `id`
  kGroupId = 4,   // members of the group `id`
  // AUTHENTICATED@ (RFC 8881 §6.2.1.5; Windows' Authenticated Users): every caller that
  // presented an identity (AclSubject::authenticated).
  kAuthenticated = 5,
};

struct Ace {
  AceType type = AceType::kAllow;
  uint32_t flags = 0;  // kAce*; kAceIdentifierGroup is implied by `who`, never kept
  uint32_t mask = 0;   // kAce* access bits
  AceWho who = AceWho::kEveryone;
  uint32_t id = 0;  // the uid (kUser) or gid (kGroupId); 0 otherwise
  friend bool operator==(const Ace&, const Ace&) = default;
};

// The largest ACL kept: a SET of more ACEs is refused with Errc::kTooBig.
inline constexpr size_t kMaxAces = 4096;

// ACL flags (RFC 8881 §6.4.3.3, the nfsacl41 flags; Windows' SE_DACL_AUTO_INHERITED,
// SE_DACL_PROTECTED, SE_DACL_DEFAULTED), for the allow/deny ACEs (the DACL) in the low byte and
// for the audit/alarm ACEs (the SACL) in the next.
inline constexpr uint32_t kAclAutoInherit = 0x1;
inline constexpr uint32_t kAclProtected = 0x2;
inline constexpr uint32_t kAclDefaulted = 0x4;
inline constexpr uint32_t kAclDaclFlags = 0x7;
inline constexpr uint32_t kAclSaclShift = 8;
inline constexpr uint32_t kAclSaclFlags = kAclDaclFlags << kAclSaclShift;

struct Acl {
  std::vector<Ace> aces;
  uint32_t flags = 0;  // kAclDaclFlags | kAclSaclFlags; kept only with ACEs
  bool empty() const { return aces.empty(); }
  friend bool operator==(const Acl&, const Acl&) = default;
};

// Who asks: a uid, a primary gid and supplementary gids. `groups` must outlive the subject.
struct AclSubject {
  uint32_t uid = 0;
  uint32_t gid = 0;
  std::span<const uint32_t> groups;
  bool authenticated = true;  // presented an identity (not anonymous, not a guest)
  bool InGroup(uint32_t g) const;
};

// The owner and group of the file an ACL is evaluated on.
struct AclOwner {
  uint32_t uid = 0;
  uint32_t gid = 0;
};

// Checks what may be stored: known types, flags (of the ACEs and the ACL) and mask bits, ids only
// with kUser/kGroupId, at most kMaxAces. Errc::kInvalid, or Errc::kTooBig for too many ACEs.
Status ValidateAcl(const Acl& acl);

// The stored form (the inode's acl bytes): versioned, little-endian, at most
// 9 + 14 * kMaxAces bytes. An empty ACL is stored as no bytes at all.
std::string EncodeAcl(const Acl& acl);
// Errc::kInvalid for bytes EncodeAcl did not make (never trusted: a store may be damaged).
Result<Acl> DecodeAcl(std::string_view stored);

// RFC 8881 §6.2.1: the bits of `wanted` the ACL allows `subject` on a file owned by `owner`.
// ACEs apply in order to the subject they match (INHERIT_ONLY ones to no one): a bit is
// allowed by the first ALLOW ACE that has it, unless a DENY ACE that has it came first; a bit
// no ACE decides is not allowed. The owner may always read and change the ACL (chmod; Windows'
// implicit READ_CONTROL and WRITE_DAC of an owner), and anyone may read attributes and
// synchronize: those bits are allowed whatever the ACEs say. (An owner's utimes and chown are
// the Vfs's rules, not ACL bits: an open for WRITE_ATTRIBUTES needs an ACE that allows it.)
uint32_t AclAllowed(const Acl& acl, const AclSubject& subject, const AclOwner& owner,
                    uint32_t wanted);

// AclAllowed over an ACL in its stored form (EncodeAcl's bytes), read in place: what access
// checks use, without decoding. Bytes EncodeAcl did not make allow only the implied bits.
uint32_t StoredAclAllowed(std::string_view stored, const AclSubject& subject, const AclOwner& owner,
                          uint32_t wanted);

// RFC 8881 §6.3.2: the permission bits (0777) the ACL reflects. The "other" bits are what
// EVERYONE@ ACEs allow, the group bits what GROUP@ and EVERYONE@ ACEs allow, the owner bits
// what OWNER@ and EVERYONE@ ACEs allow; ACEs for named users and groups do not count.
uint32_t ModeOfAcl(const Acl& acl, bool directory);

// RFC 8881 §6.4.1.1: the ACL after a chmod to `mode` (permission bits; others ignored).
// Inherit-only ACEs stay; an ACE that both applies and is inherited is split into an
// inherit-only copy and an applying one; the applying OWNER@, GROUP@ and EVERYONE@ ACEs lose
// their r/w/x bits, named users' and groups' ALLOW ACEs keep at most the group bits (as a
// POSIX ACL's mask), and ACEs that express `mode` exactly are appended. ModeOfAcl of the
// result is `mode & 0777`. An empty `acl` gives the ACL that only expresses the mode.
Acl AclWithMode(const Acl& acl, uint32_t mode, bool directory);

// RFC 8881 §6.4.3: the ACL a new file or directory inherits from its parent directory's ACL;
// empty when the parent has no inheritable ACE (the new object then goes by its mode). Every
// inherited ACE is marked kAceInherited.
Acl InheritedAcl(const Acl& parent, bool directory);

// Whether the ACL says no more than mode bits can: only OWNER@, GROUP@ and EVERYONE@ ACEs
// with r/w/x bits, no inheritance, equal to AclWithMode({}, ModeOfAcl(acl)). Such an ACL
// need not be stored: the mode says it all. An ACL with flags is never one.
bool AclIsMode(const Acl& acl, bool directory);

}  // namespace dittofs::core

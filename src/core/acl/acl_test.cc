// SPDX-License-Identifier: Apache-2.0

#include "core/acl/acl.h"

#include <gtest/gtest.h>

#include <vector>

namespace dittofs::core {
namespace {

constexpr uint32_t kOwnerUid = 1000, kOwnerGid = 100;
constexpr AclOwner kFile{kOwnerUid, kOwnerGid};

Ace Allow(AceWho who, uint32_t mask, uint32_t id = 0, uint32_t flags = 0) {
  return Ace{AceType::kAllow, flags, mask, who, id};
}
Ace Deny(AceWho who, uint32_t mask, uint32_t id = 0, uint32_t flags = 0) {
  return Ace{AceType::kDeny, flags, mask, who, id};
}

struct Who {
  uint32_t uid;
  uint32_t gid;
  std::vector<uint32_t> groups;
  AclSubject subject() const { return AclSubject{uid, gid, groups}; }
};
const Who kOwnerUser{kOwnerUid, 500, {}};
const Who kOwnerInGroup{kOwnerUid, kOwnerGid, {}};
const Who kGroupMember{2000, 600, {kOwnerGid}};  // in the group by a supplementary gid
const Who kOther{3000, 700, {}};

uint32_t Allowed(const Acl& acl, const Who& who, uint32_t wanted) {
  return AclAllowed(acl, who.subject(), kFile, wanted);
}

TEST(AclTest, TheFirstAceToDecideABitWins) {
  // DENY before ALLOW: the user named is refused WRITE_DATA, everyone else has it.
  Acl acl{{Deny(AceWho::kUser, kAceWriteData, 3000),
           Allow(AceWho::kEveryone, kAceReadData | kAceWriteData)}};
  EXPECT_EQ(Allowed(acl, kOther, kAceReadData | kAceWriteData), kAceReadData);
  EXPECT_EQ(Allowed(acl, kGroupMember, kAceReadData | kAceWriteData), kAceReadData | kAceWriteData);
  // ALLOW before DENY: the bit is allowed once, and a later DENY no longer counts.
  Acl allow_first{
      {Allow(AceWho::kEveryone, kAceWriteData), Deny(AceWho::kUser, kAceWriteData, 3000)}};
  EXPECT_EQ(Allowed(allow_first, kOther, kAceWriteData), kAceWriteData);
  // A bit no ACE decides is not allowed.
  Acl read_only{{Allow(AceWho::kEveryone, kAceReadData)}};
  EXPECT_EQ(Allowed(read_only, kOther, kAceReadData | kAceExecute), kAceReadData);
  // An empty ACL (one that exists, with no ACE) allows nothing beyond the implied bits.
  EXPECT_EQ(Allowed(Acl{}, kOther, kAceReadData), 0u);
}

TEST(AclTest, InheritOnlyAuditAndAlarmAcesDecideNothing) {
  Acl acl{{Allow(AceWho::kEveryone, kAceReadData, 0, kAceFileInherit | kAceInheritOnly),
           Ace{AceType::kAudit, kAceSuccessfulAccess, kAceAllAccess, AceWho::kEveryone, 0},
           Ace{AceType::kAlarm, kAceFailedAccess, kAceAllAccess, AceWho::kEveryone, 0},
           Deny(AceWho::kEveryone, kAceExecute, 0, kAceDirectoryInherit | kAceInheritOnly)}};
  EXPECT_EQ(Allowed(acl, kOther, kAceReadData | kAceExecute), 0u);
}

TEST(AclTest, RolesFollowTheFilesOwnerAndGroup) {
  Acl acl{{Allow(AceWho::kOwner, kAceWriteData), Allow(AceWho::kGroup, kAceReadData),
           Allow(AceWho::kGroupId, kAceExecute, 700)}};
  EXPECT_EQ(
      Allowed(acl, kOwnerUser,
              kAceAllAccess & ~(kAceReadAttributes | kAceSynchronize | kAceReadAcl | kAceWriteAcl)),
      kAceWriteData);
  EXPECT_EQ(Allowed(acl, kGroupMember, kAceReadData | kAceWriteData), kAceReadData);
  EXPECT_EQ(Allowed(acl, kOther, kAceReadData | kAceExecute), kAceExecute);  // primary gid 700
  // Another owner: OWNER@ now means someone else.
  EXPECT_EQ(AclAllowed(acl, kOwnerUser.subject(), AclOwner{1, kOwnerGid}, kAceWriteData), 0u);
}

TEST(AclTest, TheOwnerMayAlwaysReadAndChangeTheAcl) {
  Acl acl{{Deny(AceWho::kEveryone, kAceAllAccess)}};
  const uint32_t owners = kAceReadAcl | kAceWriteAcl;
  EXPECT_EQ(Allowed(acl, kOwnerUser, owners | kAceReadData | kAceWriteAttributes), owners);
  EXPECT_EQ(Allowed(acl, kOther, owners), 0u);
  // Anyone may read attributes and synchronize (stat needs no permission of the file).
  EXPECT_EQ(Allowed(acl, kOther, kAceReadAttributes | kAceSynchronize),
            kAceReadAttributes | kAceSynchronize);
}

// The POSIX answer: the owner's bits, else the group's, else the others'.
bool PosixAllows(uint32_t mode, const Who& who, uint32_t rwx) {
  uint32_t bits;
  if (who.uid == kOwnerUid) {
    bits = (mode >> 6) & 7;
  } else if (who.subject().InGroup(kOwnerGid)) {
    bits = (mode >> 3) & 7;
  } else {
    bits = mode & 7;
  }
  return (bits & rwx) == rwx;
}

TEST(AclTest, TheAclOfAModeDecidesAsTheModeDoes) {
  const Who* whos[] = {&kOwnerUser, &kOwnerInGroup, &kGroupMember, &kOther};
  const struct {
    uint32_t rwx;
    uint32_t mask;
  } wants[] = {{4, kAceReadData}, {2, kAceWriteData | kAceAppendData}, {1, kAceExecute}};
  for (bool directory : {false, true}) {
    for (uint32_t mode = 0; mode < 0777 + 1; ++mode) {
      const Acl acl = AclWithMode(Acl{}, mode, directory);
      ASSERT_EQ(ModeOfAcl(acl, directory), mode) << std::oct << mode;
      ASSERT_TRUE(AclIsMode(acl, directory)) << std::oct << mode;
      for (const Who* who : whos) {
        for (const auto& w : wants) {
          const bool acl_allows = Allowed(acl, *who, w.mask) == w.mask;
          ASSERT_EQ(acl_allows, PosixAllows(mode, *who, w.rwx))
              << "mode " << std::oct << mode << " uid " << std::dec << who->uid << " rwx " << w.rwx;
        }
      }
    }
  }
}

TEST(AclTest, TheModeOfAnAclCountsOnlyItsRoles) {
  // RFC 8881 §6.3.2: named entries do not show in the mode; EVERYONE@ counts for every class.
  Acl acl{{Allow(AceWho::kUser, kAceModeRead | kAceModeWrite | kAceModeExecute, 3000),
           Allow(AceWho::kOwner, kAceModeRead | kAceModeWrite), Deny(AceWho::kGroup, kAceModeWrite),
           Allow(AceWho::kEveryone, kAceModeRead | kAceModeWrite),
           Allow(AceWho::kEveryone, kAceModeExecute, 0, kAceFileInherit | kAceInheritOnly)}};
  EXPECT_EQ(ModeOfAcl(acl, false), 0646u);
  EXPECT_FALSE(AclIsMode(acl, false));
  // Half of "write" (WRITE_DATA without APPEND_DATA) is not the w bit.
  EXPECT_EQ(ModeOfAcl(Acl{{Allow(AceWho::kEveryone, kAceWriteData)}}, false), 0u);
}

TEST(AclTest, AChmodRewritesTheRolesAndBoundsNamedEntries) {
  Acl acl{{Allow(AceWho::kUser, kAceModeRead | kAceModeWrite | kAceWriteAcl, 3000),
           Deny(AceWho::kGroupId, kAceModeExecute, 700),
           Allow(AceWho::kEveryone, kAceModeRead | kAceDelete),
           Allow(AceWho::kGroup, kAceModeRead, 0, kAceFileInherit)}};
  const Acl out = AclWithMode(acl, 0740, false);
  EXPECT_EQ(ModeOfAcl(out, false), 0740u);
  // The named user keeps what the group bits (r) allow and its non-rwx bits.
  EXPECT_EQ(out.aces[0], Allow(AceWho::kUser, kAceModeRead | kAceWriteAcl, 3000));
  // A DENY of a named group stays as it was.
  EXPECT_EQ(out.aces[1], Deny(AceWho::kGroupId, kAceModeExecute, 700));
  // EVERYONE@ keeps DELETE only: the mode's ACEs say the rest.
  EXPECT_EQ(out.aces[2], Allow(AceWho::kEveryone, kAceDelete));
  // An inheritable ACE that applies here is split: the inherited copy is unchanged.
  EXPECT_EQ(out.aces[3], Allow(AceWho::kGroup, kAceModeRead, 0, kAceFileInherit | kAceInheritOnly));
  // The named user (kOther's uid) now reads but cannot write; others get nothing of the data.
  EXPECT_EQ(Allowed(out, kOther, kAceReadData | kAceWriteData), kAceReadData);
  Who stranger{4000, 900, {}};
  EXPECT_EQ(Allowed(out, stranger, kAceReadData), 0u);
  EXPECT_EQ(Allowed(out, stranger, kAceDelete), kAceDelete);
  // Chmod again: nothing piles up.
  const Acl again = AclWithMode(out, 0740, false);
  EXPECT_EQ(again, out);
}

TEST(AclTest, InheritanceForFilesAndDirectories) {
  const Ace file_only = Allow(AceWho::kUser, kAceReadData, 3000, kAceFileInherit);
  const Ace dir_only = Allow(AceWho::kUser, kAceWriteData, 3001, kAceDirectoryInherit);
  const Ace both = Deny(AceWho::kGroupId, kAceDelete, 700,
                        kAceFileInherit | kAceDirectoryInherit | kAceInheritOnly);
  const Ace once = Allow(AceWho::kEveryone, kAceExecute, 0,
                         kAceFileInherit | kAceDirectoryInherit | kAceNoPropagateInherit);
  const Ace plain = Allow(AceWho::kOwner, kAceAllAccess);
  const Acl parent{{file_only, dir_only, both, once, plain}};

  // A file: the ACEs for files, flags cleared, marked inherited.
  const Acl file = InheritedAcl(parent, false);
  ASSERT_EQ(file.aces.size(), 3u);
  EXPECT_EQ(file.aces[0], Allow(AceWho::kUser, kAceReadData, 3000, kAceInherited));
  EXPECT_EQ(file.aces[1], Deny(AceWho::kGroupId, kAceDelete, 700, kAceInherited));
  EXPECT_EQ(file.aces[2], Allow(AceWho::kEveryone, kAceExecute, 0, kAceInherited));

  // A directory: file-only ACEs passed on (inherit-only), directory ACEs applying and passed
  // on, NO_PROPAGATE ones applying here only.
  const Acl dir = InheritedAcl(parent, true);
  ASSERT_EQ(dir.aces.size(), 4u);
  EXPECT_EQ(dir.aces[0], Allow(AceWho::kUser, kAceReadData, 3000,
                               kAceFileInherit | kAceInheritOnly | kAceInherited));
  EXPECT_EQ(dir.aces[1],
            Allow(AceWho::kUser, kAceWriteData, 3001, kAceDirectoryInherit | kAceInherited));
  EXPECT_EQ(dir.aces[2], Deny(AceWho::kGroupId, kAceDelete, 700,
                              kAceFileInherit | kAceDirectoryInherit | kAceInherited));
  EXPECT_EQ(dir.aces[3], Allow(AceWho::kEveryone, kAceExecute, 0, kAceInherited));

  // And one level further down, a file in that directory gets what was passed on.
  const Acl grandchild = InheritedAcl(dir, false);
  ASSERT_EQ(grandchild.aces.size(), 2u);
  EXPECT_EQ(grandchild.aces[0], Allow(AceWho::kUser, kAceReadData, 3000, kAceInherited));
  EXPECT_EQ(grandchild.aces[1], Deny(AceWho::kGroupId, kAceDelete, 700, kAceInherited));

  // Nothing inheritable: no ACL (the new object goes by its mode).
  EXPECT_TRUE(InheritedAcl(Acl{{plain}}, false).empty());
  EXPECT_TRUE(InheritedAcl(Acl{{plain}}, true).empty());
}

TEST(AclTest, StoredFormRoundTripsAndRefusesWhatItDidNotWrite) {
  Acl acl{{Allow(AceWho::kUser, kAceReadData | kAceWriteAcl, 4000000000u, kAceFileInherit),
           Deny(AceWho::kGroupId, kAceDelete, 7, kAceInherited),
           Ace{AceType::kAudit, kAceFailedAccess, kAceWriteData, AceWho::kEveryone, 0}}};
  const std::string stored = EncodeAcl(acl);
  EXPECT_EQ(stored.size(), 5u + 3 * 14);
  Result<Acl> back = DecodeAcl(stored);
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(*back, acl);
  // No ACL is no bytes.
  EXPECT_TRUE(EncodeAcl(Acl{}).empty());
  ASSERT_TRUE(DecodeAcl("").ok());
  EXPECT_TRUE(DecodeAcl("")->empty());

  auto refused = [](std::string bytes) { return !DecodeAcl(bytes).ok(); };
  EXPECT_TRUE(refused(std::string("\x02", 1) + stored.substr(1)));  // another version
  EXPECT_TRUE(refused(stored.substr(0, stored.size() - 1)));        // cut short
  EXPECT_TRUE(refused(stored + "x"));                               // trailing bytes
  std::string lying = stored;
  lying[1] = '\xff';  // a count that does not fit the bytes
  EXPECT_TRUE(refused(lying));
  std::string huge = stored.substr(0, 1) + std::string("\x10\x27\x00\x00", 4);  // 10,000 ACEs
  huge.resize(5 + 10000 * 14, '\0');
  EXPECT_TRUE(refused(huge));  // more than kMaxAces, even with every byte there
  std::string bad_type = stored;
  bad_type[5] = 9;
  EXPECT_TRUE(refused(bad_type));
  std::string bad_who = stored;
  bad_who[6] = 9;
  EXPECT_TRUE(refused(bad_who));
  std::string bad_mask = stored;
  bad_mask[5 + 9] = '\x40';  // 0x40000000: not an access bit
  EXPECT_TRUE(refused(bad_mask));
}

TEST(AclTest, TheStoredFormDecidesAsTheDecodedAcl) {
  Acl acl{{Deny(AceWho::kUser, kAceWriteData, 3000), Allow(AceWho::kGroup, kAceReadData),
           Allow(AceWho::kEveryone, kAceExecute, 0, kAceFileInherit | kAceInheritOnly),
           Allow(AceWho::kGroupId, kAceWriteData | kAceExecute, 700),
           Allow(AceWho::kOwner, kAceAllAccess)}};
  const std::string stored = EncodeAcl(acl);
  for (const Who* who : {&kOwnerUser, &kOwnerInGroup, &kGroupMember, &kOther}) {
    for (uint32_t wanted : {kAceReadData, kAceWriteData, kAceExecute, kAceAllAccess,
                            kAceReadData | kAceWriteData | kAceExecute}) {
      EXPECT_EQ(StoredAclAllowed(stored, who->subject(), kFile, wanted),
                AclAllowed(acl, who->subject(), kFile, wanted));
    }
  }
  // Damaged bytes allow only the implied bits.
  EXPECT_EQ(StoredAclAllowed(stored.substr(0, 7), kOwnerUser.subject(), kFile, kAceAllAccess),
            kAceReadAttributes | kAceSynchronize | kAceReadAcl | kAceWriteAcl);
  EXPECT_EQ(StoredAclAllowed("junk", kOther.subject(), kFile, kAceReadData), 0u);
}

TEST(AclTest, ValidationRefusesWhatCannotBeKept) {
  Acl too_many;
  too_many.aces.resize(kMaxAces + 1, Allow(AceWho::kEveryone, kAceReadData));
  EXPECT_EQ(ValidateAcl(too_many).code(), Errc::kTooBig);
  too_many.aces.pop_back();
  EXPECT_TRUE(ValidateAcl(too_many).ok());
  EXPECT_EQ(ValidateAcl(Acl{{Allow(AceWho::kOwner, kAceReadData, 5)}}).code(), Errc::kInvalid);
  EXPECT_EQ(ValidateAcl(Acl{{Allow(AceWho::kEveryone, kAceReadData, 0, 0x100)}}).code(),
            Errc::kInvalid);
  EXPECT_EQ(
      ValidateAcl(Acl{{Allow(AceWho::kEveryone, kAceReadData, 0, kAceIdentifierGroup)}}).code(),
      Errc::kInvalid);
  EXPECT_EQ(ValidateAcl(Acl{{Allow(AceWho::kEveryone, 0x10000000)}}).code(), Errc::kInvalid);
}

}  // namespace
}  // namespace dittofs::core

// SPDX-License-Identifier: Apache-2.0

#include <gtest/gtest.h>

#include "smb/security/descriptor.h"
#include "smb/security/sid.h"
#include "smb/wire/le.h"

namespace dittofs::smb::security {
namespace {

using core::Ace;
using core::AceType;
using core::AceWho;
using core::Acl;

const Sid kDomain{5, {21, 111, 222, 333}};

TEST(Sid, FormatsAndParses) {
  EXPECT_EQ(FormatSid(EveryoneSid()), "S-1-1-0");
  EXPECT_EQ(FormatSid(AdministratorsSid()), "S-1-5-32-544");
  EXPECT_EQ(FormatSid(kDomain), "S-1-5-21-111-222-333");
  EXPECT_EQ(FormatSid(Sid{0x123456789ABCull, {1}}), "S-1-0x123456789ABC-1");
  for (const char* text :
       {"S-1-1-0", "S-1-5-21-111-222-333-1002", "S-1-22-2-4294967295", "S-1-0x123456789ABC-1"}) {
    std::optional<Sid> sid = ParseSid(text);
    ASSERT_TRUE(sid) << text;
    EXPECT_EQ(FormatSid(*sid), text);
  }
  for (const char* bad :
       {"", "S-1", "S-2-1-0", "X-1-1-0", "S-1-1-", "S-1-1-4294967296", "S-1-281474976710656",
        "S-1-1-0-1-2-3-4-5-6-7-8-9-10-11-12-13-14-15", "S-1-1-0x"}) {
    EXPECT_FALSE(ParseSid(bad)) << bad;
  }
}

TEST(Sid, WireRoundTripAndBounds) {
  const Sid sid{5, {21, 1, 2, 3, 1002}};
  std::vector<std::byte> out;
  AppendSid(sid, out);
  ASSERT_EQ(out.size(), SidSize(sid));
  EXPECT_EQ(static_cast<uint8_t>(out[7]), 5);  // the authority is big-endian
  size_t size = 0;
  std::optional<Sid> back = ReadSid(out, 0, &size);
  ASSERT_TRUE(back);
  EXPECT_EQ(*back, sid);
  EXPECT_EQ(size, out.size());
  for (size_t n = 0; n < out.size(); ++n) {
    EXPECT_FALSE(ReadSid(std::span(out).first(n), 0)) << n;
  }
  EXPECT_FALSE(ReadSid(out, out.size() + 1));
  out[1] = std::byte{16};  // more sub-authorities than a SID has
  EXPECT_FALSE(ReadSid(out, 0));
}

TEST(SidMap, NamesEveryIdAndReadsItBack) {
  SidMap map(kDomain);
  EXPECT_EQ(FormatSid(map.UserSid(1000)), "S-1-5-21-111-222-333-3000");
  EXPECT_EQ(FormatSid(map.GroupSid(100)), "S-1-5-21-111-222-333-1201");
  EXPECT_EQ(map.UserSid(0), LocalSystemSid());
  EXPECT_EQ(map.GroupSid(0), AdministratorsSid());
  for (uint32_t id : {0u, 1u, 1000u, 65534u, 0x7FFFFBFEu, 0x7FFFFBFFu, 0xFFFFFFFFu}) {
    EXPECT_EQ(map.UnixOf(map.UserSid(id)), (UnixId{false, id})) << id;
    EXPECT_EQ(map.UnixOf(map.GroupSid(id)), (UnixId{true, id})) << id;
    EXPECT_EQ(map.UnixOf(SidMap::UnixUserSid(id)), (UnixId{false, id}));
    EXPECT_EQ(map.UnixOf(SidMap::UnixGroupSid(id)), (UnixId{true, id}));
  }
  EXPECT_FALSE(map.UnixOf(EveryoneSid()));
  EXPECT_FALSE(map.UnixOf(Sid{5, {21, 111, 222, 334, 3000}}));  // another domain
  EXPECT_FALSE(map.UnixOf(Sid{5, {21, 111, 222, 333, 513}}));   // Domain Users
  EXPECT_FALSE(map.UnixOf(Sid{22, {3, 0644}}));                 // a mode, not an id
  // The Linux cifs client's idsfromsid SIDs (a chown over a POSIX mount).
  EXPECT_EQ(map.UnixOf(Sid{5, {88, 1, 1234}}), (UnixId{false, 1234}));
  EXPECT_EQ(map.UnixOf(Sid{5, {88, 2, 567}}), (UnixId{true, 567}));
  EXPECT_FALSE(map.UnixOf(Sid{5, {88, 3, 0644}}));  // its mode names no one
  const Sid fresh = SidMap::NewMachineSid();
  EXPECT_TRUE(SidMap::IsMachineSid(fresh));
  EXPECT_NE(fresh, SidMap::NewMachineSid());
  EXPECT_FALSE(SidMap::IsMachineSid(EveryoneSid()));
}

// A descriptor built by hand: owner, group and one DACL of (type, flags, mask, SID) ACEs.
struct WireAceSpec {
  uint8_t type;
  uint8_t flags;
  uint32_t mask;
  Sid sid;
};
std::vector<std::byte> Descriptor(std::optional<Sid> owner, std::optional<Sid> group,
                                  std::optional<std::vector<WireAceSpec>> dacl,
                                  uint16_t extra_control = 0) {
  std::vector<std::byte> out(20, std::byte{0});
  out[0] = std::byte{1};
  uint16_t control = 0x8000 | extra_control;
  if (owner) {
    wire::StoreLe32(out.data() + 4, static_cast<uint32_t>(out.size()));
    AppendSid(*owner, out);
  }
  if (group) {
    wire::StoreLe32(out.data() + 8, static_cast<uint32_t>(out.size()));
    AppendSid(*group, out);
  }
  if (dacl) {
    control |= 0x4;
    wire::StoreLe32(out.data() + 16, static_cast<uint32_t>(out.size()));
    const size_t at = out.size();
    wire::LeWriter w(out);
    w.U8(2);
    w.U8(0);
    w.U16(0);
    w.U16(static_cast<uint16_t>(dacl->size()));
    w.U16(0);
    for (const WireAceSpec& a : *dacl) {
      w.U8(a.type);
      w.U8(a.flags);
      w.U16(static_cast<uint16_t>(8 + SidSize(a.sid)));
      w.U32(a.mask);
      AppendSid(a.sid, out);
    }
    wire::StoreLe16(out.data() + at + 2, static_cast<uint16_t>(out.size() - at));
  }
  wire::StoreLe16(out.data() + 2, control);
  return out;
}

constexpr uint32_t kAll = kOwnerSecurityInformation | kGroupSecurityInformation |
                          kDaclSecurityInformation | kSaclSecurityInformation;

FileSecurity File(uint32_t mode, Acl acl = {}, bool directory = false) {
  FileSecurity f;
  f.uid = 1000;
  f.gid = 100;
  f.mode = mode;
  f.directory = directory;
  f.acl = std::move(acl);
  return f;
}

// Decodes what Encode made for `file` and returns the ACL it sets.
Acl RoundTrip(const FileSecurity& file, const SidMap& map) {
  std::vector<std::byte> sd = EncodeSecurityDescriptor(file, kAll, {&map, false});
  DecodedChange d = DecodeSecurityDescriptor(sd, kAll, file, map);
  EXPECT_TRUE(d.change);
  if (!d.change) return {};
  EXPECT_EQ(d.change->uid, file.uid);
  EXPECT_EQ(d.change->gid, file.gid);
  EXPECT_TRUE(d.change->acl);
  return d.change->acl.value_or(Acl{});
}

uint32_t Allowed(const Acl& acl, uint32_t uid, uint32_t gid, uint32_t want = core::kAceAllAccess) {
  return core::AclAllowed(acl, core::AclSubject{uid, gid, {}}, core::AclOwner{1000, 100}, want);
}

TEST(Descriptor, AModeShowsAsTheAclItStandsForAndComesBackAsTheMode) {
  SidMap map(kDomain);
  const FileSecurity file = File(0750);
  std::vector<std::byte> sd = EncodeSecurityDescriptor(file, kAll, {&map, false});
  // Owner and group by their domain SIDs; no SACL; a DACL.
  EXPECT_EQ(ReadSid(sd, wire::LoadLe32(sd.data() + 4)), map.UserSid(1000));
  EXPECT_EQ(ReadSid(sd, wire::LoadLe32(sd.data() + 8)), map.GroupSid(100));
  EXPECT_EQ(wire::LoadLe32(sd.data() + 12), 0u);
  EXPECT_NE(wire::LoadLe16(sd.data() + 2) & 0x4, 0);
  const Acl back = RoundTrip(file, map);
  EXPECT_TRUE(core::AclIsMode(back, false));
  EXPECT_EQ(core::ModeOfAcl(back, false), 0750u);
  // POSIX trees name the owner and group by Unix SIDs.
  std::vector<std::byte> posix =
      EncodeSecurityDescriptor(file, kOwnerSecurityInformation, {&map, true});
  EXPECT_EQ(ReadSid(posix, 20), SidMap::UnixUserSid(1000));
}

TEST(Descriptor, AclsWithInheritanceNamedEntriesAndFlagsRoundTrip) {
  SidMap map(kDomain);
  Acl acl{{Ace{AceType::kDeny, 0, core::kAceWriteData, AceWho::kUser, 2000},
           Ace{AceType::kAllow, core::kAceFileInherit | core::kAceDirectoryInherit,
               core::kAceAllAccess & ~0x600u, AceWho::kOwner, 0},
           Ace{AceType::kAllow, core::kAceDirectoryInherit | core::kAceInheritOnly,
               core::kAceReadData | core::kAceExecute, AceWho::kGroupId, 300},
           Ace{AceType::kAllow, core::kAceInherited, core::kAceReadData, AceWho::kAuthenticated, 0},
           Ace{AceType::kAllow, 0, core::kAceReadData, AceWho::kEveryone, 0},
           Ace{AceType::kAudit, core::kAceFailedAccess, core::kAceWriteData, AceWho::kEveryone, 0}},
          core::kAclProtected | core::kAclAutoInherit | (core::kAclAutoInherit << 8)};
  const FileSecurity file = File(0700, acl, true);
  const Acl back = RoundTrip(file, map);
  EXPECT_EQ(back.flags, acl.flags);
  // The same decisions for everyone, and the same ACL inherited by files and directories.
  for (uint32_t uid : {1000u, 2000u, 3000u}) {
    for (uint32_t gid : {100u, 300u, 400u}) {
      EXPECT_EQ(Allowed(back, uid, gid), Allowed(acl, uid, gid)) << uid << " " << gid;
    }
  }
  for (bool dir : {false, true}) {
    const Acl a = core::InheritedAcl(acl, dir), b = core::InheritedAcl(back, dir);
    for (uint32_t uid : {1000u, 2000u}) {
      EXPECT_EQ(Allowed(b, uid, 300), Allowed(a, uid, 300)) << dir;
    }
  }
  EXPECT_EQ(core::ModeOfAcl(back, true), core::ModeOfAcl(acl, true));
  // The SACL holds the audit ACE; a DACL-only SET keeps it.
  std::vector<std::byte> dacl_only = Descriptor(
      std::nullopt, std::nullopt, std::vector<WireAceSpec>{{0, 0, 0x1F01FF, EveryoneSid()}});
  DecodedChange d = DecodeSecurityDescriptor(dacl_only, kDaclSecurityInformation, file, map);
  ASSERT_TRUE(d.change && d.change->acl);
  EXPECT_FALSE(d.change->uid || d.change->gid);
  ASSERT_EQ(d.change->acl->aces.size(), 2u);
  EXPECT_EQ(d.change->acl->aces[1].type, AceType::kAudit);
}

TEST(Descriptor, WindowsAcesMapToTheModel) {
  SidMap map(kDomain);
  const FileSecurity file = File(0644, {}, true);
  constexpr uint8_t kOiCi = 0x3, kIo = 0x8;
  std::vector<std::byte> sd = Descriptor(
      map.UserSid(1000), map.GroupSid(100),
      std::vector<WireAceSpec>{
          {0, kOiCi, 0x10000000, map.UserSid(1000)},        // GENERIC_ALL, the owner, inherited
          {0, kOiCi | kIo, 0x80000000, CreatorOwnerSid()},  // GENERIC_READ for each new owner
          {0, 0, 0x1200A9, map.GroupSid(100)},
          {0, 0, 0x1F01FF, LocalSystemSid()},
          {0, 0, 0x1F01FF, AdministratorsSid()},
          {0, 0, 0x1301BF, AuthenticatedUsersSid()},
          {0, 0, 0x1200A9, Sid{5, {32, 545}}},  // BUILTIN\Users: no one here, left out
          {0, 0, 0x1200A9, CreatorGroupSid()},  // not inheritable: applies to nothing
      });
  DecodedChange d = DecodeSecurityDescriptor(sd, kAll, file, map);
  ASSERT_TRUE(d.change && d.change->acl);
  const std::vector<Ace> want{
      Ace{AceType::kAllow, 0, 0x1F01FF, AceWho::kOwner, 0},
      Ace{AceType::kAllow, 0x3 | core::kAceInheritOnly, 0x1F01FF, AceWho::kUser, 1000},
      Ace{AceType::kAllow, 0x3 | core::kAceInheritOnly, 0x120089, AceWho::kOwner, 0},
      Ace{AceType::kAllow, 0, 0x1200A9, AceWho::kGroup, 0},
      Ace{AceType::kAllow, 0, 0x1F01FF, AceWho::kUser, 0},
      Ace{AceType::kAllow, 0, 0x1F01FF, AceWho::kGroupId, 0},
      Ace{AceType::kAllow, 0, 0x1301BF, AceWho::kAuthenticated, 0},
  };
  EXPECT_EQ(d.change->acl->aces, want);
  EXPECT_EQ(core::ModeOfAcl(*d.change->acl, true), 0750u);
  EXPECT_TRUE(core::ValidateAcl(*d.change->acl).ok());
}

TEST(Descriptor, NullAndEmptyDacls) {
  SidMap map(kDomain);
  const FileSecurity file = File(0100644);
  DecodedChange null_dacl =
      DecodeSecurityDescriptor(Descriptor(std::nullopt, std::nullopt, std::nullopt, 0x4),
                               kDaclSecurityInformation, file, map);
  ASSERT_TRUE(null_dacl.change && null_dacl.change->acl);
  EXPECT_EQ(core::ModeOfAcl(*null_dacl.change->acl, false), 0777u);
  DecodedChange empty =
      DecodeSecurityDescriptor(Descriptor(std::nullopt, std::nullopt, std::vector<WireAceSpec>{}),
                               kDaclSecurityInformation, file, map);
  ASSERT_TRUE(empty.change && empty.change->acl);
  ASSERT_EQ(empty.change->acl->aces.size(), 1u);
  EXPECT_EQ(core::ModeOfAcl(*empty.change->acl, false), 0u);
  EXPECT_FALSE(core::AclIsMode(*empty.change->acl, false));  // kept as an ACL: no owner override
  EXPECT_EQ(Allowed(*empty.change->acl, 1000, 100, core::kAceReadData), 0u);
  // It shows as an empty DACL.
  FileSecurity after = file;
  after.acl = *empty.change->acl;
  std::vector<std::byte> sd =
      EncodeSecurityDescriptor(after, kDaclSecurityInformation, {&map, false});
  EXPECT_EQ(wire::LoadLe16(sd.data() + wire::LoadLe32(sd.data() + 16) + 4), 0u);
}

TEST(Descriptor, RefusesWhatItCannotKeep) {
  SidMap map(kDomain);
  const FileSecurity file = File(0644);
  const Sid foreign{5, {21, 9, 9, 9, 1105}};
  const auto error = [&](const std::vector<std::byte>& sd, uint32_t sections) {
    DecodedChange d = DecodeSecurityDescriptor(sd, sections, file, map);
    EXPECT_FALSE(d.change);
    return d.error;
  };
  EXPECT_EQ(error(Descriptor(foreign, std::nullopt, std::nullopt), kOwnerSecurityInformation),
            DescriptorError::kInvalidOwner);
  EXPECT_EQ(
      error(Descriptor(map.GroupSid(5), std::nullopt, std::nullopt), kOwnerSecurityInformation),
      DescriptorError::kInvalidOwner);
  EXPECT_EQ(
      error(Descriptor(std::nullopt, map.UserSid(5), std::nullopt), kGroupSecurityInformation),
      DescriptorError::kInvalidGroup);
  EXPECT_EQ(
      error(Descriptor(std::nullopt, std::nullopt, std::vector<WireAceSpec>{{1, 0, 0x2, foreign}}),
            kDaclSecurityInformation),
      DescriptorError::kInvalidSid);
  // An allow ACE for no one here is left out.
  DecodedChange allow = DecodeSecurityDescriptor(
      Descriptor(std::nullopt, std::nullopt,
                 std::vector<WireAceSpec>{{0, 0, 0x2, foreign}, {0, 0, 0x1, EveryoneSid()}}),
      kDaclSecurityInformation, file, map);
  ASSERT_TRUE(allow.change && allow.change->acl);
  EXPECT_EQ(allow.change->acl->aces.size(), 1u);
  // Not self-relative, a wrong revision, an audit ACE in the DACL.
  std::vector<std::byte> sd = Descriptor(map.UserSid(1000), std::nullopt, std::nullopt);
  sd[3] = std::byte{0};
  EXPECT_EQ(error(sd, kOwnerSecurityInformation), DescriptorError::kMalformed);
  sd = Descriptor(map.UserSid(1000), std::nullopt, std::nullopt);
  sd[0] = std::byte{2};
  EXPECT_EQ(error(sd, kOwnerSecurityInformation), DescriptorError::kMalformed);
  EXPECT_EQ(error(Descriptor(std::nullopt, std::nullopt,
                             std::vector<WireAceSpec>{{2, 0, 0x2, EveryoneSid()}}),
                  kDaclSecurityInformation),
            DescriptorError::kMalformed);
}

TEST(Descriptor, EveryTruncationAndCorruptionIsRefusedOrDecodedNeverOverread) {
  SidMap map(kDomain);
  const FileSecurity file = File(0644);
  const std::vector<std::byte> sd = Descriptor(
      map.UserSid(1000), map.GroupSid(100),
      std::vector<WireAceSpec>{{0, 0x3, 0x1F01FF, map.UserSid(1000)}, {1, 0, 2, EveryoneSid()}});
  ASSERT_TRUE(DecodeSecurityDescriptor(sd, kAll, file, map).change);
  for (size_t n = 0; n < sd.size(); ++n) {
    // A copy of exactly n bytes, so that ASan sees any read past it.
    std::vector<std::byte> cut(sd.begin(), sd.begin() + static_cast<ptrdiff_t>(n));
    EXPECT_FALSE(DecodeSecurityDescriptor(cut, kAll, file, map).change) << n;
    EXPECT_FALSE(CarriesPosixMode(cut));
  }
  for (size_t i = 0; i < sd.size(); ++i) {
    for (uint8_t v : {0x00, 0x01, 0x7F, 0xFF}) {
      std::vector<std::byte> bad = sd;
      bad[i] = std::byte{v};
      DecodedChange d = DecodeSecurityDescriptor(bad, kAll, file, map);
      if (d.change && d.change->acl) {
        EXPECT_TRUE(core::ValidateAcl(*d.change->acl).ok());
      }
    }
  }
}

TEST(Descriptor, FindsThePosixModeAce) {
  SidMap map(kDomain);
  EXPECT_TRUE(CarriesPosixMode(Descriptor(
      std::nullopt, std::nullopt, std::vector<WireAceSpec>{{0, 0, 0, Sid{5, {88, 3, 0644}}}})));
  EXPECT_FALSE(CarriesPosixMode(
      Descriptor(std::nullopt, std::nullopt, std::vector<WireAceSpec>{{0, 0, 0, EveryoneSid()}})));
}

}  // namespace
}  // namespace dittofs::smb::security

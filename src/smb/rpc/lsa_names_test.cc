// SPDX-License-Identifier: Apache-2.0
#include "smb/rpc/lsa_names.h"

#include <gtest/gtest.h>

#include "smb/rpc/lsa_test_accounts.h"

namespace dittofs::smb::rpc {
namespace {

using security::ParseSid;
using security::Sid;

Sid S(std::string_view text) { return *ParseSid(text); }

LsaAccounts Accounts() { return TestAccounts(); }

const LsaDomain kAccountDomain{"DITTOFS", S("S-1-5-21-1-2-3")};

TEST(LsaNames, SidsOfTheAccountDomain) {
  const LsaAccounts a = Accounts();
  LsaTranslation t = LookupSid(a, S("S-1-5-21-1-2-3-3000"));  // 1000 + 2 * 1000
  EXPECT_EQ(t.use, SidNameUse::kUser);
  EXPECT_EQ(t.name, "alice");
  EXPECT_EQ(t.domain, kAccountDomain);

  t = LookupSid(a, S("S-1-5-21-1-2-3-1101"));  // 1001 + 2 * 50
  EXPECT_EQ(t.use, SidNameUse::kGroup);
  EXPECT_EQ(t.name, "staff");

  t = LookupSid(a, S("S-1-5-21-1-2-3"));
  EXPECT_EQ(t.use, SidNameUse::kDomain);
  EXPECT_EQ(t.name, "DITTOFS");
  EXPECT_EQ(t.domain, kAccountDomain);

  // A RID of ours with no account, and one below the first RID: the domain is still named.
  for (const char* text : {"S-1-5-21-1-2-3-3002", "S-1-5-21-1-2-3-500"}) {
    t = LookupSid(a, S(text));
    EXPECT_EQ(t.use, SidNameUse::kUnknown) << text;
    EXPECT_EQ(t.name, text);
    EXPECT_EQ(t.domain, kAccountDomain);
  }
}

TEST(LsaNames, WellKnownSids) {
  const LsaAccounts a = Accounts();
  struct Case {
    const char* sid;
    const char* name;
    SidNameUse use;
    const char* domain;
    const char* domain_sid;
  };
  for (const Case& c : {
           Case{"S-1-1-0", "Everyone", SidNameUse::kWellKnownGroup, "", "S-1-1"},
           Case{"S-1-3-0", "CREATOR OWNER", SidNameUse::kWellKnownGroup, "", "S-1-3"},
           Case{"S-1-3-1", "CREATOR GROUP", SidNameUse::kWellKnownGroup, "", "S-1-3"},
           Case{"S-1-5-11", "Authenticated Users", SidNameUse::kWellKnownGroup, "NT AUTHORITY",
                "S-1-5"},
           Case{"S-1-5-18", "SYSTEM", SidNameUse::kWellKnownGroup, "NT AUTHORITY", "S-1-5"},
           Case{"S-1-5-32-544", "Administrators", SidNameUse::kAlias, "BUILTIN", "S-1-5-32"},
           Case{"S-1-5-32", "BUILTIN", SidNameUse::kDomain, "BUILTIN", "S-1-5-32"},
           Case{"S-1-22-1-1000", "alice", SidNameUse::kUser, "Unix User", "S-1-22-1"},
           Case{"S-1-22-2-50", "staff", SidNameUse::kGroup, "Unix Group", "S-1-22-2"},
       }) {
    SCOPED_TRACE(c.sid);
    LsaTranslation t = LookupSid(a, S(c.sid));
    EXPECT_EQ(t.use, c.use);
    EXPECT_EQ(t.name, c.name);
    ASSERT_TRUE(t.domain.has_value());
    EXPECT_EQ(t.domain->name, c.domain);
    EXPECT_EQ(t.domain->sid, S(c.domain_sid));
  }
}

TEST(LsaNames, UnknownSids) {
  const LsaAccounts a = Accounts();
  for (const char* text : {"S-1-5-21-9-9-9-1000", "S-1-16-12288", "S-1-22-1-77", "S-1-9"}) {
    LsaTranslation t = LookupSid(a, S(text));
    EXPECT_EQ(t.use, SidNameUse::kUnknown) << text;
    EXPECT_EQ(t.name, text);
  }
  EXPECT_FALSE(LookupSid(a, S("S-1-5-21-9-9-9-1000")).domain.has_value());
  EXPECT_EQ(LookupSid(a, S("S-1-22-1-77")).domain->name, "Unix User");
}

TEST(LsaNames, NamesAndTheirDomains) {
  const LsaAccounts a = Accounts();
  struct Case {
    const char* name;
    const char* sid;
    SidNameUse use;
    const char* domain;
  };
  for (const Case& c : {
           Case{"alice", "S-1-5-21-1-2-3-3000", SidNameUse::kUser, "DITTOFS"},
           Case{"DITTOFS\\alice", "S-1-5-21-1-2-3-3000", SidNameUse::kUser, "DITTOFS"},
           Case{"dittofs\\alice", "S-1-5-21-1-2-3-3000", SidNameUse::kUser, "DITTOFS"},
           Case{"WorkGroup\\alice", "S-1-5-21-1-2-3-3000", SidNameUse::kUser, "DITTOFS"},
           Case{"staff", "S-1-5-21-1-2-3-1101", SidNameUse::kGroup, "DITTOFS"},
           Case{"everyone", "S-1-1-0", SidNameUse::kWellKnownGroup, ""},
           Case{"\\Everyone", "S-1-1-0", SidNameUse::kWellKnownGroup, ""},
           Case{"Creator Owner", "S-1-3-0", SidNameUse::kWellKnownGroup, ""},
           Case{"NT AUTHORITY\\Authenticated Users", "S-1-5-11", SidNameUse::kWellKnownGroup,
                "NT AUTHORITY"},
           Case{"nt authority\\system", "S-1-5-18", SidNameUse::kWellKnownGroup, "NT AUTHORITY"},
           Case{"BUILTIN\\administrators", "S-1-5-32-544", SidNameUse::kAlias, "BUILTIN"},
           Case{"Unix User\\alice", "S-1-22-1-1000", SidNameUse::kUser, "Unix User"},
           Case{"unix group\\staff", "S-1-22-2-50", SidNameUse::kGroup, "Unix Group"},
           // uid 0 is LocalSystem: its name gives that SID, in that SID's domain.
           Case{"root", "S-1-5-18", SidNameUse::kWellKnownGroup, "NT AUTHORITY"},
           Case{"BUILTIN", "S-1-5-32", SidNameUse::kDomain, "BUILTIN"},
           Case{"dittofs", "S-1-5-21-1-2-3", SidNameUse::kDomain, "DITTOFS"},
           Case{"DITTOFS\\", "S-1-5-21-1-2-3", SidNameUse::kDomain, "DITTOFS"},
       }) {
    SCOPED_TRACE(c.name);
    LsaTranslation t = LookupName(a, c.name);
    EXPECT_EQ(t.use, c.use);
    EXPECT_EQ(t.sid, S(c.sid));
    ASSERT_TRUE(t.domain.has_value());
    EXPECT_EQ(t.domain->name, c.domain);
  }
}

TEST(LsaNames, UnknownNames) {
  const LsaAccounts a = Accounts();
  for (const char* name : {"", "nobody", "OTHER\\alice", "\\alice", "BUILTIN\\alice",
                           "Unix User\\staff", "DITTOFS\\nobody"}) {
    EXPECT_EQ(LookupName(a, name).use, SidNameUse::kUnknown) << name;
  }
  EXPECT_FALSE(LookupName(a, "nobody").domain.has_value());
  EXPECT_FALSE(LookupName(a, "OTHER\\alice").domain.has_value());
  EXPECT_EQ(LookupName(a, "DITTOFS\\nobody").domain, kAccountDomain);
}

TEST(LsaNames, UnsetCallbacksNameNothing) {
  LsaAccounts a{security::SidMap(S("S-1-5-21-1-2-3")), "DITTOFS", "WORKGROUP", {}, {}, {}, {}};
  EXPECT_EQ(LookupSid(a, S("S-1-5-21-1-2-3-3000")).use, SidNameUse::kUnknown);
  EXPECT_EQ(LookupName(a, "alice").use, SidNameUse::kUnknown);
  EXPECT_EQ(LookupName(a, "Everyone").use, SidNameUse::kWellKnownGroup);
}

}  // namespace
}  // namespace dittofs::smb::rpc

// SPDX-License-Identifier: Apache-2.0
#pragma once

// What the server's lsarpc pipe says a SID is called, and which SID a name is: the
// translations behind MS-LSAT's LsarLookupSids* and LsarLookupNames*, apart from NDR.
//
// The server is a standalone server, as Windows and Samba are outside a domain: its account
// domain is named by its NetBIOS name and identified by its machine SID, and holds a user for
// every uid and a group for every gid (smb/security's SidMap). Beside it are the domains
// Windows names its well-known SIDs in (MS-DTYP 2.4.2.4): "NT AUTHORITY" (S-1-5: SYSTEM,
// Authenticated Users), "BUILTIN" (S-1-5-32: Administrators), the unnamed domains of Everyone
// (S-1-1) and CREATOR OWNER/GROUP (S-1-3), and "Unix User"/"Unix Group" (S-1-22-1/-2) for the
// SIDs of the Unix ids themselves.
//
// Pure functions over an LsaAccounts: thread-safe when its callbacks are.

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "smb/security/sid.h"

namespace dittofs::smb::rpc {

// SID_NAME_USE (MS-LSAT 2.2.13).
enum class SidNameUse : uint16_t {
  kUser = 1,
  kGroup = 2,
  kDomain = 3,
  kAlias = 4,
  kWellKnownGroup = 5,
  kUnknown = 8,
};

// Where the names of the server's accounts come from.
struct LsaAccounts {
  security::SidMap sids;     // the account domain: the machine SID and its RIDs
  std::string netbios_name;  // the server's NetBIOS name, also its account domain's name
  std::string domain_name;   // the workgroup (or domain) the server is in: its primary domain
  // The name of a uid / gid, nullopt for an id without one.
  std::function<std::optional<std::string>(uint32_t uid)> user_name_of;
  std::function<std::optional<std::string>(uint32_t gid)> group_name_of;
  // The uid / gid named `name`, nullopt when there is none. How names match (case) is the
  // callback's.
  std::function<std::optional<uint32_t>(std::string_view name)> uid_of;
  std::function<std::optional<uint32_t>(std::string_view name)> gid_of;
};

// A domain of a referenced-domain list (LSAPR_TRUST_INFORMATION).
struct LsaDomain {
  std::string name;
  security::Sid sid;
  friend bool operator==(const LsaDomain&, const LsaDomain&) = default;
};

// One translation, either way.
struct LsaTranslation {
  SidNameUse use = SidNameUse::kUnknown;  // kUnknown: not translated
  std::string name;                       // the isolated name: "alice", not "HOST\alice"
  security::Sid sid;
  // The domain the account is in, when that is known (also for an account that is not: an
  // unknown RID of a known domain). Absent: DomainIndex -1.
  std::optional<LsaDomain> domain;
};

// The name of `sid`. Not found: kUnknown, the SID's string form as the name, and the domain
// when it is one of ours.
LsaTranslation LookupSid(const LsaAccounts& accounts, const security::Sid& sid);

// The SID of `name`: "name", or "DOMAIN\name" with DOMAIN one of the domains above (or the
// primary domain's name, taken as the account domain). Domain and well-known names match
// ASCII case-insensitively; a domain's own name gives the domain. Not found: kUnknown, and
// the domain when one of ours was named.
LsaTranslation LookupName(const LsaAccounts& accounts, std::string_view name);

}  // namespace dittofs::smb::rpc

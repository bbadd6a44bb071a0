// SPDX-License-Identifier: Apache-2.0
#include "smb/rpc/lsa_names.h"

#include <vector>

namespace dittofs::smb::rpc {
namespace {

using security::Sid;

constexpr uint64_t kWorldAuthority = 1, kCreatorAuthority = 3, kNtAuthority = 5,
                   kUnixAuthority = 22;

bool EqualsFolded(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    const auto fold = [](char c) { return (c >= 'A' && c <= 'Z') ? char(c - 'A' + 'a') : c; };
    if (fold(a[i]) != fold(b[i])) return false;
  }
  return true;
}

// The callbacks, any of which may be unset (then nothing has a name).
std::optional<uint32_t> UidOf(const LsaAccounts& a, std::string_view name) {
  return a.uid_of ? a.uid_of(name) : std::nullopt;
}
std::optional<uint32_t> GidOf(const LsaAccounts& a, std::string_view name) {
  return a.gid_of ? a.gid_of(name) : std::nullopt;
}
std::optional<std::string> UserName(const LsaAccounts& a, uint32_t uid) {
  return a.user_name_of ? a.user_name_of(uid) : std::nullopt;
}
std::optional<std::string> GroupName(const LsaAccounts& a, uint32_t gid) {
  return a.group_name_of ? a.group_name_of(gid) : std::nullopt;
}

// The domains a translation may name. The account domain's name and SID are the server's.
enum class Domain { kAccount, kBuiltin, kNtAuthority, kWorld, kCreator, kUnixUser, kUnixGroup };

LsaDomain DomainOf(const LsaAccounts& accounts, Domain d) {
  switch (d) {
    case Domain::kAccount:
      return {accounts.netbios_name, accounts.sids.domain()};
    case Domain::kBuiltin:
      return {"BUILTIN", Sid{kNtAuthority, {32}}};
    case Domain::kNtAuthority:
      return {"NT AUTHORITY", Sid{kNtAuthority, {}}};
    case Domain::kWorld:
      return {"", Sid{kWorldAuthority, {}}};
    case Domain::kCreator:
      return {"", Sid{kCreatorAuthority, {}}};
    case Domain::kUnixUser:
      return {"Unix User", Sid{kUnixAuthority, {1}}};
    case Domain::kUnixGroup:
      return {"Unix Group", Sid{kUnixAuthority, {2}}};
  }
  return {};
}

// The domains that have names, so that "DOMAIN\name" and "DOMAIN" can name them.
constexpr Domain kNamedDomains[] = {Domain::kAccount, Domain::kBuiltin, Domain::kNtAuthority,
                                    Domain::kUnixUser, Domain::kUnixGroup};
// The unnamed ones, known only by their SIDs.
constexpr Domain kUnnamedDomains[] = {Domain::kWorld, Domain::kCreator};

// The well-known accounts (MS-DTYP 2.4.2.4) the server names.
struct WellKnown {
  Sid (*sid)();
  const char* name;
  SidNameUse use;
  Domain domain;
};
constexpr WellKnown kWellKnown[] = {
    {security::EveryoneSid, "Everyone", SidNameUse::kWellKnownGroup, Domain::kWorld},
    {security::CreatorOwnerSid, "CREATOR OWNER", SidNameUse::kWellKnownGroup, Domain::kCreator},
    {security::CreatorGroupSid, "CREATOR GROUP", SidNameUse::kWellKnownGroup, Domain::kCreator},
    {security::AuthenticatedUsersSid, "Authenticated Users", SidNameUse::kWellKnownGroup,
     Domain::kNtAuthority},
    {security::LocalSystemSid, "SYSTEM", SidNameUse::kWellKnownGroup, Domain::kNtAuthority},
    {security::AdministratorsSid, "Administrators", SidNameUse::kAlias, Domain::kBuiltin},
};

LsaTranslation Translated(const LsaAccounts& accounts, SidNameUse use, std::string name, Sid sid,
                          Domain domain) {
  return {use, std::move(name), std::move(sid), DomainOf(accounts, domain)};
}

// The named domain called `name`: the account domain also answers to the primary domain's
// name, which is what a client that knows only the workgroup puts before a user's name.
std::optional<Domain> NamedDomain(const LsaAccounts& accounts, std::string_view name) {
  if (!accounts.domain_name.empty() && EqualsFolded(name, accounts.domain_name)) {
    return Domain::kAccount;
  }
  for (Domain d : kNamedDomains) {
    if (EqualsFolded(name, DomainOf(accounts, d).name)) return d;
  }
  return std::nullopt;
}

// An account found by name, named as LookupSid names its SID (so that the domain and the use
// are those of the SID: the user of uid 0 is NT AUTHORITY\SYSTEM).
LsaTranslation Found(const LsaAccounts& accounts, Sid sid, SidNameUse use) {
  LsaTranslation t = LookupSid(accounts, sid);
  if (t.use == SidNameUse::kUnknown) t.use = use;  // a name the callbacks do not give back
  return t;
}

// `account` within domain `d`.
LsaTranslation LookupIn(const LsaAccounts& accounts, Domain d, std::string_view account) {
  const LsaDomain domain = DomainOf(accounts, d);
  if (account.empty()) {
    if (domain.name.empty()) return {};
    return Translated(accounts, SidNameUse::kDomain, domain.name, domain.sid, d);
  }
  for (const WellKnown& w : kWellKnown) {
    if (w.domain == d && EqualsFolded(account, w.name)) {
      return Translated(accounts, w.use, w.name, w.sid(), d);
    }
  }
  switch (d) {
    case Domain::kAccount:
      if (std::optional<uint32_t> uid = UidOf(accounts, account)) {
        return Found(accounts, accounts.sids.UserSid(*uid), SidNameUse::kUser);
      }
      if (std::optional<uint32_t> gid = GidOf(accounts, account)) {
        return Found(accounts, accounts.sids.GroupSid(*gid), SidNameUse::kGroup);
      }
      break;
    case Domain::kUnixUser:
      if (std::optional<uint32_t> uid = UidOf(accounts, account)) {
        return Found(accounts, security::SidMap::UnixUserSid(*uid), SidNameUse::kUser);
      }
      break;
    case Domain::kUnixGroup:
      if (std::optional<uint32_t> gid = GidOf(accounts, account)) {
        return Found(accounts, security::SidMap::UnixGroupSid(*gid), SidNameUse::kGroup);
      }
      break;
    default:
      break;
  }
  LsaTranslation unknown;
  unknown.name = std::string(account);
  if (!domain.name.empty()) unknown.domain = domain;
  return unknown;
}

}  // namespace

LsaTranslation LookupSid(const LsaAccounts& accounts, const Sid& sid) {
  for (const WellKnown& w : kWellKnown) {
    if (sid == w.sid()) return Translated(accounts, w.use, w.name, sid, w.domain);
  }
  for (Domain d : kNamedDomains) {
    LsaDomain domain = DomainOf(accounts, d);
    if (sid == domain.sid) return Translated(accounts, SidNameUse::kDomain, domain.name, sid, d);
  }
  LsaTranslation unknown{SidNameUse::kUnknown, security::FormatSid(sid), sid, std::nullopt};
  if (sid.sub.empty()) return unknown;
  Sid parent = sid;
  const uint32_t rid = parent.sub.back();
  parent.sub.pop_back();
  std::optional<Domain> in;
  for (Domain d : kNamedDomains) {
    if (parent == DomainOf(accounts, d).sid) in = d;
  }
  for (Domain d : kUnnamedDomains) {
    if (parent == DomainOf(accounts, d).sid) in = d;
  }
  if (!in) return unknown;
  unknown.domain = DomainOf(accounts, *in);
  std::optional<std::string> name;
  SidNameUse use = SidNameUse::kUser;
  switch (*in) {
    case Domain::kAccount:
      // The account domain's RIDs name uids and gids; UnixOf knows which.
      if (std::optional<security::UnixId> id = accounts.sids.UnixOf(sid)) {
        use = id->group ? SidNameUse::kGroup : SidNameUse::kUser;
        name = id->group ? GroupName(accounts, id->id) : UserName(accounts, id->id);
      }
      break;
    case Domain::kUnixUser:
      name = UserName(accounts, rid);
      break;
    case Domain::kUnixGroup:
      use = SidNameUse::kGroup;
      name = GroupName(accounts, rid);
      break;
    default:
      break;
  }
  if (!name || name->empty()) return unknown;
  return Translated(accounts, use, *std::move(name), sid, *in);
}

LsaTranslation LookupName(const LsaAccounts& accounts, std::string_view name) {
  const size_t slash = name.find('\\');
  if (slash != std::string_view::npos) {
    const std::string_view domain = name.substr(0, slash);
    const std::string_view account = name.substr(slash + 1);
    if (domain.empty()) {
      // "\Everyone": an account of an unnamed domain.
      for (Domain d : kUnnamedDomains) {
        LsaTranslation t = LookupIn(accounts, d, account);
        if (t.use != SidNameUse::kUnknown) return t;
      }
      return {};
    }
    std::optional<Domain> d = NamedDomain(accounts, domain);
    if (!d) return {};
    return LookupIn(accounts, *d, account);
  }
  if (name.empty()) return {};
  // A bare name: the well-known accounts, then the server's users and groups, then the
  // domains themselves, as Windows searches (MS-LSAT 3.1.4.5 "isolated names").
  for (Domain d : {Domain::kWorld, Domain::kCreator, Domain::kNtAuthority, Domain::kBuiltin,
                   Domain::kAccount}) {
    LsaTranslation t = LookupIn(accounts, d, name);
    if (t.use != SidNameUse::kUnknown) return t;
  }
  if (std::optional<Domain> d = NamedDomain(accounts, name)) return LookupIn(accounts, *d, "");
  return {};
}

}  // namespace dittofs::smb::rpc

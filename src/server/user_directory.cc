// SPDX-License-Identifier: Apache-2.0
#include "server/user_directory.h"

#include <fmt/format.h>

#include <algorithm>

#include "base/casefold.h"

namespace dittofs::server {
namespace {

Status NoUser(std::string_view what, std::string_view name) {
  return Status(Errc::kNotFound, fmt::format("no user {} {}", what, name));
}

}  // namespace

ControlPlaneUserDirectory::ControlPlaneUserDirectory(Options options)
    : realms_(std::move(options.kerberos_realms)), snapshot_(std::make_shared<const Snapshot>()) {}

void ControlPlaneUserDirectory::SetKerberosRealms(std::vector<std::string> realms) {
  MutexLock lock(&realms_mu_);
  realms_ = std::move(realms);
}

Status ControlPlaneUserDirectory::Refresh(controlplane::ControlDb& db) {
  MutexLock lock(&refresh_mu_);
  auto next = std::make_shared<Snapshot>();
  ASSIGN_OR_RETURN(std::vector<controlplane::Group> groups, db.ListGroups());
  for (const controlplane::Group& g : groups) {
    next->group_by_name[g.name] = next->groups.size();
    next->group_by_gid[g.gid] = next->groups.size();
    next->groups.push_back({g.name, g.gid});
  }
  ASSIGN_OR_RETURN(std::vector<controlplane::User> users, db.ListUsers());
  next->users.reserve(users.size());
  for (const controlplane::User& u : users) {
    core::UserRecord record;
    record.name = u.username;
    record.uid = u.uid;
    record.gid = u.gid;
    record.enabled = u.enabled;
    // The control plane keeps the NT hash as hex; a malformed one gives no SMB logon.
    if (u.nt_hash.size() == 32) {
      std::string raw;
      for (size_t i = 0; i < 32; i += 2) {
        const auto nibble = [](char c) -> int {
          if (c >= '0' && c <= '9') return c - '0';
          if (c >= 'a' && c <= 'f') return c - 'a' + 10;
          if (c >= 'A' && c <= 'F') return c - 'A' + 10;
          return -1;
        };
        const int hi = nibble(u.nt_hash[i]), lo = nibble(u.nt_hash[i + 1]);
        if (hi < 0 || lo < 0) {
          raw.clear();
          break;
        }
        raw.push_back(static_cast<char>(hi << 4 | lo));
      }
      record.nt_hash = std::move(raw);
    }
    ASSIGN_OR_RETURN(std::vector<controlplane::Group> member_of, db.GroupsOfUser(u.id));
    for (const controlplane::Group& g : member_of) record.groups.push_back(g.gid);
    std::sort(record.groups.begin(), record.groups.end());
    record.groups.erase(std::unique(record.groups.begin(), record.groups.end()),
                        record.groups.end());
    size_t index = next->users.size();
    next->by_name[record.name] = index;
    next->by_folded[FoldCase(record.name)].push_back(index);
    next->by_uid[record.uid] = index;
    if (!u.kerberos_principal.empty()) {
      next->by_principal[u.kerberos_principal] = index;
      next->has_principal.insert(index);
    }
    next->users.push_back(std::move(record));
  }
  snapshot_.store(std::move(next), std::memory_order_release);
  return Status::Ok();
}

Result<core::UserRecord> ControlPlaneUserDirectory::FindUser(std::string_view name) const {
  std::shared_ptr<const Snapshot> s = Load();
  auto it = s->by_name.find(std::string(name));
  if (it == s->by_name.end()) return NoUser("named", name);
  return s->users[it->second];
}

Result<core::UserRecord> ControlPlaneUserDirectory::FindWindowsUser(std::string_view name) const {
  std::shared_ptr<const Snapshot> s = Load();
  if (auto exact = s->by_name.find(std::string(name)); exact != s->by_name.end()) {
    return s->users[exact->second];
  }
  auto it = s->by_folded.find(FoldCase(name));
  if (it == s->by_folded.end()) return NoUser("named", name);
  if (it->second.size() > 1) {
    return Status(Errc::kNotFound,
                  fmt::format("no user named {}: {} users' names differ from it only in case", name,
                              it->second.size()));
  }
  return s->users[it->second.front()];
}

Result<core::UserRecord> ControlPlaneUserDirectory::FindKerberosUser(
    std::string_view principal) const {
  std::shared_ptr<const Snapshot> s = Load();
  if (auto own = s->by_principal.find(std::string(principal)); own != s->by_principal.end()) {
    return s->users[own->second];
  }
  // RFC 1964 §2.1.1: a name's components are separated by '/', then come '@' and the realm.
  std::string_view name = principal;
  if (size_t at = principal.rfind('@'); at != std::string_view::npos) {
    name = principal.substr(0, at);
    std::string_view realm = principal.substr(at + 1);
    bool taken;
    {
      MutexLock lock(&realms_mu_);
      taken = realms_.empty() || std::find(realms_.begin(), realms_.end(), realm) != realms_.end();
    }
    if (!taken) {
      return Status(Errc::kNotFound,
                    fmt::format("no user for {}: realm {} is not accepted", principal, realm));
    }
  }
  if (name.empty() || name.find_first_of("/@\\") != std::string_view::npos) {
    return NoUser("for principal", principal);
  }
  auto it = s->by_name.find(std::string(name));
  if (it == s->by_name.end()) return NoUser("for principal", principal);
  if (s->has_principal.count(it->second) != 0) {
    return Status(
        Errc::kNotFound,
        fmt::format("no user for {}: user {} logs on as its own principal", principal, name));
  }
  return s->users[it->second];
}

Result<core::UserRecord> ControlPlaneUserDirectory::FindUserByUid(uint32_t uid) const {
  std::shared_ptr<const Snapshot> s = Load();
  auto it = s->by_uid.find(uid);
  if (it == s->by_uid.end()) return NoUser("with uid", std::to_string(uid));
  return s->users[it->second];
}

Result<core::GroupRecord> ControlPlaneUserDirectory::FindGroup(std::string_view name) const {
  std::shared_ptr<const Snapshot> s = Load();
  auto it = s->group_by_name.find(std::string(name));
  if (it == s->group_by_name.end()) {
    return Status(Errc::kNotFound, fmt::format("no group named {}", name));
  }
  return s->groups[it->second];
}

Result<core::GroupRecord> ControlPlaneUserDirectory::FindGroupByGid(uint32_t gid) const {
  std::shared_ptr<const Snapshot> s = Load();
  auto it = s->group_by_gid.find(gid);
  if (it == s->group_by_gid.end()) {
    return Status(Errc::kNotFound, fmt::format("no group with gid {}", gid));
  }
  return s->groups[it->second];
}

}  // namespace dittofs::server

// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <atomic>
#include <memory>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "base/mutex.h"
#include "base/result.h"
#include "controlplane/db/control_db.h"
#include "core/identity.h"

namespace dittofs::server {

// The server's UserDirectory: the control plane's users, groups and memberships, read whole by
// Refresh into an immutable snapshot. Lookups load the current snapshot (one atomic shared_ptr
// load, no mutex) and finish on it even while a Refresh publishes the next, so the adapters
// never wait for the control database. The server refreshes at start and after every change the
// API reports through RuntimeHooks::UsersChanged.
class ControlPlaneUserDirectory final : public core::UserDirectory {
 public:
  struct Options {
    // The Kerberos realms whose one-component principals are local users ("alice@REALM" is
    // alice). Empty: every realm, as long as no realm is configured (a ticket for the server's
    // own service principal comes only from its KDC or one the KDC trusts).
    std::vector<std::string> kerberos_realms;
  };

  explicit ControlPlaneUserDirectory(Options options = {});

  // Reads every user, group and membership from `db` and publishes them; lookups then see the
  // new state. On error the previous snapshot stays. Refreshes run one at a time, so the last
  // to finish has read the latest state; lookups never wait for them.
  Status Refresh(controlplane::ControlDb& db);

  Result<core::UserRecord> FindUser(std::string_view name) const override;
  Result<core::UserRecord> FindWindowsUser(std::string_view name) const override;
  // The user whose kerberos_principal is `principal`; else, for "name@REALM" with a realm
  // taken (Options::kerberos_realms), the user `name` unless that user has a principal of its
  // own. A principal with an instance ("alice/admin@REALM") is nobody's but by its own entry.
  Result<core::UserRecord> FindKerberosUser(std::string_view principal) const override;
  // Replaces Options::kerberos_realms (the setting kerberos.realms changed).
  void SetKerberosRealms(std::vector<std::string> realms);
  Result<core::UserRecord> FindUserByUid(uint32_t uid) const override;
  Result<core::GroupRecord> FindGroup(std::string_view name) const override;
  Result<core::GroupRecord> FindGroupByGid(uint32_t gid) const override;

 private:
  struct Snapshot {
    std::vector<core::UserRecord> users;
    std::unordered_map<std::string, size_t> by_name;                 // index into users
    std::unordered_map<std::string, std::vector<size_t>> by_folded;  // ASCII-lowercased name
    std::unordered_map<uint32_t, size_t> by_uid;
    std::unordered_map<std::string, size_t> by_principal;  // the users' own Kerberos principals
    std::unordered_set<size_t> has_principal;              // the users that have one
    std::vector<core::GroupRecord> groups;
    std::unordered_map<std::string, size_t> group_by_name;  // index into groups
    std::unordered_map<uint32_t, size_t> group_by_gid;
  };

  std::shared_ptr<const Snapshot> Load() const { return snapshot_.load(std::memory_order_acquire); }

  mutable Mutex realms_mu_;
  std::vector<std::string> realms_ GUARDED_BY(realms_mu_);
  Mutex refresh_mu_;  // one Refresh at a time; never taken by lookups
  std::atomic<std::shared_ptr<const Snapshot>> snapshot_;
};

}  // namespace dittofs::server

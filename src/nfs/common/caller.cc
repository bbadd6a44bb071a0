// SPDX-License-Identifier: Apache-2.0
#include "nfs/common/caller.h"

#include <fmt/format.h>

namespace dittofs::nfs {

core::Caller CallerOf(const rpc::CallContext& call) {
  core::Caller c;
  c.uid = call.cred.uid;
  c.gid = call.cred.gid;
  c.groups = call.cred.gids;
  c.client_address = call.client_address;
  c.auth =
      call.cred.flavor == rpc::AuthFlavor::kNone ? core::AuthMethod::kNone : core::AuthMethod::kSys;
  if (call.cred.flavor == rpc::AuthFlavor::kGss) {
    // A user's principal runs as the user; a machine principal (nfs/host@REALM) as the share's
    // anonymous identity.
    c.auth = call.cred.gss_anonymous ? core::AuthMethod::kNone : core::AuthMethod::kKerberos;
    c.user_name = call.cred.user_name;
  }
  return c;
}

bool AcceptsFlavor(const rpc::CallContext& call, const core::ShareOptions& options) {
  const core::NfsSecurity& sec = options.security;
  if (call.cred.flavor != rpc::AuthFlavor::kGss) return sec.sys;
  switch (static_cast<rpc::RpcGssService>(call.cred.gss_service)) {
    case rpc::RpcGssService::kNone:
      return sec.krb5;
    case rpc::RpcGssService::kIntegrity:
      return sec.krb5 || sec.krb5i;
    case rpc::RpcGssService::kPrivacy:
      return sec.krb5 || sec.krb5i || sec.krb5p;
  }
  return false;
}

std::vector<uint32_t> MountFlavors(const core::ShareOptions& options) {
  std::vector<uint32_t> flavors;
  const core::NfsSecurity& sec = options.security;
  if (sec.krb5p) flavors.push_back(kPseudoFlavorKrb5p);
  if (sec.krb5i) flavors.push_back(kPseudoFlavorKrb5i);
  if (sec.krb5) flavors.push_back(kPseudoFlavorKrb5);
  if (sec.sys) flavors.push_back(static_cast<uint32_t>(rpc::AuthFlavor::kSys));
  return flavors;
}

std::string DescribeCaller(const rpc::CallContext& call, const core::UserDirectory* users) {
  if (call.cred.flavor == rpc::AuthFlavor::kNone) {
    return fmt::format("{} as anonymous", call.client_address);
  }
  if (call.cred.flavor == rpc::AuthFlavor::kGss) {
    return fmt::format("{} as {} (uid {})", call.client_address, call.cred.gss_principal,
                       call.cred.uid);
  }
  std::string who = fmt::format("{} as uid {}", call.client_address, call.cred.uid);
  if (users != nullptr) {
    if (Result<core::UserRecord> user = users->FindUserByUid(call.cred.uid); user.ok()) {
      who += fmt::format(" ({})", user->name);
    }
  }
  return who;
}

}  // namespace dittofs::nfs

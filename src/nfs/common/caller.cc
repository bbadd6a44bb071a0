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
  return c;
}

std::string DescribeCaller(const rpc::CallContext& call, const core::UserDirectory* users) {
  if (call.cred.flavor == rpc::AuthFlavor::kNone) {
    return fmt::format("{} as anonymous", call.client_address);
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

// SPDX-License-Identifier: Apache-2.0
#include "nfs/common/caller.h"

namespace dittofs::nfs {

core::Caller CallerOf(const rpc::CallContext& call) {
  core::Caller c;
  c.uid = call.cred.uid;
  c.gid = call.cred.gid;
  c.groups = call.cred.gids;
  c.client_address = call.client_address;
  c.anonymous = call.cred.flavor == rpc::AuthFlavor::kNone;
  return c;
}

}  // namespace dittofs::nfs

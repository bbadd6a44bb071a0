// SPDX-License-Identifier: Apache-2.0
#include "rpc/auth.h"

namespace dittofs::rpc {

AuthStat AuthNone(const CallHeader&, Credential* cred) {
  *cred = Credential{};
  return AuthStat::kOk;
}

AuthStat AuthSys(const CallHeader& header, Credential* cred) {
  return DecodeAuthSys(header.cred_body, cred) ? AuthStat::kOk : AuthStat::kBadCred;
}

}  // namespace dittofs::rpc

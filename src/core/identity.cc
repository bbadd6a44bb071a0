// SPDX-License-Identifier: Apache-2.0
#include "core/identity.h"

#include <algorithm>

namespace dittofs::core {

std::string_view AuthMethodName(AuthMethod method) {
  switch (method) {
    case AuthMethod::kNone:
      return "none";
    case AuthMethod::kSys:
      return "sys";
    case AuthMethod::kNtlm:
      return "ntlm";
    case AuthMethod::kKerberos:
      return "kerberos";
  }
  return "unknown";
}

bool Principal::InGroup(uint32_t g) const {
  return gid == g || std::find(groups.begin(), groups.end(), g) != groups.end();
}

Result<Principal> UserRecord::LogOn(AuthMethod how) const {
  if (!enabled) return Status(Errc::kAccess, "user " + name + " is disabled");
  Principal p;
  p.uid = uid;
  p.gid = gid;
  p.groups = groups;
  p.user_name = name;
  p.auth = how;
  return p;
}

}  // namespace dittofs::core

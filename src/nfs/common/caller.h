// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <string>
#include <vector>

#include "core/identity.h"
#include "core/types.h"
#include "rpc/dispatch.h"

namespace dittofs::nfs {

// The runtime identity of an RPC call: its AUTH_SYS (or anonymous) credential and client
// address. AUTH_SYS callers keep the ids they state and get no user name: permissions depend on
// the ids alone, and the data path looks nothing up (core/identity.h).
core::Caller CallerOf(const rpc::CallContext& call);

// Who made a call, for a log line: "10.0.0.7 as uid 1000 (alice)", the name from `users` when it
// knows the uid; "10.0.0.7 as anonymous" for AUTH_NONE. `users` may be null (no names). For
// rare calls (MOUNT) only: it looks the uid up.
std::string DescribeCaller(const rpc::CallContext& call, const core::UserDirectory* users);

// Whether the share whose policy is `options` requires TLS (RFC 9289) and the call did not come
// over it. Each version answers such a call its own way: NFSv3 with AUTH_ERROR/AUTH_TOOWEAK,
// MOUNT with MNT3ERR_ACCES, NFSv4 with NFS4ERR_WRONGSEC where the share is entered.
inline bool LacksRequiredTls(const rpc::CallContext& call, const core::ShareOptions& options) {
  return options.tls == core::TlsPolicy::kRequired && !call.tls;
}

// RFC 2623 §2.7: the pseudo-flavors MOUNT lists for RPCSEC_GSS with Kerberos V5.
constexpr uint32_t kPseudoFlavorKrb5 = 390003;
constexpr uint32_t kPseudoFlavorKrb5i = 390004;
constexpr uint32_t kPseudoFlavorKrb5p = 390005;

// Whether the share whose policy is `options` accepts the flavor the call came with
// (core::NfsSecurity). AUTH_NONE counts as sys. A Kerberos service stronger than one the share
// lists is accepted too: a share listing krb5 takes krb5i and krb5p calls, one listing only
// krb5p takes nothing weaker.
bool AcceptsFlavor(const rpc::CallContext& call, const core::ShareOptions& options);

// The share's flavors as MOUNT lists them (strongest first: krb5p, krb5i, krb5, then AUTH_SYS).
std::vector<uint32_t> MountFlavors(const core::ShareOptions& options);

// A call the share refuses for how it came (LacksRequiredTls, or !AcceptsFlavor): NFSv3
// answers AUTH_TOOWEAK, NFSv4 NFS4ERR_WRONGSEC where the share is entered.
inline bool WrongSecurity(const rpc::CallContext& call, const core::ShareOptions& options) {
  return LacksRequiredTls(call, options) || !AcceptsFlavor(call, options);
}

}  // namespace dittofs::nfs

// SPDX-License-Identifier: Apache-2.0
#pragma once

// RPCSEC_GSS (RFC 2203, RFC 2623 for NFS) with MIT Kerberos: the server's GssAuthenticator.

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "gss/gss.h"
#include "rpc/auth.h"

namespace dittofs::rpc::gss {

struct GssServerOptions {
  size_t max_contexts = 4096;
  uint32_t seq_window = 128;  // told to clients in the context creation result
};

// The identity a Kerberos principal runs as.
struct GssIdentity {
  uint32_t uid = 65534;
  uint32_t gid = 65534;
  std::vector<uint32_t> gids;
  std::string user_name;   // the control-plane user; empty for a machine principal
  bool anonymous = false;  // runs as the share's anonymous identity
};

// Maps a client's principal ("alice@REALM", "nfs/host@REALM") to its identity, or nullopt to
// refuse it. Called once per context, from any thread.
using PrincipalMapper = std::function<std::optional<GssIdentity>(std::string_view principal)>;

// Establishes contexts with the keytab's keys (dittofs::gss::Keytab: nfs/<host>@REALM, reloaded
// when it changes) and checks and protects the calls made under them. Contexts live in a bounded
// cache (least recently used evicted, each dropped at its ticket's end); a call on one that is gone
// is answered RPCSEC_GSS_CREDPROBLEM and the client makes a new one. A principal the mapper refuses
// gets AUTH_BADCRED at context creation.
class GssServer : public GssAuthenticator {
 public:
  // `keytab` outlives the server. Errc::kInvalid for options out of range.
  static Result<std::unique_ptr<GssServer>> Create(dittofs::gss::Keytab& keytab,
                                                   GssServerOptions options,
                                                   PrincipalMapper mapper);
  virtual size_t context_count() const = 0;
};

}  // namespace dittofs::rpc::gss

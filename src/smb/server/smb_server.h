// SPDX-License-Identifier: Apache-2.0
#pragma once

// The SMB2/3 adapter: SMB 2.0.2 to 3.1.1 over direct TCP, serving the runtime's shares
// (MS-SMB2). Sessions authenticate with NTLMv2 in SPNEGO against the server's users; tree
// connects name shares without their leading '/', case-insensitively; every file operation goes
// through core::Vfs, and opens, share modes and byte-range locks live in the share's
// ShareState, shared with every other protocol.

#include <cstdint>
#include <memory>
#include <string>

#include "base/result.h"
#include "core/identity.h"
#include "core/shares.h"
#include "net/stream/stream_server.h"

namespace dittofs::smb {

struct SmbServerOptions {
  net::StreamServerOptions stream;  // port, connection limits, threads
  std::string netbios_name = "DITTOFS";
  std::string domain = "WORKGROUP";
  // Sessions must sign every message (3.1.1 sessions always sign their setup). Off: a session
  // signs when the client asks.
  bool require_signing = false;
  // Every session encrypts (3.x clients); 2.x clients are refused then.
  bool encrypt = false;
  // Guest (and anonymous) sessions; their callers run as each share's anonymous identity.
  bool allow_guest = false;
  uint32_t max_io = 8u << 20;  // MaxReadSize, MaxWriteSize, MaxTransactSize
  size_t max_sessions_per_connection = 64;
  size_t max_opens_per_session = 16384;
  uint16_t max_credits = 8192;  // outstanding on one connection
};

// What the adapter reaches the rest of the server by. Both must outlive the server.
struct SmbEnvironment {
  core::ShareTable* shares = nullptr;
  const core::UserDirectory* users = nullptr;
};

Result<std::unique_ptr<net::StreamServer>> StartSmbServer(const SmbServerOptions& options,
                                                          SmbEnvironment env);

}  // namespace dittofs::smb

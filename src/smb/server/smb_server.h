// SPDX-License-Identifier: Apache-2.0
#pragma once

// The SMB2/3 adapter: SMB 2.0.2 to 3.1.1 over direct TCP, serving the runtime's shares
// (MS-SMB2). Sessions authenticate with Kerberos or NTLMv2 in SPNEGO against the server's
// users; tree connects name shares without their leading '/', case-insensitively; every file
// operation goes through core::Vfs, and opens, share modes and byte-range locks live in the
// share's ShareState, shared with every other protocol.

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "core/identity.h"
#include "core/login_throttle.h"
#include "core/shares.h"
#include "core/state/durable_records.h"
#include "net/stream/stream_server.h"
#include "smb/auth/acceptor.h"

namespace dittofs::smb {

struct SmbServerOptions {
  net::StreamServerOptions stream;  // port, connection limits, threads
  std::string netbios_name = "DITTOFS";
  std::string domain = "WORKGROUP";
  // The machine SID (S-1-5-21-a-b-c) whose domain names the server's users and groups in
  // security descriptors and lsarpc (smb/security/sid.h); the server keeps it in the control
  // plane so that it never changes. Empty or not a machine SID: a new one for this run.
  std::string machine_sid;
  // The SPNEGO mechanisms offered and taken: Kerberos when `mechanisms.kerberos` makes contexts
  // (the client's principal "alice@REALM" logs on as the user the directory's FindKerberosUser
  // names), NTLMv2 unless `mechanisms.ntlm` is off.
  auth::Mechanisms mechanisms;
  // Sessions must sign every message (3.1.1 sessions always sign their setup). Off: a session
  // signs when the client asks, or when a share it connects to requires it
  // (core::SmbShareOptions::require_signing).
  bool require_signing = false;
  // Every session encrypts (3.x clients); 2.x clients are refused then. Off: the trees of the
  // shares that ask for it (core::SmbShareOptions::encrypt) encrypt.
  bool encrypt = false;
  // Guest (and anonymous) sessions on every share. Off: on the shares that allow them
  // (core::SmbShareOptions::guest_ok). Their callers run as each share's anonymous identity.
  bool allow_guest = false;
  // Multichannel (MS-SMB2 3.3.5.5, SMB 3.x): NEGOTIATE offers SMB2_GLOBAL_CAP_MULTI_CHANNEL to
  // a client that offers it, and a session may bind more connections of its client (same
  // dialect and ClientGuid) as channels; it lives while any of them does. Off: binding is
  // refused with STATUS_REQUEST_NOT_ACCEPTED.
  bool multichannel = true;
  // How long a SESSION_SETUP that failed for its password waits before its STATUS_LOGON_FAILURE
  // goes out, once the (user, address) pair failed before: `failure_delay` per earlier failure,
  // at most `max_failure_delay`. The wait is asynchronous (no thread waits).
  std::chrono::milliseconds failure_delay{500};
  std::chrono::milliseconds max_failure_delay{5000};
  uint32_t max_io = 8u << 20;  // MaxReadSize, MaxWriteSize, MaxTransactSize
  size_t max_sessions_per_connection = 64;
  size_t max_opens_per_session = 16384;
  uint16_t max_credits = 8192;  // outstanding on one connection
};

// What the adapter reaches the rest of the server by. All must outlive the server.
struct SmbEnvironment {
  core::ShareTable* shares = nullptr;
  const core::UserDirectory* users = nullptr;
  // Failed SESSION_SETUPs count here, per user name and client address (shared with the REST
  // API's logins); a locked-out pair is answered STATUS_LOGON_FAILURE without a look at its
  // password. Null: no throttling.
  core::LoginThrottle* throttle = nullptr;
  // Where persistent handles are kept across restarts (the server's StateStore,
  // StateTable::kDurableHandles). Null: no persistent handles (continuously available shares
  // grant durable ones only, as any other share).
  core::DurableRecords* handles = nullptr;
};

// What the adapter shows the administrator (dfsctl client list): its sessions, each with its
// opens and their caching.
struct SmbOpenInfo {
  core::ShareId share = 0;
  uint64_t file = 0;  // the inode
  std::string path;   // from the share's root, '\'-separated
  uint32_t access = 0;
  std::string caching;  // "lease RWH", "oplock batch", ... or empty
};
struct SmbSessionInfo {
  uint64_t id = 0;
  std::string address;
  std::string user;
  bool guest = false;
  std::string dialect;  // "3.1.1"
  bool signing = false;
  bool encryption = false;
  size_t trees = 0;
  std::vector<SmbOpenInfo> opens;
};
class SmbAdmin {
 public:
  virtual ~SmbAdmin() = default;
  // The valid sessions, at most `max_opens` opens listed per session.
  virtual std::vector<SmbSessionInfo> Sessions(size_t max_opens) = 0;
  // Closes the connections session `id` is on (each of its channels): their sessions, opens,
  // locks and leases go (as a client that vanished). Errc::kNotFound when no connection has it.
  virtual Status Evict(uint64_t id) = 0;
};

// A new machine SID for SmbServerOptions::machine_sid, in its string form, and whether a string
// is one.
std::string NewMachineSid();
bool IsMachineSid(std::string_view text);

// Starts the adapter; `*admin` (when given) gets its administrator's view, usable while the
// server runs.
Result<std::unique_ptr<net::StreamServer>> StartSmbServer(
    const SmbServerOptions& options, SmbEnvironment env,
    std::shared_ptr<SmbAdmin>* admin = nullptr);

}  // namespace dittofs::smb

// SPDX-License-Identifier: Apache-2.0
#pragma once

// Persistent handles (MS-SMB2 3.3.5.9.10, 3.3.5.9.12; docs/state.md "Persistent handles"): on a
// continuously available share, a DH2Q with SMB2_DHANDLE_FLAG_PERSISTENT makes the open durable
// whatever it caches, and its state is kept in the server's state store (SmbEnvironment::
// handles) from its CREATE to its close. When dfs stops or crashes, each kept open comes back at
// the next start, disconnected: its share modes, byte-range locks and caching are in force again
// and it waits, for its timeout, for its client to reconnect it with DH2C, as a durable open
// whose connection was lost does.
//
// What is kept: the open's file, name, access, share modes, delete on close (as asked at its
// CREATE), oplock or lease (key, state, epoch) and the byte-range locks it holds, and its user
// and ClientGuid (who may reconnect it). The record is written at the CREATE and again after
// each LOCK and rename through the open; a lease broken later is kept at the state granted last
// written (after a restart no other client holds anything it could conflict with).

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "core/identity.h"
#include "core/state/lock_table.h"
#include "core/types.h"
#include "smb/server/internal.h"

namespace dittofs::smb {

struct ServerContext;

// One persistent open as its record holds it.
struct PersistedOpen {
  uint64_t id = 0;    // FileId.Persistent and .Volatile
  std::string share;  // the share's name ("/export"): ids are not kept across restarts
  core::FileId file;
  core::FileId parent;
  std::string leaf;
  std::string path;
  uint32_t access = 0;
  uint32_t share_access = 0;
  bool delete_on_close = false;
  bool directory = false;
  uint32_t timeout_ms = 0;
  std::array<std::byte, 16> create_guid{};
  std::array<std::byte, 16> client_guid{};
  core::Caller caller;  // ids, groups and name; not the client address
  uint8_t oplock = 0;   // wire::kOplock*; kOplockLease with `lease`
  struct LeasePart {
    LeaseKey key{};
    uint8_t state = 0;
    bool v2 = false;
    uint16_t epoch = 0;
    bool has_parent = false;
    LeaseKey parent{};
    friend bool operator==(const LeasePart&, const LeasePart&) = default;
  };
  std::optional<LeasePart> lease;
  struct Range {
    uint64_t offset = 0;
    uint64_t length = 0;
    bool exclusive = false;
    friend bool operator==(const Range&, const Range&) = default;
  };
  std::vector<Range> locks;
};

// The record's key (the id, big-endian) and value. Decoding checks every length against what
// is left and against the limits (Errc::kCorrupt for a record that fails them).
std::string PersistedOpenKey(uint64_t id);
std::string EncodePersistedOpen(const PersistedOpen& open);
Result<PersistedOpen> DecodePersistedOpen(std::string_view value);

// Writes (or rewrites) persistent `open`'s record, opened by `caller` from a connection with
// `client_guid`. Nothing for an open that is not persistent. A failed write is logged and
// returned: a CREATE then answers the open as not persistent; a rewrite (locks, a new name)
// leaves the record as it was.
Status PersistOpen(ServerContext& server, Open& open, const core::Caller& caller,
                   const std::array<std::byte, 16>& client_guid);
// Removes persistent `open`'s record (it closed).
void ForgetPersistentOpen(ServerContext& server, const Open& open);
// At the adapter's start: every kept persistent open comes back, disconnected, waiting for its
// client. Records whose share or file is gone, or whose open the runtime now refuses, are
// removed. Returns how many came back.
size_t RestorePersistentOpens(ServerContext& server);

}  // namespace dittofs::smb

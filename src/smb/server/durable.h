// SPDX-License-Identifier: Apache-2.0
#pragma once

// Durable handles (MS-SMB2 3.3.5.9.6, .7, .10, .12; docs/state.md "Durable handles"): an open with
// a batch oplock or a lease that caches handles may ask to outlive its connection. When the
// connection is lost, the open (its share modes, byte-range locks and caching) waits, for its
// timeout, for its client to reconnect it on a new connection with DHnC or DH2C. A disconnected
// client cannot answer a break: an open or operation of someone else that needs the open's
// caching broken closes it instead (3.3.4.6, 3.3.4.7), and so does the end of its timeout.

#include <array>
#include <cstdint>
#include <memory>
#include <optional>

#include "smb/server/connection.h"

namespace dittofs::smb {

// What a CREATE's durable contexts ask.
struct DurableAsk {
  bool v1 = false;          // DHnQ
  bool v2 = false;          // DH2Q
  bool persistent = false;  // DH2Q with SMB2_DHANDLE_FLAG_PERSISTENT
  uint32_t timeout_ms = 0;
  std::array<std::byte, 16> create_guid{};
};
struct DurableReconnectAsk {
  uint64_t file_id = 0;
  bool v2 = false;  // DH2C: the CreateGuid must match too
  std::array<std::byte, 16> create_guid{};
};

// The durable contexts of `req` (16 and 32 bytes for DHnQ/DH2Q, 16 and 36 for DHnC/DH2C).
// Returns 0, or the NTSTATUS of a malformed or contradictory set (STATUS_INVALID_PARAMETER).
// v2 contexts count only from SMB 3.0 on; a reconnect makes the others ignored.
uint32_t ParseDurable(const wire::CreateRequest& req, uint16_t dialect, DurableAsk* ask,
                      std::optional<DurableReconnectAsk>* reconnect);

// After a CREATE granted caching: makes `open` durable when it may be (a batch oplock, or a
// lease with handle caching; not a directory) and adds the answering context to `resp`.
// `persistent_allowed`: the tree's share is continuously available and the connection
// negotiated persistent handles; a DH2Q asking for one then makes `open` persistent, whatever
// its caching (MS-SMB2 3.3.5.9.10).
void GrantDurable(const DurableAsk& ask, bool persistent_allowed, Open& open, uint8_t lease_state,
                  wire::CreateResponse* resp);

// The connection of durable `open` was lost: it waits for a reconnect for its timeout.
void PreserveDurable(ServerContext& server, const std::shared_ptr<Open>& open,
                     const core::Caller& caller, const std::array<std::byte, 16>& client_guid);
// Adds `open`, disconnected, to the opens that wait for a reconnect (ServerContext::durable),
// with its scavenger due at the end of its timeout.
void AwaitReconnect(ServerContext& server, const std::shared_ptr<Open>& open,
                    const core::Caller& caller, const std::array<std::byte, 16>& client_guid);
// Whether a disconnected persistent open of `inode` in `share` waits for its client: other
// CREATEs of the file get STATUS_FILE_NOT_AVAILABLE meanwhile (MS-SMB2 3.3.5.9).
bool PersistentOpenWaits(ServerContext& server, core::ShareId share, uint64_t inode);

// Closes the disconnected durable open `open_id` now; false when none waits under that id.
bool ScavengeDurable(ServerContext& server, uint64_t open_id);
// The same, soon, from the timer's thread: for break callbacks, which must not close opens.
// A persistent open is left alone: its break is revoked at the break's deadline instead, and
// the open waits for its client until its timeout.
void ScavengeDurableSoon(ServerContext& server, uint64_t open_id);
// The adapter stops: every disconnected durable open gives its share modes, locks and caching
// back to the runtime without closing (no delete on close); persistent ones keep their records.
void DropDurableOpens(ServerContext& server);
// A lease whose client is gone must be broken: its disconnected durable opens close soon.
void ScavengeDurableLease(ServerContext& server, const Lease* lease);

}  // namespace dittofs::smb

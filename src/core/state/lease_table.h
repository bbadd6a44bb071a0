// SPDX-License-Identifier: Apache-2.0
#pragma once

// Caching grants of one share's files, for every protocol (docs/state.md, "Leases and
// delegations"): SMB oplocks and leases, NFSv4 delegations. A grant lets its holder cache
// reads (R), opens (H, handle caching) and writes (W). One model serves both protocols:
//
// * A holder is a lease key (an SMB lease key, an SMB open for a plain oplock, an NFSv4
//   client). Grants of one holder never conflict with each other or with that holder's own
//   operations.
// * An operation of another holder breaks what conflicts with it: a read or an open breaks W;
//   a write or a size change breaks R and W; a remove or rename (of the file or of its name)
//   breaks H; an overwriting open, a change of a directory's entries and a byte-range lock
//   break every grant whole. A lease is broken to what remains; a delegation cannot be partly
//   broken and is recalled whole.
// * The break goes to the holder through its callback; the operation waits (without holding a
//   thread) until the holder acknowledges, or until the break's deadline, when the grant is
//   revoked (cut to the break's target) and the operation goes on.
// * A lease that caches reads alone (an SMB level II oplock, an R lease) is broken without an
//   acknowledgement (MS-SMB2 §3.3.4.7): the holder is told, the grant settles at once and
//   nothing waits for it.
//
// Thread-safe, sharded by file; callbacks run after every mutex of the table is released.

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>

#include "base/result.h"
#include "base/status.h"

namespace dittofs::core {

enum CacheBits : uint8_t {
  kCacheRead = 1,
  kCacheHandle = 2,
  kCacheWrite = 4,
};

enum class GrantKind : uint8_t {
  kLease,       // SMB leases and oplocks: broken to what the operation leaves
  kDelegation,  // NFSv4 delegations: recalled whole
};

// What another holder is about to do to the file. kChildChange is done to a directory: a name
// in it is added, removed or renamed, or a child's listed attributes changed (a directory
// grant caches the listing and its open handles, MS-SMB2 3.3.1.4). kLock: a byte-range lock.
// kOverwrite: an open that overwrites or supersedes the file (its data and attributes go).
enum class CacheOp : uint8_t {
  kOpen,
  kOverwrite,
  kRead,
  kWrite,
  kSetSize,
  kRemove,
  kRename,
  kChildChange,
  kLock
};

class LeaseTable {
 public:
  using GrantId = uint64_t;
  using WaitId = uint64_t;
  // Tells a holder to break grant `id` to `to` (a subset of its state) and acknowledge.
  // `epoch` grows with every change of the grant's state (SMB2 lease epochs).
  using BreakFn = std::function<void(GrantId id, uint8_t to, uint16_t epoch)>;
  // Called once when an operation that waited may go on (Ok) or was cancelled (kBusy).
  using Done = std::function<void(Status)>;

  struct Granted {
    GrantId id = 0;
    uint8_t state = 0;  // what was granted: at most what was asked, possibly nothing
    uint16_t epoch = 0;
  };
  struct GrantInfo {
    uint64_t file = 0;
    uint64_t holder = 0;
    GrantKind kind = GrantKind::kLease;
    uint8_t state = 0;
    bool breaking = false;
    uint8_t breaking_to = 0;
    uint16_t epoch = 0;
  };

  LeaseTable();
  ~LeaseTable();
  LeaseTable(const LeaseTable&) = delete;
  LeaseTable& operator=(const LeaseTable&) = delete;

  // Grants `holder` what it may have of `wanted` on `file`: W only when no other holder has a
  // grant there, R and H only when no other holder has W, nothing while one of the file's
  // grants is breaking. A holder's second request on a file changes its one grant (epoch + 1);
  // with `whole_upgrade` only to all of `wanted`, else not at all (an SMB lease upgrade,
  // MS-SMB2 3.3.5.9.8). `on_break` is kept for the grant's breaks.
  Result<Granted> Request(uint64_t file, uint64_t holder, GrantKind kind, uint8_t wanted,
                          BreakFn on_break, bool whole_upgrade = false);
  // Before `op` of `requester` on `file`: starts the breaks it needs. Returns 0 when nothing
  // stands in the way; else a WaitId, and `done` follows once every conflicting grant is
  // acknowledged or revoked. Breaks sent now are due by `break_deadline_nanos`. With no
  // `done`, nothing waits: a non-zero result only says the operation must be retried later.
  WaitId BreakFor(uint64_t file, uint64_t requester, CacheOp op, int64_t break_deadline_nanos,
                  Done done);
  // The holder's answer to a break: the grant keeps `state` (at most the break's target).
  // Errc::kInvalid for more than that, Errc::kNotFound for no such grant or no break.
  Status Acknowledge(GrantId id, uint8_t state);
  // The holder gives the grant up (SMB close of the last open of a lease, NFSv4 DELEGRETURN).
  void Release(GrantId id);
  // Revokes grants whose break is overdue at `now_nanos` (MonotonicNanos).
  void ExpireBreaks(int64_t now_nanos);
  // Gives up waiting; `done` gets Errc::kBusy. False if it is no longer waiting.
  bool Cancel(WaitId id);

  std::optional<GrantInfo> Get(GrantId id);
  size_t grant_count() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace dittofs::core

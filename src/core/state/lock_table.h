// SPDX-License-Identifier: Apache-2.0
#pragma once

// Byte-range locks of one share, for every protocol: POSIX locks (NFSv4, NLM) and Windows
// locks (SMB) in one table, so that a lock taken over one protocol is seen by all of them.
// The rules are in docs/state.md ("Byte-range locks"); in short:
//
// * POSIX locks are per owner and merge: a lock replaces the owner's own locks on its range
//   (splitting or joining them, changing their type), and an unlock may cut any part of them.
//   Another owner's overlapping lock conflicts when either is exclusive. They are advisory:
//   reads and writes ignore them.
// * Windows locks (MS-FSA 2.1.5.8, 2.1.4.10) never merge: each is one exact range, unlocked by
//   exactly that range. An exclusive lock conflicts with every request of another owner and
//   with a new exclusive lock of its own owner; a shared lock conflicts with every request with
//   exclusive intent (an exclusive lock, or a write), its own owner's included. They are
//   mandatory: CheckIo refuses a read or write they cover.
// * Between the two flavors, owners always differ: overlapping ranges conflict when either
//   side is exclusive.
//
// A request that conflicts may wait: it is queued without holding a thread, granted (in
// arrival order, as far as conflicts allow) when locks go, and answered through its callback;
// it can be cancelled and expires at its deadline. A POSIX request that would wait for an
// owner already waiting, directly or not, for the requester fails with Errc::kDeadlock.
//
// Thread-safe. Files are sharded: requests on different files rarely share a lock, and
// callbacks run after every lock of the table is released.

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <utility>
#include <vector>

#include "base/result.h"
#include "base/status.h"

namespace dittofs::core {

enum class LockFlavor : uint8_t { kPosix, kWindows };

// Who holds a lock: an id the adapter makes unique among every owner of the share (for
// example from an NFSv4 lock-owner, an NLM host and svid, or an SMB open and its lock key).
struct LockOwner {
  uint64_t id = 0;
  LockFlavor flavor = LockFlavor::kPosix;
  friend bool operator==(const LockOwner&, const LockOwner&) = default;
};

// A range as the protocols give it: `offset` and `length`. For POSIX locks a length of 0 means
// "to the end of any file" (NLM, fcntl); Windows locks may be empty (length 0), and then
// conflict with nothing but what MS-FSA 2.1.4.10's arithmetic makes them overlap.
struct LockRequest {
  uint64_t file = 0;  // the inode id
  LockOwner owner;
  uint64_t offset = 0;
  uint64_t length = 0;
  bool exclusive = false;
};

// A lock held, as Locks() reports it.
struct LockInfo {
  LockOwner owner;
  uint64_t offset = 0;
  uint64_t length = 0;  // POSIX locks to the end of any file: 0
  bool exclusive = false;
  friend bool operator==(const LockInfo&, const LockInfo&) = default;
};

class LockTable {
 public:
  using WaitId = uint64_t;
  // Called once for a request that waited: Ok when granted, Errc::kUnavailable when its
  // deadline passed, Errc::kBusy when cancelled.
  using Done = std::function<void(Status)>;

  LockTable();
  ~LockTable();
  LockTable(const LockTable&) = delete;
  LockTable& operator=(const LockTable&) = delete;

  // Grants `r` or refuses it at once: Errc::kLocked on a conflict, Errc::kInvalid for a range
  // past 2^64 - 1.
  Status Lock(const LockRequest& r);
  // Grants `r` at once (returns 0), or queues it and returns its WaitId: `done` follows.
  // Errc::kDeadlock when waiting would close a cycle of POSIX owners.
  Result<WaitId> LockOrWait(const LockRequest& r, int64_t deadline_nanos, Done done);
  // Cancels a waiting request (its `done` gets Errc::kBusy); false if it is no longer waiting.
  bool Cancel(WaitId id);
  // Fails every waiting request whose deadline (MonotonicNanos) is at or before `now`.
  void ExpireWaiters(int64_t now_nanos);

  // A lock that would conflict with `r`, if any (NLM TEST, NFSv4 LOCKT, F_GETLK).
  std::optional<LockInfo> Test(const LockRequest& r);
  // POSIX: drops the owner's locks on the range (any part of them). Windows: drops the lock
  // with exactly this range (the oldest, if several), else Errc::kRangeNotLocked.
  Status Unlock(const LockRequest& r);
  // Drops every lock of `owner` on `file` (its open closed, its client went away).
  void ReleaseOwner(uint64_t file, const LockOwner& owner);

  // Whether a read (`write` false) or write by `owner` of [offset, offset+length) may go on:
  // Errc::kLocked when a Windows lock of the table forbids it (POSIX locks are advisory).
  Status CheckIo(uint64_t file, const LockOwner& owner, uint64_t offset, uint64_t length,
                 bool write);

  // The locks on `file`, in no particular order (for tests and diagnostics).
  std::vector<LockInfo> Locks(uint64_t file);
  // Every lock of the table with its file, at most `max` of them, in no particular order (for
  // administration: one shard is locked at a time, so it is not one instant's picture).
  std::vector<std::pair<uint64_t, LockInfo>> AllLocks(size_t max);
  size_t lock_count() const;
  size_t waiter_count() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace dittofs::core

// SPDX-License-Identifier: Apache-2.0
#pragma once

// The calls a channel has sent and awaits replies to.

#include <chrono>
#include <cstdint>
#include <optional>
#include <set>
#include <unordered_map>
#include <utility>

#include "base/mutex.h"
#include "rpc/channel.h"

namespace dittofs::rpc {

// Pending calls by xid: allocates xids, encodes call headers, routes each reply to its call's
// callback, and fails calls whose deadline passed or whose transport went away. Callbacks run
// on the thread that completes them (Complete, Expire, FailAll, Close), never under the table's
// lock, so a callback may start another call.
// All methods are safe to call concurrently from any thread.
class CallTable {
 public:
  using Clock = std::chrono::steady_clock;

  // The first xid is random, so a restarted server does not reuse its predecessor's xids.
  CallTable();
  CallTable(const CallTable&) = delete;
  CallTable& operator=(const CallTable&) = delete;
  // Fails what is still pending (Errc::kUnavailable).
  ~CallTable();

  // Registers a call to end by `deadline` and returns its record (header, then `args`), ready
  // to be sent. When the table is closed, or the call's security cannot protect it, `done`
  // runs at once with why instead, and the result is empty.
  std::optional<xdr::XdrEncoder> Start(const OutgoingCall& call, xdr::XdrEncoder args,
                                       Clock::time_point deadline, ReplyCallback done);
  // Whether the call of `xid` still awaits its reply.
  bool IsPending(uint32_t xid) const;

  // Routes a received reply record to its call. Returns false, and drops the record, when no
  // pending call has its xid (a reply after its timeout, a duplicate, garbage); a call whose
  // reply has a matching xid but does not decode fails with Errc::kIo, one whose protection
  // does not check out (OutgoingCall::security) with Errc::kAccess.
  bool Complete(Buffer record);
  // Fails one call (say, its record could not be sent); false when it is not pending.
  bool Fail(uint32_t xid, Status status);
  // Fails the calls whose deadline is at or before `now` with Errc::kTimedOut.
  void Expire(Clock::time_point now);
  // The earliest deadline of a pending call.
  std::optional<Clock::time_point> NextDeadline() const;
  // Fails every pending call with `status` (the transport closed); later calls are accepted.
  void FailAll(const Status& status);
  // Fails every pending call with `status`, and every later Start too.
  void Close(const Status& status);

  size_t pending() const;

 private:
  struct Pending {
    OutgoingCall call;  // its procedure, for messages
    Clock::time_point deadline;
    uint32_t seq = 0;  // the sequence number call.security sent it with
    ReplyCallback done;
  };
  // Removes and returns the call of `xid`, if pending.
  std::optional<Pending> TakeLocked(uint32_t xid) EXCLUSIVE_LOCKS_REQUIRED(mu_);
  std::vector<Pending> TakeAllLocked() EXCLUSIVE_LOCKS_REQUIRED(mu_);

  mutable Mutex mu_;
  uint32_t next_xid_ GUARDED_BY(mu_);
  std::unordered_map<uint32_t, Pending> calls_ GUARDED_BY(mu_);
  std::set<std::pair<Clock::time_point, uint32_t>> deadlines_ GUARDED_BY(mu_);
  std::optional<Status> closed_ GUARDED_BY(mu_);
};

// "prog 100021 vers 4 proc 5", for messages.
std::string CallName(const OutgoingCall& call);

}  // namespace dittofs::rpc

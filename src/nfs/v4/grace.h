// SPDX-License-Identifier: Apache-2.0
#pragma once

// NFSv4's grace period (RFC 8881 §8.4.2, RFC 7530 §9.6.2): which clients may take their opens
// and locks back after a restart, and until when.
//
// A client is recorded durably (Nfs4ClientRecords) when it first gets state, and forgotten
// when it goes for good (its lease ran out and its state was released, DESTROY_CLIENTID, an
// eviction, a new instance of it). A restart finds the records of the last run: if there are
// any, a grace period begins, in which only those clients may reclaim (OPEN with
// CLAIM_PREVIOUS, LOCK with reclaim) and nobody gets new state (NFS4ERR_GRACE). It ends when
// its time is up, or as soon as every recorded client said RECLAIM_COMPLETE (4.1; a 4.0
// client cannot say it, so a 4.0 client of the last run keeps the period to its end). Records
// of clients that did not come back are dropped then. With no records there is no grace.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/mutex.h"
#include "base/result.h"
#include "core/state/durable_records.h"

namespace dittofs::nfs {

// Where client records are kept (StateTable::kClients). Keys are what RecordKey makes.
using Nfs4ClientRecords = core::DurableRecords;

class Nfs4Grace {
 public:
  // A client's record key: its minor version's family (4.0 and 4.1 client owners are apart,
  // RFC 8881 §2.4) and its owner name; long names are hashed to fit the store's key limit.
  static std::string RecordKey(uint32_t minor, std::string_view owner);

  // Reads the last run's records from `records` (may be null: nothing persists, no grace)
  // and, if there are any, begins a grace period of `grace`. Call once, before serving.
  Status Begin(Nfs4ClientRecords* records, std::chrono::seconds grace, int64_t now_nanos);

  bool in_grace() const { return in_grace_.load(std::memory_order_acquire); }
  // Whether the client of `key` may reclaim now: in grace, recorded by the last run, and not
  // past its RECLAIM_COMPLETE.
  bool MayReclaim(const std::string& key);
  // RECLAIM_COMPLETE from the client of `key`; ends the grace period early when every client
  // of the last run has said it.
  void ReclaimComplete(const std::string& key);
  // Ends the grace period when its time is up (called once a second).
  void Tick(int64_t now_nanos);

  // Records the client of `key` durably (it got state); a no-op without records.
  Status Record(const std::string& key, std::string_view value);
  // Forgets the client of `key` (it is gone for good).
  void Forget(const std::string& key);
  // Forgets the clients of `keys` with one durable write (clients that expired together).
  void ForgetMany(const std::vector<std::string>& keys);

  // For dfsctl and logs: seconds of grace left (0 when none) and how many clients of the
  // last run have not finished reclaiming.
  uint32_t seconds_left(int64_t now_nanos);
  size_t pending();

 private:
  void EndLocked() EXCLUSIVE_LOCKS_REQUIRED(mu_);

  Nfs4ClientRecords* records_ = nullptr;
  std::atomic<bool> in_grace_{false};
  Mutex mu_;
  int64_t ends_ GUARDED_BY(mu_) = 0;
  std::set<std::string> previous_ GUARDED_BY(mu_);  // the last run's clients
  std::set<std::string> complete_ GUARDED_BY(mu_);  // of them, those done reclaiming
  std::set<std::string> recorded_ GUARDED_BY(mu_);  // clients recorded during the period
};

}  // namespace dittofs::nfs

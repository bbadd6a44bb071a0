// SPDX-License-Identifier: Apache-2.0
#pragma once

// RFC 5531 §11 record marking: a record is one or more fragments, each preceded by a 4-byte
// header whose top bit marks the last fragment and whose low 31 bits give its length.

#include <atomic>
#include <cstdint>
#include <deque>
#include <functional>
#include <vector>

#include "base/bytes.h"
#include "base/mutex.h"
#include "base/status.h"

namespace dittofs::rpc {

constexpr uint32_t kLastFragment = 0x80000000u;

// The memory of records still being received, shared by all the connections of a server, so
// that clients which send the start of a large record and stall cannot together hold
// max_connections × max_record_size. Each record's first kUnbudgetedRecordBytes are not
// counted (small calls never touch the shared counter; a connection's staging buffer costs as
// much anyway); the rest is reserved here before it is allocated.
//
// Requests that do not fit wait in FIFO order: released bytes go to the oldest waiter first, so
// a stream of new requests cannot starve it.
// All methods are safe to call concurrently from any thread.
class RecordBudget {
 public:
  static constexpr size_t kUnbudgetedRecordBytes = 64 * 1024;

  explicit RecordBudget(size_t limit) : limit_(limit) {}
  RecordBudget(const RecordBudget&) = delete;
  RecordBudget& operator=(const RecordBudget&) = delete;

  // Reserves `n` bytes if they fit and nobody is waiting.
  bool TryReserve(size_t n);
  // Queues a request for `n` bytes. Once they are reserved for the caller, `granted` runs on
  // the thread that freed them (possibly this one, before this returns), with no lock held; it
  // must be quick (post work elsewhere). Returns a ticket for Cancel.
  // REQUIRES: n <= limit().
  uint64_t ReserveWhenAvailable(size_t n, std::function<void()> granted);
  // Withdraws a queued request. Returns false when it was granted already: then `granted` has
  // run or is running, and the bytes are the caller's to Release.
  bool Cancel(uint64_t ticket);
  void Release(size_t n);

  size_t limit() const { return limit_; }
  // Bytes reserved now.
  size_t used() const { return used_.load(std::memory_order_relaxed); }

 private:
  struct Waiter {
    uint64_t ticket;
    size_t bytes;
    std::function<void()> granted;
  };
  // Reserves for waiters from the head of the queue while they fit; returns their callbacks.
  std::vector<std::function<void()>> GrantLocked() EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Adds n to used_ unless that would pass the limit.
  bool Take(size_t n);

  const size_t limit_;
  std::atomic<size_t> used_{0};
  // waiters_.size(), readable without mu_: reservations skip the queue only when it is empty,
  // and releases take mu_ only when someone waits.
  std::atomic<size_t> waiting_{0};
  Mutex mu_;
  std::deque<Waiter> waiters_ GUARDED_BY(mu_);
  uint64_t next_ticket_ GUARDED_BY(mu_) = 1;
};

// Reassembles records from a byte stream, enforcing a limit on the record size before any
// memory is committed to it. Feed it bytes as they arrive; large fragment bodies can be read
// straight into the record (DirectTarget/CommitDirect), so payloads are not copied.
// A record sent in many fragments grows its buffer geometrically, so assembling it costs time
// linear in its size however it is cut.
// Not thread-safe: one assembler per connection.
class RecordAssembler {
 public:
  // `budget` (may be null: no shared limit) must outlive the assembler; the assembler returns
  // what it reserved when a record completes and when it is destroyed.
  explicit RecordAssembler(size_t max_record_size, RecordBudget* budget = nullptr)
      : max_record_(max_record_size), budget_(budget) {}
  ~RecordAssembler();
  RecordAssembler(const RecordAssembler&) = delete;
  RecordAssembler& operator=(const RecordAssembler&) = delete;

  static constexpr size_t kMaxFragments = 1024;

  // Consumes `data`, appending each completed record to `out`. Returns Errc::kTooBig when a
  // fragment would take the record past the limit, Errc::kInvalid for a record of more than
  // kMaxFragments fragments (a run that never ends); the connection must then close.
  // With a budget, stops early when the record needs bytes the budget cannot give now:
  // `*consumed` says how much of `data` was taken, and budget_wanted() how many bytes to wait
  // for (RecordBudget::ReserveWhenAvailable, then BudgetGranted, then feed the rest).
  Status Feed(ByteView data, std::vector<Buffer>* out, size_t* consumed);
  // As above, for an assembler without a budget, which always consumes all of `data`.
  Status Feed(ByteView data, std::vector<Buffer>* out);

  // Bytes the current record waits for from the budget; 0 when it is not waiting.
  size_t budget_wanted() const { return wanted_; }
  // The budget reserved budget_wanted() bytes for this assembler.
  void BudgetGranted();

  // Where the next stream bytes belong when they are fragment body: empty when a header is
  // expected (or the budget is awaited). Bytes read there are reported with CommitDirect.
  MutableByteView DirectTarget();
  // REQUIRES: n <= DirectTarget().size(). Completed records go to `out`.
  void CommitDirect(size_t n, std::vector<Buffer>* out);

  // Whether a record is partially received: some of its bytes (a header at least) have arrived.
  bool mid_record() const { return header_got_ > 0 || fragments_ > 0; }
  // Bytes copied so far to grow records received in several fragments (fragment bodies are
  // copied into the record once more; that is not counted).
  uint64_t bytes_moved() const { return bytes_moved_; }

 private:
  Status StartFragment(uint32_t header);
  // Makes the record's buffer hold `capacity` bytes, keeping what it has; false when the budget
  // must be awaited first.
  bool Grow(size_t capacity);
  void Reallocate(size_t capacity);
  void FinishFragmentIfDone(std::vector<Buffer>* out);

  size_t max_record_;
  RecordBudget* budget_;
  std::byte header_[4];
  size_t header_got_ = 0;
  bool in_body_ = false;
  bool last_ = false;
  size_t fragments_ = 0;     // fragments of this record begun so far
  Buffer record_;            // the record so far; its size is the capacity
  size_t record_fill_ = 0;   // bytes of record_ received
  size_t fragment_end_ = 0;  // where the current fragment's body ends in record_
  size_t reserved_ = 0;      // bytes of budget held for record_
  size_t wanted_ = 0;        // bytes of budget awaited, for a capacity of pending_capacity_
  size_t pending_capacity_ = 0;
  uint64_t bytes_moved_ = 0;
};

// Prefixes an encoded reply with a single last-fragment header.
void EncodeRecordMark(uint32_t length, std::byte out[4]);

}  // namespace dittofs::rpc

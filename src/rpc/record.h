// SPDX-License-Identifier: Apache-2.0
#pragma once

// RFC 5531 §11 record marking: a record is one or more fragments, each preceded by a 4-byte
// header whose top bit marks the last fragment and whose low 31 bits give its length.

#include <cstdint>
#include <vector>

#include "base/bytes.h"
#include "base/status.h"
#include "net/stream/message_budget.h"
#include "net/stream/stream_framer.h"

namespace dittofs::rpc {

constexpr uint32_t kLastFragment = 0x80000000u;

// Reassembles records from a byte stream, enforcing a limit on the record size before any
// memory is committed to it. Feed it bytes as they arrive; large fragment bodies can be read
// straight into the record (DirectTarget/CommitDirect), so payloads are not copied.
// A record sent in many fragments grows its buffer geometrically, so assembling it costs time
// linear in its size however it is cut.
// It is the framer of RPC over a stream server (net/stream): the record's limits, the zero-copy
// path and the budget are all the stream layer needs to know.
// Not thread-safe: one assembler per connection.
class RecordAssembler final : public net::StreamFramer {
 public:
  // `budget` (may be null: no shared limit) must outlive the assembler; the assembler returns
  // what it reserved when a record completes and when it is destroyed.
  explicit RecordAssembler(size_t max_record_size, net::MessageBudget* budget = nullptr)
      : max_record_(max_record_size), budget_(budget) {}
  ~RecordAssembler() override;
  RecordAssembler(const RecordAssembler&) = delete;
  RecordAssembler& operator=(const RecordAssembler&) = delete;

  static constexpr size_t kMaxFragments = 1024;

  // Consumes `data`, appending each completed record to `out`. Returns Errc::kTooBig when a
  // fragment would take the record past the limit, Errc::kInvalid for a record of more than
  // kMaxFragments fragments (a run that never ends); the connection must then close.
  // With a budget, stops early when the record needs bytes the budget cannot give now:
  // `*consumed` says how much of `data` was taken, and budget_wanted() how many bytes to wait
  // for (MessageBudget::ReserveWhenAvailable, then BudgetGranted, then feed the rest).
  Status Feed(ByteView data, std::vector<Buffer>* out, size_t* consumed) override;
  // As above, for an assembler without a budget, which always consumes all of `data`.
  Status Feed(ByteView data, std::vector<Buffer>* out);

  // Bytes the current record waits for from the budget; 0 when it is not waiting.
  size_t budget_wanted() const override { return wanted_; }
  // The budget reserved budget_wanted() bytes for this assembler.
  void BudgetGranted() override;

  // Where the next stream bytes belong when they are fragment body: empty when a header is
  // expected (or the budget is awaited). Bytes read there are reported with CommitDirect.
  MutableByteView DirectTarget() override;
  // REQUIRES: n <= DirectTarget().size(). Completed records go to `out`.
  void CommitDirect(size_t n, std::vector<Buffer>* out) override;

  // Whether a record is partially received: some of its bytes (a header at least) have arrived.
  bool mid_message() const override { return header_got_ > 0 || fragments_ > 0; }
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
  net::MessageBudget* budget_;
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

// SPDX-License-Identifier: Apache-2.0
#pragma once

// RFC 5531 §11 record marking: a record is one or more fragments, each preceded by a 4-byte
// header whose top bit marks the last fragment and whose low 31 bits give its length.

#include <cstdint>
#include <vector>

#include "base/bytes.h"
#include "base/status.h"

namespace dittofs::rpc {

constexpr uint32_t kLastFragment = 0x80000000u;

// Reassembles records from a byte stream, enforcing a limit on the record size before any
// memory is committed to it. Feed it bytes as they arrive; large fragment bodies can be read
// straight into the record (DirectTarget/CommitDirect), so payloads are not copied.
// Not thread-safe: one assembler per connection.
class RecordAssembler {
 public:
  explicit RecordAssembler(size_t max_record_size) : max_record_(max_record_size) {}

  // Consumes `data`, appending each completed record to `out`. Returns Errc::kTooBig when a
  // fragment would take the record past the limit, Errc::kInvalid for an empty non-final
  // fragment run that never ends (more than 1024 fragments); the connection must then close.
  Status Feed(ByteView data, std::vector<Buffer>* out);

  // Where the next stream bytes belong when they are fragment body: empty when a header is
  // expected. Bytes read there are reported with CommitDirect.
  MutableByteView DirectTarget();
  // REQUIRES: n <= DirectTarget().size(). Completed records go to `out`.
  void CommitDirect(size_t n, std::vector<Buffer>* out);

  // Whether a record is partially received (for clean-close detection).
  bool mid_record() const { return header_got_ > 0 || in_body_ || record_.size() > 0; }

 private:
  Status StartFragment(uint32_t header);
  void FinishFragmentIfDone(std::vector<Buffer>* out);

  size_t max_record_;
  std::byte header_[4];
  size_t header_got_ = 0;
  bool in_body_ = false;
  bool last_ = false;
  size_t fragments_ = 0;
  Buffer record_;           // bytes of the record so far (capacity = size of fragments seen)
  size_t record_fill_ = 0;  // bytes of record_ received
};

// Prefixes an encoded reply with a single last-fragment header.
void EncodeRecordMark(uint32_t length, std::byte out[4]);

}  // namespace dittofs::rpc

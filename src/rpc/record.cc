// SPDX-License-Identifier: Apache-2.0
#include "rpc/record.h"

#include <algorithm>
#include <cstring>

#include "base/check.h"

namespace dittofs::rpc {

RecordAssembler::~RecordAssembler() {
  if (budget_ != nullptr) budget_->Release(reserved_);
}

Status RecordAssembler::StartFragment(uint32_t header) {
  last_ = (header & kLastFragment) != 0;
  size_t length = header & ~kLastFragment;
  // Clients send one fragment per record; a run that never ends (of empty fragments, say)
  // would hold the connection without ever completing a record.
  if (++fragments_ > kMaxFragments) {
    return Status(Errc::kInvalid, "record of more than 1024 fragments");
  }
  size_t total = record_fill_ + length;
  if (total > max_record_) {
    return Status(Errc::kTooBig, "record of " + std::to_string(total) + " bytes exceeds limit");
  }
  fragment_end_ = total;
  in_body_ = true;
  if (total <= record_.size()) return Status::Ok();
  // Clients almost always send a record as one fragment, which is then allocated exactly and
  // received in place. Later fragments at least double the buffer, so that a record cut into
  // many fragments is copied O(log n) times in all, not once per fragment.
  size_t capacity = total;
  if (record_fill_ > 0) capacity = std::max(total, std::min(max_record_, 2 * record_.size()));
  Grow(capacity);
  return Status::Ok();
}

bool RecordAssembler::Grow(size_t capacity) {
  auto budgeted = [](size_t bytes) {
    return bytes > net::MessageBudget::kUnbudgetedMessageBytes
               ? bytes - net::MessageBudget::kUnbudgetedMessageBytes
               : 0;
  };
  size_t need = budgeted(capacity) > reserved_ ? budgeted(capacity) - reserved_ : 0;
  if (budget_ != nullptr && need > 0) {
    if (!budget_->TryReserve(need)) {
      wanted_ = need;
      pending_capacity_ = capacity;
      return false;
    }
    reserved_ += need;
  }
  Reallocate(capacity);
  return true;
}

void RecordAssembler::Reallocate(size_t capacity) {
  Buffer bigger(capacity);
  if (record_fill_ > 0) std::memcpy(bigger.data(), record_.data(), record_fill_);
  bytes_moved_ += record_fill_;
  record_ = std::move(bigger);
}

void RecordAssembler::BudgetGranted() {
  CHECK(wanted_ > 0) << "budget granted to a record that did not wait for it";
  reserved_ += wanted_;
  wanted_ = 0;
  Reallocate(pending_capacity_);
}

void RecordAssembler::FinishFragmentIfDone(std::vector<Buffer>* out) {
  if (!in_body_ || wanted_ > 0 || record_fill_ < fragment_end_) return;
  in_body_ = false;
  if (!last_) return;
  record_.Shrink(record_fill_);
  out->push_back(std::move(record_));
  record_ = Buffer();
  record_fill_ = 0;
  fragment_end_ = 0;
  fragments_ = 0;
  // The record's memory now belongs to the call it carries, no longer to a partial record.
  if (budget_ != nullptr) budget_->Release(reserved_);
  reserved_ = 0;
}

Status RecordAssembler::Feed(ByteView data, std::vector<Buffer>* out, size_t* consumed) {
  const size_t size = data.size();
  while (!data.empty() && wanted_ == 0) {
    if (!in_body_) {
      size_t take = std::min(data.size(), 4 - header_got_);
      std::memcpy(header_ + header_got_, data.data(), take);
      header_got_ += take;
      data = data.subspan(take);
      if (header_got_ < 4) break;
      header_got_ = 0;
      Status started = StartFragment(LoadBe32(header_));
      if (!started.ok()) {
        *consumed = size - data.size();
        return started;
      }
      FinishFragmentIfDone(out);  // a zero-length fragment
      continue;
    }
    size_t take = std::min(data.size(), fragment_end_ - record_fill_);
    std::memcpy(record_.data() + record_fill_, data.data(), take);
    record_fill_ += take;
    data = data.subspan(take);
    FinishFragmentIfDone(out);
  }
  *consumed = size - data.size();
  return Status::Ok();
}

Status RecordAssembler::Feed(ByteView data, std::vector<Buffer>* out) {
  size_t consumed = 0;
  RETURN_IF_ERROR(Feed(data, out, &consumed));
  CHECK(consumed == data.size()) << "an assembler with a budget must be fed with Feed(consumed)";
  return Status::Ok();
}

MutableByteView RecordAssembler::DirectTarget() {
  if (!in_body_ || wanted_ > 0) return {};
  return {record_.data() + record_fill_, fragment_end_ - record_fill_};
}

void RecordAssembler::CommitDirect(size_t n, std::vector<Buffer>* out) {
  record_fill_ += n;
  FinishFragmentIfDone(out);
}

void EncodeRecordMark(uint32_t length, std::byte out[4]) { StoreBe32(out, length | kLastFragment); }

}  // namespace dittofs::rpc

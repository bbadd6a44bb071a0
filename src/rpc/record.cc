// SPDX-License-Identifier: Apache-2.0
#include "rpc/record.h"

#include <algorithm>
#include <cstring>

namespace dittofs::rpc {

Status RecordAssembler::StartFragment(uint32_t header) {
  last_ = (header & kLastFragment) != 0;
  size_t length = header & ~kLastFragment;
  if (++fragments_ > 1024) return Status(Errc::kInvalid, "record of more than 1024 fragments");
  size_t total = record_fill_ + length;
  if (total > max_record_) {
    return Status(Errc::kTooBig, "record of " + std::to_string(total) + " bytes exceeds limit");
  }
  // Grow the record to hold this fragment. Multi-fragment records copy what they had; clients
  // almost always send one fragment, which is then received in place.
  if (record_.size() < total) {
    Buffer bigger(total);
    if (record_fill_) std::memcpy(bigger.data(), record_.data(), record_fill_);
    record_ = std::move(bigger);
  }
  in_body_ = true;
  return Status::Ok();
}

void RecordAssembler::FinishFragmentIfDone(std::vector<Buffer>* out) {
  if (!in_body_ || record_fill_ < record_.size()) return;
  in_body_ = false;
  if (!last_) return;
  record_.Shrink(record_fill_);
  out->push_back(std::move(record_));
  record_ = Buffer();
  record_fill_ = 0;
  fragments_ = 0;
}

Status RecordAssembler::Feed(ByteView data, std::vector<Buffer>* out) {
  while (!data.empty()) {
    if (!in_body_) {
      size_t take = std::min(data.size(), 4 - header_got_);
      std::memcpy(header_ + header_got_, data.data(), take);
      header_got_ += take;
      data = data.subspan(take);
      if (header_got_ < 4) break;
      header_got_ = 0;
      RETURN_IF_ERROR(StartFragment(LoadBe32(header_)));
      FinishFragmentIfDone(out);  // a zero-length fragment
      continue;
    }
    size_t take = std::min(data.size(), record_.size() - record_fill_);
    std::memcpy(record_.data() + record_fill_, data.data(), take);
    record_fill_ += take;
    data = data.subspan(take);
    FinishFragmentIfDone(out);
  }
  return Status::Ok();
}

MutableByteView RecordAssembler::DirectTarget() {
  if (!in_body_) return {};
  return {record_.data() + record_fill_, record_.size() - record_fill_};
}

void RecordAssembler::CommitDirect(size_t n, std::vector<Buffer>* out) {
  record_fill_ += n;
  FinishFragmentIfDone(out);
}

void EncodeRecordMark(uint32_t length, std::byte out[4]) { StoreBe32(out, length | kLastFragment); }

}  // namespace dittofs::rpc

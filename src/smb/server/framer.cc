// SPDX-License-Identifier: Apache-2.0
#include "smb/server/framer.h"

#include <algorithm>
#include <cstring>
#include <string>

namespace dittofs::smb {

DirectTcpFramer::~DirectTcpFramer() {
  if (budget_ != nullptr) budget_->Release(reserved_);
}

Status DirectTcpFramer::Start(size_t length) {
  if (length > max_message_) {
    return Status(Errc::kTooBig, "SMB2 message of " + std::to_string(length) + " bytes");
  }
  // A zero-length message is a keep-alive of the NetBIOS session layer: nothing to deliver.
  if (length == 0) return Status::Ok();
  in_body_ = true;
  fill_ = 0;
  const size_t budgeted = length > net::MessageBudget::kUnbudgetedMessageBytes
                              ? length - net::MessageBudget::kUnbudgetedMessageBytes
                              : 0;
  if (budget_ != nullptr && budgeted > 0 && !budget_->TryReserve(budgeted)) {
    wanted_ = budgeted;
    message_ = Buffer();
    pending_ = length;
    return Status::Ok();
  }
  reserved_ = budget_ != nullptr ? budgeted : 0;
  message_ = Buffer(length);
  return Status::Ok();
}

void DirectTcpFramer::BudgetGranted() {
  reserved_ = wanted_;
  wanted_ = 0;
  message_ = Buffer(pending_);
}

void DirectTcpFramer::FinishIfDone(std::vector<Buffer>* out) {
  if (!in_body_ || wanted_ > 0 || fill_ < message_.size()) return;
  in_body_ = false;
  out->push_back(std::move(message_));
  message_ = Buffer();
  fill_ = 0;
  // The message's memory now belongs to the request it carries.
  if (budget_ != nullptr) budget_->Release(reserved_);
  reserved_ = 0;
}

Status DirectTcpFramer::Feed(ByteView data, std::vector<Buffer>* out, size_t* consumed) {
  const size_t size = data.size();
  while (!data.empty() && wanted_ == 0) {
    if (!in_body_) {
      const size_t take = std::min(data.size(), 4 - header_got_);
      std::memcpy(header_ + header_got_, data.data(), take);
      header_got_ += take;
      data = data.subspan(take);
      if (header_got_ < 4) break;
      header_got_ = 0;
      // The first byte is the NetBIOS message type: 0, a session message. Direct TCP has no
      // other (MS-SMB2 §2.1); a session request (0x81) from an old client is not SMB2.
      if (header_[0] != std::byte{0}) {
        *consumed = size - data.size();
        return Status(Errc::kInvalid, "not a NetBIOS session message");
      }
      const size_t length =
          (size_t(header_[1]) << 16) | (size_t(header_[2]) << 8) | size_t(header_[3]);
      Status started = Start(length);
      if (!started.ok()) {
        *consumed = size - data.size();
        return started;
      }
      continue;
    }
    const size_t take = std::min(data.size(), message_.size() - fill_);
    std::memcpy(message_.data() + fill_, data.data(), take);
    fill_ += take;
    data = data.subspan(take);
    FinishIfDone(out);
  }
  *consumed = size - data.size();
  return Status::Ok();
}

MutableByteView DirectTcpFramer::DirectTarget() {
  if (!in_body_ || wanted_ > 0) return {};
  return message_.mutable_view().subspan(fill_);
}

void DirectTcpFramer::CommitDirect(size_t n, std::vector<Buffer>* out) {
  fill_ += n;
  FinishIfDone(out);
}

}  // namespace dittofs::smb

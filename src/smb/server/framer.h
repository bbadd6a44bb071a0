// SPDX-License-Identifier: Apache-2.0
#pragma once

// SMB2 over TCP (MS-SMB2 §2.1, "Direct TCP transport"): each message is preceded by four bytes,
// a zero and a 24-bit big-endian length.

#include <cstddef>
#include <vector>

#include "base/bytes.h"
#include "net/stream/message_budget.h"
#include "net/stream/stream_framer.h"

namespace dittofs::smb {

class DirectTcpFramer final : public net::StreamFramer {
 public:
  // `budget` (may be null) holds the bytes of a message being received beyond its first
  // MessageBudget::kUnbudgetedMessageBytes. Messages over `max_message` close the connection.
  DirectTcpFramer(size_t max_message, net::MessageBudget* budget)
      : max_message_(max_message), budget_(budget) {}
  ~DirectTcpFramer() override;

  Status Feed(ByteView data, std::vector<Buffer>* out, size_t* consumed) override;
  MutableByteView DirectTarget() override;
  void CommitDirect(size_t n, std::vector<Buffer>* out) override;
  size_t budget_wanted() const override { return wanted_; }
  void BudgetGranted() override;
  bool mid_message() const override { return header_got_ > 0 || in_body_; }

 private:
  Status Start(size_t length);
  void FinishIfDone(std::vector<Buffer>* out);

  const size_t max_message_;
  net::MessageBudget* const budget_;
  std::byte header_[4];
  size_t header_got_ = 0;
  bool in_body_ = false;
  Buffer message_;
  size_t fill_ = 0;
  size_t reserved_ = 0;  // of the budget, for message_
  size_t wanted_ = 0;    // of the budget, awaited
  size_t pending_ = 0;   // the length of the message that awaits it
};

}  // namespace dittofs::smb

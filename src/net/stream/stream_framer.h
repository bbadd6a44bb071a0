// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstddef>
#include <vector>

#include "base/bytes.h"
#include "base/status.h"

namespace dittofs::net {

// Cuts one connection's byte stream into messages: the protocol's framing (RFC 5531 record
// marking for ONC RPC, the 4-byte direct-TCP header of MS-SMB2 §2.1, ...). The stream server
// makes one per connection (StreamProtocol::NewFramer) and calls it on that connection's I/O
// strand only, so it needs no locking. Each call here is per read, not per message: a read
// that brings many small messages costs one Feed.
class StreamFramer {
 public:
  virtual ~StreamFramer() = default;

  // Consumes a prefix of `data`, appending each message it completes to `out`, and sets
  // `*consumed`. An error (a message over the protocol's size limit, a malformed header) closes
  // the connection. A framer that reserves message memory from a MessageBudget may stop early
  // when the budget cannot give it now: budget_wanted() then says how much to wait for, and
  // the rest of `data` is fed again after BudgetGranted().
  virtual Status Feed(ByteView data, std::vector<Buffer>* out, size_t* consumed) = 0;

  // Where the next bytes of the stream belong when they are known to be message body: the
  // server reads a large body straight there instead of into its staging buffer, so the
  // payload is never copied. Empty when the next bytes are a header (or the budget is
  // awaited). Bytes read there are reported with CommitDirect.
  virtual MutableByteView DirectTarget() { return {}; }
  // REQUIRES: n <= DirectTarget().size(). Completed messages go to `out`.
  virtual void CommitDirect(size_t n, std::vector<Buffer>* out) {
    (void)n;
    (void)out;
  }

  // Bytes of the server's MessageBudget the current message waits for; 0 when it is not
  // waiting. The server asks the budget for them and calls BudgetGranted once they are
  // reserved for this framer (which then owns them and releases them).
  virtual size_t budget_wanted() const { return 0; }
  virtual void BudgetGranted() {}

  // Whether a message is partly received: some of its bytes (a header at least) have arrived.
  // Such a message must complete within StreamServerOptions::message_timeout.
  virtual bool mid_message() const = 0;
};

}  // namespace dittofs::net

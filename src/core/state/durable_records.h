// SPDX-License-Identifier: Apache-2.0
#pragma once

// Records a protocol adapter keeps across restarts (who may reclaim state after one), as the
// adapter sees them: one table of key/value pairs whose encoding is the adapter's own. The
// server keeps each adapter's in a table of its StateStore (stores/state): NLM's monitored
// hosts (StateTable::kNsmHosts), NFSv4's clients (StateTable::kClients), SMB's durable and
// persistent handles (StateTable::kDurableHandles).

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/result.h"

namespace dittofs::core {

class DurableRecords {
 public:
  virtual ~DurableRecords() = default;
  // Durable when it returns.
  virtual Status Put(std::string_view key, std::string_view value) = 0;
  virtual Status Delete(std::string_view key) = 0;
  // Deletes every one of `keys`, durably, in one write where the store can (one sync for them
  // all); the default deletes them one by one.
  virtual Status DeleteMany(const std::vector<std::string>& keys) {
    for (const std::string& key : keys) RETURN_IF_ERROR(Delete(key));
    return Status::Ok();
  }
  virtual Result<std::vector<std::pair<std::string, std::string>>> List() = 0;
};

}  // namespace dittofs::core

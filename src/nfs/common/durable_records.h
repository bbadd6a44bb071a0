// SPDX-License-Identifier: Apache-2.0
#pragma once

// Records an NFS service keeps across restarts (who may reclaim state after one), as the
// service sees them: one table of key/value pairs whose encoding is the service's own. The
// server keeps each service's in a table of its StateStore (stores/state): NLM's monitored
// hosts (StateTable::kNsmHosts), NFSv4's clients (StateTable::kClients).

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/result.h"

namespace dittofs::nfs {

class DurableRecords {
 public:
  virtual ~DurableRecords() = default;
  // Durable when it returns.
  virtual Status Put(std::string_view key, std::string_view value) = 0;
  virtual Status Delete(std::string_view key) = 0;
  virtual Result<std::vector<std::pair<std::string, std::string>>> List() = 0;
};

}  // namespace dittofs::nfs

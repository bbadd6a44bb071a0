// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <memory>

#include "base/result.h"
#include "config/config.h"

namespace dittofs::server {

// The composition root: builds the stores of each share, the runtime over them, and the
// protocol adapters, from a validated configuration.
class Server {
 public:
  virtual ~Server() = default;
  // The NFS port actually bound (differs from the config when it asked for port 0).
  virtual uint16_t nfs_port() const = 0;
  // Stops accepting, lets in-flight calls finish (up to the configured timeout), flushes the
  // stores. Idempotent.
  virtual void Stop() = 0;
};

Result<std::unique_ptr<Server>> StartServer(const config::Config& config);

}  // namespace dittofs::server

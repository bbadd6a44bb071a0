// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <memory>
#include <string>

#include "base/result.h"
#include "config/config.h"
#include "controlplane/db/control_db.h"
#include "core/shares.h"

namespace dittofs::server {

// The composition root: opens the control-plane database, builds each share's stores and
// runtime from it, and runs the protocol adapters and the REST API. Changes made through the
// API take effect without a restart.
class Server {
 public:
  virtual ~Server() = default;
  // The NFS port actually bound (0 when the adapter is disabled).
  virtual uint16_t nfs_port() const = 0;
  // The SMB adapter's port; 0 when it is not serving.
  virtual uint16_t smb_port() const = 0;
  // The REST API port actually bound (0 when disabled).
  virtual uint16_t api_port() const = 0;
  // The password generated for `admin` on this start, to be shown once; empty when the admin
  // existed already or DITTOFS_ADMIN_INITIAL_PASSWORD set it.
  virtual const std::string& initial_admin_password() const = 0;
  // The shares being served, as the protocol adapters see them: an adapter in the same
  // process (a test's, say) reaches the same core::Share objects, state included.
  virtual const core::ShareTable& shares() const = 0;
  // Stops accepting, lets in-flight calls finish (up to the configured timeout). Idempotent.
  virtual void Stop() = 0;
};

Result<std::unique_ptr<Server>> StartServer(const config::Config& config);

// Opens (and migrates) the control-plane database the config names, for `dfs migrate`,
// `dfs backup` and `dfs restore`.
Result<std::unique_ptr<controlplane::ControlDb>> OpenControlDb(const config::Config& config);

}  // namespace dittofs::server

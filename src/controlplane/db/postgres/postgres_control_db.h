// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <memory>
#include <string>

#include "base/result.h"
#include "controlplane/db/control_db.h"

namespace dittofs::controlplane {

// Connects to the PostgreSQL database named by the libpq connection string `dsn` (e.g.
// "host=db.internal dbname=dittofs user=dfs") and applies pending migrations. Tables go in the
// connection's search_path. A server that cannot be reached is kUnavailable with the server's
// message; the DSN (and any password in it) never appears in a message.
Result<std::unique_ptr<ControlDb>> OpenPostgresControlDb(const std::string& dsn);

}  // namespace dittofs::controlplane

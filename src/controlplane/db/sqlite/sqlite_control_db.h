// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <memory>
#include <string>

#include "base/result.h"
#include "controlplane/db/control_db.h"

namespace dittofs::controlplane {

// Opens (creating with mode 0600 if needed) the SQLite control database at `path` and applies
// pending migrations. The file is in WAL mode with foreign keys enforced; other processes may
// open it too, and a locked database is waited for (up to a few seconds) before kUnavailable.
Result<std::unique_ptr<ControlDb>> OpenSqliteControlDb(const std::string& path);

}  // namespace dittofs::controlplane

// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <memory>
#include <string>

#include "base/result.h"
#include "stores/state/state_store.h"

namespace dittofs::stores {

// Opens (creating if needed) the RocksDB state store in the directory `path` (0700, its files
// 0600); the layout is in docs/formats/rocksdb-state.md. Every write is synced before it
// returns. Errc::kNotSupported for a newer format version, Errc::kInvalid for a directory
// holding another database, Errc::kBusy when another process (or this one) has it open.
Result<std::unique_ptr<StateStore>> OpenRocksDbStateStore(const std::string& path);

}  // namespace dittofs::stores

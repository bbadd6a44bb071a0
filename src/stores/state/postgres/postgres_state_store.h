// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstddef>
#include <memory>
#include <string>

#include "base/result.h"
#include "stores/state/state_store.h"

namespace dittofs::stores {

struct PostgresStateStoreOptions {
  std::string dsn;  // a libpq connection string ("host=db port=5432 user=dfs dbname=dittofs")
  // The store's own schema in that database, made when missing; one per dfs node (the nodes
  // of a cluster share the database, each with its schema). Lowercase letters, digits and
  // '_', not starting with a digit, at most 63 bytes.
  std::string schema;
  size_t idle_connections = 4;  // kept open between uses; more are made when needed
};

// Opens (creating when needed) a state store kept in PostgreSQL; the layout is described in
// docs/formats/postgres-state.md. Every write is committed synchronously before it returns.
//
// One open at a time owns a schema: the store holds a PostgreSQL session advisory lock on a
// connection of its own for as long as it is open, and a second open (this process or another
// node) gets Errc::kBusy. When the owner dies its session ends and the lock with it, so a
// standby node opening the same schema takes over the records, and its clients reclaim there.
//
// Errc::kInvalid for a bad schema name, kUnavailable when the server cannot be reached (the
// message names the host, never the password), kNotSupported when the schema holds a newer
// layout than this build reads. A server that goes away fails calls with kUnavailable until
// it is back; then the store takes its lock again (kBusy if another node took it meanwhile).
Result<std::unique_ptr<StateStore>> OpenPostgresStateStore(
    const PostgresStateStoreOptions& options);

}  // namespace dittofs::stores

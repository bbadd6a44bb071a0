// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstddef>
#include <memory>
#include <string>

#include "base/result.h"
#include "stores/metadata/metadata_store.h"

namespace dittofs::stores {

struct PostgresMetadataStoreOptions {
  std::string dsn;  // a libpq connection string ("host=db port=5432 user=dfs dbname=dittofs")
  // The store's own schema in that database, made when missing: several stores (shares) may
  // share one database, each in its schema. Lowercase letters, digits and '_', not starting
  // with a digit, at most 63 bytes.
  std::string schema;
  size_t idle_connections = 16;  // kept open between uses; more are made when needed
};

// Opens (creating when needed) a metadata store kept in PostgreSQL; the layout is described in
// docs/formats/postgres-metadata.md. Errc::kInvalid for a bad schema name, kUnavailable when
// the server cannot be reached (the message names the host, never the password),
// kNotSupported when the schema holds a newer layout than this build reads.
//
// Transactions are optimistic, as MetadataStore requires: reads go to the server one statement
// at a time and remember what they saw; Commit checks, in one SERIALIZABLE transaction, that
// nothing seen changed, then writes. A server that goes away fails calls with kUnavailable
// (nothing is cached, so nothing stale is served) until it is back; connections are made anew.
// Commits are durable when the server's are (synchronous_commit); lazy ones are asynchronous
// commits, made durable by Sync. Ids are never reused.
Result<std::unique_ptr<MetadataStore>> OpenPostgresMetadataStore(
    const PostgresMetadataStoreOptions& options);

}  // namespace dittofs::stores

// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstddef>
#include <memory>
#include <string>

#include "base/result.h"
#include "stores/metadata/metadata_store.h"

namespace dittofs::stores {

struct RocksDbMetadataStoreOptions {
  std::string path;  // the database directory (created if missing)
  // fsync the WAL before Commit returns: NFS needs metadata durable when it replies.
  bool sync_commits = true;
  size_t block_cache_bytes = 64 << 20;
};

// Opens (creating if needed) a RocksDB metadata store at options.path; the on-disk layout is
// described in docs/formats/rocksdb-metadata.md. Fails with Errc::kNotSupported when the
// database has a newer format version than this build reads, Errc::kInvalid when the directory
// holds a database that is not a metadata store, and Errc::kBusy when another process (or this
// one) has it open.
//
// Transactions are optimistic, as MetadataStore requires. With sync_commits, a Commit that
// returned ok survives a crash or power loss; SetRoot and the id and generation ranges are
// always synced. Ids are never reused, also across restarts.
Result<std::unique_ptr<MetadataStore>> OpenRocksDbMetadataStore(
    const RocksDbMetadataStoreOptions& options);

}  // namespace dittofs::stores

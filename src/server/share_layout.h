// SPDX-License-Identifier: Apache-2.0
#pragma once

// Bringing a server's data from the share naming rule before config::ShareDirName to it. That
// rule folded every byte but [A-Za-z0-9-] to '_', so shares such as "/team_a" and "/team.a"
// shared one directory (and one remote prefix): each read and overwrote the other's files.
//
// * Local directories (RocksDB metadata, localfs blocks, a tiered store's journal) are renamed
//   once, at start, by MigrateLegacyDirs.
// * Remote places (a tiered store's fs directory or S3 prefix) are not renamed: an S3 prefix
//   cannot be renamed cheaply. A share whose chunk index already refers to objects there keeps
//   the old name, and every tiered share's remote name is recorded in its metadata store at the
//   first open (RemoteDirName), so it never changes while objects are referenced there.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "config/store_layout.h"
#include "stores/metadata/metadata_store.h"

namespace dittofs::server {

// One share's directory under one store base directory, by the old rule and by the current one.
struct LegacyDirClaim {
  int64_t share_id = 0;
  std::string share;       // the share's name, for the log
  std::string legacy_dir;  // <base>/config::LegacyShareDirName(share)
  std::string dir;         // <base>/config::ShareDirName(share)
};

// Gives each old-style directory that exists to the share owning it, by renaming it to that
// share's current-rule directory. The owner is its only claimant; when the names of several
// shares fold to it (they all used it at once), the one with the lowest id, which created it
// first, and the others start empty in their own directories, with a warning naming the
// problem. An owner whose current-rule directory exists already keeps that one, and the old
// directory is left alone (with a warning). Claims of one share on one old directory count
// once. Errc::kIo when a rename fails: the share would otherwise start empty beside its data.
Status MigrateLegacyDirs(const std::vector<LegacyDirClaim>& claims);

// A remote base place as one string that tells remotes apart: an fs remote's normalized
// directory, an S3 remote's endpoint, bucket and prefix.
std::string RemoteIdentity(const config::StoreLocation& remote);

// Which shares may keep their objects on a remote under their old-rule name, as the server
// found the shares at start.
struct LegacyRemote {
  // The share is the only current share with its old-rule place on this remote, or the one
  // with the lowest id among those. False for shares opened after start: a share created
  // later must never take over the objects of a deleted one.
  bool owner = false;
  // The other current shares with the same old-rule place, for the warning.
  std::vector<std::string> sharers;
};

// The name of share `share`'s place (subdirectory or key prefix) on its tiered store's remote
// `remote` (RemoteIdentity of its base place), which also names its default key
// file. Recorded in `metadata` (RecordTable::kShareLayout) together with `remote`:
// * the recorded name, while `remote` is the recorded remote;
// * else, at the first open of a metadata store that already refers to objects (uploaded under
//   the old rule, before names were recorded): config::LegacyShareDirName(share) when
//   `legacy.owner`, so those objects stay reachable; else a warning;
// * else config::ShareDirName(share).
Result<std::string> RemoteDirName(stores::MetadataStore& metadata, std::string_view share,
                                  std::string_view remote, const LegacyRemote& legacy);

// Which block store holds a share's data, and under which namespace of the chunk index
// (stores::TieredOptions::index_namespace; "" for other kinds of store). Recorded in the
// share's metadata store (RecordTable::kShareLayout, key "blocks", JSON
// {"block_store": <id>, "index_namespace": "<ns>"}), so that it survives with the data it
// describes:
// * written when a share is first served, if absent: {its block store, ""}; a share served
//   before the record existed keeps the chunk index keys it had;
// * when the share moves to another block store, rewritten (synced) once its data is copied
//   and synced there, before the old store's copy is deleted. That write is the move's commit
//   point. A start that finds another block store recorded than the control database names
//   (the move was interrupted before its commit) serves the share from the recorded store and
//   moves it again.
struct BlockPlacement {
  int64_t block_store_id = 0;
  std::string index_namespace;
};
// nullopt when nothing is recorded.
Result<std::optional<BlockPlacement>> ReadBlockPlacement(stores::MetadataStore& metadata);
Status WriteBlockPlacement(stores::MetadataStore& metadata, const BlockPlacement& placement);

// The namespace of a share's chunk index on tiered block store `block_store_id` it moves to,
// other than `current` (the namespace it leaves): "b<id>/", or "b<id>.1/" when that is
// `current` (the store's definition changed under the share). Namespaces of one metadata store
// must be prefix-free; these are, and "" is the legacy one.
std::string FreshIndexNamespace(int64_t block_store_id, std::string_view current);

}  // namespace dittofs::server

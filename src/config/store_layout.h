// SPDX-License-Identifier: Apache-2.0
#pragma once

// Where stores keep their data on disk and on remotes. A store definition (a row of the control
// database: a type and a JSON config) names a base directory, or an S3 bucket and key prefix;
// every share that uses the definition keeps its data in its own subdirectory (or below its own
// key prefix) there, named by ShareDirName. The server opens stores at these places and the REST
// API refuses definitions and shares whose places overlap; both read them from here, so they
// cannot disagree. The layout is described in docs/configuration.md ("Where data is kept").

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"

namespace dittofs::config {

// The name of share `share`'s subdirectory (or key prefix component) under a store's base:
// the share name without its leading '/', with [A-Za-z0-9-] kept and every other byte ('_' and
// '.' included) written as '.' and two uppercase hex digits. "/export" is "export", "/team_a"
// "team.5Fa", "/team.a" "team.2Ea", "/a/b" "a.2Fb"; "/" is ".2F".
//
// Why this rule:
// * It is injective (it can be decoded), so two shares never get one directory. (The rule before
//   it folded every other byte to '_', so "/team_a" and "/team.a" shared "_team_a".)
// * It is derived from the name rather than the share's id so that the state directory stays
//   readable and a share deleted and created again finds its data again, as before. Share names
//   cannot change (PATCH /api/v1/shares/{name} takes no name); an API that renames shares must
//   move these directories too.
// * No name it makes contains '_', and every name of the old rule starts with '_', so an
//   old-style directory left behind can never be mistaken for a new-style one
//   (server/share_layout.h migrates them).
// * The result is never "." or "..", never ends in '.', and is safe in S3 keys.
// REQUIRES: `share` is a share name: it starts with '/', and not with "//".
std::string ShareDirName(std::string_view share);

// A postgres metadata store's schema prefix (metadata_schema, the "schema" of its definition):
// a lowercase letter or '_', then up to 29 lowercase letters, digits and '_'.
Status ValidMetadataSchemaPrefix(std::string_view prefix);
// The PostgreSQL schema of one share's metadata: `prefix`, '_', then the share's name without
// its leading '/' with lowercase letters and digits kept and every other byte as '_' and two hex
// digits ("/Data-1" is "dittofs__44ata_2d1"); when that is over 63 bytes, `prefix`, "_h" and 16
// hex digits of a hash of the name. Every dfs node that shares the database names it the same.
std::string PostgresSchemaFor(std::string_view prefix, std::string_view share);

// The name the rule before ShareDirName gave: '/' + name with every byte but [A-Za-z0-9-]
// folded to '_' ("_team_a" for both "/team_a" and "/team.a"). Read only to migrate.
std::string LegacyShareDirName(std::string_view share);

// The longest ShareDirName a share may have: a file name is at most 255 bytes, and the key file
// adds ".key".
inline constexpr size_t kMaxShareDirNameBytes = 250;

// What a store keeps in a place. A share's metadata and block stores use the same subdirectory
// name, so places of different roles must never be the same directory.
enum class StoreRole { kMetadata, kBlocks, kRemote };

// "metadata directory", "block directory", "remote".
std::string_view StoreRoleName(StoreRole role);

// One place where a store definition keeps its shares' data: a local directory, or an S3
// bucket and key prefix.
struct StoreLocation {
  StoreRole role = StoreRole::kMetadata;
  // Whether the place comes from the server's state directory rather than from the config.
  bool defaulted = false;
  std::string dir;       // a local directory; empty for an S3 remote
  std::string endpoint;  // an S3 remote's endpoint, bucket and key prefix ("" or ending in '/')
  std::string bucket;
  std::string prefix;

  bool is_s3() const { return !bucket.empty(); }
};

// The directory under `state_dir` where stores of `role` without a configured place keep
// their shares: <state_dir>/metadata, <state_dir>/blocks, <state_dir>/remote.
std::string DefaultStoreDir(std::string_view state_dir, StoreRole role);

// The places a metadata store definition keeps its shares' data: one directory for "rocksdb"
// (its config's "path", else the default), none for "memory". kInvalid for another type or a
// malformed config.
Result<std::vector<StoreLocation>> MetadataStoreLocations(std::string_view type,
                                                          std::string_view config_json,
                                                          std::string_view state_dir);
// Likewise for a block store definition: the directory of "localfs"; the journal directory and
// (for fs and s3 remotes) the remote of "tiered"; none for "memory".
Result<std::vector<StoreLocation>> BlockStoreLocations(std::string_view type,
                                                       std::string_view config_json,
                                                       std::string_view state_dir);

// The place share data named `dir_name` has under `base`: a subdirectory, or a key prefix.
StoreLocation ShareLocation(const StoreLocation& base, std::string_view dir_name);

// A remote place as one string, for logs and messages: "/srv/remote" or "s3://bucket/prefix/".
// With the endpoint when `with_endpoint`, which tells remotes apart exactly.
std::string DescribeLocation(const StoreLocation& location, bool with_endpoint = false);

// `path` made absolute and lexically normal, with the symbolic links of its existing leading
// part resolved (std::filesystem::weakly_canonical), and without a trailing '/'.
std::string NormalizePath(std::string_view path);

// How one place lies relative to another.
enum class Overlap { kNone, kSame, kInside, kContains };

// How `a` lies relative to `b`. Local directories compare as normalized paths (kInside: `a` is
// below `b`). S3 remotes compare by bucket and key prefix, whatever their endpoints (two
// endpoints may reach one bucket). A local directory and an S3 remote never overlap.
Overlap Relate(const StoreLocation& a, const StoreLocation& b);
// The same for two local paths.
Overlap RelatePaths(std::string_view a, std::string_view b);

// kInvalid, naming the directory, when `path` is relative, is "/", or lies in a system
// directory: /etc, /proc, /sys, /dev, /boot, /bin, /sbin, /lib*, /usr, /run, /var/run (checked
// both as written and with symbolic links resolved).
Status CheckNotSystemPath(std::string_view path);

}  // namespace dittofs::config

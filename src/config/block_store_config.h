// SPDX-License-Identifier: Apache-2.0
#pragma once

// The configuration of a "tiered" block store (stores/block/tiered): a local journal in front
// of a durable remote that holds content-addressed chunks. Both places that define block stores
// read it through ParseTieredBlockConfig: the REST API (a store definition's JSON `config`) and
// the config file (a share's `tiered:` map). Every key is described in docs/configuration.md.

#include <cstdint>
#include <string>
#include <string_view>

#include "base/result.h"

namespace dittofs::config {

// Where the tiered store keeps its chunks durably.
struct RemoteConfig {
  std::string type = "fs";  // memory | fs | s3
  // fs: the directory; empty = the server's default (<state_dir>/remote/<share>).
  std::string path;
  // s3 (the other types take none of these keys):
  std::string endpoint;  // https://s3.eu-west-1.amazonaws.com, http://127.0.0.1:9000; required
  std::string region = "us-east-1";
  std::string bucket;             // required
  std::string prefix;             // key prefix inside the bucket; may be empty
  bool path_style = true;         // false: virtual-host style (https://bucket.endpoint/key)
  std::string access_key_id;      // empty: AWS_ACCESS_KEY_ID from the server's environment
  std::string secret_access_key;  // empty: AWS_SECRET_ACCESS_KEY

  bool operator==(const RemoteConfig&) const = default;
};

struct TieredBlockConfig {
  // The journal's directory; empty = the server's default (<state_dir>/blocks/<share>).
  std::string dir;
  // The journal's capacity in bytes: the local cache. At least 64 MiB.
  uint64_t cache_size = uint64_t{4} << 30;
  // The journal's segment files: a new one starts once the current one would pass this size.
  // Retired segments are reused, so the journal rarely grows or deletes a file.
  uint64_t segment_size = 64 << 20;
  RemoteConfig remote;
  std::string compression = "zstd";  // none | lz4 | zstd
  int zstd_level = 3;                // 1..19
  std::string encryption = "none";   // none | aes-256-gcm | chacha20-poly1305
  // The key file; empty = the server's default (<state_dir>/keys/<share>.key).
  std::string key_file;
  // The environment variable holding the key file's passphrase.
  std::string passphrase_env = "DITTOFS_KEY_PASSPHRASE";
  // FastCDC chunk sizes: 64 <= chunk_min < chunk_avg < chunk_max <= 64 MiB. Fixed once data is
  // stored (changing them stops new data deduplicating against old).
  uint64_t chunk_min = 256 << 10;
  uint64_t chunk_avg = 1 << 20;
  uint64_t chunk_max = 4 << 20;
  uint64_t object_size = 8 << 20;          // chunks per uploaded object: 1 MiB .. 1 GiB
  uint64_t carve_dirty_bytes = 256 << 20;  // at least 1 MiB
  uint64_t carve_after_ms = 30000;
  uint32_t upload_parallelism = 4;  // 1..64
  uint64_t gc_grace_ms = 3600000;
  uint64_t gc_interval_ms = 60000;            // at least 100
  uint64_t reconcile_interval_ms = 21600000;  // at least 1000

  bool operator==(const TieredBlockConfig&) const = default;
};

// Parses and validates a tiered block store's JSON config: an object whose keys are the fields
// above (`remote` a nested object), every one optional. Sizes (cache_size, chunk_*,
// object_size, carve_dirty_bytes) are integers (bytes) or strings with a unit: "512KiB",
// "64MiB", "4GiB", "1TiB" (powers of 1024) or "1kB", "1MB", "1GB", "1TB" (powers of 1000),
// "4096" or "4096B". Durations (*_ms) are integers. Paths, when given, are absolute.
// Errc::kInvalid, with a message naming the key, for malformed JSON, an unknown key, a value of
// the wrong type or out of range, an s3 remote without endpoint or bucket, and an fs-only or
// s3-only remote key given for another remote type.
Result<TieredBlockConfig> ParseTieredBlockConfig(std::string_view json_text);

// The canonical JSON of `config`: every key (of `remote`, those its type takes), sizes as
// integers. For a valid config, ParseTieredBlockConfig(TieredBlockConfigToJson(c)) == c.
std::string TieredBlockConfigToJson(const TieredBlockConfig& config);

// The JSON type a key takes ("string", "integer", "boolean", or "size": an integer or a string
// with a unit), for clients that build a config from key=value text. A key of `remote` is
// named "remote.endpoint". Empty for an unknown key.
std::string_view TieredBlockConfigKeyType(std::string_view key);

// A JSON Schema (draft 2020-12) of the config object, from the same key table the parser uses.
std::string TieredBlockConfigJsonSchema();

// `config` as the body of a YAML map (a share's `tiered:`), one commented line per key, each
// line starting with `indent`; sizes are written with units ("4GiB"). Parsing it back (YAML to
// JSON, then ParseTieredBlockConfig) gives `config` again.
std::string RenderTieredBlockConfig(const TieredBlockConfig& config, std::string_view indent);

}  // namespace dittofs::config

// SPDX-License-Identifier: Apache-2.0
#include "config/store_layout.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <system_error>

#include "config/block_store_config.h"

namespace dittofs::config {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;

bool KeptAsIs(char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '-'; }

// The "path" of a rocksdb or localfs config ({"path": "/abs"}), or empty.
Result<std::string> PathOf(std::string_view type, std::string_view config_json) {
  json config = json::parse(config_json, nullptr, /*allow_exceptions=*/false);
  if (!config.is_object()) {
    return Status(Errc::kInvalid, fmt::format("a {} store's config must be an object", type));
  }
  auto path = config.find("path");
  if (path == config.end()) return std::string();
  if (!path->is_string()) {
    return Status(Errc::kInvalid, fmt::format("a {} store's 'path' must be a string", type));
  }
  return path->get<std::string>();
}

StoreLocation LocalAt(StoreRole role, const std::string& configured, std::string_view state_dir) {
  StoreLocation l;
  l.role = role;
  l.defaulted = configured.empty();
  l.dir = configured.empty() ? DefaultStoreDir(state_dir, role) : configured;
  return l;
}

// Whether the absolute, lexically normal `path` is a system directory or lies in one.
bool InSystemDir(const std::string& path) {
  if (path == "/") return true;
  std::string_view rest = std::string_view(path).substr(1);
  std::string_view first = rest.substr(0, rest.find('/'));
  for (std::string_view dir : {"etc", "proc", "sys", "dev", "boot", "bin", "sbin", "usr", "run"}) {
    if (first == dir) return true;
  }
  if (first.starts_with("lib")) return true;  // lib, lib32, lib64, libx32, ...
  return path == "/var/run" || path.starts_with("/var/run/");
}

}  // namespace

Status ValidMetadataSchemaPrefix(std::string_view prefix) {
  const auto lower = [](char c) { return (c >= 'a' && c <= 'z') || c == '_'; };
  const bool ok = !prefix.empty() && prefix.size() <= 30 && lower(prefix[0]) &&
                  std::all_of(prefix.begin(), prefix.end(),
                              [&](char c) { return lower(c) || (c >= '0' && c <= '9'); });
  if (ok) return Status::Ok();
  return Status(Errc::kInvalid,
                fmt::format("metadata schema prefix '{}' must be a lowercase letter or '_', then "
                            "up to 29 lowercase letters, digits and '_'",
                            prefix));
}

std::string PostgresSchemaFor(std::string_view prefix, std::string_view share) {
  std::string_view rest = share;
  if (rest.size() > 1 && rest.front() == '/') rest.remove_prefix(1);
  std::string out(prefix);
  out += '_';
  for (char c : rest) {
    if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')) {
      out += c;
    } else {
      out += fmt::format("_{:02x}", static_cast<unsigned char>(c));
    }
  }
  if (out.size() <= 63) return out;
  uint64_t hash = 0xcbf29ce484222325ull;  // FNV-1a
  for (char c : share) hash = (hash ^ static_cast<unsigned char>(c)) * 0x100000001b3ull;
  return fmt::format("{}_h{:016x}", prefix, hash);
}

std::string ShareDirName(std::string_view share) {
  std::string_view rest = share;
  if (rest.size() > 1 && rest.front() == '/') rest.remove_prefix(1);  // "/" itself is encoded
  std::string out;
  out.reserve(rest.size());
  for (char c : rest) {
    if (KeptAsIs(c)) {
      out += c;
    } else {
      out += fmt::format(".{:02X}", static_cast<unsigned char>(c));
    }
  }
  return out;
}

std::string LegacyShareDirName(std::string_view share) {
  std::string out;
  for (char c : share) out += KeptAsIs(c) ? c : '_';
  return out;
}

std::string_view StoreRoleName(StoreRole role) {
  switch (role) {
    case StoreRole::kMetadata:
      return "metadata directory";
    case StoreRole::kBlocks:
      return "block directory";
    case StoreRole::kRemote:
      return "remote";
  }
  return "directory";
}

std::string DefaultStoreDir(std::string_view state_dir, StoreRole role) {
  switch (role) {
    case StoreRole::kMetadata:
      return fmt::format("{}/metadata", state_dir);
    case StoreRole::kBlocks:
      return fmt::format("{}/blocks", state_dir);
    case StoreRole::kRemote:
      return fmt::format("{}/remote", state_dir);
  }
  return std::string(state_dir);
}

Result<std::vector<StoreLocation>> MetadataStoreLocations(std::string_view type,
                                                          std::string_view config_json,
                                                          std::string_view state_dir) {
  if (type == "memory" || type == "postgres") return std::vector<StoreLocation>{};
  if (type == "rocksdb") {
    ASSIGN_OR_RETURN(std::string path, PathOf(type, config_json));
    return std::vector<StoreLocation>{LocalAt(StoreRole::kMetadata, path, state_dir)};
  }
  return Status(Errc::kInvalid, fmt::format("unknown metadata store type {}", type));
}

Result<std::vector<StoreLocation>> BlockStoreLocations(std::string_view type,
                                                       std::string_view config_json,
                                                       std::string_view state_dir) {
  if (type == "memory") return std::vector<StoreLocation>{};
  if (type == "localfs") {
    ASSIGN_OR_RETURN(std::string path, PathOf(type, config_json));
    return std::vector<StoreLocation>{LocalAt(StoreRole::kBlocks, path, state_dir)};
  }
  if (type != "tiered")
    return Status(Errc::kInvalid, fmt::format("unknown block store type {}", type));
  ASSIGN_OR_RETURN(TieredBlockConfig tc, ParseTieredBlockConfig(config_json));
  std::vector<StoreLocation> out{LocalAt(StoreRole::kBlocks, tc.dir, state_dir)};
  if (tc.remote.type == "fs") {
    out.push_back(LocalAt(StoreRole::kRemote, tc.remote.path, state_dir));
  } else if (tc.remote.type == "s3") {
    StoreLocation l;
    l.role = StoreRole::kRemote;
    l.endpoint = tc.remote.endpoint;
    l.bucket = tc.remote.bucket;
    l.prefix = tc.remote.prefix;
    if (!l.prefix.empty() && l.prefix.back() != '/') l.prefix += '/';
    out.push_back(std::move(l));
  }
  return out;
}

StoreLocation ShareLocation(const StoreLocation& base, std::string_view dir_name) {
  StoreLocation l = base;
  if (l.is_s3()) {
    l.prefix = fmt::format("{}{}/", base.prefix, dir_name);
  } else {
    l.dir = fmt::format("{}/{}", base.dir, dir_name);
  }
  return l;
}

std::string DescribeLocation(const StoreLocation& location, bool with_endpoint) {
  if (!location.is_s3()) return location.dir;
  if (with_endpoint) {
    return fmt::format("{} s3://{}/{}", location.endpoint, location.bucket, location.prefix);
  }
  return fmt::format("s3://{}/{}", location.bucket, location.prefix);
}

std::string NormalizePath(std::string_view path) {
  std::error_code ec;
  fs::path p = fs::absolute(fs::path(path), ec);
  if (ec) p = fs::path(path);
  p = p.lexically_normal();
  fs::path resolved = fs::weakly_canonical(p, ec);
  if (!ec) p = resolved.lexically_normal();
  std::string out = p.string();
  while (out.size() > 1 && out.back() == '/') out.pop_back();
  return out;
}

Overlap RelatePaths(std::string_view a, std::string_view b) {
  std::string na = NormalizePath(a);
  std::string nb = NormalizePath(b);
  if (na == nb) return Overlap::kSame;
  auto below = [](const std::string& inner, const std::string& outer) {
    return outer == "/" ||
           (inner.size() > outer.size() && inner.starts_with(outer) && inner[outer.size()] == '/');
  };
  if (below(na, nb)) return Overlap::kInside;
  if (below(nb, na)) return Overlap::kContains;
  return Overlap::kNone;
}

Overlap Relate(const StoreLocation& a, const StoreLocation& b) {
  if (a.is_s3() != b.is_s3()) return Overlap::kNone;
  if (!a.is_s3()) return RelatePaths(a.dir, b.dir);
  if (a.bucket != b.bucket) return Overlap::kNone;
  // Prefixes are "" or end in '/', so a string prefix is a "directory" prefix.
  if (a.prefix == b.prefix) return Overlap::kSame;
  if (a.prefix.starts_with(b.prefix)) return Overlap::kInside;
  if (b.prefix.starts_with(a.prefix)) return Overlap::kContains;
  return Overlap::kNone;
}

Status CheckNotSystemPath(std::string_view path) {
  if (path.empty() || path.front() != '/') {
    return Status(Errc::kInvalid, fmt::format("{} is not an absolute path", path));
  }
  std::string lexical = fs::path(path).lexically_normal().string();
  while (lexical.size() > 1 && lexical.back() == '/') lexical.pop_back();
  std::string resolved = NormalizePath(path);
  if (InSystemDir(lexical) || InSystemDir(resolved)) {
    return Status(Errc::kInvalid,
                  fmt::format("{} is {}a system directory; keep stores elsewhere, e.g. under "
                              "/var/lib or /srv",
                              path, lexical == "/" || resolved == "/" ? "" : "in "));
  }
  return Status::Ok();
}

}  // namespace dittofs::config

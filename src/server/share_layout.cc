// SPDX-License-Identifier: Apache-2.0
#include "server/share_layout.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <system_error>

#include "base/log.h"
#include "config/store_layout.h"

namespace dittofs::server {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;
using stores::RecordTable;

constexpr std::string_view kRemoteKey = "remote";
constexpr std::string_view kBlocksKey = "blocks";

bool Exists(const std::string& path) {
  std::error_code ec;
  return fs::exists(fs::symlink_status(path, ec));
}

// Whether `metadata` refers to objects on a remote: objects holding chunks, or dead objects
// waiting for garbage collection.
Result<bool> HoldsObjects(stores::MetadataStore& metadata) {
  std::unique_ptr<stores::MetadataTxn> txn = metadata.Begin();
  for (RecordTable table : {RecordTable::kObjects, RecordTable::kGcQueue}) {
    ASSIGN_OR_RETURN(std::vector<stores::Record> some, txn->ScanRecords(table, "", "", 1));
    if (!some.empty()) return true;
  }
  return false;
}

}  // namespace

std::string RemoteIdentity(const config::StoreLocation& remote) {
  return remote.is_s3() ? config::DescribeLocation(remote, /*with_endpoint=*/true)
                        : config::NormalizePath(remote.dir);
}

Status MigrateLegacyDirs(const std::vector<LegacyDirClaim>& claims) {
  // The claims on each old directory, lowest share id first.
  std::map<std::string, std::vector<const LegacyDirClaim*>> by_dir;
  for (const LegacyDirClaim& claim : claims) {
    std::vector<const LegacyDirClaim*>& list = by_dir[config::NormalizePath(claim.legacy_dir)];
    bool known = std::any_of(list.begin(), list.end(), [&](const LegacyDirClaim* c) {
      return c->share_id == claim.share_id;
    });
    if (!known) list.push_back(&claim);
  }
  for (auto& [legacy, list] : by_dir) {
    if (!Exists(legacy)) continue;
    std::sort(list.begin(), list.end(), [](const LegacyDirClaim* a, const LegacyDirClaim* b) {
      return a->share_id < b->share_id;
    });
    const LegacyDirClaim& owner = *list.front();
    for (size_t i = 1; i < list.size(); ++i) {
      LOG_WARN(
          "share {}: its data was kept in {} together with share {}'s (their names map to the "
          "same directory name under the old naming rule, so each saw and changed the other's "
          "files); that directory now belongs to share {} (the older share), and share {} starts "
          "empty in {}",
          list[i]->share, legacy, owner.share, owner.share, list[i]->share, list[i]->dir);
    }
    if (Exists(owner.dir)) {
      LOG_WARN(
          "share {}: both {} and the directory of the old naming rule {} exist; using the "
          "first and leaving the second alone",
          owner.share, owner.dir, legacy);
      continue;
    }
    std::error_code ec;
    fs::rename(legacy, owner.dir, ec);
    if (ec) {
      return Status(Errc::kIo, fmt::format("share {}: cannot rename {} to {}: {}", owner.share,
                                           legacy, owner.dir, ec.message()));
    }
    LOG_INFO("share {}: moved {} to {} (the new naming rule)", owner.share, legacy, owner.dir);
  }
  return Status::Ok();
}

Result<std::string> RemoteDirName(stores::MetadataStore& metadata, std::string_view share,
                                  std::string_view remote, const LegacyRemote& legacy) {
  std::string name = config::ShareDirName(share);
  std::string recorded_remote;
  {
    std::unique_ptr<stores::MetadataTxn> txn = metadata.Begin();
    Result<std::string> record = txn->GetRecord(RecordTable::kShareLayout, kRemoteKey);
    if (!record.ok() && record.status().code() != Errc::kNotFound) return record.status();
    if (record.ok()) {
      json j = json::parse(*record, nullptr, /*allow_exceptions=*/false);
      if (j.is_object() && j.value("remote", "") == remote && j.contains("name") &&
          j["name"].is_string()) {
        return j["name"].get<std::string>();
      }
      recorded_remote = j.is_object() ? j.value("remote", "") : "";
    }
  }
  if (!recorded_remote.empty()) {
    // The share's block store now has another remote: the objects recorded stay on the old one.
    LOG_WARN("share {}: its chunk index was recorded for remote {}, its remote is now {}", share,
             recorded_remote, remote);
  } else {
    ASSIGN_OR_RETURN(bool holds_objects, HoldsObjects(metadata));
    if (holds_objects) {
      std::string old_name = config::LegacyShareDirName(share);
      if (legacy.owner) {
        name = old_name;
        LOG_INFO("share {}: keeps the objects it uploaded before under the old name {} on {}",
                 share, old_name, remote);
        if (!legacy.sharers.empty()) {
          LOG_WARN(
              "share {}: shares {} used {} on {} as well (their names map to the same "
              "name under the old naming rule); their objects may be deleted from it as "
              "orphans",
              share, fmt::join(legacy.sharers, ", "), old_name, remote);
        }
      } else {
        LOG_WARN(
            "share {}: its chunk index refers to objects under {} on {}, which belongs to "
            "an older share whose name maps to the same name under the old naming rule; "
            "the share now keeps its objects under {}, and data it uploaded before may be "
            "unreadable",
            share, old_name, remote, name);
      }
    }
  }
  json record = {{"remote", remote}, {"name", name}};
  RETURN_IF_ERROR(stores::RunTransaction(metadata, [&](stores::MetadataTxn& txn) {
    txn.PutRecord(RecordTable::kShareLayout, kRemoteKey, record.dump());
    return Status::Ok();
  }));
  return name;
}

Result<std::optional<BlockPlacement>> ReadBlockPlacement(stores::MetadataStore& metadata) {
  std::unique_ptr<stores::MetadataTxn> txn = metadata.Begin();
  Result<std::string> record = txn->GetRecord(RecordTable::kShareLayout, kBlocksKey);
  if (record.status().code() == Errc::kNotFound) return std::optional<BlockPlacement>();
  RETURN_IF_ERROR(record.status());
  json j = json::parse(*record, nullptr, /*allow_exceptions=*/false);
  if (!j.is_object() || !j.contains("block_store") || !j["block_store"].is_number_integer() ||
      !j.contains("index_namespace") || !j["index_namespace"].is_string()) {
    return Status(Errc::kIo, "corrupt share layout record: " + *record);
  }
  return std::optional<BlockPlacement>(
      BlockPlacement{j["block_store"].get<int64_t>(), j["index_namespace"].get<std::string>()});
}

Status WriteBlockPlacement(stores::MetadataStore& metadata, const BlockPlacement& placement) {
  json record = {{"block_store", placement.block_store_id},
                 {"index_namespace", placement.index_namespace}};
  // A RocksDB metadata store syncs each commit (sync_commits): the record is durable on return.
  return stores::RunTransaction(metadata, [&](stores::MetadataTxn& txn) {
    txn.PutRecord(RecordTable::kShareLayout, kBlocksKey, record.dump());
    return Status::Ok();
  });
}

std::string FreshIndexNamespace(int64_t block_store_id, std::string_view current) {
  std::string ns = fmt::format("b{}/", block_store_id);
  if (ns == current) ns = fmt::format("b{}.1/", block_store_id);
  return ns;
}

}  // namespace dittofs::server

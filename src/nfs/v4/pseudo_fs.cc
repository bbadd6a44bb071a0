// SPDX-License-Identifier: Apache-2.0
#include "nfs/v4/pseudo_fs.h"

#include <algorithm>

namespace dittofs::nfs {

uint64_t PseudoFs::IdOf(std::string_view path) {
  if (path == "/") return kPseudoRootId;
  // FNV-1a: stable across runs and builds. The top bit keeps ids away from the root's.
  uint64_t h = 0xcbf29ce484222325ull;
  for (char c : path) {
    h ^= static_cast<uint8_t>(c);
    h *= 0x100000001b3ull;
  }
  return h | (1ull << 63);
}

PseudoFs PseudoFs::Of(const core::ShareTable& shares) {
  PseudoFs fs;
  fs.nodes_.push_back({kPseudoRootId, kPseudoRootId, "/", {}});
  auto node_at = [&fs](const std::string& path, uint64_t parent) -> size_t {
    uint64_t id = IdOf(path);
    for (size_t i = 0; i < fs.nodes_.size(); ++i) {
      if (fs.nodes_[i].id == id) return i;
    }
    fs.nodes_.push_back({id, parent, path, {}});
    return fs.nodes_.size() - 1;
  };
  for (const auto& share : shares.All()) {
    // Split the name into components; empty ones ("//", a leading or trailing '/') go.
    std::vector<std::string> parts;
    std::string_view rest = share->name();
    while (!rest.empty()) {
      size_t slash = rest.find('/');
      std::string_view part = rest.substr(0, slash);
      if (!part.empty()) parts.emplace_back(part);
      if (slash == std::string_view::npos) break;
      rest.remove_prefix(slash + 1);
    }
    if (parts.empty()) continue;  // a share named "/" is not reachable through the pseudo fs
    size_t dir = 0;
    std::string path;
    for (size_t i = 0; i + 1 < parts.size(); ++i) {
      std::string child_path = path + "/" + parts[i];
      uint64_t parent_id = fs.nodes_[dir].id;
      size_t child = node_at(child_path, parent_id);
      auto& entries = fs.nodes_[dir].entries;
      auto it = std::find_if(entries.begin(), entries.end(),
                             [&](const Entry& e) { return e.name == parts[i]; });
      if (it == entries.end()) {
        entries.push_back({parts[i], fs.nodes_[child].id, 0});
      } else if (it->share != 0) {
        // A share is mounted where this share's path goes through: the deeper one is reached
        // through the share's own directories, not the pseudo fs.
        dir = SIZE_MAX;
        break;
      }
      dir = child;
      path = child_path;
    }
    if (dir == SIZE_MAX) continue;
    auto& entries = fs.nodes_[dir].entries;
    auto it = std::find_if(entries.begin(), entries.end(),
                           [&](const Entry& e) { return e.name == parts.back(); });
    if (it == entries.end()) {
      entries.push_back({parts.back(), 0, share->id()});
    } else {
      // A share takes the place of a pseudo directory of the same path.
      it->pseudo = 0;
      it->share = share->id();
    }
  }
  for (auto& n : fs.nodes_) {
    std::sort(n.entries.begin(), n.entries.end(),
              [](const Entry& a, const Entry& b) { return a.name < b.name; });
  }
  return fs;
}

const PseudoFs::Node* PseudoFs::Find(uint64_t id) const {
  for (const auto& n : nodes_) {
    if (n.id == id) return &n;
  }
  return nullptr;
}

const PseudoFs::Entry* PseudoFs::Lookup(const Node& dir, std::string_view name) const {
  for (const auto& e : dir.entries) {
    if (e.name == name) return &e;
  }
  return nullptr;
}

std::optional<std::pair<uint64_t, std::string>> PseudoFs::MountPoint(core::ShareId share) const {
  for (const auto& n : nodes_) {
    for (const auto& e : n.entries) {
      if (e.share == share) return std::make_pair(n.id, e.name);
    }
  }
  return std::nullopt;
}

}  // namespace dittofs::nfs

// SPDX-License-Identifier: Apache-2.0
#pragma once

// The NFSv4 pseudo file system (RFC 8881 §7.3): read-only directories from "/" down to every
// share, each share at its name ("/export" is the directory "export" of the root; "/a/b" is
// "b" in the pseudo directory "a"). A client mounts "/" or any share's path and crosses into a
// share by LOOKUP; the share's access policy applies from there.
//
// Pseudo directories have stable ids (a hash of their path), so their file handles survive
// restarts and share changes; the root's id is kPseudoRootId.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/shares.h"
#include "core/types.h"

namespace dittofs::nfs {

inline constexpr uint64_t kPseudoRootId = 1;

class PseudoFs {
 public:
  struct Entry {
    std::string name;
    uint64_t pseudo = 0;      // a pseudo directory's id, or
    core::ShareId share = 0;  // the share mounted here
  };
  struct Node {
    uint64_t id = 0;
    uint64_t parent = 0;         // the root's parent is itself
    std::string path;            // "/" or "/a/b"
    std::vector<Entry> entries;  // by name
  };

  // The tree of the shares `shares` serves now.
  static PseudoFs Of(const core::ShareTable& shares);

  const Node* Find(uint64_t id) const;
  const Entry* Lookup(const Node& dir, std::string_view name) const;
  // The pseudo directory a share is mounted in, and its name there.
  std::optional<std::pair<uint64_t, std::string>> MountPoint(core::ShareId share) const;
  // The id of the pseudo directory at `path`.
  static uint64_t IdOf(std::string_view path);

 private:
  std::vector<Node> nodes_;
};

}  // namespace dittofs::nfs

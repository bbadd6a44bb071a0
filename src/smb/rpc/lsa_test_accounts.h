// SPDX-License-Identifier: Apache-2.0
#pragma once

// The accounts the lsarpc tests name: a server DITTOFS in workgroup WORKGROUP, machine SID
// S-1-5-21-1-2-3, users alice (1000) and root (0), group staff (50); names match exactly.

#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "smb/rpc/lsa_names.h"

namespace dittofs::smb::rpc {

inline LsaAccounts TestAccounts() {
  using Table = std::map<std::string, uint32_t, std::less<>>;
  static const Table users = {{"alice", 1000}, {"root", 0}};
  static const Table groups = {{"staff", 50}};
  const auto name_of = [](const Table& table) {
    return [&table](uint32_t id) -> std::optional<std::string> {
      for (const auto& [name, n] : table) {
        if (n == id) return name;
      }
      return std::nullopt;
    };
  };
  const auto id_of = [](const Table& table) {
    return [&table](std::string_view name) -> std::optional<uint32_t> {
      auto it = table.find(name);
      if (it == table.end()) return std::nullopt;
      return it->second;
    };
  };
  return {security::SidMap(*security::ParseSid("S-1-5-21-1-2-3")),
          "DITTOFS",
          "WORKGROUP",
          name_of(users),
          name_of(groups),
          id_of(users),
          id_of(groups)};
}

}  // namespace dittofs::smb::rpc

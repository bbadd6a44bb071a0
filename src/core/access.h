// SPDX-License-Identifier: Apache-2.0
#pragma once

// Who may use a share: client networks, and a permission level per user.

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "base/result.h"

namespace dittofs::core {

// What a user may do on a share, in increasing order.
enum class Permission { kNone = 0, kRead = 1, kReadWrite = 2, kAdmin = 3 };

// An IPv4 or IPv6 network (an address with a prefix length). IPv4-mapped IPv6 addresses
// ("::ffff:10.1.2.3") match IPv4 networks.
class Cidr {
 public:
  // "10.0.0.0/8", "2001:db8::/32", or a bare address (a /32 or /128).
  static Result<Cidr> Parse(std::string_view text);
  // Whether `address` (textual, as a connection reports it) is in this network. An address that
  // does not parse is in no network.
  bool Contains(std::string_view address) const;
  const std::string& text() const { return text_; }

 private:
  std::array<uint8_t, 16> bytes_{};  // IPv4 stored as IPv4-mapped IPv6
  int prefix_ = 0;                   // over the 128-bit form
  std::string text_;
};

// A share's access policy, resolved from the control plane. Immutable once built: a change
// makes a new policy (and a new Vfs for the share).
struct SharePolicy {
  std::vector<Cidr> allowed_clients;  // empty: every client
  std::vector<Cidr> denied_clients;   // wins over allowed_clients
  Permission default_permission = Permission::kReadWrite;
  // Users' own levels by uid (after their groups were taken into account); callers whose uid is
  // not here get default_permission.
  std::unordered_map<uint32_t, Permission> by_uid;

  bool ClientAllowed(std::string_view address) const;
  Permission PermissionOf(uint32_t uid) const;
};

}  // namespace dittofs::core

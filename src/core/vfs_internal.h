// SPDX-License-Identifier: Apache-2.0
#pragma once

// What vfs.cc and recycle.cc, the two halves of core::Vfs, share; nothing outside them uses it.

#include <cstdint>

namespace dittofs::core::internal {

inline constexpr uint32_t kModeMask = 07777;
inline constexpr uint32_t kMaxLinks = 65000;
// Directory cookies 1 and 2 are left to protocols that list "." and ".."; entries start at 3.
inline constexpr uint64_t kFirstCookie = 3;
// No tree is this deep: an ancestor walk that goes on longer has met a cycle.
inline constexpr uint64_t kMaxAncestorWalk = uint64_t{1} << 24;

}  // namespace dittofs::core::internal

// SPDX-License-Identifier: Apache-2.0
#pragma once

// Shorthands the core tests share; nothing outside tests includes this.

#include <cstdint>
#include <utility>
#include <vector>

#include "core/types.h"

namespace dittofs::core::test {

// A caller with these ids (and supplementary groups).
inline Caller User(uint32_t uid, uint32_t gid, std::vector<uint32_t> groups = {}) {
  Caller c;
  c.uid = uid;
  c.gid = gid;
  c.groups = std::move(groups);
  return c;
}

// Attributes that set the mode alone.
inline SetAttrs Mode(uint32_t mode) {
  SetAttrs a;
  a.set_mode(mode);
  return a;
}

}  // namespace dittofs::core::test

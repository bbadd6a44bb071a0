// SPDX-License-Identifier: Apache-2.0
#pragma once

// What the smb/rpc tests share to read answers: little-endian loads, and a comparison of a
// stub with one built by hand that checks referent ids only for being nonzero.

#include <gtest/gtest.h>

#include <cstddef>
#include <cstdint>
#include <vector>

namespace dittofs::smb::rpc {

inline uint16_t Le16(const std::vector<std::byte>& b, size_t at) {
  return uint16_t(uint8_t(b[at]) | uint8_t(b[at + 1]) << 8);
}
inline uint32_t Le32(const std::vector<std::byte>& b, size_t at) {
  return Le16(b, at) | uint32_t(Le16(b, at + 2)) << 16;
}

// `got` equals `want.b` except at `want.referents`, where each must hold a nonzero referent
// id (of any value).
template <typename Built>
::testing::AssertionResult Matches(const std::vector<std::byte>& got, const Built& want) {
  if (got.size() != want.b.size()) {
    return ::testing::AssertionFailure() << "size " << got.size() << ", want " << want.b.size();
  }
  std::vector<std::byte> masked = got;
  std::vector<std::byte> expected = want.b;
  for (size_t at : want.referents) {
    if (Le32(got, at) == 0) return ::testing::AssertionFailure() << "NULL referent at " << at;
    for (size_t i = 0; i < 4; ++i) masked[at + i] = expected[at + i] = std::byte{0};
  }
  for (size_t i = 0; i < got.size(); ++i) {
    if (masked[i] != expected[i]) {
      return ::testing::AssertionFailure()
             << "byte " << i << " is " << int(masked[i]) << ", want " << int(expected[i]);
    }
  }
  return ::testing::AssertionSuccess();
}

}  // namespace dittofs::smb::rpc

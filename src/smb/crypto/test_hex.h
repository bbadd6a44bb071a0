// SPDX-License-Identifier: Apache-2.0
#pragma once

// Hex helpers for smb/crypto's tests: spec vectors are written as hex, as their sources print them.

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "base/bytes.h"

namespace dittofs::smb::crypto::testing {

// Bytes from hex digits; spaces are skipped. An odd or non-hex digit is a bug in the test.
inline std::vector<std::byte> Hex(std::string_view hex) {
  auto digit = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  std::vector<std::byte> out;
  int high = -1;
  for (char c : hex) {
    if (c == ' ') continue;
    int d = digit(c);
    if (d < 0) std::abort();
    if (high < 0) {
      high = d;
    } else {
      out.push_back(std::byte((high << 4) | d));
      high = -1;
    }
  }
  if (high >= 0) std::abort();
  return out;
}

inline std::string ToHex(ByteView bytes) {
  static constexpr char kDigits[] = "0123456789ABCDEF";
  std::string out;
  for (std::byte b : bytes) {
    out.push_back(kDigits[uint8_t(b) >> 4]);
    out.push_back(kDigits[uint8_t(b) & 15]);
  }
  return out;
}

}  // namespace dittofs::smb::crypto::testing

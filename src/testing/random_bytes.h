// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <random>
#include <string>
#include <vector>

namespace dittofs::testing {

// `size` pseudo-random (incompressible) bytes, the same for the same seed: std::mt19937_64's
// sequence is fixed by the C++ standard, each draw giving 8 bytes in host order.
inline void FillRandom(void* out, size_t size, uint64_t seed) {
  std::mt19937_64 rng(seed);
  auto* p = static_cast<unsigned char*>(out);
  for (size_t i = 0; i < size; i += 8) {
    uint64_t v = rng();
    std::memcpy(p + i, &v, std::min<size_t>(8, size - i));
  }
}

inline std::string RandomString(size_t size, uint64_t seed) {
  std::string out(size, '\0');
  FillRandom(out.data(), size, seed);
  return out;
}

inline std::vector<std::byte> RandomBytes(size_t size, uint64_t seed) {
  std::vector<std::byte> out(size);
  FillRandom(out.data(), size, seed);
  return out;
}

}  // namespace dittofs::testing

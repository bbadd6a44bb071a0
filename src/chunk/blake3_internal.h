// SPDX-License-Identifier: Apache-2.0
#pragma once

// The BLAKE3 constants (blake3.pdf §2.1, §2.2) shared by the portable code (blake3.cc) and the
// SIMD kernels (blake3_avx2.cc, blake3_avx512.cc). Not part of the chunk library's interface.

#include <array>
#include <cstddef>
#include <cstdint>

namespace dittofs::chunk::internal {

// §2.1: the initialization vector is SHA-256's.
inline constexpr std::array<uint32_t, 8> kIv = {0x6A09E667, 0xBB67AE85, 0x3C6EF372, 0xA54FF53A,
                                                0x510E527F, 0x9B05688C, 0x1F83D9AB, 0x5BE0CD19};

// §2.1, Table 3: domain separation flags.
enum : uint8_t {
  kChunkStart = 1 << 0,
  kChunkEnd = 1 << 1,
  kParent = 1 << 2,
  kRoot = 1 << 3,
  kKeyedHash = 1 << 4,
  kDeriveKeyContext = 1 << 5,
  kDeriveKeyMaterial = 1 << 6,
};

inline constexpr size_t kBlockLen = 64;
inline constexpr size_t kChunkLen = 1024;

// §2.2: the message words each of the 7 rounds reads, i.e. the permutation applied r times.
constexpr std::array<std::array<uint8_t, 16>, 7> MakeSchedule() {
  constexpr std::array<uint8_t, 16> kPermutation = {2, 6,  3,  10, 7, 0,  4,  13,
                                                    1, 11, 12, 5,  9, 14, 15, 8};
  std::array<std::array<uint8_t, 16>, 7> schedule{};
  for (uint8_t i = 0; i < 16; ++i) schedule[0][i] = i;
  for (int r = 1; r < 7; ++r) {
    for (int i = 0; i < 16; ++i) schedule[r][i] = schedule[r - 1][kPermutation[i]];
  }
  return schedule;
}
inline constexpr auto kSchedule = MakeSchedule();

}  // namespace dittofs::chunk::internal

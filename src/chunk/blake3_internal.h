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

// The seven rounds of the compression function over the state `v` and the message `m`, for
// every word type: a uint32_t, or a SIMD vector holding one input per lane. `Mix` is that
// type's G function, (v, a, b, c, d, x, y): a template argument, so each call is direct and
// inlined. `v` and `m` never overlap: said, so that the compiler keeps the message words in
// registers across the state's stores (without it the scalar rounds ran 25 % slower).
template <auto Mix, typename Word>
[[gnu::always_inline]] inline void Rounds(Word* __restrict v, const Word* __restrict m) {
#pragma GCC unroll 7
  for (int r = 0; r < 7; ++r) {
    const auto& s = kSchedule[r];
    Mix(v, 0, 4, 8, 12, m[s[0]], m[s[1]]);  // the columns
    Mix(v, 1, 5, 9, 13, m[s[2]], m[s[3]]);
    Mix(v, 2, 6, 10, 14, m[s[4]], m[s[5]]);
    Mix(v, 3, 7, 11, 15, m[s[6]], m[s[7]]);
    Mix(v, 0, 5, 10, 15, m[s[8]], m[s[9]]);  // the diagonals
    Mix(v, 1, 6, 11, 12, m[s[10]], m[s[11]]);
    Mix(v, 2, 7, 8, 13, m[s[12]], m[s[13]]);
    Mix(v, 3, 4, 9, 14, m[s[14]], m[s[15]]);
  }
}

}  // namespace dittofs::chunk::internal

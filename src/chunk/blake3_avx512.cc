// SPDX-License-Identifier: Apache-2.0
//
// BLAKE3 compression of sixteen independent one-block messages at once with AVX-512F: each
// 512-bit register holds the same state word of sixteen messages (one per 32-bit lane), so the
// compression function of blake3.pdf §2.2 runs unchanged, lane-wise, with the native 32-bit
// rotates of AVX-512. Used for the keyed MACs of file handles (Blake3KeyedShortMany). Compiled
// with -mavx512f (see CMakeLists.txt); only called when the CPU reports AVX-512F.
#include <array>
#include <cstdint>

#include "chunk/blake3_internal.h"

#ifndef __AVX512F__
#error "blake3_avx512.cc must be compiled with -mavx512f"
#endif
#include <immintrin.h>

namespace dittofs::chunk::internal {
namespace {

// The zero-masking form with every lane selected: GCC 12's plain _mm512_ror_epi32 passes an
// "undefined" source that -Werror=uninitialized rejects.
template <int N>
inline __m512i Rotr(__m512i x) {
  return _mm512_maskz_ror_epi32(static_cast<__mmask16>(0xFFFF), x, N);
}

inline void G(__m512i* v, int a, int b, int c, int d, __m512i x, __m512i y) {
  v[a] = _mm512_add_epi32(_mm512_add_epi32(v[a], v[b]), x);
  v[d] = Rotr<16>(_mm512_xor_si512(v[d], v[a]));
  v[c] = _mm512_add_epi32(v[c], v[d]);
  v[b] = Rotr<12>(_mm512_xor_si512(v[b], v[c]));
  v[a] = _mm512_add_epi32(_mm512_add_epi32(v[a], v[b]), y);
  v[d] = Rotr<8>(_mm512_xor_si512(v[d], v[a]));
  v[c] = _mm512_add_epi32(v[c], v[d]);
  v[b] = Rotr<7>(_mm512_xor_si512(v[b], v[c]));
}

}  // namespace

// Declared in blake3.cc. Sixteen one-block messages: words[w][lane] is message word w of
// lane `lane`, lens[lane] its length in bytes; counter 0 and the same flags for all. Writes
// word w of each lane's output chaining value to out[w][lane].
void Blake3CompressSingleBlocksAvx512Impl(const uint32_t words[16][16], const uint32_t lens[16],
                                          const uint32_t key[8], uint8_t flags,
                                          uint32_t out[8][16]) {
  __m512i m[16];
  for (int w = 0; w < 16; ++w) m[w] = _mm512_loadu_si512(words[w]);
  __m512i v[16];
  for (int i = 0; i < 8; ++i) v[i] = _mm512_set1_epi32(static_cast<int>(key[i]));
  for (int i = 0; i < 4; ++i) v[8 + i] = _mm512_set1_epi32(static_cast<int>(kIv[i]));
  v[12] = _mm512_setzero_si512();
  v[13] = _mm512_setzero_si512();
  v[14] = _mm512_loadu_si512(lens);
  v[15] = _mm512_set1_epi32(flags);
  Rounds<G>(v, m);
  for (int i = 0; i < 8; ++i) _mm512_storeu_si512(out[i], _mm512_xor_si512(v[i], v[i + 8]));
}

}  // namespace dittofs::chunk::internal

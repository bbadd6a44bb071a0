// SPDX-License-Identifier: Apache-2.0
//
// BLAKE3 chunk compression eight chunks at a time with AVX2: each 256-bit register holds the
// same state word of eight independent chunks (one per 32-bit lane), so the compression
// function of blake3.pdf §2.2 runs unchanged, lane-wise. Compiled with -mavx2 (see
// CMakeLists.txt); only called when the CPU reports AVX2.
#include <array>
#include <cstring>

#include "chunk/blake3.h"
#include "chunk/blake3_internal.h"

#ifndef __AVX2__
#error "blake3_avx2.cc must be compiled with -mavx2"
#endif
#include <immintrin.h>

namespace dittofs::chunk::internal {
namespace {

inline __m256i Add(__m256i a, __m256i b) { return _mm256_add_epi32(a, b); }
inline __m256i Xor(__m256i a, __m256i b) { return _mm256_xor_si256(a, b); }
inline __m256i Rotr16(__m256i x) {
  const __m256i k = _mm256_setr_epi8(2, 3, 0, 1, 6, 7, 4, 5, 10, 11, 8, 9, 14, 15, 12, 13, 2, 3, 0,
                                     1, 6, 7, 4, 5, 10, 11, 8, 9, 14, 15, 12, 13);
  return _mm256_shuffle_epi8(x, k);
}
inline __m256i Rotr8(__m256i x) {
  const __m256i k = _mm256_setr_epi8(1, 2, 3, 0, 5, 6, 7, 4, 9, 10, 11, 8, 13, 14, 15, 12, 1, 2, 3,
                                     0, 5, 6, 7, 4, 9, 10, 11, 8, 13, 14, 15, 12);
  return _mm256_shuffle_epi8(x, k);
}
inline __m256i Rotr12(__m256i x) {
  return _mm256_or_si256(_mm256_srli_epi32(x, 12), _mm256_slli_epi32(x, 20));
}
inline __m256i Rotr7(__m256i x) {
  return _mm256_or_si256(_mm256_srli_epi32(x, 7), _mm256_slli_epi32(x, 25));
}

inline void G(__m256i* v, int a, int b, int c, int d, __m256i x, __m256i y) {
  v[a] = Add(Add(v[a], v[b]), x);
  v[d] = Rotr16(Xor(v[d], v[a]));
  v[c] = Add(v[c], v[d]);
  v[b] = Rotr12(Xor(v[b], v[c]));
  v[a] = Add(Add(v[a], v[b]), y);
  v[d] = Rotr8(Xor(v[d], v[a]));
  v[c] = Add(v[c], v[d]);
  v[b] = Rotr7(Xor(v[b], v[c]));
}

// Transposes an 8x8 matrix of 32-bit words held in eight registers (row i in r[i]).
inline void Transpose(__m256i r[8]) {
  __m256i t0 = _mm256_unpacklo_epi32(r[0], r[1]), t1 = _mm256_unpackhi_epi32(r[0], r[1]);
  __m256i t2 = _mm256_unpacklo_epi32(r[2], r[3]), t3 = _mm256_unpackhi_epi32(r[2], r[3]);
  __m256i t4 = _mm256_unpacklo_epi32(r[4], r[5]), t5 = _mm256_unpackhi_epi32(r[4], r[5]);
  __m256i t6 = _mm256_unpacklo_epi32(r[6], r[7]), t7 = _mm256_unpackhi_epi32(r[6], r[7]);
  __m256i u0 = _mm256_unpacklo_epi64(t0, t2), u1 = _mm256_unpackhi_epi64(t0, t2);
  __m256i u2 = _mm256_unpacklo_epi64(t1, t3), u3 = _mm256_unpackhi_epi64(t1, t3);
  __m256i u4 = _mm256_unpacklo_epi64(t4, t6), u5 = _mm256_unpackhi_epi64(t4, t6);
  __m256i u6 = _mm256_unpacklo_epi64(t5, t7), u7 = _mm256_unpackhi_epi64(t5, t7);
  r[0] = _mm256_permute2x128_si256(u0, u4, 0x20);
  r[1] = _mm256_permute2x128_si256(u1, u5, 0x20);
  r[2] = _mm256_permute2x128_si256(u2, u6, 0x20);
  r[3] = _mm256_permute2x128_si256(u3, u7, 0x20);
  r[4] = _mm256_permute2x128_si256(u0, u4, 0x31);
  r[5] = _mm256_permute2x128_si256(u1, u5, 0x31);
  r[6] = _mm256_permute2x128_si256(u2, u6, 0x31);
  r[7] = _mm256_permute2x128_si256(u3, u7, 0x31);
}

// Loads message words m[0..15] of the 64-byte block at `offset` of each lane's chunk.
// Unaligned loads: the input has no alignment guarantee.
inline void LoadMessage(const uint8_t* const ptrs[8], size_t offset, __m256i m[16]) {
  for (int half = 0; half < 2; ++half) {
    __m256i* rows = m + 8 * half;
    for (int lane = 0; lane < 8; ++lane) {
      rows[lane] =
          _mm256_loadu_si256(reinterpret_cast<const __m256i*>(ptrs[lane] + offset + 32 * half));
    }
    Transpose(rows);
  }
}

// The compression function of §2.2 on eight states at once: v = the 16 state words after the
// seven rounds, lane-wise (the caller XORs the halves as it needs).
inline void Compress8(const __m256i cv[8], const __m256i m[16], __m256i counter_lo,
                      __m256i counter_hi, __m256i block_len, __m256i flags, __m256i v[16]) {
  for (int i = 0; i < 8; ++i) v[i] = cv[i];
  for (int i = 0; i < 4; ++i) v[8 + i] = _mm256_set1_epi32(static_cast<int>(kIv[i]));
  v[12] = counter_lo;
  v[13] = counter_hi;
  v[14] = block_len;
  v[15] = flags;
  Rounds<G>(v, m);
}

}  // namespace

// Declared in blake3.cc, which calls it only when the CPU has AVX2 (an object file compiled
// with -mavx2 may use AVX2 anywhere, so the CPU check must live outside it).
void Blake3HashChunksAvx2Impl(const uint8_t* const* inputs, size_t num_chunks,
                              const uint32_t key[8], uint64_t counter, uint8_t flags,
                              uint8_t* out) {
  // Lanes beyond num_chunks repeat chunk 0; their results are dropped.
  const uint8_t* ptrs[8];
  alignas(32) uint32_t counter_lo[8], counter_hi[8];
  for (size_t lane = 0; lane < 8; ++lane) {
    ptrs[lane] = inputs[lane < num_chunks ? lane : 0];
    uint64_t c = counter + lane;
    counter_lo[lane] = static_cast<uint32_t>(c);
    counter_hi[lane] = static_cast<uint32_t>(c >> 32);
  }
  const __m256i lo = _mm256_load_si256(reinterpret_cast<const __m256i*>(counter_lo));
  const __m256i hi = _mm256_load_si256(reinterpret_cast<const __m256i*>(counter_hi));

  __m256i cv[8];
  for (int i = 0; i < 8; ++i) cv[i] = _mm256_set1_epi32(static_cast<int>(key[i]));
  for (int block = 0; block < 16; ++block) {
    uint32_t block_flags = flags;
    if (block == 0) block_flags |= kChunkStart;
    if (block == 15) block_flags |= kChunkEnd;
    __m256i m[16];
    LoadMessage(ptrs, 64 * block, m);
    __m256i v[16];
    Compress8(cv, m, lo, hi, _mm256_set1_epi32(64),
              _mm256_set1_epi32(static_cast<int>(block_flags)), v);
    for (int i = 0; i < 8; ++i) cv[i] = Xor(v[i], v[i + 8]);
  }
  // cv[i] holds word i of every lane; transposed, cv[lane] is one lane's chaining value.
  Transpose(cv);
  for (size_t lane = 0; lane < num_chunks; ++lane) {
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(out + 32 * lane), cv[lane]);
  }
}

// Declared in blake3.cc. Eight single-block messages, one per lane: blocks[lane] is 64 bytes
// (the message, zero-padded), lens[lane] its length; counter 0 and the same flags for all.
// Writes the first 32 bytes of each lane's output (its chaining value) to out[32*lane ...].
void Blake3CompressSingleBlocksAvx2Impl(const uint8_t* const blocks[8], const uint32_t lens[8],
                                        const uint32_t key[8], uint8_t flags, uint8_t* out) {
  __m256i cv[8];
  for (int i = 0; i < 8; ++i) cv[i] = _mm256_set1_epi32(static_cast<int>(key[i]));
  __m256i m[16];
  LoadMessage(blocks, 0, m);
  __m256i v[16];
  const __m256i zero = _mm256_setzero_si256();
  Compress8(cv, m, zero, zero, _mm256_loadu_si256(reinterpret_cast<const __m256i*>(lens)),
            _mm256_set1_epi32(flags), v);
  for (int i = 0; i < 8; ++i) v[i] = Xor(v[i], v[i + 8]);
  Transpose(v);
  for (int lane = 0; lane < 8; ++lane) {
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(out + 32 * lane), v[lane]);
  }
}

}  // namespace dittofs::chunk::internal

// SPDX-License-Identifier: Apache-2.0
//
// BLAKE3, written from the specification (BLAKE3-specs, blake3.pdf). Section numbers below
// refer to that document.
#include "chunk/blake3.h"

#include <algorithm>
#include <bit>
#include <cstring>

#include "base/check.h"
#include "chunk/blake3_internal.h"

namespace dittofs::chunk {
namespace {

using internal::kBlockLen;
using internal::kChunkEnd;
using internal::kChunkLen;
using internal::kChunkStart;
using internal::kDeriveKeyContext;
using internal::kDeriveKeyMaterial;
using internal::kIv;
using internal::kKeyedHash;
using internal::kParent;
using internal::kRoot;
using internal::Rounds;

inline uint32_t LoadLe32(const uint8_t* p) {
  uint32_t v;
  std::memcpy(&v, p, 4);
  if constexpr (std::endian::native == std::endian::big) v = __builtin_bswap32(v);
  return v;
}
inline void StoreLe32(uint8_t* p, uint32_t v) {
  if constexpr (std::endian::native == std::endian::big) v = __builtin_bswap32(v);
  std::memcpy(p, &v, 4);
}

inline void G(uint32_t* v, int a, int b, int c, int d, uint32_t x, uint32_t y) {
  v[a] = v[a] + v[b] + x;
  v[d] = std::rotr(v[d] ^ v[a], 16);
  v[c] = v[c] + v[d];
  v[b] = std::rotr(v[b] ^ v[c], 12);
  v[a] = v[a] + v[b] + y;
  v[d] = std::rotr(v[d] ^ v[a], 8);
  v[c] = v[c] + v[d];
  v[b] = std::rotr(v[b] ^ v[c], 7);
}

// §2.2: the compression function. Leaves the 16-word state in `v`; the caller takes the first
// 8 words of v[i] ^ v[i + 8] as the chaining value, or all 16 words of output (§2.6).
inline void Compress(const uint32_t cv[8], const uint8_t block[kBlockLen], uint8_t block_len,
                     uint64_t counter, uint8_t flags, uint32_t v[16]) {
  uint32_t m[16];
  for (int i = 0; i < 16; ++i) m[i] = LoadLe32(block + 4 * i);
  for (int i = 0; i < 8; ++i) v[i] = cv[i];
  v[8] = kIv[0];
  v[9] = kIv[1];
  v[10] = kIv[2];
  v[11] = kIv[3];
  v[12] = static_cast<uint32_t>(counter);
  v[13] = static_cast<uint32_t>(counter >> 32);
  v[14] = block_len;
  v[15] = flags;
  Rounds<G>(v, m);
}

// Compresses one block in place into the chaining value `cv`.
inline void CompressInPlace(uint32_t cv[8], const uint8_t block[kBlockLen], uint8_t block_len,
                            uint64_t counter, uint8_t flags) {
  uint32_t v[16];
  Compress(cv, block, block_len, counter, flags, v);
  for (int i = 0; i < 8; ++i) cv[i] = v[i] ^ v[i + 8];
}

std::array<uint32_t, 8> KeyWords(const Blake3Hasher::Key& key) {
  std::array<uint32_t, 8> words;
  for (int i = 0; i < 8; ++i) words[i] = LoadLe32(key.data() + 4 * i);
  return words;
}

}  // namespace

namespace internal {

void Blake3HashChunksPortable(const uint8_t* const* inputs, size_t num_chunks,
                              const uint32_t key[8], uint64_t counter, uint8_t flags,
                              uint8_t* out) {
  for (size_t c = 0; c < num_chunks; ++c) {
    uint32_t cv[8];
    std::memcpy(cv, key, sizeof(cv));
    for (size_t b = 0; b < kChunkLen / kBlockLen; ++b) {
      uint8_t block_flags = flags;
      if (b == 0) block_flags |= kChunkStart;
      if (b == kChunkLen / kBlockLen - 1) block_flags |= kChunkEnd;
      CompressInPlace(cv, inputs[c] + b * kBlockLen, kBlockLen, counter + c, block_flags);
    }
    for (int i = 0; i < 8; ++i) StoreLe32(out + 32 * c + 4 * i, cv[i]);
  }
}

#if defined(__x86_64__)
void Blake3HashChunksAvx2Impl(const uint8_t* const* inputs, size_t num_chunks,
                              const uint32_t key[8], uint64_t counter, uint8_t flags,
                              uint8_t* out);  // blake3_avx2.cc

void Blake3CompressSingleBlocksAvx2Impl(const uint8_t* const blocks[8], const uint32_t lens[8],
                                        const uint32_t key[8], uint8_t flags,
                                        uint8_t* out);  // blake3_avx2.cc

bool HasAvx2() {
  static const bool kHasAvx2 = __builtin_cpu_supports("avx2");
  return kHasAvx2;
}

void Blake3CompressSingleBlocksAvx512Impl(const uint32_t words[16][16], const uint32_t lens[16],
                                          const uint32_t key[8], uint8_t flags,
                                          uint32_t out[8][16]);  // blake3_avx512.cc

bool HasAvx512() {
  static const bool kHasAvx512 = __builtin_cpu_supports("avx512f");
  return kHasAvx512;
}

Blake3HashChunksFn Blake3HashChunksAvx2() {
  return HasAvx2() ? &Blake3HashChunksAvx2Impl : nullptr;
}
#else
Blake3HashChunksFn Blake3HashChunksAvx2() { return nullptr; }
#endif

}  // namespace internal

std::string Blake3Hash::Hex() const {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string hex(2 * bytes.size(), '\0');
  for (size_t i = 0; i < bytes.size(); ++i) {
    hex[2 * i] = kDigits[bytes[i] >> 4];
    hex[2 * i + 1] = kDigits[bytes[i] & 0xf];
  }
  return hex;
}

Blake3Hash Blake3(ByteView data) {
  Blake3Hasher hasher;
  hasher.Update(data);
  return hasher.Finalize();
}

// §2.6: what the last compression of a chunk or parent would take. Compressed once for a
// chaining value, or with kRoot and counters 0, 1, 2, ... for the output of the root node.
struct Blake3Hasher::Output {
  std::array<uint32_t, 8> input_cv;
  std::array<uint8_t, kBlockLen> block;
  uint8_t block_len;
  uint64_t counter;
  uint8_t flags;

  std::array<uint32_t, 8> ChainingValue() const {
    std::array<uint32_t, 8> cv = input_cv;
    CompressInPlace(cv.data(), block.data(), block_len, counter, flags);
    return cv;
  }

  void RootBytes(uint8_t* out, size_t len) const {
    for (uint64_t output_block = 0; len > 0; ++output_block) {
      uint32_t v[16];
      Compress(input_cv.data(), block.data(), block_len, output_block, flags | kRoot, v);
      uint8_t words[kBlockLen];
      for (int i = 0; i < 8; ++i) {
        StoreLe32(words + 4 * i, v[i] ^ v[i + 8]);
        StoreLe32(words + 32 + 4 * i, v[i + 8] ^ input_cv[i]);
      }
      size_t n = std::min(len, kBlockLen);
      std::memcpy(out, words, n);
      out += n;
      len -= n;
    }
  }

  static Output Parent(const std::array<uint32_t, 8>& left, const std::array<uint32_t, 8>& right,
                       const std::array<uint32_t, 8>& key, uint8_t flags) {
    Output o{.input_cv = key,
             .block = {},
             .block_len = kBlockLen,
             .counter = 0,
             .flags = static_cast<uint8_t>(flags | kParent)};
    for (int i = 0; i < 8; ++i) {
      StoreLe32(o.block.data() + 4 * i, left[i]);
      StoreLe32(o.block.data() + 32 + 4 * i, right[i]);
    }
    return o;
  }
};

Blake3Hasher::Blake3Hasher() : Blake3Hasher(kIv, 0) {}

Blake3Hasher::Blake3Hasher(const std::array<uint32_t, 8>& key, uint8_t flags)
    : key_(key), flags_(flags) {
  ResetChunk(0);
}

Blake3Hasher Blake3Hasher::Keyed(const Key& key) { return Blake3Hasher(KeyWords(key), kKeyedHash); }

// §2.3: derive_key hashes the context string first; its output keys the hash of the material.
Blake3Hasher Blake3Hasher::DeriveKey(std::string_view context) {
  Blake3Hasher context_hasher(kIv, kDeriveKeyContext);
  context_hasher.Update(AsBytes(context));
  Key context_key = context_hasher.Finalize().bytes;
  return Blake3Hasher(KeyWords(context_key), kDeriveKeyMaterial);
}

void Blake3Hasher::ForcePortable() {
  CHECK(chunk_.counter == 0 && chunk_.Len() == 0) << "ForcePortable after Update";
  portable_ = true;
}

void Blake3Hasher::ResetChunk(uint64_t counter) {
  chunk_.cv = key_;
  chunk_.counter = counter;
  chunk_.block_len = 0;
  chunk_.blocks_compressed = 0;
  chunk_.flags = flags_;
}

// §5.1.2: merges completed subtrees as soon as a chunk completes them. `total_chunks` counts the
// chunks so far, this one included; each trailing 0-bit is one completed subtree to merge. Only
// called when more input follows, so none of these merges can be the root.
void Blake3Hasher::PushChunkCv(const std::array<uint32_t, 8>& chunk_cv, uint64_t total_chunks) {
  std::array<uint32_t, 8> cv = chunk_cv;
  while ((total_chunks & 1) == 0) {
    cv = Output::Parent(cv_stack_[--cv_stack_len_], cv, key_, flags_).ChainingValue();
    total_chunks >>= 1;
  }
  cv_stack_[cv_stack_len_++] = cv;
}

void Blake3Hasher::Update(ByteView data) {
  const auto* in = reinterpret_cast<const uint8_t*>(data.data());
  size_t len = data.size();
  internal::Blake3HashChunksFn avx2 = portable_ ? nullptr : internal::Blake3HashChunksAvx2();

  while (len > 0) {
    // A full chunk with more input after it is complete and not the last: push it.
    if (chunk_.Len() == kChunkLen) {
      Output out{.input_cv = chunk_.cv,
                 .block = chunk_.block,
                 .block_len = chunk_.block_len,
                 .counter = chunk_.counter,
                 .flags = static_cast<uint8_t>(chunk_.flags | kChunkEnd |
                                               (chunk_.blocks_compressed == 0 ? kChunkStart : 0))};
      PushChunkCv(out.ChainingValue(), chunk_.counter + 1);
      ResetChunk(chunk_.counter + 1);
    }

    // At a chunk boundary, whole chunks followed by more input go straight to the multi-chunk
    // compressor (at least one byte is kept back for the chunk state).
    if (chunk_.Len() == 0 && len > kChunkLen) {
      size_t whole = (len - 1) / kChunkLen;
      const uint8_t* ptrs[internal::kBlake3Avx2Lanes];
      uint8_t cvs[32 * internal::kBlake3Avx2Lanes];
      while (whole > 0) {
        size_t n = std::min(whole, internal::kBlake3Avx2Lanes);
        for (size_t i = 0; i < n; ++i) ptrs[i] = in + i * kChunkLen;
        if (avx2 != nullptr && n > 1) {
          avx2(ptrs, n, key_.data(), chunk_.counter, flags_, cvs);
        } else {
          internal::Blake3HashChunksPortable(ptrs, n, key_.data(), chunk_.counter, flags_, cvs);
        }
        for (size_t i = 0; i < n; ++i) {
          std::array<uint32_t, 8> cv;
          for (int w = 0; w < 8; ++w) cv[w] = LoadLe32(cvs + 32 * i + 4 * w);
          PushChunkCv(cv, chunk_.counter + 1);
          ResetChunk(chunk_.counter + 1);
        }
        in += n * kChunkLen;
        len -= n * kChunkLen;
        whole -= n;
      }
    }

    // Fill the chunk state block by block, compressing a full block only once more input
    // follows it (the last block of a chunk gets kChunkEnd).
    while (len > 0 && chunk_.Len() < kChunkLen) {
      if (chunk_.block_len == kBlockLen) {
        uint8_t flags = chunk_.flags | (chunk_.blocks_compressed == 0 ? kChunkStart : 0);
        CompressInPlace(chunk_.cv.data(), chunk_.block.data(), kBlockLen, chunk_.counter, flags);
        ++chunk_.blocks_compressed;
        chunk_.block_len = 0;
      }
      size_t n = std::min(len, kBlockLen - chunk_.block_len);
      std::memcpy(chunk_.block.data() + chunk_.block_len, in, n);
      chunk_.block_len += n;
      in += n;
      len -= n;
    }
  }
}

Blake3Hasher::Output Blake3Hasher::RootOutput() const {
  std::array<uint8_t, kBlockLen> block = chunk_.block;
  std::fill(block.begin() + chunk_.block_len, block.end(), 0);  // §2.4: zero padding
  Output out{.input_cv = chunk_.cv,
             .block = block,
             .block_len = chunk_.block_len,
             .counter = chunk_.counter,
             .flags = static_cast<uint8_t>(chunk_.flags | kChunkEnd |
                                           (chunk_.blocks_compressed == 0 ? kChunkStart : 0))};
  for (int i = cv_stack_len_ - 1; i >= 0; --i) {
    out = Output::Parent(cv_stack_[i], out.ChainingValue(), key_, flags_);
  }
  return out;
}

Blake3Hash Blake3Hasher::Finalize() const {
  Blake3Hash hash;
  RootOutput().RootBytes(hash.bytes.data(), hash.bytes.size());
  return hash;
}

void Blake3Hasher::FinalizeXof(MutableByteView out) const {
  RootOutput().RootBytes(reinterpret_cast<uint8_t*>(out.data()), out.size());
}

Blake3Hash Blake3KeyedShort(const Blake3Hasher::Key& key, ByteView data) {
  CHECK(data.size() <= kBlockLen) << "Blake3KeyedShort of " << data.size() << " bytes";
  std::array<uint32_t, 8> cv = KeyWords(key);
  uint8_t block[kBlockLen] = {};
  if (!data.empty()) std::memcpy(block, data.data(), data.size());
  uint32_t v[16];
  // §2.1: the only block of the only chunk, which is also the root.
  Compress(cv.data(), block, static_cast<uint8_t>(data.size()), 0,
           kChunkStart | kChunkEnd | kRoot | kKeyedHash, v);
  Blake3Hash out;
  for (int i = 0; i < 8; ++i) StoreLe32(out.bytes.data() + 4 * i, v[i] ^ v[i + 8]);
  return out;
}

void Blake3KeyedShortMany(const Blake3Hasher::Key& key, std::span<const ByteView> inputs,
                          Blake3Hash* out) {
  size_t i = 0;
#if defined(__x86_64__)
  constexpr uint8_t kFlags = kChunkStart | kChunkEnd | kRoot | kKeyedHash;
  if (internal::HasAvx512() && inputs.size() >= 16) {
    // Sixteen at a time; the message words are transposed here (words[w][lane]), and only
    // as many as the longest input fills are copied (a handle's MAC reads five).
    std::array<uint32_t, 8> cv = KeyWords(key);
    alignas(64) uint32_t words[16][16];
    alignas(64) uint32_t lens[16];
    alignas(64) uint32_t digests[8][16];
    for (; inputs.size() - i >= 16; i += 16) {
      size_t longest = 0;
      for (size_t lane = 0; lane < 16; ++lane) {
        ByteView in = inputs[i + lane];
        CHECK(in.size() <= kBlockLen) << "Blake3KeyedShortMany of " << in.size() << " bytes";
        lens[lane] = static_cast<uint32_t>(in.size());
        longest = std::max(longest, in.size());
      }
      const size_t used_words = (longest + 3) / 4;
      for (size_t lane = 0; lane < 16; ++lane) {
        uint8_t block[kBlockLen];
        ByteView in = inputs[i + lane];
        std::memset(block, 0, 4 * used_words);
        if (!in.empty()) std::memcpy(block, in.data(), in.size());
        for (size_t w = 0; w < used_words; ++w) words[w][lane] = LoadLe32(block + 4 * w);
      }
      std::memset(words[used_words], 0, sizeof(words[0]) * (16 - used_words));
      internal::Blake3CompressSingleBlocksAvx512Impl(words, lens, cv.data(), kFlags, digests);
      for (size_t lane = 0; lane < 16; ++lane) {
        for (int w = 0; w < 8; ++w) StoreLe32(out[i + lane].bytes.data() + 4 * w, digests[w][lane]);
      }
    }
  }
  if (internal::HasAvx2()) {
    std::array<uint32_t, 8> cv = KeyWords(key);
    constexpr size_t kLanes = internal::kBlake3Avx2Lanes;
    uint8_t blocks[kLanes][kBlockLen];
    const uint8_t* ptrs[kLanes];
    uint32_t lens[kLanes];
    uint8_t digests[32 * kLanes];
    // One call for two to eight inputs (lanes past the last input hash zeros, unread); a
    // single one is cheaper alone.
    while (inputs.size() - i >= 2) {
      size_t n = std::min(kLanes, inputs.size() - i);
      for (size_t lane = 0; lane < kLanes; ++lane) {
        ByteView in = lane < n ? inputs[i + lane] : ByteView();
        CHECK(in.size() <= kBlockLen) << "Blake3KeyedShortMany of " << in.size() << " bytes";
        std::memset(blocks[lane], 0, kBlockLen);
        if (!in.empty()) std::memcpy(blocks[lane], in.data(), in.size());
        ptrs[lane] = blocks[lane];
        lens[lane] = static_cast<uint32_t>(in.size());
      }
      internal::Blake3CompressSingleBlocksAvx2Impl(ptrs, lens, cv.data(), kFlags, digests);
      for (size_t lane = 0; lane < n; ++lane) {
        std::memcpy(out[i + lane].bytes.data(), digests + 32 * lane, 32);
      }
      i += n;
    }
  }
#endif
  for (; i < inputs.size(); ++i) out[i] = Blake3KeyedShort(key, inputs[i]);
}

}  // namespace dittofs::chunk

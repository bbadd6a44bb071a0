// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "base/bytes.h"

namespace dittofs::chunk {

// A 256-bit BLAKE3 digest. Chunk names on the remote are the BLAKE3-256 of the raw chunk bytes
// (docs/formats/chunks.md), so this is part of the storage format.
struct Blake3Hash {
  std::array<uint8_t, 32> bytes{};

  // Lower-case hexadecimal, 64 characters: the same text `b3sum` prints.
  std::string Hex() const;

  friend bool operator==(const Blake3Hash&, const Blake3Hash&) = default;
};

// The BLAKE3 hash (default mode, 32 bytes of output) of `data`.
Blake3Hash Blake3(ByteView data);

// Incremental BLAKE3 (https://github.com/BLAKE3-team/BLAKE3-specs, blake3.pdf). Feeding the
// input in any number of Update() calls, split anywhere, gives the same result as one call.
// Uses AVX2 to compress eight 1 KiB chunks at once when the CPU has it.
// Not thread-safe; a hasher is a value (copyable) and may be moved between threads.
class Blake3Hasher {
 public:
  using Key = std::array<uint8_t, 32>;

  // The default hash mode.
  Blake3Hasher();
  // The keyed_hash mode (a MAC or PRF keyed by `key`).
  static Blake3Hasher Keyed(const Key& key);
  // The derive_key mode: the key material is fed with Update(). `context` should be a
  // hardcoded, globally unique, application-specific string.
  static Blake3Hasher DeriveKey(std::string_view context);

  void Update(ByteView data);

  // The first 32 bytes of output. Does not change the hasher: more Update() calls may follow.
  Blake3Hash Finalize() const;
  // Extendable output: fills all of `out` (any length); its first 32 bytes equal Finalize().
  void FinalizeXof(MutableByteView out) const;

  // For tests and benchmarks: compress with the portable scalar code even when the CPU has
  // AVX2. REQUIRES: no Update() call yet.
  void ForcePortable();

 private:
  // The state of the 1 KiB chunk being filled. It always holds at least one byte once the
  // hasher has seen input, because the last chunk is compressed differently (as the root, if
  // it is the only one) and a chunk is only known not to be last when more input arrives.
  struct ChunkState {
    std::array<uint32_t, 8> cv;
    uint64_t counter = 0;
    std::array<uint8_t, 64> block{};
    uint8_t block_len = 0;
    uint8_t blocks_compressed = 0;
    uint8_t flags = 0;
    size_t Len() const { return size_t{blocks_compressed} * 64 + block_len; }
  };
  struct Output;

  Blake3Hasher(const std::array<uint32_t, 8>& key, uint8_t flags);
  void ResetChunk(uint64_t counter);
  void PushChunkCv(const std::array<uint32_t, 8>& cv, uint64_t total_chunks);
  Output RootOutput() const;

  std::array<uint32_t, 8> key_;
  uint8_t flags_;
  bool portable_ = false;
  ChunkState chunk_;
  // Chaining values of completed subtrees, largest first: one per 1-bit of the number of
  // completed chunks, so 54 entries cover 2^64 bytes.
  std::array<std::array<uint32_t, 8>, 54> cv_stack_;
  uint8_t cv_stack_len_ = 0;
};

namespace internal {

// The multi-chunk compressor used by Blake3Hasher. Exposed so that tests can check that every
// implementation gives the same chaining values as the portable one.
// Compresses `num_chunks` whole 1 KiB chunks `inputs[i]` (chunk counters counter, counter+1, ...)
// and writes their 32-byte chaining values to out[32*i ...].
using Blake3HashChunksFn = void (*)(const uint8_t* const* inputs, size_t num_chunks,
                                    const uint32_t key[8], uint64_t counter, uint8_t flags,
                                    uint8_t* out);
void Blake3HashChunksPortable(const uint8_t* const* inputs, size_t num_chunks,
                              const uint32_t key[8], uint64_t counter, uint8_t flags, uint8_t* out);
// Eight chunks per call at most; nullptr when the CPU lacks AVX2 or the build is not x86-64.
Blake3HashChunksFn Blake3HashChunksAvx2();
inline constexpr size_t kBlake3Avx2Lanes = 8;

}  // namespace internal

// The keyed_hash mode for an input of at most one block (64 bytes): one compression, no
// hasher state (for MACs of small records, such as file handles). Equals Keyed(key), then
// Update(data), then Finalize(). REQUIRES: data.size() <= 64.
Blake3Hash Blake3KeyedShort(const Blake3Hasher::Key& key, ByteView data);
// Blake3KeyedShort of each input, eight at a time where the CPU has AVX2:
// out[i] = Blake3KeyedShort(key, inputs[i]). REQUIRES: every input is at most 64 bytes.
void Blake3KeyedShortMany(const Blake3Hasher::Key& key, std::span<const ByteView> inputs,
                          Blake3Hash* out);

}  // namespace dittofs::chunk

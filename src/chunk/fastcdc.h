// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "base/bytes.h"
#include "base/status.h"

namespace dittofs::chunk {

// Chunk size limits for FastCDC. The defaults are the storage format's (docs/formats/chunks.md);
// changing any of them moves every chunk boundary, so they are fixed once data is stored.
struct FastCdcParams {
  size_t min_size = 256 * 1024;
  // The "normal" size: the hash uses a harder mask before it and an easier one after it. Need
  // not be a power of two; the masks use floor(log2(avg_size)) bits (see docs).
  size_t avg_size = 1024 * 1024;
  size_t max_size = 4 * 1024 * 1024;

  // Ok when 64 <= min_size < avg_size < max_size <= 2^40; else Errc::kInvalid.
  Status Validate() const;
};

// FastCDC content-defined chunking (Xia et al., USENIX ATC 2016; IEEE TPDS 2020) with
// normalized chunking level 2 and the gear hash rolled two bytes per step. The boundaries
// depend only on the bytes and the params, so an edit moves only the boundaries near it.
// Immutable after construction; safe to use from any number of threads at once.
class FastCdc {
 public:
  // REQUIRES: params.Validate().ok().
  explicit FastCdc(const FastCdcParams& params);

  const FastCdcParams& params() const { return params_; }

  // Returns the length of the chunk starting at data[0]: the end of the first boundary the
  // rolling hash finds, or min(data.size(), max_size) when it finds none. When fewer than
  // max_size bytes are given and no boundary is found, the caller decides whether that is the
  // last chunk (end of input) or whether to call again with more bytes.
  size_t NextChunkLength(ByteView data) const;

  // Cuts all of `data` into chunks, the last being whatever remains; returns their lengths
  // (none for empty data).
  std::vector<size_t> Cut(ByteView data) const;

  // The hash masks (exposed for tests and docs): a boundary is after a byte at which
  // (hash & mask) == 0, with mask_s before avg_size and mask_l from there on.
  uint64_t mask_s() const { return mask_s_; }
  uint64_t mask_l() const { return mask_l_; }

 private:
  FastCdcParams params_;
  uint64_t mask_s_;
  uint64_t mask_l_;
};

// The 256-entry gear table of the storage format: SplitMix64 from a fixed seed (see docs).
const std::array<uint64_t, 256>& FastCdcGearTable();

// The mask with `bits` one-bits that FastCdc uses (see docs/formats/chunks.md).
// REQUIRES: 1 <= bits <= 48.
uint64_t FastCdcMask(int bits);

}  // namespace dittofs::chunk

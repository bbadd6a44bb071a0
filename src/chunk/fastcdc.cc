// SPDX-License-Identifier: Apache-2.0
//
// FastCDC, written from Xia et al., "FastCDC: a Fast and Efficient Content-Defined Chunking
// Approach for Data Deduplication" (USENIX ATC 2016) and its IEEE TPDS 2020 version. Every
// constant here is part of the storage format: docs/formats/chunks.md.
#include "chunk/fastcdc.h"

#include <algorithm>
#include <bit>
#include <string>

#include "base/check.h"

namespace dittofs::chunk {
namespace {

// SplitMix64 (Steele, Lea, Flood, "Fast splittable pseudorandom number generators", 2014)
// from the seed "dittofs!" read as a big-endian 64-bit integer.
constexpr uint64_t kGearSeed = 0x646974746f667321;

constexpr std::array<uint64_t, 256> MakeGear() {
  std::array<uint64_t, 256> gear{};
  uint64_t state = kGearSeed;
  for (uint64_t& g : gear) {
    state += 0x9e3779b97f4a7c15;
    uint64_t z = state;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9;
    z = (z ^ (z >> 27)) * 0x94d049bb133111eb;
    g = z ^ (z >> 31);
  }
  return gear;
}
constexpr std::array<uint64_t, 256> kGear = MakeGear();

// TPDS 2020, "rolling two bytes each time": the first byte of a pair is added pre-shifted, so
// one shift by 2 serves both bytes; the hash after it is twice the one-byte-at-a-time hash, and
// is tested with the mask shifted left by one (masks never use bit 63, so nothing is lost).
constexpr std::array<uint64_t, 256> MakeGearShifted() {
  std::array<uint64_t, 256> shifted{};
  for (size_t i = 0; i < 256; ++i) shifted[i] = kGear[i] << 1;
  return shifted;
}
constexpr std::array<uint64_t, 256> kGearShifted = MakeGearShifted();

constexpr int kMaskSpan = 48;  // the one-bits are spread over bits 62 down to 15
constexpr int kNormalizationLevel = 2;

// Scans data[i, end) for the first byte after which (hash & mask) == 0, two bytes per step.
// Returns the chunk length ending there, or 0 (never a chunk length: i > 0) with `hash`
// updated when there is none.
inline size_t Scan(const uint8_t* data, size_t i, size_t end, uint64_t mask, uint64_t& hash) {
  const uint64_t mask_shifted = mask << 1;
  uint64_t h = hash;
  for (; i + 2 <= end; i += 2) {
    h = (h << 2) + kGearShifted[data[i]];
    if ((h & mask_shifted) == 0) return i + 1;
    h += kGear[data[i + 1]];
    if ((h & mask) == 0) return i + 2;
  }
  if (i < end) {
    h = (h << 1) + kGear[data[i]];
    if ((h & mask) == 0) return i + 1;
  }
  hash = h;
  return 0;
}

}  // namespace

const std::array<uint64_t, 256>& FastCdcGearTable() { return kGear; }

uint64_t FastCdcMask(int bits) {
  CHECK(bits >= 1 && bits <= kMaskSpan) << "FastCdcMask: " << bits << " bits";
  uint64_t mask = 0;
  for (int i = 0; i < bits; ++i) mask |= uint64_t{1} << (62 - i * kMaskSpan / bits);
  return mask;
}

Status FastCdcParams::Validate() const {
  if (min_size < 64 || min_size >= avg_size || avg_size >= max_size ||
      max_size > (size_t{1} << 40)) {
    return Status(Errc::kInvalid, "FastCDC params need 64 <= min < avg < max <= 2^40, got " +
                                      std::to_string(min_size) + "/" + std::to_string(avg_size) +
                                      "/" + std::to_string(max_size));
  }
  return Status::Ok();
}

FastCdc::FastCdc(const FastCdcParams& params) : params_(params) {
  Status valid = params.Validate();
  CHECK(valid.ok()) << valid.ToString();
  const int bits = std::bit_width(params.avg_size) - 1;  // floor(log2(avg_size)), 6..39
  mask_s_ = FastCdcMask(bits + kNormalizationLevel);
  mask_l_ = FastCdcMask(bits - kNormalizationLevel);
}

// ATC 2016, Algorithm 1 (normalized chunking): skip the first min_size bytes (cut-point
// skipping), then look for a boundary with the harder mask up to avg_size and the easier mask
// from there to max_size. The hash starts at 0 at min_size; the byte at which the masked hash
// is zero is the chunk's last byte.
size_t FastCdc::NextChunkLength(ByteView data) const {
  const size_t size = data.size();
  if (size <= params_.min_size) return size;
  const size_t end = std::min(size, params_.max_size);
  const size_t normal = std::min(end, params_.avg_size);
  const auto* bytes = reinterpret_cast<const uint8_t*>(data.data());
  uint64_t hash = 0;
  if (size_t len = Scan(bytes, params_.min_size, normal, mask_s_, hash)) return len;
  if (size_t len = Scan(bytes, normal, end, mask_l_, hash)) return len;
  return end;
}

std::vector<size_t> FastCdc::Cut(ByteView data) const {
  std::vector<size_t> lengths;
  while (!data.empty()) {
    size_t len = NextChunkLength(data);
    lengths.push_back(len);
    data = data.subspan(len);
  }
  return lengths;
}

}  // namespace dittofs::chunk

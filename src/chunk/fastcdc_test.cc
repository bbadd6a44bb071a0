// SPDX-License-Identifier: Apache-2.0
#include "chunk/fastcdc.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <bit>
#include <cstring>
#include <numeric>
#include <vector>

#include "chunk/blake3.h"
#include "testing/random_bytes.h"

namespace dittofs::chunk {
namespace {

constexpr FastCdcParams kSmall{.min_size = 2 * 1024, .avg_size = 8 * 1024, .max_size = 32 * 1024};

using ::dittofs::testing::RandomBytes;

std::vector<Blake3Hash> ChunkHashes(ByteView data, const std::vector<size_t>& lengths) {
  std::vector<Blake3Hash> hashes;
  for (size_t len : lengths) {
    hashes.push_back(Blake3(data.first(len)));
    data = data.subspan(len);
  }
  return hashes;
}

// The algorithm as the ATC 2016 paper states it, one byte per step: the two-bytes-per-step
// implementation must cut at exactly the same places.
size_t ReferenceNextChunkLength(const FastCdc& cdc, ByteView data) {
  const FastCdcParams& p = cdc.params();
  const auto& gear = FastCdcGearTable();
  if (data.size() <= p.min_size) return data.size();
  size_t end = std::min(data.size(), p.max_size);
  uint64_t hash = 0;
  for (size_t i = p.min_size; i < end; ++i) {
    hash = (hash << 1) + gear[uint8_t(data[i])];
    uint64_t mask = i < p.avg_size ? cdc.mask_s() : cdc.mask_l();
    if ((hash & mask) == 0) return i + 1;
  }
  return end;
}

TEST(FastCdcTest, RejectsInvalidParams) {
  EXPECT_TRUE(FastCdcParams{}.Validate().ok());
  EXPECT_TRUE(kSmall.Validate().ok());
  EXPECT_EQ(FastCdcParams({.min_size = 8192, .avg_size = 8192, .max_size = 32768}).Validate(),
            Errc::kInvalid);
  EXPECT_EQ(FastCdcParams({.min_size = 2048, .avg_size = 32768, .max_size = 32768}).Validate(),
            Errc::kInvalid);
  EXPECT_EQ(FastCdcParams({.min_size = 4096, .avg_size = 2048, .max_size = 32768}).Validate(),
            Errc::kInvalid);
  EXPECT_EQ(FastCdcParams({.min_size = 0, .avg_size = 2048, .max_size = 32768}).Validate(),
            Errc::kInvalid);
  EXPECT_EQ(
      FastCdcParams({.min_size = 1024, .avg_size = 2048, .max_size = size_t{1} << 41}).Validate(),
      Errc::kInvalid);
}

TEST(FastCdcTest, MasksFollowNormalizationLevelTwo) {
  FastCdc cdc(FastCdcParams{});  // avg 1 MiB = 2^20
  EXPECT_EQ(std::popcount(cdc.mask_s()), 22);
  EXPECT_EQ(std::popcount(cdc.mask_l()), 18);
  EXPECT_EQ(cdc.mask_s() >> 63, 0u);  // bit 63 stays free for the two-byte roll
  // A non-power-of-two avg uses floor(log2(avg)).
  FastCdc odd({.min_size = 2048, .avg_size = 12000, .max_size = 65536});
  EXPECT_EQ(std::popcount(odd.mask_s()), 15);
  EXPECT_EQ(std::popcount(odd.mask_l()), 11);
}

// Golden values: the gear table and masks are part of the storage format (docs/formats/chunks.md).
TEST(FastCdcTest, GearTableAndMasksAreTheDocumentedOnes) {
  const auto& gear = FastCdcGearTable();
  EXPECT_EQ(gear[0], 0x084adbb25b33b013u);
  EXPECT_EQ(gear[1], 0x59c3d31b58940585u);
  EXPECT_EQ(gear[255], 0x84b1a6f0fc747815u);
  EXPECT_EQ(FastCdcMask(22), 0x5552aa5552aa0000u);
  EXPECT_EQ(FastCdcMask(18), 0x5252525252520000u);
}

// Golden boundaries with the default params: these must never change.
TEST(FastCdcTest, DefaultParamsCutGoldenInputAtFixedPlaces) {
  std::vector<std::byte> data = RandomBytes(12 * 1024 * 1024, 42);
  EXPECT_THAT(FastCdc(FastCdcParams{}).Cut(data),
              ::testing::ElementsAre(1168901u, 1214278u, 614001u, 1110850u, 1291979u, 1532478u,
                                     1060827u, 440788u, 1785298u, 1211971u, 1100436u, 51105u));
}

TEST(FastCdcTest, TwoBytesPerStepCutsLikeOneBytePerStep) {
  std::vector<std::byte> data = RandomBytes(4 * 1024 * 1024 + 3, 7);
  for (FastCdcParams params :
       {kSmall, FastCdcParams{.min_size = 2001, .avg_size = 7001, .max_size = 30001},
        FastCdcParams{.min_size = 64, .avg_size = 128, .max_size = 1024}}) {
    FastCdc cdc(params);
    ByteView rest(data);
    while (!rest.empty()) {
      size_t len = cdc.NextChunkLength(rest);
      ASSERT_EQ(len, ReferenceNextChunkLength(cdc, rest)) << "at " << data.size() - rest.size();
      rest = rest.subspan(len);
    }
  }
}

TEST(FastCdcTest, ChunksStayWithinMinAndMax) {
  std::vector<std::byte> data = RandomBytes(16 * 1024 * 1024 + 5, 1);
  std::vector<size_t> lengths = FastCdc(kSmall).Cut(data);
  ASSERT_GT(lengths.size(), 1u);
  EXPECT_EQ(std::accumulate(lengths.begin(), lengths.end(), size_t{0}), data.size());
  for (size_t i = 0; i + 1 < lengths.size(); ++i) {
    EXPECT_GE(lengths[i], kSmall.min_size) << i;
    EXPECT_LE(lengths[i], kSmall.max_size) << i;
  }
  EXPECT_GE(lengths.back(), 1u);
  EXPECT_LE(lengths.back(), kSmall.max_size);
}

TEST(FastCdcTest, CuttingIsDeterministic) {
  std::vector<std::byte> data = RandomBytes(4 * 1024 * 1024, 2);
  FastCdc cdc(kSmall);
  std::vector<size_t> first = cdc.Cut(data);
  EXPECT_EQ(FastCdc(kSmall).Cut(data), first);
  // A chunk's end depends only on bytes up to max_size past its start.
  EXPECT_EQ(cdc.NextChunkLength(ByteView(data).first(kSmall.max_size)), first[0]);
}

TEST(FastCdcTest, MeanChunkSizeIsNearAvgWithSmallParams) {
  std::vector<std::byte> data = RandomBytes(32 * 1024 * 1024, 3);
  std::vector<size_t> lengths = FastCdc(kSmall).Cut(data);
  double mean = double(data.size()) / double(lengths.size());
  EXPECT_GE(mean, 0.75 * kSmall.avg_size);
  EXPECT_LE(mean, 1.25 * kSmall.avg_size);
}

TEST(FastCdcTest, MeanChunkSizeIsNearAvgWithDefaultParams) {
  std::vector<std::byte> data = RandomBytes(64 * 1024 * 1024, 4);
  FastCdcParams params;
  std::vector<size_t> lengths = FastCdc(params).Cut(data);
  double mean = double(data.size()) / double(lengths.size());
  EXPECT_GE(mean, 0.75 * double(params.avg_size));
  EXPECT_LE(mean, 1.25 * double(params.avg_size));
}

TEST(FastCdcTest, InsertingOneByteChangesOnlyNearbyChunks) {
  std::vector<std::byte> original = RandomBytes(8 * 1024 * 1024, 5);
  std::vector<std::byte> edited = original;
  edited.insert(edited.begin() + 100, std::byte{0x5a});
  FastCdc cdc(kSmall);
  std::vector<Blake3Hash> before = ChunkHashes(original, cdc.Cut(original));
  std::vector<Blake3Hash> after = ChunkHashes(edited, cdc.Cut(edited));
  ASSERT_GT(before.size(), 100u);
  ASSERT_EQ(before.size(), after.size());
  EXPECT_NE(before[0], after[0]);
  for (size_t i = 2; i < before.size(); ++i) EXPECT_EQ(before[i], after[i]) << "chunk " << i;
}

TEST(FastCdcTest, AllZeroInputGivesMaxSizeChunks) {
  std::vector<std::byte> zeros(3 * kSmall.max_size + 100);
  EXPECT_THAT(FastCdc(kSmall).Cut(zeros),
              ::testing::ElementsAre(kSmall.max_size, kSmall.max_size, kSmall.max_size, 100));
  FastCdcParams defaults;
  std::vector<std::byte> big_zeros(2 * defaults.max_size);
  EXPECT_THAT(FastCdc(defaults).Cut(big_zeros),
              ::testing::ElementsAre(defaults.max_size, defaults.max_size));
}

TEST(FastCdcTest, ShortInputIsOneChunk) {
  FastCdc cdc(kSmall);
  std::vector<std::byte> data = RandomBytes(kSmall.min_size, 6);
  EXPECT_EQ(cdc.NextChunkLength(data), data.size());
  EXPECT_EQ(cdc.NextChunkLength(ByteView(data).first(10)), 10u);
  EXPECT_EQ(cdc.NextChunkLength({}), 0u);
  EXPECT_TRUE(cdc.Cut({}).empty());
}

}  // namespace
}  // namespace dittofs::chunk

// SPDX-License-Identifier: Apache-2.0
#include "cli/dfsctl/units.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdint>
#include <limits>

#include "testing/status_matchers.h"

namespace dittofs::dfsctl {
namespace {

using ::dittofs::testing::StatusIs;

constexpr uint64_t kKiB = 1024;
constexpr uint64_t kGiB = kKiB * kKiB * kKiB;
constexpr uint64_t kMaxSize = std::numeric_limits<int64_t>::max();

TEST(ParseSize, BytesAndUnits) {
  EXPECT_EQ(*ParseSize("0"), 0u);
  EXPECT_EQ(*ParseSize("4096"), 4096u);
  EXPECT_EQ(*ParseSize("4096B"), 4096u);
  EXPECT_EQ(*ParseSize("1K"), kKiB);
  EXPECT_EQ(*ParseSize("512M"), 512 * kKiB * kKiB);
  EXPECT_EQ(*ParseSize("10G"), 10 * kGiB);
  EXPECT_EQ(*ParseSize("10g"), 10 * kGiB);
  EXPECT_EQ(*ParseSize("10GiB"), 10 * kGiB);
  EXPECT_EQ(*ParseSize("10gib"), 10 * kGiB);
  EXPECT_EQ(*ParseSize("1T"), kGiB * kKiB);
  EXPECT_EQ(*ParseSize("2P"), 2 * kGiB * kKiB * kKiB);
  // With "B" after the prefix: powers of 1000, as the config file's sizes.
  EXPECT_EQ(*ParseSize("1kB"), 1000u);
  EXPECT_EQ(*ParseSize("1GB"), 1000u * 1000 * 1000);
}

TEST(ParseSize, FractionsRoundDownToBytes) {
  EXPECT_EQ(*ParseSize("1.5G"), 3 * kGiB / 2);
  EXPECT_EQ(*ParseSize("0.5K"), 512u);
  EXPECT_EQ(*ParseSize("0.1K"), 102u);  // 102.4
  EXPECT_EQ(*ParseSize("1.25kB"), 1250u);
  EXPECT_EQ(*ParseSize("1.0000000000000000000001K"), 1024u);
}

TEST(ParseSize, RefusesWhatIsNotASize) {
  for (const char* text : {"", "G", "-1", "-1G", "+1G", "1.5", "1.5B", "1.", ".5G", "1 G", "1G ",
                           "10X", "10Gb2", "1GiBB", "1iB", "0x10", "1e9", "ten"}) {
    EXPECT_THAT(ParseSize(text), StatusIs(Errc::kInvalid)) << text;
  }
}

TEST(ParseSize, RefusesSizesOver63Bits) {
  EXPECT_EQ(*ParseSize("9223372036854775807"), kMaxSize);
  EXPECT_THAT(ParseSize("9223372036854775808"), StatusIs(Errc::kInvalid));
  EXPECT_THAT(ParseSize("99999999999999999999"), StatusIs(Errc::kInvalid));
  EXPECT_EQ(*ParseSize("8191P"), 8191 * (kGiB * kGiB / kKiB));
  EXPECT_EQ(*ParseSize("8191.5P"), 16383 * (kGiB * kGiB / kKiB / 2));
  EXPECT_THAT(ParseSize("8192P"), StatusIs(Errc::kInvalid));
  EXPECT_THAT(ParseSize("8388608T"), StatusIs(Errc::kInvalid));
}

TEST(ParseDuration, SecondsAndUnits) {
  EXPECT_EQ(*ParseDuration("0"), 0u);
  EXPECT_EQ(*ParseDuration("90"), 90u);
  EXPECT_EQ(*ParseDuration("90s"), 90u);
  EXPECT_EQ(*ParseDuration("30m"), 1800u);
  EXPECT_EQ(*ParseDuration("12h"), 12u * 3600);
  EXPECT_EQ(*ParseDuration("7d"), 7u * 24 * 3600);
  EXPECT_EQ(*ParseDuration("2w"), 14u * 24 * 3600);
  EXPECT_EQ(*ParseDuration("1d12h"), 36u * 3600);
  EXPECT_EQ(*ParseDuration("1h30m15s"), 5415u);
}

TEST(ParseDuration, RefusesWhatIsNotADuration) {
  for (const char* text : {"", "d", "-1", "-1d", "1.5h", "1d30", "1 d", "1D", "1y", "1dd", "1hm",
                           "9223372036854775808", "99999999999999999999s", "15250284452472w"}) {
    EXPECT_THAT(ParseDuration(text), StatusIs(Errc::kInvalid)) << text;
  }
}

TEST(FormatSize, PowersOf1024WithOneDecimal) {
  EXPECT_EQ(FormatSize(0), "0 B");
  EXPECT_EQ(FormatSize(1023), "1023 B");
  EXPECT_EQ(FormatSize(1024), "1 KiB");
  EXPECT_EQ(FormatSize(1536), "1.5 KiB");
  EXPECT_EQ(FormatSize(3 * kGiB / 2), "1.5 GiB");
  EXPECT_EQ(FormatSize(10 * kGiB), "10 GiB");
  EXPECT_EQ(FormatSize(kKiB * kKiB - 1), "1 MiB");  // 1023.999 KiB
  EXPECT_EQ(FormatSize(std::numeric_limits<uint64_t>::max()), "16 EiB");
}

TEST(FormatDuration, LargestUnitsFirst) {
  EXPECT_EQ(FormatDuration(0), "0s");
  EXPECT_EQ(FormatDuration(59), "59s");
  EXPECT_EQ(FormatDuration(90), "1m30s");
  EXPECT_EQ(FormatDuration(3600), "1h");
  EXPECT_EQ(FormatDuration(7 * 24 * 3600), "7d");
  EXPECT_EQ(FormatDuration(36 * 3600), "1d12h");
  EXPECT_EQ(FormatDuration(90061), "1d1h1m1s");
  // At most two units: the rest is left out.
  EXPECT_EQ(FormatDuration(90061, 2), "1d1h");
  EXPECT_EQ(FormatDuration(24 * 3600 + 300, 2), "1d");
  EXPECT_EQ(FormatDuration(61, 1), "1m");
  // What it writes, ParseDuration reads.
  for (uint64_t seconds : {uint64_t{0}, uint64_t{59}, uint64_t{90061}, uint64_t{1} << 40}) {
    EXPECT_EQ(*ParseDuration(FormatDuration(seconds)), seconds) << seconds;
  }
}

TEST(ParseUtcTime, Rfc3339InUtc) {
  EXPECT_EQ(*ParseUtcTime("1970-01-01T00:00:00Z"), 0);
  EXPECT_EQ(*ParseUtcTime("2024-05-01T10:00:00Z"), 1714557600);
  EXPECT_EQ(*ParseUtcTime("2024-05-01t10:00:00z"), 1714557600);
  EXPECT_EQ(*ParseUtcTime("2024-05-01T10:00:00.250Z"), 1714557600);
  EXPECT_EQ(*ParseUtcTime("2024-05-01T10:00:00+00:00"), 1714557600);
  for (const char* text : {"", "2024-05-01", "2024-05-01T10:00:00", "2024-05-01T10:00:00+02:00",
                           "2024-13-01T10:00:00Z", "2024-05-01T24:00:00Z", "2024-05-01T10:00:00.Z",
                           "2024-05-01 10:00:00Z", "20240501T100000Z"}) {
    EXPECT_THAT(ParseUtcTime(text), StatusIs(Errc::kInvalid)) << text;
  }
}

}  // namespace
}  // namespace dittofs::dfsctl

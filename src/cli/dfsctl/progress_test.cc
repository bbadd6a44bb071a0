// SPDX-License-Identifier: Apache-2.0
#include "cli/dfsctl/progress.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <optional>
#include <string>

namespace dittofs::dfsctl {
namespace {

constexpr uint64_t kGiB = uint64_t{1} << 30;
constexpr uint64_t k1_2GiB = kGiB * 6 / 5;   // 1.2 GiB
constexpr uint64_t k2_6GiB = kGiB * 13 / 5;  // 2.6 GiB
constexpr std::optional<double> kUnknown;    // the API's "percent": null

TEST(ProgressCounts, BytesAsSizesOtherUnitsAsNumbers) {
  EXPECT_EQ(ProgressCounts(k1_2GiB, k2_6GiB, "bytes"), "1.2 GiB / 2.6 GiB");
  EXPECT_EQ(ProgressCounts(0, 0, "bytes"), "0 B");
  EXPECT_EQ(ProgressCounts(k1_2GiB, 0, "bytes"), "1.2 GiB");  // the total is not known yet
  EXPECT_EQ(ProgressCounts(1200, 2600, "files"), "1200 / 2600 files");
  EXPECT_EQ(ProgressCounts(1200, 0, "files"), "1200 files");
  EXPECT_EQ(ProgressCounts(0, 0, "files"), "0 files");
  EXPECT_EQ(ProgressCounts(1200, 2600, ""), "1200 / 2600");
  EXPECT_EQ(ProgressCounts(3, 0, ""), "3");
  EXPECT_EQ(ProgressCounts(0, 0, ""), "");  // nothing counted at all
}

TEST(ProgressText, PercentThenCounts) {
  EXPECT_EQ(ProgressText(45.5, k1_2GiB, k2_6GiB, "bytes"), "45%  1.2 GiB / 2.6 GiB");
  EXPECT_EQ(ProgressText(100, 2600, 2600, "files"), "100%  2600 / 2600 files");
  EXPECT_EQ(ProgressText(0, 0, 0, ""), "0%");
  EXPECT_EQ(ProgressText(kUnknown, 1200, 0, "files"), "1200 files");
  EXPECT_EQ(ProgressText(kUnknown, 0, 0, ""), "-");
}

TEST(ProgressLine, BarPercentAndCounts) {
  // 49 columns leave the bar 20 (and the counts room for "1023.9 MiB / 2.6 GiB"): 45% of
  // it is 9.
  EXPECT_EQ(ProgressLine(45, k1_2GiB, k2_6GiB, "bytes", 49, 0),
            "[#########...........]  45%  1.2 GiB / 2.6 GiB");
  EXPECT_EQ(ProgressLine(50, 1200, 2400, "files", 46, 0),
            "[##########..........]  50%  1200 / 2400 files");
  EXPECT_EQ(ProgressLine(0, 0, 2400, "files", 46, 0),
            "[....................]   0%  0 / 2400 files");
  EXPECT_EQ(ProgressLine(100, 2400, 2400, "files", 46, 0),
            "[####################] 100%  2400 / 2400 files");
  // Nothing counted: the percent alone.
  EXPECT_EQ(ProgressLine(30, 0, 0, "", 27, 0), "[######..............]  30%");
}

TEST(ProgressLine, PercentIsRoundedDownAndClamped) {
  EXPECT_EQ(ProgressLine(99.9, 0, 0, "", 27, 0), "[###################.]  99%");
  EXPECT_EQ(ProgressLine(150, 0, 0, "", 27, 0), "[####################] 100%");
  EXPECT_EQ(ProgressLine(-5, 0, 0, "", 27, 0), "[....................]   0%");
  EXPECT_EQ(ProgressLine(std::nan(""), 0, 0, "", 27, 0), "[....................]   0%");
}

TEST(ProgressLine, BarFitsTheWidthWithinBounds) {
  // Wide terminals: the bar stops at 50 columns.
  std::string wide = ProgressLine(45, k1_2GiB, k2_6GiB, "bytes", 200, 0);
  EXPECT_EQ(wide, "[" + std::string(22, '#') + std::string(28, '.') + "]  45%  1.2 GiB / 2.6 GiB");
  // Narrow ones: the bar keeps 10 columns and the line is cut at the width.
  std::string narrow = ProgressLine(45, k1_2GiB, k2_6GiB, "bytes", 30, 0);
  EXPECT_EQ(narrow, "[####......]  45%  1.2 GiB / 2");
  EXPECT_EQ(narrow.size(), 30u);
}

TEST(ProgressLine, BarKeepsItsWidthAsTheCountsGrow) {
  for (uint64_t total : {k2_6GiB, uint64_t{2600}}) {
    const char* unit = total == k2_6GiB ? "bytes" : "files";
    size_t bar = ProgressLine(0, 0, total, unit, 60, 0).find(']');
    for (uint64_t done : {total / 1000, total / 3, total - 1, total}) {
      EXPECT_EQ(ProgressLine(50, done, total, unit, 60, 0).find(']'), bar) << done << " " << unit;
    }
  }
}

TEST(ProgressLine, SpinnerWhileThePercentIsNotKnown) {
  EXPECT_EQ(ProgressLine(kUnknown, k1_2GiB, 0, "bytes", 80, 0), "|  1.2 GiB done");
  EXPECT_EQ(ProgressLine(kUnknown, k1_2GiB, 0, "bytes", 80, 1), "/  1.2 GiB done");
  EXPECT_EQ(ProgressLine(kUnknown, 1200, 0, "files", 80, 2), "-  1200 files done");
  EXPECT_EQ(ProgressLine(kUnknown, 0, 0, "", 80, 3), "\\  working");
  EXPECT_EQ(ProgressLine(kUnknown, 0, 0, "", 80, 4), "|  working");  // around again
  EXPECT_EQ(ProgressLine(kUnknown, 1200, 0, "files", 5, 0), "|  12");
}

}  // namespace
}  // namespace dittofs::dfsctl

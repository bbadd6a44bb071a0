// SPDX-License-Identifier: Apache-2.0
#include "base/time_text.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <string>

#include "base/clock.h"

namespace dittofs {
namespace {

TEST(TimeTextTest, FormatUtcWritesTheTimeInUtc) {
  EXPECT_EQ(FormatUtc(0, "%Y-%m-%dT%H:%M:%SZ"), "1970-01-01T00:00:00Z");
  EXPECT_EQ(FormatUtc(1796638530, "@GMT-%Y.%m.%d-%H.%M.%S"), "@GMT-2026.12.07-10.15.30");
  EXPECT_EQ(FormatUtc(-1, "%Y%m%dT%H%M%SZ"), "19691231T235959Z");
  // A text that does not fit in 63 bytes, and a time struct tm cannot hold: "".
  EXPECT_EQ(FormatUtc(0, std::string(70, 'x').c_str()), "");
  EXPECT_EQ(FormatUtc(INT64_MAX, "%Y"), "");
}

TEST(TimeTextTest, NowMovesForward) {
  const Timespec a = Now();
  const int64_t m = MonotonicNanos();
  EXPECT_GT(a.sec, 1700000000);
  EXPECT_LE(a, Now());
  EXPECT_LE(m, MonotonicNanos());
}

}  // namespace
}  // namespace dittofs

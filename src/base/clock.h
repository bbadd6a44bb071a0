// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <compare>
#include <cstdint>

namespace dittofs {

// A wall-clock time with nanosecond resolution, as file times are kept.
struct Timespec {
  int64_t sec = 0;
  uint32_t nsec = 0;
  friend auto operator<=>(const Timespec&, const Timespec&) = default;
};

// The current wall-clock time.
Timespec Now();

// Monotonic nanoseconds, for durations and deadlines.
int64_t MonotonicNanos();

}  // namespace dittofs

// SPDX-License-Identifier: Apache-2.0
#include "cli/dfsctl/progress.h"

#include <algorithm>
#include <cmath>

#include "cli/dfsctl/units.h"

namespace dittofs::dfsctl {
namespace {

constexpr size_t kMinBar = 10;
constexpr size_t kMaxBar = 50;
constexpr std::string_view kSpinner = "|/-\\";

// The percent as a whole number from 0 to 100, rounded down; NaN is 0.
int WholePercent(double percent) {
  if (!(percent > 0)) return 0;
  if (percent >= 100) return 100;
  return static_cast<int>(std::floor(percent));
}

// "  0%", " 45%", "100%": always four columns, so that the line does not jump as it grows.
std::string PercentColumn(int percent) {
  std::string text = std::to_string(percent) + "%";
  return std::string(4 - text.size(), ' ') + text;
}

// The widest the counts can grow to while the job runs (what is done is at most the total), so
// that the bar keeps its width from one drawing to the next.
size_t WidestCounts(std::string_view counts, uint64_t total, std::string_view unit) {
  if (total == 0) return counts.size();
  constexpr std::string_view kWidestSize = "1023.9 KiB";
  const size_t widest = unit == "bytes" ? kWidestSize.size() + 3 + FormatSize(total).size()
                                        : ProgressCounts(total, total, unit).size();
  return std::max(counts.size(), widest);
}

}  // namespace

std::string ProgressCounts(uint64_t done, uint64_t total, std::string_view unit) {
  if (unit == "bytes") {
    return total == 0 ? FormatSize(done) : FormatSize(done) + " / " + FormatSize(total);
  }
  std::string counts = std::to_string(done);
  if (total != 0) counts += " / " + std::to_string(total);
  if (!unit.empty()) return counts + " " + std::string(unit);
  return done == 0 && total == 0 ? "" : counts;
}

std::string ProgressText(std::optional<double> percent, uint64_t done, uint64_t total,
                         std::string_view unit) {
  std::string counts = ProgressCounts(done, total, unit);
  if (percent) {
    std::string text = std::to_string(WholePercent(*percent)) + "%";
    return counts.empty() ? text : text + "  " + counts;
  }
  return counts.empty() ? "-" : counts;
}

std::string ProgressLine(std::optional<double> percent, uint64_t done, uint64_t total,
                         std::string_view unit, size_t width, uint64_t tick) {
  std::string counts = ProgressCounts(done, total, unit);
  std::string line;
  if (percent) {
    std::string tail = " " + PercentColumn(WholePercent(*percent));
    const size_t fixed =
        tail.size() + 2 + (counts.empty() ? 0 : 2 + WidestCounts(counts, total, unit));
    if (!counts.empty()) tail += "  " + counts;
    const size_t room = width > fixed ? width - fixed : 0;
    const size_t bar = std::clamp(room, kMinBar, kMaxBar);
    const size_t filled = static_cast<size_t>(WholePercent(*percent)) * bar / 100;
    line = "[" + std::string(filled, '#') + std::string(bar - filled, '.') + "]" + tail;
  } else {
    line = std::string(1, kSpinner[tick % kSpinner.size()]) + "  " +
           (counts.empty() ? "working" : counts + " done");
  }
  if (line.size() > width) line.resize(width);
  return line;
}

}  // namespace dittofs::dfsctl

// SPDX-License-Identifier: Apache-2.0
#pragma once

// How dfsctl shows how far a long job (docs/jobs.md) got: the line it redraws on a terminal
// while it follows the job, and the shorter text of job tables. Each takes the API job's
// "percent" (nullopt for null), "done", "total" (0: not known) and "unit" ("bytes", "files"
// or "").

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace dittofs::dfsctl {

// How much is done, in the job's unit: "1.2 GiB / 2.6 GiB" for bytes, "1200 / 2600 files"
// (or "1200 / 2600" without a unit) for others; only what is done while the total is not
// known ("1.2 GiB", "1200 files"); "" when there is neither a unit nor anything done.
std::string ProgressCounts(uint64_t done, uint64_t total, std::string_view unit);

// A job table's progress cell: "45%  1.2 GiB / 2.6 GiB"; the counts alone while the percent
// is not known; "-" when there is nothing to show.
std::string ProgressText(std::optional<double> percent, uint64_t done, uint64_t total,
                         std::string_view unit);

// One line of a running job's progress, at most `width` columns:
//   [#########...........]  45%  1.2 GiB / 2.6 GiB
// The bar takes what the rest of the line leaves, from 10 to 50 columns, setting aside room
// for the counts to grow to the total, so that it keeps its width while the job runs (the line
// is cut at `width` when even 10 do not fit). The percent is rounded down, and out-of-range values
// are taken as 0 or 100. While the percent is not known a spinner turns instead, one step per
// `tick`, beside what is done:
//   /  1.2 GiB done
std::string ProgressLine(std::optional<double> percent, uint64_t done, uint64_t total,
                         std::string_view unit, size_t width, uint64_t tick);

}  // namespace dittofs::dfsctl

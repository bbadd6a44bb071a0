// SPDX-License-Identifier: Apache-2.0
#include "base/allocator.h"

#include <malloc.h>

#include "base/log.h"

namespace dittofs {

void KeepFreedMemoryForReuse() {
  constexpr int kMmapThreshold = 32 << 20;  // the largest every 64-bit glibc accepts
  constexpr int kTrimThreshold = 512 << 20;
  // Setting either turns glibc's dynamic thresholds off, so both are set.
  if (mallopt(M_MMAP_THRESHOLD, kMmapThreshold) != 1 ||
      mallopt(M_TRIM_THRESHOLD, kTrimThreshold) != 1) {
    LOG_WARN("allocator: mallopt refused the thresholds; freed memory goes back to the kernel");
  }
}

}  // namespace dittofs

// SPDX-License-Identifier: Apache-2.0
#include "base/allocator.h"

#include <gtest/gtest.h>
#include <sys/resource.h>

#include <cstdlib>
#include <cstring>
#include <thread>
#include <vector>

#include "base/sanitizers.h"

namespace dittofs {
namespace {

long MinorFaults() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return u.ru_minflt;
}

// What a server does with deep queues: many 1 MiB buffers in flight at once, written, freed,
// and allocated again for the next calls, in several threads.
void Burst(int threads, int buffers) {
  std::vector<std::thread> workers;
  for (int t = 0; t < threads; ++t) {
    workers.emplace_back([buffers] {
      std::vector<void*> held;
      for (int i = 0; i < buffers; ++i) {
        void* p = std::malloc(1 << 20);
        std::memset(p, i, 1 << 20);
        held.push_back(p);
      }
      for (void* p : held) std::free(p);
    });
  }
  for (std::thread& w : workers) w.join();
}

TEST(AllocatorTest, BuffersOfABurstAreReusedWithoutFreshPageFaults) {
#if defined(DITTOFS_ASAN)
  GTEST_SKIP() << "AddressSanitizer replaces glibc's allocator: mallopt has nothing to tune";
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
  GTEST_SKIP() << "AddressSanitizer replaces glibc's allocator: mallopt has nothing to tune";
#endif
#endif
  KeepFreedMemoryForReuse();
  // The same threads' heaps serve every burst: one thread at a time, as a worker pool would.
  for (int warm = 0; warm < 2; ++warm) Burst(1, 64);
  long before = MinorFaults();
  constexpr int kBursts = 10;
  for (int i = 0; i < kBursts; ++i) Burst(1, 64);
  long faults = MinorFaults() - before;
  // Without the tuning, each burst maps and touches its 64 MiB afresh: 16,384 faults a burst.
  EXPECT_LT(faults, 64 * 256 / 4) << "faults in " << kBursts << " bursts of 64 x 1 MiB";
}

}  // namespace
}  // namespace dittofs

// SPDX-License-Identifier: Apache-2.0
#include "base/random.h"

#include <sys/random.h>

#include "base/check.h"

namespace dittofs {

uint64_t RandomU64() {
  uint64_t v = 0;
  ssize_t n = getrandom(&v, sizeof(v), 0);
  CHECK(n == sizeof(v)) << "getrandom failed";
  return v;
}

}  // namespace dittofs

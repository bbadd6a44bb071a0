// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstdint>

namespace dittofs {

// A 64-bit value from the operating system's CSPRNG (getrandom).
uint64_t RandomU64();

}  // namespace dittofs

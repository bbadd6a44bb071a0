// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstdint>

#include "base/bytes.h"

namespace dittofs::stores {

// CRC-32C (Castagnoli, reflected polynomial 0x82F63B78), as iSCSI and ext4 use it.
// Extends `crc` (the value returned for the bytes before `data`; 0 to start) over `data`:
//   Crc32c(Crc32c(0, a), b) == Crc32c(0, a + b).
// Uses the SSE 4.2 instruction where the CPU has it. Thread-safe.
uint32_t Crc32c(uint32_t crc, ByteView data);

// The same by table lookups only, whatever the CPU: for tests of the fast path.
uint32_t Crc32cPortable(uint32_t crc, ByteView data);

}  // namespace dittofs::stores

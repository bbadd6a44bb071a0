// SPDX-License-Identifier: Apache-2.0
#pragma once

#include "base/status.h"

namespace dittofs::controlplane::auth {

// Initializes libsodium once per process (sodium_init picks its implementations and checks
// the random source). Every use of libsodium in this library calls this first. Returns
// Errc::kInternal when libsodium cannot start, which happens only without a random source.
// Thread-safe.
Status EnsureSodiumInitialized();

}  // namespace dittofs::controlplane::auth

// SPDX-License-Identifier: Apache-2.0
#include "controlplane/auth/sodium_init.h"

#include <sodium.h>

namespace dittofs::controlplane::auth {

Status EnsureSodiumInitialized() {
  // sodium_init returns 0 on first success and 1 when already initialized; a function-local
  // static makes the first call race-free.
  static const bool initialized = sodium_init() >= 0;
  if (!initialized) return Status(Errc::kInternal, "libsodium failed to initialize");
  return Status::Ok();
}

}  // namespace dittofs::controlplane::auth

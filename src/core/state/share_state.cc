// SPDX-License-Identifier: Apache-2.0
#include "core/state/share_state.h"

#include "base/clock.h"

namespace dittofs::core {

Status ShareState::CheckAnonymous(uint64_t file, uint32_t access, CacheOp op, uint64_t offset,
                                  uint64_t length) {
  RETURN_IF_ERROR(opens.CheckAccess(file, access));
  if (op == CacheOp::kRead || op == CacheOp::kWrite) {
    const LockOwner anonymous{kAnonymousOwner, LockFlavor::kPosix};
    RETURN_IF_ERROR(locks.CheckIo(file, anonymous, offset, length, op == CacheOp::kWrite));
  }
  if (leases.BreakFor(file, kAnonymousOwner, op, MonotonicNanos() + kBreakTimeoutNanos, nullptr) !=
      0) {
    return Status(Errc::kLocked, "a cached grant of the file is being broken");
  }
  return Status::Ok();
}

}  // namespace dittofs::core

// SPDX-License-Identifier: Apache-2.0
#include "core/state/share_state.h"

#include "base/clock.h"

namespace dittofs::core {

Status ShareState::CheckAnonymous(uint64_t file, uint32_t access, CacheOp op, uint64_t offset,
                                  uint64_t length) {
  return Check(file, access, op, offset, length, nullptr);
}

Status ShareState::Check(uint64_t file, uint32_t access, CacheOp op, uint64_t offset,
                         uint64_t length, const OpenContext* via) {
  const OpenContext anonymous;
  if (via == nullptr) via = &anonymous;
  const bool io = op == CacheOp::kRead || op == CacheOp::kWrite;
  if (via->open == 0) {
    RETURN_IF_ERROR(opens.CheckAccess(file, access));
  } else if (!io) {
    RETURN_IF_ERROR(opens.CheckAccess(file, access, via->open));
  }
  if (io)
    RETURN_IF_ERROR(locks.CheckIo(file, via->lock_owner, offset, length, op == CacheOp::kWrite));
  if (leases.BreakFor(file, via->holder, op, MonotonicNanos() + kBreakTimeoutNanos, nullptr) != 0) {
    return Status(Errc::kLocked, "a cached grant of the file is being broken");
  }
  return Status::Ok();
}

void ShareState::DirectoryChanged(uint64_t dir, uint64_t keep) {
  (void)leases.BreakFor(dir, keep, CacheOp::kChildChange, MonotonicNanos() + kBreakTimeoutNanos,
                        nullptr);
}

bool ShareState::LockRequested(uint64_t file, uint64_t holder) {
  return leases.BreakFor(file, holder, CacheOp::kLock, MonotonicNanos() + kBreakTimeoutNanos,
                         nullptr) != 0;
}

}  // namespace dittofs::core

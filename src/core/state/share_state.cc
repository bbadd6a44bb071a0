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
  Status s = CheckOnce(file, access, op, offset, length, via);
  if (!s.ok() && (s.code() == Errc::kShareViolation || s.code() == Errc::kLocked) &&
      ReleaseExpired(file)) {
    s = CheckOnce(file, access, op, offset, length, via);
  }
  return s;
}

Status ShareState::CheckOnce(uint64_t file, uint32_t access, CacheOp op, uint64_t offset,
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
  return Breaking(file, holder, CacheOp::kLock);
}

bool ShareState::Breaking(uint64_t file, uint64_t holder, CacheOp op) {
  auto once = [&] {
    return leases.BreakFor(file, holder, op, MonotonicNanos() + kBreakTimeoutNanos, nullptr) != 0;
  };
  return once() && (!ReleaseExpired(file) || once());
}

Status ShareState::Lock(const LockRequest& r) {
  Status s = locks.Lock(r);
  if (s.code() == Errc::kLocked && ReleaseExpired(r.file)) s = locks.Lock(r);
  return s;
}

Result<LockTable::WaitId> ShareState::LockOrWait(const LockRequest& r, int64_t deadline_nanos,
                                                 LockTable::Done done) {
  // Granted now, or refused now for an expired holder that gives way: no waiting then.
  Status now = locks.Lock(r);
  if (now.code() != Errc::kLocked) {
    if (!now.ok()) return now;
    return LockTable::WaitId{0};
  }
  if (ReleaseExpired(r.file)) {
    now = locks.Lock(r);
    if (now.ok()) return LockTable::WaitId{0};
  }
  return locks.LockOrWait(r, deadline_nanos, std::move(done));
}

void ShareState::AddReleaser(const std::shared_ptr<const Releaser>& releaser) {
  MutexLock lock(&releasers_mu_);
  std::erase_if(releasers_, [](const auto& w) { return w.expired(); });
  for (const auto& w : releasers_) {
    if (w.lock() == releaser) return;
  }
  releasers_.push_back(releaser);
}

bool ShareState::ReleaseExpired(uint64_t file) {
  std::vector<std::shared_ptr<const Releaser>> live;
  {
    MutexLock lock(&releasers_mu_);
    for (const auto& w : releasers_) {
      if (auto r = w.lock()) live.push_back(std::move(r));
    }
  }
  bool released = false;
  for (const auto& r : live) released = (*r)(file) || released;
  return released;
}

}  // namespace dittofs::core

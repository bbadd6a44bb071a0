// SPDX-License-Identifier: Apache-2.0
#include "net/stream/message_budget.h"

#include <algorithm>

#include "base/check.h"

namespace dittofs::net {

bool MessageBudget::Take(size_t n) {
  size_t used = used_.load();
  do {
    if (n > limit_ || used > limit_ - n) return false;
  } while (!used_.compare_exchange_weak(used, used + n));
  return true;
}

bool MessageBudget::TryReserve(size_t n) {
  // Skipping the queue only when it is empty keeps the order fair.
  return waiting_.load() == 0 && Take(n);
}

uint64_t MessageBudget::ReserveWhenAvailable(size_t n, std::function<void()> granted) {
  CHECK(n <= limit_) << "a reservation of " << n << " bytes exceeds the budget of " << limit_;
  std::vector<std::function<void()>> ready;
  uint64_t ticket;
  {
    MutexLock lock(&mu_);
    ticket = next_ticket_++;
    waiters_.push_back(Waiter{ticket, n, std::move(granted)});
    // Counted before GrantLocked reads used_: a Release that read waiting_ as 0 has already
    // returned its bytes, so GrantLocked sees them (both are sequentially consistent).
    waiting_.store(waiters_.size());
    ready = GrantLocked();
  }
  for (auto& callback : ready) callback();
  return ticket;
}

bool MessageBudget::Cancel(uint64_t ticket) {
  std::function<void()> dropped;  // destroyed outside the lock: it may own a connection
  std::vector<std::function<void()>> ready;
  {
    MutexLock lock(&mu_);
    auto it = std::find_if(waiters_.begin(), waiters_.end(),
                           [&](const Waiter& w) { return w.ticket == ticket; });
    if (it == waiters_.end()) return false;
    dropped = std::move(it->granted);
    waiters_.erase(it);
    ready = GrantLocked();  // if the head left, those behind it may fit now
  }
  for (auto& callback : ready) callback();
  return true;
}

void MessageBudget::Release(size_t n) {
  if (n == 0) return;
  used_.fetch_sub(n);
  if (waiting_.load() == 0) return;
  std::vector<std::function<void()>> ready;
  {
    MutexLock lock(&mu_);
    ready = GrantLocked();
  }
  for (auto& callback : ready) callback();
}

std::vector<std::function<void()>> MessageBudget::GrantLocked() {
  std::vector<std::function<void()>> ready;
  while (!waiters_.empty() && Take(waiters_.front().bytes)) {
    ready.push_back(std::move(waiters_.front().granted));
    waiters_.pop_front();
  }
  waiting_.store(waiters_.size());
  return ready;
}

}  // namespace dittofs::net

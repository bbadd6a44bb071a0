// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <atomic>
#include <cstdint>
#include <deque>
#include <functional>
#include <vector>

#include "base/mutex.h"

namespace dittofs::net {

// The memory of messages still being received, shared by all the connections of a stream
// server, so that clients which send the start of a large message and stall cannot together
// hold max_connections × the largest message. Each message's first kUnbudgetedMessageBytes are
// not counted (small messages never touch the shared counter; a connection's staging buffer
// costs as much anyway); a framer reserves the rest here before it allocates it.
//
// Requests that do not fit wait in FIFO order: released bytes go to the oldest waiter first, so
// a stream of new requests cannot starve it.
// All methods are safe to call concurrently from any thread.
class MessageBudget {
 public:
  static constexpr size_t kUnbudgetedMessageBytes = 64 * 1024;

  explicit MessageBudget(size_t limit) : limit_(limit) {}
  MessageBudget(const MessageBudget&) = delete;
  MessageBudget& operator=(const MessageBudget&) = delete;

  // Reserves `n` bytes if they fit and nobody is waiting.
  bool TryReserve(size_t n);
  // Queues a request for `n` bytes. Once they are reserved for the caller, `granted` runs on
  // the thread that freed them (possibly this one, before this returns), with no lock held; it
  // must be quick (post work elsewhere). Returns a ticket for Cancel.
  // REQUIRES: n <= limit().
  uint64_t ReserveWhenAvailable(size_t n, std::function<void()> granted);
  // Withdraws a queued request. Returns false when it was granted already: then `granted` has
  // run or is running, and the bytes are the caller's to Release.
  bool Cancel(uint64_t ticket);
  void Release(size_t n);

  size_t limit() const { return limit_; }
  // Bytes reserved now.
  size_t used() const { return used_.load(std::memory_order_relaxed); }

 private:
  struct Waiter {
    uint64_t ticket;
    size_t bytes;
    std::function<void()> granted;
  };
  // Reserves for waiters from the head of the queue while they fit; returns their callbacks.
  std::vector<std::function<void()>> GrantLocked() EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Adds n to used_ unless that would pass the limit.
  bool Take(size_t n);

  const size_t limit_;
  std::atomic<size_t> used_{0};
  // waiters_.size(), readable without mu_: reservations skip the queue only when it is empty,
  // and releases take mu_ only when someone waits.
  std::atomic<size_t> waiting_{0};
  Mutex mu_;
  std::deque<Waiter> waiters_ GUARDED_BY(mu_);
  uint64_t next_ticket_ GUARDED_BY(mu_) = 1;
};

}  // namespace dittofs::net

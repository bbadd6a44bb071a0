// SPDX-License-Identifier: Apache-2.0
#include "core/state/lock_table.h"

#include <algorithm>
#include <array>
#include <atomic>
#include <deque>
#include <limits>
#include <unordered_map>
#include <unordered_set>
#include <utility>

#include "base/mutex.h"
#include "core/state/shards.h"

namespace dittofs::core {
namespace {

constexpr uint64_t kMax = std::numeric_limits<uint64_t>::max();

// A range in inclusive terms. A Windows lock of length 0 is `empty`: it ends before it starts
// (last = first - 1), which is the arithmetic MS-FSA 2.1.4.10 applies to it; {0, 0} overlaps
// nothing at all.
struct Span {
  uint64_t first = 0;
  uint64_t last = 0;
  bool empty = false;
};

bool Overlap(const Span& a, const Span& b) {
  if ((a.empty && a.first == 0) || (b.empty && b.first == 0)) return false;
  uint64_t a_last = a.empty ? a.first - 1 : a.last;
  uint64_t b_last = b.empty ? b.first - 1 : b.last;
  return a.first <= b_last && a_last >= b.first;
}

struct HeldLock {
  LockOwner owner;
  Span span;
  bool exclusive = false;
  uint64_t offset = 0;  // as requested (Windows unlocks match these exactly)
  uint64_t length = 0;
  uint64_t seq = 0;  // arrival order
};

// What is asked of the table: a lock (lock intent) or a read/write (I/O intent).
struct Intent {
  LockOwner owner;
  Span span;
  bool exclusive = false;  // an exclusive lock, or a write
  bool lock = true;
};

Result<Span> SpanOf(const LockOwner& owner, uint64_t offset, uint64_t length) {
  if (owner.flavor == LockFlavor::kPosix) {
    if (length == 0) return Span{offset, kMax, false};  // to the end of any file
    if (length - 1 > kMax - offset) return Status(Errc::kInvalid, "lock range past 2^64 - 1");
    return Span{offset, offset + length - 1, false};
  }
  if (length == 0) return Span{offset, offset, true};
  if (length - 1 > kMax - offset) return Status(Errc::kInvalid, "lock range past 2^64 - 1");
  return Span{offset, offset + length - 1, false};
}

// Whether the held lock `e` refuses `r`; the table in docs/state.md.
bool Conflicts(const HeldLock& e, const Intent& r) {
  if (!Overlap(e.span, r.span)) return false;
  if (e.owner.flavor == LockFlavor::kPosix) {
    if (!r.lock) return false;  // advisory: I/O ignores POSIX locks
    if (r.owner == e.owner) return false;
    return e.exclusive || r.exclusive;
  }
  // A Windows lock (MS-FSA 2.1.4.10).
  if (r.owner.flavor == LockFlavor::kPosix && r.lock) return e.exclusive || r.exclusive;
  if (e.exclusive) {
    if (!(r.owner == e.owner)) return true;
    return r.lock && r.exclusive;  // a shared lock may overlap its owner's exclusive one
  }
  return r.exclusive;  // a shared lock refuses writes and exclusive locks, its owner's too
}

LockInfo InfoOf(const HeldLock& l) {
  LockInfo i;
  i.owner = l.owner;
  i.offset = l.offset;
  i.length = l.length;
  i.exclusive = l.exclusive;
  return i;
}

struct Waiter {
  LockTable::WaitId id = 0;
  LockRequest request;
  Intent intent;
  int64_t deadline = 0;
  LockTable::Done done;
};

struct FileLocks {
  std::vector<HeldLock> locks;
  std::deque<Waiter> waiters;
};

using FileShard = Shard<FileLocks>;

}  // namespace

struct LockTable::Impl {
  Shards<FileLocks> shards;
  alignas(64) std::atomic<uint64_t> next_seq{1};
  alignas(64) std::atomic<size_t> locks{0};
  alignas(64) std::atomic<size_t> waiters{0};

  // The slow path of waiting requests: which are waiting, and for which owner. Taken before
  // any shard's mutex, never after.
  Mutex graph_mu;
  uint64_t next_wait GUARDED_BY(graph_mu) = 1;
  struct WaitEntry {
    uint64_t file = 0;
    LockOwner owner;
  };
  std::unordered_map<WaitId, WaitEntry> waits GUARDED_BY(graph_mu);
  std::unordered_multimap<uint64_t, WaitId> waits_of_owner GUARDED_BY(graph_mu);

  FileShard& ShardOf(uint64_t file) { return shards.Of(file); }

  static const HeldLock* FindConflict(const FileLocks& f, const Intent& r) {
    for (const HeldLock& l : f.locks) {
      if (Conflicts(l, r)) return &l;
    }
    return nullptr;
  }

  // Adds a granted lock. POSIX: the owner's own locks on the range give way to it, and
  // adjacent or overlapping locks of the same type merge.
  void Apply(FileLocks& f, const LockRequest& r, const Span& span) {
    HeldLock added;
    added.owner = r.owner;
    added.span = span;
    added.exclusive = r.exclusive;
    added.offset = r.offset;
    added.length = r.length;
    added.seq = next_seq.fetch_add(1);
    if (r.owner.flavor == LockFlavor::kWindows) {
      f.locks.push_back(added);
      locks.fetch_add(1);
      return;
    }
    CutOwner(f, r.owner, span);
    // Merge with the owner's locks of the same type that touch or overlap it.
    for (size_t i = 0; i < f.locks.size();) {
      HeldLock& l = f.locks[i];
      bool same = l.owner == r.owner && l.exclusive == added.exclusive;
      bool touches = same && (l.span.last == kMax || l.span.last + 1 >= added.span.first) &&
                     (added.span.last == kMax || added.span.last + 1 >= l.span.first);
      if (!touches) {
        ++i;
        continue;
      }
      added.span.first = std::min(added.span.first, l.span.first);
      added.span.last = std::max(added.span.last, l.span.last);
      f.locks[i] = f.locks.back();
      f.locks.pop_back();
      locks.fetch_sub(1);
    }
    added.offset = added.span.first;
    added.length = added.span.last == kMax ? 0 : added.span.last - added.span.first + 1;
    f.locks.push_back(added);
    locks.fetch_add(1);
  }

  // Removes `span` from the owner's POSIX locks, splitting those it cuts through.
  void CutOwner(FileLocks& f, const LockOwner& owner, const Span& span) {
    std::vector<HeldLock> kept;
    for (HeldLock& l : f.locks) {
      if (!(l.owner == owner) || !Overlap(l.span, span)) {
        kept.push_back(l);
        continue;
      }
      locks.fetch_sub(1);
      if (l.span.first < span.first) {
        HeldLock left = l;
        left.span.last = span.first - 1;
        kept.push_back(left);
        locks.fetch_add(1);
      }
      if (span.last != kMax && l.span.last > span.last) {
        HeldLock right = l;
        right.span.first = span.last + 1;
        kept.push_back(right);
        locks.fetch_add(1);
      }
    }
    for (HeldLock& l : kept) {
      if (l.owner == owner && l.owner.flavor == LockFlavor::kPosix) {
        l.offset = l.span.first;
        l.length = l.span.last == kMax ? 0 : l.span.last - l.span.first + 1;
      }
    }
    f.locks = std::move(kept);
  }

  // Grants what now can be granted among `file`'s waiters, in arrival order. Returns their
  // callbacks, to be run once every mutex is released.
  std::vector<std::pair<WaitId, Done>> GrantWaiters(FileLocks& f) {
    std::vector<std::pair<WaitId, Done>> granted;
    for (auto it = f.waiters.begin(); it != f.waiters.end();) {
      if (FindConflict(f, it->intent) != nullptr) {
        ++it;
        continue;
      }
      Apply(f, it->request, it->intent.span);
      granted.emplace_back(it->id, std::move(it->done));
      it = f.waiters.erase(it);
      waiters.fetch_sub(1);
    }
    return granted;
  }

  void Forget(const std::vector<WaitId>& ids) {
    MutexLock lock(&graph_mu);
    for (WaitId id : ids) {
      auto it = waits.find(id);
      if (it == waits.end()) continue;
      auto [b, e] = waits_of_owner.equal_range(it->second.owner.id);
      for (auto o = b; o != e; ++o) {
        if (o->second == id) {
          waits_of_owner.erase(o);
          break;
        }
      }
      waits.erase(it);
    }
  }

  void Finish(std::vector<std::pair<WaitId, Done>> done, Status s) {
    std::vector<WaitId> ids;
    for (auto& d : done) ids.push_back(d.first);
    Forget(ids);
    for (auto& d : done) {
      if (d.second) d.second(s);
    }
  }

  // The owners whose locks on `file` refuse `r`.
  std::vector<LockOwner> Blockers(uint64_t file, const Intent& r) {
    std::vector<LockOwner> out;
    FileShard& s = ShardOf(file);
    MutexLock lock(&s.mu);
    auto it = s.map.find(file);
    if (it == s.map.end()) return out;
    for (const HeldLock& l : it->second.locks) {
      if (Conflicts(l, r)) out.push_back(l.owner);
    }
    return out;
  }

  // Whether `requester` waiting for `blockers` closes a cycle: some blocker waits, directly
  // or through others, for the requester. Only POSIX owners wait this way.
  bool WouldDeadlock(const LockOwner& requester, std::vector<LockOwner> blockers)
      EXCLUSIVE_LOCKS_REQUIRED(graph_mu) {
    std::unordered_set<uint64_t> seen;
    while (!blockers.empty()) {
      LockOwner b = blockers.back();
      blockers.pop_back();
      if (b == requester) return true;
      if (b.flavor != LockFlavor::kPosix || !seen.insert(b.id).second) continue;
      auto [first, end] = waits_of_owner.equal_range(b.id);
      for (auto o = first; o != end; ++o) {
        const WaitEntry& w = waits.at(o->second);
        if (!(w.owner == b)) continue;
        // What that waiting request waits for, if it is still queued.
        FileShard& s = ShardOf(w.file);
        MutexLock lock(&s.mu);
        auto f = s.map.find(w.file);
        if (f == s.map.end()) continue;
        for (const Waiter& q : f->second.waiters) {
          if (q.id != o->second) continue;
          for (const HeldLock& l : f->second.locks) {
            if (Conflicts(l, q.intent)) blockers.push_back(l.owner);
          }
        }
      }
    }
    return false;
  }
};

LockTable::LockTable() : impl_(std::make_unique<Impl>()) {}
LockTable::~LockTable() = default;

Status LockTable::Lock(const LockRequest& r) {
  ASSIGN_OR_RETURN(Span span, SpanOf(r.owner, r.offset, r.length));
  Intent intent{r.owner, span, r.exclusive, true};
  FileShard& s = impl_->ShardOf(r.file);
  MutexLock lock(&s.mu);
  FileLocks& f = s.map[r.file];
  if (Impl::FindConflict(f, intent) != nullptr) {
    if (f.locks.empty() && f.waiters.empty()) s.map.erase(r.file);
    return Errc::kLocked;
  }
  impl_->Apply(f, r, span);
  return Status::Ok();
}

Result<LockTable::WaitId> LockTable::LockOrWait(const LockRequest& r, int64_t deadline_nanos,
                                                Done done) {
  ASSIGN_OR_RETURN(Span span, SpanOf(r.owner, r.offset, r.length));
  Intent intent{r.owner, span, r.exclusive, true};
  if (Status st = Lock(r); st.code() != Errc::kLocked) {
    if (!st.ok()) return st;
    return WaitId{0};
  }
  MutexLock graph(&impl_->graph_mu);
  if (r.owner.flavor == LockFlavor::kPosix &&
      impl_->WouldDeadlock(r.owner, impl_->Blockers(r.file, intent))) {
    return Errc::kDeadlock;
  }
  FileShard& s = impl_->ShardOf(r.file);
  MutexLock lock(&s.mu);
  FileLocks& f = s.map[r.file];
  if (Impl::FindConflict(f, intent) == nullptr) {  // released meanwhile
    impl_->Apply(f, r, span);
    return WaitId{0};
  }
  WaitId id = impl_->next_wait++;
  f.waiters.push_back(Waiter{id, r, intent, deadline_nanos, std::move(done)});
  impl_->waiters.fetch_add(1);
  impl_->waits[id] = Impl::WaitEntry{r.file, r.owner};
  impl_->waits_of_owner.emplace(r.owner.id, id);
  return id;
}

bool LockTable::Cancel(WaitId id) {
  Done done;
  {
    MutexLock graph(&impl_->graph_mu);
    auto it = impl_->waits.find(id);
    if (it == impl_->waits.end()) return false;
    uint64_t file = it->second.file;
    FileShard& s = impl_->ShardOf(file);
    MutexLock lock(&s.mu);
    auto f = s.map.find(file);
    if (f == s.map.end()) return false;
    auto& q = f->second.waiters;
    auto w = std::find_if(q.begin(), q.end(), [&](const Waiter& x) { return x.id == id; });
    if (w == q.end()) return false;  // granted or expired; its callback is on its way
    done = std::move(w->done);
    q.erase(w);
    impl_->waiters.fetch_sub(1);
  }
  impl_->Finish({{id, std::move(done)}}, Status(Errc::kBusy, "lock request cancelled"));
  return true;
}

void LockTable::ExpireWaiters(int64_t now_nanos) {
  std::vector<std::pair<WaitId, Done>> expired;
  for (FileShard& s : impl_->shards) {
    MutexLock lock(&s.mu);
    for (auto& [file, f] : s.map) {
      for (auto it = f.waiters.begin(); it != f.waiters.end();) {
        if (it->deadline > now_nanos) {
          ++it;
          continue;
        }
        expired.emplace_back(it->id, std::move(it->done));
        it = f.waiters.erase(it);
        impl_->waiters.fetch_sub(1);
      }
    }
  }
  impl_->Finish(std::move(expired), Status(Errc::kUnavailable, "lock wait timed out"));
}

std::optional<LockInfo> LockTable::Test(const LockRequest& r) {
  Result<Span> span = SpanOf(r.owner, r.offset, r.length);
  if (!span.ok()) return std::nullopt;
  Intent intent{r.owner, *span, r.exclusive, true};
  FileShard& s = impl_->ShardOf(r.file);
  MutexLock lock(&s.mu);
  auto it = s.map.find(r.file);
  if (it == s.map.end()) return std::nullopt;
  const HeldLock* l = Impl::FindConflict(it->second, intent);
  if (l == nullptr) return std::nullopt;
  return InfoOf(*l);
}

Status LockTable::Unlock(const LockRequest& r) {
  ASSIGN_OR_RETURN(Span span, SpanOf(r.owner, r.offset, r.length));
  std::vector<std::pair<WaitId, Done>> granted;
  {
    FileShard& s = impl_->ShardOf(r.file);
    MutexLock lock(&s.mu);
    auto it = s.map.find(r.file);
    if (r.owner.flavor == LockFlavor::kWindows) {
      if (it == s.map.end()) return Errc::kRangeNotLocked;
      auto& locks = it->second.locks;
      auto oldest = locks.end();
      for (auto l = locks.begin(); l != locks.end(); ++l) {
        if (l->owner == r.owner && l->offset == r.offset && l->length == r.length &&
            (oldest == locks.end() || l->seq < oldest->seq)) {
          oldest = l;
        }
      }
      if (oldest == locks.end()) return Errc::kRangeNotLocked;
      locks.erase(oldest);
      impl_->locks.fetch_sub(1);
    } else {
      if (it == s.map.end()) return Status::Ok();
      impl_->CutOwner(it->second, r.owner, span);
    }
    granted = impl_->GrantWaiters(it->second);
    if (it->second.locks.empty() && it->second.waiters.empty()) s.map.erase(it);
  }
  impl_->Finish(std::move(granted), Status::Ok());
  return Status::Ok();
}

void LockTable::ReleaseOwner(uint64_t file, const LockOwner& owner) {
  std::vector<std::pair<WaitId, Done>> granted;
  {
    FileShard& s = impl_->ShardOf(file);
    MutexLock lock(&s.mu);
    auto it = s.map.find(file);
    if (it == s.map.end()) return;
    auto& locks = it->second.locks;
    size_t before = locks.size();
    std::erase_if(locks, [&](const HeldLock& l) { return l.owner == owner; });
    impl_->locks.fetch_sub(before - locks.size());
    granted = impl_->GrantWaiters(it->second);
    if (it->second.locks.empty() && it->second.waiters.empty()) s.map.erase(it);
  }
  impl_->Finish(std::move(granted), Status::Ok());
}

Status LockTable::CheckIo(uint64_t file, const LockOwner& owner, uint64_t offset, uint64_t length,
                          bool write) {
  if (length == 0) return Status::Ok();  // moves no byte
  uint64_t last = length - 1 > kMax - offset ? kMax : offset + length - 1;
  Intent intent{owner, Span{offset, last, false}, write, false};
  FileShard& s = impl_->ShardOf(file);
  MutexLock lock(&s.mu);
  auto it = s.map.find(file);
  if (it == s.map.end()) return Status::Ok();
  if (Impl::FindConflict(it->second, intent) != nullptr) return Errc::kLocked;
  return Status::Ok();
}

std::vector<LockInfo> LockTable::Locks(uint64_t file) {
  std::vector<LockInfo> out;
  FileShard& s = impl_->ShardOf(file);
  MutexLock lock(&s.mu);
  auto it = s.map.find(file);
  if (it == s.map.end()) return out;
  for (const auto& l : it->second.locks) out.push_back(InfoOf(l));
  return out;
}

std::vector<std::pair<uint64_t, LockInfo>> LockTable::AllLocks(size_t max) {
  std::vector<std::pair<uint64_t, LockInfo>> out;
  for (FileShard& s : impl_->shards) {
    MutexLock lock(&s.mu);
    for (const auto& [file, f] : s.map) {
      for (const auto& l : f.locks) {
        if (out.size() == max) return out;
        out.emplace_back(file, InfoOf(l));
      }
    }
  }
  return out;
}

size_t LockTable::lock_count() const { return impl_->locks.load(); }
size_t LockTable::waiter_count() const { return impl_->waiters.load(); }

}  // namespace dittofs::core

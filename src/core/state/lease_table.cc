// SPDX-License-Identifier: Apache-2.0
#include "core/state/lease_table.h"

#include <algorithm>
#include <array>
#include <atomic>
#include <deque>
#include <unordered_map>
#include <utility>
#include <vector>

#include "base/mutex.h"
#include "core/state/shards.h"

namespace dittofs::core {
namespace {

// The cache bits another holder's `op` cannot coexist with.
uint8_t ConflictBits(CacheOp op) {
  switch (op) {
    case CacheOp::kOpen:
    case CacheOp::kRead:
      return kCacheWrite;
    case CacheOp::kWrite:
    case CacheOp::kSetSize:
      return kCacheRead | kCacheWrite;
    case CacheOp::kRemove:
    case CacheOp::kRename:
      return kCacheHandle;
    case CacheOp::kOverwrite:
    case CacheOp::kChildChange:
    case CacheOp::kLock:
      break;
  }
  return kCacheRead | kCacheHandle | kCacheWrite;
}

struct Grant {
  LeaseTable::GrantId id = 0;
  uint64_t holder = 0;
  GrantKind kind = GrantKind::kLease;
  uint8_t state = 0;
  bool breaking = false;
  uint8_t breaking_to = 0;
  int64_t deadline = 0;
  uint16_t epoch = 1;
  LeaseTable::BreakFn on_break;
};

struct OpWaiter {
  LeaseTable::WaitId id = 0;
  uint64_t requester = 0;
  uint8_t bits = 0;
  LeaseTable::Done done;
};

struct FileGrants {
  std::vector<Grant> grants;
  std::deque<OpWaiter> waiters;
};

using FileShard = Shard<FileGrants>;
using IdShard = Shard<uint64_t>;  // which file each grant is on

// Work to do once the file's mutex is released.
struct Calls {
  struct Break {
    LeaseTable::BreakFn fn;
    LeaseTable::GrantId id;
    uint8_t to;
    uint16_t epoch;
  };
  std::vector<Break> breaks;
  std::vector<LeaseTable::Done> done;
  std::vector<LeaseTable::GrantId> forgotten;  // grants gone: drop from the id index

  void Run(Status s) {
    for (Break& b : breaks) {
      if (b.fn) b.fn(b.id, b.to, b.epoch);
    }
    for (LeaseTable::Done& d : done) {
      if (d) d(s);
    }
  }
};

bool Blocked(const FileGrants& f, uint64_t requester, uint8_t bits) {
  for (const Grant& g : f.grants) {
    if (g.holder != requester && (g.state & bits) != 0) return true;
  }
  return false;
}

// Lets the file's waiting operations that nothing blocks any more go on.
void Wake(FileGrants& f, Calls* calls) {
  for (auto it = f.waiters.begin(); it != f.waiters.end();) {
    if (Blocked(f, it->requester, it->bits)) {
      ++it;
      continue;
    }
    calls->done.push_back(std::move(it->done));
    it = f.waiters.erase(it);
  }
}

// The grant settles at `state` (an acknowledgement, or a revocation): a delegation with
// nothing left is gone.
void Settle(FileGrants& f, std::vector<Grant>::iterator g, uint8_t state, Calls* calls) {
  g->state = state;
  g->breaking = false;
  g->breaking_to = 0;
  if (g->kind == GrantKind::kDelegation && state == 0) {
    calls->forgotten.push_back(g->id);
    f.grants.erase(g);
  }
}

}  // namespace

struct LeaseTable::Impl {
  Shards<FileGrants> shards;
  Shards<uint64_t> ids;
  alignas(64) std::atomic<uint64_t> next_id{1};
  alignas(64) std::atomic<size_t> grants{0};

  FileShard& ShardOf(uint64_t file) { return shards.Of(file); }
  IdShard& IdShardOf(GrantId id) { return ids.Of(id); }

  std::optional<uint64_t> FileOf(GrantId id) {
    IdShard& s = IdShardOf(id);
    MutexLock lock(&s.mu);
    auto it = s.map.find(id);
    if (it == s.map.end()) return std::nullopt;
    return it->second;
  }
  void Index(GrantId id, uint64_t file) {
    IdShard& s = IdShardOf(id);
    MutexLock lock(&s.mu);
    s.map[id] = file;
  }
  void Finish(Calls& calls, Status s) {
    for (GrantId id : calls.forgotten) {
      IdShard& is = IdShardOf(id);
      MutexLock lock(&is.mu);
      is.map.erase(id);
      grants.fetch_sub(1);
    }
    calls.Run(s);
  }
};

LeaseTable::LeaseTable() : impl_(std::make_unique<Impl>()) {}
LeaseTable::~LeaseTable() = default;

Result<LeaseTable::Granted> LeaseTable::Request(uint64_t file, uint64_t holder, GrantKind kind,
                                                uint8_t wanted, BreakFn on_break,
                                                bool whole_upgrade) {
  if ((wanted & ~(kCacheRead | kCacheHandle | kCacheWrite)) != 0) {
    return Status(Errc::kInvalid, "unknown cache bits");
  }
  Granted out;
  bool indexed = false;
  {
    FileShard& s = impl_->ShardOf(file);
    MutexLock lock(&s.mu);
    FileGrants& f = s.map[file];
    uint8_t allowed = wanted;
    Grant* mine = nullptr;
    for (Grant& g : f.grants) {
      if (g.breaking) allowed = 0;  // a break in progress: nothing new until it settles
      if (g.holder == holder) {
        mine = &g;
        continue;
      }
      if (g.state != 0) allowed &= static_cast<uint8_t>(~kCacheWrite);
      if ((g.state & kCacheWrite) != 0) allowed = 0;
    }
    if (mine != nullptr) {
      if (mine->breaking) allowed = mine->state;  // kept as it is until the break settles
      if (whole_upgrade && allowed != wanted) allowed = mine->state;
      if (allowed != mine->state) {
        mine->state = allowed;
        ++mine->epoch;
      }
      mine->on_break = std::move(on_break);
      return Granted{mine->id, mine->state, mine->epoch};
    }
    if (allowed == 0) {
      if (f.grants.empty() && f.waiters.empty()) s.map.erase(file);
      return out;
    }
    Grant g;
    g.id = impl_->next_id.fetch_add(1);
    g.holder = holder;
    g.kind = kind;
    g.state = allowed;
    g.on_break = std::move(on_break);
    out = Granted{g.id, g.state, g.epoch};
    f.grants.push_back(std::move(g));
    impl_->grants.fetch_add(1);
    indexed = true;
  }
  if (indexed) impl_->Index(out.id, file);
  return out;
}

LeaseTable::WaitId LeaseTable::BreakFor(uint64_t file, uint64_t requester, CacheOp op,
                                        int64_t break_deadline_nanos, Done done) {
  const uint8_t bits = ConflictBits(op);
  Calls calls;
  WaitId id = 0;
  {
    FileShard& s = impl_->ShardOf(file);
    MutexLock lock(&s.mu);
    auto it = s.map.find(file);
    if (it == s.map.end()) return 0;
    FileGrants& f = it->second;
    for (Grant& g : f.grants) {
      if (g.holder == requester || (g.state & bits) == 0) continue;
      uint8_t to = g.kind == GrantKind::kDelegation ? 0 : static_cast<uint8_t>(g.state & ~bits);
      // MS-SMB2 §3.3.4.7: a lease or oplock that caches reads alone is broken without an
      // acknowledgement: the holder is told, and the grant settles at once.
      if (g.kind == GrantKind::kLease && !g.breaking &&
          (g.state & (kCacheWrite | kCacheHandle)) == 0) {
        g.state = to;
        ++g.epoch;
        calls.breaks.push_back({g.on_break, g.id, to, g.epoch});
        continue;
      }
      if (g.breaking && (g.breaking_to & ~to) == 0) continue;  // already breaking that far
      g.breaking_to = g.breaking ? static_cast<uint8_t>(g.breaking_to & to) : to;
      if (!g.breaking) g.deadline = break_deadline_nanos;
      g.breaking = true;
      ++g.epoch;
      calls.breaks.push_back({g.on_break, g.id, g.breaking_to, g.epoch});
    }
    if (Blocked(f, requester, bits)) {
      id = impl_->next_id.fetch_add(1);
      if (done) f.waiters.push_back(OpWaiter{id, requester, bits, std::move(done)});
    }
  }
  impl_->Finish(calls, Status::Ok());
  return id;
}

Status LeaseTable::Acknowledge(GrantId id, uint8_t state) {
  std::optional<uint64_t> file = impl_->FileOf(id);
  if (!file) return Status(Errc::kNotFound, "no such grant");
  Calls calls;
  {
    FileShard& s = impl_->ShardOf(*file);
    MutexLock lock(&s.mu);
    auto it = s.map.find(*file);
    if (it == s.map.end()) return Status(Errc::kNotFound, "no such grant");
    FileGrants& f = it->second;
    auto g = std::find_if(f.grants.begin(), f.grants.end(), [&](auto& x) { return x.id == id; });
    if (g == f.grants.end() || !g->breaking)
      return Status(Errc::kNotFound, "no break to acknowledge");
    if ((state & ~g->breaking_to) != 0) {
      return Status(Errc::kInvalid, "acknowledged more than the break leaves");
    }
    Settle(f, g, state, &calls);
    Wake(f, &calls);
  }
  impl_->Finish(calls, Status::Ok());
  return Status::Ok();
}

void LeaseTable::Release(GrantId id) {
  std::optional<uint64_t> file = impl_->FileOf(id);
  if (!file) return;
  Calls calls;
  {
    FileShard& s = impl_->ShardOf(*file);
    MutexLock lock(&s.mu);
    auto it = s.map.find(*file);
    if (it == s.map.end()) return;
    FileGrants& f = it->second;
    auto g = std::find_if(f.grants.begin(), f.grants.end(), [&](auto& x) { return x.id == id; });
    if (g == f.grants.end()) return;
    calls.forgotten.push_back(id);
    f.grants.erase(g);
    Wake(f, &calls);
    if (f.grants.empty() && f.waiters.empty()) s.map.erase(it);
  }
  impl_->Finish(calls, Status::Ok());
}

void LeaseTable::ExpireBreaks(int64_t now_nanos) {
  Calls calls;
  for (FileShard& s : impl_->shards) {
    MutexLock lock(&s.mu);
    for (auto& [file, f] : s.map) {
      std::vector<GrantId> overdue;
      for (const Grant& g : f.grants) {
        if (g.breaking && g.deadline <= now_nanos) overdue.push_back(g.id);
      }
      for (GrantId id : overdue) {
        // Revoked: the grant is cut to the break's target without the holder's word.
        auto g =
            std::find_if(f.grants.begin(), f.grants.end(), [&](auto& x) { return x.id == id; });
        Settle(f, g, g->breaking_to, &calls);
      }
      if (!overdue.empty()) Wake(f, &calls);
    }
  }
  impl_->Finish(calls, Status::Ok());
}

bool LeaseTable::Cancel(WaitId id) {
  Done done;
  bool found = false;
  for (FileShard& s : impl_->shards) {
    MutexLock lock(&s.mu);
    for (auto& [file, f] : s.map) {
      auto w =
          std::find_if(f.waiters.begin(), f.waiters.end(), [&](auto& x) { return x.id == id; });
      if (w == f.waiters.end()) continue;
      done = std::move(w->done);
      f.waiters.erase(w);
      found = true;
      break;
    }
    if (found) break;
  }
  if (found && done) done(Status(Errc::kBusy, "cancelled"));
  return found;
}

std::optional<LeaseTable::GrantInfo> LeaseTable::Get(GrantId id) {
  std::optional<uint64_t> file = impl_->FileOf(id);
  if (!file) return std::nullopt;
  FileShard& s = impl_->ShardOf(*file);
  MutexLock lock(&s.mu);
  auto it = s.map.find(*file);
  if (it == s.map.end()) return std::nullopt;
  for (const Grant& g : it->second.grants) {
    if (g.id == id)
      return GrantInfo{*file, g.holder, g.kind, g.state, g.breaking, g.breaking_to, g.epoch};
  }
  return std::nullopt;
}

size_t LeaseTable::grant_count() const { return impl_->grants.load(); }

}  // namespace dittofs::core

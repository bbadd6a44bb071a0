// SPDX-License-Identifier: Apache-2.0
#include "core/state/lock_table.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "base/clock.h"
#include "testing/status_matchers.h"

namespace dittofs::core {
namespace {

constexpr LockOwner P(uint64_t id) { return LockOwner{id, LockFlavor::kPosix}; }
constexpr LockOwner W(uint64_t id) { return LockOwner{100 + id, LockFlavor::kWindows}; }

LockRequest Req(LockOwner owner, uint64_t offset, uint64_t length, bool exclusive,
                uint64_t file = 1) {
  return LockRequest{file, owner, offset, length, exclusive};
}

// The conflict table of docs/state.md ("Byte-range locks"), row by row: a lock held, then a
// request (a lock, a read or a write) and whether it is refused.
enum class Kind { kShared, kExclusive, kRead, kWrite };
struct Row {
  const char* what;
  LockOwner held_by;
  uint64_t held_offset, held_length;
  bool held_exclusive;
  LockOwner by;
  uint64_t offset, length;
  Kind kind;
  bool refused;
};

const Row kTable[] = {
    // POSIX held.
    {"posix X / other posix S", P(1), 0, 10, true, P(2), 5, 10, Kind::kShared, true},
    {"posix S / other posix S", P(1), 0, 10, false, P(2), 5, 10, Kind::kShared, false},
    {"posix S / other posix X", P(1), 0, 10, false, P(2), 5, 10, Kind::kExclusive, true},
    {"posix X / own posix X (replaces)", P(1), 0, 10, true, P(1), 5, 10, Kind::kExclusive, false},
    {"posix X / no overlap", P(1), 0, 10, true, P(2), 10, 10, Kind::kExclusive, false},
    {"posix X to end / far lock", P(1), 100, 0, true, P(2), 1u << 30, 1, Kind::kShared, true},
    {"posix X / windows S", P(1), 0, 10, true, W(1), 5, 1, Kind::kShared, true},
    {"posix S / windows S", P(1), 0, 10, false, W(1), 5, 1, Kind::kShared, false},
    {"posix S / windows X", P(1), 0, 10, false, W(1), 5, 1, Kind::kExclusive, true},
    {"posix X / any read (advisory)", P(1), 0, 10, true, W(1), 0, 10, Kind::kRead, false},
    {"posix X / any write (advisory)", P(1), 0, 10, true, P(2), 0, 10, Kind::kWrite, false},
    // Windows held.
    {"windows X / other windows S", W(1), 0, 10, true, W(2), 9, 1, Kind::kShared, true},
    {"windows X / own windows S", W(1), 0, 10, true, W(1), 0, 10, Kind::kShared, false},
    {"windows X / own windows X", W(1), 0, 10, true, W(1), 0, 10, Kind::kExclusive, true},
    {"windows S / own windows S", W(1), 0, 10, false, W(1), 0, 10, Kind::kShared, false},
    {"windows S / own windows X", W(1), 0, 10, false, W(1), 0, 10, Kind::kExclusive, true},
    {"windows S / other windows X", W(1), 0, 10, false, W(2), 0, 10, Kind::kExclusive, true},
    {"windows X / posix S", W(1), 0, 10, true, P(1), 0, 1, Kind::kShared, true},
    {"windows S / posix S", W(1), 0, 10, false, P(1), 0, 1, Kind::kShared, false},
    {"windows S / posix X", W(1), 0, 10, false, P(1), 0, 1, Kind::kExclusive, true},
    {"windows X / other's read", W(1), 0, 10, true, P(1), 9, 5, Kind::kRead, true},
    {"windows X / own read", W(1), 0, 10, true, W(1), 0, 10, Kind::kRead, false},
    {"windows X / own write", W(1), 0, 10, true, W(1), 0, 10, Kind::kWrite, false},
    {"windows S / other's read", W(1), 0, 10, false, P(1), 0, 10, Kind::kRead, false},
    {"windows S / other's write", W(1), 0, 10, false, P(1), 0, 10, Kind::kWrite, true},
    {"windows S / own write", W(1), 0, 10, false, W(1), 0, 10, Kind::kWrite, true},
    {"windows X / read next to it", W(1), 0, 10, true, P(1), 10, 5, Kind::kRead, false},
    // Empty Windows ranges (MS-FSA 2.1.4.10 arithmetic).
    {"windows X {0,0} / anything", W(1), 0, 0, true, W(2), 0, 100, Kind::kExclusive, false},
    {"windows X {5,0} / lock across 4..5", W(1), 5, 0, true, W(2), 4, 2, Kind::kExclusive, true},
    {"windows X {5,0} / lock from 5", W(1), 5, 0, true, W(2), 5, 10, Kind::kExclusive, false},
    {"windows X / empty lock inside", W(1), 0, 10, true, W(2), 5, 0, Kind::kShared, true},
    {"windows X / empty lock at its start", W(1), 0, 10, true, W(2), 0, 0, Kind::kShared, false},
};

TEST(LockTableTest, ConflictTableOfDocsStateMd) {
  for (const Row& row : kTable) {
    LockTable t;
    SCOPED_TRACE(row.what);
    ASSERT_OK(t.Lock(Req(row.held_by, row.held_offset, row.held_length, row.held_exclusive)));
    Status got;
    switch (row.kind) {
      case Kind::kShared:
      case Kind::kExclusive:
        got = t.Lock(Req(row.by, row.offset, row.length, row.kind == Kind::kExclusive));
        break;
      case Kind::kRead:
      case Kind::kWrite:
        got = t.CheckIo(1, row.by, row.offset, row.length, row.kind == Kind::kWrite);
        break;
    }
    EXPECT_EQ(got.code(), row.refused ? Errc::kLocked : Errc::kOk) << row.what;
    // TEST agrees with LOCK.
    if (row.kind == Kind::kShared || row.kind == Kind::kExclusive) {
      LockTable u;
      ASSERT_OK(u.Lock(Req(row.held_by, row.held_offset, row.held_length, row.held_exclusive)));
      EXPECT_EQ(
          u.Test(Req(row.by, row.offset, row.length, row.kind == Kind::kExclusive)).has_value(),
          row.refused)
          << row.what;
    }
  }
}

TEST(LockTableTest, PosixLocksSplitMergeAndChangeType) {
  LockTable t;
  ASSERT_OK(t.Lock(Req(P(1), 0, 100, true)));
  ASSERT_OK(t.Unlock(Req(P(1), 40, 20, false)));
  auto sorted = [&] {
    std::vector<LockInfo> v = t.Locks(1);
    std::sort(v.begin(), v.end(), [](auto& a, auto& b) { return a.offset < b.offset; });
    return v;
  };
  EXPECT_EQ(sorted(), (std::vector<LockInfo>{{P(1), 0, 40, true}, {P(1), 60, 40, true}}));
  ASSERT_OK(t.Lock(Req(P(1), 20, 60, false)));  // a downgrade in the middle
  EXPECT_EQ(sorted(), (std::vector<LockInfo>{
                          {P(1), 0, 20, true}, {P(1), 20, 60, false}, {P(1), 80, 20, true}}));
  ASSERT_OK(t.Lock(Req(P(1), 0, 100, true)));  // one lock again
  EXPECT_EQ(sorted(), (std::vector<LockInfo>{{P(1), 0, 100, true}}));
  ASSERT_OK(t.Lock(Req(P(1), 100, 0, true)));  // adjacent, to the end: merged
  EXPECT_EQ(sorted(), (std::vector<LockInfo>{{P(1), 0, 0, true}}));
  EXPECT_EQ(t.lock_count(), 1u);
  ASSERT_OK(t.Unlock(Req(P(1), 0, 0, false)));
  EXPECT_TRUE(t.Locks(1).empty());
  EXPECT_EQ(t.lock_count(), 0u);
  EXPECT_EQ(t.Lock(Req(P(1), ~0ull - 5, 10, true)).code(), Errc::kInvalid);
}

TEST(LockTableTest, WindowsLocksUnlockOnlyByTheirExactRange) {
  LockTable t;
  ASSERT_OK(t.Lock(Req(W(1), 10, 10, false)));
  ASSERT_OK(t.Lock(Req(W(1), 10, 10, false)));  // stacked, not merged
  EXPECT_EQ(t.lock_count(), 2u);
  EXPECT_EQ(t.Unlock(Req(W(1), 10, 5, false)).code(), Errc::kRangeNotLocked);
  EXPECT_EQ(t.Unlock(Req(W(2), 10, 10, false)).code(), Errc::kRangeNotLocked);
  ASSERT_OK(t.Unlock(Req(W(1), 10, 10, false)));
  ASSERT_OK(t.Unlock(Req(W(1), 10, 10, false)));
  EXPECT_EQ(t.Unlock(Req(W(1), 10, 10, false)).code(), Errc::kRangeNotLocked);
  EXPECT_EQ(t.lock_count(), 0u);
}

TEST(LockTableTest, ReleasingAnOwnerDropsOnlyItsLocks) {
  LockTable t;
  ASSERT_OK(t.Lock(Req(W(1), 0, 10, true)));
  ASSERT_OK(t.Lock(Req(P(1), 20, 10, true)));
  ASSERT_OK(t.Lock(Req(P(2), 40, 10, true)));
  t.ReleaseOwner(1, P(1));
  EXPECT_EQ(t.lock_count(), 2u);
  EXPECT_OK(t.Lock(Req(P(3), 20, 10, true)));
}

TEST(LockTableTest, AllLocksListsEveryFileUpToTheBound) {
  LockTable t;
  ASSERT_OK(t.Lock(Req(W(1), 0, 10, true, 1)));
  ASSERT_OK(t.Lock(Req(P(1), 20, 0, false, 2)));
  ASSERT_OK(t.Lock(Req(P(2), 40, 10, true, 300)));
  std::vector<std::pair<uint64_t, LockInfo>> all = t.AllLocks(100);
  ASSERT_EQ(all.size(), 3u);
  std::sort(all.begin(), all.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  EXPECT_EQ(all[0].first, 1u);
  EXPECT_EQ(all[0].second, (LockInfo{W(1), 0, 10, true}));
  EXPECT_EQ(all[1].first, 2u);
  EXPECT_EQ(all[1].second, (LockInfo{P(1), 20, 0, false}));
  EXPECT_EQ(all[2].first, 300u);
  EXPECT_EQ(t.AllLocks(2).size(), 2u);
}

TEST(LockTableTest, WaitersAreGrantedInOrderCancelledAndExpired) {
  LockTable t;
  ASSERT_OK(t.Lock(Req(P(1), 0, 10, true)));
  std::vector<std::string> events;
  auto note = [&](std::string who) {
    return
        [&events, who](Status s) { events.push_back(who + ":" + std::string(ErrcName(s.code()))); };
  };
  ASSERT_OK_AND_ASSIGN(LockTable::WaitId a,
                       t.LockOrWait(Req(P(2), 0, 10, true), 1LL << 62, note("a")));
  ASSERT_OK_AND_ASSIGN(LockTable::WaitId b,
                       t.LockOrWait(Req(P(3), 5, 1, false), 1LL << 62, note("b")));
  ASSERT_OK_AND_ASSIGN(LockTable::WaitId c, t.LockOrWait(Req(W(1), 0, 1, false), 1000, note("c")));
  EXPECT_NE(a, 0u);
  EXPECT_NE(b, 0u);
  EXPECT_NE(c, 0u);
  EXPECT_EQ(t.waiter_count(), 3u);
  EXPECT_TRUE(t.Cancel(b));
  EXPECT_FALSE(t.Cancel(b));
  t.ExpireWaiters(1000);
  EXPECT_EQ(events, (std::vector<std::string>{"b:busy", "c:unavailable"}));
  ASSERT_OK(t.Unlock(Req(P(1), 0, 10, false)));
  EXPECT_EQ(events.back(), "a:ok");
  EXPECT_EQ(t.waiter_count(), 0u);
  EXPECT_EQ(t.Locks(1), (std::vector<LockInfo>{{P(2), 0, 10, true}}));
  // A request with no conflict is granted at once: WaitId 0, no callback.
  ASSERT_OK_AND_ASSIGN(LockTable::WaitId now, t.LockOrWait(Req(P(4), 50, 1, true), 0, note("d")));
  EXPECT_EQ(now, 0u);
  EXPECT_EQ(events.size(), 3u);
}

TEST(LockTableTest, AWaitThatClosesACycleIsADeadlock) {
  LockTable t;
  ASSERT_OK(t.Lock(Req(P(1), 0, 10, true, /*file=*/1)));
  ASSERT_OK(t.Lock(Req(P(2), 0, 10, true, /*file=*/2)));
  ASSERT_OK(t.Lock(Req(P(3), 0, 10, true, /*file=*/3)));
  // 1 waits for 2, 2 waits for 3: no cycle yet.
  ASSERT_OK_AND_ASSIGN(LockTable::WaitId w1,
                       t.LockOrWait(Req(P(1), 0, 10, true, 2), 1LL << 62, nullptr));
  ASSERT_OK_AND_ASSIGN(LockTable::WaitId w2,
                       t.LockOrWait(Req(P(2), 0, 10, true, 3), 1LL << 62, nullptr));
  EXPECT_NE(w1, 0u);
  EXPECT_NE(w2, 0u);
  // 3 waiting for 1 would close 1 -> 2 -> 3 -> 1.
  EXPECT_EQ(t.LockOrWait(Req(P(3), 0, 10, true, 1), 1LL << 62, nullptr).status().code(),
            Errc::kDeadlock);
  // Once 2 stops waiting, 3 may wait for 1.
  EXPECT_TRUE(t.Cancel(w2));
  ASSERT_OK_AND_ASSIGN(LockTable::WaitId w3,
                       t.LockOrWait(Req(P(3), 0, 10, true, 1), 1LL << 62, nullptr));
  EXPECT_NE(w3, 0u);
}

TEST(LockTableTest, AMillionLocks) {
  LockTable t;
  for (uint64_t file = 1; file <= 100000; ++file) {
    for (uint64_t i = 0; i < 10; ++i) {
      ASSERT_OK(t.Lock(Req(i % 2 == 0 ? P(i) : W(i), i * 100, 10, true, file)));
    }
  }
  EXPECT_EQ(t.lock_count(), 1000000u);
  EXPECT_EQ(t.Lock(Req(P(99), 205, 1, false, 777)).code(), Errc::kLocked);
  EXPECT_EQ(t.CheckIo(777, P(99), 305, 1, false).code(), Errc::kLocked);  // W(3)'s lock
  for (uint64_t file = 1; file <= 100000; ++file) {
    for (uint64_t i = 0; i < 10; ++i) t.ReleaseOwner(file, i % 2 == 0 ? P(i) : W(i));
  }
  EXPECT_EQ(t.lock_count(), 0u);
}

// A byte-level reference model for ranges in [0, 64) (byte 64 stands for everything past it):
// per byte, each POSIX owner's hold; and the list of Windows locks.
class Model {
 public:
  static constexpr int kBytes = 65;
  struct WLock {
    LockOwner owner;
    uint64_t offset, length;
    bool exclusive;
    friend bool operator==(const WLock&, const WLock&) = default;
  };

  static std::pair<int, int> Bytes(const LockRequest& r) {
    int first = static_cast<int>(r.offset);
    int last = r.length == 0 ? kBytes - 1 : static_cast<int>(r.offset + r.length - 1);
    return {first, last};
  }

  bool Refuses(const LockRequest& r, bool lock, bool exclusive) const {
    auto [first, last] = Bytes(r);
    for (const WLock& w : windows) {
      int wf = static_cast<int>(w.offset), wl = static_cast<int>(w.offset + w.length - 1);
      if (wl < first || wf > last) continue;
      if (r.owner.flavor == LockFlavor::kPosix && lock) {
        if (w.exclusive || exclusive) return true;
      } else if (w.exclusive) {
        if (!(w.owner == r.owner) || (lock && exclusive)) return true;
      } else if (exclusive) {
        return true;
      }
    }
    if (!lock) return false;
    for (int b = first; b <= last; ++b) {
      for (const auto& [owner, excl] : posix[b]) {
        if (LockOwner{owner, LockFlavor::kPosix} == r.owner) continue;
        if (excl || exclusive) return true;
      }
    }
    return false;
  }

  void Lock(const LockRequest& r) {
    if (r.owner.flavor == LockFlavor::kWindows) {
      windows.push_back({r.owner, r.offset, r.length, r.exclusive});
      return;
    }
    auto [first, last] = Bytes(r);
    for (int b = first; b <= last; ++b) posix[b][r.owner.id] = r.exclusive;
  }

  Status Unlock(const LockRequest& r) {
    if (r.owner.flavor == LockFlavor::kPosix) {
      auto [first, last] = Bytes(r);
      for (int b = first; b <= last; ++b) posix[b].erase(r.owner.id);
      return Status::Ok();
    }
    for (auto it = windows.begin(); it != windows.end(); ++it) {  // the oldest first
      if (it->owner == r.owner && it->offset == r.offset && it->length == r.length) {
        windows.erase(it);
        return Status::Ok();
      }
    }
    return Errc::kRangeNotLocked;
  }

  void Release(const LockOwner& owner) {
    std::erase_if(windows, [&](const WLock& w) { return w.owner == owner; });
    if (owner.flavor == LockFlavor::kPosix) {
      for (auto& b : posix) b.erase(owner.id);
    }
  }

  std::array<std::map<uint64_t, bool>, kBytes> posix;
  std::vector<WLock> windows;
};

// What the table holds, in the model's terms.
void ExpectSame(LockTable& t, uint64_t file, const Model& m, int step) {
  std::array<std::map<uint64_t, bool>, Model::kBytes> posix;
  std::vector<Model::WLock> windows;
  for (const LockInfo& l : t.Locks(file)) {
    if (l.owner.flavor == LockFlavor::kWindows) {
      windows.push_back({l.owner, l.offset, l.length, l.exclusive});
      continue;
    }
    auto [first, last] = Model::Bytes(LockRequest{file, l.owner, l.offset, l.length, false});
    for (int b = first; b <= last; ++b) {
      ASSERT_FALSE(posix[b].contains(l.owner.id)) << "step " << step << ": overlapping locks";
      posix[b][l.owner.id] = l.exclusive;
    }
  }
  auto key = [](const Model::WLock& w) {
    return std::tuple(w.owner.id, w.offset, w.length, w.exclusive);
  };
  auto by_key = [&](const Model::WLock& a, const Model::WLock& b) { return key(a) < key(b); };
  std::vector<Model::WLock> expected = m.windows;
  std::sort(expected.begin(), expected.end(), by_key);
  std::sort(windows.begin(), windows.end(), by_key);
  ASSERT_EQ(posix, m.posix) << "step " << step;
  ASSERT_EQ(windows, expected) << "step " << step;
}

TEST(LockTableTest, RandomOperationsMatchAByteLevelModel) {
  LockTable t;
  std::array<Model, 3> models;
  std::mt19937_64 rng(20261204);
  auto pick = [&](uint64_t n) { return rng() % n; };
  const LockOwner owners[] = {P(1), P(2), P(3), W(1), W(2), W(3)};
  int refused = 0, granted = 0;
  for (int step = 0; step < 100000; ++step) {
    uint64_t file = 1 + pick(3);
    Model& m = models[file - 1];
    LockOwner owner = owners[pick(6)];
    uint64_t offset = pick(64);
    uint64_t length = 1 + pick(std::min<uint64_t>(16, 64 - offset));
    if (owner.flavor == LockFlavor::kPosix && pick(10) == 0) length = 0;  // to the end
    LockRequest r{file, owner, offset, length, pick(2) == 0};
    switch (pick(10)) {
      case 0:
      case 1:
      case 2:
      case 3: {
        bool refuse = m.Refuses(r, true, r.exclusive);
        Status s = t.Lock(r);
        ASSERT_EQ(s.code(), refuse ? Errc::kLocked : Errc::kOk) << "step " << step;
        if (refuse) {
          ++refused;
        } else {
          ++granted;
          m.Lock(r);
        }
        break;
      }
      case 4:
      case 5:
      case 6: {
        if (owner.flavor == LockFlavor::kWindows && !m.windows.empty() && pick(2) == 0) {
          const Model::WLock& w = m.windows[pick(m.windows.size())];  // one that exists
          r.owner = w.owner;
          r.offset = w.offset;
          r.length = w.length;
        }
        Status expected = m.Unlock(r);
        ASSERT_EQ(t.Unlock(r).code(), expected.code()) << "step " << step;
        break;
      }
      case 7:
      case 8: {
        if (r.length == 0) r.length = 1;
        bool write = pick(2) == 0;
        bool refuse = m.Refuses(r, false, write);
        ASSERT_EQ(t.CheckIo(file, owner, offset, r.length, write).code(),
                  refuse ? Errc::kLocked : Errc::kOk)
            << "step " << step;
        break;
      }
      case 9:
        if (pick(10) == 0) {
          t.ReleaseOwner(file, owner);
          m.Release(owner);
        }
        break;
    }
    ASSERT_NO_FATAL_FAILURE(ExpectSame(t, file, m, step));
  }
  EXPECT_GT(refused, 1000);
  EXPECT_GT(granted, 1000);
}

}  // namespace
}  // namespace dittofs::core

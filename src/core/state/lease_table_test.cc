// SPDX-License-Identifier: Apache-2.0
#include "core/state/lease_table.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "testing/status_matchers.h"

namespace dittofs::core {
namespace {

constexpr uint8_t R = kCacheRead, H = kCacheHandle, Wc = kCacheWrite;

// The break table of docs/state.md ("Leases and delegations"): a grant of holder 1, an
// operation of holder 2, and what the grant is broken to (or "no break").
struct Row {
  const char* what;
  GrantKind kind;
  uint8_t state;
  CacheOp op;
  bool breaks;
  uint8_t to;
};

const Row kTable[] = {
    {"lease RWH / open", GrantKind::kLease, R | H | Wc, CacheOp::kOpen, true, R | H},
    {"lease RWH / overwriting open", GrantKind::kLease, R | H | Wc, CacheOp::kOverwrite, true, 0},
    {"lease RWH / read", GrantKind::kLease, R | H | Wc, CacheOp::kRead, true, R | H},
    {"lease RWH / write", GrantKind::kLease, R | H | Wc, CacheOp::kWrite, true, H},
    {"lease RWH / set size", GrantKind::kLease, R | H | Wc, CacheOp::kSetSize, true, H},
    {"lease RWH / remove", GrantKind::kLease, R | H | Wc, CacheOp::kRemove, true, R | Wc},
    {"lease RH / open", GrantKind::kLease, R | H, CacheOp::kOpen, false, R | H},
    {"lease RH / write", GrantKind::kLease, R | H, CacheOp::kWrite, true, H},
    {"lease RH / rename", GrantKind::kLease, R | H, CacheOp::kRename, true, R},
    {"lease R / read", GrantKind::kLease, R, CacheOp::kRead, false, R},
    {"lease R / write", GrantKind::kLease, R, CacheOp::kWrite, true, 0},
    {"lease R / remove", GrantKind::kLease, R, CacheOp::kRemove, false, R},
    {"lease RW / read", GrantKind::kLease, R | Wc, CacheOp::kRead, true, R},
    {"directory lease RH / child change", GrantKind::kLease, R | H, CacheOp::kChildChange, true, 0},
    {"directory lease R / child change", GrantKind::kLease, R, CacheOp::kChildChange, true, 0},
    {"lease RH / lock", GrantKind::kLease, R | H, CacheOp::kLock, true, 0},
    {"lease R / lock", GrantKind::kLease, R, CacheOp::kLock, true, 0},
    {"read delegation / open", GrantKind::kDelegation, R | H, CacheOp::kOpen, false, R | H},
    {"read delegation / write", GrantKind::kDelegation, R | H, CacheOp::kWrite, true, 0},
    {"read delegation / remove", GrantKind::kDelegation, R | H, CacheOp::kRemove, true, 0},
    {"write delegation / read", GrantKind::kDelegation, R | H | Wc, CacheOp::kRead, true, 0},
    {"write delegation / open", GrantKind::kDelegation, R | H | Wc, CacheOp::kOpen, true, 0},
};

TEST(LeaseTableTest, BreakTableOfDocsStateMd) {
  for (const Row& row : kTable) {
    SCOPED_TRACE(row.what);
    LeaseTable t;
    std::vector<uint8_t> breaks;
    ASSERT_OK_AND_ASSIGN(LeaseTable::Granted g, t.Request(1, /*holder=*/1, row.kind, row.state,
                                                          [&](LeaseTable::GrantId, uint8_t to,
                                                              uint16_t) { breaks.push_back(to); }));
    ASSERT_EQ(g.state, row.state);
    bool went_on = false;
    LeaseTable::WaitId w = t.BreakFor(1, /*requester=*/2, row.op, 1000, [&](Status s) {
      EXPECT_OK(s);
      went_on = true;
    });
    // A lease that caches reads alone is broken without waiting for an acknowledgement.
    const bool acked = row.kind == GrantKind::kDelegation || (row.state & (H | Wc)) != 0;
    EXPECT_EQ(w != 0, row.breaks && acked);
    if (!row.breaks) {
      EXPECT_TRUE(breaks.empty());
      continue;
    }
    ASSERT_EQ(breaks, std::vector<uint8_t>{row.to});
    if (!acked) {
      EXPECT_EQ(t.Get(g.id)->state, row.to);
      EXPECT_FALSE(t.Get(g.id)->breaking);
      EXPECT_EQ(t.Acknowledge(g.id, row.to).code(), Errc::kNotFound) << "nothing to acknowledge";
      continue;
    }
    EXPECT_FALSE(went_on);
    ASSERT_OK(t.Acknowledge(g.id, row.to));
    EXPECT_TRUE(went_on);
    std::optional<LeaseTable::GrantInfo> info = t.Get(g.id);
    if (row.kind == GrantKind::kDelegation) {
      EXPECT_FALSE(info.has_value()) << "a recalled delegation is gone";
    } else {
      ASSERT_TRUE(info.has_value());
      EXPECT_EQ(info->state, row.to);
      EXPECT_FALSE(info->breaking);
    }
  }
}

// Every grant a holder can have (leases R, RH, RW, RWH; read and write delegations) against
// every operation of another holder, checked against the rule of docs/state.md: an operation
// breaks the caching it conflicts with (open and read: W; write and size change: R and W;
// remove and rename: H; an overwriting open, a change of a directory's entries, a lock:
// everything); a lease keeps the rest, a delegation is recalled whole.
TEST(LeaseTableTest, EveryGrantAgainstEveryOperationFollowsTheRule) {
  struct Grant {
    GrantKind kind;
    uint8_t state;
  };
  const Grant kGrants[] = {{GrantKind::kLease, R},          {GrantKind::kLease, R | H},
                           {GrantKind::kLease, R | Wc},     {GrantKind::kLease, R | H | Wc},
                           {GrantKind::kDelegation, R | H}, {GrantKind::kDelegation, R | H | Wc}};
  const std::pair<CacheOp, uint8_t> kOps[] = {{CacheOp::kOpen, Wc},
                                              {CacheOp::kRead, Wc},
                                              {CacheOp::kWrite, R | Wc},
                                              {CacheOp::kSetSize, R | Wc},
                                              {CacheOp::kRemove, H},
                                              {CacheOp::kRename, H},
                                              {CacheOp::kChildChange, R | H | Wc},
                                              {CacheOp::kLock, R | H | Wc},
                                              {CacheOp::kOverwrite, R | H | Wc}};
  for (const Grant& grant : kGrants) {
    for (const auto& [op, conflicting] : kOps) {
      SCOPED_TRACE(::testing::Message() << "grant " << int(grant.state) << " kind "
                                        << int(grant.kind) << ", op " << int(op));
      LeaseTable t;
      std::vector<uint8_t> breaks;
      ASSERT_OK_AND_ASSIGN(
          LeaseTable::Granted g,
          t.Request(1, 1, grant.kind, grant.state,
                    [&](LeaseTable::GrantId, uint8_t to, uint16_t) { breaks.push_back(to); }));
      bool went_on = false;
      LeaseTable::WaitId w = t.BreakFor(1, 2, op, 1000, [&](Status s) { went_on = s.ok(); });
      const bool expect_break = (grant.state & conflicting) != 0;
      const bool acked = grant.kind == GrantKind::kDelegation || (grant.state & (H | Wc)) != 0;
      ASSERT_EQ(w != 0, expect_break && acked);
      if (!expect_break) {
        EXPECT_TRUE(breaks.empty());
        continue;
      }
      const uint8_t to = grant.kind == GrantKind::kDelegation
                             ? 0
                             : static_cast<uint8_t>(grant.state & ~conflicting);
      ASSERT_EQ(breaks, std::vector<uint8_t>{to});
      if (!acked) continue;
      EXPECT_FALSE(went_on) << "the operation waits for the break";
      ASSERT_OK(t.Acknowledge(g.id, to));
      EXPECT_TRUE(went_on);
    }
  }
}

TEST(LeaseTableTest, AHoldersOwnOperationsBreakNothing) {
  LeaseTable t;
  int breaks = 0;
  ASSERT_OK(
      t.Request(1, 7, GrantKind::kLease, R | H | Wc, [&](auto, auto, auto) { ++breaks; }).status());
  for (CacheOp op : {CacheOp::kOpen, CacheOp::kRead, CacheOp::kWrite, CacheOp::kRemove}) {
    EXPECT_EQ(t.BreakFor(1, 7, op, 1000, nullptr), 0u);
  }
  EXPECT_EQ(breaks, 0);
}

TEST(LeaseTableTest, WhatIsGrantedDependsOnOtherHolders) {
  LeaseTable t;
  ASSERT_OK_AND_ASSIGN(LeaseTable::Granted a, t.Request(1, 1, GrantKind::kLease, R, nullptr));
  EXPECT_EQ(a.state, R);
  // Another holder's grant rules out W: RWH is granted as RH.
  ASSERT_OK_AND_ASSIGN(LeaseTable::Granted b,
                       t.Request(1, 2, GrantKind::kLease, R | H | Wc, nullptr));
  EXPECT_EQ(b.state, R | H);
  // The same holder asking again changes its one grant.
  ASSERT_OK_AND_ASSIGN(LeaseTable::Granted a2, t.Request(1, 1, GrantKind::kLease, R | H, nullptr));
  EXPECT_EQ(a2.id, a.id);
  EXPECT_EQ(a2.state, R | H);
  EXPECT_GT(a2.epoch, a.epoch);
  EXPECT_EQ(t.grant_count(), 2u);
  // A holder of W keeps others out until it is broken.
  ASSERT_OK_AND_ASSIGN(LeaseTable::Granted w, t.Request(2, 1, GrantKind::kLease, R | Wc, nullptr));
  EXPECT_EQ(w.state, R | Wc);
  ASSERT_OK_AND_ASSIGN(LeaseTable::Granted none, t.Request(2, 2, GrantKind::kLease, R, nullptr));
  EXPECT_EQ(none.state, 0);
  EXPECT_NE(t.BreakFor(2, 2, CacheOp::kOpen, 1000, nullptr), 0u);  // the open breaks W
  // While the break is in progress nothing new is granted.
  ASSERT_OK_AND_ASSIGN(LeaseTable::Granted during, t.Request(2, 3, GrantKind::kLease, R, nullptr));
  EXPECT_EQ(during.state, 0);
  EXPECT_EQ(t.Acknowledge(w.id, R | Wc).code(), Errc::kInvalid);  // more than the break leaves
  ASSERT_OK(t.Acknowledge(w.id, R));
  ASSERT_OK_AND_ASSIGN(LeaseTable::Granted after, t.Request(2, 2, GrantKind::kLease, R, nullptr));
  EXPECT_EQ(after.state, R);
}

TEST(LeaseTableTest, AnUnansweredBreakIsRevokedAtItsDeadline) {
  LeaseTable t;
  // An NFSv4 client holds a write delegation; an SMB client writes.
  ASSERT_OK_AND_ASSIGN(
      LeaseTable::Granted deleg,
      t.Request(5, /*nfs client=*/100, GrantKind::kDelegation, R | H | Wc, nullptr));
  std::vector<std::string> events;
  LeaseTable::WaitId w = t.BreakFor(5, /*smb lease key=*/200, CacheOp::kWrite, 5000, [&](Status s) {
    events.push_back(std::string(ErrcName(s.code())));
  });
  ASSERT_NE(w, 0u);
  t.ExpireBreaks(4999);
  EXPECT_TRUE(events.empty());
  EXPECT_TRUE(t.Get(deleg.id)->breaking);
  t.ExpireBreaks(5000);
  EXPECT_EQ(events, std::vector<std::string>{"ok"});
  EXPECT_FALSE(t.Get(deleg.id).has_value());
  EXPECT_EQ(t.grant_count(), 0u);
  EXPECT_EQ(t.Acknowledge(deleg.id, 0).code(), Errc::kNotFound);  // too late
}

TEST(LeaseTableTest, ReleasingAGrantOrCancellingLetsWaitersGo) {
  LeaseTable t;
  ASSERT_OK_AND_ASSIGN(LeaseTable::Granted g, t.Request(9, 1, GrantKind::kLease, R | H, nullptr));
  std::vector<std::string> events;
  auto note = [&](std::string who) {
    return
        [&events, who](Status s) { events.push_back(who + ":" + std::string(ErrcName(s.code()))); };
  };
  LeaseTable::WaitId a = t.BreakFor(9, 2, CacheOp::kRemove, 1000, note("remove"));
  LeaseTable::WaitId b = t.BreakFor(9, 3, CacheOp::kWrite, 1000, note("write"));
  ASSERT_NE(a, 0u);
  ASSERT_NE(b, 0u);
  EXPECT_TRUE(t.Cancel(b));
  EXPECT_FALSE(t.Cancel(b));
  t.Release(g.id);  // the holder closed instead of answering
  EXPECT_EQ(events, (std::vector<std::string>{"write:busy", "remove:ok"}));
  EXPECT_EQ(t.grant_count(), 0u);
}

}  // namespace
}  // namespace dittofs::core

// SPDX-License-Identifier: Apache-2.0
#include "core/state/open_table.h"

#include <gtest/gtest.h>

#include "testing/status_matchers.h"

namespace dittofs::core {
namespace {

constexpr uint32_t R = kReadData;
constexpr uint32_t Wr = kWriteData;
constexpr uint32_t D = kDeleteAccess;
constexpr uint32_t A = kReadAttributes;
constexpr uint32_t SR = kShareRead;
constexpr uint32_t SW = kShareWrite;
constexpr uint32_t SD = kShareDelete;

// The share-mode table of docs/state.md ("Opens and share modes"): an open held, a second
// open, and whether the second is refused.
struct Row {
  const char* what;
  uint32_t held_access, held_share, access, share;
  bool refused;
};

const Row kTable[] = {
    {"read, share all / read, share all", R, SR | SW | SD, R, SR | SW | SD, false},
    {"read, share read / write", R, SR, Wr, SR | SW | SD, true},
    {"read, share read / read", R, SR, R, SR | SW | SD, false},
    {"read, share read / read that denies read", R, SR, R, SW | SD, true},
    {"write, share read+write / read that denies write", Wr, SR | SW, R, SR, true},
    {"write, share all / write", Wr, SR | SW | SD, Wr, SR | SW | SD, false},
    {"read, deny all (share none) / read", R, 0, R, SR | SW | SD, true},
    {"read, share read / delete", R, SR, D, SR | SW | SD, true},
    {"read, share all / delete", R, SR | SW | SD, D, SR | SW | SD, false},
    {"delete, share all / read that denies delete", D, SR | SW | SD, R, SR | SW, true},
    {"attributes only, share none / write", A, 0, Wr, SR | SW | SD, false},
    {"write, share none / attributes only", Wr, 0, A, 0, false},
    {"append counts as write / share read only", kAppendData, SR | SW | SD, R, SR, true},
    {"execute counts as read / share write only", kExecute, SR | SW | SD, Wr, SW, true},
};

TEST(OpenTableTest, ShareModeTableOfDocsStateMd) {
  for (const Row& row : kTable) {
    OpenTable t;
    SCOPED_TRACE(row.what);
    ASSERT_OK(t.Open({1, row.held_access, row.held_share}).status());
    Result<OpenTable::OpenId> second = t.Open({1, row.access, row.share});
    EXPECT_EQ(second.status().code(), row.refused ? Errc::kShareViolation : Errc::kOk) << row.what;
    // Another file is never affected.
    EXPECT_OK(t.Open({2, row.access, row.share}).status());
  }
}

// Every pair of opens, not just the table's rows: each access set drawn from read data,
// execute, write data, append, delete and read attributes (64) with each share mode (8),
// held against each requested (262,144 pairs), checked against the rule of docs/state.md
// written the other way round: when both take part in sharing, the pair conflicts when some
// kind of access (read-like, write-like, delete) is had by one side and not shared by the
// other.
TEST(OpenTableTest, EveryPairOfAccessAndShareModesFollowsTheRule) {
  const uint32_t kBits[] = {R, kExecute, Wr, kAppendData, D, A};
  auto access_of = [&](uint32_t n) {
    uint32_t access = 0;
    for (int b = 0; b < 6; ++b) {
      if (n & (1u << b)) access |= kBits[b];
    }
    return access;
  };
  struct Kind {
    uint32_t access_bits;
    uint32_t share_bit;
  };
  const Kind kKinds[] = {{R | kExecute, SR}, {Wr | kAppendData, SW}, {D, SD}};
  auto conflicts_one_way = [&](uint32_t access, uint32_t share_of_other) {
    for (const Kind& k : kKinds) {
      if ((access & k.access_bits) != 0 && (share_of_other & k.share_bit) == 0) return true;
    }
    return false;
  };
  size_t refused = 0, checked = 0;
  for (uint32_t ha = 0; ha < 64; ++ha) {
    for (uint32_t hs = 0; hs < 8; ++hs) {
      OpenTable t;
      ASSERT_OK_AND_ASSIGN(OpenTable::OpenId held, t.Open({1, access_of(ha), hs}));
      for (uint32_t ra = 0; ra < 64; ++ra) {
        for (uint32_t rs = 0; rs < 8; ++rs) {
          // An open with no read-like, write-like or delete access takes no part.
          const uint32_t sharing = R | kExecute | Wr | kAppendData | D;
          bool both_take_part = (access_of(ha) & sharing) != 0 && (access_of(ra) & sharing) != 0;
          bool expect_refused = both_take_part && (conflicts_one_way(access_of(ha), rs) ||
                                                   conflicts_one_way(access_of(ra), hs));
          Result<OpenTable::OpenId> second = t.Open({1, access_of(ra), rs});
          ASSERT_EQ(second.status().code(), expect_refused ? Errc::kShareViolation : Errc::kOk)
              << "held access " << std::hex << access_of(ha) << " share " << hs << ", asked access "
              << access_of(ra) << " share " << rs;
          if (second.ok()) ASSERT_OK(t.Close(*second).status());
          refused += expect_refused;
          ++checked;
        }
      }
      ASSERT_OK(t.Close(held).status());
    }
  }
  EXPECT_EQ(checked, 262144u);
  EXPECT_GT(refused, 10000u);
  EXPECT_LT(refused, checked - 10000u);
}

TEST(OpenTableTest, CloseTellsWhenTheLastOpenOfADeletedFileGoes) {
  OpenTable t;
  ASSERT_OK_AND_ASSIGN(OpenTable::OpenId a, t.Open({7, R | D, SR | SW | SD}));
  ASSERT_OK_AND_ASSIGN(OpenTable::OpenId b, t.Open({7, R, SR | SW | SD}));
  EXPECT_EQ(t.open_count(7), 2u);
  ASSERT_OK(t.SetDeletePending(a, true));
  EXPECT_TRUE(t.delete_pending(7));
  EXPECT_EQ(t.Open({7, R, SR | SW | SD}).status().code(), Errc::kDeletePending);
  EXPECT_EQ(t.SetDeletePending(b, true).code(), Errc::kAccess);  // b lacks delete access
  ASSERT_OK_AND_ASSIGN(CloseResult first, t.Close(a));
  EXPECT_FALSE(first.last);
  EXPECT_FALSE(first.delete_file);
  ASSERT_OK_AND_ASSIGN(CloseResult last, t.Close(b));
  EXPECT_TRUE(last.last);
  EXPECT_TRUE(last.delete_file);
  EXPECT_EQ(t.Close(b).status().code(), Errc::kNotFound);
  EXPECT_EQ(t.total_opens(), 0u);
  // The file's state is gone with its last open: a new file of that id opens normally.
  EXPECT_OK(t.Open({7, R, SR}).status());
}

TEST(OpenTableTest, DeleteOnCloseTakesEffectWhenThatOpenCloses) {
  OpenTable t;
  EXPECT_EQ(t.Open({3, R, SR | SD, /*delete_on_close=*/true}).status().code(), Errc::kAccess);
  ASSERT_OK_AND_ASSIGN(OpenTable::OpenId keep, t.Open({3, R, SR | SW | SD}));
  ASSERT_OK_AND_ASSIGN(OpenTable::OpenId doc, t.Open({3, R | D, SR | SW | SD, true}));
  EXPECT_FALSE(t.delete_pending(3));  // not until that open closes
  ASSERT_OK_AND_ASSIGN(CloseResult c1, t.Close(doc));
  EXPECT_FALSE(c1.delete_file);
  EXPECT_TRUE(t.delete_pending(3));
  ASSERT_OK_AND_ASSIGN(CloseResult c2, t.Close(keep));
  EXPECT_TRUE(c2.delete_file);
}

// An open withdrawn before it served anything (its CREATE waits for a break and runs anew)
// leaves no trace: its share modes go and its delete on close marks nothing.
TEST(OpenTableTest, AWithdrawnOpenLeavesNoTrace) {
  OpenTable t;
  ASSERT_OK_AND_ASSIGN(OpenTable::OpenId keep, t.Open({4, R, SR | SW | SD}));
  ASSERT_OK_AND_ASSIGN(OpenTable::OpenId doc, t.Open({4, R | D, SR, true}));
  EXPECT_EQ(t.Open({4, Wr, SR | SW | SD}).status().code(), Errc::kShareViolation);
  EXPECT_OK(t.Withdraw(doc));
  EXPECT_FALSE(t.delete_pending(4));
  EXPECT_OK(t.Open({4, Wr, SR | SW | SD}).status());
  EXPECT_EQ(t.Withdraw(doc).code(), Errc::kNotFound);
  ASSERT_OK_AND_ASSIGN(CloseResult c, t.Close(keep));
  EXPECT_FALSE(c.delete_file);
}

TEST(OpenTableTest, AHundredThousandOpenFiles) {
  OpenTable t;
  std::vector<OpenTable::OpenId> ids;
  for (uint64_t f = 1; f <= 100000; ++f) {
    ASSERT_OK_AND_ASSIGN(OpenTable::OpenId id, t.Open({f, R | Wr, SR}));
    ids.push_back(id);
  }
  EXPECT_EQ(t.total_opens(), 100000u);
  EXPECT_EQ(t.Open({500, Wr, SR | SW}).status().code(), Errc::kShareViolation);
  for (OpenTable::OpenId id : ids) ASSERT_OK(t.Close(id).status());
  EXPECT_EQ(t.total_opens(), 0u);
}

// An NFSv4 upgrade or downgrade changes an open in place: checked against the other opens,
// never against itself, and unchanged when refused.
TEST(OpenTableTest, ChangeChecksOtherOpensOnly) {
  OpenTable t;
  ASSERT_OK_AND_ASSIGN(OpenTable::OpenId mine, t.Open({7, kReadData, kShareRead}));
  // Widening itself to write while denying writes to others: nothing else is open.
  ASSERT_OK(t.Change(mine, kReadData | kWriteData, kShareRead));
  ASSERT_OK_AND_ASSIGN(OpenTable::OpenId reader, t.Open({7, kReadData, kShareAll}));
  EXPECT_THAT(t.Open({7, kWriteData, kShareAll}), testing::StatusIs(Errc::kShareViolation));
  // Denying reads now would refuse `reader`: refused, and the open keeps what it had.
  EXPECT_THAT(t.Change(mine, kReadData | kWriteData, 0), testing::StatusIs(Errc::kShareViolation));
  EXPECT_THAT(t.Open({7, kWriteData, kShareAll}), testing::StatusIs(Errc::kShareViolation));
  EXPECT_OK(t.Open({7, kReadData, kShareAll}).status());
  // A downgrade lets writers in again.
  ASSERT_OK(t.Change(mine, kReadData, kShareAll));
  EXPECT_OK(t.Open({7, kWriteData, kShareAll}).status());
  EXPECT_THAT(t.Change(9999, kReadData, kShareAll), testing::StatusIs(Errc::kNotFound));
  ASSERT_OK(t.Close(reader).status());
}

}  // namespace
}  // namespace dittofs::core

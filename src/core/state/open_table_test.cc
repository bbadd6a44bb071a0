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

}  // namespace
}  // namespace dittofs::core

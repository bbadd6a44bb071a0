// SPDX-License-Identifier: Apache-2.0
#include "net/stream/message_budget.h"

#include <gtest/gtest.h>

#include <vector>

namespace dittofs::net {
namespace {

TEST(MessageBudgetTest, WaitersAreServedInOrderAndCanCancel) {
  MessageBudget budget(100);
  ASSERT_TRUE(budget.TryReserve(100));
  std::vector<int> order;
  uint64_t a = budget.ReserveWhenAvailable(60, [&] { order.push_back(1); });
  budget.ReserveWhenAvailable(50, [&] { order.push_back(2); });
  budget.ReserveWhenAvailable(40, [&] { order.push_back(3); });
  budget.Release(50);  // enough for the second, but the first is ahead of it
  EXPECT_TRUE(order.empty());
  EXPECT_TRUE(budget.Cancel(a));  // the head leaves: the second fits, the third does not
  EXPECT_EQ(order, std::vector<int>{2});
  budget.Release(50);  // the rest of the first reservation
  EXPECT_EQ(order, (std::vector<int>{2, 3}));
  EXPECT_EQ(budget.used(), 90u);
  EXPECT_FALSE(budget.Cancel(a)) << "already gone";
}

TEST(MessageBudgetTest, AGrantWhileQueueingRunsBeforeReserveReturns) {
  MessageBudget budget(100);
  bool granted = false;
  budget.ReserveWhenAvailable(100, [&] { granted = true; });
  EXPECT_TRUE(granted);
  EXPECT_EQ(budget.used(), 100u);
  EXPECT_FALSE(budget.TryReserve(1));
  budget.Release(100);
  EXPECT_TRUE(budget.TryReserve(1));
}

}  // namespace
}  // namespace dittofs::net

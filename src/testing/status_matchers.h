// SPDX-License-Identifier: Apache-2.0
#pragma once

// GoogleTest helpers for Status and Result.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "base/result.h"

namespace dittofs::testing {

inline const Status& GetStatus(const Status& s) { return s; }
template <typename T>
const Status& GetStatus(const Result<T>& r) {
  return r.status();
}

MATCHER_P(StatusIs, code, "") {
  const ::dittofs::Status& s = ::dittofs::testing::GetStatus(arg);
  *result_listener << "status is " << s.ToString();
  return s.code() == code;
}

}  // namespace dittofs::testing

#define ASSERT_OK(expr)                                                   \
  do {                                                                    \
    const ::dittofs::Status dfs_s_ = ::dittofs::testing::GetStatus(expr); \
    ASSERT_TRUE(dfs_s_.ok()) << #expr << ": " << dfs_s_.ToString();       \
  } while (0)
#define EXPECT_OK(expr)                                                   \
  do {                                                                    \
    const ::dittofs::Status dfs_s_ = ::dittofs::testing::GetStatus(expr); \
    EXPECT_TRUE(dfs_s_.ok()) << #expr << ": " << dfs_s_.ToString();       \
  } while (0)
// Binds the value of a Result to `decl`, failing the test on error.
#define ASSERT_OK_AND_ASSIGN(decl, expr) \
  ASSERT_OK_AND_ASSIGN_IMPL(DFS_CONCAT(dfs_r_, __LINE__), decl, expr)
#define ASSERT_OK_AND_ASSIGN_IMPL(tmp, decl, expr)                   \
  auto tmp = (expr);                                                 \
  ASSERT_TRUE(tmp.ok()) << #expr << ": " << tmp.status().ToString(); \
  decl = std::move(tmp).value()

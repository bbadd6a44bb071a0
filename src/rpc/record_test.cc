// SPDX-License-Identifier: Apache-2.0
#include "rpc/record.h"

#include <gtest/gtest.h>

#include <chrono>
#include <string>

#include "net/stream/message_budget.h"

namespace dittofs::rpc {
namespace {

std::string Fragment(std::string_view body, bool last) {
  std::byte mark[4];
  StoreBe32(mark, static_cast<uint32_t>(body.size()) | (last ? kLastFragment : 0));
  return std::string(AsChars(ByteView(mark, 4))) + std::string(body);
}

TEST(RecordAssemblerTest, JoinsFragmentsAndSplitsRecords) {
  std::string stream = Fragment("hello ", false) + Fragment("world", true) + Fragment("x", true);
  // Feed one byte at a time: framing must not depend on how the stream is cut.
  RecordAssembler a(1024);
  std::vector<Buffer> out;
  for (char c : stream) ASSERT_TRUE(a.Feed(AsBytes(std::string_view(&c, 1)), &out).ok());
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(AsChars(out[0].view()), "hello world");
  EXPECT_EQ(AsChars(out[1].view()), "x");
  EXPECT_FALSE(a.mid_message());
}

TEST(RecordAssemblerTest, RejectsOversizedRecordBeforeAllocating) {
  RecordAssembler a(1 << 20);
  std::vector<Buffer> out;
  std::byte mark[4];
  StoreBe32(mark, 0x7fffffff | kLastFragment);  // a 2 GiB fragment
  EXPECT_EQ(a.Feed(ByteView(mark, 4), &out).code(), Errc::kTooBig);

  RecordAssembler b(10);
  std::string s = Fragment("123456", false) + Fragment("123456", true);
  EXPECT_EQ(b.Feed(AsBytes(s), &out).code(), Errc::kTooBig);
}

TEST(RecordAssemblerTest, DirectTargetReceivesBodyInPlace) {
  RecordAssembler a(1024);
  std::vector<Buffer> out;
  std::byte mark[4];
  StoreBe32(mark, 5 | kLastFragment);
  ASSERT_TRUE(a.Feed(ByteView(mark, 4), &out).ok());
  MutableByteView t = a.DirectTarget();
  ASSERT_EQ(t.size(), 5u);
  std::memcpy(t.data(), "abcde", 5);
  a.CommitDirect(5, &out);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(AsChars(out[0].view()), "abcde");
}

TEST(RecordAssemblerTest, EmptyFragmentsAreAllowedButBounded) {
  RecordAssembler a(1024);
  std::vector<Buffer> out;
  std::string s;
  for (int i = 0; i < 2000; ++i) s += Fragment("", false);
  EXPECT_EQ(a.Feed(AsBytes(s), &out).code(), Errc::kInvalid);
}

TEST(RecordAssemblerTest, ManyFragmentsAreAssembledInLinearTime) {
  // The most fragments a record may have, each 4 KiB: copying the record for each fragment
  // would move 2 GiB to assemble 4 MiB.
  constexpr size_t kFragments = RecordAssembler::kMaxFragments;
  constexpr size_t kFragmentBytes = 4096;
  std::string stream;
  std::string expected;
  for (size_t i = 0; i < kFragments; ++i) {
    std::string body(kFragmentBytes, static_cast<char>('a' + i % 26));
    stream += Fragment(body, i == kFragments - 1);
    expected += body;
  }
  RecordAssembler a(kFragments * kFragmentBytes);
  std::vector<Buffer> out;
  auto start = std::chrono::steady_clock::now();
  ASSERT_TRUE(a.Feed(AsBytes(stream), &out).ok());
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(500));
  ASSERT_EQ(out.size(), 1u);
  EXPECT_TRUE(AsChars(out[0].view()) == expected);
  EXPECT_LE(a.bytes_moved(), expected.size()) << "each byte is moved about once in all";
}

constexpr size_t kFree = net::MessageBudget::kUnbudgetedMessageBytes;

std::string Mark(size_t length, bool last) {
  std::byte mark[4];
  StoreBe32(mark, static_cast<uint32_t>(length) | (last ? kLastFragment : 0));
  return std::string(AsChars(ByteView(mark, 4)));
}

TEST(RecordBudgetTest, SmallRecordsAreFreeAndLargeOnesReserveTheRest) {
  net::MessageBudget budget(1 << 20);
  RecordAssembler a(1 << 20, &budget);
  std::vector<Buffer> out;
  size_t consumed = 0;
  std::string small = Fragment(std::string(1000, 's'), true);
  ASSERT_TRUE(a.Feed(AsBytes(small), &out, &consumed).ok());
  EXPECT_EQ(budget.used(), 0u);
  std::string large = Mark(kFree + 5000, true);
  ASSERT_TRUE(a.Feed(AsBytes(large), &out, &consumed).ok());
  EXPECT_EQ(budget.used(), 5000u);
  std::string body(kFree + 5000, 'l');
  ASSERT_TRUE(a.Feed(AsBytes(body), &out, &consumed).ok());
  EXPECT_EQ(out.size(), 2u);
  EXPECT_EQ(budget.used(), 0u) << "a complete record no longer counts";
}

TEST(RecordBudgetTest, ARecordThatDoesNotFitWaitsForBytesToBeReleased) {
  net::MessageBudget budget(100'000);
  std::vector<Buffer> out;
  size_t consumed = 0;
  auto first = std::make_unique<RecordAssembler>(1 << 20, &budget);
  std::string start = Mark(kFree + 80'000, true) + "abc";
  ASSERT_TRUE(first->Feed(AsBytes(start), &out, &consumed).ok());
  EXPECT_EQ(consumed, start.size());
  EXPECT_EQ(budget.used(), 80'000u);

  RecordAssembler second(1 << 20, &budget);
  std::string record = Mark(kFree + 50'000, true) + std::string(kFree + 50'000, 'x');
  ASSERT_TRUE(second.Feed(AsBytes(record), &out, &consumed).ok());
  EXPECT_EQ(consumed, 4u) << "the header is taken, the body waits";
  EXPECT_EQ(second.budget_wanted(), 50'000u);
  EXPECT_TRUE(second.DirectTarget().empty());
  EXPECT_TRUE(second.mid_message());

  bool granted = false;
  budget.ReserveWhenAvailable(second.budget_wanted(), [&] { granted = true; });
  EXPECT_FALSE(granted);
  EXPECT_FALSE(budget.TryReserve(1)) << "newcomers queue behind the waiter";
  first.reset();  // a dropped connection returns what its record held
  ASSERT_TRUE(granted);
  EXPECT_EQ(budget.used(), 50'000u);
  second.BudgetGranted();
  ASSERT_TRUE(second.Feed(AsBytes(record).subspan(4), &out, &consumed).ok());
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].size(), kFree + 50'000);
  EXPECT_EQ(budget.used(), 0u);
}

}  // namespace
}  // namespace dittofs::rpc

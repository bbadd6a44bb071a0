// SPDX-License-Identifier: Apache-2.0
#include "smb/server/notify.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "smb/wire/le.h"
#include "smb/wire/smb2.h"
#include "smb/wire/utf16.h"

namespace dittofs::smb {
namespace {

core::Change Added(std::string name) {
  return core::Change{core::ChangeAction::kAdded, core::changed::kFileName, std::move(name)};
}

// The names FILE_NOTIFY_INFORMATION holds, walked by NextEntryOffset, as "action:name".
std::vector<std::string> Walk(const std::vector<std::byte>& out) {
  std::vector<std::string> names;
  size_t at = 0;
  while (at + 12 <= out.size()) {
    const uint32_t next = wire::LoadLe32(out.data() + at);
    const uint32_t action = wire::LoadLe32(out.data() + at + 4);
    const uint32_t length = wire::LoadLe32(out.data() + at + 8);
    EXPECT_LE(at + 12 + length, out.size());
    Result<std::string> name = wire::Utf16ToUtf8(ByteView(out.data() + at + 12, length));
    names.push_back(std::to_string(action) + ":" + (name.ok() ? *name : std::string("?")));
    if (next == 0) break;
    EXPECT_EQ(next % 4, 0u);
    at += next;
  }
  return names;
}

TEST(NotifyTest, EntriesAreAlignedAndChainedAndUseTheTreesSeparator) {
  std::vector<core::Change> changes{
      Added("a"), Added("dir/longer name"), {core::ChangeAction::kRenamedNewName, 1, "x"}};
  std::vector<std::byte> out = EncodeNotifyInformation(changes, '\\');
  EXPECT_EQ(Walk(out), (std::vector<std::string>{"1:a", "1:dir\\longer name", "5:x"}));
  EXPECT_EQ(wire::LoadLe32(out.data()), 16u);  // 12 + 2, aligned to 4
  EXPECT_EQ(Walk(EncodeNotifyInformation({Added("d/e")}, '/')),
            (std::vector<std::string>{"1:d/e"}));
  EXPECT_TRUE(EncodeNotifyInformation({}, '\\').empty());
}

std::shared_ptr<NotifyWatch::Request> Waiting(uint32_t length, std::vector<int>* order, int tag,
                                              std::vector<Status>* results = nullptr) {
  auto r = std::make_shared<NotifyWatch::Request>();
  r->output_length = length;
  r->resume = [order, tag, results](Status s) {
    order->push_back(tag);
    if (results) results->push_back(s);
  };
  return r;
}

TEST(NotifyTest, ChangesWaitForTheNextRequestAndRequestsAreAnsweredOldestFirst) {
  NotifyWatch watch(4096, '\\');
  EXPECT_FALSE(watch.TakeIfReady(4096).has_value());
  std::vector<int> order;
  auto first = Waiting(4096, &order, 1), second = Waiting(4096, &order, 2);
  watch.Wait(first);
  watch.Wait(second);
  EXPECT_TRUE(order.empty());
  watch.Add(Added("f"));
  EXPECT_EQ(order, (std::vector<int>{1}));
  EXPECT_EQ(Walk(first->answer.output), (std::vector<std::string>{"1:f"}));
  // The second waits on; a second watch's request answered at once needs a change kept.
  watch.Add(Added("g"));
  EXPECT_EQ(order, (std::vector<int>{1, 2}));
  // Changes with no request waiting are kept for the next one; one file's modifications fold.
  watch.Add(Added("h"));
  core::Change mod{core::ChangeAction::kModified, core::changed::kSize, "h"};
  watch.Add(mod);
  mod.what = core::changed::kLastWrite;
  watch.Add(mod);
  std::optional<NotifyAnswer> now = watch.TakeIfReady(4096);
  ASSERT_TRUE(now.has_value());
  EXPECT_EQ(now->status, wire::kStatusSuccess);
  EXPECT_EQ(Walk(now->output), (std::vector<std::string>{"1:h", "3:h"}));
  EXPECT_FALSE(watch.TakeIfReady(4096).has_value());
}

TEST(NotifyTest, MoreThanTheBuffersHoldIsEnumDir) {
  NotifyWatch watch(64, '\\');
  for (int i = 0; i < 10; ++i) watch.Add(Added("file number " + std::to_string(i)));
  std::optional<NotifyAnswer> now = watch.TakeIfReady(4096);
  ASSERT_TRUE(now.has_value());
  EXPECT_EQ(now->status, wire::kStatusNotifyEnumDir);
  EXPECT_TRUE(now->output.empty());
  // A request whose own buffer is smaller than what is kept gets ENUM_DIR too.
  watch.Add(Added("abcdefgh"));
  now = watch.TakeIfReady(8);
  ASSERT_TRUE(now.has_value());
  EXPECT_EQ(now->status, wire::kStatusNotifyEnumDir);
  EXPECT_FALSE(watch.TakeIfReady(4096).has_value());
}

TEST(NotifyTest, CancelAndCloseAnswerTheWaitingRequests) {
  NotifyWatch watch(4096, '\\');
  std::vector<int> order;
  std::vector<Status> results;
  auto a = Waiting(4096, &order, 1, &results), b = Waiting(4096, &order, 2, &results);
  watch.Wait(a);
  watch.Wait(b);
  EXPECT_TRUE(watch.Cancel(a));
  EXPECT_FALSE(watch.Cancel(a));
  ASSERT_EQ(results.size(), 1u);
  EXPECT_EQ(results[0].code(), Errc::kBusy);
  watch.End(wire::kStatusNotifyCleanup);
  EXPECT_EQ(order, (std::vector<int>{1, 2}));
  EXPECT_EQ(b->answer.status, wire::kStatusNotifyCleanup);
  // Later requests are answered at once; later changes are dropped.
  watch.Add(Added("late"));
  std::optional<NotifyAnswer> now = watch.TakeIfReady(4096);
  ASSERT_TRUE(now.has_value());
  EXPECT_EQ(now->status, wire::kStatusNotifyCleanup);
}

}  // namespace
}  // namespace dittofs::smb

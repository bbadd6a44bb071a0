// SPDX-License-Identifier: Apache-2.0
#include "core/state/change_feed.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace dittofs::core {
namespace {

struct Seen {
  std::vector<std::string> names;
  ChangeFeed::Sink sink() {
    return [this](const Change& c) {
      names.push_back(std::to_string(static_cast<uint32_t>(c.action)) + ":" + c.name);
    };
  }
};

TEST(ChangeFeedTest, AWatchSeesItsDirectorysChangesThatMeetItsFilter) {
  ChangeFeed feed;
  EXPECT_FALSE(feed.Watched());
  Seen names, attrs;
  ChangeFeed::WatchId a =
      feed.Watch(7, false, changed::kFileName | changed::kDirName, names.sink());
  ChangeFeed::WatchId b = feed.Watch(7, false, changed::kAttributes, attrs.sink());
  EXPECT_TRUE(feed.Watched());
  EXPECT_FALSE(feed.TreeWatched());
  feed.Publish(7, ChangeAction::kAdded, changed::kFileName, "f");
  feed.Publish(7, ChangeAction::kModified, changed::kAttributes | changed::kLastWrite, "f");
  feed.Publish(8, ChangeAction::kAdded, changed::kFileName, "other dir");
  EXPECT_EQ(names.names, (std::vector<std::string>{"1:f"}));
  EXPECT_EQ(attrs.names, (std::vector<std::string>{"3:f"}));
  feed.Unwatch(a);
  feed.Unwatch(a);  // twice: nothing
  feed.Publish(7, ChangeAction::kRemoved, changed::kFileName, "f");
  EXPECT_EQ(names.names.size(), 1u);
  feed.Unwatch(b);
  EXPECT_FALSE(feed.Watched());
}

TEST(ChangeFeedTest, ChangesBelowADirectoryReachOnlyItsTreeWatches) {
  ChangeFeed feed;
  Seen flat, tree;
  ChangeFeed::WatchId a = feed.Watch(1, false, changed::kAll, flat.sink());
  ChangeFeed::WatchId b = feed.Watch(1, true, changed::kAll, tree.sink());
  EXPECT_TRUE(feed.TreeWatched());
  feed.Publish(1, ChangeAction::kAdded, changed::kDirName, "sub");
  feed.PublishBelow(1, ChangeAction::kAdded, changed::kFileName, "sub/f");
  EXPECT_EQ(flat.names, (std::vector<std::string>{"1:sub"}));
  EXPECT_EQ(tree.names, (std::vector<std::string>{"1:sub", "1:sub/f"}));
  feed.Unwatch(b);
  EXPECT_FALSE(feed.TreeWatched());
  feed.Unwatch(a);
}

TEST(ChangeFeedTest, ASinkMayUnwatchItself) {
  ChangeFeed feed;
  ChangeFeed::WatchId id = 0;
  int calls = 0;
  id = feed.Watch(3, false, changed::kAll, [&](const Change&) {
    ++calls;
    feed.Unwatch(id);
  });
  feed.Publish(3, ChangeAction::kAdded, changed::kFileName, "x");
  feed.Publish(3, ChangeAction::kAdded, changed::kFileName, "y");
  EXPECT_EQ(calls, 1);
  EXPECT_FALSE(feed.Watched());
}

TEST(ChangeFeedTest, ListsWatchedDirectoriesOnceEach) {
  ChangeFeed feed;
  Seen a, b, c;
  feed.Watch(7, false, changed::kAll, a.sink());
  feed.Watch(7, true, changed::kAll, b.sink());
  feed.Watch(9, false, changed::kAll, c.sink());
  EXPECT_EQ(feed.WatchedDirs(10), (std::vector<uint64_t>{7, 9}));
  EXPECT_EQ(feed.WatchedDirs(1), (std::vector<uint64_t>{7}));
}

// A file's names among the watched directories are remembered for a while, and forgotten when
// any name changes or a watch comes.
TEST(ChangeFeedTest, RemembersAFilesNamesUntilANameChanges) {
  ChangeFeed feed;
  Seen seen;
  feed.Watch(1, false, changed::kAll, seen.sink());
  ChangeFeed::Names names;
  EXPECT_FALSE(feed.CachedNames(42, 0, &names));
  feed.CacheNames(42, 1000, {{1, "f"}});
  ASSERT_TRUE(feed.CachedNames(42, 2000, &names));
  EXPECT_EQ(names, (ChangeFeed::Names{{1, "f"}}));
  EXPECT_FALSE(feed.CachedNames(42, 1000 + ChangeFeed::kNamesFor + 1, &names));
  feed.Publish(1, ChangeAction::kModified, changed::kSize, "f");
  EXPECT_TRUE(feed.CachedNames(42, 2000, &names));  // a modification changes no name
  feed.Publish(1, ChangeAction::kRenamedOldName, changed::kFileName, "f");
  EXPECT_FALSE(feed.CachedNames(42, 2000, &names));
  feed.CacheNames(42, 1000, {{1, "g"}});
  feed.Watch(2, false, changed::kAll, seen.sink());
  EXPECT_FALSE(feed.CachedNames(42, 2000, &names));
}

}  // namespace
}  // namespace dittofs::core

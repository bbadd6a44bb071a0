// SPDX-License-Identifier: Apache-2.0
#include "stores/remote/conformance.h"

#include <fmt/format.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <ostream>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "base/mutex.h"
#include "testing/status_matchers.h"

namespace dittofs::stores {

void PrintTo(const RemoteStoreFactory& factory, std::ostream* os) { *os << factory.name; }

std::string RemoteStoreFactoryName(const ::testing::TestParamInfo<RemoteStoreFactory>& info) {
  return info.param.name;
}

void RemoteStoreConformance::SetUp() {
  store_ = GetParam().make();
  ASSERT_NE(store_, nullptr) << GetParam().name << ": the factory made no store";
}

namespace {

using ::dittofs::testing::StatusIs;

constexpr uint64_t kMiB = 1024 * 1024;

// `size` bytes, different for each seed.
std::string Pattern(size_t size, uint64_t seed) {
  std::string out(size, '\0');
  uint64_t x = (seed * 0x9e3779b97f4a7c15) | 1;  // xorshift must not start at 0
  for (char& c : out) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    c = static_cast<char>(x);
  }
  return out;
}

// Compares byte strings by first difference; EXPECT_EQ would print megabytes.
::testing::AssertionResult SameBytes(const std::string& got, const std::string& want) {
  if (got.size() != want.size()) {
    return ::testing::AssertionFailure() << "got " << got.size() << " bytes, want " << want.size();
  }
  auto [g, w] = std::mismatch(got.begin(), got.end(), want.begin());
  if (g == got.end()) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << "first difference at byte " << (g - got.begin());
}

Result<std::string> GetString(RemoteStore& store, std::string_view key, uint64_t offset = 0,
                              std::optional<uint64_t> length = std::nullopt) {
  ASSIGN_OR_RETURN(Buffer data, store.Get(key, offset, length));
  return std::string(AsChars(data.view()));
}

std::vector<std::string> Keys(const std::vector<ObjectInfo>& objects) {
  std::vector<std::string> keys;
  for (const ObjectInfo& o : objects) keys.push_back(o.key);
  return keys;
}

TEST_P(RemoteStoreConformance, PutThenGet) {
  ASSERT_OK(store().Put("a/hello", AsBytes("hello, world")));
  ASSERT_OK_AND_ASSIGN(std::string got, GetString(store(), "a/hello"));
  EXPECT_EQ(got, "hello, world");
}

TEST_P(RemoteStoreConformance, GetOfAnAbsentObjectIsNotFound) {
  EXPECT_THAT(store().Get("no/such/object"), StatusIs(Errc::kNotFound));
  EXPECT_THAT(store().Get("no/such/object", 5, 10), StatusIs(Errc::kNotFound));
  EXPECT_THAT(store().Get("no/such/object", 0, 0), StatusIs(Errc::kNotFound));
}

TEST_P(RemoteStoreConformance, PutReplacesTheObject) {
  ASSERT_OK(store().Put("k", AsBytes(Pattern(10'000, 1))));
  ASSERT_OK(store().Put("k", AsBytes("short")));
  ASSERT_OK_AND_ASSIGN(std::string got, GetString(store(), "k"));
  EXPECT_EQ(got, "short");
  ASSERT_OK_AND_ASSIGN(std::vector<ObjectInfo> list, store().List(""));
  EXPECT_EQ(list, (std::vector<ObjectInfo>{{"k", 5}}));
}

TEST_P(RemoteStoreConformance, EmptyObjects) {
  ASSERT_OK(store().Put("empty", ByteView()));
  ASSERT_OK_AND_ASSIGN(std::string all, GetString(store(), "empty"));
  EXPECT_EQ(all, "");
  ASSERT_OK_AND_ASSIGN(std::string range, GetString(store(), "empty", 0, 10));
  EXPECT_EQ(range, "");
  ASSERT_OK_AND_ASSIGN(std::string past, GetString(store(), "empty", 5));
  EXPECT_EQ(past, "");
  ASSERT_OK_AND_ASSIGN(std::vector<ObjectInfo> list, store().List(""));
  EXPECT_EQ(list, (std::vector<ObjectInfo>{{"empty", 0}}));
}

TEST_P(RemoteStoreConformance, Ranges) {
  const std::string data = Pattern(100'000, 2);
  ASSERT_OK(store().Put("r", AsBytes(data)));
  struct Case {
    uint64_t offset;
    std::optional<uint64_t> length;
  };
  for (Case c : std::vector<Case>{{0, std::nullopt},
                                  {0, 1},
                                  {1, 99'998},
                                  {12'345, 20'000},
                                  {99'999, std::nullopt},
                                  {99'999, 1},
                                  {99'000, 5'000},  // runs past the end
                                  {100'000, 10},    // starts at the end
                                  {100'000, std::nullopt},
                                  {200'000, 10},  // starts past the end
                                  {200'000, std::nullopt},
                                  {500, 0}}) {
    ASSERT_OK_AND_ASSIGN(std::string got, GetString(store(), "r", c.offset, c.length));
    std::string want = c.offset >= data.size()
                           ? std::string()
                           : data.substr(c.offset, c.length.value_or(std::string::npos));
    EXPECT_TRUE(SameBytes(got, want))
        << c.offset << "+" << (c.length ? std::to_string(*c.length) : "end");
  }
}

TEST_P(RemoteStoreConformance, DeleteRemovesTheObjectAndDeletingAnAbsentOneSucceeds) {
  ASSERT_OK(store().Put("d/x", AsBytes("x")));
  ASSERT_OK(store().Put("d/y", AsBytes("y")));
  ASSERT_OK(store().Delete("d/x"));
  EXPECT_THAT(store().Get("d/x"), StatusIs(Errc::kNotFound));
  ASSERT_OK(store().Delete("d/x"));  // again
  ASSERT_OK(store().Delete("never/put"));
  ASSERT_OK_AND_ASSIGN(std::vector<ObjectInfo> list, store().List(""));
  EXPECT_EQ(Keys(list), (std::vector<std::string>{"d/y"}));
  // The key can be used again.
  ASSERT_OK(store().Put("d/x", AsBytes("again")));
  ASSERT_OK_AND_ASSIGN(std::string got, GetString(store(), "d/x"));
  EXPECT_EQ(got, "again");
}

TEST_P(RemoteStoreConformance, ListFiltersByPrefixInKeyOrder) {
  // Inserted out of order; some keys are prefixes of others, as files and as "directories".
  const std::vector<std::string> keys = {"b/2",  "a",   "a/b",   "a/b/c", "ab",    "a-",   "a/a",
                                         "b/10", "b/1", "c~x/y", "A",     "a/b.c", "a.b/c"};
  for (size_t i = 0; i < keys.size(); ++i) {
    ASSERT_OK(store().Put(keys[i], AsBytes(Pattern(i, i))));
  }
  std::vector<std::string> sorted = keys;
  std::sort(sorted.begin(), sorted.end());
  ASSERT_OK_AND_ASSIGN(std::vector<ObjectInfo> all, store().List(""));
  EXPECT_EQ(Keys(all), sorted);
  for (const ObjectInfo& o : all) {
    size_t i = std::find(keys.begin(), keys.end(), o.key) - keys.begin();
    EXPECT_EQ(o.size, i) << o.key;
  }
  for (std::string prefix :
       std::vector<std::string>{"a", "a/", "a/b", "a/b/", "b/1", "c", "c~x/", "zzz", "a/b/c/d"}) {
    std::vector<std::string> want;
    for (const std::string& k : sorted) {
      if (k.starts_with(prefix)) want.push_back(k);
    }
    ASSERT_OK_AND_ASSIGN(std::vector<ObjectInfo> got, store().List(prefix));
    EXPECT_EQ(Keys(got), want) << "prefix " << prefix;
  }
}

TEST_P(RemoteStoreConformance, KeysWithManyComponents) {
  std::string deep;
  for (int i = 0; i < 40; ++i) deep += fmt::format("c{}/", i);
  deep += "leaf";
  ASSERT_OK(store().Put(deep, AsBytes("deep")));
  ASSERT_OK(store().Put("chunks/ab/cd/abcdef0123456789", AsBytes("chunk")));
  ASSERT_OK_AND_ASSIGN(std::string got, GetString(store(), deep));
  EXPECT_EQ(got, "deep");
  ASSERT_OK_AND_ASSIGN(std::vector<ObjectInfo> list, store().List("c0/c1/c2/"));
  EXPECT_EQ(Keys(list), (std::vector<std::string>{deep}));
  ASSERT_OK_AND_ASSIGN(std::vector<ObjectInfo> chunks, store().List("chunks/ab/c"));
  EXPECT_EQ(Keys(chunks), (std::vector<std::string>{"chunks/ab/cd/abcdef0123456789"}));
  std::string longest(kMaxRemoteKeySize, 'k');
  for (size_t i = 100; i < longest.size(); i += 100) longest[i] = '/';
  ASSERT_OK(store().Put(longest, AsBytes("long")));
  ASSERT_OK_AND_ASSIGN(std::string long_got, GetString(store(), longest));
  EXPECT_EQ(long_got, "long");
}

TEST_P(RemoteStoreConformance, InvalidKeysAreRejected) {
  for (std::string key :
       std::vector<std::string>{"", "/abs", "trailing/", "a//b", "../up", "a/../b", "a/./b", ".",
                                "sp ace", "tab\t", std::string(kMaxRemoteKeySize + 1, 'x')}) {
    EXPECT_THAT(store().Put(key, AsBytes("x")), StatusIs(Errc::kInvalid)) << key;
    EXPECT_THAT(store().Get(key), StatusIs(Errc::kInvalid)) << key;
    EXPECT_THAT(store().Delete(key), StatusIs(Errc::kInvalid)) << key;
  }
  ASSERT_OK_AND_ASSIGN(std::vector<ObjectInfo> list, store().List(""));
  EXPECT_TRUE(list.empty());
  // Keys may still contain dots and other punctuation.
  ASSERT_OK(store().Put("..a/b..", AsBytes("dots")));
  ASSERT_OK(store().Put("x/%2F&<>\"'=+?#", AsBytes("punct")));
  ASSERT_OK_AND_ASSIGN(std::string dots, GetString(store(), "..a/b.."));
  EXPECT_EQ(dots, "dots");
  ASSERT_OK_AND_ASSIGN(std::string punct, GetString(store(), "x/%2F&<>\"'=+?#"));
  EXPECT_EQ(punct, "punct");
  ASSERT_OK_AND_ASSIGN(std::vector<ObjectInfo> both, store().List(""));
  EXPECT_EQ(Keys(both), (std::vector<std::string>{"..a/b..", "x/%2F&<>\"'=+?#"}));
}

// 1100 objects: more than one page of an S3 listing (1000 keys).
TEST_P(RemoteStoreConformance, ListsMoreThanAThousandObjects) {
  constexpr int kObjects = 1100;
  constexpr int kThreads = 4;
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = t; i < kObjects; i += kThreads) {
        std::string key = fmt::format("many/{:03x}/{:05d}", i % 7, i);
        if (!store().Put(key, AsBytes(std::string(i % 13, 'v'))).ok()) ++failures;
      }
    });
  }
  for (std::thread& t : threads) t.join();
  ASSERT_EQ(failures.load(), 0);
  ASSERT_OK(store().Put("other", AsBytes("x")));
  ASSERT_OK_AND_ASSIGN(std::vector<ObjectInfo> list, store().List("many/"));
  ASSERT_EQ(list.size(), size_t{kObjects});
  EXPECT_TRUE(
      std::is_sorted(list.begin(), list.end(),
                     [](const ObjectInfo& a, const ObjectInfo& b) { return a.key < b.key; }));
  for (const ObjectInfo& o : list) {
    int i = std::stoi(o.key.substr(o.key.rfind('/') + 1));
    EXPECT_EQ(o.size, uint64_t(i % 13)) << o.key;
  }
  ASSERT_OK_AND_ASSIGN(std::vector<ObjectInfo> one_dir, store().List("many/003/"));
  EXPECT_EQ(one_dir.size(), size_t{157});  // i % 7 == 3 for i = 3, 10, ..., 1095
}

TEST_P(RemoteStoreConformance, ConcurrentPutsAndGets) {
  constexpr int kThreads = 6;
  constexpr int kRounds = 30;
  std::vector<std::thread> threads;
  Mutex mu;
  std::vector<std::string> failures;  // guarded by mu
  auto fail = [&](std::string what) {
    MutexLock lock(&mu);
    failures.push_back(std::move(what));
  };
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int r = 0; r < kRounds; ++r) {
        // Each thread writes its own keys and one shared key, and reads both back.
        std::string own = fmt::format("conc/t{}/r{}", t, r);
        std::string data = Pattern(1000 + r * 100, t * 1000 + r);
        Status put = store().Put(own, AsBytes(data));
        if (!put.ok()) fail("put " + own + ": " + put.ToString());
        Result<Buffer> back = store().Get(own);
        if (!back.ok()) fail("get " + own + ": " + back.status().ToString());
        if (back.ok() && AsChars(back->view()) != data) fail("get " + own + ": wrong bytes");
        Status shared_put = store().Put("conc/shared", AsBytes(std::string(4096, 'a' + t)));
        if (!shared_put.ok()) fail("put conc/shared: " + shared_put.ToString());
        Result<Buffer> shared = store().Get("conc/shared");
        if (!shared.ok()) fail("get conc/shared: " + shared.status().ToString());
        // Whole objects only: all 4096 bytes, all from one writer.
        if (shared.ok()) {
          std::string_view got = AsChars(shared->view());
          if (got.size() != 4096 || std::count(got.begin(), got.end(), got[0]) != 4096) {
            fail(fmt::format("get conc/shared: {} bytes, not all the same", got.size()));
          }
        }
      }
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_TRUE(failures.empty()) << failures.size() << " failures, the first: " << failures[0];
  ASSERT_OK_AND_ASSIGN(std::vector<ObjectInfo> list, store().List("conc/"));
  EXPECT_EQ(list.size(), size_t{kThreads * kRounds + 1});
}

TEST_P(RemoteStoreConformance, LargeObjectRoundTrips) {
  const std::string data = Pattern(8 * kMiB, 9);
  ASSERT_OK(store().Put("big/object", AsBytes(data)));
  ASSERT_OK_AND_ASSIGN(std::string all, GetString(store(), "big/object"));
  EXPECT_TRUE(SameBytes(all, data));
  ASSERT_OK_AND_ASSIGN(std::string middle,
                       GetString(store(), "big/object", 3 * kMiB + 7, 2 * kMiB + 1));
  EXPECT_TRUE(SameBytes(middle, data.substr(3 * kMiB + 7, 2 * kMiB + 1)));
  ASSERT_OK_AND_ASSIGN(std::vector<ObjectInfo> list, store().List("big/"));
  EXPECT_EQ(list, (std::vector<ObjectInfo>{{"big/object", 8 * kMiB}}));
}

}  // namespace
}  // namespace dittofs::stores

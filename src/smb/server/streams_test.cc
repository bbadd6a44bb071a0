// SPDX-License-Identifier: Apache-2.0
#include "smb/server/streams.h"

#include <gtest/gtest.h>

#include "stores/block/memory/memory_block_store.h"
#include "stores/metadata/memory/memory_metadata_store.h"
#include "testing/status_matchers.h"

namespace dittofs::smb {
namespace {

using ::dittofs::testing::StatusIs;

TEST(SplitStreamPath, PlainNameHasNoStream) {
  Result<StreamPath> p = SplitStreamPath("dir\\file.txt");
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->path, "dir\\file.txt");
  EXPECT_EQ(p->stream, "");
  EXPECT_FALSE(p->data_suffix);
}

TEST(SplitStreamPath, NamedStreamForms) {
  Result<StreamPath> p = SplitStreamPath("dir\\f:Stream One");
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->path, "dir\\f");
  EXPECT_EQ(p->stream, "Stream One");
  EXPECT_FALSE(p->data_suffix);
  p = SplitStreamPath("f:Second Stream:$DaTa");  // the type matches without case
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->stream, "Second Stream");
  EXPECT_TRUE(p->data_suffix);
  // Any character but '\\', '/', ':' and NUL may be in a stream's name.
  p = SplitStreamPath("f:?Stream*\x05\n");
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->stream, "?Stream*\x05\n");
}

TEST(SplitStreamPath, DefaultDataStream) {
  Result<StreamPath> p = SplitStreamPath("f::$DATA");
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->path, "f");
  EXPECT_EQ(p->stream, "");
  EXPECT_TRUE(p->data_suffix);
  p = SplitStreamPath("f::$data");
  ASSERT_TRUE(p.ok());
  EXPECT_TRUE(p->data_suffix);
}

// Hostile names: each is refused (STATUS_OBJECT_NAME_INVALID), never taken for another.
TEST(SplitStreamPath, RefusesColonTricks) {
  for (std::string_view bad :
       {"f:", "f::", "f:s:", "f:s:$FOO", "f:s:$DATA:", "f:a:b:c", "f::$DATA:$DATA", "f::$INDEX",
        "f:s:?D*a", "d:s\\f", "d:s/f", "f:a\\b", "f:s:$DATA\\x", "f:s:$DAT", "f:s:$DATAX"}) {
    EXPECT_THAT(SplitStreamPath(bad), StatusIs(Errc::kInvalid)) << bad;
  }
  EXPECT_THAT(SplitStreamPath(std::string("f:a\0b", 5)), StatusIs(Errc::kInvalid));
  EXPECT_THAT(SplitStreamPath("f:" + std::string(kMaxStreamName + 1, 'x')),
              StatusIs(Errc::kInvalid));
  EXPECT_TRUE(SplitStreamPath("f:" + std::string(kMaxStreamName, 'x')).ok());
}

TEST(StreamXattr, RoundTripsAndIsAValidXattrName) {
  EXPECT_EQ(StreamXattr("Stream One"), "user.DosStream.Stream One:$DATA");
  EXPECT_EQ(StreamOfXattr(StreamXattr("Stream One")), "Stream One");
  EXPECT_LE(StreamXattr(std::string(kMaxStreamName, 'x')).size(), core::kMaxXattrName);
  EXPECT_EQ(StreamOfXattr("user.foo"), std::nullopt);
  EXPECT_EQ(StreamOfXattr("user.DosStream.:$DATA"), std::nullopt);
  EXPECT_EQ(StreamOfXattr("security.DosStream.x:$DATA"), std::nullopt);
}

TEST(EaNames, ValidityAndTheUserNamespace) {
  EXPECT_TRUE(ValidEaName("foo.bar"));
  EXPECT_TRUE(ValidEaName(std::string(250, 'a')));
  EXPECT_FALSE(ValidEaName(std::string(251, 'a')));
  EXPECT_FALSE(ValidEaName(""));
  for (char c : std::string_view("\"*+,/:;<=>?[\\]|\x01")) {
    EXPECT_FALSE(ValidEaName(std::string("a") + c)) << int(c);
  }
  EXPECT_EQ(EaOfXattr("user.foo"), "foo");
  EXPECT_EQ(EaOfXattr("trusted.foo"), std::nullopt);
  EXPECT_EQ(EaOfXattr("security.NTACL"), std::nullopt);
  // A stream's xattr is not an EA.
  EXPECT_EQ(EaOfXattr(StreamXattr("s")), std::nullopt);
}

wire::FullEa Ea(std::string name, std::string_view value) {
  wire::FullEa ea;
  ea.name = std::move(name);
  const auto* p = reinterpret_cast<const std::byte*>(value.data());
  ea.value.assign(p, p + value.size());
  return ea;
}

class StreamsVfsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto v = core::Vfs::Open(1, "/export", *metadata_, *blocks_,
                             core::ShareOptions{.squash = core::Squash::kNone});
    ASSERT_TRUE(v.ok()) << v.status().ToString();
    vfs_ = std::move(v).value();
    core::SetAttrs mode;
    mode.set_mode(0644);
    auto a = vfs_->Create(caller_, vfs_->root(), "f", core::CreateMode::kGuarded, mode, 0, nullptr);
    ASSERT_TRUE(a.ok());
    file_ = a->id;
  }
  std::unique_ptr<stores::MetadataStore> metadata_ = stores::NewMemoryMetadataStore();
  std::unique_ptr<stores::BlockStore> blocks_ = stores::NewMemoryBlockStore();
  std::unique_ptr<core::Vfs> vfs_;
  core::Caller caller_;  // root
  core::FileId file_;
};

TEST_F(StreamsVfsTest, EasAreUserXattrsMatchedWithoutCase) {
  ASSERT_TRUE(SetEas(*vfs_, caller_, file_, {Ea("Foo", "1"), Ea("bar", "22")}).ok());
  EXPECT_EQ(*vfs_->GetXattr(caller_, file_, "user.Foo"), "1");
  ASSERT_TRUE(vfs_->SetXattr(caller_, file_, StreamXattr("s"), "data", core::XattrSet::kAny).ok());
  Result<std::vector<wire::FullEa>> eas = ListEas(*vfs_, caller_, file_);
  ASSERT_TRUE(eas.ok());
  ASSERT_EQ(eas->size(), 2u);  // the stream is none of them
  // The list's 4 bytes; Foo: 4 + 3 + NUL + 1; bar: 4 + 3 + NUL + 2.
  EXPECT_EQ(EaSizeOf(*eas), 4u + 9 + 10);
  EXPECT_EQ(EaSizeOf({}), 0u);
  // FOO replaces Foo; an empty value removes bar.
  ASSERT_TRUE(SetEas(*vfs_, caller_, file_, {Ea("FOO", "3"), Ea("BAR", "")}).ok());
  eas = ListEas(*vfs_, caller_, file_);
  ASSERT_TRUE(eas.ok());
  ASSERT_EQ(eas->size(), 1u);
  EXPECT_EQ((*eas)[0].name, "FOO");
  EXPECT_THAT(vfs_->GetXattr(caller_, file_, "user.Foo"), StatusIs(Errc::kNotFound));
  // Removing an absent EA succeeds; an invalid name sets nothing.
  EXPECT_TRUE(SetEas(*vfs_, caller_, file_, {Ea("absent", "")}).ok());
  EXPECT_THAT(SetEas(*vfs_, caller_, file_, {Ea("ok", "1"), Ea("a:b", "1")}),
              StatusIs(Errc::kInvalid));
  EXPECT_THAT(vfs_->GetXattr(caller_, file_, "user.ok"), StatusIs(Errc::kNotFound));
  EXPECT_THAT(
      SetEas(*vfs_, caller_, file_, {Ea("big", std::string(core::kMaxXattrValue + 1, 'x'))}),
      StatusIs(Errc::kTooBig));
}

TEST_F(StreamsVfsTest, StreamsListAndFindWithoutCase) {
  ASSERT_TRUE(
      vfs_->SetXattr(caller_, file_, StreamXattr("Second Stream"), "abc", core::XattrSet::kCreate)
          .ok());
  ASSERT_TRUE(vfs_->SetXattr(caller_, file_, "user.ea", "x", core::XattrSet::kCreate).ok());
  Result<std::vector<StreamInfo>> streams = ListStreams(*vfs_, caller_, file_);
  ASSERT_TRUE(streams.ok());
  ASSERT_EQ(streams->size(), 1u);
  EXPECT_EQ((*streams)[0].name, "Second Stream");
  EXPECT_EQ((*streams)[0].size, 3u);
  Result<std::optional<std::string>> found = FindStream(*vfs_, caller_, file_, "SECOND STREAM");
  ASSERT_TRUE(found.ok());
  EXPECT_EQ(*found, "Second Stream");
  found = FindStream(*vfs_, caller_, file_, "other");
  ASSERT_TRUE(found.ok());
  EXPECT_EQ(*found, std::nullopt);
}

TEST(StreamTable, ShareModesArePerStream) {
  StreamTable t;
  Result<StreamTable::Opened> a = t.Open(1, 7, "One", core::kWriteData, 0, false);
  ASSERT_TRUE(a.ok());
  // Another stream of the file: no conflict.
  Result<StreamTable::Opened> b = t.Open(1, 7, "Two", core::kWriteData, 0, false);
  ASSERT_TRUE(b.ok());
  // The same stream, in another case: a sharing violation.
  EXPECT_THAT(t.Open(1, 7, "ONE", core::kWriteData, 0, false), StatusIs(Errc::kShareViolation));
  // The same name of another file or share: none.
  EXPECT_TRUE(t.Open(1, 8, "One", core::kWriteData, 0, false).ok());
  EXPECT_TRUE(t.Open(2, 7, "One", core::kWriteData, 0, false).ok());
  EXPECT_TRUE(t.HasOpens(1, 7, "one"));
  // Neither lets the file be deleted (FILE_SHARE_DELETE missing).
  EXPECT_FALSE(t.AllowsDelete(1, 7));
  EXPECT_FALSE(t.Close(a->node, a->id));
  EXPECT_FALSE(t.Close(b->node, b->id));
  EXPECT_TRUE(t.AllowsDelete(1, 7));
  EXPECT_FALSE(t.HasOpens(1, 7, "one"));
  Result<StreamTable::Opened> c = t.Open(1, 7, "One", core::kReadData, core::kShareDelete, false);
  ASSERT_TRUE(c.ok());
  EXPECT_TRUE(t.AllowsDelete(1, 7));
}

TEST(StreamTable, DeleteOnLastCloseAndDeletePending) {
  StreamTable t;
  Result<StreamTable::Opened> a = t.Open(1, 7, "s", core::kDeleteAccess, core::kShareAll, true);
  ASSERT_TRUE(a.ok());
  Result<StreamTable::Opened> b = t.Open(1, 7, "s", core::kReadData, core::kShareAll, false);
  ASSERT_TRUE(b.ok());
  EXPECT_FALSE(t.Close(a->node, a->id));  // b is still open
  EXPECT_THAT(t.Open(1, 7, "s", core::kReadData, core::kShareAll, false),
              StatusIs(Errc::kDeletePending));
  EXPECT_TRUE(t.Close(b->node, b->id));  // the last: the stream goes now
  EXPECT_TRUE(t.Open(1, 7, "s", core::kReadData, core::kShareAll, false).ok());
}

TEST(StreamTable, RenameMovesTheOpens) {
  StreamTable t;
  Result<StreamTable::Opened> a = t.Open(1, 7, "old", core::kWriteData, 0, false);
  ASSERT_TRUE(a.ok());
  Result<StreamTable::Opened> other = t.Open(1, 7, "busy", core::kReadData, core::kShareAll, false);
  ASSERT_TRUE(other.ok());
  EXPECT_THAT(t.Rename(a->node, "BUSY"), StatusIs(Errc::kShareViolation));
  ASSERT_TRUE(t.Rename(a->node, "new").ok());
  EXPECT_FALSE(t.HasOpens(1, 7, "old"));
  EXPECT_THAT(t.Open(1, 7, "NEW", core::kWriteData, 0, false), StatusIs(Errc::kShareViolation));
  {
    MutexLock lock(&a->node->mu);
    EXPECT_EQ(a->node->name, "new");
  }
  EXPECT_FALSE(t.Close(a->node, a->id));
  EXPECT_FALSE(t.HasOpens(1, 7, "new"));
}

}  // namespace
}  // namespace dittofs::smb

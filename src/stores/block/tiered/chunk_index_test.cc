// SPDX-License-Identifier: Apache-2.0
#include "stores/block/tiered/chunk_index.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "stores/metadata/memory/memory_metadata_store.h"
#include "testing/status_matchers.h"

namespace dittofs::stores::tiered {
namespace {

using ::dittofs::testing::StatusIs;

Blake3Hash HashOf(std::string_view s) { return chunk::Blake3(AsBytes(s)); }

TEST(ChunkIndexTest, RecordsRoundTrip) {
  Extent e{.begin = 10, .end = 4096, .hash = HashOf("a"), .chunk_offset = 7};
  ASSERT_OK_AND_ASSIGN(Extent back, DecodeExtent(ExtentKey(3, 4096), EncodeExtent(e)));
  EXPECT_EQ(back, e);
  EXPECT_EQ(ExtentKeyFile(ExtentKey(3, 4096)), 3u);

  ChunkRecord c{.refs = 5,
                .object = 99,
                .location = {.offset = 1, .stored_length = 2, .raw_length = 3, .flags = 0x12}};
  ASSERT_OK_AND_ASSIGN(ChunkRecord c2, DecodeChunk(EncodeChunk(c)));
  EXPECT_EQ(c2, c);

  ObjectRecord o{.size = 100,
                 .live = 2,
                 .dead_since_ms = 0,
                 .wrapped_data_key = "key",
                 .chunks = {HashOf("a"), HashOf("b")}};
  ASSERT_OK_AND_ASSIGN(ObjectRecord o2, DecodeObject(EncodeObject(o)));
  EXPECT_EQ(o2, o);

  EXPECT_THAT(DecodeChunk("x").status(), StatusIs(Errc::kIo));
  EXPECT_THAT(DecodeObject(EncodeObject(o).substr(0, 30)).status(), StatusIs(Errc::kIo));
  EXPECT_EQ(ParseRemoteObjectKey(RemoteObjectKey(0xfedcba9876543210)), 0xfedcba9876543210u);
  EXPECT_EQ(ParseRemoteObjectKey("objects/xyz"), std::nullopt);
  auto q = DecodeGcQueueKey(GcQueueKey(5, 6));
  ASSERT_TRUE(q.has_value());
  EXPECT_EQ(*q, std::make_pair(uint64_t{5}, uint64_t{6}));
}

// The empty namespace is the layout from before namespaces, byte for byte (docs/formats/
// objects.md); another namespace prefixes it, and each tells the other's keys apart.
TEST(ChunkIndexTest, NamespacesPrefixKeysAndTheEmptyOneIsTheOriginalLayout) {
  const IndexKeys legacy, ns("b7/");
  EXPECT_EQ(legacy.Extent(3, 4096), std::string("\0\0\0\0\0\0\0\3\0\0\0\0\0\0\x10\0", 16));
  EXPECT_EQ(legacy.Extent(3, 4096), ExtentKey(3, 4096));
  EXPECT_EQ(legacy.Chunk(HashOf("a")), ChunkKey(HashOf("a")));
  EXPECT_EQ(legacy.Object(9), std::string("\0\0\0\0\0\0\0\x09", 8));
  EXPECT_EQ(legacy.GcQueue(5, 6), GcQueueKey(5, 6));
  EXPECT_EQ(legacy.RemoteObject(0xab), "objects/00000000000000ab");
  EXPECT_EQ(legacy.ScanBegin(), "");
  EXPECT_EQ(legacy.ScanEnd(), "");

  EXPECT_EQ(ns.Extent(3, 4096), "b7/" + ExtentKey(3, 4096));
  EXPECT_EQ(ns.Object(9), "b7/" + ObjectKey(9));
  EXPECT_EQ(ns.RemoteObject(0xab), "b7/objects/00000000000000ab");
  EXPECT_EQ(ns.ParseRemoteObject("b7/objects/00000000000000ab"), 0xabu);
  EXPECT_EQ(ns.ParseRemoteObject("objects/00000000000000ab"), std::nullopt);
  EXPECT_EQ(legacy.ParseRemoteObject("b7/objects/00000000000000ab"), std::nullopt);
  EXPECT_EQ(ns.ScanBegin(), "b7/");
  EXPECT_EQ(ns.ScanEnd(), "b70");  // '/' + 1

  EXPECT_EQ(ns.Own(ns.Extent(3, 4096), 16), ExtentKey(3, 4096));
  EXPECT_EQ(ns.Own(legacy.Extent(3, 4096), 16), std::nullopt);
  EXPECT_EQ(legacy.Own(ns.Extent(3, 4096), 16), std::nullopt);
  EXPECT_EQ(legacy.Own(legacy.Extent(3, 4096), 16), ExtentKey(3, 4096));
}

// Builds: one object with chunks a and b; file 1 maps [0,100) to a, [100,200) to b.
class IndexTxnTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_OK(RunTransaction(*md_, [&](MetadataTxn& txn) {
      IndexTxn index(txn, keys_, 1000);
      index.AddObject(7, ObjectRecord{.size = 1, .chunks = {a_, b_}});
      RETURN_IF_ERROR(index.AddChunk(a_, ChunkRecord{.object = 7}).status());
      RETURN_IF_ERROR(index.AddChunk(b_, ChunkRecord{.object = 7}).status());
      RETURN_IF_ERROR(index.Map(1, Extent{0, 100, a_, 0}));
      RETURN_IF_ERROR(index.Map(1, Extent{100, 200, b_, 0}));
      return index.Finish();
    }));
  }

  ChunkRecord Chunk(const Blake3Hash& h) {
    auto txn = md_->Begin();
    Result<std::string> v = txn->GetRecord(RecordTable::kChunks, ChunkKey(h));
    EXPECT_OK(v.status());
    return v.ok() ? *DecodeChunk(*v) : ChunkRecord{};
  }
  ObjectRecord Object(uint64_t id) {
    auto txn = md_->Begin();
    Result<std::string> v = txn->GetRecord(RecordTable::kObjects, ObjectKey(id));
    EXPECT_OK(v.status());
    return v.ok() ? *DecodeObject(*v) : ObjectRecord{};
  }
  std::vector<Extent> Extents(uint64_t file) {
    auto txn = md_->Begin();
    IndexTxn index(*txn, keys_, 0);
    Result<std::vector<Extent>> r = index.Overlapping(file, 0, UINT64_MAX);
    EXPECT_OK(r.status());
    return r.ok() ? *r : std::vector<Extent>{};
  }
  size_t QueueLength() {
    auto txn = md_->Begin();
    return txn->ScanRecords(RecordTable::kGcQueue, "", "", 100)->size();
  }

  std::unique_ptr<MetadataStore> md_ = NewMemoryMetadataStore();
  const IndexKeys keys_;  // the empty namespace: the unprefixed keys read above
  Blake3Hash a_ = HashOf("a"), b_ = HashOf("b");
};

TEST_F(IndexTxnTest, CuttingInsideAnExtentSplitsItAndCountsBothHalves) {
  EXPECT_EQ(Chunk(a_).refs, 1u);
  EXPECT_EQ(Object(7).live, 2u);
  ASSERT_OK(RunTransaction(*md_, [&](MetadataTxn& txn) {
    IndexTxn index(txn, keys_, 2000);
    RETURN_IF_ERROR(index.Cut(1, 40, 60));
    return index.Finish();
  }));
  std::vector<Extent> e = Extents(1);
  ASSERT_EQ(e.size(), 3u);
  EXPECT_EQ(e[0], (Extent{0, 40, a_, 0}));
  EXPECT_EQ(e[1], (Extent{60, 100, a_, 60}));
  EXPECT_EQ(e[2], (Extent{100, 200, b_, 0}));
  EXPECT_EQ(Chunk(a_).refs, 2u);
}

TEST_F(IndexTxnTest, AnObjectWithNoReferencedChunkIsQueuedAndRevivedByANewReference) {
  ASSERT_OK(RunTransaction(*md_, [&](MetadataTxn& txn) {
    IndexTxn index(txn, keys_, 2000);
    RETURN_IF_ERROR(index.Cut(1, 0, UINT64_MAX));
    return index.Finish();
  }));
  EXPECT_TRUE(Extents(1).empty());
  EXPECT_EQ(Chunk(a_).refs, 0u);
  EXPECT_EQ(Object(7).live, 0u);
  EXPECT_EQ(Object(7).dead_since_ms, 2000u);
  EXPECT_EQ(QueueLength(), 1u);
  ASSERT_OK(RunTransaction(*md_, [&](MetadataTxn& txn) {
    IndexTxn index(txn, keys_, 3000);
    RETURN_IF_ERROR(index.Map(2, Extent{0, 50, b_, 10}));
    return index.Finish();
  }));
  EXPECT_EQ(Object(7).live, 1u);
  EXPECT_EQ(Object(7).dead_since_ms, 0u);
  EXPECT_EQ(QueueLength(), 0u);
}

TEST_F(IndexTxnTest, MappingAnUnknownChunkFails) {
  Status s = RunTransaction(*md_, [&](MetadataTxn& txn) {
    IndexTxn index(txn, keys_, 2000);
    return index.Map(1, Extent{500, 600, HashOf("unknown"), 0});
  });
  EXPECT_THAT(s, StatusIs(Errc::kNotFound));
}

}  // namespace
}  // namespace dittofs::stores::tiered

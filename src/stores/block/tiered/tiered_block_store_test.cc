// SPDX-License-Identifier: Apache-2.0
#include "stores/block/tiered/tiered_block_store.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <functional>
#include <memory>
#include <mutex>
#include <random>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_set>
#include <utility>
#include <vector>

#include "stores/block/conformance.h"
#include "stores/block/tiered/chunk_index.h"
#include "stores/block/tiered/tiered_test_util.h"
#include "stores/metadata/memory/memory_metadata_store.h"
#include "stores/metadata/rocksdb/rocksdb_metadata_store.h"
#include "stores/remote/fs/fs_remote_store.h"
#include "stores/remote/memory/memory_remote_store.h"
#include "testing/random_bytes.h"
#include "testing/scratch_dir.h"
#include "testing/status_matchers.h"

namespace dittofs::stores {
namespace {

using block_testing::FileModel;
using block_testing::ReadString;
using ::dittofs::testing::RandomString;
using ::dittofs::testing::ScratchDir;
using ::dittofs::testing::StatusIs;
using tiered_testing::CreateInodes;
using tiered_testing::RemoteBytes;
using tiered_testing::SharedRemote;

constexpr uint64_t kKiB = 1024;
constexpr uint64_t kMiB = 1024 * kKiB;

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
constexpr bool kSanitized = true;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
constexpr bool kSanitized = true;
#else
constexpr bool kSanitized = false;
#endif
#else
constexpr bool kSanitized = false;
#endif

// A tiered store with everything it needs, for one test. The journal directory can be swapped
// for an empty one (Reopen(fresh_journal=true)) so that every read must come from the remote.
class Env {
 public:
  explicit Env(bool rocksdb = false, std::function<void(TieredOptions&)> tune = nullptr)
      : dir_("tiered-test"), rocksdb_(rocksdb), tune_(std::move(tune)) {
    remote_ = std::shared_ptr<RemoteStore>(NewMemoryRemoteStore());
    OpenMetadata();
    EXPECT_OK(CreateInodes(*metadata_, 1, 64));
    Reopen();
  }
  ~Env() {
    store_.reset();
    metadata_.reset();
  }

  void OpenMetadata() {
    if (rocksdb_) {
      RocksDbMetadataStoreOptions o;
      o.path = dir_.path() + "/metadata";
      Result<std::unique_ptr<MetadataStore>> md = OpenRocksDbMetadataStore(o);
      ASSERT_OK(md.status());
      metadata_ = std::move(*md);
    } else {
      metadata_ = NewMemoryMetadataStore();
    }
  }

  TieredOptions Options() {
    TieredOptions o;
    o.journal.dir = dir_.path() + "/journal" + std::to_string(journal_generation_);
    o.journal.segment_bytes = 4 * kMiB;
    o.journal.capacity_bytes = 256 * kMiB;
    o.remote = std::make_unique<SharedRemote>(remote_);
    o.codec.compression = cas::Compression::kNone;
    o.carve_after = std::chrono::seconds(30);
    o.gc_grace = std::chrono::milliseconds(0);
    o.gc_interval = std::chrono::hours(1);  // tests collect by hand
    o.reconcile_interval = std::chrono::hours(1);
    if (tune_) tune_(o);
    return o;
  }

  // Closes and reopens the store; with `fresh_journal` on an empty journal directory.
  void Reopen(bool fresh_journal = false) {
    store_.reset();
    if (fresh_journal) ++journal_generation_;
    Result<std::unique_ptr<TieredBlockStore>> s = OpenTieredBlockStore(Options(), *metadata_);
    ASSERT_OK(s.status());
    store_ = std::move(*s);
  }

  TieredBlockStore& store() { return *store_; }
  const TieredBlockStore& store() const { return *store_; }
  MetadataStore& metadata() { return *metadata_; }
  RemoteStore& remote() { return *remote_; }

 private:
  ScratchDir dir_;
  bool rocksdb_;
  std::function<void(TieredOptions&)> tune_;
  int journal_generation_ = 0;
  std::shared_ptr<RemoteStore> remote_;
  std::unique_ptr<MetadataStore> metadata_;
  std::unique_ptr<TieredBlockStore> store_;
};

// ---- The BlockStore conformance suite, with carving running all the time ----

// Owns what the store under test needs.
class ConformanceStore final : public BlockStore {
 public:
  ConformanceStore()
      : env_(false, [](TieredOptions& o) {
          // Carve as soon as anything is dirty, and keep the journal small, so that the suite's
          // reads also come from the remote.
          o.carve_after = std::chrono::milliseconds(0);
          o.journal.segment_bytes = 64 * kKiB;
          o.journal.capacity_bytes = 2 * kMiB;
          o.chunking = {.min_size = 4 * kKiB, .avg_size = 16 * kKiB, .max_size = 64 * kKiB};
          o.object_bytes = 256 * kKiB;
        }) {
    EXPECT_OK(CreateInodes(env_.metadata(), 1, 4096));
  }
  Status Write(uint64_t f, uint64_t o, ByteView d) override { return s().Write(f, o, d); }
  Status Read(uint64_t f, uint64_t o, MutableByteView out) override { return s().Read(f, o, out); }
  Result<BlockRead> ReadRange(uint64_t f, uint64_t o, size_t n) override {
    return s().ReadRange(f, o, n);
  }
  Status Truncate(uint64_t f, uint64_t size) override { return s().Truncate(f, size); }
  Status Remove(uint64_t f) override { return s().Remove(f); }
  Status Deallocate(uint64_t f, uint64_t o, uint64_t n) override { return s().Deallocate(f, o, n); }
  Result<std::vector<Extent>> DataExtents(uint64_t f, uint64_t o, uint64_t end,
                                          size_t max) override {
    return s().DataExtents(f, o, end, max);
  }
  Status Clone(uint64_t src, uint64_t src_o, uint64_t dst, uint64_t dst_o, uint64_t n) override {
    return s().Clone(src, src_o, dst, dst_o, n);
  }
  bool ClonesByReference() const override { return env_.store().ClonesByReference(); }
  Status Sync(uint64_t f) override { return s().Sync(f); }
  Result<std::vector<DataEnd>> RecentDataEnds() override { return s().RecentDataEnds(); }
  uint64_t UsedBytes() override { return s().UsedBytes(); }
  Capacity GetCapacity() override { return s().GetCapacity(); }

 private:
  TieredBlockStore& s() { return env_.store(); }
  Env env_;
};

INSTANTIATE_TEST_SUITE_P(
    Tiered, BlockStoreConformance,
    ::testing::Values(BlockStoreFactory{
        "Tiered",
        [] { return std::unique_ptr<BlockStore>(std::make_unique<ConformanceStore>()); }}),
    BlockStoreFactoryName);

// ---- Carving, reading back, deduplication ----

TEST(TieredStoreTest, FlushUploadsAndAnEmptyJournalReadsEverythingFromTheRemote) {
  Env env(/*rocksdb=*/true);
  FileModel model;
  std::string a = RandomString(5 * kMiB + 123, 1);
  std::string b = RandomString(300 * kKiB, 2);
  ASSERT_OK(env.store().Write(1, 0, AsBytes(a)));
  model.Write(0, a);
  ASSERT_OK(env.store().Write(1, 7 * kMiB, AsBytes(b)));  // a hole between
  model.Write(7 * kMiB, b);
  ASSERT_OK(env.store().Write(1, 1 * kMiB, AsBytes(b)));  // an overwrite
  model.Write(1 * kMiB, b);
  ASSERT_OK(env.store().Flush());
  TieredStats st = env.store().Stats();
  EXPECT_EQ(st.journal.dirty_bytes, 0u);
  EXPECT_GT(st.objects_uploaded, 0u);

  env.Reopen(/*fresh_journal=*/true);
  ASSERT_OK_AND_ASSIGN(std::string got, ReadString(env.store(), 1, 0, model.size() + 1000));
  EXPECT_TRUE(got == model.Read(0, model.size() + 1000));
  EXPECT_GT(env.store().Stats().chunks_fetched, 0u);

  // An overwrite after upload, flushed again: the new bytes win, the rest stays.
  std::string c = RandomString(10 * kKiB, 3);
  ASSERT_OK(env.store().Write(1, 4 * kMiB, AsBytes(c)));
  model.Write(4 * kMiB, c);
  ASSERT_OK(env.store().Flush());
  env.Reopen(/*fresh_journal=*/true);
  ASSERT_OK_AND_ASSIGN(got, ReadString(env.store(), 1, 0, model.size()));
  EXPECT_TRUE(got == model.Read(0, model.size()));
}

TEST(TieredStoreTest, TruncateThenExtendReadsZerosAfterUpload) {
  Env env;
  std::string a = RandomString(3 * kMiB, 4);
  ASSERT_OK(env.store().Write(2, 0, AsBytes(a)));
  ASSERT_OK(env.store().Flush());
  ASSERT_OK(env.store().Truncate(2, 1000));
  env.Reopen(/*fresh_journal=*/true);
  ASSERT_OK_AND_ASSIGN(std::string got, ReadString(env.store(), 2, 0, 2 * kMiB));
  EXPECT_TRUE(got == a.substr(0, 1000) + std::string(2 * kMiB - 1000, '\0'));
}

TEST(TieredStoreTest, SameDataUnderTenNamesIsStoredOnce) {
  Env env(/*rocksdb=*/true);
  const size_t size = (kSanitized ? 20 : 100) * kMiB;
  std::string data = RandomString(size, 5);
  for (uint64_t file = 1; file <= 10; ++file) {
    // Written as a client would: 1 MiB at a time.
    for (size_t at = 0; at < size; at += kMiB) {
      ASSERT_OK(env.store().Write(file, at, AsBytes(std::string_view(data).substr(at, kMiB))));
    }
    ASSERT_OK(env.store().Flush());
  }
  uint64_t stored = RemoteBytes(env.remote());
  EXPECT_GE(stored, size);
  EXPECT_LE(stored, size + size / 20) << "remote bytes within 5 % of one copy";
  TieredStats st = env.store().Stats();
  EXPECT_GE(st.deduplicated_bytes, 9 * size - size / 20);
  env.Reopen(/*fresh_journal=*/true);
  for (uint64_t file : {1, 7, 10}) {
    ASSERT_OK_AND_ASSIGN(std::string got, ReadString(env.store(), file, 0, size));
    EXPECT_TRUE(got == data) << "file " << file;
  }
}

TEST(TieredStoreTest, InsertingOneByteReuploadsOnlyTheChunksAroundIt) {
  Env env;
  const size_t size = 64 * kMiB;
  std::string v1 = RandomString(size, 6);
  ASSERT_OK(env.store().Write(1, 0, AsBytes(v1)));
  ASSERT_OK(env.store().Flush());
  TieredStats before = env.store().Stats();
  std::string v2 = v1;
  v2.insert(v2.begin() + 4096, 'x');
  ASSERT_OK(env.store().Write(2, 0, AsBytes(v2)));
  ASSERT_OK(env.store().Flush());
  TieredStats after = env.store().Stats();
  uint64_t new_chunks = after.chunks_new - before.chunks_new;
  uint64_t new_bytes = after.uploaded_bytes - before.uploaded_bytes;
  EXPECT_LE(new_chunks, 2u);
  EXPECT_LE(new_bytes, 8 * kMiB) << "only the chunks around the insertion";
  EXPECT_GE(after.deduplicated_bytes - before.deduplicated_bytes, size - 8 * kMiB);
}

TEST(TieredStoreTest, AFileWrittenInManySmallPassesChunksAsIfWrittenAtOnce) {
  // COMMITs in the middle of a sequential write (each a carve) must not move chunk boundaries,
  // or copies would stop deduplicating.
  Env env;
  const size_t size = 24 * kMiB;
  std::string data = RandomString(size, 7);
  ASSERT_OK(env.store().Write(1, 0, AsBytes(data)));
  ASSERT_OK(env.store().Flush());
  TieredStats before = env.store().Stats();
  for (size_t at = 0; at < size; at += 3 * kMiB) {
    ASSERT_OK(env.store().Write(2, at, AsBytes(std::string_view(data).substr(at, 3 * kMiB))));
    ASSERT_OK(env.store().Sync(2));  // a COMMIT: carves what is there
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  ASSERT_OK(env.store().Flush());
  TieredStats after = env.store().Stats();
  EXPECT_EQ(after.chunks_new, before.chunks_new);
  EXPECT_EQ(after.uploaded_bytes, before.uploaded_bytes);
}

TEST(TieredStoreTest, CarvesOnItsOwnAfterCarveAfter) {
  Env env(false, [](TieredOptions& o) { o.carve_after = std::chrono::milliseconds(200); });
  std::string a = RandomString(kMiB, 8);
  ASSERT_OK(env.store().Write(3, 0, AsBytes(a)));
  for (int i = 0; i < 200 && env.store().Stats().journal.dirty_bytes > 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  EXPECT_EQ(env.store().Stats().journal.dirty_bytes, 0u);
  EXPECT_GT(RemoteBytes(env.remote()), kMiB - 1);
}

TEST(TieredStoreTest, ReopeningQueuesWhatWasNotUploaded) {
  Env env(/*rocksdb=*/true, [](TieredOptions& o) { o.carve_after = std::chrono::seconds(0); });
  // Stop before anything could be carved: the journal is closed with dirty data...
  std::string a = RandomString(2 * kMiB, 9);
  ASSERT_OK(env.store().Write(4, 0, AsBytes(a)));
  ASSERT_OK(env.store().Sync(4));
  env.Reopen();
  // ...which the reopened store uploads by itself.
  for (int i = 0; i < 200 && env.store().Stats().journal.dirty_bytes > 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  EXPECT_EQ(env.store().Stats().journal.dirty_bytes, 0u);
  env.Reopen(/*fresh_journal=*/true);
  ASSERT_OK_AND_ASSIGN(std::string got, ReadString(env.store(), 4, 0, a.size()));
  EXPECT_TRUE(got == a);
}

// ---- Damage, encryption ----

// Flips one byte in the middle of every object.
void DamageEveryObject(RemoteStore& remote) {
  ASSERT_OK_AND_ASSIGN(std::vector<ObjectInfo> objects, remote.List(""));
  ASSERT_FALSE(objects.empty());
  for (const ObjectInfo& o : objects) {
    ASSERT_OK_AND_ASSIGN(Buffer bytes, remote.Get(o.key));
    bytes.data()[bytes.size() / 2] ^= std::byte{0x01};
    ASSERT_OK(remote.Put(o.key, bytes.view()));
  }
}

TEST(TieredStoreTest, AFlippedByteIsAnIoErrorAndACorruptionEventNeverWrongBytes) {
  for (cas::Cipher cipher : {cas::Cipher::kNone, cas::Cipher::kAes256Gcm}) {
    SCOPED_TRACE(std::string(cas::CipherName(cipher)));
    Env env(false, [cipher](TieredOptions& o) {
      o.codec.compression = cas::Compression::kZstd;
      o.codec.cipher = cipher;
      if (cipher != cas::Cipher::kNone)
        o.keyring = cas::Keyring::FromMasterKey(AsBytes(std::string(32, 'k')));
      o.chunking = {.min_size = 64 * kKiB, .avg_size = 128 * kKiB, .max_size = 256 * kKiB};
    });
    std::string a = RandomString(kMiB, 10);
    ASSERT_OK(env.store().Write(5, 0, AsBytes(a)));
    ASSERT_OK(env.store().Flush());
    DamageEveryObject(env.remote());
    env.Reopen(/*fresh_journal=*/true);
    std::string out(a.size(), '\0');
    Status s = env.store().Read(5, 0, {reinterpret_cast<std::byte*>(out.data()), out.size()});
    EXPECT_THAT(s, StatusIs(Errc::kIo));
    EXPECT_GE(env.store().Stats().corruption_events, 1u);
  }
}

// Whether any 64-byte run of `plaintext` appears in `object`: every such run contains a whole
// 32-byte block of the plaintext at a multiple of 32, so looking for those suffices.
bool HasPlaintextRun(std::string_view plaintext, std::string_view object) {
  std::unordered_set<std::string_view> blocks;
  for (size_t i = 0; i + 32 <= plaintext.size(); i += 32) blocks.insert(plaintext.substr(i, 32));
  for (size_t i = 0; i + 32 <= object.size(); ++i) {
    if (blocks.contains(object.substr(i, 32))) return true;
  }
  return false;
}

TEST(TieredStoreTest, EncryptedObjectsHoldNoRunOfThePlaintext) {
  for (cas::Cipher cipher :
       {cas::Cipher::kNone, cas::Cipher::kAes256Gcm, cas::Cipher::kChaCha20Poly1305}) {
    SCOPED_TRACE(std::string(cas::CipherName(cipher)));
    const std::string master_key = RandomString(32, 99);
    Env env(false, [cipher, master_key](TieredOptions& o) {
      o.codec.cipher = cipher;
      if (cipher != cas::Cipher::kNone)
        o.keyring = cas::Keyring::FromMasterKey(AsBytes(master_key));
    });
    std::string a = RandomString(3 * kMiB, 11);
    ASSERT_OK(env.store().Write(6, 0, AsBytes(a)));
    ASSERT_OK(env.store().Flush());
    bool found = false;
    ASSERT_OK_AND_ASSIGN(std::vector<ObjectInfo> objects, env.remote().List(""));
    for (const ObjectInfo& o : objects) {
      ASSERT_OK_AND_ASSIGN(Buffer bytes, env.remote().Get(o.key));
      found |= HasPlaintextRun(a, AsChars(bytes.view()));
    }
    // Unencrypted, the check finds the data (so it can fail); encrypted, it must not.
    EXPECT_EQ(found, cipher == cas::Cipher::kNone);
    env.Reopen(/*fresh_journal=*/true);
    ASSERT_OK_AND_ASSIGN(std::string got, ReadString(env.store(), 6, 0, a.size()));
    EXPECT_TRUE(got == a);
  }
}

// ---- Garbage collection and reconcile ----

TEST(TieredStoreTest, UnreferencedObjectsAreDeletedAfterTheGracePeriod) {
  Env env(/*rocksdb=*/true);
  std::string a = RandomString(2 * kMiB, 12);
  std::string b = RandomString(2 * kMiB, 13);
  // Two flushes, two objects (an object lives while any of its chunks is referenced).
  ASSERT_OK(env.store().Write(7, 0, AsBytes(a)));
  ASSERT_OK(env.store().Write(8, 0, AsBytes(a)));  // the same chunks, twice referenced
  ASSERT_OK(env.store().Flush());
  ASSERT_OK(env.store().Write(9, 0, AsBytes(b)));
  ASSERT_OK(env.store().Flush());
  uint64_t full = RemoteBytes(env.remote());
  ASSERT_GT(full, 4 * kMiB);

  // One of two references gone: nothing to delete.
  ASSERT_OK(env.store().Remove(7));
  std::this_thread::sleep_for(std::chrono::milliseconds(500));  // the background release
  ASSERT_OK(env.store().CollectGarbage());
  EXPECT_EQ(RemoteBytes(env.remote()), full);
  // Overwriting all of file 9 and truncating file 8 frees both objects' chunks.
  ASSERT_OK(env.store().Write(9, 0, AsBytes(a)));
  ASSERT_OK(env.store().Truncate(8, 0));
  ASSERT_OK(env.store().Flush());
  ASSERT_OK(env.store().CollectGarbage());
  uint64_t left = RemoteBytes(env.remote());
  EXPECT_LT(left, full / 2 + kMiB) << "b's object is gone; a's chunks are live through file 9";
  EXPECT_GT(env.store().Stats().gc_objects_deleted, 0u);
  env.Reopen(/*fresh_journal=*/true);
  ASSERT_OK_AND_ASSIGN(std::string got, ReadString(env.store(), 9, 0, a.size()));
  EXPECT_TRUE(got == a);
}

// ---- Sparse files and clones ----

size_t RemoteObjects(RemoteStore& remote) {
  Result<std::vector<ObjectInfo>> listed = remote.List("");
  return listed.ok() ? listed->size() : 0;
}

// A clone maps the source's chunks into the destination: no byte is read, carved or uploaded,
// the chunks gain references, and later writes to either file leave the other alone. Removing
// the source (and GC, and the reconcile) leaves the destination whole.
TEST(TieredStoreTest, CloneSharesChunksWithoutReadingOrUploadingData) {
  Env env(/*rocksdb=*/true);
  FileModel one, two;
  std::string a = RandomString(3 * kMiB + 5, 40);
  std::string b = RandomString(500 * kKiB, 41);
  ASSERT_OK(env.store().Write(1, 0, AsBytes(a)));
  one.Write(0, a);
  ASSERT_OK(env.store().Write(1, 5 * kMiB, AsBytes(b)));  // a hole between
  one.Write(5 * kMiB, b);
  ASSERT_OK(env.store().Write(2, 0, AsBytes(RandomString(kMiB, 42))));  // replaced in part
  two.Write(0, RandomString(kMiB, 42));
  ASSERT_OK(env.store().Flush());
  const TieredStats before = env.store().Stats();
  const size_t objects_before = RemoteObjects(env.remote());
  ASSERT_TRUE(env.store().ClonesByReference());

  // Unaligned at both ends: the edge extents are clipped within their chunks.
  ASSERT_OK(env.store().Clone(1, 1000, 2, 7, 5 * kMiB + 200'000));
  two.Clone(one, 1000, 7, 5 * kMiB + 200'000);
  // Within one file, to disjoint ranges.
  ASSERT_OK(env.store().Clone(1, 100, 1, 8 * kMiB + 3, kMiB));
  one.Clone(one, 100, 8 * kMiB + 3, kMiB);
  TieredStats after = env.store().Stats();
  EXPECT_EQ(after.uploaded_bytes, before.uploaded_bytes);
  EXPECT_EQ(after.chunks_new, before.chunks_new);
  EXPECT_EQ(after.carved_bytes, before.carved_bytes);
  EXPECT_EQ(after.chunks_fetched, before.chunks_fetched) << "a clone read data";
  EXPECT_EQ(RemoteObjects(env.remote()), objects_before);
  EXPECT_EQ(after.journal.dirty_bytes, 0u);
  ASSERT_OK_AND_ASSIGN(std::vector<BlockStore::Extent> extents,
                       env.store().DataExtents(2, 0, UINT64_MAX, 10));
  EXPECT_EQ(extents, (std::vector<BlockStore::Extent>{{0, 3 * kMiB + 5 - 1000 + 7},
                                                      {5 * kMiB - 1000 + 7, 200'000 + 1000}}));

  // Everything from the remote, through the new chunk maps.
  env.Reopen(/*fresh_journal=*/true);
  ASSERT_OK_AND_ASSIGN(std::string got, ReadString(env.store(), 2, 0, 6 * kMiB));
  EXPECT_TRUE(got == two.Read(0, 6 * kMiB));
  ASSERT_OK_AND_ASSIGN(got, ReadString(env.store(), 1, 0, 10 * kMiB));
  EXPECT_TRUE(got == one.Read(0, 10 * kMiB));

  // Copy on write: each file's writes (and holes) stay its own.
  std::string c = RandomString(300 * kKiB, 43);
  ASSERT_OK(env.store().Write(1, 2000, AsBytes(c)));
  one.Write(2000, c);
  ASSERT_OK(env.store().Write(2, kMiB, AsBytes(c)));
  two.Write(kMiB, c);
  ASSERT_OK(env.store().Deallocate(2, 2 * kMiB, 100'000));
  two.Deallocate(2 * kMiB, 100'000);
  ASSERT_OK(env.store().Flush());
  ASSERT_OK_AND_ASSIGN(got, ReadString(env.store(), 2, 0, 6 * kMiB));
  EXPECT_TRUE(got == two.Read(0, 6 * kMiB));
  ASSERT_OK_AND_ASSIGN(got, ReadString(env.store(), 1, 0, 10 * kMiB));
  EXPECT_TRUE(got == one.Read(0, 10 * kMiB));

  // The source goes, inode and all; its chunks stay referenced by the destination.
  ASSERT_OK(env.store().Remove(1));
  ASSERT_OK(RunTransaction(env.metadata(), [](MetadataTxn& txn) {
    txn.DeleteInode(1);
    return Status::Ok();
  }));
  ASSERT_OK(env.store().Reconcile());
  ASSERT_OK(env.store().CollectGarbage());
  env.Reopen(/*fresh_journal=*/true);
  ASSERT_OK_AND_ASSIGN(got, ReadString(env.store(), 2, 0, 6 * kMiB));
  EXPECT_TRUE(got == two.Read(0, 6 * kMiB));
  EXPECT_EQ(env.store().Stats().corruption_events, 0u);
}

// A source with dirty data is carved first (that is all a clone uploads); the destination's
// own dirty data in the range is dropped, and the clone is durable when it returns.
TEST(TieredStoreTest, CloneCarvesADirtySourceFirstAndReplacesTheDestinationsDirtyData) {
  Env env;
  FileModel one, two;
  std::string a = RandomString(2 * kMiB, 50);
  ASSERT_OK(env.store().Write(3, 0, AsBytes(a)));
  one.Write(0, a);
  ASSERT_OK(env.store().Write(4, 0, AsBytes(RandomString(3 * kMiB, 51))));
  two.Write(0, RandomString(3 * kMiB, 51));
  ASSERT_OK(env.store().Clone(3, 0, 4, kMiB, 2 * kMiB));
  two.Clone(one, 0, kMiB, 2 * kMiB);
  EXPECT_TRUE(env.store().Stats().chunks_new > 0);
  ASSERT_OK_AND_ASSIGN(std::string got, ReadString(env.store(), 4, 0, 4 * kMiB));
  EXPECT_TRUE(got == two.Read(0, 4 * kMiB));
  // Durable on return: a restart (journal kept) reads the same.
  env.Reopen();
  ASSERT_OK_AND_ASSIGN(got, ReadString(env.store(), 4, 0, 4 * kMiB));
  EXPECT_TRUE(got == two.Read(0, 4 * kMiB));
  ASSERT_OK(env.store().Flush());
  env.Reopen(/*fresh_journal=*/true);
  ASSERT_OK_AND_ASSIGN(got, ReadString(env.store(), 4, 0, 4 * kMiB));
  EXPECT_TRUE(got == two.Read(0, 4 * kMiB));
  // A punched range is gone from the chunk map too.
  ASSERT_OK(env.store().Deallocate(4, 500 * kKiB, 2 * kMiB));
  two.Deallocate(500 * kKiB, 2 * kMiB);
  env.Reopen(/*fresh_journal=*/true);
  ASSERT_OK_AND_ASSIGN(got, ReadString(env.store(), 4, 0, 4 * kMiB));
  EXPECT_TRUE(got == two.Read(0, 4 * kMiB));
  ASSERT_OK_AND_ASSIGN(std::vector<BlockStore::Extent> extents,
                       env.store().DataExtents(4, 0, UINT64_MAX, 10));
  EXPECT_EQ(extents,
            (std::vector<BlockStore::Extent>{
                {0, 500 * kKiB}, {500 * kKiB + 2 * kMiB, 3 * kMiB - 2 * kMiB - 500 * kKiB}}));
}

TEST(TieredStoreTest, AGracePeriodKeepsDeadObjectsForAWhile) {
  Env env(false, [](TieredOptions& o) { o.gc_grace = std::chrono::hours(1); });
  std::string a = RandomString(kMiB, 14);
  ASSERT_OK(env.store().Write(10, 0, AsBytes(a)));
  ASSERT_OK(env.store().Flush());
  ASSERT_OK(env.store().Truncate(10, 0));
  ASSERT_OK(env.store().CollectGarbage());
  EXPECT_GT(RemoteBytes(env.remote()), kMiB - 1);
}

TEST(TieredStoreTest, ReconcileDeletesOrphansAndReleasesChunksOfVanishedFiles) {
  Env env(/*rocksdb=*/true);
  // An object no record names, as a crash between upload and commit leaves it.
  ASSERT_OK(env.remote().Put(tiered::RemoteObjectKey(0x1234), AsBytes("left over")));
  // A file whose inode went while the store was down, before its chunks were released.
  std::string a = RandomString(kMiB, 15);
  ASSERT_OK(env.store().Write(11, 0, AsBytes(a)));
  ASSERT_OK(env.store().Flush());
  ASSERT_OK(RunTransaction(env.metadata(), [](MetadataTxn& txn) {
    txn.DeleteInode(11);
    return Status::Ok();
  }));
  ASSERT_OK(env.store().Reconcile());
  TieredStats st = env.store().Stats();
  EXPECT_EQ(st.orphans_deleted, 1u);
  EXPECT_EQ(st.orphan_extents_released, 1u);
  ASSERT_OK(env.store().CollectGarbage());
  EXPECT_EQ(RemoteBytes(env.remote()), 0u);
}

// The progress a job shows (docs/jobs.md): a reconcile counts the files with data, then the
// remote's objects; a GC the due objects, counted first, then each as it goes. Either stops
// between two steps when canceled, and what it did then is whole.
TEST(TieredStoreTest, GcAndReconcileCountTheirStepsAndStopBetweenTwoWhenCanceled) {
  Env env(/*rocksdb=*/true);
  // Writes files 21-23, each flushed on its own (objects of its own), and returns how many
  // objects the remote holds then.
  auto write_three = [&](uint64_t seed) -> size_t {
    for (InodeId f = 21; f <= 23; ++f) {
      EXPECT_OK(env.store().Write(f, 0, AsBytes(RandomString(kMiB, seed + f))));
      EXPECT_OK(env.store().Flush());
    }
    return RemoteObjects(env.remote());
  };
  // Truncating the three files leaves every object dead (the grace is 0): due at once.
  auto drop_three = [&] {
    for (InodeId f = 21; f <= 23; ++f) EXPECT_OK(env.store().Truncate(f, 0));
    EXPECT_OK(env.store().Flush());
  };
  const size_t objects = write_three(100);
  ASSERT_GE(objects, 3u);
  PassProgress reconcile;
  ASSERT_OK(env.store().Reconcile(&reconcile));
  EXPECT_EQ(reconcile.total.load(), 3 + objects);
  EXPECT_EQ(reconcile.done.load(), reconcile.total.load());

  drop_three();
  PassProgress gc;
  ASSERT_OK(env.store().CollectGarbage(&gc));
  EXPECT_EQ(gc.total.load(), objects);
  EXPECT_EQ(gc.done.load(), objects);
  EXPECT_EQ(RemoteObjects(env.remote()), 0u);
  // Nothing left: a pass with nothing to do counts nothing.
  PassProgress idle;
  ASSERT_OK(env.store().CollectGarbage(&idle));
  EXPECT_EQ(idle.total.load(), 0u);

  // Canceled after its first object: that one is gone, the others wait for the next pass.
  const size_t again = write_three(200);
  ASSERT_GE(again, 3u);
  drop_three();
  PassProgress stopped;
  stopped.canceled = [&stopped] { return stopped.done.load() >= 1; };
  EXPECT_THAT(env.store().CollectGarbage(&stopped), StatusIs(Errc::kUnavailable));
  EXPECT_EQ(stopped.total.load(), again);
  EXPECT_EQ(stopped.done.load(), 1u);
  EXPECT_EQ(RemoteObjects(env.remote()), again - 1);
  // A reconcile canceled at once stops before its first step; one let run finds no orphan.
  PassProgress at_once;
  at_once.canceled = [] { return true; };
  EXPECT_THAT(env.store().Reconcile(&at_once), StatusIs(Errc::kUnavailable));
  EXPECT_EQ(at_once.done.load(), 0u);
  ASSERT_OK(env.store().Reconcile());
  EXPECT_EQ(env.store().Stats().orphans_deleted, 0u);
  ASSERT_OK(env.store().CollectGarbage());
  EXPECT_EQ(RemoteObjects(env.remote()), 0u);
}

TEST(TieredStoreTest, DataOfAFileWithoutInodeIsDroppedNotUploaded) {
  Env env;
  std::string a = RandomString(kMiB, 16);
  ASSERT_OK(env.store().Write(1000, 0, AsBytes(a)));  // no inode 1000
  ASSERT_OK(env.store().Flush());
  EXPECT_EQ(env.store().Stats().journal.dirty_bytes, 0u);
  ASSERT_OK(env.store().CollectGarbage());
  EXPECT_EQ(RemoteBytes(env.remote()), 0u);
}

// ---- An unreachable remote ----

// A remote that fails every call while `down` is set.
class FlakyRemote final : public SharedRemote {
 public:
  explicit FlakyRemote(std::shared_ptr<RemoteStore> remote) : SharedRemote(std::move(remote)) {}
  std::atomic<bool> down{false};
  Status Put(std::string_view key, ByteView data) override {
    if (down) return Status(Errc::kIo, "remote down");
    return SharedRemote::Put(key, data);
  }
  Result<Buffer> Get(std::string_view key, uint64_t offset,
                     std::optional<uint64_t> length) override {
    if (down) return Status(Errc::kIo, "remote down");
    return SharedRemote::Get(key, offset, length);
  }
  Status Delete(std::string_view key) override {
    if (down) return Status(Errc::kIo, "remote down");
    return SharedRemote::Delete(key);
  }
  Result<std::vector<ObjectInfo>> List(std::string_view prefix) override {
    if (down) return Status(Errc::kIo, "remote down");
    return SharedRemote::List(prefix);
  }
};

// Options that put `flaky` under the store, with quick retries.
std::function<void(TieredOptions&)> Through(std::shared_ptr<FlakyRemote> flaky) {
  return [flaky](TieredOptions& o) {
    o.remote = std::make_unique<SharedRemote>(flaky);
    o.retry_initial = std::chrono::milliseconds(20);
    o.retry_max = std::chrono::milliseconds(100);
  };
}

TEST(TieredStoreTest, WritesGoOnWhileTheRemoteIsDownAndUploadWhenItIsBack) {
  auto flaky = std::make_shared<FlakyRemote>(std::shared_ptr<RemoteStore>(NewMemoryRemoteStore()));
  Env env(false, Through(flaky));
  flaky->down = true;
  std::string a = RandomString(4 * kMiB, 17);
  ASSERT_OK(env.store().Write(12, 0, AsBytes(a)));
  ASSERT_OK(env.store().Sync(12));
  std::thread flusher([&] { EXPECT_OK(env.store().Flush()); });
  // The carver runs on CPU time other work leaves over (SCHED_IDLE), which a busy machine (CI
  // running tests side by side) may not leave for a while: wait for its first failed upload.
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (env.store().Stats().upload_failures == 0 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_GT(env.store().Stats().upload_failures, 0u);
  ASSERT_OK(env.store().Write(12, 4 * kMiB, AsBytes(a)));  // still acknowledged
  flaky->down = false;
  flusher.join();
  ASSERT_OK(env.store().Flush());
  env.Reopen(/*fresh_journal=*/true);
  ASSERT_OK_AND_ASSIGN(std::string got, ReadString(env.store(), 12, 0, 8 * kMiB));
  EXPECT_TRUE(got == a + a);
}

// A flush stops waiting once canceled (a sync job's cancel), while the remote is down; the data
// still goes out once the remote is back, as every dirty byte does.
TEST(TieredStoreTest, ACanceledFlushStopsWaitingAndTheDataStillGoesOut) {
  auto flaky = std::make_shared<FlakyRemote>(std::shared_ptr<RemoteStore>(NewMemoryRemoteStore()));
  Env env(false, Through(flaky));
  flaky->down = true;
  std::string a = RandomString(2 * kMiB, 18);
  ASSERT_OK(env.store().Write(13, 0, AsBytes(a)));
  ASSERT_OK(env.store().Sync(13));
  std::atomic<bool> cancel{false};
  PassProgress progress;
  progress.canceled = [&] { return cancel.load(); };
  Status flushed;
  std::atomic<bool> returned{false};
  std::thread flusher([&] {
    flushed = env.store().Flush(&progress);
    returned = true;
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  EXPECT_FALSE(returned.load()) << "the remote is down: the flush waits";
  cancel = true;
  flusher.join();
  EXPECT_THAT(flushed, StatusIs(Errc::kUnavailable));
  EXPECT_GT(env.store().Stats().journal.dirty_bytes, 0u);
  flaky->down = false;
  ASSERT_OK(env.store().Flush());
  EXPECT_EQ(env.store().Stats().journal.dirty_bytes, 0u);
  env.Reopen(/*fresh_journal=*/true);
  ASSERT_OK_AND_ASSIGN(std::string got, ReadString(env.store(), 13, 0, 2 * kMiB));
  EXPECT_TRUE(got == a);
}

// A remote whose uploads wait while `held`.
class HeldRemote final : public SharedRemote {
 public:
  explicit HeldRemote(std::shared_ptr<RemoteStore> remote) : SharedRemote(std::move(remote)) {}
  void Hold(bool held) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      held_ = held;
    }
    cv_.notify_all();
  }
  int waiting() {
    std::lock_guard<std::mutex> lock(mu_);
    return waiting_;
  }
  Status Put(std::string_view key, ByteView data) override {
    {
      std::unique_lock<std::mutex> lock(mu_);
      ++waiting_;
      cv_.wait(lock, [&] { return !held_; });
      --waiting_;
    }
    return SharedRemote::Put(key, data);
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool held_ = false;
  int waiting_ = 0;
};

// A flush forces out what was written before it, not a file being written meanwhile: that
// file is cut at content boundaries only, so that another copy of it deduplicates in full.
TEST(TieredStoreTest, AFlushDoesNotCutAFileWrittenMeanwhileAtItsWriteFrontier) {
  auto held = std::make_shared<HeldRemote>(std::shared_ptr<RemoteStore>(NewMemoryRemoteStore()));
  Env env(false, [held](TieredOptions& o) { o.remote = std::make_unique<SharedRemote>(held); });
  ASSERT_OK(env.store().Write(1, 0, AsBytes(RandomString(kMiB, 20))));
  held->Hold(true);
  std::thread flusher([&] { EXPECT_OK(env.store().Flush()); });
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (held->waiting() == 0 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  ASSERT_GT(held->waiting(), 0) << "the flush's upload never started";
  // Written while the flush waits, in pieces, each given the scheduler time to take it.
  const size_t size = 16 * kMiB;
  std::string data = RandomString(size, 21);
  for (size_t at = 0; at < size; at += 256 * kKiB) {
    ASSERT_OK(env.store().Write(2, at, AsBytes(std::string_view(data).substr(at, 256 * kKiB))));
    std::this_thread::sleep_for(std::chrono::milliseconds(60));
  }
  held->Hold(false);
  flusher.join();
  ASSERT_OK(env.store().Flush());
  TieredStats before = env.store().Stats();
  ASSERT_OK(env.store().Write(3, 0, AsBytes(data)));
  ASSERT_OK(env.store().Flush());
  TieredStats after = env.store().Stats();
  EXPECT_EQ(after.chunks_new, before.chunks_new) << "the copy stored new chunks";
  EXPECT_EQ(after.deduplicated_bytes - before.deduplicated_bytes, size);
}

// ---- Namespaces: two stores over one metadata store ----

// Keys of `table` in `metadata`, in order.
std::vector<std::string> KeysOf(MetadataStore& metadata, RecordTable table) {
  std::vector<std::string> keys;
  std::unique_ptr<MetadataTxn> txn = metadata.Begin();
  Result<std::vector<Record>> records = txn->ScanRecords(table, "", "", 1000000);
  EXPECT_OK(records.status());
  if (records.ok()) {
    for (const Record& r : *records) keys.push_back(r.key);
  }
  return keys;
}

// Keys of `remote`'s objects, in order.
std::vector<std::string> ObjectsOf(RemoteStore& remote) {
  std::vector<std::string> keys;
  Result<std::vector<ObjectInfo>> listed = remote.List("");
  EXPECT_OK(listed.status());
  if (listed.ok()) {
    for (const ObjectInfo& o : *listed) keys.push_back(o.key);
  }
  std::sort(keys.begin(), keys.end());
  return keys;
}

// A share's data moving between two tiered stores lives in one metadata store (and here even
// one remote place) under two namespaces: the same file ids hold different data in each, and
// neither store's reads, garbage collection, reconcile or DeleteAll touches the other's records
// or objects. The empty namespace keeps the layout from before namespaces, byte for byte.
TEST(TieredStoreTest, StoresWithDifferentNamespacesOverOneMetadataStoreAreIndependent) {
  Env env(/*rocksdb=*/true);  // the empty namespace, as every store before namespaces
  int journals = 0;
  auto open_other = [&]() {
    TieredOptions o = env.Options();
    o.journal.dir += "-b2-" + std::to_string(journals++);  // a fresh one: reads go remote
    o.index_namespace = "b2/";
    return OpenTieredBlockStore(std::move(o), env.metadata());
  };
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<TieredBlockStore> other, open_other());
  const std::string a5 = RandomString(2 * kMiB, 31), a6 = RandomString(kMiB, 32);
  const std::string b5 = RandomString(kMiB, 33), b6 = RandomString(2 * kMiB, 34);
  ASSERT_OK(env.store().Write(5, 0, AsBytes(a5)));
  ASSERT_OK(env.store().Write(6, 0, AsBytes(a6)));
  ASSERT_OK(other->Write(5, 0, AsBytes(b5)));
  ASSERT_OK(other->Write(6, 0, AsBytes(b6)));
  ASSERT_OK(env.store().Flush());
  ASSERT_OK(other->Flush());

  // The layouts: the unprefixed keys and "objects/" for "", the same behind "b2/" for the
  // other. Both namespaces have records in every table.
  const std::pair<RecordTable, size_t> tables[] = {
      {RecordTable::kChunkMap, 16}, {RecordTable::kChunks, 32}, {RecordTable::kObjects, 8}};
  for (const auto& [table, size] : tables) {
    size_t legacy = 0, prefixed = 0;
    for (const std::string& key : KeysOf(env.metadata(), table)) {
      if (key.starts_with("b2/")) {
        ++prefixed;
        EXPECT_EQ(key.size(), 3 + size);
      } else {
        ++legacy;
        EXPECT_EQ(key.size(), size);
      }
    }
    EXPECT_GT(legacy, 0u);
    EXPECT_GT(prefixed, 0u);
  }
  std::vector<std::string> chunk_map = KeysOf(env.metadata(), RecordTable::kChunkMap);
  EXPECT_EQ(chunk_map.front().substr(0, 8), tiered::FileKeyPrefix(5)) << "file 5 of \"\" first";
  EXPECT_EQ(chunk_map.back().substr(0, 11), "b2/" + tiered::FileKeyPrefix(6));
  size_t legacy_objects = 0, prefixed_objects = 0;
  for (const std::string& key : ObjectsOf(env.remote())) {
    if (tiered::ParseRemoteObjectKey(key)) ++legacy_objects;
    if (key.starts_with("b2/objects/") && tiered::ParseRemoteObjectKey(key.substr(3))) {
      ++prefixed_objects;
    }
  }
  EXPECT_GT(legacy_objects, 0u);
  EXPECT_GT(prefixed_objects, 0u);
  EXPECT_EQ(legacy_objects + prefixed_objects, ObjectsOf(env.remote()).size());

  // Each reads its own data, from the remote.
  env.Reopen(/*fresh_journal=*/true);
  other.reset();
  ASSERT_OK_AND_ASSIGN(other, open_other());
  auto reads = [&](TieredBlockStore& store, uint64_t file, const std::string& want) {
    Result<std::string> got = ReadString(store, file, 0, want.size());
    return got.ok() && *got == want;
  };
  EXPECT_TRUE(reads(env.store(), 5, a5));
  EXPECT_TRUE(reads(env.store(), 6, a6));
  EXPECT_TRUE(reads(*other, 5, b5));
  EXPECT_TRUE(reads(*other, 6, b6));

  // Garbage collection and the reconcile of either leave the other's alone: nothing is an
  // orphan, and deleting a file's data in one frees only that namespace's objects.
  const std::vector<std::string> objects = ObjectsOf(env.remote());
  for (TieredBlockStore* store : {&env.store(), other.get()}) {
    ASSERT_OK(store->Reconcile());
    ASSERT_OK(store->CollectGarbage());
    EXPECT_EQ(store->Stats().orphans_deleted, 0u);
    EXPECT_EQ(store->Stats().orphan_extents_released, 0u);
  }
  EXPECT_EQ(ObjectsOf(env.remote()), objects);
  ASSERT_OK(other->Write(7, 0, AsBytes(RandomString(kMiB, 35))));  // an object of its own
  ASSERT_OK(other->Flush());
  ASSERT_OK(other->Truncate(7, 0));
  ASSERT_OK(other->Flush());
  ASSERT_OK(other->CollectGarbage());
  ASSERT_OK(other->Reconcile());
  EXPECT_GT(other->Stats().gc_objects_deleted, 0u);
  env.Reopen(/*fresh_journal=*/true);
  EXPECT_TRUE(reads(env.store(), 5, a5));
  EXPECT_TRUE(reads(env.store(), 6, a6));
  EXPECT_TRUE(reads(*other, 5, b5));
  EXPECT_TRUE(reads(*other, 6, b6));

  // DeleteAll takes every record and object of its namespace, and nothing else.
  std::vector<std::string> legacy_keys = KeysOf(env.metadata(), RecordTable::kChunks);
  std::erase_if(legacy_keys, [](const std::string& key) { return key.starts_with("b2/"); });
  ASSERT_OK(other->DeleteAll());
  for (RecordTable table : {RecordTable::kChunkMap, RecordTable::kChunks, RecordTable::kObjects,
                            RecordTable::kGcQueue}) {
    for (const std::string& key : KeysOf(env.metadata(), table)) {
      EXPECT_FALSE(key.starts_with("b2/")) << "table " << static_cast<int>(table);
    }
  }
  for (const std::string& key : ObjectsOf(env.remote())) {
    EXPECT_FALSE(key.starts_with("b2/")) << key;
  }
  EXPECT_EQ(KeysOf(env.metadata(), RecordTable::kChunks), legacy_keys);
  other.reset();
  env.Reopen(/*fresh_journal=*/true);
  ASSERT_OK(env.store().Reconcile());
  EXPECT_EQ(env.store().Stats().orphans_deleted, 0u);
  EXPECT_TRUE(reads(env.store(), 5, a5));
  EXPECT_TRUE(reads(env.store(), 6, a6));
}

}  // namespace
}  // namespace dittofs::stores

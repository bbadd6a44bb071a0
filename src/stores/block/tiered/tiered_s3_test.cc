// SPDX-License-Identifier: Apache-2.0
// The tiered store on a real S3-compatible server (s3rver on loopback), which is stopped while
// data is being written and uploaded.
#include <gtest/gtest.h>

#include <array>
#include <chrono>
#include <cstring>
#include <memory>
#include <random>
#include <string>
#include <thread>

#include "stores/block/conformance.h"
#include "stores/block/tiered/tiered_block_store.h"
#include "stores/block/tiered/tiered_test_util.h"
#include "stores/metadata/rocksdb/rocksdb_metadata_store.h"
#include "stores/remote/s3/s3_remote_store.h"
#include "stores/remote/s3/s3_test_server.h"
#include "testing/random_bytes.h"
#include "testing/scratch_dir.h"
#include "testing/status_matchers.h"

namespace dittofs::stores {

// Only the suite's helpers (ReadString) are used here; the suite runs in the main tiered test.
GTEST_ALLOW_UNINSTANTIATED_PARAMETERIZED_TEST(BlockStoreConformance);

namespace {

using block_testing::ReadString;
using ::dittofs::testing::RandomString;
using tiered_testing::CreateInodes;

constexpr uint64_t kMiB = 1 << 20;

TEST(TieredS3Test, WritesAreAcknowledgedWhileS3IsDownAndUploadedOnceItIsBack) {
  Result<std::unique_ptr<S3TestServer>> server = S3TestServer::Start("tiered");
  // Not installed is a failure, not a skip: the suite must not pass without S3 coverage.
  ASSERT_OK(server.status());
  testing::ScratchDir dir("tiered-s3");
  RocksDbMetadataStoreOptions mo;
  mo.path = dir.path() + "/metadata";
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<MetadataStore> metadata, OpenRocksDbMetadataStore(mo));
  ASSERT_OK(CreateInodes(*metadata, 1, 8));

  auto open = [&](const std::string& journal) -> std::unique_ptr<TieredBlockStore> {
    S3RemoteOptions so{.endpoint = (*server)->endpoint(),
                       .bucket = "tiered",
                       .prefix = "share/",
                       .access_key_id = S3TestServer::kAccessKey,
                       .secret_access_key = S3TestServer::kSecretKey};
    so.max_attempts = 2;
    so.request_timeout = std::chrono::seconds(5);
    Result<std::unique_ptr<RemoteStore>> remote = OpenS3RemoteStore(so);
    EXPECT_OK(remote.status());
    if (!remote.ok()) return nullptr;
    TieredOptions o;
    o.journal.dir = dir.path() + "/" + journal;
    o.remote = std::move(*remote);
    o.codec.compression = cas::Compression::kLz4;
    o.carve_after = std::chrono::milliseconds(100);
    o.retry_initial = std::chrono::milliseconds(50);
    o.retry_max = std::chrono::milliseconds(500);
    o.chunking = {.min_size = 64 << 10, .avg_size = 256 << 10, .max_size = 1 << 20};
    o.object_bytes = 2 * kMiB;
    Result<std::unique_ptr<TieredBlockStore>> store = OpenTieredBlockStore(std::move(o), *metadata);
    EXPECT_OK(store.status());
    return store.ok() ? std::move(*store) : nullptr;
  };
  std::unique_ptr<TieredBlockStore> store = open("journal");
  ASSERT_NE(store, nullptr);

  std::string a = RandomString(4 * kMiB, 1);
  std::string b = RandomString(6 * kMiB, 2);
  ASSERT_OK(store->Write(1, 0, AsBytes(a)));
  ASSERT_OK(store->Flush());
  const uint64_t uploaded = store->Stats().objects_uploaded;
  EXPECT_GT(uploaded, 0u);

  (*server)->Kill();
  // Writes, syncs and reads all go on from the journal while the remote is away.
  ASSERT_OK(store->Write(2, 0, AsBytes(b)));
  ASSERT_OK(store->Sync(2));
  ASSERT_OK_AND_ASSIGN(std::string got, ReadString(*store, 2, 0, b.size()));
  EXPECT_TRUE(got == b);
  for (int i = 0; i < 100 && store->Stats().upload_failures == 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_GT(store->Stats().upload_failures, 0u);
  EXPECT_GT(store->Stats().journal.dirty_bytes, 0u);
  {
    // Each failed upload was an S3 request sent twice (max_attempts 2), and a failed put.
    // (Uploads go on failing meanwhile: the counts read later may be higher.)
    TieredStats st = store->Stats();
    EXPECT_GE(st.remote_retries, st.upload_failures);
    EXPECT_GE(st.remote_errors[kRemotePut], st.upload_failures);
    EXPECT_GT(st.remote_requests[kRemotePut], st.remote_errors[kRemotePut]);
    EXPECT_EQ(st.remote_errors[kRemoteGet], 0u);
  }

  ASSERT_OK((*server)->Restart());
  ASSERT_OK(store->Flush());
  EXPECT_EQ(store->Stats().journal.dirty_bytes, 0u);
  EXPECT_GT(store->Stats().objects_uploaded, uploaded);

  // Nothing lost: an empty journal reads both files back from S3.
  store.reset();
  store = open("journal-empty");
  ASSERT_NE(store, nullptr);
  ASSERT_OK_AND_ASSIGN(got, ReadString(*store, 1, 0, a.size()));
  EXPECT_TRUE(got == a);
  ASSERT_OK_AND_ASSIGN(got, ReadString(*store, 2, 0, b.size()));
  EXPECT_TRUE(got == b);
  EXPECT_GT(store->Stats().chunks_fetched, 0u);
  ASSERT_OK(store->Reconcile());
  EXPECT_EQ(store->Stats().orphans_deleted, 0u);
  {
    TieredStats st = store->Stats();
    EXPECT_EQ(st.remote_requests[kRemoteGet], st.chunks_fetched);
    EXPECT_GE(st.remote_requests[kRemoteList], 1u);  // and the periodic reconcile's, if due
    EXPECT_EQ(st.remote_errors, (std::array<uint64_t, kRemoteOps.size()>{}));
    EXPECT_EQ(st.remote_retries, 0u);
  }
}

}  // namespace
}  // namespace dittofs::stores

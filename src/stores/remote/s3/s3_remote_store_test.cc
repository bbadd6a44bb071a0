// SPDX-License-Identifier: Apache-2.0
#include "stores/remote/s3/s3_remote_store.h"

#include <fmt/format.h>
#include <stdlib.h>

#include <atomic>
#include <chrono>
#include <string>
#include <utility>

#include "stores/remote/conformance.h"
#include "stores/remote/s3/s3_test_server.h"
#include "testing/status_matchers.h"

namespace dittofs::stores {
namespace {

using ::dittofs::testing::StatusIs;
using ::testing::HasSubstr;

constexpr const char* kBucket = "dittofs-test";

// One server for the whole binary; every store gets a key prefix of its own in its bucket.
class S3ServerEnvironment final : public ::testing::Environment {
 public:
  void SetUp() override {
    Result<std::unique_ptr<S3TestServer>> server = S3TestServer::Start(kBucket);
    // Not installed is a failure, not a skip: the suite must not pass without S3 coverage.
    ASSERT_TRUE(server.ok()) << server.status().ToString();
    server_ = std::move(server).value();
  }
  void TearDown() override { server_.reset(); }

  S3TestServer* server() { return server_.get(); }

 private:
  std::unique_ptr<S3TestServer> server_;
};

// GoogleTest owns environments; this is the one way to hand it one from a test file.
S3ServerEnvironment* const environment =
    static_cast<S3ServerEnvironment*>(::testing::AddGlobalTestEnvironment(new S3ServerEnvironment));

S3RemoteOptions Options(std::string prefix) {
  return {.endpoint = environment->server()->endpoint(),
          .bucket = kBucket,
          .prefix = std::move(prefix),
          .access_key_id = S3TestServer::kAccessKey,
          .secret_access_key = S3TestServer::kSecretKey};
}

std::string FreshPrefix() {
  static std::atomic<int> next{0};
  return fmt::format("store{}/", next++);
}

std::unique_ptr<RemoteStore> OpenTestStore() {
  if (environment->server() == nullptr) {
    ADD_FAILURE() << "no S3 test server";
    return nullptr;
  }
  Result<std::unique_ptr<RemoteStore>> store = OpenS3RemoteStore(Options(FreshPrefix()));
  if (!store.ok()) {
    ADD_FAILURE() << store.status().ToString();
    return nullptr;
  }
  return std::move(store).value();
}

INSTANTIATE_TEST_SUITE_P(S3, RemoteStoreConformance,
                         ::testing::Values(RemoteStoreFactory{"S3", OpenTestStore}),
                         RemoteStoreFactoryName);

class S3RemoteStoreTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_NE(environment->server(), nullptr) << "no S3 test server"; }
  S3TestServer& server() { return *environment->server(); }
};

std::vector<std::string> Keys(const std::vector<ObjectInfo>& objects) {
  std::vector<std::string> keys;
  for (const ObjectInfo& o : objects) keys.push_back(o.key);
  return keys;
}

TEST_F(S3RemoteStoreTest, ListFollowsContinuationTokens) {
  S3RemoteOptions options = Options(FreshPrefix());
  options.list_page_size = 7;
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<RemoteStore> store, OpenS3RemoteStore(options));
  std::vector<std::string> want;
  for (int i = 0; i < 30; ++i) {
    want.push_back(fmt::format("p/{:02d}&<>\"'", i));
    ASSERT_OK(store->Put(want.back(), AsBytes(std::string(i, 'x'))));
  }
  ASSERT_OK(store->Put("q", AsBytes("not in p/")));
  ASSERT_OK_AND_ASSIGN(std::vector<ObjectInfo> list, store->List("p/"));
  EXPECT_EQ(Keys(list), want);
  for (size_t i = 0; i < list.size(); ++i) EXPECT_EQ(list[i].size, i);
}

TEST_F(S3RemoteStoreTest, PrefixesSeparateStores) {
  std::string prefix = FreshPrefix();
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<RemoteStore> a, OpenS3RemoteStore(Options(prefix + "a/")));
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<RemoteStore> b, OpenS3RemoteStore(Options(prefix + "b/")));
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<RemoteStore> whole, OpenS3RemoteStore(Options(prefix)));
  ASSERT_OK(a->Put("k", AsBytes("in a")));
  ASSERT_OK(b->Put("k", AsBytes("in b")));
  ASSERT_OK_AND_ASSIGN(Buffer got, a->Get("k"));
  EXPECT_EQ(AsChars(got.view()), "in a");
  ASSERT_OK_AND_ASSIGN(std::vector<ObjectInfo> in_b, b->List(""));
  EXPECT_EQ(in_b, (std::vector<ObjectInfo>{{"k", 4}}));
  ASSERT_OK_AND_ASSIGN(std::vector<ObjectInfo> all, whole->List(""));
  EXPECT_EQ(Keys(all), (std::vector<std::string>{"a/k", "b/k"}));
}

TEST_F(S3RemoteStoreTest, VirtualHostStyle) {
  S3RemoteOptions options = Options(FreshPrefix());
  // *.localhost resolves to the loopback address (curl knows, RFC 6761 §6.3).
  options.endpoint = fmt::format("http://s3.localhost:{}",
                                 options.endpoint.substr(options.endpoint.rfind(':') + 1));
  options.path_style = false;
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<RemoteStore> store, OpenS3RemoteStore(options));
  ASSERT_OK(store->Put("v/k", AsBytes("vhost")));
  ASSERT_OK_AND_ASSIGN(Buffer got, store->Get("v/k", 1, 3));
  EXPECT_EQ(AsChars(got.view()), "hos");
  ASSERT_OK_AND_ASSIGN(std::vector<ObjectInfo> list, store->List("v/"));
  EXPECT_EQ(list, (std::vector<ObjectInfo>{{"v/k", 5}}));
}

TEST_F(S3RemoteStoreTest, ServerErrorsMapToErrc) {
  S3RemoteOptions no_bucket = Options(FreshPrefix());
  no_bucket.bucket = "no-such-bucket";
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<RemoteStore> store, OpenS3RemoteStore(no_bucket));
  Status put = store->Put("k", AsBytes("x"));
  EXPECT_THAT(put, StatusIs(Errc::kNotFound));
  EXPECT_THAT(put.message(), HasSubstr("NoSuchBucket"));
  EXPECT_THAT(store->List(""), StatusIs(Errc::kNotFound));

  S3RemoteOptions stranger = Options(FreshPrefix());
  stranger.access_key_id = "NOT-A-KEY";
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<RemoteStore> denied, OpenS3RemoteStore(stranger));
  Status denied_put = denied->Put("k", AsBytes("x"));
  EXPECT_THAT(denied_put, StatusIs(Errc::kAccess));
  EXPECT_THAT(denied_put.message(), HasSubstr("InvalidAccessKeyId"));
}

TEST_F(S3RemoteStoreTest, RejectsUnusableOptions) {
  auto with = [](auto change) {
    S3RemoteOptions options = Options("x/");
    change(options);
    return OpenS3RemoteStore(options);
  };
  EXPECT_THAT(with([](S3RemoteOptions& o) { o.endpoint = "127.0.0.1:9000"; }),
              StatusIs(Errc::kInvalid));
  EXPECT_THAT(with([](S3RemoteOptions& o) { o.bucket = ""; }), StatusIs(Errc::kInvalid));
  EXPECT_THAT(with([](S3RemoteOptions& o) { o.prefix = "/abs/"; }), StatusIs(Errc::kInvalid));
  EXPECT_THAT(with([](S3RemoteOptions& o) { o.max_attempts = 0; }), StatusIs(Errc::kInvalid));
  EXPECT_THAT(with([](S3RemoteOptions& o) { o.list_page_size = 1001; }), StatusIs(Errc::kInvalid));
}

TEST_F(S3RemoteStoreTest, CredentialsFromTheEnvironment) {
  S3RemoteOptions options = Options(FreshPrefix());
  options.access_key_id.clear();
  options.secret_access_key.clear();
  ::unsetenv("AWS_ACCESS_KEY_ID");
  ::unsetenv("AWS_SECRET_ACCESS_KEY");
  EXPECT_THAT(OpenS3RemoteStore(options), StatusIs(Errc::kInvalid));
  ::setenv("AWS_ACCESS_KEY_ID", S3TestServer::kAccessKey, 1);
  ::setenv("AWS_SECRET_ACCESS_KEY", S3TestServer::kSecretKey, 1);
  ::setenv("AWS_SESSION_TOKEN", "a-session-token", 1);  // sent as x-amz-security-token
  Result<std::unique_ptr<RemoteStore>> store = OpenS3RemoteStore(options);
  ::unsetenv("AWS_ACCESS_KEY_ID");
  ::unsetenv("AWS_SECRET_ACCESS_KEY");
  ::unsetenv("AWS_SESSION_TOKEN");
  ASSERT_OK(store);
  ASSERT_OK((*store)->Put("k", AsBytes("env")));
  ASSERT_OK_AND_ASSIGN(Buffer got, (*store)->Get("k"));
  EXPECT_EQ(AsChars(got.view()), "env");
}

// A dead server: requests retry with backoff, then fail; after a restart (same data, same port)
// everything works again, with the earlier objects intact.
TEST_F(S3RemoteStoreTest, RetriesWhileTheServerIsDownAndRecovers) {
  S3RemoteOptions options = Options(FreshPrefix());
  options.max_attempts = 4;
  options.initial_backoff = std::chrono::milliseconds(40);
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<RemoteStore> store, OpenS3RemoteStore(options));
  ASSERT_OK(store->Put("before", AsBytes("written before the crash")));

  server().Kill();
  auto start = std::chrono::steady_clock::now();
  Status put = store->Put("during", AsBytes("x"));
  auto elapsed = std::chrono::steady_clock::now() - start;
  EXPECT_THAT(put, StatusIs(Errc::kUnavailable));
  EXPECT_THAT(put.message(), HasSubstr("4 attempts"));
  // Three waits of at least 20, 40 and 80 ms (each at least half of 40, 80, 160 ms).
  EXPECT_GE(elapsed, std::chrono::milliseconds(140));
  EXPECT_LT(elapsed, std::chrono::seconds(5));
  EXPECT_EQ(store->Retries(), 3u);  // the metrics' dittofs_remote_retries_total
  EXPECT_THAT(store->Get("before"), StatusIs(Errc::kUnavailable));
  EXPECT_EQ(store->Retries(), 6u);

  ASSERT_OK(server().Restart());
  ASSERT_OK(store->Put("after", AsBytes("written after the restart")));
  EXPECT_EQ(store->Retries(), 6u);  // an answered request is not retried
  ASSERT_OK_AND_ASSIGN(Buffer before, store->Get("before"));
  EXPECT_EQ(AsChars(before.view()), "written before the crash");
  ASSERT_OK_AND_ASSIGN(std::vector<ObjectInfo> list, store->List(""));
  EXPECT_EQ(Keys(list), (std::vector<std::string>{"after", "before"}));
}

// A hung server (accepting connections, never answering): each attempt times out.
TEST_F(S3RemoteStoreTest, TimesOutOnAHungServerAndRecovers) {
  S3RemoteOptions options = Options(FreshPrefix());
  options.max_attempts = 2;
  options.initial_backoff = std::chrono::milliseconds(10);
  options.request_timeout = std::chrono::seconds(1);
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<RemoteStore> store, OpenS3RemoteStore(options));
  ASSERT_OK(store->Put("k", AsBytes("v")));

  server().Pause();
  auto start = std::chrono::steady_clock::now();
  Status put = store->Put("hung", AsBytes("x"));
  auto elapsed = std::chrono::steady_clock::now() - start;
  server().Resume();
  EXPECT_THAT(put, StatusIs(Errc::kUnavailable));
  EXPECT_GE(elapsed, std::chrono::milliseconds(1900));
  EXPECT_LT(elapsed, std::chrono::seconds(10));

  ASSERT_OK(store->Put("after", AsBytes("after")));
  ASSERT_OK_AND_ASSIGN(Buffer got, store->Get("k"));
  EXPECT_EQ(AsChars(got.view()), "v");
}

}  // namespace
}  // namespace dittofs::stores

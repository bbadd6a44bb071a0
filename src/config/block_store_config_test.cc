// SPDX-License-Identifier: Apache-2.0
#include "config/block_store_config.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>

#include "testing/status_matchers.h"

namespace dittofs::config {
namespace {

using json = nlohmann::json;
using ::testing::HasSubstr;

// The message of a config the parser must refuse; "" when it accepts it.
std::string Refusal(const json& config) {
  Result<TieredBlockConfig> parsed = ParseTieredBlockConfig(config.dump());
  if (parsed.ok()) return "";
  EXPECT_EQ(parsed.status().code(), Errc::kInvalid);
  return parsed.status().message();
}

json S3(json extra = json::object()) {
  json remote = {{"type", "s3"}, {"endpoint", "http://127.0.0.1:9000"}, {"bucket", "b"}};
  remote.update(extra);
  return {{"remote", remote}};
}

TEST(TieredBlockConfigTest, EmptyObjectIsTheDefaults) {
  ASSERT_OK_AND_ASSIGN(TieredBlockConfig c, ParseTieredBlockConfig("{}"));
  EXPECT_EQ(c, TieredBlockConfig{});
  EXPECT_EQ(c.cache_size, uint64_t{4} << 30);
  EXPECT_EQ(c.segment_size, 64u << 20);
  EXPECT_EQ(c.remote.type, "fs");
  EXPECT_EQ(c.remote.region, "us-east-1");
  EXPECT_TRUE(c.remote.path_style);
  EXPECT_EQ(c.compression, "zstd");
  EXPECT_EQ(c.zstd_level, 3);
  EXPECT_EQ(c.encryption, "none");
  EXPECT_EQ(c.passphrase_env, "DITTOFS_KEY_PASSPHRASE");
  EXPECT_EQ(c.chunk_min, 256u << 10);
  EXPECT_EQ(c.chunk_avg, 1u << 20);
  EXPECT_EQ(c.chunk_max, 4u << 20);
  EXPECT_EQ(c.object_size, 8u << 20);
  EXPECT_EQ(c.carve_dirty_bytes, 256u << 20);
  EXPECT_EQ(c.carve_after_ms, 30000u);
  EXPECT_EQ(c.upload_parallelism, 4u);
  EXPECT_EQ(c.gc_grace_ms, 3600000u);
  EXPECT_EQ(c.gc_interval_ms, 60000u);
  EXPECT_EQ(c.reconcile_interval_ms, 21600000u);
}

TEST(TieredBlockConfigTest, ReadsEveryKey) {
  json config = {{"dir", "/var/journal"},
                 {"cache_size", "1GiB"},
                 {"segment_size", "256KiB"},
                 {"remote",
                  {{"type", "s3"},
                   {"endpoint", "https://s3.eu-west-1.amazonaws.com"},
                   {"region", "eu-west-1"},
                   {"bucket", "team"},
                   {"prefix", "dittofs/"},
                   {"path_style", false},
                   {"access_key_id", "AKIA"},
                   {"secret_access_key", "secret"}}},
                 {"compression", "lz4"},
                 {"zstd_level", 19},
                 {"encryption", "chacha20-poly1305"},
                 {"key_file", "/etc/dittofs/key"},
                 {"passphrase_env", "MY_PASS"},
                 {"chunk_min", 64},
                 {"chunk_avg", "64KiB"},
                 {"chunk_max", "64MiB"},
                 {"object_size", "1GiB"},
                 {"carve_dirty_bytes", 1048576},
                 {"carve_after_ms", 0},
                 {"upload_parallelism", 64},
                 {"gc_grace_ms", 0},
                 {"gc_interval_ms", 100},
                 {"reconcile_interval_ms", 1000}};
  ASSERT_OK_AND_ASSIGN(TieredBlockConfig c, ParseTieredBlockConfig(config.dump()));
  EXPECT_EQ(c.dir, "/var/journal");
  EXPECT_EQ(c.cache_size, uint64_t{1} << 30);
  EXPECT_EQ(c.segment_size, 256u << 10);
  EXPECT_EQ(c.remote.type, "s3");
  EXPECT_EQ(c.remote.endpoint, "https://s3.eu-west-1.amazonaws.com");
  EXPECT_EQ(c.remote.region, "eu-west-1");
  EXPECT_EQ(c.remote.bucket, "team");
  EXPECT_EQ(c.remote.prefix, "dittofs/");
  EXPECT_FALSE(c.remote.path_style);
  EXPECT_EQ(c.remote.access_key_id, "AKIA");
  EXPECT_EQ(c.remote.secret_access_key, "secret");
  EXPECT_EQ(c.compression, "lz4");
  EXPECT_EQ(c.zstd_level, 19);
  EXPECT_EQ(c.encryption, "chacha20-poly1305");
  EXPECT_EQ(c.key_file, "/etc/dittofs/key");
  EXPECT_EQ(c.passphrase_env, "MY_PASS");
  EXPECT_EQ(c.chunk_min, 64u);
  EXPECT_EQ(c.chunk_avg, 64u << 10);
  EXPECT_EQ(c.chunk_max, 64u << 20);
  EXPECT_EQ(c.object_size, 1u << 30);
  EXPECT_EQ(c.carve_dirty_bytes, 1u << 20);
  EXPECT_EQ(c.carve_after_ms, 0u);
  EXPECT_EQ(c.upload_parallelism, 64u);
  EXPECT_EQ(c.gc_grace_ms, 0u);
  EXPECT_EQ(c.gc_interval_ms, 100u);
  EXPECT_EQ(c.reconcile_interval_ms, 1000u);
}

TEST(TieredBlockConfigTest, SizesTakeUnits) {
  auto cache = [](const json& value) -> uint64_t {
    Result<TieredBlockConfig> c = ParseTieredBlockConfig(json{{"cache_size", value}}.dump());
    return c.ok() ? c->cache_size : 0;
  };
  EXPECT_EQ(cache(uint64_t{1} << 32), uint64_t{1} << 32);
  EXPECT_EQ(cache("67108864"), 64u << 20);
  EXPECT_EQ(cache("67108864B"), 64u << 20);
  EXPECT_EQ(cache("65536KiB"), 64u << 20);
  EXPECT_EQ(cache("64MiB"), 64u << 20);
  EXPECT_EQ(cache("64 MiB"), 64u << 20);
  EXPECT_EQ(cache("64mib"), 64u << 20);
  EXPECT_EQ(cache("4GiB"), uint64_t{4} << 30);
  EXPECT_EQ(cache("1TiB"), uint64_t{1} << 40);
  EXPECT_EQ(cache("1GB"), 1'000'000'000u);
  EXPECT_EQ(cache("100MB"), 100'000'000u);
  EXPECT_EQ(cache("70000kB"), 70'000'000u);
  EXPECT_EQ(cache("1TB"), 1'000'000'000'000u);
  for (const json& bad : {json("64M"), json("64 MiBs"), json("MiB"), json("-64MiB"), json(""),
                          json("1.5GiB"), json("99999999999999999999GiB"), json(64.5), json(true),
                          json(-1), json(nullptr), json::array()}) {
    EXPECT_THAT(Refusal({{"cache_size", bad}}), HasSubstr("'cache_size'")) << bad.dump();
  }
  EXPECT_THAT(Refusal({{"cache_size", "63MiB"}}), HasSubstr("'cache_size' must be at least 64MiB"));
}

TEST(TieredBlockConfigTest, EachConstraint) {
  EXPECT_EQ(Refusal({{"cache_size", "64MiB"}}), "");
  EXPECT_THAT(Refusal({{"cache_size", (64 << 20) - 1}}), HasSubstr("'cache_size'"));
  EXPECT_EQ(Refusal({{"segment_size", "64KiB"}}), "");
  EXPECT_EQ(Refusal({{"segment_size", "1GiB"}}), "");
  EXPECT_THAT(Refusal({{"segment_size", (64 << 10) - 1}}), HasSubstr("'segment_size'"));
  EXPECT_THAT(Refusal({{"segment_size", "2GiB"}}), HasSubstr("'segment_size'"));
  EXPECT_EQ(Refusal({{"compression", "none"}}), "");
  EXPECT_EQ(Refusal({{"compression", "zstd"}}), "");
  EXPECT_EQ(Refusal({{"compression", "gzip"}}),
            "tiered block store: 'compression' must be one of none, lz4, zstd");
  EXPECT_EQ(Refusal({{"zstd_level", 1}}), "");
  EXPECT_THAT(Refusal({{"zstd_level", 0}}), HasSubstr("'zstd_level' must be between 1 and 19"));
  EXPECT_THAT(Refusal({{"zstd_level", 20}}), HasSubstr("'zstd_level'"));
  EXPECT_THAT(Refusal({{"zstd_level", -3}}), HasSubstr("'zstd_level'"));
  EXPECT_THAT(Refusal({{"zstd_level", "3"}}), HasSubstr("'zstd_level' must be an integer"));
  EXPECT_THAT(Refusal({{"zstd_level", 3.0}}), HasSubstr("'zstd_level' must be an integer"));
  EXPECT_EQ(Refusal({{"encryption", "aes-256-gcm"}}), "");
  EXPECT_THAT(Refusal({{"encryption", "aes"}}),
              HasSubstr("'encryption' must be one of none, aes-256-gcm, chacha20-poly1305"));
  EXPECT_THAT(Refusal({{"dir", "relative/dir"}}), HasSubstr("'dir' must be an absolute path"));
  EXPECT_THAT(Refusal({{"key_file", "key"}}), HasSubstr("'key_file'"));
  EXPECT_THAT(Refusal({{"dir", 5}}), HasSubstr("'dir' must be a string"));
  EXPECT_EQ(Refusal({{"dir", ""}}), "");
  EXPECT_THAT(Refusal({{"passphrase_env", "1BAD"}}), HasSubstr("'passphrase_env'"));
  EXPECT_THAT(Refusal({{"passphrase_env", ""}}), HasSubstr("'passphrase_env'"));
  EXPECT_THAT(Refusal({{"passphrase_env", "A-B"}}), HasSubstr("'passphrase_env'"));

  EXPECT_THAT(Refusal({{"chunk_min", 63}}), HasSubstr("'chunk_min'"));
  EXPECT_THAT(Refusal({{"chunk_max", "65MiB"}}), HasSubstr("'chunk_max'"));
  EXPECT_THAT(Refusal({{"chunk_min", "1MiB"}}), HasSubstr("chunk sizes must grow"));
  EXPECT_THAT(Refusal({{"chunk_avg", "4MiB"}}), HasSubstr("chunk sizes must grow"));
  EXPECT_EQ(Refusal({{"chunk_min", 64}, {"chunk_avg", 65}, {"chunk_max", 66}}), "");

  EXPECT_EQ(Refusal({{"object_size", "1MiB"}}), "");
  EXPECT_THAT(Refusal({{"object_size", (1 << 20) - 1}}), HasSubstr("'object_size'"));
  EXPECT_THAT(Refusal({{"object_size", "1025MiB"}}),
              HasSubstr("'object_size' must be between 1MiB and 1GiB"));
  EXPECT_THAT(Refusal({{"carve_dirty_bytes", "1023KiB"}}), HasSubstr("'carve_dirty_bytes'"));
  EXPECT_THAT(Refusal({{"upload_parallelism", 0}}), HasSubstr("'upload_parallelism'"));
  EXPECT_THAT(Refusal({{"upload_parallelism", 65}}), HasSubstr("'upload_parallelism'"));
  EXPECT_THAT(Refusal({{"gc_interval_ms", 99}}), HasSubstr("'gc_interval_ms'"));
  EXPECT_THAT(Refusal({{"reconcile_interval_ms", 999}}), HasSubstr("'reconcile_interval_ms'"));
  EXPECT_THAT(Refusal({{"carve_after_ms", "30s"}}), HasSubstr("'carve_after_ms'"));
  EXPECT_THAT(Refusal({{"gc_grace_ms", uint64_t{1} << 63}}), HasSubstr("'gc_grace_ms'"));
}

TEST(TieredBlockConfigTest, Remotes) {
  EXPECT_EQ(Refusal({{"remote", {{"type", "memory"}}}}), "");
  EXPECT_EQ(Refusal({{"remote", {{"type", "fs"}, {"path", "/srv/remote"}}}}), "");
  EXPECT_EQ(Refusal({{"remote", {{"path", "/srv/remote"}}}}), "");  // fs is the default
  EXPECT_THAT(Refusal({{"remote", {{"path", "remote"}}}}), HasSubstr("'remote.path'"));
  EXPECT_THAT(Refusal({{"remote", {{"type", "gcs"}}}}),
              HasSubstr("'remote.type' must be one of memory, fs, s3"));
  EXPECT_THAT(Refusal({{"remote", "s3"}}), HasSubstr("'remote' must be an object"));

  EXPECT_EQ(Refusal(S3()), "");
  EXPECT_THAT(Refusal({{"remote", {{"type", "s3"}, {"bucket", "b"}}}}),
              HasSubstr("'remote.endpoint'"));
  EXPECT_THAT(Refusal({{"remote", {{"type", "s3"}, {"endpoint", "http://h:9000"}}}}),
              HasSubstr("'remote.bucket'"));
  EXPECT_THAT(Refusal(S3({{"endpoint", "h:9000"}})), HasSubstr("http:// or https://"));
  EXPECT_THAT(Refusal(S3({{"bucket", "a/b"}})), HasSubstr("'remote.bucket'"));
  EXPECT_THAT(Refusal(S3({{"region", ""}})), HasSubstr("'remote.region'"));
  EXPECT_THAT(Refusal(S3({{"path_style", "false"}})),
              HasSubstr("'remote.path_style' must be true or false"));
  EXPECT_THAT(Refusal(S3({{"access_key_id", "AKIA"}})), HasSubstr("give both or neither"));
  EXPECT_EQ(Refusal(S3({{"access_key_id", "A"}, {"secret_access_key", "S"}})), "");

  // A key of one remote type given for another is a mistake, not something to ignore.
  EXPECT_EQ(Refusal(S3({{"path", "/srv"}})),
            "tiered block store: 'remote.path' is for remote type fs, not s3");
  EXPECT_THAT(Refusal({{"remote", {{"type", "fs"}, {"bucket", "b"}}}}),
              HasSubstr("'remote.bucket' is for remote type s3, not fs"));
  EXPECT_THAT(Refusal({{"remote", {{"type", "memory"}, {"path", "/x"}}}}),
              HasSubstr("'remote.path'"));
  EXPECT_THAT(Refusal({{"remote", {{"type", "memory"}, {"path_style", true}}}}),
              HasSubstr("'remote.path_style'"));
}

TEST(TieredBlockConfigTest, UnknownKeysAndBadDocuments) {
  EXPECT_EQ(Refusal({{"compress", "zstd"}}), "tiered block store: unknown key 'compress'");
  EXPECT_THAT(Refusal({{"remote", {{"kind", "fs"}}}}), HasSubstr("unknown key 'remote.kind'"));
  EXPECT_THAT(Refusal({{"remote.type", "fs"}}), HasSubstr("unknown key 'remote.type'"));
  EXPECT_THAT(ParseTieredBlockConfig("{"), testing::StatusIs(Errc::kInvalid));
  EXPECT_THAT(ParseTieredBlockConfig(""), testing::StatusIs(Errc::kInvalid));
  EXPECT_THAT(ParseTieredBlockConfig("[]"), testing::StatusIs(Errc::kInvalid));
  EXPECT_THAT(ParseTieredBlockConfig("null"), testing::StatusIs(Errc::kInvalid));
}

TEST(TieredBlockConfigTest, CanonicalJsonRoundTrips) {
  TieredBlockConfig defaults;
  json canonical = json::parse(TieredBlockConfigToJson(defaults));
  EXPECT_EQ(canonical["cache_size"], uint64_t{4} << 30);  // sizes as integers
  EXPECT_EQ(canonical["remote"], json({{"type", "fs"}, {"path", ""}}));
  EXPECT_EQ(canonical.size(), 19u);  // 18 keys and the remote object
  ASSERT_OK_AND_ASSIGN(TieredBlockConfig back,
                       ParseTieredBlockConfig(TieredBlockConfigToJson(defaults)));
  EXPECT_EQ(back, defaults);

  TieredBlockConfig s3;
  s3.dir = "/j \"quoted\" \\ ünïcode";
  s3.cache_size = (uint64_t{5} << 30) + 7;
  s3.remote = {.type = "s3",
               .endpoint = "https://s3.example.com",
               .region = "eu-central-1",
               .bucket = "bkt",
               .prefix = "p/",
               .path_style = false,
               .access_key_id = "id",
               .secret_access_key = "secret"};
  s3.compression = "none";
  s3.zstd_level = 7;
  s3.encryption = "aes-256-gcm";
  s3.key_file = "/k";
  s3.passphrase_env = "P";
  s3.chunk_min = 100;
  s3.chunk_avg = 200;
  s3.chunk_max = 300;
  s3.object_size = 3 << 20;
  s3.carve_dirty_bytes = 2 << 20;
  s3.carve_after_ms = 1;
  s3.upload_parallelism = 9;
  s3.gc_grace_ms = 2;
  s3.gc_interval_ms = 300;
  s3.reconcile_interval_ms = 4000;
  ASSERT_OK_AND_ASSIGN(back, ParseTieredBlockConfig(TieredBlockConfigToJson(s3)));
  EXPECT_EQ(back, s3);
  EXPECT_FALSE(json::parse(TieredBlockConfigToJson(s3))["remote"].contains("path"));

  TieredBlockConfig memory;
  memory.remote.type = "memory";
  ASSERT_OK_AND_ASSIGN(back, ParseTieredBlockConfig(TieredBlockConfigToJson(memory)));
  EXPECT_EQ(back, memory);
}

TEST(TieredBlockConfigTest, KeyTypes) {
  EXPECT_EQ(TieredBlockConfigKeyType("cache_size"), "size");
  EXPECT_EQ(TieredBlockConfigKeyType("zstd_level"), "integer");
  EXPECT_EQ(TieredBlockConfigKeyType("remote.path_style"), "boolean");
  EXPECT_EQ(TieredBlockConfigKeyType("remote.endpoint"), "string");
  EXPECT_EQ(TieredBlockConfigKeyType("compression"), "string");
  EXPECT_EQ(TieredBlockConfigKeyType("remote"), "");
  EXPECT_EQ(TieredBlockConfigKeyType("nope"), "");
}

TEST(TieredBlockConfigTest, SchemaDescribesEveryKey) {
  json schema = json::parse(TieredBlockConfigJsonSchema());
  json canonical = json::parse(TieredBlockConfigToJson(TieredBlockConfig{}));
  for (const auto& [key, value] : canonical.items()) {
    EXPECT_TRUE(schema["properties"].contains(key)) << key;
  }
  EXPECT_EQ(schema["properties"]["remote"]["properties"].size(), 9u);
  EXPECT_EQ(schema["properties"]["compression"]["enum"], json({"none", "lz4", "zstd"}));
}

}  // namespace
}  // namespace dittofs::config

// SPDX-License-Identifier: Apache-2.0
#include "config/config.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <map>
#include <nlohmann/json.hpp>

#include "testing/status_matchers.h"

namespace dittofs::config {
namespace {

EnvLookup Env(std::map<std::string, std::string> vars) {
  return [vars](const char* name, std::string* value) {
    auto it = vars.find(name);
    if (it == vars.end()) return false;
    *value = it->second;
    return true;
  };
}

TEST(ConfigTest, DefaultsFollowXdg) {
  auto env = Env({{"HOME", "/home/u"}, {"XDG_STATE_HOME", "/s"}});
  EXPECT_EQ(DefaultConfigPath(env), "/home/u/.config/dittofs/config.yaml");
  EXPECT_EQ(DefaultStateDir(env), "/s/dittofs");
  ASSERT_OK_AND_ASSIGN(Config c, ParseConfig("", env));
  ASSERT_EQ(c.shares.size(), 1u);
  EXPECT_EQ(c.shares[0].name, "/export");
  EXPECT_EQ(c.shares[0].root_mode, 01777u);
  EXPECT_EQ(c.shares[0].squash, "root_to_guest");
  EXPECT_EQ(c.nfs.port, 12049);
  EXPECT_EQ(c.api.bind, "127.0.0.1") << "the REST API is for this machine unless told otherwise";
  EXPECT_EQ(c.shares[0].block, "tiered");
  EXPECT_EQ(c.shares[0].tiered, TieredBlockConfig{});
}

TEST(ConfigTest, RenderedConfigParsesBackIdentically) {
  auto env = Env({{"HOME", "/h"}});
  Config c = Defaults(env);
  c.nfs.port = 2049;
  c.shares[0].read_only = true;
  c.shares[0].root_mode = 0755;
  c.nfs.inline_fast_calls = false;
  c.shares[0].squash = "all_to_admin";
  c.shares[0].default_permission = "read";
  c.shares[0].allowed_clients = {"10.0.0.0/8", "::1"};
  c.shares[0].denied_clients = {"10.9.0.0/16"};
  c.shares[0].names = "windows";
  c.shares[0].smb_encrypt = true;
  c.shares[0].guest_ok = true;
  c.smb.poll_us = 250;
  c.nfs.portmap = false;
  c.nfs.portmap_port = 111;
  c.nfs.rpcbind = true;
  c.nfs.nlm = false;
  c.nfs.grace_s = 15;
  c.nfs.client_portmap_port = 1111;
  ASSERT_OK_AND_ASSIGN(Config back, ParseConfig(RenderConfig(c), env));
  EXPECT_EQ(back.smb.poll_us, 250u);
  EXPECT_FALSE(back.nfs.portmap);
  EXPECT_EQ(back.nfs.portmap_port, 111u);
  EXPECT_TRUE(back.nfs.rpcbind);
  EXPECT_FALSE(back.nfs.nlm);
  EXPECT_EQ(back.nfs.grace_s, 15u);
  EXPECT_EQ(back.nfs.client_portmap_port, 1111u);
  EXPECT_TRUE(back.shares[0].smb_encrypt);
  EXPECT_FALSE(back.shares[0].smb_require_signing);
  EXPECT_TRUE(back.shares[0].guest_ok);
  EXPECT_EQ(back.shares[0].names, "windows");
  EXPECT_FALSE(back.nfs.inline_fast_calls);
  EXPECT_EQ(back.shares[0].squash, "all_to_admin");
  EXPECT_EQ(back.shares[0].default_permission, "read");
  EXPECT_EQ(back.shares[0].allowed_clients, c.shares[0].allowed_clients);
  EXPECT_EQ(back.shares[0].denied_clients, c.shares[0].denied_clients);
  EXPECT_EQ(back.nfs.port, 2049);
  EXPECT_TRUE(back.shares[0].read_only);
  EXPECT_EQ(back.shares[0].root_mode, 0755u);
}

TEST(ConfigTest, NfsTlsIsAMapInsideNfsWithItsOwnOverrides) {
  auto env = Env({{"HOME", "/h"}, {"DITTOFS_NFS_TLS_HANDSHAKE_TIMEOUT_MS", "2500"}});
  ASSERT_OK_AND_ASSIGN(Config c, ParseConfig(R"(
nfs:
  tls:
    cert_file: /etc/d/nfs.pem
    key_file: /etc/d/nfs.key
    client_ca_file: /etc/d/ca.pem
shares:
  - name: /secure
    tls: required
)",
                                             env));
  EXPECT_EQ(c.nfs.tls.cert_file, "/etc/d/nfs.pem");
  EXPECT_EQ(c.nfs.tls.key_file, "/etc/d/nfs.key");
  EXPECT_EQ(c.nfs.tls.client_ca_file, "/etc/d/ca.pem");
  EXPECT_EQ(c.nfs.tls.handshake_timeout_ms, 2500u);
  EXPECT_EQ(c.shares[0].tls, "required");
  ASSERT_OK_AND_ASSIGN(Config back, ParseConfig(RenderConfig(c), env));
  EXPECT_EQ(back.nfs.tls.cert_file, "/etc/d/nfs.pem");
  EXPECT_EQ(back.shares[0].tls, "required");
  EXPECT_NE(JsonSchema().find("\"tls\":{\"type\":\"object\""), std::string::npos);
}

TEST(ConfigTest, NfsTlsIsValidated) {
  auto env = Env({{"HOME", "/h"}});
  // A certificate without its key; a client CA without a certificate; a required share with
  // no certificate at all; an unknown policy; an unknown key.
  EXPECT_FALSE(ParseConfig("nfs:\n  tls:\n    cert_file: /c.pem\n", env).ok());
  EXPECT_FALSE(ParseConfig("nfs:\n  tls:\n    client_ca_file: /ca.pem\n", env).ok());
  EXPECT_FALSE(ParseConfig("shares:\n  - name: /s\n    tls: required\n", env).ok());
  EXPECT_FALSE(ParseConfig("shares:\n  - name: /s\n    tls: sometimes\n", env).ok());
  EXPECT_FALSE(ParseConfig("nfs:\n  tls:\n    cert: /c.pem\n", env).ok());
  EXPECT_OK(ParseConfig("shares:\n  - name: /s\n    tls: opportunistic\n", env).status());
}

// metadata: postgres takes its connection string and schema prefix; without a connection
// string, or with a bad prefix, the config is refused.
TEST(ConfigTest, PostgresMetadataShares) {
  auto env = Env({{"HOME", "/h"}});
  ASSERT_OK_AND_ASSIGN(Config c, ParseConfig(R"(
shares:
  - name: /pg
    metadata: postgres
    metadata_dsn: "host=db user=dfs dbname=d"
    metadata_schema: team
)",
                                             env));
  EXPECT_EQ(c.shares[0].metadata, "postgres");
  EXPECT_EQ(c.shares[0].metadata_dsn, "host=db user=dfs dbname=d");
  EXPECT_EQ(c.shares[0].metadata_schema, "team");
  EXPECT_THAT(ParseConfig("shares:\n  - {name: /pg, metadata: postgres}\n", env),
              ::dittofs::testing::StatusIs(Errc::kInvalid));
  EXPECT_THAT(ParseConfig("shares:\n  - {name: /pg, metadata: postgres, metadata_dsn: x, "
                          "metadata_schema: Bad}\n",
                          env),
              ::dittofs::testing::StatusIs(Errc::kInvalid));
}

// The server's state store: RocksDB under state_dir by default; in PostgreSQL it takes a
// connection string and the node's schema.
TEST(ConfigTest, StateStoreSection) {
  auto env = Env({{"HOME", "/h"}});
  ASSERT_OK_AND_ASSIGN(Config d, ParseConfig("", env));
  EXPECT_EQ(d.state_store.type, "rocksdb");
  ASSERT_OK_AND_ASSIGN(Config c, ParseConfig(R"(
state_store:
  type: postgres
  dsn: "host=db user=dfs dbname=d"
  schema: node_b
)",
                                             env));
  EXPECT_EQ(c.state_store.type, "postgres");
  EXPECT_EQ(c.state_store.dsn, "host=db user=dfs dbname=d");
  EXPECT_EQ(c.state_store.schema, "node_b");
  ASSERT_OK_AND_ASSIGN(Config back, ParseConfig(RenderConfig(c), env));
  EXPECT_EQ(back.state_store.type, "postgres");
  EXPECT_EQ(back.state_store.dsn, c.state_store.dsn);
  EXPECT_EQ(back.state_store.schema, "node_b");
  EXPECT_THAT(ParseConfig("state_store: {type: postgres}\n", env),
              ::dittofs::testing::StatusIs(Errc::kInvalid));
  EXPECT_THAT(ParseConfig("state_store: {type: postgres, dsn: x, schema: Node-B}\n", env),
              ::dittofs::testing::StatusIs(Errc::kInvalid));
  EXPECT_THAT(ParseConfig("state_store: {type: sqlite}\n", env),
              ::dittofs::testing::StatusIs(Errc::kInvalid));
}

TEST(ConfigTest, KerberosSectionAndShareSecurity) {
  auto env = Env({{"HOME", "/h"}, {"DITTOFS_KERBEROS_MAX_CONTEXTS", "77"}});
  ASSERT_OK_AND_ASSIGN(Config c, ParseConfig(R"(
kerberos:
  keytab: /etc/d/nfs.keytab
  service_principal: nfs/host.example.com@EXAMPLE.COM
  seq_window: 64
shares:
  - name: /secure
    security: [krb5i, krb5p]
  - name: /plain
)",
                                             env));
  EXPECT_EQ(c.kerberos.keytab, "/etc/d/nfs.keytab");
  EXPECT_EQ(c.kerberos.service_principal, "nfs/host.example.com@EXAMPLE.COM");
  EXPECT_EQ(c.kerberos.max_contexts, 77u);
  EXPECT_EQ(c.kerberos.seq_window, 64u);
  EXPECT_EQ(c.shares[0].security, (std::vector<std::string>{"krb5i", "krb5p"}));
  EXPECT_EQ(c.shares[1].security, (std::vector<std::string>{"sys"}));
  ASSERT_OK_AND_ASSIGN(Config back, ParseConfig(RenderConfig(c), env));
  EXPECT_EQ(back.kerberos.keytab, "/etc/d/nfs.keytab");
  EXPECT_EQ(back.kerberos.seq_window, 64u);
  EXPECT_EQ(back.shares[0].security, c.shares[0].security);
}

TEST(ConfigTest, KerberosIsValidated) {
  auto env = Env({{"HOME", "/h"}});
  // Kerberos flavors without a keytab; an unknown flavor; no flavor; a relative keytab; a
  // window past the limit; no contexts.
  EXPECT_FALSE(ParseConfig("shares:\n  - name: /s\n    security: [krb5]\n", env).ok());
  EXPECT_FALSE(
      ParseConfig("kerberos:\n  keytab: /k\nshares:\n  - name: /s\n    security: [spkm]\n", env)
          .ok());
  EXPECT_FALSE(ParseConfig("shares:\n  - name: /s\n    security: []\n", env).ok());
  EXPECT_FALSE(ParseConfig("shares:\n  - name: /s\n    security: krb5\n", env).ok());
  EXPECT_FALSE(ParseConfig("kerberos:\n  keytab: k.keytab\n", env).ok());
  EXPECT_FALSE(ParseConfig("kerberos:\n  keytab: /k\n  seq_window: 2000\n", env).ok());
  EXPECT_FALSE(ParseConfig("kerberos:\n  keytab: /k\n  max_contexts: 0\n", env).ok());
  EXPECT_OK(ParseConfig(
                "kerberos:\n  keytab: /k\nshares:\n  - name: /s\n    security: [sys, krb5p]\n", env)
                .status());
}

TEST(ConfigTest, RenderedTieredSectionParsesBackIdentically) {
  auto env = Env({{"HOME", "/h"}});
  Config c = Defaults(env);
  std::string defaults = RenderConfig(c);
  EXPECT_THAT(defaults, ::testing::HasSubstr("    block: tiered\n    tiered:\n"));
  EXPECT_THAT(defaults, ::testing::HasSubstr("      cache_size: 4GiB"));
  ASSERT_OK_AND_ASSIGN(Config back, ParseConfig(defaults, env));
  EXPECT_EQ(back.shares[0].tiered, TieredBlockConfig{});

  TieredBlockConfig& t = c.shares[0].tiered;
  t.dir = "/var/lib/dfs journal";
  t.cache_size = (uint64_t{1} << 30) + 1;
  t.remote = {.type = "s3",
              .endpoint = "http://127.0.0.1:9000",
              .region = "local",
              .bucket = "b",
              .prefix = "",
              .path_style = false,
              .access_key_id = "true",  // a string that looks like a boolean stays a string
              .secret_access_key = "12"};
  t.compression = "lz4";
  t.zstd_level = 5;
  t.encryption = "aes-256-gcm";
  t.passphrase_env = "PASS";
  t.chunk_min = 1000;
  t.object_size = 16 << 20;
  t.upload_parallelism = 8;
  t.gc_interval_ms = 5000;
  ShareConfig local;  // (invalidates `t`)
  local.name = "/local";
  local.block = "localfs";
  local.block_dir = "/srv/blocks";
  c.shares.push_back(local);
  std::string text = RenderConfig(c);
  SCOPED_TRACE(text);
  ASSERT_OK_AND_ASSIGN(back, ParseConfig(text, env));
  ASSERT_EQ(back.shares.size(), 2u);
  EXPECT_EQ(back.shares[0].tiered, c.shares[0].tiered);
  EXPECT_EQ(back.shares[1].block, "localfs");
  EXPECT_EQ(back.shares[1].block_dir, "/srv/blocks");
}

TEST(ConfigTest, TieredMapFromYaml) {
  auto env = Env({{"HOME", "/h"}});
  ASSERT_OK_AND_ASSIGN(Config c, ParseConfig(R"(
shares:
  - tiered:
      cache_size: 64MiB
      zstd_level: 9
      chunk_max: 8388608
      remote: {type: s3, endpoint: "https://s3.amazonaws.com", bucket: data, path_style: no}
    name: /t
)",
                                             env));
  const TieredBlockConfig& t = c.shares[0].tiered;
  EXPECT_EQ(t.cache_size, 64u << 20);
  EXPECT_EQ(t.zstd_level, 9);
  EXPECT_EQ(t.chunk_max, 8u << 20);
  EXPECT_EQ(t.remote.type, "s3");
  EXPECT_EQ(t.remote.bucket, "data");
  EXPECT_FALSE(t.remote.path_style);

  auto refusal = [&](const std::string& yaml) {
    Result<Config> parsed = ParseConfig(yaml, env);
    EXPECT_THAT(parsed, testing::StatusIs(Errc::kInvalid)) << yaml;
    return parsed.ok() ? "" : parsed.status().message();
  };
  EXPECT_EQ(refusal("shares:\n  - name: /t\n    tiered:\n      compression: gzip\n"),
            "config: share /t: tiered block store: 'compression' must be one of none, lz4, zstd");
  EXPECT_THAT(refusal("shares:\n  - name: /t\n    tiered:\n      zstd_level: \"3\"\n"),
              ::testing::HasSubstr("'zstd_level' must be an integer"));
  EXPECT_THAT(refusal("shares:\n  - name: /t\n    tiered:\n      zstd_level: -3\n"),
              ::testing::HasSubstr("'zstd_level'"));
  EXPECT_THAT(refusal("shares:\n  - name: /t\n    tiered:\n      dri: /x\n"),
              ::testing::HasSubstr("share /t: tiered block store: unknown key 'dri'"));
  EXPECT_THAT(refusal("shares:\n  - name: /t\n    tiered:\n      remote: {bucket: b}\n"),
              ::testing::HasSubstr("'remote.bucket' is for remote type s3, not fs"));
  EXPECT_THAT(refusal("shares:\n  - name: /t\n    tiered: 5\n"),
              ::testing::HasSubstr("share /t: tiered must be a map"));
  EXPECT_THAT(refusal("shares:\n  - name: /t\n    block: localfs\n    tiered:\n      dir: /x\n"),
              ::testing::HasSubstr("share /t: 'tiered' is for block: tiered, not localfs"));
  EXPECT_THAT(refusal("shares:\n  - name: /t\n    block_dir: /x\n"),
              ::testing::HasSubstr("tiered.dir"));
  EXPECT_THAT(refusal("shares:\n  - name: /t\n    block: s3\n"),
              ::testing::HasSubstr("block must be memory, localfs or tiered"));

  Config built = Defaults(env);
  built.shares[0].tiered.upload_parallelism = 0;
  EXPECT_THAT(Validate(built), testing::StatusIs(Errc::kInvalid));
}

TEST(ConfigTest, SchemaDescribesTheTieredMap) {
  std::string schema = JsonSchema();
  EXPECT_THAT(schema,
              ::testing::HasSubstr("\"block\":{\"enum\":[\"memory\",\"localfs\",\"tiered\"]}"));
  EXPECT_THAT(schema, ::testing::HasSubstr("\"tiered\":{\"type\":\"object\""));
  EXPECT_THAT(schema, ::testing::HasSubstr("\"reconcile_interval_ms\""));
}

TEST(ConfigTest, ConnectionLimitsAndTimeouts) {
  auto env = Env({{"HOME", "/h"}});
  ASSERT_OK_AND_ASSIGN(Config d, ParseConfig("", env));
  EXPECT_EQ(d.nfs.idle_timeout_s, 300u);
  EXPECT_EQ(d.nfs.record_timeout_s, 60u);
  EXPECT_EQ(d.nfs.max_connections_per_client, 64u);
  EXPECT_EQ(d.nfs.partial_record_budget, uint64_t{256} << 20);
  EXPECT_EQ(d.api.request_timeout_s, 30u);
  EXPECT_EQ(d.api.max_connections, 128u);

  Config c = d;
  c.nfs.idle_timeout_s = 0;
  c.nfs.record_timeout_s = 5;
  c.nfs.max_connections_per_client = 8;
  c.nfs.partial_record_budget = uint64_t{8} << 30;
  c.api.request_timeout_s = 10;
  c.api.max_connections = 32;
  ASSERT_OK_AND_ASSIGN(Config back, ParseConfig(RenderConfig(c), env));
  EXPECT_EQ(back.nfs.idle_timeout_s, 0u);
  EXPECT_EQ(back.nfs.record_timeout_s, 5u);
  EXPECT_EQ(back.nfs.max_connections_per_client, 8u);
  EXPECT_EQ(back.nfs.partial_record_budget, uint64_t{8} << 30);
  EXPECT_EQ(back.api.request_timeout_s, 10u);
  EXPECT_EQ(back.api.max_connections, 32u);

  EXPECT_THAT(ParseConfig("nfs:\n  partial_record_budget: 65536\n", env),
              testing::StatusIs(Errc::kInvalid))
      << "smaller than max_record_size";
  EXPECT_THAT(ParseConfig("nfs:\n  record_timeout_s: 0\n", env), testing::StatusIs(Errc::kInvalid));
  EXPECT_THAT(ParseConfig("nfs:\n  max_connections_per_client: 0\n", env),
              testing::StatusIs(Errc::kInvalid));
  EXPECT_THAT(ParseConfig("api:\n  request_timeout_s: 0\n", env),
              testing::StatusIs(Errc::kInvalid));
}

TEST(ConfigTest, EnvironmentOverridesFile) {
  auto env =
      Env({{"HOME", "/h"}, {"DITTOFS_NFS_PORT", "3049"}, {"DITTOFS_LOGGING_LEVEL", "debug"}});
  ASSERT_OK_AND_ASSIGN(Config c, ParseConfig("nfs:\n  port: 1000\n", env));
  EXPECT_EQ(c.nfs.port, 3049);
  EXPECT_EQ(c.logging.level, "debug");
}

TEST(ConfigTest, PerShareSmbOptions) {
  auto env = Env({{"HOME", "/h"}});
  ASSERT_OK_AND_ASSIGN(Config defaults, ParseConfig("shares:\n  - {name: /a}\n", env));
  // Off unless asked: guests are a per-share opt-in.
  EXPECT_FALSE(defaults.shares[0].smb_encrypt);
  EXPECT_FALSE(defaults.shares[0].smb_require_signing);
  EXPECT_FALSE(defaults.shares[0].guest_ok);
  ASSERT_OK_AND_ASSIGN(Config c,
                       ParseConfig("shares:\n"
                                   "  - {name: /a, smb_encrypt: true, smb_require_signing: yes}\n"
                                   "  - {name: /b, guest_ok: true}\n",
                                   env));
  ASSERT_EQ(c.shares.size(), 2u);
  EXPECT_TRUE(c.shares[0].smb_encrypt);
  EXPECT_TRUE(c.shares[0].smb_require_signing);
  EXPECT_FALSE(c.shares[0].guest_ok);
  EXPECT_FALSE(c.shares[1].smb_encrypt);
  EXPECT_TRUE(c.shares[1].guest_ok);
  EXPECT_THAT(ParseConfig("shares:\n  - {name: /a, guest_ok: maybe}\n", env),
              testing::StatusIs(Errc::kInvalid));
  EXPECT_THAT(ParseConfig("shares:\n  - {name: /a, smb_encrypted: true}\n", env),
              testing::StatusIs(Errc::kInvalid));
  EXPECT_NE(JsonSchema().find("\"guest_ok\""), std::string::npos);
}

TEST(ConfigTest, TracingSection) {
  auto env = Env({{"HOME", "/h"}});
  ASSERT_OK_AND_ASSIGN(Config defaults, ParseConfig("", env));
  EXPECT_FALSE(defaults.tracing.enabled);  // off unless asked
  EXPECT_EQ(defaults.tracing.sampling_ratio, 0.01);
  ASSERT_OK_AND_ASSIGN(Config c, ParseConfig("tracing:\n"
                                             "  enabled: true\n"
                                             "  endpoint: http://127.0.0.1:4318/v1/traces\n"
                                             "  sampling_ratio: 0.25\n"
                                             "  service_name: dfs-a\n"
                                             "  authorization: Bearer x\n",
                                             env));
  EXPECT_TRUE(c.tracing.enabled);
  EXPECT_EQ(c.tracing.sampling_ratio, 0.25);
  EXPECT_EQ(c.tracing.service_name, "dfs-a");
  EXPECT_EQ(c.tracing.authorization, "Bearer x");
  ASSERT_OK_AND_ASSIGN(Config back, ParseConfig(RenderConfig(c), env));
  EXPECT_TRUE(back.tracing.enabled);
  EXPECT_EQ(back.tracing.endpoint, c.tracing.endpoint);
  EXPECT_EQ(back.tracing.sampling_ratio, 0.25);
  ASSERT_OK_AND_ASSIGN(
      Config from_env,
      ParseConfig("", Env({{"HOME", "/h"}, {"DITTOFS_TRACING_SAMPLING_RATIO", "1"}})));
  EXPECT_EQ(from_env.tracing.sampling_ratio, 1.0);
  for (const char* bad : {"tracing: {sampling_ratio: 1.5}", "tracing: {sampling_ratio: -0.1}",
                          "tracing: {sampling_ratio: nan}", "tracing: {sampling_ratio: ''}",
                          "tracing: {enabled: true, endpoint: 127.0.0.1:4318}"}) {
    EXPECT_FALSE(ParseConfig(bad, env).ok()) << bad;
  }
}

TEST(ConfigTest, PerShareRecycleBin) {
  auto env = Env({{"HOME", "/h"}});
  ASSERT_OK_AND_ASSIGN(Config defaults, ParseConfig("shares:\n  - {name: /a}\n", env));
  EXPECT_FALSE(defaults.shares[0].recycle);  // off unless asked
  EXPECT_EQ(defaults.shares[0].recycle_retention_days, 0u);
  EXPECT_EQ(defaults.shares[0].recycle_max_bytes, 0u);
  EXPECT_TRUE(defaults.shares[0].recycle_exclude.empty());
  ASSERT_OK_AND_ASSIGN(Config c, ParseConfig("shares:\n"
                                             "  - name: /a\n"
                                             "    recycle: true\n"
                                             "    recycle_retention_days: 30\n"
                                             "    recycle_max_bytes: 10737418240\n"
                                             "    recycle_exclude: [\"*.tmp\", '~$*', build/*]\n"
                                             "  - {name: /b, recycle: yes}\n",
                                             env));
  ASSERT_EQ(c.shares.size(), 2u);
  EXPECT_TRUE(c.shares[0].recycle);
  EXPECT_EQ(c.shares[0].recycle_retention_days, 30u);
  EXPECT_EQ(c.shares[0].recycle_max_bytes, uint64_t{10} << 30);
  EXPECT_EQ(c.shares[0].recycle_exclude, (std::vector<std::string>{"*.tmp", "~$*", "build/*"}));
  EXPECT_TRUE(c.shares[1].recycle);
  EXPECT_TRUE(c.shares[1].recycle_exclude.empty());

  // The rendered config says the same, globs with quotes and backslashes included.
  c.shares[1].recycle_exclude = {"a\"b", "c\\*"};
  ASSERT_OK_AND_ASSIGN(Config back, ParseConfig(RenderConfig(c), env));
  EXPECT_TRUE(back.shares[0].recycle);
  EXPECT_EQ(back.shares[0].recycle_retention_days, 30u);
  EXPECT_EQ(back.shares[0].recycle_max_bytes, uint64_t{10} << 30);
  EXPECT_EQ(back.shares[0].recycle_exclude, c.shares[0].recycle_exclude);
  EXPECT_EQ(back.shares[1].recycle_exclude, c.shares[1].recycle_exclude);
  EXPECT_THAT(RenderConfig(Defaults(env)), ::testing::HasSubstr("recycle: false"));

  for (const char* bad : {
           "  - {name: /a, recycle: maybe}\n", "  - {name: /a, recycle_retention_days: -1}\n",
           "  - {name: /a, recycle_retention_days: 4294967296}\n",
           "  - {name: /a, recycle_max_bytes: 10G}\n",                  // plain integers only
           "  - {name: /a, recycle_max_bytes: 9223372036854775808}\n",  // over INT64_MAX
           "  - {name: /a, recycle_exclude: \"*.tmp\"}\n",              // not a list
           "  - {name: /a, recycle_exclude: [\"\"]}\n",                 // an empty glob
       }) {
    EXPECT_THAT(ParseConfig(std::string("shares:\n") + bad, env), testing::StatusIs(Errc::kInvalid))
        << bad;
  }
  std::string long_glob(kMaxRecycleExcludeBytes + 1, 'x');
  EXPECT_THAT(ParseConfig("shares:\n  - {name: /a, recycle_exclude: [" + long_glob + "]}\n", env),
              testing::StatusIs(Errc::kInvalid));
  long_glob.pop_back();
  EXPECT_OK(ParseConfig("shares:\n  - {name: /a, recycle_exclude: [" + long_glob + "]}\n", env));
  Config many = Defaults(env);
  many.shares[0].recycle_exclude.assign(kMaxRecycleExcludes, "*.tmp");
  EXPECT_OK(Validate(many));
  many.shares[0].recycle_exclude.push_back("*.bak");
  EXPECT_THAT(Validate(many), testing::StatusIs(Errc::kInvalid));

  std::string schema = JsonSchema();
  EXPECT_THAT(schema, ::testing::HasSubstr("\"recycle\":{\"type\":\"boolean\"}"));
  EXPECT_THAT(schema, ::testing::HasSubstr("\"recycle_exclude\":{\"type\":\"array\""));
  EXPECT_TRUE(nlohmann::json::accept(schema));
}

TEST(ConfigTest, RejectsTyposAndBadValues) {
  auto env = Env({{"HOME", "/h"}});
  EXPECT_THAT(ParseConfig("nfs:\n  prot: 1\n", env), testing::StatusIs(Errc::kInvalid));
  EXPECT_THAT(ParseConfig("nfs:\n  port: 70000\n", env), testing::StatusIs(Errc::kInvalid));
  EXPECT_THAT(ParseConfig("logging:\n  level: loud\n", env), testing::StatusIs(Errc::kInvalid));
  EXPECT_THAT(ParseConfig("shares:\n  - name: x\n", env), testing::StatusIs(Errc::kInvalid));
  EXPECT_THAT(ParseConfig("shares: [\n", env), testing::StatusIs(Errc::kInvalid));
  EXPECT_THAT(ParseConfig("x", env), testing::StatusIs(Errc::kInvalid));
  auto bad_env = Env({{"HOME", "/h"}, {"DITTOFS_NFS_PORT", "abc"}});
  EXPECT_THAT(ParseConfig("", bad_env), testing::StatusIs(Errc::kInvalid));
}

}  // namespace
}  // namespace dittofs::config

// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "base/result.h"
#include "config/block_store_config.h"

namespace dittofs::config {

struct LoggingConfig {
  std::string level = "info";   // debug | info | warn | error
  std::string format = "text";  // text | json
  std::string file;             // empty: standard error
};

struct ServerConfig {
  std::string state_dir;             // data lives here; default $XDG_STATE_HOME/dittofs
  uint32_t shutdown_timeout_s = 30;  // how long in-flight calls may take at shutdown
};

struct NfsConfig {
  bool enabled = true;
  std::string bind = "0.0.0.0";
  uint16_t port = 12049;  // NFS and MOUNT share this port
  uint32_t workers = 8;
  uint32_t running_workers = 0;  // workers running calls at once; 0 = all
  uint32_t io_threads = 1;
  // At the cap, the connection idle longest is closed to admit a new one.
  uint32_t max_connections = 1024;
  uint32_t max_connections_per_client = 64;  // from one client address
  uint32_t idle_timeout_s = 300;             // close connections with nothing in flight; 0: never
  uint32_t max_record_size = 4u << 20;
  uint32_t record_timeout_s = 60;  // a record must arrive whole within this long
  // Memory for records still being received, shared by all connections.
  uint64_t partial_record_budget = 256u << 20;
  uint32_t max_outstanding = 128;  // per connection
  bool inline_fast_calls = true;   // answer metadata reads on the I/O thread (lower latency)
  uint32_t poll_us = 50;  // the I/O thread polls this long before it sleeps; 0: never polls
  bool udp = true;        // also serve NFS and MOUNT over UDP, on the same port number
  // The embedded port mapper (RFC 1833), at the NFS bind address: tells clients that name no
  // ports where NFS and MOUNT are. 111 for clients that cannot be told its port; 0: any.
  bool portmap = true;
  uint16_t portmap_port = 10111;
  // Also register the NFS port's programs with the host's own rpcbind (127.0.0.1:111), for
  // clients that look them up there (with portmap off, or portmap_port not 111).
  bool rpcbind = false;
  // NFSv3 locking: NLM (versions 1, 3, 4) and NSM on the NFS port.
  bool nlm = true;
  // After a restart, how long clients that held locks have to reclaim them.
  uint32_t grace_s = 90;
  // The port of clients' port mappers, where their lock managers and status monitors are
  // found for callbacks (NLM GRANTED, SM_NOTIFY). 111 but in tests.
  uint16_t client_portmap_port = 111;
  // The NFS versions served on the port ("versions: 3,4.0,4.1" in the file).
  bool v3 = true;
  bool v4_0 = true;
  bool v4_1 = true;
  bool v4_2 = true;
  // NFSv4: how long a client's lease lasts without renewal.
  uint32_t lease_s = 90;
  // NFSv4 owner strings: "name@idmap_domain" from the control plane's users and groups, or,
  // with numeric_ids, plain numbers (as Linux's server sends to AUTH_SYS clients). Both are
  // accepted from clients.
  std::string idmap_domain = "localdomain";
  bool numeric_ids = true;
  // NFSv4: grant read and write delegations to clients whose callback path works.
  bool delegations = true;
  // RPC-with-TLS (RFC 9289) on the NFS port ("nfs.tls" in the file): offered when cert_file
  // and key_file are set. The files are reloaded when they change.
  struct Tls {
    std::string cert_file;       // PEM: certificate, then intermediates
    std::string key_file;        // PEM: its private key
    std::string client_ca_file;  // PEM: when set, clients must present a certificate it signed
    uint32_t handshake_timeout_ms = 10000;  // after STARTTLS, the handshake must end by then
    bool enabled() const { return !cert_file.empty(); }
  } tls;
};

// "3,4.0,4.1,4.2": the NFS versions served ("4" is every 4.x); nfs.versions's syntax.
Status ParseNfsVersions(const std::string& text, NfsConfig* nfs);

struct SmbConfig {
  bool enabled = true;
  std::string bind = "0.0.0.0";
  uint16_t port = 12445;  // standard clients need 445
  uint32_t workers = 8;
  uint32_t io_threads = 1;
  uint32_t max_connections = 1024;
  uint32_t max_connections_per_client = 64;
  uint32_t idle_timeout_s = 900;  // SMB clients keep connections open between uses
  uint32_t max_io = 8u << 20;     // MaxReadSize / MaxWriteSize / MaxTransactSize
  // The I/O thread polls this long after a request before it sleeps; 0: never polls. Longer
  // than NFS's: an SMB client's round trips come one after another (open, query, close), and
  // on a VM a next request that finds the thread asleep waits for its wake-up.
  uint32_t poll_us = 1000;
  bool require_signing = false;  // every session signs every message
  bool encrypt = false;          // every session encrypts (SMB 3.x only)
  bool allow_guest = false;      // guest and anonymous sessions, on every share
  bool multichannel = true;      // SMB 3 sessions may bind more connections
  bool ntlm = true;              // NTLMv2 logons (off: Kerberos only, when kerberos.keytab is set)
  std::string netbios_name = "DITTOFS";
  std::string domain = "WORKGROUP";
};

struct DatabaseConfig {
  std::string type = "sqlite";  // sqlite | postgres
  std::string path;             // sqlite: default <state_dir>/controlplane.db
  std::string dsn;              // postgres: a libpq connection string
};

// Where the server state that outlives the process is kept (client records, NSM hosts, durable
// and persistent handles: stores/state/state_store.h).
struct StateStoreConfig {
  std::string type = "rocksdb";  // rocksdb (<state_dir>/state) | postgres
  std::string dsn;               // postgres: a libpq connection string
  // postgres: the node's schema; each node of a cluster its own (a standby takes a dead
  // node's over by naming its schema).
  std::string schema = "dittofs_state";
};

// Prometheus metrics on a listener of their own: GET /metrics.
struct MetricsConfig {
  bool enabled = false;
  std::string bind = "127.0.0.1";  // an IP address; loopback unless scrapers come from afar
  uint16_t port = 9090;            // 0 picks a free one (tests)
  std::string token;               // when set, scrapes must send "Authorization: Bearer <token>"
};

// OpenTelemetry tracing (docs/tracing.md): spans of sampled requests sent over OTLP/HTTP JSON.
struct TracingConfig {
  bool enabled = false;
  std::string endpoint = "http://127.0.0.1:4318/v1/traces";  // where spans are POSTed
  double sampling_ratio = 0.01;  // of requests that come without a sampled W3C parent
  std::string service_name = "dittofs";
  std::string authorization;  // when set, sent as the Authorization header of each export
};

struct ApiConfig {
  bool enabled = true;
  // Loopback by default: the API administers the server. Bound elsewhere, the server warns.
  std::string bind = "127.0.0.1";
  uint16_t port = 8080;
  std::string jwt_secret;           // at least 32 bytes; `dfs init` writes a random one
  uint32_t request_timeout_s = 30;  // a request (headers and body) must arrive within this long
  uint32_t max_connections = 128;   // at the cap, the connection waiting longest is closed
};

// A share to create in the control-plane database when it has none yet (first start).
struct ShareConfig {
  std::string name = "/export";
  std::string metadata = "rocksdb";  // memory | rocksdb
  std::string metadata_dir;          // rocksdb: default <state_dir>/metadata/<share>
  // postgres: the libpq connection string, and the prefix of the share's schema there
  // (several shares, and several dfs nodes, may use one database).
  std::string metadata_dsn;
  std::string metadata_schema = "dittofs";
  std::string block = "tiered";  // memory | localfs | tiered
  std::string block_dir;         // localfs: default <state_dir>/blocks/<share>
  // tiered: the YAML map `tiered:` (given only when block is tiered); its `dir` is the journal's.
  TieredBlockConfig tiered;
  bool read_only = false;
  // none | root_to_guest | root_to_admin | all_to_guest | all_to_admin
  std::string squash = "root_to_guest";
  uint32_t anon_uid = 65534;
  uint32_t anon_gid = 65534;
  uint32_t root_mode = 01777;
  std::vector<std::string> allowed_clients;       // CIDRs; empty: every client
  std::vector<std::string> denied_clients;        // CIDRs; win over allowed_clients
  std::string default_permission = "read-write";  // none | read | read-write | admin
  // posix (any bytes but '/' and NUL, case-sensitive) | windows (no \ : * ? " < > | nor
  // control characters; found whatever their case, kept as created)
  std::string names = "posix";
  // SMB: tree connects of SMB 3.x sessions encrypt every message, and 2.x sessions are refused
  // (MS-SMB2 3.3.5.7); sessions that connect sign every message; guest and anonymous sessions
  // may connect (as anon_uid/anon_gid); with access-based enumeration, directory listings show
  // only what the caller may open.
  bool smb_encrypt = false;
  bool smb_require_signing = false;
  bool guest_ok = false;
  bool smb_access_based_enumeration = false;
  // SMB continuous availability: opens may be persistent handles, kept across a restart.
  bool continuously_available = false;
  // NFS over TLS: "off" (not asked for), "opportunistic" (the same, said to be welcome) or
  // "required" (NFS calls over a connection without TLS are refused).
  std::string tls = "off";
  // The NFS security flavors the share accepts (RFC 2623): sys (AUTH_SYS), krb5, krb5i, krb5p
  // (RPCSEC_GSS with Kerberos V5: authentication, integrity, privacy). MOUNT lists them to
  // clients; NFS calls of another flavor are refused (NFSv3 AUTH_TOOWEAK, NFSv4 WRONGSEC).
  std::vector<std::string> security = {"sys"};
  // The recycle bin (docs/recycle.md): a file removed over any protocol moves to #recycle at
  // the share's root instead of going. It is kept recycle_retention_days (0: no limit) while
  // the bin holds at most recycle_max_bytes (0: no cap; the oldest go first). A removed file
  // whose name, or path from the share's root, one of the recycle_exclude globs (fnmatch(3))
  // matches goes for good.
  bool recycle = false;
  uint32_t recycle_retention_days = 0;
  uint64_t recycle_max_bytes = 0;
  std::vector<std::string> recycle_exclude;
};

// The bounds of a share's recycle_exclude list, here and in the REST API.
inline constexpr size_t kMaxRecycleExcludes = 64;
inline constexpr size_t kMaxRecycleExcludeBytes = 255;  // of one glob
// The largest recycle_max_bytes: the control database keeps it as a signed 64-bit integer.
inline constexpr uint64_t kMaxRecycleBytes = uint64_t{INT64_MAX};
// kInvalid, saying why, unless `globs` is a valid recycle_exclude list: at most
// kMaxRecycleExcludes globs, each 1 to kMaxRecycleExcludeBytes bytes without NUL.
Status ValidRecycleExclude(const std::vector<std::string>& globs);

// RPCSEC_GSS (RFC 2203) with Kerberos V5 for NFS: served when keytab is set.
struct KerberosConfig {
  std::string keytab;             // the service's keys (nfs/<host>@REALM); reread when it changes
  std::string service_principal;  // accept as this principal only; empty: any in the keytab
  std::string smb_service_principal;  // the same for SMB (cifs/<host>@REALM); empty: any
  // The realms whose "name@REALM" principals are the users so named (besides each user's own
  // kerberos_principal); empty: any realm.
  std::vector<std::string> realms;
  uint32_t max_contexts = 4096;  // security contexts held; the least recently used go first
  uint32_t seq_window = 128;     // the sequence window told to clients (RFC 2203 §5.3.3.1)
  bool enabled() const { return !keytab.empty(); }
};

struct Config {
  LoggingConfig logging;
  ServerConfig server;
  DatabaseConfig database;
  StateStoreConfig state_store;
  ApiConfig api;
  MetricsConfig metrics;
  TracingConfig tracing;
  NfsConfig nfs;
  SmbConfig smb;
  KerberosConfig kerberos;
  std::vector<ShareConfig> shares;
};

// Reads an environment variable; returns false when unset. Injected for tests.
using EnvLookup = std::function<bool(const char* name, std::string* value)>;
EnvLookup ProcessEnv();

// The default config file: $XDG_CONFIG_HOME/dittofs/config.yaml, else
// ~/.config/dittofs/config.yaml.
std::string DefaultConfigPath(const EnvLookup& env);
// The default state directory: $XDG_STATE_HOME/dittofs, else ~/.local/state/dittofs.
std::string DefaultStateDir(const EnvLookup& env);

// The built-in configuration: one share /export.
Config Defaults(const EnvLookup& env);

// Parses YAML text over the defaults, then applies DITTOFS_<SECTION>_<KEY> environment
// overrides (e.g. DITTOFS_NFS_PORT, DITTOFS_LOGGING_LEVEL), then validates.
// Unknown keys are errors, so typos do not pass silently.
Result<Config> ParseConfig(std::string_view yaml, const EnvLookup& env);
Result<Config> LoadConfigFile(const std::string& path, const EnvLookup& env);
Status Validate(const Config& config);
// Sets one key in `config` as the config file would: `key` is its section, a dot and its name
// ("kerberos.keytab", "nfs.tls.cert_file"). kNotFound for a key the file has not; kInvalid for a
// value it refuses. The whole config is not checked (Validate).
Status SetKey(Config& config, std::string_view key, const std::string& value);

// A JSON Schema (draft 2020-12) of the config file, from the same key table the parser uses.
std::string JsonSchema();

// A documented YAML rendering of `config`, as `dfs init` writes it.
std::string RenderConfig(const Config& config);

}  // namespace dittofs::config

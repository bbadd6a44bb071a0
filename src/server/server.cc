// SPDX-License-Identifier: Apache-2.0
#include "server/server.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <charconv>
#include <cmath>
#include <condition_variable>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <future>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <stop_token>
#include <thread>

#include "base/clock.h"
#include "base/log.h"
#include "base/mutex.h"
#include "base/posix_io.h"
#include "base/time_text.h"
#include "base/version.h"
#include "chunk/blake3.h"
#include "config/block_store_config.h"
#include "config/store_layout.h"
#include "controlplane/api/api.h"
#include "controlplane/auth/password.h"
#include "controlplane/auth/secret.h"
#include "controlplane/db/control_db.h"
#include "controlplane/db/postgres/postgres_control_db.h"
#include "controlplane/db/sqlite/sqlite_control_db.h"
#include "core/jobs.h"
#include "core/login_throttle.h"
#include "core/shares.h"
#include "core/snapshot.h"
#include "gss/gss.h"
#include "metrics/metrics.h"
#include "net/http/http_server.h"
#include "net/tls/tls.h"
#include "nfs/common/file_handle.h"
#include "nfs/mount/service.h"
#include "nfs/nlm/service.h"
#include "nfs/v3/service.h"
#include "nfs/v4/service.h"
#include "rpc/gss/gss_server.h"
#include "rpc/portmap/portmap.h"
#include "rpc/rpc_client.h"
#include "rpc/tcp_server.h"
#include "rpc/udp_server.h"
#include "server/share_layout.h"
#include "server/user_directory.h"
#include "smb/auth/kerberos.h"
#include "smb/server/smb_server.h"
#include "stores/block/localfs/localfs_block_store.h"
#include "stores/block/memory/memory_block_store.h"
#include "stores/block/tiered/tiered_block_store.h"
#include "stores/cas/keyring.h"
#include "stores/metadata/memory/memory_metadata_store.h"
#include "stores/metadata/postgres/postgres_metadata_store.h"
#include "stores/metadata/rocksdb/rocksdb_metadata_store.h"
#include "stores/remote/fs/fs_remote_store.h"
#include "stores/remote/memory/memory_remote_store.h"
#include "stores/remote/s3/s3_remote_store.h"
#include "stores/state/postgres/postgres_state_store.h"
#include "stores/state/rocksdb/rocksdb_state_store.h"
#include "stores/state/state_store.h"
#include "trace/trace.h"

namespace dittofs::server {
namespace {

namespace cp = controlplane;

// Whether `address` (an IP literal or "localhost") reaches only this machine.
bool IsLoopback(const std::string& address) {
  if (address == "localhost") return true;
  in_addr v4;
  if (inet_pton(AF_INET, address.c_str(), &v4) == 1) return (ntohl(v4.s_addr) >> 24) == 127;
  in6_addr v6;
  return inet_pton(AF_INET6, address.c_str(), &v6) == 1 && IN6_IS_ADDR_LOOPBACK(&v6);
}

// How long a share's retirement or block-store change waits for the operations running on it.
constexpr std::chrono::seconds kShareDrain{30};

// A share the server serves, with what it was built from. The core::Share owns the stores,
// the state and the policy; the raw pointers below borrow its block store, and are valid while
// a ShareUse of it is held (a block-store change waits for those).
// A protocol adapter's listener: its port, connections and worker pool. Stopping it closes its
// connections after the calls in flight (up to `drain`).
class Listener {
 public:
  virtual ~Listener() = default;
  virtual uint16_t port() const = 0;
  virtual void Stop(std::chrono::milliseconds drain) = 0;
  // Its TCP connections now (the dittofs_connections gauge).
  virtual size_t connections() const = 0;
};

// The worker pool an adapter row asks for (its config_json's "workers" and "io_threads");
// zero where the row leaves it to the config file.
struct PoolSettings {
  size_t workers = 0;
  size_t io_threads = 0;
};

PoolSettings PoolOf(const cp::Adapter& row) {
  PoolSettings pool;
  nlohmann::json config = nlohmann::json::parse(row.config_json, nullptr, false);
  if (!config.is_object()) return pool;
  auto read = [&](const char* key, size_t* out) {
    if (config.contains(key) && config[key].is_number_unsigned()) {
      *out = config[key].get<size_t>();
    }
  };
  read("workers", &pool.workers);
  read("io_threads", &pool.io_threads);
  return pool;
}

// What the server knows how to start, by adapter name: one row each in the control plane's
// adapters table. A row naming a protocol this build lacks is left alone (and logged).
struct AdapterKind {
  std::string_view name;
  std::function<Result<std::unique_ptr<Listener>>(const cp::Adapter& row, const PoolSettings&)>
      start;
};

struct RunningAdapter {
  cp::Adapter row;  // the settings it runs with
  std::unique_ptr<Listener> listener;
};

// A protocol served over TCP alone (SMB).
class StreamListener final : public Listener {
 public:
  explicit StreamListener(std::unique_ptr<net::StreamServer> server) : server_(std::move(server)) {}
  uint16_t port() const override { return server_->port(); }
  void Stop(std::chrono::milliseconds drain) override { server_->Shutdown(drain); }
  size_t connections() const override { return server_->connection_count(); }

 private:
  std::unique_ptr<net::StreamServer> server_;
};

// ONC RPC over TCP and, on the same port number, over UDP (may be null).
struct RpcServers {
  std::unique_ptr<net::StreamServer> tcp;
  std::unique_ptr<net::DatagramServer> udp;
};

// One program version at a port, as a port mapper registers it (PMAP v2: by protocol number).
struct RpcbindEntry {
  uint32_t prog = 0;
  uint32_t vers = 0;
  bool udp = false;
  uint16_t port = 0;
};

// SETs (or UNSETs) `entries` in the host's rpcbind at 127.0.0.1:111 (PMAP version 2), waiting
// at most a few seconds for the answers; returns how many it accepted.
size_t RegisterWithRpcbind(const std::vector<RpcbindEntry>& entries, bool set) {
  rpc::RpcClientOptions o;
  o.port = 111;
  o.connect_timeout = std::chrono::seconds(2);
  std::shared_ptr<rpc::RpcClient> client = rpc::RpcClient::Create(o);
  auto accepted = std::make_shared<std::atomic<size_t>>(0);
  auto left = std::make_shared<std::atomic<size_t>>(entries.size());
  auto done = std::make_shared<std::promise<void>>();
  std::future<void> all = done->get_future();
  for (const RpcbindEntry& e : entries) {
    xdr::XdrEncoder args;
    args.U32(e.prog);
    args.U32(e.vers);
    args.U32(e.udp ? 17 : 6);
    args.U32(e.port);
    rpc::OutgoingCall call{rpc::kPortmapProgram, 2, set ? 1u : 2u, {}, std::chrono::seconds(3)};
    call.cred.flavor = rpc::AuthFlavor::kSys;  // rpcbind lets the superuser register
    call.cred.uid = 0;
    call.cred.gid = 0;
    call.cred.machine_name = "localhost";
    client->Call(call, std::move(args), [accepted, left, done](Result<rpc::Reply> r) {
      if (r.ok()) {
        xdr::XdrDecoder d(r->results);
        if (d.Bool() && d.ok()) accepted->fetch_add(1);
      }
      if (left->fetch_sub(1) == 1) done->set_value();
    });
  }
  if (!entries.empty()) all.wait_for(std::chrono::seconds(5));
  client->Close();
  return accepted->load();
}

// An RPC adapter's servers and the port mapper's that came up with it (may be null), stopped
// together; what it registered with the host's rpcbind is unregistered when it stops.
class RpcListener final : public Listener {
 public:
  RpcListener(RpcServers servers, RpcServers portmap, std::vector<RpcbindEntry> rpcbind = {})
      : servers_(std::move(servers)), portmap_(std::move(portmap)), rpcbind_(std::move(rpcbind)) {}
  uint16_t port() const override { return servers_.tcp->port(); }
  size_t connections() const override { return servers_.tcp->connection_count(); }
  void Stop(std::chrono::milliseconds drain) override {
    if (!rpcbind_.empty()) RegisterWithRpcbind(rpcbind_, false);
    if (portmap_.udp) portmap_.udp->Shutdown();
    if (portmap_.tcp) portmap_.tcp->Shutdown(std::chrono::milliseconds(0));
    if (servers_.udp) servers_.udp->Shutdown();
    servers_.tcp->Shutdown(drain);
  }

 private:
  RpcServers servers_;
  RpcServers portmap_;
  std::vector<RpcbindEntry> rpcbind_;
};

// One table of the server's StateStore, as the NFS adapters see their records: the NSM hosts
// NLM monitors, the NFSv4 clients that may reclaim after a restart.
class StateTableRecords final : public core::DurableRecords {
 public:
  StateTableRecords(stores::StateStore& store, stores::StateTable table)
      : store_(store), table_(table) {}
  Status Put(std::string_view key, std::string_view value) override {
    return store_.Put(table_, key, value);
  }
  Status Delete(std::string_view key) override { return store_.Delete(table_, key); }
  Status DeleteMany(const std::vector<std::string>& keys) override {
    return store_.DeleteMany(table_, keys);
  }
  Result<std::vector<std::pair<std::string, std::string>>> List() override {
    ASSIGN_OR_RETURN(std::vector<stores::StateEntry> entries, store_.List(table_));
    std::vector<std::pair<std::string, std::string>> out;
    for (stores::StateEntry& e : entries) out.emplace_back(std::move(e.key), std::move(e.value));
    return out;
  }

 private:
  stores::StateStore& store_;
  const stores::StateTable table_;
};

struct ServedShare {
  std::shared_ptr<core::Share> share;
  std::string name;
  std::string metadata_key;  // the store definitions it was built from
  std::string block_key;
  std::string block_type;
  int64_t block_store_id = 0;
  std::string index_namespace;  // of `tiered`'s chunk index
  std::string journal_dir;      // of `tiered`, normalized
  stores::BlockStore* blocks = nullptr;
  stores::TieredBlockStore* tiered = nullptr;  // `blocks`, when it is a tiered store
};

// A served share held for a control-plane call (status, sync).
struct HeldShare {
  core::ShareUse use;
  std::string block_type;
  stores::BlockStore* blocks = nullptr;
  stores::TieredBlockStore* tiered = nullptr;
};

enum class MetadataKind { kMemory, kRocksDb, kPostgres };
enum class BlockKind { kMemory, kLocalFs, kTiered };

Result<MetadataKind> ParseMetadataKind(const std::string& s) {
  if (s == "memory") return MetadataKind::kMemory;
  if (s == "rocksdb") return MetadataKind::kRocksDb;
  if (s == "postgres") return MetadataKind::kPostgres;
  return Status(Errc::kInvalid, "unknown metadata store type " + s);
}

Result<BlockKind> ParseBlockKind(const std::string& s) {
  if (s == "memory") return BlockKind::kMemory;
  if (s == "localfs") return BlockKind::kLocalFs;
  if (s == "tiered") return BlockKind::kTiered;
  return Status(Errc::kInvalid, "unknown block store type " + s);
}

// The directory where a rocksdb or localfs store definition keeps share `share`.
Result<std::string> ShareDir(Result<std::vector<config::StoreLocation>> places,
                             const cp::Share& share) {
  RETURN_IF_ERROR(places.status());
  if (places->empty()) return Status(Errc::kInternal, "a store without a directory");
  return config::ShareLocation(places->front(), config::ShareDirName(share.name)).dir;
}

// The SQLite control database's file.
std::string ControlDbPath(const config::Config& config) {
  return config.database.path.empty() ? config.server.state_dir + "/controlplane.db"
                                      : config.database.path;
}

// The environment variable `name`, or empty.
std::string Env(const char* name) {
  const char* v = std::getenv(name);
  return v == nullptr ? "" : v;
}

Result<stores::cas::Compression> ParseCompression(const std::string& s) {
  if (s == "none") return stores::cas::Compression::kNone;
  if (s == "lz4") return stores::cas::Compression::kLz4;
  if (s == "zstd") return stores::cas::Compression::kZstd;
  return Status(Errc::kInvalid, "unknown compression " + s);
}

Result<stores::cas::Cipher> ParseCipher(const std::string& s) {
  if (s == "none") return stores::cas::Cipher::kNone;
  if (s == "aes-256-gcm") return stores::cas::Cipher::kAes256Gcm;
  if (s == "chacha20-poly1305") return stores::cas::Cipher::kChaCha20Poly1305;
  return Status(Errc::kInvalid, "unknown encryption " + s);
}

// The journal directory of share `share` on the tiered store definition `config_json`.
Result<std::string> TieredJournalDir(const config::Config& config, const cp::Share& share,
                                     const std::string& config_json) {
  ASSIGN_OR_RETURN(std::vector<config::StoreLocation> places,
                   config::BlockStoreLocations("tiered", config_json, config.server.state_dir));
  return config::NormalizePath(
      config::ShareLocation(places[0], config::ShareDirName(share.name)).dir);
}

// Opens the tiered block store of share `share` from its store definition's JSON config, its
// chunk index in namespace `index_namespace` of `metadata`. Each share has its own journal
// subdirectory and remote place: a store definition may serve several
// (config/store_layout.h). The remote place's name of the legacy namespace "" is recorded in
// `metadata` (RemoteDirName); `legacy` says whether the share may keep the name of the earlier
// naming rule there. Other namespaces came after that rule: theirs is the current one.
Result<std::unique_ptr<stores::TieredBlockStore>> OpenTiered(const config::Config& config,
                                                             const cp::Share& share,
                                                             const std::string& config_json,
                                                             stores::MetadataStore& metadata,
                                                             const LegacyRemote& legacy,
                                                             const std::string& index_namespace) {
  const std::string& state = config.server.state_dir;
  ASSIGN_OR_RETURN(config::TieredBlockConfig tc, config::ParseTieredBlockConfig(config_json));
  ASSIGN_OR_RETURN(std::vector<config::StoreLocation> places,
                   config::BlockStoreLocations("tiered", config_json, state));
  stores::TieredOptions o;
  o.index_namespace = index_namespace;
  o.journal.dir = config::ShareLocation(places[0], config::ShareDirName(share.name)).dir;
  o.journal.capacity_bytes = tc.cache_size;
  o.journal.segment_bytes = tc.segment_size;
  // Names the share's place on the remote and its default key file.
  std::string remote_name = config::ShareDirName(share.name);
  if (places.size() > 1 && index_namespace.empty()) {
    ASSIGN_OR_RETURN(remote_name,
                     RemoteDirName(metadata, share.name, RemoteIdentity(places[1]), legacy));
  }
  if (tc.remote.type == "memory") {
    LOG_WARN("share {}: the remote is in memory: data is lost at exit", share.name);
    o.remote = stores::NewMemoryRemoteStore();
  } else if (tc.remote.type == "fs") {
    stores::FsRemoteOptions fo;
    fo.root = config::ShareLocation(places[1], remote_name).dir;
    ASSIGN_OR_RETURN(o.remote, stores::OpenFsRemoteStore(fo));
  } else if (tc.remote.type == "s3") {
    stores::S3RemoteOptions so;
    so.endpoint = tc.remote.endpoint;
    so.region = tc.remote.region;
    so.bucket = tc.remote.bucket;
    so.prefix = config::ShareLocation(places[1], remote_name).prefix;
    so.path_style = tc.remote.path_style;
    so.access_key_id =
        tc.remote.access_key_id.empty() ? Env("AWS_ACCESS_KEY_ID") : tc.remote.access_key_id;
    so.secret_access_key = tc.remote.secret_access_key.empty() ? Env("AWS_SECRET_ACCESS_KEY")
                                                               : tc.remote.secret_access_key;
    so.session_token = Env("AWS_SESSION_TOKEN");
    ASSIGN_OR_RETURN(o.remote, stores::OpenS3RemoteStore(so));
  } else {
    return Status(Errc::kInvalid, "unknown remote type " + tc.remote.type);
  }
  ASSIGN_OR_RETURN(o.codec.compression, ParseCompression(tc.compression));
  o.codec.zstd_level = tc.zstd_level;
  ASSIGN_OR_RETURN(o.codec.cipher, ParseCipher(tc.encryption));
  if (o.codec.cipher != stores::cas::Cipher::kNone) {
    std::string key_file =
        tc.key_file.empty() ? state + "/keys/" + remote_name + ".key" : tc.key_file;
    Result<std::string> passphrase = stores::cas::PassphraseFromEnv(tc.passphrase_env);
    if (!passphrase.ok()) {
      return Status(Errc::kInvalid, fmt::format("share {}: its remote is encrypted ({}); set the "
                                                "key file's passphrase in ${}",
                                                share.name, tc.encryption, tc.passphrase_env));
    }
    std::error_code ec;
    std::filesystem::create_directories(std::filesystem::path(key_file).parent_path(), ec);
    Result<stores::cas::Keyring> keyring = stores::cas::OpenOrCreateKeyFile(key_file, *passphrase);
    if (!keyring.ok()) {
      if (keyring.status().code() == Errc::kAccess) {
        return Status(Errc::kAccess, fmt::format("share {}: wrong passphrase for key file {} "
                                                 "(from ${})",
                                                 share.name, key_file, tc.passphrase_env));
      }
      return Status(keyring.status().code(), fmt::format("share {}: key file {}: {}", share.name,
                                                         key_file, keyring.status().message()));
    }
    LOG_INFO("share {}: encrypted remote, master key {} from {}", share.name, keyring->KeyId(),
             key_file);
    o.keyring.emplace(std::move(*keyring));
  }
  o.chunking.min_size = tc.chunk_min;
  o.chunking.avg_size = tc.chunk_avg;
  o.chunking.max_size = tc.chunk_max;
  o.object_bytes = tc.object_size;
  o.carve_dirty_bytes = tc.carve_dirty_bytes;
  o.carve_after = std::chrono::milliseconds(tc.carve_after_ms);
  o.carve_threads = static_cast<int>(tc.upload_parallelism);
  o.gc_grace = std::chrono::milliseconds(tc.gc_grace_ms);
  o.gc_interval = std::chrono::milliseconds(tc.gc_interval_ms);
  o.reconcile_interval = std::chrono::milliseconds(tc.reconcile_interval_ms);
  LOG_INFO(
      "share {}: tiered blocks, journal {} ({} MiB), {} remote{}, {} compression, {} "
      "encryption",
      share.name, o.journal.dir, o.journal.capacity_bytes >> 20, tc.remote.type,
      places.size() > 1
          ? " " + config::DescribeLocation(config::ShareLocation(places[1], remote_name))
          : "",
      tc.compression, tc.encryption);
  return stores::OpenTieredBlockStore(std::move(o), metadata);
}

// Opens the metadata store of one share. Each share gets its own instance, even when several
// shares name the same store definition (a rocksdb store then keeps each share in a
// subdirectory named config::ShareDirName).
Result<std::unique_ptr<stores::MetadataStore>> OpenMetadata(const config::Config& config,
                                                            const cp::Share& share,
                                                            const cp::MetadataStoreDef& md) {
  ASSIGN_OR_RETURN(MetadataKind mk, ParseMetadataKind(md.type));
  switch (mk) {
    case MetadataKind::kMemory:
      return stores::NewMemoryMetadataStore();
    case MetadataKind::kRocksDb: {
      stores::RocksDbMetadataStoreOptions o;
      ASSIGN_OR_RETURN(o.path, ShareDir(config::MetadataStoreLocations(md.type, md.config_json,
                                                                       config.server.state_dir),
                                        share));
      return stores::OpenRocksDbMetadataStore(o);
    }
    case MetadataKind::kPostgres: {
      // A schema per share in the database: the same one on every node that uses it.
      nlohmann::json j = nlohmann::json::parse(md.config_json, nullptr, false);
      stores::PostgresMetadataStoreOptions o;
      if (j.is_object() && j.contains("dsn") && j["dsn"].is_string()) o.dsn = j["dsn"];
      const std::string prefix = j.is_object() && j.contains("schema") && j["schema"].is_string()
                                     ? j["schema"].get<std::string>()
                                     : "dittofs";
      o.schema = config::PostgresSchemaFor(prefix, share.name);
      LOG_INFO("share {}: metadata in PostgreSQL, schema {}", share.name, o.schema);
      return stores::OpenPostgresMetadataStore(o);
    }
  }
  return Status(Errc::kInternal, "unreachable");
}

// Opens the block store of one share over its metadata store (likewise one instance per
// share, a localfs store keeping each share in its own subdirectory). `tiered` gets the store
// when it is a tiered one, else null; its chunk index is in namespace `index_namespace`.
Result<std::unique_ptr<stores::BlockStore>> OpenBlocks(
    const config::Config& config, const cp::Share& share, const cp::MetadataStoreDef& md,
    const cp::BlockStoreDef& bd, stores::MetadataStore& metadata, const LegacyRemote& legacy_remote,
    const std::string& index_namespace, stores::TieredBlockStore** tiered) {
  *tiered = nullptr;
  ASSIGN_OR_RETURN(MetadataKind mk, ParseMetadataKind(md.type));
  ASSIGN_OR_RETURN(BlockKind bk, ParseBlockKind(bd.type));
  switch (bk) {
    case BlockKind::kMemory:
      return stores::NewMemoryBlockStore();
    case BlockKind::kLocalFs: {
      stores::LocalFsBlockStoreOptions o;
      ASSIGN_OR_RETURN(o.root, ShareDir(config::BlockStoreLocations(bd.type, bd.config_json,
                                                                    config.server.state_dir),
                                        share));
      if (mk == MetadataKind::kMemory) {
        // With in-memory metadata, data left from an earlier run can never be reached again.
        std::error_code ec;
        std::filesystem::remove_all(o.root, ec);
      }
      return stores::OpenLocalFsBlockStore(o);
    }
    case BlockKind::kTiered: {
      if (mk == MetadataKind::kMemory) {
        // The chunk index lives in the metadata store: with in-memory metadata, earlier data
        // can never be reached again (the reconcile deletes its objects).
        LOG_WARN("share {}: tiered blocks with in-memory metadata keep nothing across restarts",
                 share.name);
      }
      ASSIGN_OR_RETURN(
          std::unique_ptr<stores::TieredBlockStore> store,
          OpenTiered(config, share, bd.config_json, metadata, legacy_remote, index_namespace));
      *tiered = store.get();
      return std::unique_ptr<stores::BlockStore>(std::move(store));
    }
  }
  return Status(Errc::kInternal, "unreachable");
}

core::Squash ToCore(cp::Squash s) {
  switch (s) {
    case cp::Squash::kNone:
      return core::Squash::kNone;
    case cp::Squash::kRootToGuest:
      return core::Squash::kRootToGuest;
    case cp::Squash::kRootToAdmin:
      return core::Squash::kRootToAdmin;
    case cp::Squash::kAllToGuest:
      return core::Squash::kAllToGuest;
    case cp::Squash::kAllToAdmin:
      return core::Squash::kAllToAdmin;
  }
  return core::Squash::kRootToGuest;
}

core::Permission ToCore(cp::PermissionLevel l) {
  switch (l) {
    case cp::PermissionLevel::kNone:
      return core::Permission::kNone;
    case cp::PermissionLevel::kRead:
      return core::Permission::kRead;
    case cp::PermissionLevel::kReadWrite:
      return core::Permission::kReadWrite;
    case cp::PermissionLevel::kAdmin:
      return core::Permission::kAdmin;
  }
  return core::Permission::kNone;
}

// The config spells levels as the API does ("read-write"); the database uses '_'.
Result<cp::PermissionLevel> ParseLevel(const std::string& s) {
  return cp::ParsePermissionLevel(s == "read-write" ? "read_write" : s);
}

// Reads a secret from `path`, or makes one and keeps it there. The file is 0600 from the
// moment it exists and appears whole or not at all (written aside, synced, renamed), so a
// crash never leaves a short secret that the next start would replace.
Result<std::string> PersistentSecret(const std::string& path) {
  std::ifstream in(path);
  std::string secret;
  if (in && std::getline(in, secret) && secret.size() >= 32) return secret;
  secret = cp::auth::GenerateSecret(32);
  const std::string text = secret + "\n";
  const std::string tmp = path + ".tmp";
  int fd = RetryOnEintr(
      [&] { return open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600); });
  if (fd < 0) return StorageErrno(errno, "server", "create", tmp);
  fchmod(fd, 0600);  // an older file of that name may have had other bits
  bool ok = RetryOnEintr([&] { return write(fd, text.data(), text.size()); }) ==
                static_cast<ssize_t>(text.size()) &&
            fsync(fd) == 0;
  int err = errno;
  close(fd);
  if (!ok) return StorageErrno(err, "server", "write", tmp);
  if (rename(tmp.c_str(), path.c_str()) != 0) return StorageErrno(errno, "server", "rename", tmp);
  RETURN_IF_ERROR(SyncDir(std::filesystem::path(path).parent_path().string(), "server"));
  return secret;
}

// The key that signs NFS file handles (nfs/common/file_handle.h), derived from a secret.
// Handles stay valid while the secret does; a new secret makes every handle issued before it
// fail, as a forged one would.
nfs::FileHandleCodec::Key HandleKeyOf(std::string_view secret) {
  chunk::Blake3Hasher h =
      chunk::Blake3Hasher::DeriveKey("DittoFS 2026-12-04 NFS file handle MAC key");
  h.Update(AsBytes(secret));
  return h.Finalize().bytes;
}

// The key of the secret kept in the state dir (made there the first time): what the server
// starts with, until ServerImpl::AdoptHandleSecret reads the control plane's.
Result<nfs::FileHandleCodec::Key> HandleKey(const std::string& state_dir) {
  ASSIGN_OR_RETURN(std::string secret, PersistentSecret(state_dir + "/handle_secret"));
  return HandleKeyOf(secret);
}

class ServerImpl final : public Server, public cp::api::RuntimeHooks {
 public:
  ServerImpl(const config::Config& config, const nfs::FileHandleCodec::Key& handle_key)
      : config_(config),
        users_({.kerberos_realms = config.kerberos.realms}),
        dispatcher_(8192),
        handles_(handle_key),
        nfs3_(shares_, handles_),
        mount_(shares_, handles_, &users_, &dispatcher_) {
    // The RPC flavors NFS and MOUNT accept: AUTH_SYS callers keep the ids they state
    // (core/identity.h). RPCSEC_GSS joins here with Kerberos.
    dispatcher_.AddAuthFlavor(rpc::AuthFlavor::kNone, rpc::AuthNone);
    dispatcher_.AddAuthFlavor(rpc::AuthFlavor::kSys, rpc::AuthSys);
    // Every version is registered; the ones not served (nfs.versions, which changes live)
    // are disabled: their calls are answered as calls of a version not registered.
    dispatcher_.Add(nfs3_.Program());
    dispatcher_.Add(mount_.Program());
    nfs::Nfs4Options o;
    o.minor0 = config_.nfs.v4_0;
    o.minor1 = config_.nfs.v4_1;
    o.minor2 = config_.nfs.v4_2;
    o.lease_seconds = config_.nfs.lease_s;
    o.idmap_domain = config_.nfs.idmap_domain;
    o.numeric_ids = config_.nfs.numeric_ids;
    o.delegations = config_.nfs.delegations;
    nfs4_ = std::make_unique<nfs::Nfs4Service>(shares_, handles_, &users_, o);
    dispatcher_.Add(nfs4_->Program());
    ServeVersions(config_.nfs);
    for (rpc::ProgramVersion& p : portmap_.Programs()) portmap_dispatcher_.Add(std::move(p));
    portmap_dispatcher_.AddAuthFlavor(rpc::AuthFlavor::kNone, rpc::AuthNone);
    portmap_dispatcher_.AddAuthFlavor(rpc::AuthFlavor::kSys, rpc::AuthSys);
  }
  ~ServerImpl() override { Stop(); }

  Status Start();

  uint16_t nfs_port() const override { return nfs_port_; }
  uint16_t smb_port() const override { return smb_port_; }
  uint16_t api_port() const override { return http_ ? http_->port() : 0; }
  const std::string& initial_admin_password() const override { return admin_password_; }
  const core::ShareTable& shares() const override { return shares_; }
  void Stop() override;

  // RuntimeHooks: the API changed the database; bring the running server in line.
  Status SharesChanged() override { return ReconcileShares(); }
  Status UsersChanged() override {
    RETURN_IF_ERROR(users_.Refresh(*db_));
    return ReconcileShares();  // share access is resolved per uid
  }
  Result<std::string> ShareStatus(std::string_view share) override;
  Status SyncShare(std::string_view share) override;
  Result<std::string> ShareLocks(std::string_view share) override;
  Result<std::string> Clients() override;
  Status EvictClient(std::string_view id) override;
  Result<std::string> Trash(std::string_view share) override;
  Result<std::string> RestoreTrash(std::string_view share, uint64_t id,
                                   std::string_view to) override;
  Result<uint64_t> EmptyTrash(std::string_view share) override;
  Result<std::string> Quotas(std::string_view share) override;
  Result<std::string> SetQuota(std::string_view share, core::QuotaKind kind, uint32_t id,
                               const core::QuotaLimits& limits) override;
  Result<std::string> StartJob(std::string_view share, std::string_view kind) override;
  Result<std::string> Snapshots(std::string_view share) override;
  Result<std::string> Snapshot(std::string_view share, std::string_view name) override;
  Result<std::string> StartSnapshotJob(std::string_view share, std::string_view kind,
                                       std::string_view name, std::string_view safety) override;
  Result<std::string> SnapshotPolicy(std::string_view share) override;
  Result<std::string> SetSnapshotPolicy(std::string_view share,
                                        const core::SnapshotPolicy& policy) override;
  // Takes and deletes the scheduled snapshots each share's policy asks for, one job a share
  // at a time (docs/snapshots.md).
  void RunSnapshotSchedules();
  // The served share `share` itself, for jobs that pause it (they hold no operation of it).
  Result<std::shared_ptr<core::Share>> FindServed(std::string_view share);
  Result<std::string> Jobs() override;
  Result<std::string> Job(uint64_t id) override;
  Result<std::string> CancelJob(uint64_t id) override;
  Status AdaptersChanged() override { return ReconcileAdapters(); }
  Status SettingChanged(std::string_view key, std::string_view value) override;
  bool Ready() override { return ready_.load(); }

 private:
  // Starts, reconfigures or stops the process's tracer to match `tracing` (docs/tracing.md).
  Status ApplyTracing(const config::TracingConfig& tracing);
  Status OpenDatabase();
  Status BootstrapAdmin();
  Status SeedDefaults();
  // The SMB machine SID kept in the control plane (setting smb.machine_sid), made the first
  // time it is asked for.
  Result<std::string> MachineSid();
  // The secret NFS file handles are signed with, kept in the control plane (setting
  // nfs.handle_secret, which the API never shows) so that every node sharing a PostgreSQL
  // control plane issues and accepts the same handles: a client that moves to another node
  // (a standby taking over) keeps its handles. The first time, the secret the node kept in
  // state_dir/handle_secret is stored there. Before the server serves anything.
  Status AdoptHandleSecret();
  Status MigrateLegacyLayout();
  Status ReconcileShares();
  // Opens the stores of `share` and serves it.
  Status OpenShareLocked(const cp::Share& share, const cp::MetadataStoreDef& md,
                         const cp::BlockStoreDef& bd, core::ShareOptions options)
      EXCLUSIVE_LOCKS_REQUIRED(reconcile_mu_);
  // Moves `served` to the block store `bd` (core::Share::ReplaceBlocks).
  Status SwitchBlocksLocked(ServedShare& served, const cp::Share& share,
                            const cp::MetadataStoreDef& md, const cp::BlockStoreDef& bd)
      EXCLUSIVE_LOCKS_REQUIRED(reconcile_mu_);
  // Stops serving share `id` and closes its stores (after its running operations).
  void RetireLocked(core::ShareId id) EXCLUSIVE_LOCKS_REQUIRED(reconcile_mu_);
  // Holds the share named `share` for a control-plane call; Errc::kNotFound when it is not
  // served.
  Result<HeldShare> HoldShare(std::string_view share);
  Status ReconcileAdapters();
  // Starts the NFS adapter (NFSv3 and MOUNT on one port) for `row`.
  Result<std::unique_ptr<Listener>> StartNfs(const cp::Adapter& row, const PoolSettings& pool);
  // Registers NFS and MOUNT at `port` (on UDP too when `udp`) in the port mapper and starts
  // its listeners on `bind`; on failure (say, the port is taken), a warning and none.
  RpcServers StartPortmap(const std::string& bind, uint16_t port, bool udp);
  // The program versions the NFS port serves (NFS, MOUNT, and NLM and NSM when on).
  std::vector<std::pair<uint32_t, uint32_t>> NfsPortPrograms() const;
  // Opens the state store and starts NLM and NSM: the hosts that held locks before are
  // notified, and the grace period begins.
  Status StartKerberos();
  Status StartNlm();
  // The server's StateStore (state_dir/state, or the state_store's PostgreSQL schema), opened
  // once for whichever adapter needs it.
  Status OpenStateStore();
  // Reads the NFSv4 client records of the last run: their grace period.
  Status StartNfs4Grace();
  // Starts the SMB adapter (SMB 2.0.2 to 3.1.1) for `row`.
  Result<std::unique_ptr<Listener>> StartSmb(const cp::Adapter& row, const PoolSettings& pool);
  // Serves the NFS versions `nfs` names and no others, at once: the RPC programs, NFSv4's
  // minor versions, and what the embedded port mapper tells.
  void ServeVersions(const config::NfsConfig& nfs);
  // (Re)registers the NFS port's programs with the embedded port mapper.
  void RegisterPortPrograms();
  // The SMB adapters that serve now.
  std::vector<std::shared_ptr<smb::SmbAdmin>> SmbAdmins();
  Result<core::ShareOptions> OptionsOf(const cp::Share& share);
  // Purges the recycle bin of every served share that keeps one (Vfs::PurgeTrash); a failure
  // is logged, and the next round tries again.
  void PurgeRecycleBins();
  // Folds each share's quota deltas into its usage records (QuotaTable::Fold): those with many
  // waiting, or all of them when `all`.
  void FoldQuotas(bool all);

  config::Config config_;
  std::unique_ptr<cp::ControlDb> db_;
  std::string admin_password_;

  core::ShareTable shares_;
  // Who the control plane's users are, for the adapters that name them (declared before them).
  ControlPlaneUserDirectory users_;
  // Kerberos (kerberos.keytab set): the keys NFS accepts with (service_principal) and SMB's
  // (smb_service_principal; none while SMB is off). Each reloads the keytab when it changes.
  std::unique_ptr<gss::Keytab> nfs_keytab_;
  std::unique_ptr<gss::Keytab> smb_keytab_;
  // RPCSEC_GSS, when Kerberos is configured; the dispatcher borrows it (declared before the
  // listeners, so it outlives their calls).
  std::unique_ptr<rpc::gss::GssServer> gss_;
  // Failed logins, through the REST API and SMB alike (declared before both).
  core::LoginThrottle login_throttle_;
  rpc::Dispatcher dispatcher_;
  nfs::FileHandleCodec handles_;  // its key set by AdoptHandleSecret, before serving
  nfs::Nfs3Service nfs3_;
  nfs::MountService mount_;
  // The embedded port mapper: what the NFS adapter serves where (nfs.portmap).
  rpc::PortmapService portmap_;
  rpc::Dispatcher portmap_dispatcher_{64};
  // Server state that outlives the process (NSM hosts; NFSv4 clients to come).
  std::unique_ptr<stores::StateStore> state_store_;
  uint64_t state_epoch_ = 0;
  std::atomic<uint32_t> grace_s_{config_.nfs.grace_s};  // nfs.grace_s (the setting wins)
  std::unique_ptr<StateTableRecords> nsm_records_;
  std::unique_ptr<StateTableRecords> nfs4_records_;
  std::unique_ptr<StateTableRecords> smb_handles_;  // SMB persistent handles
  // NFSv3 locking (nfs.nlm): made at Start, before the NFS adapter serves.
  std::unique_ptr<nfs::NlmService> nlm_;
  // NFSv4.0, 4.1 and 4.2, whichever of them are served (nfs.versions).
  std::unique_ptr<nfs::Nfs4Service> nfs4_;
  // What nfs.versions says is served now: NFSv3 (with MOUNT), NFSv4 (any minor version).
  std::atomic<bool> v3_served_{false};
  std::atomic<bool> v4_served_{false};
  // Where the embedded port mapper says the NFS port's programs are (StartPortmap).
  Mutex portmap_mu_;
  uint16_t portmap_nfs_port_ GUARDED_BY(portmap_mu_) = 0;
  bool portmap_udp_ GUARDED_BY(portmap_mu_) = false;
  bool portmap_v6_ GUARDED_BY(portmap_mu_) = false;
  // The SMB adapters' sessions, for the client list (each lives as long as its listener).
  Mutex smb_admins_mu_;
  std::vector<std::weak_ptr<smb::SmbAdmin>> smb_admins_ GUARDED_BY(smb_admins_mu_);

  Mutex reconcile_mu_;  // one reconcile at a time; never held on the data path
  Mutex tracing_mu_;    // one change of the tracing settings at a time
  std::map<core::ShareId, ServedShare> served_ GUARDED_BY(reconcile_mu_);
  // Filled by MigrateLegacyLayout for the first reconcile only, by share id.
  std::map<int64_t, LegacyRemote> legacy_remotes_ GUARDED_BY(reconcile_mu_);
  const std::vector<AdapterKind> adapter_kinds_{
      {"nfs",
       [this](const cp::Adapter& row, const PoolSettings& pool) { return StartNfs(row, pool); }},
      {"smb",
       [this](const cp::Adapter& row, const PoolSettings& pool) { return StartSmb(row, pool); }}};
  std::map<std::string, RunningAdapter, std::less<>> adapters_ GUARDED_BY(reconcile_mu_);
  std::atomic<uint16_t> nfs_port_{0};
  std::atomic<uint16_t> smb_port_{0};
  std::jthread state_sweeper_;  // expires overdue breaks and lock waits
  // Long administrative jobs (docs/jobs.md). Declared late, so destroyed early: its destructor
  // stops and joins the jobs, which may hold shares.
  core::JobTable jobs_;

  std::unique_ptr<cp::api::Api> api_;
  net::Router router_;
  std::unique_ptr<net::HttpServer> http_;
  // Prometheus metrics (metrics.enabled): their listener, and what they read at a scrape.
  net::Router metrics_router_;
  std::unique_ptr<net::HttpServer> metrics_http_;
  uint64_t metrics_collector_ = 0;
  Status StartMetrics();
  void CollectMetrics(metrics::Exposition& e);
  std::atomic<bool> ready_{false};
  // A share could not open because its metadata store was unreachable (ReconcileShares).
  std::atomic<bool> shares_offline_{false};
  bool stopped_ = false;
};

Status ServerImpl::OpenDatabase() {
  if (config_.database.type == "postgres") {
    ASSIGN_OR_RETURN(db_, cp::OpenPostgresControlDb(config_.database.dsn));
  } else {
    ASSIGN_OR_RETURN(db_, cp::OpenSqliteControlDb(ControlDbPath(config_)));
  }
  return db_->Migrate();
}

Status ServerImpl::BootstrapAdmin() {
  if (db_->GetUserByName("admin").ok()) return Status::Ok();
  cp::User admin;
  admin.username = "admin";
  admin.uid = 0;
  admin.gid = 0;
  admin.display_name = "Administrator";
  admin.role = cp::Role::kAdmin;
  std::string password;
  if (const char* env = std::getenv("DITTOFS_ADMIN_INITIAL_PASSWORD"); env && *env) {
    password = env;
  } else {
    password = cp::auth::GeneratePassword();
    admin.must_change_password = true;
    admin_password_ = password;
  }
  ASSIGN_OR_RETURN(admin.password_hash, cp::auth::HashPassword(password));
  ASSIGN_OR_RETURN(admin.nt_hash, cp::auth::NtHash(password));
  RETURN_IF_ERROR(db_->CreateUser(admin).status());
  LOG_INFO("controlplane: created user admin");
  return Status::Ok();
}

// First start: the database gets the config's shares (by default /export on embedded stores)
// and the NFS adapter, so a zero-config start serves a usable share with no further steps.
Status ServerImpl::SeedDefaults() {
  ASSIGN_OR_RETURN(std::vector<cp::Adapter> adapters, db_->ListAdapters());
  if (adapters.empty()) {
    cp::Adapter nfs;
    nfs.name = "nfs";
    nfs.enabled = config_.nfs.enabled;
    nfs.port = config_.nfs.port;
    nfs.bind_address = config_.nfs.bind;
    RETURN_IF_ERROR(db_->CreateAdapter(nfs).status());
    cp::Adapter smb;
    smb.name = "smb";
    smb.enabled = config_.smb.enabled;
    smb.port = config_.smb.port;
    smb.bind_address = config_.smb.bind;
    RETURN_IF_ERROR(db_->CreateAdapter(smb).status());
  }
  ASSIGN_OR_RETURN(std::vector<cp::Share> existing, db_->ListShares());
  if (!existing.empty()) return Status::Ok();
  for (const config::ShareConfig& sc : config_.shares) {
    std::string base = config::ShareDirName(sc.name);
    std::string metadata_json = "{}";
    if (sc.metadata == "rocksdb") {
      std::string dir =
          sc.metadata_dir.empty() ? config_.server.state_dir + "/metadata" : sc.metadata_dir;
      metadata_json = nlohmann::json{{"path", dir}}.dump();
    } else if (sc.metadata == "postgres") {
      metadata_json =
          nlohmann::json{{"dsn", sc.metadata_dsn}, {"schema", sc.metadata_schema}}.dump();
    }
    cp::MetadataStoreDef md{0, base + "-metadata", sc.metadata, metadata_json};
    std::string block_json = "{}";
    if (sc.block == "localfs") {
      std::string dir = sc.block_dir.empty() ? config_.server.state_dir + "/blocks" : sc.block_dir;
      block_json = nlohmann::json{{"path", dir}}.dump();
    } else if (sc.block == "tiered") {
      block_json = config::TieredBlockConfigToJson(sc.tiered);
    }
    cp::BlockStoreDef bd{0, base + "-blocks", sc.block, block_json};
    ASSIGN_OR_RETURN(md, db_->CreateMetadataStore(md));
    ASSIGN_OR_RETURN(bd, db_->CreateBlockStore(bd));
    cp::Share share;
    share.name = sc.name;
    share.metadata_store_id = md.id;
    share.block_store_id = bd.id;
    share.read_only = sc.read_only;
    ASSIGN_OR_RETURN(share.squash, cp::ParseSquash(sc.squash));
    share.anon_uid = sc.anon_uid;
    share.anon_gid = sc.anon_gid;
    share.allowed_cidrs = sc.allowed_clients;
    share.denied_cidrs = sc.denied_clients;
    ASSIGN_OR_RETURN(share.default_permission, ParseLevel(sc.default_permission));
    share.root_mode = sc.root_mode;
    ASSIGN_OR_RETURN(share.names, cp::ParseNameRules(sc.names));
    share.smb_encrypt = sc.smb_encrypt;
    share.smb_require_signing = sc.smb_require_signing;
    share.guest_ok = sc.guest_ok;
    share.smb_access_based_enumeration = sc.smb_access_based_enumeration;
    share.continuously_available = sc.continuously_available;
    share.tls = sc.tls;
    share.security.clear();
    for (const std::string& flavor : sc.security) {
      share.security += (share.security.empty() ? "" : ",") + flavor;
    }
    share.recycle = sc.recycle;
    share.recycle_retention_days = sc.recycle_retention_days;
    share.recycle_max_bytes = sc.recycle_max_bytes;
    share.recycle_exclude = sc.recycle_exclude;
    RETURN_IF_ERROR(db_->CreateShare(share).status());
    LOG_INFO("controlplane: created share {} ({} metadata, {} blocks)", sc.name, sc.metadata,
             sc.block);
  }
  return Status::Ok();
}

// Before the first reconcile: moves each share's local directories from the old naming rule to
// the current one, and notes which shares may keep their old-rule place on a remote
// (server/share_layout.h).
Status ServerImpl::MigrateLegacyLayout() {
  const std::string& state = config_.server.state_dir;
  ASSIGN_OR_RETURN(std::vector<cp::Share> shares, db_->ListShares());  // ordered by id
  std::vector<LegacyDirClaim> claims;
  // The shares of each old-rule remote place, oldest first.
  std::map<std::string, std::vector<const cp::Share*>> remotes;
  for (const cp::Share& share : shares) {
    Result<cp::MetadataStoreDef> md = db_->GetMetadataStore(share.metadata_store_id);
    Result<cp::BlockStoreDef> bd = db_->GetBlockStore(share.block_store_id);
    if (!md.ok() || !bd.ok()) continue;  // opening the share reports it
    std::vector<config::StoreLocation> places;
    for (Result<std::vector<config::StoreLocation>> some :
         {config::MetadataStoreLocations(md->type, md->config_json, state),
          config::BlockStoreLocations(bd->type, bd->config_json, state)}) {
      if (some.ok()) places.insert(places.end(), some->begin(), some->end());
    }
    std::string old_name = config::LegacyShareDirName(share.name);
    for (const config::StoreLocation& base : places) {
      if (base.role == config::StoreRole::kRemote) {
        remotes[RemoteIdentity(base) + "\n" + old_name].push_back(&share);
        continue;
      }
      claims.push_back({share.id, share.name, config::ShareLocation(base, old_name).dir,
                        config::ShareLocation(base, config::ShareDirName(share.name)).dir});
    }
  }
  RETURN_IF_ERROR(MigrateLegacyDirs(claims));
  MutexLock lock(&reconcile_mu_);
  for (const auto& [place, list] : remotes) {
    LegacyRemote& oldest = legacy_remotes_[list.front()->id];
    oldest.owner = true;
    for (size_t i = 1; i < list.size(); ++i) oldest.sharers.push_back(list[i]->name);
  }
  return Status::Ok();
}

Result<core::ShareOptions> ServerImpl::OptionsOf(const cp::Share& share) {
  core::ShareOptions o;
  o.read_only = share.read_only;
  o.squash = ToCore(share.squash);
  o.anon_uid = share.anon_uid;
  o.anon_gid = share.anon_gid;
  o.root_mode = share.root_mode;
  o.names = share.names == cp::NameRules::kWindows ? core::NameRules::Windows()
                                                   : core::NameRules::Posix();
  o.smb.encrypt = share.smb_encrypt;
  o.smb.require_signing = share.smb_require_signing;
  o.smb.guest_ok = share.guest_ok;
  o.smb.access_based_enumeration = share.smb_access_based_enumeration;
  o.smb.continuously_available = share.continuously_available;
  o.recycle = core::RecycleOptions{.enabled = share.recycle,
                                   .retention_days = share.recycle_retention_days,
                                   .max_bytes = share.recycle_max_bytes,
                                   .exclude = share.recycle_exclude};
  o.tls = share.tls == "required"        ? core::TlsPolicy::kRequired
          : share.tls == "opportunistic" ? core::TlsPolicy::kOpportunistic
                                         : core::TlsPolicy::kOff;
  // The NFS security flavors, "sys,krb5p" (the API and the config checked the names).
  o.security = core::NfsSecurity{.sys = false};
  for (std::string_view rest = share.security; !rest.empty();) {
    std::string_view flavor = rest.substr(0, rest.find(','));
    rest.remove_prefix(std::min(rest.size(), flavor.size() + 1));
    if (flavor == "sys") o.security.sys = true;
    if (flavor == "krb5") o.security.krb5 = true;
    if (flavor == "krb5i") o.security.krb5i = true;
    if (flavor == "krb5p") o.security.krb5p = true;
  }
  o.policy.default_permission = ToCore(share.default_permission);
  for (const std::string& text : share.allowed_cidrs) {
    ASSIGN_OR_RETURN(core::Cidr c, core::Cidr::Parse(text));
    o.policy.allowed_clients.push_back(std::move(c));
  }
  for (const std::string& text : share.denied_cidrs) {
    ASSIGN_OR_RETURN(core::Cidr c, core::Cidr::Parse(text));
    o.policy.denied_clients.push_back(std::move(c));
  }
  // NFS callers are known by uid: resolve each user's level (own grant, then groups, then the
  // share's default) ahead of time, so the data path only looks it up.
  ASSIGN_OR_RETURN(std::vector<cp::User> users, db_->ListUsers());
  for (const cp::User& u : users) {
    ASSIGN_OR_RETURN(cp::PermissionLevel level, db_->ResolvePermission(share.id, u.id));
    o.policy.by_uid[u.uid] = ToCore(level);
  }
  return o;
}

// Brings the served shares in line with the database. A share keeps its core::Share (stores,
// state) across changes: a policy change only swaps its policy, a block-store change moves its
// data under a drain (core::Share::ReplaceBlocks). A share that goes, or whose metadata store
// or name changes (another namespace), is retired (drained, its stores closed) before anything
// opens stores again, so that a reopened RocksDB finds its directory released.
// How often shares left offline (their metadata store unreachable) are tried again.
constexpr std::chrono::seconds kOfflineRetry{5};

Status ServerImpl::ReconcileShares() {
  MutexLock lock(&reconcile_mu_);
  ASSIGN_OR_RETURN(std::vector<cp::Share> wanted, db_->ListShares());
  std::map<core::ShareId, const cp::Share*> by_id;
  for (const cp::Share& share : wanted) by_id[static_cast<core::ShareId>(share.id)] = &share;
  std::vector<core::ShareId> gone;
  for (const auto& [id, served] : served_) {
    if (!by_id.contains(id)) gone.push_back(id);
  }
  for (core::ShareId id : gone) RetireLocked(id);
  for (const cp::Share& share : wanted) {
    ASSIGN_OR_RETURN(cp::MetadataStoreDef md, db_->GetMetadataStore(share.metadata_store_id));
    ASSIGN_OR_RETURN(cp::BlockStoreDef bd, db_->GetBlockStore(share.block_store_id));
    ASSIGN_OR_RETURN(core::ShareOptions options, OptionsOf(share));
    auto id = static_cast<core::ShareId>(share.id);
    auto it = served_.find(id);
    if (it != served_.end() &&
        (it->second.name != share.name || it->second.metadata_key != md.type + md.config_json)) {
      RetireLocked(id);
      it = served_.end();
    }
    if (it == served_.end()) {
      Status opened = OpenShareLocked(share, md, bd, std::move(options));
      if (!opened.ok() && opened.code() == Errc::kUnavailable && md.type == "postgres") {
        // Its database is down: the share stays offline, the others are served, and the
        // sweeper tries again every kOfflineRetry until it opens.
        LOG_ERROR("share {}: offline until its metadata store can be reached: {}", share.name,
                  opened.message());
        shares_offline_.store(true);
        continue;
      }
      RETURN_IF_ERROR(opened);
      continue;
    }
    ServedShare& served = it->second;
    if (served.block_key != bd.type + bd.config_json) {
      RETURN_IF_ERROR(SwitchBlocksLocked(served, share, md, bd));
    }
    // The policy may have changed: swap it, and publish it for the data path.
    served.share->SetOptions(std::move(options));
    shares_.Add(served.share);
  }
  return Status::Ok();
}

Status ServerImpl::OpenShareLocked(const cp::Share& share, const cp::MetadataStoreDef& md,
                                   const cp::BlockStoreDef& bd, core::ShareOptions options) {
  auto legacy = legacy_remotes_.find(share.id);
  ASSIGN_OR_RETURN(std::unique_ptr<stores::MetadataStore> metadata,
                   OpenMetadata(config_, share, md));
  // Which block store holds the data, and under which chunk index namespace (BlockPlacement).
  // Recorded from the first time the share is served, so that a move has a record to go back to.
  ASSIGN_OR_RETURN(std::optional<BlockPlacement> placed, ReadBlockPlacement(*metadata));
  if (!placed) {
    placed = BlockPlacement{share.block_store_id, ""};
    RETURN_IF_ERROR(WriteBlockPlacement(*metadata, *placed));
  }
  cp::BlockStoreDef holder = bd;
  bool resume = false;
  if (placed->block_store_id != bd.id) {
    // The database names the store the share was moving to; the move did not reach its commit
    // (SwitchBlocksLocked), so the data is still where the record says.
    Result<cp::BlockStoreDef> recorded = db_->GetBlockStore(placed->block_store_id);
    if (recorded.ok()) {
      LOG_WARN(
          "share {}: its move to block store {} did not finish; serving it from block store "
          "{}, which holds its data, and moving it again",
          share.name, bd.name, recorded->name);
      holder = std::move(*recorded);
      resume = true;
    } else {
      LOG_ERROR(
          "share {}: its data is on block store {}, which is gone ({}); serving it from "
          "block store {} without that data",
          share.name, placed->block_store_id, recorded.status().ToString(), bd.name);
      placed = BlockPlacement{
          bd.id, bd.type == "tiered" ? FreshIndexNamespace(bd.id, placed->index_namespace) : ""};
      RETURN_IF_ERROR(WriteBlockPlacement(*metadata, *placed));
    }
  }
  ServedShare served;
  served.name = share.name;
  served.metadata_key = md.type + md.config_json;
  served.block_key = holder.type + holder.config_json;
  served.block_type = holder.type;
  served.block_store_id = holder.id;
  served.index_namespace = placed->index_namespace;
  if (holder.type == "tiered") {
    ASSIGN_OR_RETURN(served.journal_dir, TieredJournalDir(config_, share, holder.config_json));
  }
  ASSIGN_OR_RETURN(std::unique_ptr<stores::BlockStore> blocks,
                   OpenBlocks(config_, share, md, holder, *metadata,
                              legacy == legacy_remotes_.end() ? LegacyRemote{} : legacy->second,
                              placed->index_namespace, &served.tiered));
  served.blocks = blocks.get();
  auto id = static_cast<core::ShareId>(share.id);
  ASSIGN_OR_RETURN(served.share, core::Share::Open(id, share.name, std::move(metadata),
                                                   std::move(blocks), std::move(options)));
  shares_.Add(served.share);
  ServedShare& now = served_[id] = std::move(served);
  if (resume) {
    // Served from the old store meanwhile; a failure leaves it there until the next change.
    if (Status s = SwitchBlocksLocked(now, share, md, bd); !s.ok()) {
      LOG_WARN("share {}: moving it to block store {} again: {}", share.name, bd.name,
               s.ToString());
    }
  }
  return Status::Ok();
}

// Moving a share's data to another block store, and what a crash at each point leaves:
// 1. The share's BlockPlacement names the old store (written when it was first served).
// 2. A tiered new store gets a namespace of its own (FreshIndexNamespace); the share's journal
//    directory and that namespace's records and objects there are cleared first (an earlier
//    move there may have been interrupted). A crash up to here, or in 3, finds the record naming
//    the old store: the next start serves the share from it, intact, and moves it again.
// 3. ReplaceBlocks copies every file and syncs it (a tiered store's journal makes it durable),
//    then, under the drain, commits: the record is rewritten to name the new store and its
//    namespace (a synced metadata commit). From then on a start serves the new store.
// 4. The share switches; the old store's copy is removed, and a tiered old store's namespace
//    (all its records and remote objects) deleted. A crash before that is done leaves them
//    behind, unreferenced: space, never wrong data (no other store reads that namespace, and a
//    later move to that store clears it first).
Status ServerImpl::SwitchBlocksLocked(ServedShare& served, const cp::Share& share,
                                      const cp::MetadataStoreDef& md, const cp::BlockStoreDef& bd) {
  stores::MetadataStore& metadata = served.share->metadata();
  const bool to_tiered = bd.type == "tiered";
  const BlockPlacement to{bd.id,
                          to_tiered ? FreshIndexNamespace(bd.id, served.index_namespace) : ""};
  std::string journal_dir;
  if (to_tiered) {
    ASSIGN_OR_RETURN(journal_dir, TieredJournalDir(config_, share, bd.config_json));
    if (journal_dir == served.journal_dir) {
      return Status(Errc::kBusy,
                    fmt::format("share {}: block store {} keeps the share's journal in {}, which "
                                "its current block store uses",
                                share.name, bd.name, journal_dir));
    }
    // Nothing in the share's journal there is wanted: it is what an earlier stay on that store
    // or an interrupted move left.
    std::error_code ec;
    std::filesystem::remove_all(journal_dir, ec);
    if (ec) {
      return Status(Errc::kIo, fmt::format("share {}: clearing {}: {}", share.name, journal_dir,
                                           ec.message()));
    }
    stores::TieredBlockStore* leftovers = nullptr;
    ASSIGN_OR_RETURN(std::unique_ptr<stores::BlockStore> store,
                     OpenBlocks(config_, share, md, bd, metadata, LegacyRemote{},
                                to.index_namespace, &leftovers));
    RETURN_IF_ERROR(leftovers->DeleteAll());
  }
  stores::TieredBlockStore* tiered = nullptr;
  ASSIGN_OR_RETURN(
      std::unique_ptr<stores::BlockStore> blocks,
      OpenBlocks(config_, share, md, bd, metadata, LegacyRemote{}, to.index_namespace, &tiered));
  stores::BlockStore* raw = blocks.get();
  stores::TieredBlockStore* old_tiered = served.tiered;
  core::Share::ReplaceHooks hooks;
  hooks.commit = [&] { return WriteBlockPlacement(metadata, to); };
  hooks.retire = [&](stores::BlockStore&) {
    if (old_tiered == nullptr) return;
    if (Status s = old_tiered->DeleteAll(); !s.ok()) {
      LOG_WARN(
          "share {}: deleting its chunk index and objects from the old block store: {} "
          "(what is left stays unreferenced)",
          share.name, s.ToString());
    }
  };
  RETURN_IF_ERROR(served.share->ReplaceBlocks(std::move(blocks), kShareDrain, hooks));
  served.block_key = bd.type + bd.config_json;
  served.block_type = bd.type;
  served.block_store_id = bd.id;
  served.index_namespace = to.index_namespace;
  served.journal_dir = journal_dir;
  served.blocks = raw;
  served.tiered = tiered;
  LOG_INFO("share {}: now on block store {} ({}{})", share.name, bd.name, bd.type,
           to_tiered ? ", chunk index namespace " + to.index_namespace : "");
  return Status::Ok();
}

void ServerImpl::RetireLocked(core::ShareId id) {
  auto it = served_.find(id);
  if (it == served_.end()) return;
  std::shared_ptr<core::Share> share = std::move(it->second.share);
  served_.erase(it);
  shares_.Remove(id);  // new calls find no share (STALE) ...
  // ... and those already running finish before the stores close.
  if (Status s = share->Retire(kShareDrain); !s.ok()) {
    LOG_WARN("share {} removed: {}", share->name(), s.ToString());
  } else {
    LOG_INFO("share {} removed, its stores closed", share->name());
  }
}

Result<HeldShare> ServerImpl::HoldShare(std::string_view share) {
  MutexLock lock(&reconcile_mu_);
  for (const auto& [id, served] : served_) {
    if (served.name != share) continue;
    ASSIGN_OR_RETURN(core::ShareUse use, served.share->Use());
    return HeldShare{std::move(use), served.block_type, served.blocks, served.tiered};
  }
  return Status(Errc::kNotFound, fmt::format("share {} is not being served", share));
}

// At most this many locks are listed per share, and opens per SMB session.
constexpr size_t kMaxListedLocks = 10000;
constexpr size_t kMaxListedOpens = 10000;

Result<std::string> ServerImpl::ShareLocks(std::string_view share) {
  ASSIGN_OR_RETURN(HeldShare held, HoldShare(share));
  nlohmann::json out = nlohmann::json::array();
  for (const auto& [file, lock] : held.use.vfs().state().locks.AllLocks(kMaxListedLocks)) {
    nlohmann::json owner;
    std::optional<nfs::NlmOwnerInfo> nlm;
    if (lock.owner.flavor == core::LockFlavor::kPosix && nlm_) nlm = nlm_->OwnerInfo(lock.owner.id);
    if (nlm) {
      owner = {{"protocol", "nlm"},
               {"client", "nlm:" + nlm->address + "/" + nlm->host},
               {"host", nlm->host},
               {"address", nlm->address},
               {"svid", nlm->svid}};
    } else {
      owner = {{"protocol", lock.owner.flavor == core::LockFlavor::kWindows ? "smb" : "nfs"},
               {"id", fmt::format("{:016x}", lock.owner.id)}};
    }
    out.push_back(
        {{"file", file},
         {"offset", lock.offset},
         {"length", lock.length},
         {"exclusive", lock.exclusive},
         {"flavor", lock.owner.flavor == core::LockFlavor::kWindows ? "windows" : "posix"},
         {"owner", std::move(owner)}});
  }
  return out.dump();
}

Result<std::string> ServerImpl::Clients() {
  nlohmann::json out = nlohmann::json::array();
  if (nlm_) {
    for (const nfs::NlmHostInfo& h : nlm_->Hosts()) {
      out.push_back({{"id", "nlm:" + h.address + "/" + h.name},
                     {"protocol", "nlm"},
                     {"name", h.name},
                     {"address", h.address},
                     {"monitored", h.monitored},
                     {"lock_owners", h.owners},
                     {"blocked_locks", h.blocked},
                     {"share_reservations", h.shares}});
    }
  }
  if (nfs4_) {
    for (const nfs::Nfs4ClientInfo& c : nfs4_->Clients()) {
      nlohmann::json states = nlohmann::json::array();
      size_t opens = 0, locks = 0, delegations = 0;
      for (const auto& st : c.states) {
        (st.kind == "open" ? opens : st.kind == "lock" ? locks : delegations) += 1;
        nlohmann::json j{{"kind", st.kind}, {"share_id", st.share}, {"file", st.file}};
        if (st.kind == "open") {
          j["share_access"] = st.share_access;
          j["share_deny"] = st.share_deny;
        }
        states.push_back(std::move(j));
      }
      out.push_back({{"id", fmt::format("nfs4:{:016x}", c.id)},
                     {"protocol", c.minor == 0 ? "nfs4.0" : "nfs4.1"},
                     {"name", c.owner},
                     {"address", c.address},
                     {"confirmed", c.confirmed},
                     {"expired", c.expired},
                     {"lease_left_s", c.lease_left_s},
                     {"sessions", c.sessions},
                     {"opens", opens},
                     {"locks", locks},
                     {"delegations", delegations},
                     {"state", std::move(states)}});
    }
  }
  for (const auto& admin : SmbAdmins()) {
    for (const smb::SmbSessionInfo& s : admin->Sessions(kMaxListedOpens)) {
      nlohmann::json states = nlohmann::json::array();
      size_t leases = 0;
      for (const smb::SmbOpenInfo& o : s.opens) {
        if (!o.caching.empty()) ++leases;
        states.push_back({{"kind", "open"},
                          {"share_id", o.share},
                          {"file", o.file},
                          {"path", o.path},
                          {"access", o.access},
                          {"caching", o.caching}});
      }
      out.push_back({{"id", fmt::format("smb:{:016x}", s.id)},
                     {"protocol", "smb" + s.dialect},
                     {"name", s.guest ? "(guest)" : s.user},
                     {"address", s.address},
                     {"signing", s.signing},
                     {"encryption", s.encryption},
                     {"trees", s.trees},
                     {"opens", s.opens.size()},
                     {"leases", leases},
                     {"state", std::move(states)}});
    }
  }
  // Names come from clients (NLM caller names, NFSv4 owners, SMB paths): bytes that are not
  // UTF-8 become U+FFFD instead of making the dump throw.
  return out.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

std::vector<std::shared_ptr<smb::SmbAdmin>> ServerImpl::SmbAdmins() {
  std::vector<std::shared_ptr<smb::SmbAdmin>> out;
  MutexLock lock(&smb_admins_mu_);
  for (const auto& w : smb_admins_) {
    if (auto a = w.lock()) out.push_back(std::move(a));
  }
  return out;
}

Status ServerImpl::EvictClient(std::string_view id) {
  constexpr std::string_view kSmb = "smb:";
  if (id.starts_with(kSmb)) {
    id.remove_prefix(kSmb.size());
    uint64_t session = 0;
    auto [end, ec] = std::from_chars(id.data(), id.data() + id.size(), session, 16);
    if (ec != std::errc() || end != id.data() + id.size()) return Errc::kNotFound;
    for (const auto& admin : SmbAdmins()) {
      if (admin->Evict(session).ok()) return Status::Ok();
    }
    return Errc::kNotFound;
  }
  constexpr std::string_view kNfs4 = "nfs4:";
  if (nfs4_ && id.starts_with(kNfs4)) {
    id.remove_prefix(kNfs4.size());
    uint64_t clientid = 0;
    auto [end, ec] = std::from_chars(id.data(), id.data() + id.size(), clientid, 16);
    if (ec != std::errc() || end != id.data() + id.size()) return Errc::kNotFound;
    return nfs4_->Evict(clientid);
  }
  constexpr std::string_view kNlm = "nlm:";
  if (!nlm_ || !id.starts_with(kNlm)) return Errc::kNotFound;
  id.remove_prefix(kNlm.size());
  const size_t slash = id.find('/');
  if (slash == std::string_view::npos) return Errc::kNotFound;
  return nlm_->Evict(id.substr(0, slash), id.substr(slash + 1));
}

// At most this many files of a recycle bin are listed (the oldest); "bytes" counts them all.
constexpr size_t kMaxListedTrash = 10000;
// How often the recycle bins are purged of what is past their retention or over their cap.
constexpr std::chrono::nanoseconds kTrashPurgeInterval = std::chrono::hours(1);
// A share's quota deltas are folded into its usage records when this many wait, and every
// kQuotaFoldInterval in any case (docs/quotas.md).
constexpr uint64_t kQuotaFoldAt = 4096;
constexpr int kQuotaFoldBatches = 64;       // at most this many batches of kQuotaFoldAt a turn
constexpr int64_t kQuotaFoldInterval = 60;  // sweeper ticks (seconds)
// How often snapshot schedules are looked at (sweeper ticks, seconds): a scheduled snapshot
// is at most this late.
constexpr int64_t kSnapshotScheduleInterval = 10;

// "2024-05-01T10:00:00Z": RFC 3339, UTC, whole seconds.
std::string Rfc3339Utc(const Timespec& t) {
  std::string text = FormatUtc(t.sec, "%Y-%m-%dT%H:%M:%SZ");
  return text.empty() ? "1970-01-01T00:00:00Z" : text;  // a year beyond what struct tm holds
}

Result<std::string> ServerImpl::Trash(std::string_view share) {
  ASSIGN_OR_RETURN(HeldShare held, HoldShare(share));
  core::Vfs& vfs = held.use.vfs();
  ASSIGN_OR_RETURN(std::vector<core::Vfs::TrashItem> items, vfs.ListTrash(kMaxListedTrash));
  ASSIGN_OR_RETURN(uint64_t bytes, vfs.TrashBytes());
  nlohmann::json list = nlohmann::json::array();
  for (const core::Vfs::TrashItem& item : items) {
    list.push_back({{"id", item.id},
                    {"path", item.path},
                    {"bin_path", item.bin_path},
                    {"size", item.size},
                    {"removed", Rfc3339Utc(item.removed)},
                    {"uid", item.uid}});
  }
  // Names on a posix share may be any bytes: those that are not UTF-8 become U+FFFD.
  return nlohmann::json{{"bytes", bytes}, {"items", std::move(list)}}.dump(
      -1, ' ', false, nlohmann::json::error_handler_t::replace);
}

Result<std::string> ServerImpl::RestoreTrash(std::string_view share, uint64_t id,
                                             std::string_view to) {
  ASSIGN_OR_RETURN(HeldShare held, HoldShare(share));
  return held.use.vfs().RestoreTrash(id, to);
}

Result<uint64_t> ServerImpl::EmptyTrash(std::string_view share) {
  ASSIGN_OR_RETURN(HeldShare held, HoldShare(share));
  return held.use.vfs().EmptyTrash();
}

namespace {
nlohmann::json QuotaJson(const core::QuotaEntry& e) {
  nlohmann::json grace = nullptr;
  if (e.grace_expires != 0) grace = Rfc3339Utc(Timespec{e.grace_expires, 0});
  return {{"kind", core::QuotaKindName(e.kind)},
          {"id", e.id},
          {"used_bytes", e.used_bytes},
          {"used_files", e.used_files},
          {"hard_bytes", e.limits.hard_bytes},
          {"soft_bytes", e.limits.soft_bytes},
          {"hard_files", e.limits.hard_files},
          {"soft_files", e.limits.soft_files},
          {"grace_seconds", e.limits.grace_seconds},
          {"grace_expires", std::move(grace)},
          {"state", e.state}};
}
}  // namespace

Result<std::string> ServerImpl::Quotas(std::string_view share) {
  ASSIGN_OR_RETURN(HeldShare held, HoldShare(share));
  const core::QuotaTable& quotas = held.use.vfs().quotas();
  nlohmann::json users = nlohmann::json::array();
  nlohmann::json groups = nlohmann::json::array();
  for (const core::QuotaEntry& e : quotas.Report()) {
    if (e.kind == core::QuotaKind::kUser) users.push_back(QuotaJson(e));
    if (e.kind == core::QuotaKind::kGroup) groups.push_back(QuotaJson(e));
  }
  return nlohmann::json{{"share", QuotaJson(quotas.Get(core::QuotaKind::kShare, 0))},
                        {"users", std::move(users)},
                        {"groups", std::move(groups)}}
      .dump();
}

Result<std::string> ServerImpl::SetQuota(std::string_view share, core::QuotaKind kind, uint32_t id,
                                         const core::QuotaLimits& limits) {
  ASSIGN_OR_RETURN(HeldShare held, HoldShare(share));
  core::QuotaTable& quotas = held.use.vfs().quotas();
  RETURN_IF_ERROR(quotas.SetLimits(kind, id, limits));
  return QuotaJson(quotas.Get(kind, id)).dump();
}

namespace {
nlohmann::json JobJson(const core::JobInfo& job) {
  nlohmann::json percent = nullptr;
  if (job.percent) percent = std::round(*job.percent * 10) / 10;
  nlohmann::json error = nullptr;
  if (job.state == core::JobState::kFailed) error = job.error;
  nlohmann::json finished = nullptr;
  if (job.state != core::JobState::kRunning) finished = Rfc3339Utc(job.finished);
  return {{"id", job.id},
          {"kind", job.kind},
          {"share", job.share},
          {"state", core::JobStateName(job.state)},
          {"percent", std::move(percent)},
          {"done", job.done},
          {"total", job.total},
          {"unit", job.unit},
          {"error", std::move(error)},
          {"cancellable", job.cancellable},
          {"started", Rfc3339Utc(job.started)},
          {"finished", std::move(finished)}};
}
}  // namespace

Result<std::shared_ptr<core::Share>> ServerImpl::FindServed(std::string_view share) {
  MutexLock lock(&reconcile_mu_);
  for (const auto& [id, s] : served_) {
    if (s.name == share) return s.share;
  }
  return Status(Errc::kNotFound, fmt::format("share {} is not being served", share));
}

Result<std::string> ServerImpl::StartJob(std::string_view share, std::string_view kind) {
  if (kind == "quota-recount") {
    // The share pauses while it is counted: the job holds no operation of it, and waits for
    // the running ones to end (Share::RunQuiesced).
    ASSIGN_OR_RETURN(std::shared_ptr<core::Share> served, FindServed(share));
    const auto drain = std::chrono::seconds(config_.server.shutdown_timeout_s);
    return JobJson(jobs_.Start("quota-recount", std::string(share), "files", /*cancellable=*/true,
                               [served, drain](core::JobProgress& progress) {
                                 return served->RunQuiesced(drain, [&] {
                                   return served->vfs()->quotas().Recount(&progress);
                                 });
                               }))
        .dump();
  }
  if (kind != "sync" && kind != "gc" && kind != "reconcile") {
    return Status(Errc::kInvalid, fmt::format("no job kind '{}' (sync, gc, reconcile, "
                                              "quota-recount)",
                                              kind));
  }
  ASSIGN_OR_RETURN(HeldShare held, HoldShare(share));
  if (held.tiered == nullptr) {
    return Status(Errc::kNotSupported,
                  fmt::format("share {} has no remote ({} blocks)", share, held.block_type));
  }
  // The job holds the share until its work ends (a retire waits for it, as for any operation).
  auto hold = std::make_shared<HeldShare>(std::move(held));
  stores::TieredBlockStore* tiered = hold->tiered;
  if (kind == "sync") {
    // How far: the journal's dirty bytes when it started, less those still dirty.
    const uint64_t dirty = tiered->Stats().journal.dirty_bytes;
    // Canceled, it stops waiting; what it made urgent still uploads in the background.
    return JobJson(jobs_.Start(
                       "sync", std::string(share), "bytes", /*cancellable=*/true,
                       [hold, tiered, dirty](core::JobProgress& progress) {
                         progress.SetTotal(dirty);
                         stores::PassProgress pass;
                         pass.canceled = [&progress] { return progress.canceled(); };
                         RETURN_IF_ERROR(tiered->Flush(&pass));
                         progress.SetDone(dirty);
                         return Status::Ok();
                       },
                       [tiered, dirty](core::JobProgress& progress) {
                         const uint64_t now = tiered->Stats().journal.dirty_bytes;
                         progress.SetDone(dirty > now ? dirty - now : 0);
                       }))
        .dump();
  }
  // GC: the due objects, counted first; reconcile: the files with data, then the remote's
  // objects (the total known once it is listed). Both stop between steps when canceled.
  const bool gc = kind == "gc";
  auto pass = std::make_shared<stores::PassProgress>();
  return JobJson(jobs_.Start(
                     std::string(kind), std::string(share), gc ? "objects" : "items",
                     /*cancellable=*/true,
                     [hold, tiered, gc, pass](core::JobProgress& progress) {
                       pass->canceled = [&progress] { return progress.canceled(); };
                       Status s =
                           gc ? tiered->CollectGarbage(pass.get()) : tiered->Reconcile(pass.get());
                       progress.SetTotal(pass->total.load());
                       progress.SetDone(pass->done.load());
                       return s;
                     },
                     [pass](core::JobProgress& progress) {
                       progress.SetTotal(pass->total.load());
                       progress.SetDone(pass->done.load());
                     }))
      .dump();
}

namespace {
nlohmann::json SnapshotJson(const core::SnapshotInfo& s) {
  return {{"name", s.name},
          {"state", core::SnapshotStateName(s.state)},
          {"created", Rfc3339Utc(s.created)},
          {"files", s.files},
          {"bytes", s.bytes}};
}
}  // namespace

Result<std::string> ServerImpl::Snapshots(std::string_view share) {
  ASSIGN_OR_RETURN(std::shared_ptr<core::Share> served, FindServed(share));
  ASSIGN_OR_RETURN(std::vector<core::SnapshotInfo> snapshots, served->ListSnapshots());
  nlohmann::json out = nlohmann::json::array();
  for (const core::SnapshotInfo& s : snapshots) out.push_back(SnapshotJson(s));
  return out.dump();
}

Result<std::string> ServerImpl::Snapshot(std::string_view share, std::string_view name) {
  ASSIGN_OR_RETURN(std::shared_ptr<core::Share> served, FindServed(share));
  ASSIGN_OR_RETURN(core::SnapshotInfo snapshot, served->GetSnapshot(name));
  return SnapshotJson(snapshot).dump();
}

Result<std::string> ServerImpl::StartSnapshotJob(std::string_view share, std::string_view kind,
                                                 std::string_view name, std::string_view safety) {
  ASSIGN_OR_RETURN(std::shared_ptr<core::Share> served, FindServed(share));
  // What can be refused now is, so that the answer is an error rather than a failed job.
  for (const core::JobInfo& job : jobs_.List()) {
    if (job.state == core::JobState::kRunning && job.share == share &&
        job.kind.starts_with("snapshot-")) {
      return Status(Errc::kBusy, fmt::format("share {}: job {} ({}) runs; one snapshot job at "
                                             "a time",
                                             share, job.id, job.kind));
    }
  }
  auto taken = [&](std::string_view n) -> Status {
    Result<core::SnapshotInfo> s = served->GetSnapshot(n);
    if (s.ok()) return Status(Errc::kExists, fmt::format("snapshot {} exists", n));
    return s.status().code() == Errc::kNotFound ? Status::Ok() : s.status();
  };
  const auto drain = std::chrono::seconds(config_.server.shutdown_timeout_s);
  std::string n(name);
  if (kind == "snapshot-create") {
    RETURN_IF_ERROR(core::CheckSnapshotName(n));
    RETURN_IF_ERROR(taken(n));
    return JobJson(jobs_.Start("snapshot-create", std::string(share), "objects",
                               /*cancellable=*/true,
                               [served, n, drain](core::JobProgress& progress) {
                                 return served->CreateSnapshot(n, drain, &progress).status();
                               }))
        .dump();
  }
  ASSIGN_OR_RETURN(core::SnapshotInfo target, served->GetSnapshot(n));
  if (kind == "snapshot-delete") {
    return JobJson(jobs_.Start("snapshot-delete", std::string(share), "objects",
                               /*cancellable=*/true,
                               [served, n](core::JobProgress& progress) {
                                 return served->DeleteSnapshot(n, &progress);
                               }))
        .dump();
  }
  if (kind == "snapshot-restore") {
    if (target.state != core::SnapshotState::kReady) {
      return Status(Errc::kBusy,
                    fmt::format("snapshot {} is {}", n, core::SnapshotStateName(target.state)));
    }
    std::string safe(safety);
    if (!safe.empty()) {
      RETURN_IF_ERROR(core::CheckSnapshotName(safe));
      RETURN_IF_ERROR(taken(safe));
    }
    // Canceled halfway, the share goes back to its safety snapshot; without one, it cannot stop.
    return JobJson(jobs_.Start("snapshot-restore", std::string(share), "objects",
                               /*cancellable=*/!safe.empty(),
                               [served, n, safe, drain](core::JobProgress& progress) {
                                 return served->RestoreSnapshot(n, safe, drain, &progress);
                               }))
        .dump();
  }
  return Status(Errc::kInvalid, fmt::format("no snapshot job '{}'", kind));
}

namespace {
nlohmann::json PolicyJson(const core::SnapshotPolicy& p) {
  nlohmann::json since = nullptr;
  if (p.since != 0) since = Rfc3339Utc(Timespec{p.since, 0});
  return {{"interval_seconds", p.interval_s},
          {"cron", p.cron},
          {"keep_last", p.keep_last},
          {"ttl_seconds", p.ttl_s},
          {"since", std::move(since)}};
}
}  // namespace

Result<std::string> ServerImpl::SnapshotPolicy(std::string_view share) {
  ASSIGN_OR_RETURN(std::shared_ptr<core::Share> served, FindServed(share));
  ASSIGN_OR_RETURN(core::SnapshotPolicy policy, served->GetSnapshotPolicy());
  return PolicyJson(policy).dump();
}

Result<std::string> ServerImpl::SetSnapshotPolicy(std::string_view share,
                                                  const core::SnapshotPolicy& policy) {
  ASSIGN_OR_RETURN(std::shared_ptr<core::Share> served, FindServed(share));
  RETURN_IF_ERROR(served->SetSnapshotPolicy(policy));
  ASSIGN_OR_RETURN(core::SnapshotPolicy stored, served->GetSnapshotPolicy());
  return PolicyJson(stored).dump();
}

void ServerImpl::RunSnapshotSchedules() {
  for (const std::shared_ptr<core::Share>& share : shares_.All()) {
    Result<core::SnapshotPolicy> policy = share->GetSnapshotPolicy();
    if (!policy.ok() || (!policy->enabled() && policy->keep_last == 0 && policy->ttl_s == 0)) {
      continue;
    }
    Result<std::vector<core::SnapshotInfo>> snapshots = share->ListSnapshots();
    if (!snapshots.ok()) continue;
    core::ScheduleWork work = core::DueSnapshotWork(*policy, *snapshots, Now().sec);
    // One job at a time per share: StartSnapshotJob refuses (kBusy) while one runs, and the
    // next round tries again.
    if (!work.take && work.expire.empty()) continue;
    Result<std::string> started =
        work.take ? StartSnapshotJob(share->name(), "snapshot-create", *work.take, "")
                  : StartSnapshotJob(share->name(), "snapshot-delete", work.expire.front(), "");
    if (!started.ok() && started.status().code() != Errc::kBusy) {
      LOG_WARN("share {}: scheduled snapshot work: {}", share->name(), started.status().ToString());
    }
  }
}

Result<std::string> ServerImpl::Jobs() {
  nlohmann::json out = nlohmann::json::array();
  for (const core::JobInfo& job : jobs_.List()) out.push_back(JobJson(job));
  return out.dump();
}

Result<std::string> ServerImpl::Job(uint64_t id) {
  ASSIGN_OR_RETURN(core::JobInfo job, jobs_.Get(id));
  return JobJson(job).dump();
}

Result<std::string> ServerImpl::CancelJob(uint64_t id) {
  ASSIGN_OR_RETURN(core::JobInfo job, jobs_.Cancel(id));
  return JobJson(job).dump();
}

void ServerImpl::FoldQuotas(bool all) {
  for (const std::shared_ptr<core::Share>& share : shares_.All()) {
    Result<core::ShareUse> use = share->Use();
    if (!use.ok()) continue;
    core::QuotaTable& quotas = use->vfs().quotas();
    if (!all && quotas.unfolded() < kQuotaFoldAt) continue;
    // Batch after batch, so that a share taking writes faster than one batch a second does not
    // leave deltas piling up; bounded, so that one share does not hold up the others' turn.
    for (int batch = 0; batch < kQuotaFoldBatches; ++batch) {
      Result<size_t> folded = quotas.Fold(kQuotaFoldAt);
      if (!folded.ok()) {
        LOG_WARN("share {}: folding its quota usage: {}", share->name(),
                 folded.status().ToString());
        break;
      }
      if (*folded < kQuotaFoldAt) break;
    }
  }
}

void ServerImpl::PurgeRecycleBins() {
  for (const std::shared_ptr<core::Share>& share : shares_.All()) {
    Result<core::ShareUse> use = share->Use();
    if (!use.ok()) continue;  // retired, or moving to another block store: the next round
    if (!use->vfs().options().recycle.enabled) continue;
    Result<uint64_t> purged = use->vfs().PurgeTrash();
    if (!purged.ok()) {
      LOG_WARN("share {}: purging the recycle bin: {}", share->name(), purged.status().ToString());
    } else if (*purged > 0) {
      LOG_INFO("share {}: {} files left the recycle bin for good", share->name(), *purged);
    }
  }
}

Result<std::string> ServerImpl::ShareStatus(std::string_view share) {
  ASSIGN_OR_RETURN(HeldShare held, HoldShare(share));
  const HeldShare* st = &held;
  nlohmann::json j;
  j["share"] = share;
  j["block_store"] = st->block_type;
  j["used_bytes"] = st->blocks->UsedBytes();
  if (st->tiered != nullptr) {
    stores::TieredStats t = st->tiered->Stats();
    j["journal"] = {
        {"dirty_bytes", t.journal.dirty_bytes},     {"clean_bytes", t.journal.clean_bytes},
        {"disk_bytes", t.journal.disk_bytes},       {"segments", t.journal.segments},
        {"free_segments", t.journal.free_segments}, {"free_bytes", t.journal.free_bytes}};
    j["dirty_files"] = t.dirty_files;
    j["carve_passes"] = t.carve_passes;
    j["carved_bytes"] = t.carved_bytes;
    j["chunks_new"] = t.chunks_new;
    j["chunks_deduplicated"] = t.chunks_deduplicated;
    j["deduplicated_bytes"] = t.deduplicated_bytes;
    j["objects_uploaded"] = t.objects_uploaded;
    j["uploaded_bytes"] = t.uploaded_bytes;
    j["upload_failures"] = t.upload_failures;
    j["chunks_fetched"] = t.chunks_fetched;
    j["corruption_events"] = t.corruption_events;
    j["gc_objects_deleted"] = t.gc_objects_deleted;
    j["orphans_deleted"] = t.orphans_deleted;
    j["orphan_extents_released"] = t.orphan_extents_released;
  }
  return j.dump();
}

Status ServerImpl::SyncShare(std::string_view share) {
  ASSIGN_OR_RETURN(HeldShare st, HoldShare(share));
  if (st.tiered == nullptr) {
    return Status(Errc::kNotSupported, fmt::format("share {} has no remote to sync to ({} blocks)",
                                                   share, st.block_type));
  }
  return st.tiered->Flush();
}

Status ServerImpl::ReconcileAdapters() {
  MutexLock lock(&reconcile_mu_);
  ASSIGN_OR_RETURN(std::vector<cp::Adapter> rows, db_->ListAdapters());
  std::map<std::string, const cp::Adapter*, std::less<>> wanted;
  for (const cp::Adapter& row : rows) {
    if (row.enabled) wanted[row.name] = &row;
  }
  const auto drain = std::chrono::seconds(config_.server.shutdown_timeout_s);
  // Disabled, removed or changed adapters stop first (closing their listeners and
  // connections), so that a moved one may take its new port.
  for (auto it = adapters_.begin(); it != adapters_.end();) {
    auto want = wanted.find(it->first);
    if (want != wanted.end() && *want->second == it->second.row) {
      ++it;
      continue;
    }
    it->second.listener->Stop(drain);
    if (it->first == "nfs") nfs_port_ = 0;
    if (it->first == "smb") smb_port_ = 0;
    LOG_INFO("{}: adapter stopped", it->first);
    it = adapters_.erase(it);
  }
  Status first_error;
  for (const auto& [name, row] : wanted) {
    if (adapters_.contains(name)) continue;
    auto kind = std::find_if(adapter_kinds_.begin(), adapter_kinds_.end(),
                             [&n = name](const AdapterKind& k) { return k.name == n; });
    if (kind == adapter_kinds_.end()) {
      LOG_WARN("adapter '{}' is enabled, but this build has no such protocol: not started", name);
      continue;
    }
    Result<std::unique_ptr<Listener>> listener = kind->start(*row, PoolOf(*row));
    if (!listener.ok()) {
      LOG_ERROR("{}: adapter not started: {}", name, listener.status().ToString());
      if (first_error.ok()) first_error = listener.status();
      continue;
    }
    if (name == "nfs") nfs_port_ = (*listener)->port();
    if (name == "smb") smb_port_ = (*listener)->port();
    adapters_[name] = RunningAdapter{*row, std::move(listener).value()};
  }
  return first_error;
}

Result<std::unique_ptr<Listener>> ServerImpl::StartNfs(const cp::Adapter& row,
                                                       const PoolSettings& pool) {
  rpc::TcpServerOptions o;
  net::StreamServerOptions& t = o.stream;
  t.bind_address = row.bind_address;
  t.port = static_cast<uint16_t>(row.port);
  t.max_connections = config_.nfs.max_connections;
  t.max_connections_per_client = config_.nfs.max_connections_per_client;
  t.idle_timeout = std::chrono::seconds(config_.nfs.idle_timeout_s);
  t.message_timeout = std::chrono::seconds(config_.nfs.record_timeout_s);
  t.partial_message_budget = config_.nfs.partial_record_budget;
  t.max_outstanding_per_connection = config_.nfs.max_outstanding;
  t.io_threads = pool.io_threads > 0 ? pool.io_threads : config_.nfs.io_threads;
  t.worker_threads = pool.workers > 0 ? pool.workers : config_.nfs.workers;
  t.running_workers = config_.nfs.running_workers;
  t.poll_window = std::chrono::microseconds(config_.nfs.poll_us);
  o.max_record_size = config_.nfs.max_record_size;
  o.inline_fast_calls = config_.nfs.inline_fast_calls;
  if (config_.nfs.tls.enabled()) {
    // RPC-with-TLS (RFC 9289) on the NFS port: TLS 1.3, ALPN "sunrpc" (§5.2).
    net::TlsServerOptions tls;
    tls.cert_file = config_.nfs.tls.cert_file;
    tls.key_file = config_.nfs.tls.key_file;
    tls.client_ca_file = config_.nfs.tls.client_ca_file;
    tls.alpn = {"sunrpc"};
    Result<std::unique_ptr<net::TlsServer>> opened = net::OpenTlsServer(tls);
    if (!opened.ok()) {
      return Status(Errc::kInvalid,
                    "nfs.tls: " + opened.status().message() + " (`dfs tls check` says more)");
    }
    // Shared with the connections' handshakes, which may outlive this function's caller's
    // hold on the listener for a moment at shutdown.
    std::shared_ptr<net::TlsServer> server = std::move(opened).value();
    o.start_tls = [server] { return server->NewTransform(); };
    t.handshake_timeout = std::chrono::milliseconds(config_.nfs.tls.handshake_timeout_ms);
    LOG_INFO("nfs: TLS offered (certificate {}{})", tls.cert_file,
             tls.client_ca_file.empty() ? "" : ", client certificates required");
  }
  ASSIGN_OR_RETURN(std::unique_ptr<net::StreamServer> server,
                   rpc::StartRpcTcpServer(o, dispatcher_));
  std::unique_ptr<net::DatagramServer> udp;
  if (config_.nfs.udp) {
    net::DatagramServerOptions u;
    u.bind_address = row.bind_address;
    u.port = server->port();
    u.worker_threads = std::max<size_t>(2, t.worker_threads / 2);
    Result<std::unique_ptr<net::DatagramServer>> started = rpc::StartRpcUdpServer(u, dispatcher_);
    if (started.ok()) {
      udp = std::move(started).value();
    } else {
      // The TCP side serves on: every current client speaks TCP, and the UDP port number may
      // be another program's.
      LOG_WARN("nfs: not serving over UDP: {}", started.status().ToString());
    }
  }
  LOG_INFO("nfs: NFSv3 and MOUNT v3 listening on {}:{} ({} workers, {} I/O threads{})",
           row.bind_address, server->port(), t.worker_threads, t.io_threads,
           udp ? "; UDP too" : "");
  RpcServers portmap;
  if (config_.nfs.portmap) portmap = StartPortmap(row.bind_address, server->port(), udp != nullptr);
  std::vector<RpcbindEntry> rpcbind;
  if (config_.nfs.rpcbind) {
    for (const auto& [prog, vers] : NfsPortPrograms()) {
      rpcbind.push_back({prog, vers, false, server->port()});
      if (udp) rpcbind.push_back({prog, vers, true, server->port()});
    }
    // A mapping left by an earlier run would make SET fail.
    RegisterWithRpcbind(rpcbind, false);
    const size_t accepted = RegisterWithRpcbind(rpcbind, true);
    if (accepted == rpcbind.size()) {
      LOG_INFO("nfs: registered {} program versions with the host's rpcbind", accepted);
    } else {
      LOG_WARN("nfs: the host's rpcbind (127.0.0.1:111) accepted {} of {} registrations", accepted,
               rpcbind.size());
    }
  }
  return std::unique_ptr<Listener>(std::make_unique<RpcListener>(
      RpcServers{std::move(server), std::move(udp)}, std::move(portmap), std::move(rpcbind)));
}

void ServerImpl::ServeVersions(const config::NfsConfig& nfs) {
  const bool v4 = nfs.v4_0 || nfs.v4_1 || nfs.v4_2;
  v3_served_ = nfs.v3;
  v4_served_ = v4;
  dispatcher_.SetEnabled(nfs::NFS_PROGRAM, nfs::NFS_V3, nfs.v3);
  dispatcher_.SetEnabled(nfs::MOUNT_PROGRAM, nfs::MOUNT_V3, nfs.v3);
  dispatcher_.SetEnabled(nfs::NFS4_PROGRAM, nfs::NFS_V4, v4);
  nfs4_->SetMinorVersions(nfs.v4_0, nfs.v4_1, nfs.v4_2);
  RegisterPortPrograms();
}

void ServerImpl::RegisterPortPrograms() {
  MutexLock lock(&portmap_mu_);
  if (portmap_nfs_port_ == 0) return;  // no embedded port mapper (yet)
  const auto add = [&](uint32_t prog, uint32_t vers) {
    portmap_.Register(prog, vers, "tcp", portmap_nfs_port_);
    if (portmap_udp_) portmap_.Register(prog, vers, "udp", portmap_nfs_port_);
    if (portmap_v6_) {
      portmap_.Register(prog, vers, "tcp6", portmap_nfs_port_);
      if (portmap_udp_) portmap_.Register(prog, vers, "udp6", portmap_nfs_port_);
    }
  };
  portmap_.Unregister(nfs::NFS_PROGRAM);
  portmap_.Unregister(nfs::MOUNT_PROGRAM);
  for (const auto& [prog, vers] : NfsPortPrograms()) {
    portmap_.Unregister(prog, vers);
    add(prog, vers);
  }
}

std::vector<std::pair<uint32_t, uint32_t>> ServerImpl::NfsPortPrograms() const {
  std::vector<std::pair<uint32_t, uint32_t>> out;
  if (v3_served_) {
    out.emplace_back(nfs::NFS_PROGRAM, nfs::NFS_V3);
    out.emplace_back(nfs::MOUNT_PROGRAM, nfs::MOUNT_V3);
  }
  if (v4_served_) out.emplace_back(nfs::NFS4_PROGRAM, nfs::NFS_V4);
  if (nlm_) {
    for (uint32_t vers : {nfs::NLM_VERS, nfs::NLM_VERSX, nfs::NLM4_VERS}) {
      out.emplace_back(nfs::NLM_PROG, vers);
    }
    out.emplace_back(nfs::SM_PROG, nfs::SM_VERS);
  }
  return out;
}

Status ServerImpl::OpenStateStore() {
  if (state_store_) return Status::Ok();
  if (config_.state_store.type == "postgres") {
    ASSIGN_OR_RETURN(state_store_,
                     stores::OpenPostgresStateStore(
                         {.dsn = config_.state_store.dsn, .schema = config_.state_store.schema}));
    LOG_INFO("state store: PostgreSQL, schema {}", config_.state_store.schema);
  } else {
    ASSIGN_OR_RETURN(state_store_,
                     stores::OpenRocksDbStateStore(config_.server.state_dir + "/state"));
  }
  ASSIGN_OR_RETURN(state_epoch_, state_store_->NextEpoch());
  return Status::Ok();
}

Status ServerImpl::StartNfs4Grace() {
  RETURN_IF_ERROR(OpenStateStore());
  nfs4_records_ = std::make_unique<StateTableRecords>(*state_store_, stores::StateTable::kClients);
  return nfs4_->BeginGrace(nfs4_records_.get(), std::chrono::seconds(grace_s_.load()));
}

Status ServerImpl::StartNlm() {
  RETURN_IF_ERROR(OpenStateStore());
  const uint64_t epoch = state_epoch_;
  nsm_records_ = std::make_unique<StateTableRecords>(*state_store_, stores::StateTable::kNsmHosts);
  nfs::NlmOptions o;
  o.grace = std::chrono::seconds(grace_s_.load());
  o.client_portmap_port = config_.nfs.client_portmap_port;
  // NSM state numbers are odd while the server runs and grow with every start.
  o.nsm_state = static_cast<int32_t>(2 * (epoch % (uint64_t{1} << 30)) + 1);
  nlm_ = std::make_unique<nfs::NlmService>(shares_, handles_, nsm_records_.get(), o);
  for (rpc::ProgramVersion& p : nlm_->Programs()) dispatcher_.Add(std::move(p));
  return nlm_->Start();
}

RpcServers ServerImpl::StartPortmap(const std::string& bind, uint16_t port, bool udp) {
  // What an earlier start of the adapter registered is stale now.
  portmap_.Unregister(rpc::kPortmapProgram);
  const bool v6 = bind.find(':') != std::string::npos;
  const auto add = [&](uint32_t prog, uint32_t vers, uint16_t at, bool with_udp) {
    portmap_.Register(prog, vers, "tcp", at);
    if (with_udp) portmap_.Register(prog, vers, "udp", at);
    if (v6) {
      portmap_.Register(prog, vers, "tcp6", at);
      if (with_udp) portmap_.Register(prog, vers, "udp6", at);
    }
  };
  {
    MutexLock lock(&portmap_mu_);
    portmap_nfs_port_ = port;
    portmap_udp_ = udp;
    portmap_v6_ = v6;
  }
  RegisterPortPrograms();

  RpcServers out;
  rpc::TcpServerOptions o;
  o.stream.bind_address = bind;
  o.stream.port = config_.nfs.portmap_port;
  o.stream.max_connections = 256;
  o.stream.max_connections_per_client = 16;
  o.stream.idle_timeout = std::chrono::seconds(60);
  o.stream.message_timeout = std::chrono::seconds(10);
  o.stream.io_threads = 1;
  o.stream.worker_threads = 1;
  o.stream.poll_window = std::chrono::microseconds(0);
  o.stream.name = "portmap";
  o.max_record_size = 64 * 1024;
  o.inline_fast_calls = true;
  Result<std::unique_ptr<net::StreamServer>> tcp = rpc::StartRpcTcpServer(o, portmap_dispatcher_);
  if (!tcp.ok()) {
    LOG_WARN("portmap: not serving on {}:{}: {} (clients must be given the NFS and MOUNT port)",
             bind, config_.nfs.portmap_port, tcp.status().ToString());
    return out;
  }
  out.tcp = std::move(tcp).value();
  net::DatagramServerOptions u;
  u.bind_address = bind;
  u.port = out.tcp->port();
  u.worker_threads = 1;
  Result<std::unique_ptr<net::DatagramServer>> datagrams =
      rpc::StartRpcUdpServer(u, portmap_dispatcher_);
  if (datagrams.ok()) {
    out.udp = std::move(datagrams).value();
  } else {
    LOG_WARN("portmap: not serving over UDP: {}", datagrams.status().ToString());
  }
  for (uint32_t vers : {2u, 3u, 4u})
    add(rpc::kPortmapProgram, vers, out.tcp->port(), out.udp != nullptr);
  LOG_INFO("portmap: port mapper (PMAP v2, RPCBIND v3/v4) listening on {}:{}{}", bind,
           out.tcp->port(), out.udp ? "; UDP too" : "");
  return out;
}

Result<std::unique_ptr<Listener>> ServerImpl::StartSmb(const cp::Adapter& row,
                                                       const PoolSettings& pool) {
  smb::SmbServerOptions o;
  net::StreamServerOptions& t = o.stream;
  t.bind_address = row.bind_address;
  t.port = static_cast<uint16_t>(row.port);
  t.max_connections = config_.smb.max_connections;
  t.max_connections_per_client = config_.smb.max_connections_per_client;
  t.idle_timeout = std::chrono::seconds(config_.smb.idle_timeout_s);
  t.io_threads = pool.io_threads > 0 ? pool.io_threads : config_.smb.io_threads;
  t.worker_threads = pool.workers > 0 ? pool.workers : config_.smb.workers;
  t.name = "smb";
  t.poll_window = std::chrono::microseconds(config_.smb.poll_us);
  o.netbios_name = config_.smb.netbios_name;
  o.domain = config_.smb.domain;
  ASSIGN_OR_RETURN(o.machine_sid, MachineSid());
  o.require_signing = config_.smb.require_signing;
  o.encrypt = config_.smb.encrypt;
  o.allow_guest = config_.smb.allow_guest;
  o.multichannel = config_.smb.multichannel;
  o.max_io = config_.smb.max_io;
  o.mechanisms.ntlm = config_.smb.ntlm;
  if (smb_keytab_) {
    o.mechanisms.kerberos = [keytab = smb_keytab_.get()] {
      return smb::auth::NewKerberosContext(*keytab);
    };
  }
  smb::SmbEnvironment env;
  env.shares = &shares_;
  env.users = &users_;
  env.throttle = &login_throttle_;
  RETURN_IF_ERROR(OpenStateStore());
  if (!smb_handles_) {
    smb_handles_ =
        std::make_unique<StateTableRecords>(*state_store_, stores::StateTable::kDurableHandles);
  }
  env.handles = smb_handles_.get();
  std::shared_ptr<smb::SmbAdmin> admin;
  ASSIGN_OR_RETURN(std::unique_ptr<net::StreamServer> server, smb::StartSmbServer(o, env, &admin));
  {
    MutexLock lock(&smb_admins_mu_);
    std::erase_if(smb_admins_, [](const auto& w) { return w.expired(); });
    smb_admins_.push_back(admin);
  }
  LOG_INFO("smb: SMB 2.0.2-3.1.1 listening on {}:{} ({} workers)", row.bind_address, server->port(),
           t.worker_threads);
  return std::unique_ptr<Listener>(std::make_unique<StreamListener>(std::move(server)));
}

Status ServerImpl::AdoptHandleSecret() {
  constexpr std::string_view kKey = "nfs.handle_secret";
  constexpr size_t kMinSize = 32;
  Result<std::string> kept = db_->GetSetting(kKey);
  if (!kept.ok() && kept.status().code() != Errc::kNotFound) return kept.status();
  if (!kept.ok() || kept->size() < kMinSize) {
    ASSIGN_OR_RETURN(std::string mine,
                     PersistentSecret(config_.server.state_dir + "/handle_secret"));
    RETURN_IF_ERROR(db_->SetSetting(kKey, mine));
    // Two nodes storing theirs at once for the first time: whichever is stored last is read.
    ASSIGN_OR_RETURN(kept, db_->GetSetting(kKey));
    if (kept->size() < kMinSize) return Status(Errc::kInternal, "nfs.handle_secret: too short");
    LOG_INFO("nfs: the file handle secret is kept in the control plane from now on");
  }
  handles_.SetKey(HandleKeyOf(*kept));
  return Status::Ok();
}

Result<std::string> ServerImpl::MachineSid() {
  constexpr std::string_view kKey = "smb.machine_sid";
  if (Result<std::string> kept = db_->GetSetting(kKey); kept.ok() && smb::IsMachineSid(*kept)) {
    return *kept;
  }
  std::string sid = smb::NewMachineSid();
  RETURN_IF_ERROR(db_->SetSetting(kKey, sid));
  LOG_INFO("smb: machine SID {} made and kept", sid);
  return sid;
}

// A setting's whole value as a number of seconds in [min, max].
bool ParseSeconds(std::string_view value, uint32_t min, uint32_t max, uint32_t* out) {
  auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), *out);
  return ec == std::errc() && end == value.data() + value.size() && *out >= min && *out <= max;
}

// Settings of the security the server starts with: Kerberos, NTLM, NFS over TLS.
constexpr std::string_view kSecuritySettings[] = {"kerberos.keytab",
                                                  "kerberos.service_principal",
                                                  "kerberos.smb_service_principal",
                                                  "kerberos.realms",
                                                  "kerberos.max_contexts",
                                                  "kerberos.seq_window",
                                                  "smb.ntlm",
                                                  "nfs.tls.cert_file",
                                                  "nfs.tls.key_file",
                                                  "nfs.tls.client_ca_file",
                                                  "nfs.tls.handshake_timeout_ms"};

// A changed security setting (`key` set in `next`; "" for all of them) must still make a
// working server: the keytab gives the service principals' keys, the certificate and key make
// a TLS context.
// TLS is off while nfs.tls.cert_file is empty, whatever the other nfs.tls keys say: that is
// how the files are changed one key at a time (cert_file "", key_file, then cert_file).
Status CheckSecuritySettings(std::string_view key, const config::Config& next) {
  config::Config checked = next;
  if (checked.nfs.tls.cert_file.empty()) {
    checked.nfs.tls.key_file.clear();
    checked.nfs.tls.client_ca_file.clear();
  }
  RETURN_IF_ERROR(config::Validate(checked));
  const bool all = key.empty();
  if ((all || key.starts_with("kerberos.")) && next.kerberos.enabled()) {
    std::vector<std::string> principals = {next.kerberos.service_principal};
    if (next.smb.enabled) principals.push_back(next.kerberos.smb_service_principal);
    for (const std::string& principal : principals) {
      Result<std::unique_ptr<gss::Keytab>> keytab =
          gss::Keytab::Open({.keytab = next.kerberos.keytab, .service_principal = principal});
      if (!keytab.ok()) return Status(Errc::kInvalid, keytab.status().message());
    }
  }
  if ((all || key.starts_with("nfs.tls.")) && next.nfs.tls.enabled()) {
    net::TlsServerOptions tls;
    tls.cert_file = next.nfs.tls.cert_file;
    tls.key_file = next.nfs.tls.key_file;
    tls.client_ca_file = next.nfs.tls.client_ca_file;
    Result<std::unique_ptr<net::TlsServer>> opened = net::OpenTlsServer(tls);
    if (!opened.ok()) return Status(Errc::kInvalid, opened.status().message());
  }
  return Status::Ok();
}

Status ServerImpl::SettingChanged(std::string_view key, std::string_view value) {
  if (std::find(std::begin(kSecuritySettings), std::end(kSecuritySettings), key) !=
      std::end(kSecuritySettings)) {
    // Checked against the whole configuration they would make, then kept for the next start
    // (Kerberos), or the next start of the NFS or SMB adapter (nfs.tls.*, smb.ntlm); realms
    // apply at once.
    MutexLock lock(&reconcile_mu_);  // the adapters read config_ under it when they start
    config::Config next = config_;
    RETURN_IF_ERROR(config::SetKey(next, key, std::string(value)));
    RETURN_IF_ERROR(CheckSecuritySettings(key, next));
    config_ = std::move(next);
    if (key == "kerberos.realms") users_.SetKerberosRealms(config_.kerberos.realms);
    LOG_INFO("{} is now \"{}\"{}", key, value,
             key == "kerberos.realms"       ? ""
             : key.starts_with("kerberos.") ? " (from the next start)"
             : key == "smb.ntlm"            ? " (from the SMB adapter's next start)"
                                            : " (from the NFS adapter's next start)");
    return Status::Ok();
  }
  if (key == "logging.level") {
    log::Level level;
    if (!log::ParseLevel(value, &level)) return Status(Errc::kInvalid, "bad logging.level");
    log::SetLevel(level);
    LOG_INFO("logging level is now {}", value);
  } else if (key == "logging.format") {
    if (value != "text" && value != "json") return Status(Errc::kInvalid, "bad logging.format");
    log::SetFormat(value == "json" ? log::Format::kJson : log::Format::kText);
  } else if (key == "nfs.versions") {
    config::NfsConfig want = config_.nfs;
    RETURN_IF_ERROR(config::ParseNfsVersions(std::string(value), &want));
    // At once: the programs on the NFS port, NFSv4's minor versions, the embedded port
    // mapper's answers. (Registrations with the host's rpcbind follow at the next start.)
    ServeVersions(want);
    LOG_INFO("nfs: versions are now {}", value);
  } else if (key == "nfs.lease_s") {
    uint32_t seconds = 0;
    if (!ParseSeconds(value, 5, 3600, &seconds)) {
      return Status(Errc::kInvalid, "nfs.lease_s: seconds from 5 to 3600");
    }
    if (nfs4_) nfs4_->SetLeaseSeconds(seconds);
    LOG_INFO("nfs: NFSv4 lease is now {} s", seconds);
  } else if (key == "nfs.grace_s") {
    uint32_t seconds = 0;
    if (!ParseSeconds(value, 0, 3600, &seconds)) {
      return Status(Errc::kInvalid, "nfs.grace_s: seconds up to 3600");
    }
    grace_s_ = seconds;  // the next grace period's (they begin at a start)
  } else if (key == "nfs.delegations") {
    if (value != "true" && value != "false") {
      return Status(Errc::kInvalid, "nfs.delegations: true or false");
    }
    if (nfs4_) nfs4_->SetDelegations(value == "true");
    LOG_INFO("nfs: NFSv4 delegations {}", value == "true" ? "on" : "off");
  } else if (key == "tracing.enabled" || key == "tracing.endpoint" ||
             key == "tracing.sampling_ratio") {
    // At once: the running exporter takes the new options without losing a span, or starts,
    // or stops after exporting what it holds.
    MutexLock lock(&tracing_mu_);
    config::TracingConfig next;
    {
      MutexLock config_lock(&reconcile_mu_);
      config::Config whole = config_;
      RETURN_IF_ERROR(config::SetKey(whole, key, std::string(value)));
      next = whole.tracing;
    }
    if (!next.endpoint.starts_with("http://") && !next.endpoint.starts_with("https://")) {
      return Status(Errc::kInvalid, "tracing.endpoint must be an http:// or https:// URL");
    }
    RETURN_IF_ERROR(ApplyTracing(next));
    MutexLock config_lock(&reconcile_mu_);
    config_.tracing = next;
  }
  return Status::Ok();
}

Status ServerImpl::ApplyTracing(const config::TracingConfig& tracing) {
  if (!tracing.enabled) {
    trace::StopTracing();
    LOG_INFO("tracing: off");
    return Status::Ok();
  }
  trace::TracingOptions to;
  to.enabled = true;
  to.endpoint = tracing.endpoint;
  to.sampling_ratio = tracing.sampling_ratio;
  to.service_name = tracing.service_name;
  if (!tracing.authorization.empty()) {
    to.headers.emplace_back("Authorization", tracing.authorization);
  }
  RETURN_IF_ERROR(trace::StartTracing(to));
  LOG_INFO("tracing: spans of {:g}% of requests to {}", tracing.sampling_ratio * 100,
           tracing.endpoint);
  return Status::Ok();
}

// RPCSEC_GSS with Kerberos V5 for NFS (RFC 2203, RFC 2623), when kerberos.keytab is set. A
// client's principal runs as the control-plane user it names (UserDirectory::FindKerberosUser:
// alice@REALM is the user alice), with that user's ids; a principal that names no user, or a
// disabled one, is refused (AUTH_BADCRED at context creation). Machine principals (a name with
// an instance: nfs/host@REALM, host/host@REALM, which clients use for their state operations)
// run as the share's anonymous identity. The user is looked up once per context: a change to
// the user applies to the contexts established after it.
Status ServerImpl::StartKerberos() {
  if (!config_.kerberos.enabled()) return Status::Ok();
  const auto open = [&](const std::string& principal) -> Result<std::unique_ptr<gss::Keytab>> {
    Result<std::unique_ptr<gss::Keytab>> keytab =
        gss::Keytab::Open({.keytab = config_.kerberos.keytab, .service_principal = principal});
    if (!keytab.ok()) {
      return Status(Errc::kInvalid,
                    keytab.status().message() + " (`dfs kerberos check` says more)");
    }
    return keytab;
  };
  ASSIGN_OR_RETURN(nfs_keytab_, open(config_.kerberos.service_principal));
  if (config_.smb.enabled) {
    ASSIGN_OR_RETURN(smb_keytab_, open(config_.kerberos.smb_service_principal));
  }
  rpc::gss::GssServerOptions o;
  o.max_contexts = config_.kerberos.max_contexts;
  o.seq_window = config_.kerberos.seq_window;
  auto mapper = [this](std::string_view principal) -> std::optional<rpc::gss::GssIdentity> {
    rpc::gss::GssIdentity id;
    Result<core::UserRecord> user = users_.FindKerberosUser(principal);
    std::string_view name = principal.substr(0, principal.rfind('@'));
    if (!user.ok() && name.find('/') != std::string_view::npos) {
      id.anonymous = true;  // a machine principal no user has as its own
      return id;
    }
    if (!user.ok()) return std::nullopt;
    Result<core::Principal> p = user->LogOn(core::AuthMethod::kKerberos);
    if (!p.ok()) return std::nullopt;
    id.uid = p->uid;
    id.gid = p->gid;
    id.gids = p->groups;
    id.user_name = user->name;
    return id;
  };
  ASSIGN_OR_RETURN(gss_, rpc::gss::GssServer::Create(*nfs_keytab_, o, std::move(mapper)));
  dispatcher_.SetGss(gss_.get());
  if (nfs4_) nfs4_->SetGss(gss_.get());
  LOG_INFO("nfs: RPCSEC_GSS with Kerberos V5 (keytab {})", config_.kerberos.keytab);
  return Status::Ok();
}

Status ServerImpl::Start() {
  std::error_code ec;
  std::filesystem::create_directories(config_.server.state_dir, ec);
  if (ec) {
    return Status(Errc::kIo,
                  "cannot create state dir " + config_.server.state_dir + ": " + ec.message());
  }
  if (config_.tracing.enabled) RETURN_IF_ERROR(ApplyTracing(config_.tracing));
  RETURN_IF_ERROR(OpenDatabase());
  RETURN_IF_ERROR(AdoptHandleSecret());
  RETURN_IF_ERROR(BootstrapAdmin());
  RETURN_IF_ERROR(SeedDefaults());
  RETURN_IF_ERROR(users_.Refresh(*db_));
  // Settings kept in the database win over the config file's (tracing.enabled after the
  // endpoint it needs).
  for (const char* key :
       {"logging.level", "logging.format", "nfs.versions", "nfs.lease_s", "nfs.grace_s",
        "nfs.delegations", "tracing.endpoint", "tracing.sampling_ratio", "tracing.enabled"}) {
    if (Result<std::string> v = db_->GetSetting(key); v.ok()) {
      RETURN_IF_ERROR(SettingChanged(key, *v));
    }
  }
  // Taken together: one key at a time, the TLS files would not match each other midway.
  {
    config::Config next = config_;
    std::vector<std::string> stored;
    for (std::string_view key : kSecuritySettings) {
      Result<std::string> v = db_->GetSetting(key);
      if (!v.ok()) continue;
      if (Status s = config::SetKey(next, key, *v); !s.ok()) {
        LOG_ERROR("the stored setting {} (\"{}\") is left out: {}", key, *v, s.message());
        continue;
      }
      stored.push_back(std::string(key) + "=\"" + *v + "\"");
    }
    if (Status s = CheckSecuritySettings("", next); !s.ok()) {
      // What they name changed since they were stored (a keytab or certificate replaced):
      // left out, so that the server comes up and they can be put right through the API.
      LOG_ERROR("the stored security settings are left out ({}): {}", fmt::join(stored, ", "),
                s.message());
    } else if (!stored.empty()) {
      config_ = std::move(next);
      users_.SetKerberosRealms(config_.kerberos.realms);
      LOG_INFO("stored security settings: {}", fmt::join(stored, ", "));
    }
  }
  RETURN_IF_ERROR(MigrateLegacyLayout());
  RETURN_IF_ERROR(ReconcileShares());
  {
    MutexLock lock(&reconcile_mu_);
    legacy_remotes_.clear();  // only shares that existed at start may keep old-rule places
  }
  RETURN_IF_ERROR(StartKerberos());
  if (config_.nfs.nlm) RETURN_IF_ERROR(StartNlm());
  RETURN_IF_ERROR(StartNfs4Grace());
  RETURN_IF_ERROR(ReconcileAdapters());
  // Breaks nobody acknowledged and lock requests that waited too long end here, once a second:
  // the deadlines of every share's LeaseTable and LockTable (docs/state.md).
  // It also purges the recycle bins once every kTrashPurgeInterval (Remove purges a bin as it
  // grows; this lets what outlived its retention go when nothing is removed).
  state_sweeper_ = std::jthread([this](std::stop_token stop) {
    int64_t ticks = 0;
    int64_t last_purge = MonotonicNanos();
    std::mutex mu;
    std::condition_variable_any cv;
    std::unique_lock<std::mutex> lock(mu);
    while (!stop.stop_requested()) {
      cv.wait_for(lock, stop, std::chrono::seconds(1), [] { return false; });
      const int64_t now = MonotonicNanos();
      for (const std::shared_ptr<core::Share>& share : shares_.All()) {
        share->state().leases.ExpireBreaks(now);
        share->state().locks.ExpireWaiters(now);
      }
      if (nlm_) nlm_->Tick(now);
      if (nfs4_) nfs4_->Tick(now);
      if (++ticks % kOfflineRetry.count() == 0 && shares_offline_.exchange(false)) {
        if (Status s = ReconcileShares(); !s.ok()) LOG_ERROR("shares: {}", s.ToString());
      }
      if (now - last_purge >= kTrashPurgeInterval.count()) {
        last_purge = now;
        PurgeRecycleBins();
      }
      FoldQuotas(ticks % kQuotaFoldInterval == 0);
      if (ticks % kSnapshotScheduleInterval == 0) RunSnapshotSchedules();
    }
  });
  RETURN_IF_ERROR(StartMetrics());  // before the API, whose line says the server is up
  if (config_.api.enabled) {
    std::string secret = config_.api.jwt_secret;
    if (secret.empty()) {
      ASSIGN_OR_RETURN(secret, PersistentSecret(config_.server.state_dir + "/jwt_secret"));
    }
    cp::api::ApiOptions ao;
    ao.jwt_secret = secret;
    ao.state_dir = config::NormalizePath(config_.server.state_dir);
    if (config_.database.type != "postgres") {
      ao.reserved_paths.push_back(
          {config::NormalizePath(ControlDbPath(config_)), "the control database"});
    }
    ao.reserved_paths.push_back(
        {config::NormalizePath(config_.server.state_dir + "/jwt_secret"), "the token secret"});
    ao.reserved_paths.push_back(
        {config::NormalizePath(config_.server.state_dir + "/keys"), "the key files' directory"});
    ao.throttle = &login_throttle_;
    api_ = std::make_unique<cp::api::Api>(*db_, *this, std::move(ao));
    api_->Register(router_);
    net::HttpServerOptions ho;
    ho.bind = config_.api.bind;
    ho.port = config_.api.port;
    ho.request_timeout = std::chrono::seconds(config_.api.request_timeout_s);
    ho.max_connections = config_.api.max_connections;
    ho.trace = true;
    ASSIGN_OR_RETURN(http_, net::HttpServer::Start(ho, router_));
    LOG_INFO("api: REST API listening on {}:{}", config_.api.bind, http_->port());
    if (!IsLoopback(config_.api.bind)) {
      LOG_WARN(
          "api: the REST API is bound to {}, so other machines can reach it (and guess at its "
          "logins); bind it to 127.0.0.1 unless it is behind a firewall or a TLS proxy",
          config_.api.bind);
    }
  }
  ready_ = true;
  return Status::Ok();
}

// GET /metrics on metrics.bind:metrics.port, with the bearer token when one is set.
Status ServerImpl::StartMetrics() {
  if (!config_.metrics.enabled) return Status::Ok();
  metrics_collector_ =
      metrics::Default().AddCollector([this](metrics::Exposition& e) { CollectMetrics(e); });
  const std::string token = config_.metrics.token;
  metrics_router_.Add("GET", "/metrics", [token](const net::HttpRequest& request) {
    net::HttpResponse r;
    if (!token.empty() && request.header("Authorization") != "Bearer " + token) {
      r.status = 401;
      r.headers.Set("WWW-Authenticate", "Bearer");
      r.content_type = "text/plain; charset=utf-8";
      r.body = "a bearer token is required\n";
      return r;
    }
    r.content_type = "text/plain; version=0.0.4; charset=utf-8";
    r.body = metrics::Default().Render();
    return r;
  });
  net::HttpServerOptions ho;
  ho.bind = config_.metrics.bind;
  ho.port = config_.metrics.port;
  ho.threads = 2;
  ASSIGN_OR_RETURN(metrics_http_, net::HttpServer::Start(ho, metrics_router_));
  LOG_INFO("metrics: Prometheus metrics on http://{}:{}/metrics{}", config_.metrics.bind,
           metrics_http_->port(), token.empty() ? "" : " (bearer token required)");
  return Status::Ok();
}

// The numbers the parts keep anyway, read at a scrape: per share its clients' state and its
// stores' counters; the adapters' ports; the build.
void ServerImpl::CollectMetrics(metrics::Exposition& e) {
  e.Family("dittofs_build_info", "gauge", "The running build (value 1).");
  e.Sample("dittofs_build_info", {{"version", kVersion}}, 1);
  struct ShareNumbers {
    std::string name;
    size_t opens, locks, lock_waiters, grants;
    std::optional<stores::TieredStats> tiered;
  };
  std::vector<ShareNumbers> shares;
  std::vector<std::pair<std::string, size_t>> connections;  // per adapter
  {
    MutexLock lock(&reconcile_mu_);
    for (const auto& [name, adapter] : adapters_) {
      connections.emplace_back(name, adapter.listener->connections());
    }
    for (const auto& [id, served] : served_) {
      core::ShareState& st = served.share->state();
      ShareNumbers n{served.name,
                     st.opens.total_opens(),
                     st.locks.lock_count(),
                     st.locks.waiter_count(),
                     st.leases.grant_count(),
                     std::nullopt};
      if (served.tiered != nullptr) n.tiered = served.tiered->Stats();
      shares.push_back(std::move(n));
    }
  }
  const auto gauge = [&](const char* name, const char* help, auto value_of) {
    e.Family(name, "gauge", help);
    for (const ShareNumbers& s : shares) {
      e.Sample(name, {{"share", s.name}}, static_cast<double>(value_of(s)));
    }
  };
  e.Family("dittofs_connections", "gauge", "TCP connections an adapter has now.");
  for (const auto& [adapter, n] : connections) {
    e.Sample("dittofs_connections", {{"adapter", adapter}}, static_cast<double>(n));
  }
  e.Family("dittofs_sessions", "gauge",
           "Sessions now: SMB sessions, and NFSv4 clients (confirmed, not expired).");
  size_t smb_sessions = 0;
  for (const auto& admin : SmbAdmins()) smb_sessions += admin->Sessions(0).size();
  e.Sample("dittofs_sessions", {{"protocol", "smb"}}, static_cast<double>(smb_sessions));
  if (nfs4_) {
    size_t clients = 0;
    for (const nfs::Nfs4ClientInfo& c : nfs4_->Clients()) {
      if (c.confirmed && !c.expired) ++clients;
    }
    e.Sample("dittofs_sessions", {{"protocol", "nfs4"}}, static_cast<double>(clients));
  }
  gauge("dittofs_opens", "Files open (all protocols' opens, NFSv4 and SMB).",
        [](const ShareNumbers& s) { return s.opens; });
  gauge("dittofs_locks", "Byte-range locks held (NLM, NFSv4, SMB).",
        [](const ShareNumbers& s) { return s.locks; });
  gauge("dittofs_lock_waiters", "Lock requests waiting for a conflicting lock to go.",
        [](const ShareNumbers& s) { return s.lock_waiters; });
  gauge("dittofs_caching_grants", "Leases, oplocks and delegations granted.",
        [](const ShareNumbers& s) { return s.grants; });
  const auto tiered = [&](const char* name, const char* type, const char* help, auto value_of) {
    e.Family(name, type, help);
    for (const ShareNumbers& s : shares) {
      if (s.tiered) e.Sample(name, {{"share", s.name}}, static_cast<double>(value_of(*s.tiered)));
    }
  };
  using TS = stores::TieredStats;
  tiered("dittofs_journal_dirty_bytes", "gauge", "Journal bytes not yet uploaded.",
         [](const TS& t) { return t.journal.dirty_bytes; });
  tiered("dittofs_journal_clean_bytes", "gauge", "Journal bytes also held by the remote.",
         [](const TS& t) { return t.journal.clean_bytes; });
  tiered("dittofs_journal_disk_bytes", "gauge", "Bytes of the journal's segment files.",
         [](const TS& t) { return t.journal.disk_bytes; });
  tiered("dittofs_dirty_files", "gauge", "Files waiting to be carved into chunks.",
         [](const TS& t) { return t.dirty_files; });
  tiered("dittofs_carved_bytes_total", "counter", "File bytes carved into chunks.",
         [](const TS& t) { return t.carved_bytes; });
  tiered("dittofs_chunks_uploaded_total", "counter", "New chunks uploaded to the remote.",
         [](const TS& t) { return t.chunks_new; });
  tiered("dittofs_chunks_deduplicated_total", "counter",
         "Chunks found stored already (not uploaded again).",
         [](const TS& t) { return t.chunks_deduplicated; });
  tiered("dittofs_deduplicated_bytes_total", "counter", "Bytes not uploaded thanks to dedup.",
         [](const TS& t) { return t.deduplicated_bytes; });
  tiered("dittofs_remote_uploaded_bytes_total", "counter", "Object bytes put to the remote.",
         [](const TS& t) { return t.uploaded_bytes; });
  tiered("dittofs_remote_objects_uploaded_total", "counter", "Objects put to the remote.",
         [](const TS& t) { return t.objects_uploaded; });
  tiered("dittofs_remote_upload_failures_total", "counter", "Uploads that failed (retried).",
         [](const TS& t) { return t.upload_failures; });
  tiered("dittofs_remote_chunks_fetched_total", "counter", "Chunk reads from the remote.",
         [](const TS& t) { return t.chunks_fetched; });
  const auto per_remote_op = [&](const char* name, const char* help, auto counts_of) {
    e.Family(name, "counter", help);
    for (const ShareNumbers& s : shares) {
      if (!s.tiered) continue;
      for (size_t op = 0; op < stores::kRemoteOps.size(); ++op) {
        e.Sample(name, {{"share", s.name}, {"op", stores::kRemoteOps[op]}},
                 static_cast<double>(counts_of(*s.tiered)[op]));
      }
    }
  };
  per_remote_op("dittofs_remote_requests_total",
                "Requests made of the remote (put, get, delete, list), failed ones included.",
                [](const TS& t) { return t.remote_requests; });
  per_remote_op("dittofs_remote_errors_total",
                "Requests of the remote that failed (unreachable after its retries, or refused).",
                [](const TS& t) { return t.remote_errors; });
  tiered("dittofs_remote_retries_total", "counter",
         "Requests the remote client sent again after a timeout, a refused connection, HTTP 429 "
         "or 5xx (S3).",
         [](const TS& t) { return t.remote_retries; });
  tiered("dittofs_corruption_events_total", "counter",
         "Chunks that failed their hash or decryption check when read.",
         [](const TS& t) { return t.corruption_events; });
  tiered("dittofs_gc_objects_deleted_total", "counter", "Objects garbage collection deleted.",
         [](const TS& t) { return t.gc_objects_deleted; });
  tiered("dittofs_reconcile_orphans_deleted_total", "counter",
         "Objects the reconcile found with no record and deleted.",
         [](const TS& t) { return t.orphans_deleted; });
  tiered("dittofs_carve_passes_total", "counter", "Background carve passes run.",
         [](const TS& t) { return t.carve_passes; });

  // The recycle bins' sizes, as their indexes count them (one record read per share).
  e.Family("dittofs_recycle_bin_bytes", "gauge",
           "Bytes the share's recycle bin holds (shares that keep one).");
  for (const std::shared_ptr<core::Share>& share : shares_.All()) {
    Result<core::ShareUse> use = share->Use();
    if (!use.ok() || !use->vfs().options().recycle.enabled) continue;
    if (Result<uint64_t> bytes = use->vfs().TrashBytes(); bytes.ok()) {
      e.Sample("dittofs_recycle_bin_bytes", {{"share", share->name()}},
               static_cast<double>(*bytes));
    }
  }
  // Snapshots: how many each share has, and what each holds (one record scan per share).
  e.Family("dittofs_snapshots", "gauge", "Snapshots a share has, ready or not.");
  e.Family("dittofs_snapshot_bytes", "gauge",
           "Bytes (regular files' sizes) a snapshot holds; shared with the share, not copied.");
  e.Family("dittofs_snapshot_files", "gauge", "Objects a snapshot holds.");
  for (const std::shared_ptr<core::Share>& share : shares_.All()) {
    Result<std::vector<core::SnapshotInfo>> snapshots = share->ListSnapshots();
    if (!snapshots.ok()) continue;
    e.Sample("dittofs_snapshots", {{"share", share->name()}},
             static_cast<double>(snapshots->size()));
    for (const core::SnapshotInfo& s : *snapshots) {
      if (s.state != core::SnapshotState::kReady) continue;
      e.Sample("dittofs_snapshot_bytes", {{"share", share->name()}, {"snapshot", s.name}},
               static_cast<double>(s.bytes));
      e.Sample("dittofs_snapshot_files", {{"share", share->name()}, {"snapshot", s.name}},
               static_cast<double>(s.files));
    }
  }
  // Quotas: the usage and limits of each share, and of each user and group with usage or
  // limits (docs/quotas.md).
  e.Family("dittofs_quota_used_bytes", "gauge",
           "Bytes (regular files' sizes) a share, user or group holds on the share.");
  e.Family("dittofs_quota_used_files", "gauge",
           "Objects a share, user or group holds on the share.");
  e.Family("dittofs_quota_limit_bytes", "gauge", "Quota byte limits set (type hard or soft).");
  e.Family("dittofs_quota_limit_files", "gauge", "Quota file limits set (type hard or soft).");
  for (const std::shared_ptr<core::Share>& share : shares_.All()) {
    Result<core::ShareUse> use = share->Use();
    if (!use.ok()) continue;
    for (const core::QuotaEntry& q : use->vfs().quotas().Report()) {
      const std::string id = std::to_string(q.id);
      const std::string kind(core::QuotaKindName(q.kind));
      e.Sample("dittofs_quota_used_bytes", {{"share", share->name()}, {"kind", kind}, {"id", id}},
               static_cast<double>(q.used_bytes));
      e.Sample("dittofs_quota_used_files", {{"share", share->name()}, {"kind", kind}, {"id", id}},
               static_cast<double>(q.used_files));
      for (auto [type, bytes, files] :
           {std::tuple{"hard", q.limits.hard_bytes, q.limits.hard_files},
            std::tuple{"soft", q.limits.soft_bytes, q.limits.soft_files}}) {
        if (bytes != 0) {
          e.Sample("dittofs_quota_limit_bytes",
                   {{"share", share->name()}, {"kind", kind}, {"id", id}, {"type", type}},
                   static_cast<double>(bytes));
        }
        if (files != 0) {
          e.Sample("dittofs_quota_limit_files",
                   {{"share", share->name()}, {"kind", kind}, {"id", id}, {"type", type}},
                   static_cast<double>(files));
        }
      }
    }
  }
  if (config_.tracing.enabled) {
    const trace::TracingStats t = trace::GetTracingStats();
    e.Family("dittofs_trace_spans_exported_total", "counter", "Trace spans sent to the collector.");
    e.Sample("dittofs_trace_spans_exported_total", {}, static_cast<double>(t.exported));
    e.Family("dittofs_trace_spans_dropped_total", "counter",
             "Trace spans lost: the queue full, an export failed, or stopping gave up.");
    e.Sample("dittofs_trace_spans_dropped_total", {}, static_cast<double>(t.dropped));
    e.Family("dittofs_trace_export_errors_total", "counter",
             "Exports to the collector that failed (after their retries).");
    e.Sample("dittofs_trace_export_errors_total", {}, static_cast<double>(t.export_errors));
    e.Family("dittofs_trace_export_retries_total", "counter",
             "Exports sent again: no connection, or the collector answered 429, 502, 503 or 504.");
    e.Sample("dittofs_trace_export_retries_total", {}, static_cast<double>(t.export_retries));
    e.Family("dittofs_trace_spans_rejected_total", "counter",
             "Trace spans the collector refused in a partial success (counted as dropped too).");
    e.Sample("dittofs_trace_spans_rejected_total", {}, static_cast<double>(t.rejected));
  }
}

void ServerImpl::Stop() {
  if (stopped_) return;
  stopped_ = true;
  ready_ = false;
  if (state_sweeper_.joinable()) {
    state_sweeper_.request_stop();
    state_sweeper_.join();
  }
  if (http_) http_->Stop();
  if (metrics_http_) metrics_http_->Stop();
  if (metrics_collector_ != 0) metrics::Default().RemoveCollector(metrics_collector_);
  metrics_collector_ = 0;
  std::map<std::string, RunningAdapter, std::less<>> adapters;
  {
    MutexLock lock(&reconcile_mu_);
    adapters.swap(adapters_);
  }
  for (auto& [name, running] : adapters) {
    running.listener->Stop(std::chrono::seconds(config_.server.shutdown_timeout_s));
  }
  // No NLM call runs any more: its blocked requests leave the lock tables, its callbacks end.
  nlm_.reset();
  // NFSv4 clients' opens and locks leave the shares' tables (the service stays: its program
  // is in the dispatcher).
  if (nfs4_) nfs4_->ReleaseAll();
  nfs_port_ = 0;
  smb_port_ = 0;
  // A quota recount holds its share paused: it stops now rather than hold up the retirement.
  jobs_.CancelAll();
  {
    // No call runs any more: the shares' stores close here, in order, on this thread.
    MutexLock lock(&reconcile_mu_);
    std::vector<core::ShareId> ids;
    for (const auto& [id, served] : served_) ids.push_back(id);
    for (core::ShareId id : ids) RetireLocked(id);
  }
  trace::StopTracing();  // exports what the last calls left (nothing to do when off)
  log::Flush();
}

}  // namespace

Result<std::unique_ptr<cp::ControlDb>> OpenControlDb(const config::Config& config) {
  std::unique_ptr<cp::ControlDb> db;
  if (config.database.type == "postgres") {
    ASSIGN_OR_RETURN(db, cp::OpenPostgresControlDb(config.database.dsn));
  } else {
    std::error_code ec;
    std::filesystem::create_directories(config.server.state_dir, ec);
    ASSIGN_OR_RETURN(db, cp::OpenSqliteControlDb(ControlDbPath(config)));
  }
  RETURN_IF_ERROR(db->Migrate());
  return db;
}

Result<std::unique_ptr<Server>> StartServer(const config::Config& config) {
  std::error_code ec;
  std::filesystem::create_directories(config.server.state_dir, ec);
  if (ec) {
    return Status(Errc::kIo,
                  "cannot create state dir " + config.server.state_dir + ": " + ec.message());
  }
  ASSIGN_OR_RETURN(nfs::FileHandleCodec::Key handle_key, HandleKey(config.server.state_dir));
  auto server = std::make_unique<ServerImpl>(config, handle_key);
  RETURN_IF_ERROR(server->Start());
  return std::unique_ptr<Server>(std::move(server));
}

}  // namespace dittofs::server

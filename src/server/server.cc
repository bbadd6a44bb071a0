// SPDX-License-Identifier: Apache-2.0
#include "server/server.h"

#include <filesystem>

#include "base/log.h"
#include "core/shares.h"
#include "nfs/mount/service.h"
#include "nfs/v3/service.h"
#include "rpc/tcp_server.h"
#include "stores/block/localfs/localfs_block_store.h"
#include "stores/block/memory/memory_block_store.h"
#include "stores/metadata/memory/memory_metadata_store.h"

namespace dittofs::server {
namespace {

// The stores behind one share; they outlive its Vfs.
struct ShareStores {
  std::unique_ptr<stores::MetadataStore> metadata;
  std::unique_ptr<stores::BlockStore> blocks;
};

enum class MetadataKind { kMemory };
enum class BlockKind { kMemory, kLocalFs };

Result<MetadataKind> ParseMetadataKind(const std::string& s) {
  if (s == "memory") return MetadataKind::kMemory;
  return Status(Errc::kInvalid, "unknown metadata store " + s);
}

Result<BlockKind> ParseBlockKind(const std::string& s) {
  if (s == "memory") return BlockKind::kMemory;
  if (s == "localfs") return BlockKind::kLocalFs;
  return Status(Errc::kInvalid, "unknown block store " + s);
}

std::string SafeDirName(const std::string& share) {
  std::string out;
  for (char c : share) out += (std::isalnum(static_cast<unsigned char>(c)) || c == '-') ? c : '_';
  return out;
}

Result<ShareStores> OpenStores(const config::Config& config, const config::ShareConfig& share) {
  ShareStores s;
  ASSIGN_OR_RETURN(MetadataKind mk, ParseMetadataKind(share.metadata));
  switch (mk) {
    case MetadataKind::kMemory:
      s.metadata = stores::NewMemoryMetadataStore();
      break;
  }
  ASSIGN_OR_RETURN(BlockKind bk, ParseBlockKind(share.block));
  switch (bk) {
    case BlockKind::kMemory:
      s.blocks = stores::NewMemoryBlockStore();
      break;
    case BlockKind::kLocalFs: {
      stores::LocalFsBlockStoreOptions o;
      o.root = share.block_dir.empty()
                   ? config.server.state_dir + "/blocks/" + SafeDirName(share.name)
                   : share.block_dir;
      if (mk == MetadataKind::kMemory) {
        // With in-memory metadata, data left from an earlier run can never be reached again.
        std::error_code ec;
        std::filesystem::remove_all(o.root, ec);
      }
      ASSIGN_OR_RETURN(s.blocks, stores::OpenLocalFsBlockStore(o));
      break;
    }
  }
  return s;
}

core::Squash ParseSquash(const std::string& s) {
  if (s == "none") return core::Squash::kNone;
  if (s == "root_to_admin") return core::Squash::kRootToAdmin;
  if (s == "all_to_guest") return core::Squash::kAllToGuest;
  if (s == "all_to_admin") return core::Squash::kAllToAdmin;
  return core::Squash::kRootToGuest;  // validated: root_to_guest
}

core::Permission ParsePermission(const std::string& s) {
  if (s == "none") return core::Permission::kNone;
  if (s == "read") return core::Permission::kRead;
  if (s == "admin") return core::Permission::kAdmin;
  return core::Permission::kReadWrite;  // validated: read-write
}

Result<core::SharePolicy> PolicyOf(const config::ShareConfig& sc) {
  core::SharePolicy p;
  p.default_permission = ParsePermission(sc.default_permission);
  for (const std::string& text : sc.allowed_clients) {
    ASSIGN_OR_RETURN(core::Cidr cidr, core::Cidr::Parse(text));
    p.allowed_clients.push_back(std::move(cidr));
  }
  for (const std::string& text : sc.denied_clients) {
    ASSIGN_OR_RETURN(core::Cidr cidr, core::Cidr::Parse(text));
    p.denied_clients.push_back(std::move(cidr));
  }
  return p;
}

class ServerImpl final : public Server {
 public:
  explicit ServerImpl(const config::Config& config)
      : config_(config), dispatcher_(8192), nfs3_(shares_), mount_(shares_) {}
  ~ServerImpl() override { Stop(); }

  Status Start() {
    std::error_code ec;
    std::filesystem::create_directories(config_.server.state_dir, ec);
    if (ec) {
      return Status(Errc::kIo,
                    "cannot create state dir " + config_.server.state_dir + ": " + ec.message());
    }
    core::ShareId next_id = 1;
    for (const config::ShareConfig& sc : config_.shares) {
      ASSIGN_OR_RETURN(ShareStores st, OpenStores(config_, sc));
      core::ShareOptions opts;
      opts.read_only = sc.read_only;
      opts.squash = ParseSquash(sc.squash);
      opts.anon_uid = sc.anon_uid;
      opts.anon_gid = sc.anon_gid;
      opts.root_mode = sc.root_mode;
      Result<core::SharePolicy> policy = PolicyOf(sc);
      if (!policy.ok()) {
        return Status(Errc::kInvalid, "share " + sc.name + ": " + policy.status().message());
      }
      opts.policy = std::move(policy).value();
      ASSIGN_OR_RETURN(std::unique_ptr<core::Vfs> vfs,
                       core::Vfs::Open(next_id++, sc.name, *st.metadata, *st.blocks, opts));
      shares_.Add(std::shared_ptr<core::Vfs>(std::move(vfs)));
      stores_.push_back(std::move(st));
      LOG_INFO("share {}: metadata={} block={} squash={}{}", sc.name, sc.metadata, sc.block,
               sc.squash, sc.read_only ? " read-only" : "");
    }
    if (config_.nfs.enabled) {
      dispatcher_.Add(nfs3_.Program());
      dispatcher_.Add(mount_.Program());
      rpc::TcpServerOptions o;
      o.bind_address = config_.nfs.bind;
      o.port = config_.nfs.port;
      o.max_connections = config_.nfs.max_connections;
      o.max_record_size = config_.nfs.max_record_size;
      o.max_outstanding_per_connection = config_.nfs.max_outstanding;
      o.io_threads = config_.nfs.io_threads;
      o.worker_threads = config_.nfs.workers;
      o.inline_fast_calls = config_.nfs.inline_fast_calls;
      ASSIGN_OR_RETURN(rpc_, rpc::StartRpcTcpServer(o, dispatcher_));
      LOG_INFO("nfs: NFSv3 and MOUNT v3 listening on {}:{}", config_.nfs.bind, rpc_->port());
    }
    return Status::Ok();
  }

  uint16_t nfs_port() const override { return rpc_ ? rpc_->port() : 0; }

  void Stop() override {
    if (stopped_) return;
    stopped_ = true;
    if (rpc_) {
      rpc_->Shutdown(std::chrono::seconds(config_.server.shutdown_timeout_s));
      rpc_.reset();
    }
    log::Flush();
  }

 private:
  config::Config config_;
  std::vector<ShareStores> stores_;  // before shares_: every Vfs borrows its stores
  core::ShareTable shares_;
  rpc::Dispatcher dispatcher_;
  nfs::Nfs3Service nfs3_;
  nfs::MountService mount_;
  std::unique_ptr<rpc::RpcTcpServer> rpc_;
  bool stopped_ = false;
};

}  // namespace

Result<std::unique_ptr<Server>> StartServer(const config::Config& config) {
  auto server = std::make_unique<ServerImpl>(config);
  RETURN_IF_ERROR(server->Start());
  return std::unique_ptr<Server>(std::move(server));
}

}  // namespace dittofs::server

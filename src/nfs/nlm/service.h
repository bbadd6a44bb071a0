// SPDX-License-Identifier: Apache-2.0
#pragma once

// NFSv3's locking: the Network Lock Manager (NLM versions 1, 3 and 4) and its status monitor
// (NSM version 1), served on the NFS port and registered in the port mapper. NLM locks are
// POSIX locks in the share's LockTable and its share reservations opens in the share's
// OpenTable (docs/state.md), so that they conflict with NFSv4's and SMB's, whichever came
// first. What it keeps of each client (a "host": a caller_name at an address):
//
//   * its lock owners (caller_name, svid, oh), each an owner id of the share's tables, and the
//     files each holds locks on, so that the host's state can be dropped at once when it says
//     it restarted (FREE_ALL, or its status monitor's SM_NOTIFY);
//   * its blocked requests: a LOCK that may wait is queued in the LockTable, answered
//     NLM4_BLOCKED, and when granted the host is called back (GRANTED, or GRANTED_MSG for a
//     request that came as LOCK_MSG) at its lock manager, found through the port mapper on its
//     address. A callback that cannot be made is retried, with growing waits, on Tick; the
//     lock stays granted meanwhile, so a client that polls (Linux does, every 30 s) finds it
//     on its next LOCK. A host that answers a GRANTED with a denial gives the lock back;
//   * whether it is monitored: a host with locks is recorded (MonitorRecords, durable) so
//     that after a restart the server tells it (SM_NOTIFY to its status monitor) and it
//     reclaims its locks during the grace period. During grace only reclaims (and unlocks)
//     are served; requests for new locks get NLM4_DENIED_GRACE_PERIOD. Without any recorded
//     host there is nothing to reclaim, and no grace.
//
// The asynchronous forms (TEST_MSG, LOCK_MSG, CANCEL_MSG, UNLOCK_MSG) are answered by calls
// of the matching _RES procedure to the host. NSM's SM_STAT and SM_NOTIFY are served;
// SM_MON and SM_UNMON are refused (stat_fail): this status monitor watches its own lock
// manager's hosts only. Thread-safe.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/mutex.h"
#include "base/result.h"
#include "core/shares.h"
#include "core/state/durable_records.h"
#include "nfs/common/file_handle.h"
#include "nfs/proto/nlm_types.h"
#include "rpc/dispatch.h"

namespace dittofs::rpc {
class ClientIo;
class RpcClient;
struct Reply;
}  // namespace dittofs::rpc

namespace dittofs::nfs {

// Where the hosts the lock manager monitors are kept across restarts (StateTable::kNsmHosts).
using MonitorRecords = core::DurableRecords;

struct NlmOptions {
  // How long after a restart the hosts that held locks have to reclaim them.
  std::chrono::seconds grace{90};
  // The port of the port mapper on clients' hosts, where their lock managers (for GRANTED)
  // and status monitors (for SM_NOTIFY) are looked up. 111 but in tests.
  uint16_t client_portmap_port = 111;
  // The NSM state number of this run: odd, larger than any earlier run's.
  int32_t nsm_state = 1;
  // Bounds on what one host may make the server keep; past them, NLM4_DENIED_NOLOCKS.
  size_t max_hosts = 4096;
  size_t max_owners_per_host = 4096;
  size_t max_blocked_per_host = 1024;
  size_t max_shares_per_host = 4096;
  // A host with no locks, blocked requests or share reservations for this long is forgotten
  // (and no longer monitored).
  std::chrono::seconds idle_host{300};
  // Callbacks (GRANTED, SM_NOTIFY): how long one may take, and the waits between tries.
  std::chrono::milliseconds callback_timeout{std::chrono::seconds(10)};
  std::chrono::milliseconds retry_initial{std::chrono::seconds(2)};
  std::chrono::milliseconds retry_max{std::chrono::seconds(60)};
  int max_callback_tries = 20;
};

// An NLM lock owner of the share's tables, as the client named it.
struct NlmOwnerInfo {
  std::string host;     // caller_name
  std::string address;  // the host's IP address
  int32_t svid = 0;
};

// What the service holds, for diagnostics and tests.
struct NlmHostInfo {
  std::string name;
  std::string address;
  bool monitored = false;
  size_t owners = 0;
  size_t blocked = 0;
  size_t shares = 0;
};

class NlmService {
 public:
  // `shares`, `handles` and `records` (may be null: nothing is monitored across restarts) must
  // outlive the service.
  NlmService(const core::ShareTable& shares, const FileHandleCodec& handles,
             MonitorRecords* records, NlmOptions options);
  ~NlmService();
  NlmService(const NlmService&) = delete;
  NlmService& operator=(const NlmService&) = delete;

  // Loads the hosts monitored before this start; when there are any, starts the grace period
  // and notifies them (SM_NOTIFY, retried on Tick until each answers or tries run out).
  Status Start();
  // The dispatch tables: NLM versions 1, 3 and 4 (program 100021) and NSM version 1 (100024).
  std::vector<rpc::ProgramVersion> Programs();
  // Ends the grace period when due, retries callbacks and notifications, forgets idle hosts.
  // Call about once a second.
  void Tick(int64_t now_nanos);

  bool in_grace() const;
  std::vector<NlmHostInfo> Hosts() const;
  // The NLM owner behind a lock owner id of the share tables; nullopt when it is not one.
  std::optional<NlmOwnerInfo> OwnerInfo(uint64_t owner_id) const;
  // Drops everything the host `name` at `address` holds, as its FREE_ALL would (an
  // administrator's eviction). Errc::kNotFound when there is no such host.
  Status Evict(std::string_view address, std::string_view name);
  size_t pending_callbacks() const;

  // The procedures, for tests. `vers` is the call's NLM version.
  nlm4_testres Test(const rpc::CallContext& call, const nlm4_testargs& args);
  // `via_msg`: the request came as LOCK_MSG, so a grant later is told by GRANTED_MSG.
  nlm4_res Lock(const rpc::CallContext& call, const nlm4_lockargs& args, bool via_msg,
                bool monitor = true);
  nlm4_res Cancel(const rpc::CallContext& call, const nlm4_cancargs& args);
  nlm4_res Unlock(const rpc::CallContext& call, const nlm4_unlockargs& args);
  nlm4_shareres Share(const rpc::CallContext& call, const nlm4_shareargs& args);
  nlm4_shareres Unshare(const rpc::CallContext& call, const nlm4_shareargs& args);
  void FreeAll(const rpc::CallContext& call, const nlm4_notify& args);
  void GrantedRes(const rpc::CallContext& call, const nlm4_res& res);
  // NSM SM_NOTIFY: the host at the caller's address (or at `mon_name`, when that is an
  // address) restarted; its locks, blocked requests and share reservations go.
  void Notify(const rpc::CallContext& call, const stat_chge& args);

 private:
  struct Host;
  struct Owner;
  struct Blocked;
  struct Notice;
  struct Target;

  // What a request needs of the caller on the file: nothing but that it may reach the share
  // (share reservations check their access when they open), or read or write permission.
  enum class Need { kNothing, kRead, kWrite };
  Result<Target> Resolve(const rpc::CallContext& call, const std::string& fh, Need need);
  // The host of the call, made if need be; null when there are too many.
  Host* HostOf(const rpc::CallContext& call, const std::string& caller_name)
      EXCLUSIVE_LOCKS_REQUIRED(mu_);
  Host* FindHost(const rpc::CallContext& call, const std::string& caller_name)
      EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // The owner id of (svid, oh) of `host`, made if need be (`make`); 0 when there is none or
  // there are too many.
  uint64_t OwnerOf(Host& host, int32_t svid, const std::string& oh, bool make)
      EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Records `host` as monitored (durably) before its first lock.
  Status Monitor(Host& host) EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // After a lock or unlock of `owner` on `file`: keeps the owner's file list true.
  void NoteLocks(uint64_t owner, core::ShareId share, uint64_t file);
  // Drops everything the host holds, and the host; `forget`: and its monitoring record.
  // Called without mu_ (it calls into the state tables).
  void Release(const std::string& host_key, bool forget);
  // Takes a blocked request out of the service's lists (its host's, its owner's count, the
  // pending grants), done for good.
  void Drop(const std::shared_ptr<Blocked>& b) EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Unlocks what a blocked request was granted (the client no longer wants it).
  void GiveBack(const Blocked& b);
  // A blocked request's wait ended.
  void WaitEnded(const std::shared_ptr<Blocked>& b, Status s);
  void SendGranted(const std::shared_ptr<Blocked>& b);
  void SendNotify(const std::shared_ptr<Notice>& n);
  // Calls `proc` of program `prog` version `vers` at `address`, whose port its port mapper
  // tells; `done` gets the reply or why there is none. Never called with mu_ held.
  void CallHost(const std::string& address, uint32_t prog, uint32_t vers, uint32_t proc,
                xdr::XdrEncoder args, std::function<void(Result<rpc::Reply>)> done);
  // The connection to `address`:`port`, made if need be; null once the service is closing.
  std::shared_ptr<rpc::RpcClient> ClientFor(const std::string& address, uint16_t port);
  // Sends the _RES answer of a _MSG request to the caller.
  void SendResult(const rpc::CallContext& call, uint32_t proc, xdr::XdrEncoder args);
  bool InGraceAt(int64_t now) const;

  const core::ShareTable& shares_;
  const FileHandleCodec& handles_;
  MonitorRecords* const records_;
  const NlmOptions options_;
  std::unique_ptr<rpc::ClientIo> io_;

  mutable Mutex mu_;
  std::map<std::string, std::unique_ptr<Host>> hosts_ GUARDED_BY(mu_);
  // Every owner id the service made, to its host and (svid, oh).
  std::map<uint64_t, Owner*> owners_ GUARDED_BY(mu_);
  std::vector<std::shared_ptr<Blocked>> granted_pending_ GUARDED_BY(mu_);
  std::vector<std::shared_ptr<Notice>> notices_ GUARDED_BY(mu_);
  uint64_t next_cookie_ GUARDED_BY(mu_) = 1;
  std::atomic<int64_t> grace_end_{0};  // MonotonicNanos; 0: no grace

  mutable Mutex clients_mu_;
  std::map<std::pair<std::string, uint16_t>, std::shared_ptr<rpc::RpcClient>> clients_
      GUARDED_BY(clients_mu_);
  bool closing_ GUARDED_BY(clients_mu_) = false;
};

}  // namespace dittofs::nfs

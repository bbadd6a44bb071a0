// SPDX-License-Identifier: Apache-2.0
#pragma once

// What the NFSv4 adapter remembers of its clients (RFC 8881 §2.4, §2.10, §8, §9): client
// records, 4.1 sessions with their slot tables and reply caches, and the stateids of opens
// and locks. The opens, share reservations and locks themselves live in the share's
// ShareState (the runtime's, shared with SMB and NLM); a stateid here names one of them.
//
// Locking, outermost first: Nfs4State::mu_ (the client tables; never on the data path) →
// OpenOwner::mu / LockOwner::mu (one owner's operations, in seqid order) → Client::mu (the
// client's owners and stateids) → a stateid or session shard's mutex (the data path: READ and
// WRITE find their stateid, SEQUENCE its session, through these alone) → Session::mu.

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "base/mutex.h"
#include "core/state/open_table.h"
#include "core/state/shards.h"
#include "core/types.h"
#include "nfs/proto/nfs4_types.h"
#include "rpc/channel.h"
#include "rpc/rpc_client.h"

namespace dittofs::nfs {

struct Nfs4Client;

// A file of a share: what opens and locks are of.
struct Nfs4File {
  core::ShareId share = 0;
  core::FileId file;
  friend bool operator<(const Nfs4File& a, const Nfs4File& b) {
    return std::tie(a.share, a.file.inode) < std::tie(b.share, b.file.inode);
  }
  friend bool operator==(const Nfs4File& a, const Nfs4File& b) {
    return a.share == b.share && a.file.inode == b.file.inode;
  }
};

// An open-owner or lock-owner (RFC 8881 §2.4.2): a client's name for a process (Linux: one per
// credential for opens, one per process for locks).
struct Nfs4Owner {
  // Serializes the owner's stateful operations: 4.0's seqid says in which order they apply
  // (RFC 7530 §9.1.7); in 4.1 it keeps an OPEN and a CLOSE of one owner and file apart.
  Mutex mu;
  std::string name;
  bool lock_owner = false;
  uint64_t runtime_id = 0;  // a lock-owner's LockOwner id in the shares' LockTables
  // 4.0 seqid rules, under mu: the last seqid used and the reply it got, for a retransmission.
  bool has_seqid GUARDED_BY(mu) = false;
  seqid4 seqid GUARDED_BY(mu) = 0;
  std::optional<nfs_resop4> last_reply GUARDED_BY(mu);
  bool confirmed GUARDED_BY(mu) = false;  // 4.0 OPEN_CONFIRM
  // Its stateid on each file (an open-owner's open, a lock-owner's locks).
  std::map<Nfs4File, uint64_t> states GUARDED_BY(mu);
};

enum class Nfs4StateKind : uint8_t { kOpen, kLock, kDelegation };

// One stateid's state. The data path copies it out of its shard; changes go through
// Nfs4State::UpdateState.
struct Nfs4StateRecord {
  Nfs4StateKind kind = Nfs4StateKind::kOpen;
  uint32_t seqid = 1;
  std::shared_ptr<Nfs4Client> client;
  std::shared_ptr<Nfs4Owner> owner;
  Nfs4File file;
  // kOpen: the runtime open, and the OPEN4_SHARE_ACCESS / DENY bits it holds; the sets of
  // values its OPENs asked for (bit 1 << value), which OPEN_DOWNGRADE may go back to.
  core::OpenTable::OpenId open = 0;
  uint32_t share_access = 0;
  uint32_t share_deny = 0;
  uint32_t access_seen = 0;
  uint32_t deny_seen = 0;
  // kLock: the open it came from (its key), whose access it checks I/O against.
  uint64_t parent = 0;
  // kDelegation: its caching grant in the share's LeaseTable, and whether it lets the client
  // cache writes.
  uint64_t grant = 0;
  bool write_deleg = false;
  bool revoked = false;
};

// A 4.1 slot (RFC 8881 §2.10.6.1): the sequence id it last ran and that call's reply.
struct Nfs4Slot {
  sequenceid4 seqid = 0;
  bool in_use = false;
  bool cached = false;  // whether `reply` holds the reply (sa_cachethis)
  std::string reply;    // the whole encoded COMPOUND4res
};

// The security callbacks go with (RFC 8881 §18.36.3, callback_sec_parms4).
struct CallbackSecurity {
  uint32_t flavor = 0;                     // AUTH_NONE 0, AUTH_SYS 1, RPCSEC_GSS 6
  uint32_t uid = 0;                        // AUTH_SYS
  uint32_t gid = 0;                        // AUTH_SYS
  std::shared_ptr<rpc::CallSecurity> gss;  // RPCSEC_GSS: the client's context
};

struct Nfs4Session {
  sessionid4 id{};
  uint64_t key = 0;
  std::shared_ptr<Nfs4Client> client;
  channel_attrs4 fore;
  channel_attrs4 back;
  Mutex mu;
  uint32_t cb_program GUARDED_BY(mu) = 0;
  std::vector<Nfs4Slot> slots GUARDED_BY(mu);
  // The connections bound to the session's backchannel (the first that works is used).
  std::vector<std::weak_ptr<rpc::Channel>> back_channels GUARDED_BY(mu);
  sequenceid4 cb_seqid GUARDED_BY(mu) = 0;  // of the backchannel's one slot
  // The callback security CREATE_SESSION or BACKCHANNEL_CTL gave.
  CallbackSecurity cb_security GUARDED_BY(mu);
  // A callback failed on every bound connection: no delegations until a connection is bound
  // again (SEQ4_STATUS_CB_PATH_DOWN tells the client).
  bool cb_down GUARDED_BY(mu) = false;
  // Callbacks go one at a time (the backchannel has one slot): the one in flight, then these.
  bool cb_busy GUARDED_BY(mu) = false;
  std::vector<std::function<void()>> cb_queue GUARDED_BY(mu);
};

struct Nfs4Client {
  clientid4 id = 0;
  uint32_t minor = 0;
  std::string owner;  // co_ownerid / SETCLIENTID id
  verifier4 verifier{};
  uint32_t principal = 0;  // the uid that made the record (RFC 8881 §2.4 principals)
  std::string address;
  uint64_t holder = 0;              // its caching grants' holder id in the shares' LeaseTables
  std::atomic<int64_t> renewed{0};  // MonotonicNanos of the last renewal
  // Compounds of its sessions being served: its lease does not run out under one (an OPEN
  // that must first release many expired clients may take longer than a lease).
  std::atomic<int> in_flight{0};
  std::atomic<bool> recorded{false};  // its durable record was written (grace.h)

  Mutex mu;
  bool confirmed GUARDED_BY(mu) = false;
  bool dead GUARDED_BY(mu) = false;  // its state was released: nothing may be added
  // 4.0
  verifier4 confirm_verifier GUARDED_BY(mu){};
  netaddr4 callback GUARDED_BY(mu);
  uint32_t cb_program GUARDED_BY(mu) = 0;
  uint32_t cb_ident GUARDED_BY(mu) = 0;
  // A SETCLIENTID of the confirmed instance (a callback update), until confirmed.
  bool has_pending GUARDED_BY(mu) = false;
  verifier4 pending_confirm GUARDED_BY(mu){};
  netaddr4 pending_callback GUARDED_BY(mu);
  uint32_t pending_cb_program GUARDED_BY(mu) = 0;
  uint32_t pending_cb_ident GUARDED_BY(mu) = 0;
  // 4.1: CREATE_SESSION's sequence (RFC 8881 §18.36.4) and its last reply.
  sequenceid4 cs_sequence GUARDED_BY(mu) = 0;
  std::optional<CREATE_SESSION4res> cs_reply GUARDED_BY(mu);
  bool reclaim_complete GUARDED_BY(mu) = false;
  // 4.0's callback path: a client of the callback address, and whether it answered CB_NULL
  // (delegations are granted only then).
  std::shared_ptr<rpc::RpcClient> cb_client GUARDED_BY(mu);
  bool cb_ok GUARDED_BY(mu) = false;
  // A delegation of its was revoked (SEQ4_STATUS_RECALLABLE_STATE_REVOKED until freed).
  bool revoked_state GUARDED_BY(mu) = false;
  std::map<std::string, std::shared_ptr<Nfs4Owner>, std::less<>> open_owners GUARDED_BY(mu);
  std::map<std::string, std::shared_ptr<Nfs4Owner>, std::less<>> lock_owners GUARDED_BY(mu);
  std::set<uint64_t> states GUARDED_BY(mu);       // keys of its stateids
  std::set<uint64_t> delegations GUARDED_BY(mu);  // those of them that are delegations
  std::set<uint64_t> sessions GUARDED_BY(mu);     // keys of its sessions
};

// The tables. Thread-safe.
class Nfs4State {
 public:
  // `boot`: the instance number; 0 picks a random one (fuzzing fixes it, so that ids in its
  // inputs can match).
  explicit Nfs4State(uint32_t boot = 0);

  // The server instance's 4 bytes in every stateid and client id: ids of an earlier run are
  // STALE.
  uint32_t boot() const { return boot_; }

  clientid4 NewClientId() { return (uint64_t{boot_} << 32) | next_client_.fetch_add(1); }
  bool IsCurrent(clientid4 id) const { return (id >> 32) == boot_; }

  // ---- clients (under mu_) ----
  std::shared_ptr<Nfs4Client> FindClient(clientid4 id);
  // The confirmed and the unconfirmed record of an owner name (either may be null).
  std::pair<std::shared_ptr<Nfs4Client>, std::shared_ptr<Nfs4Client>> FindByOwner(
      uint32_t minor, std::string_view owner);
  void AddClient(std::shared_ptr<Nfs4Client> c);
  // Forgets the record (its state must have been released).
  void RemoveClient(const Nfs4Client& c);
  size_t client_count();
  std::vector<std::shared_ptr<Nfs4Client>> Clients();

  // Lock-owners by their LockTable id, for a LOCK or LOCKT denied by one of them.
  void AddLockOwner(uint64_t runtime_id, clientid4 client, std::string name);
  void RemoveLockOwner(uint64_t runtime_id);
  std::optional<std::pair<clientid4, std::string>> LockOwnerOf(uint64_t runtime_id);

  // Delegations by their LeaseTable grant, for the grant's recall.
  void AddDelegation(uint64_t grant, uint64_t key);
  void RemoveDelegation(uint64_t grant);
  uint64_t DelegationOf(uint64_t grant);

  // ---- sessions ----
  std::shared_ptr<Nfs4Session> NewSession(std::shared_ptr<Nfs4Client> client);
  std::shared_ptr<Nfs4Session> FindSession(const sessionid4& id);
  std::shared_ptr<Nfs4Session> FindSession(uint64_t key);
  void RemoveSession(uint64_t key);

  // ---- stateids ----
  // Adds a record; returns its stateid (seqid 1).
  stateid4 AddState(Nfs4StateRecord record);
  // Copies the record of `other`; nullopt when there is none (or it is of an earlier run:
  // `stale` says so).
  std::optional<Nfs4StateRecord> GetState(const stateid4& id, bool* stale = nullptr);
  std::optional<Nfs4StateRecord> GetState(uint64_t key);
  // Runs `fn` on the record under its shard's lock; false when there is none.
  template <typename Fn>
  bool UpdateState(uint64_t key, Fn fn) {
    auto& s = states_.Of(key);
    MutexLock lock(&s.mu);
    auto it = s.map.find(key);
    if (it == s.map.end()) return false;
    fn(it->second);
    return true;
  }
  void RemoveState(uint64_t key);
  // 4.0: what a stateid no longer held answers later. A closed open's remembers its owner (a
  // retransmitted CLOSE gets the owner's last reply, RFC 7530 §9.1.9) and answers
  // NFS4ERR_BAD_STATEID; an expired client's answers NFS4ERR_EXPIRED (§9.6.3), an evicted
  // one's NFS4ERR_ADMIN_REVOKED. The newest kRetiredKept are remembered.
  struct Retired {
    nfsstat4 status = nfsstat4::NFS4ERR_BAD_STATEID;
    std::shared_ptr<Nfs4Owner> owner;
  };
  static constexpr size_t kRetiredKept = 16384;
  void Retire(uint64_t key, Retired why);
  std::optional<Retired> RetiredState(uint64_t key);
  // The key of a stateid of this run (0 for a special or foreign one).
  uint64_t KeyOf(const stateid4& id) const;
  stateid4 StateidOf(uint64_t key, uint32_t seqid) const;
  size_t state_count() const { return state_total_.load(); }

 private:
  const uint32_t boot_;
  std::atomic<uint32_t> next_client_{1};
  std::atomic<uint64_t> next_state_{1};
  std::atomic<uint64_t> next_session_{1};
  std::atomic<size_t> state_total_{0};

  Mutex mu_;
  std::map<clientid4, std::shared_ptr<Nfs4Client>> clients_ GUARDED_BY(mu_);
  std::map<uint64_t, std::pair<clientid4, std::string>> lock_owners_ GUARDED_BY(mu_);
  std::map<uint64_t, uint64_t> delegations_ GUARDED_BY(mu_);  // grant → stateid key

  core::Shards<std::shared_ptr<Nfs4Session>> sessions_;
  core::Shards<Nfs4StateRecord> states_;
  Mutex retired_mu_;
  std::map<uint64_t, Retired> retired_ GUARDED_BY(retired_mu_);  // keys grow: oldest first
};

}  // namespace dittofs::nfs

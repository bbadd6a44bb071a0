// SPDX-License-Identifier: Apache-2.0
#pragma once

// The NFSv4 program (RFC 7530 for minor version 0, RFC 8881 for 1): NULL and COMPOUND, whose
// operations run in order over a current and a saved file handle until one fails. File system
// work goes to the shares' Vfs; opens, share reservations and locks to the shares' ShareState,
// the runtime's, so that NFSv4, NFSv3 (NLM) and SMB clients see each other's. What is NFSv4's
// own (client records, sessions, stateids) is in Nfs4State.

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/acl/acl.h"
#include "core/identity.h"
#include "core/shares.h"
#include "nfs/common/file_handle.h"
#include "nfs/proto/nfs4_types.h"
#include "nfs/v4/grace.h"
#include "nfs/v4/pseudo_fs.h"
#include "nfs/v4/state.h"
#include "rpc/auth.h"
#include "rpc/dispatch.h"
#include "rpc/rpc_client.h"

namespace dittofs::nfs {

struct Nfs4Fh;

struct Nfs4Options {
  bool minor0 = true;  // serve NFSv4.0
  bool minor1 = true;  // serve NFSv4.1
  // Serve NFSv4.2 (RFC 7862: ALLOCATE, DEALLOCATE, SEEK, READ_PLUS, CLONE, COPY with
  // OFFLOAD_STATUS/OFFLOAD_CANCEL and CB_OFFLOAD; RFC 8276's xattrs).
  bool minor2 = true;
  // A COPY of more bytes than this that the client lets be asynchronous runs in the background
  // and ends with CB_OFFLOAD (when the client's callback path works); smaller ones, and the
  // rest, are done before the reply.
  uint64_t sync_copy_bytes = 64u << 20;
  size_t max_async_copies = 16;  // running at once; beyond, copies are synchronous
  uint32_t lease_seconds = 90;
  uint32_t max_io = 1u << 20;  // maxread, maxwrite
  // Owner strings (RFC 8881 §5.9): "uid@domain" names come from the control plane's users and
  // groups; `numeric_ids` sends numbers ("1000") instead, as Linux's server does for AUTH_SYS.
  // Both forms are accepted from clients either way.
  std::string idmap_domain = "localdomain";
  bool numeric_ids = true;
  // Limits (hostile or runaway clients): answered NFS4ERR_RESOURCE beyond them.
  size_t max_clients = 16384;
  size_t max_sessions_per_client = 16;
  size_t max_owners_per_client = 4096;
  size_t max_states_per_client = 65536;
  uint32_t max_slots = 64;
  uint32_t max_ops = 128;                 // per COMPOUND (4.1: also the session's limit)
  uint32_t max_cached_reply = 64u << 10;  // per slot
  // Grant read and write delegations to clients whose callback path works.
  bool delegations = true;
  // Expired clients whose state waits for a conflict (a courteous server): at most this many
  // are kept; beyond it the longest expired go first.
  size_t max_courtesy_clients = 1024;
  // ... and for at most this long after their lease ran out.
  uint32_t courtesy_seconds = 3600;
  // The instance number in client ids, stateids and session ids: 0 is random, as a server
  // must be (ids of an earlier run are STALE); fuzzing fixes it.
  uint32_t boot = 0;
};

// What `dfsctl client list` shows of an NFSv4 client.
struct Nfs4ClientInfo {
  clientid4 id = 0;
  uint32_t minor = 0;  // 0 for 4.0, 1 for 4.1 and 4.2
  std::string owner;   // its co_ownerid / SETCLIENTID id, control bytes escaped
  std::string address;
  bool confirmed = false;
  bool expired = false;  // its lease ran out; its state waits for a conflict (courtesy)
  uint32_t lease_left_s = 0;
  size_t sessions = 0;
  struct State {
    std::string kind;  // "open", "lock", "read delegation", "write delegation"
    core::ShareId share = 0;
    uint64_t file = 0;          // the file's inode
    uint32_t share_access = 0;  // opens: OPEN4_SHARE_ACCESS_* and _DENY_* bits
    uint32_t share_deny = 0;
  };
  std::vector<State> states;
};

struct AttrSource;

class Nfs4Service {
 public:
  // `shares`, `handles` and `users` (may be null: numeric owners only) must outlive the service.
  Nfs4Service(const core::ShareTable& shares, const FileHandleCodec& handles,
              const core::UserDirectory* users, Nfs4Options options = {});
  ~Nfs4Service();

  // The dispatch table for program 100003 version 4.
  rpc::ProgramVersion Program();

  // Reads the client records of the last run from `records` (may be null: none persist) and
  // begins the grace period in which those clients reclaim (grace.h). Call before serving.
  Status BeginGrace(Nfs4ClientRecords* records, std::chrono::seconds grace);
  Nfs4Grace& grace() { return grace_; }

  // The clients, for administration; Evict releases one's state and forgets it (as an
  // expiry would), Errc::kNotFound for an unknown id.
  std::vector<Nfs4ClientInfo> Clients();
  Status Evict(clientid4 id);

  // Releases every client's state (the server stops); their records stay, for the next run's
  // grace period.
  void ReleaseAll();
  // Runs once a second: expires leases (courteously), bounds what expired clients keep.
  void Tick(int64_t now_nanos);

  Nfs4State& state() { return state_; }
  const Nfs4Options& options() const { return options_; }

  // Settings that change while serving (nfs.versions' 4.x part, nfs.lease_s,
  // nfs.delegations): they apply from the next COMPOUND on. A minor version turned off
  // answers NFS4ERR_MINOR_VERS_MISMATCH; state already granted stays.
  void SetMinorVersions(bool minor0, bool minor1, bool minor2);
  void SetLeaseSeconds(uint32_t seconds) { lease_seconds_.store(seconds); }
  void SetDelegations(bool on) { delegations_.store(on); }
  // RPCSEC_GSS, when the server speaks it: the contexts NFSv4.1 backchannels may use
  // (callback_sec_parms4). `gss` outlives the service.
  void SetGss(rpc::GssAuthenticator* gss) { gss_.store(gss); }
  uint32_t lease_seconds() const { return lease_seconds_.load(std::memory_order_relaxed); }

  // Runs one COMPOUND: `args` holds its encoded arguments, `results` gets COMPOUND4res.
  // Returns false when the call's arguments could not be read at all (GARBAGE_ARGS).
  bool Compound(const rpc::CallContext& call, xdr::XdrDecoder& args, xdr::XdrEncoder& results);

  // The state of one COMPOUND; defined in compound.cc.
  struct Ctx;

 private:
  // Operations: each returns its result; the COMPOUND loop encodes it and stops at a failure.
  nfs_resop4 Dispatch(Ctx& c, nfs_argop4& op);

  nfsstat4 PutFh(Ctx& c, const PUTFH4args& a);
  nfsstat4 PutRootFh(Ctx& c);
  nfsstat4 SaveFh(Ctx& c);
  nfsstat4 RestoreFh(Ctx& c);
  GETFH4res GetFh(Ctx& c);
  nfsstat4 Lookup(Ctx& c, const LOOKUP4args& a);
  nfsstat4 Lookupp(Ctx& c);
  GETATTR4res GetAttr(Ctx& c, const GETATTR4args& a);
  nfsstat4 Verify(Ctx& c, const fattr4& attrs, bool want_same);
  ACCESS4res Access(Ctx& c, const ACCESS4args& a);
  READLINK4res ReadLink(Ctx& c);
  READDIR4res ReadDir(Ctx& c, const READDIR4args& a);
  CREATE4res Create(Ctx& c, const CREATE4args& a);
  REMOVE4res Remove(Ctx& c, const REMOVE4args& a);
  RENAME4res Rename(Ctx& c, const RENAME4args& a);
  LINK4res Link(Ctx& c, const LINK4args& a);
  SETATTR4res SetAttr(Ctx& c, const SETATTR4args& a);
  SECINFO4res SecInfo(Ctx& c, bool parent, std::string_view name);
  READ4res Read(Ctx& c, const READ4args& a);
  WRITE4res Write(Ctx& c, const WRITE4args& a);
  COMMIT4res Commit(Ctx& c, const COMMIT4args& a);
  // NFSv4.2 (v42.cc).
  nfsstat4 Allocate(Ctx& c, const ALLOCATE4args& a);
  nfsstat4 Deallocate(Ctx& c, const DEALLOCATE4args& a);
  // ALLOCATE (or with `punch`, DEALLOCATE) of [offset, offset + length) of the current file.
  nfsstat4 ChangeSpace(Ctx& c, const stateid4& stateid, uint64_t offset, uint64_t length,
                       bool punch);
  SEEK4res Seek(Ctx& c, const SEEK4args& a);
  READ_PLUS4res ReadPlus(Ctx& c, const READ_PLUS4args& a);
  nfsstat4 Clone(Ctx& c, const CLONE4args& a);
  COPY4res Copy(Ctx& c, const COPY4args& a);
  nfsstat4 OffloadCancel(Ctx& c, const OFFLOAD_CANCEL4args& a);
  OFFLOAD_STATUS4res OffloadStatus(Ctx& c, const OFFLOAD_STATUS4args& a);
  GETXATTR4res GetXattr(Ctx& c, const GETXATTR4args& a);
  SETXATTR4res SetXattr(Ctx& c, const SETXATTR4args& a);
  LISTXATTRS4res ListXattrs(Ctx& c, const LISTXATTRS4args& a);
  REMOVEXATTR4res RemoveXattr(Ctx& c, const REMOVEXATTR4args& a);
  // SETXATTR's and REMOVEXATTR's common part: the current file and the name (`wire_name`
  // without "user."), `change` run with the runtime's name, the change info around it.
  nfsstat4 ChangeXattr(Ctx& c, std::string_view wire_name,
                       const std::function<Status(core::Vfs&, const std::string&)>& change,
                       change_info4* cinfo);
  // The saved and current files of CLONE and COPY, each with the open its stateid names.
  struct CopySides;
  nfsstat4 CopySidesOf(Ctx& c, const stateid4& src, const stateid4& dst, CopySides* out);
  // Asynchronous copies: cancels each and waits for its thread.
  void StopCopies();
  struct CopyJob;
  void RunCopy(const std::shared_ptr<CopyJob>& job);

  // Clients and sessions.
  SETCLIENTID4res SetClientId(Ctx& c, const SETCLIENTID4args& a);
  nfsstat4 SetClientIdConfirm(Ctx& c, const SETCLIENTID_CONFIRM4args& a);
  nfsstat4 Renew(Ctx& c, const RENEW4args& a);
  EXCHANGE_ID4res ExchangeId(Ctx& c, const EXCHANGE_ID4args& a);
  CREATE_SESSION4res CreateSession(Ctx& c, const CREATE_SESSION4args& a);
  nfsstat4 DestroySession(Ctx& c, const DESTROY_SESSION4args& a);
  nfsstat4 DestroyClientId(Ctx& c, const DESTROY_CLIENTID4args& a);
  BIND_CONN_TO_SESSION4res BindConnToSession(Ctx& c, const BIND_CONN_TO_SESSION4args& a);
  nfsstat4 BackchannelCtl(Ctx& c, const BACKCHANNEL_CTL4args& a);
  nfsstat4 ChooseCallbackSecurity(const std::vector<callback_sec_parms4>& parms,
                                  CallbackSecurity* out);
  nfsstat4 ReclaimComplete(Ctx& c, const RECLAIM_COMPLETE4args& a);

  // Opens and locks.
  OPEN4res Open(Ctx& c, const OPEN4args& a);
  // OPEN once the owner's seqid passed; REQUIRES: owner->mu held.
  OPEN4res OpenLocked(Ctx& c, const OPEN4args& a, const std::shared_ptr<Nfs4Client>& client,
                      const std::shared_ptr<Nfs4Owner>& owner);
  // NOFILEHANDLE without a current file, ISDIR for a pseudo directory.
  static nfsstat4 NeedRegularFile(const Ctx& c);
  OPEN_CONFIRM4res OpenConfirm(Ctx& c, const OPEN_CONFIRM4args& a);
  OPEN_DOWNGRADE4res OpenDowngrade(Ctx& c, const OPEN_DOWNGRADE4args& a);
  CLOSE4res Close(Ctx& c, const CLOSE4args& a);
  LOCK4res Lock(Ctx& c, const LOCK4args& a);
  LOCKT4res LockT(Ctx& c, const LOCKT4args& a);
  LOCKU4res LockU(Ctx& c, const LOCKU4args& a);
  nfsstat4 ReleaseLockOwner(Ctx& c, const RELEASE_LOCKOWNER4args& a);
  nfsstat4 FreeStateid(Ctx& c, const FREE_STATEID4args& a);
  TEST_STATEID4res TestStateid(Ctx& c, const TEST_STATEID4args& a);
  nfsstat4 DelegReturn(Ctx& c, const DELEGRETURN4args& a);

  // The client a 4.0 operation names by id (renewing its lease), or a 4.1 COMPOUND's session's.
  nfsstat4 ClientFor(Ctx& c, clientid4 id, std::shared_ptr<Nfs4Client>* out);
  // Checks a stateid given with an operation on the current file: special stateids, the
  // record's client and file, its seqid. `out` gets the record (nullopt for a special one).
  nfsstat4 CheckStateid(Ctx& c, const stateid4& id, std::optional<Nfs4StateRecord>* out,
                        uint64_t* key = nullptr);
  // The open an I/O operation comes through, from its stateid: `*through` is null for the
  // anonymous and bypass stateids (an operation of its own, as NFSv3's), else `via`, filled.
  // NFS4ERR_OPENMODE for a write through an open without write access.
  nfsstat4 StateForIo(Ctx& c, const stateid4& id, bool write, core::OpenContext* via,
                      const core::OpenContext** through, const Nfs4Fh* fh = nullptr);
  // The status of a failed READ, WRITE or size change.
  nfsstat4 IoStatus(core::Vfs& vfs, core::FileId file, const core::OpenContext& via,
                    uint64_t offset, uint64_t length, bool write, const Status& s);
  // Records the client durably the first time it gets state (grace.h).
  void RecordClient(Nfs4Client& client);
  // Whether a reclaim (OPEN CLAIM_PREVIOUS, LOCK reclaim) of `client` may go on: NFS4_OK, or
  // NFS4ERR_NO_GRACE outside a grace period or for a client with nothing to reclaim.
  nfsstat4 ReclaimAllowed(Nfs4Client& client);
  // Releases everything a client holds: its opens, locks and grants in the shares, its
  // stateids and sessions; removes the record when `forget` (and the durable one too, unless
  // the server is stopping). A 4.0 client's stateids answer `later` when used again
  // (NFS4ERR_EXPIRED: its lease ran out or its instance was replaced). With `forget_later`,
  // the durable record's key is appended there for the caller to forget with others in one
  // write (Nfs4Grace::ForgetMany) instead of forgotten at once.
  void ReleaseClient(const std::shared_ptr<Nfs4Client>& client, bool forget,
                     nfsstat4 later = nfsstat4::NFS4ERR_EXPIRED,
                     std::vector<std::string>* forget_later = nullptr);
  // Releases the state of expired clients that holds up an operation on `file` (courtesy ends
  // at a conflict). True when some was released (the caller retries once).
  bool ExpireCourtesyHolders(const Nfs4File& file);
  // Registers ExpireCourtesyHolders with the share's runtime state (once), so that a conflict
  // of any protocol there ends the courtesy of expired clients in its way.
  void AddReleaser(core::ShareState& st, core::ShareId share);
  // Forgets one stateid and releases what it holds in its share: an open's runtime open, a
  // lock stateid's locks.
  void DropState(uint64_t key, const Nfs4StateRecord& record);
  // Releases clients whose lease ran out: those without state at once, those with state
  // (courtesy clients) past courtesy_seconds or beyond max_courtesy_clients; with `pressed`
  // (the client table is full), every expired one.
  void ExpireIdleClients(int64_t now, bool pressed);

  // Delegations and callbacks (delegations.cc).
  // 4.0: checks the client's callback address with CB_NULL; delegations follow its answer.
  void ProbeCallback40(const std::shared_ptr<Nfs4Client>& client);
  // Whether callbacks reach `client`; `for_delegations`: and delegations are on.
  bool CallbackUsable(Nfs4Client& client, bool for_delegations = true);
  // Sends CB_COMPOUND with `ops` (4.1: after a CB_SEQUENCE, one call at a time per session);
  // `done` gets whether the client answered NFS4_OK. Never blocks.
  void SendCallback(const std::shared_ptr<Nfs4Client>& client, std::vector<nfs_cb_argop4> ops,
                    std::function<void(bool ok)> done);
  void FinishCallback(const std::shared_ptr<Nfs4Session>& s, bool reached,
                      const std::function<void(bool)>& done);
  // After an OPEN: grants a delegation when the client's callback path works and nothing
  // stands in the way.
  void MaybeDelegate(Ctx& c, const std::shared_ptr<Nfs4Client>& client, core::Vfs& vfs,
                     const Nfs4File& file, core::OpenTable::OpenId open, uint32_t access,
                     OPEN4res* r);
  // The LeaseTable breaks delegation `grant`: CB_RECALL to its client.
  void Recall(uint64_t grant);
  bool DelegationRevoked(const Nfs4StateRecord& rec);
  // Sets the client's revoked_state (SEQ4_STATUS_RECALLABLE_STATE_REVOKED) from its
  // delegations: whether any was revoked and not yet freed.
  void RefreshRevoked(Nfs4Client& client);

  // Attributes.
  nfsstat4 FillAttrs(Ctx& c, const bitmap4& want, Fattr4* out);
  // The attributes of `fh` (`known`: its runtime attributes, when the caller has them; `fs`:
  // its share's counters, likewise).
  nfsstat4 FillAttrsOf(Ctx& c, const Nfs4Fh& fh, const core::Attr* known, const bitmap4& want,
                       Fattr4* out, const core::FsStats* fs = nullptr);
  // Turns SETATTR's (or a create's) attributes into the runtime's: NFS4ERR_INVAL for a read-only
  // attribute, NFS4ERR_ATTRNOTSUPP for an unsupported one, NFS4ERR_BADOWNER for an owner that
  // maps to no id. `attrset` gets the bits that will be set.
  // `acl` gets the `acl` attribute's ACL when `in` sets it (it is not a SetAttrs field:
  // Vfs::SetAcl sets it).
  nfsstat4 ToSetAttrs(Ctx& c, const fattr4& in, const core::Attr* current, core::SetAttrs* out,
                      bitmap4* attrset, std::optional<core::Acl>* acl);
  // The `acl` attribute's ACEs for `acl` and back (RFC 8881 §6.2.1): roles as OWNER@, GROUP@
  // and EVERYONE@, users and groups as owner strings (ACE4_IDENTIFIER_GROUP for groups).
  // AclFromWire: NFS4ERR_INVAL for an unknown type, flag or access bit, NFS4ERR_BADOWNER for a
  // principal that maps to no id (or another special one, such as NETWORK@).
  std::vector<nfsace4> AclToWire(const core::Acl& acl) const;
  nfsstat4 AclFromWire(const std::vector<nfsace4>& wire, core::Acl* out) const;
  // Whether `want` asks for the acl, dacl or sacl attribute; SetAclAttrs fills those of them
  // it asks for from `acl` (the dacl its allow/deny ACEs, the sacl the others, each with its
  // flags).
  static bool WantsAcl(const bitmap4& want);
  void SetAclAttrs(const core::Acl& acl, const bitmap4& want, AttrSource* src) const;
  std::string OwnerString(uint32_t id, bool group) const;
  // NFS4_OK, NFS4ERR_BADOWNER.
  nfsstat4 ParseOwner(std::string_view s, bool group, uint32_t* id) const;

  const core::ShareTable& shares_;
  const FileHandleCodec& handles_;
  const core::UserDirectory* users_;
  Nfs4Options options_;
  Nfs4State state_;
  Nfs4Grace grace_;
  std::atomic<bool> stopping_{false};
  std::atomic<uint32_t> minors_;  // bit n: minor version n is served
  std::atomic<uint32_t> lease_seconds_;
  std::atomic<bool> delegations_;
  std::atomic<rpc::GssAuthenticator*> gss_{nullptr};
  verifier4 write_verifier_{};
  std::string server_owner_;
  // Drives 4.0's callback connections.
  std::unique_ptr<rpc::ClientIo> callback_io_;
  // Asynchronous copies by their stateid's `other`; finished ones are kept a while for
  // OFFLOAD_STATUS.
  Mutex copies_mu_;
  std::map<std::array<std::byte, NFS4_OTHER_SIZE>, std::shared_ptr<CopyJob>> copies_
      GUARDED_BY(copies_mu_);
  bool copies_stopped_ GUARDED_BY(copies_mu_) = false;
  // ExpireCourtesyHolders for each share, as registered with the share's runtime state.
  Mutex releasers_mu_;
  std::map<core::ShareId, std::shared_ptr<const core::ShareState::Releaser>> releasers_
      GUARDED_BY(releasers_mu_);
};

}  // namespace dittofs::nfs

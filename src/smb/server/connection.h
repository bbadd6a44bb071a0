// SPDX-License-Identifier: Apache-2.0
#pragma once

// One SMB2 connection: its negotiated state, sessions and credits, and the handlers of its
// commands (MS-SMB2 §3.3.5). Requests run on the stream server's workers; a compound chain
// runs in order in one task.

#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>

#include "smb/security/sid.h"
#include "smb/server/internal.h"
#include "smb/server/timer.h"

namespace dittofs::smb {

// Where an open's oplock breaks are sent: its connection (valid while `stream` is) and session.
// A durable open's moves to the connection that reconnects it; none while it is disconnected.
struct BreakTarget {
  Mutex mu;
  std::weak_ptr<net::StreamConnection> stream GUARDED_BY(mu);
  class Connection* handler GUARDED_BY(mu) = nullptr;
  std::weak_ptr<Session> session GUARDED_BY(mu);
};

// Marks a durable v2 CREATE (by ClientGuid and CreateGuid) as waiting before it opens, from
// its construction to its destruction: a replay of it meanwhile is told to come back later.
class PendingCreate {
 public:
  PendingCreate(struct ServerContext& server, const std::array<std::byte, 16>& client_guid,
                const std::array<std::byte, 16>& create_guid);
  ~PendingCreate();
  PendingCreate(const PendingCreate&) = delete;
  PendingCreate& operator=(const PendingCreate&) = delete;

 private:
  struct ServerContext& server_;
  std::pair<std::array<std::byte, 16>, std::array<std::byte, 16>> key_;
};

// A durable open whose connection was lost, waiting for its client (durable.h).
struct DurableRecord {
  std::shared_ptr<Open> open;
  core::Caller caller;                      // its session's user, who may reconnect it
  std::array<std::byte, 16> client_guid{};  // its connection's ClientGuid (leases are keyed by it)
  uint64_t timer = 0;                       // the scavenger's Timer::Id
};

struct ServerContext {
  SmbServerOptions options;
  SmbEnvironment env;
  security::SidMap sids{security::Sid{}};  // of options.machine_sid
  std::array<std::byte, 16> server_guid{};
  std::vector<std::byte> negotiate_token;  // SPNEGO's first token, the same for every client
  // Leases by (ClientGuid, LeaseKey): a client's leases outlive its connections' opens of them
  // only while some open uses them.
  Mutex leases_mu;
  std::map<std::pair<std::array<std::byte, 16>, LeaseKey>, std::shared_ptr<Lease>> leases
      GUARDED_BY(leases_mu);
  Timer timer;  // delayed answers (failed logons), durable opens' scavengers
  // Durable opens waiting for a reconnect, by their FileId.
  Mutex durable_mu;
  std::map<uint64_t, DurableRecord> durable GUARDED_BY(durable_mu);
  // Durable v2 opens by (ClientGuid, CreateGuid), for CREATE replays (durable.h); an entry
  // goes when its open closes.
  Mutex replay_mu;
  std::map<std::pair<std::array<std::byte, 16>, std::array<std::byte, 16>>, std::weak_ptr<Open>>
      replayable GUARDED_BY(replay_mu);
  // The same keys of durable v2 CREATEs that wait (for breaks) before they open, with how many
  // wait (PendingCreate).
  std::map<std::pair<std::array<std::byte, 16>, std::array<std::byte, 16>>, int> pending_creates
      GUARDED_BY(replay_mu);
  StreamTable streams;  // the opens of named streams, of every connection
  // The live connections, for the administrator's view (SmbAdmin). A connection is here from
  // its construction to its destruction; holding connections_mu keeps every one alive.
  // Lock order: connections_mu, then a Connection's mu_, a Session's mu, leases_mu.
  Mutex connections_mu;
  std::set<class Connection*> connections GUARDED_BY(connections_mu);
};

struct Reply;
struct DurableAsk;
// A request that must wait before it can be answered (a lease or oplock break, a blocking
// lock). `start` registers `resume` (called once, on any thread, when the wait ends: Ok, or
// the error that ended it) and returns what cancels the wait (true if it was still waiting;
// `resume` then follows with Errc::kBusy). `finish` makes the answer once it ended.
struct Wait {
  std::function<std::function<bool()>(std::function<void(Status)> resume)> start;
  std::function<Reply(Status)> finish;
};

// What a handler answers. The body follows the header; `payload` (READ data) follows the body.
struct Reply {
  uint32_t status = wire::kStatusSuccess;
  Bytes body;
  stores::BlockRead payload;
  bool none = false;           // no response at all (CANCEL)
  std::shared_ptr<Wait> wait;  // set: the answer comes when the wait ends
};

// The state one request of a chain runs with.
struct Exchange {
  wire::Header header;
  ByteView message;  // this element of the chain, header included
  std::shared_ptr<Session> session;
  std::shared_ptr<Tree> tree;
  std::optional<wire::FileHandle> related_handle;  // the last CREATE's, for related requests
  bool chain_failed = false;  // an earlier related request failed: this one fails alike
  uint32_t chain_status = 0;
  bool encrypted = false;  // the request came in a transform (Request.IsEncrypted)
  // A SESSION_SETUP binding `session` to this connection (multichannel): its preauth hash is
  // the binding's (Connection::bindings_), and its responses but the last are signed with the
  // session's key.
  bool binding = false;
  // `session` is not this connection's: a signed request named a session of another
  // connection (it verified with the session's key); its STATUS_USER_SESSION_DELETED is signed
  // with Session.SigningKey.
  bool foreign_session = false;
};

// A request answered asynchronously: what its answer needs, kept until it is sent.
struct PendingRequest {
  Buffer message;  // the request's bytes (x.message views them, or `decrypted`)
  Bytes decrypted;
  Exchange x;
  std::shared_ptr<Session> encrypted_session;
  uint64_t async_id = 0;
  std::shared_ptr<Wait> wait;
  // What cancels the wait, once it started; a CANCEL that comes before that (the client may
  // send it as soon as it has the interim answer) is kept in `cancel_requested` for StartAsync.
  // Both guarded by the connection's mu_.
  std::function<bool()> cancel;
  bool cancel_requested = false;
  int rounds = 0;  // waits so far: a request that runs anew may have to wait again
};

class Connection final : public net::StreamHandler {
 public:
  Connection(ServerContext& server, net::StreamConnection& stream);
  ~Connection() override;

  void OnMessage(Buffer message, net::InFlight in_flight, bool alone) override;
  void OnClose() override;

 private:
  friend class ConnectionTestPeer;  // tests/fuzz/smb_server_fuzz.cc runs Process inline

  // A message and what reading it made: its plaintext (an encrypted message's), the session
  // that sealed it, its place in the connection's order.
  struct Incoming {
    Buffer message;
    std::unique_ptr<net::InFlight> in_flight;  // ends with the message's handling
    uint64_t ticket = 0;                       // arrival order (OnMessage)
    Bytes decrypted;                           // the plaintext of an encrypted message
    std::shared_ptr<Session> encrypted_session;
    bool dropped = false;  // unreadable: the connection is closing, nothing to answer
    ByteView plain() const { return encrypted_session ? ByteView(decrypted) : message.view(); }
  };
  void Process(Buffer message);
  // Decrypts an encrypted message; false (the connection closed) when that fails.
  bool Unseal(Incoming& in);
  void Handle(Incoming& in);
  // A message on a worker: read, then through the gate (OrderedCommand) and handled.
  void Admit(Incoming in);
  // Handles `in`, whose turn it is, then each parked message whose turn comes after it.
  void RunInTurn(Incoming in);
  // `ticket` is through the gate: the parked message whose turn that makes, if any.
  std::optional<Incoming> PassLocked(uint64_t ticket) EXCLUSIVE_LOCKS_REQUIRED(order_mu_);
  void ProcessSmb1(ByteView message);
  void Send(std::vector<Bytes> responses, std::vector<stores::BlockRead> payloads,
            const std::shared_ptr<Session>& encrypt_for);
  Reply Dispatch(Exchange& x);
  // The response to `h`: header, body (or the error body), padding when `more_follow`,
  // signature. The payload stays in reply.payload unless signing took it into the body.
  Bytes BuildResponse(const wire::Header& h, const Exchange& x, Reply& reply, uint16_t credits,
                      bool more_follow, bool encrypted, std::optional<uint64_t> async_id);
  void StartAsync(std::shared_ptr<PendingRequest> pending);
  void FinishAsync(const std::shared_ptr<PendingRequest>& pending, Status status);
  // Waits on this thread for `wait` (at most 40 s) and makes its answer.
  Reply WaitHere(const Wait& wait);
  // CANCEL of a waiting request: by async id, else by message id. False if none waits.
  bool CancelPending(uint64_t session_id, uint64_t message_id, std::optional<uint64_t> async_id);
  // Credits (§3.3.5.2.3): whether message ids [id, id + charge) are in the window and unused;
  // takes them if so.
  bool TakeCredits(uint64_t id, uint16_t charge);
  uint16_t Grant(uint16_t requested, uint16_t charge);

  // session.cc
  Reply Negotiate(Exchange& x);
  Reply SessionSetup(Exchange& x);
  Reply Logoff(Exchange& x);
  Reply TreeConnect(Exchange& x);
  Reply TreeDisconnect(Exchange& x);
  Reply Ioctl(Exchange& x);
  // files.cc
  Reply Create(Exchange& x);
  Reply Close(Exchange& x);
  Reply Flush(Exchange& x);
  Reply Read(Exchange& x);
  Reply Write(Exchange& x);
  Reply Lock(Exchange& x);
  Reply QueryDirectory(Exchange& x);
  Reply QueryInfo(Exchange& x);
  Reply SetInfo(Exchange& x);
  // SET_INFO of a security descriptor (SECURITY_INFORMATION `sections`).
  Reply SetSecurity(Open& open, core::Vfs& vfs, const core::Caller& caller, ByteView sd,
                    uint32_t sections);
  // QUERY_INFO and SET_INFO of SMB2_0_INFO_QUOTA (quota_info.cc).
  Reply QueryQuota(Open& open, core::Vfs& vfs, const core::Caller& caller, ByteView input,
                   uint32_t output_length);
  Reply SetQuota(core::Vfs& vfs, const core::Caller& caller, ByteView buffer);
  Reply ChangeNotify(Exchange& x);
  Reply OplockBreak(Exchange& x);
  // An IOCTL's FSCTL on an open file (server-side copy, resume keys, object ids, sparse).
  Reply FileControl(Exchange& x, Open& open, const wire::IoctlRequest& req);

  // Errc::kBadHandle for none (STATUS_FILE_CLOSED); Errc::kUnavailable for a WRITE, SET_INFO or
  // IOCTL whose ChannelSequence is stale (STATUS_FILE_NOT_AVAILABLE, OpenLookupStatus).
  Result<std::shared_ptr<Open>> FindOpen(Exchange& x, const wire::FileHandle& handle);
  // Oplocks and leases (oplock.cc): grants an open asked for in CREATE, after it opened.
  void GrantCaching(Exchange& x, Open& open, const wire::CreateRequest& req,
                    const std::optional<std::pair<LeaseKey, uint8_t>>& lease_request,
                    core::ShareState& state, wire::CreateResponse* resp);
  // The lease an open will use (found or made), or an error status for a key bound to another
  // file.
  Result<std::shared_ptr<Lease>> LeaseFor(const wire::CreateRequest& req, core::ShareId share,
                                          uint64_t file);
  // The LeaseTable holder of the lease a CREATE names as its parent directory's (a v2 lease's
  // ParentLeaseKey, MS-SMB2 2.2.13.2.10): the open's changes of that directory's names keep
  // this client's own directory lease. kAnonymousOwner when it names none this client holds.
  uint64_t ParentHolderOf(const wire::CreateRequest& req);
  // Before `op` of `holder` on `inode` in `share`: when cached grants of other holders must be
  // broken first, starts the breaks and returns the reply that waits for them (asynchronously:
  // until acknowledged or revoked at the break deadline) and then answers `again()`, which
  // runs the request anew. nullopt when nothing stands in the way.
  std::optional<Reply> BreaksFirst(core::ShareId share, uint64_t inode, uint64_t holder,
                                   core::CacheOp op, std::function<Reply()> again);
  // SET_INFO's answer to `failed`, an operation `op` through `open` (on `inode`, or the open's
  // file when 0): when a break stands in the way (Errc::kLocked), the wait for it before the
  // SET_INFO runs anew; else the failure.
  Reply BreaksFirstOr(Exchange& x, Open& open, core::CacheOp op, const Status& failed,
                      uint64_t inode = 0);

 public:
  // Break notifications, from the LeaseTable's callbacks (any thread).
  void SendOplockBreak(const std::weak_ptr<Session>& session, uint64_t open_id, uint8_t level);
  void SendLeaseBreak(const std::shared_ptr<Lease>& lease, uint8_t from, uint8_t to, uint16_t epoch,
                      bool ack_required);

 private:
  void SendNotification(const std::shared_ptr<Session>& session, Bytes message);
  // Closes an open: its locks, its runtime open (deleting the file when it is marked so).
  void CloseOpen(Session& session, Open& open);
  // `lost`: the connection was lost; its durable opens wait for a reconnect instead of closing.
  void CloseSession(Session& session, bool lost = false);
  // CREATE with a durable handle reconnect context (DHnC, DH2C): the open it names, back.
  // `replayed`: a replayed DH2Q names the open (by its CreateGuid): the answer is its CREATE's
  // (the action it answered, and the DH2Q response context).
  Reply ReconnectDurable(Exchange& x, const wire::CreateRequest& req, uint64_t file_id,
                         const std::array<std::byte, 16>* create_guid, bool replayed = false);
  // CREATE with DH2Q naming the CreateGuid of a live durable v2 open of this client
  // (MS-SMB2 3.3.5.9.10): that open's answer again when the request is a replay (and this
  // session's open), else the refusal; nullopt when no such open is eligible.
  std::optional<Reply> ReplayCreate(Exchange& x, const wire::CreateRequest& req,
                                    const DurableAsk& ask);
  // SMB2_CREATE_APP_INSTANCE_ID (MS-SMB2 3.3.5.9.13): closes the opens of `inode` in `share`
  // that other clients made for the same application instance.
  void CloseAppInstance(core::ShareId share, uint64_t inode,
                        const std::array<std::byte, 16>& app_instance);
  // SESSION_SETUP with SMB2_SESSION_FLAG_BINDING (MS-SMB2 3.3.5.5 step 4, 3.3.5.5.3): binds
  // the session of another connection of this client to this one, once the client
  // authenticated again as the session's user. `failed` answers a failed authentication.
  Reply BindSession(Exchange& x, const wire::SessionSetupRequest& req,
                    const auth::NtHashLookup& lookup,
                    const std::function<Reply(const Status&)>& failed);
  // The session `id` wherever it is set up or bound, or null.
  std::shared_ptr<Session> FindSessionAnywhere(uint64_t id);
  // The session of another connection whose key signed `x.message` (a request that named it
  // here, not bound), or null: its refusal is signed too, so that the client believes it.
  std::shared_ptr<Session> SignerElsewhere(const Exchange& x);
  // Ends `session` on every connection it is bound to (LOGOFF, a failed re-authentication, a
  // PreviousSessionId): it leaves their tables, then its opens close (`lost`: durable ones
  // wait for their client).
  void EndSession(const std::shared_ptr<Session>& session, bool lost);
  // This connection is lost: `session` leaves it. Returns whether it was its last channel;
  // else its opens' breaks go to a channel that remains from now on.
  bool LeaveSession(Session& session);
  // The key that signs and verifies `session`'s messages on this connection (Channel.SigningKey):
  // a bound channel's own, else the session's.
  Bytes ChannelKeyLocked(const Session& session) EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // SESSION_SETUP with a PreviousSessionId: ends session `id` (on any connection) when it was
  // user `uid`'s.
  void EndPreviousSession(uint64_t id, uint32_t uid);
  core::Caller CallerOf(Session& session);
  // Whether some share admits guest and anonymous sessions (or every share does).
  bool GuestsWelcome();
  // The user an authentication names (a Kerberos principal's, else the NTLM user name's), and
  // how it proved itself.
  Result<core::UserRecord> UserOf(const auth::Authenticated& who) const;
  static core::AuthMethod MethodOf(const auth::Authenticated& who);
  // MS-SMB2 Session.FullSessionKey: what the session's keys derive from.
  static ByteView KeyOf(const auth::Authenticated& who) {
    if (!who.full_session_key.empty()) return who.full_session_key;
    return ByteView(who.session_key.data(), who.session_key.size());
  }
  // A STATUS_LOGON_FAILURE answered after `delay` (asynchronously), or at once when it is 0.
  Reply LogonFailure(std::chrono::milliseconds delay);

 public:
  // Shared with session.cc and files.cc.
  ServerContext& server_;
  net::StreamConnection& stream_;
  const std::string peer_;

  Mutex mu_;
  bool negotiated_ GUARDED_BY(mu_) = false;
  uint16_t dialect_ GUARDED_BY(mu_) = 0;
  uint32_t client_capabilities_ GUARDED_BY(mu_) = 0;
  uint16_t client_security_mode_ GUARDED_BY(mu_) = 0;
  std::array<std::byte, 16> client_guid_ GUARDED_BY(mu_){};
  crypto::PreauthHash preauth_ GUARDED_BY(mu_);
  crypto::Cipher cipher_ GUARDED_BY(mu_) = crypto::Cipher::kNone;
  std::optional<crypto::SigningAlgorithm> signing_ GUARDED_BY(mu_);
  bool posix_ GUARDED_BY(mu_) = false;
  // The sessions set up on this connection or bound to it (its channels).
  std::map<uint64_t, std::shared_ptr<Session>> sessions_ GUARDED_BY(mu_);
  // Channel.SigningKey of the sessions bound to this connection by a binding SESSION_SETUP;
  // the others sign with their session's key.
  std::map<uint64_t, Bytes> channel_keys_ GUARDED_BY(mu_);
  // Bindings in progress on this connection (MS-SMB2 3.3.1.7 PreauthSessionTable): the
  // session, its authentication and, for 3.1.1, the binding's own preauth hash.
  struct Binding {
    std::shared_ptr<Session> session;
    std::shared_ptr<auth::Acceptor> acceptor;
    crypto::PreauthHash preauth;
  };
  std::map<uint64_t, Binding> bindings_ GUARDED_BY(mu_);
  bool closed_ GUARDED_BY(mu_) = false;
  std::map<uint64_t, std::shared_ptr<PendingRequest>> pending_ GUARDED_BY(mu_);  // by async id
  // Requests of this connection handed to workers and not yet through Process: while any is,
  // a quick request goes to a worker too, so it cannot overtake one that arrived before it
  // (a CREATE answered before an earlier rename has sent its lease breaks, smb2.lease.rename_wait).
  std::atomic<int> on_workers_{0};
  // The gate that keeps this connection's requests in order where order shows: requests that
  // open, close, rename, delete, lock or set (all but reads, writes, queries, echoes and break
  // acknowledgements; OrderedCommand in server.cc) run one at a time in the order they
  // arrived, each once every earlier message has been read. Their lease breaks and other
  // effects are then out before a later request's answer, as with a server that handles a
  // connection's requests one after the other (smb2.lease.rename_wait: a rename waiting for a
  // break, then an open of the new name must find the break already sent). A request that
  // waits asynchronously leaves the gate when it goes pending; the others run in parallel.
  Mutex order_mu_;
  uint64_t next_ticket_ = 0;                         // OnMessage only (the connection's I/O strand)
  uint64_t turn_ GUARDED_BY(order_mu_) = 0;          // the oldest message not through the gate
  std::set<uint64_t> passed_ GUARDED_BY(order_mu_);  // through it, out of turn
  std::map<uint64_t, Incoming> parked_ GUARDED_BY(order_mu_);  // ordered ones waiting
  bool order_closed_ GUARDED_BY(order_mu_) = false;
  // The capabilities agreed with a Mac in an AAPL create context (aapl.h), 0 if none.
  std::atomic<uint64_t> aapl_caps_{0};
  // The credit window: ids below seq_low_ are used; [seq_low_, seq_high_) granted, of which
  // those marked in used_ are taken. used_ is a ring of bits indexed by id modulo its size, a
  // power of two at least max_credits, so the window (never wider than max_credits) fits.
  uint64_t seq_low_ GUARDED_BY(mu_) = 0;
  uint64_t seq_high_ GUARDED_BY(mu_) = 1;
  std::vector<uint64_t> used_ GUARDED_BY(mu_);
  bool Used(uint64_t id) const EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return (used_[(id >> 6) & (used_.size() - 1)] >> (id & 63)) & 1;
  }
  void SetUsed(uint64_t id, bool on) EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    uint64_t& word = used_[(id >> 6) & (used_.size() - 1)];
    word = on ? word | (uint64_t{1} << (id & 63)) : word & ~(uint64_t{1} << (id & 63));
  }

  uint16_t dialect() {
    MutexLock lock(&mu_);
    return dialect_;
  }
  std::array<std::byte, 16> client_guid() {
    MutexLock lock(&mu_);
    return client_guid_;
  }
  // Connection.ServerCapabilities has SMB2_GLOBAL_CAP_PERSISTENT_HANDLES (session.cc).
  bool persistent_handles() {
    MutexLock lock(&mu_);
    return dialect_ >= wire::kSmb300 && (client_capabilities_ & wire::kCapPersistentHandles);
  }
};

// Closes an open for `caller` (its locks, runtime open, caching): what CLOSE does, also for a
// durable open whose connection is gone (`client_guid`: its connection's).
void CloseOpenAs(ServerContext& server, const core::Caller& caller,
                 const std::array<std::byte, 16>& client_guid, Open& open);
// The LeaseTable callbacks of a lease's grant and of an oplock's (oplock.cc): the break goes to
// where the lease or BreakTarget says its client is now (a lease made on a connection falls
// back to `fallback` until bound), and a disconnected client's durable opens are scavenged.
core::LeaseTable::BreakFn LeaseBreakFn(ServerContext& server, std::shared_ptr<Lease> lease,
                                       std::weak_ptr<net::StreamConnection> fallback,
                                       Connection* fallback_handler);
core::LeaseTable::BreakFn OplockBreakFn(ServerContext& server, std::shared_ptr<BreakTarget> target,
                                        uint64_t open_id);
// An oplock level's caching (R, RW, RWH) and the oplock level of a caching state.
uint8_t StateOfOplock(uint8_t level);
// The answer to a failed FindOpen: STATUS_FILE_NOT_AVAILABLE for a stale ChannelSequence,
// else STATUS_FILE_CLOSED.
uint32_t OpenLookupStatus(const Status& failed);
// How long a request waits for a paused share (a snapshot being taken, its block store being
// replaced) to be served again: Windows clients take a refusal as the application's error,
// where NFS clients retry on JUKEBOX.
inline constexpr std::chrono::seconds kPausedShareWait{15};
// Starts a request's operation on share `id`, waiting out a pause (core::ShareTable::UseWaiting).
// Not for an operation nested in one that holds the share already: that one would hold up the
// pause it waits for.
inline Result<core::ShareUse> UseShare(const ServerContext& server, core::ShareId id) {
  return server.env.shares->UseWaiting(id, kPausedShareWait);
}
// The answer when UseShare failed: STATUS_NETWORK_NAME_DELETED for a share that is gone,
// STATUS_INSUFFICIENT_RESOURCES while it stays paused.
inline uint32_t ShareUseStatus(const Status& failed) {
  return failed.code() == Errc::kUnavailable ? wire::kStatusInsufficientResources
                                             : wire::kStatusNetworkNameDeleted;
}
uint8_t OplockOfState(uint8_t state);
// The lease a CREATE asks for (its RqLs context, MS-SMB2 2.2.13.2.8/.10): the key and the
// state asked; nullopt when it names none (or a context too short to read).
std::optional<std::pair<LeaseKey, uint8_t>> LeaseRequestOf(const wire::CreateRequest& req);
// Adds the lease response context (RqLs, v1 or v2 as `lease` is) to `resp`.
void AppendLeaseContext(const Lease& lease, uint8_t state, uint32_t flags, uint16_t epoch,
                        wire::CreateResponse* resp);
// Releases an open's oplock or its share of a lease.
void ReleaseCachingOf(ServerContext& server, const std::array<std::byte, 16>& client_guid,
                      core::ShareState& state, Open& open);

// Maps a runtime error to its NTSTATUS: the one place the SMB adapter does (ntstatus.cc).
uint32_t ToNtStatus(const Status& s);

// An answer that is only a status (an error response), or a runtime error's.
inline Reply Fail(uint32_t status) {
  Reply r;
  r.status = status;
  return r;
}
inline Reply Fail(const Status& s) { return Fail(ToNtStatus(s)); }

// Random 64-bit ids for sessions and opens, never 0 or all ones.
uint64_t NewId();

}  // namespace dittofs::smb

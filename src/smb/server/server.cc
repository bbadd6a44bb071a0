// SPDX-License-Identifier: Apache-2.0
// The SMB adapter's transport side: framing, compound chains, credits, signing and encryption,
// dispatch (MS-SMB2 §3.3.4, §3.3.5.2).

#include <algorithm>
#include <array>
#include <bit>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <mutex>

#include "base/log.h"
#include "base/random.h"
#include "metrics/metrics.h"
#include "smb/server/connection.h"
#include "smb/server/durable.h"
#include "smb/server/framer.h"
#include "smb/server/notify.h"
#include "smb/server/persistent.h"
#include "smb/wire/le.h"
#include "trace/trace.h"

namespace dittofs::smb {

using wire::Header;

uint64_t NewId() {
  for (;;) {
    const uint64_t id = RandomU64();
    if (id != 0 && id != ~uint64_t{0}) return id;
  }
}

namespace {

// The bytes sent for one reply: the NetBIOS header, then each response of the chain.
class OutgoingReply final : public net::OutgoingMessage {
 public:
  std::vector<Bytes> parts;
  std::vector<stores::BlockRead> payloads;
};

// Commands a session must be valid for, and those a tree connect must be given for.
bool NeedsSession(uint16_t c) {
  return c != wire::kNegotiate && c != wire::kSessionSetup && c != wire::kEcho &&
         c != wire::kCancel;
}
bool NeedsTree(uint16_t c) {
  return NeedsSession(c) && c != wire::kLogoff && c != wire::kTreeConnect;
}

}  // namespace

Connection::Connection(ServerContext& server, net::StreamConnection& stream)
    : server_(server), stream_(stream), peer_(stream.peer_address()) {
  MutexLock lock(&server_.connections_mu);
  server_.connections.insert(this);
}

Connection::~Connection() {
  MutexLock lock(&server_.connections_mu);
  server_.connections.erase(this);
}

namespace {

// Each command's Prometheus metrics: requests, requests that failed (an error status other than
// STATUS_MORE_PROCESSING_REQUIRED, which is a logon's next leg) and how long they took.
struct CommandMetrics {
  std::string span_name;  // "smb2.CREATE"
  metrics::Counter* requests;
  metrics::CodeCounters* errors;  // by status
  metrics::Histogram* duration;
};
const std::array<CommandMetrics, wire::kCommandCount>& SmbMetrics() {
  static const auto all = [] {
    constexpr const char* kNames[] = {
        "NEGOTIATE",     "SESSION_SETUP", "LOGOFF",   "TREE_CONNECT", "TREE_DISCONNECT",
        "CREATE",        "CLOSE",         "FLUSH",    "READ",         "WRITE",
        "LOCK",          "IOCTL",         "CANCEL",   "ECHO",         "QUERY_DIRECTORY",
        "CHANGE_NOTIFY", "QUERY_INFO",    "SET_INFO", "OPLOCK_BREAK"};
    static_assert(std::size(kNames) == wire::kCommandCount);
    std::array<CommandMetrics, wire::kCommandCount> out{};
    metrics::Registry& r = metrics::Default();
    for (size_t i = 0; i < out.size(); ++i) {
      const metrics::Labels labels = {{"command", kNames[i]}};
      out[i].span_name = std::string("smb2.") + kNames[i];
      out[i].requests =
          r.GetCounter("dittofs_smb_requests_total", "SMB2 requests run, by command.", labels);
      // Made once, for the life of the process, as the registry's counters are.
      out[i].errors = new metrics::CodeCounters(
          r, "dittofs_smb_errors_total",
          "SMB2 requests answered with an error status, by command and status.", labels, "status",
          [](uint32_t code) { return wire::StatusName(code); });
      out[i].duration = r.GetHistogram("dittofs_smb_request_duration_seconds",
                                       "How long SMB2 requests took to run.", labels);
    }
    return out;
  }();
  return all;
}

}  // namespace

namespace {

// How many times one request may wait (for breaks, locks) before it is answered.
constexpr int kMaxWaitRounds = 8;

// Whether a request is quick enough to answer on the I/O thread that received it: a single
// (not compound, not encrypted) request that reads metadata or ends an open. Saves the wake-up
// of a worker, which on a small machine costs more than the request itself.
bool Quick(ByteView m) {
  if (m.size() < wire::kHeaderSize + 2 || m.size() > 4096 || !wire::IsSmb2(m)) return false;
  if (wire::LoadLe32(m.data() + 20) != 0) return false;  // NextCommand: a chain
  switch (wire::LoadLe16(m.data() + 12)) {
    case wire::kEcho:
    case wire::kQueryInfo:
    case wire::kClose:
      return true;
    case wire::kCreate:
      // Opening what exists (FILE_OPEN), neither creating nor truncating.
      return m.size() >= wire::kHeaderSize + 40 &&
             wire::LoadLe32(m.data() + wire::kHeaderSize + 36) == wire::kOpen;
    default:
      return false;
  }
}

// Whether a message goes through the connection's gate in arrival order (connection.h):
// all but reads, writes, flushes, queries, echoes and break acknowledgements (an
// acknowledgement must never wait behind a request that waits for it).
bool OrderedCommand(ByteView m) {
  if (m.size() < wire::kHeaderSize || !wire::IsSmb2(m)) return true;
  if (wire::LoadLe32(m.data() + 20) != 0) return true;  // NextCommand: a chain
  switch (wire::LoadLe16(m.data() + 12)) {
    case wire::kRead:
    case wire::kWrite:
    case wire::kFlush:
    case wire::kQueryInfo:
    case wire::kQueryDirectory:
    case wire::kEcho:
    case wire::kOplockBreak:
      return false;
    default:
      return true;
  }
}

}  // namespace

void Connection::OnMessage(Buffer message, net::InFlight in_flight, bool alone) {
  if (alone && on_workers_.load(std::memory_order_acquire) == 0 && Quick(message.view())) {
    Process(std::move(message));  // nothing before it is outstanding: it is in turn
    return;                       // `in_flight` ends with the answer sent
  }
  on_workers_.fetch_add(1, std::memory_order_acq_rel);
  Incoming in;
  in.message = std::move(message);
  in.in_flight = std::make_unique<net::InFlight>(std::move(in_flight));
  in.ticket = next_ticket_++;
  stream_.RunOnWorker([this, in = std::move(in)]() mutable { Admit(std::move(in)); });
}

void Connection::Admit(Incoming in) {
  bool ordered = false;
  if (Unseal(in)) {
    ordered = OrderedCommand(in.plain());
  } else {
    in.dropped = true;
  }
  std::optional<Incoming> next;
  {
    MutexLock lock(&order_mu_);
    if (ordered) {
      if (order_closed_) {
        in.dropped = true;
      } else if (turn_ != in.ticket) {
        const uint64_t ticket = in.ticket;
        parked_.emplace(ticket, std::move(in));
        return;  // RunInTurn runs it when its turn comes (on_workers_ still counts it)
      }
    } else {
      next = PassLocked(in.ticket);
    }
  }
  if (ordered) return RunInTurn(std::move(in));
  if (next) {
    stream_.RunOnWorker([this, n = std::move(*next)]() mutable { RunInTurn(std::move(n)); });
  }
  if (!in.dropped) Handle(in);
  on_workers_.fetch_sub(1, std::memory_order_acq_rel);
  // `in` and its in_flight end last: that may end the connection, and this with it.
}

void Connection::RunInTurn(Incoming in) {
  std::optional<Incoming> current(std::move(in));
  while (current) {
    if (!current->dropped) Handle(*current);
    const uint64_t ticket = current->ticket;
    // Its in_flight ends after this connection's last use here: that may end the connection.
    std::unique_ptr<net::InFlight> done = std::move(current->in_flight);
    current.reset();
    {
      MutexLock lock(&order_mu_);
      current = PassLocked(ticket);
    }
    on_workers_.fetch_sub(1, std::memory_order_acq_rel);
  }
}

std::optional<Connection::Incoming> Connection::PassLocked(uint64_t ticket) {
  if (ticket != turn_) {
    passed_.insert(ticket);
    return std::nullopt;
  }
  for (++turn_;; ++turn_) {
    if (passed_.erase(turn_) != 0) continue;
    auto it = parked_.find(turn_);
    if (it == parked_.end()) return std::nullopt;
    Incoming next = std::move(it->second);
    parked_.erase(it);
    return next;
  }
}

void Connection::OnClose() {
  std::map<uint64_t, std::shared_ptr<Session>> sessions;
  std::map<uint64_t, std::shared_ptr<PendingRequest>> pending;
  std::map<uint64_t, Binding> bindings;
  {
    MutexLock lock(&mu_);
    closed_ = true;
    sessions.swap(sessions_);
    pending.swap(pending_);
    bindings.swap(bindings_);
    channel_keys_.clear();
  }
  std::map<uint64_t, Incoming> parked;
  {
    MutexLock lock(&order_mu_);
    order_closed_ = true;
    parked.swap(parked_);
  }
  // Parked messages are never answered now. Their in_flight hold the connection: they end on
  // a worker, not here inside the connection's own close.
  if (!parked.empty()) {
    stream_.RunOnWorker([parked = std::move(parked)]() mutable { parked.clear(); });
  }
  for (auto& [id, p] : pending) {
    if (p->cancel) p->cancel();
  }
  // A session bound to other connections too lives on there; one that had only this one ends.
  for (auto& [id, session] : sessions) {
    if (LeaveSession(*session)) CloseSession(*session, /*lost=*/true);
  }
}

bool Connection::LeaveSession(Session& session) {
  Channel survivor;
  std::vector<std::shared_ptr<Open>> opens;
  {
    MutexLock lock(&session.mu);
    std::erase_if(session.channels, [this](const Channel& c) { return c.connection == this; });
    if (session.channels.empty()) return true;
    survivor = session.channels.front();
    for (const auto& [id, open] : session.opens) opens.push_back(open);
  }
  LOG_DEBUG("smb {}: session {:x} lost a channel; it goes on", peer_, session.id);
  // The breaks that came here go to the channel that remains (MS-SMB2 3.3.4.6/.7: a break goes
  // on any channel of the session). Should that one close too meanwhile, its breaks find it
  // gone, as a disconnected client's do.
  for (const std::shared_ptr<Open>& open : opens) {
    if (open->break_target) {
      MutexLock lock(&open->break_target->mu);
      if (open->break_target->handler == this) {
        open->break_target->stream = survivor.stream;
        open->break_target->handler = survivor.connection;
      }
    }
    if (open->lease) {
      MutexLock lock(&server_.leases_mu);
      if (open->lease->handler == this) {
        open->lease->connection = survivor.stream;
        open->lease->handler = survivor.connection;
      }
    }
  }
  return false;
}

Bytes Connection::ChannelKeyLocked(const Session& session) {
  auto it = channel_keys_.find(session.id);
  return it != channel_keys_.end() ? it->second : session.keys.signing;
}

void Connection::CloseSession(Session& session, bool lost) {
  std::map<uint64_t, std::shared_ptr<Open>> opens;
  {
    MutexLock lock(&session.mu);
    opens.swap(session.opens);
    session.trees.clear();
  }
  for (auto& [id, open] : opens) {
    if (lost && open->durable && !open->closed.load()) {
      // The session's ClientGuid (its channels share it): the session may end from another
      // connection (a PreviousSessionId of another client).
      PreserveDurable(server_, open, CallerOf(session), session.client_guid);
    } else {
      CloseOpen(session, *open);
    }
  }
}

core::Caller Connection::CallerOf(Session& session) {
  MutexLock lock(&session.mu);
  return session.caller;
}

void Connection::CloseOpen(Session& session, Open& open) {
  CloseOpenAs(server_, CallerOf(session), session.client_guid, open);
}

uint32_t OpenLookupStatus(const Status& failed) {
  return failed.code() == Errc::kUnavailable ? wire::kStatusFileNotAvailable
                                             : wire::kStatusFileClosed;
}

void CloseOpenAs(ServerContext& server, const core::Caller& caller,
                 const std::array<std::byte, 16>& client_guid, Open& open) {
  if (open.state_open == 0) return;
  // A paused share is waited for: its runtime open must be closed, not left behind.
  Result<core::ShareUse> use = UseShare(server, open.tree->share);
  EndNotify(open, use.ok() ? &use->vfs().state().changes : nullptr);
  if (!use.ok()) return;  // the share is gone, and its state with it
  core::Vfs& vfs = use->vfs();
  open.closed.store(true);
  vfs.state().locks.ReleaseOwner(open.file.inode, open.via.lock_owner);
  core::Vfs::NamedAt at;
  bool posix_delete;
  {
    MutexLock lock(&open.mu);
    at.caller = &caller;
    at.dir = open.parent;
    at.name = open.leaf;
    at.holder = open.via.holder;
    at.parent_holder = open.via.parent_holder;
    posix_delete = open.posix_delete;
    // `leaf` is read below only while the open is no longer shared (it left the table).
  }
  // POSIX unlink semantics ([POSIX-SMB2], FILE_DISPOSITION_POSIX_SEMANTICS): the name goes now,
  // whatever other opens remain; they keep the file as an orphan until they close.
  // The runtime's own deletion at the last close is then not wanted: the name is gone, or
  // names something else by then.
  bool removed = false;
  if (posix_delete && !at.name.empty() &&
      (open.delete_on_close || vfs.state().opens.delete_pending(open.file.inode))) {
    Status undo = open.delete_on_close ? Status::Ok()
                                       : vfs.state().opens.SetDeletePending(open.state_open, false);
    Status gone = !undo.ok()       ? undo
                  : open.directory ? vfs.Rmdir(caller, at.dir, at.name, nullptr, &open.via)
                                   : vfs.Remove(caller, at.dir, at.name, nullptr, &open.via);
    if (!gone.ok()) LOG_DEBUG("smb: POSIX unlink of {}: {}", open.leaf, gone.ToString());
    removed = gone.ok();
  }
  if (open.stream) CloseStreamOpen(server.streams, vfs, caller, open);
  Status s = vfs.CloseFile(open.state_open, open.leaf.empty() || removed ? nullptr : &at);
  if (!s.ok()) LOG_DEBUG("smb: close of {}: {}", open.leaf, s.ToString());
  if (open.modified.load() && !open.leaf.empty()) {
    vfs.state().DirectoryChanged(at.dir.inode, at.parent_holder);
  }
  // The caching goes last: releasing it lets an open that waited for its break go on, and that
  // open must find this one closed.
  ReleaseCachingOf(server, client_guid, vfs.state(), open);
  ForgetPersistentOpen(server, open);
  if (open.create_guid != std::array<std::byte, 16>{}) {  // a DH2Q's, replay eligible
    MutexLock lock(&server.replay_mu);
    auto it = server.replayable.find({client_guid, open.create_guid});
    if (it != server.replayable.end()) {
      std::shared_ptr<Open> listed = it->second.lock();
      if (!listed || listed.get() == &open) server.replayable.erase(it);
    }
  }
}

Result<std::shared_ptr<Open>> Connection::FindOpen(Exchange& x, const wire::FileHandle& h) {
  wire::FileHandle handle = h;
  if (handle.is_related_placeholder()) {
    if (!x.header.related() || !x.related_handle)
      return Status(Errc::kBadHandle, "no related open");
    handle = *x.related_handle;
  }
  if (handle.persistent != handle.volatile_id) return Status(Errc::kBadHandle, "unknown open");
  const bool sequenced = dialect() >= wire::kSmb300;
  std::shared_ptr<Open> open;
  {
    MutexLock lock(&x.session->mu);
    auto it = x.session->opens.find(handle.volatile_id);
    if (it == x.session->opens.end()) return Status(Errc::kBadHandle, "unknown open");
    if (x.tree && it->second->tree != x.tree) {
      return Status(Errc::kBadHandle, "open of another tree");
    }
    open = it->second;
  }
  // MS-SMB2 3.3.5.2.10: a request's ChannelSequence moves the open's forward (by less than
  // half the 16-bit circle); a WRITE, SET_INFO or IOCTL with an older one was sent before a
  // channel failure the client has since recovered from, and is refused. (The spec's counts
  // of outstanding requests are not kept: a replay with the open's own ChannelSequence goes
  // on.)
  if (sequenced) {
    const auto csn = static_cast<uint16_t>(x.header.status & 0xFFFF);
    MutexLock lock(&open->mu);
    if (csn != open->channel_sequence) {
      if (static_cast<uint16_t>(csn - open->channel_sequence) <= 0x7FFF) {
        open->channel_sequence = csn;
      } else if (x.header.command == wire::kWrite || x.header.command == wire::kSetInfo ||
                 x.header.command == wire::kIoctl) {
        return Status(Errc::kUnavailable, "stale ChannelSequence");
      }
    }
  }
  // MS-SMB2 3.3.5.x: a request on a durable open ends its CREATE's replay eligibility (a
  // persistent one keeps it).
  if (!open->persistent) open->replay_eligible.store(false);
  return open;
}

bool Connection::TakeCredits(uint64_t id, uint16_t charge) {
  MutexLock lock(&mu_);
  const uint64_t n = std::max<uint16_t>(charge, 1);
  if (id < seq_low_ || id + n > seq_high_ || id + n < id) return false;
  if (used_.empty()) {
    // Whole 64-bit words, a power of two of them, covering the widest window Grant allows.
    const uint64_t bits = std::max<uint64_t>(server_.options.max_credits, 64);
    used_.assign(std::bit_ceil((bits + 63) / 64), 0);
  }
  for (uint64_t i = id; i < id + n; ++i) {
    if (Used(i)) return false;
  }
  for (uint64_t i = id; i < id + n; ++i) SetUsed(i, true);
  // The low edge moves past the ids now used; their bits are cleared for the ids that will
  // wrap onto them.
  while (seq_low_ < seq_high_ && Used(seq_low_)) SetUsed(seq_low_++, false);
  return true;
}

uint16_t Connection::Grant(uint16_t requested, uint16_t charge) {
  MutexLock lock(&mu_);
  // Grant what the client asks (at least what the request cost, so it never runs dry) while
  // the window stays under the limit (§3.3.1.2).
  const uint64_t outstanding = seq_high_ - seq_low_;
  const uint64_t limit = server_.options.max_credits;
  uint64_t want = std::max<uint64_t>({requested, 1, charge});
  if (outstanding + want > limit) want = limit > outstanding ? limit - outstanding : 0;
  if (want == 0 && outstanding == 0) want = 1;
  seq_high_ += want;
  return static_cast<uint16_t>(want);
}

void Connection::Process(Buffer message) {
  Incoming in;
  in.message = std::move(message);
  if (Unseal(in)) Handle(in);
}

bool Connection::Unseal(Incoming& in) {
  ByteView m = in.message.view();
  if (!crypto::IsTransform(m)) return true;
  if (m.size() < 52) {
    stream_.Close();
    return false;
  }
  const uint64_t sid = crypto::TransformSessionId(m);
  crypto::Cipher cipher;
  {
    MutexLock lock(&mu_);
    auto it = sessions_.find(sid);
    if (it != sessions_.end()) in.encrypted_session = it->second;
    cipher = cipher_;
  }
  if (!in.encrypted_session || !in.encrypted_session->valid.load() ||
      cipher == crypto::Cipher::kNone) {
    LOG_DEBUG("smb {}: encrypted message for unknown session", peer_);
    in.encrypted_session = nullptr;
    stream_.Close();
    return false;
  }
  Result<Bytes> plain = crypto::Open(cipher, in.encrypted_session->keys.decrypt, m);
  if (!plain.ok()) {
    LOG_INFO("smb {}: a message failed decryption: {}", peer_, plain.status().ToString());
    in.encrypted_session = nullptr;
    stream_.Close();
    return false;
  }
  in.decrypted = std::move(plain).value();
  return true;
}

void Connection::Handle(Incoming& in) {
  ByteView m = in.plain();
  const std::shared_ptr<Session> encrypted_session = in.encrypted_session;
  if (wire::IsSmb1(m)) return ProcessSmb1(m);
  if (!wire::IsSmb2(m)) {
    LOG_DEBUG("smb {}: not an SMB2 message", peer_);
    return stream_.Close();
  }

  std::vector<Bytes> responses;
  std::vector<stores::BlockRead> payloads;
  Exchange x;
  x.encrypted = encrypted_session != nullptr;
  // The session whose keys seal the answer: the request's, when it came encrypted; else, when
  // it was refused on a tree that needs encryption, that tree's session (§3.3.4.1.4).
  std::shared_ptr<Session> seal = encrypted_session;
  size_t at = 0;
  for (int element = 0;; ++element) {
    ByteView rest = m.subspan(at);
    Result<Header> h = wire::DecodeHeader(rest);
    if (!h.ok()) {
      // A chain whose next element is not a header: the connection is broken (§3.3.5.2.2).
      LOG_DEBUG("smb {}: bad header: {}", peer_, h.status().ToString());
      return stream_.Close();
    }
    size_t len = rest.size();
    if (h->next_command != 0) {
      if (h->next_command % 8 != 0 || h->next_command < wire::kHeaderSize ||
          h->next_command >= rest.size()) {
        LOG_DEBUG("smb {}: bad NextCommand {}", peer_, h->next_command);
        return stream_.Close();
      }
      len = h->next_command;
    }
    x.header = *h;
    x.message = rest.subspan(0, len);
    const bool related = element > 0 && h->related();
    // §3.3.5.2.7.2: a chain cannot start with a related request.
    const bool related_first = element == 0 && h->related();

    // Credits: every request but CANCEL takes its message ids from the window.
    uint16_t charge = h->credit_charge;
    uint16_t dialect_now = dialect();
    if (h->command != wire::kCancel) {
      if (dialect_now == wire::kSmb202 || dialect_now == 0) charge = 1;
      if (!TakeCredits(h->message_id, charge)) {
        LOG_INFO("smb {}: message id {} outside the credit window: closing", peer_, h->message_id);
        return stream_.Close();
      }
    }

    Reply reply;
    // The session and tree: a related request inherits the previous element's.
    if (!related) {
      x.session.reset();
      x.tree.reset();
      x.related_handle.reset();
      x.chain_failed = false;
      x.foreign_session = false;
      x.binding = false;
    }
    if (related_first) {
      reply.status = wire::kStatusInvalidParameter;
      x.chain_failed = true;
      x.chain_status = reply.status;
    } else if (x.chain_failed) {
      reply.status = x.chain_status;  // §3.3.5.2.7.2: the rest of a failed related chain fails
    } else if (h->command >= wire::kCommandCount) {
      reply.status = wire::kStatusInvalidParameter;
    } else {
      uint32_t status = wire::kStatusSuccess;
      if (!related || !x.session) {
        if (h->session_id != 0 || NeedsSession(h->command)) {
          MutexLock lock(&mu_);
          auto it = sessions_.find(h->session_id);
          if (it != sessions_.end()) x.session = it->second;
        }
      }
      if (NeedsSession(h->command)) {
        if (!x.session || !x.session->valid.load()) status = wire::kStatusUserSessionDeleted;
        if (!x.session && status != 0) {
          // A session of another connection, not bound here: refused, signed if its key
          // signed the request; the rest of the chain fails alike, and never runs on it.
          x.session = SignerElsewhere(x);
          x.foreign_session = x.session != nullptr;
          x.chain_failed = x.foreign_session;
          x.chain_status = status;
        }
      }
      // Signatures: a valid session checks every signed request, and refuses unsigned ones
      // when it requires signing; an encrypted message needs no signature (§3.3.5.2.4).
      // SESSION_SETUP checks its own (a re-authentication or a refused binding).
      if (status == 0 && x.session && x.session->valid.load() && !encrypted_session &&
          h->command != wire::kSessionSetup) {
        if (h->is_signed()) {
          MutexLock lock(&mu_);
          const crypto::SigningAlgorithm alg = crypto::SigningFor(dialect_, signing_);
          if (!crypto::Verify(alg, ChannelKeyLocked(*x.session), x.message)) {
            status = wire::kStatusAccessDenied;
          }
        } else if (x.session->signing_required && h->command != wire::kCancel) {
          status = wire::kStatusAccessDenied;
        }
        if (x.session->encrypt && h->command != wire::kCancel) status = wire::kStatusAccessDenied;
      }
      if (status == 0 && NeedsTree(h->command) && !(related && x.tree)) {
        MutexLock lock(&x.session->mu);
        auto it = x.session->trees.find(h->tree_id);
        if (it == x.session->trees.end()) {
          status = wire::kStatusNetworkNameDeleted;
        } else {
          x.tree = it->second;
        }
      }
      // §3.3.5.2.11: a tree of a share that needs encryption takes only encrypted requests; one
      // that needs signing, only signed (or encrypted) ones.
      if (status == 0 && x.tree && x.tree->encrypt && !encrypted_session && NeedsTree(h->command)) {
        status = wire::kStatusAccessDenied;
        if (!seal && x.session->encryptor) seal = x.session;
      }
      if (status == 0 && x.tree && x.tree->require_signing && !encrypted_session &&
          !h->is_signed() && NeedsTree(h->command) && h->command != wire::kCancel) {
        status = wire::kStatusAccessDenied;
      }
      if (status != 0) {
        reply.status = status;
      } else {
        const auto started = std::chrono::steady_clock::now();
        // A span per request (docs/tracing.md): a relaxed load unless tracing is on.
        trace::Span span;
        if (h->command < wire::kCommandCount) {
          span = trace::Span::Root(SmbMetrics()[h->command].span_name);
        }
        if (span.recording()) {
          span.SetAttribute("smb2.message_id", h->message_id);
          span.SetAttribute("smb2.session_id", h->session_id);
          if (x.tree) span.SetAttribute("dittofs.share", x.tree->name);
        }
        reply = Dispatch(x);
        if (span.recording()) {
          span.SetAttribute("smb2.status", wire::StatusName(reply.status));
          if ((reply.status & 0xC0000000) == 0xC0000000 &&
              reply.status != wire::kStatusMoreProcessingRequired) {
            span.SetError(wire::StatusName(reply.status));
          }
        }
        if (h->command < wire::kCommandCount) {
          const CommandMetrics& m = SmbMetrics()[h->command];
          m.requests->Inc();
          m.duration->Observe(std::chrono::steady_clock::now() - started);
          if ((reply.status & 0xC0000000) == 0xC0000000 &&
              reply.status != wire::kStatusMoreProcessingRequired) {
            m.errors->Inc(reply.status);
          }
        }
      }
      // §3.3.5.2.7.2: an error from a CREATE (the chain's first included) fails the rest of the
      // chain, which has no FileId. After any other error the related requests still run: the
      // Linux client's rmdir is CREATE + SET_INFO(disposition) + CLOSE, and a CLOSE failed with
      // the SET_INFO's STATUS_DIRECTORY_NOT_EMPTY leaked the open (a later rmdir of the emptied
      // directory then answered success but never removed it).
      if (h->command == wire::kCreate && (reply.status & 0xC0000000) == 0xC0000000) {
        x.chain_failed = true;
        x.chain_status = reply.status;
      }
    }
    if (reply.none) {
      if (h->next_command == 0) break;
      at += len;
      continue;
    }

    if (reply.wait) {
      if (h->next_command == 0 && h->command != wire::kCancel) {
        // The last request of its chain goes async: an interim STATUS_PENDING now, the answer
        // when the wait ends (§3.3.4.2).
        const uint64_t async_id = NewId();
        auto pending = std::make_shared<PendingRequest>();
        pending->message = std::move(in.message);
        pending->decrypted = std::move(in.decrypted);
        pending->x = x;
        pending->encrypted_session = encrypted_session;
        pending->async_id = async_id;
        pending->wait = reply.wait;
        {
          // Known before the interim answer leaves, so that a CANCEL sent on it finds it.
          MutexLock lock(&mu_);
          if (!closed_) pending_[async_id] = pending;
        }
        Reply interim;
        interim.status = wire::kStatusPending;
        Bytes out = BuildResponse(*h, x, interim, Grant(h->credits, charge), false,
                                  encrypted_session != nullptr, async_id);
        responses.push_back(std::move(out));
        payloads.emplace_back();
        Send(std::move(responses), std::move(payloads), encrypted_session);
        StartAsync(std::move(pending));
        return;
      }
      // A CHANGE_NOTIFY inside a chain would wait for changes that may never come: Windows
      // fails it with STATUS_INTERNAL_ERROR and answers the rest (MS-SMB2 <159>, <162>;
      // smb2.compound.interim2).
      if (h->command == wire::kChangeNotify) {
        reply = Reply();
        reply.status = wire::kStatusInternalError;
      }
      // Inside a chain: wait here, each wait bounded by the break timeout, a bounded number
      // of times (a request run anew may have to wait again).
      for (int round = 0; reply.wait && round < kMaxWaitRounds; ++round) {
        const std::shared_ptr<Wait> wait = reply.wait;
        reply = WaitHere(*wait);
      }
      if (reply.wait) {
        reply = Reply();
        reply.status = wire::kStatusInternalError;
      }
    }

    Bytes out =
        BuildResponse(*h, x, reply, h->command == wire::kCancel ? 0 : Grant(h->credits, charge),
                      h->next_command != 0, seal != nullptr, std::nullopt);
    responses.push_back(std::move(out));
    payloads.push_back(std::move(reply.payload));
    if (h->command == wire::kCreate && reply.status == 0 && reply.body.size() >= 80) {
      wire::FileHandle fh;
      fh.persistent = wire::LoadLe64(reply.body.data() + 64);
      fh.volatile_id = wire::LoadLe64(reply.body.data() + 72);
      x.related_handle = fh;
    }
    if (h->next_command == 0) break;
    at += len;
  }
  if (!responses.empty()) {
    Send(std::move(responses), std::move(payloads), seal);
  }
}

Bytes Connection::BuildResponse(const Header& h, const Exchange& x, Reply& reply, uint16_t credits,
                                bool more_follow, bool encrypted,
                                std::optional<uint64_t> async_id) {
  Header r;
  r.credit_charge = h.credit_charge;
  r.status = reply.status;
  r.command = h.command;
  r.credits = credits;
  r.flags = wire::kFlagServerToRedir | (h.flags & wire::kFlagRelated) |
            (h.flags & wire::kFlagPriorityMask);
  if (async_id) {
    r.flags |= wire::kFlagAsync;
    r.async_id = *async_id;
  }
  r.message_id = h.message_id;
  r.tree_id = x.tree ? x.tree->id : h.tree_id;
  r.session_id = x.session ? x.session->id : h.session_id;
  Bytes out;
  out.reserve(wire::kHeaderSize + 64 + reply.body.size());
  wire::EncodeHeader(r, out);
  if (reply.body.empty()) {
    wire::EncodeErrorResponse(out);
  } else {
    out.insert(out.end(), reply.body.begin(), reply.body.end());
  }
  // Signing: responses to signed requests and every response of a session that requires
  // it; and 3.x's final SESSION_SETUP response. Not inside an encrypted message, nor an
  // interim response.
  // The connection's dialect and signing algorithm, read once.
  uint16_t dialect_now;
  crypto::SigningAlgorithm alg;
  {
    MutexLock lock(&mu_);
    dialect_now = dialect_;
    alg = crypto::SigningFor(dialect_, signing_);
  }
  const bool final_setup = h.command == wire::kSessionSetup && reply.status == 0 && x.session &&
                           x.session->valid.load() && dialect_now >= wire::kSmb300 &&
                           !x.session->guest;
  const bool sign = x.session && x.session->valid.load() && !encrypted &&
                    reply.status != wire::kStatusPending &&
                    (h.is_signed() || x.session->signing_required || final_setup ||
                     (x.tree && x.tree->require_signing)) &&
                    !x.session->keys.signing.empty();
  if (sign && reply.payload.size() > 0) {
    // The signature covers the payload: it joins the body.
    for (ByteView p : reply.payload.pieces) out.insert(out.end(), p.begin(), p.end());
    reply.payload = {};
  }
  const size_t payload_size = reply.payload.size();
  if (more_follow) {
    const size_t total = out.size() + payload_size;
    out.resize(out.size() + (8 - total % 8) % 8, std::byte{0});
    wire::StoreLe32(out.data() + 20, static_cast<uint32_t>(out.size() + payload_size));
  }
  if (h.command == wire::kNegotiate && reply.status == 0 && dialect_now == wire::kSmb311) {
    MutexLock lock(&mu_);
    preauth_.Update(out);
  }
  if (sign) {
    // §3.3.4.1.1: 3.x signs a SESSION_SETUP response other than success with Session.SigningKey
    // (and, for a binding, the session's algorithm); every other with the key of the channel
    // it goes on.
    Bytes key;
    crypto::SigningAlgorithm sign_alg = alg;
    if (x.foreign_session ||
        (h.command == wire::kSessionSetup && reply.status != 0 && dialect_now >= wire::kSmb300)) {
      key = x.session->keys.signing;
      sign_alg = x.session->signing_alg;
    } else {
      MutexLock lock(&mu_);
      key = ChannelKeyLocked(*x.session);
    }
    Status signed_ok = crypto::Sign(sign_alg, key, out);
    if (!signed_ok.ok()) LOG_WARN("smb {}: signing failed: {}", peer_, signed_ok.ToString());
  }
  // 3.1.1: the session's preauth hash (a binding's own) covers each SESSION_SETUP response but
  // the last, as sent.
  if (h.command == wire::kSessionSetup && x.session &&
      reply.status == wire::kStatusMoreProcessingRequired && dialect_now == wire::kSmb311) {
    if (x.binding) {
      MutexLock lock(&mu_);
      auto it = bindings_.find(x.session->id);
      if (it != bindings_.end()) it->second.preauth.Update(out);
    } else {
      MutexLock lock(&x.session->mu);
      x.session->preauth.Update(out);
    }
  }
  return out;
}

void Connection::StartAsync(std::shared_ptr<PendingRequest> pending) {
  {
    MutexLock lock(&mu_);
    if (closed_) return;
    pending_[pending->async_id] = pending;
  }
  std::weak_ptr<net::StreamConnection> weak = stream_.weak_from_this();
  // The wait may end at once, on this thread, or later on any thread: the answer is made on a
  // worker either way. `resume` holds the request weakly (pending_ owns it while it waits):
  // the request holds its cancel, which may hold `resume`, and a strong reference back would
  // keep both alive for ever.
  std::weak_ptr<PendingRequest> weak_pending = pending;
  std::function<bool()> cancel = pending->wait->start([this, weak, weak_pending](Status status) {
    std::shared_ptr<PendingRequest> p = weak_pending.lock();
    std::shared_ptr<net::StreamConnection> alive = weak.lock();
    if (!p || !alive) return;
    alive->RunOnWorker([this, alive, p, status] { FinishAsync(p, status); });
  });
  bool cancel_now;
  {
    MutexLock lock(&mu_);
    pending->cancel = cancel;
    cancel_now = pending->cancel_requested;
    pending->cancel_requested = false;
  }
  if (cancel_now && cancel) cancel();
}

void Connection::FinishAsync(const std::shared_ptr<PendingRequest>& p, Status status) {
  {
    MutexLock lock(&mu_);
    if (pending_.erase(p->async_id) == 0) return;  // answered already (cancelled)
  }
  Reply reply = p->wait->finish(status);
  // Run anew, the request met something else to wait for (an open that waited for a lease
  // break, then for a sharing violation's handle break): it waits again, asynchronously under
  // the same async id, a bounded number of times.
  if (reply.wait && ++p->rounds < kMaxWaitRounds) {
    p->wait = reply.wait;
    {
      MutexLock lock(&mu_);
      p->cancel = nullptr;
    }
    StartAsync(p);
    return;
  }
  if (reply.wait) {
    reply = Reply();
    reply.status = wire::kStatusInternalError;
  }
  std::vector<Bytes> responses;
  responses.push_back(BuildResponse(p->x.header, p->x, reply, 0, false,
                                    p->encrypted_session != nullptr, p->async_id));
  std::vector<stores::BlockRead> payloads;
  payloads.push_back(std::move(reply.payload));
  Send(std::move(responses), std::move(payloads), p->encrypted_session);
}

Reply Connection::WaitHere(const Wait& wait) {
  struct Shared {
    std::mutex mu;
    std::condition_variable cv;
    std::optional<Status> status;
  };
  auto shared = std::make_shared<Shared>();
  std::function<bool()> cancel = wait.start([shared](Status s) {
    std::lock_guard<std::mutex> lock(shared->mu);
    shared->status = s;
    shared->cv.notify_all();
  });
  std::unique_lock<std::mutex> lock(shared->mu);
  if (!shared->cv.wait_for(lock, std::chrono::seconds(40),
                           [&] { return shared->status.has_value(); })) {
    lock.unlock();
    if (cancel) cancel();
    lock.lock();
    shared->cv.wait_for(lock, std::chrono::seconds(1), [&] { return shared->status.has_value(); });
  }
  const Status status = shared->status.value_or(Status(Errc::kTimedOut));
  lock.unlock();
  return wait.finish(status);
}

bool Connection::CancelPending(uint64_t session_id, uint64_t message_id,
                               std::optional<uint64_t> async_id) {
  std::function<bool()> cancel;
  {
    MutexLock lock(&mu_);
    for (auto& [id, pending] : pending_) {
      const bool match = async_id ? id == *async_id : pending->x.header.message_id == message_id;
      if (match && pending->x.header.session_id == session_id) {
        if (!pending->cancel) {
          pending->cancel_requested = true;  // its wait has not started yet: StartAsync cancels
          return true;
        }
        cancel = pending->cancel;
        break;
      }
    }
  }
  if (!cancel) return false;
  return cancel();
}

void Connection::Send(std::vector<Bytes> responses, std::vector<stores::BlockRead> payloads,
                      const std::shared_ptr<Session>& encrypt_for) {
  auto reply = std::make_unique<OutgoingReply>();
  if (encrypt_for) {
    Bytes plain;
    for (size_t i = 0; i < responses.size(); ++i) {
      plain.insert(plain.end(), responses[i].begin(), responses[i].end());
      for (ByteView p : payloads[i].pieces) plain.insert(plain.end(), p.begin(), p.end());
    }
    Result<Bytes> sealed = encrypt_for->encryptor->Seal(encrypt_for->id, plain);
    if (!sealed.ok()) {
      LOG_WARN("smb {}: encryption failed: {}", peer_, sealed.status().ToString());
      return stream_.Close();
    }
    reply->parts.push_back(std::move(sealed).value());
  } else {
    reply->parts = std::move(responses);
    reply->payloads = std::move(payloads);
  }
  size_t total = 0;
  for (size_t i = 0; i < reply->parts.size(); ++i) {
    reply->pieces.push_back(reply->parts[i]);
    total += reply->parts[i].size();
    if (i < reply->payloads.size()) {
      for (ByteView p : reply->payloads[i].pieces) {
        reply->pieces.push_back(p);
        total += p.size();
      }
    }
  }
  reply->header[0] = std::byte{0};
  reply->header[1] = std::byte(total >> 16);
  reply->header[2] = std::byte(total >> 8);
  reply->header[3] = std::byte(total);
  reply->header_size = 4;
  stream_.Send(std::move(reply));
}

void Connection::ProcessSmb1(ByteView m) {
  // MS-SMB2 §3.3.5.3.1: an SMB1 NEGOTIATE naming "SMB 2.???" is answered with an SMB2
  // NEGOTIATE response for dialect 0x02FF (the client then negotiates again in SMB2); naming
  // only "SMB 2.002", with 2.0.2 itself. Nothing else of SMB1 is served.
  Result<std::vector<std::string>> dialects = wire::DecodeSmb1Negotiate(m);
  bool wildcard = false, smb202 = false;
  if (dialects.ok()) {
    for (const std::string& d : *dialects) {
      wildcard |= d == "SMB 2.???";
      smb202 |= d == "SMB 2.002";
    }
  }
  bool again;
  {
    MutexLock lock(&mu_);
    again = negotiated_;
  }
  if (again) return stream_.Close();  // not under mu_: Close runs OnClose, which takes it
  if (!wildcard && !smb202) {
    LOG_DEBUG("smb {}: an SMB1-only client", peer_);
    return stream_.Close();
  }
  // The SMB2 response takes the place of message id 0 (§3.3.5.3.1).
  Exchange x;
  x.header.command = wire::kNegotiate;
  std::vector<uint16_t> offered = {
      static_cast<uint16_t>(wildcard ? wire::kSmb2Wildcard : wire::kSmb202)};
  Reply reply;
  {
    wire::NegotiateResponse r;
    r.dialect = offered[0];
    r.security_mode =
        wire::kSigningEnabled | (server_.options.require_signing ? wire::kSigningRequired : 0);
    r.server_guid = server_.server_guid;
    r.max_transact = r.max_read = r.max_write = 65536;
    r.system_time = 0;
    r.security_buffer = server_.negotiate_token;
    wire::EncodeNegotiateResponse(r, reply.body);
  }
  if (!wildcard) {
    MutexLock lock(&mu_);
    negotiated_ = true;
    dialect_ = wire::kSmb202;
  }
  {
    MutexLock lock(&mu_);
    seq_low_ = 1;  // message id 0 was the SMB1 request
    seq_high_ = 2;
    used_.clear();
  }
  Header r;
  r.command = wire::kNegotiate;
  r.credits = 1;
  r.flags = wire::kFlagServerToRedir;
  Bytes out;
  wire::EncodeHeader(r, out);
  out.insert(out.end(), reply.body.begin(), reply.body.end());
  std::vector<Bytes> responses;
  responses.push_back(std::move(out));
  Send(std::move(responses), std::vector<stores::BlockRead>(1), nullptr);
}

Reply Connection::Dispatch(Exchange& x) {
  switch (x.header.command) {
    case wire::kNegotiate:
      return Negotiate(x);
    case wire::kSessionSetup:
      return SessionSetup(x);
    case wire::kLogoff:
      return Logoff(x);
    case wire::kTreeConnect:
      return TreeConnect(x);
    case wire::kTreeDisconnect:
      return TreeDisconnect(x);
    case wire::kCreate:
      return Create(x);
    case wire::kClose:
      return Close(x);
    case wire::kFlush:
      return Flush(x);
    case wire::kRead:
      return Read(x);
    case wire::kWrite:
      return Write(x);
    case wire::kLock:
      return Lock(x);
    case wire::kIoctl:
      return Ioctl(x);
    case wire::kCancel: {
      // No answer of its own: the request it names (by its async id, or its message id while
      // not yet async) ends with STATUS_CANCELLED, if it still waits (§3.3.5.16).
      Reply r;
      r.none = true;
      CancelPending(x.header.session_id, x.header.message_id,
                    x.header.async() ? std::optional<uint64_t>(x.header.async_id) : std::nullopt);
      return r;
    }
    case wire::kEcho: {
      Reply r;
      if (!wire::DecodeEmpty(x.message).ok()) {
        r.status = wire::kStatusInvalidParameter;
        return r;
      }
      wire::EncodeEmptyResponse(r.body);
      return r;
    }
    case wire::kQueryDirectory:
      return QueryDirectory(x);
    case wire::kChangeNotify:
      return ChangeNotify(x);
    case wire::kQueryInfo:
      return QueryInfo(x);
    case wire::kSetInfo:
      return SetInfo(x);
    case wire::kOplockBreak:
      return OplockBreak(x);
    default: {
      Reply r;
      r.status = wire::kStatusInvalidParameter;
      return r;
    }
  }
}

uint32_t ToNtStatus(const Status& s) {
  switch (s.code()) {
    case Errc::kOk:
      return wire::kStatusSuccess;
    case Errc::kNotFound:
      return wire::kStatusObjectNameNotFound;
    case Errc::kExists:
      return wire::kStatusObjectNameCollision;
    case Errc::kNotDir:
      return wire::kStatusNotADirectory;
    case Errc::kIsDir:
      return wire::kStatusFileIsADirectory;
    case Errc::kNotEmpty:
      return wire::kStatusDirectoryNotEmpty;
    case Errc::kAccess:
    case Errc::kPerm:
      return wire::kStatusAccessDenied;
    case Errc::kNameTooLong:
    case Errc::kBadType:
      return wire::kStatusObjectNameInvalid;
    case Errc::kInvalid:
      return wire::kStatusInvalidParameter;
    case Errc::kStale:
      return wire::kStatusFileClosed;
    case Errc::kBadHandle:
      return wire::kStatusFileClosed;
    case Errc::kNoSpace:
    case Errc::kQuota:  // as the issue and Samba answer a user past a quota
      return wire::kStatusDiskFull;
    case Errc::kReadOnly:
      return wire::kStatusMediaWriteProtected;
    case Errc::kIo:
      return wire::kStatusIoDeviceError;
    case Errc::kTooBig:
      return wire::kStatusFileTooLarge;
    case Errc::kNotSupported:
      return wire::kStatusNotSupported;
    case Errc::kXDev:
      return wire::kStatusNotSameDevice;
    case Errc::kTooManyLinks:
      return wire::kStatusTooManyLinks;
    case Errc::kBadCookie:
      return wire::kStatusInvalidParameter;
    case Errc::kNotSync:
      return wire::kStatusInvalidParameter;
    case Errc::kConflict:
    case Errc::kBusy:
    case Errc::kUnavailable:
      return wire::kStatusInsufficientResources;
    case Errc::kTimedOut:
      return wire::kStatusIoTimeout;
    case Errc::kLocked:
      return wire::kStatusFileLockConflict;
    case Errc::kShareViolation:
      return wire::kStatusSharingViolation;
    case Errc::kDeletePending:
      return wire::kStatusDeletePending;
    case Errc::kDeadlock:
      return wire::kStatusLockNotGranted;
    case Errc::kRangeNotLocked:
      return wire::kStatusRangeNotLocked;
    case Errc::kInternal:
      return wire::kStatusInternalError;
  }
  return wire::kStatusInternalError;
}

namespace {

std::string DialectName(uint16_t d) {
  switch (d) {
    case 0x0202:
      return "2.0.2";
    case 0x0210:
      return "2.1";
    case 0x0300:
      return "3.0";
    case 0x0302:
      return "3.0.2";
    case 0x0311:
      return "3.1.1";
    default:
      return "";
  }
}

std::string CachingName(uint8_t oplock, uint8_t lease_state) {
  switch (oplock) {
    case wire::kOplockII:
      return "oplock level2";
    case wire::kOplockExclusive:
      return "oplock exclusive";
    case wire::kOplockBatch:
      return "oplock batch";
    case wire::kOplockLease: {
      std::string s = "lease ";
      if (lease_state & core::kCacheRead) s += 'R';
      if (lease_state & core::kCacheWrite) s += 'W';
      if (lease_state & core::kCacheHandle) s += 'H';
      if (lease_state == 0) s += "none";
      return s;
    }
    default:
      return "";
  }
}

class SmbProtocol final : public net::StreamProtocol, public SmbAdmin {
 public:
  SmbProtocol(const SmbServerOptions& options, SmbEnvironment env) {
    context_.options = options;
    context_.env = env;
    std::optional<security::Sid> machine = security::ParseSid(options.machine_sid);
    if (!machine || !security::SidMap::IsMachineSid(*machine)) {
      machine = security::SidMap::NewMachineSid();
      LOG_WARN("smb: no machine SID kept; this run names users and groups by {}",
               security::FormatSid(*machine));
    }
    context_.sids = security::SidMap(*machine);
    // The same ServerGuid at every start: the machine SID's three random sub-authorities (the
    // server keeps the SID), then "DFS" and a version byte. A client that reconnects its
    // persistent handles after a restart finds the server it left.
    for (size_t i = 0; i < 3; ++i) {
      const uint32_t v = machine->sub[machine->sub.size() - 3 + i];
      std::memcpy(context_.server_guid.data() + 4 * i, &v, 4);
    }
    std::memcpy(context_.server_guid.data() + 12, "DFS\x01", 4);
    context_.negotiate_token = auth::NegotiateToken(options.mechanisms);
    if (const size_t n = RestorePersistentOpens(context_); n > 0) {
      LOG_INFO("smb: {} persistent opens wait for their clients", n);
    }
  }
  // The adapter stops (or restarts): the opens still waiting for their clients give their
  // runtime state back; persistent ones stay in the state store for the next start.
  ~SmbProtocol() override { DropDurableOpens(context_); }
  std::unique_ptr<net::StreamFramer> NewFramer(net::MessageBudget& budget) override {
    // The largest message: a WRITE of max_io with its header, or a transform of one.
    return std::make_unique<DirectTcpFramer>(context_.options.max_io + 64 * 1024, &budget);
  }
  std::unique_ptr<net::StreamHandler> NewHandler(net::StreamConnection& connection) override {
    return std::make_unique<Connection>(context_, connection);
  }

  std::vector<SmbSessionInfo> Sessions(size_t max_opens) override {
    std::vector<SmbSessionInfo> out;
    std::set<uint64_t> listed;  // a session bound to several connections is listed once
    MutexLock all(&context_.connections_mu);
    for (Connection* c : context_.connections) {
      std::vector<std::shared_ptr<Session>> sessions;
      uint16_t dialect = 0;
      {
        MutexLock lock(&c->mu_);
        dialect = c->dialect_;
        for (auto& [id, s] : c->sessions_) sessions.push_back(s);
      }
      for (const auto& s : sessions) {
        if (!s->valid.load() || !listed.insert(s->id).second) continue;
        SmbSessionInfo info;
        info.id = s->id;
        info.address = c->peer_;
        info.dialect = DialectName(dialect);
        info.signing = s->signing_required;
        info.encryption = s->encrypt;
        std::vector<std::shared_ptr<Open>> opens;
        {
          MutexLock lock(&s->mu);
          info.user = s->caller.user_name;
          info.guest = s->guest;
          info.trees = s->trees.size();
          for (auto& [id, o] : s->opens) {
            if (opens.size() >= max_opens) break;
            opens.push_back(o);
          }
        }
        for (const auto& o : opens) {
          if (o->state_open == 0) continue;  // a pipe
          SmbOpenInfo oi;
          oi.share = o->tree->share;
          oi.file = o->file.inode;
          oi.access = o->access;
          {
            MutexLock lock(&o->mu);
            oi.path = o->path;
          }
          uint8_t lease_state = 0;
          if (o->lease) {
            MutexLock lock(&context_.leases_mu);
            lease_state = o->lease->state;
          }
          oi.caching = CachingName(o->lease ? wire::kOplockLease : o->oplock, lease_state);
          info.opens.push_back(std::move(oi));
        }
        out.push_back(std::move(info));
      }
    }
    return out;
  }

  Status Evict(uint64_t id) override {
    MutexLock all(&context_.connections_mu);
    bool found = false;
    for (Connection* c : context_.connections) {  // every channel of the session
      bool has;
      {
        MutexLock lock(&c->mu_);
        has = c->sessions_.count(id) > 0;
      }
      if (has) {
        LOG_INFO("smb: session {:#x} ({}) evicted by the administrator", id, c->peer_);
        c->stream_.Close();
        found = true;
      }
    }
    if (!found) return Status(Errc::kNotFound, "no such SMB session");
    return Status::Ok();
  }

 private:
  ServerContext context_;
};

}  // namespace

std::string NewMachineSid() { return security::FormatSid(security::SidMap::NewMachineSid()); }

bool IsMachineSid(std::string_view text) {
  std::optional<security::Sid> sid = security::ParseSid(text);
  return sid && security::SidMap::IsMachineSid(*sid);
}

Result<std::unique_ptr<net::StreamServer>> StartSmbServer(const SmbServerOptions& options,
                                                          SmbEnvironment env,
                                                          std::shared_ptr<SmbAdmin>* admin) {
  net::StreamServerOptions stream = options.stream;
  if (stream.name == "stream") stream.name = "smb";
  stream.partial_message_budget =
      std::max<size_t>(stream.partial_message_budget, options.max_io + 64 * 1024);
  auto protocol = std::make_shared<SmbProtocol>(options, env);
  if (admin != nullptr) *admin = protocol;
  return net::StartStreamServer(stream, std::move(protocol));
}

}  // namespace dittofs::smb

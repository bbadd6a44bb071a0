// SPDX-License-Identifier: Apache-2.0
// Oplocks and leases (MS-SMB2 §3.3.5.9.8, §3.3.5.9.11, §3.3.4.6, §3.3.4.7, §3.3.5.22): what an
// open may cache, granted and broken through the share's LeaseTable (docs/state.md), so that
// NFS and other SMB clients break them alike.

#include <cstring>

#include "base/clock.h"
#include "base/log.h"
#include "smb/server/connection.h"
#include "smb/server/durable.h"
#include "smb/wire/le.h"

namespace dittofs::smb {
namespace {

constexpr uint32_t kStatusInvalidOplockProtocol = 0xC00000E3;
constexpr uint32_t kStatusUnsuccessful = 0xC0000001;
constexpr uint32_t kLeaseFlagBreakInProgress = 0x2, kLeaseFlagParentKeySet = 0x4;

// A lease may cache R, RH, RW or RWH (MS-SMB2 §3.3.5.9.8): anything else asks for nothing.
uint8_t ValidLeaseState(uint32_t asked) {
  const uint8_t s = static_cast<uint8_t>(asked & 7);
  return (s & core::kCacheRead) ? s : 0;
}

}  // namespace

uint8_t StateOfOplock(uint8_t level) {
  switch (level) {
    case wire::kOplockBatch:
      return core::kCacheRead | core::kCacheWrite | core::kCacheHandle;
    case wire::kOplockExclusive:
      return core::kCacheRead | core::kCacheWrite;
    case wire::kOplockII:
      return core::kCacheRead;
    default:
      return 0;
  }
}

uint8_t OplockOfState(uint8_t state) {
  if ((state & core::kCacheWrite) && (state & core::kCacheHandle)) return wire::kOplockBatch;
  if (state & core::kCacheWrite) return wire::kOplockExclusive;
  if (state & core::kCacheRead) return wire::kOplockII;
  return wire::kOplockNone;
}

uint64_t Connection::ParentHolderOf(const wire::CreateRequest& req) {
  if (dialect() < wire::kSmb300 || req.oplock != wire::kOplockLease) return core::kAnonymousOwner;
  for (const wire::CreateContext& c : req.contexts) {
    if (c.name != "RqLs" || c.data.size() < 52) continue;
    if (!(wire::LoadLe32(c.data.data() + 20) & kLeaseFlagParentKeySet)) break;
    LeaseKey parent;
    std::memcpy(parent.data(), c.data.data() + 32, 16);
    const std::array<std::byte, 16> guid = client_guid();
    MutexLock lock(&server_.leases_mu);
    auto it = server_.leases.find({guid, parent});
    if (it != server_.leases.end()) return it->second->holder;
    break;
  }
  return core::kAnonymousOwner;
}

std::optional<std::pair<LeaseKey, uint8_t>> LeaseRequestOf(const wire::CreateRequest& req) {
  const wire::CreateContext* ctx = nullptr;
  for (const wire::CreateContext& c : req.contexts) {
    if (c.name == "RqLs") ctx = &c;
  }
  if (ctx == nullptr || ctx->data.size() < 32) return std::nullopt;
  LeaseKey key;
  std::memcpy(key.data(), ctx->data.data(), 16);
  return std::make_pair(key, static_cast<uint8_t>(wire::LoadLe32(ctx->data.data() + 16) & 7));
}

void AppendLeaseContext(const Lease& lease, uint8_t state, uint32_t flags, uint16_t epoch,
                        wire::CreateResponse* resp) {
  Bytes data;
  wire::LeWriter w(data);
  w.Bytes(lease.key);
  w.U32(state);
  w.U32(flags | (lease.v2 && lease.has_parent ? kLeaseFlagParentKeySet : 0));
  w.U64(0);  // LeaseDuration
  if (lease.v2) {
    w.Bytes(lease.parent);
    w.U16(epoch);
    w.U16(0);
  }
  resp->contexts.emplace_back("RqLs", std::move(data));
}

Result<std::shared_ptr<Lease>> Connection::LeaseFor(const wire::CreateRequest& req,
                                                    core::ShareId share, uint64_t file) {
  const wire::CreateContext* ctx = nullptr;
  for (const wire::CreateContext& c : req.contexts) {
    if (c.name == "RqLs") ctx = &c;
  }
  if (ctx == nullptr || ctx->data.size() < 32) return std::shared_ptr<Lease>();
  LeaseKey key;
  std::memcpy(key.data(), ctx->data.data(), 16);
  const std::array<std::byte, 16> guid = client_guid();
  MutexLock lock(&server_.leases_mu);
  std::shared_ptr<Lease>& lease = server_.leases[{guid, key}];
  if (lease) {
    // §3.3.5.9.8: a key names one file.
    if (lease->file != file || lease->share != share) {
      return Status(Errc::kInvalid, "a lease key already used for another file");
    }
    return lease;
  }
  lease = std::make_shared<Lease>();
  lease->holder = NewId();
  lease->share = share;
  lease->file = file;
  lease->key = key;
  lease->v2 = ctx->data.size() >= 52 && dialect() >= wire::kSmb300;
  if (lease->v2) {
    const uint32_t flags = wire::LoadLe32(ctx->data.data() + 20);
    if (flags & kLeaseFlagParentKeySet) {
      lease->has_parent = true;
      std::memcpy(lease->parent.data(), ctx->data.data() + 32, 16);
    }
    // §3.3.5.9.11: a new lease starts at the client's epoch; each change of its state,
    // the first grant included, counts one more.
    lease->epoch = wire::LoadLe16(ctx->data.data() + 48);
  }
  lease->connection = stream_.weak_from_this();
  lease->handler = this;
  return lease;
}

void Connection::GrantCaching(Exchange& x, Open& open, const wire::CreateRequest& req,
                              const std::optional<std::pair<LeaseKey, uint8_t>>& lease_request,
                              core::ShareState& state, wire::CreateResponse* resp) {
  if (open.lease) {
    std::shared_ptr<Lease> lease = open.lease;
    uint8_t wanted = lease_request ? ValidLeaseState(lease_request->second) : 0;
    // Directory leases (SMB2_GLOBAL_CAP_DIRECTORY_LEASING, offered from 3.0): v2 leases only,
    // and a directory caches its listing and handles, never writes: RH at most.
    if (open.directory) {
      wanted = lease->v2 ? static_cast<uint8_t>(wanted & ~core::kCacheWrite) : 0;
    }
    core::LeaseTable::BreakFn on_break =
        LeaseBreakFn(server_, lease, stream_.weak_from_this(), this);
    uint8_t granted = 0;
    bool breaking = false;
    uint16_t epoch = 0;
    {
      MutexLock lock(&server_.leases_mu);
      // §3.3.5.9.8: a lease is never downgraded by asking for less, and is upgraded only by a
      // request for a superset of what it has ("RW" asked of an "RH" lease keeps "RH").
      if ((wanted & lease->state) != lease->state) wanted = lease->state;
      ++lease->opens;
      lease->session = x.session;
      if (lease->connection.expired()) {
        lease->connection = stream_.weak_from_this();
        lease->handler = this;
        lease->disconnected = false;  // its client is back, on this connection
      }
    }
    if (wanted != 0) {
      // An upgrade of a lease held already is all or nothing (smb2.lease.upgrade3).
      Result<core::LeaseTable::Granted> g =
          state.leases.Request(open.file.inode, lease->holder, core::GrantKind::kLease, wanted,
                               on_break, /*whole_upgrade=*/true);
      if (g.ok()) {
        MutexLock lock(&server_.leases_mu);
        if (lease->grant == 0 || lease->state != g->state) ++lease->epoch;
        lease->grant = g->id;
        lease->state = g->state;
      }
    }
    {
      MutexLock lock(&server_.leases_mu);
      granted = lease->state;
      breaking = lease->breaking;
      epoch = lease->epoch;
    }
    resp->oplock = wire::kOplockLease;
    AppendLeaseContext(*lease, granted, breaking ? kLeaseFlagBreakInProgress : 0, epoch, resp);
    return;
  }
  const uint8_t level = req.oplock;
  if (level == wire::kOplockNone || level == wire::kOplockLease || open.directory) return;
  auto target = std::make_shared<BreakTarget>();
  {
    MutexLock lock(&target->mu);
    target->stream = stream_.weak_from_this();
    target->handler = this;
    target->session = x.session;
  }
  open.break_target = target;
  core::LeaseTable::BreakFn on_break = OplockBreakFn(server_, target, open.id);
  uint8_t wanted = StateOfOplock(level);
  // MS-FSA 2.1.5.18.1: an exclusive or batch oplock is for the file's only open; beside other
  // opens, the server asks for level II instead (MS-SMB2 3.3.5.9).
  if ((wanted & core::kCacheWrite) && state.opens.open_count(open.file.inode) > 1) {
    wanted = core::kCacheRead;
  }
  Result<core::LeaseTable::Granted> g =
      state.leases.Request(open.file.inode, open.id, core::GrantKind::kLease, wanted, on_break);
  if (!g.ok() || g->state == 0) return;
  open.grant = g->id;
  open.oplock = OplockOfState(g->state);
  resp->oplock = open.oplock;
}

core::LeaseTable::BreakFn LeaseBreakFn(ServerContext& server, std::shared_ptr<Lease> lease,
                                       std::weak_ptr<net::StreamConnection> fallback,
                                       Connection* fallback_handler) {
  ServerContext* context = &server;  // it outlives every grant
  return [fallback, fallback_handler, lease, context](core::LeaseTable::GrantId, uint8_t to,
                                                      uint16_t) {
    std::shared_ptr<net::StreamConnection> alive;
    Connection* h = nullptr;
    uint8_t from;
    uint16_t epoch;
    bool ack;
    bool disconnected;
    {
      // The table's callback runs with none of its locks held.
      MutexLock lock(&context->leases_mu);
      disconnected = lease->disconnected;
      if (!disconnected) {
        alive = lease->connection.lock();
        h = lease->handler;
        if (!alive) {
          alive = fallback.lock();
          h = fallback_handler;
        }
      }
      from = lease->state;
      ack = (from & (core::kCacheWrite | core::kCacheHandle)) != 0;
      if (ack) {
        lease->breaking = true;
        lease->breaking_to = to;
      } else {
        lease->state = to;
      }
      epoch = ++lease->epoch;
    }
    if (alive && !disconnected && h != nullptr) {
      h->SendLeaseBreak(lease, from, to, epoch, ack);
    } else if (ack) {
      // Its client is disconnected and cannot answer: its durable opens give way.
      ScavengeDurableLease(*context, lease.get());
    }
  };
}

core::LeaseTable::BreakFn OplockBreakFn(ServerContext& server, std::shared_ptr<BreakTarget> target,
                                        uint64_t open_id) {
  ServerContext* context = &server;
  return [target, context, open_id](core::LeaseTable::GrantId, uint8_t to, uint16_t) {
    std::shared_ptr<net::StreamConnection> alive;
    Connection* handler;
    std::weak_ptr<Session> session;
    {
      MutexLock lock(&target->mu);
      alive = target->stream.lock();
      handler = target->handler;
      session = target->session;
    }
    if (alive && handler != nullptr) {
      // An oplock breaks to level II or to none (MS-SMB2 2.2.23.1): a break that would leave
      // writes cached (a batch oplock's handle caching taken for a sharing violation) goes to
      // level II, which the client acknowledges.
      handler->SendOplockBreak(session, open_id,
                               (to & core::kCacheRead) ? wire::kOplockII : wire::kOplockNone);
    } else {
      ScavengeDurableSoon(*context, open_id);  // a disconnected durable open cannot answer
    }
  };
}

void ReleaseCachingOf(ServerContext& server, const std::array<std::byte, 16>& client_guid,
                      core::ShareState& state, Open& open) {
  if (open.lease) {
    core::LeaseTable::GrantId release = 0;
    {
      MutexLock lock(&server.leases_mu);
      if (--open.lease->opens == 0) {
        release = open.lease->grant;
        auto it = server.leases.find({client_guid, open.lease->key});
        if (it != server.leases.end() && it->second == open.lease) server.leases.erase(it);
      }
    }
    if (release != 0) state.leases.Release(release);
  } else if (open.grant != 0) {
    state.leases.Release(open.grant);
  }
}

void Connection::SendNotification(const std::shared_ptr<Session>& session, Bytes message) {
  std::vector<Bytes> responses;
  responses.push_back(std::move(message));
  std::vector<stores::BlockRead> payloads(1);
  // An encrypting session's notifications are sealed like its responses (§3.3.4.1.4).
  Send(std::move(responses), std::move(payloads),
       session && session->encrypt && session->encryptor ? session : nullptr);
}

void Connection::SendOplockBreak(const std::weak_ptr<Session>& weak_session, uint64_t open_id,
                                 uint8_t level) {
  std::shared_ptr<Session> session = weak_session.lock();
  wire::Header h;
  h.command = wire::kOplockBreak;
  h.flags = wire::kFlagServerToRedir;
  h.message_id = ~uint64_t{0};
  h.session_id = 0;
  Bytes out;
  wire::EncodeHeader(h, out);
  wire::EncodeOplockBreak(level, {open_id, open_id}, out);
  SendNotification(session, std::move(out));
}

void Connection::SendLeaseBreak(const std::shared_ptr<Lease>& lease, uint8_t from, uint8_t to,
                                uint16_t epoch, bool ack_required) {
  wire::Header h;
  h.command = wire::kOplockBreak;
  h.flags = wire::kFlagServerToRedir;
  h.message_id = ~uint64_t{0};
  Bytes out;
  wire::EncodeHeader(h, out);
  wire::EncodeLeaseBreakNotification(lease->v2 ? epoch : 0, ack_required, lease->key, from, to,
                                     out);
  SendNotification(lease->session.lock(), std::move(out));
}

std::optional<Reply> Connection::BreaksFirst(core::ShareId share_id, uint64_t inode,
                                             uint64_t holder, core::CacheOp op,
                                             std::function<Reply()> again) {
  std::shared_ptr<core::Share> share = server_.env.shares->ById(share_id);
  if (!share) return Fail(wire::kStatusNetworkNameDeleted);
  if (!share->state().Breaking(inode, holder, op)) return std::nullopt;
  auto wait = std::make_shared<Wait>();
  wait->start = [share, inode, holder,
                 op](std::function<void(Status)> resume) -> std::function<bool()> {
    core::LeaseTable& leases = share->state().leases;
    const core::LeaseTable::WaitId id =
        leases.BreakFor(inode, holder, op, MonotonicNanos() + core::kBreakTimeoutNanos, resume);
    if (id == 0) {
      resume(Status::Ok());
      return nullptr;
    }
    return [share, id] { return share->state().leases.Cancel(id); };
  };
  wait->finish = [again = std::move(again)](Status s) -> Reply {
    if (s.code() == Errc::kBusy) return Fail(wire::kStatusCancelled);
    return again();  // the breaks are through: as if first asked
  };
  Reply pending;
  pending.wait = std::move(wait);
  return pending;
}

Reply Connection::OplockBreak(Exchange& x) {
  Result<wire::BreakAck> req = wire::DecodeBreakAck(x.message);
  if (!req.ok()) return Fail(wire::kStatusInvalidParameter);
  Reply reply;
  if (req->oplock) {
    Result<std::shared_ptr<Open>> found = FindOpen(x, req->oplock->handle);
    if (!found.ok()) return Fail(wire::kStatusFileClosed);
    Open& open = **found;
    if (open.grant == 0) return Fail(kStatusInvalidOplockProtocol);
    Result<core::ShareUse> use = UseShare(server_, open.tree->share);
    if (!use.ok()) return Fail(ShareUseStatus(use.status()));
    const uint8_t level = req->oplock->oplock;
    if (level != wire::kOplockII && level != wire::kOplockNone) {
      return Fail(kStatusInvalidOplockProtocol);
    }
    Status s = use->vfs().state().leases.Acknowledge(open.grant, StateOfOplock(level));
    if (!s.ok()) return Fail(kStatusInvalidOplockProtocol);
    open.oplock = level;
    wire::EncodeOplockBreak(level, req->oplock->handle, reply.body);
    return reply;
  }
  const std::array<std::byte, 16> guid = client_guid();
  std::shared_ptr<Lease> lease;
  {
    MutexLock lock(&server_.leases_mu);
    auto it = server_.leases.find({guid, req->lease->lease_key});
    if (it != server_.leases.end()) lease = it->second;
  }
  if (!lease) return Fail(wire::kStatusObjectNameNotFound);
  core::LeaseTable::GrantId grant;
  uint8_t to;
  {
    MutexLock lock(&server_.leases_mu);
    if (!lease->breaking) return Fail(kStatusUnsuccessful);
    grant = lease->grant;
    to = lease->breaking_to;
  }
  const uint8_t state = static_cast<uint8_t>(req->lease->lease_state & 7);
  if ((state & ~to) != 0) return Fail(wire::kStatusRequestNotAccepted);
  std::shared_ptr<core::Share> share = server_.env.shares->ById(lease->share);
  if (!share) return Fail(wire::kStatusNetworkNameDeleted);
  Status s = share->state().leases.Acknowledge(grant, state);
  {
    MutexLock lock(&server_.leases_mu);
    lease->breaking = false;
    lease->state = state;
  }
  if (!s.ok() && s.code() != Errc::kNotFound) return Fail(ToNtStatus(s));
  wire::LeaseBreakAck ack = *req->lease;
  ack.lease_state = state;
  wire::EncodeLeaseBreakAckResponse(ack, reply.body);
  return reply;
}

}  // namespace dittofs::smb

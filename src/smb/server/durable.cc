// SPDX-License-Identifier: Apache-2.0
// Durable handles: granting, keeping after a lost connection, reconnecting, scavenging.

#include "smb/server/durable.h"

#include <chrono>
#include <cstring>
#include <map>
#include <vector>

#include "base/casefold.h"
#include "base/log.h"
#include "smb/server/file_info.h"
#include "smb/server/notify.h"
#include "smb/wire/le.h"

namespace dittofs::smb {
namespace {

constexpr uint32_t kDefaultTimeoutMs = 60'000;
constexpr uint32_t kMaxTimeoutMs = 300'000;  // as Windows caps a v2 request
constexpr uint32_t kDh2Persistent = 0x2;
constexpr uint32_t kStatusDuplicateObjectid = 0xC000022A;

// The DH2Q response context of durable v2 `open` (MS-SMB2 2.2.14.2.12): Timeout, Flags.
void AppendDurableV2Context(const Open& open, wire::CreateResponse* resp) {
  Bytes data;
  wire::LeWriter w(data);
  w.U32(open.durable_timeout_ms);
  w.U32(open.persistent ? kDh2Persistent : 0);
  resp->contexts.emplace_back("DH2Q", std::move(data));
}

}  // namespace

uint32_t ParseDurable(const wire::CreateRequest& req, uint16_t dialect, DurableAsk* ask,
                      std::optional<DurableReconnectAsk>* reconnect) {
  bool v1c = false, v2c = false;
  for (const wire::CreateContext& c : req.contexts) {
    if (c.name == "DHnQ") {
      if (c.data.size() < 16) return wire::kStatusInvalidParameter;
      ask->v1 = true;
    } else if (c.name == "DH2Q" && dialect >= wire::kSmb300) {
      if (c.data.size() < 32) return wire::kStatusInvalidParameter;
      ask->v2 = true;
      ask->timeout_ms = wire::LoadLe32(c.data.data());
      ask->persistent = (wire::LoadLe32(c.data.data() + 4) & kDh2Persistent) != 0;
      std::memcpy(ask->create_guid.data(), c.data.data() + 16, 16);
    } else if (c.name == "DHnC") {
      if (c.data.size() < 16) return wire::kStatusInvalidParameter;
      v1c = true;
      *reconnect = DurableReconnectAsk{wire::LoadLe64(c.data.data()), false, {}};
    } else if (c.name == "DH2C" && dialect >= wire::kSmb300) {
      if (c.data.size() < 36) return wire::kStatusInvalidParameter;
      v2c = true;
      DurableReconnectAsk r;
      r.file_id = wire::LoadLe64(c.data.data());
      r.v2 = true;
      std::memcpy(r.create_guid.data(), c.data.data() + 16, 16);
      *reconnect = r;
    }
  }
  // MS-SMB2 3.3.5.9: one version at a time, and no request beside a reconnect of the other.
  if ((ask->v1 && ask->v2) || (v1c && v2c) || (v2c && (ask->v1 || ask->v2)) || (v1c && ask->v2)) {
    return wire::kStatusInvalidParameter;
  }
  if (*reconnect) *ask = DurableAsk{};
  return 0;
}

void GrantDurable(const DurableAsk& ask, bool persistent_allowed, Open& open, uint8_t lease_state,
                  wire::CreateResponse* resp) {
  if ((!ask.v1 && !ask.v2) || open.directory || open.stream) return;
  // MS-SMB2 3.3.5.9.10: a persistent handle, on a continuously available share, whatever the
  // open caches; a durable one only with a batch oplock or a lease that caches handles.
  const bool persistent = ask.v2 && ask.persistent && persistent_allowed;
  const bool batch = !open.lease && open.oplock == wire::kOplockBatch;
  const bool handle_lease = open.lease && (lease_state & core::kCacheHandle);
  if (!batch && !handle_lease && !persistent) return;
  open.durable = true;
  open.durable_v2 = ask.v2;
  open.persistent = persistent;
  open.durable_timeout_ms = kDefaultTimeoutMs;
  if (ask.v2) {
    if (ask.timeout_ms != 0) open.durable_timeout_ms = std::min(ask.timeout_ms, kMaxTimeoutMs);
    open.create_guid = ask.create_guid;
    AppendDurableV2Context(open, resp);
  } else {
    resp->contexts.emplace_back("DHnQ", Bytes(8));  // Reserved
  }
}

void PreserveDurable(ServerContext& server, const std::shared_ptr<Open>& open,
                     const core::Caller& caller, const std::array<std::byte, 16>& client_guid) {
  Result<core::ShareUse> use = server.env.shares->Use(open->tree->share);
  EndNotify(*open, use.ok() ? &use->vfs().state().changes : nullptr);
  // Breaks find no connection from now on: they scavenge the open instead.
  if (open->break_target) {
    MutexLock lock(&open->break_target->mu);
    open->break_target->stream.reset();
    open->break_target->handler = nullptr;
  }
  if (open->lease) {
    MutexLock lock(&server.leases_mu);
    open->lease->connection.reset();
    open->lease->handler = nullptr;
    open->lease->disconnected = true;
  }
  const uint64_t id = open->id;
  AwaitReconnect(server, open, caller, client_guid);
  // A break sent before the connection went (or while this ran) will never be acknowledged:
  // whoever waits for it must not wait for the break's deadline.
  bool breaking = false;
  core::LeaseTable::GrantId grant = open->grant;
  if (open->lease) {
    MutexLock lock(&server.leases_mu);
    grant = open->lease->grant;
    breaking = open->lease->breaking;
  }
  if (use.ok() && grant != 0) {
    std::optional<core::LeaseTable::GrantInfo> info = use->vfs().state().leases.Get(grant);
    breaking = breaking || (info && info->breaking);
  }
  if (breaking) ScavengeDurableSoon(server, id);
}

void AwaitReconnect(ServerContext& server, const std::shared_ptr<Open>& open,
                    const core::Caller& caller, const std::array<std::byte, 16>& client_guid) {
  const uint64_t id = open->id;
  {
    MutexLock lock(&server.durable_mu);
    DurableRecord& record = server.durable[id];
    record.open = open;
    record.caller = caller;
    record.client_guid = client_guid;
    ServerContext* context = &server;
    record.timer = server.timer.After(std::chrono::milliseconds(open->durable_timeout_ms),
                                      [context, id] { ScavengeDurable(*context, id); });
  }
  LOG_DEBUG("smb: {} open {:x} waits {} ms for its client",
            open->persistent ? "persistent" : "durable", id, open->durable_timeout_ms);
}

bool PersistentOpenWaits(ServerContext& server, core::ShareId share, uint64_t inode) {
  MutexLock lock(&server.durable_mu);
  for (const auto& [id, record] : server.durable) {
    const Open& o = *record.open;
    if (o.persistent && o.file.inode == inode && o.tree->share == share) return true;
  }
  return false;
}

bool ScavengeDurable(ServerContext& server, uint64_t open_id) {
  DurableRecord record;
  {
    MutexLock lock(&server.durable_mu);
    auto it = server.durable.find(open_id);
    if (it == server.durable.end()) return false;
    record = std::move(it->second);
    server.durable.erase(it);
  }
  (void)server.timer.Cancel(record.timer);
  LOG_DEBUG("smb: durable open {:x} closed: not reconnected in time, or in another's way", open_id);
  CloseOpenAs(server, record.caller, record.client_guid, *record.open);
  return true;
}

void DropDurableOpens(ServerContext& server) {
  std::map<uint64_t, DurableRecord> waiting;
  {
    MutexLock lock(&server.durable_mu);
    waiting.swap(server.durable);
  }
  for (auto& [id, record] : waiting) {
    (void)server.timer.Cancel(record.timer);
    Open& open = *record.open;
    Result<core::ShareUse> use = server.env.shares->Use(open.tree->share);
    if (!use.ok() || open.state_open == 0) continue;
    core::Vfs& vfs = use->vfs();
    open.closed.store(true);
    vfs.state().locks.ReleaseOwner(open.file.inode, open.via.lock_owner);
    if (open.stream) CloseStreamOpen(server.streams, vfs, record.caller, open);
    (void)vfs.CloseFile(open.state_open);
    ReleaseCachingOf(server, record.client_guid, vfs.state(), open);
  }
}

void ScavengeDurableSoon(ServerContext& server, uint64_t open_id) {
  {
    MutexLock lock(&server.durable_mu);
    auto it = server.durable.find(open_id);
    if (it == server.durable.end() || it->second.open->persistent) return;
  }
  ServerContext* context = &server;
  server.timer.After(std::chrono::milliseconds(1),
                     [context, open_id] { ScavengeDurable(*context, open_id); });
}

void ScavengeDurableLease(ServerContext& server, const Lease* lease) {
  std::vector<uint64_t> ids;
  {
    MutexLock lock(&server.durable_mu);
    for (const auto& [id, record] : server.durable) {
      if (record.open->lease.get() == lease) ids.push_back(id);
    }
  }
  for (uint64_t id : ids) ScavengeDurableSoon(server, id);
}

Reply Connection::ReconnectDurable(Exchange& x, const wire::CreateRequest& req, uint64_t file_id,
                                   const std::array<std::byte, 16>* create_guid, bool replayed) {
  const core::Caller caller = CallerOf(*x.session);
  const std::array<std::byte, 16> guid = client_guid();
  // A lease reconnects with its key (MS-SMB2 3.3.5.9.7, 3.3.5.9.12).
  std::optional<LeaseKey> lease_key;
  if (std::optional<std::pair<LeaseKey, uint8_t>> asked = LeaseRequestOf(req)) {
    lease_key = asked->first;
  }
  DurableRecord record;
  {
    MutexLock lock(&server_.durable_mu);
    auto it = server_.durable.find(file_id);
    if (it == server_.durable.end()) return Fail(wire::kStatusObjectNameNotFound);
    const Open& o = *it->second.open;
    // DH2C names the open by its CreateGuid too (a v1 open's is all zeros); DHnC by its FileId
    // alone, whichever version made it durable (MS-SMB2 3.3.5.9.7, 3.3.5.9.12).
    if (create_guid != nullptr && o.create_guid != *create_guid) {
      return Fail(wire::kStatusObjectNameNotFound);
    }
    // Another user's open is not theirs to take (a guessed or stolen FileId or CreateGuid).
    if (it->second.caller.uid != caller.uid) return Fail(wire::kStatusAccessDenied);
    if (o.lease) {
      if (!lease_key || *lease_key != o.lease->key || it->second.client_guid != guid) {
        return Fail(wire::kStatusObjectNameNotFound);
      }
      // MS-SMB2 3.3.5.9.7: a lease's open is reconnected by its own name.
      std::string path;
      {
        MutexLock open_lock(&it->second.open->mu);
        path = it->second.open->path;
      }
      if (FoldCase(path) != FoldCase(req.name)) return Fail(wire::kStatusInvalidParameter);
    } else if (lease_key || req.oplock == wire::kOplockLease) {
      return Fail(wire::kStatusObjectNameNotFound);
    }
    if (o.tree->share != x.tree->share) return Fail(wire::kStatusObjectNameNotFound);
    if (!server_.timer.Cancel(it->second.timer)) {
      return Fail(wire::kStatusObjectNameNotFound);  // its scavenger runs now
    }
    record = std::move(it->second);
    server_.durable.erase(it);
  }
  std::shared_ptr<Open> open = record.open;
  open->tree = x.tree;
  if (open->break_target) {
    MutexLock lock(&open->break_target->mu);
    open->break_target->stream = stream_.weak_from_this();
    open->break_target->handler = this;
    open->break_target->session = x.session;
  }
  Result<core::ShareUse> use = UseShare(server_, x.tree->share);
  if (!use.ok()) return Fail(ShareUseStatus(use.status()));
  uint8_t lease_state = 0;
  uint16_t epoch = 0;
  if (open->lease) {
    // A persistent open's break, while its client was away, was revoked at its deadline
    // (ScavengeDurableSoon leaves it be): the lease has what the table left it.
    core::LeaseTable::GrantId grant;
    {
      MutexLock lock(&server_.leases_mu);
      grant = open->lease->grant;
    }
    std::optional<core::LeaseTable::GrantInfo> info;
    if (grant != 0) info = use->vfs().state().leases.Get(grant);
    MutexLock lock(&server_.leases_mu);
    if (open->persistent && open->lease->breaking && (!info || !info->breaking)) {
      open->lease->state = info ? info->state : 0;
      open->lease->breaking = false;
    }
    open->lease->connection = stream_.weak_from_this();
    open->lease->handler = this;
    open->lease->session = x.session;
    open->lease->disconnected = false;
    lease_state = open->lease->state;
    epoch = open->lease->epoch;
  }
  Result<core::Attr> attr = use->vfs().GetAttr(caller, open->file);
  if (!attr.ok()) {
    CloseOpenAs(server_, record.caller, record.client_guid, *open);
    return Fail(wire::kStatusObjectNameNotFound);
  }
  {
    MutexLock lock(&x.session->mu);
    x.session->opens[open->id] = open;
  }
  wire::CreateResponse resp;
  resp.handle = {open->id, open->id};
  resp.action = replayed ? open->create_action : wire::kActionOpened;
  resp.times = TimesOf(*attr);
  resp.allocation_size = AllocationOf(*attr);
  resp.end_of_file = open->directory ? 0 : attr->size;
  resp.attributes = DosAttributesOf(*attr);
  if (open->lease) {
    resp.oplock = wire::kOplockLease;
    AppendLeaseContext(*open->lease, lease_state, 0, epoch, &resp);
  } else {
    resp.oplock = open->oplock;
  }
  if (replayed) AppendDurableV2Context(*open, &resp);
  LOG_DEBUG("smb {}: durable open {:x} reconnected", peer_, open->id);
  Reply reply;
  wire::EncodeCreateResponse(resp, reply.body);
  return reply;
}

PendingCreate::PendingCreate(ServerContext& server, const std::array<std::byte, 16>& client_guid,
                             const std::array<std::byte, 16>& create_guid)
    : server_(server), key_(client_guid, create_guid) {
  MutexLock lock(&server_.replay_mu);
  ++server_.pending_creates[key_];
}

PendingCreate::~PendingCreate() {
  MutexLock lock(&server_.replay_mu);
  auto it = server_.pending_creates.find(key_);
  if (it != server_.pending_creates.end() && --it->second <= 0) server_.pending_creates.erase(it);
}

std::optional<Reply> Connection::ReplayCreate(Exchange& x, const wire::CreateRequest& req,
                                              const DurableAsk& ask) {
  const bool replay = (x.header.flags & wire::kFlagReplay) != 0;
  std::shared_ptr<Open> open;
  {
    MutexLock lock(&server_.replay_mu);
    // The CREATE it replays still waits for breaks: the client is to try again (as Samba
    // answers; Windows lets the replay wait and fail, smb2.replay.dhv2-pending*-windows).
    if (replay && server_.pending_creates.count({client_guid(), ask.create_guid}) > 0) {
      return Fail(wire::kStatusFileNotAvailable);
    }
    auto it = server_.replayable.find({client_guid(), ask.create_guid});
    if (it == server_.replayable.end()) return std::nullopt;
    open = it->second.lock();
    if (!open) {
      server_.replayable.erase(it);
      return std::nullopt;
    }
  }
  if (!open->replay_eligible.load() || open->closed.load()) return std::nullopt;
  bool disconnected;
  {
    MutexLock lock(&server_.durable_mu);
    disconnected = server_.durable.count(open->id) > 0;
  }
  if (disconnected) {
    // A durable open whose connection was lost: a replay of its CREATE takes it back, as DH2C
    // would (smb2.replay.replay5); anything else naming its CreateGuid is refused.
    if (!replay) return Fail(kStatusDuplicateObjectid);
    return ReconnectDurable(x, req, open->id, &open->create_guid, /*replayed=*/true);
  }
  {
    // A replay comes on the session of the open (on any of its channels).
    MutexLock lock(&x.session->mu);
    auto it = x.session->opens.find(open->id);
    if (it == x.session->opens.end() || it->second != open) return std::nullopt;
  }
  // The same CreateGuid in a request that is not a replay names another create.
  if (!replay) return Fail(kStatusDuplicateObjectid);
  // The replay asks for the caching the open has: the same lease key, or no lease.
  const std::optional<std::pair<LeaseKey, uint8_t>> lease_request =
      req.oplock == wire::kOplockLease ? LeaseRequestOf(req) : std::nullopt;
  if (open->lease ? (!lease_request || lease_request->first != open->lease->key)
                  : lease_request.has_value()) {
    return Fail(wire::kStatusAccessDenied);
  }
  Result<core::ShareUse> use = UseShare(server_, open->tree->share);
  if (!use.ok()) return Fail(ShareUseStatus(use.status()));
  const core::Caller caller = CallerOf(*x.session);
  Result<core::Attr> attr = use->vfs().GetAttr(caller, open->file);
  if (!attr.ok())
    return Fail(attr.status().code() == Errc::kNotFound ? wire::kStatusObjectNameNotFound
                                                        : wire::kStatusAccessDenied);
  // The open's answer again, with its caching as it is now. An oplock replay answers the level
  // it asks when that is none, without changing the open's (smb2.replay.replay-dhv2-oplock2).
  wire::CreateResponse resp;
  resp.handle = {open->id, open->id};
  resp.action = open->create_action;
  resp.times = TimesOf(*attr);
  resp.allocation_size = AllocationOf(*attr);
  resp.end_of_file = open->directory ? 0 : attr->size;
  resp.attributes = DosAttributesOf(*attr);
  bool durable = open->durable;
  if (open->lease) {
    uint8_t state;
    uint16_t epoch;
    {
      MutexLock lock(&server_.leases_mu);
      state = open->lease->state;
      epoch = open->lease->epoch;
    }
    resp.oplock = wire::kOplockLease;
    AppendLeaseContext(*open->lease, state, 0, epoch, &resp);
    durable = durable && (open->persistent || (state & core::kCacheHandle));
  } else {
    resp.oplock = req.oplock == wire::kOplockNone ? wire::kOplockNone : open->oplock;
    durable = durable && (open->persistent || resp.oplock == wire::kOplockBatch);
  }
  if (durable) AppendDurableV2Context(*open, &resp);
  for (const wire::CreateContext& c : req.contexts) {
    if (c.name == "MxAc") {
      resp.contexts.emplace_back(
          "MxAc", MaximalAccessContext(MaximalAccess(use->vfs(), caller, *attr, x.tree->writable)));
    }
  }
  LOG_DEBUG("smb {}: CREATE of open {:x} replayed", peer_, open->id);
  Reply reply;
  wire::EncodeCreateResponse(resp, reply.body);
  return reply;
}

void Connection::CloseAppInstance(core::ShareId share, uint64_t inode,
                                  const std::array<std::byte, 16>& app_instance) {
  const std::array<std::byte, 16> ours = client_guid();
  const auto matches = [&](const Open& o) {
    return o.app_instance == app_instance && o.file.inode == inode && o.state_open != 0 && o.tree &&
           o.tree->share == share;
  };
  std::vector<std::pair<std::shared_ptr<Session>, std::shared_ptr<Open>>> closing;
  {
    MutexLock all(&server_.connections_mu);
    for (Connection* c : server_.connections) {
      MutexLock lock(&c->mu_);
      if (c->client_guid_ == ours) continue;  // the same client's opens stay
      for (const auto& [sid, session] : c->sessions_) {
        MutexLock session_lock(&session->mu);
        for (auto it = session->opens.begin(); it != session->opens.end();) {
          if (matches(*it->second)) {
            closing.emplace_back(session, it->second);
            it = session->opens.erase(it);
          } else {
            ++it;
          }
        }
      }
    }
  }
  for (auto& [session, open] : closing) {
    LOG_DEBUG("smb {}: open {:x} closed: a new open of its application instance", peer_, open->id);
    CloseOpenAs(server_, CallerOf(*session), session->client_guid, *open);
  }
  std::vector<uint64_t> waiting;
  {
    MutexLock lock(&server_.durable_mu);
    for (const auto& [id, record] : server_.durable) {
      if (record.client_guid != ours && matches(*record.open)) waiting.push_back(id);
    }
  }
  for (uint64_t id : waiting) ScavengeDurable(server_, id);
}

}  // namespace dittofs::smb

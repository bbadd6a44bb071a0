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

Reply Fail(uint32_t status) {
  Reply r;
  r.status = status;
  return r;
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
  Bytes data;
  wire::LeWriter w(data);
  if (ask.v2) {
    if (ask.timeout_ms != 0) open.durable_timeout_ms = std::min(ask.timeout_ms, kMaxTimeoutMs);
    open.create_guid = ask.create_guid;
    w.U32(open.durable_timeout_ms);
    w.U32(persistent ? kDh2Persistent : 0);
    resp->contexts.emplace_back("DH2Q", std::move(data));
  } else {
    w.U64(0);
    resp->contexts.emplace_back("DHnQ", std::move(data));
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
                                   const std::array<std::byte, 16>* create_guid) {
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
  Result<core::ShareUse> use = server_.env.shares->Use(x.tree->share);
  if (!use.ok()) return Fail(wire::kStatusNetworkNameDeleted);
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
  resp.action = wire::kActionOpened;
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
  LOG_DEBUG("smb {}: durable open {:x} reconnected", peer_, open->id);
  Reply reply;
  wire::EncodeCreateResponse(resp, reply.body);
  return reply;
}

}  // namespace dittofs::smb

// SPDX-License-Identifier: Apache-2.0
// Persistent handles: their records in the state store, and their return after a restart.

#include "smb/server/persistent.h"

#include <cstring>

#include "base/log.h"
#include "base/record_codec.h"
#include "smb/server/connection.h"
#include "smb/server/durable.h"

namespace dittofs::smb {
namespace {

constexpr uint8_t kRecordVersion = 1;
constexpr size_t kMaxGroups = 4096;
constexpr uint8_t kFlagDeleteOnClose = 0x1, kFlagDirectory = 0x2, kFlagLease = 0x4,
                  kFlagLeaseV2 = 0x8, kFlagLeaseParent = 0x10;

void AppendString(std::string* out, std::string_view s) {
  AppendLe32(out, static_cast<uint32_t>(s.size()));
  out->append(s);
}
void AppendGuid(std::string* out, const std::array<std::byte, 16>& g) {
  out->append(reinterpret_cast<const char*>(g.data()), g.size());
}
void AppendFileId(std::string* out, const core::FileId& id) {
  AppendLe64(out, id.inode);
  AppendLe32(out, id.generation);
}

std::string ReadString(FieldReader& r) { return std::string(r.Take(r.Le32())); }
std::array<std::byte, 16> ReadGuid(FieldReader& r) {
  std::array<std::byte, 16> g{};
  std::string_view bytes = r.Take(16);
  if (bytes.size() == 16) std::memcpy(g.data(), bytes.data(), 16);
  return g;
}
core::FileId ReadFileId(FieldReader& r) {
  core::FileId id;
  id.inode = r.Le64();
  id.generation = r.Le32();
  return id;
}

}  // namespace

std::string PersistedOpenKey(uint64_t id) {
  std::string key;
  AppendBe64(&key, id);
  return key;
}

std::string EncodePersistedOpen(const PersistedOpen& o) {
  std::string out;
  AppendU8(&out, kRecordVersion);
  AppendLe64(&out, o.id);
  AppendString(&out, o.share);
  AppendFileId(&out, o.file);
  AppendFileId(&out, o.parent);
  AppendString(&out, o.leaf);
  AppendString(&out, o.path);
  AppendLe32(&out, o.access);
  AppendLe32(&out, o.share_access);
  uint8_t flags = 0;
  if (o.delete_on_close) flags |= kFlagDeleteOnClose;
  if (o.directory) flags |= kFlagDirectory;
  if (o.lease) {
    flags |= kFlagLease;
    if (o.lease->v2) flags |= kFlagLeaseV2;
    if (o.lease->has_parent) flags |= kFlagLeaseParent;
  }
  AppendU8(&out, flags);
  AppendLe32(&out, o.timeout_ms);
  AppendGuid(&out, o.create_guid);
  AppendGuid(&out, o.client_guid);
  AppendLe32(&out, o.caller.uid);
  AppendLe32(&out, o.caller.gid);
  AppendLe32(&out, static_cast<uint32_t>(o.caller.groups.size()));
  for (uint32_t g : o.caller.groups) AppendLe32(&out, g);
  AppendString(&out, o.caller.user_name);
  AppendU8(&out, static_cast<uint8_t>(o.caller.auth));
  AppendU8(&out, o.oplock);
  if (o.lease) {
    AppendGuid(&out, o.lease->key);
    AppendU8(&out, o.lease->state);
    AppendLe16(&out, o.lease->epoch);
    AppendGuid(&out, o.lease->parent);
  }
  AppendLe32(&out, static_cast<uint32_t>(o.locks.size()));
  for (const PersistedOpen::Range& l : o.locks) {
    AppendLe64(&out, l.offset);
    AppendLe64(&out, l.length);
    AppendU8(&out, l.exclusive ? 1 : 0);
  }
  return out;
}

Result<PersistedOpen> DecodePersistedOpen(std::string_view value) {
  FieldReader r(value);
  if (r.U8() != kRecordVersion) return Status(Errc::kInvalid, "persistent open: unknown version");
  PersistedOpen o;
  o.id = r.Le64();
  o.share = ReadString(r);
  o.file = ReadFileId(r);
  o.parent = ReadFileId(r);
  o.leaf = ReadString(r);
  o.path = ReadString(r);
  o.access = r.Le32();
  o.share_access = r.Le32();
  const uint8_t flags = r.U8();
  o.delete_on_close = (flags & kFlagDeleteOnClose) != 0;
  o.directory = (flags & kFlagDirectory) != 0;
  o.timeout_ms = r.Le32();
  o.create_guid = ReadGuid(r);
  o.client_guid = ReadGuid(r);
  o.caller.uid = r.Le32();
  o.caller.gid = r.Le32();
  const uint32_t groups = r.Le32();
  if (!r.ok() || groups > kMaxGroups || groups > r.remaining() / 4) {
    return Status(Errc::kInvalid, "persistent open: bad group count");
  }
  for (uint32_t i = 0; i < groups; ++i) o.caller.groups.push_back(r.Le32());
  o.caller.user_name = ReadString(r);
  o.caller.auth = static_cast<core::AuthMethod>(r.U8());
  o.oplock = r.U8();
  if (flags & kFlagLease) {
    PersistedOpen::LeasePart lease;
    lease.key = ReadGuid(r);
    lease.state = r.U8();
    lease.epoch = r.Le16();
    lease.parent = ReadGuid(r);
    lease.v2 = (flags & kFlagLeaseV2) != 0;
    lease.has_parent = (flags & kFlagLeaseParent) != 0;
    o.lease = lease;
  }
  const uint32_t locks = r.Le32();
  if (!r.ok() || locks > r.remaining() / 17) {
    return Status(Errc::kInvalid, "persistent open: bad lock count");
  }
  for (uint32_t i = 0; i < locks; ++i) {
    PersistedOpen::Range l;
    l.offset = r.Le64();
    l.length = r.Le64();
    l.exclusive = r.U8() != 0;
    o.locks.push_back(l);
  }
  if (!r.done()) return Status(Errc::kInvalid, "persistent open: truncated or trailing bytes");
  return o;
}

Status PersistOpen(ServerContext& server, Open& open, const core::Caller& caller,
                   const std::array<std::byte, 16>& client_guid) {
  if (!open.persistent || server.env.handles == nullptr) return Status::Ok();
  std::shared_ptr<core::Share> share = server.env.shares->ById(open.tree->share);
  Result<core::ShareUse> use = server.env.shares->Use(open.tree->share);
  if (!share) return Status(Errc::kNotFound, "persistent open: its share is gone");
  RETURN_IF_ERROR(use.status());
  PersistedOpen p;
  p.id = open.id;
  p.share = share->name();
  p.file = open.file;
  p.access = open.access;
  p.share_access = open.share_access;
  p.delete_on_close = open.delete_on_close;
  p.directory = open.directory;
  p.timeout_ms = open.durable_timeout_ms;
  p.create_guid = open.create_guid;
  p.client_guid = client_guid;
  p.caller = caller;
  p.caller.client_address.clear();
  {
    MutexLock lock(&open.mu);
    p.parent = open.parent;
    p.leaf = open.leaf;
    p.path = open.path;
  }
  if (open.lease) {
    p.oplock = wire::kOplockLease;
    PersistedOpen::LeasePart lease;
    MutexLock lock(&server.leases_mu);
    lease.key = open.lease->key;
    lease.state = open.lease->state;
    lease.v2 = open.lease->v2;
    lease.epoch = open.lease->epoch;
    lease.has_parent = open.lease->has_parent;
    lease.parent = open.lease->parent;
    p.lease = lease;
  } else {
    p.oplock = open.oplock;
  }
  for (const core::LockInfo& l : use->vfs().state().locks.Locks(open.file.inode)) {
    if (l.owner == open.via.lock_owner) p.locks.push_back({l.offset, l.length, l.exclusive});
  }
  Status s = server.env.handles->Put(PersistedOpenKey(open.id), EncodePersistedOpen(p));
  if (!s.ok()) {
    LOG_WARN("smb: persistent open {:x} of {} not kept: {}", open.id, p.path, s.ToString());
  }
  return s;
}

void ForgetPersistentOpen(ServerContext& server, const Open& open) {
  if (!open.persistent || server.env.handles == nullptr) return;
  Status s = server.env.handles->Delete(PersistedOpenKey(open.id));
  if (!s.ok()) LOG_WARN("smb: persistent open {:x}: {}", open.id, s.ToString());
}

namespace {

// Makes the open `p` names again in `vfs`, disconnected; false (with the reason logged) when
// the runtime refuses it.
bool Restore(ServerContext& server, const std::shared_ptr<core::Share>& share, core::Vfs& vfs,
             const PersistedOpen& p) {
  if (!vfs.GetAttr(p.caller, p.file).ok()) {
    LOG_INFO("smb: persistent open {:x} of {} dropped: the file is gone", p.id, p.path);
    return false;
  }
  Result<core::OpenTable::OpenId> id =
      vfs.OpenFile(p.caller, p.file, p.access & ~wire::kAccessSystemSecurity, p.share_access,
                   p.delete_on_close, /*created=*/false);
  if (!id.ok()) {
    LOG_INFO("smb: persistent open {:x} of {} dropped: {}", p.id, p.path, id.status().ToString());
    return false;
  }
  auto tree = std::make_shared<Tree>();
  tree->share = share->id();
  tree->name = share->name();
  tree->writable = vfs.CheckChange(p.caller).ok();
  tree->continuously_available = true;
  auto open = std::make_shared<Open>();
  open->id = p.id;
  open->tree = tree;
  open->file = p.file;
  open->state_open = *id;
  open->access = p.access;
  open->share_access = p.share_access;
  open->directory = p.directory;
  open->delete_on_close = p.delete_on_close;
  open->via.open = *id;
  open->via.lock_owner = {open->id, core::LockFlavor::kWindows};
  open->via.holder = open->id;
  open->durable = true;
  open->durable_v2 = true;
  open->persistent = true;
  open->durable_timeout_ms = p.timeout_ms;
  open->create_guid = p.create_guid;
  {
    MutexLock lock(&open->mu);
    open->parent = p.parent;
    open->leaf = p.leaf;
    open->path = p.path;
  }
  core::ShareState& state = vfs.state();
  for (const PersistedOpen::Range& l : p.locks) {
    core::LockRequest lr;
    lr.file = p.file.inode;
    lr.owner = open->via.lock_owner;
    lr.offset = l.offset;
    lr.length = l.length;
    lr.exclusive = l.exclusive;
    if (Status s = state.locks.Lock(lr); !s.ok()) {
      LOG_WARN("smb: persistent open {:x}: lock {}+{} not restored: {}", p.id, l.offset, l.length,
               s.ToString());
    }
  }
  // Its caching, broken as any other while its client is away (a break is revoked at its
  // deadline, ScavengeDurableSoon leaving persistent opens be).
  if (p.lease) {
    std::shared_ptr<Lease> lease;
    bool fresh = false;
    {
      MutexLock lock(&server.leases_mu);
      std::shared_ptr<Lease>& kept = server.leases[{p.client_guid, p.lease->key}];
      if (!kept) {
        kept = std::make_shared<Lease>();
        kept->holder = NewId();
        kept->share = share->id();
        kept->file = p.file.inode;
        kept->key = p.lease->key;
        kept->v2 = p.lease->v2;
        kept->has_parent = p.lease->has_parent;
        kept->parent = p.lease->parent;
        kept->epoch = p.lease->epoch;
        kept->disconnected = true;
        fresh = true;
      }
      ++kept->opens;
      lease = kept;
    }
    open->lease = lease;
    open->via.holder = lease->holder;
    if (fresh && p.lease->state != 0) {
      Result<core::LeaseTable::Granted> g =
          state.leases.Request(p.file.inode, lease->holder, core::GrantKind::kLease, p.lease->state,
                               LeaseBreakFn(server, lease, {}, nullptr));
      if (g.ok()) {
        MutexLock lock(&server.leases_mu);
        lease->grant = g->id;
        lease->state = g->state;
      }
    }
  } else if (p.oplock != wire::kOplockNone && p.oplock != wire::kOplockLease) {
    auto target = std::make_shared<BreakTarget>();
    open->break_target = target;
    Result<core::LeaseTable::Granted> g =
        state.leases.Request(p.file.inode, open->id, core::GrantKind::kLease,
                             StateOfOplock(p.oplock), OplockBreakFn(server, target, open->id));
    if (g.ok() && g->state != 0) {
      open->grant = g->id;
      open->oplock = OplockOfState(g->state);
    }
  }
  open->create_action = wire::kActionOpened;
  open->replay_eligible.store(true);
  {
    MutexLock lock(&server.replay_mu);
    server.replayable[{p.client_guid, p.create_guid}] = open;
  }
  AwaitReconnect(server, open, p.caller, p.client_guid);
  LOG_INFO("smb: persistent open {:x} of {} on {} waits {} ms for its client", p.id, p.path,
           p.share, p.timeout_ms);
  return true;
}

}  // namespace

size_t RestorePersistentOpens(ServerContext& server) {
  if (server.env.handles == nullptr) return 0;
  Result<std::vector<std::pair<std::string, std::string>>> records = server.env.handles->List();
  if (!records.ok()) {
    LOG_WARN("smb: persistent opens not restored: {}", records.status().ToString());
    return 0;
  }
  size_t restored = 0;
  for (const auto& [key, value] : *records) {
    Result<PersistedOpen> p = DecodePersistedOpen(value);
    bool ok = p.ok() && PersistedOpenKey(p->id) == key;
    if (ok) {
      std::shared_ptr<core::Share> share;
      for (const std::shared_ptr<core::Share>& s : server.env.shares->All()) {
        if (s->name() == p->share) share = s;
      }
      Result<core::ShareUse> use =
          share ? server.env.shares->Use(share->id()) : Status(Errc::kNotFound, "no share");
      ok = use.ok() && use->vfs().options().smb.continuously_available &&
           Restore(server, share, use->vfs(), *p);
    } else {
      LOG_WARN("smb: an unreadable persistent open record dropped");
    }
    if (ok) {
      ++restored;
    } else {
      (void)server.env.handles->Delete(key);
    }
  }
  return restored;
}

}  // namespace dittofs::smb

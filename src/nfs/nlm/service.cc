// SPDX-License-Identifier: Apache-2.0
#include "nfs/nlm/service.h"

#include <arpa/inet.h>

#include <algorithm>
#include <limits>
#include <set>
#include <tuple>

#include "base/clock.h"
#include "base/log.h"
#include "base/random.h"
#include "base/record_codec.h"
#include "nfs/common/caller.h"
#include "rpc/rpc_client.h"

namespace dittofs::nfs {
namespace {

using core::LockFlavor;
using core::LockRequest;

constexpr uint32_t kPortmapProgram = 100000;
constexpr uint32_t kPmapVersion = 2;
constexpr uint32_t kPmapGetport = 3;
constexpr uint32_t kIpprotoTcp = 6;
// A hostname is at most 255 bytes (RFC 1035); a longer caller_name is not monitored.
constexpr size_t kMaxMonitoredName = 255;
// An owner id no lock has: TEST of a request from an owner never seen (every lock conflicts).
constexpr uint64_t kNobody = ~uint64_t{0};
// A lock owner with nothing locked or waiting is forgotten after this long.
constexpr int64_t kOwnerIdleNanos = 60'000'000'000;

int64_t Nanos(std::chrono::nanoseconds d) { return d.count(); }

nlm4_stats ToNlm(const Status& s) {
  switch (s.code()) {
    case Errc::kOk:
      return nlm4_stats::NLM4_GRANTED;
    case Errc::kLocked:
    case Errc::kShareViolation:
    case Errc::kDeletePending:
      return nlm4_stats::NLM4_DENIED;
    case Errc::kDeadlock:
      return nlm4_stats::NLM4_DEADLCK;
    case Errc::kStale:
    case Errc::kBadHandle:
    case Errc::kNotFound:
      return nlm4_stats::NLM4_STALE_FH;
    case Errc::kReadOnly:
      return nlm4_stats::NLM4_ROFS;
    case Errc::kInvalid:
    case Errc::kTooBig:
      return nlm4_stats::NLM4_FBIG;
    case Errc::kAccess:
    case Errc::kPerm:
    case Errc::kIsDir:
    case Errc::kNotSupported:
      return nlm4_stats::NLM4_FAILED;
    default:
      // Out of resources for now (a share being moved, a store failing): the client may retry.
      return nlm4_stats::NLM4_DENIED_NOLOCKS;
  }
}

// The persistent record of a monitored host: its key names it, its value holds what the
// notification needs.
std::string HostKey(std::string_view address, std::string_view name) {
  std::string key(address);
  key.push_back('\0');
  key.append(name);
  return key;
}

std::string EncodeHostRecord(std::string_view name, std::string_view address,
                             std::string_view server_address) {
  std::string out;
  AppendU8(&out, 1);  // format version
  for (std::string_view field : {name, address, server_address}) {
    AppendLe32(&out, static_cast<uint32_t>(field.size()));
    out.append(field);
  }
  return out;
}

bool DecodeHostRecord(std::string_view in, std::string* name, std::string* address,
                      std::string* server_address) {
  FieldReader r(in);
  if (r.U8() != 1) return false;
  for (std::string* field : {name, address, server_address}) {
    const uint32_t n = r.Le32();
    *field = std::string(r.Take(n));
  }
  return r.done();
}

bool IsIpAddress(const std::string& s) {
  in6_addr a6;
  in_addr a4;
  return inet_pton(AF_INET, s.c_str(), &a4) == 1 || inet_pton(AF_INET6, s.c_str(), &a6) == 1;
}

// The share bits a DOS share reservation leaves to others, and the access it takes.
uint32_t ShareBitsOf(fsh4_mode mode) {
  switch (mode) {
    case fsh4_mode::fsm_DN:
      return core::kShareAll;
    case fsh4_mode::fsm_DR:
      return core::kShareWrite | core::kShareDelete;
    case fsh4_mode::fsm_DW:
      return core::kShareRead | core::kShareDelete;
    case fsh4_mode::fsm_DRW:
      return core::kShareDelete;
  }
  return core::kShareAll;
}
uint32_t AccessBitsOf(fsh4_access access) {
  uint32_t bits = core::kReadAttributes;
  if (access == fsh4_access::fsa_R || access == fsh4_access::fsa_RW) bits |= core::kReadData;
  if (access == fsh4_access::fsa_W || access == fsh4_access::fsa_RW) bits |= core::kWriteData;
  return bits;
}

}  // namespace

struct NlmService::Owner {
  uint64_t id = 0;
  Host* host = nullptr;
  int32_t svid = 0;
  std::string oh;
  std::set<std::pair<core::ShareId, uint64_t>> files;  // where it holds locks
  size_t blocked = 0;
  int64_t last_used = 0;
};

struct NlmService::Blocked {
  enum class State { kQueued, kGranted, kDone };
  std::string host_key;
  std::string address;
  uint64_t owner = 0;
  core::ShareId share = 0;
  LockRequest req;
  uint32_t vers = NLM4_VERS;
  bool via_msg = false;
  nlm4_lock alock;  // as the client named it, for the GRANTED call
  // Guarded by the service's mu_:
  State state = State::kQueued;
  core::LockTable::WaitId wait = 0;
  std::string cookie;  // of the GRANTED call
  int tries = 0;
  int64_t next_try = 0;
  bool in_flight = false;
};

struct NlmService::Host {
  std::string key;
  std::string name;
  std::string address;
  std::string server_address;  // ours, as the host reached it
  bool monitored = false;
  int64_t last_active = 0;
  std::map<std::pair<int32_t, std::string>, std::unique_ptr<Owner>> owners;
  std::vector<std::shared_ptr<Blocked>> blocked;
  // Share reservations: (share, file, oh) -> the open.
  std::map<std::tuple<core::ShareId, uint64_t, std::string>, core::OpenTable::OpenId> shares;
};

struct NlmService::Notice {
  std::string key;
  std::string address;
  std::string server_address;
  int tries = 0;
  int64_t next_try = 0;
  bool in_flight = false;
};

struct NlmService::Target {
  core::ShareUse use;
  core::FileId file;
};

NlmService::NlmService(const core::ShareTable& shares, const FileHandleCodec& handles,
                       MonitorRecords* records, NlmOptions options)
    : shares_(shares),
      handles_(handles),
      records_(records),
      options_(options),
      io_(std::make_unique<rpc::ClientIo>()) {}

NlmService::~NlmService() {
  // Every blocked request leaves the lock tables (no callback may reach a destroyed service),
  // and every connection closes before the I/O thread goes.
  std::vector<std::string> keys;
  {
    MutexLock lock(&mu_);
    for (const auto& [key, host] : hosts_) keys.push_back(key);
  }
  for (const std::string& key : keys) Release(key, /*forget=*/false);
  // From here on no connection is made (a completion that would call again fails at once),
  // so none can outlive the I/O thread.
  std::map<std::pair<std::string, uint16_t>, std::shared_ptr<rpc::RpcClient>> clients;
  {
    MutexLock lock(&clients_mu_);
    closing_ = true;
    clients.swap(clients_);
  }
  for (auto& [at, client] : clients) client->Close();
  clients.clear();  // a client's destructor still posts to the I/O thread
  io_.reset();
}

Status NlmService::Start() {
  if (records_ == nullptr) return Status::Ok();
  ASSIGN_OR_RETURN(auto entries, records_->List());
  const int64_t now = MonotonicNanos();
  std::vector<std::shared_ptr<Notice>> notices;
  {
    MutexLock lock(&mu_);
    for (const auto& [key, value] : entries) {
      auto host = std::make_unique<Host>();
      if (!DecodeHostRecord(value, &host->name, &host->address, &host->server_address) ||
          key != HostKey(host->address, host->name)) {
        LOG_WARN("nlm: ignoring a monitored-host record that does not decode");
        continue;
      }
      host->key = key;
      host->monitored = true;
      host->last_active = now;
      auto n = std::make_shared<Notice>();
      n->key = key;
      n->address = host->address;
      n->server_address = host->server_address;
      notices.push_back(n);
      notices_.push_back(n);
      hosts_[key] = std::move(host);
    }
  }
  if (notices.empty()) return Status::Ok();
  grace_end_.store(now + Nanos(options_.grace));
  LOG_INFO(
      "nlm: {} host(s) held locks before this start: notifying them (NSM state {}); grace "
      "period of {} s for their reclaims",
      notices.size(), options_.nsm_state, options_.grace.count());
  for (const auto& n : notices) SendNotify(n);
  return Status::Ok();
}

bool NlmService::InGraceAt(int64_t now) const {
  const int64_t end = grace_end_.load();
  return end != 0 && now < end;
}

bool NlmService::in_grace() const { return InGraceAt(MonotonicNanos()); }

Result<NlmService::Target> NlmService::Resolve(const rpc::CallContext& call, const std::string& fh,
                                               Need need) {
  Result<DecodedHandle> h = handles_.Decode(AsBytes(fh));
  if (!h.ok()) return Errc::kStale;
  ASSIGN_OR_RETURN(core::ShareUse use, shares_.Use(h->share));
  const core::Caller caller = CallerOf(call);
  core::Vfs& vfs = use.vfs();
  core::Attr attr;
  if (need == Need::kNothing) {
    ASSIGN_OR_RETURN(attr, vfs.GetAttr(caller, h->file));
  } else {
    // As a local fcntl needs a descriptor open for reading (a shared lock) or writing (an
    // exclusive one); the owner of the file may lock it whatever its mode.
    const bool write = need == Need::kWrite;
    if (write) RETURN_IF_ERROR(vfs.CheckChange(caller));
    const uint32_t want = write ? core::kAccessModify : core::kAccessRead;
    ASSIGN_OR_RETURN(uint32_t granted, vfs.Access(caller, h->file, want, &attr));
    const bool owner = !caller.anonymous() && caller.uid == attr.uid;
    if ((granted & want) == 0 && !owner) return Errc::kAccess;
  }
  if (attr.type == core::FileType::kDirectory) return Errc::kIsDir;
  if (attr.type != core::FileType::kRegular) return Errc::kNotSupported;
  return Target{std::move(use), h->file};
}

NlmService::Host* NlmService::HostOf(const rpc::CallContext& call, const std::string& caller_name) {
  const std::string key = HostKey(call.client_address, caller_name);
  auto it = hosts_.find(key);
  if (it == hosts_.end()) {
    if (hosts_.size() >= options_.max_hosts) return nullptr;
    auto host = std::make_unique<Host>();
    host->key = key;
    host->name = caller_name;
    host->address = call.client_address;
    it = hosts_.emplace(key, std::move(host)).first;
  }
  Host& host = *it->second;
  if (!call.server_address.empty()) host.server_address = call.server_address;
  host.last_active = MonotonicNanos();
  return &host;
}

NlmService::Host* NlmService::FindHost(const rpc::CallContext& call,
                                       const std::string& caller_name) {
  auto it = hosts_.find(HostKey(call.client_address, caller_name));
  return it == hosts_.end() ? nullptr : it->second.get();
}

uint64_t NlmService::OwnerOf(Host& host, int32_t svid, const std::string& oh, bool make) {
  auto it = host.owners.find({svid, oh});
  if (it == host.owners.end()) {
    if (!make || host.owners.size() >= options_.max_owners_per_host) return 0;
    auto owner = std::make_unique<Owner>();
    do {
      owner->id = RandomU64();
    } while (owner->id == core::kAnonymousOwner || owner->id == kNobody ||
             owners_.contains(owner->id));
    owner->host = &host;
    owner->svid = svid;
    owner->oh = oh;
    owners_[owner->id] = owner.get();
    it = host.owners.emplace(std::make_pair(svid, oh), std::move(owner)).first;
  }
  it->second->last_used = MonotonicNanos();
  return it->second->id;
}

Status NlmService::Monitor(Host& host) {
  if (host.monitored) return Status::Ok();
  if (host.name.size() > kMaxMonitoredName) return Errc::kInvalid;
  if (records_ != nullptr) {
    RETURN_IF_ERROR(
        records_->Put(host.key, EncodeHostRecord(host.name, host.address, host.server_address)));
  }
  host.monitored = true;
  return Status::Ok();
}

void NlmService::NoteLocks(uint64_t owner, core::ShareId share, uint64_t file) {
  std::shared_ptr<core::Share> s = shares_.ById(share);
  bool holds = false;
  if (s) {
    for (const core::LockInfo& l : s->state().locks.Locks(file)) {
      if (l.owner.id == owner && l.owner.flavor == LockFlavor::kPosix) {
        holds = true;
        break;
      }
    }
  }
  MutexLock lock(&mu_);
  auto it = owners_.find(owner);
  if (it == owners_.end()) return;
  if (holds) {
    it->second->files.insert({share, file});
  } else {
    it->second->files.erase({share, file});
  }
  it->second->last_used = MonotonicNanos();
}

nlm4_testres NlmService::Test(const rpc::CallContext& call, const nlm4_testargs& args) {
  nlm4_testres res;
  res.cookie = args.cookie;
  if (in_grace()) {
    res.stat = nlm4_stats::NLM4_DENIED_GRACE_PERIOD;
    return res;
  }
  // Asking needs only read permission (F_GETLK needs no descriptor open for writing).
  Result<Target> t = Resolve(call, args.alock.fh, Need::kRead);
  if (!t.ok()) {
    res.stat = ToNlm(t.status());
    return res;
  }
  uint64_t owner = kNobody;
  {
    MutexLock lock(&mu_);
    if (Host* host = FindHost(call, args.alock.caller_name)) {
      if (uint64_t id = OwnerOf(*host, args.alock.svid, args.alock.oh, false)) owner = id;
    }
  }
  LockRequest r{t->file.inode,
                {owner, LockFlavor::kPosix},
                args.alock.l_offset,
                args.alock.l_len,
                args.exclusive};
  // A client caching the file may hold locks the table does not show yet (see Lock).
  if (t->use.vfs().state().LockRequested(r.file, core::kAnonymousOwner)) {
    res.stat = nlm4_stats::NLM4_DENIED_GRACE_PERIOD;
    return res;
  }
  std::optional<core::LockInfo> held = t->use.vfs().state().locks.Test(r);
  if (!held) return res;
  res.stat = nlm4_stats::NLM4_DENIED;
  res.holder.exclusive = held->exclusive;
  res.holder.l_offset = held->offset;
  res.holder.l_len = held->length;
  MutexLock lock(&mu_);
  if (auto it = owners_.find(held->owner.id);
      it != owners_.end() && held->owner.flavor == LockFlavor::kPosix) {
    res.holder.svid = it->second->svid;
    res.holder.oh = it->second->oh;
  }
  return res;
}

nlm4_res NlmService::Lock(const rpc::CallContext& call, const nlm4_lockargs& args, bool via_msg,
                          bool monitor) {
  nlm4_res res;
  res.cookie = args.cookie;
  const int64_t now = MonotonicNanos();
  // During grace only reclaims; after it, none (the host's state from before is gone).
  if (InGraceAt(now) != args.reclaim) {
    res.stat = nlm4_stats::NLM4_DENIED_GRACE_PERIOD;
    return res;
  }
  Result<Target> t = Resolve(call, args.alock.fh, args.exclusive ? Need::kWrite : Need::kRead);
  if (!t.ok()) {
    res.stat = ToNlm(t.status());
    return res;
  }
  const core::ShareId share = t->use.share().id();
  LockRequest r{t->file.inode,
                {0, LockFlavor::kPosix},
                args.alock.l_offset,
                args.alock.l_len,
                args.exclusive};
  // Other clients' caching grants on the file go first (an SMB client caching reads must not
  // miss what the lock protects). One whose holder may lock locally (an NFSv4 delegation, a
  // lease caching writes) must come back first: the host retries, as in a grace period.
  if (t->use.vfs().state().LockRequested(r.file, core::kAnonymousOwner)) {
    res.stat = nlm4_stats::NLM4_DENIED_GRACE_PERIOD;
    return res;
  }
  std::shared_ptr<Blocked> b;
  {
    MutexLock lock(&mu_);
    Host* host = HostOf(call, args.alock.caller_name);
    if (host == nullptr) {
      res.stat = nlm4_stats::NLM4_DENIED_NOLOCKS;
      return res;
    }
    r.owner.id = OwnerOf(*host, args.alock.svid, args.alock.oh, true);
    if (r.owner.id == 0 || (monitor && !Monitor(*host).ok())) {
      res.stat = nlm4_stats::NLM4_DENIED_NOLOCKS;
      return res;
    }
    // A client polls a blocked request by sending it again: it is still waiting, or it was
    // granted while the GRANTED callback did not get through.
    for (auto it = host->blocked.begin(); it != host->blocked.end(); ++it) {
      Blocked& w = **it;
      if (w.owner != r.owner.id || w.share != share || w.req.file != r.file ||
          w.req.offset != r.offset || w.req.length != r.length || w.req.exclusive != r.exclusive) {
        continue;
      }
      if (w.state == Blocked::State::kQueued) {
        res.stat = nlm4_stats::NLM4_BLOCKED;
        return res;
      }
      Drop(std::shared_ptr<Blocked>(*it));  // a copy: Drop erases the element
      return res;                           // granted
    }
    if (args.block) {
      if (host->blocked.size() >= options_.max_blocked_per_host) {
        res.stat = nlm4_stats::NLM4_DENIED_NOLOCKS;
        return res;
      }
      b = std::make_shared<Blocked>();
      b->host_key = host->key;
      b->address = host->address;
      b->owner = r.owner.id;
      b->share = share;
      b->req = r;
      b->vers = call.vers;
      b->via_msg = via_msg;
      b->alock = args.alock;
      host->blocked.push_back(b);
      owners_[r.owner.id]->blocked++;
    }
  }
  core::ShareState& state = t->use.vfs().state();
  if (!b) {
    Status s = state.Lock(r);
    if (s.ok()) NoteLocks(r.owner.id, share, r.file);
    res.stat = ToNlm(s);
    return res;
  }
  std::weak_ptr<Blocked> weak = b;
  Result<core::LockTable::WaitId> id =
      state.LockOrWait(r, std::numeric_limits<int64_t>::max(), [this, weak](Status s) {
        if (std::shared_ptr<Blocked> held = weak.lock()) WaitEnded(held, s);
      });
  bool cancel = false;
  bool unlock = false;
  {
    MutexLock lock(&mu_);
    const bool released = b->state == Blocked::State::kDone;  // its host went meanwhile
    if (!id.ok() || *id == 0) {
      if (!released) Drop(b);
      unlock = id.ok() && released;
    } else if (released) {
      cancel = true;
    } else {
      b->wait = *id;
    }
  }
  if (cancel) state.locks.Cancel(*id);
  if (unlock) (void)state.locks.Unlock(r);
  if (!id.ok()) {
    res.stat = ToNlm(id.status());
    return res;
  }
  if (*id == 0) {
    NoteLocks(r.owner.id, share, r.file);
    return res;  // granted at once
  }
  res.stat = nlm4_stats::NLM4_BLOCKED;
  return res;
}

void NlmService::Drop(const std::shared_ptr<Blocked>& b) {
  b->state = Blocked::State::kDone;
  std::erase(granted_pending_, b);
  if (auto h = hosts_.find(b->host_key); h != hosts_.end()) std::erase(h->second->blocked, b);
  if (auto o = owners_.find(b->owner); o != owners_.end()) o->second->blocked--;
}

void NlmService::GiveBack(const Blocked& b) {
  if (std::shared_ptr<core::Share> share = shares_.ById(b.share)) {
    (void)share->state().locks.Unlock(b.req);
  }
  NoteLocks(b.owner, b.share, b.req.file);
}

void NlmService::WaitEnded(const std::shared_ptr<Blocked>& b, Status s) {
  if (s.ok()) NoteLocks(b->owner, b->share, b->req.file);
  bool give_back = false;
  {
    MutexLock lock(&mu_);
    if (b->state != Blocked::State::kQueued) {
      give_back = s.ok() && b->state == Blocked::State::kDone;  // released while granted
    } else if (s.ok()) {
      b->state = Blocked::State::kGranted;
      b->cookie = "dfs-granted-" + std::to_string(next_cookie_++);
      granted_pending_.push_back(b);
    } else {
      Drop(b);
    }
  }
  if (give_back) return GiveBack(*b);
  if (s.ok()) SendGranted(b);
}

void NlmService::SendGranted(const std::shared_ptr<Blocked>& b) {
  xdr::XdrEncoder args;
  {
    MutexLock lock(&mu_);
    if (b->state != Blocked::State::kGranted || b->in_flight) return;
    b->in_flight = true;
    b->tries++;
    nlm4_testargs granted;
    granted.cookie = b->cookie;
    granted.exclusive = b->req.exclusive;
    granted.alock = b->alock;
    Encode(args, granted, b->vers);
  }
  const uint32_t proc = b->via_msg ? NLMPROC_GRANTED_MSG : NLMPROC_GRANTED;
  CallHost(b->address, NLM_PROG, b->vers, proc, std::move(args), [this, b](Result<rpc::Reply> r) {
    const int64_t now = MonotonicNanos();
    bool give_back = false;
    {
      MutexLock lock(&mu_);
      b->in_flight = false;
      if (b->state != Blocked::State::kGranted) return;
      nlm4_res res;
      bool answered = false;
      if (r.ok()) {
        if (b->via_msg && b->tries < options_.max_callback_tries) {
          // The answer comes as GRANTED_RES; send again if it does not.
          b->next_try = now + Nanos(options_.retry_max);
          return;
        }
        xdr::XdrDecoder d(r->results);
        answered = Decode(d, &res, b->vers);
      }
      if (answered && res.stat != nlm4_stats::NLM4_DENIED_GRACE_PERIOD &&
          res.stat != nlm4_stats::NLM4_DENIED_NOLOCKS) {
        // The client took the lock, or no longer wants it (it gave up waiting): then
        // it goes back.
        give_back = res.stat != nlm4_stats::NLM4_GRANTED;
      } else if (b->tries >= options_.max_callback_tries) {
        // The client cannot be reached: the lock stays granted, and the client finds
        // it when it polls (it sends the LOCK again) or releases it when it restarts.
        LOG_WARN("nlm: cannot tell {} that its lock was granted after {} tries", b->address,
                 b->tries);
      } else {
        int64_t wait = Nanos(options_.retry_initial) << std::min(b->tries - 1, 16);
        b->next_try = now + std::min(wait, Nanos(options_.retry_max));
        return;
      }
      Drop(b);
    }
    if (give_back) GiveBack(*b);
  });
}

void NlmService::GrantedRes(const rpc::CallContext& call, const nlm4_res& res) {
  std::shared_ptr<Blocked> b;
  {
    MutexLock lock(&mu_);
    for (const auto& p : granted_pending_) {
      if (p->cookie == res.cookie && p->address == call.client_address) {
        b = p;
        break;
      }
    }
    if (!b || b->state != Blocked::State::kGranted) return;
    if (res.stat == nlm4_stats::NLM4_DENIED_GRACE_PERIOD ||
        res.stat == nlm4_stats::NLM4_DENIED_NOLOCKS) {
      b->next_try = MonotonicNanos() + Nanos(options_.retry_initial);
      return;
    }
    Drop(b);
  }
  if (res.stat != nlm4_stats::NLM4_GRANTED) GiveBack(*b);
}

nlm4_res NlmService::Cancel(const rpc::CallContext& call, const nlm4_cancargs& args) {
  nlm4_res res;
  res.cookie = args.cookie;
  Result<DecodedHandle> h = handles_.Decode(AsBytes(args.alock.fh));
  if (!h.ok()) {
    res.stat = nlm4_stats::NLM4_STALE_FH;
    return res;
  }
  std::shared_ptr<Blocked> found;
  core::LockTable::WaitId wait = 0;
  {
    MutexLock lock(&mu_);
    Host* host = FindHost(call, args.alock.caller_name);
    const uint64_t owner = host ? OwnerOf(*host, args.alock.svid, args.alock.oh, false) : 0;
    if (owner == 0) {
      res.stat = nlm4_stats::NLM4_DENIED;  // no such request
      return res;
    }
    for (const auto& w : host->blocked) {
      if (w->owner == owner && w->share == h->share && w->req.file == h->file.inode &&
          w->req.offset == args.alock.l_offset && w->req.length == args.alock.l_len &&
          w->req.exclusive == args.exclusive && w->state != Blocked::State::kDone) {
        found = w;
        break;
      }
    }
    if (!found) {
      res.stat = nlm4_stats::NLM4_DENIED;
      return res;
    }
    // Queued: its callback (kBusy) removes it. Granted, the callback not through yet (or
    // queued a moment ago, its wait id not known yet): it goes now, and so does the lock.
    if (found->state == Blocked::State::kQueued) wait = found->wait;
    if (wait == 0) Drop(found);
  }
  std::shared_ptr<core::Share> share = shares_.ById(found->share);
  if (!share) return res;
  // A grant that raced with the cancel gives the lock back too.
  if (wait == 0 || !share->state().locks.Cancel(wait)) GiveBack(*found);
  return res;
}

nlm4_res NlmService::Unlock(const rpc::CallContext& call, const nlm4_unlockargs& args) {
  nlm4_res res;
  res.cookie = args.cookie;
  Result<DecodedHandle> h = handles_.Decode(AsBytes(args.alock.fh));
  if (!h.ok()) {
    res.stat = nlm4_stats::NLM4_STALE_FH;
    return res;
  }
  uint64_t owner = 0;
  {
    MutexLock lock(&mu_);
    if (Host* host = FindHost(call, args.alock.caller_name)) {
      owner = OwnerOf(*host, args.alock.svid, args.alock.oh, false);
    }
  }
  if (owner == 0) return res;  // nothing of its is locked: unlocked already
  std::shared_ptr<core::Share> share = shares_.ById(h->share);
  if (!share) {
    res.stat = nlm4_stats::NLM4_STALE_FH;
    return res;
  }
  LockRequest r{
      h->file.inode, {owner, LockFlavor::kPosix}, args.alock.l_offset, args.alock.l_len, false};
  Status s = share->state().locks.Unlock(r);
  NoteLocks(owner, h->share, h->file.inode);
  if (!s.ok() && s.code() != Errc::kRangeNotLocked) res.stat = ToNlm(s);
  return res;
}

nlm4_shareres NlmService::Share(const rpc::CallContext& call, const nlm4_shareargs& args) {
  nlm4_shareres res;
  res.cookie = args.cookie;
  if (InGraceAt(MonotonicNanos()) != args.reclaim) {
    res.stat = nlm4_stats::NLM4_DENIED_GRACE_PERIOD;
    return res;
  }
  Result<Target> t = Resolve(call, args.share.fh, Need::kNothing);
  if (!t.ok()) {
    res.stat = ToNlm(t.status());
    return res;
  }
  const core::ShareId share = t->use.share().id();
  auto key = std::make_tuple(share, t->file.inode, args.share.oh);
  {
    MutexLock lock(&mu_);
    Host* host = HostOf(call, args.share.caller_name);
    if (host == nullptr || !Monitor(*host).ok() ||
        (!host->shares.contains(key) && host->shares.size() >= options_.max_shares_per_host)) {
      res.stat = nlm4_stats::NLM4_DENIED_NOLOCKS;
      return res;
    }
  }
  Result<core::OpenTable::OpenId> id = t->use.vfs().OpenFile(
      CallerOf(call), t->file, AccessBitsOf(args.share.access), ShareBitsOf(args.share.mode));
  if (!id.ok()) {
    res.stat = ToNlm(id.status());
    return res;
  }
  core::OpenTable::OpenId old = 0;
  bool orphan = false;
  {
    MutexLock lock(&mu_);
    Host* host = FindHost(call, args.share.caller_name);
    if (host == nullptr) {
      orphan = true;  // released meanwhile
    } else {
      auto [it, inserted] = host->shares.try_emplace(key, *id);
      if (!inserted) {
        old = it->second;
        it->second = *id;
      }
    }
  }
  if (old != 0) (void)t->use.vfs().CloseFile(old);
  if (orphan) {
    (void)t->use.vfs().CloseFile(*id);
    res.stat = nlm4_stats::NLM4_DENIED_NOLOCKS;
  }
  return res;
}

nlm4_shareres NlmService::Unshare(const rpc::CallContext& call, const nlm4_shareargs& args) {
  nlm4_shareres res;
  res.cookie = args.cookie;
  Result<DecodedHandle> h = handles_.Decode(AsBytes(args.share.fh));
  if (!h.ok()) {
    res.stat = nlm4_stats::NLM4_STALE_FH;
    return res;
  }
  core::OpenTable::OpenId id = 0;
  {
    MutexLock lock(&mu_);
    Host* host = FindHost(call, args.share.caller_name);
    if (host == nullptr) return res;
    auto it = host->shares.find(std::make_tuple(h->share, h->file.inode, args.share.oh));
    if (it == host->shares.end()) return res;
    id = it->second;
    host->shares.erase(it);
  }
  if (Result<core::ShareUse> use = shares_.Use(h->share); use.ok()) {
    (void)use->vfs().CloseFile(id);
  }
  return res;
}

void NlmService::FreeAll(const rpc::CallContext& call, const nlm4_notify& args) {
  std::vector<std::string> keys;
  {
    MutexLock lock(&mu_);
    for (const auto& [key, host] : hosts_) {
      if (host->address == call.client_address && host->name == args.name) keys.push_back(key);
    }
  }
  for (const std::string& key : keys) Release(key, /*forget=*/true);
}

void NlmService::Notify(const rpc::CallContext& call, const stat_chge& args) {
  std::vector<std::string> keys;
  {
    MutexLock lock(&mu_);
    for (const auto& [key, host] : hosts_) {
      if (host->address == call.client_address ||
          (IsIpAddress(args.mon_name) && host->address == args.mon_name)) {
        keys.push_back(key);
      }
    }
  }
  if (!keys.empty()) {
    LOG_INFO("nlm: {} ({}) restarted (NSM state {}): releasing the locks of {} host(s)",
             args.mon_name, call.client_address, args.state, keys.size());
  }
  for (const std::string& key : keys) Release(key, /*forget=*/true);
}

void NlmService::Release(const std::string& host_key, bool forget) {
  std::unique_ptr<Host> host;
  std::vector<std::pair<uint64_t, std::set<std::pair<core::ShareId, uint64_t>>>> owned;
  std::vector<std::shared_ptr<Blocked>> blocked;
  {
    MutexLock lock(&mu_);
    auto it = hosts_.find(host_key);
    if (it == hosts_.end()) return;
    host = std::move(it->second);
    hosts_.erase(it);
    for (auto& [key, owner] : host->owners) {
      owners_.erase(owner->id);
      owned.emplace_back(owner->id, std::move(owner->files));
    }
    for (const auto& b : host->blocked) {
      if (b->state == Blocked::State::kQueued) blocked.push_back(b);
      b->state = Blocked::State::kDone;
      std::erase(granted_pending_, b);
    }
    std::erase_if(notices_, [&](const auto& n) { return n->key == host_key; });
  }
  for (const auto& b : blocked) {
    if (b->wait == 0) continue;  // its LockOrWait is still running, and cancels it itself
    if (std::shared_ptr<core::Share> share = shares_.ById(b->share)) {
      share->state().locks.Cancel(b->wait);
    }
  }
  for (const auto& [owner, files] : owned) {
    for (const auto& [share_id, file] : files) {
      if (std::shared_ptr<core::Share> share = shares_.ById(share_id)) {
        share->state().locks.ReleaseOwner(file, {owner, LockFlavor::kPosix});
      }
    }
  }
  for (const auto& [key, open] : host->shares) {
    if (Result<core::ShareUse> use = shares_.Use(std::get<0>(key)); use.ok()) {
      (void)use->vfs().CloseFile(open);
    }
  }
  if (forget && host->monitored && records_ != nullptr) {
    if (Status s = records_->Delete(host_key); !s.ok()) {
      LOG_WARN("nlm: cannot forget monitored host {}: {}", host->address, s.ToString());
    }
  }
}

void NlmService::SendNotify(const std::shared_ptr<Notice>& n) {
  xdr::XdrEncoder args;
  {
    MutexLock lock(&mu_);
    if (n->in_flight) return;
    n->in_flight = true;
    n->tries++;
  }
  stat_chge change;
  change.mon_name = n->server_address.empty() ? std::string("localhost") : n->server_address;
  change.state = options_.nsm_state;
  Encode(args, change);
  CallHost(
      n->address, SM_PROG, SM_VERS, SM_NOTIFY, std::move(args), [this, n](Result<rpc::Reply> r) {
        MutexLock lock(&mu_);
        n->in_flight = false;
        if (r.ok()) {
          std::erase(notices_, n);
          return;
        }
        if (n->tries >= options_.max_callback_tries) {
          LOG_WARN("nlm: cannot notify {} of this restart: {}", n->address, r.status().ToString());
          std::erase(notices_, n);
          return;
        }
        int64_t wait = Nanos(options_.retry_initial) << std::min(n->tries - 1, 16);
        n->next_try = MonotonicNanos() + std::min(wait, Nanos(options_.retry_max));
      });
}

std::shared_ptr<rpc::RpcClient> NlmService::ClientFor(const std::string& address, uint16_t port) {
  std::map<std::pair<std::string, uint16_t>, std::shared_ptr<rpc::RpcClient>> dropped;
  std::shared_ptr<rpc::RpcClient> client;
  {
    MutexLock lock(&clients_mu_);
    if (closing_) return nullptr;
    auto it = clients_.find({address, port});
    if (it != clients_.end()) return it->second;
    // Two per host (its port mapper and its lock manager or status monitor); past the bound,
    // every connection is dropped and made again as needed.
    if (clients_.size() >= 2 * options_.max_hosts) dropped.swap(clients_);
    rpc::RpcClientOptions o;
    o.host = address;
    o.port = port;
    o.connect_timeout = options_.callback_timeout;
    o.max_pending = 64;
    client = rpc::RpcClient::Create(o, io_.get());
    clients_[{address, port}] = client;
  }
  for (auto& [at, c] : dropped) c->Close();
  return client;
}

void NlmService::CallHost(const std::string& address, uint32_t prog, uint32_t vers, uint32_t proc,
                          xdr::XdrEncoder args, std::function<void(Result<rpc::Reply>)> done) {
  xdr::XdrEncoder query;
  query.U32(prog);
  query.U32(vers);
  query.U32(kIpprotoTcp);
  query.U32(0);
  auto shared_args = std::make_shared<xdr::XdrEncoder>(std::move(args));
  rpc::OutgoingCall getport{
      kPortmapProgram, kPmapVersion, kPmapGetport, {}, options_.callback_timeout};
  std::shared_ptr<rpc::RpcClient> portmapper = ClientFor(address, options_.client_portmap_port);
  if (!portmapper) return done(Status(Errc::kUnavailable, "the lock manager is stopping"));
  portmapper->Call(
      getport, std::move(query),
      [this, address, prog, vers, proc, shared_args, done](Result<rpc::Reply> r) {
        if (!r.ok()) return done(r.status());
        xdr::XdrDecoder d(r->results);
        const uint32_t port = d.U32();
        if (!d.ok() || port == 0 || port > 0xFFFF) {
          return done(Status(Errc::kNotFound, "the host's port mapper does not know program " +
                                                  std::to_string(prog)));
        }
        std::shared_ptr<rpc::RpcClient> peer = ClientFor(address, static_cast<uint16_t>(port));
        if (!peer) return done(Status(Errc::kUnavailable, "the lock manager is stopping"));
        rpc::OutgoingCall call{prog, vers, proc, {}, options_.callback_timeout};
        peer->Call(call, std::move(*shared_args), done);
      });
}

void NlmService::SendResult(const rpc::CallContext& call, uint32_t proc, xdr::XdrEncoder args) {
  // One try: a client that gets no answer sends its _MSG request again.
  CallHost(call.client_address, NLM_PROG, call.vers, proc, std::move(args),
           [](Result<rpc::Reply>) {});
}

void NlmService::Tick(int64_t now) {
  if (int64_t end = grace_end_.load();
      end != 0 && now >= end && grace_end_.compare_exchange_strong(end, 0)) {
    LOG_INFO("nlm: grace period over: new locks are served");
  }
  std::vector<std::shared_ptr<Blocked>> granted;
  std::vector<std::shared_ptr<Notice>> notices;
  std::vector<std::string> idle;
  {
    MutexLock lock(&mu_);
    for (const auto& b : granted_pending_) {
      if (!b->in_flight && b->next_try <= now) granted.push_back(b);
    }
    for (const auto& n : notices_) {
      if (!n->in_flight && n->next_try <= now) notices.push_back(n);
    }
    const bool grace = InGraceAt(now);
    for (auto& [key, host] : hosts_) {
      for (auto it = host->owners.begin(); it != host->owners.end();) {
        Owner& o = *it->second;
        if (o.files.empty() && o.blocked == 0 && now - o.last_used > kOwnerIdleNanos) {
          owners_.erase(o.id);
          it = host->owners.erase(it);
        } else {
          ++it;
        }
      }
      if (!grace && host->owners.empty() && host->blocked.empty() && host->shares.empty() &&
          now - host->last_active > Nanos(options_.idle_host)) {
        idle.push_back(key);
      }
    }
  }
  for (const auto& b : granted) SendGranted(b);
  for (const auto& n : notices) SendNotify(n);
  for (const std::string& key : idle) Release(key, /*forget=*/true);
}

std::vector<NlmHostInfo> NlmService::Hosts() const {
  std::vector<NlmHostInfo> out;
  MutexLock lock(&mu_);
  for (const auto& [key, host] : hosts_) {
    NlmHostInfo info;
    info.name = host->name;
    info.address = host->address;
    info.monitored = host->monitored;
    info.owners = host->owners.size();
    info.blocked = host->blocked.size();
    info.shares = host->shares.size();
    out.push_back(std::move(info));
  }
  return out;
}

std::optional<NlmOwnerInfo> NlmService::OwnerInfo(uint64_t owner_id) const {
  MutexLock lock(&mu_);
  auto it = owners_.find(owner_id);
  if (it == owners_.end()) return std::nullopt;
  return NlmOwnerInfo{it->second->host->name, it->second->host->address, it->second->svid};
}

Status NlmService::Evict(std::string_view address, std::string_view name) {
  const std::string key = HostKey(address, name);
  {
    MutexLock lock(&mu_);
    if (!hosts_.contains(key)) return Errc::kNotFound;
  }
  LOG_INFO("nlm: evicting host {} ({}): its locks and share reservations go", name, address);
  Release(key, /*forget=*/true);
  return Status::Ok();
}

size_t NlmService::pending_callbacks() const {
  MutexLock lock(&mu_);
  return granted_pending_.size() + notices_.size();
}

// ---- dispatch ----

namespace {

using rpc::AcceptStat;
using rpc::CallContext;

template <typename Args>
bool DecodeArgs(xdr::XdrDecoder& d, Args* out, uint32_t vers) {
  return Decode(d, out, vers) && d.remaining() == 0;
}
bool DecodeArgs(xdr::XdrDecoder& d, nlm4_notify* out, uint32_t) {
  return Decode(d, out) && d.remaining() == 0;
}

// A procedure that decodes Args (in the call's version), runs `run` and encodes its result.
template <typename Args, typename Run>
rpc::Procedure Answered(const char* name, Run run, bool cached = false) {
  return {name,
          [run](const CallContext& c, xdr::XdrDecoder& d, xdr::XdrEncoder& e) {
            Args a;
            if (!DecodeArgs(d, &a, c.vers)) return AcceptStat::kGarbageArgs;
            Encode(e, run(c, a), c.vers);
            return AcceptStat::kSuccess;
          },
          cached};
}

// A procedure with no result: decodes Args and runs `run`.
template <typename Args, typename Run>
rpc::Procedure Void(const char* name, Run run, bool cached = false) {
  return {name,
          [run](const CallContext& c, xdr::XdrDecoder& d, xdr::XdrEncoder&) {
            Args a;
            if (!DecodeArgs(d, &a, c.vers)) return AcceptStat::kGarbageArgs;
            run(c, a);
            return AcceptStat::kSuccess;
          },
          cached};
}

bool DecodeSm(xdr::XdrDecoder& d, std::string* mon_name) { return DecodeSmName(d, mon_name); }
template <typename T>
bool DecodeSm(xdr::XdrDecoder& d, T* out) {
  return Decode(d, out);
}

// An NSM request this status monitor does not serve for others: checked, and answered with
// the state number (and stat_fail, for the procedures whose result says whether it will).
template <typename Args>
rpc::Procedure NsmRefusal(const char* name, int32_t state, bool with_result) {
  return {name, [state, with_result](const CallContext&, xdr::XdrDecoder& d, xdr::XdrEncoder& e) {
            Args a;
            if (!DecodeSm(d, &a) || d.remaining() != 0) return AcceptStat::kGarbageArgs;
            if (with_result) {
              Encode(e, sm_stat_res{sm_res::stat_fail, state});
            } else {
              e.I32(state);
            }
            return AcceptStat::kSuccess;
          }};
}

}  // namespace

std::vector<rpc::ProgramVersion> NlmService::Programs() {
  std::vector<rpc::ProgramVersion> out;
  const auto voidproc = [](const CallContext&, xdr::XdrDecoder&, xdr::XdrEncoder&) {
    return AcceptStat::kSuccess;
  };
  // The _MSG forms: the answer goes back as a call of the matching _RES procedure.
  const auto answer_by_call = [this](const CallContext& c, uint32_t res_proc, const auto& res) {
    xdr::XdrEncoder e;
    Encode(e, res, c.vers);
    SendResult(c, res_proc, std::move(e));
  };
  const auto test = [this](const CallContext& c, const nlm4_testargs& a) { return Test(c, a); };
  const auto lock = [this](const CallContext& c, const nlm4_lockargs& a) {
    return Lock(c, a, false);
  };
  const auto cancel = [this](const CallContext& c, const nlm4_cancargs& a) { return Cancel(c, a); };
  const auto unlock = [this](const CallContext& c, const nlm4_unlockargs& a) {
    return Unlock(c, a);
  };
  // A server has no blocked requests of its own to be granted.
  const auto granted = [](const CallContext&, const nlm4_testargs& a) {
    return nlm4_res{a.cookie, nlm4_stats::NLM4_DENIED};
  };
  for (uint32_t vers : {NLM_VERS, NLM_VERSX, NLM4_VERS}) {
    rpc::ProgramVersion p{NLM_PROG, vers, {}};
    p.procedures.resize(vers == NLM_VERS ? NLMPROC_GRANTED_RES + 1 : NLMPROC_FREE_ALL + 1);
    p.procedures[NLMPROC_NULL] = {"NULL", voidproc};
    p.procedures[NLMPROC_TEST] = Answered<nlm4_testargs>("TEST", test);
    p.procedures[NLMPROC_LOCK] = Answered<nlm4_lockargs>("LOCK", lock, true);
    p.procedures[NLMPROC_CANCEL] = Answered<nlm4_cancargs>("CANCEL", cancel, true);
    p.procedures[NLMPROC_UNLOCK] = Answered<nlm4_unlockargs>("UNLOCK", unlock, true);
    p.procedures[NLMPROC_GRANTED] = Answered<nlm4_testargs>("GRANTED", granted);
    p.procedures[NLMPROC_TEST_MSG] =
        Void<nlm4_testargs>("TEST_MSG", [=](const CallContext& c, const nlm4_testargs& a) {
          answer_by_call(c, NLMPROC_TEST_RES, test(c, a));
        });
    p.procedures[NLMPROC_LOCK_MSG] =
        Void<nlm4_lockargs>("LOCK_MSG", [=, this](const CallContext& c, const nlm4_lockargs& a) {
          answer_by_call(c, NLMPROC_LOCK_RES, Lock(c, a, /*via_msg=*/true));
        });
    p.procedures[NLMPROC_CANCEL_MSG] =
        Void<nlm4_cancargs>("CANCEL_MSG", [=](const CallContext& c, const nlm4_cancargs& a) {
          answer_by_call(c, NLMPROC_CANCEL_RES, cancel(c, a));
        });
    p.procedures[NLMPROC_UNLOCK_MSG] =
        Void<nlm4_unlockargs>("UNLOCK_MSG", [=](const CallContext& c, const nlm4_unlockargs& a) {
          answer_by_call(c, NLMPROC_UNLOCK_RES, unlock(c, a));
        });
    p.procedures[NLMPROC_GRANTED_MSG] =
        Void<nlm4_testargs>("GRANTED_MSG", [=](const CallContext& c, const nlm4_testargs& a) {
          answer_by_call(c, NLMPROC_GRANTED_RES, granted(c, a));
        });
    // Answers to calls this server does not make (it sends no _MSG requests): checked, dropped.
    const auto drop = [](const CallContext&, const auto&) {};
    p.procedures[NLMPROC_TEST_RES] = Void<nlm4_testres>("TEST_RES", drop);
    p.procedures[NLMPROC_LOCK_RES] = Void<nlm4_res>("LOCK_RES", drop);
    p.procedures[NLMPROC_CANCEL_RES] = Void<nlm4_res>("CANCEL_RES", drop);
    p.procedures[NLMPROC_UNLOCK_RES] = Void<nlm4_res>("UNLOCK_RES", drop);
    p.procedures[NLMPROC_GRANTED_RES] = Void<nlm4_res>(
        "GRANTED_RES", [this](const CallContext& c, const nlm4_res& r) { GrantedRes(c, r); });
    if (vers == NLM_VERS) {
      out.push_back(std::move(p));
      continue;
    }
    p.procedures[NLMPROC_SHARE] = Answered<nlm4_shareargs>(
        "SHARE", [this](const CallContext& c, const nlm4_shareargs& a) { return Share(c, a); },
        true);
    p.procedures[NLMPROC_UNSHARE] = Answered<nlm4_shareargs>(
        "UNSHARE", [this](const CallContext& c, const nlm4_shareargs& a) { return Unshare(c, a); },
        true);
    // A lock of a host that is not monitored (and so never waits).
    p.procedures[NLMPROC_NM_LOCK] = Answered<nlm4_lockargs>(
        "NM_LOCK",
        [this](const CallContext& c, nlm4_lockargs a) {
          a.block = false;
          return Lock(c, a, false, /*monitor=*/false);
        },
        true);
    p.procedures[NLMPROC_FREE_ALL] = Void<nlm4_notify>(
        "FREE_ALL", [this](const CallContext& c, const nlm4_notify& a) { FreeAll(c, a); }, true);
    out.push_back(std::move(p));
  }

  // NSM. This status monitor serves its own lock manager only: it monitors no host for others
  // (SM_STAT and SM_MON answer stat_fail), and hears of clients that restarted (SM_NOTIFY).
  rpc::ProgramVersion sm{SM_PROG, SM_VERS, {}};
  sm.procedures.resize(SM_NOTIFY + 1);
  sm.procedures[SM_NULL] = {"NULL", voidproc};
  const int32_t state = options_.nsm_state;
  sm.procedures[SM_STAT] = NsmRefusal<std::string>("STAT", state, true);
  sm.procedures[SM_MON] = NsmRefusal<mon>("MON", state, true);
  sm.procedures[SM_UNMON] = NsmRefusal<mon_id>("UNMON", state, false);
  sm.procedures[SM_UNMON_ALL] = NsmRefusal<my_id>("UNMON_ALL", state, false);
  sm.procedures[SM_NOTIFY] = {"NOTIFY",
                              [this](const CallContext& c, xdr::XdrDecoder& d, xdr::XdrEncoder&) {
                                stat_chge s;
                                if (!Decode(d, &s) || d.remaining() != 0)
                                  return AcceptStat::kGarbageArgs;
                                Notify(c, s);
                                return AcceptStat::kSuccess;
                              }};
  out.push_back(std::move(sm));
  return out;
}

}  // namespace dittofs::nfs

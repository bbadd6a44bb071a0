// SPDX-License-Identifier: Apache-2.0
// NFSv4 clients and sessions: 4.0's SETCLIENTID, SETCLIENTID_CONFIRM and RENEW (RFC 7530
// §16.33-§16.34), 4.1's EXCHANGE_ID, CREATE_SESSION and the rest of the session operations
// (RFC 8881 §18.33-§18.51), leases and their courteous expiry.
#include <algorithm>

#include "base/clock.h"
#include "base/log.h"
#include "base/random.h"
#include "nfs/v4/compound.h"
#include "nfs/v4/errors.h"

namespace dittofs::nfs {

namespace {

verifier4 RandomVerifier() {
  verifier4 v;
  StoreBe64(v.data(), RandomU64());
  return v;
}

uint32_t PrincipalOf(const Nfs4Service::Ctx& c) {
  return c.caller.anonymous() ? 65534 : c.caller.uid;
}

// A client's lease ran out `lease` ago or more.
bool Expired(const Nfs4Client& client, int64_t now, uint32_t lease_seconds) {
  return client.in_flight.load() == 0 &&
         now - client.renewed.load() > int64_t{lease_seconds} * 1'000'000'000;
}

bool HasState(Nfs4Client& client) {
  MutexLock lock(&client.mu);
  return !client.states.empty();
}

// The universal address of the caller ("10.0.0.1.4.1"), for CLID_INUSE's answer.
netaddr4 CallerAddress(const rpc::CallContext& call) {
  netaddr4 a;
  a.netid = call.client_address.find(':') != std::string::npos ? "tcp6" : "tcp";
  a.addr = call.client_address + "." + std::to_string(call.client_port >> 8) + "." +
           std::to_string(call.client_port & 0xff);
  return a;
}

}  // namespace

std::shared_ptr<Nfs4Client> NewClient(Nfs4State& state, uint32_t minor, ByteView owner,
                                      const verifier4& verifier, uint32_t principal,
                                      const std::string& address) {
  auto client = std::make_shared<Nfs4Client>();
  client->id = state.NewClientId();
  client->minor = minor;
  client->owner.assign(AsChars(owner));
  client->verifier = verifier;
  client->principal = principal;
  client->address = address;
  client->holder = RandomU64() | 1;
  client->renewed.store(MonotonicNanos());
  return client;
}

// RFC 8881 §18.36.3: of the callback security the client offers, an RPCSEC_GSS context is
// used when there is one (its calls under the context the client made with this server, named
// by gcbp_handle_from_server: NFS4ERR_NOENT when that names no context here), else AUTH_SYS
// with the ids given, else AUTH_NONE.
nfsstat4 Nfs4Service::ChooseCallbackSecurity(const std::vector<callback_sec_parms4>& parms,
                                             CallbackSecurity* out) {
  *out = {};
  for (const auto& p : parms) {
    if (p.cb_secflavor != 6) continue;
    rpc::GssAuthenticator* gss = gss_.load();
    std::shared_ptr<rpc::CallSecurity> security =
        gss == nullptr
            ? nullptr
            : gss->BackchannelSecurity(AsBytes(p.handle_from_server), AsBytes(p.handle_from_client),
                                       static_cast<rpc::RpcGssService>(p.gss_service));
    if (security == nullptr) return nfsstat4::NFS4ERR_NOENT;
    if (out->gss == nullptr) out->gss = std::move(security);
  }
  if (out->gss != nullptr) {
    out->flavor = 6;
    return nfsstat4::NFS4_OK;
  }
  for (const auto& p : parms) {
    if (p.cb_secflavor == 1) {
      out->flavor = 1;
      out->uid = p.uid;
      out->gid = p.gid;
      return nfsstat4::NFS4_OK;
    }
  }
  return nfsstat4::NFS4_OK;
}

nfsstat4 Nfs4Service::ClientFor(Ctx& c, clientid4 id, std::shared_ptr<Nfs4Client>* out) {
  if (c.minor >= 1) {
    if (!c.session) return nfsstat4::NFS4ERR_OP_NOT_IN_SESSION;
    *out = c.session->client;
    return nfsstat4::NFS4_OK;
  }
  std::shared_ptr<Nfs4Client> client = state_.FindClient(id);
  if (!client) {
    return state_.IsCurrent(id) ? nfsstat4::NFS4ERR_EXPIRED : nfsstat4::NFS4ERR_STALE_CLIENTID;
  }
  {
    MutexLock lock(&client->mu);
    if (!client->confirmed) return nfsstat4::NFS4ERR_STALE_CLIENTID;
    if (client->dead) return nfsstat4::NFS4ERR_EXPIRED;
  }
  client->renewed.store(MonotonicNanos());
  *out = std::move(client);
  return nfsstat4::NFS4_OK;
}

SETCLIENTID4res Nfs4Service::SetClientId(Ctx& c, const SETCLIENTID4args& a) {
  SETCLIENTID4res r;
  const uint32_t principal = PrincipalOf(c);
  auto [confirmed, unconfirmed] = state_.FindByOwner(0, AsChars(a.id));
  const int64_t now = MonotonicNanos();
  if (confirmed && confirmed->principal != principal &&
      !Expired(*confirmed, now, lease_seconds()) && HasState(*confirmed)) {
    // RFC 7530 §16.33.5: another principal's client with live state has this name.
    r.status = nfsstat4::NFS4ERR_CLID_INUSE;
    r.client_using = CallerAddress(c.call);
    return r;
  }
  if (unconfirmed) {
    ReleaseClient(unconfirmed, true);
  }
  if (confirmed && confirmed->verifier == a.verifier && confirmed->principal == principal) {
    // The same client instance updating its callback: confirmed with the new verifier.
    MutexLock lock(&confirmed->mu);
    confirmed->pending_confirm = RandomVerifier();
    confirmed->pending_callback = a.cb_location;
    confirmed->pending_cb_program = a.cb_program;
    confirmed->pending_cb_ident = a.callback_ident;
    confirmed->has_pending = true;
    r.clientid = confirmed->id;
    r.setclientid_confirm = confirmed->pending_confirm;
    return r;
  }
  if (state_.client_count() >= options_.max_clients) {
    ExpireIdleClients(now, true);
    if (state_.client_count() >= options_.max_clients) {
      r.status = nfsstat4::NFS4ERR_RESOURCE;
      return r;
    }
  }
  // A new client, or the client restarted (another verifier): a new record, which replaces
  // the old one when confirmed.
  std::shared_ptr<Nfs4Client> client =
      NewClient(state_, 0, a.id, a.verifier, principal, c.call.client_address);
  {
    MutexLock lock(&client->mu);
    client->confirm_verifier = RandomVerifier();
    client->callback = a.cb_location;
    client->cb_program = a.cb_program;
    client->cb_ident = a.callback_ident;
    r.setclientid_confirm = client->confirm_verifier;
  }
  r.clientid = client->id;
  state_.AddClient(std::move(client));
  return r;
}

nfsstat4 Nfs4Service::SetClientIdConfirm(Ctx& c, const SETCLIENTID_CONFIRM4args& a) {
  std::shared_ptr<Nfs4Client> client = state_.FindClient(a.clientid);
  if (!client) return nfsstat4::NFS4ERR_STALE_CLIENTID;
  if (client->principal != PrincipalOf(c)) return nfsstat4::NFS4ERR_CLID_INUSE;
  bool updated = false;
  {
    MutexLock lock(&client->mu);
    if (client->dead) return nfsstat4::NFS4ERR_STALE_CLIENTID;
    if (client->confirmed) {
      if (client->has_pending && client->pending_confirm == a.setclientid_confirm) {
        client->callback = client->pending_callback;
        client->cb_program = client->pending_cb_program;
        client->cb_ident = client->pending_cb_ident;
        client->confirm_verifier = client->pending_confirm;
        client->has_pending = false;
        client->renewed.store(MonotonicNanos());
        updated = true;
      } else if (client->confirm_verifier == a.setclientid_confirm) {
        return nfsstat4::NFS4_OK;  // a retransmission of the confirmation
      } else {
        return nfsstat4::NFS4ERR_STALE_CLIENTID;
      }
    }
  }
  if (updated) {
    // The callback changed: checked anew.
    ProbeCallback40(client);
    return nfsstat4::NFS4_OK;
  }
  {
    MutexLock lock(&client->mu);
    if (client->confirm_verifier != a.setclientid_confirm) {
      return nfsstat4::NFS4ERR_STALE_CLIENTID;
    }
    client->confirmed = true;
    client->renewed.store(MonotonicNanos());
  }
  // The client's earlier instance (another record under its name) and its state go.
  for (auto& other : state_.Clients()) {
    if (other != client && other->minor == 0 && other->owner == client->owner) {
      ReleaseClient(other, true);
    }
  }
  ProbeCallback40(client);
  return nfsstat4::NFS4_OK;
}

nfsstat4 Nfs4Service::Renew(Ctx& c, const RENEW4args& a) {
  std::shared_ptr<Nfs4Client> client;
  return ClientFor(c, a.clientid, &client);
}

EXCHANGE_ID4res Nfs4Service::ExchangeId(Ctx& c, const EXCHANGE_ID4args& a) {
  EXCHANGE_ID4res r;
  constexpr uint32_t kKnownFlags = EXCHGID4_FLAG_SUPP_MOVED_REFER | EXCHGID4_FLAG_SUPP_MOVED_MIGR |
                                   EXCHGID4_FLAG_BIND_PRINC_STATEID | EXCHGID4_FLAG_MASK_PNFS |
                                   EXCHGID4_FLAG_UPD_CONFIRMED_REC_A;
  if ((a.flags & ~kKnownFlags) != 0) {
    r.status = nfsstat4::NFS4ERR_INVAL;
    return r;
  }
  if (a.spa_how == state_protect_how4::SP4_SSV) {
    // No SSV: this server cannot derive its keys (RFC 8881 §18.35.4: answered as an
    // unsupported algorithm).
    r.status = nfsstat4::NFS4ERR_HASH_ALG_UNSUPP;
    return r;
  }
  const uint32_t principal = PrincipalOf(c);
  auto [confirmed, unconfirmed] = state_.FindByOwner(1, AsChars(a.co_ownerid));
  const int64_t now = MonotonicNanos();
  std::shared_ptr<Nfs4Client> client;
  if ((a.flags & EXCHGID4_FLAG_UPD_CONFIRMED_REC_A) != 0) {
    // An update of a confirmed record (RFC 8881 §18.35.4, cases 6-9).
    if (!confirmed) {
      r.status = nfsstat4::NFS4ERR_NOENT;
      return r;
    }
    if (confirmed->principal != principal) {
      r.status = nfsstat4::NFS4ERR_PERM;
      return r;
    }
    if (confirmed->verifier != a.co_verifier) {
      r.status = nfsstat4::NFS4ERR_NOT_SAME;
      return r;
    }
    client = confirmed;
  } else if (confirmed && confirmed->verifier == a.co_verifier &&
             confirmed->principal == principal) {
    client = confirmed;  // case 2: the same client again (a new connection, trunking)
  } else {
    if (confirmed && confirmed->principal != principal) {
      if (!Expired(*confirmed, now, lease_seconds()) && HasState(*confirmed)) {
        r.status = nfsstat4::NFS4ERR_CLID_INUSE;  // case 3, the owner's record in use
        return r;
      }
      // Case 3 with nothing to protect: another principal takes the owner name over; the
      // old record (no state, or its lease gone) goes now.
      ReleaseClient(confirmed, true);
    }
    if (unconfirmed) ReleaseClient(unconfirmed, true);  // case 4
    if (state_.client_count() >= options_.max_clients) {
      ExpireIdleClients(now, true);
      if (state_.client_count() >= options_.max_clients) {
        r.status = nfsstat4::NFS4ERR_RESOURCE;
        return r;
      }
    }
    // Cases 1 and 5: a new record; a restarted client's old record goes when it confirms.
    client = NewClient(state_, 1, a.co_ownerid, a.co_verifier, principal, c.call.client_address);
    state_.AddClient(client);
  }
  client->renewed.store(now);
  r.clientid = client->id;
  {
    MutexLock lock(&client->mu);
    r.sequenceid = client->cs_sequence + 1;
    if (client->confirmed) r.flags |= EXCHGID4_FLAG_CONFIRMED_R;
  }
  r.flags |= EXCHGID4_FLAG_USE_NON_PNFS;
  if (a.spa_how == state_protect_how4::SP4_MACH_CRED) {
    // Accepted with nothing enforced: AUTH_SYS has no machine credential to bind to.
    r.spr_how = state_protect_how4::SP4_MACH_CRED;
  }
  r.so_minor_id = 0;
  r.so_major_id = server_owner_;
  r.server_scope = server_owner_;
  nfs_impl_id4 impl;
  impl.domain = "dittofs.org";
  impl.name = "DittoFS";
  r.server_impl_id = impl;
  return r;
}

CREATE_SESSION4res Nfs4Service::CreateSession(Ctx& c, const CREATE_SESSION4args& a) {
  CREATE_SESSION4res r;
  std::shared_ptr<Nfs4Client> client = state_.FindClient(a.clientid);
  if (!client || client->minor == 0) {
    r.status = nfsstat4::NFS4ERR_STALE_CLIENTID;
    return r;
  }
  if ((a.flags & ~(CREATE_SESSION4_FLAG_PERSIST | CREATE_SESSION4_FLAG_CONN_BACK_CHAN |
                   CREATE_SESSION4_FLAG_CONN_RDMA)) != 0) {
    r.status = nfsstat4::NFS4ERR_INVAL;  // flag bits RFC 8881 §18.36 does not define
    return r;
  }
  bool confirmed_now = false;
  {
    MutexLock lock(&client->mu);
    if (client->dead) {
      r.status = nfsstat4::NFS4ERR_STALE_CLIENTID;
      return r;
    }
    // RFC 8881 §18.36.4: an unconfirmed record is confirmed only by the principal that made it;
    // a confirmed one takes sessions from any (AUTH_SYS, no state protection).
    if (!client->confirmed && client->principal != PrincipalOf(c)) {
      r.status = nfsstat4::NFS4ERR_CLID_INUSE;
      return r;
    }
    // RFC 8881 §18.36.4: the sequence tells a retransmission (answered from the cache) from
    // a new request and from a misordered one.
    if (a.sequence == client->cs_sequence && client->cs_reply) return *client->cs_reply;
    if (a.sequence != client->cs_sequence + 1) {
      r.status = nfsstat4::NFS4ERR_SEQ_MISORDERED;
      return r;
    }
    if (client->sessions.size() >= options_.max_sessions_per_client) {
      r.status = nfsstat4::NFS4ERR_RESOURCE;
      return r;
    }
    const channel_attrs4& f = a.fore_chan_attrs;
    const channel_attrs4& b = a.back_chan_attrs;
    // Channels on which no request or reply could ever fit: a backchannel must carry a
    // CB_COMPOUND of CB_SEQUENCE and CB_RECALL (RFC 8881 §18.36.3, NFS4ERR_TOOSMALL).
    if (f.maxrequests == 0 || f.maxoperations == 0 || f.maxrequestsize < 256 ||
        f.maxresponsesize < 256 || b.maxrequestsize < 256 || b.maxresponsesize < 64 ||
        b.maxoperations < 2) {
      r.status = nfsstat4::NFS4ERR_TOOSMALL;
      return r;
    }
    CallbackSecurity cb_security;
    r.status = ChooseCallbackSecurity(a.sec_parms, &cb_security);
    if (r.status != nfsstat4::NFS4_OK) return r;
    // Negotiated down to what this server gives (RFC 8881 §18.36.3).
    const uint32_t max_message = options_.max_io + (64u << 10);
    r.fore_chan_attrs.headerpadsize = 0;
    r.fore_chan_attrs.maxrequestsize = std::min(f.maxrequestsize, max_message);
    r.fore_chan_attrs.maxresponsesize = std::min(f.maxresponsesize, max_message);
    r.fore_chan_attrs.maxresponsesize_cached =
        std::min(f.maxresponsesize_cached, options_.max_cached_reply);
    r.fore_chan_attrs.maxoperations = std::min(f.maxoperations, options_.max_ops);
    r.fore_chan_attrs.maxrequests = std::min(f.maxrequests, options_.max_slots);
    r.back_chan_attrs.headerpadsize = 0;
    r.back_chan_attrs.maxrequestsize = std::min<uint32_t>(b.maxrequestsize, 64u << 10);
    r.back_chan_attrs.maxresponsesize = std::min<uint32_t>(b.maxresponsesize, 64u << 10);
    r.back_chan_attrs.maxresponsesize_cached = 0;
    r.back_chan_attrs.maxoperations = std::min<uint32_t>(b.maxoperations, 8);
    r.back_chan_attrs.maxrequests = std::min<uint32_t>(std::max<uint32_t>(b.maxrequests, 1), 1);

    std::shared_ptr<Nfs4Session> s = state_.NewSession(client);
    s->fore = r.fore_chan_attrs;
    s->back = r.back_chan_attrs;
    {
      MutexLock slock(&s->mu);
      s->slots.resize(r.fore_chan_attrs.maxrequests);
      s->cb_program = a.cb_program;
      s->cb_security = std::move(cb_security);
      if ((a.flags & CREATE_SESSION4_FLAG_CONN_BACK_CHAN) != 0 && c.call.channel != nullptr) {
        s->back_channels.push_back(c.call.channel->weak_from_this());
        r.flags |= CREATE_SESSION4_FLAG_CONN_BACK_CHAN;
      }
    }
    client->sessions.insert(s->key);
    r.sessionid = s->id;
    r.sequence = a.sequence;
    client->cs_sequence = a.sequence;
    client->cs_reply = r;
    confirmed_now = !client->confirmed;
    client->confirmed = true;
  }
  client->renewed.store(MonotonicNanos());
  if (confirmed_now) {
    // The client's earlier instance (a record it made before restarting) and its state go.
    for (auto& other : state_.Clients()) {
      if (other != client && other->minor != 0 && other->owner == client->owner) {
        ReleaseClient(other, true);
      }
    }
  }
  return r;
}

nfsstat4 Nfs4Service::DestroySession(Ctx& c, const DESTROY_SESSION4args& a) {
  std::shared_ptr<Nfs4Session> s = state_.FindSession(a.sessionid);
  if (!s) return nfsstat4::NFS4ERR_BADSESSION;
  if (s->client->principal != PrincipalOf(c)) return nfsstat4::NFS4ERR_PERM;
  state_.RemoveSession(s->key);
  MutexLock lock(&s->client->mu);
  s->client->sessions.erase(s->key);
  return nfsstat4::NFS4_OK;
}

nfsstat4 Nfs4Service::DestroyClientId(Ctx& c, const DESTROY_CLIENTID4args& a) {
  std::shared_ptr<Nfs4Client> client = state_.FindClient(a.clientid);
  if (!client || client->minor == 0) return nfsstat4::NFS4ERR_STALE_CLIENTID;
  if (client->principal != PrincipalOf(c)) return nfsstat4::NFS4ERR_PERM;
  {
    MutexLock lock(&client->mu);
    // RFC 8881 §18.50.3: not while it has sessions (or state).
    if (!client->sessions.empty() || !client->states.empty()) {
      return nfsstat4::NFS4ERR_CLIENTID_BUSY;
    }
  }
  ReleaseClient(client, true);
  return nfsstat4::NFS4_OK;
}

BIND_CONN_TO_SESSION4res Nfs4Service::BindConnToSession(Ctx& c,
                                                        const BIND_CONN_TO_SESSION4args& a) {
  BIND_CONN_TO_SESSION4res r;
  std::shared_ptr<Nfs4Session> s = state_.FindSession(a.sessid);
  if (!s) {
    r.status = nfsstat4::NFS4ERR_BADSESSION;
    return r;
  }
  if (a.use_conn_in_rdma_mode) {
    r.status = nfsstat4::NFS4ERR_INVAL;  // no RDMA here
    return r;
  }
  r.sessid = a.sessid;
  const bool back = a.dir != channel_dir_from_client4::CDFC4_FORE;
  const bool fore = a.dir != channel_dir_from_client4::CDFC4_BACK;
  if (back && c.call.channel != nullptr) {
    MutexLock lock(&s->mu);
    s->back_channels.push_back(c.call.channel->weak_from_this());
    s->cb_down = false;
  }
  r.dir = back && fore ? channel_dir_from_server4::CDFS4_BOTH
          : back       ? channel_dir_from_server4::CDFS4_BACK
                       : channel_dir_from_server4::CDFS4_FORE;
  s->client->renewed.store(MonotonicNanos());
  return r;
}

nfsstat4 Nfs4Service::BackchannelCtl(Ctx& c, const BACKCHANNEL_CTL4args& a) {
  if (!c.session) return nfsstat4::NFS4ERR_OP_NOT_IN_SESSION;
  CallbackSecurity cb_security;
  const nfsstat4 status = ChooseCallbackSecurity(a.sec_parms, &cb_security);
  if (status != nfsstat4::NFS4_OK) return status;
  MutexLock lock(&c.session->mu);
  c.session->cb_program = a.cb_program;
  c.session->cb_security = std::move(cb_security);
  return nfsstat4::NFS4_OK;
}

nfsstat4 Nfs4Service::ReclaimComplete(Ctx& c, const RECLAIM_COMPLETE4args& a) {
  if (!c.session) return nfsstat4::NFS4ERR_OP_NOT_IN_SESSION;
  Nfs4Client& client = *c.session->client;
  {
    MutexLock lock(&client.mu);
    if (a.one_fs) return nfsstat4::NFS4_OK;  // per file system: nothing is tracked per share
    if (client.reclaim_complete) return nfsstat4::NFS4ERR_COMPLETE_ALREADY;
    client.reclaim_complete = true;
  }
  grace_.ReclaimComplete(Nfs4Grace::RecordKey(client.minor, client.owner));
  return nfsstat4::NFS4_OK;
}

void Nfs4Service::RecordClient(Nfs4Client& client) {
  // Every OPEN passes here: a plain load first, so the common case writes nothing.
  if (client.recorded.load(std::memory_order_relaxed) || client.recorded.exchange(true)) return;
  const std::string value = "minor=" + std::to_string(client.minor) + " address=" + client.address;
  Status s = grace_.Record(Nfs4Grace::RecordKey(client.minor, client.owner), value);
  if (!s.ok()) {
    // Its state stands; only a restart would cost it the right to reclaim. Tried again at its
    // next open.
    LOG_WARN("nfs4: cannot record client {} for reclaim after a restart: {}", client.id,
             s.ToString());
    client.recorded.store(false);
  }
}

nfsstat4 Nfs4Service::ReclaimAllowed(Nfs4Client& client) {
  if (!grace_.in_grace()) return nfsstat4::NFS4ERR_NO_GRACE;
  if (client.minor >= 1) {
    MutexLock lock(&client.mu);
    if (client.reclaim_complete) return nfsstat4::NFS4ERR_NO_GRACE;
  }
  return grace_.MayReclaim(Nfs4Grace::RecordKey(client.minor, client.owner))
             ? nfsstat4::NFS4_OK
             : nfsstat4::NFS4ERR_NO_GRACE;
}

void Nfs4Service::ReleaseClient(const std::shared_ptr<Nfs4Client>& client, bool forget,
                                nfsstat4 later, std::vector<std::string>* forget_later) {
  std::set<uint64_t> states;
  std::set<uint64_t> sessions;
  std::shared_ptr<rpc::RpcClient> callback;
  {
    MutexLock lock(&client->mu);
    client->dead = true;
    callback = std::move(client->cb_client);
    client->cb_ok = false;
    states.swap(client->states);
    sessions.swap(client->sessions);
    client->open_owners.clear();
    for (auto& [name, owner] : client->lock_owners) state_.RemoveLockOwner(owner->runtime_id);
    client->lock_owners.clear();
  }
  // Locks first, then the opens they came through.
  if (client->minor == 0) {
    for (uint64_t key : states) state_.Retire(key, {later, nullptr});
  }
  for (int pass = 0; pass < 2; ++pass) {
    for (uint64_t key : states) {
      std::optional<Nfs4StateRecord> rec = state_.GetState(key);
      if (!rec) continue;
      const bool lock = rec->kind == Nfs4StateKind::kLock;
      if (lock != (pass == 0)) continue;
      DropState(key, *rec);
    }
  }
  for (uint64_t key : sessions) state_.RemoveSession(key);
  if (callback) callback->Close();
  if (forget) {
    state_.RemoveClient(*client);
    // Gone for good (not a stop): its durable record goes too, unless a newer instance of the
    // client made it its own.
    if (!stopping_.load() && client->recorded.load()) {
      auto [confirmed, unconfirmed] = state_.FindByOwner(client->minor, client->owner);
      const bool newer = confirmed && confirmed->recorded.load();
      if (!newer) {
        std::string key = Nfs4Grace::RecordKey(client->minor, client->owner);
        if (forget_later != nullptr) {
          forget_later->push_back(std::move(key));
        } else {
          grace_.Forget(key);
        }
      }
    }
  }
}

void Nfs4Service::DropState(uint64_t key, const Nfs4StateRecord& rec) {
  state_.RemoveState(key);
  Result<core::ShareUse> use = shares_.Use(rec.file.share);
  if (!use.ok()) return;  // the share is gone, and its state with it
  core::ShareState& st = use->vfs().state();
  switch (rec.kind) {
    case Nfs4StateKind::kLock:
      st.locks.ReleaseOwner(rec.file.file.inode,
                            core::LockOwner{rec.owner->runtime_id, core::LockFlavor::kPosix});
      break;
    case Nfs4StateKind::kOpen:
      if (rec.open != 0) (void)use->vfs().CloseFile(rec.open);
      break;
    case Nfs4StateKind::kDelegation: {
      st.leases.Release(rec.grant);
      state_.RemoveDelegation(rec.grant);
      MutexLock lock(&rec.client->mu);
      rec.client->delegations.erase(key);
      break;
    }
  }
}

void Nfs4Service::ExpireIdleClients(int64_t now, bool pressed) {
  std::vector<std::shared_ptr<Nfs4Client>> expired;
  for (auto& client : state_.Clients()) {
    if (!Expired(*client, now, lease_seconds())) continue;
    expired.push_back(client);
  }
  // Courtesy (RFC 8881 §8.4.2.1): an expired client keeps its opens and locks until they
  // stand in another's way; one without state, or unconfirmed, has nothing to keep. The
  // durable records of the clients released here go in one write at the end (a burst of
  // clients gone at once, say a thousand after a network split, costs one sync, not 1000).
  std::vector<std::string> forget;
  std::vector<std::shared_ptr<Nfs4Client>> courtesy;
  for (auto& client : expired) {
    bool keep;
    {
      MutexLock lock(&client->mu);
      keep = client->confirmed && !client->states.empty() &&
             now - client->renewed.load() < int64_t{options_.courtesy_seconds} * 1'000'000'000;
    }
    if (keep && !pressed) {
      courtesy.push_back(client);
    } else {
      ReleaseClient(client, true, nfsstat4::NFS4ERR_EXPIRED, &forget);
    }
  }
  if (courtesy.size() > options_.max_courtesy_clients) {
    std::sort(courtesy.begin(), courtesy.end(),
              [](const auto& x, const auto& y) { return x->renewed.load() < y->renewed.load(); });
    size_t extra = courtesy.size() - options_.max_courtesy_clients;
    for (size_t i = 0; i < extra; ++i) {
      ReleaseClient(courtesy[i], true, nfsstat4::NFS4ERR_EXPIRED, &forget);
    }
  }
  grace_.ForgetMany(forget);
}

void Nfs4Service::Tick(int64_t now_nanos) {
  grace_.Tick(now_nanos);
  ExpireIdleClients(now_nanos, false);
  // Delegations whose recall went unanswered were revoked by their share's LeaseTable: the
  // client hears it at its next SEQUENCE (RFC 8881 §18.46.3, RECALLABLE_STATE_REVOKED).
  for (auto& client : state_.Clients()) RefreshRevoked(*client);
}

void Nfs4Service::RefreshRevoked(Nfs4Client& client) {
  std::vector<uint64_t> keys;
  {
    MutexLock lock(&client.mu);
    keys.assign(client.delegations.begin(), client.delegations.end());
  }
  bool revoked = false;
  for (uint64_t key : keys) {
    std::optional<Nfs4StateRecord> rec = state_.GetState(key);
    if (rec && DelegationRevoked(*rec)) revoked = true;
  }
  MutexLock lock(&client.mu);
  client.revoked_state = revoked;
}

bool Nfs4Service::ExpireCourtesyHolders(const Nfs4File& file) {
  const int64_t now = MonotonicNanos();
  bool released = false;
  std::vector<std::string> forget;  // their durable records, forgotten in one write
  for (auto& client : state_.Clients()) {
    if (!Expired(*client, now, lease_seconds())) continue;
    std::vector<uint64_t> keys;
    {
      MutexLock lock(&client->mu);
      keys.assign(client->states.begin(), client->states.end());
    }
    bool holds = false;
    for (uint64_t key : keys) {
      std::optional<Nfs4StateRecord> rec = state_.GetState(key);
      if (rec && rec->file == file) {
        holds = true;
        break;
      }
    }
    if (holds) {
      LOG_INFO(
          "nfs4: client {} ({}) let its lease expire and holds state another needs: "
          "released",
          client->id, client->address);
      ReleaseClient(client, true, nfsstat4::NFS4ERR_EXPIRED, &forget);
      released = true;
    }
  }
  grace_.ForgetMany(forget);
  return released;
}

void Nfs4Service::AddReleaser(core::ShareState& st, core::ShareId share) {
  std::shared_ptr<const core::ShareState::Releaser> releaser;
  {
    MutexLock lock(&releasers_mu_);
    auto& slot = releasers_[share];
    if (!slot) {
      slot = std::make_shared<const core::ShareState::Releaser>([this, share](uint64_t inode) {
        Nfs4File file;
        file.share = share;
        file.file.inode = inode;
        return ExpireCourtesyHolders(file);
      });
    }
    releaser = slot;
  }
  st.AddReleaser(releaser);
}

std::vector<Nfs4ClientInfo> Nfs4Service::Clients() {
  const int64_t now = MonotonicNanos();
  std::vector<Nfs4ClientInfo> out;
  for (auto& client : state_.Clients()) {
    Nfs4ClientInfo info;
    info.id = client->id;
    info.minor = client->minor;
    info.owner = log::EscapeControls(client->owner);
    info.address = client->address;
    info.expired = Expired(*client, now, lease_seconds());
    const int64_t left = client->renewed.load() + int64_t{lease_seconds()} * 1'000'000'000 - now;
    info.lease_left_s = left > 0 ? static_cast<uint32_t>(left / 1'000'000'000) : 0;
    std::vector<uint64_t> keys;
    {
      MutexLock lock(&client->mu);
      info.confirmed = client->confirmed;
      info.sessions = client->sessions.size();
      keys.assign(client->states.begin(), client->states.end());
    }
    for (uint64_t key : keys) {
      std::optional<Nfs4StateRecord> rec = state_.GetState(key);
      if (!rec) continue;
      Nfs4ClientInfo::State st;
      st.kind = rec->kind == Nfs4StateKind::kOpen   ? "open"
                : rec->kind == Nfs4StateKind::kLock ? "lock"
                : rec->write_deleg                  ? "write delegation"
                                                    : "read delegation";
      st.share = rec->file.share;
      st.file = rec->file.file.inode;
      st.share_access = rec->share_access;
      st.share_deny = rec->share_deny;
      info.states.push_back(std::move(st));
    }
    out.push_back(std::move(info));
  }
  return out;
}

Status Nfs4Service::Evict(clientid4 id) {
  std::shared_ptr<Nfs4Client> client = state_.FindClient(id);
  if (!client) return Status(Errc::kNotFound, "no such NFSv4 client");
  LOG_INFO("nfs4: client {} ({}) evicted by the administrator", client->id, client->address);
  ReleaseClient(client, true, nfsstat4::NFS4ERR_ADMIN_REVOKED);
  return Status::Ok();
}

}  // namespace dittofs::nfs

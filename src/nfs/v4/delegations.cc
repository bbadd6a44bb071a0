// SPDX-License-Identifier: Apache-2.0
// NFSv4 delegations (RFC 8881 §10.2-§10.4): read and write delegations as caching grants in
// the share's LeaseTable, so that an SMB open, an NFSv3 write or another NFSv4 client's OPEN
// recalls them; and the callback path that carries CB_RECALL: the 4.1 backchannel (the
// client's own connection), or for 4.0 a connection to the callback address SETCLIENTID gave,
// used only once it answered CB_NULL.
#include <charconv>

#include "base/clock.h"
#include "base/log.h"
#include "nfs/v4/compound.h"
#include "nfs/v4/errors.h"
#include "rpc/rpc_client.h"

namespace dittofs::nfs {

namespace {

constexpr auto kCallbackTimeout = std::chrono::seconds(15);

// "h1.h2.h3.h4.p1.p2" (tcp) or "x:y::z.p1.p2" (tcp6): RFC 5665 §5.2.3.
bool ParseUniversalAddress(const std::string& uaddr, std::string* host, uint16_t* port) {
  size_t last = uaddr.rfind('.');
  if (last == std::string::npos || last == 0) return false;
  size_t prev = uaddr.rfind('.', last - 1);
  if (prev == std::string::npos) return false;
  unsigned hi = 0, lo = 0;
  auto p1 = std::from_chars(uaddr.data() + prev + 1, uaddr.data() + last, hi);
  auto p2 = std::from_chars(uaddr.data() + last + 1, uaddr.data() + uaddr.size(), lo);
  if (p1.ec != std::errc() || p2.ec != std::errc() || hi > 255 || lo > 255) return false;
  *host = uaddr.substr(0, prev);
  *port = static_cast<uint16_t>(hi << 8 | lo);
  return !host->empty() && *port != 0;
}

}  // namespace

void Nfs4Service::ProbeCallback40(const std::shared_ptr<Nfs4Client>& client) {
  if (!delegations_.load()) return;
  std::string host;
  uint16_t port = 0;
  uint32_t program;
  {
    MutexLock lock(&client->mu);
    program = client->cb_program;
    client->cb_ok = false;
    client->cb_client.reset();
    if (!ParseUniversalAddress(client->callback.addr, &host, &port)) return;
  }
  // Only the address the client calls from: a callback address elsewhere would make this
  // server connect wherever a client says.
  if (host != client->address) return;
  rpc::RpcClientOptions o;
  o.host = host;
  o.port = port;
  o.connect_timeout = std::chrono::seconds(5);
  o.max_pending = 64;
  std::shared_ptr<rpc::RpcClient> cb = rpc::RpcClient::Create(o, callback_io_.get());
  {
    MutexLock lock(&client->mu);
    client->cb_client = cb;
  }
  rpc::OutgoingCall call;
  call.prog = program;
  call.vers = NFS4_CALLBACK_VERSION;
  call.proc = CB_NULL;
  call.timeout = std::chrono::seconds(10);
  std::weak_ptr<Nfs4Client> weak = client;
  cb->Call(call, xdr::XdrEncoder(), [weak, cb](Result<rpc::Reply> reply) {
    std::shared_ptr<Nfs4Client> c = weak.lock();
    if (!c) return;
    MutexLock lock(&c->mu);
    if (c->cb_client == cb) c->cb_ok = reply.ok();
  });
}

bool Nfs4Service::CallbackUsable(Nfs4Client& client, bool for_delegations) {
  if (for_delegations && !delegations_.load()) return false;
  if (client.minor == 0) {
    MutexLock lock(&client.mu);
    return client.cb_ok && client.cb_client != nullptr;
  }
  std::vector<uint64_t> keys;
  {
    MutexLock lock(&client.mu);
    keys.assign(client.sessions.begin(), client.sessions.end());
  }
  for (uint64_t key : keys) {
    std::shared_ptr<Nfs4Session> s = state_.FindSession(key);
    if (!s) continue;
    MutexLock lock(&s->mu);
    if (s->cb_down || s->cb_program == 0) continue;
    for (auto& weak : s->back_channels) {
      if (!weak.expired()) return true;
    }
  }
  return false;
}

void Nfs4Service::SendCallback(const std::shared_ptr<Nfs4Client>& client,
                               std::vector<nfs_cb_argop4> ops, std::function<void(bool ok)> done) {
  if (client->minor == 0) {
    std::shared_ptr<rpc::Channel> cb;
    CB_COMPOUND4args args;
    uint32_t program;
    {
      MutexLock lock(&client->mu);
      cb = client->cb_client;
      args.callback_ident = client->cb_ident;
      program = client->cb_program;
    }
    if (!cb) {
      done(false);
      return;
    }
    args.minorversion = 0;
    args.ops = std::move(ops);
    xdr::XdrEncoder e;
    Encode(e, args);
    rpc::OutgoingCall call;
    call.prog = program;
    call.vers = NFS4_CALLBACK_VERSION;
    call.proc = CB_COMPOUND;
    call.timeout = kCallbackTimeout;
    cb->Call(call, std::move(e), [done](Result<rpc::Reply> reply) {
      bool ok = false;
      if (reply.ok()) {
        xdr::XdrDecoder d(reply->results);
        CB_COMPOUND4res res;
        ok = Decode(d, &res) && res.status == nfsstat4::NFS4_OK;
      }
      done(ok);
    });
    return;
  }
  // 4.1: over a connection bound to one of the client's sessions, one call at a time.
  std::shared_ptr<Nfs4Session> session;
  {
    std::vector<uint64_t> keys;
    {
      MutexLock lock(&client->mu);
      keys.assign(client->sessions.begin(), client->sessions.end());
    }
    for (uint64_t key : keys) {
      std::shared_ptr<Nfs4Session> s = state_.FindSession(key);
      if (!s) continue;
      MutexLock lock(&s->mu);
      if (s->cb_program != 0 && !s->back_channels.empty()) {
        session = s;
        break;
      }
    }
  }
  if (!session) {
    done(false);
    return;
  }
  auto send = std::make_shared<std::function<void()>>();
  std::weak_ptr<Nfs4Session> weak_session = session;
  *send = [this, weak_session, ops = std::move(ops), done]() {
    std::shared_ptr<Nfs4Session> s = weak_session.lock();
    if (!s) {
      done(false);
      return;
    }
    std::shared_ptr<rpc::Channel> channel;
    CB_COMPOUND4args args;
    rpc::OutgoingCall call;
    {
      MutexLock lock(&s->mu);
      for (auto it = s->back_channels.begin(); it != s->back_channels.end();) {
        channel = it->lock();
        if (channel) break;
        it = s->back_channels.erase(it);
      }
      if (channel) {
        CB_SEQUENCE4args seq;
        seq.sessionid = s->id;
        seq.sequenceid = ++s->cb_seqid;
        seq.slotid = 0;
        seq.highest_slotid = 0;
        nfs_cb_argop4 first;
        first.op = OP_CB_SEQUENCE;
        first.args = seq;
        args.ops.push_back(first);
        call.prog = s->cb_program;
        if (s->cb_security.flavor == 1) {
          call.cred.flavor = rpc::AuthFlavor::kSys;
          call.cred.uid = s->cb_security.uid;
          call.cred.gid = s->cb_security.gid;
          call.cred.machine_name = "dittofs";
        }
        call.security = s->cb_security.gss;
      }
    }
    if (!channel) {
      FinishCallback(s, false, done);
      return;
    }
    // CB_OFFLOAD exists in 4.2 only (RFC 7862 §16): a 4.1 CB_COMPOUND holding it is illegal.
    args.minorversion = 1;
    for (const auto& op : ops) {
      if (op.op == OP_CB_OFFLOAD) args.minorversion = 2;
      args.ops.push_back(op);
    }
    xdr::XdrEncoder e;
    Encode(e, args);
    call.vers = NFS4_CALLBACK_VERSION;
    call.proc = CB_COMPOUND;
    call.timeout = kCallbackTimeout;
    channel->Call(call, std::move(e), [this, s, done](Result<rpc::Reply> reply) {
      bool ok = false;
      if (reply.ok()) {
        xdr::XdrDecoder d(reply->results);
        CB_COMPOUND4res res;
        ok = Decode(d, &res) && res.status == nfsstat4::NFS4_OK;
      }
      FinishCallback(s, reply.ok(), [done, ok](bool) { done(ok); });
    });
  };
  {
    MutexLock lock(&session->mu);
    if (session->cb_busy) {
      session->cb_queue.push_back(*send);
      return;
    }
    session->cb_busy = true;
  }
  (*send)();
}

void Nfs4Service::FinishCallback(const std::shared_ptr<Nfs4Session>& s, bool reached,
                                 const std::function<void(bool)>& done) {
  std::function<void()> next;
  {
    MutexLock lock(&s->mu);
    if (!reached) s->cb_down = true;
    if (s->cb_queue.empty()) {
      s->cb_busy = false;
    } else {
      next = std::move(s->cb_queue.front());
      s->cb_queue.erase(s->cb_queue.begin());
    }
  }
  done(reached);
  if (next) next();
}

void Nfs4Service::MaybeDelegate(Ctx& c, const std::shared_ptr<Nfs4Client>& client, core::Vfs& vfs,
                                const Nfs4File& file, core::OpenTable::OpenId open, uint32_t access,
                                OPEN4res* r) {
  if (!CallbackUsable(*client)) return;
  core::ShareState& st = vfs.state();
  // One delegation per client and file.
  {
    MutexLock lock(&client->mu);
    for (uint64_t key : client->states) {
      std::optional<Nfs4StateRecord> rec = state_.GetState(key);
      if (rec && rec->kind == Nfs4StateKind::kDelegation && rec->file == file) return;
    }
  }
  // A write delegation only when this is the file's one open (nobody else could see the
  // cached writes), else a read delegation for a reading open.
  const bool write = (access & OPEN4_SHARE_ACCESS_WRITE) != 0;
  if (write && st.opens.open_count(file.file.inode) != 1) return;
  // A read delegation only while nobody else has the file open for writing (their writes
  // would not reach the client's cache): an open that denied writing would be refused.
  if (!write && !st.opens
                     .CheckAccess(file.file.inode, core::kReadData, open,
                                  core::kShareRead | core::kShareDelete)
                     .ok()) {
    return;
  }
  // Nor while the file has byte-range locks: a client with a delegation locks locally (Linux
  // does), where NLM, SMB and other NFSv4 clients would not see its locks.
  if (!st.locks.Locks(file.file.inode).empty()) return;
  const uint8_t wanted = write ? (core::kCacheRead | core::kCacheWrite) : core::kCacheRead;
  Result<core::LeaseTable::Granted> g =
      st.leases.Request(file.file.inode, client->holder, core::GrantKind::kDelegation, wanted,
                        [this](core::LeaseTable::GrantId id, uint8_t, uint16_t) { Recall(id); });
  if (!g.ok()) return;
  if (g->state != wanted) {
    if (g->id != 0) st.leases.Release(g->id);
    return;
  }
  Nfs4StateRecord rec;
  rec.kind = Nfs4StateKind::kDelegation;
  rec.client = client;
  rec.file = file;
  rec.grant = g->id;
  rec.write_deleg = write;
  uint64_t key;
  {
    MutexLock lock(&client->mu);
    if (client->dead) {
      st.leases.Release(g->id);
      return;
    }
    key = state_.KeyOf(state_.AddState(std::move(rec)));
    client->states.insert(key);
    client->delegations.insert(key);
  }
  state_.AddDelegation(g->id, key);
  r->delegation.delegation_type = write ? open_delegation_type4::OPEN_DELEGATE_WRITE
                                        : open_delegation_type4::OPEN_DELEGATE_READ;
  r->delegation.stateid = state_.StateidOf(key, 1);
  r->delegation.recall = false;
  r->delegation.permissions.type = ACE4_ACCESS_ALLOWED_ACE_TYPE;
  r->delegation.permissions.who = "EVERYONE@";
  r->delegation.permissions.access_mask = 0;  // the client asks ACCESS before using it
  r->delegation.space_limit_filesize = UINT64_MAX;
  (void)c;
}

void Nfs4Service::Recall(uint64_t grant) {
  const uint64_t key = state_.DelegationOf(grant);
  if (key == 0) return;
  std::optional<Nfs4StateRecord> rec = state_.GetState(key);
  if (!rec) return;
  CB_RECALL4args recall;
  recall.stateid = state_.StateidOf(key, rec->seqid);
  recall.truncate = false;
  FileHandleCodec::Handle fh = handles_.Encode(rec->file.share, rec->file.file);
  recall.fh = nfs_fh4_owned::CopyFrom(ByteView(fh.data(), fh.size()));
  nfs_cb_argop4 op;
  op.op = OP_CB_RECALL;
  op.args = recall;
  LOG_INFO("nfs4: recalling client {}'s {} delegation of file {}", rec->client->id,
           rec->write_deleg ? "write" : "read", rec->file.file.inode);
  std::weak_ptr<Nfs4Client> weak = rec->client;
  SendCallback(rec->client, {op}, [weak, key](bool ok) {
    if (ok) return;
    // The recall did not reach the client: the grant is revoked at the break's deadline, and
    // the client is told (RECALLABLE_STATE_REVOKED) at its next SEQUENCE.
    if (auto c = weak.lock()) {
      LOG_WARN("nfs4: CB_RECALL to client {} failed; its delegation will be revoked", c->id);
    }
    (void)key;
  });
}

nfsstat4 Nfs4Service::DelegReturn(Ctx& c, const DELEGRETURN4args& a) {
  if (c.current.none()) return nfsstat4::NFS4ERR_NOFILEHANDLE;
  std::optional<Nfs4StateRecord> rec;
  uint64_t key = 0;
  nfsstat4 s = CheckStateid(c, a.deleg_stateid, &rec, &key);
  if (s != nfsstat4::NFS4_OK) return s;
  if (!rec || rec->kind != Nfs4StateKind::kDelegation) return nfsstat4::NFS4ERR_BAD_STATEID;
  if (!(rec->file == c.current.as_file())) return nfsstat4::NFS4ERR_BAD_STATEID;
  const bool revoked = DelegationRevoked(*rec);
  DropState(key, *rec);
  {
    MutexLock lock(&rec->client->mu);
    rec->client->states.erase(key);
  }
  return revoked && c.minor >= 1 ? nfsstat4::NFS4ERR_DELEG_REVOKED : nfsstat4::NFS4_OK;
}

bool Nfs4Service::DelegationRevoked(const Nfs4StateRecord& rec) {
  Result<core::ShareUse> use = shares_.Use(rec.file.share);
  if (!use.ok()) return true;
  std::optional<core::LeaseTable::GrantInfo> g = use->vfs().state().leases.Get(rec.grant);
  return !g || g->state == 0;
}

}  // namespace dittofs::nfs

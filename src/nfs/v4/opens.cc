// SPDX-License-Identifier: Apache-2.0
// NFSv4 opens, share reservations and byte-range locks (RFC 8881 §9, §18.10-§18.18; RFC 7530
// §9 for 4.0's seqids), kept in the shares' runtime tables so that SMB and NLM see them.
#include <algorithm>

#include "base/clock.h"
#include "base/random.h"
#include "nfs/v4/attrs.h"
#include "nfs/v4/compound.h"
#include "nfs/v4/errors.h"

namespace dittofs::nfs {

namespace {

constexpr uint64_t kToEnd = UINT64_MAX;

// OPEN4_SHARE_ACCESS_* → the runtime's access bits.
uint32_t RuntimeAccess(uint32_t share_access) {
  uint32_t a = 0;
  if (share_access & OPEN4_SHARE_ACCESS_READ) a |= core::kReadData;
  if (share_access & OPEN4_SHARE_ACCESS_WRITE) a |= core::kWriteData | core::kAppendData;
  return a;
}

// OPEN4_SHARE_DENY_* → what the open lets others do. NFSv4 has no "deny delete": removing
// an open file's name is always allowed (POSIX).
uint32_t RuntimeShare(uint32_t share_deny) {
  uint32_t s = core::kShareDelete;
  if ((share_deny & OPEN4_SHARE_DENY_READ) == 0) s |= core::kShareRead;
  if ((share_deny & OPEN4_SHARE_DENY_WRITE) == 0) s |= core::kShareWrite;
  return s;
}

// RFC 7530 §9.1.7: which results move an owner's seqid on (all but these).
bool AdvancesSeqid(nfsstat4 s) {
  switch (s) {
    case nfsstat4::NFS4ERR_STALE_CLIENTID:
    case nfsstat4::NFS4ERR_STALE_STATEID:
    case nfsstat4::NFS4ERR_BAD_STATEID:
    case nfsstat4::NFS4ERR_BAD_SEQID:
    case nfsstat4::NFS4ERR_BADXDR:
    case nfsstat4::NFS4ERR_RESOURCE:
    case nfsstat4::NFS4ERR_NOFILEHANDLE:
    case nfsstat4::NFS4ERR_MOVED:
      return false;
    default:
      return true;
  }
}

enum class SeqCheck { kNew, kReplay, kBad };

// 4.0's seqid rule for one owner's request (RFC 7530 §9.1.7).
SeqCheck CheckSeqid(Nfs4Owner& o, seqid4 seqid, uint32_t op) EXCLUSIVE_LOCKS_REQUIRED(o.mu) {
  if (!o.has_seqid) return SeqCheck::kNew;
  if (seqid == o.seqid + 1) return SeqCheck::kNew;
  if (seqid == o.seqid && o.last_reply && o.last_reply->op == op) return SeqCheck::kReplay;
  return SeqCheck::kBad;
}

// 4.0: whether the request must be answered at once, with `*r` set: the owner's last reply
// (a retransmission) or NFS4ERR_BAD_SEQID. REQUIRES: o.mu held.
template <typename Res>
bool SeqidGate(Nfs4Owner& o, seqid4 seqid, uint32_t op, Res* r) EXCLUSIVE_LOCKS_REQUIRED(o.mu) {
  switch (CheckSeqid(o, seqid, op)) {
    case SeqCheck::kReplay:
      *r = std::get<Res>(o.last_reply->res);
      return true;
    case SeqCheck::kBad:
      r->status = nfsstat4::NFS4ERR_BAD_SEQID;
      return true;
    case SeqCheck::kNew:
      return false;
  }
  return false;
}

void RecordSeqid(Nfs4Owner& o, seqid4 seqid, const nfs_resop4& reply)
    EXCLUSIVE_LOCKS_REQUIRED(o.mu) {
  if (!AdvancesSeqid(reply.status())) return;
  o.has_seqid = true;
  o.seqid = seqid;
  o.last_reply = reply;
}

// 4.0: a CLOSE, OPEN_DOWNGRADE or LOCKU naming an older stateid of a known owner is answered
// NFS4ERR_OLD_STATEID, and that answer moves the owner's seqid on like any other (RFC 7530
// §9.1.7), or is itself replayed. `*r` holds CheckStateid's status and keeps it otherwise.
template <typename Res>
void OldStateidOfOwner(uint32_t minor, const std::optional<Nfs4StateRecord>& rec, seqid4 seqid,
                       uint32_t op, Res* r) {
  if (minor != 0 || r->status != nfsstat4::NFS4ERR_OLD_STATEID || !rec || !rec->owner) return;
  Nfs4Owner& owner = *rec->owner;
  MutexLock lock(&owner.mu);
  if (SeqidGate(owner, seqid, op, r)) return;
  nfs_resop4 reply;
  reply.op = op;
  reply.res = *r;
  RecordSeqid(owner, seqid, reply);
}

// NFS4ERR_INVAL for a range that is empty or passes 2^64 - 1 (RFC 8881 §18.10.3).
nfsstat4 CheckRange(uint64_t offset, uint64_t length) {
  if (length == 0) return nfsstat4::NFS4ERR_INVAL;
  if (length != kToEnd && offset > kToEnd - length) return nfsstat4::NFS4ERR_INVAL;
  return nfsstat4::NFS4_OK;
}

// The LockTable's length: 0 is "to the end of any file".
uint64_t TableLength(uint64_t length) { return length == kToEnd ? 0 : length; }

bool Exclusive(nfs_lock_type4 t) {
  return t == nfs_lock_type4::WRITE_LT || t == nfs_lock_type4::WRITEW_LT;
}

}  // namespace

std::shared_ptr<Nfs4Client> NewClient(Nfs4State& state, uint32_t minor, ByteView owner,
                                      const verifier4& verifier, uint32_t principal,
                                      const std::string& address);

// The owner `name` of `client` (created when `create`); null when the client is dead, or has
// too many owners (`*status` says which).
static std::shared_ptr<Nfs4Owner> OwnerOf(Nfs4State& state, Nfs4Client& client,
                                          std::string_view name, bool lock_owner, size_t limit,
                                          nfsstat4* status) {
  MutexLock lock(&client.mu);
  if (client.dead) {
    *status = client.minor == 0 ? nfsstat4::NFS4ERR_EXPIRED : nfsstat4::NFS4ERR_BADSESSION;
    return nullptr;
  }
  auto& owners = lock_owner ? client.lock_owners : client.open_owners;
  auto it = owners.find(name);
  if (it != owners.end()) return it->second;
  if (client.open_owners.size() + client.lock_owners.size() >= limit) {
    *status = nfsstat4::NFS4ERR_RESOURCE;
    return nullptr;
  }
  auto o = std::make_shared<Nfs4Owner>();
  o->name.assign(name);
  o->lock_owner = lock_owner;
  if (lock_owner) {
    o->runtime_id = RandomU64() | 1;
    state.AddLockOwner(o->runtime_id, client.id, o->name);
  }
  owners.emplace(o->name, o);
  return o;
}

nfsstat4 Nfs4Service::CheckStateid(Ctx& c, const stateid4& in, std::optional<Nfs4StateRecord>* out,
                                   uint64_t* key_out) {
  stateid4 id;
  nfsstat4 s = ResolveStateid(c, in, &id);
  if (s != nfsstat4::NFS4_OK) return s;
  out->reset();
  if (IsAnonymousStateid(id) || IsBypassStateid(id)) return nfsstat4::NFS4_OK;
  bool stale = false;
  std::optional<Nfs4StateRecord> rec = state_.GetState(id, &stale);
  if (stale) return nfsstat4::NFS4ERR_STALE_STATEID;
  if (!rec) {
    if (c.minor == 0) {
      if (auto retired = state_.RetiredState(state_.KeyOf(id))) return retired->status;
    }
    return nfsstat4::NFS4ERR_BAD_STATEID;
  }
  if (c.minor >= 1 && (!c.session || rec->client != c.session->client)) {
    return nfsstat4::NFS4ERR_BAD_STATEID;  // another client's stateid
  }
  if (rec->revoked) return nfsstat4::NFS4ERR_ADMIN_REVOKED;
  if (rec->kind == Nfs4StateKind::kDelegation && DelegationRevoked(*rec)) {
    return c.minor >= 1 ? nfsstat4::NFS4ERR_DELEG_REVOKED : nfsstat4::NFS4ERR_EXPIRED;
  }
  // RFC 8881 §8.2.2: seqid 0 (4.1) means "the current one".
  if (!(c.minor >= 1 && id.seqid == 0)) {
    if (id.seqid > rec->seqid) return nfsstat4::NFS4ERR_BAD_STATEID;
    if (id.seqid < rec->seqid) {
      *out = std::move(rec);  // 4.0's seqid rules still apply to its owner
      return nfsstat4::NFS4ERR_OLD_STATEID;
    }
  }
  rec->client->renewed.store(MonotonicNanos());
  if (key_out != nullptr) *key_out = state_.KeyOf(id);
  *out = std::move(rec);
  return nfsstat4::NFS4_OK;
}

nfsstat4 Nfs4Service::StateForIo(Ctx& c, const stateid4& id, bool write, core::OpenContext* via,
                                 const core::OpenContext** through, const Nfs4Fh* fh) {
  if (fh == nullptr) fh = &c.current;
  std::optional<Nfs4StateRecord> rec;
  stateid4 resolved;
  nfsstat4 s = ResolveStateid(c, id, &resolved);
  if (s != nfsstat4::NFS4_OK) return s;
  s = CheckStateid(c, resolved, &rec);
  if (s != nfsstat4::NFS4_OK) return s;
  *through = nullptr;
  if (!rec) return nfsstat4::NFS4_OK;  // anonymous: an operation of its own, as NFSv3's
  if (!(rec->file == fh->as_file())) return nfsstat4::NFS4ERR_BAD_STATEID;
  via->holder = rec->client->holder;
  uint32_t access = rec->share_access;
  if (rec->kind == Nfs4StateKind::kLock) {
    via->lock_owner = core::LockOwner{rec->owner->runtime_id, core::LockFlavor::kPosix};
    std::optional<Nfs4StateRecord> open = state_.GetState(rec->parent);
    if (!open) return nfsstat4::NFS4ERR_BAD_STATEID;
    via->open = open->open;
    access = open->share_access;
  } else if (rec->kind == Nfs4StateKind::kOpen) {
    via->open = rec->open;
  } else {
    // I/O under a delegation: as the client's own, which its grant does not stand in the way of.
    access = rec->write_deleg ? OPEN4_SHARE_ACCESS_BOTH : OPEN4_SHARE_ACCESS_READ;
  }
  if (write && (access & OPEN4_SHARE_ACCESS_WRITE) == 0) return nfsstat4::NFS4ERR_OPENMODE;
  *through = via;
  return nfsstat4::NFS4_OK;
}

OPEN4res Nfs4Service::Open(Ctx& c, const OPEN4args& a) {
  OPEN4res r;
  if (c.current.none()) {
    r.status = nfsstat4::NFS4ERR_NOFILEHANDLE;
    return r;
  }
  const uint32_t access = a.share_access & OPEN4_SHARE_ACCESS_BOTH;
  const uint32_t allowed_bits = c.minor == 0
                                    ? OPEN4_SHARE_ACCESS_BOTH
                                    : OPEN4_SHARE_ACCESS_BOTH | OPEN4_SHARE_ACCESS_WANT_DELEG_MASK |
                                          OPEN4_SHARE_ACCESS_WANT_SIGNAL_DELEG_WHEN_RESRC_AVAIL |
                                          OPEN4_SHARE_ACCESS_WANT_PUSH_DELEG_WHEN_UNCONTENDED;
  if (access == 0 || (a.share_access & ~allowed_bits) != 0 || a.share_deny > 3) {
    r.status = nfsstat4::NFS4ERR_INVAL;
    return r;
  }
  std::shared_ptr<Nfs4Client> client;
  r.status = ClientFor(c, a.owner.clientid, &client);
  if (r.status != nfsstat4::NFS4_OK) return r;
  std::shared_ptr<Nfs4Owner> owner = OwnerOf(state_, *client, AsChars(a.owner.bytes()), false,
                                             options_.max_owners_per_client, &r.status);
  if (!owner) return r;
  MutexLock owner_lock(&owner->mu);
  if (c.minor == 0) {
    if (SeqidGate(*owner, a.seqid, OP_OPEN, &r)) return r;
  }
  r = OpenLocked(c, a, client, owner);
  if (c.minor == 0) {
    nfs_resop4 reply;
    reply.op = OP_OPEN;
    reply.res = r;
    RecordSeqid(*owner, a.seqid, reply);
  }
  return r;
}

OPEN4res Nfs4Service::OpenLocked(Ctx& c, const OPEN4args& a,
                                 const std::shared_ptr<Nfs4Client>& client,
                                 const std::shared_ptr<Nfs4Owner>& owner_ptr) {
  Nfs4Owner& owner = *owner_ptr;
  OPEN4res r;
  const uint32_t access = a.share_access & OPEN4_SHARE_ACCESS_BOTH;
  const bool create = a.opentype == opentype4::OPEN4_CREATE;
  Nfs4Fh dir = c.current;
  Nfs4Fh target = c.current;
  core::Attr attr;
  switch (a.claim) {
    case open_claim_type4::CLAIM_NULL:
      break;
    case open_claim_type4::CLAIM_FH:
      if (c.minor == 0) {
        r.status = nfsstat4::NFS4ERR_BADXDR;  // no such arm in 4.0 (RFC 7531)
        return r;
      }
      if (create) {
        r.status = nfsstat4::NFS4ERR_INVAL;
        return r;
      }
      break;
    case open_claim_type4::CLAIM_PREVIOUS:
      // A reclaim after a restart (RFC 8881 §9.11): the current file is the one the client had
      // open; only during the grace period, and only for a client of the last run.
      r.status = ReclaimAllowed(*client);
      if (r.status != nfsstat4::NFS4_OK) return r;
      break;
    case open_claim_type4::CLAIM_DELEGATE_CUR:
    case open_claim_type4::CLAIM_DELEG_CUR_FH: {
      if (c.minor == 0 && a.claim == open_claim_type4::CLAIM_DELEG_CUR_FH) {
        r.status = nfsstat4::NFS4ERR_BADXDR;
        return r;
      }
      if (create) {
        r.status = nfsstat4::NFS4ERR_INVAL;
        return r;
      }
      // An open under the client's delegation (RFC 8881 §10.4.3): the delegation must be the
      // client's, and of the file.
      std::optional<Nfs4StateRecord> deleg;
      r.status = CheckStateid(c, a.delegate_stateid, &deleg);
      if (r.status != nfsstat4::NFS4_OK) return r;
      if (!deleg || deleg->kind != Nfs4StateKind::kDelegation || deleg->client != client) {
        r.status = nfsstat4::NFS4ERR_BAD_STATEID;
        return r;
      }
      break;
    }
    case open_claim_type4::CLAIM_DELEGATE_PREV:
    case open_claim_type4::CLAIM_DELEG_PREV_FH:
      if (c.minor == 0 && a.claim == open_claim_type4::CLAIM_DELEG_PREV_FH) {
        r.status = nfsstat4::NFS4ERR_BADXDR;
        return r;
      }
      // Delegations do not survive a client restart here (RFC 8881 §18.16.3 lets a server
      // refuse these claims).
      r.status = nfsstat4::NFS4ERR_NOTSUPP;
      return r;
  }
  // No new state while the last run's clients reclaim theirs (RFC 8881 §8.4.2.1), nor for a
  // 4.1 client before its RECLAIM_COMPLETE (§18.51.3: it MUST come before the first
  // non-reclaim operation that obtains a lock).
  if (a.claim != open_claim_type4::CLAIM_PREVIOUS) {
    bool reclaiming = false;
    if (c.minor >= 1) {
      MutexLock lock(&client->mu);
      reclaiming = !client->reclaim_complete;
    }
    if (reclaiming || grace_.in_grace()) {
      r.status = nfsstat4::NFS4ERR_GRACE;
      return r;
    }
  }
  if (c.minor == 0 && create && a.mode == createmode4::EXCLUSIVE4_1) {
    r.status = nfsstat4::NFS4ERR_BADXDR;
    return r;
  }

  const bool by_name =
      a.claim == open_claim_type4::CLAIM_NULL || a.claim == open_claim_type4::CLAIM_DELEGATE_CUR;
  if (by_name) {
    if (c.current.is_pseudo()) {
      const PseudoFs& fs = c.Pseudo(shares_);
      const PseudoFs::Node* n = fs.Find(c.current.pseudo);
      const PseudoFs::Entry* e = n != nullptr ? fs.Lookup(*n, a.file) : nullptr;
      r.status = e != nullptr ? nfsstat4::NFS4ERR_ISDIR
                 : create     ? nfsstat4::NFS4ERR_ROFS
                              : nfsstat4::NFS4ERR_NOENT;
      return r;
    }
    if (a.file.empty()) {
      r.status = nfsstat4::NFS4ERR_INVAL;
      return r;
    }
    if (a.file == "." || a.file == "..") {
      r.status = nfsstat4::NFS4ERR_BADNAME;
      return r;
    }
  } else if (c.current.is_pseudo()) {
    r.status = nfsstat4::NFS4ERR_ISDIR;
    return r;
  }

  Result<core::ShareUse> use = UseShare(shares_, c.current);
  if (!use.ok()) {
    r.status = ToNfs4(use.status());
    return r;
  }
  core::Vfs& vfs = use->vfs();
  bool created = false;  // this OPEN made the file: it gets the access it asks for
  if (!by_name) {
    Result<core::Attr> got = vfs.GetAttr(c.caller, c.current.file);
    if (!got.ok()) {
      r.status = ToNfs4(got.status());
      return r;
    }
    attr = *got;
  } else if (create) {
    core::SetAttrs attrs;
    std::optional<core::Acl> acl;
    if (a.mode != createmode4::EXCLUSIVE4) {
      r.status = ToSetAttrs(c, a.createattrs, nullptr, &attrs, &r.attrset, &acl);
      if (r.status != nfsstat4::NFS4_OK) return r;
    }
    core::CreateMode how = a.mode == createmode4::UNCHECKED4 ? core::CreateMode::kUnchecked
                           : a.mode == createmode4::GUARDED4 ? core::CreateMode::kGuarded
                                                             : core::CreateMode::kExclusive;
    core::Wcc wcc;
    Result<core::Attr> made = vfs.Create(c.caller, c.current.file, a.file, how, attrs,
                                         LoadBe64(a.createverf.data()), &wcc);
    if (!made.ok()) {
      r.attrset = {};
      r.status =
          made.status().code() == Errc::kLocked ? nfsstat4::NFS4ERR_DELAY : ToNfs4(made.status());
      return r;
    }
    attr = *made;
    created = wcc.change.has_value();
    if (wcc.change && acl) {
      // A new file takes the ACL asked for in place of what it inherited (RFC 8881 §6.4.3).
      Status set = vfs.SetAcl(c.caller, made->id, *acl);
      if (!set.ok()) r.attrset.words.clear();
    }
    if (wcc.change) {
      r.cinfo = {wcc.change->atomic, wcc.change->before, wcc.change->after};
    } else {
      // The file was there already (UNCHECKED4, or an EXCLUSIVE retransmission).
      Result<core::Attr> d = vfs.GetAttr(c.caller, c.current.file);
      if (d.ok()) r.cinfo = {true, d->change, d->change};
    }
  } else {
    std::optional<core::Attr> dir_attr;
    Result<core::Attr> found = vfs.Lookup(c.caller, c.current.file, a.file, &dir_attr);
    if (!found.ok()) {
      r.status = ToNfs4(found.status());
      return r;
    }
    attr = *found;
    if (dir_attr) r.cinfo = {true, dir_attr->change, dir_attr->change};
  }
  switch (attr.type) {
    case core::FileType::kRegular:
      break;
    case core::FileType::kDirectory:
      r.status = nfsstat4::NFS4ERR_ISDIR;
      return r;
    case core::FileType::kSymlink:
      r.status = nfsstat4::NFS4ERR_SYMLINK;
      return r;
    default:
      // RFC 7530 §16.16.5: SYMLINK for every type but a directory (the client may not know
      // the type yet); 4.1 has WRONG_TYPE for it (RFC 8881 §18.16.3).
      r.status = c.minor == 0 ? nfsstat4::NFS4ERR_SYMLINK : nfsstat4::NFS4ERR_WRONG_TYPE;
      return r;
  }
  target.file = attr.id;
  const Nfs4File file = target.as_file();
  (void)dir;

  // An SMB client's cached grants on the file go before the open (RFC 8881 §10.4 and
  // MS-SMB2 3.3.4.7 alike): "retry later" while they are broken.
  core::ShareState& st = vfs.state();
  const core::CacheOp op =
      (access & OPEN4_SHARE_ACCESS_WRITE) ? core::CacheOp::kWrite : core::CacheOp::kOpen;
  AddReleaser(st, file.share);
  if (st.Breaking(file.file.inode, client->holder, op)) {
    r.status = nfsstat4::NFS4ERR_DELAY;
    return r;
  }

  const uint32_t deny = a.share_deny;
  uint64_t key = 0;
  std::optional<Nfs4StateRecord> existing;
  {
    auto it = owner.states.find(file);
    if (it != owner.states.end()) {
      existing = state_.GetState(it->second);
      if (existing) key = it->second;
    }
  }
  uint32_t seqid = 1;
  core::OpenTable::OpenId open_id = existing ? existing->open : 0;
  if (existing) {
    // An upgrade of the owner's open of this file (RFC 8881 §18.16.3): the union of both. Its
    // own deny bits count too (RFC 7530 §9.9): access they deny is SHARE_DENIED.
    if ((access & existing->share_deny) != 0) {
      r.status = nfsstat4::NFS4ERR_SHARE_DENIED;
      return r;
    }
    const uint32_t new_access = existing->share_access | access;
    const uint32_t new_deny = existing->share_deny | deny;
    Status s = vfs.ChangeOpen(c.caller, file.file, existing->open, RuntimeAccess(new_access),
                              RuntimeShare(new_deny), RuntimeAccess(existing->share_access));
    if (!s.ok()) {
      r.status = ToNfs4(s);
      return r;
    }
    state_.UpdateState(key, [&](Nfs4StateRecord& rec) {
      rec.seqid += 1;
      rec.share_access = new_access;
      rec.share_deny = new_deny;
      rec.access_seen |= 1u << access;
      rec.deny_seen |= 1u << deny;
      seqid = rec.seqid;
    });
  } else {
    auto open_file = [&]() -> Result<core::OpenTable::OpenId> {
      Result<core::OpenTable::OpenId> id =
          vfs.OpenFile(c.caller, file.file, RuntimeAccess(access), RuntimeShare(deny),
                       /*delete_on_close=*/false, created);
      if (!id.ok() && id.status().code() == Errc::kAccess && access == OPEN4_SHARE_ACCESS_READ) {
        // Reading to execute: a file the caller may execute but not read opens for reading
        // (RFC 8881 §18.16.3 lets the server allow it, as Linux's does).
        Result<uint32_t> can = vfs.Access(c.caller, file.file, ACCESS4_EXECUTE, nullptr);
        if (can.ok() && (*can & ACCESS4_EXECUTE) != 0) {
          id = vfs.OpenFile(c.caller, file.file, core::kExecute, RuntimeShare(deny));
        }
      }
      return id;
    };
    Result<core::OpenTable::OpenId> id = open_file();
    if (!id.ok()) {
      r.status = ToNfs4(id.status());
      return r;
    }
    Nfs4StateRecord rec;
    rec.kind = Nfs4StateKind::kOpen;
    rec.client = client;
    rec.owner = owner_ptr;
    rec.file = file;
    rec.open = open_id = *id;
    rec.share_access = access;
    rec.share_deny = deny;
    rec.access_seen = 1u << access;
    rec.deny_seen = 1u << deny;
    nfsstat4 refused = nfsstat4::NFS4_OK;
    {
      MutexLock lock(&client->mu);
      if (client->dead) {
        refused = c.minor == 0 ? nfsstat4::NFS4ERR_EXPIRED : nfsstat4::NFS4ERR_BADSESSION;
      } else if (client->states.size() >= options_.max_states_per_client) {
        refused = nfsstat4::NFS4ERR_RESOURCE;
      } else {
        key = state_.KeyOf(state_.AddState(std::move(rec)));
        client->states.insert(key);
      }
    }
    if (refused != nfsstat4::NFS4_OK) {
      (void)vfs.CloseFile(*id);
      r.status = refused;
      return r;
    }
    owner.states[file] = key;
  }
  r.stateid = state_.StateidOf(key, seqid);
  RecordClient(*client);
  const uint32_t want = a.share_access & OPEN4_SHARE_ACCESS_WANT_DELEG_MASK;
  // A reclaimed delegation is granted again when nothing stands in its way.
  const bool delegable = a.claim == open_claim_type4::CLAIM_NULL ||
                         a.claim == open_claim_type4::CLAIM_FH ||
                         (a.claim == open_claim_type4::CLAIM_PREVIOUS &&
                          a.delegate_type != open_delegation_type4::OPEN_DELEGATE_NONE);
  if (delegable && want != OPEN4_SHARE_ACCESS_WANT_NO_DELEG &&
      want != OPEN4_SHARE_ACCESS_WANT_CANCEL) {
    MaybeDelegate(c, client, vfs, file, open_id,
                  existing ? existing->share_access | access : access, &r);
  }
  r.rflags = OPEN4_RESULT_LOCKTYPE_POSIX;
  if (c.minor == 0 && !owner.confirmed) r.rflags |= OPEN4_RESULT_CONFIRM;
  if (c.minor >= 1 && want != 0 &&
      r.delegation.delegation_type == open_delegation_type4::OPEN_DELEGATE_NONE) {
    r.delegation.delegation_type = open_delegation_type4::OPEN_DELEGATE_NONE_EXT;
    r.delegation.ond_why =
        (a.share_access & OPEN4_SHARE_ACCESS_WANT_DELEG_MASK) == OPEN4_SHARE_ACCESS_WANT_NO_DELEG
            ? why_no_delegation4::WND4_NOT_WANTED
            : why_no_delegation4::WND4_RESOURCE;
  }
  c.SetCurrent(target);
  c.current_stateid = r.stateid;
  return r;
}

OPEN_CONFIRM4res Nfs4Service::OpenConfirm(Ctx& c, const OPEN_CONFIRM4args& a) {
  OPEN_CONFIRM4res r;
  if (c.minor >= 1) {
    r.status = nfsstat4::NFS4ERR_NOTSUPP;  // RFC 8881 §18.20: not in 4.1
    return r;
  }
  if (c.current.none()) {
    r.status = nfsstat4::NFS4ERR_NOFILEHANDLE;
    return r;
  }
  std::optional<Nfs4StateRecord> rec;
  uint64_t key = 0;
  r.status = CheckStateid(c, a.open_stateid, &rec, &key);
  if (r.status != nfsstat4::NFS4_OK) return r;
  if (!rec || rec->kind != Nfs4StateKind::kOpen || !(rec->file == c.current.as_file())) {
    r.status = nfsstat4::NFS4ERR_BAD_STATEID;
    return r;
  }
  Nfs4Owner& owner = *rec->owner;
  MutexLock lock(&owner.mu);
  if (SeqidGate(owner, a.seqid, OP_OPEN_CONFIRM, &r)) return r;
  if (owner.confirmed) {
    r.status = nfsstat4::NFS4ERR_BAD_STATEID;
  } else {
    owner.confirmed = true;
    uint32_t seqid = 0;
    state_.UpdateState(key, [&](Nfs4StateRecord& s) { seqid = ++s.seqid; });
    r.open_stateid = state_.StateidOf(key, seqid);
  }
  nfs_resop4 reply;
  reply.op = OP_OPEN_CONFIRM;
  reply.res = r;
  RecordSeqid(owner, a.seqid, reply);
  return r;
}

OPEN_DOWNGRADE4res Nfs4Service::OpenDowngrade(Ctx& c, const OPEN_DOWNGRADE4args& a) {
  OPEN_DOWNGRADE4res r;
  if (c.current.none()) {
    r.status = nfsstat4::NFS4ERR_NOFILEHANDLE;
    return r;
  }
  std::optional<Nfs4StateRecord> rec;
  uint64_t key = 0;
  r.status = CheckStateid(c, a.open_stateid, &rec, &key);
  if (r.status != nfsstat4::NFS4_OK) {
    OldStateidOfOwner(c.minor, rec, a.seqid, OP_OPEN_DOWNGRADE, &r);
    return r;
  }
  if (!rec || rec->kind != Nfs4StateKind::kOpen || !(rec->file == c.current.as_file())) {
    r.status = nfsstat4::NFS4ERR_BAD_STATEID;
    return r;
  }
  Nfs4Owner& owner = *rec->owner;
  MutexLock lock(&owner.mu);
  if (c.minor == 0) {
    if (SeqidGate(owner, a.seqid, OP_OPEN_DOWNGRADE, &r)) return r;
  }
  const uint32_t access = a.share_access & OPEN4_SHARE_ACCESS_BOTH;
  const uint32_t deny = a.share_deny;
  if (access == 0 || deny > 3 || (access & ~rec->share_access) != 0 ||
      (deny & ~rec->share_deny) != 0 || (rec->access_seen & (1u << access)) == 0 ||
      (rec->deny_seen & (1u << deny)) == 0) {
    // RFC 8881 §18.18.3: only to access and deny modes the open had from an OPEN.
    r.status = nfsstat4::NFS4ERR_INVAL;
  } else if (Result<core::ShareUse> use = UseShare(shares_, c.current); !use.ok()) {
    r.status = ToNfs4(use.status());
  } else {
    Status s = use->vfs().ChangeOpen(c.caller, rec->file.file, rec->open, RuntimeAccess(access),
                                     RuntimeShare(deny), RuntimeAccess(rec->share_access));
    if (!s.ok()) {
      r.status = ToNfs4(s);
    } else {
      uint32_t seqid = 0;
      state_.UpdateState(key, [&](Nfs4StateRecord& st) {
        seqid = ++st.seqid;
        st.share_access = access;
        st.share_deny = deny;
        uint32_t seen_a = 0, seen_d = 0;
        for (uint32_t v = 0; v < 4; ++v) {
          if ((v & ~access) == 0) seen_a |= st.access_seen & (1u << v);
          if ((v & ~deny) == 0) seen_d |= st.deny_seen & (1u << v);
        }
        st.access_seen = seen_a | (1u << access);
        st.deny_seen = seen_d | (1u << deny);
      });
      r.open_stateid = state_.StateidOf(key, seqid);
      c.current_stateid = r.open_stateid;
    }
  }
  if (c.minor == 0) {
    nfs_resop4 reply;
    reply.op = OP_OPEN_DOWNGRADE;
    reply.res = r;
    RecordSeqid(owner, a.seqid, reply);
  }
  return r;
}

CLOSE4res Nfs4Service::Close(Ctx& c, const CLOSE4args& a) {
  CLOSE4res r;
  if (c.current.none()) {
    r.status = nfsstat4::NFS4ERR_NOFILEHANDLE;
    return r;
  }
  std::optional<Nfs4StateRecord> rec;
  uint64_t key = 0;
  r.status = CheckStateid(c, a.open_stateid, &rec, &key);
  if (r.status != nfsstat4::NFS4_OK) {
    OldStateidOfOwner(c.minor, rec, a.seqid, OP_CLOSE, &r);
    if (c.minor == 0 && r.status == nfsstat4::NFS4ERR_BAD_STATEID) {
      // A retransmission of the CLOSE that retired the stateid gets that CLOSE's reply.
      std::optional<Nfs4State::Retired> retired = state_.RetiredState(state_.KeyOf(a.open_stateid));
      if (retired && retired->owner) {
        MutexLock lock(&retired->owner->mu);
        if (CheckSeqid(*retired->owner, a.seqid, OP_CLOSE) == SeqCheck::kReplay) {
          r = std::get<CLOSE4res>(retired->owner->last_reply->res);
        }
      }
    }
    return r;
  }
  if (!rec || rec->kind != Nfs4StateKind::kOpen || !(rec->file == c.current.as_file())) {
    r.status = nfsstat4::NFS4ERR_BAD_STATEID;
    return r;
  }
  Nfs4Owner& owner = *rec->owner;
  MutexLock lock(&owner.mu);
  if (c.minor == 0) {
    if (SeqidGate(owner, a.seqid, OP_CLOSE, &r)) return r;
  }
  // The open's lock stateids go with it, and their locks (POSIX: a close drops the process's
  // locks on the file).
  std::vector<uint64_t> keys;
  {
    MutexLock cl(&rec->client->mu);
    keys.assign(rec->client->states.begin(), rec->client->states.end());
  }
  for (uint64_t k : keys) {
    std::optional<Nfs4StateRecord> lock_rec = state_.GetState(k);
    if (!lock_rec || lock_rec->kind != Nfs4StateKind::kLock || lock_rec->parent != key) continue;
    DropState(k, *lock_rec);
    {
      MutexLock cl(&rec->client->mu);
      rec->client->states.erase(k);
    }
  }
  DropState(key, *rec);
  {
    MutexLock cl(&rec->client->mu);
    rec->client->states.erase(key);
  }
  owner.states.erase(rec->file);
  if (c.minor == 0) {
    state_.Retire(key, {nfsstat4::NFS4ERR_BAD_STATEID, rec->owner});
    r.open_stateid = state_.StateidOf(key, rec->seqid + 1);
    nfs_resop4 reply;
    reply.op = OP_CLOSE;
    reply.res = r;
    RecordSeqid(owner, a.seqid, reply);
  } else {
    // RFC 8881 §18.2.4: the invalid special stateid.
    r.open_stateid.seqid = 0xffffffffu;
    r.open_stateid.other = {};
  }
  c.current_stateid = r.open_stateid;
  return r;
}

namespace {

LOCK4denied Denied(Nfs4State& state, const core::LockInfo& held) {
  LOCK4denied d;
  d.offset = held.offset;
  d.length = held.length == 0 ? kToEnd : held.length;
  d.locktype = held.exclusive ? nfs_lock_type4::WRITE_LT : nfs_lock_type4::READ_LT;
  if (auto owner = state.LockOwnerOf(held.owner.id)) {
    d.owner.clientid = owner->first;
    d.owner.owned = owner->second;
  } else {
    // Another protocol's lock (NLM, SMB): no NFSv4 owner to name.
    d.owner.clientid = 0;
    d.owner.owned = held.owner.flavor == core::LockFlavor::kWindows ? "smb" : "nlm";
  }
  return d;
}

}  // namespace

LOCK4res Nfs4Service::Lock(Ctx& c, const LOCK4args& a) {
  LOCK4res r;
  r.status = NeedRegularFile(c);
  if (r.status != nfsstat4::NFS4_OK) return r;
  r.status = CheckRange(a.offset, a.length);
  if (r.status != nfsstat4::NFS4_OK) return r;
  std::optional<Nfs4StateRecord> rec;
  uint64_t rec_key = 0;
  r.status = CheckStateid(c, a.new_lock_owner ? a.open_stateid : a.lock_stateid, &rec, &rec_key);
  if (r.status != nfsstat4::NFS4_OK) return r;
  // Reclaims only in the grace period, by the last run's clients; nothing new meanwhile.
  if (a.reclaim) {
    r.status = rec ? ReclaimAllowed(*rec->client) : nfsstat4::NFS4ERR_NO_GRACE;
    if (r.status != nfsstat4::NFS4_OK) return r;
  } else if (grace_.in_grace()) {
    r.status = nfsstat4::NFS4ERR_GRACE;
    return r;
  }
  const Nfs4StateKind want = a.new_lock_owner ? Nfs4StateKind::kOpen : Nfs4StateKind::kLock;
  if (!rec || rec->kind != want || !(rec->file == c.current.as_file())) {
    r.status = nfsstat4::NFS4ERR_BAD_STATEID;
    return r;
  }
  std::shared_ptr<Nfs4Client> client = rec->client;
  // The open-owner (new lock-owner) or lock-owner whose seqid orders this request.
  Nfs4Owner& sequencer = *rec->owner;
  MutexLock seq_lock(&sequencer.mu);
  const seqid4 seqid = a.new_lock_owner ? a.open_seqid : a.lock_seqid;
  if (c.minor == 0) {
    if (SeqidGate(sequencer, seqid, OP_LOCK, &r)) return r;
  }
  auto record = [&](const LOCK4res& res) {
    if (c.minor != 0) return;
    nfs_resop4 reply;
    reply.op = OP_LOCK;
    reply.res = res;
    RecordSeqid(sequencer, seqid, reply);
  };

  uint64_t open_key = a.new_lock_owner ? rec_key : rec->parent;
  std::shared_ptr<Nfs4Owner> lock_owner;
  uint64_t lock_key = a.new_lock_owner ? 0 : rec_key;
  if (a.new_lock_owner) {
    if (c.minor == 0 && a.lock_owner.clientid != client->id) {
      r.status = nfsstat4::NFS4ERR_STALE_CLIENTID;
      record(r);
      return r;
    }
    lock_owner = OwnerOf(state_, *client, AsChars(a.lock_owner.bytes()), true,
                         options_.max_owners_per_client, &r.status);
    if (!lock_owner) {
      record(r);
      return r;
    }
    if (c.minor == 0) {
      // open_to_lock_owner4's lock_seqid is the new lock-owner's first: its next LOCK or
      // LOCKU uses the one after (RFC 7530 §16.10.4).
      MutexLock owner_lock(&lock_owner->mu);
      if (!lock_owner->has_seqid) {
        lock_owner->has_seqid = true;
        lock_owner->seqid = a.lock_seqid;
      }
    }
  } else {
    lock_owner = rec->owner;
  }
  std::optional<Nfs4StateRecord> open = state_.GetState(open_key);
  if (!open) {
    r.status = nfsstat4::NFS4ERR_BAD_STATEID;
    record(r);
    return r;
  }
  // RFC 8881 §18.10.3: a write lock needs an open for writing, a read lock one for reading.
  const bool exclusive = Exclusive(a.locktype);
  if ((exclusive && (open->share_access & OPEN4_SHARE_ACCESS_WRITE) == 0) ||
      (!exclusive && (open->share_access & OPEN4_SHARE_ACCESS_READ) == 0)) {
    r.status = nfsstat4::NFS4ERR_OPENMODE;
    record(r);
    return r;
  }
  Result<core::ShareUse> use = UseShare(shares_, c.current);
  if (!use.ok()) {
    r.status = ToNfs4(use.status());
    record(r);
    return r;
  }
  core::ShareState& st = use->vfs().state();
  const Nfs4File file = c.current.as_file();
  core::LockRequest req;
  req.file = file.file.inode;
  req.owner = {lock_owner->runtime_id, core::LockFlavor::kPosix};
  req.offset = a.offset;
  req.length = TableLength(a.length);
  req.exclusive = exclusive;
  if (st.LockRequested(req.file, client->holder)) {
    // Another client's delegation or write-caching lease is being recalled: its holder may
    // hold locks not yet in the table.
    r.status = nfsstat4::NFS4ERR_DELAY;
    record(r);
    return r;
  }
  AddReleaser(st, file.share);
  Status s = st.Lock(req);
  if (!s.ok()) {
    if (s.code() == Errc::kLocked) {
      std::optional<core::LockInfo> held = st.locks.Test(req);
      r.status = nfsstat4::NFS4ERR_DENIED;
      if (held) r.denied = Denied(state_, *held);
    } else {
      r.status = ToNfs4(s);
    }
    record(r);
    return r;
  }
  uint32_t new_seqid = 0;
  if (lock_key == 0) {
    // The lock-owner's state on this file: found, or made now.
    MutexLock owner_lock(&lock_owner->mu);
    auto it = lock_owner->states.find(file);
    if (it != lock_owner->states.end() && state_.GetState(it->second)) lock_key = it->second;
    if (lock_key == 0) {
      Nfs4StateRecord lr;
      lr.kind = Nfs4StateKind::kLock;
      lr.seqid = 0;
      lr.client = client;
      lr.owner = lock_owner;
      lr.file = file;
      lr.parent = open_key;
      MutexLock cl(&client->mu);
      if (client->dead) {
        st.locks.ReleaseOwner(req.file, req.owner);
        r.status = nfsstat4::NFS4ERR_EXPIRED;
        record(r);
        return r;
      }
      lock_key = state_.KeyOf(state_.AddState(std::move(lr)));
      client->states.insert(lock_key);
      lock_owner->states[file] = lock_key;
    }
  }
  state_.UpdateState(lock_key, [&](Nfs4StateRecord& lr) { new_seqid = ++lr.seqid; });
  r.lock_stateid = state_.StateidOf(lock_key, new_seqid);
  c.current_stateid = r.lock_stateid;
  record(r);
  return r;
}

LOCKT4res Nfs4Service::LockT(Ctx& c, const LOCKT4args& a) {
  LOCKT4res r;
  r.status = NeedRegularFile(c);
  if (r.status != nfsstat4::NFS4_OK) return r;
  r.status = CheckRange(a.offset, a.length);
  if (r.status != nfsstat4::NFS4_OK) return r;
  if (grace_.in_grace()) {
    r.status = nfsstat4::NFS4ERR_GRACE;  // the answer could change as locks are reclaimed
    return r;
  }
  std::shared_ptr<Nfs4Client> client;
  r.status = ClientFor(c, a.owner.clientid, &client);
  if (r.status != nfsstat4::NFS4_OK) return r;
  uint64_t owner_id = RandomU64() | 1;  // an owner that holds nothing, unless it exists
  {
    MutexLock lock(&client->mu);
    auto it = client->lock_owners.find(AsChars(a.owner.bytes()));
    if (it != client->lock_owners.end()) owner_id = it->second->runtime_id;
  }
  Result<core::ShareUse> use = UseShare(shares_, c.current);
  if (!use.ok()) {
    r.status = ToNfs4(use.status());
    return r;
  }
  // Locks are of regular files: ISDIR for a directory, INVAL for the other types.
  Result<core::Attr> attr = use->vfs().GetAttr(c.caller, c.current.file);
  if (!attr.ok()) {
    r.status = ToNfs4(attr.status());
    return r;
  }
  if (attr->type != core::FileType::kRegular) {
    r.status = attr->type == core::FileType::kDirectory ? nfsstat4::NFS4ERR_ISDIR
                                                        : nfsstat4::NFS4ERR_INVAL;
    return r;
  }
  core::LockRequest req;
  req.file = c.current.file.inode;
  req.owner = {owner_id, core::LockFlavor::kPosix};
  req.offset = a.offset;
  req.length = TableLength(a.length);
  req.exclusive = Exclusive(a.locktype);
  if (use->vfs().state().LockRequested(req.file, client->holder)) {
    r.status = nfsstat4::NFS4ERR_DELAY;  // a holder that may lock locally is being recalled
    return r;
  }
  std::optional<core::LockInfo> held = use->vfs().state().locks.Test(req);
  if (held) {
    r.status = nfsstat4::NFS4ERR_DENIED;
    r.denied = Denied(state_, *held);
  }
  return r;
}

LOCKU4res Nfs4Service::LockU(Ctx& c, const LOCKU4args& a) {
  LOCKU4res r;
  r.status = NeedRegularFile(c);
  if (r.status != nfsstat4::NFS4_OK) return r;
  std::optional<Nfs4StateRecord> rec;
  uint64_t key = 0;
  r.status = CheckStateid(c, a.lock_stateid, &rec, &key);
  if (r.status != nfsstat4::NFS4_OK) {
    OldStateidOfOwner(c.minor, rec, a.seqid, OP_LOCKU, &r);
    return r;
  }
  if (!rec || rec->kind != Nfs4StateKind::kLock || !(rec->file == c.current.as_file())) {
    r.status = nfsstat4::NFS4ERR_BAD_STATEID;
    return r;
  }
  Nfs4Owner& owner = *rec->owner;
  MutexLock lock(&owner.mu);
  if (c.minor == 0) {
    if (SeqidGate(owner, a.seqid, OP_LOCKU, &r)) return r;
  }
  r.status = CheckRange(a.offset, a.length);
  if (r.status == nfsstat4::NFS4_OK) {
    Result<core::ShareUse> use = UseShare(shares_, c.current);
    if (!use.ok()) {
      r.status = ToNfs4(use.status());
    } else {
      core::LockRequest req;
      req.file = rec->file.file.inode;
      req.owner = {owner.runtime_id, core::LockFlavor::kPosix};
      req.offset = a.offset;
      req.length = TableLength(a.length);
      Status s = use->vfs().state().locks.Unlock(req);
      if (!s.ok()) {
        r.status = ToNfs4(s);
      } else {
        uint32_t seqid = 0;
        state_.UpdateState(key, [&](Nfs4StateRecord& st) { seqid = ++st.seqid; });
        r.lock_stateid = state_.StateidOf(key, seqid);
        c.current_stateid = r.lock_stateid;
      }
    }
  }
  if (c.minor == 0) {
    nfs_resop4 reply;
    reply.op = OP_LOCKU;
    reply.res = r;
    RecordSeqid(owner, a.seqid, reply);
  }
  return r;
}

nfsstat4 Nfs4Service::ReleaseLockOwner(Ctx& c, const RELEASE_LOCKOWNER4args& a) {
  if (c.minor >= 1) return nfsstat4::NFS4ERR_NOTSUPP;  // RFC 8881 §18.45: not in 4.1
  std::shared_ptr<Nfs4Client> client;
  nfsstat4 status = ClientFor(c, a.lock_owner.clientid, &client);
  if (status != nfsstat4::NFS4_OK) return status;
  std::shared_ptr<Nfs4Owner> owner;
  {
    MutexLock lock(&client->mu);
    auto it = client->lock_owners.find(AsChars(a.lock_owner.bytes()));
    if (it == client->lock_owners.end()) return nfsstat4::NFS4_OK;
    owner = it->second;
  }
  MutexLock owner_lock(&owner->mu);
  // RFC 7530 §16.37.4: not while the owner holds locks.
  for (const auto& [file, key] : owner->states) {
    Result<core::ShareUse> use = shares_.Use(file.share);
    if (!use.ok()) continue;
    for (const core::LockInfo& l : use->vfs().state().locks.Locks(file.file.inode)) {
      if (l.owner.id == owner->runtime_id) return nfsstat4::NFS4ERR_LOCKS_HELD;
    }
  }
  for (const auto& [file, key] : owner->states) {
    state_.RemoveState(key);
    MutexLock lock(&client->mu);
    client->states.erase(key);
  }
  owner->states.clear();
  {
    MutexLock lock(&client->mu);
    client->lock_owners.erase(owner->name);
  }
  state_.RemoveLockOwner(owner->runtime_id);
  return nfsstat4::NFS4_OK;
}

nfsstat4 Nfs4Service::FreeStateid(Ctx& c, const FREE_STATEID4args& a) {
  std::optional<Nfs4StateRecord> rec;
  uint64_t key = 0;
  stateid4 id;
  nfsstat4 status = ResolveStateid(c, a.stateid, &id);
  if (status != nfsstat4::NFS4_OK) return status;
  if (IsAnonymousStateid(id) || IsBypassStateid(id)) return nfsstat4::NFS4ERR_BAD_STATEID;
  bool stale = false;
  rec = state_.GetState(id, &stale);
  if (stale) return nfsstat4::NFS4ERR_STALE_STATEID;
  if (!rec || !c.session || rec->client != c.session->client) {
    return nfsstat4::NFS4ERR_BAD_STATEID;
  }
  key = state_.KeyOf(id);
  if (rec->kind == Nfs4StateKind::kDelegation) {
    // A revoked delegation is freed here (RFC 8881 §18.38.3); a live one goes by DELEGRETURN.
    if (!DelegationRevoked(*rec)) return nfsstat4::NFS4ERR_LOCKS_HELD;
    DropState(key, *rec);
    {
      MutexLock lock(&rec->client->mu);
      rec->client->states.erase(key);
    }
    RefreshRevoked(*rec->client);  // SEQ4_STATUS_RECALLABLE_STATE_REVOKED ends with the last
    return nfsstat4::NFS4_OK;
  }
  if (rec->kind != Nfs4StateKind::kLock) return nfsstat4::NFS4ERR_LOCKS_HELD;
  Result<core::ShareUse> use = shares_.Use(rec->file.share);
  if (use.ok()) {
    for (const core::LockInfo& l : use->vfs().state().locks.Locks(rec->file.file.inode)) {
      if (l.owner.id == rec->owner->runtime_id) return nfsstat4::NFS4ERR_LOCKS_HELD;
    }
  }
  state_.RemoveState(key);
  {
    MutexLock lock(&rec->owner->mu);
    rec->owner->states.erase(rec->file);
  }
  MutexLock lock(&rec->client->mu);
  rec->client->states.erase(key);
  return nfsstat4::NFS4_OK;
}

TEST_STATEID4res Nfs4Service::TestStateid(Ctx& c, const TEST_STATEID4args& a) {
  TEST_STATEID4res r;
  for (const stateid4& id : a.stateids) {
    if (IsAnonymousStateid(id) || IsBypassStateid(id)) {
      r.status_codes.push_back(nfsstat4::NFS4ERR_BAD_STATEID);
      continue;
    }
    std::optional<Nfs4StateRecord> rec;
    // The current stateid is not a stateid to test (RFC 8881 §18.48.3).
    stateid4 literal = id;
    Ctx plain(c.call);
    plain.minor = c.minor;
    plain.session = c.session;
    nfsstat4 s = CheckStateid(plain, literal, &rec);
    r.status_codes.push_back(s);
  }
  return r;
}

nfsstat4 Nfs4Service::NeedRegularFile(const Ctx& c) {
  if (c.current.none()) return nfsstat4::NFS4ERR_NOFILEHANDLE;
  if (c.current.is_pseudo()) return nfsstat4::NFS4ERR_ISDIR;
  return nfsstat4::NFS4_OK;
}

}  // namespace dittofs::nfs

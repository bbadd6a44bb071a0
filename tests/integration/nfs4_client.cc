// SPDX-License-Identifier: Apache-2.0
#include "nfs4_client.h"

#include <chrono>
#include <deque>

#include "base/bytes.h"
#include "rpc/message.h"
#include "xdr/xdr.h"

namespace dittofs::integration {

using namespace nfs;  // NOLINT: a test client of one protocol

// The codec's arguments view their names and data (the server decodes without copying), so
// the builders below keep a copy of what they are given for the life of the test process:
// callers may pass temporaries ("/export/" + name). Tests are small; the copies are too.
std::string_view Keep(std::string_view s) {
  static std::deque<std::string> kept;
  return kept.emplace_back(s);
}

Result<std::unique_ptr<Nfs4TestClient>> Nfs4TestClient::Connect(uint16_t port, uint32_t minor,
                                                                uint32_t uid) {
  ASSIGN_OR_RETURN(rpc::BlockingClient c, rpc::BlockingClient::Connect(port));
  return std::unique_ptr<Nfs4TestClient>(new Nfs4TestClient(std::move(c), minor, uid));
}

Result<bool> Nfs4TestClient::AnswerIfCallback(const std::string& record) {
  if (record.size() < 8 || LoadBe32(AsBytes(record).data() + 4) != 0) return false;  // a reply
  xdr::XdrDecoder d(AsBytes(record));
  rpc::CallHeader h;
  if (rpc::DecodeCallHeader(d, &h) != rpc::HeaderOutcome::kOk) {
    return Status(Errc::kInternal, "a malformed callback");
  }
  xdr::XdrEncoder e;
  rpc::EncodeAcceptedReply(e, h.xid, rpc::AcceptStat::kSuccess);
  if (h.proc == CB_COMPOUND) {
    CB_COMPOUND4args args;
    if (!Decode(d, &args)) return Status(Errc::kInternal, "CB_COMPOUND does not decode");
    CB_COMPOUND4res res;
    res.tag = args.tag;
    for (const auto& op : args.ops) {
      nfs_cb_resop4 r;
      r.op = op.op;
      if (const auto* seq = std::get_if<CB_SEQUENCE4args>(&op.args)) {
        r.sequence.sessionid = seq->sessionid;
        r.sequence.sequenceid = seq->sequenceid;
        r.sequence.slotid = seq->slotid;
        r.sequence.highest_slotid = seq->highest_slotid;
        r.sequence.target_highest_slotid = seq->highest_slotid;
      } else if (const auto* recall = std::get_if<CB_RECALL4args>(&op.args)) {
        recalls_.push_back(*recall);
      } else if (const auto* offload = std::get_if<CB_OFFLOAD4args>(&op.args)) {
        // As Linux's client: CB_OFFLOAD is an operation of minor version 2 only.
        if (args.minorversion < 2) {
          r.op = OP_CB_ILLEGAL;
          r.status = nfsstat4::NFS4ERR_OP_ILLEGAL;
          res.status = r.status;
          res.results.push_back(r);
          break;
        }
        if (refuse_offloads_ > 0) {
          --refuse_offloads_;
          ++refused_offloads_;
          r.status = nfsstat4::NFS4ERR_DELAY;
          res.status = r.status;
          res.results.push_back(r);
          break;
        }
        offloads_.push_back(*offload);
      }
      res.results.push_back(r);
    }
    Encode(e, res);
  } else if (h.proc != CB_NULL) {
    e = xdr::XdrEncoder();
    rpc::EncodeAcceptedReply(e, h.xid, rpc::AcceptStat::kProcUnavail);
  }
  RETURN_IF_ERROR(conn_.SendRecord(e.ToString()));
  return true;
}

Result<CB_OFFLOAD4args> Nfs4TestClient::WaitForOffload(int timeout_ms) {
  const size_t seen = offloads_.size();
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  while (offloads_.size() == seen) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return Status(Errc::kBusy, "no CB_OFFLOAD");
    ASSIGN_OR_RETURN(std::string record, conn_.ReadRecord(static_cast<int>(left.count())));
    ASSIGN_OR_RETURN(bool callback, AnswerIfCallback(record));
    if (!callback) return Status(Errc::kInternal, "a reply nobody waited for");
  }
  return offloads_.back();
}

Result<CB_RECALL4args> Nfs4TestClient::WaitForRecall(int timeout_ms) {
  const size_t seen = recalls_.size();
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  while (recalls_.size() == seen) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return Status(Errc::kBusy, "no CB_RECALL");
    ASSIGN_OR_RETURN(std::string record, conn_.ReadRecord(static_cast<int>(left.count())));
    ASSIGN_OR_RETURN(bool callback, AnswerIfCallback(record));
    if (!callback) return Status(Errc::kInternal, "a reply nobody waited for");
  }
  return recalls_.back();
}

Result<std::string> Nfs4TestClient::Resend(const std::string& call) {
  RETURN_IF_ERROR(conn_.SendRecord(call));
  std::string reply;
  for (;;) {
    ASSIGN_OR_RETURN(reply, conn_.ReadRecord(20000));
    ASSIGN_OR_RETURN(bool callback, AnswerIfCallback(reply));
    if (!callback) break;
  }
  xdr::XdrDecoder d(AsBytes(reply));
  rpc::ReplyHeader h;
  if (!rpc::DecodeReplyHeader(d, &h)) return Status(Errc::kInternal, "bad reply header");
  RETURN_IF_ERROR(rpc::ReplyStatus(h, "COMPOUND"));
  return std::string(AsChars(d.rest()));
}

Result<std::string> Nfs4TestClient::CallRaw(const std::string& args) {
  xdr::XdrEncoder e;
  rpc::Credential cred;
  cred.flavor = rpc::AuthFlavor::kSys;
  cred.uid = uid_;
  cred.gid = uid_;
  cred.machine_name = "nfs4-test";
  rpc::EncodeCallHeader(e, ++xid_, NFS4_PROGRAM, NFS_V4, NFSPROC4_COMPOUND, cred);
  last_call_ = e.ToString() + args;
  return Resend(last_call_);
}

Result<COMPOUND4res> Nfs4TestClient::Compound(const std::vector<nfs_argop4>& ops,
                                              std::string_view tag) {
  xdr::XdrEncoder e;
  EncodeCompound(e, tag, minor_, ops);
  ASSIGN_OR_RETURN(std::string results, CallRaw(e.ToString()));
  xdr::XdrDecoder d(AsBytes(results));
  COMPOUND4res res;
  if (!Decode(d, &res)) return Status(Errc::kInternal, "COMPOUND4res does not decode");
  // A SEQUENCE the server refused (or a COMPOUND refused before it) did not use the slot: the
  // next call reuses the sequence id, as a real client does (RFC 8881 §2.10.6.1).
  if (minor_ >= 1 && !ops.empty() && ops[0].op == OP_SEQUENCE &&
      (res.resarray.empty() || res.resarray[0].status() != nfsstat4::NFS4_OK)) {
    const auto& seq = std::get<SEQUENCE4args>(ops[0].args);
    if (seq.slotid < slot_seqids_.size() && slot_seqids_[seq.slotid] == seq.sequenceid) {
      --slot_seqids_[seq.slotid];
    }
  }
  return res;
}

nfs_argop4 Nfs4TestClient::SequenceAt(uint32_t slot, uint32_t seqid, bool cachethis) {
  SEQUENCE4args a;
  a.sessionid = sessionid_;
  a.sequenceid = seqid;
  a.slotid = slot;
  a.highest_slotid = static_cast<slotid4>(slot_seqids_.empty() ? 0 : slot_seqids_.size() - 1);
  a.cachethis = cachethis;
  return Op(OP_SEQUENCE, a);
}

nfs_argop4 Nfs4TestClient::Sequence(uint32_t slot, bool cachethis) {
  if (slot >= slot_seqids_.size()) slot_seqids_.resize(slot + 1, 0);
  return SequenceAt(slot, ++slot_seqids_[slot], cachethis);
}

std::vector<nfs_argop4> Nfs4TestClient::InSession(std::vector<nfs_argop4> ops) {
  if (minor_ >= 1) ops.insert(ops.begin(), Sequence());
  return ops;
}

Status Nfs4TestClient::Establish(std::string_view owner, bool backchannel, bool reclaim) {
  clientid_ = 0;
  sessionid_ = {};
  slot_seqids_.clear();
  owner_seqids_.clear();
  if (minor_ == 0) {
    SETCLIENTID4args a;
    StoreBe64(a.verifier.data(), 0x1234);
    a.id = AsBytes(owner);
    a.cb_program = 0x40000000;
    a.cb_location = {"tcp", "127.0.0.1.0.0"};
    ASSIGN_OR_RETURN(COMPOUND4res r, Compound({Op(OP_SETCLIENTID, a)}));
    const auto* ok = ResultOf<SETCLIENTID4res>(r, OP_SETCLIENTID);
    if (r.status != nfsstat4::NFS4_OK || ok == nullptr) {
      return Status(Errc::kInternal, "SETCLIENTID: " + std::to_string(int(r.status)));
    }
    clientid_ = ok->clientid;
    SETCLIENTID_CONFIRM4args c{ok->clientid, ok->setclientid_confirm};
    ASSIGN_OR_RETURN(COMPOUND4res rc, Compound({Op(OP_SETCLIENTID_CONFIRM, c)}));
    if (rc.status != nfsstat4::NFS4_OK) {
      return Status(Errc::kInternal, "SETCLIENTID_CONFIRM: " + std::to_string(int(rc.status)));
    }
    return Status::Ok();
  }
  EXCHANGE_ID4args x;
  StoreBe64(x.co_verifier.data(), 0x5678);
  x.co_ownerid = AsBytes(owner);
  ASSIGN_OR_RETURN(COMPOUND4res r, Compound({Op(OP_EXCHANGE_ID, x)}));
  const auto* xr = ResultOf<EXCHANGE_ID4res>(r, OP_EXCHANGE_ID);
  if (r.status != nfsstat4::NFS4_OK || xr == nullptr) {
    return Status(Errc::kInternal, "EXCHANGE_ID: " + std::to_string(int(r.status)));
  }
  clientid_ = xr->clientid;
  CREATE_SESSION4args cs;
  cs.clientid = xr->clientid;
  cs.sequence = xr->sequenceid;
  cs.fore_chan_attrs = {0, 1u << 20, 1u << 20, 64u << 10, 16, 8, std::nullopt};
  cs.back_chan_attrs = {0, 4096, 4096, 0, 2, 1, std::nullopt};
  cs.cb_program = 0x40000000;
  if (backchannel) {
    cs.flags = CREATE_SESSION4_FLAG_CONN_BACK_CHAN;
    cs.sec_parms.push_back(callback_sec_parms4{});  // AUTH_NONE
  }
  ASSIGN_OR_RETURN(COMPOUND4res rs, Compound({Op(OP_CREATE_SESSION, cs)}));
  const auto* sr = ResultOf<CREATE_SESSION4res>(rs, OP_CREATE_SESSION);
  if (rs.status != nfsstat4::NFS4_OK || sr == nullptr) {
    return Status(Errc::kInternal, "CREATE_SESSION: " + std::to_string(int(rs.status)));
  }
  sessionid_ = sr->sessionid;
  slot_seqids_.assign(sr->fore_chan_attrs.maxrequests, 0);
  if (!reclaim) {
    ASSIGN_OR_RETURN(COMPOUND4res rc,
                     Compound(InSession({Op(OP_RECLAIM_COMPLETE, RECLAIM_COMPLETE4args{false})})));
    if (rc.status != nfsstat4::NFS4_OK) {
      return Status(Errc::kInternal, "RECLAIM_COMPLETE: " + std::to_string(int(rc.status)));
    }
  }
  return Status::Ok();
}

std::vector<nfs_argop4> Nfs4TestClient::Walk(std::string_view path) {
  std::vector<nfs_argop4> ops{PutRootFh()};
  while (!path.empty()) {
    size_t slash = path.find('/');
    std::string_view part = path.substr(0, slash);
    if (!part.empty()) ops.push_back(Lookup(part));
    if (slash == std::string_view::npos) break;
    path.remove_prefix(slash + 1);
  }
  return ops;
}

uint32_t Nfs4TestClient::NextOpenSeqid(const std::string& owner) {
  for (auto& [name, seqid] : owner_seqids_) {
    if (name == owner) return ++seqid;
  }
  owner_seqids_.emplace_back(owner, 1);
  return 1;
}

nfs_argop4 Op(uint32_t op) {
  nfs_argop4 o;
  o.op = op;
  return o;
}

nfs_argop4 PutRootFh() { return Op(OP_PUTROOTFH); }
nfs_argop4 GetFh() { return Op(OP_GETFH); }
nfs_argop4 Lookup(std::string_view name) { return Op(OP_LOOKUP, LOOKUP4args{Keep(name)}); }

nfs_argop4 PutFh(const nfs_fh4_owned& fh) {
  PUTFH4args a;
  a.object.data = fh.view();
  return Op(OP_PUTFH, a);
}

nfs_argop4 GetAttr(std::initializer_list<uint32_t> bits) {
  GETATTR4args a;
  for (uint32_t b : bits) a.attr_request.set(b);
  return Op(OP_GETATTR, a);
}

nfs_argop4 OpenByName(std::string_view name, uint32_t access, uint32_t deny,
                      const std::string& owner, clientid4 clientid, bool create, uint32_t seqid) {
  OPEN4args a;
  a.seqid = seqid;
  a.share_access = access;
  a.share_deny = deny;
  a.owner.clientid = clientid;
  a.owner.owned = owner;
  a.opentype = create ? opentype4::OPEN4_CREATE : opentype4::OPEN4_NOCREATE;
  a.mode = createmode4::UNCHECKED4;
  if (create) {
    Fattr4 f;
    f.mask.set(FATTR4_MODE);
    f.mode = 0644;
    EncodeAttrs(f.mask, f, &a.createattrs);
  }
  a.claim = open_claim_type4::CLAIM_NULL;
  a.file = Keep(name);
  return Op(OP_OPEN, a);
}

nfs_argop4 Write(const stateid4& sid, uint64_t offset, std::string_view data, stable_how4 stable) {
  WRITE4args a;
  a.stateid = sid;
  a.offset = offset;
  a.stable = stable;
  a.data = AsBytes(Keep(data));
  return Op(OP_WRITE, a);
}

nfs_argop4 Read(const stateid4& sid, uint64_t offset, uint32_t count) {
  return Op(OP_READ, READ4args{sid, offset, count});
}

nfs_argop4 Close(const stateid4& sid, uint32_t seqid) {
  return Op(OP_CLOSE, CLOSE4args{seqid, sid});
}

nfs_argop4 LockNew(const stateid4& open, uint32_t open_seqid, const std::string& owner,
                   clientid4 clientid, bool write, uint64_t offset, uint64_t length) {
  LOCK4args a;
  a.locktype = write ? nfs_lock_type4::WRITE_LT : nfs_lock_type4::READ_LT;
  a.offset = offset;
  a.length = length;
  a.new_lock_owner = true;
  a.open_seqid = open_seqid;
  a.open_stateid = open;
  a.lock_seqid = 0;
  a.lock_owner.clientid = clientid;
  a.lock_owner.owned = owner;
  return Op(OP_LOCK, a);
}

nfs_argop4 LockU(const stateid4& lock, uint32_t seqid, uint64_t offset, uint64_t length) {
  LOCKU4args a;
  a.locktype = nfs_lock_type4::WRITE_LT;
  a.seqid = seqid;
  a.lock_stateid = lock;
  a.offset = offset;
  a.length = length;
  return Op(OP_LOCKU, a);
}

std::optional<Fattr4> AttrsOf(const COMPOUND4res& res) {
  const auto* g = ResultOf<GETATTR4res>(res, OP_GETATTR);
  if (g == nullptr || g->status != nfsstat4::NFS4_OK) return std::nullopt;
  Fattr4 f;
  if (DecodeAttrs(g->obj_attributes, &f) != nfsstat4::NFS4_OK) return std::nullopt;
  return f;
}

std::optional<nfs_fh4_owned> FhOf(const COMPOUND4res& res) {
  const auto* g = ResultOf<GETFH4res>(res, OP_GETFH);
  if (g == nullptr || g->status != nfsstat4::NFS4_OK) return std::nullopt;
  return g->object;
}

std::string Describe(const nfs::COMPOUND4res& res) {
  std::string out;
  for (const auto& r : res.resarray) {
    if (!out.empty()) out += ' ';
    out += std::to_string(r.op) + ":" + std::to_string(static_cast<uint32_t>(r.status()));
  }
  return out;
}

}  // namespace dittofs::integration

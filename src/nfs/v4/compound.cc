// SPDX-License-Identifier: Apache-2.0
// COMPOUND processing (RFC 8881 §15.2, §16.2): the operation loop, 4.1's SEQUENCE with its
// slot table and reply cache, and the file handle operations.
#include "nfs/v4/compound.h"

#include <algorithm>
#include <array>
#include <chrono>
#include <cstring>

#include "base/bytes.h"
#include "base/clock.h"
#include "base/log.h"
#include "base/random.h"
#include "metrics/metrics.h"
#include "nfs/common/caller.h"
#include "nfs/v4/errors.h"
#include "trace/trace.h"

namespace dittofs::nfs {

Result<core::ShareUse> UseShare(const core::ShareTable& shares, const Nfs4Fh& fh) {
  return shares.Use(fh.share);
}

bool IsAnonymousStateid(const stateid4& s) {
  return s.seqid == 0 &&
         std::all_of(s.other.begin(), s.other.end(), [](std::byte b) { return b == std::byte{0}; });
}

bool IsBypassStateid(const stateid4& s) {
  return s.seqid == 0xffffffffu && std::all_of(s.other.begin(), s.other.end(),
                                               [](std::byte b) { return b == std::byte{0xff}; });
}

nfsstat4 ResolveStateid(const Nfs4Service::Ctx& c, const stateid4& in, stateid4* out) {
  const bool zero_other =
      std::all_of(in.other.begin(), in.other.end(), [](std::byte b) { return b == std::byte{0}; });
  if (c.minor >= 1 && zero_other && in.seqid == 1) {
    if (!c.current_stateid) return nfsstat4::NFS4ERR_BAD_STATEID;
    *out = *c.current_stateid;
    return nfsstat4::NFS4_OK;
  }
  // The invalid special stateid (seqid NFS4_UINT32_MAX, other all zero), and zero-other
  // stateids of other seqids, are never valid.
  if (zero_other && in.seqid != 0) return nfsstat4::NFS4ERR_BAD_STATEID;
  *out = in;
  return nfsstat4::NFS4_OK;
}

core::FileType FileTypeOf(nfs_ftype4 t) {
  switch (t) {
    case nfs_ftype4::NF4DIR:
      return core::FileType::kDirectory;
    case nfs_ftype4::NF4BLK:
      return core::FileType::kBlockDevice;
    case nfs_ftype4::NF4CHR:
      return core::FileType::kCharDevice;
    case nfs_ftype4::NF4LNK:
      return core::FileType::kSymlink;
    case nfs_ftype4::NF4SOCK:
      return core::FileType::kSocket;
    case nfs_ftype4::NF4FIFO:
      return core::FileType::kFifo;
    default:
      return core::FileType::kRegular;
  }
}

nfs_ftype4 Ftype4Of(core::FileType t) {
  switch (t) {
    case core::FileType::kRegular:
      return nfs_ftype4::NF4REG;
    case core::FileType::kDirectory:
      return nfs_ftype4::NF4DIR;
    case core::FileType::kBlockDevice:
      return nfs_ftype4::NF4BLK;
    case core::FileType::kCharDevice:
      return nfs_ftype4::NF4CHR;
    case core::FileType::kSymlink:
      return nfs_ftype4::NF4LNK;
    case core::FileType::kSocket:
      return nfs_ftype4::NF4SOCK;
    case core::FileType::kFifo:
      return nfs_ftype4::NF4FIFO;
  }
  return nfs_ftype4::NF4REG;
}

Nfs4Service::Nfs4Service(const core::ShareTable& shares, const FileHandleCodec& handles,
                         const core::UserDirectory* users, Nfs4Options options)
    : shares_(shares),
      handles_(handles),
      users_(users),
      options_(std::move(options)),
      state_(options_.boot),
      lease_seconds_(options_.lease_seconds),
      delegations_(options_.delegations),
      callback_io_(std::make_unique<rpc::ClientIo>()) {
  SetMinorVersions(options_.minor0, options_.minor1, options_.minor2);
  StoreBe64(write_verifier_.data(), RandomU64());
  // The server owner (RFC 8881 §2.5): one per server, so that a client's connections to it
  // (nconnect, or several addresses) are seen as one server's. The state is this process's,
  // so the major id names the instance.
  server_owner_ = "dittofs-" + std::to_string(state_.boot());
}

Nfs4Service::~Nfs4Service() {
  StopCopies();
  {
    // No share calls on this service from now on.
    MutexLock lock(&releasers_mu_);
    releasers_.clear();
  }
  ReleaseAll();
}

void Nfs4Service::ReleaseAll() {
  stopping_.store(true);
  for (auto& client : state_.Clients()) ReleaseClient(client, true);
}

void Nfs4Service::SetMinorVersions(bool minor0, bool minor1, bool minor2) {
  minors_.store((minor0 ? 1u : 0u) | (minor1 ? 2u : 0u) | (minor2 ? 4u : 0u));
}

Status Nfs4Service::BeginGrace(Nfs4ClientRecords* records, std::chrono::seconds grace) {
  return grace_.Begin(records, grace, MonotonicNanos());
}

namespace {

// Whether a COMPOUND's arguments are of minor version 0 and may hold an operation that
// changes state (ChangesState): the reply cache is asked only then. The operations of the data
// path and of lookups (PUTFH, LOOKUP, GETATTR, READ, WRITE, ...) are skipped over; any other
// operation, or arguments that do not parse, count as "may".
bool MayChangeState40(ByteView args) {
  xdr::XdrDecoder d(args);
  (void)d.VarOpaque(UINT32_MAX);              // tag
  if (d.U32() != 0 || !d.ok()) return false;  // 4.1 has its slots; garbage is answered anyway
  const uint32_t numops = d.U32();
  for (uint32_t i = 0; i < numops && d.ok(); ++i) {
    switch (d.U32()) {
      case OP_PUTROOTFH:
      case OP_PUTPUBFH:
      case OP_GETFH:
      case OP_SAVEFH:
      case OP_RESTOREFH:
      case OP_LOOKUPP:
      case OP_READLINK:
        break;
      case OP_PUTFH:
        (void)d.VarOpaque(NFS4_FHSIZE);
        break;
      case OP_LOOKUP:
        (void)d.VarOpaque(NFS4_OPAQUE_LIMIT);
        break;
      case OP_ACCESS:
        (void)d.U32();
        break;
      case OP_GETATTR: {
        const uint32_t words = d.U32();
        if (words > 64) return true;
        for (uint32_t w = 0; w < words; ++w) (void)d.U32();
        break;
      }
      case OP_READ:
        (void)d.FixedOpaque(16);  // stateid
        (void)d.U64();
        (void)d.U32();
        break;
      case OP_WRITE:
        (void)d.FixedOpaque(16);
        (void)d.U64();
        (void)d.U32();
        (void)d.VarOpaque(UINT32_MAX);
        break;
      default:
        return true;
    }
  }
  return false;
}

}  // namespace

rpc::ProgramVersion Nfs4Service::Program() {
  rpc::ProgramVersion p{NFS4_PROGRAM, NFS_V4, {}};
  p.procedures.resize(2);
  p.procedures[NFSPROC4_NULL] = {"NULL",
                                 [](const rpc::CallContext&, xdr::XdrDecoder&, xdr::XdrEncoder&) {
                                   return rpc::AcceptStat::kSuccess;
                                 },
                                 false, true};
  // 4.1 has its slots' reply cache. A 4.0 COMPOUND that changed something (an OPEN, a CLOSE,
  // a CREATE, ...) has its reply kept in the RPC layer's reply cache, so that a retransmission
  // (same xid) gets the first answer instead of running again (RFC 7530 §3.1.1, §9.1.9);
  // 4.0's seqids tell a replayed OPEN or LOCK with a new xid.
  p.procedures[NFSPROC4_COMPOUND] = {
      "COMPOUND",
      [this](const rpc::CallContext& call, xdr::XdrDecoder& d, xdr::XdrEncoder& e) {
        return Compound(call, d, e) ? rpc::AcceptStat::kSuccess : rpc::AcceptStat::kGarbageArgs;
      },
      false, false, MayChangeState40};
  return p;
}

namespace {

// The last operation number of NFSv4.2 (REMOVEXATTR, RFC 8276).
constexpr uint32_t kLastNfs42Op = 75;

// Each operation's Prometheus metrics (the RPC dispatcher counts the COMPOUND as a whole):
// operations run, those that failed (status other than NFS4_OK), and how long they took.
struct OpMetrics {
  metrics::Counter* ops = nullptr;
  metrics::CodeCounters* errors = nullptr;  // by status
  metrics::Histogram* duration = nullptr;
};
const OpMetrics& MetricsOf(uint32_t op) {
  static const auto all = [] {
    std::array<OpMetrics, kLastNfs42Op + 1> out{};
    metrics::Registry& r = metrics::Default();
    for (uint32_t op = OP_ACCESS; op <= kLastNfs42Op; ++op) {
      const metrics::Labels labels = {{"op", OpName(op)}};
      out[op].ops = r.GetCounter("dittofs_nfs4_operations_total",
                                 "NFSv4 operations run (inside COMPOUNDs), by operation.", labels);
      // Made once, for the life of the process, as the registry's counters are.
      out[op].errors = new metrics::CodeCounters(
          r, "dittofs_nfs4_operation_errors_total",
          "NFSv4 operations that failed, by operation and status.", labels, "status",
          [](uint32_t code) { return std::string(ToString(static_cast<nfsstat4>(code))); });
      out[op].duration = r.GetHistogram("dittofs_nfs4_operation_duration_seconds",
                                        "How long NFSv4 operations took to run.", labels);
    }
    return out;
  }();
  static const OpMetrics none{};
  return op < all.size() && all[op].ops != nullptr ? all[op] : none;
}

// 4.0 operations that change what a repetition would find: their COMPOUND's reply is kept for
// a retransmission. (WRITE is left out: repeating it writes the same bytes again, and its
// replies would fill the cache with data.)
bool ChangesState(uint32_t op) {
  switch (op) {
    case OP_CLOSE:
    case OP_CREATE:
    case OP_DELEGRETURN:
    case OP_LINK:
    case OP_LOCK:
    case OP_LOCKU:
    case OP_OPEN:
    case OP_OPEN_CONFIRM:
    case OP_OPEN_DOWNGRADE:
    case OP_RELEASE_LOCKOWNER:
    case OP_REMOVE:
    case OP_RENAME:
    case OP_SETATTR:
    case OP_SETCLIENTID:
    case OP_SETCLIENTID_CONFIRM:
      return true;
    default:
      return false;
  }
}

// Operations a 4.1 COMPOUND may hold without a SEQUENCE, as its only operation (RFC 8881
// §2.10.6.4, §18.46.3).
bool SessionlessOp(uint32_t op) {
  return op == OP_EXCHANGE_ID || op == OP_CREATE_SESSION || op == OP_DESTROY_SESSION ||
         op == OP_DESTROY_CLIENTID || op == OP_BIND_CONN_TO_SESSION;
}

nfs_resop4 Failed(uint32_t op, nfsstat4 s) {
  nfs_resop4 r;
  r.op = op;
  r.res = s;
  return r;
}

}  // namespace

bool Nfs4Service::Compound(const rpc::CallContext& call, xdr::XdrDecoder& d,
                           xdr::XdrEncoder& results) {
  const size_t request_size = d.remaining();
  COMPOUND4args_header h;
  if (!DecodeCompoundHeader(d, &h)) {
    // The header itself does not decode (a tag past its bound, more operations than could
    // ever be served): answered as a COMPOUND that did nothing.
    results.U32(static_cast<uint32_t>(nfsstat4::NFS4ERR_BADXDR));
    results.String("");
    results.U32(0);
    return true;
  }
  Ctx c(call);
  c.request_size = request_size;
  c.caller = CallerOf(call);
  c.minor = h.minorversion;
  c.numops = h.numops;

  xdr::XdrEncoder out;
  const size_t status_at = out.Reserve32();
  out.String(h.tag);
  const size_t count_at = out.Reserve32();
  nfsstat4 status = nfsstat4::NFS4_OK;
  uint32_t count = 0;

  auto finish = [&]() {
    out.Patch32(status_at, static_cast<uint32_t>(status));
    out.Patch32(count_at, count);
  };

  if (c.minor > 2 || (minors_.load(std::memory_order_relaxed) & (1u << c.minor)) == 0) {
    status = nfsstat4::NFS4ERR_MINOR_VERS_MISMATCH;
    finish();
    results.Append(std::move(out));
    return true;
  }

  // Declared before `release`, which moves it into the slot as it goes.
  std::string cached_reply;
  // The slot a 4.1 SEQUENCE took, released (with the reply cached) however this ends.
  struct SlotRelease {
    Ctx& c;
    std::string* reply = nullptr;
    ~SlotRelease() {
      if (!c.session) return;
      // Served: the lease runs from the end of the compound.
      c.session->client->renewed.store(MonotonicNanos());
      c.session->client->in_flight.fetch_sub(1);
      MutexLock lock(&c.session->mu);
      if (c.slot >= c.session->slots.size()) return;
      Nfs4Slot& slot = c.session->slots[c.slot];
      slot.in_use = false;
      slot.cached = reply != nullptr;
      slot.reply = reply != nullptr ? std::move(*reply) : std::string();
    }
  } release{c};

  bool traced_share = false;  // whether the COMPOUND's span names its share yet
  for (c.index = 0; c.index < h.numops; ++c.index) {
    nfs_argop4 op;
    const bool decoded = Decode(d, &op);
    nfs_resop4 res;
    if (c.index == 0 && h.numops > options_.max_ops) {
      res =
          Failed(op.op, c.minor == 0 ? nfsstat4::NFS4ERR_RESOURCE : nfsstat4::NFS4ERR_TOO_MANY_OPS);
    } else if (!decoded) {
      res = Failed(op.op, nfsstat4::NFS4ERR_BADXDR);
    } else if (op.op < OP_ACCESS || op.op > (c.minor >= 2 ? kLastNfs42Op : OP_RECLAIM_COMPLETE) ||
               (c.minor == 0 && op.op > OP_RELEASE_LOCKOWNER)) {
      // Not an operation of this minor version (4.2's, RFC 7862 §11 and RFC 8276, only in 4.2).
      res = Failed(OP_ILLEGAL, nfsstat4::NFS4ERR_OP_ILLEGAL);
    } else if (c.minor == 0 && op.op > OP_RELEASE_LOCKOWNER) {
      res = Failed(OP_ILLEGAL, nfsstat4::NFS4ERR_OP_ILLEGAL);
    } else if (c.minor >= 1 && c.index == 0 && op.op != OP_SEQUENCE && h.numops > 1 &&
               SessionlessOp(op.op)) {
      res = Failed(op.op, nfsstat4::NFS4ERR_NOT_ONLY_OP);
    } else if (c.minor >= 1 && c.index == 0 && op.op != OP_SEQUENCE && !SessionlessOp(op.op)) {
      res = Failed(op.op, nfsstat4::NFS4ERR_OP_NOT_IN_SESSION);
    } else if (c.minor >= 1 && c.index > 0 && op.op == OP_SEQUENCE) {
      res = Failed(op.op, nfsstat4::NFS4ERR_SEQUENCE_POS);
    } else {
      const auto started = std::chrono::steady_clock::now();
      // A child span of the COMPOUND's per operation, when the call is traced.
      trace::Span op_span;
      if (call.span != nullptr && call.span->recording()) {
        op_span = trace::Span::Child(fmt::format("nfs4.{}", OpName(op.op)));
      }
      res = Dispatch(c, op);
      if (op_span.recording()) {
        op_span.SetAttribute("nfs4.status", ToString(res.status()));
        if (res.status() != nfsstat4::NFS4_OK) op_span.SetError(ToString(res.status()));
        // The share of the current file handle, after the operation; the COMPOUND's span
        // takes the first share one of its operations was in.
        if (c.current.kind == Nfs4Fh::Kind::kShare) {
          if (std::shared_ptr<core::Share> share = shares_.ById(c.current.share)) {
            op_span.SetAttribute("dittofs.share", share->name());
            if (!traced_share) {
              traced_share = true;
              call.span->SetAttribute("dittofs.share", share->name());
            }
          }
        }
      }
      if (const OpMetrics& m = MetricsOf(op.op); m.ops != nullptr) {
        m.ops->Inc();
        m.duration->Observe(std::chrono::steady_clock::now() - started);
        if (res.status() != nfsstat4::NFS4_OK) m.errors->Inc(static_cast<uint32_t>(res.status()));
      }
      if (c.minor == 0 && call.keep_reply != nullptr && ChangesState(op.op)) {
        *call.keep_reply = true;
      }
      if (c.replay) {
        // A retransmission: the slot's cached reply answers it, byte for byte.
        results.FixedOpaque(AsBytes(*c.replay));
        return true;
      }
    }
    xdr::XdrEncoder one;
    EncodeResop(one, res);
    if (auto* read = std::get_if<READ4res>(&res.res)) {  // a READ refused early is a bare status
      for (auto& hold : read->holds) one.Retain(std::move(hold));
    }
    // RFC 8881 §2.10.6.4, §18.46.3: the reply would pass the session's maxresponsesize, or,
    // asked to be cached (sa_cachethis), its maxresponsesize_cached: this operation fails
    // with REP_TOO_BIG or REP_TOO_BIG_TO_CACHE and the COMPOUND ends there.
    const size_t would_be = out.size() + one.size();
    nfsstat4 too_big = nfsstat4::NFS4_OK;
    if (would_be > c.reply_limit) {
      too_big = nfsstat4::NFS4ERR_REP_TOO_BIG;
    } else if (c.session && c.cachethis && would_be > c.session->fore.maxresponsesize_cached) {
      too_big = nfsstat4::NFS4ERR_REP_TOO_BIG_TO_CACHE;
    }
    if (too_big != nfsstat4::NFS4_OK) {
      xdr::XdrEncoder small;
      EncodeResop(small, Failed(res.op, too_big));
      out.Append(std::move(small));
      ++count;
      status = too_big;
      break;
    }
    out.Append(std::move(one));
    ++count;
    status = res.status();
    if (status != nfsstat4::NFS4_OK) {
      LOG_DEBUG("nfs4: xid {:#x} {} (op {} of {}): status {}", call.xid, OpName(res.op),
                c.index + 1, h.numops, static_cast<uint32_t>(status));
      break;
    }
  }
  finish();
  if (c.session && c.cachethis) {
    if (out.size() <= c.session->fore.maxresponsesize_cached) {
      cached_reply = out.ToString();
      release.reply = &cached_reply;
    }
  }
  results.Append(std::move(out));
  return true;
}

nfs_resop4 Nfs4Service::Dispatch(Ctx& c, nfs_argop4& op) {
  nfs_resop4 r;
  r.op = op.op;
  auto set = [&r](auto res) { r.res = std::move(res); };
  switch (op.op) {
    case OP_ACCESS:
      set(Access(c, std::get<ACCESS4args>(op.args)));
      break;
    case OP_CLOSE:
      set(Close(c, std::get<CLOSE4args>(op.args)));
      break;
    case OP_COMMIT:
      set(Commit(c, std::get<COMMIT4args>(op.args)));
      break;
    case OP_CREATE:
      set(Create(c, std::get<CREATE4args>(op.args)));
      break;
    case OP_DELEGPURGE:
      // No CLAIM_DELEGATE_PREV: there is nothing to purge (RFC 8881 §18.5.3).
      set(nfsstat4::NFS4ERR_NOTSUPP);
      break;
    case OP_DELEGRETURN:
      set(DelegReturn(c, std::get<DELEGRETURN4args>(op.args)));
      break;
    case OP_GETATTR:
      set(GetAttr(c, std::get<GETATTR4args>(op.args)));
      break;
    case OP_GETFH:
      set(GetFh(c));
      break;
    case OP_LINK:
      set(Link(c, std::get<LINK4args>(op.args)));
      break;
    case OP_LOCK:
      set(Lock(c, std::get<LOCK4args>(op.args)));
      break;
    case OP_LOCKT:
      set(LockT(c, std::get<LOCKT4args>(op.args)));
      break;
    case OP_LOCKU:
      set(LockU(c, std::get<LOCKU4args>(op.args)));
      break;
    case OP_LOOKUP:
      set(Lookup(c, std::get<LOOKUP4args>(op.args)));
      break;
    case OP_LOOKUPP:
      set(Lookupp(c));
      break;
    case OP_NVERIFY:
      set(Verify(c, std::get<NVERIFY4args>(op.args).obj_attributes, false));
      break;
    case OP_OPEN:
      set(Open(c, std::get<OPEN4args>(op.args)));
      break;
    case OP_OPENATTR:
      // Named attributes are not served (RFC 8881 §5.3: OPENATTR is OPTIONAL).
      set(c.current.none() ? nfsstat4::NFS4ERR_NOFILEHANDLE : nfsstat4::NFS4ERR_NOTSUPP);
      break;
    case OP_OPEN_CONFIRM:
      set(OpenConfirm(c, std::get<OPEN_CONFIRM4args>(op.args)));
      break;
    case OP_OPEN_DOWNGRADE:
      set(OpenDowngrade(c, std::get<OPEN_DOWNGRADE4args>(op.args)));
      break;
    case OP_PUTFH:
      set(PutFh(c, std::get<PUTFH4args>(op.args)));
      break;
    case OP_PUTPUBFH:  // the public file handle is the root (RFC 8881 §18.20.3)
    case OP_PUTROOTFH:
      set(PutRootFh(c));
      break;
    case OP_READ:
      set(Read(c, std::get<READ4args>(op.args)));
      break;
    case OP_READDIR:
      set(ReadDir(c, std::get<READDIR4args>(op.args)));
      break;
    case OP_READLINK:
      set(ReadLink(c));
      break;
    case OP_REMOVE:
      set(Remove(c, std::get<REMOVE4args>(op.args)));
      break;
    case OP_RENAME:
      set(Rename(c, std::get<RENAME4args>(op.args)));
      break;
    case OP_RENEW:
      set(Renew(c, std::get<RENEW4args>(op.args)));
      break;
    case OP_RESTOREFH:
      set(RestoreFh(c));
      break;
    case OP_SAVEFH:
      set(SaveFh(c));
      break;
    case OP_SECINFO:
      if (std::get<SECINFO4args>(op.args).name.empty()) {
        set(Failed(op.op, nfsstat4::NFS4ERR_INVAL).res);  // a name is required
      } else {
        set(SecInfo(c, false, std::get<SECINFO4args>(op.args).name));
      }
      break;
    case OP_SETATTR:
      set(SetAttr(c, std::get<SETATTR4args>(op.args)));
      break;
    case OP_SETCLIENTID:
      set(SetClientId(c, std::get<SETCLIENTID4args>(op.args)));
      break;
    case OP_SETCLIENTID_CONFIRM:
      set(SetClientIdConfirm(c, std::get<SETCLIENTID_CONFIRM4args>(op.args)));
      break;
    case OP_VERIFY:
      set(Verify(c, std::get<VERIFY4args>(op.args).obj_attributes, true));
      break;
    case OP_WRITE:
      set(Write(c, std::get<WRITE4args>(op.args)));
      break;
    case OP_RELEASE_LOCKOWNER:
      set(ReleaseLockOwner(c, std::get<RELEASE_LOCKOWNER4args>(op.args)));
      break;
    case OP_BACKCHANNEL_CTL:
      set(BackchannelCtl(c, std::get<BACKCHANNEL_CTL4args>(op.args)));
      break;
    case OP_BIND_CONN_TO_SESSION:
      set(BindConnToSession(c, std::get<BIND_CONN_TO_SESSION4args>(op.args)));
      break;
    case OP_EXCHANGE_ID:
      set(ExchangeId(c, std::get<EXCHANGE_ID4args>(op.args)));
      break;
    case OP_CREATE_SESSION:
      set(CreateSession(c, std::get<CREATE_SESSION4args>(op.args)));
      break;
    case OP_DESTROY_SESSION:
      set(DestroySession(c, std::get<DESTROY_SESSION4args>(op.args)));
      break;
    case OP_FREE_STATEID:
      set(FreeStateid(c, std::get<FREE_STATEID4args>(op.args)));
      break;
    case OP_GET_DIR_DELEGATION: {
      // Directory delegations are not granted: "unavailable", which the client takes as an
      // answer, not an error (RFC 8881 §18.39.3).
      GET_DIR_DELEGATION4res res;
      if (c.current.none()) {
        res.status = nfsstat4::NFS4ERR_NOFILEHANDLE;
      }
      set(res);
      break;
    }
    case OP_GETDEVICEINFO:
    case OP_GETDEVICELIST:
    case OP_LAYOUTCOMMIT:
    case OP_LAYOUTGET:
    case OP_LAYOUTRETURN:
    case OP_LAYOUTERROR:
    case OP_LAYOUTSTATS:
      // No pNFS (EXCHANGE_ID says USE_NON_PNFS).
      set(nfsstat4::NFS4ERR_NOTSUPP);
      break;
    case OP_COPY_NOTIFY:
      // Copies between servers (RFC 7862 §4.1.2): this server copies within itself only.
    case OP_IO_ADVISE:
    case OP_WRITE_SAME:
      // OPTIONAL operations this server does not serve (RFC 7862 §15.5, §15.12).
      set(nfsstat4::NFS4ERR_NOTSUPP);
      break;
    case OP_ALLOCATE:
      set(Allocate(c, std::get<ALLOCATE4args>(op.args)));
      break;
    case OP_DEALLOCATE:
      set(Deallocate(c, std::get<DEALLOCATE4args>(op.args)));
      break;
    case OP_SEEK:
      set(Seek(c, std::get<SEEK4args>(op.args)));
      break;
    case OP_READ_PLUS:
      set(ReadPlus(c, std::get<READ_PLUS4args>(op.args)));
      break;
    case OP_CLONE:
      set(Clone(c, std::get<CLONE4args>(op.args)));
      break;
    case OP_COPY:
      set(Copy(c, std::get<COPY4args>(op.args)));
      break;
    case OP_OFFLOAD_CANCEL:
      set(OffloadCancel(c, std::get<OFFLOAD_CANCEL4args>(op.args)));
      break;
    case OP_OFFLOAD_STATUS:
      set(OffloadStatus(c, std::get<OFFLOAD_STATUS4args>(op.args)));
      break;
    case OP_GETXATTR:
      set(GetXattr(c, std::get<GETXATTR4args>(op.args)));
      break;
    case OP_SETXATTR:
      set(SetXattr(c, std::get<SETXATTR4args>(op.args)));
      break;
    case OP_LISTXATTRS:
      set(ListXattrs(c, std::get<LISTXATTRS4args>(op.args)));
      break;
    case OP_REMOVEXATTR:
      set(RemoveXattr(c, std::get<REMOVEXATTR4args>(op.args)));
      break;
    case OP_SECINFO_NO_NAME:
      set(SecInfo(
          c, std::get<SECINFO_NO_NAME4args>(op.args).style == secinfo_style4::SECINFO_STYLE4_PARENT,
          {}));
      break;
    case OP_SEQUENCE: {
      SEQUENCE4res res;
      const auto& a = std::get<SEQUENCE4args>(op.args);
      res.sessionid = a.sessionid;
      res.sequenceid = a.sequenceid;
      res.slotid = a.slotid;
      std::shared_ptr<Nfs4Session> s = state_.FindSession(a.sessionid);
      if (!s) {
        res.status = nfsstat4::NFS4ERR_BADSESSION;
        set(res);
        break;
      }
      {
        MutexLock lock(&s->mu);
        // The session's negotiated limits (RFC 8881 §18.46.3), before the slot is taken.
        if (c.request_size > s->fore.maxrequestsize) {
          res.status = nfsstat4::NFS4ERR_REQ_TOO_BIG;
        } else if (c.numops > s->fore.maxoperations) {
          res.status = nfsstat4::NFS4ERR_TOO_MANY_OPS;
        } else if (a.slotid >= s->slots.size()) {
          res.status = nfsstat4::NFS4ERR_BADSLOT;
        } else {
          Nfs4Slot& slot = s->slots[a.slotid];
          if (a.sequenceid == slot.seqid && slot.seqid != 0) {
            // RFC 8881 §2.10.6.1.2: a retransmission of the slot's last call.
            if (slot.in_use) {
              res.status = nfsstat4::NFS4ERR_DELAY;
            } else if (slot.cached) {
              c.replay = slot.reply;
            } else {
              res.status = nfsstat4::NFS4ERR_RETRY_UNCACHED_REP;
            }
          } else if (a.sequenceid != slot.seqid + 1) {
            res.status = nfsstat4::NFS4ERR_SEQ_MISORDERED;
          } else if (slot.in_use) {
            res.status = nfsstat4::NFS4ERR_DELAY;
          } else {
            slot.seqid = a.sequenceid;
            slot.in_use = true;
            slot.cached = false;
            slot.reply.clear();
          }
          res.highest_slotid = static_cast<slotid4>(s->slots.size() - 1);
          res.target_highest_slotid = res.highest_slotid;
        }
      }
      if (res.status == nfsstat4::NFS4_OK && !c.replay) {
        c.session = s;
        s->client->in_flight.fetch_add(1);  // until SlotRelease
        c.slot = a.slotid;
        c.cachethis = a.cachethis;
        c.reply_limit = s->fore.maxresponsesize;
        s->client->renewed.store(MonotonicNanos());
        {
          MutexLock lock(&s->mu);
          if (s->cb_down) res.status_flags |= SEQ4_STATUS_CB_PATH_DOWN_SESSION;
        }
        {
          MutexLock lock(&s->client->mu);
          if (s->client->revoked_state) {
            res.status_flags |= SEQ4_STATUS_RECALLABLE_STATE_REVOKED;
          }
        }
      }
      set(res);
      break;
    }
    case OP_SET_SSV:
      // SP4_SSV is never granted (EXCHANGE_ID), so there is no SSV to set.
      set(nfsstat4::NFS4ERR_INVAL);
      break;
    case OP_TEST_STATEID:
      set(TestStateid(c, std::get<TEST_STATEID4args>(op.args)));
      break;
    case OP_WANT_DELEGATION: {
      WANT_DELEGATION4res res;
      if (c.current.none()) {
        res.status = nfsstat4::NFS4ERR_NOFILEHANDLE;
      } else {
        res.delegation.delegation_type = open_delegation_type4::OPEN_DELEGATE_NONE_EXT;
        res.delegation.ond_why = why_no_delegation4::WND4_RESOURCE;
      }
      set(res);
      break;
    }
    case OP_DESTROY_CLIENTID:
      set(DestroyClientId(c, std::get<DESTROY_CLIENTID4args>(op.args)));
      break;
    case OP_RECLAIM_COMPLETE:
      set(ReclaimComplete(c, std::get<RECLAIM_COMPLETE4args>(op.args)));
      break;
    default:
      r.op = OP_ILLEGAL;
      set(nfsstat4::NFS4ERR_OP_ILLEGAL);
      break;
  }
  return r;
}

// ---- File handles ----

nfsstat4 Nfs4Service::PutFh(Ctx& c, const PUTFH4args& a) {
  Result<DecodedHandle> h = handles_.Decode(a.object.data);
  if (!h.ok()) {
    return h.status().code() == Errc::kStale ? nfsstat4::NFS4ERR_STALE
                                             : nfsstat4::NFS4ERR_BADHANDLE;
  }
  Nfs4Fh fh;
  if (h->share == 0) {
    if (c.Pseudo(shares_).Find(h->file.inode) == nullptr) return nfsstat4::NFS4ERR_STALE;
    fh.kind = Nfs4Fh::Kind::kPseudo;
    fh.pseudo = h->file.inode;
  } else {
    fh.kind = Nfs4Fh::Kind::kShare;
    fh.share = h->share;
    fh.file = h->file;
    // A handle of a share that is gone is stale now, not at the next operation.
    std::shared_ptr<core::Share> share = shares_.ById(h->share);
    if (!share) return nfsstat4::NFS4ERR_STALE;
    // A share that requires TLS (RFC 9289) is entered over TLS only: as for a security flavor
    // the share does not accept (RFC 8881 §2.6.3.1).
    if (WrongSecurity(c.call, share->vfs()->options())) return nfsstat4::NFS4ERR_WRONGSEC;
  }
  c.SetCurrent(fh);
  return nfsstat4::NFS4_OK;
}

nfsstat4 Nfs4Service::PutRootFh(Ctx& c) {
  Nfs4Fh fh;
  fh.kind = Nfs4Fh::Kind::kPseudo;
  fh.pseudo = kPseudoRootId;
  c.SetCurrent(fh);
  return nfsstat4::NFS4_OK;
}

nfsstat4 Nfs4Service::SaveFh(Ctx& c) {
  if (c.current.none()) return nfsstat4::NFS4ERR_NOFILEHANDLE;
  c.saved = c.current;
  c.saved_stateid = c.current_stateid;
  return nfsstat4::NFS4_OK;
}

nfsstat4 Nfs4Service::RestoreFh(Ctx& c) {
  if (c.saved.none()) return nfsstat4::NFS4ERR_RESTOREFH;
  c.current = c.saved;
  c.current_stateid = c.saved_stateid;
  return nfsstat4::NFS4_OK;
}

GETFH4res Nfs4Service::GetFh(Ctx& c) {
  GETFH4res r;
  if (c.current.none()) {
    r.status = nfsstat4::NFS4ERR_NOFILEHANDLE;
    return r;
  }
  FileHandleCodec::Handle bytes = c.current.is_pseudo()
                                      ? handles_.Encode(0, core::FileId{c.current.pseudo, 0})
                                      : handles_.Encode(c.current.share, c.current.file);
  r.object = nfs_fh4_owned::CopyFrom(ByteView(bytes.data(), bytes.size()));
  return r;
}

}  // namespace dittofs::nfs

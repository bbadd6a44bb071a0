// SPDX-License-Identifier: Apache-2.0
// XDR codecs for the NFSv4.0 and 4.1 types of nfs4_types.h, field by field in the order of the
// RFC 7531 and RFC 5662 XDR descriptions.
//
// Requests are decoded as views into the input (the server's side). Results and callback
// replies are decoded into owned values (the test client's and the callback client's side):
// attribute values, READ data and lock owners are copied, so a decoded COMPOUND4res outlives
// the bytes it came from.
#include <bit>
#include <cstring>
#include <memory>
#include <string>
#include <type_traits>
#include <utility>

#include "base/check.h"
#include "nfs/proto/nfs4_types.h"

namespace dittofs::nfs {

nfs_fh4_owned nfs_fh4_owned::CopyFrom(ByteView bytes) {
  CHECK(bytes.size() <= NFS4_FHSIZE)
      << "file handle of " << bytes.size() << " bytes exceeds " << NFS4_FHSIZE;
  nfs_fh4_owned fh;
  if (!bytes.empty()) std::memcpy(fh.data.data(), bytes.data(), bytes.size());
  fh.size = static_cast<uint8_t>(bytes.size());
  return fh;
}

namespace {

// Bounds of what is decoded only to be dropped.
constexpr uint32_t kMaxSecOids = 16;            // ssv_sp_parms4's hash and encryption algorithms
constexpr size_t kMaxAuthSysMachineName = 255;  // RFC 5531 authsys_parms
constexpr uint32_t kMaxAuthSysGids = 16;
constexpr uint32_t kMaxReferringCalls = 64;  // referring_call4 per referring_call_list4

// RPC authentication flavors callback_sec_parms4 and secinfo4 switch on (RFC 5531, RFC 2203).
constexpr uint32_t kAuthNone = 0;
constexpr uint32_t kAuthSys = 1;
constexpr uint32_t kRpcsecGss = 6;
constexpr uint32_t kRpcGssSvcNone = 1;
constexpr uint32_t kRpcGssSvcPrivacy = 3;

// limit_by4 (nfs_space_limit4) and gddrnf4_status (GET_DIR_DELEGATION4res_non_fatal).
constexpr uint32_t NFS_LIMIT_SIZE = 1;
constexpr uint32_t NFS_LIMIT_BLOCKS = 2;
constexpr uint32_t GDD4_OK = 0;
constexpr uint32_t GDD4_UNAVAIL = 1;

constexpr uint32_t kNanosPerSecond = 1'000'000'000;

size_t Padded(size_t n) { return (n + 3) & ~size_t{3}; }

using xdr::DecodeRange;
using xdr::EncodeEnum;

bool IsNfsstat4(uint32_t v) {
  switch (static_cast<nfsstat4>(v)) {
    case nfsstat4::NFS4_OK:
    case nfsstat4::NFS4ERR_PERM:
    case nfsstat4::NFS4ERR_NOENT:
    case nfsstat4::NFS4ERR_IO:
    case nfsstat4::NFS4ERR_NXIO:
    case nfsstat4::NFS4ERR_ACCESS:
    case nfsstat4::NFS4ERR_EXIST:
    case nfsstat4::NFS4ERR_XDEV:
    case nfsstat4::NFS4ERR_NOTDIR:
    case nfsstat4::NFS4ERR_ISDIR:
    case nfsstat4::NFS4ERR_INVAL:
    case nfsstat4::NFS4ERR_FBIG:
    case nfsstat4::NFS4ERR_NOSPC:
    case nfsstat4::NFS4ERR_ROFS:
    case nfsstat4::NFS4ERR_MLINK:
    case nfsstat4::NFS4ERR_NAMETOOLONG:
    case nfsstat4::NFS4ERR_NOTEMPTY:
    case nfsstat4::NFS4ERR_DQUOT:
    case nfsstat4::NFS4ERR_STALE:
    case nfsstat4::NFS4ERR_BADHANDLE:
    case nfsstat4::NFS4ERR_BAD_COOKIE:
    case nfsstat4::NFS4ERR_NOTSUPP:
    case nfsstat4::NFS4ERR_TOOSMALL:
    case nfsstat4::NFS4ERR_SERVERFAULT:
    case nfsstat4::NFS4ERR_BADTYPE:
    case nfsstat4::NFS4ERR_DELAY:
    case nfsstat4::NFS4ERR_SAME:
    case nfsstat4::NFS4ERR_DENIED:
    case nfsstat4::NFS4ERR_EXPIRED:
    case nfsstat4::NFS4ERR_LOCKED:
    case nfsstat4::NFS4ERR_GRACE:
    case nfsstat4::NFS4ERR_FHEXPIRED:
    case nfsstat4::NFS4ERR_SHARE_DENIED:
    case nfsstat4::NFS4ERR_WRONGSEC:
    case nfsstat4::NFS4ERR_CLID_INUSE:
    case nfsstat4::NFS4ERR_RESOURCE:
    case nfsstat4::NFS4ERR_MOVED:
    case nfsstat4::NFS4ERR_NOFILEHANDLE:
    case nfsstat4::NFS4ERR_MINOR_VERS_MISMATCH:
    case nfsstat4::NFS4ERR_STALE_CLIENTID:
    case nfsstat4::NFS4ERR_STALE_STATEID:
    case nfsstat4::NFS4ERR_OLD_STATEID:
    case nfsstat4::NFS4ERR_BAD_STATEID:
    case nfsstat4::NFS4ERR_BAD_SEQID:
    case nfsstat4::NFS4ERR_NOT_SAME:
    case nfsstat4::NFS4ERR_LOCK_RANGE:
    case nfsstat4::NFS4ERR_SYMLINK:
    case nfsstat4::NFS4ERR_RESTOREFH:
    case nfsstat4::NFS4ERR_LEASE_MOVED:
    case nfsstat4::NFS4ERR_ATTRNOTSUPP:
    case nfsstat4::NFS4ERR_NO_GRACE:
    case nfsstat4::NFS4ERR_RECLAIM_BAD:
    case nfsstat4::NFS4ERR_RECLAIM_CONFLICT:
    case nfsstat4::NFS4ERR_BADXDR:
    case nfsstat4::NFS4ERR_LOCKS_HELD:
    case nfsstat4::NFS4ERR_OPENMODE:
    case nfsstat4::NFS4ERR_BADOWNER:
    case nfsstat4::NFS4ERR_BADCHAR:
    case nfsstat4::NFS4ERR_BADNAME:
    case nfsstat4::NFS4ERR_BAD_RANGE:
    case nfsstat4::NFS4ERR_LOCK_NOTSUPP:
    case nfsstat4::NFS4ERR_OP_ILLEGAL:
    case nfsstat4::NFS4ERR_DEADLOCK:
    case nfsstat4::NFS4ERR_FILE_OPEN:
    case nfsstat4::NFS4ERR_ADMIN_REVOKED:
    case nfsstat4::NFS4ERR_CB_PATH_DOWN:
    case nfsstat4::NFS4ERR_BADIOMODE:
    case nfsstat4::NFS4ERR_BADLAYOUT:
    case nfsstat4::NFS4ERR_BAD_SESSION_DIGEST:
    case nfsstat4::NFS4ERR_BADSESSION:
    case nfsstat4::NFS4ERR_BADSLOT:
    case nfsstat4::NFS4ERR_COMPLETE_ALREADY:
    case nfsstat4::NFS4ERR_CONN_NOT_BOUND_TO_SESSION:
    case nfsstat4::NFS4ERR_DELEG_ALREADY_WANTED:
    case nfsstat4::NFS4ERR_BACK_CHAN_BUSY:
    case nfsstat4::NFS4ERR_LAYOUTTRYLATER:
    case nfsstat4::NFS4ERR_LAYOUTUNAVAILABLE:
    case nfsstat4::NFS4ERR_NOMATCHING_LAYOUT:
    case nfsstat4::NFS4ERR_RECALLCONFLICT:
    case nfsstat4::NFS4ERR_UNKNOWN_LAYOUTTYPE:
    case nfsstat4::NFS4ERR_SEQ_MISORDERED:
    case nfsstat4::NFS4ERR_SEQUENCE_POS:
    case nfsstat4::NFS4ERR_REQ_TOO_BIG:
    case nfsstat4::NFS4ERR_REP_TOO_BIG:
    case nfsstat4::NFS4ERR_REP_TOO_BIG_TO_CACHE:
    case nfsstat4::NFS4ERR_RETRY_UNCACHED_REP:
    case nfsstat4::NFS4ERR_UNSAFE_COMPOUND:
    case nfsstat4::NFS4ERR_TOO_MANY_OPS:
    case nfsstat4::NFS4ERR_OP_NOT_IN_SESSION:
    case nfsstat4::NFS4ERR_HASH_ALG_UNSUPP:
    case nfsstat4::NFS4ERR_CLIENTID_BUSY:
    case nfsstat4::NFS4ERR_PNFS_IO_HOLE:
    case nfsstat4::NFS4ERR_SEQ_FALSE_RETRY:
    case nfsstat4::NFS4ERR_BAD_HIGH_SLOT:
    case nfsstat4::NFS4ERR_DEADSESSION:
    case nfsstat4::NFS4ERR_ENCR_ALG_UNSUPP:
    case nfsstat4::NFS4ERR_PNFS_NO_LAYOUT:
    case nfsstat4::NFS4ERR_NOT_ONLY_OP:
    case nfsstat4::NFS4ERR_WRONG_CRED:
    case nfsstat4::NFS4ERR_WRONG_TYPE:
    case nfsstat4::NFS4ERR_DIRDELEG_UNAVAIL:
    case nfsstat4::NFS4ERR_REJECT_DELEG:
    case nfsstat4::NFS4ERR_RETURNCONFLICT:
    case nfsstat4::NFS4ERR_DELEG_REVOKED:
    case nfsstat4::NFS4ERR_PARTNER_NOTSUPP:
    case nfsstat4::NFS4ERR_PARTNER_NO_AUTH:
    case nfsstat4::NFS4ERR_UNION_NOTSUPP:
    case nfsstat4::NFS4ERR_OFFLOAD_DENIED:
    case nfsstat4::NFS4ERR_WRONG_LFS:
    case nfsstat4::NFS4ERR_BADLABEL:
    case nfsstat4::NFS4ERR_OFFLOAD_NO_REQS:
    case nfsstat4::NFS4ERR_NOXATTR:
    case nfsstat4::NFS4ERR_XATTR2BIG:
      return true;
  }
  return false;
}

nfsstat4 DecodeStatus(xdr::XdrDecoder& d) {
  const uint32_t v = d.U32();
  if (!IsNfsstat4(v)) d.Fail();
  return d.ok() ? static_cast<nfsstat4>(v) : nfsstat4::NFS4ERR_SERVERFAULT;
}
void Encode(xdr::XdrEncoder& e, nfsstat4 in) { EncodeEnum(e, in); }

// verifier4, sessionid4 and stateid4's `other`: fixed-length opaques.
template <size_t N>
void DecodeFixed(xdr::XdrDecoder& d, std::array<std::byte, N>* out) {
  ByteView v = d.FixedOpaque(N);
  if (d.ok()) std::memcpy(out->data(), v.data(), N);
}
template <size_t N>
void EncodeFixed(xdr::XdrEncoder& e, const std::array<std::byte, N>& in) {
  e.FixedOpaque(ByteView(in.data(), N));
}

std::string OwnedString(xdr::XdrDecoder& d, size_t max) { return std::string(d.String(max)); }

// component4: a name, bounded here (longer than the server's maximum: NAMETOOLONG later).
std::string_view DecodeComponent(xdr::XdrDecoder& d) { return d.String(kMaxNfs4Name); }

// Calls f(bit) for each bit set in `b`, in ascending order.
template <typename F>
void ForEachBit(const bitmap4& b, F f) {
  for (size_t w = 0; w < b.words.size(); ++w) {
    for (uint32_t bits = b.words[w]; bits != 0; bits &= bits - 1) {
      f(static_cast<uint32_t>(w * 32 + std::countr_zero(bits)));
    }
  }
}

// nfstime4. The attribute decoder checks nseconds itself (NFS4ERR_INVAL, not BADXDR).
void DecodeTimeUnchecked(xdr::XdrDecoder& d, nfstime4* out) {
  out->seconds = d.I64();
  out->nseconds = d.U32();
}
void DecodeTime(xdr::XdrDecoder& d, nfstime4* out) {
  DecodeTimeUnchecked(d, out);
  if (out->nseconds >= kNanosPerSecond) d.Fail();
}
void Encode(xdr::XdrEncoder& e, const nfstime4& in) {
  e.I64(in.seconds);
  e.U32(in.nseconds);
}

void Decode(xdr::XdrDecoder& d, fsid4* out) {
  out->major = d.U64();
  out->minor = d.U64();
}
void Encode(xdr::XdrEncoder& e, const fsid4& in) {
  e.U64(in.major);
  e.U64(in.minor);
}

void Decode(xdr::XdrDecoder& d, specdata4* out) {
  out->specdata1 = d.U32();
  out->specdata2 = d.U32();
}
void Encode(xdr::XdrEncoder& e, const specdata4& in) {
  e.U32(in.specdata1);
  e.U32(in.specdata2);
}

void Decode(xdr::XdrDecoder& d, nfs_fh4* out) { out->data = d.VarOpaque(NFS4_FHSIZE); }
void Encode(xdr::XdrEncoder& e, const nfs_fh4& in) { e.VarOpaque(in.data); }
void Decode(xdr::XdrDecoder& d, nfs_fh4_owned* out) {
  ByteView v = d.VarOpaque(NFS4_FHSIZE);
  *out = d.ok() ? nfs_fh4_owned::CopyFrom(v) : nfs_fh4_owned{};
}
void Encode(xdr::XdrEncoder& e, const nfs_fh4_owned& in) { e.VarOpaque(in.view()); }

// A fattr4 in a result: its values copied, so it outlives the input.
void DecodeOwned(xdr::XdrDecoder& d, fattr4* out) {
  Decode(d, out);
  out->owned_vals = std::string(AsChars(out->attr_vals));
  out->attr_vals = {};
}

void Decode(xdr::XdrDecoder& d, change_info4* out) {
  out->atomic = d.Bool();
  out->before = d.U64();
  out->after = d.U64();
}
void Encode(xdr::XdrEncoder& e, const change_info4& in) {
  e.Bool(in.atomic);
  e.U64(in.before);
  e.U64(in.after);
}

// open_owner4 and lock_owner4: a view in a request.
void Decode(xdr::XdrDecoder& d, state_owner4* out) {
  out->clientid = d.U64();
  out->owner = d.VarOpaque(NFS4_OPAQUE_LIMIT);
}
void Encode(xdr::XdrEncoder& e, const state_owner4& in) {
  e.U64(in.clientid);
  e.VarOpaque(in.bytes());
}
// The same in a result (LOCK4denied): copied.
void DecodeOwned(xdr::XdrDecoder& d, state_owner4* out) {
  Decode(d, out);
  out->owned = std::string(AsChars(out->owner));
  out->owner = {};
}

nfs_lock_type4 DecodeLockType(xdr::XdrDecoder& d) {
  return DecodeRange<nfs_lock_type4>(d, uint32_t(nfs_lock_type4::READ_LT),
                                     uint32_t(nfs_lock_type4::WRITEW_LT));
}
open_delegation_type4 DecodeDelegationType(xdr::XdrDecoder& d) {
  return DecodeRange<open_delegation_type4>(
      d, uint32_t(open_delegation_type4::OPEN_DELEGATE_NONE),
      uint32_t(open_delegation_type4::OPEN_DELEGATE_NONE_EXT));
}
stable_how4 DecodeStableHow(xdr::XdrDecoder& d) {
  return DecodeRange<stable_how4>(d, uint32_t(stable_how4::UNSTABLE4),
                                  uint32_t(stable_how4::FILE_SYNC4));
}

void Decode(xdr::XdrDecoder& d, LOCK4denied* out) {
  out->offset = d.U64();
  out->length = d.U64();
  out->locktype = DecodeLockType(d);
  DecodeOwned(d, &out->owner);
}
void Encode(xdr::XdrEncoder& e, const LOCK4denied& in) {
  e.U64(in.offset);
  e.U64(in.length);
  EncodeEnum(e, in.locktype);
  Encode(e, in.owner);
}

void Decode(xdr::XdrDecoder& d, nfsace4* out) {
  out->type = d.U32();
  out->flag = d.U32();
  out->access_mask = d.U32();
  out->who = OwnedString(d, NFS4_OPAQUE_LIMIT);
}
void Encode(xdr::XdrEncoder& e, const nfsace4& in) {
  e.U32(in.type);
  e.U32(in.flag);
  e.U32(in.access_mask);
  e.String(in.who);
}

// nfsace4<>: the acl attribute, and the ACEs of a dacl or sacl.
void EncodeAces(xdr::XdrEncoder& e, const std::vector<nfsace4>& aces) {
  e.U32(static_cast<uint32_t>(aces.size()));
  for (const nfsace4& ace : aces) Encode(e, ace);
}
void DecodeAces(xdr::XdrDecoder& d, std::vector<nfsace4>* out) {
  // Each ACE takes at least 16 bytes: a count that the bytes cannot hold fails here, before
  // anything is reserved for it.
  const uint32_t n = d.U32();
  if (n > kMaxNfs4Aces || size_t{n} * 16 > d.remaining()) {
    d.Fail();
    return;
  }
  out->clear();
  out->reserve(n);
  for (uint32_t i = 0; i < n && d.ok(); ++i) {
    nfsace4 ace;
    Decode(d, &ace);
    out->push_back(std::move(ace));
  }
}

// union open_delegation4 switch (open_delegation_type4 delegation_type) (RFC 8881 §18.16.1).
void Decode(xdr::XdrDecoder& d, open_delegation4* out) {
  out->delegation_type = DecodeDelegationType(d);
  if (!d.ok()) return;
  switch (out->delegation_type) {
    case open_delegation_type4::OPEN_DELEGATE_NONE:
      break;
    case open_delegation_type4::OPEN_DELEGATE_READ:
      Decode(d, &out->stateid);
      out->recall = d.Bool();
      Decode(d, &out->permissions);
      break;
    case open_delegation_type4::OPEN_DELEGATE_WRITE: {
      Decode(d, &out->stateid);
      out->recall = d.Bool();
      // nfs_space_limit4: a size, or a number of blocks of a size (kept as their product).
      const uint32_t limitby = d.U32();
      if (limitby == NFS_LIMIT_SIZE) {
        out->space_limit_filesize = d.U64();
      } else if (limitby == NFS_LIMIT_BLOCKS) {
        const uint64_t num_blocks = d.U32();
        out->space_limit_filesize = num_blocks * d.U32();
      } else {
        d.Fail();
      }
      Decode(d, &out->permissions);
      break;
    }
    case open_delegation_type4::OPEN_DELEGATE_NONE_EXT:
      out->ond_why =
          DecodeRange<why_no_delegation4>(d, uint32_t(why_no_delegation4::WND4_NOT_WANTED),
                                          uint32_t(why_no_delegation4::WND4_IS_DIR));
      if (out->ond_why == why_no_delegation4::WND4_CONTENTION ||
          out->ond_why == why_no_delegation4::WND4_RESOURCE) {
        out->ond_server_will_push_or_signal = d.Bool();
      }
      break;
  }
}
void Encode(xdr::XdrEncoder& e, const open_delegation4& in) {
  EncodeEnum(e, in.delegation_type);
  switch (in.delegation_type) {
    case open_delegation_type4::OPEN_DELEGATE_NONE:
      break;
    case open_delegation_type4::OPEN_DELEGATE_READ:
      Encode(e, in.stateid);
      e.Bool(in.recall);
      Encode(e, in.permissions);
      break;
    case open_delegation_type4::OPEN_DELEGATE_WRITE:
      Encode(e, in.stateid);
      e.Bool(in.recall);
      e.U32(NFS_LIMIT_SIZE);
      e.U64(in.space_limit_filesize);
      Encode(e, in.permissions);
      break;
    case open_delegation_type4::OPEN_DELEGATE_NONE_EXT:
      EncodeEnum(e, in.ond_why);
      if (in.ond_why == why_no_delegation4::WND4_CONTENTION ||
          in.ond_why == why_no_delegation4::WND4_RESOURCE) {
        e.Bool(in.ond_server_will_push_or_signal);
      }
      break;
  }
}

void Decode(xdr::XdrDecoder& d, netaddr4* out) {
  out->netid = OwnedString(d, kMaxNfs4NetStr);
  out->addr = OwnedString(d, kMaxNfs4NetStr);
}
void Encode(xdr::XdrEncoder& e, const netaddr4& in) {
  e.String(in.netid);
  e.String(in.addr);
}

// callback_sec_parms4 (RFC 8881 §18.36.1). AUTH_SYS's stamp is dropped; a gcbp_service
// other than none, integrity or privacy does not decode.
void Decode(xdr::XdrDecoder& d, callback_sec_parms4* out) {
  out->cb_secflavor = d.U32();
  if (!d.ok()) return;
  switch (out->cb_secflavor) {
    case kAuthNone:
      break;
    case kAuthSys: {
      (void)d.U32();  // stamp
      out->machinename = OwnedString(d, kMaxAuthSysMachineName);
      out->uid = d.U32();
      out->gid = d.U32();
      const uint32_t n = d.ArrayLength(kMaxAuthSysGids);
      out->gids.resize(n);
      for (uint32_t& gid : out->gids) gid = d.U32();
      break;
    }
    case kRpcsecGss:
      out->gss_service = d.U32();
      if (out->gss_service < kRpcGssSvcNone || out->gss_service > kRpcGssSvcPrivacy) d.Fail();
      out->handle_from_server = OwnedString(d, NFS4_OPAQUE_LIMIT);
      out->handle_from_client = OwnedString(d, NFS4_OPAQUE_LIMIT);
      break;
    default:
      d.Fail();
  }
}
void Encode(xdr::XdrEncoder& e, const callback_sec_parms4& in) {
  e.U32(in.cb_secflavor);
  switch (in.cb_secflavor) {
    case kAuthSys:
      e.U32(0);  // stamp
      e.String(in.machinename);
      e.U32(in.uid);
      e.U32(in.gid);
      e.U32(static_cast<uint32_t>(in.gids.size()));
      for (uint32_t gid : in.gids) e.U32(gid);
      break;
    case kRpcsecGss:
      e.U32(in.gss_service);
      e.String(in.handle_from_server);
      e.String(in.handle_from_client);
      break;
    default:
      break;
  }
}

void DecodeSecParms(xdr::XdrDecoder& d, std::vector<callback_sec_parms4>* out) {
  const uint32_t n = d.ArrayLength(kMaxNfs4SecParms);
  out->resize(n);
  for (callback_sec_parms4& p : *out) Decode(d, &p);
}
void EncodeSecParms(xdr::XdrEncoder& e, const std::vector<callback_sec_parms4>& in) {
  e.U32(static_cast<uint32_t>(in.size()));
  for (const callback_sec_parms4& p : in) Encode(e, p);
}

void Decode(xdr::XdrDecoder& d, channel_attrs4* out) {
  out->headerpadsize = d.U32();
  out->maxrequestsize = d.U32();
  out->maxresponsesize = d.U32();
  out->maxresponsesize_cached = d.U32();
  out->maxoperations = d.U32();
  out->maxrequests = d.U32();
  out->rdma_ird.reset();
  if (d.ArrayLength(1) == 1) out->rdma_ird = d.U32();
}
void Encode(xdr::XdrEncoder& e, const channel_attrs4& in) {
  e.U32(in.headerpadsize);
  e.U32(in.maxrequestsize);
  e.U32(in.maxresponsesize);
  e.U32(in.maxresponsesize_cached);
  e.U32(in.maxoperations);
  e.U32(in.maxrequests);
  e.U32(in.rdma_ird ? 1 : 0);
  if (in.rdma_ird) e.U32(*in.rdma_ird);
}

// nfs_impl_id4<1>: an optional id.
void Decode(xdr::XdrDecoder& d, std::optional<nfs_impl_id4>* out) {
  out->reset();
  if (d.ArrayLength(1) != 1) return;
  nfs_impl_id4& id = out->emplace();
  id.domain = OwnedString(d, NFS4_OPAQUE_LIMIT);
  id.name = OwnedString(d, NFS4_OPAQUE_LIMIT);
  DecodeTime(d, &id.date);
}
void Encode(xdr::XdrEncoder& e, const std::optional<nfs_impl_id4>& in) {
  e.U32(in ? 1 : 0);
  if (!in) return;
  e.String(in->domain);
  e.String(in->name);
  Encode(e, in->date);
}

// ---- Attributes (RFC 8881 §5.8, in bit order) ----

// Encodes the value of attribute `bit`. REQUIRES: Fattr4Known(bit).
void EncodeAttr(xdr::XdrEncoder& e, uint32_t bit, const Fattr4& in) {
  switch (bit) {
    case FATTR4_SUPPORTED_ATTRS:
      return Encode(e, in.supported_attrs);
    case FATTR4_TYPE:
      return EncodeEnum(e, in.type);
    case FATTR4_FH_EXPIRE_TYPE:
      return e.U32(in.fh_expire_type);
    case FATTR4_CHANGE:
      return e.U64(in.change);
    case FATTR4_SIZE:
      return e.U64(in.size);
    case FATTR4_LINK_SUPPORT:
      return e.Bool(in.link_support);
    case FATTR4_SYMLINK_SUPPORT:
      return e.Bool(in.symlink_support);
    case FATTR4_NAMED_ATTR:
      return e.Bool(in.named_attr);
    case FATTR4_FSID:
      return Encode(e, in.fsid);
    case FATTR4_UNIQUE_HANDLES:
      return e.Bool(in.unique_handles);
    case FATTR4_LEASE_TIME:
      return e.U32(in.lease_time);
    case FATTR4_RDATTR_ERROR:
      return EncodeEnum(e, in.rdattr_error);
    case FATTR4_ACL:
      return EncodeAces(e, in.acl);
    case FATTR4_DACL:
      e.U32(in.dacl_flag);
      return EncodeAces(e, in.dacl);
    case FATTR4_SACL:
      e.U32(in.sacl_flag);
      return EncodeAces(e, in.sacl);
    case FATTR4_ACLSUPPORT:
      return e.U32(in.aclsupport);
    case FATTR4_ARCHIVE:
      return e.Bool(in.archive);
    case FATTR4_CANSETTIME:
      return e.Bool(in.cansettime);
    case FATTR4_CASE_INSENSITIVE:
      return e.Bool(in.case_insensitive);
    case FATTR4_CASE_PRESERVING:
      return e.Bool(in.case_preserving);
    case FATTR4_CHOWN_RESTRICTED:
      return e.Bool(in.chown_restricted);
    case FATTR4_FILEHANDLE:
      return Encode(e, in.filehandle);
    case FATTR4_FILEID:
      return e.U64(in.fileid);
    case FATTR4_FILES_AVAIL:
      return e.U64(in.files_avail);
    case FATTR4_FILES_FREE:
      return e.U64(in.files_free);
    case FATTR4_FILES_TOTAL:
      return e.U64(in.files_total);
    case FATTR4_HIDDEN:
      return e.Bool(in.hidden);
    case FATTR4_HOMOGENEOUS:
      return e.Bool(in.homogeneous);
    case FATTR4_MAXFILESIZE:
      return e.U64(in.maxfilesize);
    case FATTR4_MAXLINK:
      return e.U32(in.maxlink);
    case FATTR4_MAXNAME:
      return e.U32(in.maxname);
    case FATTR4_MAXREAD:
      return e.U64(in.maxread);
    case FATTR4_MAXWRITE:
      return e.U64(in.maxwrite);
    case FATTR4_MODE:
      return e.U32(in.mode);
    case FATTR4_NO_TRUNC:
      return e.Bool(in.no_trunc);
    case FATTR4_NUMLINKS:
      return e.U32(in.numlinks);
    case FATTR4_OWNER:
      return e.String(in.owner);
    case FATTR4_OWNER_GROUP:
      return e.String(in.owner_group);
    case FATTR4_QUOTA_AVAIL_HARD:
      return e.U64(in.quota_avail_hard);
    case FATTR4_QUOTA_AVAIL_SOFT:
      return e.U64(in.quota_avail_soft);
    case FATTR4_QUOTA_USED:
      return e.U64(in.quota_used);
    case FATTR4_RAWDEV:
      return Encode(e, in.rawdev);
    case FATTR4_SPACE_AVAIL:
      return e.U64(in.space_avail);
    case FATTR4_SPACE_FREE:
      return e.U64(in.space_free);
    case FATTR4_SPACE_TOTAL:
      return e.U64(in.space_total);
    case FATTR4_SPACE_USED:
      return e.U64(in.space_used);
    case FATTR4_SYSTEM:
      return e.Bool(in.system);
    case FATTR4_TIME_ACCESS:
      return Encode(e, in.time_access);
    case FATTR4_TIME_ACCESS_SET:
      EncodeEnum(e, in.time_access_set.set_it);
      if (in.time_access_set.set_it == time_how4::SET_TO_CLIENT_TIME4) {
        Encode(e, in.time_access_set.time);
      }
      return;
    case FATTR4_TIME_CREATE:
      return Encode(e, in.time_create);
    case FATTR4_TIME_DELTA:
      return Encode(e, in.time_delta);
    case FATTR4_TIME_METADATA:
      return Encode(e, in.time_metadata);
    case FATTR4_TIME_MODIFY:
      return Encode(e, in.time_modify);
    case FATTR4_TIME_MODIFY_SET:
      EncodeEnum(e, in.time_modify_set.set_it);
      if (in.time_modify_set.set_it == time_how4::SET_TO_CLIENT_TIME4) {
        Encode(e, in.time_modify_set.time);
      }
      return;
    case FATTR4_MOUNTED_ON_FILEID:
      return e.U64(in.mounted_on_fileid);
    case FATTR4_MODE_SET_MASKED:
      e.U32(in.mode_set_masked);
      return e.U32(in.mode_set_mask);
    case FATTR4_SUPPATTR_EXCLCREAT:
      return Encode(e, in.suppattr_exclcreat);
    case FATTR4_XATTR_SUPPORT:
      return e.Bool(in.xattr_support);
  }
  CHECK(false) << "attribute " << bit << " has no codec";
}

// What DecodeAttr found, beyond what `d` says (a value that does not decode fails `d`).
enum class AttrValue {
  kValid,
  kOutOfRange,  // decoded, but out of its range: NFS4ERR_INVAL once the rest is checked
  kUnframed,    // a union arm out of range: what follows cannot be found (NFS4ERR_INVAL)
};

// Decodes the value of attribute `bit`. REQUIRES: Fattr4Known(bit).
AttrValue DecodeAttr(xdr::XdrDecoder& d, uint32_t bit, Fattr4* out) {
  constexpr AttrValue kValid = AttrValue::kValid;
  const auto time_in_range = [](const nfstime4& t) {
    return t.nseconds < kNanosPerSecond ? AttrValue::kValid : AttrValue::kOutOfRange;
  };
  const auto decode_settime = [&](settime4* t) {
    const uint32_t how = d.U32();
    if (how == uint32_t(time_how4::SET_TO_SERVER_TIME4)) {
      *t = settime4{};
      return AttrValue::kValid;
    }
    if (how != uint32_t(time_how4::SET_TO_CLIENT_TIME4)) return AttrValue::kUnframed;
    t->set_it = time_how4::SET_TO_CLIENT_TIME4;
    DecodeTimeUnchecked(d, &t->time);
    return time_in_range(t->time);
  };
  switch (bit) {
    case FATTR4_SUPPORTED_ATTRS:
      Decode(d, &out->supported_attrs);
      return kValid;
    case FATTR4_TYPE:
      out->type = DecodeRange<nfs_ftype4>(d, uint32_t(nfs_ftype4::NF4REG),
                                          uint32_t(nfs_ftype4::NF4NAMEDATTR));
      return kValid;
    case FATTR4_FH_EXPIRE_TYPE:
      out->fh_expire_type = d.U32();
      return kValid;
    case FATTR4_CHANGE:
      out->change = d.U64();
      return kValid;
    case FATTR4_SIZE:
      out->size = d.U64();
      return kValid;
    case FATTR4_LINK_SUPPORT:
      out->link_support = d.Bool();
      return kValid;
    case FATTR4_SYMLINK_SUPPORT:
      out->symlink_support = d.Bool();
      return kValid;
    case FATTR4_NAMED_ATTR:
      out->named_attr = d.Bool();
      return kValid;
    case FATTR4_FSID:
      Decode(d, &out->fsid);
      return kValid;
    case FATTR4_UNIQUE_HANDLES:
      out->unique_handles = d.Bool();
      return kValid;
    case FATTR4_LEASE_TIME:
      out->lease_time = d.U32();
      return kValid;
    case FATTR4_RDATTR_ERROR:
      out->rdattr_error = DecodeStatus(d);
      return kValid;
    case FATTR4_ACL:
      DecodeAces(d, &out->acl);
      return kValid;
    case FATTR4_DACL:
      out->dacl_flag = d.U32();
      DecodeAces(d, &out->dacl);
      return kValid;
    case FATTR4_SACL:
      out->sacl_flag = d.U32();
      DecodeAces(d, &out->sacl);
      return kValid;
    case FATTR4_ACLSUPPORT:
      out->aclsupport = d.U32();
      return kValid;
    case FATTR4_ARCHIVE:
      out->archive = d.Bool();
      return kValid;
    case FATTR4_CANSETTIME:
      out->cansettime = d.Bool();
      return kValid;
    case FATTR4_CASE_INSENSITIVE:
      out->case_insensitive = d.Bool();
      return kValid;
    case FATTR4_CASE_PRESERVING:
      out->case_preserving = d.Bool();
      return kValid;
    case FATTR4_CHOWN_RESTRICTED:
      out->chown_restricted = d.Bool();
      return kValid;
    case FATTR4_FILEHANDLE:
      Decode(d, &out->filehandle);
      return kValid;
    case FATTR4_FILEID:
      out->fileid = d.U64();
      return kValid;
    case FATTR4_FILES_AVAIL:
      out->files_avail = d.U64();
      return kValid;
    case FATTR4_FILES_FREE:
      out->files_free = d.U64();
      return kValid;
    case FATTR4_FILES_TOTAL:
      out->files_total = d.U64();
      return kValid;
    case FATTR4_HIDDEN:
      out->hidden = d.Bool();
      return kValid;
    case FATTR4_HOMOGENEOUS:
      out->homogeneous = d.Bool();
      return kValid;
    case FATTR4_MAXFILESIZE:
      out->maxfilesize = d.U64();
      return kValid;
    case FATTR4_MAXLINK:
      out->maxlink = d.U32();
      return kValid;
    case FATTR4_MAXNAME:
      out->maxname = d.U32();
      return kValid;
    case FATTR4_MAXREAD:
      out->maxread = d.U64();
      return kValid;
    case FATTR4_MAXWRITE:
      out->maxwrite = d.U64();
      return kValid;
    case FATTR4_MODE:
      out->mode = d.U32();
      return out->mode <= 07777 ? kValid : AttrValue::kOutOfRange;
    case FATTR4_NO_TRUNC:
      out->no_trunc = d.Bool();
      return kValid;
    case FATTR4_NUMLINKS:
      out->numlinks = d.U32();
      return kValid;
    case FATTR4_OWNER:
      out->owner = OwnedString(d, NFS4_OPAQUE_LIMIT);
      return kValid;
    case FATTR4_OWNER_GROUP:
      out->owner_group = OwnedString(d, NFS4_OPAQUE_LIMIT);
      return kValid;
    case FATTR4_QUOTA_AVAIL_HARD:
      out->quota_avail_hard = d.U64();
      return kValid;
    case FATTR4_QUOTA_AVAIL_SOFT:
      out->quota_avail_soft = d.U64();
      return kValid;
    case FATTR4_QUOTA_USED:
      out->quota_used = d.U64();
      return kValid;
    case FATTR4_RAWDEV:
      Decode(d, &out->rawdev);
      return kValid;
    case FATTR4_SPACE_AVAIL:
      out->space_avail = d.U64();
      return kValid;
    case FATTR4_SPACE_FREE:
      out->space_free = d.U64();
      return kValid;
    case FATTR4_SPACE_TOTAL:
      out->space_total = d.U64();
      return kValid;
    case FATTR4_SPACE_USED:
      out->space_used = d.U64();
      return kValid;
    case FATTR4_SYSTEM:
      out->system = d.Bool();
      return kValid;
    case FATTR4_TIME_ACCESS:
      DecodeTimeUnchecked(d, &out->time_access);
      return time_in_range(out->time_access);
    case FATTR4_TIME_ACCESS_SET:
      return decode_settime(&out->time_access_set);
    case FATTR4_TIME_CREATE:
      DecodeTimeUnchecked(d, &out->time_create);
      return time_in_range(out->time_create);
    case FATTR4_TIME_DELTA:
      DecodeTimeUnchecked(d, &out->time_delta);
      return time_in_range(out->time_delta);
    case FATTR4_TIME_METADATA:
      DecodeTimeUnchecked(d, &out->time_metadata);
      return time_in_range(out->time_metadata);
    case FATTR4_TIME_MODIFY:
      DecodeTimeUnchecked(d, &out->time_modify);
      return time_in_range(out->time_modify);
    case FATTR4_TIME_MODIFY_SET:
      return decode_settime(&out->time_modify_set);
    case FATTR4_MOUNTED_ON_FILEID:
      out->mounted_on_fileid = d.U64();
      return kValid;
    case FATTR4_MODE_SET_MASKED:
      out->mode_set_masked = d.U32();
      out->mode_set_mask = d.U32();
      return out->mode_set_masked <= 07777 && out->mode_set_mask <= 07777 ? kValid
                                                                          : AttrValue::kOutOfRange;
    case FATTR4_SUPPATTR_EXCLCREAT:
      Decode(d, &out->suppattr_exclcreat);
      return kValid;
    case FATTR4_XATTR_SUPPORT:
      out->xattr_support = d.Bool();
      return kValid;
  }
  CHECK(false) << "attribute " << bit << " has no codec";
  return AttrValue::kUnframed;
}

// ---- Operation arguments, in operation order ----
// Each is decoded into a freshly constructed value: the arms a discriminant does not select
// keep their defaults.

void Encode(xdr::XdrEncoder&, const std::monostate&) {}
void Encode(xdr::XdrEncoder&, const NotSupportedArgs&) {}

void Decode(xdr::XdrDecoder& d, ACCESS4args* out) { out->access = d.U32(); }
void Encode(xdr::XdrEncoder& e, const ACCESS4args& in) { e.U32(in.access); }

void Decode(xdr::XdrDecoder& d, CLOSE4args* out) {
  out->seqid = d.U32();
  Decode(d, &out->open_stateid);
}
void Encode(xdr::XdrEncoder& e, const CLOSE4args& in) {
  e.U32(in.seqid);
  Encode(e, in.open_stateid);
}

void Decode(xdr::XdrDecoder& d, COMMIT4args* out) {
  out->offset = d.U64();
  out->count = d.U32();
}
void Encode(xdr::XdrEncoder& e, const COMMIT4args& in) {
  e.U64(in.offset);
  e.U32(in.count);
}

// createtype4: a link's text, a device's numbers, or nothing. Types CREATE cannot make
// (NF4REG, NF4ATTRDIR, NF4NAMEDATTR) decode with no data; the server answers NFS4ERR_BADTYPE.
void Decode(xdr::XdrDecoder& d, CREATE4args* out) {
  out->objtype =
      DecodeRange<nfs_ftype4>(d, uint32_t(nfs_ftype4::NF4REG), uint32_t(nfs_ftype4::NF4NAMEDATTR));
  if (!d.ok()) return;
  switch (out->objtype) {
    case nfs_ftype4::NF4LNK:
      out->linkdata = d.String(kMaxNfs4LinkText);
      break;
    case nfs_ftype4::NF4BLK:
    case nfs_ftype4::NF4CHR:
      Decode(d, &out->devdata);
      break;
    default:
      break;
  }
  out->objname = DecodeComponent(d);
  Decode(d, &out->createattrs);
}
void Encode(xdr::XdrEncoder& e, const CREATE4args& in) {
  EncodeEnum(e, in.objtype);
  switch (in.objtype) {
    case nfs_ftype4::NF4LNK:
      e.String(in.linkdata);
      break;
    case nfs_ftype4::NF4BLK:
    case nfs_ftype4::NF4CHR:
      Encode(e, in.devdata);
      break;
    default:
      break;
  }
  e.String(in.objname);
  Encode(e, in.createattrs);
}

void Decode(xdr::XdrDecoder& d, DELEGPURGE4args* out) { out->clientid = d.U64(); }
void Encode(xdr::XdrEncoder& e, const DELEGPURGE4args& in) { e.U64(in.clientid); }

void Decode(xdr::XdrDecoder& d, DELEGRETURN4args* out) { Decode(d, &out->deleg_stateid); }
void Encode(xdr::XdrEncoder& e, const DELEGRETURN4args& in) { Encode(e, in.deleg_stateid); }

void Decode(xdr::XdrDecoder& d, GETATTR4args* out) { Decode(d, &out->attr_request); }
void Encode(xdr::XdrEncoder& e, const GETATTR4args& in) { Encode(e, in.attr_request); }

void Decode(xdr::XdrDecoder& d, LINK4args* out) { out->newname = DecodeComponent(d); }
void Encode(xdr::XdrEncoder& e, const LINK4args& in) { e.String(in.newname); }

// locker4: union switch (bool new_lock_owner) { TRUE: open_to_lock_owner4 { open_seqid,
// open_stateid, lock_seqid, lock_owner }; FALSE: exist_lock_owner4 { lock_stateid,
// lock_seqid } }.
void Decode(xdr::XdrDecoder& d, LOCK4args* out) {
  out->locktype = DecodeLockType(d);
  out->reclaim = d.Bool();
  out->offset = d.U64();
  out->length = d.U64();
  out->new_lock_owner = d.Bool();
  if (out->new_lock_owner) {
    out->open_seqid = d.U32();
    Decode(d, &out->open_stateid);
    out->lock_seqid = d.U32();
    Decode(d, &out->lock_owner);
  } else {
    Decode(d, &out->lock_stateid);
    out->lock_seqid = d.U32();
  }
}
void Encode(xdr::XdrEncoder& e, const LOCK4args& in) {
  EncodeEnum(e, in.locktype);
  e.Bool(in.reclaim);
  e.U64(in.offset);
  e.U64(in.length);
  e.Bool(in.new_lock_owner);
  if (in.new_lock_owner) {
    e.U32(in.open_seqid);
    Encode(e, in.open_stateid);
    e.U32(in.lock_seqid);
    Encode(e, in.lock_owner);
  } else {
    Encode(e, in.lock_stateid);
    e.U32(in.lock_seqid);
  }
}

void Decode(xdr::XdrDecoder& d, LOCKT4args* out) {
  out->locktype = DecodeLockType(d);
  out->offset = d.U64();
  out->length = d.U64();
  Decode(d, &out->owner);
}
void Encode(xdr::XdrEncoder& e, const LOCKT4args& in) {
  EncodeEnum(e, in.locktype);
  e.U64(in.offset);
  e.U64(in.length);
  Encode(e, in.owner);
}

void Decode(xdr::XdrDecoder& d, LOCKU4args* out) {
  out->locktype = DecodeLockType(d);
  out->seqid = d.U32();
  Decode(d, &out->lock_stateid);
  out->offset = d.U64();
  out->length = d.U64();
}
void Encode(xdr::XdrEncoder& e, const LOCKU4args& in) {
  EncodeEnum(e, in.locktype);
  e.U32(in.seqid);
  Encode(e, in.lock_stateid);
  e.U64(in.offset);
  e.U64(in.length);
}

void Decode(xdr::XdrDecoder& d, LOOKUP4args* out) { out->objname = DecodeComponent(d); }
void Encode(xdr::XdrEncoder& e, const LOOKUP4args& in) { e.String(in.objname); }

void Decode(xdr::XdrDecoder& d, NVERIFY4args* out) { Decode(d, &out->obj_attributes); }
void Encode(xdr::XdrEncoder& e, const NVERIFY4args& in) { Encode(e, in.obj_attributes); }

// OPEN4args (RFC 8881 §18.16.1): seqid, share_access, share_deny, owner, then
//   openflag4: union switch (opentype4) { OPEN4_CREATE: createhow4; default: void }
//   createhow4: union switch (createmode4) { UNCHECKED4, GUARDED4: fattr4 createattrs;
//     EXCLUSIVE4: verifier4 createverf; EXCLUSIVE4_1: creatverfattr { verifier4; fattr4 } }
//   open_claim4: union switch (open_claim_type4) { CLAIM_NULL: component4 file;
//     CLAIM_PREVIOUS: open_delegation_type4; CLAIM_DELEGATE_CUR: { stateid4; component4 };
//     CLAIM_DELEGATE_PREV: component4; CLAIM_FH: void; CLAIM_DELEG_PREV_FH: void;
//     CLAIM_DELEG_CUR_FH: stateid4 }
void Decode(xdr::XdrDecoder& d, OPEN4args* out) {
  out->seqid = d.U32();
  out->share_access = d.U32();
  out->share_deny = d.U32();
  Decode(d, &out->owner);
  out->opentype = DecodeRange<opentype4>(d, uint32_t(opentype4::OPEN4_NOCREATE),
                                         uint32_t(opentype4::OPEN4_CREATE));
  if (out->opentype == opentype4::OPEN4_CREATE) {
    out->mode = DecodeRange<createmode4>(d, uint32_t(createmode4::UNCHECKED4),
                                         uint32_t(createmode4::EXCLUSIVE4_1));
    if (!d.ok()) return;
    switch (out->mode) {
      case createmode4::UNCHECKED4:
      case createmode4::GUARDED4:
        Decode(d, &out->createattrs);
        break;
      case createmode4::EXCLUSIVE4:
        DecodeFixed(d, &out->createverf);
        break;
      case createmode4::EXCLUSIVE4_1:
        DecodeFixed(d, &out->createverf);
        Decode(d, &out->createattrs);
        break;
    }
  }
  out->claim = DecodeRange<open_claim_type4>(d, uint32_t(open_claim_type4::CLAIM_NULL),
                                             uint32_t(open_claim_type4::CLAIM_DELEG_PREV_FH));
  if (!d.ok()) return;
  switch (out->claim) {
    case open_claim_type4::CLAIM_NULL:
    case open_claim_type4::CLAIM_DELEGATE_PREV:
      out->file = DecodeComponent(d);
      break;
    case open_claim_type4::CLAIM_PREVIOUS:
      out->delegate_type = DecodeDelegationType(d);
      break;
    case open_claim_type4::CLAIM_DELEGATE_CUR:
      Decode(d, &out->delegate_stateid);
      out->file = DecodeComponent(d);
      break;
    case open_claim_type4::CLAIM_DELEG_CUR_FH:
      Decode(d, &out->delegate_stateid);
      break;
    case open_claim_type4::CLAIM_FH:
    case open_claim_type4::CLAIM_DELEG_PREV_FH:
      break;
  }
}
void Encode(xdr::XdrEncoder& e, const OPEN4args& in) {
  e.U32(in.seqid);
  e.U32(in.share_access);
  e.U32(in.share_deny);
  Encode(e, in.owner);
  EncodeEnum(e, in.opentype);
  if (in.opentype == opentype4::OPEN4_CREATE) {
    EncodeEnum(e, in.mode);
    switch (in.mode) {
      case createmode4::UNCHECKED4:
      case createmode4::GUARDED4:
        Encode(e, in.createattrs);
        break;
      case createmode4::EXCLUSIVE4:
        EncodeFixed(e, in.createverf);
        break;
      case createmode4::EXCLUSIVE4_1:
        EncodeFixed(e, in.createverf);
        Encode(e, in.createattrs);
        break;
    }
  }
  EncodeEnum(e, in.claim);
  switch (in.claim) {
    case open_claim_type4::CLAIM_NULL:
    case open_claim_type4::CLAIM_DELEGATE_PREV:
      e.String(in.file);
      break;
    case open_claim_type4::CLAIM_PREVIOUS:
      EncodeEnum(e, in.delegate_type);
      break;
    case open_claim_type4::CLAIM_DELEGATE_CUR:
      Encode(e, in.delegate_stateid);
      e.String(in.file);
      break;
    case open_claim_type4::CLAIM_DELEG_CUR_FH:
      Encode(e, in.delegate_stateid);
      break;
    case open_claim_type4::CLAIM_FH:
    case open_claim_type4::CLAIM_DELEG_PREV_FH:
      break;
  }
}

void Decode(xdr::XdrDecoder& d, OPENATTR4args* out) { out->createdir = d.Bool(); }
void Encode(xdr::XdrEncoder& e, const OPENATTR4args& in) { e.Bool(in.createdir); }

void Decode(xdr::XdrDecoder& d, OPEN_CONFIRM4args* out) {
  Decode(d, &out->open_stateid);
  out->seqid = d.U32();
}
void Encode(xdr::XdrEncoder& e, const OPEN_CONFIRM4args& in) {
  Encode(e, in.open_stateid);
  e.U32(in.seqid);
}

void Decode(xdr::XdrDecoder& d, OPEN_DOWNGRADE4args* out) {
  Decode(d, &out->open_stateid);
  out->seqid = d.U32();
  out->share_access = d.U32();
  out->share_deny = d.U32();
}
void Encode(xdr::XdrEncoder& e, const OPEN_DOWNGRADE4args& in) {
  Encode(e, in.open_stateid);
  e.U32(in.seqid);
  e.U32(in.share_access);
  e.U32(in.share_deny);
}

void Decode(xdr::XdrDecoder& d, PUTFH4args* out) { Decode(d, &out->object); }
void Encode(xdr::XdrEncoder& e, const PUTFH4args& in) { Encode(e, in.object); }

void Decode(xdr::XdrDecoder& d, READ4args* out) {
  Decode(d, &out->stateid);
  out->offset = d.U64();
  out->count = d.U32();
}
void Encode(xdr::XdrEncoder& e, const READ4args& in) {
  Encode(e, in.stateid);
  e.U64(in.offset);
  e.U32(in.count);
}

void Decode(xdr::XdrDecoder& d, READDIR4args* out) {
  out->cookie = d.U64();
  DecodeFixed(d, &out->cookieverf);
  out->dircount = d.U32();
  out->maxcount = d.U32();
  Decode(d, &out->attr_request);
}
void Encode(xdr::XdrEncoder& e, const READDIR4args& in) {
  e.U64(in.cookie);
  EncodeFixed(e, in.cookieverf);
  e.U32(in.dircount);
  e.U32(in.maxcount);
  Encode(e, in.attr_request);
}

void Decode(xdr::XdrDecoder& d, REMOVE4args* out) { out->target = DecodeComponent(d); }
void Encode(xdr::XdrEncoder& e, const REMOVE4args& in) { e.String(in.target); }

void Decode(xdr::XdrDecoder& d, RENAME4args* out) {
  out->oldname = DecodeComponent(d);
  out->newname = DecodeComponent(d);
}
void Encode(xdr::XdrEncoder& e, const RENAME4args& in) {
  e.String(in.oldname);
  e.String(in.newname);
}

void Decode(xdr::XdrDecoder& d, RENEW4args* out) { out->clientid = d.U64(); }
void Encode(xdr::XdrEncoder& e, const RENEW4args& in) { e.U64(in.clientid); }

void Decode(xdr::XdrDecoder& d, SECINFO4args* out) { out->name = DecodeComponent(d); }
void Encode(xdr::XdrEncoder& e, const SECINFO4args& in) { e.String(in.name); }

void Decode(xdr::XdrDecoder& d, SETATTR4args* out) {
  Decode(d, &out->stateid);
  Decode(d, &out->obj_attributes);
}
void Encode(xdr::XdrEncoder& e, const SETATTR4args& in) {
  Encode(e, in.stateid);
  Encode(e, in.obj_attributes);
}

// nfs_client_id4 { verifier, id }, cb_client4 { cb_program, cb_location }, callback_ident.
void Decode(xdr::XdrDecoder& d, SETCLIENTID4args* out) {
  DecodeFixed(d, &out->verifier);
  out->id = d.VarOpaque(NFS4_OPAQUE_LIMIT);
  out->cb_program = d.U32();
  Decode(d, &out->cb_location);
  out->callback_ident = d.U32();
}
void Encode(xdr::XdrEncoder& e, const SETCLIENTID4args& in) {
  EncodeFixed(e, in.verifier);
  e.VarOpaque(in.id);
  e.U32(in.cb_program);
  Encode(e, in.cb_location);
  e.U32(in.callback_ident);
}

void Decode(xdr::XdrDecoder& d, SETCLIENTID_CONFIRM4args* out) {
  out->clientid = d.U64();
  DecodeFixed(d, &out->setclientid_confirm);
}
void Encode(xdr::XdrEncoder& e, const SETCLIENTID_CONFIRM4args& in) {
  e.U64(in.clientid);
  EncodeFixed(e, in.setclientid_confirm);
}

void Decode(xdr::XdrDecoder& d, VERIFY4args* out) { Decode(d, &out->obj_attributes); }
void Encode(xdr::XdrEncoder& e, const VERIFY4args& in) { Encode(e, in.obj_attributes); }

void Decode(xdr::XdrDecoder& d, WRITE4args* out) {
  Decode(d, &out->stateid);
  out->offset = d.U64();
  out->stable = DecodeStableHow(d);
  out->data = d.VarOpaque(kMaxNfs4Data);
}
// The data is copied: the test client builds its operations from temporaries.
void Encode(xdr::XdrEncoder& e, const WRITE4args& in) {
  Encode(e, in.stateid);
  e.U64(in.offset);
  EncodeEnum(e, in.stable);
  e.VarOpaque(in.data);
}

void Decode(xdr::XdrDecoder& d, RELEASE_LOCKOWNER4args* out) { Decode(d, &out->lock_owner); }
void Encode(xdr::XdrEncoder& e, const RELEASE_LOCKOWNER4args& in) { Encode(e, in.lock_owner); }

void Decode(xdr::XdrDecoder& d, BACKCHANNEL_CTL4args* out) {
  out->cb_program = d.U32();
  DecodeSecParms(d, &out->sec_parms);
}
void Encode(xdr::XdrEncoder& e, const BACKCHANNEL_CTL4args& in) {
  e.U32(in.cb_program);
  EncodeSecParms(e, in.sec_parms);
}

void Decode(xdr::XdrDecoder& d, BIND_CONN_TO_SESSION4args* out) {
  DecodeFixed(d, &out->sessid);
  const uint32_t dir = d.U32();
  switch (static_cast<channel_dir_from_client4>(dir)) {
    case channel_dir_from_client4::CDFC4_FORE:
    case channel_dir_from_client4::CDFC4_BACK:
    case channel_dir_from_client4::CDFC4_FORE_OR_BOTH:
    case channel_dir_from_client4::CDFC4_BACK_OR_BOTH:
      out->dir = static_cast<channel_dir_from_client4>(dir);
      break;
    default:
      d.Fail();
  }
  out->use_conn_in_rdma_mode = d.Bool();
}
void Encode(xdr::XdrEncoder& e, const BIND_CONN_TO_SESSION4args& in) {
  EncodeFixed(e, in.sessid);
  EncodeEnum(e, in.dir);
  e.Bool(in.use_conn_in_rdma_mode);
}

// EXCHANGE_ID4args (RFC 8881 §18.35.1): client_owner4, flags, state_protect4_a, impl id<1>.
//   state_protect4_a: union switch (state_protect_how4) { SP4_NONE: void;
//     SP4_MACH_CRED: state_protect_ops4; SP4_SSV: ssv_sp_parms4 { state_protect_ops4;
//     sec_oid4 hash_algs<>; sec_oid4 encr_algs<>; uint32 window; uint32 num_gss_handles } }
// Of SSV's parameters only the operation bitmaps are kept (the server refuses SSV).
void Decode(xdr::XdrDecoder& d, EXCHANGE_ID4args* out) {
  DecodeFixed(d, &out->co_verifier);
  out->co_ownerid = d.VarOpaque(NFS4_OPAQUE_LIMIT);
  out->flags = d.U32();
  out->spa_how = DecodeRange<state_protect_how4>(d, uint32_t(state_protect_how4::SP4_NONE),
                                                 uint32_t(state_protect_how4::SP4_SSV));
  if (!d.ok()) return;
  if (out->spa_how != state_protect_how4::SP4_NONE) {
    Decode(d, &out->spo_must_enforce);
    Decode(d, &out->spo_must_allow);
  }
  if (out->spa_how == state_protect_how4::SP4_SSV) {
    for (int list = 0; list < 2; ++list) {  // ssp_hash_algs, then ssp_encr_algs
      const uint32_t n = d.ArrayLength(kMaxSecOids);
      for (uint32_t i = 0; i < n; ++i) (void)d.VarOpaque(NFS4_OPAQUE_LIMIT);
    }
    (void)d.U32();  // ssp_window
    (void)d.U32();  // ssp_num_gss_handles
  }
  Decode(d, &out->client_impl_id);
}
void Encode(xdr::XdrEncoder& e, const EXCHANGE_ID4args& in) {
  EncodeFixed(e, in.co_verifier);
  e.VarOpaque(in.co_ownerid);
  e.U32(in.flags);
  EncodeEnum(e, in.spa_how);
  if (in.spa_how != state_protect_how4::SP4_NONE) {
    Encode(e, in.spo_must_enforce);
    Encode(e, in.spo_must_allow);
  }
  if (in.spa_how == state_protect_how4::SP4_SSV) {
    e.U32(0);  // no hash algorithms
    e.U32(0);  // no encryption algorithms
    e.U32(0);  // window
    e.U32(0);  // GSS handles
  }
  Encode(e, in.client_impl_id);
}

void Decode(xdr::XdrDecoder& d, CREATE_SESSION4args* out) {
  out->clientid = d.U64();
  out->sequence = d.U32();
  out->flags = d.U32();
  Decode(d, &out->fore_chan_attrs);
  Decode(d, &out->back_chan_attrs);
  out->cb_program = d.U32();
  DecodeSecParms(d, &out->sec_parms);
}
void Encode(xdr::XdrEncoder& e, const CREATE_SESSION4args& in) {
  e.U64(in.clientid);
  e.U32(in.sequence);
  e.U32(in.flags);
  Encode(e, in.fore_chan_attrs);
  Encode(e, in.back_chan_attrs);
  e.U32(in.cb_program);
  EncodeSecParms(e, in.sec_parms);
}

void Decode(xdr::XdrDecoder& d, DESTROY_SESSION4args* out) { DecodeFixed(d, &out->sessionid); }
void Encode(xdr::XdrEncoder& e, const DESTROY_SESSION4args& in) { EncodeFixed(e, in.sessionid); }

void Decode(xdr::XdrDecoder& d, FREE_STATEID4args* out) { Decode(d, &out->stateid); }
void Encode(xdr::XdrEncoder& e, const FREE_STATEID4args& in) { Encode(e, in.stateid); }

void Decode(xdr::XdrDecoder& d, GET_DIR_DELEGATION4args* out) {
  out->signal_deleg_avail = d.Bool();
  Decode(d, &out->notification_types);
  DecodeTime(d, &out->child_attr_delay);
  DecodeTime(d, &out->dir_attr_delay);
  Decode(d, &out->child_attributes);
  Decode(d, &out->dir_attributes);
}
void Encode(xdr::XdrEncoder& e, const GET_DIR_DELEGATION4args& in) {
  e.Bool(in.signal_deleg_avail);
  Encode(e, in.notification_types);
  Encode(e, in.child_attr_delay);
  Encode(e, in.dir_attr_delay);
  Encode(e, in.child_attributes);
  Encode(e, in.dir_attributes);
}

void Decode(xdr::XdrDecoder& d, SECINFO_NO_NAME4args* out) {
  out->style = DecodeRange<secinfo_style4>(d, uint32_t(secinfo_style4::SECINFO_STYLE4_CURRENT_FH),
                                           uint32_t(secinfo_style4::SECINFO_STYLE4_PARENT));
}
void Encode(xdr::XdrEncoder& e, const SECINFO_NO_NAME4args& in) { EncodeEnum(e, in.style); }

void Decode(xdr::XdrDecoder& d, SEQUENCE4args* out) {
  DecodeFixed(d, &out->sessionid);
  out->sequenceid = d.U32();
  out->slotid = d.U32();
  out->highest_slotid = d.U32();
  out->cachethis = d.Bool();
}
void Encode(xdr::XdrEncoder& e, const SEQUENCE4args& in) {
  EncodeFixed(e, in.sessionid);
  e.U32(in.sequenceid);
  e.U32(in.slotid);
  e.U32(in.highest_slotid);
  e.Bool(in.cachethis);
}

void Decode(xdr::XdrDecoder& d, SET_SSV4args* out) {
  out->ssv = d.VarOpaque(NFS4_OPAQUE_LIMIT);
  out->digest = d.VarOpaque(NFS4_OPAQUE_LIMIT);
}
void Encode(xdr::XdrEncoder& e, const SET_SSV4args& in) {
  e.VarOpaque(in.ssv);
  e.VarOpaque(in.digest);
}

void Decode(xdr::XdrDecoder& d, TEST_STATEID4args* out) {
  const uint32_t n = d.ArrayLength(kMaxNfs4TestStateids, 4 + NFS4_OTHER_SIZE);
  out->stateids.resize(n);
  for (stateid4& s : out->stateids) Decode(d, &s);
}
void Encode(xdr::XdrEncoder& e, const TEST_STATEID4args& in) {
  e.U32(static_cast<uint32_t>(in.stateids.size()));
  for (const stateid4& s : in.stateids) Encode(e, s);
}

// deleg_claim4: union switch (open_claim_type4) { CLAIM_FH: void; CLAIM_DELEG_PREV_FH: void;
// CLAIM_PREVIOUS: open_delegation_type4 }; no other claim is valid here.
void Decode(xdr::XdrDecoder& d, WANT_DELEGATION4args* out) {
  out->want = d.U32();
  const uint32_t claim = d.U32();
  switch (static_cast<open_claim_type4>(claim)) {
    case open_claim_type4::CLAIM_FH:
    case open_claim_type4::CLAIM_DELEG_PREV_FH:
      out->claim = static_cast<open_claim_type4>(claim);
      break;
    case open_claim_type4::CLAIM_PREVIOUS:
      out->claim = open_claim_type4::CLAIM_PREVIOUS;
      out->delegate_type = DecodeDelegationType(d);
      break;
    default:
      d.Fail();
  }
}
void Encode(xdr::XdrEncoder& e, const WANT_DELEGATION4args& in) {
  e.U32(in.want);
  EncodeEnum(e, in.claim);
  if (in.claim == open_claim_type4::CLAIM_PREVIOUS) EncodeEnum(e, in.delegate_type);
}

void Decode(xdr::XdrDecoder& d, DESTROY_CLIENTID4args* out) { out->clientid = d.U64(); }
void Encode(xdr::XdrEncoder& e, const DESTROY_CLIENTID4args& in) { e.U64(in.clientid); }

void Decode(xdr::XdrDecoder& d, RECLAIM_COMPLETE4args* out) { out->one_fs = d.Bool(); }
void Encode(xdr::XdrEncoder& e, const RECLAIM_COMPLETE4args& in) { e.Bool(in.one_fs); }

// ---- NFSv4.2 arguments (RFC 7862 §15, RFC 8276 §8.4) ----

void Decode(xdr::XdrDecoder& d, ALLOCATE4args* out) {
  Decode(d, &out->stateid);
  out->offset = d.U64();
  out->length = d.U64();
}
void Encode(xdr::XdrEncoder& e, const ALLOCATE4args& in) {
  Encode(e, in.stateid);
  e.U64(in.offset);
  e.U64(in.length);
}
void Decode(xdr::XdrDecoder& d, DEALLOCATE4args* out) {
  Decode(d, &out->stateid);
  out->offset = d.U64();
  out->length = d.U64();
}
void Encode(xdr::XdrEncoder& e, const DEALLOCATE4args& in) {
  Encode(e, in.stateid);
  e.U64(in.offset);
  e.U64(in.length);
}

void Decode(xdr::XdrDecoder& d, netloc4* out) {
  out->type = DecodeRange<netloc_type4>(d, uint32_t(netloc_type4::NL4_NAME),
                                        uint32_t(netloc_type4::NL4_NETADDR));
  if (!d.ok()) return;
  if (out->type == netloc_type4::NL4_NETADDR) {
    out->netid = OwnedString(d, kMaxNfs4NetStr);
    out->addr = OwnedString(d, kMaxNfs4NetStr);
  } else {
    out->name_or_url = OwnedString(d, kMaxNfs4NetStr);
  }
}
void Encode(xdr::XdrEncoder& e, const netloc4& in) {
  EncodeEnum(e, in.type);
  if (in.type == netloc_type4::NL4_NETADDR) {
    e.String(in.netid);
    e.String(in.addr);
  } else {
    e.String(in.name_or_url);
  }
}

void Decode(xdr::XdrDecoder& d, COPY4args* out) {
  Decode(d, &out->src_stateid);
  Decode(d, &out->dst_stateid);
  out->src_offset = d.U64();
  out->dst_offset = d.U64();
  out->count = d.U64();
  out->consecutive = d.Bool();
  out->synchronous = d.Bool();
  const uint32_t n = d.ArrayLength(kMaxNfs4CopyServers, 8);
  out->source_server.clear();
  for (uint32_t i = 0; i < n && d.ok(); ++i) Decode(d, &out->source_server.emplace_back());
}
void Encode(xdr::XdrEncoder& e, const COPY4args& in) {
  Encode(e, in.src_stateid);
  Encode(e, in.dst_stateid);
  e.U64(in.src_offset);
  e.U64(in.dst_offset);
  e.U64(in.count);
  e.Bool(in.consecutive);
  e.Bool(in.synchronous);
  e.U32(static_cast<uint32_t>(in.source_server.size()));
  for (const netloc4& n : in.source_server) Encode(e, n);
}

void Decode(xdr::XdrDecoder& d, OFFLOAD_CANCEL4args* out) { Decode(d, &out->stateid); }
void Encode(xdr::XdrEncoder& e, const OFFLOAD_CANCEL4args& in) { Encode(e, in.stateid); }
void Decode(xdr::XdrDecoder& d, OFFLOAD_STATUS4args* out) { Decode(d, &out->stateid); }
void Encode(xdr::XdrEncoder& e, const OFFLOAD_STATUS4args& in) { Encode(e, in.stateid); }

data_content4 DecodeContent(xdr::XdrDecoder& d) {
  return DecodeRange<data_content4>(d, uint32_t(data_content4::NFS4_CONTENT_DATA),
                                    uint32_t(data_content4::NFS4_CONTENT_HOLE));
}

void Decode(xdr::XdrDecoder& d, READ_PLUS4args* out) {
  Decode(d, &out->stateid);
  out->offset = d.U64();
  out->count = d.U32();
}
void Encode(xdr::XdrEncoder& e, const READ_PLUS4args& in) {
  Encode(e, in.stateid);
  e.U64(in.offset);
  e.U32(in.count);
}

void Decode(xdr::XdrDecoder& d, SEEK4args* out) {
  Decode(d, &out->stateid);
  out->offset = d.U64();
  out->what = DecodeContent(d);
}
void Encode(xdr::XdrEncoder& e, const SEEK4args& in) {
  Encode(e, in.stateid);
  e.U64(in.offset);
  EncodeEnum(e, in.what);
}

void Decode(xdr::XdrDecoder& d, CLONE4args* out) {
  Decode(d, &out->src_stateid);
  Decode(d, &out->dst_stateid);
  out->src_offset = d.U64();
  out->dst_offset = d.U64();
  out->count = d.U64();
}
void Encode(xdr::XdrEncoder& e, const CLONE4args& in) {
  Encode(e, in.src_stateid);
  Encode(e, in.dst_stateid);
  e.U64(in.src_offset);
  e.U64(in.dst_offset);
  e.U64(in.count);
}

void Decode(xdr::XdrDecoder& d, GETXATTR4args* out) { out->name = DecodeComponent(d); }
void Encode(xdr::XdrEncoder& e, const GETXATTR4args& in) { e.String(in.name); }
void Decode(xdr::XdrDecoder& d, SETXATTR4args* out) {
  out->option = DecodeRange<setxattr_option4>(d, uint32_t(setxattr_option4::SETXATTR4_EITHER),
                                              uint32_t(setxattr_option4::SETXATTR4_REPLACE));
  out->name = DecodeComponent(d);
  out->value = d.VarOpaque(kMaxNfs4XattrValue);
}
void Encode(xdr::XdrEncoder& e, const SETXATTR4args& in) {
  EncodeEnum(e, in.option);
  e.String(in.name);
  e.VarOpaque(in.value);
}
void Decode(xdr::XdrDecoder& d, LISTXATTRS4args* out) {
  out->cookie = d.U64();
  out->maxcount = d.U32();
}
void Encode(xdr::XdrEncoder& e, const LISTXATTRS4args& in) {
  e.U64(in.cookie);
  e.U32(in.maxcount);
}
void Decode(xdr::XdrDecoder& d, REMOVEXATTR4args* out) { out->name = DecodeComponent(d); }
void Encode(xdr::XdrEncoder& e, const REMOVEXATTR4args& in) { e.String(in.name); }

// Decodes the arguments of one operation into a fresh Args.
template <typename Args>
bool DecodeArgs(xdr::XdrDecoder& d, nfs_argop4* out) {
  Decode(d, &out->args.emplace<Args>());
  return d.ok();
}

// ---- Operation results, in operation order ----
// Each is union switch (nfsstat4 status): only the arm the status selects is on the wire.

void Decode(xdr::XdrDecoder& d, ACCESS4res* out) {
  out->status = DecodeStatus(d);
  if (out->status != nfsstat4::NFS4_OK) return;
  out->supported = d.U32();
  out->access = d.U32();
}
void Encode(xdr::XdrEncoder& e, const ACCESS4res& in) {
  Encode(e, in.status);
  if (in.status != nfsstat4::NFS4_OK) return;
  e.U32(in.supported);
  e.U32(in.access);
}

void Decode(xdr::XdrDecoder& d, CLOSE4res* out) {
  out->status = DecodeStatus(d);
  if (out->status == nfsstat4::NFS4_OK) Decode(d, &out->open_stateid);
}
void Encode(xdr::XdrEncoder& e, const CLOSE4res& in) {
  Encode(e, in.status);
  if (in.status == nfsstat4::NFS4_OK) Encode(e, in.open_stateid);
}

void Decode(xdr::XdrDecoder& d, COMMIT4res* out) {
  out->status = DecodeStatus(d);
  if (out->status == nfsstat4::NFS4_OK) DecodeFixed(d, &out->writeverf);
}
void Encode(xdr::XdrEncoder& e, const COMMIT4res& in) {
  Encode(e, in.status);
  if (in.status == nfsstat4::NFS4_OK) EncodeFixed(e, in.writeverf);
}

void Decode(xdr::XdrDecoder& d, CREATE4res* out) {
  out->status = DecodeStatus(d);
  if (out->status != nfsstat4::NFS4_OK) return;
  Decode(d, &out->cinfo);
  Decode(d, &out->attrset);
}
void Encode(xdr::XdrEncoder& e, const CREATE4res& in) {
  Encode(e, in.status);
  if (in.status != nfsstat4::NFS4_OK) return;
  Encode(e, in.cinfo);
  Encode(e, in.attrset);
}

void Decode(xdr::XdrDecoder& d, GETATTR4res* out) {
  out->status = DecodeStatus(d);
  if (out->status == nfsstat4::NFS4_OK) DecodeOwned(d, &out->obj_attributes);
}
void Encode(xdr::XdrEncoder& e, const GETATTR4res& in) {
  Encode(e, in.status);
  if (in.status == nfsstat4::NFS4_OK) Encode(e, in.obj_attributes);
}

void Decode(xdr::XdrDecoder& d, GETFH4res* out) {
  out->status = DecodeStatus(d);
  if (out->status == nfsstat4::NFS4_OK) Decode(d, &out->object);
}
void Encode(xdr::XdrEncoder& e, const GETFH4res& in) {
  Encode(e, in.status);
  if (in.status == nfsstat4::NFS4_OK) Encode(e, in.object);
}

void Decode(xdr::XdrDecoder& d, LINK4res* out) {
  out->status = DecodeStatus(d);
  if (out->status == nfsstat4::NFS4_OK) Decode(d, &out->cinfo);
}
void Encode(xdr::XdrEncoder& e, const LINK4res& in) {
  Encode(e, in.status);
  if (in.status == nfsstat4::NFS4_OK) Encode(e, in.cinfo);
}

void Decode(xdr::XdrDecoder& d, LOCK4res* out) {
  out->status = DecodeStatus(d);
  if (out->status == nfsstat4::NFS4_OK) {
    Decode(d, &out->lock_stateid);
  } else if (out->status == nfsstat4::NFS4ERR_DENIED) {
    Decode(d, &out->denied);
  }
}
void Encode(xdr::XdrEncoder& e, const LOCK4res& in) {
  Encode(e, in.status);
  if (in.status == nfsstat4::NFS4_OK) {
    Encode(e, in.lock_stateid);
  } else if (in.status == nfsstat4::NFS4ERR_DENIED) {
    Encode(e, in.denied);
  }
}

void Decode(xdr::XdrDecoder& d, LOCKT4res* out) {
  out->status = DecodeStatus(d);
  if (out->status == nfsstat4::NFS4ERR_DENIED) Decode(d, &out->denied);
}
void Encode(xdr::XdrEncoder& e, const LOCKT4res& in) {
  Encode(e, in.status);
  if (in.status == nfsstat4::NFS4ERR_DENIED) Encode(e, in.denied);
}

void Decode(xdr::XdrDecoder& d, LOCKU4res* out) {
  out->status = DecodeStatus(d);
  if (out->status == nfsstat4::NFS4_OK) Decode(d, &out->lock_stateid);
}
void Encode(xdr::XdrEncoder& e, const LOCKU4res& in) {
  Encode(e, in.status);
  if (in.status == nfsstat4::NFS4_OK) Encode(e, in.lock_stateid);
}

void Decode(xdr::XdrDecoder& d, OPEN4res* out) {
  out->status = DecodeStatus(d);
  if (out->status != nfsstat4::NFS4_OK) return;
  Decode(d, &out->stateid);
  Decode(d, &out->cinfo);
  out->rflags = d.U32();
  Decode(d, &out->attrset);
  Decode(d, &out->delegation);
}
void Encode(xdr::XdrEncoder& e, const OPEN4res& in) {
  Encode(e, in.status);
  if (in.status != nfsstat4::NFS4_OK) return;
  Encode(e, in.stateid);
  Encode(e, in.cinfo);
  e.U32(in.rflags);
  Encode(e, in.attrset);
  Encode(e, in.delegation);
}

void Decode(xdr::XdrDecoder& d, OPEN_CONFIRM4res* out) {
  out->status = DecodeStatus(d);
  if (out->status == nfsstat4::NFS4_OK) Decode(d, &out->open_stateid);
}
void Encode(xdr::XdrEncoder& e, const OPEN_CONFIRM4res& in) {
  Encode(e, in.status);
  if (in.status == nfsstat4::NFS4_OK) Encode(e, in.open_stateid);
}

void Decode(xdr::XdrDecoder& d, OPEN_DOWNGRADE4res* out) {
  out->status = DecodeStatus(d);
  if (out->status == nfsstat4::NFS4_OK) Decode(d, &out->open_stateid);
}
void Encode(xdr::XdrEncoder& e, const OPEN_DOWNGRADE4res& in) {
  Encode(e, in.status);
  if (in.status == nfsstat4::NFS4_OK) Encode(e, in.open_stateid);
}

// READ4resok { bool eof; opaque data<> }. Decoded data is copied into memory `holds` keeps.
void Decode(xdr::XdrDecoder& d, READ4res* out) {
  out->status = DecodeStatus(d);
  if (out->status != nfsstat4::NFS4_OK) return;
  out->eof = d.Bool();
  ByteView data = d.VarOpaque(kMaxNfs4Data);
  if (!d.ok() || data.empty()) return;
  auto copy = std::make_shared<const std::string>(AsChars(data));
  out->data = {AsBytes(*copy)};
  out->holds = {std::move(copy)};
}
void Encode(xdr::XdrEncoder& e, const READ4res& in) {
  Encode(e, in.status);
  if (in.status != nfsstat4::NFS4_OK) return;
  e.Bool(in.eof);
  e.VarOpaquePieces(in.data);
}

// READDIR4resok { verifier4 cookieverf; dirlist4 { entry4 *entries; bool eof } }: the entries
// are a linked list, each preceded by TRUE (its "value follows"), the list ended by FALSE.
void Decode(xdr::XdrDecoder& d, READDIR4res* out) {
  out->status = DecodeStatus(d);
  if (out->status != nfsstat4::NFS4_OK) return;
  DecodeFixed(d, &out->cookieverf);
  while (d.Bool()) {  // each entry consumes input, so this ends
    entry4& entry = out->entries.emplace_back();
    entry.cookie = d.U64();
    entry.name = OwnedString(d, kMaxNfs4Name);
    DecodeOwned(d, &entry.attrs);
  }
  out->eof = d.Bool();
}
void Encode(xdr::XdrEncoder& e, const READDIR4res& in) {
  Encode(e, in.status);
  if (in.status != nfsstat4::NFS4_OK) return;
  EncodeFixed(e, in.cookieverf);
  for (const entry4& entry : in.entries) {
    e.Bool(true);
    e.U64(entry.cookie);
    e.String(entry.name);
    Encode(e, entry.attrs);
  }
  e.Bool(false);
  e.Bool(in.eof);
}

void Decode(xdr::XdrDecoder& d, READLINK4res* out) {
  out->status = DecodeStatus(d);
  if (out->status == nfsstat4::NFS4_OK) out->link = OwnedString(d, kMaxNfs4LinkText);
}
void Encode(xdr::XdrEncoder& e, const READLINK4res& in) {
  Encode(e, in.status);
  if (in.status == nfsstat4::NFS4_OK) e.String(in.link);
}

void Decode(xdr::XdrDecoder& d, REMOVE4res* out) {
  out->status = DecodeStatus(d);
  if (out->status == nfsstat4::NFS4_OK) Decode(d, &out->cinfo);
}
void Encode(xdr::XdrEncoder& e, const REMOVE4res& in) {
  Encode(e, in.status);
  if (in.status == nfsstat4::NFS4_OK) Encode(e, in.cinfo);
}

void Decode(xdr::XdrDecoder& d, RENAME4res* out) {
  out->status = DecodeStatus(d);
  if (out->status != nfsstat4::NFS4_OK) return;
  Decode(d, &out->source_cinfo);
  Decode(d, &out->target_cinfo);
}
void Encode(xdr::XdrEncoder& e, const RENAME4res& in) {
  Encode(e, in.status);
  if (in.status != nfsstat4::NFS4_OK) return;
  Encode(e, in.source_cinfo);
  Encode(e, in.target_cinfo);
}

// secinfo4: union switch (uint32 flavor) { RPCSEC_GSS: rpcsec_gss_info { sec_oid4 oid;
// qop4 qop; rpc_gss_svc_t service }; default: void }.
void Decode(xdr::XdrDecoder& d, SECINFO4res* out) {
  out->status = DecodeStatus(d);
  if (out->status != nfsstat4::NFS4_OK) return;
  const uint32_t n = d.ArrayLength(kMaxNfs4Secinfo);
  out->flavors.resize(n);
  for (secinfo4& s : out->flavors) {
    s.flavor = d.U32();
    if (s.flavor != kRpcsecGss) continue;
    s.oid = OwnedString(d, NFS4_OPAQUE_LIMIT);
    s.qop = d.U32();
    s.service = DecodeRange<uint32_t>(d, kRpcGssSvcNone, kRpcGssSvcPrivacy);
  }
}
void Encode(xdr::XdrEncoder& e, const SECINFO4res& in) {
  Encode(e, in.status);
  if (in.status != nfsstat4::NFS4_OK) return;
  e.U32(static_cast<uint32_t>(in.flavors.size()));
  for (const secinfo4& s : in.flavors) {
    e.U32(s.flavor);
    if (s.flavor != kRpcsecGss) continue;
    e.String(s.oid);
    e.U32(s.qop);
    e.U32(s.service);
  }
}

void Decode(xdr::XdrDecoder& d, SETATTR4res* out) {
  out->status = DecodeStatus(d);
  Decode(d, &out->attrsset);
}
void Encode(xdr::XdrEncoder& e, const SETATTR4res& in) {
  Encode(e, in.status);
  Encode(e, in.attrsset);
}

void Decode(xdr::XdrDecoder& d, SETCLIENTID4res* out) {
  out->status = DecodeStatus(d);
  if (out->status == nfsstat4::NFS4_OK) {
    out->clientid = d.U64();
    DecodeFixed(d, &out->setclientid_confirm);
  } else if (out->status == nfsstat4::NFS4ERR_CLID_INUSE) {
    Decode(d, &out->client_using);
  }
}
void Encode(xdr::XdrEncoder& e, const SETCLIENTID4res& in) {
  Encode(e, in.status);
  if (in.status == nfsstat4::NFS4_OK) {
    e.U64(in.clientid);
    EncodeFixed(e, in.setclientid_confirm);
  } else if (in.status == nfsstat4::NFS4ERR_CLID_INUSE) {
    Encode(e, in.client_using);
  }
}

void Decode(xdr::XdrDecoder& d, WRITE4res* out) {
  out->status = DecodeStatus(d);
  if (out->status != nfsstat4::NFS4_OK) return;
  out->count = d.U32();
  out->committed = DecodeStableHow(d);
  DecodeFixed(d, &out->writeverf);
}
void Encode(xdr::XdrEncoder& e, const WRITE4res& in) {
  Encode(e, in.status);
  if (in.status != nfsstat4::NFS4_OK) return;
  e.U32(in.count);
  EncodeEnum(e, in.committed);
  EncodeFixed(e, in.writeverf);
}

void Decode(xdr::XdrDecoder& d, BIND_CONN_TO_SESSION4res* out) {
  out->status = DecodeStatus(d);
  if (out->status != nfsstat4::NFS4_OK) return;
  DecodeFixed(d, &out->sessid);
  out->dir =
      DecodeRange<channel_dir_from_server4>(d, uint32_t(channel_dir_from_server4::CDFS4_FORE),
                                            uint32_t(channel_dir_from_server4::CDFS4_BOTH));
  out->use_conn_in_rdma_mode = d.Bool();
}
void Encode(xdr::XdrEncoder& e, const BIND_CONN_TO_SESSION4res& in) {
  Encode(e, in.status);
  if (in.status != nfsstat4::NFS4_OK) return;
  EncodeFixed(e, in.sessid);
  EncodeEnum(e, in.dir);
  e.Bool(in.use_conn_in_rdma_mode);
}

// EXCHANGE_ID4resok (RFC 8881 §18.35.2). state_protect4_r's SP4_SSV arm (ssv_prot_info4) is
// not modelled: this server never grants SSV protection.
void Decode(xdr::XdrDecoder& d, EXCHANGE_ID4res* out) {
  out->status = DecodeStatus(d);
  if (out->status != nfsstat4::NFS4_OK) return;
  out->clientid = d.U64();
  out->sequenceid = d.U32();
  out->flags = d.U32();
  out->spr_how = DecodeRange<state_protect_how4>(d, uint32_t(state_protect_how4::SP4_NONE),
                                                 uint32_t(state_protect_how4::SP4_MACH_CRED));
  if (out->spr_how == state_protect_how4::SP4_MACH_CRED) {
    Decode(d, &out->spo_must_enforce);
    Decode(d, &out->spo_must_allow);
  }
  out->so_minor_id = d.U64();
  out->so_major_id = OwnedString(d, NFS4_OPAQUE_LIMIT);
  out->server_scope = OwnedString(d, NFS4_OPAQUE_LIMIT);
  Decode(d, &out->server_impl_id);
}
void Encode(xdr::XdrEncoder& e, const EXCHANGE_ID4res& in) {
  Encode(e, in.status);
  if (in.status != nfsstat4::NFS4_OK) return;
  CHECK(in.spr_how != state_protect_how4::SP4_SSV) << "EXCHANGE_ID reply with SSV protection";
  e.U64(in.clientid);
  e.U32(in.sequenceid);
  e.U32(in.flags);
  EncodeEnum(e, in.spr_how);
  if (in.spr_how == state_protect_how4::SP4_MACH_CRED) {
    Encode(e, in.spo_must_enforce);
    Encode(e, in.spo_must_allow);
  }
  e.U64(in.so_minor_id);
  e.String(in.so_major_id);
  e.String(in.server_scope);
  Encode(e, in.server_impl_id);
}

void Decode(xdr::XdrDecoder& d, CREATE_SESSION4res* out) {
  out->status = DecodeStatus(d);
  if (out->status != nfsstat4::NFS4_OK) return;
  DecodeFixed(d, &out->sessionid);
  out->sequence = d.U32();
  out->flags = d.U32();
  Decode(d, &out->fore_chan_attrs);
  Decode(d, &out->back_chan_attrs);
}
void Encode(xdr::XdrEncoder& e, const CREATE_SESSION4res& in) {
  Encode(e, in.status);
  if (in.status != nfsstat4::NFS4_OK) return;
  EncodeFixed(e, in.sessionid);
  e.U32(in.sequence);
  e.U32(in.flags);
  Encode(e, in.fore_chan_attrs);
  Encode(e, in.back_chan_attrs);
}

// NFS4_OK carries GET_DIR_DELEGATION4res_non_fatal, of which only GDD4_UNAVAIL is modelled.
void Decode(xdr::XdrDecoder& d, GET_DIR_DELEGATION4res* out) {
  out->status = DecodeStatus(d);
  if (out->status != nfsstat4::NFS4_OK) return;
  if (d.U32() != GDD4_UNAVAIL) {
    d.Fail();  // GDD4_OK (a granted delegation) or out of range
    return;
  }
  out->will_signal_deleg_avail = d.Bool();
}
void Encode(xdr::XdrEncoder& e, const GET_DIR_DELEGATION4res& in) {
  static_assert(GDD4_OK != GDD4_UNAVAIL);
  Encode(e, in.status);
  if (in.status != nfsstat4::NFS4_OK) return;
  e.U32(GDD4_UNAVAIL);
  e.Bool(in.will_signal_deleg_avail);
}

void Decode(xdr::XdrDecoder& d, SEQUENCE4res* out) {
  out->status = DecodeStatus(d);
  if (out->status != nfsstat4::NFS4_OK) return;
  DecodeFixed(d, &out->sessionid);
  out->sequenceid = d.U32();
  out->slotid = d.U32();
  out->highest_slotid = d.U32();
  out->target_highest_slotid = d.U32();
  out->status_flags = d.U32();
}
void Encode(xdr::XdrEncoder& e, const SEQUENCE4res& in) {
  Encode(e, in.status);
  if (in.status != nfsstat4::NFS4_OK) return;
  EncodeFixed(e, in.sessionid);
  e.U32(in.sequenceid);
  e.U32(in.slotid);
  e.U32(in.highest_slotid);
  e.U32(in.target_highest_slotid);
  e.U32(in.status_flags);
}

void Decode(xdr::XdrDecoder& d, TEST_STATEID4res* out) {
  out->status = DecodeStatus(d);
  if (out->status != nfsstat4::NFS4_OK) return;
  const uint32_t n = d.ArrayLength(kMaxNfs4TestStateids);
  out->status_codes.resize(n);
  for (nfsstat4& s : out->status_codes) s = DecodeStatus(d);
}
void Encode(xdr::XdrEncoder& e, const TEST_STATEID4res& in) {
  Encode(e, in.status);
  if (in.status != nfsstat4::NFS4_OK) return;
  e.U32(static_cast<uint32_t>(in.status_codes.size()));
  for (nfsstat4 s : in.status_codes) Encode(e, s);
}

void Decode(xdr::XdrDecoder& d, WANT_DELEGATION4res* out) {
  out->status = DecodeStatus(d);
  if (out->status == nfsstat4::NFS4_OK) Decode(d, &out->delegation);
}
void Encode(xdr::XdrEncoder& e, const WANT_DELEGATION4res& in) {
  Encode(e, in.status);
  if (in.status == nfsstat4::NFS4_OK) Encode(e, in.delegation);
}

// ---- NFSv4.2 results ----

void Decode(xdr::XdrDecoder& d, write_response4* out) {
  const uint32_t n = d.ArrayLength(1, 16);
  out->callback_id.reset();
  if (n == 1) Decode(d, &out->callback_id.emplace());
  out->count = d.U64();
  out->committed = DecodeStableHow(d);
  DecodeFixed(d, &out->writeverf);
}
void Encode(xdr::XdrEncoder& e, const write_response4& in) {
  e.U32(in.callback_id ? 1 : 0);
  if (in.callback_id) Encode(e, *in.callback_id);
  e.U64(in.count);
  EncodeEnum(e, in.committed);
  EncodeFixed(e, in.writeverf);
}
void Decode(xdr::XdrDecoder& d, copy_requirements4* out) {
  out->consecutive = d.Bool();
  out->synchronous = d.Bool();
}
void Encode(xdr::XdrEncoder& e, const copy_requirements4& in) {
  e.Bool(in.consecutive);
  e.Bool(in.synchronous);
}

void Decode(xdr::XdrDecoder& d, COPY4res* out) {
  out->status = DecodeStatus(d);
  if (out->status == nfsstat4::NFS4_OK) Decode(d, &out->response);
  if (out->status == nfsstat4::NFS4_OK || out->status == nfsstat4::NFS4ERR_OFFLOAD_NO_REQS) {
    Decode(d, &out->requirements);
  }
}
void Encode(xdr::XdrEncoder& e, const COPY4res& in) {
  Encode(e, in.status);
  if (in.status == nfsstat4::NFS4_OK) Encode(e, in.response);
  if (in.status == nfsstat4::NFS4_OK || in.status == nfsstat4::NFS4ERR_OFFLOAD_NO_REQS) {
    Encode(e, in.requirements);
  }
}

void Decode(xdr::XdrDecoder& d, OFFLOAD_STATUS4res* out) {
  out->status = DecodeStatus(d);
  if (out->status != nfsstat4::NFS4_OK) return;
  out->count = d.U64();
  const uint32_t n = d.ArrayLength(1);
  out->complete.reset();
  if (n == 1) out->complete = DecodeStatus(d);
}
void Encode(xdr::XdrEncoder& e, const OFFLOAD_STATUS4res& in) {
  Encode(e, in.status);
  if (in.status != nfsstat4::NFS4_OK) return;
  e.U64(in.count);
  e.U32(in.complete ? 1 : 0);
  if (in.complete) Encode(e, *in.complete);
}

// The test client's side: data is copied, as READ4res's.
void Decode(xdr::XdrDecoder& d, READ_PLUS4res* out) {
  out->status = DecodeStatus(d);
  if (out->status != nfsstat4::NFS4_OK) return;
  out->eof = d.Bool();
  const uint32_t n = d.ArrayLength(kMaxNfs4ReadPlusSegments, 12);
  out->contents.clear();
  for (uint32_t i = 0; i < n && d.ok(); ++i) {
    read_plus_content& c = out->contents.emplace_back();
    c.content = DecodeContent(d);
    c.offset = d.U64();
    if (c.content == data_content4::NFS4_CONTENT_HOLE) {
      c.length = d.U64();
      continue;
    }
    ByteView data = d.VarOpaque(kMaxNfs4Data);
    if (!d.ok()) return;
    auto copy = std::make_shared<const std::string>(AsChars(data));
    c.data = {AsBytes(*copy)};
    c.length = copy->size();
    out->holds.push_back(std::move(copy));
  }
}
void Encode(xdr::XdrEncoder& e, const READ_PLUS4res& in) {
  Encode(e, in.status);
  if (in.status != nfsstat4::NFS4_OK) return;
  e.Bool(in.eof);
  e.U32(static_cast<uint32_t>(in.contents.size()));
  for (const read_plus_content& c : in.contents) {
    EncodeEnum(e, c.content);
    e.U64(c.offset);
    if (c.content == data_content4::NFS4_CONTENT_HOLE) {
      e.U64(c.length);
    } else {
      e.VarOpaquePieces(c.data);
    }
  }
}

void Decode(xdr::XdrDecoder& d, SEEK4res* out) {
  out->status = DecodeStatus(d);
  if (out->status != nfsstat4::NFS4_OK) return;
  out->eof = d.Bool();
  out->offset = d.U64();
}
void Encode(xdr::XdrEncoder& e, const SEEK4res& in) {
  Encode(e, in.status);
  if (in.status != nfsstat4::NFS4_OK) return;
  e.Bool(in.eof);
  e.U64(in.offset);
}

void Decode(xdr::XdrDecoder& d, GETXATTR4res* out) {
  out->status = DecodeStatus(d);
  if (out->status == nfsstat4::NFS4_OK) out->value = OwnedString(d, kMaxNfs4XattrValue);
}
void Encode(xdr::XdrEncoder& e, const GETXATTR4res& in) {
  Encode(e, in.status);
  if (in.status == nfsstat4::NFS4_OK) e.String(in.value);
}
void Decode(xdr::XdrDecoder& d, SETXATTR4res* out) {
  out->status = DecodeStatus(d);
  if (out->status == nfsstat4::NFS4_OK) Decode(d, &out->cinfo);
}
void Encode(xdr::XdrEncoder& e, const SETXATTR4res& in) {
  Encode(e, in.status);
  if (in.status == nfsstat4::NFS4_OK) Encode(e, in.cinfo);
}
void Decode(xdr::XdrDecoder& d, LISTXATTRS4res* out) {
  out->status = DecodeStatus(d);
  if (out->status != nfsstat4::NFS4_OK) return;
  out->cookie = d.U64();
  const uint32_t n = d.ArrayLength(kMaxXattrNames);
  out->names.clear();
  for (uint32_t i = 0; i < n && d.ok(); ++i) {
    out->names.push_back(OwnedString(d, kMaxNfs4XattrName));
  }
  out->eof = d.Bool();
}
void Encode(xdr::XdrEncoder& e, const LISTXATTRS4res& in) {
  Encode(e, in.status);
  if (in.status != nfsstat4::NFS4_OK) return;
  e.U64(in.cookie);
  e.U32(static_cast<uint32_t>(in.names.size()));
  for (const std::string& n : in.names) e.String(n);
  e.Bool(in.eof);
}
void Decode(xdr::XdrDecoder& d, REMOVEXATTR4res* out) {
  out->status = DecodeStatus(d);
  if (out->status == nfsstat4::NFS4_OK) Decode(d, &out->cinfo);
}
void Encode(xdr::XdrEncoder& e, const REMOVEXATTR4res& in) {
  Encode(e, in.status);
  if (in.status == nfsstat4::NFS4_OK) Encode(e, in.cinfo);
}

// Decodes one operation's result into a fresh Res.
template <typename Res>
bool DecodeRes(xdr::XdrDecoder& d, nfs_resop4* out) {
  Decode(d, &out->res.emplace<Res>());
  return d.ok();
}

// ---- The callback program ----

void Decode(xdr::XdrDecoder& d, CB_RECALL4args* out) {
  Decode(d, &out->stateid);
  out->truncate = d.Bool();
  Decode(d, &out->fh);
}
void Encode(xdr::XdrEncoder& e, const CB_RECALL4args& in) {
  Encode(e, in.stateid);
  e.Bool(in.truncate);
  Encode(e, in.fh);
}

void Decode(xdr::XdrDecoder& d, CB_SEQUENCE4args* out) {
  DecodeFixed(d, &out->sessionid);
  out->sequenceid = d.U32();
  out->slotid = d.U32();
  out->highest_slotid = d.U32();
  out->cachethis = d.Bool();
  const uint32_t lists = d.ArrayLength(kMaxNfs4ReferringLists, NFS4_SESSIONID_SIZE + 4);
  out->referring_call_lists.resize(lists);
  for (referring_call_list4& list : out->referring_call_lists) {
    DecodeFixed(d, &list.sessionid);
    const uint32_t calls = d.ArrayLength(kMaxReferringCalls, 8);
    list.calls.resize(calls);
    for (referring_call4& call : list.calls) {
      call.sequenceid = d.U32();
      call.slotid = d.U32();
    }
  }
}
void Encode(xdr::XdrEncoder& e, const CB_SEQUENCE4args& in) {
  EncodeFixed(e, in.sessionid);
  e.U32(in.sequenceid);
  e.U32(in.slotid);
  e.U32(in.highest_slotid);
  e.Bool(in.cachethis);
  e.U32(static_cast<uint32_t>(in.referring_call_lists.size()));
  for (const referring_call_list4& list : in.referring_call_lists) {
    EncodeFixed(e, list.sessionid);
    e.U32(static_cast<uint32_t>(list.calls.size()));
    for (const referring_call4& call : list.calls) {
      e.U32(call.sequenceid);
      e.U32(call.slotid);
    }
  }
}

void Decode(xdr::XdrDecoder& d, CB_SEQUENCE4res* out) {
  out->status = DecodeStatus(d);
  if (out->status != nfsstat4::NFS4_OK) return;
  DecodeFixed(d, &out->sessionid);
  out->sequenceid = d.U32();
  out->slotid = d.U32();
  out->highest_slotid = d.U32();
  out->target_highest_slotid = d.U32();
}

}  // namespace

// ---- Shared types ----

bool Decode(xdr::XdrDecoder& d, bitmap4* out) {
  const uint32_t n = d.ArrayLength(kMaxNfs4BitmapWords);
  out->words.resize(n);
  for (uint32_t& w : out->words) w = d.U32();
  if (!d.ok()) out->words.clear();
  return d.ok();
}
void Encode(xdr::XdrEncoder& e, const bitmap4& in) {
  e.U32(static_cast<uint32_t>(in.words.size()));
  for (uint32_t w : in.words) e.U32(w);
}

bool Decode(xdr::XdrDecoder& d, stateid4* out) {
  out->seqid = d.U32();
  DecodeFixed(d, &out->other);
  return d.ok();
}
void Encode(xdr::XdrEncoder& e, const stateid4& in) {
  e.U32(in.seqid);
  EncodeFixed(e, in.other);
}

bool Decode(xdr::XdrDecoder& d, fattr4* out) {
  Decode(d, &out->attrmask);
  out->attr_vals = d.VarOpaque(kMaxNfs4AttrBytes);
  out->owned_vals.clear();
  return d.ok();
}
void Encode(xdr::XdrEncoder& e, const fattr4& in) {
  Encode(e, in.attrmask);
  e.VarOpaque(in.vals());
}

// ---- Attributes ----

bool Fattr4Known(uint32_t bit) {
  switch (bit) {
    case FATTR4_FS_LOCATIONS:
    case FATTR4_MIMETYPE:
    case FATTR4_TIME_BACKUP:
      return false;
    case FATTR4_DACL:
    case FATTR4_SACL:
    case FATTR4_MODE_SET_MASKED:
    case FATTR4_SUPPATTR_EXCLCREAT:
    case FATTR4_XATTR_SUPPORT:
      return true;
    default:
      return bit <= FATTR4_MOUNTED_ON_FILEID;
  }
}

void EncodeAttrs(const bitmap4& want, const Fattr4& in, fattr4* out) {
  bitmap4 mask;
  xdr::XdrEncoder e;
  const size_t words = std::min(want.words.size(), in.mask.words.size());
  for (size_t w = 0; w < words; ++w) {
    for (uint32_t bits = want.words[w] & in.mask.words[w]; bits != 0; bits &= bits - 1) {
      const auto bit = static_cast<uint32_t>(w * 32 + std::countr_zero(bits));
      if (!Fattr4Known(bit)) continue;
      mask.set(bit);
      EncodeAttr(e, bit, in);
    }
  }
  mask.Trim();
  out->attrmask = std::move(mask);
  out->attr_vals = {};
  out->owned_vals = e.ToString();
}

nfsstat4 DecodeAttrs(const fattr4& in, Fattr4* out) {
  *out = Fattr4{};
  out->mask = in.attrmask;
  // Whether every attribute can be carried is known from the bitmap alone.
  bool known = true;
  ForEachBit(in.attrmask, [&](uint32_t bit) { known = known && Fattr4Known(bit); });
  if (!known) return nfsstat4::NFS4ERR_ATTRNOTSUPP;
  xdr::XdrDecoder d(in.vals());
  bool in_range = true;
  bool framed = true;
  ForEachBit(in.attrmask, [&](uint32_t bit) {
    if (!framed) return;
    switch (DecodeAttr(d, bit, out)) {
      case AttrValue::kValid:
        break;
      case AttrValue::kOutOfRange:
        in_range = false;
        break;
      case AttrValue::kUnframed:
        framed = false;
        break;
    }
  });
  if (!framed && d.ok()) return nfsstat4::NFS4ERR_INVAL;
  // Values that do not decode, or that end before or after the bitmap says, are malformed
  // whatever their ranges.
  if (!d.ok() || d.remaining() != 0) return nfsstat4::NFS4ERR_BADXDR;
  return in_range ? nfsstat4::NFS4_OK : nfsstat4::NFS4ERR_INVAL;
}

size_t EncodedSize(const entry4& e) {
  const fattr4& a = e.attrs;
  return 4 + 8 + 4 + Padded(e.name.size()) + 4 + 4 * a.attrmask.words.size() + 4 +
         Padded(a.vals().size());
}

// ---- COMPOUND ----

bool DecodeCompoundHeader(xdr::XdrDecoder& d, COMPOUND4args_header* out) {
  out->tag = d.String(kMaxNfs4Tag);
  out->minorversion = d.U32();
  out->numops = d.U32();
  return d.ok();
}

bool Decode(xdr::XdrDecoder& d, nfs_argop4* out) {
  out->args = std::monostate{};
  const uint32_t op = d.U32();
  if (!d.ok()) {
    out->op = OP_ILLEGAL;
    return false;
  }
  out->op = op;
  switch (op) {
    case OP_ACCESS:
      return DecodeArgs<ACCESS4args>(d, out);
    case OP_CLOSE:
      return DecodeArgs<CLOSE4args>(d, out);
    case OP_COMMIT:
      return DecodeArgs<COMMIT4args>(d, out);
    case OP_CREATE:
      return DecodeArgs<CREATE4args>(d, out);
    case OP_DELEGPURGE:
      return DecodeArgs<DELEGPURGE4args>(d, out);
    case OP_DELEGRETURN:
      return DecodeArgs<DELEGRETURN4args>(d, out);
    case OP_GETATTR:
      return DecodeArgs<GETATTR4args>(d, out);
    case OP_LINK:
      return DecodeArgs<LINK4args>(d, out);
    case OP_LOCK:
      return DecodeArgs<LOCK4args>(d, out);
    case OP_LOCKT:
      return DecodeArgs<LOCKT4args>(d, out);
    case OP_LOCKU:
      return DecodeArgs<LOCKU4args>(d, out);
    case OP_LOOKUP:
      return DecodeArgs<LOOKUP4args>(d, out);
    case OP_NVERIFY:
      return DecodeArgs<NVERIFY4args>(d, out);
    case OP_OPEN:
      return DecodeArgs<OPEN4args>(d, out);
    case OP_OPENATTR:
      return DecodeArgs<OPENATTR4args>(d, out);
    case OP_OPEN_CONFIRM:
      return DecodeArgs<OPEN_CONFIRM4args>(d, out);
    case OP_OPEN_DOWNGRADE:
      return DecodeArgs<OPEN_DOWNGRADE4args>(d, out);
    case OP_PUTFH:
      return DecodeArgs<PUTFH4args>(d, out);
    case OP_READ:
      return DecodeArgs<READ4args>(d, out);
    case OP_READDIR:
      return DecodeArgs<READDIR4args>(d, out);
    case OP_REMOVE:
      return DecodeArgs<REMOVE4args>(d, out);
    case OP_RENAME:
      return DecodeArgs<RENAME4args>(d, out);
    case OP_RENEW:
      return DecodeArgs<RENEW4args>(d, out);
    case OP_SECINFO:
      return DecodeArgs<SECINFO4args>(d, out);
    case OP_SETATTR:
      return DecodeArgs<SETATTR4args>(d, out);
    case OP_SETCLIENTID:
      return DecodeArgs<SETCLIENTID4args>(d, out);
    case OP_SETCLIENTID_CONFIRM:
      return DecodeArgs<SETCLIENTID_CONFIRM4args>(d, out);
    case OP_VERIFY:
      return DecodeArgs<VERIFY4args>(d, out);
    case OP_WRITE:
      return DecodeArgs<WRITE4args>(d, out);
    case OP_RELEASE_LOCKOWNER:
      return DecodeArgs<RELEASE_LOCKOWNER4args>(d, out);
    case OP_BACKCHANNEL_CTL:
      return DecodeArgs<BACKCHANNEL_CTL4args>(d, out);
    case OP_BIND_CONN_TO_SESSION:
      return DecodeArgs<BIND_CONN_TO_SESSION4args>(d, out);
    case OP_EXCHANGE_ID:
      return DecodeArgs<EXCHANGE_ID4args>(d, out);
    case OP_CREATE_SESSION:
      return DecodeArgs<CREATE_SESSION4args>(d, out);
    case OP_DESTROY_SESSION:
      return DecodeArgs<DESTROY_SESSION4args>(d, out);
    case OP_FREE_STATEID:
      return DecodeArgs<FREE_STATEID4args>(d, out);
    case OP_GET_DIR_DELEGATION:
      return DecodeArgs<GET_DIR_DELEGATION4args>(d, out);
    case OP_SECINFO_NO_NAME:
      return DecodeArgs<SECINFO_NO_NAME4args>(d, out);
    case OP_SEQUENCE:
      return DecodeArgs<SEQUENCE4args>(d, out);
    case OP_SET_SSV:
      return DecodeArgs<SET_SSV4args>(d, out);
    case OP_TEST_STATEID:
      return DecodeArgs<TEST_STATEID4args>(d, out);
    case OP_WANT_DELEGATION:
      return DecodeArgs<WANT_DELEGATION4args>(d, out);
    case OP_DESTROY_CLIENTID:
      return DecodeArgs<DESTROY_CLIENTID4args>(d, out);
    case OP_RECLAIM_COMPLETE:
      return DecodeArgs<RECLAIM_COMPLETE4args>(d, out);
    case OP_ALLOCATE:
      return DecodeArgs<ALLOCATE4args>(d, out);
    case OP_COPY:
      return DecodeArgs<COPY4args>(d, out);
    case OP_DEALLOCATE:
      return DecodeArgs<DEALLOCATE4args>(d, out);
    case OP_OFFLOAD_CANCEL:
      return DecodeArgs<OFFLOAD_CANCEL4args>(d, out);
    case OP_OFFLOAD_STATUS:
      return DecodeArgs<OFFLOAD_STATUS4args>(d, out);
    case OP_READ_PLUS:
      return DecodeArgs<READ_PLUS4args>(d, out);
    case OP_SEEK:
      return DecodeArgs<SEEK4args>(d, out);
    case OP_CLONE:
      return DecodeArgs<CLONE4args>(d, out);
    case OP_GETXATTR:
      return DecodeArgs<GETXATTR4args>(d, out);
    case OP_SETXATTR:
      return DecodeArgs<SETXATTR4args>(d, out);
    case OP_LISTXATTRS:
      return DecodeArgs<LISTXATTRS4args>(d, out);
    case OP_REMOVEXATTR:
      return DecodeArgs<REMOVEXATTR4args>(d, out);
    case OP_GETFH:
    case OP_LOOKUPP:
    case OP_PUTPUBFH:
    case OP_PUTROOTFH:
    case OP_READLINK:
    case OP_RESTOREFH:
    case OP_SAVEFH:
      return true;  // no arguments
    case OP_GETDEVICEINFO:
    case OP_GETDEVICELIST:
    case OP_LAYOUTCOMMIT:
    case OP_LAYOUTGET:
    case OP_LAYOUTRETURN:
    case OP_COPY_NOTIFY:  // 4.2: no inter-server copies
    case OP_IO_ADVISE:
    case OP_LAYOUTERROR:
    case OP_LAYOUTSTATS:
    case OP_WRITE_SAME:
      // Not decoded: the server answers NFS4ERR_NOTSUPP, which ends the COMPOUND before
      // anything after these arguments would be read.
      out->args = NotSupportedArgs{};
      return true;
    default:
      return true;  // unknown: the server answers OP_ILLEGAL
  }
}

void Encode(xdr::XdrEncoder& e, const nfs_argop4& in) {
  e.U32(in.op);
  std::visit([&e](const auto& args) { Encode(e, args); }, in.args);
}

nfsstat4 nfs_resop4::status() const {
  return std::visit(
      [](const auto& r) -> nfsstat4 {
        if constexpr (std::is_same_v<std::decay_t<decltype(r)>, nfsstat4>) {
          return r;
        } else {
          return r.status;
        }
      },
      res);
}

void EncodeResop(xdr::XdrEncoder& e, const nfs_resop4& in) {
  e.U32(in.op);
  std::visit([&e](const auto& res) { Encode(e, res); }, in.res);
}

bool Decode(xdr::XdrDecoder& d, nfs_resop4* out) {
  out->op = d.U32();
  out->res = nfsstat4::NFS4_OK;
  if (!d.ok()) return false;
  switch (out->op) {
    case OP_ACCESS:
      return DecodeRes<ACCESS4res>(d, out);
    case OP_CLOSE:
      return DecodeRes<CLOSE4res>(d, out);
    case OP_COMMIT:
      return DecodeRes<COMMIT4res>(d, out);
    case OP_CREATE:
      return DecodeRes<CREATE4res>(d, out);
    case OP_GETATTR:
      return DecodeRes<GETATTR4res>(d, out);
    case OP_GETFH:
      return DecodeRes<GETFH4res>(d, out);
    case OP_LINK:
      return DecodeRes<LINK4res>(d, out);
    case OP_LOCK:
      return DecodeRes<LOCK4res>(d, out);
    case OP_LOCKT:
      return DecodeRes<LOCKT4res>(d, out);
    case OP_LOCKU:
      return DecodeRes<LOCKU4res>(d, out);
    case OP_OPEN:
      return DecodeRes<OPEN4res>(d, out);
    case OP_OPEN_CONFIRM:
      return DecodeRes<OPEN_CONFIRM4res>(d, out);
    case OP_OPEN_DOWNGRADE:
      return DecodeRes<OPEN_DOWNGRADE4res>(d, out);
    case OP_READ:
      return DecodeRes<READ4res>(d, out);
    case OP_READDIR:
      return DecodeRes<READDIR4res>(d, out);
    case OP_READLINK:
      return DecodeRes<READLINK4res>(d, out);
    case OP_REMOVE:
      return DecodeRes<REMOVE4res>(d, out);
    case OP_RENAME:
      return DecodeRes<RENAME4res>(d, out);
    case OP_SECINFO:
    case OP_SECINFO_NO_NAME:
      return DecodeRes<SECINFO4res>(d, out);
    case OP_SETATTR:
      return DecodeRes<SETATTR4res>(d, out);
    case OP_SETCLIENTID:
      return DecodeRes<SETCLIENTID4res>(d, out);
    case OP_WRITE:
      return DecodeRes<WRITE4res>(d, out);
    case OP_BIND_CONN_TO_SESSION:
      return DecodeRes<BIND_CONN_TO_SESSION4res>(d, out);
    case OP_EXCHANGE_ID:
      return DecodeRes<EXCHANGE_ID4res>(d, out);
    case OP_CREATE_SESSION:
      return DecodeRes<CREATE_SESSION4res>(d, out);
    case OP_GET_DIR_DELEGATION:
      return DecodeRes<GET_DIR_DELEGATION4res>(d, out);
    case OP_SEQUENCE:
      return DecodeRes<SEQUENCE4res>(d, out);
    case OP_TEST_STATEID:
      return DecodeRes<TEST_STATEID4res>(d, out);
    case OP_WANT_DELEGATION:
      return DecodeRes<WANT_DELEGATION4res>(d, out);
    case OP_COPY:
      return DecodeRes<COPY4res>(d, out);
    case OP_OFFLOAD_STATUS:
      return DecodeRes<OFFLOAD_STATUS4res>(d, out);
    case OP_READ_PLUS:
      return DecodeRes<READ_PLUS4res>(d, out);
    case OP_SEEK:
      return DecodeRes<SEEK4res>(d, out);
    case OP_GETXATTR:
      return DecodeRes<GETXATTR4res>(d, out);
    case OP_SETXATTR:
      return DecodeRes<SETXATTR4res>(d, out);
    case OP_LISTXATTRS:
      return DecodeRes<LISTXATTRS4res>(d, out);
    case OP_REMOVEXATTR:
      return DecodeRes<REMOVEXATTR4res>(d, out);
    default:
      // The status-only results, and ILLEGAL's. (SET_SSV's and the layout operations'
      // successes carry more, but this server never answers them NFS4_OK.)
      out->res = DecodeStatus(d);
      return d.ok();
  }
}

bool Decode(xdr::XdrDecoder& d, COMPOUND4res* out) {
  out->status = DecodeStatus(d);
  out->tag = OwnedString(d, kMaxNfs4Tag);
  const uint32_t n = d.ArrayLength(kMaxNfs4Ops, 8);  // an operation and a status at least
  out->resarray.clear();
  out->resarray.reserve(n);
  for (uint32_t i = 0; i < n && d.ok(); ++i) Decode(d, &out->resarray.emplace_back());
  return d.ok();
}

void EncodeCompound(xdr::XdrEncoder& e, std::string_view tag, uint32_t minorversion,
                    const std::vector<nfs_argop4>& ops) {
  e.String(tag);
  e.U32(minorversion);
  e.U32(static_cast<uint32_t>(ops.size()));
  for (const nfs_argop4& op : ops) Encode(e, op);
}

// ---- CB_COMPOUND ----

void Decode(xdr::XdrDecoder& d, CB_OFFLOAD4args* out) {
  Decode(d, &out->fh);
  Decode(d, &out->stateid);
  out->status = DecodeStatus(d);
  if (out->status == nfsstat4::NFS4_OK) {
    Decode(d, &out->response);
  } else {
    out->bytes_copied = d.U64();
  }
}
void Encode(xdr::XdrEncoder& e, const CB_OFFLOAD4args& in) {
  Encode(e, in.fh);
  Encode(e, in.stateid);
  Encode(e, in.status);
  if (in.status == nfsstat4::NFS4_OK) {
    Encode(e, in.response);
  } else {
    e.U64(in.bytes_copied);
  }
}

void Encode(xdr::XdrEncoder& e, const CB_COMPOUND4args& in) {
  e.String(in.tag);
  e.U32(in.minorversion);
  e.U32(in.callback_ident);
  e.U32(static_cast<uint32_t>(in.ops.size()));
  for (const nfs_cb_argop4& op : in.ops) {
    e.U32(op.op);
    std::visit([&e](const auto& args) { Encode(e, args); }, op.args);
  }
}

bool Decode(xdr::XdrDecoder& d, CB_COMPOUND4args* out) {
  out->tag = OwnedString(d, kMaxNfs4Tag);
  out->minorversion = d.U32();
  out->callback_ident = d.U32();
  const uint32_t n = d.ArrayLength(kMaxNfs4Ops);
  out->ops.clear();
  for (uint32_t i = 0; i < n && d.ok(); ++i) {
    nfs_cb_argop4& op = out->ops.emplace_back();
    op.op = d.U32();
    switch (op.op) {
      case OP_CB_RECALL:
        Decode(d, &op.args.emplace<CB_RECALL4args>());
        break;
      case OP_CB_SEQUENCE:
        Decode(d, &op.args.emplace<CB_SEQUENCE4args>());
        break;
      case OP_CB_OFFLOAD:
        Decode(d, &op.args.emplace<CB_OFFLOAD4args>());
        break;
      case OP_CB_ILLEGAL:
        break;
      default:
        d.Fail();  // arguments this codec does not know the length of
    }
  }
  return d.ok();
}

// Every callback result but CB_SEQUENCE's and CB_GETATTR's is a bare status (RFC 8881 §20).
bool Decode(xdr::XdrDecoder& d, CB_COMPOUND4res* out) {
  out->status = DecodeStatus(d);
  out->tag = OwnedString(d, kMaxNfs4Tag);
  const uint32_t n = d.ArrayLength(kMaxNfs4Ops, 8);
  out->results.clear();
  for (uint32_t i = 0; i < n && d.ok(); ++i) {
    nfs_cb_resop4& r = out->results.emplace_back();
    r.op = d.U32();
    if (r.op == OP_CB_SEQUENCE) {
      Decode(d, &r.sequence);
      r.status = r.sequence.status;
      continue;
    }
    r.status = DecodeStatus(d);
    if (r.op == OP_CB_GETATTR && r.status == nfsstat4::NFS4_OK) {
      fattr4 dropped;  // this server sends no CB_GETATTR; its answer is skipped
      Decode(d, &dropped);
    }
  }
  return d.ok();
}

void Encode(xdr::XdrEncoder& e, const CB_COMPOUND4res& in) {
  Encode(e, in.status);
  e.String(in.tag);
  e.U32(static_cast<uint32_t>(in.results.size()));
  for (const nfs_cb_resop4& r : in.results) {
    e.U32(r.op);
    Encode(e, r.status);
    if (r.status != nfsstat4::NFS4_OK) continue;
    if (r.op == OP_CB_SEQUENCE) {
      EncodeFixed(e, r.sequence.sessionid);
      e.U32(r.sequence.sequenceid);
      e.U32(r.sequence.slotid);
      e.U32(r.sequence.highest_slotid);
      e.U32(r.sequence.target_highest_slotid);
    } else if (r.op == OP_CB_GETATTR) {
      Encode(e, fattr4{});  // no attributes
    }
  }
}

const char* OpName(uint32_t op) {
  switch (op) {
    case OP_ACCESS:
      return "ACCESS";
    case OP_CLOSE:
      return "CLOSE";
    case OP_COMMIT:
      return "COMMIT";
    case OP_CREATE:
      return "CREATE";
    case OP_DELEGPURGE:
      return "DELEGPURGE";
    case OP_DELEGRETURN:
      return "DELEGRETURN";
    case OP_GETATTR:
      return "GETATTR";
    case OP_GETFH:
      return "GETFH";
    case OP_LINK:
      return "LINK";
    case OP_LOCK:
      return "LOCK";
    case OP_LOCKT:
      return "LOCKT";
    case OP_LOCKU:
      return "LOCKU";
    case OP_LOOKUP:
      return "LOOKUP";
    case OP_LOOKUPP:
      return "LOOKUPP";
    case OP_NVERIFY:
      return "NVERIFY";
    case OP_OPEN:
      return "OPEN";
    case OP_OPENATTR:
      return "OPENATTR";
    case OP_OPEN_CONFIRM:
      return "OPEN_CONFIRM";
    case OP_OPEN_DOWNGRADE:
      return "OPEN_DOWNGRADE";
    case OP_PUTFH:
      return "PUTFH";
    case OP_PUTPUBFH:
      return "PUTPUBFH";
    case OP_PUTROOTFH:
      return "PUTROOTFH";
    case OP_READ:
      return "READ";
    case OP_READDIR:
      return "READDIR";
    case OP_READLINK:
      return "READLINK";
    case OP_REMOVE:
      return "REMOVE";
    case OP_RENAME:
      return "RENAME";
    case OP_RENEW:
      return "RENEW";
    case OP_RESTOREFH:
      return "RESTOREFH";
    case OP_SAVEFH:
      return "SAVEFH";
    case OP_SECINFO:
      return "SECINFO";
    case OP_SETATTR:
      return "SETATTR";
    case OP_SETCLIENTID:
      return "SETCLIENTID";
    case OP_SETCLIENTID_CONFIRM:
      return "SETCLIENTID_CONFIRM";
    case OP_VERIFY:
      return "VERIFY";
    case OP_WRITE:
      return "WRITE";
    case OP_RELEASE_LOCKOWNER:
      return "RELEASE_LOCKOWNER";
    case OP_BACKCHANNEL_CTL:
      return "BACKCHANNEL_CTL";
    case OP_BIND_CONN_TO_SESSION:
      return "BIND_CONN_TO_SESSION";
    case OP_EXCHANGE_ID:
      return "EXCHANGE_ID";
    case OP_CREATE_SESSION:
      return "CREATE_SESSION";
    case OP_DESTROY_SESSION:
      return "DESTROY_SESSION";
    case OP_FREE_STATEID:
      return "FREE_STATEID";
    case OP_GET_DIR_DELEGATION:
      return "GET_DIR_DELEGATION";
    case OP_GETDEVICEINFO:
      return "GETDEVICEINFO";
    case OP_GETDEVICELIST:
      return "GETDEVICELIST";
    case OP_LAYOUTCOMMIT:
      return "LAYOUTCOMMIT";
    case OP_LAYOUTGET:
      return "LAYOUTGET";
    case OP_LAYOUTRETURN:
      return "LAYOUTRETURN";
    case OP_SECINFO_NO_NAME:
      return "SECINFO_NO_NAME";
    case OP_SEQUENCE:
      return "SEQUENCE";
    case OP_SET_SSV:
      return "SET_SSV";
    case OP_TEST_STATEID:
      return "TEST_STATEID";
    case OP_WANT_DELEGATION:
      return "WANT_DELEGATION";
    case OP_DESTROY_CLIENTID:
      return "DESTROY_CLIENTID";
    case OP_RECLAIM_COMPLETE:
      return "RECLAIM_COMPLETE";
    case OP_ALLOCATE:
      return "ALLOCATE";
    case OP_COPY:
      return "COPY";
    case OP_COPY_NOTIFY:
      return "COPY_NOTIFY";
    case OP_DEALLOCATE:
      return "DEALLOCATE";
    case OP_IO_ADVISE:
      return "IO_ADVISE";
    case OP_LAYOUTERROR:
      return "LAYOUTERROR";
    case OP_LAYOUTSTATS:
      return "LAYOUTSTATS";
    case OP_OFFLOAD_CANCEL:
      return "OFFLOAD_CANCEL";
    case OP_OFFLOAD_STATUS:
      return "OFFLOAD_STATUS";
    case OP_READ_PLUS:
      return "READ_PLUS";
    case OP_SEEK:
      return "SEEK";
    case OP_WRITE_SAME:
      return "WRITE_SAME";
    case OP_CLONE:
      return "CLONE";
    case OP_GETXATTR:
      return "GETXATTR";
    case OP_SETXATTR:
      return "SETXATTR";
    case OP_LISTXATTRS:
      return "LISTXATTRS";
    case OP_REMOVEXATTR:
      return "REMOVEXATTR";
    default:
      return "ILLEGAL";
  }
}

std::string_view ToString(nfsstat4 status) {
  switch (status) {
    case nfsstat4::NFS4_OK:
      return "NFS4_OK";
    case nfsstat4::NFS4ERR_PERM:
      return "NFS4ERR_PERM";
    case nfsstat4::NFS4ERR_NOENT:
      return "NFS4ERR_NOENT";
    case nfsstat4::NFS4ERR_IO:
      return "NFS4ERR_IO";
    case nfsstat4::NFS4ERR_NXIO:
      return "NFS4ERR_NXIO";
    case nfsstat4::NFS4ERR_ACCESS:
      return "NFS4ERR_ACCESS";
    case nfsstat4::NFS4ERR_EXIST:
      return "NFS4ERR_EXIST";
    case nfsstat4::NFS4ERR_XDEV:
      return "NFS4ERR_XDEV";
    case nfsstat4::NFS4ERR_NOTDIR:
      return "NFS4ERR_NOTDIR";
    case nfsstat4::NFS4ERR_ISDIR:
      return "NFS4ERR_ISDIR";
    case nfsstat4::NFS4ERR_INVAL:
      return "NFS4ERR_INVAL";
    case nfsstat4::NFS4ERR_FBIG:
      return "NFS4ERR_FBIG";
    case nfsstat4::NFS4ERR_NOSPC:
      return "NFS4ERR_NOSPC";
    case nfsstat4::NFS4ERR_ROFS:
      return "NFS4ERR_ROFS";
    case nfsstat4::NFS4ERR_MLINK:
      return "NFS4ERR_MLINK";
    case nfsstat4::NFS4ERR_NAMETOOLONG:
      return "NFS4ERR_NAMETOOLONG";
    case nfsstat4::NFS4ERR_NOTEMPTY:
      return "NFS4ERR_NOTEMPTY";
    case nfsstat4::NFS4ERR_DQUOT:
      return "NFS4ERR_DQUOT";
    case nfsstat4::NFS4ERR_STALE:
      return "NFS4ERR_STALE";
    case nfsstat4::NFS4ERR_BADHANDLE:
      return "NFS4ERR_BADHANDLE";
    case nfsstat4::NFS4ERR_BAD_COOKIE:
      return "NFS4ERR_BAD_COOKIE";
    case nfsstat4::NFS4ERR_NOTSUPP:
      return "NFS4ERR_NOTSUPP";
    case nfsstat4::NFS4ERR_TOOSMALL:
      return "NFS4ERR_TOOSMALL";
    case nfsstat4::NFS4ERR_SERVERFAULT:
      return "NFS4ERR_SERVERFAULT";
    case nfsstat4::NFS4ERR_BADTYPE:
      return "NFS4ERR_BADTYPE";
    case nfsstat4::NFS4ERR_DELAY:
      return "NFS4ERR_DELAY";
    case nfsstat4::NFS4ERR_SAME:
      return "NFS4ERR_SAME";
    case nfsstat4::NFS4ERR_DENIED:
      return "NFS4ERR_DENIED";
    case nfsstat4::NFS4ERR_EXPIRED:
      return "NFS4ERR_EXPIRED";
    case nfsstat4::NFS4ERR_LOCKED:
      return "NFS4ERR_LOCKED";
    case nfsstat4::NFS4ERR_GRACE:
      return "NFS4ERR_GRACE";
    case nfsstat4::NFS4ERR_FHEXPIRED:
      return "NFS4ERR_FHEXPIRED";
    case nfsstat4::NFS4ERR_SHARE_DENIED:
      return "NFS4ERR_SHARE_DENIED";
    case nfsstat4::NFS4ERR_WRONGSEC:
      return "NFS4ERR_WRONGSEC";
    case nfsstat4::NFS4ERR_CLID_INUSE:
      return "NFS4ERR_CLID_INUSE";
    case nfsstat4::NFS4ERR_RESOURCE:
      return "NFS4ERR_RESOURCE";
    case nfsstat4::NFS4ERR_MOVED:
      return "NFS4ERR_MOVED";
    case nfsstat4::NFS4ERR_NOFILEHANDLE:
      return "NFS4ERR_NOFILEHANDLE";
    case nfsstat4::NFS4ERR_MINOR_VERS_MISMATCH:
      return "NFS4ERR_MINOR_VERS_MISMATCH";
    case nfsstat4::NFS4ERR_STALE_CLIENTID:
      return "NFS4ERR_STALE_CLIENTID";
    case nfsstat4::NFS4ERR_STALE_STATEID:
      return "NFS4ERR_STALE_STATEID";
    case nfsstat4::NFS4ERR_OLD_STATEID:
      return "NFS4ERR_OLD_STATEID";
    case nfsstat4::NFS4ERR_BAD_STATEID:
      return "NFS4ERR_BAD_STATEID";
    case nfsstat4::NFS4ERR_BAD_SEQID:
      return "NFS4ERR_BAD_SEQID";
    case nfsstat4::NFS4ERR_NOT_SAME:
      return "NFS4ERR_NOT_SAME";
    case nfsstat4::NFS4ERR_LOCK_RANGE:
      return "NFS4ERR_LOCK_RANGE";
    case nfsstat4::NFS4ERR_SYMLINK:
      return "NFS4ERR_SYMLINK";
    case nfsstat4::NFS4ERR_RESTOREFH:
      return "NFS4ERR_RESTOREFH";
    case nfsstat4::NFS4ERR_LEASE_MOVED:
      return "NFS4ERR_LEASE_MOVED";
    case nfsstat4::NFS4ERR_ATTRNOTSUPP:
      return "NFS4ERR_ATTRNOTSUPP";
    case nfsstat4::NFS4ERR_NO_GRACE:
      return "NFS4ERR_NO_GRACE";
    case nfsstat4::NFS4ERR_RECLAIM_BAD:
      return "NFS4ERR_RECLAIM_BAD";
    case nfsstat4::NFS4ERR_RECLAIM_CONFLICT:
      return "NFS4ERR_RECLAIM_CONFLICT";
    case nfsstat4::NFS4ERR_BADXDR:
      return "NFS4ERR_BADXDR";
    case nfsstat4::NFS4ERR_LOCKS_HELD:
      return "NFS4ERR_LOCKS_HELD";
    case nfsstat4::NFS4ERR_OPENMODE:
      return "NFS4ERR_OPENMODE";
    case nfsstat4::NFS4ERR_BADOWNER:
      return "NFS4ERR_BADOWNER";
    case nfsstat4::NFS4ERR_BADCHAR:
      return "NFS4ERR_BADCHAR";
    case nfsstat4::NFS4ERR_BADNAME:
      return "NFS4ERR_BADNAME";
    case nfsstat4::NFS4ERR_BAD_RANGE:
      return "NFS4ERR_BAD_RANGE";
    case nfsstat4::NFS4ERR_LOCK_NOTSUPP:
      return "NFS4ERR_LOCK_NOTSUPP";
    case nfsstat4::NFS4ERR_OP_ILLEGAL:
      return "NFS4ERR_OP_ILLEGAL";
    case nfsstat4::NFS4ERR_DEADLOCK:
      return "NFS4ERR_DEADLOCK";
    case nfsstat4::NFS4ERR_FILE_OPEN:
      return "NFS4ERR_FILE_OPEN";
    case nfsstat4::NFS4ERR_ADMIN_REVOKED:
      return "NFS4ERR_ADMIN_REVOKED";
    case nfsstat4::NFS4ERR_CB_PATH_DOWN:
      return "NFS4ERR_CB_PATH_DOWN";
    case nfsstat4::NFS4ERR_BADIOMODE:
      return "NFS4ERR_BADIOMODE";
    case nfsstat4::NFS4ERR_BADLAYOUT:
      return "NFS4ERR_BADLAYOUT";
    case nfsstat4::NFS4ERR_BAD_SESSION_DIGEST:
      return "NFS4ERR_BAD_SESSION_DIGEST";
    case nfsstat4::NFS4ERR_BADSESSION:
      return "NFS4ERR_BADSESSION";
    case nfsstat4::NFS4ERR_BADSLOT:
      return "NFS4ERR_BADSLOT";
    case nfsstat4::NFS4ERR_COMPLETE_ALREADY:
      return "NFS4ERR_COMPLETE_ALREADY";
    case nfsstat4::NFS4ERR_CONN_NOT_BOUND_TO_SESSION:
      return "NFS4ERR_CONN_NOT_BOUND_TO_SESSION";
    case nfsstat4::NFS4ERR_DELEG_ALREADY_WANTED:
      return "NFS4ERR_DELEG_ALREADY_WANTED";
    case nfsstat4::NFS4ERR_BACK_CHAN_BUSY:
      return "NFS4ERR_BACK_CHAN_BUSY";
    case nfsstat4::NFS4ERR_LAYOUTTRYLATER:
      return "NFS4ERR_LAYOUTTRYLATER";
    case nfsstat4::NFS4ERR_LAYOUTUNAVAILABLE:
      return "NFS4ERR_LAYOUTUNAVAILABLE";
    case nfsstat4::NFS4ERR_NOMATCHING_LAYOUT:
      return "NFS4ERR_NOMATCHING_LAYOUT";
    case nfsstat4::NFS4ERR_RECALLCONFLICT:
      return "NFS4ERR_RECALLCONFLICT";
    case nfsstat4::NFS4ERR_UNKNOWN_LAYOUTTYPE:
      return "NFS4ERR_UNKNOWN_LAYOUTTYPE";
    case nfsstat4::NFS4ERR_SEQ_MISORDERED:
      return "NFS4ERR_SEQ_MISORDERED";
    case nfsstat4::NFS4ERR_SEQUENCE_POS:
      return "NFS4ERR_SEQUENCE_POS";
    case nfsstat4::NFS4ERR_REQ_TOO_BIG:
      return "NFS4ERR_REQ_TOO_BIG";
    case nfsstat4::NFS4ERR_REP_TOO_BIG:
      return "NFS4ERR_REP_TOO_BIG";
    case nfsstat4::NFS4ERR_REP_TOO_BIG_TO_CACHE:
      return "NFS4ERR_REP_TOO_BIG_TO_CACHE";
    case nfsstat4::NFS4ERR_RETRY_UNCACHED_REP:
      return "NFS4ERR_RETRY_UNCACHED_REP";
    case nfsstat4::NFS4ERR_UNSAFE_COMPOUND:
      return "NFS4ERR_UNSAFE_COMPOUND";
    case nfsstat4::NFS4ERR_TOO_MANY_OPS:
      return "NFS4ERR_TOO_MANY_OPS";
    case nfsstat4::NFS4ERR_OP_NOT_IN_SESSION:
      return "NFS4ERR_OP_NOT_IN_SESSION";
    case nfsstat4::NFS4ERR_HASH_ALG_UNSUPP:
      return "NFS4ERR_HASH_ALG_UNSUPP";
    case nfsstat4::NFS4ERR_CLIENTID_BUSY:
      return "NFS4ERR_CLIENTID_BUSY";
    case nfsstat4::NFS4ERR_PNFS_IO_HOLE:
      return "NFS4ERR_PNFS_IO_HOLE";
    case nfsstat4::NFS4ERR_SEQ_FALSE_RETRY:
      return "NFS4ERR_SEQ_FALSE_RETRY";
    case nfsstat4::NFS4ERR_BAD_HIGH_SLOT:
      return "NFS4ERR_BAD_HIGH_SLOT";
    case nfsstat4::NFS4ERR_DEADSESSION:
      return "NFS4ERR_DEADSESSION";
    case nfsstat4::NFS4ERR_ENCR_ALG_UNSUPP:
      return "NFS4ERR_ENCR_ALG_UNSUPP";
    case nfsstat4::NFS4ERR_PNFS_NO_LAYOUT:
      return "NFS4ERR_PNFS_NO_LAYOUT";
    case nfsstat4::NFS4ERR_NOT_ONLY_OP:
      return "NFS4ERR_NOT_ONLY_OP";
    case nfsstat4::NFS4ERR_WRONG_CRED:
      return "NFS4ERR_WRONG_CRED";
    case nfsstat4::NFS4ERR_WRONG_TYPE:
      return "NFS4ERR_WRONG_TYPE";
    case nfsstat4::NFS4ERR_DIRDELEG_UNAVAIL:
      return "NFS4ERR_DIRDELEG_UNAVAIL";
    case nfsstat4::NFS4ERR_REJECT_DELEG:
      return "NFS4ERR_REJECT_DELEG";
    case nfsstat4::NFS4ERR_RETURNCONFLICT:
      return "NFS4ERR_RETURNCONFLICT";
    case nfsstat4::NFS4ERR_DELEG_REVOKED:
      return "NFS4ERR_DELEG_REVOKED";
    case nfsstat4::NFS4ERR_PARTNER_NOTSUPP:
      return "NFS4ERR_PARTNER_NOTSUPP";
    case nfsstat4::NFS4ERR_PARTNER_NO_AUTH:
      return "NFS4ERR_PARTNER_NO_AUTH";
    case nfsstat4::NFS4ERR_UNION_NOTSUPP:
      return "NFS4ERR_UNION_NOTSUPP";
    case nfsstat4::NFS4ERR_OFFLOAD_DENIED:
      return "NFS4ERR_OFFLOAD_DENIED";
    case nfsstat4::NFS4ERR_WRONG_LFS:
      return "NFS4ERR_WRONG_LFS";
    case nfsstat4::NFS4ERR_BADLABEL:
      return "NFS4ERR_BADLABEL";
    case nfsstat4::NFS4ERR_OFFLOAD_NO_REQS:
      return "NFS4ERR_OFFLOAD_NO_REQS";
    case nfsstat4::NFS4ERR_NOXATTR:
      return "NFS4ERR_NOXATTR";
    case nfsstat4::NFS4ERR_XATTR2BIG:
      return "NFS4ERR_XATTR2BIG";
  }
  return "NFS4ERR_<unknown>";
}

}  // namespace dittofs::nfs

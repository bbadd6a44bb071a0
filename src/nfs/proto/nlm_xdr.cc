// SPDX-License-Identifier: Apache-2.0
// XDR codecs for the NLM and NSM types of nlm_types.h.
#include "nfs/proto/nlm_types.h"

namespace dittofs::nfs {
namespace {

bool Wide(uint32_t vers) { return vers >= NLM4_VERS; }

void DecodeNetobj(xdr::XdrDecoder& d, std::string* out) {
  *out = std::string(d.String(MAXNETOBJ_SZ));
}

// Offsets and lengths: 64-bit in version 4, unsigned 32-bit before.
uint64_t DecodeOffset(xdr::XdrDecoder& d, uint32_t vers) { return Wide(vers) ? d.U64() : d.U32(); }
void EncodeOffset(xdr::XdrEncoder& e, uint64_t v, uint32_t vers) {
  if (Wide(vers)) {
    e.U64(v);
  } else {
    e.U32(v > 0xFFFFFFFFu ? 0xFFFFFFFFu : static_cast<uint32_t>(v));
  }
}

bool DecodeStats(xdr::XdrDecoder& d, nlm4_stats* out, uint32_t vers) {
  const uint32_t v = d.U32();
  const uint32_t last = Wide(vers) ? static_cast<uint32_t>(nlm4_stats::NLM4_FAILED)
                                   : static_cast<uint32_t>(nlm4_stats::NLM4_DENIED_GRACE_PERIOD);
  if (v > last) d.Fail();
  *out = d.ok() ? static_cast<nlm4_stats>(v) : nlm4_stats::NLM4_FAILED;
  return d.ok();
}

// Versions 1 and 3 know five statuses: a deadlock is a denial there, and every other failure
// a lack of resources.
void EncodeStats(xdr::XdrEncoder& e, nlm4_stats s, uint32_t vers) {
  if (!Wide(vers) && s > nlm4_stats::NLM4_DENIED_GRACE_PERIOD) {
    s = s == nlm4_stats::NLM4_DEADLCK ? nlm4_stats::NLM4_DENIED : nlm4_stats::NLM4_DENIED_NOLOCKS;
  }
  e.U32(static_cast<uint32_t>(s));
}

}  // namespace

bool Decode(xdr::XdrDecoder& d, nlm4_lock* out, uint32_t vers) {
  out->caller_name = std::string(d.String(LM_MAXSTRLEN));
  DecodeNetobj(d, &out->fh);
  DecodeNetobj(d, &out->oh);
  out->svid = d.I32();
  out->l_offset = DecodeOffset(d, vers);
  out->l_len = DecodeOffset(d, vers);
  return d.ok();
}
void Encode(xdr::XdrEncoder& e, const nlm4_lock& in, uint32_t vers) {
  e.String(in.caller_name);
  e.String(in.fh);
  e.String(in.oh);
  e.I32(in.svid);
  EncodeOffset(e, in.l_offset, vers);
  EncodeOffset(e, in.l_len, vers);
}

bool Decode(xdr::XdrDecoder& d, nlm4_lockargs* out, uint32_t vers) {
  DecodeNetobj(d, &out->cookie);
  out->block = d.Bool();
  out->exclusive = d.Bool();
  Decode(d, &out->alock, vers);
  out->reclaim = d.Bool();
  out->state = d.I32();
  return d.ok();
}
void Encode(xdr::XdrEncoder& e, const nlm4_lockargs& in, uint32_t vers) {
  e.String(in.cookie);
  e.Bool(in.block);
  e.Bool(in.exclusive);
  Encode(e, in.alock, vers);
  e.Bool(in.reclaim);
  e.I32(in.state);
}

bool Decode(xdr::XdrDecoder& d, nlm4_cancargs* out, uint32_t vers) {
  DecodeNetobj(d, &out->cookie);
  out->block = d.Bool();
  out->exclusive = d.Bool();
  return Decode(d, &out->alock, vers);
}
void Encode(xdr::XdrEncoder& e, const nlm4_cancargs& in, uint32_t vers) {
  e.String(in.cookie);
  e.Bool(in.block);
  e.Bool(in.exclusive);
  Encode(e, in.alock, vers);
}

bool Decode(xdr::XdrDecoder& d, nlm4_testargs* out, uint32_t vers) {
  DecodeNetobj(d, &out->cookie);
  out->exclusive = d.Bool();
  return Decode(d, &out->alock, vers);
}
void Encode(xdr::XdrEncoder& e, const nlm4_testargs& in, uint32_t vers) {
  e.String(in.cookie);
  e.Bool(in.exclusive);
  Encode(e, in.alock, vers);
}

bool Decode(xdr::XdrDecoder& d, nlm4_unlockargs* out, uint32_t vers) {
  DecodeNetobj(d, &out->cookie);
  return Decode(d, &out->alock, vers);
}
void Encode(xdr::XdrEncoder& e, const nlm4_unlockargs& in, uint32_t vers) {
  e.String(in.cookie);
  Encode(e, in.alock, vers);
}

bool Decode(xdr::XdrDecoder& d, nlm4_res* out, uint32_t vers) {
  DecodeNetobj(d, &out->cookie);
  return DecodeStats(d, &out->stat, vers);
}
void Encode(xdr::XdrEncoder& e, const nlm4_res& in, uint32_t vers) {
  e.String(in.cookie);
  EncodeStats(e, in.stat, vers);
}

bool Decode(xdr::XdrDecoder& d, nlm4_testres* out, uint32_t vers) {
  DecodeNetobj(d, &out->cookie);
  DecodeStats(d, &out->stat, vers);
  out->holder = {};
  if (d.ok() && out->stat == nlm4_stats::NLM4_DENIED) {
    out->holder.exclusive = d.Bool();
    out->holder.svid = d.I32();
    DecodeNetobj(d, &out->holder.oh);
    out->holder.l_offset = DecodeOffset(d, vers);
    out->holder.l_len = DecodeOffset(d, vers);
  }
  return d.ok();
}
void Encode(xdr::XdrEncoder& e, const nlm4_testres& in, uint32_t vers) {
  e.String(in.cookie);
  EncodeStats(e, in.stat, vers);
  if (in.stat != nlm4_stats::NLM4_DENIED) return;
  e.Bool(in.holder.exclusive);
  e.I32(in.holder.svid);
  e.String(in.holder.oh);
  EncodeOffset(e, in.holder.l_offset, vers);
  EncodeOffset(e, in.holder.l_len, vers);
}

bool Decode(xdr::XdrDecoder& d, nlm4_shareargs* out, uint32_t /*vers*/) {
  DecodeNetobj(d, &out->cookie);
  out->share.caller_name = std::string(d.String(LM_MAXSTRLEN));
  DecodeNetobj(d, &out->share.fh);
  DecodeNetobj(d, &out->share.oh);
  const uint32_t mode = d.U32();
  const uint32_t access = d.U32();
  if (mode > 3 || access > 3) d.Fail();
  out->share.mode = static_cast<fsh4_mode>(mode & 3);
  out->share.access = static_cast<fsh4_access>(access & 3);
  out->reclaim = d.Bool();
  return d.ok();
}
void Encode(xdr::XdrEncoder& e, const nlm4_shareargs& in, uint32_t /*vers*/) {
  e.String(in.cookie);
  e.String(in.share.caller_name);
  e.String(in.share.fh);
  e.String(in.share.oh);
  e.U32(static_cast<uint32_t>(in.share.mode));
  e.U32(static_cast<uint32_t>(in.share.access));
  e.Bool(in.reclaim);
}

bool Decode(xdr::XdrDecoder& d, nlm4_shareres* out, uint32_t vers) {
  DecodeNetobj(d, &out->cookie);
  DecodeStats(d, &out->stat, vers);
  out->sequence = d.I32();
  return d.ok();
}
void Encode(xdr::XdrEncoder& e, const nlm4_shareres& in, uint32_t vers) {
  e.String(in.cookie);
  EncodeStats(e, in.stat, vers);
  e.I32(in.sequence);
}

bool Decode(xdr::XdrDecoder& d, nlm4_notify* out) {
  out->name = std::string(d.String(LM_MAXNAMELEN));
  out->state = d.I32();
  return d.ok();
}
void Encode(xdr::XdrEncoder& e, const nlm4_notify& in) {
  e.String(in.name);
  e.I32(in.state);
}

// ---- NSM ----

bool DecodeSmName(xdr::XdrDecoder& d, std::string* mon_name) {
  *mon_name = std::string(d.String(SM_MAXSTRLEN));
  return d.ok();
}

bool Decode(xdr::XdrDecoder& d, my_id* out) {
  out->my_name = std::string(d.String(SM_MAXSTRLEN));
  out->my_prog = d.I32();
  out->my_vers = d.I32();
  out->my_proc = d.I32();
  return d.ok();
}
void Encode(xdr::XdrEncoder& e, const my_id& in) {
  e.String(in.my_name);
  e.I32(in.my_prog);
  e.I32(in.my_vers);
  e.I32(in.my_proc);
}

bool Decode(xdr::XdrDecoder& d, mon_id* out) {
  out->mon_name = std::string(d.String(SM_MAXSTRLEN));
  return Decode(d, &out->my_id_);
}
void Encode(xdr::XdrEncoder& e, const mon_id& in) {
  e.String(in.mon_name);
  Encode(e, in.my_id_);
}

bool Decode(xdr::XdrDecoder& d, mon* out) {
  Decode(d, &out->mon_id_);
  out->priv = std::string(AsChars(d.FixedOpaque(16)));
  return d.ok();
}
void Encode(xdr::XdrEncoder& e, const mon& in) {
  Encode(e, in.mon_id_);
  std::string priv = in.priv;
  priv.resize(16);
  e.FixedOpaque(AsBytes(priv));
}

bool Decode(xdr::XdrDecoder& d, sm_stat_res* out) {
  const uint32_t r = d.U32();
  if (r > 1) d.Fail();
  out->res_stat = static_cast<sm_res>(r & 1);
  out->state = d.I32();
  return d.ok();
}
void Encode(xdr::XdrEncoder& e, const sm_stat_res& in) {
  e.U32(static_cast<uint32_t>(in.res_stat));
  e.I32(in.state);
}

bool Decode(xdr::XdrDecoder& d, stat_chge* out) {
  out->mon_name = std::string(d.String(SM_MAXSTRLEN));
  out->state = d.I32();
  return d.ok();
}
void Encode(xdr::XdrEncoder& e, const stat_chge& in) {
  e.String(in.mon_name);
  e.I32(in.state);
}

}  // namespace dittofs::nfs

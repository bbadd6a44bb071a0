// SPDX-License-Identifier: Apache-2.0
#pragma once

// The Network Lock Manager (NLM, program 100021) and the Network Status Monitor (NSM, program
// 100024), NFSv3's locking protocols: NLM version 4 as RFC 1813 (section 6 and its appendix II)
// defines it, versions 1 and 3 as X/Open's XNFS specification does (the same procedures with
// 32-bit offsets and lengths; version 3 adds SHARE, UNSHARE, NM_LOCK and FREE_ALL), and NSM
// version 1.
//
// One set of types serves every version: the 64-bit ones of version 4. The codecs take the
// version and read or write 32-bit offsets and lengths for versions 1 and 3, and map the
// version 4 statuses those versions lack onto theirs. NLM traffic is rare and small, so every
// string and netobj is an owned std::string (a blocked lock's cookie and owner outlive the call
// that brought them). Codecs follow nfs3_types.h: Decode returns false, and the decoder is
// failed, on bad input.

#include <cstddef>
#include <cstdint>
#include <string>

#include "xdr/xdr.h"

namespace dittofs::nfs {

inline constexpr uint32_t NLM_PROG = 100021;
inline constexpr uint32_t NLM_VERS = 1;
inline constexpr uint32_t NLM_VERSX = 3;
inline constexpr uint32_t NLM4_VERS = 4;

inline constexpr uint32_t NLMPROC_NULL = 0;
inline constexpr uint32_t NLMPROC_TEST = 1;
inline constexpr uint32_t NLMPROC_LOCK = 2;
inline constexpr uint32_t NLMPROC_CANCEL = 3;
inline constexpr uint32_t NLMPROC_UNLOCK = 4;
inline constexpr uint32_t NLMPROC_GRANTED = 5;
inline constexpr uint32_t NLMPROC_TEST_MSG = 6;
inline constexpr uint32_t NLMPROC_LOCK_MSG = 7;
inline constexpr uint32_t NLMPROC_CANCEL_MSG = 8;
inline constexpr uint32_t NLMPROC_UNLOCK_MSG = 9;
inline constexpr uint32_t NLMPROC_GRANTED_MSG = 10;
inline constexpr uint32_t NLMPROC_TEST_RES = 11;
inline constexpr uint32_t NLMPROC_LOCK_RES = 12;
inline constexpr uint32_t NLMPROC_CANCEL_RES = 13;
inline constexpr uint32_t NLMPROC_UNLOCK_RES = 14;
inline constexpr uint32_t NLMPROC_GRANTED_RES = 15;
inline constexpr uint32_t NLMPROC_SHARE = 20;
inline constexpr uint32_t NLMPROC_UNSHARE = 21;
inline constexpr uint32_t NLMPROC_NM_LOCK = 22;
inline constexpr uint32_t NLMPROC_FREE_ALL = 23;

inline constexpr size_t LM_MAXSTRLEN = 1024;   // caller_name
inline constexpr size_t LM_MAXNAMELEN = 1025;  // nlm_notify's name (MAXNAMELEN)
inline constexpr size_t MAXNETOBJ_SZ = 1024;   // cookie, fh, oh

// nlm4_stats; versions 1 and 3 have the first five (nlm_stats).
enum class nlm4_stats : uint32_t {
  NLM4_GRANTED = 0,
  NLM4_DENIED = 1,
  NLM4_DENIED_NOLOCKS = 2,
  NLM4_BLOCKED = 3,
  NLM4_DENIED_GRACE_PERIOD = 4,
  NLM4_DEADLCK = 5,
  NLM4_ROFS = 6,
  NLM4_STALE_FH = 7,
  NLM4_FBIG = 8,
  NLM4_FAILED = 9,
};

struct nlm4_holder {
  bool exclusive = false;
  int32_t svid = 0;
  std::string oh;
  uint64_t l_offset = 0;
  uint64_t l_len = 0;
};

struct nlm4_lock {
  std::string caller_name;
  std::string fh;
  std::string oh;
  int32_t svid = 0;
  uint64_t l_offset = 0;
  uint64_t l_len = 0;  // 0: to the end of the file, however long it grows
};

struct nlm4_lockargs {
  std::string cookie;
  bool block = false;
  bool exclusive = false;
  nlm4_lock alock;
  bool reclaim = false;
  int32_t state = 0;  // the client's NSM state
};

struct nlm4_cancargs {
  std::string cookie;
  bool block = false;
  bool exclusive = false;
  nlm4_lock alock;
};

struct nlm4_testargs {
  std::string cookie;
  bool exclusive = false;
  nlm4_lock alock;
};

struct nlm4_unlockargs {
  std::string cookie;
  nlm4_lock alock;
};

struct nlm4_res {
  std::string cookie;
  nlm4_stats stat = nlm4_stats::NLM4_GRANTED;
};

struct nlm4_testres {
  std::string cookie;
  nlm4_stats stat = nlm4_stats::NLM4_GRANTED;
  nlm4_holder holder;  // when stat is NLM4_DENIED
};

// DOS share reservations (PC-NFS): what the open denies others, and what it wants.
enum class fsh4_mode : uint32_t { fsm_DN = 0, fsm_DR = 1, fsm_DW = 2, fsm_DRW = 3 };
enum class fsh4_access : uint32_t { fsa_NONE = 0, fsa_R = 1, fsa_W = 2, fsa_RW = 3 };

struct nlm4_share {
  std::string caller_name;
  std::string fh;
  std::string oh;
  fsh4_mode mode = fsh4_mode::fsm_DN;
  fsh4_access access = fsh4_access::fsa_NONE;
};

struct nlm4_shareargs {
  std::string cookie;
  nlm4_share share;
  bool reclaim = false;
};

struct nlm4_shareres {
  std::string cookie;
  nlm4_stats stat = nlm4_stats::NLM4_GRANTED;
  int32_t sequence = 0;
};

struct nlm4_notify {
  std::string name;
  int32_t state = 0;
};

// `vers` is the NLM version of the call: 1, 3 or 4.
bool Decode(xdr::XdrDecoder& d, nlm4_lock* out, uint32_t vers);
void Encode(xdr::XdrEncoder& e, const nlm4_lock& in, uint32_t vers);
bool Decode(xdr::XdrDecoder& d, nlm4_lockargs* out, uint32_t vers);
void Encode(xdr::XdrEncoder& e, const nlm4_lockargs& in, uint32_t vers);
bool Decode(xdr::XdrDecoder& d, nlm4_cancargs* out, uint32_t vers);
void Encode(xdr::XdrEncoder& e, const nlm4_cancargs& in, uint32_t vers);
bool Decode(xdr::XdrDecoder& d, nlm4_testargs* out, uint32_t vers);
void Encode(xdr::XdrEncoder& e, const nlm4_testargs& in, uint32_t vers);
bool Decode(xdr::XdrDecoder& d, nlm4_unlockargs* out, uint32_t vers);
void Encode(xdr::XdrEncoder& e, const nlm4_unlockargs& in, uint32_t vers);
bool Decode(xdr::XdrDecoder& d, nlm4_res* out, uint32_t vers);
void Encode(xdr::XdrEncoder& e, const nlm4_res& in, uint32_t vers);
bool Decode(xdr::XdrDecoder& d, nlm4_testres* out, uint32_t vers);
void Encode(xdr::XdrEncoder& e, const nlm4_testres& in, uint32_t vers);
bool Decode(xdr::XdrDecoder& d, nlm4_shareargs* out, uint32_t vers);
void Encode(xdr::XdrEncoder& e, const nlm4_shareargs& in, uint32_t vers);
bool Decode(xdr::XdrDecoder& d, nlm4_shareres* out, uint32_t vers);
void Encode(xdr::XdrEncoder& e, const nlm4_shareres& in, uint32_t vers);
bool Decode(xdr::XdrDecoder& d, nlm4_notify* out);
void Encode(xdr::XdrEncoder& e, const nlm4_notify& in);

// ---- NSM, the status monitor (program 100024 version 1) ----

inline constexpr uint32_t SM_PROG = 100024;
inline constexpr uint32_t SM_VERS = 1;
inline constexpr uint32_t SM_NULL = 0;
inline constexpr uint32_t SM_STAT = 1;
inline constexpr uint32_t SM_MON = 2;
inline constexpr uint32_t SM_UNMON = 3;
inline constexpr uint32_t SM_UNMON_ALL = 4;
inline constexpr uint32_t SM_SIMU_CRASH = 5;
inline constexpr uint32_t SM_NOTIFY = 6;

inline constexpr size_t SM_MAXSTRLEN = 1024;

enum class sm_res : uint32_t { stat_succ = 0, stat_fail = 1 };

struct my_id {
  std::string my_name;  // the host to call back
  int32_t my_prog = 0;
  int32_t my_vers = 0;
  int32_t my_proc = 0;
};

struct mon_id {
  std::string mon_name;  // the host to monitor
  my_id my_id_;
};

struct mon {
  mon_id mon_id_;
  std::string priv;  // opaque[16], handed back in the callback
};

struct sm_stat_res {
  sm_res res_stat = sm_res::stat_succ;
  int32_t state = 0;
};

// SM_NOTIFY's argument: a host that restarted and its new state.
struct stat_chge {
  std::string mon_name;
  int32_t state = 0;
};

bool DecodeSmName(xdr::XdrDecoder& d, std::string* mon_name);
bool Decode(xdr::XdrDecoder& d, my_id* out);
void Encode(xdr::XdrEncoder& e, const my_id& in);
bool Decode(xdr::XdrDecoder& d, mon_id* out);
void Encode(xdr::XdrEncoder& e, const mon_id& in);
bool Decode(xdr::XdrDecoder& d, mon* out);
void Encode(xdr::XdrEncoder& e, const mon& in);
bool Decode(xdr::XdrDecoder& d, sm_stat_res* out);
void Encode(xdr::XdrEncoder& e, const sm_stat_res& in);
bool Decode(xdr::XdrDecoder& d, stat_chge* out);
void Encode(xdr::XdrEncoder& e, const stat_chge& in);

}  // namespace dittofs::nfs

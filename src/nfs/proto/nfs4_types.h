// SPDX-License-Identifier: Apache-2.0
#pragma once

// NFS version 4.0 (RFC 7530, RFC 7531) and 4.1 (RFC 8881, RFC 5662) protocol types, their XDR
// codecs, and the callback program's (CB_COMPOUND with CB_RECALL and CB_SEQUENCE).
//
// Names follow the spec. Discriminated unions are the discriminant plus all arms, of which
// only the one the discriminant selects is encoded; optional arrays of at most one element
// (eia_client_impl_id, ca_rdma_ird) are std::optional.
//
// Ownership, as in nfs3_types.h: a decoded request borrows from the RPC input (names, opaque
// owners, file handles, WRITE data and attribute values are views valid while the input lives);
// what a handler produces owns its data, except READ4resok::data, which views the store's
// memory kept alive by `holds`.
//
// COMPOUND is decoded one operation at a time (DecodeCompoundHeader, then Decode(nfs_argop4)
// numops times), so that the operations before one whose arguments do not decode still run
// (RFC 8881 §15.2: the failing operation gets NFS4ERR_BADXDR and ends the COMPOUND). Results
// are encoded one at a time too (EncodeResop), right after their operation ran.
//
// Codecs: for each type T that has one,
//   bool Decode(xdr::XdrDecoder& d, T* out);   // false (and d sticky-failed) on bad input
//   void Encode(xdr::XdrEncoder& e, const T& in);
// Decode rejects truncated input, out-of-range enum values and union discriminants, booleans
// other than 0/1, and opaques, strings and lists longer than the bounds below.
//
// Attributes travel as fattr4: a bitmap and the values of its set bits, in bit order, packed in
// an opaque. The codec keeps them as that opaque (fattr4::attr_vals); DecodeAttrs and
// EncodeAttrs translate between it and Fattr4 (the values, typed).

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "base/bytes.h"
#include "xdr/xdr.h"

namespace dittofs::nfs {

inline constexpr uint32_t NFS4_PROGRAM = 100003;
inline constexpr uint32_t NFS_V4 = 4;
inline constexpr uint32_t NFSPROC4_NULL = 0;
inline constexpr uint32_t NFSPROC4_COMPOUND = 1;
// The callback program: clients give its number (4.0 SETCLIENTID, 4.1 CREATE_SESSION).
inline constexpr uint32_t NFS4_CALLBACK_VERSION = 1;
inline constexpr uint32_t CB_NULL = 0;
inline constexpr uint32_t CB_COMPOUND = 1;

// Sizes (RFC 8881 §3.2, §2.10).
inline constexpr size_t NFS4_FHSIZE = 128;
inline constexpr size_t NFS4_VERIFIER_SIZE = 8;
inline constexpr size_t NFS4_OTHER_SIZE = 12;
inline constexpr size_t NFS4_OPAQUE_LIMIT = 1024;
inline constexpr size_t NFS4_SESSIONID_SIZE = 16;

// Decoding bounds beyond the spec's: what a well-behaved client never exceeds.
inline constexpr size_t kMaxNfs4Tag = 1024;           // COMPOUND tags
inline constexpr size_t kMaxNfs4Name = 1024;          // component4 (longer: NAMETOOLONG later)
inline constexpr size_t kMaxNfs4LinkText = 4096;      // linktext4
inline constexpr size_t kMaxNfs4Ops = 1024;           // operations per COMPOUND that decode
inline constexpr size_t kMaxNfs4BitmapWords = 64;     // bitmap4 (bits past 3 words are unknown)
inline constexpr size_t kMaxNfs4AttrBytes = 65536;    // fattr4 attr_vals
inline constexpr size_t kMaxNfs4Data = 4u << 20;      // READ/WRITE data
inline constexpr size_t kMaxNfs4NetStr = 256;         // netid and universal addresses
inline constexpr size_t kMaxNfs4SecParms = 16;        // callback_sec_parms4 per list
inline constexpr size_t kMaxNfs4TestStateids = 1024;  // TEST_STATEID
inline constexpr size_t kMaxNfs4Secinfo = 16;         // SECINFO answers
inline constexpr size_t kMaxNfs4ReferringLists = 64;  // CB_SEQUENCE referring call lists

enum class nfsstat4 : uint32_t {
  NFS4_OK = 0,
  NFS4ERR_PERM = 1,
  NFS4ERR_NOENT = 2,
  NFS4ERR_IO = 5,
  NFS4ERR_NXIO = 6,
  NFS4ERR_ACCESS = 13,
  NFS4ERR_EXIST = 17,
  NFS4ERR_XDEV = 18,
  NFS4ERR_NOTDIR = 20,
  NFS4ERR_ISDIR = 21,
  NFS4ERR_INVAL = 22,
  NFS4ERR_FBIG = 27,
  NFS4ERR_NOSPC = 28,
  NFS4ERR_ROFS = 30,
  NFS4ERR_MLINK = 31,
  NFS4ERR_NAMETOOLONG = 63,
  NFS4ERR_NOTEMPTY = 66,
  NFS4ERR_DQUOT = 69,
  NFS4ERR_STALE = 70,
  NFS4ERR_BADHANDLE = 10001,
  NFS4ERR_BAD_COOKIE = 10003,
  NFS4ERR_NOTSUPP = 10004,
  NFS4ERR_TOOSMALL = 10005,
  NFS4ERR_SERVERFAULT = 10006,
  NFS4ERR_BADTYPE = 10007,
  NFS4ERR_DELAY = 10008,
  NFS4ERR_SAME = 10009,
  NFS4ERR_DENIED = 10010,
  NFS4ERR_EXPIRED = 10011,
  NFS4ERR_LOCKED = 10012,
  NFS4ERR_GRACE = 10013,
  NFS4ERR_FHEXPIRED = 10014,
  NFS4ERR_SHARE_DENIED = 10015,
  NFS4ERR_WRONGSEC = 10016,
  NFS4ERR_CLID_INUSE = 10017,
  NFS4ERR_RESOURCE = 10018,
  NFS4ERR_MOVED = 10019,
  NFS4ERR_NOFILEHANDLE = 10020,
  NFS4ERR_MINOR_VERS_MISMATCH = 10021,
  NFS4ERR_STALE_CLIENTID = 10022,
  NFS4ERR_STALE_STATEID = 10023,
  NFS4ERR_OLD_STATEID = 10024,
  NFS4ERR_BAD_STATEID = 10025,
  NFS4ERR_BAD_SEQID = 10026,
  NFS4ERR_NOT_SAME = 10027,
  NFS4ERR_LOCK_RANGE = 10028,
  NFS4ERR_SYMLINK = 10029,
  NFS4ERR_RESTOREFH = 10030,
  NFS4ERR_LEASE_MOVED = 10031,
  NFS4ERR_ATTRNOTSUPP = 10032,
  NFS4ERR_NO_GRACE = 10033,
  NFS4ERR_RECLAIM_BAD = 10034,
  NFS4ERR_RECLAIM_CONFLICT = 10035,
  NFS4ERR_BADXDR = 10036,
  NFS4ERR_LOCKS_HELD = 10037,
  NFS4ERR_OPENMODE = 10038,
  NFS4ERR_BADOWNER = 10039,
  NFS4ERR_BADCHAR = 10040,
  NFS4ERR_BADNAME = 10041,
  NFS4ERR_BAD_RANGE = 10042,
  NFS4ERR_LOCK_NOTSUPP = 10043,
  NFS4ERR_OP_ILLEGAL = 10044,
  NFS4ERR_DEADLOCK = 10045,
  NFS4ERR_FILE_OPEN = 10046,
  NFS4ERR_ADMIN_REVOKED = 10047,
  NFS4ERR_CB_PATH_DOWN = 10048,
  NFS4ERR_BADIOMODE = 10049,
  NFS4ERR_BADLAYOUT = 10050,
  NFS4ERR_BAD_SESSION_DIGEST = 10051,
  NFS4ERR_BADSESSION = 10052,
  NFS4ERR_BADSLOT = 10053,
  NFS4ERR_COMPLETE_ALREADY = 10054,
  NFS4ERR_CONN_NOT_BOUND_TO_SESSION = 10055,
  NFS4ERR_DELEG_ALREADY_WANTED = 10056,
  NFS4ERR_BACK_CHAN_BUSY = 10057,
  NFS4ERR_LAYOUTTRYLATER = 10058,
  NFS4ERR_LAYOUTUNAVAILABLE = 10059,
  NFS4ERR_NOMATCHING_LAYOUT = 10060,
  NFS4ERR_RECALLCONFLICT = 10061,
  NFS4ERR_UNKNOWN_LAYOUTTYPE = 10062,
  NFS4ERR_SEQ_MISORDERED = 10063,
  NFS4ERR_SEQUENCE_POS = 10064,
  NFS4ERR_REQ_TOO_BIG = 10065,
  NFS4ERR_REP_TOO_BIG = 10066,
  NFS4ERR_REP_TOO_BIG_TO_CACHE = 10067,
  NFS4ERR_RETRY_UNCACHED_REP = 10068,
  NFS4ERR_UNSAFE_COMPOUND = 10069,
  NFS4ERR_TOO_MANY_OPS = 10070,
  NFS4ERR_OP_NOT_IN_SESSION = 10071,
  NFS4ERR_HASH_ALG_UNSUPP = 10072,
  NFS4ERR_CLIENTID_BUSY = 10074,
  NFS4ERR_PNFS_IO_HOLE = 10075,
  NFS4ERR_SEQ_FALSE_RETRY = 10076,
  NFS4ERR_BAD_HIGH_SLOT = 10077,
  NFS4ERR_DEADSESSION = 10078,
  NFS4ERR_ENCR_ALG_UNSUPP = 10079,
  NFS4ERR_PNFS_NO_LAYOUT = 10080,
  NFS4ERR_NOT_ONLY_OP = 10081,
  NFS4ERR_WRONG_CRED = 10082,
  NFS4ERR_WRONG_TYPE = 10083,
  NFS4ERR_DIRDELEG_UNAVAIL = 10084,
  NFS4ERR_REJECT_DELEG = 10085,
  NFS4ERR_RETURNCONFLICT = 10086,
  NFS4ERR_DELEG_REVOKED = 10087,
  // NFSv4.2 (RFC 7862 §11.1, RFC 8276 §8.4).
  NFS4ERR_PARTNER_NOTSUPP = 10088,
  NFS4ERR_PARTNER_NO_AUTH = 10089,
  NFS4ERR_UNION_NOTSUPP = 10090,
  NFS4ERR_OFFLOAD_DENIED = 10091,
  NFS4ERR_WRONG_LFS = 10092,
  NFS4ERR_BADLABEL = 10093,
  NFS4ERR_OFFLOAD_NO_REQS = 10094,
  NFS4ERR_NOXATTR = 10095,
  NFS4ERR_XATTR2BIG = 10096,
};

// The spec's name of a status ("NFS4ERR_NOENT"), or "NFS4ERR_<unknown>" (metrics and logs).
std::string_view ToString(nfsstat4 status);

enum nfs_opnum4 : uint32_t {
  OP_ACCESS = 3,
  OP_CLOSE = 4,
  OP_COMMIT = 5,
  OP_CREATE = 6,
  OP_DELEGPURGE = 7,
  OP_DELEGRETURN = 8,
  OP_GETATTR = 9,
  OP_GETFH = 10,
  OP_LINK = 11,
  OP_LOCK = 12,
  OP_LOCKT = 13,
  OP_LOCKU = 14,
  OP_LOOKUP = 15,
  OP_LOOKUPP = 16,
  OP_NVERIFY = 17,
  OP_OPEN = 18,
  OP_OPENATTR = 19,
  OP_OPEN_CONFIRM = 20,
  OP_OPEN_DOWNGRADE = 21,
  OP_PUTFH = 22,
  OP_PUTPUBFH = 23,
  OP_PUTROOTFH = 24,
  OP_READ = 25,
  OP_READDIR = 26,
  OP_READLINK = 27,
  OP_REMOVE = 28,
  OP_RENAME = 29,
  OP_RENEW = 30,
  OP_RESTOREFH = 31,
  OP_SAVEFH = 32,
  OP_SECINFO = 33,
  OP_SETATTR = 34,
  OP_SETCLIENTID = 35,
  OP_SETCLIENTID_CONFIRM = 36,
  OP_VERIFY = 37,
  OP_WRITE = 38,
  OP_RELEASE_LOCKOWNER = 39,
  OP_BACKCHANNEL_CTL = 40,
  OP_BIND_CONN_TO_SESSION = 41,
  OP_EXCHANGE_ID = 42,
  OP_CREATE_SESSION = 43,
  OP_DESTROY_SESSION = 44,
  OP_FREE_STATEID = 45,
  OP_GET_DIR_DELEGATION = 46,
  OP_GETDEVICEINFO = 47,
  OP_GETDEVICELIST = 48,
  OP_LAYOUTCOMMIT = 49,
  OP_LAYOUTGET = 50,
  OP_LAYOUTRETURN = 51,
  OP_SECINFO_NO_NAME = 52,
  OP_SEQUENCE = 53,
  OP_SET_SSV = 54,
  OP_TEST_STATEID = 55,
  OP_WANT_DELEGATION = 56,
  OP_DESTROY_CLIENTID = 57,
  OP_RECLAIM_COMPLETE = 58,
  // NFSv4.2 (RFC 7862 §15, RFC 8276 §8.4).
  OP_ALLOCATE = 59,
  OP_COPY = 60,
  OP_COPY_NOTIFY = 61,
  OP_DEALLOCATE = 62,
  OP_IO_ADVISE = 63,
  OP_LAYOUTERROR = 64,
  OP_LAYOUTSTATS = 65,
  OP_OFFLOAD_CANCEL = 66,
  OP_OFFLOAD_STATUS = 67,
  OP_READ_PLUS = 68,
  OP_SEEK = 69,
  OP_WRITE_SAME = 70,
  OP_CLONE = 71,
  OP_GETXATTR = 72,
  OP_SETXATTR = 73,
  OP_LISTXATTRS = 74,
  OP_REMOVEXATTR = 75,
  OP_ILLEGAL = 10044,
};
// The name of an operation for logs ("OPEN"), "ILLEGAL" for an unknown number.
const char* OpName(uint32_t op);

enum class nfs_ftype4 : uint32_t {
  NF4REG = 1,
  NF4DIR = 2,
  NF4BLK = 3,
  NF4CHR = 4,
  NF4LNK = 5,
  NF4SOCK = 6,
  NF4FIFO = 7,
  NF4ATTRDIR = 8,
  NF4NAMEDATTR = 9,
};

// ACCESS4 bits (RFC 8881 §18.1).
inline constexpr uint32_t ACCESS4_READ = 0x01;
inline constexpr uint32_t ACCESS4_LOOKUP = 0x02;
inline constexpr uint32_t ACCESS4_MODIFY = 0x04;
inline constexpr uint32_t ACCESS4_EXTEND = 0x08;
inline constexpr uint32_t ACCESS4_DELETE = 0x10;
inline constexpr uint32_t ACCESS4_EXECUTE = 0x20;
// RFC 8276 §8.3: extended attributes (4.2).
inline constexpr uint32_t ACCESS4_XAREAD = 0x40;
inline constexpr uint32_t ACCESS4_XAWRITE = 0x80;
inline constexpr uint32_t ACCESS4_XALIST = 0x100;

// OPEN share_access and share_deny (RFC 8881 §18.16.3), with 4.1's want and signal flags.
inline constexpr uint32_t OPEN4_SHARE_ACCESS_READ = 0x1;
inline constexpr uint32_t OPEN4_SHARE_ACCESS_WRITE = 0x2;
inline constexpr uint32_t OPEN4_SHARE_ACCESS_BOTH = 0x3;
inline constexpr uint32_t OPEN4_SHARE_DENY_NONE = 0x0;
inline constexpr uint32_t OPEN4_SHARE_DENY_READ = 0x1;
inline constexpr uint32_t OPEN4_SHARE_DENY_WRITE = 0x2;
inline constexpr uint32_t OPEN4_SHARE_DENY_BOTH = 0x3;
inline constexpr uint32_t OPEN4_SHARE_ACCESS_WANT_DELEG_MASK = 0xFF00;
inline constexpr uint32_t OPEN4_SHARE_ACCESS_WANT_NO_PREFERENCE = 0x0000;
inline constexpr uint32_t OPEN4_SHARE_ACCESS_WANT_READ_DELEG = 0x0100;
inline constexpr uint32_t OPEN4_SHARE_ACCESS_WANT_WRITE_DELEG = 0x0200;
inline constexpr uint32_t OPEN4_SHARE_ACCESS_WANT_ANY_DELEG = 0x0300;
inline constexpr uint32_t OPEN4_SHARE_ACCESS_WANT_NO_DELEG = 0x0400;
inline constexpr uint32_t OPEN4_SHARE_ACCESS_WANT_CANCEL = 0x0500;
inline constexpr uint32_t OPEN4_SHARE_ACCESS_WANT_SIGNAL_DELEG_WHEN_RESRC_AVAIL = 0x10000;
inline constexpr uint32_t OPEN4_SHARE_ACCESS_WANT_PUSH_DELEG_WHEN_UNCONTENDED = 0x20000;

// OPEN4res rflags.
inline constexpr uint32_t OPEN4_RESULT_CONFIRM = 0x2;
inline constexpr uint32_t OPEN4_RESULT_LOCKTYPE_POSIX = 0x4;
inline constexpr uint32_t OPEN4_RESULT_PRESERVE_UNLINKED = 0x8;
inline constexpr uint32_t OPEN4_RESULT_MAY_NOTIFY_LOCK = 0x20;

// EXCHANGE_ID flags (RFC 8881 §18.35).
inline constexpr uint32_t EXCHGID4_FLAG_SUPP_MOVED_REFER = 0x00000001;
inline constexpr uint32_t EXCHGID4_FLAG_SUPP_MOVED_MIGR = 0x00000002;
inline constexpr uint32_t EXCHGID4_FLAG_BIND_PRINC_STATEID = 0x00000100;
inline constexpr uint32_t EXCHGID4_FLAG_USE_NON_PNFS = 0x00010000;
inline constexpr uint32_t EXCHGID4_FLAG_USE_PNFS_MDS = 0x00020000;
inline constexpr uint32_t EXCHGID4_FLAG_USE_PNFS_DS = 0x00040000;
inline constexpr uint32_t EXCHGID4_FLAG_MASK_PNFS = 0x00070000;
inline constexpr uint32_t EXCHGID4_FLAG_UPD_CONFIRMED_REC_A = 0x40000000;
inline constexpr uint32_t EXCHGID4_FLAG_CONFIRMED_R = 0x80000000;

// CREATE_SESSION flags.
inline constexpr uint32_t CREATE_SESSION4_FLAG_PERSIST = 0x1;
inline constexpr uint32_t CREATE_SESSION4_FLAG_CONN_BACK_CHAN = 0x2;
inline constexpr uint32_t CREATE_SESSION4_FLAG_CONN_RDMA = 0x4;

// SEQUENCE sr_status_flags.
inline constexpr uint32_t SEQ4_STATUS_CB_PATH_DOWN = 0x00000001;
inline constexpr uint32_t SEQ4_STATUS_CB_GSS_CONTEXTS_EXPIRING = 0x00000002;
inline constexpr uint32_t SEQ4_STATUS_CB_GSS_CONTEXTS_EXPIRED = 0x00000004;
inline constexpr uint32_t SEQ4_STATUS_EXPIRED_ALL_STATE_REVOKED = 0x00000008;
inline constexpr uint32_t SEQ4_STATUS_EXPIRED_SOME_STATE_REVOKED = 0x00000010;
inline constexpr uint32_t SEQ4_STATUS_ADMIN_STATE_REVOKED = 0x00000020;
inline constexpr uint32_t SEQ4_STATUS_RECALLABLE_STATE_REVOKED = 0x00000040;
inline constexpr uint32_t SEQ4_STATUS_LEASE_MOVED = 0x00000080;
inline constexpr uint32_t SEQ4_STATUS_RESTART_RECLAIM_NEEDED = 0x00000100;
inline constexpr uint32_t SEQ4_STATUS_CB_PATH_DOWN_SESSION = 0x00000200;
inline constexpr uint32_t SEQ4_STATUS_BACKCHANNEL_FAULT = 0x00000400;
inline constexpr uint32_t SEQ4_STATUS_DEVID_CHANGED = 0x00000800;
inline constexpr uint32_t SEQ4_STATUS_DEVID_DELETED = 0x00001000;

// fh_expire_type.
inline constexpr uint32_t FH4_PERSISTENT = 0x00;

// ACL support bits, ACE types and flags (RFC 8881 §6.2.1).
inline constexpr uint32_t ACL4_SUPPORT_ALLOW_ACL = 0x1;
inline constexpr uint32_t ACL4_SUPPORT_DENY_ACL = 0x2;
inline constexpr uint32_t ACL4_SUPPORT_AUDIT_ACL = 0x4;
inline constexpr uint32_t ACL4_SUPPORT_ALARM_ACL = 0x8;
inline constexpr uint32_t ACE4_ACCESS_ALLOWED_ACE_TYPE = 0;
inline constexpr uint32_t ACE4_ACCESS_DENIED_ACE_TYPE = 1;
inline constexpr uint32_t ACE4_SYSTEM_AUDIT_ACE_TYPE = 2;
inline constexpr uint32_t ACE4_SYSTEM_ALARM_ACE_TYPE = 3;
inline constexpr uint32_t ACE4_IDENTIFIER_GROUP = 0x40;

// An ACE as the wire carries it (the `acl` attribute; a delegation's permissions): `who` a
// name ("OWNER@", "user@domain", a number).
struct nfsace4 {
  uint32_t type = 0;
  uint32_t flag = 0;
  uint32_t access_mask = 0;
  std::string who;  // at most NFS4_OPAQUE_LIMIT bytes
  friend bool operator==(const nfsace4&, const nfsace4&) = default;
};
// aclflag4 (RFC 8881 §6.4.3.2): the flags of a dacl or sacl.
inline constexpr uint32_t ACL4_AUTO_INHERIT = 0x1;
inline constexpr uint32_t ACL4_PROTECTED = 0x2;
inline constexpr uint32_t ACL4_DEFAULTED = 0x4;
// The most ACEs an `acl` attribute may hold in either direction (as the runtime keeps).
inline constexpr uint32_t kMaxNfs4Aces = 4096;

// Attribute numbers (RFC 8881 §5.8, RFC 7530 §5.8).
enum Fattr4Bit : uint32_t {
  FATTR4_SUPPORTED_ATTRS = 0,
  FATTR4_TYPE = 1,
  FATTR4_FH_EXPIRE_TYPE = 2,
  FATTR4_CHANGE = 3,
  FATTR4_SIZE = 4,
  FATTR4_LINK_SUPPORT = 5,
  FATTR4_SYMLINK_SUPPORT = 6,
  FATTR4_NAMED_ATTR = 7,
  FATTR4_FSID = 8,
  FATTR4_UNIQUE_HANDLES = 9,
  FATTR4_LEASE_TIME = 10,
  FATTR4_RDATTR_ERROR = 11,
  FATTR4_ACL = 12,
  FATTR4_ACLSUPPORT = 13,
  FATTR4_ARCHIVE = 14,
  FATTR4_CANSETTIME = 15,
  FATTR4_CASE_INSENSITIVE = 16,
  FATTR4_CASE_PRESERVING = 17,
  FATTR4_CHOWN_RESTRICTED = 18,
  FATTR4_FILEHANDLE = 19,
  FATTR4_FILEID = 20,
  FATTR4_FILES_AVAIL = 21,
  FATTR4_FILES_FREE = 22,
  FATTR4_FILES_TOTAL = 23,
  FATTR4_FS_LOCATIONS = 24,
  FATTR4_HIDDEN = 25,
  FATTR4_HOMOGENEOUS = 26,
  FATTR4_MAXFILESIZE = 27,
  FATTR4_MAXLINK = 28,
  FATTR4_MAXNAME = 29,
  FATTR4_MAXREAD = 30,
  FATTR4_MAXWRITE = 31,
  FATTR4_MIMETYPE = 32,
  FATTR4_MODE = 33,
  FATTR4_NO_TRUNC = 34,
  FATTR4_NUMLINKS = 35,
  FATTR4_OWNER = 36,
  FATTR4_OWNER_GROUP = 37,
  FATTR4_QUOTA_AVAIL_HARD = 38,
  FATTR4_QUOTA_AVAIL_SOFT = 39,
  FATTR4_QUOTA_USED = 40,
  FATTR4_RAWDEV = 41,
  FATTR4_SPACE_AVAIL = 42,
  FATTR4_SPACE_FREE = 43,
  FATTR4_SPACE_TOTAL = 44,
  FATTR4_SPACE_USED = 45,
  FATTR4_SYSTEM = 46,
  FATTR4_TIME_ACCESS = 47,
  FATTR4_TIME_ACCESS_SET = 48,
  FATTR4_TIME_BACKUP = 49,
  FATTR4_TIME_CREATE = 50,
  FATTR4_TIME_DELTA = 51,
  FATTR4_TIME_METADATA = 52,
  FATTR4_TIME_MODIFY = 53,
  FATTR4_TIME_MODIFY_SET = 54,
  FATTR4_MOUNTED_ON_FILEID = 55,
  FATTR4_DACL = 58,  // 4.1: nfsacl41 (RFC 8881 §6.2.2): the allow/deny ACEs with ACL flags
  FATTR4_SACL = 59,  // 4.1: the audit/alarm ACEs with ACL flags
  FATTR4_MODE_SET_MASKED = 74,
  FATTR4_SUPPATTR_EXCLCREAT = 75,
  FATTR4_XATTR_SUPPORT = 82,  // 4.2 (RFC 8276 §8.2): whether the object takes xattrs
};
// The attributes this codec knows the values of: bits of FATTR4_SUPPORTED_ATTRS ..
// FATTR4_MOUNTED_ON_FILEID, dacl, sacl, mode_set_masked, suppattr_exclcreat and xattr_support,
// except fs_locations, mimetype and time_backup (never supported; DecodeAttrs answers
// NFS4ERR_ATTRNOTSUPP for them).
inline constexpr size_t kFattr4Words = 3;

// A bitmap4, as the words the spec sends (word i holds bits 32*i .. 32*i+31).
struct bitmap4 {
  std::vector<uint32_t> words;

  bool test(uint32_t bit) const {
    return bit / 32 < words.size() && (words[bit / 32] & (1u << (bit % 32))) != 0;
  }
  void set(uint32_t bit) {
    if (words.size() <= bit / 32) words.resize(bit / 32 + 1, 0);
    words[bit / 32] |= 1u << (bit % 32);
  }
  // Drops trailing zero words (how replies send a bitmap).
  void Trim() {
    while (!words.empty() && words.back() == 0) words.pop_back();
  }
  friend bool operator==(const bitmap4&, const bitmap4&) = default;
};

using verifier4 = std::array<std::byte, NFS4_VERIFIER_SIZE>;
using sessionid4 = std::array<std::byte, NFS4_SESSIONID_SIZE>;
using clientid4 = uint64_t;
using seqid4 = uint32_t;
using sequenceid4 = uint32_t;
using slotid4 = uint32_t;

struct nfstime4 {
  int64_t seconds = 0;
  uint32_t nseconds = 0;  // < 10^9, or the decode fails
  friend bool operator==(const nfstime4&, const nfstime4&) = default;
};

struct fsid4 {
  uint64_t major = 0;
  uint64_t minor = 0;
  friend bool operator==(const fsid4&, const fsid4&) = default;
};

struct specdata4 {
  uint32_t specdata1 = 0;
  uint32_t specdata2 = 0;
  friend bool operator==(const specdata4&, const specdata4&) = default;
};

struct stateid4 {
  uint32_t seqid = 0;
  std::array<std::byte, NFS4_OTHER_SIZE> other{};
  friend bool operator==(const stateid4&, const stateid4&) = default;
};

// A file handle: a view in a request, owned bytes in a result.
struct nfs_fh4 {
  ByteView data;  // at most NFS4_FHSIZE bytes
};
struct nfs_fh4_owned {
  std::array<std::byte, NFS4_FHSIZE> data{};
  uint8_t size = 0;
  ByteView view() const { return ByteView(data.data(), size); }
  static nfs_fh4_owned CopyFrom(ByteView bytes);  // REQUIRES: bytes.size() <= NFS4_FHSIZE
  friend bool operator==(const nfs_fh4_owned& a, const nfs_fh4_owned& b) {
    ByteView x = a.view(), y = b.view();
    return x.size() == y.size() && std::equal(x.begin(), x.end(), y.begin());
  }
};

struct fattr4 {
  bitmap4 attrmask;
  ByteView attr_vals;      // decoded: a view into the input; at most kMaxNfs4AttrBytes
  std::string owned_vals;  // encoded: the values, when this side made them (EncodeAttrs)
  ByteView vals() const { return owned_vals.empty() ? attr_vals : AsBytes(owned_vals); }
};

struct change_info4 {
  bool atomic = false;
  uint64_t before = 0;
  uint64_t after = 0;
  friend bool operator==(const change_info4&, const change_info4&) = default;
};

enum class time_how4 : uint32_t { SET_TO_SERVER_TIME4 = 0, SET_TO_CLIENT_TIME4 = 1 };
struct settime4 {
  time_how4 set_it = time_how4::SET_TO_SERVER_TIME4;
  nfstime4 time;  // SET_TO_CLIENT_TIME4
  friend bool operator==(const settime4&, const settime4&) = default;
};

// The typed values of an attribute list. `mask` says which are present (the bits of
// Fattr4Bit); the others are ignored.
struct Fattr4 {
  bitmap4 mask;
  bitmap4 supported_attrs;
  nfs_ftype4 type = nfs_ftype4::NF4REG;
  uint32_t fh_expire_type = FH4_PERSISTENT;
  uint64_t change = 0;
  uint64_t size = 0;
  bool link_support = false;
  bool symlink_support = false;
  bool named_attr = false;
  fsid4 fsid;
  bool unique_handles = false;
  uint32_t lease_time = 0;
  nfsstat4 rdattr_error = nfsstat4::NFS4_OK;
  std::vector<nfsace4> acl;  // at most kMaxNfs4Aces
  uint32_t aclsupport = 0;
  uint32_t dacl_flag = 0;     // nfsacl41.na41_flag: ACL4_AUTO_INHERIT, _PROTECTED, _DEFAULTED
  std::vector<nfsace4> dacl;  // nfsacl41.na41_aces, at most kMaxNfs4Aces
  uint32_t sacl_flag = 0;
  std::vector<nfsace4> sacl;
  bool archive = false;
  bool cansettime = false;
  bool case_insensitive = false;
  bool case_preserving = false;
  bool chown_restricted = false;
  nfs_fh4_owned filehandle;
  uint64_t fileid = 0;
  uint64_t files_avail = 0;
  uint64_t files_free = 0;
  uint64_t files_total = 0;
  bool hidden = false;
  bool homogeneous = false;
  uint64_t maxfilesize = 0;
  uint32_t maxlink = 0;
  uint32_t maxname = 0;
  uint64_t maxread = 0;
  uint64_t maxwrite = 0;
  uint32_t mode = 0;  // decode fails above 07777
  bool no_trunc = false;
  uint32_t numlinks = 0;
  std::string owner;        // at most NFS4_OPAQUE_LIMIT bytes
  std::string owner_group;  // likewise
  uint64_t quota_avail_hard = 0;
  uint64_t quota_avail_soft = 0;
  uint64_t quota_used = 0;
  specdata4 rawdev;
  uint64_t space_avail = 0;
  uint64_t space_free = 0;
  uint64_t space_total = 0;
  uint64_t space_used = 0;
  bool system = false;
  nfstime4 time_access;
  settime4 time_access_set;
  nfstime4 time_create;
  nfstime4 time_delta;
  nfstime4 time_metadata;
  nfstime4 time_modify;
  settime4 time_modify_set;
  uint64_t mounted_on_fileid = 0;
  uint32_t mode_set_masked = 0;  // mode_masked4 (RFC 8881 §6.2.4): the bits to set ...
  uint32_t mode_set_mask = 0;    // ... under this mask; decode fails above 07777
  bitmap4 suppattr_exclcreat;
  bool xattr_support = false;
};

// Whether this codec can carry attribute `bit` (see kFattr4Words).
bool Fattr4Known(uint32_t bit);
// Encodes `in`'s attributes that are both in `in.mask` and in `want` (and known) as `out`:
// its bitmap says which were encoded (trimmed), its values in bit order. Values are encoded
// in full even where the spec limits them no further (owner strings as given).
void EncodeAttrs(const bitmap4& want, const Fattr4& in, fattr4* out);
// Decodes `in` into `out` (out->mask = in.attrmask). NFS4_OK; NFS4ERR_ATTRNOTSUPP for a bit
// this codec cannot carry; NFS4ERR_BADXDR when the values do not decode or do not end where
// the bitmap says (too short, too long); NFS4ERR_INVAL for a value out of range (mode above
// 07777, nseconds of 10^9 or more, a settime4 arm out of range).
nfsstat4 DecodeAttrs(const fattr4& in, Fattr4* out);

// open_owner4 and lock_owner4.
struct state_owner4 {
  clientid4 clientid = 0;
  ByteView owner;     // decoded: a view, at most NFS4_OPAQUE_LIMIT
  std::string owned;  // encoded by this side (tests, LOCK4denied): used when non-empty
  ByteView bytes() const { return owned.empty() ? owner : AsBytes(owned); }
};

// ---- Operation arguments and results, in operation order ----

struct ACCESS4args {
  uint32_t access = 0;
};
struct ACCESS4res {
  nfsstat4 status = nfsstat4::NFS4_OK;
  uint32_t supported = 0;
  uint32_t access = 0;
};

struct CLOSE4args {
  seqid4 seqid = 0;
  stateid4 open_stateid;
};
struct CLOSE4res {
  nfsstat4 status = nfsstat4::NFS4_OK;
  stateid4 open_stateid;
};

struct COMMIT4args {
  uint64_t offset = 0;
  uint32_t count = 0;
};
struct COMMIT4res {
  nfsstat4 status = nfsstat4::NFS4_OK;
  verifier4 writeverf{};
};

struct CREATE4args {
  nfs_ftype4 objtype = nfs_ftype4::NF4DIR;  // NF4REG, NF4ATTRDIR, NF4NAMEDATTR: BADTYPE
  std::string_view linkdata;                // NF4LNK: at most kMaxNfs4LinkText
  specdata4 devdata;                        // NF4BLK, NF4CHR
  std::string_view objname;
  fattr4 createattrs;
};
struct CREATE4res {
  nfsstat4 status = nfsstat4::NFS4_OK;
  change_info4 cinfo;
  bitmap4 attrset;
};

struct DELEGPURGE4args {
  clientid4 clientid = 0;
};
struct DELEGRETURN4args {
  stateid4 deleg_stateid;
};

struct GETATTR4args {
  bitmap4 attr_request;
};
struct GETATTR4res {
  nfsstat4 status = nfsstat4::NFS4_OK;
  fattr4 obj_attributes;
};

struct GETFH4res {
  nfsstat4 status = nfsstat4::NFS4_OK;
  nfs_fh4_owned object;
};

struct LINK4args {
  std::string_view newname;
};
struct LINK4res {
  nfsstat4 status = nfsstat4::NFS4_OK;
  change_info4 cinfo;
};

enum class nfs_lock_type4 : uint32_t { READ_LT = 1, WRITE_LT = 2, READW_LT = 3, WRITEW_LT = 4 };

struct LOCK4args {
  nfs_lock_type4 locktype = nfs_lock_type4::READ_LT;
  bool reclaim = false;
  uint64_t offset = 0;
  uint64_t length = 0;
  bool new_lock_owner = false;
  // new_lock_owner: open_to_lock_owner4
  seqid4 open_seqid = 0;
  stateid4 open_stateid;
  seqid4 lock_seqid = 0;  // of both arms
  state_owner4 lock_owner;
  // !new_lock_owner: exist_lock_owner4
  stateid4 lock_stateid;
};
struct LOCK4denied {
  uint64_t offset = 0;
  uint64_t length = 0;
  nfs_lock_type4 locktype = nfs_lock_type4::READ_LT;
  state_owner4 owner;
};
struct LOCK4res {
  nfsstat4 status = nfsstat4::NFS4_OK;
  stateid4 lock_stateid;  // NFS4_OK
  LOCK4denied denied;     // NFS4ERR_DENIED
};

struct LOCKT4args {
  nfs_lock_type4 locktype = nfs_lock_type4::READ_LT;
  uint64_t offset = 0;
  uint64_t length = 0;
  state_owner4 owner;
};
struct LOCKT4res {
  nfsstat4 status = nfsstat4::NFS4_OK;
  LOCK4denied denied;  // NFS4ERR_DENIED
};

struct LOCKU4args {
  nfs_lock_type4 locktype = nfs_lock_type4::READ_LT;
  seqid4 seqid = 0;
  stateid4 lock_stateid;
  uint64_t offset = 0;
  uint64_t length = 0;
};
struct LOCKU4res {
  nfsstat4 status = nfsstat4::NFS4_OK;
  stateid4 lock_stateid;
};

struct LOOKUP4args {
  std::string_view objname;
};

struct NVERIFY4args {
  fattr4 obj_attributes;
};

enum class opentype4 : uint32_t { OPEN4_NOCREATE = 0, OPEN4_CREATE = 1 };
enum class createmode4 : uint32_t {
  UNCHECKED4 = 0,
  GUARDED4 = 1,
  EXCLUSIVE4 = 2,
  EXCLUSIVE4_1 = 3,  // 4.1 only (the decoder accepts it; the server refuses it for 4.0)
};
enum class open_claim_type4 : uint32_t {
  CLAIM_NULL = 0,
  CLAIM_PREVIOUS = 1,
  CLAIM_DELEGATE_CUR = 2,
  CLAIM_DELEGATE_PREV = 3,
  CLAIM_FH = 4,
  CLAIM_DELEG_CUR_FH = 5,
  CLAIM_DELEG_PREV_FH = 6,
};
enum class open_delegation_type4 : uint32_t {
  OPEN_DELEGATE_NONE = 0,
  OPEN_DELEGATE_READ = 1,
  OPEN_DELEGATE_WRITE = 2,
  OPEN_DELEGATE_NONE_EXT = 3,  // 4.1
};

struct OPEN4args {
  seqid4 seqid = 0;
  uint32_t share_access = 0;  // with 4.1's want flags
  uint32_t share_deny = 0;
  state_owner4 owner;
  opentype4 opentype = opentype4::OPEN4_NOCREATE;
  createmode4 mode = createmode4::UNCHECKED4;  // OPEN4_CREATE
  fattr4 createattrs;                          // UNCHECKED4, GUARDED4, EXCLUSIVE4_1
  verifier4 createverf{};                      // EXCLUSIVE4, EXCLUSIVE4_1
  open_claim_type4 claim = open_claim_type4::CLAIM_NULL;
  std::string_view file;  // CLAIM_NULL, CLAIM_DELEGATE_CUR, CLAIM_DELEGATE_PREV
  open_delegation_type4 delegate_type = open_delegation_type4::OPEN_DELEGATE_NONE;  // PREVIOUS
  stateid4 delegate_stateid;  // CLAIM_DELEGATE_CUR, CLAIM_DELEG_CUR_FH
};

enum class why_no_delegation4 : uint32_t {
  WND4_NOT_WANTED = 0,
  WND4_CONTENTION = 1,
  WND4_RESOURCE = 2,
  WND4_NOT_SUPP_FTYPE = 3,
  WND4_WRITE_DELEG_NOT_SUPP_FTYPE = 4,
  WND4_NOT_SUPP_UPGRADE = 5,
  WND4_NOT_SUPP_DOWNGRADE = 6,
  WND4_CANCELLED = 7,
  WND4_IS_DIR = 8,
};

struct open_delegation4 {
  open_delegation_type4 delegation_type = open_delegation_type4::OPEN_DELEGATE_NONE;
  // READ and WRITE
  stateid4 stateid;
  bool recall = false;
  nfsace4 permissions;
  // WRITE: space_limit as NFS_LIMIT_SIZE
  uint64_t space_limit_filesize = 0;
  // NONE_EXT
  why_no_delegation4 ond_why = why_no_delegation4::WND4_NOT_WANTED;
  bool ond_server_will_push_or_signal = false;  // WND4_CONTENTION, WND4_RESOURCE
};

struct OPEN4res {
  nfsstat4 status = nfsstat4::NFS4_OK;
  stateid4 stateid;
  change_info4 cinfo;
  uint32_t rflags = 0;
  bitmap4 attrset;
  open_delegation4 delegation;
};

struct OPENATTR4args {
  bool createdir = false;
};

struct OPEN_CONFIRM4args {
  stateid4 open_stateid;
  seqid4 seqid = 0;
};
struct OPEN_CONFIRM4res {
  nfsstat4 status = nfsstat4::NFS4_OK;
  stateid4 open_stateid;
};

struct OPEN_DOWNGRADE4args {
  stateid4 open_stateid;
  seqid4 seqid = 0;
  uint32_t share_access = 0;
  uint32_t share_deny = 0;
};
struct OPEN_DOWNGRADE4res {
  nfsstat4 status = nfsstat4::NFS4_OK;
  stateid4 open_stateid;
};

struct PUTFH4args {
  nfs_fh4 object;
};

struct READ4args {
  stateid4 stateid;
  uint64_t offset = 0;
  uint32_t count = 0;
};
struct READ4res {
  nfsstat4 status = nfsstat4::NFS4_OK;
  bool eof = false;
  std::vector<ByteView> data;                      // at most kMaxNfs4Data in all
  std::vector<std::shared_ptr<const void>> holds;  // keep `data` alive; never encoded
  std::string DataString() const {
    std::string out;
    for (ByteView p : data) out.append(AsChars(p));
    return out;
  }
};

struct READDIR4args {
  uint64_t cookie = 0;
  verifier4 cookieverf{};
  uint32_t dircount = 0;
  uint32_t maxcount = 0;
  bitmap4 attr_request;
};
struct entry4 {
  uint64_t cookie = 0;
  std::string name;
  fattr4 attrs;
};
struct READDIR4res {
  nfsstat4 status = nfsstat4::NFS4_OK;
  verifier4 cookieverf{};
  std::vector<entry4> entries;
  bool eof = false;
};
// The encoded size of one entry4 in a READDIR reply (its "value follows" word included).
size_t EncodedSize(const entry4& e);

struct READLINK4res {
  nfsstat4 status = nfsstat4::NFS4_OK;
  std::string link;
};

struct REMOVE4args {
  std::string_view target;
};
struct REMOVE4res {
  nfsstat4 status = nfsstat4::NFS4_OK;
  change_info4 cinfo;
};

struct RENAME4args {
  std::string_view oldname;
  std::string_view newname;
};
struct RENAME4res {
  nfsstat4 status = nfsstat4::NFS4_OK;
  change_info4 source_cinfo;
  change_info4 target_cinfo;
};

struct RENEW4args {
  clientid4 clientid = 0;
};

struct SECINFO4args {
  std::string_view name;
};
// One flavor; for RPCSEC_GSS (6) the triple.
struct secinfo4 {
  uint32_t flavor = 0;
  std::string oid;  // RPCSEC_GSS: the mechanism's DER OID
  uint32_t qop = 0;
  uint32_t service = 0;  // rpc_gss_svc_t: 1 none, 2 integrity, 3 privacy
};
struct SECINFO4res {
  nfsstat4 status = nfsstat4::NFS4_OK;
  std::vector<secinfo4> flavors;
};

struct SETATTR4args {
  stateid4 stateid;
  fattr4 obj_attributes;
};
struct SETATTR4res {
  nfsstat4 status = nfsstat4::NFS4_OK;
  bitmap4 attrsset;  // encoded whatever the status
};

struct netaddr4 {
  std::string netid;  // at most kMaxNfs4NetStr
  std::string addr;   // universal address ("10.0.0.1.8.1"), at most kMaxNfs4NetStr
};

struct SETCLIENTID4args {
  verifier4 verifier{};
  ByteView id;  // at most NFS4_OPAQUE_LIMIT
  uint32_t cb_program = 0;
  netaddr4 cb_location;
  uint32_t callback_ident = 0;
};
struct SETCLIENTID4res {
  nfsstat4 status = nfsstat4::NFS4_OK;
  clientid4 clientid = 0;           // NFS4_OK
  verifier4 setclientid_confirm{};  // NFS4_OK
  netaddr4 client_using;            // NFS4ERR_CLID_INUSE
};

struct SETCLIENTID_CONFIRM4args {
  clientid4 clientid = 0;
  verifier4 setclientid_confirm{};
};

struct VERIFY4args {
  fattr4 obj_attributes;
};

enum class stable_how4 : uint32_t { UNSTABLE4 = 0, DATA_SYNC4 = 1, FILE_SYNC4 = 2 };
struct WRITE4args {
  stateid4 stateid;
  uint64_t offset = 0;
  stable_how4 stable = stable_how4::UNSTABLE4;
  ByteView data;  // a view into the input, at most kMaxNfs4Data
};
struct WRITE4res {
  nfsstat4 status = nfsstat4::NFS4_OK;
  uint32_t count = 0;
  stable_how4 committed = stable_how4::UNSTABLE4;
  verifier4 writeverf{};
};

struct RELEASE_LOCKOWNER4args {
  state_owner4 lock_owner;
};

// callback_sec_parms4: the flavor; for AUTH_SYS the credential's ids (its stamp is dropped),
// for RPCSEC_GSS the gss_cb_handles4.
struct callback_sec_parms4 {
  uint32_t cb_secflavor = 0;       // AUTH_NONE 0, AUTH_SYS 1, RPCSEC_GSS 6
  uint32_t uid = 0;                // AUTH_SYS
  uint32_t gid = 0;                // AUTH_SYS
  std::string machinename;         // AUTH_SYS, at most 255 bytes
  std::vector<uint32_t> gids;      // AUTH_SYS, at most 16
  uint32_t gss_service = 0;        // RPCSEC_GSS: rpc_gss_svc_t, 1 none, 2 integrity, 3 privacy
  std::string handle_from_server;  // RPCSEC_GSS: the context's handle this server gave
  std::string handle_from_client;  // RPCSEC_GSS: the handle callbacks' credentials carry
};

struct BACKCHANNEL_CTL4args {
  uint32_t cb_program = 0;
  std::vector<callback_sec_parms4> sec_parms;  // at most kMaxNfs4SecParms
};

enum class channel_dir_from_client4 : uint32_t {
  CDFC4_FORE = 0x1,
  CDFC4_BACK = 0x2,
  CDFC4_FORE_OR_BOTH = 0x3,
  CDFC4_BACK_OR_BOTH = 0x7,
};
enum class channel_dir_from_server4 : uint32_t {
  CDFS4_FORE = 0x1,
  CDFS4_BACK = 0x2,
  CDFS4_BOTH = 0x3,
};
struct BIND_CONN_TO_SESSION4args {
  sessionid4 sessid{};
  channel_dir_from_client4 dir = channel_dir_from_client4::CDFC4_FORE;
  bool use_conn_in_rdma_mode = false;
};
struct BIND_CONN_TO_SESSION4res {
  nfsstat4 status = nfsstat4::NFS4_OK;
  sessionid4 sessid{};
  channel_dir_from_server4 dir = channel_dir_from_server4::CDFS4_FORE;
  bool use_conn_in_rdma_mode = false;
};

enum class state_protect_how4 : uint32_t { SP4_NONE = 0, SP4_MACH_CRED = 1, SP4_SSV = 2 };
struct nfs_impl_id4 {
  std::string domain;  // at most NFS4_OPAQUE_LIMIT
  std::string name;    // likewise
  nfstime4 date;
};
struct EXCHANGE_ID4args {
  verifier4 co_verifier{};
  ByteView co_ownerid;  // at most NFS4_OPAQUE_LIMIT
  uint32_t flags = 0;
  state_protect_how4 spa_how = state_protect_how4::SP4_NONE;
  bitmap4 spo_must_enforce;  // SP4_MACH_CRED (SP4_SSV's ops too; the rest of SSV is skipped)
  bitmap4 spo_must_allow;
  std::optional<nfs_impl_id4> client_impl_id;
};
struct EXCHANGE_ID4res {
  nfsstat4 status = nfsstat4::NFS4_OK;
  clientid4 clientid = 0;
  sequenceid4 sequenceid = 0;
  uint32_t flags = 0;
  state_protect_how4 spr_how = state_protect_how4::SP4_NONE;  // NONE or MACH_CRED
  bitmap4 spo_must_enforce;                                   // SP4_MACH_CRED
  bitmap4 spo_must_allow;
  uint64_t so_minor_id = 0;
  std::string so_major_id;   // at most NFS4_OPAQUE_LIMIT
  std::string server_scope;  // likewise
  std::optional<nfs_impl_id4> server_impl_id;
};

struct channel_attrs4 {
  uint32_t headerpadsize = 0;
  uint32_t maxrequestsize = 0;
  uint32_t maxresponsesize = 0;
  uint32_t maxresponsesize_cached = 0;
  uint32_t maxoperations = 0;
  uint32_t maxrequests = 0;
  std::optional<uint32_t> rdma_ird;
  friend bool operator==(const channel_attrs4&, const channel_attrs4&) = default;
};
struct CREATE_SESSION4args {
  clientid4 clientid = 0;
  sequenceid4 sequence = 0;
  uint32_t flags = 0;
  channel_attrs4 fore_chan_attrs;
  channel_attrs4 back_chan_attrs;
  uint32_t cb_program = 0;
  std::vector<callback_sec_parms4> sec_parms;  // at most kMaxNfs4SecParms
};
struct CREATE_SESSION4res {
  nfsstat4 status = nfsstat4::NFS4_OK;
  sessionid4 sessionid{};
  sequenceid4 sequence = 0;
  uint32_t flags = 0;
  channel_attrs4 fore_chan_attrs;
  channel_attrs4 back_chan_attrs;
};

struct DESTROY_SESSION4args {
  sessionid4 sessionid{};
};
struct FREE_STATEID4args {
  stateid4 stateid;
};

struct GET_DIR_DELEGATION4args {
  bool signal_deleg_avail = false;
  bitmap4 notification_types;
  nfstime4 child_attr_delay;
  nfstime4 dir_attr_delay;
  bitmap4 child_attributes;
  bitmap4 dir_attributes;
};
// Only the "unavailable" arm (GDD4_UNAVAIL) is modelled: this server grants no directory
// delegations.
struct GET_DIR_DELEGATION4res {
  nfsstat4 status = nfsstat4::NFS4_OK;
  bool will_signal_deleg_avail = false;
};

enum class secinfo_style4 : uint32_t { SECINFO_STYLE4_CURRENT_FH = 0, SECINFO_STYLE4_PARENT = 1 };
struct SECINFO_NO_NAME4args {
  secinfo_style4 style = secinfo_style4::SECINFO_STYLE4_CURRENT_FH;
};

struct SEQUENCE4args {
  sessionid4 sessionid{};
  sequenceid4 sequenceid = 0;
  slotid4 slotid = 0;
  slotid4 highest_slotid = 0;
  bool cachethis = false;
};
struct SEQUENCE4res {
  nfsstat4 status = nfsstat4::NFS4_OK;
  sessionid4 sessionid{};
  sequenceid4 sequenceid = 0;
  slotid4 slotid = 0;
  slotid4 highest_slotid = 0;
  slotid4 target_highest_slotid = 0;
  uint32_t status_flags = 0;
};

struct SET_SSV4args {
  ByteView ssv;     // at most NFS4_OPAQUE_LIMIT
  ByteView digest;  // likewise
};

struct TEST_STATEID4args {
  std::vector<stateid4> stateids;  // at most kMaxNfs4TestStateids
};
struct TEST_STATEID4res {
  nfsstat4 status = nfsstat4::NFS4_OK;
  std::vector<nfsstat4> status_codes;
};

struct WANT_DELEGATION4args {
  uint32_t want = 0;
  open_claim_type4 claim = open_claim_type4::CLAIM_FH;  // CLAIM_FH or CLAIM_PREVIOUS only
  open_delegation_type4 delegate_type = open_delegation_type4::OPEN_DELEGATE_NONE;  // PREVIOUS
};
struct WANT_DELEGATION4res {
  nfsstat4 status = nfsstat4::NFS4_OK;
  open_delegation4 delegation;
};

struct DESTROY_CLIENTID4args {
  clientid4 clientid = 0;
};
struct RECLAIM_COMPLETE4args {
  bool one_fs = false;
};

// ---- NFSv4.2 (RFC 7862) ----

// ALLOCATE and DEALLOCATE (§15.1, §15.4): status-only results.
struct ALLOCATE4args {
  stateid4 stateid;
  uint64_t offset = 0;
  uint64_t length = 0;
};
struct DEALLOCATE4args {
  stateid4 stateid;
  uint64_t offset = 0;
  uint64_t length = 0;
};

// netloc4 (§4.2.1 of RFC 7862): where an inter-server copy's other server is. Only counted
// (this server copies within itself only); each is decoded and bounded all the same.
enum class netloc_type4 : uint32_t { NL4_NAME = 1, NL4_URL = 2, NL4_NETADDR = 3 };
struct netloc4 {
  netloc_type4 type = netloc_type4::NL4_NAME;
  std::string name_or_url;  // NL4_NAME, NL4_URL: at most kMaxNfs4NetStr
  std::string netid;        // NL4_NETADDR
  std::string addr;         // NL4_NETADDR
};
inline constexpr size_t kMaxNfs4CopyServers = 16;

struct COPY4args {
  stateid4 src_stateid;
  stateid4 dst_stateid;
  uint64_t src_offset = 0;
  uint64_t dst_offset = 0;
  uint64_t count = 0;  // 0: to the source's end
  bool consecutive = false;
  bool synchronous = false;
  std::vector<netloc4> source_server;  // at most kMaxNfs4CopyServers
};
struct write_response4 {
  std::optional<stateid4> callback_id;  // an asynchronous copy's stateid
  uint64_t count = 0;
  stable_how4 committed = stable_how4::UNSTABLE4;
  verifier4 writeverf{};
};
struct copy_requirements4 {
  bool consecutive = false;
  bool synchronous = false;
};
// union switch (nfsstat4): NFS4_OK carries `response` and `requirements`,
// NFS4ERR_OFFLOAD_NO_REQS carries `requirements` alone.
struct COPY4res {
  nfsstat4 status = nfsstat4::NFS4_OK;
  write_response4 response;
  copy_requirements4 requirements;
};

struct OFFLOAD_CANCEL4args {
  stateid4 stateid;
};
struct OFFLOAD_STATUS4args {
  stateid4 stateid;
};
struct OFFLOAD_STATUS4res {
  nfsstat4 status = nfsstat4::NFS4_OK;
  uint64_t count = 0;                // bytes copied so far
  std::optional<nfsstat4> complete;  // the copy's outcome once it ended
};

enum class data_content4 : uint32_t { NFS4_CONTENT_DATA = 0, NFS4_CONTENT_HOLE = 1 };

struct READ_PLUS4args {
  stateid4 stateid;
  uint64_t offset = 0;
  uint32_t count = 0;
};
// One read_plus_content: data (`data`, views kept alive by the result's holds) or a hole
// (`length` zeros).
struct read_plus_content {
  data_content4 content = data_content4::NFS4_CONTENT_DATA;
  uint64_t offset = 0;
  std::vector<ByteView> data;  // NFS4_CONTENT_DATA
  uint64_t length = 0;         // NFS4_CONTENT_HOLE
};
inline constexpr size_t kMaxNfs4ReadPlusSegments = 1024;
struct READ_PLUS4res {
  nfsstat4 status = nfsstat4::NFS4_OK;
  bool eof = false;
  std::vector<read_plus_content> contents;         // at most kMaxNfs4ReadPlusSegments
  std::vector<std::shared_ptr<const void>> holds;  // keep the data alive; never encoded
};

struct SEEK4args {
  stateid4 stateid;
  uint64_t offset = 0;
  data_content4 what = data_content4::NFS4_CONTENT_DATA;
};
struct SEEK4res {
  nfsstat4 status = nfsstat4::NFS4_OK;
  bool eof = false;
  uint64_t offset = 0;
};

struct CLONE4args {
  stateid4 src_stateid;
  stateid4 dst_stateid;
  uint64_t src_offset = 0;
  uint64_t dst_offset = 0;
  uint64_t count = 0;  // 0: to the source's end
};

// ---- Extended attributes (RFC 8276): names without their "user." prefix ----

inline constexpr size_t kMaxNfs4XattrName = 255;
inline constexpr size_t kMaxXattrNames = 4096;          // LISTXATTRS names (the test client's side)
inline constexpr size_t kMaxNfs4XattrValue = 1u << 20;  // decoding bound; the runtime's is less
enum class setxattr_option4 : uint32_t {
  SETXATTR4_EITHER = 0,
  SETXATTR4_CREATE = 1,
  SETXATTR4_REPLACE = 2
};

struct GETXATTR4args {
  std::string_view name;
};
struct GETXATTR4res {
  nfsstat4 status = nfsstat4::NFS4_OK;
  std::string value;
};
struct SETXATTR4args {
  setxattr_option4 option = setxattr_option4::SETXATTR4_EITHER;
  std::string_view name;
  ByteView value;  // at most kMaxNfs4XattrValue
};
struct SETXATTR4res {
  nfsstat4 status = nfsstat4::NFS4_OK;
  change_info4 cinfo;
};
struct LISTXATTRS4args {
  uint64_t cookie = 0;
  uint32_t maxcount = 0;
};
struct LISTXATTRS4res {
  nfsstat4 status = nfsstat4::NFS4_OK;
  uint64_t cookie = 0;
  std::vector<std::string> names;
  bool eof = false;
};
struct REMOVEXATTR4args {
  std::string_view name;
};
struct REMOVEXATTR4res {
  nfsstat4 status = nfsstat4::NFS4_OK;
  change_info4 cinfo;
};

// The layout operations and GETDEVICE*: this server has no pNFS, so their arguments are never
// decoded (the operation is answered NFS4ERR_NOTSUPP and ends the COMPOUND).
struct NotSupportedArgs {};

// One operation of a COMPOUND. `args` is std::monostate for an operation number this codec does
// not know (the server answers OP_ILLEGAL) and for those without arguments.
struct nfs_argop4 {
  uint32_t op = OP_ILLEGAL;
  std::variant<
      std::monostate, ACCESS4args, CLOSE4args, COMMIT4args, CREATE4args, DELEGPURGE4args,
      DELEGRETURN4args, GETATTR4args, LINK4args, LOCK4args, LOCKT4args, LOCKU4args, LOOKUP4args,
      NVERIFY4args, OPEN4args, OPENATTR4args, OPEN_CONFIRM4args, OPEN_DOWNGRADE4args, PUTFH4args,
      READ4args, READDIR4args, REMOVE4args, RENAME4args, RENEW4args, SECINFO4args, SETATTR4args,
      SETCLIENTID4args, SETCLIENTID_CONFIRM4args, VERIFY4args, WRITE4args, RELEASE_LOCKOWNER4args,
      BACKCHANNEL_CTL4args, BIND_CONN_TO_SESSION4args, EXCHANGE_ID4args, CREATE_SESSION4args,
      DESTROY_SESSION4args, FREE_STATEID4args, GET_DIR_DELEGATION4args, SECINFO_NO_NAME4args,
      SEQUENCE4args, SET_SSV4args, TEST_STATEID4args, WANT_DELEGATION4args, DESTROY_CLIENTID4args,
      RECLAIM_COMPLETE4args, ALLOCATE4args, COPY4args, DEALLOCATE4args, OFFLOAD_CANCEL4args,
      OFFLOAD_STATUS4args, READ_PLUS4args, SEEK4args, CLONE4args, GETXATTR4args, SETXATTR4args,
      LISTXATTRS4args, REMOVEXATTR4args, NotSupportedArgs>
      args;
};

// The COMPOUND header. Decode fails for a tag over kMaxNfs4Tag; `numops` is not bounded here
// (the server answers too many operations NFS4ERR_RESOURCE or NFS4ERR_TOO_MANY_OPS itself).
struct COMPOUND4args_header {
  std::string_view tag;
  uint32_t minorversion = 0;
  uint32_t numops = 0;
};
bool DecodeCompoundHeader(xdr::XdrDecoder& d, COMPOUND4args_header* out);
// Decodes one operation: its number, then its arguments. An unknown number decodes as
// op = that number with no arguments (true). False when the arguments do not decode; `out->op`
// is set all the same.
bool Decode(xdr::XdrDecoder& d, nfs_argop4* out);
void Encode(xdr::XdrEncoder& e, const nfs_argop4& in);  // the test client's side

// A COMPOUND reply's results, one per operation. Status-only results are nfsstat4.
struct nfs_resop4 {
  uint32_t op = OP_ILLEGAL;
  std::variant<nfsstat4, ACCESS4res, CLOSE4res, COMMIT4res, CREATE4res, GETATTR4res, GETFH4res,
               LINK4res, LOCK4res, LOCKT4res, LOCKU4res, OPEN4res, OPEN_CONFIRM4res,
               OPEN_DOWNGRADE4res, READ4res, READDIR4res, READLINK4res, REMOVE4res, RENAME4res,
               SECINFO4res, SETATTR4res, SETCLIENTID4res, WRITE4res, BIND_CONN_TO_SESSION4res,
               EXCHANGE_ID4res, CREATE_SESSION4res, GET_DIR_DELEGATION4res, SEQUENCE4res,
               TEST_STATEID4res, WANT_DELEGATION4res, COPY4res, OFFLOAD_STATUS4res, READ_PLUS4res,
               SEEK4res, GETXATTR4res, SETXATTR4res, LISTXATTRS4res, REMOVEXATTR4res>
      res;
  // The result's status, whatever its type.
  nfsstat4 status() const;
};
// Encodes the operation number and then the result.
void EncodeResop(xdr::XdrEncoder& e, const nfs_resop4& in);
// The test client's side: decodes one result of the operation it names. Decoded results own
// their data (attribute values, READ data, lock owners are copied), so they outlive the input.
bool Decode(xdr::XdrDecoder& d, nfs_resop4* out);

struct COMPOUND4res {
  nfsstat4 status = nfsstat4::NFS4_OK;
  std::string tag;
  std::vector<nfs_resop4> resarray;
};
// The test client's side (the server encodes the header itself, around the results it streams).
bool Decode(xdr::XdrDecoder& d, COMPOUND4res* out);
// Encodes COMPOUND4args whole (the test client's side).
void EncodeCompound(xdr::XdrEncoder& e, std::string_view tag, uint32_t minorversion,
                    const std::vector<nfs_argop4>& ops);

// ---- The callback program (RFC 8881 §20, RFC 7530 §16.2) ----

enum nfs_cb_opnum4 : uint32_t {
  OP_CB_GETATTR = 3,
  OP_CB_RECALL = 4,
  OP_CB_SEQUENCE = 11,
  OP_CB_OFFLOAD = 15,  // 4.2 (RFC 7862 §16.1)
  OP_CB_ILLEGAL = 10044,
};
struct CB_RECALL4args {
  stateid4 stateid;
  bool truncate = false;
  nfs_fh4_owned fh;
};
struct referring_call4 {
  sequenceid4 sequenceid = 0;
  slotid4 slotid = 0;
};
struct referring_call_list4 {
  sessionid4 sessionid{};
  std::vector<referring_call4> calls;  // at most 64
};
struct CB_SEQUENCE4args {
  sessionid4 sessionid{};
  sequenceid4 sequenceid = 0;
  slotid4 slotid = 0;
  slotid4 highest_slotid = 0;
  bool cachethis = false;
  std::vector<referring_call_list4> referring_call_lists;  // at most kMaxNfs4ReferringLists
};
// An asynchronous COPY ended (RFC 7862 §16.1): union offload_info4 switch (nfsstat4): NFS4_OK
// carries `response`, an error `bytes_copied`.
struct CB_OFFLOAD4args {
  nfs_fh4_owned fh;
  stateid4 stateid;
  nfsstat4 status = nfsstat4::NFS4_OK;
  write_response4 response;
  uint64_t bytes_copied = 0;
};
struct nfs_cb_argop4 {
  uint32_t op = OP_CB_ILLEGAL;
  std::variant<std::monostate, CB_RECALL4args, CB_SEQUENCE4args, CB_OFFLOAD4args> args;
};
struct CB_COMPOUND4args {
  std::string tag;
  uint32_t minorversion = 0;
  uint32_t callback_ident = 0;  // 4.0: SETCLIENTID's; 4.1: 0
  std::vector<nfs_cb_argop4> ops;
};
void Encode(xdr::XdrEncoder& e, const CB_COMPOUND4args& in);
bool Decode(xdr::XdrDecoder& d, CB_COMPOUND4args* out);  // the test client's side

struct CB_SEQUENCE4res {
  nfsstat4 status = nfsstat4::NFS4_OK;
  sessionid4 sessionid{};
  sequenceid4 sequenceid = 0;
  slotid4 slotid = 0;
  slotid4 highest_slotid = 0;
  slotid4 target_highest_slotid = 0;
};
struct nfs_cb_resop4 {
  uint32_t op = OP_CB_ILLEGAL;
  nfsstat4 status = nfsstat4::NFS4_OK;
  CB_SEQUENCE4res sequence;  // OP_CB_SEQUENCE
};
struct CB_COMPOUND4res {
  nfsstat4 status = nfsstat4::NFS4_OK;
  std::string tag;
  std::vector<nfs_cb_resop4> results;
};
bool Decode(xdr::XdrDecoder& d, CB_COMPOUND4res* out);
void Encode(xdr::XdrEncoder& e, const CB_COMPOUND4res& in);  // the test client's side

// Primitive codecs other files use.
bool Decode(xdr::XdrDecoder& d, bitmap4* out);
void Encode(xdr::XdrEncoder& e, const bitmap4& in);
bool Decode(xdr::XdrDecoder& d, stateid4* out);
void Encode(xdr::XdrEncoder& e, const stateid4& in);
bool Decode(xdr::XdrDecoder& d, fattr4* out);
void Encode(xdr::XdrEncoder& e, const fattr4& in);

}  // namespace dittofs::nfs

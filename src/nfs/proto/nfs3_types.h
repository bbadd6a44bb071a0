// SPDX-License-Identifier: Apache-2.0
#pragma once

// NFS version 3 protocol types (RFC 1813 §2.5-§3.3) and their XDR codecs.
//
// Names follow the spec. Enumerations are `enum class` with the spec's enumerator names
// (nfsstat3::NFS3ERR_NOENT). Discriminated unions are modelled as:
//   * post_op_attr, pre_op_attr, post_op_fh3 and sattrguard3: std::optional of the arm;
//   * the set_* unions of sattr3: std::optional fields of sattr3;
//   * createhow3, mknoddata3 and every procedure result: the discriminant plus all arms, of
//     which only the one the discriminant selects is encoded (the others are ignored and
//     decode as default values).
//
// Ownership. A decoded request borrows from the RPC input: nfs_fh3, filename3, nfspath3 and
// WRITE3args::data are views that are valid only while the input buffer lives. Everything a
// handler produces owns its data, so a result can outlive the store calls that filled it:
// server-issued handles are nfs_fh3_owned (inline array, no allocation), names and link
// targets are std::string. The one exception is READ3resok::data, which is encoded without a
// copy; see READ3resok.
//
// Codecs: for each type T below that has one,
//   bool Decode(xdr::XdrDecoder& d, T* out);      // false (and d sticky-failed) on bad input
//   void Encode(xdr::XdrEncoder& e, const T& in);
// Decode rejects truncated input, out-of-range enum values and union discriminants, booleans
// other than 0/1, and strings, opaques and lists longer than the bounds below. Decode does not
// require the input to end after T (an RPC body may be followed by nothing else; callers that
// care check d.remaining()).

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/bytes.h"
#include "xdr/xdr.h"

namespace dittofs::nfs {

// RFC 1813 §3 program and procedure numbers.
inline constexpr uint32_t NFS_PROGRAM = 100003;
inline constexpr uint32_t NFS_V3 = 3;
inline constexpr uint32_t NFSPROC3_NULL = 0;
inline constexpr uint32_t NFSPROC3_GETATTR = 1;
inline constexpr uint32_t NFSPROC3_SETATTR = 2;
inline constexpr uint32_t NFSPROC3_LOOKUP = 3;
inline constexpr uint32_t NFSPROC3_ACCESS = 4;
inline constexpr uint32_t NFSPROC3_READLINK = 5;
inline constexpr uint32_t NFSPROC3_READ = 6;
inline constexpr uint32_t NFSPROC3_WRITE = 7;
inline constexpr uint32_t NFSPROC3_CREATE = 8;
inline constexpr uint32_t NFSPROC3_MKDIR = 9;
inline constexpr uint32_t NFSPROC3_SYMLINK = 10;
inline constexpr uint32_t NFSPROC3_MKNOD = 11;
inline constexpr uint32_t NFSPROC3_REMOVE = 12;
inline constexpr uint32_t NFSPROC3_RMDIR = 13;
inline constexpr uint32_t NFSPROC3_RENAME = 14;
inline constexpr uint32_t NFSPROC3_LINK = 15;
inline constexpr uint32_t NFSPROC3_READDIR = 16;
inline constexpr uint32_t NFSPROC3_READDIRPLUS = 17;
inline constexpr uint32_t NFSPROC3_FSSTAT = 18;
inline constexpr uint32_t NFSPROC3_FSINFO = 19;
inline constexpr uint32_t NFSPROC3_PATHCONF = 20;
inline constexpr uint32_t NFSPROC3_COMMIT = 21;

// RFC 1813 §2.4 sizes.
inline constexpr size_t NFS3_FHSIZE = 64;
inline constexpr size_t NFS3_COOKIEVERFSIZE = 8;
inline constexpr size_t NFS3_CREATEVERFSIZE = 8;
inline constexpr size_t NFS3_WRITEVERFSIZE = 8;

// RFC 1813 §3.3.4 ACCESS3 permission bits.
inline constexpr uint32_t ACCESS3_READ = 0x0001;
inline constexpr uint32_t ACCESS3_LOOKUP = 0x0002;
inline constexpr uint32_t ACCESS3_MODIFY = 0x0004;
inline constexpr uint32_t ACCESS3_EXTEND = 0x0008;
inline constexpr uint32_t ACCESS3_DELETE = 0x0010;
inline constexpr uint32_t ACCESS3_EXECUTE = 0x0020;

// RFC 1813 §3.3.19 FSINFO3resok::properties bits.
inline constexpr uint32_t FSF3_LINK = 0x0001;
inline constexpr uint32_t FSF3_SYMLINK = 0x0002;
inline constexpr uint32_t FSF3_HOMOGENEOUS = 0x0008;
inline constexpr uint32_t FSF3_CANSETTIME = 0x0010;

// Decoder bounds. RFC 1813 leaves filename3, nfspath3 and opaque data unbounded; these limits
// only keep hostile input from costing memory. Policy limits (a 255-byte name answered with
// NFS3ERR_NAMETOOLONG, rtmax/wtmax) are the handlers' business.
inline constexpr size_t kMaxFilename3Bytes = 1024;
inline constexpr size_t kMaxNfspath3Bytes = 4096;
inline constexpr size_t kMaxWrite3DataBytes = size_t{64} << 20;
inline constexpr size_t kMaxRead3DataBytes = size_t{64} << 20;
inline constexpr size_t kMaxDirEntries = size_t{1} << 20;

// RFC 1813 §2.5 basic data types.
using filename3 = std::string_view;  // in requests, a view into the input
using nfspath3 = std::string_view;   // in requests, a view into the input
using fileid3 = uint64_t;
using cookie3 = uint64_t;
using cookieverf3 = std::array<std::byte, NFS3_COOKIEVERFSIZE>;
using createverf3 = std::array<std::byte, NFS3_CREATEVERFSIZE>;
using writeverf3 = std::array<std::byte, NFS3_WRITEVERFSIZE>;
using uid3 = uint32_t;
using gid3 = uint32_t;
using size3 = uint64_t;
using offset3 = uint64_t;
using mode3 = uint32_t;
using count3 = uint32_t;

// RFC 1813 §2.6.
enum class nfsstat3 : uint32_t {
  NFS3_OK = 0,
  NFS3ERR_PERM = 1,
  NFS3ERR_NOENT = 2,
  NFS3ERR_IO = 5,
  NFS3ERR_NXIO = 6,
  NFS3ERR_ACCES = 13,
  NFS3ERR_EXIST = 17,
  NFS3ERR_XDEV = 18,
  NFS3ERR_NODEV = 19,
  NFS3ERR_NOTDIR = 20,
  NFS3ERR_ISDIR = 21,
  NFS3ERR_INVAL = 22,
  NFS3ERR_FBIG = 27,
  NFS3ERR_NOSPC = 28,
  NFS3ERR_ROFS = 30,
  NFS3ERR_MLINK = 31,
  NFS3ERR_NAMETOOLONG = 63,
  NFS3ERR_NOTEMPTY = 66,
  NFS3ERR_DQUOT = 69,
  NFS3ERR_STALE = 70,
  NFS3ERR_REMOTE = 71,
  NFS3ERR_BADHANDLE = 10001,
  NFS3ERR_NOT_SYNC = 10002,
  NFS3ERR_BAD_COOKIE = 10003,
  NFS3ERR_NOTSUPP = 10004,
  NFS3ERR_TOOSMALL = 10005,
  NFS3ERR_SERVERFAULT = 10006,
  NFS3ERR_BADTYPE = 10007,
  NFS3ERR_JUKEBOX = 10008,
};

enum class ftype3 : uint32_t {
  NF3REG = 1,
  NF3DIR = 2,
  NF3BLK = 3,
  NF3CHR = 4,
  NF3LNK = 5,
  NF3SOCK = 6,
  NF3FIFO = 7,
};

enum class time_how : uint32_t {
  DONT_CHANGE = 0,
  SET_TO_SERVER_TIME = 1,
  SET_TO_CLIENT_TIME = 2,
};

enum class stable_how : uint32_t {
  UNSTABLE = 0,
  DATA_SYNC = 1,
  FILE_SYNC = 2,
};

enum class createmode3 : uint32_t {
  UNCHECKED = 0,
  GUARDED = 1,
  EXCLUSIVE = 2,
};

// True when `a` and `b` hold the same bytes.
inline bool SameBytes(ByteView a, ByteView b) {
  return a.size() == b.size() && (a.empty() || std::memcmp(a.data(), b.data(), a.size()) == 0);
}

struct specdata3 {
  uint32_t specdata1 = 0;
  uint32_t specdata2 = 0;
  friend bool operator==(const specdata3&, const specdata3&) = default;
};

// A file handle received from a client: a view into the request input (≤ NFS3_FHSIZE bytes).
struct nfs_fh3 {
  ByteView data;
  friend bool operator==(const nfs_fh3& a, const nfs_fh3& b) { return SameBytes(a.data, b.data); }
};

// A file handle the server issues (LOOKUP3resok::object, post_op_fh3, the MOUNT fhandle3).
// Same wire form as nfs_fh3, but it owns its bytes inline, so a handler can fill it from a
// handle encoder and return it by value with no lifetime to manage.
struct nfs_fh3_owned {
  std::array<std::byte, NFS3_FHSIZE> data{};
  uint8_t size = 0;

  // REQUIRES: bytes.size() <= NFS3_FHSIZE.
  static nfs_fh3_owned CopyFrom(ByteView bytes);
  ByteView view() const { return {data.data(), size}; }
  friend bool operator==(const nfs_fh3_owned& a, const nfs_fh3_owned& b) {
    return SameBytes(a.view(), b.view());
  }
};

struct nfstime3 {
  uint32_t seconds = 0;
  uint32_t nseconds = 0;
  friend bool operator==(const nfstime3&, const nfstime3&) = default;
};

struct fattr3 {
  ftype3 type = ftype3::NF3REG;
  mode3 mode = 0;
  uint32_t nlink = 0;
  uid3 uid = 0;
  gid3 gid = 0;
  size3 size = 0;
  size3 used = 0;
  specdata3 rdev;
  uint64_t fsid = 0;
  fileid3 fileid = 0;
  nfstime3 atime;
  nfstime3 mtime;
  nfstime3 ctime;
  friend bool operator==(const fattr3&, const fattr3&) = default;
};
// Encoded size of a fattr3: 5 words, 2 hypers, specdata3, 2 hypers, 3 nfstime3.
inline constexpr size_t kFattr3Size = 5 * 4 + 2 * 8 + 8 + 2 * 8 + 3 * 8;
static_assert(kFattr3Size == 84);

// union post_op_attr switch (bool attributes_follow): nullopt when the attributes do not follow.
using post_op_attr = std::optional<fattr3>;

struct wcc_attr {
  size3 size = 0;
  nfstime3 mtime;
  nfstime3 ctime;
  friend bool operator==(const wcc_attr&, const wcc_attr&) = default;
};

// union pre_op_attr switch (bool attributes_follow).
using pre_op_attr = std::optional<wcc_attr>;

struct wcc_data {
  pre_op_attr before;
  post_op_attr after;
  friend bool operator==(const wcc_data&, const wcc_data&) = default;
};

// union post_op_fh3 switch (bool handle_follows). Produced by the server, so the handle is owned.
using post_op_fh3 = std::optional<nfs_fh3_owned>;

// The value of a set_atime or set_mtime union whose set_it is not DONT_CHANGE.
struct set_time3 {
  bool server_time = false;  // SET_TO_SERVER_TIME; otherwise SET_TO_CLIENT_TIME with `time`
  nfstime3 time;             // zero when server_time
  friend bool operator==(const set_time3&, const set_time3&) = default;
};

// struct sattr3 of set_mode3, set_uid3, set_gid3, set_size3, set_atime, set_mtime: each field
// is nullopt when its set_it is FALSE (or DONT_CHANGE).
struct sattr3 {
  std::optional<mode3> mode;
  std::optional<uid3> uid;
  std::optional<gid3> gid;
  std::optional<size3> size;
  std::optional<set_time3> atime;
  std::optional<set_time3> mtime;
  friend bool operator==(const sattr3&, const sattr3&) = default;
};

struct diropargs3 {
  nfs_fh3 dir;
  filename3 name;  // at most kMaxFilename3Bytes
  friend bool operator==(const diropargs3&, const diropargs3&) = default;
};

// --- GETATTR (§3.3.1) ---

struct GETATTR3args {
  nfs_fh3 object;
  friend bool operator==(const GETATTR3args&, const GETATTR3args&) = default;
};
struct GETATTR3resok {
  fattr3 obj_attributes;
  friend bool operator==(const GETATTR3resok&, const GETATTR3resok&) = default;
};
// The spec's failure arm is void; this empty struct keeps every result the same shape.
struct GETATTR3resfail {
  friend bool operator==(const GETATTR3resfail&, const GETATTR3resfail&) = default;
};
struct GETATTR3res {
  nfsstat3 status = nfsstat3::NFS3_OK;
  GETATTR3resok resok;
  GETATTR3resfail resfail;

  static GETATTR3res Success(GETATTR3resok ok) { return {nfsstat3::NFS3_OK, ok, {}}; }
  // REQUIRES: status != NFS3_OK (likewise for every Failure below).
  static GETATTR3res Failure(nfsstat3 status, GETATTR3resfail fail = {}) {
    return {status, {}, fail};
  }
  friend bool operator==(const GETATTR3res&, const GETATTR3res&) = default;
};

// --- SETATTR (§3.3.2) ---

// union sattrguard3 switch (bool check): the obj_ctime to check, or nullopt.
using sattrguard3 = std::optional<nfstime3>;

struct SETATTR3args {
  nfs_fh3 object;
  sattr3 new_attributes;
  sattrguard3 guard;
  friend bool operator==(const SETATTR3args&, const SETATTR3args&) = default;
};
struct SETATTR3resok {
  wcc_data obj_wcc;
  friend bool operator==(const SETATTR3resok&, const SETATTR3resok&) = default;
};
struct SETATTR3resfail {
  wcc_data obj_wcc;
  friend bool operator==(const SETATTR3resfail&, const SETATTR3resfail&) = default;
};
struct SETATTR3res {
  nfsstat3 status = nfsstat3::NFS3_OK;
  SETATTR3resok resok;
  SETATTR3resfail resfail;

  static SETATTR3res Success(SETATTR3resok ok) { return {nfsstat3::NFS3_OK, ok, {}}; }
  static SETATTR3res Failure(nfsstat3 status, SETATTR3resfail fail = {}) {
    return {status, {}, fail};
  }
  friend bool operator==(const SETATTR3res&, const SETATTR3res&) = default;
};

// --- LOOKUP (§3.3.3) ---

struct LOOKUP3args {
  diropargs3 what;
  friend bool operator==(const LOOKUP3args&, const LOOKUP3args&) = default;
};
struct LOOKUP3resok {
  nfs_fh3_owned object;  // nfs_fh3 on the wire; owned because the server issues it
  post_op_attr obj_attributes;
  post_op_attr dir_attributes;
  friend bool operator==(const LOOKUP3resok&, const LOOKUP3resok&) = default;
};
struct LOOKUP3resfail {
  post_op_attr dir_attributes;
  friend bool operator==(const LOOKUP3resfail&, const LOOKUP3resfail&) = default;
};
struct LOOKUP3res {
  nfsstat3 status = nfsstat3::NFS3_OK;
  LOOKUP3resok resok;
  LOOKUP3resfail resfail;

  static LOOKUP3res Success(LOOKUP3resok ok) { return {nfsstat3::NFS3_OK, ok, {}}; }
  static LOOKUP3res Failure(nfsstat3 status, LOOKUP3resfail fail = {}) {
    return {status, {}, fail};
  }
  friend bool operator==(const LOOKUP3res&, const LOOKUP3res&) = default;
};

// --- ACCESS (§3.3.4) ---

struct ACCESS3args {
  nfs_fh3 object;
  uint32_t access = 0;  // ACCESS3_* bits
  friend bool operator==(const ACCESS3args&, const ACCESS3args&) = default;
};
struct ACCESS3resok {
  post_op_attr obj_attributes;
  uint32_t access = 0;
  friend bool operator==(const ACCESS3resok&, const ACCESS3resok&) = default;
};
struct ACCESS3resfail {
  post_op_attr obj_attributes;
  friend bool operator==(const ACCESS3resfail&, const ACCESS3resfail&) = default;
};
struct ACCESS3res {
  nfsstat3 status = nfsstat3::NFS3_OK;
  ACCESS3resok resok;
  ACCESS3resfail resfail;

  static ACCESS3res Success(ACCESS3resok ok) { return {nfsstat3::NFS3_OK, ok, {}}; }
  static ACCESS3res Failure(nfsstat3 status, ACCESS3resfail fail = {}) {
    return {status, {}, fail};
  }
  friend bool operator==(const ACCESS3res&, const ACCESS3res&) = default;
};

// --- READLINK (§3.3.5) ---

struct READLINK3args {
  nfs_fh3 symlink;
  friend bool operator==(const READLINK3args&, const READLINK3args&) = default;
};
struct READLINK3resok {
  post_op_attr symlink_attributes;
  std::string data;  // nfspath3, at most kMaxNfspath3Bytes
  friend bool operator==(const READLINK3resok&, const READLINK3resok&) = default;
};
struct READLINK3resfail {
  post_op_attr symlink_attributes;
  friend bool operator==(const READLINK3resfail&, const READLINK3resfail&) = default;
};
struct READLINK3res {
  nfsstat3 status = nfsstat3::NFS3_OK;
  READLINK3resok resok;
  READLINK3resfail resfail;

  static READLINK3res Success(READLINK3resok ok) { return {nfsstat3::NFS3_OK, std::move(ok), {}}; }
  static READLINK3res Failure(nfsstat3 status, READLINK3resfail fail = {}) {
    return {status, {}, fail};
  }
  friend bool operator==(const READLINK3res&, const READLINK3res&) = default;
};

// --- READ (§3.3.6) ---

struct READ3args {
  nfs_fh3 file;
  offset3 offset = 0;
  count3 count = 0;
  friend bool operator==(const READ3args&, const READ3args&) = default;
};
// The data is a list of pieces, sent back to back as one opaque<> (a decoded reply has one
// piece). They are encoded by reference (XdrEncoder::VarOpaquePieces), not copied: a server
// hands out views of its store's memory and puts what keeps that memory alive in `holds`, which
// the handler passes to the encoder (XdrEncoder::Retain) so it lives until the reply is sent.
struct READ3resok {
  post_op_attr file_attributes;
  count3 count = 0;
  bool eof = false;
  std::vector<ByteView> data;                      // at most kMaxRead3DataBytes in all
  std::vector<std::shared_ptr<const void>> holds;  // never encoded
  // The data as one string (tests and small replies).
  std::string DataString() const {
    std::string out;
    for (ByteView p : data) out.append(AsChars(p));
    return out;
  }
  friend bool operator==(const READ3resok& a, const READ3resok& b) {
    return a.file_attributes == b.file_attributes && a.count == b.count && a.eof == b.eof &&
           a.DataString() == b.DataString();
  }
};
struct READ3resfail {
  post_op_attr file_attributes;
  friend bool operator==(const READ3resfail&, const READ3resfail&) = default;
};
struct READ3res {
  nfsstat3 status = nfsstat3::NFS3_OK;
  READ3resok resok;
  READ3resfail resfail;

  static READ3res Success(READ3resok ok) { return {nfsstat3::NFS3_OK, std::move(ok), {}}; }
  static READ3res Failure(nfsstat3 status, READ3resfail fail = {}) { return {status, {}, fail}; }
  friend bool operator==(const READ3res&, const READ3res&) = default;
};

// --- WRITE (§3.3.7) ---

struct WRITE3args {
  nfs_fh3 file;
  offset3 offset = 0;
  count3 count = 0;
  stable_how stable = stable_how::UNSTABLE;
  ByteView data;  // a view into the input, at most kMaxWrite3DataBytes
  friend bool operator==(const WRITE3args& a, const WRITE3args& b) {
    return a.file == b.file && a.offset == b.offset && a.count == b.count && a.stable == b.stable &&
           SameBytes(a.data, b.data);
  }
};
struct WRITE3resok {
  wcc_data file_wcc;
  count3 count = 0;
  stable_how committed = stable_how::UNSTABLE;
  writeverf3 verf{};
  friend bool operator==(const WRITE3resok&, const WRITE3resok&) = default;
};
struct WRITE3resfail {
  wcc_data file_wcc;
  friend bool operator==(const WRITE3resfail&, const WRITE3resfail&) = default;
};
struct WRITE3res {
  nfsstat3 status = nfsstat3::NFS3_OK;
  WRITE3resok resok;
  WRITE3resfail resfail;

  static WRITE3res Success(WRITE3resok ok) { return {nfsstat3::NFS3_OK, ok, {}}; }
  static WRITE3res Failure(nfsstat3 status, WRITE3resfail fail = {}) { return {status, {}, fail}; }
  friend bool operator==(const WRITE3res&, const WRITE3res&) = default;
};

// --- CREATE (§3.3.8) ---

// union createhow3 switch (createmode3 mode): UNCHECKED and GUARDED carry obj_attributes,
// EXCLUSIVE carries verf.
struct createhow3 {
  createmode3 mode = createmode3::UNCHECKED;
  sattr3 obj_attributes;
  createverf3 verf{};
  friend bool operator==(const createhow3&, const createhow3&) = default;
};
struct CREATE3args {
  diropargs3 where;
  createhow3 how;
  friend bool operator==(const CREATE3args&, const CREATE3args&) = default;
};
struct CREATE3resok {
  post_op_fh3 obj;
  post_op_attr obj_attributes;
  wcc_data dir_wcc;
  friend bool operator==(const CREATE3resok&, const CREATE3resok&) = default;
};
struct CREATE3resfail {
  wcc_data dir_wcc;
  friend bool operator==(const CREATE3resfail&, const CREATE3resfail&) = default;
};
struct CREATE3res {
  nfsstat3 status = nfsstat3::NFS3_OK;
  CREATE3resok resok;
  CREATE3resfail resfail;

  static CREATE3res Success(CREATE3resok ok) { return {nfsstat3::NFS3_OK, ok, {}}; }
  static CREATE3res Failure(nfsstat3 status, CREATE3resfail fail = {}) {
    return {status, {}, fail};
  }
  friend bool operator==(const CREATE3res&, const CREATE3res&) = default;
};

// --- MKDIR (§3.3.9) ---

struct MKDIR3args {
  diropargs3 where;
  sattr3 attributes;
  friend bool operator==(const MKDIR3args&, const MKDIR3args&) = default;
};
struct MKDIR3resok {
  post_op_fh3 obj;
  post_op_attr obj_attributes;
  wcc_data dir_wcc;
  friend bool operator==(const MKDIR3resok&, const MKDIR3resok&) = default;
};
struct MKDIR3resfail {
  wcc_data dir_wcc;
  friend bool operator==(const MKDIR3resfail&, const MKDIR3resfail&) = default;
};
struct MKDIR3res {
  nfsstat3 status = nfsstat3::NFS3_OK;
  MKDIR3resok resok;
  MKDIR3resfail resfail;

  static MKDIR3res Success(MKDIR3resok ok) { return {nfsstat3::NFS3_OK, ok, {}}; }
  static MKDIR3res Failure(nfsstat3 status, MKDIR3resfail fail = {}) { return {status, {}, fail}; }
  friend bool operator==(const MKDIR3res&, const MKDIR3res&) = default;
};

// --- SYMLINK (§3.3.10) ---

struct symlinkdata3 {
  sattr3 symlink_attributes;
  nfspath3 symlink_data;  // at most kMaxNfspath3Bytes
  friend bool operator==(const symlinkdata3&, const symlinkdata3&) = default;
};
struct SYMLINK3args {
  diropargs3 where;
  symlinkdata3 symlink;
  friend bool operator==(const SYMLINK3args&, const SYMLINK3args&) = default;
};
struct SYMLINK3resok {
  post_op_fh3 obj;
  post_op_attr obj_attributes;
  wcc_data dir_wcc;
  friend bool operator==(const SYMLINK3resok&, const SYMLINK3resok&) = default;
};
struct SYMLINK3resfail {
  wcc_data dir_wcc;
  friend bool operator==(const SYMLINK3resfail&, const SYMLINK3resfail&) = default;
};
struct SYMLINK3res {
  nfsstat3 status = nfsstat3::NFS3_OK;
  SYMLINK3resok resok;
  SYMLINK3resfail resfail;

  static SYMLINK3res Success(SYMLINK3resok ok) { return {nfsstat3::NFS3_OK, ok, {}}; }
  static SYMLINK3res Failure(nfsstat3 status, SYMLINK3resfail fail = {}) {
    return {status, {}, fail};
  }
  friend bool operator==(const SYMLINK3res&, const SYMLINK3res&) = default;
};

// --- MKNOD (§3.3.11) ---

struct devicedata3 {
  sattr3 dev_attributes;
  specdata3 spec;
  friend bool operator==(const devicedata3&, const devicedata3&) = default;
};
// union mknoddata3 switch (ftype3 type): NF3CHR and NF3BLK carry device, NF3SOCK and NF3FIFO
// carry pipe_attributes, the other types carry nothing (a handler answers NFS3ERR_BADTYPE).
struct mknoddata3 {
  ftype3 type = ftype3::NF3REG;
  devicedata3 device;
  sattr3 pipe_attributes;
  friend bool operator==(const mknoddata3&, const mknoddata3&) = default;
};
struct MKNOD3args {
  diropargs3 where;
  mknoddata3 what;
  friend bool operator==(const MKNOD3args&, const MKNOD3args&) = default;
};
struct MKNOD3resok {
  post_op_fh3 obj;
  post_op_attr obj_attributes;
  wcc_data dir_wcc;
  friend bool operator==(const MKNOD3resok&, const MKNOD3resok&) = default;
};
struct MKNOD3resfail {
  wcc_data dir_wcc;
  friend bool operator==(const MKNOD3resfail&, const MKNOD3resfail&) = default;
};
struct MKNOD3res {
  nfsstat3 status = nfsstat3::NFS3_OK;
  MKNOD3resok resok;
  MKNOD3resfail resfail;

  static MKNOD3res Success(MKNOD3resok ok) { return {nfsstat3::NFS3_OK, ok, {}}; }
  static MKNOD3res Failure(nfsstat3 status, MKNOD3resfail fail = {}) { return {status, {}, fail}; }
  friend bool operator==(const MKNOD3res&, const MKNOD3res&) = default;
};

// --- REMOVE (§3.3.12) ---

struct REMOVE3args {
  diropargs3 object;
  friend bool operator==(const REMOVE3args&, const REMOVE3args&) = default;
};
struct REMOVE3resok {
  wcc_data dir_wcc;
  friend bool operator==(const REMOVE3resok&, const REMOVE3resok&) = default;
};
struct REMOVE3resfail {
  wcc_data dir_wcc;
  friend bool operator==(const REMOVE3resfail&, const REMOVE3resfail&) = default;
};
struct REMOVE3res {
  nfsstat3 status = nfsstat3::NFS3_OK;
  REMOVE3resok resok;
  REMOVE3resfail resfail;

  static REMOVE3res Success(REMOVE3resok ok) { return {nfsstat3::NFS3_OK, ok, {}}; }
  static REMOVE3res Failure(nfsstat3 status, REMOVE3resfail fail = {}) {
    return {status, {}, fail};
  }
  friend bool operator==(const REMOVE3res&, const REMOVE3res&) = default;
};

// --- RMDIR (§3.3.13) ---

struct RMDIR3args {
  diropargs3 object;
  friend bool operator==(const RMDIR3args&, const RMDIR3args&) = default;
};
struct RMDIR3resok {
  wcc_data dir_wcc;
  friend bool operator==(const RMDIR3resok&, const RMDIR3resok&) = default;
};
struct RMDIR3resfail {
  wcc_data dir_wcc;
  friend bool operator==(const RMDIR3resfail&, const RMDIR3resfail&) = default;
};
struct RMDIR3res {
  nfsstat3 status = nfsstat3::NFS3_OK;
  RMDIR3resok resok;
  RMDIR3resfail resfail;

  static RMDIR3res Success(RMDIR3resok ok) { return {nfsstat3::NFS3_OK, ok, {}}; }
  static RMDIR3res Failure(nfsstat3 status, RMDIR3resfail fail = {}) { return {status, {}, fail}; }
  friend bool operator==(const RMDIR3res&, const RMDIR3res&) = default;
};

// --- RENAME (§3.3.14) ---

struct RENAME3args {
  diropargs3 from;
  diropargs3 to;
  friend bool operator==(const RENAME3args&, const RENAME3args&) = default;
};
struct RENAME3resok {
  wcc_data fromdir_wcc;
  wcc_data todir_wcc;
  friend bool operator==(const RENAME3resok&, const RENAME3resok&) = default;
};
struct RENAME3resfail {
  wcc_data fromdir_wcc;
  wcc_data todir_wcc;
  friend bool operator==(const RENAME3resfail&, const RENAME3resfail&) = default;
};
struct RENAME3res {
  nfsstat3 status = nfsstat3::NFS3_OK;
  RENAME3resok resok;
  RENAME3resfail resfail;

  static RENAME3res Success(RENAME3resok ok) { return {nfsstat3::NFS3_OK, ok, {}}; }
  static RENAME3res Failure(nfsstat3 status, RENAME3resfail fail = {}) {
    return {status, {}, fail};
  }
  friend bool operator==(const RENAME3res&, const RENAME3res&) = default;
};

// --- LINK (§3.3.15) ---

struct LINK3args {
  nfs_fh3 file;
  diropargs3 link;
  friend bool operator==(const LINK3args&, const LINK3args&) = default;
};
struct LINK3resok {
  post_op_attr file_attributes;
  wcc_data linkdir_wcc;
  friend bool operator==(const LINK3resok&, const LINK3resok&) = default;
};
struct LINK3resfail {
  post_op_attr file_attributes;
  wcc_data linkdir_wcc;
  friend bool operator==(const LINK3resfail&, const LINK3resfail&) = default;
};
struct LINK3res {
  nfsstat3 status = nfsstat3::NFS3_OK;
  LINK3resok resok;
  LINK3resfail resfail;

  static LINK3res Success(LINK3resok ok) { return {nfsstat3::NFS3_OK, ok, {}}; }
  static LINK3res Failure(nfsstat3 status, LINK3resfail fail = {}) { return {status, {}, fail}; }
  friend bool operator==(const LINK3res&, const LINK3res&) = default;
};

// --- READDIR (§3.3.16) ---

struct READDIR3args {
  nfs_fh3 dir;
  cookie3 cookie = 0;
  cookieverf3 cookieverf{};
  count3 count = 0;
  friend bool operator==(const READDIR3args&, const READDIR3args&) = default;
};
// One element of the spec's entry3 linked list (the nextentry link is implied by the vector).
struct entry3 {
  fileid3 fileid = 0;
  std::string name;  // filename3, at most kMaxFilename3Bytes
  cookie3 cookie = 0;
  friend bool operator==(const entry3&, const entry3&) = default;
};
// READDIR3resok flattens `dirlist3 reply` into `entries` and `eof`.
struct READDIR3resok {
  post_op_attr dir_attributes;
  cookieverf3 cookieverf{};
  std::vector<entry3> entries;  // at most kMaxDirEntries
  bool eof = false;
  friend bool operator==(const READDIR3resok&, const READDIR3resok&) = default;
};
struct READDIR3resfail {
  post_op_attr dir_attributes;
  friend bool operator==(const READDIR3resfail&, const READDIR3resfail&) = default;
};
struct READDIR3res {
  nfsstat3 status = nfsstat3::NFS3_OK;
  READDIR3resok resok;
  READDIR3resfail resfail;

  static READDIR3res Success(READDIR3resok ok) { return {nfsstat3::NFS3_OK, std::move(ok), {}}; }
  static READDIR3res Failure(nfsstat3 status, READDIR3resfail fail = {}) {
    return {status, {}, fail};
  }
  friend bool operator==(const READDIR3res&, const READDIR3res&) = default;
};

// --- READDIRPLUS (§3.3.17) ---

struct READDIRPLUS3args {
  nfs_fh3 dir;
  cookie3 cookie = 0;
  cookieverf3 cookieverf{};
  count3 dircount = 0;
  count3 maxcount = 0;
  friend bool operator==(const READDIRPLUS3args&, const READDIRPLUS3args&) = default;
};
struct entryplus3 {
  fileid3 fileid = 0;
  std::string name;  // filename3, at most kMaxFilename3Bytes
  cookie3 cookie = 0;
  post_op_attr name_attributes;
  post_op_fh3 name_handle;
  friend bool operator==(const entryplus3&, const entryplus3&) = default;
};
// READDIRPLUS3resok flattens `dirlistplus3 reply` into `entries` and `eof`.
struct READDIRPLUS3resok {
  post_op_attr dir_attributes;
  cookieverf3 cookieverf{};
  std::vector<entryplus3> entries;  // at most kMaxDirEntries
  bool eof = false;
  friend bool operator==(const READDIRPLUS3resok&, const READDIRPLUS3resok&) = default;
};
struct READDIRPLUS3resfail {
  post_op_attr dir_attributes;
  friend bool operator==(const READDIRPLUS3resfail&, const READDIRPLUS3resfail&) = default;
};
struct READDIRPLUS3res {
  nfsstat3 status = nfsstat3::NFS3_OK;
  READDIRPLUS3resok resok;
  READDIRPLUS3resfail resfail;

  static READDIRPLUS3res Success(READDIRPLUS3resok ok) {
    return {nfsstat3::NFS3_OK, std::move(ok), {}};
  }
  static READDIRPLUS3res Failure(nfsstat3 status, READDIRPLUS3resfail fail = {}) {
    return {status, {}, fail};
  }
  friend bool operator==(const READDIRPLUS3res&, const READDIRPLUS3res&) = default;
};

// --- FSSTAT (§3.3.18) ---

struct FSSTAT3args {
  nfs_fh3 fsroot;
  friend bool operator==(const FSSTAT3args&, const FSSTAT3args&) = default;
};
struct FSSTAT3resok {
  post_op_attr obj_attributes;
  size3 tbytes = 0;
  size3 fbytes = 0;
  size3 abytes = 0;
  size3 tfiles = 0;
  size3 ffiles = 0;
  size3 afiles = 0;
  uint32_t invarsec = 0;
  friend bool operator==(const FSSTAT3resok&, const FSSTAT3resok&) = default;
};
struct FSSTAT3resfail {
  post_op_attr obj_attributes;
  friend bool operator==(const FSSTAT3resfail&, const FSSTAT3resfail&) = default;
};
struct FSSTAT3res {
  nfsstat3 status = nfsstat3::NFS3_OK;
  FSSTAT3resok resok;
  FSSTAT3resfail resfail;

  static FSSTAT3res Success(FSSTAT3resok ok) { return {nfsstat3::NFS3_OK, ok, {}}; }
  static FSSTAT3res Failure(nfsstat3 status, FSSTAT3resfail fail = {}) {
    return {status, {}, fail};
  }
  friend bool operator==(const FSSTAT3res&, const FSSTAT3res&) = default;
};

// --- FSINFO (§3.3.19) ---

struct FSINFO3args {
  nfs_fh3 fsroot;
  friend bool operator==(const FSINFO3args&, const FSINFO3args&) = default;
};
struct FSINFO3resok {
  post_op_attr obj_attributes;
  uint32_t rtmax = 0;
  uint32_t rtpref = 0;
  uint32_t rtmult = 0;
  uint32_t wtmax = 0;
  uint32_t wtpref = 0;
  uint32_t wtmult = 0;
  uint32_t dtpref = 0;
  size3 maxfilesize = 0;
  nfstime3 time_delta;
  uint32_t properties = 0;  // FSF3_* bits
  friend bool operator==(const FSINFO3resok&, const FSINFO3resok&) = default;
};
struct FSINFO3resfail {
  post_op_attr obj_attributes;
  friend bool operator==(const FSINFO3resfail&, const FSINFO3resfail&) = default;
};
struct FSINFO3res {
  nfsstat3 status = nfsstat3::NFS3_OK;
  FSINFO3resok resok;
  FSINFO3resfail resfail;

  static FSINFO3res Success(FSINFO3resok ok) { return {nfsstat3::NFS3_OK, ok, {}}; }
  static FSINFO3res Failure(nfsstat3 status, FSINFO3resfail fail = {}) {
    return {status, {}, fail};
  }
  friend bool operator==(const FSINFO3res&, const FSINFO3res&) = default;
};

// --- PATHCONF (§3.3.20) ---

struct PATHCONF3args {
  nfs_fh3 object;
  friend bool operator==(const PATHCONF3args&, const PATHCONF3args&) = default;
};
struct PATHCONF3resok {
  post_op_attr obj_attributes;
  uint32_t linkmax = 0;
  uint32_t name_max = 0;
  bool no_trunc = false;
  bool chown_restricted = false;
  bool case_insensitive = false;
  bool case_preserving = false;
  friend bool operator==(const PATHCONF3resok&, const PATHCONF3resok&) = default;
};
struct PATHCONF3resfail {
  post_op_attr obj_attributes;
  friend bool operator==(const PATHCONF3resfail&, const PATHCONF3resfail&) = default;
};
struct PATHCONF3res {
  nfsstat3 status = nfsstat3::NFS3_OK;
  PATHCONF3resok resok;
  PATHCONF3resfail resfail;

  static PATHCONF3res Success(PATHCONF3resok ok) { return {nfsstat3::NFS3_OK, ok, {}}; }
  static PATHCONF3res Failure(nfsstat3 status, PATHCONF3resfail fail = {}) {
    return {status, {}, fail};
  }
  friend bool operator==(const PATHCONF3res&, const PATHCONF3res&) = default;
};

// --- COMMIT (§3.3.21) ---

struct COMMIT3args {
  nfs_fh3 file;
  offset3 offset = 0;
  count3 count = 0;
  friend bool operator==(const COMMIT3args&, const COMMIT3args&) = default;
};
struct COMMIT3resok {
  wcc_data file_wcc;
  writeverf3 verf{};
  friend bool operator==(const COMMIT3resok&, const COMMIT3resok&) = default;
};
struct COMMIT3resfail {
  wcc_data file_wcc;
  friend bool operator==(const COMMIT3resfail&, const COMMIT3resfail&) = default;
};
struct COMMIT3res {
  nfsstat3 status = nfsstat3::NFS3_OK;
  COMMIT3resok resok;
  COMMIT3resfail resfail;

  static COMMIT3res Success(COMMIT3resok ok) { return {nfsstat3::NFS3_OK, ok, {}}; }
  static COMMIT3res Failure(nfsstat3 status, COMMIT3resfail fail = {}) {
    return {status, {}, fail};
  }
  friend bool operator==(const COMMIT3res&, const COMMIT3res&) = default;
};

// --- Encoded sizes, for honouring READDIR count and READDIRPLUS dircount/maxcount ---
//
// RFC 1813 §3.3.16: READDIR3args::count is "the maximum size of the READDIR3resok structure,
// in bytes", including all XDR overhead. §3.3.17: READDIRPLUS3args::maxcount bounds the
// READDIRPLUS3resok the same way; dircount bounds the "directory information" only, without
// the attributes and file handle of each entry. A handler fits entries with:
//   size_t used = kDirlistResokOverhead + EncodedSize(resok.dir_attributes);
//   for each candidate e: stop when used + EncodedSize(e) > count; else used += ...
// (for READDIRPLUS also keep a second sum of DirInfoSize(e) against dircount). These sizes are
// exact: Encode of the resok then yields exactly `used` bytes; the 4-byte nfsstat3 in front of
// the resok is not included.

// XDR rounds opaque and string lengths up to a multiple of 4 (RFC 4506 §3.9-§3.11).
constexpr size_t XdrPadded(size_t n) { return (n + 3) & ~size_t{3}; }

inline size_t EncodedSize(const post_op_attr& a) { return 4 + (a ? kFattr3Size : 0); }
inline size_t EncodedSize(const post_op_fh3& h) { return 4 + (h ? 4 + XdrPadded(h->size) : 0); }

// A READDIR3resok or READDIRPLUS3resok without its entries and dir_attributes: the cookieverf,
// the FALSE that ends the entry list, and eof.
inline constexpr size_t kDirlistResokOverhead = NFS3_COOKIEVERFSIZE + 4 + 4;

// An entry3 in the list: the TRUE before it, fileid, name, cookie.
inline size_t EncodedSize(const entry3& e) { return 4 + 8 + 4 + XdrPadded(e.name.size()) + 8; }
// The part of an entryplus3 that counts against dircount: all but name_attributes and
// name_handle (the same bytes as the corresponding entry3).
inline size_t DirInfoSize(const entryplus3& e) { return 4 + 8 + 4 + XdrPadded(e.name.size()) + 8; }
// An entryplus3 in the list, all of it (counts against maxcount).
inline size_t EncodedSize(const entryplus3& e) {
  return DirInfoSize(e) + EncodedSize(e.name_attributes) + EncodedSize(e.name_handle);
}

// --- Codecs ---

bool Decode(xdr::XdrDecoder& d, nfs_fh3* out);
void Encode(xdr::XdrEncoder& e, const nfs_fh3& in);
bool Decode(xdr::XdrDecoder& d, nfs_fh3_owned* out);
void Encode(xdr::XdrEncoder& e, const nfs_fh3_owned& in);
bool Decode(xdr::XdrDecoder& d, nfstime3* out);
void Encode(xdr::XdrEncoder& e, const nfstime3& in);
bool Decode(xdr::XdrDecoder& d, fattr3* out);
void Encode(xdr::XdrEncoder& e, const fattr3& in);
bool Decode(xdr::XdrDecoder& d, post_op_attr* out);
void Encode(xdr::XdrEncoder& e, const post_op_attr& in);
bool Decode(xdr::XdrDecoder& d, wcc_attr* out);
void Encode(xdr::XdrEncoder& e, const wcc_attr& in);
bool Decode(xdr::XdrDecoder& d, pre_op_attr* out);
void Encode(xdr::XdrEncoder& e, const pre_op_attr& in);
bool Decode(xdr::XdrDecoder& d, wcc_data* out);
void Encode(xdr::XdrEncoder& e, const wcc_data& in);
bool Decode(xdr::XdrDecoder& d, post_op_fh3* out);
void Encode(xdr::XdrEncoder& e, const post_op_fh3& in);
bool Decode(xdr::XdrDecoder& d, sattr3* out);
void Encode(xdr::XdrEncoder& e, const sattr3& in);
bool Decode(xdr::XdrDecoder& d, diropargs3* out);
void Encode(xdr::XdrEncoder& e, const diropargs3& in);
bool Decode(xdr::XdrDecoder& d, nfsstat3* out);
void Encode(xdr::XdrEncoder& e, nfsstat3 in);

bool Decode(xdr::XdrDecoder& d, GETATTR3args* out);
void Encode(xdr::XdrEncoder& e, const GETATTR3args& in);
bool Decode(xdr::XdrDecoder& d, GETATTR3res* out);
void Encode(xdr::XdrEncoder& e, const GETATTR3res& in);
bool Decode(xdr::XdrDecoder& d, SETATTR3args* out);
void Encode(xdr::XdrEncoder& e, const SETATTR3args& in);
bool Decode(xdr::XdrDecoder& d, SETATTR3res* out);
void Encode(xdr::XdrEncoder& e, const SETATTR3res& in);
bool Decode(xdr::XdrDecoder& d, LOOKUP3args* out);
void Encode(xdr::XdrEncoder& e, const LOOKUP3args& in);
bool Decode(xdr::XdrDecoder& d, LOOKUP3res* out);
void Encode(xdr::XdrEncoder& e, const LOOKUP3res& in);
bool Decode(xdr::XdrDecoder& d, ACCESS3args* out);
void Encode(xdr::XdrEncoder& e, const ACCESS3args& in);
bool Decode(xdr::XdrDecoder& d, ACCESS3res* out);
void Encode(xdr::XdrEncoder& e, const ACCESS3res& in);
bool Decode(xdr::XdrDecoder& d, READLINK3args* out);
void Encode(xdr::XdrEncoder& e, const READLINK3args& in);
bool Decode(xdr::XdrDecoder& d, READLINK3res* out);
void Encode(xdr::XdrEncoder& e, const READLINK3res& in);
bool Decode(xdr::XdrDecoder& d, READ3args* out);
void Encode(xdr::XdrEncoder& e, const READ3args& in);
// Decoding points resok.data (one piece) into the input.
bool Decode(xdr::XdrDecoder& d, READ3res* out);
// Borrows resok.data (see READ3resok).
void Encode(xdr::XdrEncoder& e, const READ3res& in);
bool Decode(xdr::XdrDecoder& d, WRITE3args* out);
// Borrows in.data: it must stay valid until the encoder's output has been used.
void Encode(xdr::XdrEncoder& e, const WRITE3args& in);
bool Decode(xdr::XdrDecoder& d, WRITE3res* out);
void Encode(xdr::XdrEncoder& e, const WRITE3res& in);
bool Decode(xdr::XdrDecoder& d, CREATE3args* out);
void Encode(xdr::XdrEncoder& e, const CREATE3args& in);
bool Decode(xdr::XdrDecoder& d, CREATE3res* out);
void Encode(xdr::XdrEncoder& e, const CREATE3res& in);
bool Decode(xdr::XdrDecoder& d, MKDIR3args* out);
void Encode(xdr::XdrEncoder& e, const MKDIR3args& in);
bool Decode(xdr::XdrDecoder& d, MKDIR3res* out);
void Encode(xdr::XdrEncoder& e, const MKDIR3res& in);
bool Decode(xdr::XdrDecoder& d, SYMLINK3args* out);
void Encode(xdr::XdrEncoder& e, const SYMLINK3args& in);
bool Decode(xdr::XdrDecoder& d, SYMLINK3res* out);
void Encode(xdr::XdrEncoder& e, const SYMLINK3res& in);
bool Decode(xdr::XdrDecoder& d, MKNOD3args* out);
void Encode(xdr::XdrEncoder& e, const MKNOD3args& in);
bool Decode(xdr::XdrDecoder& d, MKNOD3res* out);
void Encode(xdr::XdrEncoder& e, const MKNOD3res& in);
bool Decode(xdr::XdrDecoder& d, REMOVE3args* out);
void Encode(xdr::XdrEncoder& e, const REMOVE3args& in);
bool Decode(xdr::XdrDecoder& d, REMOVE3res* out);
void Encode(xdr::XdrEncoder& e, const REMOVE3res& in);
bool Decode(xdr::XdrDecoder& d, RMDIR3args* out);
void Encode(xdr::XdrEncoder& e, const RMDIR3args& in);
bool Decode(xdr::XdrDecoder& d, RMDIR3res* out);
void Encode(xdr::XdrEncoder& e, const RMDIR3res& in);
bool Decode(xdr::XdrDecoder& d, RENAME3args* out);
void Encode(xdr::XdrEncoder& e, const RENAME3args& in);
bool Decode(xdr::XdrDecoder& d, RENAME3res* out);
void Encode(xdr::XdrEncoder& e, const RENAME3res& in);
bool Decode(xdr::XdrDecoder& d, LINK3args* out);
void Encode(xdr::XdrEncoder& e, const LINK3args& in);
bool Decode(xdr::XdrDecoder& d, LINK3res* out);
void Encode(xdr::XdrEncoder& e, const LINK3res& in);
bool Decode(xdr::XdrDecoder& d, READDIR3args* out);
void Encode(xdr::XdrEncoder& e, const READDIR3args& in);
bool Decode(xdr::XdrDecoder& d, READDIR3res* out);
void Encode(xdr::XdrEncoder& e, const READDIR3res& in);
bool Decode(xdr::XdrDecoder& d, READDIRPLUS3args* out);
void Encode(xdr::XdrEncoder& e, const READDIRPLUS3args& in);
bool Decode(xdr::XdrDecoder& d, READDIRPLUS3res* out);
void Encode(xdr::XdrEncoder& e, const READDIRPLUS3res& in);
bool Decode(xdr::XdrDecoder& d, FSSTAT3args* out);
void Encode(xdr::XdrEncoder& e, const FSSTAT3args& in);
bool Decode(xdr::XdrDecoder& d, FSSTAT3res* out);
void Encode(xdr::XdrEncoder& e, const FSSTAT3res& in);
bool Decode(xdr::XdrDecoder& d, FSINFO3args* out);
void Encode(xdr::XdrEncoder& e, const FSINFO3args& in);
bool Decode(xdr::XdrDecoder& d, FSINFO3res* out);
void Encode(xdr::XdrEncoder& e, const FSINFO3res& in);
bool Decode(xdr::XdrDecoder& d, PATHCONF3args* out);
void Encode(xdr::XdrEncoder& e, const PATHCONF3args& in);
bool Decode(xdr::XdrDecoder& d, PATHCONF3res* out);
void Encode(xdr::XdrEncoder& e, const PATHCONF3res& in);
bool Decode(xdr::XdrDecoder& d, COMMIT3args* out);
void Encode(xdr::XdrEncoder& e, const COMMIT3args& in);
bool Decode(xdr::XdrDecoder& d, COMMIT3res* out);
void Encode(xdr::XdrEncoder& e, const COMMIT3res& in);

// The spec's name of a status ("NFS3ERR_NOENT"), or "NFS3ERR_<unknown>" (logs and tests).
std::string_view ToString(nfsstat3 status);

}  // namespace dittofs::nfs

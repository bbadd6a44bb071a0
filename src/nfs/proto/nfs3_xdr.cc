// SPDX-License-Identifier: Apache-2.0
// XDR codecs for the NFSv3 types of nfs3_types.h, field by field in RFC 1813 order.
#include <cstring>

#include "base/check.h"
#include "nfs/proto/nfs3_types.h"

namespace dittofs::nfs {

nfs_fh3_owned nfs_fh3_owned::CopyFrom(ByteView bytes) {
  CHECK(bytes.size() <= NFS3_FHSIZE)
      << "file handle of " << bytes.size() << " bytes exceeds " << NFS3_FHSIZE;
  nfs_fh3_owned fh;
  if (!bytes.empty()) std::memcpy(fh.data.data(), bytes.data(), bytes.size());
  fh.size = static_cast<uint8_t>(bytes.size());
  return fh;
}

namespace {

using xdr::DecodeRange;
using xdr::EncodeEnum;

bool IsNfsstat3(uint32_t v) {
  switch (static_cast<nfsstat3>(v)) {
    case nfsstat3::NFS3_OK:
    case nfsstat3::NFS3ERR_PERM:
    case nfsstat3::NFS3ERR_NOENT:
    case nfsstat3::NFS3ERR_IO:
    case nfsstat3::NFS3ERR_NXIO:
    case nfsstat3::NFS3ERR_ACCES:
    case nfsstat3::NFS3ERR_EXIST:
    case nfsstat3::NFS3ERR_XDEV:
    case nfsstat3::NFS3ERR_NODEV:
    case nfsstat3::NFS3ERR_NOTDIR:
    case nfsstat3::NFS3ERR_ISDIR:
    case nfsstat3::NFS3ERR_INVAL:
    case nfsstat3::NFS3ERR_FBIG:
    case nfsstat3::NFS3ERR_NOSPC:
    case nfsstat3::NFS3ERR_ROFS:
    case nfsstat3::NFS3ERR_MLINK:
    case nfsstat3::NFS3ERR_NAMETOOLONG:
    case nfsstat3::NFS3ERR_NOTEMPTY:
    case nfsstat3::NFS3ERR_DQUOT:
    case nfsstat3::NFS3ERR_STALE:
    case nfsstat3::NFS3ERR_REMOTE:
    case nfsstat3::NFS3ERR_BADHANDLE:
    case nfsstat3::NFS3ERR_NOT_SYNC:
    case nfsstat3::NFS3ERR_BAD_COOKIE:
    case nfsstat3::NFS3ERR_NOTSUPP:
    case nfsstat3::NFS3ERR_TOOSMALL:
    case nfsstat3::NFS3ERR_SERVERFAULT:
    case nfsstat3::NFS3ERR_BADTYPE:
    case nfsstat3::NFS3ERR_JUKEBOX:
      return true;
  }
  return false;
}

ftype3 DecodeFtype3(xdr::XdrDecoder& d) {
  return DecodeRange<ftype3>(d, uint32_t(ftype3::NF3REG), uint32_t(ftype3::NF3FIFO));
}
stable_how DecodeStableHow(xdr::XdrDecoder& d) {
  return DecodeRange<stable_how>(d, uint32_t(stable_how::UNSTABLE),
                                 uint32_t(stable_how::FILE_SYNC));
}

// An 8-byte verifier (cookieverf3, createverf3, writeverf3 share one type).
void DecodeVerf(xdr::XdrDecoder& d, std::array<std::byte, 8>* out) {
  ByteView v = d.FixedOpaque(out->size());
  if (d.ok()) std::memcpy(out->data(), v.data(), out->size());
}
void EncodeVerf(xdr::XdrEncoder& e, const std::array<std::byte, 8>& in) {
  e.FixedOpaque(ByteView(in.data(), in.size()));
}

void Decode(xdr::XdrDecoder& d, specdata3* out) {
  out->specdata1 = d.U32();
  out->specdata2 = d.U32();
}
void Encode(xdr::XdrEncoder& e, const specdata3& in) {
  e.U32(in.specdata1);
  e.U32(in.specdata2);
}

// set_atime / set_mtime.
void DecodeSetTime(xdr::XdrDecoder& d, std::optional<set_time3>* out) {
  auto how = DecodeRange<time_how>(d, uint32_t(time_how::DONT_CHANGE),
                                   uint32_t(time_how::SET_TO_CLIENT_TIME));
  out->reset();
  if (!d.ok()) return;
  switch (how) {
    case time_how::DONT_CHANGE:
      break;
    case time_how::SET_TO_SERVER_TIME:
      *out = set_time3{.server_time = true};
      break;
    case time_how::SET_TO_CLIENT_TIME: {
      set_time3 t;
      Decode(d, &t.time);
      *out = t;
      break;
    }
  }
}
void EncodeSetTime(xdr::XdrEncoder& e, const std::optional<set_time3>& in) {
  if (!in) {
    EncodeEnum(e, time_how::DONT_CHANGE);
  } else if (in->server_time) {
    EncodeEnum(e, time_how::SET_TO_SERVER_TIME);
  } else {
    EncodeEnum(e, time_how::SET_TO_CLIENT_TIME);
    Encode(e, in->time);
  }
}

// An optional 32- or 64-bit value behind a `bool set_it` (set_mode3, set_uid3, ...).
void DecodeSet32(xdr::XdrDecoder& d, std::optional<uint32_t>* out) {
  out->reset();
  if (d.Bool()) *out = d.U32();
}
void EncodeSet32(xdr::XdrEncoder& e, const std::optional<uint32_t>& in) {
  e.Bool(in.has_value());
  if (in) e.U32(*in);
}

// union sattrguard3 switch (bool check).
void DecodeGuard(xdr::XdrDecoder& d, sattrguard3* out) {
  out->reset();
  if (d.Bool()) Decode(d, &out->emplace());
}
void EncodeGuard(xdr::XdrEncoder& e, const sattrguard3& in) {
  e.Bool(in.has_value());
  if (in) Encode(e, *in);
}

// The resok and resfail arms, used by DecodeRes/EncodeRes below.

void Decode(xdr::XdrDecoder& d, GETATTR3resok* out) { Decode(d, &out->obj_attributes); }
void Encode(xdr::XdrEncoder& e, const GETATTR3resok& in) { Encode(e, in.obj_attributes); }
void Decode(xdr::XdrDecoder&, GETATTR3resfail*) {}
void Encode(xdr::XdrEncoder&, const GETATTR3resfail&) {}

void Decode(xdr::XdrDecoder& d, SETATTR3resok* out) { Decode(d, &out->obj_wcc); }
void Encode(xdr::XdrEncoder& e, const SETATTR3resok& in) { Encode(e, in.obj_wcc); }
void Decode(xdr::XdrDecoder& d, SETATTR3resfail* out) { Decode(d, &out->obj_wcc); }
void Encode(xdr::XdrEncoder& e, const SETATTR3resfail& in) { Encode(e, in.obj_wcc); }

void Decode(xdr::XdrDecoder& d, LOOKUP3resok* out) {
  Decode(d, &out->object);
  Decode(d, &out->obj_attributes);
  Decode(d, &out->dir_attributes);
}
void Encode(xdr::XdrEncoder& e, const LOOKUP3resok& in) {
  Encode(e, in.object);
  Encode(e, in.obj_attributes);
  Encode(e, in.dir_attributes);
}
void Decode(xdr::XdrDecoder& d, LOOKUP3resfail* out) { Decode(d, &out->dir_attributes); }
void Encode(xdr::XdrEncoder& e, const LOOKUP3resfail& in) { Encode(e, in.dir_attributes); }

void Decode(xdr::XdrDecoder& d, ACCESS3resok* out) {
  Decode(d, &out->obj_attributes);
  out->access = d.U32();
}
void Encode(xdr::XdrEncoder& e, const ACCESS3resok& in) {
  Encode(e, in.obj_attributes);
  e.U32(in.access);
}
void Decode(xdr::XdrDecoder& d, ACCESS3resfail* out) { Decode(d, &out->obj_attributes); }
void Encode(xdr::XdrEncoder& e, const ACCESS3resfail& in) { Encode(e, in.obj_attributes); }

void Decode(xdr::XdrDecoder& d, READLINK3resok* out) {
  Decode(d, &out->symlink_attributes);
  out->data = std::string(d.String(kMaxNfspath3Bytes));
}
void Encode(xdr::XdrEncoder& e, const READLINK3resok& in) {
  Encode(e, in.symlink_attributes);
  e.String(in.data);
}
void Decode(xdr::XdrDecoder& d, READLINK3resfail* out) { Decode(d, &out->symlink_attributes); }
void Encode(xdr::XdrEncoder& e, const READLINK3resfail& in) { Encode(e, in.symlink_attributes); }

void Decode(xdr::XdrDecoder& d, READ3resok* out) {
  Decode(d, &out->file_attributes);
  out->count = d.U32();
  out->eof = d.Bool();
  out->data = {d.VarOpaque(kMaxRead3DataBytes)};
}
void Encode(xdr::XdrEncoder& e, const READ3resok& in) {
  Encode(e, in.file_attributes);
  e.U32(in.count);
  e.Bool(in.eof);
  e.VarOpaquePieces(in.data);
}

void Decode(xdr::XdrDecoder& d, READ3resfail* out) { Decode(d, &out->file_attributes); }
void Encode(xdr::XdrEncoder& e, const READ3resfail& in) { Encode(e, in.file_attributes); }

void Decode(xdr::XdrDecoder& d, WRITE3resok* out) {
  Decode(d, &out->file_wcc);
  out->count = d.U32();
  out->committed = DecodeStableHow(d);
  DecodeVerf(d, &out->verf);
}
void Encode(xdr::XdrEncoder& e, const WRITE3resok& in) {
  Encode(e, in.file_wcc);
  e.U32(in.count);
  EncodeEnum(e, in.committed);
  EncodeVerf(e, in.verf);
}
void Decode(xdr::XdrDecoder& d, WRITE3resfail* out) { Decode(d, &out->file_wcc); }
void Encode(xdr::XdrEncoder& e, const WRITE3resfail& in) { Encode(e, in.file_wcc); }

// CREATE, MKDIR, SYMLINK and MKNOD share the resok layout (obj, obj_attributes, dir_wcc) and
// the resfail layout (dir_wcc).
template <typename T>
void DecodeNewObjResok(xdr::XdrDecoder& d, T* out) {
  Decode(d, &out->obj);
  Decode(d, &out->obj_attributes);
  Decode(d, &out->dir_wcc);
}
template <typename T>
void EncodeNewObjResok(xdr::XdrEncoder& e, const T& in) {
  Encode(e, in.obj);
  Encode(e, in.obj_attributes);
  Encode(e, in.dir_wcc);
}
void Decode(xdr::XdrDecoder& d, CREATE3resok* out) { DecodeNewObjResok(d, out); }
void Encode(xdr::XdrEncoder& e, const CREATE3resok& in) { EncodeNewObjResok(e, in); }
void Decode(xdr::XdrDecoder& d, CREATE3resfail* out) { Decode(d, &out->dir_wcc); }
void Encode(xdr::XdrEncoder& e, const CREATE3resfail& in) { Encode(e, in.dir_wcc); }
void Decode(xdr::XdrDecoder& d, MKDIR3resok* out) { DecodeNewObjResok(d, out); }
void Encode(xdr::XdrEncoder& e, const MKDIR3resok& in) { EncodeNewObjResok(e, in); }
void Decode(xdr::XdrDecoder& d, MKDIR3resfail* out) { Decode(d, &out->dir_wcc); }
void Encode(xdr::XdrEncoder& e, const MKDIR3resfail& in) { Encode(e, in.dir_wcc); }
void Decode(xdr::XdrDecoder& d, SYMLINK3resok* out) { DecodeNewObjResok(d, out); }
void Encode(xdr::XdrEncoder& e, const SYMLINK3resok& in) { EncodeNewObjResok(e, in); }
void Decode(xdr::XdrDecoder& d, SYMLINK3resfail* out) { Decode(d, &out->dir_wcc); }
void Encode(xdr::XdrEncoder& e, const SYMLINK3resfail& in) { Encode(e, in.dir_wcc); }
void Decode(xdr::XdrDecoder& d, MKNOD3resok* out) { DecodeNewObjResok(d, out); }
void Encode(xdr::XdrEncoder& e, const MKNOD3resok& in) { EncodeNewObjResok(e, in); }
void Decode(xdr::XdrDecoder& d, MKNOD3resfail* out) { Decode(d, &out->dir_wcc); }
void Encode(xdr::XdrEncoder& e, const MKNOD3resfail& in) { Encode(e, in.dir_wcc); }

void Decode(xdr::XdrDecoder& d, REMOVE3resok* out) { Decode(d, &out->dir_wcc); }
void Encode(xdr::XdrEncoder& e, const REMOVE3resok& in) { Encode(e, in.dir_wcc); }
void Decode(xdr::XdrDecoder& d, REMOVE3resfail* out) { Decode(d, &out->dir_wcc); }
void Encode(xdr::XdrEncoder& e, const REMOVE3resfail& in) { Encode(e, in.dir_wcc); }

void Decode(xdr::XdrDecoder& d, RMDIR3resok* out) { Decode(d, &out->dir_wcc); }
void Encode(xdr::XdrEncoder& e, const RMDIR3resok& in) { Encode(e, in.dir_wcc); }
void Decode(xdr::XdrDecoder& d, RMDIR3resfail* out) { Decode(d, &out->dir_wcc); }
void Encode(xdr::XdrEncoder& e, const RMDIR3resfail& in) { Encode(e, in.dir_wcc); }

template <typename T>
void DecodeRenameArm(xdr::XdrDecoder& d, T* out) {
  Decode(d, &out->fromdir_wcc);
  Decode(d, &out->todir_wcc);
}
template <typename T>
void EncodeRenameArm(xdr::XdrEncoder& e, const T& in) {
  Encode(e, in.fromdir_wcc);
  Encode(e, in.todir_wcc);
}
void Decode(xdr::XdrDecoder& d, RENAME3resok* out) { DecodeRenameArm(d, out); }
void Encode(xdr::XdrEncoder& e, const RENAME3resok& in) { EncodeRenameArm(e, in); }
void Decode(xdr::XdrDecoder& d, RENAME3resfail* out) { DecodeRenameArm(d, out); }
void Encode(xdr::XdrEncoder& e, const RENAME3resfail& in) { EncodeRenameArm(e, in); }

template <typename T>
void DecodeLinkArm(xdr::XdrDecoder& d, T* out) {
  Decode(d, &out->file_attributes);
  Decode(d, &out->linkdir_wcc);
}
template <typename T>
void EncodeLinkArm(xdr::XdrEncoder& e, const T& in) {
  Encode(e, in.file_attributes);
  Encode(e, in.linkdir_wcc);
}
void Decode(xdr::XdrDecoder& d, LINK3resok* out) { DecodeLinkArm(d, out); }
void Encode(xdr::XdrEncoder& e, const LINK3resok& in) { EncodeLinkArm(e, in); }
void Decode(xdr::XdrDecoder& d, LINK3resfail* out) { DecodeLinkArm(d, out); }
void Encode(xdr::XdrEncoder& e, const LINK3resfail& in) { EncodeLinkArm(e, in); }

// The entry lists are linked lists on the wire: each entry is preceded by TRUE (the
// value_follows of the previous `*nextentry`, or of `*entries`) and the list ends with FALSE.
void Decode(xdr::XdrDecoder& d, READDIR3resok* out) {
  Decode(d, &out->dir_attributes);
  DecodeVerf(d, &out->cookieverf);
  out->entries.clear();
  while (d.Bool()) {  // each iteration consumes input, so this ends
    if (out->entries.size() == kMaxDirEntries) {
      d.Fail();
      break;
    }
    entry3& entry = out->entries.emplace_back();
    entry.fileid = d.U64();
    entry.name = std::string(d.String(kMaxFilename3Bytes));
    entry.cookie = d.U64();
  }
  out->eof = d.Bool();
}
void Encode(xdr::XdrEncoder& e, const READDIR3resok& in) {
  Encode(e, in.dir_attributes);
  EncodeVerf(e, in.cookieverf);
  for (const entry3& entry : in.entries) {
    e.Bool(true);
    e.U64(entry.fileid);
    e.String(entry.name);
    e.U64(entry.cookie);
  }
  e.Bool(false);
  e.Bool(in.eof);
}
void Decode(xdr::XdrDecoder& d, READDIR3resfail* out) { Decode(d, &out->dir_attributes); }
void Encode(xdr::XdrEncoder& e, const READDIR3resfail& in) { Encode(e, in.dir_attributes); }

void Decode(xdr::XdrDecoder& d, READDIRPLUS3resok* out) {
  Decode(d, &out->dir_attributes);
  DecodeVerf(d, &out->cookieverf);
  out->entries.clear();
  while (d.Bool()) {
    if (out->entries.size() == kMaxDirEntries) {
      d.Fail();
      break;
    }
    entryplus3& entry = out->entries.emplace_back();
    entry.fileid = d.U64();
    entry.name = std::string(d.String(kMaxFilename3Bytes));
    entry.cookie = d.U64();
    Decode(d, &entry.name_attributes);
    Decode(d, &entry.name_handle);
  }
  out->eof = d.Bool();
}
void Encode(xdr::XdrEncoder& e, const READDIRPLUS3resok& in) {
  Encode(e, in.dir_attributes);
  EncodeVerf(e, in.cookieverf);
  for (const entryplus3& entry : in.entries) {
    e.Bool(true);
    e.U64(entry.fileid);
    e.String(entry.name);
    e.U64(entry.cookie);
    Encode(e, entry.name_attributes);
    Encode(e, entry.name_handle);
  }
  e.Bool(false);
  e.Bool(in.eof);
}
void Decode(xdr::XdrDecoder& d, READDIRPLUS3resfail* out) { Decode(d, &out->dir_attributes); }
void Encode(xdr::XdrEncoder& e, const READDIRPLUS3resfail& in) { Encode(e, in.dir_attributes); }

void Decode(xdr::XdrDecoder& d, FSSTAT3resok* out) {
  Decode(d, &out->obj_attributes);
  out->tbytes = d.U64();
  out->fbytes = d.U64();
  out->abytes = d.U64();
  out->tfiles = d.U64();
  out->ffiles = d.U64();
  out->afiles = d.U64();
  out->invarsec = d.U32();
}
void Encode(xdr::XdrEncoder& e, const FSSTAT3resok& in) {
  Encode(e, in.obj_attributes);
  e.U64(in.tbytes);
  e.U64(in.fbytes);
  e.U64(in.abytes);
  e.U64(in.tfiles);
  e.U64(in.ffiles);
  e.U64(in.afiles);
  e.U32(in.invarsec);
}
void Decode(xdr::XdrDecoder& d, FSSTAT3resfail* out) { Decode(d, &out->obj_attributes); }
void Encode(xdr::XdrEncoder& e, const FSSTAT3resfail& in) { Encode(e, in.obj_attributes); }

void Decode(xdr::XdrDecoder& d, FSINFO3resok* out) {
  Decode(d, &out->obj_attributes);
  out->rtmax = d.U32();
  out->rtpref = d.U32();
  out->rtmult = d.U32();
  out->wtmax = d.U32();
  out->wtpref = d.U32();
  out->wtmult = d.U32();
  out->dtpref = d.U32();
  out->maxfilesize = d.U64();
  Decode(d, &out->time_delta);
  out->properties = d.U32();
}
void Encode(xdr::XdrEncoder& e, const FSINFO3resok& in) {
  Encode(e, in.obj_attributes);
  e.U32(in.rtmax);
  e.U32(in.rtpref);
  e.U32(in.rtmult);
  e.U32(in.wtmax);
  e.U32(in.wtpref);
  e.U32(in.wtmult);
  e.U32(in.dtpref);
  e.U64(in.maxfilesize);
  Encode(e, in.time_delta);
  e.U32(in.properties);
}
void Decode(xdr::XdrDecoder& d, FSINFO3resfail* out) { Decode(d, &out->obj_attributes); }
void Encode(xdr::XdrEncoder& e, const FSINFO3resfail& in) { Encode(e, in.obj_attributes); }

void Decode(xdr::XdrDecoder& d, PATHCONF3resok* out) {
  Decode(d, &out->obj_attributes);
  out->linkmax = d.U32();
  out->name_max = d.U32();
  out->no_trunc = d.Bool();
  out->chown_restricted = d.Bool();
  out->case_insensitive = d.Bool();
  out->case_preserving = d.Bool();
}
void Encode(xdr::XdrEncoder& e, const PATHCONF3resok& in) {
  Encode(e, in.obj_attributes);
  e.U32(in.linkmax);
  e.U32(in.name_max);
  e.Bool(in.no_trunc);
  e.Bool(in.chown_restricted);
  e.Bool(in.case_insensitive);
  e.Bool(in.case_preserving);
}
void Decode(xdr::XdrDecoder& d, PATHCONF3resfail* out) { Decode(d, &out->obj_attributes); }
void Encode(xdr::XdrEncoder& e, const PATHCONF3resfail& in) { Encode(e, in.obj_attributes); }

void Decode(xdr::XdrDecoder& d, COMMIT3resok* out) {
  Decode(d, &out->file_wcc);
  DecodeVerf(d, &out->verf);
}
void Encode(xdr::XdrEncoder& e, const COMMIT3resok& in) {
  Encode(e, in.file_wcc);
  EncodeVerf(e, in.verf);
}
void Decode(xdr::XdrDecoder& d, COMMIT3resfail* out) { Decode(d, &out->file_wcc); }
void Encode(xdr::XdrEncoder& e, const COMMIT3resfail& in) { Encode(e, in.file_wcc); }

// union XXX3res switch (nfsstat3 status) { case NFS3_OK: resok; default: resfail; }.
// The arm not selected is left default-constructed.
template <typename Res>
bool DecodeRes(xdr::XdrDecoder& d, Res* out) {
  *out = Res{};
  Decode(d, &out->status);
  if (!d.ok()) return false;
  if (out->status == nfsstat3::NFS3_OK) {
    Decode(d, &out->resok);
  } else {
    Decode(d, &out->resfail);
  }
  return d.ok();
}
template <typename Res>
void EncodeRes(xdr::XdrEncoder& e, const Res& in) {
  Encode(e, in.status);
  if (in.status == nfsstat3::NFS3_OK) {
    Encode(e, in.resok);
  } else {
    Encode(e, in.resfail);
  }
}

}  // namespace

// --- Shared types ---

bool Decode(xdr::XdrDecoder& d, nfs_fh3* out) {
  out->data = d.VarOpaque(NFS3_FHSIZE);
  return d.ok();
}
void Encode(xdr::XdrEncoder& e, const nfs_fh3& in) { e.VarOpaque(in.data); }

bool Decode(xdr::XdrDecoder& d, nfs_fh3_owned* out) {
  ByteView v = d.VarOpaque(NFS3_FHSIZE);
  *out = d.ok() ? nfs_fh3_owned::CopyFrom(v) : nfs_fh3_owned{};
  return d.ok();
}
void Encode(xdr::XdrEncoder& e, const nfs_fh3_owned& in) { e.VarOpaque(in.view()); }

bool Decode(xdr::XdrDecoder& d, nfstime3* out) {
  out->seconds = d.U32();
  out->nseconds = d.U32();
  return d.ok();
}
void Encode(xdr::XdrEncoder& e, const nfstime3& in) {
  e.U32(in.seconds);
  e.U32(in.nseconds);
}

bool Decode(xdr::XdrDecoder& d, fattr3* out) {
  out->type = DecodeFtype3(d);
  out->mode = d.U32();
  out->nlink = d.U32();
  out->uid = d.U32();
  out->gid = d.U32();
  out->size = d.U64();
  out->used = d.U64();
  Decode(d, &out->rdev);
  out->fsid = d.U64();
  out->fileid = d.U64();
  Decode(d, &out->atime);
  Decode(d, &out->mtime);
  Decode(d, &out->ctime);
  return d.ok();
}
void Encode(xdr::XdrEncoder& e, const fattr3& in) {
  EncodeEnum(e, in.type);
  e.U32(in.mode);
  e.U32(in.nlink);
  e.U32(in.uid);
  e.U32(in.gid);
  e.U64(in.size);
  e.U64(in.used);
  Encode(e, in.rdev);
  e.U64(in.fsid);
  e.U64(in.fileid);
  Encode(e, in.atime);
  Encode(e, in.mtime);
  Encode(e, in.ctime);
}

bool Decode(xdr::XdrDecoder& d, post_op_attr* out) {
  out->reset();
  if (d.Bool()) Decode(d, &out->emplace());
  return d.ok();
}
void Encode(xdr::XdrEncoder& e, const post_op_attr& in) {
  e.Bool(in.has_value());
  if (in) Encode(e, *in);
}

bool Decode(xdr::XdrDecoder& d, wcc_attr* out) {
  out->size = d.U64();
  Decode(d, &out->mtime);
  Decode(d, &out->ctime);
  return d.ok();
}
void Encode(xdr::XdrEncoder& e, const wcc_attr& in) {
  e.U64(in.size);
  Encode(e, in.mtime);
  Encode(e, in.ctime);
}

bool Decode(xdr::XdrDecoder& d, pre_op_attr* out) {
  out->reset();
  if (d.Bool()) Decode(d, &out->emplace());
  return d.ok();
}
void Encode(xdr::XdrEncoder& e, const pre_op_attr& in) {
  e.Bool(in.has_value());
  if (in) Encode(e, *in);
}

bool Decode(xdr::XdrDecoder& d, wcc_data* out) {
  Decode(d, &out->before);
  Decode(d, &out->after);
  return d.ok();
}
void Encode(xdr::XdrEncoder& e, const wcc_data& in) {
  Encode(e, in.before);
  Encode(e, in.after);
}

bool Decode(xdr::XdrDecoder& d, post_op_fh3* out) {
  out->reset();
  if (d.Bool()) Decode(d, &out->emplace());
  return d.ok();
}
void Encode(xdr::XdrEncoder& e, const post_op_fh3& in) {
  e.Bool(in.has_value());
  if (in) Encode(e, *in);
}

bool Decode(xdr::XdrDecoder& d, sattr3* out) {
  DecodeSet32(d, &out->mode);
  DecodeSet32(d, &out->uid);
  DecodeSet32(d, &out->gid);
  out->size.reset();
  if (d.Bool()) out->size = d.U64();
  DecodeSetTime(d, &out->atime);
  DecodeSetTime(d, &out->mtime);
  return d.ok();
}
void Encode(xdr::XdrEncoder& e, const sattr3& in) {
  EncodeSet32(e, in.mode);
  EncodeSet32(e, in.uid);
  EncodeSet32(e, in.gid);
  e.Bool(in.size.has_value());
  if (in.size) e.U64(*in.size);
  EncodeSetTime(e, in.atime);
  EncodeSetTime(e, in.mtime);
}

bool Decode(xdr::XdrDecoder& d, diropargs3* out) {
  Decode(d, &out->dir);
  out->name = d.String(kMaxFilename3Bytes);
  return d.ok();
}
void Encode(xdr::XdrEncoder& e, const diropargs3& in) {
  Encode(e, in.dir);
  e.String(in.name);
}

bool Decode(xdr::XdrDecoder& d, nfsstat3* out) {
  uint32_t v = d.U32();
  if (!IsNfsstat3(v)) d.Fail();
  *out = d.ok() ? static_cast<nfsstat3>(v) : nfsstat3::NFS3ERR_SERVERFAULT;
  return d.ok();
}
void Encode(xdr::XdrEncoder& e, nfsstat3 in) { EncodeEnum(e, in); }

// --- Procedures: args ---

bool Decode(xdr::XdrDecoder& d, GETATTR3args* out) { return Decode(d, &out->object); }
void Encode(xdr::XdrEncoder& e, const GETATTR3args& in) { Encode(e, in.object); }

bool Decode(xdr::XdrDecoder& d, SETATTR3args* out) {
  Decode(d, &out->object);
  Decode(d, &out->new_attributes);
  DecodeGuard(d, &out->guard);
  return d.ok();
}
void Encode(xdr::XdrEncoder& e, const SETATTR3args& in) {
  Encode(e, in.object);
  Encode(e, in.new_attributes);
  EncodeGuard(e, in.guard);
}

bool Decode(xdr::XdrDecoder& d, LOOKUP3args* out) { return Decode(d, &out->what); }
void Encode(xdr::XdrEncoder& e, const LOOKUP3args& in) { Encode(e, in.what); }

bool Decode(xdr::XdrDecoder& d, ACCESS3args* out) {
  Decode(d, &out->object);
  out->access = d.U32();
  return d.ok();
}
void Encode(xdr::XdrEncoder& e, const ACCESS3args& in) {
  Encode(e, in.object);
  e.U32(in.access);
}

bool Decode(xdr::XdrDecoder& d, READLINK3args* out) { return Decode(d, &out->symlink); }
void Encode(xdr::XdrEncoder& e, const READLINK3args& in) { Encode(e, in.symlink); }

bool Decode(xdr::XdrDecoder& d, READ3args* out) {
  Decode(d, &out->file);
  out->offset = d.U64();
  out->count = d.U32();
  return d.ok();
}
void Encode(xdr::XdrEncoder& e, const READ3args& in) {
  Encode(e, in.file);
  e.U64(in.offset);
  e.U32(in.count);
}

bool Decode(xdr::XdrDecoder& d, WRITE3args* out) {
  Decode(d, &out->file);
  out->offset = d.U64();
  out->count = d.U32();
  out->stable = DecodeStableHow(d);
  out->data = d.VarOpaque(kMaxWrite3DataBytes);
  return d.ok();
}
void Encode(xdr::XdrEncoder& e, const WRITE3args& in) {
  Encode(e, in.file);
  e.U64(in.offset);
  e.U32(in.count);
  EncodeEnum(e, in.stable);
  e.VarOpaqueView(in.data);
}

bool Decode(xdr::XdrDecoder& d, CREATE3args* out) {
  Decode(d, &out->where);
  createhow3& how = out->how;
  how = {};
  how.mode = DecodeRange<createmode3>(d, uint32_t(createmode3::UNCHECKED),
                                      uint32_t(createmode3::EXCLUSIVE));
  if (!d.ok()) return false;
  switch (how.mode) {
    case createmode3::UNCHECKED:
    case createmode3::GUARDED:
      Decode(d, &how.obj_attributes);
      break;
    case createmode3::EXCLUSIVE:
      DecodeVerf(d, &how.verf);
      break;
  }
  return d.ok();
}
void Encode(xdr::XdrEncoder& e, const CREATE3args& in) {
  Encode(e, in.where);
  EncodeEnum(e, in.how.mode);
  switch (in.how.mode) {
    case createmode3::UNCHECKED:
    case createmode3::GUARDED:
      Encode(e, in.how.obj_attributes);
      break;
    case createmode3::EXCLUSIVE:
      EncodeVerf(e, in.how.verf);
      break;
  }
}

bool Decode(xdr::XdrDecoder& d, MKDIR3args* out) {
  Decode(d, &out->where);
  Decode(d, &out->attributes);
  return d.ok();
}
void Encode(xdr::XdrEncoder& e, const MKDIR3args& in) {
  Encode(e, in.where);
  Encode(e, in.attributes);
}

bool Decode(xdr::XdrDecoder& d, SYMLINK3args* out) {
  Decode(d, &out->where);
  Decode(d, &out->symlink.symlink_attributes);
  out->symlink.symlink_data = d.String(kMaxNfspath3Bytes);
  return d.ok();
}
void Encode(xdr::XdrEncoder& e, const SYMLINK3args& in) {
  Encode(e, in.where);
  Encode(e, in.symlink.symlink_attributes);
  e.String(in.symlink.symlink_data);
}

bool Decode(xdr::XdrDecoder& d, MKNOD3args* out) {
  Decode(d, &out->where);
  mknoddata3& what = out->what;
  what = {};
  what.type = DecodeFtype3(d);
  if (!d.ok()) return false;
  switch (what.type) {
    case ftype3::NF3CHR:
    case ftype3::NF3BLK:
      Decode(d, &what.device.dev_attributes);
      Decode(d, &what.device.spec);
      break;
    case ftype3::NF3SOCK:
    case ftype3::NF3FIFO:
      Decode(d, &what.pipe_attributes);
      break;
    case ftype3::NF3REG:
    case ftype3::NF3DIR:
    case ftype3::NF3LNK:
      break;
  }
  return d.ok();
}
void Encode(xdr::XdrEncoder& e, const MKNOD3args& in) {
  Encode(e, in.where);
  EncodeEnum(e, in.what.type);
  switch (in.what.type) {
    case ftype3::NF3CHR:
    case ftype3::NF3BLK:
      Encode(e, in.what.device.dev_attributes);
      Encode(e, in.what.device.spec);
      break;
    case ftype3::NF3SOCK:
    case ftype3::NF3FIFO:
      Encode(e, in.what.pipe_attributes);
      break;
    case ftype3::NF3REG:
    case ftype3::NF3DIR:
    case ftype3::NF3LNK:
      break;
  }
}

bool Decode(xdr::XdrDecoder& d, REMOVE3args* out) { return Decode(d, &out->object); }
void Encode(xdr::XdrEncoder& e, const REMOVE3args& in) { Encode(e, in.object); }

bool Decode(xdr::XdrDecoder& d, RMDIR3args* out) { return Decode(d, &out->object); }
void Encode(xdr::XdrEncoder& e, const RMDIR3args& in) { Encode(e, in.object); }

bool Decode(xdr::XdrDecoder& d, RENAME3args* out) {
  Decode(d, &out->from);
  Decode(d, &out->to);
  return d.ok();
}
void Encode(xdr::XdrEncoder& e, const RENAME3args& in) {
  Encode(e, in.from);
  Encode(e, in.to);
}

bool Decode(xdr::XdrDecoder& d, LINK3args* out) {
  Decode(d, &out->file);
  Decode(d, &out->link);
  return d.ok();
}
void Encode(xdr::XdrEncoder& e, const LINK3args& in) {
  Encode(e, in.file);
  Encode(e, in.link);
}

bool Decode(xdr::XdrDecoder& d, READDIR3args* out) {
  Decode(d, &out->dir);
  out->cookie = d.U64();
  DecodeVerf(d, &out->cookieverf);
  out->count = d.U32();
  return d.ok();
}
void Encode(xdr::XdrEncoder& e, const READDIR3args& in) {
  Encode(e, in.dir);
  e.U64(in.cookie);
  EncodeVerf(e, in.cookieverf);
  e.U32(in.count);
}

bool Decode(xdr::XdrDecoder& d, READDIRPLUS3args* out) {
  Decode(d, &out->dir);
  out->cookie = d.U64();
  DecodeVerf(d, &out->cookieverf);
  out->dircount = d.U32();
  out->maxcount = d.U32();
  return d.ok();
}
void Encode(xdr::XdrEncoder& e, const READDIRPLUS3args& in) {
  Encode(e, in.dir);
  e.U64(in.cookie);
  EncodeVerf(e, in.cookieverf);
  e.U32(in.dircount);
  e.U32(in.maxcount);
}

bool Decode(xdr::XdrDecoder& d, FSSTAT3args* out) { return Decode(d, &out->fsroot); }
void Encode(xdr::XdrEncoder& e, const FSSTAT3args& in) { Encode(e, in.fsroot); }

bool Decode(xdr::XdrDecoder& d, FSINFO3args* out) { return Decode(d, &out->fsroot); }
void Encode(xdr::XdrEncoder& e, const FSINFO3args& in) { Encode(e, in.fsroot); }

bool Decode(xdr::XdrDecoder& d, PATHCONF3args* out) { return Decode(d, &out->object); }
void Encode(xdr::XdrEncoder& e, const PATHCONF3args& in) { Encode(e, in.object); }

bool Decode(xdr::XdrDecoder& d, COMMIT3args* out) {
  Decode(d, &out->file);
  out->offset = d.U64();
  out->count = d.U32();
  return d.ok();
}
void Encode(xdr::XdrEncoder& e, const COMMIT3args& in) {
  Encode(e, in.file);
  e.U64(in.offset);
  e.U32(in.count);
}

// --- Procedures: results ---

bool Decode(xdr::XdrDecoder& d, GETATTR3res* out) { return DecodeRes(d, out); }
void Encode(xdr::XdrEncoder& e, const GETATTR3res& in) { EncodeRes(e, in); }
bool Decode(xdr::XdrDecoder& d, SETATTR3res* out) { return DecodeRes(d, out); }
void Encode(xdr::XdrEncoder& e, const SETATTR3res& in) { EncodeRes(e, in); }
bool Decode(xdr::XdrDecoder& d, LOOKUP3res* out) { return DecodeRes(d, out); }
void Encode(xdr::XdrEncoder& e, const LOOKUP3res& in) { EncodeRes(e, in); }
bool Decode(xdr::XdrDecoder& d, ACCESS3res* out) { return DecodeRes(d, out); }
void Encode(xdr::XdrEncoder& e, const ACCESS3res& in) { EncodeRes(e, in); }
bool Decode(xdr::XdrDecoder& d, READLINK3res* out) { return DecodeRes(d, out); }
void Encode(xdr::XdrEncoder& e, const READLINK3res& in) { EncodeRes(e, in); }
bool Decode(xdr::XdrDecoder& d, READ3res* out) { return DecodeRes(d, out); }
void Encode(xdr::XdrEncoder& e, const READ3res& in) { EncodeRes(e, in); }
bool Decode(xdr::XdrDecoder& d, WRITE3res* out) { return DecodeRes(d, out); }
void Encode(xdr::XdrEncoder& e, const WRITE3res& in) { EncodeRes(e, in); }
bool Decode(xdr::XdrDecoder& d, CREATE3res* out) { return DecodeRes(d, out); }
void Encode(xdr::XdrEncoder& e, const CREATE3res& in) { EncodeRes(e, in); }
bool Decode(xdr::XdrDecoder& d, MKDIR3res* out) { return DecodeRes(d, out); }
void Encode(xdr::XdrEncoder& e, const MKDIR3res& in) { EncodeRes(e, in); }
bool Decode(xdr::XdrDecoder& d, SYMLINK3res* out) { return DecodeRes(d, out); }
void Encode(xdr::XdrEncoder& e, const SYMLINK3res& in) { EncodeRes(e, in); }
bool Decode(xdr::XdrDecoder& d, MKNOD3res* out) { return DecodeRes(d, out); }
void Encode(xdr::XdrEncoder& e, const MKNOD3res& in) { EncodeRes(e, in); }
bool Decode(xdr::XdrDecoder& d, REMOVE3res* out) { return DecodeRes(d, out); }
void Encode(xdr::XdrEncoder& e, const REMOVE3res& in) { EncodeRes(e, in); }
bool Decode(xdr::XdrDecoder& d, RMDIR3res* out) { return DecodeRes(d, out); }
void Encode(xdr::XdrEncoder& e, const RMDIR3res& in) { EncodeRes(e, in); }
bool Decode(xdr::XdrDecoder& d, RENAME3res* out) { return DecodeRes(d, out); }
void Encode(xdr::XdrEncoder& e, const RENAME3res& in) { EncodeRes(e, in); }
bool Decode(xdr::XdrDecoder& d, LINK3res* out) { return DecodeRes(d, out); }
void Encode(xdr::XdrEncoder& e, const LINK3res& in) { EncodeRes(e, in); }
bool Decode(xdr::XdrDecoder& d, READDIR3res* out) { return DecodeRes(d, out); }
void Encode(xdr::XdrEncoder& e, const READDIR3res& in) { EncodeRes(e, in); }
bool Decode(xdr::XdrDecoder& d, READDIRPLUS3res* out) { return DecodeRes(d, out); }
void Encode(xdr::XdrEncoder& e, const READDIRPLUS3res& in) { EncodeRes(e, in); }
bool Decode(xdr::XdrDecoder& d, FSSTAT3res* out) { return DecodeRes(d, out); }
void Encode(xdr::XdrEncoder& e, const FSSTAT3res& in) { EncodeRes(e, in); }
bool Decode(xdr::XdrDecoder& d, FSINFO3res* out) { return DecodeRes(d, out); }
void Encode(xdr::XdrEncoder& e, const FSINFO3res& in) { EncodeRes(e, in); }
bool Decode(xdr::XdrDecoder& d, PATHCONF3res* out) { return DecodeRes(d, out); }
void Encode(xdr::XdrEncoder& e, const PATHCONF3res& in) { EncodeRes(e, in); }
bool Decode(xdr::XdrDecoder& d, COMMIT3res* out) { return DecodeRes(d, out); }
void Encode(xdr::XdrEncoder& e, const COMMIT3res& in) { EncodeRes(e, in); }

std::string_view ToString(nfsstat3 status) {
  switch (status) {
    case nfsstat3::NFS3_OK:
      return "NFS3_OK";
    case nfsstat3::NFS3ERR_PERM:
      return "NFS3ERR_PERM";
    case nfsstat3::NFS3ERR_NOENT:
      return "NFS3ERR_NOENT";
    case nfsstat3::NFS3ERR_IO:
      return "NFS3ERR_IO";
    case nfsstat3::NFS3ERR_NXIO:
      return "NFS3ERR_NXIO";
    case nfsstat3::NFS3ERR_ACCES:
      return "NFS3ERR_ACCES";
    case nfsstat3::NFS3ERR_EXIST:
      return "NFS3ERR_EXIST";
    case nfsstat3::NFS3ERR_XDEV:
      return "NFS3ERR_XDEV";
    case nfsstat3::NFS3ERR_NODEV:
      return "NFS3ERR_NODEV";
    case nfsstat3::NFS3ERR_NOTDIR:
      return "NFS3ERR_NOTDIR";
    case nfsstat3::NFS3ERR_ISDIR:
      return "NFS3ERR_ISDIR";
    case nfsstat3::NFS3ERR_INVAL:
      return "NFS3ERR_INVAL";
    case nfsstat3::NFS3ERR_FBIG:
      return "NFS3ERR_FBIG";
    case nfsstat3::NFS3ERR_NOSPC:
      return "NFS3ERR_NOSPC";
    case nfsstat3::NFS3ERR_ROFS:
      return "NFS3ERR_ROFS";
    case nfsstat3::NFS3ERR_MLINK:
      return "NFS3ERR_MLINK";
    case nfsstat3::NFS3ERR_NAMETOOLONG:
      return "NFS3ERR_NAMETOOLONG";
    case nfsstat3::NFS3ERR_NOTEMPTY:
      return "NFS3ERR_NOTEMPTY";
    case nfsstat3::NFS3ERR_DQUOT:
      return "NFS3ERR_DQUOT";
    case nfsstat3::NFS3ERR_STALE:
      return "NFS3ERR_STALE";
    case nfsstat3::NFS3ERR_REMOTE:
      return "NFS3ERR_REMOTE";
    case nfsstat3::NFS3ERR_BADHANDLE:
      return "NFS3ERR_BADHANDLE";
    case nfsstat3::NFS3ERR_NOT_SYNC:
      return "NFS3ERR_NOT_SYNC";
    case nfsstat3::NFS3ERR_BAD_COOKIE:
      return "NFS3ERR_BAD_COOKIE";
    case nfsstat3::NFS3ERR_NOTSUPP:
      return "NFS3ERR_NOTSUPP";
    case nfsstat3::NFS3ERR_TOOSMALL:
      return "NFS3ERR_TOOSMALL";
    case nfsstat3::NFS3ERR_SERVERFAULT:
      return "NFS3ERR_SERVERFAULT";
    case nfsstat3::NFS3ERR_BADTYPE:
      return "NFS3ERR_BADTYPE";
    case nfsstat3::NFS3ERR_JUKEBOX:
      return "NFS3ERR_JUKEBOX";
  }
  return "NFS3ERR_<unknown>";
}

}  // namespace dittofs::nfs

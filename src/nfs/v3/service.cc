// SPDX-License-Identifier: Apache-2.0
#include "nfs/v3/service.h"

#include <algorithm>

#include "base/random.h"
#include "nfs/common/caller.h"
#include "nfs/common/file_handle.h"
#include "nfs/v3/errors.h"

namespace dittofs::nfs {
namespace {

using core::Attr;

// A file handle resolved to its share and object. `vfs` holds the share for the call: its
// stores stay open and unchanged until the reply is built.
struct Target {
  core::ShareUse vfs;
  core::FileId file;
};

// The handle is checked (its MAC) before any share or store is looked at. A share that
// requires TLS refuses a call that came without it, and one that does not accept the call's
// security flavor (krb5p only, an AUTH_SYS call) refuses it alike: the whole call is answered
// AUTH_ERROR with AUTH_TOOWEAK (RFC 5531 §9: the flavor, here the transport, is too weak for it),
// so the handler's own answer is dropped.
Result<Target> ResolveHandle(const rpc::CallContext& call, const FileHandleCodec& handles,
                             const core::ShareTable& shares, const nfs_fh3& fh) {
  ASSIGN_OR_RETURN(DecodedHandle h, handles.Decode(fh.data));
  // kStale for a share that is gone, kUnavailable (JUKEBOX) while its block store changes.
  ASSIGN_OR_RETURN(core::ShareUse vfs, shares.Use(h.share));
  if (call.span != nullptr) call.span->SetAttribute("dittofs.share", vfs->name());
  if (WrongSecurity(call, vfs->options())) {
    if (call.denied != nullptr) *call.denied = rpc::AuthStat::kTooWeak;
    return Status(Errc::kAccess, "the share requires TLS or another security flavor");
  }
  return Target{std::move(vfs), h.file};
}

ftype3 ToFtype3(core::FileType t) {
  switch (t) {
    case core::FileType::kRegular:
      return ftype3::NF3REG;
    case core::FileType::kDirectory:
      return ftype3::NF3DIR;
    case core::FileType::kBlockDevice:
      return ftype3::NF3BLK;
    case core::FileType::kCharDevice:
      return ftype3::NF3CHR;
    case core::FileType::kSymlink:
      return ftype3::NF3LNK;
    case core::FileType::kSocket:
      return ftype3::NF3SOCK;
    case core::FileType::kFifo:
      return ftype3::NF3FIFO;
  }
  return ftype3::NF3REG;
}

nfstime3 ToNfstime3(const Timespec& t) { return {static_cast<uint32_t>(t.sec), t.nsec}; }

fattr3 ToFattr3(const Attr& a) {
  fattr3 f;
  f.type = ToFtype3(a.type);
  f.mode = a.mode;
  f.nlink = a.nlink;
  f.uid = a.uid;
  f.gid = a.gid;
  f.size = a.size;
  f.used = a.used;
  f.rdev = {a.rdev_major, a.rdev_minor};
  f.fsid = a.share;
  f.fileid = a.id.inode;
  f.atime = ToNfstime3(a.atime);
  f.mtime = ToNfstime3(a.mtime);
  f.ctime = ToNfstime3(a.ctime);
  return f;
}

post_op_attr ToPostOp(const std::optional<Attr>& a) {
  if (!a) return std::nullopt;
  return ToFattr3(*a);
}

wcc_data ToWcc(const core::Wcc& w) {
  wcc_data out;
  if (w.before)
    out.before = wcc_attr{w.before->size, ToNfstime3(w.before->mtime), ToNfstime3(w.before->ctime)};
  out.after = ToPostOp(w.after);
  return out;
}

nfs_fh3_owned ToHandle(const FileHandleCodec& handles, const Attr& a) {
  FileHandleCodec::Handle bytes = handles.Encode(a.share, a.id);
  return nfs_fh3_owned::CopyFrom(ByteView(bytes.data(), bytes.size()));
}

core::SetAttrs ToSetAttrs(const sattr3& s) {
  core::SetAttrs a;
  if (s.mode) a.set_mode(*s.mode);
  if (s.uid) a.set_uid(*s.uid);
  if (s.gid) a.set_gid(*s.gid);
  if (s.size) a.set_size(*s.size);
  if (s.atime) {
    if (s.atime->server_time) {
      a.mask |= core::kSetAtimeNow;
    } else {
      a.set_atime({s.atime->time.seconds, s.atime->time.nseconds});
    }
  }
  if (s.mtime) {
    if (s.mtime->server_time) {
      a.mask |= core::kSetMtimeNow;
    } else {
      a.set_mtime({s.mtime->time.seconds, s.mtime->time.nseconds});
    }
  }
  return a;
}

// Attributes of an object for the failure arms of results, when they can be had and the
// caller may see them: a caller the share refuses (its network, or no permission) gets only the
// error.
post_op_attr AttrsOf(const rpc::CallContext& call, const Target& t) {
  Result<Attr> a = t.vfs->GetAttr(CallerOf(call), t.file);
  if (!a.ok()) return std::nullopt;
  return ToFattr3(*a);
}

// Directory cookies 1 and 2 are "." and ".."; the runtime numbers real entries from 3.
constexpr uint64_t kDotCookie = 1;
constexpr uint64_t kDotDotCookie = 2;

cookieverf3 CookieVerifier(const Attr& dir) {
  // Cookies stay valid for the life of the directory, so the verifier only has to tell one
  // incarnation of an inode from another.
  cookieverf3 v{};
  StoreBe64(v.data(), (uint64_t{dir.id.generation} << 32) | 0x0d170f5u);
  return v;
}

bool IsZero(const cookieverf3& v) {
  return std::all_of(v.begin(), v.end(), [](std::byte b) { return b == std::byte{0}; });
}

// Wraps a typed handler as a dispatch-table entry: decode, run, encode.
template <typename Args, typename Res>
rpc::ProcedureHandler Bind(Nfs3Service* svc,
                           Res (Nfs3Service::*fn)(const rpc::CallContext&, const Args&)) {
  return [svc, fn](const rpc::CallContext& call, xdr::XdrDecoder& d, xdr::XdrEncoder& e) {
    Args args;
    if (!Decode(d, &args)) return rpc::AcceptStat::kGarbageArgs;
    Res res = (svc->*fn)(call, args);
    if (res.status != nfsstat3::NFS3_OK) svc->CountError(call.proc, res.status);
    if (call.span != nullptr && call.span->recording()) {
      call.span->SetAttribute("nfs.status", ToString(res.status));
      // What the server failed at (not what the client asked amiss) marks the span failed.
      if (res.status == nfsstat3::NFS3ERR_IO || res.status == nfsstat3::NFS3ERR_SERVERFAULT ||
          res.status == nfsstat3::NFS3ERR_JUKEBOX) {
        call.span->SetError(ToString(res.status));
      }
    }
    Encode(e, res);
    if constexpr (std::is_same_v<Res, READ3res>) {
      // The encoded data views the store's memory; the reply keeps it alive until sent.
      for (auto& hold : res.resok.holds) e.Retain(std::move(hold));
    }
    return rpc::AcceptStat::kSuccess;
  };
}

}  // namespace

Nfs3Service::Nfs3Service(const core::ShareTable& shares, const FileHandleCodec& handles,
                         Nfs3Limits limits)
    : shares_(shares), handles_(handles), limits_(limits) {
  StoreBe64(write_verifier_.data(), RandomU64());
}

rpc::ProgramVersion Nfs3Service::Program() {
  rpc::ProgramVersion p{NFS_PROGRAM, NFS_V3, {}};
  p.procedures.resize(22);
  p.procedures[NFSPROC3_NULL] = {"NULL",
                                 [](const rpc::CallContext&, xdr::XdrDecoder&, xdr::XdrEncoder&) {
                                   return rpc::AcceptStat::kSuccess;
                                 },
                                 false, true};
  p.procedures[NFSPROC3_GETATTR] = {"GETATTR", Bind(this, &Nfs3Service::Getattr), false, true};
  p.procedures[NFSPROC3_SETATTR] = {"SETATTR", Bind(this, &Nfs3Service::Setattr), true};
  p.procedures[NFSPROC3_LOOKUP] = {"LOOKUP", Bind(this, &Nfs3Service::Lookup), false, true};
  p.procedures[NFSPROC3_ACCESS] = {"ACCESS", Bind(this, &Nfs3Service::Access), false, true};
  p.procedures[NFSPROC3_READLINK] = {"READLINK", Bind(this, &Nfs3Service::Readlink), false, true};
  p.procedures[NFSPROC3_READ] = {"READ", Bind(this, &Nfs3Service::Read)};
  p.procedures[NFSPROC3_WRITE] = {"WRITE", Bind(this, &Nfs3Service::Write)};
  p.procedures[NFSPROC3_CREATE] = {"CREATE", Bind(this, &Nfs3Service::Create), true};
  p.procedures[NFSPROC3_MKDIR] = {"MKDIR", Bind(this, &Nfs3Service::Mkdir), true};
  p.procedures[NFSPROC3_SYMLINK] = {"SYMLINK", Bind(this, &Nfs3Service::Symlink), true};
  p.procedures[NFSPROC3_MKNOD] = {"MKNOD", Bind(this, &Nfs3Service::Mknod), true};
  p.procedures[NFSPROC3_REMOVE] = {"REMOVE", Bind(this, &Nfs3Service::Remove), true};
  p.procedures[NFSPROC3_RMDIR] = {"RMDIR", Bind(this, &Nfs3Service::Rmdir), true};
  p.procedures[NFSPROC3_RENAME] = {"RENAME", Bind(this, &Nfs3Service::Rename), true};
  p.procedures[NFSPROC3_LINK] = {"LINK", Bind(this, &Nfs3Service::Link), true};
  p.procedures[NFSPROC3_READDIR] = {"READDIR", Bind(this, &Nfs3Service::Readdir), false, true};
  p.procedures[NFSPROC3_READDIRPLUS] = {"READDIRPLUS", Bind(this, &Nfs3Service::Readdirplus), false,
                                        true};
  p.procedures[NFSPROC3_FSSTAT] = {"FSSTAT", Bind(this, &Nfs3Service::Fsstat), false, true};
  p.procedures[NFSPROC3_FSINFO] = {"FSINFO", Bind(this, &Nfs3Service::Fsinfo), false, true};
  p.procedures[NFSPROC3_PATHCONF] = {"PATHCONF", Bind(this, &Nfs3Service::Pathconf), false, true};
  p.procedures[NFSPROC3_COMMIT] = {"COMMIT", Bind(this, &Nfs3Service::Commit)};
  for (size_t i = 0; i < p.procedures.size() && i < errors_.size(); ++i) {
    errors_[i] = std::make_unique<metrics::CodeCounters>(
        metrics::Default(), "dittofs_nfs3_errors_total",
        "NFSv3 calls answered with an error status, by procedure and status.",
        metrics::Labels{{"procedure", p.procedures[i].name}}, "status",
        [](uint32_t code) { return std::string(ToString(static_cast<nfsstat3>(code))); });
  }
  return p;
}

GETATTR3res Nfs3Service::Getattr(const rpc::CallContext& call, const GETATTR3args& args) {
  Result<Target> t = ResolveHandle(call, handles_, shares_, args.object);
  if (!t.ok()) return GETATTR3res::Failure(ToNfs3(t.status()));
  Result<Attr> a = t->vfs->GetAttr(CallerOf(call), t->file);
  if (!a.ok()) return GETATTR3res::Failure(ToNfs3(a.status()));
  return GETATTR3res::Success({ToFattr3(*a)});
}

SETATTR3res Nfs3Service::Setattr(const rpc::CallContext& call, const SETATTR3args& args) {
  Result<Target> t = ResolveHandle(call, handles_, shares_, args.object);
  if (!t.ok()) return SETATTR3res::Failure(ToNfs3(t.status()));
  core::Wcc wcc;
  std::optional<Timespec> guard;
  if (args.guard) guard = Timespec{args.guard->seconds, args.guard->nseconds};
  const core::SetAttrs attrs = ToSetAttrs(args.new_attributes);
  Status s = t->vfs->SetAttr(CallerOf(call), t->file, attrs, guard ? &*guard : nullptr, &wcc);
  if (!s.ok()) return SETATTR3res::Failure(ToNfs3(s), {ToWcc(wcc)});
  t->vfs->NoteFileChanged(t->file, core::Vfs::ChangesOf(attrs));  // to SMB CHANGE_NOTIFY
  return SETATTR3res::Success({ToWcc(wcc)});
}

LOOKUP3res Nfs3Service::Lookup(const rpc::CallContext& call, const LOOKUP3args& args) {
  Result<Target> t = ResolveHandle(call, handles_, shares_, args.what.dir);
  if (!t.ok()) return LOOKUP3res::Failure(ToNfs3(t.status()));
  std::optional<Attr> dir_attr;
  Result<Attr> a = t->vfs->Lookup(CallerOf(call), t->file, args.what.name, &dir_attr);
  if (!a.ok()) return LOOKUP3res::Failure(ToNfs3(a.status()), {ToPostOp(dir_attr)});
  return LOOKUP3res::Success({ToHandle(handles_, *a), ToFattr3(*a), ToPostOp(dir_attr)});
}

ACCESS3res Nfs3Service::Access(const rpc::CallContext& call, const ACCESS3args& args) {
  Result<Target> t = ResolveHandle(call, handles_, shares_, args.object);
  if (!t.ok()) return ACCESS3res::Failure(ToNfs3(t.status()));
  Attr attr;
  // ACCESS3_* bits and the runtime's AccessBits are the same values.
  Result<uint32_t> granted = t->vfs->Access(CallerOf(call), t->file, args.access, &attr);
  if (!granted.ok()) return ACCESS3res::Failure(ToNfs3(granted.status()), {AttrsOf(call, *t)});
  return ACCESS3res::Success({ToFattr3(attr), *granted});
}

READLINK3res Nfs3Service::Readlink(const rpc::CallContext& call, const READLINK3args& args) {
  Result<Target> t = ResolveHandle(call, handles_, shares_, args.symlink);
  if (!t.ok()) return READLINK3res::Failure(ToNfs3(t.status()));
  Attr attr;
  Result<std::string> target = t->vfs->ReadLink(CallerOf(call), t->file, &attr);
  if (!target.ok()) return READLINK3res::Failure(ToNfs3(target.status()), {AttrsOf(call, *t)});
  return READLINK3res::Success({ToFattr3(attr), std::move(*target)});
}

READ3res Nfs3Service::Read(const rpc::CallContext& call, const READ3args& args) {
  Result<Target> t = ResolveHandle(call, handles_, shares_, args.file);
  if (!t.ok()) return READ3res::Failure(ToNfs3(t.status()));
  uint32_t count = std::min(args.count, limits_.max_io);
  Result<core::ReadResult> r = t->vfs->Read(CallerOf(call), t->file, args.offset, count);
  if (!r.ok()) return READ3res::Failure(ToNfs3(r.status()), {AttrsOf(call, *t)});
  READ3resok ok;
  ok.file_attributes = ToFattr3(r->attr);
  ok.count = static_cast<uint32_t>(r->data.size());
  ok.eof = r->eof;
  ok.data = std::move(r->data.pieces);
  ok.holds = std::move(r->data.holds);
  return READ3res::Success(std::move(ok));
}

WRITE3res Nfs3Service::Write(const rpc::CallContext& call, const WRITE3args& args) {
  Result<Target> t = ResolveHandle(call, handles_, shares_, args.file);
  if (!t.ok()) return WRITE3res::Failure(ToNfs3(t.status()));
  // RFC 1813 §3.3.7: count is the number of bytes of data; more than was sent is invalid.
  if (args.count > args.data.size() || args.count > limits_.max_io) {
    return WRITE3res::Failure(nfsstat3::NFS3ERR_INVAL, {{std::nullopt, AttrsOf(call, *t)}});
  }
  core::Wcc wcc;
  Result<core::WriteResult> w =
      t->vfs->Write(CallerOf(call), t->file, args.offset, args.data.first(args.count),
                    static_cast<core::Stability>(args.stable), &wcc);
  if (!w.ok()) return WRITE3res::Failure(ToNfs3(w.status()), {ToWcc(wcc)});
  t->vfs->NoteFileChanged(t->file, core::changed::kLastWrite | core::changed::kSize);
  WRITE3resok ok;
  ok.file_wcc = ToWcc(wcc);
  ok.count = w->count;
  ok.committed = static_cast<stable_how>(w->committed);
  ok.verf = write_verifier_;
  return WRITE3res::Success(ok);
}

CREATE3res Nfs3Service::Create(const rpc::CallContext& call, const CREATE3args& args) {
  Result<Target> t = ResolveHandle(call, handles_, shares_, args.where.dir);
  if (!t.ok()) return CREATE3res::Failure(ToNfs3(t.status()));
  core::CreateMode how = core::CreateMode::kUnchecked;
  if (args.how.mode == createmode3::GUARDED) how = core::CreateMode::kGuarded;
  if (args.how.mode == createmode3::EXCLUSIVE) how = core::CreateMode::kExclusive;
  uint64_t verifier = LoadBe64(args.how.verf.data());
  core::Wcc wcc;
  Result<Attr> a = t->vfs->Create(CallerOf(call), t->file, args.where.name, how,
                                  ToSetAttrs(args.how.obj_attributes), verifier, &wcc);
  if (!a.ok()) return CREATE3res::Failure(ToNfs3(a.status()), {ToWcc(wcc)});
  return CREATE3res::Success({ToHandle(handles_, *a), ToFattr3(*a), ToWcc(wcc)});
}

MKDIR3res Nfs3Service::Mkdir(const rpc::CallContext& call, const MKDIR3args& args) {
  Result<Target> t = ResolveHandle(call, handles_, shares_, args.where.dir);
  if (!t.ok()) return MKDIR3res::Failure(ToNfs3(t.status()));
  core::Wcc wcc;
  Result<Attr> a =
      t->vfs->Mkdir(CallerOf(call), t->file, args.where.name, ToSetAttrs(args.attributes), &wcc);
  if (!a.ok()) return MKDIR3res::Failure(ToNfs3(a.status()), {ToWcc(wcc)});
  return MKDIR3res::Success({ToHandle(handles_, *a), ToFattr3(*a), ToWcc(wcc)});
}

SYMLINK3res Nfs3Service::Symlink(const rpc::CallContext& call, const SYMLINK3args& args) {
  Result<Target> t = ResolveHandle(call, handles_, shares_, args.where.dir);
  if (!t.ok()) return SYMLINK3res::Failure(ToNfs3(t.status()));
  core::Wcc wcc;
  Result<Attr> a =
      t->vfs->Symlink(CallerOf(call), t->file, args.where.name, args.symlink.symlink_data,
                      ToSetAttrs(args.symlink.symlink_attributes), &wcc);
  if (!a.ok()) return SYMLINK3res::Failure(ToNfs3(a.status()), {ToWcc(wcc)});
  return SYMLINK3res::Success({ToHandle(handles_, *a), ToFattr3(*a), ToWcc(wcc)});
}

MKNOD3res Nfs3Service::Mknod(const rpc::CallContext& call, const MKNOD3args& args) {
  Result<Target> t = ResolveHandle(call, handles_, shares_, args.where.dir);
  if (!t.ok()) return MKNOD3res::Failure(ToNfs3(t.status()));
  core::FileType type;
  const sattr3* attrs = &args.what.pipe_attributes;
  uint32_t major = 0, minor = 0;
  switch (args.what.type) {
    case ftype3::NF3CHR:
    case ftype3::NF3BLK:
      type = args.what.type == ftype3::NF3CHR ? core::FileType::kCharDevice
                                              : core::FileType::kBlockDevice;
      attrs = &args.what.device.dev_attributes;
      major = args.what.device.spec.specdata1;
      minor = args.what.device.spec.specdata2;
      break;
    case ftype3::NF3SOCK:
      type = core::FileType::kSocket;
      break;
    case ftype3::NF3FIFO:
      type = core::FileType::kFifo;
      break;
    default: {
      core::Wcc wcc;
      Result<Attr> dir = t->vfs->GetAttr(CallerOf(call), t->file);
      if (dir.ok()) wcc.after = *dir;
      return MKNOD3res::Failure(nfsstat3::NFS3ERR_BADTYPE, {ToWcc(wcc)});
    }
  }
  core::Wcc wcc;
  Result<Attr> a = t->vfs->Mknod(CallerOf(call), t->file, args.where.name, type, ToSetAttrs(*attrs),
                                 major, minor, &wcc);
  if (!a.ok()) return MKNOD3res::Failure(ToNfs3(a.status()), {ToWcc(wcc)});
  return MKNOD3res::Success({ToHandle(handles_, *a), ToFattr3(*a), ToWcc(wcc)});
}

REMOVE3res Nfs3Service::Remove(const rpc::CallContext& call, const REMOVE3args& args) {
  Result<Target> t = ResolveHandle(call, handles_, shares_, args.object.dir);
  if (!t.ok()) return REMOVE3res::Failure(ToNfs3(t.status()));
  core::Wcc wcc;
  Status s = t->vfs->Remove(CallerOf(call), t->file, args.object.name, &wcc);
  if (!s.ok()) return REMOVE3res::Failure(ToNfs3(s), {ToWcc(wcc)});
  return REMOVE3res::Success({ToWcc(wcc)});
}

RMDIR3res Nfs3Service::Rmdir(const rpc::CallContext& call, const RMDIR3args& args) {
  Result<Target> t = ResolveHandle(call, handles_, shares_, args.object.dir);
  if (!t.ok()) return RMDIR3res::Failure(ToNfs3(t.status()));
  core::Wcc wcc;
  Status s = t->vfs->Rmdir(CallerOf(call), t->file, args.object.name, &wcc);
  if (!s.ok()) return RMDIR3res::Failure(ToNfs3(s), {ToWcc(wcc)});
  return RMDIR3res::Success({ToWcc(wcc)});
}

RENAME3res Nfs3Service::Rename(const rpc::CallContext& call, const RENAME3args& args) {
  Result<Target> from = ResolveHandle(call, handles_, shares_, args.from.dir);
  if (!from.ok()) return RENAME3res::Failure(ToNfs3(from.status()));
  Result<Target> to = ResolveHandle(call, handles_, shares_, args.to.dir);
  if (!to.ok()) return RENAME3res::Failure(ToNfs3(to.status()));
  if (&from->vfs.share() != &to->vfs.share()) {
    return RENAME3res::Failure(nfsstat3::NFS3ERR_XDEV, {{std::nullopt, AttrsOf(call, *from)},
                                                        {std::nullopt, AttrsOf(call, *to)}});
  }
  core::Wcc from_wcc, to_wcc;
  Status s = from->vfs->Rename(CallerOf(call), from->file, args.from.name, to->file, args.to.name,
                               &from_wcc, &to_wcc);
  if (!s.ok()) return RENAME3res::Failure(ToNfs3(s), {ToWcc(from_wcc), ToWcc(to_wcc)});
  return RENAME3res::Success({ToWcc(from_wcc), ToWcc(to_wcc)});
}

LINK3res Nfs3Service::Link(const rpc::CallContext& call, const LINK3args& args) {
  Result<Target> file = ResolveHandle(call, handles_, shares_, args.file);
  if (!file.ok()) return LINK3res::Failure(ToNfs3(file.status()));
  Result<Target> dir = ResolveHandle(call, handles_, shares_, args.link.dir);
  if (!dir.ok()) return LINK3res::Failure(ToNfs3(dir.status()), {AttrsOf(call, *file), {}});
  if (&file->vfs.share() != &dir->vfs.share()) {
    return LINK3res::Failure(nfsstat3::NFS3ERR_XDEV,
                             {AttrsOf(call, *file), {std::nullopt, AttrsOf(call, *dir)}});
  }
  std::optional<Attr> file_attr;
  core::Wcc wcc;
  Status s =
      file->vfs->Link(CallerOf(call), file->file, dir->file, args.link.name, &file_attr, &wcc);
  if (!s.ok()) return LINK3res::Failure(ToNfs3(s), {ToPostOp(file_attr), ToWcc(wcc)});
  return LINK3res::Success({ToPostOp(file_attr), ToWcc(wcc)});
}

READDIR3res Nfs3Service::Readdir(const rpc::CallContext& call, const READDIR3args& args) {
  Result<Target> t = ResolveHandle(call, handles_, shares_, args.dir);
  if (!t.ok()) return READDIR3res::Failure(ToNfs3(t.status()));
  core::Caller caller = CallerOf(call);
  Result<Attr> dir = t->vfs->GetAttr(caller, t->file);
  if (!dir.ok()) return READDIR3res::Failure(ToNfs3(dir.status()));
  if (dir->type != core::FileType::kDirectory) {
    return READDIR3res::Failure(nfsstat3::NFS3ERR_NOTDIR, {ToFattr3(*dir)});
  }
  cookieverf3 verf = CookieVerifier(*dir);
  if (args.cookie != 0 && !IsZero(args.cookieverf) && args.cookieverf != verf) {
    return READDIR3res::Failure(nfsstat3::NFS3ERR_BAD_COOKIE, {ToFattr3(*dir)});
  }
  READDIR3resok ok;
  ok.cookieverf = verf;
  size_t used = kDirlistResokOverhead + EncodedSize(post_op_attr(ToFattr3(*dir)));
  size_t limit = args.count;
  auto fits = [&](const entry3& e) {
    size_t n = EncodedSize(e);
    if (used + n > limit) return false;
    used += n;
    return true;
  };
  uint64_t cookie = args.cookie;
  bool full = false;
  if (cookie < kDotCookie) {
    entry3 e{dir->id.inode, ".", kDotCookie};
    if (fits(e))
      ok.entries.push_back(std::move(e)), cookie = kDotCookie;
    else
      full = true;
  }
  if (!full && cookie < kDotDotCookie) {
    Result<Attr> parent = t->vfs->Parent(caller, t->file);
    entry3 e{parent.ok() ? parent->id.inode : dir->id.inode, "..", kDotDotCookie};
    if (fits(e))
      ok.entries.push_back(std::move(e)), cookie = kDotDotCookie;
    else
      full = true;
  }
  bool eof = false;
  while (!full) {
    size_t batch = std::clamp<size_t>((limit - std::min(limit, used)) / 24 + 1, 8, 4096);
    Result<core::DirListing> l = t->vfs->ReadDir(caller, t->file, cookie, batch, false);
    if (!l.ok()) return READDIR3res::Failure(ToNfs3(l.status()), {ToFattr3(*dir)});
    for (core::DirListEntry& le : l->entries) {
      entry3 e{le.inode, std::move(le.name), le.cookie};
      if (!fits(e)) {
        full = true;
        break;
      }
      cookie = e.cookie;
      ok.entries.push_back(std::move(e));
    }
    if (!full && l->eof) {
      eof = true;
      break;
    }
  }
  if (ok.entries.empty() && !eof) {
    return READDIR3res::Failure(nfsstat3::NFS3ERR_TOOSMALL, {ToFattr3(*dir)});
  }
  ok.eof = eof;
  ok.dir_attributes = ToFattr3(*dir);
  return READDIR3res::Success(std::move(ok));
}

READDIRPLUS3res Nfs3Service::Readdirplus(const rpc::CallContext& call,
                                         const READDIRPLUS3args& args) {
  Result<Target> t = ResolveHandle(call, handles_, shares_, args.dir);
  if (!t.ok()) return READDIRPLUS3res::Failure(ToNfs3(t.status()));
  core::Caller caller = CallerOf(call);
  Result<Attr> dir = t->vfs->GetAttr(caller, t->file);
  if (!dir.ok()) return READDIRPLUS3res::Failure(ToNfs3(dir.status()));
  if (dir->type != core::FileType::kDirectory) {
    return READDIRPLUS3res::Failure(nfsstat3::NFS3ERR_NOTDIR, {ToFattr3(*dir)});
  }
  cookieverf3 verf = CookieVerifier(*dir);
  if (args.cookie != 0 && !IsZero(args.cookieverf) && args.cookieverf != verf) {
    return READDIRPLUS3res::Failure(nfsstat3::NFS3ERR_BAD_COOKIE, {ToFattr3(*dir)});
  }
  READDIRPLUS3resok ok;
  ok.cookieverf = verf;
  // RFC 1813 §3.3.17: maxcount bounds the whole resok, dircount only the directory
  // information (fileid, name, cookie) of the entries.
  size_t used = kDirlistResokOverhead + EncodedSize(post_op_attr(ToFattr3(*dir)));
  size_t dir_used = 0;
  auto fits = [&](const entryplus3& e) {
    size_t n = EncodedSize(e);
    size_t dn = DirInfoSize(e);
    if (used + n > args.maxcount || (args.dircount > 0 && dir_used + dn > args.dircount)) {
      return false;
    }
    used += n;
    dir_used += dn;
    return true;
  };
  auto plus = [this](const Attr& a, std::string name, uint64_t cookie) {
    return entryplus3{a.id.inode, std::move(name), cookie, ToFattr3(a), ToHandle(handles_, a)};
  };
  uint64_t cookie = args.cookie;
  bool full = false;
  if (cookie < kDotCookie) {
    entryplus3 e = plus(*dir, ".", kDotCookie);
    if (fits(e))
      ok.entries.push_back(std::move(e)), cookie = kDotCookie;
    else
      full = true;
  }
  if (!full && cookie < kDotDotCookie) {
    Result<Attr> parent = t->vfs->Parent(caller, t->file);
    entryplus3 e = plus(parent.ok() ? *parent : *dir, "..", kDotDotCookie);
    if (fits(e))
      ok.entries.push_back(std::move(e)), cookie = kDotDotCookie;
    else
      full = true;
  }
  bool eof = false;
  std::vector<core::FileId> files;
  std::vector<FileHandleCodec::Handle> handles;
  while (!full) {
    size_t batch = std::clamp<size_t>(
        (args.maxcount - std::min<size_t>(args.maxcount, used)) / 160 + 1, 4, 1024);
    Result<core::DirListing> l = t->vfs->ReadDir(caller, t->file, cookie, batch, true);
    if (!l.ok()) return READDIRPLUS3res::Failure(ToNfs3(l.status()), {ToFattr3(*dir)});
    // The batch's handles at once: their MACs are computed several at a time.
    files.clear();
    for (const core::DirListEntry& le : l->entries) {
      if (le.attr) files.push_back(le.attr->id);
    }
    handles.resize(files.size());
    handles_.EncodeMany(dir->share, files, handles.data());
    size_t next_handle = 0;
    for (core::DirListEntry& le : l->entries) {
      entryplus3 e;
      if (le.attr) {
        const FileHandleCodec::Handle& h = handles[next_handle++];
        e = entryplus3{le.attr->id.inode, std::move(le.name), le.cookie, ToFattr3(*le.attr),
                       nfs_fh3_owned::CopyFrom(ByteView(h.data(), h.size()))};
      } else {
        e = entryplus3{le.inode, std::move(le.name), le.cookie, std::nullopt, std::nullopt};
      }
      if (!fits(e)) {
        full = true;
        break;
      }
      cookie = e.cookie;
      ok.entries.push_back(std::move(e));
    }
    if (!full && l->eof) {
      eof = true;
      break;
    }
  }
  if (ok.entries.empty() && !eof) {
    return READDIRPLUS3res::Failure(nfsstat3::NFS3ERR_TOOSMALL, {ToFattr3(*dir)});
  }
  ok.eof = eof;
  ok.dir_attributes = ToFattr3(*dir);
  return READDIRPLUS3res::Success(std::move(ok));
}

FSSTAT3res Nfs3Service::Fsstat(const rpc::CallContext& call, const FSSTAT3args& args) {
  Result<Target> t = ResolveHandle(call, handles_, shares_, args.fsroot);
  if (!t.ok()) return FSSTAT3res::Failure(ToNfs3(t.status()));
  Result<core::FsStats> s = t->vfs->StatFs(CallerOf(call), t->file);
  if (!s.ok()) return FSSTAT3res::Failure(ToNfs3(s.status()), {AttrsOf(call, *t)});
  FSSTAT3resok ok;
  ok.obj_attributes = AttrsOf(call, *t);
  ok.tbytes = s->total_bytes;
  ok.fbytes = s->free_bytes;
  ok.abytes = s->avail_bytes;
  ok.tfiles = s->total_files;
  ok.ffiles = s->free_files;
  ok.afiles = s->avail_files;
  ok.invarsec = 0;  // the figures change at any time
  return FSSTAT3res::Success(ok);
}

FSINFO3res Nfs3Service::Fsinfo(const rpc::CallContext& call, const FSINFO3args& args) {
  Result<Target> t = ResolveHandle(call, handles_, shares_, args.fsroot);
  if (!t.ok()) return FSINFO3res::Failure(ToNfs3(t.status()));
  // The limits are no secret, but a caller the share refuses learns nothing, attributes least.
  Result<Attr> attrs = t->vfs->GetAttr(CallerOf(call), t->file);
  if (!attrs.ok()) return FSINFO3res::Failure(ToNfs3(attrs.status()));
  FSINFO3resok ok;
  ok.obj_attributes = ToFattr3(*attrs);
  ok.rtmax = ok.rtpref = limits_.max_io;
  ok.wtmax = ok.wtpref = limits_.max_io;
  ok.rtmult = ok.wtmult = 4096;
  ok.dtpref = 64 * 1024;
  ok.maxfilesize = (uint64_t{1} << 63) - 1;
  ok.time_delta = {0, 1};  // nanosecond times
  ok.properties = FSF3_LINK | FSF3_SYMLINK | FSF3_HOMOGENEOUS | FSF3_CANSETTIME;
  return FSINFO3res::Success(ok);
}

PATHCONF3res Nfs3Service::Pathconf(const rpc::CallContext& call, const PATHCONF3args& args) {
  Result<Target> t = ResolveHandle(call, handles_, shares_, args.object);
  if (!t.ok()) return PATHCONF3res::Failure(ToNfs3(t.status()));
  Result<Attr> attrs = t->vfs->GetAttr(CallerOf(call), t->file);
  if (!attrs.ok()) return PATHCONF3res::Failure(ToNfs3(attrs.status()));
  PATHCONF3resok ok;
  ok.obj_attributes = ToFattr3(*attrs);
  ok.linkmax = 65000;
  ok.name_max = 255;
  ok.no_trunc = true;
  ok.chown_restricted = true;
  ok.case_insensitive = false;
  ok.case_preserving = true;
  return PATHCONF3res::Success(ok);
}

COMMIT3res Nfs3Service::Commit(const rpc::CallContext& call, const COMMIT3args& args) {
  Result<Target> t = ResolveHandle(call, handles_, shares_, args.file);
  if (!t.ok()) return COMMIT3res::Failure(ToNfs3(t.status()));
  core::Wcc wcc;
  Status s = t->vfs->Commit(CallerOf(call), t->file, &wcc);
  if (!s.ok()) return COMMIT3res::Failure(ToNfs3(s), {ToWcc(wcc)});
  return COMMIT3res::Success({ToWcc(wcc), write_verifier_});
}

}  // namespace dittofs::nfs

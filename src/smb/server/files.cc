// SPDX-License-Identifier: Apache-2.0
// The file commands: CREATE, CLOSE, FLUSH, READ, WRITE, LOCK, QUERY_DIRECTORY, QUERY_INFO,
// SET_INFO, CHANGE_NOTIFY, OPLOCK_BREAK (MS-SMB2 §3.3.5.9 to §3.3.5.22), through core::Vfs.

#include <algorithm>
#include <cstring>

#include "base/casefold.h"
#include "base/log.h"
#include "smb/server/connection.h"
#include "smb/server/file_info.h"
#include "smb/wire/le.h"
#include "smb/wire/utf16.h"

namespace dittofs::smb {
namespace {

constexpr uint32_t kStatusInvalidOplockProtocol = 0xC00000E3;
constexpr uint32_t kStatusBadImpersonationLevel = 0xC00000A5;
constexpr uint32_t kMaxOutput = 16u << 20;

Reply Fail(uint32_t status) {
  Reply r;
  r.status = status;
  return r;
}
Reply Fail(const Status& s) { return Fail(ToNtStatus(s)); }

// MS-SMB2 §2.2.13.1.1 and MS-DTYP 2.4.3: generic rights as a file's specific rights.
uint32_t MapGeneric(uint32_t access) {
  if (access & wire::kGenericRead) access |= 0x00120089;
  if (access & wire::kGenericWrite) access |= 0x00120116;
  if (access & wire::kGenericExecute) access |= 0x001200A0;
  if (access & wire::kGenericAll) access |= wire::kFileAllAccess;
  return access &
         ~(wire::kGenericRead | wire::kGenericWrite | wire::kGenericExecute | wire::kGenericAll);
}

constexpr uint32_t kWriteBits = core::kWriteData | core::kAppendData | core::kWriteEa |
                                core::kWriteAttributes | core::kDeleteAccess | wire::kDeleteChild |
                                core::kWriteDac | core::kWriteOwner;

// Characters Windows refuses in names (MS-FSCC 2.1.5.2), and the wildcards.
bool ValidComponent(std::string_view c) {
  if (c.empty() || c == "." || c == "..") return false;
  for (char ch : c) {
    const auto u = static_cast<unsigned char>(ch);
    if (u < 0x20 || std::string_view("/:*?\"<>|").find(ch) != std::string_view::npos) return false;
  }
  return true;
}

struct Walked {
  core::FileId parent;
  std::string leaf;                // empty: the share's root
  std::optional<core::Attr> attr;  // the object, when it exists
};

// Resolves a path from the share root. OBJECT_PATH_NOT_FOUND when a directory on the way is
// missing; a missing last component leaves `attr` empty.
Result<Walked> Walk(core::Vfs& vfs, const core::Caller& caller, std::string_view path,
                    uint32_t* status) {
  // A stream name: only the default data stream exists.
  if (path.ends_with("::$DATA")) path.remove_suffix(7);
  Walked w;
  w.parent = vfs.root();
  if (path.empty()) {
    ASSIGN_OR_RETURN(core::Attr root, vfs.GetAttr(caller, vfs.root()));
    w.attr = root;
    return w;
  }
  size_t start = 0;
  for (;;) {
    const size_t end = path.find('\\', start);
    const std::string_view c =
        path.substr(start, end == std::string_view::npos ? end : end - start);
    if (!ValidComponent(c)) {
      *status = wire::kStatusObjectNameInvalid;
      return Status(Errc::kInvalid, "invalid name");
    }
    Result<core::Attr> a = vfs.Lookup(caller, w.parent, c, nullptr);
    if (end == std::string_view::npos) {
      w.leaf = std::string(c);
      if (a.ok()) {
        w.attr = *a;
      } else if (a.status().code() != Errc::kNotFound) {
        return a.status();
      }
      return w;
    }
    if (!a.ok() || a->type != core::FileType::kDirectory) {
      *status = wire::kStatusObjectPathNotFound;
      return Status(Errc::kNotFound, "path not found");
    }
    w.parent = a->id;
    start = end + 1;
    if (start == path.size()) {  // a trailing backslash
      *status = wire::kStatusObjectNameInvalid;
      return Status(Errc::kInvalid, "trailing backslash");
    }
  }
}

wire::FileTimes TimesOf(const core::Attr& a) {
  wire::FileTimes t;
  const Timespec& birth = a.btime.sec != 0 || a.btime.nsec != 0 ? a.btime : a.mtime;
  t.creation = wire::ToFiletime(birth.sec, birth.nsec);
  t.last_access = wire::ToFiletime(a.atime.sec, a.atime.nsec);
  t.last_write = wire::ToFiletime(a.mtime.sec, a.mtime.nsec);
  t.change = wire::ToFiletime(a.ctime.sec, a.ctime.nsec);
  return t;
}

// What `caller` may do to the object: MAXIMUM_ALLOWED's answer and MxAc's.
uint32_t MaximalAccess(core::Vfs& vfs, const core::Caller& caller, const core::Attr& attr,
                       bool writable) {
  uint32_t mask = core::kReadAttributes | core::kReadControl | wire::kSynchronize;
  Result<uint32_t> bits =
      vfs.Access(caller, attr.id,
                 core::kAccessRead | core::kAccessLookup | core::kAccessModify |
                     core::kAccessExtend | core::kAccessDelete | core::kAccessExecute,
                 nullptr);
  if (bits.ok()) {
    if (*bits & (core::kAccessRead | core::kAccessLookup)) mask |= core::kReadData | core::kReadEa;
    if (*bits & core::kAccessModify) mask |= core::kWriteData | core::kWriteEa;
    if (*bits & core::kAccessExtend) mask |= core::kAppendData;
    if (*bits & core::kAccessExecute) mask |= core::kExecute;
    if (*bits & (core::kAccessModify | core::kAccessDelete)) mask |= wire::kDeleteChild;
  }
  if (caller.is_root() || caller.uid == attr.uid) {
    mask |= core::kWriteAttributes | core::kWriteDac | core::kWriteOwner | core::kDeleteAccess;
  } else if (bits.ok() && (*bits & core::kAccessModify)) {
    mask |= core::kWriteAttributes;
  }
  // Deleting needs write permission on the parent, which only the removal checks: offered.
  mask |= core::kDeleteAccess;
  if (!writable) mask &= ~kWriteBits;
  return mask;
}

}  // namespace

Reply Connection::Create(Exchange& x) {
  Result<wire::CreateRequest> req = wire::DecodeCreate(x.message);
  if (!req.ok()) return Fail(wire::kStatusInvalidParameter);
  if (req->disposition > wire::kOverwriteIf) return Fail(wire::kStatusInvalidParameter);
  if (req->impersonation > 3) return Fail(kStatusBadImpersonationLevel);
  if ((req->options & wire::kOptDirectory) && (req->options & wire::kOptNonDirectory)) {
    return Fail(wire::kStatusInvalidParameter);
  }
  if (req->options & wire::kOptOpenByFileId) return Fail(wire::kStatusNotSupported);
  const core::Caller caller = CallerOf(*x.session);

  auto open = std::make_shared<Open>();
  open->id = NewId();
  open->tree = x.tree;
  wire::CreateResponse resp;
  resp.handle = {open->id, open->id};

  if (x.tree->ipc) {
    std::string pipe = FoldCase(req->name);
    if (pipe.starts_with("pipe\\")) pipe = pipe.substr(5);
    if (pipe != "srvsvc") return Fail(wire::kStatusObjectNameNotFound);
    core::ShareTable* shares = server_.env.shares;
    open->pipe = std::make_unique<rpc::SrvsvcPipe>(
        [shares] {
          std::vector<rpc::ShareInfo> out;
          for (const std::shared_ptr<core::Share>& s : shares->All()) {
            std::string_view n = s->name();
            while (!n.empty() && n.front() == '/') n.remove_prefix(1);
            if (n.empty() || n.find('/') != std::string_view::npos) continue;
            rpc::ShareInfo info;
            info.name = std::string(n);
            info.type = 0;
            info.comment = "DittoFS share " + s->name();
            out.push_back(std::move(info));
          }
          rpc::ShareInfo ipc;
          ipc.name = "IPC$";
          ipc.type = 3 | 0x80000000u;
          ipc.comment = "IPC Service";
          out.push_back(std::move(ipc));
          return out;
        },
        server_.options.netbios_name);
    open->access = MapGeneric(req->desired_access);
    resp.action = wire::kActionOpened;
    resp.attributes = 0x80;
  } else {
    Result<core::ShareUse> use = server_.env.shares->Use(x.tree->share);
    if (!use.ok()) return Fail(wire::kStatusNetworkNameDeleted);
    core::Vfs& vfs = use->vfs();
    uint32_t status = 0;
    Result<Walked> walked = Walk(vfs, caller, req->name, &status);
    if (!walked.ok()) return Fail(status != 0 ? status : ToNtStatus(walked.status()));
    const bool want_dir = (req->options & wire::kOptDirectory) != 0;
    uint32_t access = MapGeneric(req->desired_access);
    const bool maximum = (access & wire::kMaximumAllowed) != 0;
    access &= ~wire::kMaximumAllowed;
    if (access & wire::kAccessSystemSecurity) return Fail(wire::kStatusPrivilegeNotHeld);
    if (!x.tree->writable && (access & kWriteBits & ~core::kDeleteAccess)) {
      return Fail(wire::kStatusAccessDenied);
    }
    if (req->options & wire::kOptDeleteOnClose) {
      if (!(access & core::kDeleteAccess)) return Fail(wire::kStatusInvalidParameter);
      if (!x.tree->writable) return Fail(wire::kStatusAccessDenied);
    }
    core::Attr attr;
    uint32_t action = wire::kActionOpened;
    bool truncate = false;
    if (walked->attr) {
      attr = *walked->attr;
      switch (req->disposition) {
        case wire::kCreateNew:
          return Fail(wire::kStatusObjectNameCollision);
        case wire::kSupersede:
          action = wire::kActionSuperseded;
          truncate = true;
          break;
        case wire::kOverwrite:
        case wire::kOverwriteIf:
          action = wire::kActionOverwritten;
          truncate = true;
          break;
        default:
          break;
      }
      const bool is_dir = attr.type == core::FileType::kDirectory;
      if (want_dir && !is_dir) return Fail(wire::kStatusNotADirectory);
      if ((req->options & wire::kOptNonDirectory) && is_dir)
        return Fail(wire::kStatusFileIsADirectory);
      if (is_dir && truncate) return Fail(wire::kStatusInvalidParameter);
      if (walked->leaf.empty() && (req->options & wire::kOptDeleteOnClose)) {
        return Fail(wire::kStatusCannotDelete);  // the share's root
      }
    } else {
      if (req->disposition == wire::kOpen || req->disposition == wire::kOverwrite) {
        return Fail(wire::kStatusObjectNameNotFound);
      }
      if (!x.tree->writable) return Fail(wire::kStatusAccessDenied);
      core::SetAttrs set;
      const uint32_t dos =
          req->file_attributes & (core::kDosHidden | core::kDosSystem | core::kDosArchive);
      if (dos != 0) set.set_dos_attributes(dos);
      Result<core::Attr> made = Status(Errc::kInternal);
      if (want_dir) {
        set.set_mode(0755);
        made = vfs.Mkdir(caller, walked->parent, walked->leaf, set, nullptr);
      } else {
        set.set_mode(0644);
        made = vfs.Create(caller, walked->parent, walked->leaf, core::CreateMode::kGuarded, set, 0,
                          nullptr);
      }
      if (!made.ok()) return Fail(made.status());
      attr = *made;
      action = wire::kActionCreated;
    }
    const uint32_t maximal = MaximalAccess(vfs, caller, attr, x.tree->writable);
    if (maximum) access |= maximal;
    if (access == 0) access = core::kReadAttributes;
    const bool is_dir = attr.type == core::FileType::kDirectory;
    // The runtime checks the permission bits of what it opens for; directories are listed
    // through READ_DATA (list) and need no data permission to be opened.
    const uint32_t data_bits = is_dir ? 0 : access;
    Result<core::OpenTable::OpenId> id = vfs.OpenFile(
        caller, attr.id, (data_bits & ~core::kDeleteAccess) | (access & core::kDeleteAccess),
        req->share_access & core::kShareAll, (req->options & wire::kOptDeleteOnClose) != 0);
    if (!id.ok()) {
      if (id.status().code() == Errc::kAccess && (req->options & wire::kOptDeleteOnClose) &&
          (attr.dos_attributes & core::kDosReadOnly)) {
        return Fail(wire::kStatusCannotDelete);
      }
      return Fail(id.status());
    }
    open->state_open = *id;
    open->via.open = *id;
    open->via.lock_owner = {open->id, core::LockFlavor::kWindows};
    open->via.holder = open->id;
    open->file = attr.id;
    open->access = access;
    open->directory = is_dir;
    {
      MutexLock lock(&open->mu);
      open->parent = walked->parent;
      open->leaf = walked->leaf;
      open->path = req->name;
    }
    if (truncate) {
      core::SetAttrs set;
      set.set_size(0);
      Status s = vfs.SetAttr(caller, attr.id, set, nullptr, nullptr, &open->via);
      if (!s.ok()) {
        (void)vfs.CloseFile(*id);
        return Fail(s);
      }
      if (Result<core::Attr> again = vfs.GetAttr(caller, attr.id); again.ok()) attr = *again;
    }
    resp.action = action;
    resp.times = TimesOf(attr);
    resp.allocation_size = attr.used;
    resp.end_of_file = is_dir ? 0 : attr.size;
    resp.attributes = DosAttributesOf(attr);
    for (const wire::CreateContext& c : req->contexts) {
      if (c.name == "MxAc") {
        Bytes data;
        wire::LeWriter w(data);
        w.U32(0);
        w.U32(maximal);
        resp.contexts.emplace_back("MxAc", std::move(data));
      } else if (c.name == "QFid") {
        Bytes data;
        wire::LeWriter w(data);
        w.U64(attr.id.inode);
        w.U64(x.tree->share);
        w.Zeros(16);
        resp.contexts.emplace_back("QFid", std::move(data));
      }
    }
  }
  bool full = false;
  {
    MutexLock lock(&x.session->mu);
    full = x.session->opens.size() >= server_.options.max_opens_per_session;
    if (!full) x.session->opens[open->id] = open;
  }
  if (full) {
    CloseOpen(*x.session, *open);
    return Fail(wire::kStatusInsufficientResources);
  }
  Reply reply;
  wire::EncodeCreateResponse(resp, reply.body);
  return reply;
}

Reply Connection::Close(Exchange& x) {
  Result<wire::CloseRequest> req = wire::DecodeClose(x.message);
  if (!req.ok()) return Fail(wire::kStatusInvalidParameter);
  Result<std::shared_ptr<Open>> found = FindOpen(x, req->handle);
  if (!found.ok()) return Fail(wire::kStatusFileClosed);
  std::shared_ptr<Open> open = *found;
  {
    MutexLock lock(&x.session->mu);
    x.session->opens.erase(open->id);
  }
  wire::CloseResponse resp;
  if ((req->flags & wire::kClosePostQueryAttrib) && open->state_open != 0) {
    if (Result<core::ShareUse> use = server_.env.shares->Use(open->tree->share); use.ok()) {
      if (Result<core::Attr> a = use->vfs().GetAttr(CallerOf(*x.session), open->file); a.ok()) {
        resp.flags = wire::kClosePostQueryAttrib;
        resp.times = TimesOf(*a);
        resp.allocation_size = a->used;
        resp.end_of_file = a->type == core::FileType::kDirectory ? 0 : a->size;
        resp.attributes = DosAttributesOf(*a);
      }
    }
  }
  CloseOpen(*x.session, *open);
  Reply reply;
  wire::EncodeCloseResponse(resp, reply.body);
  return reply;
}

Reply Connection::Flush(Exchange& x) {
  Result<wire::FlushRequest> req = wire::DecodeFlush(x.message);
  if (!req.ok()) return Fail(wire::kStatusInvalidParameter);
  Result<std::shared_ptr<Open>> open = FindOpen(x, req->handle);
  if (!open.ok()) return Fail(wire::kStatusFileClosed);
  Reply reply;
  if ((*open)->state_open != 0 && !(*open)->directory) {
    if (!((*open)->access & (core::kWriteData | core::kAppendData))) {
      return Fail(wire::kStatusAccessDenied);
    }
    Result<core::ShareUse> use = server_.env.shares->Use((*open)->tree->share);
    if (!use.ok()) return Fail(wire::kStatusNetworkNameDeleted);
    Status s = use->vfs().Commit(CallerOf(*x.session), (*open)->file, nullptr);
    if (!s.ok()) return Fail(s);
  }
  wire::EncodeEmptyResponse(reply.body);
  return reply;
}

Reply Connection::Read(Exchange& x) {
  Result<wire::ReadRequest> req = wire::DecodeRead(x.message);
  if (!req.ok()) return Fail(wire::kStatusInvalidParameter);
  if (req->length > server_.options.max_io) return Fail(wire::kStatusInvalidParameter);
  Result<std::shared_ptr<Open>> found = FindOpen(x, req->handle);
  if (!found.ok()) return Fail(wire::kStatusFileClosed);
  Open& open = **found;
  Reply reply;
  if (open.pipe) {
    MutexLock lock(&open.mu);
    bool more = false;
    Bytes data = open.pipe->Read(req->length, &more);
    if (more) reply.status = wire::kStatusBufferOverflow;
    wire::EncodeReadResponseHead(static_cast<uint32_t>(data.size()), reply.body);
    reply.body.insert(reply.body.end(), data.begin(), data.end());
    return reply;
  }
  if (open.directory) return Fail(wire::kStatusInvalidDeviceRequest);
  if (!(open.access & (core::kReadData | core::kExecute))) return Fail(wire::kStatusAccessDenied);
  Result<core::ShareUse> use = server_.env.shares->Use(open.tree->share);
  if (!use.ok()) return Fail(wire::kStatusNetworkNameDeleted);
  Result<core::ReadResult> r =
      use->vfs().Read(CallerOf(*x.session), open.file, req->offset, req->length, &open.via);
  if (!r.ok()) return Fail(r.status());
  const size_t n = r->data.size();
  if ((n == 0 && req->length > 0) || n < req->minimum_count) return Fail(wire::kStatusEndOfFile);
  wire::EncodeReadResponseHead(static_cast<uint32_t>(n), reply.body);
  reply.payload = std::move(r->data);
  return reply;
}

Reply Connection::Write(Exchange& x) {
  Result<wire::WriteRequest> req = wire::DecodeWrite(x.message);
  if (!req.ok()) return Fail(wire::kStatusInvalidParameter);
  Result<std::shared_ptr<Open>> found = FindOpen(x, req->handle);
  if (!found.ok()) return Fail(wire::kStatusFileClosed);
  Open& open = **found;
  Reply reply;
  if (open.pipe) {
    MutexLock lock(&open.mu);
    if (!open.pipe->Write(req->data).ok()) return Fail(wire::kStatusInvalidParameter);
    wire::EncodeWriteResponse(static_cast<uint32_t>(req->data.size()), reply.body);
    return reply;
  }
  if (open.directory) return Fail(wire::kStatusInvalidDeviceRequest);
  if (!(open.access & (core::kWriteData | core::kAppendData)))
    return Fail(wire::kStatusAccessDenied);
  Result<core::ShareUse> use = server_.env.shares->Use(open.tree->share);
  if (!use.ok()) return Fail(wire::kStatusNetworkNameDeleted);
  const core::Stability stability = (req->flags & wire::kWriteFlagThrough)
                                        ? core::Stability::kFileSync
                                        : core::Stability::kUnstable;
  Result<core::WriteResult> w = use->vfs().Write(CallerOf(*x.session), open.file, req->offset,
                                                 req->data, stability, nullptr, &open.via);
  if (!w.ok()) return Fail(w.status());
  wire::EncodeWriteResponse(static_cast<uint32_t>(req->data.size()), reply.body);
  return reply;
}

Reply Connection::Lock(Exchange& x) {
  Result<wire::LockRequest> req = wire::DecodeLock(x.message);
  if (!req.ok()) return Fail(wire::kStatusInvalidParameter);
  Result<std::shared_ptr<Open>> found = FindOpen(x, req->handle);
  if (!found.ok()) return Fail(wire::kStatusFileClosed);
  Open& open = **found;
  if (open.state_open == 0 || open.directory) return Fail(wire::kStatusInvalidParameter);
  Result<core::ShareUse> use = server_.env.shares->Use(open.tree->share);
  if (!use.ok()) return Fail(wire::kStatusNetworkNameDeleted);
  core::LockTable& locks = use->vfs().state().locks;
  // §3.3.5.14: a request either unlocks ranges or takes them, all or none.
  const bool unlocking = (req->locks[0].flags & wire::kLockUnlock) != 0;
  std::vector<core::LockRequest> taken;
  for (const wire::LockElement& e : req->locks) {
    core::LockRequest lr;
    lr.file = open.file.inode;
    lr.owner = open.via.lock_owner;
    lr.offset = e.offset;
    lr.length = e.length;
    if (unlocking) {
      if (e.flags != wire::kLockUnlock) return Fail(wire::kStatusInvalidParameter);
      Status s = locks.Unlock(lr);
      if (!s.ok()) return Fail(wire::kStatusRangeNotLocked);
      continue;
    }
    const uint32_t kind = e.flags & ~wire::kLockFailImmediately;
    if (kind != wire::kLockShared && kind != wire::kLockExclusive) {
      for (const auto& t : taken) (void)locks.Unlock(t);
      return Fail(wire::kStatusInvalidParameter);
    }
    lr.exclusive = kind == wire::kLockExclusive;
    Status s = locks.Lock(lr);
    if (!s.ok()) {
      for (const auto& t : taken) (void)locks.Unlock(t);
      if (s.code() == Errc::kInvalid) return Fail(wire::kStatusInvalidLockRange);
      // A request that may wait gets FILE_LOCK_CONFLICT, as Windows answers one whose range
      // was tried last (MS-FSA 2.1.5.7); waiting locks are not served yet.
      return Fail((e.flags & wire::kLockFailImmediately) ? wire::kStatusLockNotGranted
                                                         : wire::kStatusFileLockConflict);
    }
    taken.push_back(lr);
  }
  Reply reply;
  wire::EncodeEmptyResponse(reply.body);
  return reply;
}

Reply Connection::ChangeNotify(Exchange& x) {
  Result<wire::ChangeNotifyRequest> req = wire::DecodeChangeNotify(x.message);
  if (!req.ok()) return Fail(wire::kStatusInvalidParameter);
  return Fail(wire::kStatusNotSupported);
}

Reply Connection::OplockBreak(Exchange& x) {
  Result<wire::BreakAck> req = wire::DecodeBreakAck(x.message);
  if (!req.ok()) return Fail(wire::kStatusInvalidParameter);
  // No oplock or lease is granted yet, so none is being broken.
  return Fail(kStatusInvalidOplockProtocol);
}

}  // namespace dittofs::smb

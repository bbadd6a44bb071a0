// SPDX-License-Identifier: Apache-2.0
// The file commands: CREATE, CLOSE, FLUSH, READ, WRITE, LOCK, QUERY_DIRECTORY, QUERY_INFO,
// SET_INFO, OPLOCK_BREAK (MS-SMB2 §3.3.5.9 to §3.3.5.22), through core::Vfs (CHANGE_NOTIFY:
// notify.cc).

#include <algorithm>
#include <cstring>
#include <limits>

#include "base/casefold.h"
#include "base/clock.h"
#include "base/log.h"
#include "base/time_text.h"
#include "smb/rpc/lsarpc.h"
#include "smb/rpc/srvsvc.h"
#include "smb/server/aapl.h"
#include "smb/server/connection.h"
#include "smb/server/durable.h"
#include "smb/server/file_info.h"
#include "smb/server/notify.h"
#include "smb/server/persistent.h"
#include "smb/wire/le.h"
#include "smb/wire/utf16.h"

namespace dittofs::smb {
namespace {

constexpr uint32_t kStatusBadImpersonationLevel = 0xC00000A5;
constexpr uint32_t kStatusIoReparseTagMismatch = 0xC0000277;
constexpr uint32_t kStatusInvalidEaName = 0x80000013;
constexpr uint32_t kStatusEaListInconsistent = 0x80000014;
// The path of NTFS's quota index ($Extend\$Quota with its $Q index), as a CREATE names it.
constexpr std::string_view kQuotaIndexName = "$Extend\\$Quota:$Q:$INDEX_ALLOCATION";
// The SMB2_CREATE_APP_INSTANCE_ID context's name: a GUID (MS-SMB2 2.2.13.2).
constexpr std::string_view kAppInstanceIdTag{
    "\x45\xBC\xA6\x6A\xEF\xA7\xF7\x4A\x90\x08\xFA\x46\x2E\x14\x4D\x74", 16};

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

// Characters Windows refuses in names (MS-FSCC 2.1.5.2), and the wildcards. A POSIX tree
// takes every character a POSIX name may hold but the separators ('/' and '\\').
bool ValidComponent(std::string_view c, bool posix) {
  if (c.empty() || c == "." || c == "..") return false;
  if (posix) return true;
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
  // A symlink met before the last component: the walk stopped there (attr is the link), and
  // this many bytes (UTF-16) of the path follow it, the separator included.
  std::optional<uint16_t> unparsed;
};

// A previous version's name in SMB (MS-SMB2 2.2.32.2): @GMT-YYYY.MM.DD-HH.MM.SS, UTC.
std::string GmtToken(int64_t unix_seconds) {
  return FormatUtc(unix_seconds, "@GMT-%Y.%m.%d-%H.%M.%S");
}

// The root a CREATE resolves its path from: the share's, or with a TWrp context (`timewarp`,
// a FILETIME) the root of the snapshot taken at that time, to the second, as the @GMT tokens
// of FSCTL_SRV_ENUMERATE_SNAPSHOTS name them. Errc::kNotFound when no snapshot has that time.
Result<core::FileId> RootAt(core::Vfs& vfs, const core::Caller& caller,
                            std::optional<uint64_t> timewarp) {
  if (!timewarp) return vfs.root();
  int64_t sec = 0;
  uint32_t nsec = 0;
  wire::FromFiletime(*timewarp, &sec, &nsec);
  ASSIGN_OR_RETURN(std::vector<core::Vfs::SnapshotView> snapshots, vfs.Snapshots(caller));
  for (const core::Vfs::SnapshotView& s : snapshots) {
    if (s.created.sec == sec) return s.root;
  }
  return Status(Errc::kNotFound, "no previous version of the share at that time");
}

// Resolves a path from `root`: the share's root, or a snapshot's for a previous version.
// OBJECT_PATH_NOT_FOUND when a directory on the way is missing; a missing last component
// leaves `attr` empty. On a POSIX tree names match case-sensitively (exactly); elsewhere
// without regard to case.
Result<Walked> Walk(core::Vfs& vfs, const core::Caller& caller, core::FileId root,
                    std::string_view path, bool posix, uint32_t* status) {
  Walked w;
  w.parent = root;
  if (path.empty()) {
    ASSIGN_OR_RETURN(core::Attr root_attr, vfs.GetAttr(caller, root));
    w.attr = root_attr;
    return w;
  }
  size_t start = 0;
  for (;;) {
    // The Linux client's POSIX paths separate with '/' ("posixpaths"); '\\' separates too.
    const size_t end = posix ? path.find_first_of("/\\", start) : path.find('\\', start);
    const std::string_view c =
        path.substr(start, end == std::string_view::npos ? end : end - start);
    if (!ValidComponent(c, posix)) {
      *status = wire::kStatusObjectNameInvalid;
      return Status(Errc::kInvalid, "invalid name");
    }
    std::string entry_name(c);
    Result<core::Attr> a = posix ? vfs.Lookup(caller, w.parent, c, nullptr)
                                 : vfs.LookupAnyCase(caller, w.parent, c, &entry_name);
    if (end == std::string_view::npos) {
      w.leaf = a.ok() ? entry_name : std::string(c);
      if (a.ok()) {
        w.attr = *a;
      } else if (a.status().code() != Errc::kNotFound) {
        return a.status();
      }
      return w;
    }
    if (a.ok() && a->type == core::FileType::kSymlink) {
      // MS-SMB2 3.3.5.9: a symbolic link on the way ends the walk (STOPPED_ON_SYMLINK); the
      // client resolves it and asks again.
      w.leaf = entry_name;
      w.attr = *a;
      w.unparsed =
          static_cast<uint16_t>(std::min<size_t>(wire::Utf16Size(path.substr(end)), UINT16_MAX));
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

// What a CREATE's disposition does to a file (or stream) that exists: supersede or overwrite
// it (both truncate), or open it. (FILE_CREATE is refused before.)
uint32_t ActionOnExisting(uint32_t disposition) {
  switch (disposition) {
    case wire::kSupersede:
      return wire::kActionSuperseded;
    case wire::kOverwrite:
    case wire::kOverwriteIf:
      return wire::kActionOverwritten;
    default:
      return wire::kActionOpened;
  }
}

// MS-SMB2 2.2.2.2.1: STATUS_STOPPED_ON_SYMLINK with the link's target, for the client to
// follow (CREATE does not follow symbolic links itself).
Reply StoppedOnSymlink(core::Vfs& vfs, const core::Caller& caller, const core::Attr& link,
                       uint16_t unparsed, uint16_t dialect) {
  Result<std::string> target = vfs.ReadLink(caller, link.id, nullptr);
  if (!target.ok()) return Fail(target.status());
  Reply r;
  r.status = wire::kStatusStoppedOnSymlink;
  wire::EncodeSymlinkErrorResponse(SymlinkReparseOf(*target), unparsed, dialect >= wire::kSmb311,
                                   r.body);
  return r;
}

}  // namespace

// The answer to a CREATE's MxAc context (MS-SMB2 2.2.14.2.5): success, and the maximal access.
Bytes MaximalAccessContext(uint32_t maximal) {
  Bytes data;
  wire::LeWriter w(data);
  w.U32(0);
  w.U32(maximal);
  return data;
}

// What `caller` may do to the object: MAXIMUM_ALLOWED's answer and MxAc's.
uint32_t MaximalAccess(core::Vfs& vfs, const core::Caller& caller, const core::Attr& attr,
                       bool writable) {
  // A file with an ACL: what the ACL allows, and DELETE, which only the removal checks.
  Result<std::optional<uint32_t>> by_acl = vfs.AclAccess(caller, attr.id);
  if (by_acl.ok() && by_acl->has_value()) {
    uint32_t mask = **by_acl | core::kDeleteAccess;
    if (!writable) mask &= ~kWriteBits;
    return mask;
  }
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
    // The owner may do everything (and change the mode for what the bits do not give).
    mask |= wire::kFileAllAccess;
  } else if (bits.ok() && (*bits & core::kAccessModify)) {
    mask |= core::kWriteAttributes;
  }
  // Deleting needs write permission on the parent, which only the removal checks: offered.
  mask |= core::kDeleteAccess;
  if (!writable) mask &= ~kWriteBits;
  return mask;
}

namespace {

// The session's open with volatile id `id` (the source of a server-side copy or block clone,
// named in an FSCTL's input); null when the session has none.
std::shared_ptr<Open> SessionOpen(Session& session, uint64_t id) {
  MutexLock lock(&session.mu);
  auto it = session.opens.find(id);
  return it == session.opens.end() ? nullptr : it->second;
}

// A CREATE of a named stream (`name.stream`) of the file `name.path` (docs/streams.md). Fills
// `open` and `resp`; returns the failure otherwise. The file is made first when the
// disposition creates and it does not exist. No oplock or lease is granted on a stream.
std::optional<Reply> CreateStream(ServerContext& server, uint16_t dialect,
                                  const wire::CreateRequest& req, core::Vfs& vfs,
                                  const core::Caller& caller, const Tree& tree,
                                  const StreamPath& name, core::FileId root, Open& open,
                                  wire::CreateResponse& resp) {
  uint32_t status = 0;
  Result<Walked> walked = Walk(vfs, caller, root, name.path, false, &status);
  if (!walked.ok()) return Fail(status != 0 ? status : ToNtStatus(walked.status()));
  if (walked->unparsed) {
    return StoppedOnSymlink(vfs, caller, *walked->attr, *walked->unparsed, dialect);
  }
  // A stream is no directory.
  if (req.options & wire::kOptDirectory) return Fail(wire::kStatusNotADirectory);
  uint32_t access = MapGeneric(req.desired_access);
  const bool maximum = (access & wire::kMaximumAllowed) != 0;
  access &= ~wire::kMaximumAllowed;
  if ((access & wire::kAccessSystemSecurity) && !caller.is_root()) {
    return Fail(wire::kStatusPrivilegeNotHeld);
  }
  const uint32_t system_security = access & wire::kAccessSystemSecurity;
  access &= ~wire::kAccessSystemSecurity;
  if (!tree.writable && (access & kWriteBits & ~core::kDeleteAccess)) {
    return Fail(wire::kStatusAccessDenied);
  }
  const bool delete_on_close = (req.options & wire::kOptDeleteOnClose) != 0;
  if (delete_on_close) {
    if (!(access & core::kDeleteAccess)) return Fail(wire::kStatusInvalidParameter);
    if (!tree.writable) return Fail(wire::kStatusAccessDenied);
  }
  core::Attr attr;
  bool made_file = false;
  if (walked->attr) {
    attr = *walked->attr;
    if (attr.type == core::FileType::kSymlink && !(req.options & wire::kOptOpenReparsePoint)) {
      return StoppedOnSymlink(vfs, caller, attr, 0, dialect);
    }
    if (attr.type != core::FileType::kRegular && attr.type != core::FileType::kDirectory) {
      return Fail(wire::kStatusObjectNameInvalid);
    }
  } else {
    if (req.disposition == wire::kOpen || req.disposition == wire::kOverwrite) {
      return Fail(wire::kStatusObjectNameNotFound);
    }
    if (!tree.writable) return Fail(wire::kStatusAccessDenied);
    core::SetAttrs set;
    set.set_mode(0644);
    const uint32_t dos =
        req.file_attributes & (core::kDosHidden | core::kDosSystem | core::kDosArchive);
    if (dos != 0) set.set_dos_attributes(dos);
    core::OpenContext parent;
    Result<core::Attr> made = vfs.Create(caller, walked->parent, walked->leaf,
                                         core::CreateMode::kGuarded, set, 0, nullptr, &parent);
    if (!made.ok()) return Fail(made.status());
    attr = *made;
    made_file = true;
  }
  const uint32_t maximal = MaximalAccess(vfs, caller, attr, tree.writable);
  if (maximum) access |= maximal;
  if (access == 0) access = core::kReadAttributes;
  // The stream's data is the file's: what its permissions allow the caller.
  if (!made_file && (access & ~maximal & ~wire::kSynchronize) != 0) {
    return Fail(wire::kStatusAccessDenied);
  }
  // The file's open in the runtime, with no access and every share mode: it keeps the file
  // (an orphan once removed) while the stream is open, and refuses a file marked for deletion.
  Result<core::OpenTable::OpenId> file_open =
      vfs.OpenFile(caller, attr.id, 0, core::kShareAll, false, true);
  if (!file_open.ok()) return Fail(file_open.status());
  const auto fail = [&](uint32_t why) {
    (void)vfs.CloseFile(*file_open);
    return Fail(why);
  };
  Result<std::optional<std::string>> found = FindStream(vfs, caller, attr.id, name.stream);
  if (!found.ok()) return fail(ToNtStatus(found.status()));
  const std::string stored = found->value_or(name.stream);
  uint32_t action = wire::kActionOpened;
  bool truncate = false;
  if (found->has_value()) {
    if (req.disposition == wire::kCreateNew) return fail(wire::kStatusObjectNameCollision);
    action = ActionOnExisting(req.disposition);
    truncate = action != wire::kActionOpened;
    if (truncate && !tree.writable) return fail(wire::kStatusAccessDenied);
  } else {
    if (req.disposition == wire::kOpen || req.disposition == wire::kOverwrite) {
      return fail(wire::kStatusObjectNameNotFound);
    }
    if (!tree.writable) return fail(wire::kStatusAccessDenied);
    Status made = vfs.SetXattr(caller, attr.id, StreamXattr(stored), "", core::XattrSet::kCreate);
    if (made.code() == Errc::kExists) return fail(wire::kStatusObjectNameCollision);
    if (made.code() == Errc::kNameTooLong) return fail(wire::kStatusObjectNameInvalid);
    if (!made.ok()) return fail(ToNtStatus(made));
    action = wire::kActionCreated;
  }
  Result<StreamTable::Opened> opened =
      server.streams.Open(tree.share, attr.id.inode, stored, access,
                          req.share_access & core::kShareAll, delete_on_close);
  if (!opened.ok()) {
    if (action == wire::kActionCreated) (void)vfs.RemoveXattr(caller, attr.id, StreamXattr(stored));
    return fail(ToNtStatus(opened.status()));
  }
  uint64_t size = 0;
  if (truncate) {
    Status s = vfs.SetXattr(caller, attr.id, StreamXattr(stored), "", core::XattrSet::kAny);
    if (!s.ok()) {
      (void)server.streams.Close(opened->node, opened->id);
      return fail(ToNtStatus(s));
    }
  } else if (Result<std::string> v = vfs.GetXattr(caller, attr.id, StreamXattr(stored)); v.ok()) {
    size = v->size();
  }
  open.state_open = *file_open;
  open.via.open = *file_open;
  open.via.lock_owner = {open.id, core::LockFlavor::kWindows};
  open.via.holder = open.id;
  open.file = attr.id;
  open.access = access | system_security;
  open.stream = opened->node;
  open.stream_open = opened->id;
  {
    MutexLock lock(&open.mu);
    open.parent = walked->parent;
    open.leaf = walked->leaf;
    open.path = name.path + ":" + stored;
  }
  if (Result<core::Attr> again = vfs.GetAttr(caller, attr.id); again.ok()) attr = *again;
  resp.action = action;
  resp.times = TimesOf(attr);
  resp.allocation_size = size;
  resp.end_of_file = size;
  resp.attributes = DosAttributesOf(attr);
  for (const wire::CreateContext& c : req.contexts) {
    if (c.name == "MxAc") resp.contexts.emplace_back("MxAc", MaximalAccessContext(maximal));
  }
  return std::nullopt;
}

// READ and WRITE of an open of a named stream: the stream's value, read whole, changed and
// written back (a stream holds at most kMaxXattrValue bytes).
// Up to `length` bytes of the stream `open` is of, from `offset` (fewer at its end).
Result<Bytes> ReadStreamRange(core::Vfs& vfs, const core::Caller& caller, Open& open,
                              uint64_t offset, uint64_t length) {
  std::string name;
  {
    MutexLock lock(&open.stream->mu);
    name = open.stream->name;
  }
  Result<std::string> value = vfs.GetXattr(caller, open.file, StreamXattr(name));
  if (!value.ok() && value.status().code() != Errc::kNotFound) return value.status();
  const std::string_view data = value.ok() ? std::string_view(*value) : std::string_view();
  if (offset >= data.size()) return Bytes();
  const size_t n = static_cast<size_t>(std::min<uint64_t>(length, data.size() - offset));
  const auto* p = reinterpret_cast<const std::byte*>(data.data()) + offset;
  return Bytes(p, p + n);
}

Reply ReadStream(core::Vfs& vfs, const core::Caller& caller, Open& open,
                 const wire::ReadRequest& req) {
  Result<Bytes> data = ReadStreamRange(vfs, caller, open, req.offset, req.length);
  if (!data.ok()) return Fail(data.status());
  const size_t n = data->size();
  if ((n == 0 && req.length > 0) || n < req.minimum_count) return Fail(wire::kStatusEndOfFile);
  {
    MutexLock lock(&open.mu);
    open.position = req.offset + n;
  }
  Reply reply;
  wire::EncodeReadResponseHead(static_cast<uint32_t>(n), reply.body);
  reply.body.insert(reply.body.end(), data->begin(), data->end());
  return reply;
}

}  // namespace

uint32_t ChangeStream(core::Vfs& vfs, const core::Caller& caller, Open& open, uint64_t offset,
                      const ByteView* data, uint64_t size) {
  if (offset > core::kMaxXattrValue) return wire::kStatusDiskFull;
  const uint64_t end = data != nullptr ? offset + data->size() : size;
  if (end > core::kMaxXattrValue) return wire::kStatusDiskFull;
  MutexLock lock(&open.stream->mu);
  const std::string xattr = StreamXattr(open.stream->name);
  Result<std::string> value = vfs.GetXattr(caller, open.file, xattr);
  if (!value.ok() && value.status().code() != Errc::kNotFound) return ToNtStatus(value.status());
  std::string v = value.ok() ? std::move(*value) : std::string();
  if (data != nullptr) {
    if (v.size() < end) v.resize(end, '\0');
    if (!data->empty()) std::memcpy(v.data() + offset, data->data(), data->size());
  } else {
    v.resize(size, '\0');
  }
  Status s = vfs.SetXattr(caller, open.file, xattr, v, core::XattrSet::kAny);
  if (s.code() == Errc::kTooBig) return wire::kStatusDiskFull;
  return ToNtStatus(s);
}

namespace {

// Where the lsarpc pipe finds names: the server's SID map and the control plane's users and
// groups.
rpc::LsaAccounts LsaAccountsOf(const ServerContext& server) {
  rpc::LsaAccounts a{server.sids, server.options.netbios_name, server.options.domain, {}, {}, {},
                     {}};
  if (const core::UserDirectory* users = server.env.users) {
    a.user_name_of = [users](uint32_t uid) -> std::optional<std::string> {
      Result<core::UserRecord> u = users->FindUserByUid(uid);
      if (!u.ok()) return std::nullopt;
      return u->name;
    };
    a.group_name_of = [users](uint32_t gid) -> std::optional<std::string> {
      Result<core::GroupRecord> g = users->FindGroupByGid(gid);
      if (!g.ok()) return std::nullopt;
      return g->name;
    };
    a.uid_of = [users](std::string_view name) -> std::optional<uint32_t> {
      // Windows names are case-insensitive: as SESSION_SETUP finds its users.
      Result<core::UserRecord> u = users->FindWindowsUser(name);
      if (!u.ok()) return std::nullopt;
      return u->uid;
    };
    a.gid_of = [users](std::string_view name) -> std::optional<uint32_t> {
      Result<core::GroupRecord> g = users->FindGroup(name);
      if (!g.ok()) return std::nullopt;
      return g->gid;
    };
  }
  return a;
}

}  // namespace

Reply Connection::Create(Exchange& x) {
  Result<wire::CreateRequest> req = wire::DecodeCreate(x.message);
  if (!req.ok()) return Fail(wire::kStatusInvalidParameter);
  // Durable handles (durable.h): what the CREATE asks, or the open it reconnects. A reconnect
  // is decided by its context alone: the request's other fields are ignored (3.3.5.9.7).
  DurableAsk durable;
  std::optional<DurableReconnectAsk> reconnect;
  if (!x.tree->ipc) {
    if (uint32_t bad = ParseDurable(*req, dialect(), &durable, &reconnect); bad != 0) {
      return Fail(bad);
    }
    if (reconnect) {
      return ReconnectDurable(x, *req, reconnect->file_id,
                              reconnect->v2 ? &reconnect->create_guid : nullptr);
    }
    // A replay of a durable v2 CREATE (after a lost channel) gets the open it made.
    if (durable.v2) {
      if (std::optional<Reply> replayed = ReplayCreate(x, *req, durable)) {
        return std::move(*replayed);
      }
    }
  }
  // MS-SMB2 §3.3.5.9 and what Windows answers for each reserved bit.
  if (req->disposition > wire::kOverwriteIf) return Fail(wire::kStatusInvalidParameter);
  if (req->impersonation > 3) return Fail(kStatusBadImpersonationLevel);
  if (req->options & 0xFF000000u) return Fail(wire::kStatusInvalidParameter);
  if ((req->options & wire::kOptDirectory) && (req->options & wire::kOptNonDirectory)) {
    return Fail(wire::kStatusInvalidParameter);
  }
  if ((req->options & wire::kOptDirectory) && req->disposition != wire::kCreateNew &&
      req->disposition != wire::kOpen && req->disposition != wire::kOpenIf) {
    return Fail(wire::kStatusInvalidParameter);
  }
  // FILE_CREATE_TREE_CONNECTION, FILE_OPEN_BY_FILE_ID, FILE_RESERVE_OPFILTER.
  if (req->options & (0x80u | wire::kOptOpenByFileId | 0x00100000u)) {
    return Fail(wire::kStatusNotSupported);
  }
  if (req->desired_access & 0x0CE0FE00u) return Fail(wire::kStatusAccessDenied);  // reserved
  if (req->desired_access == 0) return Fail(wire::kStatusAccessDenied);
  // FILE_ATTRIBUTE_VOLUME, _DEVICE, _INTEGRITY_STREAM and everything above the known bits.
  if (req->file_attributes & 0xFFFF8048u) return Fail(wire::kStatusInvalidParameter);
  if (req->share_access & ~uint32_t{core::kShareAll}) return Fail(wire::kStatusInvalidParameter);
  if (!req->name.empty() && req->name.front() == '\\') return Fail(wire::kStatusInvalidParameter);
  // The POSIX create context ([POSIX-SMB2] 2.2.13.2): the mode of what the CREATE makes. Its
  // presence on a connection that negotiated the POSIX extensions makes the tree a POSIX one.
  std::optional<uint32_t> posix_mode;
  std::optional<AaplQuery> aapl;  // a Mac's query of Apple's extensions
  // SMB2_CREATE_EA_BUFFER (MS-SMB2 2.2.13.2.1): EAs for the file this CREATE makes or
  // overwrites, all checked before anything is made.
  std::optional<std::vector<wire::FullEa>> create_eas;
  // SMB2_CREATE_APP_INSTANCE_ID (MS-SMB2 2.2.13.2.13): StructureSize, Reserved, AppInstanceId.
  std::optional<std::array<std::byte, 16>> app_instance;
  std::optional<uint64_t> timewarp;  // TWrp: a FILETIME naming a snapshot
  for (const wire::CreateContext& c : req->contexts) {
    if (c.name == kAppInstanceIdTag && dialect() >= wire::kSmb300 && !x.tree->ipc) {
      if (c.data.size() < 20) return Fail(wire::kStatusInvalidParameter);
      std::array<std::byte, 16> id;
      std::memcpy(id.data(), c.data.data() + 4, 16);
      if (id != std::array<std::byte, 16>{}) app_instance = id;
    }
    if (c.name == "ExtA") {
      Result<std::vector<wire::FullEa>> eas = wire::DecodeFullEaList(c.data);
      if (!eas.ok()) return Fail(kStatusEaListInconsistent);
      for (const wire::FullEa& ea : *eas) {
        if (!ValidEaName(ea.name)) return Fail(kStatusInvalidEaName);
      }
      create_eas = std::move(*eas);
    }
    if (c.name == kAaplContextName) {
      Result<AaplQuery> q = ParseAaplQuery(c.data);
      if (!q.ok()) return Fail(wire::kStatusInvalidParameter);
      aapl = *q;
    }
    // SMB2_CREATE_TIMEWARP_TOKEN (MS-SMB2 2.2.13.2.7): a previous version, by its time.
    if (c.name == "TWrp") {
      if (c.data.size() < 8) return Fail(wire::kStatusInvalidParameter);
      timewarp = wire::LoadLe64(c.data.data());
    }
    if (c.name == PosixCreateContextTag()) {
      bool negotiated;
      {
        MutexLock lock(&mu_);
        negotiated = posix_;
      }
      if (!negotiated) continue;  // an unknown context to a client that did not negotiate
      if (c.data.size() < 4) return Fail(wire::kStatusInvalidParameter);
      posix_mode = wire::LoadLe32(c.data.data()) & 07777;
      if (!x.tree->ipc) x.tree->posix.store(true);
    }
  }
  const bool posix = x.tree->posix.load();
  const core::Caller caller = CallerOf(*x.session);
  // The name's stream part (docs/streams.md). On a POSIX tree ':' is an ordinary character.
  StreamPath name;
  const bool quota_index = !x.tree->ipc && EqualFolded(req->name, kQuotaIndexName);
  if (x.tree->ipc) {
    name.path = req->name;
  } else if (quota_index) {
    // NTFS's quota index, which Samba's smbcquotas opens to query and set quotas: the share's
    // root stands for it, since every open answers SMB2_0_INFO_QUOTA (quota_info.cc).
    name.path.clear();
  } else if (posix) {
    name.path = req->name;
    if (std::string_view(name.path).ends_with("::$DATA")) name.path.resize(name.path.size() - 7);
  } else {
    Result<StreamPath> split = SplitStreamPath(req->name);
    if (!split.ok()) return Fail(wire::kStatusObjectNameInvalid);
    name = std::move(*split);
  }

  auto open = std::make_shared<Open>();
  open->id = NewId();
  open->tree = x.tree;
  {
    MutexLock lock(&open->mu);
    open->channel_sequence = static_cast<uint16_t>(x.header.status & 0xFFFF);  // 3.3.5.9
  }
  wire::CreateResponse resp;
  resp.handle = {open->id, open->id};

  if (x.tree->ipc) {
    std::string pipe = FoldCase(req->name);
    if (pipe.starts_with("pipe\\")) pipe = pipe.substr(5);
    if (pipe == "lsarpc" || pipe == "lsass") {
      open->pipe = std::make_unique<rpc::LsarpcPipe>(LsaAccountsOf(server_), caller.user_name);
    } else if (pipe != "srvsvc") {
      return Fail(wire::kStatusObjectNameNotFound);
    }
    core::ShareTable* shares = server_.env.shares;
    if (!open->pipe)
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
              if (Result<core::ShareUse> use = shares->Use(s->id()); use.ok()) {
                // SHI1005_FLAGS_ACCESS_BASED_DIRECTORY_ENUM (MS-SRVS 2.2.4.29).
                if (use->vfs().options().smb.access_based_enumeration) info.flags = 0x800;
              }
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
  } else if (!name.stream.empty()) {
    Result<core::ShareUse> use = UseShare(server_, x.tree->share);
    if (!use.ok()) return Fail(ShareUseStatus(use.status()));
    if (create_eas) return Fail(wire::kStatusInvalidParameter);  // EAs are the file's
    Result<core::FileId> root = RootAt(use->vfs(), caller, timewarp);
    if (!root.ok()) return Fail(ToNtStatus(root.status()));
    if (std::optional<Reply> failed = CreateStream(server_, dialect(), *req, use->vfs(), caller,
                                                   *x.tree, name, *root, *open, resp)) {
      return std::move(*failed);
    }
  } else {
    Result<core::ShareUse> use = UseShare(server_, x.tree->share);
    if (!use.ok()) return Fail(ShareUseStatus(use.status()));
    core::Vfs& vfs = use->vfs();
    Result<core::FileId> root = RootAt(vfs, caller, timewarp);
    if (!root.ok()) return Fail(ToNtStatus(root.status()));
    uint32_t status = 0;
    Result<Walked> walked = Walk(vfs, caller, *root, name.path, posix, &status);
    if (!walked.ok()) return Fail(status != 0 ? status : ToNtStatus(walked.status()));
    if (walked->unparsed) {
      return StoppedOnSymlink(vfs, caller, *walked->attr, *walked->unparsed, dialect());
    }
    const bool want_dir = (req->options & wire::kOptDirectory) != 0;
    // "dir::$DATA" names a data stream, which no directory is (MS-FSA 2.1.5.1).
    if (want_dir && name.data_suffix) return Fail(wire::kStatusNotADirectory);
    uint32_t access = MapGeneric(req->desired_access);
    const bool maximum = (access & wire::kMaximumAllowed) != 0;
    access &= ~wire::kMaximumAllowed;
    // The SACL is root's (Windows gives SeSecurityPrivilege to administrators only).
    const uint32_t system_security = access & wire::kAccessSystemSecurity;
    if (system_security && !caller.is_root()) return Fail(wire::kStatusPrivilegeNotHeld);
    access &= ~wire::kAccessSystemSecurity;
    if (!x.tree->writable && (access & kWriteBits & ~core::kDeleteAccess)) {
      return Fail(wire::kStatusAccessDenied);
    }
    if (req->options & wire::kOptDeleteOnClose) {
      if (!(access & core::kDeleteAccess)) return Fail(wire::kStatusInvalidParameter);
      if (!x.tree->writable) return Fail(wire::kStatusAccessDenied);
    }
    core::Attr attr;
    bool set_read_only = false;  // a new file made read-only once its creator has it open
    const uint64_t parent_holder = ParentHolderOf(*req);
    uint32_t action = wire::kActionOpened;
    bool truncate = false;
    if (walked->attr) {
      attr = *walked->attr;
      // MS-SMB2 3.3.5.9: a disconnected persistent open keeps the file for its client.
      if (PersistentOpenWaits(server_, x.tree->share, attr.id.inode)) {
        return Fail(wire::kStatusFileNotAvailable);
      }
      // MS-SMB2 3.3.5.9.13: the same application instance's opens of the file from another
      // client (its earlier incarnation) close first, without a break.
      if (app_instance) CloseAppInstance(x.tree->share, attr.id.inode, *app_instance);
      switch (req->disposition) {
        case wire::kCreateNew:
          return Fail(wire::kStatusObjectNameCollision);
        default:
          break;
      }
      // MS-FSCC 2.1.2.4, MS-SMB2 3.3.5.9: a symbolic link is opened itself only with
      // FILE_OPEN_REPARSE_POINT; otherwise the client is told to follow it.
      if (attr.type == core::FileType::kSymlink && !(req->options & wire::kOptOpenReparsePoint)) {
        return StoppedOnSymlink(vfs, caller, attr, 0, dialect());
      }
      action = ActionOnExisting(req->disposition);
      truncate = action != wire::kActionOpened;
      const bool is_dir = attr.type == core::FileType::kDirectory;
      if (name.data_suffix && is_dir) return Fail(wire::kStatusFileIsADirectory);
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
      // A directory cannot be temporary (MS-FSA 2.1.5.1.2.1).
      if (want_dir && (req->file_attributes & 0x100)) return Fail(wire::kStatusInvalidParameter);
      set_read_only = !want_dir && (req->file_attributes & core::kDosReadOnly);
      if (dos != 0) set.set_dos_attributes(dos);
      Result<core::Attr> made = Status(Errc::kInternal);
      core::OpenContext parent;
      parent.parent_holder = parent_holder;
      if (want_dir) {
        set.set_mode(posix_mode.value_or(0755));
        made = vfs.Mkdir(caller, walked->parent, walked->leaf, set, nullptr, &parent);
      } else {
        set.set_mode(posix_mode.value_or(0644));
        made = vfs.Create(caller, walked->parent, walked->leaf, core::CreateMode::kGuarded, set, 0,
                          nullptr, &parent);
      }
      if (!made.ok()) return Fail(made.status());
      attr = *made;
      action = wire::kActionCreated;
    }
    // Caching others hold that this open conflicts with is broken first; the open waits
    // (asynchronously) for the holders to acknowledge, or for the breaks' deadline.
    std::shared_ptr<Lease> lease;
    if (dialect() >= wire::kSmb210 && req->oplock == wire::kOplockLease) {
      Result<std::shared_ptr<Lease>> l = LeaseFor(*req, x.tree->share, attr.id.inode);
      if (!l.ok()) return Fail(wire::kStatusInvalidParameter);
      lease = *l;
    }
    const uint64_t holder = lease ? lease->holder : open->id;
    // MS-FSA 2.1.5.1.2: an open for attributes alone (a "stat open") breaks no oplock.
    // (Windows also counts READ_CONTROL alone as one for leases but not for oplocks; the state
    // manager does not tell the two apart: smb2.lease.statopen4 stays a known failure.)
    const bool stat_open =
        !truncate &&
        (access & ~(core::kReadAttributes | core::kWriteAttributes | wire::kSynchronize)) == 0;
    // When breaks must come first: the lease this request made is not bound until the open
    // succeeds, and the wait runs the CREATE anew.
    const auto after_breaks = [&](core::CacheOp op) -> std::optional<Reply> {
      Exchange again = x;
      std::optional<Reply> pending =
          BreaksFirst(x.tree->share, attr.id.inode, holder, op,
                      [this, again]() mutable -> Reply { return Create(again); });
      if (pending && lease) {
        MutexLock lock(&server_.leases_mu);
        if (lease->opens == 0 && lease->grant == 0) {
          const std::array<std::byte, 16> guid = client_guid();
          server_.leases.erase({guid, lease->key});
        }
      }
      // While it waits, a replay of this durable v2 CREATE is told to come back later
      // (STATUS_FILE_NOT_AVAILABLE, ReplayCreate); the wait's end lets it find the open.
      // The mark goes when the wait ends, however it ends (answered, cancelled, or dropped
      // with its connection).
      if (pending && pending->wait && durable.v2) {
        auto mark = std::make_shared<PendingCreate>(server_, client_guid(), durable.create_guid);
        pending->wait->finish =
            [mark, finish = std::move(pending->wait->finish)](Status s) mutable -> Reply {
          mark.reset();  // before the CREATE runs anew (it may wait again, with a mark of its own)
          return finish(s);
        };
      }
      return pending;
    };
    const uint32_t maximal = MaximalAccess(vfs, caller, attr, x.tree->writable);
    if (maximum) access |= maximal;
    if (access == 0) access = core::kReadAttributes;
    const bool is_dir = attr.type == core::FileType::kDirectory;
    // MS-FSA 2.1.5.1.2.1: an open of the default stream for deletion must be shared by the
    // opens of the file's named streams (which the runtime's share modes do not see).
    if (((access & core::kDeleteAccess) || (req->options & wire::kOptDeleteOnClose)) &&
        !server_.streams.AllowsDelete(x.tree->share, attr.id.inode)) {
      return Fail(wire::kStatusSharingViolation);
    }
    // The runtime checks the permission bits of what the open asks for (for a directory:
    // list = read, add = write, traverse = execute) and the share modes of the file's opens.
    Result<core::OpenTable::OpenId> id =
        vfs.OpenFile(caller, attr.id, access, req->share_access & core::kShareAll,
                     (req->options & wire::kOptDeleteOnClose) != 0, action == wire::kActionCreated);
    if (!id.ok()) {
      // MS-FSA 2.1.5.1.2.1: a sharing violation first breaks the handle caching of the file's
      // other holders (their cached opens may be what stands in the way: a client closes
      // them when told); the CREATE runs anew once they answer.
      if (id.status().code() == Errc::kShareViolation) {
        if (std::optional<Reply> pending = after_breaks(core::CacheOp::kRemove)) {
          return std::move(*pending);
        }
      }
      if (id.status().code() == Errc::kAccess && (req->options & wire::kOptDeleteOnClose) &&
          (attr.dos_attributes & core::kDosReadOnly)) {
        return Fail(wire::kStatusCannotDelete);
      }
      return Fail(id.status());
    }
    // MS-FSA 2.1.5.1.2: the access and share modes are checked first (a refused open breaks
    // nothing but the handle caching above); an open that may go on then breaks what the others
    // cache that it conflicts with, and runs anew (its open given back meanwhile) once they
    // answered.
    if (action != wire::kActionCreated && !stat_open) {
      // An overwrite or supersede takes everything the others cache: the data, the attributes
      // and the handle (smb2.lease.breaking2: RWH is broken to none).
      std::vector<core::CacheOp> ops{truncate ? core::CacheOp::kOverwrite : core::CacheOp::kOpen};
      // POSIX unlink: the name goes when this open closes, whatever the others cache; their
      // handle caching is broken now, while the client can wait (a close cannot).
      if (posix && (req->options & wire::kOptDeleteOnClose)) ops.push_back(core::CacheOp::kRemove);
      for (const core::CacheOp op : ops) {
        if (std::optional<Reply> pending = after_breaks(op)) {
          (void)vfs.WithdrawOpen(*id);
          return std::move(*pending);
        }
      }
    }
    open->state_open = *id;
    open->via.open = *id;
    open->via.lock_owner = {open->id, core::LockFlavor::kWindows};
    open->via.holder = holder;
    open->via.parent_holder = parent_holder;
    open->lease = lease;
    open->file = attr.id;
    open->access = access | system_security;
    open->share_access = req->share_access & core::kShareAll;
    open->directory = is_dir;
    open->delete_on_close = (req->options & wire::kOptDeleteOnClose) != 0;
    {
      MutexLock lock(&open->mu);
      open->parent = walked->parent;
      open->leaf = walked->leaf;
      open->path = name.path;
      open->posix_delete = posix && (req->options & wire::kOptDeleteOnClose);
    }
    if (set_read_only) {
      core::SetAttrs set;
      set.set_dos_attributes(attr.dos_attributes | core::kDosReadOnly);
      if (vfs.SetAttr(caller, attr.id, set, nullptr, nullptr, &open->via).ok()) {
        attr.dos_attributes |= core::kDosReadOnly;
      }
    }
    if (truncate) {
      core::SetAttrs set;
      set.set_size(0);
      Status s = vfs.SetAttr(caller, attr.id, set, nullptr, nullptr, &open->via);
      if (!s.ok()) {
        (void)vfs.CloseFile(*id);
        return Fail(s);
      }
      // Overwriting a file removes its named streams too, as Windows does
      // (smb2.streams.create-disposition); those open elsewhere stay while they are open.
      if (Status gone = RemoveStreams(vfs, caller, server_.streams, x.tree->share, attr.id);
          !gone.ok()) {
        (void)vfs.CloseFile(*id);
        return Fail(gone);
      }
      if (Result<core::Attr> again = vfs.GetAttr(caller, attr.id); again.ok()) attr = *again;
    }
    if (create_eas && action != wire::kActionOpened) {
      Status s = SetEas(vfs, caller, attr.id, *create_eas);
      if (!s.ok()) {
        (void)vfs.CloseFile(*id);
        return Fail(EaStatus(s));
      }
    }
    resp.action = action;
    resp.times = TimesOf(attr);
    resp.allocation_size = AllocationOf(attr);
    resp.end_of_file = is_dir ? 0 : attr.size;
    resp.attributes = DosAttributesOf(attr);
    // The quota index is a hidden system directory, marked for archiving, with no times, as
    // Windows answers its open (smbtorture's smb2.create.quota-fake-file).
    if (quota_index) {
      resp.attributes |= 0x2 | 0x4 | 0x20;
      resp.times = {};
    }
    const std::optional<std::pair<LeaseKey, uint8_t>> lease_request = LeaseRequestOf(*req);
    GrantCaching(x, *open, *req, lease_request, vfs.state(), &resp);
    uint8_t lease_state = 0;
    if (open->lease) {
      MutexLock lock(&server_.leases_mu);
      lease_state = open->lease->state;
    }
    const bool persistent_allowed =
        x.tree->continuously_available && persistent_handles() && server_.env.handles != nullptr;
    GrantDurable(durable, persistent_allowed, *open, lease_state, &resp);
    if (open->persistent && !PersistOpen(server_, *open, caller, client_guid()).ok()) {
      // The state store could not keep it: the open is answered as what it can be without
      // (durable with a batch oplock or a handle lease, or not durable), never as persistent
      // while nothing would bring it back after a restart. MS-SMB2 3.3.5.9.10 leaves granting
      // persistence to the server.
      std::erase_if(resp.contexts, [](const auto& c) { return c.first == "DH2Q"; });
      open->durable = false;
      open->persistent = false;
      GrantDurable(durable, /*persistent_allowed=*/false, *open, lease_state, &resp);
    }
    open->create_action = action;
    if (app_instance) open->app_instance = *app_instance;
    // Any DH2Q makes the open replay eligible, durable or not (MS-SMB2 3.3.5.9.10).
    if (durable.v2) {
      open->create_guid = durable.create_guid;
      open->replay_eligible.store(true);
      MutexLock lock(&server_.replay_mu);
      server_.replayable[{client_guid(), open->create_guid}] = open;
    }
    for (const wire::CreateContext& c : req->contexts) {
      if (c.name == "MxAc") {
        resp.contexts.emplace_back("MxAc", MaximalAccessContext(maximal));
      } else if (c.name == PosixCreateContextTag() && posix_mode) {
        Bytes data;
        AppendPosixCreateResponse(attr, data);
        resp.contexts.emplace_back(std::string(PosixCreateContextTag()), std::move(data));
      } else if (c.name == kAaplContextName && aapl) {
        // The connection's directory listings carry Apple's attributes from now on when the
        // client asked for them.
        const uint64_t caps = AaplServerCapsFor(aapl->client_caps);
        aapl_caps_.store(caps);
        resp.contexts.emplace_back(
            std::string(kAaplContextName),
            EncodeAaplReply(*aapl, caps, kAaplVolumeCapsOffered | (posix ? kAaplCaseSensitive : 0),
                            "DittoFS"));
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
  // The connection may have closed meanwhile (OnClose, on the I/O thread, closed the opens its
  // sessions had): one added after that would outlive the connection, share modes and all.
  // Whoever takes it out of the session closes it.
  bool closed;
  {
    MutexLock lock(&mu_);
    closed = closed_;
  }
  if (closed) {
    bool ours;
    {
      MutexLock lock(&x.session->mu);
      ours = x.session->opens.erase(open->id) > 0;
    }
    if (ours) CloseOpen(*x.session, *open);
    return Fail(wire::kStatusFileClosed);  // nobody reads it
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
    if (Result<core::ShareUse> use = UseShare(server_, open->tree->share); use.ok()) {
      if (Result<core::Attr> a = use->vfs().GetAttr(CallerOf(*x.session), open->file); a.ok()) {
        resp.flags = wire::kClosePostQueryAttrib;
        resp.times = TimesOf(*a);
        resp.allocation_size = AllocationOf(*a);
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
    Result<core::ShareUse> use = UseShare(server_, (*open)->tree->share);
    if (!use.ok()) return Fail(ShareUseStatus(use.status()));
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
  Result<core::ShareUse> use = UseShare(server_, open.tree->share);
  if (!use.ok()) return Fail(ShareUseStatus(use.status()));
  if (open.stream) return ReadStream(use->vfs(), CallerOf(*x.session), open, *req);
  Result<core::ReadResult> r =
      use->vfs().Read(CallerOf(*x.session), open.file, req->offset, req->length, &open.via);
  if (!r.ok()) return Fail(r.status());
  const size_t n = r->data.size();
  if ((n == 0 && req->length > 0) || n < req->minimum_count) return Fail(wire::kStatusEndOfFile);
  {
    MutexLock lock(&open.mu);
    open.position = req->offset + n;  // FilePositionInformation follows the last I/O
  }
  wire::EncodeReadResponseHead(static_cast<uint32_t>(n), reply.body);
  reply.payload = std::move(r->data);
  return reply;
}

Reply Connection::Write(Exchange& x) {
  Result<wire::WriteRequest> req = wire::DecodeWrite(x.message);
  if (!req.ok()) return Fail(wire::kStatusInvalidParameter);
  Result<std::shared_ptr<Open>> found = FindOpen(x, req->handle);
  if (!found.ok()) return Fail(OpenLookupStatus(found.status()));
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
  Result<core::ShareUse> use = UseShare(server_, open.tree->share);
  if (!use.ok()) return Fail(ShareUseStatus(use.status()));
  if (open.stream) {
    const uint32_t status =
        ChangeStream(use->vfs(), CallerOf(*x.session), open, req->offset, &req->data, 0);
    if (status != wire::kStatusSuccess) return Fail(status);
    {
      MutexLock lock(&open.mu);
      open.position = req->offset + req->data.size();
    }
    wire::EncodeWriteResponse(static_cast<uint32_t>(req->data.size()), reply.body);
    return reply;
  }
  const core::Stability stability = (req->flags & wire::kWriteFlagThrough)
                                        ? core::Stability::kFileSync
                                        : core::Stability::kUnstable;
  Result<core::WriteResult> w = use->vfs().Write(CallerOf(*x.session), open.file, req->offset,
                                                 req->data, stability, nullptr, &open.via);
  if (!w.ok()) {
    // Another holder's cached grant is being broken: the write waits for it, then runs anew.
    if (w.status().code() == Errc::kLocked) {
      Exchange again = x;
      if (std::optional<Reply> pending =
              BreaksFirst(open.tree->share, open.file.inode, open.via.holder, core::CacheOp::kWrite,
                          [this, again]() mutable -> Reply { return Write(again); })) {
        return std::move(*pending);
      }
    }
    return Fail(w.status());
  }
  open.modified.store(true);
  NoteModified(use->vfs(), open, core::changed::kLastWrite | core::changed::kSize);
  {
    MutexLock lock(&open.mu);
    open.position = req->offset + req->data.size();
  }
  wire::EncodeWriteResponse(static_cast<uint32_t>(req->data.size()), reply.body);
  return reply;
}

namespace {

// Whether `open` was closed while `taken` were being locked for it; if so they are unlocked
// again: its close released its locks before these were taken, and nothing else would.
bool GaveBackAfterClose(Open& open, core::LockTable& table,
                        const std::vector<core::LockRequest>& taken) {
  if (!open.closed.load()) return false;
  for (const core::LockRequest& t : taken) (void)table.Unlock(t);
  return true;
}

}  // namespace

Reply Connection::Lock(Exchange& x) {
  Result<wire::LockRequest> req = wire::DecodeLock(x.message);
  if (!req.ok()) return Fail(wire::kStatusInvalidParameter);
  Result<std::shared_ptr<Open>> found = FindOpen(x, req->handle);
  if (!found.ok()) return Fail(wire::kStatusFileClosed);
  Open& open = **found;
  if (open.state_open == 0 || open.directory) return Fail(wire::kStatusInvalidParameter);
  Result<core::ShareUse> use = UseShare(server_, open.tree->share);
  if (!use.ok()) return Fail(ShareUseStatus(use.status()));
  core::LockTable& locks = use->vfs().state().locks;

  // §3.3.5.14: lock sequences. On a durable open, or a connection that may have several
  // channels, a LOCK the client sends again (after a lost channel) is known by its
  // LockSequenceIndex (1 to 64) and LockSequenceNumber: one that succeeded already succeeds
  // without being done twice.
  bool sequenced;
  {
    MutexLock lock(&mu_);
    sequenced = dialect_ != wire::kSmb202 &&
                (open.durable || (server_.options.multichannel && dialect_ >= wire::kSmb300 &&
                                  (client_capabilities_ & wire::kCapMultiChannel)));
  }
  const uint32_t sequence_index = req->lock_sequence >> 4;
  const auto sequence_number = static_cast<uint8_t>(req->lock_sequence & 0xF);
  sequenced = sequenced && sequence_index >= 1 && sequence_index <= kLockSequences;
  if (sequenced) {
    MutexLock lock(&open.mu);
    uint8_t& entry = open.lock_sequence[sequence_index - 1];
    if (entry == sequence_number) {
      Reply replayed;
      wire::EncodeEmptyResponse(replayed.body);
      return replayed;
    }
    entry = kNoLockSequence;  // until this one succeeds
  }
  std::shared_ptr<Open> held = *found;
  // Records the request's sequence once it succeeded.
  const auto succeeded = [held, sequenced, sequence_index, sequence_number] {
    if (!sequenced) return;
    MutexLock lock(&held->mu);
    held->lock_sequence[sequence_index - 1] = sequence_number;
  };

  // §3.3.5.14: a request either unlocks ranges or takes them, all or none.
  const bool unlocking = (req->locks[0].flags & wire::kLockUnlock) != 0;
  if (!unlocking) {
    // An open's own level II oplock goes too when the file has other opens (smb2.oplock.brl1,
    // brl3: Windows breaks it); a lease, or the file's only open, keeps its own.
    const bool own_too =
        !open.lease && open.grant != 0 && use->vfs().state().opens.open_count(open.file.inode) > 1;
    use->vfs().state().LockRequested(open.file.inode,
                                     own_too ? core::kAnonymousOwner : open.via.holder);
  }
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
    Status s = use->vfs().state().Lock(lr);
    if (!s.ok() && s.code() == Errc::kLocked && req->locks.size() == 1 &&
        !(e.flags & wire::kLockFailImmediately)) {
      // A blocking lock (§3.3.5.14.2): it waits, async, until the range is free, the client
      // cancels it, or its open goes.
      std::shared_ptr<core::Share> share = server_.env.shares->ById(open.tree->share);
      if (!share) return Fail(wire::kStatusNetworkNameDeleted);
      auto wait = std::make_shared<Wait>();
      wait->start = [share, lr](std::function<void(Status)> resume) -> std::function<bool()> {
        core::LockTable& table = share->state().locks;
        // No deadline of its own: Windows lets a blocking lock wait until it is cancelled.
        Result<core::LockTable::WaitId> id =
            table.LockOrWait(lr, std::numeric_limits<int64_t>::max(), resume);
        if (!id.ok()) {
          resume(id.status());
          return nullptr;
        }
        if (*id == 0) {
          resume(Status::Ok());
          return nullptr;
        }
        const core::LockTable::WaitId w = *id;
        return [share, w] { return share->state().locks.Cancel(w); };
      };
      wait->finish = [share, lr, held, succeeded](Status st) -> Reply {
        // Granted after its open was closed (a tree disconnect, a logoff): the range goes back
        // at once, and the answer is still success, as Windows gives (smb2.lock.cancel-tdis).
        if (st.ok()) (void)GaveBackAfterClose(*held, share->state().locks, {lr});
        if (st.ok()) {
          succeeded();
          Reply done;
          wire::EncodeEmptyResponse(done.body);
          return done;
        }
        if (st.code() == Errc::kBusy) return Fail(wire::kStatusCancelled);
        return Fail(wire::kStatusLockNotGranted);
      };
      Reply pending;
      pending.wait = std::move(wait);
      return pending;
    }
    if (!s.ok()) {
      for (const auto& t : taken) (void)locks.Unlock(t);
      if (s.code() == Errc::kInvalid) return Fail(wire::kStatusInvalidLockRange);
      // MS-FSA 2.1.5.7: LOCK_NOT_GRANTED when the client said not to wait, else (a request of
      // several ranges, which cannot wait) FILE_LOCK_CONFLICT.
      return Fail((e.flags & wire::kLockFailImmediately) ? wire::kStatusLockNotGranted
                                                         : wire::kStatusFileLockConflict);
    }
    taken.push_back(lr);
  }
  if (GaveBackAfterClose(open, locks, taken)) return Fail(wire::kStatusFileClosed);
  succeeded();
  // Its locks, when persistent (a failure is logged; the record keeps the locks it had).
  (void)PersistOpen(server_, open, CallerOf(*x.session), client_guid());
  Reply reply;
  wire::EncodeEmptyResponse(reply.body);
  return reply;
}

Reply Connection::FileControl(Exchange& x, Open& open, const wire::IoctlRequest& req) {
  if (open.pipe) return Fail(wire::kStatusInvalidDeviceRequest);
  // The controls below that touch data act on the file's default stream: of them, only
  // server-side copy is served through an open of a named stream.
  if (open.stream && req.ctl_code != wire::kFsctlSrvRequestResumeKey &&
      req.ctl_code != wire::kFsctlCreateOrGetObjectId && req.ctl_code != wire::kFsctlSrvCopyChunk &&
      req.ctl_code != wire::kFsctlSrvCopyChunkWrite) {
    return Fail(wire::kStatusNotSupported);
  }
  Result<core::ShareUse> use = UseShare(server_, open.tree->share);
  if (!use.ok()) return Fail(ShareUseStatus(use.status()));
  core::Vfs& vfs = use->vfs();
  const core::Caller caller = CallerOf(*x.session);
  Bytes output;
  wire::LeWriter w(output);
  Reply reply;
  switch (req.ctl_code) {
    case wire::kFsctlSrvRequestResumeKey: {
      // MS-SMB2 2.2.32.3: a key naming this open, for SRV_COPYCHUNK of another (our ids are
      // random, so the key cannot be guessed for another session's open).
      w.U64(open.id);
      w.U64(open.id);
      w.U64(x.session->id);
      w.U32(0);  // ContextLength
      w.U32(0);
      break;
    }
    case wire::kFsctlSrvCopyChunk:
    case wire::kFsctlSrvCopyChunkWrite: {
      // Server-side copy (§3.3.5.15.6): chunks read from the open the key names, written to
      // this one, all through the runtime. Limits as Windows: 256 chunks, 1 MiB each, 16 MiB.
      constexpr uint32_t kMaxChunks = 256, kMaxChunk = 1u << 20, kMaxTotal = 16u << 20;
      const auto limits = [&] {
        Reply r;
        r.status = wire::kStatusInvalidParameter;
        Bytes out;
        wire::LeWriter lw(out);
        lw.U32(kMaxChunks);
        lw.U32(kMaxChunk);
        lw.U32(kMaxTotal);
        wire::EncodeIoctlResponse(req.ctl_code, req.handle, out, r.body);
        return r;
      };
      wire::LeReader r(req.input);
      const uint64_t src_id = r.U64();
      r.U64();
      const uint64_t src_session = r.U64();
      const uint32_t count = r.U32();
      r.U32();
      if (!r.ok()) return Fail(wire::kStatusInvalidParameter);
      if (count > kMaxChunks) return limits();
      struct Chunk {
        uint64_t from, to;
        uint32_t length;
      };
      std::vector<Chunk> chunks;
      uint64_t total = 0;
      for (uint32_t i = 0; i < count; ++i) {
        Chunk c{r.U64(), r.U64(), r.U32()};
        r.U32();
        if (c.length == 0 || c.length > kMaxChunk) return limits();
        total += c.length;
        chunks.push_back(c);
      }
      if (!r.ok()) return Fail(wire::kStatusInvalidParameter);
      if (total > kMaxTotal) return limits();
      if (src_session != x.session->id) return Fail(wire::kStatusObjectNameNotFound);
      std::shared_ptr<Open> src = SessionOpen(*x.session, src_id);
      if (!src || src->pipe || src->tree->share != open.tree->share) {
        return Fail(wire::kStatusObjectNameNotFound);
      }
      if (!(src->access & core::kReadData)) return Fail(wire::kStatusAccessDenied);
      if (!(open.access & core::kWriteData) ||
          (req.ctl_code == wire::kFsctlSrvCopyChunk && !(open.access & core::kReadData))) {
        return Fail(wire::kStatusAccessDenied);
      }
      uint32_t written = 0, bytes = 0;
      for (const Chunk& c : chunks) {
        // Within one file, overlapping ranges copy as a memmove would (the runtime's copy
        // refuses them): they go the read-then-write way below.
        const bool overlap =
            src->file == open.file && c.from < c.to + c.length && c.to < c.from + c.length;
        if (!src->stream && !open.stream && !overlap) {
          // File data to file data: the runtime's copy, by reference where the store shares
          // chunks (the same path as NFSv4.2's COPY and CLONE).
          Result<uint64_t> n = vfs.CopyRange(caller, src->file, c.from, open.file, c.to, c.length,
                                             nullptr, &src->via, &open.via);
          if (!n.ok()) {
            // Past the source's end: MS-FSA 2.1.5.10.x answers end of file.
            return Fail(n.status().code() == Errc::kInvalid ? wire::kStatusEndOfFile
                                                            : ToNtStatus(n.status()));
          }
          open.modified.store(true);
          ++written;
          bytes += c.length;
          continue;
        }
        // Either side may be a named stream (its xattr value) or the file's data.
        Bytes flat;
        if (src->stream) {
          Result<Bytes> data = ReadStreamRange(vfs, caller, *src, c.from, c.length);
          if (!data.ok()) return Fail(ToNtStatus(data.status()));
          flat = std::move(*data);
        } else {
          Result<core::ReadResult> data = vfs.Read(caller, src->file, c.from, c.length, &src->via);
          if (!data.ok()) return Fail(ToNtStatus(data.status()));
          flat.reserve(data->data.size());
          for (ByteView p : data->data.pieces) flat.insert(flat.end(), p.begin(), p.end());
        }
        if (flat.size() < c.length) return Fail(wire::kStatusEndOfFile);  // past the source's end
        if (open.stream) {
          const ByteView piece(flat);
          const uint32_t status = ChangeStream(vfs, caller, open, c.to, &piece, 0);
          if (status != wire::kStatusSuccess) return Fail(status);
        } else {
          Result<core::WriteResult> wr = vfs.Write(caller, open.file, c.to, flat,
                                                   core::Stability::kUnstable, nullptr, &open.via);
          if (!wr.ok()) return Fail(ToNtStatus(wr.status()));
        }
        open.modified.store(true);
        ++written;
        bytes += c.length;
      }
      w.U32(written);
      w.U32(0);  // ChunkBytesWritten: of a partly written chunk
      w.U32(bytes);
      break;
    }
    case wire::kFsctlCreateOrGetObjectId: {
      // MS-FSCC 2.3.8: an object id from the file's stable id.
      Result<core::Attr> a = vfs.GetAttr(caller, open.file);
      if (!a.ok()) return Fail(ToNtStatus(a.status()));
      w.U64(a->id.inode);
      w.U64(open.tree->share);
      w.Zeros(48);
      break;
    }
    case wire::kFsctlSetSparse: {
      // MS-FSA 2.1.5.10.35: files only; any of the write rights will do.
      if (open.directory) return Fail(wire::kStatusInvalidParameter);
      if (!(open.access & (core::kWriteData | core::kAppendData | core::kWriteAttributes))) {
        return Fail(wire::kStatusAccessDenied);
      }
      Result<core::Attr> a = vfs.GetAttr(caller, open.file);
      if (!a.ok()) return Fail(ToNtStatus(a.status()));
      const bool sparse = req.input.empty() || req.input[0] != std::byte{0};
      core::SetAttrs set;
      set.set_dos_attributes(sparse ? a->dos_attributes | core::kDosSparse
                                    : a->dos_attributes & ~core::kDosSparse);
      Status s = vfs.SetAttr(caller, open.file, set, nullptr, nullptr, &open.via);
      if (!s.ok()) return Fail(ToNtStatus(s));
      break;
    }
    case wire::kFsctlSetZeroData: {
      // MS-FSA 2.1.5.10.39: zeros over [FileOffset, BeyondFinalZero) of the file's data; the
      // file does not grow.
      wire::LeReader r(req.input);
      const auto from = static_cast<int64_t>(r.U64());
      const auto beyond = static_cast<int64_t>(r.U64());
      if (!r.ok() || from < 0 || beyond < 0 || from > beyond || open.directory) {
        return Fail(wire::kStatusInvalidParameter);
      }
      if (!(open.access & core::kWriteData)) return Fail(wire::kStatusAccessDenied);
      Result<core::Attr> a = vfs.GetAttr(caller, open.file);
      if (!a.ok()) return Fail(ToNtStatus(a.status()));
      if (a->type != core::FileType::kRegular) return Fail(wire::kStatusInvalidParameter);
      // In a sparse file, a hole punched in the stores (Vfs::Deallocate, as NFSv4.2's
      // DEALLOCATE). A file that is not sparse stays allocated, as on Windows: the zeros are
      // written, in bounded pieces. Locks and caching are honoured as a write's either way.
      if (a->dos_attributes & core::kDosSparse) {
        Status s = vfs.Deallocate(caller, open.file, static_cast<uint64_t>(from),
                                  static_cast<uint64_t>(beyond - from), nullptr, &open.via);
        if (!s.ok()) return Fail(ToNtStatus(s));
        open.modified.store(true);
        break;
      }
      const uint64_t end = std::min<uint64_t>(static_cast<uint64_t>(beyond), a->size);
      constexpr size_t kZeroChunk = 1 << 20;
      static const std::vector<std::byte> zeros(kZeroChunk);
      for (uint64_t at = static_cast<uint64_t>(from); at < end;) {
        const size_t n = static_cast<size_t>(std::min<uint64_t>(end - at, kZeroChunk));
        Result<core::WriteResult> wr = vfs.Write(caller, open.file, at, ByteView(zeros.data(), n),
                                                 core::Stability::kUnstable, nullptr, &open.via);
        if (!wr.ok()) return Fail(ToNtStatus(wr.status()));
        at += n;
      }
      open.modified.store(true);
      break;
    }
    case wire::kFsctlQueryAllocatedRanges: {
      // MS-FSA 2.1.5.10.22: a sparse file's data extents, as the stores keep them; a file that
      // is not sparse is allocated throughout (one range, clipped to its end), as on Windows.
      wire::LeReader r(req.input);
      const auto from = static_cast<int64_t>(r.U64());
      const auto length = static_cast<int64_t>(r.U64());
      if (!r.ok() || from < 0 || length < 0 ||
          length > std::numeric_limits<int64_t>::max() - from) {
        return Fail(wire::kStatusInvalidParameter);
      }
      if (open.directory) return Fail(wire::kStatusInvalidParameter);
      if (!(open.access & core::kReadData)) return Fail(wire::kStatusAccessDenied);
      Result<core::Attr> a = vfs.GetAttr(caller, open.file);
      if (!a.ok()) return Fail(ToNtStatus(a.status()));
      const auto size = static_cast<uint64_t>(a->size);
      const auto start = static_cast<uint64_t>(from);
      if (length == 0 || start >= size) break;
      constexpr uint32_t kRangeSize = 16;  // FILE_ALLOCATED_RANGE_BUFFER
      std::vector<core::DataExtent> ranges;
      if (a->dos_attributes & core::kDosSparse) {
        const size_t room = req.max_output_response / kRangeSize;
        // One more than fits tells whether the list is partial.
        Result<std::vector<core::DataExtent>> extents =
            vfs.DataExtents(caller, open.file, start, static_cast<uint64_t>(length),
                            std::min<size_t>(room, 4096) + 1, nullptr, &open.via);
        if (!extents.ok()) return Fail(ToNtStatus(extents.status()));
        ranges = std::move(*extents);
      } else {
        ranges.push_back({start, std::min<uint64_t>(static_cast<uint64_t>(length), size - start)});
      }
      if (ranges.empty()) break;
      // No room for even one range: STATUS_BUFFER_TOO_SMALL (an empty answer needs none); room
      // for some: as many as fit, and STATUS_BUFFER_OVERFLOW.
      if (req.max_output_response < kRangeSize) return Fail(wire::kStatusBufferTooSmall);
      const size_t fit = std::min<size_t>(ranges.size(), req.max_output_response / kRangeSize);
      for (size_t i = 0; i < fit; ++i) {
        w.U64(ranges[i].offset);
        w.U64(ranges[i].length);
      }
      if (fit < ranges.size()) {
        reply.status = wire::kStatusBufferOverflow;
        wire::EncodeIoctlResponse(req.ctl_code, req.handle, output, reply.body);
        return reply;
      }
      break;
    }
    case wire::kFsctlGetReparsePoint: {
      // MS-FSA 2.1.5.10.16: a symlink's reparse data (MS-FSCC 2.1.2.4); nothing else here is a
      // reparse point.
      core::Attr a;
      Result<std::string> target = vfs.ReadLink(caller, open.file, &a);
      if (target.ok()) {
        wire::EncodeSymlinkReparse(SymlinkReparseOf(*target), output);
      } else if (target.status().code() != Errc::kInvalid) {
        return Fail(ToNtStatus(target.status()));
      } else {
        // On a POSIX tree devices, FIFOs and sockets are reparse points too (their tag in
        // FILE_POSIX_INFORMATION), read as NFS reparse data (MS-FSCC 2.1.2.6) as the Linux
        // client reads them.
        if (!open.tree->posix.load()) return Fail(wire::kStatusNotAReparsePoint);
        Result<core::Attr> attr = vfs.GetAttr(caller, open.file);
        if (!attr.ok()) return Fail(ToNtStatus(attr.status()));
        if (!AppendSpecialReparseData(*attr, output)) return Fail(wire::kStatusNotAReparsePoint);
      }
      constexpr uint32_t kHeader = 8;  // ReparseTag, ReparseDataLength, Reserved
      if (req.max_output_response < kHeader) return Fail(wire::kStatusBufferTooSmall);
      if (output.size() > req.max_output_response) {
        // As much as fits, and STATUS_BUFFER_OVERFLOW: the header tells the size needed.
        output.resize(req.max_output_response);
        reply.status = wire::kStatusBufferOverflow;
      }
      break;
    }
    case wire::kFsctlSetReparsePoint: {
      // MS-FSA 2.1.5.10.36. Symbolic links only: they are the runtime's symlinks, which every
      // protocol sees; an empty file or directory becomes one where it is.
      if (!(open.access & (core::kWriteData | core::kWriteAttributes))) {
        return Fail(wire::kStatusAccessDenied);
      }
      Result<uint32_t> tag = wire::DecodeReparseTag(req.input);
      if (!tag.ok()) return Fail(wire::kStatusIoReparseDataInvalid);
      std::string target;
      if (*tag == wire::kIoReparseTagSymlink) {
        Result<wire::SymlinkReparse> link = wire::DecodeSymlinkReparse(req.input);
        if (!link.ok()) return Fail(wire::kStatusIoReparseDataInvalid);
        target = SymlinkTargetOf(*link);
      } else {
        // On a POSIX tree the Linux client makes symlinks and special files by setting an NFS
        // (MS-FSCC 2.1.2.6) or WSL reparse point on an empty file it created.
        if (!open.tree->posix.load()) return Fail(wire::kStatusNotSupported);
        Result<ReparseObject> made = ParseReparseData(req.input);
        if (!made.ok()) return Fail(wire::kStatusIoReparseDataInvalid);
        if (made->type != core::FileType::kSymlink) {
          if (open.directory) return Fail(wire::kStatusInvalidParameter);
          Status s = vfs.MakeSpecialInPlace(caller, open.file, made->type, made->major, made->minor,
                                            &open.via);
          if (!s.ok()) return Fail(ToNtStatus(s));
          break;
        }
        target = std::move(made->target);
      }
      if (target.empty()) return Fail(wire::kStatusIoReparseDataInvalid);
      Status s = vfs.MakeSymlinkInPlace(caller, open.file, target, &open.via);
      if (s.code() == Errc::kNotEmpty && !open.directory) {
        // A file holding data cannot also be a symlink here (NTFS can keep both).
        return Fail(wire::kStatusNotSupported);
      }
      if (!s.ok()) return Fail(ToNtStatus(s));
      break;
    }
    case wire::kFsctlDeleteReparsePoint: {
      // MS-FSA 2.1.5.10.8: the input names the tag to remove and carries no data; the symlink
      // becomes an empty file.
      if (!(open.access & (core::kWriteData | core::kWriteAttributes))) {
        return Fail(wire::kStatusAccessDenied);
      }
      wire::LeReader r(req.input);
      const uint32_t tag = r.U32();
      const uint16_t length = r.U16();
      if (req.input.size() != 8 || !r.ok() || length != 0) {
        return Fail(wire::kStatusIoReparseDataInvalid);  // the 8-byte header alone
      }
      Result<core::Attr> a = vfs.GetAttr(caller, open.file);
      if (!a.ok()) return Fail(ToNtStatus(a.status()));
      if (a->type != core::FileType::kSymlink) return Fail(wire::kStatusNotAReparsePoint);
      if (tag != wire::kIoReparseTagSymlink) return Fail(kStatusIoReparseTagMismatch);
      Status s = vfs.RemoveSymlinkInPlace(caller, open.file, &open.via);
      if (!s.ok()) return Fail(ToNtStatus(s));
      break;
    }
    case wire::kFsctlSrvEnumerateSnapshots: {
      // MS-SMB2 3.3.5.15.1: the previous versions of the share, its ready snapshots, newest
      // first, as SRV_SNAPSHOT_ARRAY (2.2.32.2): @GMT-YYYY.MM.DD-HH.MM.SS tokens in a MULTI_SZ
      // (each NUL-terminated UTF-16, then one more NUL). When they do not fit the output
      // allowed, none is returned, but how many there are and the size they need.
      if (req.max_output_response < 16) return Fail(wire::kStatusInvalidParameter);
      Result<std::vector<core::Vfs::SnapshotView>> snapshots = vfs.Snapshots(caller);
      if (!snapshots.ok()) return Fail(ToNtStatus(snapshots.status()));
      std::vector<std::string> tokens;
      for (auto it = snapshots->rbegin(); it != snapshots->rend(); ++it) {
        std::string token = GmtToken(it->created.sec);
        if (tokens.empty() || tokens.back() != token) tokens.push_back(std::move(token));
      }
      uint32_t array_size = 2;
      for (const std::string& t : tokens) array_size += 2 * (t.size() + 1);
      const bool fits = 12 + uint64_t{array_size} <= req.max_output_response;
      w.U32(static_cast<uint32_t>(tokens.size()));             // NumberOfSnapShots
      w.U32(fits ? static_cast<uint32_t>(tokens.size()) : 0);  // NumberOfSnapShotsReturned
      w.U32(array_size);                                       // SnapShotArraySize
      if (!fits) {
        w.U32(0);  // padding to the 16 bytes a request must allow
        break;
      }
      for (const std::string& t : tokens) {
        for (char c : t) w.U16(static_cast<uint16_t>(c));
        w.U16(0);
      }
      w.U16(0);
      if (tokens.empty()) w.U16(0);  // padding to the 16 bytes a request must allow
      break;
    }
    case wire::kFsctlDuplicateExtentsToFile: {
      // Block cloning (MS-FSCC 2.3.9, MS-FSA 2.1.5.10.10): the source open's range becomes
      // this file's, by reference (the runtime's copy, as NFSv4.2's CLONE). Only where the
      // store shares data: elsewhere it would be a copy the client did not ask for.
      if (!vfs.CopiesByReference()) return Fail(wire::kStatusInvalidDeviceRequest);
      wire::LeReader r(req.input);
      const uint64_t persistent = r.U64();
      const uint64_t volatile_id = r.U64();
      const auto src_offset = static_cast<int64_t>(r.U64());
      const auto dst_offset = static_cast<int64_t>(r.U64());
      const auto count = static_cast<int64_t>(r.U64());
      (void)persistent;
      if (!r.ok() || src_offset < 0 || dst_offset < 0 || count < 0) {
        return Fail(wire::kStatusInvalidParameter);
      }
      if (open.directory) return Fail(wire::kStatusInvalidParameter);
      std::shared_ptr<Open> src = SessionOpen(*x.session, volatile_id);
      if (!src || src->pipe || src->stream || src->tree->share != open.tree->share) {
        return Fail(wire::kStatusInvalidHandle);
      }
      if (src->directory) return Fail(wire::kStatusInvalidParameter);
      if (!(src->access & core::kReadData) || !(open.access & core::kWriteData)) {
        return Fail(wire::kStatusAccessDenied);
      }
      if (count == 0) break;
      Result<uint64_t> n =
          vfs.CopyRange(caller, src->file, static_cast<uint64_t>(src_offset), open.file,
                        static_cast<uint64_t>(dst_offset), static_cast<uint64_t>(count), nullptr,
                        &src->via, &open.via);
      if (!n.ok()) return Fail(ToNtStatus(n.status()));
      open.modified.store(true);
      break;
    }
    default:
      return Fail(wire::kStatusInvalidDeviceRequest);
  }
  if (output.size() > req.max_output_response) return Fail(wire::kStatusBufferTooSmall);
  wire::EncodeIoctlResponse(req.ctl_code, req.handle, output, reply.body);
  return reply;
}

}  // namespace dittofs::smb

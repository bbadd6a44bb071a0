// SPDX-License-Identifier: Apache-2.0
#include "nfs_client.h"

#include <poll.h>

#include <cerrno>
#include <cstring>
#include <optional>
#include <utility>

#include "base/sanitizers.h"

#if defined(DITTOFS_ASAN)
#include <sanitizer/lsan_interface.h>
#endif

namespace dittofs::integration {

// One call in flight. The libnfs callback's private data points here.
struct RawNfsClient::PendingCall {
  RawNfsClient* client;
  Issue issue;
  OnReply on_reply;  // cleared when the call is abandoned: what it captures may be gone
  bool done = false;
};

namespace {

constexpr char kLoopback[] = "127.0.0.1";

FileHandle Owned(const char* data, u_int len) { return FileHandle(data, len); }
FileHandle Owned(const nfs_fh3& fh) { return Owned(fh.data.data_val, fh.data.data_len); }

// libnfs takes mutable pointers to arguments it only reads.
char* Mutable(const std::string& s) { return const_cast<char*>(s.c_str()); }

diropargs3 DirOp(const FileHandle& dir, const std::string& name) {
  diropargs3 d{};
  d.dir = ToFh3(dir);
  d.name = Mutable(name);
  return d;
}

// Runs one libnfs call on `client` and converts its reply with `copy`, which must copy out
// everything it keeps: the reply is freed when the call returns.
template <typename Res, typename Args, typename Copy>
auto CallWith(RawNfsClient& client, int (*fn)(rpc_context*, rpc_cb, Args*, void*), Args& args,
              Copy copy) -> Result<decltype(copy(std::declval<const Res&>()))> {
  decltype(copy(std::declval<const Res&>())) out{};
  Status s =
      client.Call([&](rpc_context* rpc, rpc_cb cb, void* p) { return fn(rpc, cb, &args, p); },
                  [&](void* reply) { out = copy(*static_cast<const Res*>(reply)); });
  if (!s.ok()) return s;
  return out;
}

// For replies without pointers: the libnfs struct itself.
template <typename Res, typename Args>
Result<Res> CallPod(RawNfsClient& client, int (*fn)(rpc_context*, rpc_cb, Args*, void*),
                    Args& args) {
  return CallWith<Res>(client, fn, args, [](const Res& r) { return r; });
}

template <typename Ok, typename Fail>
CreatedReply ToCreated(nfsstat3 status, const Ok& ok, const Fail& fail) {
  CreatedReply out;
  out.status = status;
  if (status != NFS3_OK) {
    out.dir_wcc = fail.dir_wcc;
    return out;
  }
  out.has_fh = ok.obj.handle_follows != 0;
  if (out.has_fh) out.fh = Owned(ok.obj.post_op_fh3_u.handle);
  out.obj_attributes = ok.obj_attributes;
  out.dir_wcc = ok.dir_wcc;
  return out;
}

template <typename Entry>
DirEntry ToDirEntry(const Entry& e) {
  DirEntry d;
  d.fileid = e.fileid;
  d.name = e.name ? e.name : "";
  d.cookie = e.cookie;
  return d;
}

}  // namespace

nfs_fh3 ToFh3(const FileHandle& fh) {
  nfs_fh3 out{};
  out.data.data_len = static_cast<u_int>(fh.size());
  out.data.data_val = const_cast<char*>(fh.data());
  return out;
}

sattr3 NoAttrs() {
  sattr3 a{};
  a.atime.set_it = DONT_CHANGE;
  a.mtime.set_it = DONT_CHANGE;
  return a;
}

sattr3 ModeAttrs(uint32_t mode) {
  sattr3 a = NoAttrs();
  a.mode.set_it = 1;
  a.mode.set_mode3_u.mode = mode;
  return a;
}

WriteVerf VerfOf(const WRITE3resok& ok) {
  WriteVerf v;
  std::memcpy(v.data(), ok.verf, v.size());
  return v;
}

WriteVerf VerfOf(const COMMIT3resok& ok) {
  WriteVerf v;
  std::memcpy(v.data(), ok.verf, v.size());
  return v;
}

// ---- RawNfsClient: the connection and its event loop ----

Result<std::unique_ptr<RawNfsClient>> RawNfsClient::Connect(uint16_t port, uint32_t uid,
                                                            uint32_t gid,
                                                            std::vector<uint32_t> groups,
                                                            std::chrono::seconds timeout) {
  rpc_context* rpc = rpc_init_context();
  if (rpc == nullptr) return Status(Errc::kInternal, "rpc_init_context failed");
  std::unique_ptr<RawNfsClient> client(new RawNfsClient(rpc, timeout));
  // rpc_set_auth takes ownership and frees the default credential.
  rpc_set_auth(rpc, libnfs_authunix_create("dfs-integration", uid, gid,
                                           static_cast<uint32_t>(groups.size()), groups.data()));
  Status connected = client->Call(
      [port](rpc_context* r, rpc_cb cb, void* p) {
        // MOUNT and NFS share the port; the program named here only matters for reconnects.
        return rpc_connect_port_async(r, kLoopback, port, NFS_PROGRAM, NFS_V3, cb, p);
      },
      nullptr);
  if (!connected.ok()) return connected;
  return client;
}

RawNfsClient::RawNfsClient(rpc_context* rpc, std::chrono::seconds timeout)
    : rpc_(rpc), timeout_(timeout) {}

RawNfsClient::~RawNfsClient() {
  // Cancels the calls in flight, whose callbacks still point into pending_.
  for (PendingCall& call : pending_) call.on_reply = nullptr;
  rpc_destroy_context(rpc_);
}

void RawNfsClient::Complete(rpc_context* rpc, int status, void* data, void* private_data) {
  auto* call = static_cast<PendingCall*>(private_data);
  call->done = true;
  if (status == RPC_STATUS_SUCCESS) {
    if (call->on_reply) call->on_reply(data);
    return;
  }
  RawNfsClient* client = call->client;
  if (!client->failure_.ok()) return;
  std::string why = status == RPC_STATUS_ERROR && data != nullptr ? static_cast<const char*>(data)
                    : status == RPC_STATUS_TIMEOUT                ? "timed out"
                                                                  : "cancelled";
  client->failure_ = Status(Errc::kIo, "rpc call failed: " + why);
}

Status RawNfsClient::Serve(std::chrono::milliseconds wait) {
  pollfd p{rpc_get_fd(rpc_), static_cast<short>(rpc_which_events(rpc_)), 0};
  int n = poll(&p, 1, static_cast<int>(wait.count()));
  if (n < 0) {
    if (errno == EINTR) return Status::Ok();
    return Status(Errc::kIo, std::string("poll: ") + std::strerror(errno));
  }
  if (rpc_service(rpc_, n > 0 ? p.revents : 0) < 0) {
    const char* e = rpc_get_error(rpc_);
    return Status(Errc::kIo, std::string("connection failed: ") + (e ? e : "?"));
  }
  return Status::Ok();
}

void RawNfsClient::Abandon(const std::string& why) {
  broken_ = true;
  for (PendingCall& call : pending_) call.on_reply = nullptr;
  if (failure_.ok()) failure_ = Status(Errc::kIo, why);
  rpc_disconnect(rpc_, why.c_str());
}

Status RawNfsClient::Submit(Issue issue, OnReply on_reply) {
  if (broken_) return Status(Errc::kIo, "connection abandoned earlier");
  PendingCall& call =
      pending_.emplace_back(PendingCall{this, std::move(issue), std::move(on_reply)});
  if (call.issue(rpc_, &RawNfsClient::Complete, &call) != 0) {
    const char* e = rpc_get_error(rpc_);
    pending_.pop_back();
    return Status(Errc::kIo, std::string("cannot queue call: ") + (e ? e : "?"));
  }
  return Status::Ok();
}

Status RawNfsClient::Drain(size_t max_in_flight) {
  auto deadline = std::chrono::steady_clock::now() + timeout_;
  for (;;) {
    pending_.remove_if([](const PendingCall& c) { return c.done; });
    if (pending_.size() <= max_in_flight) break;
    if (broken_) break;
    if (std::chrono::steady_clock::now() > deadline) {
      Abandon("no reply within " + std::to_string(timeout_.count()) + "s");
      break;
    }
    Status s = Serve(std::chrono::milliseconds(100));
    if (!s.ok()) Abandon(s.message());
  }
  Status failure = std::move(failure_);
  failure_ = Status::Ok();
  return failure;
}

Status RawNfsClient::Call(Issue issue, OnReply on_reply) {
  RETURN_IF_ERROR(Submit(std::move(issue), std::move(on_reply)));
  return Drain(0);
}

// ---- MOUNT v3 ----

Status RawNfsClient::MountNull() {
  return Call([](rpc_context* r, rpc_cb cb, void* p) { return rpc_mount3_null_async(r, cb, p); },
              nullptr);
}

Result<MntReply> RawNfsClient::Mnt(const std::string& path) {
  MntReply out;
  Status s = Call([&](rpc_context* r, rpc_cb cb,
                      void* p) { return rpc_mount3_mnt_async(r, cb, Mutable(path), p); },
                  [&](void* reply) {
                    const auto& res = *static_cast<const mountres3*>(reply);
                    out.status = res.fhs_status;
                    if (res.fhs_status != MNT3_OK) return;
                    const mountres3_ok& ok = res.mountres3_u.mountinfo;
                    out.fh = Owned(ok.fhandle.fhandle3_val, ok.fhandle.fhandle3_len);
                    out.auth_flavors.assign(
                        ok.auth_flavors.auth_flavors_val,
                        ok.auth_flavors.auth_flavors_val + ok.auth_flavors.auth_flavors_len);
                  });
  if (!s.ok()) return s;
  return out;
}

// Reads a struct libnfs may have placed at a misaligned address (UBSan flags direct access).
template <typename T>
T Unaligned(const T* at) {
  T value;
  std::memcpy(&value, static_cast<const void*>(at), sizeof(T));
  return value;
}

Result<std::vector<MountEntry>> RawNfsClient::Dump() {
  std::vector<MountEntry> out;
  Status s = Call(
      [](rpc_context* r, rpc_cb cb, void* p) { return rpc_mount3_dump_async(r, cb, p); },
      [&](void* reply) {
        // libnfs 4.0 allocates list nodes at misaligned addresses: copy each one out.
        for (mountbody* at = *static_cast<mountlist*>(reply); at != nullptr;) {
          mountbody m = Unaligned(at);
          out.push_back({m.ml_hostname ? m.ml_hostname : "", m.ml_directory ? m.ml_directory : ""});
          at = m.ml_next;
        }
      });
  if (!s.ok()) return s;
  return out;
}

Status RawNfsClient::Umnt(const std::string& path) {
  return Call([&](rpc_context* r, rpc_cb cb,
                  void* p) { return rpc_mount3_umnt_async(r, cb, Mutable(path), p); },
              nullptr);
}

Status RawNfsClient::Umntall() {
  return Call([](rpc_context* r, rpc_cb cb, void* p) { return rpc_mount3_umntall_async(r, cb, p); },
              nullptr);
}

Result<std::vector<std::string>> RawNfsClient::Export() {
  std::vector<std::string> out;
  Status s =
      Call([](rpc_context* r, rpc_cb cb, void* p) { return rpc_mount3_export_async(r, cb, p); },
           [&](void* reply) {
             for (exportnode* at = *static_cast<exports*>(reply); at != nullptr;) {
               exportnode e = Unaligned(at);
               out.push_back(e.ex_dir ? e.ex_dir : "");
               at = e.ex_next;
             }
           });
  if (!s.ok()) return s;
  return out;
}

// ---- NFSv3 ----

Status RawNfsClient::Null() {
  return Call([](rpc_context* r, rpc_cb cb, void* p) { return rpc_nfs3_null_async(r, cb, p); },
              nullptr);
}

Result<GETATTR3res> RawNfsClient::Getattr(const FileHandle& fh) {
  GETATTR3args args{};
  args.object = ToFh3(fh);
  return CallPod<GETATTR3res>(*this, rpc_nfs3_getattr_async, args);
}

Result<SETATTR3res> RawNfsClient::Setattr(const FileHandle& fh, const sattr3& attrs,
                                          const nfstime3* guard) {
  SETATTR3args args{};
  args.object = ToFh3(fh);
  args.new_attributes = attrs;
  if (guard != nullptr) {
    args.guard.check = 1;
    args.guard.sattrguard3_u.obj_ctime = *guard;
  }
  return CallPod<SETATTR3res>(*this, rpc_nfs3_setattr_async, args);
}

Result<LookupReply> RawNfsClient::Lookup(const FileHandle& dir, const std::string& name) {
  LOOKUP3args args{};
  args.what = DirOp(dir, name);
  return CallWith<LOOKUP3res>(*this, rpc_nfs3_lookup_async, args, [](const LOOKUP3res& r) {
    LookupReply out;
    out.status = r.status;
    if (r.status != NFS3_OK) {
      out.dir_attributes = r.LOOKUP3res_u.resfail.dir_attributes;
      return out;
    }
    out.fh = Owned(r.LOOKUP3res_u.resok.object);
    out.obj_attributes = r.LOOKUP3res_u.resok.obj_attributes;
    out.dir_attributes = r.LOOKUP3res_u.resok.dir_attributes;
    return out;
  });
}

Result<ACCESS3res> RawNfsClient::Access(const FileHandle& fh, uint32_t access) {
  ACCESS3args args{};
  args.object = ToFh3(fh);
  args.access = access;
  return CallPod<ACCESS3res>(*this, rpc_nfs3_access_async, args);
}

Result<ReadlinkReply> RawNfsClient::Readlink(const FileHandle& fh) {
  READLINK3args args{};
  args.symlink = ToFh3(fh);
  return CallWith<READLINK3res>(*this, rpc_nfs3_readlink_async, args, [](const READLINK3res& r) {
    ReadlinkReply out;
    out.status = r.status;
    if (r.status != NFS3_OK) {
      out.symlink_attributes = r.READLINK3res_u.resfail.symlink_attributes;
      return out;
    }
    out.symlink_attributes = r.READLINK3res_u.resok.symlink_attributes;
    out.target = r.READLINK3res_u.resok.data ? r.READLINK3res_u.resok.data : "";
    return out;
  });
}

Result<ReadReply> RawNfsClient::Read(const FileHandle& fh, uint64_t offset, uint32_t count) {
  READ3args args{};
  args.file = ToFh3(fh);
  args.offset = offset;
  args.count = count;
  return CallWith<READ3res>(*this, rpc_nfs3_read_async, args, [](const READ3res& r) {
    ReadReply out;
    out.status = r.status;
    if (r.status != NFS3_OK) {
      out.file_attributes = r.READ3res_u.resfail.file_attributes;
      return out;
    }
    const READ3resok& ok = r.READ3res_u.resok;
    out.file_attributes = ok.file_attributes;
    out.count = ok.count;
    out.eof = ok.eof != 0;
    out.data.assign(ok.data.data_val, ok.data.data_len);
    return out;
  });
}

Result<WRITE3res> RawNfsClient::Write(const FileHandle& fh, uint64_t offset, std::string_view data,
                                      stable_how stable) {
  WRITE3args args{};
  args.file = ToFh3(fh);
  args.offset = offset;
  args.count = static_cast<count3>(data.size());
  args.stable = stable;
  args.data.data_len = static_cast<u_int>(data.size());
  args.data.data_val = const_cast<char*>(data.data());
  return CallPod<WRITE3res>(*this, rpc_nfs3_write_async, args);
}

Result<CreatedReply> RawNfsClient::Create(const FileHandle& dir, const std::string& name,
                                          createmode3 how, const sattr3& attrs, uint64_t verifier) {
  CREATE3args args{};
  args.where = DirOp(dir, name);
  args.how.mode = how;
  if (how == EXCLUSIVE) {
    for (int i = 0; i < NFS3_CREATEVERFSIZE; ++i) {
      args.how.createhow3_u.verf[i] = static_cast<char>(verifier >> (8 * (7 - i)));
    }
  } else {
    args.how.createhow3_u.obj_attributes = attrs;
  }
  return CallWith<CREATE3res>(*this, rpc_nfs3_create_async, args, [](const CREATE3res& r) {
    return ToCreated(r.status, r.CREATE3res_u.resok, r.CREATE3res_u.resfail);
  });
}

Result<CreatedReply> RawNfsClient::Mkdir(const FileHandle& dir, const std::string& name,
                                         const sattr3& attrs) {
  MKDIR3args args{};
  args.where = DirOp(dir, name);
  args.attributes = attrs;
  return CallWith<MKDIR3res>(*this, rpc_nfs3_mkdir_async, args, [](const MKDIR3res& r) {
    return ToCreated(r.status, r.MKDIR3res_u.resok, r.MKDIR3res_u.resfail);
  });
}

Result<CreatedReply> RawNfsClient::Symlink(const FileHandle& dir, const std::string& name,
                                           const std::string& target, const sattr3& attrs) {
  SYMLINK3args args{};
  args.where = DirOp(dir, name);
  args.symlink.symlink_attributes = attrs;
  args.symlink.symlink_data = Mutable(target);
  return CallWith<SYMLINK3res>(*this, rpc_nfs3_symlink_async, args, [](const SYMLINK3res& r) {
    return ToCreated(r.status, r.SYMLINK3res_u.resok, r.SYMLINK3res_u.resfail);
  });
}

Result<CreatedReply> RawNfsClient::Mknod(const FileHandle& dir, const std::string& name,
                                         ftype3 type, const sattr3& attrs, specdata3 spec) {
  MKNOD3args args{};
  args.where = DirOp(dir, name);
  args.what.type = type;
  switch (type) {
    case NF3CHR:
      args.what.mknoddata3_u.chr_device = {attrs, spec};
      break;
    case NF3BLK:
      args.what.mknoddata3_u.blk_device = {attrs, spec};
      break;
    case NF3SOCK:
      args.what.mknoddata3_u.sock_attributes = attrs;
      break;
    case NF3FIFO:
      args.what.mknoddata3_u.pipe_attributes = attrs;
      break;
    default:
      break;  // RFC 1813 §3.3.11: other types carry no data
  }
  return CallWith<MKNOD3res>(*this, rpc_nfs3_mknod_async, args, [](const MKNOD3res& r) {
    return ToCreated(r.status, r.MKNOD3res_u.resok, r.MKNOD3res_u.resfail);
  });
}

Result<REMOVE3res> RawNfsClient::Remove(const FileHandle& dir, const std::string& name) {
  REMOVE3args args{};
  args.object = DirOp(dir, name);
  return CallPod<REMOVE3res>(*this, rpc_nfs3_remove_async, args);
}

Result<RMDIR3res> RawNfsClient::Rmdir(const FileHandle& dir, const std::string& name) {
  RMDIR3args args{};
  args.object = DirOp(dir, name);
  return CallPod<RMDIR3res>(*this, rpc_nfs3_rmdir_async, args);
}

Result<RENAME3res> RawNfsClient::Rename(const FileHandle& from_dir, const std::string& from_name,
                                        const FileHandle& to_dir, const std::string& to_name) {
  RENAME3args args{};
  args.from = DirOp(from_dir, from_name);
  args.to = DirOp(to_dir, to_name);
  return CallPod<RENAME3res>(*this, rpc_nfs3_rename_async, args);
}

Result<LINK3res> RawNfsClient::Link(const FileHandle& file, const FileHandle& dir,
                                    const std::string& name) {
  LINK3args args{};
  args.file = ToFh3(file);
  args.link = DirOp(dir, name);
  return CallPod<LINK3res>(*this, rpc_nfs3_link_async, args);
}

Result<ReaddirReply> RawNfsClient::Readdir(const FileHandle& dir, uint64_t cookie,
                                           const CookieVerf& verf, uint32_t count) {
  READDIR3args args{};
  args.dir = ToFh3(dir);
  args.cookie = cookie;
  std::memcpy(args.cookieverf, verf.data(), verf.size());
  args.count = count;
  return CallWith<READDIR3res>(*this, rpc_nfs3_readdir_async, args, [](const READDIR3res& r) {
    ReaddirReply out;
    out.status = r.status;
    if (r.status != NFS3_OK) {
      out.dir_attributes = r.READDIR3res_u.resfail.dir_attributes;
      return out;
    }
    const READDIR3resok& ok = r.READDIR3res_u.resok;
    out.dir_attributes = ok.dir_attributes;
    std::memcpy(out.cookieverf.data(), ok.cookieverf, out.cookieverf.size());
    for (const entry3* at = ok.reply.entries; at != nullptr;) {
      entry3 e = Unaligned(at);
      out.entries.push_back(ToDirEntry(e));
      at = e.nextentry;
    }
    out.eof = ok.reply.eof != 0;
    return out;
  });
}

Result<ReaddirReply> RawNfsClient::Readdirplus(const FileHandle& dir, uint64_t cookie,
                                               const CookieVerf& verf, uint32_t dircount,
                                               uint32_t maxcount) {
  READDIRPLUS3args args{};
  args.dir = ToFh3(dir);
  args.cookie = cookie;
  std::memcpy(args.cookieverf, verf.data(), verf.size());
  args.dircount = dircount;
  args.maxcount = maxcount;
  return CallWith<READDIRPLUS3res>(
      *this, rpc_nfs3_readdirplus_async, args, [](const READDIRPLUS3res& r) {
        ReaddirReply out;
        out.status = r.status;
        if (r.status != NFS3_OK) {
          out.dir_attributes = r.READDIRPLUS3res_u.resfail.dir_attributes;
          return out;
        }
        const READDIRPLUS3resok& ok = r.READDIRPLUS3res_u.resok;
        out.dir_attributes = ok.dir_attributes;
        std::memcpy(out.cookieverf.data(), ok.cookieverf, out.cookieverf.size());
        for (const entryplus3* at = ok.reply.entries; at != nullptr;) {
          entryplus3 copy = Unaligned(at);
          const entryplus3* e = &copy;
          at = copy.nextentry;
          DirEntry d = ToDirEntry(*e);
          d.attributes = e->name_attributes;
          d.has_fh = e->name_handle.handle_follows != 0;
          if (d.has_fh) d.fh = Owned(e->name_handle.post_op_fh3_u.handle);
          out.entries.push_back(std::move(d));
        }
        out.eof = ok.reply.eof != 0;
        return out;
      });
}

Result<FSSTAT3res> RawNfsClient::Fsstat(const FileHandle& root) {
  FSSTAT3args args{};
  args.fsroot = ToFh3(root);
  return CallPod<FSSTAT3res>(*this, rpc_nfs3_fsstat_async, args);
}

Result<FSINFO3res> RawNfsClient::Fsinfo(const FileHandle& root) {
  FSINFO3args args{};
  args.fsroot = ToFh3(root);
  return CallPod<FSINFO3res>(*this, rpc_nfs3_fsinfo_async, args);
}

Result<PATHCONF3res> RawNfsClient::Pathconf(const FileHandle& fh) {
  PATHCONF3args args{};
  args.object = ToFh3(fh);
  return CallPod<PATHCONF3res>(*this, rpc_nfs3_pathconf_async, args);
}

Result<COMMIT3res> RawNfsClient::Commit(const FileHandle& fh, uint64_t offset, uint32_t count) {
  COMMIT3args args{};
  args.file = ToFh3(fh);
  args.offset = offset;
  args.count = count;
  return CallPod<COMMIT3res>(*this, rpc_nfs3_commit_async, args);
}

// ---- NfsMount ----

Result<std::unique_ptr<NfsMount>> NfsMount::Mount(uint16_t port, const std::string& share, int uid,
                                                  int gid, int version,
                                                  const std::string& client_name) {
  nfs_context* nfs = nullptr;
  {
#if defined(DITTOFS_ASAN)
    // libnfs 4.0 copies a default NFSv4 client name at init and loses that copy when
    // nfs4_set_client_name replaces it: a leak of the library's, kept out of LeakSanitizer's
    // report (only the context's own allocations are exempted this way).
    std::optional<__lsan::ScopedDisabler> exempt;
    if (!client_name.empty()) exempt.emplace();
#endif
    nfs = nfs_init_context();
  }
  if (nfs == nullptr) return Status(Errc::kInternal, "nfs_init_context failed");
  std::unique_ptr<NfsMount> mount(new NfsMount(nfs));
  std::string p = std::to_string(port);
  std::string url = "nfs://" + std::string(kLoopback) + share +
                    "?version=" + std::to_string(version) + "&nfsport=" + p + "&mountport=" + p;
  if (!client_name.empty()) nfs4_set_client_name(nfs, client_name.c_str());
  nfs_url* parsed = nfs_parse_url_dir(nfs, url.c_str());
  if (parsed == nullptr) return Status(Errc::kInvalid, url + ": " + mount->error());
  nfs_set_uid(nfs, uid);
  nfs_set_gid(nfs, gid);
  nfs_set_timeout(nfs, 60 * 1000);
  nfs_set_autoreconnect(nfs, 0);
  int rc = nfs_mount(nfs, parsed->server, parsed->path);
  nfs_destroy_url(parsed);
  if (rc != 0) return Status(Errc::kIo, "nfs_mount " + url + ": " + mount->error());
  return mount;
}

NfsMount::~NfsMount() { nfs_destroy_context(nfs_); }

std::string NfsMount::error() const {
  const char* e = nfs_get_error(nfs_);
  return e ? e : "";
}

}  // namespace dittofs::integration

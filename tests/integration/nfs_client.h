// SPDX-License-Identifier: Apache-2.0
#pragma once

// NFSv3 and MOUNT v3 clients (and libnfs's NFSv4.0) for over-the-wire tests, built on libnfs.
//
// RawNfsClient issues single procedures with exact arguments and returns the server's exact
// reply (nfsstat3 included), which the high-level libnfs API hides. NfsMount is the
// high-level API's context, mounted and unmounted by RAII.

#include <nfsc/libnfs.h>
// libnfs.h first: the raw headers use its declarations.
#include <nfsc/libnfs-raw-mount.h>
#include <nfsc/libnfs-raw-nfs.h>
#include <nfsc/libnfs-raw.h>

#include <array>
#include <chrono>
#include <cstdint>
#include <functional>
#include <list>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"

namespace dittofs::integration {

// An NFSv3 file handle, owned: the opaque bytes the server issued.
using FileHandle = std::string;

// A view of `fh` in libnfs's argument type; valid while `fh` lives and is unchanged.
nfs_fh3 ToFh3(const FileHandle& fh);

// sattr3 builders. Unset fields are "don't change".
sattr3 NoAttrs();
sattr3 ModeAttrs(uint32_t mode);

using CookieVerf = std::array<char, NFS3_COOKIEVERFSIZE>;
using WriteVerf = std::array<char, NFS3_WRITEVERFSIZE>;

WriteVerf VerfOf(const WRITE3resok& ok);
WriteVerf VerfOf(const COMMIT3resok& ok);

// Replies whose libnfs types hold pointers into memory freed after the call, copied out.
// Replies without pointers (GETATTR3res, SETATTR3res, ACCESS3res, WRITE3res, REMOVE3res,
// RMDIR3res, RENAME3res, LINK3res, FSSTAT3res, FSINFO3res, PATHCONF3res, COMMIT3res) are
// returned as the libnfs type itself.

struct LookupReply {
  nfsstat3 status = NFS3_OK;
  FileHandle fh;  // NFS3_OK only
  post_op_attr obj_attributes{};
  post_op_attr dir_attributes{};
};

// CREATE, MKDIR, SYMLINK and MKNOD.
struct CreatedReply {
  nfsstat3 status = NFS3_OK;
  bool has_fh = false;
  FileHandle fh;
  post_op_attr obj_attributes{};
  wcc_data dir_wcc{};
};

struct ReadReply {
  nfsstat3 status = NFS3_OK;
  post_op_attr file_attributes{};
  uint32_t count = 0;
  bool eof = false;
  std::string data;
};

struct ReadlinkReply {
  nfsstat3 status = NFS3_OK;
  post_op_attr symlink_attributes{};
  std::string target;
};

// READDIR fills fileid, name and cookie; READDIRPLUS also the attributes and handle.
struct DirEntry {
  uint64_t fileid = 0;
  std::string name;
  uint64_t cookie = 0;
  post_op_attr attributes{};
  bool has_fh = false;
  FileHandle fh;
};

struct ReaddirReply {
  nfsstat3 status = NFS3_OK;
  post_op_attr dir_attributes{};
  CookieVerf cookieverf{};
  std::vector<DirEntry> entries;
  bool eof = false;
};

struct MntReply {
  mountstat3 status = MNT3_OK;
  FileHandle fh;
  std::vector<int> auth_flavors;
};

struct MountEntry {
  std::string hostname;
  std::string directory;
};

// One TCP connection to 127.0.0.1:port carrying MOUNT v3 and NFSv3 calls with an AUTH_SYS
// credential. Not thread-safe: one thread uses a client at a time.
//
// Every call waits at most `timeout` for its reply. A Result error means the call itself
// failed (no reply, an RPC-level rejection); an NFS or MOUNT error status is a normal reply.
class RawNfsClient {
 public:
  static Result<std::unique_ptr<RawNfsClient>> Connect(
      uint16_t port, uint32_t uid, uint32_t gid, std::vector<uint32_t> groups = {},
      std::chrono::seconds timeout = std::chrono::seconds(60));
  ~RawNfsClient();
  RawNfsClient(const RawNfsClient&) = delete;
  RawNfsClient& operator=(const RawNfsClient&) = delete;

  // MOUNT v3 (RFC 1813 Appendix I).
  Status MountNull();
  Result<MntReply> Mnt(const std::string& path);
  Result<std::vector<MountEntry>> Dump();
  Status Umnt(const std::string& path);
  Status Umntall();
  Result<std::vector<std::string>> Export();  // the exported directories

  // NFSv3 (RFC 1813 §3.3), one procedure each.
  Status Null();
  Result<GETATTR3res> Getattr(const FileHandle& fh);
  // `guard`, when set, is the ctime the object must still have.
  Result<SETATTR3res> Setattr(const FileHandle& fh, const sattr3& attrs,
                              const nfstime3* guard = nullptr);
  Result<LookupReply> Lookup(const FileHandle& dir, const std::string& name);
  Result<ACCESS3res> Access(const FileHandle& fh, uint32_t access);
  Result<ReadlinkReply> Readlink(const FileHandle& fh);
  Result<ReadReply> Read(const FileHandle& fh, uint64_t offset, uint32_t count);
  Result<WRITE3res> Write(const FileHandle& fh, uint64_t offset, std::string_view data,
                          stable_how stable);
  // `attrs` is used for UNCHECKED and GUARDED, `verifier` for EXCLUSIVE.
  Result<CreatedReply> Create(const FileHandle& dir, const std::string& name, createmode3 how,
                              const sattr3& attrs, uint64_t verifier = 0);
  Result<CreatedReply> Mkdir(const FileHandle& dir, const std::string& name, const sattr3& attrs);
  Result<CreatedReply> Symlink(const FileHandle& dir, const std::string& name,
                               const std::string& target, const sattr3& attrs);
  // `spec` (major, minor) is sent for NF3CHR and NF3BLK only.
  Result<CreatedReply> Mknod(const FileHandle& dir, const std::string& name, ftype3 type,
                             const sattr3& attrs, specdata3 spec = {});
  Result<REMOVE3res> Remove(const FileHandle& dir, const std::string& name);
  Result<RMDIR3res> Rmdir(const FileHandle& dir, const std::string& name);
  Result<RENAME3res> Rename(const FileHandle& from_dir, const std::string& from_name,
                            const FileHandle& to_dir, const std::string& to_name);
  Result<LINK3res> Link(const FileHandle& file, const FileHandle& dir, const std::string& name);
  Result<ReaddirReply> Readdir(const FileHandle& dir, uint64_t cookie, const CookieVerf& verf,
                               uint32_t count);
  Result<ReaddirReply> Readdirplus(const FileHandle& dir, uint64_t cookie, const CookieVerf& verf,
                                   uint32_t dircount, uint32_t maxcount);
  Result<FSSTAT3res> Fsstat(const FileHandle& root);
  Result<FSINFO3res> Fsinfo(const FileHandle& root);
  Result<PATHCONF3res> Pathconf(const FileHandle& fh);
  Result<COMMIT3res> Commit(const FileHandle& fh, uint64_t offset, uint32_t count);

  // The transaction id of the next call (RFC 5531 §9). Clients choose xids freely; tests use
  // this to make two clients' xids meet.
  void SetNextXid(uint32_t xid) { rpc_set_next_xid(rpc_, xid); }

  // Pipelining, for many calls in flight on the one connection.
  //
  // `issue` queues one libnfs call (an rpc_*_async function) with the given callback and
  // private data and returns its result. `on_reply` receives the decoded reply when the call
  // succeeds; the reply is valid only during that call. Both functions, and what they
  // capture, are kept until the call completes.
  using Issue = std::function<int(rpc_context* rpc, rpc_cb cb, void* private_data)>;
  using OnReply = std::function<void(void* reply)>;
  Status Submit(Issue issue, OnReply on_reply);
  // Serves the connection until at most `max_in_flight` submitted calls await replies.
  // Returns the first failure of any call completed since the last Drain.
  Status Drain(size_t max_in_flight);
  // Submit, then wait for every call in flight.
  Status Call(Issue issue, OnReply on_reply);

 private:
  struct PendingCall;

  RawNfsClient(rpc_context* rpc, std::chrono::seconds timeout);
  static void Complete(rpc_context* rpc, int status, void* data, void* private_data);
  // One round of poll and rpc_service, waiting at most `wait`.
  Status Serve(std::chrono::milliseconds wait);
  // Gives up on every call in flight and closes the connection (after a timeout).
  void Abandon(const std::string& why);

  rpc_context* rpc_;  // owned; destroyed before pending_, whose calls it cancels
  std::chrono::seconds timeout_;
  std::list<PendingCall> pending_;  // a list: the callbacks hold pointers to its elements
  Status failure_;                  // the first call failure not yet returned by Drain
  bool broken_ = false;
};

// A mounted high-level libnfs context. Not thread-safe: one thread uses it at a time.
class NfsMount {
 public:
  // Mounts `share` of the server at 127.0.0.1:port as uid/gid, over NFS `version` (3, or 4:
  // 4.0, where `client_name` names the NFSv4 client; two contexts of one process need two
  // names to be two clients).
  static Result<std::unique_ptr<NfsMount>> Mount(uint16_t port, const std::string& share, int uid,
                                                 int gid, int version = 3,
                                                 const std::string& client_name = "");
  ~NfsMount();
  NfsMount(const NfsMount&) = delete;
  NfsMount& operator=(const NfsMount&) = delete;

  nfs_context* get() const { return nfs_; }
  std::string error() const;  // the context's last error message

 private:
  explicit NfsMount(nfs_context* nfs) : nfs_(nfs) {}
  nfs_context* nfs_;  // owned
};

}  // namespace dittofs::integration

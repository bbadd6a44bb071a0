// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <array>
#include <memory>

#include "core/shares.h"
#include "metrics/metrics.h"
#include "nfs/common/file_handle.h"
#include "nfs/proto/nfs3_types.h"
#include "rpc/dispatch.h"

namespace dittofs::nfs {

struct Nfs3Limits {
  uint32_t max_io = 1u << 20;  // rtmax and wtmax
};

// The NFSv3 program (RFC 1813): decodes each call, runs it on the share its file handle names,
// and encodes the reply. No file system logic lives here. Thread-safe.
class Nfs3Service {
 public:
  // `shares` and `handles` must outlive the service.
  Nfs3Service(const core::ShareTable& shares, const FileHandleCodec& handles,
              Nfs3Limits limits = {});

  // The dispatch table for program 100003 version 3.
  rpc::ProgramVersion Program();

  GETATTR3res Getattr(const rpc::CallContext& call, const GETATTR3args& args);
  SETATTR3res Setattr(const rpc::CallContext& call, const SETATTR3args& args);
  LOOKUP3res Lookup(const rpc::CallContext& call, const LOOKUP3args& args);
  ACCESS3res Access(const rpc::CallContext& call, const ACCESS3args& args);
  READLINK3res Readlink(const rpc::CallContext& call, const READLINK3args& args);
  READ3res Read(const rpc::CallContext& call, const READ3args& args);
  WRITE3res Write(const rpc::CallContext& call, const WRITE3args& args);
  CREATE3res Create(const rpc::CallContext& call, const CREATE3args& args);
  MKDIR3res Mkdir(const rpc::CallContext& call, const MKDIR3args& args);
  SYMLINK3res Symlink(const rpc::CallContext& call, const SYMLINK3args& args);
  MKNOD3res Mknod(const rpc::CallContext& call, const MKNOD3args& args);
  REMOVE3res Remove(const rpc::CallContext& call, const REMOVE3args& args);
  RMDIR3res Rmdir(const rpc::CallContext& call, const RMDIR3args& args);
  RENAME3res Rename(const rpc::CallContext& call, const RENAME3args& args);
  LINK3res Link(const rpc::CallContext& call, const LINK3args& args);
  READDIR3res Readdir(const rpc::CallContext& call, const READDIR3args& args);
  READDIRPLUS3res Readdirplus(const rpc::CallContext& call, const READDIRPLUS3args& args);
  FSSTAT3res Fsstat(const rpc::CallContext& call, const FSSTAT3args& args);
  FSINFO3res Fsinfo(const rpc::CallContext& call, const FSINFO3args& args);
  PATHCONF3res Pathconf(const rpc::CallContext& call, const PATHCONF3args& args);
  COMMIT3res Commit(const rpc::CallContext& call, const COMMIT3args& args);

  const writeverf3& write_verifier() const { return write_verifier_; }

  // Counts a call answered with an error status, by procedure and status (Prometheus:
  // dittofs_nfs3_errors_total). The dispatch table's handlers call it.
  void CountError(uint32_t proc, nfsstat3 status) {
    if (proc < errors_.size() && errors_[proc]) errors_[proc]->Inc(static_cast<uint32_t>(status));
  }

 private:
  const core::ShareTable& shares_;
  const FileHandleCodec& handles_;
  Nfs3Limits limits_;
  writeverf3 write_verifier_;  // changes on every server start (RFC 1813 §3.3.7)
  std::array<std::unique_ptr<metrics::CodeCounters>, 22> errors_;  // by procedure; Program()
};

}  // namespace dittofs::nfs

// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <string>
#include <vector>

#include "base/mutex.h"
#include "core/identity.h"
#include "core/shares.h"
#include "nfs/common/file_handle.h"
#include "nfs/proto/mount3_types.h"
#include "rpc/dispatch.h"

namespace dittofs::nfs {

// The MOUNT v3 program (RFC 1813 Appendix I), served on the NFS port: hands out the root file
// handle of a share by its name and keeps the advisory list of mounts. Thread-safe.
class MountService {
 public:
  // `shares`, `handles`, `users` and `dispatcher` must outlive the service. `users` may be
  // null; when set, log lines name the users whose uids it knows. MNT advertises the auth
  // flavors `dispatcher` accepts (asked at each MNT: they are registered after the service is
  // made); without a dispatcher, AUTH_SYS and AUTH_NONE.
  MountService(const core::ShareTable& shares, const FileHandleCodec& handles,
               const core::UserDirectory* users = nullptr,
               const rpc::Dispatcher* dispatcher = nullptr)
      : shares_(shares), handles_(handles), users_(users), dispatcher_(dispatcher) {}

  // The dispatch table for program 100005 version 3.
  rpc::ProgramVersion Program();

  mountres3 Mnt(const rpc::CallContext& call, std::string_view path);
  mountlist Dump();
  void Umnt(const rpc::CallContext& call, std::string_view path);
  void Umntall(const rpc::CallContext& call);
  exports Export();

 private:
  const core::ShareTable& shares_;
  const FileHandleCodec& handles_;
  const core::UserDirectory* const users_;   // may be null
  const rpc::Dispatcher* const dispatcher_;  // may be null
  Mutex mu_;
  mountlist mounts_ GUARDED_BY(mu_);
};

}  // namespace dittofs::nfs

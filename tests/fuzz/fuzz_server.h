// SPDX-License-Identifier: Apache-2.0
#pragma once

// An in-process NFS server for fuzzing and seed generation: memory stores, one share
// "/export", and a dispatcher with the NFSv3, MOUNT v3, NLM, NSM and port mapper programs.

#include <memory>

#include "core/shares.h"
#include "nfs/common/file_handle.h"
#include "nfs/mount/service.h"
#include "nfs/nlm/service.h"
#include "nfs/v3/service.h"
#include "rpc/dispatch.h"
#include "rpc/portmap/portmap.h"

namespace dittofs::fuzz {

class FuzzServer {
 public:
  FuzzServer();
  rpc::Dispatcher& dispatcher() { return dispatcher_; }
  core::FileId root() const { return root_; }
  // Handles are signed with a fixed key, so seeds made by one run work in every other.
  const nfs::FileHandleCodec& handles() const { return handles_; }

 private:
  core::ShareTable shares_;
  rpc::Dispatcher dispatcher_;
  const nfs::FileHandleCodec handles_{nfs::FileHandleCodec::Key{}};
  nfs::Nfs3Service nfs3_;
  nfs::MountService mount_;
  rpc::PortmapService portmap_;  // program 100000, as the server serves it on its own port
  // NLM v1/v3/v4 and NSM; callbacks (GRANTED, the _RES answers) go to a port nothing serves.
  nfs::NlmService nlm_;
  core::FileId root_;
};

}  // namespace dittofs::fuzz

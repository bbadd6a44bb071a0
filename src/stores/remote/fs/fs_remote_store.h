// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <memory>
#include <string>

#include "stores/remote/remote_store.h"

namespace dittofs::stores {

struct FsRemoteOptions {
  std::string root;  // a directory, created (with its parents) when missing
};

// Opens a RemoteStore that keeps each object as one file under options.root (a local disk, or a
// mounted network file system standing in for an object store). Layout, in docs/formats/remote.md:
//   root/objects/d-<component>/.../o-<last component>   one file per object, mode 0600
//   root/tmp/                                            Puts in progress
// A key component may be at most 253 bytes here (file name limits); longer ones are
// Errc::kInvalid. Delete leaves emptied directories in place. Opening removes whatever an
// interrupted Put left in root/tmp, so only one process may use a root at a time.
// Errc::kInvalid for an empty root, Errc::kNotDir when the root is not a directory.
Result<std::unique_ptr<RemoteStore>> OpenFsRemoteStore(const FsRemoteOptions& options);

}  // namespace dittofs::stores

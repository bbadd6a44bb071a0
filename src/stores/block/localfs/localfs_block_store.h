// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstddef>
#include <memory>
#include <string>

#include "base/result.h"
#include "stores/block/block_store.h"

namespace dittofs::stores {

struct LocalFsBlockStoreOptions {
  std::string root;  // directory holding the files; created (with parents) if missing
  // Descriptors kept open between operations. Operations in flight may briefly hold a few
  // more: a descriptor closes only once nothing uses it.
  size_t max_open_files = 512;
};

// Opens (creating if needed, with parents) a BlockStore keeping each file as one sparse file
// under options.root, at root/<two hex digits>/<16 hex digits of the file id>, mode 0600.
// Errc::kInvalid for unusable options, Errc::kNotDir when the root is not a directory.
Result<std::unique_ptr<BlockStore>> OpenLocalFsBlockStore(const LocalFsBlockStoreOptions& options);

}  // namespace dittofs::stores

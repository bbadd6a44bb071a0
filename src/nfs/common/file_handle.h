// SPDX-License-Identifier: Apache-2.0
#pragma once

// The NFS file handle, shared by every NFS version. It is opaque to clients and 20 bytes long:
//
//   offset  size  field
//        0     1  format version (1)
//        1     3  reserved, zero
//        4     4  share id        (big-endian)
//        8     8  inode id        (big-endian)
//       16     4  inode generation (big-endian)
//
// The share id routes the handle to its share's stores, so a handle of one share can never
// name another share's files; the generation makes a handle to a deleted (or deleted and
// reused) inode stale rather than wrong.

#include <array>
#include <cstdint>

#include "base/bytes.h"
#include "base/result.h"
#include "core/types.h"

namespace dittofs::nfs {

constexpr size_t kFileHandleSize = 20;

struct DecodedHandle {
  core::ShareId share = 0;
  core::FileId file;
};

std::array<std::byte, kFileHandleSize> EncodeFileHandle(core::ShareId share, core::FileId file);
// Errc::kBadHandle when `bytes` is not a handle this server issues.
Result<DecodedHandle> DecodeFileHandle(ByteView bytes);

}  // namespace dittofs::nfs

// SPDX-License-Identifier: Apache-2.0
#pragma once

// An inode as bytes, the same for every backend that stores it as a value: the RocksDB store
// (docs/formats/rocksdb-metadata.md) and the PostgreSQL one.

#include <string>
#include <string_view>

#include "base/result.h"
#include "stores/metadata/metadata_store.h"

namespace dittofs::stores {

// Encoding 2 (the id is kept beside it, not in it): the fixed fields through `version`, then
// the DOS attributes, the symlink target and the ACL (each a u32 length, then the bytes), then
// extension fields (u8 tag, u32 length, bytes) to the end, which readers skip when they do not
// know the tag. Tag 1: Inode::flags (u32), present only when not 0.
std::string EncodeInode(const Inode& inode);
// Reads encoding 2 and encoding 1 (which lacks the DOS attributes, the ACL and extensions) as
// inode `id`. Errc::kIo when the bytes are neither.
Result<Inode> DecodeInode(InodeId id, std::string_view value);

}  // namespace dittofs::stores

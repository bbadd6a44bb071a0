// SPDX-License-Identifier: Apache-2.0
#pragma once

// What vfs.cc and recycle.cc, the two halves of core::Vfs, and snapshot.cc, which copies and
// removes whole trees of the same objects, share; nothing else uses it.

#include <cstdint>
#include <string>

#include "base/result.h"
#include "stores/metadata/metadata_store.h"

namespace dittofs::core::internal {

inline constexpr uint32_t kModeMask = 07777;
inline constexpr uint32_t kMaxLinks = 65000;
// Directory cookies 1 and 2 are left to protocols that list "." and ".."; entries start at 3.
inline constexpr uint64_t kFirstCookie = 3;
// No tree is this deep: an ancestor walk that goes on longer has met a cycle.
inline constexpr uint64_t kMaxAncestorWalk = uint64_t{1} << 24;

// The key of an inode in the record tables keyed by it (kXattrs, kOrphans): 8 bytes big-endian.
std::string InodeKey(stores::InodeId inode);
// Deletes the extended attributes of `id` (RecordTable::kXattrs).
Status DeleteXattrs(stores::MetadataTxn& txn, stores::InodeId id);
// Deletes inode `id` and its extended attributes.
Status DropInode(stores::MetadataTxn& txn, stores::InodeId id);

}  // namespace dittofs::core::internal

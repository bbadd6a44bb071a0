// SPDX-License-Identifier: Apache-2.0
#pragma once

// The NFS file handle, shared by every NFS version. It is opaque to clients and 28 bytes long
// (READDIRPLUS sends one per entry, so every byte counts):
//
//   offset  size  field
//        0     1  format version (3)
//        1     4  share id         (big-endian)
//        5     8  inode id         (big-endian)
//       13     4  inode generation (big-endian)
//       17    11  MAC: the first 11 bytes (88 bits) of keyed BLAKE3 over bytes 0-16, keyed by
//                 the server's handle key
//
// The share id routes the handle to its share's stores, so a handle of one share can never
// name another share's files; the generation makes a handle to a deleted (or deleted and
// reused) inode stale rather than wrong. The MAC makes handles unforgeable: inode ids and
// generations are small, predictable numbers, and a client that may not search a directory
// could otherwise name its children by guessing. Only handles this server (or another holding
// the same key) issued pass; every other handle is rejected before any store is looked at. A
// forger must guess 88 bits per try, each try a round trip.
//
// Earlier versions:
//   * version 2 (36 bytes: version, 3 zero bytes, share, inode, generation, then a 16-byte MAC
//     over bytes 0-19) is still accepted, so clients that mounted before an upgrade go on;
//   * version 1 (20 bytes, no MAC), issued before handles were signed, is answered as stale:
//     the client looks the file up again by name, through the permission checks.

#include <array>
#include <cstdint>
#include <span>

#include "base/bytes.h"
#include "base/result.h"
#include "core/types.h"

namespace dittofs::nfs {

constexpr size_t kFileHandleSize = 28;

struct DecodedHandle {
  core::ShareId share = 0;
  core::FileId file;
};

// Issues and checks file handles under one 256-bit key. Immutable; thread-safe.
class FileHandleCodec {
 public:
  using Key = std::array<uint8_t, 32>;
  using Handle = std::array<std::byte, kFileHandleSize>;

  // The key must be secret and stable: handles issued under one key fail under another.
  explicit FileHandleCodec(const Key& key) : key_(key) {}
  // Replaces the key. REQUIRES: no handle is being encoded or decoded (the server sets the key
  // it keeps in its control plane once, before it serves).
  void SetKey(const Key& key) { key_ = key; }

  Handle Encode(core::ShareId share, core::FileId file) const;
  // out[i] = Encode(share, files[i]), with the MACs computed several at a time (READDIRPLUS
  // issues a handle per entry).
  void EncodeMany(core::ShareId share, std::span<const core::FileId> files, Handle* out) const;
  // Errc::kBadHandle when `bytes` is not a handle issued under this key (malformed, or its
  // MAC does not match); Errc::kStale for a well-formed handle of the unsigned version 1.
  // Version 2 handles issued under this key decode as well.
  Result<DecodedHandle> Decode(ByteView bytes) const;

 private:
  Key key_;
};

}  // namespace dittofs::nfs

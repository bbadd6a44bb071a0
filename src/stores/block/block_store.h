// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstdint>

#include "base/bytes.h"
#include "base/result.h"

namespace dittofs::stores {

// A BlockStore keeps the data of a share's regular files, addressed by (file id, byte offset).
// Files are sparse: bytes never written read as zeros, at any offset. The store does not know
// file sizes; the metadata store does, and callers clamp reads to them.
//
// Durability: a Write is visible to reads on return; it is durable only after Sync(file)
// returns ok (memory stores are never durable).
// All methods are safe to call concurrently from any thread; operations on different files
// never wait for each other.
class BlockStore {
 public:
  virtual ~BlockStore() = default;

  // Stores `data` at `offset` of `file`, creating the file if needed.
  virtual Status Write(uint64_t file, uint64_t offset, ByteView data) = 0;
  // Fills all of `out` with the bytes at `offset` of `file`; zeros where nothing was written
  // (including a file never written at all).
  virtual Status Read(uint64_t file, uint64_t offset, MutableByteView out) = 0;
  // Discards every byte at or after `size`; they read as zeros afterwards.
  virtual Status Truncate(uint64_t file, uint64_t size) = 0;
  // Discards the whole file. Removing a file never written succeeds.
  virtual Status Remove(uint64_t file) = 0;
  // Makes every completed write of `file` durable.
  virtual Status Sync(uint64_t file) = 0;
  // Bytes of storage in use (for statfs), best effort.
  virtual uint64_t UsedBytes() = 0;
};

}  // namespace dittofs::stores

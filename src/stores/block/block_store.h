// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "base/bytes.h"
#include "base/result.h"

namespace dittofs::stores {

// Bytes read from a BlockStore: `pieces`, back to back, hold the requested range. A store may
// hand out views of its own memory instead of copying it; `holds` then keeps that memory alive
// (and unchanged) for as long as the caller keeps the BlockRead. Shared ownership because the
// store and any number of replies in flight hold the same block at once.
struct BlockRead {
  std::vector<ByteView> pieces;
  std::vector<std::shared_ptr<const void>> holds;

  size_t size() const {
    size_t n = 0;
    for (ByteView p : pieces) n += p.size();
    return n;
  }
};

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
  // The `length` bytes at `offset`, as views where the store can give them without copying.
  // The default reads into a fresh buffer.
  virtual Result<BlockRead> ReadRange(uint64_t file, uint64_t offset, size_t length) {
    auto buffer = std::make_shared<Buffer>(length);
    RETURN_IF_ERROR(Read(file, offset, buffer->mutable_view()));
    BlockRead r;
    if (length > 0) r.pieces.push_back(buffer->view());
    r.holds.push_back(std::move(buffer));
    return r;
  }
  // Discards every byte at or after `size`; they read as zeros afterwards.
  virtual Status Truncate(uint64_t file, uint64_t size) = 0;
  // Discards the whole file. Removing a file never written succeeds.
  virtual Status Remove(uint64_t file) = 0;
  // Makes every completed write of `file` durable.
  virtual Status Sync(uint64_t file) = 0;
  // Where the data of each file written lately ends (at or past one past its last byte: a
  // store may round up), for the owner's recovery at open. A crash between a write and the
  // size update that follows it leaves bytes past the end of the file, which must go before
  // the file can grow over them: Vfs::FinishPendingCuts cuts every file listed here at its
  // size. A store lists at least every file written since its data was last made durable, and
  // may list more; a store with nothing durable (memory) lists what it holds.
  struct DataEnd {
    uint64_t file = 0;
    uint64_t end = 0;
    friend bool operator==(const DataEnd&, const DataEnd&) = default;
  };
  virtual Result<std::vector<DataEnd>> RecentDataEnds() = 0;
  // Bytes of storage in use (for statfs), best effort.
  virtual uint64_t UsedBytes() = 0;
  // The capacity of the storage behind the store and what of it is free (for statfs):
  // the file system holding a local store, the machine's memory for a memory store.
  struct Capacity {
    uint64_t total_bytes = 0;
    uint64_t free_bytes = 0;   // free for anyone
    uint64_t avail_bytes = 0;  // free for this server (e.g. less a root reserve)
  };
  virtual Capacity GetCapacity() = 0;
};

}  // namespace dittofs::stores

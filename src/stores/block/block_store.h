// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <algorithm>
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

  // Sparse files and copies by reference (NFSv4.2 DEALLOCATE, SEEK, READ_PLUS, CLONE, COPY;
  // SMB FSCTL_SET_ZERO_DATA, FSCTL_QUERY_ALLOCATED_RANGES, FSCTL_DUPLICATE_EXTENTS_TO_FILE,
  // FSCTL_SRV_COPYCHUNK).
  //
  // Punches a hole: [offset, offset + length) reads as zeros afterwards and its storage is
  // given back where the store can (a tiered store drops the range from its journal and from
  // the file's chunk map). Bytes outside the range are untouched; length 0 does nothing.
  // Durable as a write is: after the next Sync(file).
  virtual Status Deallocate(uint64_t file, uint64_t offset, uint64_t length) = 0;
  // A range of a file that holds data.
  struct Extent {
    uint64_t offset = 0;
    uint64_t length = 0;
    friend bool operator==(const Extent&, const Extent&) = default;
  };
  // The ranges of `file` that hold data within [offset, end), in increasing order, disjoint and
  // coalesced (two ranges never touch), clipped to [offset, end); at most `max` of them (the
  // first ones). A store may report more than was written (whole blocks) but never reports a
  // range that holds data as a hole: a byte outside every range reads as zero. A file never
  // written has none.
  virtual Result<std::vector<Extent>> DataExtents(uint64_t file, uint64_t offset, uint64_t end,
                                                  size_t max) = 0;
  // Makes [dst_offset, dst_offset + length) of `dst` read as [src_offset, src_offset + length)
  // of `src` read at the call (holes stay holes where the store keeps them). `src` and `dst` may
  // be the same file; the ranges then must not overlap (Errc::kInvalid). A store that can share
  // stored data between files does (ClonesByReference): no byte is copied, and later writes to
  // either file leave the other unchanged (copy on write). Others copy, in bounded pieces.
  // Durable when it returns.
  virtual Status Clone(uint64_t src, uint64_t src_offset, uint64_t dst, uint64_t dst_offset,
                       uint64_t length);
  // Whether Clone shares data instead of copying it (its cost then does not grow with the
  // bytes, once the source's data is stored).
  virtual bool ClonesByReference() const { return false; }
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

// The copying Clone: the source's data extents read and written in pieces of at most 1 MiB, the
// holes between them punched, then the destination synced.
inline Status BlockStore::Clone(uint64_t src, uint64_t src_offset, uint64_t dst,
                                uint64_t dst_offset, uint64_t length) {
  if (length == 0) return Status::Ok();
  if (src_offset > UINT64_MAX - length || dst_offset > UINT64_MAX - length) {
    return Status(Errc::kInvalid, "clone range overflows");
  }
  if (src == dst && src_offset < dst_offset + length && dst_offset < src_offset + length) {
    return Status(Errc::kInvalid, "clone ranges of one file overlap");
  }
  constexpr uint64_t kPiece = 1 << 20;
  const uint64_t end = src_offset + length;
  uint64_t at = src_offset;  // everything before it is done
  Buffer buffer(kPiece);
  while (at < end) {
    ASSIGN_OR_RETURN(std::vector<Extent> extents, DataExtents(src, at, end, 64));
    if (extents.empty()) {
      RETURN_IF_ERROR(Deallocate(dst, dst_offset + (at - src_offset), end - at));
      break;
    }
    for (const Extent& e : extents) {
      if (e.offset > at)
        RETURN_IF_ERROR(Deallocate(dst, dst_offset + (at - src_offset), e.offset - at));
      for (uint64_t p = e.offset; p < e.offset + e.length;) {
        const size_t n = static_cast<size_t>(std::min(kPiece, e.offset + e.length - p));
        MutableByteView piece = buffer.mutable_view().subspan(0, n);
        RETURN_IF_ERROR(Read(src, p, piece));
        RETURN_IF_ERROR(Write(dst, dst_offset + (p - src_offset), piece));
        p += n;
      }
      at = e.offset + e.length;
    }
  }
  return Sync(dst);
}

}  // namespace dittofs::stores

// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "base/result.h"
#include "stores/block/block_store.h"

namespace dittofs::stores {

// Where data lives once the journal has let go of it (the chunk store). Reads of ranges the
// journal does not hold come from here. The journal never changes the backing: whoever
// truncates or removes a file must also cut the backing's copy (before the journal's, so that
// no read finds neither). Must be safe to call from any thread.
class JournalBacking {
 public:
  virtual ~JournalBacking() = default;
  // The `length` bytes at `offset` of `file`; zeros where the backing has nothing. A result
  // shorter than `length` reads as zeros past its end.
  virtual Result<BlockRead> Read(uint64_t file, uint64_t offset, size_t length) = 0;
  // The ranges of `file` within [offset, end) where the backing holds data, as
  // BlockStore::DataExtents gives them (ordered, coalesced, clipped, at most `max`, never a
  // range of data reported as a hole).
  virtual Result<std::vector<BlockStore::Extent>> DataExtents(uint64_t file, uint64_t offset,
                                                              uint64_t end, size_t max) = 0;
};

struct JournalOptions {
  std::string dir;                       // segment files live here (created, with parents)
  uint64_t segment_bytes = 64 << 20;     // a new segment starts past this size
  uint64_t capacity_bytes = 4ull << 30;  // bound on the journal's bytes on disk
};

// One dirty (not yet uploaded) range; `seq` orders writes (larger = newer).
struct DirtyRange {
  uint64_t file = 0;
  uint64_t offset = 0;
  uint64_t length = 0;
  uint64_t seq = 0;
  friend bool operator==(const DirtyRange&, const DirtyRange&) = default;
};

struct JournalStats {
  uint64_t dirty_bytes = 0;       // live data not yet marked clean
  uint64_t clean_bytes = 0;       // live data also held by the backing
  uint64_t disk_bytes = 0;        // bytes of the segment files
  uint64_t segments = 0;          // segment files
  uint64_t free_segments = 0;     // retired segment files kept for reuse
  uint64_t free_bytes = 0;        // their bytes (within the capacity, not in disk_bytes)
  uint64_t records_replayed = 0;  // valid records read at open
  uint64_t torn_bytes = 0;        // bytes cut at open: torn or unreadable tails
};

// A BlockStore that appends every change as a CRC-framed record to segment files (the format
// is docs/formats/journal.md) and serves reads from an in-memory index of the newest bytes.
// Writes return without flushing; Sync(file) makes every completed change of every file
// durable, sharing one flush among concurrent callers. After a crash, opening the journal
// replays the segments and cuts torn tails; no repair is needed.
//
// Data is dirty until MarkClean says the backing holds it. Clean data may be evicted (least
// recently used segments first) to keep the journal under capacity_bytes; dirty data never is.
// When dirty data alone fills the capacity, writers wait for MarkClean (back-pressure).
//
// All methods are safe to call concurrently; operations on different files never wait for each
// other's I/O (they briefly share the append position and the flush).
class JournalBlockStore : public BlockStore {
 public:
  // Up to `max` files that hold dirty data, in no particular order.
  virtual std::vector<uint64_t> DirtyFiles(size_t max) = 0;
  // The dirty ranges of `file`, by offset, non-overlapping.
  virtual std::vector<DirtyRange> DirtyRanges(uint64_t file) = 0;
  // Records that the backing now holds the bytes of [offset, offset + length) of `file` whose
  // newest write has a seq <= `seq`; newer writes in the range stay dirty. Journaled but not
  // flushed: once a later Sync returns, a reopen does not queue them again.
  virtual Status MarkClean(uint64_t file, uint64_t offset, uint64_t length, uint64_t seq) = 0;
  virtual JournalStats Stats() = 0;
};

// Opens (creating if needed) the journal in options.dir and replays it. `backing` may be null:
// then nothing is ever evicted, and writers never wait for space (the capacity is exceeded
// rather than block forever). Otherwise `backing` must outlive the store.
// Errc::kInvalid for unusable options, Errc::kNotSupported for segments written by a newer
// format version, Errc::kIo when the directory cannot be read.
Result<std::unique_ptr<JournalBlockStore>> OpenJournalBlockStore(const JournalOptions& options,
                                                                 JournalBacking* backing);

}  // namespace dittofs::stores

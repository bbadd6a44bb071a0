// SPDX-License-Identifier: Apache-2.0
#include "stores/block/memory/memory_block_store.h"

#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cstring>
#include <limits>
#include <map>
#include <unordered_map>
#include <utility>
#include <vector>

#include "base/mutex.h"

namespace dittofs::stores {
namespace {

constexpr size_t kShardCount = 64;
constexpr uint64_t kBlockSize = 64 * 1024;

using Block = std::shared_ptr<std::byte[]>;

// One file's data. A block exists once any byte of it was written; its unwritten bytes are
// zeros, as are the bytes of every missing block.
//
// Blocks are shared with readers: ReadRange hands out views of them, holding a reference, so a
// reply can send them without a copy. A block is therefore copy-on-write: a writer that finds
// one still referenced elsewhere writes into a copy, and the reader keeps the bytes it read.
struct File {
  SharedMutex mu;
  std::map<uint64_t, Block> blocks GUARDED_BY(mu);  // by offset / kBlockSize
  // Set by Remove once the file left the table: a writer that found it just before must look
  // again, or its data would land in a file nobody can read.
  bool removed GUARDED_BY(mu) = false;
};

// The file table is sharded, and its locks are held only to find a file: the data is guarded by
// each file's own lock, so operations on different files never wait for each other.
struct Shard {
  Mutex mu;
  // Ownership is shared: a Read or Write keeps using the File after letting go of the shard lock,
  // while a concurrent Remove may take it out of the table.
  std::unordered_map<uint64_t, std::shared_ptr<File>> files GUARDED_BY(mu);
};

bool RangeOverflows(uint64_t offset, size_t size) {
  return size > std::numeric_limits<uint64_t>::max() - offset;
}

// The end of [offset, offset + length), saturating instead of wrapping.
uint64_t RangeEnd(uint64_t offset, uint64_t length) {
  return length > std::numeric_limits<uint64_t>::max() - offset
             ? std::numeric_limits<uint64_t>::max()
             : offset + length;
}

class MemoryBlockStore final : public BlockStore {
 public:
  Status Write(uint64_t file, uint64_t offset, ByteView data) override;
  Status Read(uint64_t file, uint64_t offset, MutableByteView out) override;
  Result<BlockRead> ReadRange(uint64_t file, uint64_t offset, size_t length) override;
  Status Truncate(uint64_t file, uint64_t size) override;
  Status Remove(uint64_t file) override;
  Status Deallocate(uint64_t file, uint64_t offset, uint64_t length) override;
  // Whole blocks: every block held, partly written or not.
  Result<std::vector<Extent>> DataExtents(uint64_t file, uint64_t offset, uint64_t end,
                                          size_t max) override;
  Status Sync(uint64_t file) override { return Status::Ok(); }  // never durable
  Result<std::vector<DataEnd>> RecentDataEnds() override;       // every file it holds
  uint64_t UsedBytes() override { return blocks_in_use_.load() * kBlockSize; }
  Capacity GetCapacity() override {
    // The data lives in this process's memory: the machine's memory bounds it.
    uint64_t page = static_cast<uint64_t>(sysconf(_SC_PAGESIZE));
    uint64_t total = page * static_cast<uint64_t>(sysconf(_SC_PHYS_PAGES));
    uint64_t free = page * static_cast<uint64_t>(sysconf(_SC_AVPHYS_PAGES));
    return {total, free, free};
  }

 private:
  Shard& ShardOf(uint64_t file) { return shards_[file % kShardCount]; }
  // Null when the file has no data.
  std::shared_ptr<File> Find(uint64_t file);
  std::shared_ptr<File> FindOrCreate(uint64_t file);
  void WriteLocked(File& f, uint64_t offset, ByteView data) EXCLUSIVE_LOCKS_REQUIRED(f.mu);

  std::array<Shard, kShardCount> shards_;
  std::atomic<uint64_t> blocks_in_use_{0};
};

std::shared_ptr<File> MemoryBlockStore::Find(uint64_t file) {
  Shard& shard = ShardOf(file);
  MutexLock lock(&shard.mu);
  auto it = shard.files.find(file);
  return it == shard.files.end() ? nullptr : it->second;
}

std::shared_ptr<File> MemoryBlockStore::FindOrCreate(uint64_t file) {
  Shard& shard = ShardOf(file);
  MutexLock lock(&shard.mu);
  std::shared_ptr<File>& slot = shard.files[file];
  if (slot == nullptr) slot = std::make_shared<File>();
  return slot;
}

Status MemoryBlockStore::Write(uint64_t file, uint64_t offset, ByteView data) {
  if (RangeOverflows(offset, data.size())) return Status(Errc::kTooBig, "write past 2^64 bytes");
  if (data.empty()) return Status::Ok();
  for (;;) {
    std::shared_ptr<File> f = FindOrCreate(file);
    WriterLock lock(&f->mu);
    if (f->removed) continue;  // removed since we found it; the table has a fresh one now
    WriteLocked(*f, offset, data);
    return Status::Ok();
  }
}

// Gives `block` to the caller alone: when a reader still holds it, swaps in a copy (or, when
// the caller will overwrite all of it, a fresh block).
void MakeExclusive(Block& block, bool overwrite_all) {
  if (block.use_count() == 1) return;  // under the file's writer lock no new reader can appear
  Block copy = std::make_shared_for_overwrite<std::byte[]>(kBlockSize);
  if (!overwrite_all) std::memcpy(copy.get(), block.get(), kBlockSize);
  block = std::move(copy);
}

void MemoryBlockStore::WriteLocked(File& f, uint64_t offset, ByteView data) {
  for (size_t done = 0; done < data.size();) {
    uint64_t at = offset + done;
    size_t within = at % kBlockSize;
    size_t n = std::min<size_t>(kBlockSize - within, data.size() - done);
    Block& block = f.blocks[at / kBlockSize];
    if (block == nullptr) {
      // A block the write covers entirely needs no zero-fill first.
      block = n == kBlockSize ? std::make_shared_for_overwrite<std::byte[]>(kBlockSize)
                              : std::make_shared<std::byte[]>(kBlockSize);
      blocks_in_use_.fetch_add(1);
    } else {
      MakeExclusive(block, n == kBlockSize);
    }
    std::memcpy(block.get() + within, data.data() + done, n);
    done += n;
  }
}

Result<std::vector<BlockStore::DataEnd>> MemoryBlockStore::RecentDataEnds() {
  std::vector<DataEnd> ends;
  for (Shard& shard : shards_) {
    std::vector<std::pair<uint64_t, std::shared_ptr<File>>> files;
    {
      MutexLock lock(&shard.mu);
      files.assign(shard.files.begin(), shard.files.end());
    }
    for (const auto& [id, f] : files) {
      ReaderLock lock(&f->mu);
      if (!f->blocks.empty()) ends.push_back({id, (f->blocks.rbegin()->first + 1) * kBlockSize});
    }
  }
  return ends;
}

// Zeros to hand out for holes.
const std::byte kZeros[kBlockSize] = {};

Result<BlockRead> MemoryBlockStore::ReadRange(uint64_t file, uint64_t offset, size_t length) {
  if (RangeOverflows(offset, length)) return Status(Errc::kTooBig, "read past 2^64 bytes");
  BlockRead r;
  std::shared_ptr<File> f = Find(file);
  if (f == nullptr) {
    for (size_t done = 0; done < length; done += kBlockSize) {
      r.pieces.emplace_back(kZeros, std::min<size_t>(kBlockSize, length - done));
    }
    return r;
  }
  ReaderLock lock(&f->mu);
  auto block = f->blocks.lower_bound(offset / kBlockSize);
  for (size_t done = 0; done < length;) {
    uint64_t at = offset + done;
    size_t within = at % kBlockSize;
    size_t n = std::min<size_t>(kBlockSize - within, length - done);
    if (block != f->blocks.end() && block->first == at / kBlockSize) {
      r.pieces.emplace_back(block->second.get() + within, n);
      r.holds.push_back(block->second);
      ++block;
    } else {
      r.pieces.emplace_back(kZeros, n);
    }
    done += n;
  }
  return r;
}

Status MemoryBlockStore::Read(uint64_t file, uint64_t offset, MutableByteView out) {
  if (RangeOverflows(offset, out.size())) return Status(Errc::kTooBig, "read past 2^64 bytes");
  std::shared_ptr<File> f = Find(file);
  if (f == nullptr) {
    std::fill(out.begin(), out.end(), std::byte{0});
    return Status::Ok();
  }
  ReaderLock lock(&f->mu);
  auto block = f->blocks.lower_bound(offset / kBlockSize);
  for (size_t done = 0; done < out.size();) {
    uint64_t at = offset + done;
    size_t within = at % kBlockSize;
    size_t n = std::min<size_t>(kBlockSize - within, out.size() - done);
    // Block indexes visited only grow, so `block` is this one or a later one.
    if (block != f->blocks.end() && block->first == at / kBlockSize) {
      std::memcpy(out.data() + done, block->second.get() + within, n);
      ++block;
    } else {
      std::memset(out.data() + done, 0, n);
    }
    done += n;
  }
  return Status::Ok();
}

Status MemoryBlockStore::Truncate(uint64_t file, uint64_t size) {
  std::shared_ptr<File> f = Find(file);
  if (f == nullptr) return Status::Ok();
  std::map<uint64_t, Block> discarded;  // freed after unlocking
  {
    WriterLock lock(&f->mu);
    uint64_t kept_blocks = size / kBlockSize + (size % kBlockSize != 0 ? 1 : 0);
    auto first_gone = f->blocks.lower_bound(kept_blocks);
    while (first_gone != f->blocks.end()) {
      discarded.insert(f->blocks.extract(first_gone++));
    }
    if (size % kBlockSize != 0) {
      auto last = f->blocks.find(size / kBlockSize);
      if (last != f->blocks.end()) {
        size_t within = size % kBlockSize;
        MakeExclusive(last->second, false);
        std::memset(last->second.get() + within, 0, kBlockSize - within);
      }
    }
  }
  blocks_in_use_.fetch_sub(discarded.size());
  return Status::Ok();
}

Status MemoryBlockStore::Deallocate(uint64_t file, uint64_t offset, uint64_t length) {
  if (length == 0) return Status::Ok();
  std::shared_ptr<File> f = Find(file);
  if (f == nullptr) return Status::Ok();
  const uint64_t end = RangeEnd(offset, length);
  std::vector<Block> discarded;  // freed after unlocking
  {
    WriterLock lock(&f->mu);
    for (auto it = f->blocks.lower_bound(offset / kBlockSize);
         it != f->blocks.end() && it->first <= (end - 1) / kBlockSize;) {
      const uint64_t block_begin = it->first * kBlockSize;
      const uint64_t from = std::max(offset, block_begin) - block_begin;
      const uint64_t to = std::min<uint64_t>(end - block_begin, kBlockSize);
      if (from == 0 && to == kBlockSize) {
        discarded.push_back(std::move(it->second));
        it = f->blocks.erase(it);
        continue;
      }
      // A block the range covers in part keeps its other bytes; a reader may still hold it.
      MakeExclusive(it->second, false);
      std::memset(it->second.get() + from, 0, to - from);
      // Left all zeros (its other bytes never written, or zeros): it holds no data any more.
      const std::byte* b = it->second.get();
      if (b[0] == std::byte{0} && std::memcmp(b, b + 1, kBlockSize - 1) == 0) {
        discarded.push_back(std::move(it->second));
        it = f->blocks.erase(it);
        continue;
      }
      ++it;
    }
  }
  blocks_in_use_.fetch_sub(discarded.size());
  return Status::Ok();
}

Result<std::vector<BlockStore::Extent>> MemoryBlockStore::DataExtents(uint64_t file,
                                                                      uint64_t offset, uint64_t end,
                                                                      size_t max) {
  std::vector<Extent> extents;
  std::shared_ptr<File> f = Find(file);
  if (f == nullptr || offset >= end) return extents;
  ReaderLock lock(&f->mu);
  for (auto it = f->blocks.lower_bound(offset / kBlockSize);
       it != f->blocks.end() && it->first <= (end - 1) / kBlockSize; ++it) {
    const uint64_t block_begin = it->first * kBlockSize;
    const uint64_t begin = std::max(offset, block_begin);
    const uint64_t stop = std::min(end, RangeEnd(block_begin, kBlockSize));
    if (!extents.empty() && extents.back().offset + extents.back().length == begin) {
      extents.back().length += stop - begin;
      continue;
    }
    if (extents.size() == max) break;
    extents.push_back({begin, stop - begin});
  }
  return extents;
}

Status MemoryBlockStore::Remove(uint64_t file) {
  std::shared_ptr<File> f;
  {
    Shard& shard = ShardOf(file);
    MutexLock lock(&shard.mu);
    auto it = shard.files.find(file);
    if (it == shard.files.end()) return Status::Ok();
    f = std::move(it->second);
    shard.files.erase(it);
  }
  std::map<uint64_t, Block> discarded;  // freed after unlocking
  {
    WriterLock lock(&f->mu);
    f->removed = true;
    discarded.swap(f->blocks);
  }
  blocks_in_use_.fetch_sub(discarded.size());
  return Status::Ok();
}

}  // namespace

std::unique_ptr<BlockStore> NewMemoryBlockStore() { return std::make_unique<MemoryBlockStore>(); }

}  // namespace dittofs::stores

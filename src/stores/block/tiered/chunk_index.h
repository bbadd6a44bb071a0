// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/bytes.h"
#include "base/result.h"
#include "chunk/blake3.h"
#include "stores/cas/object_format.h"
#include "stores/metadata/metadata_store.h"

// The chunk index of a tiered block store: the records it keeps in the share's metadata store
// (their byte layouts are in docs/formats/objects.md, "The chunk index"), and the reference
// counting that keeps them consistent inside one metadata transaction.
namespace dittofs::stores::tiered {

using chunk::Blake3Hash;

// [begin, end) of a file holds bytes [chunk_offset, chunk_offset + end - begin) of a chunk.
struct Extent {
  uint64_t begin = 0;
  uint64_t end = 0;
  Blake3Hash hash;
  uint32_t chunk_offset = 0;
  friend bool operator==(const Extent&, const Extent&) = default;
};

// Where a chunk is stored, and how many extents reference it.
struct ChunkRecord {
  uint64_t refs = 0;
  uint64_t object = 0;
  cas::ChunkLocation location;
  friend bool operator==(const ChunkRecord&, const ChunkRecord&) = default;
};

// One uploaded object: its chunks, and how many of them are referenced (live). An object with
// no live chunk is queued for deletion (RecordTable::kGcQueue) from `dead_since_ms`.
struct ObjectRecord {
  uint64_t size = 0;
  uint64_t live = 0;
  uint64_t dead_since_ms = 0;  // 0 while live > 0
  std::string wrapped_data_key;
  std::vector<Blake3Hash> chunks;
  friend bool operator==(const ObjectRecord&, const ObjectRecord&) = default;
};

// Record keys and values.
std::string ExtentKey(uint64_t file, uint64_t end);
std::string FileKeyPrefix(uint64_t file);  // every extent key of `file` starts with it
std::string EncodeExtent(const Extent& e);
Result<Extent> DecodeExtent(std::string_view key, std::string_view value);
uint64_t ExtentKeyFile(std::string_view key);  // REQUIRES: a key ExtentKey made

std::string ChunkKey(const Blake3Hash& hash);
std::string EncodeChunk(const ChunkRecord& c);
Result<ChunkRecord> DecodeChunk(std::string_view value);

std::string ObjectKey(uint64_t object);
std::string EncodeObject(const ObjectRecord& o);
Result<ObjectRecord> DecodeObject(std::string_view value);

std::string GcQueueKey(uint64_t dead_since_ms, uint64_t object);
// (dead_since_ms, object) of a queue key; nullopt when malformed.
std::optional<std::pair<uint64_t, uint64_t>> DecodeGcQueueKey(std::string_view key);

// The remote object key of object `id`: "objects/<16 hex digits>"; and back.
std::string RemoteObjectKey(uint64_t object);
std::optional<uint64_t> ParseRemoteObjectKey(std::string_view key);
inline constexpr std::string_view kRemoteObjectPrefix = "objects/";

// The keys of one namespace of the chunk index (TieredOptions::index_namespace): each record
// key, and each remote object key, is the namespace followed by the key of the unprefixed
// layout above. The empty namespace is that layout itself, byte for byte, so data written
// before namespaces existed needs no migration. Within a table, all keys of one namespace have
// one length (the unprefixed length plus the namespace's), which is how a scan of the empty
// namespace, whose range holds every other namespace's keys too, tells its own keys apart;
// a non-empty namespace bounds its scans to its prefix. Namespaces must be prefix-free among
// themselves (the server's end in '/').
class IndexKeys {
 public:
  explicit IndexKeys(std::string ns = "") : ns_(std::move(ns)) {}
  const std::string& ns() const { return ns_; }

  std::string Extent(uint64_t file, uint64_t end) const { return ns_ + ExtentKey(file, end); }
  std::string FilePrefix(uint64_t file) const { return ns_ + FileKeyPrefix(file); }
  std::string Chunk(const Blake3Hash& hash) const { return ns_ + ChunkKey(hash); }
  std::string Object(uint64_t object) const { return ns_ + ObjectKey(object); }
  std::string GcQueue(uint64_t dead_since_ms, uint64_t object) const {
    return ns_ + GcQueueKey(dead_since_ms, object);
  }
  std::string RemoteObject(uint64_t object) const { return ns_ + RemoteObjectKey(object); }
  std::string RemoteObjectPrefix() const { return ns_ + std::string(kRemoteObjectPrefix); }
  std::optional<uint64_t> ParseRemoteObject(std::string_view key) const;

  // The unprefixed part of `key` when it is a key of this namespace whose unprefixed form has
  // `unprefixed_size` bytes (16 for extent and GC queue keys, 32 for chunks, 8 for objects).
  std::optional<std::string_view> Own(std::string_view key, size_t unprefixed_size) const;
  // The scan range [ScanBegin(), ScanEnd()) holding every key of this namespace; ScanEnd() is
  // "" (unbounded) for the empty namespace.
  const std::string& ScanBegin() const { return ns_; }
  std::string ScanEnd() const;

 private:
  std::string ns_;
};

// Reference counting inside one metadata transaction. Reads records once, keeps them changed
// in memory, and writes them all back in Finish(). Not thread-safe; one per transaction attempt.
class IndexTxn {
 public:
  // `keys` must outlive this IndexTxn.
  IndexTxn(MetadataTxn& txn, const IndexKeys& keys, uint64_t now_ms)
      : txn_(txn), keys_(keys), now_ms_(now_ms) {}

  // The first `max` extents of `file` that overlap [begin, end), in order. With `track`, each
  // is read so that the commit conflicts with a concurrent change of it.
  Result<std::vector<Extent>> Overlapping(uint64_t file, uint64_t begin, uint64_t end,
                                          bool track = true, size_t max = SIZE_MAX);
  // Replaces whatever `file` maps in [begin, end) by nothing: extents inside go (their chunks
  // lose a reference), extents across an edge are cut to the part outside.
  Status Cut(uint64_t file, uint64_t begin, uint64_t end);
  // Maps `e` into `file` (its range must be unmapped: Cut first); the chunk gains a reference.
  // Errc::kNotFound when the chunk has no record.
  Status Map(uint64_t file, const Extent& e);

  // A chunk's record (read once, tracked); Errc::kNotFound when absent.
  Result<ChunkRecord*> Chunk(const Blake3Hash& hash);
  // Records a chunk of a new object (no references yet) unless `hash` already has a record.
  // Returns whether it recorded it.
  Result<bool> AddChunk(const Blake3Hash& hash, const ChunkRecord& record);
  // Records a new object, live and dead counts as its chunks' references make them.
  void AddObject(uint64_t object, ObjectRecord record);

  // Writes back every changed record. Call once, last.
  Status Finish();

 private:
  Result<ObjectRecord*> Object(uint64_t object);
  Status AddRef(const Blake3Hash& hash);
  Status DropRef(const Blake3Hash& hash);
  void PutExtent(uint64_t file, const Extent& e);

  MetadataTxn& txn_;
  const IndexKeys& keys_;
  const uint64_t now_ms_;
  struct CachedChunk {
    ChunkRecord record;
    bool dirty = false;
  };
  struct CachedObject {
    ObjectRecord record;
    uint64_t original_dead_since_ms = 0;
    bool existed = false;
    bool dirty = false;
  };
  std::map<std::string, CachedChunk> chunks_;  // by keys_.Chunk
  std::map<uint64_t, CachedObject> objects_;
};

}  // namespace dittofs::stores::tiered

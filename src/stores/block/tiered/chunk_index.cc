// SPDX-License-Identifier: Apache-2.0
#include "stores/block/tiered/chunk_index.h"

#include <algorithm>
#include <cstring>
#include <utility>

#include "base/check.h"
#include "base/record_codec.h"

namespace dittofs::stores::tiered {
namespace {

constexpr uint8_t kExtentEncoding = 1;
constexpr uint8_t kChunkEncoding = 1;
constexpr uint8_t kObjectEncoding = 1;

void AppendHash(std::string* out, const Blake3Hash& h) {
  out->append(reinterpret_cast<const char*>(h.bytes.data()), h.bytes.size());
}

Blake3Hash ReadHash(FieldReader& r) {
  Blake3Hash h;
  std::string_view b = r.Take(h.bytes.size());
  if (r.ok()) std::memcpy(h.bytes.data(), b.data(), b.size());
  return h;
}

Status Corrupt(std::string_view what) {
  return Status(Errc::kIo, "corrupt chunk index record: " + std::string(what));
}

}  // namespace

std::string ExtentKey(uint64_t file, uint64_t end) {
  std::string key;
  AppendBe64(&key, file);
  AppendBe64(&key, end);
  return key;
}

std::string FileKeyPrefix(uint64_t file) {
  std::string key;
  AppendBe64(&key, file);
  return key;
}

uint64_t ExtentKeyFile(std::string_view key) {
  CHECK(key.size() == 16) << "extent key of " << key.size() << " bytes";
  return LoadBe64(key);
}

std::string EncodeExtent(const Extent& e) {
  std::string v;
  AppendU8(&v, kExtentEncoding);
  AppendLe64(&v, e.begin);
  AppendLe32(&v, e.chunk_offset);
  AppendHash(&v, e.hash);
  return v;
}

Result<Extent> DecodeExtent(std::string_view key, std::string_view value) {
  if (key.size() != 16) return Corrupt("extent key size");
  FieldReader r(value);
  if (r.U8() != kExtentEncoding) return Corrupt("extent encoding");
  Extent e;
  e.end = LoadBe64(key.substr(8));
  e.begin = r.Le64();
  e.chunk_offset = r.Le32();
  e.hash = ReadHash(r);
  if (!r.done() || e.begin >= e.end) return Corrupt("extent");
  return e;
}

std::string ChunkKey(const Blake3Hash& hash) {
  return std::string(reinterpret_cast<const char*>(hash.bytes.data()), hash.bytes.size());
}

std::string EncodeChunk(const ChunkRecord& c) {
  std::string v;
  AppendU8(&v, kChunkEncoding);
  AppendLe64(&v, c.refs);
  AppendLe64(&v, c.object);
  AppendLe64(&v, c.location.offset);
  AppendLe32(&v, c.location.stored_length);
  AppendLe32(&v, c.location.raw_length);
  AppendU8(&v, c.location.flags);
  return v;
}

Result<ChunkRecord> DecodeChunk(std::string_view value) {
  FieldReader r(value);
  if (r.U8() != kChunkEncoding) return Corrupt("chunk encoding");
  ChunkRecord c;
  c.refs = r.Le64();
  c.object = r.Le64();
  c.location.offset = r.Le64();
  c.location.stored_length = r.Le32();
  c.location.raw_length = r.Le32();
  c.location.flags = r.U8();
  if (!r.done()) return Corrupt("chunk");
  return c;
}

std::string ObjectKey(uint64_t object) {
  std::string key;
  AppendBe64(&key, object);
  return key;
}

std::string EncodeObject(const ObjectRecord& o) {
  std::string v;
  AppendU8(&v, kObjectEncoding);
  AppendLe64(&v, o.size);
  AppendLe64(&v, o.live);
  AppendLe64(&v, o.dead_since_ms);
  AppendLe16(&v, static_cast<uint16_t>(o.wrapped_data_key.size()));
  v += o.wrapped_data_key;
  AppendLe32(&v, static_cast<uint32_t>(o.chunks.size()));
  for (const Blake3Hash& h : o.chunks) AppendHash(&v, h);
  return v;
}

Result<ObjectRecord> DecodeObject(std::string_view value) {
  FieldReader r(value);
  if (r.U8() != kObjectEncoding) return Corrupt("object encoding");
  ObjectRecord o;
  o.size = r.Le64();
  o.live = r.Le64();
  o.dead_since_ms = r.Le64();
  o.wrapped_data_key = std::string(r.Take(r.Le16()));
  uint32_t n = r.Le32();
  if (n > value.size() / 32) return Corrupt("object chunk count");
  o.chunks.reserve(n);
  for (uint32_t i = 0; i < n; ++i) o.chunks.push_back(ReadHash(r));
  if (!r.done()) return Corrupt("object");
  return o;
}

std::string GcQueueKey(uint64_t dead_since_ms, uint64_t object) {
  std::string key;
  AppendBe64(&key, dead_since_ms);
  AppendBe64(&key, object);
  return key;
}

std::optional<std::pair<uint64_t, uint64_t>> DecodeGcQueueKey(std::string_view key) {
  if (key.size() != 16) return std::nullopt;
  return std::make_pair(LoadBe64(key), LoadBe64(key.substr(8)));
}

std::string RemoteObjectKey(uint64_t object) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string key(kRemoteObjectPrefix);
  for (int i = 15; i >= 0; --i) key.push_back(kHex[(object >> (4 * i)) & 0xf]);
  return key;
}

std::optional<uint64_t> ParseRemoteObjectKey(std::string_view key) {
  if (!key.starts_with(kRemoteObjectPrefix)) return std::nullopt;
  key.remove_prefix(kRemoteObjectPrefix.size());
  if (key.size() != 16) return std::nullopt;
  uint64_t v = 0;
  for (char c : key) {
    int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
    if (d < 0) return std::nullopt;
    v = (v << 4) | static_cast<uint64_t>(d);
  }
  return v;
}

std::optional<uint64_t> IndexKeys::ParseRemoteObject(std::string_view key) const {
  if (!key.starts_with(ns_)) return std::nullopt;
  return ParseRemoteObjectKey(key.substr(ns_.size()));
}

std::optional<std::string_view> IndexKeys::Own(std::string_view key, size_t unprefixed_size) const {
  if (key.size() != ns_.size() + unprefixed_size || !key.starts_with(ns_)) return std::nullopt;
  return key.substr(ns_.size());
}

std::string IndexKeys::ScanEnd() const {
  // The first key past every key that starts with ns_: drop trailing 0xff bytes, then add one
  // to the last byte.
  std::string end = ns_;
  while (!end.empty() && static_cast<uint8_t>(end.back()) == 0xff) end.pop_back();
  if (end.empty()) return "";
  end.back() = static_cast<char>(static_cast<uint8_t>(end.back()) + 1);
  return end;
}

// ---- IndexTxn ----

Result<std::vector<Extent>> IndexTxn::Overlapping(uint64_t file, uint64_t begin, uint64_t end,
                                                  bool track, size_t max) {
  std::vector<Extent> out;
  if (begin >= end) return out;
  // Keys are (file, end): the extents overlapping [begin, end) are those from the first whose
  // end is past `begin`, up to the first that starts at or after `end`.
  std::string from = keys_.Extent(file, begin + 1);
  const std::string to = file + 1 == 0 ? keys_.ScanEnd() : keys_.FilePrefix(file + 1);
  constexpr size_t kBatch = 256;
  for (;;) {
    ASSIGN_OR_RETURN(std::vector<Record> batch,
                     txn_.ScanRecords(RecordTable::kChunkMap, from, to, kBatch));
    for (const Record& rec : batch) {
      // The empty namespace's range may hold other namespaces' keys (of a file id that begins
      // with their bytes): not ours.
      std::optional<std::string_view> own = keys_.Own(rec.key, 16);
      if (!own) continue;
      ASSIGN_OR_RETURN(Extent e, DecodeExtent(*own, rec.value));
      if (e.begin >= end || out.size() >= max) return out;
      if (track) {
        ASSIGN_OR_RETURN(std::string again, txn_.GetRecord(RecordTable::kChunkMap, rec.key));
        ASSIGN_OR_RETURN(e, DecodeExtent(*own, again));
      }
      out.push_back(e);
    }
    if (batch.size() < kBatch) return out;
    from = batch.back().key;
    from.push_back('\0');
  }
}

void IndexTxn::PutExtent(uint64_t file, const Extent& e) {
  txn_.PutRecord(RecordTable::kChunkMap, keys_.Extent(file, e.end), EncodeExtent(e));
}

Status IndexTxn::Cut(uint64_t file, uint64_t begin, uint64_t end) {
  ASSIGN_OR_RETURN(std::vector<Extent> extents, Overlapping(file, begin, end));
  for (const Extent& x : extents) {
    txn_.DeleteRecord(RecordTable::kChunkMap, keys_.Extent(file, x.end));
    RETURN_IF_ERROR(DropRef(x.hash));
    if (x.begin < begin) {
      Extent left = x;
      left.end = begin;
      PutExtent(file, left);
      RETURN_IF_ERROR(AddRef(x.hash));
    }
    if (x.end > end) {
      Extent right = x;
      right.begin = end;
      right.chunk_offset = static_cast<uint32_t>(x.chunk_offset + (end - x.begin));
      PutExtent(file, right);
      RETURN_IF_ERROR(AddRef(x.hash));
    }
  }
  return Status::Ok();
}

Status IndexTxn::Map(uint64_t file, const Extent& e) {
  CHECK(e.begin < e.end) << "empty extent";
  RETURN_IF_ERROR(AddRef(e.hash));
  PutExtent(file, e);
  return Status::Ok();
}

Result<ChunkRecord*> IndexTxn::Chunk(const Blake3Hash& hash) {
  std::string key = keys_.Chunk(hash);
  if (auto it = chunks_.find(key); it != chunks_.end()) return &it->second.record;
  ASSIGN_OR_RETURN(std::string value, txn_.GetRecord(RecordTable::kChunks, key));
  ASSIGN_OR_RETURN(ChunkRecord record, DecodeChunk(value));
  return &chunks_.emplace(std::move(key), CachedChunk{record, false}).first->second.record;
}

Result<bool> IndexTxn::AddChunk(const Blake3Hash& hash, const ChunkRecord& record) {
  Result<ChunkRecord*> existing = Chunk(hash);
  if (existing.ok()) return false;
  if (existing.status().code() != Errc::kNotFound) return existing.status();
  chunks_[keys_.Chunk(hash)] = CachedChunk{record, true};
  return true;
}

void IndexTxn::AddObject(uint64_t object, ObjectRecord record) {
  CachedObject c;
  c.record = std::move(record);
  c.dirty = true;
  objects_[object] = std::move(c);
}

Result<ObjectRecord*> IndexTxn::Object(uint64_t object) {
  if (auto it = objects_.find(object); it != objects_.end()) return &it->second.record;
  ASSIGN_OR_RETURN(std::string value, txn_.GetRecord(RecordTable::kObjects, keys_.Object(object)));
  ASSIGN_OR_RETURN(ObjectRecord record, DecodeObject(value));
  CachedObject c;
  c.original_dead_since_ms = record.dead_since_ms;
  c.record = std::move(record);
  c.existed = true;
  return &objects_.emplace(object, std::move(c)).first->second.record;
}

Status IndexTxn::AddRef(const Blake3Hash& hash) {
  ASSIGN_OR_RETURN(ChunkRecord * c, Chunk(hash));
  chunks_[keys_.Chunk(hash)].dirty = true;
  if (c->refs++ == 0) {
    ASSIGN_OR_RETURN(ObjectRecord * o, Object(c->object));
    ++o->live;
    objects_[c->object].dirty = true;
  }
  return Status::Ok();
}

Status IndexTxn::DropRef(const Blake3Hash& hash) {
  ASSIGN_OR_RETURN(ChunkRecord * c, Chunk(hash));
  if (c->refs == 0) return Corrupt("reference count below zero for chunk " + hash.Hex());
  chunks_[keys_.Chunk(hash)].dirty = true;
  if (--c->refs == 0) {
    ASSIGN_OR_RETURN(ObjectRecord * o, Object(c->object));
    if (o->live == 0) return Corrupt("live chunk count below zero");
    --o->live;
    objects_[c->object].dirty = true;
  }
  return Status::Ok();
}

Status IndexTxn::Finish() {
  for (auto& [key, c] : chunks_) {
    if (c.dirty) txn_.PutRecord(RecordTable::kChunks, key, EncodeChunk(c.record));
  }
  for (auto& [id, c] : objects_) {
    if (!c.dirty) continue;
    ObjectRecord& o = c.record;
    // An object with no live chunk waits in the GC queue from the moment it died.
    uint64_t dead_since =
        o.live == 0 ? (c.original_dead_since_ms != 0 ? c.original_dead_since_ms : now_ms_) : 0;
    if (c.existed && c.original_dead_since_ms != 0 && c.original_dead_since_ms != dead_since) {
      txn_.DeleteRecord(RecordTable::kGcQueue, keys_.GcQueue(c.original_dead_since_ms, id));
    }
    if (dead_since != 0 && dead_since != c.original_dead_since_ms) {
      txn_.PutRecord(RecordTable::kGcQueue, keys_.GcQueue(dead_since, id), "");
    }
    o.dead_since_ms = dead_since;
    txn_.PutRecord(RecordTable::kObjects, keys_.Object(id), EncodeObject(o));
  }
  return Status::Ok();
}

}  // namespace dittofs::stores::tiered

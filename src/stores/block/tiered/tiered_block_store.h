// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>

#include "base/result.h"
#include "chunk/fastcdc.h"
#include "stores/block/block_store.h"
#include "stores/block/journal/journal_block_store.h"
#include "stores/cas/keyring.h"
#include "stores/cas/object_format.h"
#include "stores/metadata/metadata_store.h"
#include "stores/remote/remote_store.h"

namespace dittofs::stores {

struct TieredOptions {
  // The local journal: where writes land and are acknowledged. Its capacity is the local cache
  // size: clean (uploaded) data is evicted past it, and writers wait when dirty data fills it.
  JournalOptions journal;
  // The durable remote that chunks are uploaded to. Required.
  std::unique_ptr<RemoteStore> remote;
  // Compression and encryption of the remote's objects. When encrypting, `keyring` must be set;
  // the codec's keyring pointer is filled in by OpenTieredBlockStore.
  cas::ObjectCodec codec;
  std::optional<cas::Keyring> keyring;
  // Content-defined chunking. Changing these moves chunk boundaries, so data already stored
  // stops deduplicating against new data (it stays readable).
  chunk::FastCdcParams chunking;
  // Chunks are packed into objects of about this many bytes (stored, after compression).
  uint64_t object_bytes = 8 << 20;
  // A file's dirty data is carved (chunked, uploaded, committed) once it holds this many dirty
  // bytes, once its oldest dirty write is `carve_after` old, after Sync, or when the journal's
  // dirty data passes half its capacity.
  uint64_t carve_dirty_bytes = 256 << 20;
  std::chrono::milliseconds carve_after{std::chrono::seconds(30)};
  // Carve passes (each uploading its objects) running at once: the window of parallel uploads.
  int carve_threads = 4;
  // Failed uploads are retried, forever, with exponential backoff between these bounds.
  std::chrono::milliseconds retry_initial{std::chrono::milliseconds(200)};
  std::chrono::milliseconds retry_max{std::chrono::seconds(30)};
  // An object whose chunks are all unreferenced is deleted from the remote after this long.
  std::chrono::milliseconds gc_grace{std::chrono::hours(1)};
  // How often garbage collection looks for such objects.
  std::chrono::milliseconds gc_interval{std::chrono::minutes(1)};
  // How often the mark-and-sweep reconcile runs (it also runs once shortly after open).
  std::chrono::milliseconds reconcile_interval{std::chrono::hours(6)};
  // Decoded chunks kept in memory for reads that the journal no longer holds.
  uint64_t read_cache_bytes = 64 << 20;
  // Prefixes every key of the store's chunk index records and of its objects on the remote
  // (tiered::IndexKeys), so that stores with different namespaces over one metadata store (and
  // even one remote place) are independent. "" is the layout from before namespaces existed.
  // Namespaces of one metadata store must be prefix-free among themselves: the server's are
  // "" and "b<block store id>/".
  std::string index_namespace;
};

// How far a garbage collection or a reconcile got, for a job to show (core/jobs.h): `done` of
// `total` steps, `total` 0 while it is not known yet. The pass writes, anyone reads.
// `canceled`, when set, is asked between steps (on the pass's thread): true stops the pass
// there with Errc::kUnavailable, which leaves nothing half done (each step is whole).
struct PassProgress {
  std::atomic<uint64_t> done{0};
  std::atomic<uint64_t> total{0};
  std::function<bool()> canceled;
};

// The operations a tiered store asks of its remote, as TieredStats and the metrics name them.
inline constexpr std::array<const char*, 4> kRemoteOps = {"put", "get", "delete", "list"};
enum RemoteOp : size_t { kRemotePut, kRemoteGet, kRemoteDelete, kRemoteList };

struct TieredStats {
  JournalStats journal;
  std::array<uint64_t, kRemoteOps.size()> remote_requests{};  // by RemoteOp
  std::array<uint64_t, kRemoteOps.size()> remote_errors{};    // of those, the ones that failed
  uint64_t remote_retries = 0;  // requests the remote sent again itself (RemoteStore::Retries)
  uint64_t carve_passes = 0;
  uint64_t carved_bytes = 0;         // file bytes carved into chunks
  uint64_t chunks_new = 0;           // chunks uploaded
  uint64_t chunks_deduplicated = 0;  // chunks found already stored, not uploaded again
  uint64_t deduplicated_bytes = 0;
  uint64_t objects_uploaded = 0;
  uint64_t uploaded_bytes = 0;  // object bytes put to the remote
  uint64_t upload_failures = 0;
  uint64_t chunks_fetched = 0;     // chunk reads from the remote
  uint64_t corruption_events = 0;  // chunks that failed their checks when read
  uint64_t gc_objects_deleted = 0;
  uint64_t orphans_deleted = 0;          // objects the reconcile found with no record
  uint64_t orphan_extents_released = 0;  // chunk map extents of deleted files released
  uint64_t dirty_files = 0;              // files waiting to be carved
};

// A BlockStore in two tiers: a local journal that acknowledges writes at once, and a remote
// that holds the data durably as content-addressed chunks. In the background, dirty data is
// cut into FastCDC chunks named by their BLAKE3 hash; chunks already stored are referenced
// again instead of uploaded (deduplication); new ones are packed into objects, compressed and
// encrypted per `codec`, and uploaded. Each file's chunk map and the chunks' reference counts
// live in the share's metadata store and change in one transaction. Reads the journal cannot
// serve fetch chunks by range and check them; a damaged chunk is an Errc::kIo error and a
// counted corruption event, never wrong bytes. Objects left with no referenced chunk are
// deleted after gc_grace; a periodic reconcile deletes objects a crash left unrecorded and
// releases the chunks of files deleted before their data was released.
// The layout of the records is docs/formats/objects.md.
//
// Durability is the journal's: Sync(file) makes the file's writes durable locally; uploads are
// not waited for. All methods are safe to call concurrently.
class TieredBlockStore : public BlockStore {
 public:
  // Carves and uploads every byte that was dirty when called, and returns once all of it is
  // committed (or with the first error other than an unreachable remote, which is retried).
  // `progress` (may be null; its counts are not used): once its `canceled` says so, it stops
  // waiting and returns Errc::kUnavailable; what it made urgent still goes out in the
  // background, as every dirty byte does.
  virtual Status Flush(PassProgress* progress) = 0;
  Status Flush() { return Flush(nullptr); }
  // Deletes now the objects whose grace period is over (as the periodic pass does).
  Status CollectGarbage() { return CollectGarbage(nullptr); }
  // The same, counting in `progress` (unless null) the queued objects that were due: all of
  // them counted first, then each as it is handled.
  virtual Status CollectGarbage(PassProgress* progress) = 0;
  // Runs the mark-and-sweep reconcile now.
  Status Reconcile() { return Reconcile(nullptr); }
  // The same, counting in `progress` (unless null) the files with data (the mark) and the
  // objects on the remote (the sweep): the total is known once the remote has been listed.
  virtual Status Reconcile(PassProgress* progress) = 0;
  // Deletes every chunk index record of this store's namespace and every object of it on the
  // remote, at once (no grace period): what a share leaves behind on a store it moved off, or
  // an interrupted earlier move left on the store it moves to. Other namespaces are untouched.
  // Its background work stops first, for good: afterwards the store is only good for reading
  // what its journal holds, and for destruction.
  // REQUIRES: nothing writes to the store meanwhile, and no file it holds is wanted any more.
  virtual Status DeleteAll() = 0;
  virtual TieredStats Stats() = 0;
};

// Opens the journal in options.journal.dir (replaying it and queueing what was not yet
// uploaded) and starts the background work. `metadata` must outlive the store; it holds the
// chunk index (RecordTable::kChunkMap, kChunks, kObjects, kGcQueue). File ids are the
// metadata store's inode ids: a file whose inode no longer exists is released.
// Errc::kInvalid for unusable options (no remote, encryption without a keyring, bad chunking).
Result<std::unique_ptr<TieredBlockStore>> OpenTieredBlockStore(TieredOptions options,
                                                               MetadataStore& metadata);

}  // namespace dittofs::stores

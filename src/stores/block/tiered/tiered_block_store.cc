// SPDX-License-Identifier: Apache-2.0
#include "stores/block/tiered/tiered_block_store.h"

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <list>
#include <map>
#include <set>
#include <string>
#include <thread>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

#include "base/check.h"
#include "base/log.h"
#include "base/mutex.h"
#include "base/random.h"
#include "base/thread_pool.h"
#include "stores/block/tiered/chunk_index.h"

namespace dittofs::stores {
namespace {

using tiered::ChunkRecord;
using tiered::IndexTxn;
using tiered::ObjectRecord;
using Clock = std::chrono::steady_clock;

// Striped per-file state: enough stripes that unrelated files rarely share one.
constexpr size_t kStripes = 64;
// What one carve pass takes on at most: the bytes it reads into memory, and the files it
// commits in one metadata transaction.
constexpr uint64_t kPassBytes = 32 << 20;
constexpr size_t kPassFiles = 512;
// A file written within this long is still being written: a pass leaves the data after its
// last chunk boundary for the next pass, so that a file written in several passes is cut
// exactly as if written in one (which is what makes equal files deduplicate).
constexpr auto kQuiet = std::chrono::seconds(2);
// Extents a truncation or release changes per metadata transaction.
constexpr size_t kExtentsPerTxn = 1000;
// The scheduler looks for work this often, and asks the journal for dirty files it does not
// know about (a safety net; normally writes tell it) every kRescanEvery.
constexpr auto kSchedulerTick = std::chrono::milliseconds(50);
constexpr auto kRescanEvery = std::chrono::seconds(30);
constexpr auto kFirstReconcile = std::chrono::seconds(10);

uint64_t WallMs() {
  return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                   std::chrono::system_clock::now().time_since_epoch())
                                   .count());
}

// A file that has dirty data the scheduler knows of.
struct Pending {
  uint64_t bytes = 0;  // written since it became pending
  Clock::time_point first_dirty;
  Clock::time_point last_write;
  bool urgent = false;  // carve without waiting for carve_after
};

struct Stripe {
  // The write path: which files have dirty data, oldest first.
  Mutex pending_mu;
  std::unordered_map<uint64_t, Pending> pending GUARDED_BY(pending_mu);
  // (first_dirty, file) of every pending file, oldest first; stale entries (the file was
  // carved or requeued since) are skipped.
  std::multimap<Clock::time_point, uint64_t> fifo GUARDED_BY(pending_mu);
  std::vector<uint64_t> urgent GUARDED_BY(pending_mu);
  // Serializes changes of a file's chunk map: a carve pass's commit against truncation and
  // removal. A truncation or removal cancels a pass in progress on the file (its data may
  // predate the change), which then leaves the file's data dirty for the next pass.
  Mutex commit_mu;
  std::unordered_map<uint64_t, bool> carving GUARDED_BY(commit_mu);  // file -> cancelled
};

// Decoded chunks, least recently used first out. Thread-safe.
class ChunkCache {
 public:
  explicit ChunkCache(uint64_t capacity) : capacity_(capacity) {}

  std::shared_ptr<const Buffer> Find(const std::string& key) {
    MutexLock lock(&mu_);
    auto it = map_.find(key);
    if (it == map_.end()) return nullptr;
    lru_.splice(lru_.begin(), lru_, it->second);
    return it->second->second;
  }

  void Insert(const std::string& key, std::shared_ptr<const Buffer> chunk) {
    MutexLock lock(&mu_);
    if (map_.contains(key) || chunk->size() > capacity_) return;
    bytes_ += chunk->size();
    lru_.emplace_front(key, std::move(chunk));
    map_[key] = lru_.begin();
    while (bytes_ > capacity_ && !lru_.empty()) {
      bytes_ -= lru_.back().second->size();
      map_.erase(lru_.back().first);
      lru_.pop_back();
    }
  }

 private:
  using Entry = std::pair<std::string, std::shared_ptr<const Buffer>>;
  const uint64_t capacity_;
  Mutex mu_;
  std::list<Entry> lru_ GUARDED_BY(mu_);
  std::unordered_map<std::string, std::list<Entry>::iterator> map_ GUARDED_BY(mu_);
  uint64_t bytes_ GUARDED_BY(mu_) = 0;
};

// Zeros to point read pieces at: holes in a file's chunk map read from here.
std::shared_ptr<const Buffer> ZeroBuffer() {
  static const std::shared_ptr<const Buffer> zeros = [] {
    auto b = std::make_shared<Buffer>(1 << 20);
    std::memset(b->data(), 0, b->size());
    return b;
  }();
  return zeros;
}

class TieredStore;

// The journal's view of the remote: reads of what the journal does not hold.
class Backing final : public JournalBacking {
 public:
  explicit Backing(TieredStore& store) : store_(store) {}
  Result<BlockRead> Read(uint64_t file, uint64_t offset, size_t length) override;
  Result<std::vector<BlockStore::Extent>> DataExtents(uint64_t file, uint64_t offset, uint64_t end,
                                                      size_t max) override;

 private:
  TieredStore& store_;
};

// One carve pass's work on one file.
struct Span {
  uint64_t begin = 0;
  uint64_t end = 0;        // of the dirty bytes read
  uint64_t carve_end = 0;  // of the whole chunks carved from them; the rest stays dirty
  uint64_t seq = 0;        // newest write in the span when it was read
  Buffer data;
  std::vector<std::pair<tiered::Blake3Hash, uint32_t>> chunks;  // hash, length; from `begin`
};

struct FileWork {
  uint64_t file = 0;
  std::vector<Span> spans;
  bool cancelled = false;   // truncated or removed while the pass ran
  bool gone = false;        // its inode no longer exists
  bool incomplete = false;  // dirty data left for a later pass
};

struct NewObject {
  uint64_t id = 0;
  uint64_t raw_bytes = 0;
  std::vector<std::pair<tiered::Blake3Hash, ByteView>> raw;  // to pack; views into the spans
  Buffer bytes;
  ObjectRecord record;
  std::vector<std::pair<tiered::Blake3Hash, cas::ChunkLocation>> chunks;
};

class TieredStore final : public TieredBlockStore {
 public:
  TieredStore(TieredOptions options, MetadataStore& metadata)
      : options_(std::move(options)),
        metadata_(metadata),
        keys_(options_.index_namespace),
        remote_(std::move(options_.remote)),
        cdc_(options_.chunking),
        cache_(options_.read_cache_bytes),
        backing_(*this) {
    if (options_.keyring) codec_keyring_.emplace(std::move(*options_.keyring));
    codec_ = options_.codec;
    codec_.keyring = codec_keyring_ ? &*codec_keyring_ : nullptr;
  }

  ~TieredStore() override { StopThreads(); }

  // Stops the background work (carving, releases, GC, reconcile) and waits for it. Idempotent.
  void StopThreads() {
    {
      std::lock_guard<std::mutex> lock(wake_mu_);
      stopping_ = true;
    }
    wake_cv_.notify_all();
    {
      // A worker checks stopping() under work_mu_: taking it here closes the gap between its
      // check and its wait.
      std::lock_guard<std::mutex> lock(work_mu_);
    }
    work_cv_.notify_all();
    for (std::thread& t : threads_) {
      if (t.joinable()) t.join();
    }
  }

  Status Start();

  // BlockStore.
  Status Write(uint64_t file, uint64_t offset, ByteView data) override {
    RETURN_IF_ERROR(journal_->Write(file, offset, data));
    NoteDirty(file, data.size());
    return Status::Ok();
  }
  Status Read(uint64_t file, uint64_t offset, MutableByteView out) override {
    return journal_->Read(file, offset, out);
  }
  Result<BlockRead> ReadRange(uint64_t file, uint64_t offset, size_t length) override {
    return journal_->ReadRange(file, offset, length);
  }
  // The journal's: what it evicted was uploaded, so written (size update included) long before.
  Result<std::vector<DataEnd>> RecentDataEnds() override { return journal_->RecentDataEnds(); }
  Status Truncate(uint64_t file, uint64_t size) override;
  Status Remove(uint64_t file) override;
  // Cuts the range from the chunk map, then from the journal, as Truncate does.
  Status Deallocate(uint64_t file, uint64_t offset, uint64_t length) override;
  // The journal's ranges joined with the chunk map's (through the Backing).
  Result<std::vector<Extent>> DataExtents(uint64_t file, uint64_t offset, uint64_t end,
                                          size_t max) override {
    return journal_->DataExtents(file, offset, end, max);
  }
  // Maps the source's chunks into the destination: no byte is read or uploaded once the
  // source's range is carved (its dirty data is, first).
  Status Clone(uint64_t src, uint64_t src_offset, uint64_t dst, uint64_t dst_offset,
               uint64_t length) override;
  bool ClonesByReference() const override { return true; }
  // The journal makes the data durable; the upload waits for its usual triggers (the file's
  // age, its dirty bytes, journal pressure), so that the carving does not take the CPU from
  // the clients right after each COMMIT, and a scratch file removed soon after is never
  // uploaded at all.
  Status Sync(uint64_t file) override { return journal_->Sync(file); }
  uint64_t UsedBytes() override { return journal_->UsedBytes(); }
  Capacity GetCapacity() override { return journal_->GetCapacity(); }

  // TieredBlockStore.
  using TieredBlockStore::Flush;
  Status Flush(PassProgress* progress) override;
  Status CollectGarbage(PassProgress* progress) override;
  Status Reconcile(PassProgress* progress) override;
  Status DeleteAll() override;
  TieredStats Stats() override;

  // For Backing.
  Result<BlockRead> ReadBacking(uint64_t file, uint64_t offset, size_t length);
  Result<std::vector<Extent>> BackingExtents(uint64_t file, uint64_t offset, uint64_t end,
                                             size_t max);

 private:
  Stripe& StripeOf(uint64_t file) { return stripes_[file % kStripes]; }
  void NoteDirty(uint64_t file, uint64_t bytes);
  void MakeUrgent(uint64_t file);
  void Wake() { wake_cv_.notify_one(); }
  bool stopping() {
    std::lock_guard<std::mutex> lock(wake_mu_);
    return stopping_;
  }
  // Sleeps up to `d`; false when the store is stopping.
  bool SleepFor(std::chrono::milliseconds d) {
    std::unique_lock<std::mutex> lock(wake_mu_);
    wake_cv_.wait_for(lock, d, [&] { return stopping_; });
    return !stopping_;
  }

  // Background threads.
  void SchedulerLoop();
  void WorkerLoop();
  void MaintenanceLoop();
  // Moves ready files into passes for the workers.
  void Schedule(bool rescan);

  // A file taken into a pass, and when it was last written before.
  struct PassFile {
    uint64_t file = 0;
    Clock::time_point last_write;
  };
  // One carve pass over `files` (which the scheduler marked as carving). `pressure`: the
  // journal is filling, every file is cut to its end.
  void RunPass(std::vector<PassFile> files, bool pressure);
  Status ReadSpans(FileWork& work, Clock::time_point last_write, bool pressure, uint64_t* budget);
  // The newest seq of `file` that a running Flush waits for (0: none waits for the file).
  uint64_t FlushTargetOf(uint64_t file);
  // Assigns the pass's chunks that are not stored yet to new objects. A chunk another pass is
  // uploading is left to it: its key goes to `waits`, and this pass's commit waits for it.
  Status BuildObjects(std::vector<FileWork>& work, std::vector<NewObject>* objects,
                      std::vector<std::string>* claims, std::vector<std::string>* waits);
  // Packs the object's chunks (compressed, encrypted) into its bytes.
  Status Build(NewObject& object);
  Status Upload(NewObject& object);
  // Builds and uploads `objects`, up to carve_threads at once (remote writes mostly wait: on the
  // network, on fsync); the first error.
  Status UploadAll(std::vector<NewObject>& objects);
  // Records uploaded objects and their chunks (unreferenced as yet), so other passes can use
  // them, and gives up this pass's claims.
  Status Publish(std::vector<NewObject>& objects);
  void Unclaim(const std::vector<std::string>& claims);
  // Waits until no key of `waits` is claimed any more.
  Status WaitForClaims(const std::vector<std::string>& waits);
  Status Commit(std::vector<FileWork>& work, std::vector<NewObject>& objects);
  // Puts `file` back in the pending set, to be carved from `when` on.
  void Requeue(uint64_t file, Clock::time_point when);

  // Drops `file`'s extents in [begin, end) in transactions of kExtentsPerTxn extents.
  Status CutRange(uint64_t file, uint64_t begin, uint64_t end);
  Status Release(uint64_t file) { return CutRange(file, 0, UINT64_MAX); }
  // Garbage collection of one due queue entry (`id`'s object, dead since `dead_since`): the
  // object's records go, then the object, unless it was revived meanwhile.
  Status CollectOne(const Record& entry, uint64_t dead_since, uint64_t id);
  // Carves and commits every byte of `files` that is dirty when called (Flush, for some files).
  Status FlushFiles(const std::vector<uint64_t>& files, PassProgress* progress = nullptr);
  // Whether `file` holds dirty data in [begin, end).
  bool DirtyIn(uint64_t file, uint64_t begin, uint64_t end);
  // One metadata transaction of Clone: maps the source's extents of [at, src_end) shifted by
  // dst_offset - src_offset into `dst`, at most kExtentsPerTxn of them; `*done_to` is where it
  // stopped. REQUIRES: dst's stripe commit_mu is held.
  Status CloneBatch(uint64_t src, uint64_t at, uint64_t src_end, uint64_t src_offset, uint64_t dst,
                    uint64_t dst_offset, uint64_t* done_to);

  Result<std::shared_ptr<const Buffer>> LoadChunk(const tiered::Blake3Hash& hash);
  Result<std::string> WrappedKeyOf(uint64_t object);

  TieredOptions options_;
  MetadataStore& metadata_;
  const tiered::IndexKeys keys_;  // of options_.index_namespace
  std::unique_ptr<RemoteStore> remote_;
  std::optional<cas::Keyring> codec_keyring_;
  cas::ObjectCodec codec_;
  const chunk::FastCdc cdc_;
  ChunkCache cache_;
  Backing backing_;
  std::unique_ptr<JournalBlockStore> journal_;
  std::array<Stripe, kStripes> stripes_;

  // Objects uploaded but not yet committed: the reconcile must not take them for orphans.
  Mutex in_flight_mu_;
  std::unordered_set<uint64_t> in_flight_ GUARDED_BY(in_flight_mu_);

  // Chunks a pass is uploading (by ChunkKey): no other pass uploads them as well. A pass gives
  // up its claims once the chunks are recorded (or it failed).
  std::mutex claims_mu_;
  std::condition_variable claims_cv_;
  std::unordered_set<std::string> claimed_;  // guarded by claims_mu_

  Mutex keys_mu_;
  std::unordered_map<uint64_t, std::string> wrapped_keys_ GUARDED_BY(keys_mu_);

  // Files removed whose chunk map is still to be released.
  Mutex release_mu_;
  std::vector<uint64_t> releases_ GUARDED_BY(release_mu_);

  // Passes for the workers.
  struct Pass {
    std::vector<PassFile> files;
    bool pressure = false;
  };
  std::mutex work_mu_;
  std::condition_variable work_cv_;
  std::deque<Pass> work_;  // guarded by work_mu_
  int busy_workers_ = 0;   // guarded by work_mu_

  std::mutex wake_mu_;
  std::condition_variable wake_cv_;
  bool stopping_ = false;  // guarded by wake_mu_
  std::atomic<int> flushing_{0};
  // What the running Flush calls wait for: per file, the newest seq any of them waits for, and
  // how many wait. A pass cuts such a file to its end; a flush forces nothing written after
  // it began (a file being written is not cut at its write frontier, where no content
  // boundary is: equal files would not deduplicate).
  struct FlushTarget {
    uint64_t seq = 0;
    int waiters = 0;
  };
  Mutex flush_mu_;
  std::unordered_map<uint64_t, FlushTarget> flush_targets_ GUARDED_BY(flush_mu_);

  std::atomic<uint64_t> carve_passes_{0}, carved_bytes_{0}, chunks_new_{0}, chunks_dedup_{0},
      dedup_bytes_{0}, objects_uploaded_{0}, uploaded_bytes_{0}, upload_failures_{0},
      chunks_fetched_{0}, corruption_events_{0}, gc_deleted_{0}, orphans_deleted_{0},
      orphan_extents_{0};
  std::array<std::atomic<uint64_t>, kRemoteOps.size()> remote_requests_{}, remote_errors_{};
  // Counts one request of the remote and whether it failed.
  void CountRemote(RemoteOp op, bool ok) {
    remote_requests_[op].fetch_add(1, std::memory_order_relaxed);
    if (!ok) remote_errors_[op].fetch_add(1, std::memory_order_relaxed);
  }

  std::vector<std::thread> threads_;
};

Result<BlockRead> Backing::Read(uint64_t file, uint64_t offset, size_t length) {
  return store_.ReadBacking(file, offset, length);
}

Result<std::vector<BlockStore::Extent>> Backing::DataExtents(uint64_t file, uint64_t offset,
                                                             uint64_t end, size_t max) {
  return store_.BackingExtents(file, offset, end, max);
}

Status TieredStore::Start() {
  ASSIGN_OR_RETURN(journal_, OpenJournalBlockStore(options_.journal, &backing_));
  // What was not uploaded before the last stop is queued again, ready at once.
  Clock::time_point ready = Clock::now() - options_.carve_after;
  std::vector<uint64_t> dirty = journal_->DirtyFiles(SIZE_MAX);
  for (uint64_t file : dirty) {
    Stripe& s = StripeOf(file);
    MutexLock lock(&s.pending_mu);
    auto [it, inserted] = s.pending.try_emplace(file);
    if (inserted) {
      it->second.first_dirty = ready;
      it->second.last_write = ready;
      s.fifo.emplace(ready, file);
    }
  }
  if (!dirty.empty()) LOG_INFO("tiered store: {} files with data not yet uploaded", dirty.size());
  threads_.emplace_back([this] {
    NameThisThread("dfs-carve-sched");
    RunInBackground();
    SchedulerLoop();
  });
  for (int i = 0; i < std::max(1, options_.carve_threads); ++i) {
    threads_.emplace_back([this] {
      NameThisThread("dfs-carve");
      RunInBackground();
      WorkerLoop();
    });
  }
  threads_.emplace_back([this] {
    NameThisThread("dfs-gc");
    RunInBackground();
    MaintenanceLoop();
  });
  return Status::Ok();
}

// ---- Write path bookkeeping ----

void TieredStore::NoteDirty(uint64_t file, uint64_t bytes) {
  Stripe& s = StripeOf(file);
  Clock::time_point now = Clock::now();
  bool wake = false;
  {
    MutexLock lock(&s.pending_mu);
    auto [it, inserted] = s.pending.try_emplace(file);
    Pending& p = it->second;
    if (inserted) {
      p.first_dirty = now;
      s.fifo.emplace(now, file);
    }
    p.last_write = now;
    p.bytes += bytes;
    if (!p.urgent && p.bytes >= options_.carve_dirty_bytes) {
      p.urgent = true;
      s.urgent.push_back(file);
      wake = true;
    }
  }
  if (wake) Wake();
}

void TieredStore::MakeUrgent(uint64_t file) {
  Stripe& s = StripeOf(file);
  Clock::time_point now = Clock::now();
  {
    MutexLock lock(&s.pending_mu);
    auto [it, inserted] = s.pending.try_emplace(file);
    Pending& p = it->second;
    if (inserted) {
      // Taken by a pass between a write and this call (or replayed): count it as just written,
      // so that a pass does not cut its tail before the writer is done.
      p.first_dirty = now;
      p.last_write = now;
      s.fifo.emplace(now, file);
    }
    if (p.urgent) return;
    p.urgent = true;
    s.urgent.push_back(file);
  }
  Wake();
}

void TieredStore::Requeue(uint64_t file, Clock::time_point when) {
  Stripe& s = StripeOf(file);
  MutexLock lock(&s.pending_mu);
  auto [it, inserted] = s.pending.try_emplace(file);
  if (!inserted) return;  // written again meanwhile: already queued
  it->second.first_dirty = when - options_.carve_after;
  it->second.last_write = when - kQuiet;
  s.fifo.emplace(it->second.first_dirty, file);
}

// ---- Scheduling ----

void TieredStore::SchedulerLoop() {
  Clock::time_point last_rescan = Clock::now();
  for (;;) {
    {
      std::unique_lock<std::mutex> lock(wake_mu_);
      wake_cv_.wait_for(lock, kSchedulerTick);
      if (stopping_) return;
    }
    bool rescan = Clock::now() - last_rescan >= kRescanEvery;
    if (rescan) last_rescan = Clock::now();
    Schedule(rescan);
  }
}

void TieredStore::Schedule(bool rescan) {
  {
    // Passes wait for a worker; more queued would only take files away from later, fuller
    // passes.
    std::lock_guard<std::mutex> lock(work_mu_);
    if (work_.size() >= static_cast<size_t>(std::max(1, options_.carve_threads))) return;
  }
  if (rescan) {
    Clock::time_point now = Clock::now();
    for (uint64_t file : journal_->DirtyFiles(100000)) {
      Stripe& s = StripeOf(file);
      bool carving;
      {
        MutexLock lock(&s.commit_mu);
        carving = s.carving.contains(file);
      }
      if (!carving) Requeue(file, now);
    }
  }
  JournalStats js = journal_->Stats();
  const bool pressure = js.dirty_bytes * 2 >= options_.journal.capacity_bytes;
  // A flush takes every pending file now; which of them it cuts to the end is up to the pass.
  const bool force = pressure || flushing_.load() > 0;
  const Clock::time_point now = Clock::now();

  // Takes `file` into the pass unless another pass has it; returns whether it did.
  std::vector<PassFile> files;
  uint64_t bytes = 0;
  // REQUIRES: s.pending_mu held (the analysis does not follow it into the lambda).
  auto take = [&](Stripe& s, uint64_t file) NO_THREAD_SAFETY_ANALYSIS {
    auto it = s.pending.find(file);
    if (it == s.pending.end()) return false;
    {
      MutexLock lock(&s.commit_mu);
      if (!s.carving.try_emplace(file, false).second) {
        it->second.urgent = false;  // a pass has it; it stays pending, and may be urged again
        return false;
      }
    }
    bytes += it->second.bytes;
    files.push_back(PassFile{file, it->second.last_write});
    s.pending.erase(it);
    return true;
  };
  auto full = [&] { return files.size() >= kPassFiles || bytes >= kPassBytes; };
  auto flush_pass = [&] {
    if (files.empty()) return;
    {
      std::lock_guard<std::mutex> lock(work_mu_);
      work_.push_back(Pass{std::move(files), pressure});
    }
    work_cv_.notify_one();
    files.clear();
    bytes = 0;
  };

  for (Stripe& s : stripes_) {
    MutexLock lock(&s.pending_mu);
    std::vector<uint64_t> urgent = std::move(s.urgent);
    s.urgent.clear();
    for (uint64_t file : urgent) {
      take(s, file);
      if (full()) flush_pass();
    }
    std::vector<uint64_t> busy;
    while (!s.fifo.empty()) {
      auto [since, file] = *s.fifo.begin();
      auto it = s.pending.find(file);
      if (it == s.pending.end() || it->second.first_dirty != since) {
        s.fifo.erase(s.fifo.begin());  // carved (or requeued) since
        continue;
      }
      if (!force && now - since < options_.carve_after) break;
      s.fifo.erase(s.fifo.begin());
      if (!take(s, file)) {
        busy.push_back(file);
        continue;
      }
      if (full()) flush_pass();
    }
    for (uint64_t file : busy) {
      // In another pass: looked at again once that is done.
      s.pending[file].first_dirty = now;
      s.fifo.emplace(now, file);
    }
  }
  flush_pass();
}

void TieredStore::WorkerLoop() {
  for (;;) {
    Pass pass;
    {
      std::unique_lock<std::mutex> lock(work_mu_);
      work_cv_.wait(lock, [&] { return !work_.empty() || stopping(); });
      if (work_.empty() || stopping()) return;
      pass = std::move(work_.front());
      work_.pop_front();
      ++busy_workers_;
    }
    RunPass(std::move(pass.files), pass.pressure);
    {
      std::lock_guard<std::mutex> lock(work_mu_);
      --busy_workers_;
    }
    Wake();
  }
}

// ---- Carving ----

uint64_t TieredStore::FlushTargetOf(uint64_t file) {
  MutexLock lock(&flush_mu_);
  auto it = flush_targets_.find(file);
  return it == flush_targets_.end() ? 0 : it->second.seq;
}

Status TieredStore::ReadSpans(FileWork& work, Clock::time_point last_write, bool pressure,
                              uint64_t* budget) {
  std::vector<DirtyRange> ranges = journal_->DirtyRanges(work.file);
  // Cut to the end: under pressure, or for a flush waiting for some of these bytes.
  bool force = pressure;
  if (!force) {
    const uint64_t target = FlushTargetOf(work.file);
    for (const DirtyRange& r : ranges) force = force || r.seq <= target;
  }
  // Written lately, or since the pass took it: more bytes may be on their way.
  const bool active = !force && (Clock::now() - last_write < kQuiet || [&] {
    Stripe& s = StripeOf(work.file);
    MutexLock lock(&s.pending_mu);
    return s.pending.contains(work.file);
  }());
  for (size_t i = 0; i < ranges.size();) {
    // Adjacent dirty ranges are one span: chunking does not care which write left a byte.
    Span span;
    span.begin = ranges[i].offset;
    span.end = ranges[i].offset + ranges[i].length;
    span.seq = ranges[i].seq;
    for (++i; i < ranges.size() && ranges[i].offset == span.end; ++i) {
      span.end += ranges[i].length;
      span.seq = std::max(span.seq, ranges[i].seq);
    }
    if (*budget == 0) {
      work.incomplete = true;
      break;
    }
    bool cut_short = span.end - span.begin > *budget;
    if (cut_short) {
      span.end = span.begin + *budget;
      work.incomplete = true;
    }
    *budget -= span.end - span.begin;
    span.data = Buffer(span.end - span.begin);
    RETURN_IF_ERROR(journal_->Read(work.file, span.begin, span.data.mutable_view()));
    std::vector<size_t> lengths = cdc_.Cut(span.data.view());
    // The last piece ends where the data read ends, not necessarily at a content boundary: it
    // waits for the bytes after it unless nothing more is coming.
    // A span cut short by the pass's budget always continues in the next pass.
    bool last_range = i == ranges.size();
    if (!lengths.empty() && (cut_short || (!force && last_range && active))) {
      lengths.pop_back();
      work.incomplete = true;
    }
    uint64_t at = 0;
    for (size_t n : lengths) {
      ByteView chunk = span.data.view().subspan(at, n);
      span.chunks.emplace_back(chunk::Blake3(chunk), static_cast<uint32_t>(n));
      at += n;
    }
    span.carve_end = span.begin + at;
    work.spans.push_back(std::move(span));
  }
  return Status::Ok();
}

Status TieredStore::BuildObjects(std::vector<FileWork>& work, std::vector<NewObject>* objects,
                                 std::vector<std::string>* claims,
                                 std::vector<std::string>* waits) {
  std::unordered_set<std::string> seen;
  // Chunks are only assigned to objects here; Build packs them (compresses, encrypts) on the
  // upload threads, in parallel.
  NewObject current;
  auto finish = [&] {
    if (current.raw.empty()) return;
    objects->push_back(std::move(current));
    current = NewObject();
  };
  std::unique_ptr<MetadataTxn> lookup = metadata_.Begin();
  for (FileWork& w : work) {
    for (Span& span : w.spans) {
      uint64_t at = 0;
      for (const auto& [hash, length] : span.chunks) {
        ByteView raw = span.data.view().subspan(at, length);
        at += length;
        carved_bytes_.fetch_add(length);
        std::string key = tiered::ChunkKey(hash);
        if (!seen.insert(key).second) {  // twice in this pass
          chunks_dedup_.fetch_add(1);
          dedup_bytes_.fetch_add(length);
          continue;
        }
        {
          // Claimed first, then looked up: a chunk is always either claimed or recorded while
          // someone stores it, so no two passes upload it.
          std::lock_guard<std::mutex> lock(claims_mu_);
          if (!claimed_.insert(key).second) {
            waits->push_back(key);
            chunks_dedup_.fetch_add(1);
            dedup_bytes_.fetch_add(length);
            continue;
          }
        }
        claims->push_back(key);
        Result<std::string> known = lookup->GetRecord(RecordTable::kChunks, keys_.Chunk(hash));
        if (known.ok()) {
          chunks_dedup_.fetch_add(1);
          dedup_bytes_.fetch_add(length);
          continue;
        }
        if (known.status().code() != Errc::kNotFound) return known.status();
        if (current.raw.empty()) {
          do {
            current.id = RandomU64();
          } while (current.id == 0);
        }
        current.raw.emplace_back(hash, raw);
        current.raw_bytes += raw.size();
        chunks_new_.fetch_add(1);
        if (current.raw_bytes >= options_.object_bytes) finish();
      }
    }
  }
  finish();
  return Status::Ok();
}

Status TieredStore::Upload(NewObject& object) {
  {
    MutexLock lock(&in_flight_mu_);
    in_flight_.insert(object.id);
  }
  std::chrono::milliseconds backoff = options_.retry_initial;
  const std::string key = keys_.RemoteObject(object.id);
  for (int attempt = 1;; ++attempt) {
    Status s;
    {
      BlockingRegion blocking;
      s = remote_->Put(key, object.bytes.view());
    }
    CountRemote(kRemotePut, s.ok());
    if (s.ok()) break;
    upload_failures_.fetch_add(1);
    if (attempt == 1 || attempt % 10 == 0) {
      LOG_WARN("tiered store: upload of {} failed (attempt {}), retrying: {}", key, attempt,
               s.ToString());
    }
    if (!SleepFor(backoff)) return Status(Errc::kUnavailable, "tiered store is stopping");
    backoff = std::min(backoff * 2, options_.retry_max);
  }
  objects_uploaded_.fetch_add(1);
  uploaded_bytes_.fetch_add(object.bytes.size());
  object.bytes = Buffer();  // the bytes are the remote's now
  return Status::Ok();
}

Status TieredStore::Build(NewObject& object) {
  // At most the raw bytes (a chunk is stored raw when compression does not help), with room for
  // the header, each chunk's AEAD nonce and tag and table entry, and the footer.
  size_t size_hint = 4096;
  for (const auto& [hash, raw] : object.raw) size_hint += raw.size() + 128;
  ASSIGN_OR_RETURN(cas::ObjectBuilder builder, cas::ObjectBuilder::Start(codec_, size_hint));
  for (const auto& [hash, raw] : object.raw) {
    ASSIGN_OR_RETURN(cas::ChunkLocation location, builder.Add(hash, raw));
    object.chunks.emplace_back(hash, location);
    object.record.chunks.push_back(hash);
  }
  object.raw.clear();
  object.record.wrapped_data_key = AsChars(builder.WrappedDataKey().view());
  object.bytes = builder.Finish();
  object.record.size = object.bytes.size();
  return Status::Ok();
}

Status TieredStore::UploadAll(std::vector<NewObject>& objects) {
  std::vector<Status> results(objects.size());
  std::atomic<size_t> next{0};
  auto run = [&] {
    for (size_t i; (i = next.fetch_add(1)) < objects.size();) {
      results[i] = Build(objects[i]);
      if (results[i].ok()) results[i] = Upload(objects[i]);
    }
  };
  size_t width = std::min<size_t>(objects.size(), std::max(1, options_.carve_threads));
  std::vector<std::thread> helpers;
  for (size_t i = 1; i < width; ++i) helpers.emplace_back(run);
  run();
  for (std::thread& t : helpers) t.join();
  for (Status& r : results) {
    if (!r.ok()) return r;
  }
  return Status::Ok();
}

Status TieredStore::Publish(std::vector<NewObject>& objects) {
  if (objects.empty()) return Status::Ok();
  return RunTransaction(metadata_, [&](MetadataTxn& txn) -> Status {
    IndexTxn index(txn, keys_, WallMs());
    for (NewObject& o : objects) {
      index.AddObject(o.id, o.record);
      for (const auto& [hash, location] : o.chunks) {
        ChunkRecord c;
        c.object = o.id;
        c.location = location;
        RETURN_IF_ERROR(index.AddChunk(hash, c).status());
      }
    }
    return index.Finish();
  });
}

void TieredStore::Unclaim(const std::vector<std::string>& claims) {
  if (claims.empty()) return;
  {
    std::lock_guard<std::mutex> lock(claims_mu_);
    for (const std::string& key : claims) claimed_.erase(key);
  }
  claims_cv_.notify_all();
}

Status TieredStore::WaitForClaims(const std::vector<std::string>& waits) {
  std::unique_lock<std::mutex> lock(claims_mu_);
  for (;;) {
    bool claimed = false;
    for (const std::string& key : waits) claimed |= claimed_.contains(key);
    if (!claimed) return Status::Ok();
    claims_cv_.wait_for(lock, std::chrono::milliseconds(100));
    lock.unlock();
    bool stop = stopping();
    lock.lock();
    if (stop) return Status(Errc::kUnavailable, "tiered store is stopping");
  }
}

Status TieredStore::Commit(std::vector<FileWork>& work, std::vector<NewObject>& objects) {
  // Lock the stripes of every file, in stripe order, for the commit and the MarkClean after it.
  std::set<size_t> stripe_ids;
  for (const FileWork& w : work) stripe_ids.insert(w.file % kStripes);
  std::vector<Stripe*> locked;
  for (size_t id : stripe_ids) {
    stripes_[id].commit_mu.Lock();
    locked.push_back(&stripes_[id]);
  }
  auto unlock = [&]() NO_THREAD_SAFETY_ANALYSIS {
    for (auto it = locked.rbegin(); it != locked.rend(); ++it) (*it)->commit_mu.Unlock();
  };
  [&]() NO_THREAD_SAFETY_ANALYSIS {
    for (FileWork& w : work) w.cancelled = StripeOf(w.file).carving[w.file];
  }();

  Status s = RunTransaction(metadata_, [&](MetadataTxn& txn) -> Status {
    IndexTxn index(txn, keys_, WallMs());
    for (FileWork& w : work) {
      w.gone = false;
      if (w.cancelled) continue;
      Result<Inode> inode = txn.GetInode(w.file);
      if (inode.status().code() == Errc::kNotFound) {
        w.gone = true;
        continue;
      }
      RETURN_IF_ERROR(inode.status());
      for (const Span& span : w.spans) {
        if (span.carve_end == span.begin) continue;
        RETURN_IF_ERROR(index.Cut(w.file, span.begin, span.carve_end));
        uint64_t at = span.begin;
        for (const auto& [hash, length] : span.chunks) {
          RETURN_IF_ERROR(index.Map(w.file, tiered::Extent{at, at + length, hash, 0}));
          at += length;
        }
      }
    }
    return index.Finish();
  });
  if (s.ok()) {
    for (FileWork& w : work) {
      if (w.cancelled) continue;
      if (w.gone) {
        // Written before its inode went (or replayed after a crash): nothing can read it.
        Status r = journal_->Remove(w.file);
        if (!r.ok()) LOG_WARN("tiered store: dropping file {}: {}", w.file, r.ToString());
        continue;
      }
      for (const Span& span : w.spans) {
        if (span.carve_end == span.begin) continue;
        Status c = journal_->MarkClean(w.file, span.begin, span.carve_end - span.begin, span.seq);
        if (!c.ok() && s.ok()) s = c;
      }
    }
  }
  [&]() NO_THREAD_SAFETY_ANALYSIS {
    for (FileWork& w : work) StripeOf(w.file).carving.erase(w.file);
  }();
  unlock();
  {
    MutexLock lock(&in_flight_mu_);
    for (const NewObject& o : objects) in_flight_.erase(o.id);
  }
  return s;
}

void TieredStore::RunPass(std::vector<PassFile> files, bool pressure) {
  carve_passes_.fetch_add(1);
  std::vector<FileWork> work;
  work.reserve(files.size());
  uint64_t budget = kPassBytes;
  Status s;
  for (const PassFile& f : files) {
    FileWork w;
    w.file = f.file;
    if (s.ok()) s = ReadSpans(w, f.last_write, pressure, &budget);
    if (!s.ok()) w.incomplete = true;
    work.push_back(std::move(w));
  }
  std::vector<NewObject> objects;
  std::vector<std::string> claims, waits;
  if (s.ok()) s = BuildObjects(work, &objects, &claims, &waits);
  if (s.ok()) s = UploadAll(objects);
  for (FileWork& w : work) {
    for (Span& span : w.spans) span.data = Buffer();  // uploaded; free the memory early
  }
  // The objects are recorded before the files that use them: other passes waiting for these
  // chunks may go on, and none waits while holding claims, so no two passes wait for each other.
  if (s.ok()) s = Publish(objects);
  Unclaim(claims);
  if (s.ok()) s = WaitForClaims(waits);
  if (s.ok()) {
    s = Commit(work, objects);
  } else {
    // Nothing was committed: release the files (objects already uploaded become orphans
    // that the reconcile deletes).
    [&]() NO_THREAD_SAFETY_ANALYSIS {
      for (FileWork& w : work) {
        Stripe& st = StripeOf(w.file);
        MutexLock lock(&st.commit_mu);
        st.carving.erase(w.file);
      }
    }();
    MutexLock lock(&in_flight_mu_);
    for (const NewObject& o : objects) in_flight_.erase(o.id);
  }
  if (!s.ok() && s.code() != Errc::kUnavailable) {
    LOG_WARN("tiered store: carve pass over {} files failed: {}", work.size(), s.ToString());
  }
  // What the pass left dirty comes back: soon for a tail or a cancelled pass, after a pause
  // for a failure.
  Clock::time_point now = Clock::now();
  for (const FileWork& w : work) {
    if (!s.ok()) {
      Requeue(w.file, now + std::chrono::seconds(1));
    } else if (w.incomplete || w.cancelled) {
      Requeue(w.file, w.cancelled ? now : now + kQuiet);
    }
  }
}

// ---- Truncate, remove, flush ----

Status TieredStore::CutRange(uint64_t file, uint64_t begin, uint64_t end) {
  for (;;) {
    bool more = false;
    RETURN_IF_ERROR(RunTransaction(metadata_, [&](MetadataTxn& txn) -> Status {
      IndexTxn index(txn, keys_, WallMs());
      ASSIGN_OR_RETURN(std::vector<tiered::Extent> extents,
                       index.Overlapping(file, begin, end, /*track=*/false, kExtentsPerTxn + 1));
      // Extents are sorted and disjoint: up to the end of the kExtentsPerTxn-th is a batch.
      more = extents.size() > kExtentsPerTxn;
      uint64_t stop = more ? extents[kExtentsPerTxn - 1].end : end;
      RETURN_IF_ERROR(index.Cut(file, begin, stop));
      return index.Finish();
    }));
    if (!more) return Status::Ok();
  }
}

Status TieredStore::Truncate(uint64_t file, uint64_t size) {
  Stripe& s = StripeOf(file);
  MutexLock lock(&s.commit_mu);
  if (auto it = s.carving.find(file); it != s.carving.end()) it->second = true;
  // The remote's copy first, then the journal's: no read finds the old bytes in neither.
  RETURN_IF_ERROR(CutRange(file, size, UINT64_MAX));
  return journal_->Truncate(file, size);
}

Status TieredStore::Deallocate(uint64_t file, uint64_t offset, uint64_t length) {
  if (length == 0) return Status::Ok();
  const uint64_t end = length > UINT64_MAX - offset ? UINT64_MAX : offset + length;
  Stripe& s = StripeOf(file);
  MutexLock lock(&s.commit_mu);
  // A pass in progress read data that may lie in the range: its commit would map it back.
  if (auto it = s.carving.find(file); it != s.carving.end()) it->second = true;
  // The remote's copy first, then the journal's: no read finds the old bytes in neither.
  RETURN_IF_ERROR(CutRange(file, offset, end));
  return journal_->Deallocate(file, offset, length);
}

bool TieredStore::DirtyIn(uint64_t file, uint64_t begin, uint64_t end) {
  for (const DirtyRange& r : journal_->DirtyRanges(file)) {
    if (r.offset < end && begin < r.offset + r.length) return true;
  }
  return false;
}

Status TieredStore::CloneBatch(uint64_t src, uint64_t at, uint64_t src_end, uint64_t src_offset,
                               uint64_t dst, uint64_t dst_offset, uint64_t* done_to) {
  return RunTransaction(metadata_, [&](MetadataTxn& txn) -> Status {
    IndexTxn index(txn, keys_, WallMs());
    // Tracked: a carve pass committing the source meanwhile makes this transaction retry.
    ASSIGN_OR_RETURN(std::vector<tiered::Extent> extents,
                     index.Overlapping(src, at, src_end, /*track=*/true, kExtentsPerTxn + 1));
    const bool more = extents.size() > kExtentsPerTxn;
    if (more) extents.resize(kExtentsPerTxn);
    const uint64_t stop = more ? extents.back().end : src_end;
    // The destination's range is cut first (within one file the ranges are disjoint, so this
    // never touches the source's extents, read above).
    RETURN_IF_ERROR(
        index.Cut(dst, dst_offset + (at - src_offset), dst_offset + (stop - src_offset)));
    for (const tiered::Extent& e : extents) {
      // Clipped to [at, stop): an extent across an edge maps its part inside only.
      tiered::Extent mapped = e;
      const uint64_t begin = std::max(e.begin, at);
      const uint64_t end = std::min(e.end, stop);
      if (begin >= end) continue;
      mapped.chunk_offset = static_cast<uint32_t>(e.chunk_offset + (begin - e.begin));
      mapped.begin = dst_offset + (begin - src_offset);
      mapped.end = dst_offset + (end - src_offset);
      RETURN_IF_ERROR(index.Map(dst, mapped));  // the chunk gains a reference
    }
    *done_to = stop;
    return index.Finish();
  });
}

Status TieredStore::Clone(uint64_t src, uint64_t src_offset, uint64_t dst, uint64_t dst_offset,
                          uint64_t length) {
  if (length == 0) return Status::Ok();
  if (src_offset > UINT64_MAX - length || dst_offset > UINT64_MAX - length) {
    return Status(Errc::kInvalid, "clone range overflows");
  }
  if (src == dst && src_offset < dst_offset + length && dst_offset < src_offset + length) {
    return Status(Errc::kInvalid, "clone ranges of one file overlap");
  }
  const uint64_t src_end = src_offset + length;
  // The chunk map must hold every byte of the source's range: its dirty data is carved first.
  // A write racing with the clone may leave more; the clone then takes the bytes from before
  // it, as if it had come first, unless it is still dirty when looked at here.
  for (int round = 0; DirtyIn(src, src_offset, src_end); ++round) {
    if (round == 100) return Status(Errc::kUnavailable, "clone: the source keeps being written");
    RETURN_IF_ERROR(FlushFiles({src}));
  }
  {
    Stripe& s = StripeOf(dst);
    MutexLock lock(&s.commit_mu);
    // A pass in progress on the destination read data the clone replaces: cancelled.
    if (auto it = s.carving.find(dst); it != s.carving.end()) it->second = true;
    for (uint64_t at = src_offset; at < src_end;) {
      RETURN_IF_ERROR(CloneBatch(src, at, src_end, src_offset, dst, dst_offset, &at));
    }
    // What the journal holds of the destination's range is older than the clone: reads go to
    // the chunk map from now on.
    RETURN_IF_ERROR(journal_->Deallocate(dst, dst_offset, length));
  }
  // Durable when it returns: the chunk map is (metadata transactions are), the discard now.
  return journal_->Sync(dst);
}

Status TieredStore::Remove(uint64_t file) {
  {
    Stripe& s = StripeOf(file);
    MutexLock lock(&s.commit_mu);
    if (auto it = s.carving.find(file); it != s.carving.end()) it->second = true;
    RETURN_IF_ERROR(journal_->Remove(file));
  }
  {
    Stripe& s = StripeOf(file);
    MutexLock lock(&s.pending_mu);
    s.pending.erase(file);
  }
  // Nothing reads a removed file: its chunks are released in the background (and by the
  // reconcile, should the server stop first).
  {
    MutexLock lock(&release_mu_);
    releases_.push_back(file);
  }
  return Status::Ok();
}

Status TieredStore::Flush(PassProgress* progress) {
  return FlushFiles(journal_->DirtyFiles(SIZE_MAX), progress);
}

Status TieredStore::FlushFiles(const std::vector<uint64_t>& files, PassProgress* progress) {
  // Everything dirty now, and the newest write of each file.
  std::vector<std::pair<uint64_t, uint64_t>> targets;
  for (uint64_t file : files) {
    uint64_t seq = 0;
    for (const DirtyRange& r : journal_->DirtyRanges(file)) seq = std::max(seq, r.seq);
    targets.emplace_back(file, seq);
  }
  {
    MutexLock lock(&flush_mu_);
    for (const auto& [file, seq] : targets) {
      FlushTarget& t = flush_targets_[file];
      t.seq = std::max(t.seq, seq);
      ++t.waiters;
    }
  }
  // Each target is released when its data is out (or the flush gives up).
  auto release = [&](uint64_t file) {
    MutexLock lock(&flush_mu_);
    auto it = flush_targets_.find(file);
    if (it != flush_targets_.end() && --it->second.waiters == 0) flush_targets_.erase(it);
  };
  flushing_.fetch_add(1);
  for (const auto& [file, seq] : targets) MakeUrgent(file);
  Status result;
  for (;;) {
    std::vector<std::pair<uint64_t, uint64_t>> left;
    for (const auto& [file, seq] : targets) {
      bool done = true;
      for (const DirtyRange& r : journal_->DirtyRanges(file)) done = done && r.seq > seq;
      if (done) {
        release(file);
      } else {
        left.emplace_back(file, seq);
      }
    }
    targets = std::move(left);
    if (targets.empty()) break;
    if (!SleepFor(std::chrono::milliseconds(20))) {
      result = Status(Errc::kUnavailable, "tiered store is stopping");
      for (const auto& [file, seq] : targets) release(file);
      break;
    }
    if (progress != nullptr && progress->canceled && progress->canceled()) {
      result = Status(Errc::kUnavailable, "flush canceled (the data still goes out)");
      for (const auto& [file, seq] : targets) release(file);
      break;
    }
    // A file whose pass ended with its data still dirty (a failed upload retried, a
    // truncation) is made urgent again.
    for (const auto& [file, seq] : targets) MakeUrgent(file);
  }
  flushing_.fetch_sub(1);
  return result;
}

// ---- Reads of uploaded data ----

Result<std::string> TieredStore::WrappedKeyOf(uint64_t object) {
  {
    MutexLock lock(&keys_mu_);
    if (auto it = wrapped_keys_.find(object); it != wrapped_keys_.end()) return it->second;
  }
  std::unique_ptr<MetadataTxn> txn = metadata_.Begin();
  ASSIGN_OR_RETURN(std::string value, txn->GetRecord(RecordTable::kObjects, keys_.Object(object)));
  ASSIGN_OR_RETURN(ObjectRecord record, tiered::DecodeObject(value));
  MutexLock lock(&keys_mu_);
  if (wrapped_keys_.size() > 100000) wrapped_keys_.clear();
  wrapped_keys_[object] = record.wrapped_data_key;
  return record.wrapped_data_key;
}

Result<std::shared_ptr<const Buffer>> TieredStore::LoadChunk(const tiered::Blake3Hash& hash) {
  const std::string key = tiered::ChunkKey(hash);
  if (std::shared_ptr<const Buffer> hit = cache_.Find(key)) return hit;
  std::unique_ptr<MetadataTxn> txn = metadata_.Begin();
  Result<std::string> value = txn->GetRecord(RecordTable::kChunks, keys_.Chunk(hash));
  if (!value.ok()) {
    return Status(Errc::kIo,
                  "chunk " + hash.Hex() + " has no record: " + value.status().ToString());
  }
  ASSIGN_OR_RETURN(ChunkRecord record, tiered::DecodeChunk(*value));
  std::string wrapped;
  if (record.location.cipher() != cas::Cipher::kNone) {
    ASSIGN_OR_RETURN(wrapped, WrappedKeyOf(record.object));
  }
  const std::string object_key = keys_.RemoteObject(record.object);
  Result<Buffer> stored = [&] {
    BlockingRegion blocking;
    return remote_->Get(object_key, record.location.offset, record.location.stored_length);
  }();
  CountRemote(kRemoteGet, stored.ok());
  if (!stored.ok()) {
    return Status(Errc::kIo, "fetching chunk " + hash.Hex() + " from " + object_key + ": " +
                                 stored.status().ToString());
  }
  chunks_fetched_.fetch_add(1);
  Result<Buffer> raw =
      cas::DecodeChunk(codec_, hash, record.location, AsBytes(wrapped), stored->view());
  if (!raw.ok()) {
    uint64_t n = corruption_events_.fetch_add(1) + 1;
    LOG_ERROR("tiered store: chunk {} in {} failed its checks ({} corruption events so far): {}",
              hash.Hex(), object_key, n, raw.status().ToString());
    return Status(Errc::kIo, "corrupt chunk " + hash.Hex() + " in " + object_key);
  }
  auto chunk = std::make_shared<const Buffer>(std::move(*raw));
  cache_.Insert(key, chunk);
  return chunk;
}

Result<BlockRead> TieredStore::ReadBacking(uint64_t file, uint64_t offset, size_t length) {
  BlockRead out;
  const uint64_t end = offset + length;
  std::shared_ptr<const Buffer> zeros = ZeroBuffer();
  auto add_zeros = [&](uint64_t n) {
    if (n > 0) out.holds.push_back(zeros);
    while (n > 0) {
      size_t piece = std::min<uint64_t>(n, zeros->size());
      out.pieces.push_back(zeros->view().subspan(0, piece));
      n -= piece;
    }
  };
  std::unique_ptr<MetadataTxn> txn = metadata_.Begin();
  IndexTxn index(*txn, keys_, 0);
  ASSIGN_OR_RETURN(std::vector<tiered::Extent> extents,
                   index.Overlapping(file, offset, end, /*track=*/false));
  uint64_t at = offset;
  for (const tiered::Extent& e : extents) {
    uint64_t begin = std::max(e.begin, offset);
    uint64_t stop = std::min(e.end, end);
    if (begin >= stop) continue;
    add_zeros(begin - at);
    ASSIGN_OR_RETURN(std::shared_ptr<const Buffer> chunk, LoadChunk(e.hash));
    uint64_t from = e.chunk_offset + (begin - e.begin);
    if (from + (stop - begin) > chunk->size()) {
      return Status(Errc::kIo, "extent of file " + std::to_string(file) +
                                   " past the end of chunk " + e.hash.Hex());
    }
    out.pieces.push_back(chunk->view().subspan(from, stop - begin));
    out.holds.push_back(chunk);
    at = stop;
  }
  add_zeros(end - at);
  return out;
}

Result<std::vector<BlockStore::Extent>> TieredStore::BackingExtents(uint64_t file, uint64_t offset,
                                                                    uint64_t end, size_t max) {
  std::vector<Extent> out;
  std::unique_ptr<MetadataTxn> txn = metadata_.Begin();
  IndexTxn index(*txn, keys_, 0);
  constexpr size_t kBatch = 256;
  for (uint64_t at = offset; at < end && max > 0;) {
    ASSIGN_OR_RETURN(std::vector<tiered::Extent> extents,
                     index.Overlapping(file, at, end, /*track=*/false, kBatch));
    for (const tiered::Extent& e : extents) {
      const uint64_t begin = std::max(e.begin, at);
      const uint64_t stop = std::min(e.end, end);
      if (begin >= stop) continue;
      // Chunks of one run of data lie back to back: one range. The last range is whole when
      // the next would be range number max + 1.
      if (!out.empty() && out.back().offset + out.back().length == begin) {
        out.back().length += stop - begin;
        continue;
      }
      if (out.size() == max) return out;
      out.push_back({begin, stop - begin});
    }
    if (extents.size() < kBatch) break;
    at = extents.back().end;
  }
  return out;
}

// ---- Garbage collection and reconcile ----

void TieredStore::MaintenanceLoop() {
  Clock::time_point next_gc = Clock::now() + options_.gc_interval;
  Clock::time_point next_reconcile =
      Clock::now() + std::min<Clock::duration>(kFirstReconcile, options_.reconcile_interval);
  for (;;) {
    if (!SleepFor(std::chrono::milliseconds(100))) return;
    std::vector<uint64_t> releases;
    {
      MutexLock lock(&release_mu_);
      releases.swap(releases_);
    }
    for (uint64_t file : releases) {
      // Under the file's commit lock, as every other cut of its extents: a reconcile releasing
      // the same file at once would otherwise read a chunk record this release just dropped
      // (kNotFound, not a conflict to retry).
      Stripe& stripe = StripeOf(file);
      MutexLock lock(&stripe.commit_mu);
      if (Status s = Release(file); !s.ok()) {
        LOG_WARN("tiered store: releasing the chunks of file {}: {} (the reconcile retries)", file,
                 s.ToString());
      }
    }
    Clock::time_point now = Clock::now();
    if (now >= next_gc) {
      if (Status s = CollectGarbage(nullptr); !s.ok()) {
        LOG_WARN("tiered store: garbage collection: {}", s.ToString());
      }
      next_gc = Clock::now() + options_.gc_interval;
    }
    if (now >= next_reconcile) {
      if (Status s = Reconcile(nullptr); !s.ok()) {
        LOG_WARN("tiered store: reconcile: {}", s.ToString());
      }
      next_reconcile = Clock::now() + options_.reconcile_interval;
    }
  }
}

Status TieredStore::CollectGarbage(PassProgress* progress) {
  const uint64_t now = WallMs();
  const uint64_t grace = static_cast<uint64_t>(options_.gc_grace.count());
  if (now < grace) return Status::Ok();
  const std::string to = keys_.GcQueue(now - grace + 1, 0);
  constexpr size_t kBatch = 100;
  // Calls `each` with the due queue entries of this namespace, a batch at a time.
  auto scan = [&](auto each) -> Status {
    std::string from = keys_.ScanBegin();
    for (;;) {
      std::vector<Record> batch;
      {
        std::unique_ptr<MetadataTxn> txn = metadata_.Begin();
        ASSIGN_OR_RETURN(batch, txn->ScanRecords(RecordTable::kGcQueue, from, to, kBatch));
      }
      for (const Record& entry : batch) {
        std::optional<std::string_view> own = keys_.Own(entry.key, 16);
        if (!own) continue;  // another namespace's (only the empty namespace's range holds them)
        auto parsed = tiered::DecodeGcQueueKey(*own);
        if (!parsed) continue;
        RETURN_IF_ERROR(each(entry, parsed->first, parsed->second));
      }
      if (batch.size() < kBatch) return Status::Ok();
      from = batch.back().key;
      from.push_back('\0');
    }
  };
  if (progress != nullptr) {
    // The count first (the queue's keys are small), so that the job can tell how far it got.
    uint64_t due = 0;
    RETURN_IF_ERROR(scan([&](const Record&, uint64_t, uint64_t) {
      ++due;
      return Status::Ok();
    }));
    progress->total.store(due);
  }
  return scan([&](const Record& entry, uint64_t dead_since, uint64_t id) -> Status {
    if (progress != nullptr) {
      if (progress->canceled && progress->canceled()) {
        return Status(Errc::kUnavailable, "garbage collection canceled");
      }
      progress->done.fetch_add(1);
    }
    return CollectOne(entry, dead_since, id);
  });
}

Status TieredStore::CollectOne(const Record& entry, uint64_t dead_since, uint64_t id) {
  bool deleted = false;
  RETURN_IF_ERROR(RunTransaction(metadata_, [&](MetadataTxn& txn) -> Status {
    deleted = false;
    Result<std::string> queued = txn.GetRecord(RecordTable::kGcQueue, entry.key);
    if (queued.status().code() == Errc::kNotFound) return Status::Ok();
    RETURN_IF_ERROR(queued.status());
    Result<std::string> value = txn.GetRecord(RecordTable::kObjects, keys_.Object(id));
    if (value.status().code() == Errc::kNotFound) {
      txn.DeleteRecord(RecordTable::kGcQueue, entry.key);
      return Status::Ok();
    }
    RETURN_IF_ERROR(value.status());
    ASSIGN_OR_RETURN(ObjectRecord object, tiered::DecodeObject(*value));
    txn.DeleteRecord(RecordTable::kGcQueue, entry.key);
    if (object.live != 0 || object.dead_since_ms != dead_since) return Status::Ok();  // revived
    for (const tiered::Blake3Hash& hash : object.chunks) {
      std::string key = keys_.Chunk(hash);
      Result<std::string> chunk = txn.GetRecord(RecordTable::kChunks, key);
      if (chunk.status().code() == Errc::kNotFound) continue;
      RETURN_IF_ERROR(chunk.status());
      ASSIGN_OR_RETURN(ChunkRecord record, tiered::DecodeChunk(*chunk));
      if (record.object != id) continue;  // stored again in another object
      if (record.refs != 0) {
        return Status(Errc::kInternal, "object " + std::to_string(id) + " counted dead but chunk " +
                                           hash.Hex() + " is referenced");
      }
      txn.DeleteRecord(RecordTable::kChunks, key);
    }
    txn.DeleteRecord(RecordTable::kObjects, keys_.Object(id));
    deleted = true;
    return Status::Ok();
  }));
  if (!deleted) return Status::Ok();
  Status s;
  {
    BlockingRegion blocking;
    s = remote_->Delete(keys_.RemoteObject(id));
  }
  CountRemote(kRemoteDelete, s.ok());
  if (!s.ok()) {
    LOG_WARN("tiered store: deleting {}: {} (the reconcile retries)", keys_.RemoteObject(id),
             s.ToString());
  } else {
    gc_deleted_.fetch_add(1);
  }
  return Status::Ok();
}

Status TieredStore::Reconcile(PassProgress* progress) {
  // Counts a step about to be made, unless the pass is to stop.
  auto step = [progress]() -> Status {
    if (progress == nullptr) return Status::Ok();
    if (progress->canceled && progress->canceled()) {
      return Status(Errc::kUnavailable, "reconcile canceled");
    }
    progress->done.fetch_add(1);
    return Status::Ok();
  };
  // Mark: every extent must belong to a live inode. Extents of inodes that are gone (the
  // server stopped between deleting a file and releasing its chunks) are released.
  std::string from = keys_.ScanBegin();
  const std::string to = keys_.ScanEnd();
  for (;;) {
    std::vector<Record> batch;
    {
      std::unique_ptr<MetadataTxn> txn = metadata_.Begin();
      ASSIGN_OR_RETURN(batch, txn->ScanRecords(RecordTable::kChunkMap, from, to, 1));
    }
    if (batch.empty()) break;
    std::optional<std::string_view> own = keys_.Own(batch.front().key, 16);
    if (!own) {
      // Another namespace's key inside the empty namespace's range: step over it.
      from = batch.front().key;
      from.push_back('\0');
      continue;
    }
    uint64_t file = tiered::ExtentKeyFile(*own);
    RETURN_IF_ERROR(step());
    Result<Inode> inode = metadata_.GetInode(file);
    if (inode.status().code() == Errc::kNotFound) {
      Stripe& s = StripeOf(file);
      MutexLock lock(&s.commit_mu);
      RETURN_IF_ERROR(Release(file));
      orphan_extents_.fetch_add(1);
      LOG_INFO("tiered store: released the chunks of deleted file {}", file);
    } else {
      RETURN_IF_ERROR(inode.status());
    }
    if (file == UINT64_MAX) break;
    from = keys_.FilePrefix(file + 1);
  }
  // Sweep: objects on the remote without a record were uploaded by a pass that never
  // committed (a crash, a failed commit), or their deletion was recorded but not done.
  std::vector<ObjectInfo> listed;
  {
    BlockingRegion blocking;
    Result<std::vector<ObjectInfo>> list = remote_->List(keys_.RemoteObjectPrefix());
    CountRemote(kRemoteList, list.ok());
    ASSIGN_OR_RETURN(listed, std::move(list));
  }
  if (progress != nullptr) {
    progress->total.store(progress->done.load() + listed.size());
  }
  for (const ObjectInfo& info : listed) {
    RETURN_IF_ERROR(step());
    std::optional<uint64_t> id = keys_.ParseRemoteObject(info.key);
    if (!id) continue;
    {
      MutexLock lock(&in_flight_mu_);
      if (in_flight_.contains(*id)) continue;  // being committed (checked before the record)
    }
    std::unique_ptr<MetadataTxn> txn = metadata_.Begin();
    Result<std::string> record = txn->GetRecord(RecordTable::kObjects, keys_.Object(*id));
    if (record.ok()) continue;
    if (record.status().code() != Errc::kNotFound) return record.status();
    Status s;
    {
      BlockingRegion blocking;
      s = remote_->Delete(info.key);
    }
    CountRemote(kRemoteDelete, s.ok());
    if (!s.ok()) return s;
    orphans_deleted_.fetch_add(1);
    LOG_INFO("tiered store: deleted orphaned object {}", info.key);
  }
  return Status::Ok();
}

Status TieredStore::DeleteAll() {
  // Carve passes, releases, GC or a reconcile still running would write records or upload
  // objects behind the sweep: finish what is dirty (so that no upload is left in flight), then
  // stop them all. The queued releases are moot: every record goes.
  RETURN_IF_ERROR(Flush(nullptr));
  StopThreads();
  // The unprefixed key size of each table's records (chunk_index.h).
  constexpr std::pair<RecordTable, size_t> kTables[] = {{RecordTable::kChunkMap, 16},
                                                        {RecordTable::kChunks, 32},
                                                        {RecordTable::kObjects, 8},
                                                        {RecordTable::kGcQueue, 16}};
  constexpr size_t kBatch = 256;
  const std::string to = keys_.ScanEnd();
  for (const auto& entry : kTables) {
    const RecordTable table = entry.first;
    const size_t size = entry.second;
    std::string from = keys_.ScanBegin();
    for (;;) {
      std::vector<Record> batch;
      {
        std::unique_ptr<MetadataTxn> txn = metadata_.Begin();
        ASSIGN_OR_RETURN(batch, txn->ScanRecords(table, from, to, kBatch));
      }
      if (batch.empty()) break;
      RETURN_IF_ERROR(RunTransaction(metadata_, [&](MetadataTxn& txn) {
        for (const Record& r : batch) {
          if (keys_.Own(r.key, size)) txn.DeleteRecord(table, r.key);
        }
        return Status::Ok();
      }));
      if (batch.size() < kBatch) break;
      from = batch.back().key;
      from.push_back('\0');
    }
  }
  {
    MutexLock lock(&keys_mu_);
    wrapped_keys_.clear();
  }
  std::vector<ObjectInfo> listed;
  {
    BlockingRegion blocking;
    Result<std::vector<ObjectInfo>> list = remote_->List(keys_.RemoteObjectPrefix());
    CountRemote(kRemoteList, list.ok());
    ASSIGN_OR_RETURN(listed, std::move(list));
  }
  for (const ObjectInfo& info : listed) {
    if (!keys_.ParseRemoteObject(info.key)) continue;
    BlockingRegion blocking;
    Status s = remote_->Delete(info.key);
    CountRemote(kRemoteDelete, s.ok());
    RETURN_IF_ERROR(s);
  }
  return Status::Ok();
}

TieredStats TieredStore::Stats() {
  TieredStats st;
  st.journal = journal_->Stats();
  st.carve_passes = carve_passes_.load();
  st.carved_bytes = carved_bytes_.load();
  st.chunks_new = chunks_new_.load();
  st.chunks_deduplicated = chunks_dedup_.load();
  st.deduplicated_bytes = dedup_bytes_.load();
  st.objects_uploaded = objects_uploaded_.load();
  st.uploaded_bytes = uploaded_bytes_.load();
  st.upload_failures = upload_failures_.load();
  st.chunks_fetched = chunks_fetched_.load();
  st.corruption_events = corruption_events_.load();
  st.gc_objects_deleted = gc_deleted_.load();
  st.orphans_deleted = orphans_deleted_.load();
  st.orphan_extents_released = orphan_extents_.load();
  for (size_t op = 0; op < kRemoteOps.size(); ++op) {
    st.remote_requests[op] = remote_requests_[op].load(std::memory_order_relaxed);
    st.remote_errors[op] = remote_errors_[op].load(std::memory_order_relaxed);
  }
  st.remote_retries = remote_->Retries();
  for (Stripe& s : stripes_) {
    MutexLock lock(&s.pending_mu);
    st.dirty_files += s.pending.size();
  }
  return st;
}

}  // namespace

Result<std::unique_ptr<TieredBlockStore>> OpenTieredBlockStore(TieredOptions options,
                                                               MetadataStore& metadata) {
  if (options.remote == nullptr) return Status(Errc::kInvalid, "tiered store: no remote");
  if (options.codec.cipher != cas::Cipher::kNone && !options.keyring) {
    return Status(Errc::kInvalid, "tiered store: encryption needs a key");
  }
  RETURN_IF_ERROR(options.chunking.Validate());
  if (options.chunking.max_size > cas::kMaxChunkSize) {
    return Status(Errc::kInvalid, "tiered store: chunks may be at most 64 MiB");
  }
  if (options.object_bytes == 0) return Status(Errc::kInvalid, "tiered store: object_bytes is 0");
  auto store = std::make_unique<TieredStore>(std::move(options), metadata);
  RETURN_IF_ERROR(store->Start());
  return std::unique_ptr<TieredBlockStore>(std::move(store));
}

}  // namespace dittofs::stores

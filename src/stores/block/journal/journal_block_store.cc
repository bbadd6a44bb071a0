// SPDX-License-Identifier: Apache-2.0
#include "stores/block/journal/journal_block_store.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <cinttypes>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <limits>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string_view>
#include <system_error>
#include <tuple>
#include <unordered_map>
#include <unordered_set>
#include <utility>

#include "base/clock.h"
#include "base/group_sync.h"
#include "base/log.h"
#include "base/mutex.h"
#include "base/posix_io.h"
#include "base/thread_pool.h"
#include "stores/block/journal/crc32c.h"

namespace dittofs::stores {
namespace {

// The layouts below are specified in docs/formats/journal.md; change both together.

// Segment header: magic[8] "DFSJRNL\0", version u32, header size u32, segment id u64,
// CRC32C of the preceding 24 bytes u32, zero u32. Integers big-endian.
constexpr std::array<char, 8> kSegmentMagic = {'D', 'F', 'S', 'J', 'R', 'N', 'L', '\0'};
// Version 2 seeds each record's CRC with the segment id, so that a recycled segment file's
// records from its previous life never pass for its own. Version 3 adds discard records: a
// server of version 2 would take one for a torn record and cut the log there, losing every
// record after it, so every new segment says 3 and such a server refuses the journal instead.
// Version 1 segments (CRC from 0) and version 2 segments are still read.
constexpr uint32_t kFormatVersion = 3;
constexpr uint32_t kOldestFormatVersion = 1;
constexpr uint64_t kSegmentHeaderSize = 32;

// Record header: magic u32, type u8, zero[3], record length u32 (header + data), CRC32C u32
// (from the segment's seed, over the header with this field zero, then the data), file u64,
// offset u64, length u64, seq u64; then `length` data bytes for data records, nothing for the
// others.
constexpr uint32_t kRecordMagic = 0x444A5243;  // "DJRC"
constexpr uint64_t kRecordHeaderSize = 48;
// Longer writes are split into several records, so one record never needs a huge buffer at
// replay and its length fits the header's u32.
constexpr uint64_t kMaxRecordData = 16 << 20;

enum class RecordType : uint8_t {
  kData = 1,      // `length` bytes at `offset`, written with sequence number `seq`
  kTruncate = 2,  // bytes at or after `offset` written before `seq` are discarded
  kRemove = 3,    // every byte written before `seq` is discarded
  kClean = 4,     // bytes in [offset, offset+length) last written at or before `seq` are clean
  kEvict = 5,     // the journal dropped those bytes; the backing holds them
  kDiscard = 6,   // bytes in [offset, offset+length) written before `seq` are discarded
};

// Offsets are off_t on the way to the kernel.
constexpr uint64_t kMaxOffset = std::numeric_limits<off_t>::max();
// Write-behind: once this many bytes of a segment are written but not yet handed to the
// kernel's writeback, the writer starts writing them to disk without waiting. A later Sync
// then waits for the disk only for what is left, instead of for everything since the last one.
constexpr uint64_t kWritebackBytes = 2 << 20;
constexpr uint64_t kNoLimit = std::numeric_limits<uint64_t>::max();
// A writer waiting for space longer than this logs a warning (once per wait).
constexpr int64_t kSlowWaitNanos = int64_t{5} * 1'000'000'000;

struct RecordHeader {
  RecordType type = RecordType::kData;
  uint64_t file = 0;
  uint64_t offset = 0;
  uint64_t length = 0;
  uint64_t seq = 0;

  bool has_data() const { return type == RecordType::kData; }
  uint64_t record_bytes() const { return kRecordHeaderSize + (has_data() ? length : 0); }
};

// Where a segment's record CRCs start: CRC32C of its id (8 bytes, big-endian) from version 2,
// zero before.
uint32_t SegmentCrcSeed(uint64_t id, uint32_t version) {
  if (version < 2) return 0;
  std::array<std::byte, 8> be;
  StoreBe64(be.data(), id);
  return Crc32c(0, be);
}

void EncodeRecordHeader(const RecordHeader& h, ByteView data, uint32_t seed, std::byte* out) {
  std::memset(out, 0, kRecordHeaderSize);
  StoreBe32(out, kRecordMagic);
  out[4] = std::byte(static_cast<uint8_t>(h.type));
  StoreBe32(out + 8, static_cast<uint32_t>(h.record_bytes()));
  StoreBe64(out + 16, h.file);
  StoreBe64(out + 24, h.offset);
  StoreBe64(out + 32, h.length);
  StoreBe64(out + 40, h.seq);
  uint32_t crc = Crc32c(Crc32c(seed, ByteView(out, kRecordHeaderSize)), data);
  StoreBe32(out + 12, crc);
}

// Decodes and checks a record header read from a segment holding `available` more bytes from
// the record's start. False when it is not a whole, plausible record header.
bool DecodeRecordHeader(const std::byte* in, uint64_t available, RecordHeader* h, uint32_t* crc) {
  if (available < kRecordHeaderSize || LoadBe32(in) != kRecordMagic) return false;
  uint8_t type = static_cast<uint8_t>(in[4]);
  if (type < 1 || type > 6 || in[5] != std::byte{0} || in[6] != std::byte{0} ||
      in[7] != std::byte{0}) {
    return false;
  }
  h->type = static_cast<RecordType>(type);
  h->file = LoadBe64(in + 16);
  h->offset = LoadBe64(in + 24);
  h->length = LoadBe64(in + 32);
  h->seq = LoadBe64(in + 40);
  *crc = LoadBe32(in + 12);
  if (h->has_data() && (h->length > kMaxRecordData || h->offset > kMaxOffset ||
                        h->length > kMaxOffset - h->offset)) {
    return false;
  }
  return LoadBe32(in + 8) == h->record_bytes() && h->record_bytes() <= available;
}

uint32_t RecordCrc(const std::byte* header, ByteView data, uint32_t seed) {
  std::array<std::byte, kRecordHeaderSize> copy;
  std::memcpy(copy.data(), header, kRecordHeaderSize);
  StoreBe32(copy.data() + 12, 0);
  return Crc32c(Crc32c(seed, copy), data);
}

void EncodeSegmentHeader(uint64_t id, std::byte* out) {
  std::memset(out, 0, kSegmentHeaderSize);
  std::memcpy(out, kSegmentMagic.data(), kSegmentMagic.size());
  StoreBe32(out + 8, kFormatVersion);
  StoreBe32(out + 12, kSegmentHeaderSize);
  StoreBe64(out + 16, id);
  StoreBe32(out + 24, Crc32c(0, ByteView(out, 24)));
}

Status ErrnoStatus(int err, std::string_view op, const std::string& path) {
  return StorageErrno(err, "journal", op, path);
}

// Reads exactly `out.size()` bytes at `position`; a short file is an error.
Status PreadFully(int fd, MutableByteView out, uint64_t position, const std::string& path) {
  for (size_t done = 0; done < out.size();) {
    ssize_t n = pread(fd, out.data() + done, out.size() - done, position + done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return ErrnoStatus(errno, "read", path);
    if (n == 0) return Status(Errc::kIo, "journal read " + path + ": unexpected end of file");
    done += n;
  }
  return Status::Ok();
}

// Writes `head` then `body` at `position` with as few system calls as the kernel allows.
Status PwriteFully(int fd, ByteView head, ByteView body, uint64_t position,
                   const std::string& path) {
  const size_t total = head.size() + body.size();
  for (size_t done = 0; done < total;) {
    iovec iov[2];
    int count = 0;
    if (done < head.size()) {
      iov[count++] = {const_cast<std::byte*>(head.data()) + done, head.size() - done};
    }
    size_t body_done = done > head.size() ? done - head.size() : 0;
    if (body_done < body.size()) {
      iov[count++] = {const_cast<std::byte*>(body.data()) + body_done, body.size() - body_done};
    }
    ssize_t n = pwritev(fd, iov, count, static_cast<off_t>(position + done));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return ErrnoStatus(errno, "write", path);
    if (n == 0) return Status(Errc::kIo, "journal write " + path + ": wrote nothing");
    done += n;
  }
  return Status::Ok();
}

// What `bytes` (from a record's place to the end of its file) hold instead of a record of
// their segment; for the log of a cut. Either way a record was never written whole there: a
// write that had not finished (where a reused file's stale bytes may show through), or one
// torn by a power loss.
std::string WhyNotARecord(ByteView bytes) {
  if (bytes.size() < kRecordHeaderSize) {
    return fmt::format("{} bytes, too few for a record header", bytes.size());
  }
  const ByteView header = bytes.first(kRecordHeaderSize);
  if (std::all_of(header.begin(), header.end(), [](std::byte b) { return b == std::byte{0}; })) {
    return "zeros, where a record's place was reserved";
  }
  RecordHeader h;
  uint32_t crc = 0;
  if (!DecodeRecordHeader(bytes.data(), bytes.size(), &h, &crc)) {
    if (DecodeRecordHeader(bytes.data(), kNoLimit, &h, &crc)) {
      return fmt::format("a record header of {} bytes with {} left in the file", h.record_bytes(),
                         bytes.size());
    }
    return "not a record header";
  }
  return "a record whose CRC is not this segment's";
}

// Whole records of a segment (CRCs from `seed`) found in `bytes`, skipping anything else: what
// a cut discards, counted for the log.
struct RecordScan {
  uint64_t records = 0;
  uint64_t min_seq = std::numeric_limits<uint64_t>::max();
  uint64_t max_seq = 0;

  std::string ToString() const {
    if (records == 0) return "no whole record";
    return fmt::format("{} whole records (seqs {}..{})", records, min_seq, max_seq);
  }
};

RecordScan ScanForRecords(ByteView bytes, uint32_t seed) {
  RecordScan scan;
  std::array<std::byte, 4> magic;
  StoreBe32(magic.data(), kRecordMagic);
  for (auto it = bytes.begin();;) {
    it = std::search(it, bytes.end(), magic.begin(), magic.end());
    if (it == bytes.end()) return scan;
    const size_t at = static_cast<size_t>(it - bytes.begin());
    RecordHeader h;
    uint32_t crc = 0;
    if (DecodeRecordHeader(bytes.data() + at, bytes.size() - at, &h, &crc) &&
        RecordCrc(bytes.data() + at,
                  bytes.subspan(at + kRecordHeaderSize, h.has_data() ? h.length : 0),
                  seed) == crc) {
      ++scan.records;
      scan.min_seq = std::min(scan.min_seq, h.seq);
      scan.max_seq = std::max(scan.max_seq, h.seq);
      it += static_cast<std::ptrdiff_t>(h.record_bytes());
    } else {
      ++it;
    }
  }
}

// The bytes of `path` from `position` to its end (empty when it cannot be read).
std::vector<std::byte> ReadRest(const std::string& path, uint64_t position) {
  std::vector<std::byte> bytes;
  int fd = RetryOnEintr([&] { return open(path.c_str(), O_RDONLY | O_CLOEXEC); });
  struct stat st;
  if (fd < 0) return bytes;
  if (fstat(fd, &st) == 0 && static_cast<uint64_t>(st.st_size) > position) {
    bytes.resize(static_cast<uint64_t>(st.st_size) - position);
    if (!PreadFully(fd, bytes, position, path).ok()) bytes.clear();
  }
  close(fd);
  return bytes;
}

// fdatasync, declared as blocking to the thread pool.
Status Flush(int fd, const std::string& path) {
  int rc, err;
  {
    BlockingRegion blocking;
    rc = RetryOnEintr([&] { return fdatasync(fd); });
    err = errno;
  }
  if (rc != 0) return ErrnoStatus(err, "sync", path);
  return Status::Ok();
}

// Waits on `cv` with `mu` held (by a MutexLock in the caller) until `done()`.
template <typename Predicate>
void Wait(std::condition_variable& cv, Mutex& mu, Predicate done) {
  std::unique_lock<std::mutex> lock(mu.native(), std::adopt_lock);
  cv.wait(lock, done);
  lock.release();  // the caller's MutexLock still owns the mutex
}

// Deletes `path`; a failure is only logged (the file is garbage either way).
void UnlinkOrWarn(const std::string& path) {
  if (unlink(path.c_str()) != 0 && errno != ENOENT) {
    LOG_WARN("journal: cannot delete {}: {}", path, std::generic_category().message(errno));
  }
}

// Segment files the journal no longer needs, kept (open, under a `free-…` name) to be reused
// as new segments. Overwriting a file costs the filesystem less than growing a new one: no
// block or page allocation, and no metadata for a flush to write besides the data.
class FreeSegments {
 public:
  struct File {
    int fd = -1;
    std::string path;
    uint64_t bytes = 0;
  };
  // `max` files of at most `max_bytes` each; what does not fit is deleted.
  FreeSegments(size_t max, uint64_t max_bytes) : max_(max), max_bytes_(max_bytes) {}
  ~FreeSegments() {
    for (File& f : files_) close(f.fd);
  }
  FreeSegments(const FreeSegments&) = delete;
  FreeSegments& operator=(const FreeSegments&) = delete;

  size_t max() const { return max_; }

  // Keeps `f` (taking its descriptor) for reuse, or deletes it when full or too large.
  void Put(File f) {
    {
      MutexLock lock(&mu_);
      if (files_.size() < max_ && f.bytes <= max_bytes_) {
        bytes_ += f.bytes;
        files_.push_back(std::move(f));
        return;
      }
    }
    Delete(f);
  }

  std::optional<File> Take() {
    MutexLock lock(&mu_);
    if (files_.empty()) return std::nullopt;
    File f = std::move(files_.back());
    files_.pop_back();
    bytes_ -= f.bytes;
    return f;
  }

  // Deletes every kept file; returns the bytes freed.
  uint64_t Clear() {
    std::vector<File> files;
    {
      MutexLock lock(&mu_);
      files.swap(files_);
      bytes_ = 0;
    }
    uint64_t freed = 0;
    for (File& f : files) {
      freed += f.bytes;
      Delete(f);
    }
    return freed;
  }

  std::pair<size_t, uint64_t> Count() {
    MutexLock lock(&mu_);
    return {files_.size(), bytes_};
  }

  static void Delete(const File& f) {
    UnlinkOrWarn(f.path);
    close(f.fd);
  }

 private:
  const size_t max_;
  const uint64_t max_bytes_;
  Mutex mu_;
  std::vector<File> files_ GUARDED_BY(mu_);
  uint64_t bytes_ GUARDED_BY(mu_) = 0;
};

// One segment file: a header, then records back to back. Only the current segment grows;
// records are never rewritten while the segment lives, so bytes read from one stay valid for
// as long as it is open.
//
// Shared ownership: the extents of the index and any read in flight keep a segment's
// descriptor (and mapping) open after the journal deleted the file. A segment retired for
// reuse goes to the free files only when the last of them lets go, so no read ever sees it
// overwritten.
class Segment {
 public:
  // `map_bytes`: how much of the file to map for reads, at least as much as it can grow to.
  // `allocated`: the file's size when it was reused (stale bytes past the records), else 0.
  Segment(uint64_t id, uint32_t version, std::string path, int fd, uint64_t size,
          uint64_t lsn_begin, uint64_t map_bytes, uint64_t allocated = 0)
      : id_(id),
        crc_seed_(SegmentCrcSeed(id, version)),
        path_(std::move(path)),
        fd_(fd),
        lsn_begin_(lsn_begin),
        allocated_(allocated),
        size_(size),
        synced_size_(size) {
    void* map = mmap(nullptr, map_bytes, PROT_READ, MAP_SHARED, fd_, 0);
    if (map != MAP_FAILED) {
      map_ = static_cast<const std::byte*>(map);
      map_bytes_ = map_bytes;
    }
  }
  ~Segment() {
    if (map_ != nullptr) munmap(const_cast<std::byte*>(map_), map_bytes_);
    if (recycle_to_ != nullptr) {
      recycle_to_->Put({.fd = fd_, .path = std::move(free_path_), .bytes = size_.load()});
    } else {
      close(fd_);
    }
  }
  Segment(const Segment&) = delete;
  Segment& operator=(const Segment&) = delete;

  uint64_t id() const { return id_; }
  // Where this segment's record CRCs start (SegmentCrcSeed).
  uint32_t crc_seed() const { return crc_seed_; }
  // The log position (bytes of log since the journal was opened) of the segment's first byte.
  uint64_t lsn_begin() const { return lsn_begin_; }
  const std::string& path() const { return path_; }
  int fd() const { return fd_; }
  // The file mapped read-only, for reads without a copy; null when mapping failed (then reads
  // use pread). Only bytes of records already written may be read through it: past the end of
  // the file a page does not exist.
  const std::byte* map() const { return map_; }

  // Bytes reserved: the file's size once every reserved record has been written.
  std::atomic<uint64_t>& size() { return size_; }
  // Bytes known to be on stable storage; only the thread flushing changes it.
  std::atomic<uint64_t>& synced_size() { return synced_size_; }
  // Appends reserved in this segment whose record is not yet in the index: a segment is not
  // deleted while any are in flight.
  std::atomic<int64_t> pending{0};
  // Bytes of live extents pointing here, and of those the dirty ones.
  std::atomic<int64_t> live_bytes{0};
  std::atomic<int64_t> dirty_bytes{0};
  // Tick of the last read or write touching this segment, for LRU eviction.
  std::atomic<uint64_t> last_use{0};
  // Where the next write-behind starts: bytes before it were handed to the kernel's writeback.
  std::atomic<uint64_t> writeback_from{0};
  // A change that only a flush makes durable (a cut stale tail) awaits the next flush.
  std::atomic<bool> needs_flush{false};

  // Cuts a reused file's stale bytes past the records (none when the file was new) and marks
  // the cut for the next flush. REQUIRES: no more records are reserved in the segment.
  Status CutStaleTail() {
    const uint64_t end = size_.load();
    if (allocated_ <= end) return Status::Ok();
    if (RetryOnEintr([&] { return ftruncate(fd_, static_cast<off_t>(end)); }) != 0) {
      return ErrnoStatus(errno, "truncate", path_);
    }
    needs_flush.store(true);
    return Status::Ok();
  }

  // Called once the file was renamed to `free_path` (and the journal forgot the segment): when
  // the last holder lets go, the open file goes to `free` instead of being closed.
  void RecycleTo(std::shared_ptr<FreeSegments> free, std::string free_path) {
    recycle_to_ = std::move(free);
    free_path_ = std::move(free_path);
  }

  // What deleting the segment needs to know, filled as records land.
  struct Contents {
    std::unordered_set<uint64_t> files;    // files with data records here
    std::vector<RecordHeader> tombstones;  // every non-data record here
    uint64_t min_data_seq = kNoLimit;      // oldest data record here
  };
  Mutex mu;
  Contents contents GUARDED_BY(mu);

  void NoteData(uint64_t file, uint64_t seq) {
    MutexLock lock(&mu);
    contents.files.insert(file);
    contents.min_data_seq = std::min(contents.min_data_seq, seq);
  }
  void NoteTombstone(const RecordHeader& h) {
    MutexLock lock(&mu);
    contents.tombstones.push_back(h);
  }

 private:
  const uint64_t id_;
  const uint32_t crc_seed_;
  const std::string path_;
  const int fd_;
  const uint64_t lsn_begin_;
  // The file's size before this segment reused it: bytes past size() up to here are stale
  // until overwritten or cut (CutStaleTail).
  const uint64_t allocated_;
  // Set once, by the reclaimer before it drops its reference: the last holder's release
  // orders it before the destructor.
  std::shared_ptr<FreeSegments> recycle_to_;
  std::string free_path_;
  std::atomic<uint64_t> size_;
  std::atomic<uint64_t> synced_size_;
  const std::byte* map_ = nullptr;
  uint64_t map_bytes_ = 0;
};

// A run of a file's bytes held in a segment at `position`.
struct SegmentRun {
  uint64_t length = 0;
  std::shared_ptr<Segment> segment;
  uint64_t position = 0;
  uint64_t seq = 0;
  bool clean = false;
};

// Totals over all files, kept with the index.
struct Totals {
  std::atomic<int64_t> dirty_bytes{0};
  std::atomic<int64_t> clean_bytes{0};
};

// The extents of one file, by offset and non-overlapping, with the edits the journal makes
// to them. Each edit keeps the segments', the file's and the totals' byte counts in step.
// Not thread-safe: FileState guards it.
class FileIndex {
 public:
  FileIndex(Totals& totals, std::atomic<int64_t>& file_dirty_bytes)
      : totals_(totals), file_dirty_bytes_(file_dirty_bytes) {}

  std::map<uint64_t, SegmentRun> extents;

  void Account(const SegmentRun& e, int64_t sign) {
    int64_t n = sign * static_cast<int64_t>(e.length);
    e.segment->live_bytes.fetch_add(n);
    if (e.clean) {
      totals_.clean_bytes.fetch_add(n);
    } else {
      e.segment->dirty_bytes.fetch_add(n);
      file_dirty_bytes_.fetch_add(n);
      totals_.dirty_bytes.fetch_add(n);
    }
  }

  // Splits the extent straddling `at`, if any, so that an extent starts there.
  void SplitAt(uint64_t at) {
    auto& m = extents;
    auto it = m.upper_bound(at);
    if (it == m.begin()) return;
    --it;
    if (it->first >= at || it->first + it->second.length <= at) return;
    SegmentRun tail = it->second;
    uint64_t cut = at - it->first;
    tail.position += cut;
    tail.length -= cut;
    it->second.length = cut;
    m.emplace(at, std::move(tail));
  }

  // Calls fn(iterator) for each extent within [begin, end) after splitting at both ends; fn
  // returns true to erase the extent (after it was unaccounted).
  template <typename Fn>
  void ForEachIn(uint64_t begin, uint64_t end, Fn fn) {
    if (begin >= end) return;
    SplitAt(begin);
    SplitAt(end);
    auto& m = extents;
    for (auto it = m.lower_bound(begin); it != m.end() && it->first < end;) {
      if (fn(it->second)) {
        Account(it->second, -1);
        it = m.erase(it);
      } else {
        ++it;
      }
    }
  }

  // A new write: newer than everything in the index.
  void Insert(uint64_t offset, SegmentRun e) {
    // An empty write changes no byte; kept in the index, it would be a dirty extent that no
    // byte count accounts for (found by journal_fuzz: a zero-length data record).
    if (e.length == 0) return;
    ForEachIn(offset, offset + e.length, [](SegmentRun&) { return true; });
    Account(e, +1);
    extents.emplace(offset, std::move(e));
  }

  // Drops bytes at or after `size` written before `seq`.
  void Truncate(uint64_t size, uint64_t seq) {
    ForEachIn(size, kNoLimit, [&](SegmentRun& e) { return e.seq < seq; });
  }

  // Drops the bytes in [begin, end) written before `seq`.
  void Discard(uint64_t begin, uint64_t end, uint64_t seq) {
    ForEachIn(begin, end, [&](SegmentRun& e) { return e.seq < seq; });
  }

  // Drops every byte written before `seq`.
  void Remove(uint64_t seq) {
    ForEachIn(0, kNoLimit, [&](SegmentRun& e) { return e.seq < seq; });
  }

  // Marks clean the bytes in [begin, end) last written at or before `seq`; returns whether
  // any changed.
  bool Clean(uint64_t begin, uint64_t end, uint64_t seq) {
    bool changed = false;
    ForEachIn(begin, end, [&](SegmentRun& e) {
      if (e.clean || e.seq > seq) return false;
      Account(e, -1);
      e.clean = true;
      Account(e, +1);
      changed = true;
      return false;
    });
    return changed;
  }

  // Drops the bytes in [begin, end) last written at or before `seq`: the backing has them.
  void Evict(uint64_t begin, uint64_t end, uint64_t seq) {
    ForEachIn(begin, end, [&](SegmentRun& e) { return e.seq <= seq; });
  }

  // Would Clean change anything?
  bool AnyDirty(uint64_t begin, uint64_t end, uint64_t seq) {
    auto& m = extents;
    auto it = m.upper_bound(begin);
    if (it != m.begin()) --it;
    for (; it != m.end() && it->first < end; ++it) {
      if (it->first + it->second.length <= begin) continue;
      if (!it->second.clean && it->second.seq <= seq) return true;
    }
    return false;
  }

 private:
  Totals& totals_;
  std::atomic<int64_t>& file_dirty_bytes_;
};

// The journal's view of one file.
struct FileState {
  explicit FileState(Totals& totals) : index(totals, dirty_bytes) {}

  // Serializes the changes to this file (append, then index update), so that the index applies
  // them in sequence order. Held across the record's pwrite: writes to one file are ordered.
  Mutex op_mu;
  bool removed GUARDED_BY(op_mu) = false;  // the state left the table; look it up again

  std::atomic<int64_t> dirty_bytes{0};  // read without a lock by DirtyFiles
  Mutex index_mu;                       // short: index edits and lookups, never I/O
  FileIndex index GUARDED_BY(index_mu);
};

// The end of [offset, offset + length), saturating instead of wrapping.
uint64_t RangeEnd(uint64_t offset, uint64_t length) {
  return length > kNoLimit - offset ? kNoLimit : offset + length;
}

std::string SegmentName(uint64_t id) {
  char name[32];
  std::snprintf(name, sizeof(name), "seg-%016" PRIx64 ".jnl", id);
  return name;
}

// A retired segment file waiting for reuse is named free-<id>.jnl, after its last id.
std::string FreeName(uint64_t id) {
  char name[32];
  std::snprintf(name, sizeof(name), "free-%016" PRIx64 ".jnl", id);
  return name;
}

// Parses `<prefix><16 lower-case hex digits>.jnl`.
bool ParseIdName(std::string_view name, std::string_view prefix, uint64_t* id) {
  if (name.size() != prefix.size() + 20 || !name.starts_with(prefix) || !name.ends_with(".jnl")) {
    return false;
  }
  uint64_t v = 0;
  for (char c : name.substr(prefix.size(), 16)) {
    int digit = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
    if (digit < 0) return false;
    v = v << 4 | static_cast<uint64_t>(digit);
  }
  *id = v;
  return true;
}

bool ParseSegmentName(std::string_view name, uint64_t* id) { return ParseIdName(name, "seg-", id); }
bool ParseFreeName(std::string_view name, uint64_t* id) { return ParseIdName(name, "free-", id); }

// How many retired segment files the journal keeps for reuse: enough for a burst of writes to
// roll into without growing files, at most an eighth of the capacity (which they count in).
size_t FreeSegmentsFor(const JournalOptions& options) {
  if (options.segment_bytes == 0) return 0;
  return static_cast<size_t>(
      std::min<uint64_t>(8, options.capacity_bytes / 8 / options.segment_bytes));
}

class Journal final : public JournalBlockStore {
 public:
  Journal(const JournalOptions& options, JournalBacking* backing)
      : options_(options),
        backing_(backing),
        free_(std::make_shared<FreeSegments>(FreeSegmentsFor(options), options.segment_bytes)),
        segment_capacity_(options.capacity_bytes - free_->max() * options.segment_bytes) {}
  ~Journal() override;

  // Replays the segments in options_.dir and starts a new one.
  Status Recover();

  Status Write(uint64_t file, uint64_t offset, ByteView data) override;
  // Copies what ReadRange views.
  Status Read(uint64_t file, uint64_t offset, MutableByteView out) override;
  // Views of the mapped segments where the journal holds the bytes, no copy.
  Result<BlockRead> ReadRange(uint64_t file, uint64_t offset, size_t length) override;
  Status Truncate(uint64_t file, uint64_t size) override;
  Status Remove(uint64_t file) override;
  // Drops the range's bytes from the index (dirty ones too: they need no upload any more) with
  // a discard record; reads of them go to the backing, whose copy is the owner's to cut.
  Status Deallocate(uint64_t file, uint64_t offset, uint64_t length) override;
  // What the index holds, dirty or clean, together with what the backing reports.
  Result<std::vector<BlockStore::Extent>> DataExtents(uint64_t file, uint64_t offset, uint64_t end,
                                                      size_t max) override;
  Status Sync(uint64_t file) override { return SyncAll(); }
  uint64_t UsedBytes() override { return disk_bytes_.load(); }
  Capacity GetCapacity() override;

  // Every file the index holds bytes of, dirty or clean: a write the journal holds may have
  // lost its size update to a crash, and a clean one may have been carved into the backing.
  Result<std::vector<DataEnd>> RecentDataEnds() override;
  std::vector<uint64_t> DirtyFiles(size_t max) override;
  std::vector<DirtyRange> DirtyRanges(uint64_t file) override;
  Status MarkClean(uint64_t file, uint64_t offset, uint64_t length, uint64_t seq) override;
  JournalStats Stats() override;

 private:
  // A run of a read: `length` bytes of the file at `at`, from `segment` at `position`, or
  // (segment null) from the backing, zeros where it has nothing.
  struct Piece {
    uint64_t at;
    uint64_t length;
    std::shared_ptr<Segment> segment;
    uint64_t position;
  };
  // The pieces of [offset, end) of `file`, in order.
  std::vector<Piece> Locate(uint64_t file, uint64_t offset, uint64_t end);
  // How much of a segment file of `size` bytes to map: all it can grow to.
  uint64_t MapBytes(uint64_t size) const {
    return std::max(
        size, options_.segment_bytes + kSegmentHeaderSize + kRecordHeaderSize + kMaxRecordData);
  }

  // A record's place in the log, taken under log_mu_ and written outside it.
  struct Reservation {
    std::shared_ptr<Segment> segment;
    uint64_t position = 0;  // of the record header in the segment
    uint64_t lsn = 0;       // of the record in the whole log
    uint64_t seq = 0;
    bool rolled = false;  // this reservation started a new segment
  };

  // The file's state with its op_mu held, released on destruction; null when the file has no
  // state and `create` is false.
  class LockedFile {
   public:
    LockedFile() = default;
    explicit LockedFile(std::shared_ptr<FileState> f) : f_(std::move(f)) {}
    LockedFile(LockedFile&& other) noexcept : f_(std::move(other.f_)) {}
    ~LockedFile() {
      if (f_ != nullptr) f_->op_mu.Unlock();
    }
    FileState* get() const { return f_.get(); }
    FileState* operator->() const { return f_.get(); }
    explicit operator bool() const { return f_ != nullptr; }

   private:
    std::shared_ptr<FileState> f_;
  };

  struct Shard {
    Mutex mu;
    std::unordered_map<uint64_t, std::shared_ptr<FileState>> files GUARDED_BY(mu);
  };
  static constexpr size_t kShards = 64;
  Shard& ShardOf(uint64_t file) { return shards_[(file * 0x9e3779b97f4a7c15) >> 58]; }

  std::shared_ptr<FileState> FindFile(uint64_t file);
  std::shared_ptr<FileState> FindOrCreateFile(uint64_t file);
  LockedFile LockFile(uint64_t file, bool create) NO_THREAD_SAFETY_ANALYSIS;
  // Forgets a removed file's state. REQUIRES: its op_mu is held.
  void DropFile(uint64_t file, FileState& state) NO_THREAD_SAFETY_ANALYSIS;

  Status CheckHealthy();
  void Fail(const Status& s);

  Result<Reservation> Reserve(uint64_t record_bytes);
  // Ends a reservation whose record is written (or failed), letting flushes past it.
  void Finish(const Reservation& r);
  Status RollLocked() EXCLUSIVE_LOCKS_REQUIRED(log_mu_);
  // Where an appended record's seq comes from.
  enum class Seq {
    kNew,   // a new change (data, truncate, remove): `h.seq` is set to the reservation's seq
    kKept,  // `h.seq` is kept: a limit (clean, evict), or a re-logged record's own seq
  };
  // Reserves, writes and finishes one record. The caller notes the record in the segment and
  // then ends `r->segment->pending`.
  Status Append(RecordHeader& h, ByteView data, Seq seq, Reservation* r);
  // Hands the segment's bytes written up to `written_to` to the kernel's writeback once enough
  // have gathered since the last time (see kWritebackBytes).
  void StartWriteback(Segment& segment, uint64_t written_to);

  // Makes every record reserved so far durable; one caller flushes for all that wait.
  Status SyncAll();
  Status FlushLog(uint64_t* goal);

  // Blocks a writer of `record_bytes` while dirty data fills the capacity.
  Status WaitForSpace(uint64_t record_bytes);
  void NoteSpaceMaybeFreed();
  // Reclaim(false) after a change that may have left segments dead; never fails the change.
  Status ReclaimAfterDiscard();
  // Deletes segments holding no live data, and evicts clean segments in LRU order while over
  // capacity, leaving room for `room` more bytes. `wait`: take the reclaim lock even if
  // another thread holds it.
  Status Reclaim(bool wait, uint64_t room = 0) NO_THREAD_SAFETY_ANALYSIS;
  Status ReclaimOnce(uint64_t room, bool* progress) EXCLUSIVE_LOCKS_REQUIRED(reclaim_mu_);

  Status ApplyReplayed(const RecordHeader& h, const std::shared_ptr<Segment>& segment,
                       uint64_t position);
  Status ReplaySegment(uint64_t id, uint32_t version, const std::string& path, bool* cut);
  // Takes up the free-… files left by an earlier run (the free list keeps what it can).
  void AdoptFreeFiles(const std::vector<uint64_t>& ids);

  const JournalOptions options_;
  JournalBacking* const backing_;  // may be null; outlives this store
  const std::shared_ptr<FreeSegments> free_;
  // The bound on the segments' bytes: the capacity less what the free files may take.
  const uint64_t segment_capacity_;
  std::array<Shard, kShards> shards_;
  Totals totals_;
  std::atomic<uint64_t> disk_bytes_{0};
  std::atomic<uint64_t> use_clock_{0};
  uint64_t records_replayed_ = 0;  // set by Recover
  uint64_t torn_bytes_ = 0;        // set by Recover

  Mutex fail_mu_;
  Status failure_ GUARDED_BY(fail_mu_);
  std::atomic<bool> failed_{false};

  // The append position: short sections, and only a segment roll does I/O under it.
  Mutex log_mu_;
  std::condition_variable log_cv_;  // an in-flight reservation finished
  std::map<uint64_t, std::shared_ptr<Segment>> segments_ GUARDED_BY(log_mu_);
  std::shared_ptr<Segment> current_ GUARDED_BY(log_mu_);
  uint64_t next_segment_id_ GUARDED_BY(log_mu_) = 1;
  uint64_t next_seq_ GUARDED_BY(log_mu_) = 1;
  uint64_t reserved_lsn_ GUARDED_BY(log_mu_) = 0;
  std::set<uint64_t> in_flight_ GUARDED_BY(log_mu_);  // lsn of reserved, unwritten records
  bool dir_unsynced_ GUARDED_BY(log_mu_) = false;     // a segment was created since the last flush

  // Group commit: one caller flushes while the others wait for the log to be durable past them.
  GroupSync group_sync_;

  // Back-pressure: writers wait here for space_epoch_ to move.
  Mutex space_mu_;
  std::condition_variable space_cv_;
  uint64_t space_epoch_ GUARDED_BY(space_mu_) = 0;

  Mutex reclaim_mu_;  // one reclaimer at a time; taken before any file's op_mu
};

Journal::~Journal() {
  // Best effort: a clean shutdown leaves nothing to replay as torn.
  Status s = SyncAll();
  if (!s.ok()) LOG_WARN("journal {}: final sync failed: {}", options_.dir, s.ToString());
  // Nor stale bytes of a reused file past the last record (a restart would cut them anyway).
  MutexLock lock(&log_mu_);
  if (s.ok() && current_ != nullptr && current_->CutStaleTail().ok() &&
      current_->needs_flush.exchange(false)) {
    (void)Flush(current_->fd(), current_->path());
  }
}

BlockStore::Capacity Journal::GetCapacity() {
  struct statvfs st;
  if (statvfs(options_.dir.c_str(), &st) != 0) return {};
  uint64_t unit = st.f_frsize ? st.f_frsize : st.f_bsize;
  return {unit * st.f_blocks, unit * st.f_bfree, unit * st.f_bavail};
}

std::shared_ptr<FileState> Journal::FindFile(uint64_t file) {
  Shard& shard = ShardOf(file);
  MutexLock lock(&shard.mu);
  auto it = shard.files.find(file);
  return it == shard.files.end() ? nullptr : it->second;
}

std::shared_ptr<FileState> Journal::FindOrCreateFile(uint64_t file) {
  Shard& shard = ShardOf(file);
  MutexLock lock(&shard.mu);
  std::shared_ptr<FileState>& slot = shard.files[file];
  if (slot == nullptr) slot = std::make_shared<FileState>(totals_);
  return slot;
}

Journal::LockedFile Journal::LockFile(uint64_t file, bool create) {
  for (;;) {
    std::shared_ptr<FileState> f = create ? FindOrCreateFile(file) : FindFile(file);
    if (f == nullptr) return LockedFile();
    f->op_mu.Lock();
    if (!f->removed) return LockedFile(std::move(f));
    f->op_mu.Unlock();  // removed meanwhile: a new state may stand in the table now
  }
}

void Journal::DropFile(uint64_t file, FileState& state) {
  state.removed = true;
  Shard& shard = ShardOf(file);
  MutexLock lock(&shard.mu);
  auto it = shard.files.find(file);
  if (it != shard.files.end() && it->second.get() == &state) shard.files.erase(it);
}

Status Journal::CheckHealthy() {
  if (!failed_.load()) return Status::Ok();
  MutexLock lock(&fail_mu_);
  return failure_;
}

void Journal::Fail(const Status& s) {
  MutexLock lock(&fail_mu_);
  if (failed_.load()) return;
  LOG_ERROR("journal {}: failing every later change: {}", options_.dir, s.ToString());
  failure_ = Status(Errc::kIo, "journal " + options_.dir + " failed: " + s.ToString());
  failed_.store(true);
}

Status Journal::RollLocked() {
  // The segment that stops growing must end where its records end: stale bytes of a reused
  // file past them would read as a torn record at replay, which cuts every later segment.
  // Cut now, and made durable by the next flush, before any record of the new segment.
  if (current_ != nullptr) RETURN_IF_ERROR(current_->CutStaleTail());
  uint64_t id = next_segment_id_++;
  std::string path = options_.dir + "/" + SegmentName(id);
  int fd = -1;
  uint64_t allocated = 0;
  if (std::optional<FreeSegments::File> reuse = free_->Take()) {
    // The free name is durable (see ReclaimOnce): after a crash this file is either a free
    // file or, once a flush made the rename durable, the new segment.
    if (rename(reuse->path.c_str(), path.c_str()) == 0) {
      fd = reuse->fd;
      allocated = reuse->bytes;
    } else {
      LOG_WARN("journal: cannot reuse {}: {}", reuse->path, std::generic_category().message(errno));
      FreeSegments::Delete(*reuse);
    }
  }
  if (fd < 0) {
    fd = RetryOnEintr(
        [&] { return open(path.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600); });
    if (fd < 0) return ErrnoStatus(errno, "create", path);
  }
  std::array<std::byte, kSegmentHeaderSize> header;
  EncodeSegmentHeader(id, header.data());
  Status s = PwriteFully(fd, header, ByteView(), 0, path);
  if (!s.ok()) {
    close(fd);
    unlink(path.c_str());
    return s;
  }
  auto segment = std::make_shared<Segment>(id, kFormatVersion, path, fd, kSegmentHeaderSize,
                                           reserved_lsn_, MapBytes(0), allocated);
  segment->synced_size().store(0);  // neither the header nor the name is durable yet
  segment->last_use.store(++use_clock_);
  segments_.emplace(id, segment);
  current_ = std::move(segment);
  reserved_lsn_ += kSegmentHeaderSize;
  disk_bytes_.fetch_add(kSegmentHeaderSize);
  dir_unsynced_ = true;
  return Status::Ok();
}

Result<Journal::Reservation> Journal::Reserve(uint64_t record_bytes) {
  Reservation r;
  MutexLock lock(&log_mu_);
  uint64_t size = current_->size().load();
  if (size > kSegmentHeaderSize && size + record_bytes > options_.segment_bytes) {
    RETURN_IF_ERROR(RollLocked());
    r.rolled = true;
  }
  r.segment = current_;
  r.position = r.segment->size().fetch_add(record_bytes);
  r.segment->pending.fetch_add(1);
  r.segment->last_use.store(++use_clock_);
  r.lsn = reserved_lsn_;
  reserved_lsn_ += record_bytes;
  r.seq = next_seq_++;
  in_flight_.insert(r.lsn);
  disk_bytes_.fetch_add(record_bytes);
  return r;
}

void Journal::Finish(const Reservation& r) {
  MutexLock lock(&log_mu_);
  bool oldest = !in_flight_.empty() && *in_flight_.begin() == r.lsn;
  in_flight_.erase(r.lsn);
  if (oldest) log_cv_.notify_all();
}

Status Journal::Append(RecordHeader& h, ByteView data, Seq seq, Reservation* r) {
  RETURN_IF_ERROR(CheckHealthy());
  ASSIGN_OR_RETURN(*r, Reserve(h.record_bytes()));
  // A re-logged truncate or remove must keep its own seq: with the new one it would discard,
  // at replay, every write made between it and its copy (docs/formats/journal.md).
  if (seq == Seq::kNew) h.seq = r->seq;
  std::array<std::byte, kRecordHeaderSize> header;
  EncodeRecordHeader(h, data, r->segment->crc_seed(), header.data());
  Status s = PwriteFully(r->segment->fd(), header, data, r->position, r->segment->path());
  // A failed append leaves a hole that would cut every later record at recovery: fail-stop.
  if (!s.ok()) Fail(s);
  Finish(*r);
  if (!s.ok()) {
    r->segment->pending.fetch_sub(1);
    return s;
  }
  StartWriteback(*r->segment, r->position + h.record_bytes());
  return s;
}

void Journal::StartWriteback(Segment& segment, uint64_t written_to) {
  uint64_t from = segment.writeback_from.load();
  if (written_to < from + kWritebackBytes) return;
  // One writer takes the range; the others go on.
  if (!segment.writeback_from.compare_exchange_strong(from, written_to)) return;
  // Records of other writers in the range may still be unwritten: their pages are not dirty
  // yet, so they wait for the next write-behind or the flush, which always covers everything.
  // Only a hint: a failure here shows again, and counts, at the flush.
  BlockingRegion blocking;  // may wait for room in the device's queue
  if (sync_file_range(segment.fd(), static_cast<off_t>(from), static_cast<off_t>(written_to - from),
                      SYNC_FILE_RANGE_WRITE) != 0) {
    LOG_DEBUG("journal {}: write-behind of {}: {}", options_.dir, segment.path(),
              std::generic_category().message(errno));
  }
}

Status Journal::Write(uint64_t file, uint64_t offset, ByteView data) {
  if (data.empty()) return Status::Ok();
  if (offset > kMaxOffset || data.size() > kMaxOffset - offset) {
    return Status(Errc::kTooBig, "journal write: offset past 2^63");
  }
  bool rolled = false;
  for (size_t done = 0; done < data.size();) {
    ByteView piece = data.subspan(done, std::min<uint64_t>(data.size() - done, kMaxRecordData));
    RecordHeader h{
        .type = RecordType::kData, .file = file, .offset = offset + done, .length = piece.size()};
    RETURN_IF_ERROR(WaitForSpace(h.record_bytes()));
    {
      LockedFile f = LockFile(file, /*create=*/true);
      Reservation r;
      RETURN_IF_ERROR(Append(h, piece, Seq::kNew, &r));
      rolled |= r.rolled;
      r.segment->NoteData(file, h.seq);
      {
        MutexLock lock(&f->index_mu);
        f->index.Insert(h.offset, SegmentRun{.length = piece.size(),
                                             .segment = r.segment,
                                             .position = r.position + kRecordHeaderSize,
                                             .seq = h.seq});
      }
      r.segment->pending.fetch_sub(1);
    }
    done += piece.size();
  }
  // A segment just filled up: older ones may hold nothing live by now.
  return rolled ? ReclaimAfterDiscard() : Status::Ok();
}

std::vector<Journal::Piece> Journal::Locate(uint64_t file, uint64_t offset, uint64_t end) {
  std::vector<Piece> pieces;
  if (std::shared_ptr<FileState> f = FindFile(file)) {
    MutexLock lock(&f->index_mu);
    uint64_t at = offset;
    auto it = f->index.extents.upper_bound(offset);
    if (it != f->index.extents.begin()) --it;
    for (; it != f->index.extents.end() && it->first < end; ++it) {
      const SegmentRun& e = it->second;
      uint64_t e_end = it->first + e.length;
      if (e_end <= at) continue;
      if (it->first > at) pieces.push_back({at, it->first - at, nullptr, 0});
      uint64_t begin = std::max(at, it->first);
      uint64_t stop = std::min(end, e_end);
      pieces.push_back({begin, stop - begin, e.segment, e.position + (begin - it->first)});
      at = stop;
    }
    if (at < end) pieces.push_back({at, end - at, nullptr, 0});
  } else if (offset < end) {
    pieces.push_back({offset, end - offset, nullptr, 0});
  }
  return pieces;
}

Status Journal::Read(uint64_t file, uint64_t offset, MutableByteView out) {
  ASSIGN_OR_RETURN(BlockRead r, ReadRange(file, offset, out.size()));
  size_t done = 0;
  for (ByteView piece : r.pieces) {
    std::memcpy(out.data() + done, piece.data(), piece.size());
    done += piece.size();
  }
  return Status::Ok();
}

namespace {
// Zeros to hand out as views: holes and bytes past what the backing holds.
constexpr size_t kZeroBytes = 256 << 10;
const std::array<std::byte, kZeroBytes> kZeros{};

void AppendZeros(BlockRead& out, uint64_t length) {
  while (length > 0) {
    size_t n = std::min<uint64_t>(length, kZeroBytes);
    out.pieces.push_back(ByteView(kZeros.data(), n));
    length -= n;
  }
}
}  // namespace

Result<BlockRead> Journal::ReadRange(uint64_t file, uint64_t offset, size_t length) {
  BlockRead out;
  if (length == 0) return out;
  const uint64_t end = RangeEnd(offset, length);
  for (const Piece& p : Locate(file, offset, end)) {
    if (p.segment != nullptr) {
      p.segment->last_use.store(++use_clock_);
      if (const std::byte* map = p.segment->map()) {
        // A view of the mapped segment, which the read holds: records are never rewritten.
        out.pieces.push_back(ByteView(map + p.position, p.length));
        if (out.holds.empty() || out.holds.back() != p.segment) out.holds.push_back(p.segment);
        continue;
      }
      auto buffer = std::make_shared_for_overwrite<std::byte[]>(p.length);
      MutableByteView dest(buffer.get(), p.length);
      RETURN_IF_ERROR(PreadFully(p.segment->fd(), dest, p.position, p.segment->path()));
      out.pieces.push_back(dest);
      out.holds.push_back(std::move(buffer));
      continue;
    }
    uint64_t filled = 0;
    if (backing_ != nullptr) {
      ASSIGN_OR_RETURN(BlockRead r, backing_->Read(file, p.at, p.length));
      for (ByteView b : r.pieces) {
        size_t n = std::min<uint64_t>(b.size(), p.length - filled);
        if (n > 0) out.pieces.push_back(b.first(n));
        filled += n;
        if (filled == p.length) break;
      }
      for (auto& hold : r.holds) out.holds.push_back(std::move(hold));
    }
    AppendZeros(out, p.length - filled);
  }
  // Bytes past 2^64 (never written) read as zeros.
  AppendZeros(out, length - (end - offset));
  return out;
}

Status Journal::Truncate(uint64_t file, uint64_t size) {
  if (size >= kMaxOffset) return Status::Ok();  // nothing is written that far
  {
    // The backing's copy is the owner's to truncate (see JournalBacking); a file the journal
    // holds nothing of has nothing to cut here.
    LockedFile f = LockFile(file, /*create=*/false);
    if (!f) return Status::Ok();
    RecordHeader h{.type = RecordType::kTruncate, .file = file, .offset = size};
    Reservation r;
    RETURN_IF_ERROR(Append(h, ByteView(), Seq::kNew, &r));
    r.segment->NoteTombstone(h);
    {
      MutexLock lock(&f->index_mu);
      f->index.Truncate(size, h.seq);
    }
    r.segment->pending.fetch_sub(1);
  }
  NoteSpaceMaybeFreed();
  return ReclaimAfterDiscard();
}

Status Journal::Remove(uint64_t file) {
  {
    LockedFile f = LockFile(file, /*create=*/false);
    if (!f) return Status::Ok();
    RecordHeader h{.type = RecordType::kRemove, .file = file};
    Reservation r;
    RETURN_IF_ERROR(Append(h, ByteView(), Seq::kNew, &r));
    r.segment->NoteTombstone(h);
    {
      MutexLock lock(&f->index_mu);
      f->index.Remove(h.seq);
    }
    DropFile(file, *f.get());
    r.segment->pending.fetch_sub(1);
  }
  NoteSpaceMaybeFreed();
  return ReclaimAfterDiscard();
}

Status Journal::Deallocate(uint64_t file, uint64_t offset, uint64_t length) {
  if (length == 0 || offset >= kMaxOffset) return Status::Ok();  // nothing is written that far
  const uint64_t end = RangeEnd(offset, length);
  {
    LockedFile f = LockFile(file, /*create=*/false);
    if (!f) return Status::Ok();
    {
      // Bytes the index does not hold need no record: older records of them are superseded
      // already (by newer data, a discarding record or an evict record).
      MutexLock lock(&f->index_mu);
      auto it = f->index.extents.upper_bound(offset);
      if (it != f->index.extents.begin() &&
          std::prev(it)->first + std::prev(it)->second.length > offset) {
        --it;
      }
      if (it == f->index.extents.end() || it->first >= end) return Status::Ok();
    }
    RecordHeader h{
        .type = RecordType::kDiscard, .file = file, .offset = offset, .length = end - offset};
    Reservation r;
    RETURN_IF_ERROR(Append(h, ByteView(), Seq::kNew, &r));
    r.segment->NoteTombstone(h);
    {
      MutexLock lock(&f->index_mu);
      f->index.Discard(offset, end, h.seq);
    }
    r.segment->pending.fetch_sub(1);
  }
  NoteSpaceMaybeFreed();
  return ReclaimAfterDiscard();
}

Result<std::vector<BlockStore::Extent>> Journal::DataExtents(uint64_t file, uint64_t offset,
                                                             uint64_t end, size_t max) {
  std::vector<BlockStore::Extent> out;
  // Appends [begin, stop), coalescing with the last range; false when that would be range
  // number max + 1.
  auto add = [&](uint64_t begin, uint64_t stop) {
    if (!out.empty() && out.back().offset + out.back().length >= begin) {
      const uint64_t last_end = out.back().offset + out.back().length;
      if (stop > last_end) out.back().length = stop - out.back().offset;
      return true;
    }
    if (out.size() == max) return false;
    out.push_back({begin, stop - begin});
    return true;
  };
  // Rounds over [at, end): each merges the index's ranges with the backing's up to where both
  // lists are known to be complete (a list cut at `max` ranges is known up to its last one).
  for (uint64_t at = offset; at < end && max > 0;) {
    std::vector<BlockStore::Extent> held;
    if (std::shared_ptr<FileState> f = FindFile(file)) {
      MutexLock lock(&f->index_mu);
      auto it = f->index.extents.upper_bound(at);
      if (it != f->index.extents.begin()) --it;
      for (; it != f->index.extents.end() && it->first < end && held.size() <= max; ++it) {
        const uint64_t begin = std::max(at, it->first);
        const uint64_t stop = std::min(end, RangeEnd(it->first, it->second.length));
        if (begin >= stop) continue;
        if (!held.empty() && held.back().offset + held.back().length == begin) {
          held.back().length += stop - begin;
        } else {
          held.push_back({begin, stop - begin});
        }
      }
    }
    std::vector<BlockStore::Extent> backed;
    if (backing_ != nullptr) {
      ASSIGN_OR_RETURN(backed, backing_->DataExtents(file, at, end, max));
    }
    uint64_t known = end;
    if (held.size() > max) {
      held.pop_back();
      known = std::min(known, held.back().offset + held.back().length);
    }
    if (backed.size() >= max) known = std::min(known, backed.back().offset + backed.back().length);
    // Both lists are sorted: merge them up to `known`.
    size_t i = 0, j = 0;
    bool full = false;
    while (!full && (i < held.size() || j < backed.size())) {
      const bool from_held =
          j == backed.size() || (i < held.size() && held[i].offset <= backed[j].offset);
      const BlockStore::Extent& e = from_held ? held[i++] : backed[j++];
      if (e.offset >= known) continue;
      full = !add(e.offset, std::min(known, e.offset + e.length));
    }
    if (full || known == end) break;
    at = known;
  }
  return out;
}

Status Journal::ReclaimAfterDiscard() {
  // Discarded bytes may have left whole segments dead; deleting them is part of the space
  // bookkeeping, not of the change, so a failure is only logged.
  if (Status s = Reclaim(/*wait=*/false); !s.ok()) {
    LOG_WARN("journal {}: reclaiming segments failed: {}", options_.dir, s.ToString());
  }
  return Status::Ok();
}

Status Journal::MarkClean(uint64_t file, uint64_t offset, uint64_t length, uint64_t seq) {
  const uint64_t end = RangeEnd(offset, length);
  {
    LockedFile f = LockFile(file, /*create=*/false);
    if (!f) return Status::Ok();
    {
      MutexLock lock(&f->index_mu);
      if (!f->index.AnyDirty(offset, end, seq)) return Status::Ok();
    }
    RecordHeader h{.type = RecordType::kClean,
                   .file = file,
                   .offset = offset,
                   .length = end - offset,
                   .seq = seq};
    Reservation r;
    RETURN_IF_ERROR(Append(h, ByteView(), Seq::kKept, &r));
    r.segment->NoteTombstone(h);
    {
      MutexLock lock(&f->index_mu);
      f->index.Clean(offset, end, seq);
    }
    r.segment->pending.fetch_sub(1);
  }
  NoteSpaceMaybeFreed();
  return Status::Ok();
}

std::vector<uint64_t> Journal::DirtyFiles(size_t max) {
  std::vector<uint64_t> files;
  for (Shard& shard : shards_) {
    MutexLock lock(&shard.mu);
    for (const auto& [file, state] : shard.files) {
      if (files.size() >= max) return files;
      if (state->dirty_bytes.load() > 0) files.push_back(file);
    }
  }
  return files;
}

Result<std::vector<BlockStore::DataEnd>> Journal::RecentDataEnds() {
  std::vector<DataEnd> ends;
  for (Shard& shard : shards_) {
    std::vector<std::pair<uint64_t, std::shared_ptr<FileState>>> files;
    {
      MutexLock lock(&shard.mu);
      files.assign(shard.files.begin(), shard.files.end());
    }
    for (const auto& [file, f] : files) {
      MutexLock lock(&f->index_mu);
      if (f->index.extents.empty()) continue;
      const auto& [offset, last] = *f->index.extents.rbegin();
      ends.push_back({file, RangeEnd(offset, last.length)});
    }
  }
  return ends;
}

std::vector<DirtyRange> Journal::DirtyRanges(uint64_t file) {
  std::vector<DirtyRange> ranges;
  std::shared_ptr<FileState> f = FindFile(file);
  if (f == nullptr) return ranges;
  MutexLock lock(&f->index_mu);
  for (const auto& [offset, e] : f->index.extents) {
    if (e.clean) continue;
    // Pieces of one write split by later edits merge back.
    if (!ranges.empty() && ranges.back().seq == e.seq &&
        ranges.back().offset + ranges.back().length == offset) {
      ranges.back().length += e.length;
      continue;
    }
    ranges.push_back({file, offset, e.length, e.seq});
  }
  return ranges;
}

JournalStats Journal::Stats() {
  JournalStats s;
  s.dirty_bytes = static_cast<uint64_t>(std::max<int64_t>(0, totals_.dirty_bytes.load()));
  s.clean_bytes = static_cast<uint64_t>(std::max<int64_t>(0, totals_.clean_bytes.load()));
  s.disk_bytes = disk_bytes_.load();
  {
    MutexLock lock(&log_mu_);
    s.segments = segments_.size();
  }
  std::tie(s.free_segments, s.free_bytes) = free_->Count();
  s.records_replayed = records_replayed_;
  s.torn_bytes = torn_bytes_;
  return s;
}

Status Journal::SyncAll() {
  uint64_t target;
  {
    MutexLock lock(&log_mu_);
    target = reserved_lsn_;
  }
  RETURN_IF_ERROR(group_sync_.SyncThrough(target, [this]() -> Result<uint64_t> {
    RETURN_IF_ERROR(CheckHealthy());  // a flush failed: later ones prove nothing
    uint64_t goal = 0;
    Status s = FlushLog(&goal);
    if (!s.ok()) {
      // After a failed fsync the kernel may have dropped the dirty pages: nothing written
      // before can be promised any more.
      Fail(s);
      return CheckHealthy();
    }
    return goal;
  }));
  return CheckHealthy();
}

Status Journal::FlushLog(uint64_t* goal) {
  std::vector<std::pair<std::shared_ptr<Segment>, uint64_t>> to_flush;
  bool dir;
  {
    MutexLock lock(&log_mu_);
    // Every record reserved so far must be written before the flush that covers it.
    const uint64_t target = reserved_lsn_;
    Wait(log_cv_, log_mu_, [&]() NO_THREAD_SAFETY_ANALYSIS {
      return in_flight_.empty() || *in_flight_.begin() >= target;
    });
    // Records reserved while waiting may still be unwritten: the flush covers the log up to
    // the first of them, and no further.
    *goal = in_flight_.empty() ? reserved_lsn_ : *in_flight_.begin();
    for (const auto& [id, segment] : segments_) {
      if (segment->lsn_begin() >= *goal) continue;
      uint64_t end = std::min(segment->size().load(), *goal - segment->lsn_begin());
      const bool forced = segment->needs_flush.exchange(false);
      if (segment->synced_size().load() < end || forced) {
        to_flush.emplace_back(segment, end);
      }
    }
    dir = dir_unsynced_;
    dir_unsynced_ = false;
  }
  for (auto& [segment, end] : to_flush) {
    Status s = Flush(segment->fd(), segment->path());
    if (!s.ok()) return s;
    // Only the flushing thread raises it (a cut tail only ever lowers the file's end).
    if (segment->synced_size().load() < end) segment->synced_size().store(end);
  }
  if (dir) {
    Status s = SyncDir(options_.dir, "journal");
    if (!s.ok()) {
      MutexLock lock(&log_mu_);
      dir_unsynced_ = true;
      return s;
    }
  }
  return Status::Ok();
}

void Journal::NoteSpaceMaybeFreed() {
  MutexLock lock(&space_mu_);
  ++space_epoch_;
  space_cv_.notify_all();
}

Status Journal::WaitForSpace(uint64_t record_bytes) {
  // Without a backing nothing can be evicted, so waiting could last forever: the capacity is
  // then only a target for deleting dead segments.
  auto fits = [&] { return disk_bytes_.load() + record_bytes <= segment_capacity_; };
  if (backing_ == nullptr || fits()) return Status::Ok();
  RETURN_IF_ERROR(Reclaim(/*wait=*/true, record_bytes));
  if (fits()) return Status::Ok();
  const int64_t start = MonotonicNanos();
  bool warned = false;
  // Waiting helps only while dirty data holds the space: MarkClean then frees it. Clean data
  // is evicted, dead data deleted, so a journal over capacity without dirty data goes on.
  while (!fits() && totals_.dirty_bytes.load() > 0) {
    RETURN_IF_ERROR(CheckHealthy());
    {
      BlockingRegion blocking;
      MutexLock lock(&space_mu_);
      uint64_t epoch = space_epoch_;
      std::unique_lock<std::mutex> native(space_mu_.native(), std::adopt_lock);
      space_cv_.wait_for(native, std::chrono::milliseconds(200),
                         [&]() NO_THREAD_SAFETY_ANALYSIS { return space_epoch_ != epoch; });
      native.release();
    }
    RETURN_IF_ERROR(Reclaim(/*wait=*/true, record_bytes));
    if (!warned && MonotonicNanos() - start > kSlowWaitNanos) {
      warned = true;
      LOG_WARN(
          "journal {}: a writer has waited over {} s for space: {} dirty bytes fill the "
          "capacity of {}; is the uploader keeping up?",
          options_.dir, kSlowWaitNanos / 1'000'000'000, totals_.dirty_bytes.load(),
          segment_capacity_);
    }
  }
  return Status::Ok();
}

Status Journal::Reclaim(bool wait, uint64_t room) {
  std::unique_lock<std::mutex> lock(reclaim_mu_.native(), std::defer_lock);
  if (wait) {
    lock.lock();
  } else if (!lock.try_lock()) {
    return Status::Ok();  // another thread is at it
  }
  for (;;) {
    bool progress = false;
    Status s = ReclaimOnce(room, &progress);
    if (!s.ok() || !progress) return s;
  }
}

Status Journal::ReclaimOnce(uint64_t room, bool* progress) {
  // 1. Choose: segments with nothing live; then, over capacity and with a backing, segments
  //    holding only clean data, least recently used first.
  std::vector<std::shared_ptr<Segment>> chosen;
  uint64_t min_remaining_seq = kNoLimit;  // oldest data record in the segments that stay
  {
    MutexLock lock(&log_mu_);
    const uint64_t disk = disk_bytes_.load() + room;
    const uint64_t over = disk > segment_capacity_ ? disk - segment_capacity_ : 0;
    uint64_t freed = 0;
    std::vector<std::shared_ptr<Segment>> evictable;
    for (const auto& [id, segment] : segments_) {
      if (segment == current_ || segment->pending.load() > 0 || segment->dirty_bytes.load() > 0) {
        continue;
      }
      if (segment->live_bytes.load() == 0) {
        chosen.push_back(segment);
        freed += segment->size().load();
      } else if (backing_ != nullptr) {
        evictable.push_back(segment);
      }
    }
    if (freed < over) {
      std::sort(evictable.begin(), evictable.end(), [](const auto& a, const auto& b) {
        return a->last_use.load() < b->last_use.load();
      });
      for (auto& segment : evictable) {
        if (freed >= over) break;
        freed += segment->size().load();
        chosen.push_back(std::move(segment));
      }
    }
    // Still over, and the current segment could go if it were not current: start a new one.
    if (freed < over && current_->size().load() > kSegmentHeaderSize &&
        current_->pending.load() == 0 && current_->dirty_bytes.load() == 0 &&
        (backing_ != nullptr || current_->live_bytes.load() == 0)) {
      RETURN_IF_ERROR(RollLocked());
      *progress = true;  // look again: the old current segment is a candidate now
    }
    if (chosen.empty()) return Status::Ok();
    std::unordered_set<Segment*> going;
    for (const auto& segment : chosen) going.insert(segment.get());
    for (const auto& [id, segment] : segments_) {
      if (going.count(segment.get()) > 0) continue;
      MutexLock contents_lock(&segment->mu);
      min_remaining_seq = std::min(min_remaining_seq, segment->contents.min_data_seq);
    }
  }

  // 2. Drop the chosen segments' (clean) extents from the index. Each dropped extent gets an
  //    evict record, so that older segments' superseded bytes do not come back at replay.
  //    Tombstones of the chosen segments that may still act on older data are re-logged.
  std::vector<RecordHeader> relog;
  for (const auto& segment : chosen) {
    Segment::Contents contents;
    {
      MutexLock lock(&segment->mu);
      contents = segment->contents;
    }
    for (const RecordHeader& t : contents.tombstones) {
      if (min_remaining_seq <= t.seq) relog.push_back(t);
    }
    for (uint64_t file : contents.files) {
      LockedFile f = LockFile(file, /*create=*/false);
      if (!f) continue;
      MutexLock lock(&f->index_mu);
      for (auto it = f->index.extents.begin(); it != f->index.extents.end();) {
        const SegmentRun& e = it->second;
        if (e.segment != segment) {
          ++it;
          continue;
        }
        CHECK(e.clean) << "journal: evicting dirty bytes of file " << file << " from segment "
                       << segment->id();
        if (min_remaining_seq <= e.seq) {
          relog.push_back({.type = RecordType::kEvict,
                           .file = file,
                           .offset = it->first,
                           .length = e.length,
                           .seq = e.seq});
        }
        f->index.Account(e, -1);
        it = f->index.extents.erase(it);
      }
    }
  }
  for (RecordHeader& h : relog) {
    Reservation r;
    RETURN_IF_ERROR(Append(h, ByteView(), Seq::kKept, &r));
    r.segment->NoteTombstone(h);
    r.segment->pending.fetch_sub(1);
  }

  // 3. What replaces the segments must be durable before they go. They go to the free files
  //    when there is room (renamed now, kept once no read holds them), else are deleted.
  RETURN_IF_ERROR(SyncAll());
  bool renamed = false;
  for (const auto& segment : chosen) {
    std::string free_path = options_.dir + "/" + FreeName(segment->id());
    if (free_->max() > 0 && segment->size().load() <= options_.segment_bytes &&
        rename(segment->path().c_str(), free_path.c_str()) == 0) {
      segment->RecycleTo(free_, std::move(free_path));
      renamed = true;
    } else {
      UnlinkOrWarn(segment->path());
    }
    MutexLock lock(&log_mu_);
    segments_.erase(segment->id());
    disk_bytes_.fetch_sub(segment->size().load());
  }
  // A free file's new name must hold before it is overwritten as a new segment: otherwise a
  // crash could bring back its old name over new contents, a bad header amid the log.
  if (renamed) RETURN_IF_ERROR(SyncDir(options_.dir, "journal"));
  *progress = true;
  NoteSpaceMaybeFreed();
  return Status::Ok();
}

Status Journal::ApplyReplayed(const RecordHeader& h, const std::shared_ptr<Segment>& segment,
                              uint64_t position) {
  switch (h.type) {
    case RecordType::kData: {
      std::shared_ptr<FileState> f = FindOrCreateFile(h.file);
      MutexLock lock(&f->index_mu);
      f->index.Insert(h.offset, SegmentRun{.length = h.length,
                                           .segment = segment,
                                           .position = position + kRecordHeaderSize,
                                           .seq = h.seq});
      segment->NoteData(h.file, h.seq);
      return Status::Ok();
    }
    case RecordType::kTruncate: {
      segment->NoteTombstone(h);
      std::shared_ptr<FileState> f =
          backing_ != nullptr ? FindOrCreateFile(h.file) : FindFile(h.file);
      if (f == nullptr) return Status::Ok();
      MutexLock lock(&f->index_mu);
      f->index.Truncate(h.offset, h.seq);
      return Status::Ok();
    }
    case RecordType::kRemove: {
      segment->NoteTombstone(h);
      std::shared_ptr<FileState> f = FindFile(h.file);
      if (f == nullptr) return Status::Ok();
      bool empty;
      {
        MutexLock lock(&f->index_mu);
        f->index.Remove(h.seq);
        empty = f->index.extents.empty();
      }
      if (empty) {
        MutexLock lock(&f->op_mu);
        DropFile(h.file, *f);
      }
      return Status::Ok();
    }
    case RecordType::kDiscard: {
      segment->NoteTombstone(h);
      std::shared_ptr<FileState> f = FindFile(h.file);
      if (f == nullptr) return Status::Ok();
      MutexLock lock(&f->index_mu);
      f->index.Discard(h.offset, RangeEnd(h.offset, h.length), h.seq);
      return Status::Ok();
    }
    case RecordType::kClean:
    case RecordType::kEvict: {
      segment->NoteTombstone(h);
      std::shared_ptr<FileState> f = FindFile(h.file);
      if (f == nullptr) return Status::Ok();
      MutexLock lock(&f->index_mu);
      uint64_t end = RangeEnd(h.offset, h.length);
      if (h.type == RecordType::kClean) {
        f->index.Clean(h.offset, end, h.seq);
      } else {
        f->index.Evict(h.offset, end, h.seq);
      }
      return Status::Ok();
    }
  }
  return Status(Errc::kInternal, "journal: unknown record type");
}

// Reads one segment's records into the index. `*cut` is set when the segment ended in a torn
// or corrupt record (it is truncated there).
Status Journal::ReplaySegment(uint64_t id, uint32_t version, const std::string& path, bool* cut) {
  int fd = RetryOnEintr([&] { return open(path.c_str(), O_RDWR | O_CLOEXEC); });
  if (fd < 0) return ErrnoStatus(errno, "open", path);
  struct stat st;
  if (fstat(fd, &st) != 0) {
    Status s = ErrnoStatus(errno, "stat", path);
    close(fd);
    return s;
  }
  const uint64_t file_size = static_cast<uint64_t>(st.st_size);
  uint64_t lsn_begin;
  {
    MutexLock lock(&log_mu_);
    lsn_begin = reserved_lsn_;  // replay is single-threaded: nothing reserves meanwhile
  }
  auto segment =
      std::make_shared<Segment>(id, version, path, fd, file_size, lsn_begin, MapBytes(file_size));

  // The header was checked by Recover; records follow it.
  uint64_t position = kSegmentHeaderSize;
  std::vector<std::byte> data;
  std::array<std::byte, kRecordHeaderSize> header;
  while (position < file_size) {
    RecordHeader h;
    uint32_t crc = 0;
    uint64_t available = file_size - position;
    if (available < kRecordHeaderSize) break;
    RETURN_IF_ERROR(PreadFully(fd, header, position, path));
    if (!DecodeRecordHeader(header.data(), available, &h, &crc)) break;
    data.resize(h.has_data() ? h.length : 0);
    RETURN_IF_ERROR(PreadFully(fd, data, position + kRecordHeaderSize, path));
    if (RecordCrc(header.data(), data, segment->crc_seed()) != crc) break;
    RETURN_IF_ERROR(ApplyReplayed(h, segment, position));
    ++records_replayed_;
    {
      MutexLock lock(&log_mu_);
      next_seq_ = std::max(next_seq_, h.seq + 1);
    }
    position += h.record_bytes();
  }
  if (position < file_size) {
    // A torn or corrupt record: everything from it on is cut. A sync acknowledges only a
    // prefix of the log without holes, and this record was never whole, so neither it nor
    // anything after it was ever acknowledged (docs/formats/journal.md, "Recovery"). Say what
    // is cut: whole records past the tear were written while it was still being written.
    std::vector<std::byte> rest = ReadRest(path, position);
    const RecordScan after = ScanForRecords(
        ByteView(rest).subspan(std::min<size_t>(rest.size(), 1)), segment->crc_seed());
    const std::string what = fmt::format(
        "journal {}: cutting {} bytes at offset {}: {}, a record never written whole; {} of "
        "this segment after it, never acknowledged (a sync covers only the log before an "
        "unwritten record)",
        path, file_size - position, position, WhyNotARecord(rest), after.ToString());
    // Only the stale end of a reused file, or one unfinished record, is the usual end of a
    // log after a kill; whole records dropped behind a tear deserve a warning.
    if (after.records > 0) {
      LOG_WARN("{}", what);
    } else {
      LOG_INFO("{}", what);
    }
    if (RetryOnEintr([&] { return ftruncate(fd, static_cast<off_t>(position)); }) != 0) {
      return ErrnoStatus(errno, "truncate", path);
    }
    RETURN_IF_ERROR(Flush(fd, path));
    torn_bytes_ += file_size - position;
    segment->size().store(position);
    segment->synced_size().store(position);
    *cut = true;
  }
  segment->last_use.store(++use_clock_);
  MutexLock lock(&log_mu_);
  segments_.emplace(id, std::move(segment));
  reserved_lsn_ += position;
  disk_bytes_.fetch_add(position);
  return Status::Ok();
}

Status Journal::Recover() {
  if (options_.dir.empty()) return Status(Errc::kInvalid, "journal: no directory given");
  if (options_.segment_bytes < 4096 || options_.segment_bytes > (uint64_t{1} << 40)) {
    return Status(Errc::kInvalid, "journal: segment_bytes must be between 4 KiB and 1 TiB");
  }
  if (options_.capacity_bytes == 0) return Status(Errc::kInvalid, "journal: capacity_bytes is 0");
  RETURN_IF_ERROR(MakeDirs(options_.dir, "journal"));

  std::vector<uint64_t> ids, free_ids;
  {
    DIR* dir = opendir(options_.dir.c_str());
    if (dir == nullptr) return ErrnoStatus(errno, "opendir", options_.dir);
    while (const dirent* entry = readdir(dir)) {
      uint64_t id;
      if (ParseSegmentName(entry->d_name, &id)) ids.push_back(id);
      if (ParseFreeName(entry->d_name, &id)) free_ids.push_back(id);
    }
    closedir(dir);
  }
  std::sort(ids.begin(), ids.end());

  // First every header: a segment from a newer format refuses the open before anything is
  // cut. A header that is not whole (a crash right after creating the file) is a torn tail.
  std::vector<bool> header_ok(ids.size(), false);
  std::vector<uint32_t> versions(ids.size(), kFormatVersion);
  for (size_t i = 0; i < ids.size(); ++i) {
    std::string path = options_.dir + "/" + SegmentName(ids[i]);
    int fd = RetryOnEintr([&] { return open(path.c_str(), O_RDONLY | O_CLOEXEC); });
    if (fd < 0) return ErrnoStatus(errno, "open", path);
    std::array<std::byte, kSegmentHeaderSize> header{};
    ssize_t n = RetryOnEintr([&] { return pread(fd, header.data(), header.size(), 0); });
    int err = errno;
    close(fd);
    if (n < 0) return ErrnoStatus(err, "read", path);
    if (static_cast<size_t>(n) < header.size() ||
        std::memcmp(header.data(), kSegmentMagic.data(), kSegmentMagic.size()) != 0) {
      continue;
    }
    uint32_t version = LoadBe32(header.data() + 8);
    if (LoadBe32(header.data() + 24) != Crc32c(0, ByteView(header.data(), 24))) continue;
    if (version > kFormatVersion) {
      return Status(Errc::kNotSupported,
                    fmt::format("journal {}: segment format version {} is newer than this "
                                "server's {}; upgrade the server to open this journal",
                                path, version, kFormatVersion));
    }
    versions[i] = version;
    header_ok[i] = version >= kOldestFormatVersion &&
                   LoadBe32(header.data() + 12) == kSegmentHeaderSize &&
                   LoadBe64(header.data() + 16) == ids[i];
  }

  bool cut = false;
  for (size_t i = 0; i < ids.size(); ++i) {
    std::string path = options_.dir + "/" + SegmentName(ids[i]);
    if (cut || !header_ok[i]) {
      // After a torn record (or header) nothing that follows was ever synced.
      std::vector<std::byte> bytes = ReadRest(path, 0);
      torn_bytes_ += bytes.size();
      const RecordScan records =
          header_ok[i]
              ? ScanForRecords(
                    ByteView(bytes).subspan(std::min<size_t>(bytes.size(), kSegmentHeaderSize)),
                    SegmentCrcSeed(ids[i], versions[i]))
              : RecordScan{};
      const std::string what = fmt::format(
          "journal {}: deleting the segment ({} bytes, {}): {}, so none of it was ever "
          "acknowledged",
          path, bytes.size(), header_ok[i] ? records.ToString() : "its header is not whole",
          cut ? "it follows a torn record" : "its header was never written whole");
      if (records.records > 0) {
        LOG_WARN("{}", what);
      } else {
        LOG_INFO("{}", what);
      }
      if (unlink(path.c_str()) != 0) return ErrnoStatus(errno, "unlink", path);
      cut = true;
      continue;
    }
    RETURN_IF_ERROR(ReplaySegment(ids[i], versions[i], path, &cut));
  }
  AdoptFreeFiles(free_ids);
  // The deletions must hold: a deleted segment coming back after another crash would bring
  // back records that were cut.
  if (cut) RETURN_IF_ERROR(SyncDir(options_.dir, "journal"));
  {
    MutexLock lock(&log_mu_);
    if (!ids.empty()) next_segment_id_ = ids.back() + 1;
    // Free files are named after a retired segment's id; new ids stay above them too.
    for (uint64_t id : free_ids) next_segment_id_ = std::max(next_segment_id_, id + 1);
  }
  // A kill -9 leaves the log in the page cache, not yet on disk: flush it before promising
  // anything built on it.
  std::vector<std::shared_ptr<Segment>> segments;
  {
    MutexLock lock(&log_mu_);
    for (const auto& [id, segment] : segments_) segments.push_back(segment);
    RETURN_IF_ERROR(RollLocked());  // appends always start a fresh segment
  }
  for (const auto& segment : segments) {
    RETURN_IF_ERROR(Flush(segment->fd(), segment->path()));
  }
  RETURN_IF_ERROR(SyncAll());
  if (records_replayed_ > 0 || torn_bytes_ > 0) {
    LOG_INFO("journal {}: replayed {} records from {} segments, cut {} torn bytes", options_.dir,
             records_replayed_, segments.size(), torn_bytes_);
  }
  return Reclaim(/*wait=*/true);
}

void Journal::AdoptFreeFiles(const std::vector<uint64_t>& ids) {
  for (uint64_t id : ids) {
    std::string path = options_.dir + "/" + FreeName(id);
    int fd = RetryOnEintr([&] { return open(path.c_str(), O_RDWR | O_CLOEXEC); });
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0) {
      LOG_WARN("journal: cannot reuse {}: {}", path, std::generic_category().message(errno));
      if (fd >= 0) close(fd);
      unlink(path.c_str());
      continue;
    }
    free_->Put({.fd = fd, .path = std::move(path), .bytes = static_cast<uint64_t>(st.st_size)});
  }
}

}  // namespace

Result<std::unique_ptr<JournalBlockStore>> OpenJournalBlockStore(const JournalOptions& options,
                                                                 JournalBacking* backing) {
  auto journal = std::make_unique<Journal>(options, backing);
  RETURN_IF_ERROR(journal->Recover());
  return std::unique_ptr<JournalBlockStore>(std::move(journal));
}

}  // namespace dittofs::stores

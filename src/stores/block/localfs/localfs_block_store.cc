// SPDX-License-Identifier: Apache-2.0
#include "stores/block/localfs/localfs_block_store.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cinttypes>
#include <cstdio>
#include <cstring>
#include <functional>
#include <limits>
#include <list>
#include <string_view>
#include <system_error>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

#include "base/mutex.h"
#include "base/posix_io.h"
#include "base/thread_pool.h"

namespace dittofs::stores {
namespace {

// Offsets are off_t on the way to the kernel.
constexpr uint64_t kMaxOffset = std::numeric_limits<off_t>::max();

Status ErrnoStatus(int err, std::string_view op, const std::string& path) {
  return StorageErrno(err, "localfs", op, path);
}

// An open descriptor of one backing file; closed when the last user lets go.
class OpenFile {
 public:
  OpenFile(int fd, int64_t blocks) : fd_(fd), known_blocks_(blocks) {}
  ~OpenFile() { close(fd_); }
  OpenFile(const OpenFile&) = delete;
  OpenFile& operator=(const OpenFile&) = delete;

  int fd() const { return fd_; }
  // Records the file's current st_blocks; returns the change since the last record.
  int64_t UpdateBlocks(int64_t blocks) { return blocks - known_blocks_.exchange(blocks); }

 private:
  const int fd_;
  std::atomic<int64_t> known_blocks_;  // st_blocks as last seen through this descriptor
};

// The most recently used open files, at most `capacity` of them.
//
// The cache hands out shared_ptr because ownership of a descriptor really is shared: the cache
// may evict a file, or Remove drop it, while another thread is inside a pread or pwrite on it.
// Closing it then would fail that call with EBADF or, worse, let an unrelated open reuse the
// number so the I/O lands in another file. A descriptor closes only when its last user is done.
class OpenFileCache {
 public:
  explicit OpenFileCache(size_t capacity) : capacity_(capacity) {}

  // The cached open file, now the most recently used; null when not cached.
  std::shared_ptr<OpenFile> Get(uint64_t file);
  // Take before opening a file to Insert it: counts Removes.
  uint64_t epoch();
  // Caches `opened`, a file opened after epoch() returned `epoch`, and returns the open file to
  // use: one cached meanwhile by another thread wins. `opened` is not cached when a Remove ran
  // since `epoch`: it may name a file unlinked since, which later operations must not reach.
  std::shared_ptr<OpenFile> Insert(uint64_t file, std::shared_ptr<OpenFile> opened, uint64_t epoch);
  // Forgets `file`; for Remove, after unlinking it.
  void Drop(uint64_t file);

 private:
  struct Entry {
    std::shared_ptr<OpenFile> file;
    std::list<uint64_t>::iterator lru_position;
  };

  const size_t capacity_;
  Mutex mu_;  // held only for map and list updates, never across a system call
  std::list<uint64_t> lru_ GUARDED_BY(mu_);  // most recently used first
  std::unordered_map<uint64_t, Entry> entries_ GUARDED_BY(mu_);
  uint64_t removals_ GUARDED_BY(mu_) = 0;
};

std::shared_ptr<OpenFile> OpenFileCache::Get(uint64_t file) {
  MutexLock lock(&mu_);
  auto it = entries_.find(file);
  if (it == entries_.end()) return nullptr;
  lru_.splice(lru_.begin(), lru_, it->second.lru_position);
  return it->second.file;
}

uint64_t OpenFileCache::epoch() {
  MutexLock lock(&mu_);
  return removals_;
}

std::shared_ptr<OpenFile> OpenFileCache::Insert(uint64_t file, std::shared_ptr<OpenFile> opened,
                                                uint64_t epoch) {
  std::shared_ptr<OpenFile> evicted;  // declared before the lock: closed after unlocking
  MutexLock lock(&mu_);
  if (auto it = entries_.find(file); it != entries_.end()) return it->second.file;
  if (removals_ != epoch) return opened;
  if (entries_.size() >= capacity_) {
    auto oldest = entries_.find(lru_.back());
    evicted = std::move(oldest->second.file);
    entries_.erase(oldest);
    lru_.pop_back();
  }
  lru_.push_front(file);
  entries_.emplace(file, Entry{opened, lru_.begin()});
  return opened;
}

void OpenFileCache::Drop(uint64_t file) {
  std::shared_ptr<OpenFile> dropped;  // declared before the lock: closed after unlocking
  MutexLock lock(&mu_);
  ++removals_;
  auto it = entries_.find(file);
  if (it == entries_.end()) return;
  dropped = std::move(it->second.file);
  lru_.erase(it->second.lru_position);
  entries_.erase(it);
}

// Calls `visit(id, st)` for every file under `root`, over the layout OpenLocalFsBlockStore
// describes; names that are not 16 lower-case hex digits get id 0 (they are not ours).
Status ForEachFile(const std::string& root,
                   const std::function<void(uint64_t id, const struct stat& st)>& visit) {
  DIR* top = opendir(root.c_str());
  if (top == nullptr) return ErrnoStatus(errno, "opendir", root);
  while (const dirent* fan_out = readdir(top)) {
    if (fan_out->d_name[0] == '.') continue;
    int fd = openat(dirfd(top), fan_out->d_name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) continue;  // not one of ours; best effort
    DIR* dir = fdopendir(fd);
    if (dir == nullptr) {
      close(fd);
      continue;
    }
    while (const dirent* entry = readdir(dir)) {
      struct stat st;
      if (entry->d_name[0] == '.' ||
          fstatat(dirfd(dir), entry->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0 ||
          !S_ISREG(st.st_mode)) {
        continue;
      }
      std::string_view name = entry->d_name;
      uint64_t id = 0;
      bool ours = name.size() == 16;
      for (char c : name) {
        int digit = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
        ours = ours && digit >= 0;
        id = id << 4 | static_cast<uint64_t>(digit & 0xf);
      }
      visit(ours ? id : 0, st);
    }
    closedir(dir);
  }
  closedir(top);
  return Status::Ok();
}

// The space the files under `root` take.
Result<int64_t> MeasureUsedBytes(const std::string& root) {
  int64_t used = 0;
  RETURN_IF_ERROR(ForEachFile(root, [&](uint64_t, const struct stat& st) {
    used += static_cast<int64_t>(st.st_blocks) * 512;
  }));
  return used;
}

class LocalFsBlockStore final : public BlockStore {
 public:
  LocalFsBlockStore(std::string root, size_t max_open_files, int64_t used_bytes)
      : root_(std::move(root)), open_files_(max_open_files), used_bytes_(used_bytes) {}

  Status Write(uint64_t file, uint64_t offset, ByteView data) override;
  Status Read(uint64_t file, uint64_t offset, MutableByteView out) override;
  Status Truncate(uint64_t file, uint64_t size) override;
  Status Remove(uint64_t file) override;
  // Punches the file system's hole (fallocate); zeros are written where it cannot punch.
  Status Deallocate(uint64_t file, uint64_t offset, uint64_t length) override;
  // The file system's data and holes (lseek SEEK_DATA/SEEK_HOLE), at its block granularity.
  Result<std::vector<Extent>> DataExtents(uint64_t file, uint64_t offset, uint64_t end,
                                          size_t max) override;
  // Shares blocks where the file system can (FICLONERANGE, or copy_file_range, which may
  // reflink); copies otherwise. Holes of the source stay holes.
  Status Clone(uint64_t src, uint64_t src_offset, uint64_t dst, uint64_t dst_offset,
               uint64_t length) override;
  Status Sync(uint64_t file) override;
  // Every file, at its size on disk: the store keeps no record of which were written lately.
  Result<std::vector<DataEnd>> RecentDataEnds() override {
    std::vector<DataEnd> ends;
    RETURN_IF_ERROR(ForEachFile(root_, [&](uint64_t id, const struct stat& st) {
      if (id != 0 && st.st_size > 0) ends.push_back({id, static_cast<uint64_t>(st.st_size)});
    }));
    return ends;
  }
  uint64_t UsedBytes() override { return static_cast<uint64_t>(std::max<int64_t>(0, used_bytes_)); }
  Capacity GetCapacity() override {
    struct statvfs st;
    if (statvfs(root_.c_str(), &st) != 0) return {};
    uint64_t unit = st.f_frsize ? st.f_frsize : st.f_bsize;
    return {unit * st.f_blocks, unit * st.f_bfree, unit * st.f_bavail};
  }

 private:
  // root/ab, where ab are the low eight bits of the id, spreading consecutive ids evenly.
  std::string DirOf(uint64_t file) const;
  std::string PathOf(uint64_t file) const;
  // The open backing file of `file`, null when there is none and `create` is false.
  Result<std::shared_ptr<OpenFile>> Open(uint64_t file, bool create);
  // Creates the backing file (and its directory) unless another thread just did; returns a
  // descriptor.
  Result<int> Create(uint64_t file, const std::string& path);
  // Folds the file's current size on disk into used_bytes_ after a change.
  void NoteUsage(OpenFile& open_file);
  // Writes zeros over [offset, offset + length) of `f`, no further than its end.
  Status WriteZeros(uint64_t file, OpenFile& f, uint64_t offset, uint64_t length);
  // Copies [from, from + length) of `in` to `to` of `out`: copy_file_range, else read and
  // write. Bytes past the end of `in` are punched.
  Status CopyRange(uint64_t src, OpenFile& in, uint64_t from, uint64_t dst, OpenFile& out,
                   uint64_t to, uint64_t length);

  const std::string root_;
  OpenFileCache open_files_;
  // Tracked from each change, so approximate under races on one file; measured at open.
  std::atomic<int64_t> used_bytes_;
  Mutex created_mu_;
  // Files created since their last Sync: their directory entry is not yet durable.
  std::unordered_set<uint64_t> created_unsynced_ GUARDED_BY(created_mu_);
};

std::string LocalFsBlockStore::DirOf(uint64_t file) const {
  char name[8];
  std::snprintf(name, sizeof(name), "/%02x", static_cast<unsigned>(file & 0xff));
  return root_ + name;
}

std::string LocalFsBlockStore::PathOf(uint64_t file) const {
  char name[24];
  std::snprintf(name, sizeof(name), "/%016" PRIx64, file);
  return DirOf(file) + name;
}

Result<std::shared_ptr<OpenFile>> LocalFsBlockStore::Open(uint64_t file, bool create) {
  if (std::shared_ptr<OpenFile> cached = open_files_.Get(file)) return cached;
  uint64_t epoch = open_files_.epoch();
  std::string path = PathOf(file);
  int fd = RetryOnEintr([&] { return open(path.c_str(), O_RDWR | O_CLOEXEC); });
  if (fd < 0 && errno == ENOENT) {
    if (!create) return std::shared_ptr<OpenFile>();
    ASSIGN_OR_RETURN(fd, Create(file, path));
  }
  if (fd < 0) return ErrnoStatus(errno, "open", path);
  struct stat st;
  if (fstat(fd, &st) != 0) {
    Status error = ErrnoStatus(errno, "stat", path);
    close(fd);
    return error;
  }
  auto opened = std::make_shared<OpenFile>(fd, static_cast<int64_t>(st.st_blocks));
  return open_files_.Insert(file, std::move(opened), epoch);
}

Result<int> LocalFsBlockStore::Create(uint64_t file, const std::string& path) {
  auto create = [&] {
    return RetryOnEintr(
        [&] { return open(path.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600); });
  };
  int fd = create();
  if (fd < 0 && errno == ENOENT) {
    std::string dir = DirOf(file);
    if (mkdir(dir.c_str(), 0700) == 0) {
      RETURN_IF_ERROR(SyncDir(root_, "localfs"));  // makes the new directory's name durable
    } else if (errno != EEXIST) {
      return ErrnoStatus(errno, "mkdir", dir);
    }
    fd = create();
  }
  if (fd >= 0) {
    MutexLock lock(&created_mu_);
    created_unsynced_.insert(file);
    return fd;
  }
  if (errno != EEXIST) return ErrnoStatus(errno, "create", path);
  fd = RetryOnEintr([&] { return open(path.c_str(), O_RDWR | O_CLOEXEC); });  // lost a race
  if (fd < 0) return ErrnoStatus(errno, "open", path);
  return fd;
}

void LocalFsBlockStore::NoteUsage(OpenFile& open_file) {
  struct stat st;
  if (fstat(open_file.fd(), &st) != 0) return;  // best effort
  used_bytes_.fetch_add(open_file.UpdateBlocks(st.st_blocks) * 512);
}

Status LocalFsBlockStore::Write(uint64_t file, uint64_t offset, ByteView data) {
  if (data.empty()) return Status::Ok();
  if (offset > kMaxOffset || data.size() > kMaxOffset - offset) {
    return Status(Errc::kTooBig, "localfs write " + PathOf(file) + ": offset past 2^63");
  }
  ASSIGN_OR_RETURN(std::shared_ptr<OpenFile> f, Open(file, /*create=*/true));
  for (size_t done = 0; done < data.size();) {
    ssize_t n = pwrite(f->fd(), data.data() + done, data.size() - done, offset + done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return ErrnoStatus(errno, "write", PathOf(file));
    if (n == 0) return Status(Errc::kIo, "localfs write " + PathOf(file) + ": wrote nothing");
    done += n;
  }
  NoteUsage(*f);
  return Status::Ok();
}

Status LocalFsBlockStore::Read(uint64_t file, uint64_t offset, MutableByteView out) {
  size_t done = 0;
  if (!out.empty() && offset < kMaxOffset) {
    ASSIGN_OR_RETURN(std::shared_ptr<OpenFile> f, Open(file, /*create=*/false));
    // Stops early at the end of the backing file (or of what off_t can address); the rest is
    // a hole.
    while (f != nullptr && done < out.size() && offset + done < kMaxOffset) {
      size_t want = std::min<uint64_t>(out.size() - done, kMaxOffset - (offset + done));
      ssize_t n = pread(f->fd(), out.data() + done, want, offset + done);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return ErrnoStatus(errno, "read", PathOf(file));
      if (n == 0) break;
      done += n;
    }
  }
  std::fill(out.begin() + done, out.end(), std::byte{0});
  return Status::Ok();
}

Status LocalFsBlockStore::Truncate(uint64_t file, uint64_t size) {
  if (size >= kMaxOffset) return Status::Ok();  // no backing file reaches that far
  ASSIGN_OR_RETURN(std::shared_ptr<OpenFile> f, Open(file, /*create=*/false));
  if (f == nullptr) return Status::Ok();
  struct stat st;
  if (fstat(f->fd(), &st) != 0) return ErrnoStatus(errno, "stat", PathOf(file));
  // Only ever shrinks: extending would change nothing a reader sees.
  if (static_cast<uint64_t>(st.st_size) <= size) return Status::Ok();
  if (RetryOnEintr([&] { return ftruncate(f->fd(), static_cast<off_t>(size)); }) != 0) {
    return ErrnoStatus(errno, "truncate", PathOf(file));
  }
  NoteUsage(*f);
  return Status::Ok();
}

Status LocalFsBlockStore::Remove(uint64_t file) {
  {
    // Before unlinking: a writer recreating the file right after must find its mark in place.
    MutexLock lock(&created_mu_);
    created_unsynced_.erase(file);
  }
  std::string path = PathOf(file);
  struct stat st;
  bool existed = stat(path.c_str(), &st) == 0;
  if (unlink(path.c_str()) != 0) {
    if (errno != ENOENT) return ErrnoStatus(errno, "unlink", path);
  } else if (existed) {
    used_bytes_.fetch_sub(static_cast<int64_t>(st.st_blocks) * 512);
  }
  open_files_.Drop(file);
  return Status::Ok();
}

Status LocalFsBlockStore::WriteZeros(uint64_t file, OpenFile& f, uint64_t offset, uint64_t length) {
  struct stat st;
  if (fstat(f.fd(), &st) != 0) return ErrnoStatus(errno, "stat", PathOf(file));
  // Past the end the file reads as zeros already; writing there would only grow it.
  const uint64_t size = static_cast<uint64_t>(st.st_size);
  if (offset >= size) return Status::Ok();
  const uint64_t end = offset + std::min(length, size - offset);
  static const std::array<std::byte, 64 << 10> kZeros{};
  for (uint64_t at = offset; at < end;) {
    size_t n = std::min<uint64_t>(kZeros.size(), end - at);
    ssize_t done = pwrite(f.fd(), kZeros.data(), n, static_cast<off_t>(at));
    if (done < 0 && errno == EINTR) continue;
    if (done < 0) return ErrnoStatus(errno, "write", PathOf(file));
    if (done == 0) return Status(Errc::kIo, "localfs write " + PathOf(file) + ": wrote nothing");
    at += static_cast<uint64_t>(done);
  }
  return Status::Ok();
}

Status LocalFsBlockStore::Deallocate(uint64_t file, uint64_t offset, uint64_t length) {
  if (length == 0 || offset >= kMaxOffset) return Status::Ok();  // nothing lives that far
  ASSIGN_OR_RETURN(std::shared_ptr<OpenFile> f, Open(file, /*create=*/false));
  if (f == nullptr) return Status::Ok();
  // Nothing lies past the end of the file (this store never allocates beyond it), and a range
  // reaching past what the file system can address would be refused (EFBIG).
  struct stat st;
  if (fstat(f->fd(), &st) != 0) return ErrnoStatus(errno, "stat", PathOf(file));
  const uint64_t size = static_cast<uint64_t>(st.st_size);
  if (offset >= size) return Status::Ok();
  length = std::min(length, size - offset);
  // KEEP_SIZE: punching the last bytes must not shrink the file (its size is RecentDataEnds').
  int rc = RetryOnEintr([&] {
    return fallocate(f->fd(), FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
                     static_cast<off_t>(offset), static_cast<off_t>(length));
  });
  if (rc != 0) {
    if (errno != EOPNOTSUPP) return ErrnoStatus(errno, "punch hole", PathOf(file));
    // The file system cannot punch holes: the bytes must read as zeros all the same.
    RETURN_IF_ERROR(WriteZeros(file, *f, offset, length));
  }
  NoteUsage(*f);
  return Status::Ok();
}

Result<std::vector<BlockStore::Extent>> LocalFsBlockStore::DataExtents(uint64_t file,
                                                                       uint64_t offset,
                                                                       uint64_t end, size_t max) {
  std::vector<Extent> extents;
  end = std::min(end, kMaxOffset);
  if (offset >= end || max == 0) return extents;
  ASSIGN_OR_RETURN(std::shared_ptr<OpenFile> f, Open(file, /*create=*/false));
  if (f == nullptr) return extents;
  for (uint64_t at = offset; at < end;) {
    off_t data = lseek(f->fd(), static_cast<off_t>(at), SEEK_DATA);
    if (data < 0 && errno == ENXIO) break;  // no data at or after `at`
    if (data < 0) return ErrnoStatus(errno, "seek data", PathOf(file));
    if (static_cast<uint64_t>(data) >= end) break;
    // Every file has a hole at its end, so SEEK_HOLE finds one.
    off_t hole = lseek(f->fd(), data, SEEK_HOLE);
    if (hole < 0) return ErrnoStatus(errno, "seek hole", PathOf(file));
    // A concurrent truncation may put the hole before the data: then nothing is there.
    if (hole <= data) break;
    const uint64_t begin = static_cast<uint64_t>(data);
    const uint64_t stop = std::min<uint64_t>(static_cast<uint64_t>(hole), end);
    if (!extents.empty() && extents.back().offset + extents.back().length >= begin) {
      extents.back().length = stop - extents.back().offset;
    } else {
      if (extents.size() == max) break;
      extents.push_back({begin, stop - begin});
    }
    at = stop;
  }
  return extents;
}

Status LocalFsBlockStore::CopyRange(uint64_t src, OpenFile& in, uint64_t from, uint64_t dst,
                                    OpenFile& out, uint64_t to, uint64_t length) {
  bool plain = false;  // copy_file_range is refused: read and write
  Buffer buffer;
  while (length > 0) {
    ssize_t n;
    if (!plain) {
      off_t in_pos = static_cast<off_t>(from);
      off_t out_pos = static_cast<off_t>(to);
      n = copy_file_range(in.fd(), &in_pos, out.fd(), &out_pos, length, 0);
      if (n < 0 && (errno == EXDEV || errno == EOPNOTSUPP || errno == ENOSYS || errno == EINVAL)) {
        plain = true;
        continue;
      }
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return ErrnoStatus(errno, "copy to " + PathOf(dst) + " from", PathOf(src));
    } else {
      if (buffer.size() == 0) buffer = Buffer(1 << 20);
      n = pread(in.fd(), buffer.mutable_view().data(), std::min<uint64_t>(length, buffer.size()),
                static_cast<off_t>(from));
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return ErrnoStatus(errno, "read", PathOf(src));
      for (ssize_t done = 0; done < n;) {
        ssize_t w = pwrite(out.fd(), buffer.view().data() + done, static_cast<size_t>(n - done),
                           static_cast<off_t>(to + done));
        if (w < 0 && errno == EINTR) continue;
        if (w < 0) return ErrnoStatus(errno, "write", PathOf(dst));
        if (w == 0) return Status(Errc::kIo, "localfs write " + PathOf(dst) + ": wrote nothing");
        done += w;
      }
    }
    // The source ends early (cut meanwhile): the rest of it reads as zeros.
    if (n == 0) return Deallocate(dst, to, length);
    from += static_cast<uint64_t>(n);
    to += static_cast<uint64_t>(n);
    length -= static_cast<uint64_t>(n);
  }
  return Status::Ok();
}

Status LocalFsBlockStore::Clone(uint64_t src, uint64_t src_offset, uint64_t dst,
                                uint64_t dst_offset, uint64_t length) {
  if (length == 0) return Status::Ok();
  if (src_offset > kMaxOffset - std::min(length, kMaxOffset) ||
      dst_offset > kMaxOffset - std::min(length, kMaxOffset) || length > kMaxOffset) {
    return Status(Errc::kInvalid, "clone range overflows");
  }
  if (src == dst && src_offset < dst_offset + length && dst_offset < src_offset + length) {
    return Status(Errc::kInvalid, "clone ranges of one file overlap");
  }
  ASSIGN_OR_RETURN(std::shared_ptr<OpenFile> in, Open(src, /*create=*/false));
  if (in == nullptr) {  // a source never written is one hole
    RETURN_IF_ERROR(Deallocate(dst, dst_offset, length));
    return Sync(dst);
  }
  ASSIGN_OR_RETURN(std::shared_ptr<OpenFile> out, Open(dst, /*create=*/true));
  struct stat st;
  if (fstat(in->fd(), &st) != 0) return ErrnoStatus(errno, "stat", PathOf(src));
  const uint64_t src_size = static_cast<uint64_t>(st.st_size);
  const uint64_t block = st.st_blksize > 0 ? static_cast<uint64_t>(st.st_blksize) : 4096;
  uint64_t done = 0;  // bytes of the range done
  // Shared blocks first: the file system remaps whole blocks only, within the source's data.
  if (src_offset % block == 0 && dst_offset % block == 0 && src_offset < src_size) {
    const uint64_t whole = std::min(length, src_size - src_offset) / block * block;
    file_clone_range range{.src_fd = in->fd(),
                           .src_offset = src_offset,
                           .src_length = whole,
                           .dest_offset = dst_offset};
    // Refused where blocks cannot be shared (another file system, no reflink): copied below.
    if (whole > 0 && RetryOnEintr([&] { return ioctl(out->fd(), FICLONERANGE, &range); }) == 0) {
      done = whole;
    }
  }
  // Then the source's data extent by extent, and its holes as holes.
  while (done < length) {
    const uint64_t at = src_offset + done;
    ASSIGN_OR_RETURN(std::vector<Extent> extents, DataExtents(src, at, src_offset + length, 64));
    if (extents.empty()) {
      RETURN_IF_ERROR(Deallocate(dst, dst_offset + done, length - done));
      break;
    }
    for (const Extent& e : extents) {
      const uint64_t gap = e.offset - (src_offset + done);
      if (gap > 0) RETURN_IF_ERROR(Deallocate(dst, dst_offset + done, gap));
      RETURN_IF_ERROR(
          CopyRange(src, *in, e.offset, dst, *out, dst_offset + (e.offset - src_offset), e.length));
      done = e.offset + e.length - src_offset;
    }
  }
  NoteUsage(*out);
  return Sync(dst);
}

Status LocalFsBlockStore::Sync(uint64_t file) {
  ASSIGN_OR_RETURN(std::shared_ptr<OpenFile> f, Open(file, /*create=*/false));
  if (f == nullptr) return Status::Ok();  // nothing was ever written
  // fdatasync flushes the file's data whichever descriptor wrote it.
  int rc, err;
  {
    BlockingRegion blocking;
    rc = RetryOnEintr([&] { return fdatasync(f->fd()); });
    err = errno;
  }
  if (rc != 0) return ErrnoStatus(err, "sync", PathOf(file));
  bool created;
  {
    MutexLock lock(&created_mu_);
    created = created_unsynced_.erase(file) > 0;
  }
  if (created) {
    Status s = SyncDir(DirOf(file), "localfs");
    if (!s.ok()) {
      MutexLock lock(&created_mu_);
      created_unsynced_.insert(file);  // the next Sync tries again
      return s;
    }
  }
  return Status::Ok();
}

}  // namespace

Result<std::unique_ptr<BlockStore>> OpenLocalFsBlockStore(const LocalFsBlockStoreOptions& options) {
  if (options.root.empty()) return Status(Errc::kInvalid, "localfs: no root directory given");
  if (options.max_open_files == 0) {
    return Status(Errc::kInvalid, "localfs: max_open_files must be at least 1");
  }
  RETURN_IF_ERROR(MakeDirs(options.root, "localfs"));
  ASSIGN_OR_RETURN(int64_t used, MeasureUsedBytes(options.root));
  std::unique_ptr<BlockStore> store =
      std::make_unique<LocalFsBlockStore>(options.root, options.max_open_files, used);
  return store;
}

}  // namespace dittofs::stores

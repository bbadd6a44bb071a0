// SPDX-License-Identifier: Apache-2.0
#include "stores/remote/fs/fs_remote_store.h"

#include <errno.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <string>
#include <utility>
#include <vector>

#include "base/random.h"
#include "base/thread_pool.h"

namespace dittofs::stores {
namespace {

namespace fs = std::filesystem;

// File names are at most 255 bytes; two go to the "d-" or "o-" tag.
constexpr size_t kMaxComponentSize = 253;

Status ErrnoStatus(int err, std::string_view what, const std::string& path) {
  Errc code = Errc::kIo;
  switch (err) {
    case ENOSPC:
    case EDQUOT:
      code = Errc::kNoSpace;
      break;
    case EACCES:
    case EPERM:
      code = Errc::kAccess;
      break;
    case EROFS:
      code = Errc::kReadOnly;
      break;
    case ENOENT:
      code = Errc::kNotFound;
      break;
  }
  return Status(code, fmt::format("fs remote store: {} {}: {}", what, path, strerror(err)));
}

// Closes a descriptor on scope exit.
class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }
  // Closes now, reporting the error close() may carry for a file written through it.
  int Close() { return ::close(std::exchange(fd_, -1)); }

 private:
  int fd_;
};

Status FsyncPath(const std::string& path, int flags) {
  Fd fd(::open(path.c_str(), flags | O_CLOEXEC));
  if (fd.get() < 0) return ErrnoStatus(errno, "open", path);
  if (::fsync(fd.get()) != 0) return ErrnoStatus(errno, "fsync", path);
  return Status::Ok();
}

Status FsyncDir(const std::string& path) { return FsyncPath(path, O_RDONLY | O_DIRECTORY); }

// Where one object lives: its directory (which may not exist yet) and its file name.
struct ObjectPath {
  std::string dir;
  std::string file;
  std::string path() const { return dir + "/" + file; }
};

class FsRemoteStore final : public RemoteStore {
 public:
  explicit FsRemoteStore(std::string root)
      : objects_(root + "/objects"), tmp_(root + "/tmp"), root_(std::move(root)) {}

  Status Put(std::string_view key, ByteView data) override;
  Result<Buffer> Get(std::string_view key, uint64_t offset,
                     std::optional<uint64_t> length) override;
  Status Delete(std::string_view key) override;
  Result<std::vector<ObjectInfo>> List(std::string_view prefix) override;

 private:
  Result<ObjectPath> PathOf(std::string_view key) const;
  // Creates `dir` and its missing parents below objects_, syncing each parent it adds to.
  Status MakeDirs(const std::string& dir);
  // Writes `data` to a new file in tmp_ and syncs it; returns its path.
  Result<std::string> WriteTemp(ByteView data);

  const std::string objects_;
  const std::string tmp_;
  const std::string root_;
  std::atomic<uint64_t> next_temp_{0};
};

Result<ObjectPath> FsRemoteStore::PathOf(std::string_view key) const {
  RETURN_IF_ERROR(ValidateRemoteKey(key));
  ObjectPath out{objects_, ""};
  for (size_t start = 0;;) {
    size_t slash = std::min(key.find('/', start), key.size());
    std::string_view component = key.substr(start, slash - start);
    if (component.size() > kMaxComponentSize) {
      return Status(Errc::kInvalid, fmt::format("fs remote store: key {}: a component is "
                                                "longer than {} bytes",
                                                key, kMaxComponentSize));
    }
    if (slash == key.size()) {
      out.file = fmt::format("o-{}", component);
      return out;
    }
    out.dir += fmt::format("/d-{}", component);
    start = slash + 1;
  }
}

Status FsRemoteStore::MakeDirs(const std::string& dir) {
  if (dir.size() <= objects_.size()) return Status::Ok();  // objects_ itself exists
  if (::mkdir(dir.c_str(), 0700) == 0) {
    // New: its parent may be new too, and must record it durably.
    std::string parent = dir.substr(0, dir.rfind('/'));
    RETURN_IF_ERROR(MakeDirs(parent));
    return FsyncDir(parent);
  }
  if (errno == EEXIST) return Status::Ok();
  if (errno != ENOENT) return ErrnoStatus(errno, "mkdir", dir);
  std::string parent = dir.substr(0, dir.rfind('/'));
  RETURN_IF_ERROR(MakeDirs(parent));
  if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) return ErrnoStatus(errno, "mkdir", dir);
  return FsyncDir(parent);
}

Result<std::string> FsRemoteStore::WriteTemp(ByteView data) {
  std::string path = fmt::format("{}/{}-{:016x}", tmp_, next_temp_.fetch_add(1), RandomU64());
  Fd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600));
  if (fd.get() < 0) return ErrnoStatus(errno, "create", path);
  Status status;
  for (size_t done = 0; done < data.size() && status.ok();) {
    ssize_t n = ::write(fd.get(), data.data() + done, data.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      status = ErrnoStatus(errno, "write", path);
    } else {
      done += static_cast<size_t>(n);
    }
  }
  if (status.ok() && ::fsync(fd.get()) != 0) status = ErrnoStatus(errno, "fsync", path);
  if (status.ok() && fd.Close() != 0) status = ErrnoStatus(errno, "close", path);
  if (!status.ok()) {
    ::unlink(path.c_str());
    return status;
  }
  return path;
}

Status FsRemoteStore::Put(std::string_view key, ByteView data) {
  ASSIGN_OR_RETURN(ObjectPath target, PathOf(key));
  BlockingRegion blocking;
  ASSIGN_OR_RETURN(std::string temp, WriteTemp(data));
  Status status = MakeDirs(target.dir);
  // Rename replaces any older object atomically: readers see the old bytes or the new ones.
  if (status.ok() && ::rename(temp.c_str(), target.path().c_str()) != 0) {
    status = ErrnoStatus(errno, "rename to", target.path());
  }
  if (!status.ok()) {
    ::unlink(temp.c_str());
    return status;
  }
  return FsyncDir(target.dir);
}

Result<Buffer> FsRemoteStore::Get(std::string_view key, uint64_t offset,
                                  std::optional<uint64_t> length) {
  ASSIGN_OR_RETURN(ObjectPath target, PathOf(key));
  const std::string path = target.path();
  BlockingRegion blocking;
  Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (fd.get() < 0) {
    if (errno == ENOENT) return Status(Errc::kNotFound, "no object " + std::string(key));
    return ErrnoStatus(errno, "open", path);
  }
  struct stat st;
  if (::fstat(fd.get(), &st) != 0) return ErrnoStatus(errno, "stat", path);
  uint64_t size = static_cast<uint64_t>(st.st_size);
  uint64_t begin = std::min(offset, size);
  Buffer out(std::min(size - begin, length.value_or(size)));
  size_t done = 0;
  while (done < out.size()) {
    ssize_t n =
        ::pread(fd.get(), out.data() + done, out.size() - done, static_cast<off_t>(begin + done));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return ErrnoStatus(errno, "read", path);
    if (n == 0) break;  // cannot happen to an immutable file, but never loop on it
    done += static_cast<size_t>(n);
  }
  out.Shrink(done);
  return out;
}

Status FsRemoteStore::Delete(std::string_view key) {
  ASSIGN_OR_RETURN(ObjectPath target, PathOf(key));
  BlockingRegion blocking;
  if (::unlink(target.path().c_str()) != 0) {
    if (errno == ENOENT) return Status::Ok();
    return ErrnoStatus(errno, "unlink", target.path());
  }
  return FsyncDir(target.dir);
}

// Appends every object under `dir` (whose keys start with `key_prefix`) to `out`.
Status Walk(const std::string& dir, const std::string& key_prefix, std::vector<ObjectInfo>& out) {
  std::error_code ec;
  fs::directory_iterator it(dir, ec);
  if (ec == std::errc::no_such_file_or_directory) return Status::Ok();
  if (ec) return Status(Errc::kIo, fmt::format("fs remote store: list {}: {}", dir, ec.message()));
  for (; it != fs::directory_iterator(); it.increment(ec)) {
    std::string name = it->path().filename().string();
    if (name.starts_with("d-")) {
      RETURN_IF_ERROR(Walk(it->path().string(), key_prefix + name.substr(2) + "/", out));
    } else if (name.starts_with("o-")) {
      std::error_code size_ec;
      uint64_t size = it->file_size(size_ec);
      if (size_ec) continue;  // deleted since the directory was read
      out.push_back({key_prefix + name.substr(2), size});
    }
  }
  if (ec) return Status(Errc::kIo, fmt::format("fs remote store: list {}: {}", dir, ec.message()));
  return Status::Ok();
}

Result<std::vector<ObjectInfo>> FsRemoteStore::List(std::string_view prefix) {
  // Only the directory named by the prefix's whole components can hold matches.
  std::string dir = objects_;
  std::string key_prefix;
  size_t last_slash = prefix.rfind('/');
  if (last_slash != std::string_view::npos) {
    std::string_view dirs = prefix.substr(0, last_slash);
    for (size_t start = 0; start <= dirs.size();) {
      size_t slash = std::min(dirs.find('/', start), dirs.size());
      std::string_view component = dirs.substr(start, slash - start);
      if (component.empty() || component == "." || component == "..")
        return std::vector<ObjectInfo>();  // no key has such a component
      dir += fmt::format("/d-{}", component);
      start = slash + 1;
    }
    key_prefix = std::string(prefix.substr(0, last_slash + 1));
  }
  std::vector<ObjectInfo> out;
  {
    BlockingRegion blocking;
    RETURN_IF_ERROR(Walk(dir, key_prefix, out));
  }
  std::erase_if(out, [&](const ObjectInfo& o) { return !o.key.starts_with(prefix); });
  std::sort(out.begin(), out.end(),
            [](const ObjectInfo& a, const ObjectInfo& b) { return a.key < b.key; });
  return out;
}

}  // namespace

Result<std::unique_ptr<RemoteStore>> OpenFsRemoteStore(const FsRemoteOptions& options) {
  if (options.root.empty()) return Status(Errc::kInvalid, "fs remote store: root is empty");
  std::error_code ec;
  fs::create_directories(options.root, ec);
  std::error_code ignored;
  if (!fs::is_directory(options.root, ignored)) {
    bool exists = fs::exists(options.root, ignored);
    return Status(exists ? Errc::kNotDir : Errc::kIo,
                  fmt::format("fs remote store: root {}: {}", options.root,
                              exists ? "not a directory" : ec.message()));
  }
  auto store = std::make_unique<FsRemoteStore>(options.root);
  for (const char* sub : {"/objects", "/tmp"}) {
    std::string dir = options.root + sub;
    if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) {
      return ErrnoStatus(errno, "mkdir", dir);
    }
  }
  RETURN_IF_ERROR(FsyncDir(options.root));
  // Whatever is in tmp/ is from Puts that never finished: their objects were never stored.
  for (const auto& entry : fs::directory_iterator(options.root + "/tmp", ec)) {
    std::error_code ignored;
    fs::remove_all(entry.path(), ignored);
  }
  if (ec) return Status(Errc::kIo, "fs remote store: clean tmp: " + ec.message());
  return std::unique_ptr<RemoteStore>(std::move(store));
}

}  // namespace dittofs::stores

// SPDX-License-Identifier: Apache-2.0
#include "base/posix_io.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <system_error>

#include "base/thread_pool.h"

namespace dittofs {

Status StorageErrno(int err, std::string_view component, std::string_view op,
                    const std::string& path) {
  Errc code = Errc::kIo;
  if (err == ENOSPC || err == EDQUOT) code = Errc::kNoSpace;
  if (err == EROFS) code = Errc::kReadOnly;
  if (err == EFBIG) code = Errc::kTooBig;
  std::string message(component);
  message.append(" ").append(op).append(" ").append(path).append(": ");
  message += std::generic_category().message(err);
  return Status(code, std::move(message));
}

Status MakeDirs(const std::string& path, std::string_view component) {
  for (size_t slash = path.find('/', 1);; slash = path.find('/', slash + 1)) {
    std::string prefix = path.substr(0, slash);
    if (mkdir(prefix.c_str(), 0700) != 0 && errno != EEXIST) {
      return StorageErrno(errno, component, "mkdir", prefix);
    }
    if (slash == std::string::npos) break;
  }
  struct stat st;
  if (stat(path.c_str(), &st) != 0) return StorageErrno(errno, component, "stat", path);
  if (!S_ISDIR(st.st_mode)) {
    return Status(Errc::kNotDir, std::string(component) + ": " + path + " is not a directory");
  }
  return Status::Ok();
}

Status MakePrivate(const std::string& dir, std::string_view component) {
  if (chmod(dir.c_str(), 0700) != 0) return StorageErrno(errno, component, "chmod", dir);
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
    if (!entry.is_regular_file(ec)) continue;
    const std::string path = entry.path().string();
    if (chmod(path.c_str(), 0600) != 0 && errno != ENOENT) {
      return StorageErrno(errno, component, "chmod", path);
    }
  }
  if (ec) {
    return Status(Errc::kIo, std::string(component) + ": listing " + dir + ": " + ec.message());
  }
  return Status::Ok();
}

Status SyncDir(const std::string& path, std::string_view component) {
  int fd = RetryOnEintr([&] { return open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC); });
  if (fd < 0) return StorageErrno(errno, component, "open", path);
  int rc, err;
  {
    BlockingRegion blocking;
    rc = RetryOnEintr([&] { return fsync(fd); });
    err = errno;
  }
  close(fd);
  if (rc != 0) return StorageErrno(err, component, "fsync", path);
  return Status::Ok();
}

FileStamp StampOf(const std::string& path) {
  FileStamp f;
  if (path.empty()) return f;
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) return f;
  f.mtime_ns = int64_t{st.st_mtim.tv_sec} * 1000000000 + st.st_mtim.tv_nsec;
  f.size = st.st_size;
  f.inode = st.st_ino;
  return f;
}

}  // namespace dittofs

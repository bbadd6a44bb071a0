// SPDX-License-Identifier: Apache-2.0
// System-call helpers shared by the stores that keep files on a local disk.
#pragma once

#include <cerrno>
#include <cstdint>
#include <string>
#include <string_view>

#include "base/status.h"

namespace dittofs {

// Runs a system call again while a signal interrupts it.
template <typename Call>
auto RetryOnEintr(Call call) {
  for (;;) {
    auto result = call();
    if (result != -1 || errno != EINTR) return result;
  }
}

// The Status for a failed storage call: ENOSPC/EDQUOT kNoSpace, EROFS kReadOnly, EFBIG kTooBig,
// anything else kIo; the message reads "<component> <op> <path>: <reason>".
Status StorageErrno(int err, std::string_view component, std::string_view op,
                    const std::string& path);

// Makes the directory `path` (mode 0700) and any missing parents; kNotDir when `path` exists
// and is not a directory. `component` names the caller in messages.
Status MakeDirs(const std::string& path, std::string_view component);

// Makes the directory `dir` 0700 and every regular file directly in it 0600 (for stores that
// keep private data in a flat directory, such as a RocksDB database, whose files are created
// with the process's umask).
Status MakePrivate(const std::string& dir, std::string_view component);

// fsyncs the directory `path`, making the names created in it durable. Declared as blocking
// to the thread pool running it.
Status SyncDir(const std::string& path, std::string_view component);

// What tells one version of a file from another, for reloading files that change (certificates,
// keytabs): a replaced file has another mtime (nanoseconds), size or inode. Equal to
// FileStamp{} for an empty path or a file that cannot be stat'ed.
struct FileStamp {
  int64_t mtime_ns = -1;
  int64_t size = -1;
  uint64_t inode = 0;
  friend bool operator==(const FileStamp&, const FileStamp&) = default;
};
FileStamp StampOf(const std::string& path);

}  // namespace dittofs

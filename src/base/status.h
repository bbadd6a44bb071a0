// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <string>
#include <string_view>
#include <utility>

namespace dittofs {

// Protocol-neutral error codes. Every adapter maps these in exactly one function
// (ToNfs3, ToNfs4, ToNtStatus); nothing below the adapters knows a protocol's codes.
enum class Errc : int {
  kOk = 0,
  kNotFound,        // no such file, entry or object
  kExists,          // the name is taken
  kNotDir,          // a directory was required
  kIsDir,           // a non-directory was required
  kNotEmpty,        // directory has entries
  kAccess,          // permission bits deny the caller
  kPerm,            // only the owner (or root) may do this
  kNameTooLong,     // a name component over 255 bytes
  kInvalid,         // an argument is out of range or malformed
  kStale,           // the object a handle named is gone
  kBadHandle,       // a handle that we never issued
  kNoSpace,         // the store is full
  kQuota,           // a quota's limit would be passed (docs/quotas.md)
  kReadOnly,        // the share or store is read-only
  kIo,              // a store failed to read or write
  kTooBig,          // a size or offset beyond what we support
  kNotSupported,    // the operation does not apply to this object
  kXDev,            // the operation would cross shares
  kTooManyLinks,    // link count limit reached
  kBadCookie,       // a readdir cookie we did not issue
  kNotSync,         // a guarded setattr whose guard did not match
  kBadType,         // an object type we cannot create
  kConflict,        // a transaction lost a race; retry it
  kBusy,            // the object is in use
  kUnavailable,     // the service is shutting down or overloaded, or a peer cannot be reached
  kTimedOut,        // a peer did not answer within the time allowed
  kLocked,          // a byte-range lock of another owner covers the range
  kShareViolation,  // an open's share mode (or this open's) refuses the access
  kDeletePending,   // the file is to be deleted once its last open closes: no new opens
  kDeadlock,        // waiting for the lock would close a cycle of waiting owners
  kRangeNotLocked,  // an unlock of a range the owner does not hold (exactly, for Windows locks)
  kInternal,        // a bug or an unexpected condition
};

std::string_view ErrcName(Errc code);

// The outcome of an operation that returns no value. Cheap to copy when ok.
class [[nodiscard]] Status {
 public:
  Status() = default;
  Status(Errc code) : code_(code) {}  // NOLINT: implicit, so `return Errc::kNotFound;` reads well
  Status(Errc code, std::string message) : code_(code), message_(std::move(message)) {}

  static Status Ok() { return Status(); }

  bool ok() const { return code_ == Errc::kOk; }
  Errc code() const { return code_; }
  const std::string& message() const { return message_; }
  std::string ToString() const;

  friend bool operator==(const Status& a, const Status& b) { return a.code_ == b.code_; }
  friend bool operator==(const Status& a, Errc b) { return a.code_ == b; }

 private:
  Errc code_ = Errc::kOk;
  std::string message_;
};

}  // namespace dittofs

#define DFS_CONCAT_INNER(a, b) a##b
#define DFS_CONCAT(a, b) DFS_CONCAT_INNER(a, b)

// Returns the Status of `expr` from the enclosing function when it is not ok.
#define RETURN_IF_ERROR(expr)                                  \
  do {                                                         \
    ::dittofs::Status dfs_status_ = ::dittofs::ToStatus(expr); \
    if (!dfs_status_.ok()) return dfs_status_;                 \
  } while (0)

namespace dittofs {
inline const Status& ToStatus(const Status& s) { return s; }
}  // namespace dittofs

// SPDX-License-Identifier: Apache-2.0
#include "base/status.h"

namespace dittofs {

std::string_view ErrcName(Errc code) {
  switch (code) {
    case Errc::kOk:
      return "ok";
    case Errc::kNotFound:
      return "not found";
    case Errc::kExists:
      return "exists";
    case Errc::kNotDir:
      return "not a directory";
    case Errc::kIsDir:
      return "is a directory";
    case Errc::kNotEmpty:
      return "directory not empty";
    case Errc::kAccess:
      return "access denied";
    case Errc::kPerm:
      return "operation not permitted";
    case Errc::kNameTooLong:
      return "name too long";
    case Errc::kInvalid:
      return "invalid argument";
    case Errc::kStale:
      return "stale handle";
    case Errc::kBadHandle:
      return "bad handle";
    case Errc::kNoSpace:
      return "no space";
    case Errc::kQuota:
      return "quota exceeded";
    case Errc::kReadOnly:
      return "read-only";
    case Errc::kIo:
      return "I/O error";
    case Errc::kTooBig:
      return "too big";
    case Errc::kNotSupported:
      return "not supported";
    case Errc::kXDev:
      return "cross-share operation";
    case Errc::kTooManyLinks:
      return "too many links";
    case Errc::kBadCookie:
      return "bad cookie";
    case Errc::kNotSync:
      return "guard mismatch";
    case Errc::kBadType:
      return "bad type";
    case Errc::kConflict:
      return "conflict";
    case Errc::kBusy:
      return "busy";
    case Errc::kUnavailable:
      return "unavailable";
    case Errc::kTimedOut:
      return "timed out";
    case Errc::kLocked:
      return "range locked";
    case Errc::kShareViolation:
      return "sharing violation";
    case Errc::kDeletePending:
      return "delete pending";
    case Errc::kDeadlock:
      return "deadlock";
    case Errc::kRangeNotLocked:
      return "range not locked";
    case Errc::kInternal:
      return "internal error";
  }
  return "unknown";
}

std::string Status::ToString() const {
  std::string out(ErrcName(code_));
  if (!message_.empty()) {
    out += ": ";
    out += message_;
  }
  return out;
}

}  // namespace dittofs

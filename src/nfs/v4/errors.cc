// SPDX-License-Identifier: Apache-2.0
#include "nfs/v4/errors.h"

namespace dittofs::nfs {

nfsstat4 ToNfs4(const Status& status) {
  switch (status.code()) {
    case Errc::kOk:
      return nfsstat4::NFS4_OK;
    case Errc::kNotFound:
      return nfsstat4::NFS4ERR_NOENT;
    case Errc::kExists:
      return nfsstat4::NFS4ERR_EXIST;
    case Errc::kNotDir:
      return nfsstat4::NFS4ERR_NOTDIR;
    case Errc::kIsDir:
      return nfsstat4::NFS4ERR_ISDIR;
    case Errc::kNotEmpty:
      return nfsstat4::NFS4ERR_NOTEMPTY;
    case Errc::kAccess:
      return nfsstat4::NFS4ERR_ACCESS;
    case Errc::kPerm:
      return nfsstat4::NFS4ERR_PERM;
    case Errc::kNameTooLong:
      return nfsstat4::NFS4ERR_NAMETOOLONG;
    case Errc::kInvalid:
      return nfsstat4::NFS4ERR_INVAL;
    case Errc::kStale:
      return nfsstat4::NFS4ERR_STALE;
    case Errc::kBadHandle:
      return nfsstat4::NFS4ERR_BADHANDLE;
    case Errc::kNoSpace:
      return nfsstat4::NFS4ERR_NOSPC;
    case Errc::kQuota:
      return nfsstat4::NFS4ERR_DQUOT;
    case Errc::kReadOnly:
      return nfsstat4::NFS4ERR_ROFS;
    case Errc::kIo:
      return nfsstat4::NFS4ERR_IO;
    case Errc::kTooBig:
      return nfsstat4::NFS4ERR_FBIG;
    case Errc::kNotSupported:
      return nfsstat4::NFS4ERR_NOTSUPP;
    case Errc::kXDev:
      return nfsstat4::NFS4ERR_XDEV;
    case Errc::kTooManyLinks:
      return nfsstat4::NFS4ERR_MLINK;
    case Errc::kBadCookie:
      return nfsstat4::NFS4ERR_BAD_COOKIE;
    case Errc::kNotSync:
      return nfsstat4::NFS4ERR_NOT_SAME;
    case Errc::kBadType:
      return nfsstat4::NFS4ERR_BADTYPE;
    // Transient: the client retries after a while (RFC 8881 §15.1.1.3).
    case Errc::kConflict:
    case Errc::kBusy:
    case Errc::kUnavailable:
    case Errc::kTimedOut:
      return nfsstat4::NFS4ERR_DELAY;
    // A Windows lock covers the range of a read or write: NFS4ERR_LOCKED (RFC 8881 §9.1.4
    // mandatory locks). A grant being broken answers DELAY before it comes here.
    case Errc::kLocked:
      return nfsstat4::NFS4ERR_LOCKED;
    case Errc::kShareViolation:
      return nfsstat4::NFS4ERR_SHARE_DENIED;
    case Errc::kDeletePending:
      return nfsstat4::NFS4ERR_ACCESS;
    case Errc::kDeadlock:
      return nfsstat4::NFS4ERR_DEADLOCK;
    case Errc::kRangeNotLocked:
      return nfsstat4::NFS4ERR_LOCK_RANGE;
    case Errc::kInternal:
      return nfsstat4::NFS4ERR_SERVERFAULT;
  }
  return nfsstat4::NFS4ERR_SERVERFAULT;
}

}  // namespace dittofs::nfs

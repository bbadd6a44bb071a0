// SPDX-License-Identifier: Apache-2.0
#include "nfs/v3/errors.h"

namespace dittofs::nfs {

nfsstat3 ToNfs3(const Status& status) {
  switch (status.code()) {
    case Errc::kOk:
      return nfsstat3::NFS3_OK;
    case Errc::kNotFound:
      return nfsstat3::NFS3ERR_NOENT;
    case Errc::kExists:
      return nfsstat3::NFS3ERR_EXIST;
    case Errc::kNotDir:
      return nfsstat3::NFS3ERR_NOTDIR;
    case Errc::kIsDir:
      return nfsstat3::NFS3ERR_ISDIR;
    case Errc::kNotEmpty:
      return nfsstat3::NFS3ERR_NOTEMPTY;
    case Errc::kAccess:
      return nfsstat3::NFS3ERR_ACCES;
    case Errc::kPerm:
      return nfsstat3::NFS3ERR_PERM;
    case Errc::kNameTooLong:
      return nfsstat3::NFS3ERR_NAMETOOLONG;
    case Errc::kInvalid:
      return nfsstat3::NFS3ERR_INVAL;
    case Errc::kStale:
      return nfsstat3::NFS3ERR_STALE;
    case Errc::kBadHandle:
      return nfsstat3::NFS3ERR_BADHANDLE;
    case Errc::kNoSpace:
      return nfsstat3::NFS3ERR_NOSPC;
    case Errc::kQuota:
      return nfsstat3::NFS3ERR_DQUOT;
    case Errc::kReadOnly:
      return nfsstat3::NFS3ERR_ROFS;
    case Errc::kIo:
      return nfsstat3::NFS3ERR_IO;
    case Errc::kTooBig:
      return nfsstat3::NFS3ERR_FBIG;
    case Errc::kNotSupported:
      return nfsstat3::NFS3ERR_NOTSUPP;
    case Errc::kXDev:
      return nfsstat3::NFS3ERR_XDEV;
    case Errc::kTooManyLinks:
      return nfsstat3::NFS3ERR_MLINK;
    case Errc::kBadCookie:
      return nfsstat3::NFS3ERR_BAD_COOKIE;
    case Errc::kNotSync:
      return nfsstat3::NFS3ERR_NOT_SYNC;
    case Errc::kBadType:
      return nfsstat3::NFS3ERR_BADTYPE;
    // Transient conditions: RFC 1813 §2.6 JUKEBOX asks the client to retry later.
    case Errc::kConflict:
    case Errc::kBusy:
    case Errc::kUnavailable:
    case Errc::kTimedOut:  // a peer (a callback, a remote store) may answer next time
    case Errc::kLocked:    // another protocol's lock: it may be gone when the client retries
      return nfsstat3::NFS3ERR_JUKEBOX;
    case Errc::kShareViolation:
    case Errc::kDeletePending:
    case Errc::kDeadlock:
      return nfsstat3::NFS3ERR_ACCES;
    case Errc::kRangeNotLocked:
      return nfsstat3::NFS3ERR_INVAL;
    case Errc::kInternal:
      return nfsstat3::NFS3ERR_SERVERFAULT;
  }
  return nfsstat3::NFS3ERR_SERVERFAULT;
}

}  // namespace dittofs::nfs

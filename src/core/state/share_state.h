// SPDX-License-Identifier: Apache-2.0
#pragma once

// Everything the protocols keep open, locked and cached on one share's files: one object per
// share, which outlives control-plane changes of the share's policy (docs/state.md).

#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

#include "base/mutex.h"
#include "base/status.h"
#include "core/state/change_feed.h"
#include "core/state/lease_table.h"
#include "core/state/lock_table.h"
#include "core/state/open_table.h"

namespace dittofs::core {

// The owner and holder id of operations that come with no open (NFSv3): each acts as a short
// open of its own, so it conflicts with every real owner and holder.
constexpr uint64_t kAnonymousOwner = 0;

// How long a stateless operation's breaks may take before the grant is revoked.
constexpr int64_t kBreakTimeoutNanos = 35'000'000'000;  // SMB2's 35 s

// The open an operation comes through (SMB, NFSv4), for the checks of ShareState::Check: its
// own share modes were checked when it opened, its locks are its owner's and its grants its
// holder's. An operation without one (NFSv3) is an anonymous open of its own.
struct OpenContext {
  OpenTable::OpenId open = 0;  // 0: none
  LockOwner lock_owner{kAnonymousOwner, LockFlavor::kPosix};
  uint64_t holder = kAnonymousOwner;  // the lease key / client whose grants it keeps
  // The holder whose grants on the file's directory it keeps when it adds, removes or renames
  // a name there (SMB's ParentLeaseKey: the client's own directory lease, MS-SMB2 3.2.4.3.8).
  uint64_t parent_holder = kAnonymousOwner;
};

struct ShareState {
  OpenTable opens;
  LockTable locks;
  LeaseTable leases;
  // Directory change notification (SMB CHANGE_NOTIFY): the Vfs publishes every change of a
  // name, whichever protocol made it.
  ChangeFeed changes;

  // Checks an operation that comes with no open (an NFSv3 READ, WRITE, SETATTR of the size,
  // REMOVE or RENAME) as a short open with `access` that shares everything:
  // Errc::kShareViolation when an open denies that access, Errc::kDeletePending when the file
  // is to be deleted, Errc::kLocked when a Windows byte-range lock covers [offset, offset +
  // length) (for reads and writes) or when a cached grant of some holder must be broken first:
  // the breaks are sent, and the caller answers "retry later" (NFSv3 JUKEBOX).
  Status CheckAnonymous(uint64_t file, uint32_t access, CacheOp op, uint64_t offset = 0,
                        uint64_t length = 0);
  // As CheckAnonymous for an operation through `via` (null: CheckAnonymous): reads and writes
  // through an open skip the share-mode check (the open passed it) and test locks as via's
  // owner; removes and renames check the share modes of the file's other opens; grants of
  // via's holder are kept (also when via names no open: a delete on the last close).
  Status Check(uint64_t file, uint32_t access, CacheOp op, uint64_t offset, uint64_t length,
               const OpenContext* via);
  // After a name in directory `dir` was added, removed or renamed (or, for SMB, a child written
  // through an open was closed): breaks the directory grants of every holder but `keep` to
  // nothing. Nothing waits for the acknowledgement: the change is made (Windows does not hold it
  // up either, MS-FSA 2.1.4.12 with PARENT_OBJECT), and the holder stops trusting its cached
  // listing when told.
  void DirectoryChanged(uint64_t dir, uint64_t keep);
  // Before a byte-range lock of `holder` on `file` (SMB LOCK, NLM, NFSv4 LOCK): breaks the other
  // holders' grants on the file to nothing (MS-SMB2 3.3.1.4: read caching goes before a lock
  // of another client; Windows takes handle caching too, smb2.lease.lock1). The lock does not
  // wait for the acknowledgement. Returns true while a grant that must be acknowledged is
  // being broken (an NFSv4 delegation, a lease or oplock that caches writes or handles): its
  // holder may hold locks of its own the table does not show yet, so a protocol that can say
  // "retry later" (NFS4ERR_DELAY, NLM4_DENIED_GRACE_PERIOD) says it.
  bool LockRequested(uint64_t file, uint64_t holder);
  // LeaseTable::BreakFor without waiting, once expired holders gave way (ReleaseExpired): true
  // while a grant of another holder is being broken for `op`.
  bool Breaking(uint64_t file, uint64_t holder, CacheOp op);
  // A byte-range lock (LockTable::Lock, LockTable::LockOrWait), tried once more when expired
  // holders released their state on the file.
  Status Lock(const LockRequest& r);
  Result<LockTable::WaitId> LockOrWait(const LockRequest& r, int64_t deadline_nanos,
                                       LockTable::Done done);

  // Courtesy (RFC 8881 §8.4.2.1): a protocol whose clients keep their opens, locks and grants
  // past their lease until someone needs them (NFSv4) registers a releaser here, before its
  // first state on the share. When an open, a lock or an operation conflicts, the runtime asks
  // the releasers to give up what expired clients hold on the file, and tries once more if
  // one did. A releaser returns whether it released anything; it is called with no table
  // lock held and may close opens, unlock and release grants. Registering the same releaser
  // again does nothing; a releaser whose owner dropped it is forgotten.
  using Releaser = std::function<bool(uint64_t file)>;
  void AddReleaser(const std::shared_ptr<const Releaser>& releaser);
  bool ReleaseExpired(uint64_t file);

 private:
  Status CheckOnce(uint64_t file, uint32_t access, CacheOp op, uint64_t offset, uint64_t length,
                   const OpenContext* via);

  Mutex releasers_mu_;
  std::vector<std::weak_ptr<const Releaser>> releasers_ GUARDED_BY(releasers_mu_);
};

}  // namespace dittofs::core

// SPDX-License-Identifier: Apache-2.0
#pragma once

// The opens of one share's files, for every protocol, with their share modes (docs/state.md,
// "Opens and share modes"). An open asks for access rights and says which accesses it lets
// other opens have at the same time; a new open that asks for what an existing one denies, or
// denies what an existing one has, is refused (Errc::kShareViolation), whichever protocol
// asked for either (MS-FSA 2.1.5.1.2, "Algorithm to Check Sharing Access"; NFSv4 OPEN with
// share_deny is the same rule with share = ~deny).
//
// A file may be marked for deletion: at once (delete pending: no new open succeeds), or when
// a given open closes (delete on close). Close tells the caller when the last open of a file
// that is to be deleted goes, so that it removes the file then and not before.
//
// Thread-safe; files are sharded, so opens of different files rarely share a lock.

#include <cstdint>
#include <memory>

#include "base/result.h"
#include "base/status.h"

namespace dittofs::core {

// Access rights (the bits of the NT ACCESS_MASK that opens use; MS-SMB2 2.2.13.1.1).
enum OpenAccessBits : uint32_t {
  kReadData = 0x1,
  kWriteData = 0x2,
  kAppendData = 0x4,
  kReadEa = 0x8,
  kWriteEa = 0x10,
  kExecute = 0x20,
  kReadAttributes = 0x80,
  kWriteAttributes = 0x100,
  kDeleteAccess = 0x10000,
  kReadControl = 0x20000,
  kWriteDac = 0x40000,
  kWriteOwner = 0x80000,
};

// What an open lets other opens do at the same time (FILE_SHARE_*).
enum ShareBits : uint32_t {
  kShareRead = 0x1,
  kShareWrite = 0x2,
  kShareDelete = 0x4,
  kShareAll = kShareRead | kShareWrite | kShareDelete,
};

struct OpenRequest {
  uint64_t file = 0;  // the inode id
  uint32_t access = 0;
  uint32_t share = kShareAll;
  bool delete_on_close = false;  // the file goes when this open closes (needs kDeleteAccess)
};

struct CloseResult {
  uint64_t file = 0;         // the file the open was of
  bool last = false;         // no open of the file is left
  bool delete_file = false;  // ... and it is to be deleted now
};

class OpenTable {
 public:
  using OpenId = uint64_t;

  OpenTable();
  ~OpenTable();
  OpenTable(const OpenTable&) = delete;
  OpenTable& operator=(const OpenTable&) = delete;

  // Errc::kShareViolation when share modes conflict, Errc::kDeletePending when the file is to
  // be deleted, Errc::kAccess for delete_on_close without kDeleteAccess.
  Result<OpenId> Open(const OpenRequest& r);
  // Errc::kNotFound for an id that is not open.
  Result<CloseResult> Close(OpenId id);
  // Takes back an open that served nothing yet (its protocol made it, then had to wait before
  // going on): as Close, but its delete_on_close marks nothing.
  Status Withdraw(OpenId id);
  // Gives open `id` the access `access` and share modes `share` in one step (an NFSv4 OPEN
  // upgrade or OPEN_DOWNGRADE): checked against the file's other opens as Open checks a new one
  // (Errc::kShareViolation, and the open keeps what it had). Errc::kNotFound for an id that is
  // not open.
  Status Change(OpenId id, uint32_t access, uint32_t share);
  // Marks the file of open `id` for deletion once its last open closes (or takes the mark
  // back). Errc::kAccess when the open lacks kDeleteAccess.
  Status SetDeletePending(OpenId id, bool pending);

  // Removal of `file`'s last name: returns how many opens it has. When none, new opens fail
  // with Errc::kStale until EndRemove, so that none can slip in between the caller's check
  // and its deletion of the file. Call EndRemove once for each BeginRemove that returned 0;
  // such calls nest.
  size_t BeginRemove(uint64_t file);
  void EndRemove(uint64_t file);

  // Whether an open asking for `access` and sharing `share` would be refused, without
  // opening: Errc::kShareViolation or Errc::kDeletePending, as Open would answer.
  // `except`: an open of the file not to check against (the one the access comes through).
  Status CheckAccess(uint64_t file, uint32_t access, OpenId except = 0, uint32_t share = kShareAll);

  size_t open_count(uint64_t file);
  bool delete_pending(uint64_t file);
  size_t total_opens() const;

 private:
  Result<CloseResult> Release(OpenId id, bool withdrawn);

  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace dittofs::core

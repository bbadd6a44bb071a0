// SPDX-License-Identifier: Apache-2.0
#pragma once

// CHANGE_NOTIFY (MS-SMB2 3.3.5.19, MS-FSA 2.1.5.11): the watch an open of a directory keeps in
// its share's core::ChangeFeed from its first CHANGE_NOTIFY to its close, the changes it
// gathers between requests, and the requests waiting for them, answered oldest first.

#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <vector>

#include "base/mutex.h"
#include "base/status.h"
#include "core/state/change_feed.h"
#include "core/vfs.h"

namespace dittofs::smb {

// FILE_NOTIFY_INFORMATION entries (MS-FSCC 2.7.1), each 4-byte aligned, the names' '/' as
// `separator`.
std::vector<std::byte> EncodeNotifyInformation(const std::vector<core::Change>& changes,
                                               char separator);

// What a CHANGE_NOTIFY request is answered: STATUS_SUCCESS with FILE_NOTIFY_INFORMATION,
// STATUS_NOTIFY_ENUM_DIR (more changed than the buffers hold: the client lists the directory
// anew), STATUS_NOTIFY_CLEANUP (the open closed) or STATUS_DELETE_PENDING.
struct NotifyAnswer {
  uint32_t status = 0;
  std::vector<std::byte> output;
};

// The changes one open's watch gathered, and the requests waiting for them. Thread-safe.
class NotifyWatch {
 public:
  // `limit`: the bytes of FILE_NOTIFY_INFORMATION kept between requests (the first request's
  // OutputBufferLength, as Windows keeps); past it the changes are dropped for an ENUM_DIR.
  NotifyWatch(uint32_t limit, char separator) : limit_(limit), separator_(separator) {}

  // The feed's sink: keeps `change` and answers the oldest waiting request.
  void Add(const core::Change& change);

  // A request for changes: answered now (`resume` is called before Wait returns) when changes
  // are kept and no earlier request waits, or the watch ended; otherwise when they come.
  // `resume` gets Ok with `*answer` set, or Errc::kBusy when Cancel took the request back.
  struct Request {
    uint32_t output_length = 0;
    NotifyAnswer answer;
    std::function<void(Status)> resume;
  };
  void Wait(const std::shared_ptr<Request>& request);
  // The answer now, when one is ready and no request waits: nullopt otherwise.
  std::optional<NotifyAnswer> TakeIfReady(uint32_t output_length);
  // Takes a waiting request back (CANCEL): true, and `resume(kBusy)` called, if it waited.
  bool Cancel(const std::shared_ptr<Request>& request);
  // The open closed (STATUS_NOTIFY_CLEANUP) or its directory is being deleted
  // (STATUS_DELETE_PENDING): every waiting request and every later one gets `status`.
  void End(uint32_t status);

  core::ChangeFeed::WatchId id = 0;  // set once, before the watch is shared

 private:
  NotifyAnswer TakeLocked(uint32_t output_length) EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const uint32_t limit_;
  const char separator_;
  Mutex mu_;
  std::vector<core::Change> changes_ GUARDED_BY(mu_);
  size_t bytes_ GUARDED_BY(mu_) = 0;  // of changes_ encoded
  bool overflow_ GUARDED_BY(mu_) = false;
  uint32_t ended_ GUARDED_BY(mu_) = 0;  // the status every request gets, once ended
  std::deque<std::shared_ptr<Request>> waiting_ GUARDED_BY(mu_);
};

struct Open;
// The open closes: its watch leaves `feed` (null: the share, and its feed, are gone) and its
// waiting requests are answered STATUS_NOTIFY_CLEANUP.
void EndNotify(Open& open, core::ChangeFeed* feed);
// A change of `what` (core::changed bits) made through `open`, published under its name (the
// runtime changes files by id and knows no name to publish). Nothing when nothing is watched.
void NoteModified(core::Vfs& vfs, Open& open, uint32_t what);

}  // namespace dittofs::smb

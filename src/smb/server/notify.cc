// SPDX-License-Identifier: Apache-2.0
// CHANGE_NOTIFY (MS-SMB2 3.3.5.19): an open of a directory watches it in the share's
// core::ChangeFeed, which every protocol's changes reach through the runtime.

#include "smb/server/notify.h"

#include <algorithm>
#include <string>

#include "smb/server/connection.h"
#include "smb/wire/le.h"
#include "smb/wire/utf16.h"

namespace dittofs::smb {
namespace {

// The bytes one change takes in FILE_NOTIFY_INFORMATION, padding included.
size_t EncodedSize(const core::Change& c) {
  return (12 + wire::Utf16Size(c.name) + 3) & ~size_t{3};
}

Reply ReplyOf(const NotifyAnswer& answer) {
  Reply r;
  r.status = answer.status;
  if (answer.status == wire::kStatusSuccess)
    wire::EncodeOutputBufferResponse(answer.output, r.body);
  return r;
}

}  // namespace

std::vector<std::byte> EncodeNotifyInformation(const std::vector<core::Change>& changes,
                                               char separator) {
  std::vector<std::byte> out;
  size_t previous = 0;
  for (size_t i = 0; i < changes.size(); ++i) {
    const size_t at = out.size();
    if (i > 0) wire::StoreLe32(out.data() + previous, static_cast<uint32_t>(at - previous));
    std::string name = changes[i].name;
    if (separator != '/') {
      for (char& ch : name) {
        if (ch == '/') ch = separator;
      }
    }
    out.resize(at + 12);
    wire::StoreLe32(out.data() + at, 0);  // NextEntryOffset, set by the next entry
    wire::StoreLe32(out.data() + at + 4, static_cast<uint32_t>(changes[i].action));
    wire::StoreLe32(out.data() + at + 8, static_cast<uint32_t>(wire::Utf16Size(name)));
    wire::AppendUtf16(name, out);
    if (i + 1 < changes.size()) out.resize((out.size() + 3) & ~size_t{3}, std::byte{0});
    previous = at;
  }
  return out;
}

void NotifyWatch::Add(const core::Change& change) {
  if (change.gone) {
    // Requests on a directory being deleted complete with STATUS_DELETE_PENDING, as Windows
    // answers them.
    End(wire::kStatusDeletePending);
    return;
  }
  std::shared_ptr<Request> answered;
  {
    MutexLock lock(&mu_);
    if (ended_ != 0) return;
    // A run of the same modification (a file written over and over) is one change.
    if (!changes_.empty() && change.action == core::ChangeAction::kModified &&
        changes_.back().action == change.action && changes_.back().name == change.name) {
      changes_.back().what |= change.what;
    } else if (!overflow_) {
      bytes_ += EncodedSize(change);
      if (bytes_ > limit_) {
        overflow_ = true;
        changes_.clear();
        bytes_ = 0;
      } else {
        changes_.push_back(change);
      }
    }
    if (waiting_.empty()) return;
    answered = waiting_.front();
    waiting_.pop_front();
    answered->answer = TakeLocked(answered->output_length);
  }
  answered->resume(Status::Ok());
}

NotifyAnswer NotifyWatch::TakeLocked(uint32_t output_length) {
  NotifyAnswer answer;
  if (overflow_) {
    answer.status = wire::kStatusNotifyEnumDir;
  } else if (bytes_ > output_length) {
    answer.status = wire::kStatusNotifyEnumDir;  // MS-FSA 2.1.5.11.1: they do not fit
  } else {
    answer.status = wire::kStatusSuccess;
    answer.output = EncodeNotifyInformation(changes_, separator_);
  }
  overflow_ = false;
  changes_.clear();
  bytes_ = 0;
  return answer;
}

std::optional<NotifyAnswer> NotifyWatch::TakeIfReady(uint32_t output_length) {
  MutexLock lock(&mu_);
  if (!waiting_.empty()) return std::nullopt;
  if (ended_ != 0) return NotifyAnswer{ended_, {}};
  if (changes_.empty() && !overflow_) return std::nullopt;
  return TakeLocked(output_length);
}

void NotifyWatch::Wait(const std::shared_ptr<Request>& request) {
  {
    MutexLock lock(&mu_);
    if (ended_ != 0) {
      request->answer = NotifyAnswer{ended_, {}};
    } else if (waiting_.empty() && (!changes_.empty() || overflow_)) {
      request->answer = TakeLocked(request->output_length);
    } else {
      waiting_.push_back(request);
      return;
    }
  }
  request->resume(Status::Ok());
}

bool NotifyWatch::Cancel(const std::shared_ptr<Request>& request) {
  {
    MutexLock lock(&mu_);
    auto it = std::find(waiting_.begin(), waiting_.end(), request);
    if (it == waiting_.end()) return false;
    waiting_.erase(it);
  }
  request->resume(Status(Errc::kBusy, "change notification cancelled"));
  return true;
}

void NotifyWatch::End(uint32_t status) {
  std::deque<std::shared_ptr<Request>> waiting;
  {
    MutexLock lock(&mu_);
    if (ended_ != 0) return;
    ended_ = status;
    changes_.clear();
    waiting.swap(waiting_);
  }
  for (const auto& request : waiting) {
    request->answer = NotifyAnswer{status, {}};
    request->resume(Status::Ok());
  }
}

Reply Connection::ChangeNotify(Exchange& x) {
  Result<wire::ChangeNotifyRequest> req = wire::DecodeChangeNotify(x.message);
  if (!req.ok()) return Fail(wire::kStatusInvalidParameter);
  Result<std::shared_ptr<Open>> found = FindOpen(x, req->handle);
  if (!found.ok()) return Fail(wire::kStatusFileClosed);
  std::shared_ptr<Open> open = *found;
  // §3.3.5.19: a buffer larger than MaxTransactSize, and an open of anything but a directory,
  // are invalid; MS-FSA 2.1.5.11 wants FILE_LIST_DIRECTORY.
  const uint32_t max_transact = dialect() == wire::kSmb202 ? 65536 : server_.options.max_io;
  if (req->output_length > max_transact) return Fail(wire::kStatusInvalidParameter);
  if (open->pipe || !open->directory) return Fail(wire::kStatusInvalidParameter);
  if (!(open->access & core::kReadData)) return Fail(wire::kStatusAccessDenied);
  std::shared_ptr<core::Share> share = server_.env.shares->ById(open->tree->share);
  if (!share) return Fail(wire::kStatusNetworkNameDeleted);

  std::shared_ptr<NotifyWatch> watch;
  {
    MutexLock lock(&open->mu);
    if (open->closed.load()) return Fail(wire::kStatusFileClosed);
    watch = open->notify;
    if (!watch) {
      // The first request sets what the watch watches, for as long as the open lasts.
      watch =
          std::make_shared<NotifyWatch>(req->output_length, open->tree->posix.load() ? '/' : '\\');
      std::weak_ptr<NotifyWatch> weak = watch;
      watch->id =
          share->state().changes.Watch(open->file.inode, (req->flags & wire::kWatchTree) != 0,
                                       req->completion_filter, [weak](const core::Change& change) {
                                         if (std::shared_ptr<NotifyWatch> w = weak.lock())
                                           w->Add(change);
                                       });
      open->notify = watch;
    }
  }
  if (std::optional<NotifyAnswer> now = watch->TakeIfReady(req->output_length)) {
    return ReplyOf(*now);
  }
  auto request = std::make_shared<NotifyWatch::Request>();
  request->output_length = req->output_length;
  auto wait = std::make_shared<Wait>();
  wait->start = [watch, request](std::function<void(Status)> resume) -> std::function<bool()> {
    request->resume = std::move(resume);
    watch->Wait(request);
    return [watch, request] { return watch->Cancel(request); };
  };
  wait->finish = [request](Status st) -> Reply {
    if (st.code() == Errc::kBusy) return Fail(wire::kStatusCancelled);
    if (!st.ok()) return Fail(ToNtStatus(st));
    return ReplyOf(request->answer);
  };
  Reply pending;
  pending.wait = std::move(wait);
  return pending;
}

void EndNotify(Open& open, core::ChangeFeed* feed) {
  std::shared_ptr<NotifyWatch> watch;
  {
    MutexLock lock(&open.mu);
    watch = std::move(open.notify);
  }
  if (!watch) return;
  if (feed != nullptr) feed->Unwatch(watch->id);
  watch->End(wire::kStatusNotifyCleanup);
}

void NoteModified(core::Vfs& vfs, Open& open, uint32_t what) {
  if (!vfs.state().changes.Watched()) return;
  core::FileId dir;
  std::string leaf;
  {
    MutexLock lock(&open.mu);
    dir = open.parent;
    leaf = open.leaf;
  }
  if (leaf.empty()) return;  // the share's root: it is in no watched directory
  vfs.NoteChanged(dir, leaf, core::ChangeAction::kModified, what);
}

}  // namespace dittofs::smb

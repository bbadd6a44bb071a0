// SPDX-License-Identifier: Apache-2.0
// NFSv4.2's operations (RFC 7862: sparse files, server-side clone and copy; RFC 8276: extended
// attributes), each over the share's Vfs, so that SMB's FSCTLs and EAs see the same files.

#include <algorithm>
#include <cstring>
#include <functional>
#include <future>
#include <thread>

#include "base/clock.h"
#include "base/log.h"
#include "base/random.h"
#include "nfs/v4/compound.h"
#include "nfs/v4/errors.h"

namespace dittofs::nfs {

namespace {

// RFC 8276 §8.4: the NFS xattr namespace is Linux's "user." one; names travel without it.
constexpr std::string_view kUserPrefix = "user.";

nfsstat4 XattrName(std::string_view name, std::string* out) {
  if (name.empty()) return nfsstat4::NFS4ERR_INVAL;
  if (kUserPrefix.size() + name.size() > core::kMaxXattrName) return nfsstat4::NFS4ERR_NAMETOOLONG;
  *out = std::string(kUserPrefix) + std::string(name);
  return nfsstat4::NFS4_OK;
}

// The runtime's xattr errors on the NFS side (RFC 8276 §8.4.1.2): an absent name is NOXATTR,
// a value over the limit XATTR2BIG.
nfsstat4 XattrStatus(const Status& s) {
  switch (s.code()) {
    case Errc::kNotFound:
      return nfsstat4::NFS4ERR_NOXATTR;
    case Errc::kTooBig:
      return nfsstat4::NFS4ERR_XATTR2BIG;
    case Errc::kNoSpace:
      return nfsstat4::NFS4ERR_NOSPC;
    default:
      return ToNfs4(s);
  }
}

// How long a finished asynchronous copy is kept for OFFLOAD_STATUS.
constexpr int64_t kCopyKeepNanos = int64_t{600} * 1'000'000'000;
// An asynchronous copy goes in pieces of this many bytes, so that a cancel stops it soon.
constexpr uint64_t kCopyPiece = uint64_t{256} << 20;

}  // namespace

// ---- ALLOCATE, DEALLOCATE (RFC 7862 §15.1, §15.4) ----

nfsstat4 Nfs4Service::Allocate(Ctx& c, const ALLOCATE4args& a) {
  return ChangeSpace(c, a.stateid, a.offset, a.length, /*punch=*/false);
}

nfsstat4 Nfs4Service::Deallocate(Ctx& c, const DEALLOCATE4args& a) {
  return ChangeSpace(c, a.stateid, a.offset, a.length, /*punch=*/true);
}

nfsstat4 Nfs4Service::ChangeSpace(Ctx& c, const stateid4& stateid, uint64_t offset, uint64_t length,
                                  bool punch) {
  nfsstat4 s = NeedShareFile(c.current, nfsstat4::NFS4ERR_ISDIR);
  if (s != nfsstat4::NFS4_OK) return s;
  core::OpenContext via;
  const core::OpenContext* through = nullptr;
  s = StateForIo(c, stateid, true, &via, &through);
  if (s != nfsstat4::NFS4_OK) return s;
  Result<core::ShareUse> use = UseShare(shares_, c.current);
  if (!use.ok()) return ToNfs4(use.status());
  core::Vfs& vfs = use->vfs();
  Status st = punch ? vfs.Deallocate(c.caller, c.current.file, offset, length, nullptr, through)
                    : vfs.Allocate(c.caller, c.current.file, offset, length, nullptr, through);
  if (!st.ok()) return IoStatus(vfs, c.current.file, via, offset, length, true, st);
  vfs.NoteFileChanged(c.current.file, punch ? core::changed::kLastWrite : core::changed::kSize);
  return nfsstat4::NFS4_OK;
}

// ---- SEEK, READ_PLUS (§15.11, §15.10): from the stores' real extents ----

SEEK4res Nfs4Service::Seek(Ctx& c, const SEEK4args& a) {
  SEEK4res r;
  r.status = NeedShareFile(c.current, nfsstat4::NFS4ERR_ISDIR);
  if (r.status != nfsstat4::NFS4_OK) return r;
  core::OpenContext via;
  const core::OpenContext* through = nullptr;
  r.status = StateForIo(c, a.stateid, false, &via, &through);
  if (r.status != nfsstat4::NFS4_OK) return r;
  Result<core::ShareUse> use = UseShare(shares_, c.current);
  if (!use.ok()) {
    r.status = ToNfs4(use.status());
    return r;
  }
  core::Attr attr;
  // Extents are coalesced: the first one at or after the offset tells where data starts and,
  // as nothing touches its end, where the next hole does.
  Result<std::vector<core::DataExtent>> extents = use->vfs().DataExtents(
      c.caller, c.current.file, a.offset, UINT64_MAX - a.offset, 1, &attr, through);
  if (!extents.ok()) {
    r.status =
        extents.status().code() == Errc::kInvalid
            ? nfsstat4::NFS4ERR_INVAL
            : IoStatus(use->vfs(), c.current.file, via, a.offset, 0, false, extents.status());
    return r;
  }
  // §15.11.3: at or past the end there is neither data nor a hole.
  if (a.offset >= attr.size) {
    r.status = nfsstat4::NFS4ERR_NXIO;
    return r;
  }
  if (a.what == data_content4::NFS4_CONTENT_DATA) {
    if (extents->empty()) {
      r.eof = true;  // no data at or after the offset
      r.offset = attr.size;
    } else {
      r.offset = std::max(a.offset, extents->front().offset);
    }
  } else {
    r.offset = extents->empty() || extents->front().offset > a.offset
                   ? a.offset
                   : extents->front().offset + extents->front().length;
    r.offset = std::min<uint64_t>(r.offset, attr.size);
    r.eof = r.offset >= attr.size;  // the hole is the one past the end
  }
  return r;
}

READ_PLUS4res Nfs4Service::ReadPlus(Ctx& c, const READ_PLUS4args& a) {
  READ_PLUS4res r;
  r.status = NeedShareFile(c.current, nfsstat4::NFS4ERR_ISDIR);
  if (r.status != nfsstat4::NFS4_OK) return r;
  core::OpenContext via;
  const core::OpenContext* through = nullptr;
  r.status = StateForIo(c, a.stateid, false, &via, &through);
  if (r.status != nfsstat4::NFS4_OK) return r;
  Result<core::ShareUse> use = UseShare(shares_, c.current);
  if (!use.ok()) {
    r.status = ToNfs4(use.status());
    return r;
  }
  core::Vfs& vfs = use->vfs();
  uint32_t count = std::min(a.count, options_.max_io);
  if (c.reply_limit != SIZE_MAX && c.reply_limit > 512) {
    count = static_cast<uint32_t>(std::min<size_t>(count, c.reply_limit - 512));
  }
  // Each segment costs up to 20 bytes of framing; a reply holds at most this many.
  constexpr size_t kMaxSegments = 64;
  core::Attr attr;
  Result<std::vector<core::DataExtent>> extents =
      vfs.DataExtents(c.caller, c.current.file, a.offset, count, kMaxSegments, &attr, through);
  if (!extents.ok()) {
    r.status = extents.status().code() == Errc::kInvalid
                   ? nfsstat4::NFS4ERR_INVAL
                   : IoStatus(vfs, c.current.file, via, a.offset, count, false, extents.status());
    return r;
  }
  if (a.offset >= attr.size || count == 0) {
    r.eof = a.offset >= attr.size;
    return r;
  }
  const uint64_t end = a.offset + std::min<uint64_t>(count, attr.size - a.offset);
  uint64_t at = a.offset;
  for (const core::DataExtent& e : *extents) {
    if (e.offset > at) {
      r.contents.push_back({data_content4::NFS4_CONTENT_HOLE, at, {}, e.offset - at});
    }
    Result<core::ReadResult> got =
        vfs.Read(c.caller, c.current.file, e.offset, static_cast<uint32_t>(e.length), through);
    if (!got.ok()) {
      r = READ_PLUS4res{};
      r.status = IoStatus(vfs, c.current.file, via, e.offset, e.length, false, got.status());
      return r;
    }
    const uint64_t n = got->data.size();
    read_plus_content& d = r.contents.emplace_back();
    d.content = data_content4::NFS4_CONTENT_DATA;
    d.offset = e.offset;
    d.length = n;
    d.data = std::move(got->data.pieces);
    for (auto& hold : got->data.holds) r.holds.push_back(std::move(hold));
    at = e.offset + n;
    if (n < e.length) break;  // the file shrank meanwhile
  }
  // A trailing hole, unless the extent list was cut short (the rest is for the next call).
  if (extents->size() < kMaxSegments && at < end) {
    r.contents.push_back({data_content4::NFS4_CONTENT_HOLE, at, {}, end - at});
    at = end;
  }
  r.eof = at >= attr.size;
  return r;
}

// ---- CLONE, COPY (§15.13, §15.2): SAVED_FH is the source, CURRENT_FH the destination ----

struct Nfs4Service::CopySides {
  core::OpenContext src_via, dst_via;
  bool src_open = false, dst_open = false;  // whether the via is used (else anonymous)
  const core::OpenContext* src() const { return src_open ? &src_via : nullptr; }
  const core::OpenContext* dst() const { return dst_open ? &dst_via : nullptr; }
};

nfsstat4 Nfs4Service::CopySidesOf(Ctx& c, const stateid4& src, const stateid4& dst,
                                  CopySides* out) {
  nfsstat4 s = NeedShareFile(c.saved, nfsstat4::NFS4ERR_ISDIR);
  if (s != nfsstat4::NFS4_OK) return s;
  s = NeedShareFile(c.current, nfsstat4::NFS4ERR_ISDIR);
  if (s != nfsstat4::NFS4_OK) return s;
  if (c.saved.share != c.current.share) return nfsstat4::NFS4ERR_XDEV;
  const core::OpenContext* through = nullptr;
  s = StateForIo(c, src, false, &out->src_via, &through, &c.saved);
  if (s != nfsstat4::NFS4_OK) return s;
  out->src_open = through != nullptr;
  s = StateForIo(c, dst, true, &out->dst_via, &through, &c.current);
  if (s != nfsstat4::NFS4_OK) return s;
  out->dst_open = through != nullptr;
  return nfsstat4::NFS4_OK;
}

nfsstat4 Nfs4Service::Clone(Ctx& c, const CLONE4args& a) {
  CopySides sides;
  nfsstat4 s = CopySidesOf(c, a.src_stateid, a.dst_stateid, &sides);
  if (s != nfsstat4::NFS4_OK) return s;
  Result<core::ShareUse> use = UseShare(shares_, c.current);
  if (!use.ok()) return ToNfs4(use.status());
  Result<uint64_t> n =
      use->vfs().CopyRange(c.caller, c.saved.file, a.src_offset, c.current.file, a.dst_offset,
                           a.count, nullptr, sides.src(), sides.dst());
  if (!n.ok()) {
    return IoStatus(use->vfs(), c.current.file, sides.dst_via, a.dst_offset, a.count, true,
                    n.status());
  }
  use->vfs().NoteFileChanged(c.current.file, core::changed::kLastWrite | core::changed::kSize);
  return nfsstat4::NFS4_OK;
}

struct Nfs4Service::CopyJob {
  stateid4 stateid;
  std::weak_ptr<Nfs4Client> client;
  core::Caller caller;
  Nfs4Fh src, dst;
  CopySides sides;
  uint64_t src_offset = 0, dst_offset = 0, count = 0;
  std::atomic<uint64_t> copied{0};
  std::atomic<bool> cancelled{false};
  std::atomic<bool> done{false};
  std::atomic<uint32_t> status{0};  // nfsstat4, once done
  std::atomic<int64_t> done_at{0};
  std::thread thread;
};

COPY4res Nfs4Service::Copy(Ctx& c, const COPY4args& a) {
  COPY4res r;
  if (!a.source_server.empty()) {
    // An inter-server copy (§4.1.2): this server copies only between its own files.
    r.status = nfsstat4::NFS4ERR_NOTSUPP;
    return r;
  }
  CopySides sides;
  r.status = CopySidesOf(c, a.src_stateid, a.dst_stateid, &sides);
  if (r.status != nfsstat4::NFS4_OK) return r;
  Result<core::ShareUse> use = UseShare(shares_, c.current);
  if (!use.ok()) {
    r.status = ToNfs4(use.status());
    return r;
  }
  core::Vfs& vfs = use->vfs();
  // The length, checked as the copy would (a count of 0 runs to the source's end).
  Result<core::Attr> src_attr = vfs.GetAttr(c.caller, c.saved.file);
  if (!src_attr.ok()) {
    r.status = ToNfs4(src_attr.status());
    return r;
  }
  if (a.src_offset > src_attr->size || (a.count != 0 && a.count > src_attr->size - a.src_offset)) {
    r.status = nfsstat4::NFS4ERR_INVAL;  // §15.2.3: past the source's end
    return r;
  }
  const uint64_t count = a.count != 0 ? a.count : src_attr->size - a.src_offset;
  r.requirements.consecutive = true;

  std::shared_ptr<Nfs4Client> client;
  if (c.session) client = c.session->client;
  bool async = !a.synchronous && count > options_.sync_copy_bytes && client != nullptr &&
               CallbackUsable(*client, /*for_delegations=*/false);
  std::shared_ptr<CopyJob> job;
  if (async) {
    MutexLock lock(&copies_mu_);
    // Finished copies past their keeping time go (their threads are done: joining is quick).
    const int64_t now = MonotonicNanos();
    size_t running = 0;
    for (auto it = copies_.begin(); it != copies_.end();) {
      CopyJob& j = *it->second;
      if (j.done.load() && now - j.done_at.load() > kCopyKeepNanos) {
        if (j.thread.joinable()) j.thread.join();
        it = copies_.erase(it);
        continue;
      }
      if (!j.done.load()) ++running;
      ++it;
    }
    if (copies_stopped_ || running >= options_.max_async_copies) {
      async = false;
    } else {
      job = std::make_shared<CopyJob>();
      job->stateid.seqid = 1;
      for (size_t i = 0; i < NFS4_OTHER_SIZE; i += 8) {
        const uint64_t v = RandomU64();
        std::memcpy(job->stateid.other.data() + i, &v, std::min<size_t>(8, NFS4_OTHER_SIZE - i));
      }
      job->client = client;
      job->caller = c.caller;
      job->src = c.saved;
      job->dst = c.current;
      job->sides = sides;
      job->src_offset = a.src_offset;
      job->dst_offset = a.dst_offset;
      job->count = count;
      copies_[job->stateid.other] = job;
      job->thread = std::thread([this, job] { RunCopy(job); });
    }
  }
  if (async) {
    LOG_INFO("nfs4: client {} copies {} bytes of file {} to file {} in the background", client->id,
             count, c.saved.file.inode, c.current.file.inode);
    r.response.callback_id = job->stateid;
    r.response.count = 0;
    r.response.committed = stable_how4::UNSTABLE4;
    r.response.writeverf = write_verifier_;
    r.requirements.synchronous = false;
    return r;
  }
  Result<uint64_t> n = vfs.CopyRange(c.caller, c.saved.file, a.src_offset, c.current.file,
                                     a.dst_offset, count, nullptr, sides.src(), sides.dst());
  if (!n.ok()) {
    r.status = IoStatus(vfs, c.current.file, sides.dst_via, a.dst_offset, count, true, n.status());
    return r;
  }
  vfs.NoteFileChanged(c.current.file, core::changed::kLastWrite | core::changed::kSize);
  r.response.count = *n;
  r.response.committed = stable_how4::FILE_SYNC4;  // CopyRange is durable on return
  r.response.writeverf = write_verifier_;
  r.requirements.synchronous = true;
  return r;
}

// How many times a background copy's CB_OFFLOAD is sent before the server gives up on it.
constexpr int kOffloadAttempts = 7;

void Nfs4Service::RunCopy(const std::shared_ptr<CopyJob>& job) {
  nfsstat4 status = nfsstat4::NFS4_OK;
  uint64_t done = 0;
  while (done < job->count && !job->cancelled.load()) {
    Result<core::ShareUse> use = UseShare(shares_, job->dst);
    if (!use.ok()) {
      status = ToNfs4(use.status());
      break;
    }
    const uint64_t n = std::min(kCopyPiece, job->count - done);
    Result<uint64_t> got = use->vfs().CopyRange(job->caller, job->src.file, job->src_offset + done,
                                                job->dst.file, job->dst_offset + done, n, nullptr,
                                                job->sides.src(), job->sides.dst());
    if (!got.ok()) {
      status = ToNfs4(got.status());
      break;
    }
    done += n;
    job->copied.store(done);
    if (done == job->count || job->cancelled.load()) {
      use->vfs().NoteFileChanged(job->dst.file, core::changed::kLastWrite | core::changed::kSize);
    }
  }
  // A cancelled copy ends with what it copied so far, and NFS4_OK.
  const bool cancelled = job->cancelled.load();
  job->status.store(static_cast<uint32_t>(status));
  job->done_at.store(MonotonicNanos());
  job->done.store(true);
  std::shared_ptr<Nfs4Client> client = job->client.lock();
  // A cancelled copy is not reported (§15.8.3: the client already knows).
  if (cancelled || !client || stopping_.load()) return;
  CB_OFFLOAD4args cb;
  FileHandleCodec::Handle fh = handles_.Encode(job->dst.share, job->dst.file);
  cb.fh = nfs_fh4_owned::CopyFrom(ByteView(fh.data(), fh.size()));
  cb.stateid = job->stateid;
  cb.status = status;
  cb.response.count = done;
  cb.response.committed = stable_how4::FILE_SYNC4;
  cb.response.writeverf = write_verifier_;
  cb.bytes_copied = done;
  nfs_cb_argop4 op;
  op.op = OP_CB_OFFLOAD;
  op.args = cb;
  LOG_INFO("nfs4: background copy to file {} for client {} ended after {} bytes, status {}",
           job->dst.file.inode, client->id, done, static_cast<uint32_t>(status));
  const clientid4 id = client->id;
  client.reset();  // the client may go meanwhile
  // A CB_OFFLOAD the client did not take (its backchannel was down, or it answered an error)
  // is sent again, after 1, 2, 4, 8, 16, 30 and 30 s: a client that rebinds its backchannel
  // (SEQUENCE tells it SEQ4_STATUS_CB_PATH_DOWN) still learns the copy ended. Meanwhile and
  // after, OFFLOAD_STATUS answers from the kept job.
  std::chrono::seconds backoff{1};
  for (int attempt = 1;; ++attempt) {
    std::shared_ptr<Nfs4Client> target = job->client.lock();
    if (!target || stopping_.load()) return;
    auto reached = std::make_shared<std::promise<bool>>();
    std::future<bool> answer = reached->get_future();
    SendCallback(target, {op}, [reached](bool ok) { reached->set_value(ok); });
    target.reset();
    // SendCallback answers within its call timeout; a session that ends with the call queued
    // drops it unanswered, which counts as a failure here.
    if (answer.wait_for(std::chrono::seconds(40)) == std::future_status::ready && answer.get()) {
      return;
    }
    if (attempt == kOffloadAttempts) {
      LOG_WARN("nfs4: CB_OFFLOAD to client {} failed {} times; it may ask with OFFLOAD_STATUS", id,
               attempt);
      return;
    }
    LOG_INFO("nfs4: CB_OFFLOAD to client {} failed; again in {} s", id, backoff.count());
    const int64_t until = MonotonicNanos() + std::chrono::nanoseconds(backoff).count();
    while (MonotonicNanos() < until) {
      if (stopping_.load() || job->cancelled.load()) return;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    backoff = std::min(backoff * 2, std::chrono::seconds(30));
  }
}

void Nfs4Service::StopCopies() {
  std::map<std::array<std::byte, NFS4_OTHER_SIZE>, std::shared_ptr<CopyJob>> jobs;
  {
    MutexLock lock(&copies_mu_);
    copies_stopped_ = true;
    jobs.swap(copies_);
  }
  for (auto& [other, job] : jobs) job->cancelled.store(true);
  for (auto& [other, job] : jobs) {
    if (job->thread.joinable()) job->thread.join();
  }
}

nfsstat4 Nfs4Service::OffloadCancel(Ctx& c, const OFFLOAD_CANCEL4args& a) {
  nfsstat4 s = NeedShareFile(c.current, nfsstat4::NFS4ERR_ISDIR);
  if (s != nfsstat4::NFS4_OK) return s;
  MutexLock lock(&copies_mu_);
  auto it = copies_.find(a.stateid.other);
  if (it == copies_.end() || !(it->second->dst.as_file() == c.current.as_file())) {
    return nfsstat4::NFS4ERR_BAD_STATEID;
  }
  if (c.session && it->second->client.lock() != c.session->client) {
    return nfsstat4::NFS4ERR_BAD_STATEID;  // another client's copy
  }
  if (it->second->done.load()) return nfsstat4::NFS4ERR_COMPLETE_ALREADY;
  it->second->cancelled.store(true);
  return nfsstat4::NFS4_OK;
}

OFFLOAD_STATUS4res Nfs4Service::OffloadStatus(Ctx& c, const OFFLOAD_STATUS4args& a) {
  OFFLOAD_STATUS4res r;
  r.status = NeedShareFile(c.current, nfsstat4::NFS4ERR_ISDIR);
  if (r.status != nfsstat4::NFS4_OK) return r;
  MutexLock lock(&copies_mu_);
  auto it = copies_.find(a.stateid.other);
  if (it == copies_.end() || !(it->second->dst.as_file() == c.current.as_file()) ||
      (c.session && it->second->client.lock() != c.session->client)) {
    r.status = nfsstat4::NFS4ERR_BAD_STATEID;
    return r;
  }
  const CopyJob& job = *it->second;
  r.count = job.copied.load();
  if (job.done.load()) r.complete = static_cast<nfsstat4>(job.status.load());
  return r;
}

// ---- Extended attributes (RFC 8276 §8.4): the user.* xattrs SMB's EAs are too ----

GETXATTR4res Nfs4Service::GetXattr(Ctx& c, const GETXATTR4args& a) {
  GETXATTR4res r;
  r.status = NeedShareFile(c.current, nfsstat4::NFS4ERR_NOXATTR);
  if (r.status != nfsstat4::NFS4_OK) return r;
  std::string name;
  r.status = XattrName(a.name, &name);
  if (r.status != nfsstat4::NFS4_OK) return r;
  Result<core::ShareUse> use = UseShare(shares_, c.current);
  if (!use.ok()) {
    r.status = ToNfs4(use.status());
    return r;
  }
  Result<std::string> value = use->vfs().GetXattr(c.caller, c.current.file, name);
  if (!value.ok()) {
    r.status = XattrStatus(value.status());
    return r;
  }
  r.value = std::move(*value);
  return r;
}

nfsstat4 Nfs4Service::ChangeXattr(
    Ctx& c, std::string_view wire_name,
    const std::function<Status(core::Vfs&, const std::string&)>& change, change_info4* cinfo) {
  nfsstat4 st = NeedShareFile(c.current, nfsstat4::NFS4ERR_ROFS);
  if (st != nfsstat4::NFS4_OK) return st;
  std::string name;
  st = XattrName(wire_name, &name);
  if (st != nfsstat4::NFS4_OK) return st;
  Result<core::ShareUse> use = UseShare(shares_, c.current);
  if (!use.ok()) return ToNfs4(use.status());
  core::Vfs& vfs = use->vfs();
  Result<core::Attr> before = vfs.GetAttr(c.caller, c.current.file);
  if (!before.ok()) return ToNfs4(before.status());
  Status s = change(vfs, name);
  if (!s.ok()) return XattrStatus(s);
  // Not atomic: another change may come between the reads and this one.
  Result<core::Attr> after = vfs.GetAttr(c.caller, c.current.file);
  *cinfo = {false, before->change, after.ok() ? after->change : before->change + 1};
  vfs.NoteFileChanged(c.current.file, core::changed::kEa);
  return nfsstat4::NFS4_OK;
}

SETXATTR4res Nfs4Service::SetXattr(Ctx& c, const SETXATTR4args& a) {
  SETXATTR4res r;
  // A value over the runtime's limit is its kTooBig: XATTR2BIG (XattrStatus).
  const core::XattrSet how =
      a.option == setxattr_option4::SETXATTR4_CREATE    ? core::XattrSet::kCreate
      : a.option == setxattr_option4::SETXATTR4_REPLACE ? core::XattrSet::kReplace
                                                        : core::XattrSet::kAny;
  r.status = ChangeXattr(
      c, a.name,
      [&](core::Vfs& vfs, const std::string& name) {
        return vfs.SetXattr(c.caller, c.current.file, name, AsChars(a.value), how);
      },
      &r.cinfo);
  return r;
}

LISTXATTRS4res Nfs4Service::ListXattrs(Ctx& c, const LISTXATTRS4args& a) {
  LISTXATTRS4res r;
  r.status = NeedShareFile(c.current, nfsstat4::NFS4_OK);
  if (r.status != nfsstat4::NFS4_OK) return r;
  std::vector<std::string> names;
  if (!c.current.is_pseudo()) {
    Result<core::ShareUse> use = UseShare(shares_, c.current);
    if (!use.ok()) {
      r.status = ToNfs4(use.status());
      return r;
    }
    Result<std::vector<std::string>> all = use->vfs().ListXattrs(c.caller, c.current.file);
    if (!all.ok()) {
      r.status = ToNfs4(all.status());
      return r;
    }
    for (std::string& n : *all) {
      if (n.size() > kUserPrefix.size() && n.starts_with(kUserPrefix)) {
        names.push_back(n.substr(kUserPrefix.size()));
      }
    }
    std::sort(names.begin(), names.end());
  }
  // The cookie is the count of names already sent (the list is in name order).
  if (a.cookie > names.size()) {
    r.status = nfsstat4::NFS4ERR_BAD_COOKIE;
    return r;
  }
  // §8.4.3.2: maxcount bounds the whole result: cookie, list length, names, eof.
  size_t used = 8 + 4 + 4;
  size_t next = static_cast<size_t>(a.cookie);
  while (next < names.size()) {
    const size_t one = 4 + ((names[next].size() + 3) & ~size_t{3});
    if (used + one > a.maxcount) break;
    used += one;
    r.names.push_back(std::move(names[next]));
    ++next;
  }
  if (r.names.empty() && next < names.size()) {
    r.status = nfsstat4::NFS4ERR_TOOSMALL;
    return r;
  }
  if (used > a.maxcount) {
    r.status = nfsstat4::NFS4ERR_TOOSMALL;  // not even the empty answer fits
    return r;
  }
  r.cookie = next;
  r.eof = next == names.size();
  return r;
}

REMOVEXATTR4res Nfs4Service::RemoveXattr(Ctx& c, const REMOVEXATTR4args& a) {
  REMOVEXATTR4res r;
  r.status = ChangeXattr(
      c, a.name,
      [&](core::Vfs& vfs, const std::string& name) {
        return vfs.RemoveXattr(c.caller, c.current.file, name);
      },
      &r.cinfo);
  return r;
}

}  // namespace dittofs::nfs

// SPDX-License-Identifier: Apache-2.0
#include "core/state/open_table.h"

#include <algorithm>
#include <array>
#include <atomic>
#include <unordered_map>
#include <vector>

#include "base/mutex.h"
#include "core/state/shards.h"

namespace dittofs::core {
namespace {

constexpr uint32_t kReadLike = kReadData | kExecute;
constexpr uint32_t kWriteLike = kWriteData | kAppendData;
// An open with none of these (attributes only, say) neither checks nor constrains sharing.
constexpr uint32_t kSharingAccess = kReadLike | kWriteLike | kDeleteAccess;

struct Open {
  OpenTable::OpenId id = 0;
  uint32_t access = 0;
  uint32_t share = 0;
  bool delete_on_close = false;
};

struct FileOpens {
  std::vector<Open> opens;
  bool delete_pending = false;
  int removing = 0;  // BeginRemove calls not yet ended
};

using FileShard = Shard<FileOpens>;
using IdShard = Shard<uint64_t>;  // which file each open is of

// MS-FSA 2.1.5.1.2: does `b` conflict with `a` (or `a` with `b`)?
bool ShareConflict(const Open& a, uint32_t access, uint32_t share) {
  if ((a.access & kSharingAccess) == 0 || (access & kSharingAccess) == 0) return false;
  auto refuses = [](uint32_t has, uint32_t lets) {
    return ((has & kReadLike) != 0 && (lets & kShareRead) == 0) ||
           ((has & kWriteLike) != 0 && (lets & kShareWrite) == 0) ||
           ((has & kDeleteAccess) != 0 && (lets & kShareDelete) == 0);
  };
  return refuses(a.access, share) || refuses(access, a.share);
}

}  // namespace

struct OpenTable::Impl {
  Shards<FileOpens> shards;
  alignas(64) std::atomic<uint64_t> next_id{1};
  alignas(64) std::atomic<size_t> total{0};
  Shards<uint64_t> ids;

  FileShard& ShardOf(uint64_t file) { return shards.Of(file); }
  IdShard& IdShardOf(OpenId id) { return ids.Of(id); }

  Result<uint64_t> FileOf(OpenId id) {
    IdShard& s = IdShardOf(id);
    MutexLock lock(&s.mu);
    auto it = s.map.find(id);
    if (it == s.map.end()) return Status(Errc::kNotFound, "no such open");
    return it->second;
  }
};

OpenTable::OpenTable() : impl_(std::make_unique<Impl>()) {}
OpenTable::~OpenTable() = default;

Result<OpenTable::OpenId> OpenTable::Open(const OpenRequest& r) {
  if (r.delete_on_close && (r.access & kDeleteAccess) == 0) {
    return Status(Errc::kAccess, "delete on close needs delete access");
  }
  OpenId id = impl_->next_id.fetch_add(1);
  {
    FileShard& s = impl_->ShardOf(r.file);
    MutexLock lock(&s.mu);
    FileOpens& f = s.map[r.file];
    if (f.removing > 0) return Status(Errc::kStale, "the file is being removed");
    if (f.delete_pending) return Errc::kDeletePending;
    for (const auto& o : f.opens) {
      if (ShareConflict(o, r.access, r.share)) {
        if (f.opens.empty()) s.map.erase(r.file);
        return Errc::kShareViolation;
      }
    }
    f.opens.push_back(core::Open{id, r.access, r.share, r.delete_on_close});
  }
  {
    IdShard& s = impl_->IdShardOf(id);
    MutexLock lock(&s.mu);
    s.map[id] = r.file;
  }
  impl_->total.fetch_add(1);
  return id;
}

Result<CloseResult> OpenTable::Close(OpenId id) { return Release(id, /*withdrawn=*/false); }

Status OpenTable::Withdraw(OpenId id) { return Release(id, /*withdrawn=*/true).status(); }

Result<CloseResult> OpenTable::Release(OpenId id, bool withdrawn) {
  uint64_t file;
  {
    IdShard& s = impl_->IdShardOf(id);
    MutexLock lock(&s.mu);
    auto it = s.map.find(id);
    if (it == s.map.end()) return Status(Errc::kNotFound, "no such open");
    file = it->second;
    s.map.erase(it);
  }
  CloseResult result;
  FileShard& s = impl_->ShardOf(file);
  MutexLock lock(&s.mu);
  auto it = s.map.find(file);
  if (it == s.map.end()) return Status(Errc::kInternal, "open of an unknown file");
  FileOpens& f = it->second;
  auto o = std::find_if(f.opens.begin(), f.opens.end(), [&](const auto& x) { return x.id == id; });
  if (o == f.opens.end()) return Status(Errc::kInternal, "open missing from its file");
  if (o->delete_on_close && !withdrawn) f.delete_pending = true;
  f.opens.erase(o);
  impl_->total.fetch_sub(1);
  result.file = file;
  result.last = f.opens.empty();
  result.delete_file = result.last && f.delete_pending;
  if (result.last && f.removing == 0) s.map.erase(it);
  return result;
}

Status OpenTable::Change(OpenId id, uint32_t access, uint32_t share) {
  ASSIGN_OR_RETURN(uint64_t file, impl_->FileOf(id));
  FileShard& s = impl_->ShardOf(file);
  MutexLock lock(&s.mu);
  auto it = s.map.find(file);
  if (it == s.map.end()) return Status(Errc::kNotFound, "no such open");
  core::Open* self = nullptr;
  for (auto& o : it->second.opens) {
    if (o.id == id) {
      self = &o;
    } else if (ShareConflict(o, access, share)) {
      return Errc::kShareViolation;
    }
  }
  if (self == nullptr) return Status(Errc::kNotFound, "no such open");
  self->access = access;
  self->share = share;
  return Status::Ok();
}

Status OpenTable::SetDeletePending(OpenId id, bool pending) {
  ASSIGN_OR_RETURN(uint64_t file, impl_->FileOf(id));
  FileShard& s = impl_->ShardOf(file);
  MutexLock lock(&s.mu);
  auto it = s.map.find(file);
  if (it == s.map.end()) return Status(Errc::kNotFound, "no such open");
  auto o = std::find_if(it->second.opens.begin(), it->second.opens.end(),
                        [&](const auto& x) { return x.id == id; });
  if (o == it->second.opens.end()) return Status(Errc::kNotFound, "no such open");
  if ((o->access & kDeleteAccess) == 0) return Status(Errc::kAccess, "open lacks delete access");
  it->second.delete_pending = pending;
  return Status::Ok();
}

size_t OpenTable::BeginRemove(uint64_t file) {
  FileShard& s = impl_->ShardOf(file);
  MutexLock lock(&s.mu);
  FileOpens& f = s.map[file];
  if (!f.opens.empty()) return f.opens.size();
  ++f.removing;
  return 0;
}

void OpenTable::EndRemove(uint64_t file) {
  FileShard& s = impl_->ShardOf(file);
  MutexLock lock(&s.mu);
  auto it = s.map.find(file);
  if (it == s.map.end() || it->second.removing == 0) return;
  if (--it->second.removing == 0 && it->second.opens.empty()) s.map.erase(it);
}

Status OpenTable::CheckAccess(uint64_t file, uint32_t access, OpenId except, uint32_t share) {
  FileShard& s = impl_->ShardOf(file);
  MutexLock lock(&s.mu);
  auto it = s.map.find(file);
  if (it == s.map.end()) return Status::Ok();
  if (it->second.delete_pending) return Errc::kDeletePending;
  for (const auto& o : it->second.opens) {
    if (o.id != except && ShareConflict(o, access, share)) return Errc::kShareViolation;
  }
  return Status::Ok();
}

size_t OpenTable::open_count(uint64_t file) {
  FileShard& s = impl_->ShardOf(file);
  MutexLock lock(&s.mu);
  auto it = s.map.find(file);
  return it == s.map.end() ? 0 : it->second.opens.size();
}

bool OpenTable::delete_pending(uint64_t file) {
  FileShard& s = impl_->ShardOf(file);
  MutexLock lock(&s.mu);
  auto it = s.map.find(file);
  return it != s.map.end() && it->second.delete_pending;
}

size_t OpenTable::total_opens() const { return impl_->total.load(); }

}  // namespace dittofs::core

// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "base/clock.h"
#include "base/mutex.h"
#include "base/result.h"
#include "core/jobs.h"
#include "stores/metadata/metadata_store.h"

namespace dittofs::core {

// Quotas (docs/quotas.md): what a share, each user and each group may hold, in bytes (the sizes
// of regular files) and in files (every object: files, directories, links, devices). A file
// counts against its owner and its group; every object counts against the share.
enum class QuotaKind : uint8_t { kShare = 0, kUser = 1, kGroup = 2 };
std::string_view QuotaKindName(QuotaKind kind);  // "share", "user", "group"
std::optional<QuotaKind> ParseQuotaKind(std::string_view name);

// The limits of one share, user or group. 0: no limit. Past a hard limit nothing more is
// taken; past a soft one usage may stay for the grace period, after which the soft limit
// holds as a hard one, until usage falls below it again.
struct QuotaLimits {
  uint64_t hard_bytes = 0;
  uint64_t soft_bytes = 0;
  uint64_t hard_files = 0;
  uint64_t soft_files = 0;
  uint64_t grace_seconds = 0;  // 0: kDefaultGraceSeconds
  bool none() const {
    return hard_bytes == 0 && soft_bytes == 0 && hard_files == 0 && soft_files == 0;
  }
  friend bool operator==(const QuotaLimits&, const QuotaLimits&) = default;
};
inline constexpr uint64_t kDefaultGraceSeconds = 7 * 24 * 3600;

// One share, user or group: its limits and what it uses (QuotaTable::Report).
struct QuotaEntry {
  QuotaKind kind = QuotaKind::kShare;
  uint32_t id = 0;  // uid or gid; 0 for the share
  QuotaLimits limits;
  uint64_t used_bytes = 0;
  uint64_t used_files = 0;
  // When usage went over a soft limit (unix seconds); 0 when it is under both.
  int64_t over_soft_since = 0;
  // When the grace ends (over_soft_since + grace); 0 when usage is under the soft limits.
  int64_t grace_expires = 0;
  // "ok", "soft" (over a soft limit, in grace), "expired" (its grace is over), "hard" (at or
  // over a hard limit).
  std::string_view state = "ok";
};

// What a change of the namespace adds to (or takes from) one share, user or group.
struct QuotaDelta {
  QuotaKind kind = QuotaKind::kShare;
  uint32_t id = 0;
  int64_t bytes = 0;
  int64_t files = 0;
};

struct QuotaCounter;  // quota.cc

// The usage and limits of one share, kept in memory so that every check is O(1), and in the
// share's metadata store (RecordTable::kQuota) so that they survive restarts and crashes:
//   'v'                         -> the table's format version (its absence: never counted)
//   'u' + kind + be32(id)       -> le64 bytes, le64 files: usage as of the last fold
//   'd' + be64(ns) + be64(seq)  -> deltas (kind, id, bytes, files)*: one per committed change
//   'l' + kind + be32(id)       -> the limits
//   'o' + kind + be32(id)       -> le64: when usage went over a soft limit (unix seconds)
// Every transaction that changes an inode's size, owner or existence writes a delta record in
// the same commit (CountingStore), with a key of its own, so concurrent changes never conflict
// on a counter; Fold merges the deltas into the 'u' records now and then.
// Thread-safe.
class QuotaTable {
 public:
  // Loads the table from `metadata`. A store that has never been counted (an existing share
  // before quotas) is counted now, by a walk of the namespace from its root and the orphans.
  // REQUIRES: nothing changes the store meanwhile (the share is not served yet).
  static Result<std::unique_ptr<QuotaTable>> Open(stores::MetadataStore& metadata);

  // Whether adding `bytes` and `files` to the share, user `uid` and group `gid` keeps each
  // within its hard limits, and within its soft ones where the grace is over. Errc::kQuota
  // (with what limit it would pass) otherwise. Taking nothing (bytes and files 0) always passes.
  Status Check(uint32_t uid, uint32_t gid, uint64_t bytes, uint64_t files) const;
  // As Check, for one user or group alone (a file given to a new owner or group).
  Status CheckOne(QuotaKind kind, uint32_t id, uint64_t bytes, uint64_t files) const;
  // As Check, and holds what it checked until the returned reservation goes, so that
  // concurrent writers cannot pass a limit together. Move-only.
  class Reservation {
   public:
    Reservation() = default;
    Reservation(Reservation&& other) noexcept { *this = std::move(other); }
    Reservation& operator=(Reservation&& other) noexcept;
    ~Reservation() { Release(); }
    void Release();

   private:
    friend class QuotaTable;
    QuotaCounter* held_[3] = {nullptr, nullptr, nullptr};
    uint64_t bytes_ = 0;
  };
  Result<Reservation> Reserve(uint32_t uid, uint32_t gid, uint64_t bytes);

  // Applies committed deltas to the counts in memory (CountingStore, after a commit).
  void Apply(const std::vector<QuotaDelta>& deltas);

  // Sets the limits of a share, user or group (QuotaLimits{}: removes them), durably.
  Status SetLimits(QuotaKind kind, uint32_t id, const QuotaLimits& limits);
  // The share's entry, and every user and group with usage or limits.
  std::vector<QuotaEntry> Report() const;
  QuotaEntry Get(QuotaKind kind, uint32_t id) const;

  // What `uid` (with primary group `gid`) may still take, in bytes and files, under the
  // tightest of its hard limits, its group's and the share's, with that limit: for FSSTAT,
  // NFSv4's space and quota attributes and SMB's volume size. nullopt: no limit applies.
  struct Room {
    uint64_t limit_bytes = 0, avail_bytes = 0;  // UINT64_MAX when no byte limit applies
    uint64_t limit_files = 0, avail_files = 0;  // UINT64_MAX when no file limit applies
    uint64_t avail_soft_bytes = 0;              // likewise, under the soft limits
    uint64_t used_bytes = 0;                    // the user's own
  };
  Room RoomFor(uint32_t uid, uint32_t gid) const;

  // Merges the delta records into the usage records (at most `max` at a time); returns how
  // many it merged. The server calls it now and then; Open does too.
  Result<size_t> Fold(size_t max = 4096);
  // How many deltas committed since the last fold (Fold is worth calling when high).
  uint64_t unfolded() const { return unfolded_.load(std::memory_order_relaxed); }

  // Counts the namespace again from scratch and replaces the usage records with what it found
  // (an administrator's repair, a "quota-recount" job). `progress` (may be null) counts the
  // objects visited, of about as many as the share counted before; when it is canceled the
  // count stops and nothing is replaced. REQUIRES: as Open's count: nothing changes the store
  // (Share::RunQuiesced).
  Status Recount(JobProgress* progress = nullptr);

  ~QuotaTable();

 private:
  explicit QuotaTable(stores::MetadataStore& metadata);
  Status Load();
  QuotaCounter& At(QuotaKind kind, uint32_t id) const;
  QuotaCounter* Find(QuotaKind kind, uint32_t id) const;
  Status CheckCounter(const QuotaCounter& c, uint64_t bytes, uint64_t files, int64_t now) const;
  void NoteSoft(QuotaCounter& c, int64_t now);

  stores::MetadataStore& metadata_;  // the raw store, not a CountingStore
  mutable SharedMutex mu_;
  // Stable addresses: entries are never removed while the table lives.
  mutable std::unordered_map<uint64_t, std::unique_ptr<QuotaCounter>> counters_ GUARDED_BY(mu_);
  Mutex fold_mu_;
  std::atomic<uint64_t> unfolded_{0};
};

// A share's quota table and the counting store over its metadata store that keeps it up to
// date: every change of the share goes through `counting`. Kept by the share across Vfs
// generations, as its state is.
struct ShareQuotas {
  std::unique_ptr<QuotaTable> table;
  std::unique_ptr<stores::MetadataStore> counting;
  // Opens the table of `metadata` (QuotaTable::Open) and a counting store over it; `metadata`
  // must outlive the result.
  static Result<ShareQuotas> Open(stores::MetadataStore& metadata);
};

// A MetadataStore that counts: each of its transactions notes the inodes it reads, writes and
// deletes, and at commit adds the quota deltas of the changes to the commit (a 'd' record of
// RecordTable::kQuota), then, once committed, applies them to `table` (may be null: the records
// are written and Open of a table reads them later). Everything else is forwarded to `inner`.
// `inner` and `table` must outlive it.
std::unique_ptr<stores::MetadataStore> CountingStore(stores::MetadataStore& inner,
                                                     QuotaTable* table);

// The deltas between an inode as it was (nullopt: it did not exist) and as it is (nullopt:
// deleted): its share, owner and group's, summed into `out`.
void AddDeltas(const std::optional<stores::Inode>& before,
               const std::optional<stores::Inode>& after, std::vector<QuotaDelta>* out);

}  // namespace dittofs::core

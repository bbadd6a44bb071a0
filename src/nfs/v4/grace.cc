// SPDX-License-Identifier: Apache-2.0
#include "nfs/v4/grace.h"

#include <fmt/format.h>

#include <algorithm>

#include "base/log.h"

namespace dittofs::nfs {

namespace {

// The store's key limit (stores::kMaxStateKeySize) less room for the family byte.
constexpr size_t kMaxPlainOwner = 1023;
constexpr size_t kKeptPrefix = 1000;

uint64_t Fnv1a64(std::string_view s) {
  uint64_t h = 0xcbf29ce484222325ull;
  for (char ch : s) {
    h ^= static_cast<uint8_t>(ch);
    h *= 0x100000001b3ull;
  }
  return h;
}

}  // namespace

std::string Nfs4Grace::RecordKey(uint32_t minor, std::string_view owner) {
  const char family = minor == 0 ? '0' : '1';
  if (owner.size() <= kMaxPlainOwner) return std::string(1, family) + std::string(owner);
  // Longer owners (up to NFS4_OPAQUE_LIMIT): a prefix and a hash of the whole. Two owners
  // alike in their first 1,000 bytes and in the hash would share a record; the cost would
  // be one's right to reclaim during a grace period, never another's state.
  // FNV-1a, not std::hash: the key is stored, so it must not change between builds.
  return fmt::format("{}{}{:016x}", family == '0' ? 'L' : 'M', owner.substr(0, kKeptPrefix),
                     Fnv1a64(owner));
}

Status Nfs4Grace::Begin(Nfs4ClientRecords* records, std::chrono::seconds grace, int64_t now_nanos) {
  records_ = records;
  if (records_ == nullptr) return Status::Ok();
  ASSIGN_OR_RETURN(auto entries, records_->List());
  MutexLock lock(&mu_);
  for (auto& [key, value] : entries) previous_.insert(std::move(key));
  if (previous_.empty() || grace.count() == 0) {
    previous_.clear();
    return Status::Ok();
  }
  ends_ = now_nanos + std::chrono::duration_cast<std::chrono::nanoseconds>(grace).count();
  in_grace_.store(true, std::memory_order_release);
  LOG_INFO("nfs4: grace period of {} s: {} client(s) of the last run may reclaim their state",
           grace.count(), previous_.size());
  return Status::Ok();
}

bool Nfs4Grace::MayReclaim(const std::string& key) {
  if (!in_grace()) return false;
  MutexLock lock(&mu_);
  return previous_.count(key) != 0 && complete_.count(key) == 0;
}

void Nfs4Grace::ReclaimComplete(const std::string& key) {
  if (!in_grace()) return;
  MutexLock lock(&mu_);
  if (previous_.count(key) == 0) return;
  complete_.insert(key);
  if (complete_.size() == previous_.size()) {
    LOG_INFO("nfs4: every client of the last run finished reclaiming: grace ends early");
    EndLocked();
  }
}

void Nfs4Grace::Tick(int64_t now_nanos) {
  if (!in_grace()) return;
  MutexLock lock(&mu_);
  if (now_nanos < ends_) return;
  LOG_INFO("nfs4: grace period over ({} of {} client(s) of the last run came back)",
           complete_.size(), previous_.size());
  EndLocked();
}

void Nfs4Grace::EndLocked() {
  in_grace_.store(false, std::memory_order_release);
  // The last run's clients that took nothing back have nothing left to reclaim.
  for (const std::string& key : previous_) {
    if (recorded_.count(key) != 0) continue;
    Status s = records_->Delete(key);
    if (!s.ok()) LOG_WARN("nfs4: cannot drop a client record: {}", s.ToString());
  }
  recorded_.clear();
  previous_.clear();
  complete_.clear();
}

Status Nfs4Grace::Record(const std::string& key, std::string_view value) {
  if (records_ == nullptr) return Status::Ok();
  RETURN_IF_ERROR(records_->Put(key, value));
  if (in_grace()) {
    MutexLock lock(&mu_);
    if (in_grace()) recorded_.insert(key);
  }
  return Status::Ok();
}

void Nfs4Grace::Forget(const std::string& key) { ForgetMany({key}); }

void Nfs4Grace::ForgetMany(const std::vector<std::string>& keys) {
  if (records_ == nullptr || keys.empty()) return;
  if (in_grace()) {
    MutexLock lock(&mu_);
    for (const std::string& key : keys) recorded_.erase(key);
  }
  Status s = records_->DeleteMany(keys);
  if (!s.ok()) LOG_WARN("nfs4: cannot forget {} client record(s): {}", keys.size(), s.ToString());
}

uint32_t Nfs4Grace::seconds_left(int64_t now_nanos) {
  if (!in_grace()) return 0;
  MutexLock lock(&mu_);
  const int64_t left = std::max<int64_t>(0, ends_ - now_nanos);
  return static_cast<uint32_t>((left + 999'999'999) / 1'000'000'000);
}

size_t Nfs4Grace::pending() {
  MutexLock lock(&mu_);
  return previous_.size() - complete_.size();
}

}  // namespace dittofs::nfs

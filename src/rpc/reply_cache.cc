// SPDX-License-Identifier: Apache-2.0
#include "rpc/reply_cache.h"

#include <functional>

namespace dittofs::rpc {

uint64_t Checksum(const void* data, size_t size) {
  const auto* p = static_cast<const unsigned char*>(data);
  uint64_t h = 1469598103934665603ull;
  for (size_t i = 0; i < size; ++i) {
    h ^= p[i];
    h *= 1099511628211ull;
  }
  return h;
}

size_t ReplyCache::KeyHash::operator()(const Key& k) const {
  return std::hash<std::string>()(k.client) ^ (size_t(k.xid) * 0x9e3779b97f4a7c15ull) ^
         (k.checksum << 1) ^ (size_t(k.proc) << 7);
}

ReplyCache::ReplyCache(size_t capacity)
    : capacity_per_shard_(capacity / kShards > 0 ? capacity / kShards : 1) {}

ReplyCache::Shard& ReplyCache::ShardFor(const Key& key) {
  return shards_[KeyHash()(key) % kShards];
}

ReplyCache::State ReplyCache::Begin(const Key& key, std::string* reply) {
  Shard& s = ShardFor(key);
  MutexLock lock(&s.mu);
  auto it = s.entries.find(key);
  if (it != s.entries.end()) {
    s.lru.splice(s.lru.begin(), s.lru, it->second.lru);
    if (!it->second.done) return State::kInProgress;
    ++s.hits;
    *reply = it->second.reply;
    return State::kDone;
  }
  while (s.entries.size() >= capacity_per_shard_ && !s.lru.empty()) {
    // Evict the least recently used finished entry; entries in progress stay.
    auto victim = std::prev(s.lru.end());
    auto vit = s.entries.find(*victim);
    if (vit != s.entries.end() && !vit->second.done) break;
    if (vit != s.entries.end()) s.entries.erase(vit);
    s.lru.erase(victim);
  }
  s.lru.push_front(key);
  Entry& e = s.entries[key];
  e.lru = s.lru.begin();
  return State::kNew;
}

void ReplyCache::Finish(const Key& key, std::string reply) {
  Shard& s = ShardFor(key);
  MutexLock lock(&s.mu);
  auto it = s.entries.find(key);
  if (it == s.entries.end()) return;
  it->second.done = true;
  it->second.reply = std::move(reply);
}

void ReplyCache::Abandon(const Key& key) {
  Shard& s = ShardFor(key);
  MutexLock lock(&s.mu);
  auto it = s.entries.find(key);
  if (it == s.entries.end()) return;
  s.lru.erase(it->second.lru);
  s.entries.erase(it);
}

size_t ReplyCache::hits() const {
  size_t total = 0;
  for (const Shard& s : shards_) {
    MutexLock lock(const_cast<Mutex*>(&s.mu));
    total += s.hits;
  }
  return total;
}

}  // namespace dittofs::rpc

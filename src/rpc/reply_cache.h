// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstdint>
#include <list>
#include <string>
#include <unordered_map>

#include "base/mutex.h"

namespace dittofs::rpc {

// The duplicate-request cache for non-idempotent procedures. A call is identified by its
// client, xid, program, version, procedure and a checksum of its arguments (so a reused xid
// with other arguments is a new call). Bounded: the least recently used entry goes first.
// Thread-safe; sharded so that unrelated calls rarely share a lock.
class ReplyCache {
 public:
  struct Key {
    std::string client;
    uint32_t xid = 0;
    uint32_t prog = 0;
    uint32_t vers = 0;
    uint32_t proc = 0;
    uint64_t checksum = 0;
    friend bool operator==(const Key&, const Key&) = default;
  };
  enum class State { kNew, kInProgress, kDone };

  explicit ReplyCache(size_t capacity);

  // kNew: the caller executes the call, then calls Finish (or Abandon). kInProgress: the same
  // call is executing now; send nothing. kDone: `*reply` is the cached reply to resend.
  State Begin(const Key& key, std::string* reply);
  void Finish(const Key& key, std::string reply);
  void Abandon(const Key& key);

  size_t hits() const;

 private:
  struct KeyHash {
    size_t operator()(const Key& k) const;
  };
  struct Entry {
    bool done = false;
    std::string reply;
    std::list<Key>::iterator lru;
  };
  struct Shard {
    Mutex mu;
    std::unordered_map<Key, Entry, KeyHash> entries GUARDED_BY(mu);
    std::list<Key> lru GUARDED_BY(mu);  // front = most recent
    size_t hits GUARDED_BY(mu) = 0;
  };
  static constexpr size_t kShards = 16;

  Shard& ShardFor(const Key& key);

  size_t capacity_per_shard_;
  Shard shards_[kShards];
};

// FNV-1a over the bytes, for reply-cache checksums.
uint64_t Checksum(const void* data, size_t size);

}  // namespace dittofs::rpc

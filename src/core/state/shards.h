// SPDX-License-Identifier: Apache-2.0
#pragma once

// The sharding every state table uses: per-file (or per-id) values spread over 64 shards, each
// with its own mutex and on its own cache line, so that operations on different files rarely
// share a lock and never a line.

#include <array>
#include <cstddef>
#include <cstdint>
#include <unordered_map>

#include "base/mutex.h"

namespace dittofs::core {

template <typename V>
struct alignas(64) Shard {
  Mutex mu;
  std::unordered_map<uint64_t, V> map GUARDED_BY(mu);
};

template <typename V>
class Shards {
 public:
  static constexpr size_t kCount = 64;
  Shard<V>& Of(uint64_t key) { return shards_[key % kCount]; }
  auto begin() { return shards_.begin(); }
  auto end() { return shards_.end(); }

 private:
  std::array<Shard<V>, kCount> shards_;
};

}  // namespace dittofs::core

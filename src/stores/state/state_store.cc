// SPDX-License-Identifier: Apache-2.0
#include "stores/state/state_store.h"

#include <map>
#include <utility>

#include "base/mutex.h"

namespace dittofs::stores {

Status CheckStateEntry(std::string_view key, std::string_view value) {
  if (key.empty() || key.size() > kMaxStateKeySize) {
    return Status(Errc::kInvalid, "state key of " + std::to_string(key.size()) + " bytes (1 to " +
                                      std::to_string(kMaxStateKeySize) + ")");
  }
  if (value.size() > kMaxStateValueSize) {
    return Status(Errc::kTooBig, "state value of " + std::to_string(value.size()) +
                                     " bytes (at most " + std::to_string(kMaxStateValueSize) + ")");
  }
  return Status::Ok();
}

Status StateStore::DeleteMany(StateTable table, const std::vector<std::string>& keys) {
  for (const std::string& key : keys) RETURN_IF_ERROR(Delete(table, key));
  return Status::Ok();
}

namespace {

class MemoryStateStore final : public StateStore {
 public:
  Status Put(StateTable table, std::string_view key, std::string_view value) override {
    RETURN_IF_ERROR(CheckStateEntry(key, value));
    MutexLock lock(&mu_);
    tables_[table].insert_or_assign(std::string(key), std::string(value));
    return Status::Ok();
  }
  Status Delete(StateTable table, std::string_view key) override {
    MutexLock lock(&mu_);
    auto t = tables_.find(table);
    if (t != tables_.end()) {
      if (auto it = t->second.find(key); it != t->second.end()) t->second.erase(it);
    }
    return Status::Ok();
  }
  Result<std::string> Get(StateTable table, std::string_view key) override {
    MutexLock lock(&mu_);
    auto t = tables_.find(table);
    if (t == tables_.end()) return Errc::kNotFound;
    auto it = t->second.find(key);
    if (it == t->second.end()) return Errc::kNotFound;
    return it->second;
  }
  Result<std::vector<StateEntry>> List(StateTable table) override {
    MutexLock lock(&mu_);
    std::vector<StateEntry> out;
    auto t = tables_.find(table);
    if (t == tables_.end()) return out;
    for (const auto& [k, v] : t->second) out.push_back({k, v});
    return out;
  }
  Result<uint64_t> NextEpoch() override {
    MutexLock lock(&mu_);
    return ++epoch_;
  }

 private:
  Mutex mu_;
  // std::string's operator< compares as unsigned chars (char_traits<char>::lt), the promised
  // key order.
  std::map<StateTable, std::map<std::string, std::string, std::less<>>> tables_ GUARDED_BY(mu_);
  uint64_t epoch_ GUARDED_BY(mu_) = 0;
};

}  // namespace

std::unique_ptr<StateStore> NewMemoryStateStore() { return std::make_unique<MemoryStateStore>(); }

}  // namespace dittofs::stores

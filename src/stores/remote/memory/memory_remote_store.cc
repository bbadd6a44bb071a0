// SPDX-License-Identifier: Apache-2.0
#include "stores/remote/memory/memory_remote_store.h"

#include <algorithm>
#include <map>
#include <string>
#include <utility>

#include "base/mutex.h"

namespace dittofs::stores {
namespace {

class MemoryRemoteStore final : public RemoteStore {
 public:
  Status Put(std::string_view key, ByteView data) override;
  Result<Buffer> Get(std::string_view key, uint64_t offset,
                     std::optional<uint64_t> length) override;
  Status Delete(std::string_view key) override;
  Result<std::vector<ObjectInfo>> List(std::string_view prefix) override;

 private:
  Mutex mu_;
  // Objects are immutable once stored, so a Get copies its range after unlocking while a Put
  // may replace the map's entry meanwhile: ownership is shared between the map and such a Get.
  std::map<std::string, std::shared_ptr<const Buffer>, std::less<>> objects_ GUARDED_BY(mu_);
};

Status MemoryRemoteStore::Put(std::string_view key, ByteView data) {
  RETURN_IF_ERROR(ValidateRemoteKey(key));
  auto object = std::make_shared<const Buffer>(Buffer::Copy(data));  // copied before locking
  std::shared_ptr<const Buffer> replaced;                            // freed after unlocking
  {
    MutexLock lock(&mu_);
    auto [it, inserted] = objects_.try_emplace(std::string(key), object);
    if (!inserted) replaced = std::exchange(it->second, std::move(object));
  }
  return Status::Ok();
}

Result<Buffer> MemoryRemoteStore::Get(std::string_view key, uint64_t offset,
                                      std::optional<uint64_t> length) {
  RETURN_IF_ERROR(ValidateRemoteKey(key));
  std::shared_ptr<const Buffer> object;
  {
    MutexLock lock(&mu_);
    auto it = objects_.find(key);
    if (it == objects_.end()) return Status(Errc::kNotFound, "no object " + std::string(key));
    object = it->second;
  }
  uint64_t begin = std::min<uint64_t>(offset, object->size());
  uint64_t n = std::min<uint64_t>(object->size() - begin, length.value_or(object->size()));
  return Buffer::Copy(object->view().subspan(begin, n));
}

Status MemoryRemoteStore::Delete(std::string_view key) {
  RETURN_IF_ERROR(ValidateRemoteKey(key));
  std::shared_ptr<const Buffer> removed;  // freed after unlocking
  MutexLock lock(&mu_);
  auto it = objects_.find(key);
  if (it != objects_.end()) {
    removed = std::move(it->second);
    objects_.erase(it);
  }
  return Status::Ok();
}

Result<std::vector<ObjectInfo>> MemoryRemoteStore::List(std::string_view prefix) {
  std::vector<ObjectInfo> out;
  MutexLock lock(&mu_);
  for (auto it = objects_.lower_bound(prefix);
       it != objects_.end() && it->first.starts_with(prefix); ++it) {
    out.push_back({it->first, it->second->size()});
  }
  return out;
}

}  // namespace

std::unique_ptr<RemoteStore> NewMemoryRemoteStore() {
  return std::make_unique<MemoryRemoteStore>();
}

}  // namespace dittofs::stores

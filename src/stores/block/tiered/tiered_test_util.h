// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <algorithm>
#include <cstring>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/result.h"
#include "stores/metadata/metadata_store.h"
#include "stores/remote/remote_store.h"

// Test support for the tiered store's tests (header-only, test binaries only).
namespace dittofs::stores::tiered_testing {

// A RemoteStore that forwards to a shared one, so a test can look at (and damage) what a store
// it handed the remote to has uploaded. Test remotes that change one behaviour (fail, wait)
// derive from it and override that method only.
class SharedRemote : public RemoteStore {
 public:
  explicit SharedRemote(std::shared_ptr<RemoteStore> remote) : remote_(std::move(remote)) {}
  Status Put(std::string_view key, ByteView data) override { return remote_->Put(key, data); }
  Result<Buffer> Get(std::string_view key, uint64_t offset,
                     std::optional<uint64_t> length) override {
    return remote_->Get(key, offset, length);
  }
  Status Delete(std::string_view key) override { return remote_->Delete(key); }
  Result<std::vector<ObjectInfo>> List(std::string_view prefix) override {
    return remote_->List(prefix);
  }
  uint64_t Retries() const override { return remote_->Retries(); }

 private:
  std::shared_ptr<RemoteStore> remote_;
};

// Creates regular-file inodes [first, last] (the tiered store releases the data of files
// whose inode does not exist).
inline Status CreateInodes(MetadataStore& metadata, InodeId first, InodeId last) {
  return RunTransaction(metadata, [&](MetadataTxn& txn) {
    for (InodeId id = first; id <= last; ++id) {
      Inode inode;
      inode.id = id;
      inode.generation = 1;
      inode.type = FileType::kRegular;
      inode.mode = 0644;
      inode.nlink = 1;
      txn.PutInode(inode);
    }
    return Status::Ok();
  });
}

// Total bytes of the objects on `remote`.
inline uint64_t RemoteBytes(RemoteStore& remote) {
  Result<std::vector<ObjectInfo>> listed = remote.List("");
  uint64_t n = 0;
  if (listed.ok()) {
    for (const ObjectInfo& o : *listed) n += o.size;
  }
  return n;
}

}  // namespace dittofs::stores::tiered_testing

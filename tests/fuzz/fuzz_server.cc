// SPDX-License-Identifier: Apache-2.0
#include "fuzz_server.h"

#include "base/check.h"
#include "stores/block/memory/memory_block_store.h"
#include "stores/metadata/memory/memory_metadata_store.h"

namespace dittofs::fuzz {

FuzzServer::FuzzServer()
    : metadata_(stores::NewMemoryMetadataStore()),
      blocks_(stores::NewMemoryBlockStore()),
      dispatcher_(1024),
      nfs3_(shares_, handles_),
      mount_(shares_, handles_) {
  core::ShareOptions options;
  options.squash = core::Squash::kNone;
  auto vfs = core::Vfs::Open(1, "/export", *metadata_, *blocks_, options);
  CHECK(vfs.ok()) << vfs.status().ToString();
  root_ = (*vfs)->root();
  shares_.Add(std::shared_ptr<core::Vfs>(std::move(vfs).value()));
  dispatcher_.Add(nfs3_.Program());
  dispatcher_.Add(mount_.Program());
}

}  // namespace dittofs::fuzz

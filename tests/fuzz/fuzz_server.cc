// SPDX-License-Identifier: Apache-2.0
#include "fuzz_server.h"

#include "base/check.h"
#include "stores/block/memory/memory_block_store.h"
#include "stores/metadata/memory/memory_metadata_store.h"

namespace dittofs::fuzz {

namespace {
nfs::NlmOptions FuzzNlmOptions() {
  nfs::NlmOptions o;
  o.client_portmap_port = 1;
  o.callback_timeout = std::chrono::milliseconds(100);
  return o;
}
}  // namespace

FuzzServer::FuzzServer()
    : dispatcher_(1024),
      nfs3_(shares_, handles_),
      mount_(shares_, handles_),
      nlm_(shares_, handles_, nullptr, FuzzNlmOptions()) {
  core::ShareOptions options;
  options.squash = core::Squash::kNone;
  auto share = core::Share::Open(1, "/export", stores::NewMemoryMetadataStore(),
                                 stores::NewMemoryBlockStore(), options);
  CHECK(share.ok()) << share.status().ToString();
  root_ = (*share)->vfs()->root();
  shares_.Add(std::move(share).value());
  dispatcher_.AddAuthFlavor(rpc::AuthFlavor::kNone, rpc::AuthNone);
  dispatcher_.AddAuthFlavor(rpc::AuthFlavor::kSys, rpc::AuthSys);
  dispatcher_.Add(nfs3_.Program());
  dispatcher_.Add(mount_.Program());
  portmap_.Register(100003, 3, "tcp", 12049);
  portmap_.Register(100005, 3, "udp", 12049);
  for (rpc::ProgramVersion& p : portmap_.Programs()) dispatcher_.Add(std::move(p));
  for (rpc::ProgramVersion& p : nlm_.Programs()) dispatcher_.Add(std::move(p));
}

}  // namespace dittofs::fuzz

// SPDX-License-Identifier: Apache-2.0
// libFuzzer target: the NFSv4 program behind the RPC layer, as a client's byte stream on the
// NFS port reaches it: record marking, the call header, and COMPOUNDs of 4.0 and 4.1 run by
// the service over a memory share (sessions, opens, locks, stateids, attributes). Each input
// meets a fresh service whose instance number is fixed, so the client, session and state ids
// of one input's earlier calls can be named by its later ones (make_seeds writes such
// streams). Delegations are off: no callback may leave the process. Any crash, hang, leak or
// sanitizer report is a bug.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "base/check.h"
#include "base/clock.h"
#include "core/shares.h"
#include "nfs/common/file_handle.h"
#include "nfs/v4/service.h"
#include "rpc/dispatch.h"
#include "rpc/record.h"
#include "stores/block/memory/memory_block_store.h"
#include "stores/metadata/memory/memory_metadata_store.h"

namespace {

using namespace dittofs;

// The instance number make_seeds assumes.
constexpr uint32_t kFuzzBoot = 0xdf5;

core::ShareTable* shares = nullptr;
size_t runs = 0;

void FreshShare() {
  delete shares;
  shares = new core::ShareTable();
  core::ShareOptions options;
  options.squash = core::Squash::kNone;
  options.root_mode = 01777;
  auto share = core::Share::Open(1, "/export", stores::NewMemoryMetadataStore(),
                                 stores::NewMemoryBlockStore(), options);
  CHECK(share.ok()) << share.status().ToString();
  shares->Add(std::move(share).value());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  // A fresh share now and then, so files made by earlier inputs stay bounded.
  if (shares == nullptr || ++runs % 5000 == 0) FreshShare();
  static const nfs::FileHandleCodec handles{nfs::FileHandleCodec::Key{}};
  nfs::Nfs4Options o;
  o.boot = kFuzzBoot;
  o.delegations = false;
  o.lease_seconds = 90;
  nfs::Nfs4Service service(*shares, handles, nullptr, o);
  rpc::Dispatcher dispatcher(64);
  dispatcher.AddAuthFlavor(rpc::AuthFlavor::kNone, rpc::AuthNone);
  dispatcher.AddAuthFlavor(rpc::AuthFlavor::kSys, rpc::AuthSys);
  dispatcher.Add(service.Program());

  rpc::RecordAssembler assembler(1u << 20);
  std::vector<Buffer> records;
  ByteView input(reinterpret_cast<const std::byte*>(data), size);
  if (!assembler.Feed(input, &records).ok()) return 0;
  rpc::ConnectionInfo conn{"127.0.0.1", 800};
  for (const Buffer& record : records) {
    xdr::XdrEncoder reply;
    dispatcher.Handle(conn, record.view(), &reply);
    (void)reply.ToString();  // walk every segment of the reply
  }
  service.Tick(MonotonicNanos() + int64_t{100} * 1'000'000'000);  // past every lease
  return 0;
}

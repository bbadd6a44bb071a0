// SPDX-License-Identifier: Apache-2.0
// The cost of ACL evaluation on the runtime's metadata path: create, stat (LOOKUP + GETATTR)
// and open/close rates in a directory whose 20-ACE inheritable ACL every file inherits, against
// the same without ACLs (mode bits). The caller matches the ACL's last ACEs, so each check
// walks all of it. Memory stores: what is measured is the runtime, not a disk.
//
//   build/release/bin/acl_bench --benchmark_counters_tabular=true
//
// Each benchmark's argument: 0 = mode bits only, 1 = the 20-ACE ACL.
#include <benchmark/benchmark.h>

#include <memory>
#include <string>

#include "core/acl/acl.h"
#include "core/vfs.h"
#include "stores/block/memory/memory_block_store.h"
#include "stores/metadata/memory/memory_metadata_store.h"

namespace dittofs::core {
namespace {

constexpr int kFiles = 2000;

Caller User(uint32_t uid, uint32_t gid) {
  Caller c;
  c.uid = uid;
  c.gid = gid;
  return c;
}

// A share with one directory, "d", holding kFiles files made by uid 1000.
struct Share {
  std::unique_ptr<stores::MetadataStore> metadata = stores::NewMemoryMetadataStore();
  std::unique_ptr<stores::BlockStore> blocks = stores::NewMemoryBlockStore();
  std::unique_ptr<Vfs> vfs;
  FileId dir;
  Caller caller = User(1000, 1000);
  int next = 0;

  explicit Share(bool with_acl) {
    vfs = std::move(
        Vfs::Open(1, "/bench", *metadata, *blocks, ShareOptions{.squash = Squash::kNone}).value());
    Wcc w;
    Caller root = User(0, 0);
    dir = vfs->Mkdir(root, vfs->root(), "d", SetAttrs().set_mode(0777), &w)->id;
    if (with_acl) {
      const uint32_t inherit = kAceFileInherit | kAceDirectoryInherit;
      const uint32_t rwx = kAceReadData | kAceWriteData | kAceAppendData | kAceExecute;
      Acl acl;
      for (uint32_t i = 0; i < 17; ++i) {  // other users and groups first
        acl.aces.push_back(
            Ace{AceType::kAllow, inherit, rwx, i % 2 ? AceWho::kUser : AceWho::kGroupId, 2000 + i});
      }
      acl.aces.push_back(Ace{AceType::kDeny, inherit, kAceWriteAcl, AceWho::kGroup, 0});
      acl.aces.push_back(Ace{AceType::kAllow, inherit, kAceAllAccess, AceWho::kOwner, 0});
      acl.aces.push_back(Ace{AceType::kAllow, inherit,
                             rwx | kAceDeleteChild | kAceReadAcl | kAceWriteAttributes,
                             AceWho::kUser, 1000});
      if (!vfs->SetAcl(root, dir, acl).ok()) std::abort();
    }
    for (int i = 0; i < kFiles; ++i) Create();
  }
  FileId Create() {
    Wcc w;
    Result<Attr> a = vfs->Create(caller, dir, "f" + std::to_string(next++), CreateMode::kGuarded,
                                 SetAttrs().set_mode(0644), 0, &w);
    if (!a.ok()) std::abort();
    return a->id;
  }
};

void BM_Create(benchmark::State& state) {
  Share share(state.range(0) != 0);
  for (auto _ : state) benchmark::DoNotOptimize(share.Create());
  state.SetItemsProcessed(state.iterations());
}

void BM_Stat(benchmark::State& state) {
  Share share(state.range(0) != 0);
  int i = 0;
  for (auto _ : state) {
    Result<Attr> a =
        share.vfs->Lookup(share.caller, share.dir, "f" + std::to_string(i++ % kFiles), nullptr);
    if (!a.ok()) state.SkipWithError("lookup failed");
    benchmark::DoNotOptimize(share.vfs->GetAttr(share.caller, a->id));
  }
  state.SetItemsProcessed(state.iterations());
}

void BM_OpenClose(benchmark::State& state) {
  Share share(state.range(0) != 0);
  std::vector<FileId> files;
  for (int i = 0; i < 100; ++i) files.push_back(share.Create());
  int i = 0;
  for (auto _ : state) {
    Result<OpenTable::OpenId> id = share.vfs->OpenFile(
        share.caller, files[i++ % files.size()], kReadData | kWriteData, kShareRead | kShareWrite);
    if (!id.ok()) state.SkipWithError("open failed");
    benchmark::DoNotOptimize(share.vfs->CloseFile(*id));
  }
  state.SetItemsProcessed(state.iterations());
}

BENCHMARK(BM_Create)->Arg(0)->Arg(1);
BENCHMARK(BM_Stat)->Arg(0)->Arg(1);
BENCHMARK(BM_OpenClose)->Arg(0)->Arg(1);

}  // namespace
}  // namespace dittofs::core

BENCHMARK_MAIN();

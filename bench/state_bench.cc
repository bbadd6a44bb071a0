// SPDX-License-Identifier: Apache-2.0
// Open/close and lock/unlock rates of the state manager (core/state) with 1 to 64 threads:
// each thread on files of its own (the common case), or all threads on one file.
//
//   build/release/bin/state_bench --benchmark_counters_tabular=true
#include <benchmark/benchmark.h>

#include "core/state/lock_table.h"
#include "core/state/open_table.h"

namespace dittofs::core {
namespace {

OpenTable* opens = new OpenTable();  // shared by every thread of a benchmark; never freed
LockTable* locks = new LockTable();

void BM_OpenClose(benchmark::State& state) {
  const bool one_file = state.range(0) != 0;
  uint64_t file = one_file ? 1 : 1000 + static_cast<uint64_t>(state.thread_index()) * 1000;
  uint64_t n = 0;
  for (auto _ : state) {
    uint64_t f = one_file ? file : file + (n++ % 1000);
    Result<OpenTable::OpenId> id = opens->Open({f, kReadData | kWriteData, kShareAll});
    if (!id.ok()) state.SkipWithError("open failed");
    benchmark::DoNotOptimize(opens->Close(*id));
  }
  state.SetItemsProcessed(state.iterations());
}

void BM_LockUnlock(benchmark::State& state) {
  const bool one_file = state.range(0) != 0;
  const auto owner = LockOwner{static_cast<uint64_t>(state.thread_index()) + 1, LockFlavor::kPosix};
  uint64_t file = one_file ? 1 : 1000 + static_cast<uint64_t>(state.thread_index()) * 1000;
  // On one file, each thread locks a range of its own.
  uint64_t offset = one_file ? static_cast<uint64_t>(state.thread_index()) * 4096 : 0;
  uint64_t n = 0;
  for (auto _ : state) {
    uint64_t f = one_file ? file : file + (n++ % 1000);
    LockRequest r{f, owner, offset, 4096, true};
    if (!locks->Lock(r).ok()) state.SkipWithError("lock failed");
    benchmark::DoNotOptimize(locks->Unlock(r));
  }
  state.SetItemsProcessed(state.iterations());
}

BENCHMARK(BM_OpenClose)->ArgName("one_file")->Arg(0)->Arg(1)->ThreadRange(1, 64)->UseRealTime();
BENCHMARK(BM_LockUnlock)->ArgName("one_file")->Arg(0)->Arg(1)->ThreadRange(1, 64)->UseRealTime();

}  // namespace
}  // namespace dittofs::core

BENCHMARK_MAIN();

// SPDX-License-Identifier: Apache-2.0
//
// chunk_bench: single-thread throughput of BLAKE3 (dispatched SIMD and portable paths), of the
// one-block keyed MACs of file handles, and of FastCDC with the storage format's default
// params. See README.md.
#include <benchmark/benchmark.h>

#include <cstring>
#include <random>
#include <vector>

#include "chunk/blake3.h"
#include "chunk/fastcdc.h"

namespace dittofs::chunk {
namespace {

std::vector<std::byte> RandomBytes(size_t len) {
  std::mt19937_64 rng(12345);
  std::vector<std::byte> data(len);
  for (size_t i = 0; i < len; i += 8) {
    uint64_t v = rng();
    std::memcpy(data.data() + i, &v, std::min<size_t>(8, len - i));
  }
  return data;
}

void BM_Blake3(benchmark::State& state, bool portable) {
  std::vector<std::byte> data = RandomBytes(size_t(state.range(0)));
  for (auto _ : state) {
    Blake3Hasher hasher;
    if (portable) hasher.ForcePortable();
    hasher.Update(data);
    benchmark::DoNotOptimize(hasher.Finalize());
  }
  state.SetBytesProcessed(int64_t(state.iterations()) * state.range(0));
}

void BM_Blake3Dispatched(benchmark::State& state) { BM_Blake3(state, false); }
void BM_Blake3Portable(benchmark::State& state) { BM_Blake3(state, true); }
BENCHMARK(BM_Blake3Dispatched)->Arg(1 << 10)->Arg(64 << 10)->Arg(1 << 20)->Arg(16 << 20);
BENCHMARK(BM_Blake3Portable)->Arg(1 << 10)->Arg(64 << 10)->Arg(1 << 20)->Arg(16 << 20);

// The file handle MAC: keyed BLAKE3 of a 20-byte body, one at a time or 32 per call (as
// READDIRPLUS issues them). Items are MACs.
void BM_KeyedShort(benchmark::State& state) {
  Blake3Hasher::Key key{};
  std::vector<std::byte> body = RandomBytes(20);
  for (auto _ : state) benchmark::DoNotOptimize(Blake3KeyedShort(key, body));
  state.SetItemsProcessed(int64_t(state.iterations()));
}
BENCHMARK(BM_KeyedShort);

void BM_KeyedShortMany(benchmark::State& state) {
  Blake3Hasher::Key key{};
  std::vector<std::byte> bodies = RandomBytes(20 * 32);
  std::vector<ByteView> inputs;
  for (size_t i = 0; i < 32; ++i) inputs.push_back(ByteView(bodies.data() + 20 * i, 20));
  std::vector<Blake3Hash> out(32);
  for (auto _ : state) {
    Blake3KeyedShortMany(key, inputs, out.data());
    benchmark::DoNotOptimize(out.data());
  }
  state.SetItemsProcessed(int64_t(state.iterations()) * 32);
}
BENCHMARK(BM_KeyedShortMany);

void BM_FastCdcDefaults(benchmark::State& state) {
  std::vector<std::byte> data = RandomBytes(64 << 20);
  FastCdc cdc{FastCdcParams{}};
  size_t chunks = 0;
  for (auto _ : state) {
    std::vector<size_t> lengths = cdc.Cut(data);
    chunks = lengths.size();
    benchmark::DoNotOptimize(lengths.data());
  }
  state.SetBytesProcessed(int64_t(state.iterations()) * int64_t(data.size()));
  state.counters["chunks"] = double(chunks);
}
BENCHMARK(BM_FastCdcDefaults)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace dittofs::chunk

BENCHMARK_MAIN();

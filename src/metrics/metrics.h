// SPDX-License-Identifier: Apache-2.0
#pragma once

// Prometheus metrics: counters and latency histograms that the data paths update without a
// lock (each is registered once, when its part starts, and then only touched through its
// pointer), collectors that read the numbers parts keep anyway (a store's stats, open counts)
// at scrape time, and the text exposition format 0.0.4 they are rendered in.

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/mutex.h"

namespace dittofs::metrics {

// Label names and values, in the order rendered.
using Labels = std::vector<std::pair<std::string, std::string>>;

class Counter {
 public:
  void Inc(uint64_t n = 1) { value_.fetch_add(n, std::memory_order_relaxed); }
  uint64_t value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<uint64_t> value_{0};
};

// Latencies, in seconds: 100 µs to 10 s.
inline constexpr std::array<double, 15> kLatencyBuckets = {
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10};

class Histogram {
 public:
  void Observe(std::chrono::nanoseconds d);
  // Cumulative counts per bucket of kLatencyBuckets, then the count of all; the sum in seconds.
  std::array<uint64_t, kLatencyBuckets.size() + 1> Cumulative() const;
  double sum_seconds() const;

 private:
  std::array<std::atomic<uint64_t>, kLatencyBuckets.size() + 1> counts_{};  // last: above all
  std::atomic<uint64_t> sum_ns_{0};
};

// Where a collector writes what it read: each family's header once, then its samples.
class Exposition {
 public:
  // `type`: "counter" or "gauge".
  void Family(std::string_view name, std::string_view type, std::string_view help);
  void Sample(std::string_view name, const Labels& labels, double value);
  std::string Take() { return std::move(out_); }

 private:
  std::string out_;
  std::vector<std::string> families_;
};
using Collector = std::function<void(Exposition&)>;

// The metrics of one process. Thread-safe; registration takes a lock, updates do not.
class Registry {
 public:
  // The counter (histogram) `name` with `labels`, made at the first call and the same object
  // after; lives as long as the registry. `help` is the family's first one.
  Counter* GetCounter(const std::string& name, const std::string& help, const Labels& labels);
  Histogram* GetHistogram(const std::string& name, const std::string& help, const Labels& labels);
  // Runs at every scrape, after the registered metrics; returns a handle for RemoveCollector.
  // Collectors run one scrape at a time, without the registration lock (they may take their
  // parts' locks); RemoveCollector waits for a scrape running it to finish.
  uint64_t AddCollector(Collector collector);
  void RemoveCollector(uint64_t handle);

  // Everything, in the text exposition format.
  std::string Render() const;

 private:
  std::string RenderRegistered() const;
  struct Family {
    std::string help;
    bool histogram = false;
    std::map<Labels, std::unique_ptr<Counter>> counters;
    std::map<Labels, std::unique_ptr<Histogram>> histograms;
  };
  mutable Mutex mu_;
  std::map<std::string, Family> families_ GUARDED_BY(mu_);
  mutable Mutex collectors_mu_;
  std::map<uint64_t, Collector> collectors_ GUARDED_BY(collectors_mu_);
  uint64_t next_collector_ GUARDED_BY(collectors_mu_) = 1;
};

// The counters of one family that differ in a code (a protocol's status) beside fixed labels:
// the code's label is `code_label` = name_of(code). Each is made in the registry at its code's
// first count (under the registry's lock) and found without a lock after, for the first
// kFastCodes codes; a rare further one takes the registry's lock at each count.
class CodeCounters {
 public:
  using NameOf = std::function<std::string(uint32_t code)>;
  CodeCounters(Registry& registry, std::string name, std::string help, Labels labels,
               std::string code_label, NameOf name_of);
  void Inc(uint32_t code);

  static constexpr size_t kFastCodes = 32;

 private:
  Counter* Make(uint32_t code);
  Registry& registry_;
  const std::string name_, help_;
  const Labels labels_;
  const std::string code_label_;
  const NameOf name_of_;
  // Open addressing by code: a slot's key is the code with bit 32 set (0: empty); its counter
  // is published after the key, so a reader that sees the key first makes do with Make.
  struct Slot {
    std::atomic<uint64_t> key{0};
    std::atomic<Counter*> counter{nullptr};
  };
  std::array<Slot, kFastCodes> slots_;
};

// The process's registry.
Registry& Default();

// `labels` as rendered: {a="x",b="y"} (empty for none), values escaped.
std::string RenderLabels(const Labels& labels);

}  // namespace dittofs::metrics

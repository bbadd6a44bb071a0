// SPDX-License-Identifier: Apache-2.0
#include "metrics/metrics.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

namespace dittofs::metrics {

namespace {

// A number as Prometheus reads it: integers without a fraction.
std::string Number(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  if (v == std::floor(v) && std::fabs(v) < 1e15) return fmt::format("{}", static_cast<int64_t>(v));
  return fmt::format("{}", v);
}

std::string WithLabel(const Labels& labels, std::string name, std::string value) {
  Labels all = labels;
  all.emplace_back(std::move(name), std::move(value));
  return RenderLabels(all);
}

}  // namespace

void Histogram::Observe(std::chrono::nanoseconds d) {
  const double seconds = std::chrono::duration<double>(d).count();
  size_t i = std::lower_bound(kLatencyBuckets.begin(), kLatencyBuckets.end(), seconds) -
             kLatencyBuckets.begin();
  counts_[i].fetch_add(1, std::memory_order_relaxed);
  sum_ns_.fetch_add(static_cast<uint64_t>(std::max<int64_t>(d.count(), 0)),
                    std::memory_order_relaxed);
}

std::array<uint64_t, kLatencyBuckets.size() + 1> Histogram::Cumulative() const {
  std::array<uint64_t, kLatencyBuckets.size() + 1> out{};
  uint64_t total = 0;
  for (size_t i = 0; i < counts_.size(); ++i) {
    total += counts_[i].load(std::memory_order_relaxed);
    out[i] = total;
  }
  return out;
}

double Histogram::sum_seconds() const {
  return static_cast<double>(sum_ns_.load(std::memory_order_relaxed)) / 1e9;
}

std::string RenderLabels(const Labels& labels) {
  if (labels.empty()) return "";
  std::string out = "{";
  for (size_t i = 0; i < labels.size(); ++i) {
    if (i > 0) out += ',';
    out += labels[i].first;
    out += "=\"";
    for (char c : labels[i].second) {
      if (c == '\\') {
        out += "\\\\";
      } else if (c == '"') {
        out += "\\\"";
      } else if (c == '\n') {
        out += "\\n";
      } else {
        out += c;
      }
    }
    out += '"';
  }
  out += '}';
  return out;
}

void Exposition::Family(std::string_view name, std::string_view type, std::string_view help) {
  if (std::find(families_.begin(), families_.end(), name) != families_.end()) return;
  families_.emplace_back(name);
  out_ += fmt::format("# HELP {} {}\n# TYPE {} {}\n", name, help, name, type);
}

void Exposition::Sample(std::string_view name, const Labels& labels, double value) {
  out_ += fmt::format("{}{} {}\n", name, RenderLabels(labels), Number(value));
}

Counter* Registry::GetCounter(const std::string& name, const std::string& help,
                              const Labels& labels) {
  MutexLock lock(&mu_);
  Family& f = families_[name];
  if (f.help.empty()) f.help = help;
  std::unique_ptr<Counter>& c = f.counters[labels];
  if (!c) c = std::make_unique<Counter>();
  return c.get();
}

CodeCounters::CodeCounters(Registry& registry, std::string name, std::string help, Labels labels,
                           std::string code_label, NameOf name_of)
    : registry_(registry),
      name_(std::move(name)),
      help_(std::move(help)),
      labels_(std::move(labels)),
      code_label_(std::move(code_label)),
      name_of_(std::move(name_of)) {}

Counter* CodeCounters::Make(uint32_t code) {
  Labels labels = labels_;
  labels.emplace_back(code_label_, name_of_(code));
  return registry_.GetCounter(name_, help_, labels);
}

void CodeCounters::Inc(uint32_t code) {
  const uint64_t key = (uint64_t{1} << 32) | code;
  size_t i = (code * 2654435761u) % kFastCodes;
  for (size_t probes = 0; probes < kFastCodes; ++probes, i = (i + 1) % kFastCodes) {
    Slot& slot = slots_[i];
    uint64_t seen = slot.key.load(std::memory_order_acquire);
    if (seen == 0) {
      Counter* c = Make(code);
      if (slot.key.compare_exchange_strong(seen, key, std::memory_order_acq_rel)) {
        slot.counter.store(c, std::memory_order_release);
        c->Inc();
        return;
      }
      // Another thread took the slot meanwhile: `seen` is its key.
    }
    if (seen == key) {
      Counter* c = slot.counter.load(std::memory_order_acquire);
      (c != nullptr ? c : Make(code))->Inc();
      return;
    }
  }
  Make(code)->Inc();  // more codes than slots
}

Histogram* Registry::GetHistogram(const std::string& name, const std::string& help,
                                  const Labels& labels) {
  MutexLock lock(&mu_);
  Family& f = families_[name];
  if (f.help.empty()) f.help = help;
  f.histogram = true;
  std::unique_ptr<Histogram>& h = f.histograms[labels];
  if (!h) h = std::make_unique<Histogram>();
  return h.get();
}

uint64_t Registry::AddCollector(Collector collector) {
  MutexLock lock(&collectors_mu_);
  uint64_t handle = next_collector_++;
  collectors_.emplace(handle, std::move(collector));
  return handle;
}

void Registry::RemoveCollector(uint64_t handle) {
  MutexLock lock(&collectors_mu_);
  collectors_.erase(handle);
}

std::string Registry::Render() const {
  std::string out = RenderRegistered();
  Exposition e;
  MutexLock lock(&collectors_mu_);
  for (const auto& [handle, collect] : collectors_) collect(e);
  return out + e.Take();
}

std::string Registry::RenderRegistered() const {
  MutexLock lock(&mu_);
  std::string out;
  for (const auto& [name, f] : families_) {
    if (f.histogram) {
      out += fmt::format("# HELP {} {}\n# TYPE {} histogram\n", name, f.help, name);
      for (const auto& [labels, h] : f.histograms) {
        auto cumulative = h->Cumulative();
        for (size_t i = 0; i < kLatencyBuckets.size(); ++i) {
          out += fmt::format("{}_bucket{} {}\n", name,
                             WithLabel(labels, "le", Number(kLatencyBuckets[i])), cumulative[i]);
        }
        out += fmt::format("{}_bucket{} {}\n", name, WithLabel(labels, "le", "+Inf"),
                           cumulative.back());
        out += fmt::format("{}_sum{} {}\n", name, RenderLabels(labels), h->sum_seconds());
        out += fmt::format("{}_count{} {}\n", name, RenderLabels(labels), cumulative.back());
      }
      continue;
    }
    out += fmt::format("# HELP {} {}\n# TYPE {} counter\n", name, f.help, name);
    for (const auto& [labels, c] : f.counters) {
      out += fmt::format("{}{} {}\n", name, RenderLabels(labels), c->value());
    }
  }
  return out;
}

Registry& Default() {
  static Registry* registry = new Registry();
  return *registry;
}

}  // namespace dittofs::metrics

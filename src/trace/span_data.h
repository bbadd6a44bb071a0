// SPDX-License-Identifier: Apache-2.0
#pragma once

// What a recording span keeps, shared by the spans (trace.cc), the exporter (exporter.cc) and
// the OTLP encoding (otlp_json.cc). Not part of the library's interface.

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <variant>
#include <vector>

#include "trace/trace.h"

namespace dittofs::trace::internal {

struct ThreadSpans;  // trace.cc

struct Attribute {
  std::string key;
  std::variant<std::string, int64_t, bool> value;
};

// At most this many attributes per span (OpenTelemetry's default limit).
inline constexpr size_t kMaxAttributes = 128;

struct SpanData {
  TraceContext context;  // sampled: every recording span is
  std::array<uint8_t, 8> parent_span_id{};
  bool has_parent = false;
  std::string name;
  SpanKind kind = SpanKind::kInternal;
  int64_t start_unix_nanos = 0;
  int64_t end_unix_nanos = 0;
  int64_t start_monotonic_nanos = 0;  // the duration is measured on the monotonic clock
  std::vector<Attribute> attributes;
  uint32_t dropped_attributes = 0;
  bool error = false;
  std::string status_message;

  // Where the span is on its thread's stack of current contexts (trace.cc): the thread's
  // record and the entry's token there, so End can take the entry off, from any thread.
  std::shared_ptr<ThreadSpans> home;
  uint64_t token = 0;
};

using SpanPtr = std::unique_ptr<SpanData, SpanDataDeleter>;

// Whether spans may start (read relaxed: Span::Root's no-op path is that one load).
// Written by StartTracing and StopTracing (exporter.cc).
// Appends `n` bytes as lowercase hex (trace.cc).
void AppendHex(const uint8_t* bytes, size_t n, std::string& out);

extern std::atomic<bool> tracing_enabled;
// The sampling ratio as a threshold on a uniform 64-bit draw: sampled when draw < threshold,
// all when it is UINT64_MAX, none when 0.
extern std::atomic<uint64_t> sampling_threshold;
// Queues a finished span for export: never blocks on the exporter (drops and counts the span
// when the queue is full; discards it when tracing is stopped).
void Enqueue(SpanPtr span);

}  // namespace dittofs::trace::internal

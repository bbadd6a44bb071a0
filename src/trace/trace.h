// SPDX-License-Identifier: Apache-2.0
#pragma once

// OpenTelemetry tracing: spans of a request's work, sampled at its root, exported in batches
// by a background thread over OTLP/HTTP with the JSON encoding ([tracing](docs/tracing.md)).
// Request paths only make spans; when tracing is off or a trace is not sampled every call on
// a span is a no-op that costs a load or two and allocates nothing.

#include <array>
#include <chrono>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/status.h"

namespace dittofs::trace {

// Where a span sits in its trace: the W3C Trace Context of a span (the parent of the spans
// made under it). A valid context has non-zero ids.
struct TraceContext {
  std::array<uint8_t, 16> trace_id{};
  std::array<uint8_t, 8> span_id{};
  bool sampled = false;
};

// A `traceparent` header's value (W3C Trace Context §3.2): "00-<32 hex>-<16 hex>-<2 hex>",
// lowercase hex, neither id all zeros. A version above 00 (but not ff) is read as 00 is,
// provided whatever follows the flags starts with '-'. Anything else is nullopt: the request
// then starts a trace of its own.
std::optional<TraceContext> ParseTraceparent(std::string_view header);
// "00-<trace id>-<span id>-01" (or -00 when not sampled).
std::string FormatTraceparent(const TraceContext& context);

// OTLP's Span.SpanKind numbers.
enum class SpanKind { kInternal = 1, kServer = 2, kClient = 3 };

struct TracingOptions {
  bool enabled = false;
  // The full URL the exporter POSTs to, e.g. "http://127.0.0.1:4318/v1/traces".
  std::string endpoint;
  // 0..1: the share of new traces recorded (roots with no remote parent). A remote parent's
  // own decision (its sampled flag) is followed whatever the ratio.
  double sampling_ratio = 0.01;
  std::string service_name = "dittofs";
  // Extra HTTP headers sent with every export (authentication): name, value.
  std::vector<std::pair<std::string, std::string>> headers;
  // Finished spans waiting for export; spans that find the queue full are dropped (counted).
  size_t max_queue = 8192;
  // Waiting spans are exported at least this often, and as soon as max_batch of them wait.
  int batch_delay_ms = 1000;
  size_t max_batch = 512;
  // An export the collector may take later (no connection or no answer, or HTTP 429, 502, 503
  // or 504: the OTLP/HTTP spec's retryable answers) is sent again, up to this many attempts in
  // all, after waits that double from retry_initial_ms, or as the answer's Retry-After says (at
  // most 30 s). Meanwhile new spans queue (and past max_queue, drop). 1: never again.
  int export_attempts = 4;
  int retry_initial_ms = 500;
};

// Starts the process-wide tracer and its exporter thread, or applies new options to the
// running one (no span is lost). `enabled == false` stops it. kInvalid for an endpoint that
// is not an http(s) URL, a ratio outside 0..1, a header that is not a valid header, or a
// queue, batch or delay that is not positive. Thread-safe, as are all the functions below.
Status StartTracing(const TracingOptions& options);
// Exports what is queued (waiting up to 5 s for the collector) and stops the exporter; spans
// started later are no-ops, and spans that end later are discarded.
void StopTracing();
// Exports every span queued before the call and waits up to `timeout` for that to finish:
// kTimedOut if it did not, kUnavailable if an export in the meantime failed. Ok when tracing
// is off. For tests and shutdown.
Status FlushTracing(std::chrono::milliseconds timeout);

// Since the process started (counters survive restarts of the tracer).
struct TracingStats {
  uint64_t exported = 0;        // spans the collector accepted
  uint64_t dropped = 0;         // spans lost: the queue was full, their export failed, or
                                // StopTracing gave up on them
  uint64_t export_errors = 0;   // exports that failed (transport error or non-2xx), retries spent
  uint64_t export_retries = 0;  // export requests sent again after a retryable failure
  uint64_t rejected = 0;        // spans the collector refused in a partial success (also dropped)
};
TracingStats GetTracingStats();

namespace internal {
struct SpanData;
struct SpanDataDeleter {
  void operator()(SpanData* data) const;
};
}  // namespace internal

// A span: one piece of work, timed from its construction to End() (or its destruction), when
// it is queued for export. A recording span is the current span of the thread that started it
// until it ends, so that Child() spans made on that thread meanwhile nest under it: under the
// innermost span still running there, whatever order spans end in and whichever thread ends
// them (moving a span, even to another thread, changes nothing of that). To continue a trace
// on another thread, hand it CurrentContext() and open a ContextScope there.
//
// Move-only. A span is used by one thread at a time. Spans that do not record (tracing off,
// trace not sampled, default-constructed, moved-from, ended) ignore every call.
class Span {
 public:
  // The root span of a request. With `remote_parent` (a valid context, from a REST request's
  // `traceparent`), a child of that remote span, recording when the parent is sampled;
  // without it (or with an invalid one), the root of a new trace, recorded by the sampling
  // ratio. `remote_parent` may be null.
  [[nodiscard]] static Span Root(std::string_view name, SpanKind kind = SpanKind::kServer,
                                 const TraceContext* remote_parent = nullptr);
  // A child of the thread's current span (or of the context a ContextScope made current); a
  // no-op span when there is none.
  [[nodiscard]] static Span Child(std::string_view name, SpanKind kind = SpanKind::kInternal);

  Span() = default;
  Span(Span&& other) noexcept = default;
  Span& operator=(Span&& other) noexcept;
  ~Span() {
    if (data_) End();
  }

  // Whether calls on this span are kept. Check it before computing costly attribute values.
  bool recording() const { return data_ != nullptr; }

  // Attributes (OTLP string, int and bool values); setting a key again replaces its value.
  // Up to 128 per span; later keys are counted, not kept.
  void SetAttribute(std::string_view key, std::string_view value) {
    if (data_) SetString(key, value);
  }
  void SetAttribute(std::string_view key, const char* value) {
    if (data_) SetString(key, value);
  }
  void SetAttribute(std::string_view key, int64_t value) {
    if (data_) SetInt(key, value);
  }
  // Any other integer (an unsigned value above INT64_MAX wraps). A bool or an int64_t takes
  // its own overload.
  void SetAttribute(std::string_view key, std::integral auto value) {
    if (data_) SetInt(key, static_cast<int64_t>(value));
  }
  void SetAttribute(std::string_view key, bool value) {
    if (data_) SetBool(key, value);
  }
  // Marks the span failed (OTLP status ERROR) with `message`.
  void SetError(std::string_view message);
  // Ends the span now and queues it for export; later calls on it are ignored.
  void End();

  // This span's context (to propagate it, e.g. as a traceparent); empty when not recording.
  TraceContext context() const;

 private:
  explicit Span(std::unique_ptr<internal::SpanData, internal::SpanDataDeleter> data)
      : data_(std::move(data)) {}
  void SetString(std::string_view key, std::string_view value);
  void SetInt(std::string_view key, int64_t value);
  void SetBool(std::string_view key, bool value);

  std::unique_ptr<internal::SpanData, internal::SpanDataDeleter> data_;  // null: no-op
};

// The context of the thread's current recording span (or ContextScope), to hand to another
// thread; nullopt when there is none.
std::optional<TraceContext> CurrentContext();

// Makes `context` the calling thread's current context for the scope's life, so that Child()
// spans made on this thread nest under it (work handed to another thread keeps its trace).
// Does nothing for nullopt or an unsampled context. Restores what was current at its end.
class ContextScope {
 public:
  explicit ContextScope(const std::optional<TraceContext>& context);
  ~ContextScope();
  ContextScope(const ContextScope&) = delete;
  ContextScope& operator=(const ContextScope&) = delete;

 private:
  uint64_t token_ = 0;  // its entry on the thread's stack of contexts; 0: none
};

}  // namespace dittofs::trace

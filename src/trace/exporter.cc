// SPDX-License-Identifier: Apache-2.0
// The process-wide tracer's exporter: the queue finished spans wait in, and the thread that
// POSTs them in batches to the collector (OTLP/HTTP, JSON encoding) over libcurl.

#include <curl/curl.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <charconv>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <ctime>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "base/check.h"
#include "base/clock.h"
#include "base/log.h"
#include "base/mutex.h"
#include "base/thread_pool.h"
#include "trace/otlp_json.h"
#include "trace/span_data.h"
#include "trace/trace.h"

namespace dittofs::trace {

namespace internal {
constinit std::atomic<bool> tracing_enabled{false};
constinit std::atomic<uint64_t> sampling_threshold{0};
}  // namespace internal

namespace {

using internal::SpanPtr;

constexpr int64_t kNanosPerMs = 1'000'000;
constexpr std::chrono::seconds kStopWait{5};
constexpr long kExportTimeoutMs = 10'000;
// The longest wait before a retry, whatever the collector's Retry-After says.
constexpr std::chrono::milliseconds kMaxRetryWait{30'000};
constexpr int64_t kLogIntervalNanos = 60'000 * kNanosPerMs;

// A Retry-After header's value (RFC 9110 10.2.3): a number of seconds, or an HTTP date
// (taken as the time from now until then, nothing when it is past). nullopt when unreadable.
std::optional<std::chrono::milliseconds> ParseRetryAfter(std::string_view value) {
  while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) value.remove_prefix(1);
  while (!value.empty() && (value.back() == ' ' || value.back() == '\t')) value.remove_suffix(1);
  if (value.empty()) return std::nullopt;
  uint64_t seconds = 0;
  const char* end = value.data() + value.size();
  if (auto [ptr, ec] = std::from_chars(value.data(), end, seconds);
      ec == std::errc() && ptr == end) {
    return std::chrono::milliseconds(std::min<uint64_t>(seconds, 86'400) * 1000);
  }
  const time_t when = curl_getdate(std::string(value).c_str(), nullptr);
  if (when == -1) return std::nullopt;
  const time_t now = std::time(nullptr);
  return std::chrono::milliseconds(when > now ? std::min<int64_t>(when - now, 86'400) * 1000 : 0);
}

uint64_t ThresholdOf(double ratio) {
  if (ratio <= 0) return 0;
  if (ratio >= 1) return UINT64_MAX;
  const double scaled = std::ldexp(ratio, 64);  // ratio * 2^64
  return scaled >= std::ldexp(1.0, 64) ? UINT64_MAX : static_cast<uint64_t>(scaled);
}

// A header name is an RFC 9110 token; a value has no control characters but tab.
bool ValidHeader(const std::string& name, const std::string& value) {
  if (name.empty()) return false;
  for (char c : name) {
    const bool token = std::isalnum(static_cast<unsigned char>(c)) ||
                       std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
    if (!token) return false;
  }
  return std::none_of(value.begin(), value.end(), [](char c) {
    const auto u = static_cast<unsigned char>(c);
    return (u < 0x20 && u != '\t') || u == 0x7f;
  });
}

Status ValidateOptions(const TracingOptions& options) {
  if (!(options.sampling_ratio >= 0 && options.sampling_ratio <= 1)) {
    return Status(Errc::kInvalid, "tracing: sampling_ratio must be between 0 and 1");
  }
  if (options.max_queue == 0 || options.max_batch == 0 || options.batch_delay_ms <= 0) {
    return Status(Errc::kInvalid, "tracing: max_queue, max_batch and batch_delay_ms must be > 0");
  }
  if (options.export_attempts < 1 || options.retry_initial_ms < 0) {
    return Status(Errc::kInvalid,
                  "tracing: export_attempts must be > 0 and retry_initial_ms not negative");
  }
  for (const auto& [name, value] : options.headers) {
    if (!ValidHeader(name, value)) {
      return Status(Errc::kInvalid,
                    "tracing: header " + log::EscapeControls(name) + " is not a valid HTTP header");
    }
  }
  CURLU* url = curl_url();
  CHECK(url != nullptr) << "curl_url: out of memory";
  char* scheme = nullptr;
  char* host = nullptr;
  bool ok = curl_url_set(url, CURLUPART_URL, options.endpoint.c_str(), 0) == CURLUE_OK &&
            curl_url_get(url, CURLUPART_SCHEME, &scheme, 0) == CURLUE_OK &&
            curl_url_get(url, CURLUPART_HOST, &host, 0) == CURLUE_OK;
  ok = ok && (std::string_view(scheme) == "http" || std::string_view(scheme) == "https");
  curl_free(scheme);
  curl_free(host);
  curl_url_cleanup(url);
  if (!ok) {
    return Status(Errc::kInvalid, "tracing: endpoint " + log::EscapeControls(options.endpoint) +
                                      " is not an http(s) URL");
  }
  return Status::Ok();
}

size_t CollectBody(char* data, size_t size, size_t n, void* out) {
  auto* body = static_cast<std::string*>(out);
  const size_t bytes = size * n;
  body->append(data, std::min(bytes, size_t{512} - std::min(body->size(), size_t{512})));
  return bytes;  // the rest is read and ignored: only a log line shows it
}

struct CurlEasyDeleter {
  void operator()(CURL* h) const { curl_easy_cleanup(h); }
};
struct CurlListDeleter {
  void operator()(curl_slist* l) const { curl_slist_free_all(l); }
};

// What an export needs of the options, copied out of the lock for one batch.
struct ExportTarget {
  std::string endpoint;
  std::string service_name;
  std::vector<std::pair<std::string, std::string>> headers;
};

// Lets a kind of failure be logged at most once a minute.
class LogLimit {
 public:
  bool Allow() {
    const int64_t now = MonotonicNanos();
    if (last_ != 0 && now - last_ < kLogIntervalNanos) return false;
    last_ = now;
    return true;
  }

 private:
  int64_t last_ = 0;
};

// The process's tracer state. Spans call Enqueue from any thread; the exporter thread takes
// batches off the queue and POSTs them without the lock; Start, Stop and Flush are called by
// whoever configures the server. Never destroyed: spans may end on any thread up to exit.
class Tracer {
 public:
  Status Start(const TracingOptions& options);
  void Stop();
  Status Flush(std::chrono::milliseconds timeout);
  void Enqueue(SpanPtr span);
  TracingStats Stats() const;

 private:
  void Run();
  // Whether the exporter has something to do now (not just when the batch delay is up).
  bool UrgentLocked() const EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // POSTs one batch; kUnavailable, saying why, unless the collector accepted it.
  // What one export request came to.
  struct ExportOutcome {
    Status status;           // ok: the collector took the batch (maybe not all of it)
    bool retryable = false;  // a failure the OTLP/HTTP spec lets the client send again
    std::optional<std::chrono::milliseconds> retry_after;  // the answer's Retry-After
    uint64_t rejected = 0;                                 // spans a partial success refused
    std::string rejection;                                 // and why, as the collector said
  };
  ExportOutcome Export(CURL* curl, const std::vector<SpanPtr>& batch, const ExportTarget& target);
  // Waits `wait` before a retry; false (at once) when stopping, as there is no time to wait.
  bool WaitToRetry(std::chrono::milliseconds wait);
  static int AbortAfterDeadline(void* self, curl_off_t, curl_off_t, curl_off_t, curl_off_t);

  Mutex lifecycle_mu_;  // Start and Stop, one at a time; held while joining the exporter
  std::thread exporter_ GUARDED_BY(lifecycle_mu_);

  mutable Mutex mu_;
  std::condition_variable work_;        // the exporter may have something to do
  std::condition_variable batch_done_;  // a batch was handled (for Flush)
  TracingOptions options_ GUARDED_BY(mu_);
  bool running_ GUARDED_BY(mu_) = false;   // spans are taken into the queue
  bool stopping_ GUARDED_BY(mu_) = false;  // the exporter drains the queue and exits
  std::deque<SpanPtr> queue_ GUARDED_BY(mu_);
  // Spans counted as they enter the queue, leave it for an export, and are done with; a
  // Flush waits for `done_` to reach what had entered when it was called.
  uint64_t entered_ GUARDED_BY(mu_) = 0;
  uint64_t taken_ GUARDED_BY(mu_) = 0;
  uint64_t done_ GUARDED_BY(mu_) = 0;
  uint64_t flush_target_ GUARDED_BY(mu_) = 0;
  // When Stop gives up on the collector (monotonic ns; 0 while not stopping): read by the
  // exporter's transfer callback, to abort a POST in flight.
  std::atomic<int64_t> stop_deadline_{0};

  std::atomic<uint64_t> exported_{0};
  std::atomic<uint64_t> dropped_{0};
  std::atomic<uint64_t> export_errors_{0};
  std::atomic<uint64_t> export_retries_{0};
  std::atomic<uint64_t> rejected_{0};
};

Tracer& TheTracer() {
  static Tracer* tracer = new Tracer();
  return *tracer;
}

Status Tracer::Start(const TracingOptions& options) {
  if (!options.enabled) {
    Stop();
    return Status::Ok();
  }
  RETURN_IF_ERROR(ValidateOptions(options));
  static std::once_flag curl_initialized;
  std::call_once(curl_initialized, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });

  MutexLock lifecycle(&lifecycle_mu_);
  {
    MutexLock lock(&mu_);
    options_ = options;
    running_ = true;
  }
  work_.notify_all();  // a running exporter picks up the new delay and batch size
  if (!exporter_.joinable()) exporter_ = std::thread([this] { Run(); });
  internal::sampling_threshold.store(ThresholdOf(options.sampling_ratio),
                                     std::memory_order_relaxed);
  internal::tracing_enabled.store(true, std::memory_order_relaxed);
  LOG_INFO("tracing: exporting to {} (sampling {})", options.endpoint, options.sampling_ratio);
  return Status::Ok();
}

void Tracer::Stop() {
  MutexLock lifecycle(&lifecycle_mu_);
  if (!exporter_.joinable()) return;
  internal::tracing_enabled.store(false, std::memory_order_relaxed);
  {
    MutexLock lock(&mu_);
    stopping_ = true;
    stop_deadline_.store(MonotonicNanos() + std::chrono::nanoseconds(kStopWait).count());
  }
  work_.notify_all();
  exporter_.join();
  std::deque<SpanPtr> abandoned;
  {
    MutexLock lock(&mu_);
    running_ = false;
    stopping_ = false;
    abandoned.swap(queue_);
    done_ = entered_;
    taken_ = entered_;
  }
  stop_deadline_.store(0);
  batch_done_.notify_all();
  dropped_.fetch_add(abandoned.size(), std::memory_order_relaxed);
  if (!abandoned.empty()) {
    LOG_WARN("tracing: stopped with {} spans not exported", abandoned.size());
  }
}

Status Tracer::Flush(std::chrono::milliseconds timeout) {
  BlockingRegion blocking;  // waiting for the collector
  MutexLock lock(&mu_);
  if (!running_) return Status::Ok();
  const uint64_t target = entered_;
  const uint64_t errors_before = export_errors_.load();
  flush_target_ = std::max(flush_target_, target);
  work_.notify_all();
  std::unique_lock<std::mutex> wait(mu_.native(), std::adopt_lock);
  const bool done = batch_done_.wait_for(
      wait, timeout, [&]() NO_THREAD_SAFETY_ANALYSIS { return done_ >= target; });
  wait.release();  // `lock` still owns the mutex
  if (!done) return Status(Errc::kTimedOut, "tracing: flush did not finish in time");
  if (export_errors_.load() != errors_before) {
    return Status(Errc::kUnavailable, "tracing: exporting to the collector failed");
  }
  return Status::Ok();
}

void Tracer::Enqueue(SpanPtr span) {
  bool wake = false;
  {
    MutexLock lock(&mu_);
    if (!running_) return;  // stopped: the span is discarded (after the lock)
    if (queue_.size() >= options_.max_queue) {
      dropped_.fetch_add(1, std::memory_order_relaxed);
      return;
    }
    queue_.push_back(std::move(span));
    ++entered_;
    wake = queue_.size() == std::min(options_.max_batch, options_.max_queue);
  }
  if (wake) work_.notify_one();
}

TracingStats Tracer::Stats() const {
  return TracingStats{
      .exported = exported_.load(std::memory_order_relaxed),
      .dropped = dropped_.load(std::memory_order_relaxed),
      .export_errors = export_errors_.load(std::memory_order_relaxed),
      .export_retries = export_retries_.load(std::memory_order_relaxed),
      .rejected = rejected_.load(std::memory_order_relaxed),
  };
}

bool Tracer::UrgentLocked() const {
  return stopping_ || queue_.size() >= std::min(options_.max_batch, options_.max_queue) ||
         flush_target_ > taken_;
}

void Tracer::Run() {
  NameThisThread("dfs-trace");
  std::unique_ptr<CURL, CurlEasyDeleter> curl(curl_easy_init());
  CHECK(curl != nullptr) << "curl_easy_init failed";
  LogLimit failure_log;
  uint64_t failures_unlogged = 0;
  LogLimit drop_log;
  uint64_t dropped_logged = dropped_.load();

  MutexLock lock(&mu_);
  auto last_export = std::chrono::steady_clock::now();
  for (;;) {
    const auto deadline = last_export + std::chrono::milliseconds(options_.batch_delay_ms);
    if (!UrgentLocked() && std::chrono::steady_clock::now() < deadline) {
      std::unique_lock<std::mutex> wait(mu_.native(), std::adopt_lock);
      work_.wait_until(wait, deadline, [&]() NO_THREAD_SAFETY_ANALYSIS { return UrgentLocked(); });
      wait.release();  // `lock` still owns the mutex
      continue;        // the options may have changed; look again
    }
    last_export = std::chrono::steady_clock::now();
    if (stopping_ && (queue_.empty() || MonotonicNanos() > stop_deadline_.load())) break;
    if (queue_.empty()) continue;

    const size_t n = std::min(queue_.size(), options_.max_batch);
    std::vector<SpanPtr> batch;
    batch.reserve(n);
    for (size_t i = 0; i < n; ++i) {
      batch.push_back(std::move(queue_.front()));
      queue_.pop_front();
    }
    taken_ += n;
    const ExportTarget target{options_.endpoint, options_.service_name, options_.headers};
    const int attempts = options_.export_attempts;
    std::chrono::milliseconds backoff(options_.retry_initial_ms);

    mu_.Unlock();
    ExportOutcome outcome = Export(curl.get(), batch, target);
    for (int attempt = 1; !outcome.status.ok() && outcome.retryable && attempt < attempts;
         ++attempt) {
      if (!WaitToRetry(std::min(outcome.retry_after.value_or(backoff), kMaxRetryWait))) break;
      backoff = std::min(backoff * 2, kMaxRetryWait);
      export_retries_.fetch_add(1, std::memory_order_relaxed);
      outcome = Export(curl.get(), batch, target);
    }
    batch.clear();  // frees the spans outside the lock
    const Status& exported = outcome.status;
    if (exported.ok()) {
      const uint64_t rejected = std::min<uint64_t>(outcome.rejected, n);
      exported_.fetch_add(n - rejected, std::memory_order_relaxed);
      if (rejected > 0) {
        rejected_.fetch_add(rejected, std::memory_order_relaxed);
        dropped_.fetch_add(rejected, std::memory_order_relaxed);
        if (failure_log.Allow()) {
          LOG_WARN("tracing: the collector at {} refused {} of {} spans: {}", target.endpoint,
                   rejected, n, outcome.rejection);
        }
      }
    } else {
      export_errors_.fetch_add(1, std::memory_order_relaxed);
      dropped_.fetch_add(n, std::memory_order_relaxed);
      ++failures_unlogged;
      if (failure_log.Allow()) {
        if (failures_unlogged == 1) {
          LOG_WARN("{}", exported.message());
        } else {
          LOG_WARN("{} ({} failed exports since the last report)", exported.message(),
                   failures_unlogged);
        }
        failures_unlogged = 0;
      }
    }
    if (const uint64_t dropped = dropped_.load(); dropped != dropped_logged && drop_log.Allow()) {
      LOG_WARN("tracing: {} spans dropped since the last report (queue full or export failed)",
               dropped - dropped_logged);
      dropped_logged = dropped;
    }
    mu_.Lock();
    done_ += n;
    batch_done_.notify_all();
  }
}

Tracer::ExportOutcome Tracer::Export(CURL* curl, const std::vector<SpanPtr>& batch,
                                     const ExportTarget& target) {
  ExportOutcome outcome;
  const std::string body = internal::EncodeOtlpJson(batch, target.service_name);
  // No "Expect: 100-continue" (curl's default for larger bodies): it costs a round trip.
  curl_slist* headers = curl_slist_append(nullptr, "Content-Type: application/json");
  headers = curl_slist_append(headers, "Expect:");
  for (const auto& [name, value] : target.headers) {
    headers = curl_slist_append(headers, (name + ": " + value).c_str());
  }
  std::unique_ptr<curl_slist, CurlListDeleter> header_list(headers);
  std::string response;
  char error[CURL_ERROR_SIZE] = {};
  curl_easy_reset(curl);  // keeps the connection to the collector
  curl_easy_setopt(curl, CURLOPT_URL, target.endpoint.c_str());
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, error);
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, header_list.get());
  curl_easy_setopt(curl, CURLOPT_POST, 1L);
  curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body.data());
  curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body.size()));
  curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, kExportTimeoutMs);
  curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, kExportTimeoutMs);
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, CollectBody);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &response);
  curl_easy_setopt(curl, CURLOPT_NOPROGRESS, 0L);
  curl_easy_setopt(curl, CURLOPT_XFERINFOFUNCTION, AbortAfterDeadline);
  curl_easy_setopt(curl, CURLOPT_XFERINFODATA, this);
  const CURLcode code = curl_easy_perform(curl);
  if (code != CURLE_OK) {
    // No connection, or no answer in time: the collector may be back later. Not when the
    // transfer was aborted because the tracer is stopping.
    outcome.retryable = code != CURLE_ABORTED_BY_CALLBACK;
    outcome.status =
        Status(Errc::kUnavailable,
               fmt::format("tracing: export of {} spans to {} failed: {}", batch.size(),
                           target.endpoint, error[0] != '\0' ? error : curl_easy_strerror(code)));
    return outcome;
  }
  long status = 0;
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
  if (status < 200 || status > 299) {
    // OTLP/HTTP: 429, 502, 503 and 504 may be retried, after the Retry-After when there is one;
    // every other failure is final.
    outcome.retryable = status == 429 || status == 502 || status == 503 || status == 504;
    curl_header* retry_after = nullptr;
    if (outcome.retryable &&
        curl_easy_header(curl, "Retry-After", 0, CURLH_HEADER, -1, &retry_after) == CURLHE_OK) {
      outcome.retry_after = ParseRetryAfter(retry_after->value);
    }
    outcome.status = Status(Errc::kUnavailable,
                            fmt::format("tracing: export of {} spans to {} failed: HTTP {} {}",
                                        batch.size(), target.endpoint, status, response));
    return outcome;
  }
  // A partial success: the collector took the request but refused some spans (not to be sent
  // again: they would be refused again).
  outcome.rejected = internal::RejectedSpans(response, &outcome.rejection);
  return outcome;
}

bool Tracer::WaitToRetry(std::chrono::milliseconds wait) {
  const auto until = std::chrono::steady_clock::now() + wait;
  while (std::chrono::steady_clock::now() < until) {
    if (stop_deadline_.load() != 0) return false;
    std::this_thread::sleep_for(std::min<std::chrono::steady_clock::duration>(
        std::chrono::milliseconds(50), until - std::chrono::steady_clock::now()));
  }
  return stop_deadline_.load() == 0;
}

// CURLOPT_XFERINFOFUNCTION: called while a transfer runs (about once a second when idle);
// non-zero aborts it.
int Tracer::AbortAfterDeadline(void* self, curl_off_t, curl_off_t, curl_off_t, curl_off_t) {
  const int64_t deadline = static_cast<Tracer*>(self)->stop_deadline_.load();
  return deadline != 0 && MonotonicNanos() > deadline ? 1 : 0;
}

}  // namespace

namespace internal {

void Enqueue(SpanPtr span) { TheTracer().Enqueue(std::move(span)); }

}  // namespace internal

Status StartTracing(const TracingOptions& options) { return TheTracer().Start(options); }

void StopTracing() { TheTracer().Stop(); }

Status FlushTracing(std::chrono::milliseconds timeout) { return TheTracer().Flush(timeout); }

TracingStats GetTracingStats() { return TheTracer().Stats(); }

}  // namespace dittofs::trace

// SPDX-License-Identifier: Apache-2.0
#include "trace/trace.h"

#include <algorithm>
#include <atomic>
#include <iterator>
#include <memory>
#include <vector>

#include "base/clock.h"
#include "base/mutex.h"
#include "base/random.h"
#include "trace/span_data.h"

namespace dittofs::trace {

namespace internal {

// A thread's mailbox for the tokens of its spans that ended on other threads. Shared by the
// thread and every span it started: it outlives whichever of them ends last.
struct ThreadSpans {
  std::atomic<bool> has_posts{false};
  Mutex mu;
  std::vector<uint64_t> posts GUARDED_BY(mu);
};

void SpanDataDeleter::operator()(SpanData* data) const { std::default_delete<SpanData>()(data); }

}  // namespace internal

namespace {

using internal::SpanData;
using internal::SpanPtr;
using internal::ThreadSpans;

// Each thread keeps a stack of the contexts current on it: its recording spans and
// ContextScopes, innermost last, each entry named by a token. A span that ends takes its own
// entry off wherever it is, so spans that end out of order leave the stack right; a span that
// ends on another thread posts its token to its home thread, which takes the entry off at its
// next tracing call. `current_context` caches the top entry for the no-op paths: only sampled
// contexts are ever current, so `sampled == false` means none, and Span::Child's no-op path is
// one load of that flag (constant-initialized: no guard on access).
thread_local TraceContext current_context;

struct StackEntry {
  uint64_t token;
  TraceContext context;
};

class ContextStack {
 public:
  // Makes `context` current; returns its entry's token.
  uint64_t Push(const TraceContext& context) {
    TakePosted();
    const uint64_t token = ++last_token_;
    entries_.push_back(StackEntry{token, context});
    current_context = context;
    return token;
  }

  // Takes off the entry of `token`.
  void Remove(uint64_t token) {
    for (auto it = entries_.rbegin(); it != entries_.rend(); ++it) {
      if (it->token == token) {
        entries_.erase(std::next(it).base());
        break;
      }
    }
    TakePosted();
    current_context = entries_.empty() ? TraceContext() : entries_.back().context;
  }

  // Takes off the entries of spans that ended on other threads; then whether a context is
  // current.
  bool Refresh() {
    if (home_->has_posts.load(std::memory_order_acquire)) {
      TakePosted();
      current_context = entries_.empty() ? TraceContext() : entries_.back().context;
    }
    return current_context.sampled;
  }

  const std::shared_ptr<ThreadSpans>& home() const { return home_; }

 private:
  void TakePosted() {
    if (!home_->has_posts.load(std::memory_order_acquire)) return;
    std::vector<uint64_t> posted;
    {
      MutexLock lock(&home_->mu);
      posted.swap(home_->posts);
      home_->has_posts.store(false, std::memory_order_relaxed);
    }
    std::erase_if(entries_, [&](const StackEntry& entry) {
      return std::find(posted.begin(), posted.end(), entry.token) != posted.end();
    });
  }

  uint64_t last_token_ = 0;
  std::vector<StackEntry> entries_;
  std::shared_ptr<ThreadSpans> home_ = std::make_shared<ThreadSpans>();
};
// Made at a thread's first recording span or scope.
thread_local ContextStack context_stack;

// Takes span `data` off its thread's stack, from whichever thread it ends on.
void LeaveStack(SpanData& data) {
  if (data.home == context_stack.home()) {
    context_stack.Remove(data.token);
    return;
  }
  MutexLock lock(&data.home->mu);
  data.home->posts.push_back(data.token);
  data.home->has_posts.store(true, std::memory_order_release);
}

// Span ids and new trace ids come from SplitMix64 per thread, seeded from getrandom at the
// thread's first id: cheap, and ids of different threads and processes do not collide.
struct IdSource {
  uint64_t state = 0;
  bool seeded = false;

  uint64_t Next() {
    if (!seeded) {
      state = RandomU64();
      seeded = true;
    }
    uint64_t z = (state += 0x9e3779b97f4a7c15);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9;
    z = (z ^ (z >> 27)) * 0x94d049bb133111eb;
    return z ^ (z >> 31);
  }
};
thread_local IdSource ids;

void StoreU64(uint64_t v, uint8_t* out) {
  for (int i = 7; i >= 0; --i) {
    out[i] = static_cast<uint8_t>(v);
    v >>= 8;
  }
}

template <size_t N>
bool AllZero(const std::array<uint8_t, N>& id) {
  return std::all_of(id.begin(), id.end(), [](uint8_t b) { return b == 0; });
}

bool IsValid(const TraceContext& context) {
  return !AllZero(context.trace_id) && !AllZero(context.span_id);
}

std::array<uint8_t, 8> NewSpanId() {
  std::array<uint8_t, 8> id;
  do {
    StoreU64(ids.Next(), id.data());
  } while (AllZero(id));
  return id;
}

std::array<uint8_t, 16> NewTraceId() {
  std::array<uint8_t, 16> id;
  do {
    StoreU64(ids.Next(), id.data());
    StoreU64(ids.Next(), id.data() + 8);
  } while (AllZero(id));
  return id;
}

int64_t WallNanos() {
  const Timespec now = Now();
  return now.sec * 1'000'000'000 + now.nsec;
}

// A recording span of `trace_id`, made the thread's current span.
SpanPtr StartSpan(std::string_view name, SpanKind kind, const std::array<uint8_t, 16>& trace_id,
                  const std::array<uint8_t, 8>* parent_span_id) {
  SpanPtr data(std::make_unique<SpanData>().release());  // SpanDataDeleter deletes it
  data->context.trace_id = trace_id;
  data->context.span_id = NewSpanId();
  data->context.sampled = true;
  if (parent_span_id != nullptr) {
    data->parent_span_id = *parent_span_id;
    data->has_parent = true;
  }
  data->name = name;
  data->kind = kind;
  data->start_unix_nanos = WallNanos();
  data->start_monotonic_nanos = MonotonicNanos();
  data->home = context_stack.home();
  data->token = context_stack.Push(data->context);
  return data;
}

template <typename V>
void SetAttributeValue(SpanData& span, std::string_view key, V value) {
  for (internal::Attribute& attribute : span.attributes) {
    if (attribute.key == key) {
      attribute.value = std::move(value);
      return;
    }
  }
  if (span.attributes.size() >= internal::kMaxAttributes) {
    ++span.dropped_attributes;
    return;
  }
  span.attributes.push_back(internal::Attribute{std::string(key), std::move(value)});
}

// Lowercase hex digit value, or -1 (W3C Trace Context allows lowercase only).
int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

// Decodes 2 * out.size() lowercase hex digits.
template <size_t N>
bool DecodeHex(std::string_view hex, std::array<uint8_t, N>& out) {
  for (size_t i = 0; i < N; ++i) {
    int hi = HexValue(hex[2 * i]);
    int lo = HexValue(hex[2 * i + 1]);
    if (hi < 0 || lo < 0) return false;
    out[i] = static_cast<uint8_t>(hi << 4 | lo);
  }
  return true;
}

}  // namespace

namespace internal {
void AppendHex(const uint8_t* bytes, size_t n, std::string& out) {
  static constexpr char kDigits[] = "0123456789abcdef";
  for (size_t i = 0; i < n; ++i) {
    out.push_back(kDigits[bytes[i] >> 4]);
    out.push_back(kDigits[bytes[i] & 0xf]);
  }
}
}  // namespace internal

// W3C Trace Context §3.2.2 (version-format = trace-id "-" parent-id "-" trace-flags) and §3.2.4
// (versions above 00: parse as 00, provided the 00 fields are followed by '-' or nothing).
std::optional<TraceContext> ParseTraceparent(std::string_view header) {
  constexpr size_t kLength = 55;  // "00-" 32 "-" 16 "-" 2
  if (header.size() < kLength) return std::nullopt;
  std::array<uint8_t, 1> version;
  if (!DecodeHex(header.substr(0, 2), version) || version[0] == 0xff) return std::nullopt;
  if (version[0] == 0 ? header.size() != kLength
                      : header.size() > kLength && header[kLength] != '-') {
    return std::nullopt;
  }
  if (header[2] != '-' || header[35] != '-' || header[52] != '-') return std::nullopt;
  TraceContext context;
  std::array<uint8_t, 1> flags;
  if (!DecodeHex(header.substr(3, 32), context.trace_id) ||
      !DecodeHex(header.substr(36, 16), context.span_id) ||
      !DecodeHex(header.substr(53, 2), flags) || !IsValid(context)) {
    return std::nullopt;
  }
  context.sampled = (flags[0] & 0x01) != 0;
  return context;
}

std::string FormatTraceparent(const TraceContext& context) {
  std::string out = "00-";
  out.reserve(55);
  internal::AppendHex(context.trace_id.data(), context.trace_id.size(), out);
  out.push_back('-');
  internal::AppendHex(context.span_id.data(), context.span_id.size(), out);
  out += context.sampled ? "-01" : "-00";
  return out;
}

Span Span::Root(std::string_view name, SpanKind kind, const TraceContext* remote_parent) {
  if (!internal::tracing_enabled.load(std::memory_order_relaxed)) return Span();
  if (remote_parent != nullptr && IsValid(*remote_parent)) {
    // ParentBased sampling: the remote caller decided.
    if (!remote_parent->sampled) return Span();
    return Span(StartSpan(name, kind, remote_parent->trace_id, &remote_parent->span_id));
  }
  const uint64_t threshold = internal::sampling_threshold.load(std::memory_order_relaxed);
  if (threshold == 0) return Span();
  if (threshold != UINT64_MAX && ids.Next() >= threshold) return Span();
  return Span(StartSpan(name, kind, NewTraceId(), nullptr));
}

Span Span::Child(std::string_view name, SpanKind kind) {
  if (!current_context.sampled) return Span();
  if (!internal::tracing_enabled.load(std::memory_order_relaxed)) return Span();
  if (!context_stack.Refresh()) return Span();
  const TraceContext parent = current_context;
  return Span(StartSpan(name, kind, parent.trace_id, &parent.span_id));
}

Span& Span::operator=(Span&& other) noexcept {
  if (this != &other) {
    End();
    data_ = std::move(other.data_);
  }
  return *this;
}

void Span::SetString(std::string_view key, std::string_view value) {
  SetAttributeValue(*data_, key, std::string(value));
}

void Span::SetInt(std::string_view key, int64_t value) { SetAttributeValue(*data_, key, value); }

void Span::SetBool(std::string_view key, bool value) { SetAttributeValue(*data_, key, value); }

void Span::SetError(std::string_view message) {
  if (!data_) return;
  data_->error = true;
  data_->status_message = message;
}

void Span::End() {
  if (!data_) return;
  data_->end_unix_nanos =
      data_->start_unix_nanos + (MonotonicNanos() - data_->start_monotonic_nanos);
  LeaveStack(*data_);
  internal::Enqueue(std::move(data_));
}

TraceContext Span::context() const { return data_ ? data_->context : TraceContext(); }

std::optional<TraceContext> CurrentContext() {
  if (!current_context.sampled || !context_stack.Refresh()) return std::nullopt;
  return current_context;
}

ContextScope::ContextScope(const std::optional<TraceContext>& context) {
  if (!context || !context->sampled || !IsValid(*context)) return;
  token_ = context_stack.Push(*context);
}

ContextScope::~ContextScope() {
  if (token_ != 0) context_stack.Remove(token_);
}

}  // namespace dittofs::trace

// SPDX-License-Identifier: Apache-2.0
#include "trace/trace.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <httplib.h>

#include <chrono>
#include <cmath>
#include <condition_variable>
#include <deque>
#include <limits>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "base/version.h"
#include "testing/loopback.h"
#include "testing/status_matchers.h"
#include "trace/otlp_json.h"
#include "trace/span_data.h"

namespace dittofs::trace {
namespace {

using ::dittofs::testing::StatusIs;
using Json = nlohmann::json;
using namespace std::chrono_literals;

constexpr char kSpecExample[] = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
constexpr std::array<uint8_t, 16> kSpecTraceId = {0x4b, 0xf9, 0x2f, 0x35, 0x77, 0xb3, 0x4d, 0xa6,
                                                  0xa3, 0xce, 0x92, 0x9d, 0x0e, 0x0e, 0x47, 0x36};
constexpr std::array<uint8_t, 8> kSpecSpanId = {0x00, 0xf0, 0x67, 0xaa, 0x0b, 0xa9, 0x02, 0xb7};

std::string Hex(const uint8_t* bytes, size_t n) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  for (size_t i = 0; i < n; ++i) {
    out.push_back(kDigits[bytes[i] >> 4]);
    out.push_back(kDigits[bytes[i] & 0xf]);
  }
  return out;
}
template <size_t N>
std::string Hex(const std::array<uint8_t, N>& id) {
  return Hex(id.data(), N);
}

// ---- W3C traceparent ----

TEST(TraceparentTest, ParsesTheSpecExample) {
  std::optional<TraceContext> context = ParseTraceparent(kSpecExample);
  ASSERT_TRUE(context.has_value());
  EXPECT_EQ(context->trace_id, kSpecTraceId);
  EXPECT_EQ(context->span_id, kSpecSpanId);
  EXPECT_TRUE(context->sampled);
  EXPECT_EQ(FormatTraceparent(*context), kSpecExample);
}

TEST(TraceparentTest, SampledIsBitZeroOfTheFlags) {
  std::optional<TraceContext> unsampled =
      ParseTraceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00");
  ASSERT_TRUE(unsampled.has_value());
  EXPECT_FALSE(unsampled->sampled);
  EXPECT_EQ(FormatTraceparent(*unsampled),
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00");
  // Flags this version does not define are ignored.
  std::optional<TraceContext> other_bits =
      ParseTraceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-09");
  ASSERT_TRUE(other_bits.has_value());
  EXPECT_TRUE(other_bits->sampled);
  EXPECT_FALSE(
      ParseTraceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-fe")->sampled);
}

TEST(TraceparentTest, RefusesWhatTheSpecRefuses) {
  for (const char* header : {
           "",
           "00",
           // uppercase hex, in each field
           "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",
           "00-4bf92f3577b34da6a3ce929d0e0e4736-00F067AA0BA902B7-01",
           "0A-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
           "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-0A",
           // all-zero ids
           "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
           "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",
           // wrong lengths
           "00-4bf92f3577b34da6a3ce929d0e0e473-00f067aa0ba902b7-01",
           "00-4bf92f3577b34da6a3ce929d0e0e47366-00f067aa0ba902b7-01",
           "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b-01",
           "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-1",
           "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-011",
           "0-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
           // version 00 has nothing after the flags
           "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra",
           // version ff is invalid
           "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
           // separators and digits
           "00_4bf92f3577b34da6a3ce929d0e0e4736_00f067aa0ba902b7_01",
           "00-4bf92f3577b34da6a3ce929d0e0e473g-00f067aa0ba902b7-01",
           " 00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
           // a future version's extra fields start with '-'
           "cc-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01x",
       }) {
    EXPECT_FALSE(ParseTraceparent(header).has_value()) << header;
  }
}

TEST(TraceparentTest, ReadsAFutureVersionAsVersion00) {
  for (const char* header : {
           "cc-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
           "cc-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-what-the-future-will-be-like",
           "01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-",
       }) {
    std::optional<TraceContext> context = ParseTraceparent(header);
    ASSERT_TRUE(context.has_value()) << header;
    EXPECT_EQ(context->trace_id, kSpecTraceId);
    EXPECT_EQ(context->span_id, kSpecSpanId);
    EXPECT_TRUE(context->sampled);
  }
}

// ---- The OTLP JSON encoding ----

TEST(OtlpJsonTest, EncodesTheProtobufJsonMapping) {
  std::vector<internal::SpanPtr> spans;
  internal::SpanPtr span(std::make_unique<internal::SpanData>().release());
  span->context = TraceContext{kSpecTraceId, kSpecSpanId, true};
  span->parent_span_id = {1, 2, 3, 4, 5, 6, 7, 8};
  span->has_parent = true;
  span->name = "READ";
  span->kind = SpanKind::kServer;
  span->start_unix_nanos = 1'700'000'000'000'000'001;
  span->end_unix_nanos = 1'700'000'000'000'500'000;
  span->attributes = {{"path", std::string("/a\xff")}, {"bytes", int64_t{-4096}}, {"ok", false}};
  span->dropped_attributes = 3;
  span->error = true;
  span->status_message = "no such file";
  spans.push_back(std::move(span));

  const Json expected = Json::parse(std::string(R"({"resourceSpans": [{
    "resource": {"attributes": [
      {"key": "service.name", "value": {"stringValue": "svc"}},
      {"key": "service.version", "value": {"stringValue": ")") +
                                    kVersion + R"("}}]},
    "scopeSpans": [{
      "scope": {"name": "dittofs", "version": ")" +
                                    kVersion + R"("},
      "spans": [{
        "traceId": "4bf92f3577b34da6a3ce929d0e0e4736",
        "spanId": "00f067aa0ba902b7",
        "parentSpanId": "0102030405060708",
        "name": "READ",
        "kind": 2,
        "startTimeUnixNano": "1700000000000000001",
        "endTimeUnixNano": "1700000000000500000",
        "attributes": [
          {"key": "path", "value": {"stringValue": "/a\ufffd"}},
          {"key": "bytes", "value": {"intValue": "-4096"}},
          {"key": "ok", "value": {"boolValue": false}}],
        "droppedAttributesCount": 3,
        "status": {"code": 2, "message": "no such file"}}]}]}]})");
  EXPECT_EQ(Json::parse(internal::EncodeOtlpJson(spans, "svc")), expected);
}

// ---- Spans, exported to a receiver on loopback ----

// An OTLP/HTTP receiver: keeps every export request's body and headers. `Hold()` makes the
// next requests wait in the handler until `Release()`.
class Receiver {
 public:
  Receiver() {
    server_.Post("/v1/traces", [this](const httplib::Request& request, httplib::Response& reply) {
      std::unique_lock<std::mutex> lock(mu_);
      bodies_.push_back(request.body);
      content_types_.push_back(request.get_header_value("Content-Type"));
      authorizations_.push_back(request.get_header_value("Authorization"));
      ++handling_;
      changed_.notify_all();
      changed_.wait(lock, [&] { return !hold_; });
      --handling_;
      if (answers_.empty()) {
        reply.set_content("{}", "application/json");
        return;
      }
      const Answer answer = answers_.front();
      answers_.pop_front();
      reply.status = answer.status;
      if (!answer.retry_after.empty()) reply.set_header("Retry-After", answer.retry_after);
      reply.set_content(answer.body, "application/json");
    });
    server_.set_tcp_nodelay(true);  // its replies are two writes: no Nagle delay between
    port_ = server_.bind_to_any_port("127.0.0.1");
    thread_ = std::thread([this] { server_.listen_after_bind(); });
    while (!server_.is_running()) std::this_thread::sleep_for(1ms);
  }
  ~Receiver() {
    Release();
    server_.stop();
    thread_.join();
  }

  std::string endpoint() const {
    return "http://127.0.0.1:" + std::to_string(port_) + "/v1/traces";
  }

  void Hold() {
    std::lock_guard<std::mutex> lock(mu_);
    hold_ = true;
  }
  // How the next requests are answered, one each, in order (then 200 "{}" again).
  struct Answer {
    int status = 200;
    std::string body = "{}";
    std::string retry_after;  // the Retry-After header, when not empty
  };
  void AnswerNext(std::vector<Answer> answers) {
    std::lock_guard<std::mutex> lock(mu_);
    answers_.insert(answers_.end(), answers.begin(), answers.end());
  }
  void Release() {
    std::lock_guard<std::mutex> lock(mu_);
    hold_ = false;
    changed_.notify_all();
  }
  // Waits until a request is held in the handler.
  bool WaitHeld() {
    std::unique_lock<std::mutex> lock(mu_);
    return changed_.wait_for(lock, 5s, [&] { return handling_ > 0; });
  }

  std::vector<Json> Requests() {
    std::lock_guard<std::mutex> lock(mu_);
    std::vector<Json> out;
    for (const std::string& body : bodies_) out.push_back(Json::parse(body));
    return out;
  }
  // Every span of every request.
  std::vector<Json> Spans() {
    std::vector<Json> out;
    for (const Json& request : Requests()) {
      for (const Json& resource : request["resourceSpans"]) {
        for (const Json& scope : resource["scopeSpans"]) {
          for (const Json& span : scope["spans"]) out.push_back(span);
        }
      }
    }
    return out;
  }
  std::vector<std::string> content_types() {
    std::lock_guard<std::mutex> lock(mu_);
    return content_types_;
  }
  std::vector<std::string> authorizations() {
    std::lock_guard<std::mutex> lock(mu_);
    return authorizations_;
  }

 private:
  httplib::Server server_;
  int port_ = -1;
  std::thread thread_;
  std::mutex mu_;
  std::condition_variable changed_;
  bool hold_ = false;
  int handling_ = 0;
  std::deque<Answer> answers_;
  std::vector<std::string> bodies_;
  std::vector<std::string> content_types_;
  std::vector<std::string> authorizations_;
};

// The span called `name` (exactly one).
Json SpanNamed(const std::vector<Json>& spans, const std::string& name) {
  Json found;
  int count = 0;
  for (const Json& span : spans) {
    if (span["name"] == name) {
      found = span;
      ++count;
    }
  }
  EXPECT_EQ(count, 1) << "spans named " << name;
  return found;
}

// The value object of attribute `key` of a span or resource.
Json AttributeOf(const Json& holder, const std::string& key) {
  for (const Json& attribute : holder["attributes"]) {
    if (attribute["key"] == key) return attribute["value"];
  }
  ADD_FAILURE() << "no attribute " << key;
  return Json();
}

class TracingTest : public ::testing::Test {
 protected:
  void TearDown() override { StopTracing(); }

  TracingOptions Options(double ratio = 1.0) {
    TracingOptions options;
    options.enabled = true;
    options.endpoint = receiver_.endpoint();
    options.sampling_ratio = ratio;
    options.batch_delay_ms = 100;
    return options;
  }
  void Start(double ratio = 1.0) { ASSERT_OK(StartTracing(Options(ratio))); }
  // Everything exported so far, after a flush.
  std::vector<Json> Exported() {
    EXPECT_OK(FlushTracing(5s));
    return receiver_.Spans();
  }

  Receiver receiver_;
};

TEST_F(TracingTest, RatioZeroRecordsNothing) {
  Start(0.0);
  for (int i = 0; i < 1000; ++i) {
    Span root = Span::Root("request");
    EXPECT_FALSE(root.recording());
    Span child = Span::Child("step");
    EXPECT_FALSE(child.recording());
    EXPECT_FALSE(CurrentContext().has_value());
    EXPECT_EQ(root.context().sampled, false);
  }
  EXPECT_THAT(Exported(), ::testing::IsEmpty());
}

TEST_F(TracingTest, RatioOneRecordsAll) {
  Start(1.0);
  for (int i = 0; i < 100; ++i) {
    Span root = Span::Root("request");
    EXPECT_TRUE(root.recording());
  }
  EXPECT_EQ(Exported().size(), 100u);
}

TEST_F(TracingTest, RatioInBetweenRecordsThatShare) {
  Start(0.25);
  int recorded = 0;
  for (int i = 0; i < 10'000; ++i) recorded += Span::Root("request").recording() ? 1 : 0;
  EXPECT_GT(recorded, 2'000);  // 2'500 expected, σ ≈ 43
  EXPECT_LT(recorded, 3'000);
}

TEST_F(TracingTest, ASampledRemoteParentIsFollowedWhateverTheRatio) {
  Start(0.0);
  const TraceContext remote = *ParseTraceparent(kSpecExample);
  TraceContext root_context;
  {
    Span root = Span::Root("GET /api/v1/shares", SpanKind::kServer, &remote);
    ASSERT_TRUE(root.recording());
    root_context = root.context();
    EXPECT_EQ(root_context.trace_id, kSpecTraceId);
    EXPECT_NE(root_context.span_id, kSpecSpanId);
    EXPECT_TRUE(root_context.sampled);
  }
  Json span = SpanNamed(Exported(), "GET /api/v1/shares");
  EXPECT_EQ(span["traceId"], Hex(kSpecTraceId));
  EXPECT_EQ(span["parentSpanId"], Hex(kSpecSpanId));
  EXPECT_EQ(span["spanId"], Hex(root_context.span_id));
}

TEST_F(TracingTest, AnUnsampledRemoteParentIsFollowedToo) {
  Start(1.0);
  TraceContext remote = *ParseTraceparent(kSpecExample);
  remote.sampled = false;
  Span root = Span::Root("request", SpanKind::kServer, &remote);
  EXPECT_FALSE(root.recording());
  EXPECT_FALSE(Span::Child("step").recording());
}

TEST_F(TracingTest, AnInvalidRemoteParentStartsANewTrace) {
  Start(1.0);
  TraceContext remote;  // all zeros
  remote.sampled = true;
  {
    Span root = Span::Root("request", SpanKind::kServer, &remote);
    ASSERT_TRUE(root.recording());
    EXPECT_NE(root.context().trace_id, remote.trace_id);
  }
  EXPECT_FALSE(SpanNamed(Exported(), "request").contains("parentSpanId"));
}

TEST_F(TracingTest, ChildrenNestUnderTheThreadsCurrentSpan) {
  Start(1.0);
  EXPECT_FALSE(CurrentContext().has_value());
  EXPECT_FALSE(Span::Child("orphan").recording());
  TraceContext root_context, child_context, grandchild_context, sibling_context;
  {
    Span root = Span::Root("root");
    root_context = root.context();
    {
      Span child = Span::Child("child");
      child_context = child.context();
      ASSERT_EQ(CurrentContext()->span_id, child_context.span_id);
      {
        Span grandchild = Span::Child("grandchild");
        grandchild_context = grandchild.context();
        EXPECT_EQ(CurrentContext()->span_id, grandchild_context.span_id);
      }
      EXPECT_EQ(CurrentContext()->span_id, child_context.span_id);
    }
    EXPECT_EQ(CurrentContext()->span_id, root_context.span_id);
    Span sibling = Span::Child("sibling");
    sibling_context = sibling.context();
    sibling.End();
    EXPECT_EQ(CurrentContext()->span_id, root_context.span_id);
  }
  EXPECT_FALSE(CurrentContext().has_value());

  const std::vector<Json> spans = Exported();
  ASSERT_EQ(spans.size(), 4u);
  const std::string trace_id = Hex(root_context.trace_id);
  for (const Json& span : spans) EXPECT_EQ(span["traceId"], trace_id);
  EXPECT_FALSE(SpanNamed(spans, "root").contains("parentSpanId"));
  EXPECT_EQ(SpanNamed(spans, "child")["parentSpanId"], Hex(root_context.span_id));
  EXPECT_EQ(SpanNamed(spans, "grandchild")["parentSpanId"], Hex(child_context.span_id));
  EXPECT_EQ(SpanNamed(spans, "sibling")["parentSpanId"], Hex(root_context.span_id));
  EXPECT_EQ(SpanNamed(spans, "grandchild")["spanId"], Hex(grandchild_context.span_id));
  EXPECT_EQ(SpanNamed(spans, "sibling")["spanId"], Hex(sibling_context.span_id));
}

TEST_F(TracingTest, AMovedSpanStaysCurrentAndEndsOnce) {
  Start(1.0);
  TraceContext outer_context;
  {
    Span outer = Span::Root("outer");
    outer_context = outer.context();
    Span moved = std::move(outer);
    EXPECT_FALSE(outer.recording());  // NOLINT(bugprone-use-after-move): moved-from is a no-op
    EXPECT_TRUE(moved.recording());
    EXPECT_EQ(CurrentContext()->span_id, outer_context.span_id);
    Span inner = Span::Child("inner");
    const TraceContext inner_context = inner.context();
    // "replacement" starts under "inner", then the assignment ends "inner": out of order.
    inner = Span::Child("replacement");
    EXPECT_EQ(CurrentContext()->span_id, inner.context().span_id);
    EXPECT_NE(inner.context().span_id, inner_context.span_id);
    {
      Span next = Span::Child("next");
      EXPECT_EQ(CurrentContext()->span_id, next.context().span_id);
    }
    inner.End();
    EXPECT_EQ(CurrentContext()->span_id, outer_context.span_id);
  }
  EXPECT_FALSE(CurrentContext().has_value());
  const std::vector<Json> spans = Exported();
  ASSERT_EQ(spans.size(), 4u);
  const Json inner = SpanNamed(spans, "inner");
  EXPECT_EQ(inner["parentSpanId"], Hex(outer_context.span_id));
  EXPECT_EQ(SpanNamed(spans, "replacement")["parentSpanId"], inner["spanId"]);
  EXPECT_EQ(SpanNamed(spans, "next")["parentSpanId"], SpanNamed(spans, "replacement")["spanId"]);
}

TEST_F(TracingTest, SpansEndedOutOfOrderLeaveTheStackRight) {
  Start(1.0);
  Span first = Span::Root("first");
  Span second = Span::Child("second");
  Span third = Span::Child("third");
  second.End();  // from the middle: "third" stays current
  EXPECT_EQ(CurrentContext()->span_id, third.context().span_id);
  third.End();  // then "first", the only one left
  EXPECT_EQ(CurrentContext()->span_id, first.context().span_id);
  Span fourth = Span::Child("fourth");
  first.End();  // from the bottom
  EXPECT_EQ(CurrentContext()->span_id, fourth.context().span_id);
  fourth.End();
  EXPECT_FALSE(CurrentContext().has_value());
  EXPECT_FALSE(Span::Child("none").recording());

  const std::vector<Json> spans = Exported();
  ASSERT_EQ(spans.size(), 4u);
  EXPECT_EQ(SpanNamed(spans, "third")["parentSpanId"], SpanNamed(spans, "second")["spanId"]);
  EXPECT_EQ(SpanNamed(spans, "fourth")["parentSpanId"], SpanNamed(spans, "first")["spanId"]);
}

TEST_F(TracingTest, ASpanEndedOnAnotherThreadStopsBeingCurrentOnItsOwn) {
  Start(1.0);
  Span outer = Span::Root("outer");
  Span handed = Span::Child("handed");
  EXPECT_EQ(CurrentContext()->span_id, handed.context().span_id);
  std::thread other([span = std::move(handed)]() mutable {
    EXPECT_FALSE(CurrentContext().has_value());  // not current here
    span.End();
    EXPECT_FALSE(CurrentContext().has_value());
  });
  other.join();
  EXPECT_EQ(CurrentContext()->span_id, outer.context().span_id);
  {
    Span child = Span::Child("child");
    EXPECT_EQ(CurrentContext()->span_id, child.context().span_id);
  }
  outer.End();
  EXPECT_FALSE(CurrentContext().has_value());

  const std::vector<Json> spans = Exported();
  ASSERT_EQ(spans.size(), 3u);
  EXPECT_EQ(SpanNamed(spans, "child")["parentSpanId"], SpanNamed(spans, "outer")["spanId"]);
}

TEST_F(TracingTest, AContextScopeCarriesATraceToAnotherThread) {
  Start(1.0);
  TraceContext root_context;
  {
    Span root = Span::Root("request");
    root_context = root.context();
    std::optional<TraceContext> handed = CurrentContext();
    std::thread worker([&] {
      EXPECT_FALSE(Span::Child("before").recording());
      {
        ContextScope scope(handed);
        EXPECT_EQ(CurrentContext()->span_id, root_context.span_id);
        Span work = Span::Child("work");
        EXPECT_TRUE(work.recording());
      }
      EXPECT_FALSE(CurrentContext().has_value());
      ContextScope nothing(std::nullopt);
      EXPECT_FALSE(Span::Child("after").recording());
    });
    worker.join();
  }
  const std::vector<Json> spans = Exported();
  ASSERT_EQ(spans.size(), 2u);
  const Json work = SpanNamed(spans, "work");
  EXPECT_EQ(work["traceId"], Hex(root_context.trace_id));
  EXPECT_EQ(work["parentSpanId"], Hex(root_context.span_id));
}

TEST_F(TracingTest, AnUnsampledContextScopeRecordsNothing) {
  Start(1.0);
  TraceContext context = *ParseTraceparent(kSpecExample);
  context.sampled = false;
  ContextScope scope(context);
  EXPECT_FALSE(CurrentContext().has_value());
  EXPECT_FALSE(Span::Child("step").recording());
}

TEST_F(TracingTest, TheReceiverGetsOtlpJson) {
  TracingOptions options = Options();
  options.service_name = "dittofs-test";
  options.headers = {{"Authorization", "Bearer s3cret"}};
  ASSERT_OK(StartTracing(options));
  TraceContext root_context;
  {
    Span root = Span::Root("GET /api/v1/shares", SpanKind::kServer);
    root_context = root.context();
    root.SetAttribute("http.method", "GET");
    root.SetAttribute("http.target", std::string("/api/v1/shares"));
    root.SetAttribute("http.status_code", 200);
    root.SetAttribute("bytes", uint64_t{1} << 40);
    root.SetAttribute("retried", false);
    root.SetAttribute("http.method", std::string_view("HEAD"));  // replaces the value
    {
      Span lookup = Span::Child("vfs.lookup");
      lookup.SetAttribute("name", "missing\xff");  // not UTF-8: sent with U+FFFD
      lookup.SetError("not found");
    }
    Span get = Span::Child("s3.get", SpanKind::kClient);
    get.SetAttribute("cached", true);
    get.SetAttribute("offset", int64_t{-1});
  }

  ASSERT_OK(FlushTracing(5s));
  const std::vector<Json> requests = receiver_.Requests();
  ASSERT_FALSE(requests.empty());
  const Json& resource = requests[0]["resourceSpans"][0]["resource"];
  EXPECT_EQ(AttributeOf(resource, "service.name"), Json({{"stringValue", "dittofs-test"}}));
  EXPECT_EQ(AttributeOf(resource, "service.version"), Json({{"stringValue", kVersion}}));
  EXPECT_EQ(requests[0]["resourceSpans"][0]["scopeSpans"][0]["scope"]["name"], "dittofs");
  for (const std::string& type : receiver_.content_types()) EXPECT_EQ(type, "application/json");
  for (const std::string& auth : receiver_.authorizations()) EXPECT_EQ(auth, "Bearer s3cret");

  const std::vector<Json> spans = receiver_.Spans();
  ASSERT_EQ(spans.size(), 3u);
  const Json root = SpanNamed(spans, "GET /api/v1/shares");
  const Json lookup = SpanNamed(spans, "vfs.lookup");
  const Json get = SpanNamed(spans, "s3.get");

  EXPECT_EQ(root["kind"], 2);
  EXPECT_EQ(lookup["kind"], 1);
  EXPECT_EQ(get["kind"], 3);
  for (const Json& span : spans) {
    EXPECT_THAT(span["traceId"].get<std::string>(), ::testing::MatchesRegex("[0-9a-f]{32}"));
    EXPECT_THAT(span["spanId"].get<std::string>(), ::testing::MatchesRegex("[0-9a-f]{16}"));
    EXPECT_EQ(span["traceId"], Hex(root_context.trace_id));
    const std::string start = span["startTimeUnixNano"];
    const std::string end = span["endTimeUnixNano"];
    EXPECT_THAT(start, ::testing::MatchesRegex("[0-9]+"));
    EXPECT_THAT(end, ::testing::MatchesRegex("[0-9]+"));
    EXPECT_LE(std::stoull(start), std::stoull(end));
    // Within a day of now: nanoseconds since the Unix epoch.
    const auto now = std::chrono::duration_cast<std::chrono::nanoseconds>(
                         std::chrono::system_clock::now().time_since_epoch())
                         .count();
    EXPECT_LT(std::abs(static_cast<double>(now) - std::stod(start)), 86'400e9);
  }
  EXPECT_EQ(root["spanId"], Hex(root_context.span_id));
  EXPECT_FALSE(root.contains("parentSpanId"));
  EXPECT_EQ(lookup["parentSpanId"], root["spanId"]);
  EXPECT_EQ(get["parentSpanId"], root["spanId"]);

  EXPECT_EQ(root["attributes"].size(), 5u);
  EXPECT_EQ(AttributeOf(root, "http.method"), Json({{"stringValue", "HEAD"}}));
  EXPECT_EQ(AttributeOf(root, "http.target"), Json({{"stringValue", "/api/v1/shares"}}));
  EXPECT_EQ(AttributeOf(root, "http.status_code"), Json({{"intValue", "200"}}));
  EXPECT_EQ(AttributeOf(root, "bytes"), Json({{"intValue", "1099511627776"}}));
  EXPECT_EQ(AttributeOf(root, "retried"), Json({{"boolValue", false}}));
  EXPECT_EQ(AttributeOf(get, "cached"), Json({{"boolValue", true}}));
  EXPECT_EQ(AttributeOf(get, "offset"), Json({{"intValue", "-1"}}));
  EXPECT_EQ(AttributeOf(lookup, "name"), Json({{"stringValue", "missing\xef\xbf\xbd"}}));

  EXPECT_EQ(lookup["status"], Json({{"code", 2}, {"message", "not found"}}));
  EXPECT_FALSE(root.contains("status"));
  EXPECT_FALSE(get.contains("status"));
}

TEST_F(TracingTest, AttributesBeyondTheLimitAreCounted) {
  Start(1.0);
  {
    Span span = Span::Root("many");
    for (int i = 0; i < 130; ++i) span.SetAttribute("key" + std::to_string(i), i);
    span.SetAttribute("key0", "again");  // a kept key is still replaced
  }
  const Json span = SpanNamed(Exported(), "many");
  EXPECT_EQ(span["attributes"].size(), internal::kMaxAttributes);
  EXPECT_EQ(span["droppedAttributesCount"], 2);
  EXPECT_EQ(AttributeOf(span, "key0"), Json({{"stringValue", "again"}}));
}

TEST_F(TracingTest, ExportsInBatchesOfAtMostMaxBatch) {
  TracingOptions options = Options();
  options.max_batch = 10;
  ASSERT_OK(StartTracing(options));
  for (int i = 0; i < 35; ++i) Span::Root("request").End();
  EXPECT_EQ(Exported().size(), 35u);
  for (const Json& request : receiver_.Requests()) {
    EXPECT_LE(request["resourceSpans"][0]["scopeSpans"][0]["spans"].size(), 10u);
  }
}

TEST_F(TracingTest, ExportsWithoutAFlushAfterTheBatchDelay) {
  const uint64_t exported_before = GetTracingStats().exported;
  Start(1.0);  // batch_delay_ms 100
  Span::Root("lonely").End();
  const auto deadline = std::chrono::steady_clock::now() + 5s;
  // Counted once the collector's reply came, so after the receiver has the span.
  while (GetTracingStats().exported == exported_before &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(10ms);
  }
  EXPECT_EQ(GetTracingStats().exported, exported_before + 1);
  EXPECT_EQ(receiver_.Spans().size(), 1u);
}

TEST_F(TracingTest, AFullQueueDropsAndCountsSpans) {
  TracingOptions options = Options();
  options.max_queue = 4;
  options.max_batch = 2;
  options.batch_delay_ms = 60'000;
  ASSERT_OK(StartTracing(options));
  const TracingStats before = GetTracingStats();

  receiver_.Hold();
  for (int i = 0; i < 2; ++i) Span::Root("first").End();     // a full batch: the exporter takes it
  ASSERT_TRUE(receiver_.WaitHeld());                         // and is stuck in its POST
  for (int i = 0; i < 10; ++i) Span::Root("waiting").End();  // 4 queue, 6 are dropped
  EXPECT_EQ(GetTracingStats().dropped, before.dropped + 6);
  receiver_.Release();

  ASSERT_OK(FlushTracing(5s));
  const TracingStats after = GetTracingStats();
  EXPECT_EQ(after.exported, before.exported + 6);
  EXPECT_EQ(after.dropped, before.dropped + 6);
  EXPECT_EQ(after.export_errors, before.export_errors);
  EXPECT_EQ(receiver_.Spans().size(), 6u);
}

TEST_F(TracingTest, AnUnreachableCollectorCountsErrorsAndBlocksNobody) {
  TracingOptions options = Options();
  const int port = ::dittofs::testing::FreeLoopbackPort();
  ASSERT_GT(port, 0);
  options.endpoint = "http://127.0.0.1:" + std::to_string(port) + "/v1/traces";
  options.max_batch = 8;
  options.export_attempts = 1;  // each batch fails at once (retries are the next tests')
  ASSERT_OK(StartTracing(options));
  const TracingStats before = GetTracingStats();

  const auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < 100; ++i) {
    Span root = Span::Root("request");
    Span child = Span::Child("step");
  }
  const auto elapsed = std::chrono::steady_clock::now() - start;
  EXPECT_LT(elapsed, 1s) << "ending spans waited for the exporter";

  EXPECT_THAT(FlushTracing(5s), StatusIs(Errc::kUnavailable));
  const TracingStats after = GetTracingStats();
  EXPECT_GE(after.export_errors, before.export_errors + 1);
  EXPECT_EQ(after.dropped, before.dropped + 200);  // every span was in a failed export
  EXPECT_EQ(after.exported, before.exported);
}

// OTLP/HTTP's retryable answers (429, 502, 503, 504) send the batch again, after the
// Retry-After when there is one; nothing is lost when a later attempt gets through.
TEST_F(TracingTest, RetryableAnswersAreRetriedAndTheBatchGetsThrough) {
  TracingOptions options = Options();
  options.retry_initial_ms = 20;
  options.export_attempts = 5;      // four failures, then through
  options.batch_delay_ms = 60'000;  // one batch, at the flush
  ASSERT_OK(StartTracing(options));
  const TracingStats before = GetTracingStats();
  receiver_.AnswerNext({{.status = 503, .body = "overloaded"},
                        {.status = 429, .body = "slow down", .retry_after = "1"},
                        {.status = 504, .retry_after = "Wed, 21 Oct 2015 07:28:00 GMT"},  // past
                        {.status = 502}});
  const auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < 3; ++i) Span::Root("retried").End();
  ASSERT_OK(FlushTracing(10s));
  EXPECT_GE(std::chrono::steady_clock::now() - start, 1s);  // the Retry-After was waited for
  const TracingStats after = GetTracingStats();
  EXPECT_EQ(after.exported, before.exported + 3);
  EXPECT_EQ(after.export_retries, before.export_retries + 4);
  EXPECT_EQ(after.export_errors, before.export_errors);
  EXPECT_EQ(after.dropped, before.dropped);
  // Five requests of the same three spans; the collector kept the last.
  ASSERT_EQ(receiver_.Requests().size(), 5u);
  EXPECT_EQ(receiver_.Spans().size(), 15u);
}

TEST(OtlpJsonTest, RejectedSpansOfAnAnswer) {
  std::string message;
  EXPECT_EQ(internal::RejectedSpans("{}", &message), 0u);
  EXPECT_EQ(internal::RejectedSpans("", &message), 0u);
  EXPECT_EQ(internal::RejectedSpans("not json", &message), 0u);
  EXPECT_EQ(internal::RejectedSpans(R"({"partialSuccess":{}})", &message), 0u);
  EXPECT_EQ(internal::RejectedSpans(R"({"partialSuccess":{"rejectedSpans":"x7"}})", &message), 0u);
  EXPECT_EQ(internal::RejectedSpans(R"({"partialSuccess":{"rejectedSpans":-3}})", &message), 0u);
  EXPECT_EQ(internal::RejectedSpans(R"({"partialSuccess":{"rejectedSpans":7}})", &message), 7u);
  EXPECT_EQ(
      internal::RejectedSpans(
          R"({"partialSuccess":{"rejectedSpans":"12","errorMessage":"over the limit"}})", &message),
      12u);
  EXPECT_EQ(message, "over the limit");
}

// Other failures are final; retries run out; a partial success drops the refused spans.
TEST_F(TracingTest, FinalFailuresAndPartialSuccessesDropWhatTheCollectorRefused) {
  TracingOptions options = Options();
  options.retry_initial_ms = 10;
  options.export_attempts = 2;
  options.batch_delay_ms = 60'000;  // one batch per flush
  ASSERT_OK(StartTracing(options));
  TracingStats before = GetTracingStats();
  // 400: not retried.
  receiver_.AnswerNext({{.status = 400, .body = "bad request"}});
  Span::Root("refused").End();
  EXPECT_THAT(FlushTracing(5s), StatusIs(Errc::kUnavailable));
  TracingStats after = GetTracingStats();
  EXPECT_EQ(after.export_retries, before.export_retries);
  EXPECT_EQ(after.export_errors, before.export_errors + 1);
  EXPECT_EQ(after.dropped, before.dropped + 1);
  EXPECT_EQ(receiver_.Requests().size(), 1u);
  // 503 twice, with 2 attempts: one retry, then dropped.
  before = after;
  receiver_.AnswerNext({{.status = 503}, {.status = 503}});
  Span::Root("unlucky").End();
  EXPECT_THAT(FlushTracing(5s), StatusIs(Errc::kUnavailable));
  after = GetTracingStats();
  EXPECT_EQ(after.export_retries, before.export_retries + 1);
  EXPECT_EQ(after.export_errors, before.export_errors + 1);
  EXPECT_EQ(after.dropped, before.dropped + 1);
  EXPECT_EQ(receiver_.Requests().size(), 3u);
  // A partial success: 2 of 5 refused (rejectedSpans is an int64: a string in OTLP's JSON).
  before = after;
  receiver_.AnswerNext(
      {{.body =
            R"({"partialSuccess":{"rejectedSpans":"2","errorMessage":"too many attributes"}})"}});
  for (int i = 0; i < 5; ++i) Span::Root("partly").End();
  ASSERT_OK(FlushTracing(5s));
  after = GetTracingStats();
  EXPECT_EQ(after.exported, before.exported + 3);
  EXPECT_EQ(after.rejected, before.rejected + 2);
  EXPECT_EQ(after.dropped, before.dropped + 2);
  EXPECT_EQ(after.export_errors, before.export_errors);
  EXPECT_EQ(after.export_retries, before.export_retries);
}

TEST_F(TracingTest, StartRefusesBadOptions) {
  auto refused = [&](auto change) {
    TracingOptions options = Options();
    change(options);
    return StartTracing(options);
  };
  EXPECT_THAT(refused([](TracingOptions& o) { o.endpoint = ""; }), StatusIs(Errc::kInvalid));
  EXPECT_THAT(refused([](TracingOptions& o) { o.export_attempts = 0; }), StatusIs(Errc::kInvalid));
  EXPECT_THAT(refused([](TracingOptions& o) { o.retry_initial_ms = -1; }),
              StatusIs(Errc::kInvalid));
  EXPECT_THAT(refused([](TracingOptions& o) { o.endpoint = "127.0.0.1:4318"; }),
              StatusIs(Errc::kInvalid));
  EXPECT_THAT(refused([](TracingOptions& o) { o.endpoint = "ftp://collector/v1/traces"; }),
              StatusIs(Errc::kInvalid));
  EXPECT_THAT(refused([](TracingOptions& o) { o.endpoint = "http://"; }), StatusIs(Errc::kInvalid));
  EXPECT_THAT(refused([](TracingOptions& o) { o.sampling_ratio = -0.1; }),
              StatusIs(Errc::kInvalid));
  EXPECT_THAT(refused([](TracingOptions& o) { o.sampling_ratio = 1.5; }), StatusIs(Errc::kInvalid));
  EXPECT_THAT(refused([](TracingOptions& o) {
                o.sampling_ratio = std::numeric_limits<double>::quiet_NaN();
              }),
              StatusIs(Errc::kInvalid));
  EXPECT_THAT(refused([](TracingOptions& o) {
                o.headers = {{"X-Key", "a\r\nInjected: 1"}};
              }),
              StatusIs(Errc::kInvalid));
  EXPECT_THAT(refused([](TracingOptions& o) {
                o.headers = {{"Bad Name", "v"}};
              }),
              StatusIs(Errc::kInvalid));
  EXPECT_THAT(refused([](TracingOptions& o) { o.max_queue = 0; }), StatusIs(Errc::kInvalid));
  EXPECT_THAT(refused([](TracingOptions& o) { o.max_batch = 0; }), StatusIs(Errc::kInvalid));
  EXPECT_FALSE(Span::Root("request").recording());  // nothing started
  EXPECT_OK(refused([](TracingOptions& o) { o.endpoint = "https://collector.example/v1/traces"; }));
}

TEST_F(TracingTest, StartAgainAppliesNewOptions) {
  const TraceContext remote = *ParseTraceparent(kSpecExample);
  Start(1.0);
  Span::Root("before").End();
  Start(0.0);
  EXPECT_FALSE(Span::Root("unsampled").recording());
  TracingOptions off;  // enabled = false stops tracing
  Span alive = Span::Root("alive", SpanKind::kServer, &remote);
  ASSERT_TRUE(alive.recording());
  const std::vector<Json> spans = Exported();
  ASSERT_EQ(spans.size(), 1u);  // queued before the change, exported after it
  EXPECT_EQ(spans[0]["name"], "before");
  ASSERT_OK(StartTracing(off));
  EXPECT_FALSE(Span::Root("request", SpanKind::kServer, &remote).recording());
  alive.End();  // ends after the stop: discarded, harmlessly
  EXPECT_OK(FlushTracing(1s));
  EXPECT_EQ(receiver_.Spans().size(), 1u);
}

TEST_F(TracingTest, StopExportsWhatIsQueued) {
  TracingOptions options = Options();
  options.batch_delay_ms = 60'000;
  ASSERT_OK(StartTracing(options));
  for (int i = 0; i < 5; ++i) Span::Root("request").End();
  StopTracing();
  EXPECT_EQ(receiver_.Spans().size(), 5u);
  EXPECT_FALSE(Span::Root("request").recording());
  StopTracing();  // stopping twice is harmless
  Start(1.0);     // and tracing starts again
  EXPECT_TRUE(Span::Root("request").recording());
}

// ---- Cost when off ----

// Spans on the request paths must cost next to nothing unless a trace is recorded: with
// tracing off, and with tracing on but the trace not sampled. Sanitizers make every access
// dearer (ASan: about 230 ns a pair), so their builds get a looser bound.
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
constexpr double kMaxNanosPerPair = 2000;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
constexpr double kMaxNanosPerPair = 2000;
#else
constexpr double kMaxNanosPerPair = 200;
#endif
#else
constexpr double kMaxNanosPerPair = 200;
#endif

double NanosPerRootAndChild() {
  constexpr int kPairs = 1'000'000;
  int recorded = 0;
  const auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < kPairs; ++i) {
    Span root = Span::Root("request");
    Span child = Span::Child("step");
    child.SetAttribute("i", i);
    recorded += root.recording() + child.recording();
  }
  const auto elapsed = std::chrono::steady_clock::now() - start;
  EXPECT_EQ(recorded, 0);
  return std::chrono::duration<double, std::nano>(elapsed).count() / kPairs;
}

TEST(TracingCostTest, RootAndChildCostLittleWhenTracingIsOff) {
  StopTracing();
  const double nanos = NanosPerRootAndChild();
  EXPECT_LT(nanos, kMaxNanosPerPair) << nanos << " ns per root and child";
}

TEST_F(TracingTest, RootAndChildCostLittleWhenNotSampled) {
  Start(0.0);
  const double nanos = NanosPerRootAndChild();
  EXPECT_LT(nanos, kMaxNanosPerPair) << nanos << " ns per root and child";
}

}  // namespace
}  // namespace dittofs::trace

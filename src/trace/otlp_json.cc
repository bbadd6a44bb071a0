// SPDX-License-Identifier: Apache-2.0
#include "trace/otlp_json.h"

#include <charconv>
#include <nlohmann/json.hpp>

#include "base/version.h"

namespace dittofs::trace::internal {
namespace {

using Json = nlohmann::json;

template <size_t N>
std::string Hex(const std::array<uint8_t, N>& bytes) {
  std::string out;
  out.reserve(2 * N);
  AppendHex(bytes.data(), N, out);
  return out;
}

// A KeyValue: {"key": ..., "value": {"stringValue" | "intValue" | "boolValue": ...}}.
// int64 values are strings in the JSON mapping.
Json KeyValue(const Attribute& attribute) {
  Json value;
  if (const auto* s = std::get_if<std::string>(&attribute.value)) {
    value["stringValue"] = *s;
  } else if (const auto* i = std::get_if<int64_t>(&attribute.value)) {
    value["intValue"] = std::to_string(*i);
  } else {
    value["boolValue"] = std::get<bool>(attribute.value);
  }
  return Json{{"key", attribute.key}, {"value", std::move(value)}};
}

Json EncodeSpan(const SpanData& span) {
  Json out = {
      {"traceId", Hex(span.context.trace_id)},
      {"spanId", Hex(span.context.span_id)},
      {"name", span.name},
      {"kind", static_cast<int>(span.kind)},
      {"startTimeUnixNano", std::to_string(span.start_unix_nanos)},
      {"endTimeUnixNano", std::to_string(span.end_unix_nanos)},
  };
  if (span.has_parent) out["parentSpanId"] = Hex(span.parent_span_id);
  Json attributes = Json::array();
  for (const Attribute& attribute : span.attributes) attributes.push_back(KeyValue(attribute));
  out["attributes"] = std::move(attributes);
  if (span.dropped_attributes > 0) out["droppedAttributesCount"] = span.dropped_attributes;
  // Status codes: 0 UNSET (left out), 1 OK, 2 ERROR.
  if (span.error) out["status"] = {{"code", 2}, {"message", span.status_message}};
  return out;
}

}  // namespace

std::string EncodeOtlpJson(const std::vector<SpanPtr>& spans, std::string_view service_name) {
  Json encoded = Json::array();
  for (const SpanPtr& span : spans) encoded.push_back(EncodeSpan(*span));
  Json resource = {
      {"attributes",
       {KeyValue({"service.name", std::string(service_name)}),
        KeyValue({"service.version", std::string(kVersion)})}},
  };
  Json scope_spans = {
      {"scope", {{"name", "dittofs"}, {"version", kVersion}}},
      {"spans", std::move(encoded)},
  };
  Json request = {
      {"resourceSpans", Json::array({{{"resource", std::move(resource)},
                                      {"scopeSpans", Json::array({std::move(scope_spans)})}}})},
  };
  return request.dump(-1, ' ', false, Json::error_handler_t::replace);
}

uint64_t RejectedSpans(std::string_view answer, std::string* message) {
  const Json parsed = Json::parse(answer, nullptr, /*allow_exceptions=*/false);
  if (!parsed.is_object()) return 0;
  const auto partial = parsed.find("partialSuccess");
  if (partial == parsed.end() || !partial->is_object()) return 0;
  uint64_t rejected = 0;
  if (const auto n = partial->find("rejectedSpans"); n != partial->end()) {
    if (n->is_number_unsigned()) {
      rejected = n->get<uint64_t>();
    } else if (n->is_string()) {
      const std::string& text = n->get_ref<const std::string&>();
      const char* end = text.data() + text.size();
      if (std::from_chars(text.data(), end, rejected).ptr != end) rejected = 0;
    }
  }
  if (const auto m = partial->find("errorMessage"); m != partial->end() && m->is_string()) {
    *message = m->get<std::string>();
  }
  return rejected;
}

}  // namespace dittofs::trace::internal

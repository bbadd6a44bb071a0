// SPDX-License-Identifier: Apache-2.0
#pragma once

// The OTLP/HTTP JSON body of an export (ExportTraceServiceRequest in the protobuf → JSON
// mapping OTLP specifies): one resource (service.name, service.version) with one scope
// ("dittofs") holding the spans. Ids are lowercase hex, 64-bit integers decimal strings, enums
// numbers. Not part of the library's interface.

#include <string>
#include <string_view>
#include <vector>

#include "trace/span_data.h"

namespace dittofs::trace::internal {

// Text that is not UTF-8 (names and paths clients chose) is sent with U+FFFD in its place.
std::string EncodeOtlpJson(const std::vector<SpanPtr>& spans, std::string_view service_name);

// The spans an accepted export's answer (ExportTraceServiceResponse) says were refused, its
// partialSuccess.rejectedSpans (a string or a number), and its errorMessage in `*message`. 0 for
// an answer with no partial success, or one that is not JSON (a collector's answer to a full
// success may be empty).
uint64_t RejectedSpans(std::string_view answer, std::string* message);

}  // namespace dittofs::trace::internal

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

}  // namespace dittofs::trace::internal

// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <string_view>

#include "base/status.h"
#include "net/http/http_server.h"

namespace dittofs::net {

inline constexpr std::string_view kProblemContentType = "application/problem+json";

// An RFC 7807 problem details response: `{"type", "title", "status", "detail"}` served as
// application/problem+json. `type` is "about:blank" unless given (RFC 7807 §4.2), in which case
// `title` should be the status's reason phrase.
HttpResponse Problem(int status, std::string_view title, std::string_view detail);
HttpResponse Problem(int status, std::string_view title, std::string_view detail,
                     std::string_view type);

// The standard reason phrase for `status` ("Not Found"), or "Unknown Status".
std::string_view ReasonPhrase(int status);

// The one mapping from runtime errors to HTTP statuses: kNotFound 404; kExists, kBusy and
// kConflict 409; kInvalid 400; kAccess and kPerm 403; kUnavailable 503; anything else 500.
int HttpStatusFor(Errc code);

// A problem for a non-ok status: title is the reason phrase, detail the status's message (or
// the error's name when it has none). A 500's detail is generic, so internal messages are
// logged rather than sent to the client.
// REQUIRES: !status.ok().
HttpResponse ProblemFor(const Status& status);

}  // namespace dittofs::net

// SPDX-License-Identifier: Apache-2.0
#include "net/http/problem.h"

#include <nlohmann/json.hpp>
#include <string>

#include "base/check.h"
#include "base/log.h"

namespace dittofs::net {

HttpResponse Problem(int status, std::string_view title, std::string_view detail) {
  return Problem(status, title, detail, "about:blank");
}

HttpResponse Problem(int status, std::string_view title, std::string_view detail,
                     std::string_view type) {
  nlohmann::json doc = {
      {"type", type},
      {"title", title},
      {"status", status},
      {"detail", detail},
  };
  HttpResponse response;
  response.status = status;
  response.content_type = std::string(kProblemContentType);
  // Invalid UTF-8 (say, echoed from a request) becomes U+FFFD rather than an exception.
  response.body = doc.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  return response;
}

std::string_view ReasonPhrase(int status) {
  switch (status) {
    case 200:
      return "OK";
    case 201:
      return "Created";
    case 202:
      return "Accepted";
    case 204:
      return "No Content";
    case 301:
      return "Moved Permanently";
    case 304:
      return "Not Modified";
    case 400:
      return "Bad Request";
    case 401:
      return "Unauthorized";
    case 403:
      return "Forbidden";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 406:
      return "Not Acceptable";
    case 408:
      return "Request Timeout";
    case 409:
      return "Conflict";
    case 411:
      return "Length Required";
    case 412:
      return "Precondition Failed";
    case 413:
      return "Content Too Large";
    case 414:
      return "URI Too Long";
    case 415:
      return "Unsupported Media Type";
    case 416:
      return "Range Not Satisfiable";
    case 422:
      return "Unprocessable Content";
    case 429:
      return "Too Many Requests";
    case 431:
      return "Request Header Fields Too Large";
    case 500:
      return "Internal Server Error";
    case 501:
      return "Not Implemented";
    case 503:
      return "Service Unavailable";
    default:
      return "Unknown Status";
  }
}

int HttpStatusFor(Errc code) {
  switch (code) {
    case Errc::kNotFound:
      return 404;
    case Errc::kExists:
    case Errc::kBusy:
    case Errc::kConflict:
      return 409;
    case Errc::kInvalid:
      return 400;
    case Errc::kAccess:
    case Errc::kPerm:
      return 403;
    case Errc::kUnavailable:
      return 503;
    default:
      return 500;
  }
}

HttpResponse ProblemFor(const Status& status) {
  CHECK(!status.ok()) << "ProblemFor an ok status";
  int http_status = HttpStatusFor(status.code());
  if (http_status == 500) {
    LOG_ERROR("http: internal error answered with 500: {}", status.ToString());
    return Problem(500, ReasonPhrase(500), "the server failed to handle the request");
  }
  std::string_view detail = status.message();
  if (detail.empty()) detail = ErrcName(status.code());
  return Problem(http_status, ReasonPhrase(http_status), detail);
}

}  // namespace dittofs::net

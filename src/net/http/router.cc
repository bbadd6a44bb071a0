// SPDX-License-Identifier: Apache-2.0
#include <algorithm>
#include <cctype>
#include <optional>
#include <set>
#include <string>
#include <utility>

#include "base/check.h"
#include "net/http/http_server.h"
#include "net/http/problem.h"

namespace dittofs::net {
namespace {

std::vector<std::string_view> SplitPath(std::string_view path) {
  std::vector<std::string_view> parts;
  // The leading '/' starts the first segment; "/" alone is one empty segment.
  path.remove_prefix(1);
  while (true) {
    size_t slash = path.find('/');
    parts.push_back(path.substr(0, slash));
    if (slash == std::string_view::npos) break;
    path.remove_prefix(slash + 1);
  }
  return parts;
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// RFC 3986 §2.1 percent-decoding of one path segment; nullopt for a malformed escape.
std::optional<std::string> DecodeSegment(std::string_view segment) {
  std::string out;
  out.reserve(segment.size());
  for (size_t i = 0; i < segment.size(); ++i) {
    if (segment[i] != '%') {
      out.push_back(segment[i]);
      continue;
    }
    if (i + 2 >= segment.size()) return std::nullopt;
    int hi = HexValue(segment[i + 1]);
    int lo = HexValue(segment[i + 2]);
    if (hi < 0 || lo < 0) return std::nullopt;
    out.push_back(static_cast<char>(hi * 16 + lo));
    i += 2;
  }
  return out;
}

}  // namespace

bool HttpHeaders::NameLess::operator()(std::string_view a, std::string_view b) const {
  return std::lexicographical_compare(a.begin(), a.end(), b.begin(), b.end(), [](char x, char y) {
    return std::tolower(static_cast<unsigned char>(x)) <
           std::tolower(static_cast<unsigned char>(y));
  });
}

void HttpHeaders::Set(std::string_view name, std::string_view value) {
  auto it = fields_.find(name);
  if (it == fields_.end()) {
    fields_.emplace(std::string(name), std::string(value));
  } else {
    it->second.assign(value);
  }
}

void HttpHeaders::Add(std::string_view name, std::string_view value) {
  auto it = fields_.find(name);
  if (it == fields_.end()) {
    fields_.emplace(std::string(name), std::string(value));
  } else {
    it->second.append(", ").append(value);
  }
}

void HttpHeaders::Remove(std::string_view name) {
  auto it = fields_.find(name);
  if (it != fields_.end()) fields_.erase(it);
}

const std::string* HttpHeaders::Find(std::string_view name) const {
  auto it = fields_.find(name);
  return it == fields_.end() ? nullptr : &it->second;
}

std::string_view HttpHeaders::Get(std::string_view name) const {
  const std::string* value = Find(name);
  return value == nullptr ? std::string_view() : std::string_view(*value);
}

void Router::Add(std::string_view method, std::string_view pattern, HttpHandler handler) {
  CHECK(!method.empty()) << "route " << pattern << ": empty method";
  CHECK(!pattern.empty() && pattern.front() == '/')
      << "route " << pattern << ": pattern must start with '/'";
  CHECK(handler != nullptr) << "route " << method << " " << pattern << ": no handler";
  Route route{std::string(method), {}, std::move(handler)};
  std::set<std::string_view> names;
  for (std::string_view part : SplitPath(pattern)) {
    bool is_param = part.size() >= 2 && part.front() == '{' && part.back() == '}';
    if (is_param) part = part.substr(1, part.size() - 2);
    CHECK(part.find_first_of("{}") == std::string_view::npos && !(is_param && part.empty()))
        << "route " << pattern << ": malformed segment '" << part << "'";
    CHECK(!is_param || names.insert(part).second)
        << "route " << pattern << ": parameter '" << part << "' appears twice";
    route.segments.push_back(Segment{std::string(part), is_param});
  }
  for (const Route& other : routes_) {
    bool same_shape =
        other.method == route.method &&
        std::equal(other.segments.begin(), other.segments.end(), route.segments.begin(),
                   route.segments.end(), [](const Segment& a, const Segment& b) {
                     return a.is_param == b.is_param && (a.is_param || a.text == b.text);
                   });
    CHECK(!same_shape) << "route " << method << " " << pattern << " is already taken";
  }
  routes_.push_back(std::move(route));
}

HttpResponse Router::Dispatch(HttpRequest request) const {
  if (request.path.empty() || request.path.front() != '/') {
    return Problem(404, ReasonPhrase(404), "no resource at this path");
  }
  std::vector<std::string> segments;
  for (std::string_view part : SplitPath(request.path)) {
    std::optional<std::string> decoded = DecodeSegment(part);
    if (!decoded) return Problem(400, ReasonPhrase(400), "the path has a malformed percent-escape");
    segments.push_back(std::move(*decoded));
  }

  auto matches = [&](const Route& route) {
    if (route.segments.size() != segments.size()) return false;
    for (size_t i = 0; i < segments.size(); ++i) {
      const Segment& s = route.segments[i];
      if (s.is_param ? segments[i].empty() : s.text != segments[i]) return false;
    }
    return true;
  };
  // The first segment where the two differ decides: a literal beats a parameter.
  auto more_specific = [](const Route& a, const Route& b) {
    for (size_t i = 0; i < a.segments.size(); ++i) {
      if (a.segments[i].is_param != b.segments[i].is_param) return !a.segments[i].is_param;
    }
    return false;
  };
  auto best_for = [&](std::string_view method) -> const Route* {
    const Route* best = nullptr;
    for (const Route& route : routes_) {
      if (route.method != method || !matches(route)) continue;
      if (best == nullptr || more_specific(route, *best)) best = &route;
    }
    return best;
  };

  const Route* route = best_for(request.method);
  if (route == nullptr && request.method == "HEAD") route = best_for("GET");
  if (route == nullptr) {
    std::set<std::string> allowed;
    for (const Route& r : routes_) {
      if (matches(r)) allowed.insert(r.method);
    }
    if (allowed.empty()) return Problem(404, ReasonPhrase(404), "no resource at this path");
    if (allowed.count("GET") != 0) allowed.insert("HEAD");
    std::string allow;
    for (const std::string& m : allowed) {
      if (!allow.empty()) allow += ", ";
      allow += m;
    }
    HttpResponse response = Problem(
        405, ReasonPhrase(405), "method " + request.method + " is not allowed here; use " + allow);
    response.headers.Set("Allow", allow);
    return response;
  }
  for (size_t i = 0; i < segments.size(); ++i) {
    if (route->segments[i].is_param) {
      request.path_params[route->segments[i].text] = std::move(segments[i]);
    }
  }
  return route->handler(request);
}

}  // namespace dittofs::net

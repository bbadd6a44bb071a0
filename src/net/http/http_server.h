// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"

namespace dittofs::net {

// Header fields by name, compared without regard to case (RFC 9110 §5.1). A field received more
// than once holds its values joined by ", " (RFC 9110 §5.3), so every name has one value.
class HttpHeaders {
 public:
  // Replaces any value `name` had.
  void Set(std::string_view name, std::string_view value);
  // Adds a value, joining it to the one `name` already has.
  void Add(std::string_view name, std::string_view value);
  void Remove(std::string_view name);

  // Null when the field is absent; valid until the headers next change.
  const std::string* Find(std::string_view name) const;
  // The field's value, or "" when it is absent.
  std::string_view Get(std::string_view name) const;
  bool Has(std::string_view name) const { return Find(name) != nullptr; }

  size_t size() const { return fields_.size(); }
  bool empty() const { return fields_.empty(); }
  // Fields in case-insensitive name order, with names as first set.
  auto begin() const { return fields_.begin(); }
  auto end() const { return fields_.end(); }

 private:
  struct NameLess {
    using is_transparent = void;
    bool operator()(std::string_view a, std::string_view b) const;
  };
  std::map<std::string, std::string, NameLess> fields_;
};

struct HttpRequest {
  std::string method;  // as sent: "GET", "POST", ...
  // The path of the request target, still percent-encoded, without the query.
  std::string path;
  // Filled by Router::Dispatch from the route's `{name}` segments, percent-decoded.
  std::map<std::string, std::string> path_params;
  // Decoded query parameters; for a repeated key, the first value.
  std::map<std::string, std::string> query;
  HttpHeaders headers;
  std::string body;
  std::string client_address;  // the peer's IP address

  // The header's value, or "" when it is absent; the name is matched without regard to case.
  std::string_view header(std::string_view name) const { return headers.Get(name); }
};

struct HttpResponse {
  int status = 200;
  std::string content_type = "application/json";  // ignored when the body is empty
  std::string body;
  HttpHeaders headers;  // extra fields, e.g. Allow or Location
};

// Handlers report every failure in the response they return (see problem.h); they must not
// throw. They run on the server's worker threads, several at once, once the whole request has
// arrived.
using HttpHandler = std::function<HttpResponse(const HttpRequest&)>;

// Maps a method and path to a handler. A pattern is an absolute path whose segments are either
// literal text or a `{name}` parameter matching one whole non-empty segment, as in
// "/api/v1/users/{id}". When several patterns match a path, the one whose first differing
// segment is literal wins, so "/users/me" beats "/users/{id}" whatever the order of Add calls.
// Add every route before serving; from then on Dispatch is safe to call from any thread.
class Router {
 public:
  // REQUIRES: `pattern` is well formed and no route for `method` has the same shape.
  void Add(std::string_view method, std::string_view pattern, HttpHandler handler);

  // Runs the handler for the request's method and path, with path_params filled in. Answers a
  // 404 problem when no pattern matches the path, and a 405 problem with an Allow header when
  // patterns match but none for this method. HEAD uses the GET route when it has none of its
  // own (the server drops the body).
  HttpResponse Dispatch(HttpRequest request) const;

 private:
  struct Segment {
    std::string text;  // the literal, or the parameter's name
    bool is_param = false;
  };
  struct Route {
    std::string method;
    std::vector<Segment> segments;
    HttpHandler handler;
  };
  std::vector<Route> routes_;
};

struct HttpServerOptions {
  std::string bind = "127.0.0.1";   // an IP address, never a name to resolve
  uint16_t port = 0;                // 0 picks a free port; see HttpServer::port()
  size_t max_body_bytes = 1 << 20;  // larger request bodies get 413, after decompression
  // Threads running handlers. Requests are received whole by one reading thread before a
  // worker sees them, so a slow client holds no worker, however many there are.
  size_t threads = 4;
  // A request, headers and body, must arrive within this long of its first byte (of the
  // connection's opening, for its first request). A client sending more slowly (a byte every
  // few seconds, say) gets 408 at the deadline and is disconnected.
  std::chrono::milliseconds request_timeout{std::chrono::seconds(30)};
  // How long sending a response may take.
  std::chrono::milliseconds write_timeout{std::chrono::seconds(10)};
  // How long an idle keep-alive connection is held open for its next request.
  std::chrono::milliseconds keep_alive_timeout{std::chrono::seconds(2)};
  // Connections open at once. A new one at the cap closes the connection that has waited
  // longest for its request to arrive (only when every connection has a request being served
  // is it refused). Each connection buffers at most one request (max_body_bytes plus headers),
  // so this also bounds memory.
  size_t max_connections = 128;
  // A trace span per request (docs/tracing.md), a child of the W3C `traceparent` the request
  // carries, when it has one.
  bool trace = false;
};

// Serves HTTP/1.1 on one address through a Router. Every error response the server makes
// itself (unknown route, oversized body, malformed request, a handler that threw) is an
// RFC 7807 problem+json document.
// port() may be called from any thread; Stop() from any thread but a handler's.
class HttpServer {
 public:
  // Binds, listens and starts serving; fails with kUnavailable when the address cannot be
  // bound (taken, or not local). `router` must outlive the server.
  static Result<std::unique_ptr<HttpServer>> Start(const HttpServerOptions& options,
                                                   Router& router);

  virtual ~HttpServer() = default;  // implementations Stop()

  // The port actually bound.
  virtual uint16_t port() const = 0;
  // Stops accepting, lets requests in flight finish and closes every connection; returns when
  // all serving threads have exited. Idempotent.
  virtual void Stop() = 0;
};

}  // namespace dittofs::net

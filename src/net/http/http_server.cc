// SPDX-License-Identifier: Apache-2.0
#include "net/http/http_server.h"

#include <arpa/inet.h>
#include <httplib.h>
#include <sys/socket.h>

#include <atomic>
#include <exception>
#include <thread>
#include <utility>

#include "base/log.h"
#include "base/mutex.h"
#include "net/http/problem.h"

namespace dittofs::net {
namespace {

// httplib matches its own routes against the decoded path with std::regex_match; this matches
// every path, newlines included, so the Router alone decides what exists.
constexpr char kAnyPath[] = R"([\s\S]*)";

bool IsIpAddress(const std::string& address) {
  in6_addr buffer;
  return inet_pton(AF_INET, address.c_str(), &buffer) == 1 ||
         inet_pton(AF_INET6, address.c_str(), &buffer) == 1;
}

// Copies `response` into httplib's, refusing a status no client could understand.
void WriteResponse(const HttpResponse& response, httplib::Response& out) {
  if (response.status < 100 || response.status > 599) {
    LOG_ERROR("http: handler returned status {}", response.status);
    WriteResponse(Problem(500, ReasonPhrase(500), "the server failed to handle the request"), out);
    return;
  }
  out.status = response.status;
  for (const auto& [name, value] : response.headers) out.set_header(name, value);
  if (!response.body.empty()) out.set_content(response.body, response.content_type);
}

class HttplibServer final : public HttpServer {
 public:
  HttplibServer(Router& router, size_t max_body_bytes)
      : router_(router), max_body_bytes_(max_body_bytes) {}
  ~HttplibServer() override { Stop(); }

  Status Listen(const HttpServerOptions& options);

  uint16_t port() const override { return port_; }

  void Stop() override {
    MutexLock lock(&stop_mu_);
    if (!listener_.joinable()) return;
    server_.stop();
    listener_.join();  // the listener joins the workers, so requests in flight finish first
  }

 private:
  // Serves one request. `reader` is null when httplib has already read the body (or there is
  // none); otherwise the body is read here, so that its size can be bounded after decoding.
  void Serve(const httplib::Request& in, httplib::Response& out,
             const httplib::ContentReader* reader);

  Router& router_;
  const size_t max_body_bytes_;
  httplib::Server server_;
  uint16_t port_ = 0;
  std::atomic<bool> listener_done_{false};
  Mutex stop_mu_;
  std::thread listener_ GUARDED_BY(stop_mu_);
};

Status HttplibServer::Listen(const HttpServerOptions& options) {
  // httplib owns and deletes the queue it is given.
  size_t threads = options.threads;
  server_.new_task_queue = [threads] { return new httplib::ThreadPool(threads); };
  server_.set_payload_max_length(max_body_bytes_);
  server_.set_read_timeout(options.read_timeout);
  server_.set_write_timeout(options.read_timeout);
  server_.set_keep_alive_timeout(options.keep_alive_timeout.count());
  // httplib's default also sets SO_REUSEPORT, which would let a second server share a taken
  // port; SO_REUSEADDR alone only permits rebinding over TIME_WAIT connections.
  server_.set_socket_options([](socket_t sock) {
    int yes = 1;
    setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof(yes));
  });

  auto plain = [this](const httplib::Request& in, httplib::Response& out) {
    Serve(in, out, nullptr);
  };
  auto with_body = [this](const httplib::Request& in, httplib::Response& out,
                          const httplib::ContentReader& reader) { Serve(in, out, &reader); };
  server_.Get(kAnyPath, plain);  // HEAD too
  server_.Options(kAnyPath, plain);
  server_.Post(kAnyPath, with_body);
  server_.Post(kAnyPath, plain);
  server_.Put(kAnyPath, with_body);
  server_.Put(kAnyPath, plain);
  server_.Patch(kAnyPath, with_body);
  server_.Patch(kAnyPath, plain);
  server_.Delete(kAnyPath, with_body);
  server_.Delete(kAnyPath, plain);

  // Errors httplib answers itself (malformed requests, unsupported methods) arrive here with an
  // empty body; give them a problem document. Our own responses already have one.
  server_.set_error_handler(httplib::Server::HandlerWithResponse([](const httplib::Request&,
                                                                    httplib::Response& out) {
    if (!out.body.empty()) return httplib::Server::HandlerResponse::Unhandled;
    HttpResponse problem = Problem(out.status, ReasonPhrase(out.status), ReasonPhrase(out.status));
    out.set_content(problem.body, problem.content_type);
    return httplib::Server::HandlerResponse::Handled;
  }));
  server_.set_exception_handler([](const httplib::Request&, httplib::Response& out,
                                   std::exception_ptr) {
    LOG_ERROR("http: exception while serving a request");
    WriteResponse(Problem(500, ReasonPhrase(500), "the server failed to handle the request"), out);
  });

  if (options.port == 0) {
    int port = server_.bind_to_any_port(options.bind);
    if (port < 0) {
      return Status(Errc::kUnavailable,
                    fmt::format("http: cannot bind {} on any port", options.bind));
    }
    port_ = static_cast<uint16_t>(port);
  } else {
    if (!server_.bind_to_port(options.bind, options.port)) {
      return Status(Errc::kUnavailable,
                    fmt::format("http: cannot bind {} port {} (in use, or not a local address)",
                                options.bind, options.port));
    }
    port_ = options.port;
  }

  // httplib's stop() does nothing until the listener is running, so wait for it (or for its
  // failure) before handing the server out.
  {
    MutexLock lock(&stop_mu_);
    listener_ = std::thread([this] {
      if (!server_.listen_after_bind()) LOG_WARN("http: listener on port {} failed", port_);
      listener_done_.store(true);
    });
  }
  while (!server_.is_running() && !listener_done_.load()) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  if (!server_.is_running()) {
    Stop();
    return Status(Errc::kUnavailable, fmt::format("http: listener on port {} failed", port_));
  }
  return Status::Ok();
}

void HttplibServer::Serve(const httplib::Request& in, httplib::Response& out,
                          const httplib::ContentReader* reader) {
  HttpRequest request;
  request.method = in.method;
  request.path = in.target.substr(0, in.target.find('?'));
  for (const auto& [key, value] : in.params) request.query.emplace(key, value);  // first wins
  for (const auto& [name, value] : in.headers) request.headers.Add(name, value);
  request.client_address = in.remote_addr;

  if (reader == nullptr) {
    request.body = in.body;
  } else {
    // A body over the limit is read on and dropped, up to kDrainBytes, so that the client (still
    // sending) gets the 413 instead of a connection reset; past that the connection is cut.
    constexpr size_t kDrainBytes = size_t{1} << 20;
    bool too_large = false;
    size_t dropped = 0;
    bool complete = (*reader)([&](const char* data, size_t size) {
      if (too_large || size > max_body_bytes_ - request.body.size()) {
        too_large = true;
        dropped += size;
        return dropped <= kDrainBytes;
      }
      request.body.append(data, size);
      return true;
    });
    // httplib itself refuses (and skips) a Content-Length over the limit, answering 413.
    too_large = too_large || out.status == 413;
    if (too_large || !complete) {
      HttpResponse problem =
          too_large ? Problem(413, ReasonPhrase(413),
                              fmt::format("the request body exceeds {} bytes", max_body_bytes_))
                    : Problem(400, ReasonPhrase(400), "the request body could not be read");
      // What is left of the body may be unread, so this connection cannot carry another request.
      problem.headers.Set("Connection", "close");
      WriteResponse(problem, out);
      return;
    }
  }

  HttpResponse response;
  try {
    response = router_.Dispatch(std::move(request));
  } catch (const std::exception& e) {
    // Handlers must not throw; the text may hold internals, so it goes to the log only.
    LOG_ERROR("http: handler for {} {} threw: {}", in.method, in.path, e.what());
    response = Problem(500, ReasonPhrase(500), "the server failed to handle the request");
  } catch (...) {
    LOG_ERROR("http: handler for {} {} threw", in.method, in.path);
    response = Problem(500, ReasonPhrase(500), "the server failed to handle the request");
  }
  WriteResponse(response, out);
}

}  // namespace

Result<std::unique_ptr<HttpServer>> HttpServer::Start(const HttpServerOptions& options,
                                                      Router& router) {
  if (!IsIpAddress(options.bind)) {
    return Status(Errc::kInvalid,
                  fmt::format("http: bind address '{}' is not an IP address", options.bind));
  }
  if (options.threads == 0) return Status(Errc::kInvalid, "http: threads must be at least 1");
  auto server = std::make_unique<HttplibServer>(router, options.max_body_bytes);
  RETURN_IF_ERROR(server->Listen(options));
  return std::unique_ptr<HttpServer>(std::move(server));
}

}  // namespace dittofs::net

// SPDX-License-Identifier: Apache-2.0
// The HTTP server: one reading thread receives whole requests from every connection (epoll,
// non-blocking, each request under a deadline); only then does a worker run it, through
// cpp-httplib's request handling, and send the response. A slow client therefore holds a few
// bytes of buffer, never a worker, and cannot keep others from being served.
#include "net/http/http_server.h"

#include <arpa/inet.h>
#include <httplib.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <exception>
#include <thread>
#include <unordered_map>
#include <utility>
#include <vector>

#include "base/log.h"
#include "base/mutex.h"
#include "base/thread_pool.h"
#include "net/http/problem.h"
#include "net/http/request_framer.h"
#include "trace/trace.h"

namespace dittofs::net {
namespace {

using Clock = std::chrono::steady_clock;

// httplib matches its own routes against the decoded path with std::regex_match; this matches
// every path, newlines included, so the Router alone decides what exists.
constexpr char kAnyPath[] = R"([\s\S]*)";

// A body over the limit is read on and dropped, up to kDrainBytes, so that the client (still
// sending) gets the 413 instead of a connection reset; past that the connection is cut.
constexpr size_t kDrainBytes = size_t{1} << 20;
constexpr size_t kMaxHeadBytes = 64 * 1024;
// Requests one connection may carry (httplib's default, which its Keep-Alive header announces).
constexpr size_t kKeepAliveMaxCount = CPPHTTPLIB_KEEPALIVE_MAX_COUNT;

constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";

std::string ErrnoText() { return std::strerror(errno); }

bool IsIpAddress(const std::string& address) {
  in6_addr buffer;
  return inet_pton(AF_INET, address.c_str(), &buffer) == 1 ||
         inet_pton(AF_INET6, address.c_str(), &buffer) == 1;
}

// The numeric address and port of a socket address.
void AddressAndPort(const sockaddr_storage& addr, std::string* ip, int* port) {
  char text[INET6_ADDRSTRLEN] = "";
  if (addr.ss_family == AF_INET) {
    const auto& v4 = reinterpret_cast<const sockaddr_in&>(addr);
    inet_ntop(AF_INET, &v4.sin_addr, text, sizeof(text));
    *port = ntohs(v4.sin_port);
  } else if (addr.ss_family == AF_INET6) {
    const auto& v6 = reinterpret_cast<const sockaddr_in6&>(addr);
    inet_ntop(AF_INET6, &v6.sin6_addr, text, sizeof(text));
    *port = ntohs(v6.sin6_port);
  }
  *ip = text;
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

// Sends all of `bytes` to non-blocking `fd`, waiting for room until `deadline`.
bool SendAll(int fd, std::string_view bytes, Clock::time_point deadline) {
  while (!bytes.empty()) {
    ssize_t n = ::send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL);
    if (n > 0) {
      bytes.remove_prefix(static_cast<size_t>(n));
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
      if (left.count() <= 0) return false;
      pollfd p{fd, POLLOUT, 0};
      if (::poll(&p, 1, static_cast<int>(left.count())) < 0 && errno != EINTR) return false;
      continue;
    }
    return false;
  }
  return true;
}

// One client connection. The reading thread owns it while a request arrives, then a worker
// while the request is served; it moves between them as a unique_ptr.
struct Connection {
  Connection(int fd, RequestFramer::Limits limits) : fd(fd), framer(limits) {}
  ~Connection() { ::close(fd); }

  const int fd;
  std::string peer_ip, local_ip;
  int peer_port = 0, local_port = 0;
  RequestFramer framer;
  // When the reading thread gives up on the request (or, before one starts, on the connection).
  Clock::time_point deadline;
  // When the connection began waiting in the reading thread: the longest waiting makes room.
  Clock::time_point waiting_since;
  size_t served = 0;  // requests answered
};

// Set while a worker runs one exchange: the response announced "Connection: close".
thread_local bool* response_closes = nullptr;

// One request, received whole, as httplib reads it; what httplib writes is gathered and sent
// when the response is complete (one send, so Nagle's algorithm never delays its tail).
class ExchangeStream final : public httplib::Stream {
 public:
  ExchangeStream(const Connection& conn, Clock::time_point write_deadline)
      : conn_(conn), request_(conn.framer.request()), write_deadline_(write_deadline) {}

  bool is_readable() const override { return true; }
  bool is_writable() const override { return true; }
  ssize_t read(char* ptr, size_t size) override {
    // The request ends here: what follows belongs to the next one. A truncated request reads
    // as a failed one, so that httplib never takes it for complete.
    if (pos_ == request_.size()) return conn_.framer.truncated() ? -1 : 0;
    size_t n = std::min(size, request_.size() - pos_);
    std::memcpy(ptr, request_.data() + pos_, n);
    pos_ += n;
    return static_cast<ssize_t>(n);
  }
  ssize_t write(const char* ptr, size_t size) override {
    // The body has arrived already, so httplib's "100 Continue" would come too late; the
    // reading thread sent one when the client waited for it.
    if (std::string_view(ptr, size) == kContinue) return static_cast<ssize_t>(size);
    out_.append(ptr, size);
    if (out_.size() >= 256 * 1024 && !Flush()) return -1;
    return static_cast<ssize_t>(size);
  }
  void get_remote_ip_and_port(std::string& ip, int& port) const override {
    ip = conn_.peer_ip;
    port = conn_.peer_port;
  }
  void get_local_ip_and_port(std::string& ip, int& port) const override {
    ip = conn_.local_ip;
    port = conn_.local_port;
  }
  // httplib asks only to refuse descriptors its select() could not watch; this stream never
  // lets it wait on the socket, so it reports none (and a server with many files open keeps
  // answering).
  socket_t socket() const override { return INVALID_SOCKET; }

  bool Flush() {
    bool ok = SendAll(conn_.fd, out_, write_deadline_);
    out_.clear();
    return ok;
  }

 private:
  const Connection& conn_;
  const std::string_view request_;
  const Clock::time_point write_deadline_;
  size_t pos_ = 0;
  std::string out_;
};

// httplib's handling of one request (parsing, handler dispatch, decompression, the response),
// run over a stream that holds the whole request.
class RequestProcessor final : public httplib::Server {
 public:
  // Returns false when the response could not be sent.
  bool Process(httplib::Stream& stream, bool close_connection, bool& connection_closed) {
    return process_request(stream, close_connection, connection_closed, nullptr);
  }
};

class EpollHttpServer final : public HttpServer {
 public:
  EpollHttpServer(Router& router, const HttpServerOptions& options)
      : router_(router), options_(options) {}
  ~EpollHttpServer() override { Stop(); }

  Status Listen();
  uint16_t port() const override { return port_; }
  void Stop() override;

 private:
  // Serves one request. `reader` is null when httplib has already read the body (or there is
  // none); otherwise the body is read here, so that its size can be bounded after decoding.
  void Serve(const httplib::Request& in, httplib::Response& out,
             const httplib::ContentReader* reader);
  void SetUpProcessor();

  // --- the reading thread ---
  void ReadLoop();
  void AcceptAll();
  void Add(std::unique_ptr<Connection> conn);
  // Reads what `conn` has sent; hands a complete request to a worker.
  void OnReadable(int fd);
  // Acts on the framer's state after new bytes: hand over, answer an error, or wait for more.
  void Advance(std::unique_ptr<Connection>& conn, RequestFramer::State state);
  void HandOver(std::unique_ptr<Connection> conn);
  void CloseReading(int fd);
  // Best effort (never blocks): an error response, then the connection is closed.
  void Refuse(int fd, int status, std::string_view detail);
  void ExpireDeadlines();
  int MillisecondsToNextDeadline() const;
  void TakeReturned();
  void Wake();

  // --- on a worker ---
  void Exchange(std::unique_ptr<Connection> conn);

  Router& router_;
  const HttpServerOptions options_;
  RequestProcessor processor_;
  int listen_fd_ = -1;
  int epoll_fd_ = -1;
  int wake_fd_ = -1;  // an eventfd: Stop, or connections handed back
  uint16_t port_ = 0;
  std::atomic<bool> stopping_{false};
  // Connections a worker holds (or gave back, until the reading thread takes them).
  std::atomic<size_t> serving_{0};

  // The reading thread's own: connections waiting for (the rest of) a request, by fd.
  std::unordered_map<int, std::unique_ptr<Connection>> reading_;

  Mutex mu_;
  // Keep-alive connections workers gave back, for the reading thread to take.
  std::vector<std::unique_ptr<Connection>> returned_ GUARDED_BY(mu_);

  // Made before the reading thread starts and destroyed after it is joined: the reading thread
  // submits to it without a lock.
  std::unique_ptr<ThreadPool> workers_;

  Mutex stop_mu_;
  bool stopped_ GUARDED_BY(stop_mu_) = false;
  std::thread reader_ GUARDED_BY(stop_mu_);
};

void EpollHttpServer::SetUpProcessor() {
  processor_.set_payload_max_length(options_.max_body_bytes);
  processor_.set_keep_alive_max_count(kKeepAliveMaxCount);
  // Only for the Keep-Alive header httplib writes; this server applies the timeout itself.
  processor_.set_keep_alive_timeout(std::max<time_t>(
      1, std::chrono::ceil<std::chrono::seconds>(options_.keep_alive_timeout).count()));

  auto plain = [this](const httplib::Request& in, httplib::Response& out) {
    Serve(in, out, nullptr);
  };
  auto with_body = [this](const httplib::Request& in, httplib::Response& out,
                          const httplib::ContentReader& reader) { Serve(in, out, &reader); };
  processor_.Get(kAnyPath, plain);  // HEAD too
  processor_.Options(kAnyPath, plain);
  processor_.Post(kAnyPath, with_body);
  processor_.Post(kAnyPath, plain);
  processor_.Put(kAnyPath, with_body);
  processor_.Put(kAnyPath, plain);
  processor_.Patch(kAnyPath, with_body);
  processor_.Patch(kAnyPath, plain);
  processor_.Delete(kAnyPath, with_body);
  processor_.Delete(kAnyPath, plain);

  // Errors httplib answers itself (malformed requests, unsupported methods) arrive here with an
  // empty body; give them a problem document. Our own responses already have one.
  processor_.set_error_handler(httplib::Server::HandlerWithResponse([](const httplib::Request&,
                                                                       httplib::Response& out) {
    if (!out.body.empty()) return httplib::Server::HandlerResponse::Unhandled;
    HttpResponse problem = Problem(out.status, ReasonPhrase(out.status), ReasonPhrase(out.status));
    out.set_content(problem.body, problem.content_type);
    return httplib::Server::HandlerResponse::Handled;
  }));
  processor_.set_exception_handler([](const httplib::Request&, httplib::Response& out,
                                      std::exception_ptr) {
    LOG_ERROR("http: exception while serving a request");
    WriteResponse(Problem(500, ReasonPhrase(500), "the server failed to handle the request"), out);
  });
  // Every response passes here last: one that says it closes the connection does.
  processor_.set_post_routing_handler([](const httplib::Request&, httplib::Response& out) {
    if (response_closes != nullptr && out.get_header_value("Connection") == "close") {
      *response_closes = true;
    }
  });
}

Status EpollHttpServer::Listen() {
  SetUpProcessor();
  sockaddr_storage addr{};
  socklen_t addr_len = 0;
  auto* v4 = reinterpret_cast<sockaddr_in*>(&addr);
  auto* v6 = reinterpret_cast<sockaddr_in6*>(&addr);
  if (inet_pton(AF_INET, options_.bind.c_str(), &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons(options_.port);
    addr_len = sizeof(sockaddr_in);
  } else {
    inet_pton(AF_INET6, options_.bind.c_str(), &v6->sin6_addr);  // checked by Start
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons(options_.port);
    addr_len = sizeof(sockaddr_in6);
  }
  listen_fd_ = ::socket(addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (listen_fd_ < 0) return Status(Errc::kUnavailable, "http: socket: " + ErrnoText());
  // SO_REUSEADDR only permits rebinding over TIME_WAIT connections (SO_REUSEPORT, which would
  // let a second server share a taken port, is not set).
  int yes = 1;
  setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof(yes));
  if (::bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), addr_len) != 0 ||
      ::listen(listen_fd_, SOMAXCONN) != 0) {
    std::string why = ErrnoText();
    return Status(Errc::kUnavailable,
                  options_.port == 0
                      ? fmt::format("http: cannot bind {} on any port: {}", options_.bind, why)
                      : fmt::format("http: cannot bind {} port {} (in use, or not a local "
                                    "address): {}",
                                    options_.bind, options_.port, why));
  }
  sockaddr_storage bound{};
  socklen_t bound_len = sizeof(bound);
  getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&bound), &bound_len);
  std::string ignored;
  int port = 0;
  AddressAndPort(bound, &ignored, &port);
  port_ = static_cast<uint16_t>(port);

  epoll_fd_ = epoll_create1(EPOLL_CLOEXEC);
  wake_fd_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (epoll_fd_ < 0 || wake_fd_ < 0) return Status(Errc::kUnavailable, "http: " + ErrnoText());
  for (int fd : {listen_fd_, wake_fd_}) {
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.fd = fd;
    if (epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, fd, &ev) != 0) {
      return Status(Errc::kUnavailable, "http: epoll: " + ErrnoText());
    }
  }
  workers_ = std::make_unique<ThreadPool>(options_.threads, 0, "dfs-http");
  MutexLock lock(&stop_mu_);
  reader_ = std::thread([this] { ReadLoop(); });
  return Status::Ok();
}

void EpollHttpServer::Stop() {
  MutexLock lock(&stop_mu_);
  if (stopped_) return;
  stopped_ = true;
  stopping_.store(true);
  if (reader_.joinable()) {
    Wake();
    reader_.join();  // it closes the listener and every connection still being read
  }
  workers_.reset();  // requests handed over finish; their connections then close
  std::vector<std::unique_ptr<Connection>> returned;
  {
    MutexLock returned_lock(&mu_);
    returned.swap(returned_);
  }
  returned.clear();  // given back after the reading thread left
  for (int* fd : {&listen_fd_, &epoll_fd_, &wake_fd_}) {
    if (*fd >= 0) ::close(*fd);
    *fd = -1;
  }
}

void EpollHttpServer::Wake() {
  uint64_t one = 1;
  ssize_t ignored = ::write(wake_fd_, &one, sizeof(one));
  (void)ignored;
}

void EpollHttpServer::ReadLoop() {
  NameThisThread("dfs-http-read");
  epoll_event events[64];
  while (!stopping_.load()) {
    int n = epoll_wait(epoll_fd_, events, 64, MillisecondsToNextDeadline());
    if (n < 0 && errno != EINTR) {
      LOG_ERROR("http: epoll_wait: {}", ErrnoText());
      break;
    }
    for (int i = 0; i < n; ++i) {
      int fd = events[i].data.fd;
      if (fd == listen_fd_) {
        AcceptAll();
      } else if (fd == wake_fd_) {
        uint64_t count;
        ssize_t ignored = ::read(wake_fd_, &count, sizeof(count));
        (void)ignored;
        TakeReturned();
      } else {
        OnReadable(fd);
      }
    }
    ExpireDeadlines();
  }
  epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, listen_fd_, nullptr);
  ::close(listen_fd_);  // new connections are refused from now on
  listen_fd_ = -1;
  reading_.clear();
}

void EpollHttpServer::AcceptAll() {
  for (;;) {
    sockaddr_storage peer{};
    socklen_t peer_len = sizeof(peer);
    int fd = ::accept4(listen_fd_, reinterpret_cast<sockaddr*>(&peer), &peer_len,
                       SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == EINTR || errno == ECONNABORTED) continue;
      if (errno != EAGAIN && errno != EWOULDBLOCK) LOG_WARN("http: accept: {}", ErrnoText());
      return;
    }
    auto conn = std::make_unique<Connection>(
        fd, RequestFramer::Limits{.max_head_bytes = kMaxHeadBytes,
                                  .max_body_bytes = options_.max_body_bytes,
                                  .drain_bytes = kDrainBytes});
    AddressAndPort(peer, &conn->peer_ip, &conn->peer_port);
    sockaddr_storage local{};
    socklen_t local_len = sizeof(local);
    getsockname(fd, reinterpret_cast<sockaddr*>(&local), &local_len);
    AddressAndPort(local, &conn->local_ip, &conn->local_port);
    int yes = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &yes, sizeof(yes));

    if (reading_.size() + serving_.load() >= options_.max_connections) {
      // Make room by closing the connection that has waited longest for its request: a client
      // that sends slowly (or not at all) gives way to new ones, which usually take
      // milliseconds. When every connection is being served, the newcomer is refused.
      auto oldest = reading_.end();
      for (auto it = reading_.begin(); it != reading_.end(); ++it) {
        if (oldest == reading_.end() || it->second->waiting_since < oldest->second->waiting_since) {
          oldest = it;
        }
      }
      if (oldest == reading_.end()) {
        LOG_WARN("http: refusing a connection from {}: {} connections busy", conn->peer_ip,
                 serving_.load());
        continue;  // closed with conn
      }
      LOG_INFO("http: closing the connection from {} that waited longest, to admit one from {}",
               oldest->second->peer_ip, conn->peer_ip);
      CloseReading(oldest->first);
    }
    Clock::time_point now = Clock::now();
    conn->waiting_since = now;
    conn->deadline = now + options_.request_timeout;
    Add(std::move(conn));
  }
}

void EpollHttpServer::Add(std::unique_ptr<Connection> conn) {
  epoll_event ev{};
  ev.events = EPOLLIN | EPOLLRDHUP;
  ev.data.fd = conn->fd;
  if (epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, conn->fd, &ev) != 0) {
    LOG_WARN("http: epoll: {}", ErrnoText());
    return;  // closed with conn
  }
  int fd = conn->fd;
  reading_[fd] = std::move(conn);
}

void EpollHttpServer::OnReadable(int fd) {
  auto it = reading_.find(fd);
  if (it == reading_.end()) return;
  std::unique_ptr<Connection>& conn = it->second;
  char buffer[16 * 1024];
  // At most this much per wakeup, so that one fast sender cannot starve the others.
  for (int reads = 0; reads < 16; ++reads) {
    ssize_t n = ::recv(fd, buffer, sizeof(buffer), 0);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;
    if (n <= 0) {  // the client left (mid-request or not) or the connection broke
      CloseReading(fd);
      return;
    }
    if (!conn->framer.started()) conn->deadline = Clock::now() + options_.request_timeout;
    RequestFramer::State state = conn->framer.Add(std::string_view(buffer, static_cast<size_t>(n)));
    if (state != RequestFramer::State::kIncomplete) {
      Advance(conn, state);
      return;
    }
    if (conn->framer.TakeContinue() && !SendAll(fd, kContinue, Clock::now())) {
      CloseReading(fd);
      return;
    }
  }
}

void EpollHttpServer::Advance(std::unique_ptr<Connection>& conn, RequestFramer::State state) {
  int fd = conn->fd;
  switch (state) {
    case RequestFramer::State::kIncomplete:
      return;
    case RequestFramer::State::kHeadTooLarge:
      Refuse(fd, 431, fmt::format("the request head exceeds {} bytes", kMaxHeadBytes));
      return;
    case RequestFramer::State::kComplete: {
      epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, fd, nullptr);
      std::unique_ptr<Connection> taken = std::move(conn);
      reading_.erase(fd);
      HandOver(std::move(taken));
      return;
    }
  }
}

void EpollHttpServer::HandOver(std::unique_ptr<Connection> conn) {
  serving_.fetch_add(1);
  workers_->Submit([this, conn = std::move(conn)]() mutable { Exchange(std::move(conn)); });
}

void EpollHttpServer::CloseReading(int fd) {
  epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, fd, nullptr);
  reading_.erase(fd);  // closes it
}

void EpollHttpServer::Refuse(int fd, int status, std::string_view detail) {
  HttpResponse problem = Problem(status, ReasonPhrase(status), detail);
  std::string text = fmt::format(
      "HTTP/1.1 {} {}\r\nContent-Type: {}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{}",
      status, ReasonPhrase(status), problem.content_type, problem.body.size(), problem.body);
  ssize_t ignored = ::send(fd, text.data(), text.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
  (void)ignored;
  CloseReading(fd);
}

void EpollHttpServer::ExpireDeadlines() {
  Clock::time_point now = Clock::now();
  std::vector<int> expired;
  for (const auto& [fd, conn] : reading_) {
    if (conn->deadline <= now) expired.push_back(fd);
  }
  for (int fd : expired) {
    const Connection& conn = *reading_.at(fd);
    if (conn.framer.started()) {
      LOG_INFO("http: closing the connection from {}: its request did not arrive within {} ms",
               conn.peer_ip, options_.request_timeout.count());
      Refuse(fd, 408, "the request did not arrive in time");
    } else {
      CloseReading(fd);  // an idle keep-alive connection
    }
  }
}

int EpollHttpServer::MillisecondsToNextDeadline() const {
  if (reading_.empty()) return -1;
  Clock::time_point next = Clock::time_point::max();
  for (const auto& [fd, conn] : reading_) next = std::min(next, conn->deadline);
  auto wait = std::chrono::ceil<std::chrono::milliseconds>(next - Clock::now()).count();
  return static_cast<int>(std::clamp<int64_t>(wait, 0, 60'000));
}

void EpollHttpServer::TakeReturned() {
  std::vector<std::unique_ptr<Connection>> returned;
  {
    MutexLock lock(&mu_);
    returned.swap(returned_);
  }
  serving_.fetch_sub(returned.size());  // counted as served until now, for the cap
  for (std::unique_ptr<Connection>& conn : returned) {
    // What the client sent after the request (a pipelined one) is framed at once.
    RequestFramer::State state = conn->framer.Next();
    Clock::time_point now = Clock::now();
    conn->waiting_since = now;
    conn->deadline =
        now + (conn->framer.started() ? options_.request_timeout : options_.keep_alive_timeout);
    int fd = conn->fd;
    Add(std::move(conn));
    auto it = reading_.find(fd);
    if (it != reading_.end()) Advance(it->second, state);
  }
}

void EpollHttpServer::Exchange(std::unique_ptr<Connection> conn) {
  bool close_connection =
      stopping_.load() || conn->framer.truncated() || conn->served + 1 >= kKeepAliveMaxCount;
  bool connection_closed = false;
  bool closes = false;
  bool sent;
  {
    ExchangeStream stream(*conn, Clock::now() + options_.write_timeout);
    response_closes = &closes;
    sent = processor_.Process(stream, close_connection, connection_closed);
    response_closes = nullptr;
    sent = stream.Flush() && sent;
  }
  ++conn->served;
  bool keep = sent && !close_connection && !connection_closed && !closes && !stopping_.load();
  if (!keep) {
    serving_.fetch_sub(1);
    return;  // closed with conn
  }
  {
    MutexLock lock(&mu_);
    returned_.push_back(std::move(conn));
  }
  Wake();
}

void EpollHttpServer::Serve(const httplib::Request& in, httplib::Response& out,
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
    // The body has arrived already, but may be compressed: httplib decodes it here, and a body
    // over the limit after decoding is dropped (up to kDrainBytes more).
    bool too_large = false;
    size_t dropped = 0;
    bool complete = (*reader)([&](const char* data, size_t size) {
      if (too_large || size > options_.max_body_bytes - request.body.size()) {
        too_large = true;
        dropped += size;
        return dropped <= kDrainBytes;
      }
      request.body.append(data, size);
      return true;
    });
    // httplib itself refuses a Content-Length over the limit, answering 413.
    too_large = too_large || out.status == 413;
    if (too_large || !complete) {
      HttpResponse problem =
          too_large
              ? Problem(413, ReasonPhrase(413),
                        fmt::format("the request body exceeds {} bytes", options_.max_body_bytes))
              : Problem(400, ReasonPhrase(400), "the request body could not be read");
      // What is left of the body may be unread, so this connection cannot carry another request.
      problem.headers.Set("Connection", "close");
      WriteResponse(problem, out);
      return;
    }
  }

  HttpResponse response;
  trace::Span span;
  if (options_.trace) {
    const std::optional<trace::TraceContext> parent =
        trace::ParseTraceparent(request.header("traceparent"));
    span = trace::Span::Root(fmt::format("HTTP {}", in.method), trace::SpanKind::kServer,
                             parent ? &*parent : nullptr);
    if (span.recording()) {
      span.SetAttribute("http.request.method", in.method);
      span.SetAttribute("url.path", in.path);
      span.SetAttribute("client.address", request.client_address);
    }
  }
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
  if (span.recording()) {
    span.SetAttribute("http.response.status_code", static_cast<int64_t>(response.status));
    if (response.status >= 500) span.SetError(fmt::format("HTTP {}", response.status));
  }
  span.End();
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
  if (options.max_connections == 0) {
    return Status(Errc::kInvalid, "http: max_connections must be at least 1");
  }
  auto server = std::make_unique<EpollHttpServer>(router, options);
  RETURN_IF_ERROR(server->Listen());
  return std::unique_ptr<HttpServer>(std::move(server));
}

}  // namespace dittofs::net

// SPDX-License-Identifier: Apache-2.0
// Drives an HttpServer over real HTTP on loopback with cpp-httplib's client.
#include "net/http/http_server.h"

#include <arpa/inet.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <httplib.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "net/http/json_body.h"
#include "net/http/problem.h"
#include "testing/status_matchers.h"

namespace dittofs::net {
namespace {

using ::dittofs::testing::StatusIs;
using ::testing::HasSubstr;

constexpr size_t kMaxBody = 1024;

HttpResponse Json(int status, const nlohmann::json& doc) {
  HttpResponse response;
  response.status = status;
  response.body = doc.dump();
  return response;
}

// Expects an RFC 7807 document with this status and returns it.
nlohmann::json ExpectProblem(const httplib::Result& result, int status) {
  EXPECT_TRUE(result) << httplib::to_string(result.error());
  if (!result) return {};
  EXPECT_EQ(result->status, status);
  EXPECT_EQ(result->get_header_value("Content-Type"), "application/problem+json");
  nlohmann::json doc = nlohmann::json::parse(result->body, nullptr, /*allow_exceptions=*/false);
  EXPECT_TRUE(doc.is_object()) << result->body;
  if (!doc.is_object()) return {};
  EXPECT_EQ(doc["type"], "about:blank");
  EXPECT_EQ(doc["status"], status);
  EXPECT_TRUE(doc["title"].is_string());
  EXPECT_TRUE(doc["detail"].is_string());
  return doc;
}

class HttpServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    router_.Add("GET", "/api/v1/users/{id}", [](const HttpRequest& request) {
      return Json(200,
                  {{"id", request.path_params.at("id")},
                   {"verbose", request.query.count("verbose") ? request.query.at("verbose") : ""},
                   {"agent", std::string(request.header("x-test-agent"))},
                   {"client", request.client_address}});
    });
    router_.Add("POST", "/api/v1/users", [](const HttpRequest& request) {
      Result<JsonObject> user = JsonObject::Parse(request.body, {"name", "uid"});
      if (!user.ok()) return ProblemFor(user.status());
      Result<std::string> name = user->GetString("name");
      if (!name.ok()) return ProblemFor(name.status());
      Result<int64_t> uid = user->GetInt("uid");
      if (!uid.ok()) return ProblemFor(uid.status());
      HttpResponse response = Json(201, {{"name", *name}, {"uid", *uid}});
      response.headers.Set("Location", "/api/v1/users/" + *name);
      return response;
    });
    router_.Add("PUT", "/echo", [](const HttpRequest& request) {
      HttpResponse response;
      response.content_type = "application/octet-stream";
      response.body = request.body;
      return response;
    });
    router_.Add("DELETE", "/api/v1/users/{id}", [](const HttpRequest&) {
      HttpResponse response;
      response.status = 204;
      return response;
    });
    router_.Add("GET", "/throw", [](const HttpRequest&) -> HttpResponse {
      throw std::runtime_error("secret internals");
    });
    router_.Add("GET", "/slow", [this](const HttpRequest&) {
      {
        std::lock_guard<std::mutex> lock(slow_mu_);
        slow_started_ = true;
      }
      slow_cv_.notify_all();
      std::this_thread::sleep_for(std::chrono::milliseconds(300));
      return Json(200, {{"slow", true}});
    });
    HttpServerOptions options;
    options.max_body_bytes = kMaxBody;
    options.request_timeout = std::chrono::seconds(5);
    Result<std::unique_ptr<HttpServer>> server = HttpServer::Start(options, router_);
    ASSERT_OK(server);
    server_ = std::move(server).value();
    ASSERT_NE(server_->port(), 0);
  }

  httplib::Client Client() {
    httplib::Client client("127.0.0.1", server_->port());
    client.set_connection_timeout(std::chrono::seconds(5));
    client.set_read_timeout(std::chrono::seconds(5));
    return client;
  }

  Router router_;
  std::unique_ptr<HttpServer> server_;
  std::mutex slow_mu_;
  std::condition_variable slow_cv_;
  bool slow_started_ = false;
};

TEST_F(HttpServerTest, RoutesWithPathParamsQueryAndHeaders) {
  httplib::Client client = Client();
  httplib::Result result =
      client.Get("/api/v1/users/al%20ice?verbose=yes", {{"X-Test-Agent", "gtest"}});
  ASSERT_TRUE(result) << httplib::to_string(result.error());
  EXPECT_EQ(result->status, 200);
  EXPECT_EQ(result->get_header_value("Content-Type"), "application/json");
  nlohmann::json doc = nlohmann::json::parse(result->body);
  EXPECT_EQ(doc["id"], "al ice");
  EXPECT_EQ(doc["verbose"], "yes");
  EXPECT_EQ(doc["agent"], "gtest");
  EXPECT_EQ(doc["client"], "127.0.0.1");
}

TEST_F(HttpServerTest, PostCreatesWithHeaders) {
  httplib::Client client = Client();
  httplib::Result result =
      client.Post("/api/v1/users", R"({"name":"bob","uid":1001})", "application/json");
  ASSERT_TRUE(result);
  EXPECT_EQ(result->status, 201);
  EXPECT_EQ(result->get_header_value("Location"), "/api/v1/users/bob");
  EXPECT_EQ(nlohmann::json::parse(result->body)["uid"], 1001);
}

TEST_F(HttpServerTest, NoContentHasNoBodyOrContentType) {
  httplib::Client client = Client();
  httplib::Result result = client.Delete("/api/v1/users/bob");
  ASSERT_TRUE(result);
  EXPECT_EQ(result->status, 204);
  EXPECT_EQ(result->body, "");
  EXPECT_FALSE(result->has_header("Content-Type"));
}

TEST_F(HttpServerTest, HeadUsesGetRouteWithoutBody) {
  httplib::Client client = Client();
  httplib::Result result = client.Head("/api/v1/users/bob");
  ASSERT_TRUE(result);
  EXPECT_EQ(result->status, 200);
  EXPECT_EQ(result->body, "");
}

TEST_F(HttpServerTest, UnknownPathIsNotFoundProblem) {
  httplib::Client client = Client();
  nlohmann::json doc = ExpectProblem(client.Get("/api/v2/nothing"), 404);
  EXPECT_EQ(doc["title"], "Not Found");
  // Decoded newlines must not slip past the catch-all route.
  ExpectProblem(client.Get("/api/v1/users/a%0Ab/x"), 404);
}

TEST_F(HttpServerTest, WrongMethodIsMethodNotAllowedWithAllow) {
  httplib::Client client = Client();
  httplib::Result result = client.Patch("/api/v1/users/bob", "{}", "application/json");
  ExpectProblem(result, 405);
  ASSERT_TRUE(result);
  EXPECT_EQ(result->get_header_value("Allow"), "DELETE, GET, HEAD");
}

TEST_F(HttpServerTest, BodyWithinLimitReachesHandler) {
  httplib::Client client = Client();
  std::string body(kMaxBody, 'x');
  httplib::Result result = client.Put("/echo", body, "application/octet-stream");
  ASSERT_TRUE(result);
  EXPECT_EQ(result->status, 200);
  EXPECT_EQ(result->body, body);
  EXPECT_EQ(result->get_header_value("Content-Type"), "application/octet-stream");
}

TEST_F(HttpServerTest, OversizedBodyIsContentTooLarge) {
  httplib::Client client = Client();
  nlohmann::json doc =
      ExpectProblem(client.Put("/echo", std::string(kMaxBody + 1, 'x'), "text/plain"), 413);
  EXPECT_THAT(doc["detail"].get<std::string>(), HasSubstr("1024 bytes"));
  // The server keeps serving.
  httplib::Client again = Client();
  httplib::Result result = again.Put("/echo", "ok", "text/plain");
  ASSERT_TRUE(result);
  EXPECT_EQ(result->body, "ok");
}

// PUTs a chunked body of `total` bytes in `chunk_bytes` pieces, stopping early if the server
// stops taking them; `*sent` counts what went out.
httplib::Result PutChunked(httplib::Client& client, size_t chunk_bytes, size_t total,
                           size_t* sent) {
  *sent = 0;
  return client.Put(
      "/echo",
      [&, chunk = std::string(chunk_bytes, 'y')](size_t, httplib::DataSink& sink) {
        if (*sent < total) {
          if (!sink.write(chunk.data(), chunk.size())) return false;
          *sent += chunk.size();
        } else {
          sink.done();
        }
        return true;
      },
      "text/plain");
}

TEST_F(HttpServerTest, OversizedChunkedBodyIsContentTooLarge) {
  httplib::Client client = Client();
  size_t sent = 0;
  ExpectProblem(PutChunked(client, 256, 4 * kMaxBody, &sent), 413);
}

// A client that goes on sending far past the limit is cut off (413 or a reset, whichever it sees
// first), and the server goes on serving others.
TEST_F(HttpServerTest, EndlessChunkedBodyIsCutOff) {
  httplib::Client client = Client();
  size_t sent = 0;
  httplib::Result result = PutChunked(client, 64 * 1024, 64 * 1024 * 1024, &sent);
  if (result) {
    EXPECT_EQ(result->status, 413);
  }
  EXPECT_LT(sent, size_t{64 * 1024 * 1024});
  httplib::Client other = Client();
  httplib::Result next = other.Get("/api/v1/users/7");
  ASSERT_TRUE(next) << httplib::to_string(next.error());
  EXPECT_EQ(next->status, 200);
}

TEST_F(HttpServerTest, StrictJsonErrorsAreBadRequestProblems) {
  httplib::Client client = Client();
  struct Case {
    std::string body;
    std::string detail;
  };
  for (const Case& c : std::vector<Case>{
           {R"({"name":"bob","uid":"1001"})", "field 'uid' must be an integer"},
           {R"({"name":"bob","uid":1,"admin":true})", "unknown field 'admin'"},
           {R"(["bob"])", "request body must be a JSON object"},
           {R"({"name":"bob"})", "field 'uid' is required"},
       }) {
    nlohmann::json doc =
        ExpectProblem(client.Post("/api/v1/users", c.body, "application/json"), 400);
    EXPECT_EQ(doc["detail"], c.detail) << c.body;
  }
  nlohmann::json doc = ExpectProblem(client.Post("/api/v1/users", "{", "application/json"), 400);
  EXPECT_THAT(doc["detail"].get<std::string>(), HasSubstr("not valid JSON"));
}

TEST_F(HttpServerTest, ThrowingHandlerIsInternalErrorWithoutTheText) {
  httplib::Client client = Client();
  httplib::Result result = client.Get("/throw");
  nlohmann::json doc = ExpectProblem(result, 500);
  ASSERT_TRUE(result);
  EXPECT_EQ(result->body.find("secret"), std::string::npos);
  for (const auto& [name, value] : result->headers) {
    EXPECT_EQ(value.find("secret"), std::string::npos) << name;
  }
}

TEST_F(HttpServerTest, ErrorsHttplibAnswersItselfAreProblems) {
  httplib::Client client = Client();
  httplib::Request request;
  request.method = "BREW";  // not a method httplib parses
  request.path = "/api/v1/users/bob";
  ExpectProblem(client.send(request), 400);
}

TEST_F(HttpServerTest, ServesConcurrentClients) {
  constexpr int kThreads = 8;
  constexpr int kRequestsEach = 25;
  std::atomic<int> ok{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      httplib::Client client = Client();
      for (int i = 0; i < kRequestsEach; ++i) {
        std::string id = std::to_string(t) + "-" + std::to_string(i);
        httplib::Result result = client.Get("/api/v1/users/" + id);
        if (result && result->status == 200 && nlohmann::json::parse(result->body)["id"] == id) {
          ok.fetch_add(1);
        }
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  EXPECT_EQ(ok.load(), kThreads * kRequestsEach);
}

TEST_F(HttpServerTest, StopWhileIdleIsPromptAndRefusesNewConnections) {
  uint16_t port = server_->port();
  auto start = std::chrono::steady_clock::now();
  server_->Stop();
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));
  server_->Stop();  // idempotent
  httplib::Client client("127.0.0.1", port);
  client.set_connection_timeout(std::chrono::seconds(1));
  // Tests run in parallel: another server may already have been given this ephemeral port, so
  // what must not happen is our handler answering.
  httplib::Result after = client.Get("/api/v1/users/bob");
  EXPECT_TRUE(!after || after->status != 200) << "the stopped server still answered";
}

TEST_F(HttpServerTest, StopLetsARequestInFlightFinish) {
  int status = 0;
  std::string body;
  std::thread request([&] {
    httplib::Client client = Client();
    httplib::Result result = client.Get("/slow");
    if (!result) return;
    status = result->status;
    body = result->body;
  });
  {
    std::unique_lock<std::mutex> lock(slow_mu_);
    ASSERT_TRUE(slow_cv_.wait_for(lock, std::chrono::seconds(5), [&] { return slow_started_; }));
  }
  server_->Stop();
  request.join();
  EXPECT_EQ(status, 200);
  EXPECT_EQ(body, R"({"slow":true})");
}

TEST_F(HttpServerTest, BindFailureOnATakenPortIsAStatus) {
  HttpServerOptions options;
  options.port = server_->port();
  EXPECT_THAT(HttpServer::Start(options, router_), StatusIs(Errc::kUnavailable));
}

// A client socket driven by hand, for clients too slow for a real HTTP client library.
class RawClient {
 public:
  explicit RawClient(uint16_t port) : fd_(::socket(AF_INET, SOCK_STREAM, 0)) {
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    inet_pton(AF_INET, "127.0.0.1", &addr.sin_addr);
    connected_ = ::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0;
  }
  ~RawClient() { ::close(fd_); }
  RawClient(const RawClient&) = delete;
  RawClient& operator=(const RawClient&) = delete;

  bool connected() const { return connected_; }
  bool Send(std::string_view bytes) {
    return ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL) ==
           static_cast<ssize_t>(bytes.size());
  }
  // Reads what the server sends within `timeout_ms`; true when it then closed the connection.
  bool ReadUntilClosed(int timeout_ms, std::string* received) {
    for (;;) {
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, timeout_ms) <= 0) return false;
      char buffer[4096];
      ssize_t n = ::recv(fd_, buffer, sizeof(buffer), 0);
      if (n == 0 || (n < 0 && errno == ECONNRESET)) return true;
      if (n < 0) return false;
      received->append(buffer, static_cast<size_t>(n));
    }
  }

 private:
  int fd_;
  bool connected_ = false;
};

double SecondsSince(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

// A slowloris sends its request a byte at a time, each well within any per-read timeout; the
// whole request has a deadline all the same.
TEST_F(HttpServerTest, SlowRequestIsCutAtTheRequestDeadline) {
  HttpServerOptions options;
  options.request_timeout = std::chrono::seconds(1);
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<HttpServer> server, HttpServer::Start(options, router_));
  RawClient slow(server->port());
  ASSERT_TRUE(slow.connected());
  auto start = std::chrono::steady_clock::now();
  std::string request =
      "GET /api/v1/users/7 HTTP/1.1\r\nHost: x\r\nX-Padding: " + std::string(100, 'p') + "\r\n\r\n";
  std::string received;
  bool closed = false;
  for (char c : request) {
    if (!slow.Send(std::string_view(&c, 1))) break;  // cut off
    if (slow.ReadUntilClosed(200, &received)) {
      closed = true;
      break;
    }
    if (SecondsSince(start) > 4) break;
  }
  if (!closed) closed = slow.ReadUntilClosed(1000, &received);
  EXPECT_TRUE(closed) << "still connected after " << SecondsSince(start) << " s";
  EXPECT_GE(SecondsSince(start), 0.9);
  EXPECT_LE(SecondsSince(start), 2.5);
  EXPECT_THAT(received, HasSubstr("408")) << "the client is told why";
}

// Slow clients hold connections, not the threads that run handlers: others are served at once.
TEST_F(HttpServerTest, SlowClientsDoNotHoldUpOthers) {
  std::vector<std::unique_ptr<RawClient>> slow;
  for (int i = 0; i < 16; ++i) {
    slow.push_back(std::make_unique<RawClient>(server_->port()));
    ASSERT_TRUE(slow.back()->connected());
    // Half a head, and half a body.
    ASSERT_TRUE(i % 2 == 0 ? slow.back()->Send("GET /api/v1/users/1 HTTP/1.1\r\nHo")
                           : slow.back()->Send("PUT /echo HTTP/1.1\r\nContent-Length: 10\r\n"
                                               "\r\nabc"));
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  for (int i = 0; i < 3; ++i) {
    auto start = std::chrono::steady_clock::now();
    httplib::Client client = Client();
    httplib::Result result = client.Get("/api/v1/users/7");
    ASSERT_TRUE(result) << httplib::to_string(result.error());
    EXPECT_EQ(result->status, 200);
    httplib::Result put = client.Put("/echo", "fast", "text/plain");
    ASSERT_TRUE(put) << httplib::to_string(put.error());
    EXPECT_EQ(put->body, "fast");
    EXPECT_LT(SecondsSince(start), 1.0);
  }
}

// At the connection cap, the connection waiting longest for its request makes room.
TEST_F(HttpServerTest, AtTheConnectionCapTheLongestWaitingMakesRoom) {
  HttpServerOptions options;
  options.max_connections = 4;
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<HttpServer> server, HttpServer::Start(options, router_));
  std::vector<std::unique_ptr<RawClient>> idle;
  for (int i = 0; i < 4; ++i) {
    idle.push_back(std::make_unique<RawClient>(server->port()));
    ASSERT_TRUE(idle.back()->Send("GET /"));
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  httplib::Client client("127.0.0.1", server->port());
  client.set_read_timeout(std::chrono::seconds(5));
  httplib::Result result = client.Get("/api/v1/users/7");
  ASSERT_TRUE(result) << httplib::to_string(result.error());
  EXPECT_EQ(result->status, 200);
  std::string received;
  EXPECT_TRUE(idle[0]->ReadUntilClosed(2000, &received)) << "the oldest made room";
}

TEST(HttpServerStartTest, RejectsBadOptions) {
  Router router;
  HttpServerOptions options;
  options.bind = "localhost";  // names are not resolved
  EXPECT_THAT(HttpServer::Start(options, router), StatusIs(Errc::kInvalid));
  options.bind = "127.0.0.1";
  options.threads = 0;
  EXPECT_THAT(HttpServer::Start(options, router), StatusIs(Errc::kInvalid));
  options.threads = 1;
  options.bind = "192.0.2.1";  // TEST-NET-1: not an address of this machine
  EXPECT_THAT(HttpServer::Start(options, router), StatusIs(Errc::kUnavailable));
}

}  // namespace
}  // namespace dittofs::net

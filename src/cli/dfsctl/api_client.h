// SPDX-License-Identifier: Apache-2.0
#pragma once

// A client of the control plane's REST API (docs/api.md) for one saved context. It sends the
// context's access token and, when the server answers 401, trades the refresh token for a
// new access token once, saves it, and retries the request.

#include <chrono>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "base/result.h"
#include "cli/dfsctl/contexts.h"

namespace dittofs::dfsctl {

using json = nlohmann::json;

// Where a server URL points. `host` keeps IPv6 brackets ("[::1]").
struct ServerUrl {
  std::string scheme;  // http or https
  std::string host;
  int port = 0;
};
Result<ServerUrl> ParseServerUrl(std::string_view url);

// Percent-encodes one path segment (a share name "/export" becomes "%2Fexport").
std::string PathSegment(std::string_view segment);

// An API error's Status carries the problem's detail and the HTTP status in its message.
// A request the server refused because the password must be changed first says so and names
// the command that changes it.
class ApiClient {
 public:
  // Uses the current context (or `context_name` when not empty). Fails when there is no such
  // context or it is logged out.
  static Result<ApiClient> Open(const std::string& context_name = "");

  // Sends a request to `path` (starting with /api/v1) with `body` (null for none). Returns
  // the parsed response body, null when it is empty.
  Result<json> Call(std::string_view method, const std::string& path, const json& body = nullptr);
  Result<json> Get(const std::string& path) { return Call("GET", path); }

  const Context& context() const { return contexts_.by_name.at(name_); }

  // How long Call waits for an answer (default 60 s); long-running requests such as a share's
  // sync raise it.
  void set_read_timeout(std::chrono::seconds timeout) { read_timeout_ = timeout; }

  // POST /api/v1/auth/login without a context: the token answer.
  static Result<json> Login(const std::string& server, const std::string& username,
                            const std::string& password);

  // Trades the refresh token for a new access token and saves it (after a password change,
  // this is what lifts the must-change-password restriction).
  Status Refresh();

 private:
  ApiClient(Contexts contexts, std::string name)
      : contexts_(std::move(contexts)), name_(std::move(name)) {}

  Contexts contexts_;
  std::string name_;
  std::chrono::seconds read_timeout_{60};
};

}  // namespace dittofs::dfsctl

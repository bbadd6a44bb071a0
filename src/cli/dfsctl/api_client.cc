// SPDX-License-Identifier: Apache-2.0
#include "cli/dfsctl/api_client.h"

#include <httplib.h>

#include <cctype>
#include <charconv>

namespace dittofs::dfsctl {
namespace {

constexpr time_t kConnectTimeoutSeconds = 10;
constexpr std::chrono::seconds kReadTimeout{60};  // login and refresh

struct Response {
  int status = 0;
  json body;  // null when empty or not JSON
};

Errc ErrcForHttp(int status) {
  switch (status) {
    case 400:
    case 413:
      return Errc::kInvalid;
    case 401:
    case 403:
      return Errc::kAccess;
    case 404:
      return Errc::kNotFound;
    case 409:
      return Errc::kExists;
    case 429:
      return Errc::kBusy;
    case 503:
      return Errc::kUnavailable;
    default:
      return Errc::kInternal;
  }
}

// The Status of an error response: the problem's detail (else its title), then the status.
Status ProblemStatus(const Response& r) {
  std::string detail;
  if (r.body.is_object()) {
    for (const char* key : {"detail", "title"}) {
      auto it = r.body.find(key);
      if (it != r.body.end() && it->is_string() && !it->get<std::string>().empty()) {
        detail = it->get<std::string>();
        break;
      }
    }
  }
  if (detail.empty()) detail = "request failed";
  std::string message = detail + " (HTTP " + std::to_string(r.status) + ")";
  if (r.status == 403 && detail.find("password must be changed") != std::string::npos) {
    message += "\nThe password must be changed first: run `dfsctl user change-password`.";
  }
  return Status(ErrcForHttp(r.status), message);
}

Result<Response> Send(const std::string& server, std::string_view method, const std::string& path,
                      const json& body, const std::string& token,
                      std::chrono::seconds read_timeout = kReadTimeout) {
  ASSIGN_OR_RETURN(ServerUrl url, ParseServerUrl(server));
  httplib::Client http(url.scheme + "://" + url.host + ":" + std::to_string(url.port));
  http.set_url_encode(false);  // paths arrive encoded by PathSegment
  http.set_connection_timeout(kConnectTimeoutSeconds, 0);
  http.set_read_timeout(static_cast<time_t>(read_timeout.count()), 0);
  httplib::Headers headers;
  if (!token.empty()) headers.emplace("Authorization", "Bearer " + token);
  std::string text = body.is_null() ? "" : body.dump();
  const char* type = "application/json";
  if (method != "GET" && method != "POST" && method != "PUT" && method != "PATCH" &&
      method != "DELETE") {
    return Status(Errc::kInvalid, "unknown HTTP method " + std::string(method));
  }
  auto send = [&]() {
    if (method == "POST") return http.Post(path, headers, text, type);
    if (method == "PUT") return http.Put(path, headers, text, type);
    if (method == "PATCH") return http.Patch(path, headers, text, type);
    if (method == "DELETE") return http.Delete(path, headers);
    return http.Get(path, headers);
  };
  httplib::Result r = send();
  if (!r) {
    return Status(Errc::kUnavailable,
                  "cannot reach " + server + ": " + httplib::to_string(r.error()));
  }
  Response response;
  response.status = r->status;
  if (!r->body.empty()) response.body = json::parse(r->body, nullptr, false);
  if (response.body.is_discarded()) response.body = nullptr;
  return response;
}

}  // namespace

Result<ServerUrl> ParseServerUrl(std::string_view url) {
  ServerUrl out;
  size_t scheme_end = url.find("://");
  std::string_view rest = url;
  if (scheme_end != std::string_view::npos) {
    out.scheme = std::string(url.substr(0, scheme_end));
    rest = url.substr(scheme_end + 3);
  } else {
    out.scheme = "http";
  }
  if (out.scheme != "http" && out.scheme != "https") {
    return Status(Errc::kInvalid,
                  "server URL " + std::string(url) + ": scheme must be http or https");
  }
  rest = rest.substr(0, rest.find('/'));
  std::string_view port_text;
  if (!rest.empty() && rest.front() == '[') {
    size_t close = rest.find(']');
    if (close == std::string_view::npos) {
      return Status(Errc::kInvalid, "server URL " + std::string(url) + ": unclosed '['");
    }
    out.host = std::string(rest.substr(0, close + 1));
    if (close + 1 < rest.size() && rest[close + 1] == ':') port_text = rest.substr(close + 2);
  } else {
    size_t colon = rest.find(':');
    out.host = std::string(rest.substr(0, colon));
    if (colon != std::string_view::npos) port_text = rest.substr(colon + 1);
  }
  if (out.host.empty())
    return Status(Errc::kInvalid, "server URL " + std::string(url) + ": no host");
  out.port = out.scheme == "https" ? 443 : 80;
  if (!port_text.empty()) {
    auto [end, ec] =
        std::from_chars(port_text.data(), port_text.data() + port_text.size(), out.port);
    if (ec != std::errc() || end != port_text.data() + port_text.size() || out.port < 1 ||
        out.port > 65535) {
      return Status(Errc::kInvalid, "server URL " + std::string(url) + ": bad port");
    }
  }
  return out;
}

std::string PathSegment(std::string_view segment) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (char c : segment) {
    auto u = static_cast<unsigned char>(c);
    if (std::isalnum(u) || c == '-' || c == '.' || c == '_' || c == '~') {
      out += c;
    } else {
      out += '%';
      out += kHex[u >> 4];
      out += kHex[u & 0xF];
    }
  }
  return out;
}

Result<ApiClient> ApiClient::Open(const std::string& context_name) {
  ASSIGN_OR_RETURN(Contexts contexts, LoadContexts());
  std::string name = context_name.empty() ? contexts.current : context_name;
  if (name.empty() || !contexts.by_name.contains(name)) {
    return Status(Errc::kNotFound,
                  name.empty()
                      ? "no current context; run `dfsctl login` first"
                      : "no context named " + name + "; run `dfsctl login --context " + name + "`");
  }
  if (contexts.by_name.at(name).access_token.empty()) {
    return Status(Errc::kAccess, "context " + name + " is logged out; run `dfsctl login`");
  }
  return ApiClient(std::move(contexts), std::move(name));
}

Result<json> ApiClient::Login(const std::string& server, const std::string& username,
                              const std::string& password) {
  ASSIGN_OR_RETURN(Response r, Send(server, "POST", "/api/v1/auth/login",
                                    {{"username", username}, {"password", password}}, ""));
  if (r.status != 200) return ProblemStatus(r);
  if (!r.body.is_object() || !r.body.contains("access_token")) {
    return Status(Errc::kInternal, "login answered without an access token");
  }
  return r.body;
}

Status ApiClient::Refresh() {
  Context& c = contexts_.by_name.at(name_);
  if (c.refresh_token.empty()) return Status(Errc::kAccess, "no refresh token");
  ASSIGN_OR_RETURN(Response r, Send(c.server, "POST", "/api/v1/auth/refresh",
                                    {{"refresh_token", c.refresh_token}}, ""));
  if (r.status != 200 || !r.body.is_object() || !r.body.contains("access_token") ||
      !r.body["access_token"].is_string()) {
    return Status(Errc::kAccess, "the session has expired; run `dfsctl login` again");
  }
  c.access_token = r.body["access_token"].get<std::string>();
  // Save into a fresh read of the file, so a concurrent change to another context survives.
  ASSIGN_OR_RETURN(Contexts latest, LoadContexts());
  latest.by_name[name_] = c;
  return SaveContexts(latest);
}

Result<json> ApiClient::Call(std::string_view method, const std::string& path, const json& body) {
  const Context& c = context();
  ASSIGN_OR_RETURN(Response r, Send(c.server, method, path, body, c.access_token, read_timeout_));
  if (r.status == 401) {
    RETURN_IF_ERROR(Refresh());
    const Context& refreshed = context();
    ASSIGN_OR_RETURN(
        r, Send(refreshed.server, method, path, body, refreshed.access_token, read_timeout_));
  }
  if (r.status < 200 || r.status >= 300) return ProblemStatus(r);
  return r.body;
}

}  // namespace dittofs::dfsctl

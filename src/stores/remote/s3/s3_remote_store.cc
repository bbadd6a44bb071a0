// SPDX-License-Identifier: Apache-2.0
#include "stores/remote/s3/s3_remote_store.h"

#include <curl/curl.h>
#include <fmt/format.h>
#include <stdlib.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <cstring>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "base/mutex.h"
#include "base/random.h"
#include "base/thread_pool.h"
#include "trace/trace.h"

namespace dittofs::stores {
namespace {

constexpr std::chrono::milliseconds kMaxBackoff{20'000};

// RFC 3986 percent-encoding as SigV4 wants it: everything but unreserved characters, and '/'
// too unless `keep_slash`. curl signs the URL's path and query as given, so they must already be
// in this canonical form.
std::string UriEncode(std::string_view s, bool keep_slash) {
  std::string out;
  for (char c : s) {
    if (std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.' ||
        c == '~' || (keep_slash && c == '/')) {
      out += c;
    } else {
      out += fmt::format("%{:02X}", static_cast<unsigned char>(c));
    }
  }
  return out;
}

// Decodes the five predefined XML entities and numeric character references (ASCII only: keys
// are ASCII).
std::string XmlUnescape(std::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '&') {
      out += s[i];
      continue;
    }
    size_t semi = s.find(';', i);
    if (semi == std::string_view::npos) {
      out += s.substr(i);
      break;
    }
    std::string_view entity = s.substr(i + 1, semi - i - 1);
    if (entity == "amp") {
      out += '&';
    } else if (entity == "lt") {
      out += '<';
    } else if (entity == "gt") {
      out += '>';
    } else if (entity == "quot") {
      out += '"';
    } else if (entity == "apos") {
      out += '\'';
    } else if (entity.starts_with("#x") || entity.starts_with("#X")) {
      out += static_cast<char>(std::strtoul(std::string(entity.substr(2)).c_str(), nullptr, 16));
    } else if (entity.starts_with("#")) {
      out += static_cast<char>(std::strtoul(std::string(entity.substr(1)).c_str(), nullptr, 10));
    } else {
      out += s.substr(i, semi - i + 1);  // not an entity we know: keep it as it is
    }
    i = semi;
  }
  return out;
}

// The text of the first <tag>...</tag> in `xml` at or after `from`, unescaped; nullopt when
// absent. Enough for S3's flat responses, whose elements of interest hold only text.
std::optional<std::string> XmlText(std::string_view xml, std::string_view tag, size_t from = 0) {
  std::string open = fmt::format("<{}>", tag);
  std::string close = fmt::format("</{}>", tag);
  size_t begin = xml.find(open, from);
  if (begin == std::string_view::npos) return std::nullopt;
  begin += open.size();
  size_t end = xml.find(close, begin);
  if (end == std::string_view::npos) return std::nullopt;
  return XmlUnescape(xml.substr(begin, end - begin));
}

struct CurlDeleter {
  void operator()(CURL* h) const { curl_easy_cleanup(h); }
};
using CurlHandle = std::unique_ptr<CURL, CurlDeleter>;

struct CurlListDeleter {
  void operator()(curl_slist* l) const { curl_slist_free_all(l); }
};
using CurlList = std::unique_ptr<curl_slist, CurlListDeleter>;

struct Request {
  const char* method = "GET";  // GET, PUT or DELETE
  std::string url;
  std::string range;  // a Range header's value, or empty
  ByteView body;      // PUT only
};

struct Response {
  CURLcode curl = CURLE_OK;
  std::string curl_error;
  long status = 0;
  std::string body;
};

// The body being uploaded by one attempt.
struct Upload {
  ByteView data;
  size_t done = 0;
};

size_t ReadBody(char* out, size_t size, size_t count, void* arg) {
  auto* upload = static_cast<Upload*>(arg);
  size_t n = std::min(size * count, upload->data.size() - upload->done);
  std::memcpy(out, upload->data.data() + upload->done, n);
  upload->done += n;
  return n;
}

size_t WriteBody(char* data, size_t size, size_t count, void* arg) {
  static_cast<std::string*>(arg)->append(data, size * count);
  return size * count;
}

bool Retryable(const Response& r) {
  if (r.curl != CURLE_OK) {
    switch (r.curl) {
      case CURLE_URL_MALFORMAT:
      case CURLE_UNSUPPORTED_PROTOCOL:
      case CURLE_OUT_OF_MEMORY:
      case CURLE_BAD_FUNCTION_ARGUMENT:
      case CURLE_NOT_BUILT_IN:
        return false;
      default:
        return true;  // connection refused or reset, timeouts, TLS handshakes, DNS
    }
  }
  return r.status >= 500 || r.status == 429;
}

std::string Describe(const Response& r) {
  if (r.curl != CURLE_OK) {
    return r.curl_error.empty() ? curl_easy_strerror(r.curl) : r.curl_error;
  }
  std::string code = XmlText(r.body, "Code").value_or("");
  std::string message = XmlText(r.body, "Message").value_or("");
  return fmt::format("HTTP {}{}{}{}", r.status, code.empty() ? "" : " ", code,
                     message.empty() ? "" : ": " + message);
}

// The Status for a response the caller did not expect.
Status HttpError(const Response& r, std::string_view what) {
  Errc code = Errc::kIo;
  if (r.status == 404) code = Errc::kNotFound;
  if (r.status == 401 || r.status == 403) code = Errc::kAccess;
  if (r.status == 400) code = Errc::kInvalid;
  if (Retryable(r)) code = Errc::kUnavailable;
  return Status(code, fmt::format("s3 {}: {}", what, Describe(r)));
}

class S3RemoteStore final : public RemoteStore {
 public:
  S3RemoteStore(const S3RemoteOptions& options, std::string bucket_url)
      : options_(options),
        bucket_url_(std::move(bucket_url)),
        signing_(fmt::format("aws:amz:{}:s3", options.region)) {}

  Status Put(std::string_view key, ByteView data) override;
  Result<Buffer> Get(std::string_view key, uint64_t offset,
                     std::optional<uint64_t> length) override;
  Status Delete(std::string_view key) override;
  Result<std::vector<ObjectInfo>> List(std::string_view prefix) override;
  uint64_t Retries() const override { return retries_.load(std::memory_order_relaxed); }

 private:
  std::string ObjectUrl(std::string_view key) const {
    return fmt::format("{}/{}", bucket_url_, UriEncode(options_.prefix + std::string(key), true));
  }
  // Sends `request`, retrying as options_ say; a response is whatever the server finally said
  // (any status), an error only when no attempt got a usable one.
  Result<Response> Send(const Request& request, std::string_view what);
  Response Attempt(const Request& request);
  CurlHandle TakeHandle();
  void ReturnHandle(CurlHandle handle);

  const S3RemoteOptions options_;
  const std::string bucket_url_;  // no trailing '/'
  const std::string signing_;     // CURLOPT_AWS_SIGV4's provider:service:region
  Mutex mu_;
  // Idle easy handles, each keeping its connections alive for the next request.
  std::vector<CurlHandle> idle_ GUARDED_BY(mu_);
  std::atomic<uint64_t> retries_{0};
};

CurlHandle S3RemoteStore::TakeHandle() {
  {
    MutexLock lock(&mu_);
    if (!idle_.empty()) {
      CurlHandle h = std::move(idle_.back());
      idle_.pop_back();
      return h;
    }
  }
  return CurlHandle(curl_easy_init());
}

void S3RemoteStore::ReturnHandle(CurlHandle handle) {
  curl_easy_reset(handle.get());  // forgets the options, keeps the connections
  MutexLock lock(&mu_);
  idle_.push_back(std::move(handle));
}

Response S3RemoteStore::Attempt(const Request& request) {
  Response response;
  CurlHandle handle = TakeHandle();
  if (handle == nullptr) {
    response.curl = CURLE_OUT_OF_MEMORY;
    return response;
  }
  CURL* h = handle.get();
  char error[CURL_ERROR_SIZE] = "";
  Upload upload{request.body};
  // The payload is not signed (it is protected by TLS, or not at all over plain HTTP).
  curl_slist* headers = curl_slist_append(nullptr, "x-amz-content-sha256: UNSIGNED-PAYLOAD");
  if (!options_.session_token.empty()) {
    headers =
        curl_slist_append(headers, ("x-amz-security-token: " + options_.session_token).c_str());
  }
  if (!request.range.empty()) {
    headers = curl_slist_append(headers, ("Range: " + request.range).c_str());
  }
  CurlList header_list(headers);
  long timeout_ms = static_cast<long>(
      std::chrono::duration_cast<std::chrono::milliseconds>(options_.request_timeout).count());
  curl_easy_setopt(h, CURLOPT_URL, request.url.c_str());
  curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(h, CURLOPT_ERRORBUFFER, error);
  curl_easy_setopt(h, CURLOPT_AWS_SIGV4, signing_.c_str());
  curl_easy_setopt(h, CURLOPT_USERNAME, options_.access_key_id.c_str());
  curl_easy_setopt(h, CURLOPT_PASSWORD, options_.secret_access_key.c_str());
  curl_easy_setopt(h, CURLOPT_HTTPHEADER, header_list.get());
  curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, timeout_ms);
  curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, std::min(timeout_ms, 10'000L));
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, WriteBody);
  curl_easy_setopt(h, CURLOPT_WRITEDATA, &response.body);
  if (std::strcmp(request.method, "PUT") == 0) {
    curl_easy_setopt(h, CURLOPT_UPLOAD, 1L);
    curl_easy_setopt(h, CURLOPT_READFUNCTION, ReadBody);
    curl_easy_setopt(h, CURLOPT_READDATA, &upload);
    curl_easy_setopt(h, CURLOPT_INFILESIZE_LARGE, static_cast<curl_off_t>(request.body.size()));
  } else if (std::strcmp(request.method, "DELETE") == 0) {
    curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, "DELETE");
  }
  // A client span of a traced request (docs/tracing.md): the remote call it waits on.
  trace::Span span =
      trace::Span::Child(std::string("s3.") + request.method, trace::SpanKind::kClient);
  response.curl = curl_easy_perform(h);
  response.curl_error = error;
  if (response.curl == CURLE_OK) curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &response.status);
  if (span.recording()) {
    span.SetAttribute("http.request.method", request.method);
    span.SetAttribute("url.full", request.url);
    if (response.curl != CURLE_OK) {
      span.SetError(response.curl_error);
    } else {
      span.SetAttribute("http.response.status_code", static_cast<int64_t>(response.status));
      if (response.status >= 400) span.SetError(fmt::format("HTTP {}", response.status));
    }
  }
  ReturnHandle(std::move(handle));
  return response;
}

Result<Response> S3RemoteStore::Send(const Request& request, std::string_view what) {
  thread_local std::mt19937_64 jitter(RandomU64());
  BlockingRegion blocking;
  std::chrono::milliseconds backoff = options_.initial_backoff;
  for (int attempt = 1;; ++attempt) {
    Response response = Attempt(request);
    if (!Retryable(response)) return response;
    if (attempt >= options_.max_attempts) {
      return Status(Errc::kUnavailable, fmt::format("s3 {}: gave up after {} attempts: {}", what,
                                                    attempt, Describe(response)));
    }
    // Up to half of each wait is random, so clients that failed together retry apart.
    auto half = backoff.count() / 2;
    std::chrono::milliseconds wait(
        half + static_cast<int64_t>(jitter() % static_cast<uint64_t>(backoff.count() - half + 1)));
    std::this_thread::sleep_for(wait);
    backoff = std::min(backoff * 2, kMaxBackoff);
    retries_.fetch_add(1, std::memory_order_relaxed);
  }
}

Status S3RemoteStore::Put(std::string_view key, ByteView data) {
  RETURN_IF_ERROR(ValidateRemoteKey(key));
  std::string what = fmt::format("PUT {}", key);
  ASSIGN_OR_RETURN(Response r, Send({.method = "PUT", .url = ObjectUrl(key), .body = data}, what));
  if (r.status != 200) return HttpError(r, what);
  return Status::Ok();
}

Result<Buffer> S3RemoteStore::Get(std::string_view key, uint64_t offset,
                                  std::optional<uint64_t> length) {
  RETURN_IF_ERROR(ValidateRemoteKey(key));
  std::string what = fmt::format("GET {}", key);
  Request request{.method = "GET", .url = ObjectUrl(key)};
  uint64_t asked = length.value_or(UINT64_MAX);
  if (!length.has_value()) {
    if (offset > 0) request.range = fmt::format("bytes={}-", offset);
  } else if (asked == 0) {
    // An empty range cannot be asked for; one byte still tells whether the object exists.
    request.range = fmt::format("bytes={}-{}", offset, offset);
  } else if (asked <= UINT64_MAX - offset) {
    request.range = fmt::format("bytes={}-{}", offset, offset + asked - 1);
  } else {
    request.range = fmt::format("bytes={}-", offset);
  }
  ASSIGN_OR_RETURN(Response r, Send(request, what));
  ByteView body = AsBytes(r.body);
  switch (r.status) {
    case 200:  // the whole object: the server ignored the range, or none was asked for
      body = body.subspan(std::min<uint64_t>(offset, body.size()));
      break;
    case 206:  // the range
      break;
    case 416:  // the object exists, but the range starts at or past its end
      return Buffer();
    case 404:
      return Status(Errc::kNotFound, fmt::format("s3 {}: {}", what, Describe(r)));
    default:
      return HttpError(r, what);
  }
  return Buffer::Copy(body.first(std::min<uint64_t>(body.size(), asked)));
}

Status S3RemoteStore::Delete(std::string_view key) {
  RETURN_IF_ERROR(ValidateRemoteKey(key));
  std::string what = fmt::format("DELETE {}", key);
  ASSIGN_OR_RETURN(Response r, Send({.method = "DELETE", .url = ObjectUrl(key)}, what));
  if (r.status == 200 || r.status == 204 || r.status == 404) return Status::Ok();
  return HttpError(r, what);
}

Result<std::vector<ObjectInfo>> S3RemoteStore::List(std::string_view prefix) {
  const std::string full_prefix = options_.prefix + std::string(prefix);
  std::string what = fmt::format("LIST {}", prefix);
  std::vector<ObjectInfo> out;
  std::string token;
  for (;;) {
    // SigV4 wants the query's parameters sorted by name; curl signs them as given.
    std::string query;
    if (!token.empty()) query += "continuation-token=" + UriEncode(token, false) + "&";
    query += fmt::format("list-type=2&max-keys={}&prefix={}", options_.list_page_size,
                         UriEncode(full_prefix, false));
    std::string url = options_.path_style ? fmt::format("{}?{}", bucket_url_, query)
                                          : fmt::format("{}/?{}", bucket_url_, query);
    ASSIGN_OR_RETURN(Response r, Send({.method = "GET", .url = url}, what));
    if (r.status != 200) return HttpError(r, what);
    for (size_t at = r.body.find("<Contents>"); at != std::string::npos;
         at = r.body.find("<Contents>", at + 1)) {
      size_t end = r.body.find("</Contents>", at);
      std::string_view contents = std::string_view(r.body).substr(at, end - at);
      std::optional<std::string> key = XmlText(contents, "Key");
      std::optional<std::string> size = XmlText(contents, "Size");
      if (!key || !size || !key->starts_with(full_prefix)) {
        return Status(Errc::kIo, fmt::format("s3 {}: malformed listing entry {}", what, contents));
      }
      out.push_back(
          {key->substr(options_.prefix.size()), std::strtoull(size->c_str(), nullptr, 10)});
    }
    if (XmlText(r.body, "IsTruncated").value_or("false") != "true") break;
    std::optional<std::string> next = XmlText(r.body, "NextContinuationToken");
    if (!next || next->empty() || *next == token) {
      return Status(Errc::kIo, fmt::format("s3 {}: truncated listing without a new "
                                           "continuation token",
                                           what));
    }
    token = std::move(*next);
  }
  // S3 lists in UTF-8 byte order already; sorting again costs little and guards against
  // servers that do not.
  std::sort(out.begin(), out.end(),
            [](const ObjectInfo& a, const ObjectInfo& b) { return a.key < b.key; });
  return out;
}

}  // namespace

Result<std::unique_ptr<RemoteStore>> OpenS3RemoteStore(const S3RemoteOptions& options) {
  static std::once_flag curl_initialized;
  std::call_once(curl_initialized, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });

  S3RemoteOptions o = options;
  size_t scheme_end = o.endpoint.find("://");
  if (scheme_end == std::string::npos || o.endpoint.size() == scheme_end + 3) {
    return Status(Errc::kInvalid, "s3: endpoint must look like https://host[:port]");
  }
  if (o.bucket.empty()) return Status(Errc::kInvalid, "s3: bucket is empty");
  if (o.region.empty()) return Status(Errc::kInvalid, "s3: region is empty");
  if (!o.prefix.empty() && !ValidateRemoteKey(o.prefix + "x").ok()) {
    return Status(Errc::kInvalid, "s3: prefix " + o.prefix + " does not make valid keys");
  }
  if (o.max_attempts < 1) return Status(Errc::kInvalid, "s3: max_attempts must be at least 1");
  if (o.initial_backoff.count() < 1) {
    return Status(Errc::kInvalid, "s3: initial_backoff must be at least 1 ms");
  }
  if (o.request_timeout.count() < 1) {
    return Status(Errc::kInvalid, "s3: request_timeout must be at least 1 s");
  }
  if (o.list_page_size < 1 || o.list_page_size > 1000) {
    return Status(Errc::kInvalid, "s3: list_page_size must be in 1..1000");
  }
  if (o.access_key_id.empty()) {
    auto env = [](const char* name) {
      const char* value = getenv(name);
      return std::string(value != nullptr ? value : "");
    };
    o.access_key_id = env("AWS_ACCESS_KEY_ID");
    o.secret_access_key = env("AWS_SECRET_ACCESS_KEY");
    o.session_token = env("AWS_SESSION_TOKEN");
  }
  if (o.access_key_id.empty() || o.secret_access_key.empty()) {
    return Status(Errc::kInvalid,
                  "s3: no credentials (options or AWS_ACCESS_KEY_ID and "
                  "AWS_SECRET_ACCESS_KEY)");
  }

  std::string endpoint = o.endpoint;
  while (endpoint.ends_with('/')) endpoint.pop_back();
  std::string bucket_url;
  if (o.path_style) {
    bucket_url = fmt::format("{}/{}", endpoint, UriEncode(o.bucket, false));
  } else {
    // scheme://host[:port][/path] → scheme://bucket.host[:port][/path]
    bucket_url = fmt::format("{}{}.{}", endpoint.substr(0, scheme_end + 3), o.bucket,
                             endpoint.substr(scheme_end + 3));
  }
  return std::unique_ptr<RemoteStore>(std::make_unique<S3RemoteStore>(o, std::move(bucket_url)));
}

}  // namespace dittofs::stores

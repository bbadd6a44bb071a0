// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <chrono>
#include <memory>
#include <string>

#include "stores/remote/remote_store.h"

namespace dittofs::stores {

struct S3RemoteOptions {
  // Scheme, host and optional port: https://s3.eu-west-1.amazonaws.com, http://127.0.0.1:9000.
  std::string endpoint;
  std::string region = "us-east-1";
  std::string bucket;
  // Prepended to every key, as given (end it with '/' to make it a folder).
  std::string prefix;
  // true: https://endpoint/bucket/key; false: virtual-host style, https://bucket.endpoint/key.
  bool path_style = true;
  // When access_key_id is empty, all three come from AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY
  // and AWS_SESSION_TOKEN in the environment.
  std::string access_key_id;
  std::string secret_access_key;
  std::string session_token;
  // A request that fails with a connection error, a timeout, HTTP 5xx or 429 is tried up to this
  // many times in all, waiting initial_backoff, then twice that, ... (each randomly shortened by
  // up to half, and capped at 20 s) between attempts.
  int max_attempts = 5;
  std::chrono::milliseconds initial_backoff{100};
  // The longest one attempt may take, connecting included.
  std::chrono::seconds request_timeout{60};
  // Keys per ListObjectsV2 page (S3 returns at most 1000); smaller only to test paging.
  int list_page_size = 1000;
};

// Opens a RemoteStore on an S3-compatible object store, speaking HTTP(S) through libcurl with
// AWS Signature Version 4. Objects are stored under options.prefix + key; see
// docs/formats/remote.md. Opening does not contact the server: a wrong bucket or credentials
// show on the first request. Errc::kInvalid for unusable options or missing credentials.
// Requests map S3 errors to Errc: 404 → kNotFound, 401/403 → kAccess, 400 → kInvalid,
// retries exhausted → kUnavailable, others → kIo; the Status message carries the S3 error code.
Result<std::unique_ptr<RemoteStore>> OpenS3RemoteStore(const S3RemoteOptions& options);

}  // namespace dittofs::stores

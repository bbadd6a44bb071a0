// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <sys/types.h>

#include <memory>
#include <string>

#include "base/result.h"

namespace dittofs::stores {

// An S3-compatible server for tests: s3rver (a Node package, installed into .cache/s3rver by
// scripts/install-s3-test-server.sh; $DITTOFS_S3RVER overrides its path) listening on
// 127.0.0.1:<a free port>, keeping its data in a fresh temporary directory, with one bucket.
// Buckets are also reachable virtual-host style at http://<bucket>.s3.localhost:<port>.
// It accepts the credentials S3RVER / S3RVER. It checks that requests carry a SigV4
// Authorization header with a known key id, but not their signatures.
// The server runs in its own process group and dies with the test (PR_SET_PDEATHSIG).
class S3TestServer {
 public:
  static constexpr const char* kAccessKey = "S3RVER";
  static constexpr const char* kSecretKey = "S3RVER";

  // Starts the server and waits until it answers. Errc::kNotFound (naming the install
  // script) when s3rver is not installed.
  static Result<std::unique_ptr<S3TestServer>> Start(const std::string& bucket);
  // Stops the server and removes its data.
  ~S3TestServer();
  S3TestServer(const S3TestServer&) = delete;
  S3TestServer& operator=(const S3TestServer&) = delete;

  std::string endpoint() const;
  // Kills the server (SIGKILL to its process group) and reaps it.
  void Kill();
  // Starts it again on the same port with the same data.
  Status Restart();
  // Freezes (SIGSTOP) and thaws (SIGCONT) the server: it accepts connections but never answers.
  void Pause();
  void Resume();

 private:
  S3TestServer(std::string program, std::string dir, std::string bucket, int port)
      : program_(std::move(program)),
        dir_(std::move(dir)),
        bucket_(std::move(bucket)),
        port_(port) {}
  Status Launch();

  const std::string program_;
  const std::string dir_;  // data in dir_/data, output in dir_/server.log
  const std::string bucket_;
  const int port_;
  pid_t pid_ = -1;  // also the process group id; -1 when not running
};

}  // namespace dittofs::stores

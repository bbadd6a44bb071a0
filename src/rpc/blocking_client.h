// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstdint>
#include <string>

#include "base/result.h"

namespace dittofs::rpc {

// A minimal blocking ONC RPC client over TCP that sends whatever bytes it is given, well-formed
// or not. For tests and tools that probe a server; not for production I/O.
class BlockingClient {
 public:
  // Connects to 127.0.0.1:`port` (or `host`).
  static Result<BlockingClient> Connect(uint16_t port, const std::string& host = "127.0.0.1");
  BlockingClient(BlockingClient&& other) noexcept : fd_(other.fd_) { other.fd_ = -1; }
  BlockingClient& operator=(BlockingClient&&) = delete;
  ~BlockingClient();

  // Writes raw bytes (no framing added).
  Status SendRaw(std::string_view bytes);
  // Writes `record` as one last fragment.
  Status SendRecord(std::string_view record);
  // Reads one record; Errc::kUnavailable on EOF, Errc::kBusy after `timeout_ms`.
  Result<std::string> ReadRecord(int timeout_ms = 5000);
  // True when the server closes the connection within `timeout_ms`.
  bool SeesEof(int timeout_ms = 5000);

  // Wraps `body` in a fragment header.
  static std::string Fragment(std::string_view body, bool last);

 private:
  explicit BlockingClient(int fd) : fd_(fd) {}
  Result<std::string> ReadN(size_t n, int timeout_ms);
  int fd_;
};

}  // namespace dittofs::rpc

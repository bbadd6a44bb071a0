// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace dittofs::net {

// Finds where an HTTP/1.1 request ends in the bytes a connection receives, parsing no more than
// framing needs (RFC 9112 §6.3): the head ends at the first empty line after the request line;
// then comes a chunked body (Transfer-Encoding: chunked), a body of Content-Length bytes, or
// none. It reads those fields exactly as cpp-httplib does (the first value counts; values are
// percent-decoded; lines not ending in CRLF are skipped), so that httplib, handed the request,
// ends it where the framer did.
//
// Memory is bounded: a head is at most max_head_bytes, and a body over max_body_bytes is not
// kept but dropped, up to drain_bytes of it (so that a client still sending reads the 413
// rather than a reset), and the request handed on truncated.
// Not thread-safe: one framer per connection.
class RequestFramer {
 public:
  struct Limits {
    size_t max_head_bytes = 64 * 1024;
    size_t max_body_bytes = 1 << 20;
    size_t drain_bytes = 1 << 20;
  };
  enum class State {
    kIncomplete,    // more bytes are needed
    kComplete,      // request() holds the request
    kHeadTooLarge,  // no end of head within max_head_bytes; answer 431 and close
  };

  explicit RequestFramer(const Limits& limits) : limits_(limits) {}

  // Takes received bytes. Once the request is complete, further bytes (a pipelined request)
  // are kept for Next().
  State Add(std::string_view bytes);
  // Drops the complete request and frames whatever followed it.
  // REQUIRES: the request is complete and not truncated().
  State Next();

  // The request's bytes. REQUIRES: the request is complete.
  std::string_view request() const { return std::string_view(buffer_).substr(0, request_end_); }
  // Whether request() stops short of the request's end, because the body was over the limit
  // (or its chunked framing was broken): the connection cannot carry another request.
  bool truncated() const { return truncated_; }
  // Whether any byte of the current request has arrived.
  bool started() const { return !buffer_.empty() || dropped_ > 0; }
  // True once per request when the client waits for "100 Continue" before sending its body
  // (RFC 9110 §10.1.1): the head asked for it and the body is wanted.
  bool TakeContinue();

 private:
  enum class Body { kNone, kLength, kChunked };
  enum class Chunk { kSize, kData, kDataEnd, kTrailer };

  State Frame();
  State FrameChunks();
  // Reads Transfer-Encoding, Content-Length and Expect from the complete head.
  void ReadFields();
  State Complete(size_t end);
  // Keeps what has arrived of an oversized body (`keep` bytes of the buffer), drops the next
  // `drain` bytes, then completes the request truncated.
  State Truncate(size_t keep, uint64_t drain);

  Limits limits_;
  std::string buffer_;  // bytes of this request (and maybe the next) not yet handed on
  State state_ = State::kIncomplete;
  size_t scan_ = 0;  // where to go on looking for the end of the head
  bool found_first_line_ = false;
  size_t head_end_ = 0;  // 0 until the head is complete
  Body body_ = Body::kNone;
  uint64_t content_length_ = 0;
  bool expect_continue_ = false;
  bool continue_taken_ = false;
  size_t body_pos_ = 0;  // chunked: how far the body has been framed
  Chunk chunk_ = Chunk::kSize;
  uint64_t chunk_left_ = 0;
  bool discarding_ = false;  // dropping an oversized body
  uint64_t drain_left_ = 0;
  uint64_t dropped_ = 0;
  bool truncated_ = false;
  size_t request_end_ = 0;
};

}  // namespace dittofs::net

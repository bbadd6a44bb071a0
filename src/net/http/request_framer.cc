// SPDX-License-Identifier: Apache-2.0
#include "net/http/request_framer.h"

#include <strings.h>

#include <algorithm>
#include <climits>
#include <cstdlib>

namespace dittofs::net {
namespace {

// Raw bytes a chunked body may take beyond max_body_bytes for its framing (sizes, CRLFs).
constexpr size_t kChunkFramingSlack = 64 * 1024;

bool IsSpaceOrTab(char c) { return c == ' ' || c == '\t'; }

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// httplib percent-decodes header values (%XX; its %u form, four hex digits, never matters for the
// fields read here, whose meaningful values are ASCII).
std::string PercentDecode(std::string_view v) {
  std::string out;
  for (size_t i = 0; i < v.size(); ++i) {
    if (v[i] == '%' && i + 2 < v.size() && HexValue(v[i + 1]) >= 0 && HexValue(v[i + 2]) >= 0) {
      out += static_cast<char>(HexValue(v[i + 1]) * 16 + HexValue(v[i + 2]));
      i += 2;
    } else {
      out += v[i];
    }
  }
  return out;
}

bool NameIs(std::string_view name, const char* expected) {
  return name.size() == std::char_traits<char>::length(expected) &&
         strncasecmp(name.data(), expected, name.size()) == 0;
}

// Whether buffer[pos, nl] is a line holding only CRLF.
bool IsEmptyLine(const std::string& buffer, size_t pos, size_t nl) {
  return nl == pos + 1 && buffer[pos] == '\r';
}

}  // namespace

RequestFramer::State RequestFramer::Add(std::string_view bytes) {
  if (state_ != State::kIncomplete) {
    buffer_.append(bytes);
    return state_;
  }
  if (discarding_) {
    dropped_ += bytes.size();
    if (bytes.size() < drain_left_) {
      drain_left_ -= bytes.size();
      return State::kIncomplete;
    }
    drain_left_ = 0;
    discarding_ = false;
    return Complete(buffer_.size());
  }
  buffer_.append(bytes);
  return Frame();
}

RequestFramer::State RequestFramer::Next() {
  std::string rest = buffer_.substr(request_end_);
  *this = RequestFramer(limits_);
  buffer_ = std::move(rest);
  return buffer_.empty() ? State::kIncomplete : Frame();
}

bool RequestFramer::TakeContinue() {
  if (state_ != State::kIncomplete || head_end_ == 0 || !expect_continue_ || continue_taken_ ||
      discarding_) {
    return false;
  }
  continue_taken_ = true;
  return true;
}

RequestFramer::State RequestFramer::Frame() {
  if (head_end_ == 0) {
    // The head ends at the first line holding only CRLF after the request line. Each search
    // starts where the last one stopped (less two bytes, for a "\n\r\n" cut between reads).
    if (!found_first_line_) {
      size_t first = buffer_.find('\n', scan_);
      found_first_line_ = first != std::string::npos;
      scan_ = found_first_line_ ? first : buffer_.size();
    }
    if (found_first_line_) {
      size_t end = buffer_.find("\n\r\n", scan_);
      if (end != std::string::npos) {
        head_end_ = end + 3;
      } else {
        scan_ = std::max(scan_, buffer_.size() >= 2 ? buffer_.size() - 2 : 0);
      }
    }
    if (head_end_ == 0) {
      return buffer_.size() > limits_.max_head_bytes ? State::kHeadTooLarge : State::kIncomplete;
    }
    if (head_end_ > limits_.max_head_bytes) return State::kHeadTooLarge;
    ReadFields();
    body_pos_ = head_end_;
  }
  switch (body_) {
    case Body::kNone:
      return Complete(head_end_);
    case Body::kLength:
      if (content_length_ > limits_.max_body_bytes) {
        // httplib answers 413 without reading the body. A client that waits for 100 Continue
        // sends none; from others, drop what they send of it first.
        uint64_t drain =
            expect_continue_ ? 0 : std::min<uint64_t>(content_length_, limits_.drain_bytes);
        uint64_t have = buffer_.size() - head_end_;
        buffer_.resize(head_end_);
        dropped_ += have;
        return Truncate(head_end_, drain > have ? drain - have : 0);
      }
      if (buffer_.size() - head_end_ < content_length_) return State::kIncomplete;
      return Complete(head_end_ + content_length_);
    case Body::kChunked:
      return FrameChunks();
  }
  return State::kIncomplete;
}

// Mirrors httplib's read_content_chunked: a size line (hex, extensions ignored), that many
// bytes, a line that must be CRLF alone (anything else ends the body), ...; after the zero-size
// chunk, lines up to an empty one (httplib refuses trailer fields with 400, after which the
// framing still knows where the next request starts).
RequestFramer::State RequestFramer::FrameChunks() {
  for (;;) {
    if (chunk_ == Chunk::kData) {
      if (buffer_.size() - body_pos_ < chunk_left_) break;
      body_pos_ += chunk_left_;
      chunk_ = Chunk::kDataEnd;
      continue;
    }
    size_t nl = buffer_.find('\n', body_pos_);
    if (nl == std::string::npos) break;
    size_t line = body_pos_;
    body_pos_ = nl + 1;
    switch (chunk_) {
      case Chunk::kSize: {
        std::string text = buffer_.substr(line, nl + 1 - line);
        char* end = nullptr;
        unsigned long size = std::strtoul(text.c_str(), &end, 16);
        // httplib refuses these (400); what follows them is not framed.
        if (end == text.c_str() || size == ULONG_MAX) return Truncate(body_pos_, 0);
        if (size == 0) {
          chunk_ = Chunk::kTrailer;
        } else {
          chunk_left_ = size;
          chunk_ = Chunk::kData;
        }
        break;
      }
      case Chunk::kDataEnd:
        if (!IsEmptyLine(buffer_, line, nl)) return Complete(body_pos_);
        chunk_ = Chunk::kSize;
        break;
      case Chunk::kTrailer:
        if (IsEmptyLine(buffer_, line, nl)) return Complete(body_pos_);
        break;
      case Chunk::kData:
        break;
    }
  }
  if (buffer_.size() - head_end_ > limits_.max_body_bytes + kChunkFramingSlack) {
    // Over the limit: the handler sees what has arrived (and answers 413); the rest is dropped.
    return Truncate(buffer_.size(), limits_.drain_bytes);
  }
  return State::kIncomplete;
}

void RequestFramer::ReadFields() {
  bool have_encoding = false, have_length = false, have_expect = false;
  size_t pos = buffer_.find('\n') + 1;
  while (pos < head_end_) {
    size_t nl = buffer_.find('\n', pos);
    std::string_view line(buffer_.data() + pos, nl - pos);
    pos = nl + 1;
    if (line.empty() || line.back() != '\r') continue;  // httplib skips such lines
    line.remove_suffix(1);
    while (!line.empty() && IsSpaceOrTab(line.back())) line.remove_suffix(1);
    size_t colon = line.find(':');
    if (colon == std::string_view::npos) continue;
    std::string_view name = line.substr(0, colon);
    std::string_view value = line.substr(colon + 1);
    while (!value.empty() && IsSpaceOrTab(value.front())) value.remove_prefix(1);
    if (value.empty()) continue;  // httplib drops fields without a value
    if (NameIs(name, "Transfer-Encoding") && !have_encoding) {
      have_encoding = true;
      if (strcasecmp(PercentDecode(value).c_str(), "chunked") == 0) body_ = Body::kChunked;
    } else if (NameIs(name, "Content-Length") && !have_length) {
      have_length = true;
      content_length_ = std::strtoull(PercentDecode(value).c_str(), nullptr, 10);
    } else if (NameIs(name, "Expect") && !have_expect) {
      have_expect = true;
      expect_continue_ = PercentDecode(value) == "100-continue";
    }
  }
  if (body_ != Body::kChunked && have_length) body_ = Body::kLength;
}

RequestFramer::State RequestFramer::Complete(size_t end) {
  request_end_ = end;
  state_ = State::kComplete;
  return state_;
}

RequestFramer::State RequestFramer::Truncate(size_t keep, uint64_t drain) {
  truncated_ = true;
  buffer_.resize(keep);
  if (drain == 0) return Complete(keep);
  discarding_ = true;
  drain_left_ = drain;
  return State::kIncomplete;
}

}  // namespace dittofs::net

// SPDX-License-Identifier: Apache-2.0
#include "net/http/request_framer.h"

#include <gtest/gtest.h>

#include <string>

namespace dittofs::net {
namespace {

using State = RequestFramer::State;

RequestFramer::Limits SmallLimits() {
  return {.max_head_bytes = 1024, .max_body_bytes = 100, .drain_bytes = 50};
}

// Feeds `bytes` one at a time (framing must not depend on how the stream is cut); returns the
// state after the last.
State FeedBytewise(RequestFramer& framer, std::string_view bytes) {
  State state = State::kIncomplete;
  for (char c : bytes) state = framer.Add(std::string_view(&c, 1));
  return state;
}

TEST(RequestFramerTest, HeadOnlyRequestEndsAtTheEmptyLineAndKeepsWhatFollows) {
  RequestFramer framer(SmallLimits());
  std::string first = "GET /a HTTP/1.1\r\nHost: x\r\n\r\n";
  std::string second = "GET /b HTTP/1.1\r\n\r\n";
  EXPECT_EQ(FeedBytewise(framer, first.substr(0, first.size() - 1)), State::kIncomplete);
  EXPECT_EQ(framer.Add(first.substr(first.size() - 1) + second), State::kComplete);
  EXPECT_EQ(framer.request(), first);
  EXPECT_FALSE(framer.truncated());
  EXPECT_EQ(framer.Next(), State::kComplete);
  EXPECT_EQ(framer.request(), second);
  EXPECT_EQ(framer.Next(), State::kIncomplete);
  EXPECT_FALSE(framer.started());
}

TEST(RequestFramerTest, ContentLengthBody) {
  RequestFramer framer(SmallLimits());
  std::string request = "PUT /a HTTP/1.1\r\ncontent-length: 5\r\n\r\nhello";
  EXPECT_EQ(FeedBytewise(framer, request), State::kComplete);
  EXPECT_EQ(framer.request(), request);
}

TEST(RequestFramerTest, FieldsAreReadAsHttplibReadsThem) {
  // Only the first Content-Length counts; a name with a space before the colon is another
  // field; lines ending in a bare LF are skipped; values are percent-decoded.
  RequestFramer framer(SmallLimits());
  std::string request =
      "PUT /a HTTP/1.1\r\nContent-Length : 9\r\nContent-Length: 4\nContent-Length: %32\r\n"
      "Content-Length: 7\r\n\r\nabcdef";
  EXPECT_EQ(framer.Add(request), State::kComplete);
  EXPECT_EQ(framer.request(), request.substr(0, request.size() - 4));
}

TEST(RequestFramerTest, ChunkedBodyWithExtensionsAndTrailers) {
  RequestFramer framer(SmallLimits());
  std::string request =
      "POST /a HTTP/1.1\r\nTransfer-Encoding: Chunked\r\nContent-Length: 3\r\n\r\n"
      "5;ext=1\r\nhello\r\n6\r\n world\r\n0\r\nX-Trailer: 1\r\n\r\n";
  EXPECT_EQ(FeedBytewise(framer, request + "GET /next"), State::kComplete);
  EXPECT_EQ(framer.request(), request);
  EXPECT_EQ(framer.Next(), State::kIncomplete);
  EXPECT_TRUE(framer.started());
}

TEST(RequestFramerTest, OversizedContentLengthIsDroppedThenHandedOnTruncated) {
  RequestFramer framer(SmallLimits());
  std::string head = "PUT /a HTTP/1.1\r\nContent-Length: 1000\r\n\r\n";
  EXPECT_EQ(framer.Add(head + std::string(30, 'x')), State::kIncomplete);
  EXPECT_FALSE(framer.TakeContinue());
  EXPECT_EQ(framer.Add(std::string(19, 'x')), State::kIncomplete);
  EXPECT_EQ(framer.Add(std::string(1, 'x')), State::kComplete);  // 50 bytes drained
  EXPECT_EQ(framer.request(), head);
  EXPECT_TRUE(framer.truncated());
}

TEST(RequestFramerTest, ExpectContinue) {
  RequestFramer wants(SmallLimits());
  EXPECT_EQ(wants.Add("PUT /a HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 3\r\n\r\n"),
            State::kIncomplete);
  EXPECT_TRUE(wants.TakeContinue());
  EXPECT_FALSE(wants.TakeContinue()) << "once per request";
  EXPECT_EQ(wants.Add("abc"), State::kComplete);

  // Over the limit, the client gets its answer (413) instead of a 100, and sends no body.
  RequestFramer refused(SmallLimits());
  EXPECT_EQ(refused.Add("PUT /a HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 300\r\n\r\n"),
            State::kComplete);
  EXPECT_TRUE(refused.truncated());
}

TEST(RequestFramerTest, OversizedChunkedBodyIsTruncated) {
  RequestFramer framer(SmallLimits());
  framer.Add("PUT /a HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n");
  State state = State::kIncomplete;
  for (int i = 0; i < 10'000 && state == State::kIncomplete; ++i) {
    state = framer.Add("10\r\n0123456789abcdef\r\n");
  }
  EXPECT_EQ(state, State::kComplete);
  EXPECT_TRUE(framer.truncated());
  EXPECT_LT(framer.request().size(), 100'000u) << "what is kept is bounded";
}

TEST(RequestFramerTest, HeadTooLarge) {
  RequestFramer framer(SmallLimits());
  EXPECT_EQ(framer.Add("GET /" + std::string(2000, 'a')), State::kHeadTooLarge);
  RequestFramer many(SmallLimits());
  State state = many.Add("GET / HTTP/1.1\r\n");
  for (int i = 0; i < 200 && state == State::kIncomplete; ++i) state = many.Add("X-A: b\r\n");
  EXPECT_EQ(state, State::kHeadTooLarge);
}

}  // namespace
}  // namespace dittofs::net

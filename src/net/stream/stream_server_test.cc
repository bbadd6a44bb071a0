// SPDX-License-Identifier: Apache-2.0
#include "net/stream/stream_server.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "testing/status_matchers.h"

namespace dittofs::net {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

// The framings of the tests: a plain 4-byte big-endian length, and SMB2 over direct TCP
// (MS-SMB2 §2.1: a zero byte, then the message's length in 3 big-endian bytes).
enum class Framing { kLength32, kSmb2Direct };

std::string Header(Framing framing, size_t length) {
  std::byte h[4];
  StoreBe32(h, static_cast<uint32_t>(length));
  if (framing == Framing::kSmb2Direct) h[0] = std::byte{0};
  return std::string(AsChars(ByteView(h, 4)));
}

std::string Frame(Framing framing, std::string_view body) {
  return Header(framing, body.size()) + std::string(body);
}

// A length-prefixed framer: a 4-byte header, then the body, read in place when it is large.
class LengthFramer final : public StreamFramer {
 public:
  LengthFramer(Framing framing, size_t max_message) : framing_(framing), max_(max_message) {}

  Status Feed(ByteView data, std::vector<Buffer>* out, size_t* consumed) override {
    const size_t size = data.size();
    while (!data.empty()) {
      if (!in_body_) {
        size_t take = std::min(data.size(), 4 - header_got_);
        std::memcpy(header_ + header_got_, data.data(), take);
        header_got_ += take;
        data = data.subspan(take);
        if (header_got_ < 4) break;
        header_got_ = 0;
        if (framing_ == Framing::kSmb2Direct && header_[0] != std::byte{0}) {
          *consumed = size - data.size();
          return Status(Errc::kInvalid, "not an SMB2 direct TCP header");
        }
        size_t length = LoadBe32(header_) & (framing_ == Framing::kSmb2Direct ? 0xffffffu : ~0u);
        if (length > max_) {
          *consumed = size - data.size();
          return Status(Errc::kTooBig, "message of " + std::to_string(length) + " bytes");
        }
        body_ = Buffer(length);
        fill_ = 0;
        in_body_ = true;
        Finish(out);
        continue;
      }
      size_t take = std::min(data.size(), body_.size() - fill_);
      std::memcpy(body_.data() + fill_, data.data(), take);
      fill_ += take;
      data = data.subspan(take);
      Finish(out);
    }
    *consumed = size - data.size();
    return Status::Ok();
  }
  MutableByteView DirectTarget() override {
    if (!in_body_) return {};
    return {body_.data() + fill_, body_.size() - fill_};
  }
  void CommitDirect(size_t n, std::vector<Buffer>* out) override {
    fill_ += n;
    ++direct_reads;
    Finish(out);
  }
  bool mid_message() const override { return in_body_ || header_got_ > 0; }

  static inline std::atomic<int> direct_reads{0};

 private:
  void Finish(std::vector<Buffer>* out) {
    if (!in_body_ || fill_ < body_.size()) return;
    out->push_back(std::move(body_));
    body_ = Buffer();
    in_body_ = false;
  }

  const Framing framing_;
  const size_t max_;
  std::byte header_[4];
  size_t header_got_ = 0;
  bool in_body_ = false;
  Buffer body_;
  size_t fill_ = 0;
};

struct Reply final : OutgoingMessage {
  Reply(Framing framing, std::string text) : body(std::move(text)) {
    std::string h = Header(framing, body.size());
    std::memcpy(header.data(), h.data(), 4);
    header_size = 4;
    // In two pieces, to see them sent back to back.
    size_t half = body.size() / 2;
    pieces = {AsBytes(std::string_view(body).substr(0, half)),
              AsBytes(std::string_view(body).substr(half))};
  }
  std::string body;
};

// Answers each message with its text, framed the same way. "sleep N" sleeps N ms on a worker
// first; "hold" waits on a worker until Release(); everything else is answered at once, on
// the I/O thread.
class EchoProtocol final : public StreamProtocol {
 public:
  explicit EchoProtocol(Framing framing) : framing_(framing) {}

  std::unique_ptr<StreamFramer> NewFramer(MessageBudget&) override {
    return std::make_unique<LengthFramer>(framing_, 1 << 20);
  }
  std::unique_ptr<StreamHandler> NewHandler(StreamConnection& connection) override {
    return std::make_unique<Handler>(*this, connection);
  }

  void Release() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      open_ = true;
    }
    cv_.notify_all();
  }
  std::atomic<int> held{0};
  std::atomic<int> closed{0};

 private:
  class Handler final : public StreamHandler {
   public:
    Handler(EchoProtocol& protocol, StreamConnection& connection)
        : protocol_(protocol), connection_(connection) {}
    void OnMessage(Buffer message, InFlight in_flight, bool) override {
      std::string text(AsChars(message.view()));
      if (text.rfind("sleep ", 0) == 0 || text == "hold") {
        connection_.RunOnWorker([this, text, in_flight = std::move(in_flight)]() mutable {
          InFlight done = std::move(in_flight);
          if (text == "hold") {
            protocol_.held.fetch_add(1);
            std::unique_lock<std::mutex> lock(protocol_.mu_);
            protocol_.cv_.wait(lock, [&] { return protocol_.open_; });
          } else {
            std::this_thread::sleep_for(milliseconds(std::stoi(text.substr(6))));
          }
          connection_.Send(std::make_unique<Reply>(protocol_.framing_, text));
        });
        return;
      }
      connection_.Send(std::make_unique<Reply>(protocol_.framing_, text));
    }
    void OnClose() override { protocol_.closed.fetch_add(1); }

   private:
    EchoProtocol& protocol_;
    StreamConnection& connection_;
  };

  const Framing framing_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool open_ = false;
};

// A blocking client socket on 127.0.0.1.
class Client {
 public:
  explicit Client(uint16_t port) : fd_(socket(AF_INET, SOCK_STREAM, 0)) {
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    connected_ = connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof(a)) == 0;
    int one = 1;
    setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  }
  ~Client() { close(fd_); }
  Client(const Client&) = delete;

  bool connected() const { return connected_; }
  bool Send(std::string_view data) {
    while (!data.empty()) {
      ssize_t n = ::send(fd_, data.data(), data.size(), MSG_NOSIGNAL);
      if (n <= 0) return false;
      data.remove_prefix(size_t(n));
    }
    return true;
  }
  // Exactly `n` bytes, or what arrived before EOF or `timeout`.
  std::string Read(size_t n, milliseconds timeout = milliseconds(5000)) {
    std::string out;
    auto until = Clock::now() + timeout;
    while (out.size() < n) {
      int left = int(std::chrono::duration_cast<milliseconds>(until - Clock::now()).count());
      pollfd p{fd_, POLLIN, 0};
      if (left <= 0 || poll(&p, 1, left) <= 0) break;
      char buf[65536];
      ssize_t got = recv(fd_, buf, std::min(sizeof(buf), n - out.size()), 0);
      if (got <= 0) break;
      out.append(buf, size_t(got));
    }
    return out;
  }
  // The body of the next message, or "" when none came.
  std::string ReadMessage(Framing framing, milliseconds timeout = milliseconds(5000)) {
    std::string h = Read(4, timeout);
    if (h.size() < 4) return "";
    uint32_t length = LoadBe32(reinterpret_cast<const std::byte*>(h.data()));
    if (framing == Framing::kSmb2Direct) {
      EXPECT_EQ(h[0], '\0');
      length &= 0xffffff;
    }
    return Read(length, timeout);
  }
  // Whether the server closes the connection within `timeout`.
  bool SeesEof(milliseconds timeout = milliseconds(3000)) {
    pollfd p{fd_, POLLIN, 0};
    if (poll(&p, 1, int(timeout.count())) <= 0) return false;
    char c;
    return recv(fd_, &c, 1, 0) <= 0;
  }

 private:
  int fd_;
  bool connected_ = false;
};

class StreamServerTest : public ::testing::Test {
 protected:
  void Start(StreamServerOptions o, Framing framing = Framing::kLength32) {
    protocol_ = std::make_shared<EchoProtocol>(framing);
    o.bind_address = "127.0.0.1";
    o.port = 0;
    o.worker_threads = 4;
    o.name = "test";
    ASSERT_OK_AND_ASSIGN(server_, StartStreamServer(o, protocol_));
  }
  // A client that has had one message answered, so the server surely admitted it.
  std::unique_ptr<Client> Served(const std::string& text = "hi") {
    auto c = std::make_unique<Client>(server_->port());
    EXPECT_TRUE(c->Send(Frame(Framing::kLength32, text)));
    EXPECT_EQ(c->ReadMessage(Framing::kLength32), text);
    return c;
  }
  void WaitForConnectionCount(size_t n) {
    for (int i = 0; i < 300 && server_->connection_count() != n; ++i) {
      std::this_thread::sleep_for(milliseconds(10));
    }
    ASSERT_EQ(server_->connection_count(), n);
  }
  ~StreamServerTest() override {
    if (protocol_) protocol_->Release();
    server_.reset();
  }

  std::shared_ptr<EchoProtocol> protocol_;
  std::unique_ptr<StreamServer> server_;
};

TEST_F(StreamServerTest, Smb2DirectTcpFramingRoundTrips) {
  Start({}, Framing::kSmb2Direct);
  Client c(server_->port());
  // Several messages in one write, one cut across writes, and one large enough that its body
  // is read in place (DirectTarget).
  std::string big(300 * 1024, 'b');
  for (size_t i = 0; i < big.size(); i += 7) big[i] = char('a' + i % 26);
  std::string stream = Frame(Framing::kSmb2Direct, "negotiate") +
                       Frame(Framing::kSmb2Direct, "session setup") +
                       Frame(Framing::kSmb2Direct, big) + Frame(Framing::kSmb2Direct, "");
  int direct_before = LengthFramer::direct_reads.load();
  ASSERT_TRUE(c.Send(stream.substr(0, 6)));
  std::this_thread::sleep_for(milliseconds(20));
  ASSERT_TRUE(c.Send(stream.substr(6)));
  EXPECT_EQ(c.ReadMessage(Framing::kSmb2Direct), "negotiate");
  EXPECT_EQ(c.ReadMessage(Framing::kSmb2Direct), "session setup");
  EXPECT_TRUE(c.ReadMessage(Framing::kSmb2Direct) == big);
  EXPECT_EQ(c.ReadMessage(Framing::kSmb2Direct), "");
  EXPECT_GT(LengthFramer::direct_reads.load(), direct_before) << "the large body was copied";
  // A header whose first byte is not zero breaks the framing: that connection closes.
  Client bad(server_->port());
  ASSERT_TRUE(bad.Send(std::string("\xfeSMB", 4)));
  EXPECT_TRUE(bad.SeesEof());
  ASSERT_TRUE(c.Send(Frame(Framing::kSmb2Direct, "still here")));
  EXPECT_EQ(c.ReadMessage(Framing::kSmb2Direct), "still here");
}

TEST_F(StreamServerTest, AnswersOvertakeOneAnotherAndOversizeMessagesClose) {
  Start({});
  Client c(server_->port());
  ASSERT_TRUE(c.Send(Frame(Framing::kLength32, "sleep 300") + Frame(Framing::kLength32, "quick")));
  EXPECT_EQ(c.ReadMessage(Framing::kLength32), "quick");
  EXPECT_EQ(c.ReadMessage(Framing::kLength32), "sleep 300");
  Client big(server_->port());
  ASSERT_TRUE(big.Send(Header(Framing::kLength32, (1 << 20) + 1)));
  EXPECT_TRUE(big.SeesEof());
}

TEST_F(StreamServerTest, PerClientCapRefusesTheNextConnection) {
  StreamServerOptions o;
  o.max_connections = 16;
  o.max_connections_per_client = 2;
  Start(o);
  std::unique_ptr<Client> a = Served(), b = Served();
  Client extra(server_->port());
  EXPECT_TRUE(extra.SeesEof());
  b.reset();
  WaitForConnectionCount(1);
  Served();
}

TEST_F(StreamServerTest, AtTheGlobalCapTheOldestIdleConnectionMakesRoom) {
  StreamServerOptions o;
  o.max_connections = 2;
  Start(o);
  std::unique_ptr<Client> busy = Served();
  ASSERT_TRUE(busy->Send(Frame(Framing::kLength32, "sleep 800")));
  std::unique_ptr<Client> idle = Served();
  std::this_thread::sleep_for(milliseconds(50));  // the slow message has arrived
  std::unique_ptr<Client> newcomer = Served();
  EXPECT_TRUE(idle->SeesEof());
  EXPECT_EQ(busy->ReadMessage(Framing::kLength32), "sleep 800");
  EXPECT_EQ(server_->connection_count(), 2u);
}

TEST_F(StreamServerTest, IdleConnectionIsClosedAfterTheIdleTimeout) {
  StreamServerOptions o;
  o.idle_timeout = milliseconds(300);
  Start(o);
  auto start = Clock::now();
  std::unique_ptr<Client> idle = Served();
  std::unique_ptr<Client> busy = Served();
  ASSERT_TRUE(busy->Send(Frame(Framing::kLength32, "sleep 700")));
  EXPECT_TRUE(idle->SeesEof());
  EXPECT_GE(Clock::now() - start, milliseconds(200));
  EXPECT_EQ(busy->ReadMessage(Framing::kLength32), "sleep 700") << "in flight is not idle";
  EXPECT_GE(protocol_->closed.load(), 1);
}

TEST_F(StreamServerTest, AStalledPartialMessageIsDroppedAfterTheMessageTimeout) {
  StreamServerOptions o;
  o.message_timeout = milliseconds(300);
  Start(o);
  auto start = Clock::now();
  Client stalled(server_->port());
  ASSERT_TRUE(stalled.Send(Header(Framing::kLength32, 100) + "0123456789"));
  EXPECT_TRUE(stalled.SeesEof());
  EXPECT_GE(Clock::now() - start, milliseconds(200));
  // Even a header alone is part of a message.
  Client header_only(server_->port());
  ASSERT_TRUE(header_only.Send(std::string_view("\0\0", 2)));
  EXPECT_TRUE(header_only.SeesEof());
}

TEST_F(StreamServerTest, ReadingPausesAtTheOutstandingLimit) {
  StreamServerOptions o;
  o.max_outstanding_per_connection = 2;
  Start(o);
  auto held_reaches = [&](int n) {
    for (int i = 0; i < 200 && protocol_->held.load() < n; ++i) {
      std::this_thread::sleep_for(milliseconds(10));
    }
    return protocol_->held.load() >= n;
  };
  Client c(server_->port());
  ASSERT_TRUE(c.Send(Frame(Framing::kLength32, "hold")));
  ASSERT_TRUE(c.Send(Frame(Framing::kLength32, "hold")));
  ASSERT_TRUE(held_reaches(2));
  // At the limit the server stops reading: later messages wait in TCP, not in its queue.
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(c.Send(Frame(Framing::kLength32, "hold")));
    std::this_thread::sleep_for(milliseconds(20));
  }
  std::this_thread::sleep_for(milliseconds(200));
  EXPECT_EQ(protocol_->held.load(), 2);
  protocol_->Release();
  for (int i = 0; i < 5; ++i) EXPECT_EQ(c.ReadMessage(Framing::kLength32), "hold") << i;
  EXPECT_EQ(protocol_->held.load(), 5);
}

TEST_F(StreamServerTest, ShutdownLetsMessagesInFlightFinish) {
  Start({});
  Client c(server_->port());
  ASSERT_TRUE(c.Send(Frame(Framing::kLength32, "sleep 200")));
  std::this_thread::sleep_for(milliseconds(50));
  std::thread stopper([&] { server_->Shutdown(milliseconds(5000)); });
  std::string reply = c.ReadMessage(Framing::kLength32);
  stopper.join();
  EXPECT_EQ(reply, "sleep 200");
  EXPECT_TRUE(c.SeesEof());
  server_->Shutdown(milliseconds(0));  // idempotent
  Client late(server_->port());
  EXPECT_FALSE(late.connected() && !late.SeesEof(milliseconds(300)));
}

}  // namespace
}  // namespace dittofs::net

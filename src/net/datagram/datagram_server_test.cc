// SPDX-License-Identifier: Apache-2.0
#include "net/datagram/datagram_server.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <set>
#include <string>

#include "testing/status_matchers.h"

namespace dittofs::net {
namespace {

using ::dittofs::testing::StatusIs;

// A UDP client socket on 127.0.0.1 for the tests.
class Client {
 public:
  explicit Client(uint16_t port) : fd_(socket(AF_INET, SOCK_DGRAM, 0)) {
    server_.sin_family = AF_INET;
    server_.sin_port = htons(port);
    server_.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  }
  ~Client() { close(fd_); }
  void Send(const std::string& data) {
    ASSERT_EQ(sendto(fd_, data.data(), data.size(), 0, reinterpret_cast<sockaddr*>(&server_),
                     sizeof(server_)),
              ssize_t(data.size()));
  }
  // The next datagram, or "" after `timeout_ms`.
  std::string Receive(int timeout_ms = 5000) {
    pollfd p{fd_, POLLIN, 0};
    if (poll(&p, 1, timeout_ms) <= 0) return "";
    char buf[70000];
    ssize_t n = recv(fd_, buf, sizeof(buf), 0);
    return n > 0 ? std::string(buf, size_t(n)) : "";
  }

 private:
  int fd_;
  sockaddr_in server_{};
};

// Answers each datagram with its bytes reversed, in two pieces.
Result<std::unique_ptr<DatagramServer>> StartReverser(DatagramServerOptions options = {}) {
  options.bind_address = "127.0.0.1";
  return StartDatagramServer(
      options, [](DatagramServer& server, const DatagramPeer& peer, ByteView datagram) {
        std::string text(AsChars(datagram));
        std::reverse(text.begin(), text.end());
        size_t half = text.size() / 2;
        ByteView pieces[] = {AsBytes(std::string_view(text).substr(0, half)),
                             AsBytes(std::string_view(text).substr(half))};
        EXPECT_OK(server.SendTo(peer, pieces));
        EXPECT_EQ(peer.address, "127.0.0.1");
      });
}

TEST(DatagramServerTest, AnswersEachDatagramToItsSender) {
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<DatagramServer> server, StartReverser());
  ASSERT_NE(server->port(), 0);
  Client a(server->port()), b(server->port());
  a.Send("hello");
  b.Send("world!");
  EXPECT_EQ(a.Receive(), "olleh");
  EXPECT_EQ(b.Receive(), "!dlrow");
  // Many at once, handled on several workers: every one answered.
  std::set<std::string> sent, got;
  for (int i = 0; i < 200; ++i) {
    std::string m = "m" + std::to_string(i);
    sent.insert(std::string(m.rbegin(), m.rend()));
    a.Send(m);
  }
  for (int i = 0; i < 200; ++i) got.insert(a.Receive());
  EXPECT_EQ(got, sent);
  EXPECT_EQ(server->dropped(), 0u);
}

TEST(DatagramServerTest, OversizeDatagramsAreDroppedAndRepliesBounded) {
  DatagramServerOptions options;
  options.max_datagram = 100;
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<DatagramServer> server, StartReverser(options));
  Client c(server->port());
  c.Send(std::string(101, 'x'));
  c.Send(std::string(100, 'y'));
  EXPECT_EQ(c.Receive(), std::string(100, 'y'));  // the long one got no answer
  EXPECT_EQ(server->dropped(), 1u);
  DatagramPeer nowhere;
  std::string big(101, 'z');
  ByteView pieces[] = {AsBytes(std::string_view(big))};
  EXPECT_THAT(server->SendTo(nowhere, pieces), StatusIs(Errc::kTooBig));
}

TEST(DatagramServerTest, ShutdownHandlesWhatWasQueuedAndIsIdempotent) {
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<DatagramServer> server, StartReverser());
  Client c(server->port());
  c.Send("ab");
  EXPECT_EQ(c.Receive(), "ba");
  server->Shutdown();
  server->Shutdown();
  c.Send("cd");
  EXPECT_EQ(c.Receive(300), "");
}

TEST(DatagramServerTest, BadBindAddressesAreRefused) {
  DatagramServerOptions options;
  options.bind_address = "localhost";
  EXPECT_THAT(StartDatagramServer(options, nullptr), StatusIs(Errc::kInvalid));
}

}  // namespace
}  // namespace dittofs::net

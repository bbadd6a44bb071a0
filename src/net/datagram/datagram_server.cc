// SPDX-License-Identifier: Apache-2.0
#include "net/datagram/datagram_server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <thread>
#include <vector>

#include "base/log.h"
#include "base/thread_pool.h"

namespace dittofs::net {
namespace {

std::string AddressOf(const sockaddr_storage& ss, uint16_t* port) {
  char text[INET6_ADDRSTRLEN] = {};
  if (ss.ss_family == AF_INET) {
    const auto* in = reinterpret_cast<const sockaddr_in*>(&ss);
    inet_ntop(AF_INET, &in->sin_addr, text, sizeof(text));
    *port = ntohs(in->sin_port);
  } else if (ss.ss_family == AF_INET6) {
    const auto* in6 = reinterpret_cast<const sockaddr_in6*>(&ss);
    inet_ntop(AF_INET6, &in6->sin6_addr, text, sizeof(text));
    *port = ntohs(in6->sin6_port);
  }
  return text;
}

class Server final : public DatagramServer {
 public:
  Server(const DatagramServerOptions& options, DatagramHandler handler, int fd, uint16_t port)
      : options_(options),
        handler_(std::move(handler)),
        fd_(fd),
        port_(port),
        workers_(std::max<size_t>(1, options.worker_threads), 0, "dfs-udp") {
    receiver_ = std::thread([this] { Receive(); });
  }
  ~Server() override { Shutdown(); }

  uint16_t port() const override { return port_; }
  uint64_t dropped() const override { return dropped_.load(); }

  Status SendTo(const DatagramPeer& peer, std::span<const ByteView> pieces) override {
    size_t total = 0;
    std::vector<iovec> iov;
    iov.reserve(pieces.size());
    for (ByteView p : pieces) {
      total += p.size();
      iov.push_back({const_cast<std::byte*>(p.data()), p.size()});
    }
    if (total > options_.max_datagram) {
      return Status(Errc::kTooBig, "datagram of " + std::to_string(total) + " bytes");
    }
    msghdr msg{};
    msg.msg_name = const_cast<std::byte*>(peer.sockaddr.data());
    msg.msg_namelen = peer.sockaddr_len;
    msg.msg_iov = iov.data();
    msg.msg_iovlen = iov.size();
    ssize_t n;
    do {
      n = ::sendmsg(fd_, &msg, MSG_NOSIGNAL);
    } while (n < 0 && errno == EINTR);
    if (n < 0 && errno != EAGAIN && errno != ENOBUFS && errno != ECONNREFUSED) {
      return Status(Errc::kIo, std::string("udp send: ") + std::strerror(errno));
    }
    return Status::Ok();
  }

  void Shutdown() override {
    if (stopping_.exchange(true)) return;
    if (receiver_.joinable()) receiver_.join();
    // The pool runs what is queued when it is destroyed; wait for that here, while the socket
    // is still open for the replies.
    while (queued_.load() > 0) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    ::close(fd_);
  }

 private:
  void Receive() {
    NameThisThread("dfs-udp-recv");
    std::vector<std::byte> buf(options_.max_datagram + 1);
    while (!stopping_.load()) {
      pollfd p{fd_, POLLIN, 0};
      int r = ::poll(&p, 1, 100);  // wakes to notice Shutdown
      if (r <= 0) continue;
      sockaddr_storage from{};
      socklen_t from_len = sizeof(from);
      ssize_t n = ::recvfrom(fd_, buf.data(), buf.size(), MSG_DONTWAIT,
                             reinterpret_cast<sockaddr*>(&from), &from_len);
      if (n < 0) continue;  // EAGAIN, EINTR, or an ICMP error of an earlier send
      if (static_cast<size_t>(n) > options_.max_datagram || queued_.load() >= options_.max_queued) {
        dropped_.fetch_add(1);
        continue;
      }
      DatagramPeer peer;
      peer.address = AddressOf(from, &peer.port);
      peer.sockaddr_len = std::min<uint32_t>(from_len, peer.sockaddr.size());
      std::memcpy(peer.sockaddr.data(), &from, peer.sockaddr_len);
      Buffer datagram = Buffer::Copy(ByteView(buf.data(), static_cast<size_t>(n)));
      queued_.fetch_add(1);
      workers_.Submit([this, peer = std::move(peer), datagram = std::move(datagram)]() {
        handler_(*this, peer, datagram.view());
        queued_.fetch_sub(1);
      });
    }
  }

  const DatagramServerOptions options_;
  const DatagramHandler handler_;
  const int fd_;
  const uint16_t port_;
  std::atomic<bool> stopping_{false};
  std::atomic<size_t> queued_{0};
  std::atomic<uint64_t> dropped_{0};
  ThreadPool workers_;
  std::thread receiver_;
};

}  // namespace

Result<std::unique_ptr<DatagramServer>> StartDatagramServer(const DatagramServerOptions& options,
                                                            DatagramHandler handler) {
  sockaddr_storage ss{};
  socklen_t len = 0;
  in_addr v4{};
  in6_addr v6{};
  if (inet_pton(AF_INET, options.bind_address.c_str(), &v4) == 1) {
    auto* in = reinterpret_cast<sockaddr_in*>(&ss);
    in->sin_family = AF_INET;
    in->sin_addr = v4;
    in->sin_port = htons(options.port);
    len = sizeof(sockaddr_in);
  } else if (inet_pton(AF_INET6, options.bind_address.c_str(), &v6) == 1) {
    auto* in6 = reinterpret_cast<sockaddr_in6*>(&ss);
    in6->sin6_family = AF_INET6;
    in6->sin6_addr = v6;
    in6->sin6_port = htons(options.port);
    len = sizeof(sockaddr_in6);
  } else {
    return Status(Errc::kInvalid, "bad bind address " + options.bind_address);
  }
  int fd = ::socket(ss.ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return Status(Errc::kUnavailable, std::string("udp socket: ") + std::strerror(errno));
  int one = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  int rcvbuf = 4 << 20;  // room for bursts while the workers catch up
  ::setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
  if (::bind(fd, reinterpret_cast<sockaddr*>(&ss), len) != 0) {
    int err = errno;
    ::close(fd);
    return Status(Errc::kUnavailable, "udp bind " + options.bind_address + ":" +
                                          std::to_string(options.port) + ": " + std::strerror(err));
  }
  sockaddr_storage bound{};
  socklen_t bound_len = sizeof(bound);
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&bound), &bound_len);
  uint16_t port = 0;
  AddressOf(bound, &port);
  return std::unique_ptr<DatagramServer>(
      std::make_unique<Server>(options, std::move(handler), fd, port));
}

}  // namespace dittofs::net

// SPDX-License-Identifier: Apache-2.0
#include "rpc/blocking_client.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "base/bytes.h"
#include "rpc/record.h"

namespace dittofs::rpc {

Result<BlockingClient> BlockingClient::Connect(uint16_t port, const std::string& host) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return Status(Errc::kIo, std::string("socket: ") + std::strerror(errno));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  if (inet_pton(AF_INET, host.c_str(), &addr.sin_addr) != 1) {
    close(fd);
    return Status(Errc::kInvalid, "bad address " + host);
  }
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    int e = errno;
    close(fd);
    return Status(Errc::kUnavailable, std::string("connect: ") + std::strerror(e));
  }
  return BlockingClient(fd);
}

BlockingClient::~BlockingClient() {
  if (fd_ >= 0) close(fd_);
}

Status BlockingClient::SendRaw(std::string_view bytes) {
  size_t off = 0;
  while (off < bytes.size()) {
    ssize_t n = send(fd_, bytes.data() + off, bytes.size() - off, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return Status(Errc::kIo, std::string("send: ") + std::strerror(errno));
    off += static_cast<size_t>(n);
  }
  return Status::Ok();
}

std::string BlockingClient::Fragment(std::string_view body, bool last) {
  std::byte mark[4];
  StoreBe32(mark, static_cast<uint32_t>(body.size()) | (last ? kLastFragment : 0));
  std::string out(AsChars(ByteView(mark, 4)));
  out += body;
  return out;
}

Status BlockingClient::SendRecord(std::string_view record) {
  return SendRaw(Fragment(record, true));
}

Result<std::string> BlockingClient::ReadN(size_t n, int timeout_ms) {
  std::string out;
  while (out.size() < n) {
    pollfd p{fd_, POLLIN, 0};
    int r = poll(&p, 1, timeout_ms);
    if (r == 0) return Errc::kBusy;
    if (r < 0 && errno == EINTR) continue;
    char buf[65536];
    ssize_t got = read(fd_, buf, std::min(sizeof(buf), n - out.size()));
    if (got == 0) return Errc::kUnavailable;
    if (got < 0) return Status(Errc::kIo, std::string("read: ") + std::strerror(errno));
    out.append(buf, static_cast<size_t>(got));
  }
  return out;
}

Result<std::string> BlockingClient::ReadRecord(int timeout_ms) {
  std::string record;
  for (;;) {
    ASSIGN_OR_RETURN(std::string mark, ReadN(4, timeout_ms));
    uint32_t h = LoadBe32(reinterpret_cast<const std::byte*>(mark.data()));
    ASSIGN_OR_RETURN(std::string body, ReadN(h & ~kLastFragment, timeout_ms));
    record += body;
    if (h & kLastFragment) return record;
  }
}

bool BlockingClient::SeesEof(int timeout_ms) {
  for (;;) {
    pollfd p{fd_, POLLIN, 0};
    if (poll(&p, 1, timeout_ms) <= 0) return false;
    char buf[4096];
    ssize_t got = read(fd_, buf, sizeof(buf));
    if (got == 0) return true;
    if (got < 0) return errno == ECONNRESET;
    // Data (a reply) before the close: keep reading.
  }
}

}  // namespace dittofs::rpc

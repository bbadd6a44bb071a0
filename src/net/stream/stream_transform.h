// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <string>
#include <vector>

#include "base/bytes.h"
#include "base/status.h"

namespace dittofs::net {

// What a connection's transform established about it: whether its bytes are protected, and
// who the peer proved to be (empty when it showed no identity).
struct TransportSecurity {
  bool secured = false;
  std::string peer_subject;  // the peer certificate's subject, when it presented one
};

// A layer between a connection's socket and its framer, switched on in the middle of a
// connection (after RFC 9289's STARTTLS exchange, say): every byte received goes through
// Receive before the framer sees it, and every message sent goes through Protect before the
// socket does. The stream server installs it with StreamConnection::StartTransform and calls it
// under the connection's lock, one call at a time, from any thread: it needs no locking.
class StreamTransform {
 public:
  virtual ~StreamTransform() = default;
  // Takes bytes read from the socket. Appends what they carry for the framer to `plain`, and
  // what must go back to the peer (handshake messages, alerts) to `to_peer`. An error (a broken
  // record, a refused handshake) closes the connection, after `to_peer` is sent.
  virtual Status Receive(ByteView wire, std::vector<std::byte>* plain,
                         std::vector<std::byte>* to_peer) = 0;
  // Appends the bytes that carry `plain` to the peer to `wire`.
  // REQUIRES: established().
  virtual Status Protect(ByteView plain, std::vector<std::byte>* wire) = 0;
  // Whether the handshake finished: until then nothing may be sent (Protect is not called)
  // and the connection must finish it within StreamServerOptions::handshake_timeout.
  virtual bool established() const = 0;
  // REQUIRES: established().
  virtual TransportSecurity security() const = 0;
};

}  // namespace dittofs::net

// SPDX-License-Identifier: Apache-2.0
#pragma once

// TLS 1.3 on the server side of stream connections, for RPC-with-TLS (RFC 9289): a context made
// from certificate files (reloaded when they change) that makes one StreamTransform per
// connection. The transform runs OpenSSL over memory BIOs, so the stream server's non-blocking
// reads and writes stay as they are: it only turns the bytes read into the bytes framed, and
// the messages sent into the bytes written.

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "base/result.h"
#include "net/stream/stream_transform.h"

namespace dittofs::net {

struct TlsServerOptions {
  std::string cert_file;  // PEM: the server's certificate, then any intermediates
  std::string key_file;   // PEM: its private key
  // PEM: when set, clients must present a certificate this CA signed (mutual TLS).
  std::string client_ca_file;
  // The ALPN protocol ids the server accepts; a ClientHello that offers none of them (or no ALPN
  // at all) is refused with a no_application_protocol alert. Empty: ALPN is not required.
  std::vector<std::string> alpn;
  // How often, at most, the files' modification times are looked at (on a new handshake).
  std::chrono::milliseconds reload_check{std::chrono::seconds(2)};
};

// The server's TLS context. Thread-safe.
class TlsServer {
 public:
  virtual ~TlsServer() = default;
  // The transform of one new connection, whose handshake starts with the next bytes received.
  // When the files changed since the context was made (looked at once per reload_check at
  // most), a new context is made from them first; when that fails, the old one is kept and the
  // error logged.
  virtual std::unique_ptr<StreamTransform> NewTransform() = 0;
  // Re-reads the files now if they changed; the error of a failed reload (the old context is
  // kept).
  virtual Status ReloadIfChanged() = 0;
};

// Loads the files (kInvalid, saying what is wrong, when they do not make a context).
Result<std::unique_ptr<TlsServer>> OpenTlsServer(const TlsServerOptions& options);

}  // namespace dittofs::net

// SPDX-License-Identifier: Apache-2.0
#include "net/tls/tls.h"

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <string_view>
#include <utility>

#include "base/log.h"
#include "base/mutex.h"
#include "base/posix_io.h"

namespace dittofs::net {
namespace {

// The error OpenSSL queued on this thread, in words, and the queue emptied.
std::string OpenSslError(std::string_view what) {
  std::string message(what);
  unsigned long e;
  bool first = true;
  while ((e = ERR_get_error()) != 0) {
    char buf[256];
    ERR_error_string_n(e, buf, sizeof buf);
    message += first ? ": " : "; ";
    message += buf;
    first = false;
  }
  return message;
}

struct CtxFree {
  void operator()(SSL_CTX* c) const { SSL_CTX_free(c); }
};
using CtxPtr = std::unique_ptr<SSL_CTX, CtxFree>;

// RFC 9289 §5.2: the client must offer ALPN with "sunrpc", and the server must answer with it.
// A ClientHello without the extension is refused here, before any work; one that offers only
// other protocols is refused by SelectAlpn.
int CheckClientHello(SSL* ssl, int* alert, void* arg) {
  const auto* alpn = static_cast<const std::vector<std::string>*>(arg);
  if (alpn->empty()) return SSL_CLIENT_HELLO_SUCCESS;
  const unsigned char* ext;
  size_t len;
  if (SSL_client_hello_get0_ext(ssl, TLSEXT_TYPE_application_layer_protocol_negotiation, &ext,
                                &len) != 1) {
    *alert = SSL_AD_NO_APPLICATION_PROTOCOL;
    return SSL_CLIENT_HELLO_ERROR;
  }
  return SSL_CLIENT_HELLO_SUCCESS;
}

int SelectAlpn(SSL*, const unsigned char** out, unsigned char* outlen, const unsigned char* in,
               unsigned int inlen, void* arg) {
  const auto* alpn = static_cast<const std::vector<std::string>*>(arg);
  // `in` is the client's list: length-prefixed names.
  for (unsigned int i = 0; i < inlen;) {
    unsigned int n = in[i];
    if (i + 1 + n > inlen) break;
    std::string_view offered(reinterpret_cast<const char*>(in + i + 1), n);
    for (const std::string& ours : *alpn) {
      if (offered == ours) {
        *out = in + i + 1;
        *outlen = static_cast<unsigned char>(n);
        return SSL_TLSEXT_ERR_OK;
      }
    }
    i += 1 + n;
  }
  return alpn->empty() ? SSL_TLSEXT_ERR_NOACK : SSL_TLSEXT_ERR_ALERT_FATAL;
}

Result<CtxPtr> MakeContext(const TlsServerOptions& o) {
  ERR_clear_error();
  CtxPtr ctx(SSL_CTX_new(TLS_server_method()));
  if (!ctx) return Status(Errc::kInternal, OpenSslError("SSL_CTX_new"));
  // RFC 9289 §5.1: nothing older than TLS 1.3.
  SSL_CTX_set_min_proto_version(ctx.get(), TLS1_3_VERSION);
  // No session tickets: RPC connections live long, and a ticket is bytes nobody asked for.
  SSL_CTX_set_num_tickets(ctx.get(), 0);
  SSL_CTX_set_options(ctx.get(), SSL_OP_NO_RENEGOTIATION);
  if (SSL_CTX_use_certificate_chain_file(ctx.get(), o.cert_file.c_str()) != 1) {
    return Status(Errc::kInvalid, OpenSslError("certificate " + o.cert_file));
  }
  if (SSL_CTX_use_PrivateKey_file(ctx.get(), o.key_file.c_str(), SSL_FILETYPE_PEM) != 1) {
    return Status(Errc::kInvalid, OpenSslError("private key " + o.key_file));
  }
  if (SSL_CTX_check_private_key(ctx.get()) != 1) {
    return Status(Errc::kInvalid,
                  OpenSslError("private key " + o.key_file + " does not match " + o.cert_file));
  }
  if (!o.client_ca_file.empty()) {
    if (SSL_CTX_load_verify_locations(ctx.get(), o.client_ca_file.c_str(), nullptr) != 1) {
      return Status(Errc::kInvalid, OpenSslError("client CA " + o.client_ca_file));
    }
    STACK_OF(X509_NAME)* names = SSL_load_client_CA_file(o.client_ca_file.c_str());
    if (names != nullptr) SSL_CTX_set_client_CA_list(ctx.get(), names);  // takes it
    SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, nullptr);
  }
  return ctx;
}

// One connection's TLS, over memory BIOs: Receive writes into the input BIO and runs the
// handshake or reads records; what OpenSSL writes collects in the output BIO.
class TlsTransform final : public StreamTransform {
 public:
  explicit TlsTransform(SSL* ssl) : ssl_(ssl) {
    BIO* in = BIO_new(BIO_s_mem());
    BIO* out = BIO_new(BIO_s_mem());
    // At end of data a memory BIO says "retry", not EOF: more may come from the socket.
    BIO_set_mem_eof_return(in, -1);
    SSL_set_bio(ssl_.get(), in, out);  // the SSL owns both
    SSL_set_accept_state(ssl_.get());
  }

  Status Receive(ByteView wire, std::vector<std::byte>* plain,
                 std::vector<std::byte>* to_peer) override {
    ERR_clear_error();
    if (!wire.empty() &&
        BIO_write(SSL_get_rbio(ssl_.get()), wire.data(), static_cast<int>(wire.size())) !=
            static_cast<int>(wire.size())) {
      return Status(Errc::kIo, "tls: buffering received bytes failed");
    }
    Status s = Status::Ok();
    if (!established_) {
      int r = SSL_do_handshake(ssl_.get());
      if (r == 1) {
        established_ = true;
        s = CheckAlpn();
      } else {
        int e = SSL_get_error(ssl_.get(), r);
        if (e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE) {
          s = Status(Errc::kAccess, OpenSslError("tls: handshake refused"));
        }
      }
    }
    if (s.ok() && established_) s = ReadRecords(plain);
    Drain(to_peer);
    return s;
  }

  Status Protect(ByteView plain, std::vector<std::byte>* wire) override {
    ERR_clear_error();
    size_t written = 0;
    if (!plain.empty() && SSL_write_ex(ssl_.get(), plain.data(), plain.size(), &written) != 1) {
      return Status(Errc::kIo, OpenSslError("tls: write"));
    }
    Drain(wire);
    return Status::Ok();
  }

  bool established() const override { return established_; }

  TransportSecurity security() const override {
    TransportSecurity t;
    t.secured = established_;
    if (X509* peer = SSL_get0_peer_certificate(ssl_.get())) {
      BIO* b = BIO_new(BIO_s_mem());
      X509_NAME_print_ex(b, X509_get_subject_name(peer), 0, XN_FLAG_RFC2253);
      char* data;
      long n = BIO_get_mem_data(b, &data);
      t.peer_subject.assign(data, static_cast<size_t>(n));
      BIO_free(b);
    }
    return t;
  }

 private:
  struct SslFree {
    void operator()(SSL* s) const { SSL_free(s); }
  };

  Status CheckAlpn() {
    const unsigned char* proto = nullptr;
    unsigned int len = 0;
    SSL_get0_alpn_selected(ssl_.get(), &proto, &len);
    const bool required = SSL_get_ex_data(ssl_.get(), 0) != nullptr;
    if (required && len == 0) return Status(Errc::kAccess, "tls: no ALPN protocol was agreed");
    return Status::Ok();
  }

  Status ReadRecords(std::vector<std::byte>* plain) {
    for (;;) {
      size_t at = plain->size();
      plain->resize(at + 16384);
      size_t n = 0;
      int r = SSL_read_ex(ssl_.get(), plain->data() + at, 16384, &n);
      plain->resize(at + (r == 1 ? n : 0));
      if (r == 1) continue;
      int e = SSL_get_error(ssl_.get(), 0);
      if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) return Status::Ok();
      if (e == SSL_ERROR_ZERO_RETURN) return Status(Errc::kUnavailable, "tls: the peer closed");
      return Status(Errc::kIo, OpenSslError("tls: a record did not decrypt"));
    }
  }

  void Drain(std::vector<std::byte>* out) {
    BIO* wbio = SSL_get_wbio(ssl_.get());
    char* data;
    long n = BIO_get_mem_data(wbio, &data);
    if (n <= 0) return;
    const auto* bytes = reinterpret_cast<const std::byte*>(data);
    out->insert(out->end(), bytes, bytes + n);
    (void)BIO_reset(wbio);
  }

  std::unique_ptr<SSL, SslFree> ssl_;
  bool established_ = false;
};

class Server final : public TlsServer {
 public:
  Server(TlsServerOptions options, CtxPtr ctx)
      : options_(std::move(options)),
        ctx_(std::move(ctx)),
        stamps_(Stamps()),
        checked_(std::chrono::steady_clock::now()) {
    Configure(ctx_.get());
  }

  std::unique_ptr<StreamTransform> NewTransform() override {
    const auto now = std::chrono::steady_clock::now();
    bool look = false;
    {
      MutexLock lock(&mu_);
      if (now - checked_ >= options_.reload_check) {
        checked_ = now;
        look = true;
      }
    }
    if (look) {
      Status s = ReloadIfChanged();
      if (!s.ok()) LOG_ERROR("tls: keeping the certificate in use: {}", s.ToString());
    }
    MutexLock lock(&mu_);
    SSL* ssl = SSL_new(ctx_.get());  // holds its own reference to the context
    if (ssl == nullptr) return nullptr;
    // Marks ALPN as required for CheckAlpn (a ClientHello without it never gets that far).
    static int required_mark;
    if (!options_.alpn.empty()) SSL_set_ex_data(ssl, 0, &required_mark);
    return std::make_unique<TlsTransform>(ssl);
  }

  Status ReloadIfChanged() override {
    std::vector<FileStamp> now = Stamps();
    {
      MutexLock lock(&mu_);
      if (now == stamps_ || now == failed_stamps_) return Status::Ok();
    }
    Result<CtxPtr> ctx = MakeContext(options_);
    MutexLock lock(&mu_);
    if (!ctx.ok()) {
      failed_stamps_ = now;  // said once per change of the files, not per connection
      return ctx.status();
    }
    Configure(ctx->get());
    ctx_ = std::move(*ctx);
    stamps_ = std::move(now);
    LOG_INFO("tls: loaded the changed certificate files ({})", options_.cert_file);
    return Status::Ok();
  }

 private:
  std::vector<FileStamp> Stamps() const {
    return {StampOf(options_.cert_file), StampOf(options_.key_file),
            StampOf(options_.client_ca_file)};
  }
  void Configure(SSL_CTX* ctx) {
    // `options_.alpn` lives as long as this server, which outlives its contexts' connections:
    // each transform's SSL is freed by its connection, and connections end before the server.
    auto* alpn = const_cast<std::vector<std::string>*>(&options_.alpn);
    SSL_CTX_set_client_hello_cb(ctx, CheckClientHello, alpn);
    SSL_CTX_set_alpn_select_cb(ctx, SelectAlpn, alpn);
  }

  const TlsServerOptions options_;
  Mutex mu_;
  CtxPtr ctx_ GUARDED_BY(mu_);
  std::vector<FileStamp> stamps_ GUARDED_BY(mu_);         // of the files ctx_ was made from
  std::vector<FileStamp> failed_stamps_ GUARDED_BY(mu_);  // of files that did not load
  std::chrono::steady_clock::time_point checked_ GUARDED_BY(mu_);
};

}  // namespace

Result<std::unique_ptr<TlsServer>> OpenTlsServer(const TlsServerOptions& options) {
  ASSIGN_OR_RETURN(CtxPtr ctx, MakeContext(options));
  return std::unique_ptr<TlsServer>(std::make_unique<Server>(options, std::move(ctx)));
}

}  // namespace dittofs::net

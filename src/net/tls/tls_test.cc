// SPDX-License-Identifier: Apache-2.0
// The server transform against an OpenSSL client in the same process, both over memory: the
// RFC 9289 rules (TLS 1.3 only, ALPN "sunrpc"), records both ways, mutual TLS, and
// CheckTlsFiles. Certificates come from the openssl tool.
#include "net/tls/tls.h"

#include <gtest/gtest.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

#include <cstdlib>
#include <fstream>
#include <string>

#include "net/tls/tls_check.h"
#include "testing/scratch_dir.h"
#include "testing/status_matchers.h"

namespace dittofs::net {
namespace {

class TlsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_FALSE(dir_.path().empty());
    Sh("openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout " +
       Path("ca.key") + " -out " + Path("ca.pem") + " -days 2 -subj /CN=ca");
    Cert("server", "localhost");
  }
  std::string Path(const std::string& name) const { return dir_.path() + "/" + name; }
  static void Sh(const std::string& command) {
    ASSERT_EQ(std::system((command + " >/dev/null 2>&1").c_str()), 0) << command;
  }
  void Cert(const std::string& name, const std::string& cn) {
    std::ofstream(Path(name + ".ext")) << "subjectAltName=DNS:localhost\n";
    Sh("openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout " +
       Path(name + ".key") + " -out " + Path(name + ".csr") + " -subj /CN=" + cn);
    Sh("openssl x509 -req -in " + Path(name + ".csr") + " -CA " + Path("ca.pem") + " -CAkey " +
       Path("ca.key") + " -CAcreateserial -days 2 -out " + Path(name + ".pem") + " -extfile " +
       Path(name + ".ext"));
  }
  TlsServerOptions Options() const {
    TlsServerOptions o;
    o.cert_file = Path("server.pem");
    o.key_file = Path("server.key");
    o.alpn = {"sunrpc"};
    return o;
  }

  testing::ScratchDir dir_{"dfs-tls-unit"};
};

// A client over memory BIOs, pumping bytes to and from a server transform.
class Client {
 public:
  explicit Client(const std::string& alpn, int max_version = TLS1_3_VERSION,
                  const std::string& cert = "", const std::string& key = "") {
    ctx_ = SSL_CTX_new(TLS_client_method());
    SSL_CTX_set_max_proto_version(ctx_, max_version);
    if (!cert.empty()) {
      SSL_CTX_use_certificate_file(ctx_, cert.c_str(), SSL_FILETYPE_PEM);
      SSL_CTX_use_PrivateKey_file(ctx_, key.c_str(), SSL_FILETYPE_PEM);
    }
    ssl_ = SSL_new(ctx_);
    if (!alpn.empty()) {
      std::string list = std::string(1, static_cast<char>(alpn.size())) + alpn;
      SSL_set_alpn_protos(ssl_, reinterpret_cast<const unsigned char*>(list.data()),
                          static_cast<unsigned>(list.size()));
    }
    in_ = BIO_new(BIO_s_mem());
    out_ = BIO_new(BIO_s_mem());
    SSL_set_bio(ssl_, in_, out_);
    SSL_set_connect_state(ssl_);
  }
  ~Client() {
    SSL_free(ssl_);
    SSL_CTX_free(ctx_);
  }
  // Runs the handshake against `server`; the server's verdict.
  Status Handshake(StreamTransform& server) {
    Status s = Status::Ok();
    for (int round = 0; round < 10 && s.ok(); ++round) {
      SSL_do_handshake(ssl_);
      std::vector<std::byte> plain, back;
      s = server.Receive(Take(), &plain, &back);
      BIO_write(in_, back.data(), static_cast<int>(back.size()));
      if (server.established() && SSL_is_init_finished(ssl_)) break;
    }
    ERR_clear_error();
    return s;
  }
  std::vector<std::byte> Take() {
    char* data;
    long n = BIO_get_mem_data(out_, &data);
    std::vector<std::byte> bytes(reinterpret_cast<std::byte*>(data),
                                 reinterpret_cast<std::byte*>(data) + n);
    (void)BIO_reset(out_);
    return bytes;
  }
  SSL* ssl() { return ssl_; }
  BIO* in() { return in_; }

 private:
  SSL_CTX* ctx_;
  SSL* ssl_;
  BIO* in_;
  BIO* out_;
};

TEST_F(TlsTest, HandshakeWithSunrpcThenRecordsBothWays) {
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<TlsServer> server, OpenTlsServer(Options()));
  std::unique_ptr<StreamTransform> t = server->NewTransform();
  Client c("sunrpc");
  ASSERT_OK(c.Handshake(*t));
  ASSERT_TRUE(t->established());
  EXPECT_TRUE(t->security().secured);
  EXPECT_EQ(t->security().peer_subject, "");  // no client certificate
  ASSERT_EQ(SSL_write(c.ssl(), "call", 4), 4);
  std::vector<std::byte> plain, back;
  ASSERT_OK(t->Receive(c.Take(), &plain, &back));
  EXPECT_EQ(std::string(reinterpret_cast<char*>(plain.data()), plain.size()), "call");
  std::vector<std::byte> wire;
  ASSERT_OK(t->Protect(AsBytes(std::string_view("reply")), &wire));
  BIO_write(c.in(), wire.data(), static_cast<int>(wire.size()));
  char buf[16];
  ASSERT_EQ(SSL_read(c.ssl(), buf, sizeof buf), 5);
  EXPECT_EQ(std::string(buf, 5), "reply");
}

TEST_F(TlsTest, NoAlpnOrAnotherProtocolIsRefused) {
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<TlsServer> server, OpenTlsServer(Options()));
  for (const char* alpn : {"", "h2"}) {
    std::unique_ptr<StreamTransform> t = server->NewTransform();
    Client c(alpn);
    EXPECT_FALSE(c.Handshake(*t).ok()) << "alpn '" << alpn << "'";
    EXPECT_FALSE(t->established());
  }
}

TEST_F(TlsTest, TlsBefore13IsRefused) {
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<TlsServer> server, OpenTlsServer(Options()));
  std::unique_ptr<StreamTransform> t = server->NewTransform();
  Client c("sunrpc", TLS1_2_VERSION);
  EXPECT_FALSE(c.Handshake(*t).ok());
}

TEST_F(TlsTest, GarbageInsteadOfAClientHelloIsRefused) {
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<TlsServer> server, OpenTlsServer(Options()));
  std::unique_ptr<StreamTransform> t = server->NewTransform();
  std::vector<std::byte> plain, back;
  std::string garbage = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
  EXPECT_FALSE(t->Receive(AsBytes(garbage), &plain, &back).ok());
  EXPECT_TRUE(plain.empty());
}

TEST_F(TlsTest, MutualTlsNamesTheClient) {
  Cert("alice", "alice");
  TlsServerOptions o = Options();
  o.client_ca_file = Path("ca.pem");
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<TlsServer> server, OpenTlsServer(o));
  std::unique_ptr<StreamTransform> t = server->NewTransform();
  Client c("sunrpc", TLS1_3_VERSION, Path("alice.pem"), Path("alice.key"));
  ASSERT_OK(c.Handshake(*t));
  EXPECT_EQ(t->security().peer_subject, "CN=alice");
  std::unique_ptr<StreamTransform> anonymous = server->NewTransform();
  Client none("sunrpc");
  EXPECT_FALSE(none.Handshake(*anonymous).ok());
}

TEST_F(TlsTest, BadFilesDoNotOpen) {
  TlsServerOptions o = Options();
  o.key_file = Path("ca.key");  // not the certificate's key
  EXPECT_FALSE(OpenTlsServer(o).ok());
  o.key_file = Path("missing.key");
  EXPECT_FALSE(OpenTlsServer(o).ok());
}

TEST_F(TlsTest, CheckTlsFilesReportsInPlainWords) {
  TlsFilesReport good = CheckTlsFiles(Path("server.pem"), Path("server.key"), Path("ca.pem"));
  EXPECT_TRUE(good.problems.empty()) << good.problems.front();
  EXPECT_NE(good.summary.find("CN=localhost"), std::string::npos) << good.summary;
  TlsFilesReport mismatch = CheckTlsFiles(Path("server.pem"), Path("ca.key"), "");
  ASSERT_EQ(mismatch.problems.size(), 1u);
  EXPECT_NE(mismatch.problems[0].find("does not match"), std::string::npos);
  TlsFilesReport missing = CheckTlsFiles(Path("nope.pem"), Path("server.key"), "");
  ASSERT_FALSE(missing.problems.empty());
  EXPECT_NE(missing.problems[0].find("does not exist"), std::string::npos);
}

}  // namespace
}  // namespace dittofs::net

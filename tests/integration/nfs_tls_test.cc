// SPDX-License-Identifier: Apache-2.0
// NFS over TLS (RFC 9289) end to end: dfs with nfs.tls set, driven by nfs_tls_client.py (Python's
// ssl module, speaking the AUTH_TLS probe itself), certificates made by the openssl tool.
//
// No kernel client takes part: Linux's RPC-with-TLS needs the tlshd handshake daemon
// (ktls-utils), which Debian 12 does not ship, and its 6.1 kernel lacks the client side.
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <thread>

#include "base/check.h"
#include "dfs_process.h"
#include "shell.h"
#include "testing/scratch_dir.h"
#include "testing/status_matchers.h"

namespace dittofs::integration {
namespace {

// Runs a shell command; returns its stdout. CHECKs that it exits 0.
std::string Run(const std::string& command) {
  ShellRun r = Shell(command);
  CHECK(r.exit_code == 0) << command << " exited " << r.exit_code << ":\n" << r.output;
  return r.output;
}

// Certificates for one test, under a scratch directory: two CAs, server and client
// certificates.
class Pki {
 public:
  Pki() : dir_("dfs-tls-pki") {}
  std::string Path(const std::string& name) const { return dir_.path() + "/" + name; }

  // A self-signed CA: <name>.pem, <name>.key.
  void MakeCa(const std::string& name) {
    Run("openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout " +
        Path(name + ".key") + " -out " + Path(name + ".pem") + " -days 2 -subj '/CN=" + name +
        "' 2>&1");
  }
  // A certificate for `cn` (with subjectAltName DNS:localhost) signed by `ca`: <name>.pem,
  // <name>.key.
  void MakeCert(const std::string& name, const std::string& cn, const std::string& ca) {
    std::ofstream(Path(name + ".ext")) << "subjectAltName=DNS:localhost\n";
    Run("openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout " +
        Path(name + ".key") + " -out " + Path(name + ".csr") + " -subj '/CN=" + cn + "' 2>&1");
    Run("openssl x509 -req -in " + Path(name + ".csr") + " -CA " + Path(ca + ".pem") + " -CAkey " +
        Path(ca + ".key") + " -CAcreateserial -days 2 -out " + Path(name + ".pem") + " -extfile " +
        Path(name + ".ext") + " 2>&1");
  }

 private:
  testing::ScratchDir dir_;
};

// The client's key=value lines.
std::map<std::string, std::string> Client(uint16_t port, const std::string& args) {
  return KeyValues(Run(std::string("python3 ") + TLS_CLIENT + " 127.0.0.1 " + std::to_string(port) +
                       " " + args));
}

class NfsTlsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    pki_.MakeCa("ca");
    pki_.MakeCa("other-ca");
    pki_.MakeCert("server", "localhost", "ca");
  }
  // dfs with /open (tls: off) and /secure (tls: required), TLS from server.pem.
  void StartServer(const std::string& client_ca = "") {
    DfsOptions o;
    o.shares.clear();
    DfsShare open;
    open.name = "/open";
    DfsShare secure;
    secure.name = "/secure";
    secure.tls = "required";
    o.shares = {open, secure};
    o.env = {"DITTOFS_NFS_TLS_CERT_FILE=" + pki_.Path("server.pem"),
             "DITTOFS_NFS_TLS_KEY_FILE=" + pki_.Path("server.key"),
             "DITTOFS_NFS_TLS_HANDSHAKE_TIMEOUT_MS=1000"};
    if (!client_ca.empty()) o.env.push_back("DITTOFS_NFS_TLS_CLIENT_CA_FILE=" + client_ca);
    auto p = DfsProcess::Start(DFS_BINARY, o);
    ASSERT_TRUE(p.ok()) << p.status().ToString();
    dfs_ = std::move(p).value();
  }
  std::string TlsArgs() const { return "session --tls --ca " + pki_.Path("ca.pem"); }

  Pki pki_;
  std::unique_ptr<DfsProcess> dfs_;
};

TEST_F(NfsTlsTest, ProbeUpgradesAndNfsRunsInsideTls) {
  StartServer();
  auto r = Client(dfs_->port(), TlsArgs() + " --share /open --share /secure");
  EXPECT_EQ(r["probe"], "starttls");
  EXPECT_EQ(r["tls"], "ok");
  EXPECT_EQ(r["server_cn"], "localhost");
  EXPECT_EQ(r["null"], "ok");
  EXPECT_EQ(r["mnt /open"], "0");
  EXPECT_EQ(r["getattr /open"], "0");
  EXPECT_EQ(r["mnt /secure"], "0");
  EXPECT_EQ(r["getattr /secure"], "0");
  EXPECT_EQ(r["v4lookup /secure"], "0");
  EXPECT_EQ(r["exchange_id"], "0");  // an NFSv4.1 COMPOUND inside TLS
  EXPECT_EQ(r.count("closed"), 0u) << r["closed"];
}

TEST_F(NfsTlsTest, ARequiredShareRefusesPlainCallsAndAnOffShareServesThem) {
  StartServer();
  auto r = Client(dfs_->port(), "session --share /open --share /secure");
  EXPECT_EQ(r["null"], "ok");  // NULL is never refused
  EXPECT_EQ(r["mnt /open"], "0");
  EXPECT_EQ(r["getattr /open"], "0");
  EXPECT_EQ(r["v4lookup /open"], "0");
  EXPECT_EQ(r["mnt /secure"], "13");          // MNT3ERR_ACCES
  EXPECT_EQ(r["v4lookup /secure"], "10016");  // NFS4ERR_WRONGSEC
  EXPECT_EQ(r["exchange_id"], "0");
  // A handle of /secure had over TLS, used on a plain connection: AUTH_ERROR, AUTH_TOOWEAK.
  auto mixed = Client(dfs_->port(), TlsArgs() + " --plain-too --share /secure");
  EXPECT_EQ(mixed["getattr /secure"], "0");
  EXPECT_EQ(mixed["plain_getattr /secure"], "denied:5");
}

TEST_F(NfsTlsTest, TheHandshakeNeedsAlpnSunrpc) {
  StartServer();
  EXPECT_EQ(Client(dfs_->port(), TlsArgs() + " --alpn none")["tls"].substr(0, 7), "refused");
  EXPECT_EQ(Client(dfs_->port(), TlsArgs() + " --alpn h2")["tls"].substr(0, 7), "refused");
}

TEST_F(NfsTlsTest, WithoutACertificateTheProbeIsRefusedAndTheConnectionStaysPlain) {
  DfsOptions o;
  auto p = DfsProcess::Start(DFS_BINARY, o);
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  auto r = Client((*p)->port(), "probe");
  EXPECT_EQ(r["probe"], "denied:1");  // MSG_DENIED, AUTH_ERROR, AUTH_BADCRED
  EXPECT_EQ(r["null_after"], "ok");
}

// In TLS 1.3 the server checks the client's certificate after the client thinks the handshake
// is done: a refused client sees the connection end at its first call.
bool Refused(std::map<std::string, std::string>& r) {
  return r["tls"].rfind("refused", 0) == 0 || (r.count("closed") != 0 && r.count("null") == 0);
}

TEST_F(NfsTlsTest, MutualTlsAdmitsOnlyClientsTheCaSigned) {
  pki_.MakeCert("client", "alice", "ca");
  pki_.MakeCert("stranger", "mallory", "other-ca");
  StartServer(pki_.Path("ca.pem"));
  auto none = Client(dfs_->port(), TlsArgs() + " --share /open");
  EXPECT_TRUE(Refused(none)) << "tls=" << none["tls"] << " null=" << none["null"];
  auto stranger =
      Client(dfs_->port(), TlsArgs() + " --cert " + pki_.Path("stranger.pem") + " --key " +
                               pki_.Path("stranger.key") + " --share /open");
  EXPECT_TRUE(Refused(stranger)) << "tls=" << stranger["tls"] << " null=" << stranger["null"];
  auto alice = Client(dfs_->port(), TlsArgs() + " --cert " + pki_.Path("client.pem") + " --key " +
                                        pki_.Path("client.key") + " --share /secure");
  EXPECT_EQ(alice["tls"], "ok");
  EXPECT_EQ(alice["null"], "ok");
  EXPECT_EQ(alice["getattr /secure"], "0");
}

TEST_F(NfsTlsTest, ReplacedCertificateFilesServeNewConnections) {
  StartServer();
  EXPECT_EQ(Client(dfs_->port(), TlsArgs())["server_cn"], "localhost");
  // A new certificate (another CN, same CA), written beside and renamed over the old files.
  pki_.MakeCert("next", "localhost-next", "ca");
  std::filesystem::rename(pki_.Path("next.key"), pki_.Path("server.key"));
  std::filesystem::rename(pki_.Path("next.pem"), pki_.Path("server.pem"));
  std::this_thread::sleep_for(std::chrono::milliseconds(2500));  // past the 2 s between looks
  auto r = Client(dfs_->port(), TlsArgs());
  EXPECT_EQ(r["server_cn"], "localhost-next");
  EXPECT_EQ(r["null"], "ok");
  // A broken file keeps the certificate in use, and says so in the log.
  std::ofstream(pki_.Path("server.pem")) << "not a certificate\n";
  std::this_thread::sleep_for(std::chrono::milliseconds(2500));
  auto kept = Client(dfs_->port(), TlsArgs());
  EXPECT_EQ(kept["server_cn"], "localhost-next");
  EXPECT_EQ(kept["null"], "ok");
  EXPECT_NE(dfs_->Log().find("keeping the certificate in use"), std::string::npos);
}

TEST_F(NfsTlsTest, DfsTlsCheckSaysWhatIsWrong) {
  StartServer();
  std::string config = dfs_->dir() + "/config.yaml";
  auto check = [&](const std::string& env) {
    std::string cmd =
        env + " " + DFS_BINARY + " tls check --config " + config + " 2>&1; echo rc=$?";
    FILE* p = ::popen(cmd.c_str(), "r");
    std::string out;
    char buf[4096];
    size_t n;
    while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
    ::pclose(p);
    return out;
  };
  std::string env = "DITTOFS_NFS_TLS_CERT_FILE=" + pki_.Path("server.pem") +
                    " DITTOFS_NFS_TLS_KEY_FILE=" + pki_.Path("server.key");
  std::string good = check(env);
  EXPECT_NE(good.find("ok: CN=localhost"), std::string::npos) << good;
  EXPECT_NE(good.find("rc=0"), std::string::npos) << good;
  pki_.MakeCert("client", "alice", "ca");
  std::string mismatch = check("DITTOFS_NFS_TLS_CERT_FILE=" + pki_.Path("server.pem") +
                               " DITTOFS_NFS_TLS_KEY_FILE=" + pki_.Path("client.key"));
  EXPECT_NE(mismatch.find("does not match the certificate"), std::string::npos) << mismatch;
  EXPECT_NE(mismatch.find("rc=1"), std::string::npos) << mismatch;
  std::string missing = check(env + " DITTOFS_NFS_TLS_CLIENT_CA_FILE=/nonexistent/ca.pem");
  EXPECT_NE(missing.find("does not exist"), std::string::npos) << missing;
  std::string other = check(env + " DITTOFS_NFS_TLS_CLIENT_CA_FILE=" + pki_.Path("other-ca.pem"));
  EXPECT_NE(other.find("does not verify the certificate"), std::string::npos) << other;
}

}  // namespace
}  // namespace dittofs::integration

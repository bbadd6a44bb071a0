// SPDX-License-Identifier: Apache-2.0
// RPCSEC_GSS with Kerberos V5 against a real MIT KDC: nfs_krb5_client.py makes a realm with its
// own krb5kdc on loopback, a keytab for nfs/localhost and tickets for alice (a dfs user) and bob
// (not one), then speaks RPCSEC_GSS from RFC 2203 over python-gssapi: context creation, NFSv3
// and MOUNT calls with krb5, krb5i and krb5p, replays, foreign handles, tampered bodies,
// DESTROY, and a share that takes krb5p only.
#include <gtest/gtest.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>

#include <cstdio>
#include <map>
#include <sstream>
#include <string>

#include "dfs_process.h"
#include "testing/scratch_dir.h"

namespace dittofs::integration {
namespace {

std::string Shell(const std::string& command) {
  std::string out;
  FILE* p = popen(command.c_str(), "r");
  if (p == nullptr) return out;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof(buf), p)) > 0) out.append(buf, n);
  int rc = pclose(p);
  EXPECT_EQ(rc, 0) << command << "\n" << out;
  return out;
}

std::map<std::string, std::string> Parse(const std::string& text) {
  std::map<std::string, std::string> r;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    size_t eq = line.find('=');
    if (eq != std::string::npos) r[line.substr(0, eq)] = line.substr(eq + 1);
  }
  return r;
}

class NfsKrb5Test : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_FALSE(scratch_.path().empty());
    dir_ = scratch_.path();
    std::string pid = Shell(std::string("/usr/bin/python3 ") + KRB5_CLIENT + " setup " + dir_);
    kdc_pid_ = std::atoi(pid.c_str());
    ASSERT_GT(kdc_pid_, 0) << pid;
  }
  void TearDown() override {
    dfs_.reset();
    if (kdc_pid_ > 0) kill(kdc_pid_, SIGTERM);
  }

  testing::ScratchDir scratch_{"dfs-krb5"};  // the KDC's realm, keytab, tickets; removed after
  std::string dir_;
  pid_t kdc_pid_ = 0;
  std::unique_ptr<DfsProcess> dfs_;
};

TEST_F(NfsKrb5Test, KerberosFlavorsReplaysAndAKrb5pOnlyShare) {
  DfsOptions o;
  DfsShare open;
  open.name = "/open";
  open.security = {"sys", "krb5"};
  DfsShare secure;
  secure.name = "/secure";
  secure.security = {"krb5p"};
  o.shares = {open, secure};
  o.env = {"DITTOFS_KERBEROS_KEYTAB=" + dir_ + "/nfs.keytab", "KRB5_CONFIG=" + dir_ + "/krb5.conf"};
  auto p = DfsProcess::Start(DFS_BINARY, o);
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  dfs_ = std::move(p).value();

  auto r =
      Parse(Shell("KRB5_CONFIG=" + dir_ + "/krb5.conf /usr/bin/python3 " + KRB5_CLIENT + " run " +
                  dir_ + " " + std::to_string(dfs_->port()) + " " +
                  std::to_string(dfs_->api_port()) + " '" + dfs_->admin_password() + "' 2>&1"));
  // MNT succeeds whatever the flavor and lists the share's: krb5p (390005) only.
  EXPECT_EQ(r["mnt /secure"], "0");
  EXPECT_EQ(r["flavors /secure"], "390005");
  EXPECT_EQ(r["sys getattr /secure"], "denied:5");  // AUTH_TOOWEAK
  for (std::string s : {"krb5", "krb5i", "krb5p"}) {
    SCOPED_TRACE(s);
    EXPECT_EQ(r[s + " init"], "ok");
    EXPECT_EQ(r[s + " window"], "128");
    EXPECT_EQ(r[s + " null"], "ok");
    EXPECT_EQ(r[s + " mnt /open"], "0");
    EXPECT_EQ(r[s + " getattr /open"], "0");
    EXPECT_EQ(r[s + " create"], "0");
    EXPECT_EQ(r[s + " owner"], "4242");  // alice's uid, from her principal
    EXPECT_EQ(r[s + " write"], "0");
    EXPECT_EQ(r[s + " read"], "same");
    EXPECT_EQ(r[s + " getattr /secure"], s == "krb5p" ? "ok" : "denied:5");
    EXPECT_EQ(r[s + " replay"], "dropped");
    EXPECT_EQ(r[s + " after replay"], "ok");
    EXPECT_EQ(r[s + " foreign handle"], "denied:13");  // RPCSEC_GSS_CREDPROBLEM
    EXPECT_EQ(r[s + " destroy"], "ok");
    EXPECT_EQ(r[s + " after destroy"], "denied:13");
  }
  EXPECT_EQ(r["krb5i tampered"], "accept:4");  // GARBAGE_ARGS
  EXPECT_EQ(r["bob init"], "denied:1");        // AUTH_BADCRED: no dfs user
  EXPECT_NE(r["other service init"], "ok");
  if (HasFailure()) ADD_FAILURE() << dfs_->Log();
}

// `dfs kerberos check` on the realm's keytab: the principals listed, the service principal found
// or missing, a missing keytab a problem; exit 0 only when all is well.
TEST_F(NfsKrb5Test, KerberosCheckSaysWhatIsWrong) {
  auto check = [&](const std::string& yaml, int* rc) {
    std::string config = dir_ + "/check.yaml";
    FILE* f = std::fopen(config.c_str(), "w");
    std::fputs(yaml.c_str(), f);
    std::fclose(f);
    std::string out;
    FILE* p = popen(("KRB5_CONFIG=" + dir_ + "/krb5.conf " + DFS_BINARY +
                     " kerberos check --config " + config + " 2>&1")
                        .c_str(),
                    "r");
    char buf[4096];
    size_t n;
    while ((n = fread(buf, 1, sizeof(buf), p)) > 0) out.append(buf, n);
    *rc = WEXITSTATUS(pclose(p));
    return out;
  };
  const std::string keytab = "kerberos:\n  keytab: " + dir_ + "/nfs.keytab\n";
  int rc = -1;
  std::string out = check(keytab + "  service_principal: nfs/localhost@DFS.TEST\n", &rc);
  EXPECT_EQ(rc, 0) << out;
  EXPECT_NE(out.find("principal: nfs/localhost@DFS.TEST"), std::string::npos) << out;
  EXPECT_NE(out.find("acceptor credential"), std::string::npos) << out;
  out = check(keytab + "  service_principal: nfs/elsewhere@DFS.TEST\n", &rc);
  EXPECT_EQ(rc, 1) << out;
  EXPECT_NE(out.find("problem: the keytab holds no nfs/elsewhere@DFS.TEST"), std::string::npos)
      << out;
  out = check("kerberos:\n  keytab: " + dir_ + "/missing.keytab\n", &rc);
  EXPECT_EQ(rc, 1) << out;
  EXPECT_NE(out.find("cannot be read"), std::string::npos) << out;
}

}  // namespace
}  // namespace dittofs::integration

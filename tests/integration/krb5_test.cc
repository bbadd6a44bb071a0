// SPDX-License-Identifier: Apache-2.0
// Kerberos V5 against a real MIT KDC: nfs_krb5_client.py makes a realm with its own krb5kdc on
// loopback, a keytab for nfs/localhost and cifs/files.dfs.test and tickets for alice (a dfs user)
// and bob (not one).
//   * NFS: it speaks RPCSEC_GSS from RFC 2203 over python-gssapi: context creation, NFSv3 and
//     MOUNT calls with krb5, krb5i and krb5p, replays, foreign handles, tampered bodies,
//     DESTROY, and a share that takes krb5p only.
//   * SMB: smbclient logs on with --use-kerberos=required (SPNEGO with Kerberos), signing and
//     encrypting with the ticket's session key; bob, a re-keyed service and NTLM on a
//     Kerberos-only server are refused as they should be.
#include <gtest/gtest.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <map>
#include <sstream>
#include <string>

#include "dfs_process.h"
#include "shell.h"
#include "testing/scratch_dir.h"

namespace dittofs::integration {
namespace {

// Runs `command`, expecting it to succeed; what it printed.
std::string Ok(const std::string& command) {
  ShellRun r = Shell(command);
  EXPECT_EQ(r.exit_code, 0) << command << "\n" << r.output;
  return r.output;
}

// Runs `command`; what it printed, and its exit status in *rc.
std::string RunCommand(const std::string& command, int* rc) {
  ShellRun r = Shell(command);
  *rc = r.exit_code;
  return r.output;
}

class Krb5Test : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_FALSE(scratch_.path().empty());
    dir_ = scratch_.path();
    std::string pid = Ok(std::string("/usr/bin/python3 ") + KRB5_CLIENT + " setup " + dir_);
    kdc_pid_ = std::atoi(pid.c_str());
    ASSERT_GT(kdc_pid_, 0) << pid;
  }
  void TearDown() override {
    dfs_.reset();
    if (kdc_pid_ > 0) kill(kdc_pid_, SIGTERM);
  }

  // Starts dfs with the realm's keytab (and `krb5_conf` from the realm's directory), then runs
  // nfs_krb5_client.py's `command` against it (after the directory and ports: `extra`); what it
  // printed, as key=value pairs. Empty when dfs did not start (the test has failed then).
  std::map<std::string, std::string> RunClient(DfsOptions o, const std::string& command,
                                               const std::string& extra = "",
                                               const std::string& krb5_conf = "krb5.conf") {
    o.env = {"DITTOFS_KERBEROS_KEYTAB=" + dir_ + "/nfs.keytab",
             "KRB5_CONFIG=" + dir_ + "/" + krb5_conf};
    auto p = DfsProcess::Start(DFS_BINARY, o);
    EXPECT_TRUE(p.ok()) << p.status().ToString();
    if (!p.ok()) return {};
    dfs_ = std::move(p).value();
    return KeyValues(Ok("KRB5_CONFIG=" + dir_ + "/krb5.conf /usr/bin/python3 " + KRB5_CLIENT + " " +
                        command + " " + dir_ + " " + std::to_string(dfs_->port()) + " " +
                        std::to_string(dfs_->api_port()) + " '" + dfs_->admin_password() + "' " +
                        extra + " 2>&1"));
  }

  testing::ScratchDir scratch_{"dfs-krb5"};  // the KDC's realm, keytab, tickets; removed after
  std::string dir_;
  pid_t kdc_pid_ = 0;
  std::unique_ptr<DfsProcess> dfs_;
};

TEST_F(Krb5Test, KerberosFlavorsReplaysAndAKrb5pOnlyShare) {
  DfsOptions o;
  DfsShare open;
  open.name = "/open";
  open.security = {"sys", "krb5"};
  DfsShare secure;
  secure.name = "/secure";
  secure.security = {"krb5p"};
  o.shares = {open, secure};
  auto r = RunClient(o, "run");
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

// RFC 8881 §2.10.8.3: an NFSv4.1 client names its RPCSEC_GSS context (and the service) as the
// backchannel's security; dfs recalls its delegation under that context, with the client's
// handle in the credential, a checksum of the header as the verifier and the arguments
// protected as asked, and checks the reply's verifier (a forged one takes the path down). A
// handle dfs never gave is NFS4ERR_NOENT.
TEST_F(Krb5Test, Nfs41BackchannelUsesTheClientsContext) {
  DfsOptions o;
  DfsShare open;
  open.name = "/open";
  open.security = {"krb5"};
  o.shares = {open};
  auto r = RunClient(o, "backchannel");
  EXPECT_EQ(r["unknown handle"], "2");  // NFS4ERR_NOENT
  for (std::string s : {"krb5", "krb5i", "krb5p", "krb5i forged reply"}) {
    SCOPED_TRACE(s);
    EXPECT_EQ(r[s + " session"], "0");
    EXPECT_EQ(r[s + " delegation"], "2");  // OPEN_DELEGATE_WRITE
    // CB_COMPOUND (proc 1) of CB_SEQUENCE (11) and CB_RECALL (4), to the program asked for.
    EXPECT_EQ(r[s + " callback"], "prog 0x40000000 vers 1 proc 1 ops 2 11,4");
    EXPECT_EQ(r[s + " path down"], s == "krb5i forged reply" ? "1" : "0");
  }
  if (HasFailure()) ADD_FAILURE() << dfs_->Log();
}

// The acceptor's Kerberos checks reach the client as RPCSEC_GSS says (RFC 2203 §5.2.3.2: the
// INIT's result carries the GSS major and minor status, and no context is made): a replayed
// AP-REQ, one held longer than the clock skew dfs allows (2 s here, from its krb5.conf), and
// one whose ticket expired are refused; a fresh one is taken.
TEST_F(Krb5Test, ReplayedSkewedAndExpiredTicketsAreRefused) {
  Ok("sed 's/^\\[libdefaults\\]$/[libdefaults]\\n  clockskew = 2/' " + dir_ + "/krb5.conf > " +
     dir_ + "/dfs-krb5.conf");
  ASSERT_NE(Ok("cat " + dir_ + "/dfs-krb5.conf").find("clockskew = 2"), std::string::npos);
  auto r = RunClient(DfsOptions{}, "tickets", "2", "dfs-krb5.conf");
  EXPECT_EQ(r["first"], "complete");
  EXPECT_EQ(r["replayed"], "gss major 0xd0000: replay");  // GSS_S_FAILURE
  EXPECT_EQ(r["late"], "gss major 0xd0000: clock skew");
  EXPECT_EQ(r["expired"], "gss major 0xd0000: ticket expired");
  EXPECT_EQ(r["fresh"], "complete");
  if (HasFailure()) ADD_FAILURE() << dfs_->Log();
}

// `dfs kerberos check` on the realm's keytab: the principals listed, the service principal found
// or missing, a missing keytab a problem; exit 0 only when all is well.
TEST_F(Krb5Test, KerberosCheckSaysWhatIsWrong) {
  auto check = [&](const std::string& yaml, int* rc) {
    std::string config = dir_ + "/check.yaml";
    FILE* f = std::fopen(config.c_str(), "w");
    std::fputs(yaml.c_str(), f);
    std::fclose(f);
    return RunCommand(
        "KRB5_CONFIG=" + dir_ + "/krb5.conf " + DFS_BINARY + " kerberos check --config " + config,
        rc);
  };
  const std::string keytab = "kerberos:\n  keytab: " + dir_ + "/nfs.keytab\n";
  int rc = -1;
  std::string out = check(keytab + "  service_principal: nfs/localhost@DFS.TEST\n", &rc);
  EXPECT_EQ(rc, 0) << out;
  EXPECT_NE(out.find("principal: nfs/localhost@DFS.TEST"), std::string::npos) << out;
  EXPECT_NE(out.find("acceptor credential"), std::string::npos) << out;
  // It asks the KDC for a ticket with the keytab's key: taken, and the clocks agree.
  EXPECT_NE(out.find("the KDC of DFS.TEST takes the keytab's key for nfs/localhost@DFS.TEST, "
                     "and its clock is "),
            std::string::npos)
      << out;
  // After the service's key changed in the KDC, the keytab's is stale: a problem.
  Ok("KRB5_CONFIG=" + dir_ + "/krb5.conf KRB5_KDC_PROFILE=" + dir_ +
     "/kdc.conf kadmin.local -r DFS.TEST -q 'cpw -randkey nfs/localhost' >/dev/null");
  out = check(keytab + "  service_principal: nfs/localhost@DFS.TEST\n", &rc);
  EXPECT_EQ(rc, 1) << out;
  EXPECT_NE(out.find("does not take the keytab's key for nfs/localhost@DFS.TEST"),
            std::string::npos)
      << out;
  out = check(keytab + "  service_principal: nfs/elsewhere@DFS.TEST\n", &rc);
  EXPECT_EQ(rc, 1) << out;
  EXPECT_NE(out.find("problem: the keytab holds no nfs/elsewhere@DFS.TEST"), std::string::npos)
      << out;
  out = check("kerberos:\n  keytab: " + dir_ + "/missing.keytab\n", &rc);
  EXPECT_EQ(rc, 1) << out;
  EXPECT_NE(out.find("cannot be read"), std::string::npos) << out;
}

// smbclient with alice's ticket (for cifs/files.dfs.test, reached at 127.0.0.1): SPNEGO picks
// Kerberos, the session signs and encrypts with the ticket's key (SMB 3.1.1 with AES-128 and
// AES-256 ciphers, the latter keyed from the whole AES-256 session key; SMB 2.1 signing), and
// what it writes belongs to alice as what she writes with NTLM does. bob (no dfs user) is
// refused; so is a ticket for a key the keytab does not hold yet, until the keytab gets it
// (reloaded). With smb.ntlm off, NTLM logons are refused and Kerberos ones still taken.
TEST_F(Krb5Test, SmbLogsOnWithTickets) {
  int rc = 0;
  RunCommand("command -v smbclient", &rc);
  if (rc != 0) GTEST_SKIP() << "smbclient is not installed";
  DfsOptions o;
  o.env = {"DITTOFS_KERBEROS_KEYTAB=" + dir_ + "/nfs.keytab", "KRB5_CONFIG=" + dir_ + "/krb5.conf"};
  auto p = DfsProcess::Start(DFS_BINARY, o);
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  dfs_ = std::move(p).value();
  ASSERT_GT(dfs_->smb_port(), 0);
  std::string error;
  ASSERT_TRUE(CreateUserViaApi(dfs_->api_port(), dfs_->admin_password(), "alice", "alice-password",
                               4242, &error))
      << error;

  const std::string env = "KRB5_CONFIG=" + dir_ + "/krb5.conf ";
  const auto port = [&] { return " -p " + std::to_string(dfs_->smb_port()); };
  auto smb = [&](const std::string& ccache, const std::string& args, int* code) {
    return RunCommand(env + "KRB5CCNAME=FILE:" + dir_ + "/" + ccache +
                          " smbclient //files.dfs.test/export -I 127.0.0.1" + port() +
                          " -s /dev/null --use-kerberos=required -N " + args,
                      code);
  };
  const std::string local = dir_ + "/hello.txt";
  FILE* f = std::fopen(local.c_str(), "w");
  ASSERT_NE(f, nullptr);
  std::fputs("written over SMB with a Kerberos ticket\n", f);
  std::fclose(f);

  std::string out = smb(
      "alice.cc", "-m SMB3_11 -c 'put " + local + " k.txt; get k.txt " + dir_ + "/back.txt'", &rc);
  EXPECT_EQ(rc, 0) << out;
  EXPECT_EQ(Ok("cmp " + local + " " + dir_ + "/back.txt && echo same"), "same\n");
  for (std::string cipher : {"aes-128-gcm", "aes-256-gcm", "aes-256-ccm"}) {
    out = smb("alice.cc",
              "-m SMB3_11 --client-protection=encrypt --option='client smb3 "
              "encryption algorithms=" +
                  cipher + "' -c 'get k.txt " + dir_ + "/again.txt'",
              &rc);
    EXPECT_EQ(rc, 0) << cipher << ": " << out;
  }
  out = smb("alice.cc", "-m SMB2_10 --client-protection=sign -c 'ls'", &rc);
  EXPECT_EQ(rc, 0) << "SMB 2.1 signing: " << out;
  // The file is alice's: its owner SID is the one of a file she writes with NTLM.
  const auto owner = [](const std::string& listing) {
    const size_t at = listing.find("Owner SID:");
    return at == std::string::npos ? std::string("none")
                                   : listing.substr(at, listing.find('\n', at) - at);
  };
  out = smb("alice.cc", "-c 'showacls; ls k.txt'", &rc);
  EXPECT_EQ(rc, 0) << out;
  const std::string kerberos_owner = owner(out);
  out = RunCommand("smbclient //127.0.0.1/export" + port() +
                       " -s /dev/null -U alice%alice-password -c 'put " + local +
                       " n.txt; showacls; ls n.txt'",
                   &rc);
  EXPECT_EQ(rc, 0) << out;
  EXPECT_NE(kerberos_owner, "none");
  EXPECT_EQ(kerberos_owner, owner(out));

  // bob has a valid ticket but no dfs user.
  out = smb("bob.cc", "-c 'ls'", &rc);
  EXPECT_NE(rc, 0) << out;
  EXPECT_NE(out.find("NT_STATUS_LOGON_FAILURE"), std::string::npos) << out;

  // A new key for cifs/localhost that the keytab lacks: alice's new ticket is refused, until
  // the keytab holds the key (dfs rereads it within 5 s of the change).
  const std::string kenv = env + "KRB5_KDC_PROFILE=" + dir_ + "/kdc.conf ";
  Ok(kenv + "kadmin.local -r DFS.TEST -q 'cpw -randkey cifs/files.dfs.test' >/dev/null");
  Ok("echo alicepw | " + env + "KRB5CCNAME=FILE:" + dir_ + "/alice2.cc kinit alice >/dev/null");
  out = smb("alice2.cc", "-c 'ls'", &rc);
  EXPECT_NE(rc, 0) << out;
  EXPECT_NE(out.find("NT_STATUS_LOGON_FAILURE"), std::string::npos) << out;
  Ok(kenv + "kadmin.local -r DFS.TEST -q 'ktadd -k " + dir_ +
     "/nfs.keytab -norandkey cifs/files.dfs.test' >/dev/null");
  for (int i = 0; i < 40; ++i) {
    out = smb("alice2.cc", "-c 'ls'", &rc);
    if (rc == 0) break;
    usleep(250'000);
  }
  EXPECT_EQ(rc, 0) << "after the keytab got the new key: " << out;

  if (HasFailure()) ADD_FAILURE() << dfs_->Log();

  // Kerberos only.
  dfs_.reset();
  o.env.push_back("DITTOFS_SMB_NTLM=false");
  p = DfsProcess::Start(DFS_BINARY, o);
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  dfs_ = std::move(p).value();
  ASSERT_TRUE(CreateUserViaApi(dfs_->api_port(), dfs_->admin_password(), "alice", "alice-password",
                               4242, &error))
      << error;
  out = RunCommand(
      "smbclient //127.0.0.1/export" + port() + " -s /dev/null -U alice%alice-password -c 'ls'",
      &rc);
  EXPECT_NE(rc, 0) << out;
  out = smb("alice2.cc", "-c 'ls'", &rc);
  EXPECT_EQ(rc, 0) << out;
  if (HasFailure()) ADD_FAILURE() << dfs_->Log();
}

}  // namespace
}  // namespace dittofs::integration

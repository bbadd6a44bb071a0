// SPDX-License-Identifier: Apache-2.0
// dfsctl end to end: the real binary, run as a child process with a private
// XDG_CONFIG_HOME, against a real dfs process's REST API.

#include <arpa/inet.h>
#include <fcntl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <nfsc/libnfs-raw-nlm.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "dfs_process.h"
#include "nfs4_client.h"
#include "nfs_client.h"
#include "shell.h"
#include "smb_peer_client.h"
#include "testing/random_bytes.h"
#include "testing/status_matchers.h"

extern char** environ;

namespace dittofs::integration {
namespace {

using json = nlohmann::json;
using ::testing::HasSubstr;

struct CtlRun {
  int exit_code = -1;
  std::string out;
  std::string err;
};

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// A TCP port on 127.0.0.1 that nothing listens on right now.
uint16_t FreePort() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(addr);
  bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  close(fd);
  return ntohs(addr.sin_port);
}

// A TCP forwarder over a Unix socket, for clients that dial a fixed port: `out SOCK PORT`
// listens on SOCK and connects each connection to 127.0.0.1:PORT; `in SOCK` listens on
// 127.0.0.1:445 (in a network namespace of the test's own) and connects each to SOCK.
constexpr const char* kForwarder = R"py(
import socket, sys, threading
def pump(a, b):
    try:
        while True:
            d = a.recv(65536)
            if not d:
                break
            b.sendall(d)
    except OSError:
        pass
    for s in (a, b):
        try:
            s.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
def serve(listener, dial):
    while True:
        c, _ = listener.accept()
        try:
            u = dial()
        except OSError:
            c.close()
            continue
        threading.Thread(target=pump, args=(c, u), daemon=True).start()
        threading.Thread(target=pump, args=(u, c), daemon=True).start()
def dial_unix():
    u = socket.socket(socket.AF_UNIX)
    u.connect(sys.argv[2])
    return u
if sys.argv[1] == "out":
    l = socket.socket(socket.AF_UNIX)
    l.bind(sys.argv[2])
    l.listen(16)
    serve(l, lambda: socket.create_connection(("127.0.0.1", int(sys.argv[3]))))
else:
    l = socket.socket()
    l.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    l.bind(("127.0.0.1", 445))
    l.listen(16)
    serve(l, dial_unix)
)py";

class DfsctlTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto p = DfsProcess::Start(DFS_BINARY, DfsOptions{});
    ASSERT_TRUE(p.ok()) << p.status().ToString();
    server_ = std::move(p).value();
    ASSERT_FALSE(server_->admin_password().empty()) << server_->Log();
    home_ = server_->dir() + "/ctl-home";
    std::filesystem::create_directories(home_);
    server_url_ = "http://127.0.0.1:" + std::to_string(server_->api_port());
  }
  void TearDown() override {
    Result<int> rc = server_->Stop();
    EXPECT_TRUE(rc.ok() && *rc == 0) << server_->Log();
  }

  std::string ConfigDir() const { return home_ + "/xdg/dfsctl"; }

  // Runs dfsctl with `args`, feeding `input` on stdin.
  CtlRun Ctl(std::vector<std::string> args, const std::string& input = "") {
    std::string in_path = home_ + "/stdin", out_path = home_ + "/stdout",
                err_path = home_ + "/stderr";
    std::ofstream(in_path) << input;
    args.insert(args.begin(), DFSCTL_BINARY);
    std::vector<std::string> env;
    for (char** e = environ; *e != nullptr; ++e) {
      if (std::strncmp(*e, "XDG_CONFIG_HOME=", 16) != 0 && std::strncmp(*e, "HOME=", 5) != 0) {
        env.emplace_back(*e);
      }
    }
    env.push_back("XDG_CONFIG_HOME=" + home_ + "/xdg");
    env.push_back("HOME=" + home_);
    std::vector<char*> argv, envp;
    for (std::string& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    for (std::string& e : env) envp.push_back(e.data());
    envp.push_back(nullptr);

    pid_t pid = fork();
    if (pid == 0) {
      int in = open(in_path.c_str(), O_RDONLY);
      int out = open(out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      int err = open(err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      if (in < 0 || out < 0 || err < 0) _exit(126);
      dup2(in, STDIN_FILENO);
      dup2(out, STDOUT_FILENO);
      dup2(err, STDERR_FILENO);
      execve(argv[0], argv.data(), envp.data());
      _exit(127);
    }
    CtlRun run;
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    run.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    run.out = ReadFile(out_path);
    run.err = ReadFile(err_path);
    return run;
  }

  // Logs in as admin and replaces the generated password.
  // Runs smbclient's `commands` on //127.0.0.1/export as admin (SMB3), in home_.
  ShellRun Smbclient(const std::string& commands) {
    return Shell("cd " + Quote(home_) + " && smbclient //127.0.0.1/export -s /dev/null -p " +
                 std::to_string(server_->smb_port()) + " -U " +
                 Quote("admin%" + server_->admin_password()) +
                 " --option='netbios name=localhost' -m SMB3 -c " + Quote(commands));
  }

  void LoginAndChangePassword() {
    CtlRun login = Ctl({"login", "--server", server_url_, "--user", "admin", "--password-stdin"},
                       server_->admin_password() + "\n");
    ASSERT_EQ(login.exit_code, 0) << login.err;
    EXPECT_THAT(login.err, HasSubstr("dfsctl user change-password"));
    CtlRun change = Ctl({"user", "change-password", "--current", server_->admin_password(), "--new",
                         "a-new-admin-password"});
    ASSERT_EQ(change.exit_code, 0) << change.err;
  }

  std::unique_ptr<DfsProcess> server_;
  std::string home_;
  std::string server_url_;
};

TEST_F(DfsctlTest, Quickstart) {
  CtlRun login = Ctl({"login", "--server", server_url_, "--user", "admin", "--password-stdin"},
                     server_->admin_password() + "\n");
  ASSERT_EQ(login.exit_code, 0) << login.err;
  // Before the password is changed, the server refuses and dfsctl says what to do.
  CtlRun refused = Ctl({"user", "list"});
  EXPECT_EQ(refused.exit_code, 1);
  EXPECT_THAT(refused.err, HasSubstr("403"));
  EXPECT_THAT(refused.err, HasSubstr("dfsctl user change-password"));

  CtlRun change = Ctl({"user", "change-password", "--current", server_->admin_password(), "--new",
                       "a-new-admin-password"});
  ASSERT_EQ(change.exit_code, 0) << change.err;

  std::string blocks = server_->dir() + "/blocks";
  std::filesystem::create_directories(blocks);
  for (std::vector<std::string> args : std::vector<std::vector<std::string>>{
           {"user", "create", "--username", "alice", "--password", "alice-password", "--host-uid",
            "1000"},
           {"store", "metadata", "add", "--name", "meta1", "--type", "memory"},
           {"store", "block", "add", "--name", "blocks1", "--type", "localfs", "--path", blocks},
           {"share", "create", "/data", "--metadata-store", "meta1", "--block-store", "blocks1",
            "--default-permission", "none", "--root-mode", "1777"},
           {"share", "permission", "grant", "/data", "--user", "alice", "--level", "read-write"},
           {"settings", "set", "logging.level", "debug"}}) {
    CtlRun run = Ctl(args);
    EXPECT_EQ(run.exit_code, 0) << args[0] << " " << args[1] << ": " << run.err;
  }

  CtlRun adapters = Ctl({"adapter", "list"});
  ASSERT_EQ(adapters.exit_code, 0) << adapters.err;
  EXPECT_THAT(adapters.out, HasSubstr("NAME"));
  EXPECT_THAT(adapters.out, HasSubstr("nfs"));

  CtlRun user = Ctl({"user", "get", "alice", "-o", "json"});
  ASSERT_EQ(user.exit_code, 0) << user.err;
  json alice = json::parse(user.out);
  EXPECT_EQ(alice["uid"], 1000);
  EXPECT_EQ(alice["gid"], 1000);

  CtlRun grants = Ctl({"share", "permission", "list", "/data", "-o", "json"});
  ASSERT_EQ(grants.exit_code, 0) << grants.err;
  EXPECT_EQ(json::parse(grants.out),
            json::parse(R"([{"kind":"user","name":"alice","level":"read-write"}])"));

  CtlRun block = Ctl({"store", "block", "get", "blocks1", "-o", "json"});
  ASSERT_EQ(block.exit_code, 0) << block.err;
  EXPECT_EQ(json::parse(block.out)["config"]["path"], blocks);

  CtlRun level = Ctl({"settings", "get", "logging.level", "-o", "json"});
  ASSERT_EQ(level.exit_code, 0) << level.err;
  EXPECT_EQ(json::parse(level.out)["value"], "debug");

  // What dfsctl configured is what NFS clients get, at once: alice (uid 1000) writes; uid 2000,
  // with no grant and no default permission, cannot even mount.
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<RawNfsClient> as_alice,
                       RawNfsClient::Connect(server_->port(), 1000, 1000));
  ASSERT_OK_AND_ASSIGN(MntReply mnt, as_alice->Mnt("/data"));
  ASSERT_EQ(mnt.status, MNT3_OK);
  ASSERT_OK_AND_ASSIGN(CreatedReply file, as_alice->Create(mnt.fh, "a", GUARDED, ModeAttrs(0644)));
  EXPECT_EQ(file.status, NFS3_OK);
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<RawNfsClient> stranger,
                       RawNfsClient::Connect(server_->port(), 2000, 2000));
  ASSERT_OK_AND_ASSIGN(MntReply refused_mnt, stranger->Mnt("/data"));
  EXPECT_EQ(refused_mnt.status, MNT3ERR_ACCES);

  // Squash: everyone becomes the guest.
  ASSERT_EQ(Ctl({"share", "update", "/data", "--squash", "all_to_guest"}).exit_code, 0);
  ASSERT_OK_AND_ASSIGN(CreatedReply squashed,
                       as_alice->Create(mnt.fh, "b", GUARDED, ModeAttrs(0644)));
  ASSERT_EQ(squashed.status, NFS3_OK);
  ASSERT_TRUE(squashed.obj_attributes.attributes_follow);
  EXPECT_EQ(squashed.obj_attributes.post_op_attr_u.attributes.uid, 65534u);
  // Read-only.
  ASSERT_EQ(Ctl({"share", "update", "/data", "--read-only", "true"}).exit_code, 0);
  ASSERT_OK_AND_ASSIGN(CreatedReply ro, as_alice->Create(mnt.fh, "c", GUARDED, ModeAttrs(0644)));
  EXPECT_EQ(ro.status, NFS3ERR_ROFS);
  // A denied client network: refused at MOUNT and on the handle it already holds.
  ASSERT_EQ(Ctl({"share", "update", "/data", "--denied-cidrs", "127.0.0.0/8"}).exit_code, 0);
  ASSERT_OK_AND_ASSIGN(MntReply denied, as_alice->Mnt("/data"));
  EXPECT_EQ(denied.status, MNT3ERR_ACCES);
  ASSERT_OK_AND_ASSIGN(GETATTR3res held, as_alice->Getattr(mnt.fh));
  EXPECT_EQ(held.status, NFS3ERR_ACCES);
}

TEST_F(DfsctlTest, OutputFormats) {
  ASSERT_NO_FATAL_FAILURE(LoginAndChangePassword());
  CtlRun list = Ctl({"user", "list", "-o", "json"});
  ASSERT_EQ(list.exit_code, 0) << list.err;
  json users = json::parse(list.out, nullptr, false);
  ASSERT_TRUE(users.is_array()) << list.out;
  ASSERT_EQ(users.size(), 1u);
  EXPECT_EQ(users[0]["username"], "admin");

  CtlRun yaml = Ctl({"user", "list", "-o", "yaml"});
  ASSERT_EQ(yaml.exit_code, 0) << yaml.err;
  EXPECT_THAT(yaml.out, HasSubstr("username: \"admin\""));

  CtlRun table = Ctl({"share", "list"});
  ASSERT_EQ(table.exit_code, 0) << table.err;
  EXPECT_THAT(table.out, HasSubstr("METADATA STORE"));
  EXPECT_THAT(table.out, HasSubstr("/export"));

  EXPECT_EQ(Ctl({"user", "list", "-o", "xml"}).exit_code, 2);
}

TEST_F(DfsctlTest, ApiErrorsExitNonZeroWithTheProblemDetail) {
  ASSERT_NO_FATAL_FAILURE(LoginAndChangePassword());
  CtlRun missing = Ctl({"user", "get", "nobody"});
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_THAT(missing.err, HasSubstr("no user 'nobody'"));
  EXPECT_THAT(missing.err, HasSubstr("404"));
  EXPECT_TRUE(missing.out.empty()) << missing.out;

  CtlRun bad = Ctl({"store", "block", "add", "--name", "b", "--type", "localfs", "--path", "rel"});
  EXPECT_EQ(bad.exit_code, 1);
  EXPECT_THAT(bad.err, HasSubstr("absolute path"));

  CtlRun usage = Ctl({"share", "permission", "grant", "/export", "--level", "read"});
  EXPECT_EQ(usage.exit_code, 2);
  EXPECT_THAT(usage.err, HasSubstr("--user"));
}

TEST_F(DfsctlTest, ConfigFileIsPrivateAndContextsWork) {
  ASSERT_NO_FATAL_FAILURE(LoginAndChangePassword());
  struct stat file {
  }, dir{};
  ASSERT_EQ(stat((ConfigDir() + "/config.json").c_str(), &file), 0);
  ASSERT_EQ(stat(ConfigDir().c_str(), &dir), 0);
  EXPECT_EQ(file.st_mode & 07777, 0600u);
  EXPECT_EQ(dir.st_mode & 07777, 0700u);

  CtlRun current = Ctl({"context", "current"});
  EXPECT_EQ(current.out, "default\n");
  CtlRun contexts = Ctl({"context", "list", "-o", "json"});
  ASSERT_EQ(contexts.exit_code, 0) << contexts.err;
  json list = json::parse(contexts.out);
  ASSERT_EQ(list.size(), 1u);
  EXPECT_EQ(list[0]["server"], server_url_);
  EXPECT_EQ(contexts.out.find("token"), std::string::npos) << "tokens must not be listed";

  ASSERT_EQ(Ctl({"logout"}).exit_code, 0);
  CtlRun after = Ctl({"user", "list"});
  EXPECT_EQ(after.exit_code, 1);
  EXPECT_THAT(after.err, HasSubstr("dfsctl login"));
}

TEST_F(DfsctlTest, ExpiredAccessTokenIsRefreshed) {
  ASSERT_NO_FATAL_FAILURE(LoginAndChangePassword());
  // Make the access token unusable, as an expired one would be.
  std::string path = ConfigDir() + "/config.json";
  json config = json::parse(ReadFile(path));
  config["contexts"]["default"]["access_token"] = "not-a-valid-token";
  std::ofstream(path) << config.dump();

  CtlRun list = Ctl({"user", "list"});
  EXPECT_EQ(list.exit_code, 0) << list.err;
  EXPECT_THAT(list.out, HasSubstr("admin"));
  json saved = json::parse(ReadFile(path));
  EXPECT_NE(saved["contexts"]["default"]["access_token"], "not-a-valid-token");
}

TEST_F(DfsctlTest, ShareMountPrintsTheLinuxCommand) {
  ASSERT_NO_FATAL_FAILURE(LoginAndChangePassword());
  // The test server's NFS adapter has port 0 (ephemeral): no mount command can name it.
  CtlRun ephemeral = Ctl({"share", "mount", "/export"});
  EXPECT_EQ(ephemeral.exit_code, 1);
  EXPECT_THAT(ephemeral.err, HasSubstr("adapter update nfs --port"));

  std::string p = std::to_string(FreePort());
  CtlRun update = Ctl({"adapter", "update", "nfs", "--port", p, "--bind", "127.0.0.1"});
  ASSERT_EQ(update.exit_code, 0) << update.err;
  CtlRun adapter = Ctl({"adapter", "get", "nfs", "-o", "json"});
  ASSERT_EQ(adapter.exit_code, 0) << adapter.err;
  EXPECT_EQ(json::parse(adapter.out)["port"], std::stoi(p));

  CtlRun mount = Ctl({"share", "mount", "export", "--mountpoint", "/mnt/x"});
  ASSERT_EQ(mount.exit_code, 0) << mount.err;
  EXPECT_EQ(mount.out, "mount -t nfs -o vers=3,tcp,port=" + p + ",mountport=" + p +
                           ",nolock 127.0.0.1:/export /mnt/x\n");

  CtlRun missing = Ctl({"share", "mount", "/nope"});
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_THAT(missing.err, HasSubstr("404"));
}

TEST_F(DfsctlTest, ShareSmbOptions) {
  ASSERT_NO_FATAL_FAILURE(LoginAndChangePassword());
  for (std::vector<std::string> args : std::vector<std::vector<std::string>>{
           {"store", "metadata", "add", "--name", "meta2", "--type", "memory"},
           {"store", "block", "add", "--name", "blocks2", "--type", "memory"},
           {"share", "create", "/guests", "--metadata-store", "meta2", "--block-store", "blocks2",
            "--guest-ok", "--smb-encrypt"}}) {
    CtlRun run = Ctl(args);
    ASSERT_EQ(run.exit_code, 0) << args[0] << " " << args[1] << ": " << run.err;
  }
  CtlRun get = Ctl({"share", "get", "/guests", "-o", "json"});
  ASSERT_EQ(get.exit_code, 0) << get.err;
  json share = json::parse(get.out);
  EXPECT_EQ(share["guest_ok"], true);
  EXPECT_EQ(share["smb_encrypt"], true);
  EXPECT_EQ(share["smb_require_signing"], false);
  // The default share takes no guests.
  CtlRun export_share = Ctl({"share", "get", "/export", "-o", "json"});
  ASSERT_EQ(export_share.exit_code, 0) << export_share.err;
  EXPECT_EQ(json::parse(export_share.out)["guest_ok"], false);

  CtlRun update = Ctl(
      {"share", "update", "/guests", "--smb-encrypt", "false", "--smb-require-signing", "true"});
  ASSERT_EQ(update.exit_code, 0) << update.err;
  get = Ctl({"share", "get", "/guests", "-o", "json"});
  ASSERT_EQ(get.exit_code, 0) << get.err;
  share = json::parse(get.out);
  EXPECT_EQ(share["guest_ok"], true);
  EXPECT_EQ(share["smb_encrypt"], false);
  EXPECT_EQ(share["smb_require_signing"], true);
  CtlRun table = Ctl({"share", "list"});
  ASSERT_EQ(table.exit_code, 0) << table.err;
  EXPECT_THAT(table.out, HasSubstr("GUEST OK"));
  CtlRun bad = Ctl({"share", "update", "/guests", "--guest-ok", "maybe"});
  EXPECT_NE(bad.exit_code, 0);
}

// An NFSv3 client's lock (NLM, through libnfs) shows in `client list` and `share locks`, and
// `client evict` drops it.
TEST_F(DfsctlTest, ClientsAndShareLocks) {
  LoginAndChangePassword();
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<RawNfsClient> nfs,
                       RawNfsClient::Connect(server_->port(), 0, 0));
  ASSERT_OK_AND_ASSIGN(MntReply root, nfs->Mnt("/export"));
  sattr3 attrs{};
  ASSERT_OK_AND_ASSIGN(CreatedReply file, nfs->Create(root.fh, "locked", UNCHECKED, attrs));
  ASSERT_EQ(file.status, NFS3_OK);
  char cookie[] = "c";
  const auto lock = [&](const char* host, uint32_t svid) {
    std::string caller(host), oh = std::string(host) + "-" + std::to_string(svid);
    NLM4_LOCKargs args{};
    args.cookie.data.data_len = 1;
    args.cookie.data.data_val = cookie;
    args.exclusive = 1;
    args.lock.caller_name = caller.data();
    args.lock.fh.data.data_len = static_cast<u_int>(file.fh.size());
    args.lock.fh.data.data_val = file.fh.data();
    args.lock.oh = oh.data();
    args.lock.svid = svid;
    args.lock.l_offset = 0;
    args.lock.l_len = 10;
    nlmstat4 status = NLM4_FAILED;
    EXPECT_OK(nfs->Call(
        [&](rpc_context* r, rpc_cb cb, void* p) { return rpc_nlm4_lock_async(r, cb, &args, p); },
        [&](void* reply) { status = static_cast<NLM4_LOCKres*>(reply)->status; }));
    return status;
  };
  ASSERT_EQ(lock("ctl-host", 9), NLM4_GRANTED);
  ASSERT_EQ(lock("other-host", 1), NLM4_DENIED);

  CtlRun clients = Ctl({"client", "list"});
  ASSERT_EQ(clients.exit_code, 0) << clients.err;
  EXPECT_THAT(clients.out, HasSubstr("nlm:127.0.0.1/ctl-host"));
  CtlRun one = Ctl({"client", "get", "nlm:127.0.0.1/ctl-host", "-o", "json"});
  ASSERT_EQ(one.exit_code, 0) << one.err;
  EXPECT_EQ(nlohmann::json::parse(one.out)["lock_owners"], 1);
  CtlRun locks = Ctl({"share", "locks", "/export"});
  ASSERT_EQ(locks.exit_code, 0) << locks.err;
  EXPECT_THAT(locks.out, HasSubstr("0-9"));
  EXPECT_THAT(locks.out, HasSubstr("nlm ctl-host (127.0.0.1) svid 9"));
  EXPECT_THAT(locks.out, HasSubstr("exclusive"));

  CtlRun missing = Ctl({"client", "evict", "nlm:127.0.0.1/nobody"});
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_THAT(missing.err, HasSubstr("404"));
  CtlRun evict = Ctl({"client", "evict", "nlm:127.0.0.1/ctl-host"});
  ASSERT_EQ(evict.exit_code, 0) << evict.err;
  locks = Ctl({"share", "locks", "/export", "-o", "json"});
  ASSERT_EQ(locks.exit_code, 0) << locks.err;
  EXPECT_EQ(nlohmann::json::parse(locks.out).size(), 0u) << locks.out;
  EXPECT_EQ(lock("other-host", 1), NLM4_GRANTED);
}

// An NFSv4.1 client's open and lock show in `client list`; `client evict` releases them and
// ends the client (its session is gone).
TEST_F(DfsctlTest, Nfs4ClientsAreListedAndEvicted) {
  LoginAndChangePassword();
  using namespace nfs;  // NOLINT: one protocol's calls
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<Nfs4TestClient> c,
                       Nfs4TestClient::Connect(server_->port(), 1));
  ASSERT_OK(c->Establish("ctl-nfs4-client"));
  auto ops = Nfs4TestClient::Walk("/export");
  ops.push_back(OpenByName("v4locked", OPEN4_SHARE_ACCESS_BOTH, OPEN4_SHARE_DENY_NONE, "o",
                           c->clientid(), true));
  ops.push_back(LockNew(stateid4{1, {}}, 0, "lo", c->clientid(), true, 0, 10));
  ASSERT_OK_AND_ASSIGN(COMPOUND4res r, c->Compound(c->InSession(ops)));
  ASSERT_EQ(r.status, nfsstat4::NFS4_OK) << Describe(r);

  CtlRun list = Ctl({"client", "list", "-o", "json"});
  ASSERT_EQ(list.exit_code, 0) << list.err;
  nlohmann::json found;
  for (const auto& j : nlohmann::json::parse(list.out)) {
    if (j["name"] == "ctl-nfs4-client") found = j;
  }
  ASSERT_FALSE(found.is_null()) << list.out;
  EXPECT_EQ(found["protocol"], "nfs4.1");
  EXPECT_EQ(found["opens"], 1);
  EXPECT_EQ(found["locks"], 1);
  EXPECT_EQ(found["sessions"], 1);
  CtlRun table = Ctl({"client", "list"});
  EXPECT_THAT(table.out, HasSubstr("ctl-nfs4-client"));

  const std::string id = found["id"];
  CtlRun evict = Ctl({"client", "evict", id});
  ASSERT_EQ(evict.exit_code, 0) << evict.err;
  EXPECT_EQ(Ctl({"client", "get", id}).exit_code, 1);
  ASSERT_OK_AND_ASSIGN(r, c->Compound(c->InSession({PutRootFh()})));
  EXPECT_EQ(r.status, nfsstat4::NFS4ERR_BADSESSION);
}

// An SMB session shows in `client list` with its open and the open's caching; `client evict`
// closes its connection, and its open goes with it.
TEST_F(DfsctlTest, SmbSessionsAreListedAndEvicted) {
  if (Shell("/usr/bin/python3 -c 'import impacket.smbconnection'").exit_code != 0) {
    GTEST_SKIP() << "python3-impacket is not installed";
  }
  ASSERT_NE(server_->smb_port(), 0);
  LoginAndChangePassword();
  server_->set_admin_password("a-new-admin-password");
  std::unique_ptr<SmbPeer> peer = SmbPeer::Start(*server_, SMB_PEER_SCRIPT);
  ASSERT_NE(peer, nullptr);
  // Made (FILE_CREATE), closed, opened again asking for a batch oplock.
  std::string made = peer->Do("create smbheld 0xc0000000 0x40 2");
  ASSERT_EQ(made.rfind("ok ", 0), 0u) << made;
  ASSERT_EQ(peer->Do("close " + made.substr(3)), "ok");
  std::string opened = peer->Do("open smbheld 0x80000000 7 9");
  ASSERT_EQ(opened.rfind("ok ", 0), 0u) << opened;

  CtlRun list = Ctl({"client", "list", "-o", "json"});
  ASSERT_EQ(list.exit_code, 0) << list.err;
  nlohmann::json found;
  for (const auto& j : nlohmann::json::parse(list.out)) {
    if (j["protocol"] == "smb3.0" && j["name"] == "admin") found = j;
  }
  ASSERT_FALSE(found.is_null()) << list.out;
  EXPECT_EQ(found["address"], "127.0.0.1");
  EXPECT_EQ(found["opens"], 1);
  ASSERT_EQ(found["state"].size(), 1u);
  EXPECT_EQ(found["state"][0]["path"], "smbheld");
  EXPECT_EQ(found["state"][0]["caching"], "oplock batch");
  EXPECT_EQ(found["leases"], 1);
  CtlRun table = Ctl({"client", "list"});
  EXPECT_THAT(table.out, HasSubstr("smb3.0"));

  const std::string id = found["id"];
  CtlRun evict = Ctl({"client", "evict", id});
  ASSERT_EQ(evict.exit_code, 0) << evict.err;
  EXPECT_EQ(Ctl({"client", "get", id}).exit_code, 1);
  EXPECT_NE(peer->Do("read " + opened.substr(3) + " 0 1").rfind("ok", 0), 0u);
  EXPECT_EQ(Ctl({"client", "evict", id}).exit_code, 1);
}

// The security settings (Kerberos, NTLM, NFS over TLS) are checked against the configuration
// they would make before they are kept, and the server starts with them: TLS's files are given
// one at a time (key_file while cert_file is empty, then cert_file), a certificate that is not
// one, a keytab that cannot be read and NTLM off without Kerberos are refused and not stored.
TEST_F(DfsctlTest, SecuritySettingsAreCheckedAndKeptForTheNextStart) {
  LoginAndChangePassword();
  const std::string dir = server_->dir();
  ASSERT_EQ(std::system(("openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes "
                         "-keyout " +
                         dir + "/key.pem -out " + dir +
                         "/cert.pem -days 2 -subj /CN=localhost >/dev/null 2>&1")
                            .c_str()),
            0);
  CtlRun bad = Ctl({"settings", "set", "nfs.tls.cert_file", dir + "/cert.pem"});
  EXPECT_NE(bad.exit_code, 0);
  EXPECT_THAT(bad.err, HasSubstr("cert_file and key_file go together"));
  ASSERT_EQ(Ctl({"settings", "set", "nfs.tls.key_file", dir + "/key.pem"}).exit_code, 0);
  bad = Ctl({"settings", "set", "nfs.tls.cert_file", dir + "/key.pem"});
  EXPECT_NE(bad.exit_code, 0);
  EXPECT_THAT(bad.err, HasSubstr("nfs.tls.cert_file"));
  EXPECT_NE(Ctl({"settings", "get", "nfs.tls.cert_file"}).exit_code, 0);  // never stored
  CtlRun ok = Ctl({"settings", "set", "nfs.tls.cert_file", dir + "/cert.pem"});
  ASSERT_EQ(ok.exit_code, 0) << ok.err;

  bad = Ctl({"settings", "set", "kerberos.keytab", dir + "/missing.keytab"});
  EXPECT_NE(bad.exit_code, 0);
  EXPECT_THAT(bad.err, HasSubstr("missing.keytab"));
  bad = Ctl({"settings", "set", "smb.ntlm", "false"});
  EXPECT_NE(bad.exit_code, 0);
  EXPECT_THAT(bad.err, HasSubstr("kerberos.keytab is not set"));
  EXPECT_NE(Ctl({"settings", "set", "kerberos.seq_window", "5000"}).exit_code, 0);
  ASSERT_EQ(Ctl({"settings", "set", "kerberos.realms", "A.TEST,B.TEST"}).exit_code, 0);
  EXPECT_EQ(
      Ctl({"settings", "get", "kerberos.realms"}).out.find("A.TEST,B.TEST") != std::string::npos,
      true);

  // The next start offers TLS with the stored files.
  ASSERT_OK(server_->Stop().status());
  ASSERT_OK(server_->Restart());
  EXPECT_THAT(server_->Log(), HasSubstr("nfs: TLS offered (certificate " + dir + "/cert.pem"));
}

// NFS settings change the running server: the NFSv4 lease a client is told, and the minor
// versions served; a value out of range is refused and not stored.
TEST_F(DfsctlTest, NfsSettingsApplyLive) {
  LoginAndChangePassword();
  using namespace nfs;  // NOLINT: one protocol's calls
  ASSERT_EQ(Ctl({"settings", "set", "nfs.lease_s", "45"}).exit_code, 0);
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<Nfs4TestClient> c,
                       Nfs4TestClient::Connect(server_->port(), 1));
  ASSERT_OK(c->Establish("ctl-settings"));
  ASSERT_OK_AND_ASSIGN(COMPOUND4res r,
                       c->Compound(c->InSession({PutRootFh(), GetAttr({FATTR4_LEASE_TIME})})));
  ASSERT_EQ(r.status, nfsstat4::NFS4_OK) << Describe(r);
  EXPECT_EQ(AttrsOf(r)->lease_time, 45u);
  CtlRun bad = Ctl({"settings", "set", "nfs.lease_s", "1"});
  EXPECT_NE(bad.exit_code, 0);
  EXPECT_THAT(bad.err, HasSubstr("5 to 3600"));
  EXPECT_NE(Ctl({"settings", "set", "nfs.versions", "3,5"}).exit_code, 0);
  EXPECT_NE(Ctl({"settings", "get", "nfs.versions"}).exit_code, 0);  // never stored
  EXPECT_EQ(Ctl({"settings", "set", "nfs.delegations", "false"}).exit_code, 0);

  // 4.0 off: a 4.0 COMPOUND is a minor version mismatch; 4.1 goes on.
  ASSERT_EQ(Ctl({"settings", "set", "nfs.versions", "3,4.1,4.2"}).exit_code, 0);
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<Nfs4TestClient> old,
                       Nfs4TestClient::Connect(server_->port(), 0));
  ASSERT_OK_AND_ASSIGN(r, old->Compound({PutRootFh()}));
  EXPECT_EQ(r.status, nfsstat4::NFS4ERR_MINOR_VERS_MISMATCH);
  ASSERT_OK_AND_ASSIGN(r, c->Compound(c->InSession({PutRootFh()})));
  EXPECT_EQ(r.status, nfsstat4::NFS4_OK);
  ASSERT_EQ(Ctl({"settings", "set", "nfs.versions", "3,4"}).exit_code, 0);
  ASSERT_OK_AND_ASSIGN(r, old->Compound({PutRootFh()}));
  EXPECT_EQ(r.status, nfsstat4::NFS4_OK);

  // NFSv3 off, then NFSv4 off, at once: a mount of the one not served fails.
  ASSERT_EQ(Ctl({"settings", "set", "nfs.versions", "4"}).exit_code, 0);
  EXPECT_FALSE(NfsMount::Mount(server_->port(), "/export", 0, 0).ok());
  ASSERT_OK_AND_ASSIGN(r, old->Compound({PutRootFh()}));
  EXPECT_EQ(r.status, nfsstat4::NFS4_OK);
  ASSERT_EQ(Ctl({"settings", "set", "nfs.versions", "3"}).exit_code, 0);
  EXPECT_TRUE(NfsMount::Mount(server_->port(), "/export", 0, 0).ok());
  EXPECT_FALSE(old->Compound({PutRootFh()}).ok());
  ASSERT_EQ(Ctl({"settings", "set", "nfs.versions", "3,4"}).exit_code, 0);
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<Nfs4TestClient> again,
                       Nfs4TestClient::Connect(server_->port(), 0));
  ASSERT_OK_AND_ASSIGN(r, again->Compound({PutRootFh()}));
  EXPECT_EQ(r.status, nfsstat4::NFS4_OK);
}

TEST_F(DfsctlTest, CompletionScriptsNameTheCommands) {
  for (const char* shell : {"bash", "zsh", "fish"}) {
    CtlRun run = Ctl({"completion", shell});
    ASSERT_EQ(run.exit_code, 0) << shell << ": " << run.err;
    // Checked with find(): a failure would otherwise print the whole script.
    EXPECT_NE(run.out.find("change-password"), std::string::npos) << shell;
    EXPECT_NE(run.out.find("password-stdin"), std::string::npos) << shell;
    EXPECT_NE(run.out.find("share permission"), std::string::npos) << shell;
  }
  EXPECT_EQ(Ctl({"completion", "tcsh"}).exit_code, 2);
}

// The share's recycle bin (docs/recycle.md): a file removed over NFSv3 and another over SMB go to
// `#recycle` under their paths; `dfsctl trash` lists them and brings them back byte for byte;
// a file moved out of the bin through the mount leaves its list; the size cap evicts the oldest;
// `trash empty` removes the rest.
TEST_F(DfsctlTest, TheRecycleBinKeepsWhatEveryProtocolRemovesAndGivesItBack) {
  if (Shell("command -v smbclient").exit_code != 0) GTEST_SKIP() << "no smbclient";
  ASSERT_NE(server_->smb_port(), 0);
  ASSERT_NO_FATAL_FAILURE(LoginAndChangePassword());
  server_->set_admin_password("a-new-admin-password");
  CtlRun on = Ctl({"share", "update", "/export", "--recycle", "true"});
  ASSERT_EQ(on.exit_code, 0) << on.err;

  // Over NFSv3, as uid 1000: docs/nfs.bin, written and removed.
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<RawNfsClient> nfs,
                       RawNfsClient::Connect(server_->port(), 1000, 1000));
  ASSERT_OK_AND_ASSIGN(MntReply mnt, nfs->Mnt("/export"));
  ASSERT_EQ(mnt.status, MNT3_OK);
  ASSERT_OK_AND_ASSIGN(CreatedReply docs, nfs->Mkdir(mnt.fh, "docs", ModeAttrs(0750)));
  ASSERT_EQ(docs.status, NFS3_OK);
  const auto put_nfs = [&](const FileHandle& dir, const std::string& name,
                           const std::string& data) {
    ASSERT_OK_AND_ASSIGN(CreatedReply f, nfs->Create(dir, name, GUARDED, ModeAttrs(0640)));
    ASSERT_EQ(f.status, NFS3_OK);
    for (size_t at = 0; at < data.size(); at += 65536) {
      ASSERT_OK_AND_ASSIGN(
          WRITE3res w, nfs->Write(f.fh, at, std::string_view(data).substr(at, 65536), FILE_SYNC));
      ASSERT_EQ(w.status, NFS3_OK);
    }
  };
  const auto read_nfs = [&](const std::vector<std::string>& path) -> std::string {
    FileHandle fh = mnt.fh;
    for (const std::string& name : path) {
      Result<LookupReply> l = nfs->Lookup(fh, name);
      if (!l.ok() || l->status != NFS3_OK) return "no " + name;
      fh = l->fh;
    }
    std::string out;
    for (;;) {
      Result<ReadReply> r = nfs->Read(fh, out.size(), 65536);
      if (!r.ok() || r->status != NFS3_OK) return "read failed";
      out += r->data;
      if (r->eof || r->count == 0) return out;
    }
  };
  const std::string nfs_data = testing::RandomString(300 * 1024 + 7, 1);
  ASSERT_NO_FATAL_FAILURE(put_nfs(docs.fh, "nfs.bin", nfs_data));
  ASSERT_OK_AND_ASSIGN(REMOVE3res removed, nfs->Remove(docs.fh, "nfs.bin"));
  ASSERT_EQ(removed.status, NFS3_OK);
  EXPECT_EQ(read_nfs({"#recycle", "docs", "nfs.bin"}), nfs_data);

  // Over SMB: smb.bin, put and deleted.
  const std::string smb_data = testing::RandomString(200 * 1024 + 3, 2);
  const std::string local = home_ + "/smb.bin";
  std::ofstream(local, std::ios::binary) << smb_data;
  ShellRun smb = Smbclient("put smb.bin; del smb.bin");
  ASSERT_EQ(smb.exit_code, 0) << smb.output << server_->Log();

  CtlRun list = Ctl({"trash", "list", "/export", "-o", "json"});
  ASSERT_EQ(list.exit_code, 0) << list.err;
  json bin = json::parse(list.out);
  ASSERT_EQ(bin["items"].size(), 2u) << list.out;
  EXPECT_EQ(bin["items"][0]["path"], "/docs/nfs.bin");
  EXPECT_EQ(bin["items"][0]["bin_path"], "/#recycle/docs/nfs.bin");
  EXPECT_EQ(bin["items"][0]["size"], nfs_data.size());
  EXPECT_EQ(bin["items"][0]["uid"], 1000);
  EXPECT_EQ(bin["items"][1]["path"], "/smb.bin");
  EXPECT_EQ(bin["bytes"], nfs_data.size() + smb_data.size());
  CtlRun table = Ctl({"trash", "list", "/export"});
  EXPECT_THAT(table.out, HasSubstr("/docs/nfs.bin"));

  // Both back, byte for byte, each read by the other protocol too.
  for (const auto& item : bin["items"]) {
    CtlRun restore =
        Ctl({"trash", "restore", "/export", std::to_string(item["id"].get<uint64_t>())});
    ASSERT_EQ(restore.exit_code, 0) << restore.err;
  }
  EXPECT_EQ(read_nfs({"docs", "nfs.bin"}), nfs_data);
  EXPECT_EQ(read_nfs({"smb.bin"}), smb_data);
  std::filesystem::remove(local);
  smb = Smbclient("get smb.bin; get docs\\nfs.bin nfs.back");
  ASSERT_EQ(smb.exit_code, 0) << smb.output;
  EXPECT_TRUE(ReadFile(local) == smb_data);
  EXPECT_TRUE(ReadFile(home_ + "/nfs.back") == nfs_data);
  list = Ctl({"trash", "list", "/export", "-o", "json"});
  ASSERT_EQ(list.exit_code, 0) << list.err;
  EXPECT_EQ(json::parse(list.out)["items"].size(), 0u) << list.out;
  EXPECT_EQ(Ctl({"trash", "restore", "/export", "12345"}).exit_code, 1);

  // A restore by hand: renamed out of the bin over NFS.
  ASSERT_OK_AND_ASSIGN(REMOVE3res again, nfs->Remove(docs.fh, "nfs.bin"));
  ASSERT_EQ(again.status, NFS3_OK);
  ASSERT_OK_AND_ASSIGN(LookupReply recycle, nfs->Lookup(mnt.fh, "#recycle"));
  ASSERT_OK_AND_ASSIGN(LookupReply bin_docs, nfs->Lookup(recycle.fh, "docs"));
  ASSERT_OK_AND_ASSIGN(RENAME3res back, nfs->Rename(bin_docs.fh, "nfs.bin", docs.fh, "nfs.bin"));
  ASSERT_EQ(back.status, NFS3_OK);
  EXPECT_EQ(read_nfs({"docs", "nfs.bin"}), nfs_data);
  list = Ctl({"trash", "list", "/export", "-o", "json"});
  EXPECT_EQ(json::parse(list.out)["items"].size(), 0u) << list.out;

  // The cap: three files of 40000 bytes under a cap of 100000 leave the newest two.
  CtlRun cap = Ctl({"share", "update", "/export", "--recycle-max-bytes", "100000"});
  ASSERT_EQ(cap.exit_code, 0) << cap.err;
  for (const char* name : {"c1", "c2", "c3"}) {
    ASSERT_NO_FATAL_FAILURE(put_nfs(mnt.fh, name, std::string(40000, name[1])));
    ASSERT_OK_AND_ASSIGN(REMOVE3res r, nfs->Remove(mnt.fh, name));
    ASSERT_EQ(r.status, NFS3_OK);
  }
  list = Ctl({"trash", "list", "/export", "-o", "json"});
  bin = json::parse(list.out);
  ASSERT_EQ(bin["items"].size(), 2u) << list.out;
  EXPECT_EQ(bin["items"][0]["path"], "/c2");
  EXPECT_EQ(bin["items"][1]["path"], "/c3");
  EXPECT_EQ(read_nfs({"#recycle", "c1"}), "no c1");

  CtlRun empty = Ctl({"trash", "empty", "/export", "--yes"});
  ASSERT_EQ(empty.exit_code, 0) << empty.err;
  list = Ctl({"trash", "list", "/export", "-o", "json"});
  EXPECT_EQ(json::parse(list.out)["items"].size(), 0u) << list.out;
  EXPECT_EQ(read_nfs({"#recycle", "c3"}), "no c3");
}

// Quotas (docs/quotas.md), set with dfsctl and held over NFSv3 and SMB: the write that would
// pass a limit fails with NFS3ERR_DQUOT / STATUS_DISK_FULL, and the file keeps every byte
// acknowledged before it; FSSTAT shows the caller what its quota leaves.
TEST_F(DfsctlTest, QuotasHoldOverNfsAndSmbAndKeepEveryAcknowledgedByte) {
  if (Shell("command -v smbclient").exit_code != 0) GTEST_SKIP() << "no smbclient";
  ASSERT_NE(server_->smb_port(), 0);
  ASSERT_NO_FATAL_FAILURE(LoginAndChangePassword());
  server_->set_admin_password("a-new-admin-password");

  CtlRun set = Ctl({"quota", "set", "/export", "--user", "1000", "--hard-bytes", "200000",
                    "--soft-bytes", "150000", "--hard-files", "10"});
  ASSERT_EQ(set.exit_code, 0) << set.err;

  // NFSv3 as uid 1000: 64 KiB FILE_SYNC writes until one would pass 200 000 bytes.
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<RawNfsClient> nfs,
                       RawNfsClient::Connect(server_->port(), 1000, 1000));
  ASSERT_OK_AND_ASSIGN(MntReply mnt, nfs->Mnt("/export"));
  ASSERT_EQ(mnt.status, MNT3_OK);
  ASSERT_OK_AND_ASSIGN(CreatedReply f, nfs->Create(mnt.fh, "big", GUARDED, ModeAttrs(0644)));
  ASSERT_EQ(f.status, NFS3_OK);
  const std::string data = testing::RandomString(4 * 65536, 3);
  size_t acked = 0;
  nfsstat3 refused = NFS3_OK;
  for (size_t at = 0; at < data.size(); at += 65536) {
    ASSERT_OK_AND_ASSIGN(WRITE3res w,
                         nfs->Write(f.fh, at, std::string_view(data).substr(at, 65536), FILE_SYNC));
    if (w.status != NFS3_OK) {
      refused = w.status;
      break;
    }
    acked += w.WRITE3res_u.resok.count;
  }
  EXPECT_EQ(refused, NFS3ERR_DQUOT);
  EXPECT_EQ(acked, 3u * 65536);
  std::string back;
  for (;;) {
    ASSERT_OK_AND_ASSIGN(ReadReply r, nfs->Read(f.fh, back.size(), 65536));
    ASSERT_EQ(r.status, NFS3_OK);
    back += r.data;
    if (r.eof || r.count == 0) break;
  }
  EXPECT_TRUE(back == data.substr(0, acked)) << back.size();
  // What the quota leaves uid 1000, as df would show it.
  ASSERT_OK_AND_ASSIGN(FSSTAT3res fs, nfs->Fsstat(mnt.fh));
  ASSERT_EQ(fs.status, NFS3_OK);
  EXPECT_EQ(fs.FSSTAT3res_u.resok.tbytes, 200000u);
  EXPECT_EQ(fs.FSSTAT3res_u.resok.abytes, 200000u - acked);
  EXPECT_EQ(fs.FSSTAT3res_u.resok.tfiles, 10u);
  EXPECT_EQ(fs.FSSTAT3res_u.resok.afiles, 9u);

  CtlRun get = Ctl({"quota", "get", "/export", "--user", "1000", "-o", "json"});
  ASSERT_EQ(get.exit_code, 0) << get.err;
  json mine = json::parse(get.out);
  EXPECT_EQ(mine["used_bytes"], acked);
  EXPECT_EQ(mine["used_files"], 1);
  EXPECT_EQ(mine["hard_bytes"], 200000);
  EXPECT_EQ(mine["state"], "soft");  // over 150 000, in its grace
  EXPECT_FALSE(mine["grace_expires"].is_null());

  // SMB: the share's own limit, 100 000 bytes above what it holds now.
  CtlRun report = Ctl({"quota", "report", "/export", "-o", "json"});
  ASSERT_EQ(report.exit_code, 0) << report.err;
  json entries = json::parse(report.out);
  ASSERT_TRUE(entries.is_array() && !entries.empty()) << report.out;
  EXPECT_EQ(entries[0]["kind"], "share");
  const uint64_t share_used = entries[0]["used_bytes"].get<uint64_t>();
  EXPECT_GE(share_used, acked);
  bool listed = false;
  for (const json& e : entries) listed |= e["kind"] == "user" && e["id"] == 1000;
  EXPECT_TRUE(listed) << report.out;
  CtlRun share_limit = Ctl(
      {"quota", "set", "/export", "--share", "--hard-bytes", std::to_string(share_used + 100000)});
  ASSERT_EQ(share_limit.exit_code, 0) << share_limit.err;
  const std::string smb_data = testing::RandomString(300 * 1024, 4);
  std::ofstream(home_ + "/smb.bin", std::ios::binary) << smb_data;
  ShellRun put = Smbclient("put smb.bin");
  EXPECT_THAT(put.output, HasSubstr("NT_STATUS_DISK_FULL")) << put.output;
  // Whatever the server took is the file's beginning; it never holds more than the limit lets.
  ASSERT_OK_AND_ASSIGN(LookupReply smb_file, nfs->Lookup(mnt.fh, "smb.bin"));
  ASSERT_EQ(smb_file.status, NFS3_OK);
  std::string kept;
  for (;;) {
    ASSERT_OK_AND_ASSIGN(ReadReply r, nfs->Read(smb_file.fh, kept.size(), 65536));
    ASSERT_EQ(r.status, NFS3_OK);
    kept += r.data;
    if (r.eof || r.count == 0) break;
  }
  EXPECT_LE(kept.size(), 100000u);
  EXPECT_TRUE(kept == smb_data.substr(0, kept.size()));

  // Limits removed, the same put goes through.
  ASSERT_EQ(Ctl({"quota", "remove", "/export", "--share"}).exit_code, 0);
  put = Smbclient("put smb.bin");
  ASSERT_EQ(put.exit_code, 0) << put.output;
  CtlRun list = Ctl({"quota", "list", "/export", "-o", "json"});
  ASSERT_EQ(list.exit_code, 0) << list.err;
  json limited = json::parse(list.out);
  ASSERT_EQ(limited.size(), 1u) << list.out;
  EXPECT_EQ(limited[0]["id"], 1000);
}

// SMB's own quota interface (docs/quotas.md), through Samba's smbcquotas: a user lists their
// quota as the share counts it, and only theirs; root (the admin) lists everyone's and sets
// limits, which dfsctl then shows; a user's set is refused.
TEST_F(DfsctlTest, SmbcquotasShowsEachUserTheirQuotaAndRootSetsThem) {
  if (Shell("command -v smbcquotas").exit_code != 0) GTEST_SKIP() << "no smbcquotas";
  ASSERT_NE(server_->smb_port(), 0);
  ASSERT_NO_FATAL_FAILURE(LoginAndChangePassword());
  server_->set_admin_password("a-new-admin-password");
  for (std::vector<std::string> args : std::vector<std::vector<std::string>>{
           {"user", "create", "--username", "alice", "--password", "alice-password", "--host-uid",
            "1000"},
           {"share", "permission", "grant", "/export", "--user", "alice", "--level", "read-write"},
           {"quota", "set", "/export", "--user", "1000", "--hard-bytes", "200000", "--soft-bytes",
            "150000", "--hard-files", "10"},
           {"quota", "set", "/export", "--user", "4242", "--hard-bytes", "999999"}}) {
    CtlRun run = Ctl(args);
    ASSERT_EQ(run.exit_code, 0) << args[0] << " " << args[1] << ": " << run.err;
  }
  // smbcquotas has no -p and always dials port 445 (then 139). So it runs in a network
  // namespace of its own, where a forwarder on 127.0.0.1:445 carries each connection over a
  // Unix socket to a second forwarder here, which connects to the server's SMB port.
  if (Shell("unshare -n true").exit_code != 0) GTEST_SKIP() << "no network namespaces here";
  const std::string fwd = home_ + "/fwd.py", sock = home_ + "/smb.sock";
  std::ofstream(fwd) << kForwarder;
  const auto smbcquotas = [&](const std::string& user, const std::string& password,
                              const std::string& args) {
    const std::string inner =
        "ip link set lo up || exit 99; python3 " + Quote(fwd) + " in " + Quote(sock) +
        " & fwd=$!; for i in $(seq 100); do python3 -c 'import socket; "
        "socket.create_connection((\"127.0.0.1\", 445)).close()' 2>/dev/null && break; "
        "sleep 0.05; done; smbcquotas //127.0.0.1/export -s /dev/null "
        "--option='netbios name=localhost' -m SMB3 -U " +
        Quote(user + "%" + password) + " " + args + " 2>&1; rc=$?; kill $fwd; exit $rc";
    return Shell("rm -f " + Quote(sock) + "; python3 " + Quote(fwd) + " out " + Quote(sock) + " " +
                 std::to_string(server_->smb_port()) + " & out=$!; while [ ! -S " + Quote(sock) +
                 " ]; do sleep 0.05; done; unshare -n sh -c " + Quote(inner) +
                 "; rc=$?; kill $out; exit $rc");
  };
  std::ofstream(home_ + "/a.bin", std::ios::binary) << testing::RandomString(50000, 5);
  ShellRun put = Shell("cd " + Quote(home_) + " && smbclient //127.0.0.1/export -s /dev/null -p " +
                       std::to_string(server_->smb_port()) +
                       " --option='netbios name=localhost' -m SMB3 -U alice%alice-password -c "
                       "'put a.bin'");
  ASSERT_EQ(put.exit_code, 0) << put.output;

  // Numeric (-n): SIDs, not names. Alice's is the machine domain's RID 1000 + 2 * 1000.
  ShellRun mine = smbcquotas("alice", "alice-password", "-n -u alice");
  EXPECT_EQ(mine.exit_code, 0) << mine.output;
  EXPECT_THAT(mine.output, ::testing::ContainsRegex("-3000 *: *50000/ *150000/ *200000"))
      << mine.output;
  ShellRun listed = smbcquotas("alice", "alice-password", "-n -L");
  EXPECT_EQ(listed.exit_code, 0) << listed.output;
  EXPECT_THAT(listed.output, ::testing::ContainsRegex("-3000 *: *50000/"));
  EXPECT_THAT(listed.output, ::testing::Not(HasSubstr("999999"))) << "another user's quota";

  ShellRun all = smbcquotas("admin", "a-new-admin-password", "-n -L");
  EXPECT_EQ(all.exit_code, 0) << all.output;
  EXPECT_THAT(all.output, ::testing::ContainsRegex("-3000 *: *50000/ *150000/ *200000"))
      << all.output;
  // uid 4242 (RID 9484) uses nothing; its soft limit is none: all ones, in numbers.
  EXPECT_THAT(all.output, ::testing::ContainsRegex("-9484 *: *0/ *18446744073709551615/ *999999"));

  ShellRun refused = smbcquotas("alice", "alice-password", "-S UQLIM:alice:1000/2000");
  EXPECT_NE(refused.exit_code, 0) << refused.output;
  EXPECT_THAT(refused.output, HasSubstr("ACCESS_DENIED"));
  ShellRun set = smbcquotas("admin", "a-new-admin-password", "-S UQLIM:alice:300000/400000");
  EXPECT_EQ(set.exit_code, 0) << set.output;
  CtlRun get = Ctl({"quota", "get", "/export", "--user", "1000", "-o", "json"});
  ASSERT_EQ(get.exit_code, 0) << get.err;
  json q = json::parse(get.out);
  EXPECT_EQ(q["soft_bytes"], 300000);
  EXPECT_EQ(q["hard_bytes"], 400000);
  EXPECT_EQ(q["hard_files"], 10) << "a byte limit set over SMB keeps the file limit";

  EXPECT_THAT(set.output, ::testing::ContainsRegex("alice *: *50000/ *300000/ *400000"));

  // The volume's settings: quotas on and enforced.
  ShellRun fs = smbcquotas("alice", "alice-password", "-F");
  EXPECT_EQ(fs.exit_code, 0) << fs.output;
  EXPECT_THAT(fs.output, ::testing::ContainsRegex("Quotas Enabled: *On")) << fs.output;
  EXPECT_THAT(fs.output, ::testing::ContainsRegex("Deny Disk: *On")) << fs.output;
}

// Long jobs (docs/jobs.md) on a tiered share, started and followed with dfsctl: a sync with its
// progress in bytes, a GC and a reconcile, and a quota recount that pauses the share and counts
// what NFS wrote.
TEST_F(DfsctlTest, LongJobsRunAndReportHowTheyEnded) {
  ASSERT_OK(server_->Stop().status());
  DfsOptions options;
  options.shares[0].block = "tiered";
  options.shares[0].tiered = "{carve_after_ms: 3600000}";  // nothing uploads but the sync
  ASSERT_OK_AND_ASSIGN(server_, DfsProcess::Start(DFS_BINARY, options));
  home_ = server_->dir() + "/ctl-home";
  std::filesystem::create_directories(home_);
  server_url_ = "http://127.0.0.1:" + std::to_string(server_->api_port());
  ASSERT_NO_FATAL_FAILURE(LoginAndChangePassword());

  ASSERT_OK_AND_ASSIGN(std::unique_ptr<RawNfsClient> nfs,
                       RawNfsClient::Connect(server_->port(), 1000, 1000));
  ASSERT_OK_AND_ASSIGN(MntReply mnt, nfs->Mnt("/export"));
  ASSERT_EQ(mnt.status, MNT3_OK);
  const std::string data = testing::RandomString(4 << 20, 5);
  for (const char* name : {"a", "b"}) {
    ASSERT_OK_AND_ASSIGN(CreatedReply f, nfs->Create(mnt.fh, name, GUARDED, ModeAttrs(0644)));
    ASSERT_EQ(f.status, NFS3_OK);
    for (size_t at = 0; at < data.size(); at += 65536) {
      ASSERT_OK_AND_ASSIGN(
          WRITE3res w, nfs->Write(f.fh, at, std::string_view(data).substr(at, 65536), FILE_SYNC));
      ASSERT_EQ(w.status, NFS3_OK);
    }
  }

  // The sync, followed to its end: all the journal held, in bytes.
  CtlRun sync = Ctl({"share", "sync", "/export", "--job", "-o", "json"});
  ASSERT_EQ(sync.exit_code, 0) << sync.err << server_->Log();
  json job = json::parse(sync.out);
  EXPECT_EQ(job["kind"], "sync");
  EXPECT_EQ(job["state"], "succeeded");
  EXPECT_EQ(job["percent"], 100);
  EXPECT_EQ(job["unit"], "bytes");
  EXPECT_GE(job["total"].get<uint64_t>(), 2 * data.size());
  EXPECT_EQ(job["done"], job["total"]);
  EXPECT_FALSE(job["finished"].is_null());
  EXPECT_EQ(job["cancellable"], true);  // it stops waiting (TieredBlockStore::Flush)

  // GC and reconcile: nothing is due for the GC; the reconcile checked the two files with
  // data, then the objects the sync uploaded (one at least).
  for (const char* kind : {"gc", "reconcile"}) {
    CtlRun run = Ctl({"share", kind, "/export", "-o", "json"});
    ASSERT_EQ(run.exit_code, 0) << run.err;
    json ended = json::parse(run.out);
    EXPECT_EQ(ended["kind"], kind);
    EXPECT_EQ(ended["state"], "succeeded") << run.out;
    EXPECT_EQ(ended["percent"], 100);
    EXPECT_EQ(ended["cancellable"], true);
    EXPECT_EQ(ended["done"], ended["total"]);
    if (std::string(kind) == "gc") {
      EXPECT_EQ(ended["unit"], "objects");
      EXPECT_EQ(ended["total"], 0);
    } else {
      EXPECT_EQ(ended["unit"], "items");
      EXPECT_GE(ended["total"].get<uint64_t>(), 3u) << run.out;
    }
  }
  // A sync cannot be stopped half-way; a job id never given is a 404.
  CtlRun started = Ctl({"share", "sync", "/export", "--job", "--no-wait", "-o", "json"});
  ASSERT_EQ(started.exit_code, 0) << started.err;
  const std::string id = std::to_string(json::parse(started.out)["id"].get<uint64_t>());
  CtlRun wait = Ctl({"job", "wait", id, "-o", "json"});
  ASSERT_EQ(wait.exit_code, 0) << wait.err;
  EXPECT_EQ(json::parse(wait.out)["state"], "succeeded");
  EXPECT_EQ(Ctl({"job", "get", "424242"}).exit_code, 1);

  // The quota recount: the share's count, from scratch, equals what was written.
  CtlRun recount = Ctl({"quota", "recount", "/export", "-o", "json"});
  ASSERT_EQ(recount.exit_code, 0) << recount.err;
  json counted = json::parse(recount.out);
  EXPECT_EQ(counted["state"], "succeeded") << recount.out;
  EXPECT_EQ(counted["unit"], "files");
  EXPECT_EQ(counted["done"], 3);  // the root, a and b
  CtlRun mine = Ctl({"quota", "get", "/export", "--user", "1000", "-o", "json"});
  ASSERT_EQ(mine.exit_code, 0) << mine.err;
  EXPECT_EQ(json::parse(mine.out)["used_bytes"], 2 * data.size());
  // The share serves again after it.
  ASSERT_OK_AND_ASSIGN(LookupReply a, nfs->Lookup(mnt.fh, "a"));
  EXPECT_EQ(a.status, NFS3_OK);

  // Every job is listed, newest first.
  CtlRun list = Ctl({"job", "list", "-o", "json"});
  ASSERT_EQ(list.exit_code, 0) << list.err;
  json jobs = json::parse(list.out);
  ASSERT_TRUE(jobs.is_array()) << list.out;
  ASSERT_EQ(jobs.size(), 5u) << list.out;
  EXPECT_EQ(jobs[0]["kind"], "quota-recount");
  CtlRun table = Ctl({"job", "list"});
  EXPECT_THAT(table.out, HasSubstr("reconcile"));
}

}  // namespace
TEST_F(DfsctlTest, SnapshotsAreBrowsedRestoredAndHoldTheirChunksAgainstGc) {
  ASSERT_OK(server_->Stop().status());
  DfsOptions options;
  options.shares[0].block = "tiered";
  options.shares[0].metadata = "rocksdb";  // kept across the restart below
  // Nothing uploads but a sync, and the GC deletes what is dead at once.
  options.shares[0].tiered = "{carve_after_ms: 3600000, gc_grace_ms: 0}";
  ASSERT_OK_AND_ASSIGN(server_, DfsProcess::Start(DFS_BINARY, options));
  home_ = server_->dir() + "/ctl-home";
  std::filesystem::create_directories(home_);
  server_url_ = "http://127.0.0.1:" + std::to_string(server_->api_port());
  ASSERT_NO_FATAL_FAILURE(LoginAndChangePassword());
  server_->set_admin_password("a-new-admin-password");

  ASSERT_OK_AND_ASSIGN(std::unique_ptr<RawNfsClient> nfs,
                       RawNfsClient::Connect(server_->port(), 1000, 1000));
  ASSERT_OK_AND_ASSIGN(MntReply mnt, nfs->Mnt("/export"));
  ASSERT_EQ(mnt.status, MNT3_OK);
  // Writes retried while the share pauses (NFS3ERR_JUKEBOX), as clients do.
  const auto write = [](RawNfsClient& client, const FileHandle& fh, uint64_t at,
                        std::string_view piece) -> nfsstat3 {
    for (;;) {
      Result<WRITE3res> w = client.Write(fh, at, piece, FILE_SYNC);
      if (!w.ok()) return NFS3ERR_IO;
      if (w->status != NFS3ERR_JUKEBOX) return w->status;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  };
  const auto put = [&](const FileHandle& dir, const std::string& name, const std::string& data) {
    ASSERT_OK_AND_ASSIGN(CreatedReply f, nfs->Create(dir, name, UNCHECKED, ModeAttrs(0640)));
    ASSERT_EQ(f.status, NFS3_OK);
    for (size_t at = 0; at < data.size(); at += 65536) {
      ASSERT_EQ(write(*nfs, f.fh, at, std::string_view(data).substr(at, 65536)), NFS3_OK);
    }
  };
  const auto find = [&](const std::vector<std::string>& path) -> std::optional<FileHandle> {
    FileHandle fh = mnt.fh;
    for (const std::string& name : path) {
      Result<LookupReply> l = nfs->Lookup(fh, name);
      if (!l.ok() || l->status != NFS3_OK) return std::nullopt;
      fh = l->fh;
    }
    return fh;
  };
  const auto read = [&](const std::vector<std::string>& path) -> std::string {
    std::optional<FileHandle> fh = find(path);
    if (!fh) return "no such file";
    std::string out;
    for (;;) {
      Result<ReadReply> r = nfs->Read(*fh, out.size(), 65536);
      if (!r.ok() || r->status != NFS3_OK) return "read failed";
      out += r->data;
      if (r->eof || r->count == 0) return out;
    }
  };
  const std::string a_v1 = testing::RandomString(1 << 20, 11);
  const std::string b_data = testing::RandomString(300 * 1024 + 5, 12);
  ASSERT_OK_AND_ASSIGN(CreatedReply docs, nfs->Mkdir(mnt.fh, "docs", ModeAttrs(0755)));
  ASSERT_EQ(docs.status, NFS3_OK);
  ASSERT_NO_FATAL_FAILURE(put(mnt.fh, "a", a_v1));
  ASSERT_NO_FATAL_FAILURE(put(docs.fh, "b", b_data));
  ASSERT_EQ(Ctl({"share", "sync", "/export", "--job"}).exit_code, 0);  // a and b on the remote

  // Taken under write load: another client appends 64 KiB pieces of a known stream to "load"
  // all along. The snapshot holds a prefix of that stream, whole pieces only.
  const std::string stream = testing::RandomString(8 << 20, 13);
  ASSERT_OK_AND_ASSIGN(CreatedReply load, nfs->Create(mnt.fh, "load", UNCHECKED, ModeAttrs(0644)));
  ASSERT_EQ(load.status, NFS3_OK);
  std::atomic<bool> stop{false};
  std::atomic<size_t> written{0};
  std::thread writer([&] {
    Result<std::unique_ptr<RawNfsClient>> other =
        RawNfsClient::Connect(server_->port(), 1000, 1000);
    if (!other.ok()) return;
    for (size_t at = 0; at < stream.size() && !stop; at += 65536) {
      if (write(**other, load.fh, at, std::string_view(stream).substr(at, 65536)) != NFS3_OK)
        return;
      written = at + 65536;
    }
  });
  while (written < 4 * 65536) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  CtlRun create = Ctl({"snapshot", "create", "/export", "s1", "-o", "json"});
  stop = true;
  writer.join();
  ASSERT_EQ(create.exit_code, 0) << create.err << server_->Log();
  json job = json::parse(create.out);
  EXPECT_EQ(job["kind"], "snapshot-create");
  EXPECT_EQ(job["state"], "succeeded");
  EXPECT_EQ(job["unit"], "objects");
  EXPECT_EQ(job["done"], 4);  // docs, a, docs/b, load
  const std::string held = read({".snapshot", "s1", "load"});
  EXPECT_GE(held.size(), 4u * 65536);
  EXPECT_EQ(held.size() % 65536, 0u);
  EXPECT_TRUE(held == stream.substr(0, held.size())) << "the snapshot's load is no prefix";

  CtlRun list = Ctl({"snapshot", "list", "/export", "-o", "json"});
  ASSERT_EQ(list.exit_code, 0) << list.err;
  json snapshots = json::parse(list.out);
  ASSERT_EQ(snapshots.size(), 1u) << list.out;
  EXPECT_EQ(snapshots[0]["name"], "s1");
  EXPECT_EQ(snapshots[0]["state"], "ready");
  EXPECT_EQ(snapshots[0]["files"], 4);
  EXPECT_EQ(snapshots[0]["bytes"], a_v1.size() + b_data.size() + held.size());
  EXPECT_THAT(Ctl({"snapshot", "list", "/export"}).out, HasSubstr("s1"));
  EXPECT_EQ(Ctl({"snapshot", "create", "/export", "s1"}).exit_code, 1);  // taken

  // The share moves on; the snapshot does not.
  const std::string a_v2 = testing::RandomString(700 * 1024, 14);
  ASSERT_NO_FATAL_FAILURE(put(mnt.fh, "a", a_v2));
  sattr3 size = NoAttrs();
  size.size.set_it = 1;
  size.size.set_size3_u.size = a_v2.size();
  ASSERT_OK_AND_ASSIGN(SETATTR3res cut, nfs->Setattr(*find({"a"}), size));
  ASSERT_EQ(cut.status, NFS3_OK);
  ASSERT_OK_AND_ASSIGN(REMOVE3res removed, nfs->Remove(docs.fh, "b"));
  ASSERT_EQ(removed.status, NFS3_OK);
  EXPECT_TRUE(read({"a"}) == a_v2);
  EXPECT_TRUE(read({".snapshot", "s1", "a"}) == a_v1);
  EXPECT_TRUE(read({".snapshot", "s1", "docs", "b"}) == b_data);
  // Read-only, whoever asks.
  ASSERT_OK_AND_ASSIGN(WRITE3res refused,
                       nfs->Write(*find({".snapshot", "s1", "a"}), 0, "x", FILE_SYNC));
  EXPECT_EQ(refused.status, NFS3ERR_ROFS);
  ASSERT_OK_AND_ASSIGN(REMOVE3res kept, nfs->Remove(*find({".snapshot", "s1", "docs"}), "b"));
  EXPECT_EQ(kept.status, NFS3ERR_ROFS);
  // The root's listing does not show .snapshot.
  ASSERT_OK_AND_ASSIGN(ReaddirReply root_list, nfs->Readdir(mnt.fh, 0, CookieVerf{}, 4096));
  for (const auto& e : root_list.entries) EXPECT_NE(e.name, ".snapshot");

  // Over SMB: the same snapshot, by path.
  if (Shell("command -v smbclient").exit_code == 0) {
    ShellRun smb = Smbclient("get .snapshot\\s1\\docs\\b b.smb");
    ASSERT_EQ(smb.exit_code, 0) << smb.output;
    EXPECT_TRUE(ReadFile(home_ + "/b.smb") == b_data);
  }

  // Previous versions over SMB (impacket): FSCTL_SRV_ENUMERATE_SNAPSHOTS names s1 by its time,
  // a TWrp create context opens the file as it was then, and only for reading.
  std::unique_ptr<SmbPeer> peer = SmbPeer::Start(*server_, SMB_PEER_SCRIPT);
  ASSERT_NE(peer, nullptr);
  const std::string tokens = peer->Do("snapshots a");
  ASSERT_THAT(tokens, ::testing::MatchesRegex("ok @GMT-[0-9.]+-[0-9.]+"));
  const std::string token = tokens.substr(3);
  EXPECT_EQ(peer->Do("twrp-get " + token + " a " + home_ + "/a.prev"),
            "ok " + std::to_string(a_v1.size()));
  EXPECT_TRUE(ReadFile(home_ + "/a.prev") == a_v1);
  EXPECT_EQ(peer->Do("twrp-get " + token + " docs\\b " + home_ + "/b.prev"),
            "ok " + std::to_string(b_data.size()));
  EXPECT_TRUE(ReadFile(home_ + "/b.prev") == b_data);
  EXPECT_THAT(peer->Do("twrp-write " + token + " a"), HasSubstr("error"));
  EXPECT_EQ(peer->Do("twrp-get @GMT-2001.01.01-00.00.00 a " + home_ + "/none"),
            "error STATUS_OBJECT_NAME_NOT_FOUND");
  peer.reset();

  // What the share dropped is garbage, but not what the snapshot holds: after a sync, a GC
  // and a reconcile, the snapshot still reads whole (every chunk verified by its hash).
  for (const char* kind : {"sync", "gc", "reconcile", "gc"}) {
    CtlRun run = Ctl({"share", kind, "/export", "-o", "json"});
    if (std::string(kind) == "sync") run = Ctl({"share", "sync", "/export", "--job", "-o", "json"});
    ASSERT_EQ(run.exit_code, 0) << kind << ": " << run.err;
    EXPECT_EQ(json::parse(run.out)["state"], "succeeded") << run.out;
  }
  // A restart empties the read cache: the snapshot's chunks come from the remote again.
  ASSERT_OK(server_->Restart());
  server_url_ = "http://127.0.0.1:" + std::to_string(server_->api_port());
  ASSERT_EQ(Ctl({"login", "--server", server_url_, "--user", "admin", "--password-stdin"},
                "a-new-admin-password\n")
                .exit_code,
            0);
  ASSERT_OK_AND_ASSIGN(nfs, RawNfsClient::Connect(server_->port(), 1000, 1000));
  ASSERT_OK_AND_ASSIGN(mnt, nfs->Mnt("/export"));
  ASSERT_EQ(mnt.status, MNT3_OK);
  EXPECT_TRUE(read({".snapshot", "s1", "a"}) == a_v1);
  EXPECT_TRUE(read({".snapshot", "s1", "docs", "b"}) == b_data);

  // Restore: the share as the snapshot held it, file by file; what it held before is kept
  // in the safety snapshot.
  CtlRun restore =
      Ctl({"snapshot", "restore", "/export", "s1", "--safety", "before", "-o", "json"});
  ASSERT_EQ(restore.exit_code, 0) << restore.err << server_->Log();
  EXPECT_EQ(json::parse(restore.out)["state"], "succeeded") << restore.out;
  EXPECT_TRUE(read({"a"}) == a_v1);
  EXPECT_TRUE(read({"docs", "b"}) == b_data);
  EXPECT_TRUE(read({"load"}) == held);
  EXPECT_TRUE(read({".snapshot", "before", "a"}) == a_v2);
  EXPECT_EQ(read({".snapshot", "before", "docs", "b"}), "no such file");
  // The restored share is writable.
  ASSERT_NO_FATAL_FAILURE(put(*find({"docs"}), "c", "new after the restore"));
  EXPECT_EQ(read({"docs", "c"}), "new after the restore");

  // Delete: gone from the list and from .snapshot.
  EXPECT_EQ(Ctl({"snapshot", "delete", "/export", "before"}).exit_code, 2);  // no --yes, no tty
  CtlRun deleted = Ctl({"snapshot", "delete", "/export", "before", "--yes", "-o", "json"});
  ASSERT_EQ(deleted.exit_code, 0) << deleted.err;
  EXPECT_EQ(json::parse(deleted.out)["state"], "succeeded");
  CtlRun after = Ctl({"snapshot", "get", "/export", "before"});
  EXPECT_EQ(after.exit_code, 1);
  EXPECT_EQ(read({".snapshot", "before", "a"}), "no such file");
  EXPECT_TRUE(read({".snapshot", "s1", "a"}) == a_v1);

  // A schedule, kept by the share: keeping the last scheduled snapshot deletes the older one
  // at the server's next look (every 10 s), never one taken by hand.
  for (const char* name : {"auto-20000101T000000Z", "auto-20000102T000000Z"}) {
    ASSERT_EQ(Ctl({"snapshot", "create", "/export", name}).exit_code, 0) << name;
  }
  CtlRun keep = Ctl({"snapshot", "schedule", "/export", "--keep", "1", "-o", "json"});
  ASSERT_EQ(keep.exit_code, 0) << keep.err;
  EXPECT_EQ(json::parse(keep.out)["keep_last"], 1);
  std::vector<std::string> names;
  for (int i = 0; i < 300; ++i) {
    names.clear();
    for (const json& s : json::parse(Ctl({"snapshot", "list", "/export", "-o", "json"}).out)) {
      names.push_back(s["name"]);
    }
    if (names.size() == 2) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_EQ(names, (std::vector<std::string>{"auto-20000102T000000Z", "s1"}));
  CtlRun cron = Ctl({"snapshot", "schedule", "/export", "--cron", "30 2 * * *", "--ttl", "7d"});
  ASSERT_EQ(cron.exit_code, 0) << cron.err;
  EXPECT_THAT(cron.out, HasSubstr("at cron '30 2 * * *' (UTC); keeping the last 1, none older "
                                  "than 7d"));
  EXPECT_EQ(Ctl({"snapshot", "schedule", "/export", "--cron", "every day"}).exit_code, 1);
  CtlRun off = Ctl({"snapshot", "schedule", "/export", "--off"});
  ASSERT_EQ(off.exit_code, 0) << off.err;
  EXPECT_THAT(off.out, HasSubstr("not scheduled; keeping all"));
}

}  // namespace dittofs::integration

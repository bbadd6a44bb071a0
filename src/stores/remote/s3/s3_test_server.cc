// SPDX-License-Identifier: Apache-2.0
#include "stores/remote/s3/s3_test_server.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string_view>
#include <thread>
#include <vector>

#include "testing/loopback.h"

namespace dittofs::stores {
namespace {

std::string Tail(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  std::string text = s.str();
  return text.size() > 2000 ? text.substr(text.size() - 2000) : text;
}

}  // namespace

Result<std::unique_ptr<S3TestServer>> S3TestServer::Start(const std::string& bucket) {
  const char* env = getenv("DITTOFS_S3RVER");
  std::string program = env != nullptr && *env != '\0' ? env : DITTOFS_S3RVER;
  if (::access(program.c_str(), X_OK) != 0) {
    return Status(Errc::kNotFound,
                  fmt::format("the S3 test server is not installed at {}: run "
                              "scripts/install-s3-test-server.sh (or set DITTOFS_S3RVER)",
                              program));
  }
  const char* tmp = getenv("TMPDIR");
  std::string dir =
      std::string(tmp != nullptr && *tmp != '\0' ? tmp : "/tmp") + "/dittofs-s3rver-XXXXXX";
  if (::mkdtemp(dir.data()) == nullptr) return Status(Errc::kIo, "mkdtemp failed");
  int port = ::dittofs::testing::FreeLoopbackPort();
  if (port < 0) return Status(Errc::kUnavailable, "no free port");
  std::unique_ptr<S3TestServer> server(new S3TestServer(program, dir, bucket, port));
  RETURN_IF_ERROR(server->Launch());
  return server;
}

S3TestServer::~S3TestServer() {
  Kill();
  std::error_code ignored;
  std::filesystem::remove_all(dir_, ignored);
}

std::string S3TestServer::endpoint() const { return fmt::format("http://127.0.0.1:{}", port_); }

Status S3TestServer::Launch() {
  std::string data = dir_ + "/data";
  std::string log = dir_ + "/server.log";
  std::string port = std::to_string(port_);
  // s3rver makes ListObjectsV2 continuation tokens with DES, which OpenSSL 3 keeps in its legacy
  // provider. The environment is built before forking: the child may only exec.
  std::vector<std::string> env_strings;
  std::string node_options = "NODE_OPTIONS=--openssl-legacy-provider";
  for (char** e = environ; *e != nullptr; ++e) {
    std::string_view entry(*e);
    if (entry.starts_with("NODE_OPTIONS=")) {
      node_options += " " + std::string(entry.substr(13));
    } else {
      env_strings.emplace_back(entry);
    }
  }
  env_strings.push_back(node_options);
  std::vector<char*> envp;
  for (std::string& e : env_strings) envp.push_back(e.data());
  envp.push_back(nullptr);
  pid_t parent = ::getpid();
  pid_t pid = ::fork();
  if (pid < 0) return Status(Errc::kIo, "fork failed");
  if (pid == 0) {
    ::setpgid(0, 0);
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) ::_exit(1);  // the test died before prctl
    int in = ::open("/dev/null", O_RDONLY);
    int out = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    if (in < 0 || out < 0) ::_exit(126);
    ::dup2(in, 0);
    ::dup2(out, 1);
    ::dup2(out, 2);
    ::execle(program_.c_str(), program_.c_str(), "--directory", data.c_str(), "--address",
             "127.0.0.1", "--port", port.c_str(), "--configure-bucket", bucket_.c_str(),
             "--service-endpoint", "localhost", "--silent", static_cast<char*>(nullptr),
             envp.data());
    ::_exit(127);
  }
  ::setpgid(pid, pid);  // also here, so that Kill works even before the child ran
  pid_ = pid;
  // s3rver creates the bucket before it listens: answering means ready.
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (!::dittofs::testing::LoopbackAnswers(port_)) {
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      return Status(Errc::kUnavailable, "s3rver exited at start:\n" + Tail(log));
    }
    if (std::chrono::steady_clock::now() > deadline) {
      Kill();
      return Status(Errc::kUnavailable, "s3rver did not answer within 30 s:\n" + Tail(log));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return Status::Ok();
}

void S3TestServer::Kill() {
  if (pid_ < 0) return;
  ::kill(-pid_, SIGKILL);  // kills stopped processes too
  int status = 0;
  ::waitpid(pid_, &status, 0);
  pid_ = -1;
}

Status S3TestServer::Restart() {
  Kill();
  return Launch();
}

void S3TestServer::Pause() {
  if (pid_ >= 0) ::kill(-pid_, SIGSTOP);
}

void S3TestServer::Resume() {
  if (pid_ >= 0) ::kill(-pid_, SIGCONT);
}

}  // namespace dittofs::stores

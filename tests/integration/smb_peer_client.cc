// SPDX-License-Identifier: Apache-2.0
#include "smb_peer_client.h"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

namespace dittofs::integration {

std::unique_ptr<SmbPeer> SmbPeer::Start(DfsProcess& server, const char* script,
                                        const std::string& user, const std::string& password) {
  int to_child[2], from_child[2];
  if (pipe(to_child) != 0 || pipe(from_child) != 0) return nullptr;
  const pid_t pid = fork();
  if (pid == 0) {
    dup2(to_child[0], 0);
    dup2(from_child[1], 1);
    close(to_child[1]);
    close(from_child[0]);
    const std::string port = std::to_string(server.smb_port());
    const std::string name = user.empty() ? "admin" : user;
    const std::string secret = user.empty() ? server.admin_password() : password;
    execl("/usr/bin/python3", "python3", script, "127.0.0.1", port.c_str(), name.c_str(),
          secret.c_str(), "export", static_cast<char*>(nullptr));
    _exit(127);
  }
  close(to_child[0]);
  close(from_child[1]);
  auto peer = std::unique_ptr<SmbPeer>(new SmbPeer(pid, to_child[1], fdopen(from_child[0], "r")));
  if (peer->Line().rfind("ready", 0) != 0) return nullptr;
  return peer;
}

SmbPeer::~SmbPeer() {
  close(in_);
  fclose(out_);
  kill(pid_, SIGKILL);
  waitpid(pid_, nullptr, 0);
}

std::string SmbPeer::Do(const std::string& command) {
  const std::string line = command + "\n";
  if (write(in_, line.data(), line.size()) != static_cast<ssize_t>(line.size())) return "";
  return Line();
}

std::string SmbPeer::Line() {
  char buf[1 << 16];
  if (fgets(buf, sizeof buf, out_) == nullptr) return "";
  std::string s(buf);
  while (!s.empty() && s.back() == '\n') s.pop_back();
  return s;
}

}  // namespace dittofs::integration

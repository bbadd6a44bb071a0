// SPDX-License-Identifier: Apache-2.0
#include "dfs_process.h"

#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>
#include <thread>

extern char** environ;

namespace dittofs::integration {
namespace {

constexpr auto kPollInterval = std::chrono::milliseconds(10);

std::string ErrnoText(const char* what) { return std::string(what) + ": " + std::strerror(errno); }

std::string RenderConfig(const std::string& dir, const DfsOptions& options) {
  std::ostringstream yaml;
  yaml << "logging: {level: " << options.log_level << "}\n"
       << "server: {state_dir: " << dir << "/state, shutdown_timeout_s: 10}\n"
       << "nfs: {bind: 127.0.0.1, port: 0, portmap_port: 0}\n"
       << "smb: {bind: 127.0.0.1, port: 0}\n"
       << "api: {bind: 127.0.0.1, port: 0}\n"
       << (options.metrics ? "metrics: {enabled: true, bind: 127.0.0.1, port: 0, token: \"" +
                                 options.metrics_token + "\"}\n"
                           : "")
       << (options.state_dsn.empty() ? ""
                                     : "state_store: {type: postgres, dsn: \"" + options.state_dsn +
                                           "\", schema: " + options.state_schema + "}\n")
       << "shares:\n";
  for (const DfsShare& s : options.shares) {
    yaml << "  - name: " << s.name << "\n"
         << "    metadata: " << s.metadata << "\n"
         << (s.metadata == "postgres" ? "    metadata_dsn: \"" + s.metadata_dsn +
                                            "\"\n    metadata_schema: " + s.metadata_schema + "\n"
                                      : "")
         << "    block: " << s.block << "\n"
         << (s.tiered.empty() ? "" : "    tiered: " + s.tiered + "\n") << "    squash: " << s.squash
         << "\n"
         << "    read_only: " << (s.read_only ? "true" : "false") << "\n"
         << "    root_mode: \"" << s.root_mode << "\"\n"
         << "    default_permission: " << s.default_permission << "\n"
         << "    anon_uid: " << s.anon_uid << "\n"
         << "    anon_gid: " << s.anon_gid << "\n"
         << "    smb_encrypt: " << (s.smb_encrypt ? "true" : "false") << "\n"
         << "    smb_require_signing: " << (s.smb_require_signing ? "true" : "false") << "\n"
         << "    guest_ok: " << (s.guest_ok ? "true" : "false") << "\n"
         << "    smb_access_based_enumeration: "
         << (s.smb_access_based_enumeration ? "true" : "false") << "\n"
         << "    continuously_available: " << (s.continuously_available ? "true" : "false") << "\n"
         << "    recycle: " << (s.recycle ? "true" : "false") << "\n"
         << "    tls: " << s.tls << "\n";
    auto list = [&](const char* key, const std::vector<std::string>& cidrs) {
      yaml << "    " << key << ": [";
      for (size_t i = 0; i < cidrs.size(); ++i) yaml << (i ? ", " : "") << "\"" << cidrs[i] << "\"";
      yaml << "]\n";
    };
    list("allowed_clients", s.allowed_clients);
    list("denied_clients", s.denied_clients);
    list("security", s.security);
  }
  return yaml.str();
}

// The environment for the child: ours without DITTOFS_* overrides, which would otherwise
// silently change the config under test.
std::vector<std::string> ChildEnvironment() {
  std::vector<std::string> env;
  for (char** e = environ; *e != nullptr; ++e) {
    if (std::strncmp(*e, "DITTOFS_", 8) != 0) env.emplace_back(*e);
  }
  return env;
}

std::vector<char*> CStrings(std::vector<std::string>& strings) {
  std::vector<char*> out;
  for (std::string& s : strings) out.push_back(s.data());
  out.push_back(nullptr);
  return out;
}

Result<int> OutcomeOf(int wait_status) {
  if (WIFEXITED(wait_status)) return WEXITSTATUS(wait_status);
  if (WIFSIGNALED(wait_status)) {
    return Status(Errc::kInternal, "dfs died of signal " + std::to_string(WTERMSIG(wait_status)));
  }
  return Status(Errc::kInternal, "dfs ended with wait status " + std::to_string(wait_status));
}

}  // namespace

Result<std::unique_ptr<DfsProcess>> DfsProcess::Start(const std::string& binary,
                                                      const DfsOptions& options) {
  const char* tmp = std::getenv("TMPDIR");
  std::string templ = std::string(tmp && *tmp ? tmp : "/tmp") + "/dfs-integration-XXXXXX";
  if (mkdtemp(templ.data()) == nullptr) return Status(Errc::kIo, ErrnoText("mkdtemp"));
  std::string dir = templ;

  std::string config_path = dir + "/config.yaml";
  {
    std::ofstream config(config_path);
    config << RenderConfig(dir, options);
    if (!config) {
      std::filesystem::remove_all(dir);
      return Status(Errc::kIo, "cannot write " + config_path);
    }
  }
  std::unique_ptr<DfsProcess> process(new DfsProcess(dir, 0));
  process->binary_ = binary;
  process->start_timeout_ = options.start_timeout;
  process->env_ = options.env;
  Status spawned = process->Spawn();
  if (!spawned.ok()) return spawned;
  return process;
}

Status DfsProcess::Spawn() {
  std::string config_path = dir_ + "/config.yaml";
  int log_fd = open((dir_ + "/dfs.log").c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  int null_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
  if (log_fd < 0 || null_fd < 0) {
    Status s(Errc::kIo, ErrnoText("open log"));
    if (log_fd >= 0) close(log_fd);
    if (null_fd >= 0) close(null_fd);
    return s;
  }

  // Everything the child needs is built before fork: after it, only async-signal-safe calls.
  std::vector<std::string> args = {binary_, "start", "--foreground", "--config", config_path};
  std::vector<std::string> env = ChildEnvironment();
  env.insert(env.end(), env_.begin(), env_.end());
  std::vector<char*> argv = CStrings(args);
  std::vector<char*> envp = CStrings(env);
  pid_t parent = getpid();

  pid_t pid = fork();
  if (pid == 0) {
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) _exit(127);  // the parent died before prctl took effect
    dup2(null_fd, STDIN_FILENO);
    dup2(log_fd, STDOUT_FILENO);
    dup2(log_fd, STDERR_FILENO);
    execve(argv[0], argv.data(), envp.data());
    _exit(127);
  }
  int fork_errno = errno;
  close(log_fd);
  close(null_fd);
  if (pid < 0) {
    errno = fork_errno;
    return Status(Errc::kIo, ErrnoText("fork"));
  }
  pid_ = pid;
  reaped_ = false;
  Status listening = WaitUntilListening(start_timeout_);
  if (!listening.ok()) {
    return Status(listening.code(), listening.message() + "\n--- dfs log ---\n" + Log());
  }
  return Status::Ok();
}

Status DfsProcess::Restart() {
  ASSIGN_OR_RETURN(int code, Stop());
  if (code != 0) return Status(Errc::kInternal, "dfs exited with " + std::to_string(code));
  return StartAgain();
}

Status DfsProcess::Kill() {
  if (reaped_) return Status::Ok();
  if (kill(pid_, SIGKILL) != 0) return Status(Errc::kIo, ErrnoText("kill"));
  int wait_status = 0;
  while (waitpid(pid_, &wait_status, 0) < 0) {
    if (errno != EINTR) return Status(Errc::kIo, ErrnoText("waitpid"));
  }
  reaped_ = true;
  exit_ = OutcomeOf(wait_status);
  return Status::Ok();
}

Status DfsProcess::StartAgain() {
  if (!reaped_) return Status(Errc::kBusy, "dfs is still running");
  exit_ = Errc::kUnavailable;
  return Spawn();
}

DfsProcess::~DfsProcess() {
  if (!reaped_ && pid_ > 0) {
    kill(pid_, SIGKILL);
    int wait_status = 0;
    while (waitpid(pid_, &wait_status, 0) < 0 && errno == EINTR) {
    }
  }
  // DFS_KEEP_STATE=1 keeps the server's directory (config, log, stores) for a post-mortem.
  const char* keep = std::getenv("DFS_KEEP_STATE");
  if (keep != nullptr && *keep != '\0' && *keep != '0') {
    std::fprintf(stderr, "dfs_process: kept %s\n", dir_.c_str());
    return;
  }
  std::error_code ec;
  std::filesystem::remove_all(dir_, ec);
}

std::string DfsProcess::Url(std::string_view share) const {
  std::string p = std::to_string(port_);
  return "nfs://127.0.0.1" + std::string(share) + "?version=3&nfsport=" + p + "&mountport=" + p;
}

std::string DfsProcess::Log() const {
  std::ifstream in(dir_ + "/dfs.log");
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

Status DfsProcess::WaitUntilListening(std::chrono::seconds timeout) {
  // The server is ready once it has printed the REST API's port, its last start-up step.
  static const std::regex kNfs(R"(NFSv3 and MOUNT v3 listening on 127\.0\.0\.1:(\d+))");
  static const std::regex kApi(R"(REST API listening on 127\.0\.0\.1:(\d+))");
  static const std::regex kAdmin(R"(initial password: (\S+))");
  static const std::regex kMetrics(R"(Prometheus metrics on http://127\.0\.0\.1:(\d+)/metrics)");
  static const std::regex kSmb(R"(SMB 2\.0\.2-3\.1\.1 listening on 127\.0\.0\.1:(\d+))");
  static const std::regex kPortmap(
      R"(port mapper \(PMAP v2, RPCBIND v3/v4\) listening on 127\.0\.0\.1:(\d+))");
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    std::smatch nfs, api, admin;
    std::string log = Log();
    if (std::regex_search(log, nfs, kNfs) && std::regex_search(log, api, kApi)) {
      port_ = static_cast<uint16_t>(std::stoi(nfs[1].str()));
      api_port_ = static_cast<uint16_t>(std::stoi(api[1].str()));
      std::smatch smb;
      smb_port_ =
          std::regex_search(log, smb, kSmb) ? static_cast<uint16_t>(std::stoi(smb[1].str())) : 0;
      std::smatch metrics;
      metrics_port_ = std::regex_search(log, metrics, kMetrics)
                          ? static_cast<uint16_t>(std::stoi(metrics[1].str()))
                          : 0;
      std::smatch portmap;
      portmap_port_ = std::regex_search(log, portmap, kPortmap)
                          ? static_cast<uint16_t>(std::stoi(portmap[1].str()))
                          : 0;
      // The one-time password follows the port lines on standard output; wait for it briefly.
      for (int i = 0; i < 100 && !std::regex_search(log, admin, kAdmin); ++i) {
        std::this_thread::sleep_for(kPollInterval);
        log = Log();
      }
      if (std::regex_search(log, admin, kAdmin)) admin_password_ = admin[1].str();
      return Status::Ok();
    }
    int wait_status = 0;
    pid_t r = waitpid(pid_, &wait_status, WNOHANG);
    if (r == pid_) {
      reaped_ = true;
      exit_ = OutcomeOf(wait_status);
      return Status(Errc::kUnavailable, "dfs exited before listening");
    }
    if (std::chrono::steady_clock::now() > deadline) {
      return Status(Errc::kBusy,
                    "dfs did not listen within " + std::to_string(timeout.count()) + "s");
    }
    std::this_thread::sleep_for(kPollInterval);
  }
}

Result<int> DfsProcess::Stop(std::chrono::seconds timeout) {
  if (reaped_) return exit_;
  if (kill(pid_, SIGTERM) != 0) return Status(Errc::kIo, ErrnoText("kill"));
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    int wait_status = 0;
    pid_t r = waitpid(pid_, &wait_status, WNOHANG);
    if (r == pid_) {
      reaped_ = true;
      exit_ = OutcomeOf(wait_status);
      return exit_;
    }
    if (r < 0 && errno != EINTR) return Status(Errc::kIo, ErrnoText("waitpid"));
    if (std::chrono::steady_clock::now() > deadline) {
      kill(pid_, SIGKILL);
      while (waitpid(pid_, &wait_status, 0) < 0 && errno == EINTR) {
      }
      reaped_ = true;
      exit_ = Status(Errc::kBusy, "dfs still running " + std::to_string(timeout.count()) +
                                      "s after SIGTERM; killed");
      return exit_;
    }
    std::this_thread::sleep_for(kPollInterval);
  }
}

}  // namespace dittofs::integration

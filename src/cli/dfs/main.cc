// SPDX-License-Identifier: Apache-2.0
// dfs: the DittoFS server daemon.

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cerrno>
#include <cstdio>
#include <ctime>
#include <deque>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <sstream>

#include "base/allocator.h"
#include "base/log.h"
#include "base/version.h"
#include "config/config.h"
#include "controlplane/auth/secret.h"
#include "gss/kerberos_check.h"
#include "net/tls/tls_check.h"
#include "server/server.h"

namespace dittofs {
namespace {

int WriteConfig(const std::string& path, const config::Config& c, bool force) {
  std::error_code ec;
  if (std::filesystem::exists(path, ec) && !force) {
    std::fprintf(stderr, "dfs: %s exists (use --force to overwrite)\n", path.c_str());
    return 1;
  }
  std::filesystem::path p(path);
  if (p.has_parent_path()) std::filesystem::create_directories(p.parent_path(), ec);
  std::ofstream out(path, std::ios::trunc);
  out << config::RenderConfig(c);
  out.close();
  // The file holds the API's token secret: owner-only.
  std::filesystem::permissions(
      path, std::filesystem::perms::owner_read | std::filesystem::perms::owner_write, ec);
  if (!out) {
    std::fprintf(stderr, "dfs: cannot write %s\n", path.c_str());
    return 1;
  }
  return 0;
}

// The defaults, with a fresh random secret for signing API tokens.
config::Config NewConfig(const config::EnvLookup& env) {
  config::Config c = config::Defaults(env);
  c.api.jwt_secret = controlplane::auth::GenerateSecret(32);
  return c;
}

int Init(const std::string& config_path, bool force) {
  config::EnvLookup env = config::ProcessEnv();
  std::string path = config_path.empty() ? config::DefaultConfigPath(env) : config_path;
  if (int rc = WriteConfig(path, NewConfig(env), force); rc != 0) return rc;
  std::printf("wrote %s\n", path.c_str());
  return 0;
}

void PrintMountHelp(const config::Config& c, uint16_t port, uint16_t smb_port) {
  bool open_share = false;
  std::string squash_note;
  for (const auto& s : c.shares) {
    std::printf("\nShare %s is ready. Mount it with:\n", s.name.c_str());
    if (port != 0) {  // 0: NFS is off
      std::printf(
          "  Linux: sudo mount -t nfs -o vers=3,tcp,port=%u,mountport=%u,nolock "
          "<server>:%s /mnt/dittofs\n",
          port, port, s.name.c_str());
      std::printf("         sudo mount -t nfs -o vers=4.1,port=%u <server>:%s /mnt/dittofs\n", port,
                  s.name.c_str());
      std::printf(
          "  macOS: sudo mount -t nfs -o vers=3,tcp,port=%u,mountport=%u,resvport,nolocks "
          "<server>:%s /Volumes/dittofs\n",
          port, port, s.name.c_str());
    }
    if (smb_port != 0) {
      std::string smb_name = s.name;
      while (!smb_name.empty() && smb_name.front() == '/') smb_name.erase(0, 1);
      std::printf("  SMB:   smbclient //<server>/%s -p %u -U <user> -m SMB3\n", smb_name.c_str(),
                  smb_port);
      std::printf(
          "         sudo mount -t cifs //<server>/%s /mnt/dittofs -o port=%u,username=<user>\n",
          smb_name.c_str(), smb_port);
    }
    if (!s.read_only) open_share = true;
    if (s.squash == "none") {
      squash_note += " " + s.name + ": root is not squashed.";
    } else if (s.squash == "root_to_guest") {
      squash_note += " " + s.name + ": root is squashed to " + std::to_string(s.anon_uid) + ".";
    } else {
      squash_note +=
          " " + s.name + ": every user is squashed to " + std::to_string(s.anon_uid) + ".";
    }
  }
  if (open_share) {
    std::printf(
        "\nWARNING: shares are open to any client that can reach port %u; restrict access "
        "before exposing this server.%s\n",
        port != 0 ? port : smb_port, squash_note.c_str());
  }
  std::fflush(stdout);
}

// Loads the config a command names (or the default one), with environment overrides.
Result<config::Config> LoadConfig(const std::string& config_path, std::string* used_path) {
  config::EnvLookup env = config::ProcessEnv();
  std::string path = config_path.empty() ? config::DefaultConfigPath(env) : config_path;
  if (used_path) *used_path = path;
  std::error_code ec;
  if (config_path.empty() && !std::filesystem::exists(path, ec)) {
    return config::ParseConfig("", env);  // no file yet: the defaults
  }
  return config::LoadConfigFile(path, env);
}

std::string PidFileOf(const config::Config& c, const std::string& flag) {
  return flag.empty() ? c.server.state_dir + "/dfs.pid" : flag;
}

std::string LogFileOf(const config::Config& c, const std::string& flag) {
  if (!flag.empty()) return flag;
  if (!c.logging.file.empty()) return c.logging.file;
  return c.server.state_dir + "/dfs.log";
}

// The pid a pid file names, when that process is alive; 0 otherwise.
pid_t RunningPid(const std::string& pid_file) {
  std::ifstream in(pid_file);
  long pid = 0;
  if (!(in >> pid) || pid <= 0) return 0;
  if (kill(static_cast<pid_t>(pid), 0) != 0 && errno != EPERM) return 0;
  return static_cast<pid_t>(pid);
}

struct StartOptions {
  std::string config_path;
  bool foreground = false;
  std::string pid_file;
  std::string log_file;
};

int Start(const StartOptions& o) {
  config::EnvLookup env = config::ProcessEnv();
  std::string path = o.config_path;
  if (path.empty()) {
    path = config::DefaultConfigPath(env);
    std::error_code ec;
    if (!std::filesystem::exists(path, ec)) {
      // Zero-config start: write the defaults so the user has a file to edit.
      if (WriteConfig(path, NewConfig(env), false) != 0) return 1;
      std::printf("created %s\n", path.c_str());
    }
  }
  Result<config::Config> cfg = config::LoadConfigFile(path, env);
  if (!cfg.ok()) {
    std::fprintf(stderr, "dfs: %s\n", cfg.status().message().c_str());
    return 2;
  }
  std::error_code ec;
  std::filesystem::create_directories(cfg->server.state_dir, ec);
  std::string pid_file = PidFileOf(*cfg, o.pid_file);
  if (pid_t other = RunningPid(pid_file); other != 0) {
    std::fprintf(stderr, "dfs: already running (pid %d, %s)\n", other, pid_file.c_str());
    return 1;
  }

  // Daemon mode: the parent waits on a pipe until the child says it serves (or why it could
  // not), so `dfs start` reports start-up errors and returns only once the server is up.
  int ready_pipe[2] = {-1, -1};
  std::string log_file = o.log_file.empty() ? cfg->logging.file : o.log_file;
  if (!o.foreground) {
    log_file = LogFileOf(*cfg, o.log_file);
    if (pipe(ready_pipe) != 0) {
      std::perror("dfs: pipe");
      return 1;
    }
    pid_t child = fork();
    if (child < 0) {
      std::perror("dfs: fork");
      return 1;
    }
    if (child > 0) {
      close(ready_pipe[1]);
      std::string message;
      char buf[4096];
      ssize_t n;
      while ((n = read(ready_pipe[0], buf, sizeof(buf))) > 0) message.append(buf, n);
      if (message.rfind("ok", 0) == 0) {
        std::printf("dfs started (pid %s); log: %s\n", message.substr(3).c_str(), log_file.c_str());
        return 0;
      }
      std::fprintf(stderr, "dfs: start failed: %s (see %s)\n",
                   message.empty() ? "the server exited" : message.c_str(), log_file.c_str());
      return 1;
    }
    close(ready_pipe[0]);
    setsid();
    if (fork() > 0) _exit(0);  // the grandchild is not a session leader: no controlling tty
    int devnull = open("/dev/null", O_RDWR);
    int logfd = open(log_file.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    if (devnull >= 0) dup2(devnull, STDIN_FILENO);
    if (logfd >= 0) {
      dup2(logfd, STDOUT_FILENO);
      dup2(logfd, STDERR_FILENO);
    }
  }
  log::Level level = log::Level::kInfo;
  log::ParseLevel(cfg->logging.level, &level);
  // A daemon's standard error is its log file already.
  log::Init(level, cfg->logging.format == "json" ? log::Format::kJson : log::Format::kText,
            o.foreground ? log_file : "");

  // Block the stop signals in every thread; this one waits for them below.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  signal(SIGPIPE, SIG_IGN);

  auto tell_parent = [&](const std::string& message) {
    if (ready_pipe[1] < 0) return;
    (void)!write(ready_pipe[1], message.data(), message.size());
    close(ready_pipe[1]);
    ready_pipe[1] = -1;
  };

  LOG_INFO("dfs {} starting (config {})", kVersion, path);
  Result<std::unique_ptr<server::Server>> srv = server::StartServer(*cfg);
  if (!srv.ok()) {
    LOG_ERROR("dfs: cannot start: {}", srv.status().ToString());
    log::Flush();
    tell_parent(srv.status().ToString());
    return 1;
  }
  {
    std::ofstream pid_out(pid_file, std::ios::trunc);
    pid_out << getpid() << "\n";
  }
  PrintMountHelp(*cfg, (*srv)->nfs_port(), (*srv)->smb_port());
  if (!(*srv)->initial_admin_password().empty()) {
    // Shown once (on the terminal, or in the owner-only log of a daemon): only its hash is kept,
    // and the first login must change it.
    std::printf(
        "\nAdmin user created. Log in with: dfsctl login --user admin\n"
        "  initial password: %s   (shown only now; you must change it at first login)\n",
        (*srv)->initial_admin_password().c_str());
  }
  if ((*srv)->api_port() != 0) std::printf("REST API on port %u\n", (*srv)->api_port());
  std::fflush(stdout);
  tell_parent("ok " + std::to_string(getpid()));

  int sig = 0;
  sigwait(&stop_signals, &sig);
  LOG_INFO("dfs: {} received, stopping", sig == SIGINT ? "SIGINT" : "SIGTERM");
  (*srv)->Stop();
  srv->reset();
  std::filesystem::remove(pid_file, ec);
  LOG_INFO("dfs: stopped");
  log::Flush();
  return 0;
}

int Stop(const std::string& config_path, const std::string& pid_flag, bool force) {
  Result<config::Config> cfg = LoadConfig(config_path, nullptr);
  if (!cfg.ok()) {
    std::fprintf(stderr, "dfs: %s\n", cfg.status().message().c_str());
    return 2;
  }
  std::string pid_file = PidFileOf(*cfg, pid_flag);
  pid_t pid = RunningPid(pid_file);
  if (pid == 0) {
    std::fprintf(stderr, "dfs: not running (no live pid in %s)\n", pid_file.c_str());
    return 1;
  }
  kill(pid, force ? SIGKILL : SIGTERM);
  // A graceful stop lets calls in flight finish: wait for as long as the server may take.
  int wait_ms = force ? 5000 : static_cast<int>(cfg->server.shutdown_timeout_s + 5) * 1000;
  for (int waited = 0; waited < wait_ms; waited += 50) {
    if (kill(pid, 0) != 0) {
      std::error_code ec;
      if (force) std::filesystem::remove(pid_file, ec);
      std::printf("dfs stopped (pid %d)\n", pid);
      return 0;
    }
    usleep(50 * 1000);
  }
  std::fprintf(stderr, "dfs: pid %d did not stop; try dfs stop --force\n", pid);
  return 1;
}

// Prints `fields` as a table, JSON or YAML.
int PrintRecord(const std::vector<std::pair<std::string, std::string>>& fields,
                const std::string& format) {
  if (format == "json") {
    std::printf("{");
    for (size_t i = 0; i < fields.size(); ++i) {
      const std::string& v = fields[i].second;
      bool literal = v == "true" || v == "false" ||
                     (!v.empty() && v.find_first_not_of("0123456789") == std::string::npos);
      std::printf("%s\"%s\": %s%s%s", i ? ", " : "", fields[i].first.c_str(), literal ? "" : "\"",
                  v.c_str(), literal ? "" : "\"");
    }
    std::printf("}\n");
  } else if (format == "yaml") {
    for (const auto& [k, v] : fields) std::printf("%s: %s\n", k.c_str(), v.c_str());
  } else if (format == "table") {
    for (const auto& [k, v] : fields) std::printf("%-12s %s\n", k.c_str(), v.c_str());
  } else {
    std::fprintf(stderr, "dfs: -o must be table, json or yaml\n");
    return 2;
  }
  return 0;
}

int StatusCommand(const std::string& config_path, const std::string& pid_flag,
                  const std::string& format) {
  std::string path;
  Result<config::Config> cfg = LoadConfig(config_path, &path);
  if (!cfg.ok()) {
    std::fprintf(stderr, "dfs: %s\n", cfg.status().message().c_str());
    return 2;
  }
  std::string pid_file = PidFileOf(*cfg, pid_flag);
  pid_t pid = RunningPid(pid_file);
  int rc = PrintRecord({{"running", pid ? "true" : "false"},
                        {"pid", std::to_string(pid)},
                        {"config", path},
                        {"state_dir", cfg->server.state_dir},
                        {"pid_file", pid_file},
                        {"log_file", LogFileOf(*cfg, "")}},
                       format);
  if (rc != 0) return rc;
  return pid ? 0 : 3;  // like an init script: 3 = not running
}

int ConfigShow(const std::string& config_path) {
  Result<config::Config> cfg = LoadConfig(config_path, nullptr);
  if (!cfg.ok()) {
    std::fprintf(stderr, "dfs: %s\n", cfg.status().message().c_str());
    return 2;
  }
  config::Config shown = *cfg;
  if (!shown.api.jwt_secret.empty()) shown.api.jwt_secret = "***";
  if (!shown.database.dsn.empty()) shown.database.dsn = "***";
  std::printf("%s", config::RenderConfig(shown).c_str());
  return 0;
}

int ConfigValidate(const std::string& config_path) {
  std::string path;
  Result<config::Config> cfg = LoadConfig(config_path, &path);
  if (!cfg.ok()) {
    std::fprintf(stderr, "invalid: %s\n", cfg.status().message().c_str());
    return 1;
  }
  std::printf("valid: %s\n", path.c_str());
  return 0;
}

// `dfs tls check`: whether nfs.tls's files make a working TLS setup, in plain words.
int TlsCheck(const std::string& config_path) {
  std::string path;
  Result<config::Config> cfg = LoadConfig(config_path, &path);
  if (!cfg.ok()) {
    std::fprintf(stderr, "dfs: %s\n", cfg.status().message().c_str());
    return 2;
  }
  const config::NfsConfig::Tls& tls = cfg->nfs.tls;
  if (!tls.enabled()) {
    std::fprintf(stderr, "%s: nfs.tls.cert_file is not set: NFS over TLS is off\n", path.c_str());
    return 1;
  }
  net::TlsFilesReport report = net::CheckTlsFiles(tls.cert_file, tls.key_file, tls.client_ca_file);
  if (!report.problems.empty()) {
    for (const std::string& p : report.problems) std::printf("problem: %s\n", p.c_str());
    return 1;
  }
  std::printf("%s\n", report.summary.c_str());
  return 0;
}

// `dfs kerberos check`: whether kerberos.keytab makes a working RPCSEC_GSS setup, in plain
// words: the keytab's principals, the one clients ask for, a credential acquired from it as the
// server will, and the local time (Kerberos refuses clocks more than 5 minutes apart).
int KerberosCheck(const std::string& config_path) {
  std::string path;
  Result<config::Config> cfg = LoadConfig(config_path, &path);
  if (!cfg.ok()) {
    std::fprintf(stderr, "dfs: %s\n", cfg.status().message().c_str());
    return 2;
  }
  if (!cfg->kerberos.enabled()) {
    std::fprintf(stderr, "%s: kerberos.keytab is not set: Kerberos is off\n", path.c_str());
    return 1;
  }
  char host[256] = {};
  gethostname(host, sizeof(host) - 1);
  gss::KeytabReport report =
      gss::CheckKeytab(cfg->kerberos.keytab, cfg->kerberos.service_principal, host);
  for (const std::string& p : report.principals) std::printf("principal: %s\n", p.c_str());
  for (const std::string& n : report.notes) std::printf("ok: %s\n", n.c_str());
  for (const std::string& p : report.problems) std::printf("problem: %s\n", p.c_str());
  bool fine = report.problems.empty();
  if (cfg->smb.enabled && fine) {
    // SMB asks for cifs/<host>. Without its key SMB clients fall back to NTLM, which is a
    // problem only when NTLM is off.
    gss::KeytabReport smb =
        gss::CheckKeytab(cfg->kerberos.keytab, cfg->kerberos.smb_service_principal, host, "cifs");
    for (const std::string& n : smb.notes) std::printf("ok: smb: %s\n", n.c_str());
    for (const std::string& p : smb.problems) {
      std::printf("%s: smb: %s\n", cfg->smb.ntlm ? "note" : "problem", p.c_str());
    }
    if (!cfg->smb.ntlm && !smb.problems.empty()) fine = false;
  }
  return fine ? 0 : 1;
}

int Logs(const std::string& config_path, bool follow, int lines, const std::string& since) {
  Result<config::Config> cfg = LoadConfig(config_path, nullptr);
  if (!cfg.ok()) {
    std::fprintf(stderr, "dfs: %s\n", cfg.status().message().c_str());
    return 2;
  }
  std::string file = LogFileOf(*cfg, "");
  std::ifstream in(file);
  if (!in) {
    std::fprintf(stderr, "dfs: no log at %s (a foreground server logs to its terminal)\n",
                 file.c_str());
    return 1;
  }
  // --since: an ISO time prefix ("2026-11-22T10:00") or a duration back from now (30s, 10m, 2h).
  std::string since_stamp = since;
  if (!since.empty() && std::isdigit(static_cast<unsigned char>(since.back())) == 0 &&
      since.find('T') == std::string::npos) {
    long n = std::atol(since.c_str());
    long unit = since.back() == 's'   ? 1
                : since.back() == 'm' ? 60
                : since.back() == 'h' ? 3600
                                      : 86400;
    time_t t = time(nullptr) - n * unit;
    char buf[32];
    // Text logs stamp local time, JSON logs UTC; text is what a person reads, so local here.
    strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%S", localtime(&t));
    since_stamp = buf;
  }
  auto stamp_of = [](const std::string& line) -> std::string {
    size_t json = line.find("\"time\":\"");
    if (json != std::string::npos) return line.substr(json + 8, 19);
    return line.substr(0, 19);
  };
  std::deque<std::string> tail;
  std::string line;
  while (std::getline(in, line)) {
    if (!since_stamp.empty() && stamp_of(line) < since_stamp) continue;
    tail.push_back(line);
    if (lines > 0 && tail.size() > static_cast<size_t>(lines)) tail.pop_front();
  }
  for (const std::string& l : tail) std::printf("%s\n", l.c_str());
  std::fflush(stdout);
  if (!follow) return 0;
  in.clear();
  for (;;) {
    while (std::getline(in, line)) std::printf("%s\n", line.c_str());
    std::fflush(stdout);
    in.clear();
    usleep(200 * 1000);
  }
}

// Opens the control-plane database a config names; prints why not and sets `*exit_code` when it
// cannot (2: a bad config, 1: the database).
std::unique_ptr<controlplane::ControlDb> OpenDatabaseOf(const std::string& config_path,
                                                        int* exit_code) {
  Result<config::Config> cfg = LoadConfig(config_path, nullptr);
  if (!cfg.ok()) {
    std::fprintf(stderr, "dfs: %s\n", cfg.status().message().c_str());
    *exit_code = 2;
    return nullptr;
  }
  Result<std::unique_ptr<controlplane::ControlDb>> db = server::OpenControlDb(*cfg);
  if (!db.ok()) {
    std::fprintf(stderr, "dfs: %s\n", db.status().ToString().c_str());
    *exit_code = 1;
    return nullptr;
  }
  return std::move(db).value();
}

int Migrate(const std::string& config_path) {
  int exit_code = 0;
  std::unique_ptr<controlplane::ControlDb> db = OpenDatabaseOf(config_path, &exit_code);
  if (!db) return exit_code;
  Result<int> version = db->SchemaVersion();
  std::printf("control-plane schema at version %d\n", version.ok() ? *version : -1);
  return 0;
}

int Backup(const std::string& config_path, const std::string& output) {
  int exit_code = 0;
  std::unique_ptr<controlplane::ControlDb> db = OpenDatabaseOf(config_path, &exit_code);
  if (!db) return exit_code;
  Result<std::string> json = db->ExportJson();
  if (!json.ok()) {
    std::fprintf(stderr, "dfs: %s\n", json.status().ToString().c_str());
    return 1;
  }
  {
    // The export holds password hashes: owner-only.
    int fd = open(output.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0 || write(fd, json->data(), json->size()) != static_cast<ssize_t>(json->size()) ||
        close(fd) != 0) {
      std::fprintf(stderr, "dfs: cannot write %s\n", output.c_str());
      return 1;
    }
  }
  std::printf("control plane written to %s\n", output.c_str());
  return 0;
}

int Restore(const std::string& config_path, const std::string& input) {
  std::ifstream in(input);
  if (!in) {
    std::fprintf(stderr, "dfs: cannot read %s\n", input.c_str());
    return 1;
  }
  std::stringstream text;
  text << in.rdbuf();
  int exit_code = 0;
  std::unique_ptr<controlplane::ControlDb> db = OpenDatabaseOf(config_path, &exit_code);
  if (!db) return exit_code;
  Status s = db->ImportJson(text.str());
  if (!s.ok()) {
    std::fprintf(stderr, "dfs: restore failed: %s\n", s.ToString().c_str());
    return 1;
  }
  std::printf("control plane restored from %s\n", input.c_str());
  return 0;
}

// Shell completion from the command tree.
int Completion(const CLI::App& app, const std::string& shell) {
  std::vector<std::string> top;
  std::map<std::string, std::vector<std::string>> subs;
  for (const CLI::App* sub : app.get_subcommands([](const CLI::App*) { return true; })) {
    top.push_back(sub->get_name());
    for (const CLI::App* s2 : sub->get_subcommands([](const CLI::App*) { return true; })) {
      subs[sub->get_name()].push_back(s2->get_name());
    }
    for (const CLI::Option* opt : sub->get_options()) {
      for (const std::string& name : opt->get_lnames())
        subs[sub->get_name()].push_back("--" + name);
    }
  }
  auto join = [](const std::vector<std::string>& v) {
    std::string out;
    for (const std::string& s : v) out += (out.empty() ? "" : " ") + s;
    return out;
  };
  if (shell == "bash") {
    std::printf(
        "_dfs() {\n  local cur=${COMP_WORDS[COMP_CWORD]}\n"
        "  if [ $COMP_CWORD -eq 1 ]; then COMPREPLY=($(compgen -W \"%s\" -- \"$cur\")); return; "
        "fi\n"
        "  case ${COMP_WORDS[1]} in\n",
        join(top).c_str());
    for (const auto& [cmd, words] : subs) {
      std::printf("    %s) COMPREPLY=($(compgen -W \"%s\" -- \"$cur\"));;\n", cmd.c_str(),
                  join(words).c_str());
    }
    std::printf("  esac\n}\ncomplete -o default -F _dfs dfs\n");
  } else if (shell == "zsh") {
    std::printf(
        "#compdef dfs\n_dfs() {\n  if (( CURRENT == 2 )); then compadd %s; return; fi\n"
        "  case $words[2] in\n",
        join(top).c_str());
    for (const auto& [cmd, words] : subs) {
      std::printf("    %s) compadd %s;;\n", cmd.c_str(), join(words).c_str());
    }
    std::printf("  esac\n}\ncompdef _dfs dfs\n");
  } else if (shell == "fish") {
    for (const std::string& cmd : top) {
      std::printf("complete -c dfs -n '__fish_use_subcommand' -a %s\n", cmd.c_str());
    }
    for (const auto& [cmd, words] : subs) {
      for (const std::string& w : words) {
        if (w.rfind("--", 0) == 0) {
          std::printf("complete -c dfs -n '__fish_seen_subcommand_from %s' -l %s\n", cmd.c_str(),
                      w.substr(2).c_str());
        } else {
          std::printf("complete -c dfs -n '__fish_seen_subcommand_from %s' -a %s\n", cmd.c_str(),
                      w.c_str());
        }
      }
    }
  } else {
    std::fprintf(stderr, "dfs: completion for bash, zsh or fish\n");
    return 2;
  }
  return 0;
}

}  // namespace
}  // namespace dittofs

int main(int argc, char** argv) {
  // Payload buffers (up to a few MiB per call) are allocated and freed at a high rate: keep
  // freed memory mapped for the next calls (base/allocator.h).
  dittofs::KeepFreedMemoryForReuse();
  // Everything dfs writes (state, stores, config with its secrets, logs) is its own: files it
  // creates, and those the libraries it uses create (RocksDB's), are private to its user.
  umask(077);

  CLI::App app{"dfs: the DittoFS file server"};
  app.require_subcommand(1);
  std::string config_path;
  bool force = false;
  std::string output_format = "table";
  dittofs::StartOptions start_options;
  std::string pid_file;

  CLI::App* init = app.add_subcommand("init", "Write a documented default configuration");
  init->add_option("--config", config_path, "Config file to write (default: XDG config dir)");
  init->add_flag("--force", force, "Overwrite an existing file");

  CLI::App* start =
      app.add_subcommand("start", "Start the server (as a daemon unless --foreground)");
  start->add_option("--config", start_options.config_path, "Config file (default: XDG config dir)");
  start->add_flag("--foreground", start_options.foreground, "Stay in the foreground");
  start->add_option("--pid-file", start_options.pid_file,
                    "Pid file (default: <state_dir>/dfs.pid)");
  start->add_option("--log-file", start_options.log_file,
                    "Log file (daemon default: <state_dir>/dfs.log)");

  CLI::App* stop = app.add_subcommand("stop", "Stop a running server");
  stop->add_option("--config", config_path, "Config file");
  stop->add_option("--pid-file", pid_file, "Pid file");
  stop->add_flag("--force", force, "Kill at once (SIGKILL) instead of a graceful stop");

  CLI::App* status = app.add_subcommand("status", "Whether the server runs, and where");
  status->add_option("--config", config_path, "Config file");
  status->add_option("--pid-file", pid_file, "Pid file");
  status->add_option("-o,--output", output_format, "table | json | yaml");

  CLI::App* cfg = app.add_subcommand("config", "Show, check or describe the configuration");
  cfg->require_subcommand(1);
  CLI::App* cfg_show = cfg->add_subcommand("show", "Print the effective configuration");
  cfg_show->add_option("--config", config_path, "Config file");
  CLI::App* cfg_validate = cfg->add_subcommand("validate", "Check a configuration file");
  cfg_validate->add_option("--config", config_path, "Config file");
  CLI::App* cfg_schema = cfg->add_subcommand("schema", "Print the configuration's JSON schema");
  CLI::App* kerberos =
      app.add_subcommand("kerberos", "Kerberos V5 for NFS (RPCSEC_GSS) and SMB (SPNEGO)");
  kerberos->require_subcommand(1);
  CLI::App* kerberos_check = kerberos->add_subcommand(
      "check",
      "Check kerberos.keytab: its principals, the service's, a credential from it; "
      "exit 1 on problems");
  kerberos_check->add_option("--config", config_path, "Config file");
  CLI::App* tls = app.add_subcommand("tls", "NFS over TLS");
  tls->require_subcommand(1);
  CLI::App* tls_check = tls->add_subcommand(
      "check", "Check nfs.tls's certificate, key and client CA; exit 1 on problems");
  tls_check->add_option("--config", config_path, "Config file");

  CLI::App* logs = app.add_subcommand("logs", "Print the daemon's log");
  bool follow = false;
  int lines = 0;
  std::string since;
  logs->add_option("--config", config_path, "Config file");
  logs->add_flag("-f,--follow", follow, "Keep printing new lines");
  logs->add_option("-n,--lines", lines, "Only the last N lines");
  logs->add_option("--since", since, "From a time (2026-11-22T10:00) or a duration ago (10m)");

  std::string file;
  CLI::App* backup = app.add_subcommand("backup", "Write a backup");
  backup->require_subcommand(1);
  CLI::App* backup_cp = backup->add_subcommand("controlplane", "Export the control plane as JSON");
  backup_cp->add_option("--config", config_path, "Config file");
  backup_cp->add_option("--output", file, "Output file")->required();
  CLI::App* restore = app.add_subcommand("restore", "Restore a backup");
  restore->require_subcommand(1);
  CLI::App* restore_cp =
      restore->add_subcommand("controlplane", "Import a control-plane JSON export (empty DB)");
  restore_cp->add_option("--config", config_path, "Config file");
  restore_cp->add_option("--input", file, "Input file")->required();

  CLI::App* migrate = app.add_subcommand("migrate", "Apply control-plane schema migrations");
  migrate->add_option("--config", config_path, "Config file");

  app.add_subcommand("version", "Print the version");
  CLI::App* completion = app.add_subcommand("completion", "Shell completion script");
  std::string shell;
  completion->add_option("shell", shell, "bash | zsh | fish")->required();

  CLI11_PARSE(app, argc, argv);
  if (init->parsed()) return dittofs::Init(config_path, force);
  if (start->parsed()) return dittofs::Start(start_options);
  if (stop->parsed()) return dittofs::Stop(config_path, pid_file, force);
  if (status->parsed()) return dittofs::StatusCommand(config_path, pid_file, output_format);
  if (cfg_show->parsed()) return dittofs::ConfigShow(config_path);
  if (cfg_validate->parsed()) return dittofs::ConfigValidate(config_path);
  if (tls_check->parsed()) return dittofs::TlsCheck(config_path);
  if (kerberos_check->parsed()) return dittofs::KerberosCheck(config_path);
  if (cfg_schema->parsed()) {
    std::printf("%s\n", dittofs::config::JsonSchema().c_str());
    return 0;
  }
  if (logs->parsed()) return dittofs::Logs(config_path, follow, lines, since);
  if (backup_cp->parsed()) return dittofs::Backup(config_path, file);
  if (restore_cp->parsed()) return dittofs::Restore(config_path, file);
  if (migrate->parsed()) return dittofs::Migrate(config_path);
  if (completion->parsed()) return dittofs::Completion(app, shell);
  std::printf("dfs %s\n", dittofs::kVersion);
  return 0;
}

// SPDX-License-Identifier: Apache-2.0
// dfs: the DittoFS server daemon.

#include <malloc.h>
#include <signal.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>

#include "base/log.h"
#include "config/config.h"
#include "controlplane/auth/secret.h"
#include "server/server.h"

namespace dittofs {
namespace {

constexpr const char* kVersion = "0.1.0";

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

void PrintMountHelp(const config::Config& c, uint16_t port) {
  bool open_share = false;
  std::string squash_note;
  for (const auto& s : c.shares) {
    std::printf("\nShare %s is ready. Mount it with:\n", s.name.c_str());
    std::printf(
        "  Linux: sudo mount -t nfs -o vers=3,tcp,port=%u,mountport=%u,nolock "
        "<server>:%s /mnt/dittofs\n",
        port, port, s.name.c_str());
    std::printf(
        "  macOS: sudo mount -t nfs -o vers=3,tcp,port=%u,mountport=%u,resvport,nolocks "
        "<server>:%s /Volumes/dittofs\n",
        port, port, s.name.c_str());
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
        port, squash_note.c_str());
  }
  std::fflush(stdout);
}

int Start(const std::string& config_path, bool foreground) {
  config::EnvLookup env = config::ProcessEnv();
  std::string path = config_path;
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
  log::Level level = log::Level::kInfo;
  log::ParseLevel(cfg->logging.level, &level);
  log::Init(level, cfg->logging.format == "json" ? log::Format::kJson : log::Format::kText,
            cfg->logging.file);
  if (!foreground) {
    LOG_WARN("dfs start: running in the foreground (daemon mode is not available yet)");
  }

  // Block the stop signals in every thread; this one waits for them below.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  signal(SIGPIPE, SIG_IGN);

  LOG_INFO("dfs {} starting (config {})", kVersion, path);
  Result<std::unique_ptr<server::Server>> srv = server::StartServer(*cfg);
  if (!srv.ok()) {
    LOG_ERROR("dfs: cannot start: {}", srv.status().ToString());
    log::Flush();
    return 1;
  }
  PrintMountHelp(*cfg, (*srv)->nfs_port());
  if (!(*srv)->initial_admin_password().empty()) {
    // Shown once: only its hash is kept. The first login must change it.
    std::printf(
        "\nAdmin user created. Log in with: dfsctl login --user admin\n"
        "  initial password: %s   (shown only now; you must change it at first login)\n",
        (*srv)->initial_admin_password().c_str());
  }
  if ((*srv)->api_port() != 0) {
    std::printf("REST API on port %u\n", (*srv)->api_port());
  }
  std::fflush(stdout);
  int sig = 0;
  sigwait(&stop_signals, &sig);
  LOG_INFO("dfs: {} received, stopping", sig == SIGINT ? "SIGINT" : "SIGTERM");
  (*srv)->Stop();
  srv->reset();
  LOG_INFO("dfs: stopped");
  log::Flush();
  return 0;
}

}  // namespace
}  // namespace dittofs

int main(int argc, char** argv) {
  // Payload buffers (up to a few MiB per call) are allocated and freed at a high rate. Keep
  // them on the heap and keep freed memory in the process, so each call reuses pages that are
  // already mapped instead of having the kernel map and zero fresh ones (which profiling showed
  // to dominate 1 MiB READ/WRITE).
  mallopt(M_MMAP_THRESHOLD, 64 << 20);
  mallopt(M_TRIM_THRESHOLD, 512 << 20);
  CLI::App app{"dfs: the DittoFS file server"};
  app.require_subcommand(1);
  std::string config_path;
  bool force = false;
  bool foreground = false;

  CLI::App* init = app.add_subcommand("init", "Write a documented default configuration");
  init->add_option("--config", config_path, "Config file to write (default: XDG config dir)");
  init->add_flag("--force", force, "Overwrite an existing file");

  CLI::App* start = app.add_subcommand("start", "Start the server");
  start->add_option("--config", config_path, "Config file (default: XDG config dir)");
  start->add_flag("--foreground", foreground, "Stay in the foreground");

  app.add_subcommand("version", "Print the version");

  CLI11_PARSE(app, argc, argv);
  if (init->parsed()) return dittofs::Init(config_path, force);
  if (start->parsed()) return dittofs::Start(config_path, foreground);
  std::printf("dfs %s\n", dittofs::kVersion);
  return 0;
}

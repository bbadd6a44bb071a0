// SPDX-License-Identifier: Apache-2.0
#pragma once

// Runs the `dfs` binary as a child process for over-the-wire tests. Each DfsProcess gets a
// private temporary directory (config, state, log) and an ephemeral port on 127.0.0.1, so any
// number of servers, and test binaries, can run side by side.

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"

namespace dittofs::integration {

// One share of the server's config; the fields mirror config::ShareConfig.
struct DfsShare {
  std::string name = "/export";
  std::string metadata = "memory";  // memory | rocksdb (under the temporary directory) | postgres
  std::string metadata_dsn;         // postgres: the libpq connection string
  std::string metadata_schema = "dittofs";  // postgres: the prefix of the share's schema
  std::string block = "memory";  // memory | localfs | tiered (under the temporary directory)
  // tiered: the share's `tiered:` map as YAML flow text, e.g. "{carve_after_ms: 100}"; empty
  // for the defaults.
  std::string tiered;
  std::string squash =
      "none";  // none | root_to_guest | root_to_admin | all_to_guest | all_to_admin
  bool read_only = false;
  std::string root_mode = "1777";
  std::string default_permission = "read-write";  // none | read | read-write | admin
  std::vector<std::string> allowed_clients;       // CIDRs
  std::vector<std::string> denied_clients;        // CIDRs
  uint32_t anon_uid = 65534;
  uint32_t anon_gid = 65534;
  bool smb_encrypt = false;
  bool smb_require_signing = false;
  bool guest_ok = false;
  bool smb_access_based_enumeration = false;
  bool continuously_available = false;
  bool recycle = false;                         // the share's recycle bin (docs/recycle.md)
  std::string tls = "off";                      // off | opportunistic | required
  std::vector<std::string> security = {"sys"};  // sys | krb5 | krb5i | krb5p
};

struct DfsOptions {
  std::vector<DfsShare> shares = std::vector<DfsShare>(1);  // one default share
  std::string log_level = "info";
  // NAME=value entries added to the server's environment (DITTOFS_* ones included).
  std::vector<std::string> env;
  // How long the server may take to say it listens.
  std::chrono::seconds start_timeout{30};
  // Prometheus metrics on a free loopback port (metrics_port()), behind `metrics_token` if set.
  bool metrics = false;
  std::string metrics_token;
  // When set, the server's state store (client records, NSM hosts, durable handles) is kept
  // in PostgreSQL, in `state_schema`, instead of RocksDB under the temporary directory.
  std::string state_dsn;
  std::string state_schema = "dittofs_state";
};

// Keeps the first share's namespace and the server's state store (client records, NSM hosts,
// persistent handles) in the PostgreSQL server at `dsn`.
inline void UsePostgres(DfsOptions& options, const std::string& dsn) {
  options.shares[0].metadata = "postgres";
  options.shares[0].metadata_dsn = dsn;
  options.state_dsn = dsn;
}

// A running dfs server. Not thread-safe: one thread starts and stops it (the server itself
// serves any number of client threads).
class DfsProcess {
 public:
  // Writes a config for `options` into a fresh temporary directory, starts `binary` on it and
  // waits until the server logs the port it listens on. The child gets SIGKILL should the
  // starting thread die first, so a crashed test leaves no server behind.
  static Result<std::unique_ptr<DfsProcess>> Start(const std::string& binary,
                                                   const DfsOptions& options);

  DfsProcess(const DfsProcess&) = delete;
  DfsProcess& operator=(const DfsProcess&) = delete;
  // Kills a server that is still running (SIGKILL) and removes the temporary directory.
  ~DfsProcess();

  uint16_t port() const { return port_; }
  // The SMB adapter's port (0 when it is not serving).
  uint16_t smb_port() const { return smb_port_; }
  // The embedded port mapper's port (0 when it is not serving).
  uint16_t portmap_port() const { return portmap_port_; }
  // The REST API's port.
  uint16_t api_port() const { return api_port_; }
  uint16_t metrics_port() const { return metrics_port_; }
  // The password printed for `admin` at its first start (empty if none was printed).
  const std::string& admin_password() const { return admin_password_; }
  // After a test changed it (SMB peers log on with it).
  void set_admin_password(std::string password) { admin_password_ = std::move(password); }
  pid_t pid() const { return pid_; }
  // The temporary directory holding config.yaml, state/ and dfs.log.
  const std::string& dir() const { return dir_; }

  // A libnfs URL for `share` on this server, NFSv3 with MOUNT on the same port.
  std::string Url(std::string_view share) const;

  // Everything the server has written to stdout and stderr so far.
  std::string Log() const;

  // Sends SIGTERM and waits up to `timeout` for the server to exit. Returns its exit code;
  // Errc::kInternal if a signal ended it, Errc::kBusy if it outlived the timeout (it is then
  // killed). Later calls return the first outcome.
  Result<int> Stop(std::chrono::seconds timeout = std::chrono::seconds(30));
  // Stops the server (it must exit 0) and starts it again on the same config and state dir.
  // Ports set to 0 in the config are picked anew; port() and api_port() follow.
  Status Restart();
  // Kills the server with SIGKILL (no chance to flush or clean up) and reaps it.
  Status Kill();
  // Starts the server again after Kill() or Stop(), on the same config and state dir.
  Status StartAgain();
  // Replaces the NAME=value entries added to the environment of later starts.
  void set_env(std::vector<std::string> env) { env_ = std::move(env); }

 private:
  DfsProcess(std::string dir, pid_t pid) : dir_(std::move(dir)), pid_(pid) {}

  // Starts binary_ on the config in dir_ and waits until it listens.
  Status Spawn();
  // Polls the log until it names the port; fails if the child exits or `timeout` passes.
  Status WaitUntilListening(std::chrono::seconds timeout);

  std::string dir_;
  std::string binary_;
  std::chrono::seconds start_timeout_{30};
  std::vector<std::string> env_;  // added to the child's environment
  pid_t pid_;
  uint16_t port_ = 0;
  uint16_t api_port_ = 0;
  uint16_t metrics_port_ = 0;
  uint16_t smb_port_ = 0;
  uint16_t portmap_port_ = 0;
  std::string admin_password_;
  bool reaped_ = false;
  Result<int> exit_ = Errc::kUnavailable;  // the outcome once reaped_
};

}  // namespace dittofs::integration

// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "base/status.h"
#include "controlplane/db/control_db.h"
#include "core/login_throttle.h"
#include "core/quota.h"
#include "core/snapshot.h"
#include "core/snapshot_schedule.h"
#include "net/http/http_server.h"

namespace dittofs::controlplane::api {

// What the REST API tells the running server after it changed the control database. The API
// writes the database first and calls the hook second; a hook error fails the request with the
// error's problem status, but the database change stays (the server reconciles on the next
// change or restart). Hooks are called from HTTP worker threads, several at once.
class RuntimeHooks {
 public:
  virtual ~RuntimeHooks() = default;
  // Shares, stores or share permissions changed: the server reconciles its share table.
  virtual Status SharesChanged() = 0;
  // Users, groups or memberships changed: the server refreshes its user directory and
  // re-resolves share access, which it keeps per uid.
  virtual Status UsersChanged() = 0;
  // An adapter's enabled flag, port or bind address changed.
  virtual Status AdaptersChanged() = 0;
  // A setting was validated and stored; `value` is its new value.
  virtual Status SettingChanged(std::string_view key, std::string_view value) = 0;
  // Whether the server is ready to serve (GET /health/ready).
  virtual bool Ready() = 0;
  // A JSON object (text) describing the storage state of the share named `share` ("/export"):
  // what GET /api/v1/shares/{name}/status answers. Errc::kNotFound when no such share is being
  // served.
  virtual Result<std::string> ShareStatus(std::string_view share) = 0;
  // Uploads everything the share holds that is not yet on its block store's remote, and returns
  // when that is done. Errc::kNotSupported when the share's block store has no remote;
  // Errc::kNotFound when no such share is being served.
  virtual Status SyncShare(std::string_view share) = 0;
  // A JSON array (text) of the byte-range locks held on the served share named `share`, each
  // with its file, range, type and owner (GET /api/v1/shares/{name}/locks). Errc::kNotFound
  // when no such share is being served.
  virtual Result<std::string> ShareLocks(std::string_view share) = 0;
  // A JSON array (text) of the clients holding state (GET /api/v1/clients): each an object
  // with at least "id" and "protocol".
  virtual Result<std::string> Clients() = 0;
  // Drops everything the client `id` (as Clients names it) holds. Errc::kNotFound when there
  // is no such client.
  virtual Status EvictClient(std::string_view id) = 0;
  // What the recycle bin of the served share named `share` holds (GET /api/v1/shares/{name}/
  // trash): a JSON object (text) {"bytes": the bin's size, "items": [...]}, each item
  // {"id", "path", "bin_path", "size", "removed" (RFC 3339, UTC), "uid"}, oldest first.
  // Errc::kNotFound when no such share is being served.
  virtual Result<std::string> Trash(std::string_view share) = 0;
  // Moves the bin's file `id` back to where it was removed from, or to `to` (a path from the
  // share's root) when that is not empty, and returns the path it went to. Errc::kNotFound
  // when the share is not served or its bin holds no file `id`; Errc::kExists when something
  // has that name.
  virtual Result<std::string> RestoreTrash(std::string_view share, uint64_t id,
                                           std::string_view to) = 0;
  // Removes everything the share's bin holds, for good; returns how many files went.
  // Errc::kNotFound when no such share is being served.
  virtual Result<uint64_t> EmptyTrash(std::string_view share) = 0;
  // The quotas of the served share `share` (docs/quotas.md): a JSON object (text)
  // {"share": entry, "users": [entry...], "groups": [entry...]}, listing every user and group
  // with usage or limits, each entry {"kind" ("share", "user", "group"), "id" (uid, gid; 0 for
  // the share), "used_bytes", "used_files", "hard_bytes", "soft_bytes", "hard_files",
  // "soft_files", "grace_seconds" (limits: 0 for none), "grace_expires" (RFC 3339, UTC; null
  // when under the soft limits), "state" ("ok", "soft", "expired", "hard")}.
  // Errc::kNotFound when no such share is being served.
  virtual Result<std::string> Quotas(std::string_view share) = 0;
  // Sets the limits of the share (kind kShare, id 0), user `id` or group `id` of the served
  // share `share`; limits with none set remove them. Durable on return. Returns the entry as
  // Quotas shows it (JSON text). Errc::kNotFound when no such share is being served.
  virtual Result<std::string> SetQuota(std::string_view share, core::QuotaKind kind, uint32_t id,
                                       const core::QuotaLimits& limits) = 0;
  // Long jobs (docs/jobs.md). A job is a JSON object (text): {"id", "kind", "share", "state"
  // ("running", "succeeded", "failed", "canceled"), "percent" (0 to 100, or null while how
  // far it got is not known), "done", "total" (0: not known), "unit" ("bytes", "files" or ""),
  // "error" (a string when failed, else null), "started", "finished" (RFC 3339, UTC; finished
  // null while running)}.
  //
  // Starts a job of `kind` on the served share `share` and returns it at once:
  //   "sync"          uploads everything the share holds that its remote lacks (SyncShare);
  //   "gc"            deletes the remote's objects whose grace is over;
  //   "reconcile"     the mark-and-sweep reconcile of the share's remote;
  //   "quota-recount" counts the share's usage again (the share pauses meanwhile).
  // A job of that kind already running on the share is returned instead. Errc::kNotFound when
  // no such share is being served; Errc::kNotSupported when the share has no remote (sync, gc,
  // reconcile); Errc::kInvalid for another kind.
  virtual Result<std::string> StartJob(std::string_view share, std::string_view kind) = 0;
  // Every job the server keeps (running ones, and those finished in the last hour): a JSON
  // array (text), running first, then newest first.
  virtual Result<std::string> Jobs() = 0;
  // One job. Errc::kNotFound for an id the server does not know (never given, or forgotten).
  virtual Result<std::string> Job(uint64_t id) = 0;
  // Asks a running job to stop (it ends "canceled"); a finished one stays as it is. Returns the
  // job. Errc::kNotFound for an unknown id.
  virtual Result<std::string> CancelJob(uint64_t id) = 0;
  // Snapshots (docs/snapshots.md). A snapshot is a JSON object (text): {"name", "state"
  // ("creating", "ready", "deleting"), "created" (RFC 3339, UTC), "files" (objects it holds),
  // "bytes" (the sizes of its files)}.
  // Every snapshot of the served share `share`, by name: a JSON array (text).
  virtual Result<std::string> Snapshots(std::string_view share) = 0;
  // One. Errc::kNotFound when the share is not served or has no snapshot `name`.
  virtual Result<std::string> Snapshot(std::string_view share, std::string_view name) = 0;
  // Starts a snapshot job on the served share `share` and returns it, as StartJob does:
  //   "snapshot-create"  takes snapshot `name` (the share pauses while it is copied);
  //   "snapshot-delete"  removes snapshot `name`;
  //   "snapshot-restore" brings the share back to snapshot `name`, after taking snapshot
  //                      `safety` of it as it is (the share pauses meanwhile).
  // Errc::kNotFound when the share is not served or (delete, restore) has no such snapshot;
  // Errc::kExists for a name taken (create, the safety snapshot); Errc::kInvalid for a bad
  // name; Errc::kBusy while another snapshot job runs on the share.
  virtual Result<std::string> StartSnapshotJob(std::string_view share, std::string_view kind,
                                               std::string_view name, std::string_view safety) = 0;
  // The snapshot schedule of the served share `share` (docs/snapshots.md) as a JSON object
  // (text): {"interval_seconds" (0: none), "cron" ("" : none), "keep_last", "ttl_seconds"
  // (0: no limit), "since" (RFC 3339, UTC; null when none is set)}.
  virtual Result<std::string> SnapshotPolicy(std::string_view share) = 0;
  // Sets it (a policy scheduling nothing and keeping all removes it) and returns it as
  // SnapshotPolicy does. Errc::kInvalid for a policy core::CheckSnapshotPolicy refuses.
  virtual Result<std::string> SetSnapshotPolicy(std::string_view share,
                                                const core::SnapshotPolicy& policy) = 0;
};

// A file or directory of the server's own that no store may overlap.
struct ReservedPath {
  std::string path;  // absolute
  std::string what;  // "the control database"
};

struct ApiOptions {
  // Signs the control plane's HS256 tokens. REQUIRES: at least auth::kMinJwtSecretBytes bytes.
  std::string jwt_secret;
  // The server's state directory (server.state_dir), absolute: stores configured without a
  // place keep their shares under it (config/store_layout.h), and no store may hold it. Empty:
  // those places are unknown and go unchecked.
  std::string state_dir;
  // The server's own files that stores must keep clear of: the control database, the token
  // secret, the key files.
  std::vector<ReservedPath> reserved_paths;
  // Counts failed logins and password changes. The server passes the one its SMB adapter
  // uses too, so that guesses through either count against both; it must outlive the Api.
  // Null: the Api keeps its own.
  core::LoginThrottle* throttle = nullptr;
};

// One registered route, as the OpenAPI document describes it.
struct RouteInfo {
  std::string method;   // "GET", "POST", ...
  std::string pattern;  // "/api/v1/users/{username}"
};

class ApiHandlers;  // the route handlers; defined in api.cc

// The control plane's REST API (docs/api.md): authentication, users, groups, stores, shares and
// their permissions, adapters and settings, over a ControlDb. Every body is JSON and every error
// an RFC 7807 problem. Handlers are safe to run concurrently.
class Api {
 public:
  // `db` and `hooks` must outlive this Api, and this Api every router it registers with.
  Api(ControlDb& db, RuntimeHooks& hooks, ApiOptions options);
  ~Api();
  Api(const Api&) = delete;
  Api& operator=(const Api&) = delete;

  // Adds every route of the API to `router`.
  void Register(net::Router& router);

  // The routes Register adds, in registration order; the OpenAPI document lists exactly these.
  std::vector<RouteInfo> Routes() const;

 private:
  std::unique_ptr<ApiHandlers> handlers_;
};

}  // namespace dittofs::controlplane::api

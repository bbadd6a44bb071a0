// SPDX-License-Identifier: Apache-2.0
// dfsctl: manages a running DittoFS server through its REST API (docs/api.md).
//
// Every leaf command is one function returning a Status. Parsing only picks the leaf and
// fills `Args`; the leaf then runs. Exit codes: 0 on success, 1 when the command failed (an
// API error prints the problem's detail and HTTP status), 2 for a usage mistake.

#include <sys/wait.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <charconv>
#include <chrono>
#include <cstdint>
#include <functional>
#include <iostream>
#include <map>
#include <optional>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include "base/result.h"
#include "cli/dfsctl/api_client.h"
#include "cli/dfsctl/completion.h"
#include "cli/dfsctl/contexts.h"
#include "cli/dfsctl/output.h"
#include "cli/dfsctl/progress.h"
#include "cli/dfsctl/terminal.h"
#include "cli/dfsctl/units.h"
#include "config/block_store_config.h"

namespace dittofs::dfsctl {
namespace {

constexpr int kExitFailure = 1;
constexpr int kExitUsage = 2;
constexpr const char* kDefaultServer = "http://localhost:8080";
constexpr const char* kDefaultContext = "default";
constexpr const char* kDefaultMountpoint = "/mnt/dittofs";

// Every option and positional of every command. Only one leaf runs per invocation, so the
// leaves share these fields; each leaf reads only the ones it declared.
struct Args {
  std::string output = "table";
  std::string name;    // the object a command names (user, group, share, store, adapter, key)
  std::string member;  // group add-user/remove-user: the username
  std::string value;   // settings set
  std::string shell;   // completion

  // login
  std::string server;
  std::string login_user;
  std::string context;
  bool password_stdin = false;

  // users
  std::string username;
  std::optional<std::string> password;
  std::optional<std::string> current_password;
  std::optional<std::string> new_password;
  std::optional<int64_t> uid;
  std::optional<int64_t> gid;
  std::optional<std::string> email;
  std::optional<std::string> display_name;
  std::optional<std::string> kerberos_principal;
  std::optional<std::string> role;
  std::optional<bool> enabled;
  std::optional<std::vector<std::string>> groups;
  bool temporary = true;

  // shares
  std::optional<std::string> metadata_store;
  std::optional<std::string> block_store;
  bool read_only_flag = false;
  std::optional<bool> read_only;
  std::optional<std::string> squash;
  std::optional<int64_t> anon_uid;
  std::optional<int64_t> anon_gid;
  std::optional<std::vector<std::string>> allowed_cidrs;
  std::optional<std::vector<std::string>> denied_cidrs;
  std::optional<std::string> default_permission;
  std::optional<std::string> root_mode;
  std::optional<std::string> names;
  // SMB: as read_only, a flag on create and a true|false option on update.
  bool smb_encrypt_flag = false;
  std::optional<bool> smb_encrypt;
  bool smb_require_signing_flag = false;
  std::optional<bool> smb_require_signing;
  bool guest_ok_flag = false;
  std::optional<bool> guest_ok;
  bool abe_flag = false;
  std::optional<bool> abe;
  bool ca_flag = false;
  std::optional<bool> ca;
  std::optional<std::string> tls;
  std::optional<std::string> security;
  // The recycle bin: as read_only, a flag on create and a true|false option on update.
  bool recycle_flag = false;
  std::optional<bool> recycle;
  std::optional<int64_t> recycle_retention_days;
  std::optional<int64_t> recycle_max_bytes;
  std::optional<std::vector<std::string>> recycle_exclude;
  bool run = false;
  std::string mountpoint = kDefaultMountpoint;

  // share permissions
  std::optional<std::string> grant_user;
  std::optional<std::string> grant_group;
  std::string level;

  // stores
  std::string type;
  std::optional<std::string> config;
  std::optional<std::string> path;
  // tiered block stores: each sets one key of the JSON config
  std::optional<std::string> dir;
  std::optional<std::string> cache_size;
  std::optional<std::string> remote;
  std::optional<std::string> remote_path;
  std::optional<std::string> s3_endpoint;
  std::optional<std::string> s3_region;
  std::optional<std::string> s3_bucket;
  std::optional<std::string> s3_prefix;
  bool s3_virtual_host = false;
  std::optional<std::string> compression;
  std::optional<std::string> encryption;
  std::optional<std::string> key_file;
  std::optional<std::string> passphrase_env;
  std::vector<std::string> set;  // key=value

  // share sync, job wait and the commands that start a job: how long to wait for it
  int64_t timeout_s = 3600;
  bool as_job = false;  // share sync --job

  // jobs: the id job get, cancel and wait take; --no-wait of the commands that start one
  uint64_t job_id = 0;
  bool no_wait = false;

  // trash restore, trash empty
  uint64_t trash_id = 0;
  std::optional<std::string> restore_to;
  std::string snapshot;                         // snapshot create|get|delete|restore
  std::optional<std::string> safety;            // snapshot restore --safety
  std::optional<std::string> every, cron, ttl;  // snapshot schedule
  std::optional<uint32_t> keep;
  bool off = false;
  bool yes = false;

  // quota set, get, remove: whose quota (one of the three), and the limits set changes
  std::optional<std::string> quota_user;
  std::optional<std::string> quota_group;
  bool quota_share = false;
  std::optional<std::string> hard_bytes;  // sizes: "10G"
  std::optional<std::string> soft_bytes;
  std::optional<int64_t> hard_files;
  std::optional<int64_t> soft_files;
  std::optional<std::string> grace;  // a duration: "7d"

  // adapters
  std::optional<int64_t> port;
  std::optional<std::string> bind;
};

const std::vector<Column> kUserColumns = {{"USERNAME", "username"},
                                          {"UID", "uid"},
                                          {"GID", "gid"},
                                          {"ROLE", "role"},
                                          {"ENABLED", "enabled"},
                                          {"GROUPS", "groups"},
                                          {"EMAIL", "email"},
                                          {"DISPLAY NAME", "display_name"},
                                          {"KERBEROS PRINCIPAL", "kerberos_principal"}};
const std::vector<Column> kGroupColumns = {{"NAME", "name"}, {"GID", "gid"}};
const std::vector<Column> kGroupDetailColumns = {
    {"NAME", "name"}, {"GID", "gid"}, {"MEMBERS", "members"}};
const std::vector<Column> kShareColumns = {{"NAME", "name"},
                                           {"METADATA STORE", "metadata_store"},
                                           {"BLOCK STORE", "block_store"},
                                           {"READ ONLY", "read_only"},
                                           {"SQUASH", "squash"},
                                           {"DEFAULT PERMISSION", "default_permission"},
                                           {"ROOT MODE", "root_mode"},
                                           {"NAMES", "names"},
                                           {"SMB ENCRYPT", "smb_encrypt"},
                                           {"SMB SIGNING", "smb_require_signing"},
                                           {"GUEST OK", "guest_ok"},
                                           {"SMB ABE", "smb_access_based_enumeration"},
                                           {"CA", "continuously_available"},
                                           {"TLS", "tls"},
                                           {"SECURITY", "security"},
                                           {"ALLOWED", "allowed_cidrs"},
                                           {"DENIED", "denied_cidrs"},
                                           {"RECYCLE", "recycle"},
                                           {"RETENTION DAYS", "recycle_retention_days"},
                                           {"RECYCLE MAX BYTES", "recycle_max_bytes"},
                                           {"RECYCLE EXCLUDE", "recycle_exclude"}};
const std::vector<Column> kGrantColumns = {{"KIND", "kind"}, {"NAME", "name"}, {"LEVEL", "level"}};
const std::vector<Column> kStoreColumns = {
    {"NAME", "name"}, {"TYPE", "type"}, {"CONFIG", "config"}};
const std::vector<Column> kStatusColumns = {{"FIELD", "field"}, {"VALUE", "value"}};
const std::vector<Column> kAdapterColumns = {
    {"NAME", "name"}, {"ENABLED", "enabled"}, {"PORT", "port"}, {"BIND", "bind_address"}};
const std::vector<Column> kSettingColumns = {{"KEY", "key"}, {"VALUE", "value"}};
const std::vector<Column> kClientColumns = {{"ID", "id"},
                                            {"PROTOCOL", "protocol"},
                                            {"NAME", "name"},
                                            {"ADDRESS", "address"},
                                            {"LOCK OWNERS", "lock_owners"},
                                            {"BLOCKED", "blocked_locks"},
                                            {"SHARE RESERVATIONS", "share_reservations"},
                                            {"OPENS", "opens"},
                                            {"LOCKS", "locks"},
                                            {"DELEGATIONS", "delegations"},
                                            {"LEASES", "leases"},
                                            {"EXPIRED", "expired"}};
const std::vector<Column> kLockColumns = {{"FILE", "file"},
                                          {"RANGE", "range"},
                                          {"TYPE", "type"},
                                          {"FLAVOR", "flavor"},
                                          {"OWNER", "owner"}};
const std::vector<Column> kTrashColumns = {
    {"ID", "id"}, {"PATH", "path"}, {"SIZE", "size"}, {"REMOVED", "removed"}, {"UID", "uid"}};
const std::vector<Column> kSnapshotColumns = {{"NAME", "name"},
                                              {"STATE", "state"},
                                              {"CREATED", "created"},
                                              {"FILES", "files"},
                                              {"BYTES", "bytes"}};
// A quota's row: its sizes and times as people read them, "-" where there is no limit.
const std::vector<Column> kQuotaColumns = {{"KIND", "kind"},
                                           {"ID", "id"},
                                           {"NAME", "name"},
                                           {"USED", "used"},
                                           {"SOFT", "soft"},
                                           {"HARD", "hard"},
                                           {"FILES", "files"},
                                           {"SOFT FILES", "soft_files"},
                                           {"HARD FILES", "hard_files"},
                                           {"STATE", "state"},
                                           {"GRACE LEFT", "grace_left"}};
// A job's row (JobRow): how far it got as people read it, and its error once it failed.
const std::vector<Column> kJobColumns = {{"ID", "id"},
                                         {"KIND", "kind"},
                                         {"SHARE", "share"},
                                         {"STATE", "state"},
                                         {"PROGRESS", "progress"},
                                         {"STARTED", "started"},
                                         {"FINISHED/ERROR", "ended"}};
const std::vector<Column> kContextColumns = {{"CURRENT", "current"},
                                             {"NAME", "name"},
                                             {"SERVER", "server"},
                                             {"USER", "username"},
                                             {"LOGGED IN", "logged_in"}};

// A share's name is an absolute path; accept it without the leading slash too.
std::string ShareName(const std::string& name) { return name.starts_with('/') ? name : "/" + name; }

std::string SharePath(const std::string& name) {
  return "/api/v1/shares/" + PathSegment(ShareName(name));
}

class Dfsctl {
 public:
  Dfsctl();
  int Run(int argc, char** argv);

 private:
  // Adds a leaf command that runs `action` when chosen.
  CLI::App* Leaf(CLI::App* parent, const std::string& name, const std::string& description,
                 std::function<Status()> action);
  // Adds a command whose subcommands do the work; one of them is required.
  CLI::App* Group(CLI::App* parent, const std::string& name, const std::string& description);
  void AddOutput(CLI::App* command);
  OutputFormat format() const { return ParseOutputFormat(args_.output); }

  // A mistake in how the command was called (exit 2) that CLI11 could not catch itself.
  Status Usage(std::string message) {
    usage_error_ = true;
    return Status(Errc::kInvalid, std::move(message));
  }

  void AddAuthCommands();
  void AddUserCommands();
  void AddGroupCommands();
  void AddShareCommands();
  void AddStoreCommands(CLI::App* store, const std::string& kind);
  void AddAdapterCommands();
  void AddSettingsCommands();
  void AddClientCommands();
  void AddTrashCommands();
  void AddSnapshotCommands();
  void AddQuotaCommands();
  void AddJobCommands();
  // Adds the options of a command that starts a job: --no-wait, --timeout and -o.
  void AddJobOptions(CLI::App* command);

  // Sends one request with the current context and prints nothing.
  Status Send(std::string_view method, const std::string& path, const json& body = nullptr);
  // GETs `path` and prints it.
  Status Show(const std::string& path, const std::vector<Column>& columns);

  Status Login();
  Status Logout();
  Status ContextList();
  Status ContextUse();
  Status ContextCurrent();
  Status ContextRemove();
  Status UserCreate();
  Status UserUpdate();
  Status UserPassword();
  Status UserChangePassword();
  Status GroupGet();
  Status ShareCreateOrUpdate(bool create);
  Status GrantOrRevoke(bool grant);
  Status ShareMount();
  Status ShareStatus();
  Status ShareLocks();
  Status ShareSync();
  Status TrashList();
  Status TrashEmpty();
  // For what nothing brings back: true with --yes, or when the user answers y to `question`
  // on a terminal; false (having printed `declined`) when they do not; a usage error saying
  // `refusal` without --yes when stdin is no terminal.
  Result<bool> Confirmed(std::string_view refusal, const std::string& question,
                         std::string_view declined);
  // Starts a snapshot job (the POST or DELETE `method` on `path`, with `body`) and follows it
  // as StartJob does.
  Status StartSnapshotJob(const std::string& method, const std::string& path, const json& body);
  Status SnapshotDelete();
  Status SnapshotSchedule();
  // The path of the quota --user, --group or --share names, and how to name it in messages.
  struct QuotaSubject {
    std::string path;
    std::string description;  // "user alice on /export", "the share /export"
  };
  Result<QuotaSubject> PathQuotaSubject(std::string_view command);
  Status QuotaSet();
  Status QuotaGet();
  Status QuotaRemove();
  // Prints the share's quotas: all of them, or only those with limits.
  Status QuotaReport(bool only_limited);
  // Starts a job of `kind` on the share args_.name and follows it (FollowJob), or with
  // --no-wait prints it and returns.
  Status StartJob(std::string_view kind);
  // Polls `job` until it ends or --timeout passes. OK when it succeeded; an error saying why
  // when it failed, was canceled, or is still running at the timeout (it goes on).
  Status FollowJob(ApiClient& client, json job);
  // A job just started: followed (FollowJob), or with --no-wait printed.
  Status FollowOrPrintJob(ApiClient& client, json job);
  Status JobList();
  Status JobCancel();
  Status StoreAdd(const std::string& kind);
  // The JSON config a `store block add --type tiered` builds from its options.
  Result<json> TieredConfig(json config);
  Status AdapterPatch(json body);
  Status Completion();

  CLI::App app_{"dfsctl manages a DittoFS server through its REST API", "dfsctl"};
  Args args_;
  // share create's and update's --recycle-exclude, to tell an empty list from none.
  std::vector<CLI::Option*> recycle_exclude_options_;
  std::function<Status()> action_;
  bool usage_error_ = false;
};

Dfsctl::Dfsctl() {
  app_.require_subcommand(1);
  AddAuthCommands();
  AddUserCommands();
  AddGroupCommands();
  AddShareCommands();
  CLI::App* store = Group(&app_, "store", "Manage metadata and block stores");
  AddStoreCommands(Group(store, "metadata", "Manage metadata stores"), "metadata");
  AddStoreCommands(Group(store, "block", "Manage block stores"), "block");
  AddAdapterCommands();
  AddSettingsCommands();
  AddClientCommands();
  AddTrashCommands();
  AddSnapshotCommands();
  AddQuotaCommands();
  AddJobCommands();
  CLI::App* completion =
      Leaf(&app_, "completion", "Print a shell completion script", [this] { return Completion(); });
  completion->add_option("shell", args_.shell, "bash, zsh or fish")
      ->required()
      ->check(CLI::IsMember({"bash", "zsh", "fish"}));
}

CLI::App* Dfsctl::Leaf(CLI::App* parent, const std::string& name, const std::string& description,
                       std::function<Status()> action) {
  CLI::App* command = parent->add_subcommand(name, description);
  command->callback([this, action = std::move(action)] { action_ = action; });
  return command;
}

CLI::App* Dfsctl::Group(CLI::App* parent, const std::string& name, const std::string& description) {
  CLI::App* command = parent->add_subcommand(name, description);
  command->require_subcommand(1);
  return command;
}

void Dfsctl::AddOutput(CLI::App* command) {
  command->add_option("-o,--output", args_.output, "Output format: table, json or yaml")
      ->check(CLI::IsMember({"table", "json", "yaml"}));
}

int Dfsctl::Run(int argc, char** argv) {
  // CLI11 reports parse errors by throwing; this is the one place they are caught.
  try {
    app_.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int code = app_.exit(e);
    return code == 0 ? 0 : kExitUsage;
  }
  Status status = action_ ? action_() : Usage("no command given");
  if (status.ok()) return 0;
  std::cerr << "dfsctl: " << status.message() << "\n";
  return usage_error_ ? kExitUsage : kExitFailure;
}

Status Dfsctl::Send(std::string_view method, const std::string& path, const json& body) {
  ASSIGN_OR_RETURN(ApiClient client, ApiClient::Open());
  return client.Call(method, path, body).status();
}

Status Dfsctl::Show(const std::string& path, const std::vector<Column>& columns) {
  ASSIGN_OR_RETURN(ApiClient client, ApiClient::Open());
  ASSIGN_OR_RETURN(json value, client.Get(path));
  Print(std::cout, value, columns, format());
  return Status::Ok();
}

// ---- login, logout, contexts ----

void Dfsctl::AddAuthCommands() {
  CLI::App* login = Leaf(&app_, "login", "Log in to a server and save the tokens in a context",
                         [this] { return Login(); });
  login->add_option(
      "--server", args_.server,
      std::string("Server URL (default: the context's, else ") + kDefaultServer + ")");
  login->add_option("--user", args_.login_user, "Username (default: the context's)");
  login->add_flag("--password-stdin", args_.password_stdin, "Read the password from stdin");
  login->add_option(
      "--context", args_.context,
      std::string("Context to save into (default: the current one, else ") + kDefaultContext + ")");

  CLI::App* logout =
      Leaf(&app_, "logout", "Forget the tokens of a context", [this] { return Logout(); });
  logout->add_option("--context", args_.context, "Context (default: the current one)");

  CLI::App* context = Group(&app_, "context", "Manage saved contexts (server, user, tokens)");
  AddOutput(Leaf(context, "list", "List contexts", [this] { return ContextList(); }));
  Leaf(context, "use", "Make a context the current one", [this] { return ContextUse(); })
      ->add_option("name", args_.name, "Context name")
      ->required();
  Leaf(context, "current", "Print the current context's name", [this] { return ContextCurrent(); });
  Leaf(context, "remove", "Delete a context", [this] { return ContextRemove(); })
      ->add_option("name", args_.name, "Context name")
      ->required();
}

Status Dfsctl::Login() {
  ASSIGN_OR_RETURN(Contexts contexts, LoadContexts());
  std::string name = !args_.context.empty()      ? args_.context
                     : !contexts.current.empty() ? contexts.current
                                                 : kDefaultContext;
  Context saved = contexts.by_name.contains(name) ? contexts.by_name[name] : Context{};
  std::string server = !args_.server.empty()   ? args_.server
                       : !saved.server.empty() ? saved.server
                                               : kDefaultServer;
  RETURN_IF_ERROR(ParseServerUrl(server).status());
  std::string user = !args_.login_user.empty() ? args_.login_user : saved.username;
  if (user.empty()) {
    if (!StdinIsTerminal() || args_.password_stdin) return Usage("login: --user is required");
    ASSIGN_OR_RETURN(user, ReadLine("Username: "));
  }
  std::string password;
  if (args_.password_stdin) {
    ASSIGN_OR_RETURN(password, ReadLine(""));
  } else if (StdinIsTerminal()) {
    ASSIGN_OR_RETURN(password, ReadSecret("Password: "));
  } else {
    return Usage("login: stdin is not a terminal; pass the password with --password-stdin");
  }
  ASSIGN_OR_RETURN(json tokens, ApiClient::Login(server, user, password));

  Context& context = contexts.by_name[name];
  context.server = server;
  context.username = user;
  context.access_token = tokens.value("access_token", "");
  context.refresh_token = tokens.value("refresh_token", "");
  contexts.current = name;
  RETURN_IF_ERROR(SaveContexts(contexts));
  std::cout << "Logged in to " << server << " as " << user << " (context " << name << ")\n";
  if (tokens.value("must_change_password", false)) {
    std::cerr << "The password of " << user
              << " must be changed before anything else: run `dfsctl user change-password`.\n";
  }
  return Status::Ok();
}

Status Dfsctl::Logout() {
  ASSIGN_OR_RETURN(Contexts contexts, LoadContexts());
  std::string name = args_.context.empty() ? contexts.current : args_.context;
  if (name.empty() || !contexts.by_name.contains(name)) {
    return Status(Errc::kNotFound,
                  name.empty() ? "no current context" : "no context named " + name);
  }
  contexts.by_name[name].access_token.clear();
  contexts.by_name[name].refresh_token.clear();
  RETURN_IF_ERROR(SaveContexts(contexts));
  std::cout << "Logged out of context " << name << "\n";
  return Status::Ok();
}

Status Dfsctl::ContextList() {
  ASSIGN_OR_RETURN(Contexts contexts, LoadContexts());
  json list = json::array();
  for (const auto& [name, c] : contexts.by_name) {
    // Tokens stay out of the listing: it is meant to be shown and shared.
    list.push_back({{"current", name == contexts.current ? "*" : ""},
                    {"name", name},
                    {"server", c.server},
                    {"username", c.username},
                    {"logged_in", !c.access_token.empty()}});
  }
  Print(std::cout, list, kContextColumns, format());
  return Status::Ok();
}

Status Dfsctl::ContextUse() {
  ASSIGN_OR_RETURN(Contexts contexts, LoadContexts());
  if (!contexts.by_name.contains(args_.name)) {
    return Status(Errc::kNotFound, "no context named " + args_.name);
  }
  contexts.current = args_.name;
  RETURN_IF_ERROR(SaveContexts(contexts));
  std::cout << "Switched to context " << args_.name << "\n";
  return Status::Ok();
}

Status Dfsctl::ContextCurrent() {
  ASSIGN_OR_RETURN(Contexts contexts, LoadContexts());
  if (contexts.current.empty()) return Status(Errc::kNotFound, "no current context");
  std::cout << contexts.current << "\n";
  return Status::Ok();
}

Status Dfsctl::ContextRemove() {
  ASSIGN_OR_RETURN(Contexts contexts, LoadContexts());
  if (contexts.by_name.erase(args_.name) == 0) {
    return Status(Errc::kNotFound, "no context named " + args_.name);
  }
  if (contexts.current == args_.name) contexts.current.clear();
  RETURN_IF_ERROR(SaveContexts(contexts));
  std::cout << "Removed context " << args_.name << "\n";
  return Status::Ok();
}

// ---- users ----

void Dfsctl::AddUserCommands() {
  CLI::App* user = Group(&app_, "user", "Manage users");
  auto add_profile = [this](CLI::App* command) {
    command->add_option("--uid,--host-uid", args_.uid, "Unix uid NFS callers are known by");
    command->add_option("--gid,--host-gid", args_.gid, "Primary Unix gid");
    command->add_option("--email", args_.email, "Email address");
    command->add_option("--display-name", args_.display_name, "Display name");
    command->add_option("--kerberos-principal", args_.kerberos_principal,
                        "The Kerberos principal that logs on as this user (name@REALM; "
                        "\"\" for none: then username@REALM does)");
    command->add_option("--role", args_.role, "Role: admin, operator or user")
        ->check(CLI::IsMember({"admin", "operator", "user"}));
    command->add_option("--groups", args_.groups, "Groups (comma-separated)")->delimiter(',');
  };

  CLI::App* create = Leaf(user, "create", "Create a user", [this] { return UserCreate(); });
  create->add_option("--username", args_.username, "Username")->required();
  create->add_option("--password", args_.password, "Password (prompted when absent)");
  add_profile(create);
  create->get_option("--uid")->required();
  create->get_option("--gid")->description("Primary Unix gid (default: the uid)");

  AddOutput(
      Leaf(user, "list", "List users", [this] { return Show("/api/v1/users", kUserColumns); }));
  CLI::App* get = Leaf(user, "get", "Show a user", [this] {
    return Show("/api/v1/users/" + PathSegment(args_.name), kUserColumns);
  });
  get->add_option("username", args_.name, "Username")->required();
  AddOutput(get);

  CLI::App* update = Leaf(user, "update", "Change a user", [this] { return UserUpdate(); });
  update->add_option("username", args_.name, "Username")->required();
  add_profile(update);
  update->add_option("--enabled", args_.enabled, "Whether the user may log in (true|false)");

  Leaf(user, "delete", "Delete a user",
       [this] { return Send("DELETE", "/api/v1/users/" + PathSegment(args_.name)); })
      ->add_option("username", args_.name, "Username")
      ->required();

  CLI::App* password = Leaf(user, "password", "Set another user's password (admin)",
                            [this] { return UserPassword(); });
  password->add_option("username", args_.name, "Username")->required();
  password->add_option("--password", args_.password, "New password (prompted when absent)");
  password->add_option("--temporary", args_.temporary,
                       "Whether the user must change it at the next login (default true)");

  CLI::App* change = Leaf(user, "change-password", "Change your own password",
                          [this] { return UserChangePassword(); });
  change->add_option("--current", args_.current_password,
                     "Current password (prompted when absent)");
  change->add_option("--new", args_.new_password, "New password (prompted when absent)");
}

// The fields of a user body that were given on the command line.
json UserProfileBody(const Args& args) {
  json body = json::object();
  if (args.uid) body["uid"] = *args.uid;
  if (args.gid) body["gid"] = *args.gid;
  if (args.email) body["email"] = *args.email;
  if (args.display_name) body["display_name"] = *args.display_name;
  if (args.kerberos_principal) body["kerberos_principal"] = *args.kerberos_principal;
  if (args.role) body["role"] = *args.role;
  if (args.enabled) body["enabled"] = *args.enabled;
  if (args.groups) body["groups"] = *args.groups;
  return body;
}

// A new password from the terminal, typed twice when it is one.
Result<std::string> ReadNewPassword(const std::string& prompt) {
  ASSIGN_OR_RETURN(std::string password, ReadSecret(prompt));
  if (StdinIsTerminal()) {
    ASSIGN_OR_RETURN(std::string again, ReadSecret("Repeat it: "));
    if (again != password) return Status(Errc::kInvalid, "the passwords do not match");
  }
  return password;
}

Status Dfsctl::UserCreate() {
  json body = UserProfileBody(args_);
  body["username"] = args_.username;
  if (!body.contains("gid")) body["gid"] = *args_.uid;
  if (args_.password) {
    body["password"] = *args_.password;
  } else {
    ASSIGN_OR_RETURN(std::string password,
                     ReadNewPassword("Password for " + args_.username + ": "));
    body["password"] = password;
  }
  ASSIGN_OR_RETURN(ApiClient client, ApiClient::Open());
  ASSIGN_OR_RETURN(json user, client.Call("POST", "/api/v1/users", body));
  std::cout << "Created user " << user.value("username", args_.username) << " (uid "
            << user.value("uid", int64_t{0}) << ", gid " << user.value("gid", int64_t{0}) << ")\n";
  return Status::Ok();
}

Status Dfsctl::UserUpdate() {
  json body = UserProfileBody(args_);
  if (body.empty()) return Usage("user update: give at least one field to change");
  ASSIGN_OR_RETURN(ApiClient client, ApiClient::Open());
  RETURN_IF_ERROR(client.Call("PATCH", "/api/v1/users/" + PathSegment(args_.name), body).status());
  std::cout << "Updated user " << args_.name << "\n";
  return Status::Ok();
}

Status Dfsctl::UserPassword() {
  std::string password;
  if (args_.password) {
    password = *args_.password;
  } else {
    ASSIGN_OR_RETURN(password, ReadNewPassword("New password for " + args_.name + ": "));
  }
  ASSIGN_OR_RETURN(ApiClient client, ApiClient::Open());
  RETURN_IF_ERROR(client
                      .Call("POST", "/api/v1/users/" + PathSegment(args_.name) + "/password",
                            {{"password", password}, {"temporary", args_.temporary}})
                      .status());
  std::cout << "Set the password of " << args_.name << "\n";
  return Status::Ok();
}

Status Dfsctl::UserChangePassword() {
  ASSIGN_OR_RETURN(ApiClient client, ApiClient::Open());
  std::string current, fresh;
  if (args_.current_password) {
    current = *args_.current_password;
  } else {
    ASSIGN_OR_RETURN(current, ReadSecret("Current password: "));
  }
  if (args_.new_password) {
    fresh = *args_.new_password;
  } else {
    ASSIGN_OR_RETURN(fresh, ReadNewPassword("New password: "));
  }
  RETURN_IF_ERROR(client
                      .Call("POST", "/api/v1/auth/password",
                            {{"current_password", current}, {"new_password", fresh}})
                      .status());
  // The token in hand still carries must_change_password; a refreshed one does not.
  RETURN_IF_ERROR(client.Refresh());
  std::cout << "Password changed\n";
  return Status::Ok();
}

// ---- groups ----

void Dfsctl::AddGroupCommands() {
  CLI::App* group = Group(&app_, "group", "Manage groups");
  CLI::App* create = Leaf(group, "create", "Create a group", [this] {
    ASSIGN_OR_RETURN(ApiClient client, ApiClient::Open());
    RETURN_IF_ERROR(
        client.Call("POST", "/api/v1/groups", {{"name", args_.name}, {"gid", *args_.gid}})
            .status());
    std::cout << "Created group " << args_.name << " (gid " << *args_.gid << ")\n";
    return Status::Ok();
  });
  create->add_option("name", args_.name, "Group name")->required();
  create->add_option("--gid", args_.gid, "Unix gid")->required();

  AddOutput(
      Leaf(group, "list", "List groups", [this] { return Show("/api/v1/groups", kGroupColumns); }));
  CLI::App* get = Leaf(group, "get", "Show a group and its members", [this] { return GroupGet(); });
  get->add_option("name", args_.name, "Group name")->required();
  AddOutput(get);

  Leaf(group, "delete", "Delete a group",
       [this] { return Send("DELETE", "/api/v1/groups/" + PathSegment(args_.name)); })
      ->add_option("name", args_.name, "Group name")
      ->required();

  auto membership = [this](CLI::App* command) {
    command->add_option("group", args_.name, "Group name")->required();
    command->add_option("username", args_.member, "Username")->required();
  };
  membership(Leaf(group, "add-user", "Add a user to a group", [this] {
    return Send("PUT", "/api/v1/groups/" + PathSegment(args_.name) + "/members/" +
                           PathSegment(args_.member));
  }));
  membership(Leaf(group, "remove-user", "Remove a user from a group", [this] {
    return Send("DELETE", "/api/v1/groups/" + PathSegment(args_.name) + "/members/" +
                              PathSegment(args_.member));
  }));
}

Status Dfsctl::GroupGet() {
  ASSIGN_OR_RETURN(ApiClient client, ApiClient::Open());
  std::string path = "/api/v1/groups/" + PathSegment(args_.name);
  ASSIGN_OR_RETURN(json group, client.Get(path));
  ASSIGN_OR_RETURN(json members, client.Get(path + "/members"));
  group["members"] = json::array();
  if (members.is_array()) {
    for (const json& user : members) group["members"].push_back(user.value("username", ""));
  }
  Print(std::cout, group, kGroupDetailColumns, format());
  return Status::Ok();
}

// ---- shares ----

void Dfsctl::AddShareCommands() {
  CLI::App* share = Group(&app_, "share", "Manage shares, their permissions and mounts");
  auto add_fields = [this](CLI::App* command, bool create) {
    command->add_option("--metadata-store", args_.metadata_store, "Metadata store name");
    command->add_option("--block-store", args_.block_store, "Block store name");
    if (create) {
      command->add_flag("--read-only", args_.read_only_flag, "Serve the share read-only");
    } else {
      command->add_option("--read-only", args_.read_only, "Serve the share read-only (true|false)");
    }
    command->add_option("--squash", args_.squash,
                        "none, root_to_guest, root_to_admin, all_to_guest or all_to_admin");
    command->add_option("--anon-uid", args_.anon_uid, "uid squashed callers get");
    command->add_option("--anon-gid", args_.anon_gid, "gid squashed callers get");
    command->add_option("--allowed-cidrs", args_.allowed_cidrs, "Allowed client CIDRs (a,b)")
        ->delimiter(',');
    command->add_option("--denied-cidrs", args_.denied_cidrs, "Denied client CIDRs (a,b)")
        ->delimiter(',');
    command->add_option("--default-permission", args_.default_permission,
                        "none, read, read-write or admin");
    command->add_option("--root-mode", args_.root_mode, "Octal mode of the share root");
    command->add_option("--names", args_.names,
                        "posix (case-sensitive, any bytes but / and NUL) or windows "
                        "(case-insensitive, case-preserving, no \\ : * ? \" < > |)");
    constexpr const char* kEncrypt =
        "SMB 3 sessions encrypt everything on the share; SMB 2 sessions are refused";
    constexpr const char* kSigning = "SMB sessions sign every message on the share";
    constexpr const char* kGuest =
        "Guest and anonymous SMB sessions may use the share, as --anon-uid/--anon-gid";
    constexpr const char* kAbe =
        "Access-based enumeration: SMB directory listings show only what the caller may open";
    constexpr const char* kCa =
        "Continuous availability: SMB 3 persistent handles, whose opens, locks and leases "
        "outlive a restart of dfs";
    if (create) {
      command->add_flag("--smb-encrypt", args_.smb_encrypt_flag, kEncrypt);
      command->add_flag("--smb-require-signing", args_.smb_require_signing_flag, kSigning);
      command->add_flag("--guest-ok", args_.guest_ok_flag, kGuest);
      command->add_flag("--smb-access-based-enumeration", args_.abe_flag, kAbe);
      command->add_flag("--continuously-available", args_.ca_flag, kCa);
    } else {
      command->add_option("--smb-encrypt", args_.smb_encrypt,
                          std::string(kEncrypt) + " (true|false)");
      command->add_option("--smb-require-signing", args_.smb_require_signing,
                          std::string(kSigning) + " (true|false)");
      command->add_option("--guest-ok", args_.guest_ok, std::string(kGuest) + " (true|false)");
      command->add_option("--smb-access-based-enumeration", args_.abe,
                          std::string(kAbe) + " (true|false)");
      command->add_option("--continuously-available", args_.ca, std::string(kCa) + " (true|false)");
    }
    command
        ->add_option("--tls", args_.tls,
                     "NFS over TLS (RFC 9289): off, opportunistic, or required (NFS calls "
                     "without TLS are refused)")
        ->check(CLI::IsMember({"off", "opportunistic", "required"}));
    command->add_option("--security", args_.security,
                        "NFS security flavors, comma-separated: sys, krb5, krb5i, krb5p "
                        "(Kerberos needs the server's kerberos.keytab)");
    constexpr const char* kRecycle =
        "Recycle bin: removed files move to #recycle at the share's root instead of going "
        "(`dfsctl trash` lists and restores them)";
    if (create) {
      command->add_flag("--recycle", args_.recycle_flag, kRecycle);
    } else {
      command->add_option("--recycle", args_.recycle, std::string(kRecycle) + " (true|false)");
    }
    command
        ->add_option("--recycle-retention-days", args_.recycle_retention_days,
                     "Days the recycle bin keeps a removed file (0: no limit)")
        ->check(CLI::Range(int64_t{0}, int64_t{UINT32_MAX}));
    command
        ->add_option("--recycle-max-bytes", args_.recycle_max_bytes,
                     "The recycle bin's size cap in bytes, the oldest files going first (0: no "
                     "cap)")
        ->check(CLI::Range(int64_t{0}, int64_t{INT64_MAX}));
    recycle_exclude_options_.push_back(command->add_option(
        "--recycle-exclude", args_.recycle_exclude,
        "A glob (fnmatch) of names or paths from the share's root that are removed for good "
        "(\"*.tmp\"); repeatable; on update it replaces the list, and '' empties it"));
  };
  CLI::App* create = Leaf(share, "create", "Create a share",
                          [this] { return ShareCreateOrUpdate(/*create=*/true); });
  create->add_option("name", args_.name, "Share name (an absolute path such as /export)")
      ->required();
  add_fields(create, true);
  create->get_option("--metadata-store")->required();
  create->get_option("--block-store")->required();

  CLI::App* update = Leaf(share, "update", "Change a share",
                          [this] { return ShareCreateOrUpdate(/*create=*/false); });
  update->add_option("name", args_.name, "Share name")->required();
  add_fields(update, false);

  AddOutput(
      Leaf(share, "list", "List shares", [this] { return Show("/api/v1/shares", kShareColumns); }));
  CLI::App* get = Leaf(share, "get", "Show a share",
                       [this] { return Show(SharePath(args_.name), kShareColumns); });
  get->add_option("name", args_.name, "Share name")->required();
  AddOutput(get);
  Leaf(share, "delete", "Delete a share", [this] { return Send("DELETE", SharePath(args_.name)); })
      ->add_option("name", args_.name, "Share name")
      ->required();

  CLI::App* permission = Group(share, "permission", "Manage who may use a share");
  auto add_subject = [this](CLI::App* command) {
    command->add_option("share", args_.name, "Share name")->required();
    CLI::Option* user = command->add_option("--user", args_.grant_user, "A user");
    CLI::Option* group = command->add_option("--group", args_.grant_group, "A group");
    user->excludes(group);
  };
  CLI::App* grant = Leaf(permission, "grant", "Grant a user or group a level on a share",
                         [this] { return GrantOrRevoke(/*grant=*/true); });
  add_subject(grant);
  grant->add_option("--level", args_.level, "none, read, read-write or admin")
      ->required()
      ->check(CLI::IsMember({"none", "read", "read-write", "admin"}));
  add_subject(Leaf(permission, "revoke", "Remove a user's or group's grant on a share",
                   [this] { return GrantOrRevoke(/*grant=*/false); }));
  CLI::App* list = Leaf(permission, "list", "List a share's grants", [this] {
    return Show(SharePath(args_.name) + "/permissions", kGrantColumns);
  });
  list->add_option("share", args_.name, "Share name")->required();
  AddOutput(list);

  CLI::App* status = Leaf(share, "status", "Show a served share's storage state",
                          [this] { return ShareStatus(); });
  status->add_option("name", args_.name, "Share name")->required();
  AddOutput(status);
  CLI::App* locks = Leaf(share, "locks", "List the byte-range locks held on a served share",
                         [this] { return ShareLocks(); });
  locks->add_option("name", args_.name, "Share name")->required();
  AddOutput(locks);
  CLI::App* sync =
      Leaf(share, "sync", "Upload everything a share holds that its remote lacks; waits for it",
           [this] { return ShareSync(); });
  sync->add_option("name", args_.name, "Share name")->required();
  sync->add_option("--timeout", args_.timeout_s, "Seconds to wait for the server (default 3600)")
      ->check(CLI::Range(int64_t{1}, int64_t{7 * 24 * 3600}));
  CLI::Option* as_job = sync->add_flag("--job", args_.as_job,
                                       "Run it as a job (docs/jobs.md), showing how far it got");
  sync->add_flag("--no-wait", args_.no_wait, "With --job: print the job and return at once")
      ->needs(as_job);
  AddOutput(sync);
  sync->get_option("--output")->needs(as_job);
  CLI::App* gc = Leaf(share, "gc",
                      "Delete the objects of a share's remote that nothing uses any more and "
                      "whose grace is over, as a job",
                      [this] { return StartJob("gc"); });
  gc->add_option("name", args_.name, "Share name")->required();
  AddJobOptions(gc);
  CLI::App* reconcile = Leaf(
      share, "reconcile", "Reconcile a share's remote with its metadata (mark and sweep), as a job",
      [this] { return StartJob("reconcile"); });
  reconcile->add_option("name", args_.name, "Share name")->required();
  AddJobOptions(reconcile);

  CLI::App* mount = Leaf(share, "mount", "Print (or run) the Linux command that mounts a share",
                         [this] { return ShareMount(); });
  mount->add_option("share", args_.name, "Share name")->required();
  mount->add_flag("--run", args_.run, "Run the mount command instead of printing it");
  mount->add_option("--mountpoint", args_.mountpoint,
                    std::string("Where to mount it (default ") + kDefaultMountpoint + ")");
}

Status Dfsctl::ShareCreateOrUpdate(bool create) {
  json body = json::object();
  if (create) body["name"] = ShareName(args_.name);
  if (args_.metadata_store) body["metadata_store"] = *args_.metadata_store;
  if (args_.block_store) body["block_store"] = *args_.block_store;
  if (args_.read_only_flag) body["read_only"] = true;
  if (args_.read_only) body["read_only"] = *args_.read_only;
  if (args_.squash) body["squash"] = *args_.squash;
  if (args_.anon_uid) body["anon_uid"] = *args_.anon_uid;
  if (args_.anon_gid) body["anon_gid"] = *args_.anon_gid;
  if (args_.allowed_cidrs) body["allowed_cidrs"] = *args_.allowed_cidrs;
  if (args_.denied_cidrs) body["denied_cidrs"] = *args_.denied_cidrs;
  if (args_.default_permission) body["default_permission"] = *args_.default_permission;
  if (args_.root_mode) body["root_mode"] = *args_.root_mode;
  if (args_.names) body["names"] = *args_.names;
  if (args_.smb_encrypt_flag) body["smb_encrypt"] = true;
  if (args_.smb_encrypt) body["smb_encrypt"] = *args_.smb_encrypt;
  if (args_.smb_require_signing_flag) body["smb_require_signing"] = true;
  if (args_.smb_require_signing) body["smb_require_signing"] = *args_.smb_require_signing;
  if (args_.guest_ok_flag) body["guest_ok"] = true;
  if (args_.guest_ok) body["guest_ok"] = *args_.guest_ok;
  if (args_.abe_flag) body["smb_access_based_enumeration"] = true;
  if (args_.abe) body["smb_access_based_enumeration"] = *args_.abe;
  if (args_.ca_flag) body["continuously_available"] = true;
  if (args_.ca) body["continuously_available"] = *args_.ca;
  if (args_.tls) body["tls"] = *args_.tls;
  if (args_.security) body["security"] = *args_.security;
  if (args_.recycle_flag) body["recycle"] = true;
  if (args_.recycle) body["recycle"] = *args_.recycle;
  if (args_.recycle_retention_days) body["recycle_retention_days"] = *args_.recycle_retention_days;
  if (args_.recycle_max_bytes) body["recycle_max_bytes"] = *args_.recycle_max_bytes;
  // CLI11 keeps no value for --recycle-exclude '' (which empties the list): ask the option.
  bool exclude_given = false;
  for (const CLI::Option* option : recycle_exclude_options_) exclude_given |= option->count() > 0;
  if (exclude_given) {
    json globs = json::array();
    for (const std::string& glob : args_.recycle_exclude.value_or(std::vector<std::string>{})) {
      if (!glob.empty()) globs.push_back(glob);
    }
    body["recycle_exclude"] = std::move(globs);
  }
  if (!create && body.empty()) return Usage("share update: give at least one field to change");
  ASSIGN_OR_RETURN(ApiClient client, ApiClient::Open());
  if (create) {
    RETURN_IF_ERROR(client.Call("POST", "/api/v1/shares", body).status());
    std::cout << "Created share " << ShareName(args_.name) << "\n";
  } else {
    RETURN_IF_ERROR(client.Call("PATCH", SharePath(args_.name), body).status());
    std::cout << "Updated share " << ShareName(args_.name) << "\n";
  }
  return Status::Ok();
}

Status Dfsctl::GrantOrRevoke(bool grant) {
  if (!args_.grant_user && !args_.grant_group) {
    return Usage(std::string("share permission ") + (grant ? "grant" : "revoke") +
                 ": give --user NAME or --group NAME");
  }
  std::string kind = args_.grant_user ? "user" : "group";
  std::string subject = args_.grant_user ? *args_.grant_user : *args_.grant_group;
  ASSIGN_OR_RETURN(ApiClient client, ApiClient::Open());
  std::string path = SharePath(args_.name) + "/permissions";
  if (grant) {
    RETURN_IF_ERROR(
        client.Call("PUT", path, {{"kind", kind}, {"name", subject}, {"level", args_.level}})
            .status());
    std::cout << "Granted " << kind << " " << subject << " " << args_.level << " on "
              << ShareName(args_.name) << "\n";
  } else {
    RETURN_IF_ERROR(client.Call("DELETE", path + "/" + kind + "/" + PathSegment(subject)).status());
    std::cout << "Revoked the grant of " << kind << " " << subject << " on "
              << ShareName(args_.name) << "\n";
  }
  return Status::Ok();
}

// "a.b" rows for the nested objects of `value`, the leaves' values as text.
void FlattenStatus(const std::string& prefix, const json& value, json& rows) {
  if (value.is_object() && !value.empty()) {
    for (const auto& [key, item] : value.items()) {
      FlattenStatus(prefix.empty() ? key : prefix + "." + key, item, rows);
    }
    return;
  }
  rows.push_back({{"field", prefix}, {"value", value.is_string() ? value : json(value.dump())}});
}

Status Dfsctl::ShareStatus() {
  ASSIGN_OR_RETURN(ApiClient client, ApiClient::Open());
  ASSIGN_OR_RETURN(json status, client.Get(SharePath(args_.name) + "/status"));
  if (format() != OutputFormat::kTable) {
    Print(std::cout, status, {}, format());
    return Status::Ok();
  }
  json rows = json::array();
  FlattenStatus("", status, rows);
  Print(std::cout, rows, kStatusColumns, format());
  return Status::Ok();
}

Status Dfsctl::ShareLocks() {
  ASSIGN_OR_RETURN(ApiClient client, ApiClient::Open());
  ASSIGN_OR_RETURN(json reply, client.Get(SharePath(args_.name) + "/locks"));
  json locks = reply.value("locks", json::array());
  if (format() != OutputFormat::kTable) {
    Print(std::cout, locks, {}, format());
    return Status::Ok();
  }
  // One line per lock: its bytes ("to end" for a POSIX lock of length 0) and who holds it.
  json rows = json::array();
  for (const json& l : locks) {
    const uint64_t offset = l.value("offset", uint64_t{0});
    const uint64_t length = l.value("length", uint64_t{0});
    const bool posix = l.value("flavor", "") == "posix";
    std::string range = std::to_string(offset) + "-";
    if (length != 0 || !posix) range += std::to_string(offset + length - (length != 0 ? 1 : 0));
    if (length == 0 && posix) range += "end";
    const json owner = l.value("owner", json::object());
    std::string who = owner.value("protocol", "");
    if (owner.contains("host")) {
      who += " " + owner.value("host", "") + " (" + owner.value("address", "") + ") svid " +
             std::to_string(owner.value("svid", 0));
    } else if (owner.contains("id")) {
      who += " " + owner.value("id", "");
    }
    rows.push_back({{"file", l.value("file", uint64_t{0})},
                    {"range", range},
                    {"type", l.value("exclusive", false) ? "exclusive" : "shared"},
                    {"flavor", l.value("flavor", "")},
                    {"owner", who}});
  }
  Print(std::cout, rows, kLockColumns, format());
  return Status::Ok();
}

Status Dfsctl::ShareSync() {
  if (args_.as_job) return StartJob("sync");
  ASSIGN_OR_RETURN(ApiClient client, ApiClient::Open());
  client.set_read_timeout(std::chrono::seconds(args_.timeout_s));
  RETURN_IF_ERROR(client.Call("POST", SharePath(args_.name) + "/sync").status());
  std::cout << "Synced share " << ShareName(args_.name) << ": its remote holds all its data\n";
  return Status::Ok();
}

Status Dfsctl::ShareMount() {
  ASSIGN_OR_RETURN(ApiClient client, ApiClient::Open());
  ASSIGN_OR_RETURN(ServerUrl url, ParseServerUrl(client.context().server));
  // The share must exist; asking first gives a clear error instead of a failed mount.
  RETURN_IF_ERROR(client.Get(SharePath(args_.name)).status());
  ASSIGN_OR_RETURN(json nfs, client.Get("/api/v1/adapters/nfs"));
  if (!nfs.value("enabled", false)) {
    std::cerr
        << "warning: the nfs adapter is disabled; enable it with `dfsctl adapter enable nfs`\n";
  }
  int nfs_port = nfs.value("port", 0);
  if (nfs_port == 0) {
    return Status(Errc::kInvalid,
                  "the nfs adapter listens on an ephemeral port (0); give it a fixed one with "
                  "`dfsctl adapter update nfs --port PORT`");
  }
  std::string port = std::to_string(nfs_port);
  std::vector<std::string> command = {"mount",
                                      "-t",
                                      "nfs",
                                      "-o",
                                      "vers=3,tcp,port=" + port + ",mountport=" + port + ",nolock",
                                      url.host + ":" + ShareName(args_.name),
                                      args_.mountpoint};
  std::string line;
  for (const std::string& word : command) line += (line.empty() ? "" : " ") + word;
  std::cout << line << "\n";
  if (!args_.run) return Status::Ok();

  std::cout.flush();
  std::vector<char*> argv;
  for (std::string& word : command) argv.push_back(word.data());
  argv.push_back(nullptr);
  pid_t pid = fork();
  if (pid < 0) return Status(Errc::kIo, "fork failed");
  if (pid == 0) {
    execvp(argv[0], argv.data());
    _exit(127);
  }
  int wait_status = 0;
  while (waitpid(pid, &wait_status, 0) < 0) {
    if (errno != EINTR) return Status(Errc::kIo, "waitpid failed");
  }
  if (!WIFEXITED(wait_status) || WEXITSTATUS(wait_status) != 0) {
    return Status(Errc::kIo, "mount failed" + (WIFEXITED(wait_status)
                                                   ? " with exit code " +
                                                         std::to_string(WEXITSTATUS(wait_status))
                                                   : std::string()));
  }
  return Status::Ok();
}

// ---- stores ----

void Dfsctl::AddStoreCommands(CLI::App* store, const std::string& kind) {
  std::string base = "/api/v1/stores/" + kind;
  CLI::App* add =
      Leaf(store, "add", "Add a " + kind + " store", [this, kind] { return StoreAdd(kind); });
  add->add_option("--name", args_.name, "Store name")->required();
  add->add_option("--type", args_.type,
                  kind == "block" ? "Store type: memory, localfs or tiered"
                                  : "Store type: memory or rocksdb")
      ->required();
  CLI::Option* config = add->add_option("--config", args_.config, "Store config as a JSON object");
  add->add_option("--path", args_.path,
                  kind == "block" ? "localfs: the directory blocks are kept in"
                                  : "rocksdb: the directory the database is kept in")
      ->excludes(config);
  if (kind == "block") {
    // The tiered store's keys (docs/configuration.md); they add to --config.
    add->add_option("--dir", args_.dir, "tiered: the journal (local cache) directory");
    add->add_option("--cache-size", args_.cache_size, "tiered: journal capacity (e.g. 64GiB)");
    add->add_option("--remote", args_.remote, "tiered: where chunks are kept: memory, fs or s3")
        ->check(CLI::IsMember({"memory", "fs", "s3"}));
    add->add_option("--remote-path", args_.remote_path, "tiered, fs remote: its directory");
    add->add_option("--s3-endpoint", args_.s3_endpoint,
                    "tiered, s3 remote: endpoint URL (e.g. http://127.0.0.1:9000)");
    add->add_option("--s3-region", args_.s3_region, "tiered, s3 remote: region");
    add->add_option("--s3-bucket", args_.s3_bucket, "tiered, s3 remote: bucket");
    add->add_option("--s3-prefix", args_.s3_prefix, "tiered, s3 remote: key prefix");
    add->add_flag("--s3-virtual-host", args_.s3_virtual_host,
                  "tiered, s3 remote: virtual-host style URLs (bucket.endpoint)");
    add->add_option("--compression", args_.compression, "tiered: none, lz4 or zstd")
        ->check(CLI::IsMember({"none", "lz4", "zstd"}));
    add->add_option("--encryption", args_.encryption,
                    "tiered: none, aes-256-gcm or chacha20-poly1305")
        ->check(CLI::IsMember({"none", "aes-256-gcm", "chacha20-poly1305"}));
    add->add_option("--key-file", args_.key_file, "tiered: the encryption key file");
    add->add_option("--passphrase-env", args_.passphrase_env,
                    "tiered: the server's environment variable holding the key's passphrase");
    add->add_option("--set", args_.set,
                    "tiered: any config key, as key=value (remote keys as remote.KEY); "
                    "repeatable");
  }
  AddOutput(Leaf(store, "list", "List " + kind + " stores",
                 [this, base] { return Show(base, kStoreColumns); }));
  CLI::App* get = Leaf(store, "get", "Show a " + kind + " store", [this, base] {
    return Show(base + "/" + PathSegment(args_.name), kStoreColumns);
  });
  get->add_option("name", args_.name, "Store name")->required();
  AddOutput(get);
  Leaf(store, "remove", "Remove a " + kind + " store (refused while a share uses it)",
       [this, base] { return Send("DELETE", base + "/" + PathSegment(args_.name)); })
      ->add_option("name", args_.name, "Store name")
      ->required();
}

// One --set value as the JSON type its key takes; nullopt when it cannot be.
std::optional<json> TypedValue(std::string_view type, const std::string& text) {
  if (type == "string") return text;
  if (type == "boolean") {
    if (text == "true") return true;
    if (text == "false") return false;
    return std::nullopt;
  }
  uint64_t number = 0;
  auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), number);
  if (error == std::errc() && end == text.data() + text.size() && !text.empty()) return number;
  if (type == "size") return text;  // "64MiB": the server reads the unit
  return std::nullopt;
}

Result<json> Dfsctl::TieredConfig(json tiered) {
  auto put = [&](const std::string& key, json value) {
    if (key.starts_with("remote.")) {
      if (!tiered["remote"].is_object()) tiered["remote"] = json::object();
      tiered["remote"][key.substr(7)] = std::move(value);
    } else {
      tiered[key] = std::move(value);
    }
  };
  // Text typed by its key: "9" is a number for zstd_level, a string for remote.prefix.
  auto put_text = [&](const std::string& key, const std::string& text) -> Status {
    std::string_view type = dittofs::config::TieredBlockConfigKeyType(key);
    if (type.empty()) {
      return Usage("--set " + key + ": not a tiered store key (see docs/configuration.md)");
    }
    std::optional<json> value = TypedValue(type, text);
    if (!value) {
      return Usage("--set " + key + "=" + text + ": the value must be " +
                   (type == "boolean" ? "true or false" : "a non-negative integer"));
    }
    put(key, std::move(*value));
    return Status::Ok();
  };
  bool s3_option = args_.s3_endpoint || args_.s3_region || args_.s3_bucket || args_.s3_prefix ||
                   args_.s3_virtual_host;
  if (args_.remote) {
    put("remote.type", *args_.remote);
  } else if (s3_option) {
    put("remote.type", "s3");  // the --s3-* options say which remote is meant
  }
  if (args_.dir) put("dir", *args_.dir);
  if (args_.cache_size) RETURN_IF_ERROR(put_text("cache_size", *args_.cache_size));
  if (args_.remote_path) put("remote.path", *args_.remote_path);
  if (args_.s3_endpoint) put("remote.endpoint", *args_.s3_endpoint);
  if (args_.s3_region) put("remote.region", *args_.s3_region);
  if (args_.s3_bucket) put("remote.bucket", *args_.s3_bucket);
  if (args_.s3_prefix) put("remote.prefix", *args_.s3_prefix);
  if (args_.s3_virtual_host) put("remote.path_style", false);
  if (args_.compression) put("compression", *args_.compression);
  if (args_.encryption) put("encryption", *args_.encryption);
  if (args_.key_file) put("key_file", *args_.key_file);
  if (args_.passphrase_env) put("passphrase_env", *args_.passphrase_env);
  for (const std::string& assignment : args_.set) {
    size_t equals = assignment.find('=');
    if (equals == std::string::npos || equals == 0) {
      return Usage("--set " + assignment + ": write key=value, e.g. --set zstd_level=9");
    }
    RETURN_IF_ERROR(put_text(assignment.substr(0, equals), assignment.substr(equals + 1)));
  }
  return tiered;
}

Status Dfsctl::StoreAdd(const std::string& kind) {
  json body = {{"name", args_.name}, {"type", args_.type}};
  if (args_.config) {
    json config = json::parse(*args_.config, nullptr, /*allow_exceptions=*/false);
    if (!config.is_object()) return Usage("--config must be a JSON object, such as '{}'");
    body["config"] = config;
  }
  if (args_.path) body["config"] = {{"path", *args_.path}};
  bool tiered_option = args_.dir || args_.cache_size || args_.remote || args_.remote_path ||
                       args_.s3_endpoint || args_.s3_region || args_.s3_bucket || args_.s3_prefix ||
                       args_.s3_virtual_host || args_.compression || args_.encryption ||
                       args_.key_file || args_.passphrase_env || !args_.set.empty();
  if (tiered_option && args_.type != "tiered") {
    return Usage(
        "the tiered store options (--dir, --remote, --s3-*, --set, ...) need --type tiered");
  }
  if (tiered_option) {
    ASSIGN_OR_RETURN(body["config"], TieredConfig(body.value("config", json::object())));
  }
  ASSIGN_OR_RETURN(ApiClient client, ApiClient::Open());
  RETURN_IF_ERROR(client.Call("POST", "/api/v1/stores/" + kind, body).status());
  std::cout << "Added " << kind << " store " << args_.name << " (" << args_.type << ")\n";
  return Status::Ok();
}

// ---- adapters ----

void Dfsctl::AddAdapterCommands() {
  CLI::App* adapter = Group(&app_, "adapter", "Manage protocol adapters (nfs, ...)");
  AddOutput(Leaf(adapter, "list", "List adapters",
                 [this] { return Show("/api/v1/adapters", kAdapterColumns); }));
  CLI::App* get = Leaf(adapter, "get", "Show an adapter", [this] {
    return Show("/api/v1/adapters/" + PathSegment(args_.name), kAdapterColumns);
  });
  get->add_option("name", args_.name, "Adapter name")->required();
  AddOutput(get);
  Leaf(adapter, "enable", "Enable an adapter",
       [this] {
         return AdapterPatch({{"enabled", true}});
       })
      ->add_option("name", args_.name, "Adapter name")
      ->required();
  Leaf(adapter, "disable", "Disable an adapter",
       [this] {
         return AdapterPatch({{"enabled", false}});
       })
      ->add_option("name", args_.name, "Adapter name")
      ->required();
  CLI::App* update = Leaf(adapter, "update", "Change an adapter's port or bind address", [this] {
    json body = json::object();
    if (args_.port) body["port"] = *args_.port;
    if (args_.bind) body["bind_address"] = *args_.bind;
    if (body.empty()) return Usage("adapter update: give --port or --bind");
    return AdapterPatch(body);
  });
  update->add_option("name", args_.name, "Adapter name")->required();
  update->add_option("--port", args_.port, "Port (1-65535)");
  update->add_option("--bind", args_.bind, "Bind address (an IP literal)");
}

Status Dfsctl::AdapterPatch(json body) {
  ASSIGN_OR_RETURN(ApiClient client, ApiClient::Open());
  ASSIGN_OR_RETURN(json adapter,
                   client.Call("PATCH", "/api/v1/adapters/" + PathSegment(args_.name), body));
  std::cout << "Adapter " << adapter.value("name", args_.name) << ": "
            << (adapter.value("enabled", false) ? "enabled" : "disabled") << " on "
            << adapter.value("bind_address", "") << ":" << adapter.value("port", 0) << "\n";
  return Status::Ok();
}

// ---- settings ----

void Dfsctl::AddSettingsCommands() {
  CLI::App* settings =
      Group(&app_, "settings", "Manage server settings (logging.level, nfs.lease_s, ...)");
  AddOutput(Leaf(settings, "list", "List stored settings",
                 [this] { return Show("/api/v1/settings", kSettingColumns); }));
  CLI::App* get = Leaf(settings, "get", "Show a setting", [this] {
    return Show("/api/v1/settings/" + PathSegment(args_.name), kSettingColumns);
  });
  get->add_option("key", args_.name, "Setting key")->required();
  AddOutput(get);
  CLI::App* set = Leaf(settings, "set", "Change a setting", [this] {
    RETURN_IF_ERROR(
        Send("PUT", "/api/v1/settings/" + PathSegment(args_.name), {{"value", args_.value}}));
    std::cout << args_.name << " = " << args_.value << "\n";
    return Status::Ok();
  });
  set->add_option("key", args_.name, "Setting key")->required();
  set->add_option("value", args_.value, "New value")->required();
}

// ---- clients ----

void Dfsctl::AddClientCommands() {
  CLI::App* client = Group(&app_, "client", "List and evict the clients holding state (locks)");
  AddOutput(Leaf(client, "list", "List the clients holding state", [this] {
    ASSIGN_OR_RETURN(ApiClient api, ApiClient::Open());
    ASSIGN_OR_RETURN(json reply, api.Get("/api/v1/clients"));
    Print(std::cout, reply.value("clients", json::array()), kClientColumns, format());
    return Status::Ok();
  }));
  CLI::App* get = Leaf(client, "get", "Show a client", [this] {
    return Show("/api/v1/clients/" + PathSegment(args_.name), kClientColumns);
  });
  get->add_option("id", args_.name, "Client id (as client list shows it)")->required();
  AddOutput(get);
  CLI::App* evict =
      Leaf(client, "evict", "Evict a client: its locks and share reservations go", [this] {
        RETURN_IF_ERROR(Send("DELETE", "/api/v1/clients/" + PathSegment(args_.name)));
        std::cout << "Evicted client " << args_.name << "\n";
        return Status::Ok();
      });
  evict->add_option("id", args_.name, "Client id (as client list shows it)")->required();
}

// ---- the recycle bin ----

void Dfsctl::AddTrashCommands() {
  CLI::App* trash =
      Group(&app_, "trash", "List, restore and empty a share's recycle bin (share --recycle)");
  CLI::App* list = Leaf(trash, "list", "List the files in a share's recycle bin, oldest first",
                        [this] { return TrashList(); });
  list->add_option("share", args_.name, "Share name")->required();
  AddOutput(list);
  CLI::App* restore = Leaf(
      trash, "restore", "Move a file of the recycle bin back where it was removed from", [this] {
        json body = json::object();
        if (args_.restore_to) body["to"] = *args_.restore_to;
        ASSIGN_OR_RETURN(ApiClient client, ApiClient::Open());
        ASSIGN_OR_RETURN(json restored, client.Call("POST",
                                                    SharePath(args_.name) + "/trash/" +
                                                        std::to_string(args_.trash_id) + "/restore",
                                                    body));
        std::cout << "Restored file " << args_.trash_id << " of " << ShareName(args_.name) << " to "
                  << restored.value("path", "") << "\n";
        return Status::Ok();
      });
  restore->add_option("share", args_.name, "Share name")->required();
  restore->add_option("id", args_.trash_id, "The file's id (as trash list shows it)")->required();
  restore->add_option("--to", args_.restore_to,
                      "Where to put it instead, a path from the share's root (/docs/a.txt)");
  CLI::App* empty = Leaf(trash, "empty", "Remove everything in a share's recycle bin, for good",
                         [this] { return TrashEmpty(); });
  empty->add_option("share", args_.name, "Share name")->required();
  empty->add_flag("--yes,-y", args_.yes, "Do not ask first (needed when stdin is not a terminal)");
}

// Nothing brings back what it removes, so it asks first, or wants --yes.
Result<bool> Dfsctl::Confirmed(std::string_view refusal, const std::string& question,
                               std::string_view declined) {
  if (args_.yes) return true;
  if (!StdinIsTerminal()) return Usage(std::string(refusal));
  ASSIGN_OR_RETURN(std::string answer, ReadLine(question + " [y/N] "));
  if (answer == "y" || answer == "yes") return true;
  std::cout << declined << "\n";
  return false;
}

Status Dfsctl::TrashEmpty() {
  ASSIGN_OR_RETURN(bool go, Confirmed("trash empty: give --yes to remove the files for good",
                                      "Remove everything in the recycle bin of " +
                                          ShareName(args_.name) + " for good?",
                                      "Nothing removed"));
  if (!go) return Status::Ok();
  ASSIGN_OR_RETURN(ApiClient client, ApiClient::Open());
  ASSIGN_OR_RETURN(json emptied, client.Call("DELETE", SharePath(args_.name) + "/trash"));
  std::cout << "Emptied the recycle bin of " << ShareName(args_.name) << ": "
            << emptied.value("removed", uint64_t{0}) << " files removed\n";
  return Status::Ok();
}

Status Dfsctl::TrashList() {
  ASSIGN_OR_RETURN(ApiClient client, ApiClient::Open());
  ASSIGN_OR_RETURN(json reply, client.Get(SharePath(args_.name) + "/trash"));
  if (format() != OutputFormat::kTable) {
    Print(std::cout, reply, {}, format());
    return Status::Ok();
  }
  const json items = reply.value("items", json::array());
  Print(std::cout, items, kTrashColumns, format());
  std::cout << items.size() << " files listed; the recycle bin holds "
            << reply.value("bytes", uint64_t{0}) << " bytes\n";
  return Status::Ok();
}

// ---- snapshots ----

void Dfsctl::AddSnapshotCommands() {
  CLI::App* snapshot = Group(&app_, "snapshot",
                             "Take, list, delete and restore a share's snapshots, read-only "
                             "copies browsed under .snapshot/NAME (docs/snapshots.md)");
  auto share_and_name = [this](CLI::App* command) {
    command->add_option("share", args_.name, "Share name")->required();
    command->add_option("name", args_.snapshot, "Snapshot name")->required();
  };
  CLI::App* create = Leaf(snapshot, "create",
                          "Take a snapshot, as a job (the share pauses while its namespace is "
                          "copied; data is shared, not copied)",
                          [this] {
                            return StartSnapshotJob("POST", SharePath(args_.name) + "/snapshots",
                                                    {{"name", args_.snapshot}});
                          });
  share_and_name(create);
  AddJobOptions(create);
  CLI::App* list = Leaf(snapshot, "list", "List a share's snapshots", [this] {
    ASSIGN_OR_RETURN(ApiClient client, ApiClient::Open());
    ASSIGN_OR_RETURN(json snapshots, client.Get(SharePath(args_.name) + "/snapshots"));
    Print(std::cout, snapshots, kSnapshotColumns, format());
    return Status::Ok();
  });
  list->add_option("share", args_.name, "Share name")->required();
  AddOutput(list);
  CLI::App* get = Leaf(snapshot, "get", "Show a snapshot", [this] {
    ASSIGN_OR_RETURN(ApiClient client, ApiClient::Open());
    ASSIGN_OR_RETURN(
        json one, client.Get(SharePath(args_.name) + "/snapshots/" + PathSegment(args_.snapshot)));
    Print(std::cout, one, kSnapshotColumns, format());
    return Status::Ok();
  });
  share_and_name(get);
  AddOutput(get);
  CLI::App* remove =
      Leaf(snapshot, "delete", "Delete a snapshot, as a job", [this] { return SnapshotDelete(); });
  share_and_name(remove);
  remove->add_flag("--yes,-y", args_.yes, "Do not ask first (needed when stdin is not a terminal)");
  AddJobOptions(remove);
  CLI::App* restore = Leaf(
      snapshot, "restore",
      "Bring a share back to a snapshot, as a job: the share pauses meanwhile, and a "
      "safety snapshot keeps what it held before",
      [this] {
        json body = json::object();
        if (args_.safety) body["safety"] = *args_.safety;
        return StartSnapshotJob(
            "POST",
            SharePath(args_.name) + "/snapshots/" + PathSegment(args_.snapshot) + "/restore", body);
      });
  share_and_name(restore);
  restore->add_option("--safety", args_.safety,
                      "The name of the snapshot taken first (default pre-restore-<time>)");
  AddJobOptions(restore);
  CLI::App* schedule =
      Leaf(snapshot, "schedule",
           "Show or set when the server takes snapshots of a share (auto-<time>), and how many "
           "it keeps; what is not given keeps its value; with no option, shows it",
           [this] { return SnapshotSchedule(); });
  schedule->add_option("share", args_.name, "Share name")->required();
  CLI::Option* every = schedule->add_option(
      "--every", args_.every, "Take one this often: 1h, 30m, 1d12h (at least a minute)");
  CLI::Option* cron = schedule->add_option(
      "--cron", args_.cron, "Take one at the times of a cron expression, in UTC: '30 2 * * *'");
  every->excludes(cron);
  schedule->add_option("--keep", args_.keep, "Keep the last N scheduled snapshots (0: all)");
  schedule->add_option("--ttl", args_.ttl,
                       "Delete scheduled snapshots older than this: 7d, 12h (0: never)");
  CLI::Option* off = schedule->add_flag(
      "--off", args_.off, "Stop taking and deleting scheduled snapshots (those taken stay)");
  off->excludes(every)->excludes(cron);
  AddOutput(schedule);
}

Status Dfsctl::SnapshotSchedule() {
  ASSIGN_OR_RETURN(ApiClient client, ApiClient::Open());
  const std::string path = SharePath(args_.name) + "/snapshot-policy";
  json policy;
  if (args_.off) {
    ASSIGN_OR_RETURN(policy, client.Call("DELETE", path));
  } else if (args_.every || args_.cron || args_.keep || args_.ttl) {
    // What is not given keeps its value; --every and --cron replace each other.
    ASSIGN_OR_RETURN(json current, client.Get(path));
    json body = json::object();
    for (const char* field : {"interval_seconds", "cron", "keep_last", "ttl_seconds"}) {
      if (current.contains(field)) body[field] = current[field];
    }
    if (args_.every) {
      ASSIGN_OR_RETURN(uint64_t seconds, ParseDuration(*args_.every));
      body["interval_seconds"] = seconds;
      body["cron"] = "";
    }
    if (args_.cron) {
      body["cron"] = *args_.cron;
      body["interval_seconds"] = 0;
    }
    if (args_.keep) body["keep_last"] = *args_.keep;
    if (args_.ttl) {
      ASSIGN_OR_RETURN(uint64_t seconds, ParseDuration(*args_.ttl));
      body["ttl_seconds"] = seconds;
    }
    ASSIGN_OR_RETURN(policy, client.Call("PUT", path, body));
  } else {
    ASSIGN_OR_RETURN(policy, client.Get(path));
  }
  if (format() != OutputFormat::kTable) {
    Print(std::cout, policy, {}, format());
    return Status::Ok();
  }
  const uint64_t interval = policy.value("interval_seconds", uint64_t{0});
  const std::string cron_text = policy.value("cron", "");
  const uint64_t keep = policy.value("keep_last", uint64_t{0});
  const uint64_t ttl = policy.value("ttl_seconds", uint64_t{0});
  std::cout << "Snapshots of " << ShareName(args_.name) << ": ";
  if (interval != 0) {
    std::cout << "every " << FormatDuration(interval);
  } else if (!cron_text.empty()) {
    std::cout << "at cron '" << cron_text << "' (UTC)";
  } else {
    std::cout << "not scheduled";
  }
  std::cout << "; keeping " << (keep == 0 ? std::string("all") : "the last " + std::to_string(keep))
            << (ttl == 0 ? std::string() : ", none older than " + FormatDuration(ttl)) << "\n";
  return Status::Ok();
}

Status Dfsctl::StartSnapshotJob(const std::string& method, const std::string& path,
                                const json& body) {
  ASSIGN_OR_RETURN(ApiClient client, ApiClient::Open());
  ASSIGN_OR_RETURN(json job, client.Call(method, path, body));
  return FollowOrPrintJob(client, std::move(job));
}

// Nothing brings a deleted snapshot back, so it asks first, or wants --yes.
Status Dfsctl::SnapshotDelete() {
  ASSIGN_OR_RETURN(bool go, Confirmed("snapshot delete: give --yes to delete it for good",
                                      "Delete snapshot " + args_.snapshot + " of " +
                                          ShareName(args_.name) + " for good?",
                                      "Nothing deleted"));
  if (!go) return Status::Ok();
  return StartSnapshotJob(
      "DELETE", SharePath(args_.name) + "/snapshots/" + PathSegment(args_.snapshot), json());
}

// ---- quotas ----

void Dfsctl::AddQuotaCommands() {
  CLI::App* quota = Group(&app_, "quota",
                          "Set and show a share's quotas: what the share, each user and each "
                          "group may hold (docs/quotas.md)");
  auto add_subject = [this](CLI::App* command) {
    command->add_option("share", args_.name, "Share name")->required();
    CLI::Option* user =
        command->add_option("--user", args_.quota_user, "A user's quota: a username, or a uid");
    CLI::Option* group = command->add_option("--group", args_.quota_group,
                                             "A group's quota: a group name, or a gid");
    CLI::Option* share = command->add_flag("--share", args_.quota_share,
                                           "The share's own quota: everything it holds");
    user->excludes(group)->excludes(share);
    group->excludes(share);
  };
  CLI::App* set = Leaf(quota, "set",
                       "Set the limits of a quota; the limits not given keep their values (0: "
                       "no limit)",
                       [this] { return QuotaSet(); });
  add_subject(set);
  set->add_option("--hard-bytes", args_.hard_bytes,
                  "Bytes past which nothing more is taken: 4096, 512M, 10G, 1.5T, 10GiB (powers "
                  "of 1024), 10GB (of 1000)");
  set->add_option("--soft-bytes", args_.soft_bytes,
                  "Bytes that usage may pass for the grace period, as --hard-bytes");
  set->add_option("--hard-files", args_.hard_files, "Files past which no more are made")
      ->check(CLI::Range(int64_t{0}, int64_t{INT64_MAX}));
  set->add_option("--soft-files", args_.soft_files,
                  "Files that usage may pass for the grace period")
      ->check(CLI::Range(int64_t{0}, int64_t{INT64_MAX}));
  set->add_option("--grace", args_.grace,
                  "How long usage may stay past a soft limit: 7d, 12h, 30m, 90s, 1d12h, or "
                  "seconds (0: the server's default)");
  CLI::App* get = Leaf(quota, "get", "Show a quota: its usage, limits and state",
                       [this] { return QuotaGet(); });
  add_subject(get);
  AddOutput(get);
  add_subject(Leaf(quota, "remove", "Remove the limits of a quota (its usage is still counted)",
                   [this] { return QuotaRemove(); }));
  CLI::App* list = Leaf(quota, "list", "List a share's quotas that have limits",
                        [this] { return QuotaReport(/*only_limited=*/true); });
  list->add_option("share", args_.name, "Share name")->required();
  AddOutput(list);
  CLI::App* report =
      Leaf(quota, "report", "Show the usage of the share and of every user and group on it",
           [this] { return QuotaReport(/*only_limited=*/false); });
  report->add_option("share", args_.name, "Share name")->required();
  AddOutput(report);
  CLI::App* recount =
      Leaf(quota, "recount", "Count a share's usage again, as a job (the share pauses meanwhile)",
           [this] { return StartJob("quota-recount"); });
  recount->add_option("share", args_.name, "Share name")->required();
  AddJobOptions(recount);
}

Result<Dfsctl::QuotaSubject> Dfsctl::PathQuotaSubject(std::string_view command) {
  std::string base = SharePath(args_.name) + "/quotas/";
  std::string on = " on " + ShareName(args_.name);
  if (args_.quota_user) {
    return QuotaSubject{base + "user/" + PathSegment(*args_.quota_user),
                        "user " + *args_.quota_user + on};
  }
  if (args_.quota_group) {
    return QuotaSubject{base + "group/" + PathSegment(*args_.quota_group),
                        "group " + *args_.quota_group + on};
  }
  if (args_.quota_share) {
    return QuotaSubject{base + "share/-", "the share " + ShareName(args_.name)};
  }
  return Usage("quota " + std::string(command) + ": give --user NAME, --group NAME or --share");
}

// The limits a body or entry holds, as PUT takes them.
json QuotaLimitsOf(const json& entry) {
  json limits = json::object();
  for (const char* field :
       {"hard_bytes", "soft_bytes", "hard_files", "soft_files", "grace_seconds"}) {
    limits[field] = entry.value(field, uint64_t{0});
  }
  return limits;
}

// "8 GiB soft, 10 GiB hard"; "no limit" for none.
std::string DescribeLimits(uint64_t soft, uint64_t hard, bool bytes) {
  auto text = [&](uint64_t n) { return bytes ? FormatSize(n) : std::to_string(n); };
  if (soft == 0 && hard == 0) return "no limit";
  if (hard == 0) return text(soft) + " soft";
  if (soft == 0) return text(hard) + " hard";
  return text(soft) + " soft, " + text(hard) + " hard";
}

Status Dfsctl::QuotaSet() {
  ASSIGN_OR_RETURN(QuotaSubject subject, PathQuotaSubject("set"));
  if (!args_.hard_bytes && !args_.soft_bytes && !args_.hard_files && !args_.soft_files &&
      !args_.grace) {
    return Usage(
        "quota set: give at least one of --hard-bytes, --soft-bytes, --hard-files, "
        "--soft-files, --grace");
  }
  // PUT replaces every limit: the current ones, with those given changed.
  json changes = json::object();
  for (const auto& [flag, field, value] :
       {std::tuple{"--hard-bytes", "hard_bytes", &args_.hard_bytes},
        std::tuple{"--soft-bytes", "soft_bytes", &args_.soft_bytes}}) {
    if (!*value) continue;
    Result<uint64_t> bytes = ParseSize(**value);
    if (!bytes.ok()) return Usage(std::string(flag) + ": " + bytes.status().message());
    changes[field] = *bytes;
  }
  if (args_.hard_files) changes["hard_files"] = *args_.hard_files;
  if (args_.soft_files) changes["soft_files"] = *args_.soft_files;
  if (args_.grace) {
    Result<uint64_t> seconds = ParseDuration(*args_.grace);
    if (!seconds.ok()) return Usage("--grace: " + seconds.status().message());
    changes["grace_seconds"] = *seconds;
  }
  ASSIGN_OR_RETURN(ApiClient client, ApiClient::Open());
  ASSIGN_OR_RETURN(json current, client.Get(subject.path));
  json body = QuotaLimitsOf(current);
  body.update(changes);
  ASSIGN_OR_RETURN(json entry, client.Call("PUT", subject.path, body));
  const uint64_t grace = entry.value("grace_seconds", uint64_t{0});
  std::cout << "Set the quota of " << subject.description << ": bytes "
            << DescribeLimits(entry.value("soft_bytes", uint64_t{0}),
                              entry.value("hard_bytes", uint64_t{0}), /*bytes=*/true)
            << "; files "
            << DescribeLimits(entry.value("soft_files", uint64_t{0}),
                              entry.value("hard_files", uint64_t{0}), /*bytes=*/false)
            << "; grace " << (grace == 0 ? "the default" : FormatDuration(grace)) << "\n";
  return Status::Ok();
}

Status Dfsctl::QuotaRemove() {
  ASSIGN_OR_RETURN(QuotaSubject subject, PathQuotaSubject("remove"));
  RETURN_IF_ERROR(Send("DELETE", subject.path));
  std::cout << "Removed the quota of " << subject.description << "\n";
  return Status::Ok();
}

// How long is left of a quota's grace ("6d23h"), "expired", or "-" when it is in none.
std::string GraceLeft(const json& entry, int64_t now) {
  auto expires = entry.find("grace_expires");
  if (expires == entry.end() || !expires->is_string()) return "-";
  Result<int64_t> at = ParseUtcTime(expires->get<std::string>());
  if (!at.ok()) return expires->get<std::string>();
  if (*at <= now) return "expired";
  return FormatDuration(static_cast<uint64_t>(*at - now), /*max_units=*/2);
}

// A size limit as people read it; "-" for none.
std::string LimitText(uint64_t limit, bool bytes) {
  if (limit == 0) return "-";
  return bytes ? FormatSize(limit) : std::to_string(limit);
}

// `entry`'s row of a quota table (kQuotaColumns).
json QuotaRow(const json& entry, int64_t now) {
  return {{"kind", entry.value("kind", "")},
          {"id", entry.value("id", uint64_t{0})},
          {"name", entry.value("name", "")},
          {"used", FormatSize(entry.value("used_bytes", uint64_t{0}))},
          {"soft", LimitText(entry.value("soft_bytes", uint64_t{0}), true)},
          {"hard", LimitText(entry.value("hard_bytes", uint64_t{0}), true)},
          {"files", entry.value("used_files", uint64_t{0})},
          {"soft_files", LimitText(entry.value("soft_files", uint64_t{0}), false)},
          {"hard_files", LimitText(entry.value("hard_files", uint64_t{0}), false)},
          {"state", entry.value("state", "")},
          {"grace_left", GraceLeft(entry, now)}};
}

int64_t UnixNow() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

Status Dfsctl::QuotaGet() {
  ASSIGN_OR_RETURN(QuotaSubject subject, PathQuotaSubject("get"));
  ASSIGN_OR_RETURN(ApiClient client, ApiClient::Open());
  ASSIGN_OR_RETURN(json entry, client.Get(subject.path));
  if (format() != OutputFormat::kTable) {
    Print(std::cout, entry, {}, format());
    return Status::Ok();
  }
  json row = QuotaRow(entry, UnixNow());
  const uint64_t grace = entry.value("grace_seconds", uint64_t{0});
  json rows = json::array();
  auto add = [&](const char* field, json value) {
    rows.push_back({{"field", field}, {"value", std::move(value)}});
  };
  add("kind", row["kind"]);
  add("id", row["id"]);
  add("state", row["state"]);
  add("used bytes", row["used"]);
  add("soft bytes", row["soft"]);
  add("hard bytes", row["hard"]);
  add("used files", row["files"]);
  add("soft files", row["soft_files"]);
  add("hard files", row["hard_files"]);
  add("grace period", grace == 0 ? std::string("default") : FormatDuration(grace));
  add("grace expires", entry.value("grace_expires", json(nullptr)).is_string()
                           ? entry["grace_expires"].get<std::string>() + " (" +
                                 row["grace_left"].get<std::string>() + ")"
                           : std::string("-"));
  Print(std::cout, rows, kStatusColumns, format());
  return Status::Ok();
}

Status Dfsctl::QuotaReport(bool only_limited) {
  ASSIGN_OR_RETURN(ApiClient client, ApiClient::Open());
  ASSIGN_OR_RETURN(json quotas, client.Get(SharePath(args_.name) + "/quotas"));
  // Names for the uids and gids the database knows; only a nicety, so a failure to list them
  // leaves the numbers alone.
  std::map<uint64_t, std::string> usernames, group_names;
  if (Result<json> users = client.Get("/api/v1/users"); users.ok() && users->is_array()) {
    for (const json& user : *users) {
      usernames.emplace(user.value("uid", uint64_t{0}), user.value("username", ""));
    }
  }
  if (Result<json> groups = client.Get("/api/v1/groups"); groups.ok() && groups->is_array()) {
    for (const json& group : *groups) {
      group_names.emplace(group.value("gid", uint64_t{0}), group.value("name", ""));
    }
  }
  json entries = json::array();
  auto add = [&](json entry, const std::map<uint64_t, std::string>* names) {
    if (!entry.is_object()) return;
    bool limited = false;
    for (const char* field : {"hard_bytes", "soft_bytes", "hard_files", "soft_files"}) {
      limited |= entry.value(field, uint64_t{0}) != 0;
    }
    if (only_limited && !limited) return;
    if (names == nullptr) {
      entry["name"] = ShareName(args_.name);
    } else if (auto name = names->find(entry.value("id", uint64_t{0})); name != names->end()) {
      entry["name"] = name->second;
    }
    entries.push_back(std::move(entry));
  };
  add(quotas.value("share", json::object()), nullptr);
  for (const json& entry : quotas.value("users", json::array())) add(entry, &usernames);
  for (const json& entry : quotas.value("groups", json::array())) add(entry, &group_names);
  if (format() != OutputFormat::kTable) {
    Print(std::cout, entries, {}, format());
    return Status::Ok();
  }
  json rows = json::array();
  const int64_t now = UnixNow();
  for (const json& entry : entries) rows.push_back(QuotaRow(entry, now));
  Print(std::cout, rows, kQuotaColumns, format());
  return Status::Ok();
}

// ---- jobs ----

constexpr std::chrono::milliseconds kJobPoll{500};

std::string JobPath(uint64_t id) { return "/api/v1/jobs/" + std::to_string(id); }

// A job's string field; "" when it is null (a running job's "finished", a good one's "error").
std::string JobText(const json& job, const char* field) {
  auto it = job.find(field);
  return it != job.end() && it->is_string() ? it->get<std::string>() : "";
}

// A job's count field; 0 when it is missing.
uint64_t JobCount(const json& job, const char* field) {
  auto it = job.find(field);
  return it != job.end() && it->is_number_unsigned() ? it->get<uint64_t>() : 0;
}

// A job's percent; nullopt while the server does not know it.
std::optional<double> JobPercent(const json& job) {
  auto it = job.find("percent");
  if (it == job.end() || !it->is_number()) return std::nullopt;
  return it->get<double>();
}

// "7 (gc on /export)".
std::string JobName(const json& job) {
  return std::to_string(JobCount(job, "id")) + " (" + JobText(job, "kind") + " on " +
         JobText(job, "share") + ")";
}

// `job`'s row of a job table (kJobColumns).
json JobRow(const json& job) {
  if (!job.is_object()) return json::object();
  const std::string state = JobText(job, "state");
  std::string ended = state == "failed" ? JobText(job, "error") : JobText(job, "finished");
  if (ended.empty()) ended = state == "failed" ? JobText(job, "finished") : "-";
  return {{"id", JobCount(job, "id")},
          {"kind", JobText(job, "kind")},
          {"share", JobText(job, "share")},
          {"state", state},
          {"progress", ProgressText(JobPercent(job), JobCount(job, "done"), JobCount(job, "total"),
                                    JobText(job, "unit"))},
          {"started", JobText(job, "started")},
          {"ended", ended}};
}

// "Job 7 (gc on /export) succeeded in 1m30s: 2.6 GiB / 2.6 GiB".
std::string JobSummary(const json& job) {
  std::string line = "Job " + JobName(job) + " " + JobText(job, "state");
  Result<int64_t> started = ParseUtcTime(JobText(job, "started"));
  Result<int64_t> finished = ParseUtcTime(JobText(job, "finished"));
  if (started.ok() && finished.ok() && *finished >= *started) {
    line += " in " + FormatDuration(static_cast<uint64_t>(*finished - *started));
  }
  std::string counts =
      ProgressCounts(JobCount(job, "done"), JobCount(job, "total"), JobText(job, "unit"));
  return counts.empty() ? line : line + ": " + counts;
}

void Dfsctl::AddJobOptions(CLI::App* command) {
  command->add_flag("--no-wait", args_.no_wait,
                    "Print the job and return at once (`dfsctl job wait ID` follows it)");
  command
      ->add_option("--timeout", args_.timeout_s,
                   "Seconds to follow the job before giving up; the job goes on (default 3600)")
      ->check(CLI::Range(int64_t{1}, int64_t{7 * 24 * 3600}));
  AddOutput(command);
}

void Dfsctl::AddJobCommands() {
  CLI::App* job = Group(&app_, "job",
                        "Follow and cancel the server's long jobs: syncs, garbage collections, "
                        "reconciles, quota recounts (docs/jobs.md)");
  AddOutput(Leaf(job, "list", "List the running jobs, then those finished in the last hour",
                 [this] { return JobList(); }));
  CLI::App* get = Leaf(job, "get", "Show a job: its state and how far it got", [this] {
    ASSIGN_OR_RETURN(ApiClient client, ApiClient::Open());
    ASSIGN_OR_RETURN(json j, client.Get(JobPath(args_.job_id)));
    Print(std::cout, format() == OutputFormat::kTable ? JobRow(j) : j, kJobColumns, format());
    return Status::Ok();
  });
  get->add_option("id", args_.job_id, "Job id (as job list shows it)")->required();
  AddOutput(get);
  Leaf(job, "cancel", "Ask a running job to stop", [this] { return JobCancel(); })
      ->add_option("id", args_.job_id, "Job id")
      ->required();
  CLI::App* wait = Leaf(job, "wait",
                        "Follow a job until it ends: exit 0 when it succeeded, 1 when it failed "
                        "or was canceled",
                        [this] {
                          ASSIGN_OR_RETURN(ApiClient client, ApiClient::Open());
                          ASSIGN_OR_RETURN(json j, client.Get(JobPath(args_.job_id)));
                          return FollowJob(client, std::move(j));
                        });
  wait->add_option("id", args_.job_id, "Job id")->required();
  wait->add_option("--timeout", args_.timeout_s,
                   "Seconds to follow the job before giving up; the job goes on (default 3600)")
      ->check(CLI::Range(int64_t{1}, int64_t{7 * 24 * 3600}));
  AddOutput(wait);
}

Status Dfsctl::JobList() {
  ASSIGN_OR_RETURN(ApiClient client, ApiClient::Open());
  ASSIGN_OR_RETURN(json reply, client.Get("/api/v1/jobs"));
  json jobs = reply.value("jobs", json::array());
  if (format() != OutputFormat::kTable) {
    Print(std::cout, jobs, {}, format());
    return Status::Ok();
  }
  json rows = json::array();
  for (const json& job : jobs) rows.push_back(JobRow(job));
  Print(std::cout, rows, kJobColumns, format());
  return Status::Ok();
}

Status Dfsctl::StartJob(std::string_view kind) {
  ASSIGN_OR_RETURN(ApiClient client, ApiClient::Open());
  ASSIGN_OR_RETURN(json job, client.Call("POST", SharePath(args_.name) + "/jobs",
                                         {{"kind", std::string(kind)}}));
  return FollowOrPrintJob(client, std::move(job));
}

Status Dfsctl::FollowOrPrintJob(ApiClient& client, json job) {
  if (!job.is_object()) return Status(Errc::kInternal, "the server answered without a job");
  if (!args_.no_wait) return FollowJob(client, std::move(job));
  Print(std::cout, format() == OutputFormat::kTable ? JobRow(job) : job, kJobColumns, format());
  return Status::Ok();
}

// On a terminal, with table output, a progress bar is redrawn at every poll, and the job's
// line is printed when it ends; elsewhere only that line. With -o json or yaml, only the job
// as it ended is printed.
Status Dfsctl::FollowJob(ApiClient& client, json job) {
  const uint64_t id = JobCount(job, "id");
  const bool bar = format() == OutputFormat::kTable && StdoutIsTerminal();
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(args_.timeout_s);
  uint64_t tick = 0;
  auto draw = [&] {
    // One column short of the width, so the line never wraps; \x1b[K clears what the last
    // drawing left beyond it.
    const size_t width = TerminalWidth();
    std::cout << "\r"
              << ProgressLine(JobPercent(job), JobCount(job, "done"), JobCount(job, "total"),
                              JobText(job, "unit"), width > 1 ? width - 1 : 1, tick++)
              << "\x1b[K" << std::flush;
  };
  if (bar) std::cout << "Job " << JobName(job) << "\n";
  while (JobText(job, "state") == "running") {
    if (bar) draw();
    if (std::chrono::steady_clock::now() >= deadline) {
      if (bar) std::cout << "\n";
      return Status(Errc::kTimedOut, "job " + JobName(job) + " is still running after " +
                                         std::to_string(args_.timeout_s) +
                                         " s; it goes on: `dfsctl job wait " + std::to_string(id) +
                                         "` follows it, `dfsctl job cancel " + std::to_string(id) +
                                         "` stops it");
    }
    std::this_thread::sleep_for(kJobPoll);
    Result<json> polled = client.Get(JobPath(id));
    if (!polled.ok() || !polled->is_object()) {
      if (bar) std::cout << "\n";
      Status error = polled.ok() ? Status(Errc::kInternal, "the server answered without a job")
                                 : polled.status();
      return Status(error.code(), error.message() + "\nJob " + std::to_string(id) +
                                      " may still run: `dfsctl job wait " + std::to_string(id) +
                                      "` follows it");
    }
    job = std::move(*polled);
  }
  if (bar) {
    draw();
    std::cout << "\n";
  }
  const std::string state = JobText(job, "state");
  if (format() != OutputFormat::kTable) {
    Print(std::cout, job, {}, format());
  } else if (state == "succeeded") {
    std::cout << JobSummary(job) << "\n";
  }
  if (state == "succeeded") return Status::Ok();
  if (state == "failed") {
    std::string error = JobText(job, "error");
    return Status(Errc::kInternal,
                  "job " + JobName(job) + " failed" + (error.empty() ? "" : ": " + error));
  }
  if (state == "canceled") return Status(Errc::kInternal, "job " + JobName(job) + " was canceled");
  return Status(Errc::kInternal, "job " + JobName(job) + " is in state '" + state + "'");
}

Status Dfsctl::JobCancel() {
  ASSIGN_OR_RETURN(ApiClient client, ApiClient::Open());
  ASSIGN_OR_RETURN(json job, client.Call("DELETE", JobPath(args_.job_id)));
  const std::string state = JobText(job, "state");
  if (state == "running") {
    std::cout << "Asked job " << JobName(job) << " to stop; `dfsctl job wait " << args_.job_id
              << "` follows it until it does\n";
  } else {
    std::cout << "Job " << JobName(job) << " already " << state << "\n";
  }
  return Status::Ok();
}

Status Dfsctl::Completion() {
  ASSIGN_OR_RETURN(std::string script, CompletionScript(app_, args_.shell));
  std::cout << script;
  return Status::Ok();
}

}  // namespace
}  // namespace dittofs::dfsctl

int main(int argc, char** argv) {
  dittofs::dfsctl::Dfsctl dfsctl;
  return dfsctl.Run(argc, argv);
}

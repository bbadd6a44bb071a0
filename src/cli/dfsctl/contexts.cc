// SPDX-License-Identifier: Apache-2.0
#include "cli/dfsctl/contexts.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

namespace dittofs::dfsctl {
namespace {

using json = nlohmann::json;

Status ErrnoStatus(const std::string& what) {
  return Status(Errc::kIo, what + ": " + std::strerror(errno));
}

std::string ConfigDir() {
  const char* xdg = std::getenv("XDG_CONFIG_HOME");
  if (xdg != nullptr && *xdg == '/') return std::string(xdg) + "/dfsctl";
  const char* home = std::getenv("HOME");
  if (home == nullptr || *home == '\0') return "";
  return std::string(home) + "/.config/dfsctl";
}

// Creates `dir` and missing parents; the last component gets `mode`.
Status MakeDirs(const std::string& dir, mode_t mode) {
  for (size_t slash = dir.find('/', 1); slash != std::string::npos;
       slash = dir.find('/', slash + 1)) {
    std::string parent = dir.substr(0, slash);
    if (mkdir(parent.c_str(), 0755) != 0 && errno != EEXIST) return ErrnoStatus("mkdir " + parent);
  }
  if (mkdir(dir.c_str(), mode) != 0 && errno != EEXIST) return ErrnoStatus("mkdir " + dir);
  if (chmod(dir.c_str(), mode) != 0) return ErrnoStatus("chmod " + dir);
  return Status::Ok();
}

std::string StringField(const json& object, const char* key) {
  auto it = object.find(key);
  return it != object.end() && it->is_string() ? it->get<std::string>() : "";
}

}  // namespace

Result<std::string> ContextsPath() {
  std::string dir = ConfigDir();
  if (dir.empty()) return Status(Errc::kInvalid, "neither XDG_CONFIG_HOME nor HOME is set");
  return dir + "/config.json";
}

Result<Contexts> LoadContexts() {
  ASSIGN_OR_RETURN(std::string path, ContextsPath());
  std::ifstream in(path);
  if (!in) {
    if (errno == ENOENT) return Contexts{};
    return ErrnoStatus("open " + path);
  }
  std::stringstream text;
  text << in.rdbuf();
  json doc = json::parse(text.str(), nullptr, /*allow_exceptions=*/false);
  if (!doc.is_object()) return Status(Errc::kInvalid, path + ": not a JSON object");
  Contexts contexts;
  contexts.current = StringField(doc, "current_context");
  auto list = doc.find("contexts");
  if (list != doc.end() && list->is_object()) {
    for (const auto& [name, c] : list->items()) {
      if (!c.is_object()) continue;
      contexts.by_name[name] =
          Context{StringField(c, "server"), StringField(c, "username"),
                  StringField(c, "access_token"), StringField(c, "refresh_token")};
    }
  }
  return contexts;
}

Status SaveContexts(const Contexts& contexts) {
  ASSIGN_OR_RETURN(std::string path, ContextsPath());
  RETURN_IF_ERROR(MakeDirs(path.substr(0, path.rfind('/')), 0700));
  json doc = {{"current_context", contexts.current}, {"contexts", json::object()}};
  for (const auto& [name, c] : contexts.by_name) {
    doc["contexts"][name] = {{"server", c.server},
                             {"username", c.username},
                             {"access_token", c.access_token},
                             {"refresh_token", c.refresh_token}};
  }
  std::string text = doc.dump(2) + "\n";
  std::string tmp = path + ".tmp";
  int fd = open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return ErrnoStatus("open " + tmp);
  // The umask may have narrowed the mode, never widened it; make it exactly 0600 anyway.
  bool ok = fchmod(fd, 0600) == 0 &&
            write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size()) &&
            fsync(fd) == 0;
  Status failed = ok ? Status::Ok() : ErrnoStatus("write " + tmp);
  close(fd);
  if (!failed.ok()) {
    unlink(tmp.c_str());
    return failed;
  }
  if (rename(tmp.c_str(), path.c_str()) != 0) return ErrnoStatus("rename " + tmp);
  return Status::Ok();
}

}  // namespace dittofs::dfsctl

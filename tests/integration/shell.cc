// SPDX-License-Identifier: Apache-2.0
#include "shell.h"

#include <sys/wait.h>

#include <cstdio>
#include <sstream>

namespace dittofs::integration {

ShellRun Shell(const std::string& command) {
  ShellRun r;
  FILE* p = popen((command + " 2>&1").c_str(), "r");
  if (p == nullptr) return r;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) r.output.append(buf, n);
  const int status = pclose(p);
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

std::map<std::string, std::string> KeyValues(const std::string& text) {
  std::map<std::string, std::string> r;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    size_t eq = line.find('=');
    if (eq != std::string::npos) r[line.substr(0, eq)] = line.substr(eq + 1);
  }
  return r;
}

std::string Quote(const std::string& s) {
  std::string q = "'";
  for (char c : s) {
    if (c == '\'') {
      q += "'\\''";
    } else {
      q += c;
    }
  }
  return q + "'";
}

std::string AdminTokenViaApi(uint16_t api_port, const std::string& admin_password,
                             std::string* error) {
  const std::string api = "http://127.0.0.1:" + std::to_string(api_port) + "/api/v1";
  const auto login = [&](const std::string& pw) {
    ShellRun r = Shell("curl -s -X POST -H 'Content-Type: application/json' -d " +
                       Quote("{\"username\":\"admin\",\"password\":\"" + pw + "\"}") + " " + api +
                       "/auth/login");
    const size_t at = r.output.find("\"access_token\":\"");
    if (at == std::string::npos) return std::string();
    const size_t from = at + 16;
    return r.output.substr(from, r.output.find('"', from) - from);
  };
  const auto change = [&](const std::string& token, const std::string& from,
                          const std::string& to) {
    return Shell("curl -s -o /dev/null -w '%{http_code}' -X POST -H " +
                 Quote("Authorization: Bearer " + token) +
                 " -H 'Content-Type: application/json' -d " +
                 Quote("{\"current_password\":\"" + from + "\",\"new_password\":\"" + to + "\"}") +
                 " " + api + "/auth/password")
        .output;
  };
  const std::string first = login(admin_password);
  if (first.empty()) {
    *error = "admin login failed";
    return "";
  }
  if (change(first, admin_password, "Interim-Pw-9") != "204" ||
      change(login("Interim-Pw-9"), "Interim-Pw-9", admin_password) != "204") {
    *error = "admin password change failed";
    return "";
  }
  const std::string token = login(admin_password);
  if (token.empty()) *error = "admin login after the password change failed";
  return token;
}

bool CreateUserViaApi(uint16_t api_port, const std::string& admin_password, const std::string& name,
                      const std::string& password, uint32_t uid, std::string* error) {
  const std::string api = "http://127.0.0.1:" + std::to_string(api_port) + "/api/v1";
  const std::string token = AdminTokenViaApi(api_port, admin_password, error);
  if (token.empty()) return false;
  const std::string auth = " -H " + Quote("Authorization: Bearer " + token) +
                           " -H 'Content-Type: application/json' -o /dev/null -w '%{http_code}'";
  ShellRun user =
      Shell("curl -s -X POST" + auth + " -d " +
            Quote("{\"username\":\"" + name + "\",\"password\":\"" + password +
                  "\",\"uid\":" + std::to_string(uid) + ",\"gid\":" + std::to_string(uid) + "}") +
            " " + api + "/users");
  ShellRun grant =
      Shell("curl -s -X PUT" + auth + " -d " +
            Quote("{\"kind\":\"user\",\"name\":\"" + name + "\",\"level\":\"read-write\"}") + " " +
            api + "/shares/%2Fexport/permissions");
  if (user.output != "201" || grant.output != "200") {
    *error = "user: " + user.output + ", grant: " + grant.output;
    return false;
  }
  return true;
}

std::string PutSettingViaApi(uint16_t api_port, const std::string& token, const std::string& key,
                             const std::string& value) {
  return Shell("curl -s -o /dev/null -w '%{http_code}' -X PUT -H " +
               Quote("Authorization: Bearer " + token) +
               " -H 'Content-Type: application/json' -d " + Quote("{\"value\":\"" + value + "\"}") +
               " http://127.0.0.1:" + std::to_string(api_port) + "/api/v1/settings/" + key)
      .output;
}

}  // namespace dittofs::integration

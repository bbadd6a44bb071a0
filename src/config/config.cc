// SPDX-License-Identifier: Apache-2.0
#include "config/config.h"

#include <yaml-cpp/yaml.h>

#include <charconv>
#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <sstream>

#include "base/log.h"
#include "config/store_layout.h"

namespace dittofs::config {
namespace {

std::string Home(const EnvLookup& env) {
  std::string home;
  if (env("HOME", &home) && !home.empty()) return home;
  return "/root";
}

// One settable key: its YAML path, its environment name, and how to set it from text.
struct Key {
  const char* section;
  const char* name;
  std::function<Status(Config&, const std::string&)> set;
};

Status ParseUint(const std::string& text, uint64_t max, uint64_t* out, bool octal = false) {
  const char* b = text.data();
  const char* e = b + text.size();
  int base = 10;
  if (octal) base = 8;
  auto [p, ec] = std::from_chars(b, e, *out, base);
  if (ec != std::errc() || p != e || *out > max) {
    return Status(Errc::kInvalid, "'" + text + "' is not a number up to " + std::to_string(max));
  }
  return Status::Ok();
}

}  // namespace

Status ParseNfsVersions(const std::string& text, NfsConfig* nfs) {
  bool v3 = false, v40 = false, v41 = false, v42 = false;
  size_t start = 0;
  while (start <= text.size()) {
    size_t comma = text.find(',', start);
    std::string item =
        text.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    item.erase(0, item.find_first_not_of(" \t"));
    item.erase(item.find_last_not_of(" \t") + 1);
    if (item == "3") {
      v3 = true;
    } else if (item == "4.0") {
      v40 = true;
    } else if (item == "4.1") {
      v41 = true;
    } else if (item == "4.2") {
      v42 = true;
    } else if (item == "4") {
      v40 = v41 = v42 = true;
    } else {
      return Status(Errc::kInvalid, "nfs.versions: \"" + item + "\" is not 3, 4, 4.0, 4.1 or 4.2");
    }
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  if (!v3 && !v40 && !v41 && !v42) return Status(Errc::kInvalid, "nfs.versions: no version");
  nfs->v3 = v3;
  nfs->v4_0 = v40;
  nfs->v4_1 = v41;
  nfs->v4_2 = v42;
  return Status::Ok();
}

namespace {

std::string NfsVersionsString(const NfsConfig& nfs) {
  std::string out;
  auto add = [&out](bool on, const char* v) {
    if (!on) return;
    if (!out.empty()) out += ",";
    out += v;
  };
  add(nfs.v3, "3");
  add(nfs.v4_0, "4.0");
  add(nfs.v4_1, "4.1");
  add(nfs.v4_2, "4.2");
  return out;
}

Status ParseBool(const std::string& text, bool* out) {
  if (text == "true" || text == "yes" || text == "on" || text == "1")
    *out = true;
  else if (text == "false" || text == "no" || text == "off" || text == "0")
    *out = false;
  else
    return Status(Errc::kInvalid, "'" + text + "' is not a boolean");
  return Status::Ok();
}

template <typename T>
std::function<Status(Config&, const std::string&)> UintField(T NfsConfig::*field, uint64_t max) {
  return [field, max](Config& c, const std::string& v) {
    uint64_t n;
    RETURN_IF_ERROR(ParseUint(v, max, &n));
    c.nfs.*field = static_cast<T>(n);
    return Status::Ok();
  };
}

template <typename T>
std::function<Status(Config&, const std::string&)> SmbUint(T SmbConfig::*field, uint64_t min,
                                                           uint64_t max) {
  return [field, min, max](Config& c, const std::string& v) {
    uint64_t n;
    RETURN_IF_ERROR(ParseUint(v, max, &n));
    if (n < min)
      return Status(Errc::kInvalid, v + " is below the least allowed, " + std::to_string(min));
    c.smb.*field = static_cast<T>(n);
    return Status::Ok();
  };
}
std::function<Status(Config&, const std::string&)> SmbBool(bool SmbConfig::*field) {
  return [field](Config& c, const std::string& v) { return ParseBool(v, &(c.smb.*field)); };
}
std::function<Status(Config&, const std::string&)> SmbString(std::string SmbConfig::*field) {
  return [field](Config& c, const std::string& v) {
    c.smb.*field = v;
    return Status::Ok();
  };
}

const std::vector<Key>& Keys() {
  static const std::vector<Key> keys = {
      {"logging", "level",
       [](Config& c, const std::string& v) {
         c.logging.level = v;
         return Status::Ok();
       }},
      {"logging", "format",
       [](Config& c, const std::string& v) {
         c.logging.format = v;
         return Status::Ok();
       }},
      {"logging", "file",
       [](Config& c, const std::string& v) {
         c.logging.file = v;
         return Status::Ok();
       }},
      {"server", "state_dir",
       [](Config& c, const std::string& v) {
         c.server.state_dir = v;
         return Status::Ok();
       }},
      {"server", "shutdown_timeout_s",
       [](Config& c, const std::string& v) {
         uint64_t n;
         RETURN_IF_ERROR(ParseUint(v, 3600, &n));
         c.server.shutdown_timeout_s = static_cast<uint32_t>(n);
         return Status::Ok();
       }},
      {"database", "type",
       [](Config& c, const std::string& v) {
         c.database.type = v;
         return Status::Ok();
       }},
      {"database", "path",
       [](Config& c, const std::string& v) {
         c.database.path = v;
         return Status::Ok();
       }},
      {"database", "dsn",
       [](Config& c, const std::string& v) {
         c.database.dsn = v;
         return Status::Ok();
       }},
      {"state_store", "type",
       [](Config& c, const std::string& v) {
         c.state_store.type = v;
         return Status::Ok();
       }},
      {"state_store", "dsn",
       [](Config& c, const std::string& v) {
         c.state_store.dsn = v;
         return Status::Ok();
       }},
      {"state_store", "schema",
       [](Config& c, const std::string& v) {
         c.state_store.schema = v;
         return Status::Ok();
       }},
      {"metrics", "enabled",
       [](Config& c, const std::string& v) { return ParseBool(v, &c.metrics.enabled); }},
      {"metrics", "bind",
       [](Config& c, const std::string& v) {
         c.metrics.bind = v;
         return Status::Ok();
       }},
      {"metrics", "port",
       [](Config& c, const std::string& v) {
         uint64_t n;
         RETURN_IF_ERROR(ParseUint(v, 65535, &n));
         c.metrics.port = static_cast<uint16_t>(n);
         return Status::Ok();
       }},
      {"metrics", "token",
       [](Config& c, const std::string& v) {
         c.metrics.token = v;
         return Status::Ok();
       }},
      {"tracing", "enabled",
       [](Config& c, const std::string& v) { return ParseBool(v, &c.tracing.enabled); }},
      {"tracing", "endpoint",
       [](Config& c, const std::string& v) {
         c.tracing.endpoint = v;
         return Status::Ok();
       }},
      {"tracing", "sampling_ratio",
       [](Config& c, const std::string& v) {
         char* end = nullptr;
         errno = 0;
         const double ratio = std::strtod(v.c_str(), &end);
         if (v.empty() || end != v.c_str() + v.size() || errno != 0 || !(ratio >= 0) ||
             ratio > 1) {
           return Status(Errc::kInvalid, "not a ratio from 0 to 1: " + v);
         }
         c.tracing.sampling_ratio = ratio;
         return Status::Ok();
       }},
      {"tracing", "service_name",
       [](Config& c, const std::string& v) {
         c.tracing.service_name = v;
         return Status::Ok();
       }},
      {"tracing", "authorization",
       [](Config& c, const std::string& v) {
         c.tracing.authorization = v;
         return Status::Ok();
       }},
      {"api", "enabled",
       [](Config& c, const std::string& v) { return ParseBool(v, &c.api.enabled); }},
      {"api", "bind",
       [](Config& c, const std::string& v) {
         c.api.bind = v;
         return Status::Ok();
       }},
      {"api", "port",
       [](Config& c, const std::string& v) {
         uint64_t n;
         RETURN_IF_ERROR(ParseUint(v, 65535, &n));
         c.api.port = static_cast<uint16_t>(n);
         return Status::Ok();
       }},
      {"api", "jwt_secret",
       [](Config& c, const std::string& v) {
         c.api.jwt_secret = v;
         return Status::Ok();
       }},
      {"api", "request_timeout_s",
       [](Config& c, const std::string& v) {
         uint64_t n;
         RETURN_IF_ERROR(ParseUint(v, 3600, &n));
         c.api.request_timeout_s = static_cast<uint32_t>(n);
         return Status::Ok();
       }},
      {"api", "max_connections",
       [](Config& c, const std::string& v) {
         uint64_t n;
         RETURN_IF_ERROR(ParseUint(v, 65536, &n));
         c.api.max_connections = static_cast<uint32_t>(n);
         return Status::Ok();
       }},
      {"nfs", "enabled",
       [](Config& c, const std::string& v) { return ParseBool(v, &c.nfs.enabled); }},
      {"nfs", "bind",
       [](Config& c, const std::string& v) {
         c.nfs.bind = v;
         return Status::Ok();
       }},
      {"nfs", "port", UintField(&NfsConfig::port, 65535)},
      {"nfs", "workers", UintField(&NfsConfig::workers, 1024)},
      {"nfs", "running_workers", UintField(&NfsConfig::running_workers, 1024)},
      {"nfs", "io_threads", UintField(&NfsConfig::io_threads, 64)},
      {"nfs", "max_connections", UintField(&NfsConfig::max_connections, 1u << 20)},
      {"nfs", "max_connections_per_client",
       UintField(&NfsConfig::max_connections_per_client, 1u << 20)},
      {"nfs", "idle_timeout_s", UintField(&NfsConfig::idle_timeout_s, 7 * 24 * 3600)},
      {"nfs", "max_record_size", UintField(&NfsConfig::max_record_size, 64u << 20)},
      {"nfs", "record_timeout_s", UintField(&NfsConfig::record_timeout_s, 3600)},
      {"nfs", "partial_record_budget",
       UintField(&NfsConfig::partial_record_budget, uint64_t{64} << 30)},
      {"nfs", "max_outstanding", UintField(&NfsConfig::max_outstanding, 65536)},
      {"nfs", "poll_us", UintField(&NfsConfig::poll_us, 10'000)},
      {"nfs", "inline_fast_calls",
       [](Config& c, const std::string& v) { return ParseBool(v, &c.nfs.inline_fast_calls); }},
      {"nfs", "udp", [](Config& c, const std::string& v) { return ParseBool(v, &c.nfs.udp); }},
      {"nfs", "portmap",
       [](Config& c, const std::string& v) { return ParseBool(v, &c.nfs.portmap); }},
      {"nfs", "portmap_port", UintField(&NfsConfig::portmap_port, 65535)},
      {"nfs", "rpcbind",
       [](Config& c, const std::string& v) { return ParseBool(v, &c.nfs.rpcbind); }},
      {"nfs", "nlm", [](Config& c, const std::string& v) { return ParseBool(v, &c.nfs.nlm); }},
      {"nfs", "grace_s", UintField(&NfsConfig::grace_s, 3600)},
      {"nfs", "client_portmap_port", UintField(&NfsConfig::client_portmap_port, 65535)},
      {"nfs", "versions",
       [](Config& c, const std::string& v) { return ParseNfsVersions(v, &c.nfs); }},
      {"nfs", "lease_s", UintField(&NfsConfig::lease_s, 3600)},
      {"nfs", "idmap_domain",
       [](Config& c, const std::string& v) {
         if (v.empty() || v.size() > 255 || v.find('@') != std::string::npos) {
           return Status(Errc::kInvalid, "nfs.idmap_domain: a domain name, without '@'");
         }
         c.nfs.idmap_domain = v;
         return Status::Ok();
       }},
      {"nfs", "numeric_ids",
       [](Config& c, const std::string& v) { return ParseBool(v, &c.nfs.numeric_ids); }},
      {"nfs", "delegations",
       [](Config& c, const std::string& v) { return ParseBool(v, &c.nfs.delegations); }},
      // A dotted section is a map inside its parent ("tls:" under "nfs:").
      {"nfs.tls", "cert_file",
       [](Config& c, const std::string& v) {
         c.nfs.tls.cert_file = v;
         return Status::Ok();
       }},
      {"nfs.tls", "key_file",
       [](Config& c, const std::string& v) {
         c.nfs.tls.key_file = v;
         return Status::Ok();
       }},
      {"nfs.tls", "client_ca_file",
       [](Config& c, const std::string& v) {
         c.nfs.tls.client_ca_file = v;
         return Status::Ok();
       }},
      {"nfs.tls", "handshake_timeout_ms",
       [](Config& c, const std::string& v) {
         uint64_t n;
         RETURN_IF_ERROR(ParseUint(v, 600'000, &n));
         c.nfs.tls.handshake_timeout_ms = static_cast<uint32_t>(n);
         return Status::Ok();
       }},
      {"smb", "enabled", SmbBool(&SmbConfig::enabled)},
      {"smb", "bind", SmbString(&SmbConfig::bind)},
      {"smb", "port", SmbUint(&SmbConfig::port, 0, 65535)},
      {"smb", "workers", SmbUint(&SmbConfig::workers, 1, 1024)},
      {"smb", "io_threads", SmbUint(&SmbConfig::io_threads, 1, 64)},
      {"smb", "max_connections", SmbUint(&SmbConfig::max_connections, 1, 1u << 20)},
      {"smb", "max_connections_per_client",
       SmbUint(&SmbConfig::max_connections_per_client, 1, 1u << 20)},
      {"smb", "idle_timeout_s", SmbUint(&SmbConfig::idle_timeout_s, 0, 7 * 24 * 3600)},
      {"smb", "max_io", SmbUint(&SmbConfig::max_io, 65536, 8u << 20)},
      {"smb", "poll_us", SmbUint(&SmbConfig::poll_us, 0, 10'000)},
      {"smb", "require_signing", SmbBool(&SmbConfig::require_signing)},
      {"smb", "encrypt", SmbBool(&SmbConfig::encrypt)},
      {"smb", "allow_guest", SmbBool(&SmbConfig::allow_guest)},
      {"smb", "multichannel", SmbBool(&SmbConfig::multichannel)},
      {"smb", "ntlm", SmbBool(&SmbConfig::ntlm)},
      {"smb", "netbios_name", SmbString(&SmbConfig::netbios_name)},
      {"smb", "domain", SmbString(&SmbConfig::domain)},
      {"kerberos", "keytab",
       [](Config& c, const std::string& v) {
         c.kerberos.keytab = v;
         return Status::Ok();
       }},
      {"kerberos", "service_principal",
       [](Config& c, const std::string& v) {
         c.kerberos.service_principal = v;
         return Status::Ok();
       }},
      {"kerberos", "smb_service_principal",
       [](Config& c, const std::string& v) {
         c.kerberos.smb_service_principal = v;
         return Status::Ok();
       }},
      {"kerberos", "realms",
       [](Config& c, const std::string& v) {
         // A YAML list, or comma-separated (DITTOFS_KERBEROS_REALMS=A.COM,B.COM).
         c.kerberos.realms.clear();
         std::string realm;
         for (size_t i = 0; i <= v.size(); ++i) {
           if (i < v.size() && v[i] != ',') {
             if (v[i] != ' ') realm.push_back(v[i]);
             continue;
           }
           if (!realm.empty()) c.kerberos.realms.push_back(std::move(realm));
           realm.clear();
         }
         return Status::Ok();
       }},
      {"kerberos", "max_contexts",
       [](Config& c, const std::string& v) {
         uint64_t n;
         RETURN_IF_ERROR(ParseUint(v, 1u << 20, &n));
         c.kerberos.max_contexts = static_cast<uint32_t>(n);
         return Status::Ok();
       }},
      {"kerberos", "seq_window",
       [](Config& c, const std::string& v) {
         uint64_t n;
         RETURN_IF_ERROR(ParseUint(v, 1024, &n));
         c.kerberos.seq_window = static_cast<uint32_t>(n);
         return Status::Ok();
       }},
  };
  return keys;
}

Status SetShareKey(ShareConfig& s, const std::string& key, const std::string& v) {
  uint64_t n;
  if (key == "name")
    s.name = v;
  else if (key == "metadata")
    s.metadata = v;
  else if (key == "block")
    s.block = v;
  else if (key == "metadata_dir")
    s.metadata_dir = v;
  else if (key == "metadata_dsn")
    s.metadata_dsn = v;
  else if (key == "metadata_schema")
    s.metadata_schema = v;
  else if (key == "block_dir")
    s.block_dir = v;
  else if (key == "read_only")
    return ParseBool(v, &s.read_only);
  else if (key == "smb_encrypt")
    return ParseBool(v, &s.smb_encrypt);
  else if (key == "smb_require_signing")
    return ParseBool(v, &s.smb_require_signing);
  else if (key == "guest_ok")
    return ParseBool(v, &s.guest_ok);
  else if (key == "smb_access_based_enumeration")
    return ParseBool(v, &s.smb_access_based_enumeration);
  else if (key == "continuously_available")
    return ParseBool(v, &s.continuously_available);
  else if (key == "recycle")
    return ParseBool(v, &s.recycle);
  else if (key == "tls")
    s.tls = v;
  else if (key == "squash")
    s.squash = v;
  else if (key == "default_permission")
    s.default_permission = v;
  else if (key == "names")
    s.names = v;
  else if (key == "anon_uid") {
    RETURN_IF_ERROR(ParseUint(v, 0xffffffffu, &n));
    s.anon_uid = uint32_t(n);
  } else if (key == "anon_gid") {
    RETURN_IF_ERROR(ParseUint(v, 0xffffffffu, &n));
    s.anon_gid = uint32_t(n);
  } else if (key == "root_mode") {
    RETURN_IF_ERROR(ParseUint(v, 07777, &n, true));
    s.root_mode = uint32_t(n);
  } else if (key == "recycle_retention_days") {
    RETURN_IF_ERROR(ParseUint(v, 0xffffffffu, &n));
    s.recycle_retention_days = uint32_t(n);
  } else if (key == "recycle_max_bytes") {
    RETURN_IF_ERROR(ParseUint(v, kMaxRecycleBytes, &s.recycle_max_bytes));
  } else
    return Status(Errc::kInvalid, "unknown share key '" + key + "'");
  return Status::Ok();
}

// "A, B, C".
std::string Joined(const std::vector<std::string>& items) {
  std::string out;
  for (const std::string& item : items) out += (out.empty() ? "" : ", ") + item;
  return out;
}

// A value as text; a sequence ([A, B]) as its items joined with commas, as list keys take them.
std::string Scalar(const YAML::Node& n) {
  if (!n.IsSequence()) return n.as<std::string>();
  std::string joined;
  for (const YAML::Node& item : n) {
    if (!joined.empty()) joined += ',';
    joined += item.as<std::string>();
  }
  return joined;
}

// A share's `tiered:` map as the JSON that ParseTieredBlockConfig reads, so the config file and
// the REST API share one parser. A plain YAML scalar is untyped text: it becomes the JSON type
// its key takes ("3" an integer for zstd_level, a string for dir). A quoted one stays a string.
nlohmann::json TieredYamlToJson(const YAML::Node& node, const std::string& key) {
  if (node.IsMap()) {
    nlohmann::json object = nlohmann::json::object();
    for (auto kv : node) {
      std::string name = kv.first.as<std::string>();
      object[name] = TieredYamlToJson(kv.second, key.empty() ? name : key + "." + name);
    }
    return object;
  }
  if (node.IsSequence()) {
    nlohmann::json array = nlohmann::json::array();
    for (auto item : node) array.push_back(TieredYamlToJson(item, key));
    return array;
  }
  if (!node.IsScalar()) return nullptr;
  const std::string& text = node.Scalar();
  if (node.Tag() == "!") return text;  // quoted
  std::string_view type = TieredBlockConfigKeyType(key);
  if (type == "integer" || type == "size") {
    uint64_t n;
    if (ParseUint(text, UINT64_MAX, &n).ok()) return n;
    if (text.starts_with('-') && ParseUint(text.substr(1), UINT64_MAX, &n).ok()) {
      return -1;  // any negative number: the parser refuses it as out of range
    }
  }
  bool flag;
  if (type == "boolean" && ParseBool(text, &flag).ok()) return flag;
  return text;
}

}  // namespace

EnvLookup ProcessEnv() {
  return [](const char* name, std::string* value) {
    const char* v = std::getenv(name);
    if (!v) return false;
    *value = v;
    return true;
  };
}

std::string DefaultConfigPath(const EnvLookup& env) {
  std::string xdg;
  if (env("XDG_CONFIG_HOME", &xdg) && !xdg.empty()) return xdg + "/dittofs/config.yaml";
  return Home(env) + "/.config/dittofs/config.yaml";
}

std::string DefaultStateDir(const EnvLookup& env) {
  std::string xdg;
  if (env("XDG_STATE_HOME", &xdg) && !xdg.empty()) return xdg + "/dittofs";
  return Home(env) + "/.local/state/dittofs";
}

Config Defaults(const EnvLookup& env) {
  Config c;
  c.server.state_dir = DefaultStateDir(env);
  c.shares.push_back(ShareConfig{});
  return c;
}

Result<Config> ParseConfig(std::string_view yaml, const EnvLookup& env) {
  Config c = Defaults(env);
  try {
    YAML::Node root = YAML::Load(std::string(yaml));
    if (root && !root.IsNull()) {
      if (!root.IsMap()) return Status(Errc::kInvalid, "config: the top level must be a map");
      for (auto section : root) {
        std::string sname = section.first.as<std::string>();
        if (sname == "shares") {
          if (!section.second.IsSequence())
            return Status(Errc::kInvalid, "config: shares must be a list");
          c.shares.clear();
          for (auto item : section.second) {
            if (!item.IsMap()) return Status(Errc::kInvalid, "config: each share must be a map");
            ShareConfig s;
            std::optional<YAML::Node> tiered;
            for (auto kv : item) {
              std::string key = kv.first.as<std::string>();
              if (key == "tiered") {
                tiered = kv.second;
                continue;
              }
              if (key == "security") {
                if (!kv.second.IsSequence()) {
                  return Status(Errc::kInvalid, "config: shares: security must be a list");
                }
                s.security.clear();
                for (auto v : kv.second) s.security.push_back(Scalar(v));
                continue;
              }
              if (key == "allowed_clients" || key == "denied_clients" || key == "recycle_exclude") {
                if (!kv.second.IsSequence()) {
                  return Status(Errc::kInvalid, "config: shares: " + key + " must be a list");
                }
                auto& list = key == "allowed_clients"  ? s.allowed_clients
                             : key == "denied_clients" ? s.denied_clients
                                                       : s.recycle_exclude;
                for (auto v : kv.second) list.push_back(Scalar(v));
                continue;
              }
              Status st = SetShareKey(s, key, Scalar(kv.second));
              if (!st.ok()) return Status(Errc::kInvalid, "config: shares: " + st.message());
            }
            // After the loop, so that the messages can name the share and see its block type.
            if (tiered) {
              std::string where = "config: share " + s.name + ": ";
              if (s.block != "tiered") {
                return Status(Errc::kInvalid,
                              where + "'tiered' is for block: tiered, not " + s.block);
              }
              if (!tiered->IsMap()) return Status(Errc::kInvalid, where + "tiered must be a map");
              Result<TieredBlockConfig> parsed =
                  ParseTieredBlockConfig(TieredYamlToJson(*tiered, "").dump());
              if (!parsed.ok()) return Status(Errc::kInvalid, where + parsed.status().message());
              s.tiered = std::move(*parsed);
            }
            c.shares.push_back(std::move(s));
          }
          continue;
        }
        if (!section.second.IsMap()) {
          return Status(Errc::kInvalid, "config: section '" + sname + "' must be a map");
        }
        for (auto kv : section.second) {
          std::string kname = kv.first.as<std::string>();
          if (kv.second.IsMap()) {  // a sub-section, "tls:" under "nfs:"
            const std::string sub = sname + "." + kname;
            for (auto skv : kv.second) {
              std::string name = skv.first.as<std::string>();
              const Key* key = nullptr;
              for (const Key& k : Keys()) {
                if (sub == k.section && name == k.name) key = &k;
              }
              if (!key) return Status(Errc::kInvalid, "config: unknown key " + sub + "." + name);
              Status st = key->set(c, Scalar(skv.second));
              if (!st.ok()) {
                return Status(Errc::kInvalid, "config: " + sub + "." + name + ": " + st.message());
              }
            }
            continue;
          }
          const Key* key = nullptr;
          for (const Key& k : Keys()) {
            if (sname == k.section && kname == k.name) key = &k;
          }
          if (!key) return Status(Errc::kInvalid, "config: unknown key " + sname + "." + kname);
          Status st = key->set(c, Scalar(kv.second));
          if (!st.ok())
            return Status(Errc::kInvalid, "config: " + sname + "." + kname + ": " + st.message());
        }
      }
    }
  } catch (const YAML::Exception& e) {
    return Status(Errc::kInvalid, std::string("config: ") + e.what());
  }
  for (const Key& k : Keys()) {
    std::string env_name = std::string("DITTOFS_") + k.section + "_" + k.name;
    for (char& ch : env_name) {
      ch = ch == '.' ? '_' : static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
    }
    std::string value;
    if (env(env_name.c_str(), &value)) {
      Status st = k.set(c, value);
      if (!st.ok()) return Status(Errc::kInvalid, env_name + ": " + st.message());
    }
  }
  RETURN_IF_ERROR(Validate(c));
  return c;
}

Result<Config> LoadConfigFile(const std::string& path, const EnvLookup& env) {
  std::ifstream in(path);
  if (!in) return Status(Errc::kNotFound, "cannot read config file " + path);
  std::stringstream ss;
  ss << in.rdbuf();
  Result<Config> c = ParseConfig(ss.str(), env);
  if (!c.ok()) return Status(c.status().code(), path + ": " + c.status().message());
  return c;
}

Status SetKey(Config& config, std::string_view key, const std::string& value) {
  for (const Key& k : Keys()) {
    if (key == std::string(k.section) + "." + k.name) {
      Status st = k.set(config, value);
      if (!st.ok()) return Status(Errc::kInvalid, std::string(key) + ": " + st.message());
      return Status::Ok();
    }
  }
  return Status(Errc::kNotFound, "config: no key " + std::string(key));
}

Status ValidRecycleExclude(const std::vector<std::string>& globs) {
  if (globs.size() > kMaxRecycleExcludes) {
    return Status(Errc::kInvalid, "more than " + std::to_string(kMaxRecycleExcludes) + " globs");
  }
  for (const std::string& glob : globs) {
    if (glob.empty() || glob.size() > kMaxRecycleExcludeBytes ||
        glob.find('\0') != std::string::npos) {
      return Status(Errc::kInvalid, "a glob must be 1 to " +
                                        std::to_string(kMaxRecycleExcludeBytes) +
                                        " bytes without NUL, not \"" + glob + "\"");
    }
  }
  return Status::Ok();
}

Status Validate(const Config& c) {
  log::Level level;
  if (!log::ParseLevel(c.logging.level, &level)) {
    return Status(Errc::kInvalid, "logging.level must be debug, info, warn or error");
  }
  if (c.logging.format != "text" && c.logging.format != "json") {
    return Status(Errc::kInvalid, "logging.format must be text or json");
  }
  if (c.server.state_dir.empty()) return Status(Errc::kInvalid, "server.state_dir is empty");
  if (c.nfs.workers == 0) return Status(Errc::kInvalid, "nfs.workers must be at least 1");
  if (c.database.type != "sqlite" && c.database.type != "postgres") {
    return Status(Errc::kInvalid, "database.type must be sqlite or postgres");
  }
  if (c.database.type == "postgres" && c.database.dsn.empty()) {
    return Status(Errc::kInvalid, "database.dsn is required when database.type is postgres");
  }
  if (c.state_store.type != "rocksdb" && c.state_store.type != "postgres") {
    return Status(Errc::kInvalid, "state_store.type must be rocksdb or postgres");
  }
  if (c.state_store.type == "postgres" && c.state_store.dsn.empty()) {
    return Status(Errc::kInvalid, "state_store.dsn is required when state_store.type is postgres");
  }
  if (Status st = ValidMetadataSchemaPrefix(c.state_store.schema); !st.ok()) {
    return Status(Errc::kInvalid, "state_store.schema: " + st.message());
  }
  if (!c.api.jwt_secret.empty() && c.api.jwt_secret.size() < 32) {
    return Status(Errc::kInvalid, "api.jwt_secret must be at least 32 characters");
  }
  if (c.nfs.max_record_size < 64 * 1024) {
    return Status(Errc::kInvalid, "nfs.max_record_size must be at least 65536");
  }
  if (c.nfs.max_connections == 0 || c.nfs.max_connections_per_client == 0) {
    return Status(Errc::kInvalid,
                  "nfs.max_connections and nfs.max_connections_per_client must be at least 1");
  }
  const NfsConfig::Tls& tls = c.nfs.tls;
  if (tls.cert_file.empty() != tls.key_file.empty()) {
    return Status(Errc::kInvalid, "nfs.tls: cert_file and key_file go together");
  }
  if (!tls.client_ca_file.empty() && tls.cert_file.empty()) {
    return Status(Errc::kInvalid, "nfs.tls.client_ca_file needs cert_file and key_file");
  }
  if (tls.handshake_timeout_ms < 100) {
    return Status(Errc::kInvalid, "nfs.tls.handshake_timeout_ms must be at least 100");
  }
  if (c.kerberos.max_contexts == 0) {
    return Status(Errc::kInvalid, "kerberos.max_contexts must be at least 1");
  }
  if (c.kerberos.seq_window == 0) {
    return Status(Errc::kInvalid, "kerberos.seq_window must be 1..1024");
  }
  if (c.kerberos.enabled() && c.kerberos.keytab.front() != '/') {
    return Status(Errc::kInvalid, "kerberos.keytab must be an absolute path");
  }
  if (c.smb.enabled && !c.smb.ntlm && !c.kerberos.enabled()) {
    return Status(Errc::kInvalid,
                  "smb.ntlm is off but kerberos.keytab is not set: no SMB client could log on");
  }
  if (c.nfs.record_timeout_s == 0) {
    return Status(Errc::kInvalid, "nfs.record_timeout_s must be at least 1");
  }
  if (c.nfs.partial_record_budget < c.nfs.max_record_size) {
    return Status(Errc::kInvalid, "nfs.partial_record_budget must be at least nfs.max_record_size");
  }
  if (c.metrics.enabled && c.metrics.bind.empty()) {
    return Status(Errc::kInvalid, "metrics.bind is empty");
  }
  if (c.tracing.enabled && c.tracing.endpoint.rfind("http://", 0) != 0 &&
      c.tracing.endpoint.rfind("https://", 0) != 0) {
    return Status(Errc::kInvalid, "tracing.endpoint must be an http:// or https:// URL");
  }
  if (c.tracing.enabled && c.tracing.service_name.empty()) {
    return Status(Errc::kInvalid, "tracing.service_name is empty");
  }
  if (c.api.request_timeout_s == 0 || c.api.max_connections == 0) {
    return Status(Errc::kInvalid,
                  "api.request_timeout_s and api.max_connections must be at least 1");
  }
  std::set<std::string> names;
  for (const ShareConfig& s : c.shares) {
    if (s.name.empty() || s.name[0] != '/') {
      return Status(Errc::kInvalid, "share name '" + s.name + "' must start with '/'");
    }
    if (s.name.find("//") != std::string::npos) {
      // As the REST API: "//x" would name the same directories as "/" (config/store_layout.h).
      return Status(Errc::kInvalid, "share name '" + s.name + "' must not contain '//'");
    }
    if (!names.insert(s.name).second) return Status(Errc::kInvalid, "share " + s.name + " twice");
    if (s.metadata != "memory" && s.metadata != "rocksdb" && s.metadata != "postgres") {
      return Status(Errc::kInvalid,
                    "share " + s.name + ": metadata must be memory, rocksdb or postgres");
    }
    if (s.metadata == "postgres" && s.metadata_dsn.empty()) {
      return Status(Errc::kInvalid, "share " + s.name + ": metadata postgres needs metadata_dsn");
    }
    if (Status st = ValidMetadataSchemaPrefix(s.metadata_schema); !st.ok()) {
      return Status(Errc::kInvalid, "share " + s.name + ": " + st.message());
    }
    if (s.block != "memory" && s.block != "localfs" && s.block != "tiered") {
      return Status(Errc::kInvalid,
                    "share " + s.name + ": block must be memory, localfs or tiered");
    }
    if (s.block == "tiered") {
      if (!s.block_dir.empty()) {
        return Status(Errc::kInvalid, "share " + s.name +
                                          ": block_dir is for localfs; a tiered share's "
                                          "journal directory is tiered.dir");
      }
      // A config built in code has not been through the parser; check it the same way.
      Result<TieredBlockConfig> tiered = ParseTieredBlockConfig(TieredBlockConfigToJson(s.tiered));
      if (!tiered.ok()) {
        return Status(Errc::kInvalid, "share " + s.name + ": " + tiered.status().message());
      }
    }
    if (s.squash != "none" && s.squash != "root_to_guest" && s.squash != "root_to_admin" &&
        s.squash != "all_to_guest" && s.squash != "all_to_admin") {
      return Status(Errc::kInvalid, "share " + s.name +
                                        ": squash must be none, root_to_guest, root_to_admin, "
                                        "all_to_guest or all_to_admin");
    }
    if (s.names != "posix" && s.names != "windows") {
      return Status(Errc::kInvalid, "share " + s.name + ": names must be posix or windows");
    }
    if (s.tls != "off" && s.tls != "opportunistic" && s.tls != "required") {
      return Status(Errc::kInvalid,
                    "share " + s.name + ": tls must be off, opportunistic or required");
    }
    if (s.security.empty()) {
      return Status(Errc::kInvalid, "share " + s.name + ": security lists no flavor");
    }
    for (const std::string& flavor : s.security) {
      if (flavor != "sys" && flavor != "krb5" && flavor != "krb5i" && flavor != "krb5p") {
        return Status(Errc::kInvalid, "share " + s.name + ": security flavor " + flavor +
                                          " is not one of sys, krb5, krb5i, krb5p");
      }
      if (flavor != "sys" && !c.kerberos.enabled()) {
        return Status(Errc::kInvalid,
                      "share " + s.name + ": security " + flavor + " needs kerberos.keytab");
      }
    }
    if (s.tls == "required" && !tls.enabled()) {
      return Status(Errc::kInvalid, "share " + s.name +
                                        ": tls is required, but nfs.tls.cert_file is not set "
                                        "(NFS clients could never reach it)");
    }
    if (s.recycle_max_bytes > kMaxRecycleBytes) {
      return Status(Errc::kInvalid, "share " + s.name + ": recycle_max_bytes is over " +
                                        std::to_string(kMaxRecycleBytes));
    }
    if (Status st = ValidRecycleExclude(s.recycle_exclude); !st.ok()) {
      return Status(Errc::kInvalid, "share " + s.name + ": recycle_exclude: " + st.message());
    }
    if (s.default_permission != "none" && s.default_permission != "read" &&
        s.default_permission != "read-write" && s.default_permission != "admin") {
      return Status(
          Errc::kInvalid,
          "share " + s.name + ": default_permission must be none, read, read-write or admin");
    }
  }
  return Status::Ok();
}

std::string JsonSchema() {
  // Types of the keys that are not strings.
  static const std::map<std::string, std::string> kTypes = {
      {"server.shutdown_timeout_s", "integer"},
      {"api.enabled", "boolean"},
      {"api.port", "integer"},
      {"api.request_timeout_s", "integer"},
      {"api.max_connections", "integer"},
      {"nfs.enabled", "boolean"},
      {"nfs.port", "integer"},
      {"nfs.workers", "integer"},
      {"nfs.running_workers", "integer"},
      {"nfs.io_threads", "integer"},
      {"nfs.max_connections", "integer"},
      {"nfs.max_connections_per_client", "integer"},
      {"nfs.idle_timeout_s", "integer"},
      {"nfs.max_record_size", "integer"},
      {"nfs.record_timeout_s", "integer"},
      {"nfs.partial_record_budget", "integer"},
      {"nfs.max_outstanding", "integer"},
      {"nfs.inline_fast_calls", "boolean"},
      {"nfs.poll_us", "integer"},
      {"nfs.udp", "boolean"},
      {"nfs.portmap", "boolean"},
      {"nfs.portmap_port", "integer"},
      {"nfs.rpcbind", "boolean"},
      {"nfs.nlm", "boolean"},
      {"nfs.grace_s", "integer"},
      {"nfs.client_portmap_port", "integer"},
      {"nfs.versions", "string"},
      {"nfs.lease_s", "integer"},
      {"nfs.idmap_domain", "string"},
      {"nfs.numeric_ids", "boolean"},
      {"nfs.delegations", "boolean"},
      {"smb.enabled", "boolean"},
      {"smb.port", "integer"},
      {"smb.workers", "integer"},
      {"smb.io_threads", "integer"},
      {"smb.max_connections", "integer"},
      {"smb.max_connections_per_client", "integer"},
      {"smb.idle_timeout_s", "integer"},
      {"smb.max_io", "integer"},
      {"smb.poll_us", "integer"},
      {"smb.require_signing", "boolean"},
      {"smb.encrypt", "boolean"},
      {"smb.allow_guest", "boolean"},
      {"smb.multichannel", "boolean"},
      {"smb.ntlm", "boolean"},
      {"nfs.tls.handshake_timeout_ms", "integer"},
      {"kerberos.max_contexts", "integer"},
      {"kerberos.seq_window", "integer"},
      {"kerberos.realms", "array"},
      {"metrics.enabled", "boolean"},
      {"metrics.port", "integer"},
      {"tracing.enabled", "boolean"},
      {"tracing.sampling_ratio", "number"},
  };
  std::map<std::string, std::vector<std::string>> sections;
  for (const Key& k : Keys()) sections[k.section].push_back(k.name);
  std::ostringstream o;
  o << "{\"$schema\":\"https://json-schema.org/draft/2020-12/schema\",\"title\":\"DittoFS "
       "server configuration\",\"type\":\"object\",\"additionalProperties\":false,"
       "\"properties\":{";
  bool first_section = true;
  auto properties = [&](const std::string& section, const std::vector<std::string>& names) {
    for (size_t i = 0; i < names.size(); ++i) {
      auto t = kTypes.find(section + "." + names[i]);
      o << (i ? "," : "") << "\"" << names[i] << "\":{\"type\":\""
        << (t == kTypes.end() ? "string" : t->second) << "\"}";
    }
  };
  for (const auto& [section, names] : sections) {
    if (section.find('.') != std::string::npos) continue;  // inside its parent, below
    o << (first_section ? "" : ",") << "\"" << section
      << "\":{\"type\":\"object\",\"additionalProperties\":false,\"properties\":{";
    first_section = false;
    properties(section, names);
    for (const auto& [sub, sub_names] : sections) {
      if (sub.rfind(section + ".", 0) != 0) continue;
      o << ",\"" << sub.substr(section.size() + 1)
        << "\":{\"type\":\"object\",\"additionalProperties\":false,\"properties\":{";
      properties(sub, sub_names);
      o << "}}";
    }
    o << "}}";
  }
  o << ",\"shares\":{\"type\":\"array\",\"items\":{\"type\":\"object\","
       "\"additionalProperties\":false,\"required\":[\"name\"],\"properties\":{"
       "\"name\":{\"type\":\"string\",\"pattern\":\"^/\"},"
       "\"metadata\":{\"enum\":[\"memory\",\"rocksdb\",\"postgres\"]},"
       "\"metadata_dir\":{\"type\":\"string\"},\"metadata_dsn\":{\"type\":\"string\"},"
       "\"metadata_schema\":{\"type\":\"string\",\"pattern\":\"^[a-z_][a-z0-9_]{0,29}$\"},"
       "\"block\":{\"enum\":[\"memory\",\"localfs\",\"tiered\"]},"
       "\"block_dir\":{\"type\":\"string\"},\"tiered\":"
    << TieredBlockConfigJsonSchema()
    << ",\"read_only\":{\"type\":\"boolean\"},"
       "\"squash\":{\"enum\":[\"none\",\"root_to_guest\",\"root_to_admin\",\"all_to_guest\","
       "\"all_to_admin\"]},"
       "\"anon_uid\":{\"type\":\"integer\"},\"anon_gid\":{\"type\":\"integer\"},"
       "\"root_mode\":{\"type\":\"string\",\"pattern\":\"^[0-7]{1,4}$\"},"
       "\"default_permission\":{\"enum\":[\"none\",\"read\",\"read-write\",\"admin\"]},"
       "\"names\":{\"enum\":[\"posix\",\"windows\"]},"
       "\"smb_encrypt\":{\"type\":\"boolean\"},\"smb_require_signing\":{\"type\":\"boolean\"},"
       "\"guest_ok\":{\"type\":\"boolean\"},"
       "\"smb_access_based_enumeration\":{\"type\":\"boolean\"},"
       "\"continuously_available\":{\"type\":\"boolean\"},"
       "\"tls\":{\"enum\":[\"off\",\"opportunistic\",\"required\"]},"
       "\"security\":{\"type\":\"array\",\"items\":{\"enum\":[\"sys\",\"krb5\",\"krb5i\","
       "\"krb5p\"]}},"
       "\"recycle\":{\"type\":\"boolean\"},"
       "\"recycle_retention_days\":{\"type\":\"integer\",\"minimum\":0,\"maximum\":4294967295},"
       "\"recycle_max_bytes\":{\"type\":\"integer\",\"minimum\":0,"
       "\"maximum\":9223372036854775807},"
       "\"recycle_exclude\":{\"type\":\"array\",\"maxItems\":64,\"items\":{\"type\":"
       "\"string\",\"minLength\":1}},"
       "\"allowed_clients\":{\"type\":\"array\",\"items\":{\"type\":\"string\"}},"
       "\"denied_clients\":{\"type\":\"array\",\"items\":{\"type\":\"string\"}}}}}}}";
  return o.str();
}

std::string RenderConfig(const Config& c) {
  std::ostringstream o;
  o << "# DittoFS server configuration.\n"
       "# Every key can be overridden by an environment variable DITTOFS_<SECTION>_<KEY>,\n"
       "# e.g. DITTOFS_NFS_PORT=2049 or DITTOFS_LOGGING_LEVEL=debug.\n\n"
       "logging:\n"
       "  level: "
    << c.logging.level
    << "        # debug | info | warn | error\n"
       "  format: "
    << c.logging.format
    << "       # text | json (one JSON object per line)\n"
       "  file: \""
    << c.logging.file
    << "\"          # empty: standard error\n\n"
       "server:\n"
       "  state_dir: \""
    << c.server.state_dir
    << "\"   # data directory\n"
       "  shutdown_timeout_s: "
    << c.server.shutdown_timeout_s
    << "   # how long in-flight calls may finish at SIGTERM\n\n"
       "database:\n"
       "  type: "
    << c.database.type
    << "          # sqlite | postgres\n"
       "  path: \""
    << c.database.path
    << "\"            # sqlite file; empty: <state_dir>/controlplane.db\n"
       "  dsn: \""
    << c.database.dsn
    << "\"             # postgres: libpq connection string\n\n"
       "state_store:        # client records, NSM hosts, durable handles (docs/state.md)\n"
       "  type: "
    << c.state_store.type
    << "         # rocksdb (<state_dir>/state) | postgres\n"
       "  dsn: \""
    << c.state_store.dsn
    << "\"             # postgres: libpq connection string\n"
       "  schema: "
    << c.state_store.schema
    << "  # postgres: this node's schema (each node its own)\n\n"
       "metrics:            # Prometheus: GET /metrics (docs/metrics.md)\n"
       "  enabled: "
    << (c.metrics.enabled ? "true" : "false")
    << "\n"
       "  bind: \""
    << c.metrics.bind
    << "\"\n"
       "  port: "
    << c.metrics.port
    << "\n"
       "  token: \""
    << c.metrics.token
    << "\"          # when set, scrapers send Authorization: Bearer <token>\n\n"
       "tracing:            # OpenTelemetry over OTLP/HTTP JSON (docs/tracing.md)\n"
       "  enabled: "
    << (c.tracing.enabled ? "true" : "false")
    << "\n"
       "  endpoint: \""
    << c.tracing.endpoint
    << "\"\n"
       "  sampling_ratio: "
    << c.tracing.sampling_ratio
    << "      # of requests without a sampled W3C traceparent\n"
       "  service_name: \""
    << c.tracing.service_name
    << "\"\n"
       "  authorization: \""
    << c.tracing.authorization
    << "\"  # when set, the Authorization header of each export\n\n"
       "api:\n"
       "  enabled: "
    << (c.api.enabled ? "true" : "false")
    << "\n"
       "  bind: \""
    << c.api.bind
    << "\"    # loopback: only this machine reaches the API\n"
       "  port: "
    << c.api.port
    << "            # REST API (dfsctl talks to it)\n"
       "  jwt_secret: \""
    << c.api.jwt_secret
    << "\"  # signs API tokens; keep it secret\n"
       "  request_timeout_s: "
    << c.api.request_timeout_s
    << "  # a request, headers and body, must arrive within this long\n"
       "  max_connections: "
    << c.api.max_connections
    << "   # open at once; at the cap the one waiting longest is closed\n\n"
       "nfs:\n"
       "  enabled: "
    << (c.nfs.enabled ? "true" : "false")
    << "\n"
       "  bind: \""
    << c.nfs.bind
    << "\"       # address to listen on\n"
       "  port: "
    << c.nfs.port
    << "            # NFSv3 and MOUNT v3 share this TCP port\n"
       "  workers: "
    << c.nfs.workers
    << "              # threads running calls\n"
       "  running_workers: "
    << c.nfs.running_workers
    << "      # of those, how many run at once (0: all)\n"
       "  io_threads: "
    << c.nfs.io_threads
    << "           # threads doing network I/O\n"
       "  max_connections: "
    << c.nfs.max_connections
    << "     # at the cap, the connection idle longest makes room for a new one\n"
       "  max_connections_per_client: "
    << c.nfs.max_connections_per_client
    << "  # from one client address\n"
       "  idle_timeout_s: "
    << c.nfs.idle_timeout_s
    << "       # close a connection with nothing in flight after this long (0: never)\n"
       "  max_record_size: "
    << c.nfs.max_record_size
    << "  # largest RPC record accepted (bytes)\n"
       "  record_timeout_s: "
    << c.nfs.record_timeout_s
    << "      # a record must arrive whole within this long\n"
       "  partial_record_budget: "
    << c.nfs.partial_record_budget
    << "  # bytes of records still arriving, all connections together\n"
       "  max_outstanding: "
    << c.nfs.max_outstanding
    << "    # calls in flight per connection\n"
       "  inline_fast_calls: "
    << (c.nfs.inline_fast_calls ? "true" : "false")
    << "  # answer metadata reads on the I/O thread: lower latency\n"
       "  poll_us: "
    << c.nfs.poll_us
    << "            # after each request the I/O thread polls this long (microseconds) before\n"
       "                         # it sleeps: a client's next call finds it awake (0: off)\n"
       "  udp: "
    << (c.nfs.udp ? "true" : "false")
    << "              # also serve NFS and MOUNT over UDP on the same port number\n"
       "  portmap: "
    << (c.nfs.portmap ? "true" : "false")
    << "          # the embedded port mapper (rpcbind), for clients that name no ports\n"
       "  portmap_port: "
    << c.nfs.portmap_port
    << "     # its TCP and UDP port (111 for clients that cannot be told it)\n"
       "  rpcbind: "
    << (c.nfs.rpcbind ? "true" : "false")
    << "          # also register with the host's rpcbind (127.0.0.1:111)\n"
       "  nlm: "
    << (c.nfs.nlm ? "true" : "false")
    << "              # NFSv3 locking (NLM and NSM) on the NFS port\n"
       "  grace_s: "
    << c.nfs.grace_s
    << "            # after a restart, how long clients have to reclaim their locks\n"
       "  client_portmap_port: "
    << c.nfs.client_portmap_port
    << "  # clients' port mappers, for lock callbacks\n"
       "  versions: "
    << NfsVersionsString(c.nfs)
    << "    # NFS versions served: 3, 4.0, 4.1, 4.2\n"
       "  lease_s: "
    << c.nfs.lease_s
    << "            # NFSv4 lease: clients renew their state within this long\n"
       "  idmap_domain: "
    << c.nfs.idmap_domain
    << "  # NFSv4 owners are user@idmap_domain (unless numeric_ids)\n"
       "  numeric_ids: "
    << (c.nfs.numeric_ids ? "true" : "false")
    << "      # NFSv4 owners sent as numbers, as Linux's server does for AUTH_SYS\n"
       "  delegations: "
    << (c.nfs.delegations ? "true" : "false")
    << "      # NFSv4 read and write delegations (caching grants)\n"
       "  # NFS over TLS (RFC 9289), offered when cert_file and key_file are set; the files\n"
       "  # are reloaded when they change. client_ca_file: clients must present a certificate\n"
       "  # it signed (mutual TLS).\n"
       "  tls:\n"
       "    cert_file: \""
    << c.nfs.tls.cert_file << "\"\n    key_file: \"" << c.nfs.tls.key_file
    << "\"\n    client_ca_file: \"" << c.nfs.tls.client_ca_file
    << "\"\n    handshake_timeout_ms: " << c.nfs.tls.handshake_timeout_ms
    << "\n\n"
       "# Kerberos V5 for NFS (RPCSEC_GSS) and SMB (SPNEGO), served when keytab is set (an\n"
       "# absolute path; the file is reread when it changes). service_principal and\n"
       "# smb_service_principal: accept as this one only (empty: any in the keytab).\n"
       "kerberos:\n"
       "  keytab: \""
    << c.kerberos.keytab << "\"\n  service_principal: \"" << c.kerberos.service_principal
    << "\"\n  smb_service_principal: \"" << c.kerberos.smb_service_principal << "\"\n  realms: ["
    << Joined(c.kerberos.realms) << "]"
    << "\n  max_contexts: " << c.kerberos.max_contexts
    << "\n  seq_window: " << c.kerberos.seq_window
    << "\n\n"
       "smb:\n"
       "  enabled: "
    << (c.smb.enabled ? "true" : "false")
    << "\n"
       "  bind: \""
    << c.smb.bind
    << "\"       # address to listen on\n"
       "  port: "
    << c.smb.port
    << "            # SMB2/3 over TCP (Windows and macOS need 445)\n"
       "  workers: "
    << c.smb.workers
    << "\n"
       "  io_threads: "
    << c.smb.io_threads
    << "\n"
       "  max_connections: "
    << c.smb.max_connections
    << "\n"
       "  max_connections_per_client: "
    << c.smb.max_connections_per_client
    << "\n"
       "  idle_timeout_s: "
    << c.smb.idle_timeout_s
    << "\n"
       "  max_io: "
    << c.smb.max_io
    << "          # largest READ/WRITE (bytes)\n"
       "  poll_us: "
    << c.smb.poll_us
    << "          # the I/O thread polls this long after a request before it sleeps (0: off)\n"
       "  require_signing: "
    << (c.smb.require_signing ? "true" : "false")
    << "  # every session signs every message\n"
       "  encrypt: "
    << (c.smb.encrypt ? "true" : "false")
    << "          # every session encrypts (SMB 3 clients only)\n"
       "  allow_guest: "
    << (c.smb.allow_guest ? "true" : "false")
    << "      # guest and anonymous sessions, on every share\n"
       "  multichannel: "
    << (c.smb.multichannel ? "true" : "false")
    << "     # SMB 3 sessions may bind more connections (MS-SMB2 multichannel)\n"
       "  ntlm: "
    << (c.smb.ntlm ? "true" : "false")
    << "             # NTLMv2 logons (false: Kerberos only)\n"
       "  netbios_name: \""
    << c.smb.netbios_name
    << "\"\n"
       "  domain: \""
    << c.smb.domain
    << "\"\n\n"
       "# Each share is exported under its name. Stores:\n"
       "#   metadata: rocksdb (durable, under metadata_dir) | memory (lost when the server "
       "stops)\n"
       "#           | postgres (PostgreSQL at metadata_dsn, a schema per share named\n"
       "#             <metadata_schema>_<share>; shared by dfs nodes that use one database)\n"
       "#   block: memory | localfs (file data in files under block_dir)\n"
       "#        | tiered (a local journal, the cache, in front of a durable remote: fs or s3;\n"
       "#          data is uploaded as deduplicated, compressed, optionally encrypted chunks;\n"
       "#          see docs/configuration.md)\n"
       "# squash: none | root_to_guest | root_to_admin | all_to_guest | all_to_admin\n"
       "#   (guest = anon_uid/anon_gid; admin = root, uid 0)\n"
       "# allowed_clients / denied_clients: lists of CIDRs (denied wins; no allowed list: all)\n"
       "# default_permission: none | read | read-write | admin (for every user)\n"
       "# names: posix (any bytes but / and NUL, case-sensitive) | windows (no \\ : * ? \" < > |\n"
       "#   nor control characters; found whatever their case, kept as created)\n"
       "# smb_encrypt: SMB 3 sessions encrypt everything on the share; SMB 2 sessions are "
       "refused\n"
       "# smb_require_signing: SMB sessions that use the share sign every message\n"
       "# guest_ok: guest and anonymous SMB sessions may use the share (as anon_uid/anon_gid)\n"
       "# smb_access_based_enumeration: SMB directory listings show only what the caller may\n"
       "#   open\n"
       "# continuously_available: SMB 3 clients may ask for persistent handles, whose opens,\n"
       "#   locks and leases outlive a restart of dfs\n"
       "# tls: off, opportunistic or required (NFS calls without TLS are refused)\n"
       "# security: the NFS flavors accepted: sys, krb5, krb5i, krb5p (Kerberos needs kerberos:)\n"
       "# recycle: removed files move to #recycle at the share's root instead of going\n"
       "#   (docs/recycle.md); recycle_retention_days: how long they are kept there (0: no\n"
       "#   limit); recycle_max_bytes: the bin's size cap, the oldest go first (0: no cap);\n"
       "#   recycle_exclude: fnmatch globs of names or paths (\"*.tmp\", \"build/*\") that\n"
       "#   are removed for good\n"
       "shares:\n";
  for (const ShareConfig& s : c.shares) {
    char mode[8];
    std::snprintf(mode, sizeof(mode), "%04o", s.root_mode);
    o << "  - name: " << s.name << "\n"
      << "    metadata: " << s.metadata << "\n";
    if (!s.metadata_dir.empty()) o << "    metadata_dir: \"" << s.metadata_dir << "\"\n";
    if (s.metadata == "postgres") {
      o << "    metadata_dsn: \"" << s.metadata_dsn << "\"\n"
        << "    metadata_schema: " << s.metadata_schema << "\n";
    }
    o << "    block: " << s.block << "\n";
    if (!s.block_dir.empty()) o << "    block_dir: \"" << s.block_dir << "\"\n";
    if (s.block == "tiered") o << "    tiered:\n" << RenderTieredBlockConfig(s.tiered, "      ");
    o << "    read_only: " << (s.read_only ? "true" : "false") << "\n"
      << "    squash: " << s.squash << "\n"
      << "    anon_uid: " << s.anon_uid << "\n"
      << "    anon_gid: " << s.anon_gid << "\n"
      << "    root_mode: \"" << mode << "\"   # mode of the share's root when first created\n"
      << "    default_permission: " << s.default_permission << "\n"
      << "    names: " << s.names << "\n"
      << "    smb_encrypt: " << (s.smb_encrypt ? "true" : "false") << "\n"
      << "    smb_require_signing: " << (s.smb_require_signing ? "true" : "false") << "\n"
      << "    guest_ok: " << (s.guest_ok ? "true" : "false") << "\n"
      << "    smb_access_based_enumeration: " << (s.smb_access_based_enumeration ? "true" : "false")
      << "\n"
      << "    continuously_available: " << (s.continuously_available ? "true" : "false") << "\n"
      << "    tls: " << s.tls << "\n"
      << "    recycle: " << (s.recycle ? "true" : "false") << "\n"
      << "    recycle_retention_days: " << s.recycle_retention_days << "\n"
      << "    recycle_max_bytes: " << s.recycle_max_bytes << "\n";
    // Double-quoted YAML scalars, escaped: a glob may hold a backslash or a quote.
    auto list = [&](const char* key, const std::vector<std::string>& v) {
      o << "    " << key << ": [";
      for (size_t i = 0; i < v.size(); ++i) {
        o << (i ? ", " : "") << "\"";
        for (char ch : v[i]) o << (ch == '"' || ch == '\\' ? "\\" : "") << ch;
        o << "\"";
      }
      o << "]\n";
    };
    list("security", s.security);
    list("allowed_clients", s.allowed_clients);
    list("denied_clients", s.denied_clients);
    list("recycle_exclude", s.recycle_exclude);
  }
  return o.str();
}

}  // namespace dittofs::config

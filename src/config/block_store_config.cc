// SPDX-License-Identifier: Apache-2.0
#include "config/block_store_config.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstdint>
#include <limits>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

namespace dittofs::config {
namespace {

using json = nlohmann::json;
using ordered_json = nlohmann::ordered_json;

constexpr uint64_t kKiB = uint64_t{1} << 10;
constexpr uint64_t kMiB = uint64_t{1} << 20;
constexpr uint64_t kGiB = uint64_t{1} << 30;
constexpr uint64_t kTiB = uint64_t{1} << 40;
constexpr uint64_t kNoLimit = std::numeric_limits<uint64_t>::max();
// Durations become std::chrono nanoseconds (int64_t) somewhere; keep them convertible.
constexpr uint64_t kMaxMillis = std::numeric_limits<int64_t>::max() / 1'000'000;
constexpr size_t kMaxPathBytes = 4096;
constexpr size_t kMaxTextBytes = 1024;

Status Invalid(std::string message) {
  return Status(Errc::kInvalid, "tiered block store: " + std::move(message));
}

enum class Kind {
  kString,   // any string up to kMaxTextBytes, or one of `choices`
  kPath,     // empty, or an absolute path
  kEnvName,  // an environment variable's name
  kSize,     // bytes: an integer, or a string with a unit
  kInteger,
  kBoolean,
};

// Where a key's value lives in a TieredBlockConfig.
using Target = std::variant<std::string*, uint64_t*, uint32_t*, int*, bool*>;

// One key of the config. The table below drives parsing, the canonical JSON, the YAML rendering
// and the JSON Schema, so they cannot disagree.
struct Field {
  std::string_view key;  // "remote.endpoint" for a key of the nested remote object
  Kind kind;
  uint64_t min = 0;  // integers and sizes
  uint64_t max = kNoLimit;
  std::vector<std::string_view> choices = {};  // kString: the allowed values; empty = any
  std::string_view remote_type = {};           // a remote key that only this remote type takes
  std::string_view help = {};                  // the YAML rendering's comment
  Target (*at)(TieredBlockConfig&) = nullptr;
};

const std::vector<Field>& Fields() {
  static const std::vector<Field> fields = {
      {.key = "dir",
       .kind = Kind::kPath,
       .help = "journal (local cache) directory; empty: <state_dir>/blocks/<share>",
       .at = [](TieredBlockConfig& c) -> Target { return &c.dir; }},
      {.key = "cache_size",
       .kind = Kind::kSize,
       .min = 64 * kMiB,
       .help = "journal capacity: the local cache of file data",
       .at = [](TieredBlockConfig& c) -> Target { return &c.cache_size; }},
      {.key = "segment_size",
       .kind = Kind::kSize,
       .min = 64 * kKiB,
       .max = kGiB,
       .help = "journal segment files: a new one starts past this size",
       .at = [](TieredBlockConfig& c) -> Target { return &c.segment_size; }},
      {.key = "remote.type",
       .kind = Kind::kString,
       .choices = {"memory", "fs", "s3"},
       .help = "where chunks are kept durably: fs | s3 | memory (lost at exit; for tests)",
       .at = [](TieredBlockConfig& c) -> Target { return &c.remote.type; }},
      {.key = "remote.path",
       .kind = Kind::kPath,
       .remote_type = "fs",
       .help = "fs: directory; empty: <state_dir>/remote/<share>",
       .at = [](TieredBlockConfig& c) -> Target { return &c.remote.path; }},
      {.key = "remote.endpoint",
       .kind = Kind::kString,
       .remote_type = "s3",
       .help = "required, e.g. https://s3.eu-west-1.amazonaws.com or http://127.0.0.1:9000",
       .at = [](TieredBlockConfig& c) -> Target { return &c.remote.endpoint; }},
      {.key = "remote.region",
       .kind = Kind::kString,
       .remote_type = "s3",
       .help = "signing region",
       .at = [](TieredBlockConfig& c) -> Target { return &c.remote.region; }},
      {.key = "remote.bucket",
       .kind = Kind::kString,
       .remote_type = "s3",
       .help = "required",
       .at = [](TieredBlockConfig& c) -> Target { return &c.remote.bucket; }},
      {.key = "remote.prefix",
       .kind = Kind::kString,
       .remote_type = "s3",
       .help = "key prefix inside the bucket; may be empty",
       .at = [](TieredBlockConfig& c) -> Target { return &c.remote.prefix; }},
      {.key = "remote.path_style",
       .kind = Kind::kBoolean,
       .remote_type = "s3",
       .help = "true: endpoint/bucket/key; false: virtual-host style bucket.endpoint/key",
       .at = [](TieredBlockConfig& c) -> Target { return &c.remote.path_style; }},
      {.key = "remote.access_key_id",
       .kind = Kind::kString,
       .remote_type = "s3",
       .help = "empty: $AWS_ACCESS_KEY_ID of the server",
       .at = [](TieredBlockConfig& c) -> Target { return &c.remote.access_key_id; }},
      {.key = "remote.secret_access_key",
       .kind = Kind::kString,
       .remote_type = "s3",
       .help = "empty: $AWS_SECRET_ACCESS_KEY of the server",
       .at = [](TieredBlockConfig& c) -> Target { return &c.remote.secret_access_key; }},
      {.key = "compression",
       .kind = Kind::kString,
       .choices = {"none", "lz4", "zstd"},
       .help = "of uploaded objects: none | lz4 | zstd",
       .at = [](TieredBlockConfig& c) -> Target { return &c.compression; }},
      {.key = "zstd_level",
       .kind = Kind::kInteger,
       .min = 1,
       .max = 19,
       .help = "1 (fast) .. 19 (small)",
       .at = [](TieredBlockConfig& c) -> Target { return &c.zstd_level; }},
      {.key = "encryption",
       .kind = Kind::kString,
       .choices = {"none", "aes-256-gcm", "chacha20-poly1305"},
       .help = "of uploaded objects: none | aes-256-gcm | chacha20-poly1305",
       .at = [](TieredBlockConfig& c) -> Target { return &c.encryption; }},
      {.key = "key_file",
       .kind = Kind::kPath,
       .help = "encryption key file; empty: <state_dir>/keys/<share>.key",
       .at = [](TieredBlockConfig& c) -> Target { return &c.key_file; }},
      {.key = "passphrase_env",
       .kind = Kind::kEnvName,
       .help = "environment variable holding the key file's passphrase",
       .at = [](TieredBlockConfig& c) -> Target { return &c.passphrase_env; }},
      {.key = "chunk_min",
       .kind = Kind::kSize,
       .min = 64,
       .max = 64 * kMiB,
       .help = "content-defined chunk sizes (min < avg < max); fixed once data is stored",
       .at = [](TieredBlockConfig& c) -> Target { return &c.chunk_min; }},
      {.key = "chunk_avg",
       .kind = Kind::kSize,
       .min = 64,
       .max = 64 * kMiB,
       .at = [](TieredBlockConfig& c) -> Target { return &c.chunk_avg; }},
      {.key = "chunk_max",
       .kind = Kind::kSize,
       .min = 64,
       .max = 64 * kMiB,
       .at = [](TieredBlockConfig& c) -> Target { return &c.chunk_max; }},
      {.key = "object_size",
       .kind = Kind::kSize,
       .min = kMiB,
       .max = kGiB,
       .help = "chunks are packed into remote objects of about this size",
       .at = [](TieredBlockConfig& c) -> Target { return &c.object_size; }},
      {.key = "carve_dirty_bytes",
       .kind = Kind::kSize,
       .min = kMiB,
       .help = "a file is uploaded once it holds this much new data ...",
       .at = [](TieredBlockConfig& c) -> Target { return &c.carve_dirty_bytes; }},
      {.key = "carve_after_ms",
       .kind = Kind::kInteger,
       .max = kMaxMillis,
       .help = "... or once its oldest new write is this old",
       .at = [](TieredBlockConfig& c) -> Target { return &c.carve_after_ms; }},
      {.key = "upload_parallelism",
       .kind = Kind::kInteger,
       .min = 1,
       .max = 64,
       .help = "uploads in flight at once",
       .at = [](TieredBlockConfig& c) -> Target { return &c.upload_parallelism; }},
      {.key = "gc_grace_ms",
       .kind = Kind::kInteger,
       .max = kMaxMillis,
       .help = "an unreferenced remote object is deleted after this long",
       .at = [](TieredBlockConfig& c) -> Target { return &c.gc_grace_ms; }},
      {.key = "gc_interval_ms",
       .kind = Kind::kInteger,
       .min = 100,
       .max = kMaxMillis,
       .help = "how often garbage collection runs",
       .at = [](TieredBlockConfig& c) -> Target { return &c.gc_interval_ms; }},
      {.key = "reconcile_interval_ms",
       .kind = Kind::kInteger,
       .min = 1000,
       .max = kMaxMillis,
       .help = "how often the remote is checked against the chunk index",
       .at = [](TieredBlockConfig& c) -> Target { return &c.reconcile_interval_ms; }},
  };
  return fields;
}

const Field* FindField(std::string_view key) {
  for (const Field& field : Fields()) {
    if (field.key == key) return &field;
  }
  return nullptr;
}

// "64MiB" for 67108864; bytes when no binary unit divides it.
std::string FormatSize(uint64_t bytes) {
  for (auto [unit, name] : {std::pair{kTiB, "TiB"}, {kGiB, "GiB"}, {kMiB, "MiB"}, {kKiB, "KiB"}}) {
    if (bytes >= unit && bytes % unit == 0) return fmt::format("{}{}", bytes / unit, name);
  }
  return std::to_string(bytes);
}

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(a[i])) !=
        std::tolower(static_cast<unsigned char>(b[i]))) {
      return false;
    }
  }
  return true;
}

// "4096", "4096B", "512KiB", "64 MiB", "1GB" (10^9). Units are case-insensitive.
std::optional<uint64_t> ParseSizeText(std::string_view text) {
  const char* begin = text.data();
  const char* end = begin + text.size();
  uint64_t number = 0;
  auto [digits_end, error] = std::from_chars(begin, end, number);
  if (error != std::errc() || digits_end == begin) return std::nullopt;
  std::string_view unit(digits_end, static_cast<size_t>(end - digits_end));
  while (!unit.empty() && unit.front() == ' ') unit.remove_prefix(1);
  static constexpr std::pair<std::string_view, uint64_t> kUnits[] = {
      {"", 1},
      {"B", 1},
      {"KiB", kKiB},
      {"MiB", kMiB},
      {"GiB", kGiB},
      {"TiB", kTiB},
      {"kB", 1'000},
      {"MB", 1'000'000},
      {"GB", 1'000'000'000},
      {"TB", 1'000'000'000'000},
  };
  for (auto [name, multiplier] : kUnits) {
    if (!EqualsIgnoreCase(unit, name)) continue;
    if (number > kNoLimit / multiplier) return std::nullopt;
    return number * multiplier;
  }
  return std::nullopt;
}

std::string RangeMessage(const Field& field) {
  auto show = [&](uint64_t n) {
    return field.kind == Kind::kSize ? FormatSize(n) : std::to_string(n);
  };
  if (field.max == kNoLimit)
    return fmt::format("'{}' must be at least {}", field.key, show(field.min));
  return fmt::format("'{}' must be between {} and {}", field.key, show(field.min), show(field.max));
}

Status CheckRange(const Field& field, uint64_t value) {
  if (value < field.min || value > field.max) return Invalid(RangeMessage(field));
  return Status::Ok();
}

// An integer JSON value as uint64_t; nullopt for anything else (negative numbers included).
std::optional<uint64_t> Unsigned(const json& value) {
  if (value.is_number_unsigned()) return value.get<uint64_t>();
  if (value.is_number_integer() && value.get<int64_t>() >= 0) {
    return static_cast<uint64_t>(value.get<int64_t>());
  }
  return std::nullopt;
}

bool IsEnvName(std::string_view name) {
  if (name.empty() || std::isdigit(static_cast<unsigned char>(name.front()))) return false;
  for (char c : name) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_') return false;
  }
  return true;
}

Result<uint64_t> ReadNumber(const Field& field, const json& value) {
  std::optional<uint64_t> number = Unsigned(value);
  if (field.kind == Kind::kSize && value.is_string()) {
    number = ParseSizeText(value.get_ref<const std::string&>());
  }
  if (!number) {
    if (value.is_number_integer()) return Invalid(RangeMessage(field));  // negative
    if (field.kind == Kind::kSize) {
      return Invalid(fmt::format(
          "'{}' must be a size: bytes, or a string such as \"64MiB\", \"4GiB\" or \"1GB\"",
          field.key));
    }
    return Invalid(fmt::format("'{}' must be an integer", field.key));
  }
  RETURN_IF_ERROR(CheckRange(field, *number));
  return *number;
}

Status ReadString(const Field& field, const json& value, std::string* out) {
  if (!value.is_string()) return Invalid(fmt::format("'{}' must be a string", field.key));
  const std::string& text = value.get_ref<const std::string&>();
  if (!field.choices.empty()) {
    for (std::string_view choice : field.choices) {
      if (text == choice) {
        *out = text;
        return Status::Ok();
      }
    }
    std::string allowed;
    for (std::string_view choice : field.choices) {
      allowed += (allowed.empty() ? "" : ", ") + std::string(choice);
    }
    return Invalid(fmt::format("'{}' must be one of {}", field.key, allowed));
  }
  if (text.find('\0') != std::string::npos) {
    return Invalid(fmt::format("'{}' must not contain NUL", field.key));
  }
  switch (field.kind) {
    case Kind::kPath:
      if (!text.empty() && (text.front() != '/' || text.size() > kMaxPathBytes)) {
        return Invalid(fmt::format("'{}' must be an absolute path", field.key));
      }
      break;
    case Kind::kEnvName:
      if (!IsEnvName(text)) {
        return Invalid(fmt::format(
            "'{}' must be an environment variable name (letters, digits and '_')", field.key));
      }
      break;
    default:
      if (text.size() > kMaxTextBytes) {
        return Invalid(fmt::format("'{}' is longer than {} bytes", field.key, kMaxTextBytes));
      }
      break;
  }
  *out = text;
  return Status::Ok();
}

Status Set(const Field& field, const json& value, TieredBlockConfig& config) {
  Target target = field.at(config);
  if (auto* text = std::get_if<std::string*>(&target)) return ReadString(field, value, *text);
  if (auto* flag = std::get_if<bool*>(&target)) {
    if (!value.is_boolean()) {
      return Invalid(fmt::format("'{}' must be true or false", field.key));
    }
    **flag = value.get<bool>();
    return Status::Ok();
  }
  ASSIGN_OR_RETURN(uint64_t number, ReadNumber(field, value));
  // CheckRange kept the number within the field's max, which fits its type.
  std::visit(
      [number](auto* out) {
        using T = std::remove_pointer_t<decltype(out)>;
        if constexpr (std::is_integral_v<T> && !std::is_same_v<T, bool>) {
          *out = static_cast<T>(number);
        }
      },
      target);
  return Status::Ok();
}

// The rules that span keys; every key's own rule has been checked.
Status ValidateTogether(const TieredBlockConfig& c, const std::set<std::string>& given) {
  for (const std::string& key : given) {
    const Field* field = FindField(key);
    if (field != nullptr && !field->remote_type.empty() && field->remote_type != c.remote.type) {
      return Invalid(fmt::format("'{}' is for remote type {}, not {}", key, field->remote_type,
                                 c.remote.type));
    }
  }
  if (c.remote.type == "s3") {
    if (c.remote.endpoint.empty()) return Invalid("an s3 remote needs 'remote.endpoint'");
    if (!c.remote.endpoint.starts_with("http://") && !c.remote.endpoint.starts_with("https://")) {
      return Invalid("'remote.endpoint' must be an http:// or https:// URL");
    }
    if (c.remote.bucket.empty()) return Invalid("an s3 remote needs 'remote.bucket'");
    if (c.remote.bucket.find('/') != std::string::npos) {
      return Invalid("'remote.bucket' must be a bucket name, without '/'");
    }
    if (c.remote.region.empty()) return Invalid("'remote.region' must not be empty");
    if (c.remote.access_key_id.empty() != c.remote.secret_access_key.empty()) {
      return Invalid(
          "'remote.access_key_id' and 'remote.secret_access_key' go together: give both or "
          "neither");
    }
  }
  if (!(c.chunk_min < c.chunk_avg && c.chunk_avg < c.chunk_max)) {
    return Invalid("chunk sizes must grow: 'chunk_min' < 'chunk_avg' < 'chunk_max'");
  }
  return Status::Ok();
}

// A JSON value of a field, as the canonical JSON spells it.
ordered_json ValueJson(const Field& field, const TieredBlockConfig& config) {
  TieredBlockConfig copy = config;  // Field::at hands out mutable pointers
  ordered_json out;
  std::visit([&](auto* value) { out = *value; }, field.at(copy));
  return out;
}

bool Applies(const Field& field, const TieredBlockConfig& config) {
  return field.remote_type.empty() || field.remote_type == config.remote.type;
}

}  // namespace

Result<TieredBlockConfig> ParseTieredBlockConfig(std::string_view json_text) {
  json doc = json::parse(json_text, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded()) return Invalid("the config is not valid JSON");
  if (!doc.is_object()) return Invalid("the config must be a JSON object");
  TieredBlockConfig config;
  std::set<std::string> given;
  // `prefix` is "remote." for a key of the remote object.
  auto set = [&](std::string_view prefix, const std::string& name, const json& value) -> Status {
    std::string key = std::string(prefix) + name;
    const Field* field = FindField(key);
    // Only the nesting makes "remote.type": a top-level key of that name is unknown.
    if (field == nullptr || name.find('.') != std::string::npos) {
      return Invalid(fmt::format("unknown key '{}'", key));
    }
    RETURN_IF_ERROR(Set(*field, value, config));
    given.insert(key);
    return Status::Ok();
  };
  for (const auto& [key, value] : doc.items()) {
    if (key != "remote") {
      RETURN_IF_ERROR(set("", key, value));
      continue;
    }
    if (!value.is_object()) return Invalid("'remote' must be an object");
    for (const auto& [remote_key, remote_value] : value.items()) {
      RETURN_IF_ERROR(set("remote.", remote_key, remote_value));
    }
  }
  RETURN_IF_ERROR(ValidateTogether(config, given));
  return config;
}

std::string TieredBlockConfigToJson(const TieredBlockConfig& config) {
  ordered_json doc = ordered_json::object();
  for (const Field& field : Fields()) {
    if (!Applies(field, config)) continue;
    if (field.key.starts_with("remote.")) {
      doc["remote"][std::string(field.key.substr(7))] = ValueJson(field, config);
    } else {
      doc[std::string(field.key)] = ValueJson(field, config);
    }
  }
  return doc.dump();
}

std::string_view TieredBlockConfigKeyType(std::string_view key) {
  const Field* field = FindField(key);
  if (field == nullptr) return {};
  switch (field->kind) {
    case Kind::kSize:
      return "size";
    case Kind::kInteger:
      return "integer";
    case Kind::kBoolean:
      return "boolean";
    default:
      return "string";
  }
}

std::string TieredBlockConfigJsonSchema() {
  ordered_json properties = ordered_json::object();
  ordered_json remote = ordered_json::object();
  for (const Field& field : Fields()) {
    ordered_json schema;
    switch (field.kind) {
      case Kind::kSize: {
        ordered_json number = {{"type", "integer"}, {"minimum", field.min}};
        if (field.max != kNoLimit) number["maximum"] = field.max;
        schema["oneOf"] = ordered_json::array(
            {number, {{"type", "string"}, {"pattern", "^[0-9]+ *([kKmMgGtT]([iI]?[bB])|[bB])?$"}}});
        break;
      }
      case Kind::kInteger:
        schema = {{"type", "integer"}, {"minimum", field.min}};
        if (field.max != kNoLimit) schema["maximum"] = field.max;
        break;
      case Kind::kBoolean:
        schema = {{"type", "boolean"}};
        break;
      case Kind::kPath:
        schema = {{"type", "string"}, {"pattern", "^(/.*)?$"}};
        break;
      case Kind::kEnvName:
        schema = {{"type", "string"}, {"pattern", "^[A-Za-z_][A-Za-z0-9_]*$"}};
        break;
      case Kind::kString:
        if (field.choices.empty()) {
          schema = {{"type", "string"}};
        } else {
          schema["enum"] = ordered_json::array();
          for (std::string_view choice : field.choices) schema["enum"].push_back(choice);
        }
        break;
    }
    if (!field.help.empty()) schema["description"] = field.help;
    if (field.key.starts_with("remote.")) {
      remote[std::string(field.key.substr(7))] = schema;
    } else {
      properties[std::string(field.key)] = schema;
    }
  }
  properties["remote"] = {
      {"type", "object"}, {"additionalProperties", false}, {"properties", remote}};
  ordered_json doc = {{"type", "object"},
                      {"additionalProperties", false},
                      {"description", "The tiered block store (block: tiered)"},
                      {"properties", properties}};
  return doc.dump();
}

std::string RenderTieredBlockConfig(const TieredBlockConfig& config, std::string_view indent) {
  std::string out;
  bool in_remote = false;
  for (const Field& field : Fields()) {
    bool remote_key = field.key.starts_with("remote.");
    if (remote_key && !in_remote) {
      out += fmt::format("{}remote:\n", indent);
      in_remote = true;
    }
    if (!remote_key && in_remote) {
      if (config.remote.type != "s3") {
        out += fmt::format(
            "{}  # s3: endpoint, region, bucket, prefix, path_style, access_key_id, "
            "secret_access_key\n",
            indent);
      }
      in_remote = false;
    }
    if (!Applies(field, config)) continue;
    std::string_view name = remote_key ? field.key.substr(7) : field.key;
    ordered_json value = ValueJson(field, config);
    // A JSON string is a valid YAML double-quoted scalar.
    std::string text = field.kind == Kind::kSize ? FormatSize(value.get<uint64_t>())
                       : field.choices.empty()   ? value.dump()
                                                 : value.get<std::string>();  // plain, as `block:`
    std::string line = fmt::format("{}{}{}: {}", indent, remote_key ? "  " : "", name, text);
    if (!field.help.empty()) {
      constexpr size_t kCommentColumn = 36;
      line.resize(std::max(line.size() + 1, kCommentColumn), ' ');
      line += "# " + std::string(field.help);
    }
    out += line + "\n";
  }
  return out;
}

}  // namespace dittofs::config

// SPDX-License-Identifier: Apache-2.0
#include "net/http/json_body.h"

#include <fmt/format.h>

#include <algorithm>
#include <limits>
#include <nlohmann/json.hpp>
#include <set>
#include <utility>

namespace dittofs::net {

struct JsonObject::Impl {
  nlohmann::json doc;  // always an object
};

namespace {

Status Invalid(std::string message) { return Status(Errc::kInvalid, std::move(message)); }

}  // namespace

JsonObject::JsonObject(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
JsonObject::JsonObject(JsonObject&&) noexcept = default;
JsonObject& JsonObject::operator=(JsonObject&&) noexcept = default;
JsonObject::~JsonObject() = default;

Result<JsonObject> JsonObject::Parse(std::string_view body,
                                     std::initializer_list<std::string_view> allowed_fields) {
  // nlohmann keeps the last of repeated keys silently; a strict API refuses them instead.
  std::set<std::string> seen;
  std::string repeated;
  auto on_event = [&](int depth, nlohmann::json::parse_event_t event, nlohmann::json& parsed) {
    if (event == nlohmann::json::parse_event_t::key && depth == 1 && repeated.empty()) {
      if (!seen.insert(parsed.get<std::string>()).second) repeated = parsed.get<std::string>();
    }
    return true;
  };
  auto impl = std::make_unique<Impl>();
  try {
    impl->doc = nlohmann::json::parse(body.begin(), body.end(), on_event);
  } catch (const nlohmann::json::parse_error& e) {
    return Invalid(fmt::format("request body is not valid JSON (error at byte {})", e.byte));
  }
  if (!impl->doc.is_object()) return Invalid("request body must be a JSON object");
  if (!repeated.empty()) return Invalid(fmt::format("field '{}' appears more than once", repeated));
  for (const auto& [name, value] : impl->doc.items()) {
    if (std::find(allowed_fields.begin(), allowed_fields.end(), name) == allowed_fields.end()) {
      return Invalid(fmt::format("unknown field '{}'", name));
    }
  }
  return JsonObject(std::move(impl));
}

bool JsonObject::Has(std::string_view field) const { return impl_->doc.contains(field); }

namespace {

// The field's value, or an error naming it when it is absent.
Result<const nlohmann::json*> Field(const nlohmann::json& doc, std::string_view field) {
  auto it = doc.find(field);
  if (it == doc.end()) return Invalid(fmt::format("field '{}' is required", field));
  return &*it;
}

}  // namespace

Result<std::string> JsonObject::GetString(std::string_view field) const {
  ASSIGN_OR_RETURN(const nlohmann::json* value, Field(impl_->doc, field));
  if (!value->is_string()) return Invalid(fmt::format("field '{}' must be a string", field));
  return value->get<std::string>();
}

Result<int64_t> JsonObject::GetInt(std::string_view field) const {
  ASSIGN_OR_RETURN(const nlohmann::json* value, Field(impl_->doc, field));
  if (value->is_number_unsigned()) {
    uint64_t u = value->get<uint64_t>();
    if (u > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
      return Invalid(fmt::format("field '{}' is out of range", field));
    }
    return static_cast<int64_t>(u);
  }
  if (!value->is_number_integer()) {
    return Invalid(fmt::format("field '{}' must be an integer", field));
  }
  return value->get<int64_t>();
}

Result<bool> JsonObject::GetBool(std::string_view field) const {
  ASSIGN_OR_RETURN(const nlohmann::json* value, Field(impl_->doc, field));
  if (!value->is_boolean()) return Invalid(fmt::format("field '{}' must be a boolean", field));
  return value->get<bool>();
}

Result<std::vector<std::string>> JsonObject::GetStringList(std::string_view field) const {
  ASSIGN_OR_RETURN(const nlohmann::json* value, Field(impl_->doc, field));
  auto not_list = [&] {
    return Invalid(fmt::format("field '{}' must be a list of strings", field));
  };
  if (!value->is_array()) return not_list();
  std::vector<std::string> out;
  out.reserve(value->size());
  for (const nlohmann::json& item : *value) {
    if (!item.is_string()) return not_list();
    out.push_back(item.get<std::string>());
  }
  return out;
}

}  // namespace dittofs::net

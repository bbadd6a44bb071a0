// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstdint>
#include <initializer_list>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"

namespace dittofs::net {

// A JSON object read strictly from a request body. Parse rejects anything but an object, field
// names outside the allowed set and repeated field names; the getters reject a field of the
// wrong type. Every error is Errc::kInvalid whose message is written for the client, e.g.
// "field 'uid' must be an integer", so a handler can answer with ProblemFor(status) (400).
// Not thread-safe to share between threads while one of them moves it.
class JsonObject {
 public:
  static Result<JsonObject> Parse(std::string_view body,
                                  std::initializer_list<std::string_view> allowed_fields);

  JsonObject(JsonObject&&) noexcept;
  JsonObject& operator=(JsonObject&&) noexcept;
  ~JsonObject();

  // Whether the field is present (even as null).
  bool Has(std::string_view field) const;

  // Each fails when the field is absent ("field 'name' is required") or has another type
  // (null included).
  Result<std::string> GetString(std::string_view field) const;
  // Any integer that fits in int64_t; 1.0 and 1e3 are not integers.
  Result<int64_t> GetInt(std::string_view field) const;
  Result<bool> GetBool(std::string_view field) const;
  Result<std::vector<std::string>> GetStringList(std::string_view field) const;

 private:
  struct Impl;  // holds the parsed document; keeps nlohmann/json.hpp out of this header
  explicit JsonObject(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace dittofs::net

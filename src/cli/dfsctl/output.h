// SPDX-License-Identifier: Apache-2.0
#pragma once

// How list and get commands print what the API answered: an aligned table (the default),
// or the JSON itself, or the same as YAML.

#include <nlohmann/json.hpp>
#include <ostream>
#include <string>
#include <vector>

namespace dittofs::dfsctl {

enum class OutputFormat { kTable, kJson, kYaml };

// "table", "json" or "yaml"; anything else is kTable (the option's validator rejects it first).
OutputFormat ParseOutputFormat(const std::string& name);

// A table column: its header and the object field it shows.
struct Column {
  std::string header;
  std::string field;
};

// Prints `value` (an object, or an array of objects) in `format`. Tables show `columns`, one
// row per object; arrays in a cell are joined with ",".
void Print(std::ostream& out, const nlohmann::json& value, const std::vector<Column>& columns,
           OutputFormat format);

// The YAML rendering of a JSON value.
std::string ToYaml(const nlohmann::json& value);

}  // namespace dittofs::dfsctl

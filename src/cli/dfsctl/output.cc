// SPDX-License-Identifier: Apache-2.0
#include "cli/dfsctl/output.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>

namespace dittofs::dfsctl {
namespace {

using json = nlohmann::json;

std::string Cell(const json& value) {
  if (value.is_null()) return "";
  if (value.is_string()) return value.get<std::string>();
  if (value.is_array()) {
    std::string joined;
    for (const json& item : value) joined += (joined.empty() ? "" : ",") + Cell(item);
    return joined;
  }
  return value.dump();
}

void Emit(YAML::Emitter& out, const json& value) {
  switch (value.type()) {
    case json::value_t::object:
      out << YAML::BeginMap;
      for (const auto& [key, item] : value.items()) {
        out << YAML::Key << key << YAML::Value;
        Emit(out, item);
      }
      out << YAML::EndMap;
      break;
    case json::value_t::array:
      out << YAML::BeginSeq;
      for (const json& item : value) Emit(out, item);
      out << YAML::EndSeq;
      break;
    case json::value_t::string:
      out << YAML::DoubleQuoted << value.get<std::string>();
      break;
    case json::value_t::null:
      out << YAML::Null;
      break;
    default:  // numbers and booleans print the same in both
      out << value.dump();
      break;
  }
}

}  // namespace

OutputFormat ParseOutputFormat(const std::string& name) {
  if (name == "json") return OutputFormat::kJson;
  if (name == "yaml") return OutputFormat::kYaml;
  return OutputFormat::kTable;
}

std::string ToYaml(const json& value) {
  YAML::Emitter out;
  Emit(out, value);
  return out.c_str();
}

void Print(std::ostream& out, const json& value, const std::vector<Column>& columns,
           OutputFormat format) {
  if (format == OutputFormat::kJson) {
    out << value.dump(2) << "\n";
    return;
  }
  if (format == OutputFormat::kYaml) {
    out << ToYaml(value) << "\n";
    return;
  }
  std::vector<std::vector<std::string>> rows;
  std::vector<std::string> header;
  for (const Column& c : columns) header.push_back(c.header);
  rows.push_back(header);
  auto add_row = [&](const json& object) {
    std::vector<std::string> row;
    for (const Column& c : columns) {
      auto it = object.is_object() ? object.find(c.field) : object.end();
      row.push_back(it == object.end() ? "" : Cell(*it));
    }
    rows.push_back(std::move(row));
  };
  if (value.is_array()) {
    for (const json& item : value) add_row(item);
  } else {
    add_row(value);
  }
  std::vector<size_t> widths(columns.size(), 0);
  for (const auto& row : rows) {
    for (size_t i = 0; i < row.size(); ++i) widths[i] = std::max(widths[i], row[i].size());
  }
  for (const auto& row : rows) {
    std::string line;
    for (size_t i = 0; i < row.size(); ++i) {
      line += row[i];
      if (i + 1 < row.size()) line += std::string(widths[i] - row[i].size() + 2, ' ');
    }
    line.erase(line.find_last_not_of(' ') + 1);  // an empty last cell leaves no padding
    out << line << "\n";
  }
}

}  // namespace dittofs::dfsctl

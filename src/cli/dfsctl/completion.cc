// SPDX-License-Identifier: Apache-2.0
#include "cli/dfsctl/completion.h"

#include <sstream>
#include <vector>

namespace dittofs::dfsctl {
namespace {

// One command of the tree: its path from the root ("" for the root, "share permission" for a
// nested one), the words that may follow it, and their descriptions.
struct Node {
  std::string path;
  std::vector<std::pair<std::string, std::string>> commands;  // name, description
  std::vector<std::pair<std::string, std::string>> options;   // "--long" or "-s", description
};

void Collect(CLI::App& app, const std::string& path, std::vector<Node>& out) {
  Node node{path, {}, {}};
  std::vector<CLI::App*> children = app.get_subcommands([](CLI::App*) { return true; });
  for (CLI::App* child : children)
    node.commands.emplace_back(child->get_name(), child->get_description());
  for (CLI::Option* option : app.get_options([](CLI::Option*) { return true; })) {
    for (const std::string& name : option->get_lnames()) {
      node.options.emplace_back("--" + name, option->get_description());
    }
    for (const std::string& name : option->get_snames()) {
      node.options.emplace_back("-" + name, option->get_description());
    }
  }
  out.push_back(node);
  for (CLI::App* child : children) {
    Collect(*child, path.empty() ? child->get_name() : path + " " + child->get_name(), out);
  }
}

// Quotes `text` for a single-quoted shell word.
std::string Quote(const std::string& text) {
  std::string out = "'";
  for (char c : text) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

// bash (and zsh through bashcompinit): the longest known command path among the words typed
// so far selects the words offered.
std::string BashFunction(const std::string& name, const std::vector<Node>& nodes) {
  std::ostringstream s;
  std::string fn = "_" + name + "_complete";
  s << fn << "() {\n"
    << "  local -A words=(\n";
  for (const Node& node : nodes) {
    std::string words;
    for (const auto& [word, _] : node.commands) words += (words.empty() ? "" : " ") + word;
    for (const auto& [word, _] : node.options) words += (words.empty() ? "" : " ") + word;
    s << "    [" << Quote("_" + (node.path.empty() ? "" : " " + node.path)) << "]=" << Quote(words)
      << "\n";
  }
  s << "  )\n"
    << "  local path=_ i candidate\n"
    << "  for ((i = 1; i < COMP_CWORD; i++)); do\n"
    << "    candidate=\"$path ${COMP_WORDS[i]}\"\n"
    << "    if [[ -n \"${words[$candidate]+set}\" ]]; then path=$candidate; fi\n"
    << "  done\n"
    << "  COMPREPLY=($(compgen -W \"${words[$path]}\" -- \"${COMP_WORDS[COMP_CWORD]}\"))\n"
    << "}\n"
    << "complete -o default -F " << fn << " " << name << "\n";
  return s.str();
}

std::string FishScript(const std::string& name, const std::vector<Node>& nodes) {
  std::ostringstream s;
  std::string fn = "__" + name + "_at";
  s << "set -g __" << name << "_commands";
  for (const Node& node : nodes) {
    if (!node.path.empty()) s << " " << Quote(node.path);
  }
  s << "\n"
    << "function " << fn << " --description 'true when the command typed so far is $argv[1]'\n"
    << "  set -l path ''\n"
    << "  for w in (commandline -opc)[2..-1]\n"
    << "    set -l candidate (string trim -- \"$path $w\")\n"
    << "    if contains -- $candidate $__" << name << "_commands\n"
    << "      set path $candidate\n"
    << "    end\n"
    << "  end\n"
    << "  test \"$path\" = \"$argv[1]\"\n"
    << "end\n";
  for (const Node& node : nodes) {
    std::string condition = Quote(fn + " " + Quote(node.path));
    for (const auto& [word, description] : node.commands) {
      s << "complete -c " << name << " -f -n " << condition << " -a " << Quote(word) << " -d "
        << Quote(description) << "\n";
    }
    for (const auto& [word, description] : node.options) {
      bool is_long = word.rfind("--", 0) == 0;
      s << "complete -c " << name << " -f -n " << condition << (is_long ? " -l " : " -s ")
        << Quote(word.substr(is_long ? 2 : 1)) << " -d " << Quote(description) << "\n";
    }
  }
  return s.str();
}

}  // namespace

Result<std::string> CompletionScript(CLI::App& root, const std::string& shell) {
  std::vector<Node> nodes;
  Collect(root, "", nodes);
  const std::string& name = root.get_name();
  if (shell == "bash") return BashFunction(name, nodes);
  if (shell == "zsh") {
    return "#compdef " + name + "\nautoload -U +X bashcompinit && bashcompinit\n" +
           BashFunction(name, nodes);
  }
  if (shell == "fish") return FishScript(name, nodes);
  return Status(Errc::kInvalid, "unknown shell " + shell + " (bash, zsh or fish)");
}

}  // namespace dittofs::dfsctl

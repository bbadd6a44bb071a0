// SPDX-License-Identifier: Apache-2.0
#include "controlplane/db/control_db.h"

#include <fmt/format.h>

#include <utility>

namespace dittofs::controlplane {
namespace {

template <typename E>
struct Named {
  E value;
  std::string_view name;
};

constexpr Named<Role> kRoles[] = {
    {Role::kAdmin, "admin"}, {Role::kOperator, "operator"}, {Role::kUser, "user"}};
constexpr Named<PermissionLevel> kLevels[] = {{PermissionLevel::kNone, "none"},
                                              {PermissionLevel::kRead, "read"},
                                              {PermissionLevel::kReadWrite, "read_write"},
                                              {PermissionLevel::kAdmin, "admin"}};
constexpr Named<SubjectKind> kSubjectKinds[] = {{SubjectKind::kUser, "user"},
                                                {SubjectKind::kGroup, "group"}};
constexpr Named<Squash> kSquashes[] = {{Squash::kNone, "none"},
                                       {Squash::kRootToGuest, "root_to_guest"},
                                       {Squash::kRootToAdmin, "root_to_admin"},
                                       {Squash::kAllToGuest, "all_to_guest"},
                                       {Squash::kAllToAdmin, "all_to_admin"}};
constexpr Named<NameRules> kNameRules[] = {{NameRules::kPosix, "posix"},
                                           {NameRules::kWindows, "windows"}};

template <typename E, size_t N>
std::string_view NameOf(const Named<E> (&table)[N], E value) {
  for (const Named<E>& entry : table) {
    if (entry.value == value) return entry.name;
  }
  return "?";
}

template <typename E, size_t N>
Result<E> Parse(const Named<E> (&table)[N], std::string_view what, std::string_view name) {
  for (const Named<E>& entry : table) {
    if (entry.name == name) return entry.value;
  }
  return Status(Errc::kInvalid, fmt::format("unknown {} \"{}\"", what, name));
}

}  // namespace

std::string_view RoleName(Role role) { return NameOf(kRoles, role); }
std::string_view PermissionLevelName(PermissionLevel level) { return NameOf(kLevels, level); }
std::string_view SubjectKindName(SubjectKind kind) { return NameOf(kSubjectKinds, kind); }
std::string_view SquashName(Squash squash) { return NameOf(kSquashes, squash); }
std::string_view NameRulesName(NameRules rules) { return NameOf(kNameRules, rules); }

Result<Role> ParseRole(std::string_view name) { return Parse(kRoles, "role", name); }
Result<PermissionLevel> ParsePermissionLevel(std::string_view name) {
  return Parse(kLevels, "permission level", name);
}
Result<SubjectKind> ParseSubjectKind(std::string_view name) {
  return Parse(kSubjectKinds, "subject kind", name);
}
Result<Squash> ParseSquash(std::string_view name) { return Parse(kSquashes, "squash", name); }
Result<NameRules> ParseNameRules(std::string_view name) {
  return Parse(kNameRules, "name rules", name);
}

}  // namespace dittofs::controlplane

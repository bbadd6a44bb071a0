// SPDX-License-Identifier: Apache-2.0
#include "controlplane/auth/secret.h"

#include <sodium.h>

#include <algorithm>
#include <cctype>
#include <string_view>
#include <vector>

#include "base/check.h"
#include "controlplane/auth/sodium_init.h"

namespace dittofs::controlplane::auth {
namespace {

constexpr std::string_view kPasswordAlphabet =
    "abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789-_.";

void InitializeOrDie() {
  Status status = EnsureSodiumInitialized();
  CHECK(status.ok()) << "cannot generate secrets: " << status.ToString();
}

}  // namespace

std::string GenerateSecret(size_t bytes) {
  CHECK(bytes > 0) << "GenerateSecret of zero bytes";
  InitializeOrDie();
  std::vector<unsigned char> raw(bytes);
  randombytes_buf(raw.data(), raw.size());
  std::string hex(2 * bytes + 1, '\0');
  sodium_bin2hex(hex.data(), hex.size(), raw.data(), raw.size());
  hex.pop_back();  // the terminating NUL sodium_bin2hex writes
  sodium_memzero(raw.data(), raw.size());
  return hex;
}

std::string GeneratePassword() {
  InitializeOrDie();
  const auto has = [](const std::string& s, int (*pred)(int)) {
    return std::any_of(s.begin(), s.end(), [pred](char c) { return pred(c) != 0; });
  };
  std::string password(kGeneratedPasswordLength, '\0');
  // Redrawing until every class appears keeps each accepted password uniform among those that
  // satisfy the policy; about one draw in seventeen lacks a digit and is redrawn.
  do {
    for (char& c : password) {
      c = kPasswordAlphabet[randombytes_uniform(static_cast<uint32_t>(kPasswordAlphabet.size()))];
    }
  } while (!has(password, ::islower) || !has(password, ::isupper) || !has(password, ::isdigit));
  return password;
}

}  // namespace dittofs::controlplane::auth

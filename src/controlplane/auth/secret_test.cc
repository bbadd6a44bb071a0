// SPDX-License-Identifier: Apache-2.0
#include "controlplane/auth/secret.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <set>
#include <string>

namespace dittofs::controlplane::auth {
namespace {

TEST(SecretTest, GenerateSecretIsHexOfRequestedLength) {
  const std::string secret = GenerateSecret(32);
  EXPECT_EQ(secret.size(), 64u);
  EXPECT_TRUE(std::all_of(secret.begin(), secret.end(), [](char c) {
    return std::isdigit(static_cast<unsigned char>(c)) || (c >= 'a' && c <= 'f');
  }));
  EXPECT_EQ(GenerateSecret(1).size(), 2u);
}

TEST(SecretTest, GenerateSecretDiffersEachTime) {
  std::set<std::string> seen;
  for (int i = 0; i < 100; ++i) seen.insert(GenerateSecret(16));
  EXPECT_EQ(seen.size(), 100u);
}

TEST(SecretTest, GeneratedPasswordsArePrintableAndMixed) {
  std::set<std::string> seen;
  for (int i = 0; i < 200; ++i) {
    const std::string password = GeneratePassword();
    ASSERT_EQ(password.size(), kGeneratedPasswordLength);
    ASSERT_GE(password.size(), 16u);
    for (char c : password) {
      const bool allowed =
          std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.';
      ASSERT_TRUE(allowed) << password;
      ASSERT_EQ(std::string("0O1lI").find(c), std::string::npos) << password;
    }
    EXPECT_TRUE(std::any_of(password.begin(), password.end(), ::islower));
    EXPECT_TRUE(std::any_of(password.begin(), password.end(), ::isupper));
    EXPECT_TRUE(std::any_of(password.begin(), password.end(), ::isdigit));
    seen.insert(password);
  }
  EXPECT_EQ(seen.size(), 200u);
}

}  // namespace
}  // namespace dittofs::controlplane::auth

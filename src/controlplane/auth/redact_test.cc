// SPDX-License-Identifier: Apache-2.0
#include "controlplane/auth/redact.h"

#include <gtest/gtest.h>

#include <string>

namespace dittofs::controlplane::auth {
namespace {

TEST(RedactTest, JsonPasswordFields) {
  EXPECT_EQ(Redact(R"({"username":"alice","password":"hunter2"})"),
            R"({"username":"alice","password":"***"})");
  EXPECT_EQ(Redact(R"({"Password" : "a \"quoted\" one", "x": 1})"),
            R"({"Password" : "***", "x": 1})");
  EXPECT_EQ(Redact(R"({"old_password":"a","new_password":"b","jwt_secret":"c"})"),
            R"({"old_password":"***","new_password":"***","jwt_secret":"***"})");
  EXPECT_EQ(Redact(R"({"refresh_token":"r","access_token":"a","api_key":"k"})"),
            R"({"refresh_token":"***","access_token":"***","api_key":"***"})");
  EXPECT_EQ(Redact(R"({"password":12345})"), R"({"password":***})");
}

TEST(RedactTest, KeepsBooleansAndOtherFields) {
  EXPECT_EQ(Redact(R"({"must_change_password":true,"user":"bob","role":"admin"})"),
            R"({"must_change_password":true,"user":"bob","role":"admin"})");
  EXPECT_EQ(Redact(R"({"password":null})"), R"({"password":null})");
  EXPECT_EQ(Redact("token expired for user alice"), "token expired for user alice");
  EXPECT_EQ(Redact("wrote 4096 bytes to share /export at offset 12"),
            "wrote 4096 bytes to share /export at offset 12");
  EXPECT_EQ(Redact(""), "");
}

TEST(RedactTest, KeyValueAndYamlForms) {
  EXPECT_EQ(Redact("POST /login?user=alice&password=hunter2&x=1"),
            "POST /login?user=alice&password=***&x=1");
  EXPECT_EQ(Redact("jwt_secret: 0123abcd # from config"), "jwt_secret: *** # from config");
  EXPECT_EQ(Redact("DFS_ADMIN_PASSWORD='s3cr3t'"), "DFS_ADMIN_PASSWORD='***'");
  EXPECT_EQ(Redact("password = hunter2, next"), "password = ***, next");
}

TEST(RedactTest, AuthorizationHeaders) {
  EXPECT_EQ(Redact("Authorization: Bearer abc.def-ghi_jkl"), "Authorization: Bearer ***");
  EXPECT_EQ(Redact("authorization: Basic dXNlcjpwYXNz"), "authorization: Basic ***");
  EXPECT_EQ(Redact("got header bearer   abc123 from 10.0.0.1"),
            "got header bearer   *** from 10.0.0.1");
  EXPECT_EQ(Redact(R"({"Authorization":"Bearer abc"})"), R"({"Authorization":"***"})");
}

TEST(RedactTest, JwtsAnywhere) {
  const std::string jwt =
      "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJhbGljZSJ9."
      "KGLtavKbmLCrp6yWtBykdGiumhGjdDBMv5HX0aWYTnY";
  EXPECT_EQ(Redact("refresh with " + jwt + " failed"), "refresh with *** failed");
  EXPECT_EQ(Redact("unsigned " + std::string("eyJhbGciOiJub25lIn0.eyJzdWIiOiJhIn0.")),
            "unsigned ***");
}

TEST(RedactTest, Hashes) {
  EXPECT_EQ(Redact("stored $argon2id$v=19$m=65536,t=3,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNo ok"),
            "stored $argon2id$*** ok");
  EXPECT_EQ(Redact("nt=8846f7eaee8fb117ad06bdd830b7586c."), "nt=***.");
  EXPECT_EQ(Redact("hash 8846F7EAEE8FB117AD06BDD830B7586C for bob"), "hash *** for bob");
  // Other lengths (content ids, SHA-256) are left alone.
  const std::string sha256(64, 'a');
  EXPECT_EQ(Redact("block " + sha256), "block " + sha256);
  EXPECT_EQ(Redact("id 8846f7eaee8fb117ad06bdd830b7586cz"), "id 8846f7eaee8fb117ad06bdd830b7586cz");
}

TEST(RedactTest, JsonInsideAString) {
  EXPECT_EQ(Redact(R"(body="{\"password\":\"hunter2\"}")"), R"(body="{\"password\":\"***\"}")");
}

TEST(RedactTest, TruncatedLinesDoNotLeak) {
  EXPECT_EQ(Redact(R"({"password":"hunter)"), R"({"password":"***)");
  EXPECT_EQ(Redact(R"({"password":"hunter\)"), R"({"password":"***)");
  EXPECT_EQ(Redact("password="), "password=");
  EXPECT_EQ(Redact("Bearer"), "Bearer");
  EXPECT_EQ(Redact("$argon2"), "$argon2$***");
}

TEST(RedactTest, NonAsciiPassesThrough) {
  EXPECT_EQ(Redact("user \xC3\xA4rger password=\xC3\xA4\xC3\xB6 done"),
            "user \xC3\xA4rger password=*** done");
}

}  // namespace
}  // namespace dittofs::controlplane::auth

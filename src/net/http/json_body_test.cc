// SPDX-License-Identifier: Apache-2.0
#include "net/http/json_body.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "testing/status_matchers.h"

namespace dittofs::net {
namespace {

using ::dittofs::testing::StatusIs;
using ::testing::ElementsAre;

// The message of a failed Result or Status, for comparing with the client-facing text.
template <typename T>
std::string ErrorOf(const T& result) {
  return ::dittofs::testing::GetStatus(result).message();
}

const std::initializer_list<std::string_view> kUserFields = {"name", "uid", "admin", "groups"};

TEST(JsonObjectTest, ReadsTypedFields) {
  ASSERT_OK_AND_ASSIGN(
      JsonObject user,
      JsonObject::Parse(R"({"name":"alice","uid":1000,"admin":true,"groups":["a","b"]})",
                        kUserFields));
  EXPECT_EQ(*user.GetString("name"), "alice");
  EXPECT_EQ(*user.GetInt("uid"), 1000);
  EXPECT_EQ(*user.GetBool("admin"), true);
  EXPECT_THAT(*user.GetStringList("groups"), ElementsAre("a", "b"));
  EXPECT_TRUE(user.Has("uid"));
}

TEST(JsonObjectTest, AllowedFieldsMayBeAbsent) {
  ASSERT_OK_AND_ASSIGN(JsonObject user, JsonObject::Parse(R"({"name":"alice"})", kUserFields));
  EXPECT_FALSE(user.Has("uid"));
  EXPECT_THAT(user.GetInt("uid"), StatusIs(Errc::kInvalid));
  EXPECT_EQ(ErrorOf(user.GetInt("uid")), "field 'uid' is required");
}

TEST(JsonObjectTest, RejectsNonObjects) {
  for (const char* body : {"[]", "\"x\"", "1", "null", "true"}) {
    auto parsed = JsonObject::Parse(body, kUserFields);
    EXPECT_THAT(parsed, StatusIs(Errc::kInvalid)) << body;
    EXPECT_EQ(ErrorOf(parsed), "request body must be a JSON object") << body;
  }
}

TEST(JsonObjectTest, RejectsInvalidJson) {
  for (const char* body : {"", "{", "{\"name\":}", "{\"name\":\"a\"} x", "{\"name\":\"\xff\"}"}) {
    auto parsed = JsonObject::Parse(body, kUserFields);
    EXPECT_THAT(parsed, StatusIs(Errc::kInvalid)) << body;
    EXPECT_THAT(ErrorOf(parsed), ::testing::StartsWith("request body is not valid JSON")) << body;
  }
}

TEST(JsonObjectTest, RejectsUnknownFields) {
  auto parsed = JsonObject::Parse(R"({"name":"a","password":"x"})", kUserFields);
  EXPECT_THAT(parsed, StatusIs(Errc::kInvalid));
  EXPECT_EQ(ErrorOf(parsed), "unknown field 'password'");
}

TEST(JsonObjectTest, RejectsRepeatedFields) {
  auto parsed = JsonObject::Parse(R"({"uid":1,"name":"a","uid":0})", kUserFields);
  EXPECT_EQ(ErrorOf(parsed), "field 'uid' appears more than once");
  // The same name in a nested object is not a repeat.
  EXPECT_OK(JsonObject::Parse(R"({"name":"a","uid":{"name":1}})", kUserFields));
}

TEST(JsonObjectTest, NamesTheFieldOfTheWrongType) {
  ASSERT_OK_AND_ASSIGN(
      JsonObject user,
      JsonObject::Parse(R"({"name":7,"uid":"1000","admin":"yes","groups":["a",1]})", kUserFields));
  EXPECT_EQ(ErrorOf(user.GetString("name")), "field 'name' must be a string");
  EXPECT_EQ(ErrorOf(user.GetInt("uid")), "field 'uid' must be an integer");
  EXPECT_EQ(ErrorOf(user.GetBool("admin")), "field 'admin' must be a boolean");
  EXPECT_EQ(ErrorOf(user.GetStringList("groups")), "field 'groups' must be a list of strings");
  ASSERT_OK_AND_ASSIGN(JsonObject nulls, JsonObject::Parse(R"({"name":null})", kUserFields));
  EXPECT_TRUE(nulls.Has("name"));
  EXPECT_EQ(ErrorOf(nulls.GetString("name")), "field 'name' must be a string");
}

TEST(JsonObjectTest, IntegersAreExactAndInRange) {
  auto uid = [](const char* body) {
    Result<JsonObject> parsed = JsonObject::Parse(body, kUserFields);
    CHECK(parsed.ok()) << parsed.status().ToString();
    return parsed->GetInt("uid");
  };
  EXPECT_EQ(*uid(R"({"uid":-5})"), -5);
  EXPECT_EQ(*uid(R"({"uid":9223372036854775807})"), INT64_MAX);
  EXPECT_EQ(ErrorOf(uid(R"({"uid":9223372036854775808})")), "field 'uid' is out of range");
  EXPECT_EQ(ErrorOf(uid(R"({"uid":1.0})")), "field 'uid' must be an integer");
  EXPECT_EQ(ErrorOf(uid(R"({"uid":1e3})")), "field 'uid' must be an integer");
}

TEST(JsonObjectTest, MovesKeepTheDocument) {
  ASSERT_OK_AND_ASSIGN(JsonObject a, JsonObject::Parse(R"({"name":"x"})", kUserFields));
  JsonObject b = std::move(a);
  EXPECT_EQ(*b.GetString("name"), "x");
}

}  // namespace
}  // namespace dittofs::net

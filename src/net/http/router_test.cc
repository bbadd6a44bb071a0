// SPDX-License-Identifier: Apache-2.0
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

#include "net/http/http_server.h"

namespace dittofs::net {
namespace {

// A handler that answers with its route's name and the path parameters it saw.
HttpHandler Named(std::string name) {
  return [name](const HttpRequest& request) {
    HttpResponse response;
    response.body = name;
    for (const auto& [key, value] : request.path_params) response.body += " " + key + "=" + value;
    return response;
  };
}

HttpRequest Request(std::string method, std::string path) {
  HttpRequest request;
  request.method = std::move(method);
  request.path = std::move(path);
  return request;
}

class RouterTest : public ::testing::Test {
 protected:
  RouterTest() {
    router_.Add("GET", "/api/v1/users", Named("list"));
    router_.Add("POST", "/api/v1/users", Named("create"));
    router_.Add("GET", "/api/v1/users/{id}", Named("get"));
    router_.Add("DELETE", "/api/v1/users/{id}", Named("delete"));
    router_.Add("GET", "/api/v1/users/me", Named("me"));
    router_.Add("GET", "/api/v1/shares/{share}/users/{id}", Named("share-user"));
    router_.Add("GET", "/", Named("root"));
  }
  Router router_;
};

TEST_F(RouterTest, MatchesLiteralRoutes) {
  EXPECT_EQ(router_.Dispatch(Request("GET", "/api/v1/users")).body, "list");
  EXPECT_EQ(router_.Dispatch(Request("POST", "/api/v1/users")).body, "create");
  EXPECT_EQ(router_.Dispatch(Request("GET", "/")).body, "root");
}

TEST_F(RouterTest, FillsPathParameters) {
  EXPECT_EQ(router_.Dispatch(Request("GET", "/api/v1/users/alice")).body, "get id=alice");
  EXPECT_EQ(router_.Dispatch(Request("GET", "/api/v1/shares/s1/users/7")).body,
            "share-user id=7 share=s1");
}

TEST_F(RouterTest, DecodesParametersAfterSplitting) {
  // %2F is a slash inside one segment, not a separator.
  EXPECT_EQ(router_.Dispatch(Request("GET", "/api/v1/users/a%2Fb%20c")).body, "get id=a/b c");
}

TEST_F(RouterTest, MalformedEscapeIsBadRequest) {
  EXPECT_EQ(router_.Dispatch(Request("GET", "/api/v1/users/a%2")).status, 400);
  EXPECT_EQ(router_.Dispatch(Request("GET", "/api/v1/users/a%zz")).status, 400);
}

TEST_F(RouterTest, LiteralSegmentBeatsParameterWhateverTheOrder) {
  EXPECT_EQ(router_.Dispatch(Request("GET", "/api/v1/users/me")).body, "me");
  // DELETE has no literal route, so the parameter route takes "me".
  EXPECT_EQ(router_.Dispatch(Request("DELETE", "/api/v1/users/me")).body, "delete id=me");
}

TEST_F(RouterTest, UnknownPathIsNotFound) {
  HttpResponse response = router_.Dispatch(Request("GET", "/api/v2/users"));
  EXPECT_EQ(response.status, 404);
  EXPECT_EQ(response.content_type, "application/problem+json");
  // A trailing slash is another path, and a parameter never matches an empty segment.
  EXPECT_EQ(router_.Dispatch(Request("GET", "/api/v1/users/")).status, 404);
  EXPECT_EQ(router_.Dispatch(Request("GET", "/api/v1/shares//users/1")).status, 404);
  EXPECT_EQ(router_.Dispatch(Request("GET", "relative")).status, 404);
}

TEST_F(RouterTest, OtherMethodIsNotAllowedWithAllowHeader) {
  HttpResponse response = router_.Dispatch(Request("PUT", "/api/v1/users/alice"));
  EXPECT_EQ(response.status, 405);
  EXPECT_EQ(response.headers.Get("allow"), "DELETE, GET, HEAD");
  EXPECT_EQ(router_.Dispatch(Request("DELETE", "/api/v1/users")).headers.Get("Allow"),
            "GET, HEAD, POST");
}

TEST_F(RouterTest, HeadFallsBackToGet) {
  EXPECT_EQ(router_.Dispatch(Request("HEAD", "/api/v1/users/bob")).body, "get id=bob");
}

TEST_F(RouterTest, MethodsAreCaseSensitive) {
  EXPECT_EQ(router_.Dispatch(Request("get", "/api/v1/users")).status, 405);
}

TEST(RouterDeathTest, RejectsMalformedAndDuplicateRoutes) {
  Router router;
  router.Add("GET", "/a/{id}", Named("a"));
  EXPECT_DEATH(router.Add("GET", "/a/{other}", Named("b")), "already taken");
  EXPECT_DEATH(router.Add("GET", "no-slash", Named("b")), "must start with");
  EXPECT_DEATH(router.Add("GET", "/b/{x}/{x}", Named("b")), "appears twice");
  EXPECT_DEATH(router.Add("GET", "/b/x{y}", Named("b")), "malformed segment");
}

TEST(HttpHeadersTest, LookupIgnoresCaseAndRepeatsJoin) {
  HttpHeaders headers;
  headers.Add("Accept", "application/json");
  headers.Add("ACCEPT", "text/plain");
  headers.Set("X-Request-Id", "1");
  EXPECT_EQ(headers.Get("accept"), "application/json, text/plain");
  EXPECT_EQ(headers.Get("x-request-id"), "1");
  EXPECT_EQ(headers.Find("missing"), nullptr);
  EXPECT_EQ(headers.Get("missing"), "");
  headers.Set("x-REQUEST-id", "2");
  EXPECT_EQ(headers.size(), 2u);
  EXPECT_EQ(headers.Get("X-Request-Id"), "2");
  headers.Remove("accept");
  EXPECT_FALSE(headers.Has("Accept"));
}

}  // namespace
}  // namespace dittofs::net

// SPDX-License-Identifier: Apache-2.0
#include "net/http/problem.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

namespace dittofs::net {
namespace {

TEST(ProblemTest, HasRfc7807Shape) {
  HttpResponse response = Problem(404, "Not Found", "no user 'bob'");
  EXPECT_EQ(response.status, 404);
  EXPECT_EQ(response.content_type, "application/problem+json");
  nlohmann::json doc = nlohmann::json::parse(response.body);
  EXPECT_EQ(doc, nlohmann::json({{"type", "about:blank"},
                                 {"title", "Not Found"},
                                 {"status", 404},
                                 {"detail", "no user 'bob'"}}));
}

TEST(ProblemTest, KeepsAGivenType) {
  HttpResponse response =
      Problem(409, "Quota exceeded", "share is full", "https://dittofs.dev/problems/quota");
  EXPECT_EQ(nlohmann::json::parse(response.body)["type"], "https://dittofs.dev/problems/quota");
}

TEST(ProblemTest, EscapesAndRepairsDetail) {
  HttpResponse response = Problem(400, "Bad Request", "quote \" and bad utf-8 \xff");
  nlohmann::json doc = nlohmann::json::parse(response.body);
  EXPECT_EQ(doc["detail"], "quote \" and bad utf-8 \xEF\xBF\xBD");
}

TEST(ProblemTest, MapsErrorsToStatuses) {
  EXPECT_EQ(HttpStatusFor(Errc::kNotFound), 404);
  EXPECT_EQ(HttpStatusFor(Errc::kExists), 409);
  EXPECT_EQ(HttpStatusFor(Errc::kBusy), 409);
  EXPECT_EQ(HttpStatusFor(Errc::kConflict), 409);
  EXPECT_EQ(HttpStatusFor(Errc::kInvalid), 400);
  EXPECT_EQ(HttpStatusFor(Errc::kAccess), 403);
  EXPECT_EQ(HttpStatusFor(Errc::kPerm), 403);
  EXPECT_EQ(HttpStatusFor(Errc::kUnavailable), 503);
  EXPECT_EQ(HttpStatusFor(Errc::kIo), 500);
  EXPECT_EQ(HttpStatusFor(Errc::kInternal), 500);
}

TEST(ProblemTest, ProblemForUsesMessageOrErrorName) {
  nlohmann::json doc =
      nlohmann::json::parse(ProblemFor(Status(Errc::kNotFound, "no user 'bob'")).body);
  EXPECT_EQ(doc["status"], 404);
  EXPECT_EQ(doc["title"], "Not Found");
  EXPECT_EQ(doc["detail"], "no user 'bob'");
  doc = nlohmann::json::parse(ProblemFor(Errc::kConflict).body);
  EXPECT_EQ(doc["detail"], std::string(ErrcName(Errc::kConflict)));
}

TEST(ProblemTest, InternalErrorsKeepTheirMessageOutOfTheResponse) {
  HttpResponse response = ProblemFor(Status(Errc::kIo, "rocksdb: corruption in /var/lib/x"));
  EXPECT_EQ(response.status, 500);
  EXPECT_EQ(response.body.find("rocksdb"), std::string::npos);
}

}  // namespace
}  // namespace dittofs::net

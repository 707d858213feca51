#include <gtest/gtest.h>

#include "agent/api/router.h"

using namespace antiphase::agent;

TEST(Router, MatchesParamsAndReportsWrongMethodAndUnknownPath) {
  Router r;
  r.add("GET", "/v1/functions/{name}", [](const HttpRequest&, const PathParams& p) {
    return HttpResponse{200, "text/plain", p.at("name")};
  });
  HttpRequest req{"GET", "/v1/functions/img%2Fresize", "", "", 0, 0};
  const auto ok = r.dispatch(req);
  EXPECT_EQ(ok.status, 200);
  EXPECT_EQ(ok.body, "img/resize");
  req.method = "POST";
  EXPECT_EQ(r.dispatch(req).status, 405);
  req.method = "GET";
  req.path = "/v1/nothing";
  const auto missing = r.dispatch(req);
  EXPECT_EQ(missing.status, 404);
  EXPECT_NE(missing.body.find("\"error\""), std::string::npos);
}

TEST(Router, JsonBodyValidation) {
  HttpResponse err;
  nlohmann::json body;
  HttpRequest req;
  req.body = "{not json";
  EXPECT_FALSE(parse_json_body(req, body, err));
  EXPECT_EQ(err.status, 400);
  req.body = "[1,2]";
  EXPECT_FALSE(parse_json_body(req, body, err));
  req.body = R"({"function":"a","colour":"red"})";
  ASSERT_TRUE(parse_json_body(req, body, err));
  EXPECT_FALSE(reject_unknown_fields(body, {"function"}, err));
  EXPECT_NE(err.body.find("colour"), std::string::npos);
}

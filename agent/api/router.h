#pragma once
// Method + path routing with {param} segments, and the JSON error shape every
// endpoint uses: {"error": ..., "detail": ...}.
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "agent/api/http_server.h"

namespace antiphase::agent {

using PathParams = std::map<std::string, std::string>;
using RouteHandler = std::function<HttpResponse(const HttpRequest&, const PathParams&)>;

HttpResponse json_response(int status, const nlohmann::json& body);
HttpResponse json_error(int status, const std::string& error, const std::string& detail);
// Parses a JSON object body; on failure fills `error_out` with a 400 response.
bool parse_json_body(const HttpRequest& req, nlohmann::json& out, HttpResponse& error_out);
// Rejects keys not in `allowed` with a 400 naming the first unknown field.
bool reject_unknown_fields(const nlohmann::json& body, const std::vector<std::string>& allowed,
                           HttpResponse& error_out);

class Router {
 public:
  void add(const std::string& method, const std::string& pattern, RouteHandler handler);
  // 404 for an unknown path, 405 (with the allowed methods) for a known path.
  HttpResponse dispatch(const HttpRequest& req) const;

 private:
  struct Route {
    std::string method;
    std::vector<std::string> segments;  // "{name}" segments capture
    RouteHandler handler;
  };
  static bool match(const Route& r, const std::vector<std::string>& path, PathParams& params);
  std::vector<Route> routes_;
};

std::vector<std::string> split_path(const std::string& path);
std::string url_decode(const std::string& s);

}  // namespace antiphase::agent

#include "agent/api/router.h"

namespace antiphase::agent {

HttpResponse json_response(int status, const nlohmann::json& body) {
  // Compact (pretty-printing cost ~8 % per request). Names come from cgroup names and
  // request paths, which need not be UTF-8: replace bad bytes rather than throw.
  return {status, "application/json", body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n"};
}

HttpResponse json_error(int status, const std::string& error, const std::string& detail) {
  return json_response(status, {{"error", error}, {"detail", detail}});
}

bool parse_json_body(const HttpRequest& req, nlohmann::json& out, HttpResponse& error_out) {
  if (req.body.empty()) {
    error_out = json_error(400, "bad request", "expected a JSON object body");
    return false;
  }
  out = nlohmann::json::parse(req.body, nullptr, /*allow_exceptions=*/false);
  if (out.is_discarded()) {
    error_out = json_error(400, "malformed JSON", "the request body is not valid JSON");
    return false;
  }
  if (!out.is_object()) {
    error_out = json_error(400, "bad request", "expected a JSON object body");
    return false;
  }
  return true;
}

bool reject_unknown_fields(const nlohmann::json& body, const std::vector<std::string>& allowed,
                           HttpResponse& error_out) {
  for (const auto& [key, _] : body.items()) {
    if (std::find(allowed.begin(), allowed.end(), key) == allowed.end()) {
      std::string list;
      for (const auto& a : allowed) list += (list.empty() ? "" : ", ") + a;
      error_out = json_error(400, "unknown field", "\"" + key + "\" is not a field of this request; allowed: " + list);
      return false;
    }
  }
  return true;
}

std::string url_decode(const std::string& s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size() && std::isxdigit(static_cast<unsigned char>(s[i + 1])) &&
        std::isxdigit(static_cast<unsigned char>(s[i + 2]))) {
      out.push_back(static_cast<char>(std::stoi(s.substr(i + 1, 2), nullptr, 16)));
      i += 2;
    } else {
      out.push_back(s[i]);
    }
  }
  return out;
}

std::vector<std::string> split_path(const std::string& path) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= path.size()) {
    const size_t end = path.find('/', start);
    const std::string seg = path.substr(start, end == std::string::npos ? std::string::npos : end - start);
    if (!seg.empty()) out.push_back(url_decode(seg));
    if (end == std::string::npos) break;
    start = end + 1;
  }
  return out;
}

void Router::add(const std::string& method, const std::string& pattern, RouteHandler handler) {
  routes_.push_back({method, split_path(pattern), std::move(handler)});
}

bool Router::match(const Route& r, const std::vector<std::string>& path, PathParams& params) {
  if (r.segments.size() != path.size()) return false;
  for (size_t i = 0; i < path.size(); ++i) {
    const auto& seg = r.segments[i];
    if (seg.size() > 2 && seg.front() == '{' && seg.back() == '}') params[seg.substr(1, seg.size() - 2)] = path[i];
    else if (seg != path[i]) return false;
  }
  return true;
}

HttpResponse Router::dispatch(const HttpRequest& req) const {
  const auto path = split_path(req.path);
  std::string allowed;
  for (const auto& r : routes_) {
    PathParams params;
    if (!match(r, path, params)) continue;
    if (r.method == req.method) return r.handler(req, params);
    allowed += (allowed.empty() ? "" : ", ") + r.method;
  }
  if (!allowed.empty()) return json_error(405, "method not allowed", req.method + " " + req.path + "; use " + allowed);
  return json_error(404, "not found", "no endpoint " + req.path);
}

}  // namespace antiphase::agent

// The local API: what each endpoint returns, built from the agent's state.
#include <algorithm>
#include <cmath>

#include <spdlog/spdlog.h>

#include "agent/daemon/agent.h"
#include "agent/features/feature_probe.h"
#include "common/admission/explanation_json.h"
#include "common/admission/memory_guard_json.h"
#include "common/config/defaults.h"
#include "common/shape/embedding.h"
#include "common/shape/summary.h"

namespace antiphase::agent {

using nlohmann::json;

namespace {

json profile_json(const shape::SlotProfile& p) {
  return {{"period_s", p.period_s}, {"slots", p.slots()}, {"mean", p.mean}, {"spread", p.spread}, {"peak", p.peak}};
}

json coefficients_json(const shape::FoldEmbedding& e) {
  return {{"slots", e.slots},
          {"k", e.mean_coef.size()},
          {"mean", std::vector<double>(e.mean_coef.data(), e.mean_coef.data() + e.mean_coef.size())},
          {"spread", std::vector<double>(e.spread_coef.data(), e.spread_coef.data() + e.spread_coef.size())},
          {"mean_energy", e.mean_energy},
          {"mean_residual_energy", e.mean_residual_energy()}};
}

// A function's memory on this host (null when it could not be measured).
json memory_json(const std::optional<FunctionMemory>& m) {
  if (!m) return nullptr;
  return {{"current_bytes", m->current_bytes},
          {"peak_bytes", m->peak_bytes},
          {"instance_peak_bytes", m->instance_peak_bytes},
          {"limit_bytes", m->limit_bytes ? json(*m->limit_bytes) : json(nullptr)},
          {"measured_instances", m->measured_instances},
          {"peak_source", m->peak_from_kernel ? "kernel" : "observed"}};
}

}  // namespace

json Agent::functions_json() const {
  std::lock_guard lock(mu_);
  json list = json::array();
  for (const auto& [name, fn] : usage_.functions()) {
    list.push_back({{"name", name},
                    {"cores", fn.last_tick_cores},
                    {"cores_10s", fn.mean_over(10.0, config_.sampler.tick_s)},
                    {"instances", fn.instances},
                    {"memory", memory_json(fn.memory)},
                    {"cgroups", fn.cgroup_paths}});
  }
  std::sort(list.begin(), list.end(), [](const json& a, const json& b) { return a["cores"] > b["cores"]; });
  return {{"sampler", feed_view_.mode},
          {"memory_source", feed_view_.memory_source},
          {"tick_s", config_.sampler.tick_s},
          {"functions", list}};
}

json Agent::function_json(const std::string& name, bool& found) const {
  std::lock_guard lock(mu_);
  const auto& models = core_.models();
  const auto model = models.find(name);
  const auto live = usage_.functions().find(name);
  found = model != models.end() || live != usage_.functions().end();
  if (!found) return {};
  json out = {{"name", name}, {"running", live != usage_.functions().end()}};
  if (live != usage_.functions().end()) {
    const auto& fn = live->second;
    json history = json::array();
    for (const auto& p : fn.history.to_vector()) history.push_back({p.unix_ms, p.cores});
    out["cores"] = fn.last_tick_cores;
    out["cores_10s"] = fn.mean_over(10.0, config_.sampler.tick_s);
    out["instances"] = fn.instances;
    out["memory"] = memory_json(fn.memory);
    out["cgroups"] = fn.cgroup_paths;
    out["history"] = history;
  }
  if (model == models.end()) return out;
  const auto& m = model->second;
  const auto emb = m.embedding();
  out["shape"] = {{"samples", m.samples()},
                  {"history_s", m.history_s()},
                  {"confidence", m.confidence()},
                  {"mean", m.mean()},
                  {"peak", m.peak()},
                  {"day", profile_json(m.day_profile())},
                  {"hour", profile_json(m.hour_profile())},
                  {"embedding", {{"day", coefficients_json(emb.day)}, {"hour", coefficients_json(emb.hour)}}}};
  if (const auto with_host = core_.shape_correlation_with_host(name))
    out["correlation_with_host"] = {{"rho", with_host->rho}, {"bound", with_host->bound}};
  // The local functions whose day shape moves most against this one: only those whose
  // correlation is negative even at the top of its bound.
  std::vector<std::pair<double, json>> others;
  for (const auto& [other, om] : models) {
    if (other == name) continue;
    const auto c = shape::correlate(emb, om.embedding());
    if (c.rho + std::abs(c.bound) >= 0) continue;
    others.push_back({c.rho, {{"name", other}, {"rho", c.rho}, {"bound", c.bound}}});
  }
  std::sort(others.begin(), others.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  json anti = json::array();
  for (size_t i = 0; i < others.size() && i < 5; ++i) anti.push_back(others[i].second);
  out["most_anticorrelated"] = anti;
  return out;
}

json Agent::host_json() const {
  std::lock_guard lock(mu_);
  const auto& host = core_.host_model();
  const auto& calibrator = core_.calibrator();
  const auto co = core_.comovement();
  const auto last = core_.last_tick_s();
  json relief = nullptr;
  if (const auto r = core_.relief())
    relief = {{"function", r->function}, {"cores", r->cores}, {"host_cores", r->host_cores},
              {"over_s", r->over_s}, {"explanation", r->explanation}};
  return {{"capacity_cores", core_.capacity_cores()},
          {"limit_cores", core_.limit_cores()},
          {"target_utilisation", config_.admission.target_utilisation},
          {"target_overload_rate", core_.config().policy.target_overload_rate},  // 0: packs by peaks
          {"calibrated_z", calibrator.z()},
          {"observed_overload_rate", calibrator.observed_rate()},
          {"calibration_observations", calibrator.observations()},
          {"comovement", {{"mode", config_.admission.comovement},
                          {"estimate", co.rho},
                          {"tenants", co.tenants},
                          {"advertised", core_.advert().comovement}}},
          {"current_cores", usage_.total_cores()},
          {"over_capacity_s", core_.over_capacity_s()},
          {"relief_after_s", core_.config().relief_after_s},
          {"relief", relief},  // the tenant to move while the host stays above capacity (docs/admission.md "Relief")
          // How long a highest use counts, and whether that window applies yet (docs/admission.md
          // "A window that waits for relief").
          {"highest_window", {{"window_s", core_.config().shape.highest_window_s},
                              {"after_relief", core_.config().shape.highest_window_after_relief},
                              {"relief_followed", core_.relief_followed()},
                              {"applies", host.forgets()}}},
          {"functions", usage_.functions().size()},
          {"telemetry_age_s", last ? wall_now_s() - *last : -1.0},
          {"last_sample_unix_s", host.samples() ? host.last_unix_s() : 0},
          {"aggregate",
           {{"samples", host.samples()},
            {"history_s", host.history_s()},
            {"confidence", host.confidence()},
            {"mean", host.mean()},
            {"peak", host.peak()},
            {"day", profile_json(host.day_profile())},
            {"hour", profile_json(host.hour_profile())}}}};
}

namespace {

// The inline day profile of a request: per-slot "mean" and optional "spread" arrays
// (any slot count that divides the day; the core checks the values).
bool read_inline_profile(const json& p, shape::SlotProfile& prof, std::string& error) {
  if (!p.is_object() || !p.contains("mean") || !p["mean"].is_array() || p["mean"].empty() || p["mean"].size() > 1440) {
    error = "\"profile\" must be an object with \"mean\" (and optionally \"spread\") arrays of 1..1440 per-slot cores";
    return false;
  }
  for (const auto& [key, _] : p.items()) {
    if (key != "mean" && key != "spread") {
      error = "\"profile." + key + "\" is not a field; allowed: mean, spread";
      return false;
    }
  }
  const size_t slots = p["mean"].size();
  prof.period_s = 86400;
  try {
    prof.mean = p["mean"].get<std::vector<double>>();
    prof.spread = p.contains("spread") ? p["spread"].get<std::vector<double>>() : std::vector<double>(slots, 0.0);
  } catch (const json::exception&) {
    error = "\"profile\" arrays must hold numbers";
    return false;
  }
  if (prof.spread.size() != slots) {
    error = "\"profile.spread\" must have as many values as \"profile.mean\" (" + std::to_string(slots) + ")";
    return false;
  }
  return true;
}

// Field checks of one admission request, then the request the core understands.
// `reserve`: where the caller may ask the host to count an accepted candidate at once
// (/v1/admit only); it is set from the body's "reserve" field.
bool request_from_json(const json& body, node::AdmitRequest& r, HttpResponse& err, bool* reserve = nullptr) {
  static const std::vector<std::string> fields = {"function", "instances", "mean_cores", "peak_cores", "profile",
                                                  "memory_bytes"};
  static const std::vector<std::string> admit_fields = {"function", "instances",    "mean_cores", "peak_cores",
                                                        "profile",  "memory_bytes", "reserve"};
  auto bad = [&](const std::string& why) {
    err = json_error(400, "bad request", why);
    return false;
  };
  if (!body.is_object()) return bad("each candidate must be an object");
  if (!reject_unknown_fields(body, reserve ? admit_fields : fields, err)) return false;
  if (reserve) {
    if (body.contains("reserve") && !body["reserve"].is_boolean()) return bad("\"reserve\" must be true or false");
    *reserve = body.value("reserve", false);
  }
  if (!body.contains("function") || !body["function"].is_string() || body["function"].get<std::string>().empty())
    return bad("\"function\" (a non-empty string) is required");
  r.function = body["function"].get<std::string>();
  if (body.contains("instances")) {
    if (!body["instances"].is_number_unsigned() || body["instances"].get<uint64_t>() < 1 ||
        body["instances"].get<uint64_t>() > 100000)
      return bad("\"instances\" must be an integer between 1 and 100000");
    r.instances = body["instances"].get<uint32_t>();
  }
  for (const char* key : {"mean_cores", "peak_cores"}) {
    if (!body.contains(key)) continue;
    if (!body[key].is_number() || body[key].get<double>() < 0 || !std::isfinite(body[key].get<double>()))
      return bad(std::string("\"") + key + "\" must be a non-negative number of cores");
  }
  if (body.contains("mean_cores")) r.mean_cores = body["mean_cores"].get<double>();
  if (body.contains("peak_cores")) r.peak_cores = body["peak_cores"].get<double>();
  std::string memory_error;
  if (!admission::read_memory_bytes(body, r.memory_bytes, memory_error)) return bad(memory_error);
  if (body.contains("profile")) {
    shape::SlotProfile prof;
    std::string error;
    if (!read_inline_profile(body["profile"], prof, error)) return bad(error);
    r.profile = std::move(prof);
  }
  return true;
}

}  // namespace

HttpResponse Agent::admit(const HttpRequest& req) {
  json body;
  HttpResponse err;
  if (!parse_json_body(req, body, err)) return err;
  node::AdmitRequest request;
  bool reserve = false;
  // Before the lock (the request is validated under it): a fetch waits for the network.
  if (body.contains("function") && body["function"].is_string()) fetch_unheard(body["function"].get<std::string>());
  std::lock_guard lock(mu_);
  if (!request_from_json(body, request, err, &reserve)) {
    ++counters_.decisions_error;
    return err;
  }
  hear_about(request.function);
  const node::Answer a = reserve ? core_.admit_and_reserve(request, wall_now_s()) : core_.admit(request, wall_now_s());
  if (!a.ok()) {
    ++counters_.decisions_error;
    return json_error(400, "bad request", a.error);
  }
  ++(a.decision.accept ? counters_.decisions_accept : counters_.decisions_reject);
  return json_response(200, admission::to_json(a.decision, a.memory));
}

HttpResponse Agent::rank(const HttpRequest& req) {
  json body;
  HttpResponse err;
  if (!parse_json_body(req, body, err) || !reject_unknown_fields(body, {"candidates"}, err)) return err;
  if (!body.contains("candidates") || !body["candidates"].is_array() || body["candidates"].empty() ||
      body["candidates"].size() > defaults::kMaxRankCandidates)
    return json_error(400, "bad request", "\"candidates\" must be an array of 1.." +
                                              std::to_string(defaults::kMaxRankCandidates) + " admission requests");
  std::vector<node::AdmitRequest> requests;
  for (const auto& item : body["candidates"]) {
    node::AdmitRequest r;
    if (!request_from_json(item, r, err)) return err;
    requests.push_back(std::move(r));
  }
  for (const auto& r : requests) fetch_unheard(r.function);
  std::lock_guard lock(mu_);
  for (const auto& r : requests) hear_about(r.function);
  const node::RankAnswer a = core_.rank(requests, wall_now_s());
  if (!a.error.empty()) return json_error(400, "bad request", a.error);
  json out = json::array();
  for (const auto& [d, memory] : a.ranking) out.push_back(admission::to_json(d, memory));
  return json_response(200, {{"ranking", out}});
}

HttpResponse Agent::place(const HttpRequest& req) {
  json body;
  HttpResponse err;
  if (!parse_json_body(req, body, err)) return err;
  node::AdmitRequest request;
  if (!request_from_json(body, request, err)) return err;
  fetch_unheard(request.function);
  std::lock_guard lock(mu_);
  hear_about(request.function);
  // This host and every live peer, each judged as it judges itself.
  const node::PlaceAnswer a = core_.place(request, wall_now_s());
  if (!a.error.empty()) return json_error(400, "bad request", a.error);
  json out = json::array();
  for (const auto& o : a.hosts)
    out.push_back({{"node_id", o.node_id}, {"endpoint", o.endpoint}, {"local", o.local},
                   {"decision", admission::to_json(o.decision, o.memory)}});
  return json_response(200, {{"function", request.function}, {"hosts", out}});
}

HttpResponse Agent::peers() const {
  if (!gossip_) return json_error(404, "gossip disabled", "set gossip.enabled = true to join peers");
  std::lock_guard lock(mu_);
  return json_response(200, gossip_->peers_json());
}

void Agent::register_routes() {
  router_.add("GET", "/healthz", [this](const HttpRequest&, const PathParams&) {
    std::lock_guard lock(mu_);
    return json_response(200, {{"status", "ok"}, {"ticks", counters_.ticks}});
  });
  router_.add("GET", "/v1/functions", [this](const HttpRequest&, const PathParams&) {
    return json_response(200, functions_json());
  });
  router_.add("GET", "/v1/functions/{name}", [this](const HttpRequest&, const PathParams& p) {
    bool found = false;
    auto body = function_json(p.at("name"), found);
    if (!found) return json_error(404, "unknown function", "no function named \"" + p.at("name") + "\" is known here");
    return json_response(200, body);
  });
  router_.add("GET", "/v1/host", [this](const HttpRequest&, const PathParams&) { return json_response(200, host_json()); });
  router_.add("GET", "/v1/stats", [this](const HttpRequest&, const PathParams&) { return json_response(200, stats_json()); });
  router_.add("GET", "/metrics", [this](const HttpRequest&, const PathParams&) {
    return HttpResponse{200, "text/plain; version=0.0.4; charset=utf-8", metrics_text()};
  });
  router_.add("POST", "/v1/admit", [this](const HttpRequest& r, const PathParams&) { return admit(r); });
  router_.add("POST", "/v1/rank", [this](const HttpRequest& r, const PathParams&) { return rank(r); });
  router_.add("POST", "/v1/place", [this](const HttpRequest& r, const PathParams&) { return place(r); });
  router_.add("GET", "/v1/peers", [this](const HttpRequest&, const PathParams&) { return peers(); });
}

}  // namespace antiphase::agent

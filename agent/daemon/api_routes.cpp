// The local API: what each endpoint returns, built from the agent's state.
#include <algorithm>
#include <cmath>

#include <spdlog/spdlog.h>

#include "agent/daemon/agent.h"
#include "agent/features/feature_probe.h"
#include "common/admission/explanation_json.h"
#include "common/admission/rank.h"
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

// Slots that were never observed would read as zero load; for the host that would
// promise headroom nobody measured, so they take the host's observed peak.
shape::SlotProfile fill_unobserved(shape::SlotProfile p, const std::vector<bool>& observed, double peak) {
  for (size_t w = 0; w < p.slots() && w < observed.size(); ++w) {
    if (observed[w]) continue;
    p.mean[w] = peak;
    p.peak[w] = peak;
  }
  return p;
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
  return {{"sampler", mode_name()},
          {"memory_source", memory_ ? to_string(memory_->layout().hierarchy) : "none"},
          {"tick_s", config_.sampler.tick_s},
          {"functions", list}};
}

json Agent::function_json(const std::string& name, bool& found) const {
  std::lock_guard lock(mu_);
  const auto model = models_.find(name);
  const auto live = usage_.functions().find(name);
  found = model != models_.end() || live != usage_.functions().end();
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
  if (model == models_.end()) return out;
  const auto& m = model->second;
  const auto emb = m.embedding();
  const auto host_emb = host_model_.embedding();
  const auto with_host = shape::correlate(emb, host_emb);
  out["shape"] = {{"samples", m.samples()},
                  {"history_s", m.history_s()},
                  {"confidence", m.confidence()},
                  {"mean", m.mean()},
                  {"peak", m.peak()},
                  {"day", profile_json(m.day_profile())},
                  {"hour", profile_json(m.hour_profile())},
                  {"embedding", {{"day", coefficients_json(emb.day)}, {"hour", coefficients_json(emb.hour)}}}};
  out["correlation_with_host"] = {{"rho", with_host.rho}, {"bound", with_host.bound}};
  // The local functions whose day shape moves most against this one.
  std::vector<std::pair<double, json>> others;
  for (const auto& [other, om] : models_) {
    if (other == name) continue;
    const auto c = shape::correlate(emb, om.embedding());
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
  const double total = usage_.total_cores();
  return {{"capacity_cores", capacity_cores()},
          {"target_utilisation", config_.admission.target_utilisation},
          {"target_overload_rate", config_.admission.target_overload_rate},
          {"calibrated_z", calibrator_.z()},
          {"observed_overload_rate", calibrator_.observed_rate()},
          {"calibration_observations", calibrator_.observations()},
          {"current_cores", total},
          {"functions", usage_.functions().size()},
          {"telemetry_age_s", telemetry_age_s()},
          {"aggregate",
           {{"samples", host_model_.samples()},
            {"history_s", host_model_.history_s()},
            {"confidence", host_model_.confidence()},
            {"mean", host_model_.mean()},
            {"peak", host_model_.peak()},
            {"day", profile_json(host_model_.day_profile())},
            {"hour", profile_json(host_model_.hour_profile())}}}};
}

admission::HostView Agent::host_view_locked() const {
  admission::HostView h;
  h.aggregate = fill_unobserved(host_model_.day_profile(), host_model_.day_observed(), host_model_.peak());
  h.capacity_cores = capacity_cores();
  const double age = telemetry_age_s();
  h.telemetry_age_s = age < 0 ? 1e9 : age;
  h.admitted_mean_cores = host_model_.mean();
  return h;
}

namespace {

// A function's learned profile covers all its instances on the host that learned it;
// a candidate is sized per instance. Dividing the spread by n too assumes the
// instances move together, which overstates rather than understates the risk.
shape::SlotProfile per_instance(shape::SlotProfile p, uint32_t instances) {
  if (instances <= 1) return p;
  const double n = instances;
  for (auto* v : {&p.mean, &p.spread, &p.peak})
    for (double& x : *v) x /= n;
  return p;
}

bool read_inline_profile(const json& p, size_t slots, shape::SlotProfile& prof, std::string& error) {
  if (!p.is_object() || !p.contains("mean") || !p["mean"].is_array() || p["mean"].size() != slots) {
    error = "\"profile\" must be an object with \"mean\" (and optionally \"spread\") arrays of " +
            std::to_string(slots) + " per-slot cores";
    return false;
  }
  for (const auto& [key, _] : p.items()) {
    if (key != "mean" && key != "spread") {
      error = "\"profile." + key + "\" is not a field; allowed: mean, spread";
      return false;
    }
  }
  prof.period_s = 86400;
  try {
    prof.mean = p["mean"].get<std::vector<double>>();
    prof.spread = p.contains("spread") ? p["spread"].get<std::vector<double>>() : std::vector<double>(slots, 0.0);
  } catch (const json::exception&) {
    error = "\"profile\" arrays must hold numbers";
    return false;
  }
  if (prof.spread.size() != slots) {
    error = "\"profile.spread\" must have " + std::to_string(slots) + " values";
    return false;
  }
  for (size_t w = 0; w < slots; ++w) {
    if (!(prof.mean[w] >= 0) || !(prof.spread[w] >= 0) || !std::isfinite(prof.mean[w] + prof.spread[w])) {
      error = "\"profile\" values must be finite and non-negative (slot " + std::to_string(w) + ")";
      return false;
    }
  }
  prof.peak.resize(slots);
  for (size_t w = 0; w < slots; ++w) prof.peak[w] = prof.mean[w] + 3 * prof.spread[w];
  return true;
}

}  // namespace

void Agent::correlate_with_host(admission::Candidate& c, const shape::Embedding& host,
                                const shape::Embedding& candidate) const {
  const auto corr = shape::correlate(host, candidate);
  c.correlation = {corr.rho, corr.bound};
}

bool Agent::candidate_from_request(const json& body, admission::Candidate& c, shape::Embedding& embedding,
                                   std::string& error) const {
  if (!body.contains("function") || !body["function"].is_string() || body["function"].get<std::string>().empty()) {
    error = "\"function\" (a non-empty string) is required";
    return false;
  }
  c.function = body["function"].get<std::string>();
  if (body.contains("instances")) {
    if (!body["instances"].is_number_unsigned() || body["instances"].get<uint64_t>() < 1 ||
        body["instances"].get<uint64_t>() > 100000) {
      error = "\"instances\" must be an integer between 1 and 100000";
      return false;
    }
    c.instances = body["instances"].get<uint32_t>();
  }
  for (const char* key : {"mean_cores", "peak_cores"}) {
    if (!body.contains(key)) continue;
    if (!body[key].is_number() || body[key].get<double>() < 0 || !std::isfinite(body[key].get<double>())) {
      error = std::string("\"") + key + "\" must be a non-negative number of cores";
      return false;
    }
  }
  if (body.contains("mean_cores")) c.request_mean_cores = body["mean_cores"].get<double>();
  if (body.contains("peak_cores")) c.request_peak_cores = body["peak_cores"].get<double>();

  if (const auto model = models_.find(c.function); model != models_.end()) {
    const auto live = usage_.functions().find(c.function);
    const uint32_t running = live == usage_.functions().end() ? 1 : std::max<uint32_t>(1, live->second.instances);
    c.profile = per_instance(model->second.day_profile(), running);
    c.confidence = model->second.confidence();
    embedding = model->second.embedding();
  } else if (const auto gossiped = gossip_ ? gossip_->function_summary(c.function) : std::nullopt) {
    c.profile = per_instance(shape::reconstruct_day(*gossiped), std::max<uint32_t>(1, gossiped->instances));
    c.confidence = gossiped->confidence;
    embedding = shape::embedding_of(*gossiped, config_.shape.k);
  } else if (body.contains("profile")) {
    shape::SlotProfile prof;
    if (!read_inline_profile(body["profile"], config_.shape.day_slots, prof, error)) return false;
    embedding = shape::Embedding{shape::embed_profile(prof, config_.shape.k), {}};
    c.profile = std::move(prof);
    c.confidence = 1.0;
  } else {
    return true;  // unknown here: the policy sizes it from the request or refuses it
  }
  correlate_with_host(c, host_model_.embedding(), embedding);
  return true;
}

bool Agent::candidate_from_json(const json& item, admission::Candidate& c, shape::Embedding& embedding,
                                HttpResponse& err) const {
  static const std::vector<std::string> fields = {"function", "instances", "mean_cores", "peak_cores", "profile"};
  if (!item.is_object()) {
    err = json_error(400, "bad request", "each candidate must be an object");
    return false;
  }
  if (!reject_unknown_fields(item, fields, err)) return false;
  std::string error;
  if (candidate_from_request(item, c, embedding, error)) return true;
  err = json_error(400, "bad request", error);
  return false;
}

HttpResponse Agent::admit(const HttpRequest& req) {
  json body;
  HttpResponse err;
  if (!parse_json_body(req, body, err)) return err;
  admission::Candidate candidate;
  shape::Embedding embedding;
  std::lock_guard lock(mu_);
  if (!candidate_from_json(body, candidate, embedding, err)) {
    ++counters_.decisions_error;
    return err;
  }
  const auto decision = policy_.decide(host_view_locked(), candidate, calibrator_.z());
  ++(decision.accept ? counters_.decisions_accept : counters_.decisions_reject);
  return json_response(200, admission::to_json(decision));
}

HttpResponse Agent::rank(const HttpRequest& req) {
  json body;
  HttpResponse err;
  if (!parse_json_body(req, body, err) || !reject_unknown_fields(body, {"candidates"}, err)) return err;
  if (!body.contains("candidates") || !body["candidates"].is_array() || body["candidates"].empty() ||
      body["candidates"].size() > 1000)
    return json_error(400, "bad request", "\"candidates\" must be an array of 1..1000 admission requests");
  std::lock_guard lock(mu_);
  std::vector<admission::Candidate> candidates;
  for (const auto& item : body["candidates"]) {
    admission::Candidate c;
    shape::Embedding embedding;
    if (!candidate_from_json(item, c, embedding, err)) return err;
    candidates.push_back(std::move(c));
  }
  const auto ranked = admission::rank_candidates(policy_, host_view_locked(), candidates, calibrator_.z());
  json out = json::array();
  for (const auto& r : ranked) out.push_back(admission::to_json(r.decision));
  return json_response(200, {{"ranking", out}});
}

HttpResponse Agent::place(const HttpRequest& req) {
  json body;
  HttpResponse err;
  if (!parse_json_body(req, body, err)) return err;
  admission::Candidate candidate;
  shape::Embedding embedding;
  std::lock_guard lock(mu_);
  if (!candidate_from_json(body, candidate, embedding, err)) return err;
  // This host and every live peer, each judged by the same policy against its own
  // aggregate — and its own correlation with the candidate.
  struct Option {
    std::string node_id, endpoint;
    bool local;
  };
  std::vector<Option> options{{gossip_ ? gossip_->node_id() : std::string("local"), config_.gossip.bind, true}};
  std::vector<admission::Decision> decisions{policy_.decide(host_view_locked(), candidate, calibrator_.z())};
  if (gossip_) {
    for (const auto& peer : gossip_->peer_hosts()) {
      admission::Candidate for_peer = candidate;
      if (candidate.profile)
        correlate_with_host(for_peer, shape::Embedding{shape::embed_profile(peer.view.aggregate, config_.shape.k), {}}, embedding);
      decisions.push_back(policy_.decide(peer.view, for_peer, calibrator_.z()));
      options.push_back({peer.node_id, peer.endpoint, false});
    }
  }
  json out = json::array();
  for (const auto& r : admission::rank_decisions(decisions)) {
    json d = admission::to_json(r.decision);
    out.push_back({{"node_id", options[r.index].node_id},
                   {"endpoint", options[r.index].endpoint},
                   {"local", options[r.index].local},
                   {"decision", d}});
  }
  return json_response(200, {{"function", candidate.function}, {"hosts", out}});
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

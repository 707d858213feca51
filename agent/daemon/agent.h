#pragma once
// The agent: measures (sampler + registry), learns (shape models), decides
// (admission) and explains (HTTP API), driven by one tick loop.
#include <atomic>
#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include <nlohmann/json.hpp>

#include "agent/api/http_server.h"
#include "agent/api/router.h"
#include "agent/daemon/gossip_bridge.h"
#include "agent/daemon/replay_feed.h"
#include "agent/memory/memory_reader.h"
#include "agent/registry/registry.h"
#include "agent/sampler/sampler.h"
#include "agent/usage/usage_tracker.h"
#include "common/admission/margin_calibrator.h"
#include "common/admission/policy.h"
#include "common/config/config.h"
#include "common/shape/shape_model.h"

namespace antiphase::agent {

class FeatureProbe;

struct AgentCounters {
  uint64_t ticks = 0;
  uint64_t ticks_late = 0;         // tick started more than half a tick late
  double last_tick_lag_ms = 0;     // how late the last tick started
  double last_tick_work_ms = 0;    // how long the last tick took
  uint64_t rescans = 0;
  uint64_t sampler_errors = 0;
  uint64_t decisions_accept = 0, decisions_reject = 0, decisions_error = 0;
  uint64_t state_saves = 0, state_save_errors = 0;
};

class Agent {
 public:
  Agent(config::Config config, std::string config_path);
  ~Agent();

  // Builds the registry, sampler and API; throws std::runtime_error with a message
  // an operator can act on (which key, which path, which capability).
  void start();
  // Ticks until SIGTERM/SIGINT (blocked by the caller before any thread started);
  // SIGHUP reloads what can be reloaded safely. Returns the exit code.
  int run();

  // Everything below is for the API handlers (they lock the agent).
  nlohmann::json functions_json() const;
  nlohmann::json function_json(const std::string& name, bool& found) const;
  nlohmann::json host_json() const;
  nlohmann::json stats_json() const;
  std::string metrics_text() const;
  HttpResponse admit(const HttpRequest& req);
  HttpResponse rank(const HttpRequest& req);
  HttpResponse place(const HttpRequest& req);
  HttpResponse peers() const;

 private:
  void tick();
  void replay_tick();
  void publish_to_peers();  // with mu_ held
  void start_measuring();
  std::string mode_name() const;
  double telemetry_age_s() const;
  void feed_models(const TickResult& r);
  void maybe_save_state(bool force);
  void load_state();
  void reload_config();
  void register_routes();
  double capacity_cores() const;
  admission::HostView host_view_locked() const;
  // Fills the candidate from the request: this host's learned shape, else a peer's
  // gossiped summary, else the inline profile or size. `embedding` gets the
  // candidate's shape embedding (for correlating it with other hosts).
  bool candidate_from_request(const nlohmann::json& body, admission::Candidate& out, shape::Embedding& embedding,
                              std::string& error) const;
  // Field check + candidate_from_request, with the 400 response on failure.
  bool candidate_from_json(const nlohmann::json& item, admission::Candidate& out, shape::Embedding& embedding,
                           HttpResponse& err) const;
  void correlate_with_host(admission::Candidate& c, const shape::Embedding& host, const shape::Embedding& candidate) const;
  std::string state_path() const;

  config::Config config_;
  std::string config_path_;
  std::unique_ptr<FeatureProbe> features_;
  std::unique_ptr<CgroupRegistry> registry_;
  std::unique_ptr<Sampler> sampler_;
  std::unique_ptr<MemoryReader> memory_;  // per-function memory, read every tick
  std::string sampler_reason_;
  std::string cgroup2_mount_;

  mutable std::mutex mu_;  // guards everything the tick loop writes and the API reads
  UsageTracker usage_;
  std::map<std::string, shape::ShapeModel> models_;
  shape::ShapeModel host_model_;
  admission::MarginCalibrator calibrator_;
  admission::AdmissionPolicy policy_;
  AgentCounters counters_;
  int64_t last_sample_unix_ms_ = 0;  // sample time (trace time when replaying)
  int64_t last_tick_wall_ms_ = 0;    // wall clock of the last completed tick (staleness)
  std::unique_ptr<ReplayFeed> replay_;
  std::chrono::steady_clock::time_point started_;
  std::chrono::steady_clock::time_point last_rescan_{};
  std::chrono::steady_clock::time_point last_save_{};

  Router router_;
  std::unique_ptr<HttpServer> api_;
  std::unique_ptr<HttpServer> metrics_server_;
  std::unique_ptr<GossipBridge> gossip_;
};

// Builds the shape and admission settings from the config.
shape::ShapeConfig shape_config_from(const config::Config& c);
admission::PolicyConfig policy_config_from(const config::Config& c);

}  // namespace antiphase::agent

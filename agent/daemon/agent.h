#pragma once
// The agent: a thin OS layer around the node core (common/node). It measures (usage
// feed: registry + sampler, or a replayed trace), feeds the core one tick at a time,
// connects it to peers (gossip bridge) and to clients (HTTP API). Every rule lives in
// the core; this file only moves numbers between the core and the outside world.
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
#include "agent/daemon/usage_feed.h"
#include "agent/usage/usage_tracker.h"
#include "common/config/config.h"
#include "common/node/node_core.h"

namespace antiphase::agent {

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
  // Builds the node core and the API routes; no I/O (the fuzz target dispatches
  // requests to a constructed, never started agent).
  Agent(config::Config config, std::string config_path);
  ~Agent();

  // Builds the usage feed, loads state, starts gossip and the API; throws
  // std::runtime_error with a message an operator can act on.
  void start();
  // Ticks until SIGTERM/SIGINT (blocked by the caller before any thread started);
  // SIGHUP reloads what can be reloaded safely. Returns the exit code.
  int run();
  // One tick (what run() does between waits); public for tests.
  void tick();

  const Router& router() const { return router_; }

  // Everything below is for the API handlers (they lock the agent).
  nlohmann::json functions_json() const;
  nlohmann::json function_json(const std::string& name, bool& found) const;
  nlohmann::json host_json() const;
  nlohmann::json stats_json() const;
  std::string metrics_text() const;
  uint64_t sampler_errors() const;
  HttpResponse admit(const HttpRequest& req);
  HttpResponse rank(const HttpRequest& req);
  HttpResponse place(const HttpRequest& req);
  HttpResponse peers() const;

 private:
  void feed_core(const TickResult& r, const std::optional<HostMeminfo>& meminfo, double now_s);  // with mu_ held
  void maybe_save_state(bool force);
  void load_state();
  void reload_config();
  void register_routes();
  // Before a decision about `function`: what gossip knows of it, into the core.
  void hear_about(const std::string& function);  // with mu_ held
  // With function homes: fetches a summary this agent lacks from its homes (up to 50 ms),
  // so that hear_about() finds it. Without mu_ held: the tick must not wait for the network.
  void fetch_unheard(const std::string& function);
  std::optional<std::string> gossiped_blob(const std::string& function) const;  // nothing without gossip
  std::string state_path() const;
  static double wall_now_s();

  config::Config config_;
  std::string config_path_;
  long online_cpus_;

  mutable std::mutex mu_;  // guards everything below that the tick loop writes and the API reads
  node::NodeCore core_;
  UsageTracker usage_;
  AgentCounters counters_;
  FeedView feed_view_;     // what the feed reports about itself (roots, sampler stats)
  std::chrono::steady_clock::time_point started_;
  std::chrono::steady_clock::time_point last_save_{};

  // Declared in the order they are needed: destroyed in reverse, so the API (whose
  // threads call into gossip) goes before gossip, and gossip before the feed.
  std::unique_ptr<UsageFeed> feed_;
  std::unique_ptr<GossipBridge> gossip_;
  Router router_;
  std::unique_ptr<HttpServer> api_;
  std::unique_ptr<HttpServer> metrics_server_;
};

}  // namespace antiphase::agent

#pragma once
// Connects the node core to its peers: publishes the core's host advert and the
// summaries of functions whose shape moved (rate-limited), and tells the core what
// peers said (the adverts and liveness that changed, on every tick; function summaries when asked about).
#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "agent/gossip/gossip_agent.h"
#include "common/config/config.h"
#include "common/node/node_core.h"
#include "common/node/publisher.h"
#include "common/shape/summary.h"

namespace antiphase::agent {

class GossipBridge {
 public:
  // Throws gossip::GossipConfigError with a message naming the bad key or file.
  explicit GossipBridge(const config::Config& config);
  ~GossipBridge();
  void start();
  void stop();

  // Called once per tick under the agent's lock: what node::Publisher says is due.
  void publish(const node::NodeCore& core, double now_s);
  // Tells the core the liveness and advert of each peer that changed since the last call.
  void sync_peers(node::NodeCore& core);
  // A function's gossiped summary (encoded), if any peer published one. With function
  // homes this also keeps the agent interested in it (tenants are looked up every tick).
  std::optional<std::string> function_blob(const std::string& function) const;
  // With function homes, a function this agent holds no summary of is fetched from its
  // homes first, waiting up to kColdFetchWait; call it without the agent's lock held.
  void fetch_if_unheard(const std::string& function);
  static constexpr std::chrono::milliseconds kColdFetchWait{50};

  nlohmann::json peers_json() const;
  nlohmann::json stats_json() const;
  agent::gossip::Stats stats() const { return agent_->stats(); }
  const std::string& node_id() const { return agent_->node_id(); }

 private:
  std::unique_ptr<agent::gossip::GossipAgent> agent_;
  node::Publisher publisher_;
  uint64_t bad_adverts_ = 0;
};

}  // namespace antiphase::agent

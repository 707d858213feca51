#pragma once
// Connects the node core to its peers: publishes the core's host advert and the
// summaries of functions whose shape moved (rate-limited), and tells the core what
// peers said (their adverts, on every tick; function summaries when asked about).
#include <map>
#include <memory>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "agent/gossip/gossip_agent.h"
#include "common/config/config.h"
#include "common/gossip/republish_gate.h"
#include "common/node/node_core.h"
#include "common/shape/summary.h"

namespace antiphase::agent {

class GossipBridge {
 public:
  // Throws gossip::GossipConfigError with a message naming the bad key or file.
  explicit GossipBridge(const config::Config& config);
  ~GossipBridge();
  void start();
  void stop();

  // Called once per tick under the agent's lock; cheap: a function is re-summarised
  // only once per republish interval.
  void publish(const node::NodeCore& core, double now_s);
  // Tells the core every peer's liveness and current advert (decoded only when it changed).
  void sync_peers(node::NodeCore& core, double now_s);
  // A function's gossiped summary (encoded), if any peer published one.
  std::optional<std::string> function_blob(const std::string& function) const;

  nlohmann::json peers_json() const;
  nlohmann::json stats_json() const;
  agent::gossip::Stats stats() const { return agent_->stats(); }
  const std::string& node_id() const { return agent_->node_id(); }

 private:
  bool checked_recently(const std::string& key, double now_s);
  bool should_publish(const std::string& key, const shape::Summary& fresh, double now_s);
  void publish_advert(const node::NodeCore& core);

  config::GossipConfigKeys keys_;
  std::unique_ptr<agent::gossip::GossipAgent> agent_;
  antiphase::gossip::RepublishGate gate_;
  std::map<std::string, double> last_checked_s_;
  std::map<std::string, shape::Summary> last_published_;
  std::optional<node::HostAdvert> published_advert_;
  uint64_t next_version_ = 1;
  uint64_t republished_ = 0, suppressed_ = 0, adverts_published_ = 0, bad_adverts_ = 0;
};

}  // namespace antiphase::agent

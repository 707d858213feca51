#pragma once
// Connects the agent to its peers: publishes this host's state and the summaries of
// functions whose shape moved (rate-limited), and answers "what do peers know about
// function X / which peers could take X".
#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "agent/gossip/gossip_agent.h"
#include "common/gossip/republish_gate.h"
#include "common/admission/decision.h"
#include "common/config/config.h"
#include "common/shape/shape_model.h"
#include "common/shape/summary.h"

namespace antiphase::agent {

struct PeerHost {
  std::string node_id, endpoint;
  admission::HostView view;
};

class GossipBridge {
 public:
  // Throws gossip::GossipConfigError with a message naming the bad key or file.
  GossipBridge(const config::Config& config, double capacity_cores);
  ~GossipBridge();
  void start();
  void stop();

  // Called once per tick with the agent's models (under the agent's lock; cheap: it
  // only re-summarises functions whose republish interval has passed).
  void publish(const std::map<std::string, shape::ShapeModel>& models,
               const std::map<std::string, uint32_t>& instances, const shape::ShapeModel& host, double now_s);

  std::optional<shape::Summary> function_summary(const std::string& function) const;
  std::vector<PeerHost> peer_hosts() const;  // alive peers with a decodable host summary
  nlohmann::json peers_json() const;
  nlohmann::json stats_json() const;
  agent::gossip::Stats stats() const { return agent_->stats(); }
  const std::string& node_id() const { return agent_->node_id(); }

 private:
  bool checked_recently(const std::string& key, double now_s);
  bool should_publish(const std::string& key, const shape::Summary& fresh, double now_s);

  config::GossipConfigKeys keys_;
  double capacity_cores_;
  std::unique_ptr<agent::gossip::GossipAgent> agent_;
  antiphase::gossip::RepublishGate gate_;
  std::map<std::string, double> last_checked_s_;
  std::map<std::string, shape::Summary> last_published_;
  uint64_t next_version_ = 1;
  uint64_t republished_ = 0, suppressed_ = 0;
};

agent::gossip::GossipConfig gossip_config_from(const config::Config& c);

}  // namespace antiphase::agent

#include "agent/daemon/gossip_bridge.h"

#include <spdlog/spdlog.h>

#include "agent/gossip/gossip_config.h"
#include "common/node/peer_sync.h"

namespace antiphase::agent {

namespace {

node::PublisherConfig publisher_config_from(const config::Config& c) {
  node::PublisherConfig p;
  p.threshold = c.gossip.republish_threshold;
  p.min_interval_s = c.gossip.republish_min_interval_s;
  return p;
}

}  // namespace

GossipBridge::GossipBridge(const config::Config& config)
    : agent_(std::make_unique<agent::gossip::GossipAgent>(gossip_config_from(config))),
      publisher_(publisher_config_from(config)) {}

GossipBridge::~GossipBridge() { stop(); }

void GossipBridge::start() { agent_->start(); }
void GossipBridge::stop() {
  if (agent_) agent_->stop();
}

void GossipBridge::publish(const node::NodeCore& core, double now_s) {
  const node::Publication due = publisher_.due(
      core, now_s, [&](const std::string& function) { return agent_->function_summary(function).has_value(); },
      agent_->caught_up());
  if (due.advert) agent_->set_node_state({"", "", core.capacity_cores(), *due.advert});
  for (const auto& [name, blob] : due.functions) agent_->publish_function(name, blob);
}

void GossipBridge::sync_peers(node::NodeCore& core) {
  const agent::gossip::GossipChanges changes = agent_->take_changes();
  const node::PeerSyncResult r = node::apply_peer_changes(core, changes.nodes, [&](const std::string& id) {
    std::optional<node::PeerUpdate> update;
    if (const auto member = agent_->node(id))
      update = node::PeerUpdate{id, member->second.endpoint, member->second.state == agent::gossip::PeerState::Alive,
                                member->first.host_summary};
    return update;
  });
  bad_adverts_ += r.undecodable;
  if (r.undecodable) spdlog::debug("{} peer advert(s) do not decode; last: {}", r.undecodable, r.last_error);
}

std::optional<std::string> GossipBridge::function_blob(const std::string& function) const {
  agent_->want_function(function);
  return agent_->function_summary(function);
}

void GossipBridge::fetch_if_unheard(const std::string& function) {
  if (agent_->homed()) agent_->fetch_function(function, kColdFetchWait);
}

nlohmann::json GossipBridge::peers_json() const {
  nlohmann::json list = nlohmann::json::array();
  for (const auto& [node, peer] : agent_->nodes()) {
    list.push_back({{"node_id", peer.node_id},
                    {"endpoint", peer.endpoint},
                    {"state", std::string(antiphase::gossip::to_string(peer.state))},
                    {"last_heard_s_ago", peer.last_heard_s_ago},
                    {"generation", peer.generation},
                    {"max_version", peer.max_version},
                    {"capacity_cores", node.capacity_cores}});
  }
  return {{"node_id", agent_->node_id()}, {"peers", list}};
}

nlohmann::json GossipBridge::stats_json() const {
  const auto s = agent_->stats();
  return {{"node_id", agent_->node_id()},
          {"signing", s.signing},
          {"generation", s.generation},
          {"rounds", s.rounds},
          {"msgs_in", s.msgs_in}, {"msgs_out", s.msgs_out},
          {"bytes_in", s.bytes_in}, {"bytes_out", s.bytes_out},
          {"dropped_malformed", s.dropped_malformed}, {"dropped_oversize", s.dropped_oversize},
          {"refused_auth", s.refused_auth}, {"refused_identity", s.refused_identity},
          {"duplicate_node_id", s.duplicate_node_id}, {"send_dropped", s.send_dropped},
          {"records", {{"applied", s.records_applied}, {"forged", s.records_forged}, {"stale", s.records_stale},
                       {"unverifiable", s.records_unverifiable}, {"rejected", s.records_rejected}}},
          {"failure_detection", {{"probes_failed", s.probes_failed}, {"suspicions", s.suspicions},
                                 {"refutations", s.refutations}, {"deaths_declared", s.deaths_declared},
                                 {"local_health", s.local_health}}},
          {"peers", {{"alive", s.peers_alive}, {"suspect", s.peers_suspect}, {"dead", s.peers_dead}, {"left", s.peers_left}}},
          {"functions_known", s.functions},
          {"caught_up", s.caught_up},
          {"pulls_given_up", s.pulls_given_up},
          {"state_bytes", s.state_bytes},
          {"function_homes", {{"homes", s.function_homes}, {"interest_pulls", s.interest_pulls},
                              {"functions_forgotten", s.functions_forgotten}, {"home_news_sent", s.home_news_sent}}},
          {"summaries_published", publisher_.counters().summaries_published},
          {"summaries_suppressed", publisher_.counters().summaries_suppressed},
          {"adverts_published", publisher_.counters().adverts_published},
          {"summaries_restored", publisher_.counters().summaries_restored},
          {"adverts_undecodable", bad_adverts_}};
}

}  // namespace antiphase::agent

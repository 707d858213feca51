#include "agent/daemon/gossip_bridge.h"

#include <set>

#include <spdlog/spdlog.h>

#include "agent/daemon/agent_config.h"

namespace antiphase::agent {

namespace {
// Unchanged summaries are still re-sent every this many republish intervals.
constexpr double kRefreshIntervals = 10;
// The advert shares the republish gate with function summaries under a key no
// function can have (function names come from cgroup directory names).
constexpr const char* kAdvertKey = "/host advert";
}  // namespace

GossipBridge::GossipBridge(const config::Config& config)
    : keys_(config.gossip),
      agent_(std::make_unique<agent::gossip::GossipAgent>(gossip_config_from(config))),
      gate_(/*threshold=*/0.5, config.gossip.republish_min_interval_s, kRefreshIntervals * config.gossip.republish_min_interval_s) {}

GossipBridge::~GossipBridge() { stop(); }

void GossipBridge::start() { agent_->start(); }
void GossipBridge::stop() {
  if (agent_) agent_->stop();
}

bool GossipBridge::checked_recently(const std::string& key, double now_s) {
  auto [it, fresh] = last_checked_s_.try_emplace(key, now_s);
  if (fresh) return false;
  if (now_s - it->second < keys_.republish_min_interval_s) return true;
  it->second = now_s;
  return false;
}

// Summarising costs microseconds per function, so a function is looked at only once
// per republish interval; the gate then decides (changed significantly, or due for
// the slow refresh that brings back summaries evicted elsewhere).
bool GossipBridge::should_publish(const std::string& key, const shape::Summary& fresh, double now_s) {
  const auto last = last_published_.find(key);
  const bool moved = last == last_published_.end() ||
                     shape::significantly_changed(last->second, fresh, keys_.republish_threshold);
  if (!gate_.admit(key, moved ? 1.0 : 0.0, now_s)) return false;
  last_published_[key] = fresh;
  return true;
}

void GossipBridge::publish(const node::NodeCore& core, double now_s) {
  // The host's advert (capacity, limit, z, co-movement, aggregate) moves a little every
  // tick; like a function summary it goes out when it changed significantly (at once
  // when a reload changed the capacity or limit), else with the slow refresh.
  const std::string& advert = core.advert_blob();
  if (!advert.empty() && !checked_recently(kAdvertKey, now_s)) {
    const bool moved = !published_advert_ ||
                       node::significantly_changed(*published_advert_, core.advert(), keys_.republish_threshold);
    if (gate_.admit(kAdvertKey, moved ? 1.0 : 0.0, now_s)) publish_advert(core);
  } else if (!advert.empty() && published_advert_ &&
             (published_advert_->capacity_cores != core.advert().capacity_cores ||
              published_advert_->limit_cores != core.advert().limit_cores)) {
    publish_advert(core);  // a reload must not wait for the republish interval
  }
  for (const auto& [name, instances] : core.running()) {  // only functions running here speak for themselves
    if (checked_recently(name, now_s)) continue;
    const auto summary = core.summary_of(name, next_version_);
    if (!should_publish(name, summary, now_s)) {
      ++suppressed_;
      continue;
    }
    const std::string blob = shape::encode(summary);
    if (blob.empty() || !agent_->publish_function(name, blob)) continue;
    ++next_version_;
    ++republished_;
  }
}

void GossipBridge::publish_advert(const node::NodeCore& core) {
  agent_->set_node_state({"", "", core.capacity_cores(), core.advert_blob()});
  published_advert_ = core.advert();
  ++adverts_published_;
}

void GossipBridge::sync_peers(node::NodeCore& core, double now_s) {
  std::set<std::string> present;
  for (const auto& [node, peer] : agent_->nodes()) {
    present.insert(peer.node_id);
    node::PeerUpdate u{peer.node_id, peer.endpoint, peer.state == agent::gossip::PeerState::Alive,
                       now_s - peer.last_heard_s_ago, node.host_summary};
    std::string error;
    if (!core.hear_peer(u, &error)) {
      ++bad_adverts_;
      spdlog::debug("advert of peer {} does not decode: {}", peer.node_id, error);
    }
  }
  core.retain_peers(present);
}

std::optional<std::string> GossipBridge::function_blob(const std::string& function) const {
  return agent_->function_summary(function);
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
          {"generation", s.generation},
          {"rounds", s.rounds},
          {"msgs_in", s.msgs_in}, {"msgs_out", s.msgs_out},
          {"bytes_in", s.bytes_in}, {"bytes_out", s.bytes_out},
          {"dropped_malformed", s.dropped_malformed}, {"dropped_oversize", s.dropped_oversize},
          {"refused_auth", s.refused_auth}, {"refused_identity", s.refused_identity},
          {"peers", {{"alive", s.peers_alive}, {"suspect", s.peers_suspect}, {"dead", s.peers_dead}, {"left", s.peers_left}}},
          {"functions_known", s.functions},
          {"summaries_published", republished_},
          {"summaries_suppressed", suppressed_},
          {"adverts_published", adverts_published_},
          {"adverts_undecodable", bad_adverts_}};
}

}  // namespace antiphase::agent

#include "agent/daemon/gossip_bridge.h"

#include <unistd.h>

#include <spdlog/spdlog.h>

namespace antiphase::agent {

namespace {
constexpr const char* kHostSummaryName = "host";
// Unchanged summaries are still re-sent every this many republish intervals.
constexpr double kRefreshIntervals = 10;
}

agent::gossip::GossipConfig gossip_config_from(const config::Config& c) {
  agent::gossip::GossipConfig g;
  g.node_id = c.gossip.node_id;
  g.bind = c.gossip.bind;
  g.advertise = c.gossip.advertise;
  g.seeds = c.gossip.seeds;
  g.fanout = c.gossip.fanout;
  g.interval_s = c.gossip.interval_s;
  g.suspect_after_s = c.gossip.suspect_after_s;
  g.dead_after_s = c.gossip.dead_after_s;
  g.purge_after_s = c.gossip.purge_after_s;
  g.secret_key_file = c.gossip.secret_key_file;
  g.public_key_file = c.gossip.public_key_file;
  g.allowed_keys_dir = c.gossip.allowed_keys_dir;
  g.insecure = c.gossip.insecure;
  g.state_dir = c.state.dir;
  return g;
}

GossipBridge::GossipBridge(const config::Config& config, double capacity_cores)
    : keys_(config.gossip),
      capacity_cores_(capacity_cores),
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

void GossipBridge::publish(const std::map<std::string, shape::ShapeModel>& models,
                           const std::map<std::string, uint32_t>& instances, const shape::ShapeModel& host,
                           double now_s) {
  // The host's own state: capacity and aggregate shape, for peers' placement decisions.
  if (!checked_recently(kHostSummaryName, now_s)) {
    const auto host_summary = shape::summarize(kHostSummaryName, host, 1, next_version_);
    if (should_publish(kHostSummaryName, host_summary, now_s)) {
      agent_->set_node_state({"", "", capacity_cores_, shape::encode(host_summary)});
      ++next_version_;
    }
  }
  for (const auto& [name, model] : models) {
    const auto inst = instances.find(name);
    if (inst == instances.end()) continue;  // only functions running here speak for themselves
    if (checked_recently(name, now_s)) continue;
    const auto summary = shape::summarize(name, model, inst->second, next_version_);
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

std::optional<shape::Summary> GossipBridge::function_summary(const std::string& function) const {
  const auto blob = agent_->function_summary(function);
  if (!blob) return std::nullopt;
  std::string error;
  auto summary = shape::decode(*blob, &error);
  if (!summary) spdlog::debug("gossiped summary of {} does not decode: {}", function, error);
  return summary;
}

std::vector<PeerHost> GossipBridge::peer_hosts() const {
  std::vector<PeerHost> out;
  for (const auto& [node, peer] : agent_->nodes()) {
    if (peer.state != agent::gossip::PeerState::Alive || node.host_summary.empty()) continue;
    const auto summary = shape::decode(node.host_summary);
    if (!summary) continue;
    PeerHost h{peer.node_id, peer.endpoint, {}};
    h.view.aggregate = shape::reconstruct_day(*summary);
    h.view.capacity_cores = node.capacity_cores;
    h.view.telemetry_age_s = peer.last_heard_s_ago;
    h.view.admitted_mean_cores = summary->mean;
    out.push_back(std::move(h));
  }
  return out;
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
          {"summaries_suppressed", suppressed_}};
}

}  // namespace antiphase::agent

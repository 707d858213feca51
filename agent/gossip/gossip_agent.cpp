#include "agent/gossip/gossip_agent.h"

#include <unistd.h>

#include <algorithm>
#include <random>
#include <set>

#include <spdlog/spdlog.h>

#include "agent/gossip/curve_keys.h"
#include "agent/gossip/endpoint_policy.h"
#include "agent/gossip/generation_store.h"
#include "agent/gossip/record_signer.h"
#include "agent/gossip/zmq_transport.h"
#include "common/gossip/protocol.h"

namespace antiphase::agent::gossip {
namespace {

constexpr double kMaxPollWaitS = 0.05;   // also bounds ZAP answer latency
constexpr double kLeaveFlushS = 0.5;     // time given to LEAVE messages to get out
// A loop iteration this much later than its poll timeout is a freeze, not load.
constexpr double kMinFreezeS = 1.0;
constexpr double kDuplicateWarnIntervalS = 30.0;

bool is_wildcard(const std::string& endpoint) {
  return endpoint.find("://*") != std::string::npos || endpoint.find("0.0.0.0") != std::string::npos ||
         endpoint.find("[::]") != std::string::npos;
}

void validate_timing(const GossipConfig& config) {
  if (!(config.interval_s > 0)) throw GossipConfigError("gossip: interval_s must be > 0");
  if (config.fanout == 0) throw GossipConfigError("gossip: fanout must be >= 1");
  if (!(config.suspect_after_s > 0 && config.suspect_after_s < config.dead_after_s &&
        config.dead_after_s <= config.purge_after_s))
    throw GossipConfigError("gossip: need 0 < suspect_after_s < dead_after_s <= purge_after_s");
  if (config.max_message_bytes < 4096) throw GossipConfigError("gossip: max_message_bytes must be >= 4096");
  if (config.max_peers < 2) throw GossipConfigError("gossip: max_peers must be >= 2");
  if (config.news_interval_s < 0 || config.anti_entropy_interval_s < 0)
    throw GossipConfigError("gossip: news_interval_s and anti_entropy_interval_s must be >= 0");
}

}  // namespace

GossipAgent::GossipAgent(GossipConfig config) : config_(std::move(config)) {
  validate_timing(config_);
  if (config_.node_id.empty()) config_.node_id = host_name();
  if (config_.advertise.empty()) config_.advertise = config_.bind;
  if (is_wildcard(config_.advertise))
    throw GossipConfigError("gossip: bind " + config_.bind + " is a wildcard; set advertise to an address peers can reach");

  secure_ = !config_.secret_key_file.empty();
  try {
    if (secure_) {
      const CurveKeypair keys = load_secret_key_file(config_.secret_key_file);
      public_key_ = keys.public_key;
      secret_key_ = keys.secret_key;
      if (!config_.public_key_file.empty() && load_public_key_file(config_.public_key_file) != public_key_)
        throw GossipConfigError("gossip: " + config_.public_key_file + " does not match " + config_.secret_key_file);
      if (config_.allowed_keys_dir.empty())
        throw GossipConfigError("gossip: secret_key_file is set but allowed_keys_dir is not; nobody could join");
      load_allowlist_dir(config_.allowed_keys_dir);  // fail early on unreadable key files
    } else if (!config_.public_key_file.empty() || !config_.allowed_keys_dir.empty()) {
      throw GossipConfigError("gossip: public_key_file/allowed_keys_dir are set but secret_key_file is not");
    }
    for (const std::string& text : config_.seeds) {
      const SeedSpec seed = parse_seed(text);
      if (secure_ && seed.public_key.empty())
        throw GossipConfigError("gossip: seed " + text + " needs its public key: <z85 key>@" + text);
      seeds_.emplace_back(seed.endpoint, seed.public_key);
    }
  } catch (const KeyError& error) {
    throw GossipConfigError(std::string("gossip: ") + error.what());
  } catch (const std::invalid_argument& error) {
    throw GossipConfigError(std::string("gossip: ") + error.what());
  }

  if (!secure_) {
    std::vector<std::string> endpoints = {config_.bind, config_.advertise};
    for (const auto& [endpoint, key] : seeds_) endpoints.push_back(endpoint);
    const bool all_loopback = std::all_of(endpoints.begin(), endpoints.end(), is_loopback_endpoint);
    if (!all_loopback && !config_.insecure)
      throw GossipConfigError(
          "gossip: without CurveZMQ keys gossip is limited to loopback (127.0.0.0/8, ::1); configure "
          "secret_key_file + allowed_keys_dir, or set insecure = true to gossip in clear text");
    if (!all_loopback)
      spdlog::warn("gossip: INSECURE MODE: gossiping WITHOUT encryption or authentication beyond loopback ({}); "
                   "anyone who can reach {} can read and inject cluster state",
                   config_.advertise, config_.bind);
  }
}

GossipAgent::~GossipAgent() { stop(); }

std::string GossipAgent::public_key_z85() const { return z85_encode_key(public_key_); }

double GossipAgent::real_elapsed_s() const {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - epoch_).count();
}

double GossipAgent::now() const { return real_elapsed_s() - frozen_s_.load(); }

// While frozen we heard nothing because we were not listening, not because peers went
// silent. Counting that stretch would make us declare every peer dead on waking, and past
// purge_after forget them and everything they authored (and re-fetch it all). Stretches
// shorter than max(kMinFreezeS, suspect_after / 2) are ordinary scheduling noise and kept.
void GossipAgent::discount_freeze(double loop_gap_s, double asked_wait_s) {
  const double late_s = loop_gap_s - asked_wait_s;
  if (late_s < std::max(kMinFreezeS, config_.suspect_after_s / 2)) return;
  frozen_s_.store(frozen_s_.load() + late_s);
  spdlog::warn("gossip: the agent loop was frozen for {:.1f} s (stopped or VM paused); "
               "peer silence during that time is not counted",
               late_s);
}

void GossipAgent::start() {
  if (running_) return;
  try {
    generation_ = bump_generation(config_.state_dir);
  } catch (const std::exception& error) {
    throw GossipConfigError(std::string("gossip: cannot persist generation: ") + error.what());
  }
  const antiphase::gossip::ProtocolConfig protocol_config = protocol_config_of(config_);
  TransportOptions options;
  options.bind = config_.bind;
  options.max_message_bytes = config_.max_message_bytes;
  options.limits = protocol_config;
  options.secure = secure_;
  // Connections stay up a minute: SWIM probes a given member rarely (once per pass), and a
  // cold one costs a TCP and CurveZMQ handshake — with a lost SYN, a 1 s retransmission,
  // longer than a probe may take. The 256-DEALER cap bounds them.
  options.dealer_idle_s = std::max(60.0, 30 * config_.interval_s);
  options.outbox_ttl_s = std::max(1.0, 2 * config_.interval_s);
  if (secure_) {
    options.keys = CurveKeypair{public_key_, secret_key_};
    options.allowlist = load_allowlist_dir(config_.allowed_keys_dir);
    auto allowlist = std::make_shared<std::set<std::string>>(options.allowlist);
    allowlist->insert(public_key_);
    try {
      authority_ = std::make_shared<CurveSigner>(options.keys, std::move(allowlist));
    } catch (const KeyError& error) {
      throw GossipConfigError(std::string("gossip: cannot sign records: ") + error.what());
    }
  }
  try {
    transport_ = std::make_unique<ZmqTransport>(options);
  } catch (const zmq::error_t& error) {
    throw GossipConfigError("gossip: cannot bind " + config_.bind + ": " + error.what());
  }

  std::vector<antiphase::gossip::Seed> seeds;
  for (const auto& [endpoint, key] : seeds_) seeds.push_back({endpoint, key});
  epoch_ = std::chrono::steady_clock::now();
  {
    std::lock_guard lock(mutex_);
    protocol_ = std::make_unique<antiphase::gossip::Protocol>(
        protocol_config, antiphase::gossip::Identity{config_.node_id, config_.advertise, public_key_, generation_},
        seeds, std::random_device{}(), authority_);
    if (pending_node_state_)
      protocol_->set_node_state({pending_node_state_->capacity_cores, pending_node_state_->host_summary}, now());
  }
  spdlog::info("gossip: node {} generation {} listening on {} (advertised {}), {} seed(s), {}", config_.node_id,
               generation_, config_.bind, config_.advertise, seeds.size(),
               secure_ ? "CurveZMQ, signed records" : "NO encryption, unsigned records");
  stopping_ = false;
  running_ = true;
  thread_ = std::thread([this] { run(); });
}

void GossipAgent::stop() {
  if (!running_) return;
  stopping_ = true;
  if (thread_.joinable()) thread_.join();
  {
    std::lock_guard lock(mutex_);  // want_function() may be waking it
    transport_.reset();
  }
  running_ = false;
}

void GossipAgent::run() {
  double previous_poll_at = real_elapsed_s();
  auto refresh_snapshot = [this] {
    const TransportCounters counters = transport_->counters();
    std::lock_guard lock(mutex_);
    transport_snapshot_.msgs_in = counters.msgs_in;
    transport_snapshot_.msgs_out = counters.msgs_out;
    transport_snapshot_.bytes_in = counters.bytes_in;
    transport_snapshot_.bytes_out = counters.bytes_out;
    transport_snapshot_.dropped_malformed = counters.dropped_malformed;
    transport_snapshot_.dropped_oversize = counters.dropped_oversize;
    transport_snapshot_.refused_identity = counters.refused_identity;
    transport_snapshot_.send_dropped = counters.send_dropped;
    transport_snapshot_.refused_auth = transport_->refused_auth();
  };
  while (!stopping_) {
    double deadline = 0;
    {
      std::lock_guard lock(mutex_);
      deadline = protocol_->next_deadline();
    }
    const double wait_s = std::clamp(deadline - now(), 0.0, kMaxPollWaitS);
    std::vector<Received> received = transport_->poll(std::chrono::milliseconds(static_cast<int>(wait_s * 1000)));
    // Measured poll to poll, so a stop that lands while processing is seen as well.
    const double polled_at = real_elapsed_s();
    discount_freeze(polled_at - previous_poll_at, wait_s);
    previous_poll_at = polled_at;
    const double t = now();
    std::vector<antiphase::gossip::Outgoing> outgoing;
    {
      std::lock_guard lock(mutex_);
      // Messages first: an ACK that arrived while we were starved must count before the
      // probe's timer declares it missing.
      for (const Received& in : received)
        for (auto& reply : protocol_->handle(in.message, in.authenticated_key, t)) outgoing.push_back(std::move(reply));
      if (t >= protocol_->next_deadline())
        for (auto& message : protocol_->tick(t)) outgoing.push_back(std::move(message));
      warn_on_duplicate_id(t);
    }
    for (const auto& message : outgoing) transport_->send(message, t);
    transport_->maintain(t);
    refresh_snapshot();
  }
  // Graceful leave: tell a few peers, then keep serving sockets briefly so it gets out.
  std::vector<antiphase::gossip::Outgoing> goodbyes;
  {
    std::lock_guard lock(mutex_);
    goodbyes = protocol_->leave(now());
  }
  for (const auto& message : goodbyes) transport_->send(message, now());
  const double leave_deadline = now() + kLeaveFlushS;
  while (now() < leave_deadline) {
    transport_->poll(std::chrono::milliseconds(20));
    transport_->maintain(now());
  }
  refresh_snapshot();
  spdlog::info("gossip: node {} left ({} peer(s) told)", config_.node_id, goodbyes.size());
}

void GossipAgent::warn_on_duplicate_id(double now) {
  const uint64_t seen = protocol_->counters().duplicate_node_id + protocol_->state().counters().duplicate_node_id;
  if (seen == duplicates_warned_ || now - duplicate_warned_at_ < kDuplicateWarnIntervalS) return;
  spdlog::warn("gossip: duplicate node_id '{}': another node at {} uses it too ({} message(s) ignored so far); "
               "give every host its own gossip.node_id, or the two cannot gossip with each other",
               config_.node_id, protocol_->last_duplicate_endpoint(), seen);
  duplicates_warned_ = seen;
  duplicate_warned_at_ = now;
}

void GossipAgent::set_node_state(const NodeState& state) {
  std::lock_guard lock(mutex_);
  pending_node_state_ = state;  // kept, so a call before start() is applied at start()
  if (protocol_) protocol_->set_node_state({state.capacity_cores, state.host_summary}, now());
}

bool GossipAgent::publish_function(const std::string& function, std::string summary_blob) {
  std::lock_guard lock(mutex_);
  return protocol_ && protocol_->publish_function(function, std::move(summary_blob), now());
}

std::optional<std::string> GossipAgent::function_summary(const std::string& function) const {
  std::lock_guard lock(mutex_);
  if (!protocol_) return std::nullopt;
  return protocol_->function_summary(function);
}

bool GossipAgent::caught_up() const {
  std::lock_guard lock(mutex_);
  return protocol_ && protocol_->caught_up();
}

bool GossipAgent::want_function(const std::string& function) {
  if (!homed()) return false;
  std::lock_guard lock(mutex_);
  if (!protocol_ || !running_ || !transport_) return false;
  if (!protocol_->want_function(function, now())) return false;
  // The loop may be asleep in poll() for up to kMaxPollWaitS: wake it to send the pull now.
  transport_->wake();
  return true;
}

std::optional<std::string> GossipAgent::fetch_function(const std::string& function, std::chrono::milliseconds wait) {
  const bool asked = want_function(function);
  const auto deadline = std::chrono::steady_clock::now() + wait;
  for (;;) {
    if (auto summary = function_summary(function)) return summary;
    if (!asked || std::chrono::steady_clock::now() >= deadline) return std::nullopt;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
}

namespace {
std::pair<NodeState, PeerInfo> node_and_peer(const antiphase::gossip::PeerView& view) {
  return {NodeState{view.node_id, view.endpoint, view.capacity_cores, view.host_summary},
          PeerInfo{view.node_id, view.endpoint, view.state, view.last_heard_s_ago, view.generation, view.max_version}};
}
}  // namespace

std::vector<std::pair<NodeState, PeerInfo>> GossipAgent::nodes() const {
  std::lock_guard lock(mutex_);
  std::vector<std::pair<NodeState, PeerInfo>> result;
  if (!protocol_) return result;
  for (const auto& view : protocol_->peers(now())) result.push_back(node_and_peer(view));
  return result;
}

std::optional<std::pair<NodeState, PeerInfo>> GossipAgent::node(const std::string& node_id) const {
  std::lock_guard lock(mutex_);
  if (!protocol_) return std::nullopt;
  const auto view = protocol_->peer(node_id, now());
  if (!view) return std::nullopt;
  return node_and_peer(*view);
}

GossipChanges GossipAgent::take_changes() {
  std::lock_guard lock(mutex_);
  if (!protocol_) return {};
  auto changes = protocol_->take_changes();
  return GossipChanges{std::move(changes.nodes)};
}

std::vector<PeerInfo> GossipAgent::peers() const {
  std::vector<PeerInfo> result;
  for (auto& [node, peer] : nodes()) result.push_back(std::move(peer));
  return result;
}

Stats GossipAgent::stats() const {
  std::lock_guard lock(mutex_);
  Stats stats = transport_snapshot_;
  stats.generation = generation_;
  stats.signing = secure_;
  if (!protocol_) return stats;
  const auto& counters = protocol_->counters();
  const auto& store = protocol_->state();
  const auto& records = store.counters();
  stats.rounds = counters.rounds;
  stats.duplicate_node_id = counters.duplicate_node_id + records.duplicate_node_id;
  stats.refused_identity += counters.duplicate_node_id + counters.refused_identity;
  stats.records_applied = records.applied;
  stats.records_forged = records.forged;
  stats.records_stale = records.stale;
  stats.records_unverifiable = records.unverifiable;
  stats.records_rejected = records.refused;
  stats.peers_evicted = records.peers_evicted;
  stats.functions_evicted = records.functions_evicted;
  stats.purged = records.purged;
  stats.probes_failed = counters.probes_failed;
  stats.suspicions = counters.suspicions;
  stats.refutations = counters.refutations;
  stats.deaths_declared = counters.deaths_declared;
  stats.local_health = protocol_->local_health();
  stats.functions = store.function_count();
  stats.caught_up = protocol_->caught_up();
  stats.pulls_given_up = counters.pulls_given_up;
  stats.peers_alive = store.count(PeerState::Alive) - (store.self().state == PeerState::Alive ? 1 : 0);  // not us
  stats.peers_suspect = store.count(PeerState::Suspect);
  stats.peers_dead = store.count(PeerState::Dead);
  stats.peers_left = store.count(PeerState::Left);
  stats.function_homes = config_.function_homes;
  stats.interest_pulls = counters.interest_pulls;
  stats.functions_forgotten = counters.functions_forgotten;
  stats.home_news_sent = counters.home_news_sent;
  stats.state_bytes = store.approximate_bytes();
  return stats;
}

}  // namespace antiphase::agent::gossip

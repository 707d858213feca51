#include "common/gossip/protocol.h"

#include <algorithm>

namespace antiphase::gossip {
namespace {

// Room left for the header, the Sender block and protobuf framing slack.
constexpr size_t kMessageSlackBytes = 1024;

}  // namespace

std::string_view to_string(PeerState state) {
  switch (state) {
    case PeerState::Alive: return "alive";
    case PeerState::Suspect: return "suspect";
    case PeerState::Dead: return "dead";
    case PeerState::Left: return "left";
  }
  return "unknown";
}

Protocol::Protocol(ProtocolConfig config, Identity self, std::vector<Seed> seeds, uint64_t rng_seed)
    : config_(config), self_(std::move(self)), seeds_(std::move(seeds)), rng_(rng_seed),
      state_(self_.node_id, self_.generation, config) {
  // Never gossip to ourselves through a seed list that includes our own endpoint.
  std::erase_if(seeds_, [this](const Seed& seed) { return seed.endpoint == self_.endpoint; });
  set_node_state(local_, 0);
}

void Protocol::set_node_state(const LocalNodeState& state, double now) {
  local_ = state;
  wire::NodeRecord node;
  node.set_endpoint(self_.endpoint);
  node.set_public_key(self_.public_key);
  node.set_capacity_cores(state.capacity_cores);
  node.set_host_summary(state.host_summary);
  state_.set_self_node(std::move(node), now);
}

bool Protocol::publish_function(const std::string& function, std::string summary, double now) {
  return state_.publish_function(function, std::move(summary), now);
}

wire::Gossip Protocol::with_sender() const {
  wire::Gossip message;
  wire::Sender* sender = message.mutable_from();
  sender->set_node_id(self_.node_id);
  sender->set_endpoint(self_.endpoint);
  sender->set_public_key(self_.public_key);
  sender->set_generation(self_.generation);
  return message;
}

void Protocol::pick_random_prefix(std::vector<const OriginState*>& items, size_t count) {
  // Partial Fisher-Yates: only the first `count` slots need to be a uniform sample.
  for (size_t i = 0; i < items.size() && i < count; ++i) {
    std::uniform_int_distribution<size_t> pick(i, items.size() - 1);
    std::swap(items[i], items[pick(rng_)]);
  }
}

std::vector<const OriginState*> Protocol::live_peers(double now) const {
  std::vector<const OriginState*> live;
  for (const auto& [id, origin] : state_.origins()) {
    if (id == self_.node_id || origin.node.endpoint().empty()) continue;
    const PeerState peer_state = state_.state_of(origin, now);
    if (peer_state == PeerState::Alive || peer_state == PeerState::Suspect) live.push_back(&origin);
  }
  return live;  // unordered_map order: arbitrary, but the same for the same history
}

std::vector<Outgoing> Protocol::tick(double now) {
  ++counters_.rounds;
  state_.heartbeat(now);
  counters_.purged += state_.purge(now);

  std::vector<Seed> targets;
  auto live = live_peers(now);
  pick_random_prefix(live, config_.fanout);
  for (size_t i = 0; i < live.size() && targets.size() < config_.fanout; ++i)
    targets.push_back({live[i]->node.endpoint(), live[i]->node.public_key()});
  // Seeds fill the gaps while we know too few peers (joining, or cut off by a partition).
  if (targets.size() < config_.fanout && !seeds_.empty()) {
    std::vector<Seed> seeds = seeds_;
    std::shuffle(seeds.begin(), seeds.end(), rng_);
    for (const Seed& seed : seeds) {
      if (targets.size() >= config_.fanout) break;
      const bool already = std::any_of(targets.begin(), targets.end(), [&](auto& t) { return t.endpoint == seed.endpoint; });
      if (!already) targets.push_back(seed);
    }
  }
  add_reconnect_probe(now, live.size(), targets);

  wire::Gossip syn = with_sender();
  *syn.mutable_digest() = state_.digest();
  std::vector<Outgoing> out;
  for (Seed& target : targets) out.push_back({std::move(target.endpoint), std::move(target.public_key), wire::MessageType::Syn, syn});
  counters_.syn_sent += out.size();
  return out;
}

void Protocol::add_reconnect_probe(double now, size_t live_count, std::vector<Seed>& targets) {
  auto targeted = [&](const std::string& endpoint) {
    return std::any_of(targets.begin(), targets.end(), [&](const Seed& t) { return t.endpoint == endpoint; });
  };
  std::vector<Seed> candidates;
  for (const auto& [id, origin] : state_.origins()) {
    if (id == self_.node_id || origin.node.endpoint().empty() || targeted(origin.node.endpoint())) continue;
    if (state_.state_of(origin, now) == PeerState::Dead) candidates.push_back({origin.node.endpoint(), origin.node.public_key()});
  }
  for (const Seed& seed : seeds_)
    if (!targeted(seed.endpoint)) candidates.push_back(seed);
  if (candidates.empty()) return;
  // Each of the live_count + 1 members we know draws, so about one probe per round cluster-wide.
  if (std::uniform_int_distribution<size_t>(0, live_count)(rng_) != 0) return;
  std::uniform_int_distribution<size_t> pick(0, candidates.size() - 1);
  targets.push_back(std::move(candidates[pick(rng_)]));
}

Outgoing Protocol::reply_to(const wire::Sender& sender, wire::MessageType type, wire::Gossip message) const {
  return Outgoing{sender.endpoint(), sender.public_key(), type, std::move(message)};
}

size_t Protocol::delta_budget(const wire::Gossip& already) const {
  const size_t used = already.ByteSizeLong() + wire::kHeaderBytes + kMessageSlackBytes;
  return used >= config_.max_message_bytes ? 0 : config_.max_message_bytes - used;
}

std::vector<Outgoing> Protocol::handle(wire::MessageType type, const wire::Gossip& message, double now) {
  const wire::Sender& sender = message.from();
  if (sender.node_id() == self_.node_id && !sender.node_id().empty()) {
    // Nobody else may speak as us: another host uses our node id (a cloned host name).
    // Its messages are ignored, which partitions the two; counting them lets the agent say so.
    ++counters_.duplicate_node_id;
    last_duplicate_endpoint_ = sender.endpoint().substr(0, config_.max_name_bytes);
    // An empty SYN back lets the other host notice too (it may not be our seed, so it
    // would otherwise never hear from us); it does not answer messages claiming its id.
    std::vector<Outgoing> notice;
    if (!sender.endpoint().empty() && sender.endpoint() != self_.endpoint)
      notice.push_back(reply_to(sender, wire::MessageType::Syn, with_sender()));
    return notice;
  }
  if (sender.node_id().empty() || sender.endpoint().empty() || sender.node_id() == self_.node_id ||
      sender.node_id().size() > config_.max_name_bytes || sender.endpoint().size() > config_.max_name_bytes) {
    ++counters_.messages_ignored;
    return {};
  }
  ++counters_.messages_handled;
  switch (type) {
    case wire::MessageType::Syn: return handle_syn(message);
    case wire::MessageType::Ack: return handle_ack(message, now);
    case wire::MessageType::Ack2:
    case wire::MessageType::Leave: apply_deltas(message, now); return {};
  }
  return {};
}

std::vector<Outgoing> Protocol::handle_syn(const wire::Gossip& message) {
  const DigestDiff diff = state_.compare(message.digest());
  if (diff.send.empty() && diff.request.origins_size() == 0) return {};
  wire::Gossip ack = with_sender();
  if (diff.request.origins_size() > 0) *ack.mutable_digest() = diff.request;
  state_.append_deltas(diff.send, delta_budget(ack), ack.mutable_deltas());
  ++counters_.ack_sent;
  std::vector<Outgoing> out;
  out.push_back(reply_to(message.from(), wire::MessageType::Ack, std::move(ack)));
  return out;
}

std::vector<Outgoing> Protocol::handle_ack(const wire::Gossip& message, double now) {
  apply_deltas(message, now);
  if (message.digest().origins_size() == 0) return {};
  // The ACK's digest lists what the peer holds for origins where we are ahead.
  const std::vector<std::pair<std::string, uint64_t>> wanted = state_.wanted_by(message.digest());
  wire::Gossip ack2 = with_sender();
  state_.append_deltas(wanted, delta_budget(ack2), ack2.mutable_deltas());
  if (ack2.deltas().empty()) return {};
  ++counters_.ack2_sent;
  std::vector<Outgoing> out;
  out.push_back(reply_to(message.from(), wire::MessageType::Ack2, std::move(ack2)));
  return out;
}

void Protocol::apply_deltas(const wire::Gossip& message, double now) {
  for (const wire::OriginDelta& delta : message.deltas()) state_.apply(delta, now);
}

std::vector<Outgoing> Protocol::leave(double now) {
  wire::NodeRecord node = state_.self().node;
  node.set_left(true);
  state_.set_self_node(std::move(node), now);
  wire::Gossip message = with_sender();
  *message.add_deltas() = state_.delta_of(self_.node_id, 0);
  auto live = live_peers(now);
  pick_random_prefix(live, config_.fanout);
  std::vector<Outgoing> out;
  for (size_t i = 0; i < live.size() && out.size() < config_.fanout; ++i)
    out.push_back({live[i]->node.endpoint(), live[i]->node.public_key(), wire::MessageType::Leave, message});
  return out;
}

std::optional<std::string> Protocol::function_summary(const std::string& function) const {
  const FunctionEntry* entry = state_.function(function);
  if (!entry) return std::nullopt;
  return entry->summary;
}

std::vector<PeerView> Protocol::peers(double now) const {
  std::vector<PeerView> views;
  for (const auto& [id, origin] : state_.origins()) {
    if (id == self_.node_id) continue;
    views.push_back(PeerView{id, origin.node.endpoint(), origin.node.public_key(), state_.state_of(origin, now),
                             now - origin.last_heard, origin.generation, origin.max_version,
                             origin.node.capacity_cores(), origin.node.host_summary()});
  }
  std::sort(views.begin(), views.end(), [](const auto& a, const auto& b) { return a.node_id < b.node_id; });
  return views;
}

}  // namespace antiphase::gossip

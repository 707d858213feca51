#pragma once
// An in-memory network of sans-IO gossip Protocol instances, shared by the unit tests
// and the simulator (tests/bench/gossip/gossip_sim.cpp). Two ways to run it:
//   - round(now): synchronous and pessimistic. Every live node ticks at `now`, then every
//     message is delivered (and the replies, and theirs) at the same `now`, so news moves
//     at most one tick per round;
//   - run_until(t): event-driven. Each node's timers fire when it asks (next_deadline(),
//     jittered inside the protocol), and each message arrives after its link's latency
//     (a fixed per-link part plus a random per-message part).
// Failures: crash (a node drops everything), pause (SIGSTOP: no timers, messages wait,
// and the paused time is excluded from the node's clock, as GossipAgent does), loss, and
// a partition into two sides.
//
// Records are shared: a message carries references, and the receiving replica keeps the
// sender's record object. With signing on, every node has its own CURVE keypair and a
// real CurveSigner (Ed25519, libsodium) over one shared allowlist.
#include <sodium.h>

#include <array>
#include <charconv>
#include <cstdint>
#include <functional>
#include <limits>
#include <memory>
#include <queue>
#include <random>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include "agent/gossip/record_signer.h"
#include "common/gossip/message_codec.h"
#include "common/gossip/protocol.h"
#include "common/wire/codec.h"

namespace antiphase::gossip::sim {

inline std::string endpoint_of(size_t i) { return "sim://" + std::to_string(i); }
inline std::string id_of(size_t i, const std::string& prefix = "n") { return prefix + std::to_string(i); }
inline size_t index_of(const std::string& endpoint) {
  size_t index = std::numeric_limits<size_t>::max();
  if (endpoint.size() > 6) std::from_chars(endpoint.data() + 6, endpoint.data() + endpoint.size(), index);
  return index;
}

struct SimOptions {
  uint64_t seed = 42;
  std::string id_prefix = "n";
  bool signing = false;         // CURVE keys + Ed25519 record signatures
  bool roundtrip_wire = false;  // encode and decode every message (exercises the codec)
  double latency_s = 0.001;     // event mode: mean one-way link latency (fixed per link, 0.5-1.5 x this)
  double jitter_s = 0.0002;     // event mode: per-message extra delay, exponential with this mean
};

class SimNetwork {
 public:
  using StateHook = std::function<void(size_t observer, size_t member, PeerState before, PeerState after, double now)>;

  SimNetwork(ProtocolConfig config, SimOptions options = {})
      : config_(config), options_(std::move(options)), rng_(options_.seed) {
    if (options_.signing && sodium_init() < 0) throw std::runtime_error("libsodium failed to initialise");
  }
  // Convenience for the unit tests: SimNetwork(config, seed).
  SimNetwork(ProtocolConfig config, uint64_t seed) : SimNetwork(config, SimOptions{seed}) {}

  // Adds node i (ids are dense: <prefix><i>, unless `id` names it) with the given seed node indexes.
  size_t add_node(const std::vector<size_t>& seed_nodes, uint64_t generation = 1, const std::string& id = "") {
    const size_t index = slots_.size();
    slots_.push_back(std::make_unique<Slot>());
    Slot& slot = *slots_.back();
    slot.watch.net = this;
    slot.watch.observer = index;
    slot.id = id.empty() ? id_of(index, options_.id_prefix) : id;
    make_keys(slot, index);
    fp_to_index_[fingerprint(slot.id)] = index;
    slot.protocol = make(index, seed_nodes, generation);
    return index;
  }
  // Replaces node i by a fresh incarnation (restart): empty state, new generation.
  void restart(size_t index, uint64_t generation, const std::vector<size_t>& seed_nodes) {
    Slot& slot = *slots_[index];
    slot.protocol = make(index, seed_nodes, generation);
    slot.up = true;
    slot.paused = false;
    slot.frozen = now_;  // the new incarnation's clock starts at 0
    slot.mailbox.clear();
    slot.scheduled = kNever;
    schedule(index);
  }

  Protocol& node(size_t i) { return *slots_[i]->protocol; }
  size_t size() const { return slots_.size(); }
  double now() const { return now_; }
  // The clock node i's protocol sees (paused time excluded).
  double local_time(size_t i) const { return now_ - slots_[i]->frozen; }

  // ---- failures ----
  void set_up(size_t i, bool up) {
    Slot& slot = *slots_[i];
    slot.up = up;
    if (!up) {
      slot.mailbox.clear();
      slot.scheduled = kNever;
    } else {
      schedule(i);
    }
  }
  bool is_up(size_t i) const { return slots_[i]->up; }
  void pause(size_t i) {
    Slot& slot = *slots_[i];
    if (slot.paused) return;
    slot.paused = true;
    slot.paused_at = now_;
    slot.scheduled = kNever;
  }
  void resume(size_t i) {
    Slot& slot = *slots_[i];
    if (!slot.paused) return;
    slot.paused = false;
    slot.frozen += now_ - slot.paused_at;
    std::vector<Flight> held = std::move(slot.mailbox);
    for (Flight& flight : held) receive(flight.from, i, flight.out.message);
    schedule(i);
  }
  bool is_paused(size_t i) const { return slots_[i]->paused; }
  void set_loss(double loss) { loss_ = loss; }
  // side[i] in {0, 1}: messages between sides are dropped until heal().
  void partition(std::vector<uint8_t> side) { side_ = std::move(side); }
  void heal() { side_.clear(); }
  // Drops every message for which `drop(from, to)` is true (empty function: none).
  void set_link_filter(std::function<bool(size_t, size_t)> drop) { link_filter_ = std::move(drop); }
  void set_roundtrip_wire(bool on) { options_.roundtrip_wire = on; }
  void on_state_change(StateHook hook) { hook_ = std::move(hook); }
  // Index of the node with this fingerprint (SIZE_MAX if none).
  size_t index_of_fp(uint64_t fp) const {
    const auto it = fp_to_index_.find(fp);
    return it == fp_to_index_.end() ? std::numeric_limits<size_t>::max() : it->second;
  }
  std::shared_ptr<const RecordAuthority> authority(size_t i) const { return slots_[i]->authority; }
  const std::string& public_key(size_t i) const { return slots_[i]->public_key; }

  // ---- synchronous rounds ----
  void round(double now) {
    now_ = std::max(now_, now);
    std::vector<Flight> wave;
    for (size_t i = 0; i < slots_.size(); ++i) {
      Slot& slot = *slots_[i];
      if (!slot.up || slot.paused) continue;
      for (Outgoing& out : slot.protocol->tick(local_time(i))) wave.push_back({i, 0, std::move(out)});
    }
    deliver_waves(std::move(wave));
  }
  // Delivers `messages` from node `from` now, with their replies (synchronous).
  void send(size_t from, std::vector<Outgoing> messages, double now) {
    now_ = std::max(now_, now);
    std::vector<Flight> wave;
    for (Outgoing& out : messages) wave.push_back({from, 0, std::move(out)});
    deliver_waves(std::move(wave));
  }

  // ---- event-driven ----
  void run_until(double until) {
    event_mode_ = true;
    for (size_t i = 0; i < slots_.size(); ++i)
      if (slots_[i]->scheduled == kNever) schedule(i);
    while (!events_.empty() && events_.top().at <= until) {
      const Event event = events_.top();
      events_.pop();
      now_ = std::max(now_, event.at);
      if (event.flight == kTickEvent) {
        fire(event.node, event.at);
      } else {
        arrive(event.flight);
      }
    }
    now_ = std::max(now_, until);
  }

  // ---- accounting ----
  uint64_t bytes_sent(size_t i) const { return slots_[i]->bytes_sent; }
  uint64_t messages_sent(size_t i) const { return slots_[i]->messages_sent; }
  size_t largest_message() const { return largest_message_; }
  // Total bytes per message type, indexed by MessageType value (1..10).
  const std::array<uint64_t, 11>& bytes_by_type() const { return bytes_by_type_; }
  uint64_t undecodable() const { return undecodable_; }

 private:
  static constexpr double kNever = std::numeric_limits<double>::infinity();
  static constexpr uint32_t kTickEvent = std::numeric_limits<uint32_t>::max();

  struct Watch final : ProtocolObserver {
    SimNetwork* net = nullptr;
    size_t observer = 0;
    void member_state(uint64_t fp, PeerState before, PeerState after, double now) override {
      if (net->hook_) net->hook_(observer, net->index_of_fp(fp), before, after, now);
    }
  };
  struct Flight {
    size_t from, to;
    Outgoing out;
  };
  struct Slot {
    std::unique_ptr<Protocol> protocol;
    bool up = true, paused = false;
    double frozen = 0, paused_at = 0;
    std::vector<Flight> mailbox;  // held while paused
    double scheduled = kNever;    // event mode: when its next tick event fires
    double scheduled_local = 0;   // ... and the protocol deadline (its clock) it fires for
    uint64_t bytes_sent = 0, messages_sent = 0;
    uint64_t spins = 0;
    std::string id;
    std::string public_key;
    std::shared_ptr<const RecordAuthority> authority;
    Watch watch;
  };
  struct Event {
    double at;
    uint64_t order;
    uint32_t node;
    uint32_t flight;
    bool operator>(const Event& other) const { return at != other.at ? at > other.at : order > other.order; }
  };

  void make_keys(Slot& slot, size_t index) {
    if (!options_.signing) return;
    unsigned char seed[crypto_box_SEEDBYTES] = {};
    const uint64_t mixed = options_.seed * 0x9e3779b97f4a7c15ull + index;
    for (size_t b = 0; b < 8; ++b) seed[b] = static_cast<unsigned char>(mixed >> (8 * b));
    unsigned char pk[crypto_box_PUBLICKEYBYTES], sk[crypto_box_SECRETKEYBYTES];
    crypto_box_seed_keypair(pk, sk, seed);
    agent::gossip::CurveKeypair keys{std::string(reinterpret_cast<char*>(pk), 32), std::string(reinterpret_cast<char*>(sk), 32)};
    allowlist_->insert(keys.public_key);
    slot.public_key = keys.public_key;
    slot.authority = std::make_shared<agent::gossip::CurveSigner>(keys, allowlist_);
  }

  std::unique_ptr<Protocol> make(size_t index, const std::vector<size_t>& seed_nodes, uint64_t generation) {
    std::vector<Seed> seeds;
    for (size_t s : seed_nodes) seeds.push_back({endpoint_of(s), slots_[s]->public_key});
    Slot& slot = *slots_[index];
    auto protocol = std::make_unique<Protocol>(
        config_, Identity{slot.id, endpoint_of(index), slot.public_key, generation}, seeds,
        rng_() ^ index, slot.authority);
    protocol->set_observer(&slot.watch);
    return protocol;
  }

  bool dropped(size_t from, size_t to) {
    if (to >= slots_.size() || !slots_[to]->up) return true;
    if (!side_.empty() && side_[from] != side_[to]) return true;
    if (link_filter_ && link_filter_(from, to)) return true;
    return loss_ > 0 && unit() < loss_;
  }
  double unit() { return static_cast<double>(rng_() >> 11) * 0x1.0p-53; }

  // Counts the message as sent by `from`; false if it is lost on the way.
  bool account(size_t from, const Outgoing& out) {
    const size_t bytes = encoded_size(out.message);
    Slot& sender = *slots_[from];
    sender.bytes_sent += bytes;
    ++sender.messages_sent;
    bytes_by_type_[static_cast<size_t>(out.message.type)] += bytes;
    largest_message_ = std::max(largest_message_, bytes);
    return !dropped(from, index_of(out.endpoint));
  }

  // Hands `message` from `from` to node `to` (up, not paused); returns its replies.
  std::vector<Outgoing> handle(size_t from, size_t to, const Message& message) {
    Protocol& receiver = *slots_[to]->protocol;
    const std::string& key = slots_[from]->public_key;
    if (!options_.roundtrip_wire) return receiver.handle(message, key, local_time(to));
    auto decoded = wire::decode(encode(message), config_.max_message_bytes);
    auto* ok = std::get_if<wire::Decoded>(&decoded);
    std::optional<Message> parsed = ok ? from_wire(ok->type, ok->message, config_) : std::nullopt;
    if (!parsed) {
      ++undecodable_;
      return {};
    }
    return receiver.handle(*parsed, key, local_time(to));
  }

  void deliver_waves(std::vector<Flight> wave) {
    while (!wave.empty()) {
      std::vector<Flight> next;
      for (Flight& flight : wave) {
        if (!account(flight.from, flight.out)) continue;
        const size_t to = index_of(flight.out.endpoint);
        if (slots_[to]->paused) {
          slots_[to]->mailbox.push_back({flight.from, to, std::move(flight.out)});
          continue;
        }
        for (Outgoing& reply : handle(flight.from, to, flight.out.message)) next.push_back({to, 0, std::move(reply)});
      }
      wave = std::move(next);
    }
  }

  // ---- event mode internals ----
  double link_latency(size_t from, size_t to) {
    uint64_t h = (from * 0x9e3779b97f4a7c15ull) ^ (to * 0xc2b2ae3d27d4eb4full) ^ options_.seed;
    h = (h ^ (h >> 31)) * 0xbf58476d1ce4e5b9ull;
    const double fixed = options_.latency_s * (0.5 + static_cast<double>(h >> 11) * 0x1.0p-53);
    return fixed + (options_.jitter_s > 0 ? -options_.jitter_s * std::log(1 - unit()) : 0);
  }

  void schedule(size_t i) {
    if (!event_mode_) return;
    Slot& slot = *slots_[i];
    if (!slot.up || slot.paused) return;
    const double deadline = slot.protocol->next_deadline();
    const double at = std::max(deadline + slot.frozen, now_);
    if (at >= slot.scheduled) return;
    slot.scheduled = at;
    slot.scheduled_local = deadline;
    events_.push(Event{at, order_++, static_cast<uint32_t>(i), kTickEvent});
  }

  void fire(size_t i, double at) {
    Slot& slot = *slots_[i];
    if (!slot.up || slot.paused || at != slot.scheduled) return;  // stale
    slot.scheduled = kNever;
    // The deadline itself, not now - frozen: that subtraction may round to just before it.
    const double local = std::max(local_time(i), slot.scheduled_local);
    for (Outgoing& out : slot.protocol->tick(local)) dispatch(i, std::move(out));
    schedule(i);
    // A protocol that keeps asking for a tick at the current instant would spin forever.
    if (slot.scheduled == at && ++slot.spins > 1000)
      throw std::logic_error("node " + std::to_string(i) + " asks for a tick at " + std::to_string(at) +
                             " again and again: " + slot.protocol->timers() + " local " + std::to_string(local_time(i)));
    if (slot.scheduled != at) slot.spins = 0;
  }

  void dispatch(size_t from, Outgoing out) {
    if (!account(from, out)) return;
    const size_t to = index_of(out.endpoint);
    uint32_t id;
    if (!free_.empty()) {
      id = free_.back();
      free_.pop_back();
      flights_[id] = Flight{from, to, std::move(out)};
    } else {
      id = static_cast<uint32_t>(flights_.size());
      flights_.push_back(Flight{from, to, std::move(out)});
    }
    events_.push(Event{now_ + link_latency(from, to), order_++, static_cast<uint32_t>(to), id});
  }

  void arrive(uint32_t id) {
    Flight flight = std::move(flights_[id]);
    flights_[id] = Flight{};
    free_.push_back(id);
    Slot& slot = *slots_[flight.to];
    if (!slot.up) return;
    if (slot.paused) {
      slot.mailbox.push_back(std::move(flight));
      return;
    }
    receive(flight.from, flight.to, flight.out.message);
  }

  void receive(size_t from, size_t to, const Message& message) {
    if (!slots_[to]->up) return;
    std::vector<Outgoing> replies = handle(from, to, message);
    if (event_mode_) {
      for (Outgoing& reply : replies) dispatch(to, std::move(reply));
      schedule(to);
    } else {
      std::vector<Flight> wave;
      for (Outgoing& reply : replies) wave.push_back({to, 0, std::move(reply)});
      deliver_waves(std::move(wave));
    }
  }

  ProtocolConfig config_;
  SimOptions options_;
  std::mt19937_64 rng_;
  std::vector<std::unique_ptr<Slot>> slots_;
  std::unordered_map<uint64_t, size_t> fp_to_index_;
  std::shared_ptr<std::set<std::string>> allowlist_ = std::make_shared<std::set<std::string>>();
  std::vector<uint8_t> side_;
  std::function<bool(size_t, size_t)> link_filter_;
  double loss_ = 0;
  double now_ = 0;
  StateHook hook_;
  bool event_mode_ = false;
  std::priority_queue<Event, std::vector<Event>, std::greater<Event>> events_;
  uint64_t order_ = 0;
  std::vector<Flight> flights_;
  std::vector<uint32_t> free_;
  std::array<uint64_t, 11> bytes_by_type_{};
  size_t largest_message_ = 0;
  uint64_t undecodable_ = 0;
};

}  // namespace antiphase::gossip::sim

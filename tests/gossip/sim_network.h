#pragma once
// An in-memory network of sans-IO gossip Protocol instances, shared by the unit tests
// and the 1,000-node simulator. Rounds are synchronous and pessimistic: every live node
// ticks, then SYNs are delivered, then ACKs, then ACK2s, so news moves at most one
// exchange per round (a real deployment with unsynchronised timers is faster).
#include <array>
#include <cstdint>
#include <memory>
#include <random>
#include <string>
#include <unordered_map>
#include <vector>

#include "common/gossip/protocol.h"
#include "common/wire/codec.h"

namespace antiphase::gossip::sim {

inline std::string endpoint_of(size_t i) { return "sim://" + std::to_string(i); }
inline std::string id_of(size_t i, const std::string& prefix = "n") { return prefix + std::to_string(i); }

class SimNetwork {
 public:
  explicit SimNetwork(ProtocolConfig config, uint64_t seed = 42, std::string id_prefix = "n")
      : config_(config), rng_(seed), id_prefix_(std::move(id_prefix)) {}

  // Adds node i (ids are dense) with the given seed node indexes.
  size_t add_node(const std::vector<size_t>& seed_nodes, uint64_t generation = 1) {
    const size_t index = nodes_.size();
    nodes_.push_back(make(index, seed_nodes, generation));
    up_.push_back(true);
    bytes_sent_.push_back(0);
    messages_sent_.push_back(0);
    return index;
  }
  // Replaces node i by a fresh incarnation (restart): empty state, new generation.
  void restart(size_t index, uint64_t generation, const std::vector<size_t>& seed_nodes) {
    nodes_[index] = make(index, seed_nodes, generation);
    up_[index] = true;
  }

  Protocol& node(size_t i) { return *nodes_[i]; }
  size_t size() const { return nodes_.size(); }
  void set_up(size_t i, bool up) { up_[i] = up; }
  void set_loss(double loss) { loss_ = loss; }
  // When set, every message is encoded to bytes and decoded again (exercises the wire).
  void set_roundtrip_wire(bool on) { roundtrip_ = on; }
  uint64_t bytes_sent(size_t i) const { return bytes_sent_[i]; }
  uint64_t messages_sent(size_t i) const { return messages_sent_[i]; }
  size_t largest_message() const { return largest_message_; }
  // Total bytes per message type, indexed by wire::MessageType value (1..4).
  const std::array<uint64_t, 5>& bytes_by_type() const { return bytes_by_type_; }

  void round(double now) {
    std::vector<std::pair<size_t, Outgoing>> in_flight;
    for (size_t i = 0; i < nodes_.size(); ++i)
      if (up_[i])
        for (Outgoing& out : nodes_[i]->tick(now)) in_flight.emplace_back(i, std::move(out));
    while (!in_flight.empty()) in_flight = deliver(std::move(in_flight), now);
  }

  void send(size_t from, std::vector<Outgoing> messages, double now) {
    std::vector<std::pair<size_t, Outgoing>> in_flight;
    for (Outgoing& out : messages) in_flight.emplace_back(from, std::move(out));
    while (!in_flight.empty()) in_flight = deliver(std::move(in_flight), now);
  }

 private:
  std::unique_ptr<Protocol> make(size_t index, const std::vector<size_t>& seed_nodes, uint64_t generation) {
    std::vector<Seed> seeds;
    for (size_t s : seed_nodes) seeds.push_back({endpoint_of(s), ""});
    return std::make_unique<Protocol>(config_, Identity{id_of(index, id_prefix_), endpoint_of(index), "", generation}, seeds,
                                      rng_() ^ index);
  }

  std::vector<std::pair<size_t, Outgoing>> deliver(std::vector<std::pair<size_t, Outgoing>> batch, double now) {
    std::vector<std::pair<size_t, Outgoing>> replies;
    std::uniform_real_distribution<double> coin(0, 1);
    for (auto& [from, out] : batch) {
      const size_t bytes = wire::encoded_size(out.message);
      bytes_sent_[from] += bytes;
      bytes_by_type_[static_cast<size_t>(out.type)] += bytes;
      ++messages_sent_[from];
      largest_message_ = std::max(largest_message_, bytes);
      const size_t to = std::stoul(out.endpoint.substr(6));
      if (to >= nodes_.size() || !up_[to] || (loss_ > 0 && coin(rng_) < loss_)) continue;
      std::vector<Outgoing> answers;
      if (roundtrip_) {
        auto decoded = wire::decode(wire::encode(out.type, out.message), config_.max_message_bytes);
        if (auto* ok = std::get_if<wire::Decoded>(&decoded)) {
          answers = nodes_[to]->handle(ok->type, ok->message, now);
        } else {
          ++undecodable_;
        }
      } else {
        answers = nodes_[to]->handle(out.type, out.message, now);
      }
      for (Outgoing& answer : answers) replies.emplace_back(to, std::move(answer));
    }
    return replies;
  }

  ProtocolConfig config_;
  std::mt19937_64 rng_;
  std::vector<std::unique_ptr<Protocol>> nodes_;
  std::vector<bool> up_;
  std::vector<uint64_t> bytes_sent_, messages_sent_;
  std::string id_prefix_;
  std::array<uint64_t, 5> bytes_by_type_{};
  size_t largest_message_ = 0;
  double loss_ = 0;
  bool roundtrip_ = false;

 public:
  uint64_t undecodable_ = 0;
};

}  // namespace antiphase::gossip::sim

#pragma once
// A throw-away network for multi-host tests: N node namespaces, each with a veth pair
// whose other end is a port of a bridge living in its own "switch" namespace. The root
// namespace's network is never touched. Built by shelling out to `ip` and `nft`; every
// command is checked (failure throws with the command and its output), and everything
// is deleted in the destructor, also when a test fails half-way.
//
// Loss: an nftables rule in each node namespace drops N % of the packets leaving its
// veth (outbound only), so every packet between two nodes crosses exactly one lossy hook:
// N % per packet and direction. Loopback inside a node is not affected.
// Partition: a bridge-family nftables table in the switch namespace drops frames between
// the ports of two groups (ARP included, so it looks like a cut cable); heal deletes it.
// Neighbours: every node holds permanent neighbour (ARP) entries for all the others. The
// kernel's neighbour table is one for all namespaces, capped at gc_thresh3 (1024) learnt
// entries; a topology of 33 or more nodes needs more than that (N x (N - 1)), and the
// overflow silently breaks connections ("neighbor table overflow!" in dmesg).
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace antiphase::gossip::testing {

class NetnsTopology {
 public:
  // Why a topology cannot be built here (not root, no `ip`/`nft`, no netns), or nullopt.
  static std::optional<std::string> unavailable_reason();

  explicit NetnsTopology(int node_count);
  ~NetnsTopology();
  NetnsTopology(const NetnsTopology&) = delete;
  NetnsTopology& operator=(const NetnsTopology&) = delete;

  int size() const { return node_count_; }
  const std::string& node_namespace(int index) const { return node_namespaces_.at(index); }
  std::string address(int index) const;  // 10.77.0.(index + 1), on a /24
  // `ip netns exec <ns>` for node `index`, with absolute paths.
  std::vector<std::string> exec_prefix(int index) const;

  void set_outbound_loss(int percent);  // on every node; 0 removes it
  struct LossCounters { uint64_t sent = 0, dropped = 0; };  // packets, summed over the nodes
  LossCounters loss_counters() const;
  void partition(const std::vector<int>& side_a, const std::vector<int>& side_b);
  void heal();

 private:
  void build();
  void teardown() noexcept;
  std::string in_namespace(const std::string& ns, const std::string& command) const;

  int node_count_;
  std::string prefix_;  // unique per test process
  std::string switch_namespace_;
  std::vector<std::string> node_namespaces_;
  std::vector<std::string> created_;  // namespaces to delete, in creation order
  bool partitioned_ = false;
};

}  // namespace antiphase::gossip::testing

#include "tests/gossip/netns_topology.h"

#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <stdexcept>
#include <utility>

namespace antiphase::gossip::testing {
namespace {

const char* const kBridge = "br0";
const char* const kNodeLink = "eth0";

std::string find_binary(const char* name) {
  for (const char* dir : {"/usr/sbin/", "/sbin/", "/usr/bin/", "/bin/"}) {
    const std::string path = std::string(dir) + name;
    if (::access(path.c_str(), X_OK) == 0) return path;
  }
  return {};
}

// Runs `command` through the shell; throws with its output unless it exits 0.
std::string run_checked(const std::string& command) {
  FILE* pipe = ::popen((command + " 2>&1").c_str(), "r");
  if (!pipe) throw std::runtime_error("cannot run: " + command);
  std::string output;
  std::array<char, 512> chunk{};
  while (size_t n = std::fread(chunk.data(), 1, chunk.size(), pipe)) output.append(chunk.data(), n);
  const int status = ::pclose(pipe);
  if (status == -1 || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
    throw std::runtime_error("command failed: " + command + "\n" + output);
  return output;
}

std::string port_name(int index) { return "p" + std::to_string(index); }

// Node `index`'s MAC address: locally administered, derived from the index like its IP.
std::string mac_address(int index) {
  char mac[32];
  std::snprintf(mac, sizeof(mac), "02:77:00:00:%02x:%02x", (index + 1) >> 8, (index + 1) & 0xff);
  return mac;
}

std::string port_set(const std::vector<int>& group) {
  std::string set = "{ ";
  for (size_t i = 0; i < group.size(); ++i) set += (i ? ", \"" : "\"") + port_name(group[i]) + "\"";
  return set + " }";
}

}  // namespace

std::optional<std::string> NetnsTopology::unavailable_reason() {
  if (::geteuid() != 0) return "needs root to create network namespaces";
  if (find_binary("ip").empty()) return "needs the `ip` binary (iproute2)";
  if (find_binary("nft").empty()) return "needs the `nft` binary (nftables)";
  const std::string probe = "apn-probe-" + std::to_string(::getpid());
  try {
    run_checked(find_binary("ip") + " netns add " + probe);
  } catch (const std::exception& error) {
    return std::string("cannot create a network namespace: ") + error.what();
  }
  std::optional<std::string> reason;
  try {
    run_checked(find_binary("ip") + " netns exec " + probe + " " + find_binary("nft") + " add table inet probe");
  } catch (const std::exception& error) {
    reason = std::string("nftables does not work in a namespace: ") + error.what();
  }
  if (std::system((find_binary("ip") + " netns del " + probe + " >/dev/null 2>&1").c_str()) != 0)
    reason = "cannot delete the probe namespace " + probe;
  return reason;
}

NetnsTopology::NetnsTopology(int node_count)
    : node_count_(node_count), prefix_("apn" + std::to_string(::getpid())) {
  if (node_count < 1 || node_count > 250) throw std::invalid_argument("NetnsTopology: 1..250 nodes");
  switch_namespace_ = prefix_ + "-sw";
  for (int i = 0; i < node_count; ++i) node_namespaces_.push_back(prefix_ + "-n" + std::to_string(i));
  try {
    build();
  } catch (...) {
    teardown();  // the destructor does not run when the constructor throws
    throw;
  }
}

NetnsTopology::~NetnsTopology() { teardown(); }

std::string NetnsTopology::address(int index) const { return "10.77.0." + std::to_string(index + 1); }

std::vector<std::string> NetnsTopology::exec_prefix(int index) const {
  return {find_binary("ip"), "netns", "exec", node_namespace(index)};
}

std::string NetnsTopology::in_namespace(const std::string& ns, const std::string& command) const {
  return run_checked(find_binary("ip") + " netns exec " + ns + " " + command);
}

void NetnsTopology::build() {
  const std::string ip = find_binary("ip");
  run_checked(ip + " netns add " + switch_namespace_);
  created_.push_back(switch_namespace_);
  run_checked(ip + " -n " + switch_namespace_ + " link add " + kBridge + " type bridge");
  run_checked(ip + " -n " + switch_namespace_ + " link set " + kBridge + " up");
  for (int i = 0; i < node_count_; ++i) {
    const std::string& ns = node_namespaces_[i];
    run_checked(ip + " netns add " + ns);
    created_.push_back(ns);
    // Created inside the switch namespace with the peer moved straight into the node's:
    // neither end ever appears in the root namespace.
    run_checked(ip + " -n " + switch_namespace_ + " link add " + port_name(i) + " type veth peer name " + kNodeLink +
                " netns " + ns);
    run_checked(ip + " -n " + switch_namespace_ + " link set " + port_name(i) + " master " + kBridge + " up");
    run_checked(ip + " -n " + ns + " link set " + kNodeLink + " address " + mac_address(i));
    run_checked(ip + " -n " + ns + " addr add " + address(i) + "/24 dev " + kNodeLink);
    run_checked(ip + " -n " + ns + " link set " + kNodeLink + " up");
    run_checked(ip + " -n " + ns + " link set lo up");
  }
  // Every node knows every other node's MAC: permanent neighbour entries, no ARP. The
  // kernel's ARP table is shared by all namespaces and capped (gc_thresh3, 1024 by
  // default); N x (N - 1) learnt entries past that overflow it ("neighbor table
  // overflow!"), and connections then fail at random: at 50 nodes (2,450 entries) a fleet
  // never converges. Permanent entries are exempt from the cap.
  for (int i = 0; i < node_count_ && node_count_ > 1; ++i) {
    std::string batch;
    for (int j = 0; j < node_count_; ++j)
      if (j != i)
        batch += "neigh replace " + address(j) + " lladdr " + mac_address(j) + " dev " + kNodeLink + " nud permanent\\n";
    run_checked("printf '" + batch + "' | " + ip + " -n " + node_namespaces_[i] + " -batch -");
  }
}

void NetnsTopology::teardown() noexcept {
  const std::string ip = find_binary("ip");
  // Deleting a namespace deletes its veth ends, bridge and nftables tables with it.
  for (auto it = created_.rbegin(); it != created_.rend(); ++it)
    if (std::system((ip + " netns del " + *it + " >/dev/null 2>&1").c_str()) != 0) {
      // Nothing more to do from a destructor; a leftover shows in `ip netns list`.
    }
  created_.clear();
}

void NetnsTopology::set_outbound_loss(int percent) {
  if (percent < 0 || percent > 100) throw std::invalid_argument("loss percent must be 0..100");
  const std::string nft = find_binary("nft");
  for (const std::string& ns : node_namespaces_) {
    // Idempotent: (re)create the table empty, then add the rule if any loss is wanted.
    in_namespace(ns, nft + " add table inet apn_loss");
    in_namespace(ns, nft + " delete table inet apn_loss");
    // The counting rule stays without loss too, so loss_counters() works at 0 %.
    in_namespace(ns, nft + " add table inet apn_loss");
    in_namespace(ns, nft + " add chain inet apn_loss out '{ type filter hook output priority 0; }'");
    in_namespace(ns, nft + " add rule inet apn_loss out oifname " + kNodeLink + " counter");
    if (percent == 0) continue;
    in_namespace(ns, nft + " add rule inet apn_loss out oifname " + kNodeLink + " numgen random mod 100 '<' " +
                         std::to_string(percent) + " counter drop");
  }
}

NetnsTopology::LossCounters NetnsTopology::loss_counters() const {
  LossCounters total;
  for (const std::string& ns : node_namespaces_) {
    const std::string listing = in_namespace(ns, find_binary("nft") + " list table inet apn_loss");
    // Two counters, in rule order: every packet leaving the veth, then those dropped.
    const auto first = listing.find("packets ");
    const auto second = first == std::string::npos ? first : listing.find("packets ", first + 1);
    if (first == std::string::npos) throw std::runtime_error("no loss counters in " + ns + ":\n" + listing);
    total.sent += std::stoull(listing.substr(first + 8));
    if (second != std::string::npos) total.dropped += std::stoull(listing.substr(second + 8));  // none at 0 %
  }
  return total;
}

void NetnsTopology::partition(const std::vector<int>& side_a, const std::vector<int>& side_b) {
  for (const auto* side : {&side_a, &side_b})
    for (int index : *side)
      if (index < 0 || index >= node_count_) throw std::invalid_argument("partition: no node " + std::to_string(index));
  if (side_a.empty() || side_b.empty()) throw std::invalid_argument("partition: both sides need a node");
  heal();
  const std::string nft = find_binary("nft");
  in_namespace(switch_namespace_, nft + " add table bridge apn_cut");
  partitioned_ = true;  // from here on heal() has something to remove
  in_namespace(switch_namespace_, nft + " add chain bridge apn_cut cut '{ type filter hook forward priority 0; }'");
  for (const auto& [from, to] : {std::pair{&side_a, &side_b}, std::pair{&side_b, &side_a}})
    in_namespace(switch_namespace_, nft + " add rule bridge apn_cut cut iifname '" + port_set(*from) + "' oifname '" +
                                        port_set(*to) + "' drop");
}

void NetnsTopology::heal() {
  if (!partitioned_) return;
  in_namespace(switch_namespace_, find_binary("nft") + " delete table bridge apn_cut");
  partitioned_ = false;
}

}  // namespace antiphase::gossip::testing

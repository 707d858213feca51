// Whole-system gossip simulator: N real sans-IO Protocol instances over the in-memory
// SimNetwork (synchronous rounds = interval_s). Measures, at steady state:
//   - rounds (= seconds at 1 s rounds) for a fresh summary to reach 99 % / 100 % of nodes
//   - bytes sent per node per second (encoded frame sizes)
//   - replicated state per node (ReplicatedState::approximate_bytes) and process RSS / N
// One command:  gossip_sim --nodes 1000
#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <numeric>
#include <random>
#include <string>

#include "tests/gossip/sim_network.h"

using namespace antiphase::gossip;

namespace {

struct Options {
  size_t nodes = 1000;
  size_t functions_per_node = 10;
  size_t hosts_per_function = 3;
  size_t summary_bytes = 200;
  unsigned fanout = 3;
  double loss = 0;
  size_t probes = 7;
  size_t measure_rounds = 20;
  std::string id_prefix = "n";
  size_t kill = 0;  // nodes crashed after the measurements, to time failure detection  // e.g. "worker-eu-west-1a-" for realistic host names
  double republish_per_node_per_s = 1.0 / 60;  // rate-limited "shape changed" republishes
};

long rss_kib() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line))
    if (line.rfind("VmRSS:", 0) == 0) return std::stol(line.substr(6));
  return -1;
}

std::string function_name(size_t i) { return "fn-" + std::to_string(i); }

size_t coverage(sim::SimNetwork& net, const std::string& function, const std::string& summary) {
  size_t count = 0;
  for (size_t i = 0; i < net.size(); ++i) count += net.node(i).function_summary(function) == summary;
  return count;
}

double median(std::vector<double> values) {
  std::sort(values.begin(), values.end());
  return values.empty() ? 0 : values[values.size() / 2];
}

// Crashes `kill` nodes and counts rounds until every survivor sees each of them Dead;
// also reports any survivor that some other survivor saw as Suspect/Dead meanwhile.
void measure_failure_detection(sim::SimNetwork& net, const ProtocolConfig& config, size_t kill, double& now,
                               std::mt19937_64& rng) {
  std::vector<bool> crashed(net.size(), false);
  std::vector<std::string> crashed_ids;
  while (crashed_ids.size() < kill) {
    const size_t victim = rng() % net.size();
    if (crashed[victim]) continue;
    crashed[victim] = true;
    net.set_up(victim, false);
    crashed_ids.push_back(net.node(victim).identity().node_id);
  }
  size_t false_suspicions = 0, rounds = 0;
  bool all_dead = false;
  while (!all_dead && rounds < config.dead_after_s * 3) {
    net.round(now += 1);
    ++rounds;
    all_dead = true;
    for (size_t i = 0; i < net.size(); ++i) {
      if (crashed[i]) continue;
      for (const PeerView& peer : net.node(i).peers(now)) {
        const bool is_crashed = std::find(crashed_ids.begin(), crashed_ids.end(), peer.node_id) != crashed_ids.end();
        if (is_crashed && peer.state != PeerState::Dead) all_dead = false;
        if (!is_crashed && peer.state != PeerState::Alive) ++false_suspicions;
      }
    }
  }
  std::printf("failure detection: %zu crashed nodes seen Dead by all %zu survivors after %zu rounds "
              "(suspect_after %.0f s, dead_after %.0f s); %s; false suspicions of live nodes: %zu\n",
              kill, net.size() - kill, rounds, config.suspect_after_s, config.dead_after_s,
              all_dead ? "complete" : "INCOMPLETE", false_suspicions);
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  CLI::App app{"antiphase gossip simulator (real protocol core, virtual transport)"};
  app.add_option("--nodes", o.nodes);
  app.add_option("--functions-per-node", o.functions_per_node);
  app.add_option("--hosts-per-function", o.hosts_per_function);
  app.add_option("--summary-bytes", o.summary_bytes);
  app.add_option("--fanout", o.fanout);
  app.add_option("--loss", o.loss);
  app.add_option("--probes", o.probes);
  app.add_option("--measure-rounds", o.measure_rounds);
  app.add_option("--id-prefix", o.id_prefix, "node ids are <prefix><index>");
  app.add_option("--kill", o.kill, "then crash this many nodes and time until all others see them Dead");
  CLI11_PARSE(app, argc, argv);

  ProtocolConfig config;
  config.fanout = o.fanout;
  config.suspect_after_s = 10;
  config.dead_after_s = 30;
  sim::SimNetwork net(config, 7, o.id_prefix);
  std::mt19937_64 rng(11);
  const size_t pool = std::max<size_t>(1, o.nodes * o.functions_per_node / o.hosts_per_function);
  const std::string summary(o.summary_bytes, 's');
  const auto started = std::chrono::steady_clock::now();

  double now = 0;
  for (size_t i = 0; i < o.nodes; ++i) {
    std::vector<size_t> seeds;
    for (int s = 0; s < 3 && i > 0; ++s) seeds.push_back(rng() % i);  // join via earlier nodes
    net.add_node(seeds);
    net.node(i).set_node_state({16.0, std::string(o.summary_bytes, 'h')}, now);
    for (size_t f = 0; f < o.functions_per_node; ++f) net.node(i).publish_function(function_name(rng() % pool), summary, now);
  }

  // Join: everyone starts knowing only its seeds.
  size_t join_rounds = 0;
  auto min_view = [&] {
    size_t least = SIZE_MAX;
    for (size_t i = 0; i < net.size(); ++i) least = std::min(least, net.node(i).state().origins().size());
    return least;
  };
  while (min_view() < o.nodes && join_rounds < 200) {
    net.round(now += 1);
    ++join_rounds;
  }
  std::printf("join: %zu rounds until every node knows all %zu nodes (min view %zu)\n", join_rounds, o.nodes, min_view());
  net.set_loss(o.loss);

  // Steady state: background republishes + probes, measuring bytes over the window.
  const auto type_bytes_before = net.bytes_by_type();
  std::vector<uint64_t> bytes_before(net.size());
  for (size_t i = 0; i < net.size(); ++i) bytes_before[i] = net.bytes_sent(i);
  std::vector<double> to99, to100;
  size_t measured_rounds = 0;
  std::bernoulli_distribution republish(o.republish_per_node_per_s);
  auto one_round = [&] {
    for (size_t i = 0; i < net.size(); ++i)
      if (republish(rng)) net.node(i).publish_function(function_name(rng() % pool), summary + std::to_string(now), now);
    net.round(now += 1);
    ++measured_rounds;
  };
  for (size_t p = 0; p < o.probes; ++p) {
    const std::string probe = "probe-" + std::to_string(p), value = "v" + std::to_string(p);
    net.node(rng() % net.size()).publish_function(probe, value, now);
    size_t rounds = 0;
    bool hit99 = false;
    while (rounds < 60) {
      one_round();
      ++rounds;
      const size_t seen = coverage(net, probe, value);
      if (!hit99 && seen * 100 >= net.size() * 99) { to99.push_back(rounds); hit99 = true; }
      if (seen == net.size()) { to100.push_back(rounds); break; }
    }
  }
  while (measured_rounds < o.measure_rounds) one_round();

  std::vector<double> per_node_rate;
  for (size_t i = 0; i < net.size(); ++i) per_node_rate.push_back(double(net.bytes_sent(i) - bytes_before[i]) / measured_rounds);
  const double mean_rate = std::accumulate(per_node_rate.begin(), per_node_rate.end(), 0.0) / net.size();
  const double max_rate = *std::max_element(per_node_rate.begin(), per_node_rate.end());
  size_t state_sum = 0, state_max = 0;
  for (size_t i = 0; i < net.size(); ++i) {
    const size_t bytes = net.node(i).state().approximate_bytes();
    state_sum += bytes;
    state_max = std::max(state_max, bytes);
  }
  size_t not_alive = 0;
  for (const PeerView& peer : net.node(0).peers(now)) not_alive += peer.state != PeerState::Alive;
  const double wall_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();

  std::printf("nodes=%zu fanout=%u loss=%.3f functions(distinct)=%zu per-node-functions=%zu summary=%zuB\n", o.nodes,
              o.fanout, o.loss, net.node(0).state().function_count(), o.functions_per_node, o.summary_bytes);
  std::printf("dissemination to 99%%: median %.0f rounds (min %.0f, max %.0f) over %zu probes; to 100%%: median %.0f\n",
              median(to99), to99.empty() ? 0 : *std::min_element(to99.begin(), to99.end()),
              to99.empty() ? 0 : *std::max_element(to99.begin(), to99.end()), to99.size(), median(to100));
  std::printf("bandwidth sent per node: mean %.1f KB/s, max %.1f KB/s (over %zu steady rounds of 1 s); largest message %zu B\n",
              mean_rate / 1000, max_rate / 1000, measured_rounds, net.largest_message());
  const auto& type_bytes = net.bytes_by_type();
  auto per_node_s = [&](int type) { return double(type_bytes[type] - type_bytes_before[type]) / measured_rounds / net.size() / 1000; };
  std::printf("  by message type (KB/s per node): SYN %.1f, ACK %.1f, ACK2 %.1f\n", per_node_s(1), per_node_s(2), per_node_s(3));
  std::printf("replicated state per node: mean %.2f MB, max %.2f MB (approximate); process RSS %.1f MB total = %.2f MB/node\n",
              state_sum / 1e6 / net.size(), state_max / 1e6, rss_kib() / 1024.0, rss_kib() / 1024.0 / net.size());
  std::printf("node 0 sees %zu non-alive peers (no failures injected); wall time %.1f s\n", not_alive, wall_s);
  if (o.kill > 0) measure_failure_detection(net, config, o.kill, now, rng);
  return 0;
}

// Whole-system gossip simulator: N real sans-IO Protocol instances (common/gossip) over
// the in-memory SimNetwork (tests/gossip/sim_network.h). One command, e.g.
//   gossip_sim --nodes 10000 --loss 0.05 --crash 10 --json
// Phases, in order:
//   1. the fleet: N nodes, each with a host summary and `functions-per-node` functions
//      drawn from a pool of N x functions-per-node / hosts-per-function names. By default
//      every node starts as if it had joined long ago (--warm, sharing one replica's
//      records); --join makes them join through 3 earlier seeds instead and times it;
//   2. steady state for --measure-s: each node republishes one of its functions every
//      ~60 s (--republish-s), `--probes` fresh summaries are timed until 99 % / 100 % of
//      nodes hold them, and bytes sent are counted (encoded frame sizes, header included);
//   3. failures, each optional: --pause K nodes for --pause-s, --crash K nodes (time until
//      every live node sees each Dead), --partition-s (two halves, then the heal);
//   --loss applies throughout, --forgers K nodes forge, alter and replay records all along.
// Event mode (default) has per-link latency and the protocol's own jittered timers;
// --mode sync runs the pessimistic synchronous rounds (one news interval per round).
#include <sys/resource.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <numeric>
#include <random>
#include <set>
#include <string>
#include <unordered_set>

#include "agent/gossip/gossip_config.h"
#include "common/gossip/function_homes.h"
#include "common/gossip/message_codec.h"
#include "tests/gossip/sim_network.h"

using namespace antiphase::gossip;
using nlohmann::json;

namespace {

struct Options {
  size_t nodes = 1000;
  std::string mode = "event";
  bool join = false;  // join through seeds instead of the warm start
  size_t functions_per_node = 10;
  size_t hosts_per_function = 3;
  size_t summary_bytes = 200;
  size_t host_summary_bytes = 200;
  double republish_s = 60;  // each node republishes one of its functions this often
  double advert_republish_s = 0;  // each node republishes its host advert this often (0: never)
  double loss = 0;
  double latency_ms = 1.0, jitter_ms = 0.2;
  size_t probes = 7;
  double settle_s = 20;
  double measure_s = 30;
  size_t crash = 0;
  size_t restart = 0;
  size_t pause = 0;
  double pause_s = 3;
  double partition_s = 0;
  size_t forgers = 0;
  bool signing = true;
  std::string id_prefix = "worker-eu-west-1a-";
  bool json_out = false;
  // protocol knobs (defaults = the agent's defaults, GossipConfig interval 1 s)
  double interval_s = 1, suspect_after_s = 4, dead_after_s = 15, purge_after_s = 120;
  unsigned fanout = 3;
  double news_multiplier = 1.0;
  double anti_entropy_s = 30;
  double settle_ae_s = -1;  // -1: 2 x interval, as the agent
  unsigned function_homes = 0;  // 0: full replication
  uint64_t seed = 7;
};

double peak_rss_mb() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return usage.ru_maxrss / 1024.0;
}

double median(std::vector<double> values) {
  if (values.empty()) return -1;
  std::sort(values.begin(), values.end());
  return values[values.size() / 2];
}

std::string function_name(size_t i) { return "fn-" + std::to_string(i); }

// The agent's own mapping (agent/gossip/gossip_config.h) from the knobs the agent has,
// then the simulator's experiment knobs.
ProtocolConfig protocol_config(const Options& o) {
  antiphase::agent::gossip::GossipConfig agent;
  agent.interval_s = o.interval_s;
  agent.anti_entropy_interval_s = o.anti_entropy_s;
  agent.fanout = o.fanout;
  agent.suspect_after_s = o.suspect_after_s;
  agent.dead_after_s = o.dead_after_s;
  agent.purge_after_s = o.purge_after_s;
  agent.function_homes = o.function_homes;
  agent.max_peers = std::max(agent.max_peers, o.nodes + 16);
  ProtocolConfig c = antiphase::agent::gossip::protocol_config_of(agent);
  c.news_multiplier = o.news_multiplier;
  if (o.settle_ae_s >= 0) c.anti_entropy_settle_s = o.settle_ae_s;
  c.track_changes = false;  // nobody reads the change feed here; it would hold a copy of every change
  return c;
}

class Simulation {
 public:
  explicit Simulation(Options o)
      : o_(std::move(o)), config_(protocol_config(o_)),
        net_(config_, sim::SimOptions{o_.seed, o_.id_prefix, o_.signing, false, o_.latency_ms / 1000, o_.jitter_ms / 1000}),
        rng_(o_.seed * 31 + 1), pool_(std::max<size_t>(1, o_.nodes * o_.functions_per_node / o_.hosts_per_function)) {
    net_.set_loss(0);
    net_.on_state_change([this](size_t observer, size_t member, PeerState before, PeerState after, double local_now) {
      on_state(observer, member, before, after, local_now);
    });
  }

  void run() {
    const auto started = std::chrono::steady_clock::now();
    build();
    net_.set_loss(o_.loss);
    advance(o_.settle_s);
    measure_steady_state();
    if (o_.restart) restart_phase();
    if (o_.pause) pause_phase();
    if (o_.crash) crash_phase();
    if (o_.partition_s > 0) partition_phase();
    report_["wall_s"] = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    report_["peak_rss_mb"] = peak_rss_mb();
    finish_report();
  }

  void print() const {
    if (o_.json_out) {
      std::printf("%s\n", report_.dump(2).c_str());
      return;
    }
    for (const auto& [key, value] : report_.items()) std::printf("%-28s %s\n", key.c_str(), value.dump().c_str());
  }

 private:
  // ---------------------------------------------------------------- clock

  double now() const { return net_.now(); }
  double local(size_t i) const { return net_.local_time(i); }

  // Advances simulated time by `seconds`, republishing and forging along the way, and
  // calling `sample()` every 50 ms.
  void advance(double seconds, const std::function<void()>& sample = {}) {
    const double until = now() + seconds;
    const double step = o_.mode == "sync" ? config_.news_interval_s : 0.05;
    while (now() + 1e-9 < until) {
      const double next = std::min(until, now() + step);
      background(next - now());
      if (o_.mode == "sync") {
        net_.round(next);
      } else {
        net_.run_until(next);
      }
      if (sample) sample();
    }
  }

  void background(double dt) {
    std::binomial_distribution<size_t> republishes(o_.nodes, std::min(1.0, dt / o_.republish_s));
    for (size_t k = republishes(rng_); k > 0; --k) {
      const size_t i = rng_() % o_.nodes;
      if (!net_.is_up(i) || net_.is_paused(i) || owned_[i].empty()) continue;
      const std::string& name = owned_[i][rng_() % owned_[i].size()];
      if (net_.node(i).publish_function(name, summary_of(name), local(i))) ++republished_;
    }
    if (o_.function_homes > 0) {
      // As the daemon does for its tenants every tick: want_function pulls a function from
      // a home once its copy is interest_refresh_s old, so one pull per tenant per that time.
      // Asked twice per refresh time here (not every tick: 100,000 calls a second).
      std::binomial_distribution<size_t> wants(o_.nodes * o_.functions_per_node,
                                               std::min(1.0, 2 * dt / config_.interest_refresh_s));
      for (size_t k = wants(rng_); k > 0; --k) {
        const size_t i = rng_() % o_.nodes;
        if (!net_.is_up(i) || net_.is_paused(i) || owned_[i].empty()) continue;
        net_.node(i).want_function(owned_[i][rng_() % owned_[i].size()], local(i));
      }
    }
    if (o_.advert_republish_s > 0) {
      std::binomial_distribution<size_t> adverts(o_.nodes, std::min(1.0, dt / o_.advert_republish_s));
      for (size_t k = adverts(rng_); k > 0; --k) {
        const size_t i = rng_() % o_.nodes;
        if (!net_.is_up(i) || net_.is_paused(i)) continue;
        net_.node(i).set_node_state({16.0, advert_of(i)}, local(i));
        ++adverts_republished_;
      }
    }
    forge(dt);
  }

  // A host advert of the configured size that differs from the last one (a real advert
  // is republished because it changed).
  std::string advert_of(size_t i) {
    std::string s = std::to_string(i) + "@" + std::to_string(++writes_);
    s.resize(o_.host_summary_bytes, 'h');
    return s;
  }

  std::string summary_of(const std::string& name) {
    std::string s = name + "@" + std::to_string(++writes_);
    s.resize(o_.summary_bytes, 's');
    return s;
  }

  // ---------------------------------------------------------------- fleet

  void build() {
    owned_.resize(o_.nodes);
    for (size_t i = 0; i < o_.nodes; ++i) {
      std::vector<size_t> seeds;
      if (o_.join)
        for (int s = 0; s < 3 && i > 0; ++s) seeds.push_back(rng_() % i);
      net_.add_node(seeds);
      net_.node(i).set_node_state({16.0, advert_of(i)}, 0);
      for (size_t f = 0; f < o_.functions_per_node; ++f) {
        owned_[i].push_back(function_name(rng_() % pool_));
        net_.node(i).publish_function(owned_[i].back(), summary_of(owned_[i].back()), 0);
      }
    }
    if (o_.join) {
      time_join();
    } else {
      warm_start();
    }
  }

  void warm_start() {
    // Node 0 takes every record through the real apply path (signatures checked); every
    // other node then adopts its replica, sharing the record objects.
    Message everything;
    everything.type = MessageType::Push;
    everything.from = Sender{"warm-start", 1, "sim://warm", ""};
    for (size_t i = 1; i < o_.nodes; ++i) {
      const RecordStore& store = net_.node(i).state();
      everything.records.emplace_back(store.self().node.get());
      for (const std::string& name : owned_[i])
        if (const Record* r = store.function(name)) everything.records.emplace_back(r);
    }
    net_.node(0).handle(everything, "", 0);
    if (o_.function_homes == 0) {
      for (size_t i = 0; i < o_.nodes; ++i) net_.node(i).adopt_state(net_.node(0), 0);
    } else {
      warm_start_homed();
    }
    report_["start"] = "warm";
  }

  // With function homes each node keeps what it wrote, what it is a home for and what it
  // runs (as the daemon's want_function for its tenants makes it): the homes are computed
  // once per key here, as every node computes them (function_homes.h). Node 0 applied
  // every node record above and kept only its own functions, so the winning record of
  // each function (last writer wins) is taken from the hosts that wrote them.
  void warm_start_homed() {
    std::vector<uint64_t> fps(o_.nodes);
    for (size_t i = 0; i < o_.nodes; ++i) fps[i] = fingerprint(net_.node(i).identity().node_id);
    std::unordered_map<uint64_t, RecordRef> winner;  // by key hash
    for (size_t i = 0; i < o_.nodes; ++i) {
      for (const std::string& name : owned_[i]) {
        const Record* r = net_.node(i).state().function(name);
        if (!r) continue;
        RecordRef& best = winner[r->key_hash];
        if (!best || supersedes(*r, *best)) best = RecordRef(r);
      }
    }
    std::vector<std::vector<RecordRef>> keeps(o_.nodes);
    for (const auto& [key, record] : winner) {
      TopHomes top(key, o_.function_homes);
      for (const uint64_t fp : fps) top.offer(fp);
      std::vector<size_t> holders{net_.index_of_fp(record->author_fp)};
      for (const uint64_t fp : top.members()) holders.push_back(net_.index_of_fp(fp));
      std::sort(holders.begin(), holders.end());
      holders.erase(std::unique(holders.begin(), holders.end()), holders.end());
      for (const size_t i : holders) keeps[i].push_back(record);
    }
    for (size_t i = 0; i < o_.nodes; ++i)
      for (const std::string& name : owned_[i]) {
        const RecordRef& record = winner[function_key_hash(name)];
        if (record && std::find(keeps[i].begin(), keeps[i].end(), record) == keeps[i].end()) keeps[i].push_back(record);
      }
    for (size_t k = 1; k <= o_.nodes; ++k) {
      const size_t i = k % o_.nodes;  // node 0, the donor of the members, last
      net_.node(i).adopt_state(net_.node(0), 0, &keeps[i]);
      for (const std::string& name : owned_[i]) net_.node(i).want_function(name, 0);
    }
  }

  void time_join() {
    const double started = now();
    auto min_view = [&] {
      size_t least = SIZE_MAX;
      for (size_t i = 0; i < o_.nodes; ++i) least = std::min(least, net_.node(i).state().members().size());
      return least;
    };
    while (min_view() < o_.nodes && now() - started < 300) advance(1.0);
    report_["start"] = "join";
    report_["join_s"] = now() - started;
    report_["join_min_view"] = min_view();
    // Caught up (Protocol::caught_up: a member answered the first comparison and every
    // record it showed missing arrived): until then an agent publishes no summary.
    auto behind = [&] {
      size_t n = 0;
      for (size_t i = 0; i < o_.nodes; ++i) n += !net_.node(i).caught_up();
      return n;
    };
    while (behind() > 0 && now() - started < 300) advance(0.2);
    report_["caught_up_s"] = now() - started;
    report_["not_caught_up"] = behind();
  }

  // ---------------------------------------------------------------- steady state

  void measure_steady_state() {
    std::vector<uint64_t> before(o_.nodes);
    for (size_t i = 0; i < o_.nodes; ++i) before[i] = net_.bytes_sent(i);
    const auto type_before = net_.bytes_by_type();
    const uint64_t republished_before = republished_, adverts_before = adverts_republished_;
    const double started = now();
    const double probe_every = o_.measure_s / std::max<size_t>(1, o_.probes);
    std::vector<double> to99, to100;
    for (size_t p = 0; p < o_.probes; ++p) {
      const size_t origin = live_node();
      const std::string name = "probe-" + std::to_string(p), value = summary_of(name);
      net_.node(origin).publish_function(name, value, local(origin));
      const std::vector<size_t> holders = expected_holders(name, origin);
      const double published = now();
      double hit99 = -1, hit100 = -1;
      advance(probe_every, [&] {
        if (hit100 >= 0) return;
        const size_t seen = coverage(name, value, holders);
        const size_t live = holders.size();
        if (hit99 < 0 && seen * 100 >= live * 99) hit99 = now() - published;
        if (seen >= live) hit100 = now() - published;
      });
      if (hit99 >= 0) to99.push_back(hit99);
      if (hit100 >= 0) to100.push_back(hit100);
    }
    if (o_.probes == 0) advance(o_.measure_s);
    const double elapsed = now() - started;
    std::vector<double> rates(o_.nodes);
    for (size_t i = 0; i < o_.nodes; ++i) rates[i] = double(net_.bytes_sent(i) - before[i]) / elapsed;
    const double mean = std::accumulate(rates.begin(), rates.end(), 0.0) / o_.nodes;
    json by_type;
    const char* names[] = {"", "ping", "ack", "ping_req", "nack", "news", "pull", "push", "ae_syn", "ae_ack", "leave"};
    for (size_t t = 1; t <= 10; ++t)
      by_type[names[t]] = double(net_.bytes_by_type()[t] - type_before[t]) / elapsed / o_.nodes;
    const double changes_per_s = double(republished_ - republished_before + o_.probes) / elapsed;
    report_["measure_s"] = elapsed;
    report_["dissemination_p99_s"] = median(to99);
    report_["dissemination_p99_s_all"] = to99;
    report_["dissemination_p100_s"] = median(to100);
    report_["dissemination_p100_reached"] = to100.size();
    report_["sent_bytes_per_node_s"] = {{"mean", mean}, {"max", *std::max_element(rates.begin(), rates.end())}};
    report_["sent_bytes_per_node_s_by_type"] = by_type;
    report_["changes_per_s"] = changes_per_s;
    // The floor: every node must receive every change once.
    const double advert_changes_per_s = double(adverts_republished_ - adverts_before) / elapsed;
    report_["advert_changes_per_s"] = advert_changes_per_s;
    report_["floor_bytes_per_node_s"] = changes_per_s * mean_record_bytes() + advert_changes_per_s * mean_node_record_bytes();
    // With function homes a change must reach its homes only.
    if (o_.function_homes > 0)
      report_["floor_homed_bytes_per_node_s"] = changes_per_s * mean_record_bytes() * o_.function_homes / o_.nodes +
                                                advert_changes_per_s * mean_node_record_bytes();
    report_["largest_message_bytes"] = net_.largest_message();
    state_bytes();
  }

  double mean_record_bytes() {
    double sum = 0;
    size_t n = 0;
    for (size_t i = 0; i < std::min<size_t>(o_.nodes, 200); ++i)
      for (const std::string& name : owned_[i])
        if (const Record* r = net_.node(i).state().function(name)) sum += record_wire_size(*r), ++n;
    return n ? sum / n : 0;
  }

  double mean_node_record_bytes() {
    double sum = 0;
    size_t n = 0;
    for (size_t i = 0; i < std::min<size_t>(o_.nodes, 200); ++i)
      if (const Member* m = net_.node(0).state().member(fingerprint(net_.node(i).identity().node_id)))
        sum += record_wire_size(*m->node), ++n;
    return n ? sum / n : 0;
  }

  void state_bytes() {
    // Every node's replica is measured (ReplicatedState::approximate_bytes: records, tables).
    double sum = 0, most = 0;
    const size_t step = std::max<size_t>(1, o_.nodes / 500);
    size_t counted = 0;
    for (size_t i = 0; i < o_.nodes; i += step, ++counted) {
      const double bytes = net_.node(i).state().approximate_bytes();
      sum += bytes;
      most = std::max(most, bytes);
    }
    report_["state_bytes_per_node"] = {{"mean", sum / counted}, {"max", most}, {"nodes_measured", counted}};
    report_["functions_distinct"] = pool_drawn();
    size_t held = 0, most_held = 0;
    for (size_t i = 0; i < o_.nodes; i += step) {
      held += net_.node(i).state().function_count();
      most_held = std::max(most_held, net_.node(i).state().function_count());
    }
    report_["functions_held_per_node"] = {{"mean", double(held) / counted}, {"max", most_held}};
  }

  // Who must hold a change: every live node, or with function homes its writer and its
  // live homes.
  std::vector<size_t> expected_holders(const std::string& name, size_t origin) const {
    std::vector<size_t> holders;
    if (o_.function_homes == 0) {
      for (size_t i = 0; i < o_.nodes; ++i)
        if (net_.is_up(i) && !net_.is_paused(i)) holders.push_back(i);
      return holders;
    }
    TopHomes top(function_key_hash(name), o_.function_homes);
    for (size_t i = 0; i < o_.nodes; ++i)
      if (net_.is_up(i) && !net_.is_paused(i))
        top.offer(fingerprint(const_cast<sim::SimNetwork&>(net_).node(i).identity().node_id));
    holders.push_back(origin);
    for (const uint64_t fp : top.members())
      if (net_.index_of_fp(fp) != origin) holders.push_back(net_.index_of_fp(fp));
    return holders;
  }

  size_t coverage(const std::string& name, const std::string& value, const std::vector<size_t>& holders) const {
    size_t seen = 0;
    for (const size_t i : holders) {
      if (!net_.is_up(i) || net_.is_paused(i)) continue;
      const Record* r = const_cast<sim::SimNetwork&>(net_).node(i).state().function(name);
      seen += r && r->payload() == value;
    }
    return seen;
  }
  size_t pool_drawn() const {
    std::unordered_set<std::string> names;
    for (const auto& owned : owned_) names.insert(owned.begin(), owned.end());
    return names.size();
  }
  size_t live_count() const {
    size_t live = 0;
    for (size_t i = 0; i < o_.nodes; ++i) live += net_.is_up(i) && !net_.is_paused(i);
    return live;
  }
  size_t live_node() {
    for (;;) {
      const size_t i = rng_() % o_.nodes;
      if (net_.is_up(i) && !net_.is_paused(i) && !forger_.count(i)) return i;
    }
  }

  // ---------------------------------------------------------------- failures

  // `local_now` is the observer's own clock (restarted nodes start theirs at 0): times here
  // are taken from the network's clock instead.
  void on_state(size_t observer, size_t member, PeerState before, PeerState after, double local_now) {
    (void)local_now;
    const double now = net_.now();
    if (member >= o_.nodes || observer == member) return;
    const bool expected = crashed_.count(member) || (partitioned_ && side_[observer] != side_[member]);
    if (after == PeerState::Suspect && !expected) ++false_suspect_;
    if (after != PeerState::Dead) return;
    const uint64_t declared = net_.node(observer).counters().deaths_declared;
    struct Remember {
      std::unordered_map<size_t, uint64_t>& map;
      size_t key;
      uint64_t value;
      ~Remember() { map[key] = value; }
    } remember{declared_, observer, declared};
    if (crashed_.count(member)) {
      if (dead_seen_[member].insert(observer).second && dead_seen_[member].size() == o_.nodes - crashed_.size())
        detected_at_[member] = now;
      return;
    }
    if (expected) return;
    if (paused_.count(member)) {
      ++paused_declared_dead_;
    } else {
      ++false_dead_;
      if (std::getenv("GOSSIP_SIM_TRACE") && false_dead_ <= 40) {
        Protocol& o = net_.node(observer);
        const Member* m = o.state().member(fingerprint(o.state().self_id() == "" ? "" : net_.node(member).identity().node_id));
        std::fprintf(stderr,
                     "false death: t=%.2f observer %zu%s saw %zu dead (was %s; declared by it: %s; its view v%llu, member at v%llu; health %u)\n",
                     now, observer, paused_.count(observer) ? " (paused earlier)" : "", member,
                     std::string(to_string(before)).c_str(),
                     o.counters().deaths_declared != declared_[observer] ? "yes" : "no (rumour)",
                     m ? static_cast<unsigned long long>(m->version()) : 0ull,
                     static_cast<unsigned long long>(net_.node(member).state().self().version()), o.local_health());
      }
    }
  }

  void pause_phase() {
    std::vector<size_t> victims;
    while (victims.size() < o_.pause) {
      const size_t i = live_node();
      if (!paused_.count(i)) paused_.insert(i), victims.push_back(i);
    }
    for (const size_t i : victims) net_.pause(i);
    advance(o_.pause_s);
    for (const size_t i : victims) net_.resume(i);
    advance(o_.suspect_after_s + 5);  // their suspicions (if any) refuted or expired by now
    report_["pause"] = {{"nodes", o_.pause}, {"seconds", o_.pause_s}, {"declared_dead", paused_declared_dead_}};
  }

  // Restarts K nodes as the agent does on `systemctl restart`: LEAVE, then a new
  // incarnation (generation + 1) that knows only 3 seeds. Times, per node, until every
  // live node sees the new incarnation alive.
  void restart_phase() {
    std::vector<size_t> restarted;
    while (restarted.size() < o_.restart) {
      const size_t i = live_node();
      if (std::find(restarted.begin(), restarted.end(), i) == restarted.end()) restarted.push_back(i);
    }
    const double started = now();
    std::map<size_t, uint64_t> generation;
    for (const size_t i : restarted) {
      net_.send(i, net_.node(i).leave(local(i)), now());
      generation[i] = net_.node(i).identity().generation + 1;
      std::vector<size_t> seeds;
      while (seeds.size() < 3) {
        const size_t s = live_node();
        if (s != i) seeds.push_back(s);
      }
      net_.restart(i, generation[i], seeds);
      net_.node(i).set_node_state({16.0, advert_of(i)}, local(i));
    }
    std::map<size_t, double> seen_at;
    while (seen_at.size() < restarted.size() && now() - started < 60) {
      advance(0.25);
      for (const size_t i : restarted) {
        if (seen_at.count(i)) continue;
        const uint64_t fp = fingerprint(net_.node(i).identity().node_id);
        bool everywhere = true;
        for (size_t j = 0; j < o_.nodes && everywhere; ++j) {
          if (j == i || !net_.is_up(j) || net_.is_paused(j)) continue;
          const Member* m = net_.node(j).state().member(fp);
          everywhere = m && m->generation() == generation[i] && m->state == PeerState::Alive;
        }
        if (everywhere) seen_at[i] = now() - started;
      }
    }
    std::vector<double> each;
    for (const size_t i : restarted) each.push_back(seen_at.count(i) ? seen_at[i] : -1);
    report_["restart"] = {{"nodes", o_.restart}, {"seen_everywhere_s_max", *std::max_element(each.begin(), each.end())},
                          {"seen_everywhere_s_median", median(each)}, {"seen_everywhere_s_all", each}};
  }

  void crash_phase() {
    const double crashed_at = now();
    while (crashed_.size() < o_.crash) {
      const size_t i = live_node();
      if (crashed_.insert(i).second) net_.set_up(i, false);
    }
    // Until every crashed node is Dead everywhere (and 2 s more), at most 3 x dead_after.
    double all_at = -1;
    while (now() - crashed_at < 3 * o_.dead_after_s && (all_at < 0 || now() - all_at < 2)) {
      advance(0.5);
      if (all_at < 0 && detected_at_.size() == crashed_.size()) all_at = now();
    }
    double worst = -1;
    for (const size_t i : crashed_) worst = detected_at_.count(i) ? std::max(worst, detected_at_[i] - crashed_at) : 1e9;
    report_["detect_dead_s"] = worst < 1e9 ? worst : -1;
    std::vector<double> each;
    for (const size_t i : crashed_) each.push_back(detected_at_.count(i) ? detected_at_[i] - crashed_at : -1);
    report_["detect_dead_s_all"] = each;
  }

  void partition_phase() {
    side_.assign(o_.nodes, 0);
    for (size_t i = o_.nodes / 2; i < o_.nodes; ++i) side_[i] = 1;
    partitioned_ = true;
    net_.partition(side_);
    advance(o_.partition_s);
    net_.heal();
    const double healed = now();
    double converged = -1;
    advance(120, [&] {
      if (converged >= 0) return;
      for (size_t i = 0; i < o_.nodes; ++i) {
        if (!net_.is_up(i)) continue;
        const RecordStore& s = net_.node(i).state();
        if (s.count(PeerState::Alive) != live_count() || s.members().size() < live_count()) return;
      }
      converged = now() - healed;
    });
    partitioned_ = false;
    report_["partition"] = {{"seconds", o_.partition_s}, {"heal_s", converged}};
  }

  // Forgers re-sign others' records with their own key, alter records keeping the
  // author's signature, and replay authors' older records, pushing them to random nodes.
  void forge(double dt) {
    if (o_.forgers == 0) return;
    if (forger_.empty())
      while (forger_.size() < o_.forgers) forger_.insert(rng_() % o_.nodes);
    std::bernoulli_distribution act(std::min(1.0, dt));  // about once a second each
    for (const size_t f : forger_) {
      if (!act(rng_) || !net_.is_up(f)) continue;
      const size_t victim = (f + 1 + rng_() % (o_.nodes - 1)) % o_.nodes;
      if (owned_[victim].empty()) continue;
      // (From the victim's own replica: with function homes the forger may not keep it.)
      const Record* real = net_.node(victim).state().function(owned_[victim][0]);
      // A function runs on ~3 hosts and the newest summary wins; if the forger is one of
      // them and wrote the newest, "re-signing" it is its own authorship, which any host
      // running the function may publish (until 2026-11-28 that was counted as a forgery
      // accepted: 1 key in ~1,000 forgeries, then on every node).
      if (!real || real->author_fp == fingerprint(net_.node(f).identity().node_id)) continue;
      Message push;
      push.type = MessageType::Push;
      push.from = Sender{net_.node(f).identity().node_id, 1, sim::endpoint_of(f), net_.public_key(f)};
      const auto signer = net_.authority(f);
      push.records.push_back(forged_copy(*real, signer.get()));   // re-signed by the forger
      push.records.push_back(forged_copy(*real, nullptr));        // altered, author's signature kept
      const std::string key(real->key());
      if (const auto old = replay_.find(key); old != replay_.end()) push.records.push_back(old->second);
      replay_[key] = RecordRef(real);
      for (int k = 0; k < 3; ++k) {
        const size_t to = rng_() % o_.nodes;
        if (to == f || !net_.is_up(to) || net_.is_paused(to)) continue;
        net_.node(to).handle(push, net_.public_key(f), local(to));
        forged_sent_ += 2;
      }
      forged_keys_.insert(key);
    }
  }

  RecordRef forged_copy(const Record& real, const RecordAuthority* signer) {
    RecordDraft r = draft_of(real);
    r.version += 1000;  // would win last-writer-wins if accepted
    r.payload = "FORGED";
    r.payload.resize(real.payload().size(), 'f');
    if (signer) r.signature = signer->sign(signing_bytes(r));  // otherwise the author's stays
    return share(r);
  }

  void finish_report() {
    report_["nodes"] = o_.nodes;
    report_["mode"] = o_.mode;
    report_["loss"] = o_.loss;
    report_["signing"] = o_.signing;
    report_["latency_ms"] = o_.latency_ms;
    report_["false_dead"] = false_dead_;
    report_["false_suspect"] = false_suspect_;
    report_["republished"] = republished_;
    report_["adverts_republished"] = adverts_republished_;
    report_["config"] = {{"interval_s", o_.interval_s},     {"suspect_after_s", o_.suspect_after_s},
                         {"dead_after_s", o_.dead_after_s}, {"fanout", o_.fanout},
                         {"news_interval_s", config_.news_interval_s}, {"anti_entropy_s", o_.anti_entropy_s},
                         {"news_multiplier", o_.news_multiplier}, {"function_homes", o_.function_homes}};
    if (o_.forgers) {
      size_t accepted = 0;
      uint64_t refused = 0, stale = 0;
      for (size_t i = 0; i < o_.nodes; ++i) {
        for (const std::string& key : forged_keys_) {
          const Record* r = net_.node(i).state().function(key);
          accepted += r && r->payload().starts_with("FORGED");
        }
        refused += net_.node(i).state().counters().forged;
        stale += net_.node(i).state().counters().stale;
      }
      report_["forgery"] = {{"forgers", o_.forgers}, {"forged_sent", forged_sent_}, {"forged_accepted", accepted},
                            {"records_forged_counted", refused}, {"records_stale_counted", stale}};
    }
  }

  Options o_;
  ProtocolConfig config_;
  sim::SimNetwork net_;
  std::mt19937_64 rng_;
  size_t pool_;
  std::vector<std::vector<std::string>> owned_;
  uint64_t writes_ = 0, republished_ = 0, adverts_republished_ = 0;
  json report_;
  std::set<size_t> crashed_, paused_, forger_;
  std::unordered_map<size_t, std::unordered_set<size_t>> dead_seen_;
  std::unordered_map<size_t, double> detected_at_;
  std::vector<uint8_t> side_;
  bool partitioned_ = false;
  uint64_t false_dead_ = 0, false_suspect_ = 0, paused_declared_dead_ = 0;
  std::unordered_map<size_t, uint64_t> declared_;  // deaths_declared per observer at its last death
  std::unordered_map<std::string, RecordRef> replay_;
  std::set<std::string> forged_keys_;
  uint64_t forged_sent_ = 0;
};

}  // namespace

int main(int argc, char** argv) {
  Options o;
  CLI::App app{"antiphase gossip simulator (the real protocol core over a virtual network)"};
  app.add_option("--nodes", o.nodes);
  app.add_option("--mode", o.mode, "event (latency, jittered timers) or sync (pessimistic rounds)")
      ->check(CLI::IsMember({"event", "sync"}));
  app.add_flag("--join", o.join, "join through seeds instead of starting warm");
  app.add_option("--functions-per-node", o.functions_per_node);
  app.add_option("--hosts-per-function", o.hosts_per_function);
  app.add_option("--summary-bytes", o.summary_bytes);
  app.add_option("--host-summary-bytes", o.host_summary_bytes);
  app.add_option("--advert-republish-s", o.advert_republish_s, "each node republishes its host advert this often (0: never)");
  app.add_option("--republish-s", o.republish_s, "each node republishes one function this often");
  app.add_option("--loss", o.loss, "fraction of messages lost, throughout");
  app.add_option("--latency-ms", o.latency_ms, "event mode: mean one-way link latency");
  app.add_option("--jitter-ms", o.jitter_ms, "event mode: mean extra per-message delay (exponential)");
  app.add_option("--probes", o.probes);
  app.add_option("--settle-s", o.settle_s);
  app.add_option("--measure-s", o.measure_s);
  app.add_option("--crash", o.crash, "crash this many nodes and time until every live node sees them Dead");
  app.add_option("--restart", o.restart,
                 "restart this many nodes (graceful leave, new generation) and time until all see the new incarnation");
  app.add_option("--pause", o.pause, "pause (SIGSTOP) this many nodes for --pause-s");
  app.add_option("--pause-s", o.pause_s);
  app.add_option("--partition-s", o.partition_s, "cut the fleet in halves this long, then heal");
  app.add_option("--forgers", o.forgers, "nodes that forge, alter and replay records");
  app.add_option("--signing", o.signing, "Ed25519 record signatures (1) or none (0)");
  app.add_option("--id-prefix", o.id_prefix, "node ids are <prefix><index>");
  app.add_flag("--json", o.json_out);
  app.add_option("--interval", o.interval_s);
  app.add_option("--suspect-after", o.suspect_after_s);
  app.add_option("--dead-after", o.dead_after_s);
  app.add_option("--purge-after", o.purge_after_s);
  app.add_option("--fanout", o.fanout);
  app.add_option("--news-multiplier", o.news_multiplier);
  app.add_option("--anti-entropy-s", o.anti_entropy_s);
  app.add_option("--anti-entropy-settle-s", o.settle_ae_s, "delay before pulling what anti-entropy found (-1: 2 x interval)");
  app.add_option("--function-homes", o.function_homes,
                 "keep each function's record on this many homes (and its writer and runners) instead of everywhere");
  app.add_option("--seed", o.seed);
  CLI11_PARSE(app, argc, argv);
  Simulation simulation(o);
  simulation.run();
  simulation.print();
  return 0;
}

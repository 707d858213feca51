// Fifty real antiphased in network namespaces, one command (root; ip, nft):
//   fleet_bench --json
// Each daemon runs in its own namespace behind a bridge (tests/gossip/netns_topology.h)
// with the shipped gossip timers, CurveZMQ keys and signed records, and every link drops
// --loss-percent of packets (nftables numgen: this kernel has no netem). Phases:
//   1. join: every daemon seeds 3 earlier ones; time until all see all alive;
//   2. steady: after --settle-s (as the simulator's), bytes sent per daemon for
//      --measure-s (/v1/stats);
//   3. restarts (--restart-percent): SIGTERM (graceful leave) and start again (a new
//      generation), all at once; time until every other daemon sees each new
//      incarnation alive;
//   4. crashes (as many): SIGKILL; time until every live daemon sees each dead;
//   5. a partition in halves for --partition-s, then the heal; time until all alive again.
// Then the simulator runs the same size, loss, restarts, crashes and partition
// (gossip_sim --functions-per-node 0: idle daemons publish no function summaries) and
// each figure is checked against it.
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "agent/ctl/api_client.h"
#include "agent/gossip/curve_keys.h"
#include "tests/gossip/netns_topology.h"

namespace ag = antiphase::agent::gossip;
namespace fs = std::filesystem;
using antiphase::gossip::testing::NetnsTopology;
using Clock = std::chrono::steady_clock;
using nlohmann::json;

namespace {

struct Options {
  size_t nodes = 50;
  int loss_percent = 5;
  double restart_percent = 10;
  double settle_s = 10;  // the join's own traffic fades before the steady window, as in gossip_sim
  double measure_s = 60;
  double partition_s = 30;
  std::string antiphased = ANTIPHASED_PATH, gossip_sim = GOSSIP_SIM_PATH;
  std::string log_level = "info";
  bool json_out = false, keep = false, join_only = false;
};

double since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

double median(std::vector<double> v) {
  if (v.empty()) return -1;
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

std::string cgroup2_mount() {
  std::ifstream mounts("/proc/mounts");
  std::string device, path, type, rest;
  while (mounts >> device >> path >> type && std::getline(mounts, rest))
    if (type == "cgroup2") return path;
  return {};
}

class Daemon {
 public:
  Daemon(std::string name, std::string dir, std::vector<std::string> prefix, std::string binary)
      : name_(std::move(name)), dir_(std::move(dir)), prefix_(std::move(prefix)), binary_(std::move(binary)) {}
  ~Daemon() { kill(SIGKILL); }

  void start() {
    pid_ = ::fork();
    if (pid_ == 0) {
      ::setpgid(0, 0);
      const int log = ::open((dir_ + "/daemon.log").c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
      ::dup2(log, 1);
      ::dup2(log, 2);
      std::vector<std::string> args = prefix_;
      args.insert(args.end(), {binary_, "--config", dir_ + "/antiphase.toml"});
      std::vector<char*> argv;
      for (auto& a : args) argv.push_back(a.data());
      argv.push_back(nullptr);
      ::execv(argv[0], argv.data());
      ::_exit(127);
    }
  }
  bool wait_healthy(double seconds) {
    const auto t = Clock::now();
    while (since(t) < seconds) {
      try {
        if (antiphase::ctl::api_call(socket(), "GET", "/healthz").status == 200) return true;
      } catch (const std::exception&) {
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    return false;
  }
  void signal(int number) {
    if (pid_ > 0) ::kill(pid_, number);
  }
  void kill(int signal) {
    if (pid_ <= 0) return;
    ::kill(pid_, signal);
    int status = 0;
    for (int i = 0; i < 200 && ::waitpid(pid_, &status, WNOHANG) == 0; ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    if (::waitpid(pid_, &status, WNOHANG) == 0) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, &status, 0);
    }
    pid_ = -1;
  }
  bool running() const { return pid_ > 0; }
  json get(const std::string& path) const {
    try {
      const auto reply = antiphase::ctl::api_call(socket(), "GET", path);
      if (reply.status == 200) return json::parse(reply.body);
    } catch (const std::exception&) {
    }
    return json();
  }
  // peer id -> (state, generation)
  std::map<std::string, std::pair<std::string, uint64_t>> peers() const {
    std::map<std::string, std::pair<std::string, uint64_t>> out;
    const json p = get("/v1/peers");
    if (!p.is_object() || !p.contains("peers")) return out;
    for (const auto& peer : p["peers"])
      out[peer["node_id"].get<std::string>()] = {peer["state"].get<std::string>(), peer["generation"].get<uint64_t>()};
    return out;
  }
  uint64_t bytes_out() const {
    const json s = get("/v1/stats");
    return s.is_object() && s.contains("gossip") ? s["gossip"].value("bytes_out", uint64_t{0}) : 0;
  }
  const std::string& name() const { return name_; }
  std::string socket() const { return dir_ + "/api.sock"; }

 private:
  std::string name_, dir_;
  std::vector<std::string> prefix_;
  std::string binary_;
  pid_t pid_ = -1;
};

class Fleet {
 public:
  explicit Fleet(Options o) : o_(std::move(o)), rng_(17) {}
  ~Fleet() {
    daemons_.clear();
    topology_.reset();
    std::error_code ignored;
    if (!cgroup_dir_.empty()) {
      for (size_t i = 0; i < o_.nodes; ++i) ::rmdir((cgroup_dir_ + "/n" + std::to_string(i)).c_str());
      ::rmdir(cgroup_dir_.c_str());
    }
    if (!o_.keep) fs::remove_all(root_, ignored);
  }

  int run() {
    if (const auto reason = NetnsTopology::unavailable_reason()) {
      std::fprintf(stderr, "fleet_bench: skipped: %s\n", reason->c_str());
      return 77;
    }
    setup();
    report_["join_s"] = join();
    if (o_.join_only) {
      std::printf("%s\n", report_.dump(2).c_str());
      return report_["join_s"].get<double>() >= 0 ? 0 : 1;
    }
    steady();
    restarts();
    crashes();
    partition();
    compare_with_simulator();
    if (o_.json_out) {
      std::printf("%s\n", report_.dump(2).c_str());
    } else {
      for (const auto& [key, value] : report_.items()) std::printf("%-24s %s\n", key.c_str(), value.dump().c_str());
    }
    return report_["checks"]["all_ok"].get<bool>() ? 0 : 1;
  }

 private:
  std::string name(size_t i) const { return "fleet-" + std::to_string(i); }
  std::string endpoint(size_t i) const { return "tcp://" + topology_->address(static_cast<int>(i)) + ":7946"; }

  void setup() {
    char pattern[] = "/tmp/antiphase-gossip-fleet-XXXXXX";
    root_ = ::mkdtemp(pattern);
    fs::create_directories(root_ + "/allowed");
    topology_ = std::make_unique<NetnsTopology>(static_cast<int>(o_.nodes));
    topology_->set_outbound_loss(o_.loss_percent);
    const std::string mount = cgroup2_mount();
    const std::string relative = "antiphase-fleet-" + std::to_string(::getpid());
    cgroup_dir_ = mount + "/" + relative;
    fs::create_directories(cgroup_dir_);
    std::vector<std::string> keys(o_.nodes);
    for (size_t i = 0; i < o_.nodes; ++i) {
      const std::string dir = root_ + "/" + name(i);
      fs::create_directories(dir + "/state");
      fs::create_directories(cgroup_dir_ + "/n" + std::to_string(i));
      keys[i] = ag::z85_encode_key(ag::generate_keypair_files(dir + "/gossip.pub", dir + "/gossip.key").public_key);
      fs::copy_file(dir + "/gossip.pub", root_ + "/allowed/" + name(i) + ".pub");
    }
    for (size_t i = 0; i < o_.nodes; ++i) {
      const std::string dir = root_ + "/" + name(i);
      std::string seeds;
      for (int s = 0; s < 3 && i > 0; ++s) {
        const size_t seed = rng_() % i;
        seeds += std::string(seeds.empty() ? "" : ", ") + "\"" + keys[seed] + "@" + endpoint(seed) + "\"";
      }
      // The shipped gossip timers: only what a deployment must set is set.
      std::ofstream(dir + "/antiphase.toml")
          << "[api]\nsocket = \"" << dir << "/api.sock\"\n[state]\ndir = \"" << dir << "/state\"\n"
          << "[sampler]\nmode = \"cgroup\"\n[functions]\ncgroup_roots = [\"" << relative << "/n" << i << "\"]\ndepth = 1\n"
          << "[log]\nlevel = \"" << o_.log_level << "\"\n"
          << "[gossip]\nenabled = true\nnode_id = \"" << name(i) << "\"\nbind = \"" << endpoint(i) << "\"\n"
          << "secret_key_file = \"" << dir << "/gossip.key\"\npublic_key_file = \"" << dir << "/gossip.pub\"\n"
          << "allowed_keys_dir = \"" << root_ << "/allowed\"\nseeds = [" << seeds << "]\n";
      // nsenter, not `ip netns exec`: the latter remounts /sys for the namespace, which hides
      // the cgroup2 mount the daemon's sampler needs.
      const std::vector<std::string> prefix = {"/usr/bin/nsenter",
                                               "--net=/run/netns/" + topology_->node_namespace(static_cast<int>(i))};
      daemons_.push_back(std::make_unique<Daemon>(name(i), dir, prefix, o_.antiphased));
      daemons_.back()->start();
    }
    for (auto& d : daemons_)
      if (!d->wait_healthy(30)) throw std::runtime_error(d->name() + " did not come up; see its daemon.log");
  }

  // Polls every running daemon's view; true once `done(view of observer)` holds for all.
  template <typename Done>
  double wait_all(double timeout_s, Done done) {
    const auto t = Clock::now();
    while (since(t) < timeout_s) {
      bool all = true;
      for (size_t i = 0; i < daemons_.size() && all; ++i)
        if (daemons_[i]->running()) all = done(i, daemons_[i]->peers());
      if (all) return since(t);
      std::this_thread::sleep_for(std::chrono::milliseconds(250));
    }
    return -1;
  }

  size_t running() const {
    return std::count_if(daemons_.begin(), daemons_.end(), [](const auto& d) { return d->running(); });
  }

  double join() {
    const auto t = Clock::now();
    while (since(t) < 120) {
      size_t joined = 0, least = o_.nodes;
      for (auto& d : daemons_) {
        const auto view = d->peers();
        const size_t alive = std::count_if(view.begin(), view.end(), [](const auto& p) { return p.second.first == "alive"; });
        joined += alive == o_.nodes - 1;
        least = std::min(least, alive);
      }
      if (std::getenv("FLEET_TRACE"))
        std::fprintf(stderr, "join %.1f s: %zu of %zu see all, the least sees %zu alive\n", since(t), joined, o_.nodes, least);
      if (joined == o_.nodes) return since(t);
      std::this_thread::sleep_for(std::chrono::milliseconds(250));
    }
    return -1;
  }

  void steady() {
    std::this_thread::sleep_for(std::chrono::duration<double>(o_.settle_s));
    std::vector<uint64_t> before(o_.nodes);
    for (size_t i = 0; i < o_.nodes; ++i) before[i] = daemons_[i]->bytes_out();
    const auto t = Clock::now();
    std::this_thread::sleep_for(std::chrono::duration<double>(o_.measure_s));
    const double elapsed = since(t);
    std::vector<double> rates;
    for (size_t i = 0; i < o_.nodes; ++i) rates.push_back((daemons_[i]->bytes_out() - before[i]) / elapsed);
    const double mean = std::accumulate(rates.begin(), rates.end(), 0.0) / rates.size();
    report_["sent_bytes_per_node_s"] = {{"mean", mean}, {"max", *std::max_element(rates.begin(), rates.end())}};
    const auto loss = topology_->loss_counters();
    report_["packets_dropped_fraction"] = double(loss.dropped) / std::max<uint64_t>(1, loss.sent);
  }

  std::vector<size_t> pick(size_t count, const std::set<size_t>& avoid) {
    std::vector<size_t> chosen;
    while (chosen.size() < count) {
      const size_t i = rng_() % o_.nodes;
      if (!avoid.count(i) && std::find(chosen.begin(), chosen.end(), i) == chosen.end() && daemons_[i]->running())
        chosen.push_back(i);
    }
    return chosen;
  }

  // The restarted daemons get SIGTERM at the same moment, as the simulator restarts its
  // nodes; each stops in about 0.5 s (its LEAVE is given 0.5 s to get out), then all start
  // again. Each is timed from that moment until every other running daemon sees its new
  // incarnation alive; its downtime (until the new process answers /healthz) is reported.
  void restarts() {
    const size_t count = std::max<size_t>(1, static_cast<size_t>(o_.nodes * o_.restart_percent / 100));
    restarted_ = pick(count, {});
    std::map<std::string, uint64_t> old_generation;
    const auto view = daemons_[(restarted_[0] + 1) % o_.nodes]->peers();
    for (const size_t i : restarted_) old_generation[name(i)] = view.count(name(i)) ? view.at(name(i)).second : 0;
    const auto t = Clock::now();
    for (const size_t i : restarted_) daemons_[i]->signal(SIGTERM);
    for (const size_t i : restarted_) daemons_[i]->kill(SIGTERM);  // waits until it exited
    for (const size_t i : restarted_) daemons_[i]->start();
    std::vector<double> down;
    for (const size_t i : restarted_) {
      daemons_[i]->wait_healthy(30);
      down.push_back(since(t));
    }
    std::map<size_t, double> seen_at;
    while (seen_at.size() < restarted_.size() && since(t) < 60) {
      std::vector<std::map<std::string, std::pair<std::string, uint64_t>>> views(o_.nodes);
      for (size_t j = 0; j < o_.nodes; ++j)
        if (daemons_[j]->running()) views[j] = daemons_[j]->peers();
      for (const size_t i : restarted_) {
        if (seen_at.count(i)) continue;
        bool everywhere = true;
        for (size_t j = 0; j < o_.nodes && everywhere; ++j) {
          if (j == i || !daemons_[j]->running()) continue;
          const auto it = views[j].find(name(i));
          everywhere = it != views[j].end() && it->second.first == "alive" && it->second.second > old_generation[name(i)];
        }
        if (everywhere) seen_at[i] = since(t);
      }
      if (seen_at.size() < restarted_.size()) std::this_thread::sleep_for(std::chrono::milliseconds(250));
    }
    std::vector<double> each;
    for (const size_t i : restarted_) each.push_back(seen_at.count(i) ? seen_at[i] : -1);
    report_["restart"] = {{"nodes", count},
                          {"seen_everywhere_s_median", median(each)},
                          {"seen_everywhere_s_max", *std::max_element(each.begin(), each.end())},
                          {"all", each},
                          {"down_s_median", median(down)},
                          {"down_s_all", down}};
  }

  void crashes() {
    std::set<size_t> avoid(restarted_.begin(), restarted_.end());
    crashed_ = pick(restarted_.size(), avoid);
    const auto t = Clock::now();
    for (const size_t i : crashed_) daemons_[i]->kill(SIGKILL);
    const double all = wait_all(90, [&](size_t, const auto& v) {
      for (const size_t c : crashed_) {
        const auto it = v.find(name(c));
        if (it != v.end() && it->second.first != "dead") return false;  // purged counts as seen dead
      }
      return true;
    });
    report_["detect_dead_s"] = all < 0 ? -1 : since(t);
  }

  void partition() {
    std::vector<int> a, b;
    for (size_t i = 0; i < o_.nodes; ++i) (i < o_.nodes / 2 ? a : b).push_back(static_cast<int>(i));
    topology_->partition(a, b);
    std::this_thread::sleep_for(std::chrono::duration<double>(o_.partition_s));
    topology_->heal();
    const size_t live = running();
    const double healed = wait_all(120, [&](size_t, const auto& v) {
      return std::count_if(v.begin(), v.end(), [](const auto& p) { return p.second.first == "alive"; }) ==
             static_cast<long>(live - 1);
    });
    report_["partition"] = {{"seconds", o_.partition_s}, {"heal_s", healed}};
  }

  void compare_with_simulator() {
    const std::string command = o_.gossip_sim + " --nodes " + std::to_string(o_.nodes) +
                                 " --functions-per-node 0 --republish-s 1e9 --probes 0 --settle-s " +
                                std::to_string(static_cast<int>(o_.settle_s)) + " --measure-s " +
                                std::to_string(static_cast<int>(o_.measure_s)) + " --loss " +
                                std::to_string(o_.loss_percent / 100.0) + " --restart " +
                                std::to_string(restarted_.size()) + " --crash " + std::to_string(crashed_.size()) +
                                " --partition-s " + std::to_string(static_cast<int>(o_.partition_s)) +
                                " --id-prefix fleet- --json";
    FILE* pipe = ::popen(command.c_str(), "r");
    std::string output;
    char chunk[4096];
    while (pipe && std::fgets(chunk, sizeof(chunk), pipe)) output += chunk;
    if (pipe) ::pclose(pipe);
    const json sim = json::parse(output, nullptr, false);
    report_["simulator"] = sim;
    report_["simulator_command"] = command;
    json checks;
    auto within = [&](const std::string& what, double real, double simulated, double factor, double slack_s) {
      const bool ok = real >= 0 && simulated >= 0 && real <= simulated * factor + slack_s && real * factor + slack_s >= simulated;
      checks[what] = {{"real", real}, {"sim", simulated}, {"ok", ok}};
      return ok;
    };
    bool all = !sim.is_discarded();
    if (all) {
      // Timings: within 2x plus 3 s (daemon start-up, scheduling on 2 shared cores, the
      // 250 ms polling); bytes: within 2x plus 1 KB/s (the daemons also republish host summaries).
      all &= within("detect_dead_s", report_["detect_dead_s"], sim["detect_dead_s"], 2, 3);
      all &= within("restart_seen_median_s", report_["restart"]["seen_everywhere_s_median"],
                    sim["restart"]["seen_everywhere_s_median"], 2, 3);
      all &= within("heal_s", report_["partition"]["heal_s"], sim["partition"]["heal_s"], 2, 3);
      all &= within("sent_bytes_per_node_s", report_["sent_bytes_per_node_s"]["mean"], sim["sent_bytes_per_node_s"]["mean"],
                    2, 1000);
    }
    checks["all_ok"] = all;
    report_["checks"] = checks;
  }

  Options o_;
  std::mt19937_64 rng_;
  std::string root_, cgroup_dir_;
  std::unique_ptr<NetnsTopology> topology_;
  std::vector<std::unique_ptr<Daemon>> daemons_;
  std::vector<size_t> restarted_, crashed_;
  json report_;
};

}  // namespace

int main(int argc, char** argv) {
  Options o;
  CLI::App app{"50 real antiphased in network namespaces, checked against the gossip simulator"};
  app.add_option("--nodes", o.nodes);
  app.add_option("--loss-percent", o.loss_percent);
  app.add_option("--restart-percent", o.restart_percent, "restarted, and as many crashed");
  app.add_option("--settle-s", o.settle_s, "wait after the join before the steady window");
  app.add_option("--measure-s", o.measure_s);
  app.add_option("--partition-s", o.partition_s);
  app.add_option("--antiphased", o.antiphased);
  app.add_option("--gossip-sim", o.gossip_sim);
  app.add_option("--log-level", o.log_level, "the daemons' log.level (debug shows the gossip transport)");
  app.add_flag("--join-only", o.join_only, "stop after the join phase (and report it)");
  app.add_flag("--keep", o.keep, "keep the temp dir (configs, logs) for a post-mortem");
  app.add_flag("--json", o.json_out);
  CLI11_PARSE(app, argc, argv);
  try {
    Fleet fleet(o);
    return fleet.run();
  } catch (const std::exception& error) {
    std::fprintf(stderr, "fleet_bench: %s\n", error.what());
    return 2;
  }
}

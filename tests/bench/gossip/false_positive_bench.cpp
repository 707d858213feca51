// False positives of failure detection on a real, disturbed cluster: N gossip_node
// processes on loopback with CurveZMQ, of which some are CPU-starved (a cgroup v1 CPU
// quota) and some are SIGSTOPped for a few seconds at regular intervals. Nobody crashes,
// so every "dead" seen by anyone is a false positive, and every "suspect" a false alarm.
// Run it once per gossip_node build to compare protocols (the previous, heartbeat-based
// one lives in git history):
//   false_positive_bench --gossip-node build/tests/gossip/gossip_node --json
// Needs root for the CPU quota (the starved nodes are skipped otherwise, with a note).
#include <signal.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "agent/gossip/curve_keys.h"
#include "tests/gossip/child_process.h"
#include "tests/system/free_ports.h"

namespace ag = antiphase::agent::gossip;
namespace fs = std::filesystem;
using antiphase::gossip::testing::ChildProcess;
using Clock = std::chrono::steady_clock;
using nlohmann::json;

namespace {

struct Options {
  std::string gossip_node;
  size_t nodes = 8, starved = 2, stopped = 2;
  double cpu_percent = 3;      // of one CPU, for each starved node
  double stop_s = 4, every_s = 12;
  double duration_s = 120;
  double interval_s = 1, suspect_s = 4, dead_s = 15, purge_s = 120;
  bool json_out = false;
};

double since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

// A cgroup v1 CPU quota for the starved nodes, removed on destruction.
class CpuQuota {
 public:
  explicit CpuQuota(double percent) {
    path_ = "/sys/fs/cgroup/cpu/antiphase-fp-" + std::to_string(::getpid());
    std::error_code error;
    if (!fs::create_directory(path_, error)) {
      path_.clear();
      return;
    }
    std::ofstream(path_ + "/cpu.cfs_period_us") << 100000;
    std::ofstream(path_ + "/cpu.cfs_quota_us") << static_cast<long>(percent * 1000);
  }
  ~CpuQuota() {
    if (path_.empty()) return;
    // Move anything left back to the root before removing the group.
    std::ifstream tasks(path_ + "/cgroup.procs");
    for (std::string pid; std::getline(tasks, pid);) std::ofstream("/sys/fs/cgroup/cpu/cgroup.procs") << pid;
    ::rmdir(path_.c_str());
  }
  bool usable() const { return !path_.empty(); }
  void add(pid_t pid) const { std::ofstream(path_ + "/cgroup.procs") << pid; }

 private:
  std::string path_;
};

struct Node {
  std::string name, role;  // healthy | starved | stopped
  std::unique_ptr<ChildProcess> process;
  bool frozen = false;
};

class Bench {
 public:
  explicit Bench(Options o) : o_(std::move(o)), quota_(o_.cpu_percent) {
    char pattern[] = "/tmp/antiphase-fp-bench-XXXXXX";
    root_ = ::mkdtemp(pattern);
    fs::create_directories(root_ + "/allowed");
    port_ = antiphase::testing::free_port_block(static_cast<int>(o_.nodes) + 2);
  }
  ~Bench() {
    nodes_.clear();
    fs::remove_all(root_);
  }

  void run() {
    start();
    observe();
  }
  void print() const {
    if (o_.json_out) {
      std::printf("%s\n", report_.dump(2).c_str());
    } else {
      for (const auto& [key, value] : report_.items()) std::printf("%-22s %s\n", key.c_str(), value.dump().c_str());
    }
  }

 private:
  std::string endpoint(size_t i) const { return "tcp://127.0.0.1:" + std::to_string(port_ + i); }

  void start() {
    std::vector<std::string> keys(o_.nodes);
    for (size_t i = 0; i < o_.nodes; ++i) {
      const std::string base = root_ + "/n" + std::to_string(i);
      keys[i] = ag::z85_encode_key(ag::generate_keypair_files(base + ".key", base + ".key_secret").public_key);
      fs::copy_file(base + ".key", root_ + "/allowed/n" + std::to_string(i) + ".key");
    }
    const bool can_starve = quota_.usable();
    for (size_t i = 0; i < o_.nodes; ++i) {
      Node node;
      node.name = "n" + std::to_string(i);
      node.role = i < o_.stopped ? "stopped" : (i < o_.stopped + o_.starved && can_starve ? "starved" : "healthy");
      std::vector<std::string> args = {o_.gossip_node, "--id", node.name, "--bind", endpoint(i), "--state-dir",
                                       root_ + "/state-" + node.name, "--secret-key", root_ + "/" + node.name + ".key_secret",
                                       "--allowed-keys", root_ + "/allowed", "--interval", std::to_string(o_.interval_s),
                                       "--suspect", std::to_string(o_.suspect_s), "--dead", std::to_string(o_.dead_s),
                                       "--purge", std::to_string(o_.purge_s), "--log-level", "error"};
      if (i + 1 < o_.nodes) {  // seeds: the last node, so all join through one
        args.push_back("--seed");
        args.push_back(keys[o_.nodes - 1] + "@" + endpoint(o_.nodes - 1));
      }
      node.process = std::make_unique<ChildProcess>(args);
      if (!node.process->read_line(std::chrono::seconds(10))) throw std::runtime_error(node.name + " did not start");
      if (node.role == "starved") quota_.add(node.process->pid());
      nodes_.push_back(std::move(node));
    }
    if (!can_starve) report_["note"] = "no CPU quota (needs root and cgroup v1 cpu): no starved nodes";
    const auto joined = Clock::now();
    while (since(joined) < 60) {
      bool all = true;
      for (Node& n : nodes_)
        if (n.role != "starved") all &= alive_count(n) == o_.nodes - 1;
      if (all) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
    }
    report_["join_s"] = since(joined);
  }

  size_t alive_count(Node& n) {
    size_t alive = 0;
    for (const auto& [id, state] : n.process->peer_states()) alive += state == "alive";
    return alive;
  }

  void schedule_stops(double t) {
    size_t k = 0;
    for (Node& n : nodes_) {
      if (n.role != "stopped") continue;
      const double phase = std::fmod(t + k++ * o_.every_s / o_.stopped, o_.every_s);
      const bool should_freeze = t > 5 && phase < o_.stop_s;
      if (should_freeze && !n.frozen) {
        n.process->signal(SIGSTOP);
        ++stops_;
      }
      if (!should_freeze && n.frozen) n.process->signal(SIGCONT);
      n.frozen = should_freeze;
    }
  }

  void observe() {
    std::map<std::pair<std::string, std::string>, std::string> last;  // (observer, target) -> state
    std::map<std::string, std::map<std::string, uint64_t>> by_target_role;  // role -> state -> transitions
    uint64_t polls = 0;
    const auto started = Clock::now();
    while (since(started) < o_.duration_s) {
      schedule_stops(since(started));
      for (Node& observer : nodes_) {
        if (observer.frozen) continue;  // a stopped process cannot answer
        for (const auto& [target, state] : observer.process->peer_states()) {
          std::string& before = last[{observer.name, target}];
          if (state != before && !before.empty()) {
            if (state == "suspect" || state == "dead") ++by_target_role[role_of(target)][state];
          }
          before = state;
        }
      }
      ++polls;
      std::this_thread::sleep_for(std::chrono::milliseconds(250));
    }
    for (Node& n : nodes_)
      if (n.frozen) n.process->signal(SIGCONT);
    report_["duration_s"] = o_.duration_s;
    report_["polls"] = polls;
    report_["stops"] = stops_;
    report_["false_alarms_by_target"] = by_target_role;
    report_["config"] = {{"nodes", o_.nodes}, {"starved", o_.starved}, {"cpu_percent", o_.cpu_percent},
                         {"stopped", o_.stopped}, {"stop_s", o_.stop_s}, {"every_s", o_.every_s},
                         {"interval_s", o_.interval_s}, {"suspect_s", o_.suspect_s}, {"dead_s", o_.dead_s}};
    json stats = json::object();
    for (Node& n : nodes_) stats[n.name] = n.process->ask("stats");
    report_["stats"] = stats;
  }

  std::string role_of(const std::string& name) const {
    for (const Node& n : nodes_)
      if (n.name == name) return n.role;
    return "unknown";
  }

  Options o_;
  CpuQuota quota_;
  std::string root_;
  int port_ = 0;
  std::vector<Node> nodes_;
  uint64_t stops_ = 0;
  json report_;
};

}  // namespace

int main(int argc, char** argv) {
  Options o;
  o.gossip_node = GOSSIP_NODE_PATH;
  CLI::App app{"false positives of gossip failure detection with CPU-starved and SIGSTOPped nodes"};
  app.add_option("--gossip-node", o.gossip_node, "the gossip_node binary to run (e.g. an older build)");
  app.add_option("--nodes", o.nodes);
  app.add_option("--starved", o.starved, "nodes limited to --cpu-percent of one CPU");
  app.add_option("--cpu-percent", o.cpu_percent);
  app.add_option("--stopped", o.stopped, "nodes SIGSTOPped for --stop-s every --every-s");
  app.add_option("--stop-s", o.stop_s);
  app.add_option("--every-s", o.every_s);
  app.add_option("--duration-s", o.duration_s);
  app.add_option("--interval", o.interval_s);
  app.add_option("--suspect", o.suspect_s);
  app.add_option("--dead", o.dead_s);
  app.add_flag("--json", o.json_out);
  CLI11_PARSE(app, argc, argv);
  Bench bench(o);
  bench.run();
  bench.print();
  return 0;
}

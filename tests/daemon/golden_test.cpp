// The golden test of "one decision path": a real antiphased replaying a trace, and a
// node core in this process fed the very same ticks (the daemon's own replay feed,
// usage tracker and tick mapping), give field-for-field identical decisions. The
// daemon keeps ticking while the test asks, so a decision is compared only when the
// tick counter read before and after it is the same.
#include <gtest/gtest.h>

#include <unistd.h>

#include <cmath>
#include <fstream>
#include <sstream>

#include "agent/gossip/gossip_config.h"
#include "agent/daemon/replay_feed.h"
#include "agent/daemon/usage_feed.h"
#include "common/admission/memory_guard_json.h"
#include "common/node/from_config.h"
#include "tests/daemon/daemon_support.h"

using namespace antiphase;
using namespace antiphase::testing;
using namespace std::chrono_literals;
using nlohmann::json;

namespace {

constexpr double kPi = 3.14159265358979323846;

config::Config read_config(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return config::parse(text.str(), path);
}

// The daemon's path from trace to core, in this process: ReplayFeed::advance per tick,
// UsageTracker::record, tick_for_core, NodeCore::observe.
class InProcessAgent {
 public:
  explicit InProcessAgent(const config::Config& c)
      : config_(c),
        feed_(c.sampler.replay_file, c.functions.pattern, c.sampler.replay_speed),
        usage_(c.functions.history_ticks),
        core_(node::node_config_from(c, ::sysconf(_SC_NPROCESSORS_ONLN)), agent::node_id_of(c),
              agent::gossip_endpoint_of(c)) {}

  void tick_to(uint64_t ticks) {
    for (; ticks_ < ticks; ++ticks_) {
      const agent::ReplayStep step = feed_.advance(config_.sampler.tick_s);
      const agent::TickResult r = usage_.record(step.cores, step.unix_ms, step.dt_s);
      last_s_ = static_cast<double>(step.unix_ms) / 1000.0;
      core_.observe(agent::tick_for_core(r, usage_, std::nullopt), last_s_);
    }
  }
  json admit(const node::AdmitRequest& r) const {
    const node::Answer a = core_.admit(r, last_s_);
    return admission::to_json(a.decision, a.memory);
  }

 private:
  config::Config config_;
  agent::ReplayFeed feed_;
  agent::UsageTracker usage_;
  node::NodeCore core_;
  uint64_t ticks_ = 0;
  double last_s_ = 0;
};

uint64_t ticks_of(const AgentProcess& agent) { return agent.get_json("/healthz")["ticks"].get<uint64_t>(); }

// The daemon's decision and the tick count it was taken at (retries until no tick
// happened while the daemon answered).
std::pair<json, uint64_t> decision_at_a_quiet_moment(const AgentProcess& agent, const json& body) {
  for (int attempt = 0; attempt < 200; ++attempt) {
    const uint64_t before = ticks_of(agent);
    json d = post_json(agent, "/v1/admit", body);
    if (ticks_of(agent) == before) return {std::move(d), before};
  }
  throw std::runtime_error("the daemon never answered between two ticks");
}

TEST(GoldenDecisions, DaemonAndInProcessNodeCoreDecideFieldForField) {
  const auto dirs = make_agent_dirs("daemon-golden");
  // A day worker, a night worker and a steady one over two days.
  write_trace(dirs.dir + "/trace.csv",
              {{"g-day", [](double h) { return h >= 8 && h < 16 ? 3.0 + std::sin(kPi * (h - 8) / 8) : 0.5; }},
               {"g-night", [](double h) { return h >= 20 || h < 4 ? 2.5 : 0.4; }},
               {"g-flat", [](double h) { return 1.0 + 0.1 * std::sin(h); }}},
              0, 48);
  AgentToml toml = replay_config(dirs.dir + "/trace.csv", "^(g-.+)$", 8.0);
  toml.set("admission", "min_confidence", "0.0");  // learned shapes count after minutes
  AgentProcess agent(dirs, toml.str());
  InProcessAgent twin(read_config(dirs.config()));
  // Let the daemon learn for a while (a day of trace in 14.4 s).
  ASSERT_TRUE(wait_until([&] { return ticks_of(agent) >= 150; }, 60s));

  const std::vector<std::pair<json, node::AdmitRequest>> requests = [] {
    std::vector<std::pair<json, node::AdmitRequest>> out;
    node::AdmitRequest unknown;
    unknown.function = "newcomer";
    unknown.peak_cores = 1.5;
    out.push_back({{{"function", "newcomer"}, {"peak_cores", 1.5}}, unknown});
    node::AdmitRequest local;
    local.function = "g-day";
    local.instances = 2;
    out.push_back({{{"function", "g-day"}, {"instances", 2}}, local});
    node::AdmitRequest night;
    night.function = "g-night";
    out.push_back({{{"function", "g-night"}}, night});
    return out;
  }();
  for (const auto& [body, request] : requests) {
    const auto [daemon, ticks] = decision_at_a_quiet_moment(agent, body);
    twin.tick_to(ticks);
    const json mine = twin.admit(request);
    EXPECT_EQ(daemon.dump(1), mine.dump(1)) << "after " << ticks << " ticks, request " << body.dump();
  }
  expect_clean_exit(agent);
}

}  // namespace

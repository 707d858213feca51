#include "tests/daemon/daemon_support.h"

#include <cstdio>
#include <fstream>
#include <stdexcept>

#include <gtest/gtest.h>

namespace antiphase::testing {

void write_trace(const std::string& path, const std::vector<TraceSeries>& series, double from_hour, double to_hour) {
  std::ofstream out(path);
  out << "timestamp,function,cpu\n";
  const auto first = static_cast<int64_t>(from_hour * 3600), last = static_cast<int64_t>(to_hour * 3600);
  char cpu[32];
  for (int64_t t = first; t < last; t += kTraceStepS) {
    for (const auto& s : series) {
      std::snprintf(cpu, sizeof cpu, "%.4f", s.cores(static_cast<double>(t) / 3600.0));
      out << kTraceMidnightUtc + t << ',' << s.id << ',' << cpu << '\n';
    }
  }
  if (!out) throw std::runtime_error("cannot write trace " + path);
}

AgentToml& AgentToml::set(const std::string& section, const std::string& key, const std::string& value) {
  sections_[section][key] = value;
  return *this;
}

std::string AgentToml::str() const {
  std::string out;
  for (const auto& [section, keys] : sections_) {
    out += "[" + section + "]\n";
    for (const auto& [key, value] : keys) out += key + " = " + value + "\n";
  }
  return out;
}

std::string toml_string(const std::string& s) { return "\"" + s + "\""; }

AgentToml replay_config(const std::string& trace, const std::string& pattern, double capacity_cores, double speed) {
  AgentToml c;
  c.set("sampler", "mode", toml_string("replay"))
      .set("sampler", "tick", toml_string("100ms"))
      .set("sampler", "replay_file", toml_string(trace))
      .set("sampler", "replay_speed", std::to_string(speed))
      .set("functions", "pattern", "'" + pattern + "'")
      .set("admission", "capacity_cores", std::to_string(capacity_cores))
      .set("admission", "target_utilisation", "0.9");  // tests compute limits from it
  // A full day of history (14.4 s at 6000 x) would start the hosts' calibrators, each
  // on its own residuals; with 30 days none sees an observation during a test, so every
  // z is the Gaussian z of the configured target and decisions on two nodes compare.
  c.set("shape", "full_confidence", toml_string("30d"));
  // A replayed CPU trace has no memory figures: requests would need memory_bytes. The
  // memory guard has its own tests (memory_test.cpp).
  c.set("admission", "committed_memory", toml_string("off"));
  return c;
}

AgentToml& add_gossip(AgentToml& c, const std::string& node_id, int port, int seed_port) {
  c.set("gossip", "enabled", "true")
      .set("gossip", "node_id", toml_string(node_id))
      .set("gossip", "bind", toml_string("tcp://127.0.0.1:" + std::to_string(port)))
      .set("gossip", "interval", toml_string("200ms"))
      .set("gossip", "suspect_after", toml_string("2s"))
      .set("gossip", "dead_after", toml_string("4s"))
      .set("gossip", "republish_min_interval", toml_string("1s"));
  if (seed_port) c.set("gossip", "seeds", "[" + toml_string("tcp://127.0.0.1:" + std::to_string(seed_port)) + "]");
  return c;
}

bool wait_until(const std::function<bool()>& done, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    try {
      if (done()) return true;
    } catch (const std::exception&) {
      // Not there yet (e.g. a field the agent fills in later); try again.
    }
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
}

nlohmann::json post_json(const AgentProcess& agent, const std::string& path, const nlohmann::json& body) {
  const auto reply = agent.call("POST", path, body.dump());
  if (reply.status != 200)
    throw std::runtime_error("POST " + path + " -> " + std::to_string(reply.status) + ": " + reply.body);
  return nlohmann::json::parse(reply.body);
}

nlohmann::json inline_profile_request(const std::string& function, double cores, double from_hour, double to_hour,
                                      uint32_t slots) {
  std::vector<double> mean(slots, 0.0);
  for (uint32_t w = 0; w < slots; ++w) {
    const double hour = 24.0 * w / slots;
    if (hour >= from_hour && hour < to_hour) mean[w] = cores;
  }
  return {{"function", function}, {"profile", {{"mean", mean}, {"spread", std::vector<double>(slots, 0.0)}}}};
}

nlohmann::json place_entry(const nlohmann::json& place, const std::string& node_id) {
  for (const auto& h : place.at("hosts"))
    if (h.at("node_id") == node_id) return h;
  return nullptr;
}

void expect_clean_exit(AgentProcess& agent) {
  const int status = agent.terminate();
  EXPECT_EQ(status, 0) << "antiphased (66 = ThreadSanitizer found a race; see the TSan reports)\n" << agent.log();
}

}  // namespace antiphase::testing

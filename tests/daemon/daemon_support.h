#pragma once
// Rootless whole-daemon tests: real antiphased processes in sampler mode "replay" on a
// small generated trace (accelerated clock), temp socket and state dirs, loopback
// gossip. No root, no eBPF, no cgroups. Waits are on conditions with deadlines.
#include <chrono>
#include <functional>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "tests/system/agent_process.h"

namespace antiphase::testing {

// 2023-11-15 00:00:00 UTC: traces start at a UTC midnight, so hour h of the trace is
// hour h of the agents' day profiles.
constexpr int64_t kTraceMidnightUtc = 1700006400;
constexpr int kTraceStepS = 300;

// One series of a generated trace: cores in use at `hour` (0..24, UTC).
struct TraceSeries {
  std::string id;
  std::function<double(double hour)> cores;
};

// Writes `timestamp,function,cpu` rows every 5 minutes from from_hour (inclusive) to
// to_hour (exclusive) after kTraceMidnightUtc. The replay wraps around at the end, so a
// trace of 00-08 UTC teaches an agent those hours and nothing else.
void write_trace(const std::string& path, const std::vector<TraceSeries>& series, double from_hour, double to_hour);

// An agent config assembled by section and key, so a test can add or change any key
// (TOML forbids declaring a section twice). Values are TOML literals: "\"x\"", "8", "true".
class AgentToml {
 public:
  AgentToml& set(const std::string& section, const std::string& key, const std::string& value);
  std::string str() const;

 private:
  std::map<std::string, std::map<std::string, std::string>> sections_;
};

std::string toml_string(const std::string& s);

// A replaying agent: 100 ms ticks at `speed` x (6000 x: 10 trace minutes per tick, a
// day in 14.4 s); series whose id matches `pattern` (one capture group) become its
// functions.
AgentToml replay_config(const std::string& trace, const std::string& pattern, double capacity_cores,
                        double speed = 6000);
// Adds [gossip] on loopback without keys; `seed_port` 0 for none.
AgentToml& add_gossip(AgentToml& config, const std::string& node_id, int port, int seed_port);

// Polls `done` every 50 ms until it returns true or `timeout` passes; true if it did.
bool wait_until(const std::function<bool()>& done, std::chrono::milliseconds timeout);

// POSTs a JSON body; throws (with the body) unless the status is 200.
nlohmann::json post_json(const AgentProcess& agent, const std::string& path, const nlohmann::json& body);

// A request for a function nobody knows, with a per-slot day profile: `cores` during
// [from_hour, to_hour) UTC and 0 elsewhere, no spread.
nlohmann::json inline_profile_request(const std::string& function, double cores, double from_hour, double to_hour,
                                      uint32_t slots = 96);

// The entry of /v1/place's "hosts" for `node_id` (null if absent).
nlohmann::json place_entry(const nlohmann::json& place, const std::string& node_id);

// SIGTERM, then: exit status 0 (66 is a ThreadSanitizer report in the TSan build; the
// report is in TSAN_OPTIONS' log_path, or else in the agent's log).
void expect_clean_exit(AgentProcess& agent);

}  // namespace antiphase::testing

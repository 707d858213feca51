#pragma once
// Where the agent's usage comes from, behind one interface so the tick loop has one
// path: the kernel (cgroup registry + sampler: sched_switch, perf_sample or cpu.stat)
// or a recorded trace (sampler mode "replay", for demos and rootless tests).
#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "agent/features/feature_probe.h"
#include "agent/sampler/make_sampler.h"
#include "agent/usage/usage_tracker.h"
#include "common/config/config.h"

namespace antiphase::agent {

// What a feed says about itself for /v1/stats and /metrics. The tick thread copies it
// under the agent lock after each read, so API threads never touch the registry or
// the sampler while the tick loop changes them.
struct FeedView {
  std::string mode;    // sched_switch | perf_sample | cgroup | replay
  std::string reason;  // why this mode (and why not the better ones)
  std::string cgroup2_mount;
  std::vector<std::string> roots, missing_roots;
  size_t watched_cgroups = 0;
  std::unordered_map<std::string, std::string> sampler_stats;
  uint64_t sampler_read_errors = 0;  // Sampler::read_errors(): reads of cgroups that exist
  std::vector<FeatureStatus> features;
};

class UsageFeed {
 public:
  virtual ~UsageFeed() = default;
  // Reads one tick's usage, outside the agent lock (a cgroup walk or BPF map reads can
  // take milliseconds). Returns true when it rescanned the cgroup tree. Throws
  // std::runtime_error when the sampler fails.
  virtual bool read(double tick_s) = 0;
  // Attributes what read() got to functions, under the agent lock. `first` in the
  // result means there is nothing to learn from yet.
  virtual TickResult apply(UsageTracker& usage) = 0;
  virtual FeedView view() const = 0;
  // SIGHUP: takes what may change while running (functions.rescan).
  virtual void reload(const config::Config&) {}
};

// Sampler mode "replay" gets a trace feed; every other mode the kernel feed. Throws
// std::runtime_error with an operator-facing message (which key, which path).
std::unique_ptr<UsageFeed> make_usage_feed(const config::Config& config);

// The sampler options the kernel feed builds its sampler with (the preflight builds the
// same one to check it). Throws std::runtime_error for an unknown sampler.mode.
SamplerOptions sampler_options_from(const config::Config& c);

}  // namespace antiphase::agent

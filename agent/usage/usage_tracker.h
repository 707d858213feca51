#pragma once
// Turns consecutive cumulative per-cgroup snapshots into per-function cores per tick,
// rolled up through the registry, and keeps a ring buffer of recent ticks. Memory
// figures, summed per function by agent/memory, are kept alongside.
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "agent/memory/memory_sample.h"
#include "agent/registry/registry.h"
#include "agent/sampler/sampler.h"
#include "common/util/ring_buffer.h"

namespace antiphase::agent {

struct UsagePoint {
  int64_t unix_ms = 0;
  double cores = 0;
};

struct FunctionUsage {
  std::string name;
  double last_tick_cores = 0;
  uint32_t instances = 0;
  std::vector<std::string> cgroup_paths;  // function-root cgroups (instances)
  std::optional<FunctionMemory> memory;   // nullopt: no instance's memory could be read
  util::RingBuffer<UsagePoint> history;
  explicit FunctionUsage(size_t history_ticks) : history(history_ticks) {}
  // Mean cores over the most recent `seconds` of history.
  double mean_over(double seconds, double tick_s) const;
};

struct TickResult {
  int64_t unix_ms = 0;
  double dt_s = 0;
  std::map<std::string, double> cores_by_function;  // functions present this tick
  double total_cores = 0;                           // host aggregate of tenants
  bool first = false;                               // no previous snapshot: no deltas
};

class UsageTracker {
 public:
  explicit UsageTracker(size_t history_ticks) : history_ticks_(history_ticks) {}

  // Diffs `snapshot` against the previous one and attributes deltas to functions.
  // A cgroup seen for the first time contributes nothing this tick (its counter may
  // include time from before we watched it); a counter that went backwards likewise.
  TickResult apply(const UsageSnapshot& snapshot, int64_t unix_ms, const CgroupRegistry& registry);

  // For sources that already know cores per function (trace replay): the function set
  // is exactly `cores`, one instance each.
  TickResult record(const std::map<std::string, double>& cores, int64_t unix_ms, double dt_s);

  // Folds one memory read into the live functions (call after apply(), which keeps the
  // function set in step with the registry). Functions absent from the snapshot are
  // marked unmeasured.
  void apply_memory(const MemorySnapshot& snapshot);

  const std::map<std::string, FunctionUsage>& functions() const { return functions_; }
  // Sum over functions of the last tick's cores: the host's tenant load now.
  double total_cores() const;

 private:
  void sync_function_set(const CgroupRegistry& registry);
  // Pushes one tick of per-function cores into the history of every live function.
  void push_tick(TickResult& result, const std::function<double(const std::string&)>& cores_of);

  size_t history_ticks_;
  bool have_previous_ = false;
  uint64_t previous_ns_ = 0;
  std::unordered_map<uint64_t, uint64_t> previous_;
  std::map<std::string, FunctionUsage> functions_;
};

}  // namespace antiphase::agent

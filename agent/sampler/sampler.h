#pragma once
// A sampler turns the kernel's CPU accounting into cumulative per-cgroup CPU time.
// The agent diffs consecutive snapshots itself, so a sampler only has to be monotonic.
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace antiphase::agent {

// One cgroup the registry wants measured. `id` is the cgroup2 id (the inode number
// of its directory), which is what bpf_get_current_cgroup_id() returns.
struct WatchedCgroup {
  uint64_t id = 0;
  std::string path;           // absolute path under the cgroup2 mount
  bool function_root = false; // true for the cgroup at the function depth
};

struct UsageSnapshot {
  uint64_t monotonic_ns = 0;  // CLOCK_MONOTONIC when the snapshot was taken
  // Cumulative CPU time per cgroup id (ns). BPF samplers report every watched cgroup
  // (nested ones too); the cgroup sampler reports function roots only (cpu.stat is
  // already hierarchical). Counters are monotonic for the life of the sampler.
  std::unordered_map<uint64_t, uint64_t> cpu_ns;
};

enum class SamplerMode { Auto, SchedSwitch, PerfSample, Cgroup, Replay };
std::string_view to_string(SamplerMode m);
// Returns false for an unknown name.
bool parse_sampler_mode(std::string_view s, SamplerMode& out);

class Sampler {
 public:
  virtual ~Sampler() = default;
  virtual SamplerMode mode() const = 0;
  // Tells the sampler which cgroups exist now (called after every registry rescan,
  // before read()). BPF samplers update their in-kernel filter map here.
  virtual void set_watched(const std::vector<WatchedCgroup>& cgroups) = 0;
  virtual UsageSnapshot read() = 0;
  // Reads that failed although the cgroup still exists, since the sampler started
  // (read() itself still returns what it could read). Counted in
  // antiphase_sampler_errors_total with the reads that threw.
  virtual uint64_t read_errors() const { return 0; }
  // Extra key/values for /v1/stats (e.g. attach point, events seen, map fill).
  virtual std::unordered_map<std::string, std::string> stats() const { return {}; }
};

}  // namespace antiphase::agent

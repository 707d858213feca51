#pragma once
// What one tick's memory read produces: per function, its instances' figures summed the
// way CPU is. Plain data, shared by the reader (agent/memory) and the usage tracker
// (agent/usage), which keeps it in the function's live state.
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace antiphase::agent {

// A function's memory on this host, summed over its measured instances.
struct FunctionMemory {
  uint64_t current_bytes = 0;
  // Each instance's peak: the kernel's (memory.peak / max_usage_in_bytes: since the
  // cgroup was created) or, where the kernel has no peak file, the highest usage the
  // agent has read (then every tick).
  uint64_t peak_bytes = 0;              // summed: instances need not peak together, so this over- rather than understates
  uint64_t instance_peak_bytes = 0;     // the largest single instance's peak: what one more instance needs
  std::optional<uint64_t> limit_bytes;  // summed limits; nullopt when any instance has no limit
  uint32_t measured_instances = 0;      // instances whose memory could be read
  bool peak_from_kernel = true;         // false when some instance's peak is only the agent's own maximum
};

struct MemorySnapshot {
  // Functions with at least one measured instance, sorted by name.
  std::vector<std::pair<std::string, FunctionMemory>> functions;
};

}  // namespace antiphase::agent

#pragma once
// What one tick's memory read produces: per function, each measured instance's figures
// as the kernel reports them. Plain data, shared by the reader (agent/memory) and the
// usage tracker (agent/usage), which sums instances and remembers peaks.
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace antiphase::agent {

struct InstanceMemory {
  std::string path;                           // the instance's cgroup2 path (its identity)
  uint64_t current_bytes = 0;                 // memory.current / memory.usage_in_bytes
  std::optional<uint64_t> kernel_peak_bytes;  // memory.peak / memory.max_usage_in_bytes, where the kernel has it (as of the last rescan)
  std::optional<uint64_t> limit_bytes;        // memory.max / memory.limit_in_bytes; nullopt: no limit
};

struct MemorySnapshot {
  // Only instances whose usage could be read; a function with none is absent.
  std::map<std::string, std::vector<InstanceMemory>> by_function;
};

}  // namespace antiphase::agent

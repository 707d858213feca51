#pragma once
// Reads every function instance's memory, summed per function. The instance set follows
// the registry: at each rescan, set_functions() keeps the files of known instances open,
// opens new ones, retries those that could not be opened (a hybrid host's v1 cgroup can
// appear a moment after the unified one) and reads usage, peak and limit of every
// instance. read(), every tick, re-reads only the usage of instances whose kernel has
// no peak file (cgroup v2 before Linux 5.19): their peak is the highest usage the agent
// reads, so it must look often. Elsewhere the kernel's peak is a running maximum that
// misses nothing between reads, and memory figures refresh with the rescan (default
// 5 s): measured with 500 functions, reading usage every tick cost ~0.15 % of a core,
// as much as the whole memory feature should.
#include <cstddef>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "agent/memory/memory_files.h"
#include "agent/memory/memory_layout.h"
#include "agent/memory/memory_sample.h"
#include "agent/registry/registry.h"

namespace antiphase::agent {

class MemoryReader {
 public:
  explicit MemoryReader(MemoryLayout layout) : layout_(std::move(layout)) {}

  void set_functions(const std::map<std::string, FunctionCgroups>& functions);
  MemorySnapshot read();
  // Instances whose usage read() re-reads every tick (no kernel peak file).
  size_t per_tick_instances() const;

  const MemoryLayout& layout() const { return layout_; }
  size_t instances() const { return instances_.size(); }
  // Instances whose memory files are open (the rest are not measured).
  size_t measurable_instances() const;

 private:
  struct Instance {
    std::string function;
    std::string path;  // cgroup2 path
    CgroupMemoryFiles files;
    // As of the last read: limit and kernel peak at set_functions(), usage then too, or
    // every tick where there is no kernel peak.
    std::optional<uint64_t> limit_bytes, kernel_peak_bytes, current_bytes;
    uint64_t seen_peak_bytes = 0;  // highest usage read
  };
  Instance open_instance(const std::string& function, const std::string& path) const;
  static void read_usage(Instance& instance);

  MemoryLayout layout_;
  std::vector<Instance> instances_;
};

}  // namespace antiphase::agent

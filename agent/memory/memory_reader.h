#pragma once
// Reads every function instance's memory once per tick. The instance set follows the
// registry: after each rescan, set_functions() keeps the files of known instances open,
// opens new ones, retries those that could not be opened (a hybrid host's v1 cgroup can
// appear a moment after the unified one) and re-reads limits and the kernel's peaks;
// read() then costs one pread(2) per instance (usage). The kernel's peak is a running
// maximum, so reading it only at rescans loses nothing but freshness, and the tracker
// keeps every peak at least the highest usage read since (measured: reading the peak
// every tick too cost another ~0.1 % of a core with 500 functions).
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
  MemorySnapshot read() const;

  const MemoryLayout& layout() const { return layout_; }
  size_t instances() const { return instances_.size(); }
  // Instances whose memory files are open (the rest are not measured).
  size_t measurable_instances() const;

 private:
  struct Instance {
    std::string function;
    std::string path;  // cgroup2 path
    CgroupMemoryFiles files;
    std::optional<uint64_t> limit_bytes;        // read at set_functions()
    std::optional<uint64_t> kernel_peak_bytes;  // read at set_functions()
  };
  Instance open_instance(const std::string& function, const std::string& path) const;

  MemoryLayout layout_;
  std::vector<Instance> instances_;
};

}  // namespace antiphase::agent

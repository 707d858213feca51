#pragma once
// Fallback sampler without eBPF: reads `usage_usec` from each function root's cpu.stat.
// cpu.stat is hierarchical, so nested cgroups are already included and only function
// roots are reported. Resolution is the kernel's (ns internally, exported in µs).
// Each root's cpu.stat stays open between ticks (see CpuStatFile).
#include <mutex>
#include <unordered_map>
#include <vector>

#include "agent/sampler/cpu_stat_file.h"
#include "agent/sampler/sampler.h"

namespace antiphase::agent {

class CgroupStatSampler final : public Sampler {
 public:
  SamplerMode mode() const override { return SamplerMode::Cgroup; }
  void set_watched(const std::vector<WatchedCgroup>& cgroups) override;
  // Cgroups whose cpu.stat cannot be read are left out of the snapshot. One removed
  // since the last rescan is ordinary churn; one that still exists is a read error.
  UsageSnapshot read() override;
  uint64_t read_errors() const override;
  std::unordered_map<std::string, std::string> stats() const override;

 private:
  mutable std::mutex mutex_;
  struct Root {
    WatchedCgroup cgroup;
    CpuStatFile file;  // opened once per watched root; if that failed, read by path
  };
  std::vector<Root> roots_;
  std::unordered_map<uint64_t, uint64_t> reported_ns_;
  uint64_t unreadable_ = 0;   // every failed read
  uint64_t read_errors_ = 0;  // failed reads of cgroups that still exist
};

}  // namespace antiphase::agent

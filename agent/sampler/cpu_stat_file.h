#pragma once
// One cgroup's cpu.stat kept open: a tick re-reads it with pread(2) instead of
// open/read/close, which is most of the cost of the cgroup sampler with hundreds of
// function cgroups. The kernel regenerates the file on every read from offset 0.
#include <cstdint>
#include <optional>
#include <string>

#include "agent/features/handles.h"

namespace antiphase::agent {

class CpuStatFile {
 public:
  explicit CpuStatFile(const std::string& cgroup_path);

  // nullopt once the cgroup is gone (reads of a removed cgroup's files fail).
  std::optional<uint64_t> usage_usec() const;

 private:
  UniqueFd fd_;  // empty if the open failed
};

}  // namespace antiphase::agent

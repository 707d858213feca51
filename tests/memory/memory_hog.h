#pragma once
// A forked child that joins the given cgroup directories, then maps and touches
// `peak_mib` MiB of anonymous memory and unmaps all but `hold_mib` of it, so its
// cgroup's usage settles at about hold_mib and its peak stays at about peak_mib.
// It allocates only after joining, so every page is charged to the new cgroups
// (cgroup v1 leaves pages charged where they were faulted in).
#include <sys/types.h>

#include <cstddef>
#include <string>
#include <vector>

namespace antiphase::testing {

class MemoryHog {
 public:
  // `cgroup_dirs`: each gets the child's pid in its cgroup.procs (the unified cgroup
  // that names the function, and on hybrid hosts the v1 memory cgroup). Returns once
  // the memory is touched and released; throws std::runtime_error on failure.
  MemoryHog(const std::vector<std::string>& cgroup_dirs, size_t peak_mib, size_t hold_mib);
  ~MemoryHog();
  MemoryHog(const MemoryHog&) = delete;
  MemoryHog& operator=(const MemoryHog&) = delete;
  pid_t pid() const { return pid_; }

 private:
  void stop();
  pid_t pid_ = -1;
};

}  // namespace antiphase::testing

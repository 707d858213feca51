#pragma once
// A forked child that joins the given cgroup directories, then maps and touches
// `peak_mib` MiB of anonymous memory and unmaps all but `hold_mib` of it, so its
// cgroup's usage settles at about hold_mib and its peak stays at about peak_mib.
// It allocates only after joining, so every page is charged to the new cgroups
// (cgroup v1 leaves pages charged where they were faulted in).
#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "agent/memory/memory_layout.h"
#include "tests/bpf/cgroup_fixture.h"

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
  pid_t pid() const { return child_->pid(); }

 private:
  std::unique_ptr<GatedChild> child_;
};

// The kernel's view of one instance.
struct KernelFigures {
  uint64_t current = 0, peak = 0;
};

// A function "hog" with two instances (fn-hog-1.scope, fn-hog-2.scope) under a
// throw-away parent in the unified tree and, on hybrid hosts, its mirror in the v1
// memory hierarchy (as systemd creates it); on cgroup v2 the parent enables memory for
// its children. Throws if the cgroups cannot be made.
class LiveHogs {
 public:
  explicit LiveHogs(const agent::MemoryLayout& layout);
  // The directories a hog of instance i joins.
  std::vector<std::string> dirs(size_t i) const;
  std::string memory_dir(size_t i) const { return layout_.memory_dir(unified_[i]->path()); }
  KernelFigures kernel(size_t i) const;
  void set_limit(size_t i, uint64_t bytes) const;
  // The parent, relative to the cgroup2 mount (a functions.cgroup_roots entry).
  const std::string& root() const { return root_; }

 private:
  agent::MemoryLayout layout_;
  std::string root_;
  // Declared parents first: members are destroyed in reverse, children before parents.
  std::unique_ptr<ScopedCgroup> parent2_, parent_mem_;
  std::vector<std::unique_ptr<ScopedCgroup>> unified_, memory_;
};

}  // namespace antiphase::testing

#pragma once
// Where a function cgroup's memory figures live. On a pure cgroup v2 host they are in
// the cgroup's own directory; on a hybrid host the memory controller is still mounted
// as a v1 hierarchy, which mirrors the unified tree (systemd creates each unit's cgroup
// in both), so the figures are at the same relative path under the v1 memory mount.
#include <optional>
#include <string>

namespace antiphase::agent {

enum class MemoryHierarchy { None, V2, V1 };
const char* to_string(MemoryHierarchy h);

struct MemoryLayout {
  MemoryHierarchy hierarchy = MemoryHierarchy::None;
  std::string cgroup2_mount;  // function cgroup paths are under here
  std::string v1_mount;       // V1: where the memory controller is mounted
  std::string reason;         // why this layout, for logs and /v1/stats

  // The directory holding the memory files of the cgroup at `cgroup2_path`; empty when
  // there is none (no memory controller, or the path is outside the cgroup2 mount).
  std::string memory_dir(const std::string& cgroup2_path) const;
};

// Pure choice: v2 when the unified root lists the memory controller (`root_controllers`
// is its cgroup.controllers text), else the v1 memory hierarchy when one is mounted,
// else none (memory is then not measured and the reason says so).
MemoryLayout choose_memory_layout(const std::string& cgroup2_mount, const std::string& root_controllers,
                                  const std::optional<std::string>& v1_memory_mount);

// Reads <cgroup2_mount>/cgroup.controllers and /proc/self/mountinfo.
MemoryLayout detect_memory_layout(const std::string& cgroup2_mount);

}  // namespace antiphase::agent

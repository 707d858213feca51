#include "agent/memory/memory_layout.h"

#include <fstream>
#include <sstream>

#include "agent/registry/cgroup_fs.h"

namespace antiphase::agent {

namespace {

bool lists_memory(const std::string& controllers) {
  std::istringstream words(controllers);
  for (std::string w; words >> w;)
    if (w == "memory") return true;
  return false;
}

std::string read_small_file(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

}  // namespace

const char* to_string(MemoryHierarchy h) {
  switch (h) {
    case MemoryHierarchy::V2: return "cgroup2";
    case MemoryHierarchy::V1: return "cgroup1";
    case MemoryHierarchy::None: break;
  }
  return "none";
}

std::string MemoryLayout::memory_dir(const std::string& cgroup2_path) const {
  if (hierarchy == MemoryHierarchy::V2) return cgroup2_path;
  if (hierarchy != MemoryHierarchy::V1) return {};
  const std::string& mount = cgroup2_mount;
  const bool below = cgroup2_path.compare(0, mount.size(), mount) == 0 &&
                     (cgroup2_path.size() == mount.size() || cgroup2_path[mount.size()] == '/' || mount == "/");
  if (!below) return {};
  std::string relative = mount == "/" ? cgroup2_path : cgroup2_path.substr(mount.size());
  return v1_mount + relative;
}

MemoryLayout choose_memory_layout(const std::string& cgroup2_mount, const std::string& root_controllers,
                                  const std::optional<std::string>& v1_memory_mount) {
  MemoryLayout layout;
  layout.cgroup2_mount = cgroup2_mount;
  if (lists_memory(root_controllers)) {
    layout.hierarchy = MemoryHierarchy::V2;
    layout.reason = "the cgroup2 hierarchy at " + cgroup2_mount + " has the memory controller";
  } else if (v1_memory_mount) {
    layout.hierarchy = MemoryHierarchy::V1;
    layout.v1_mount = *v1_memory_mount;
    layout.reason = "hybrid host: the memory controller is a cgroup v1 hierarchy at " + *v1_memory_mount +
                    ", read at each function's path relative to " + cgroup2_mount;
  } else {
    layout.reason = "no memory controller: " + cgroup2_mount +
                    "/cgroup.controllers lacks \"memory\" and no cgroup v1 memory hierarchy is mounted";
  }
  return layout;
}

MemoryLayout detect_memory_layout(const std::string& cgroup2_mount) {
  return choose_memory_layout(cgroup2_mount, read_small_file(cgroup2_mount + "/cgroup.controllers"),
                              find_cgroup1_mount("memory"));
}

}  // namespace antiphase::agent

#pragma once
// Maps cgroups to functions. A function is a name captured by a regex from a cgroup
// directory name at a configured depth below one of the roots; cgroups nested inside
// a function's cgroup roll up into it, and several cgroups that capture the same
// name are instances of one function.
#include <cstdint>
#include <map>
#include <regex>
#include <string>
#include <unordered_map>
#include <vector>

#include "agent/sampler/sampler.h"

namespace antiphase::agent {

struct RegistryOptions {
  std::string cgroup2_mount;        // where relative roots are resolved
  std::vector<std::string> roots;   // relative to the mount, or absolute
  std::string pattern;              // one capture group names the function
  uint32_t depth = 0;               // 0 = outermost match at any depth
};

struct FunctionCgroups {
  std::string name;
  std::vector<std::string> instance_paths;  // the function-root cgroups, sorted
  std::vector<uint64_t> cgroup_ids;         // every cgroup rolled into it
};

class CgroupRegistry {
 public:
  // Throws std::invalid_argument naming the bad pattern or the missing root path.
  explicit CgroupRegistry(RegistryOptions options);

  // Walks the roots again. Returns true when the set of cgroups changed.
  bool rescan();

  const std::vector<WatchedCgroup>& watched() const { return watched_; }
  const std::map<std::string, FunctionCgroups>& functions() const { return functions_; }
  // The function a cgroup id rolls up into, or nullptr.
  const std::string* function_of(uint64_t cgroup_id) const;
  const std::vector<std::string>& resolved_roots() const { return resolved_roots_; }
  // Roots that could not be read on the last rescan (they may come back).
  const std::vector<std::string>& missing_roots() const { return missing_roots_; }

 private:
  void walk(const std::string& path, uint32_t depth, const std::string* owner,
            std::vector<WatchedCgroup>& out, std::map<std::string, FunctionCgroups>& fns);
  const std::string* match_function(const std::string& dir_name, uint32_t depth,
                                    std::map<std::string, FunctionCgroups>& fns,
                                    const std::string& path);

  RegistryOptions options_;
  std::regex pattern_;
  std::vector<std::string> resolved_roots_;
  std::vector<std::string> missing_roots_;
  std::vector<WatchedCgroup> watched_;
  std::map<std::string, FunctionCgroups> functions_;
  std::unordered_map<uint64_t, std::string> owner_of_;
};

}  // namespace antiphase::agent

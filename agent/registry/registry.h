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

// Compiles functions.pattern. Throws std::invalid_argument naming the pattern when it is
// not a valid ECMAScript regex or has no capture group. The preflight and the registry
// both call this, so a pattern the check passes is a pattern the agent accepts.
std::regex compile_function_pattern(const std::string& pattern);

// Where a functions.cgroup_roots entry points: absolute as given, else below the mount.
std::string resolve_cgroup_root(const std::string& cgroup2_mount, const std::string& root);

// A captured name with systemd's unit-name escapes ("\x2d") decoded: systemd nests a
// slice at every "-", so a dash inside a function's slice name has to be written
// "\x2d" (`systemd-escape`), and the function should still be called "image-resize".
std::string unescape_systemd_name(const std::string& name);

class CgroupRegistry {
 public:
  // Throws std::invalid_argument naming a bad pattern. A root that does not exist (yet)
  // is not an error: it is listed in missing_roots() and walked once it appears
  // (systemd creates a slice only when its first unit starts). The preflight reports
  // missing roots at start; rescan() logs roots that vanish or appear later.
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
  // Logs roots that vanished or appeared since the previous rescan.
  void log_root_changes(const std::vector<std::string>& missing_now) const;

  RegistryOptions options_;
  std::regex pattern_;
  std::vector<std::string> resolved_roots_;
  std::vector<std::string> missing_roots_;
  bool scanned_once_ = false;
  std::vector<WatchedCgroup> watched_;
  std::map<std::string, FunctionCgroups> functions_;
  std::unordered_map<uint64_t, std::string> owner_of_;
};

}  // namespace antiphase::agent

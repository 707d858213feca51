#pragma once
// Test helpers: throw-away cgroups under the real cgroup2 mount and forked CPU burners.
// Everything is torn down in destructors, so a failing assertion still cleans up.
#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace antiphase::testing {

// A cgroup directory that is removed (after killing its processes) on destruction.
class ScopedCgroup {
 public:
  // Creates <parent>/<name>. Throws std::runtime_error on failure.
  ScopedCgroup(const std::string& parent, const std::string& name);
  ~ScopedCgroup();
  ScopedCgroup(const ScopedCgroup&) = delete;
  ScopedCgroup& operator=(const ScopedCgroup&) = delete;

  const std::string& path() const { return path_; }
  uint64_t id() const { return id_; }
  // usage_usec from cpu.stat, in ns. Throws if unreadable.
  uint64_t usage_ns() const;
  void add_process(pid_t pid) const;

 private:
  std::string path_;
  uint64_t id_ = 0;
};

enum class BurnPattern {
  Full,        // busy loop: 1.0 core when it has a CPU to itself
  DutyCycled,  // random 1..15 ms bursts, each followed by an equal sleep: ~0.5 core
};

// A forked child that burns CPU inside a cgroup until destroyed (SIGKILL + waitpid).
// It only starts burning once it is in the cgroup, so all of its CPU time lands there.
class Burner {
 public:
  Burner(const ScopedCgroup& cgroup, BurnPattern pattern);
  ~Burner();
  Burner(const Burner&) = delete;
  Burner& operator=(const Burner&) = delete;
  pid_t pid() const { return pid_; }
  void stop();

 private:
  pid_t pid_ = -1;
};

// The cgroup2 mount (from /proc/self/mountinfo), or empty.
std::string cgroup2_mount();
// A unique name for this process and call ("antiphase-test-<pid>-<n>").
std::string unique_cgroup_name(const std::string& prefix);
// True when running as root (the BPF tests need it; they skip otherwise).
bool running_as_root();
void sleep_for_ms(int ms);

}  // namespace antiphase::testing

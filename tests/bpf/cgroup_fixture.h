#pragma once
// Test helpers: throw-away cgroups under the real cgroup2 mount and forked CPU burners.
// Everything is torn down in destructors, so a failing assertion still cleans up.
#include <sys/types.h>

#include <cstdint>
#include <functional>
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

// Bursts of spinning, each followed by a sleep, both drawn uniformly from their ranges
// (min == max: a regular cycle). The bursts end by the clock, so a preempted burner
// gets less CPU than it asked for; tests compare against cpu.stat, not the nominal share.
struct DutyCycle {
  uint32_t on_min_us, on_max_us;
  uint32_t off_min_us, off_max_us;
  bool fork_each_burst = false;  // each burst in a new child process that then exits
  double nominal_cores() const {
    return double(on_min_us + on_max_us) / double(on_min_us + on_max_us + off_min_us + off_max_us);
  }
};

// A forked child held at a gate: the parent first puts its pid where it must be (cgroups),
// then release() lets it run `body`, so everything the child does is charged there. It
// dies with its parent (PR_SET_PDEATHSIG) and with this object (SIGKILL + waitpid).
class GatedChild {
 public:
  explicit GatedChild(const std::function<void()>& body);  // throws std::runtime_error
  ~GatedChild();
  GatedChild(const GatedChild&) = delete;
  GatedChild& operator=(const GatedChild&) = delete;
  pid_t pid() const { return pid_; }
  void release();  // throws std::runtime_error if the child is gone
  void stop();

 private:
  pid_t pid_ = -1;
  int gate_ = -1;  // write end of the gate pipe
};

// A forked child that burns CPU inside a cgroup until destroyed (SIGKILL + waitpid).
// It only starts burning once it is in the cgroup, so all of its CPU time lands there.
class Burner {
 public:
  Burner(const ScopedCgroup& cgroup, BurnPattern pattern);
  Burner(const ScopedCgroup& cgroup, DutyCycle cycle);
  ~Burner();
  Burner(const Burner&) = delete;
  Burner& operator=(const Burner&) = delete;
  pid_t pid() const { return child_ ? child_->pid() : -1; }
  void stop() { child_.reset(); }

 private:
  // Forks a child that runs `burn` (never returns) once it is in the cgroup.
  void start(const ScopedCgroup& cgroup, const std::function<void()>& burn);
  std::unique_ptr<GatedChild> child_;
};

// The cgroup2 mount (from /proc/self/mountinfo), or empty.
std::string cgroup2_mount();
// A unique name for this process and call ("antiphase-test-<pid>-<n>").
std::string unique_cgroup_name(const std::string& prefix);
// True when running as root (the BPF tests need it; they skip otherwise).
bool running_as_root();
void sleep_for_ms(int ms);

}  // namespace antiphase::testing

#include "tests/bpf/cgroup_fixture.h"

#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <fstream>
#include <functional>
#include <random>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "agent/registry/cgroup_fs.h"

namespace antiphase::testing {
namespace {

uint64_t now_ns() {
  timespec ts{};
  ::clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1000000000ULL + static_cast<uint64_t>(ts.tv_nsec);
}

void busy_until(uint64_t deadline_ns) {
  volatile uint64_t sink = 0;
  while (now_ns() < deadline_ns) {
    for (int i = 0; i < 1000; ++i) sink = sink + static_cast<uint64_t>(i);
  }
}

void sleep_ns(uint64_t ns) {
  timespec pause{static_cast<time_t>(ns / 1000000000ULL), static_cast<long>(ns % 1000000000ULL)};
  ::nanosleep(&pause, nullptr);
}

[[noreturn]] void burn_forever(DutyCycle cycle, bool forever_busy) {
  if (forever_busy) {
    for (;;) busy_until(UINT64_MAX);
  }
  std::mt19937_64 rng(static_cast<uint64_t>(::getpid()) * 0x9E3779B97F4A7C15ULL ^ now_ns());
  std::uniform_int_distribution<uint64_t> on_us(cycle.on_min_us, cycle.on_max_us);
  std::uniform_int_distribution<uint64_t> off_us(cycle.off_min_us, cycle.off_max_us);
  for (;;) {
    const uint64_t burst_end = now_ns() + on_us(rng) * 1000;
    if (!cycle.fork_each_burst) {
      busy_until(burst_end);
    } else if (const pid_t child = ::fork(); child == 0) {
      busy_until(burst_end);
      ::_exit(0);
    } else if (child > 0) {
      ::waitpid(child, nullptr, 0);
    }
    sleep_ns(off_us(rng) * 1000);
  }
}

[[noreturn]] void burn_forever(BurnPattern pattern) {
  if (pattern == BurnPattern::Full) burn_forever(DutyCycle{}, true);
  // Random burst lengths so the duty cycle cannot alias with a fixed sampling frequency;
  // each sleep as long as the burst before it.
  std::mt19937_64 rng(static_cast<uint64_t>(::getpid()) * 0x9E3779B97F4A7C15ULL ^ now_ns());
  std::uniform_int_distribution<uint64_t> burst_us(1000, 15000);
  for (;;) {
    const uint64_t burst_ns = burst_us(rng) * 1000;
    busy_until(now_ns() + burst_ns);
    sleep_ns(burst_ns);
  }
}

void write_file(const std::string& path, const std::string& text) {
  std::ofstream out(path);
  out << text;
  out.flush();
  if (!out) throw std::runtime_error("cannot write '" + text + "' to " + path);
}

// Kills every process in the cgroup (tests only put burners there).
void kill_members(const std::string& path) {
  std::ifstream in(path + "/cgroup.procs");
  for (pid_t pid; in >> pid;) ::kill(pid, SIGKILL);
}

}  // namespace

ScopedCgroup::ScopedCgroup(const std::string& parent, const std::string& name)
    : path_(parent + "/" + name) {
  if (::mkdir(path_.c_str(), 0755) != 0) {
    throw std::runtime_error("mkdir " + path_ + ": " + std::strerror(errno));
  }
  id_ = agent::cgroup_id_of(path_).value_or(0);
}

ScopedCgroup::~ScopedCgroup() {
  // rmdir fails with EBUSY until killed members have fully exited; retry briefly.
  for (int attempt = 0; attempt < 200; ++attempt) {
    kill_members(path_);
    if (::rmdir(path_.c_str()) == 0 || errno == ENOENT) return;
    if (errno != EBUSY) break;
    sleep_for_ms(10);
  }
  std::fprintf(stderr, "warning: could not remove test cgroup %s: %s\n", path_.c_str(), std::strerror(errno));
}

uint64_t ScopedCgroup::usage_ns() const {
  const auto usec = agent::read_cpu_stat_usage_usec(path_);
  if (!usec) throw std::runtime_error("cannot read " + path_ + "/cpu.stat");
  return *usec * 1000;
}

void ScopedCgroup::add_process(pid_t pid) const { write_file(path_ + "/cgroup.procs", std::to_string(pid)); }

Burner::Burner(const ScopedCgroup& cgroup, BurnPattern pattern) {
  start(cgroup, [pattern] { burn_forever(pattern); });
}

Burner::Burner(const ScopedCgroup& cgroup, DutyCycle cycle) {
  start(cgroup, [cycle] { burn_forever(cycle, false); });
}

GatedChild::GatedChild(const std::function<void()>& body) {
  int gate[2];
  if (::pipe(gate) != 0) throw std::runtime_error(std::string("pipe: ") + std::strerror(errno));
  const pid_t parent = ::getpid();
  pid_ = ::fork();
  if (pid_ < 0) {
    ::close(gate[0]);
    ::close(gate[1]);
    throw std::runtime_error(std::string("fork: ") + std::strerror(errno));
  }
  if (pid_ == 0) {
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);  // never outlive a crashed test
    if (::getppid() != parent) ::_exit(1);
    ::close(gate[1]);
    char c;
    if (::read(gate[0], &c, 1) != 1) ::_exit(0);
    body();
    ::_exit(0);
  }
  ::close(gate[0]);
  gate_ = gate[1];
}

GatedChild::~GatedChild() { stop(); }

void GatedChild::release() {
  const char c = 'g';
  const bool opened = gate_ >= 0 && ::write(gate_, &c, 1) == 1;
  if (gate_ >= 0) ::close(gate_);
  gate_ = -1;
  if (!opened) throw std::runtime_error("child " + std::to_string(pid_) + " is gone");
}

void GatedChild::stop() {
  if (gate_ >= 0) ::close(gate_);
  gate_ = -1;
  if (pid_ <= 0) return;
  ::kill(pid_, SIGKILL);
  ::waitpid(pid_, nullptr, 0);
  pid_ = -1;
}

Burner::~Burner() = default;

void Burner::start(const ScopedCgroup& cgroup, const std::function<void()>& burn) {
  child_ = std::make_unique<GatedChild>(burn);
  cgroup.add_process(child_->pid());
  child_->release();
}

std::string cgroup2_mount() { return agent::find_cgroup2_mount().value_or(""); }

std::string unique_cgroup_name(const std::string& prefix) {
  static std::atomic<int> counter{0};
  return prefix + "-" + std::to_string(::getpid()) + "-" + std::to_string(counter++);
}

bool running_as_root() { return ::geteuid() == 0; }

void sleep_for_ms(int ms) { std::this_thread::sleep_for(std::chrono::milliseconds(ms)); }

}  // namespace antiphase::testing

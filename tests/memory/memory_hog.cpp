#include "tests/memory/memory_hog.h"

#include <signal.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <stdexcept>

namespace antiphase::testing {

namespace {

constexpr size_t kMiB = 1024 * 1024;

[[noreturn]] void hog(int go, int ready, size_t peak_mib, size_t hold_mib) {
  char c;
  if (::read(go, &c, 1) != 1) ::_exit(0);
  const size_t peak = peak_mib * kMiB, hold = hold_mib * kMiB;
  auto* bytes = static_cast<char*>(::mmap(nullptr, peak, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
  if (bytes == MAP_FAILED) ::_exit(3);
  std::memset(bytes, 0x5a, peak);  // every page touched, so every page is charged
  if (peak > hold && ::munmap(bytes + hold, peak - hold) != 0) ::_exit(4);
  if (::write(ready, "r", 1) != 1) ::_exit(5);
  for (;;) ::pause();
}

void join(const std::string& dir, pid_t pid) {
  std::ofstream procs(dir + "/cgroup.procs");
  procs << pid;
  procs.flush();
  if (!procs) throw std::runtime_error("cannot move pid " + std::to_string(pid) + " into " + dir);
}

}  // namespace

MemoryHog::MemoryHog(const std::vector<std::string>& cgroup_dirs, size_t peak_mib, size_t hold_mib) {
  int go[2], ready[2];
  if (::pipe(go) != 0 || ::pipe(ready) != 0) throw std::runtime_error(std::string("pipe: ") + std::strerror(errno));
  const pid_t parent = ::getpid();
  pid_ = ::fork();
  if (pid_ < 0) throw std::runtime_error(std::string("fork: ") + std::strerror(errno));
  if (pid_ == 0) {
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);  // never outlive a crashed test
    if (::getppid() != parent) ::_exit(1);
    ::close(go[1]);
    ::close(ready[0]);
    hog(go[0], ready[1], peak_mib, hold_mib);
  }
  ::close(go[0]);
  ::close(ready[1]);
  try {
    for (const auto& dir : cgroup_dirs) join(dir, pid_);
  } catch (...) {
    ::close(go[1]);
    ::close(ready[0]);
    stop();
    throw;
  }
  char c = 'g';
  const bool started = ::write(go[1], &c, 1) == 1;
  const bool touched = started && ::read(ready[0], &c, 1) == 1;
  ::close(go[1]);
  ::close(ready[0]);
  if (!touched) {
    stop();
    throw std::runtime_error("memory hog did not finish touching its memory");
  }
}

MemoryHog::~MemoryHog() { stop(); }

void MemoryHog::stop() {
  if (pid_ <= 0) return;
  ::kill(pid_, SIGKILL);
  ::waitpid(pid_, nullptr, 0);
  pid_ = -1;
}

}  // namespace antiphase::testing

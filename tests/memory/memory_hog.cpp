#include "tests/memory/memory_hog.h"

#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <stdexcept>

#include "agent/memory/memory_files.h"

namespace antiphase::testing {

namespace {

constexpr size_t kMiB = 1024 * 1024;

[[noreturn]] void hog(int ready, size_t peak_mib, size_t hold_mib) {
  const size_t peak = peak_mib * kMiB, hold = hold_mib * kMiB;
  auto* bytes = static_cast<char*>(::mmap(nullptr, peak, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
  if (bytes == MAP_FAILED) ::_exit(3);
  std::memset(bytes, 0x5a, peak);  // every page touched, so every page is charged
  if (peak > hold && ::munmap(bytes + hold, peak - hold) != 0) ::_exit(4);
  if (::write(ready, "r", 1) != 1) ::_exit(5);
  for (;;) ::pause();
}

uint64_t read_bytes(const std::string& file) {
  std::ifstream in(file);
  std::string text;
  std::getline(in, text);
  const auto v = agent::parse_memory_bytes(text);
  if (!v) throw std::runtime_error("cannot read a byte count from " + file);
  return *v;
}

void write_text(const std::string& file, const std::string& text) {
  std::ofstream out(file);
  out << text;
  out.flush();
  if (!out) throw std::runtime_error("cannot write " + text + " to " + file);
}

void join(const std::string& dir, pid_t pid) {
  std::ofstream procs(dir + "/cgroup.procs");
  procs << pid;
  procs.flush();
  if (!procs) throw std::runtime_error("cannot move pid " + std::to_string(pid) + " into " + dir);
}

}  // namespace

MemoryHog::MemoryHog(const std::vector<std::string>& cgroup_dirs, size_t peak_mib, size_t hold_mib) {
  int ready[2];
  if (::pipe(ready) != 0) throw std::runtime_error(std::string("pipe: ") + std::strerror(errno));
  try {
    child_ = std::make_unique<GatedChild>([&] {
      ::close(ready[0]);
      hog(ready[1], peak_mib, hold_mib);
    });
    ::close(ready[1]);
    ready[1] = -1;
    for (const auto& dir : cgroup_dirs) join(dir, child_->pid());
    child_->release();
  } catch (...) {
    ::close(ready[0]);
    if (ready[1] >= 0) ::close(ready[1]);
    child_.reset();
    throw;
  }
  char c;
  const bool touched = ::read(ready[0], &c, 1) == 1;
  ::close(ready[0]);
  if (!touched) {
    child_.reset();
    throw std::runtime_error("memory hog did not finish touching its memory");
  }
}

MemoryHog::~MemoryHog() = default;

using agent::MemoryHierarchy;

LiveHogs::LiveHogs(const agent::MemoryLayout& layout) : layout_(layout) {
  const std::string name = unique_cgroup_name("antiphase-memtest");
  parent2_ = std::make_unique<ScopedCgroup>(layout.cgroup2_mount, name);
  if (layout.hierarchy == MemoryHierarchy::V1) {
    parent_mem_ = std::make_unique<ScopedCgroup>(layout.v1_mount, name);
  } else {
    write_text(parent2_->path() + "/cgroup.subtree_control", "+memory");
  }
  for (const char* instance : {"fn-hog-1.scope", "fn-hog-2.scope"}) {
    unified_.push_back(std::make_unique<ScopedCgroup>(parent2_->path(), instance));
    if (parent_mem_) memory_.push_back(std::make_unique<ScopedCgroup>(parent_mem_->path(), instance));
  }
  root_ = name;
}

std::vector<std::string> LiveHogs::dirs(size_t i) const {
  std::vector<std::string> out{unified_[i]->path()};
  if (!memory_.empty()) out.push_back(memory_[i]->path());
  return out;
}

KernelFigures LiveHogs::kernel(size_t i) const {
  const bool v1 = layout_.hierarchy == MemoryHierarchy::V1;
  return {read_bytes(memory_dir(i) + (v1 ? "/memory.usage_in_bytes" : "/memory.current")),
          read_bytes(memory_dir(i) + (v1 ? "/memory.max_usage_in_bytes" : "/memory.peak"))};
}

void LiveHogs::set_limit(size_t i, uint64_t bytes) const {
  write_text(memory_dir(i) + (layout_.hierarchy == MemoryHierarchy::V1 ? "/memory.limit_in_bytes" : "/memory.max"),
             std::to_string(bytes));
}

}  // namespace antiphase::testing

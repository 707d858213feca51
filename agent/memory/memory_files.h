#pragma once
// One cgroup's memory files, kept open between ticks and re-read with pread(2) (the
// kernel regenerates them from offset 0), like CpuStatFile: with hundreds of function
// cgroups, open/read/close would cost most of the read.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "agent/memory/memory_layout.h"

namespace antiphase::agent {

// A byte count as the memory files print it ("123456\n"); nullopt if not a number.
std::optional<uint64_t> parse_memory_bytes(std::string_view text);
// A limit file: "max" (v2) or a value so large it means "no limit" (v1 prints
// PAGE_COUNTER_MAX pages, about 8 EiB) gives nullopt, as does anything unparsable.
std::optional<uint64_t> parse_memory_limit(std::string_view text);
// At and above this a limit is "no limit" (no host has an exbibyte of memory).
inline constexpr uint64_t kNoMemoryLimitFrom = uint64_t{1} << 60;

class CgroupMemoryFiles {
 public:
  // `dir` holds the files (MemoryLayout::memory_dir); names follow the hierarchy.
  CgroupMemoryFiles(const std::string& dir, MemoryHierarchy hierarchy);
  ~CgroupMemoryFiles();
  CgroupMemoryFiles(CgroupMemoryFiles&& other) noexcept;
  CgroupMemoryFiles& operator=(CgroupMemoryFiles&& other) noexcept;
  CgroupMemoryFiles(const CgroupMemoryFiles&) = delete;
  CgroupMemoryFiles& operator=(const CgroupMemoryFiles&) = delete;

  // False when the usage file could not be opened (no such cgroup in the memory
  // hierarchy, or the controller is not enabled for it).
  bool usable() const { return current_fd_ >= 0; }
  // nullopt once the cgroup is gone.
  std::optional<uint64_t> current_bytes() const;
  // nullopt where the kernel has no peak file (cgroup v2 before Linux 5.19).
  std::optional<uint64_t> peak_bytes() const;
  // nullopt: no limit (or unreadable).
  std::optional<uint64_t> limit_bytes() const;

 private:
  void close_all();
  int current_fd_ = -1, peak_fd_ = -1, limit_fd_ = -1;
};

}  // namespace antiphase::agent

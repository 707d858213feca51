#pragma once
// One cgroup's cpu.stat kept open: a tick re-reads it with pread(2) instead of
// open/read/close, which is most of the cost of the cgroup sampler with hundreds of
// function cgroups. The kernel regenerates the file on every read from offset 0.
#include <cstdint>
#include <optional>
#include <string>

namespace antiphase::agent {

class CpuStatFile {
 public:
  explicit CpuStatFile(const std::string& cgroup_path);
  ~CpuStatFile();
  CpuStatFile(CpuStatFile&& other) noexcept;
  CpuStatFile& operator=(CpuStatFile&& other) noexcept;
  CpuStatFile(const CpuStatFile&) = delete;
  CpuStatFile& operator=(const CpuStatFile&) = delete;

  // nullopt once the cgroup is gone (reads of a removed cgroup's files fail).
  std::optional<uint64_t> usage_usec() const;

 private:
  int fd_ = -1;
};

}  // namespace antiphase::agent

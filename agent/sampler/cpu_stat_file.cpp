#include "agent/sampler/cpu_stat_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <string_view>

#include "agent/registry/cgroup_fs.h"

namespace antiphase::agent {

CpuStatFile::CpuStatFile(const std::string& cgroup_path)
    : fd_(::open((cgroup_path + "/cpu.stat").c_str(), O_RDONLY | O_CLOEXEC)) {}

std::optional<uint64_t> CpuStatFile::usage_usec() const {
  if (!fd_) return std::nullopt;
  // usage_usec is the first line; the whole file is a few hundred bytes.
  char buf[1024];
  const ssize_t n = ::pread(fd_.get(), buf, sizeof(buf), 0);
  if (n <= 0) return std::nullopt;
  return parse_cpu_stat_usage_usec(std::string_view(buf, static_cast<size_t>(n)));
}

}  // namespace antiphase::agent

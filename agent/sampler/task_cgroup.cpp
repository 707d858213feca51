#include "agent/sampler/task_cgroup.h"

#include <fstream>
#include <sstream>

#include "agent/registry/cgroup_fs.h"

namespace antiphase::agent {

std::optional<std::string> parse_unified_cgroup_path(std::string_view text) {
  size_t pos = 0;
  while (pos < text.size()) {
    const size_t end = std::min(text.find('\n', pos), text.size());
    const std::string_view line = text.substr(pos, end - pos);
    if (line.rfind("0::", 0) == 0) return std::string(line.substr(3));
    pos = end + 1;
  }
  return std::nullopt;
}

std::optional<uint64_t> read_task_cgroup_id(uint32_t tid, const std::string& cgroup2_mount) {
  std::ifstream in("/proc/" + std::to_string(tid) + "/cgroup");
  if (!in) return std::nullopt;
  std::stringstream text;
  text << in.rdbuf();
  const auto path = parse_unified_cgroup_path(text.str());
  if (!path || path->empty() || (*path)[0] != '/') return std::nullopt;
  return cgroup_id_of(cgroup2_mount + (*path == "/" ? "" : *path));
}

}  // namespace antiphase::agent

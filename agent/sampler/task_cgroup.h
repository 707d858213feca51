#pragma once
// Which cgroup2 a thread is in, from /proc/<tid>/cgroup (the "0::<path>" line): where
// the still-running slice on a CPU belongs at read time.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace antiphase::agent {

// The cgroup2 path of a /proc/<pid>/cgroup text ("0::/a/b" -> "/a/b"); nullopt if absent.
std::optional<std::string> parse_unified_cgroup_path(std::string_view proc_cgroup_text);
// The cgroup2 id (directory inode) of the thread's cgroup; nullopt if the thread is
// gone or its cgroup cannot be stat'ed under `cgroup2_mount`.
std::optional<uint64_t> read_task_cgroup_id(uint32_t tid, const std::string& cgroup2_mount);

}  // namespace antiphase::agent

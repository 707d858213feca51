#pragma once
// Where cgroup v2 lives on this host and small helpers to read it.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace antiphase::agent {

// Parses mountinfo text and returns the mount point of the first cgroup2 filesystem
// (hybrid hosts mount it at e.g. .../unified; pure v2 hosts at /sys/fs/cgroup).
std::optional<std::string> find_cgroup2_mount_in(const std::string& mountinfo_text);
// Reads /proc/self/mountinfo. Never hard-code the mount point.
std::optional<std::string> find_cgroup2_mount();
// The mount point of the cgroup v1 hierarchy that carries `controller` (e.g. "memory"
// on hybrid hosts, where the unified hierarchy lacks it), from mountinfo text / the file.
std::optional<std::string> find_cgroup1_mount_in(const std::string& mountinfo_text, const std::string& controller);
std::optional<std::string> find_cgroup1_mount(const std::string& controller);

// The cgroup2 id of a cgroup directory: its inode number, which is what
// bpf_get_current_cgroup_id() reports. nullopt if the path cannot be stat'ed.
std::optional<uint64_t> cgroup_id_of(const std::string& path);

// `usage_usec` from cpu.stat text ("usage_usec 123\nuser_usec ..."); nullopt if absent.
std::optional<uint64_t> parse_cpu_stat_usage_usec(std::string_view text);

// Reads `usage_usec` from <path>/cpu.stat (present on cgroup2 even without the cpu
// controller). nullopt if missing or unreadable.
std::optional<uint64_t> read_cpu_stat_usage_usec(const std::string& cgroup_path);

}  // namespace antiphase::agent

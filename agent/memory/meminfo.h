#pragma once
// The host's memory from /proc/meminfo: what the memory guard's capacity defaults to,
// and how much the kernel thinks could be given out now without swapping.
#include <cstdint>
#include <optional>
#include <string_view>

namespace antiphase::agent {

struct HostMeminfo {
  uint64_t total_bytes = 0;      // MemTotal
  uint64_t available_bytes = 0;  // MemAvailable
};

// nullopt unless both MemTotal and MemAvailable are present ("MemTotal: 123 kB").
std::optional<HostMeminfo> parse_meminfo(std::string_view text);
std::optional<HostMeminfo> read_meminfo();

}  // namespace antiphase::agent

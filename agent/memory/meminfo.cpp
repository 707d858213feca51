#include "agent/memory/meminfo.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <string>

namespace antiphase::agent {

namespace {

// The value of "Key:   123 kB" in bytes.
std::optional<uint64_t> field_bytes(std::string_view text, std::string_view key) {
  size_t pos = 0;
  while (pos < text.size()) {
    const size_t end = std::min(text.find('\n', pos), text.size());
    std::string_view line = text.substr(pos, end - pos);
    pos = end + 1;
    if (line.size() <= key.size() || line.substr(0, key.size()) != key || line[key.size()] != ':') continue;
    line.remove_prefix(key.size() + 1);
    while (!line.empty() && line.front() == ' ') line.remove_prefix(1);
    uint64_t kib = 0;
    const auto [rest, ec] = std::from_chars(line.data(), line.data() + line.size(), kib);
    if (ec != std::errc{} || std::string_view(rest, line.data() + line.size() - rest) != " kB") return std::nullopt;
    return kib * 1024;
  }
  return std::nullopt;
}

}  // namespace

std::optional<HostMeminfo> parse_meminfo(std::string_view text) {
  const auto total = field_bytes(text, "MemTotal");
  const auto available = field_bytes(text, "MemAvailable");
  if (!total || !available) return std::nullopt;
  return HostMeminfo{*total, *available};
}

std::optional<HostMeminfo> read_meminfo() {
  const int fd = ::open("/proc/meminfo", O_RDONLY | O_CLOEXEC);
  if (fd < 0) return std::nullopt;
  std::string text(8192, '\0');
  const ssize_t n = ::read(fd, text.data(), text.size());
  ::close(fd);
  if (n <= 0) return std::nullopt;
  text.resize(static_cast<size_t>(n));
  return parse_meminfo(text);
}

}  // namespace antiphase::agent

#include "agent/sampler/task_runtime.h"

#include <fcntl.h>
#include <unistd.h>

#include <charconv>
#include <fstream>
#include <sstream>
#include <string>

namespace antiphase::agent {

std::optional<uint64_t> parse_schedstat_runtime(std::string_view text) {
  uint64_t value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc{} || end == text.data()) return std::nullopt;
  if (end != text.data() + text.size() && *end != ' ' && *end != '\n') return std::nullopt;
  return value;
}

bool nspid_is_initial(std::string_view status_text) {
  const auto pos = status_text.find("NSpid:");
  if (pos == std::string_view::npos) return true;  // kernels < 4.1: no pid namespaces info
  std::string_view line = status_text.substr(pos + 6);
  line = line.substr(0, line.find('\n'));
  int fields = 0;
  bool in_field = false;
  for (char c : line) {
    const bool digit = c >= '0' && c <= '9';
    if (digit && !in_field) ++fields;
    in_field = digit;
  }
  return fields == 1;
}

bool in_initial_pid_namespace() {
  std::ifstream in("/proc/self/status");
  std::stringstream text;
  text << in.rdbuf();
  return nspid_is_initial(text.str());
}

std::optional<uint64_t> read_task_runtime_ns(uint32_t tid) {
  // Plain open/read: this runs once per busy CPU per tick and must stay cheap.
  const std::string path = "/proc/" + std::to_string(tid) + "/schedstat";
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return std::nullopt;
  char buf[96];
  const ssize_t n = ::read(fd, buf, sizeof(buf) - 1);
  ::close(fd);
  if (n <= 0) return std::nullopt;
  return parse_schedstat_runtime(std::string_view(buf, static_cast<size_t>(n)));
}

}  // namespace antiphase::agent

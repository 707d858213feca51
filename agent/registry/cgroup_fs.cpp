#include "agent/registry/cgroup_fs.h"

#include <sys/stat.h>

#include <algorithm>
#include <charconv>
#include <fstream>
#include <sstream>

namespace antiphase::agent {

namespace {
// mountinfo escapes space, tab, newline and backslash as \ooo octal.
std::string unescape_mountinfo(const std::string& s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\\' && i + 3 < s.size()) {
      out.push_back(static_cast<char>(std::stoi(s.substr(i + 1, 3), nullptr, 8)));
      i += 3;
    } else {
      out.push_back(s[i]);
    }
  }
  return out;
}
}  // namespace

namespace {

bool has_option(const std::string& comma_separated, const std::string& option) {
  std::istringstream options(comma_separated);
  for (std::string o; std::getline(options, o, ',');)
    if (o == option) return true;
  return false;
}

// The first mount point whose filesystem type is `fstype` and, if `super_option` is
// not empty, whose super options include it (a v1 hierarchy names its controllers there).
std::optional<std::string> find_mount_in(const std::string& text, const std::string& fstype,
                                         const std::string& super_option) {
  std::istringstream lines(text);
  std::string line;
  while (std::getline(lines, line)) {
    // Fields: id parent maj:min root mountpoint opts [optional...] - fstype source superopts
    const auto sep = line.find(" - ");
    if (sep == std::string::npos) continue;
    std::istringstream tail(line.substr(sep + 3));
    std::string type, source, super_options;
    tail >> type >> source >> super_options;
    if (type != fstype) continue;
    if (!super_option.empty() && !has_option(super_options, super_option)) continue;
    std::istringstream head(line.substr(0, sep));
    std::string id, parent, dev, root, mountpoint;
    head >> id >> parent >> dev >> root >> mountpoint;
    if (!mountpoint.empty()) return unescape_mountinfo(mountpoint);
  }
  return std::nullopt;
}

std::optional<std::string> read_mountinfo() {
  std::ifstream in("/proc/self/mountinfo");
  if (!in) return std::nullopt;
  std::stringstream buf;
  buf << in.rdbuf();
  return buf.str();
}

}  // namespace

std::optional<std::string> find_cgroup2_mount_in(const std::string& text) { return find_mount_in(text, "cgroup2", ""); }

std::optional<std::string> find_cgroup1_mount_in(const std::string& text, const std::string& controller) {
  return find_mount_in(text, "cgroup", controller);
}

std::optional<std::string> find_cgroup2_mount() {
  const auto text = read_mountinfo();
  return text ? find_cgroup2_mount_in(*text) : std::nullopt;
}

std::optional<std::string> find_cgroup1_mount(const std::string& controller) {
  const auto text = read_mountinfo();
  return text ? find_cgroup1_mount_in(*text, controller) : std::nullopt;
}

std::optional<uint64_t> cgroup_id_of(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) return std::nullopt;
  return static_cast<uint64_t>(st.st_ino);
}

std::optional<uint64_t> parse_cpu_stat_usage_usec(std::string_view text) {
  constexpr std::string_view kKey = "usage_usec ";
  size_t pos = 0;
  while (pos < text.size()) {
    const size_t end = std::min(text.find('\n', pos), text.size());
    const std::string_view line = text.substr(pos, end - pos);
    if (line.substr(0, kKey.size()) == kKey) {
      uint64_t value = 0;
      const auto digits = line.substr(kKey.size());
      const auto [ptr, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), value);
      if (ec != std::errc{} || ptr == digits.data()) return std::nullopt;
      return value;
    }
    pos = end + 1;
  }
  return std::nullopt;
}

std::optional<uint64_t> read_cpu_stat_usage_usec(const std::string& cgroup_path) {
  std::ifstream in(cgroup_path + "/cpu.stat");
  std::stringstream text;
  text << in.rdbuf();
  return in ? parse_cpu_stat_usage_usec(text.str()) : std::nullopt;
}

}  // namespace antiphase::agent

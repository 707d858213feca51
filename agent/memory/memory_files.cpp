#include "agent/memory/memory_files.h"

#include <fcntl.h>
#include <unistd.h>

#include <charconv>
#include <utility>

namespace antiphase::agent {

namespace {

struct FileNames {
  const char* current;
  const char* peak;
  const char* limit;
};

FileNames names_for(MemoryHierarchy hierarchy) {
  if (hierarchy == MemoryHierarchy::V1)
    return {"/memory.usage_in_bytes", "/memory.max_usage_in_bytes", "/memory.limit_in_bytes"};
  return {"/memory.current", "/memory.peak", "/memory.max"};
}

int open_read_only(const std::string& path) { return ::open(path.c_str(), O_RDONLY | O_CLOEXEC); }

std::string_view trimmed(std::string_view text) {
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.remove_suffix(1);
  return text;
}

// The files are one short line each.
std::optional<std::string_view> pread_line(int fd, char (&buf)[64]) {
  if (fd < 0) return std::nullopt;
  const ssize_t n = ::pread(fd, buf, sizeof(buf), 0);
  if (n <= 0) return std::nullopt;
  return std::string_view(buf, static_cast<size_t>(n));
}

void close_fd(int& fd) {
  if (fd >= 0) ::close(fd);
  fd = -1;
}

}  // namespace

std::optional<uint64_t> parse_memory_bytes(std::string_view text) {
  text = trimmed(text);
  uint64_t value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc{} || text.empty() || end != text.data() + text.size()) return std::nullopt;
  return value;
}

std::optional<uint64_t> parse_memory_limit(std::string_view text) {
  const auto value = parse_memory_bytes(text);
  if (!value || *value >= kNoMemoryLimitFrom) return std::nullopt;
  return value;
}

CgroupMemoryFiles::CgroupMemoryFiles(const std::string& dir, MemoryHierarchy hierarchy) {
  if (dir.empty() || hierarchy == MemoryHierarchy::None) return;
  const FileNames names = names_for(hierarchy);
  current_fd_ = open_read_only(dir + names.current);
  if (current_fd_ < 0) return;
  peak_fd_ = open_read_only(dir + names.peak);
  limit_fd_ = open_read_only(dir + names.limit);
}

CgroupMemoryFiles::~CgroupMemoryFiles() { close_all(); }

CgroupMemoryFiles::CgroupMemoryFiles(CgroupMemoryFiles&& other) noexcept
    : current_fd_(std::exchange(other.current_fd_, -1)),
      peak_fd_(std::exchange(other.peak_fd_, -1)),
      limit_fd_(std::exchange(other.limit_fd_, -1)) {}

CgroupMemoryFiles& CgroupMemoryFiles::operator=(CgroupMemoryFiles&& other) noexcept {
  if (this != &other) {
    close_all();
    current_fd_ = std::exchange(other.current_fd_, -1);
    peak_fd_ = std::exchange(other.peak_fd_, -1);
    limit_fd_ = std::exchange(other.limit_fd_, -1);
  }
  return *this;
}

void CgroupMemoryFiles::close_all() {
  close_fd(current_fd_);
  close_fd(peak_fd_);
  close_fd(limit_fd_);
}

std::optional<uint64_t> CgroupMemoryFiles::current_bytes() const {
  char buf[64];
  const auto line = pread_line(current_fd_, buf);
  return line ? parse_memory_bytes(*line) : std::nullopt;
}

std::optional<uint64_t> CgroupMemoryFiles::peak_bytes() const {
  char buf[64];
  const auto line = pread_line(peak_fd_, buf);
  return line ? parse_memory_bytes(*line) : std::nullopt;
}

std::optional<uint64_t> CgroupMemoryFiles::limit_bytes() const {
  char buf[64];
  const auto line = pread_line(limit_fd_, buf);
  return line ? parse_memory_limit(*line) : std::nullopt;
}

}  // namespace antiphase::agent

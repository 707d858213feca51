#include "agent/gossip/generation_store.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <stdexcept>

#include <spdlog/spdlog.h>

namespace antiphase::agent::gossip {
namespace {

uint64_t unix_seconds() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

void fail(const std::string& what, const std::string& path) {
  throw std::runtime_error(what + " " + path + ": " + std::strerror(errno));
}

void fsync_path(const std::string& path, int flags) {
  const int fd = ::open(path.c_str(), flags);
  if (fd < 0) fail("cannot open", path);
  const bool ok = ::fsync(fd) == 0;
  ::close(fd);
  if (!ok) fail("cannot fsync", path);
}

void write_atomically(const std::string& dir, const std::string& path, const std::string& content) {
  const std::string temp = path + ".tmp";
  const int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) fail("cannot create", temp);
  const bool written = ::write(fd, content.data(), content.size()) == static_cast<ssize_t>(content.size());
  const bool synced = written && ::fsync(fd) == 0;
  ::close(fd);
  if (!synced) fail("cannot write", temp);
  if (::rename(temp.c_str(), path.c_str()) != 0) fail("cannot rename into", path);
  fsync_path(dir, O_RDONLY | O_DIRECTORY);  // make the rename itself durable
}

}  // namespace

uint64_t bump_generation(const std::string& state_dir) {
  if (state_dir.empty()) return unix_seconds();
  std::filesystem::create_directories(state_dir);
  const std::string path = state_dir + "/gossip.generation";
  uint64_t previous = 0;
  if (std::filesystem::exists(path)) {
    std::ifstream in(path);
    if (!(in >> previous)) {
      previous = unix_seconds();
      spdlog::warn("gossip: {} is unreadable or corrupt; using unix time {} as the generation", path, previous);
    }
  }
  const uint64_t next = previous + 1;
  write_atomically(state_dir, path, std::to_string(next) + "\n");
  return next;
}

}  // namespace antiphase::agent::gossip

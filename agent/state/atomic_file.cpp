#include "agent/state/atomic_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>

namespace antiphase::agent {

namespace {

[[noreturn]] void fail(const std::string& step, const std::string& path) {
  throw std::runtime_error("cannot " + step + " " + path + ": " + std::strerror(errno));
}

void write_all(int fd, std::string_view data, const std::string& path) {
  while (!data.empty()) {
    const ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) fail("write", path);
    data.remove_prefix(static_cast<size_t>(n));
  }
}

void fsync_directory(const std::string& dir) {
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) fail("open directory", dir);
  const int rc = ::fsync(fd);
  ::close(fd);
  if (rc != 0) fail("fsync directory", dir);
}

}  // namespace

void write_file_atomically(const std::string& path, std::string_view contents, unsigned mode) {
  const std::filesystem::path target(path);
  const std::string dir = target.has_parent_path() ? target.parent_path().string() : ".";
  std::filesystem::create_directories(dir);
  std::string tmp = dir + "/." + target.filename().string() + ".tmp-XXXXXX";
  const int fd = ::mkostemp(tmp.data(), O_CLOEXEC);
  if (fd < 0) fail("create temp file for", path);
  try {
    write_all(fd, contents, tmp);
    if (::fchmod(fd, mode) != 0) fail("chmod", tmp);
    if (::fsync(fd) != 0) fail("fsync", tmp);
  } catch (...) {
    ::close(fd);
    ::unlink(tmp.c_str());
    throw;
  }
  ::close(fd);
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    ::unlink(tmp.c_str());
    fail("rename temp file over", path);
  }
  fsync_directory(dir);
}

std::optional<std::string> read_whole_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    if (errno == ENOENT) return std::nullopt;
    fail("open", path);
  }
  std::ostringstream buf;
  buf << in.rdbuf();
  if (in.bad()) fail("read", path);
  return buf.str();
}

size_t remove_stale_temp_files(const std::string& path) {
  const std::filesystem::path target(path);
  const auto dir = target.has_parent_path() ? target.parent_path() : std::filesystem::path(".");
  const std::string prefix = "." + target.filename().string() + ".tmp-";
  size_t removed = 0;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
    if (entry.path().filename().string().rfind(prefix, 0) == 0 && std::filesystem::remove(entry.path(), ec)) ++removed;
  }
  return removed;
}

std::string quarantine_file(const std::string& path, long long unix_s) {
  const std::string aside = path + ".corrupt-" + std::to_string(unix_s);
  if (::rename(path.c_str(), aside.c_str()) != 0) fail("quarantine", path);
  return aside;
}

}  // namespace antiphase::agent

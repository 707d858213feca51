#include "agent/state/state_dir.h"

#include <fcntl.h>
#include <pwd.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <stdexcept>

namespace antiphase::agent {

namespace {

int open_directory(const std::string& dir) { return ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC); }

std::string effective_user_name() {
  if (const passwd* pw = ::getpwuid(::geteuid())) return pw->pw_name;
  return std::to_string(::geteuid());
}

std::string owner_of(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return "?";
  if (const passwd* pw = ::getpwuid(st.st_uid)) return pw->pw_name;
  return "uid " + std::to_string(st.st_uid);
}

}  // namespace

StateDirLock::StateDirLock(const std::string& dir) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) throw std::runtime_error("state.dir: cannot create " + dir + ": " + ec.message() + "; " + chown_hint(dir));
  fd_ = open_directory(dir);
  if (fd_ < 0) throw std::runtime_error("state.dir: cannot open " + dir + ": " + std::strerror(errno) + "; " + chown_hint(dir));
  if (::flock(fd_, LOCK_EX | LOCK_NB) != 0) {
    const int err = errno;
    ::close(fd_);
    fd_ = -1;
    if (err == EWOULDBLOCK) throw std::runtime_error(state_dir_in_use_message(dir));
    throw std::runtime_error("state.dir: cannot lock " + dir + ": " + std::strerror(err));
  }
}

StateDirLock::~StateDirLock() {
  if (fd_ >= 0) ::close(fd_);  // closing the only descriptor releases the lock
}

bool state_dir_in_use(const std::string& dir) {
  const int fd = open_directory(dir);
  if (fd < 0) return false;
  const bool busy = ::flock(fd, LOCK_EX | LOCK_NB) != 0 && errno == EWOULDBLOCK;
  ::close(fd);  // releases the probe's own lock, if it got one
  return busy;
}

std::string state_dir_in_use_message(const std::string& dir) {
  return "state.dir: " + dir + " is in use by another antiphased (it holds the directory's lock); " +
         "refusing to start a second instance. Stop the other one first (systemctl stop antiphase, or end the "
         "manual run), or give this one its own state.dir and api.socket";
}

std::optional<std::string> unreadable_state_file(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd >= 0) {
    ::close(fd);
    return std::nullopt;
  }
  if (errno == ENOENT) return std::nullopt;
  const int err = errno;
  std::string message = "cannot read saved state " + path + " (owned by " + owner_of(path) + "): " + std::strerror(err) +
                        "; refusing to start rather than replace it with an empty state";
  if (err == EACCES || err == EPERM)
    message += ". A manual run as another user (root?) probably left it; fix: " +
               chown_hint(std::filesystem::path(path).parent_path().string());
  return message;
}

std::string chown_hint(const std::string& dir) {
  return "chown -R " + effective_user_name() + ": " + dir;
}

}  // namespace antiphase::agent

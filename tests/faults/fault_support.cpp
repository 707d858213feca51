#include "tests/faults/fault_support.h"

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace antiphase::testing {

size_t rss_bytes(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("VmRSS:", 0) != 0) continue;
    std::istringstream fields(line.substr(6));
    size_t kib = 0;
    fields >> kib;
    return kib * 1024;
  }
  return 0;
}

namespace {

int connect_unix(const std::string& path) {
  const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.size() >= sizeof(addr.sun_path)) {
    ::close(fd);
    return -1;
  }
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

int status_of(const std::string& reply) {
  // "HTTP/1.x NNN ..."
  if (reply.size() < 12 || reply.rfind("HTTP/", 0) != 0) return 0;
  const auto space = reply.find(' ');
  if (space == std::string::npos || space + 4 > reply.size()) return 0;
  return std::atoi(reply.substr(space + 1, 3).c_str());
}

}  // namespace

int raw_unix_exchange(const std::string& socket_path, const std::string& bytes, int timeout_ms) {
  const int fd = connect_unix(socket_path);
  if (fd < 0) return -1;
  // The peer may answer (and close) before it read everything; a failed send is fine.
  (void)::send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL);
  ::shutdown(fd, SHUT_WR);
  std::string reply;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  char buf[4096];
  int result = -2;
  while (true) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) break;
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) break;
    const ssize_t n = ::recv(fd, buf, sizeof(buf), 0);
    if (n <= 0) {
      result = status_of(reply);
      break;
    }
    reply.append(buf, static_cast<size_t>(n));
    if (status_of(reply) != 0 && reply.find("\r\n\r\n") != std::string::npos) {
      result = status_of(reply);
      break;
    }
  }
  ::close(fd);
  return result;
}

int open_and_send(const std::string& socket_path, const std::string& bytes) {
  const int fd = connect_unix(socket_path);
  if (fd >= 0) (void)::send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL);
  return fd;
}

bool closed_by_peer(int fd, int timeout_ms) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  bool closed = false;
  char buf[4096];
  while (!closed) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) break;
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) break;
    closed = ::recv(fd, buf, sizeof(buf), 0) <= 0;  // a 4xx may come first; keep reading
  }
  ::close(fd);
  return closed;
}

std::vector<std::string> list_dir(const std::string& dir) {
  std::vector<std::string> names;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) names.push_back(entry.path().filename().string());
  return names;
}

}  // namespace antiphase::testing

#pragma once
// Picks TCP ports for test processes on loopback.
//
// Why not "base + pid % N": such ranges overlapped the kernel's ephemeral range,
// and after a test that opened thousands of connections (the gossip flood) a
// later cluster found one of its ports taken by an outgoing connection, its
// node exited, and the test died of SIGPIPE. Here ports come from below the
// ephemeral range and each one is checked free by binding it.
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <fstream>
#include <stdexcept>

namespace antiphase::testing {

inline bool tcp_port_is_free(int port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<uint16_t>(port));
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  const bool free = ::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0;
  ::close(fd);
  return free;
}

// The first port of the kernel's ephemeral range (where outgoing connections get
// their local ports), so that test listeners stay below it.
inline int ephemeral_range_start() {
  std::ifstream range("/proc/sys/net/ipv4/ip_local_port_range");
  int low = 32768;
  range >> low;
  return low;
}

// `count` consecutive free ports below the ephemeral range; the start depends on
// the pid so that test processes running side by side rarely probe the same block.
inline int free_port_block(int count) {
  const int lowest = 10000;
  const int highest = ephemeral_range_start() - count;
  if (highest <= lowest) throw std::runtime_error("no room for test ports below the ephemeral range");
  const int span = highest - lowest;
  const int start = lowest + (static_cast<int>(::getpid()) * 37) % span;
  for (int tried = 0; tried < span; tried += count) {
    const int base = lowest + (start - lowest + tried) % span;
    bool all_free = true;
    for (int port = base; port < base + count && all_free; ++port) all_free = tcp_port_is_free(port);
    if (all_free) return base;
  }
  throw std::runtime_error("no block of free TCP ports found for the test");
}

}  // namespace antiphase::testing

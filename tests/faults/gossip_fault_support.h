#pragma once
// Tools the gossip fault tests share: gossip_node children (tests/gossip's ChildProcess)
// and the memory figures of a process from /proc.
#include <sys/types.h>

#include <chrono>
#include <fstream>
#include <string>

#include "tests/gossip/child_process.h"

namespace antiphase::testing {

// gossip_node children: pipes, pid, signals without reaping, parsed answers.
using GossipChild = ::antiphase::gossip::testing::ChildProcess;
using ::antiphase::gossip::testing::wait_until;

// A "Vm...:" line of /proc/PID/status in bytes (VmRSS, VmHWM); 0 if the process is gone.
inline size_t proc_status_bytes(pid_t pid, const std::string& field) {
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(status, line))
    if (line.rfind(field + ":", 0) == 0) return std::stoull(line.substr(field.size() + 1)) * 1024;
  return 0;
}

inline double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

}  // namespace antiphase::testing

#pragma once
// Small tools the fault tests share: reading a process's memory, speaking raw bytes
// to a Unix socket, and listing what a directory holds.
#include <sys/types.h>

#include <string>
#include <vector>

namespace antiphase::testing {

// VmRSS of `pid` in bytes from /proc/PID/status; 0 if the process is gone.
size_t rss_bytes(pid_t pid);

// Sends `bytes` on a fresh connection to the Unix socket and reads until the peer
// closes or `timeout_ms` passes. Returns the HTTP status of the reply, 0 if the peer
// closed without a status line, -1 on a connect error, -2 on timeout.
int raw_unix_exchange(const std::string& socket_path, const std::string& bytes, int timeout_ms);

// Connects, sends `bytes` and leaves the connection open; returns the fd or -1.
int open_and_send(const std::string& socket_path, const std::string& bytes);
// True when the peer closed `fd` (EOF or reset) within `timeout_ms`; closes `fd`.
bool closed_by_peer(int fd, int timeout_ms);

// Names of the entries in `dir` (not recursive); empty if it does not exist.
std::vector<std::string> list_dir(const std::string& dir);

}  // namespace antiphase::testing

#pragma once
// A tiny HTTP client for the agent's Unix socket (libcurl, CURLOPT_UNIX_SOCKET_PATH).
#include <string>

namespace antiphase::ctl {

struct ApiReply {
  long status = 0;
  std::string body;
};

// Throws std::runtime_error with connect_failure_message() on transport errors.
ApiReply api_call(const std::string& socket_path, const std::string& method, const std::string& path,
                  const std::string& body = "");

// What went wrong reaching the socket, told apart by errno: EACCES is "permission
// denied" (with the socket's mode, owner and group), not "is antiphased running?".
std::string connect_failure_message(const std::string& socket_path, int os_errno, const std::string& transport_error);

}  // namespace antiphase::ctl

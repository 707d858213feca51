#pragma once
// A tiny HTTP client for the agent's Unix socket (libcurl, CURLOPT_UNIX_SOCKET_PATH).
#include <string>

namespace antiphase::ctl {

struct ApiReply {
  long status = 0;
  std::string body;
};

// Throws std::runtime_error ("cannot reach the agent at PATH: ...") on transport errors.
ApiReply api_call(const std::string& socket_path, const std::string& method, const std::string& path,
                  const std::string& body = "");

}  // namespace antiphase::ctl

#pragma once
// One HTTP/1.1 keep-alive connection over an AF_UNIX stream socket. Deliberately tiny:
// it understands exactly what the agent sends (Content-Length bodies, or chunked), so
// the benchmark measures the server and the kernel, not a client library.
#include <string>

namespace antiphase::bench {

struct HttpReply {
  int status = 0;
  std::string body;
};

class UnixHttpConnection {
 public:
  // Throws std::runtime_error (with the path and errno text) when it cannot connect.
  explicit UnixHttpConnection(std::string socket_path);
  ~UnixHttpConnection();
  UnixHttpConnection(const UnixHttpConnection&) = delete;
  UnixHttpConnection& operator=(const UnixHttpConnection&) = delete;

  // Sends one request and reads its reply. Reconnects once if the server closed the
  // idle connection. Throws std::runtime_error on I/O or protocol errors.
  HttpReply request(const std::string& method, const std::string& path, const std::string& body);
  // How many times the connection was (re)opened: 1 means keep-alive held throughout.
  unsigned connects() const { return connects_; }

 private:
  void connect_socket();
  void close_socket();
  void send_all(const std::string& data);
  bool fill();  // reads more bytes into buffer_; false on orderly EOF
  std::string read_line();
  HttpReply read_reply();
  std::string read_exact(size_t n);
  std::string read_chunked();

  std::string path_;
  int fd_ = -1;
  unsigned connects_ = 0;
  bool server_closes_ = false;
  std::string buffer_;
  size_t pos_ = 0;
};

}  // namespace antiphase::bench

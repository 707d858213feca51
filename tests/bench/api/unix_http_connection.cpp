#include "tests/bench/api/unix_http_connection.h"

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <strings.h>

namespace antiphase::bench {
namespace {

[[noreturn]] void fail(const std::string& what) {
  throw std::runtime_error(what + ": " + std::strerror(errno));
}

bool header_is(const std::string& line, const char* name, std::string& value) {
  const size_t n = std::strlen(name);
  if (line.size() <= n || ::strncasecmp(line.c_str(), name, n) != 0 || line[n] != ':') return false;
  value = line.substr(n + 1);
  value.erase(0, value.find_first_not_of(" \t"));
  return true;
}

}  // namespace

UnixHttpConnection::UnixHttpConnection(std::string socket_path) : path_(std::move(socket_path)) {
  connect_socket();
}

UnixHttpConnection::~UnixHttpConnection() { close_socket(); }

void UnixHttpConnection::connect_socket() {
  sockaddr_un addr{};
  if (path_.size() >= sizeof(addr.sun_path)) throw std::runtime_error("socket path too long: " + path_);
  fd_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd_ < 0) fail("socket");
  addr.sun_family = AF_UNIX;
  std::memcpy(addr.sun_path, path_.c_str(), path_.size() + 1);
  if (::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    const int saved = errno;
    close_socket();
    errno = saved;
    fail("connect " + path_);
  }
  ++connects_;
  buffer_.clear();
  pos_ = 0;
  server_closes_ = false;
}

void UnixHttpConnection::close_socket() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

void UnixHttpConnection::send_all(const std::string& data) {
  size_t sent = 0;
  while (sent < data.size()) {
    const ssize_t n = ::send(fd_, data.data() + sent, data.size() - sent, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) fail("send");
    sent += static_cast<size_t>(n);
  }
}

bool UnixHttpConnection::fill() {
  if (pos_ > 0 && pos_ == buffer_.size()) {
    buffer_.clear();
    pos_ = 0;
  }
  char chunk[16384];
  for (;;) {
    const ssize_t n = ::recv(fd_, chunk, sizeof(chunk), 0);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) fail("recv");
    if (n == 0) return false;
    buffer_.append(chunk, static_cast<size_t>(n));
    return true;
  }
}

std::string UnixHttpConnection::read_line() {
  for (;;) {
    const size_t eol = buffer_.find("\r\n", pos_);
    if (eol != std::string::npos) {
      std::string line = buffer_.substr(pos_, eol - pos_);
      pos_ = eol + 2;
      return line;
    }
    if (!fill()) throw std::runtime_error("server closed the connection mid-reply");
  }
}

std::string UnixHttpConnection::read_exact(size_t n) {
  while (buffer_.size() - pos_ < n)
    if (!fill()) throw std::runtime_error("server closed the connection mid-body");
  std::string out = buffer_.substr(pos_, n);
  pos_ += n;
  return out;
}

std::string UnixHttpConnection::read_chunked() {
  std::string body;
  for (;;) {
    const size_t size = std::stoul(read_line(), nullptr, 16);
    if (size == 0) {
      while (!read_line().empty()) {}  // trailers
      return body;
    }
    body += read_exact(size);
    read_line();  // CRLF after each chunk
  }
}

HttpReply UnixHttpConnection::read_reply() {
  HttpReply reply;
  const std::string status_line = read_line();
  if (status_line.rfind("HTTP/1.", 0) != 0 || status_line.size() < 12)
    throw std::runtime_error("not an HTTP reply: " + status_line.substr(0, 80));
  reply.status = std::stoi(status_line.substr(9, 3));
  long content_length = -1;
  bool chunked = false;
  for (std::string line = read_line(); !line.empty(); line = read_line()) {
    std::string value;
    if (header_is(line, "Content-Length", value)) content_length = std::stol(value);
    if (header_is(line, "Transfer-Encoding", value)) chunked = value.find("chunked") != std::string::npos;
    if (header_is(line, "Connection", value)) server_closes_ = ::strncasecmp(value.c_str(), "close", 5) == 0;
  }
  if (chunked) reply.body = read_chunked();
  else if (content_length >= 0) reply.body = read_exact(static_cast<size_t>(content_length));
  else throw std::runtime_error("reply without Content-Length or chunked encoding");
  return reply;
}

HttpReply UnixHttpConnection::request(const std::string& method, const std::string& path, const std::string& body) {
  std::string req = method + " " + path + " HTTP/1.1\r\nHost: localhost\r\n";
  if (!body.empty() || method == "POST")
    req += "Content-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) + "\r\n";
  req += "\r\n" + body;
  if (fd_ < 0 || server_closes_) {
    close_socket();
    connect_socket();
  }
  if (pos_ == buffer_.size()) {
    buffer_.clear();
    pos_ = 0;
  }
  try {
    send_all(req);
    return read_reply();
  } catch (const std::runtime_error&) {
    // An idle keep-alive connection the server timed out: retry once on a fresh one.
    if (!buffer_.empty()) throw;  // part of a reply arrived: a real error
    close_socket();
    connect_socket();
    send_all(req);
    return read_reply();
  }
}

}  // namespace antiphase::bench

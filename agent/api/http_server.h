#pragma once
// HTTP/1.1 over a Unix socket (and optionally TCP), served by libmicrohttpd on a
// listen socket we create ourselves: Debian's libmicrohttpd has no AF_UNIX option of
// its own but serves any externally created listening socket.
#include <netinet/in.h>
#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

struct MHD_Daemon;

namespace antiphase::agent {

struct HttpRequest {
  std::string method;
  std::string path;    // without query
  std::string query;   // raw, without '?'
  std::string body;
  uid_t peer_uid = static_cast<uid_t>(-1);  // from SO_PEERCRED on Unix sockets
  pid_t peer_pid = 0;
};

struct HttpResponse {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
};

using HttpHandler = std::function<HttpResponse(const HttpRequest&)>;

// Who may talk to the Unix socket, checked with SO_PEERCRED on every connection.
struct PeerPolicy {
  bool enforce = true;
  std::vector<uid_t> allowed_uids;  // root and our own uid are always allowed
  std::vector<gid_t> allowed_gids;
};

struct HttpServerOptions {
  std::string unix_path;        // listen here (created, stale file replaced)
  uint32_t unix_mode = 0660;
  std::string unix_group;       // chgrp the socket; "" keeps ours
  std::string tcp_listen;       // "host:port"; if set, listen on TCP instead
  size_t max_body_bytes = 64 * 1024;
  unsigned threads = 2;
  unsigned max_connections = 64;
  unsigned connection_timeout_s = 10;
  PeerPolicy peers;
};

struct HttpServerCounters {
  uint64_t requests = 0, rejected_peer = 0, oversize = 0;
};

class HttpServer {
 public:
  // Throws std::runtime_error with the path/address and errno text on failure.
  HttpServer(HttpServerOptions options, HttpHandler handler);
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  const std::string& where() const { return where_; }
  HttpServerCounters counters() const;

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
  std::string where_;
};

// Opens a listening AF_UNIX socket at `path`: creates the parent directory, replaces a
// stale socket file (refuses if another process still answers on it), applies mode
// and group. Returns the fd.
int listen_unix_socket(const std::string& path, uint32_t mode, const std::string& group);
int listen_tcp_socket(const std::string& host_port);

// What is at an api.socket path now. The listener and the agent's preflight share it.
enum class UnixSocketPath { Free, StaleSocket, Served, NotASocket, TooLong };
UnixSocketPath inspect_unix_socket_path(const std::string& path);
// The message the listener throws for a path it cannot use (TooLong, NotASocket, Served).
std::string unix_socket_path_problem(const std::string& path, UnixSocketPath state);

// The gid of api.socket_group; throws std::runtime_error "no such group" otherwise.
gid_t socket_group_id(const std::string& group);
// Why a process without CAP_CHOWN cannot give the socket to `group`, and the fix.
std::string socket_group_membership_hint(const std::string& group);

// Parses api.metrics_listen ("127.0.0.1:9464"); throws std::runtime_error naming the key.
sockaddr_in parse_metrics_listen(const std::string& host_port);

}  // namespace antiphase::agent

#include "agent/api/http_server.h"

#include <arpa/inet.h>
#include <grp.h>
#include <pwd.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <stdexcept>

#include "agent/api/router.h"

namespace antiphase::agent {

namespace {

[[noreturn]] void throw_errno(const std::string& what) {
  throw std::runtime_error(what + ": " + std::strerror(errno));
}

bool someone_listens_on(const sockaddr_un& addr) {
  const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  const bool alive = ::connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) == 0;
  ::close(fd);
  return alive;
}

// Per-connection state, created on the first callback of a request.
struct RequestContext {
  HttpRequest request;
  bool too_large = false;
  bool peer_checked = false;
  bool peer_allowed = true;
};

}  // namespace

UnixSocketPath inspect_unix_socket_path(const std::string& path) {
  sockaddr_un addr{};
  if (path.size() >= sizeof addr.sun_path) return UnixSocketPath::TooLong;
  struct stat st {};
  if (::lstat(path.c_str(), &st) != 0) return UnixSocketPath::Free;
  if (!S_ISSOCK(st.st_mode)) return UnixSocketPath::NotASocket;
  addr.sun_family = AF_UNIX;
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  return someone_listens_on(addr) ? UnixSocketPath::Served : UnixSocketPath::StaleSocket;
}

std::string unix_socket_path_problem(const std::string& path, UnixSocketPath state) {
  switch (state) {
    case UnixSocketPath::TooLong:
      return "api.socket: path too long (at most " + std::to_string(sizeof(sockaddr_un{}.sun_path) - 1) + " bytes): " + path;
    case UnixSocketPath::NotASocket:
      return "api.socket: " + path + " exists and is not a socket";
    case UnixSocketPath::Served:
      return "api.socket: another agent already serves " + path + "; refusing to start a second instance";
    case UnixSocketPath::Free:
    case UnixSocketPath::StaleSocket:
      break;
  }
  return {};
}

gid_t socket_group_id(const std::string& group) {
  const struct group* gr = ::getgrnam(group.c_str());
  if (!gr) throw std::runtime_error("api.socket_group: no such group \"" + group + "\"");
  return gr->gr_gid;
}

std::string socket_group_membership_hint(const std::string& group) {
  return "the agent runs without CAP_CHOWN, so it can only give the socket to a group it is a member of: add "
         "SupplementaryGroups=" + group + " to the service (systemctl edit antiphase)";
}

int listen_unix_socket(const std::string& path, uint32_t mode, const std::string& group) {
  const UnixSocketPath state = inspect_unix_socket_path(path);
  if (const std::string problem = unix_socket_path_problem(path, state); !problem.empty()) throw std::runtime_error(problem);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);

  const auto parent = std::filesystem::path(path).parent_path();
  std::error_code ec;
  if (!parent.empty()) std::filesystem::create_directories(parent, ec);
  if (state == UnixSocketPath::StaleSocket) ::unlink(path.c_str());
  const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) throw_errno("api.socket: socket()");
  // Create the file with no permissions, then open it up to exactly `mode`, so there
  // is no window in which the umask's default would let others in.
  const mode_t old_umask = ::umask(0777);
  const int rc = ::bind(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr);
  ::umask(old_umask);
  if (rc != 0) {
    ::close(fd);
    throw_errno("api.socket: bind " + path);
  }
  if (!group.empty()) {
    gid_t gid = 0;
    try {
      gid = socket_group_id(group);
    } catch (...) {
      ::close(fd);
      throw;
    }
    if (::chown(path.c_str(), static_cast<uid_t>(-1), gid) != 0) {
      const int err = errno;
      ::close(fd);
      throw std::runtime_error("api.socket_group: chown " + path + " to group " + group + ": " + std::strerror(err) +
                               (err == EPERM ? "; " + socket_group_membership_hint(group) : std::string()));
    }
  }
  if (::chmod(path.c_str(), mode) != 0 || ::listen(fd, 128) != 0) {
    ::close(fd);
    throw_errno("api.socket: " + path);
  }
  return fd;
}

sockaddr_in parse_metrics_listen(const std::string& host_port) {
  const auto colon = host_port.rfind(':');
  if (colon == std::string::npos) throw std::runtime_error("api.metrics_listen: expected host:port, got \"" + host_port + "\"");
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  const std::string host = host_port.substr(0, colon);
  const int port = std::atoi(host_port.c_str() + colon + 1);
  if (port <= 0 || port > 65535 || ::inet_pton(AF_INET, host.c_str(), &addr.sin_addr) != 1)
    throw std::runtime_error("api.metrics_listen: expected IPv4 host:port, got \"" + host_port + "\"");
  addr.sin_port = htons(static_cast<uint16_t>(port));
  return addr;
}

int listen_tcp_socket(const std::string& host_port) {
  const sockaddr_in addr = parse_metrics_listen(host_port);
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) throw_errno("api.metrics_listen: socket()");
  const int one = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (::bind(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0 || ::listen(fd, 128) != 0) {
    ::close(fd);
    throw_errno("api.metrics_listen: " + host_port);
  }
  return fd;
}

struct HttpServer::Impl {
  HttpServerOptions options;
  HttpHandler handler;
  MHD_Daemon* daemon = nullptr;
  int listen_fd = -1;
  bool is_unix = false;
  std::atomic<uint64_t> requests{0}, rejected_peer{0}, oversize{0};

  bool peer_allowed(MHD_Connection* connection, HttpRequest& req) const {
    if (!is_unix) return true;
    const auto* info = MHD_get_connection_info(connection, MHD_CONNECTION_INFO_CONNECTION_FD);
    ucred cred{};
    socklen_t len = sizeof cred;
    if (!info || ::getsockopt(info->connect_fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0) return false;
    req.peer_uid = cred.uid;
    req.peer_pid = cred.pid;
    if (!options.peers.enforce) return true;
    if (cred.uid == 0 || cred.uid == ::geteuid()) return true;
    const auto& uids = options.peers.allowed_uids;
    if (std::find(uids.begin(), uids.end(), cred.uid) != uids.end()) return true;
    return in_allowed_group(cred.uid, cred.gid);
  }

  // SO_PEERCRED gives only the primary gid; supplementary groups come from the
  // group database.
  bool in_allowed_group(uid_t uid, gid_t primary) const {
    const auto& gids = options.peers.allowed_gids;
    if (gids.empty()) return false;
    if (std::find(gids.begin(), gids.end(), primary) != gids.end()) return true;
    const passwd* pw = ::getpwuid(uid);
    if (!pw) return false;
    int n = 64;
    std::vector<gid_t> groups(static_cast<size_t>(n));
    if (::getgrouplist(pw->pw_name, primary, groups.data(), &n) < 0) {
      groups.resize(static_cast<size_t>(n));
      if (::getgrouplist(pw->pw_name, primary, groups.data(), &n) < 0) return false;
    }
    groups.resize(static_cast<size_t>(n));
    for (gid_t g : groups)
      if (std::find(gids.begin(), gids.end(), g) != gids.end()) return true;
    return false;
  }

  static MHD_Result send(MHD_Connection* connection, const HttpResponse& r) {
    MHD_Response* resp = MHD_create_response_from_buffer(r.body.size(), const_cast<char*>(r.body.data()),
                                                         MHD_RESPMEM_MUST_COPY);
    MHD_add_response_header(resp, "Content-Type", r.content_type.c_str());
    const MHD_Result rc = MHD_queue_response(connection, static_cast<unsigned>(r.status), resp);
    MHD_destroy_response(resp);
    return rc;
  }

  static HttpResponse error(int status, const std::string& error, const std::string& detail) {
    return json_error(status, error, detail);
  }

  MHD_Result on_request(MHD_Connection* connection, const char* url, const char* method,
                        const char* upload_data, size_t* upload_size, void** con_cls) {
    auto* ctx = static_cast<RequestContext*>(*con_cls);
    if (!ctx) {
      ctx = new RequestContext;
      *con_cls = ctx;
      ctx->request.method = method;
      const std::string full = url ? url : "/";
      const auto q = full.find('?');
      ctx->request.path = full.substr(0, q);
      ctx->peer_allowed = peer_allowed(connection, ctx->request);
      return MHD_YES;  // MHD calls again with the body (possibly in pieces)
    }
    if (*upload_size) {
      if (ctx->request.body.size() + *upload_size > options.max_body_bytes) ctx->too_large = true;
      else ctx->request.body.append(upload_data, *upload_size);
      *upload_size = 0;
      return MHD_YES;
    }
    ++requests;
    if (!ctx->peer_allowed) {
      ++rejected_peer;
      return send(connection, error(403, "forbidden", "uid " + std::to_string(ctx->request.peer_uid) +
                                                          " may not use this socket (api.allowed_uids, api.socket_group)"));
    }
    if (ctx->too_large) {
      ++oversize;
      return send(connection, error(413, "body too large", "limit is " + std::to_string(options.max_body_bytes) +
                                                               " bytes (api.max_body_bytes)"));
    }
    ctx->request.query = collect_query(connection);
    HttpResponse response;
    try {
      response = handler(ctx->request);
    } catch (const std::exception& e) {
      response = error(500, "internal error", e.what());
    }
    return send(connection, response);
  }

  static std::string collect_query(MHD_Connection* connection) {
    std::string q;
    MHD_get_connection_values(
        connection, MHD_GET_ARGUMENT_KIND,
        [](void* cls, MHD_ValueKind, const char* key, const char* value) -> MHD_Result {
          auto* out = static_cast<std::string*>(cls);
          if (!out->empty()) out->push_back('&');
          *out += key;
          if (value) *out += std::string("=") + value;
          return MHD_YES;
        },
        &q);
    return q;
  }
};

namespace {
MHD_Result access_handler(void* cls, MHD_Connection* connection, const char* url, const char* method,
                          const char*, const char* upload_data, size_t* upload_size, void** con_cls) {
  return static_cast<HttpServer::Impl*>(cls)->on_request(connection, url, method, upload_data, upload_size, con_cls);
}
void request_completed(void*, MHD_Connection*, void** con_cls, MHD_RequestTerminationCode) {
  delete static_cast<RequestContext*>(*con_cls);
  *con_cls = nullptr;
}
}  // namespace

HttpServer::HttpServer(HttpServerOptions options, HttpHandler handler) : impl_(std::make_unique<Impl>()) {
  impl_->options = std::move(options);
  impl_->handler = std::move(handler);
  impl_->is_unix = impl_->options.tcp_listen.empty();
  if (impl_->is_unix) {
    impl_->listen_fd = listen_unix_socket(impl_->options.unix_path, impl_->options.unix_mode, impl_->options.unix_group);
    where_ = impl_->options.unix_path;
  } else {
    impl_->listen_fd = listen_tcp_socket(impl_->options.tcp_listen);
    where_ = "tcp://" + impl_->options.tcp_listen;
  }
  impl_->daemon = MHD_start_daemon(
      MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL, 0, nullptr, nullptr, &access_handler, impl_.get(),
      MHD_OPTION_LISTEN_SOCKET, impl_->listen_fd,
      MHD_OPTION_THREAD_POOL_SIZE, impl_->options.threads,
      MHD_OPTION_CONNECTION_LIMIT, impl_->options.max_connections,
      MHD_OPTION_CONNECTION_TIMEOUT, impl_->options.connection_timeout_s,
      MHD_OPTION_CONNECTION_MEMORY_LIMIT, static_cast<size_t>(64 * 1024),
      MHD_OPTION_NOTIFY_COMPLETED, &request_completed, nullptr,
      MHD_OPTION_END);
  if (!impl_->daemon) {
    ::close(impl_->listen_fd);
    if (impl_->is_unix) ::unlink(impl_->options.unix_path.c_str());
    throw std::runtime_error("cannot start HTTP server on " + where_);
  }
}

HttpServer::~HttpServer() {
  if (impl_->daemon) MHD_stop_daemon(impl_->daemon);
  if (impl_->listen_fd >= 0) ::close(impl_->listen_fd);
  if (impl_->is_unix) ::unlink(impl_->options.unix_path.c_str());
}

HttpServerCounters HttpServer::counters() const {
  return {impl_->requests.load(), impl_->rejected_peer.load(), impl_->oversize.load()};
}

}  // namespace antiphase::agent

#include "agent/ctl/api_client.h"

#include <curl/curl.h>
#include <grp.h>
#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>
#include <stdexcept>

namespace antiphase::ctl {

namespace {
size_t append_body(char* data, size_t size, size_t n, void* out) {
  static_cast<std::string*>(out)->append(data, size * n);
  return size * n;
}

std::string user_name(uid_t uid) {
  if (const passwd* pw = ::getpwuid(uid)) return pw->pw_name;
  return "uid " + std::to_string(uid);
}

std::string group_name(gid_t gid) {
  if (const group* gr = ::getgrgid(gid)) return gr->gr_name;
  return "gid " + std::to_string(gid);
}

// "mode 0660, owner antiphase, group antiphase", or "" if it cannot be stat'ed.
std::string socket_permissions(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return {};
  char mode[8];
  std::snprintf(mode, sizeof mode, "%04o", st.st_mode & 07777);
  return std::string("mode ") + mode + ", owner " + user_name(st.st_uid) + ", group " + group_name(st.st_gid);
}
}  // namespace

std::string connect_failure_message(const std::string& socket_path, int os_errno, const std::string& transport_error) {
  switch (os_errno) {
    case EACCES:
    case EPERM: {
      const std::string perms = socket_permissions(socket_path);
      return "permission denied on " + socket_path + (perms.empty() ? "" : " (" + perms + ")") + ": " +
             user_name(::geteuid()) +
             " may not connect; run as root or the agent's user, or join the socket's group (api.socket_group)";
    }
    case ENOENT:
      return "no agent socket at " + socket_path + ": is antiphased running? (systemctl status antiphase), or set --socket";
    case ECONNREFUSED:
      return "nothing listens on " + socket_path + " (a stale socket): is antiphased running? (systemctl status antiphase)";
    default:
      return "cannot reach the agent at " + socket_path + ": " + transport_error +
             (os_errno ? std::string(" (") + std::strerror(os_errno) + ")" : std::string()) +
             " (is antiphased running? set --socket)";
  }
}

ApiReply api_call(const std::string& socket_path, const std::string& method, const std::string& path,
                  const std::string& body) {
  std::unique_ptr<CURL, decltype(&curl_easy_cleanup)> curl(curl_easy_init(), &curl_easy_cleanup);
  if (!curl) throw std::runtime_error("cannot initialise libcurl");
  ApiReply reply;
  const std::string url = "http://localhost" + path;
  curl_easy_setopt(curl.get(), CURLOPT_UNIX_SOCKET_PATH, socket_path.c_str());
  curl_easy_setopt(curl.get(), CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl.get(), CURLOPT_CUSTOMREQUEST, method.c_str());
  curl_easy_setopt(curl.get(), CURLOPT_WRITEFUNCTION, &append_body);
  curl_easy_setopt(curl.get(), CURLOPT_WRITEDATA, &reply.body);
  curl_easy_setopt(curl.get(), CURLOPT_TIMEOUT, 10L);
  curl_slist* headers = nullptr;
  if (!body.empty()) {
    headers = curl_slist_append(headers, "Content-Type: application/json");
    curl_easy_setopt(curl.get(), CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(curl.get(), CURLOPT_POSTFIELDS, body.c_str());
    curl_easy_setopt(curl.get(), CURLOPT_POSTFIELDSIZE, static_cast<long>(body.size()));
  }
  const CURLcode rc = curl_easy_perform(curl.get());
  curl_slist_free_all(headers);
  if (rc != CURLE_OK) {
    long os_errno = 0;
    curl_easy_getinfo(curl.get(), CURLINFO_OS_ERRNO, &os_errno);
    throw std::runtime_error(connect_failure_message(socket_path, static_cast<int>(os_errno), curl_easy_strerror(rc)));
  }
  curl_easy_getinfo(curl.get(), CURLINFO_RESPONSE_CODE, &reply.status);
  return reply;
}

}  // namespace antiphase::ctl

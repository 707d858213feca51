#include "tests/system/agent_process.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

namespace antiphase::testing {

namespace {
// Adds `line` to [section] of the TOML text, creating the section if needed (TOML
// forbids declaring a table twice).
std::string with_key(std::string toml, const std::string& section, const std::string& line) {
  const std::string header = "[" + section + "]\n";
  const auto at = toml.find(header);
  if (at == std::string::npos) return toml + header + line + "\n";
  return toml.insert(at + header.size(), line + "\n");
}

// The temp dirs this test process made, removed when it exits — unless a test failed:
// then they hold the agents' configs, logs and state for the post-mortem.
class TempDirs {
 public:
  void add(const std::string& dir) { dirs_.push_back(dir); }
  ~TempDirs() {
    if (::testing::UnitTest::GetInstance()->Failed()) return;
    std::error_code ignored;
    for (const auto& dir : dirs_) std::filesystem::remove_all(dir, ignored);
  }

 private:
  std::vector<std::string> dirs_;
};

TempDirs& temp_dirs() {
  static TempDirs dirs;
  return dirs;
}

void write_config(const AgentDirs& dirs, const std::string& extra_toml) {
  std::ofstream cfg(dirs.config());
  cfg << with_key(with_key(extra_toml, "api", "socket = \"" + dirs.socket() + "\""), "state",
                  "dir = \"" + dirs.state() + "\"");
}
}  // namespace

AgentDirs make_agent_dirs(const std::string& tag) {
  AgentDirs d{(std::filesystem::temp_directory_path() / ("antiphase-" + tag + "-" + std::to_string(::getpid()))).string()};
  std::filesystem::remove_all(d.dir);
  std::filesystem::create_directories(d.dir);
  temp_dirs().add(d.dir);
  return d;
}

AgentProcess::AgentProcess(const AgentDirs& dirs, const std::string& extra_toml) : dirs_(dirs) {
  write_config(dirs, extra_toml);
  log_path_ = dirs.dir + "/agent.log";
  pid_ = ::fork();
  if (pid_ == 0) {
    const int fd = ::open(log_path_.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    ::dup2(fd, 1);
    ::dup2(fd, 2);
    ::execl(ANTIPHASED_PATH, ANTIPHASED_PATH, "--config", dirs.config().c_str(), static_cast<char*>(nullptr));
    ::_exit(127);
  }
  for (int i = 0; i < 100; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      throw std::runtime_error("antiphased exited during start-up:\n" + log());
    }
    try {
      if (call("GET", "/healthz").status == 200) return;
    } catch (const std::exception&) {
    }
  }
  terminate(1000);
  throw std::runtime_error("antiphased did not answer /healthz within 10 s:\n" + log());
}

AgentProcess::~AgentProcess() { terminate(5000); }

void AgentProcess::reload(const std::string& extra_toml) {
  write_config(dirs_, extra_toml);
  if (pid_ > 0) ::kill(pid_, SIGHUP);
}

ctl::ApiReply AgentProcess::call(const std::string& method, const std::string& path, const std::string& body) const {
  return ctl::api_call(dirs_.socket(), method, path, body);
}

nlohmann::json AgentProcess::get_json(const std::string& path) const {
  const auto reply = call("GET", path);
  if (reply.status != 200) throw std::runtime_error("GET " + path + " -> " + std::to_string(reply.status) + ": " + reply.body);
  return nlohmann::json::parse(reply.body);
}

int AgentProcess::terminate(int timeout_ms) {
  if (pid_ <= 0) return -1;
  ::kill(pid_, SIGTERM);
  for (int waited = 0; waited < timeout_ms; waited += 20) {
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  ::kill(pid_, SIGKILL);
  ::waitpid(pid_, nullptr, 0);
  pid_ = -1;
  return -1;
}

std::string AgentProcess::log() const {
  std::ifstream in(log_path_);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

int run_command(const std::string& cmd, std::string* output) {
  FILE* p = ::popen((cmd + " 2>&1").c_str(), "r");
  if (!p) return -1;
  std::array<char, 4096> buf{};
  std::string out;
  while (size_t n = std::fread(buf.data(), 1, buf.size(), p)) out.append(buf.data(), n);
  const int status = ::pclose(p);
  if (output) *output = out;
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

}  // namespace antiphase::testing

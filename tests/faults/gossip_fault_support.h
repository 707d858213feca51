#pragma once
// Tools the gossip fault tests share: gossip_node children that can be paused
// (SIGSTOP) without being reaped, parsed "peers"/"stats" answers, and the memory
// figures of a process from /proc.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <map>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace antiphase::testing {

// A gossip_node child driven over stdin/stdout pipes. Unlike tests/gossip's
// ChildProcess it exposes its pid and can be signalled without being waited for.
class GossipChild {
 public:
  explicit GossipChild(const std::vector<std::string>& argv) {
    int to_child[2], from_child[2];
    if (::pipe2(to_child, O_CLOEXEC) != 0 || ::pipe2(from_child, O_CLOEXEC) != 0) throw std::runtime_error("pipe");
    pid_ = ::fork();
    if (pid_ < 0) throw std::runtime_error("fork");
    if (pid_ == 0) {
      ::dup2(to_child[0], 0);
      ::dup2(from_child[1], 1);
      std::vector<char*> args;
      for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
      args.push_back(nullptr);
      ::execv(args[0], args.data());
      ::_exit(127);
    }
    ::close(to_child[0]);
    ::close(from_child[1]);
    in_ = to_child[1];
    out_ = from_child[0];
  }
  ~GossipChild() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGCONT);  // a stopped child must be able to die
    ::kill(pid_, SIGKILL);
    reap();
  }
  GossipChild(const GossipChild&) = delete;
  GossipChild& operator=(const GossipChild&) = delete;

  pid_t pid() const { return pid_; }
  void signal(int number) { ::kill(pid_, number); }

  // True while the process has not exited (a stopped process is still running).
  bool running() {
    if (pid_ <= 0) return false;
    int status = 0;
    const pid_t done = ::waitpid(pid_, &status, WNOHANG);
    if (done == pid_) {
      exit_status_ = status;
      pid_ = -1;
      return false;
    }
    return true;
  }
  int exit_status() const { return exit_status_; }

  std::optional<std::string> read_line(std::chrono::milliseconds timeout = std::chrono::seconds(5)) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (true) {
      const auto newline = buffer_.find('\n');
      if (newline != std::string::npos) {
        std::string line = buffer_.substr(0, newline);
        buffer_.erase(0, newline + 1);
        return line;
      }
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0 || out_ < 0) return std::nullopt;
      pollfd item{out_, POLLIN, 0};
      if (::poll(&item, 1, static_cast<int>(left.count())) <= 0) continue;
      char chunk[4096];
      const ssize_t n = ::read(out_, chunk, sizeof(chunk));
      if (n <= 0) {
        ::close(out_);
        out_ = -1;
        continue;
      }
      buffer_.append(chunk, n);
    }
  }

  void send(const std::string& line) {
    const std::string data = line + "\n";
    if (in_ >= 0 && ::write(in_, data.data(), data.size()) < 0) {
      ::close(in_);
      in_ = -1;
    }
  }
  std::string ask(const std::string& command) {
    send(command);
    return read_line().value_or("");
  }
  std::vector<std::string> ask_until_end(const std::string& command) {
    send(command);
    std::vector<std::string> lines;
    while (auto line = read_line()) {
      if (*line == "end") break;
      lines.push_back(*line);
    }
    return lines;
  }

  // peer id -> "alive" | "suspect" | "dead" | "left" as this node sees them.
  std::map<std::string, std::string> peer_states() {
    std::map<std::string, std::string> states;
    for (const std::string& line : ask_until_end("peers")) {
      std::istringstream words(line);
      std::string tag, id, state;
      words >> tag >> id >> state;
      if (tag == "peer") states[id] = state;
    }
    return states;
  }
  // One counter of the "stats" answer; nullopt if missing (e.g. the node died).
  std::optional<uint64_t> stat(const std::string& key) {
    std::istringstream words(ask("stats"));
    std::string word;
    while (words >> word)
      if (word.rfind(key + "=", 0) == 0) return std::stoull(word.substr(key.size() + 1));
    return std::nullopt;
  }

 private:
  void reap() {
    int status = 0;
    ::waitpid(pid_, &status, 0);
    pid_ = -1;
    if (in_ >= 0) ::close(in_);
    if (out_ >= 0) ::close(out_);
    in_ = out_ = -1;
  }

  pid_t pid_ = -1;
  int in_ = -1, out_ = -1;
  int exit_status_ = 0;
  std::string buffer_;
};

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

template <typename Predicate>
bool wait_until(Predicate predicate, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (predicate()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return predicate();
}

}  // namespace antiphase::testing

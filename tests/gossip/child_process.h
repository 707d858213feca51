#pragma once
// A child process with line-based stdin/stdout pipes, for driving gossip_node, and
// polling for what it reports.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace antiphase::gossip::testing {

class ChildProcess {
 public:
  // `stderr_path`, when given, receives the child's stderr (its log) instead of ours.
  explicit ChildProcess(const std::vector<std::string>& argv, const std::string& stderr_path = "") {
    int to_child[2], from_child[2];
    if (::pipe2(to_child, O_CLOEXEC) != 0 || ::pipe2(from_child, O_CLOEXEC) != 0) throw std::runtime_error("pipe");
    pid_ = ::fork();
    if (pid_ < 0) throw std::runtime_error("fork");
    if (pid_ == 0) {
      ::dup2(to_child[0], 0);
      ::dup2(from_child[1], 1);
      if (!stderr_path.empty()) {
        const int log = ::open(stderr_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
        if (log >= 0) ::dup2(log, 2);
      }
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
  ~ChildProcess() { kill(SIGKILL); }  // also ends a stopped (SIGSTOP) child
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  pid_t pid() const { return pid_; }
  // Sends a signal without waiting for the child (SIGSTOP, SIGCONT).
  void signal(int number) {
    if (pid_ > 0) ::kill(pid_, number);
  }
  // True while the child has not exited (a stopped child still runs); reaps it otherwise.
  bool running() {
    if (pid_ <= 0) return false;
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) != pid_) return true;
    pid_ = -1;
    exit_status_ = status;
    return false;
  }
  // The wait status once running() returned false or wait() returned.
  int exit_status() const { return exit_status_; }

  void send(const std::string& line) {
    const std::string data = line + "\n";
    if (in_ >= 0 && ::write(in_, data.data(), data.size()) < 0) {
      ::close(in_);
      in_ = -1;
    }
  }

  // Next line of output, or nullopt after `timeout`.
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

  void kill(int signal) {
    if (pid_ <= 0) return;
    ::kill(pid_, signal);
    wait();
  }
  int wait() {
    int status = exit_status_;
    if (pid_ > 0) ::waitpid(pid_, &status, 0);
    pid_ = -1;
    exit_status_ = status;
    if (in_ >= 0) ::close(in_);
    if (out_ >= 0) ::close(out_);
    in_ = out_ = -1;
    return status;
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

  // Graceful: "quit" and wait for exit.
  int quit() {
    send("quit");
    return wait();
  }

 private:
  pid_t pid_ = -1;
  int in_ = -1, out_ = -1;
  int exit_status_ = 0;
  std::string buffer_;
};

// Polls `predicate` every 50 ms until it holds or `timeout` passes; its last verdict.
template <typename Predicate>
bool wait_until(Predicate predicate, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (predicate()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return predicate();
}

}  // namespace antiphase::gossip::testing

#pragma once
// Runs a real antiphased process with a config written to a temp dir, and talks to it
// over its real Unix socket.
#include <sys/types.h>

#include <string>

#include <nlohmann/json.hpp>

#include "agent/ctl/api_client.h"

namespace antiphase::testing {

struct AgentDirs {
  std::string dir;       // temp dir holding config, socket and state
  std::string socket() const { return dir + "/api.sock"; }
  std::string state() const { return dir + "/state"; }
  std::string config() const { return dir + "/antiphase.toml"; }
};

// A fresh temp dir; removed when the test process exits unless a test failed.
AgentDirs make_agent_dirs(const std::string& tag);

class AgentProcess {
 public:
  // Writes `extra_toml` after the [api]/[state] sections pointing into dirs, starts the
  // agent and waits (up to 10 s) until /healthz answers. Throws with the agent's log
  // on failure.
  AgentProcess(const AgentDirs& dirs, const std::string& extra_toml);
  ~AgentProcess();
  AgentProcess(const AgentProcess&) = delete;
  AgentProcess& operator=(const AgentProcess&) = delete;

  ctl::ApiReply call(const std::string& method, const std::string& path, const std::string& body = "") const;
  nlohmann::json get_json(const std::string& path) const;
  // Rewrites the config file from `extra_toml` (as the constructor does) and sends
  // SIGHUP. Returns at once; wait on what the reload should change.
  void reload(const std::string& extra_toml);
  // Sends SIGTERM and waits; returns the exit status (or -1 on timeout -> SIGKILL).
  int terminate(int timeout_ms = 10000);
  std::string log() const;
  pid_t pid() const { return pid_; }

 private:
  AgentDirs dirs_;
  pid_t pid_ = -1;
  std::string log_path_;
};

// Runs a command, returns its exit status and captures stdout+stderr.
int run_command(const std::string& cmd, std::string* output = nullptr);

}  // namespace antiphase::testing

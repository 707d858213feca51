#pragma once
// Every check the agent makes before it starts, in one function that both
// `antiphased --check-config` and the start (main.cpp) call, so the check cannot pass a
// config the start then refuses. The objects the start builds afterwards (registry,
// sampler, gossip agent, API socket) use the same validation functions, and a check
// that needs one of them builds it and throws it away.
//
// A check is a small named function that adds findings; add new ones to the list in
// preflight.cpp, never to the start path alone. Each finding is an error (the start is
// refused, exit 2), a warning (the agent starts and says what is degraded) or a note
// (what the agent found, e.g. which sampler it gets).
#include <sys/types.h>

#include <optional>
#include <string>
#include <vector>

#include "common/config/config.h"

namespace antiphase::agent {

enum class PreflightMode {
  Check,  // --check-config: an agent already running with this config is fine
  Start,  // about to start: another agent on the same state dir or socket is an error
};

// The identity the checks judge group membership for.
struct ProcessCredentials {
  uid_t euid = 0;
  gid_t egid = 0;
  std::vector<gid_t> supplementary_groups;
  bool can_chown = false;  // CAP_CHOWN in the effective set
  static ProcessCredentials current();
  bool member_of(gid_t gid) const;
};

struct PreflightContext {
  PreflightMode mode = PreflightMode::Check;
  ProcessCredentials credentials = ProcessCredentials::current();
  // Where relative cgroup roots live; nullopt = find it in /proc/self/mountinfo.
  std::optional<std::string> cgroup2_mount;
};

enum class Severity { Error, Warning, Note };

struct PreflightFinding {
  Severity severity;
  std::string check;    // the check that found it, e.g. "socket_group"
  std::string message;  // names the key or file, and the fix
};

class PreflightReport {
 public:
  void error(const std::string& check, const std::string& message) { add(Severity::Error, check, message); }
  void warning(const std::string& check, const std::string& message) { add(Severity::Warning, check, message); }
  void note(const std::string& check, const std::string& message) { add(Severity::Note, check, message); }
  void add(Severity severity, const std::string& check, const std::string& message) {
    findings_.push_back({severity, check, message});
  }

  bool ok() const { return count(Severity::Error) == 0; }
  size_t count(Severity severity) const;
  const std::vector<PreflightFinding>& findings() const { return findings_; }
  // The findings of one check (tests, and callers that want one answer).
  std::vector<PreflightFinding> of(const std::string& check) const;

 private:
  std::vector<PreflightFinding> findings_;
};

PreflightReport preflight(const config::Config& config, const PreflightContext& context);

}  // namespace antiphase::agent

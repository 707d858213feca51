// antiphased: the per-host agent.
#include <signal.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <iostream>
#include <memory>
#include <sstream>

#include <CLI/CLI.hpp>
#include <spdlog/spdlog.h>

#include "agent/daemon/agent.h"
#include "agent/daemon/logging.h"
#include "agent/daemon/preflight.h"
#include "agent/features/feature_probe.h"
#include "agent/state/state_dir.h"

using namespace antiphase;

namespace {

config::Config load_config(const std::string& path) {
  if (path.empty()) return config::Config{};
  std::ifstream in(path);
  if (!in) throw config::ConfigError("", 0, path + ": cannot open config file");
  std::stringstream buf;
  buf << in.rdbuf();
  return config::parse(buf.str(), path);
}

void print_version() {
  // The probe judges this process: root in a shell gets more than the service's user
  // under its sandbox does, so say where to see what the service itself got.
  std::cout << "antiphased " << ANTIPHASE_VERSION << "\n\nkernel features, as this process (uid " << ::geteuid()
            << ") gets them; the service's own: antiphasectl stats, or the sampler note of the unit's\n"
               "ExecStartPre check in journalctl -u antiphase:\n";
  agent::FeatureProbe probe;
  for (const auto& f : probe.report())
    std::cout << "  " << (f.available ? "[yes] " : "[no]  ") << f.name << (f.detail.empty() ? "" : ": " + f.detail) << "\n";
}

void block_shutdown_signals() {
  // Blocked in every thread (they inherit the mask); the tick loop waits for them
  // with sigtimedwait, so shutdown and reload happen between ticks, never inside one.
  sigset_t set;
  sigemptyset(&set);
  for (int s : {SIGTERM, SIGINT, SIGHUP}) sigaddset(&set, s);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  signal(SIGPIPE, SIG_IGN);
}

agent::PreflightReport run_preflight(const config::Config& cfg, agent::PreflightMode mode) {
  agent::PreflightContext context;
  context.mode = mode;
  return agent::preflight(cfg, context);
}

constexpr int kExitInvalid = 2;  // usage error, invalid config, or a start the preflight refuses

// --check-config: errors and warnings on stderr, the verdict on stdout.
int print_check(const agent::PreflightReport& report, const std::string& config_name) {
  for (const auto& f : report.findings()) {
    if (f.severity == agent::Severity::Note) std::cout << "note: " << f.message << "\n";
    else std::cerr << "antiphased: " << (f.severity == agent::Severity::Error ? "error: " : "warning: ") << f.message << "\n";
  }
  const size_t errors = report.count(agent::Severity::Error), warnings = report.count(agent::Severity::Warning);
  if (errors) {
    std::cerr << "antiphased: config " << config_name << " is invalid: the agent would refuse to start (" << errors
              << " error" << (errors > 1 ? "s" : "") << ")\n";
    return kExitInvalid;
  }
  std::cout << "config " << config_name << " is valid";
  if (warnings) std::cout << " (" << warnings << " warning" << (warnings > 1 ? "s" : "") << ")";
  std::cout << "\n";
  return 0;
}

// The start: errors and warnings go to the journal; returns false if the start must stop.
bool log_preflight(const agent::PreflightReport& report) {
  for (const auto& f : report.findings()) {
    if (f.severity == agent::Severity::Error) spdlog::error("{}", f.message);
    else if (f.severity == agent::Severity::Warning) spdlog::warn("{}", f.message);
    else spdlog::debug("preflight: {}", f.message);
  }
  if (report.ok()) return true;
  spdlog::critical("cannot start: {} error(s) above (antiphased --check-config reports the same)",
                   report.count(agent::Severity::Error));
  return false;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"antiphased: measures per-function CPU, learns usage shapes and answers admission queries.\n"
               "Runs with built-in defaults when no --config is given (see --print-default-config)."};
  std::string config_path;
  bool check_only = false, version = false, print_defaults = false;
  std::string log_level;
  app.add_option("-c,--config", config_path, "TOML config file (e.g. /etc/antiphase/antiphase.toml)");
  app.add_flag("--check-config", check_only, "Validate the config and exit (0 valid, 2 invalid)");
  app.add_flag("-V,--version", version, "Print the version and the kernel feature probe, then exit");
  app.add_flag("--print-default-config", print_defaults, "Print the fully commented default config, then exit");
  app.add_option("--log-level", log_level, "Override log.level (trace|debug|info|warn|error)")
      ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error"}));
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : kExitInvalid;  // --help is not an error
  }

  if (version) {
    print_version();
    return 0;
  }
  if (print_defaults) {
    std::cout << config::default_config_toml();
    return 0;
  }
  config::Config cfg;
  try {
    cfg = load_config(config_path);
  } catch (const config::ConfigError& e) {
    std::cerr << "antiphased: invalid config: " << e.what() << "\n";
    return kExitInvalid;
  }
  if (!log_level.empty()) cfg.log.level = log_level;
  agent::setup_logging(cfg.log.level);
  if (check_only)
    return print_check(run_preflight(cfg, agent::PreflightMode::Check),
                       config_path.empty() ? std::string("(defaults)") : config_path);
  block_shutdown_signals();
  if (!log_preflight(run_preflight(cfg, agent::PreflightMode::Start))) return kExitInvalid;
  std::unique_ptr<agent::StateDirLock> state_lock;
  try {
    state_lock = std::make_unique<agent::StateDirLock>(cfg.state.dir);  // before any state is read or written
  } catch (const std::exception& e) {
    spdlog::critical("cannot start: {}", e.what());
    return kExitInvalid;
  }
  try {
    agent::Agent agent(cfg, config_path);
    agent.start();
    return agent.run();
  } catch (const std::exception& e) {
    spdlog::critical("cannot start: {}", e.what());
    return 1;
  }
}

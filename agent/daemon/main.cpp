// antiphased: the per-host agent.
#include <signal.h>

#include <cstdio>
#include <fstream>
#include <iostream>
#include <sstream>

#include <CLI/CLI.hpp>
#include <spdlog/spdlog.h>

#include "agent/daemon/agent.h"
#include "agent/daemon/logging.h"
#include "agent/features/feature_probe.h"

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
  std::cout << "antiphased " << ANTIPHASE_VERSION << "\n\nkernel features:\n";
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
  app.add_option("--log-level", log_level, "Override log.level (trace|debug|info|warn|error)");
  CLI11_PARSE(app, argc, argv);

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
    return 2;
  }
  if (check_only) {
    std::cout << "config " << (config_path.empty() ? std::string("(defaults)") : config_path) << " is valid\n";
    return 0;
  }
  if (!log_level.empty()) cfg.log.level = log_level;
  agent::setup_logging(cfg.log.level);
  block_shutdown_signals();
  try {
    agent::Agent agent(cfg, config_path);
    agent.start();
    return agent.run();
  } catch (const std::exception& e) {
    spdlog::critical("cannot start: {}", e.what());
    return 1;
  }
}

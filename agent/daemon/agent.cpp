#include "agent/daemon/agent.h"

#include <signal.h>
#include <systemd/sd-daemon.h>
#include <grp.h>
#include <unistd.h>

#include <cmath>
#include <fstream>
#include <sstream>

#include <spdlog/spdlog.h>

#include "agent/gossip/gossip_config.h"
#include "agent/state/atomic_file.h"
#include "agent/state/state_dir.h"
#include "common/node/from_config.h"

namespace antiphase::agent {

namespace {

double seconds_since(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
}

}  // namespace

double Agent::wall_now_s() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

Agent::Agent(config::Config config, std::string config_path)
    : config_(std::move(config)),
      config_path_(std::move(config_path)),
      online_cpus_(::sysconf(_SC_NPROCESSORS_ONLN)),
      core_(node::node_config_from(config_, online_cpus_), node_id_of(config_), gossip_endpoint_of(config_)),
      usage_(config_.functions.history_ticks),
      started_(std::chrono::steady_clock::now()) {
  register_routes();
}

Agent::~Agent() {
  // Also on a failed start(): the API goes first, taken out under the lock its handlers use.
  std::unique_ptr<HttpServer> api;
  {
    std::lock_guard lock(mu_);
    api = std::move(api_);
  }
}

std::string Agent::state_path() const { return config_.state.dir + "/shapes.bin"; }

void Agent::start() {
  feed_ = make_usage_feed(config_);
  {
    std::lock_guard lock(mu_);
    feed_view_ = feed_->view();
  }
  load_state();
  if (config_.gossip.enabled) {
    gossip_ = std::make_unique<GossipBridge>(config_);
    gossip_->start();  // logs its node, generation, endpoints and seeds
  }
  HttpServerOptions api;
  api.unix_path = config_.api.socket;
  api.unix_mode = config_.api.socket_mode;
  api.unix_group = config_.api.socket_group;
  api.max_body_bytes = config_.api.max_body_bytes;
  api.peers.allowed_uids.assign(config_.api.allowed_uids.begin(), config_.api.allowed_uids.end());
  // Members of the socket's group may talk to it, as its mode promises.
  if (!config_.api.socket_group.empty())
    if (const struct group* gr = ::getgrnam(config_.api.socket_group.c_str())) api.peers.allowed_gids.push_back(gr->gr_gid);
  // Its workers serve as soon as it exists; handlers read api_ under mu_, so it is
  // published under mu_ too.
  auto server = std::make_unique<HttpServer>(api, [this](const HttpRequest& r) { return router_.dispatch(r); });
  spdlog::info("API listening on {} (try: antiphasectl --socket {} functions)", server->where(), server->where());
  {
    std::lock_guard lock(mu_);
    api_ = std::move(server);
  }
  if (!config_.api.metrics_listen.empty()) {
    HttpServerOptions m;
    m.tcp_listen = config_.api.metrics_listen;
    m.peers.enforce = false;
    metrics_server_ = std::make_unique<HttpServer>(m, [this](const HttpRequest& r) {
      if (r.method == "GET" && r.path == "/metrics") return HttpResponse{200, "text/plain; version=0.0.4", metrics_text()};
      return json_error(404, "not found", "this listener serves GET /metrics only");
    });
    spdlog::info("metrics listening on {}", metrics_server_->where());
  }
}

int Agent::run() {
  sigset_t signals;
  sigemptyset(&signals);
  for (int s : {SIGTERM, SIGINT, SIGHUP}) sigaddset(&signals, s);
  const auto tick_period = std::chrono::duration<double>(config_.sampler.tick_s);
  auto next = std::chrono::steady_clock::now();
  uint64_t watchdog_usec = 0;
  const bool watchdog = sd_watchdog_enabled(0, &watchdog_usec) > 0;
  sd_notify(0, "READY=1\nSTATUS=measuring");
  for (;;) {
    next += std::chrono::duration_cast<std::chrono::steady_clock::duration>(tick_period);
    const auto wait = next - std::chrono::steady_clock::now();
    const auto wait_ns = std::max<int64_t>(0, std::chrono::duration_cast<std::chrono::nanoseconds>(wait).count());
    timespec ts{static_cast<time_t>(wait_ns / 1000000000), static_cast<long>(wait_ns % 1000000000)};
    const int sig = ::sigtimedwait(&signals, nullptr, &ts);
    if (sig == SIGTERM || sig == SIGINT) {
      spdlog::info("received {}, shutting down", sig == SIGTERM ? "SIGTERM" : "SIGINT");
      break;
    }
    if (sig == SIGHUP) {
      reload_config();
      continue;
    }
    const double lag_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - next).count();
    if (lag_ms > 1000 * config_.sampler.tick_s) next = std::chrono::steady_clock::now();  // don't burst to catch up
    tick();
    {
      std::lock_guard lock(mu_);
      counters_.last_tick_lag_ms = std::max(0.0, lag_ms);
      if (lag_ms > 500 * config_.sampler.tick_s) ++counters_.ticks_late;
      spdlog::debug("tick {}: started {:.1f} ms late, took {:.2f} ms; {} function(s) running, {:.3f} cores",
                    counters_.ticks, counters_.last_tick_lag_ms, counters_.last_tick_work_ms, usage_.functions().size(),
                    usage_.total_cores());
    }
    if (watchdog) sd_notify(0, "WATCHDOG=1");
  }
  sd_notify(0, "STOPPING=1");
  // The API first: its threads read the core and gossip, which go next. Taken out under
  // mu_ (handlers read api_ under it), destroyed outside it (destruction waits for the
  // handlers, which need mu_).
  std::unique_ptr<HttpServer> api;
  {
    std::lock_guard lock(mu_);
    api = std::move(api_);
  }
  api.reset();
  metrics_server_.reset();
  if (gossip_) gossip_->stop();  // graceful leave: peers mark us "left", not dead
  maybe_save_state(/*force=*/true);
  return 0;
}

void Agent::tick() {
  const auto t0 = std::chrono::steady_clock::now();
  bool rescanned = false;
  try {
    rescanned = feed_->read(config_.sampler.tick_s);
  } catch (const std::exception& e) {
    spdlog::warn("sampler read failed: {}", e.what());
    std::lock_guard lock(mu_);
    ++counters_.sampler_errors;
    return;
  }
  const double now_s = wall_now_s();
  const std::optional<HostMeminfo> meminfo = read_meminfo();
  {
    std::lock_guard lock(mu_);
    const TickResult r = feed_->apply(usage_);
    if (!r.first) feed_core(r, meminfo, now_s);
    feed_view_ = feed_->view();
    if (rescanned) ++counters_.rescans;
    ++counters_.ticks;
    counters_.last_tick_work_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  }
  maybe_save_state(false);
}

void Agent::feed_core(const TickResult& r, const std::optional<HostMeminfo>& meminfo, double now_s) {
  const node::Tick t = tick_for_core(r, usage_, meminfo);
  core_.observe(t, now_s, [&](const std::string& name) { return gossiped_blob(name); });
  if (!gossip_) return;
  // Rate limits run on the wall clock, also when replaying an accelerated trace.
  gossip_->publish(core_, now_s);
  gossip_->sync_peers(core_);
}

std::optional<std::string> Agent::gossiped_blob(const std::string& function) const {
  return gossip_ ? gossip_->function_blob(function) : std::nullopt;
}

void Agent::fetch_unheard(const std::string& function) {
  if (gossip_) gossip_->fetch_if_unheard(function);
}

void Agent::hear_about(const std::string& function) {
  core_.hear_gossiped(function, [&](const std::string& name) { return gossiped_blob(name); });
}

void Agent::load_state() {
  const std::string path = state_path();
  if (const size_t stale = remove_stale_temp_files(path))
    spdlog::info("removed {} temp file(s) left by an interrupted save", stale);
  std::optional<std::string> bytes;
  try {
    bytes = read_whole_file(path);
  } catch (const std::exception&) {
    // Never start fresh over state we could not read: the first save would destroy it.
    if (const auto problem = unreadable_state_file(path)) throw std::runtime_error(*problem);
    throw;
  }
  if (!bytes) {
    spdlog::info("no saved state at {}; starting fresh", path);
    return;
  }
  std::string error;
  std::lock_guard lock(mu_);
  if (!core_.load_state(*bytes, &error)) {
    const std::string aside = quarantine_file(path, static_cast<int64_t>(wall_now_s()));
    spdlog::error("saved state {} is unusable ({}); moved it to {} and starting fresh", path, error, aside);
    return;
  }
  spdlog::info("restored {} function shapes from {}", core_.models().size(), path);
}

void Agent::maybe_save_state(bool force) {
  if (!force && seconds_since(last_save_) < config_.state.save_interval_s) return;
  last_save_ = std::chrono::steady_clock::now();
  std::string bytes;
  {
    std::lock_guard lock(mu_);
    bytes = core_.save_state();
  }
  try {
    const auto t0 = std::chrono::steady_clock::now();
    write_file_atomically(state_path(), bytes);
    spdlog::debug("state saved to {}: {} bytes in {:.1f} ms", state_path(), bytes.size(),
                  std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
    std::lock_guard lock(mu_);
    ++counters_.state_saves;
  } catch (const std::exception& e) {
    spdlog::error("saving state failed: {}", e.what());
    std::lock_guard lock(mu_);
    ++counters_.state_save_errors;
  }
}

void Agent::reload_config() {
  if (config_path_.empty()) {
    spdlog::info("SIGHUP: no config file to reload");
    return;
  }
  try {
    std::ifstream in(config_path_);
    std::stringstream buf;
    buf << in.rdbuf();
    const config::Config fresh = config::parse(buf.str(), config_path_);
    std::lock_guard lock(mu_);
    // Only what is safe to change under a running sampler and open socket.
    config_.admission = fresh.admission;
    config_.log = fresh.log;
    config_.state.save_interval_s = fresh.state.save_interval_s;
    config_.functions.rescan_s = fresh.functions.rescan_s;
    // The core takes the new rules, capacity, calibrator target and co-movement mode;
    // peers see the new capacity and limit with the next advert.
    core_.reconfigure(node::node_config_from(config_, online_cpus_));
    feed_->reload(config_);
    spdlog::set_level(spdlog::level::from_str(config_.log.level));
    spdlog::info("SIGHUP: reloaded admission, log, state.save_interval and functions.rescan from {}", config_path_);
  } catch (const std::exception& e) {
    spdlog::error("SIGHUP: keeping the running config: {}", e.what());
  }
}

}  // namespace antiphase::agent

#include "agent/daemon/agent.h"

#include <signal.h>
#include <systemd/sd-daemon.h>
#include <grp.h>
#include <unistd.h>

#include <cmath>
#include <fstream>
#include <sstream>

#include <spdlog/spdlog.h>

#include "agent/daemon/sampler_setup.h"
#include "agent/registry/cgroup_fs.h"
#include "agent/state/atomic_file.h"
#include "common/shape/state_file.h"

namespace antiphase::agent {

namespace {

int64_t unix_now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

double seconds_since(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
}

}  // namespace

shape::ShapeConfig shape_config_from(const config::Config& c) {
  shape::ShapeConfig s;
  s.day = {c.shape.day_slots, 86400};
  s.hour = {c.shape.hour_slots, 3600};
  s.k = c.shape.k;
  s.hour_k = c.shape.hour_k;
  s.half_life_periods = c.shape.half_life_periods;
  s.full_confidence_s = c.shape.full_confidence_s;
  return s;
}

admission::PolicyConfig policy_config_from(const config::Config& c) {
  admission::PolicyConfig p;
  p.target_utilisation = c.admission.target_utilisation;
  p.target_overload_rate = c.admission.target_overload_rate;
  p.max_telemetry_age_s = c.admission.stale_after_s;
  p.min_confidence = c.admission.min_confidence;
  p.unknown = c.admission.unknown_function == "reject" ? admission::UnknownFunction::Reject
                                                       : admission::UnknownFunction::SizeFromRequest;
  if (c.admission.max_admitted_cores > 0) p.max_admitted_mean_cores = c.admission.max_admitted_cores;
  return p;
}

Agent::Agent(config::Config config, std::string config_path)
    : config_(std::move(config)),
      config_path_(std::move(config_path)),
      usage_(config_.functions.history_ticks),
      host_model_(shape_config_from(config_)),
      calibrator_(admission::CalibratorConfig{config_.admission.target_overload_rate}),
      policy_(policy_config_from(config_)),
      started_(std::chrono::steady_clock::now()) {}

Agent::~Agent() = default;

std::string Agent::state_path() const { return config_.state.dir + "/shapes.bin"; }

double Agent::capacity_cores() const {
  if (config_.admission.capacity_cores > 0) return config_.admission.capacity_cores;
  const long online = ::sysconf(_SC_NPROCESSORS_ONLN);
  return std::max(0.1, static_cast<double>(online) - config_.admission.reserve_cores);
}

void Agent::start_measuring() {
  const auto mount = find_cgroup2_mount();
  if (!mount) throw std::runtime_error("no cgroup2 filesystem is mounted (looked in /proc/self/mountinfo)");
  cgroup2_mount_ = *mount;
  registry_ = std::make_unique<CgroupRegistry>(RegistryOptions{
      cgroup2_mount_, config_.functions.cgroup_roots, config_.functions.pattern, config_.functions.depth});
  for (const auto& root : registry_->resolved_roots()) spdlog::info("watching functions under {}", root);

  auto setup = make_configured_sampler(config_);
  features_ = std::move(setup.features);
  sampler_ = std::move(setup.sampler);
  sampler_reason_ = setup.reason;
  spdlog::info("sampler: {} ({})", to_string(sampler_->mode()), sampler_reason_);
  sampler_->set_watched(registry_->watched());
  memory_ = std::make_unique<MemoryReader>(detect_memory_layout(cgroup2_mount_));
  memory_->set_functions(registry_->functions());
  spdlog::info("memory: {}", memory_->layout().reason);
  last_rescan_ = std::chrono::steady_clock::now();

}

std::string Agent::mode_name() const { return replay_ ? "replay" : std::string(to_string(sampler_->mode())); }

double Agent::telemetry_age_s() const {
  if (!last_tick_wall_ms_) return -1;
  return static_cast<double>(unix_now_ms() - last_tick_wall_ms_) / 1000.0;
}

void Agent::start() {
  if (config_.sampler.mode == "replay") {
    replay_ = std::make_unique<ReplayFeed>(config_.sampler.replay_file, config_.functions.pattern, config_.sampler.replay_speed);
    sampler_reason_ = replay_->describe();
    spdlog::info("sampler: replay ({})", sampler_reason_);
  } else {
    start_measuring();
  }
  load_state();
  if (config_.gossip.enabled) {
    gossip_ = std::make_unique<GossipBridge>(config_, capacity_cores());
    gossip_->start();
    spdlog::info("gossip: node {} on {} with {} seed(s)", gossip_->node_id(), config_.gossip.bind, config_.gossip.seeds.size());
  }
  register_routes();
  HttpServerOptions api;
  api.unix_path = config_.api.socket;
  api.unix_mode = config_.api.socket_mode;
  api.unix_group = config_.api.socket_group;
  api.max_body_bytes = config_.api.max_body_bytes;
  api.peers.allowed_uids.assign(config_.api.allowed_uids.begin(), config_.api.allowed_uids.end());
  // Members of the socket's group may talk to it, as its mode promises.
  if (!config_.api.socket_group.empty())
    if (const struct group* gr = ::getgrnam(config_.api.socket_group.c_str())) api.peers.allowed_gids.push_back(gr->gr_gid);
  api_ = std::make_unique<HttpServer>(api, [this](const HttpRequest& r) { return router_.dispatch(r); });
  spdlog::info("API listening on {} (try: antiphasectl --socket {} functions)", api_->where(), api_->where());
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
    }
    if (watchdog) sd_notify(0, "WATCHDOG=1");
  }
  sd_notify(0, "STOPPING=1");
  if (gossip_) gossip_->stop();  // graceful leave: peers mark us "left", not dead
  maybe_save_state(/*force=*/true);
  api_.reset();
  metrics_server_.reset();
  return 0;
}

void Agent::replay_tick() {
  const ReplayStep step = replay_->advance(config_.sampler.tick_s);
  std::lock_guard lock(mu_);
  const TickResult r = usage_.record(step.cores, step.unix_ms, step.dt_s);
  feed_models(r);
  last_sample_unix_ms_ = step.unix_ms;
  last_tick_wall_ms_ = unix_now_ms();
  publish_to_peers();
  ++counters_.ticks;
}

void Agent::publish_to_peers() {
  if (!gossip_) return;
  std::map<std::string, uint32_t> instances;
  for (const auto& [name, fn] : usage_.functions()) instances[name] = fn.instances;
  // Rate limits run on the wall clock, also when replaying an accelerated trace.
  gossip_->publish(models_, instances, host_model_, static_cast<double>(last_tick_wall_ms_) / 1000.0);
}

void Agent::tick() {
  if (replay_) {
    replay_tick();
    return;
  }
  const auto t0 = std::chrono::steady_clock::now();
  if (seconds_since(last_rescan_) >= config_.functions.rescan_s) {
    last_rescan_ = t0;
    const bool changed = registry_->rescan();
    if (changed) sampler_->set_watched(registry_->watched());
    memory_->set_functions(registry_->functions());  // also retries unopened files, re-reads limits
    std::lock_guard lock(mu_);
    ++counters_.rescans;
  }
  UsageSnapshot snapshot;
  try {
    snapshot = sampler_->read();
  } catch (const std::exception& e) {
    spdlog::warn("sampler read failed: {}", e.what());
    std::lock_guard lock(mu_);
    ++counters_.sampler_errors;
    return;
  }
  const MemorySnapshot memory = memory_->read();
  const int64_t now_ms = unix_now_ms();
  {
    std::lock_guard lock(mu_);
    const TickResult r = usage_.apply(snapshot, now_ms, *registry_);
    usage_.apply_memory(memory);
    if (!r.first) {
      feed_models(r);
      last_sample_unix_ms_ = now_ms;
      last_tick_wall_ms_ = now_ms;
      publish_to_peers();
    }
    ++counters_.ticks;
    counters_.last_tick_work_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  }
  maybe_save_state(false);
}

void Agent::feed_models(const TickResult& r) {
  const int64_t unix_s = r.unix_ms / 1000;
  // Calibrate before learning from this tick: was the host's own prediction for this
  // slot exceeded by what we just measured?
  // Only once a full day is folded in: before that many slots hold one period's
  // samples and their spread says nothing yet.
  if (host_model_.confidence() >= 1.0) {
    const auto profile = host_model_.day_profile();
    const auto slot = profile.slot_of(unix_s);
    if (profile.spread[slot] > 0) calibrator_.observe_residual(profile.mean[slot], profile.spread[slot], r.total_cores);
  }
  const shape::ShapeConfig shape_cfg = shape_config_from(config_);
  for (const auto& [name, cores] : r.cores_by_function) {
    auto it = models_.find(name);
    if (it == models_.end()) it = models_.emplace(name, shape::ShapeModel(shape_cfg)).first;
    it->second.add_sample(unix_s, cores, r.dt_s);
  }
  host_model_.add_sample(unix_s, r.total_cores, r.dt_s);
}

void Agent::load_state() {
  const std::string path = state_path();
  if (const size_t stale = remove_stale_temp_files(path))
    spdlog::info("removed {} temp file(s) left by an interrupted save", stale);
  std::optional<std::string> bytes;
  try {
    bytes = read_whole_file(path);
  } catch (const std::exception& e) {
    spdlog::warn("cannot read state {}: {}; starting fresh", path, e.what());
    return;
  }
  if (!bytes) {
    spdlog::info("no saved state at {}; starting fresh", path);
    return;
  }
  std::map<std::string, shape::ShapeModel> models;
  shape::ShapeModel host(shape_config_from(config_));
  std::string error;
  if (!shape::deserialize_state(*bytes, &models, &host, &error)) {
    const std::string aside = quarantine_file(path, unix_now_ms() / 1000);
    spdlog::error("saved state {} is unusable ({}); moved it to {} and starting fresh", path, error, aside);
    return;
  }
  std::lock_guard lock(mu_);
  models_ = std::move(models);
  host_model_ = std::move(host);
  spdlog::info("restored {} function shapes from {}", models_.size(), path);
}

void Agent::maybe_save_state(bool force) {
  if (!force && seconds_since(last_save_) < config_.state.save_interval_s) return;
  last_save_ = std::chrono::steady_clock::now();
  std::string bytes;
  {
    std::lock_guard lock(mu_);
    bytes = shape::serialize_state(models_, host_model_);
  }
  try {
    write_file_atomically(state_path(), bytes);
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
    policy_ = admission::AdmissionPolicy(policy_config_from(config_));
    spdlog::set_level(spdlog::level::from_str(config_.log.level));
    spdlog::info("SIGHUP: reloaded admission, log, state.save_interval and functions.rescan from {}", config_path_);
  } catch (const std::exception& e) {
    spdlog::error("SIGHUP: keeping the running config: {}", e.what());
  }
}

}  // namespace antiphase::agent

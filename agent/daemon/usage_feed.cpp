#include "agent/daemon/usage_feed.h"

#include <sys/stat.h>

#include <chrono>
#include <fstream>
#include <set>
#include <stdexcept>

#include <spdlog/spdlog.h>

#include "agent/daemon/replay_feed.h"
#include "agent/memory/meminfo.h"
#include "agent/memory/memory_reader.h"
#include "agent/registry/cgroup_fs.h"
#include "agent/registry/registry.h"
#include "agent/sampler/make_sampler.h"

namespace antiphase::agent {
namespace {

int64_t unix_now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// The kernel: cgroup registry → sampler → per-cgroup CPU time.
class KernelFeed : public UsageFeed {
 public:
  explicit KernelFeed(const config::Config& c) : rescan_s_(c.functions.rescan_s) {
    const auto mount = find_cgroup2_mount();
    if (!mount) throw std::runtime_error("no cgroup2 filesystem is mounted (looked in /proc/self/mountinfo)");
    mount_ = *mount;
    registry_ = std::make_unique<CgroupRegistry>(
        RegistryOptions{mount_, c.functions.cgroup_roots, c.functions.pattern, c.functions.depth});
    for (const auto& root : registry_->resolved_roots()) spdlog::info("watching functions under {}", root);
    sampler_ = make_sampler(sampler_options_from(c), features_, &reason_);
    spdlog::info("sampler: {} ({})", to_string(sampler_->mode()), reason_);
    sampler_->set_watched(registry_->watched());
    memory_ = std::make_unique<MemoryReader>(detect_memory_layout(mount_));
    memory_->set_functions(registry_->functions());
    spdlog::info("memory: {}", memory_->layout().reason);
    last_rescan_ = std::chrono::steady_clock::now();
  }

  bool read(double) override {
    bool rescanned = false;
    const auto now = std::chrono::steady_clock::now();
    if (std::chrono::duration<double>(now - last_rescan_).count() >= rescan_s_) {
      last_rescan_ = now;
      const bool changed = registry_->rescan();
      if (changed) sampler_->set_watched(registry_->watched());
      memory_->set_functions(registry_->functions());  // also retries unopened files, refreshes figures
      spdlog::debug("rescan: {} cgroup(s) watched{}, took {:.2f} ms", registry_->watched().size(),
                    changed ? " (changed)" : "",
                    std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - now).count());
      rescanned = true;
    }
    snapshot_ = sampler_->read();
    memory_snapshot_ = memory_->read();
    read_ms_ = unix_now_ms();
    return rescanned;
  }

  TickResult apply(UsageTracker& usage) override {
    TickResult result = usage.apply(snapshot_, read_ms_, *registry_);
    usage.apply_memory(memory_snapshot_);
    return result;
  }
  void reload(const config::Config& c) override { rescan_s_ = c.functions.rescan_s; }

  FeedView view() const override {
    FeedView v;
    v.mode = std::string(to_string(sampler_->mode()));
    v.reason = reason_;
    v.cgroup2_mount = mount_;
    v.roots = registry_->resolved_roots();
    v.missing_roots = registry_->missing_roots();
    v.watched_cgroups = registry_->watched().size();
    v.sampler_stats = sampler_->stats();
    v.sampler_read_errors = sampler_->read_errors();
    v.features = features_.report();
    v.memory_source = to_string(memory_->layout().hierarchy);
    v.memory_reason = memory_->layout().reason;
    return v;
  }

 private:
  double rescan_s_;
  std::string mount_, reason_;
  FeatureProbe features_;
  std::unique_ptr<CgroupRegistry> registry_;
  std::unique_ptr<Sampler> sampler_;
  std::unique_ptr<MemoryReader> memory_;
  std::chrono::steady_clock::time_point last_rescan_;
  UsageSnapshot snapshot_;
  MemorySnapshot memory_snapshot_;
  int64_t read_ms_ = 0;
};

// A recorded trace on an accelerated clock (sampler mode "replay").
class TraceFeed : public UsageFeed {
 public:
  explicit TraceFeed(const config::Config& c)
      : feed_(c.sampler.replay_file, c.functions.pattern, c.sampler.replay_speed), tenants_path_(c.sampler.replay_tenants) {
    spdlog::info("sampler: replay ({})", feed_.describe());
  }
  bool read(double tick_s) override {
    if (!tenants_path_.empty()) follow_tenants_file();
    step_ = feed_.advance(tick_s);
    return false;
  }
  TickResult apply(UsageTracker& usage) override { return usage.record(step_.cores, step_.unix_ms, step_.dt_s); }
  FeedView view() const override {
    FeedView v;
    v.mode = "replay";
    v.reason = feed_.describe();
    return v;
  }

 private:
  // Re-reads the tenants file when its modification time changed; a missing file
  // means no tenants (the driver has placed none yet).
  void follow_tenants_file() {
    struct stat st {};
    const bool exists = ::stat(tenants_path_.c_str(), &st) == 0;
    const int64_t mtime_ns = exists ? static_cast<int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec : -1;
    if (mtime_ns == tenants_mtime_ns_) return;
    tenants_mtime_ns_ = mtime_ns;
    std::set<std::string> names;
    std::ifstream in(tenants_path_);
    for (std::string line; std::getline(in, line);)
      if (!line.empty()) names.insert(line);
    feed_.set_running(std::move(names));
  }

  ReplayFeed feed_;
  ReplayStep step_;
  std::string tenants_path_;
  int64_t tenants_mtime_ns_ = -2;
};

}  // namespace

SamplerOptions sampler_options_from(const config::Config& c) {
  SamplerOptions options;
  if (!parse_sampler_mode(c.sampler.mode, options.mode))
    throw std::runtime_error("sampler.mode: unknown mode \"" + c.sampler.mode + "\"");
  options.perf_hz = c.sampler.perf_frequency_hz;
  options.max_cgroups = c.sampler.max_cgroups;
  return options;
}

node::Tick tick_for_core(const TickResult& r, const UsageTracker& usage, const std::optional<HostMeminfo>& meminfo) {
  node::Tick t;
  t.unix_ms = r.unix_ms;
  t.dt_s = r.dt_s;
  for (const auto& [name, cores] : r.cores_by_function) {
    const auto fn = usage.functions().find(name);
    node::FunctionTick& f = t.functions[name];
    f.cores = cores;
    if (fn == usage.functions().end()) continue;
    f.instances = std::max<uint32_t>(1, fn->second.instances);
    if (const auto& m = fn->second.memory) {
      f.memory_peak_bytes = m->peak_bytes;
      f.memory_limit_bytes = m->limit_bytes;
      f.memory_instance_peak_bytes = m->instance_peak_bytes;
    }
  }
  if (meminfo) {
    t.memory_total_bytes = meminfo->total_bytes;
    t.memory_available_bytes = meminfo->available_bytes;
  }
  return t;
}

std::unique_ptr<UsageFeed> make_usage_feed(const config::Config& config) {
  if (config.sampler.mode == "replay") return std::make_unique<TraceFeed>(config);
  return std::make_unique<KernelFeed>(config);
}

}  // namespace antiphase::agent

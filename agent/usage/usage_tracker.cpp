#include "agent/usage/usage_tracker.h"

#include <algorithm>

namespace antiphase::agent {

double FunctionUsage::mean_over(double seconds, double tick_s) const {
  const size_t n = std::min(history.size(), static_cast<size_t>(seconds / tick_s + 0.5));
  if (n == 0) return 0;
  double sum = 0;
  for (size_t i = 0; i < n; ++i) sum += history.recent(i).cores;
  return sum / static_cast<double>(n);
}

double UsageTracker::total_cores() const {
  double total = 0;
  for (const auto& [_, fn] : functions_) total += fn.last_tick_cores;
  return total;
}

void UsageTracker::sync_function_set(const CgroupRegistry& registry) {
  // Functions whose cgroups all vanished leave the live table (their learned shape
  // is kept by the model, not here).
  for (auto it = functions_.begin(); it != functions_.end();) {
    it = registry.functions().count(it->first) ? std::next(it) : functions_.erase(it);
  }
  for (const auto& [name, cg] : registry.functions()) {
    auto it = functions_.try_emplace(name, history_ticks_).first;
    it->second.name = name;
    it->second.instances = static_cast<uint32_t>(cg.instance_paths.size());
    it->second.cgroup_paths = cg.instance_paths;
  }
}

TickResult UsageTracker::apply(const UsageSnapshot& snapshot, int64_t unix_ms, const CgroupRegistry& registry) {
  sync_function_set(registry);
  TickResult result;
  result.unix_ms = unix_ms;
  result.first = !have_previous_;
  result.dt_s = have_previous_ ? static_cast<double>(snapshot.monotonic_ns - previous_ns_) * 1e-9 : 0.0;

  std::unordered_map<std::string, uint64_t> delta_ns;
  for (const auto& [id, ns] : snapshot.cpu_ns) {
    const auto prev = previous_.find(id);
    if (prev == previous_.end() || ns < prev->second) continue;
    if (const std::string* fn = registry.function_of(id)) delta_ns[*fn] += ns - prev->second;
  }
  previous_ = snapshot.cpu_ns;
  previous_ns_ = snapshot.monotonic_ns;
  have_previous_ = true;
  if (result.first || result.dt_s <= 0) return result;

  push_tick(result, [&](const std::string& name) {
    const auto it = delta_ns.find(name);
    return it == delta_ns.end() ? 0.0 : static_cast<double>(it->second) * 1e-9 / result.dt_s;
  });
  return result;
}

void UsageTracker::push_tick(TickResult& result, const std::function<double(const std::string&)>& cores_of) {
  for (auto& [name, fn] : functions_) {
    const double cores = cores_of(name);
    fn.last_tick_cores = cores;
    fn.history.push({result.unix_ms, cores});
    result.cores_by_function[name] = cores;
    result.total_cores += cores;
  }
}

void UsageTracker::apply_memory(const MemorySnapshot& snapshot) {
  const auto& measured = snapshot.functions;
  for (auto& [name, fn] : functions_) {
    const auto it = std::lower_bound(measured.begin(), measured.end(), name,
                                     [](const auto& entry, const std::string& n) { return entry.first < n; });
    if (it != measured.end() && it->first == name) fn.memory = it->second;
    else fn.memory.reset();
  }
}

TickResult UsageTracker::record(const std::map<std::string, double>& cores, int64_t unix_ms, double dt_s) {
  for (auto it = functions_.begin(); it != functions_.end();) it = cores.count(it->first) ? std::next(it) : functions_.erase(it);
  for (const auto& [name, _] : cores) {
    auto& fn = functions_.try_emplace(name, history_ticks_).first->second;
    fn.name = name;
    fn.instances = 1;
  }
  TickResult result;
  result.unix_ms = unix_ms;
  result.dt_s = dt_s;
  push_tick(result, [&](const std::string& name) { return cores.at(name); });
  return result;
}

}  // namespace antiphase::agent

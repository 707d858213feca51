#include "tests/bpf/workload.h"

#include <time.h>

#include <cmath>
#include <cstdio>

namespace antiphase::testing {
namespace {

uint64_t get(const agent::UsageSnapshot& s, uint64_t id) {
  auto it = s.cpu_ns.find(id);
  return it == s.cpu_ns.end() ? 0 : it->second;
}

}  // namespace

Workload::Workload(const std::string& mount) {
  parent = std::make_unique<ScopedCgroup>(mount, unique_cgroup_name("antiphase-test"));
  full = std::make_unique<ScopedCgroup>(parent->path(), "full");
  half = std::make_unique<ScopedCgroup>(parent->path(), "half");
  full_burner = std::make_unique<Burner>(*full, BurnPattern::Full);
  half_burner = std::make_unique<Burner>(*half, BurnPattern::DutyCycled);
}

std::vector<agent::WatchedCgroup> Workload::watched() const {
  return {{parent->id(), parent->path(), false},
          {full->id(), full->path(), true},
          {half->id(), half->path(), true}};
}

WindowResult measure_window(agent::Sampler& sampler, const Workload& w, int window_ms) {
  sampler.set_watched(w.watched());
  sleep_for_ms(300);  // let every CPU switch at least once with the program attached

  const auto s0 = sampler.read();
  const uint64_t p0 = w.parent->usage_ns(), f0 = w.full->usage_ns(), h0 = w.half->usage_ns();
  sleep_for_ms(window_ms);
  const auto s1 = sampler.read();
  const uint64_t p1 = w.parent->usage_ns(), f1 = w.full->usage_ns(), h1 = w.half->usage_ns();

  WindowResult r;
  r.sampler_parent = get(s1, w.parent->id()) - get(s0, w.parent->id());
  r.sampler_full = get(s1, w.full->id()) - get(s0, w.full->id());
  r.sampler_half = get(s1, w.half->id()) - get(s0, w.half->id());
  r.stat_parent = p1 - p0;
  r.stat_full = f1 - f0;
  r.stat_half = h1 - h0;
  r.seconds = static_cast<double>(s1.monotonic_ns - s0.monotonic_ns) / 1e9;
  return r;
}

double relative_error(uint64_t measured, uint64_t reference) {
  if (reference == 0) return measured == 0 ? 0.0 : INFINITY;
  return std::fabs(static_cast<double>(measured) - static_cast<double>(reference)) / static_cast<double>(reference);
}

void print_window(const char* label, const WindowResult& r) {
  std::printf("[%s] window %.2f s\n", label, r.seconds);
  std::printf("  full:   sampler %.4f s  cpu.stat %.4f s  (%.2f cores)  error %.3f %%\n", r.sampler_full / 1e9,
              r.stat_full / 1e9, r.stat_full / 1e9 / r.seconds, 100 * relative_error(r.sampler_full, r.stat_full));
  std::printf("  half:   sampler %.4f s  cpu.stat %.4f s  (%.2f cores)  error %.3f %%\n", r.sampler_half / 1e9,
              r.stat_half / 1e9, r.stat_half / 1e9 / r.seconds, 100 * relative_error(r.sampler_half, r.stat_half));
  std::printf("  parent: sampler(own tasks) %.4f s  cpu.stat(hierarchical) %.4f s\n", r.sampler_parent / 1e9,
              r.stat_parent / 1e9);
}

}  // namespace antiphase::testing

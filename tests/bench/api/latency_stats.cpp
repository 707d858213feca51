#include "tests/bench/api/latency_stats.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <numeric>

namespace antiphase::bench {
namespace {

double percentile_us(const std::vector<uint64_t>& sorted, double p) {
  const size_t rank = static_cast<size_t>(std::ceil(p * static_cast<double>(sorted.size())));
  return static_cast<double>(sorted[std::clamp<size_t>(rank, 1, sorted.size()) - 1]) / 1000.0;
}

}  // namespace

LatencySummary summarize(std::vector<uint64_t>& samples_ns) {
  LatencySummary s;
  if (samples_ns.empty()) return s;
  std::sort(samples_ns.begin(), samples_ns.end());
  s.count = samples_ns.size();
  s.mean_us = std::accumulate(samples_ns.begin(), samples_ns.end(), 0.0) / static_cast<double>(s.count) / 1000.0;
  s.p50_us = percentile_us(samples_ns, 0.50);
  s.p90_us = percentile_us(samples_ns, 0.90);
  s.p99_us = percentile_us(samples_ns, 0.99);
  s.p999_us = percentile_us(samples_ns, 0.999);
  s.max_us = static_cast<double>(samples_ns.back()) / 1000.0;
  return s;
}

std::string to_text(const LatencySummary& s) {
  char buf[256];
  std::snprintf(buf, sizeof(buf), "n=%zu mean=%.1fus p50=%.1fus p90=%.1fus p99=%.1fus p99.9=%.1fus max=%.1fus",
                s.count, s.mean_us, s.p50_us, s.p90_us, s.p99_us, s.p999_us, s.max_us);
  return buf;
}

std::string to_json(const LatencySummary& s) {
  char buf[256];
  std::snprintf(buf, sizeof(buf),
                "{\"count\":%zu,\"mean_us\":%.1f,\"p50_us\":%.1f,\"p90_us\":%.1f,\"p99_us\":%.1f,"
                "\"p999_us\":%.1f,\"max_us\":%.1f}",
                s.count, s.mean_us, s.p50_us, s.p90_us, s.p99_us, s.p999_us, s.max_us);
  return buf;
}

}  // namespace antiphase::bench

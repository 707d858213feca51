#include "agent/replay/placement.h"

#include <algorithm>
#include <numeric>
#include <random>

namespace antiphase::replay {

std::vector<size_t> placement_order(size_t n, uint64_t seed) {
  std::vector<size_t> order(n);
  std::iota(order.begin(), order.end(), 0);
  std::mt19937_64 rng(seed);
  // Fisher-Yates by hand: std::shuffle's output differs across standard libraries.
  for (size_t i = n; i > 1; --i) std::swap(order[i - 1], order[rng() % i]);
  return order;
}

Placement place(const PackingPolicy& policy, const std::vector<size_t>& order, Fit fit) {
  Placement out;
  std::vector<std::unique_ptr<HostModel>> models;
  for (size_t fn : order) {
    size_t chosen = models.size();
    double best_headroom = INFINITY;
    for (size_t h = 0; h < models.size(); ++h) {
      const std::optional<double> left = models[h]->headroom_if_added(fn);
      if (!left) continue;
      if (fit == Fit::First) {
        chosen = h;
        break;
      }
      if (*left < best_headroom) {
        best_headroom = *left;
        chosen = h;
      }
    }
    if (chosen == models.size()) {
      models.push_back(policy.new_host());
      out.hosts.emplace_back();
      if (!models.back()->headroom_if_added(fn)) ++out.forced;
    }
    models[chosen]->add(fn);
    out.hosts[chosen].push_back(fn);
  }
  return out;
}

Outcome evaluate(const Placement& placement, const Workload& w, double capacity) {
  Outcome o;
  o.hosts = placement.hosts.size();
  o.forced = placement.forced;
  const size_t steps = w.eval_steps();
  std::vector<double> load(steps);
  std::vector<double> largest(steps);
  double total = 0.0;
  for (const std::vector<size_t>& tenants : placement.hosts) {
    std::fill(load.begin(), load.end(), 0.0);
    std::fill(largest.begin(), largest.end(), 0.0);
    for (size_t fn : tenants)
      for (size_t i = 0; i < steps; ++i) {
        load[i] += w.eval[fn][i];
        largest[i] = std::max<double>(largest[i], w.eval[fn][i]);
      }
    for (size_t i = 0; i < steps; ++i) {
      total += load[i];
      if (load[i] > capacity) {
        ++o.overloaded_host_steps;
        o.overload_core_steps += load[i] - capacity;
        if (largest[i] > capacity) ++o.unavoidable_overloaded_host_steps;
      }
    }
  }
  const double host_steps = static_cast<double>(o.hosts * steps);
  if (host_steps > 0) {
    o.overload_rate = static_cast<double>(o.overloaded_host_steps) / host_steps;
    o.utilisation = total / (host_steps * capacity);
  }
  return o;
}

}  // namespace antiphase::replay

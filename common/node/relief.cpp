#include "common/node/relief.h"

#include <cstdio>
#include <string>

namespace antiphase::node {

std::optional<Relief> choose_relief(const std::vector<TenantUsage>& tenants, double capacity_cores, double over_s) {
  double total = 0;
  for (const TenantUsage& t : tenants) total += t.cores;
  const double excess = total - capacity_cores;
  if (!(excess > 0) || tenants.size() < 2) return std::nullopt;
  const TenantUsage* enough = nullptr;   // the smallest that alone removes the excess
  const TenantUsage* largest = nullptr;
  for (const TenantUsage& t : tenants) {
    if (t.cores >= excess && (!enough || t.cores < enough->cores || (t.cores == enough->cores && t.function < enough->function)))
      enough = &t;
    if (!largest || t.cores > largest->cores || (t.cores == largest->cores && t.function < largest->function))
      largest = &t;
  }
  const TenantUsage& pick = enough ? *enough : *largest;
  if (!(pick.cores > 0)) return std::nullopt;
  Relief r{pick.function, pick.cores, total, capacity_cores, over_s, {}};
  char head[96], cores[32];
  std::snprintf(head, sizeof head, "measured %.2f cores on a %.2f-core host for %.0f s: moving ", total, capacity_cores,
                over_s);
  std::snprintf(cores, sizeof cores, " (%.2f cores now) ", pick.cores);
  // The name is appended, not formatted: a long one must not cut the sentence short.
  r.explanation = std::string(head) + pick.function + cores +
                  (enough ? "brings it back under with the least work moved"
                          : "moves the most work; no single tenant brings it back under");
  return r;
}

}  // namespace antiphase::node

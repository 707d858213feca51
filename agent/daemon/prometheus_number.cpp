#include "agent/daemon/prometheus_number.h"

#include <cmath>

#include <fmt/format.h>

namespace antiphase::agent {

std::string prometheus_number(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  return fmt::format("{}", v);  // shortest round-trip representation
}

}  // namespace antiphase::agent

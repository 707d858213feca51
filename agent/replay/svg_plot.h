#pragma once
// Two small self-contained SVG charts for --plot-dir (no plotting dependency needed).
#include <string>
#include <vector>

#include "agent/replay/knob_protocol.h"

namespace antiphase::replay {

// Hosts used (x) vs overloaded host-step rate (y) on the test window, one line per
// policy across its knob, the chosen knob circled, the target rate dashed.
std::string tradeoff_svg(const std::vector<PolicyReport>& reports, double target_overload_rate);

// One host's tenants stacked over the eval window, with the capacity line.
std::string host_load_svg(const Workload& w, const std::vector<size_t>& tenants, double capacity,
                          const std::string& title);

}  // namespace antiphase::replay

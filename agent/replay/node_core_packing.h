#pragma once
// The shipped rule in the replay: one node::NodeCore per simulated host, fed exactly
// what a daemon would have — see node_core_packing.cpp.
#include <memory>

#include "agent/replay/packing_policy.h"
#include "common/node/node_config.h"

namespace antiphase::replay {

// `config`: the daemon's node config (from an antiphased config file or the defaults);
// its capacity is replaced by `capacity` and its target overload rate (calibrator and
// policy) by `target_overload_rate`, the knob the protocol chooses.
std::unique_ptr<PackingPolicy> make_node_core_packing(const Workload& w, const node::NodeConfig& config,
                                                      double capacity, double target_overload_rate);

}  // namespace antiphase::replay

#pragma once
// The one mapping from the agent's config file (config::Config) to the node core's
// domain structs. The daemon, the replay and the tests all call these, so a setting
// cannot mean one thing in antiphased and another in antiphase-replay.
#include "common/config/config.h"
#include "common/node/node_config.h"

namespace antiphase::node {

shape::ShapeConfig shape_config_from(const config::Config& c);
admission::PolicyConfig policy_config_from(const config::Config& c);
admission::CalibratorConfig calibrator_config_from(const config::Config& c);
CoMovementConfig comovement_config_from(const config::Config& c);
MemoryConfig memory_config_from(const config::Config& c);
// admission.capacity_cores, or the online CPUs minus admission.reserve_cores (≥ 0.1).
double capacity_cores_from(const config::Config& c, long online_cpus);
NodeConfig node_config_from(const config::Config& c, long online_cpus);

}  // namespace antiphase::node

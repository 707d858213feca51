#pragma once
// antiphase-replay --fleet: a fleet with churn, as a scheduler would run it. Functions
// arrive at their first sample and leave after their last; optionally each instance is
// recycled (re-placed) after a lifetime, as serverless sandboxes are. On arrival a
// function nobody has measured is sized by a declared size; its shape is then learned
// on its host and gossiped. Every policy runs in the same harness on the same events:
//   antiphase    one node::NodeCore per host with gossip through the real protocol core
//                (common/gossip) in memory: the scheduler asks a random host's place(),
//                then admit() on the chosen host;
//   baselines    scheduler-side rules (peak-sum, pXX-sum, slot-pXX-sum) on each
//                function's usage observed so far, and recent-peak on its peak over
//                the last HOURS only (a moving-window limit);
//   oracle       sees each function's whole future: a bound, not a policy;
//   oracle-peaks sees how high each instance will go before it leaves, not when:
//                packing by peaks with perfect foresight, a second bound.
// Hosts are opened when nothing accepts and retired when their last tenant leaves.
// Deterministic for a seed. Days before --warmup-days are reported apart.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "agent/trace/trace_reader.h"
#include "common/gossip/protocol_config.h"
#include "common/node/node_config.h"
#include "common/node/publisher.h"

namespace antiphase::replay {

struct FleetPolicySpec {
  std::string name;  // antiphase | peak-sum | pXX-sum | slot-pXX-sum | recent-peak | oracle | oracle-peaks
  double knob = 0;   // percentile for pXX-sum and slot-pXX-sum; hours for recent-peak
};

struct FleetOptions {
  double capacity = 16.0;
  uint64_t seed = 1;
  bool best_fit = false;            // default first-fit: the oldest host that accepts
  double declared_cores = 1.0;      // the stand-in for an unmeasured function's declared size
  double instance_lifetime_s = 0;   // 0: an instance lives from its first to its last sample
  // Move a tenant off a host measured above capacity for node.relief_after_s (the node
  // core's relief rule, node/relief.h), for every policy alike: a platform that acts on
  // what the shipped agent names (admission.relief_after, on by default). Off
  // (--no-relieve): a placement stands until the instance leaves.
  bool relieve = true;
  double gossip_speed = 0;          // trace seconds per gossip-clock second; 0: one round per step
  double gossip_interval_s = 1.0;   // gossip-clock seconds between rounds
  int warmup_days = 7;
  std::optional<double> days;       // only the first `days` of the trace
  std::vector<FleetPolicySpec> policies;
  node::NodeConfig node;            // what every antiphase host runs (capacity replaced)
  node::PublisherConfig publisher;
  gossip::ProtocolConfig gossip;
};

struct FleetResult {
  nlohmann::json json;
  std::string text;
};

// Throws std::runtime_error on unusable options or an empty trace.
FleetResult run_fleet(const Trace& trace, int64_t step_s, const FleetOptions& options);

// Every fleet policy, as --fleet-policies spells them (for help and errors).
inline constexpr const char* kFleetPolicyList =
    "antiphase, peak-sum, pXX-sum[:PCT], slot-pXX-sum[:PCT], recent-peak[:HOURS], oracle, oracle-peaks";

// "antiphase,peak-sum,pXX-sum:95,slot-pXX-sum:95,oracle" → specs; nullopt on a bad name.
std::optional<std::vector<FleetPolicySpec>> parse_fleet_policies(const std::string& list);

}  // namespace antiphase::replay

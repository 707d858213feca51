#pragma once
// The whole replay: read a trace, cut the windows, run every requested policy through
// the honest knob protocol, and report (text and JSON), optionally with SVG plots.
#include <array>
#include <cstdint>
#include <iosfwd>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "agent/replay/knob_protocol.h"
#include "common/config/config.h"
#include "common/gossip/protocol_config.h"
#include "common/node/node_config.h"

namespace antiphase::replay {

struct ReplayOptions {
  std::string trace_path;
  double capacity = 8.0;
  std::optional<int64_t> train_start, train_end, test_start, test_end;
  std::optional<double> train_days, test_days;  // from the first day of the trace
  std::optional<double> val_days;                // length of each held-out validation block
  // Rolling-origin folds inside the training window, as many as leave a day to learn
  // from, up to this. Two by default: one validation week's weather should not size a
  // month (a calm fold alone chose knobs that overloaded the test week).
  size_t val_folds = 2;
  std::optional<int64_t> val_fit_start, val_fit_end;  // or: an earlier window to fit on, judged on the training window
  // or: explicit (fit start, fit end, judge start, judge end) folds, all before the test window
  std::vector<std::array<int64_t, 4>> val_pairs;
  double target_overload_rate = 0.001;
  std::vector<PolicyKind> policies = all_policies();
  Fit fit = Fit::First;
  uint64_t seed = 1;
  size_t validation_orders = 3;
  bool val_worst_run = true;  // every validation (fold, order) run must meet the target; false: pooled
  double min_coverage = 0.8;
  uint32_t slots_per_day = 96;
  int64_t step_s = 0;  // 0: detect from the trace
  std::string plot_dir;
  double drift = 0.0;
  std::optional<uint32_t> spread_neighbours;  // antiphase: override PolicyConfig::spread_neighbours
  ProfileSource profiles = ProfileSource::ShapeModel;
  std::optional<double> fixed_knob;  // what-if: every knobbed policy uses this knob, no validation
  // antiphase: an antiphased config file whose rules the replayed hosts follow (empty:
  // the defaults); --capacity replaces its capacity, the protocol its target rate.
  std::string config_path;
  // --fleet: the fleet replay with churn instead of the train/test protocol (fleet.h).
  bool fleet = false;
  std::string fleet_policies = "antiphase,peak-sum,pXX-sum:95,pXX-sum:99,slot-pXX-sum:95,slot-pXX-sum:99,recent-peak:48,recent-peak:72,oracle,oracle-peaks";
  double declared_cores = 1.0;
  double instance_lifetime_s = 0;
  bool relieve = true;  // --no-relieve turns it off (fleet.h FleetOptions::relieve)
  double gossip_speed = 0;
  int warmup_days = 7;
  std::optional<double> fleet_days;
};

// The node config the replay's antiphase hosts run: the one mapping the daemon uses
// (node::node_config_from), from the given config file or the defaults.
node::NodeConfig replay_node_config(const ReplayOptions& options);
// The gossip protocol the fleet's simulated agents run: the config file's [gossip] keys
// through antiphased's own mapping (agent/gossip/gossip_config.h).
gossip::ProtocolConfig fleet_gossip_config(const config::Config& c);

struct ReplayResult {
  nlohmann::json json;
  std::string text;  // human-readable table
};

// Throws std::runtime_error (or TraceError) with a clear message on bad options or input.
ReplayResult run_replay(const ReplayOptions& options);

}  // namespace antiphase::replay

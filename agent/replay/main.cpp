// antiphase-replay: replays a CPU trace through the admission policy and baselines
// over simulated hosts and reports how many hosts each needs and how often they overload.
#include <CLI/CLI.hpp>

#include <array>
#include <cmath>
#include <iostream>

#include "agent/replay/fleet.h"
#include "agent/replay/replay_app.h"
#include "agent/replay/time_arg.h"
#include "common/config/config.h"

namespace {

using antiphase::replay::parse_time_arg;

std::optional<int64_t> time_option(const std::string& name, const std::string& value) {
  if (value.empty()) return std::nullopt;
  const std::optional<int64_t> t = parse_time_arg(value);
  if (!t) throw CLI::ValidationError(name, "'" + value + "' is not YYYY-MM-DD[THH:MM[:SS]] (UTC) or unix seconds");
  return t;
}

}  // namespace

int main(int argc, char** argv) {
  using namespace antiphase::replay;
  CLI::App app{"antiphase-replay: measure admission decision quality on a CPU trace (timestamp,function,cpu)"};
  app.set_version_flag("-V,--version", "antiphase-replay " ANTIPHASE_VERSION);
  ReplayOptions o;
  std::string train_start, train_end, test_start, test_end, val_fit_start, val_fit_end, fit = "first";
  std::vector<std::string> policies;
  double train_days = 0, test_days = 0, val_days = 0;
  bool json = false;
  app.add_option("trace", o.trace_path, "trace CSV, plain or gzip; '-' for stdin")->required();
  app.add_option("--capacity", o.capacity, "cores per simulated host")->capture_default_str();
  app.add_option("--train-start", train_start, "training window start (UTC date/time or unix s)");
  app.add_option("--train-end", train_end, "training window end (exclusive)");
  app.add_option("--test-start", test_start, "test window start");
  app.add_option("--test-end", test_end, "test window end (exclusive)");
  app.add_option("--train-days", train_days, "training days from the first midnight of the trace");
  app.add_option("--test-days", test_days, "test days right after the training window");
  app.add_option("--val-days", val_days, "held-out validation tail of the training window (default: a third, >= 1 day)");
  std::vector<std::string> val_pairs;
  app.add_option("--val-folds", o.val_folds, "rolling-origin validation folds inside the training window (as many as leave a day to learn from, up to this)")->capture_default_str();
  app.add_option("--val-pair", val_pairs, "explicit validation fold FIT_START,FIT_END,JUDGE_START,JUDGE_END (repeatable)");
  app.add_option("--val-fit-start", val_fit_start, "for short training windows: earlier window to fit on in validation");
  app.add_option("--val-fit-end", val_fit_end, "end of that earlier window");
  app.add_option("--target-overload", o.target_overload_rate, "target overloaded host-step rate")->capture_default_str();
  app.add_option("--policy", policies, "policies to run (antiphase, peak-sum, pXX-sum, slot-pXX-sum, mean-sum, oracle, antiphase-measured-rho, x-train-quantile); default the first six")
      ->delimiter(',');
  app.add_option("--fit", fit, "first|best")->check(CLI::IsMember({"first", "best"}))->capture_default_str();
  app.add_option("--seed", o.seed, "placement-order seed")->capture_default_str();
  app.add_option("--validation-orders", o.validation_orders, "placement orders pooled per knob in validation")
      ->capture_default_str();
  app.add_option("--spread-neighbours", o.spread_neighbours,
                 "antiphase: pool per-slot spreads over +-k neighbouring slots (default: the daemon's)");
  std::string criterion = "worst-run";
  app.add_option("--val-criterion", criterion,
                 "worst-run: a knob must meet the target on every validation fold and order; pooled: over all of them")
      ->check(CLI::IsMember({"worst-run", "pooled"}))
      ->capture_default_str();
  app.add_option("--min-coverage", o.min_coverage, "minimum fraction of real samples per window")->capture_default_str();
  app.add_option("--slots", o.slots_per_day, "day-fold slots")->capture_default_str();
  app.add_option("--step", o.step_s, "grid step in seconds (default: detected)");
  app.add_option("--drift", o.drift, "antiphase: relative day-to-day drift of tenants' slot means")->capture_default_str();
  double knob = NAN;
  app.add_option("--knob", knob, "what-if: use this knob for every knobbed policy (no validation; not an honest result)");
  std::string profiles = "shape-model";
  app.add_option("--profiles", profiles, "antiphase profiles from the shared shape model or direct per-slot statistics")
      ->check(CLI::IsMember({"shape-model", "direct"}))
      ->capture_default_str();
  app.add_option("--config", o.config_path,
                 "antiphase: an antiphased config file whose admission rules the hosts follow (default: built-in)");
  app.add_flag("--fleet", o.fleet,
               "fleet replay with churn: functions arrive at their first sample, are placed online, leave after their last");
  app.add_option("--fleet-policies", o.fleet_policies, std::string("fleet: policies (") + kFleetPolicyList + ")")
      ->capture_default_str();
  app.add_option("--declared-cores", o.declared_cores, "fleet: size of a function nobody has measured yet")->capture_default_str();
  std::string lifetime;
  app.add_option("--instance-lifetime", lifetime,
                 "fleet: re-place each instance after this long (e.g. 1d; default: never, it stays until its last sample)");
  bool no_relieve = false;
  app.add_flag("--no-relieve", no_relieve,
               "fleet: never move a tenant (default: a host measured above capacity for admission.relief_after has "
               "the tenant it names moved, for every policy alike)");
  app.add_option("--gossip-speed", o.gossip_speed,
                 "fleet: trace seconds per gossip-clock second (default: one gossip round per trace step)");
  app.add_option("--warmup-days", o.warmup_days, "fleet: first days reported apart")->capture_default_str();
  double fleet_days = 0;
  app.add_option("--fleet-days", fleet_days, "fleet: replay only the first N days of the trace");
  app.add_flag("--json", json, "print the full report as JSON");
  app.add_option("--plot-dir", o.plot_dir, "write tradeoff.svg and host-<policy>.svg here");
  try {
    app.parse(argc, argv);
    o.train_start = time_option("--train-start", train_start);
    o.train_end = time_option("--train-end", train_end);
    o.test_start = time_option("--test-start", test_start);
    o.test_end = time_option("--test-end", test_end);
    o.val_fit_start = time_option("--val-fit-start", val_fit_start);
    o.val_fit_end = time_option("--val-fit-end", val_fit_end);
    for (const std::string& pair : val_pairs) {
      std::array<int64_t, 4> t{};
      size_t start = 0;
      for (size_t i = 0; i < 4; ++i) {
        const size_t comma = pair.find(',', start);
        if ((i < 3) != (comma != std::string::npos))
          throw CLI::ValidationError("--val-pair", "'" + pair + "' is not FIT_START,FIT_END,JUDGE_START,JUDGE_END");
        const std::optional<int64_t> v =
            time_option("--val-pair", pair.substr(start, comma == std::string::npos ? comma : comma - start));
        if (!v) throw CLI::ValidationError("--val-pair", "'" + pair + "' has an empty time");
        t[i] = *v;
        start = comma + 1;
      }
      o.val_pairs.push_back(t);
    }
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;  // usage errors exit 2; --help and --version 0
  }
  if (train_days > 0) o.train_days = train_days;
  if (test_days > 0) o.test_days = test_days;
  if (val_days > 0) o.val_days = val_days;
  if (std::isfinite(knob)) o.fixed_knob = knob;
  if (fleet_days > 0) o.fleet_days = fleet_days;
  o.relieve = !no_relieve;
  if (!lifetime.empty()) {
    const auto seconds = antiphase::config::parse_duration_s(lifetime);
    if (!seconds) {
      std::cerr << "antiphase-replay: --instance-lifetime: '" << lifetime << "' is not a duration such as 12h or 1d\n";
      return 2;
    }
    o.instance_lifetime_s = *seconds;
  }
  o.fit = fit == "best" ? Fit::Best : Fit::First;
  o.profiles = profiles == "direct" ? ProfileSource::Direct : ProfileSource::ShapeModel;
  o.val_worst_run = criterion == "worst-run";
  if (!policies.empty()) {
    o.policies.clear();
    for (const std::string& p : policies) {
      const std::optional<PolicyKind> k = parse_policy(p);
      if (!k) {
        std::cerr << "antiphase-replay: unknown policy '" << p << "'\n";
        return 2;
      }
      o.policies.push_back(*k);
    }
  }
  try {
    const ReplayResult r = run_replay(o);
    if (json)
      std::cout << r.json.dump(2) << "\n";
    else
      std::cout << r.text;
  } catch (const std::exception& e) {
    std::cerr << "antiphase-replay: " << e.what() << "\n";
    return 1;
  }
  return 0;
}

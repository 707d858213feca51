// antiphase-replay: replays a CPU trace through the admission policy and baselines
// over simulated hosts and reports how many hosts each needs and how often they overload.
#include <CLI/CLI.hpp>

#include <iostream>

#include "agent/replay/replay_app.h"
#include "agent/replay/time_arg.h"

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
  app.add_option("--val-fit-start", val_fit_start, "for short training windows: earlier window to fit on in validation");
  app.add_option("--val-fit-end", val_fit_end, "end of that earlier window");
  app.add_option("--target-overload", o.target_overload_rate, "target overloaded host-step rate")->capture_default_str();
  app.add_option("--policy", policies, "policies to run (antiphase, peak-sum, pXX-sum, slot-pXX-sum, mean-sum, oracle); default all")
      ->delimiter(',');
  app.add_option("--fit", fit, "first|best")->check(CLI::IsMember({"first", "best"}))->capture_default_str();
  app.add_option("--seed", o.seed, "placement-order seed")->capture_default_str();
  app.add_option("--validation-orders", o.validation_orders, "placement orders pooled per knob in validation")
      ->capture_default_str();
  app.add_option("--min-coverage", o.min_coverage, "minimum fraction of real samples per window")->capture_default_str();
  app.add_option("--slots", o.slots_per_day, "day-fold slots")->capture_default_str();
  app.add_option("--step", o.step_s, "grid step in seconds (default: detected)");
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
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  if (train_days > 0) o.train_days = train_days;
  if (test_days > 0) o.test_days = test_days;
  if (val_days > 0) o.val_days = val_days;
  o.fit = fit == "best" ? Fit::Best : Fit::First;
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

#include "agent/replay/replay_app.h"

#include <chrono>
#include <cmath>
#include <cstdio>
#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include "agent/gossip/gossip_config.h"
#include "agent/replay/fleet.h"
#include "agent/replay/svg_plot.h"
#include "agent/replay/time_arg.h"
#include "common/admission/decision.h"
#include "common/config/config.h"
#include "common/node/from_config.h"

namespace antiphase::replay {
namespace {

struct Fold {
  Window fit, judge;
};

struct Windows {
  Window train, test;
  std::vector<Fold> folds;
};

int64_t days(double d) { return static_cast<int64_t>(std::llround(d * 86400)); }

Windows choose_windows(const ReplayOptions& o, const Trace& trace) {
  Windows w;
  if (o.train_start && o.train_end && o.test_start && o.test_end) {
    w.train = {*o.train_start, *o.train_end};
    w.test = {*o.test_start, *o.test_end};
  } else if (o.train_days && o.test_days) {
    if (trace.rows.empty()) throw std::runtime_error("the trace has no rows");
    int64_t first = trace.rows.front().timestamp;
    for (const TraceRow& r : trace.rows) first = std::min(first, r.timestamp);
    const int64_t day0 = first - ((first % 86400) + 86400) % 86400;  // midnight UTC: day folds align
    w.train = {day0, day0 + days(*o.train_days)};
    w.test = {w.train.end, w.train.end + days(*o.test_days)};
  } else {
    throw std::runtime_error("give either --train-start/--train-end/--test-start/--test-end or --train-days/--test-days");
  }
  if (w.train.seconds() <= 0 || w.test.seconds() <= 0) throw std::runtime_error("train and test windows must be non-empty");
  if (w.test.start < w.train.end) throw std::runtime_error("the test window must start after the training window ends");
  if (!o.val_pairs.empty() || (o.val_fit_start && o.val_fit_end)) {
    // Short training windows: fit on earlier data, judge on later data, never the test.
    for (const auto& p : o.val_pairs) w.folds.push_back({{p[0], p[1]}, {p[2], p[3]}});
    if (o.val_fit_start && o.val_fit_end) w.folds.push_back({{*o.val_fit_start, *o.val_fit_end}, w.train});
    for (const Fold& f : w.folds)
      if (f.fit.seconds() <= 0 || f.judge.seconds() <= 0 || f.fit.end > f.judge.start || f.judge.end > w.train.end)
        throw std::runtime_error(
            "each validation fold needs a non-empty fit window that ends before its judged window, and must end "
            "by the end of the training window");
    return w;
  }
  // Rolling origin: fold k judges the k-th block of val_days from the end of the
  // training window, fitting on everything before it.
  const double train_days = static_cast<double>(w.train.seconds()) / 86400.0;
  const double held_out = o.val_days ? *o.val_days : std::max(1.0, std::round(train_days / 3.0));
  for (size_t k = 0; k < std::max<size_t>(1, o.val_folds); ++k) {
    const Window judge{w.train.end - days(held_out * static_cast<double>(k + 1)), w.train.end - days(held_out * static_cast<double>(k))};
    const Window fit{w.train.start, judge.start};
    if (fit.seconds() < 86400) break;  // a day fold needs at least a day to learn from
    w.folds.push_back({fit, judge});
  }
  if (w.folds.empty())
    throw std::runtime_error(
        "the training window is too short for a validation split that leaves a full day to fit on; give "
        "--val-days, or earlier data with --val-fit-start/--val-fit-end or --val-pair");
  return w;
}

std::string window_text(const Window& w) { return format_utc(w.start) + " .. " + format_utc(w.end); }

nlohmann::json outcome_json(const Outcome& o) {
  return {{"hosts", o.hosts},
          {"overload_rate", o.overload_rate},
          {"overloaded_host_steps", o.overloaded_host_steps},
          {"unavoidable_overloaded_host_steps", o.unavoidable_overloaded_host_steps},
          {"overload_core_steps", o.overload_core_steps},
          {"utilisation", o.utilisation},
          {"forced", o.forced}};
}

nlohmann::json knob_json(const KnobResult& k) {
  nlohmann::json e = {{"knob", k.knob}};
  if (k.validation) e["validation"] = outcome_json(*k.validation);
  if (k.worst_validation_rate) e["worst_validation_overload_rate"] = *k.worst_validation_rate;
  if (k.test) e["test"] = outcome_json(*k.test);
  return e;
}

nlohmann::json report_json(const PolicyReport& r) {
  nlohmann::json sweep = nlohmann::json::array();
  for (const KnobResult& k : r.sweep) sweep.push_back(knob_json(k));
  nlohmann::json j = {{"policy", to_string(r.kind)},
                      {"path", decision_path(r.kind)},
                      {"knob_name", knob_name(r.kind)},
                      {"chosen_knob", r.chosen_knob},
                      {"met_target_in_validation", r.met_target_in_validation},
                      {"test", outcome_json(r.test)},
                      {"sweep", sweep}};
  // The chosen knob's sweep entry again, so readers need not search the sweep for it.
  if (const KnobResult* chosen = r.chosen()) j["chosen"] = knob_json(*chosen);
  return j;
}

void write_file(const std::filesystem::path& p, const std::string& text) {
  std::ofstream f(p);
  f << text;
  if (!f) throw std::runtime_error("cannot write " + p.string());
}

void write_plots(const ReplayOptions& o, const std::vector<PolicyReport>& reports, const Workload& final_run) {
  std::filesystem::create_directories(o.plot_dir);
  const std::filesystem::path dir(o.plot_dir);
  write_file(dir / "tradeoff.svg", tradeoff_svg(reports, o.target_overload_rate));
  for (const PolicyReport& r : reports) {
    if (r.test_placement.hosts.empty()) continue;
    // The busiest host is the interesting one to look at.
    size_t busiest = 0;
    for (size_t h = 1; h < r.test_placement.hosts.size(); ++h)
      if (r.test_placement.hosts[h].size() > r.test_placement.hosts[busiest].size()) busiest = h;
    write_file(dir / ("host-" + to_string(r.kind) + ".svg"),
               host_load_svg(final_run, r.test_placement.hosts[busiest], o.capacity,
                             to_string(r.kind) + ": host " + std::to_string(busiest) + " on the test window"));
  }
}

// --config, or the built-in defaults: the hosts follow the rules a daemon with that file would.
config::Config replay_config(const ReplayOptions& o) {
  if (o.config_path.empty()) return {};
  std::ifstream in(o.config_path);
  if (!in) throw std::runtime_error(o.config_path + ": cannot open config file");
  std::stringstream text;
  text << in.rdbuf();
  return config::parse(text.str(), o.config_path);
}

}  // namespace

node::NodeConfig replay_node_config(const ReplayOptions& o) {
  node::NodeConfig n = node::node_config_from(replay_config(o), 1);
  n.capacity_cores = o.capacity;
  return n;
}

gossip::ProtocolConfig fleet_gossip_config(const config::Config& c) {
  return agent::gossip::protocol_config_of(agent::gossip_config_from(c));
}

namespace {

ReplayResult run_fleet_replay(const ReplayOptions& o) {
  const config::Config c = replay_config(o);
  FleetOptions f;
  f.capacity = o.capacity;
  f.seed = o.seed;
  f.best_fit = o.fit == Fit::Best;
  f.declared_cores = o.declared_cores;
  f.instance_lifetime_s = o.instance_lifetime_s;
  f.relieve = o.relieve;
  f.gossip_speed = o.gossip_speed;
  f.gossip_interval_s = c.gossip.interval_s;
  f.warmup_days = o.warmup_days;
  f.days = o.fleet_days;
  const auto policies = parse_fleet_policies(o.fleet_policies);
  if (!policies)
    throw std::runtime_error("--fleet-policies: \"" + o.fleet_policies +
                             "\" is not a list of " + kFleetPolicyList);
  f.policies = *policies;
  f.node = replay_node_config(o);
  f.publisher.threshold = c.gossip.republish_threshold;
  f.publisher.min_interval_s = c.gossip.republish_min_interval_s;
  f.gossip = fleet_gossip_config(c);
  const Trace trace = read_trace(o.trace_path);
  const int64_t step = o.step_s > 0 ? o.step_s : detect_step(trace);
  if (step <= 0) throw std::runtime_error("cannot detect the sampling step; give --step");
  FleetResult r = run_fleet(trace, step, f);
  r.json["trace"] = {{"path", o.trace_path}, {"rows", trace.rows.size()}, {"functions", trace.functions.size()}, {"step_s", step}};
  return {std::move(r.json), std::move(r.text)};
}

}  // namespace

namespace {

void check_static_options(const ReplayOptions& o) {
  if (!(o.capacity > 0)) throw std::runtime_error("--capacity must be positive");
  if (!(o.target_overload_rate > 0 && o.target_overload_rate < 1)) throw std::runtime_error("--target-overload must be in (0, 1)");
  if (o.slots_per_day == 0 || 86400 % o.slots_per_day) throw std::runtime_error("--slots must divide 86400");
}

// With explicit windows only the rows from the earliest fit window to the test's end are read.
ReadOptions rows_needed(const ReplayOptions& o) {
  ReadOptions r;
  if (o.train_start && o.test_end) {
    r.from = std::min(*o.train_start, o.val_fit_start.value_or(*o.train_start));
    for (const auto& p : o.val_pairs) r.from = std::min(r.from, std::min(p[0], p[2]));
    r.to = *o.test_end;
  }
  return r;
}

// What the static protocol places: the final run (train → test) and one workload per
// validation fold, each with the functions covered in both of its windows.
struct StaticWorkloads {
  Windows win;
  int64_t step = 0;
  std::vector<uint32_t> selected;  // functions of the final run
  Workload final_run;
  std::vector<Workload> validation;
  nlohmann::json folds_json = nlohmann::json::array();
};

// Why nothing can be placed, with what to change: the windows asked for, the span the
// trace covers (windows given in days start at the UTC midnight before its first sample),
// and the options that move either.
std::string no_coverage_text(const ReplayOptions& o, const Trace& trace, const Window& fit, const Window& judge,
                             const std::string& fit_name, const std::string& judge_name) {
  int64_t first = INT64_MAX, last = INT64_MIN;
  for (const TraceRow& r : trace.rows) first = std::min(first, r.timestamp), last = std::max(last, r.timestamp);
  char coverage[32];
  std::snprintf(coverage, sizeof coverage, "%g", o.min_coverage);
  return "no function has real samples in at least " + std::string(coverage) + " of the steps of both " + fit_name +
         " (" + window_text(fit) + ") and " + judge_name + " (" + window_text(judge) + "); the trace runs " +
         (trace.rows.empty() ? std::string("nowhere") : format_utc(first) + " .. " + format_utc(last)) +
         " (windows given in days start at the UTC midnight before its first sample): give windows inside it "
         "(--train-start/--train-end/--test-start/--test-end, --val-pair) or a lower --min-coverage";
}

StaticWorkloads static_workloads(const ReplayOptions& o, const Trace& trace) {
  StaticWorkloads w;
  w.win = choose_windows(o, trace);
  w.step = o.step_s > 0 ? o.step_s : detect_step(trace, w.win.test.start);
  if (w.step <= 0)
    throw std::runtime_error("cannot detect the sampling step (no series with two samples before the test window); give --step");
  const SeriesMatrix train = align(trace, w.win.train, w.step), test = align(trace, w.win.test, w.step);
  w.selected = covered_in_both(train, test, o.min_coverage);
  if (w.selected.empty())
    throw std::runtime_error(no_coverage_text(o, trace, w.win.train, w.win.test, "the training window", "the test window"));
  w.final_run = make_workload(trace, train, test, w.selected, o.slots_per_day, o.profiles);
  for (const Fold& f : w.win.folds) {
    const SeriesMatrix fit = align(trace, f.fit, w.step), judge = align(trace, f.judge, w.step);
    // The fold's own coverage decides which functions it uses: which functions still
    // report in the test window is test-window knowledge.
    const std::vector<uint32_t> chosen = covered_in_both(fit, judge, o.min_coverage);
    if (chosen.empty())
      throw std::runtime_error(no_coverage_text(o, trace, f.fit, f.judge, "a validation fold's fit window", "its judged window"));
    w.validation.push_back(make_workload(trace, fit, judge, chosen, o.slots_per_day, o.profiles));
    w.folds_json.push_back({{"fit", window_text(f.fit)}, {"judge", window_text(f.judge)}, {"functions", chosen.size()}});
  }
  return w;
}

ProtocolOptions protocol_options(const ReplayOptions& o) {
  ProtocolOptions po;
  po.capacity = o.capacity;
  po.target_overload_rate = o.target_overload_rate;
  po.fit = o.fit;
  po.seed = o.seed;
  po.validation_orders = o.validation_orders;
  po.worst_run = o.val_worst_run;
  po.sweep_test = !o.plot_dir.empty();
  po.drift = o.drift;
  po.spread_neighbours = o.spread_neighbours;
  po.fixed_knob = o.fixed_knob;
  po.node = replay_node_config(o);
  return po;
}

struct Timing {
  double read_s = 0, total_s = 0;
};

nlohmann::json static_json(const ReplayOptions& o, const Trace& trace, const StaticWorkloads& w,
                           const std::vector<PolicyReport>& reports, Timing time) {
  nlohmann::json j;
  j["trace"] = {{"path", o.trace_path}, {"rows", trace.rows.size()}, {"functions", trace.functions.size()},
                {"step_s", w.step}};
  j["windows"] = {{"train", window_text(w.win.train)}, {"test", window_text(w.win.test)}, {"validation_folds", w.folds_json}};
  j["functions_placed"] = w.selected.size();
  j["capacity_cores"] = o.capacity;
  j["target_overload_rate"] = o.target_overload_rate;
  j["fit"] = o.fit == Fit::First ? "first" : "best";
  j["spread_neighbours"] = o.spread_neighbours ? *o.spread_neighbours : admission::PolicyConfig{}.spread_neighbours;
  j["validation_criterion"] = o.val_worst_run ? "worst-run" : "pooled";
  j["profiles"] = o.profiles == ProfileSource::ShapeModel ? "shape-model" : "direct";
  j["seed"] = o.seed;
  j["timing"] = {{"read_s", time.read_s}, {"total_s", time.total_s},
                 {"lines_per_s_read", time.read_s > 0 ? trace.lines / time.read_s : 0.0},
                 {"lines_per_s_total", time.total_s > 0 ? trace.lines / time.total_s : 0.0}};
  if (o.fixed_knob) j["fixed_knob"] = *o.fixed_knob;
  j["policies"] = nlohmann::json::array();
  for (const PolicyReport& r : reports) j["policies"].push_back(report_json(r));
  return j;
}

std::string knob_text(const PolicyReport& r) {
  if (knob_name(r.kind) == "none") return "-";
  char value[16];
  std::snprintf(value, sizeof value, "%g", r.chosen_knob);
  return knob_name(r.kind).substr(0, 4) + "=" + value;
}

std::string static_text(const ReplayOptions& o, const Trace& trace, const StaticWorkloads& w,
                        const std::vector<PolicyReport>& reports, Timing time) {
  std::ostringstream t;
  t << "trace " << o.trace_path << ": " << trace.rows.size() << " rows, step " << w.step << " s\n"
    << "train " << window_text(w.win.train) << ", test " << window_text(w.win.test) << "\n"
    << w.selected.size() << " functions placed on " << o.capacity << "-core hosts, target overload "
    << o.target_overload_rate * 100 << " %, " << (o.fit == Fit::First ? "first" : "best") << "-fit, seed " << o.seed
    << "\n\n";
  char line[256];
  std::snprintf(line, sizeof line, "%-14s %-12s %8s %12s %7s %11s %13s %8s\n", "policy", "knob", "val-over%",
                "met-target", "hosts", "overload%", "over-core-st", "util%");
  for (const auto& f : w.folds_json)
    t << "validation fold: fit " << f["fit"].get<std::string>() << ", judge " << f["judge"].get<std::string>() << " ("
      << f["functions"].get<size_t>() << " functions)\n";
  t << "\n" << line;
  for (const PolicyReport& r : reports) {
    const KnobResult* chosen = r.chosen();
    std::snprintf(line, sizeof line, "%-14s %-12s %8.3f %12s %7zu %11.3f %13.2f %8.1f\n", to_string(r.kind).c_str(),
                  knob_text(r).c_str(), chosen && chosen->validation ? chosen->validation->overload_rate * 100 : 0.0,
                  r.met_target_in_validation ? "yes" : "NO", r.test.hosts, r.test.overload_rate * 100,
                  r.test.overload_core_steps, r.test.utilisation * 100);
    t << line;
  }
  std::snprintf(line, sizeof line, "\nread %.2f s (%.2f M lines/s), total %.2f s\n", time.read_s,
                time.read_s > 0 ? trace.lines / time.read_s / 1e6 : 0.0, time.total_s);
  t << line;
  return t.str();
}

}  // namespace

ReplayResult run_replay(const ReplayOptions& o) {
  if (o.fleet) return run_fleet_replay(o);
  check_static_options(o);
  using Clock = std::chrono::steady_clock;
  const auto t0 = Clock::now();
  const Trace trace = read_trace(o.trace_path, rows_needed(o));
  const auto t_read = Clock::now();
  const StaticWorkloads w = static_workloads(o, trace);
  const ProtocolOptions po = protocol_options(o);
  std::vector<PolicyReport> reports;
  for (PolicyKind k : o.policies) reports.push_back(run_protocol(k, w.validation, w.final_run, po));
  const Timing time{std::chrono::duration<double>(t_read - t0).count(),
                    std::chrono::duration<double>(Clock::now() - t0).count()};
  ReplayResult result{static_json(o, trace, w, reports, time), static_text(o, trace, w, reports, time)};
  if (!o.plot_dir.empty()) write_plots(o, reports, w.final_run);
  return result;
}

}  // namespace antiphase::replay

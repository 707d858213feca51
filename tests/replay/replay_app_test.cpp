#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <random>

#include "agent/replay/replay_app.h"

namespace antiphase::replay {
namespace {

// How the generated fleet's last (test) day is sampled.
enum class TestDay { AsTraining, SparseForSome };

// Four days of a small generated fleet: day-shift and night-shift tenants with noise.
// SparseForSome: on day 4 (the test day) fn0..fn7 lose every other sample (below the
// 80 % coverage floor), and ten more days follow sampled every 600 s (enough gaps to
// move a whole-trace median step) — the values of the first four days are unchanged.
std::filesystem::path write_fleet(const std::filesystem::path& dir, TestDay test_day = TestDay::AsTraining) {
  std::filesystem::create_directories(dir);
  const auto path = dir / (test_day == TestDay::AsTraining ? "fleet.csv" : "fleet-sparse-test.csv");
  std::ofstream out(path);
  out << "timestamp,function,cpu\n";
  std::mt19937_64 rng(11);
  std::normal_distribution<double> noise(0.0, 0.1);
  const int64_t day0 = 1700006400;  // a UTC midnight
  const int64_t end = day0 + (test_day == TestDay::AsTraining ? 4 : 14) * 86400;
  for (int64_t t = day0; t < end; t += 300) {
    const double phase = static_cast<double>((t - day0) % 86400) / 86400.0;
    for (int f = 0; f < 24; ++f) {
      const bool day_shift = f % 2 == 0;
      const bool busy = day_shift ? (phase >= 0.25 && phase < 0.75) : (phase < 0.25 || phase >= 0.75);
      const double cpu = std::max(0.0, (busy ? 1.5 : 0.3) + noise(rng));
      const int64_t step = (t - day0) / 300, test_day_end = 4 * 288;
      const bool dropped = test_day == TestDay::SparseForSome && step >= 3 * 288 &&
                           (step < test_day_end ? f < 8 && step % 2 == 1 : step % 2 == 1);
      if (!dropped) out << t << ",fn" << f << "," << cpu << "\n";
    }
  }
  return path;
}

// Three days to learn (one-day validation blocks), one to judge, 8-core hosts, one
// placement order per knob: the generated fleet's run, kept small.
ReplayOptions small_fleet_run(const std::filesystem::path& trace) {
  ReplayOptions o;
  o.trace_path = trace.string();
  o.capacity = 8.0;
  o.train_days = 3;
  o.test_days = 1;
  o.val_days = 1;
  o.validation_orders = 1;
  return o;
}

TEST(ReplayApp, EndToEndOnGeneratedFleet) {
  const auto dir = std::filesystem::temp_directory_path() / "antiphase-replay-app-test";
  ReplayOptions o = small_fleet_run(write_fleet(dir));
  o.plot_dir = (dir / "plots").string();
  const ReplayResult r = run_replay(o);
  const nlohmann::json& j = r.json;
  EXPECT_EQ(j["functions_placed"], 24);
  EXPECT_EQ(j["trace"]["step_s"], 300);
  EXPECT_EQ(j["validation_criterion"], "worst-run");  // the documented protocol is the default
  std::map<std::string, nlohmann::json> by_name;
  for (const auto& p : j["policies"]) by_name[p["policy"]] = p;
  ASSERT_EQ(by_name.size(), all_policies().size());
  const auto hosts = [&](const std::string& n) { return by_name[n]["test"]["hosts"].get<size_t>(); };
  // Total mean load 24 × 0.9 = 21.6 cores; pairs of opposite shifts sum to ~1.8 all day.
  EXPECT_LE(hosts("oracle"), hosts("peak-sum"));
  EXPECT_LE(hosts("antiphase"), hosts("peak-sum"));
  EXPECT_LE(hosts("antiphase"), hosts("oracle") + 1);
  // One test day on ~4 hosts is ~1150 host-steps: allow a handful of overloaded steps.
  EXPECT_LE(by_name["antiphase"]["test"]["overload_rate"].get<double>(), 0.005);
  EXPECT_EQ(by_name["antiphase"]["chosen"]["knob"], by_name["antiphase"]["chosen_knob"]);
  EXPECT_LE(by_name["antiphase"]["chosen"]["worst_validation_overload_rate"].get<double>(), 0.001);  // met in validation
  EXPECT_TRUE(std::filesystem::exists(dir / "plots" / "tradeoff.svg"));
  EXPECT_TRUE(std::filesystem::exists(dir / "plots" / "host-antiphase.svg"));
  EXPECT_NE(r.text.find("antiphase"), std::string::npos);
  std::filesystem::remove_all(dir);
}

// The knob choice may only depend on data before the test window: neither the sampling
// step of the test day nor which functions still report on it may change the grid,
// the validation folds or the chosen knobs.
TEST(ReplayApp, ValidationDoesNotDependOnTestWindowSamplingOrCoverage) {
  const auto dir = std::filesystem::temp_directory_path() / "antiphase-replay-app-test3";
  ReplayOptions o = small_fleet_run(write_fleet(dir));
  const nlohmann::json full = run_replay(o).json;
  o.trace_path = write_fleet(dir, TestDay::SparseForSome).string();
  const nlohmann::json sparse = run_replay(o).json;
  EXPECT_EQ(sparse["trace"]["step_s"], 300);           // learned before the test day
  EXPECT_EQ(sparse["functions_placed"], 16);           // fn0..fn7 lack test coverage
  EXPECT_EQ(full["functions_placed"], 24);
  EXPECT_EQ(sparse["windows"]["validation_folds"], full["windows"]["validation_folds"]);  // 24 functions each
  EXPECT_EQ(full["windows"]["validation_folds"][0]["functions"], 24);
  ASSERT_EQ(sparse["policies"].size(), full["policies"].size());
  for (size_t i = 0; i < full["policies"].size(); ++i)
    EXPECT_EQ(sparse["policies"][i]["chosen_knob"], full["policies"][i]["chosen_knob"])
        << full["policies"][i]["policy"];
  o.step_s = 300;  // the fold set on its own, with the step given
  EXPECT_EQ(run_replay(o).json["windows"]["validation_folds"], full["windows"]["validation_folds"]);
  std::filesystem::remove_all(dir);
}

// By default two rolling-origin folds judge the last two held-out blocks of the training
// window (on Bitbrains 2013-07 with 21 → 7 days: the documented regime-change and calm
// weeks), so a lone calm block cannot size the test window; --val-folds 1 keeps one.
TEST(ReplayApp, DefaultValidationJudgesTwoRollingOriginFolds) {
  const auto dir = std::filesystem::temp_directory_path() / "antiphase-replay-app-test4";
  ReplayOptions o = small_fleet_run(write_fleet(dir));
  o.policies = {PolicyKind::PeakSum};
  const nlohmann::json two = run_replay(o).json["windows"]["validation_folds"];
  ASSERT_EQ(two.size(), 2u);
  EXPECT_EQ(two[0]["fit"], "2023-11-15 00:00 UTC .. 2023-11-17 00:00 UTC");
  EXPECT_EQ(two[0]["judge"], "2023-11-17 00:00 UTC .. 2023-11-18 00:00 UTC");
  EXPECT_EQ(two[1]["fit"], "2023-11-15 00:00 UTC .. 2023-11-16 00:00 UTC");
  EXPECT_EQ(two[1]["judge"], "2023-11-16 00:00 UTC .. 2023-11-17 00:00 UTC");
  o.val_folds = 1;
  const nlohmann::json one = run_replay(o).json["windows"]["validation_folds"];
  ASSERT_EQ(one.size(), 1u);
  EXPECT_EQ(one[0], two[0]);
  o.val_folds = 5;  // only as many as leave a day to learn from
  EXPECT_EQ(run_replay(o).json["windows"]["validation_folds"], two);
  std::filesystem::remove_all(dir);
}

TEST(ReplayApp, BadOptionsAreClearErrors) {
  const auto dir = std::filesystem::temp_directory_path() / "antiphase-replay-app-test2";
  ReplayOptions o;
  o.trace_path = write_fleet(dir).string();
  o.train_days = 1;  // nothing left to fit a validation fold on
  o.test_days = 1;
  try {
    run_replay(o);
    FAIL();
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("too short for a validation split"), std::string::npos) << e.what();
  }
  // A test window past the trace's end: the error says where the trace is and what to change.
  o.train_days = 4;
  o.test_days = 1;
  try {
    run_replay(o);
    FAIL();
  } catch (const std::runtime_error& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("the test window (2023-11-19 00:00 UTC .. 2023-11-20 00:00 UTC)"), std::string::npos) << what;
    EXPECT_NE(what.find("the trace runs 2023-11-15 00:00 UTC .. 2023-11-18 23:55 UTC"), std::string::npos) << what;
    EXPECT_NE(what.find("--min-coverage"), std::string::npos) << what;
  }
  o.train_days.reset();
  EXPECT_THROW(run_replay(o), std::runtime_error);  // no windows at all
  o.train_days = 3;
  o.capacity = -1;
  EXPECT_THROW(run_replay(o), std::runtime_error);
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace antiphase::replay

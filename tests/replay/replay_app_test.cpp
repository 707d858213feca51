#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <random>

#include "agent/replay/replay_app.h"

namespace antiphase::replay {
namespace {

// Four days of a small generated fleet: day-shift and night-shift tenants with noise.
std::filesystem::path write_fleet(const std::filesystem::path& dir) {
  std::filesystem::create_directories(dir);
  const auto path = dir / "fleet.csv";
  std::ofstream out(path);
  out << "timestamp,function,cpu\n";
  std::mt19937_64 rng(11);
  std::normal_distribution<double> noise(0.0, 0.1);
  const int64_t day0 = 1700006400;  // a UTC midnight
  for (int64_t t = day0; t < day0 + 4 * 86400; t += 300) {
    const double phase = static_cast<double>((t - day0) % 86400) / 86400.0;
    for (int f = 0; f < 24; ++f) {
      const bool day_shift = f % 2 == 0;
      const bool busy = day_shift ? (phase >= 0.25 && phase < 0.75) : (phase < 0.25 || phase >= 0.75);
      const double cpu = std::max(0.0, (busy ? 1.5 : 0.3) + noise(rng));
      out << t << ",fn" << f << "," << cpu << "\n";
    }
  }
  return path;
}

TEST(ReplayApp, EndToEndOnGeneratedFleet) {
  const auto dir = std::filesystem::temp_directory_path() / "antiphase-replay-app-test";
  ReplayOptions o;
  o.trace_path = write_fleet(dir).string();
  o.capacity = 8.0;
  o.train_days = 3;
  o.test_days = 1;
  o.val_days = 1;
  o.validation_orders = 1;
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
  EXPECT_TRUE(std::filesystem::exists(dir / "plots" / "tradeoff.svg"));
  EXPECT_TRUE(std::filesystem::exists(dir / "plots" / "host-antiphase.svg"));
  EXPECT_NE(r.text.find("antiphase"), std::string::npos);
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
  o.train_days.reset();
  EXPECT_THROW(run_replay(o), std::runtime_error);  // no windows at all
  o.train_days = 3;
  o.capacity = -1;
  EXPECT_THROW(run_replay(o), std::runtime_error);
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace antiphase::replay

// Issue 18: the replay judged PolicyConfig{} (100 % of capacity) while the daemon ran at
// the config file's 90 %. Both now build their node config with node::node_config_from;
// these tests fail if either grows its own mapping or a default drifts.
#include <gtest/gtest.h>

#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>

#include "agent/replay/replay_app.h"
#include "common/config/config.h"
#include "common/node/from_config.h"

namespace antiphase::replay {
namespace {

void expect_same_rules(const node::NodeConfig& a, const node::NodeConfig& b) {
  EXPECT_EQ(a.policy.target_utilisation, b.policy.target_utilisation);
  EXPECT_EQ(a.policy.target_overload_rate, b.policy.target_overload_rate);
  EXPECT_EQ(a.policy.max_telemetry_age_s, b.policy.max_telemetry_age_s);
  EXPECT_EQ(a.policy.min_confidence, b.policy.min_confidence);
  EXPECT_EQ(a.policy.unknown, b.policy.unknown);
  EXPECT_EQ(a.policy.rule, b.policy.rule);
  EXPECT_EQ(a.policy.max_admitted_mean_cores, b.policy.max_admitted_mean_cores);
  EXPECT_EQ(a.policy.accept_when_peaks_fit, b.policy.accept_when_peaks_fit);
  EXPECT_EQ(a.policy.lump_share, b.policy.lump_share);
  EXPECT_EQ(a.newcomers.quantile, b.newcomers.quantile);
  EXPECT_EQ(a.relief_after_s, b.relief_after_s);
  EXPECT_EQ(a.calibrator.target_overload_rate, b.calibrator.target_overload_rate);
  EXPECT_EQ(a.calibrator.prior_exceedances, b.calibrator.prior_exceedances);
  EXPECT_EQ(a.comovement.mode, b.comovement.mode);
  EXPECT_EQ(a.comovement.prior, b.comovement.prior);
  EXPECT_EQ(a.shape.day.slots, b.shape.day.slots);
  EXPECT_EQ(a.shape.k, b.shape.k);
  EXPECT_EQ(a.shape.half_life_periods, b.shape.half_life_periods);
  EXPECT_EQ(a.shape.full_confidence_s, b.shape.full_confidence_s);
  EXPECT_EQ(a.shape.highest_window_s, b.shape.highest_window_s);
  EXPECT_EQ(a.shape.highest_window_after_relief, b.shape.highest_window_after_relief);
}

TEST(ConfigMapping, ReplayAndDaemonBuildTheSameRulesFromOneFile) {
  const std::string text = R"(
[shape]
day_slots = 48
k = 24
highest_window = "4d"
highest_window_after_relief = false
[admission]
target_utilisation = 0.85
target_overload_rate = 0.002
stale_after = "45s"
min_confidence = 0.25
unknown_function = "reject"
comovement = "host"
comovement_prior = 0.3
rule = "slot_quantile"
tail_prior_exceedances = 9
accept_when_peaks_fit = false
lump_share = 0.4
newcomer_quantile = 0.75
relief_after = "10m"
)";
  const auto path = std::filesystem::temp_directory_path() / ("antiphase-mapping-" + std::to_string(::getpid()) + ".toml");
  std::ofstream(path) << text;
  ReplayOptions o;
  o.config_path = path.string();
  o.capacity = 16;
  const node::NodeConfig replay = replay_node_config(o);
  const node::NodeConfig daemon = node::node_config_from(config::parse(text, "test"), 8);  // what antiphased builds
  std::filesystem::remove(path);
  expect_same_rules(replay, daemon);
  EXPECT_EQ(replay.policy.target_utilisation, 0.85) << "the file's value, not a default";
  EXPECT_EQ(replay.shape.day.slots, 48u);
  EXPECT_EQ(replay.shape.highest_window_s, 4 * 86400.0);
  EXPECT_FALSE(replay.shape.highest_window_after_relief);
  EXPECT_EQ(replay.policy.lump_share, 0.4);
  EXPECT_EQ(replay.newcomers.quantile, 0.75);
  EXPECT_EQ(replay.relief_after_s, 600.0);
  EXPECT_EQ(replay.capacity_cores, 16.0) << "--capacity wins in the replay";
}

TEST(ConfigMapping, TheDefaultsAreTheSameEverywhere) {
  // The config file's defaults, mapped, equal the domain structs' own defaults.
  const node::NodeConfig mapped = node::node_config_from(config::Config{}, 8);
  node::NodeConfig plain;
  expect_same_rules(mapped, plain);
  EXPECT_EQ(mapped.policy.target_utilisation, 1.0);
  // And the commented default file says the same.
  expect_same_rules(node::node_config_from(config::parse(config::default_config_toml(), "antiphase.toml"), 8), plain);
}

}  // namespace
}  // namespace antiphase::replay

// The fleet replay on a constructed fleet whose right answer is known: half the
// functions are busy by day, half by night. Packed by their peaks, three fit a host;
// paired day with night, a host holds more without ever being overloaded. The
// shipped path (node cores + gossip) must find the pairing online, from declared sizes,
// and the run must be reproducible for a seed.
#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <utility>
#include <vector>

#include "agent/replay/fleet.h"
#include "common/node/node_config.h"

namespace antiphase::replay {
namespace {

constexpr int64_t kStep = 300;
constexpr int64_t kStart = 1'700'000'000 - 1'700'000'000 % 86400;  // a UTC midnight
constexpr int kDays = 10;

// 8 day-time and 8 night-time functions: 2.0 cores in their half of the day, 0.2 in the
// other, with a little deterministic noise.
Trace day_and_night_fleet() {
  Trace t;
  for (int i = 0; i < 16; ++i) t.functions.push_back((i < 8 ? "day-" : "night-") + std::to_string(i));
  for (int64_t ts = kStart; ts < kStart + kDays * 86400; ts += kStep) {
    const int hour = static_cast<int>((ts % 86400) / 3600);
    const bool daytime = hour >= 8 && hour < 20;
    for (uint32_t f = 0; f < 16; ++f) {
      const bool busy = (f < 8) == daytime;
      const double noise = 0.05 * std::sin(0.37 * static_cast<double>(ts / kStep) + f);
      t.rows.push_back({ts, f, static_cast<float>((busy ? 2.0 : 0.2) + noise)});
    }
  }
  return t;
}

FleetOptions options() {
  FleetOptions o;
  o.capacity = 8;
  o.declared_cores = 1;
  o.instance_lifetime_s = 86400;  // recycled daily, so instances are re-placed with learned shapes
  o.warmup_days = 4;
  // Best fit: a scheduler that fills the fullest host that accepts. Under first fit a
  // host retires only when its last tenant leaves, so which hosts stay open follows the
  // path of the first days more than the rule: over seeds 1-6 antiphase needs 4.0-4.6
  // hosts under first fit (mean 4.2), 4.0-4.35 under best fit (mean 4.1), peak-sum 6.0
  // (since the scheduler asks hosts judged full, session 31; before, 4.3-4.8 and
  // 4.1-4.9; before hosts learned departures at once, 5.3-5.9 and 5.2-5.6).
  o.best_fit = true;
  o.policies = *parse_fleet_policies("antiphase,peak-sum,oracle");
  o.node.memory.guard.mode = admission::CommittedMemoryMode::Off;
  return o;
}

const nlohmann::json& policy(const nlohmann::json& result, const std::string& name) {
  for (const auto& p : result["policies"])
    if (p["policy"] == name) return p;
  throw std::runtime_error("no policy " + name);
}

TEST(Fleet, DayAndNightTenantsShareHostsWithoutOverload) {
  const FleetResult r = run_fleet(day_and_night_fleet(), kStep, options());
  const auto& antiphase = policy(r.json, "antiphase");
  const auto& peak_sum = policy(r.json, "peak-sum");
  const auto& oracle = policy(r.json, "oracle");
  std::printf("%s", r.text.c_str());
  // Peaks (≈ 2.05 cores) fit three to an 8-core host: 16 functions on 6 hosts. Day+night
  // pairs (≈ 2.25 cores flat) fit three to a host: the oracle's 3 hosts.
  EXPECT_NEAR(peak_sum["hosts_mean"].get<double>(), 6.0, 0.5) << r.text;
  EXPECT_NEAR(oracle["hosts_mean"].get<double>(), 3.0, 0.5) << r.text;
  // Seed 1 gives 4.0 hosts against peak-sum's 6.0 (first fit: 4.5) since the scheduler
  // asks the hosts the entry judged full (session 31); before, 4.9 (first fit 4.6);
  // before hosts learned departures at once, 5.4 (first fit 5.9; it was first fit, at
  // 5.5, until the replay's publisher ran on trace time: 2026-11-28). (Before hosts kept
  // what gossip knew of a function that moved, it was 4.7-5.5: hosts then counted
  // tenants below what they had measured.) Fewer hosts than peak-sum needs pairing,
  // which peaks never allow; 1.25 under fails if the scheduler stops asking the hosts
  // judged full (checked).
  EXPECT_LT(antiphase["hosts_mean"].get<double>(), peak_sum["hosts_mean"].get<double>() - 1.25) << r.text;
  EXPECT_LE(antiphase["overload_rate"].get<double>(), 0.001) << r.text;
  EXPECT_LE(oracle["hosts_mean"].get<double>(), antiphase["hosts_mean"].get<double>() + 1e-9) << r.text;
  EXPECT_GT(antiphase["decisions"]["requests"].get<uint64_t>(), 16u * kDays / 2) << r.text;
  EXPECT_EQ(antiphase["path"].get<std::string>().rfind("node-core", 0), 0u);
}

// The second bound knows how high each instance will go before it leaves, not when: on
// the day-and-night fleet it packs like peak-sum (three 2.05-core peaks to a host, 6
// hosts) while the oracle pairs day with night (3): here all of the oracle's lead is
// timing, the part a shape model can learn.
TEST(Fleet, KnowingHowHighButNotWhenPacksByPeaks) {
  FleetOptions o = options();
  o.policies = *parse_fleet_policies("oracle,oracle-peaks");
  const FleetResult r = run_fleet(day_and_night_fleet(), kStep, o);
  const auto& peaks = policy(r.json, "oracle-peaks");
  EXPECT_NEAR(peaks["hosts_mean"].get<double>(), 6.0, 0.5) << r.text;
  EXPECT_NEAR(policy(r.json, "oracle")["hosts_mean"].get<double>(), 3.0, 0.5) << r.text;
  EXPECT_EQ(peaks["overloaded_host_steps"].get<uint64_t>() + peaks["warmup"]["overloaded_host_steps"].get<uint64_t>(), 0u)
      << r.text;
  EXPECT_EQ(peaks["path"].get<std::string>().rfind("replay-only bound", 0), 0u);
}

// Four steady 1.5-core functions and one that ran at `burst` cores for an hour on the
// first day, then at 1.5 like the others (7.5 cores in all).
Trace one_old_burst(float burst, int days) {
  Trace t;
  for (int i = 0; i < 5; ++i) t.functions.push_back("f-" + std::to_string(i));
  for (int64_t ts = kStart; ts < kStart + days * 86400; ts += kStep) {
    const bool bursting = ts >= kStart + 10 * 3600 && ts < kStart + 11 * 3600;
    for (uint32_t f = 0; f < 5; ++f) t.rows.push_back({ts, f, f == 4 && bursting ? burst : 1.5f});
  }
  return t;
}

// A moving-window peak forgets a burst older than its window (a 6-core one here).
// Packed by peaks the burst keeps it off the others' host for good (2 hosts); with a
// 24-hour window it joins them from the third day on (7.5 cores on one 8-core host).
TEST(Fleet, ARecentPeakForgetsABurstOlderThanItsWindow) {
  const Trace t = one_old_burst(6.0f, 6);
  FleetOptions o = options();
  o.warmup_days = 3;
  o.policies = *parse_fleet_policies("peak-sum,recent-peak:24");
  const FleetResult r = run_fleet(t, kStep, o);
  EXPECT_NEAR(policy(r.json, "peak-sum")["hosts_mean"].get<double>(), 2.0, 0.05) << r.text;
  EXPECT_NEAR(policy(r.json, "recent-peak:24")["hosts_mean"].get<double>(), 1.0, 0.05) << r.text;
  EXPECT_EQ(policy(r.json, "recent-peak:24")["overloaded_host_steps"].get<uint64_t>(), 0u) << r.text;
  EXPECT_FALSE(parse_fleet_policies("recent-peak:0")) << "a window must be positive";
  EXPECT_FALSE(parse_fleet_policies("recent-peak:inf")) << "and finite";
}

// shape.highest_window on the shipped path: the same steady fleet with a 2.5-core burst.
// Kept for good, it keeps the function off the others' host to the end (2 hosts); with
// a 48-hour window it joins them once the burst is older, although its instances move
// daily -- each host that takes it dates the burst where it was seen, from its gossiped
// summary (dated at each move instead, it would never be forgotten: 2 hosts, checked).
// By default the window waits until relief was acted upon: without moves, for good.
TEST(Fleet, AWindowedHighestForgetsABurstThoughItsInstancesMoveDaily) {
  const Trace t = one_old_burst(2.5f, 12);
  FleetOptions o = options();
  o.warmup_days = 3;
  o.policies = *parse_fleet_policies("antiphase");
  o.node.shape.highest_window_s = 0;  // for good
  const FleetResult forever = run_fleet(t, kStep, o);
  o.node.shape.highest_window_s = 48 * 3600;
  o.node.shape.highest_window_after_relief = false;  // from the start
  const FleetResult windowed = run_fleet(t, kStep, o);
  EXPECT_NEAR(policy(forever.json, "antiphase")["hosts_mean"].get<double>(), 2.0, 0.05) << forever.text;
  EXPECT_LT(policy(windowed.json, "antiphase")["hosts_mean"].get<double>(), 1.3) << windowed.text;
  EXPECT_EQ(policy(windowed.json, "antiphase")["overloaded_host_steps"].get<uint64_t>(), 0u) << windowed.text;
  // The default waits for relief acted upon: a platform that never moves tenants keeps
  // the burst for good; one that does (the fleet's, here) forgets it as above.
  o.node.shape.highest_window_after_relief = true;
  o.relieve = false;
  const FleetResult never_moved = run_fleet(t, kStep, o);
  EXPECT_NEAR(policy(never_moved.json, "antiphase")["hosts_mean"].get<double>(), 2.0, 0.05) << never_moved.text;
  o.relieve = true;
  const FleetResult moved = run_fleet(t, kStep, o);
  EXPECT_GE(policy(moved.json, "antiphase")["decisions"]["moved"].get<uint64_t>(), 1u) << moved.text;
  EXPECT_LT(policy(moved.json, "antiphase")["hosts_mean"].get<double>(), 1.3) << moved.text;
  EXPECT_EQ(policy(moved.json, "antiphase")["overloaded_host_steps"].get<uint64_t>(), 0u) << moved.text;
}

// The oracle is a bound only if it never overloads. It packs to the last bit, so loads
// that floats cannot hold exactly (0.1, 0.3, 0.7 cores) add up to "just over" a limit
// they exactly fill unless its running sums are kept in double (they were float until
// 2026-11-28: 304 overloaded host-steps on PlanetLab's first 10 days).
TEST(Fleet, TheOracleNeverOverloadsEvenPackedToTheLastBit) {
  Trace t;
  const float levels[] = {0.1f, 0.3f, 0.7f, 1.1f, 1.3f};
  for (int i = 0; i < 60; ++i) t.functions.push_back("f-" + std::to_string(i));
  for (int64_t ts = kStart; ts < kStart + 4 * 86400; ts += kStep)
    for (uint32_t f = 0; f < 60; ++f)
      t.rows.push_back({ts, f, levels[(f + static_cast<uint32_t>(ts / kStep)) % 5]});
  FleetOptions o = options();
  o.capacity = 4;
  o.instance_lifetime_s = 3600;  // many joins and leaves: many adds and subtractions
  o.warmup_days = 1;
  o.policies = *parse_fleet_policies("oracle");
  const FleetResult r = run_fleet(t, kStep, o);
  const auto& oracle = policy(r.json, "oracle");
  EXPECT_EQ(oracle["overloaded_host_steps"].get<uint64_t>(), 0u) << r.text;
  EXPECT_EQ(oracle["warmup"]["overloaded_host_steps"].get<uint64_t>(), 0u) << r.text;
  EXPECT_GT(oracle["hosts_mean"].get<double>(), 10.0) << "60 functions of 0.7 cores on average need 10.5 hosts";
}

// A function larger than a host overloads whichever host holds it: the harness counts
// those host-steps apart, so a trace with such functions reads as the host size's
// limit, not as every rule's mistake.
TEST(Fleet, AFunctionLargerThanAHostIsReportedAsUnavoidableOverload) {
  Trace t;
  t.functions = {"giant", "small"};
  size_t giant_over = 0;
  for (int64_t ts = kStart; ts < kStart + 3 * 86400; ts += kStep) {
    const bool busy = (ts / kStep) % 4 == 0;  // a quarter of the steps at 6 cores, on a 4-core host
    giant_over += busy && ts >= kStart + 86400;
    t.rows.push_back({ts, 0, busy ? 6.0f : 0.5f});
    t.rows.push_back({ts, 1, 0.5f});
  }
  FleetOptions o = options();
  o.capacity = 4;
  o.warmup_days = 1;
  o.policies = *parse_fleet_policies("oracle,peak-sum");
  const FleetResult r = run_fleet(t, kStep, o);
  for (const char* name : {"oracle", "peak-sum"}) {
    const auto& p = policy(r.json, name);
    EXPECT_EQ(p["unavoidable_overloaded_host_steps"].get<uint64_t>(), giant_over) << name << "\n" << r.text;
    EXPECT_EQ(p["overloaded_host_steps"].get<uint64_t>(), giant_over) << name << "\n" << r.text;
  }
  // The table says so too, naming the largest.
  EXPECT_NE(r.text.find("note: 1 function(s) alone use more than a host's 4 cores (largest: giant at 6 cores)"),
            std::string::npos) << r.text;
  t.rows.erase(std::remove_if(t.rows.begin(), t.rows.end(), [](const TraceRow& row) { return row.function == 0; }),
               t.rows.end());
  EXPECT_EQ(run_fleet(t, kStep, o).text.find("note:"), std::string::npos) << "no giant, no note";
}

// Eight functions that idle at 0.5 cores for two days and then run at 3 for the rest,
// all arriving at once and never recycled: packed on their idle days, four share an
// 8-core host and overload it (12 cores) from day 3 on, for good. With relief each
// host moves one tenant per step until it is back under (7-8 moves, 7 overloaded
// host-steps in all), and the run then needs no more hosts than the oracle's (it packs
// two per host by their future peaks).
Trace jumpers() {
  Trace t;
  for (int i = 0; i < 8; ++i) t.functions.push_back("batch-" + std::to_string(i));
  for (int64_t ts = kStart; ts < kStart + 6 * 86400; ts += kStep)
    for (uint32_t f = 0; f < 8; ++f) t.rows.push_back({ts, f, ts < kStart + 2 * 86400 ? 0.5f : 3.0f});
  return t;
}

TEST(Fleet, WithReliefAHostAboveCapacityMovesTenantsOffWithinAStep) {
  FleetOptions o = options();
  o.instance_lifetime_s = 0;  // placed once: only relief can undo a placement
  o.warmup_days = 2;
  o.best_fit = false;
  o.policies = *parse_fleet_policies("antiphase,peak-sum,oracle");
  o.relieve = false;
  const FleetResult stuck = run_fleet(jumpers(), kStep, o);
  o.relieve = true;  // the default
  const FleetResult relieved = run_fleet(jumpers(), kStep, o);
  const double judged_steps = 4 * 86400 / kStep;
  for (const char* name : {"antiphase", "peak-sum"}) {
    const auto& before = policy(stuck.json, name);
    const auto& after = policy(relieved.json, name);
    EXPECT_EQ(before["decisions"]["moved"].get<uint64_t>(), 0u) << name;
    EXPECT_GE(before["overload_rate"].get<double>(), 0.5) << name << ": packed on idle days, overloaded for good\n" << stuck.text;
    // One or two steps per host at the jump, then never again.
    EXPECT_LE(after["overloaded_host_steps"].get<uint64_t>(), 2u * 4u) << name << "\n" << relieved.text;
    EXPECT_GE(after["decisions"]["moved"].get<uint64_t>(), 2u) << name;
    EXPECT_LE(after["decisions"]["moved"].get<uint64_t>(), 8u) << name << ": about one move per function, no ping-pong";
    EXPECT_LE(after["hosts_mean"].get<double>(), 4.0 + 0.01) << name << "\n" << relieved.text;
    EXPECT_GT(after["host_steps"].get<double>(), 3.9 * judged_steps) << name;
  }
  EXPECT_EQ(policy(relieved.json, "oracle")["decisions"]["moved"].get<uint64_t>(), 0u) << "the oracle never overloads";
  EXPECT_EQ(relieved.json["relieve_after_s"].get<double>(), o.node.relief_after_s);
  EXPECT_TRUE(stuck.json["relieve_after_s"].is_null());
}

// Functions that each use a constant number of cores for `days`, recycled daily on
// 8-core hosts, first fit, the first two days warm-up; antiphase and peak-sum.
FleetResult run_flat_and_recycled(const std::vector<std::pair<std::string, float>>& functions, int days) {
  Trace t;
  for (const auto& f : functions) t.functions.push_back(f.first);
  for (int64_t ts = kStart; ts < kStart + days * 86400; ts += kStep)
    for (uint32_t f = 0; f < functions.size(); ++f) t.rows.push_back({ts, f, functions[f].second});
  FleetOptions o = options();
  o.best_fit = false;
  o.warmup_days = 2;
  o.policies = *parse_fleet_policies("antiphase,peak-sum");
  return run_fleet(t, kStep, o);
}

// A 6-core and a 1-core function share an 8-core host, each instance recycled daily. A
// recycled instance's replacement fits where the old one ran (7 cores), but only if the
// host knows the old one left: the harness's hosts tick once a trace step, so it tells
// their node cores at once, as a daemon's next tick a second later would.
TEST(Fleet, ARecycledInstanceCanTakeThePlaceItsPreviousOneLeft) {
  const FleetResult r = run_flat_and_recycled({{"big", 6.0f}, {"small", 1.0f}}, 6);
  for (const char* name : {"antiphase", "peak-sum"}) {
    const auto& p = policy(r.json, name);
    EXPECT_NEAR(p["hosts_mean"].get<double>(), 1.0, 1e-9) << name << "\n" << r.text;
    EXPECT_EQ(p["overloaded_host_steps"].get<uint64_t>(), 0u) << name;
    uint64_t requests = 0;
    for (const auto& day : p["days"]) requests += day["decisions"]["requests"].get<uint64_t>();
    EXPECT_GE(requests, 8u) << name << ": both recycled daily over the six days";
  }
}

// Two 8-core hosts, each a 6-core and a 1-core function, all four recycled daily. When a
// 6-core instance is recycled, its replacement fits where it ran (7 cores); but a
// scheduler that enters at the other host is told by that host that it is full (no
// room for 6 itself) and that the first one is too (its advert is from before the
// departure). The scheduler asks the host itself before it opens a third one.
TEST(Fleet, AHostJudgedFullFromAnAdvertIsAskedBeforeANewOneOpens) {
  const FleetResult r =
      run_flat_and_recycled({{"big-a", 6.0f}, {"big-b", 6.0f}, {"small-a", 1.0f}, {"small-b", 1.0f}}, 8);
  for (const char* name : {"antiphase", "peak-sum"}) {
    const auto& p = policy(r.json, name);
    EXPECT_NEAR(p["hosts_mean"].get<double>(), 2.0, 1e-9) << name << "\n" << r.text;
    EXPECT_EQ(p["overloaded_host_steps"].get<uint64_t>(), 0u) << name;
    EXPECT_GE(p["decisions"]["requests"].get<uint64_t>(), 4u * 5u) << name << ": each recycled daily";
  }
}

// Functions that run one after another, two days each: every host retires when its
// function leaves and the next one opens a new host. A retired host is freed (its gossip
// state holds every function's record: kept, memory grew with hosts opened × functions),
// so nothing may reach it again, and what the run reports of it must still count.
TEST(Fleet, RetiredHostsAreFreedButStillCounted) {
  Trace t;
  constexpr int kFunctions = 5;
  for (int f = 0; f < kFunctions; ++f) t.functions.push_back("shift-" + std::to_string(f));
  for (int64_t ts = kStart; ts < kStart + 2 * kFunctions * 86400; ts += kStep) {
    const uint32_t f = static_cast<uint32_t>((ts - kStart) / (2 * 86400));
    t.rows.push_back({ts, f, 3.0f});
  }
  FleetOptions o = options();
  o.instance_lifetime_s = 0;  // each lives its two days
  o.warmup_days = 2;
  o.policies = *parse_fleet_policies("antiphase");
  const FleetResult r = run_fleet(t, kStep, o);
  const auto& p = policy(r.json, "antiphase");
  uint64_t opened = 0;
  for (const auto& day : p["days"]) opened += day["decisions"]["new_hosts"].get<uint64_t>();
  EXPECT_EQ(opened, static_cast<uint64_t>(kFunctions)) << r.text;
  EXPECT_EQ(p["hosts_max"].get<uint64_t>(), 1u) << "one host at a time";
  EXPECT_EQ(p["extra"]["newcomers"]["hosts"].get<uint64_t>(), opened) << "retired hosts still counted";
  EXPECT_EQ(p["overloaded_host_steps"].get<uint64_t>(), 0u);
}

// With function homes (gossip.function_homes, for large fleets) a host keeps only the
// summaries it wrote, is home to or asked for; before a decision it pulls the
// candidate's from a home, as the daemon's bridge does (fetch_if_unheard). A recycled
// instance is then sized from what its previous host measured, as with every summary
// everywhere, and the fleet packs alike -- provided a copy read for an earlier decision
// ages as on a daemon (minutes), not 300 times longer on the compressed gossip clock.
TEST(Fleet, WithFunctionHomesAHostFetchesTheSummaryItLacksBeforeDeciding) {
  FleetOptions o = options();
  o.policies = *parse_fleet_policies("antiphase");
  const FleetResult everywhere = run_fleet(day_and_night_fleet(), kStep, o);
  o.gossip.function_homes = 1;
  const FleetResult homed = run_fleet(day_and_night_fleet(), kStep, o);
  const auto& full = policy(everywhere.json, "antiphase");
  const auto& with_homes = policy(homed.json, "antiphase");
  const auto sized = [](const nlohmann::json& p, const std::string& by) {
    return p["extra"]["accepted_sized_by"].value(by, uint64_t{0});
  };
  EXPECT_LE(sized(with_homes, "requested peak "), sized(full, "requested peak "))
      << "no instance sized as unknown for want of a summary another host holds";
  EXPECT_GT(sized(with_homes, "gossiped summary "), 0u);
  EXPECT_LT(with_homes["hosts_mean"].get<double>(), 5.0) << homed.text;
  EXPECT_LE(with_homes["overload_rate"].get<double>(), 0.001) << homed.text;
}

// A host that joins holds every function's record before it decides or measures (a
// daemon catches up within a second; gossip::Protocol::caught_up), though the records
// take more than one push: no instance of a function measured before is admitted to a
// new host as unknown, and no new host starts one afresh and publishes that.
TEST(Fleet, AHostThatJoinsDecidesWithTheFleetsRecordsThoughTheyTakeSeveralPushes) {
  FleetOptions o = options();
  o.policies = *parse_fleet_policies("antiphase");
  const auto one_push = policy(run_fleet(day_and_night_fleet(), kStep, o).json, "antiphase");
  o.gossip.max_message_bytes = 3 * 1024;  // about 8 of the 16 summaries a push
  const FleetResult r = run_fleet(day_and_night_fleet(), kStep, o);
  const auto& p = policy(r.json, "antiphase");
  ASSERT_GT(p["decisions"]["new_hosts"].get<uint64_t>(), 4u) << "hosts joined after the records were written";
  EXPECT_EQ(p["extra"]["joins_not_caught_up"].get<uint64_t>(), 0u);
  const auto unknown = [](const nlohmann::json& q) { return q["extra"]["accepted_sized_by"].value("requested peak ", uint64_t{0}); };
  // (Without the catch-up, 18 against 17: a new host admitted a function it had not heard of yet.)
  EXPECT_EQ(unknown(p), unknown(one_push)) << "no instance admitted as unknown for want of a record still in flight: "
                                           << p["extra"]["accepted_sized_by"].dump();
  EXPECT_LE(p["overload_rate"].get<double>(), 0.001) << r.text;
}

// Which host judged and learned what differs with homes, so one seed can differ by a
// host-day or two; over seeds the fleet packs as with every summary everywhere. With
// the interest timers on the compressed gossip clock (a copy read for a decision kept
// 50 trace hours and decided on, where a daemon keeps it minutes) it needed 0.2 hosts
// more over these seeds (checked).
TEST(Fleet, WithFunctionHomesTheFleetPacksAsWithEverySummaryEverywhere) {
  FleetOptions o = options();
  o.policies = *parse_fleet_policies("antiphase");
  double full = 0, homed = 0;
  for (uint64_t seed = 1; seed <= 6; ++seed) {
    o.seed = seed;
    o.gossip.function_homes = 0;
    full += policy(run_fleet(day_and_night_fleet(), kStep, o).json, "antiphase")["hosts_mean"].get<double>() / 6;
    o.gossip.function_homes = 1;
    homed += policy(run_fleet(day_and_night_fleet(), kStep, o).json, "antiphase")["hosts_mean"].get<double>() / 6;
  }
  std::printf("hosts over seeds 1-6: %.3f with every summary everywhere, %.3f with one home\n", full, homed);
  EXPECT_NEAR(homed, full, 0.1);
}

TEST(Fleet, ASeedGivesTheSameRun) {
  const Trace trace = day_and_night_fleet();
  FleetResult a = run_fleet(trace, kStep, options());
  FleetResult b = run_fleet(trace, kStep, options());
  for (auto* r : {&a, &b})
    for (auto& p : r->json["policies"]) p.erase("seconds");
  EXPECT_EQ(a.json, b.json);
}

// A held-out trace shorter than the warm-up would otherwise print a judged row of zeros
// (0 hosts, 0 % overloaded) that reads as a result.
TEST(Fleet, ATraceThatEndsInsideTheWarmUpIsAClearErrorNotARowOfZeros) {
  const Trace trace = day_and_night_fleet();  // 10 days
  FleetOptions o = options();
  o.warmup_days = 10;
  try {
    run_fleet(trace, kStep, o);
    ADD_FAILURE() << "a run with nothing to judge returned a result";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("spans 10 day(s)"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("--warmup-days below 10"), std::string::npos) << e.what();
  }
  o.warmup_days = -1;
  EXPECT_THROW(run_fleet(trace, kStep, o), std::runtime_error);
  o.warmup_days = 9;  // one judged day
  const FleetResult r = run_fleet(trace, kStep, o);
  EXPECT_GT(policy(r.json, "antiphase")["hosts_mean"].get<double>(), 0.0);
}

// A node core ticked less often than admission.stale_after refuses every decision, as a
// daemon would; at --gossip-speed 5 a 5-minute step is a minute on the agents' clock, and
// the run printed a host per function (16 for 16) instead of an error.
TEST(Fleet, AnAgentClockSlowerThanStaleAfterIsAClearErrorNotAHostPerFunction) {
  FleetOptions o = options();
  o.gossip_speed = 5;
  try {
    run_fleet(day_and_night_fleet(), kStep, o);
    ADD_FAILURE() << "a run whose hosts could only refuse returned a result";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("300 s trace step is 60 s"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("--gossip-speed 10 or more"), std::string::npos) << e.what();
  }
  o.gossip_speed = 0;
  o.gossip_interval_s = 60;  // [gossip] interval = "60s": one round per step is a minute too
  EXPECT_THROW(run_fleet(day_and_night_fleet(), kStep, o), std::runtime_error);
  o.policies = *parse_fleet_policies("peak-sum");  // no node core, nothing to refuse
  EXPECT_NEAR(policy(run_fleet(day_and_night_fleet(), kStep, o).json, "peak-sum")["hosts_mean"].get<double>(), 6.0, 0.5);
  o.policies = *parse_fleet_policies("antiphase");
  o.gossip_speed = 10;  // 30 s per step: at the limit, decided
  EXPECT_LT(policy(run_fleet(day_and_night_fleet(), kStep, o).json, "antiphase")["hosts_mean"].get<double>(), 5.0);
}

// A scheduler-side rule sees what its hosts measure at every step, as antiphase's node
// cores do: a tenant that jumps at noon counts at its new peak for the next arrival, not
// from midnight (until session 32 the baselines' sizes were refreshed once a day).
TEST(Fleet, ABaselineCountsATenantsNewPeakFromTheNextStep) {
  Trace t;
  t.functions = {"jumps-at-noon", "arrives-at-one"};
  for (int64_t ts = kStart; ts < kStart + 2 * 86400; ts += kStep) {
    const int64_t since = ts - kStart;
    t.rows.push_back({ts, 0, since < 12 * 3600 ? 1.0f : 6.0f});
    if (since >= 13 * 3600) t.rows.push_back({ts, 1, 2.5f});
  }
  FleetOptions o = options();
  o.instance_lifetime_s = 0;  // placed once: only the 13:00 arrival is decided after the jump
  o.declared_cores = 2.5;     // the newcomer's honest declared size
  o.relieve = false;          // nothing undoes a placement
  o.warmup_days = 0;
  o.best_fit = false;
  o.policies = *parse_fleet_policies("peak-sum");
  const FleetResult r = run_fleet(t, kStep, o);
  const auto& p = policy(r.json, "peak-sum");
  // Sized at 6 + 2.5 > 8 the newcomer opens a second host; sized at its midnight size it
  // joins the first and overloads it (8.5 cores) for every step of the next 35 hours.
  EXPECT_EQ(p["overloaded_host_steps"].get<uint64_t>(), 0u);
  EXPECT_EQ(p["hosts_max"].get<size_t>(), 2u);
}

}  // namespace
}  // namespace antiphase::replay

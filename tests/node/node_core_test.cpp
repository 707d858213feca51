// The node core on constructed hosts whose right answer is known: what it admits, how
// it follows arrivals, bursts and level shifts, and that a peer judges a host as the
// host judges itself. Pure: no clock, no sockets; every series is generated here.
#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <random>

#include "common/node/host_advert.pb.h"
#include "common/node/node_core.h"
#include "common/node/publisher.h"
#include "common/shape/summary.h"
#include "common/util/checked_frame.h"

namespace antiphase::node {
namespace {

constexpr int64_t kMidnight = 1700006400;  // 2023-11-15 00:00 UTC
constexpr int64_t kStep = 300;             // 5-minute ticks, like the shared traces

using Series = std::function<double(int64_t unix_s)>;

double hour_of(int64_t t) { return static_cast<double>(((t - kMidnight) % 86400 + 86400) % 86400) / 3600.0; }
// Busy 6 cores from 08:00 to 16:00 UTC, 1 core otherwise, with a little noise.
Series day_worker(std::mt19937_64& rng) {
  auto noise = std::make_shared<std::normal_distribution<double>>(0.0, 0.15);
  return [&rng, noise](int64_t t) { return std::max(0.0, (hour_of(t) >= 8 && hour_of(t) < 16 ? 6.0 : 1.0) + (*noise)(rng)); };
}
// The same, busy from 20:00 to 04:00.
Series night_worker(std::mt19937_64& rng) {
  auto noise = std::make_shared<std::normal_distribution<double>>(0.0, 0.15);
  return [&rng, noise](int64_t t) {
    const double h = hour_of(t);
    return std::max(0.0, (h >= 20 || h < 4 ? 6.0 : 1.0) + (*noise)(rng));
  };
}

NodeConfig config(double capacity = 8.0) {
  NodeConfig c;
  c.capacity_cores = capacity;
  c.memory.guard.mode = admission::CommittedMemoryMode::Off;  // the memory tests turn it on
  return c;
}

// Feeds `days` of 5-minute ticks of the given tenants, from `start`; returns the time
// of the last tick.
int64_t run(NodeCore& core, const std::map<std::string, Series>& tenants, double days, int64_t start = kMidnight) {
  int64_t t = start;
  for (int64_t i = 0; i < static_cast<int64_t>(days * 86400 / kStep); ++i) {
    t = start + i * kStep;
    Tick tick;
    tick.unix_ms = t * 1000;
    tick.dt_s = kStep;
    for (const auto& [name, series] : tenants) tick.functions[name] = {series(t), 1};
    core.observe(tick, static_cast<double>(t));
  }
  return t;
}

// What another host would gossip about a function it measured over `days`.
std::string summary_blob(const std::string& name, const Series& series, double days) {
  NodeCore elsewhere(config(), "elsewhere");
  run(elsewhere, {{name, series}}, days);
  return shape::encode(elsewhere.summary_of(name, 1));
}

AdmitRequest request(const std::string& function) {
  AdmitRequest r;
  r.function = function;
  return r;
}

TEST(NodeCore, AnticorrelatedCandidateJoinsWhereACorrelatedOneIsRefused) {
  std::mt19937_64 rng(1);
  NodeCore host(config(), "h");
  const int64_t now = run(host, {{"day-a", day_worker(rng)}}, 7);
  ASSERT_TRUE(host.hear_function("night-b", summary_blob("night-b", night_worker(rng), 7)));
  ASSERT_TRUE(host.hear_function("day-c", summary_blob("day-c", day_worker(rng), 7)));

  const Answer night = host.admit(request("night-b"), static_cast<double>(now));
  const Answer day = host.admit(request("day-c"), static_cast<double>(now));
  ASSERT_TRUE(night.ok() && day.ok());
  // 6 + 1 at any hour for the pair that takes turns; 6 + 6 = 12 > 8 by day for the other.
  EXPECT_TRUE(night.decision.accept) << night.decision.reasons.front();
  EXPECT_FALSE(day.decision.accept) << day.decision.reasons.front();
  EXPECT_LT(night.decision.projected_overload_rate, 0.001);
  EXPECT_GT(day.decision.projected_overload_rate, 0.3);  // 8 of 24 hours far above the limit
  EXPECT_LT(night.decision.correlation, -0.3) << "the shapes move against each other";
  EXPECT_GT(day.decision.correlation, 0.8);
  EXPECT_EQ(night.decision.sizing.rfind("gossiped summary", 0), 0u) << night.decision.sizing;
  EXPECT_NEAR(night.decision.peak_sum_cores, 12.6, 0.6) << "adding peaks could not tell the two apart";
}

TEST(NodeCore, AReservationCountsAtOnceSoABurstCannotOvercommit) {
  std::mt19937_64 rng(2);
  NodeCore host(config(), "h");
  const double now = static_cast<double>(run(host, {{"steady", [](int64_t) { return 2.0; }}}, 2));
  AdmitRequest r = request("new");
  r.peak_cores = 3.5;  // nobody has measured it: sized flat at its declared peak
  // 2 + 3.5 = 5.5 fits in 8, a second one (9) does not: without reservations both would
  // have seen the same host.
  EXPECT_TRUE(host.admit(r, now).decision.accept);
  EXPECT_TRUE(host.admit(r, now).decision.accept) << "admit alone is only a question";
  const Answer first = host.admit_and_reserve(r, now);
  EXPECT_TRUE(first.decision.accept);
  EXPECT_EQ(first.decision.confidence, 0.0) << "sized from the request: nothing measured";
  EXPECT_EQ(host.reservations(), 1u);
  AdmitRequest other = r;
  other.function = "new-too";
  const Answer second = host.admit_and_reserve(other, now);
  EXPECT_FALSE(second.decision.accept) << second.decision.reasons.front();
  // Unconfirmed by any tick, the reservation lapses.
  Tick empty_steady;
  empty_steady.unix_ms = static_cast<int64_t>(now + kReservationTimeoutS + 60) * 1000;
  empty_steady.dt_s = kStep;
  empty_steady.functions["steady"] = {2.0, 1};
  host.observe(empty_steady, now + kReservationTimeoutS + 60);
  EXPECT_EQ(host.reservations(), 0u);
  EXPECT_TRUE(host.admit_and_reserve(other, now + kReservationTimeoutS + 60).decision.accept);
}

// An agent is asked about functions from all over the fleet; what it decoded of them is
// bounded (NodeConfig::max_heard_functions), least recently heard first, and a function
// asked about again is heard again and judged exactly as before. A tenant here keeps
// what was heard of it, however long ago.
TEST(NodeCore, WhatWasHeardIsBoundedAndADroppedFunctionIsJudgedAgainAsBefore) {
  std::mt19937_64 rng(6);
  NodeConfig c = config(16);
  c.max_heard_functions = 16;
  NodeCore host(c, "h");
  const double now = static_cast<double>(run(host, {{"steady", [](int64_t) { return 2.0; }}}, 1));
  ASSERT_TRUE(host.hear_function("tenant", summary_blob("tenant", [](int64_t) { return 1.0; }, 1)));
  ASSERT_TRUE(host.admit_and_reserve(request("tenant"), now).decision.accept);
  const std::string x_blob = summary_blob("x", day_worker(rng), 7);
  ASSERT_TRUE(host.hear_function("x", x_blob));
  const Answer before = host.admit(request("x"), now);
  ASSERT_TRUE(before.ok());
  ASSERT_GT(before.decision.confidence, 0.0) << "sized from its summary";

  for (int i = 0; i < 40; ++i) {
    const std::string name = "other-" + std::to_string(i);
    ASSERT_TRUE(host.hear_function(name, summary_blob(name, [](int64_t) { return 0.5; }, 1)));
  }
  EXPECT_LE(host.functions_heard(), 16u + 1u) << "the cap, and the tenant";
  EXPECT_GE(host.heard_forgotten(), 40u + 2u - 16u);
  EXPECT_EQ(host.admit(request("x"), now).decision.confidence, 0.0) << "x was heard before the 40 others: dropped";
  EXPECT_GT(host.admit(request("other-39"), now).decision.confidence, 0.0) << "the most recently heard stay";
  EXPECT_GT(host.admit(request("tenant"), now).decision.confidence, 0.0) << "a tenant's summary is never dropped";

  ASSERT_TRUE(host.hear_function("x", x_blob));
  const Answer again = host.admit(request("x"), now);
  EXPECT_EQ(again.decision.accept, before.decision.accept);
  EXPECT_EQ(again.decision.confidence, before.decision.confidence);
  EXPECT_DOUBLE_EQ(again.decision.headroom_cores, before.decision.headroom_cores);
  EXPECT_EQ(again.decision.reasons, before.decision.reasons);
}

// A summary holds at most 64 bytes of its function's name; the gossip key holds the
// whole name (up to 256 bytes). Two functions whose long names share those 64 bytes
// (container ids, namespaced revisions) are still told apart, each heard as itself;
// until session 37 a long-named function's summary was refused, so it was never sized
// from gossip.
TEST(NodeCore, FunctionsWithLongNamesAreHeardEachAsItself) {
  std::mt19937_64 rng(8);
  const std::string prefix(70, 'k');
  const std::string day = prefix + "-day", night = prefix + "-night";
  NodeCore host(config(), "h");
  const double now = static_cast<double>(run(host, {{"steady", [](int64_t) { return 1.0; }}}, 1));
  ASSERT_TRUE(host.hear_function(day, summary_blob(day, day_worker(rng), 7)));
  ASSERT_TRUE(host.hear_function(night, summary_blob(night, night_worker(rng), 7)));
  EXPECT_FALSE(host.hear_function("other", summary_blob(day, day_worker(rng), 7))) << "another function's summary";
  const Answer d = host.admit(request(day), now), n = host.admit(request(night), now);
  ASSERT_TRUE(d.ok() && n.ok());
  EXPECT_GT(d.decision.confidence, 0.0) << "sized from its summary";
  EXPECT_NE(d.decision.reasons, n.decision.reasons) << "each from its own";
}

TEST(NodeCore, TheViewFollowsAnArrivalAtOnceAndADepartureToo) {
  NodeCore host(config(), "h");
  int64_t t = run(host, {{"a", [](int64_t) { return 3.0; }}}, 3);
  EXPECT_NEAR(host.advert().aggregate.mean[40], 3.0, 0.05);
  // A second tenant of 2 cores that ran 3 days elsewhere arrives: its gossiped shape
  // counts from its first tick, where a faded measured aggregate would take a week.
  ASSERT_TRUE(host.hear_function("b", summary_blob("b", [](int64_t) { return 2.0; }, 3)));
  t = run(host, {{"a", [](int64_t) { return 3.0; }}, {"b", [](int64_t) { return 2.0; }}}, 1.0 / 288, t + kStep);
  EXPECT_NEAR(host.advert().aggregate.mean[40], 5.0, 0.1);
  run(host, {{"a", [](int64_t) { return 3.0; }}}, 1.0 / 288, t + kStep);
  EXPECT_NEAR(host.advert().aggregate.mean[40], 3.0, 0.05);
}

// Recycled in place: an instance leaves and the scheduler asks for its replacement before
// the host's next tick. Told of the departure, the host judges the replacement as the
// only instance, as it would after a tick without the old one; not told, as a second.
TEST(NodeCore, ADepartureToldBeforeTheNextTickCountsAsThatTickWould) {
  const Series six = [](int64_t) { return 6.0; };
  const Series one = [](int64_t) { return 1.0; };
  NodeCore told(config(), "told"), ticked(config(), "ticked");
  int64_t t = run(told, {{"big", six}, {"small", one}}, 2);
  run(ticked, {{"big", six}, {"small", one}}, 2);
  const NodeCore untold = told;
  told.departed("big");
  told.departed("never-here");  // nothing to do
  run(ticked, {{"small", one}}, 1.0 / 288, t + kStep);
  // Each asked 10 s after its own last tick (telemetry older than 30 s is refused).
  const auto before_tick = told.admit(request("big"), static_cast<double>(t + 10));
  const auto after_tick = ticked.admit(request("big"), static_cast<double>(t + kStep + 10));
  const auto stale = untold.admit(request("big"), static_cast<double>(t + 10));
  ASSERT_TRUE(before_tick.ok() && after_tick.ok() && stale.ok());
  EXPECT_TRUE(before_tick.decision.accept) << before_tick.decision.reasons.front();
  EXPECT_FALSE(stale.decision.accept) << "6 + 6 + 1 cores on 8 once the old instance still counts";
  EXPECT_NEAR(before_tick.decision.peaks_fit_cores, 7.0, 0.1);
  EXPECT_NEAR(after_tick.decision.peaks_fit_cores, before_tick.decision.peaks_fit_cores, 1e-9);
  EXPECT_NEAR(after_tick.decision.projected_peak_cores, before_tick.decision.projected_peak_cores, 0.05);
  EXPECT_EQ(told.running().count("big"), 0u);
  EXPECT_NEAR(told.advert().aggregate.mean[40], 1.0, 0.05) << "the advert follows at once";
}

TEST(NodeCore, ALevelShiftRaisesTheTenantWithinHours) {
  // Idle for a week, then a batch job at 6 cores: faded slot means would still say ~0.
  NodeCore host(config(16), "h");
  int64_t t = run(host, {{"vm", [](int64_t) { return 0.05; }}}, 7);
  t = run(host, {{"vm", [](int64_t) { return 6.0; }}}, 4.0 / 24, t + kStep);
  const auto& view = host.advert().aggregate;
  const size_t now_slot = view.slot_of(t);
  EXPECT_GT(view.mean[now_slot], 5.5) << "the last hours' level shift counts";
  EXPECT_GT(view.mean[(now_slot + 48) % 96], 5.5) << "in every slot: the new level is not a time of day";
}

TEST(NodeCore, ABurstRaisesTheMarginAndFadesAfterwards) {
  // A host of two tenants around a flat 4 + 4 cores on 1-second ticks (as antiphased
  // ticks), then an hour in which one of them spikes by 2 cores for 10 s in every
  // minute: the tail of the host's deviations grows, so does the margin; then weeks of
  // calm fade the spikes out of the tail and the margin returns to about Gaussian.
  std::mt19937_64 rng(3);
  std::normal_distribution<double> noise(0.0, 0.3);
  NodeCore host(config(16), "h");
  int64_t t = kMidnight;
  auto tick = [&](double a, double b, int64_t dt) {
    Tick k;
    k.unix_ms = t * 1000;
    k.dt_s = static_cast<double>(dt);
    k.functions["a"] = {a, 1};
    k.functions["b"] = {b, 1};
    host.observe(k, static_cast<double>(t));
    t += dt;
  };
  auto calm = [&](int64_t seconds, int64_t dt) {
    for (int64_t i = 0; i < seconds / dt; ++i) tick(4 + noise(rng), 4 + noise(rng), dt);
  };
  calm(2 * 86400, 10);  // two days of 10-second ticks to learn the shape
  calm(3600, 1);
  const double before = host.advert().z;
  EXPECT_NEAR(before, 3.09, 0.5);
  for (int64_t s = 0; s < 3600; ++s) tick(4 + noise(rng) + (s % 60 < 10 ? 2.0 : 0.0), 4 + noise(rng), 1);
  const double during = host.advert().z;
  EXPECT_GT(during, before + 1.0) << "a sixth of an hour at ~4.7σ is far more than 0.1 % of the time";
  calm(35 * 86400, 60);
  EXPECT_LT(host.advert().z, during - 1.0);
  EXPECT_NEAR(host.advert().z, before, 0.6);
}

TEST(NodeCore, APeerJudgesAHostAsTheHostJudgesItself) {
  // Host A observed only 00-08 UTC at 3-4 cores (capacity 8); the candidate runs 4.5
  // cores in the afternoon. A fills the hours it never saw with its observed peak, and
  // so does B's view of A, which is built from the very advert A decides on.
  NodeConfig c = config(8);
  c.policy.target_utilisation = 0.9;
  NodeCore a(c, "a", "tcp://a");
  int64_t t = kMidnight;
  for (int day = 0; day < 2; ++day)
    t = run(a, {{"night", [](int64_t s) { return 3.0 + std::sin(M_PI * hour_of(s) / 8.0); }}}, 8.0 / 24, kMidnight + day * 86400);
  NodeCore b(c, "b", "tcp://b");
  run(b, {}, 1.0 / 288, t - kStep);
  ASSERT_TRUE(b.hear_peer({"a", "tcp://a", true, a.advert_blob()}));
  AdmitRequest r = request("afternoon");
  shape::SlotProfile p{86400, std::vector<double>(96, 0.0), std::vector<double>(96, 0.0), {}};
  for (size_t w = 56; w < 72; ++w) p.mean[w] = 4.5;
  r.profile = p;
  const Answer local = a.admit(r, static_cast<double>(t));
  const PlaceAnswer placed = b.place(r, static_cast<double>(t));
  ASSERT_TRUE(local.ok() && placed.error.empty());
  const auto as_peer = std::find_if(placed.hosts.begin(), placed.hosts.end(), [](const PlaceOption& o) { return o.node_id == "a"; });
  ASSERT_NE(as_peer, placed.hosts.end());
  EXPECT_FALSE(local.decision.accept);
  EXPECT_EQ(as_peer->decision.accept, local.decision.accept);
  EXPECT_DOUBLE_EQ(as_peer->decision.headroom_cores, local.decision.headroom_cores);
  EXPECT_DOUBLE_EQ(as_peer->decision.projected_overload_rate, local.decision.projected_overload_rate);
  EXPECT_DOUBLE_EQ(as_peer->decision.z, local.decision.z);
  EXPECT_EQ(as_peer->decision.binding_window, local.decision.binding_window);
  EXPECT_NEAR(as_peer->decision.limit_cores, 7.2, 1e-5) << "judged against A's limit, not B's";
  // The tenants' own peaks travel too (4 cores at 04:00 + the candidate's 4.5 > 7.2), so a
  // peer applies the peaks-fit rule exactly as A does.
  EXPECT_NEAR(local.decision.peaks_fit_cores, 4.0 + 4.5, 0.05);
  EXPECT_DOUBLE_EQ(as_peer->decision.peaks_fit_cores, local.decision.peaks_fit_cores);
  // Half the candidate: 4 + 2.25 at the peaks, the same number on both sides.
  for (double& m : r.profile->mean) m /= 2;
  const Answer half = a.admit(r, static_cast<double>(t));
  const PlaceAnswer half_placed = b.place(r, static_cast<double>(t));
  const auto half_peer = std::find_if(half_placed.hosts.begin(), half_placed.hosts.end(), [](const PlaceOption& o) { return o.node_id == "a"; });
  ASSERT_NE(half_peer, half_placed.hosts.end());
  EXPECT_NEAR(half.decision.peaks_fit_cores, 4.0 + 2.25, 0.05);
  EXPECT_DOUBLE_EQ(half_peer->decision.peaks_fit_cores, half.decision.peaks_fit_cores);
  EXPECT_EQ(half_peer->decision.accept, half.decision.accept);
}

TEST(NodeCore, MemoryBindsWhereCpuWouldAdmitAndCpuWhereMemoryWould) {
  NodeConfig c = config(16);
  c.memory.guard.mode = admission::CommittedMemoryMode::Limits;
  c.memory.capacity_bytes = 8ull << 30;
  c.memory.reserve_bytes = 1ull << 30;
  NodeCore host(c, "h");
  // Two tenants holding 3 GiB limits each: 7 - 6 = 1 GiB free.
  int64_t t = kMidnight;
  for (int64_t i = 0; i < 288; ++i) {
    t = kMidnight + i * kStep;
    Tick tick;
    tick.unix_ms = t * 1000;
    tick.dt_s = kStep;
    for (const char* name : {"a", "b"})
      tick.functions[name] = {1.0, 1, uint64_t{2} << 30, uint64_t{3} << 30, uint64_t{2} << 30};
    tick.memory_total_bytes = 8ull << 30;
    tick.memory_available_bytes = 5ull << 30;
    host.observe(tick, static_cast<double>(t));
  }
  AdmitRequest small_cpu = request("small");
  small_cpu.peak_cores = 0.1;
  small_cpu.memory_bytes = 2ull << 30;
  const Answer full = host.admit(small_cpu, static_cast<double>(t));
  EXPECT_FALSE(full.decision.accept);
  EXPECT_TRUE(full.memory.checked);
  EXPECT_FALSE(full.memory.fits);
  EXPECT_NE(full.decision.reasons.front().find("memory"), std::string::npos) << full.decision.reasons.front();

  AdmitRequest big_cpu = request("big");
  big_cpu.peak_cores = 15.0;
  big_cpu.memory_bytes = 512ull << 20;
  const Answer clash = host.admit(big_cpu, static_cast<double>(t));
  EXPECT_FALSE(clash.decision.accept);
  EXPECT_TRUE(clash.memory.fits) << "half a GiB fits in the 1 GiB left";
  EXPECT_EQ(std::string(admission::binding_resource(clash.decision, clash.memory)), "cpu");

  // A peer with memory room ranks first; this host, memory-full, never leads.
  NodeConfig roomy = c;
  roomy.memory.capacity_bytes = 64ull << 30;
  NodeCore peer(roomy, "roomy", "tcp://roomy");
  run(peer, {{"x", [](int64_t) { return 10.0; }}}, 1.0 / 288, t);
  ASSERT_TRUE(host.hear_peer({"roomy", "tcp://roomy", true, peer.advert_blob()}));
  small_cpu.memory_bytes = 4ull << 30;
  const PlaceAnswer placed = host.place(small_cpu, static_cast<double>(t));
  ASSERT_EQ(placed.hosts.size(), 2u);
  EXPECT_EQ(placed.hosts.front().node_id, "roomy");
  EXPECT_TRUE(placed.hosts.front().decision.accept);
  EXPECT_FALSE(placed.hosts.back().memory.fits);
}

TEST(NodeCore, AnUnknownFunctionIsSizedFromTheRequestWithNoConfidence) {
  NodeCore host(config(), "h");
  const double now = static_cast<double>(run(host, {}, 1.0 / 288));
  AdmitRequest r = request("mystery");
  r.mean_cores = 1.0;
  const Answer a = host.admit(r, now);
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a.decision.confidence, 0.0);
  EXPECT_NE(a.decision.sizing.find("requested mean"), std::string::npos) << a.decision.sizing;
}

// Newcomers admitted at 1 core requested that each used 3 teach the host to size the
// next unknown function at 3 per core requested (docs/admission.md "Newcomers").
// `used`: what each of `count` newcomers runs at for two hours before it leaves.
NodeCore host_after_newcomers(size_t count, double used, double quantile = defaults::kNewcomerQuantile) {
  NodeConfig c = config(16);
  c.newcomers.quantile = quantile;
  NodeCore host(c, "h");
  int64_t t = run(host, {{"steady", [](int64_t) { return 2.0; }}}, 1);
  for (size_t i = 0; i < count; ++i) {
    AdmitRequest r = request("newcomer-" + std::to_string(i));
    r.peak_cores = 1.0;
    EXPECT_TRUE(host.admit_and_reserve(r, static_cast<double>(t)).decision.accept);
    t = run(host, {{"steady", [](int64_t) { return 2.0; }}, {r.function, [used](int64_t) { return used; }}}, 2.0 / 24, t + kStep);
  }
  run(host, {{"steady", [](int64_t) { return 2.0; }}}, 1.0 / 24, t + kStep);  // the last one leaves
  return host;
}

TEST(NodeCore, UnknownFunctionsAreSizedByWhatNewcomersUsedPerCoreRequested) {
  AdmitRequest five = request("unknown");
  five.peak_cores = 1.0;
  five.instances = 5;
  const double now = 1e9;  // admit() does not read the clock for an unknown function
  // Seven newcomers are too few to judge requests by: 2 + 5 x 1 = 7 of 16 cores.
  const NodeCore few = host_after_newcomers(7, 3.0);
  EXPECT_EQ(few.newcomers().samples(), 7u);
  EXPECT_DOUBLE_EQ(few.newcomers().factor(), 1.0);
  EXPECT_TRUE(few.admit(five, now).decision.accept);
  // Eight that each used 3 per core requested: 2 + 5 x 3 = 17 > 16 is refused, 2 + 4 x 3 = 14 joins.
  const NodeCore taught = host_after_newcomers(8, 3.0);
  EXPECT_EQ(taught.newcomers().samples(), 8u);
  EXPECT_NEAR(taught.newcomers().factor(), 3.0, 1e-9);
  const Answer refused = taught.admit(five, now);
  EXPECT_FALSE(refused.decision.accept);
  const std::string notes = [&] {
    std::string all;
    for (const auto& n : refused.decision.reasons) all += n + "\n";
    return all;
  }();
  EXPECT_NE(notes.find("requested peak of 1.00 cores x 3.00 = 3.00 cores"), std::string::npos) << notes;
  EXPECT_NE(notes.find("last 8 functions admitted here unmeasured"), std::string::npos) << notes;
  AdmitRequest four = five;
  four.instances = 4;
  EXPECT_TRUE(taught.admit(four, now).decision.accept);
  // Newcomers that used less than they asked for never shrink a request; quantile 0 trusts requests.
  EXPECT_DOUBLE_EQ(host_after_newcomers(8, 0.5).newcomers().factor(), 1.0);
  EXPECT_TRUE(host_after_newcomers(8, 3.0, 0.0).admit(five, now).decision.accept);
}

TEST(NodeCore, AFunctionThatMovesKeepsItsShape) {
  std::mt19937_64 rng(4);
  NodeCore host(config(16), "h");
  const int64_t t = run(host, {{"other", [](int64_t) { return 1.0; }}}, 1);
  ASSERT_TRUE(host.hear_function("mover", summary_blob("mover", day_worker(rng), 7)));
  run(host, {{"other", [](int64_t) { return 1.0; }}, {"mover", day_worker(rng)}}, 1.0 / 288, t + kStep);
  const auto& model = host.models().at("mover");
  EXPECT_GE(model.confidence(), 1.0) << "seeded with the week it ran elsewhere";
  const auto day = model.day_profile();
  EXPECT_NEAR(day.mean[48], 6.0, 0.3);  // 12:00, never observed here yet
  EXPECT_NEAR(day.mean[8], 1.0, 0.3);
}

// A function that ran here, left for days and ran elsewhere is judged by what it did
// since (its gossiped summary), not by this host's old model of it; when it comes back,
// its model resumes from that summary, so the most it ever used is not forgotten and is
// what this host publishes for it from then on.
TEST(NodeCore, AFunctionBackAfterDaysAwayIsJudgedByWhatItDidElsewhere) {
  NodeCore host(config(16), "h");
  const Series steady = [](int64_t) { return 2.0; };
  const Series quiet = [](int64_t) { return 1.0; };
  int64_t t = run(host, {{"steady", steady}, {"batch", quiet}}, 3);
  t = run(host, {{"steady", steady}}, 3, t + kStep);  // batch runs elsewhere meanwhile
  // Elsewhere it ran quietly too, but for one hour at 7 cores.
  NodeCore elsewhere(config(16), "elsewhere");
  run(elsewhere, {{"batch", [](int64_t u) { return u > kMidnight + 4 * 86400 && u <= kMidnight + 4 * 86400 + 3600 ? 7.0 : 1.0; }}}, 6);
  ASSERT_NEAR(elsewhere.models().at("batch").highest(), 7.0, 1e-9);
  ASSERT_TRUE(host.hear_function("batch", shape::encode(elsewhere.summary_of("batch", 1))));
  ASSERT_FALSE(host.measures("batch"));

  const Answer a = host.admit(request("batch"), static_cast<double>(t));
  ASSERT_TRUE(a.ok()) << a.error;
  EXPECT_EQ(a.decision.sizing.rfind("gossiped summary", 0), 0u) << a.decision.sizing;
  EXPECT_NEAR(a.decision.peaks_fit_cores, 2.0 + 7.0, 0.05) << "steady's 2 cores and batch's burst elsewhere";

  // It comes back: one tick, and its model here carries the burst it had elsewhere.
  t = run(host, {{"steady", steady}, {"batch", quiet}}, 1.0 / 288, t + kStep);
  ASSERT_TRUE(host.measures("batch"));
  EXPECT_GE(host.models().at("batch").highest(), 7.0);
  EXPECT_GE(shape::highest_of(host.summary_of("batch", 2)), 7.0);
  EXPECT_EQ(host.admit(request("batch"), static_cast<double>(t)).decision.sizing.rfind("learned here", 0), 0u);
}

// A function that started here before gossip brought its record (a host just opened, a
// record still spreading) learns it afresh; when the record arrives, the young model
// resumes from it, so this host does not republish a summary that forgets the function's
// history. Its own record (history rounded up to the hour) does not count as richer.
TEST(NodeCore, AModelStartedBeforeItsRecordArrivedResumesFromIt) {
  NodeCore host(config(16), "h");
  int64_t t = run(host, {{"batch", [](int64_t) { return 1.0; }}}, 2.0 / 24);  // 2 h, nothing heard
  ASSERT_LT(host.models().at("batch").history_s(), 3 * 3600.0);
  const std::string own = shape::encode(host.summary_of("batch", 1));
  host.hear_gossiped("batch", [&](const std::string&) { return std::optional<std::string>(own); });
  EXPECT_LT(host.models().at("batch").history_s(), 3 * 3600.0) << "its own record is not news";
  EXPECT_NEAR(host.models().at("batch").highest(), 1.0, 1e-3);

  // Elsewhere it ran for 3 days and once used 7 cores.
  NodeCore elsewhere(config(16), "elsewhere");
  run(elsewhere, {{"batch", [](int64_t u) { return u >= kMidnight + 86400 && u < kMidnight + 86400 + 3600 ? 7.0 : 1.0; }}}, 3);
  const std::string richer = shape::encode(elsewhere.summary_of("batch", 2));
  host.hear_gossiped("batch", [&](const std::string&) { return std::optional<std::string>(richer); });
  EXPECT_GE(host.models().at("batch").history_s(), 2 * 86400.0) << "resumed from the 3 days elsewhere";
  EXPECT_GE(host.models().at("batch").highest(), 7.0);
  t = run(host, {{"batch", [](int64_t) { return 1.0; }}}, 1.0 / 288, t + kStep);
  EXPECT_GE(shape::highest_of(host.summary_of("batch", 3)), 7.0) << "what this host publishes keeps the burst";
  EXPECT_GE(host.admit(request("batch"), static_cast<double>(t)).decision.confidence, 1.0);
}

// ...and the host says nothing of it before then: a host that has just joined holds back
// its summaries until its gossip replica caught up with the fleet's records (on Bitbrains'
// functions ten times over, 110 functions seen before started blind on hosts opened in the
// step, and their summaries, the newest writes, erased their histories fleet-wide).
TEST(NodeCore, NoSummaryGoesOutBeforeTheReplicaCaughtUp) {
  NodeCore host(config(16), "h");
  const int64_t t = run(host, {{"batch", [](int64_t) { return 1.0; }}}, 1.0 / 288);  // started blind
  Publisher publisher;
  const auto held = [](const std::string&) { return false; };
  const Publication early = publisher.due(host, static_cast<double>(t), held, /*caught_up=*/false);
  EXPECT_TRUE(early.advert) << "the host's own advert is its to tell";
  EXPECT_TRUE(early.functions.empty()) << "a summary of a model that knows nothing yet";

  NodeCore elsewhere(config(16), "elsewhere");
  run(elsewhere, {{"batch", [](int64_t u) { return u >= kMidnight + 86400 && u < kMidnight + 86400 + 3600 ? 7.0 : 1.0; }}}, 3);
  const std::string record = shape::encode(elsewhere.summary_of("batch", 1));
  host.hear_gossiped("batch", [&](const std::string&) { return std::optional<std::string>(record); });
  const Publication caught_up = publisher.due(host, static_cast<double>(t) + 1, held, /*caught_up=*/true);
  ASSERT_EQ(caught_up.functions.size(), 1u) << "due at once once caught up, not after the interval";
  const auto summary = shape::decode(caught_up.functions[0].second);
  ASSERT_TRUE(summary);
  EXPECT_GE(summary->history_s, 2 * 86400u) << "what goes out carries the history it had elsewhere";
  EXPECT_GE(shape::highest_of(*summary), 7.0);
}

// A model with a day behind it keeps its own shape, but the most the function used on
// another host (where it also runs, or ran) still raises its highest here.
TEST(NodeCore, AMatureModelTakesOnlyTheHighestFromGossip) {
  NodeCore host(config(16), "h");
  run(host, {{"api", [](int64_t) { return 2.0; }}}, 2);
  const double history = host.models().at("api").history_s();
  const std::string elsewhere = summary_blob("api", [](int64_t u) { return (u / kStep) % 50 == 0 ? 5.0 : 2.0; }, 4);
  host.hear_gossiped("api", [&](const std::string&) { return std::optional<std::string>(elsewhere); });
  EXPECT_EQ(host.models().at("api").history_s(), history);
  EXPECT_GE(host.models().at("api").highest(), 5.0);
  EXPECT_NEAR(host.models().at("api").day_profile().mean[10], 2.0, 0.05);
}

// A recent level shift raises a function's means (what it runs at now), and its peaks
// with them, but never above the most it was ever seen to use: the shift is a
// projection, a peak an observation. A daily 8-core job that runs at 3 cores instead of
// 0.5 in its last hours projects 10.5 cores at its job's hour; counted so, peaks fit
// refused it next to a 7-core tenant (17.5 > 16) where packing by peaks takes it (15);
// and once admitted, it must count at 8 in the host's sum of peaks, not at 10.5.
TEST(NodeCore, ARecentShiftDoesNotRaiseAPeakAboveTheHighestUseSeen) {
  const Series job = [](int64_t t) {
    const bool recent = t >= kMidnight + 6 * 86400 + 20 * 3600;
    if (hour_of(t) >= 10 && hour_of(t) < 14) return 8.0;
    return recent ? 3.0 : 0.5;
  };
  NodeCore host(config(16), "h");
  const int64_t t = run(host, {{"steady", [](int64_t) { return 7.0; }}}, 7);
  ASSERT_TRUE(host.hear_function("job", summary_blob("job", job, 7)));

  const Answer a = host.admit_and_reserve(request("job"), static_cast<double>(t));
  ASSERT_TRUE(a.ok()) << a.error;
  EXPECT_TRUE(a.decision.accept) << a.decision.reasons.front();
  EXPECT_TRUE(a.decision.accepted_because_peaks_fit) << "the projection counts the shifted means: 7 + 10.5";
  EXPECT_NEAR(a.decision.peaks_fit_cores, 15.0, 0.1);
  EXPECT_NEAR(host.advert().tenants_peak_cores, 15.0, 0.1) << "the reservation counts at its highest use, 8";
}

// A tenant admitted before this host trusts its model -- blind at its declared size, or
// from a gossiped summary -- counts at no less than what it has shown here since: a
// 1-core declaration that runs at 6 cores fills 6.
TEST(NodeCore, AnAdmittedTenantCountsAtWhatItHasShownSince) {
  NodeConfig c = config(16);
  c.policy.target_overload_rate = 0;  // pack by peaks: the arithmetic is plain
  NodeCore host(c, "h");
  int64_t t = run(host, {}, 1.0 / 288);
  AdmitRequest declared = request("newcomer");
  declared.peak_cores = 1.0;
  ASSERT_TRUE(host.admit_and_reserve(declared, static_cast<double>(t)).decision.accept);
  // "moved" ran elsewhere for half a day at 1 core (its summary is not trusted yet either).
  ASSERT_TRUE(host.hear_function("moved", summary_blob("moved", [](int64_t) { return 1.0; }, 0.4)));
  ASSERT_TRUE(host.admit_and_reserve(request("moved"), static_cast<double>(t)).decision.accept);
  const Series six = [](int64_t) { return 6.0; }, five = [](int64_t) { return 5.0; };
  t = run(host, {{"newcomer", six}, {"moved", five}}, 1.0 / 24, t + kStep);  // an hour here
  ASSERT_LT(host.models().at("newcomer").confidence(), c.policy.min_confidence);
  ASSERT_LT(host.models().at("moved").confidence(), c.policy.min_confidence);
  EXPECT_NEAR(host.advert().tenants_peak_cores, 11.0, 0.01) << "6 + 5, not the 1 + 1 they were admitted as";
  AdmitRequest other = request("other");
  other.peak_cores = 6.0;
  EXPECT_FALSE(host.admit(other, static_cast<double>(t)).decision.accept) << "11 + 6 > 16";
  other.peak_cores = 4.5;
  EXPECT_TRUE(host.admit(other, static_cast<double>(t)).decision.accept);
}

// Idle batch VMs that once ran at half the host for a few hours (Bitbrains' regime
// jumps): a week of history is mostly idle, so the projection would overcommit two of
// them -- but nothing in that history says when they will next jump. Lumps (each ≥ a
// quarter of the limit) must fit at their peaks for the time of day; a pair whose jumps
// came at different times of day still shares the host.
Series idle_with_one_jump(int day, double from_h, double to_h) {
  return [=](int64_t t) {
    const bool jumped = (t - kMidnight) / 86400 == day && hour_of(t) >= from_h && hour_of(t) < to_h;
    return jumped ? 8.25 : 0.5;
  };
}

TEST(NodeCore, LumpsThatJumpedAtTheSameTimeOfDayAreNotOvercommitted) {
  NodeCore host(config(16), "h");
  const int64_t t = run(host, {{"batch-a", idle_with_one_jump(3, 10, 14)}, {"web", [](int64_t) { return 1.0; }}}, 7);
  ASSERT_TRUE(host.hear_function("batch-b", summary_blob("batch-b", idle_with_one_jump(5, 11, 15), 7)));
  ASSERT_TRUE(host.hear_function("batch-c", summary_blob("batch-c", idle_with_one_jump(5, 20, 23), 7)));

  const Answer same = host.admit(request("batch-b"), static_cast<double>(t));
  const Answer apart = host.admit(request("batch-c"), static_cast<double>(t));
  ASSERT_TRUE(same.ok() && apart.ok());
  EXPECT_FALSE(same.decision.accept) << same.decision.reasons.front();
  EXPECT_NE(same.decision.reasons.front().find("their observed peaks for the time of day"), std::string::npos)
      << same.decision.reasons.front();
  // 11:00-14:00: both at 8.25 on top of the web tenant's 1: 17.5 (decayed a little).
  EXPECT_GT(same.decision.lumps_cores, 16.5);
  EXPECT_LT(same.decision.projected_overload_rate, 0.001) << "the projection alone would have accepted it";
  EXPECT_TRUE(apart.decision.accept) << apart.decision.reasons.front();
  EXPECT_LT(apart.decision.lumps_cores, 11.0) << "their jumps never shared a slot: 8.25 + two idle means";

  NodeConfig off = config(16);
  off.policy.lump_share = 0;
  NodeCore unguarded(off, "h");
  run(unguarded, {{"batch-a", idle_with_one_jump(3, 10, 14)}, {"web", [](int64_t) { return 1.0; }}}, 7);
  ASSERT_TRUE(unguarded.hear_function("batch-b", summary_blob("batch-b", idle_with_one_jump(5, 11, 15), 7)));
  const Answer unguarded_same = unguarded.admit(request("batch-b"), static_cast<double>(t));
  EXPECT_TRUE(unguarded_same.decision.accept) << "without the guard the projection overcommits the pair";
  EXPECT_TRUE(std::isnan(unguarded_same.decision.lumps_cores));
}

// When an idle batch VM leaves, the host's means and spreads may hardly move but its
// peaks and lumps do; a peer still holding the old ones would refuse what fits, so
// either alone makes the advert worth sending.
TEST(NodeCore, AnAdvertIsWorthSendingWhenOnlyItsPeaksOrLumpsChanged) {
  NodeCore host(config(16), "h");
  const int64_t t = run(host, {{"batch-a", idle_with_one_jump(3, 10, 14)}, {"web", [](int64_t) { return 4.0; }}}, 7);
  const HostAdvert before = host.advert();
  ASSERT_FALSE(before.lump_excess.empty());
  EXPECT_FALSE(significantly_changed(before, before, 0.05));

  HostAdvert peaks_gone = before;
  peaks_gone.tenants_peak_cores -= 8.25;
  peaks_gone.lump_excess.clear();
  EXPECT_TRUE(significantly_changed(before, peaks_gone, 0.05));
  HostAdvert lumps_only = before;
  lumps_only.lump_excess.assign(before.lump_excess.size(), 0.0);
  EXPECT_TRUE(significantly_changed(before, lumps_only, 0.05));
  HostAdvert peaks_only = before;
  peaks_only.tenants_peak_cores += 2.0;
  EXPECT_TRUE(significantly_changed(before, peaks_only, 0.05));
  HostAdvert braked = before;
  braked.measured_overload_rate = 0.002;  // from 0: peers must learn the host brakes
  EXPECT_TRUE(significantly_changed(before, braked, 0.05));
  HostAdvert fading = braked;
  fading.measured_overload_rate = 0.00199;
  EXPECT_FALSE(significantly_changed(braked, fading, 0.05)) << "0.5 % of the rate";
  HostAdvert a_little = before;
  a_little.tenants_peak_cores += 0.1;
  EXPECT_FALSE(significantly_changed(before, a_little, 0.05)) << "0.1 core of peaks is below 5 % of the host's peak";

  // The publisher follows: the advert goes out after the minimum interval, not the refresh.
  Publisher publisher;
  ASSERT_TRUE(publisher.due(host, static_cast<double>(t), {}, true).advert);
  run(host, {{"web", [](int64_t) { return 4.0; }}}, 1.0 / 288, t + kStep);  // batch-a leaves
  EXPECT_TRUE(publisher.due(host, static_cast<double>(t) + 31, {}, true).advert);
}

// Every agent hears every re-send, so re-sending unchanged summaries every few minutes
// is traffic that grows with the fleet. An unchanged summary goes out again only when
// this agent's replica lost it (its last author was purged, or a cap evicted it) or at
// the hourly refresh.
TEST(NodeCore, AnUnchangedSummaryIsResentOnlyWhenTheReplicaLostItOrHourly) {
  NodeCore host(config(16), "h");
  const double t = static_cast<double>(run(host, {{"web", [](int64_t) { return 4.0; }}}, 7));
  Publisher publisher;
  bool held = true;
  const auto sent = [&](double at) {
    return publisher.due(host, at, [&](const std::string&) { return held; }, true).functions.size();
  };
  ASSERT_EQ(sent(t), 1u);
  size_t resent = 0;
  for (double at = t + 30; at < t + 3000; at += 30) resent += sent(at);
  EXPECT_EQ(resent, 0u) << "nothing changed and the replica holds it";
  held = false;
  EXPECT_EQ(sent(t + 3030), 1u) << "lost everywhere: back at the next check";
  EXPECT_EQ(publisher.counters().summaries_restored, 1u);
  held = true;
  EXPECT_EQ(sent(t + 3060), 0u);
  EXPECT_EQ(sent(t + 3030 + 3600), 1u) << "the hourly refresh";
}

// Lumps travel in the advert a peer judges by: rounded up, never lighter, and a peer's
// advert whose lumps do not fit its slots is refused with a reason.
TEST(NodeCore, LumpsTravelInTheAdvertRoundedUpAndMalformedOnesAreRefused) {
  NodeCore host(config(16), "h");
  run(host, {{"batch-a", idle_with_one_jump(3, 10, 14)}, {"web", [](int64_t) { return 4.0; }}}, 7);
  const HostAdvert& own = host.advert();  // the host decides on its own decoded bytes
  ASSERT_EQ(own.lump_excess.size(), own.aggregate.slots());
  const double top = *std::max_element(own.lump_excess.begin(), own.lump_excess.end());
  EXPECT_GT(top, 6.0) << "an 8.25-core jump over a mean near 1.6";
  const auto again = decode_advert(host.advert_blob());
  ASSERT_TRUE(again);
  for (size_t w = 0; w < own.lump_excess.size(); ++w) EXPECT_GE(again->lump_excess[w], own.lump_excess[w]);

  proto::HostAdvert m;
  std::string_view payload;
  ASSERT_TRUE(util::unframe(host.advert_blob(), kAdvertFormat, kMaxAdvertBytes, &payload, nullptr));
  ASSERT_TRUE(m.ParseFromArray(payload.data(), static_cast<int>(payload.size())));
  m.set_lump_excess(m.lump_excess().substr(0, 10));  // 5 slots of 96
  std::string why;
  EXPECT_FALSE(decode_advert(util::frame(kAdvertFormat, m.SerializeAsString()), &why));
  EXPECT_NE(why.find("lump"), std::string::npos) << why;
}

// A restart is not a departure: the saved model of a function measured just before it
// still speaks for it, even when a summary of it has been heard.
TEST(NodeCore, AfterARestartTheSavedModelStillSpeaksForItsFunctions) {
  NodeCore before(config(16), "h");
  const int64_t t = run(before, {{"steady", [](int64_t) { return 2.0; }}}, 2);
  NodeCore after(config(16), "h");
  std::string error;
  ASSERT_TRUE(after.load_state(before.save_state(), &error)) << error;
  ASSERT_TRUE(after.hear_function("steady", summary_blob("steady", [](int64_t) { return 5.0; }, 2)));
  EXPECT_TRUE(after.measures("steady"));
  const Answer a = after.admit(request("steady"), static_cast<double>(t));
  EXPECT_EQ(a.decision.sizing.rfind("learned here", 0), 0u) << a.decision.sizing;
  run(after, {{"steady", [](int64_t) { return 2.0; }}}, 1.0 / 288, t + kStep);  // the first tick after the restart
  EXPECT_NEAR(after.models().at("steady").highest(), 2.0, 1e-3) << "not replaced by the heard summary (5 cores)";
}

// The host counts the host-time it was measured above its limit (faded, half-life a day),
// advertises it, and a peer's view of it brakes the same way.
TEST(NodeCore, MeasuredOverloadIsCountedFadesAndTravels) {
  NodeConfig peaks_fit = config(8);
  peaks_fit.policy.accept_when_peaks_fit = true;
  NodeCore a(peaks_fit, "a", "tcp://a");
  int64_t t = run(a, {{"steady", [](int64_t) { return 4.0; }}}, 1.0);
  EXPECT_EQ(a.measured_overload_rate(), 0.0);
  t = run(a, {{"steady", [](int64_t) { return 9.0; }}}, 1.0 / 24, t + kStep);  // an hour above 8 cores
  const double after_hour = a.measured_overload_rate();
  EXPECT_NEAR(after_hour, 3600.0 / (3600 + 86400 / std::log(2.0) * (1 - std::exp2(-1.0))), 0.01);
  EXPECT_GT(after_hour, 0.03);
  NodeCore b(peaks_fit, "b", "tcp://b");
  ASSERT_TRUE(b.hear_peer({"a", "tcp://a", true, a.advert_blob()}));
  AdmitRequest r = request("tiny");
  r.peak_cores = 0.1;
  const PlaceAnswer placed = b.place(r, static_cast<double>(t));
  const auto as_peer = std::find_if(placed.hosts.begin(), placed.hosts.end(), [](const PlaceOption& o) { return o.node_id == "a"; });
  ASSERT_NE(as_peer, placed.hosts.end());
  EXPECT_NEAR(as_peer->decision.measured_overload_rate, after_hour, 1e-6);
  EXPECT_DOUBLE_EQ(as_peer->decision.measured_overload_rate, a.admit(r, static_cast<double>(t)).decision.measured_overload_rate);
  // Four calm days later the overloaded hour counts a sixteenth as much, against more
  // host-time (the faded total approaches 1.44 days): about a thirtieth of the rate.
  run(a, {{"steady", [](int64_t) { return 4.0; }}}, 4.0, t + kStep);
  EXPECT_LT(a.measured_overload_rate(), after_hour / 16);
  EXPECT_GT(a.measured_overload_rate(), after_hour / 32);
}

// shape.highest_window waits for the platform to act on relief (the default): a host
// named a tenant to move, and the tenant stayed: every highest use is kept for good.
// Once a named tenant leaves within kReliefFollowedWithinS, the window applies to every
// model, the advert says so, a peer that hears it opens its own, and a restart keeps it.
TEST(NodeCore, TheHighestWindowOpensOnceReliefIsActedUpon) {
  NodeConfig c = config(8);
  c.shape.highest_window_s = 2 * 86400.0;
  ASSERT_TRUE(c.shape.highest_window_after_relief) << "the default";
  NodeCore host(c, "h", "tcp://h");
  const auto tick = [](NodeCore& core, int64_t t, const std::map<std::string, double>& cores) {
    Tick k;
    k.unix_ms = t * 1000;
    k.dt_s = kStep;
    for (const auto& [name, used] : cores) k.functions[name] = {used, 1};
    core.observe(k, static_cast<double>(t));
  };
  int64_t t = kMidnight;
  // An hour at 9 cores: relief names a tenant, the platform leaves it where it is.
  for (int i = 0; i < 12; ++i, t += kStep) tick(host, t, {{"a", 3.0}, {"b", 6.0}});
  ASSERT_TRUE(host.relief());
  const std::string named = host.relief()->function;
  host.departed(named == "a" ? "b" : "a");  // another tenant leaving is no evidence
  for (int i = 0; i < 3 * 288; ++i, t += kStep) tick(host, t, {{"a", 3.0}, {"b", 1.0}});
  EXPECT_FALSE(host.relief_followed()) << "the named tenant stayed";
  EXPECT_DOUBLE_EQ(host.models().at("b").highest(), 6.0) << "three days on, the 2-day window not open";
  EXPECT_FALSE(host.advert().relief_followed);
  // Another spell above capacity, and this time the named tenant leaves.
  tick(host, t, {{"a", 3.0}, {"b", 1.0}, {"c", 5.0}});
  t += kStep;
  ASSERT_TRUE(host.relief());
  std::map<std::string, double> rest{{"a", 3.0}, {"b", 1.0}, {"c", 5.0}};
  rest.erase(host.relief()->function);
  tick(host, t, rest);
  EXPECT_TRUE(host.relief_followed());
  EXPECT_LT(host.models().at("b").highest(), 6.0 * 0.75) << "its burst is three days old: forgotten";
  EXPECT_TRUE(host.advert().relief_followed);
  // A peer's word opens a host's window; a restart keeps it open.
  NodeCore peer(c, "p", "tcp://p");
  ASSERT_TRUE(peer.hear_peer({"h", "tcp://h", true, host.advert_blob()}));
  EXPECT_TRUE(peer.relief_followed());
  NodeCore restarted(c, "h", "tcp://h");
  std::string error;
  ASSERT_TRUE(restarted.load_state(host.save_state(), &error)) << error;
  EXPECT_TRUE(restarted.relief_followed());
  EXPECT_DOUBLE_EQ(restarted.models().at("b").highest(), host.models().at("b").highest());
  // A departure long after the naming is the platform's own business: no evidence.
  NodeCore late(c, "l", "tcp://l");
  t = kMidnight;
  for (int i = 0; i < 12; ++i, t += kStep) tick(late, t, {{"a", 3.0}, {"b", 6.0}});
  for (int i = 0; i < 12; ++i, t += kStep) tick(late, t, {{"a", 3.0}, {"b", 1.0}});
  ASSERT_FALSE(late.relief());
  late.departed("a");
  late.departed("b");
  tick(late, t, {});
  EXPECT_FALSE(late.relief_followed()) << "an hour after the last naming";
}

}  // namespace
}  // namespace antiphase::node

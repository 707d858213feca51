// The memory guard with numbers: committed memory per mode, the room it leaves, where a
// candidate's memory comes from, verdicts and their sentences, the request field, and
// how the verdict combines with the CPU decision.
#include <gtest/gtest.h>

#include "common/admission/memory_guard.h"
#include "common/admission/memory_guard_json.h"
#include "common/admission/policy.h"
#include "tests/admission/test_profiles.h"

namespace antiphase::admission {
namespace {

using nlohmann::json;
using testing::day_profile;
using testing::flat;

constexpr uint64_t kMiB = 1024 * 1024, kGiB = 1024 * kMiB;

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

// A limited tenant, an unlimited one, an unmeasured one, and one whose "limit" is more
// than the 16 GiB host has.
std::vector<TenantMemory> four_tenants() {
  return {{1 * kGiB, 2 * kGiB}, {1 * kGiB, std::nullopt}, {std::nullopt, std::nullopt}, {512 * kMiB, 64 * kGiB}};
}

TEST(CommittedMemory, LimitsModeCountsLimitsAndFallsBackToPeaksWithTheMargin) {
  const CommittedMemory c = committed_memory({CommittedMemoryMode::Limits, 1.25}, four_tenants(), 16 * kGiB);
  EXPECT_EQ(c.bytes, 2 * kGiB + 1280 * kMiB + 640 * kMiB);  // 2 GiB + 1 GiB × 1.25 + 512 MiB × 1.25
  EXPECT_EQ(c.by_limit, 1u);
  EXPECT_EQ(c.by_peak, 2u);
  EXPECT_EQ(c.unmeasured, 1u);
}

TEST(CommittedMemory, PeaksModeCountsEveryMeasuredTenantAtPeakTimesMargin) {
  const CommittedMemory c = committed_memory({CommittedMemoryMode::Peaks, 1.5}, four_tenants(), 16 * kGiB);
  EXPECT_EQ(c.bytes, 1536 * kMiB + 1536 * kMiB + 768 * kMiB);
  EXPECT_EQ(c.by_limit, 0u);
  EXPECT_EQ(c.by_peak, 3u);
  EXPECT_EQ(c.unmeasured, 1u);
}

TEST(MemoryRoom, FreeIsUsableLessCommittedCappedByAvailableLessReserve) {
  HostMemory host{16 * kGiB, 1 * kGiB, {10 * kGiB, 5, 0, 0}, std::nullopt};
  MemoryRoom room = memory_room(host);
  EXPECT_EQ(room.usable_bytes, 15 * kGiB);
  EXPECT_EQ(room.free_bytes, 5 * kGiB);
  EXPECT_FALSE(room.available_binds);
  host.available_bytes = 4 * kGiB;  // something the committed sum cannot see holds memory
  room = memory_room(host);
  EXPECT_EQ(room.free_bytes, 3 * kGiB);
  EXPECT_TRUE(room.available_binds);
  host.committed.bytes = 20 * kGiB;  // overcommitted: no room, not a wrap-around
  EXPECT_EQ(memory_room(host).free_bytes, 0u);
}

TEST(MemoryNeed, DeclaredThenLearnedHereThenGossipedElseUnknown) {
  const MemoryGuardConfig config{CommittedMemoryMode::Limits, 1.25};
  MemoryNeed n = memory_need(config, 3, 512 * kMiB, 100 * kMiB, 200 * kMiB);
  EXPECT_EQ(n.source, MemorySource::Declared);
  EXPECT_EQ(n.per_instance_bytes, 512 * kMiB) << "a declared limit is taken as is";
  n = memory_need(config, 3, std::nullopt, 100 * kMiB, 200 * kMiB);
  EXPECT_EQ(n.source, MemorySource::LearnedHere);
  EXPECT_EQ(n.per_instance_bytes, 125 * kMiB);
  n = memory_need(config, 3, std::nullopt, std::nullopt, 200 * kMiB);
  EXPECT_EQ(n.source, MemorySource::Gossiped);
  EXPECT_EQ(n.per_instance_bytes, 250 * kMiB);
  n = memory_need(config, 3, std::nullopt, std::nullopt, std::nullopt);
  EXPECT_EQ(n.source, MemorySource::Unknown);
  EXPECT_FALSE(n.per_instance_bytes.has_value());
  EXPECT_EQ(n.instances, 3u);
}

HostMemory full_host() {
  // 16 GiB, 1 GiB reserve, 14.9 GiB committed by the limits of 30 tenants: 102.4 MiB free.
  return {16 * kGiB, 1 * kGiB, {15 * kGiB - 1024 * kMiB / 10, 30, 0, 0}, 12 * kGiB};
}

TEST(MemoryGuard, AFullHostRejectsASmallCandidateAndSaysMemoryWithTheNumbers) {
  const MemoryGuardConfig config;
  const MemoryVerdict v = check_memory(config, full_host(), "thumbnailer", memory_need(config, 1, 256 * kMiB, {}, {}));
  EXPECT_TRUE(v.checked);
  EXPECT_FALSE(v.fits);
  EXPECT_EQ(v.need_bytes, 256 * kMiB);
  EXPECT_EQ(v.free_bytes, 15 * kGiB - v.committed->bytes);
  EXPECT_NEAR(static_cast<double>(v.free_bytes) / kMiB, 102.4, 0.01);
  EXPECT_NEAR(static_cast<double>(v.headroom_bytes) / kMiB, 102.4 - 256, 0.01);
  EXPECT_TRUE(contains(v.reason, "Rejected on memory")) << v.reason;
  EXPECT_TRUE(contains(v.reason, "256.0 MiB")) << v.reason;
  EXPECT_TRUE(contains(v.reason, "102.4 MiB of 15.00 GiB usable is free")) << v.reason;
  EXPECT_TRUE(contains(v.reason, "the limits of 30 tenants")) << v.reason;
}

TEST(MemoryGuard, FitsWithTheRoomLeft) {
  const MemoryGuardConfig config;
  const HostMemory host{16 * kGiB, 1 * kGiB, {10 * kGiB, 8, 2, 0}, std::nullopt};
  const MemoryVerdict v = check_memory(config, host, "api", memory_need(config, 4, 512 * kMiB, {}, {}));
  EXPECT_TRUE(v.fits);
  EXPECT_EQ(v.need_bytes, 2 * kGiB);
  EXPECT_EQ(v.free_bytes, 5 * kGiB);
  EXPECT_EQ(v.headroom_bytes, static_cast<int64_t>(3 * kGiB));
  EXPECT_EQ(v.reason,
            "Memory fits: 4 instance(s) of 'api' need 2.00 GiB (512.0 MiB each, declared in the request); "
            "5.00 GiB of 15.00 GiB usable is free (16.00 GiB less a 1.00 GiB reserve; 10.00 GiB committed: the "
            "limits of 8 tenants, the peaks × 1.25 of 2 tenants), leaving 3.00 GiB.");
}

TEST(MemoryGuard, ExactlyFullStillFitsOneByteMoreDoesNot) {
  const MemoryGuardConfig config;
  const HostMemory host{16 * kGiB, 0, {15 * kGiB, 1, 0, 0}, std::nullopt};
  EXPECT_TRUE(check_memory(config, host, "f", memory_need(config, 2, 512 * kMiB, {}, {})).fits);
  EXPECT_FALSE(check_memory(config, host, "f", memory_need(config, 1, kGiB + 1, {}, {})).fits);
}

TEST(MemoryGuard, UnknownMemoryIsRefusedWithAReason) {
  const MemoryGuardConfig config;
  const HostMemory host{16 * kGiB, 1 * kGiB, {}, std::nullopt};
  const MemoryVerdict v = check_memory(config, host, "mystery", memory_need(config, 1, {}, {}, {}));
  EXPECT_FALSE(v.fits);
  EXPECT_TRUE(contains(v.reason, "unknown")) << v.reason;
  EXPECT_TRUE(contains(v.reason, "memory_bytes")) << v.reason;
}

TEST(MemoryGuard, UnknownCapacityRefusesAndOffAcceptsWithoutChecking) {
  const MemoryGuardConfig on;
  EXPECT_FALSE(check_memory(on, HostMemory{}, "f", memory_need(on, 1, kMiB, {}, {})).fits);
  const MemoryGuardConfig off{CommittedMemoryMode::Off, 1.25};
  const MemoryVerdict v = check_memory(off, full_host(), "f", memory_need(off, 1, {}, {}, {}));
  EXPECT_TRUE(v.fits);
  EXPECT_FALSE(v.checked);
}

TEST(MemoryGuard, APeerIsJudgedByTheFreeMemoryItGossiped) {
  const MemoryGuardConfig config;
  const MemoryVerdict v = check_memory(config, 1 * kGiB, "etl", memory_need(config, 2, {}, {}, 600 * kMiB));
  EXPECT_FALSE(v.fits);
  EXPECT_EQ(v.need_bytes, 1500 * kMiB);  // 2 × 600 MiB × 1.25
  EXPECT_FALSE(v.usable_bytes.has_value());
  EXPECT_TRUE(contains(v.reason, "1.00 GiB is free on that host (as it gossiped)")) << v.reason;
  EXPECT_TRUE(contains(v.reason, "gossiped by a peer × 1.25")) << v.reason;
}

TEST(MemoryGuard, AvailableMemoryBindsAndTheSentenceSaysSo) {
  const MemoryGuardConfig config;
  HostMemory host{16 * kGiB, 1 * kGiB, {4 * kGiB, 0, 3, 2}, 2 * kGiB};
  const MemoryVerdict v = check_memory(config, host, "f", memory_need(config, 1, {}, 1 * kGiB, {}));
  EXPECT_FALSE(v.fits) << "1.25 GiB needed, 1 GiB available beyond the reserve";
  EXPECT_TRUE(v.available_binds);
  EXPECT_TRUE(contains(v.reason, "MemAvailable")) << v.reason;
  EXPECT_TRUE(contains(v.reason, "2 tenants without memory figures counted as 0")) << v.reason;
}

TEST(MemoryGuardJson, MemoryBytesMustBeAWholeSaneNumberAndErrorsNameTheField) {
  std::optional<uint64_t> out;
  std::string error;
  EXPECT_TRUE(read_memory_bytes(json{{"function", "f"}}, out, error));
  EXPECT_FALSE(out.has_value());
  EXPECT_TRUE(read_memory_bytes(json{{"memory_bytes", 536870912}}, out, error));
  EXPECT_EQ(out, 512 * kMiB);
  EXPECT_TRUE(read_memory_bytes(json{{"memory_bytes", 5.36870912e8}}, out, error));
  EXPECT_EQ(out, 512 * kMiB);
  for (const json& bad : {json(-5), json("512Mi"), json(1.5), json(0), json(nullptr), json(uint64_t{1} << 51),
                          json(-1e300), json(true), json::array({1})}) {
    error.clear();
    EXPECT_FALSE(read_memory_bytes(json{{"memory_bytes", bad}}, out, error)) << bad;
    EXPECT_TRUE(contains(error, "\"memory_bytes\"")) << error;
    EXPECT_TRUE(contains(error, bad.dump())) << error;
  }
}

// The two combined, through the real CPU policy. The host is busy 14:00-15:00 UTC.
struct Combined {
  Decision decision;
  MemoryVerdict memory;
};

Combined decide_both(const HostMemory& host_memory, const shape::SlotProfile& candidate_cpu, uint64_t memory_bytes) {
  const AdmissionPolicy policy(PolicyConfig{});
  HostView host;
  host.aggregate = day_profile(1.0, 5.0, 56, 60, 0.2);
  host.capacity_cores = 8.0;
  Candidate c;
  c.function = "candidate";
  c.profile = candidate_cpu;
  c.correlation = {0.0, 0.05};
  Combined out{policy.decide(host, c, 3.0), {}};
  const MemoryGuardConfig config;
  out.memory = check_memory(config, host_memory, c.function, memory_need(config, 1, memory_bytes, {}, {}));
  merge_memory(out.decision, out.memory);
  return out;
}

TEST(MemoryAndCpu, FullMemoryRejectsASmallCpuCandidateAndTheReasonNamesMemory) {
  const Combined r = decide_both(full_host(), flat(0.1, 0.01), 256 * kMiB);
  EXPECT_FALSE(r.decision.accept);
  EXPECT_GT(r.decision.headroom_cores, 1.0) << "CPU alone would have accepted";
  EXPECT_TRUE(contains(r.decision.reasons.front(), "Rejected on memory")) << r.decision.reasons.front();
  EXPECT_STREQ(binding_resource(r.decision, r.memory), "memory");
  const json j = to_json(r.decision, r.memory);
  EXPECT_EQ(j["bound_by"], "memory");
  EXPECT_EQ(j["memory"]["fits"], false);
  EXPECT_EQ(j["memory"]["need_bytes"], 256 * kMiB);
  EXPECT_EQ(j["accept"], false);
}

TEST(MemoryAndCpu, MemoryRoomButACpuShapeClashRejectsOnCpu) {
  const HostMemory roomy{16 * kGiB, 1 * kGiB, {2 * kGiB, 4, 0, 0}, std::nullopt};
  const Combined r = decide_both(roomy, day_profile(0.2, 3.0, 56, 60, 0.2), 256 * kMiB);
  EXPECT_TRUE(r.memory.fits);
  EXPECT_FALSE(r.decision.accept);
  EXPECT_TRUE(contains(r.decision.reasons.front(), "projected load")) << r.decision.reasons.front();
  EXPECT_TRUE(contains(r.decision.reasons[1], "Memory fits")) << r.decision.reasons[1];
  EXPECT_STREQ(binding_resource(r.decision, r.memory), "cpu");
}

TEST(MemoryAndCpu, AnAcceptanceNamesTheTighterResource) {
  // CPU: projected peak well under the 8-core limit. Memory: 14.9 of 15 GiB after.
  const HostMemory tight{16 * kGiB, 1 * kGiB, {14 * kGiB, 4, 0, 0}, std::nullopt};
  const Combined mem_tight = decide_both(tight, flat(0.1, 0.01), 900 * kMiB);
  EXPECT_TRUE(mem_tight.decision.accept);
  EXPECT_STREQ(binding_resource(mem_tight.decision, mem_tight.memory), "memory");
  const HostMemory roomy{16 * kGiB, 1 * kGiB, {1 * kGiB, 4, 0, 0}, std::nullopt};
  const Combined cpu_tight = decide_both(roomy, flat(1.5, 0.01), 100 * kMiB);  // peak 5 + 1.5 of 8 cores
  EXPECT_TRUE(cpu_tight.decision.accept);
  EXPECT_STREQ(binding_resource(cpu_tight.decision, cpu_tight.memory), "cpu");
}

}  // namespace
}  // namespace antiphase::admission

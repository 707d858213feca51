#pragma once
// The one place a default lives. config.h's keys and the domain structs they map to
// (shape::ShapeConfig, admission::PolicyConfig, CalibratorConfig, node::NodeConfig,
// the sampler options) all start from these, so the daemon, the replay and the tests
// cannot disagree about what "default" means. Header-only, no dependencies.
#include <cstdint>

namespace antiphase::defaults {

// [sampler]
inline constexpr double kTickS = 1.0;
inline constexpr uint32_t kPerfFrequencyHz = 49;  // a prime avoids locking to timers
inline constexpr uint32_t kMaxCgroups = 4096;

// [shape]
inline constexpr uint32_t kDaySlots = 96;
inline constexpr uint32_t kHourSlots = 60;
inline constexpr uint32_t kDayK = 48;
inline constexpr uint32_t kHourK = 16;
inline constexpr double kHalfLifePeriods = 7.0;
inline constexpr double kFullConfidenceS = 86400.0;
// How long a function's highest use counts in full once the window applies: chosen on
// the fleet replay's warm-up days (docs/benchmarks/replay.md "A window that waits for
// relief"). 0 keeps it for good (docs/admission.md, "What never forgetting costs").
inline constexpr double kHighestWindowS = 120 * 3600.0;
// The window applies only once this host, or a peer, has seen the platform act on a
// relief it named (the tenant left): a platform that never moves tenants keeps every
// highest use for good (docs/admission.md "A window that waits for relief").
inline constexpr bool kHighestWindowAfterRelief = true;

// [admission]
// The risk is the target overload rate, which the calibrated margin z enforces; a
// utilisation target below 1 is an extra cushion an operator may add on top.
inline constexpr double kTargetUtilisation = 1.0;
inline constexpr double kTargetOverloadRate = 0.001;
inline constexpr double kStaleAfterS = 30.0;
inline constexpr double kMinConfidence = 0.5;
// A tenant seen to jump at least this share of the host's limit above its slot mean is
// a "lump" there: such jumps are not overcommitted statistically (docs/admission.md).
inline constexpr double kLumpShare = 0.25;
inline constexpr double kReserveCores = 0.5;
// Weight of the Gaussian tail in the calibrated one: as if this many exceedances at the
// target rate had confirmed it (docs/admission.md).
inline constexpr double kTailPriorExceedances = 5.0;
// The least cross-term co-movement assumed for a newcomer (docs/admission.md).
inline constexpr double kComovementPrior = 0.2;
// Memory kept for everything that is not a tenant, and the factor on observed memory
// peaks (common/admission/memory_guard.h, docs/configuration.md).
inline constexpr uint64_t kMemoryReserveBytes = uint64_t{1} << 30;
// The most admission requests one POST /v1/rank may carry.
inline constexpr uint32_t kMaxRankCandidates = 1000;
// Decoded summaries a node core keeps of functions it was asked about but does not run
// (4.4 KB each, measured: the day profile in doubles, the embedding, the sketch, for a
// 243-byte blob): an agent asked about every function of a 10,000-host fleet (~31,600)
// would otherwise hold ~140 MB of them. Beyond this the least recently heard are dropped
// (~9 MB kept) and decoded again from the gossip replica when asked about again.
inline constexpr uint32_t kMaxHeardFunctions = 2048;
// One /v1/rank hears all its candidates before it decides: none may be dropped meanwhile.
static_assert(kMaxHeardFunctions - kMaxHeardFunctions / 8 >= kMaxRankCandidates);
inline constexpr double kMemoryPeakMargin = 1.25;
// An unknown function is sized at its request times this quantile of what earlier
// newcomers here used per core requested (docs/admission.md "Newcomers").
inline constexpr double kNewcomerQuantile = 0.9;
// A host above its capacity this long without a break names a tenant to move
// (docs/admission.md "Relief"): one sampling period of the traces we replay, and five
// minutes of a live host's ticks. 0 = never.
inline constexpr double kReliefAfterS = 300;

}  // namespace antiphase::defaults

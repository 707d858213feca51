#pragma once
// The memory guard: may a candidate's memory join a host? Memory is not overcommitted
// the way CPU is (running out kills, it does not slow down), so this is a plain sum
// against capacity, decided next to the CPU rule and explained with the numbers.
//
//   usable    = capacity − reserve
//   free      = usable − committed         (and never more than MemAvailable − reserve)
//   need      = instances × per-instance memory
//   accept iff need ≤ free
//
// committed is what current tenants hold or may grow to (CommittedMemoryMode). The
// candidate's per-instance memory is its declared limit, else its learned peak here,
// else its peak gossiped by a peer (learned peaks × peak_margin); unknown → refused.
// Pure: no OS calls; the caller measures (agent/memory) and passes the figures in.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/admission/decision.h"
#include "common/config/defaults.h"

namespace antiphase::admission {

enum class CommittedMemoryMode {
  Limits,  // each tenant's memory limit; a tenant without one counts its peak × margin
  Peaks,   // each tenant's observed peak × margin (packs tighter, trusts history)
  Off,     // no memory guard: decisions are on CPU alone
};
const char* to_string(CommittedMemoryMode mode);
std::optional<CommittedMemoryMode> parse_committed_memory_mode(std::string_view text);

struct MemoryGuardConfig {
  CommittedMemoryMode mode = CommittedMemoryMode::Limits;
  // Observed peaks are what was seen, not what may come: they are scaled by this.
  double peak_margin = defaults::kMemoryPeakMargin;
};

// One tenant's memory on this host, summed over its instances (agent/usage FunctionMemory).
struct TenantMemory {
  std::optional<uint64_t> peak_bytes;   // nullopt: its memory could not be measured
  std::optional<uint64_t> limit_bytes;  // nullopt: no limit
};

struct CommittedMemory {
  uint64_t bytes = 0;
  uint32_t by_limit = 0;    // tenants counted at their limit
  uint32_t by_peak = 0;     // tenants counted at peak × margin
  uint32_t unmeasured = 0;  // tenants counted as 0 (no figures): MemAvailable still bounds
};

// Sums the tenants per the mode. A limit at or above `capacity_bytes` is no real limit
// (e.g. a platform's "unlimited" written as a huge number) and counts by peak instead.
CommittedMemory committed_memory(const MemoryGuardConfig& config, const std::vector<TenantMemory>& tenants,
                                 uint64_t capacity_bytes);

struct HostMemory {
  uint64_t capacity_bytes = 0;  // config, else MemTotal; 0 = unknown: nothing fits
  uint64_t reserve_bytes = 0;   // kept for everything that is not a tenant
  CommittedMemory committed;
  // MemAvailable now. When given, free memory never exceeds available − reserve, which
  // covers what the committed sum cannot see (unmeasured tenants, non-tenant growth).
  std::optional<uint64_t> available_bytes;
};

// What is left for newcomers. free_bytes is what a host gossips to its peers.
struct MemoryRoom {
  uint64_t usable_bytes = 0;
  uint64_t free_bytes = 0;
  bool available_binds = false;  // free was capped by MemAvailable − reserve
};
MemoryRoom memory_room(const HostMemory& host);

enum class MemorySource { Declared, LearnedHere, Gossiped, Unknown };
const char* to_string(MemorySource source);

struct MemoryNeed {
  std::optional<uint64_t> per_instance_bytes;  // nullopt: unknown → refused
  MemorySource source = MemorySource::Unknown;
  uint32_t instances = 1;
};

// First known of: the request's declared memory_bytes (a limit: taken as is), the peak
// learned here, the peak a peer gossiped (observed peaks: × peak_margin). Peaks are per
// instance (FunctionMemory::instance_peak_bytes, Summary::memory_peak_bytes).
MemoryNeed memory_need(const MemoryGuardConfig& config, uint32_t instances, std::optional<uint64_t> declared_bytes,
                       std::optional<uint64_t> learned_here_peak_bytes, std::optional<uint64_t> gossiped_peak_bytes);

struct MemoryVerdict {
  bool checked = false;  // false when the guard is off (then fits is true)
  bool fits = false;
  std::string function;
  MemoryNeed need;
  uint64_t need_bytes = 0;       // instances × per instance
  uint64_t free_bytes = 0;       // room before the candidate
  int64_t headroom_bytes = 0;    // free − need; negative when it does not fit
  // The host's side, when judged from its figures (absent for a peer known by free_bytes).
  std::optional<uint64_t> capacity_bytes, reserve_bytes, usable_bytes;
  std::optional<CommittedMemory> committed;
  bool available_binds = false;
  CommittedMemoryMode mode = CommittedMemoryMode::Limits;
  double peak_margin = 1.0;
  std::string reason;            // one human sentence with the numbers
};

// This host, from its own figures.
MemoryVerdict check_memory(const MemoryGuardConfig& config, const HostMemory& host, const std::string& function,
                           const MemoryNeed& need);
// A peer, from the free memory it gossiped (Summary::memory_free_bytes of its host summary).
MemoryVerdict check_memory(const MemoryGuardConfig& config, uint64_t peer_free_bytes, const std::string& function,
                           const MemoryNeed& need);

// Folds the memory verdict into the CPU decision: a candidate that does not fit in
// memory is rejected with the memory sentence first; otherwise the sentence is added.
void merge_memory(Decision& decision, const MemoryVerdict& memory);
// "memory" or "cpu": what bound the decision. A rejection names what refused it (memory
// first when both did: running out of memory kills, running out of CPU slows); an
// acceptance names the resource with the smaller fraction left after admitting.
const char* binding_resource(const Decision& cpu, const MemoryVerdict& memory);

// Requests declare memory_bytes per instance; more than this is not a sandbox size.
inline constexpr uint64_t kMaxDeclaredMemoryBytes = uint64_t{1} << 50;  // 1 PiB
// "512.0 MiB", "1.50 GiB": for sentences.
std::string format_bytes(uint64_t bytes);

}  // namespace antiphase::admission

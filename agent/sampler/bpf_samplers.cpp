#include "agent/sampler/bpf_samplers.h"

#include <time.h>

#include <algorithm>

#include <spdlog/spdlog.h>

namespace antiphase::agent {
namespace {

// Same clock as bpf_ktime_get_ns().
uint64_t monotonic_now_ns() {
  timespec ts{};
  ::clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1000000000ULL + static_cast<uint64_t>(ts.tv_nsec);
}

// If a CPU switched tasks while we were reading the counters, the counters may miss up
// to this much of its previous interval; below it we accept the (transient) error.
constexpr uint64_t kTornReadToleranceNs = 1000000;  // 1 ms
constexpr int kMaxReadAttempts = 4;

}  // namespace

BpfCpuSampler::BpfCpuSampler(const CpuAccountOptions& options)
    : program_(std::make_unique<CpuAccountProgram>(options)),
      add_in_flight_(options.attach != CpuAccountAttach::PerfEvent),
      slots_(options.max_cgroups) {}

void BpfCpuSampler::set_watched(const std::vector<WatchedCgroup>& cgroups) {
  std::vector<uint64_t> ids;
  ids.reserve(cgroups.size());
  for (const auto& c : cgroups) ids.push_back(c.id);

  std::lock_guard lock(mutex_);
  const auto change = slots_.sync(ids);
  for (uint64_t id : change.removed) {
    program_->unwatch(id);
    reported_ns_.erase(id);
  }
  for (const auto& [id, slot] : change.added) {
    // A reused slot keeps counting from where its previous owner stopped.
    baseline_ns_[slot] = program_->read_slot(slot).ns;
    program_->watch(id, slot);
  }
  if (!change.rejected.empty()) {
    rejected_ += change.rejected.size();
    spdlog::warn("BPF sampler: {} cgroups not measured, table full ({} slots); raise sampler.max_cgroups",
                 change.rejected.size(), slots_.capacity());
  }
}

void BpfCpuSampler::add_in_flight(const std::vector<cpu_state>& states, SlotTotals& totals) const {
  for (const auto& st : states) {
    if (st.last_ts == 0 || st.idle || st.last_ts > totals.monotonic_ns) continue;
    auto it = totals.by_slot.find(st.slot);
    if (it != totals.by_slot.end()) it->second.ns += totals.monotonic_ns - st.last_ts;
  }
}

// Reads every slot in use plus "other". Caller holds mutex_.
BpfCpuSampler::SlotTotals BpfCpuSampler::read_totals() const {
  SlotTotals totals;
  for (int attempt = 0; attempt < kMaxReadAttempts; ++attempt) {
    totals.by_slot.clear();
    const auto before = add_in_flight_ ? program_->read_cpu_states() : std::vector<cpu_state>{};
    totals.by_slot[CPU_ACCOUNT_OTHER_SLOT] = program_->read_slot(CPU_ACCOUNT_OTHER_SLOT);
    for (const auto& [id, slot] : slots_.assigned()) totals.by_slot[slot] = program_->read_slot(slot);
    totals.monotonic_ns = monotonic_now_ns();
    if (!add_in_flight_) return totals;

    const auto after = program_->read_cpu_states();
    totals.monotonic_ns = monotonic_now_ns();
    // A CPU that switched during the read may have had its closing interval charged
    // before or after we read its slot; retry when that interval could matter.
    uint64_t worst_gap = 0;
    for (size_t cpu = 0; cpu < after.size() && cpu < before.size(); ++cpu) {
      if (before[cpu].last_ts != after[cpu].last_ts && !before[cpu].idle) {
        worst_gap = std::max(worst_gap, after[cpu].last_ts - before[cpu].last_ts);
      }
    }
    if (worst_gap <= kTornReadToleranceNs || attempt + 1 == kMaxReadAttempts) {
      add_in_flight(after, totals);
      return totals;
    }
    ++totals.retries;
  }
  return totals;
}

UsageSnapshot BpfCpuSampler::read() {
  std::lock_guard lock(mutex_);
  const SlotTotals totals = read_totals();
  read_retries_ += totals.retries;

  UsageSnapshot snap;
  snap.monotonic_ns = totals.monotonic_ns;
  uint64_t events = 0;
  for (const auto& [slot, usage] : totals.by_slot) events += usage.events;
  events_ = events;
  other_ns_ = totals.by_slot.at(CPU_ACCOUNT_OTHER_SLOT).ns;

  for (const auto& [id, slot] : slots_.assigned()) {
    const uint64_t raw = totals.by_slot.at(slot).ns;
    const uint64_t base = baseline_ns_[slot];
    const uint64_t value = raw > base ? raw - base : 0;
    // Torn reads can make a value dip for one tick; never hand out a smaller one.
    uint64_t& reported = reported_ns_[id];
    reported = std::max(reported, value);
    snap.cpu_ns[id] = reported;
  }
  return snap;
}

std::unordered_map<std::string, std::string> BpfCpuSampler::stats() const {
  std::lock_guard lock(mutex_);
  std::unordered_map<std::string, std::string> out{
      {"attach", std::string(to_string(program_->options().attach))},
      {"watched_cgroups", std::to_string(slots_.size())},
      {"max_cgroups", std::to_string(slots_.capacity())},
      {"rejected_cgroups", std::to_string(rejected_)},
      {"other_ns", std::to_string(other_ns_)},
      {"events", std::to_string(events_)},
      {"torn_read_retries", std::to_string(read_retries_)},
      {"attached_cpus", std::to_string(program_->attached_cpus())},
  };
  if (program_->options().attach == CpuAccountAttach::PerfEvent) {
    out["perf_hz"] = std::to_string(program_->options().perf_hz);
    out["sample_period_ns"] = std::to_string(program_->sample_period_ns());
  }
  if (auto run = program_->run_stats()) {
    out["bpf_run_cnt"] = std::to_string(run->run_cnt);
    out["bpf_run_time_ns"] = std::to_string(run->run_time_ns);
    out["bpf_avg_ns_per_run"] = std::to_string(run->run_time_ns / run->run_cnt);
  }
  return out;
}

BpfSchedSwitchSampler::BpfSchedSwitchSampler(Attach attach, uint32_t max_cgroups)
    : BpfCpuSampler(CpuAccountOptions{
          attach == Attach::TpBtf ? CpuAccountAttach::TpBtf : CpuAccountAttach::RawTp, max_cgroups, 0}) {}

BpfPerfSampler::BpfPerfSampler(uint32_t frequency_hz, uint32_t max_cgroups)
    : BpfCpuSampler(CpuAccountOptions{CpuAccountAttach::PerfEvent, max_cgroups, frequency_hz}) {}

}  // namespace antiphase::agent

#include "agent/sampler/bpf_samplers.h"

#include <spdlog/spdlog.h>
#include <time.h>

#include <algorithm>


namespace antiphase::agent {
namespace {

// UsageSnapshot::monotonic_ns is CLOCK_MONOTONIC.
uint64_t monotonic_now_ns() {
  timespec ts{};
  ::clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1000000000ULL + static_cast<uint64_t>(ts.tv_nsec);
}

// If a CPU switched tasks while we were reading the counters, its closing slice may be
// missing from them; below this length we accept the (transient, self-correcting) error.
constexpr uint64_t kTornReadToleranceNs = 1000000;  // 1 ms
constexpr int kMaxReadAttempts = 4;

}  // namespace

BpfCpuSampler::BpfCpuSampler(const CpuAccountOptions& options)
    : program_(std::make_unique<CpuAccountProgram>(options)), slots_(options.max_cgroups) {
  add_in_flight_ = program_->read_running().has_value();
  if (options.attach != CpuAccountAttach::PerfEvent && !add_in_flight_) {
    spdlog::warn("BPF sampler: this kernel cannot run a BPF program on a chosen CPU (Linux < 5.10), so the "
                 "still-running slice of a long-running task is counted only when it is switched out");
  }
}

void BpfCpuSampler::set_watched(const std::vector<WatchedCgroup>& cgroups) {
  std::vector<uint64_t> ids;
  ids.reserve(cgroups.size());
  for (const auto& c : cgroups) ids.push_back(c.id);

  std::lock_guard lock(mutex_);
  const auto change = slots_.sync(ids);
  // Vanished cgroups never come back (ids are not reused), so this only grows with
  // cgroups the registry stops and restarts watching; forget them past a bound.
  if (retired_ns_.size() > 4 * static_cast<size_t>(slots_.capacity())) retired_ns_.clear();
  for (uint64_t id : change.removed) {
    program_->unwatch(id);
    retired_ns_[id] = reported_ns_[id];
    reported_ns_.erase(id);
    offset_ns_.erase(id);
  }
  for (const auto& [id, slot] : change.added) {
    // A reused slot keeps counting from where its previous owner stopped.
    baseline_ns_[slot] = program_->read_slot(slot).ns;
    program_->watch(id, slot);
    if (auto it = retired_ns_.find(id); it != retired_ns_.end()) {
      offset_ns_[id] = it->second;
      reported_ns_[id] = it->second;
      retired_ns_.erase(it);
    }
  }
  if (!change.removed.empty() || !change.added.empty()) program_->publish_watched_changes();
  if (!change.rejected.empty()) {
    rejected_ += change.rejected.size();
    spdlog::warn("BPF sampler: {} cgroups not measured, table full ({} slots); raise sampler.max_cgroups",
                 change.rejected.size(), slots_.capacity());
  }
}

bool BpfCpuSampler::add_in_flight(const std::vector<running_task>& before, const std::vector<running_task>& after,
                                  bool may_retry, SlotTotals& totals) const {
  std::unordered_map<uint32_t, uint64_t> in_flight;
  for (size_t cpu = 0; cpu < before.size() && cpu < after.size(); ++cpu) {
    const running_task& now = after[cpu];
    if (now.switches != before[cpu].switches) {
      // The CPU switched while we read the counters: its closing slice may or may not be
      // in them. Short ones are dropped (the counters catch up next read); long ones retry.
      const uint64_t slice = std::max(before[cpu].in_flight_ns, now.in_flight_ns);
      if (slice > kTornReadToleranceNs && may_retry) return false;
      continue;
    }
    if (now.pid == 0 || now.in_flight_ns == 0) continue;
    // No switch since `before`, so the running slice is not in the counters yet; it will be
    // charged to the task's cgroup at switch-out, so it belongs there now as well.
    in_flight[slots_.slot_of(now.cgroup_id).value_or(CPU_ACCOUNT_OTHER_SLOT)] += now.in_flight_ns;
  }
  for (const auto& [slot, ns] : in_flight) {
    auto it = totals.by_slot.find(slot);
    if (it != totals.by_slot.end()) it->second.ns += ns;
  }
  return true;
}

// Reads every slot in use plus "other". Caller holds mutex_.
BpfCpuSampler::SlotTotals BpfCpuSampler::read_totals() const {
  SlotTotals totals;
  for (int attempt = 0; attempt < kMaxReadAttempts; ++attempt) {
    totals.by_slot.clear();
    const auto before = add_in_flight_ ? program_->read_running() : std::nullopt;
    const auto all = program_->read_slots(slots_.high_water());
    totals.by_slot[CPU_ACCOUNT_OTHER_SLOT] = all[CPU_ACCOUNT_OTHER_SLOT];
    for (const auto& [id, slot] : slots_.assigned()) totals.by_slot[slot] = all.at(slot);
    totals.monotonic_ns = monotonic_now_ns();
    if (!before) return totals;
    // Order matters: running slices, counters, running slices again; an unchanged switch
    // count proves that a CPU's slice and the counters agree.
    const auto after = program_->read_running();
    if (!after) return totals;
    const bool may_retry = attempt + 1 < kMaxReadAttempts;
    if (add_in_flight(*before, *after, may_retry, totals)) return totals;
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
    auto offset = offset_ns_.find(id);
    const uint64_t value = (raw > base ? raw - base : 0) + (offset == offset_ns_.end() ? 0 : offset->second);
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
  if (program_->options().attach != CpuAccountAttach::PerfEvent) {
    out["running_slice"] = add_in_flight_ ? "added at read time" : "off (kernel < 5.10)";
    uint64_t unseen = 0;
    for (const auto& st : program_->read_cpu_states()) unseen += st.unseen_switch_ins;
    out["unseen_switch_ins"] = std::to_string(unseen);
  }
  if (program_->options().attach == CpuAccountAttach::PerfEvent) {
    out["perf_hz"] = std::to_string(program_->options().perf_hz);
    out["sample_period_ns"] = std::to_string(program_->sample_period_ns());
    out["perf_estimator"] = std::string(to_string(program_->options().perf_estimator));
  }
  if (auto run = program_->run_stats()) {
    out["bpf_run_cnt"] = std::to_string(run->run_cnt);
    out["bpf_run_time_ns"] = std::to_string(run->run_time_ns);
    out["bpf_avg_ns_per_run"] = std::to_string(run->run_time_ns / run->run_cnt);
  }
  if (auto run = program_->free_run_stats()) {
    out["bpf_free_run_cnt"] = std::to_string(run->run_cnt);
    out["bpf_free_avg_ns_per_run"] = std::to_string(run->run_time_ns / run->run_cnt);
  }
  return out;
}

BpfSchedSwitchSampler::BpfSchedSwitchSampler(Attach attach, uint32_t max_cgroups)
    : BpfCpuSampler(CpuAccountOptions{
          attach == Attach::TpBtf ? CpuAccountAttach::TpBtf : CpuAccountAttach::RawTp, max_cgroups, 0}) {}

BpfPerfSampler::BpfPerfSampler(uint32_t frequency_hz, uint32_t max_cgroups, PerfEstimator estimator)
    : BpfCpuSampler(CpuAccountOptions{CpuAccountAttach::PerfEvent, max_cgroups, frequency_hz, estimator}) {}

}  // namespace antiphase::agent

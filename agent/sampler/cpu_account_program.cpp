#include "agent/sampler/cpu_account_program.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/perf_event.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <algorithm>
#include <cstring>
#include <fstream>
#include <stdexcept>

#include "agent/features/handles.h"
#include "agent/sampler/libbpf_log.h"
#include "bpf/cpu_account.skel.h"
#include "bpf/cpu_sample.skel.h"

namespace antiphase::agent {
namespace {

// Every failure here is reported the same way: what we tried, the OS error, and what
// libbpf printed meanwhile (the verifier's complaint, a missing BTF type) when it did.
std::runtime_error bpf_error(const std::string& what, int err, const LibbpfMessageCapture* log = nullptr) {
  std::string msg = what + ": " + os_error_text(err);
  const std::string detail = log ? log->summary() : "";
  if (!detail.empty()) msg += " (libbpf: " + detail + ")";
  return std::runtime_error(msg);
}

// Locked memory is only charged to RLIMIT_MEMLOCK on kernels before 5.11; raising it is
// harmless elsewhere.
bool raise_memlock_limit() {
  rlimit unlimited{RLIM_INFINITY, RLIM_INFINITY};
  return ::setrlimit(RLIMIT_MEMLOCK, &unlimited) == 0;
}

std::vector<int> online_cpus() {
  std::ifstream in("/sys/devices/system/cpu/online");
  std::string text;
  std::getline(in, text);
  return parse_cpu_list(text);
}

uint64_t monotonic_ns() {
  timespec ts{};
  ::clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1000000000ULL + static_cast<uint64_t>(ts.tv_nsec);
}

// A task younger than this that is missing from the harvest map was never in it: the map
// gains at most hz x CPUs entries a second, so evicting an entry takes longer (half the
// fill time, for margin; capped at a minute).
uint64_t fresh_task_ns(uint32_t map_entries, uint32_t hz, size_t cpus) {
  const double fill_s = double(map_entries) / (double(hz) * double(std::max<size_t>(cpus, 1)));
  return static_cast<uint64_t>(std::min(fill_s / 2, 60.0) * 1e9);
}

UniqueFd open_cpu_clock_event(int cpu, uint64_t period_ns) {
  perf_event_attr attr{};
  attr.size = sizeof(attr);
  attr.type = PERF_TYPE_SOFTWARE;
  attr.config = PERF_COUNT_SW_CPU_CLOCK;
  // A fixed period (not freq mode): counting charges exactly period_ns per sample, and
  // harvesting's "young task" bound (fresh_task_ns) relies on at most hz samples a second.
  attr.sample_period = period_ns;
  attr.freq = 0;
  return UniqueFd(static_cast<int>(::syscall(SYS_perf_event_open, &attr, -1, cpu, -1, PERF_FLAG_FD_CLOEXEC)));
}

}  // namespace

std::string_view to_string(CpuAccountAttach a) {
  switch (a) {
    case CpuAccountAttach::TpBtf: return "tp_btf";
    case CpuAccountAttach::RawTp: return "raw_tp";
    case CpuAccountAttach::PerfEvent: return "perf_event";
  }
  return "unknown";
}

std::string_view to_string(PerfEstimator e) {
  switch (e) {
    case PerfEstimator::Harvest: return "harvest";
    case PerfEstimator::Count: return "count";
  }
  return "unknown";
}

std::vector<int> parse_cpu_list(std::string_view text) {
  std::vector<int> cpus;
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.remove_suffix(1);
  if (text.empty()) return {};
  size_t pos = 0;
  while (pos <= text.size()) {
    const size_t comma = std::min(text.find(',', pos), text.size());
    const std::string_view part = text.substr(pos, comma - pos);
    const size_t dash = part.find('-');
    int lo = 0, hi = 0;
    const auto lo_part = part.substr(0, dash);
    if (std::from_chars(lo_part.data(), lo_part.data() + lo_part.size(), lo).ec != std::errc{} || lo < 0) return {};
    hi = lo;
    if (dash != std::string_view::npos) {
      const auto hi_part = part.substr(dash + 1);
      if (std::from_chars(hi_part.data(), hi_part.data() + hi_part.size(), hi).ec != std::errc{} || hi < lo) return {};
    }
    if (hi - lo > 65536) return {};
    for (int c = lo; c <= hi; ++c) cpus.push_back(c);
    pos = comma + 1;
  }
  return cpus;
}

CpuAccountProgram::CpuAccountProgram(const CpuAccountOptions& options) : options_(options) {
  if (options_.max_cgroups == 0 || options_.max_cgroups > (1u << 20)) {
    throw std::invalid_argument("max_cgroups must be between 1 and 1048576, got " +
                                std::to_string(options_.max_cgroups));
  }
  if (options_.attach == CpuAccountAttach::PerfEvent &&
      (options_.perf_hz == 0 || options_.perf_hz > 100000)) {
    throw std::invalid_argument("perf sampling frequency must be 1..100000 Hz, got " +
                                std::to_string(options_.perf_hz));
  }
  sample_period_ns_ = options_.attach == CpuAccountAttach::PerfEvent ? 1000000000ULL / options_.perf_hz : 0;
  possible_cpus_ = libbpf_num_possible_cpus();
  online_cpus_ = online_cpus();
  if (possible_cpus_ <= 0) throw bpf_error("cannot count possible CPUs", possible_cpus_);
  // On a throw below, the members release what was loaded and attached.
  open_and_load();
  attach();
}

CpuAccountProgram::~CpuAccountProgram() = default;

void CpuAccountProgram::DestroySchedSkeleton::operator()(cpu_account* skel) const { cpu_account__destroy(skel); }
void CpuAccountProgram::DestroySampleSkeleton::operator()(cpu_sample* skel) const { cpu_sample__destroy(skel); }
void CpuAccountProgram::DestroyLink::operator()(bpf_link* link) const { bpf_link__destroy(link); }

void CpuAccountProgram::close_skeleton() {
  watched_map_ = usage_map_ = cpu_state_map_ = running_map_ = nullptr;
  program_ = running_program_ = free_program_ = nullptr;
  sched_skel_.reset();
  sample_skel_.reset();
}

void CpuAccountProgram::open_skeleton() {
  const bool count = options_.attach == CpuAccountAttach::PerfEvent && options_.perf_estimator == PerfEstimator::Count;
  if (count) {
    open_count_skeleton();
  } else {
    open_sched_skeleton();
  }
}

void CpuAccountProgram::open_count_skeleton() {
  sample_skel_.reset(cpu_sample__open());
  if (!sample_skel_) return;
  sample_skel_->rodata->sample_period_ns = sample_period_ns_;
  watched_map_ = sample_skel_->maps.watched;
  usage_map_ = sample_skel_->maps.usage;
  program_ = sample_skel_->progs.cpu_clock_sample;
}

// One CO-RE object serves tp_btf, raw_tp and perf harvesting: only the programs of the
// chosen mode are loaded (a kernel without tp_btf never sees, and never rejects, that
// program), and only their maps are created.
void CpuAccountProgram::open_sched_skeleton() {
  sched_skel_.reset(cpu_account__open());
  if (!sched_skel_) return;
  auto& progs = sched_skel_->progs;
  auto& maps = sched_skel_->maps;
  const bool harvest = options_.attach == CpuAccountAttach::PerfEvent;
  const bool btf = options_.attach == CpuAccountAttach::TpBtf;
  bpf_program__set_autoload(progs.sched_switch_btf, btf);
  bpf_program__set_autoload(progs.sched_switch_raw, !harvest && !btf);
  bpf_program__set_autoload(progs.running_task, !harvest);
  bpf_program__set_autoload(progs.cpu_clock_harvest, harvest);
  bpf_program__set_autoload(progs.task_free, harvest);
  bpf_map__set_autocreate(maps.cpu_state, !harvest);
  bpf_map__set_autocreate(maps.running, !harvest);
  bpf_map__set_autocreate(maps.harvested, harvest);
  watched_map_ = maps.watched;
  usage_map_ = maps.usage;
  if (harvest) {
    sched_skel_->rodata->harvest_since_ns = monotonic_ns();
    sched_skel_->rodata->fresh_task_ns =
        fresh_task_ns(bpf_map__max_entries(maps.harvested), options_.perf_hz, online_cpus_.size());
    program_ = progs.cpu_clock_harvest;
    free_program_ = progs.task_free;
    return;
  }
  cpu_state_map_ = maps.cpu_state;
  running_map_ = maps.running;
  program_ = btf ? progs.sched_switch_btf : progs.sched_switch_raw;
  running_program_ = progs.running_task;
}

int CpuAccountProgram::load_skeleton() {
  return sched_skel_ ? cpu_account__load(sched_skel_.get()) : cpu_sample__load(sample_skel_.get());
}

void CpuAccountProgram::open_and_load() {
  LibbpfMessageCapture log;
  for (int attempt = 0; attempt < 2; ++attempt) {
    open_skeleton();
    if (!program_) throw bpf_error("opening the BPF object failed", errno, &log);
    bpf_map__set_max_entries(watched_map_, options_.max_cgroups);
    bpf_map__set_max_entries(usage_map_, options_.max_cgroups + 1);

    const int err = load_skeleton();
    if (err == 0) return;
    close_skeleton();
    if (err == -EPERM && attempt == 0 && raise_memlock_limit()) continue;  // pre-5.11 memlock
    throw bpf_error("loading the " + describe() + " CPU accounting program failed", err, &log);
  }
}

void CpuAccountProgram::attach() {
  if (options_.attach == CpuAccountAttach::PerfEvent) {
    attach_perf_events();
    return;
  }
  LibbpfMessageCapture log;
  std::unique_ptr<bpf_link, DestroyLink> link(bpf_program__attach(program_));
  if (!link) throw bpf_error("attaching " + std::string(to_string(options_.attach)) + "/sched_switch failed", errno, &log);
  links_.push_back(std::move(link));
  attached_cpus_ = static_cast<size_t>(possible_cpus_);
}

void CpuAccountProgram::attach_perf_events() {
  LibbpfMessageCapture log;
  if (free_program_) {
    std::unique_ptr<bpf_link, DestroyLink> link(bpf_program__attach(free_program_));
    if (!link) throw bpf_error("attaching raw_tp/sched_process_free failed", errno, &log);
    links_.push_back(std::move(link));
  }
  const auto& cpus = online_cpus_;
  if (cpus.empty()) throw bpf_error("cannot read /sys/devices/system/cpu/online", EINVAL);
  for (int cpu : cpus) {
    UniqueFd event = open_cpu_clock_event(cpu, sample_period_ns_);
    if (!event) throw bpf_error("perf_event_open(cpu-clock) on CPU " + std::to_string(cpu) + " failed", errno);
    std::unique_ptr<bpf_link, DestroyLink> link(bpf_program__attach_perf_event(program_, event.get()));
    if (!link) throw bpf_error("attaching the sampling program to CPU " + std::to_string(cpu) + " failed", errno, &log);
    event.release();  // the link closes the perf event when it is destroyed
    links_.push_back(std::move(link));
  }
  attached_cpus_ = cpus.size();
}

void CpuAccountProgram::watch(uint64_t cgroup_id, uint32_t slot) {
  const int err = bpf_map_update_elem(bpf_map__fd(watched_map_), &cgroup_id, &slot, BPF_ANY);
  if (err) throw bpf_error("updating the watched-cgroup map failed", err);
}

void CpuAccountProgram::unwatch(uint64_t cgroup_id) {
  bpf_map_delete_elem(bpf_map__fd(watched_map_), &cgroup_id);
}

void CpuAccountProgram::publish_watched_changes() {
  // Only the sched_switch programs cache lookups.
  if (!sched_skel_ || options_.attach == CpuAccountAttach::PerfEvent) return;
  // Written through the map rather than only the mmap'ed .bss, so kernels without
  // mmap-able arrays (< 5.5, raw_tp fallback) see it too.
  __atomic_fetch_add(&sched_skel_->bss->watched_generation, 1, __ATOMIC_RELEASE);
  const uint32_t zero = 0;
  const int err = bpf_map__update_elem(sched_skel_->maps.bss, &zero, sizeof(zero), sched_skel_->bss,
                                       bpf_map__value_size(sched_skel_->maps.bss), BPF_ANY);
  if (err) throw bpf_error("publishing the watched-cgroup generation failed", err);
}

slot_usage CpuAccountProgram::read_slot(uint32_t slot) const {
  std::vector<slot_usage> per_cpu(static_cast<size_t>(possible_cpus_));
  slot_usage total{0, 0};
  if (bpf_map_lookup_elem(bpf_map__fd(usage_map_), &slot, per_cpu.data()) != 0) return total;
  for (const auto& u : per_cpu) {
    total.ns += u.ns;
    total.events += u.events;
  }
  return total;
}

std::vector<slot_usage> CpuAccountProgram::read_slots(uint32_t highest) const {
  const uint32_t count = std::min<uint32_t>(highest, options_.max_cgroups) + 1;
  std::vector<slot_usage> totals(count, slot_usage{0, 0});
  const size_t cpus = static_cast<size_t>(possible_cpus_);
  constexpr uint32_t kChunk = 256;  // bounds the buffer at 256 x CPUs x 16 bytes
  std::vector<uint32_t> keys(kChunk);
  std::vector<slot_usage> values(kChunk * cpus);
  const int fd = bpf_map__fd(usage_map_);
  // The batch cursor is the last key returned; the kernel resumes after it.
  uint32_t cursor = 0;
  bool first = true;
  while (batch_supported_) {
    uint32_t n = std::min(kChunk, count);
    uint32_t out_batch = 0;
    LIBBPF_OPTS(bpf_map_batch_opts, opts);
    const int err = bpf_map_lookup_batch(fd, first ? nullptr : &cursor, &out_batch, keys.data(), values.data(),
                                         &n, &opts);
    if (err && err != -ENOENT) {
      batch_supported_ = false;  // kernel < 5.6: fall back below
      break;
    }
    bool past_end = false;
    for (uint32_t i = 0; i < n; ++i) {
      if (keys[i] >= count) {
        past_end = true;
        continue;
      }
      for (size_t c = 0; c < cpus; ++c) {
        totals[keys[i]].ns += values[i * cpus + c].ns;
        totals[keys[i]].events += values[i * cpus + c].events;
      }
    }
    if (err == -ENOENT || n == 0 || past_end || out_batch + 1 >= count) return totals;
    cursor = out_batch;
    first = false;
  }
  if (batch_supported_) return totals;
  for (uint32_t slot = 0; slot < count; ++slot) totals[slot] = read_slot(slot);
  return totals;
}

std::vector<cpu_state> CpuAccountProgram::read_cpu_states() const {
  if (!cpu_state_map_) return {};
  std::vector<cpu_state> per_cpu(static_cast<size_t>(possible_cpus_));
  const uint32_t zero = 0;
  if (bpf_map_lookup_elem(bpf_map__fd(cpu_state_map_), &zero, per_cpu.data()) != 0) {
    return std::vector<cpu_state>(per_cpu.size(), cpu_state{});  // task 0: nothing seen
  }
  return per_cpu;
}

std::optional<std::vector<running_task>> CpuAccountProgram::read_running() const {
  if (!running_program_ || !run_on_cpu_supported_) return std::nullopt;
  const int fd = bpf_program__fd(running_program_);
  std::vector<bool> ran(static_cast<size_t>(possible_cpus_), false);
  for (int cpu : online_cpus_) {
    LIBBPF_OPTS(bpf_test_run_opts, opts, .flags = BPF_F_TEST_RUN_ON_CPU, .cpu = static_cast<uint32_t>(cpu));
    const int err = bpf_prog_test_run_opts(fd, &opts);
    if (err == -ENXIO) continue;  // went offline since start-up: reads as idle below
    if (err) {
      run_on_cpu_supported_ = false;  // kernel < 5.10 (EINVAL) or the like: stop trying
      return std::nullopt;
    }
    if (static_cast<size_t>(cpu) < ran.size()) ran[static_cast<size_t>(cpu)] = true;
  }
  std::vector<running_task> per_cpu(ran.size());
  const uint32_t zero = 0;
  if (bpf_map_lookup_elem(bpf_map__fd(running_map_), &zero, per_cpu.data()) != 0) return std::nullopt;
  // A CPU the program did not run on now holds a stale entry: report it idle.
  for (size_t cpu = 0; cpu < per_cpu.size(); ++cpu) {
    if (!ran[cpu]) per_cpu[cpu] = running_task{};
  }
  return per_cpu;
}

std::string CpuAccountProgram::describe() const {
  std::string text(to_string(options_.attach));
  if (options_.attach == CpuAccountAttach::PerfEvent) {
    text += ", ";
    text += to_string(options_.perf_estimator);
  }
  return text;
}

namespace {

std::optional<CpuAccountProgram::RunStats> run_stats_of(const bpf_program* program) {
  if (!program) return std::nullopt;
  bpf_prog_info info{};
  uint32_t len = sizeof(info);
  if (bpf_obj_get_info_by_fd(bpf_program__fd(program), &info, &len) != 0) return std::nullopt;
  if (info.run_cnt == 0) return std::nullopt;
  return CpuAccountProgram::RunStats{info.run_cnt, info.run_time_ns};
}

}  // namespace

std::optional<CpuAccountProgram::RunStats> CpuAccountProgram::run_stats() const { return run_stats_of(program_); }

std::optional<CpuAccountProgram::RunStats> CpuAccountProgram::free_run_stats() const {
  return run_stats_of(free_program_);
}

}  // namespace antiphase::agent

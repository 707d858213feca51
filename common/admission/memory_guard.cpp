#include "common/admission/memory_guard.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>

namespace antiphase::admission {

namespace {

constexpr double kGiB = 1024.0 * 1024 * 1024, kMiB = 1024.0 * 1024;

// peak × margin in bytes, saturating instead of overflowing.
uint64_t with_margin(uint64_t peak_bytes, double margin) {
  const double scaled = std::ceil(static_cast<double>(peak_bytes) * std::max(1.0, margin));
  return scaled >= 1.8e19 ? std::numeric_limits<uint64_t>::max() : static_cast<uint64_t>(scaled);
}

uint64_t saturating_add(uint64_t a, uint64_t b) {
  return a > std::numeric_limits<uint64_t>::max() - b ? std::numeric_limits<uint64_t>::max() : a + b;
}

uint64_t saturating_mul(uint64_t a, uint64_t b) {
  if (a != 0 && b > std::numeric_limits<uint64_t>::max() / a) return std::numeric_limits<uint64_t>::max();
  return a * b;
}

int64_t difference(uint64_t a, uint64_t b) {
  constexpr auto big = static_cast<uint64_t>(std::numeric_limits<int64_t>::max());
  return a >= b ? static_cast<int64_t>(std::min(a - b, big)) : -static_cast<int64_t>(std::min(b - a, big));
}

std::string margin_text(double margin) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.2f", margin);
  return buf;
}

std::string source_text(const MemoryNeed& need, double margin) {
  switch (need.source) {
    case MemorySource::Declared: return "declared in the request";
    case MemorySource::LearnedHere: return "its peak here × " + margin_text(margin);
    case MemorySource::Gossiped: return "its peak gossiped by a peer × " + margin_text(margin);
    case MemorySource::Unknown: break;
  }
  return "unknown";
}

// "(15.50 GiB committed: the limits of 12 tenants, the peaks × 1.25 of 3)"
std::string committed_text(const CommittedMemory& c, double margin) {
  std::string parts;
  auto add = [&](uint32_t n, const std::string& before, const std::string& after) {
    if (n == 0) return;
    parts += (parts.empty() ? "" : ", ") + before + std::to_string(n) + (n == 1 ? " tenant" : " tenants") + after;
  };
  add(c.by_limit, "the limits of ", "");
  add(c.by_peak, "the peaks × " + margin_text(margin) + " of ", "");
  add(c.unmeasured, "", " without memory figures counted as 0");
  return format_bytes(c.bytes) + " committed" + (parts.empty() ? "" : ": " + parts);
}

std::string need_text(const std::string& function, const MemoryVerdict& v) {
  return std::to_string(v.need.instances) + " instance(s) of '" + function + "' need " + format_bytes(v.need_bytes) +
         " (" + format_bytes(*v.need.per_instance_bytes) + " each, " + source_text(v.need, v.peak_margin) + ")";
}

std::string room_text(const MemoryVerdict& v) {
  if (!v.usable_bytes) return format_bytes(v.free_bytes) + " is free on that host (as it gossiped)";
  std::string text = format_bytes(v.free_bytes) + " of " + format_bytes(*v.usable_bytes) + " usable is free (" +
                     format_bytes(*v.capacity_bytes) + " less a " + format_bytes(*v.reserve_bytes) + " reserve; " +
                     committed_text(*v.committed, v.peak_margin) + ")";
  if (v.available_binds) text += "; the kernel's MemAvailable less the reserve is what limits it";
  return text;
}

MemoryVerdict start_verdict(const MemoryGuardConfig& config, const std::string& function, const MemoryNeed& need) {
  MemoryVerdict v;
  v.function = function;
  v.need = need;
  v.mode = config.mode;
  v.peak_margin = config.peak_margin;
  v.checked = config.mode != CommittedMemoryMode::Off;
  if (!v.checked) {
    v.fits = true;
    v.reason = "The memory guard is off (admission.committed_memory = \"off\"): memory was not checked.";
  }
  return v;
}

// Needs `v.free_bytes` (and the host side, if any) filled in.
void judge(MemoryVerdict& v) {
  if (!v.need.per_instance_bytes) {
    v.fits = false;
    v.reason = "Rejected on memory: how much memory '" + v.function +
               "' needs is unknown: the request gives no memory_bytes, and no peak was learned here or gossiped "
               "by a peer.";
    return;
  }
  v.need_bytes = saturating_mul(*v.need.per_instance_bytes, v.need.instances);
  v.headroom_bytes = difference(v.free_bytes, v.need_bytes);
  v.fits = v.need.instances > 0 && v.need_bytes <= v.free_bytes;
  if (v.fits)
    v.reason = "Memory fits: " + need_text(v.function, v) + "; " + room_text(v) + ", leaving " +
               format_bytes(v.free_bytes - v.need_bytes) + ".";
  else
    v.reason = "Rejected on memory: " + need_text(v.function, v) + ", but only " + room_text(v) + ".";
}

}  // namespace

const char* to_string(CommittedMemoryMode mode) {
  switch (mode) {
    case CommittedMemoryMode::Limits: return "limits";
    case CommittedMemoryMode::Peaks: return "peaks";
    case CommittedMemoryMode::Off: return "off";
  }
  return "?";
}

std::optional<CommittedMemoryMode> parse_committed_memory_mode(std::string_view text) {
  for (auto mode : {CommittedMemoryMode::Limits, CommittedMemoryMode::Peaks, CommittedMemoryMode::Off})
    if (text == to_string(mode)) return mode;
  return std::nullopt;
}

const char* to_string(MemorySource source) {
  switch (source) {
    case MemorySource::Declared: return "declared";
    case MemorySource::LearnedHere: return "learned_here";
    case MemorySource::Gossiped: return "gossiped";
    case MemorySource::Unknown: break;
  }
  return "unknown";
}

std::string format_bytes(uint64_t bytes) {
  char buf[48];
  const double b = static_cast<double>(bytes);
  if (b >= kGiB) std::snprintf(buf, sizeof buf, "%.2f GiB", b / kGiB);
  else if (b >= kMiB) std::snprintf(buf, sizeof buf, "%.1f MiB", b / kMiB);
  else std::snprintf(buf, sizeof buf, "%llu bytes", static_cast<unsigned long long>(bytes));
  return buf;
}

CommittedMemory committed_memory(const MemoryGuardConfig& config, const std::vector<TenantMemory>& tenants,
                                  uint64_t capacity_bytes) {
  CommittedMemory c;
  for (const auto& t : tenants) {
    const bool real_limit = t.limit_bytes && (capacity_bytes == 0 || *t.limit_bytes < capacity_bytes);
    if (config.mode == CommittedMemoryMode::Limits && real_limit) {
      c.bytes = saturating_add(c.bytes, *t.limit_bytes);
      ++c.by_limit;
    } else if (t.peak_bytes) {
      c.bytes = saturating_add(c.bytes, with_margin(*t.peak_bytes, config.peak_margin));
      ++c.by_peak;
    } else {
      ++c.unmeasured;
    }
  }
  return c;
}

MemoryRoom memory_room(const HostMemory& host) {
  MemoryRoom room;
  room.usable_bytes = host.capacity_bytes > host.reserve_bytes ? host.capacity_bytes - host.reserve_bytes : 0;
  room.free_bytes = room.usable_bytes > host.committed.bytes ? room.usable_bytes - host.committed.bytes : 0;
  if (host.available_bytes) {
    const uint64_t available = *host.available_bytes > host.reserve_bytes ? *host.available_bytes - host.reserve_bytes : 0;
    if (available < room.free_bytes) {
      room.free_bytes = available;
      room.available_binds = true;
    }
  }
  return room;
}

MemoryNeed memory_need(const MemoryGuardConfig& config, uint32_t instances, std::optional<uint64_t> declared_bytes,
                       std::optional<uint64_t> learned_here_peak_bytes, std::optional<uint64_t> gossiped_peak_bytes) {
  MemoryNeed need;
  need.instances = instances;
  if (declared_bytes) {
    need.per_instance_bytes = declared_bytes;
    need.source = MemorySource::Declared;
  } else if (learned_here_peak_bytes) {
    need.per_instance_bytes = with_margin(*learned_here_peak_bytes, config.peak_margin);
    need.source = MemorySource::LearnedHere;
  } else if (gossiped_peak_bytes) {
    need.per_instance_bytes = with_margin(*gossiped_peak_bytes, config.peak_margin);
    need.source = MemorySource::Gossiped;
  }
  return need;
}

MemoryVerdict check_memory(const MemoryGuardConfig& config, const HostMemory& host, const std::string& function,
                           const MemoryNeed& need) {
  MemoryVerdict v = start_verdict(config, function, need);
  if (!v.checked) return v;
  if (host.capacity_bytes == 0) {
    v.fits = false;
    v.reason = "Rejected on memory: this host's memory capacity is unknown, so no memory can be promised.";
    return v;
  }
  const MemoryRoom room = memory_room(host);
  v.capacity_bytes = host.capacity_bytes;
  v.reserve_bytes = host.reserve_bytes;
  v.usable_bytes = room.usable_bytes;
  v.committed = host.committed;
  v.free_bytes = room.free_bytes;
  v.available_binds = room.available_binds;
  judge(v);
  return v;
}

MemoryVerdict check_memory(const MemoryGuardConfig& config, uint64_t peer_free_bytes, const std::string& function,
                           const MemoryNeed& need) {
  MemoryVerdict v = start_verdict(config, function, need);
  if (!v.checked) return v;
  v.free_bytes = peer_free_bytes;
  judge(v);
  return v;
}

void merge_memory(Decision& decision, const MemoryVerdict& memory) {
  if (!memory.checked) return;
  if (memory.fits) {
    decision.reasons.insert(decision.reasons.begin() + (decision.reasons.empty() ? 0 : 1), memory.reason);
    return;
  }
  decision.accept = false;
  decision.reasons.insert(decision.reasons.begin(), memory.reason);
}

const char* binding_resource(const Decision& cpu, const MemoryVerdict& memory) {
  if (!memory.checked) return "cpu";
  if (!memory.fits) return "memory";
  if (!cpu.accept) return "cpu";
  // Fractions left after admitting; a peer known only by its free memory is judged
  // against that (which makes memory look tighter, never looser).
  const double memory_base = static_cast<double>(memory.usable_bytes.value_or(memory.free_bytes));
  const double memory_left = memory_base > 0 ? static_cast<double>(memory.headroom_bytes) / memory_base : 0.0;
  const double cpu_left = cpu.limit_cores > 0 ? cpu.headroom_cores / cpu.limit_cores : 0.0;
  return memory_left < cpu_left ? "memory" : "cpu";
}

}  // namespace antiphase::admission

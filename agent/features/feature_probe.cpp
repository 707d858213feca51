#include "agent/features/feature_probe.h"

#include <cctype>
#include <cstdlib>
#include <stdexcept>

namespace antiphase::agent {
namespace {

// Accepts 0/1, true/false, yes/no, on/off; anything else is ignored (probe decides).
std::optional<bool> parse_env_bool(const char* value) {
  if (!value) return std::nullopt;
  std::string v(value);
  for (auto& c : v) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (v == "1" || v == "true" || v == "yes" || v == "on") return true;
  if (v == "0" || v == "false" || v == "no" || v == "off") return false;
  return std::nullopt;
}

}  // namespace

FeatureProbe::FeatureProbe() {
  const std::pair<const char*, ProbeFn> defaults[] = {
      {"btf", probes::btf},           {"cap_bpf", probes::cap_bpf},
      {"tp_btf", probes::tp_btf},     {"raw_tp", probes::raw_tp},
      {"perf_event", probes::perf_event}, {"bpf_stats", probes::bpf_stats},
      {"cgroup2", probes::cgroup2},
  };
  for (const auto& [name, fn] : defaults) {
    entries_[name] = Entry{fn, std::nullopt, std::nullopt};
    order_.emplace_back(name);
  }
}

std::string FeatureProbe::env_var_for(std::string_view name) {
  std::string var = "ANTIPHASE_FEATURE_";
  for (char c : name) var.push_back(static_cast<char>(std::toupper(static_cast<unsigned char>(c))));
  return var;
}

FeatureProbe::Entry& FeatureProbe::entry(std::string_view name) const {
  auto it = entries_.find(name);
  if (it == entries_.end()) throw std::invalid_argument("unknown kernel feature '" + std::string(name) + "'");
  return it->second;
}

// Caller holds mutex_.
FeatureStatus FeatureProbe::evaluate(const std::string& name, Entry& e) const {
  if (e.forced) return {name, *e.forced, "overridden in code"};
  const std::string var = env_var_for(name);
  if (auto env = parse_env_bool(std::getenv(var.c_str()))) {
    return {name, *env, "overridden by " + var + "=" + std::getenv(var.c_str())};
  }
  // Kernel-facing probes depend on each other: without privilege or BTF, say why
  // rather than reporting a raw EPERM.
  if (name == "tp_btf" || name == "raw_tp") {
    auto& cap = entry("cap_bpf");
    if (!evaluate("cap_bpf", cap).available) return {name, false, "needs CAP_BPF (or root)"};
  }
  if (name == "tp_btf" && !evaluate("btf", entry("btf")).available) {
    return {name, false, "needs kernel BTF (/sys/kernel/btf/vmlinux)"};
  }
  if (!e.cached) e.cached = e.probe();
  return {name, e.cached->available, e.cached->detail};
}

bool FeatureProbe::has(std::string_view name) const { return status(name).available; }

FeatureStatus FeatureProbe::status(std::string_view name) const {
  std::lock_guard lock(mutex_);
  return evaluate(std::string(name), entry(name));
}

std::vector<FeatureStatus> FeatureProbe::report() const {
  std::vector<FeatureStatus> out;
  for (const auto& name : order_) out.push_back(status(name));
  return out;
}

void FeatureProbe::override(std::string_view name, bool available) {
  std::lock_guard lock(mutex_);
  entry(name).forced = available;
}

void FeatureProbe::clear_override(std::string_view name) {
  std::lock_guard lock(mutex_);
  entry(name).forced.reset();
}

void FeatureProbe::set_probe(std::string_view name, ProbeFn probe) {
  std::lock_guard lock(mutex_);
  auto it = entries_.find(name);
  if (it == entries_.end()) {
    order_.emplace_back(name);
    it = entries_.emplace(std::string(name), Entry{}).first;
  }
  it->second.probe = std::move(probe);
  it->second.cached.reset();
}

}  // namespace antiphase::agent

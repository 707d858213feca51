#pragma once
// Which kernel capabilities this host offers, bpftrace style: every feature is a named,
// lazily evaluated and cached probe that can be overridden to test fallbacks.
//
//   FeatureProbe features;
//   features.override("tp_btf", false);     // or env ANTIPHASE_FEATURE_TP_BTF=0
//   if (features.has("raw_tp")) ...
//   for (const auto& f : features.report()) ...   // for --version and /v1/stats
//
// Names: btf, cap_bpf, tp_btf, raw_tp, perf_event, bpf_stats, cgroup2.
// Precedence: override() > environment > the real probe. Thread-safe.
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "agent/features/kernel_probes.h"

namespace antiphase::agent {

struct FeatureStatus {
  std::string name;
  bool available = false;
  std::string detail;
};

class FeatureProbe {
 public:
  using ProbeFn = std::function<probes::ProbeResult()>;

  // Registers the real kernel probes (nothing is evaluated yet).
  FeatureProbe();

  // True if the feature is available. Throws std::invalid_argument for an unknown name.
  bool has(std::string_view name) const;
  FeatureStatus status(std::string_view name) const;
  // Every feature, in registration order (evaluates the ones not probed yet).
  std::vector<FeatureStatus> report() const;
  const std::vector<std::string>& names() const { return order_; }

  // Forces a feature on or off (detail says it was overridden); beats the environment.
  void override(std::string_view name, bool available);
  void clear_override(std::string_view name);
  // Replaces a probe (tests; or a platform-specific check). Drops its cached result.
  void set_probe(std::string_view name, ProbeFn probe);

  // "tp_btf" -> "ANTIPHASE_FEATURE_TP_BTF".
  static std::string env_var_for(std::string_view name);

 private:
  struct Entry {
    ProbeFn probe;
    std::optional<probes::ProbeResult> cached;
    std::optional<bool> forced;
  };
  Entry& entry(std::string_view name) const;
  FeatureStatus evaluate(const std::string& name, Entry& e) const;

  mutable std::mutex mutex_;
  mutable std::map<std::string, Entry, std::less<>> entries_;
  std::vector<std::string> order_;
};

}  // namespace antiphase::agent

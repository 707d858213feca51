#include "agent/replay/packing_policy.h"

#include <algorithm>
#include <cmath>

#include "agent/replay/antiphase_packing.h"
#include "agent/replay/node_core_packing.h"
#include "agent/replay/train_quantile_packing.h"

namespace antiphase::replay {
namespace {

constexpr double kSlack = 1e-9;  // rounding must not decide a placement

}  // namespace

double quantile(std::vector<double> v, double q) {
  std::sort(v.begin(), v.end());
  return quantile_of_sorted(v, q);
}

double quantile_of_sorted(const std::vector<double>& v, double q) {
  if (v.empty()) return 0.0;
  const double pos = std::clamp(q, 0.0, 1.0) * static_cast<double>(v.size() - 1);
  const size_t lo = static_cast<size_t>(pos);
  const size_t hi = std::min(lo + 1, v.size() - 1);
  return v[lo] + (pos - static_cast<double>(lo)) * (v[hi] - v[lo]);
}

namespace {

// Sum of one scalar size per function against a limit (peak-, percentile-, mean-sum).
class ScalarSumPolicy : public PackingPolicy {
  class Host : public HostModel {
   public:
    explicit Host(const ScalarSumPolicy& p) : p_(p) {}
    std::optional<double> headroom_if_added(size_t fn) override {
      const double left = p_.limit_ - (total_ + p_.size_[fn]);
      return left >= -kSlack ? std::optional<double>(left) : std::nullopt;
    }
    void add(size_t fn) override { total_ += p_.size_[fn]; }

   private:
    const ScalarSumPolicy& p_;
    double total_ = 0.0;
  };

 public:
  ScalarSumPolicy(std::vector<double> size, double limit) : size_(std::move(size)), limit_(limit) {}
  std::unique_ptr<HostModel> new_host() const override { return std::make_unique<Host>(*this); }

 private:
  std::vector<double> size_;
  double limit_;
};

// Sum of a size vector per function; fits while every component stays under the
// limit (per-slot percentile-sum over day slots; the oracle over eval steps).
class VectorSumPolicy : public PackingPolicy {
  class Host : public HostModel {
   public:
    explicit Host(const VectorSumPolicy& p) : p_(p), total_(p.dims_, 0.0) {}
    std::optional<double> headroom_if_added(size_t fn) override {
      const std::vector<float>& s = p_.size_[fn];
      double worst = -INFINITY;
      for (size_t i = 0; i < total_.size(); ++i) worst = std::max(worst, total_[i] + s[i]);
      const double left = p_.limit_ - worst;
      return left >= -kSlack ? std::optional<double>(left) : std::nullopt;
    }
    void add(size_t fn) override {
      const std::vector<float>& s = p_.size_[fn];
      for (size_t i = 0; i < total_.size(); ++i) total_[i] += s[i];
    }

   private:
    const VectorSumPolicy& p_;
    std::vector<double> total_;
  };

 public:
  VectorSumPolicy(std::vector<std::vector<float>> size, double limit)
      : size_(std::move(size)), limit_(limit), dims_(size_.empty() ? 0 : size_[0].size()) {}
  std::unique_ptr<HostModel> new_host() const override { return std::make_unique<Host>(*this); }

 private:
  std::vector<std::vector<float>> size_;
  double limit_;
  size_t dims_;
};

std::vector<double> scalar_sizes(const Workload& w, PolicyKind kind, double knob) {
  std::vector<double> size(w.size());
  for (size_t f = 0; f < w.size(); ++f) {
    const std::vector<double> v(w.fit[f].begin(), w.fit[f].end());
    if (kind == PolicyKind::MeanSum) {
      double s = 0;
      for (double x : v) s += x;
      size[f] = v.empty() ? 0.0 : s / static_cast<double>(v.size());
    } else {
      size[f] = quantile(v, kind == PolicyKind::PeakSum ? 1.0 : knob / 100.0);
    }
  }
  return size;
}

std::vector<std::vector<float>> slot_percentiles(const Workload& w, double percentile) {
  const FoldGrid& g = w.fit_grid;
  std::vector<std::vector<float>> size(w.size(), std::vector<float>(g.slots, 0.0f));
  std::vector<std::vector<double>> by_slot(g.slots);
  for (size_t f = 0; f < w.size(); ++f) {
    for (auto& b : by_slot) b.clear();
    for (size_t i = 0; i < w.fit[f].size(); ++i) by_slot[g.slot_of_step(i)].push_back(w.fit[f][i]);
    for (uint32_t s = 0; s < g.slots; ++s) size[f][s] = static_cast<float>(quantile(by_slot[s], percentile / 100.0));
  }
  return size;
}

}  // namespace

std::string to_string(PolicyKind kind) {
  switch (kind) {
    case PolicyKind::Antiphase: return "antiphase";
    case PolicyKind::AntiphaseMeasuredRho: return "antiphase-measured-rho";
    case PolicyKind::PeakSum: return "peak-sum";
    case PolicyKind::PercentileSum: return "pXX-sum";
    case PolicyKind::SlotPercentileSum: return "slot-pXX-sum";
    case PolicyKind::MeanSum: return "mean-sum";
    case PolicyKind::Oracle: return "oracle";
    case PolicyKind::TrainQuantile: return "x-train-quantile";
  }
  return "unknown";
}

std::optional<PolicyKind> parse_policy(const std::string& name) {
  for (PolicyKind k : all_policies())
    if (to_string(k) == name) return k;
  for (PolicyKind k : {PolicyKind::TrainQuantile, PolicyKind::AntiphaseMeasuredRho})
    if (to_string(k) == name) return k;
  return std::nullopt;
}

std::vector<PolicyKind> all_policies() {
  return {PolicyKind::Antiphase, PolicyKind::PeakSum,  PolicyKind::PercentileSum,
          PolicyKind::SlotPercentileSum, PolicyKind::MeanSum, PolicyKind::Oracle};
}

std::vector<double> knob_grid(PolicyKind kind) {
  switch (kind) {
    // 0, the careful end: only what fits at peaks (AdmissionPolicy: no statistical
    // overcommit), so a protocol that finds no positive target safe falls back to
    // packing by peaks rather than to a margin wider than the peaks.
    case PolicyKind::Antiphase: return {0.05, 0.02, 0.01, 0.005, 0.002, 0.001, 0.0005, 0.0002, 0.0001, 0.00005, 0};
    case PolicyKind::AntiphaseMeasuredRho: return {0, 0.5, 1, 1.5, 2, 2.25, 2.5, 2.75, 3, 3.25, 3.5, 4, 4.5, 5, 6, 7, 8};
    case PolicyKind::TrainQuantile: return {0.02, 0.01, 0.005, 0.003, 0.002, 0.001, 0.0005, 0.0002, 0};
    case PolicyKind::PercentileSum:
    case PolicyKind::SlotPercentileSum: return {50, 60, 70, 75, 80, 85, 90, 92.5, 95, 97, 98, 99, 99.5, 99.9, 100};
    case PolicyKind::MeanSum:
      return {1.0, 0.9, 0.8, 0.7, 0.6, 0.5, 0.45, 0.4, 0.35, 0.3, 0.25, 0.2, 0.15, 0.125, 0.1, 0.075, 0.05};
    case PolicyKind::PeakSum:
    case PolicyKind::Oracle: return {0};
  }
  return {0};
}

std::string knob_name(PolicyKind kind) {
  switch (kind) {
    case PolicyKind::Antiphase: return "target_overload_rate";
    case PolicyKind::AntiphaseMeasuredRho: return "z";
    case PolicyKind::TrainQuantile: return "train-overload";
    case PolicyKind::PercentileSum:
    case PolicyKind::SlotPercentileSum: return "percentile";
    case PolicyKind::MeanSum: return "utilisation";
    default: return "none";
  }
}

std::unique_ptr<PackingPolicy> make_policy(const PolicyParams& params, const Workload& w) {
  switch (params.kind) {
    case PolicyKind::Antiphase:
      return make_node_core_packing(w, params.node ? *params.node : node::NodeConfig{}, params.capacity, params.knob);
    case PolicyKind::AntiphaseMeasuredRho:
      return make_antiphase_packing(w, params.knob, params.capacity, params.drift, params.spread_neighbours);
    case PolicyKind::PeakSum:
    case PolicyKind::PercentileSum: return std::make_unique<ScalarSumPolicy>(scalar_sizes(w, params.kind, params.knob), params.capacity);
    case PolicyKind::MeanSum:
      return std::make_unique<ScalarSumPolicy>(scalar_sizes(w, params.kind, params.knob), params.knob * params.capacity);
    case PolicyKind::SlotPercentileSum:
      return std::make_unique<VectorSumPolicy>(slot_percentiles(w, params.knob), params.capacity);
    case PolicyKind::Oracle: return std::make_unique<VectorSumPolicy>(w.eval, params.capacity);
    case PolicyKind::TrainQuantile: return make_train_quantile_packing(w, params.knob, params.capacity);
  }
  return nullptr;
}

std::string decision_path(PolicyKind kind) {
  switch (kind) {
    case PolicyKind::Antiphase: return "node-core (what antiphased runs)";
    case PolicyKind::AntiphaseMeasuredRho: return "replay-only what-if (full training series, fixed z)";
    case PolicyKind::Oracle: return "replay-only bound (sees the test window)";
    default: return "replay baseline (scheduler-side rule)";
  }
}

}  // namespace antiphase::replay

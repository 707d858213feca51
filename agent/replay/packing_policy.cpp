#include "agent/replay/packing_policy.h"

#include <algorithm>
#include <cmath>

#include "common/admission/policy.h"

namespace antiphase::replay {
namespace {

constexpr double kSlack = 1e-9;  // rounding must not decide a placement

double quantile(std::vector<double> v, double q) {
  if (v.empty()) return 0.0;
  std::sort(v.begin(), v.end());
  const double pos = std::clamp(q, 0.0, 1.0) * static_cast<double>(v.size() - 1);
  const size_t lo = static_cast<size_t>(pos);
  const size_t hi = std::min(lo + 1, v.size() - 1);
  return v[lo] + (pos - static_cast<double>(lo)) * (v[hi] - v[lo]);
}

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

// The antiphase rule: the host's aggregate is the *measured* sum of its tenants'
// series, so its per-slot mean/spread include every covariance among them; only the
// host↔candidate covariance enters through ρ, which the replay measures as the
// correlation of the two series after removing their per-slot means (the
// within-slot co-movement the formula's cross term is about).
class AntiphasePolicy : public PackingPolicy {
  class Host : public HostModel {
   public:
    explicit Host(const AntiphasePolicy& p)
        : p_(p), sum_(p.w_.fit_steps(), 0.0), residual_(p.w_.fit_steps(), 0.0),
          drift_variance_(p.w_.fit_grid.slots, 0.0) {
      view_.capacity_cores = p.capacity_;
    }
    std::optional<double> headroom_if_added(size_t fn) override {
      admission::Candidate c;
      c.function = p_.w_.names[fn];
      c.profile = p_.sizing_[fn];
      c.correlation = {within_slot_correlation(fn), 0.0};
      const admission::Decision d = p_.policy_.decide(view_, c, p_.z_);
      return d.accept ? std::optional<double>(d.headroom_cores) : std::nullopt;
    }
    void add(size_t fn) override {
      const std::vector<float>& s = p_.w_.fit[fn];
      for (size_t i = 0; i < sum_.size(); ++i) sum_[i] += s[i];
      view_.aggregate = fit_profile(sum_, p_.w_.fit_grid);
      const shape::SlotProfile& tenant = p_.profiles_[fn];
      for (size_t w = 0; w < drift_variance_.size(); ++w) drift_variance_[w] += tenant.mean[w] * tenant.mean[w];
      residual_energy_ = 0.0;
      for (size_t i = 0; i < sum_.size(); ++i) {
        residual_[i] = sum_[i] - view_.aggregate.mean[p_.slot_[i]];
        residual_energy_ += residual_[i] * residual_[i];
      }
      // Tenants drift independently from day to day: their drift variances add up.
      const double k2 = p_.drift_ * p_.drift_;
      for (size_t w = 0; w < drift_variance_.size(); ++w)
        view_.aggregate.spread[w] = std::sqrt(view_.aggregate.spread[w] * view_.aggregate.spread[w] + k2 * drift_variance_[w]);
    }

   private:
    double within_slot_correlation(size_t fn) const {
      const std::vector<float>& r = p_.residuals_[fn];
      const double denom = std::sqrt(residual_energy_ * p_.residual_energy_[fn]);
      if (!(denom > 0.0)) return 0.0;
      double dot = 0.0;
      for (size_t i = 0; i < r.size(); ++i) dot += residual_[i] * r[i];
      return std::clamp(dot / denom, -1.0, 1.0);
    }

    const AntiphasePolicy& p_;
    admission::HostView view_;
    std::vector<double> sum_;
    std::vector<double> residual_;
    double residual_energy_ = 0.0;
    std::vector<double> drift_variance_;  // Σ over tenants of μ_i[w]²
  };

 public:
  AntiphasePolicy(const Workload& w, double z, double capacity, double drift)
      : w_(w), z_(z), capacity_(capacity), drift_(drift), policy_(config()) {
    slot_.resize(w.fit_steps());
    for (size_t i = 0; i < slot_.size(); ++i) slot_[i] = w.fit_grid.slot_of_step(i);
    for (size_t f = 0; f < w.size(); ++f) {
      profiles_.push_back(fit_profile(w.fit[f].data(), w.fit[f].size(), w.fit_grid));
      std::vector<float> r(w.fit[f].size());
      double energy = 0.0;
      for (size_t i = 0; i < r.size(); ++i) {
        r[i] = static_cast<float>(w.fit[f][i] - profiles_.back().mean[slot_[i]]);
        energy += static_cast<double>(r[i]) * r[i];
      }
      residuals_.push_back(std::move(r));
      residual_energy_.push_back(energy);
      shape::SlotProfile sizing = profiles_.back();
      for (size_t s = 0; s < sizing.slots(); ++s)
        sizing.spread[s] = std::sqrt(sizing.spread[s] * sizing.spread[s] + drift * drift * sizing.mean[s] * sizing.mean[s]);
      sizing_.push_back(std::move(sizing));
    }
  }
  std::unique_ptr<HostModel> new_host() const override { return std::make_unique<Host>(*this); }

 private:
  static admission::PolicyConfig config() {
    admission::PolicyConfig c;
    c.conservative_correlation = true;  // bound is 0 here: ρ is measured, not estimated
    return c;
  }

  const Workload& w_;
  double z_;
  double capacity_;
  double drift_;
  admission::AdmissionPolicy policy_;
  std::vector<uint32_t> slot_;
  std::vector<shape::SlotProfile> profiles_;  // as learned
  std::vector<shape::SlotProfile> sizing_;    // spread widened by drift
  std::vector<std::vector<float>> residuals_;
  std::vector<double> residual_energy_;
};

// Experimental reference: the empirical quantile of the measured training sum
// S = host + candidate (what an oracle on the *training* window would do).
class MeasuredSumPolicy : public PackingPolicy {
  class Host : public HostModel {
   public:
    explicit Host(const MeasuredSumPolicy& p) : p_(p), sum_(p.w_.fit_steps(), 0.0) {}
    std::optional<double> headroom_if_added(size_t fn) override {
      const std::vector<float>& c = p_.w_.fit[fn];
      // Headroom at the (1 - knob) empirical quantile of the training sum.
      std::vector<double> s(sum_.size());
      for (size_t i = 0; i < sum_.size(); ++i) s[i] = sum_[i] + c[i];
      const size_t allowed = std::min(s.size() - 1, static_cast<size_t>(p_.knob_ * static_cast<double>(s.size())));
      std::nth_element(s.begin(), s.begin() + static_cast<long>(allowed), s.end(), std::greater<double>());
      const double left = p_.capacity_ - s[allowed];
      return left >= -kSlack ? std::optional<double>(left) : std::nullopt;
    }
    void add(size_t fn) override {
      for (size_t i = 0; i < sum_.size(); ++i) sum_[i] += p_.w_.fit[fn][i];
    }

   private:
    const MeasuredSumPolicy& p_;
    std::vector<double> sum_;
  };

 public:
  MeasuredSumPolicy(const Workload& w, double knob, double capacity) : w_(w), knob_(knob), capacity_(capacity) {}
  std::unique_ptr<HostModel> new_host() const override { return std::make_unique<Host>(*this); }

 private:
  const Workload& w_;
  double knob_, capacity_;
};

}  // namespace

std::string to_string(PolicyKind kind) {
  switch (kind) {
    case PolicyKind::Antiphase: return "antiphase";
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
  for (PolicyKind k : {PolicyKind::TrainQuantile})
    if (to_string(k) == name) return k;
  return std::nullopt;
}

std::vector<PolicyKind> all_policies() {
  return {PolicyKind::Antiphase, PolicyKind::PeakSum,  PolicyKind::PercentileSum,
          PolicyKind::SlotPercentileSum, PolicyKind::MeanSum, PolicyKind::Oracle};
}

std::vector<double> knob_grid(PolicyKind kind) {
  switch (kind) {
    case PolicyKind::Antiphase: return {0, 0.5, 1, 1.5, 2, 2.25, 2.5, 2.75, 3, 3.25, 3.5, 4, 4.5, 5, 6, 7, 8};
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
    case PolicyKind::Antiphase: return "z";
    case PolicyKind::TrainQuantile: return "train-overload";
    case PolicyKind::PercentileSum:
    case PolicyKind::SlotPercentileSum: return "percentile";
    case PolicyKind::MeanSum: return "utilisation";
    default: return "none";
  }
}

std::unique_ptr<PackingPolicy> make_policy(const PolicyParams& params, const Workload& w) {
  switch (params.kind) {
    case PolicyKind::Antiphase: return std::make_unique<AntiphasePolicy>(w, params.knob, params.capacity, params.drift);
    case PolicyKind::PeakSum:
    case PolicyKind::PercentileSum: return std::make_unique<ScalarSumPolicy>(scalar_sizes(w, params.kind, params.knob), params.capacity);
    case PolicyKind::MeanSum:
      return std::make_unique<ScalarSumPolicy>(scalar_sizes(w, params.kind, params.knob), params.knob * params.capacity);
    case PolicyKind::SlotPercentileSum:
      return std::make_unique<VectorSumPolicy>(slot_percentiles(w, params.knob), params.capacity);
    case PolicyKind::Oracle: return std::make_unique<VectorSumPolicy>(w.eval, params.capacity);
    case PolicyKind::TrainQuantile: return std::make_unique<MeasuredSumPolicy>(w, params.knob, params.capacity);
  }
  return nullptr;
}

}  // namespace antiphase::replay

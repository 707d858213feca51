#include "agent/replay/antiphase_packing.h"

#include <algorithm>
#include <cmath>

#include "common/admission/policy.h"

namespace antiphase::replay {
namespace {

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
      c.comovement = {within_slot_correlation(fn), "measured residual correlation (what-if)"};
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
  AntiphasePolicy(const Workload& w, double z, double capacity, double drift, std::optional<uint32_t> neighbours)
      : w_(w), z_(z), capacity_(capacity), drift_(drift), policy_(config(neighbours)) {
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
  // The daemon's defaults, so the replay judges the rule /v1/admit runs.
  static admission::PolicyConfig config(std::optional<uint32_t> neighbours) {
    admission::PolicyConfig c;
    if (neighbours) c.spread_neighbours = *neighbours;  // what-if override
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

}  // namespace

std::unique_ptr<PackingPolicy> make_antiphase_packing(const Workload& w, double z, double capacity, double drift,
                                                     std::optional<uint32_t> spread_neighbours) {
  return std::make_unique<AntiphasePolicy>(w, z, capacity, drift, spread_neighbours);
}

}  // namespace antiphase::replay

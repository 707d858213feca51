#include "agent/replay/train_quantile_packing.h"

#include <algorithm>
#include <functional>

namespace antiphase::replay {
namespace {

constexpr double kSlack = 1e-9;

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

std::unique_ptr<PackingPolicy> make_train_quantile_packing(const Workload& w, double allowed_fraction, double capacity) {
  return std::make_unique<MeasuredSumPolicy>(w, allowed_fraction, capacity);
}

}  // namespace antiphase::replay

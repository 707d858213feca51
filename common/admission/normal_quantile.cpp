#include "common/admission/normal_quantile.h"

#include <algorithm>
#include <cmath>

namespace antiphase::admission {
namespace {

// Acklam's rational approximation of the lower-tail quantile (|error| < 1.2e-9),
// good enough for a starting margin that is calibrated afterwards anyway.
double normal_lower_quantile(double p) {
  static const double a[] = {-3.969683028665376e+01, 2.209460984245205e+02, -2.759285104469687e+02,
                             1.383577518672690e+02,  -3.066479806614716e+01, 2.506628277459239e+00};
  static const double b[] = {-5.447609879822406e+01, 1.615858368580409e+02, -1.556989798598866e+02,
                             6.680131188771972e+01,  -1.328068155288572e+01};
  static const double c[] = {-7.784894002430293e-03, -3.223964580411365e-01, -2.400758277161838e+00,
                             -2.549732539343734e+00, 4.374664141464968e+00,  2.938163982698783e+00};
  static const double d[] = {7.784695709041462e-03, 3.224671290700398e-01, 2.445134137142996e+00,
                             3.754408661907416e+00};
  const double p_low = 0.02425;
  if (p < p_low) {
    const double q = std::sqrt(-2 * std::log(p));
    return (((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) /
           ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1);
  }
  if (p > 1 - p_low) return -normal_lower_quantile(1 - p);
  const double q = p - 0.5;
  const double r = q * q;
  return (((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5]) * q /
         (((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1);
}

}  // namespace

double normal_upper_quantile(double upper_tail) {
  const double p = std::clamp(upper_tail, 1e-12, 1 - 1e-12);
  return -normal_lower_quantile(p);
}

}  // namespace antiphase::admission

namespace antiphase::admission {
double normal_upper_tail(double x) { return 0.5 * std::erfc(x / std::sqrt(2.0)); }
}  // namespace antiphase::admission

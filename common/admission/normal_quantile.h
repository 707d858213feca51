#pragma once
// Inverse of the standard normal CDF. The margin calibrator starts from the Gaussian
// z for the configured overload rate before it has seen any residuals.

namespace antiphase::admission {

// z such that P(N(0,1) > z) = upper_tail; upper_tail is clipped to [1e-12, 1-1e-12].
double normal_upper_quantile(double upper_tail);
// P(X > x) for a standard normal X.
double normal_upper_tail(double x);

}  // namespace antiphase::admission
